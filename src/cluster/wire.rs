//! Batch bodies as Java sends them (P-11, P-12) and the answers as Java's receiver gives
//! them (P-15).

use super::queue::TaskKey;
use crate::codec::json::write::push_str;
use crate::codec::json::write_instance_object;
use crate::model::{InstanceInfo, Status};
use crate::registry::Registry;
use crate::server::WriteKind;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The `action` value of a kind (exact case, P-11).
pub(crate) fn action(kind: WriteKind) -> &'static str {
    match kind {
        WriteKind::Register => "Register",
        WriteKind::Heartbeat => "Heartbeat",
        WriteKind::Cancel => "Cancel",
        WriteKind::StatusUpdate => "StatusUpdate",
        WriteKind::DeleteStatusOverride => "DeleteStatusOverride",
    }
}

/// Builds the `ReplicationList` of `keys` from the live records (P-12: status and
/// `lastDirtyTimestamp` as stored now). A task whose record is gone (other than a
/// cancel) is left out: the cancel that removed it follows. Returns the body and the keys
/// actually sent, in order.
pub(crate) fn batch_body(registry: &Registry, keys: Vec<TaskKey>) -> (Vec<u8>, Vec<TaskKey>) {
    let mut out = Vec::with_capacity(64 + 160 * keys.len());
    let mut sent = Vec::with_capacity(keys.len());
    // One registry lock for the whole batch, not one per item.
    let wanted: Vec<(&str, &str)> = keys
        .iter()
        .filter(|k| k.kind != WriteKind::Cancel)
        .map(|k| (&*k.app, &*k.id))
        .collect();
    let mut records = registry.instances(&wanted).into_iter();
    let mut items = Vec::with_capacity(keys.len());
    for key in &keys {
        let live = match key.kind {
            WriteKind::Cancel => None,
            _ => match records.next().flatten() {
                Some(i) => Some(i),
                None => {
                    items.push(None);
                    continue;
                }
            },
        };
        items.push(Some(live));
    }
    out.extend_from_slice(b"{\"replicationList\":[");
    for (key, live) in keys.into_iter().zip(items) {
        let Some(live) = live else {
            continue;
        };
        if !sent.is_empty() {
            out.push(b',');
        }
        item(&key, live.as_deref(), &mut out);
        sent.push(key);
    }
    out.extend_from_slice(b"]}");
    (out, sent)
}

/// One `ReplicationInstance`, keys in Java's order and only those Java sends (P-11,
/// P-12, P-14).
pub(crate) fn item(key: &TaskKey, live: Option<&InstanceInfo>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"appName\":");
    push_str(out, &key.app);
    out.extend_from_slice(b",\"id\":");
    push_str(out, &key.id);
    if let Some(inst) = live {
        out.extend_from_slice(b",\"lastDirtyTimestamp\":");
        out.extend_from_slice(inst.last_dirty_timestamp.to_string().as_bytes());
        if key.kind == WriteKind::Heartbeat && inst.overridden_status != Status::Unknown {
            out.extend_from_slice(b",\"overriddenStatus\":");
            push_str(out, inst.overridden_status.as_str());
        }
        out.extend_from_slice(b",\"status\":");
        push_str(out, inst.status.as_str());
        if key.kind == WriteKind::Register {
            out.extend_from_slice(b",\"instanceInfo\":");
            write_instance_object(inst, out);
        }
    }
    out.extend_from_slice(b",\"action\":");
    push_str(out, action(key.kind));
    out.push(b'}');
}

#[derive(Deserialize)]
struct ListResponse<'a> {
    #[serde(rename = "responseList", borrow)]
    response_list: Vec<ItemResponse<'a>>,
}

#[derive(Deserialize)]
struct ItemResponse<'a> {
    #[serde(rename = "statusCode")]
    status_code: u16,
    #[serde(rename = "responseEntity", borrow, default)]
    response_entity: Option<&'a RawValue>,
}

/// One item's answer.
#[derive(Debug)]
pub(crate) struct ItemResult {
    pub(crate) status: u16,
    /// The peer's record (on a 409 heartbeat), decoded.
    pub(crate) entity: Option<InstanceInfo>,
}

/// Reads a `ReplicationListResponse` (P-15). `Err` when it is not one.
pub(crate) fn parse_response(body: &[u8]) -> Result<Vec<ItemResult>, String> {
    let list: ListResponse<'_> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(list
        .response_list
        .into_iter()
        .map(|r| ItemResult {
            status: r.status_code,
            entity: r.response_entity.and_then(|raw| {
                crate::codec::json::read_instance_object(raw.get().as_bytes()).ok()
            }),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Origin, RegistryConfig};

    // P-11, P-12, P-14: exactly the keys Java sends, per action, in order.
    #[test]
    fn p12_items_carry_exactly_javas_keys() {
        let reg = Registry::new(RegistryConfig::default());
        let inst = InstanceInfo::builder("orders")
            .host_name("h1")
            .instance_id("i1")
            .build();
        assert!(reg.register(inst, Origin::Client).is_ok());
        let keys = [
            WriteKind::Register,
            WriteKind::Heartbeat,
            WriteKind::StatusUpdate,
            WriteKind::DeleteStatusOverride,
            WriteKind::Cancel,
        ]
        .map(|k| TaskKey::new(k, "ORDERS", "i1"));
        let gone = TaskKey::new(WriteKind::Heartbeat, "ORDERS", "gone");
        let mut all = keys.to_vec();
        all.push(gone);
        let (body, sent) = batch_body(&reg, all);
        assert_eq!(
            sent.len(),
            5,
            "a heartbeat of a vanished record is left out"
        );
        let v: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => panic!("{e}: {}", String::from_utf8_lossy(&body)),
        };
        let items = v["replicationList"].as_array().cloned().unwrap_or_default();
        let key_sets: Vec<Vec<String>> = items
            .iter()
            .map(|i| {
                i.as_object()
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default()
            })
            .collect();
        // serde_json's map sorts keys: compare sets here, the order on the text below.
        let s = |v: &[&str]| {
            let mut v: Vec<String> = v.iter().map(|x| x.to_string()).collect();
            v.sort();
            v
        };
        let full = s(&["appName", "id", "lastDirtyTimestamp", "status", "action"]);
        assert_eq!(
            key_sets[0],
            s(&[
                "appName",
                "id",
                "lastDirtyTimestamp",
                "status",
                "instanceInfo",
                "action"
            ])
        );
        assert_eq!(key_sets[1], full);
        assert_eq!(key_sets[2], full);
        assert_eq!(key_sets[3], full);
        assert_eq!(key_sets[4], s(&["appName", "id", "action"]));
        assert_eq!(items[0]["instanceInfo"]["app"], "ORDERS");
        assert!(items[0]["instanceInfo"].get("instance").is_none());
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains(r#"{"appName":"ORDERS","id":"i1","action":"Cancel"}"#),
            "{text}"
        );
        assert!(
            text.contains(r#""status":"UP","action":"Heartbeat"}"#),
            "{text}"
        );
        assert!(
            text.starts_with(
                r#"{"replicationList":[{"appName":"ORDERS","id":"i1","lastDirtyTimestamp":"#
            ),
            "{text}"
        );
    }

    #[test]
    fn p15_answers_are_read_with_entities() {
        let r = parse_response(br#"{"responseList":[{"statusCode":200},{"statusCode":409,"responseEntity":{"instanceId":"i1","hostName":"h","app":"A","ipAddr":"1.2.3.4","status":"UP","port":{"$":80,"@enabled":"true"},"dataCenterInfo":{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"},"lastDirtyTimestamp":"5"}}]}"#);
        let r = match r {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].status, 409);
        assert_eq!(
            r[1].entity.as_ref().map(|i| i.last_dirty_timestamp),
            Some(5)
        );
        assert!(parse_response(b"garbage").is_err());
    }
}
