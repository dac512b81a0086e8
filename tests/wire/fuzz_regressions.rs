//! Findings of the fuzz targets (`fuzz/`), each kept with its minimized input inline and
//! named after what it found. See RELIABILITY.md for the runs.

use tower_eureka::client::{apply_delta, ClientSnapshot, Target};
use tower_eureka::codec::{self, Format};

// delta_merge (C-21): a copy that holds one application twice (here `A` and `a`, equal once
// normalised) had a delete reach only the last of them, so `A/i1` survived its DELETED
// entry, while the client's snapshot (which merges the two) removed it. Found against the
// target's "every delete is gone" invariant with a hand-made input.
#[test]
fn c21_delete_reaches_every_application_of_a_repeated_name() {
    let copy = br#"{"applications":{"application":[
        {"name":"A","instance":[{"hostName":"h1","app":"A","instanceId":"i1"}]},
        {"name":"a","instance":[{"hostName":"h2","app":"A","instanceId":"i2"}]}]}}"#;
    let delta = br#"{"applications":{"application":[{"name":"A","instance":[
        {"hostName":"h1","app":"A","instanceId":"i1","actionType":"DELETED"}]}]}}"#;
    let copy = codec::decode_applications(copy, Format::Json).unwrap();
    let delta = codec::decode_applications(delta, Format::Json).unwrap();

    let next = apply_delta(&copy, &delta);
    let ids: Vec<&str> = next.instances().map(|i| i.id()).collect();
    assert_eq!(ids, ["i2"], "i1 was deleted, i2 was not in the delta");
    assert_eq!(next.applications.len(), 1, "one application A");

    let merged = ClientSnapshot::from_applications(&copy, 1).with_delta(&delta, 2);
    let held: Vec<&str> = merged
        .instances(&Target::app("A"))
        .iter()
        .map(|i| i.id())
        .collect();
    assert_eq!(held, ids, "the client's snapshot agrees");
}
