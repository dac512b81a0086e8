//! A small strict parser of the Prometheus text format (0.0.4), for asserting exact values.
//!
//! Strict on what this crate promises: every sample belongs to a family declared by a
//! `# HELP` and a `# TYPE` line before it, names follow the conventions (an `eureka_`
//! prefix, `_total` on counters and only on them, histograms in `_seconds` with `_bucket`,
//! `_sum`, `_count`), label values are quoted, values parse as numbers.

use std::collections::{BTreeMap, HashMap};

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// A parsed exposition.
#[derive(Debug, Default)]
pub(crate) struct Exposition {
    /// Family name → type (`counter`, `gauge`, `histogram`).
    pub(crate) types: HashMap<String, String>,
    pub(crate) samples: Vec<Sample>,
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The family a sample name belongs to, given the declared types.
fn family_of<'a>(name: &'a str, types: &HashMap<String, String>) -> Option<&'a str> {
    if types.contains_key(name) {
        return Some(name);
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if types.get(base).map(String::as_str) == Some("histogram") {
                return Some(base);
            }
        }
    }
    None
}

fn parse_labels(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    let mut rest = s;
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once("=\"")
            .ok_or_else(|| format!("label without =\" in {s:?}"))?;
        if !is_name(key) {
            return Err(format!("bad label name {key:?}"));
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => return Err(format!("bad escape {other:?} in {s:?}")),
                },
                Some((_, c)) => value.push(c),
                None => return Err(format!("unterminated label value in {s:?}")),
            }
        };
        if labels.insert(key.to_owned(), value).is_some() {
            return Err(format!("label {key} repeated"));
        }
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    Ok(labels)
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse().map_err(|_| format!("bad value {s:?}")),
    }
}

/// Parses `text`; any deviation from the format or the conventions is an `Err`.
pub(crate) fn parse(text: &str) -> Result<Exposition, String> {
    let mut out = Exposition::default();
    let mut helped: Option<String> = None;
    if !text.ends_with('\n') {
        return Err("the text does not end with a newline".into());
    }
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _help) = rest.split_once(' ').ok_or("HELP without text")?;
            helped = Some(name.to_owned());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, ty) = rest.split_once(' ').ok_or("TYPE without a type")?;
            if helped.as_deref() != Some(name) {
                return Err(format!("TYPE {name} without its HELP line"));
            }
            if !is_name(name) || !name.starts_with("eureka_") {
                return Err(format!("{name}: not an eureka_ metric name"));
            }
            match ty {
                "counter" if !name.ends_with("_total") => {
                    return Err(format!("counter {name} does not end in _total"))
                }
                "gauge" if name.ends_with("_total") => {
                    return Err(format!("gauge {name} ends in _total"))
                }
                "histogram" if !name.ends_with("_seconds") => {
                    return Err(format!("histogram {name} is not in seconds"))
                }
                "counter" | "gauge" | "histogram" => {}
                other => return Err(format!("{name}: unexpected type {other}")),
            }
            for bad in ["_ms", "_millis", "_milliseconds", "_micros"] {
                if name.contains(bad) {
                    return Err(format!("{name}: not in base units"));
                }
            }
            if out.types.insert(name.to_owned(), ty.to_owned()).is_some() {
                return Err(format!("{name} declared twice"));
            }
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            return Err(format!("unexpected line {line:?}"));
        }
        let (series, value) = line
            .rsplit_once(' ')
            .ok_or_else(|| format!("no value in {line:?}"))?;
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => {
                let l = l
                    .strip_suffix('}')
                    .ok_or_else(|| format!("unclosed labels in {line:?}"))?;
                (n, parse_labels(l)?)
            }
            None => (series, BTreeMap::new()),
        };
        if !is_name(name) {
            return Err(format!("bad metric name {name:?}"));
        }
        if family_of(name, &out.types).is_none() {
            return Err(format!("{name}: sample before its # TYPE line"));
        }
        out.samples.push(Sample {
            name: name.to_owned(),
            labels,
            value: parse_value(value)?,
        });
    }
    Ok(out)
}

impl Exposition {
    /// The value of the one sample `name` with exactly `labels`.
    pub(crate) fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut found = self
            .samples
            .iter()
            .filter(|s| s.name == name && s.labels == want);
        let first = found.next()?.value;
        assert!(found.next().is_none(), "{name} {labels:?} appears twice");
        Some(first)
    }

    /// Like [`get`](Self::get), but the sample must exist.
    pub(crate) fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
    }

    /// Every sample of `name`, whatever its labels.
    pub(crate) fn all(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }

    /// The declared type of family `name`.
    pub(crate) fn type_of(&self, name: &str) -> Option<&str> {
        self.types.get(name).map(String::as_str)
    }
}

#[test]
fn the_parser_refuses_what_breaks_the_conventions() {
    let ok =
        "# HELP eureka_x_total x\n# TYPE eureka_x_total counter\neureka_x_total{a=\"b\\\"c\"} 3\n";
    let e = parse(ok).expect("valid");
    assert_eq!(e.value("eureka_x_total", &[("a", "b\"c")]), 3.0);
    for bad in [
        "# HELP eureka_x x\n# TYPE eureka_x counter\neureka_x 1\n",
        "# HELP eureka_x_total x\n# TYPE eureka_x_total gauge\neureka_x_total 1\n",
        "# HELP eureka_x_ms x\n# TYPE eureka_x_ms histogram\n",
        "# HELP x_total x\n# TYPE x_total counter\nx_total 1\n",
        "eureka_y 1\n",
        "# TYPE eureka_y gauge\neureka_y 1\n",
        "# HELP eureka_y y\n# TYPE eureka_y gauge\neureka_y{a=b} 1\n",
        "# HELP eureka_y y\n# TYPE eureka_y gauge\neureka_y one\n",
        "# HELP eureka_y y\n# TYPE eureka_y gauge\neureka_y 1",
    ] {
        assert!(parse(bad).is_err(), "accepted {bad:?}");
    }
}
