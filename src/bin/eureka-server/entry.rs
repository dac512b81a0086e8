//! One entry of the settings table: [`Setting`], how its flag takes a value ([`Kind`]),
//! and how it is shown (secrets masked).

use crate::parse::mask_userinfo;
use crate::values::Settings;

/// How a flag takes its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `--flag VALUE`.
    Value,
    /// `--flag` (true) or `--flag=false`.
    Bool,
    /// `--flag A --flag B,C`: the values are joined with commas.
    List,
}

/// One setting: its names in every source, its parser and its display.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Setting {
    /// The file key, in Spring's kebab case; also the id in `--print-config`.
    pub(crate) key: &'static str,
    /// Other file keys for the same setting.
    pub(crate) aliases: &'static [&'static str],
    /// The long flag, without dashes.
    pub(crate) flag: Option<&'static str>,
    /// Environment variables read before the two Spring derives from the key.
    pub(crate) env: &'static [&'static str],
    /// One line for `--help`.
    pub(crate) help: &'static str,
    /// How the flag takes its value.
    pub(crate) kind: Kind,
    /// Masked in `--print-config`.
    pub(crate) secret: bool,
    /// Parses and validates `value`, and stores it.
    pub(crate) apply: fn(&mut Settings, &str) -> Result<(), String>,
    /// The value as `--print-config` and `--help` show it.
    pub(crate) show: fn(&Settings) -> String,
}

impl Setting {
    pub(crate) const fn new(
        key: &'static str,
        help: &'static str,
        apply: fn(&mut Settings, &str) -> Result<(), String>,
        show: fn(&Settings) -> String,
    ) -> Setting {
        Setting {
            key,
            aliases: &[],
            flag: None,
            env: &[],
            help,
            kind: Kind::Value,
            secret: false,
            apply,
            show,
        }
    }

    pub(crate) const fn flag(mut self, flag: &'static str) -> Setting {
        self.flag = Some(flag);
        self
    }

    pub(crate) const fn env(mut self, names: &'static [&'static str]) -> Setting {
        self.env = names;
        self
    }

    #[allow(dead_code)] // kept for settings with a second file key
    pub(crate) const fn alias(mut self, keys: &'static [&'static str]) -> Setting {
        self.aliases = keys;
        self
    }

    pub(crate) const fn bool(mut self) -> Setting {
        self.kind = Kind::Bool;
        self
    }

    pub(crate) const fn list(mut self) -> Setting {
        self.kind = Kind::List;
        self
    }

    pub(crate) const fn secret(mut self) -> Setting {
        self.secret = true;
        self
    }

    /// The value as shown to people: `****` for a secret that is set.
    pub(crate) fn display(&self, settings: &Settings) -> String {
        let v = (self.show)(settings);
        if self.secret && !v.is_empty() {
            "****".to_owned()
        } else {
            v
        }
    }

    /// A value from a source as it may appear in a message: `****` for a secret,
    /// passwords masked in URLs otherwise.
    pub(crate) fn display_raw(&self, value: &str) -> String {
        if self.secret {
            "****".to_owned()
        } else {
            mask_userinfo(value)
        }
    }
}
