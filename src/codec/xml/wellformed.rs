//! XML 1.0 well-formedness beyond what quick-xml checks (issue 12): the reader refuses
//! what a conforming parser refuses, as the JSON reader does for JSON.
//!
//! quick-xml checks tag nesting (with `check_end_names`), comments (with `check_comments`)
//! and quoting, and reports duplicate attributes only when every attribute is read. It
//! does not check names, characters or references. [`check_event`] runs on every event the
//! reader pulls, so no part of a document escapes it:
//!
//! * element and attribute names are XML `Name`s (`:` allowed);
//! * every attribute of every tag is read: duplicates and unquoted values are errors,
//!   attributes must be separated by white space, values hold no `<` and no reference to
//!   a character XML cannot carry;
//! * a `<!DOCTYPE …>` is refused: no DTD is read, so no entity is declared and nothing
//!   external is fetched;
//! * every reference in content is a character XML can carry or one of the five
//!   predefined entities;
//! * raw text, CDATA, comments and other markup are UTF-8 made of characters XML 1.0
//!   allows, and text holds no `]]>`.
//!
//! The messages are the reason of the 400 (`character U+0001 is not allowed in XML 1.0`).

use super::{is_name_char, is_name_start};
use crate::model::{find_non_xml_char, is_xml_char};
use quick_xml::encoding::Decoder;
use quick_xml::events::{BytesRef, BytesStart, Event};

/// Whether the whole document is UTF-8 made of characters XML 1.0 allows: one pass, up
/// front (raw characters are forbidden anywhere, so no event needs its own scan). Only when
/// this fails does the reader check raw characters event by event, so that the error names
/// the field that holds the character.
pub(super) fn document_chars_ok(src: &[u8]) -> bool {
    std::str::from_utf8(src).is_ok_and(|t| find_non_xml_char(t).is_none())
}

/// Checks one event; the error is the reason, for a syntax [`DecodeError`](super::super::DecodeError).
/// `raw_chars` asks for the raw-character check too (see [`document_chars_ok`]).
pub(super) fn check_event(ev: &Event<'_>, decoder: Decoder, raw_chars: bool) -> Result<(), String> {
    let chars = |t: &[u8]| if raw_chars { check_chars(t) } else { Ok(()) };
    match ev {
        Event::Start(start) | Event::Empty(start) => check_tag(start, decoder),
        Event::GeneralRef(r) => check_ref(r),
        Event::Text(t) => {
            chars(t)?;
            // Most texts are a few bytes of indentation: a plain loop beats memchr's setup.
            if t.contains(&b']') && memchr::memmem::find(t, b"]]>").is_some() {
                return Err("`]]>` is not allowed in text".into());
            }
            Ok(())
        }
        Event::CData(t) => chars(t),
        Event::Comment(t) => chars(t),
        Event::PI(t) => chars(t),
        // No DTD is processed, so none is taken: no entity declarations, no external
        // subsets (XXE), no billion laughs.
        Event::DocType(_) => Err("a DOCTYPE is not accepted (no DTD is processed)".into()),
        Event::Decl(t) => chars(t),
        Event::End(_) | Event::Eof => Ok(()),
    }
}

fn check_tag(start: &BytesStart<'_>, decoder: Decoder) -> Result<(), String> {
    if !is_xml_name(start.name().as_ref()) {
        return Err(format!(
            "malformed element name {:?}",
            String::from_utf8_lossy(start.name().as_ref())
        ));
    }
    if !attributes_separated(start.attributes_raw()) {
        return Err("attributes must be separated by white space".into());
    }
    for a in start.attributes() {
        let a = a.map_err(|e| quick_xml::Error::from(e).to_string())?;
        if !is_xml_name(a.key.as_ref()) {
            return Err(format!(
                "malformed attribute name {:?}",
                String::from_utf8_lossy(a.key.as_ref())
            ));
        }
        if a.value.contains(&b'<') {
            return Err("`<` is not allowed in an attribute value".into());
        }
        let value = a
            .decode_and_unescape_value(decoder)
            .map_err(|e| e.to_string())?;
        if let Some(c) = find_non_xml_char(&value) {
            return Err(forbidden(c));
        }
    }
    Ok(())
}

/// Raw markup or text: UTF-8, and only characters XML 1.0 allows.
fn check_chars(raw: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(raw).map_err(|e| format!("not valid UTF-8: {e}"))?;
    match find_non_xml_char(text) {
        Some(c) => Err(forbidden(c)),
        None => Ok(()),
    }
}

fn check_ref(r: &BytesRef<'_>) -> Result<(), String> {
    match r.resolve_char_ref() {
        Ok(Some(c)) if is_xml_char(c) => Ok(()),
        Ok(Some(c)) => Err(forbidden(c)),
        Ok(None) => {
            let name = r.decode().map_err(|e| e.to_string())?;
            match quick_xml::escape::resolve_predefined_entity(&name) {
                Some(_) => Ok(()),
                None => Err(format!("undeclared entity &{name};")),
            }
        }
        Err(e) => Err(e.to_string()),
    }
}

fn forbidden(c: char) -> String {
    format!("character U+{:04X} is not allowed in XML 1.0", u32::from(c))
}

/// ASCII bytes of XML names: 2 may start a name (`A-Z a-z _ :`), 1 may follow (`0-9 - .`).
static ASCII_NAME: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphabetic() || c == b'_' || c == b':' {
            2
        } else if c.is_ascii_digit() || c == b'-' || c == b'.' {
            1
        } else {
            0
        };
        b += 1;
    }
    t
};

/// Whether `name` is an XML 1.0 `Name` (`:` allowed, as namespaces use it).
fn is_xml_name(name: &[u8]) -> bool {
    // Every element of a Eureka document has an ASCII name: decide those by table.
    if let Some((&first, rest)) = name.split_first() {
        if ASCII_NAME[usize::from(first)] == 2
            && rest.iter().all(|&b| ASCII_NAME[usize::from(b)] != 0)
        {
            return true;
        }
    }
    let Ok(name) = std::str::from_utf8(name) else {
        return false;
    };
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c == ':' || is_name_start(c) => chars.all(|c| c == ':' || is_name_char(c)),
        _ => false,
    }
}

/// Whether every attribute value's closing quote is followed by white space or the end of
/// the tag (XML 1.0 `STag`: `(S Attribute)*`); quick-xml reads `a="1"b="2"` as two
/// attributes.
fn attributes_separated(raw: &[u8]) -> bool {
    let mut quote = None;
    let mut after_value = false;
    for &b in raw {
        match quote {
            Some(q) if b == q => {
                quote = None;
                after_value = true;
            }
            Some(_) => {}
            None => {
                if after_value && !b.is_ascii_whitespace() {
                    return false;
                }
                after_value = false;
                if b == b'"' || b == b'\'' {
                    quote = Some(b);
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w76_names_and_attribute_spacing() {
        assert!(is_xml_name(b"instance") && is_xml_name(b"a:b") && is_xml_name(b"_x.1-y"));
        assert!(
            !is_xml_name(b"1st")
                && !is_xml_name(b"-x")
                && !is_xml_name(b"")
                && !is_xml_name(b"a\x01")
        );
        assert!(attributes_separated(br#" a="1" b='2' "#));
        assert!(attributes_separated(br#" a="x'y""#));
        assert!(!attributes_separated(br#" a="1"b="2""#));
        assert!(!attributes_separated(br#" a='1'b="2""#));
    }
}
