//! [`serve`] and [`serve_tls`]: the accept loop the standalone binary runs, with graceful
//! shutdown, over plain TCP or TLS.

use super::service::EurekaService;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Longest TLS handshake a connection gets before it is dropped.
#[cfg(feature = "tls")]
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `service` on `listener` until `shutdown` completes, then lets open connections
/// finish (at most `grace`).
///
/// This is what the `eureka-server` binary runs; tests and benches use it too.
///
/// ```no_run
/// # async fn doc() -> std::io::Result<()> {
/// use tower_eureka::server::{serve, EurekaService, ServerConfig};
/// let service = EurekaService::new(ServerConfig { prefix: "/eureka".into(), ..Default::default() });
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8761").await?;
/// serve(listener, service, std::future::pending::<()>(), std::time::Duration::from_secs(5)).await
/// # }
/// ```
pub async fn serve<F>(
    listener: TcpListener,
    service: EurekaService,
    shutdown: F,
    grace: Duration,
) -> std::io::Result<()>
where
    F: Future<Output = ()>,
{
    run(listener, service, shutdown, grace, Acceptor::Plain).await
}

/// [`serve`] over TLS (feature `tls`): every connection is a TLS handshake with `tls` (made
/// by [`tls::server_config`](crate::tls::server_config)), then HTTP/1.1. A failed or
/// slow (over 10 s) handshake drops that connection only.
///
/// ```no_run
/// # async fn doc() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_eureka::server::{serve_tls, EurekaService, ServerConfig};
/// let tls = tower_eureka::tls::server_config(
///     &tokio::fs::read("cert.pem").await?,
///     &tokio::fs::read("key.pem").await?,
/// )?;
/// let service = EurekaService::new(ServerConfig { prefix: "/eureka".into(), ..Default::default() });
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8761").await?;
/// let grace = std::time::Duration::from_secs(5);
/// serve_tls(listener, tls, service, std::future::pending::<()>(), grace).await?;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "tls")]
pub async fn serve_tls<F>(
    listener: TcpListener,
    tls: std::sync::Arc<rustls::ServerConfig>,
    service: EurekaService,
    shutdown: F,
    grace: Duration,
) -> std::io::Result<()>
where
    F: Future<Output = ()>,
{
    let acceptor = Acceptor::Tls(tokio_rustls::TlsAcceptor::from(tls));
    run(listener, service, shutdown, grace, acceptor).await
}

/// What a TCP connection goes through before HTTP.
#[derive(Clone)]
enum Acceptor {
    Plain,
    #[cfg(feature = "tls")]
    Tls(tokio_rustls::TlsAcceptor),
}

async fn run<F>(
    listener: TcpListener,
    service: EurekaService,
    shutdown: F,
    grace: Duration,
    acceptor: Acceptor,
) -> std::io::Result<()>
where
    F: Future<Output = ()>,
{
    let graceful = GracefulShutdown::new();
    // Every connection's task, so that what is still open when the grace period ends is
    // really closed (a watching delta may wait for minutes).
    let mut connections = tokio::task::JoinSet::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Slowloris: a head that does not arrive in time closes the connection.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(service.config().header_read_timeout);
    let permits = Arc::new(Semaphore::new(service.config().max_connections.max(1)));
    // Load shedding beyond `max_concurrent_requests` requests in progress (issue 11).
    let shed = service.shed_or_count();
    tokio::pin!(shutdown);
    loop {
        // Reap finished connections: the set holds only open ones.
        while connections.try_join_next().is_some() {}
        // At the connection limit, stop accepting: new connections wait in the backlog.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and similar: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let hyper_service = TowerToHyperService::new(tower::Layer::layer(&shed, service.clone()));
                match &acceptor {
                    Acceptor::Plain => {
                        let conn = builder.serve_connection(TokioIo::new(stream), hyper_service);
                        let conn = graceful.watch(conn.into_owned());
                        connections.spawn(async move {
                            let _permit = permit;
                            if let Err(e) = conn.await {
                                tracing::debug!(%peer, error = %e, "connection ended with an error");
                            }
                        });
                    }
                    #[cfg(feature = "tls")]
                    Acceptor::Tls(tls) => {
                        let (tls, builder, watcher) = (tls.clone(), builder.clone(), graceful.watcher());
                        connections.spawn(async move {
                            let _permit = permit;
                            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                                Ok(Ok(s)) => s,
                                Ok(Err(e)) => {
                                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!(%peer, "TLS handshake timed out");
                                    return;
                                }
                            };
                            let conn = builder.serve_connection(TokioIo::new(stream), hyper_service);
                            if let Err(e) = watcher.watch(conn.into_owned()).await {
                                tracing::debug!(%peer, error = %e, "connection ended with an error");
                            }
                        });
                    }
                }
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::info!(open = connections.len(), "grace period over; closing remaining connections");
        }
    }
    connections.shutdown().await;
    Ok(())
}
