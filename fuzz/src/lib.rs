//! What the fuzz targets share: one current-thread runtime per process, fresh services,
//! calls that check the answer is never a 5xx, the format sniffing of seed files, and the
//! codec round-trip check.
//!
//! Every target gets a fresh [`EurekaService`] per input, so an input's outcome does not
//! depend on the inputs before it (libFuzzer reproduces a crash from its one input) and the
//! registry cannot grow over a ten-minute run.

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::runtime::Runtime;
use tower::ServiceExt;
use tower_eureka::codec::{self, Accept, Format};
use tower_eureka::model::{Applications, InstanceInfo};
use tower_eureka::server::{EurekaService, ServerConfig};

/// The process's runtime: current-thread, created on first use, never dropped.
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime")
    })
}

/// A fresh registry server that publishes every change at once (no coalescing delay), so
/// that a write is visible to the next read; created inside the runtime (its eviction task
/// runs there and stops when the service is dropped).
///
/// The services of earlier inputs are dropped by now, but their stopped tasks have not run:
/// a current-thread `block_on` whose future is ready at once (every call here) returns
/// before it polls any other task. One yield lets them finish; without it each input
/// leaked its registry until the run died out of memory.
pub fn service() -> EurekaService {
    runtime().block_on(tokio::task::yield_now());
    let _guard = runtime().enter();
    let mut config = ServerConfig::default();
    config.registry.publish_interval = Duration::ZERO;
    EurekaService::new(config)
}

/// One call through the service: the status and the whole body. Panics (a finding) when the
/// service answers 5xx or its body fails.
pub fn call(svc: &EurekaService, req: Request<Full<Bytes>>) -> (StatusCode, Bytes) {
    let what = format!("{} {}", req.method(), req.uri());
    runtime().block_on(async {
        let res = match svc.clone().oneshot(req).await {
            Ok(res) => res,
            Err(never) => match never {},
        };
        let status = res.status();
        let reason = res.headers().contains_key("x-eureka-error");
        let body = match res.into_body().collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => panic!("{what}: the response body failed: {e}"),
        };
        assert!(
            status.as_u16() < 500,
            "{what} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        assert!(
            !status.is_client_error()
                || reason
                || !body.is_empty()
                || status == StatusCode::NOT_FOUND,
            "{what} answered {status} without a reason"
        );
        (status, body)
    })
}

/// `POST {path}` with `body` and `content_type`.
pub fn post(path: &str, content_type: &str, body: &[u8]) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("content-type", content_type)
        .header("accept", "application/json")
        .body(Full::new(Bytes::copy_from_slice(body)))
        .expect("a fixed request")
}

/// `GET {path}` in `format`.
pub fn get(path: &str, format: Format) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("accept", format.content_type())
        .body(Full::new(Bytes::new()))
        .expect("a fixed request")
}

/// XML when the first byte that is not white space is `<`, JSON otherwise: how the seed
/// files and the service targets choose a format without a byte of their own.
pub fn sniff(bytes: &[u8]) -> Format {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => Format::Xml,
        _ => Format::Json,
    }
}

/// The registry as both formats serve it must decode again (what the server writes, every
/// client reads): a full `GET /apps` in JSON and in XML, decoded with the crate's reader,
/// with as many instances as the registry holds.
pub fn listing_decodes(svc: &EurekaService) {
    let held = svc.registry().len();
    for format in [Format::Json, Format::Xml] {
        let (status, body) = call(svc, get("/apps", format));
        assert_eq!(status, StatusCode::OK, "GET /apps in {format:?}");
        let apps = match codec::decode_applications(&body, format) {
            Ok(apps) => apps,
            Err(e) => panic!(
                "GET /apps in {format:?} does not decode: {e}\n{}",
                String::from_utf8_lossy(&body)
            ),
        };
        assert_eq!(apps.instances().count(), held, "GET /apps in {format:?}");
    }
}

/// The codec's round-trip promise for a document it decoded: writing it and reading it
/// back gives the same value, and writing that again gives the same bytes.
///
/// The writer leaves out applications without instances (W-13), always writes a hash
/// (W-12) and writes the known `@class` of a data-center name (W-30, W-33), so those are
/// normalised first ([`as_written`]).
pub fn round_trip(apps: &Applications, format: Format) {
    let mut expected = apps.clone();
    expected.applications.retain(|a| !a.instances.is_empty());
    for inst in expected
        .applications
        .iter_mut()
        .flat_map(|a| &mut a.instances)
    {
        as_written(inst);
    }
    if expected.apps_hashcode.is_none() {
        expected.apps_hashcode = Some(expected.compute_hashcode());
    }
    let mut first = Vec::new();
    codec::encode_applications(apps, format, Accept::Full, &mut first);
    let back = match codec::decode_applications(&first, format) {
        Ok(back) => back,
        Err(e) => panic!(
            "{format:?}: what the writer wrote does not decode: {e}\n{}",
            String::from_utf8_lossy(&first)
        ),
    };
    assert_eq!(
        back, expected,
        "{format:?}: the round trip changed the value"
    );
    let mut second = Vec::new();
    codec::encode_applications(&back, format, Accept::Full, &mut second);
    assert_eq!(first, second, "{format:?}: writing twice differs");
}

/// [`round_trip`] for the three document types the readers take, over one input: each
/// decoder that accepts `data` must keep the codec's promise. Never panics on its own for
/// input the readers refuse.
pub fn readers(data: &[u8], format: Format) {
    if let Ok(apps) = codec::decode_applications(data, format) {
        round_trip(&apps, format);
    }
    if let Ok(app) = codec::decode_application(data, format) {
        let mut out = Vec::new();
        codec::encode_application(&app, format, Accept::Full, &mut out);
        match codec::decode_application(&out, format) {
            Ok(back) => {
                let mut expected = app.clone();
                expected.instances.iter_mut().for_each(as_written);
                assert_eq!(back, expected, "{format:?}: the application round trip")
            }
            Err(e) => panic!("{format:?}: a written application does not decode: {e}"),
        }
    }
    if let Ok(inst) = codec::decode_instance(data, format) {
        let mut out = Vec::new();
        codec::encode_instance(&inst, format, &mut out);
        match codec::decode_instance(&out, format) {
            Ok(back) => {
                let mut expected = inst.clone();
                as_written(&mut expected);
                assert_eq!(back, expected, "{format:?}: the instance round trip")
            }
            Err(e) => panic!("{format:?}: a written instance does not decode: {e}"),
        }
    }
}

/// What the writers change in a record by design: the `@class` read from the wire is not
/// written back, the known class of the data-center name is (W-30, W-33).
pub fn as_written(inst: &mut InstanceInfo) {
    inst.data_center_info.class = None;
}
