//! Shared helpers for the wire tests: fixture and spec loading, JSON minifying.

use tower_eureka::codec::{self, Accept, Format};
use tower_eureka::model::{Applications, InstanceInfo};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/eureka");
const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/spec/PROTOCOL.md");

/// The bytes of a fixture, by path under `fixtures/eureka/` (`captured/…` or `derived/…`).
pub(crate) fn fixture(rel: &str) -> Vec<u8> {
    let path = format!("{FIXTURES}/{rel}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// A derived fixture without the trailing newline the files carry (the wire bodies have
/// none).
pub(crate) fn fixture_body(rel: &str) -> Vec<u8> {
    let mut b = fixture(rel);
    while b.last().is_some_and(|c| *c == b'\n') {
        b.pop();
    }
    b
}

/// Every fixture file, as `captured/…` / `derived/…` paths.
pub(crate) fn all_fixtures() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["captured", "derived"] {
        let rd = std::fs::read_dir(format!("{FIXTURES}/{dir}")).expect("fixture dir");
        for e in rd {
            let e = e.expect("dir entry");
            out.push(format!("{dir}/{}", e.file_name().to_string_lossy()));
        }
    }
    out.sort();
    out
}

/// The first fenced code block after the heading that starts with `#### {example}` in the
/// protocol specification (the canonical payload examples, section 2.13).
pub(crate) fn spec_example(example: &str) -> String {
    let spec = std::fs::read_to_string(SPEC).expect("spec");
    let heading = format!("#### {example} ");
    let start = spec
        .find(&heading)
        .unwrap_or_else(|| panic!("{example} in spec"));
    let rest = &spec[start..];
    let fence = rest.find("\n```").expect("code fence");
    let body = &rest[fence + 4..];
    let body = &body[body.find('\n').expect("fence line end") + 1..];
    let end = body.find("\n```").expect("closing fence");
    body[..end].to_owned()
}

/// Removes insignificant whitespace from JSON text, keeping key order (unlike a
/// `serde_json::Value` round trip).
pub(crate) fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_str = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

pub(crate) fn encode_apps(apps: &Applications, format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    codec::encode_applications(apps, format, Accept::Full, &mut out);
    out
}

pub(crate) fn encode_inst(inst: &InstanceInfo, format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    codec::encode_instance(inst, format, &mut out);
    out
}

pub(crate) fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("utf-8 output")
}

/// A record with every optional field set and awkward content: used by round trips.
pub(crate) fn rich_instance() -> InstanceInfo {
    use tower_eureka::model::{ActionType, DataCenterInfo, PortWrapper, Status};
    let mut i = InstanceInfo::builder("rich-app")
        .instance_id("i-0abc:rich:9000")
        .host_name("rich-1.internal")
        .ip_addr("10.9.8.7")
        .port_wrapper(PortWrapper::disabled(9000))
        .secure_port_wrapper(PortWrapper::enabled(9443))
        .status(Status::OutOfService)
        .lease(15, 45)
        .metadata("zone", "zone-b")
        .metadata("management.port", "9001")
        .metadata("my_key", "under_score")
        .metadata("dollar$key", "d")
        .metadata(
            "quote",
            "a \"quoted\" <tag> & 'apos' \\ / é 😀 \t tab\nnewline\r",
        )
        .metadata("empty", "")
        .app_group_name("rich-group")
        .home_page_url("http://rich-1.internal:9000/")
        .status_page_url("http://rich-1.internal:9000/info?a=1&b=2")
        .health_check_url("http://rich-1.internal:9000/health")
        .secure_health_check_url("https://rich-1.internal:9443/health")
        .vip_address("rich,rich-alias")
        .secure_vip_address("rich-secure")
        .asg_name("rich-v007")
        .last_dirty_timestamp(1_699_999_999_123)
        .data_center_info(DataCenterInfo::amazon(
            [
                ("instance-id", "i-0abc"),
                ("availability-zone", "us-east-1c"),
                ("local-ipv4", "10.9.8.7"),
                ("ipv6", "::1"),
            ]
            .into_iter()
            .collect(),
        ))
        .build();
    i.sid = Some("sid-7".into());
    i.overridden_status = Status::OutOfService;
    i.country_id = 44;
    i.is_coordinating_discovery_server = true;
    i.last_updated_timestamp = 1_700_000_000_321;
    i.action_type = Some(ActionType::Modified);
    i.lease_info.registration_timestamp = 1_700_000_000_000;
    i.lease_info.last_renewal_timestamp = 1_700_000_090_000;
    i.lease_info.eviction_timestamp = 1_700_000_100_000;
    i.lease_info.service_up_timestamp = 1_700_000_000_001;
    i
}
