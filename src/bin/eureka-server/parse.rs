//! The parsers and displays the settings table uses: numbers, durations, booleans, paths,
//! peer URLs, user names, files, and the checks that need more than one value.

use std::path::PathBuf;
use std::time::Duration;
use tower_eureka::cluster::PeerUrl;

/// A number of type `T`.
pub(crate) fn number<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("not a number in range of {}", short_type::<T>()))
}

pub(crate) fn short_type<T>() -> &'static str {
    let name = std::any::type_name::<T>();
    name.rsplit("::").next().unwrap_or(name)
}

/// Milliseconds.
pub(crate) fn millis(v: &str) -> Result<Duration, String> {
    Ok(Duration::from_millis(number::<u64>(v)?))
}

/// Spring's booleans: true/false, on/off, yes/no, 1/0, any case.
pub(crate) fn boolean(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" => Ok(true),
        "false" | "off" | "no" | "0" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

/// A URL path prefix: empty or starting with `/`, without a trailing `/`.
pub(crate) fn path(v: &str) -> Result<String, String> {
    let p = v.trim().trim_end_matches('/');
    if !p.is_empty() && !p.starts_with('/') {
        return Err("expected a path starting with /".into());
    }
    if p.contains(['?', '#', ' ']) {
        return Err("expected a plain path".into());
    }
    Ok(p.to_owned())
}

/// Comma-separated peer URLs; empty items are skipped.
pub(crate) fn urls(v: &str) -> Result<Vec<PeerUrl>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| PeerUrl::parse(s).map_err(|e| format!("{}: {}", mask_userinfo(&e.url), e.reason)))
        .collect()
}

/// Remote regions as Java writes them, `name;url` separated by commas
/// (`us-west;http://h:8761/eureka/,eu;http://h2/eureka/`); `name=url` is accepted too.
/// Each URL is checked as a peer URL is, and kept as written (with its user info). The
/// regions are added to those of `to` (a name given again takes its new URL).
pub(crate) fn region_urls(
    to: &tower_eureka::server::RemoteRegions,
    v: &str,
) -> Result<tower_eureka::server::RemoteRegions, String> {
    let mut all: Vec<(String, String)> = to
        .urls()
        .map(|(n, u)| (n.to_owned(), u.to_owned()))
        .collect();
    for (name, url) in region_list(v)? {
        all.retain(|(n, _)| *n != name);
        all.push((name, url));
    }
    Ok(tower_eureka::server::RemoteRegions::new(all)
        .with_transparent_fallback(to.transparent_fallback()))
}

fn region_list(v: &str) -> Result<Vec<(String, String)>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (name, url) = entry
                .split_once(';')
                .or_else(|| entry.split_once('='))
                .ok_or_else(|| format!("{}: expected region;url", mask_userinfo(entry)))?;
            let name = name.trim().to_ascii_lowercase();
            if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '/') {
                return Err(format!("{:?}: not a region name", name));
            }
            PeerUrl::parse(url)
                .map_err(|e| format!("region {name}: {}: {}", mask_userinfo(&e.url), e.reason))?;
            Ok((name, url.trim().to_owned()))
        })
        .collect()
}

/// Remote regions as shown: `name;url`, user info left out.
pub(crate) fn join_region_urls(regions: &tower_eureka::server::RemoteRegions) -> String {
    regions
        .urls()
        .map(|(name, url)| {
            let shown = PeerUrl::parse(url).map_or_else(|_| mask_userinfo(url), |u| u.base());
            format!("{name};{shown}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Peer URLs as shown: `PeerUrl::base` leaves user info out.
pub(crate) fn join_urls(list: &[PeerUrl]) -> String {
    list.iter().map(PeerUrl::base).collect::<Vec<_>>().join(",")
}

/// A duration as whole milliseconds (saturating).
pub(crate) fn ms(d: Duration) -> String {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).to_string()
}

/// `scheme://user:password@host` with the password masked, for messages.
pub(crate) fn mask_userinfo(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, part) in v.split(',').enumerate() {
        if i > 0 {
            out.push(',');
        }
        match (part.find("://"), part.find('@')) {
            (Some(s), Some(at)) if at > s => {
                let user_end = part[s + 3..at].find(':').map_or(at, |c| s + 3 + c);
                out.push_str(&part[..user_end]);
                out.push_str(":****");
                out.push_str(&part[at..]);
            }
            _ => out.push_str(part),
        }
    }
    out
}

/// A Basic user name: not empty, no `:` (it ends the name in the header).
pub(crate) fn user_name(v: &str) -> Result<String, String> {
    let n = v.trim();
    if n.is_empty() || n.contains(':') {
        return Err("a user name is not empty and has no ':'".into());
    }
    Ok(n.to_owned())
}

/// A file path (read when the settings are complete).
pub(crate) fn file(v: &str) -> Result<PathBuf, String> {
    let p = v.trim();
    if p.is_empty() {
        return Err("expected a file path".into());
    }
    Ok(PathBuf::from(p))
}

pub(crate) fn show_path(p: &Option<PathBuf>) -> String {
    p.as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Why a dashboard path cannot work with the REST API at `prefix`, if it cannot: it must be
/// a plain absolute path and must not shadow `/health`, `/ready` or the REST API.
pub(crate) fn check_dashboard_path(path: &str, prefix: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("must start with '/'".into());
    }
    if path
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '?' || c == '#' || c == '%')
    {
        return Err("must be a plain path, without spaces, '?', '#' or '%'".into());
    }
    let base = path.trim_end_matches('/');
    if base == "/health" || base == "/ready" || base == "/metrics" {
        return Err("is taken by the health, readiness or metrics routes".into());
    }
    let prefix = prefix.trim_end_matches('/');
    // With the REST API at the root, its first path segments are taken.
    const REST_ROOTS: [&str; 10] = [
        "apps",
        "v1",
        "v2",
        "instances",
        "vips",
        "svips",
        "peerreplication",
        "asg",
        "status",
        "serverinfo",
    ];
    let first = base.trim_start_matches('/').split('/').next().unwrap_or("");
    if prefix.is_empty() && REST_ROOTS.contains(&first) {
        return Err("shadows a REST route: the REST API is at the root".into());
    }
    if !prefix.is_empty() && base.starts_with(&format!("{prefix}/")) {
        return Err(format!(
            "lies inside the REST prefix {prefix:?}, where it would shadow API routes"
        ));
    }
    Ok(())
}
