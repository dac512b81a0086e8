//! The peer-replication batch receiver: `POST /peerreplication/batch` (E-22, P-11..P-20).
//!
//! Items are applied in order against the in-memory registry with the replication flag set,
//! so none of them is forwarded again (P-03); the answer has one item per request item
//! (P-15). Sending batches to peers is a later feature.

use super::service::{bytes_response, error, ResponseBody};
use crate::codec::{self, Format, RegisterError};
use crate::model::{normalize_app_name, Status};
use crate::registry::{Origin, Registry, Renew, RenewOutcome};
use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::Value;

/// Applies one batch and builds the `ReplicationListResponse`.
pub(super) fn batch(registry: &Registry, body: &[u8]) -> Response<ResponseBody> {
    let items = match parse(body) {
        Ok(items) => items,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    let mut out = Vec::with_capacity(32 * items.len() + 32);
    out.extend_from_slice(b"{\"responseList\":[");
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        apply(registry, item, &mut out);
    }
    out.extend_from_slice(b"]}");
    bytes_response(StatusCode::OK, "application/json", Bytes::from(out))
}

#[derive(Debug)]
enum Action {
    Register,
    Heartbeat,
    Cancel,
    StatusUpdate,
    DeleteStatusOverride,
}

#[derive(Debug)]
struct Item {
    action: Action,
    app: String,
    id: String,
    last_dirty: Option<u64>,
    status: Option<String>,
    overridden: Option<String>,
    instance: Option<Value>,
}

fn parse(body: &[u8]) -> Result<Vec<Item>, String> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| format!("cannot parse replication batch: {e}"))?;
    let list = doc
        .get("replicationList")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            "body is not a ReplicationList (missing replicationList array)".to_owned()
        })?;
    list.iter()
        .enumerate()
        .map(|(n, v)| parse_item(v).map_err(|e| format!("replicationList[{n}]: {e}")))
        .collect()
}

fn parse_item(v: &Value) -> Result<Item, String> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let action = match v.get("action").and_then(Value::as_str) {
        Some("Register") => Action::Register,
        Some("Heartbeat") => Action::Heartbeat,
        Some("Cancel") => Action::Cancel,
        Some("StatusUpdate") => Action::StatusUpdate,
        Some("DeleteStatusOverride") => Action::DeleteStatusOverride,
        Some(other) => return Err(format!("unknown action {other:?}")),
        None => return Err("missing action".into()),
    };
    let last_dirty = match v.get("lastDirtyTimestamp") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(t)) => t.parse().ok(),
        Some(_) => None,
    };
    Ok(Item {
        action,
        app: normalize_app_name(&s("appName").ok_or("missing appName")?),
        id: s("id").ok_or("missing id")?,
        last_dirty,
        status: s("status"),
        overridden: s("overriddenStatus"),
        instance: v.get("instanceInfo").cloned(),
    })
}

fn apply(registry: &Registry, item: &Item, out: &mut Vec<u8>) {
    let code = |out: &mut Vec<u8>, c: u16| {
        out.extend_from_slice(format!("{{\"statusCode\":{c}}}").as_bytes());
    };
    let found = |out: &mut Vec<u8>, ok: bool| code(out, if ok { 200 } else { 404 });
    match item.action {
        Action::Register => {
            // P-16: always 200, even when the record is invalid; except that a record XML
            // cannot carry is answered 400 (issue 12), which Java senders log and drop.
            if let Some(inst) = &item.instance {
                let mut doc = Vec::from(&b"{\"instance\":"[..]);
                if serde_json::to_writer(&mut doc, inst).is_ok() {
                    doc.push(b'}');
                    match codec::decode_register(&doc, Format::Json, &item.app) {
                        Ok(i) => {
                            // The codec checked the text already; the registry agrees.
                            if let Err(e) = registry.register(i, Origin::Peer) {
                                tracing::debug!(app = %item.app, id = %item.id, error = %e, "replicated register refused");
                                return code(out, 400);
                            }
                        }
                        Err(e @ RegisterError::InvalidText(_)) => {
                            tracing::debug!(app = %item.app, id = %item.id, error = %e, "replicated register refused");
                            return code(out, 400);
                        }
                        Err(e) => {
                            tracing::debug!(app = %item.app, id = %item.id, error = ?e, "replicated register rejected")
                        }
                    }
                }
            }
            code(out, 200);
        }
        Action::Heartbeat => {
            let renew = Renew::new()
                .last_dirty_timestamp(item.last_dirty)
                .overridden_status(item.overridden.as_deref().and_then(Status::parse));
            match registry.renew(&item.app, &item.id, renew, Origin::Peer) {
                RenewOutcome::Renewed => code(out, 200),
                RenewOutcome::NotFound => code(out, 404),
                RenewOutcome::Conflict(stored) => {
                    out.extend_from_slice(b"{\"statusCode\":409,\"responseEntity\":");
                    codec::json::write_instance_object(&stored, out);
                    out.push(b'}');
                }
            }
        }
        Action::Cancel => found(out, registry.cancel(&item.app, &item.id, Origin::Peer)),
        Action::StatusUpdate => match item.status.as_deref().and_then(Status::parse) {
            Some(st) => found(
                out,
                registry.set_status_override(
                    &item.app,
                    &item.id,
                    st,
                    item.last_dirty,
                    Origin::Peer,
                ),
            ),
            None => code(out, 400),
        },
        Action::DeleteStatusOverride => {
            if item.last_dirty.is_none() {
                return code(out, 400);
            }
            let st = item.status.as_deref().and_then(Status::parse);
            found(
                out,
                registry.delete_status_override(
                    &item.app,
                    &item.id,
                    st,
                    item.last_dirty,
                    Origin::Peer,
                ),
            )
        }
    }
}
