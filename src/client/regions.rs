//! Remote regions on the client (C-71): which regions' registries it asks for, and which
//! region each fetched instance belongs to.
//!
//! With [`fetch_remote_regions_registry`](super::EurekaClientBuilder::fetch_remote_regions_registry)
//! the client adds `?regions=r1,r2` to its full and delta fetches; the server merges those
//! regions' instances into its answer (R-130). The client keeps one copy of everything it
//! fetched and reconciles the hash over all of it (C-22), so nothing is fetched again in
//! full because of the remote instances. Each instance belongs to the region its zone maps
//! to ([`region_zones`](super::EurekaClientBuilder::region_zones)); an instance whose zone
//! is not mapped is local, as Java's `InstanceRegionChecker` treats an instance of unknown
//! region. [`ClientSnapshot::region_of`](super::ClientSnapshot::region_of) tells which, and a
//! [`EurekaDiscover`](crate::discover::EurekaDiscover) sends to local instances only unless
//! it is told to include regions.
//!
//! Java reads an instance's region only from an Amazon `availability-zone`, so with
//! `MyOwn` data centers its client counts remote instances as local; here the zone is the
//! one of C-29 (Amazon `availability-zone`, else metadata `zone`, what Spring writes).

use crate::model::InstanceInfo;
use std::collections::HashMap;

/// Zone (lower-case) -> remote region (lower-case).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ZoneRegions {
    zones: HashMap<String, String>,
}

impl ZoneRegions {
    /// Maps each of `zones` to `region`; a zone given twice keeps its last region.
    pub(crate) fn add(&mut self, region: &str, zones: impl IntoIterator<Item = String>) {
        let region = region.trim().to_ascii_lowercase();
        for z in zones {
            self.zones
                .insert(z.trim().to_ascii_lowercase(), region.clone());
        }
    }

    /// The remote region `inst` belongs to, `None` for local.
    pub(crate) fn region_of(&self, inst: &InstanceInfo) -> Option<&str> {
        if self.zones.is_empty() {
            return None;
        }
        let zone = inst.zone()?.to_ascii_lowercase();
        self.zones.get(&zone).map(String::as_str)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }
}

/// The `regions` query value: lower-case, sorted, no repeats, comma-separated.
pub(crate) fn query_value(regions: &[String]) -> Option<String> {
    let mut r: Vec<String> = regions
        .iter()
        .map(|r| r.trim().to_ascii_lowercase())
        .filter(|r| !r.is_empty())
        .collect();
    r.sort();
    r.dedup();
    (!r.is_empty()).then(|| r.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c71_regions_by_zone_and_the_query_value() {
        let mut m = ZoneRegions::default();
        m.add(
            "US-West",
            ["us-west-1a".to_owned(), "us-west-1b".to_owned()],
        );
        let inst = |zone: &str| InstanceInfo::builder("a").metadata("zone", zone).build();
        assert_eq!(m.region_of(&inst("US-WEST-1A")), Some("us-west"));
        assert_eq!(
            m.region_of(&inst("us-east-1a")),
            None,
            "unmapped zone: local"
        );
        assert_eq!(m.region_of(&InstanceInfo::builder("a").build()), None);
        assert_eq!(
            query_value(&["b".into(), " A".into(), "b".into()]).as_deref(),
            Some("a,b")
        );
        assert_eq!(query_value(&[]), None);
    }
}
