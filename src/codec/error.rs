//! Decode errors: one opaque type that says what is wrong and where.

use super::Format;
use crate::model::InvalidText;
use std::cell::RefCell;
use std::fmt;

/// A body could not be decoded as the expected Eureka document.
///
/// The message names the format, the field path (for example `instance.port.$`) and, when
/// known, the line and column of the problem:
///
/// ```
/// use tower_eureka::codec::{decode_instance, Format};
/// let err = decode_instance(br#"{"instance":{"port":{"$":"eighty"}}}"#, Format::Json).unwrap_err();
/// assert!(err.to_string().contains("instance.port.$"), "{err}");
/// assert_eq!(err.line(), Some(1));
/// ```
pub struct DecodeError {
    inner: Box<Inner>,
}

struct Inner {
    format: Format,
    kind: Kind,
    message: String,
    path: String,
    line: Option<usize>,
    column: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Not well-formed JSON/XML (including a truncated document).
    Syntax,
    /// Well-formed, but not the expected Eureka shape or a value of the wrong type.
    Data,
}

impl DecodeError {
    pub(crate) fn syntax(format: Format, message: impl Into<String>) -> Self {
        Self::new(format, Kind::Syntax, message.into())
    }

    pub(crate) fn data(format: Format, message: impl Into<String>) -> Self {
        Self::new(format, Kind::Data, message.into())
    }

    fn new(format: Format, kind: Kind, message: String) -> Self {
        DecodeError {
            inner: Box::new(Inner {
                format,
                kind,
                message,
                path: String::new(),
                line: None,
                column: None,
            }),
        }
    }

    pub(crate) fn with_path(mut self, path: String) -> Self {
        self.inner.path = path;
        self
    }

    pub(crate) fn with_position(mut self, line: usize, column: usize) -> Self {
        if line > 0 {
            self.inner.line = Some(line);
            self.inner.column = Some(column);
        }
        self
    }

    /// The 1-based line of the problem, when known.
    pub fn line(&self) -> Option<usize> {
        self.inner.line
    }

    /// The 1-based column (in bytes) of the problem, when known.
    pub fn column(&self) -> Option<usize> {
        self.inner.column
    }

    /// The field path of the problem (for example `applications.application[0].instance[2].port.$`),
    /// when known.
    pub fn path(&self) -> Option<&str> {
        if self.inner.path.is_empty() {
            None
        } else {
            Some(&self.inner.path)
        }
    }

    /// Whether the body is not well-formed JSON or XML (including a truncated body).
    pub fn is_syntax(&self) -> bool {
        self.inner.kind == Kind::Syntax
    }

    /// Whether the body is well-formed but is not the expected Eureka document.
    pub fn is_data(&self) -> bool {
        self.inner.kind == Kind::Data
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let format = match i.format {
            Format::Json => "JSON",
            Format::Xml => "XML",
        };
        match i.kind {
            Kind::Syntax => write!(f, "malformed {format}")?,
            Kind::Data => write!(f, "invalid Eureka {format}")?,
        }
        if !i.path.is_empty() {
            write!(f, " at `{}`", i.path)?;
        }
        if let (Some(line), Some(column)) = (i.line, i.column) {
            write!(f, " (line {line}, column {column})")?;
        }
        write!(f, ": {}", i.message)
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeError")
            .field("format", &self.inner.format)
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .field("path", &self.inner.path)
            .field("line", &self.inner.line)
            .field("column", &self.inner.column)
            .finish()
    }
}

impl std::error::Error for DecodeError {}

/// Why a register body (`POST /apps/{app}`, E-10) was refused. All are answered with 400.
#[derive(Debug)]
pub enum RegisterError {
    /// The body is not a decodable InstanceInfo document (W-02, W-06). Java answers with a
    /// generic body, see [`CANNOT_PARSE_JSON_BODY`](super::CANNOT_PARSE_JSON_BODY).
    Undecodable(DecodeError),
    /// The body decoded but failed validation; the string is the exact plain-text 400 body of
    /// E-10 (for example `Missing ip address`).
    Invalid(String),
    /// The body decoded and passed E-10, but a string holds a character XML 1.0 cannot
    /// carry (see [`InstanceInfo::check_text`](crate::model::InstanceInfo::check_text)):
    /// stored, it would make every XML payload of the registry unparsable.
    InvalidText(InvalidText),
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::Undecodable(e) => write!(f, "undecodable register body: {e}"),
            RegisterError::Invalid(msg) => write!(f, "invalid register body: {msg}"),
            RegisterError::InvalidText(e) => write!(f, "invalid register body: {e}"),
        }
    }
}

impl std::error::Error for RegisterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RegisterError::Undecodable(e) => Some(e),
            RegisterError::Invalid(_) => None,
            RegisterError::InvalidText(e) => Some(e),
        }
    }
}

impl From<DecodeError> for RegisterError {
    fn from(e: DecodeError) -> Self {
        RegisterError::Undecodable(e)
    }
}

// === path tracing ===

/// One step of a field path.
#[derive(Debug)]
pub(crate) enum Seg {
    Key(&'static str),
    Index(usize),
    Name(String),
}

/// Records where a decode error happened.
///
/// Nothing is recorded on the success path: when an error travels up through the readers,
/// each level appends its own segment, so the path is built (in reverse) only for failures.
#[derive(Debug, Default)]
pub(crate) struct Trace {
    segs: RefCell<Vec<Seg>>,
}

impl Trace {
    /// Records `seg` if `r` is an error, and passes `r` through. Always inlined: it wraps
    /// every field of a register body, and a call moves the whole result twice.
    #[inline(always)]
    pub(crate) fn at<T, E>(&self, seg: Seg, r: Result<T, E>) -> Result<T, E> {
        if r.is_err() {
            self.segs.borrow_mut().push(seg);
        }
        r
    }

    /// Records `seg` (the caller is failing).
    pub(crate) fn push(&self, seg: Seg) {
        self.segs.borrow_mut().push(seg);
    }

    /// The recorded path, outermost first (`instance.port.$`).
    pub(crate) fn render(&self) -> String {
        let segs = self.segs.borrow();
        let mut out = String::new();
        for seg in segs.iter().rev() {
            match seg {
                Seg::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Name(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_renders_outermost_first() {
        let t = Trace::default();
        // Pushed while unwinding: innermost first.
        t.push(Seg::Key("$"));
        t.push(Seg::Key("port"));
        t.push(Seg::Index(2));
        t.push(Seg::Key("instance"));
        t.push(Seg::Name("my.app".into()));
        assert_eq!(t.render(), "my.app.instance[2].port.$");
        let ok: Result<(), ()> = t.at(Seg::Key("never"), Ok(()));
        assert!(ok.is_ok());
        assert_eq!(t.render(), "my.app.instance[2].port.$");
    }

    #[test]
    fn display_names_format_path_and_position() {
        let e = DecodeError::data(Format::Json, "bad")
            .with_path("a.b".into())
            .with_position(3, 7);
        assert_eq!(
            e.to_string(),
            "invalid Eureka JSON at `a.b` (line 3, column 7): bad"
        );
        assert!(e.is_data() && !e.is_syntax());
        let e = DecodeError::syntax(Format::Xml, "eof").with_position(0, 0);
        assert_eq!(e.to_string(), "malformed XML: eof");
        assert_eq!((e.line(), e.column(), e.path()), (None, None, None));
    }
}
