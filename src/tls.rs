//! TLS with rustls and its `ring` provider (feature `tls`): the PEM files both sides read
//! and the rustls configurations built from them.
//!
//! The server side is [`server_config`], given to
//! [`serve_tls`](crate::server::serve_tls) (the `eureka-server` binary's `--tls-cert` /
//! `--tls-key`). The client side trusts the Mozilla roots (`webpki-roots`) plus the CA
//! certificates you add: [`EurekaClientBuilder::ca_pem`] for the discovery client,
//! [`client_config`] in `ClusterConfig::peer_tls` (`--peer-ca`) for the peers.
//!
//! [`EurekaClientBuilder::ca_pem`]: crate::client::EurekaClientBuilder::ca_pem
//!
//! ```
//! let err = tower_eureka::tls::certificates(b"not a certificate").unwrap_err();
//! assert!(err.to_string().contains("no CERTIFICATE"));
//! ```

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::fmt;
use std::sync::Arc;

pub use rustls;

/// A PEM file or key that cannot be used, with the reason.
#[derive(Debug)]
pub struct TlsError {
    reason: String,
}

impl TlsError {
    fn new(reason: impl Into<String>) -> Self {
        TlsError {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for TlsError {}

/// The ring provider: the only one this crate builds with.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every `CERTIFICATE` block of `pem`, in order; an error when there is none or one is
/// malformed.
pub fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::new(format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError::new("no CERTIFICATE block in the PEM data"));
    }
    Ok(certs)
}

/// The rustls server configuration of a certificate chain and its private key (PEM; the
/// key as PKCS#8, PKCS#1 or SEC1), HTTP/1.1 by ALPN.
pub fn server_config(
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs = certificates(cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| TlsError::new(format!("no usable PRIVATE KEY in the PEM data: {e}")))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::new(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::new(format!("the key does not fit the certificate: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A rustls client configuration trusting the Mozilla roots and `extra_roots` (see
/// [`certificates`]): what `ClusterConfig::peer_tls` takes (the peer client sets ALPN
/// itself).
pub fn client_config(
    extra_roots: &[CertificateDer<'static>],
) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for c in extra_roots {
        roots
            .add(c.clone())
            .map_err(|e| TlsError::new(format!("unusable CA certificate: {e}")))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::new(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_mismatched_keys_are_refused_with_a_reason() {
        let a =
            rcgen::generate_simple_self_signed(vec!["localhost".into()]).map_err(|e| e.to_string());
        let b =
            rcgen::generate_simple_self_signed(vec!["localhost".into()]).map_err(|e| e.to_string());
        let (Ok(a), Ok(b)) = (a, b) else {
            panic!("rcgen");
        };
        let cert = a.cert.pem();
        let key = a.key_pair.serialize_pem();
        assert!(server_config(cert.as_bytes(), key.as_bytes()).is_ok());
        let Err(e) = server_config(b"garbage", key.as_bytes()) else {
            panic!("garbage cert accepted");
        };
        assert!(e.to_string().contains("CERTIFICATE"), "{e}");
        let Err(e) = server_config(cert.as_bytes(), b"garbage") else {
            panic!("garbage key accepted");
        };
        assert!(e.to_string().contains("PRIVATE KEY"), "{e}");
        let other = b.key_pair.serialize_pem();
        assert!(server_config(cert.as_bytes(), other.as_bytes()).is_err());
        assert!(client_config(&certificates(cert.as_bytes()).unwrap_or_default()).is_ok());
    }
}
