//! The InstanceInfo wire fields, said once: the table both readers dispatch on.
//!
//! Each entry names a field as JSON spells it (W-14) and as XML spells it (W-72: only
//! `overriddenstatus` differs), and says which kind of value it holds and where in a
//! [`RawInstance`] it goes. The JSON and XML readers look a key up here and then handle
//! each *kind* once (text, integer, status, port, ...), instead of each field once per
//! reader. Both spellings of the override are accepted in both encodings (W-51).

use super::raw::{RawInstance, RawPort, RawStatus};

/// Where a field's value goes, by kind.
#[derive(Clone, Copy)]
pub(crate) enum Slot {
    /// A string.
    Text(fn(&mut RawInstance) -> &mut Option<String>),
    /// An integer (a timestamp).
    Int(fn(&mut RawInstance) -> &mut Option<i64>),
    /// A status (the five, or unknown text).
    Status(fn(&mut RawInstance) -> &mut Option<RawStatus>),
    /// A port wrapper; `secure` decides the XML default of `enabled` (W-76).
    Port {
        slot: fn(&mut RawInstance) -> &mut Option<RawPort>,
        secure: bool,
    },
    /// `countryId` (an `i32`).
    CountryId,
    /// `dataCenterInfo`.
    DataCenterInfo,
    /// `leaseInfo`.
    LeaseInfo,
    /// `metadata`.
    Metadata,
    /// `isCoordinatingDiscoveryServer`.
    Flag,
    /// `actionType`.
    ActionType,
}

/// One InstanceInfo field.
pub(crate) struct Field {
    /// The JSON key (W-14).
    pub(crate) json: &'static str,
    /// The XML element name (W-72).
    pub(crate) xml: &'static str,
    pub(crate) slot: Slot,
}

/// Defines each field once, the table of all of them, and the lookup by name.
macro_rules! fields {
    ($($name:ident: $json:literal / $xml:literal => $slot:expr,)*) => {
        $(static $name: Field = Field { json: $json, xml: $xml, slot: $slot };)*

        /// Every field, in the order of W-14.
        #[cfg(test)]
        pub(crate) static INSTANCE_FIELDS: &[&Field] = &[$(&$name),*];

        /// The field a key or element name stands for (either spelling of the override,
        /// W-51). A `match`, not a scan of the table: it runs once per key of every
        /// record read.
        #[allow(unreachable_patterns)] // `"a" | "a"` where both spellings agree
        pub(crate) fn instance_field(name: &str) -> Option<&'static Field> {
            match name {
                $($json | $xml => Some(&$name),)*
                _ => None,
            }
        }
    };
}

fields! {
    INSTANCE_ID: "instanceId" / "instanceId" => Slot::Text(|r| &mut r.instance_id),
    HOST_NAME: "hostName" / "hostName" => Slot::Text(|r| &mut r.host_name),
    APP: "app" / "app" => Slot::Text(|r| &mut r.app),
    IP_ADDR: "ipAddr" / "ipAddr" => Slot::Text(|r| &mut r.ip_addr),
    SID: "sid" / "sid" => Slot::Text(|r| &mut r.sid),
    STATUS: "status" / "status" => Slot::Status(|r| &mut r.status),
    OVERRIDDEN_STATUS: "overriddenStatus" / "overriddenstatus" => Slot::Status(|r| &mut r.overridden_status),
    PORT: "port" / "port" => Slot::Port { slot: |r| &mut r.port, secure: false },
    SECURE_PORT: "securePort" / "securePort" => Slot::Port { slot: |r| &mut r.secure_port, secure: true },
    COUNTRY_ID: "countryId" / "countryId" => Slot::CountryId,
    DATA_CENTER_INFO: "dataCenterInfo" / "dataCenterInfo" => Slot::DataCenterInfo,
    LEASE_INFO: "leaseInfo" / "leaseInfo" => Slot::LeaseInfo,
    METADATA: "metadata" / "metadata" => Slot::Metadata,
    APP_GROUP_NAME: "appGroupName" / "appGroupName" => Slot::Text(|r| &mut r.app_group_name),
    HOME_PAGE_URL: "homePageUrl" / "homePageUrl" => Slot::Text(|r| &mut r.home_page_url),
    STATUS_PAGE_URL: "statusPageUrl" / "statusPageUrl" => Slot::Text(|r| &mut r.status_page_url),
    HEALTH_CHECK_URL: "healthCheckUrl" / "healthCheckUrl" => Slot::Text(|r| &mut r.health_check_url),
    SECURE_HEALTH_CHECK_URL: "secureHealthCheckUrl" / "secureHealthCheckUrl" => Slot::Text(|r| &mut r.secure_health_check_url),
    VIP_ADDRESS: "vipAddress" / "vipAddress" => Slot::Text(|r| &mut r.vip_address),
    SECURE_VIP_ADDRESS: "secureVipAddress" / "secureVipAddress" => Slot::Text(|r| &mut r.secure_vip_address),
    IS_COORDINATING: "isCoordinatingDiscoveryServer" / "isCoordinatingDiscoveryServer" => Slot::Flag,
    LAST_UPDATED: "lastUpdatedTimestamp" / "lastUpdatedTimestamp" => Slot::Int(|r| &mut r.last_updated_timestamp),
    LAST_DIRTY: "lastDirtyTimestamp" / "lastDirtyTimestamp" => Slot::Int(|r| &mut r.last_dirty_timestamp),
    ACTION_TYPE: "actionType" / "actionType" => Slot::ActionType,
    ASG_NAME: "asgName" / "asgName" => Slot::Text(|r| &mut r.asg_name),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w14_w51_every_field_is_found_by_both_spellings() {
        for f in INSTANCE_FIELDS {
            assert!(
                std::ptr::eq(instance_field(f.json).unwrap(), *f),
                "{}",
                f.json
            );
            assert!(
                std::ptr::eq(instance_field(f.xml).unwrap(), *f),
                "{}",
                f.xml
            );
        }
        assert!(instance_field("unknownKey").is_none());
    }

    // The writers emit exactly the table's fields (W-14, W-71): a field added to one side
    // only fails here.
    #[test]
    fn w14_the_writers_emit_exactly_the_table() {
        use crate::codec::{encode_instance, Format};
        use crate::model::{ActionType, InstanceInfo, Status};
        let mut i = InstanceInfo::builder("orders")
            .host_name("h")
            .metadata("k", "v")
            .build();
        i.sid = Some("s".into());
        i.overridden_status = Status::OutOfService;
        i.app_group_name = Some("G".into());
        i.home_page_url = Some("u".into());
        i.status_page_url = Some("u".into());
        i.health_check_url = Some("u".into());
        i.secure_health_check_url = Some("u".into());
        i.vip_address = Some("v".into());
        i.secure_vip_address = Some("v".into());
        i.action_type = Some(ActionType::Added);
        i.asg_name = Some("a".into());
        let mut json = Vec::new();
        encode_instance(&i, Format::Json, &mut json);
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let mut written: Vec<&str> = v["instance"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut table: Vec<&str> = INSTANCE_FIELDS.iter().map(|f| f.json).collect();
        written.sort_unstable();
        table.sort_unstable();
        assert_eq!(written, table);
        let mut xml = Vec::new();
        encode_instance(&i, Format::Xml, &mut xml);
        let xml = String::from_utf8(xml).unwrap();
        for f in INSTANCE_FIELDS {
            assert!(
                xml.contains(&format!("\n  <{}", f.xml)),
                "<{}> not written",
                f.xml
            );
        }
    }
}
