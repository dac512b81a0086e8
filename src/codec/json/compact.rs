//! The compact JSON form (`X-Eureka-Accept: compact`, W-90, W-91): Jackson-shape order and
//! types, with most InstanceInfo keys dropped.

use super::super::buf::{push_i64, push_u64};
use super::write::{push_str, write_data_center_info, write_port};
use crate::model::InstanceInfo;

/// The Amazon metadata keys the compact form keeps (W-91), written in the record's order.
const COMPACT_AMAZON_KEYS: &[&str] = &[
    "instance-id",
    "public-ipv4",
    "public-hostname",
    "local-ipv4",
    "availability-zone",
];

/// `{"application":[…],"versions__delta":"1","apps__hashcode":"…"}`: `application` first
/// (W-91). Applications without instances are left out (W-13).
pub(crate) fn write_applications_object<'a, A, I>(
    versions_delta: i64,
    apps_hashcode: &str,
    apps: A,
    out: &mut Vec<u8>,
) where
    A: IntoIterator<Item = (&'a str, I)>,
    I: IntoIterator<Item = &'a InstanceInfo>,
{
    out.extend_from_slice(b"{\"application\":[");
    super::write::write_application_list(apps, out, write_instance_object);
    out.extend_from_slice(b"],\"versions__delta\":\"");
    push_i64(out, versions_delta);
    out.extend_from_slice(b"\",\"apps__hashcode\":");
    push_str(out, apps_hashcode);
    out.push(b'}');
}

/// `{"name":"…","instance":[…]}` with compact instances. Returns the number of instances.
pub(crate) fn write_application_body<'a, I>(name: &str, instances: I, out: &mut Vec<u8>) -> usize
where
    I: IntoIterator<Item = &'a InstanceInfo>,
{
    super::write::write_application_body_with(name, instances, out, write_instance_object)
}

/// One compact InstanceInfo (W-91): `instanceId, app, ipAddr, vipAddress, secureVipAddress,
/// dataCenterInfo, hostName, status, lastUpdatedTimestamp, actionType, asgName, port,
/// securePort`, absent values omitted, `lastUpdatedTimestamp` a number.
fn write_instance_object(inst: &InstanceInfo, out: &mut Vec<u8>) {
    out.push(b'{');
    if let Some(id) = &inst.instance_id {
        out.extend_from_slice(b"\"instanceId\":");
        push_str(out, id);
        out.push(b',');
    }
    out.extend_from_slice(b"\"app\":");
    push_str(out, &inst.app);
    out.extend_from_slice(b",\"ipAddr\":");
    push_str(out, &inst.ip_addr);
    if let Some(v) = &inst.vip_address {
        out.extend_from_slice(b",\"vipAddress\":");
        push_str(out, v);
    }
    if let Some(v) = &inst.secure_vip_address {
        out.extend_from_slice(b",\"secureVipAddress\":");
        push_str(out, v);
    }
    out.extend_from_slice(b",\"dataCenterInfo\":");
    write_data_center_info(inst, Some(COMPACT_AMAZON_KEYS), out);
    out.extend_from_slice(b",\"hostName\":");
    push_str(out, &inst.host_name);
    out.extend_from_slice(b",\"status\":\"");
    out.extend_from_slice(inst.status.as_str().as_bytes());
    out.extend_from_slice(b"\",\"lastUpdatedTimestamp\":");
    push_u64(out, inst.last_updated_timestamp);
    if let Some(action) = inst.action_type {
        out.extend_from_slice(b",\"actionType\":\"");
        out.extend_from_slice(action.as_str().as_bytes());
        out.push(b'"');
    }
    if let Some(asg) = &inst.asg_name {
        out.extend_from_slice(b",\"asgName\":");
        push_str(out, asg);
    }
    out.extend_from_slice(b",\"port\":");
    write_port(inst.port, out);
    out.extend_from_slice(b",\"securePort\":");
    write_port(inst.secure_port, out);
    out.push(b'}');
}
