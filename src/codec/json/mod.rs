//! JSON: the legacy writer, the compact writer and the tolerant reader.
//!
//! Most callers want the format-independent functions of [`codec`](super). This module
//! adds the pieces that work on a *bare* InstanceInfo object (no `instance` wrapper), as
//! carried inside peer-replication payloads (P-11, P-13, P-15):
//!
//! ```
//! use tower_eureka::codec::json::{read_instance_object, write_instance_object, InstanceJson};
//! use tower_eureka::model::InstanceInfo;
//!
//! let inst = InstanceInfo::builder("orders").host_name("o1").build();
//! let mut bytes = Vec::new();
//! write_instance_object(&inst, &mut bytes);
//! assert_eq!(read_instance_object(&bytes).unwrap(), inst);
//!
//! // Inside a serde type:
//! #[derive(serde::Deserialize)]
//! struct Item { #[serde(rename = "instanceInfo")] instance_info: Option<InstanceJson> }
//! let item: Item = serde_json::from_slice(
//!     &[br#"{"instanceInfo":"#.as_slice(), &bytes, b"}"].concat()).unwrap();
//! assert_eq!(item.instance_info.unwrap().0, inst);
//! ```

/// A seed that is its own visitor: `deserialize` hands the seed to the deserializer as the
/// visitor, through the given `deserialize_*` entry (`any`, `map`, `str`, ...).
macro_rules! seed_is_visitor {
    ($ty:ty => $value:ty, $how:ident) => {
        impl<'de> DeserializeSeed<'de> for $ty {
            type Value = $value;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<$value, D::Error> {
                d.$how(self)
            }
        }
    };
}

/// The visitor methods that take any JSON scalar as text (W-56, W-82: numbers and
/// booleans as their text) and `null` as `None` (W-22), for a visitor whose value is
/// `Option<String>`: text fields and metadata values.
macro_rules! scalars_as_text {
    () => {
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
}

pub(crate) mod compact;
mod ctx;
mod metadata;
pub(crate) mod read;
mod scalar;
mod skip;
pub(crate) mod write;

pub use self::write::write_instance_object;

use super::DecodeError;
use crate::model::InstanceInfo;
use serde::{Deserialize, Deserializer};

/// Reads one bare InstanceInfo object (no `instance` wrapper) with the lenient reader
/// (W-20..W-82).
pub fn read_instance_object(bytes: &[u8]) -> Result<InstanceInfo, DecodeError> {
    read::read_instance_object(bytes)
}

/// An [`InstanceInfo`] that deserializes from a bare InstanceInfo JSON object with the
/// lenient reader, for use as a field of other serde types (replication items).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceJson(pub InstanceInfo);

impl<'de> Deserialize<'de> for InstanceJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read::deserialize_instance(d).map(InstanceJson)
    }
}
