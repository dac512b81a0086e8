//! The Eureka data model: plain Rust types, no I/O.
//!
//! These types mirror the records that travel on the Eureka wire (see `codec` for the
//! byte-level formats): [`Applications`] holds [`Application`]s, which hold
//! [`InstanceInfo`]s. Everything here is independent of HTTP and of time sources.
//!
//! ```
//! use tower_eureka::model::{InstanceInfo, Status, Applications, Application};
//!
//! let orders = InstanceInfo::builder("orders")
//!     .host_name("orders-1.internal")
//!     .ip_addr("10.0.1.11")
//!     .port(8080)
//!     .build();
//! assert_eq!(orders.app, "ORDERS");
//! assert_eq!(orders.id(), "orders-1.internal:orders:8080");
//! assert_eq!(orders.status, Status::Up);
//!
//! let apps = Applications::from_instances([orders]);
//! assert_eq!(apps.compute_hashcode(), "UP_1_");
//! ```

mod builder;
#[cfg(any(feature = "server", feature = "client"))]
mod delta;
mod hash;
mod instance;
mod status;
mod text;
mod vip;

pub use self::builder::InstanceInfoBuilder;
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) use self::delta::{same_record, walk_delta, DeltaTarget};
pub use self::hash::{apps_hashcode, StatusCounts};
pub use self::instance::{
    Application, Applications, DataCenterInfo, DataCenterName, InstanceInfo, LeaseInfo, Metadata,
    PortWrapper, AMAZON_INFO_CLASS, DEFAULT_DATA_CENTER_INFO_CLASS,
};
pub use self::status::{ActionType, Status};
pub use self::text::{
    check_field, check_metadata_entry, find_non_xml_char, is_xml_char, InvalidText,
};
pub use self::vip::{carries_vip, vip_index, VipField, VipIndex, VipMatch};

/// Upper-cases an application name the way the registry does everywhere (R-02):
/// locale-independent Unicode simple upper-casing (ASCII `a-z` becomes `A-Z`).
pub fn normalize_app_name(name: &str) -> String {
    if name
        .bytes()
        .all(|b| !b.is_ascii_lowercase() && b.is_ascii())
    {
        name.to_owned()
    } else {
        name.to_uppercase()
    }
}
