//! Poll-level tests of `EurekaDiscover`'s diffing.

use crate::support::{inst, snapshot, with_status};
use std::convert::Infallible;
use std::sync::Arc;
use std::task::Poll;
use tokio::sync::watch;
use tokio_test::task::{self, Spawn};
use tower::discover::Change;
use tower_eureka::client::{ClientSnapshot, Target};
use tower_eureka::discover::{EurekaDiscover, MakeHttpEndpoint, ZoneAffinity};
use tower_eureka::model::{InstanceInfo, PortWrapper, Status};

/// What a change says, in comparable form: the endpoint is the instance's `ip:port`.
#[derive(Debug, PartialEq, Eq, Clone, PartialOrd, Ord)]
enum Ev {
    Insert(String, String),
    Remove(String),
}

type Make = fn(&InstanceInfo) -> String;
type Disco = Spawn<EurekaDiscover<Make>>;

fn addr(i: &InstanceInfo) -> String {
    format!("{}:{}", i.ip_addr, i.port.port)
}

fn discover(target: Target) -> (watch::Sender<Arc<ClientSnapshot>>, Disco) {
    let (tx, rx) = watch::channel(Arc::new(ClientSnapshot::empty()));
    let d = EurekaDiscover::new(rx, target, addr as Make);
    (tx, task::spawn(d))
}

/// Polls until `Pending`, returning the changes in order. Panics if the stream ends.
fn drain(d: &mut Disco) -> Vec<Ev> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        match d.poll_next() {
            Poll::Ready(Some(Ok(Change::Insert(k, v)))) => out.push(Ev::Insert(k.to_string(), v)),
            Poll::Ready(Some(Ok(Change::Remove(k)))) => out.push(Ev::Remove(k.to_string())),
            Poll::Ready(Some(Err::<_, Infallible>(e))) => match e {},
            Poll::Ready(None) => panic!("the discover stream ended"),
            Poll::Pending => return out,
        }
    }
    panic!("the discover stream never pended");
}

fn sorted(mut v: Vec<Ev>) -> Vec<Ev> {
    v.sort();
    v
}

fn ins(id: &str, a: &str) -> Ev {
    Ev::Insert(id.into(), a.into())
}

fn rem(id: &str) -> Ev {
    Ev::Remove(id.into())
}

// C-26: only UP instances are inserted; C-25: the empty, unfetched start inserts nothing.
#[tokio::test]
async fn c26_inserts_only_up_instances() {
    let (tx, mut d) = discover(Target::app("orders"));
    assert_eq!(drain(&mut d), vec![]);
    tx.send_replace(snapshot(
        [
            inst("orders", "o1", "10.0.0.1", 80),
            inst("orders", "o2", "10.0.0.2", 80),
            with_status(inst("orders", "o3", "10.0.0.3", 80), Status::Down),
            with_status(inst("orders", "o4", "10.0.0.4", 80), Status::Starting),
            inst("billing", "b1", "10.0.1.1", 80),
        ],
        1,
    ));
    assert!(d.is_woken(), "a publication wakes the stream");
    assert_eq!(
        sorted(drain(&mut d)),
        vec![ins("o1", "10.0.0.1:80"), ins("o2", "10.0.0.2:80")]
    );
    let mut ids: Vec<_> = d.endpoint_ids().map(str::to_owned).collect();
    ids.sort();
    assert_eq!(ids, ["o1", "o2"]);
}

#[tokio::test]
async fn diffs_against_the_current_value_on_first_poll() {
    let (_tx, rx) = watch::channel(snapshot([inst("orders", "o1", "10.0.0.1", 80)], 1));
    let mut d = task::spawn(EurekaDiscover::new(rx, Target::app("ORDERS"), addr as Make));
    assert_eq!(drain(&mut d), vec![ins("o1", "10.0.0.1:80")]);
}

#[tokio::test]
async fn removes_a_gone_instance_and_keeps_the_rest() {
    let (tx, mut d) = discover(Target::app("orders"));
    let o1 = inst("orders", "o1", "10.0.0.1", 80);
    let o2 = inst("orders", "o2", "10.0.0.2", 80);
    tx.send_replace(snapshot([o1.clone(), o2], 1));
    assert_eq!(drain(&mut d).len(), 2);
    tx.send_replace(snapshot([o1], 2));
    assert_eq!(drain(&mut d), vec![rem("o2")]);
}

#[tokio::test]
async fn an_unchanged_instance_is_not_reinserted() {
    let (tx, mut d) = discover(Target::app("orders"));
    let mut o1 = inst("orders", "o1", "10.0.0.1", 80);
    tx.send_replace(snapshot([o1.clone()], 1));
    assert_eq!(drain(&mut d).len(), 1);
    // Same address, other metadata: no churn.
    o1.metadata.insert("zone", "b");
    o1.last_updated_timestamp = 42;
    tx.send_replace(snapshot([o1], 2));
    assert!(d.is_woken());
    assert_eq!(drain(&mut d), vec![]);
}

// An address change replaces the endpoint: Remove first (so the balancer stops calling
// the stale address at once), then Insert under the same key.
#[tokio::test]
async fn replaces_an_instance_whose_address_changed() {
    let (tx, mut d) = discover(Target::app("orders"));
    tx.send_replace(snapshot([inst("orders", "o1", "10.0.0.1", 80)], 1));
    assert_eq!(drain(&mut d), vec![ins("o1", "10.0.0.1:80")]);

    tx.send_replace(snapshot([inst("orders", "o1", "10.0.0.9", 80)], 2));
    assert_eq!(drain(&mut d), vec![rem("o1"), ins("o1", "10.0.0.9:80")]);

    tx.send_replace(snapshot([inst("orders", "o1", "10.0.0.9", 81)], 3));
    assert_eq!(drain(&mut d), vec![rem("o1"), ins("o1", "10.0.0.9:81")]);

    let mut tls = inst("orders", "o1", "10.0.0.9", 81);
    tls.secure_port = PortWrapper::enabled(8443);
    tx.send_replace(snapshot([tls], 4));
    assert_eq!(drain(&mut d), vec![rem("o1"), ins("o1", "10.0.0.9:81")]);
}

// C-25: a snapshot that is not from a successful fetch is not authoritative.
#[tokio::test]
async fn c25_unfetched_snapshot_removes_nothing() {
    let (tx, mut d) = discover(Target::app("orders"));
    tx.send_replace(snapshot([inst("orders", "o1", "10.0.0.1", 80)], 1));
    assert_eq!(drain(&mut d).len(), 1);
    tx.send_replace(Arc::new(ClientSnapshot::empty()));
    assert!(d.is_woken());
    assert_eq!(drain(&mut d), vec![]);
    assert_eq!(d.endpoint_ids().count(), 1);
}

// A fetched snapshot without the app is authoritative: the set empties.
#[tokio::test]
async fn removal_when_the_app_is_gone() {
    let (tx, mut d) = discover(Target::app("orders"));
    tx.send_replace(snapshot(
        [
            inst("orders", "o1", "10.0.0.1", 80),
            inst("orders", "o2", "10.0.0.2", 80),
        ],
        1,
    ));
    assert_eq!(drain(&mut d).len(), 2);
    tx.send_replace(snapshot([inst("billing", "b1", "10.0.1.1", 80)], 2));
    assert_eq!(sorted(drain(&mut d)), vec![rem("o1"), rem("o2")]);
    // And an empty registry is just as authoritative.
    tx.send_replace(snapshot([inst("orders", "o1", "10.0.0.1", 80)], 3));
    assert_eq!(drain(&mut d).len(), 1);
    tx.send_replace(snapshot([], 4));
    assert_eq!(drain(&mut d), vec![rem("o1")]);
}

// C-26: an instance that goes DOWN (or OUT_OF_SERVICE) leaves the set; back UP, it returns.
#[tokio::test]
async fn c26_down_is_filtered_out() {
    let (tx, mut d) = discover(Target::app("orders"));
    let o1 = inst("orders", "o1", "10.0.0.1", 80);
    tx.send_replace(snapshot([o1.clone()], 1));
    assert_eq!(drain(&mut d).len(), 1);
    tx.send_replace(snapshot([with_status(o1.clone(), Status::Down)], 2));
    assert_eq!(drain(&mut d), vec![rem("o1")]);
    tx.send_replace(snapshot([with_status(o1.clone(), Status::OutOfService)], 3));
    assert_eq!(drain(&mut d), vec![]);
    tx.send_replace(snapshot([o1], 4));
    assert_eq!(drain(&mut d), vec![ins("o1", "10.0.0.1:80")]);
}

#[tokio::test]
async fn never_ends_after_the_publisher_is_dropped() {
    let (tx, mut d) = discover(Target::app("orders"));
    tx.send_replace(snapshot([inst("orders", "o1", "10.0.0.1", 80)], 1));
    drop(tx);
    // The last publication is still delivered...
    assert_eq!(drain(&mut d), vec![ins("o1", "10.0.0.1:80")]);
    // ...and then the stream pends forever instead of ending, keeping its set.
    for _ in 0..3 {
        assert!(d.poll_next().is_pending());
    }
    assert_eq!(d.endpoint_ids().count(), 1);
}

// Watch semantics: two quick publications cost one diff, against the latest.
#[tokio::test]
async fn coalesces_quick_publications_into_one_diff() {
    let (tx, mut d) = discover(Target::app("orders"));
    tx.send_replace(snapshot([inst("orders", "o1", "10.0.0.1", 80)], 1));
    tx.send_replace(snapshot([inst("orders", "o2", "10.0.0.2", 80)], 2));
    assert_eq!(drain(&mut d), vec![ins("o2", "10.0.0.2:80")]);

    // A publication that lands while a diff is half-yielded replaces the rest of it.
    tx.send_replace(snapshot(
        [
            inst("orders", "o2", "10.0.0.2", 80),
            inst("orders", "o3", "10.0.0.3", 80),
            inst("orders", "o4", "10.0.0.4", 80),
        ],
        3,
    ));
    let first = match d.poll_next() {
        Poll::Ready(Some(Ok(Change::Insert(k, _)))) => k.to_string(),
        other => panic!("expected an insert, got {:?}", other.map(|_| ())),
    };
    tx.send_replace(snapshot(
        [
            inst("orders", "o2", "10.0.0.2", 80),
            inst("orders", "o5", "10.0.0.5", 80),
        ],
        4,
    ));
    // The half-yielded insert is undone, the other one never happens.
    assert_eq!(
        sorted(drain(&mut d)),
        sorted(vec![rem(&first), ins("o5", "10.0.0.5:80")])
    );
    let mut ids: Vec<_> = d.endpoint_ids().map(str::to_owned).collect();
    ids.sort();
    assert_eq!(ids, ["o2", "o5"]);
}

// C-27: VIP lookups match any element of the comma-separated list, case-insensitively.
#[tokio::test]
async fn c27_vip_and_secure_vip_targets() {
    let mut a = inst("orders", "o1", "10.0.0.1", 80);
    a.vip_address = Some("Orders-VIP,shared".into());
    a.secure_vip_address = Some("orders-secure".into());
    let mut b = inst("billing", "b1", "10.0.1.1", 80);
    b.vip_address = Some("shared".into());
    b.secure_vip_address = Some("billing-secure".into());
    let snap = snapshot([a, b], 1);

    let (tx, mut vip) = discover(Target::vip("orders-vip"));
    tx.send_replace(snap.clone());
    assert_eq!(drain(&mut vip), vec![ins("o1", "10.0.0.1:80")]);

    let (tx, mut shared) = discover(Target::Vip("SHARED".into()));
    tx.send_replace(snap.clone());
    assert_eq!(
        sorted(drain(&mut shared)),
        vec![ins("b1", "10.0.1.1:80"), ins("o1", "10.0.0.1:80")]
    );

    let (tx, mut svip) = discover(Target::secure_vip("Billing-Secure"));
    tx.send_replace(snap.clone());
    assert_eq!(drain(&mut svip), vec![ins("b1", "10.0.1.1:80")]);

    // A plain VIP is not a secure VIP.
    let (tx, mut none) = discover(Target::secure_vip("orders-vip"));
    tx.send_replace(snap);
    assert_eq!(drain(&mut none), vec![]);
}

// The HTTP factory leaves out instances it cannot call, and uses https for an enabled
// secure port (a secure VIP target).
#[tokio::test]
async fn c27_http_factory_skips_unusable_instances() {
    let mut ok = inst("orders", "o1", "10.0.0.1", 80);
    ok.secure_port = PortWrapper::enabled(8443);
    let mut no_port = inst("orders", "o2", "10.0.0.2", 80);
    no_port.port = PortWrapper::disabled(80);
    let (tx, rx) = watch::channel(snapshot([ok, no_port], 1));
    let _ = tx;
    let make = MakeHttpEndpoint::new(tower::service_fn(|_: http::Request<String>| async {
        Ok::<_, Infallible>(http::Response::new(String::new()))
    }));
    let mut d = task::spawn(EurekaDiscover::new(rx, Target::secure_vip("ORDERS"), make));
    let mut seen = vec![];
    while let Poll::Ready(Some(Ok(change))) = d.poll_next() {
        match change {
            Change::Insert(k, ep) => seen.push((k.to_string(), ep.base_uri().to_string())),
            Change::Remove(k) => panic!("unexpected removal of {k}"),
        }
    }
    assert_eq!(
        seen,
        vec![("o1".to_owned(), "https://10.0.0.1:8443/".to_owned())]
    );
}

// The task that polled last is the one woken by the next publication, even when the
// stream moves between tasks.
#[tokio::test]
async fn wakes_the_task_that_polled_last() {
    use futures_core::Stream;
    use std::pin::Pin;
    let (tx, rx) = watch::channel(snapshot([inst("orders", "o1", "10.0.0.1", 80)], 1));
    let mut d = EurekaDiscover::new(rx, Target::app("orders"), addr as Make);
    let mut first = task::spawn(());
    let mut second = task::spawn(());
    let mut poll =
        |t: &mut Spawn<()>| t.enter(|cx, _| Pin::new(&mut d).poll_next(cx).map(|c| c.is_some()));
    assert_eq!(poll(&mut first), Poll::Ready(true));
    assert_eq!(poll(&mut first), Poll::Pending);
    assert_eq!(poll(&mut second), Poll::Pending);
    tx.send_replace(snapshot([inst("orders", "o2", "10.0.0.2", 80)], 2));
    assert!(second.is_woken(), "the last poller must be woken");
    assert_eq!(poll(&mut second), Poll::Ready(true));
}

fn zoned(id: &str, ip: &str, zone: &str) -> InstanceInfo {
    let mut i = inst("orders", id, ip, 80);
    i.metadata.insert("zone", zone);
    i
}

// C-40: with a preferred zone the stream holds that zone's UP instances, spills over to
// the others when the zone has none (down, or gone), and comes back when it has again;
// Strict never spills.
#[tokio::test]
async fn c40_zone_affinity_prefers_the_own_zone_and_spills_only_when_it_is_empty() {
    let (tx, rx) = watch::channel(Arc::new(ClientSnapshot::empty()));
    let mut d = task::spawn(
        EurekaDiscover::new(rx.clone(), Target::app("orders"), addr as Make)
            .zone_affinity(ZoneAffinity::Prefer("zone-a".into())),
    );
    let mut strict = task::spawn(
        EurekaDiscover::new(rx, Target::app("orders"), addr as Make)
            .zone_affinity(ZoneAffinity::Strict("zone-a".into())),
    );
    tx.send_replace(snapshot(
        [
            zoned("a1", "10.0.0.1", "zone-a"),
            zoned("a2", "10.0.0.2", "zone-a"),
            zoned("b1", "10.0.1.1", "zone-b"),
        ],
        1,
    ));
    let own = vec![ins("a1", "10.0.0.1:80"), ins("a2", "10.0.0.2:80")];
    assert_eq!(sorted(drain(&mut d)), own);
    assert_eq!(sorted(drain(&mut strict)), own);
    // zone-a goes DOWN: Prefer spills to zone-b, Strict has nothing.
    tx.send_replace(snapshot(
        [
            with_status(zoned("a1", "10.0.0.1", "zone-a"), Status::Down),
            with_status(zoned("a2", "10.0.0.2", "zone-a"), Status::Down),
            zoned("b1", "10.0.1.1", "zone-b"),
        ],
        2,
    ));
    assert_eq!(
        sorted(drain(&mut d)),
        vec![ins("b1", "10.0.1.1:80"), rem("a1"), rem("a2")]
    );
    assert_eq!(sorted(drain(&mut strict)), vec![rem("a1"), rem("a2")]);
    // One zone-a instance is back: Prefer returns to it alone.
    tx.send_replace(snapshot(
        [
            zoned("a1", "10.0.0.1", "zone-a"),
            with_status(zoned("a2", "10.0.0.2", "zone-a"), Status::Down),
            zoned("b1", "10.0.1.1", "zone-b"),
        ],
        3,
    ));
    assert_eq!(
        sorted(drain(&mut d)),
        vec![ins("a1", "10.0.0.1:80"), rem("b1")]
    );
    assert_eq!(sorted(drain(&mut strict)), vec![ins("a1", "10.0.0.1:80")]);
}

/// Regression (issue 15, the watch bench with 1000 watchers): a poll made while the task's
/// cooperative budget is spent must still leave the stream registered for the next
/// publication. `watch::Receiver::changed` answers `Pending` without registering when the
/// budget is out; the stream used to remember the waker anyway and skip later polls, so a
/// change reached it only when something else woke its task (up to 30 s later).
#[tokio::test]
async fn a_publication_wakes_the_stream_after_a_poll_without_budget() {
    let (tx, mut d) = discover(Target::app("orders"));
    assert_eq!(drain(&mut d), vec![]);
    tx.send_replace(snapshot([inst("orders", "o1", "10.0.0.1", 80)], 1));
    // Spend this task's budget, then let the stream take the publication (and start
    // waiting for the next one) inside the same poll.
    let first = std::future::poll_fn(|cx| {
        loop {
            let spend = std::pin::pin!(tokio::task::consume_budget());
            if std::future::Future::poll(spend, cx).is_pending() {
                break;
            }
        }
        Poll::Ready(d.poll_next())
    })
    .await;
    assert!(
        matches!(first, Poll::Ready(Some(Ok(Change::Insert(ref k, _)))) if &**k == "o1"),
        "{first:?}"
    );
    // Ordinary polls later, with a fresh budget.
    tokio::task::yield_now().await;
    assert_eq!(drain(&mut d), vec![]);
    tx.send_replace(snapshot(
        [
            inst("orders", "o1", "10.0.0.1", 80),
            inst("orders", "o2", "10.0.0.2", 80),
        ],
        2,
    ));
    assert!(d.is_woken(), "the next publication wakes the stream");
    assert_eq!(drain(&mut d), vec![ins("o2", "10.0.0.2:80")]);
}
