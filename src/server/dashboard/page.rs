//! [`Page`]: the dashboard's HTML, an askama template (`templates/dashboard.html`,
//! checked at compile time) over a [`View`]. Every value is HTML-escaped by the template;
//! a URL that came from a client only becomes a link when it is `http://` or `https://`.

use super::query::{Query, MAX_PER_APP};
use super::view::View;
use askama::Template;
use std::time::{Duration, UNIX_EPOCH};

/// Seconds between the page's own refreshes (`<meta http-equiv="refresh">`).
pub(super) const REFRESH_SECS: u32 = 30;

/// The dashboard page.
#[derive(Template)]
#[template(path = "dashboard.html")]
pub(super) struct Page<'a> {
    pub(super) v: &'a View<'a>,
    pub(super) query: &'a Query,
    /// Where the JSON twin is, relative to this page.
    pub(super) json_href: &'a str,
    pub(super) refresh_secs: u32,
}

impl Page<'_> {
    /// An epoch-ms time as an HTTP date (`Wed, 02 Dec 2026 03:20:02 GMT`).
    fn date(&self, ms: &u64) -> String {
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(*ms))
    }

    /// How long before the page's time `ms` was.
    fn ago(&self, ms: &u64) -> String {
        let secs = self.v.server.current_time.saturating_sub(*ms) / 1000;
        format!("{} ago", span(secs))
    }

    fn uptime(&self) -> String {
        span(self.v.server.uptime_ms / 1000)
    }

    fn memory(&self) -> String {
        match self.v.server.rss_bytes {
            Some(b) => format!("{:.1} MiB resident", b as f64 / (1024.0 * 1024.0)),
            None => "not available on this platform".to_owned(),
        }
    }

    fn num(&self, x: &f64) -> String {
        format!("{x:.1}")
    }

    /// `u` when it is an `http(s)` URL, the only kind the page makes a link of.
    fn link<'u>(&self, u: &Option<&'u str>) -> Option<&'u str> {
        u.filter(|s| {
            let l = s.get(..8).unwrap_or(s).to_ascii_lowercase();
            l.starts_with("http://") || l.starts_with("https://")
        })
    }

    /// The query string of page `page` with the current filter.
    fn page_href(&self, page: &usize) -> String {
        let mut q = form_urlencoded::Serializer::new(String::from("?"));
        if let Some(app) = &self.query.app {
            q.append_pair("app", app);
        }
        q.append_pair("page", &page.to_string());
        q.append_pair("size", &self.query.size.to_string());
        q.append_pair("instances", &self.query.per_app.to_string());
        q.finish()
    }

    /// The query string that shows application `name` with all its instances.
    fn app_href(&self, name: &str) -> String {
        form_urlencoded::Serializer::new(String::from("?"))
            .append_pair("app", name)
            .append_pair("instances", &MAX_PER_APP.to_string())
            .finish()
    }

    fn prev_page(&self) -> Option<usize> {
        (self.v.filter.page > 1).then(|| self.v.filter.page - 1)
    }

    fn next_page(&self) -> Option<usize> {
        (self.v.filter.page < self.v.filter.pages).then(|| self.v.filter.page + 1)
    }
}

/// `secs` as `1d 02h 03m 04s`, leading zero units left out.
fn span(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h:02}h {m:02}m {s:02}s")
    } else if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::span;

    #[test]
    fn spans() {
        assert_eq!(span(0), "0s");
        assert_eq!(span(61), "1m 01s");
        assert_eq!(span(3_600 * 5 + 7), "5h 00m 07s");
        assert_eq!(span(86_400 * 2 + 3_661), "2d 01h 01m 01s");
    }
}
