//! The scalar values of the tolerant JSON reader: text, integers, `versions__delta`,
//! booleans, statuses and action types, each accepting the forms Java clients and servers
//! have written (W-52, W-56, W-82); `null` is always `None` (W-22).

use super::super::raw::RawStatus;
use super::ctx::Ctx;
use crate::model::{ActionType, Status};
use serde::de::{self, DeserializeSeed, Deserializer, Visitor};
use std::fmt;

/// A string field; numbers and booleans are taken as their text; `null` is `None`.
#[derive(Clone, Copy)]
pub(super) struct TextSeed;

seed_is_visitor!(TextSeed => Option<String>, deserialize_any);

impl<'de> Visitor<'de> for TextSeed {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    scalars_as_text!();
}

/// A string field read as [`TextSeed`] reads it, but handed to `F` as read instead of
/// copied into a `String` first: for fields matched against known values (a
/// dataCenterInfo's `@class` and `name`), which are not kept as text.
#[derive(Clone, Copy)]
pub(super) struct TextAs<F>(pub(super) F);

impl<'de, T, F: FnOnce(&str) -> T> DeserializeSeed<'de> for TextAs<F> {
    type Value = Option<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T, F: FnOnce(&str) -> T> Visitor<'de> for TextAs<F> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some((self.0)(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some((self.0)(&v.to_string())))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some((self.0)(&v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some((self.0)(&v.to_string())))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some((self.0)(&v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// An integer given as a number or a numeric string (W-56); `null` is `None`.
#[derive(Clone, Copy)]
pub(super) struct IntSeed;

seed_is_visitor!(IntSeed => Option<i64>, deserialize_any);

impl<'de> Visitor<'de> for IntSeed {
    type Value = Option<i64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a string holding one")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v)
            .map(Some)
            .map_err(|_| E::custom(format_args!("integer {v} out of range")))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // Integral floats (`30.0`) are accepted; anything else is not an integer.
        if v.fract() == 0.0 && v >= i64::MIN as f64 && v <= i64::MAX as f64 {
            Ok(Some(v as i64))
        } else {
            Err(E::custom(format_args!("expected an integer, got {v}")))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        v.trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| E::custom(format_args!("expected an integer, got {v:?}")))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// `versions__delta`: a number or a numeric string; an unparsable string reads as -1
/// ("unknown", which only forces a full fetch, C-24).
#[derive(Clone, Copy)]
pub(super) struct DeltaSeed;

seed_is_visitor!(DeltaSeed => Option<i64>, deserialize_any);

impl<'de> Visitor<'de> for DeltaSeed {
    type Value = Option<i64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a version number")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(i64::try_from(v).unwrap_or(-1)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.trim().parse().unwrap_or(-1)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A boolean given as a JSON boolean or a string (`"true"`, any case, is true; W-56).
#[derive(Clone, Copy)]
pub(super) struct BoolSeed;

seed_is_visitor!(BoolSeed => Option<bool>, deserialize_any);

impl<'de> Visitor<'de> for BoolSeed {
    type Value = Option<bool>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean or \"true\"/\"false\"")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.trim().eq_ignore_ascii_case("true")))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A status: exact-case match in JSON; anything else is `UNKNOWN` when reading responses
/// (W-52) and kept as text for the register validation (E-10 rule 8).
#[derive(Clone, Copy)]
pub(super) struct StatusSeed<'c>(pub(super) &'c Ctx);

seed_is_visitor!(StatusSeed<'_> => Option<RawStatus>, deserialize_any);

impl<'de> Visitor<'de> for StatusSeed<'_> {
    type Value = Option<RawStatus>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a status string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(match Status::parse(v) {
            Some(s) => RawStatus::Known(s),
            None if self.0.strict => RawStatus::Unknown(v.to_owned()),
            None => RawStatus::Known(Status::Unknown),
        }))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// An action type; unknown values are treated as absent (W-52).
#[derive(Clone, Copy)]
pub(super) struct ActionSeed;

seed_is_visitor!(ActionSeed => Option<ActionType>, deserialize_any);

impl<'de> Visitor<'de> for ActionSeed {
    type Value = Option<ActionType>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an action type string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(ActionType::parse(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}
