//! The HTTP client peers are called with: hyper-util's pooled client, plain HTTP or (feature
//! `tls`) HTTPS through hyper-rustls, one overall timeout per request, gzip answers accepted
//! (P-10). Requests to a peer whose URL had user info carry its `Authorization: Basic`
//! header: the client keeps each peer's header by base URL, so callers pass plain URLs.

use super::config::PeerUrl;
use arc_swap::ArcSwap;
use bytes::Bytes;
use http::header::{
    HeaderValue, ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE,
};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::io::Read as _;
use std::sync::Arc;
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
    /// `(base URL, Authorization)` of every peer with credentials (a handful), shared by
    /// the clones and replaced when the peer list changes (P-43).
    credentials: Arc<ArcSwap<Vec<(String, HeaderValue)>>>,
}

/// The credentials of `peers` that have some, by base URL.
fn credentials_of(peers: &[PeerUrl]) -> Vec<(String, HeaderValue)> {
    peers
        .iter()
        .filter_map(|p| Some((p.base(), p.authorization()?.clone())))
        .collect()
}

impl PeerClient {
    /// A client for `http://` peers, and with the `tls` feature `https://` peers whose
    /// certificates chain to `tls` roots; requests under a URL of `peers` carry its
    /// credentials.
    pub(crate) fn new(
        timeout: Duration,
        peers: &[PeerUrl],
        #[cfg(feature = "tls")] mut tls: rustls::ClientConfig,
    ) -> PeerClient {
        let credentials = Arc::new(ArcSwap::from_pointee(credentials_of(peers)));
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
        PeerClient {
            client,
            timeout,
            credentials,
        }
    }

    /// `POST url` with a JSON body, as a Java peer sends batches (P-10).
    pub(crate) async fn post_json(&self, url: &str, body: Bytes) -> Result<Answer, CallError> {
        let req = Request::builder()
            .method(Method::POST)
            .uri(url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .header(ACCEPT_ENCODING, "gzip")
            .header("x-netflix-discovery-replication", "true")
            .header("DiscoveryIdentity-Name", "tower-eureka")
            .body(Full::new(body))
            .map_err(|e| CallError::Io(e.to_string()))?;
        self.call(req).await
    }

    /// `GET url` for JSON, gzip accepted.
    pub(crate) async fn get_json(&self, url: &str) -> Result<Answer, CallError> {
        let req = Request::builder()
            .method(Method::GET)
            .uri(url)
            .header(ACCEPT, "application/json")
            .header(ACCEPT_ENCODING, "gzip")
            .header("DiscoveryIdentity-Name", "tower-eureka")
            .body(Full::new(Bytes::new()))
            .map_err(|e| CallError::Io(e.to_string()))?;
        self.call(req).await
    }

    /// Requests under a URL of `peers` carry its credentials from now on (the peer list
    /// changed, P-43); other peers' credentials are forgotten.
    pub(crate) fn set_peers(&self, peers: &[PeerUrl]) {
        self.credentials.store(Arc::new(credentials_of(peers)));
    }

    /// Adds the credentials of the peer whose base URL `req` is under (the longest such
    /// base), if it has some.
    fn authorize(&self, req: &mut Request<Full<Bytes>>) {
        let credentials = self.credentials.load();
        if credentials.is_empty() {
            return;
        }
        let url = req.uri().to_string();
        let peer = credentials
            .iter()
            .filter(|(base, _)| url.starts_with(base.as_str()))
            .max_by_key(|(base, _)| base.len());
        if let Some((_, v)) = peer {
            req.headers_mut().insert(AUTHORIZATION, v.clone());
        }
    }

    async fn call(&self, mut req: Request<Full<Bytes>>) -> Result<Answer, CallError> {
        self.authorize(&mut req);
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

/// What the sender needs of the network: the batch POST and the idle check's GET.
/// [`PeerClient`] is the real one; the sender's tests answer in-process on paused time.
pub(crate) trait Transport: Clone + Send + Sync + 'static {
    /// `POST url` with a JSON batch body (P-10).
    fn post_json(
        &self,
        url: &str,
        body: Bytes,
    ) -> impl Future<Output = Result<Answer, CallError>> + Send;

    /// `GET url` for JSON.
    fn get_json(&self, url: &str) -> impl Future<Output = Result<Answer, CallError>> + Send;
}

impl Transport for PeerClient {
    fn post_json(
        &self,
        url: &str,
        body: Bytes,
    ) -> impl Future<Output = Result<Answer, CallError>> + Send {
        PeerClient::post_json(self, url, body)
    }

    fn get_json(&self, url: &str) -> impl Future<Output = Result<Answer, CallError>> + Send {
        PeerClient::get_json(self, url)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(s: &str) -> PeerUrl {
        match PeerUrl::parse(s) {
            Ok(u) => u,
            Err(e) => panic!("{e}"),
        }
    }

    fn auth_of(client: &PeerClient, url: &str) -> Option<HeaderValue> {
        let mut req = Request::get(url)
            .body(Full::new(Bytes::new()))
            .unwrap_or_default();
        client.authorize(&mut req);
        req.headers().get(AUTHORIZATION).cloned()
    }

    // P-10 with credentials: each peer's requests carry its own user info, none else.
    #[test]
    fn requests_carry_the_credentials_of_their_peer() {
        let peers = [
            peer("http://a:1@h:1/eureka/"),
            peer("http://b:2@h:1/eureka/x/"),
            peer("http://h:2/eureka/"),
        ];
        let client = PeerClient::new(
            Duration::from_secs(1),
            &peers,
            #[cfg(feature = "tls")]
            match crate::tls::client_config(&[]) {
                Ok(c) => c,
                Err(e) => panic!("{e}"),
            },
        );
        let basic =
            |s: &str| Some(HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static("")));
        // base64("a:1"), base64("b:2")
        assert_eq!(
            auth_of(&client, "http://h:1/eureka/apps/"),
            basic("Basic YTox")
        );
        assert_eq!(
            auth_of(&client, "http://h:1/eureka/x/apps/"),
            basic("Basic Yjoy")
        );
        assert_eq!(auth_of(&client, "http://h:2/eureka/apps/"), None);
        assert_eq!(auth_of(&client, "http://h:3/eureka/apps/"), None);
    }
}
