//! Codec throughput against baselines in the same run (see BENCHMARKS.md, "Codec").
//!
//! * JSON: our hand-written legacy writer and streaming tolerant reader versus `serde_json`
//!   on a plain `#[derive(Serialize, Deserialize)]` struct holding the same data, over the
//!   same bytes.
//! * XML: our XStream writer and reader versus quick-xml's `Writer` writing the same
//!   elements from the plain struct, and a plain quick-xml event loop filling it.
//!
//! Run: `cargo bench --bench codec -- --warm-up-time 1 --measurement-time 3`
//!
//! Times are the benchmark thread's CPU time (`/proc/thread-self/schedstat`), not wall
//! time, so that other processes on a shared machine do not inflate one side of a ratio;
//! where that file is missing, wall time is used.

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use quick_xml::events::{BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::hint::black_box;
use tower_eureka::codec::{self, Accept, Format};
use tower_eureka::model::{Applications, DataCenterInfo, InstanceInfo, Status};

// === the clock ===

/// Nanoseconds this thread has spent on a CPU, when the kernel tells.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Thread CPU time in nanoseconds (wall time as a fallback), formatted like wall time.
struct ThreadCpu;

static WALL: WallTime = WallTime;

impl Measurement for ThreadCpu {
    type Intermediate = (Option<u64>, std::time::Instant);
    type Value = f64;

    fn start(&self) -> Self::Intermediate {
        (thread_cpu_ns(), std::time::Instant::now())
    }
    fn end(&self, (cpu0, wall0): Self::Intermediate) -> f64 {
        match (cpu0, thread_cpu_ns()) {
            (Some(a), Some(b)) => b.saturating_sub(a) as f64,
            _ => wall0.elapsed().as_nanos() as f64,
        }
    }
    fn add(&self, a: &f64, b: &f64) -> f64 {
        a + b
    }
    fn zero(&self) -> f64 {
        0.0
    }
    fn to_f64(&self, v: &f64) -> f64 {
        *v
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

// === the data ===

fn registry(n: usize) -> Applications {
    let instances = (0..n).map(|k| {
        let app = format!("service-{:03}", k % 50);
        let host = format!("{app}-{k}.prod.internal");
        let mut b = InstanceInfo::builder(&app)
            .host_name(&host)
            .ip_addr(format!(
                "10.{}.{}.{}",
                k / 65536 % 256,
                k / 256 % 256,
                k % 256
            ))
            .port(8080)
            .metadata("zone", format!("zone-{}", k % 3))
            .metadata("management.port", "8081")
            .last_dirty_timestamp(1_700_000_000_000 + k as u64);
        if k % 10 == 0 {
            b = b.data_center_info(DataCenterInfo::amazon(
                [
                    ("instance-id", format!("i-{k:012x}")),
                    ("availability-zone", "us-east-1a".to_owned()),
                    ("local-ipv4", "10.0.0.1".to_owned()),
                ]
                .into_iter()
                .collect(),
            ));
        }
        let mut i = b.build();
        i.status = if k % 17 == 0 {
            Status::Down
        } else {
            Status::Up
        };
        i.last_updated_timestamp = 1_700_000_000_500 + k as u64;
        i.lease_info.registration_timestamp = 1_700_000_000_000;
        i.lease_info.last_renewal_timestamp = 1_700_000_090_000;
        i.lease_info.service_up_timestamp = 1_700_000_000_000;
        i.action_type = Some(tower_eureka::model::ActionType::Added);
        i
    });
    Applications::from_instances(instances)
}

// === the plain baseline structs (same data, derived serde) ===

#[path = "support/plain.rs"]
mod plain;
use plain::{PDci, PInst, PLease, PPort};

#[derive(Serialize, Deserialize)]
struct PDoc {
    applications: PApps,
}

#[derive(Serialize, Deserialize, Default)]
struct PApps {
    #[serde(rename = "versions__delta")]
    versions_delta: String,
    #[serde(rename = "apps__hashcode")]
    apps_hashcode: String,
    application: Vec<PApp>,
}

#[derive(Serialize, Deserialize, Default)]
struct PApp {
    name: String,
    instance: Vec<PInst>,
}

fn plain(apps: &Applications) -> PDoc {
    let inst = |i: &InstanceInfo| PInst {
        instance_id: i.id().to_owned(),
        host_name: i.host_name.clone(),
        app: i.app.clone(),
        ip_addr: i.ip_addr.clone(),
        status: i.status.as_str().to_owned(),
        overridden_status: i.overridden_status.as_str().to_owned(),
        port: PPort {
            port: i.port.port,
            enabled: i.port.enabled.to_string(),
        },
        secure_port: PPort {
            port: i.secure_port.port,
            enabled: i.secure_port.enabled.to_string(),
        },
        country_id: i.country_id,
        data_center_info: PDci {
            class: i.data_center_info.name.class().to_owned(),
            name: i.data_center_info.name.as_str().to_owned(),
            metadata: (i.data_center_info.name == tower_eureka::model::DataCenterName::Amazon)
                .then(|| {
                    i.data_center_info
                        .metadata
                        .iter()
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect()
                }),
        },
        lease_info: PLease {
            renewal_interval_in_secs: i.lease_info.renewal_interval_in_secs,
            duration_in_secs: i.lease_info.duration_in_secs,
            registration_timestamp: i.lease_info.registration_timestamp,
            last_renewal_timestamp: i.lease_info.last_renewal_timestamp,
            eviction_timestamp: i.lease_info.eviction_timestamp,
            service_up_timestamp: i.lease_info.service_up_timestamp,
        },
        metadata: i
            .metadata
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        home_page_url: i.home_page_url.clone(),
        status_page_url: i.status_page_url.clone(),
        health_check_url: i.health_check_url.clone(),
        vip_address: i.vip_address.clone(),
        secure_vip_address: i.secure_vip_address.clone(),
        is_coordinating_discovery_server: i.is_coordinating_discovery_server.to_string(),
        last_updated_timestamp: i.last_updated_timestamp.to_string(),
        last_dirty_timestamp: i.last_dirty_timestamp.to_string(),
        action_type: i.action_type.map(|a| a.as_str().to_owned()),
    };
    PDoc {
        applications: PApps {
            versions_delta: apps.versions_delta.to_string(),
            apps_hashcode: apps.compute_hashcode(),
            application: apps
                .applications
                .iter()
                .map(|a| PApp {
                    name: a.name.clone(),
                    instance: a.instances.iter().map(inst).collect(),
                })
                .collect(),
        },
    }
}

// === quick-xml baseline: the same elements from the plain struct ===

type Xw = Writer<Vec<u8>>;

fn leaf(w: &mut Xw, name: &str, text: &str) {
    w.create_element(name)
        .write_text_content(BytesText::new(text))
        .expect("write");
}

fn xml_plain_write(doc: &PDoc, out: Vec<u8>) -> Vec<u8> {
    let mut w = Writer::new_with_indent(out, b' ', 2);
    let a = &doc.applications;
    w.create_element("applications")
        .write_inner_content(|w| {
            leaf(w, "versions__delta", &a.versions_delta);
            leaf(w, "apps__hashcode", &a.apps_hashcode);
            for app in &a.application {
                w.create_element("application").write_inner_content(|w| {
                    leaf(w, "name", &app.name);
                    for i in &app.instance {
                        xml_plain_instance(w, i);
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })
        .expect("write");
    w.into_inner()
}

fn xml_plain_instance(w: &mut Xw, i: &PInst) {
    w.create_element("instance")
        .write_inner_content(|w| {
            leaf(w, "instanceId", &i.instance_id);
            leaf(w, "hostName", &i.host_name);
            leaf(w, "app", &i.app);
            leaf(w, "ipAddr", &i.ip_addr);
            leaf(w, "status", &i.status);
            leaf(w, "overriddenstatus", &i.overridden_status);
            for (name, p) in [("port", &i.port), ("securePort", &i.secure_port)] {
                w.create_element(name)
                    .with_attribute(("enabled", p.enabled.as_str()))
                    .write_text_content(BytesText::new(&p.port.to_string()))?;
            }
            leaf(w, "countryId", &i.country_id.to_string());
            w.create_element("dataCenterInfo")
                .with_attribute(("class", i.data_center_info.class.as_str()))
                .write_inner_content(|w| {
                    leaf(w, "name", &i.data_center_info.name);
                    if let Some(m) = &i.data_center_info.metadata {
                        w.create_element("metadata").write_inner_content(|w| {
                            for (k, v) in m {
                                leaf(w, k, v);
                            }
                            Ok(())
                        })?;
                    }
                    Ok(())
                })?;
            let l = &i.lease_info;
            w.create_element("leaseInfo").write_inner_content(|w| {
                leaf(
                    w,
                    "renewalIntervalInSecs",
                    &l.renewal_interval_in_secs.to_string(),
                );
                leaf(w, "durationInSecs", &l.duration_in_secs.to_string());
                leaf(
                    w,
                    "registrationTimestamp",
                    &l.registration_timestamp.to_string(),
                );
                leaf(
                    w,
                    "lastRenewalTimestamp",
                    &l.last_renewal_timestamp.to_string(),
                );
                leaf(w, "evictionTimestamp", &l.eviction_timestamp.to_string());
                leaf(w, "serviceUpTimestamp", &l.service_up_timestamp.to_string());
                Ok(())
            })?;
            w.create_element("metadata").write_inner_content(|w| {
                for (k, v) in &i.metadata {
                    leaf(w, k, v);
                }
                Ok(())
            })?;
            for (name, v) in [
                ("homePageUrl", &i.home_page_url),
                ("statusPageUrl", &i.status_page_url),
                ("healthCheckUrl", &i.health_check_url),
                ("vipAddress", &i.vip_address),
                ("secureVipAddress", &i.secure_vip_address),
            ] {
                if let Some(v) = v {
                    leaf(w, name, v);
                }
            }
            leaf(
                w,
                "isCoordinatingDiscoveryServer",
                &i.is_coordinating_discovery_server,
            );
            leaf(w, "lastUpdatedTimestamp", &i.last_updated_timestamp);
            leaf(w, "lastDirtyTimestamp", &i.last_dirty_timestamp);
            if let Some(a) = &i.action_type {
                leaf(w, "actionType", a);
            }
            Ok(())
        })
        .expect("write");
}

/// A plain quick-xml event loop filling the plain struct from the same bytes.
fn xml_plain_read(bytes: &[u8]) -> PApps {
    let mut r = Reader::from_reader(bytes);
    let mut apps = PApps::default();
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut text = String::new();
    let mut port_enabled = String::new();
    fn attr(s: &BytesStart<'_>, name: &[u8]) -> String {
        s.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == name)
            .map(|a| String::from_utf8_lossy(&a.value).into_owned())
            .unwrap_or_default()
    }
    loop {
        match r.read_event().expect("xml") {
            Event::Start(s) => {
                let name = s.name().as_ref().to_vec();
                match name.as_slice() {
                    b"application" => apps.application.push(PApp::default()),
                    b"instance" => {
                        if let Some(a) = apps.application.last_mut() {
                            a.instance.push(PInst::default());
                        }
                    }
                    b"port" | b"securePort" => port_enabled = attr(&s, b"enabled"),
                    b"dataCenterInfo" => {
                        if let Some(i) = apps
                            .application
                            .last_mut()
                            .and_then(|a| a.instance.last_mut())
                        {
                            i.data_center_info.class = attr(&s, b"class");
                        }
                    }
                    _ => {}
                }
                path.push(name);
                text.clear();
            }
            Event::Empty(_) => {}
            Event::Text(t) => text.push_str(&t.decode().expect("utf-8")),
            Event::GeneralRef(g) => {
                let n = g.decode().expect("utf-8");
                text.push_str(quick_xml::escape::resolve_predefined_entity(&n).unwrap_or(""));
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(Vec::as_slice).unwrap_or_default();
                let t = std::mem::take(&mut text);
                match parent {
                    b"applications" => match name.as_slice() {
                        b"versions__delta" => apps.versions_delta = t,
                        b"apps__hashcode" => apps.apps_hashcode = t,
                        _ => {}
                    },
                    b"application" => {
                        if name == b"name" {
                            if let Some(a) = apps.application.last_mut() {
                                a.name = t;
                            }
                        }
                    }
                    _ => {
                        let Some(i) = apps
                            .application
                            .last_mut()
                            .and_then(|a| a.instance.last_mut())
                        else {
                            continue;
                        };
                        match (parent, name.as_slice()) {
                            (b"instance", b"instanceId") => i.instance_id = t,
                            (b"instance", b"hostName") => i.host_name = t,
                            (b"instance", b"app") => i.app = t,
                            (b"instance", b"ipAddr") => i.ip_addr = t,
                            (b"instance", b"status") => i.status = t,
                            (b"instance", b"overriddenstatus") => i.overridden_status = t,
                            (b"instance", b"port") => {
                                i.port = PPort {
                                    port: t.parse().unwrap_or(0),
                                    enabled: std::mem::take(&mut port_enabled),
                                }
                            }
                            (b"instance", b"securePort") => {
                                i.secure_port = PPort {
                                    port: t.parse().unwrap_or(0),
                                    enabled: std::mem::take(&mut port_enabled),
                                }
                            }
                            (b"instance", b"countryId") => i.country_id = t.parse().unwrap_or(1),
                            (b"instance", b"homePageUrl") => i.home_page_url = Some(t),
                            (b"instance", b"statusPageUrl") => i.status_page_url = Some(t),
                            (b"instance", b"healthCheckUrl") => i.health_check_url = Some(t),
                            (b"instance", b"vipAddress") => i.vip_address = Some(t),
                            (b"instance", b"secureVipAddress") => i.secure_vip_address = Some(t),
                            (b"instance", b"isCoordinatingDiscoveryServer") => {
                                i.is_coordinating_discovery_server = t
                            }
                            (b"instance", b"lastUpdatedTimestamp") => i.last_updated_timestamp = t,
                            (b"instance", b"lastDirtyTimestamp") => i.last_dirty_timestamp = t,
                            (b"instance", b"actionType") => i.action_type = Some(t),
                            (b"dataCenterInfo", b"name") => i.data_center_info.name = t,
                            (b"leaseInfo", n) => {
                                let v: u64 = t.parse().unwrap_or(0);
                                let l = &mut i.lease_info;
                                match n {
                                    b"renewalIntervalInSecs" => {
                                        l.renewal_interval_in_secs = v as u32
                                    }
                                    b"durationInSecs" => l.duration_in_secs = v as u32,
                                    b"registrationTimestamp" => l.registration_timestamp = v,
                                    b"lastRenewalTimestamp" => l.last_renewal_timestamp = v,
                                    b"evictionTimestamp" => l.eviction_timestamp = v,
                                    b"serviceUpTimestamp" => l.service_up_timestamp = v,
                                    _ => {}
                                }
                            }
                            (b"metadata", k) => {
                                let k = String::from_utf8_lossy(k).into_owned();
                                let in_dci = path.len() >= 2
                                    && path[path.len() - 2].as_slice() == b"dataCenterInfo";
                                if in_dci {
                                    i.data_center_info
                                        .metadata
                                        .get_or_insert_with(BTreeMap::new)
                                        .insert(k, t);
                                } else {
                                    i.metadata.insert(k, t);
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    apps
}

// === benches ===

fn bench(c: &mut Criterion<ThreadCpu>) {
    for n in [1_000usize, 10_000] {
        let apps = registry(n);
        let doc = plain(&apps);
        let label = if n == 1_000 { "1k" } else { "10k" };

        let mut json = Vec::new();
        codec::encode_applications(&apps, Format::Json, Accept::Full, &mut json);
        let mut xml = Vec::new();
        codec::encode_applications(&apps, Format::Xml, Accept::Full, &mut xml);
        // The baselines read our bytes and hold the same data.
        let back: PDoc = serde_json::from_slice(&json).expect("baseline reads our JSON");
        assert_eq!(back.applications.application.len(), apps.applications.len());
        let back = xml_plain_read(&xml);
        assert_eq!(
            back.application
                .iter()
                .map(|a| a.instance.len())
                .sum::<usize>(),
            n
        );
        assert_eq!(
            codec::decode_applications(&json, Format::Json).expect("ours"),
            apps
        );
        assert_eq!(
            codec::decode_applications(&xml, Format::Xml).expect("ours"),
            apps
        );

        let mut g = c.benchmark_group(format!("encode_json/{label}"));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("ours", n), |b| {
            let mut out = Vec::with_capacity(json.len());
            b.iter(|| {
                out.clear();
                codec::encode_applications(black_box(&apps), Format::Json, Accept::Full, &mut out);
                black_box(out.len())
            })
        });
        g.bench_function(BenchmarkId::new("baseline", n), |b| {
            let mut out = Vec::with_capacity(json.len());
            b.iter(|| {
                out.clear();
                serde_json::to_writer(&mut out, black_box(&doc)).expect("serialize");
                black_box(out.len())
            })
        });
        g.finish();

        let mut g = c.benchmark_group(format!("decode_json/{label}"));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("ours", n), |b| {
            b.iter(|| codec::decode_applications(black_box(&json), Format::Json).expect("decode"))
        });
        g.bench_function(BenchmarkId::new("baseline", n), |b| {
            b.iter(|| serde_json::from_slice::<PDoc>(black_box(&json)).expect("decode"))
        });
        g.finish();

        let mut g = c.benchmark_group(format!("encode_xml/{label}"));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("ours", n), |b| {
            let mut out = Vec::with_capacity(xml.len());
            b.iter(|| {
                out.clear();
                codec::encode_applications(black_box(&apps), Format::Xml, Accept::Full, &mut out);
                black_box(out.len())
            })
        });
        g.bench_function(BenchmarkId::new("baseline", n), |b| {
            let mut buf = Some(Vec::with_capacity(xml.len()));
            b.iter(|| {
                let mut out = buf.take().unwrap_or_default();
                out.clear();
                let out = xml_plain_write(black_box(&doc), out);
                let len = out.len();
                buf = Some(out);
                black_box(len)
            })
        });
        g.finish();

        let mut g = c.benchmark_group(format!("decode_xml/{label}"));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("ours", n), |b| {
            b.iter(|| codec::decode_applications(black_box(&xml), Format::Xml).expect("decode"))
        });
        g.bench_function(BenchmarkId::new("baseline", n), |b| {
            b.iter(|| xml_plain_read(black_box(&xml)))
        });
        g.finish();
    }
}

// The macro defines an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group! {
        name = benches;
        config = criterion::Criterion::default().with_measurement(super::ThreadCpu);
        targets = super::bench
    }
}
use group::benches;
criterion_main!(benches);
