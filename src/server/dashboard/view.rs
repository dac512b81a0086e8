//! [`View`]: what the dashboard shows, gathered once per request from the published
//! snapshot and what the registry and the cluster layer already compute. The HTML page
//! renders it and the JSON twin serializes it, so the two always agree.

use super::query::Query;
use crate::model::{InstanceInfo, Status};
use crate::registry::{RegistrySnapshot, SelfPreservationMode, SelfPreservationStatus};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// Java's banner while self-preservation is engaged.
pub(super) const EMERGENCY: &str = "EMERGENCY! EUREKA MAY BE INCORRECTLY CLAIMING INSTANCES ARE \
     UP WHEN THEY'RE NOT. RENEWALS ARE LESSER THAN THRESHOLD AND HENCE THE INSTANCES ARE NOT \
     BEING EXPIRED JUST TO BE SAFE.";
/// Java's banner while self-preservation is turned off.
pub(super) const TURNED_OFF: &str = "THE SELF PRESERVATION MODE IS TURNED OFF. THIS MAY NOT \
     PROTECT INSTANCE EXPIRY IN CASE OF NETWORK/OTHER PROBLEMS.";

/// Everything the dashboard shows.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct View<'a> {
    pub(super) server: ServerInfo,
    pub(super) self_preservation: Preservation,
    /// The cluster's peers; absent without a cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) replicas: Option<Replicas>,
    pub(super) registry: RegistrySummary<'a>,
    pub(super) filter: Filter,
    /// The applications of this page, sorted by name.
    pub(super) apps: Vec<AppView<'a>>,
}

/// General information about this server.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ServerInfo {
    pub(super) name: &'static str,
    pub(super) version: &'static str,
    /// Epoch ms.
    pub(super) start_time: u64,
    /// Epoch ms.
    pub(super) current_time: u64,
    pub(super) uptime_ms: u64,
    /// Resident memory of the process, where the platform tells (Linux).
    pub(super) rss_bytes: Option<u64>,
}

/// The self-preservation state, as the registry computes it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Preservation {
    /// `improved`, `legacy` or `disabled`.
    pub(super) mode: &'static str,
    pub(super) enabled: bool,
    /// Engaged: lease expiry is suspended.
    pub(super) engaged: bool,
    pub(super) lease_expiration_enabled: bool,
    /// Why it is on or off, in words.
    pub(super) reason: String,
    pub(super) renews_last_min: u64,
    pub(super) threshold: f64,
    pub(super) expected_renews_per_min: f64,
    pub(super) leases: usize,
    pub(super) protected_leases: usize,
    /// Java's warning banner, when one applies.
    pub(super) banner: Option<&'static str>,
}

/// The peers of the cluster and their health (P-45).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Replicas {
    /// The startup sync is over (registry reads are served, `/ready` is 200).
    pub(super) open_for_traffic: bool,
    pub(super) peers: Vec<Peer>,
}

/// One peer as the cluster layer reports it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Peer {
    pub(super) url: String,
    pub(super) healthy: bool,
    /// `open` or `closed`.
    pub(super) circuit: String,
    /// Epoch ms of the last successful request.
    pub(super) last_success: Option<u64>,
    pub(super) last_error: Option<String>,
    pub(super) queued: u64,
}

/// The whole registry at a glance.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RegistrySummary<'a> {
    pub(super) instances: usize,
    pub(super) apps: usize,
    pub(super) revision: u64,
    pub(super) apps_hashcode: &'a str,
    pub(super) status_counts: Vec<StatusCount>,
}

/// Instances of one status.
#[derive(Debug, Serialize)]
pub(super) struct StatusCount {
    pub(super) status: &'static str,
    pub(super) count: u64,
}

/// Instances in one zone.
#[derive(Debug, Serialize)]
pub(super) struct ZoneCount<'a> {
    pub(super) zone: &'a str,
    pub(super) count: usize,
}

/// The filter and the page that was asked for, and what matched.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Filter {
    pub(super) app: Option<String>,
    pub(super) page: usize,
    pub(super) pages: usize,
    pub(super) size: usize,
    pub(super) instances_per_app: usize,
    pub(super) matching_apps: usize,
    pub(super) matching_instances: usize,
}

/// One application: counts by status and zone, and its first instances.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AppView<'a> {
    pub(super) name: &'a str,
    pub(super) instance_count: usize,
    pub(super) counts: Vec<StatusCount>,
    pub(super) zones: Vec<ZoneCount<'a>>,
    /// The first `instances_per_app` instances, sorted by id.
    pub(super) instances: Vec<InstanceView<'a>>,
    /// How many more there are.
    pub(super) not_listed: usize,
}

/// One instance.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct InstanceView<'a> {
    pub(super) id: &'a str,
    pub(super) status: &'static str,
    /// The operator override, when there is one.
    pub(super) overridden_status: Option<&'static str>,
    pub(super) host_name: &'a str,
    pub(super) ip_addr: &'a str,
    /// The port, when enabled.
    pub(super) port: Option<u16>,
    /// The secure port, when enabled.
    pub(super) secure_port: Option<u16>,
    pub(super) zone: Option<&'a str>,
    pub(super) home_page_url: Option<&'a str>,
    pub(super) status_page_url: Option<&'a str>,
    pub(super) health_check_url: Option<&'a str>,
    /// Epoch ms of the last heartbeat (or the registration).
    pub(super) last_renewal: Option<u64>,
    #[serde(serialize_with = "pairs")]
    pub(super) metadata: Vec<(&'a str, &'a str)>,
}

/// The inputs of a [`View`] besides the snapshot.
#[derive(Debug)]
pub(super) struct Inputs {
    pub(super) self_preservation: SelfPreservationStatus,
    /// The replicator's `/status` section.
    pub(super) cluster: Option<Value>,
    pub(super) start_time: u64,
    pub(super) current_time: u64,
    pub(super) rss_bytes: Option<u64>,
}

// === impl View ===

impl<'a> View<'a> {
    /// The view of `snap` for `query`; `last_renewal` is left `None` (see
    /// [`keys`](Self::keys)).
    pub(super) fn build(snap: &'a RegistrySnapshot, query: &Query, inputs: Inputs) -> View<'a> {
        let matching: Vec<(&'a str, &'a [Arc<InstanceInfo>])> = snap
            .apps()
            .filter(|(name, _)| query.matches(name))
            .collect();
        let pages = matching.len().div_ceil(query.size).max(1);
        let page = query.page.min(pages);
        let apps = matching
            .iter()
            .skip((page - 1).saturating_mul(query.size))
            .take(query.size)
            .map(|(name, list)| AppView::build(name, list, query.per_app))
            .collect();
        let counts = snap.status_counts();
        View {
            server: ServerInfo {
                name: "tower-eureka",
                version: env!("CARGO_PKG_VERSION"),
                start_time: inputs.start_time,
                current_time: inputs.current_time,
                uptime_ms: inputs.current_time.saturating_sub(inputs.start_time),
                rss_bytes: inputs.rss_bytes,
            },
            self_preservation: Preservation::from_status(inputs.self_preservation),
            replicas: inputs.cluster.as_ref().map(Replicas::from_status),
            registry: RegistrySummary {
                instances: snap.len(),
                apps: snap.apps().len(),
                revision: snap.revision(),
                apps_hashcode: snap.hashcode(),
                status_counts: Status::ALL
                    .iter()
                    .map(|&s| StatusCount {
                        status: s.as_str(),
                        count: counts.get(s),
                    })
                    .filter(|c| c.count > 0)
                    .collect(),
            },
            filter: Filter {
                app: query.app.clone(),
                page,
                pages,
                size: query.size,
                instances_per_app: query.per_app,
                matching_apps: matching.len(),
                matching_instances: matching.iter().map(|(_, l)| l.len()).sum(),
            },
            apps,
        }
    }

    /// `(app, id)` of every listed instance, in order.
    pub(super) fn keys(&self) -> Vec<(&'a str, &'a str)> {
        self.apps
            .iter()
            .flat_map(|a| a.instances.iter().map(move |i| (a.name, i.id)))
            .collect()
    }

    /// Sets the listed instances' last renewals, in the order of [`keys`](Self::keys).
    pub(super) fn set_last_renewals(&mut self, renewals: Vec<Option<u64>>) {
        let listed = self.apps.iter_mut().flat_map(|a| a.instances.iter_mut());
        for (i, r) in listed.zip(renewals) {
            i.last_renewal = r;
        }
    }
}

impl<'a> AppView<'a> {
    fn build(name: &'a str, list: &'a [Arc<InstanceInfo>], per_app: usize) -> AppView<'a> {
        let mut by_status = [0u64; Status::ALL.len()];
        let mut zones: Vec<ZoneCount<'a>> = Vec::new();
        for inst in list {
            if let Some(n) = Status::ALL
                .iter()
                .position(|&s| s == inst.status)
                .and_then(|i| by_status.get_mut(i))
            {
                *n += 1;
            }
            if let Some(z) = zone(inst) {
                match zones.iter_mut().find(|c| c.zone == z) {
                    Some(c) => c.count += 1,
                    None => zones.push(ZoneCount { zone: z, count: 1 }),
                }
            }
        }
        zones.sort_by(|a, b| a.zone.cmp(b.zone));
        AppView {
            name,
            instance_count: list.len(),
            counts: Status::ALL
                .iter()
                .zip(by_status)
                .filter(|(_, n)| *n > 0)
                .map(|(s, count)| StatusCount {
                    status: s.as_str(),
                    count,
                })
                .collect(),
            zones,
            instances: list
                .iter()
                .take(per_app)
                .map(|i| InstanceView::build(i))
                .collect(),
            not_listed: list.len().saturating_sub(per_app),
        }
    }
}

impl<'a> InstanceView<'a> {
    fn build(i: &'a InstanceInfo) -> InstanceView<'a> {
        let url = |u: &'a Option<String>| u.as_deref().filter(|s| !s.is_empty());
        InstanceView {
            id: i.id(),
            status: i.status.as_str(),
            overridden_status: (i.overridden_status != Status::Unknown)
                .then(|| i.overridden_status.as_str()),
            host_name: &i.host_name,
            ip_addr: &i.ip_addr,
            port: i.port.enabled.then_some(i.port.port),
            secure_port: i.secure_port.enabled.then_some(i.secure_port.port),
            zone: zone(i),
            home_page_url: url(&i.home_page_url),
            status_page_url: url(&i.status_page_url),
            health_check_url: url(&i.health_check_url),
            last_renewal: None,
            metadata: i.metadata.iter().collect(),
        }
    }
}

/// The instance's zone as the client sees it ([`InstanceInfo::zone`], C-29), if not empty.
fn zone(i: &InstanceInfo) -> Option<&str> {
    i.zone().filter(|z| !z.is_empty())
}

impl Preservation {
    fn from_status(sp: SelfPreservationStatus) -> Preservation {
        let (mode, enabled) = match sp.mode {
            SelfPreservationMode::Improved => ("improved", true),
            SelfPreservationMode::Legacy => ("legacy", true),
            SelfPreservationMode::Disabled => ("disabled", false),
        };
        let banner = if sp.active {
            Some(EMERGENCY)
        } else if !enabled {
            Some(TURNED_OFF)
        } else {
            None
        };
        Preservation {
            mode,
            enabled,
            engaged: sp.active,
            lease_expiration_enabled: !sp.active,
            reason: sp.reason,
            renews_last_min: sp.renews_last_min,
            threshold: sp.threshold.max(0.0),
            expected_renews_per_min: sp.expected_renews_per_min,
            leases: sp.lease_count,
            protected_leases: sp.protected_count,
            banner,
        }
    }
}

impl Replicas {
    /// From the replicator's `/status` section (`peers`, `openForTraffic`).
    fn from_status(v: &Value) -> Replicas {
        let peers = v["peers"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|p| Peer {
                        url: p["url"].as_str().unwrap_or_default().to_owned(),
                        healthy: p["healthy"].as_bool().unwrap_or(false),
                        circuit: p["circuit"].as_str().unwrap_or("unknown").to_owned(),
                        last_success: p["lastSuccess"].as_u64(),
                        last_error: p["lastError"]
                            .as_str()
                            .filter(|e| !e.is_empty())
                            .map(str::to_owned),
                        queued: p["queued"].as_u64().unwrap_or(0),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Replicas {
            open_for_traffic: v["openForTraffic"].as_bool().unwrap_or(true),
            peers,
        }
    }
}

/// Key-value pairs as a JSON object, in order.
fn pairs<S: Serializer>(v: &[(&str, &str)], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(v.len()))?;
    for (k, val) in v {
        m.serialize_entry(k, val)?;
    }
    m.end()
}
