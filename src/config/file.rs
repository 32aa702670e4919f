//! The TOML config file: its schema, and turning `toml` errors into [`ConfigError`]s
//! that name the file, line, column, key and fix.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, ErrorKind, Origin, describe_type_error, prefix_upto};
use super::table::{self, profile_view};
use crate::region::closest;
use crate::secret::Secret;

/// Keys allowed at the top level of the file.
pub const ROOT_KEYS: &[&str] = &["default_profile", "sources", "profiles", "views", "columns"];

/// Keys allowed in a `[profiles.NAME.alerts]` table.
pub const ALERT_KEYS: &[&str] = &[
    "problems",
    "stuck",
    "lease",
    "lease_lead",
    "existing",
    "bell",
    "desktop",
    "hook",
    "hook_timeout",
];

/// Keys allowed in a `[profiles.NAME.filters]` table.
pub const FILTER_KEYS: &[&str] = &[
    "status",
    "name",
    "feature",
    "pool_id",
    "owner",
    "workspace_id",
    "sort_key",
    "sort_dir",
];

/// Keys allowed in a `[views.NAME]` table.
pub const VIEW_KEYS: &[&str] = &["name", "status", "problems", "sort", "sort_dir", "columns"];

/// Keys whose values are secrets: errors on their lines never quote anything.
const SECRET_KEYS: &[&str] = &["sk", "security_token", "auth_token"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub default_profile: Option<Spanned<String>>,
    /// Profiles watched together when none is asked for (see `config::sources`).
    pub sources: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub profiles: BTreeMap<String, RawProfile>,
    /// Named views of the dashboard (see `config::views`).
    #[serde(default)]
    pub views: BTreeMap<String, Spanned<RawView>>,
    /// The table's columns, in order, for every profile that sets none.
    pub columns: Option<Names>,
}

/// A list of names, each with its place in the file.
pub type Names = Spanned<Vec<Spanned<String>>>;

/// `[views.NAME]`: what the dashboard shows when the view is picked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawView {
    /// The name filter (a case-insensitive part of the name).
    pub name: Option<Spanned<String>>,
    pub status: Option<Names>,
    pub problems: Option<Spanned<bool>>,
    pub sort: Option<Spanned<String>>,
    pub sort_dir: Option<Spanned<String>>,
    pub columns: Option<Names>,
}

// `[profiles.NAME]`: the keys written here, in two groups, and between
// them a key for each setting of `table::settings_rows!`.
table::settings_rows!(profile_view [
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RawProfile {
        {
            pub region: Option<Spanned<String>>,
            pub endpoint: Option<Spanned<String>>,
            pub project_id: Option<Spanned<String>>,
            pub ak: Option<Spanned<String>>,
            pub sk: Option<Spanned<RawSecret>>,
            pub sk_file: Option<Spanned<String>>,
            pub sk_env: Option<Spanned<String>>,
            pub security_token: Option<Spanned<RawSecret>>,
            pub security_token_file: Option<Spanned<String>>,
            pub security_token_env: Option<Spanned<String>>,
            pub auth_token: Option<Spanned<RawSecret>>,
            pub auth_token_file: Option<Spanned<String>>,
            pub auth_token_env: Option<Spanned<String>>,
        }
        {
            #[serde(default)]
            pub filters: RawFilters,
            #[serde(default)]
            pub alerts: RawAlerts,
            /// The table's columns, in order, overriding the file's.
            pub columns: Option<Names>,
        }
    }
    /// Keys allowed in a `[profiles.NAME]` table.
    pub const PROFILE_KEYS;
]);

/// The value a kind of row of `table::settings_rows!` takes in a profile.
pub trait ProfileKey {
    type File;
}

impl ProfileKey for table::Secs {
    type File = Spanned<Seconds>;
}

impl<T, const SCALE: u64> ProfileKey for table::Count<T, SCALE> {
    type File = Spanned<i64>;
}

impl<T> ProfileKey for table::Text<T> {
    type File = Spanned<String>;
}

impl ProfileKey for table::Location {
    type File = Spanned<String>;
}

impl ProfileKey for table::Switch {
    type File = Spanned<bool>;
}

/// `[profiles.NAME.alerts]`: which alerts, and how they reach the user.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    pub problems: Option<Spanned<bool>>,
    pub stuck: Option<Spanned<bool>>,
    pub lease: Option<Spanned<bool>>,
    pub lease_lead: Option<Spanned<Seconds>>,
    pub existing: Option<Spanned<bool>>,
    pub bell: Option<Spanned<bool>>,
    pub desktop: Option<Spanned<bool>>,
    pub hook: Option<Spanned<String>>,
    pub hook_timeout: Option<Spanned<Seconds>>,
}

impl RawProfile {
    /// Whether a secret is written in clear in this profile (for the permissions warning).
    pub fn holds_inline_secret(&self) -> bool {
        self.sk.is_some() || self.security_token.is_some() || self.auth_token.is_some()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFilters {
    pub status: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    pub feature: Option<Spanned<String>>,
    pub pool_id: Option<Spanned<String>>,
    pub owner: Option<Spanned<String>>,
    pub workspace_id: Option<Spanned<String>>,
    pub sort_key: Option<Spanned<String>>,
    pub sort_dir: Option<Spanned<String>>,
}

/// A secret read from the file. Only strings are accepted; `Debug` prints `***`.
#[derive(Clone)]
pub struct RawSecret(pub Secret);

impl fmt::Debug for RawSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for RawSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| RawSecret(Secret::new(s)))
    }
}

/// A duration in seconds: a number (`90`, `2.5`) or a string with units (`"90s"`, `"10m"`, `"1h30m"`, `"500ms"`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Seconds(pub f64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("seconds as a number, or a duration string such as \"90s\" or \"10m\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Seconds, E> {
                Ok(Seconds(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Seconds, E> {
                Ok(Seconds(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Seconds, E> {
                Ok(Seconds(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Seconds, E> {
                crate::timefmt::parse_secs(v)
                    .map(Seconds)
                    .map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A parsed config file, kept with its text so any span can be turned into line:column.
#[derive(Debug)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub src: String,
    pub raw: RawFile,
}

impl ConfigFile {
    pub fn parse(path: &Path, src: String) -> Result<ConfigFile, ConfigError> {
        match toml::from_str::<RawFile>(&src) {
            Ok(raw) => Ok(ConfigFile {
                path: path.to_path_buf(),
                src,
                raw,
            }),
            Err(e) => Err(toml_error(path, &src, &e)),
        }
    }

    /// Where a value with this span sits in the file.
    pub fn origin<T>(&self, v: &Spanned<T>) -> Origin {
        Origin::in_file(&self.path, &self.src, v.span().start)
    }

    /// The directory relative paths in the file are resolved against.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Names of the profiles the file defines.
    pub fn profile_names(&self) -> Vec<&str> {
        self.raw.profiles.keys().map(String::as_str).collect()
    }
}

/// Converts a `toml` deserialisation error into one clear message.
fn toml_error(path: &Path, src: &str, e: &toml::de::Error) -> ConfigError {
    let start = e.span().map_or(0, |s| s.start);
    let at = Origin::in_file(path, src, start);
    let msg = e.message().trim();
    let line_text = prefix_upto(src, start).rfind('\n').map_or(0, |i| i + 1);
    let line_text = src
        .get(line_text..)
        .and_then(|rest| rest.lines().next())
        .unwrap_or("");
    let section = section_at(src, start);

    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let key = rest.split('`').next().unwrap_or("");
        let expected: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
        return unknown_key(at, key, &section, &expected);
    }

    let key = key_on_line(line_text);
    if msg.starts_with("invalid type:") || msg.starts_with("invalid value:") {
        let what = describe_type_error(msg);
        let (problem, fix) = match key.as_deref() {
            Some(k) if section == "profiles" => (
                format!("wrong type for profile `{k}`: {what}"),
                format!(
                    "each profile is a table: write [profiles.{k}] on its own line, then its keys"
                ),
            ),
            Some(k) if section == "views" => (
                format!("wrong type for view `{k}`: {what}"),
                format!("each view is a table: write [views.{k}] on its own line, then its keys"),
            ),
            Some(k) => (
                format!("wrong type for `{k}`: {what}"),
                type_fix(k, &section),
            ),
            None => (
                format!("wrong type: {what}"),
                "check the value on this line against config.example.toml".to_string(),
            ),
        };
        return ConfigError::new(ErrorKind::WrongType, Some(at), problem, fix);
    }

    // Messages from our own deserialisers (durations) name no values; a secret line gets
    // nothing quoted at all.
    let secret_line = key.as_deref().is_some_and(|k| SECRET_KEYS.contains(&k));
    let is_ours = msg.starts_with("duration");
    let detail = msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if is_ours {
        let k = key.unwrap_or_default();
        return ConfigError::new(
            ErrorKind::InvalidValue,
            Some(at),
            format!("bad value for `{k}`: {detail}"),
            "write seconds as a number (5, 2.5) or a string with a unit (\"500ms\", \"90s\", \"10m\", \"1h\")",
        );
    }
    let problem = if secret_line {
        "TOML syntax error on the line of a secret".to_string()
    } else {
        format!("TOML syntax error: {detail}")
    };
    let fix = if msg.starts_with("duplicate key") {
        "a key may appear once per table: remove or rename one of the two"
    } else {
        "fix the TOML syntax on this line: strings need double quotes, tables look like [profiles.NAME] (see config.example.toml)"
    };
    ConfigError::new(ErrorKind::Syntax, Some(at), problem, fix)
}

fn unknown_key(at: Origin, key: &str, section: &str, expected: &[&str]) -> ConfigError {
    let table = if section.is_empty() {
        "at the top level".to_string()
    } else {
        format!("in [{section}]")
    };
    // A pasted secret can end up as a key: quote only what looks like a key name.
    let looks_like_key = key.len() <= 32
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let problem = if looks_like_key {
        format!("unknown key `{key}` {table}")
    } else {
        format!(
            "unknown key {table} (not quoted here: it is long or unusual, maybe a pasted secret)"
        )
    };
    let mut fix = match closest(key, expected.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => String::new(),
    };
    let belongs = if expected.contains(&"default_profile") && PROFILE_KEYS.contains(&key) {
        Some("profile settings belong in a [profiles.NAME] table")
    } else if !expected.contains(&"status") && FILTER_KEYS.contains(&key) && key != "workspace_id" {
        Some("filter defaults belong in a [profiles.NAME.filters] table")
    } else if expected.contains(&"sort_key") && PROFILE_KEYS.contains(&key) {
        Some("this is a profile setting: move it above the [profiles.NAME.filters] header")
    } else {
        None
    };
    if let Some(b) = belongs {
        fix = b.to_string();
    }
    if fix.is_empty() {
        fix = format!("valid keys here: {}", expected.join(", "));
    } else {
        fix = format!("{fix} (valid keys here: {})", expected.join(", "));
    }
    ConfigError::new(ErrorKind::UnknownKey, Some(at), problem, fix)
}

fn type_fix(key: &str, section: &str) -> String {
    let columns_example = "columns = [\"name\", \"status\", \"lease\"]";
    match key {
        "columns" => format!(
            "write a list of column names in double quotes, e.g. {columns_example} (columns: {})",
            crate::app::SortColumn::keys(", ")
        ),
        "status" if section.starts_with("views.") => {
            "write a list of statuses, e.g. status = [\"RUNNING\", \"STARTING\"]".into()
        }
        "problems" => "write true or false without quotes, e.g. problems = true".into(),
        k if table::type_fix(k).is_some() => table::type_fix(k).unwrap_or_default(),
        "filters" => "filters is a table: [profiles.NAME.filters]".into(),
        "profiles" => "profiles is a table of tables: [profiles.NAME]".into(),
        k => format!("write it as a string in double quotes, e.g. {k} = \"...\""),
    }
}

/// The key assigned on a line like `  page_size = "50"` (last segment of a dotted key).
fn key_on_line(line: &str) -> Option<String> {
    let (lhs, _) = line.split_once('=')?;
    let last = lhs.rsplit('.').next()?.trim().trim_matches(['"', '\'']);
    (!last.is_empty() && !last.starts_with('[')).then(|| last.to_string())
}

/// The name of the `[table]` or `[[array]]` header in force at byte `at`.
fn section_at(src: &str, at: usize) -> String {
    let upto = prefix_upto(src, at);
    upto.lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| {
            l.trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_on_line_handles_dotted_and_quoted_keys() {
        assert_eq!(
            key_on_line("  page_size = \"50\"").as_deref(),
            Some("page_size")
        );
        assert_eq!(
            key_on_line("profiles.a.region = 1").as_deref(),
            Some("region")
        );
        assert_eq!(key_on_line("\"sk\" = 1").as_deref(), Some("sk"));
        assert_eq!(key_on_line("[profiles.a]"), None);
    }

    #[test]
    fn section_is_the_last_header_before_the_error() {
        let src =
            "default_profile = \"a\"\n[profiles.a]\nregion = 1\n[profiles.a.filters]\nx = 1\n";
        assert_eq!(section_at(src, 5), "");
        assert_eq!(section_at(src, src.find("region").unwrap()), "profiles.a");
        assert_eq!(
            section_at(src, src.find("x =").unwrap()),
            "profiles.a.filters"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_gives_a_settings_file_or_one_located_error(src in "(\\PC|\n|\\[|\\]|=|\"){0,200}") {
            if let Err(e) = ConfigFile::parse(Path::new("c.toml"), src) {
                let is_file = matches!(e.at, Some(Origin::File { .. }));
                proptest::prop_assert!(is_file);
                proptest::prop_assert!(e.to_string().contains("\n  fix: "));
            }
        }

        #[test]
        fn profile_tables_with_random_values_never_panic(key in "[a-z_]{1,20}", value in "\\PC{0,30}") {
            let src = format!("[profiles.p]\n{key} = {value}\n");
            let _ = ConfigFile::parse(Path::new("c.toml"), src);
        }
    }

    #[test]
    fn key_lists_are_exactly_what_serde_accepts() {
        for (src, list) in [
            ("zzzz = 1\n", ROOT_KEYS),
            ("[profiles.p]\nzzzz = 1\n", PROFILE_KEYS),
            ("[profiles.p.filters]\nzzzz = 1\n", FILTER_KEYS),
            ("[views.v]\nzzzz = 1\n", VIEW_KEYS),
        ] {
            let e = ConfigFile::parse(Path::new("c.toml"), src.to_string()).unwrap_err();
            assert!(
                e.fix
                    .ends_with(&format!("valid keys here: {}", list.join(", "))),
                "{e}"
            );
        }
    }

    #[test]
    fn profile_key_lists_match_the_schema() {
        // Every listed key parses; a typo of each is rejected (keeps the lists honest).
        for k in PROFILE_KEYS.iter().filter(|k| **k != "filters") {
            let src = format!("[profiles.p]\n{k} = \"1s\"\n");
            let r = ConfigFile::parse(Path::new("c.toml"), src);
            if let Err(e) = &r {
                assert_ne!(e.kind, ErrorKind::UnknownKey, "{k}: {e}");
            }
        }
        for k in FILTER_KEYS {
            let src = format!("[profiles.p.filters]\n{k} = \"x\"\n");
            assert!(ConfigFile::parse(Path::new("c.toml"), src).is_ok(), "{k}");
        }
    }
}
