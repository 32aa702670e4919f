//! One setting from the layers: the context every reader of the layers
//! shares ([`Cx`]: the environment, the config file and the profile in use),
//! the first layer that sets a value ([`Cx::pick`]), and how each kind of row
//! of `table::settings_rows!` is read, flag over environment over profile
//! over default ([`Read`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::error::{ConfigError, ErrorKind, Origin};
use super::file::{ConfigFile, ProfileKey, RawProfile, Seconds};
use super::table::{self, Kind, Whole};
use super::values::expand_path;
use super::{Dirs, Env};
use crate::timefmt::{parse_secs, written_secs as show_secs};

/// A value and the layer it came from.
#[derive(Debug)]
pub(super) struct Got<T> {
    pub(super) value: T,
    pub(super) at: Origin,
}

/// A variable's value, trimmed; empty counts as unset.
pub(super) fn env_value(env: &dyn Env, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// What every reader of the layers shares: where the environment, the home
/// directory, the config file and the profile in use are.
pub(super) struct Cx<'a> {
    pub(super) env: &'a dyn Env,
    pub(super) dirs: &'a Dirs,
    pub(super) file: Option<&'a ConfigFile>,
    pub(super) profile: &'a RawProfile,
    pub(super) profile_name: String,
    pub(super) home: Option<&'a Path>,
    pub(super) default_config: Option<PathBuf>,
}

impl Cx<'_> {
    pub(super) fn env_var(&self, name: &str) -> Option<Got<String>> {
        env_value(self.env, name).map(|value| Got {
            value,
            at: Origin::Env(name.to_string()),
        })
    }

    pub(super) fn origin<T>(&self, v: &Spanned<T>) -> Origin {
        match self.file {
            Some(f) => f.origin(v),
            None => Origin::Default,
        }
    }

    /// "[profiles.NAME] in PATH", for fixes that point into the config file.
    pub(super) fn profile_table(&self) -> String {
        let path = self
            .file
            .map(|f| f.path.clone())
            .or_else(|| self.default_config.clone());
        match path {
            Some(p) => format!("[profiles.{}] in {}", self.profile_name, p.display()),
            None => format!("[profiles.{}] in the config file", self.profile_name),
        }
    }

    /// The first non-empty value of CLI, environment, file.
    pub(super) fn pick(
        &self,
        cli: Option<&str>,
        flag: &'static str,
        var: &str,
        file: Option<&Spanned<String>>,
    ) -> Option<Got<String>> {
        if let Some(v) = cli.map(str::trim).filter(|v| !v.is_empty()) {
            return Some(Got {
                value: v.to_string(),
                at: Origin::Cli(flag),
            });
        }
        if !var.is_empty()
            && let Some(g) = self.env_var(var)
        {
            return Some(g);
        }
        let f = file?;
        let v = f.get_ref().trim();
        (!v.is_empty()).then(|| Got {
            value: v.to_string(),
            at: self.origin(f),
        })
    }

    /// A duration from the first layer that sets it, checked against its row.
    pub(super) fn secs(
        &self,
        row: &table::Secs,
        cli: Option<f64>,
        file: Option<&Spanned<Seconds>>,
    ) -> Result<Duration, ConfigError> {
        let got = if let (Some(v), Some(flag)) = (cli, row.flag) {
            Got {
                value: v,
                at: Origin::Cli(flag),
            }
        } else if let Some(g) = self.env_var(row.var) {
            let value = parse_secs(&g.value).map_err(|e| {
                ConfigError::at(
                    ErrorKind::InvalidValue,
                    &g.at,
                    format!("{}: {e}", row.key),
                    format!(
                        "set {} to seconds (5, 2.5) or a duration with a unit (\"500ms\", \"90s\", \"10m\")",
                        row.var
                    ),
                )
            })?;
            Got { value, at: g.at }
        } else if let Some(f) = file {
            Got {
                value: f.get_ref().0,
                at: self.origin(f),
            }
        } else {
            return Ok(row.default);
        };
        let v = got.value;
        if !v.is_finite() || v < row.min || v > row.max {
            let shown = if v.is_finite() {
                show_secs(v)
            } else {
                format!("{v}")
            };
            return Err(ConfigError::at(
                ErrorKind::InvalidValue,
                &got.at,
                format!("{} {shown} is out of range", row.key),
                format!(
                    "use a duration from {} to {} (default {})",
                    show_secs(row.min),
                    show_secs(row.max),
                    show_secs(row.default.as_secs_f64())
                ),
            ));
        }
        Ok(Duration::from_secs_f64(v))
    }

    /// A whole number from the first layer that sets it, checked against its
    /// row, in the row's unit.
    fn count<T: Whole, const SCALE: u64>(
        &self,
        row: &table::Count<T, SCALE>,
        cli: Option<u64>,
        file: Option<&Spanned<i64>>,
    ) -> Result<u64, ConfigError> {
        let got = if let (Some(v), Some(flag)) = (cli, row.flag) {
            Got {
                value: i64::try_from(v).unwrap_or(i64::MAX),
                at: Origin::Cli(flag),
            }
        } else if let Some(g) = self.env_var(row.var) {
            let value = g.value.parse::<i64>().map_err(|_| {
                ConfigError::at(
                    ErrorKind::InvalidValue,
                    &g.at,
                    format!("{} must be a whole number", row.key),
                    format!(
                        "set {var} to a whole number, e.g. {var}={}",
                        row.default,
                        var = row.var
                    ),
                )
            })?;
            Got { value, at: g.at }
        } else if let Some(f) = file {
            Got {
                value: *f.get_ref(),
                at: self.origin(f),
            }
        } else {
            return Ok(row.default.to_u64());
        };
        let v = got.value;
        let (ok, problem, fix) = match row.allowed {
            table::Allowed::Range(lo, hi) => (
                u64::try_from(v).is_ok_and(|v| (lo..=hi).contains(&v)),
                format!("{} {v}{} is out of range", row.noun, row.per),
                format!(
                    "use a number of {} from {lo} to {hi} (default {})",
                    row.unit, row.default
                ),
            ),
            table::Allowed::OneOf(list) => (
                list.iter().any(|&n| i64::from(n) == v),
                format!("{} {v} is not allowed", row.noun),
                format!(
                    "use {} (the sizes the service documents; default {})",
                    crate::api::PageSize::allowed_list("or"),
                    row.default
                ),
            ),
        };
        if !ok {
            return Err(ConfigError::at(
                ErrorKind::InvalidValue,
                &got.at,
                problem,
                fix,
            ));
        }
        Ok(u64::try_from(v).unwrap_or(row.default.to_u64()))
    }

    /// A path from the environment or the profile, with `~` and relative paths
    /// (to the file's directory) expanded; empty means unset.
    fn path_setting(&self, var: &str, file: Option<&Spanned<String>>) -> Option<PathBuf> {
        if let Some(v) = env_value(self.env, var) {
            return Some(expand_path(&v, self.home, None));
        }
        let v = file.map(|v| v.get_ref().trim()).filter(|v| !v.is_empty())?;
        Some(expand_path(v, self.home, self.file.map(ConfigFile::dir)))
    }
}

/// How a kind of row of the table is read: flag over environment over
/// profile over default. `flag` is the row's `Overrides` field (`None`: the
/// row has no flag), `file` its key in the profile.
pub(super) trait Read: Kind + ProfileKey {
    fn read(
        &self,
        cx: &Cx,
        flag: Option<&Self::Flag>,
        file: Option<&Self::File>,
    ) -> Result<Self::Value, ConfigError>;
}

impl Read for table::Secs {
    fn read(
        &self,
        cx: &Cx,
        flag: Option<&Option<f64>>,
        file: Option<&Spanned<Seconds>>,
    ) -> Result<Duration, ConfigError> {
        cx.secs(self, flag.copied().flatten(), file)
    }
}

impl<T: Whole, const SCALE: u64> Read for table::Count<T, SCALE> {
    fn read(
        &self,
        cx: &Cx,
        flag: Option<&Option<T>>,
        file: Option<&Spanned<i64>>,
    ) -> Result<T, ConfigError> {
        let cli = flag.copied().flatten().map(Whole::to_u64);
        let n = cx.count(self, cli, file)?.saturating_mul(SCALE);
        // Every row's range fits its type.
        Ok(T::try_from(n).unwrap_or(T::MAX))
    }
}

impl<T: Default> Read for table::Text<T> {
    fn read(
        &self,
        cx: &Cx,
        flag: Option<&Option<String>>,
        file: Option<&Spanned<String>>,
    ) -> Result<T, ConfigError> {
        let cli = flag.and_then(Option::as_deref);
        let Some(g) = cx.pick(cli, self.flag.unwrap_or_default(), self.var, file) else {
            return Ok(T::default());
        };
        (self.parse)(&g.value).ok_or_else(|| {
            ConfigError::at(
                ErrorKind::InvalidValue,
                &g.at,
                format!("{} `{}` is not known", self.noun, g.value),
                self.fix,
            )
        })
    }
}

impl Read for table::Location {
    fn read(
        &self,
        cx: &Cx,
        flag: Option<&Option<PathBuf>>,
        file: Option<&Spanned<String>>,
    ) -> Result<Option<PathBuf>, ConfigError> {
        if let Some(p) = flag.and_then(Option::as_ref) {
            return Ok(Some(p.clone()));
        }
        Ok(cx
            .path_setting(self.var, file)
            .or_else(|| (self.otherwise)(cx.dirs)))
    }
}

impl Read for table::Switch {
    fn read(
        &self,
        cx: &Cx,
        flag: Option<&bool>,
        file: Option<&Spanned<bool>>,
    ) -> Result<bool, ConfigError> {
        if flag.is_some_and(|given| *given) {
            return Ok(true);
        }
        if let Some(g) = self.var.and_then(|v| cx.env_var(v)) {
            return match g.value.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(ConfigError::at(
                    ErrorKind::InvalidValue,
                    &g.at,
                    format!("{} must be true or false", self.key),
                    format!("set {} to true or false", self.var.unwrap_or_default()),
                )),
            };
        }
        Ok(file.map_or(self.default, |v| *v.get_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No row is a switch with a variable yet; this one is.
    const QUIET: table::Switch = table::Switch {
        key: "quiet",
        flag: Some("--quiet"),
        var: Some("NBWATCH_QUIET"),
        default: false,
    };

    fn read(flag: bool, var: Option<&str>, profile: Option<bool>) -> Result<bool, ConfigError> {
        let env: std::collections::HashMap<String, String> = var
            .map(|v| ("NBWATCH_QUIET".to_string(), v.to_string()))
            .into_iter()
            .collect();
        let dirs = Dirs::default();
        let cx = Cx {
            env: &env,
            dirs: &dirs,
            file: None,
            profile: &RawProfile::default(),
            profile_name: "p".to_string(),
            home: None,
            default_config: None,
        };
        let file = profile.map(|on| Spanned::new(0..1, on));
        QUIET.read(&cx, Some(&flag), file.as_ref())
    }

    #[test]
    fn a_switch_is_its_flag_else_its_variable_else_the_profile_else_its_default() {
        assert!(!read(false, None, None).unwrap());
        assert!(read(false, None, Some(true)).unwrap());
        assert!(read(false, Some("yes"), Some(false)).unwrap());
        assert!(!read(false, Some("FALSE"), Some(true)).unwrap());
        assert!(read(true, Some("0"), Some(false)).unwrap());
        // An empty variable is unset.
        assert!(read(false, Some(" "), Some(true)).unwrap());
        let e = read(false, Some("maybe"), None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidValue);
        assert_eq!(e.at, Some(Origin::Env("NBWATCH_QUIET".to_string())));
        assert_eq!(e.problem, "quiet must be true or false");
        assert_eq!(e.fix, "set NBWATCH_QUIET to true or false");
    }
}
