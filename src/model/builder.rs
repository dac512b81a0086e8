use super::{
    normalize_app_name, DataCenterInfo, InstanceInfo, LeaseInfo, Metadata, PortWrapper, Status,
};

/// Builds an [`InstanceInfo`] with the defaults a Spring Boot service would register.
///
/// Defaults: host name `localhost`, IP `127.0.0.1`, port 8080 enabled, secure port 443
/// disabled, status `UP`, `MyOwn` data center, lease 30 s / 90 s, VIP and secure VIP the
/// lower-case app name, instance id `{host}:{app lower-case}:{port}` (C-04), home, status
/// and health URLs on the host and port.
///
/// ```
/// use tower_eureka::model::InstanceInfo;
/// let i = InstanceInfo::builder("billing").host_name("b1").port(9000).metadata("zone", "a").build();
/// assert_eq!(i.id(), "b1:billing:9000");
/// assert_eq!(i.vip_address.as_deref(), Some("billing"));
/// assert_eq!(i.home_page_url.as_deref(), Some("http://b1:9000/"));
/// ```
#[derive(Clone, Debug)]
pub struct InstanceInfoBuilder {
    app: String,
    instance_id: Option<String>,
    host_name: String,
    ip_addr: String,
    status: Status,
    port: PortWrapper,
    secure_port: PortWrapper,
    data_center_info: DataCenterInfo,
    lease_info: LeaseInfo,
    metadata: Metadata,
    app_group_name: Option<String>,
    vip_address: Option<String>,
    secure_vip_address: Option<String>,
    home_page_url: Option<String>,
    status_page_url: Option<String>,
    health_check_url: Option<String>,
    secure_health_check_url: Option<String>,
    last_dirty_timestamp: u64,
    asg_name: Option<String>,
}

impl InstanceInfoBuilder {
    pub(super) fn new(app: &str) -> Self {
        InstanceInfoBuilder {
            app: normalize_app_name(app),
            instance_id: None,
            host_name: "localhost".into(),
            ip_addr: "127.0.0.1".into(),
            status: Status::Up,
            port: PortWrapper::enabled(8080),
            secure_port: PortWrapper::disabled(443),
            data_center_info: DataCenterInfo::my_own(),
            lease_info: LeaseInfo::default(),
            metadata: Metadata::new(),
            app_group_name: None,
            vip_address: None,
            secure_vip_address: None,
            home_page_url: None,
            status_page_url: None,
            health_check_url: None,
            secure_health_check_url: None,
            last_dirty_timestamp: 0,
            asg_name: None,
        }
    }

    /// Explicit instance id (default `{host}:{app lower-case}:{port}`).
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = Some(id.into());
        self
    }

    /// Host name.
    pub fn host_name(mut self, host: impl Into<String>) -> Self {
        self.host_name = host.into();
        self
    }

    /// IP address.
    pub fn ip_addr(mut self, ip: impl Into<String>) -> Self {
        self.ip_addr = ip.into();
        self
    }

    /// Initial status (default `UP`).
    pub fn status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    /// Non-secure port, enabled.
    pub fn port(mut self, port: u16) -> Self {
        self.port = PortWrapper::enabled(port);
        self
    }

    /// Non-secure port with an explicit enabled flag.
    pub fn port_wrapper(mut self, port: PortWrapper) -> Self {
        self.port = port;
        self
    }

    /// Secure port, enabled.
    pub fn secure_port(mut self, port: u16) -> Self {
        self.secure_port = PortWrapper::enabled(port);
        self
    }

    /// Secure port with an explicit enabled flag.
    pub fn secure_port_wrapper(mut self, port: PortWrapper) -> Self {
        self.secure_port = port;
        self
    }

    /// Data-center info (default `MyOwn`).
    pub fn data_center_info(mut self, dci: DataCenterInfo) -> Self {
        self.data_center_info = dci;
        self
    }

    /// Lease renewal interval and duration in seconds (defaults 30 and 90).
    pub fn lease(mut self, renewal_interval_secs: u32, duration_secs: u32) -> Self {
        self.lease_info = LeaseInfo::new(renewal_interval_secs, duration_secs);
        self
    }

    /// Adds one metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key, value);
        self
    }

    /// Application group name (upper-cased).
    pub fn app_group_name(mut self, group: impl AsRef<str>) -> Self {
        self.app_group_name = Some(normalize_app_name(group.as_ref()));
        self
    }

    /// Comma-separated VIP addresses (default: the lower-case app name).
    pub fn vip_address(mut self, vip: impl Into<String>) -> Self {
        self.vip_address = Some(vip.into());
        self
    }

    /// Comma-separated secure VIP addresses (default: the lower-case app name).
    pub fn secure_vip_address(mut self, vip: impl Into<String>) -> Self {
        self.secure_vip_address = Some(vip.into());
        self
    }

    /// Home page URL (default `http://{host}:{port}/`).
    pub fn home_page_url(mut self, url: impl Into<String>) -> Self {
        self.home_page_url = Some(url.into());
        self
    }

    /// Status page URL (default `http://{host}:{port}/actuator/info`).
    pub fn status_page_url(mut self, url: impl Into<String>) -> Self {
        self.status_page_url = Some(url.into());
        self
    }

    /// Health check URL (default `http://{host}:{port}/actuator/health`).
    pub fn health_check_url(mut self, url: impl Into<String>) -> Self {
        self.health_check_url = Some(url.into());
        self
    }

    /// Secure health check URL (default none).
    pub fn secure_health_check_url(mut self, url: impl Into<String>) -> Self {
        self.secure_health_check_url = Some(url.into());
        self
    }

    /// `lastDirtyTimestamp` in epoch ms (default 0; clients set it when registering).
    pub fn last_dirty_timestamp(mut self, ts: u64) -> Self {
        self.last_dirty_timestamp = ts;
        self
    }

    /// AWS auto-scaling group name.
    pub fn asg_name(mut self, asg: impl Into<String>) -> Self {
        self.asg_name = Some(asg.into());
        self
    }

    /// Builds the record.
    pub fn build(self) -> InstanceInfo {
        let lower = self.app.to_lowercase();
        let base = format!("http://{}:{}", self.host_name, self.port.port);
        let instance_id = self
            .instance_id
            .unwrap_or_else(|| format!("{}:{}:{}", self.host_name, lower, self.port.port));
        InstanceInfo {
            instance_id: Some(instance_id),
            host_name: self.host_name,
            ip_addr: self.ip_addr,
            sid: None,
            status: self.status,
            overridden_status: Status::Unknown,
            port: self.port,
            secure_port: self.secure_port,
            country_id: 1,
            data_center_info: self.data_center_info,
            lease_info: self.lease_info,
            metadata: self.metadata,
            app_group_name: self.app_group_name,
            home_page_url: Some(self.home_page_url.unwrap_or_else(|| format!("{base}/"))),
            status_page_url: Some(
                self.status_page_url
                    .unwrap_or_else(|| format!("{base}/actuator/info")),
            ),
            health_check_url: Some(
                self.health_check_url
                    .unwrap_or_else(|| format!("{base}/actuator/health")),
            ),
            secure_health_check_url: self.secure_health_check_url,
            vip_address: Some(self.vip_address.unwrap_or_else(|| lower.clone())),
            secure_vip_address: Some(self.secure_vip_address.unwrap_or(lower)),
            is_coordinating_discovery_server: false,
            last_updated_timestamp: 0,
            last_dirty_timestamp: self.last_dirty_timestamp,
            action_type: None,
            asg_name: self.asg_name,
            app: self.app,
        }
    }
}
