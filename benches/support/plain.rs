//! The plain `#[derive(Deserialize, Serialize)]` form of one InstanceInfo that the
//! baselines use: the same data as the crate's model, every field an owned value, read and
//! written by serde alone (the codec bench's JSON baseline, the load driver's "minimal
//! registry" server).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PInst {
    pub(crate) instance_id: String,
    pub(crate) host_name: String,
    pub(crate) app: String,
    pub(crate) ip_addr: String,
    pub(crate) status: String,
    pub(crate) overridden_status: String,
    pub(crate) port: PPort,
    pub(crate) secure_port: PPort,
    pub(crate) country_id: i32,
    pub(crate) data_center_info: PDci,
    pub(crate) lease_info: PLease,
    pub(crate) metadata: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) home_page_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status_page_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) health_check_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) vip_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) secure_vip_address: Option<String>,
    pub(crate) is_coordinating_discovery_server: String,
    pub(crate) last_updated_timestamp: String,
    pub(crate) last_dirty_timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) action_type: Option<String>,
}

#[derive(Serialize, Deserialize, Default)]
pub(crate) struct PPort {
    #[serde(rename = "$")]
    pub(crate) port: u16,
    #[serde(rename = "@enabled")]
    pub(crate) enabled: String,
}

#[derive(Serialize, Deserialize, Default)]
pub(crate) struct PDci {
    #[serde(rename = "@class")]
    pub(crate) class: String,
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) metadata: Option<BTreeMap<String, String>>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PLease {
    pub(crate) renewal_interval_in_secs: u32,
    pub(crate) duration_in_secs: u32,
    pub(crate) registration_timestamp: u64,
    pub(crate) last_renewal_timestamp: u64,
    pub(crate) eviction_timestamp: u64,
    pub(crate) service_up_timestamp: u64,
}
