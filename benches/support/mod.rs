//! What the whole-server bench drivers (`load`, `soak`) share: readings of a child
//! process from `/proc`, and the registration body they send.

use bytes::Bytes;
use std::process::Command;

/// CPU time (user + system, all threads, in seconds) that process `pid` has used, from
/// `/proc/<pid>/stat`; `None` where that file is missing.
pub(crate) fn cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the `(comm)`, which may itself hold spaces: state is field 3, utime 14,
    // stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / clock_ticks())
}

/// `getconf CLK_TCK`, the unit of `/proc/<pid>/stat` times (100 on Linux almost always).
fn clock_ticks() -> f64 {
    static TCK: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TCK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// Resident set size of process `pid` in KiB (`VmRSS` of `/proc/<pid>/status`), 0 when
/// the process is gone.
pub(crate) fn rss_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The JSON registration of instance `n` as a Spring client sends it: id `inst-{n}`, app
/// `APP-{n % 100}`, VIP the app's name in lower case, `lastDirtyTimestamp` 1700000000000.
pub(crate) fn register_body(n: u64) -> Bytes {
    let app = format!("APP-{}", n % 100);
    Bytes::from(format!(
        r#"{{"instance":{{"instanceId":"inst-{n}","hostName":"host-{n}.internal","app":"{app}","ipAddr":"10.{}.{}.{}","status":"UP","overriddenStatus":"UNKNOWN","port":{{"$":8080,"@enabled":"true"}},"securePort":{{"$":443,"@enabled":"false"}},"countryId":1,"dataCenterInfo":{{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo","name":"MyOwn"}},"leaseInfo":{{"renewalIntervalInSecs":30,"durationInSecs":90,"registrationTimestamp":0,"lastRenewalTimestamp":0,"evictionTimestamp":0,"serviceUpTimestamp":0}},"metadata":{{"zone":"zone-a","management.port":"8081"}},"homePageUrl":"http://host-{n}.internal:8080/","statusPageUrl":"http://host-{n}.internal:8080/actuator/info","healthCheckUrl":"http://host-{n}.internal:8080/actuator/health","vipAddress":"{lower}","secureVipAddress":"{lower}","isCoordinatingDiscoveryServer":"false","lastUpdatedTimestamp":"1700000000000","lastDirtyTimestamp":"1700000000000"}}}}"#,
        (n >> 16) & 255,
        (n >> 8) & 255,
        n & 255,
        lower = app.to_lowercase(),
    ))
}
