//! An axum app with its own routes that mounts the Eureka registry at `/eureka`, behind
//! tower-http compression and tracing layers.
//!
//! ```text
//! cargo run --example axum_mount -- 127.0.0.1:8761
//! curl http://127.0.0.1:8761/                 # the app's own route
//! curl http://127.0.0.1:8761/eureka/apps      # the registry
//! ```
//!
//! The registry already serves pre-compressed `/apps` payloads when the client accepts gzip;
//! the compression layer skips responses that carry a `Content-Encoding`, so it only
//! compresses the app's own routes.

use axum::routing::get;
use axum::Router;
use tower_eureka::server::{EurekaService, ServerConfig};
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=debug".into()),
        )
        .init();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8761".to_owned());

    // The registry: routes relative to its mount point (axum strips `/eureka`).
    let registry = EurekaService::new(ServerConfig::default());

    let app = Router::new()
        .route(
            "/",
            get(|| async { "my app, with a Eureka registry at /eureka\n" }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .nest_service("/eureka", registry)
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http());

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    // Ctrl-C or SIGTERM: stop accepting, let open requests finish.
    axum::serve(listener, app)
        .with_graceful_shutdown(tower_eureka::signal::shutdown_signal())
        .await
}
