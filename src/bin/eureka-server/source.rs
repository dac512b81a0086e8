//! Where values come from: the `--config` file (`application.yml` / `.yaml` or
//! `application.properties`), the environment, Spring's relaxed key and variable names, and
//! `${NAME:default}` placeholders.
//!
//! A file is flattened to `(key as written, value)` pairs in file order, placeholders
//! resolved; matching a key to a setting is [`canonical`]: lower case, `-` and `_`
//! dropped, so `eviction-interval-timer-in-ms`, `evictionIntervalTimerInMs` and
//! `eviction_interval_timer_in_ms` are one key, as in Spring's relaxed binding.

use std::fmt;
use std::path::Path;

/// Where a value came from, lowest precedence first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The library's (or the binary's) default.
    Default,
    /// A key in the `--config` file.
    File {
        /// The file as given to `--config`.
        path: String,
        /// The key as written in the file.
        key: String,
    },
    /// An environment variable, by name.
    Env(String),
    /// A command-line flag, with its dashes.
    Flag(String),
}

impl Origin {
    /// Precedence: flags > environment > file > defaults.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Origin::Default => 0,
            Origin::File { .. } => 1,
            Origin::Env(_) => 2,
            Origin::Flag(_) => 3,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File { path, key } => write!(f, "file {path} ({key})"),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// `(key as written, value)` pairs in file order.
pub(crate) type Pairs = Vec<(String, String)>;

/// The flattened `--config` file.
#[derive(Debug, Default)]
pub(crate) struct FileValues {
    /// The path as given.
    pub(crate) path: String,
    /// `(key as written, value)`, in file order, placeholders resolved.
    pub(crate) entries: Vec<(String, String)>,
    /// Things worth a warning that are not errors (skipped profile documents).
    pub(crate) warnings: Vec<String>,
}

/// A key in Spring's canonical relaxed form: lower case, without `-` and `_`.
pub(crate) fn canonical(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The environment variables Spring binds to `key`: the current form (segments upper-cased
/// without dashes, joined by `_`: `EUREKA_SERVER_EVICTIONINTERVALTIMERINMS`) and the legacy
/// one (`.` and `-` both `_`: `EUREKA_SERVER_EVICTION_INTERVAL_TIMER_IN_MS`).
pub(crate) fn env_names(key: &str) -> [String; 2] {
    let legacy = key
        .chars()
        .map(|c| match c {
            '.' | '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    let current = key
        .chars()
        .filter(|c| *c != '-')
        .map(|c| match c {
            '.' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    [legacy, current]
}

/// Reads and flattens the file at `path`, by extension (`.yml`, `.yaml`, `.properties`),
/// resolving `${NAME}` and `${NAME:default}` from `env` and the file's own keys.
pub(crate) fn load(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<FileValues, String> {
    let shown = path.display().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--config {shown}: cannot read the file: {e}"))?;
    let (raw, warnings) = match ext.as_deref() {
        Some("yml" | "yaml") => parse_yaml(&text).map_err(|e| format!("--config {shown}: {e}"))?,
        Some("properties") => (
            parse_properties(&text).map_err(|e| format!("--config {shown}: {e}"))?,
            Vec::new(),
        ),
        _ => {
            return Err(format!(
                "--config {shown}: unknown file type (expected .yml, .yaml or .properties)"
            ))
        }
    };
    let mut entries = Vec::with_capacity(raw.len());
    for (key, value) in &raw {
        let value =
            expand(value, &raw, env, 0).map_err(|e| format!("{key}: {e} (from file {shown})"))?;
        entries.push((key.clone(), value));
    }
    Ok(FileValues {
        path: shown,
        entries,
        warnings: warnings
            .into_iter()
            .map(|w| format!("{path}: {w}", path = path.display()))
            .collect(),
    })
}

// === YAML ===

/// Flattens a YAML text to dotted keys. Documents are merged in order; a document
/// activated by a Spring profile (`spring.config.activate.on-profile`, `spring.profiles`)
/// is skipped with a warning, as no profile is active here.
pub(crate) fn parse_yaml(text: &str) -> Result<(Pairs, Vec<String>), String> {
    let docs = yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        if !matches!(doc, yaml_rust2::Yaml::Hash(_) | yaml_rust2::Yaml::Null) {
            return Err(format!("document {} is not a mapping of keys", i + 1));
        }
        let mut flat = Vec::new();
        flatten(doc, String::new(), &mut flat)?;
        let profile = flat.iter().find(|(k, _)| {
            let k = canonical(k);
            k == "spring.config.activate.onprofile" || k == "spring.profiles"
        });
        match profile {
            Some((k, v)) => warnings.push(format!(
                "document {} skipped: it is for profile {v:?} ({k}) and no profile is active",
                i + 1
            )),
            None => out.extend(flat),
        }
    }
    Ok((out, warnings))
}

fn flatten(
    node: &yaml_rust2::Yaml,
    prefix: String,
    out: &mut Vec<(String, String)>,
) -> Result<(), String> {
    use yaml_rust2::Yaml;
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match node {
        Yaml::Hash(map) => {
            for (k, v) in map {
                let Some(k) = scalar(k) else {
                    return Err(format!("a key under {prefix:?} is not a plain value"));
                };
                flatten(v, join(&k), out)?;
            }
        }
        Yaml::Array(items) => {
            // A list of plain values binds like Spring's comma-separated form.
            if let Some(list) = items.iter().map(scalar).collect::<Option<Vec<_>>>() {
                out.push((prefix, list.join(",")));
            } else {
                for (i, item) in items.iter().enumerate() {
                    flatten(item, format!("{prefix}[{i}]"), out)?;
                }
            }
        }
        Yaml::Alias(_) | Yaml::BadValue => {
            return Err(format!("{prefix}: YAML aliases are not supported"));
        }
        other => {
            if !prefix.is_empty() {
                out.push((prefix, scalar(other).unwrap_or_default()));
            }
        }
    }
    Ok(())
}

fn scalar(node: &yaml_rust2::Yaml) -> Option<String> {
    use yaml_rust2::Yaml;
    match node {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        Yaml::Null => Some(String::new()),
        _ => None,
    }
}

// === map settings ===

/// Settings that are maps in Spring (`Map<String, String>`): in a file, one key per entry
/// under the setting's key, folded into the setting by [`fold_map_keys`].
pub(crate) static MAP_KEYS: &[&str] = &["eureka.server.remote-region-urls-with-name"];

/// Folds the entries of a map setting into one entry of that setting: a key with more
/// segments than one of `map_keys` whose leading segments are that key (relaxed) names a
/// map entry (`eureka.server.remote-region-urls-with-name.us-west: http://..` in YAML or a
/// properties file, Spring's `Map<String, String>` binding; `[us-west]` also), and becomes
/// `name;value` in one comma-separated entry under the map key, where its first entry was.
/// Map entry names keep their case and dashes, which Spring's relaxed names would drop.
pub(crate) fn fold_map_keys(entries: Pairs, map_keys: &[&str]) -> Pairs {
    let mut out: Pairs = Vec::with_capacity(entries.len());
    let mut at: Vec<Option<usize>> = vec![None; map_keys.len()];
    for (key, value) in entries {
        let hit = map_keys.iter().enumerate().find_map(|(m, map_key)| {
            let n = map_key.split('.').count();
            let segments: Vec<&str> = key.splitn(n + 1, '.').collect();
            let (head, name) = (segments.get(..n)?, segments.get(n)?);
            (canonical(&head.join(".")) == canonical(map_key))
                .then(|| (m, head.join("."), name.trim_matches(['[', ']']).to_owned()))
        });
        match hit {
            Some((m, head, name)) => {
                let entry = format!("{name};{value}");
                match at[m].and_then(|i| out.get_mut(i)) {
                    Some((_, v)) => {
                        v.push(',');
                        v.push_str(&entry);
                    }
                    None => {
                        at[m] = Some(out.len());
                        out.push((head, entry));
                    }
                }
            }
            None => out.push((key, value)),
        }
    }
    out
}

// === .properties ===

/// Reads a Java `.properties` text (escapes, continuation lines, `=`, `:` or space).
pub(crate) fn parse_properties(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    java_properties::PropertiesIter::new(text.as_bytes())
        .read_into(|k, v| out.push((k, v)))
        .map_err(|e| format!("not a properties file: {e}"))?;
    Ok(out)
}

// === placeholders ===

/// Resolves Spring's `${NAME}` and `${NAME:default}` (nested defaults too): `NAME` is looked
/// up in the environment as written, then among the file's keys (relaxed), then as
/// Spring's environment form of a key (`server.port` → `SERVER_PORT`).
fn expand(
    value: &str,
    file: &[(String, String)],
    env: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Result<String, String> {
    if depth > 8 {
        return Err("placeholders nest deeper than 8 (a cycle?)".into());
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let inner_start = start + 2;
        let Some(len) = closing(&rest[inner_start..]) else {
            return Err(format!("unclosed placeholder in {value:?}"));
        };
        let inner = &rest[inner_start..inner_start + len];
        let (name, default) = split_default(inner);
        let found = env(name)
            .or_else(|| {
                let c = canonical(name);
                file.iter()
                    .rev()
                    .find(|(k, _)| canonical(k) == c)
                    .map(|(_, v)| v.clone())
            })
            .or_else(|| env_names(name).iter().find_map(|n| env(n)));
        let resolved = match (found, default) {
            (Some(v), _) => v,
            (None, Some(d)) => d.to_owned(),
            (None, None) => {
                return Err(format!(
                    "placeholder ${{{name}}} is not set (set {name} in the environment or write ${{{name}:default}})"
                ))
            }
        };
        out.push_str(&expand(&resolved, file, env, depth + 1)?);
        rest = &rest[inner_start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The length of a placeholder's inside, up to its matching `}`.
fn closing(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// `NAME:default` at the first `:` outside a nested placeholder.
fn split_default(inner: &str) -> (&str, Option<&str>) {
    let mut depth = 0usize;
    let bytes = inner.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b':' if depth == 0 => return (&inner[..i], Some(&inner[i + 1..])),
            _ => {}
        }
    }
    (inner, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn relaxed_keys_are_one_key() {
        let forms = [
            "eureka.server.eviction-interval-timer-in-ms",
            "eureka.server.evictionIntervalTimerInMs",
            "eureka.server.eviction_interval_timer_in_ms",
            "EUREKA.SERVER.EVICTION-INTERVAL-TIMER-IN-MS",
        ];
        for f in forms {
            assert_eq!(canonical(f), canonical(forms[0]), "{f}");
        }
        assert_eq!(
            canonical("eureka.client.service-url.defaultZone"),
            canonical("eureka.client.serviceUrl.defaultZone")
        );
        assert_ne!(
            canonical("eureka.server.a-b"),
            canonical("eureka.servera.b")
        );
    }

    #[test]
    fn spring_env_names_of_a_key() {
        assert_eq!(
            env_names("eureka.server.eviction-interval-timer-in-ms"),
            [
                "EUREKA_SERVER_EVICTION_INTERVAL_TIMER_IN_MS",
                "EUREKA_SERVER_EVICTIONINTERVALTIMERINMS"
            ]
        );
        assert_eq!(env_names("server.port")[1], "SERVER_PORT");
        assert_eq!(
            env_names("eureka.client.service-url.defaultZone")[1],
            "EUREKA_CLIENT_SERVICEURL_DEFAULTZONE"
        );
    }

    #[test]
    fn yaml_is_flattened_in_order_with_lists_joined() {
        let text = "server:\n  port: 8761\neureka:\n  server:\n    renewal-percent-threshold: 0.49\n    enableSelfPreservation: false\n  client:\n    serviceUrl:\n      defaultZone:\n        - http://a:1/eureka/\n        - http://b:2/eureka/\n    empty:\n";
        let Ok((flat, warnings)) = parse_yaml(text) else {
            panic!("yaml parses");
        };
        assert!(warnings.is_empty());
        let want: Vec<(String, String)> = [
            ("server.port", "8761"),
            ("eureka.server.renewal-percent-threshold", "0.49"),
            ("eureka.server.enableSelfPreservation", "false"),
            (
                "eureka.client.serviceUrl.defaultZone",
                "http://a:1/eureka/,http://b:2/eureka/",
            ),
            ("eureka.client.empty", ""),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(flat, want);
    }

    #[test]
    fn yaml_profile_documents_are_skipped_and_bad_yaml_is_refused() {
        let text = "server:\n  port: 1\n---\nspring:\n  config:\n    activate:\n      on-profile: peer2\nserver:\n  port: 2\n---\nserver:\n  port: 3\n";
        let Ok((flat, warnings)) = parse_yaml(text) else {
            panic!("yaml parses");
        };
        let ports: Vec<&str> = flat.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(ports, ["1", "3"]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("peer2"), "{warnings:?}");
        assert!(parse_yaml("a: [1, 2\n").is_err());
        assert!(parse_yaml("just text\n").is_err());
        assert!(parse_yaml("- a\n- b\n").is_err());
        assert!(matches!(parse_yaml(""), Ok((v, _)) if v.is_empty()));
    }

    #[test]
    fn properties_keep_order_and_java_syntax() {
        let text = "# comment\nserver.port=8761\neureka.server.enableSelfPreservation : false\neureka.client.serviceUrl.defaultZone http://a:1/eureka/,\\\n  http://b:2/eureka/\n";
        let Ok(flat) = parse_properties(text) else {
            panic!("properties parse");
        };
        assert_eq!(flat.len(), 3);
        assert_eq!(
            flat[1],
            (
                "eureka.server.enableSelfPreservation".into(),
                "false".into()
            )
        );
        assert_eq!(flat[2].1, "http://a:1/eureka/,http://b:2/eureka/");
    }

    #[test]
    fn placeholders_from_env_file_keys_and_defaults() {
        let file = vec![
            ("server.port".to_owned(), "8761".to_owned()),
            ("eureka.instance.hostname".to_owned(), "peer1".to_owned()),
        ];
        let env = |n: &str| (n == "PORT").then(|| "9000".to_owned());
        let ex = |v: &str| expand(v, &file, &env, 0);
        assert_eq!(ex("${PORT:8761}").as_deref(), Ok("9000"));
        assert_eq!(ex("${NOPE:8761}").as_deref(), Ok("8761"));
        assert_eq!(ex("${NOPE:}").as_deref(), Ok(""));
        assert_eq!(ex("${NOPE:${PORT}}").as_deref(), Ok("9000"));
        assert_eq!(
            ex("http://${eureka.instance.hostname}:${server.port}/eureka/").as_deref(),
            Ok("http://peer1:8761/eureka/")
        );
        assert_eq!(
            ex("no placeholder: {x}").as_deref(),
            Ok("no placeholder: {x}")
        );
        let Err(e) = ex("${NOPE}") else {
            panic!("an unset placeholder without default resolves");
        };
        assert!(e.contains("NOPE"), "{e}");
        assert!(ex("${PORT").is_err());
        let cyclic = vec![("a".to_owned(), "${a}".to_owned())];
        assert!(expand("${a}", &cyclic, &no_env, 0).is_err());
    }

    #[test]
    fn a_file_is_read_by_extension() {
        let dir = std::env::temp_dir().join(format!("eureka-source-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let yml = dir.join("application.yml");
        let props = dir.join("application.properties");
        let other = dir.join("application.toml");
        for (p, t) in [
            (&yml, "server:\n  port: ${P:1}\n"),
            (&props, "server.port=${P:2}\n"),
            (&other, "x = 1\n"),
        ] {
            if let Err(e) = std::fs::write(p, t) {
                panic!("{e}");
            }
        }
        let port = |p: &Path| match load(p, &no_env) {
            Ok(f) => f.entries[0].1.clone(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(port(&yml), "1");
        assert_eq!(port(&props), "2");
        let Err(e) = load(&other, &no_env) else {
            panic!(".toml accepted");
        };
        assert!(e.contains("--config"), "{e}");
        let Err(e) = load(&dir.join("missing.yml"), &no_env) else {
            panic!("a missing file loads");
        };
        assert!(e.contains("missing.yml"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
