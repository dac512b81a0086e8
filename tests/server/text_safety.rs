//! One registration must not take discovery down (issue 12): a string XML 1.0 cannot carry
//! is refused with 400 on every way into the registry, and every payload the server emits
//! keeps parsing with a strict XML parser (W-75) and as JSON.

use crate::support::{register_body, start, TestServer};
use serde_json::{json, Value};

/// The characters XML 1.0 cannot carry, even as a reference.
const FORBIDDEN: [char; 7] = [
    '\u{0}', '\u{1}', '\u{8}', '\u{b}', '\u{1f}', '\u{fffe}', '\u{ffff}',
];

const MARK: &str = "@@BAD@@";

/// Every string field of a register body, by its wire name, and how to poison it.
#[derive(Clone, Copy, Debug)]
enum Field {
    /// A top-level string field.
    Top(&'static str),
    MetadataKey,
    MetadataValue,
    DciClass,
    AmazonMetadataValue,
}

impl Field {
    fn all() -> Vec<Field> {
        let mut v: Vec<Field> = [
            "instanceId",
            "hostName",
            "app",
            "ipAddr",
            "sid",
            "appGroupName",
            "homePageUrl",
            "statusPageUrl",
            "healthCheckUrl",
            "secureHealthCheckUrl",
            "vipAddress",
            "secureVipAddress",
            "asgName",
        ]
        .into_iter()
        .map(Field::Top)
        .collect();
        v.extend([
            Field::MetadataKey,
            Field::MetadataValue,
            Field::DciClass,
            Field::AmazonMetadataValue,
        ]);
        v
    }

    /// What the refusal names (`InvalidText::field`).
    fn wire_name(self) -> String {
        match self {
            Field::Top(n) => n.to_owned(),
            Field::MetadataKey => "metadata key".into(),
            Field::MetadataValue => "metadata value of \"k\"".into(),
            Field::DciClass => "dataCenterInfo.@class".into(),
            Field::AmazonMetadataValue => "dataCenterInfo.metadata value of \"k\"".into(),
        }
    }

    /// The app in the path, which must match the body's.
    fn path_app(self) -> String {
        match self {
            Field::Top("app") => format!("ORDERS{MARK}"),
            _ => "ORDERS".into(),
        }
    }

    /// A valid JSON register body with `MARK` in this field.
    fn json(self) -> String {
        let mut v: Value =
            serde_json::from_str(&register_body("ORDERS", "bad-1", "bad.host", 8080, "UP"))
                .expect("template");
        let i = &mut v["instance"];
        match self {
            Field::Top(n) => i[n] = Value::String(format!("x{MARK}")),
            Field::MetadataKey => i["metadata"][format!("k{MARK}")] = json!("v"),
            Field::MetadataValue => i["metadata"]["k"] = json!(format!("v{MARK}")),
            Field::DciClass => {
                i["dataCenterInfo"]["@class"] = json!(format!("com.example.Dci{MARK}"))
            }
            Field::AmazonMetadataValue => {
                i["dataCenterInfo"] = json!({
                    "@class": "com.netflix.appinfo.AmazonInfo",
                    "name": "Amazon",
                    "metadata": {"instance-id": "i-1", "k": format!("v{MARK}")}
                })
            }
        }
        if let Field::Top("app") = self {
            i["app"] = json!(format!("ORDERS{MARK}"));
        }
        serde_json::to_string(&v).expect("serialize")
    }

    /// A valid XML register body with `MARK` in this field.
    fn xml(self) -> String {
        let text = |n: &str, default: &str| match self {
            Field::Top(f) if f == n => format!("{}{MARK}", if n == "app" { "ORDERS" } else { "x" }),
            _ => default.to_owned(),
        };
        let (dci_class, dci_name, dci_meta) = match self {
            Field::DciClass => (format!("com.example.Dci{MARK}"), "MyOwn", String::new()),
            Field::AmazonMetadataValue => (
                "com.netflix.appinfo.AmazonInfo".into(),
                "Amazon",
                format!("<metadata><instance-id>i-1</instance-id><k>v{MARK}</k></metadata>"),
            ),
            _ => (
                "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo".into(),
                "MyOwn",
                String::new(),
            ),
        };
        let meta = match self {
            Field::MetadataKey => format!("<k{MARK}>v</k{MARK}>"),
            Field::MetadataValue => format!("<k>v{MARK}</k>"),
            _ => "<zone>a</zone>".into(),
        };
        let mut doc = String::from("<instance>");
        for (n, d) in [
            ("instanceId", "bad-1"),
            ("hostName", "bad.host"),
            ("app", "ORDERS"),
            ("ipAddr", "10.0.0.9"),
            ("sid", "na"),
            ("appGroupName", "G"),
            ("homePageUrl", "http://h/"),
            ("statusPageUrl", "http://h/s"),
            ("healthCheckUrl", "http://h/h"),
            ("secureHealthCheckUrl", "https://h/h"),
            ("vipAddress", "orders"),
            ("secureVipAddress", "orders"),
            ("asgName", "asg"),
        ] {
            doc.push_str(&format!("<{n}>{}</{n}>", text(n, d)));
        }
        doc.push_str(&format!(
            r#"<status>UP</status><port enabled="true">8080</port><dataCenterInfo class="{dci_class}"><name>{dci_name}</name>{dci_meta}</dataCenterInfo><metadata>{meta}</metadata></instance>"#
        ));
        doc
    }
}

/// How the character travels.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Way {
    /// `\u0001` in a JSON string (valid JSON).
    JsonEscape,
    /// The raw character in a JSON string (valid JSON only for U+FFFE/U+FFFF).
    JsonRaw,
    /// `&#x1;` in XML.
    XmlReference,
    /// The raw character in XML.
    XmlRaw,
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn post(
    s: &TestServer,
    path_app: &str,
    content_type: &str,
    body: String,
) -> reqwest::Response {
    s.http
        .post(s.url(&format!("/apps/{}", percent(path_app))))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("POST")
}

fn reason(r: &reqwest::Response) -> String {
    r.headers()
        .get("x-eureka-error")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// GET a payload and require it to parse: XML with the conforming parser, JSON with
/// serde_json. Returns the JSON or the XML text.
async fn get_strict(s: &TestServer, path: &str, json: bool) -> String {
    let r = s
        .http
        .get(s.url(path))
        .header(
            "accept",
            if json {
                "application/json"
            } else {
                "application/xml"
            },
        )
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status().as_u16(), 200, "{path}");
    let body = r.text().await.expect("UTF-8 body");
    if json {
        serde_json::from_str::<Value>(&body).unwrap_or_else(|e| panic!("{path} JSON: {e}"));
    } else if let Err(e) = roxmltree::Document::parse(&body) {
        panic!("{path} XML does not parse: {e}\n{body}");
    }
    body
}

/// The registry holds exactly the healthy instance, and every payload parses.
async fn assert_untouched(s: &TestServer, case: &str) {
    let (_, all) = s.apps().await;
    assert_eq!(
        all,
        vec![("ORDERS".into(), "ok-1".into(), "UP".into())],
        "{case}: the registry changed"
    );
    for path in ["/apps", "/apps/delta", "/apps/ORDERS", "/apps/ORDERS/ok-1"] {
        for json in [false, true] {
            let body = get_strict(s, path, json).await;
            assert!(
                !body.contains("bad-1") && !body.contains("bad.host"),
                "{case}: {path} lists the refused record"
            );
        }
    }
}

// Issue 12 / W-75 / E-10: every string field, every forbidden character, every encoding of
// a register body. Each is refused with 400, nothing is stored or listed, and GET /apps
// and /apps/delta still parse in XML and JSON.
#[tokio::test]
async fn w75_e10_no_register_body_can_make_a_payload_unparsable() {
    let s = start().await;
    assert_eq!(
        s.register("orders", "ok-1", "UP").await.status().as_u16(),
        204
    );
    let mut cases = 0;
    for field in Field::all() {
        for c in FORBIDDEN {
            for way in [
                Way::JsonEscape,
                Way::JsonRaw,
                Way::XmlReference,
                Way::XmlRaw,
            ] {
                let (ct, template) = match way {
                    Way::JsonEscape | Way::JsonRaw => ("application/json", field.json()),
                    Way::XmlReference | Way::XmlRaw => ("application/xml", field.xml()),
                };
                let enc = match way {
                    Way::JsonEscape => format!("\\u{:04x}", u32::from(c)),
                    Way::XmlReference => format!("&#x{:X};", u32::from(c)),
                    Way::JsonRaw | Way::XmlRaw => c.to_string(),
                };
                let case = format!("{field:?} {:?} {way:?}", c);
                let path_app = field.path_app().replace(MARK, &c.to_string());
                let r = post(&s, &path_app, ct, template.replace(MARK, &enc)).await;
                assert_eq!(r.status().as_u16(), 400, "{case}: {}", reason(&r));
                let why = reason(&r);
                let valid_json = way == Way::JsonEscape
                    || (way == Way::JsonRaw && matches!(c, '\u{fffe}' | '\u{ffff}'));
                if valid_json {
                    // Decodable JSON: the text rule answers, naming the field and character.
                    let expect = format!(
                        "Invalid character U+{:04X} in {}",
                        u32::from(c),
                        field.wire_name()
                    );
                    assert!(why.starts_with(&expect), "{case}: {why:?}, want {expect:?}");
                } else if matches!(way, Way::XmlReference | Way::XmlRaw) {
                    // Not well-formed XML: refused like malformed JSON (W-95 body), with the
                    // precise reason in the header.
                    assert!(
                        why.starts_with("cannot parse request body: malformed XML"),
                        "{case}: {why:?}"
                    );
                    if let Field::Top(n) = field {
                        assert!(
                            why.contains(&format!("instance.{n}")),
                            "{case}: {why:?} does not name {n}"
                        );
                    }
                } else {
                    assert!(
                        why.starts_with("cannot parse request body: malformed JSON"),
                        "{case}: {why:?}"
                    );
                }
                assert_untouched(&s, &case).await;
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 17 * FORBIDDEN.len() * 4);
}

// A lone surrogate escape is not a character at all: 400, nothing stored.
#[tokio::test]
async fn w75_e10_lone_surrogate_escapes_are_refused() {
    let s = start().await;
    assert_eq!(
        s.register("orders", "ok-1", "UP").await.status().as_u16(),
        204
    );
    for esc in ["\\ud800", "\\udfff", "\\ud800x"] {
        let body = Field::Top("hostName").json().replace(MARK, esc);
        let r = post(&s, "ORDERS", "application/json", body).await;
        assert_eq!(r.status().as_u16(), 400, "{esc}");
        assert_untouched(&s, esc).await;
    }
}

// E-15: the metadata endpoint takes keys and values from the query; neither may hold a
// character XML cannot carry. 400 naming the entry, the record unchanged.
#[tokio::test]
async fn e15_metadata_updates_that_xml_cannot_carry_are_refused() {
    let s = start().await;
    assert_eq!(
        s.register("orders", "ok-1", "UP").await.status().as_u16(),
        204
    );
    for c in FORBIDDEN {
        let p = percent(&c.to_string());
        for (query, field) in [
            (format!("k{p}=v"), "metadata key"),
            (format!("k=v{p}"), "metadata value of \"k\""),
            (format!("fine=1&k=v{p}"), "metadata value of \"k\""),
        ] {
            let r = s
                .send(
                    reqwest::Method::PUT,
                    &format!("/apps/ORDERS/ok-1/metadata?{query}"),
                )
                .await;
            assert_eq!(r.status().as_u16(), 400, "{query}");
            let why = reason(&r);
            assert!(
                why.starts_with(&format!(
                    "Invalid character U+{:04X} in {field}",
                    u32::from(c)
                )),
                "{query}: {why:?}"
            );
            assert_untouched(&s, &query).await;
        }
    }
    // The endpoint still works for what XML can carry, and nothing refused slipped in.
    assert_eq!(s.put("/apps/ORDERS/ok-1/metadata?fine=1").await, 200);
    let (_, v) = s.get_json("/apps/ORDERS/ok-1").await;
    assert_eq!(v["instance"]["metadata"]["fine"], "1");
    assert!(v["instance"]["metadata"].get("k").is_none());
}

// E-13 with a status value holding a forbidden character: 400 (no such status), unchanged.
#[tokio::test]
async fn e13_status_values_with_forbidden_characters_are_refused() {
    let s = start().await;
    assert_eq!(
        s.register("orders", "ok-1", "UP").await.status().as_u16(),
        204
    );
    for c in FORBIDDEN {
        let path = format!(
            "/apps/ORDERS/ok-1/status?value=OUT_OF_SERVICE{}",
            percent(&c.to_string())
        );
        assert_eq!(s.put(&path).await, 400, "{path}");
        assert_untouched(&s, &path).await;
    }
}

// P-16 with issue 12: a replicated Register whose record XML cannot carry gets item code
// 400 (Java senders log and drop non-2xx items), the other items of the batch apply, and
// nothing refused is stored.
#[tokio::test]
async fn p16_replicated_records_that_xml_cannot_carry_are_refused() {
    let s = start().await;
    assert_eq!(
        s.register("orders", "ok-1", "UP").await.status().as_u16(),
        204
    );
    for field in Field::all() {
        for c in FORBIDDEN {
            let body: Value = serde_json::from_str(
                &field
                    .json()
                    .replace(MARK, &format!("\\u{:04x}", u32::from(c))),
            )
            .expect("JSON");
            let batch = json!({"replicationList": [
                {"appName": field.path_app().replace(MARK, &c.to_string()), "id": "bad-1", "action": "Register",
                 "lastDirtyTimestamp": 1700000000000u64, "instanceInfo": body["instance"]},
                {"appName": "ORDERS", "id": "ok-1", "action": "Heartbeat", "status": "UP",
                 "lastDirtyTimestamp": 1700000000000u64},
            ]});
            let r = s
                .post_json("/peerreplication/batch", batch.to_string())
                .await;
            assert_eq!(r.status().as_u16(), 200);
            let v: Value =
                serde_json::from_slice(&r.bytes().await.expect("body")).expect("response list");
            let case = format!("{field:?} {c:?}");
            assert_eq!(
                v,
                json!({"responseList": [{"statusCode": 400}, {"statusCode": 200}]}),
                "{case}"
            );
            assert_untouched(&s, &case).await;
        }
    }
}
