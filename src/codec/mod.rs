//! The Eureka wire: legacy JSON, XStream XML, compact JSON, and content negotiation.
//!
//! * **Writing** always produces what Java servers produce (W-01): legacy JSON
//!   (keys in the Java order, W-14) or XStream XML (W-70..W-75), byte for byte; the compact
//!   JSON form only when asked for with `X-Eureka-Accept: compact` (W-90).
//! * **Reading** is tolerant (W-03): legacy JSON, the Jackson shape with explicit nulls,
//!   the Jettison variants, and XStream XML, with unknown keys ignored at every level.
//!   [`decode_register`] adds the register validation of E-10.
//! * **Bounds**: neither reader expands an entity beyond XML's five predefined ones or
//!   reads a DTD (a `<!DOCTYPE …>` is refused), and both refuse documents nested deeper than
//!   [`MAX_DEPTH`]: a syntax error, never a stack overflow.
//! * **Negotiation**: [`Format::from_accept`] (E-05), [`Format::from_content_type`] (E-04),
//!   [`Accept::from_header`] (E-30).
//!
//! ```
//! use tower_eureka::codec::{self, Accept, Format};
//! use tower_eureka::model::{Applications, InstanceInfo};
//!
//! let apps = Applications::from_instances([InstanceInfo::builder("orders").host_name("o1").build()]);
//!
//! // A Spring client asks for JSON.
//! let format = Format::from_accept(Some(b"application/json"));
//! let mut body = Vec::new();
//! codec::encode_applications(&apps, format, Accept::Full, &mut body);
//! assert!(body.starts_with(br#"{"applications":{"versions__delta":"1","apps__hashcode":"UP_1_","application":[{"name":"ORDERS","instance":[{"instanceId":"o1:orders:8080""#));
//!
//! // Whatever went out comes back.
//! assert_eq!(codec::decode_applications(&body, format).unwrap(), apps);
//!
//! // A register body for `POST /eureka/apps/ORDERS`.
//! let mut reg = Vec::new();
//! codec::encode_instance(&apps.applications[0].instances[0], Format::Json, &mut reg);
//! let inst = codec::decode_register(&reg, Format::Json, "orders").unwrap();
//! assert_eq!(inst.id(), "o1:orders:8080");
//! ```

mod buf;
mod error;
mod fields;
pub mod json;
mod raw;
pub mod xml;

pub use self::error::{DecodeError, RegisterError};

use crate::model::{normalize_app_name, Application, Applications, InstanceInfo};
use std::fmt;

/// How deep the readers let a document nest: XML elements open at once, or JSON arrays and
/// objects (serde_json's own recursion limit, which the JSON reader keeps also for the
/// values it skips). A deeper document is a syntax error (a 400 through the server), read
/// with bounded stack and time; real Eureka documents nest fewer than ten levels.
///
/// ```
/// use tower_eureka::codec::{self, Format, MAX_DEPTH};
///
/// let deep = |n: usize| format!("<instance>{}{}</instance>", "<x>".repeat(n), "</x>".repeat(n));
/// assert!(codec::decode_instance(deep(MAX_DEPTH - 1).as_bytes(), Format::Xml).is_ok());
/// assert!(codec::decode_instance(deep(MAX_DEPTH).as_bytes(), Format::Xml).is_err());
///
/// let deep = |n: usize| format!(r#"{{"instance":{{"x":{}{}}}}}"#, "[".repeat(n), "]".repeat(n));
/// assert!(codec::decode_instance(deep(100).as_bytes(), Format::Json).is_ok());
/// assert!(codec::decode_instance(deep(MAX_DEPTH).as_bytes(), Format::Json).is_err());
/// ```
pub const MAX_DEPTH: usize = 128;

/// The 400 body Java sends when a request with `Content-Type: application/json` (exactly)
/// cannot be decoded (W-95, fixture `DERIVED__DiscoveryJerseyProvider__400-cannot-parse-request-body.json`).
pub const CANNOT_PARSE_JSON_BODY: &str = r#"{"error": "cannot parse request body"}"#;

/// The 400 body Java sends when a request with any other Content-Type cannot be decoded
/// (W-95).
pub const CANNOT_PARSE_XML_BODY: &str =
    "<error><message>cannot parse request body</message></error>";

// === negotiation ===

/// A body format: legacy JSON or XStream XML.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// JSON (`application/json`).
    Json,
    /// XML (`application/xml`).
    Xml,
}

impl Format {
    /// The response format for a request's `Accept` header value (E-05): JSON iff the value
    /// contains the substring `json` (case-sensitive, anywhere, q-values ignored); XML
    /// otherwise, including when the header is absent.
    ///
    /// ```
    /// use tower_eureka::codec::Format;
    /// assert_eq!(Format::from_accept(Some(b"application/xml, application/json")), Format::Json);
    /// assert_eq!(Format::from_accept(Some(b"*/*")), Format::Xml);
    /// assert_eq!(Format::from_accept(Some(b"application/JSON")), Format::Xml);
    /// assert_eq!(Format::from_accept(None), Format::Xml);
    /// ```
    pub fn from_accept(accept: Option<&[u8]>) -> Format {
        match accept {
            Some(v) if v.windows(4).any(|w| w == b"json") => Format::Json,
            _ => Format::Xml,
        }
    }

    /// The response `Content-Type`, without parameters (E-06).
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Xml => "application/xml",
        }
    }

    /// The body format of a request from its `Content-Type` (E-04).
    ///
    /// * any type with subtype `json` (`application/json`, …) → JSON; also, leniently,
    ///   `application/<anything>+json` (E-04, \[IMPL\]);
    /// * `application/xml` → XML; also, leniently, `text/xml` and `*/*` (E-04, \[IMPL\]);
    /// * types and subtypes compare case-insensitively; a `charset` parameter, if present,
    ///   must be UTF-8 or ISO-8859-1 (any case, optionally quoted); other parameters are
    ///   ignored;
    /// * anything else, a missing header, or another charset → 415.
    ///
    /// ```
    /// use tower_eureka::codec::Format;
    /// assert_eq!(Format::from_content_type(Some(b"application/json;charset=UTF-8")).unwrap(), Format::Json);
    /// assert_eq!(Format::from_content_type(Some(b"application/xml")).unwrap(), Format::Xml);
    /// assert!(Format::from_content_type(Some(b"text/plain")).is_err());
    /// assert!(Format::from_content_type(Some(b"application/json; charset=utf-16")).is_err());
    /// assert!(Format::from_content_type(None).is_err());
    /// ```
    pub fn from_content_type(ct: Option<&[u8]>) -> Result<Format, UnsupportedMediaType> {
        let Some(ct) = ct else {
            return Err(UnsupportedMediaType::new("missing Content-Type".into()));
        };
        // What every client sends (our own response types), without the parse below: a
        // register's hot path.
        for format in [Format::Json, Format::Xml] {
            if ct == format.content_type().as_bytes() {
                return Ok(format);
            }
        }
        let Ok(ct) = std::str::from_utf8(ct) else {
            return Err(UnsupportedMediaType::new(
                "Content-Type is not valid UTF-8".into(),
            ));
        };
        let mut parts = ct.split(';');
        let essence = parts.next().unwrap_or_default().trim();
        let (ty, sub) = essence.split_once('/').unwrap_or((essence, ""));
        let (ty, sub) = (ty.trim(), sub.trim());
        let format = if sub.eq_ignore_ascii_case("json")
            || (ty.eq_ignore_ascii_case("application")
                && sub.len() > 5
                && sub
                    .get(sub.len() - 5..)
                    .is_some_and(|s| s.eq_ignore_ascii_case("+json")))
        {
            Format::Json
        } else if (ty.eq_ignore_ascii_case("application") || ty.eq_ignore_ascii_case("text"))
            && sub.eq_ignore_ascii_case("xml")
            || (ty == "*" && sub == "*")
        {
            Format::Xml
        } else {
            return Err(UnsupportedMediaType::new(format!(
                "unsupported Content-Type {essence:?}: use application/json or application/xml"
            )));
        };
        for param in parts {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            if !name.trim().eq_ignore_ascii_case("charset") {
                continue;
            }
            let value = value.trim().trim_matches('"');
            if !(value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("iso-8859-1")) {
                return Err(UnsupportedMediaType::new(format!(
                    "unsupported charset {value:?}: use UTF-8"
                )));
            }
        }
        Ok(format)
    }
}

/// A request body's media type is not one the registry decodes (answer 415, E-04).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsupportedMediaType {
    reason: String,
}

impl UnsupportedMediaType {
    fn new(reason: String) -> Self {
        UnsupportedMediaType { reason }
    }

    /// Why the media type was refused (suitable for a 415 body or a log line).
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for UnsupportedMediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for UnsupportedMediaType {}

/// The `X-Eureka-Accept` header (E-30): the full or the compact form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Accept {
    /// Every field (the default).
    #[default]
    Full,
    /// The compact form of W-91 (JSON only; XML compact requests get full XML, W-92).
    Compact,
}

impl Accept {
    /// `compact` (any case, surrounding whitespace ignored) is [`Accept::Compact`];
    /// anything else, or no header, is [`Accept::Full`].
    ///
    /// ```
    /// use tower_eureka::codec::Accept;
    /// assert_eq!(Accept::from_header(Some(b"Compact")), Accept::Compact);
    /// assert_eq!(Accept::from_header(Some(b"full")), Accept::Full);
    /// assert_eq!(Accept::from_header(None), Accept::Full);
    /// ```
    pub fn from_header(value: Option<&[u8]>) -> Accept {
        match value {
            Some(v) if v.trim_ascii().eq_ignore_ascii_case(b"compact") => Accept::Compact,
            _ => Accept::Full,
        }
    }
}

// === encoding ===

/// Appends a whole `Applications` document (`{"applications":…}` or `<applications>`).
///
/// `versions__delta` and `apps__hashcode` are taken from `apps`; a missing hash is computed
/// (the wire always carries one, W-12). Applications without instances are left out (W-13).
pub fn encode_applications(apps: &Applications, format: Format, accept: Accept, out: &mut Vec<u8>) {
    let computed;
    let hash = match &apps.apps_hashcode {
        Some(h) => h.as_str(),
        None => {
            computed = apps.compute_hashcode();
            computed.as_str()
        }
    };
    encode_applications_from(
        apps.versions_delta,
        hash,
        apps.applications
            .iter()
            .map(|a| (a.name.as_str(), a.instances.iter())),
        format,
        accept,
        out,
    );
}

/// Appends a whole `Applications` document from borrowed parts, so a server can encode
/// straight from its snapshot. `apps` yields `(app name, instances)`; applications that
/// yield no instance are left out (W-13). Compact XML is answered with full XML (W-92).
pub fn encode_applications_from<'a, A, I>(
    versions_delta: i64,
    apps_hashcode: &str,
    apps: A,
    format: Format,
    accept: Accept,
    out: &mut Vec<u8>,
) where
    A: IntoIterator<Item = (&'a str, I)>,
    I: IntoIterator<Item = &'a InstanceInfo>,
{
    match (format, accept) {
        (Format::Json, Accept::Full) => {
            out.extend_from_slice(b"{\"applications\":");
            json::write::write_applications_object(versions_delta, apps_hashcode, apps, out);
            out.push(b'}');
        }
        (Format::Json, Accept::Compact) => {
            out.extend_from_slice(b"{\"applications\":");
            json::compact::write_applications_object(versions_delta, apps_hashcode, apps, out);
            out.push(b'}');
        }
        (Format::Xml, _) => {
            xml::write::write_applications(versions_delta, apps_hashcode, apps, 0, out)
        }
    }
}

/// Appends an `Application` document (`{"application":…}` or `<application>`).
pub fn encode_application(app: &Application, format: Format, accept: Accept, out: &mut Vec<u8>) {
    encode_application_from(&app.name, &app.instances, format, accept, out);
}

/// Appends an `Application` document from borrowed parts.
pub fn encode_application_from<'a, I>(
    name: &str,
    instances: I,
    format: Format,
    accept: Accept,
    out: &mut Vec<u8>,
) where
    I: IntoIterator<Item = &'a InstanceInfo>,
{
    match (format, accept) {
        (Format::Json, Accept::Full) => {
            out.extend_from_slice(b"{\"application\":");
            json::write::write_application_body(name, instances, out);
            out.push(b'}');
        }
        (Format::Json, Accept::Compact) => {
            out.extend_from_slice(b"{\"application\":");
            json::compact::write_application_body(name, instances, out);
            out.push(b'}');
        }
        (Format::Xml, _) => {
            xml::write::write_application(name, instances, 0, out);
        }
    }
}

/// Appends an `InstanceInfo` document (`{"instance":…}` or `<instance>`). Single instances
/// are always in full form (W-90). This is also the register body a client sends (W-18).
pub fn encode_instance(inst: &InstanceInfo, format: Format, out: &mut Vec<u8>) {
    match format {
        Format::Json => {
            out.extend_from_slice(b"{\"instance\":");
            json::write_instance_object(inst, out);
            out.push(b'}');
        }
        Format::Xml => xml::write_instance(inst, 0, out),
    }
}

// === decoding ===

/// Reads an `Applications` document with the tolerant reader (W-20..W-82). A missing
/// `versions__delta` reads as -1, a missing hash as `None` (C-22, C-24).
pub fn decode_applications(bytes: &[u8], format: Format) -> Result<Applications, DecodeError> {
    match format {
        Format::Json => json::read::decode_applications(bytes),
        Format::Xml => xml::read::decode_applications(bytes),
    }
}

/// Reads an `Application` document with the tolerant reader.
pub fn decode_application(bytes: &[u8], format: Format) -> Result<Application, DecodeError> {
    match format {
        Format::Json => json::read::decode_application(bytes),
        Format::Xml => xml::read::decode_application(bytes),
    }
}

/// Reads an `InstanceInfo` document (wrapped, W-06) with the tolerant reader.
pub fn decode_instance(bytes: &[u8], format: Format) -> Result<InstanceInfo, DecodeError> {
    match format {
        Format::Json => json::read::decode_instance(bytes),
        Format::Xml => xml::read::decode_instance(bytes),
    }
}

/// Reads and validates a register body for `POST /apps/{path_app}` (W-02, W-22, E-10).
///
/// Decoding accepts legacy JSON, the Jackson shape with explicit nulls, and XML; the body
/// must be wrapped in `instance` (W-06). Metadata values that are objects or arrays are
/// [`RegisterError::Undecodable`] (W-42). Then, in this order, [`RegisterError::Invalid`]
/// with the exact 400 body:
///
/// 1. `Missing instanceId`: the derived id (R-01) is blank;
/// 2. `Missing hostname`; 3. `Missing ip address`; 4. `Missing appName`;
/// 5. `Mismatched appName, expecting {PATHAPP} but was {BODYAPP}` (both upper-cased);
/// 6. `Missing dataCenterInfo`;
/// 7. `Missing dataCenterInfo Name` (a `@class` of AmazonInfo counts as a name, W-32), or
///    `Unknown dataCenterInfo Name X` for a name that is not `MyOwn`/`Amazon`/`Netflix`
///    (W-52: server answers 400);
/// 8. `Unknown status X` for a `status` or `overriddenStatus` that is not one of the five;
/// 9. `Invalid instanceId X: must not contain '/'` (E-03);
/// 10. `Invalid metadata key "K"` for a key that is not an XML name (W-43);
///
/// Last, [`RegisterError::InvalidText`] (`Invalid character U+XXXX in FIELD: XML 1.0
/// cannot carry it`) for any string that holds a character XML 1.0 cannot carry, even as a
/// reference ([`InstanceInfo::check_text`]).
///
/// "Blank" means absent, empty or whitespace only. Leniencies: a missing `@class` with a
/// valid `name` (W-32); a bare number port (`"port":8080`, enabled) (W-26); missing
/// `port`/`securePort` objects are 7001 enabled / 7002 disabled, a missing `@enabled` is
/// enabled for `port` and disabled for `securePort` (W-26). A blank Amazon `instance-id` is
/// back-filled with the derived id (W-31). `app` and `appGroupName` are upper-cased. A
/// missing `lastDirtyTimestamp` stays 0 (the registry defaults it, R-112).
pub fn decode_register(
    bytes: &[u8],
    format: Format,
    path_app: &str,
) -> Result<InstanceInfo, RegisterError> {
    decode_register_boxed(bytes, format, path_app).map(|inst| *inst)
}

/// [`decode_register`] with the record boxed, as the server hands it to the registry: a
/// record is ~600 bytes, and a pointer passes through the layers without being copied.
pub(crate) fn decode_register_boxed(
    bytes: &[u8],
    format: Format,
    path_app: &str,
) -> Result<Box<InstanceInfo>, RegisterError> {
    let raw = match format {
        Format::Json => json::read::decode_register(bytes)?,
        Format::Xml => xml::read::decode_register(bytes)?,
    };
    validate_register(raw, path_app, format == Format::Xml || may_escape(bytes))
}

/// [`decode_register`] for a bare JSON InstanceInfo object (no `instance` wrapper), as the
/// `instanceInfo` of a replication `Register` item carries it (P-13): the same reader and
/// the same validation, in the same order.
#[cfg(feature = "server")]
pub(crate) fn decode_register_object(
    bytes: &[u8],
    path_app: &str,
) -> Result<Box<InstanceInfo>, RegisterError> {
    validate_register(
        json::read::decode_register_object(bytes)?,
        path_app,
        may_escape(bytes),
    )
}

/// The register validation of [`decode_register`], after decoding. `check_text` is false
/// only for a JSON body that cannot hold a character XML cannot carry ([`may_escape`]).
fn validate_register(
    raw: Box<raw::RawInstance>,
    path_app: &str,
    check_text: bool,
) -> Result<Box<InstanceInfo>, RegisterError> {
    let inst = raw
        .into_registered(path_app)
        .map_err(RegisterError::Invalid)?;
    // Every string must be one XML 1.0 can carry, or every XML payload would break. In
    // JSON such a character arrives only as a `\u` escape or as raw U+FFFE/U+FFFF (lead
    // byte 0xEF; raw control bytes are not JSON): a body with neither needs no field check.
    if check_text {
        inst.check_text().map_err(RegisterError::InvalidText)?;
    }
    Ok(inst)
}

/// Whether `bytes` holds a `\` or a 0xEF byte (SIMD `memchr2`: a register body is read
/// at every registration).
fn may_escape(bytes: &[u8]) -> bool {
    memchr::memchr2(b'\\', 0xEF, bytes).is_some()
}

/// An application from its (optional) name and instances; the name is upper-cased and,
/// when missing, taken from the first instance.
fn application_named(name: Option<String>, instances: Vec<InstanceInfo>) -> Application {
    let name = match name {
        Some(n) => normalize_app_name(&n),
        None => instances.first().map(|i| i.app.clone()).unwrap_or_default(),
    };
    Application { name, instances }
}
