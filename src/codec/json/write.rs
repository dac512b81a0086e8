//! The legacy JSON writer (W-04, W-10..W-17, W-25, W-27, W-30, W-40, W-80): bytes straight
//! into the output buffer, keys in the exact Java order.

use super::super::buf::{push_i64, push_u64};
use super::super::raw::EMPTY_MAP_CLASS;
use crate::model::{DataCenterName, InstanceInfo, LeaseInfo, Metadata, PortWrapper};

// === strings (W-04) ===

/// What to do with each byte inside a JSON string: 0 copy, `u` `\u00XX`, else `\` + that byte.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `s` as a JSON string: `"` and `\` and control characters escaped (short forms
/// where JSON has them, `\u00XX` otherwise, upper-case hex like Jackson); `/` and
/// non-ASCII characters are written as they are (W-04).
#[inline]
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPE[usize::from(b)];
        if esc == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if esc == b'u' {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.push(b'\\');
            out.push(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// `,"key":"value"` for an optional string field (omitted when `None`, W-16).
#[inline]
fn opt_field(out: &mut Vec<u8>, key: &[u8], v: Option<&str>) {
    if let Some(v) = v {
        out.extend_from_slice(key);
        push_str(out, v);
    }
}

// === Applications, Application ===

/// `{"versions__delta":"1","apps__hashcode":"…","application":[…]}` (W-11). Applications
/// without instances are left out (W-13).
pub(crate) fn write_applications_object<'a, A, I>(
    versions_delta: i64,
    apps_hashcode: &str,
    apps: A,
    out: &mut Vec<u8>,
) where
    A: IntoIterator<Item = (&'a str, I)>,
    I: IntoIterator<Item = &'a InstanceInfo>,
{
    out.extend_from_slice(b"{\"versions__delta\":\"");
    push_i64(out, versions_delta);
    out.extend_from_slice(b"\",\"apps__hashcode\":");
    push_str(out, apps_hashcode);
    out.extend_from_slice(b",\"application\":[");
    write_application_list(apps, out, write_instance_object);
    out.extend_from_slice(b"]}");
}

/// The comma-separated Application objects of an `application` array, with instances
/// written by `write` (full or compact); applications without instances are left out
/// (W-13).
pub(crate) fn write_application_list<'a, A, I>(
    apps: A,
    out: &mut Vec<u8>,
    write: fn(&InstanceInfo, &mut Vec<u8>),
) where
    A: IntoIterator<Item = (&'a str, I)>,
    I: IntoIterator<Item = &'a InstanceInfo>,
{
    let mut first = true;
    for (name, instances) in apps {
        let mark = out.len();
        if !first {
            out.push(b',');
        }
        if write_application_body_with(name, instances, out, write) == 0 {
            out.truncate(mark);
        } else {
            first = false;
        }
    }
}

/// `{"name":"…","instance":[…]}` (W-13, W-80). Returns the number of instances written.
pub(crate) fn write_application_body<'a, I>(name: &str, instances: I, out: &mut Vec<u8>) -> usize
where
    I: IntoIterator<Item = &'a InstanceInfo>,
{
    write_application_body_with(name, instances, out, write_instance_object)
}

/// The application framing around instances written by `write` (full or compact).
pub(crate) fn write_application_body_with<'a, I>(
    name: &str,
    instances: I,
    out: &mut Vec<u8>,
    write: fn(&InstanceInfo, &mut Vec<u8>),
) -> usize
where
    I: IntoIterator<Item = &'a InstanceInfo>,
{
    out.extend_from_slice(b"{\"name\":");
    push_str(out, name);
    out.extend_from_slice(b",\"instance\":[");
    let mut n = 0;
    for inst in instances {
        if n > 0 {
            out.push(b',');
        }
        write(inst, out);
        n += 1;
    }
    out.extend_from_slice(b"]}");
    n
}

// === InstanceInfo (W-14) ===

/// Appends one InstanceInfo as a bare legacy-JSON object (no `instance` wrapper), with the
/// keys in the order of W-14 and the types of W-15: what servers serve, what the Netflix
/// client registers with, and what replication carries (P-13).
///
/// ```
/// use tower_eureka::codec::json::write_instance_object;
/// use tower_eureka::model::InstanceInfo;
///
/// let inst = InstanceInfo::builder("orders").host_name("o1").port(8080).build();
/// let mut out = Vec::new();
/// write_instance_object(&inst, &mut out);
/// let text = String::from_utf8(out).unwrap();
/// assert!(text.starts_with(r#"{"instanceId":"o1:orders:8080","hostName":"o1","app":"ORDERS""#));
/// assert!(text.contains(r#""port":{"$":8080,"@enabled":"true"}"#));
/// ```
pub fn write_instance_object(inst: &InstanceInfo, out: &mut Vec<u8>) {
    out.push(b'{');
    if let Some(id) = &inst.instance_id {
        out.extend_from_slice(b"\"instanceId\":");
        push_str(out, id);
        out.push(b',');
    }
    out.extend_from_slice(b"\"hostName\":");
    push_str(out, &inst.host_name);
    out.extend_from_slice(b",\"app\":");
    push_str(out, &inst.app);
    out.extend_from_slice(b",\"ipAddr\":");
    push_str(out, &inst.ip_addr);
    opt_field(out, b",\"sid\":", emitted_sid(inst));
    out.extend_from_slice(b",\"status\":\"");
    out.extend_from_slice(inst.status.as_str().as_bytes());
    out.extend_from_slice(b"\",\"overriddenStatus\":\"");
    out.extend_from_slice(inst.overridden_status.as_str().as_bytes());
    out.extend_from_slice(b"\",\"port\":");
    write_port(inst.port, out);
    out.extend_from_slice(b",\"securePort\":");
    write_port(inst.secure_port, out);
    out.extend_from_slice(b",\"countryId\":");
    push_i64(out, i64::from(inst.country_id));
    out.extend_from_slice(b",\"dataCenterInfo\":");
    write_data_center_info(inst, None, out);
    out.extend_from_slice(b",\"leaseInfo\":");
    write_lease(&inst.lease_info, out);
    out.extend_from_slice(b",\"metadata\":");
    write_metadata(&inst.metadata, out);
    opt_field(out, b",\"appGroupName\":", inst.app_group_name.as_deref());
    opt_field(out, b",\"homePageUrl\":", inst.home_page_url.as_deref());
    opt_field(out, b",\"statusPageUrl\":", inst.status_page_url.as_deref());
    opt_field(
        out,
        b",\"healthCheckUrl\":",
        inst.health_check_url.as_deref(),
    );
    opt_field(
        out,
        b",\"secureHealthCheckUrl\":",
        inst.secure_health_check_url.as_deref(),
    );
    opt_field(out, b",\"vipAddress\":", inst.vip_address.as_deref());
    opt_field(
        out,
        b",\"secureVipAddress\":",
        inst.secure_vip_address.as_deref(),
    );
    out.extend_from_slice(if inst.is_coordinating_discovery_server {
        b",\"isCoordinatingDiscoveryServer\":\"true\""
    } else {
        b",\"isCoordinatingDiscoveryServer\":\"false\""
    });
    out.extend_from_slice(b",\"lastUpdatedTimestamp\":\"");
    push_u64(out, inst.last_updated_timestamp);
    out.extend_from_slice(b"\",\"lastDirtyTimestamp\":\"");
    push_u64(out, inst.last_dirty_timestamp);
    out.push(b'"');
    if let Some(action) = inst.action_type {
        out.extend_from_slice(b",\"actionType\":\"");
        out.extend_from_slice(action.as_str().as_bytes());
        out.push(b'"');
    }
    opt_field(out, b",\"asgName\":", inst.asg_name.as_deref());
    out.push(b'}');
}

/// The `sid` to emit: omitted when absent, `na` (the default) or `unknown` (W-14 row 5).
pub(crate) fn emitted_sid(inst: &InstanceInfo) -> Option<&str> {
    inst.sid
        .as_deref()
        .filter(|s| *s != "na" && *s != "unknown")
}

/// `{"$":8080,"@enabled":"true"}` (W-25).
#[inline]
pub(crate) fn write_port(p: PortWrapper, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"$\":");
    push_u64(out, u64::from(p.port));
    out.extend_from_slice(if p.enabled {
        b",\"@enabled\":\"true\"}"
    } else {
        b",\"@enabled\":\"false\"}"
    });
}

/// `{"@class":…,"name":…}` plus Amazon `metadata` (W-30). `@class` is always one of the
/// two known classes (W-33). `amazon_keys` restricts the Amazon metadata (compact form).
pub(crate) fn write_data_center_info(
    inst: &InstanceInfo,
    amazon_keys: Option<&[&str]>,
    out: &mut Vec<u8>,
) {
    let dci = &inst.data_center_info;
    out.extend_from_slice(b"{\"@class\":");
    push_str(out, dci.name.class());
    out.extend_from_slice(b",\"name\":\"");
    out.extend_from_slice(dci.name.as_str().as_bytes());
    out.push(b'"');
    if dci.name == DataCenterName::Amazon {
        out.extend_from_slice(b",\"metadata\":{");
        let mut first = true;
        for (k, v) in dci.metadata.iter() {
            if k == "@class" || amazon_keys.is_some_and(|keys| !keys.contains(&k)) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            push_str(out, k);
            out.push(b':');
            push_str(out, v);
        }
        out.push(b'}');
    }
    out.push(b'}');
}

/// The six lease values as numbers (W-27).
fn write_lease(l: &LeaseInfo, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"renewalIntervalInSecs\":");
    push_u64(out, u64::from(l.renewal_interval_in_secs));
    out.extend_from_slice(b",\"durationInSecs\":");
    push_u64(out, u64::from(l.duration_in_secs));
    out.extend_from_slice(b",\"registrationTimestamp\":");
    push_u64(out, l.registration_timestamp);
    out.extend_from_slice(b",\"lastRenewalTimestamp\":");
    push_u64(out, l.last_renewal_timestamp);
    out.extend_from_slice(b",\"evictionTimestamp\":");
    push_u64(out, l.eviction_timestamp);
    out.extend_from_slice(b",\"serviceUpTimestamp\":");
    push_u64(out, l.service_up_timestamp);
    out.push(b'}');
}

/// Plain string pairs in insertion order, or the EmptyMap marker when empty (W-40). A key
/// `@class` is never written as data (it would read back as the marker).
fn write_metadata(m: &Metadata, out: &mut Vec<u8>) {
    let mut first = true;
    for (k, v) in m.iter() {
        if k == "@class" {
            continue;
        }
        out.push(if first { b'{' } else { b',' });
        first = false;
        push_str(out, k);
        out.push(b':');
        push_str(out, v);
    }
    if first {
        out.extend_from_slice(b"{\"@class\":\"");
        out.extend_from_slice(EMPTY_MAP_CLASS.as_bytes());
        out.extend_from_slice(b"\"}");
    } else {
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w04_escapes_like_jackson() {
        let mut out = Vec::new();
        push_str(&mut out, "a\"b\\c/d\u{1}\n\té\u{1f}");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c/d\\u0001\\n\\té\\u001F\""
        );
    }

    #[test]
    fn w40_empty_metadata_marker() {
        let mut out = Vec::new();
        write_metadata(&Metadata::new(), &mut out);
        assert_eq!(out, br#"{"@class":"java.util.Collections$EmptyMap"}"#);
        let mut out = Vec::new();
        let only_class: Metadata = [("@class", "x")].into_iter().collect();
        write_metadata(&only_class, &mut out);
        assert_eq!(out, br#"{"@class":"java.util.Collections$EmptyMap"}"#);
    }
}
