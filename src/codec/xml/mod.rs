//! XML in the XStream layout (W-70..W-76): the writer and the tolerant reader (quick-xml).
//!
//! Element names go through XStream's name coder (W-74): `_` is written `__`, `$` is
//! written `_-`, and any character that cannot appear in an XML name is written `_.` and
//! four hex digits (one per UTF-16 unit). Metadata keys are decoded back the same way.
//!
//! ```
//! use tower_eureka::codec::xml::write_instance;
//! use tower_eureka::model::InstanceInfo;
//!
//! let inst = InstanceInfo::builder("orders").host_name("o1").metadata("my_key", "v").build();
//! let mut out = Vec::new();
//! write_instance(&inst, 0, &mut out);
//! let xml = String::from_utf8(out).unwrap();
//! assert!(xml.starts_with("<instance>\n  <instanceId>o1:orders:8080</instanceId>\n"));
//! assert!(xml.contains("\n    <my__key>v</my__key>\n"));
//! assert!(xml.ends_with("\n</instance>"));
//! ```

pub(crate) mod read;
mod wellformed;
pub(crate) mod write;

pub use self::write::write_instance;

/// Whether `c` may start an XML name (XML 1.0 fifth edition, without `:`).
fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// Whether `c` may appear after the first character of an XML name (without `:`).
fn is_name_char(c: char) -> bool {
    // The ASCII answer without the range table (every key of a usual register body).
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    }
    is_name_char_in_table(c)
}

/// [`is_name_char`] by the XML 1.0 ranges alone.
fn is_name_char_in_table(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// Whether a metadata key can travel as an XML element name with only the `__`/`_-`
/// escapes (W-43, W-74): non-empty, and made of XML name characters, `_` and `$`.
/// `.` and `-` are fine (`management.port`); spaces, `:` and `/` are not, nor is a
/// leading digit, `-` or `.`.
///
/// ```
/// use tower_eureka::codec::xml::is_encodable_key;
/// assert!(is_encodable_key("management.port"));
/// assert!(is_encodable_key("my_key$1"));
/// assert!(!is_encodable_key("has space"));
/// assert!(!is_encodable_key(""));
/// assert!(!is_encodable_key("1st"));
/// ```
pub fn is_encodable_key(key: &str) -> bool {
    let mut chars = key.chars();
    match chars.next() {
        None => false,
        Some(c) if c == '$' || is_name_start(c) => chars.all(|c| c == '$' || is_name_char(c)),
        Some(_) => false,
    }
}

/// Appends `name` encoded as an XStream element name (W-74). The empty name cannot be
/// encoded; callers skip it.
pub(crate) fn encode_name(name: &str, out: &mut Vec<u8>) {
    let bytes = name.as_bytes();
    let plain = bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
        && bytes.first().is_some_and(u8::is_ascii_alphabetic);
    if plain {
        out.extend_from_slice(bytes);
        return;
    }
    for (i, c) in name.chars().enumerate() {
        match c {
            '_' => out.extend_from_slice(b"__"),
            '$' => out.extend_from_slice(b"_-"),
            c if (i == 0 && is_name_start(c)) || (i > 0 && is_name_char(c)) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.extend_from_slice(b"_.");
                    for shift in [12u16, 8, 4, 0] {
                        let nibble = usize::from((*unit >> shift) & 0xf);
                        out.push(b"0123456789abcdef"[nibble]);
                    }
                }
            }
        }
    }
}

/// Decodes an XStream element name (W-74): `__` → `_`, `_-` → `$`, `_.XXXX` → the UTF-16
/// unit `XXXX`, except that a unit XML 1.0 cannot carry becomes U+FFFD (no reader hands
/// out a string the registry would refuse). Anything else is kept as it is.
pub(crate) fn decode_name(name: &str) -> String {
    if !name.contains('_') {
        return name.to_owned();
    }
    let mut units: Vec<u16> = Vec::with_capacity(name.len());
    let mut it = name.chars().peekable();
    let mut tmp = [0u16; 2];
    while let Some(c) = it.next() {
        if c == '_' {
            match it.peek() {
                Some('_') => {
                    it.next();
                    units.push(u16::from(b'_'));
                    continue;
                }
                Some('-') => {
                    it.next();
                    units.push(u16::from(b'$'));
                    continue;
                }
                Some('.') => {
                    let hex: String = it.clone().skip(1).take(4).collect();
                    if hex.len() == 4 && hex.chars().all(|h| h.is_ascii_hexdigit()) {
                        if let Ok(unit) = u16::from_str_radix(&hex, 16) {
                            let carriable =
                                !matches!(unit, 0..=0x8 | 0xB | 0xC | 0xE..=0x1F | 0xFFFE | 0xFFFF);
                            units.push(if carriable { unit } else { 0xFFFD });
                            for _ in 0..5 {
                                it.next();
                            }
                            continue;
                        }
                    }
                }
                _ => {}
            }
        }
        units.extend_from_slice(c.encode_utf16(&mut tmp));
    }
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w43_the_ascii_fast_path_agrees_with_the_name_table() {
        for b in 0u8..=127 {
            let c = char::from(b);
            assert_eq!(is_name_char(c), is_name_char_in_table(c), "{c:?}");
        }
    }

    fn enc(s: &str) -> String {
        let mut out = Vec::new();
        encode_name(s, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn w74_name_escapes_both_ways() {
        for (plain, wire) in [
            ("versions_delta", "versions__delta"),
            ("my_key", "my__key"),
            ("a$b", "a_-b"),
            ("management.port", "management.port"),
            ("has space", "has_.0020space"),
            ("1st", "_.0031st"),
            ("x:y", "x_.003ay"),
            ("emoji😀", "emoji😀"),
        ] {
            assert_eq!(enc(plain), wire, "encode {plain}");
            assert_eq!(decode_name(wire), plain, "decode {wire}");
        }
        // A lone underscore that is not an escape is kept.
        assert_eq!(decode_name("a_b"), "a_b");
        assert_eq!(decode_name("a_.zz"), "a_.zz");
        // A unit XML cannot carry is not handed out (issue 12).
        assert_eq!(decode_name("k_.0001_.fffe"), "k\u{FFFD}\u{FFFD}");
        assert_eq!(enc("k\u{1}"), "k_.0001");
    }

    #[test]
    fn w43_encodable_keys() {
        assert!(is_encodable_key("zone"));
        assert!(is_encodable_key("_x"));
        assert!(is_encodable_key("$x"));
        assert!(!is_encodable_key("a b"));
        assert!(!is_encodable_key("a/b"));
        assert!(!is_encodable_key("-x"));
    }
}
