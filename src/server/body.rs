//! Request bodies: size-limited collection and gzip request decoding (E-08).
//!
//! Only register and the replication batch read their body; every other route ignores it
//! (E-09).

use bytes::Bytes;
use http::HeaderMap;
use http_body::Body;
use http_body_util::{BodyExt, Limited};
use std::io::Read as _;

/// Why a body could not be read.
#[derive(Debug)]
pub(super) enum BodyError {
    /// Over the configured limit (413).
    TooLarge(usize),
    /// Transport error or a bad gzip stream (400).
    Unreadable(String),
    /// A `Content-Encoding` we do not speak (415).
    UnsupportedEncoding(String),
}

impl BodyError {
    /// The one-line reason of the 4xx answer.
    pub(super) fn reason(&self) -> String {
        match self {
            BodyError::TooLarge(max) => format!("request body exceeds the limit of {max} bytes"),
            BodyError::Unreadable(why) => format!("cannot read request body: {why}"),
            BodyError::UnsupportedEncoding(enc) => {
                format!("unsupported Content-Encoding {enc:?}; only gzip and identity are accepted")
            }
        }
    }
}

/// Reads the whole body, at most `max` bytes on the wire and `max` bytes after decoding.
pub(super) async fn read_body<B>(
    headers: &HeaderMap,
    body: B,
    max: usize,
) -> Result<Bytes, BodyError>
where
    B: Body,
    B::Error: Into<crate::BoxError>,
{
    let collected = match Limited::new(body, max).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            if e.is::<http_body_util::LengthLimitError>() {
                return Err(BodyError::TooLarge(max));
            }
            return Err(BodyError::Unreadable(e.to_string()));
        }
    };
    let encoding = headers.get(http::header::CONTENT_ENCODING).map(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .trim()
            .to_ascii_lowercase()
    });
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(collected),
        Some("gzip") | Some("x-gzip") => gunzip(&collected, max),
        Some(other) => Err(BodyError::UnsupportedEncoding(other.to_owned())),
    }
}

fn gunzip(data: &[u8], max: usize) -> Result<Bytes, BodyError> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::GzDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| BodyError::Unreadable(format!("bad gzip body: {e}")))?;
    if out.len() > max {
        return Err(BodyError::TooLarge(max));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn e08_gzip_request_bodies_and_limits() {
        use std::io::Write as _;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&[b'x'; 1000]).unwrap_or_default();
        let gz = enc.finish().unwrap_or_default();
        let mut h = HeaderMap::new();
        h.insert(
            http::header::CONTENT_ENCODING,
            "gzip"
                .parse()
                .unwrap_or(http::HeaderValue::from_static("gzip")),
        );
        let body = http_body_util::Full::new(Bytes::from(gz.clone()));
        let out = read_body(&h, body, 2000).await;
        assert!(matches!(out, Ok(ref b) if b.len() == 1000));
        // Decompressed size is limited too (zip bombs).
        let body = http_body_util::Full::new(Bytes::from(gz));
        assert!(matches!(
            read_body(&h, body, 500).await,
            Err(BodyError::TooLarge(500))
        ));
        let body = http_body_util::Full::new(Bytes::from(vec![0u8; 600]));
        assert!(matches!(
            read_body(&HeaderMap::new(), body, 500).await,
            Err(BodyError::TooLarge(_))
        ));
    }
}
