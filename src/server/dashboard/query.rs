//! The dashboard's query string: `?app=` (a filter on application names), `page`, `size`
//! (applications per page) and `instances` (instances listed per application).
//!
//! Bad values are refused with a reason naming the parameter; unknown parameters are
//! ignored (a browser's form may add its own).

/// Applications per page unless `size` says otherwise.
pub(super) const DEFAULT_SIZE: usize = 50;
/// The largest `size`.
pub(super) const MAX_SIZE: usize = 500;
/// Instances listed per application unless `instances` says otherwise.
pub(super) const DEFAULT_PER_APP: usize = 10;
/// The largest `instances`.
pub(super) const MAX_PER_APP: usize = 10_000;
/// The longest `app` filter, in characters.
const MAX_FILTER_CHARS: usize = 200;

/// A parsed dashboard query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Query {
    /// Upper-case substring of the application names to show (app names are upper-case,
    /// R-02); `None` shows all.
    pub(super) app: Option<String>,
    /// 1-based page number.
    pub(super) page: usize,
    /// Applications per page.
    pub(super) size: usize,
    /// Instances listed per application (the rest are counted, not listed).
    pub(super) per_app: usize,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            app: None,
            page: 1,
            size: DEFAULT_SIZE,
            per_app: DEFAULT_PER_APP,
        }
    }
}

impl Query {
    /// Parses the raw query string (form-encoded, as the filter box sends it).
    pub(super) fn parse(raw: Option<&str>) -> Result<Query, String> {
        let mut q = Query::default();
        let Some(raw) = raw else { return Ok(q) };
        for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
            match &*key {
                "app" => {
                    let v = value.trim();
                    if v.chars().count() > MAX_FILTER_CHARS {
                        return Err(format!(
                            "app: the filter is longer than {MAX_FILTER_CHARS} characters"
                        ));
                    }
                    if value.chars().any(char::is_control) {
                        return Err("app: the filter contains a control character".to_owned());
                    }
                    q.app = (!v.is_empty()).then(|| crate::model::normalize_app_name(v));
                }
                "page" => q.page = number("page", &value, 1, usize::MAX)?,
                "size" => q.size = number("size", &value, 1, MAX_SIZE)?,
                "instances" => q.per_app = number("instances", &value, 1, MAX_PER_APP)?,
                _ => {}
            }
        }
        Ok(q)
    }

    /// Whether application `name` passes the filter.
    pub(super) fn matches(&self, name: &str) -> bool {
        self.app.as_deref().map_or(true, |f| name.contains(f))
    }
}

/// A whole number in `min..=max`, or a reason naming `key`.
fn number(key: &str, value: &str, min: usize, max: usize) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ if max == usize::MAX => Err(format!(
            "{key}: expected a whole number from {min}, got {value:?}"
        )),
        _ => Err(format!(
            "{key}: expected a whole number from {min} to {max}, got {value:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_values() {
        assert_eq!(Query::parse(None), Ok(Query::default()));
        assert_eq!(Query::parse(Some("")), Ok(Query::default()));
        let q = Query::parse(Some("app=ord+ers&page=3&size=10&instances=5&x=y"));
        assert_eq!(
            q,
            Ok(Query {
                app: Some("ORD ERS".into()),
                page: 3,
                size: 10,
                per_app: 5,
            })
        );
        assert_eq!(Query::parse(Some("app=%20")).map(|q| q.app), Ok(None));
        let q = Query::parse(Some("app=pay")).unwrap_or_default();
        assert!(q.matches("PAYMENTS"));
        assert!(!q.matches("ORDERS"));
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for (raw, key) in [
            ("page=0", "page"),
            ("page=-1", "page"),
            ("page=x", "page"),
            ("size=0", "size"),
            ("size=501", "size"),
            ("instances=10001", "instances"),
            ("app=%0A", "app"),
        ] {
            let e = Query::parse(Some(raw)).err().unwrap_or_default();
            assert!(e.starts_with(&format!("{key}:")), "{raw}: {e}");
        }
        let long = format!("app={}", "A".repeat(201));
        assert!(Query::parse(Some(&long)).is_err());
    }
}
