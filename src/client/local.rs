//! Local address detection for the instance record.

use crate::model::{InstanceInfo, InstanceInfoBuilder};
use std::net::{IpAddr, Ipv4Addr, UdpSocket};

/// A non-loopback IP address of this host, or `127.0.0.1` when there is none.
///
/// Connects a UDP socket to a TEST-NET-1 address (RFC 5737) and reads the local address the
/// kernel picked for that route. No packet is sent.
pub fn detect_ip_addr() -> IpAddr {
    let probe = || -> std::io::Result<IpAddr> {
        let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9))?;
        Ok(socket.local_addr()?.ip())
    };
    match probe() {
        Ok(ip) if !ip.is_unspecified() => ip,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

/// This host's name: the `HOSTNAME` environment variable, else `/etc/hostname`, else the
/// detected IP address.
pub fn detect_host_name() -> String {
    let from_env = std::env::var("HOSTNAME")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| valid_host(h));
    from_env
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| valid_host(h))
        })
        .unwrap_or_else(|| detect_ip_addr().to_string())
}

fn valid_host(h: &str) -> bool {
    !h.is_empty() && !h.contains(|c: char| c.is_whitespace() || c == '/')
}

/// An instance builder for `app` with this host's detected name and IP address
/// ([`detect_host_name`], [`detect_ip_addr`]).
///
/// Everything can still be overridden on the returned builder (host name, IP, port, VIPs,
/// metadata, instance id). The instance id defaults to `{host}:{app lower-case}:{port}`
/// (C-04).
///
/// ```
/// use tower_eureka::client::local_instance;
/// let me = local_instance("orders").host_name("orders-1").port(8081).build();
/// assert_eq!(me.id(), "orders-1:orders:8081");
/// assert!(!me.ip_addr.is_empty());
/// ```
pub fn local_instance(app: impl AsRef<str>) -> InstanceInfoBuilder {
    let ip = detect_ip_addr().to_string();
    InstanceInfo::builder(app)
        .host_name(detect_host_name())
        .ip_addr(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_never_comes_back_empty() {
        let ip = detect_ip_addr();
        assert!(!ip.is_unspecified());
        let host = detect_host_name();
        assert!(valid_host(&host), "{host:?}");
    }
}
