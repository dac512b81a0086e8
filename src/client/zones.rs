//! Own-zone-first ordering of the server URLs (C-40, C-70), as Java's
//! `EndpointUtils.getServiceUrlsMapFromConfig` orders them.
//!
//! The configuration is Spring's: a region (`eureka.client.region`, default `us-east-1`),
//! the availability zones of each region (`eureka.client.availability-zones.<region>`), the
//! server URLs of each zone (`eureka.client.service-url.<zone>`, with `defaultZone` as the
//! fallback of a zone that has none) and `eureka.client.prefer-same-zone-eureka` (default
//! true). The result is a list of zone groups: the own zone's URLs first, then the other
//! zones in their configured order, wrapping around from the own zone. The selector
//! shuffles within each group (C-40) and keeps the groups in this order. (Java's newer
//! `ZoneAffinityClusterResolver` shuffles the other zones' servers together; keeping the
//! configured zone order lets a deployment list its nearest zones first.) Pure: no I/O.

/// Spring's and Java's name of the fallback zone.
pub(crate) const DEFAULT_ZONE: &str = "defaultZone";

/// Java's default region (`eureka.region`).
pub(crate) const DEFAULT_REGION: &str = "us-east-1";

/// The zone settings of the builder; the plain URL list of
/// [`EurekaClient::builder`](super::EurekaClient::builder) is the `defaultZone` entry.
#[derive(Debug, Clone)]
pub(crate) struct ZoneConfig {
    pub(crate) region: String,
    /// `region -> zones`, in the order given.
    pub(crate) availability_zones: Vec<(String, Vec<String>)>,
    /// `zone -> URLs`, in the order given (a zone given twice gets both lists).
    pub(crate) service_urls: Vec<(String, Vec<String>)>,
    pub(crate) prefer_same_zone: bool,
}

impl Default for ZoneConfig {
    fn default() -> Self {
        ZoneConfig {
            region: DEFAULT_REGION.to_owned(),
            availability_zones: Vec::new(),
            service_urls: Vec::new(),
            prefer_same_zone: true,
        }
    }
}

/// One zone's servers, in configured order (the selector shuffles them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZoneGroup {
    pub(crate) zone: String,
    pub(crate) urls: Vec<String>,
}

impl ZoneConfig {
    /// The availability zones of the configured region: the list given for it; else the
    /// zones that have URLs of their own, in the order given (Java would ignore those and
    /// use only `defaultZone`; a Rust builder call that names a zone means it); else
    /// `[defaultZone]` (Java's fallback).
    pub(crate) fn zones(&self) -> Vec<&str> {
        let listed: Vec<&str> = self
            .availability_zones
            .iter()
            .filter(|(r, _)| r.eq_ignore_ascii_case(&self.region))
            .flat_map(|(_, zones)| zones.iter())
            .map(|z| z.trim())
            .filter(|z| !z.is_empty())
            .collect();
        if !listed.is_empty() {
            return listed;
        }
        let mut with_urls: Vec<&str> = Vec::new();
        for (zone, urls) in &self.service_urls {
            let zone = zone.trim();
            if zone != DEFAULT_ZONE && !urls.is_empty() && !with_urls.contains(&zone) {
                with_urls.push(zone);
            }
        }
        if with_urls.is_empty() {
            vec![DEFAULT_ZONE]
        } else {
            with_urls
        }
    }

    /// The client's own zone (C-29, C-70): the instance's zone (Amazon
    /// `availability-zone`, else metadata `zone`), else the first availability zone (Java's
    /// `InstanceInfo.getZone`).
    pub(crate) fn own_zone<'a>(&'a self, instance_zone: Option<&'a str>) -> String {
        match instance_zone.map(str::trim).filter(|z| !z.is_empty()) {
            Some(z) => z.to_owned(),
            None => self
                .zones()
                .first()
                .copied()
                .unwrap_or(DEFAULT_ZONE)
                .to_owned(),
        }
    }

    /// The URLs of `zone`: its own, else `defaultZone`'s (Spring's
    /// `getEurekaServerServiceUrls`). `defaults` are the plain list of the builder.
    fn urls_of<'a>(&'a self, zone: &str, defaults: &'a [String]) -> Vec<&'a str> {
        let of = |name: &str| -> Vec<&'a str> {
            self.service_urls
                .iter()
                .filter(|(z, _)| z.trim() == name)
                .flat_map(|(_, urls)| urls.iter())
                .map(String::as_str)
                .collect()
        };
        let own = if zone == DEFAULT_ZONE {
            Vec::new()
        } else {
            of(zone)
        };
        if !own.is_empty() {
            return own;
        }
        defaults
            .iter()
            .map(String::as_str)
            .chain(of(DEFAULT_ZONE))
            .collect()
    }

    /// The zone groups in failover order (C-40): the zone at Java's `getZoneOffset` first
    /// (the own zone when `prefer_same_zone`, else the first other zone; an own zone that
    /// is not among the availability zones gives the first one), then every other zone in
    /// configured order, wrapping around. A URL listed under two zones stays in the first
    /// group only; zones without URLs are left out.
    pub(crate) fn ordered(
        &self,
        defaults: &[String],
        instance_zone: Option<&str>,
    ) -> Vec<ZoneGroup> {
        let zones = self.zones();
        let own = self.own_zone(instance_zone);
        let start = zones
            .iter()
            .position(|z| z.eq_ignore_ascii_case(&own) == self.prefer_same_zone)
            .unwrap_or(0);
        let mut seen: Vec<&str> = Vec::new();
        let mut groups = Vec::with_capacity(zones.len());
        for k in 0..zones.len() {
            let zone = zones[(start + k) % zones.len()];
            let urls: Vec<String> = self
                .urls_of(zone, defaults)
                .into_iter()
                .filter(|u| {
                    let key = u.trim();
                    let new = !seen.contains(&key);
                    if new {
                        seen.push(key);
                    }
                    new
                })
                .map(str::to_owned)
                .collect();
            if !urls.is_empty() {
                groups.push(ZoneGroup {
                    zone: zone.to_owned(),
                    urls,
                });
            }
        }
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    fn cfg(zones: &[&str], urls: &[(&str, &[&str])]) -> ZoneConfig {
        ZoneConfig {
            availability_zones: if zones.is_empty() {
                Vec::new()
            } else {
                vec![(DEFAULT_REGION.to_owned(), s(zones))]
            },
            service_urls: urls.iter().map(|(z, u)| ((*z).to_owned(), s(u))).collect(),
            ..ZoneConfig::default()
        }
    }

    fn order(c: &ZoneConfig, defaults: &[&str], me: Option<&str>) -> Vec<(String, Vec<String>)> {
        c.ordered(&s(defaults), me)
            .into_iter()
            .map(|g| (g.zone, g.urls))
            .collect()
    }

    fn g(zone: &str, urls: &[&str]) -> (String, Vec<String>) {
        (zone.to_owned(), s(urls))
    }

    const THREE: &[(&str, &[&str])] = &[
        ("z1", &["http://a1", "http://a2"]),
        ("z2", &["http://b1"]),
        ("z3", &["http://c1"]),
    ];

    #[test]
    fn c40_c70_own_zone_first_then_the_others_wrapping_around() {
        let c = cfg(&["z1", "z2", "z3"], THREE);
        assert_eq!(
            order(&c, &[], Some("z2")),
            vec![
                g("z2", &["http://b1"]),
                g("z3", &["http://c1"]),
                g("z1", &["http://a1", "http://a2"])
            ]
        );
        assert_eq!(
            order(&c, &[], Some("z3")),
            vec![
                g("z3", &["http://c1"]),
                g("z1", &["http://a1", "http://a2"]),
                g("z2", &["http://b1"])
            ]
        );
        // Zones compare case-insensitively and trimmed, as Java's getZoneOffset does.
        assert_eq!(order(&c, &[], Some(" Z3 "))[0].0, "z3");
    }

    #[test]
    fn c29_c70_own_zone_defaults_to_the_first_availability_zone() {
        let c = cfg(&["z2", "z3", "z1"], THREE);
        assert_eq!(c.own_zone(None), "z2");
        let o = order(&c, &[], None);
        assert_eq!(o[0], g("z2", &["http://b1"]));
        assert_eq!(o[1].0, "z3");
        // An own zone that is not an availability zone: the first one (Java's fallback).
        let o = order(&c, &[], Some("elsewhere"));
        assert_eq!(
            o.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(),
            ["z2", "z3", "z1"]
        );
    }

    #[test]
    fn c40_prefer_same_zone_off_starts_at_the_first_other_zone() {
        let mut c = cfg(&["z1", "z2", "z3"], THREE);
        c.prefer_same_zone = false;
        let zones = |me| {
            order(&c, &[], Some(me))
                .into_iter()
                .map(|x| x.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(zones("z1"), ["z2", "z3", "z1"]);
        assert_eq!(zones("z2"), ["z1", "z2", "z3"]);
    }

    #[test]
    fn c70_a_zone_without_urls_uses_default_zone_and_duplicates_are_dropped() {
        let c = cfg(&["z1", "z2"], &[("z2", &["http://b1"])]);
        // z1 has none: defaultZone's (the plain list), as Spring falls back.
        assert_eq!(
            order(&c, &["http://d1"], Some("z1")),
            vec![g("z1", &["http://d1"]), g("z2", &["http://b1"])]
        );
        // Both zones fall back to the same URLs: listed once, in the first group.
        let c = cfg(&["z1", "z2"], &[]);
        assert_eq!(
            order(&c, &["http://d1", "http://d2"], Some("z2")),
            vec![g("z2", &["http://d1", "http://d2"])]
        );
        // `service_urls("defaultZone", ..)` adds to the plain list.
        let c = cfg(&[], &[(DEFAULT_ZONE, &["http://d2"])]);
        assert_eq!(
            order(&c, &["http://d1"], None),
            vec![g(DEFAULT_ZONE, &["http://d1", "http://d2"])]
        );
    }

    #[test]
    fn c70_without_availability_zones_the_plain_list_or_the_zones_given() {
        // Only the plain list: one group, as before this feature.
        let c = ZoneConfig::default();
        assert_eq!(
            order(&c, &["http://a", "http://b"], Some("z9")),
            vec![g(DEFAULT_ZONE, &["http://a", "http://b"])]
        );
        // Zones given URLs but no availability-zone list: those zones, in the order given.
        let c = cfg(&[], THREE);
        assert_eq!(c.zones(), ["z1", "z2", "z3"]);
        assert_eq!(order(&c, &[], Some("z3"))[0].0, "z3");
        // Another region's list does not count.
        let mut c = cfg(&[], THREE);
        c.availability_zones = vec![("eu-west-1".into(), s(&["z3", "z2"]))];
        assert_eq!(c.zones(), ["z1", "z2", "z3"]);
        c.region = "EU-WEST-1".into();
        assert_eq!(c.zones(), ["z3", "z2"]);
        // Only the listed zones are used: z1's URLs are not (Java's rule).
        assert_eq!(
            order(&c, &[], None),
            vec![g("z3", &["http://c1"]), g("z2", &["http://b1"])]
        );
    }
}
