//! The HTTP client peers are called with: hyper-util's pooled client, plain HTTP or (feature
//! `tls`) HTTPS through hyper-rustls, Basic credentials from the peer URL, one overall
//! timeout per request, gzip answers accepted (P-10).

use bytes::Bytes;
use http::header::{
    HeaderValue, ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE,
};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::io::Read as _;
use std::time::Duration;

/// Largest answer read from a peer (a full registry).
const MAX_ANSWER: usize = 256 * 1024 * 1024;

/// Why a request produced no answer.
#[derive(Debug)]
pub(crate) enum CallError {
    /// No answer within the timeout (a black hole, a slow peer).
    Timeout,
    /// Connect refused, reset, not HTTP, unreadable body.
    Io(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Timeout => f.write_str("timed out"),
            CallError::Io(e) => f.write_str(e),
        }
    }
}

/// A peer's answer: status, headers that matter, decoded body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) syncing: bool,
    pub(crate) body: Bytes,
}

#[cfg(feature = "tls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "tls"))]
type Connector = HttpConnector;

#[derive(Clone, Debug)]
pub(crate) struct PeerClient {
    client: Client<Connector, Full<Bytes>>,
    timeout: Duration,
}

impl PeerClient {
    /// A client for `http://` peers, and with the `tls` feature `https://` peers whose
    /// certificates chain to `tls` roots.
    pub(crate) fn new(
        timeout: Duration,
        #[cfg(feature = "tls")] mut tls: rustls::ClientConfig,
    ) -> PeerClient {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        #[cfg(feature = "tls")]
        let connector = {
            connector.enforce_http(false);
            // The connector sets ALPN from the HTTP versions it enables (and panics when
            // the configuration already has some).
            tls.alpn_protocols.clear();
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls)
                .https_or_http()
                .enable_http1()
                .wrap_connector(connector)
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        PeerClient { client, timeout }
    }

    /// `POST url` with a JSON body, as a Java peer sends batches (P-10).
    pub(crate) async fn post_json(
        &self,
        url: &str,
        auth: Option<&HeaderValue>,
        body: Bytes,
    ) -> Result<Answer, CallError> {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .header(ACCEPT_ENCODING, "gzip")
            .header("x-netflix-discovery-replication", "true")
            .header("DiscoveryIdentity-Name", "tower-eureka")
            .body(Full::new(body))
            .map_err(|e| CallError::Io(e.to_string()))?;
        authorize(&mut req, auth);
        self.call(req).await
    }

    /// `GET url` for JSON, gzip accepted.
    pub(crate) async fn get_json(
        &self,
        url: &str,
        auth: Option<&HeaderValue>,
    ) -> Result<Answer, CallError> {
        let mut req = Request::builder()
            .method(Method::GET)
            .uri(url)
            .header(ACCEPT, "application/json")
            .header(ACCEPT_ENCODING, "gzip")
            .header("DiscoveryIdentity-Name", "tower-eureka")
            .body(Full::new(Bytes::new()))
            .map_err(|e| CallError::Io(e.to_string()))?;
        authorize(&mut req, auth);
        self.call(req).await
    }

    async fn call(&self, req: Request<Full<Bytes>>) -> Result<Answer, CallError> {
        let fut = async {
            let res = self
                .client
                .request(req)
                .await
                .map_err(|e| CallError::Io(format!("{e:?}")))?;
            let (parts, body) = res.into_parts();
            let raw = Limited::new(body, MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| CallError::Io(format!("reading the answer: {e}")))?
                .to_bytes();
            let gzip = parts
                .headers
                .get(CONTENT_ENCODING)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
            let body = if gzip { gunzip(&raw)? } else { raw };
            Ok(Answer {
                status: parts.status,
                syncing: parts.headers.contains_key("x-eureka-syncing"),
                body,
            })
        };
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(CallError::Timeout),
        }
    }
}

fn authorize(req: &mut Request<Full<Bytes>>, auth: Option<&HeaderValue>) {
    if let Some(v) = auth {
        req.headers_mut().insert(AUTHORIZATION, v.clone());
    }
}

fn gunzip(data: &[u8]) -> Result<Bytes, CallError> {
    let mut out = Vec::new();
    let limit = u64::try_from(MAX_ANSWER).unwrap_or(u64::MAX);
    flate2::read::GzDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| CallError::Io(format!("bad gzip answer: {e}")))?;
    Ok(Bytes::from(out))
}
