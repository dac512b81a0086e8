//! The XStream XML writer (W-70..W-75): two-space indent, `\n` line ends, no declaration,
//! no trailing newline.
//!
//! Every element writer appends its first line's indent and the element, without a
//! leading or trailing newline; parents put a `\n` before each child.

use super::super::buf::{push_i64, push_u64};
use super::super::json::write::emitted_sid;
use super::super::raw::EMPTY_MAP_CLASS;
use super::encode_name;
use crate::model::{DataCenterName, InstanceInfo, LeaseInfo, Metadata, PortWrapper};

const INDENT: &[u8] = b"                                                                ";

#[inline]
fn indent(out: &mut Vec<u8>, depth: usize) {
    let mut n = depth * 2;
    while n > 0 {
        let k = n.min(INDENT.len());
        out.extend_from_slice(&INDENT[..k]);
        n -= k;
    }
}

/// Appends `s` as XML text the way XStream's pretty printer does: `&`, `<`, `>`, `"`, `'`
/// as entities, `\r` and DEL as `&#x…;` (W-75).
///
/// Characters that XML 1.0 cannot carry even as a reference (C0 controls other than tab,
/// line feed and carriage return; U+FFFE, U+FFFF) are written as U+FFFD: the registry
/// refuses them on the way in, and should one reach a writer anyway (an older record, a
/// peer), the document must still be well-formed for every XML client. (XStream writes
/// `&#x1;`, which conforming parsers reject.)
pub(crate) fn push_text(out: &mut Vec<u8>, s: &str) {
    const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (rep, len): (&[u8], usize) = match b {
            b'&' => (b"&amp;", 1),
            b'<' => (b"&lt;", 1),
            b'>' => (b"&gt;", 1),
            b'"' => (b"&quot;", 1),
            b'\'' => (b"&apos;", 1),
            b'\r' => (b"&#xd;", 1),
            0x7f => (b"&#x7f;", 1),
            b'\t' | b'\n' => {
                i += 1;
                continue;
            }
            0x00..=0x1f => (REPLACEMENT, 1),
            0xEF if bytes.get(i + 1) == Some(&0xBF)
                && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) =>
            {
                (REPLACEMENT, 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(rep);
        i += len;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// `\n` + indent + `<name>text</name>`.
#[inline]
fn leaf(out: &mut Vec<u8>, depth: usize, name: &[u8], text: &str) {
    out.push(b'\n');
    indent(out, depth);
    out.push(b'<');
    out.extend_from_slice(name);
    out.push(b'>');
    push_text(out, text);
    out.extend_from_slice(b"</");
    out.extend_from_slice(name);
    out.push(b'>');
}

#[inline]
fn leaf_u64(out: &mut Vec<u8>, depth: usize, name: &[u8], v: u64) {
    out.push(b'\n');
    indent(out, depth);
    out.push(b'<');
    out.extend_from_slice(name);
    out.push(b'>');
    push_u64(out, v);
    out.extend_from_slice(b"</");
    out.extend_from_slice(name);
    out.push(b'>');
}

#[inline]
fn opt_leaf(out: &mut Vec<u8>, depth: usize, name: &[u8], text: Option<&str>) {
    if let Some(t) = text {
        leaf(out, depth, name, t);
    }
}

/// `<applications>` at `depth` (W-71). Applications without instances are left out (W-13).
pub(crate) fn write_applications<'a, A, I>(
    versions_delta: i64,
    apps_hashcode: &str,
    apps: A,
    depth: usize,
    out: &mut Vec<u8>,
) where
    A: IntoIterator<Item = (&'a str, I)>,
    I: IntoIterator<Item = &'a InstanceInfo>,
{
    indent(out, depth);
    out.extend_from_slice(b"<applications>\n");
    indent(out, depth + 1);
    out.extend_from_slice(b"<versions__delta>");
    push_i64(out, versions_delta);
    out.extend_from_slice(b"</versions__delta>");
    // W-73: open and close tag even for the empty hash.
    leaf(out, depth + 1, b"apps__hashcode", apps_hashcode);
    for (name, instances) in apps {
        let mark = out.len();
        out.push(b'\n');
        if write_application(name, instances, depth + 1, out) == 0 {
            out.truncate(mark);
        }
    }
    out.push(b'\n');
    indent(out, depth);
    out.extend_from_slice(b"</applications>");
}

/// `<application>` at `depth`: `<name>`, then one `<instance>` per instance (W-71).
/// Returns the number of instances written.
pub(crate) fn write_application<'a, I>(
    name: &str,
    instances: I,
    depth: usize,
    out: &mut Vec<u8>,
) -> usize
where
    I: IntoIterator<Item = &'a InstanceInfo>,
{
    indent(out, depth);
    out.extend_from_slice(b"<application>");
    leaf(out, depth + 1, b"name", name);
    let mut n = 0;
    for inst in instances {
        out.push(b'\n');
        write_instance(inst, depth + 1, out);
        n += 1;
    }
    out.push(b'\n');
    indent(out, depth);
    out.extend_from_slice(b"</application>");
    n
}

/// Appends one `<instance>` element whose tag is indented `depth` levels (two spaces
/// each), children in the order of W-14 with XStream's spellings (W-71..W-73). No newline
/// is written before the first line or after the last.
pub fn write_instance(inst: &InstanceInfo, depth: usize, out: &mut Vec<u8>) {
    let d = depth + 1;
    indent(out, depth);
    out.extend_from_slice(b"<instance>");
    opt_leaf(out, d, b"instanceId", inst.instance_id.as_deref());
    leaf(out, d, b"hostName", &inst.host_name);
    leaf(out, d, b"app", &inst.app);
    leaf(out, d, b"ipAddr", &inst.ip_addr);
    opt_leaf(out, d, b"sid", emitted_sid(inst));
    leaf(out, d, b"status", inst.status.as_str());
    leaf(out, d, b"overriddenstatus", inst.overridden_status.as_str());
    write_port(out, d, b"port", inst.port);
    write_port(out, d, b"securePort", inst.secure_port);
    out.push(b'\n');
    indent(out, d);
    out.extend_from_slice(b"<countryId>");
    push_i64(out, i64::from(inst.country_id));
    out.extend_from_slice(b"</countryId>");
    write_data_center_info(out, d, inst);
    write_lease(out, d, &inst.lease_info);
    write_metadata(out, d, &inst.metadata, true);
    opt_leaf(out, d, b"appGroupName", inst.app_group_name.as_deref());
    opt_leaf(out, d, b"homePageUrl", inst.home_page_url.as_deref());
    opt_leaf(out, d, b"statusPageUrl", inst.status_page_url.as_deref());
    opt_leaf(out, d, b"healthCheckUrl", inst.health_check_url.as_deref());
    opt_leaf(
        out,
        d,
        b"secureHealthCheckUrl",
        inst.secure_health_check_url.as_deref(),
    );
    opt_leaf(out, d, b"vipAddress", inst.vip_address.as_deref());
    opt_leaf(
        out,
        d,
        b"secureVipAddress",
        inst.secure_vip_address.as_deref(),
    );
    leaf(
        out,
        d,
        b"isCoordinatingDiscoveryServer",
        if inst.is_coordinating_discovery_server {
            "true"
        } else {
            "false"
        },
    );
    leaf_u64(out, d, b"lastUpdatedTimestamp", inst.last_updated_timestamp);
    leaf_u64(out, d, b"lastDirtyTimestamp", inst.last_dirty_timestamp);
    opt_leaf(out, d, b"actionType", inst.action_type.map(|a| a.as_str()));
    opt_leaf(out, d, b"asgName", inst.asg_name.as_deref());
    out.push(b'\n');
    indent(out, depth);
    out.extend_from_slice(b"</instance>");
}

/// `<port enabled="true">8080</port>` (W-72).
fn write_port(out: &mut Vec<u8>, depth: usize, name: &[u8], p: PortWrapper) {
    out.push(b'\n');
    indent(out, depth);
    out.push(b'<');
    out.extend_from_slice(name);
    out.extend_from_slice(if p.enabled {
        b" enabled=\"true\">"
    } else {
        b" enabled=\"false\">"
    });
    push_u64(out, u64::from(p.port));
    out.extend_from_slice(b"</");
    out.extend_from_slice(name);
    out.push(b'>');
}

/// `<dataCenterInfo class="…">` with `<name>` before the Amazon `<metadata>` (W-72, W-76).
fn write_data_center_info(out: &mut Vec<u8>, depth: usize, inst: &InstanceInfo) {
    let dci = &inst.data_center_info;
    out.push(b'\n');
    indent(out, depth);
    out.extend_from_slice(b"<dataCenterInfo class=\"");
    // Both known classes are attribute-safe (W-33: never an unknown class).
    out.extend_from_slice(dci.name.class().as_bytes());
    out.extend_from_slice(b"\">");
    leaf(out, depth + 1, b"name", dci.name.as_str());
    if dci.name == DataCenterName::Amazon {
        write_metadata(out, depth + 1, &dci.metadata, false);
    }
    out.push(b'\n');
    indent(out, depth);
    out.extend_from_slice(b"</dataCenterInfo>");
}

/// `<leaseInfo>` with its six children (W-72).
fn write_lease(out: &mut Vec<u8>, depth: usize, l: &LeaseInfo) {
    out.push(b'\n');
    indent(out, depth);
    out.extend_from_slice(b"<leaseInfo>");
    let d = depth + 1;
    leaf_u64(
        out,
        d,
        b"renewalIntervalInSecs",
        u64::from(l.renewal_interval_in_secs),
    );
    leaf_u64(out, d, b"durationInSecs", u64::from(l.duration_in_secs));
    leaf_u64(out, d, b"registrationTimestamp", l.registration_timestamp);
    leaf_u64(out, d, b"lastRenewalTimestamp", l.last_renewal_timestamp);
    leaf_u64(out, d, b"evictionTimestamp", l.eviction_timestamp);
    leaf_u64(out, d, b"serviceUpTimestamp", l.service_up_timestamp);
    out.push(b'\n');
    indent(out, depth);
    out.extend_from_slice(b"</leaseInfo>");
}

/// `<metadata>` with one child per entry, keys name-encoded (W-73, W-74). An empty map is
/// the EmptyMap marker for instance metadata (`marker`), `<metadata/>` otherwise. Keys
/// that cannot be element names at all (the empty key, `@class`) are left out.
fn write_metadata(out: &mut Vec<u8>, depth: usize, m: &Metadata, marker: bool) {
    out.push(b'\n');
    indent(out, depth);
    let mark = out.len();
    out.extend_from_slice(b"<metadata>");
    let mut any = false;
    for (k, v) in m.iter() {
        if k.is_empty() || k == "@class" {
            continue;
        }
        any = true;
        out.push(b'\n');
        indent(out, depth + 1);
        out.push(b'<');
        let name_start = out.len();
        encode_name(k, out);
        let name_end = out.len();
        out.push(b'>');
        push_text(out, v);
        out.extend_from_slice(b"</");
        out.extend_from_within(name_start..name_end);
        out.push(b'>');
    }
    if any {
        out.push(b'\n');
        indent(out, depth);
        out.extend_from_slice(b"</metadata>");
    } else {
        out.truncate(mark);
        if marker {
            out.extend_from_slice(b"<metadata class=\"");
            out.extend_from_slice(EMPTY_MAP_CLASS.as_bytes());
            out.extend_from_slice(b"\"/>");
        } else {
            out.extend_from_slice(b"<metadata/>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w75_text_escaping() {
        let mut out = Vec::new();
        push_text(
            &mut out,
            "a&b<c>d\"e'f\r\tg\u{1}h\0i\u{7f}j\u{FFFE}k\u{FFFF}l\u{FFFD}m",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a&amp;b&lt;c&gt;d&quot;e&apos;f&#xd;\tg\u{FFFD}h\u{FFFD}i&#x7f;j\u{FFFD}k\u{FFFD}l\u{FFFD}m"
        );
    }
}
