//! The peer-replication batch receiver: `POST /peerreplication/batch` (E-22, P-11..P-20).
//!
//! Items are applied in order against the in-memory registry with the replication flag set,
//! so none of them is forwarded again (P-03); the answer has one item per request item
//! (P-15). Sending batches to peers is a later feature.
//!
//! The batch is read without building a JSON tree ([`read`]); a `Register` item's
//! `instanceInfo` stays the raw bytes it arrived in until
//! [`codec::decode_register_object`] reads and validates it as a register body (P-16).

mod read;

use super::response::{bytes_response, error, ResponseBody};
use crate::codec::{self, RegisterError};
use crate::model::{normalize_app_name, Status};
use crate::registry::{Origin, Registry, Renew, RenewOutcome};
use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::value::RawValue;

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

/// One `replicationList` item, checked: the action is known, `appName` and `id` are there.
#[derive(Debug)]
struct Item<'a> {
    action: Action,
    app: String,
    id: String,
    last_dirty: Option<u64>,
    status: Option<String>,
    overridden: Option<String>,
    /// The `instanceInfo` value as it arrived (P-13), any JSON value.
    instance: Option<&'a RawValue>,
}

fn parse(body: &[u8]) -> Result<Vec<Item<'_>>, String> {
    read::items(body)?
        .into_iter()
        .enumerate()
        .map(|(n, v)| Item::new(v).map_err(|e| format!("replicationList[{n}]: {e}")))
        .collect()
}

// === impl Item ===

impl<'a> Item<'a> {
    fn new(doc: read::ItemDoc<'a>) -> Result<Self, String> {
        let action = match doc.action.as_deref() {
            Some("Register") => Action::Register,
            Some("Heartbeat") => Action::Heartbeat,
            Some("Cancel") => Action::Cancel,
            Some("StatusUpdate") => Action::StatusUpdate,
            Some("DeleteStatusOverride") => Action::DeleteStatusOverride,
            Some(other) => return Err(format!("unknown action {other:?}")),
            None => return Err("missing action".into()),
        };
        Ok(Item {
            action,
            app: normalize_app_name(&doc.app_name.ok_or("missing appName")?),
            id: doc.id.ok_or("missing id")?,
            last_dirty: doc.last_dirty,
            status: doc.status,
            overridden: doc.overridden,
            instance: doc.instance,
        })
    }
}

fn apply(registry: &Registry, item: &Item<'_>, out: &mut Vec<u8>) {
    let code = |out: &mut Vec<u8>, c: u16| {
        out.extend_from_slice(format!("{{\"statusCode\":{c}}}").as_bytes());
    };
    let found = |out: &mut Vec<u8>, ok: bool| code(out, if ok { 200 } else { 404 });
    match item.action {
        Action::Register => {
            // P-16: always 200, even when the record is invalid; except that a record XML
            // cannot carry is answered 400 (issue 12), which Java senders log and drop.
            if let Some(inst) = item.instance {
                match codec::decode_register_object(inst.get().as_bytes(), &item.app) {
                    // The codec applied the text rule: no second scan in the registry.
                    Ok(i) => registry.register_decoded(i, Origin::Peer),
                    Err(e @ RegisterError::InvalidText(_)) => {
                        tracing::debug!(app = %item.app, id = %item.id, error = %e, "replicated register refused");
                        return code(out, 400);
                    }
                    Err(e) => {
                        tracing::debug!(app = %item.app, id = %item.id, error = ?e, "replicated register rejected")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::RegistryConfig;
    use rand::{Rng, SeedableRng};
    use serde_json::Value;

    const INSTANCE: &str = r#"{"instanceId":"o1","hostName":"h1","app":"ORDERS","ipAddr":"10.0.0.1","status":"UP","port":{"$":8080,"@enabled":"true"},"dataCenterInfo":{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"},"metadata":{"zone":"b","app":"x","m\u00e9":"1"},"lastDirtyTimestamp":"1700000000000"}"#;

    fn base() -> String {
        format!(
            r#"{{"replicationList":[
            {{"appName":"orders","id":"o1","lastDirtyTimestamp":1700000000000,"status":"UP","instanceInfo":{INSTANCE},"action":"Register","extra":[1,{{"a":null}}]}},
            {{"appName":"ORDERS","id":"o1","lastDirtyTimestamp":"1700000000000","overriddenStatus":"DOWN","status":"UP","action":"Heartbeat"}},
            {{"appName":"ORDERS","id":"o1","lastDirtyTimestamp":-0,"status":"OUT_OF_SERVICE","action":"StatusUpdate"}},
            {{"appName":"ORDERS","id":"o1","lastDirtyTimestamp":17.5,"status":5,"action":"DeleteStatusOverride"}},
            {{"appName":"ORDERS","id":"o1","id":"o2","action":"Cancel","action":"Cancel"}}
            ],"other":{{"replicationList":3}}}}"#
        )
    }

    /// What one item parsed into, comparable across the two readers.
    #[derive(Debug, PartialEq)]
    struct Seen {
        action: String,
        app: String,
        id: String,
        last_dirty: Option<u64>,
        status: Option<String>,
        overridden: Option<String>,
        instance: Option<Value>,
    }

    fn seen(body: &[u8]) -> Result<Vec<Seen>, String> {
        let items = parse(body)?;
        Ok(items
            .into_iter()
            .map(|i| Seen {
                action: format!("{:?}", i.action),
                app: i.app,
                id: i.id,
                last_dirty: i.last_dirty,
                status: i.status,
                overridden: i.overridden,
                instance: i
                    .instance
                    .map(|r| serde_json::from_str(r.get()).unwrap_or(Value::Null)),
            })
            .collect())
    }

    /// The receiver as it was before it kept `instanceInfo` raw: a `serde_json::Value` tree.
    fn seen_through_value(body: &[u8]) -> Result<Vec<Seen>, String> {
        let doc: Value = serde_json::from_slice(body)
            .map_err(|e| format!("cannot parse replication batch: {e}"))?;
        let list = doc
            .get("replicationList")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                "body is not a ReplicationList (missing replicationList array)".to_owned()
            })?;
        let item = |v: &Value| -> Result<Seen, String> {
            let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
            let action = match v.get("action").and_then(Value::as_str) {
                Some(a @ ("Register" | "Heartbeat" | "Cancel" | "StatusUpdate")) => a.to_owned(),
                Some("DeleteStatusOverride") => "DeleteStatusOverride".to_owned(),
                Some(other) => return Err(format!("unknown action {other:?}")),
                None => return Err("missing action".into()),
            };
            let last_dirty = match v.get("lastDirtyTimestamp") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(t)) => t.parse().ok(),
                Some(_) => None,
            };
            Ok(Seen {
                action,
                app: normalize_app_name(&s("appName").ok_or("missing appName")?),
                id: s("id").ok_or("missing id")?,
                last_dirty,
                status: s("status"),
                overridden: s("overriddenStatus"),
                instance: v.get("instanceInfo").cloned(),
            })
        };
        list.iter()
            .enumerate()
            .map(|(n, v)| item(v).map_err(|e| format!("replicationList[{n}]: {e}")))
            .collect()
    }

    fn same(body: &[u8]) {
        assert_eq!(
            seen(body),
            seen_through_value(body),
            "{}",
            String::from_utf8_lossy(body)
        );
    }

    // P-14, P-17: a batch is read as a JSON object would be, field by field: the raw
    // reader answers exactly what the Value tree answered, errors included.
    #[test]
    fn p14_batches_read_as_a_json_value_reads_them() {
        let base = base();
        assert_eq!(seen(base.as_bytes()).map(|s| s.len()), Ok(5));
        same(base.as_bytes());
        for body in [
            "",
            "[]",
            "\"x\"",
            "null",
            "{}",
            r#"{"replicationList":{}}"#,
            r#"{"replicationList":null}"#,
            r#"{"replicationList":[],"replicationList":7}"#,
            r#"{"replicationList":[5]}"#,
            r#"{"replicationList":[{"action":"Register"}]}"#,
            r#"{"replicationList":[{"action":"Register","appName":"a"}]}"#,
            r#"{"replicationList":[{"action":"Register2","appName":"a","id":"i"}]}"#,
            r#"{"replicationList":[{"action":"Register","action":5,"appName":"a","id":"i"}]}"#,
            r#"{"replicationList":[{"action":"Cancel","appName":"a","id":"i","x":"\ud800"}]}"#,
            r#"{"replicationList":[{"action":"Cancel","appName":"a","id":"i","x":1e400}]}"#,
            r#"{"replicationList":[{"action":"Register","appName":"a","id":"i","instanceInfo":{"x":"\udc00"}}]}"#,
            r#"{"replicationList":[{"action":"Register","appName":"a","id":"i","instanceInfo":null}]}"#,
            r#"{"replicationList":[{"action":"Cancel","appName":"a","id":"i"}]} x"#,
            r#"{"replic\u0061tionList":[{"\u0061ction":"Cancel","appName":"a","id":"i"}]}"#,
        ] {
            same(body.as_bytes());
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(14);
        let alphabet = b"{}[]\":,\\u0123456789-.eE+ tfnulrAa\xff";
        for _ in 0..3000 {
            let mut body = base.clone().into_bytes();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..body.len());
                let c = alphabet[rng.random_range(0..alphabet.len())];
                match rng.random_range(0..3) {
                    0 => body[at] = c,
                    1 => body.insert(at, c),
                    _ => {
                        body.remove(at);
                    }
                }
            }
            same(&body);
        }
    }

    fn registry() -> Registry {
        Registry::new(RegistryConfig::default())
    }

    async fn codes(registry: &Registry, body: &str) -> String {
        use http_body_util::BodyExt as _;
        let r = batch(registry, body.as_bytes());
        assert_eq!(r.status(), StatusCode::OK);
        let bytes = match r.into_body().collect().await {
            Ok(c) => c.to_bytes(),
            Err(never) => match never {},
        };
        String::from_utf8_lossy(&bytes).into_owned()
    }

    // P-16: a replicated Register is a register of its `instanceInfo`: the record is the one
    // `POST /apps/{app}` would store for the same object, metadata in wire order.
    #[tokio::test]
    async fn p16_replicated_register_stores_what_a_register_would() {
        let registry = registry();
        let body = format!(
            r#"{{"replicationList":[{{"appName":"orders","id":"o1","action":"Register","instanceInfo":{INSTANCE}}}]}}"#
        );
        assert_eq!(
            codes(&registry, &body).await,
            r#"{"responseList":[{"statusCode":200}]}"#
        );
        let stored = registry.instance("ORDERS", "o1");
        let keys: Vec<_> = stored
            .iter()
            .flat_map(|i| i.metadata.iter().map(|(k, _)| k.to_owned()))
            .collect();
        assert_eq!(keys, ["zone", "app", "m\u{e9}"]);
        let direct = codec::decode_register(
            format!(r#"{{"instance":{INSTANCE}}}"#).as_bytes(),
            codec::Format::Json,
            "orders",
        );
        let replicated = codec::decode_register_object(INSTANCE.as_bytes(), "orders");
        assert!(direct.is_ok());
        assert_eq!(format!("{direct:?}"), format!("{replicated:?}"));
    }

    // P-16: an invalid record is 200 and not stored; one XML cannot carry is 400 (issue 12);
    // a missing or non-object instanceInfo is 200.
    #[tokio::test]
    async fn p16_register_item_codes() {
        let registry = registry();
        let bad_host = INSTANCE.replace(r#""hostName":"h1","#, "");
        let bad_text = INSTANCE.replace(r#""h1""#, r#""h\u0001""#);
        let body = format!(
            r#"{{"replicationList":[
            {{"appName":"ORDERS","id":"o1","action":"Register","instanceInfo":{bad_host}}},
            {{"appName":"ORDERS","id":"o1","action":"Register","instanceInfo":{bad_text}}},
            {{"appName":"ORDERS","id":"o1","action":"Register","instanceInfo":"o1"}},
            {{"appName":"ORDERS","id":"o1","action":"Register","instanceInfo":null}},
            {{"appName":"ORDERS","id":"o1","action":"Register"}},
            {{"appName":"ORDERS","id":"o1","action":"Cancel"}}
            ]}}"#
        );
        assert_eq!(
            codes(&registry, &body).await,
            r#"{"responseList":[{"statusCode":200},{"statusCode":400},{"statusCode":200},{"statusCode":200},{"statusCode":200},{"statusCode":404}]}"#
        );
        assert!(registry.is_empty());
    }
}
