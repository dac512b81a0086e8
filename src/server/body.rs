//! Request bodies: size-limited collection and gzip request decoding (E-08).

use bytes::Bytes;
use http::HeaderMap;
use http_body::Body;
use http_body_util::{BodyExt, Limited};
use std::io::Read as _;

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Over the configured limit (413).
    TooLarge(usize),
    /// Transport error or a bad gzip stream (400).
    Unreadable(String),
    /// A `Content-Encoding` we do not speak (415).
    UnsupportedEncoding(String),
}

impl BodyError {
    pub(crate) fn reason(&self) -> String {
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
pub(crate) async fn read_body<B>(
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

/// Parses a URL query into decoded `(key, value)` pairs (`+` is a space).
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = query else { return Vec::new() };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

fn decode_component(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// The first value of query parameter `name`.
pub(crate) fn query_param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = query_pairs(Some("a=1&b=x%3Ay&c=hello+world&d&a=2"));
        assert_eq!(query_param(&q, "a"), Some("1"));
        assert_eq!(query_param(&q, "b"), Some("x:y"));
        assert_eq!(query_param(&q, "c"), Some("hello world"));
        assert_eq!(query_param(&q, "d"), Some(""));
        assert_eq!(query_param(&q, "z"), None);
    }

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
