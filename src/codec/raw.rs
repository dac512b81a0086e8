//! The format-independent result of reading one InstanceInfo, before defaults are applied.
//!
//! Both readers (JSON and XML) fill a [`RawInstance`]: every field as found, `None` when it
//! was absent or `null` (W-22). From there, [`RawInstance::into_instance`] applies the
//! lenient reader's defaults (responses, W-20..W-82) and [`RawInstance::into_registered`]
//! runs the register validation of E-10 first.

use crate::model::{
    find_non_xml_char, normalize_app_name, ActionType, DataCenterInfo, DataCenterName,
    InstanceInfo, LeaseInfo, Metadata, PortWrapper, Status, AMAZON_INFO_CLASS,
    DEFAULT_DATA_CENTER_INFO_CLASS,
};

/// The non-secure port used when a body has no `port` object (legacy reader default, W-26).
pub(crate) const DEFAULT_PORT: u16 = 7001;
/// The secure port used when a body has no `securePort` object (legacy reader default, W-26).
pub(crate) const DEFAULT_SECURE_PORT: u16 = 7002;
/// The marker class of an empty metadata map (W-40, W-41).
pub(crate) const EMPTY_MAP_CLASS: &str = "java.util.Collections$EmptyMap";

/// A status as read: one of the five, or the unknown text (kept for E-10 rule 8).
#[derive(Debug)]
pub(crate) enum RawStatus {
    Known(Status),
    Unknown(String),
}

impl RawStatus {
    fn lenient(self) -> Status {
        match self {
            RawStatus::Known(s) => s,
            RawStatus::Unknown(_) => Status::Unknown,
        }
    }
}

/// A port wrapper as read.
#[derive(Debug, Default)]
pub(crate) struct RawPort {
    pub(crate) port: Option<u16>,
    pub(crate) enabled: Option<bool>,
}

impl RawPort {
    fn resolve(raw: Option<RawPort>, default_port: u16, default_enabled: bool) -> PortWrapper {
        match raw {
            None => PortWrapper {
                port: default_port,
                enabled: default_enabled,
            },
            Some(p) => PortWrapper {
                port: p.port.unwrap_or(default_port),
                enabled: p.enabled.unwrap_or(default_enabled),
            },
        }
    }
}

/// The `@class` of a data-center info as read.
#[derive(Debug)]
pub(crate) enum DciClass {
    Amazon,
    Default,
    Other(String),
}

impl DciClass {
    pub(crate) fn from_text(s: &str) -> DciClass {
        match s {
            AMAZON_INFO_CLASS => DciClass::Amazon,
            DEFAULT_DATA_CENTER_INFO_CLASS => DciClass::Default,
            other => DciClass::Other(other.to_owned()),
        }
    }
}

/// The `name` of a data-center info as read.
#[derive(Debug)]
pub(crate) enum RawName {
    Known(DataCenterName),
    Unknown(String),
}

/// A data-center info as read (W-32).
#[derive(Debug, Default)]
pub(crate) struct RawDci {
    pub(crate) class: Option<DciClass>,
    pub(crate) name: Option<RawName>,
    pub(crate) metadata: Option<Metadata>,
}

impl RawDci {
    /// The effective name: `@class` AmazonInfo wins; otherwise `name` decides (W-32).
    fn effective_name(&self) -> Option<DataCenterName> {
        if matches!(self.class, Some(DciClass::Amazon)) {
            return Some(DataCenterName::Amazon);
        }
        match &self.name {
            Some(RawName::Known(n)) => Some(*n),
            _ => None,
        }
    }

    /// Lenient resolution: unknown or missing names become `MyOwn` (W-52, client side).
    fn resolve(self) -> DataCenterInfo {
        let name = self.effective_name().unwrap_or(DataCenterName::MyOwn);
        let class = match self.class {
            Some(DciClass::Other(c)) => Some(c),
            _ => None,
        };
        let metadata = if name == DataCenterName::Amazon {
            self.metadata.unwrap_or_default()
        } else {
            Metadata::new()
        };
        DataCenterInfo {
            name,
            class,
            metadata,
        }
    }
}

/// A lease info as read; integers before range fixing.
#[derive(Debug, Default)]
pub(crate) struct RawLease {
    pub(crate) renewal_interval_in_secs: Option<i64>,
    pub(crate) duration_in_secs: Option<i64>,
    pub(crate) registration_timestamp: Option<i64>,
    pub(crate) last_renewal_timestamp: Option<i64>,
    pub(crate) eviction_timestamp: Option<i64>,
    pub(crate) service_up_timestamp: Option<i64>,
}

impl RawLease {
    /// W-28: values `<= 0` for the intervals become the defaults; missing timestamps are 0.
    fn resolve(self) -> LeaseInfo {
        let secs = |v: Option<i64>| -> u32 {
            match v {
                Some(v) if v > 0 => u32::try_from(v).unwrap_or(u32::MAX),
                _ => 0, // LeaseInfo::new maps 0 to the default
            }
        };
        let mut lease = LeaseInfo::new(
            secs(self.renewal_interval_in_secs),
            secs(self.duration_in_secs),
        );
        lease.registration_timestamp = timestamp(self.registration_timestamp);
        lease.last_renewal_timestamp = timestamp(self.last_renewal_timestamp);
        lease.eviction_timestamp = timestamp(self.eviction_timestamp);
        lease.service_up_timestamp = timestamp(self.service_up_timestamp);
        lease
    }
}

/// Negative timestamps (never sent by Java) read as 0.
fn timestamp(v: Option<i64>) -> u64 {
    v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

/// One InstanceInfo as read, before defaults (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct RawInstance {
    pub(crate) instance_id: Option<String>,
    pub(crate) host_name: Option<String>,
    pub(crate) app: Option<String>,
    pub(crate) ip_addr: Option<String>,
    pub(crate) sid: Option<String>,
    pub(crate) status: Option<RawStatus>,
    pub(crate) overridden_status: Option<RawStatus>,
    pub(crate) port: Option<RawPort>,
    pub(crate) secure_port: Option<RawPort>,
    pub(crate) country_id: Option<i32>,
    pub(crate) data_center_info: Option<RawDci>,
    pub(crate) lease_info: Option<RawLease>,
    pub(crate) metadata: Option<Metadata>,
    pub(crate) app_group_name: Option<String>,
    pub(crate) home_page_url: Option<String>,
    pub(crate) status_page_url: Option<String>,
    pub(crate) health_check_url: Option<String>,
    pub(crate) secure_health_check_url: Option<String>,
    pub(crate) vip_address: Option<String>,
    pub(crate) secure_vip_address: Option<String>,
    pub(crate) is_coordinating_discovery_server: Option<bool>,
    pub(crate) last_updated_timestamp: Option<i64>,
    pub(crate) last_dirty_timestamp: Option<i64>,
    pub(crate) action_type: Option<ActionType>,
    pub(crate) asg_name: Option<String>,
}

impl RawInstance {
    /// The lenient reader's record (W-20..W-82): unknown statuses are `UNKNOWN` (W-52),
    /// unknown data-center names `MyOwn`, missing ports 7001 enabled / 7002 disabled and a
    /// missing `@enabled` enabled for `port`, disabled for `securePort` (W-26, W-76), a
    /// missing status `UP` (the Java default), a missing override `UNKNOWN`, a missing
    /// country id 1, `sid` `na` as `None`; app names upper-cased.
    pub(crate) fn into_instance(self: Box<Self>) -> InstanceInfo {
        InstanceInfo {
            instance_id: self.instance_id,
            host_name: self.host_name.unwrap_or_default(),
            app: upper(self.app.unwrap_or_default()),
            ip_addr: self.ip_addr.unwrap_or_default(),
            sid: self.sid.filter(|s| s != "na"),
            status: self.status.map_or(Status::Up, RawStatus::lenient),
            overridden_status: self
                .overridden_status
                .map_or(Status::Unknown, RawStatus::lenient),
            port: RawPort::resolve(self.port, DEFAULT_PORT, true),
            secure_port: RawPort::resolve(self.secure_port, DEFAULT_SECURE_PORT, false),
            country_id: self.country_id.unwrap_or(1),
            data_center_info: self
                .data_center_info
                .map(RawDci::resolve)
                .unwrap_or_default(),
            lease_info: self.lease_info.map(RawLease::resolve).unwrap_or_default(),
            metadata: self.metadata.unwrap_or_default(),
            app_group_name: self.app_group_name.map(upper),
            home_page_url: self.home_page_url,
            status_page_url: self.status_page_url,
            health_check_url: self.health_check_url,
            secure_health_check_url: self.secure_health_check_url,
            vip_address: self.vip_address,
            secure_vip_address: self.secure_vip_address,
            is_coordinating_discovery_server: self
                .is_coordinating_discovery_server
                .unwrap_or(false),
            last_updated_timestamp: timestamp(self.last_updated_timestamp),
            last_dirty_timestamp: timestamp(self.last_dirty_timestamp),
            action_type: self.action_type,
            asg_name: self.asg_name,
        }
    }

    /// Runs the register validation (E-10, in table order, then this crate's extra rules:
    /// ids without `/` (E-03), metadata keys that are XML names (W-43)) and returns the
    /// record, with a blank Amazon `instance-id` back-filled (W-31).
    ///
    /// On failure the error is the exact plain-text 400 body.
    pub(crate) fn into_registered(
        self: Box<Self>,
        path_app: &str,
    ) -> Result<Box<InstanceInfo>, String> {
        let dci_name = self
            .data_center_info
            .as_ref()
            .and_then(RawDci::effective_name);
        // Rule 1: the derived id is blank.
        let amazon_id = match (&self.data_center_info, dci_name) {
            (Some(dci), Some(DataCenterName::Amazon)) => dci
                .metadata
                .as_ref()
                .and_then(|m| m.get("instance-id"))
                .filter(|s| !s.is_empty()),
            _ => None,
        };
        let derived_id = self
            .instance_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(amazon_id)
            .or(self.host_name.as_deref())
            .unwrap_or("");
        if is_blank(Some(derived_id)) {
            return Err("Missing instanceId".into());
        }
        // Rules 2..4.
        if is_blank(self.host_name.as_deref()) {
            return Err("Missing hostname".into());
        }
        if is_blank(self.ip_addr.as_deref()) {
            return Err("Missing ip address".into());
        }
        let body_app = match self.app.as_deref() {
            Some(a) if !is_blank(Some(a)) => a,
            _ => return Err("Missing appName".into()),
        };
        // Rule 5, compared upper-cased (both ASCII, the common case: without allocating).
        let same_app = if body_app.is_ascii() && path_app.is_ascii() {
            body_app.eq_ignore_ascii_case(path_app)
        } else {
            normalize_app_name(body_app) == normalize_app_name(path_app)
        };
        if !same_app {
            return Err(format!(
                "Mismatched appName, expecting {} but was {}",
                normalize_app_name(path_app),
                normalize_app_name(body_app)
            ));
        }
        // Rules 6, 7.
        let Some(dci) = &self.data_center_info else {
            return Err("Missing dataCenterInfo".into());
        };
        if dci_name.is_none() {
            return Err(match &dci.name {
                Some(RawName::Unknown(n)) => format!("Unknown dataCenterInfo Name {n}"),
                _ => "Missing dataCenterInfo Name".into(),
            });
        }
        // Rule 8 (this project's, stricter than Java).
        for st in [&self.status, &self.overridden_status]
            .into_iter()
            .flatten()
        {
            if let RawStatus::Unknown(x) = st {
                return Err(format!("Unknown status {x}"));
            }
        }
        // E-03: an id containing '/' can never be addressed.
        if derived_id.contains('/') {
            return Err(format!(
                "Invalid instanceId {derived_id}: must not contain '/'"
            ));
        }
        // W-43: metadata keys travel as XML element names.
        let keys = self
            .metadata
            .iter()
            .flat_map(Metadata::iter)
            .chain(dci.metadata.iter().flat_map(Metadata::iter))
            .map(|(k, _)| k);
        for key in keys {
            // A key XML cannot carry at all is refused by `decode_register`'s text rule,
            // with the character named.
            if !super::xml::is_encodable_key(key) && find_non_xml_char(key).is_none() {
                return Err(format!("Invalid metadata key \"{key}\""));
            }
        }
        // W-31: a blank Amazon instance-id is back-filled with the derived id (the record
        // keeps the Amazon metadata as read, see `RawDci::resolve`).
        let backfill = (dci_name == Some(DataCenterName::Amazon)
            && is_blank(dci.metadata.as_ref().and_then(|m| m.get("instance-id"))))
        .then(|| derived_id.to_owned());
        // Boxed: the record goes on to the registry as a pointer (see `RawInstSeed`).
        let mut inst = Box::new(self.into_instance());
        if let Some(id) = backfill {
            inst.data_center_info.metadata.insert("instance-id", id);
        }
        Ok(inst)
    }
}

/// "Blank" for E-10: absent, empty, or (this crate's choice) whitespace only.
fn is_blank(s: Option<&str>) -> bool {
    s.map_or(true, |s| s.trim().is_empty())
}

fn upper(s: String) -> String {
    if s.bytes().any(|b| b.is_ascii_lowercase() || !b.is_ascii()) {
        normalize_app_name(&s)
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> RawInstance {
        RawInstance {
            host_name: Some("h".into()),
            app: Some("orders".into()),
            ip_addr: Some("10.0.0.1".into()),
            data_center_info: Some(RawDci {
                class: None,
                name: Some(RawName::Known(DataCenterName::MyOwn)),
                metadata: None,
            }),
            ..RawInstance::default()
        }
    }

    #[test]
    fn e10_defaults_and_id_fallback() {
        let i = Box::new(valid()).into_registered("ORDERS").unwrap();
        assert_eq!(i.app, "ORDERS");
        assert_eq!(i.id(), "h");
        assert_eq!(i.status, Status::Up);
        assert_eq!(i.overridden_status, Status::Unknown);
        assert_eq!(i.port, PortWrapper::enabled(DEFAULT_PORT));
        assert_eq!(i.secure_port, PortWrapper::disabled(DEFAULT_SECURE_PORT));
        assert_eq!(i.country_id, 1);
        assert_eq!(i.last_dirty_timestamp, 0);
    }

    #[test]
    fn e10_rule_order() {
        let mut r = valid();
        r.status = Some(RawStatus::Unknown("X".into()));
        r.data_center_info = None;
        r.app = Some("other".into());
        assert_eq!(
            Box::new(r).into_registered("orders").unwrap_err(),
            "Mismatched appName, expecting ORDERS but was OTHER"
        );
        let mut r = valid();
        r.status = Some(RawStatus::Unknown("X".into()));
        r.data_center_info = None;
        assert_eq!(
            Box::new(r).into_registered("orders").unwrap_err(),
            "Missing dataCenterInfo"
        );
        let mut r = valid();
        r.overridden_status = Some(RawStatus::Unknown("X".into()));
        assert_eq!(
            Box::new(r).into_registered("orders").unwrap_err(),
            "Unknown status X"
        );
    }

    #[test]
    fn w32_amazon_class_beats_name_and_w28_lease_fixes() {
        let dci = RawDci {
            class: Some(DciClass::Amazon),
            name: Some(RawName::Known(DataCenterName::MyOwn)),
            metadata: Some([("instance-id", "i-1")].into_iter().collect()),
        };
        let resolved = dci.resolve();
        assert_eq!(resolved.name, DataCenterName::Amazon);
        assert_eq!(resolved.metadata.get("instance-id"), Some("i-1"));
        let lease = RawLease {
            renewal_interval_in_secs: Some(-1),
            duration_in_secs: Some(i64::MAX),
            eviction_timestamp: Some(-5),
            ..RawLease::default()
        }
        .resolve();
        assert_eq!(lease.renewal_interval_in_secs, 30);
        assert_eq!(lease.duration_in_secs, u32::MAX);
        assert_eq!(lease.eviction_timestamp, 0);
    }
}
