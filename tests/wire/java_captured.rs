//! Payloads captured from a real Java Eureka server (eureka-core 2.0.6 under Spring Cloud
//! Netflix 5.0.3, see `tests/wire/java/README.md`): our readers take every field, the
//! hash reconciles, and our writer emits the same document.

use tower_eureka::codec::{self, Accept, Format};
use tower_eureka::model::{apps_hashcode, ActionType, Applications, Status};

fn java(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/wire/java/java-2.0.6__{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn read(name: &str, format: Format) -> Applications {
    codec::decode_applications(&java(name), format).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// W-10..W-17, W-51 (JSON `overriddenStatus`, XML `overriddenstatus`), W-64
/// (`versions__delta` as a string): every document reads, both instances whole.
#[test]
fn w10_java_server_documents_read_whole() {
    for (name, format) in [
        ("apps.json", Format::Json),
        ("apps.xml", Format::Xml),
        ("delta.json", Format::Json),
        ("delta.xml", Format::Xml),
    ] {
        let apps = read(name, format);
        assert_eq!(
            apps.apps_hashcode.as_deref(),
            Some("OUT_OF_SERVICE_1_UP_1_"),
            "{name}"
        );
        let all: Vec<_> = apps
            .applications
            .iter()
            .flat_map(|a| &a.instances)
            .collect();
        assert_eq!(all.len(), 2, "{name}");
        let spring = all
            .iter()
            .find(|i| i.id() == "spring-orders-1")
            .expect(name);
        assert_eq!(spring.app, "SPRING-ORDERS");
        assert_eq!(spring.status, Status::Up);
        assert_eq!(spring.overridden_status, Status::Unknown);
        assert_eq!(spring.port.port, 38762);
        assert!(spring.port.enabled && !spring.secure_port.enabled, "{name}");
        assert_eq!(spring.metadata.get("team"), Some("payments"), "{name}");
        assert_eq!(spring.metadata.get("zone"), Some("zone-a"), "{name}");
        assert_eq!(spring.lease_info.renewal_interval_in_secs, 1);
        assert_eq!(spring.lease_info.duration_in_secs, 3);
        assert_eq!(spring.vip_address.as_deref(), Some("spring-orders"));
        assert_eq!(spring.action_type, Some(ActionType::Added), "{name}");
        let py = all.iter().find(|i| i.id() == "py-1").expect(name);
        assert_eq!(py.status, Status::OutOfService, "{name}");
        assert_eq!(py.overridden_status, Status::OutOfService, "{name}");
        assert_eq!(py.metadata.get("lang"), Some("python"));
        assert_eq!(py.last_dirty_timestamp, 0, "{name}: stored as registered");
        assert_eq!(py.action_type, Some(ActionType::Modified), "{name}");
        // C-22: the hash our client computes over Java's instances is Java's.
        assert_eq!(
            apps_hashcode(all.iter().map(|i| i.status)),
            "OUT_OF_SERVICE_1_UP_1_",
            "{name}"
        );
    }
}

/// W-14: re-encoded by our writer, Java's JSON comes back byte for byte, and its XML
/// element for element (whitespace aside).
#[test]
fn w14_our_writer_reproduces_the_java_documents() {
    for (name, format) in [("apps.json", Format::Json), ("delta.json", Format::Json)] {
        let mut out = Vec::new();
        codec::encode_applications(&read(name, format), format, Accept::Full, &mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&java(name)),
            "{name}"
        );
    }
    let squeeze = |b: &[u8]| -> String {
        String::from_utf8_lossy(b)
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .concat()
    };
    for name in ["apps.xml", "delta.xml"] {
        let mut out = Vec::new();
        codec::encode_applications(
            &read(name, Format::Xml),
            Format::Xml,
            Accept::Full,
            &mut out,
        );
        assert_eq!(squeeze(&out), squeeze(&java(name)), "{name}");
    }
}
