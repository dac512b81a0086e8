//! Request bodies: size-limited collection and gzip request decoding (E-08).

use bytes::Bytes;
use http::HeaderMap;
use http_body::Body;
use http_body_util::{BodyExt, Limited};
use std::borrow::Cow;
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

/// A request's URL query, decoded lazily: looking up a parameter allocates only when its
/// value carries escapes (`%XX` or `+`).
#[derive(Debug, Default)]
pub(crate) struct Query(Option<Box<str>>);

impl Query {
    pub(crate) fn new(raw: Option<&str>) -> Self {
        Query(raw.filter(|q| !q.is_empty()).map(Box::from))
    }

    fn raw_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
    }

    /// The first value of parameter `name`, decoded.
    pub(crate) fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        self.raw_pairs()
            .find(|(k, _)| decode_component(k) == name)
            .map(|(_, v)| decode_component(v))
    }

    /// Every `(key, value)` pair, decoded, in order.
    pub(crate) fn pairs(&self) -> Vec<(String, String)> {
        self.raw_pairs()
            .map(|(k, v)| {
                (
                    decode_component(k).into_owned(),
                    decode_component(v).into_owned(),
                )
            })
            .collect()
    }
}

fn decode_component(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let spaced = s.replace('+', " ");
    Cow::Owned(
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = Query::new(Some("a=1&b=x%3Ay&c=hello+world&d&a=2&k%20y=v"));
        assert_eq!(q.get("a").as_deref(), Some("1"));
        assert!(matches!(q.get("a"), Some(Cow::Borrowed(_))));
        assert_eq!(q.get("b").as_deref(), Some("x:y"));
        assert_eq!(q.get("c").as_deref(), Some("hello world"));
        assert_eq!(q.get("d").as_deref(), Some(""));
        assert_eq!(q.get("k y").as_deref(), Some("v"));
        assert_eq!(q.get("z"), None);
        assert_eq!(q.pairs().len(), 6);
        assert!(Query::new(None).get("a").is_none());
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
