//! Reading a replication batch (P-11, P-12, P-14) in two passes over the body, building no
//! JSON tree:
//!
//! 1. [`Checked`] reads the whole document as `serde_json` reads any value, borrowing
//!    every string and number, so a batch is refused (400) exactly when it is not JSON;
//! 2. [`BatchDoc`] picks out the fields of each item, keeping `instanceInfo` as the raw
//!    bytes it arrived in.
//!
//! Lookups follow JSON-object semantics, as when the receiver read a `serde_json::Value`:
//! unknown keys are ignored (P-14), the last of a repeated key wins, and a value of the
//! wrong type reads as absent.

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

const NOT_A_LIST: &str = "body is not a ReplicationList (missing replicationList array)";

/// The items of a batch, in order; `Err` carries the 400 reason for the whole batch.
pub(super) fn items(body: &[u8]) -> Result<Vec<ItemDoc<'_>>, String> {
    let not_json = |e: serde_json::Error| format!("cannot parse replication batch: {e}");
    serde_json::from_slice::<Checked>(body).map_err(not_json)?;
    let doc: BatchDoc<'_> = serde_json::from_slice(body).map_err(not_json)?;
    doc.list.ok_or_else(|| NOT_A_LIST.to_owned())
}

/// Visitor methods that read every scalar (boolean, number, string, null) as `$value`.
macro_rules! scalars_are {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

// === the JSON check (pass 1) ===

/// Any JSON value, read to the end and dropped: strings are unescaped and numbers parsed as
/// `serde_json` does for a `Value`, so a lone surrogate escape or an out-of-range number
/// anywhere is an error, as it was when the receiver built a `Value` (skipping with
/// `IgnoredAny`, or into a `RawValue`, lets those pass).
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    scalars_are!(Checked);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_key::<Checked>()?.is_some() {
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

// === the batch fields (pass 2) ===

/// `{"replicationList": [...]}`; `list` is `None` when the body is not an object or its
/// `replicationList` is not an array.
struct BatchDoc<'a> {
    list: Option<Vec<ItemDoc<'a>>>,
}

/// The fields of one item that the receiver reads; a field whose value has the wrong type
/// is `None`, and an item that is not an object has no fields.
#[derive(Debug, Default)]
pub(super) struct ItemDoc<'a> {
    /// `action`, when a string.
    pub(super) action: Option<String>,
    /// `appName`, when a string.
    pub(super) app_name: Option<String>,
    /// `id`, when a string.
    pub(super) id: Option<String>,
    /// `lastDirtyTimestamp`: a non-negative integer that fits a Java long, or a string
    /// holding one.
    pub(super) last_dirty: Option<u64>,
    /// `status`, when a string.
    pub(super) status: Option<String>,
    /// `overriddenStatus`, when a string.
    pub(super) overridden: Option<String>,
    /// `instanceInfo`, any JSON value, as it arrived.
    pub(super) instance: Option<&'a RawValue>,
}

impl<'de: 'a, 'a> Deserialize<'de> for BatchDoc<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BatchVisitor)
    }
}

struct BatchVisitor;

impl<'de> Visitor<'de> for BatchVisitor {
    type Value = BatchDoc<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a ReplicationList")
    }
    scalars_are!(BatchDoc { list: None });
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(BatchDoc { list: None })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut list = None;
        while let Some(Name(key)) = map.next_key()? {
            if key == "replicationList" {
                list = map.next_value::<ListDoc<'de>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(BatchDoc { list })
    }
}

/// The `replicationList` value: `Some` items when it is an array.
struct ListDoc<'a>(Option<Vec<ItemDoc<'a>>>);

impl<'de: 'a, 'a> Deserialize<'de> for ListDoc<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor)
    }
}

struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = ListDoc<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of ReplicationInstance")
    }
    scalars_are!(ListDoc(None));
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element::<ItemDoc<'de>>()? {
            items.push(item);
        }
        Ok(ListDoc(Some(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_map(map)?;
        Ok(ListDoc(None))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ItemDoc<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemVisitor)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = ItemDoc<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a ReplicationInstance")
    }
    scalars_are!(ItemDoc::default());
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(ItemDoc::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut item = ItemDoc::default();
        while let Some(Name(key)) = map.next_key()? {
            match &*key {
                "action" => item.action = map.next_value::<Field>()?.into_string(),
                "appName" => item.app_name = map.next_value::<Field>()?.into_string(),
                "id" => item.id = map.next_value::<Field>()?.into_string(),
                "status" => item.status = map.next_value::<Field>()?.into_string(),
                "overriddenStatus" => item.overridden = map.next_value::<Field>()?.into_string(),
                "lastDirtyTimestamp" => {
                    let ts = match map.next_value::<Field>()? {
                        Field::Number(n) => Some(n),
                        Field::String(s) => s.parse().ok(),
                        Field::Other => None,
                    };
                    // Beyond a Java long is the wrong type too: stored, it would be
                    // served where no reader can read it back.
                    item.last_dirty = ts.filter(|&t| i64::try_from(t).is_ok());
                }
                "instanceInfo" => item.instance = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(item)
    }
}

/// An object key, borrowed unless it carries escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Name<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(NameVisitor)
    }
}

struct NameVisitor;

impl<'de> Visitor<'de> for NameVisitor {
    type Value = Name<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Name(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Name(Cow::Owned(v.to_owned())))
    }
}

/// An item field's value as the receiver reads it: a string, a non-negative integer, or
/// anything else.
enum Field {
    String(String),
    Number(u64),
    Other,
}

impl Field {
    fn into_string(self) -> Option<String> {
        match self {
            Field::String(s) => Some(s),
            Field::Number(_) | Field::Other => None,
        }
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Field, E> {
        Ok(Field::Other)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Field, E> {
        Ok(u64::try_from(v).map_or(Field::Other, Field::Number))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Field, E> {
        Ok(Field::Number(v))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Field, E> {
        Ok(Field::Other)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
        Ok(Field::String(v.to_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Field, E> {
        Ok(Field::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Field, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(Field::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Field, A::Error> {
        IgnoredAny.visit_map(map)?;
        Ok(Field::Other)
    }
}
