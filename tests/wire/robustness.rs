//! Decoding never panics on mutated or truncated input (W-76 "never panics", W-53), with a
//! deterministic seed.

use crate::support::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tower_eureka::codec::{self, Format};

fn decode_all(bytes: &[u8], format: Format) -> [bool; 4] {
    [
        codec::decode_applications(bytes, format).is_ok(),
        codec::decode_application(bytes, format).is_ok(),
        codec::decode_instance(bytes, format).is_ok(),
        codec::decode_register(bytes, format, "MYAPP").is_ok(),
    ]
}

fn seeds() -> Vec<(Vec<u8>, Format)> {
    let mut out = Vec::new();
    for f in all_fixtures() {
        let format = if f.ends_with(".xml") {
            Format::Xml
        } else {
            Format::Json
        };
        out.push((fixture(&f), format));
    }
    let rich = rich_instance();
    out.push((encode_inst(&rich, Format::Json), Format::Json));
    out.push((encode_inst(&rich, Format::Xml), Format::Xml));
    out
}

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"-1",
    b"1e999",
    b"\\u12",
    b"<",
    b">",
    b"</",
    b"/>",
    b"&",
    b"&#0;",
    b"&bogus;",
    b"<![CDATA[",
    b"\xff",
    b"\xc3",
    b"_.",
    b"=\"",
];

// Random byte flips, insertions, deletions and splices; every decoder must return.
#[test]
fn w76_mutated_inputs_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x0E0E_CA5E);
    let seeds = seeds();
    let mut decoded = 0usize;
    for round in 0..3000 {
        let (base, format) = &seeds[round % seeds.len()];
        let mut b = base.clone();
        for _ in 0..rng.random_range(1..6) {
            if b.is_empty() {
                break;
            }
            let at = rng.random_range(0..b.len());
            match rng.random_range(0..4) {
                0 => b[at] = rng.random(),
                1 => {
                    let t = TOKENS[rng.random_range(0..TOKENS.len())];
                    b.splice(at..at, t.iter().copied());
                }
                2 => {
                    let end = (at + rng.random_range(1..20)).min(b.len());
                    b.drain(at..end);
                }
                _ => {
                    let from = rng.random_range(0..b.len());
                    let len = rng.random_range(1..40).min(b.len() - from);
                    let piece = b[from..from + len].to_vec();
                    b.splice(at..at, piece);
                }
            }
        }
        for f in [*format, Format::Json, Format::Xml] {
            decoded += decode_all(&b, f).iter().filter(|ok| **ok).count();
        }
    }
    // Small mutations often leave a decodable document: the readers are tolerant.
    assert!(decoded > 0);
}

// Every strict prefix of a document that cuts into its last element is an error, never a
// panic and never a silently shorter registry.
#[test]
fn w76_truncated_inputs_are_errors() {
    for (base, format) in seeds() {
        let end = base.iter().rposition(|b| !b.is_ascii_whitespace()).unwrap();
        let doc_ok = decode_all(&base, format);
        for cut in 0..end {
            let r = decode_all(&base[..cut], format);
            for (k, ok) in r.iter().enumerate() {
                assert!(
                    !(doc_ok[k] && *ok),
                    "prefix of {cut} bytes decoded as kind {k}"
                );
            }
            if let Err(e) = codec::decode_applications(&base[..cut], format) {
                assert!(!e.to_string().is_empty());
            }
        }
    }
}

// Deep nesting neither exhausts the stack nor is taken: 100,000 levels, in an unknown key,
// a nested metadata value on the client side, or where a known object is expected, are
// errors (the bound is MAX_DEPTH; tests/wire/hardening.rs has the rest).
#[test]
fn w53_deep_nesting_is_bounded() {
    let depth = 100_000;
    let open = b"[".repeat(depth);
    let close = b"]".repeat(depth);
    let json = [&b"{\"applications\":{\"x\":"[..], &open, &close, b"}}"].concat();
    assert!(codec::decode_applications(&json, Format::Json).is_err());
    let json = [
        &b"{\"instance\":{\"hostName\":\"h\",\"metadata\":{\"deep\":"[..],
        &open,
        &close,
        b",\"k\":\"v\"}}}",
    ]
    .concat();
    assert!(codec::decode_instance(&json, Format::Json).is_err());
    assert!(codec::decode_register(&json, Format::Json, "x").is_err());
    let json = [
        &b"{\"applications\":{\"application\":"[..],
        &open,
        &close,
        b"}}",
    ]
    .concat();
    assert!(codec::decode_applications(&json, Format::Json).is_err());

    let xml = [
        &b"<applications>"[..],
        &b"<x>".repeat(depth),
        &b"</x>".repeat(depth),
        b"</applications>",
    ]
    .concat();
    assert!(codec::decode_applications(&xml, Format::Xml).is_err());
}
