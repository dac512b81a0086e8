//! XML that every conforming parser accepts, and XML that none accepts (issue 12).
//!
//! `roxmltree`, a conforming XML 1.0 parser, is the oracle: whatever the writers emit must
//! parse with it, whatever the strings in the records (W-75), and whatever it rejects as
//! not well-formed the reader must reject too (W-76: the reader is tolerant of Eureka
//! shapes, never of broken XML).

use crate::support::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tower_eureka::codec::{self, Accept, Format};
use tower_eureka::model::{Applications, DataCenterInfo, InstanceInfo, Metadata};

/// Parses with the conforming oracle; the error text on failure.
fn conforming(bytes: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    roxmltree::Document::parse(text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Every character XML 1.0 cannot carry, and its neighbours that it can.
fn hostile() -> String {
    let mut s: String = (0u8..0x20).map(char::from).collect();
    s.push_str("\u{7f}\u{80}\u{9f}\u{D7FF}\u{E000}\u{FFFD}\u{FFFE}\u{FFFF}\u{10000}\u{10FFFF}");
    s.push_str("&<>\"']]>&#x1;");
    s
}

/// A record with every string field (and metadata keys and values) holding `s`.
fn poisoned(s: &str) -> InstanceInfo {
    let mut i = rich_instance();
    i.instance_id = Some(format!("id{s}"));
    i.host_name = format!("h{s}");
    i.app = format!("APP{s}");
    i.ip_addr = format!("ip{s}");
    i.sid = Some(format!("sid{s}"));
    i.app_group_name = Some(format!("G{s}"));
    i.home_page_url = Some(format!("u{s}"));
    i.status_page_url = Some(format!("u{s}"));
    i.health_check_url = Some(format!("u{s}"));
    i.secure_health_check_url = Some(format!("u{s}"));
    i.vip_address = Some(format!("v{s}"));
    i.secure_vip_address = Some(format!("v{s}"));
    i.asg_name = Some(format!("a{s}"));
    i.metadata = Metadata::from_iter([
        (format!("k{s}"), format!("v{s}")),
        ("zone".into(), s.into()),
    ]);
    i.data_center_info = DataCenterInfo::amazon(Metadata::from_iter([
        ("instance-id".to_owned(), format!("i{s}")),
        (format!("k{s}"), s.to_owned()),
    ]));
    i
}

// W-75 belt and braces: even a record the registry would refuse (an older record, a
// peer's) is written as well-formed XML in every document shape, and what the reader gets
// back is the text with each forbidden character replaced by U+FFFD, the rest intact.
#[test]
fn w75_every_xml_payload_is_well_formed_whatever_the_strings() {
    let bad = hostile();
    let inst = poisoned(&bad);
    let apps = Applications::from_instances([inst.clone(), rich_instance()]);
    let docs = [
        encode_apps(&apps, Format::Xml),
        {
            let mut out = Vec::new();
            codec::encode_application(&apps.applications[0], Format::Xml, Accept::Full, &mut out);
            out
        },
        encode_inst(&inst, Format::Xml),
    ];
    for doc in &docs {
        if let Err(e) = conforming(doc) {
            panic!("not well-formed: {e}\n{}", String::from_utf8_lossy(doc));
        }
    }
    let back = codec::decode_instance(&docs[2], Format::Xml).expect("our reader reads it back");
    let expect: String = bad
        .chars()
        .map(|c| {
            if tower_eureka::model::is_xml_char(c) {
                c
            } else {
                '\u{FFFD}'
            }
        })
        .collect();
    assert_eq!(back.host_name, format!("h{expect}"));
    assert_eq!(back.metadata.get("zone"), Some(expect.as_str()));
    assert!(back.check_text().is_ok());
    // JSON carries everything exactly (escaped), and parses with serde_json.
    let json = encode_apps(&apps, Format::Json);
    serde_json::from_slice::<serde_json::Value>(&json).expect("JSON parses");
    let back = codec::decode_applications(&json, Format::Json).expect("our JSON reader");
    assert_eq!(
        back.applications
            .iter()
            .find(|a| a.name.starts_with("APP"))
            .map(|a| a.instances[0].host_name.clone()),
        Some(format!("h{bad}"))
    );
}

// Every captured and derived fixture, decoded and written again as XML, parses with the
// conforming parser; so does every XML fixture as captured.
#[test]
fn w75_reencoded_fixtures_are_well_formed_xml() {
    let mut checked = 0;
    for f in all_fixtures() {
        let bytes = fixture(&f);
        let format = if f.ends_with(".xml") {
            Format::Xml
        } else {
            Format::Json
        };
        if format == Format::Xml {
            conforming(&bytes).unwrap_or_else(|e| panic!("{f} as captured: {e}"));
        }
        if let Ok(apps) = codec::decode_applications(&bytes, format) {
            let out = encode_apps(&apps, Format::Xml);
            conforming(&out).unwrap_or_else(|e| panic!("{f} re-encoded: {e}"));
            checked += 1;
        }
    }
    assert!(
        checked >= 5,
        "only {checked} fixtures held an Applications document"
    );
}

const VALID: &str = r#"<instance>
  <instanceId>h1:myapp:8080</instanceId>
  <hostName>h1</hostName>
  <app>MYAPP</app>
  <ipAddr>10.0.0.1</ipAddr>
  <status>UP</status>
  <port enabled="true">8080</port>
  <dataCenterInfo class="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo">
    <name>MyOwn</name>
  </dataCenterInfo>
  <metadata>
    <zone>a</zone>
  </metadata>
</instance>"#;

// W-76 with XML 1.0: each of these is not well-formed. The oracle rejects it, and so must
// the reader, with a syntax error (400 on register, like malformed JSON).
#[test]
fn w76_malformed_xml_is_refused_like_the_conforming_parser_refuses_it() {
    let cases: &[(&str, String)] = &[
        (
            "duplicate attribute",
            VALID.replace(r#"enabled="true""#, r#"enabled="true" enabled="false""#),
        ),
        (
            "duplicate attribute, one ignored by the reader",
            VALID.replace("<app>", r#"<app x="1" x="2">"#),
        ),
        (
            "attributes without white space between",
            VALID.replace(r#"<port enabled="true">"#, r#"<port a="1"enabled="true">"#),
        ),
        (
            "unquoted attribute",
            VALID.replace(r#"enabled="true""#, "enabled=true"),
        ),
        (
            "attribute without value",
            VALID.replace(r#"enabled="true""#, "enabled"),
        ),
        (
            "`<` in an attribute value",
            VALID.replace(r#"enabled="true""#, r#"enabled="t<rue""#),
        ),
        (
            "malformed element name",
            VALID.replace("<zone>a</zone>", "<1zone>a</1zone>"),
        ),
        (
            "malformed attribute name",
            VALID.replace(r#"enabled="true""#, r#"-enabled="true""#),
        ),
        (
            "raw control character in text",
            VALID.replace("<hostName>h1", "<hostName>h\u{1}1"),
        ),
        (
            "raw control character in a name",
            VALID.replace("<zone>a</zone>", "<zo\u{1}ne>a</zo\u{1}ne>"),
        ),
        (
            "raw U+FFFE in text",
            VALID.replace("<hostName>h1", "<hostName>h\u{FFFE}1"),
        ),
        (
            "reference to U+0001",
            VALID.replace("<hostName>h1", "<hostName>h&#x1;1"),
        ),
        (
            "decimal reference to U+001F",
            VALID.replace("<hostName>h1", "<hostName>h&#31;1"),
        ),
        (
            "reference to U+FFFE",
            VALID.replace("<ipAddr>10", "<ipAddr>&#xFFFE;10"),
        ),
        (
            "reference to U+FFFF in an attribute",
            VALID.replace(r#"class="com"#, r#"class="&#xFFFF;com"#),
        ),
        (
            "reference to NUL",
            VALID.replace("<hostName>h1", "<hostName>&#0;h1"),
        ),
        (
            "reference to a surrogate",
            VALID.replace("<hostName>h1", "<hostName>&#xD800;h1"),
        ),
        (
            "undeclared entity in text",
            VALID.replace("<hostName>h1", "<hostName>&nbsp;h1"),
        ),
        (
            "undeclared entity between elements",
            VALID.replace("<status>", "&bogus;<status>"),
        ),
        (
            "undeclared entity in an attribute",
            VALID.replace(r#"enabled="true""#, r#"enabled="&bogus;""#),
        ),
        (
            "bare ampersand",
            VALID.replace("<hostName>h1", "<hostName>h&1"),
        ),
        (
            "`]]>` in text",
            VALID.replace("<hostName>h1", "<hostName>h]]>1"),
        ),
        (
            "mismatched end tag",
            VALID.replace("</hostName>", "</hostname>"),
        ),
        ("content after the root", format!("{VALID}<instance/>")),
        ("text after the root", format!("{VALID}trailing")),
        (
            "`--` in a comment",
            VALID.replace("<status>", "<!-- a -- b --><status>"),
        ),
    ];
    for (what, doc) in cases {
        // roxmltree 0.21 lets a reference to a surrogate through; XML 1.0 (production
        // `Char`, to which a reference must match) does not.
        let oracle_misses = *what == "reference to a surrogate";
        let oracle = conforming(doc.as_bytes());
        assert_eq!(
            oracle.is_err(),
            !oracle_misses,
            "{what}: the oracle disagrees, the case is wrong"
        );
        match codec::decode_register(doc.as_bytes(), Format::Xml, "MYAPP") {
            Ok(i) => panic!("{what}: registered {i:?}"),
            Err(codec::RegisterError::Undecodable(e)) => assert!(e.is_syntax(), "{what}: {e}"),
            Err(e) => panic!("{what}: refused, but not as malformed XML: {e}"),
        }
        // Response readers are as strict.
        assert!(
            codec::decode_instance(doc.as_bytes(), Format::Xml).is_err(),
            "{what}"
        );
    }
    // Bytes that are not UTF-8 at all.
    let bytes = VALID
        .replace("<hostName>h1", "<hostName>h\u{1}1")
        .replace('\u{1}', "\u{0}");
    let mut bytes = bytes.into_bytes();
    let at = bytes.iter().position(|b| *b == 0).expect("marker");
    bytes[at] = 0xff;
    assert!(conforming(&bytes).is_err());
    assert!(matches!(
        codec::decode_register(&bytes, Format::Xml, "MYAPP"),
        Err(codec::RegisterError::Undecodable(e)) if e.is_syntax()
    ));
    // The valid document itself is fine for both.
    conforming(VALID.as_bytes()).expect("valid for the oracle");
    let i = codec::decode_register(VALID.as_bytes(), Format::Xml, "MYAPP").expect("valid for us");
    assert_eq!(i.metadata.get("zone"), Some("a"));
}

const MUTATIONS: &[&[u8]] = &[
    b"<",
    b">",
    b"</",
    b"/>",
    b"&",
    b"&#x1;",
    b"&#65;",
    b"&amp;",
    b"&bogus;",
    b"\"",
    b"'",
    b"=",
    b" ",
    b"a=\"1\"",
    b"enabled=\"x\"",
    b"\x01",
    b"\x0b",
    b"\xef\xbf\xbe",
    b"\xff",
    b"]]>",
    b"<!--",
    b"-->",
    b"<![CDATA[",
    b"]]",
    b"?>",
    b"<?pi x?>",
    b"-",
    b".",
    b"1",
];

// A differential test over seeded mutations of valid register bodies: whenever the
// conforming parser says a document is not well-formed, the reader refuses it too.
// (Namespace errors are left out: `a:b` with an undeclared prefix is well-formed XML 1.0
// and the reader, like XStream, ignores prefixes.)
#[test]
fn w76_the_reader_refuses_whatever_the_conforming_parser_refuses() {
    let seeds = [
        VALID.as_bytes().to_vec(),
        fixture("derived/DERIVED__xstream-xml__GET-apps-MYAPP-id__instance.xml"),
        encode_inst(&rich_instance(), Format::Xml),
    ];
    let mut rng = StdRng::seed_from_u64(0x0C0F_0E12);
    let (mut malformed, mut accepted_by_both) = (0usize, 0usize);
    for round in 0..4000 {
        let mut b = seeds[round % seeds.len()].clone();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..b.len());
            if rng.random_bool(0.3) {
                b[at] = rng.random_range(0x20..0x7f);
            } else {
                let t = MUTATIONS[rng.random_range(0..MUTATIONS.len())];
                b.splice(at..at, t.iter().copied());
            }
        }
        let oracle = match std::str::from_utf8(&b) {
            Err(_) => Err(None),
            Ok(t) => roxmltree::Document::parse(t).map(|_| ()).map_err(Some),
        };
        let ours = codec::decode_instance(&b, Format::Xml);
        match oracle {
            Err(Some(roxmltree::Error::UnknownNamespace(..))) => {}
            Err(_) => {
                malformed += 1;
                assert!(
                    ours.is_err(),
                    "round {round}: not well-formed ({:?}) but read:\n{}",
                    oracle_error(&b),
                    String::from_utf8_lossy(&b)
                );
            }
            Ok(()) => accepted_by_both += usize::from(ours.is_ok()),
        }
    }
    // Both kinds occur, so the comparison was made both ways.
    assert!(
        malformed > 1000 && accepted_by_both > 100,
        "{malformed} malformed, {accepted_by_both} fine"
    );
}

fn oracle_error(b: &[u8]) -> String {
    conforming(b).err().unwrap_or_default()
}
