//! The operator dashboard: the page a Spring Eureka user looks at first, and its JSON twin.
//!
//! `GET {path}` (default `/`, [`DashboardConfig`](super::DashboardConfig)) answers a
//! server-rendered HTML page that refreshes itself every 30 s: system status (uptime, lease
//! expiration, renewals against the threshold, self-preservation and why, with Java's
//! warning banners), the cluster's peers and their health, the registered applications
//! with their counts by status and zone and their instances folded under them, and general
//! information (version, start time, memory). `GET {path}/dashboard.json` answers the same
//! data as JSON, for scripts.
//!
//! Both take `?app=` (application names containing it, case-insensitive), `page`, `size`
//! (applications per page, default 50, at most 500) and `instances` (instances listed per
//! application, default 10, at most 10000); a bad value is a 400 naming the parameter.
//!
//! A request reads the published snapshot (an `arc-swap` load), the self-preservation
//! state and the listed instances' last renewals (short registry locks of at most 256
//! lookups each), then renders on tokio's blocking pool with no lock held.
//!
//! ```
//! use tower::ServiceExt;
//! use tower_eureka::server::EurekaService;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let svc = EurekaService::default();
//! let req = http::Request::get("/dashboard.json")
//!     .body(http_body_util::Empty::<bytes::Bytes>::new())
//!     .unwrap();
//! let res = svc.oneshot(req).await.unwrap();
//! assert_eq!(res.status(), 200);
//! assert_eq!(res.headers()["content-type"], "application/json");
//! # }
//! ```
//!
//! | module | what it holds |
//! |---|---|
//! | `query` | the query string: filter and pagination |
//! | `view` | [`View`]: the data, gathered once per request; the JSON twin is its serialization |
//! | `page` | [`Page`]: the askama template that renders a [`View`] as HTML |

mod page;
mod query;
mod view;

use self::page::{Page, REFRESH_SECS};
use self::query::Query;
use self::view::{Inputs, View};
use super::hook::Replicator;
use super::operator::no_store;
use super::response::{bytes_response, error, ResponseBody};
use crate::registry::Registry;
use askama::Template;
use bytes::Bytes;
use http::{Response, StatusCode};

/// What a dashboard request answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    Html,
    Json,
}

/// What the dashboard reads.
pub(super) struct Sources<'a> {
    pub(super) registry: &'a Registry,
    pub(super) replicator: Option<&'a dyn Replicator>,
    /// When the service was created, epoch ms.
    pub(super) start_time: u64,
}

/// Answers a dashboard request for `path` (the request path, to make the JSON twin's link
/// relative) and its raw query string. Runs on the blocking pool: it reads `/proc` and
/// renders.
pub(super) fn answer(
    src: &Sources<'_>,
    format: Format,
    path: &str,
    raw_query: Option<&str>,
) -> Response<ResponseBody> {
    let query = match Query::parse(raw_query) {
        Ok(q) => q,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    let snap = src.registry.snapshot();
    let inputs = Inputs {
        self_preservation: src.registry.self_preservation(),
        cluster: src.replicator.and_then(|r| r.status()),
        start_time: src.start_time,
        current_time: src.registry.clock().epoch_ms(),
        rss_bytes: rss_bytes(),
    };
    let mut view = View::build(&snap, &query, inputs);
    let renewals = src.registry.last_renewals(&view.keys());
    view.set_last_renewals(renewals);
    let res = match format {
        Format::Json => match serde_json::to_vec(&view) {
            Ok(b) => bytes_response(StatusCode::OK, "application/json", Bytes::from(b)),
            Err(_) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "dashboard encoding failed",
            ),
        },
        Format::Html => {
            let json_href = json_href(path);
            let page = Page {
                v: &view,
                query: &query,
                json_href: &json_href,
                refresh_secs: REFRESH_SECS,
            };
            match page.render() {
                Ok(html) => bytes_response(
                    StatusCode::OK,
                    "text/html; charset=utf-8",
                    Bytes::from(html),
                ),
                Err(_) => error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "dashboard rendering failed",
                ),
            }
        }
    };
    no_store(res)
}

/// The JSON twin's address relative to the page at `path` (`/` or `/ops/eureka[/]`).
fn json_href(path: &str) -> String {
    match path.rsplit('/').next() {
        Some(last) if !last.is_empty() => format!("{last}/dashboard.json"),
        _ => "dashboard.json".to_owned(),
    }
}

/// Resident memory from `/proc/self/status` (`VmRSS`, in kB), where there is one.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_href_is_relative_to_the_page() {
        assert_eq!(json_href("/"), "dashboard.json");
        assert_eq!(json_href(""), "dashboard.json");
        assert_eq!(json_href("/ops/eureka/"), "dashboard.json");
        assert_eq!(json_href("/ops/eureka"), "eureka/dashboard.json");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn rss_is_read_on_linux() {
        assert!(rss_bytes().is_some_and(|b| b > 0));
    }
}
