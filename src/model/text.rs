//! What text the Eureka wire can carry.
//!
//! Every registry payload is served in XML as well as JSON, and XML 1.0 cannot carry some
//! characters at all, not even as a character reference: U+0000..U+0008, U+000B, U+000C,
//! U+000E..U+001F, U+FFFE and U+FFFF (unpaired surrogates cannot occur in a Rust string;
//! the readers refuse them). One record holding such a character would make the whole
//! `GET /eureka/apps` document unparsable for every XML client, so the registry refuses it
//! wherever a string enters: register bodies in either format, metadata updates,
//! replication items, and the client's own instance.
//!
//! ```
//! use tower_eureka::model::{is_xml_char, InstanceInfo};
//!
//! assert!(is_xml_char('\t') && is_xml_char('é') && is_xml_char('\u{10000}'));
//! assert!(!is_xml_char('\u{1}') && !is_xml_char('\u{FFFE}'));
//!
//! let bad = InstanceInfo::builder("orders").host_name("o1").metadata("zone", "a\u{1}").build();
//! let err = bad.check_text().unwrap_err();
//! assert_eq!(err.field(), "metadata value of \"zone\"");
//! assert_eq!(err.character(), '\u{1}');
//! assert_eq!(err.to_string(), "Invalid character U+0001 in metadata value of \"zone\": XML 1.0 cannot carry it");
//!
//! let good = InstanceInfo::builder("orders").host_name("o1").build();
//! assert!(good.check_text().is_ok());
//! ```

use super::{InstanceInfo, Metadata};
use std::borrow::Cow;
use std::fmt;

/// Whether XML 1.0 can carry `c` (production `Char`: `#x9 | #xA | #xD | [#x20-#xD7FF] |
/// [#xE000-#xFFFD] | [#x10000-#x10FFFF]`; Rust's `char` already excludes surrogates).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The first character of `s` that XML 1.0 cannot carry, if any.
///
/// One pass over the bytes: in valid UTF-8 the forbidden characters are exactly the C0
/// bytes other than tab, line feed and carriage return, and the sequences `EF BF BE` and
/// `EF BF BF` (U+FFFE, U+FFFF).
///
/// ```
/// use tower_eureka::model::find_non_xml_char;
/// assert_eq!(find_non_xml_char("plain\ttext\r\n"), None);
/// assert_eq!(find_non_xml_char("a\u{0}b"), Some('\u{0}'));
/// assert_eq!(find_non_xml_char("x\u{FFFF}"), Some('\u{FFFF}'));
/// ```
pub fn find_non_xml_char(s: &str) -> Option<char> {
    // On every string of every register and on every XML document read: 64-byte chunks
    // folded without an early exit (so the compiler vectorizes it) for "a C0 byte other
    // than tab, line feed, carriage return, or a 0xEF lead byte"; only such a chunk is
    // scanned exactly, then the search goes on. (0xEF also leads U+F000..U+FFFD, which
    // are allowed.)
    const CHUNK: usize = 64;
    let b = s.as_bytes();
    let suspect = |chunk: &[u8]| {
        chunk.iter().fold(0u8, |acc, &c| {
            let c0 = (c < 0x20) & (c != b'\t') & (c != b'\n') & (c != b'\r');
            acc | u8::from(c0) | u8::from(c == 0xEF)
        }) != 0
    };
    let mut start = 0;
    for chunk in b.chunks(CHUNK) {
        if suspect(chunk) {
            if let Some(c) = find_in(b, start, start + chunk.len()) {
                return Some(c);
            }
        }
        start += chunk.len();
    }
    None
}

/// The exact scan of `b[from..to]`; a 0xEF at the end may look past `to` for the rest of
/// its sequence.
fn find_in(b: &[u8], from: usize, to: usize) -> Option<char> {
    let mut i = from;
    while i < to {
        let c = b[i];
        if c < 0x20 {
            if !matches!(c, b'\t' | b'\n' | b'\r') {
                return Some(char::from(c));
            }
        } else if c == 0xEF && b.get(i + 1) == Some(&0xBF) {
            match b.get(i + 2) {
                Some(0xBE) => return Some('\u{FFFE}'),
                Some(0xBF) => return Some('\u{FFFF}'),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// A string holds a character that XML 1.0 cannot carry; names the field (answer 400).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidText {
    field: Cow<'static, str>,
    ch: char,
}

impl InvalidText {
    /// The wire name of the field that holds the character (`instanceId`,
    /// `metadata key "k"`, `metadata value of "k"`, ...). Keys are quoted with Rust
    /// escapes, so the name itself is printable.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The character that cannot be carried.
    pub fn character(&self) -> char {
        self.ch
    }
}

impl fmt::Display for InvalidText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Invalid character U+{:04X} in {}: XML 1.0 cannot carry it",
            u32::from(self.ch),
            self.field
        )
    }
}

impl std::error::Error for InvalidText {}

/// Checks one string field.
pub fn check_field(field: &'static str, s: &str) -> Result<(), InvalidText> {
    match find_non_xml_char(s) {
        None => Ok(()),
        Some(ch) => Err(InvalidText {
            field: Cow::Borrowed(field),
            ch,
        }),
    }
}

/// Checks a metadata entry (key and value); `scope` is `metadata` or
/// `dataCenterInfo.metadata`.
pub fn check_metadata_entry(scope: &str, key: &str, value: &str) -> Result<(), InvalidText> {
    if let Some(ch) = find_non_xml_char(key) {
        return Err(InvalidText {
            field: Cow::Owned(format!("{scope} key {key:?}")),
            ch,
        });
    }
    if let Some(ch) = find_non_xml_char(value) {
        return Err(InvalidText {
            field: Cow::Owned(format!("{scope} value of {key:?}")),
            ch,
        });
    }
    Ok(())
}

fn check_metadata(scope: &str, m: &Metadata) -> Result<(), InvalidText> {
    m.iter()
        .try_for_each(|(k, v)| check_metadata_entry(scope, k, v))
}

impl InstanceInfo {
    /// Checks every string of the record against [`is_xml_char`] (see the module docs);
    /// the error names the first field that fails, in wire order.
    pub fn check_text(&self) -> Result<(), InvalidText> {
        let opt =
            |field, v: &Option<String>| v.as_deref().map_or(Ok(()), |s| check_field(field, s));
        opt("instanceId", &self.instance_id)?;
        check_field("hostName", &self.host_name)?;
        check_field("app", &self.app)?;
        check_field("ipAddr", &self.ip_addr)?;
        opt("sid", &self.sid)?;
        opt("dataCenterInfo.@class", &self.data_center_info.class)?;
        check_metadata("dataCenterInfo.metadata", &self.data_center_info.metadata)?;
        check_metadata("metadata", &self.metadata)?;
        opt("appGroupName", &self.app_group_name)?;
        opt("homePageUrl", &self.home_page_url)?;
        opt("statusPageUrl", &self.status_page_url)?;
        opt("healthCheckUrl", &self.health_check_url)?;
        opt("secureHealthCheckUrl", &self.secure_health_check_url)?;
        opt("vipAddress", &self.vip_address)?;
        opt("secureVipAddress", &self.secure_vip_address)?;
        opt("asgName", &self.asg_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_agrees_with_the_char_predicate_on_every_bmp_char_and_beyond() {
        for cp in (0u32..0x11_0000).filter(|c| *c < 0x1_0100 || c % 4093 == 0) {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let s = format!("ab{c}cd");
            assert_eq!(
                find_non_xml_char(&s).is_none(),
                is_xml_char(c),
                "U+{cp:04X}"
            );
        }
    }

    #[test]
    fn scan_finds_forbidden_characters_at_every_offset() {
        for len in 0..140 {
            for at in 0..=len {
                for bad in ['\u{1}', '\u{FFFE}', '\u{FFFF}'] {
                    let mut s: String = "a".repeat(at);
                    s.push(bad);
                    s.push_str(&"b".repeat(len - at));
                    assert_eq!(find_non_xml_char(&s), Some(bad), "{len} {at} {bad:?}");
                }
                let ok = format!(
                    "{}\t\u{FFFD}\u{E000}\r\n{}",
                    "a".repeat(at),
                    "b".repeat(len - at)
                );
                assert_eq!(find_non_xml_char(&ok), None, "{ok:?}");
            }
        }
    }

    #[test]
    fn every_field_is_checked_and_named() {
        let base = || InstanceInfo::builder("orders").host_name("o1").build();
        type Poison = Box<dyn Fn(&mut InstanceInfo)>;
        let cases: Vec<(&str, Poison)> = vec![
            (
                "instanceId",
                Box::new(|i| i.instance_id = Some("a\u{1}".into())),
            ),
            ("hostName", Box::new(|i| i.host_name = "a\u{1}".into())),
            ("app", Box::new(|i| i.app = "A\u{1}".into())),
            ("ipAddr", Box::new(|i| i.ip_addr = "a\u{1}".into())),
            ("sid", Box::new(|i| i.sid = Some("a\u{1}".into()))),
            (
                "dataCenterInfo.@class",
                Box::new(|i| i.data_center_info.class = Some("a\u{1}".into())),
            ),
            (
                "dataCenterInfo.metadata value of \"k\"",
                Box::new(|i| {
                    i.data_center_info.metadata.insert("k", "\u{1}");
                }),
            ),
            (
                "metadata key \"k\\u{1}\"",
                Box::new(|i| {
                    i.metadata.insert("k\u{1}", "v");
                }),
            ),
            (
                "metadata value of \"k\"",
                Box::new(|i| {
                    i.metadata.insert("k", "\u{1}");
                }),
            ),
            (
                "appGroupName",
                Box::new(|i| i.app_group_name = Some("a\u{1}".into())),
            ),
            (
                "homePageUrl",
                Box::new(|i| i.home_page_url = Some("a\u{1}".into())),
            ),
            (
                "statusPageUrl",
                Box::new(|i| i.status_page_url = Some("a\u{1}".into())),
            ),
            (
                "healthCheckUrl",
                Box::new(|i| i.health_check_url = Some("a\u{1}".into())),
            ),
            (
                "secureHealthCheckUrl",
                Box::new(|i| i.secure_health_check_url = Some("a\u{1}".into())),
            ),
            (
                "vipAddress",
                Box::new(|i| i.vip_address = Some("a\u{1}".into())),
            ),
            (
                "secureVipAddress",
                Box::new(|i| i.secure_vip_address = Some("a\u{1}".into())),
            ),
            ("asgName", Box::new(|i| i.asg_name = Some("a\u{1}".into()))),
        ];
        for (field, set) in cases {
            let mut i = base();
            assert!(i.check_text().is_ok());
            set(&mut i);
            let err = i.check_text().unwrap_err();
            assert_eq!(err.field(), field);
            assert_eq!(err.character(), '\u{1}');
        }
    }
}
