//! The tolerant XStream XML reader (W-76), over quick-xml's pull parser.
//!
//! Layout never matters; unknown elements are skipped whole (no deeper than
//! [`MAX_DEPTH`] open elements; a `<!DOCTYPE>` is refused); status text is matched
//! case-insensitively; `<port>` is enabled unless `enabled="false"`, `<securePort>` only if
//! `enabled="true"`; the `class` attribute of `<dataCenterInfo>` is ignored (`<name>`
//! decides, `Amazon` in any case); the EmptyMap marker is an empty map; element names are
//! decoded (W-74); application names are upper-cased. Never panics: every failure is a
//! [`DecodeError`] with the element path and line/column.

use super::super::error::{DecodeError, Seg, Trace};
use super::super::fields::{instance_field, Slot};
use super::super::raw::{
    DciClass, RawDci, RawInstance, RawLease, RawName, RawPort, RawStatus, EMPTY_MAP_CLASS,
};
use super::super::{Format, MAX_DEPTH};
use super::{decode_name, wellformed};
use crate::model::{
    ActionType, Application, Applications, DataCenterName, InstanceInfo, Metadata, Status,
};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

pub(crate) fn decode_applications(bytes: &[u8]) -> Result<Applications, DecodeError> {
    let mut x = XmlIn::new(bytes, false);
    let empty = x.root(b"applications")?;
    let r = x.applications(empty);
    x.finish(r, "applications")
}

pub(crate) fn decode_application(bytes: &[u8]) -> Result<Application, DecodeError> {
    let mut x = XmlIn::new(bytes, false);
    let empty = x.root(b"application")?;
    let r = x.application(empty);
    x.finish(r, "application")
}

pub(crate) fn decode_instance(bytes: &[u8]) -> Result<InstanceInfo, DecodeError> {
    let mut x = XmlIn::new(bytes, false);
    let empty = x.root(b"instance")?;
    let r = x.instance(empty).map(RawInstance::into_instance);
    x.finish(r, "instance")
}

pub(crate) fn decode_register(bytes: &[u8]) -> Result<Box<RawInstance>, DecodeError> {
    let mut x = XmlIn::new(bytes, true);
    let empty = x.root(b"instance")?;
    let r = x.instance(empty);
    x.finish(r, "instance")
}

/// A failure inside the reader; turned into a [`DecodeError`] with the path at the top.
#[derive(Debug)]
struct Fail {
    syntax: bool,
    message: String,
    offset: u64,
}

type R<T> = Result<T, Fail>;

/// A child element: its (local) name and whether it was self-closing.
struct Child<'a> {
    start: BytesStart<'a>,
    empty: bool,
}

struct XmlIn<'a> {
    reader: Reader<&'a [u8]>,
    src: &'a [u8],
    strict: bool,
    /// Whether raw characters must be checked event by event: only when the up-front scan
    /// of the whole document found a problem ([`wellformed::document_chars_ok`]).
    check_raw: bool,
    trace: Trace,
    text: String,
    /// Elements open at the reader's position, bounded by [`MAX_DEPTH`].
    depth: usize,
}

impl<'a> XmlIn<'a> {
    fn new(src: &'a [u8], strict: bool) -> Self {
        let mut reader = Reader::from_reader(src);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        XmlIn {
            reader,
            src,
            strict,
            trace: Trace::default(),
            text: String::new(),
            depth: 0,
            check_raw: !wellformed::document_chars_ok(src),
        }
    }

    // === errors ===

    fn data(&self, message: impl Into<String>) -> Fail {
        Fail {
            syntax: false,
            message: message.into(),
            offset: self.reader.buffer_position(),
        }
    }

    fn syntax(&self, e: &quick_xml::Error) -> Fail {
        Fail {
            syntax: true,
            message: e.to_string(),
            offset: self.reader.error_position(),
        }
    }

    fn finish<T>(mut self, r: R<T>, root: &'static str) -> Result<T, DecodeError> {
        let r = r.and_then(|v| self.epilogue().map(|()| v));
        r.map_err(|f| {
            self.trace.push(Seg::Key(root));
            self.to_error(f)
        })
    }

    /// After the root element only white space, comments and processing instructions may
    /// follow (XML 1.0 `document` production).
    fn epilogue(&mut self) -> R<()> {
        loop {
            match self.next()? {
                // The up-front scan found a character XML forbids (or bytes that are not
                // UTF-8) that no event showed: refuse the document all the same.
                Event::Eof if self.check_raw => {
                    return Err(self.malformed(
                        "the document holds bytes that are not UTF-8 or characters XML 1.0 forbids",
                    ))
                }
                Event::Eof => return Ok(()),
                Event::Text(t) if t.iter().all(|b| b.is_ascii_whitespace()) => {}
                Event::Comment(_) | Event::PI(_) => {}
                _ => {
                    let mut f = self.data("content after the root element");
                    f.syntax = true;
                    return Err(f);
                }
            }
        }
    }

    fn to_error(&self, f: Fail) -> DecodeError {
        let err = if f.syntax {
            DecodeError::syntax(Format::Xml, f.message)
        } else {
            DecodeError::data(Format::Xml, f.message)
        };
        let offset = usize::try_from(f.offset)
            .unwrap_or(usize::MAX)
            .min(self.src.len());
        let before = self.src.get(..offset).unwrap_or_default();
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let column = 1 + before.iter().rev().take_while(|&&b| b != b'\n').count();
        err.with_path(self.trace.render())
            .with_position(line, column)
    }

    // === events ===

    /// The next event, checked for well-formedness beyond what quick-xml checks
    /// ([`wellformed::check_event`]).
    fn next(&mut self) -> R<Event<'a>> {
        let ev = match self.reader.read_event() {
            Ok(ev) => ev,
            Err(e) => return Err(self.syntax(&e)),
        };
        wellformed::check_event(&ev, self.reader.decoder(), self.check_raw)
            .map_err(|m| self.malformed(m))?;
        match ev {
            Event::Start(_) if self.depth == MAX_DEPTH => {
                return Err(
                    self.malformed(format!("elements nested deeper than {MAX_DEPTH} levels"))
                )
            }
            Event::Start(_) => self.depth += 1,
            Event::End(_) => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        Ok(ev)
    }

    fn malformed(&self, message: impl Into<String>) -> Fail {
        let mut f = self.data(message);
        f.syntax = true;
        f
    }

    /// Finds the root element, skipping the prolog. Returns whether it is self-closing.
    fn root(&mut self, name: &'static [u8]) -> Result<bool, DecodeError> {
        let found = loop {
            let ev = self.next().map_err(|f| self.to_error(f))?;
            match ev {
                Event::Start(s) => break (s, false),
                Event::Empty(s) => break (s, true),
                Event::Text(t) if t.iter().all(|b| b.is_ascii_whitespace()) => {}
                Event::Text(t) if t.starts_with("\u{feff}".as_bytes()) => {}
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => {
                    let f = self.data("empty document");
                    return Err(self.to_error(f));
                }
                _ => {
                    let mut f = self.data("content before the root element");
                    f.syntax = true;
                    return Err(self.to_error(f));
                }
            }
        };
        let (start, empty) = found;
        if start.local_name().as_ref() != name {
            let got = String::from_utf8_lossy(start.name().as_ref()).into_owned();
            let f = self.data(format!(
                "expected root element <{}>, found <{got}>",
                String::from_utf8_lossy(name)
            ));
            return Err(self.to_error(f));
        }
        Ok(empty)
    }

    /// The next child element of the current element, or `None` at its end tag. Text,
    /// comments and processing instructions between children are ignored.
    fn child(&mut self) -> R<Option<Child<'a>>> {
        loop {
            match self.next()? {
                Event::Start(start) => {
                    return Ok(Some(Child {
                        start,
                        empty: false,
                    }))
                }
                Event::Empty(start) => return Ok(Some(Child { start, empty: true })),
                Event::End(_) => return Ok(None),
                Event::Eof => return Err(self.data("unexpected end of document")),
                _ => {}
            }
        }
    }

    /// Skips the rest of an element whose start tag was just read.
    fn skip(&mut self, empty: bool) -> R<()> {
        if empty {
            return Ok(());
        }
        let mut depth = 1usize;
        loop {
            match self.next()? {
                Event::Start(_) => depth += 1,
                Event::End(_) => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                Event::Eof => return Err(self.data("unexpected end of document")),
                _ => {}
            }
        }
    }

    /// The text content of an element whose start tag was just read, entities resolved.
    /// Returns whether the element also had child elements (which are skipped).
    fn text_into(&mut self, empty: bool) -> R<bool> {
        self.text.clear();
        if empty {
            return Ok(false);
        }
        let mut nested = false;
        loop {
            match self.next()? {
                Event::Text(t) => match t.xml10_content() {
                    Ok(s) => self.text.push_str(&s),
                    Err(e) => return Err(self.data(format!("invalid text: {e}"))),
                },
                Event::CData(c) => match c.decode() {
                    Ok(s) => self.text.push_str(&s),
                    Err(e) => return Err(self.data(format!("invalid CDATA: {e}"))),
                },
                // `next` has checked the reference: a carriable character or predefined.
                Event::GeneralRef(r) => match r.resolve_char_ref() {
                    Ok(Some(c)) => self.text.push(c),
                    Ok(None) => {
                        let name = r.decode().map_err(|e| self.data(e.to_string()))?;
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(s) => self.text.push_str(s),
                            None => {
                                return Err(self.malformed(format!("undeclared entity &{name};")))
                            }
                        }
                    }
                    Err(e) => return Err(self.syntax(&e)),
                },
                Event::Start(_) => {
                    nested = true;
                    self.skip(false)?;
                }
                Event::Empty(_) => nested = true,
                Event::End(_) => return Ok(nested),
                Event::Eof => return Err(self.data("unexpected end of document")),
                _ => {}
            }
        }
    }

    /// An owned text value.
    fn string(&mut self, empty: bool) -> R<String> {
        self.text_into(empty)?;
        Ok(std::mem::take(&mut self.text))
    }

    fn int(&mut self, empty: bool) -> R<Option<i64>> {
        self.text_into(empty)?;
        let t = self.text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        match t.parse::<i64>() {
            Ok(v) => Ok(Some(v)),
            Err(_) => Err(self.data(format!("expected an integer, got {t:?}"))),
        }
    }

    fn boolean(&mut self, empty: bool) -> R<Option<bool>> {
        self.text_into(empty)?;
        let t = self.text.trim();
        Ok((!t.is_empty()).then(|| t.eq_ignore_ascii_case("true")))
    }

    fn status(&mut self, empty: bool) -> R<Option<RawStatus>> {
        self.text_into(empty)?;
        let t = self.text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        Ok(Some(match Status::parse_ignore_case(t) {
            Some(s) => RawStatus::Known(s),
            None if self.strict => RawStatus::Unknown(t.to_owned()),
            None => RawStatus::Known(Status::Unknown),
        }))
    }

    fn attr(&self, start: &BytesStart<'_>, name: &[u8]) -> R<Option<String>> {
        for a in start.attributes() {
            let a = match a {
                Ok(a) => a,
                Err(e) => return Err(self.syntax(&e.into())),
            };
            if a.key.local_name().as_ref() == name {
                return match a.decode_and_unescape_value(self.reader.decoder()) {
                    Ok(v) => Ok(Some(v.into_owned())),
                    Err(e) => Err(self.syntax(&e)),
                };
            }
        }
        Ok(None)
    }

    /// Runs `f`, recording `seg` in the path when it fails.
    #[inline]
    fn at<T>(&mut self, seg: Seg, f: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        let r = f(self);
        if r.is_err() {
            self.trace.push(seg);
        }
        r
    }

    // === documents ===

    fn applications(&mut self, empty: bool) -> R<Applications> {
        let mut apps = Applications {
            versions_delta: -1,
            apps_hashcode: None,
            applications: Vec::new(),
        };
        if empty {
            return Ok(apps);
        }
        while let Some(c) = self.child()? {
            match c.start.local_name().as_ref() {
                b"versions__delta" => {
                    let v = self.at(Seg::Key("versions__delta"), |x| x.string(c.empty))?;
                    // C-24: unparsable reads as -1 ("unknown").
                    apps.versions_delta = v.trim().parse().unwrap_or(-1);
                }
                b"apps__hashcode" => {
                    apps.apps_hashcode =
                        Some(self.at(Seg::Key("apps__hashcode"), |x| x.string(c.empty))?);
                }
                b"application" => {
                    let i = apps.applications.len();
                    let app = self.at(Seg::Key("application"), |x| {
                        x.at(Seg::Index(i), |x| x.application(c.empty))
                    })?;
                    apps.applications.push(app);
                }
                _ => self.skip(c.empty)?,
            }
        }
        Ok(apps)
    }

    fn application(&mut self, empty: bool) -> R<Application> {
        let mut name = None;
        let mut instances = Vec::new();
        if !empty {
            while let Some(c) = self.child()? {
                match c.start.local_name().as_ref() {
                    b"name" => name = Some(self.at(Seg::Key("name"), |x| x.string(c.empty))?),
                    b"instance" => {
                        let i = instances.len();
                        let raw = self.at(Seg::Key("instance"), |x| {
                            x.at(Seg::Index(i), |x| x.instance(c.empty))
                        })?;
                        instances.push(raw.into_instance());
                    }
                    _ => self.skip(c.empty)?,
                }
            }
        }
        Ok(super::super::application_named(name, instances))
    }

    fn instance(&mut self, empty: bool) -> R<Box<RawInstance>> {
        // Boxed, as in the JSON reader: filled in place, passed up as a pointer.
        let mut r = Box::<RawInstance>::default();
        if empty {
            return Ok(r);
        }
        while let Some(c) = self.child()? {
            let e = c.empty;
            let name = c.start.local_name();
            let Some(f) = std::str::from_utf8(name.as_ref())
                .ok()
                .and_then(instance_field)
            else {
                self.skip(e)?;
                continue;
            };
            let key = Seg::Key(f.xml);
            match f.slot {
                Slot::Text(slot) => *slot(&mut r) = Some(self.at(key, |x| x.string(e))?),
                Slot::Int(slot) => {
                    let v = self.at(key, |x| x.int(e))?;
                    if v.is_some() {
                        *slot(&mut r) = v;
                    }
                }
                Slot::Status(slot) => {
                    if let Some(s) = self.at(key, |x| x.status(e))? {
                        *slot(&mut r) = Some(s);
                    }
                }
                Slot::Port { slot, secure } => {
                    *slot(&mut r) = Some(self.at(key, |x| x.port(&c.start, e, secure))?)
                }
                Slot::CountryId => {
                    if let Some(v) = self.at(key, |x| x.int(e))? {
                        r.country_id = Some(i32::try_from(v).map_err(|_| {
                            self.trace.push(Seg::Key(f.xml));
                            self.data(format!("country id {v} out of range"))
                        })?);
                    }
                }
                Slot::DataCenterInfo => {
                    r.data_center_info = Some(self.at(key, |x| x.dci(&c.start, e))?)
                }
                Slot::LeaseInfo => r.lease_info = Some(self.at(key, |x| x.lease(e))?),
                Slot::Metadata => r.metadata = Some(self.at(key, |x| x.metadata(e))?),
                Slot::Flag => {
                    let v = self.at(key, |x| x.boolean(e))?;
                    if v.is_some() {
                        r.is_coordinating_discovery_server = v;
                    }
                }
                Slot::ActionType => {
                    self.at(key, |x| x.text_into(e))?;
                    // W-52: unknown action types are absent.
                    r.action_type = ActionType::parse(self.text.trim());
                }
            }
        }
        Ok(r)
    }

    /// `<port enabled="true">8080</port>`; W-76 defaults for a missing attribute.
    fn port(&mut self, start: &BytesStart<'_>, empty: bool, secure: bool) -> R<RawPort> {
        let enabled = self.attr(start, b"enabled")?.map(|v| {
            let v = v.trim();
            if secure {
                v.eq_ignore_ascii_case("true")
            } else {
                !v.eq_ignore_ascii_case("false")
            }
        });
        let port = match self.int(empty)? {
            Some(v) => Some(
                u16::try_from(v)
                    .map_err(|_| self.data(format!("port {v} out of range 0..=65535")))?,
            ),
            None => None,
        };
        Ok(RawPort { port, enabled })
    }

    /// `<dataCenterInfo class="…"><name>…</name><metadata>…</metadata></dataCenterInfo>`.
    fn dci(&mut self, start: &BytesStart<'_>, empty: bool) -> R<RawDci> {
        let mut d = RawDci::default();
        // W-76: the class attribute does not decide; an unknown one is kept as data only.
        if let Some(class) = self.attr(start, b"class")? {
            if let c @ DciClass::Other(_) = DciClass::from_text(&class) {
                d.class = Some(c);
            }
        }
        if empty {
            return Ok(d);
        }
        while let Some(c) = self.child()? {
            match c.start.local_name().as_ref() {
                b"name" => {
                    let n = self.at(Seg::Key("name"), |x| x.string(c.empty))?;
                    let n = n.trim();
                    d.name = Some(match DataCenterName::parse(n) {
                        Some(n) => RawName::Known(n),
                        None if n.eq_ignore_ascii_case("amazon") => {
                            RawName::Known(DataCenterName::Amazon)
                        }
                        None => RawName::Unknown(n.to_owned()),
                    });
                }
                b"metadata" => {
                    d.metadata = Some(self.at(Seg::Key("metadata"), |x| x.metadata(c.empty))?)
                }
                _ => self.skip(c.empty)?,
            }
        }
        Ok(d)
    }

    fn lease(&mut self, empty: bool) -> R<RawLease> {
        let mut l = RawLease::default();
        if empty {
            return Ok(l);
        }
        while let Some(c) = self.child()? {
            let e = c.empty;
            let (slot, key) = match c.start.local_name().as_ref() {
                b"renewalIntervalInSecs" => {
                    (&mut l.renewal_interval_in_secs, "renewalIntervalInSecs")
                }
                b"durationInSecs" => (&mut l.duration_in_secs, "durationInSecs"),
                b"registrationTimestamp" => {
                    (&mut l.registration_timestamp, "registrationTimestamp")
                }
                // W-28: the pre-2015 name is a synonym.
                b"lastRenewalTimestamp" | b"renewalTimestamp" => {
                    (&mut l.last_renewal_timestamp, "lastRenewalTimestamp")
                }
                b"evictionTimestamp" => (&mut l.eviction_timestamp, "evictionTimestamp"),
                b"serviceUpTimestamp" => (&mut l.service_up_timestamp, "serviceUpTimestamp"),
                _ => {
                    self.skip(e)?;
                    continue;
                }
            };
            if let Some(v) = self.at(Seg::Key(key), |x| x.int(e))? {
                *slot = Some(v);
            }
        }
        Ok(l)
    }

    /// Metadata entries as child elements (W-73, W-74); nested elements inside a value are
    /// an error in register bodies (W-42) and drop the entry otherwise.
    fn metadata(&mut self, empty: bool) -> R<Metadata> {
        if empty {
            return Ok(Metadata::new());
        }
        Metadata::build_exact(|m| {
            while let Some(c) = self.child()? {
                let raw = c.start.local_name();
                let key = match std::str::from_utf8(raw.as_ref()) {
                    Ok(k) => decode_name(k),
                    Err(_) => return Err(self.data("element name is not UTF-8")),
                };
                let nested = match self.text_into(c.empty) {
                    Ok(n) => n,
                    Err(f) => {
                        self.trace.push(Seg::Name(key));
                        return Err(f);
                    }
                };
                if nested {
                    if self.strict {
                        let f = self.data("metadata values must be text, not elements (W-42)");
                        self.trace.push(Seg::Name(key));
                        return Err(f);
                    }
                    continue;
                }
                // W-41: a `class` entry holding the EmptyMap marker is not data.
                if key == "class" && self.text == EMPTY_MAP_CLASS {
                    continue;
                }
                m.insert(key, std::mem::take(&mut self.text));
            }
            Ok(())
        })
    }
}
