//! The tolerant JSON reader: legacy JSON, the Jackson shape (with explicit nulls) and the
//! Jettison variants (W-20..W-28, W-30..W-32, W-40..W-42, W-51..W-56, W-81, W-82).
//!
//! It streams through `serde_json` with hand-written visitors over private seeds: no
//! `serde_json::Value` tree is built. Rules applied everywhere:
//! * `null` is exactly like an absent key (W-22), and never clobbers an earlier value;
//! * unknown keys are ignored at every level, their values skipped whole (W-53), nested
//!   no deeper than [`MAX_DEPTH`](super::super::MAX_DEPTH) ([`Skip`]);
//! * key order never matters (W-23); for a repeated key the last non-null value wins (W-51);
//! * numbers may be numeric strings and the other way round (W-56);
//! * `application` and `instance` may be a single object instead of an array (W-81).

use super::super::error::{DecodeError, Seg};
use super::super::fields::{instance_field, Slot};
use super::super::raw::{DciClass, RawDci, RawInstance, RawLease, RawName, RawPort};
use super::ctx::Ctx;
use super::metadata::MetaSeed;
use super::scalar::{ActionSeed, BoolSeed, DeltaSeed, IntSeed, StatusSeed, TextAs, TextSeed};
use super::skip::Skip;
use crate::model::{Application, Applications, DataCenterName, InstanceInfo};
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Runs one top-level read over `bytes` and checks that nothing but whitespace follows.
///
/// Valid UTF-8 (every real payload) is validated once here and parsed as `str`, which spares
/// serde_json a UTF-8 check per string (a tenth of a register's cost); anything else is
/// parsed as bytes so that the error says where the bad byte is.
macro_rules! run {
    ($bytes:expr, $strict:expr, |$ctx:ident, $de:ident| $read:expr) => {{
        let ctx = Ctx::new($strict);
        let $ctx = &ctx;
        let result = match std::str::from_utf8($bytes) {
            Ok(text) => {
                let mut de = serde_json::Deserializer::from_str(text);
                let value = {
                    let $de = &mut de;
                    $read
                };
                value.and_then(|v| de.end().map(|()| v))
            }
            Err(_) => {
                let mut de = serde_json::Deserializer::from_slice($bytes);
                let value = {
                    let $de = &mut de;
                    $read
                };
                value.and_then(|v| de.end().map(|()| v))
            }
        };
        result.map_err(|e| ctx.translate(e))
    }};
}

pub(crate) fn decode_applications(bytes: &[u8]) -> Result<Applications, DecodeError> {
    run!(bytes, false, |ctx, de| {
        Wrapped::new("applications", AppsSeed(ctx), ctx).deserialize(de)
    })
}

pub(crate) fn decode_application(bytes: &[u8]) -> Result<Application, DecodeError> {
    run!(bytes, false, |ctx, de| {
        Wrapped::new("application", AppSeed(ctx), ctx).deserialize(de)
    })
}

pub(crate) fn decode_instance(bytes: &[u8]) -> Result<InstanceInfo, DecodeError> {
    run!(bytes, false, |ctx, de| {
        Wrapped::new("instance", RawInstSeed(ctx), ctx)
            .deserialize(de)
            .map(RawInstance::into_instance)
    })
}

pub(crate) fn decode_register(bytes: &[u8]) -> Result<Box<RawInstance>, DecodeError> {
    run!(bytes, true, |ctx, de| {
        Wrapped::new("instance", RawInstSeed(ctx), ctx).deserialize(de)
    })
}

/// [`decode_register`]'s strict reader over a bare InstanceInfo object (no `instance`
/// wrapper), as the `instanceInfo` of a replication `Register` item carries it (P-13).
#[cfg(feature = "server")]
pub(crate) fn decode_register_object(bytes: &[u8]) -> Result<Box<RawInstance>, DecodeError> {
    run!(bytes, true, |ctx, de| RawInstSeed(ctx).deserialize(de))
}

/// A bare InstanceInfo object (no `instance` wrapper), as inside replication payloads.
pub(crate) fn read_instance_object(bytes: &[u8]) -> Result<InstanceInfo, DecodeError> {
    run!(bytes, false, |ctx, de| {
        RawInstSeed(ctx)
            .deserialize(de)
            .map(RawInstance::into_instance)
    })
}

/// Deserializes a bare InstanceInfo object with the lenient reader (for embedding in
/// other serde types).
pub(crate) fn deserialize_instance<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<InstanceInfo, D::Error> {
    let ctx = Ctx::new(false);
    RawInstSeed(&ctx)
        .deserialize(d)
        .map(RawInstance::into_instance)
}

// === keys ===

/// Maps an object key to a field tag without allocating.
struct KeySeed<F>(fn(&str) -> F);

impl<'de, F> DeserializeSeed<'de> for KeySeed<F> {
    type Value = F;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<F, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, F> Visitor<'de> for KeySeed<F> {
    type Value = F;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<F, E> {
        Ok((self.0)(v))
    }
}

/// Whether an object key equals the given one.
struct KeyIs(&'static str);

seed_is_visitor!(KeyIs => bool, deserialize_str);

impl<'de> Visitor<'de> for KeyIs {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}

/// Reads the value of the current entry with `seed`, recording `key` in the error path.
macro_rules! value {
    ($ctx:expr, $map:expr, $key:expr, $seed:expr) => {
        $ctx.trace.at(Seg::Key($key), $map.next_value_seed($seed))?
    };
}

/// Assigns `$slot` only when the value is non-null (W-22: null is absent).
macro_rules! set {
    ($slot:expr, $v:expr) => {
        if let Some(v) = $v {
            $slot = Some(v);
        }
    };
}

// === root wrapper ===

/// `{"<key>": <value>}`, other keys ignored (W-06).
struct Wrapped<'c, S> {
    key: &'static str,
    seed: S,
    ctx: &'c Ctx,
}

impl<'c, S> Wrapped<'c, S> {
    fn new(key: &'static str, seed: S, ctx: &'c Ctx) -> Self {
        Wrapped { key, seed, ctx }
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Wrapped<'_, S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Wrapped<'_, S> {
    type Value = S::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object wrapped as {{\"{}\": ...}}", self.key)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<S::Value, A::Error> {
        let key = self.key;
        let mut seed = Some(self.seed);
        let mut value = None;
        while let Some(is_ours) = map.next_key_seed(KeyIs(key))? {
            match (is_ours, seed.take()) {
                (true, Some(s)) => value = Some(value!(self.ctx, map, key, s)),
                (_, s) => {
                    seed = s;
                    map.next_value::<Skip>()?;
                }
            }
        }
        value.ok_or_else(|| de::Error::missing_field(key))
    }
}

// === lists ===

/// An array of `S`, or a single `S` object (W-81), or `null` (empty).
struct OneOrMany<'c, S> {
    seed: S,
    ctx: &'c Ctx,
}

impl<'de, S> DeserializeSeed<'de> for OneOrMany<'_, S>
where
    S: DeserializeSeed<'de> + Copy,
{
    type Value = Vec<S::Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S> Visitor<'de> for OneOrMany<'_, S>
where
    S: DeserializeSeed<'de> + Copy,
{
    type Value = Vec<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array or an object")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        loop {
            let i = out.len();
            match self
                .ctx
                .trace
                .at(Seg::Index(i), seq.next_element_seed(self.seed))?
            {
                Some(v) => out.push(v),
                None => return Ok(out),
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.seed
            .deserialize(MapAccessDeserializer::new(map))
            .map(|v| vec![v])
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
}

// === Applications, Application ===

#[derive(Clone, Copy)]
struct AppsSeed<'c>(&'c Ctx);

#[derive(Clone, Copy)]
enum AppsField {
    VersionsDelta,
    AppsHashcode,
    Application,
    Other,
}

fn apps_field(k: &str) -> AppsField {
    match k {
        "versions__delta" => AppsField::VersionsDelta,
        "apps__hashcode" => AppsField::AppsHashcode,
        "application" => AppsField::Application,
        _ => AppsField::Other,
    }
}

seed_is_visitor!(AppsSeed<'_> => Applications, deserialize_map);

impl<'de> Visitor<'de> for AppsSeed<'_> {
    type Value = Applications;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an Applications object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Applications, A::Error> {
        let ctx = self.0;
        let mut versions_delta = None;
        let mut apps_hashcode = None;
        let mut applications = Vec::new();
        while let Some(f) = map.next_key_seed(KeySeed(apps_field))? {
            match f {
                AppsField::VersionsDelta => {
                    set!(
                        versions_delta,
                        value!(ctx, map, "versions__delta", DeltaSeed)
                    )
                }
                AppsField::AppsHashcode => {
                    set!(apps_hashcode, value!(ctx, map, "apps__hashcode", TextSeed))
                }
                AppsField::Application => {
                    let seed = OneOrMany {
                        seed: AppSeed(ctx),
                        ctx,
                    };
                    applications = value!(ctx, map, "application", seed);
                }
                AppsField::Other => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(Applications {
            // C-24: absent means "unknown", -1.
            versions_delta: versions_delta.unwrap_or(-1),
            apps_hashcode,
            applications,
        })
    }
}

#[derive(Clone, Copy)]
struct AppSeed<'c>(&'c Ctx);

seed_is_visitor!(AppSeed<'_> => Application, deserialize_map);

impl<'de> Visitor<'de> for AppSeed<'_> {
    type Value = Application;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an Application object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Application, A::Error> {
        let ctx = self.0;
        let mut name: Option<String> = None;
        let mut instances = Vec::new();
        while let Some(f) = map.next_key_seed(KeySeed(|k| match k {
            "name" => 1u8,
            "instance" => 2,
            _ => 0,
        }))? {
            match f {
                1 => set!(name, value!(ctx, map, "name", TextSeed)),
                2 => {
                    let seed = OneOrMany {
                        seed: InstSeed(ctx),
                        ctx,
                    };
                    instances = value!(ctx, map, "instance", seed);
                }
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(super::super::application_named(name, instances))
    }
}

// === InstanceInfo ===

#[derive(Clone, Copy)]
struct InstSeed<'c>(&'c Ctx);

impl<'de> DeserializeSeed<'de> for InstSeed<'_> {
    type Value = InstanceInfo;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<InstanceInfo, D::Error> {
        RawInstSeed(self.0)
            .deserialize(d)
            .map(RawInstance::into_instance)
    }
}

#[derive(Clone, Copy)]
struct RawInstSeed<'c>(&'c Ctx);

seed_is_visitor!(RawInstSeed<'_> => Box<RawInstance>, deserialize_map);

impl<'de> Visitor<'de> for RawInstSeed<'_> {
    // Boxed: the record (~700 bytes) is filled in place and then passes up through the
    // seeds, the `Result`s and the validation as a pointer instead of being copied at
    // every level.
    type Value = Box<RawInstance>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an InstanceInfo object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Box<RawInstance>, A::Error> {
        let ctx = self.0;
        let mut r = Box::<RawInstance>::default();
        while let Some(f) = map.next_key_seed(KeySeed(instance_field))? {
            let Some(f) = f else {
                map.next_value::<Skip>()?;
                continue;
            };
            let key = f.json;
            match f.slot {
                Slot::Text(slot) => set!(*slot(&mut r), value!(ctx, map, key, TextSeed)),
                Slot::Int(slot) => set!(*slot(&mut r), value!(ctx, map, key, IntSeed)),
                Slot::Status(slot) => set!(*slot(&mut r), value!(ctx, map, key, StatusSeed(ctx))),
                Slot::Port { slot, .. } => {
                    set!(*slot(&mut r), value!(ctx, map, key, PortSeed(ctx)))
                }
                Slot::CountryId => {
                    let v = match value!(ctx, map, key, IntSeed) {
                        Some(v) => Some(i32::try_from(v).map_err(|_| {
                            ctx.trace.push(Seg::Key(key));
                            de::Error::custom(format_args!("country id {v} out of range"))
                        })?),
                        None => None,
                    };
                    set!(r.country_id, v)
                }
                Slot::DataCenterInfo => {
                    set!(r.data_center_info, value!(ctx, map, key, DciSeed(ctx)))
                }
                Slot::LeaseInfo => set!(r.lease_info, value!(ctx, map, key, LeaseSeed(ctx))),
                Slot::Metadata => set!(r.metadata, value!(ctx, map, key, MetaSeed(ctx))),
                Slot::Flag => set!(
                    r.is_coordinating_discovery_server,
                    value!(ctx, map, key, BoolSeed)
                ),
                Slot::ActionType => set!(r.action_type, value!(ctx, map, key, ActionSeed)),
            }
        }
        Ok(r)
    }
}

// === port wrapper (W-26) ===

#[derive(Clone, Copy)]
struct PortSeed<'c>(&'c Ctx);

seed_is_visitor!(PortSeed<'_> => Option<RawPort>, deserialize_any);

fn port_number<E: de::Error>(v: i64) -> Result<u16, E> {
    u16::try_from(v).map_err(|_| E::custom(format_args!("port {v} out of range 0..=65535")))
}

impl<'de> Visitor<'de> for PortSeed<'_> {
    type Value = Option<RawPort>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a port object {\"$\": number, \"@enabled\": \"true\"|\"false\"}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.0;
        let mut p = RawPort::default();
        while let Some(f) = map.next_key_seed(KeySeed(|k| match k {
            "$" => 1u8,
            "@enabled" => 2,
            _ => 0,
        }))? {
            match f {
                1 => {
                    if let Some(v) = value!(ctx, map, "$", IntSeed) {
                        p.port = Some(ctx.trace.at(Seg::Key("$"), port_number(v))?);
                    }
                }
                2 => set!(p.enabled, value!(ctx, map, "@enabled", BoolSeed)),
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(Some(p))
    }
    // A bare number (`"port": 8080`): accepted leniently (W-26 [IMPL]), enabled by default.
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(RawPort {
            port: Some(port_number(v)?),
            enabled: None,
        }))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let n = IntSeed.visit_str::<E>(v)?;
        match n {
            Some(n) => self.visit_i64(n),
            None => Ok(None),
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

// === dataCenterInfo (W-32) ===

#[derive(Clone, Copy)]
struct DciSeed<'c>(&'c Ctx);

seed_is_visitor!(DciSeed<'_> => Option<RawDci>, deserialize_any);

impl<'de> Visitor<'de> for DciSeed<'_> {
    type Value = Option<RawDci>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a dataCenterInfo object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.0;
        let mut d = RawDci::default();
        while let Some(f) = map.next_key_seed(KeySeed(|k| match k {
            "@class" => 1u8,
            "name" => 2,
            "metadata" => 3,
            _ => 0,
        }))? {
            match f {
                1 => set!(
                    d.class,
                    value!(ctx, map, "@class", TextAs(DciClass::from_text))
                ),
                2 => set!(
                    d.name,
                    value!(
                        ctx,
                        map,
                        "name",
                        TextAs(|n: &str| match DataCenterName::parse(n) {
                            Some(n) => RawName::Known(n),
                            None => RawName::Unknown(n.to_owned()),
                        })
                    )
                ),
                3 => set!(d.metadata, value!(ctx, map, "metadata", MetaSeed(ctx))),
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(Some(d))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

// === leaseInfo (W-28) ===

#[derive(Clone, Copy)]
struct LeaseSeed<'c>(&'c Ctx);

seed_is_visitor!(LeaseSeed<'_> => Option<RawLease>, deserialize_any);

impl<'de> Visitor<'de> for LeaseSeed<'_> {
    type Value = Option<RawLease>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a leaseInfo object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.0;
        let mut l = RawLease::default();
        while let Some(f) = map.next_key_seed(KeySeed(|k| match k {
            "renewalIntervalInSecs" => 1u8,
            "durationInSecs" => 2,
            "registrationTimestamp" => 3,
            // W-28: the pre-2015 name is a synonym.
            "lastRenewalTimestamp" | "renewalTimestamp" => 4,
            "evictionTimestamp" => 5,
            "serviceUpTimestamp" => 6,
            _ => 0,
        }))? {
            match f {
                1 => set!(
                    l.renewal_interval_in_secs,
                    value!(ctx, map, "renewalIntervalInSecs", IntSeed)
                ),
                2 => set!(
                    l.duration_in_secs,
                    value!(ctx, map, "durationInSecs", IntSeed)
                ),
                3 => set!(
                    l.registration_timestamp,
                    value!(ctx, map, "registrationTimestamp", IntSeed)
                ),
                4 => set!(
                    l.last_renewal_timestamp,
                    value!(ctx, map, "lastRenewalTimestamp", IntSeed)
                ),
                5 => set!(
                    l.eviction_timestamp,
                    value!(ctx, map, "evictionTimestamp", IntSeed)
                ),
                6 => set!(
                    l.service_up_timestamp,
                    value!(ctx, map, "serviceUpTimestamp", IntSeed)
                ),
                _ => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(Some(l))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}
