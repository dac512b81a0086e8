//! Metadata maps in the tolerant JSON reader (W-40..W-42): string values, numbers and
//! booleans as their text, the Jettison `@class` marker dropped, and nested values refused
//! in register bodies (W-42) or skipped elsewhere.

use super::super::error::Seg;
use super::super::raw::EMPTY_MAP_CLASS;
use super::ctx::Ctx;
use super::skip::Skip;
use crate::model::Metadata;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

#[derive(Clone, Copy)]
pub(super) struct MetaSeed<'c>(pub(super) &'c Ctx);

seed_is_visitor!(MetaSeed<'_> => Option<Metadata>, deserialize_any);

impl<'de> Visitor<'de> for MetaSeed<'_> {
    type Value = Option<Metadata>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a metadata object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let ctx = self.0;
        Metadata::build_exact(|m| {
            while let Some(key) = map.next_key::<String>()? {
                if key == "@class" {
                    // W-41: always dropped (the EmptyMap marker, or any other class).
                    map.next_value::<Skip>()?;
                    continue;
                }
                let v = match map.next_value_seed(MetaValueSeed(ctx.strict)) {
                    Ok(v) => v,
                    Err(e) => {
                        ctx.trace.push(Seg::Name(key));
                        return Err(e);
                    }
                };
                if let Some(v) = v {
                    // W-41: a `class` key (from XML) is dropped only when it is the marker.
                    if key == "class" && v == EMPTY_MAP_CLASS {
                        continue;
                    }
                    m.insert(key, v);
                }
            }
            Ok(())
        })
        .map(Some)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A metadata value: any scalar as text (W-42); `null` skips the entry; a nested object or
/// array is an error in register bodies and skipped otherwise.
struct MetaValueSeed(bool);

seed_is_visitor!(MetaValueSeed => Option<String>, deserialize_any);

impl<'de> Visitor<'de> for MetaValueSeed {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number or boolean metadata value")
    }
    scalars_as_text!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        if self.0 {
            return Err(de::Error::custom(
                "metadata values must be strings, not objects (W-42)",
            ));
        }
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if self.0 {
            return Err(de::Error::custom(
                "metadata values must be strings, not arrays (W-42)",
            ));
        }
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(None)
    }
}
