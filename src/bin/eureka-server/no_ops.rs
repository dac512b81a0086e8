//! Keys Spring users write that mean nothing to this server: accepted and named as such,
//! never an error (see the settings table in `settings.rs`).

/// Keys real Spring Eureka server files set that mean nothing here: accepted, with a note.
pub(crate) static NO_OPS: &[(&str, &str)] = &[
    (
        "eureka.client.register-with-eureka",
        "this server never registers with itself",
    ),
    (
        "eureka.client.fetch-registry",
        "the startup copy from the peers is always on (eureka.server.peer-sync-budget-ms)",
    ),
    ("spring.application.name", "the registry has no application name"),
    (
        "eureka.server.use-read-only-response-cache",
        "there is no read-only cache: GETs are at most eureka.server.response-cache-update-interval-ms old",
    ),
    (
        "eureka.server.wait-time-in-ms-when-sync-empty",
        "reads open when the startup sync ends (eureka.server.peer-sync-budget-ms)",
    ),
    ("eureka.server.batch-replication", "replication is always batched"),
    (
        "eureka.server.response-cache-auto-expiration-in-seconds",
        "there is no read/write cache: payloads are encoded once per change",
    ),
    (
        "eureka.server.registry-sync-retries",
        "the startup sync is bounded by eureka.server.peer-sync-budget-ms",
    ),
    (
        "eureka.server.registry-sync-retry-wait-ms",
        "the startup sync is bounded by eureka.server.peer-sync-budget-ms",
    ),
    (
        "eureka.server.peer-node-connect-timeout-ms",
        "eureka.server.peer-node-read-timeout-ms bounds the whole request, connect included",
    ),
    (
        "eureka.server.max-threads-for-peer-replication",
        "replication runs on the async runtime, without a thread pool",
    ),
];
