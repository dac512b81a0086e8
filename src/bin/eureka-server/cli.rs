//! The command line, built from the settings table: one flag per [`Setting`] with a
//! `flag`, plus `--config FILE` and `--print-config`, plus Spring Boot's command-line
//! properties (`--server.port=8762 --eureka.instance.hostname=peer2`), which are split
//! off before clap sees the arguments. Values stay text here; parsing and validation are
//! the table's, so a bad value is reported the same way from every source.
//!
//! [`Setting`]: crate::settings::Setting

use crate::resolve::FlagValues;
use crate::settings::{Kind, Settings, NO_OPS, SETTINGS};
use crate::source::{canonical, env_names};
use clap::{Arg, ArgAction, ArgMatches, Command};
use std::ffi::OsString;
use std::path::PathBuf;

/// What the command line asked for.
#[derive(Debug)]
pub(crate) struct Cli {
    /// `--config FILE`.
    pub(crate) config: Option<PathBuf>,
    /// `--print-config`.
    pub(crate) print_config: bool,
    /// The settings given as flags.
    pub(crate) flags: FlagValues,
    /// Spring command-line properties accepted with no effect, with why.
    pub(crate) notes: Vec<String>,
}

/// Splits Spring Boot's `--some.key=value` arguments (a `.` in the name) off the rest.
pub(crate) fn split_spring_args(
    args: impl IntoIterator<Item = OsString>,
) -> (Vec<OsString>, Vec<(String, String)>) {
    let mut rest = Vec::new();
    let mut spring = Vec::new();
    for arg in args {
        let pair = arg
            .to_str()
            .and_then(|a| a.strip_prefix("--"))
            .and_then(|a| a.split_once('='))
            .filter(|(name, _)| name.contains('.'))
            .map(|(name, value)| (name.to_owned(), value.to_owned()));
        match pair {
            Some(p) => spring.push(p),
            None => rest.push(arg),
        }
    }
    (rest, spring)
}

/// The clap command.
pub(crate) fn command() -> Command {
    let defaults = Settings::default();
    let mut cmd = Command::new("eureka-server")
        .version(env!("CARGO_PKG_VERSION"))
        .about("A fast, wire-compatible Netflix Eureka registry (tower-eureka)")
        .after_help(
            "Precedence: flags > environment > --config file > defaults. Every setting is also read \
             from its file key (Spring's relaxed names: kebab, camel or snake case) and from \
             Spring's environment forms of that key (EUREKA_SERVER_DISABLE_DELTA or \
             EUREKA_SERVER_DISABLEDELTA). --print-config lists every key.",
        )
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("Read settings from a Spring application.yml / .yaml or application.properties"),
        )
        .arg(
            Arg::new("print-config")
                .long("print-config")
                .action(ArgAction::SetTrue)
                .help("Print the effective settings and where each came from, then exit"),
        );
    for s in SETTINGS {
        let Some(flag) = s.flag else { continue };
        let env: Vec<String> = s
            .env
            .iter()
            .map(|n| (*n).to_owned())
            .chain(env_names(s.key))
            .collect();
        let default = s.display(&defaults);
        let help = format!(
            "{}\n[key: {}] [env: {}] [default: {}]",
            s.help,
            s.key,
            env.join(", "),
            if default.is_empty() { "none" } else { &default }
        );
        let arg = Arg::new(s.key).long(flag).help(help);
        let arg = match s.kind {
            Kind::Value => arg.value_name("VALUE").action(ArgAction::Set),
            Kind::Bool => arg
                .value_name("BOOL")
                .num_args(0..=1)
                .default_missing_value("true")
                .action(ArgAction::Set),
            Kind::List => arg.value_name("URLS").action(ArgAction::Append),
        };
        cmd = cmd.arg(arg);
    }
    cmd
}

/// Reads what `command()` matched, and the Spring properties split off before it; an
/// unknown Spring property is an error naming it.
pub(crate) fn read(m: &ArgMatches, spring: Vec<(String, String)>) -> Result<Cli, String> {
    let mut flags: FlagValues = SETTINGS
        .iter()
        .filter_map(|s| {
            let f = s.flag?;
            m.get_many::<String>(s.key).map(|v| {
                (
                    s.key,
                    v.cloned().collect::<Vec<_>>().join(","),
                    format!("--{f}"),
                )
            })
        })
        .collect();
    let mut notes = Vec::new();
    for (name, value) in spring {
        let c = canonical(&name);
        if let Some(s) = SETTINGS
            .iter()
            .find(|s| canonical(s.key) == c || s.aliases.iter().any(|a| canonical(a) == c))
        {
            flags.push((s.key, value, format!("--{name}")));
        } else if let Some((_, why)) = NO_OPS.iter().find(|(k, _)| canonical(k) == c) {
            notes.push(format!("--{name} accepted with no effect: {why}"));
        } else {
            return Err(format!(
                "--{name}: unknown setting (--print-config lists every key)"
            ));
        }
    }
    Ok(Cli {
        config: m.get_one::<PathBuf>("config").cloned(),
        print_config: m.get_flag("print-config"),
        flags,
        notes,
    })
}
