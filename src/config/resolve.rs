//! The one place where the layers meet: command line > environment > config file > defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::credentials::{self, BasicCredentials};
use super::error::{ConfigError, ErrorKind, Origin};
use super::file::{ConfigFile, RawProfile, RawSecret, Seconds};
use super::values::{expand_path, parse_duration, parse_endpoint, permission_warning, show_secs};
use super::{Auth, Dirs, Env, Filters, Overrides, Settings, WorkspaceParam, defaults, vars};
use crate::api::sign::AkSk;
use crate::region;
use crate::secret::Secret;

/// Status values the service documents, for checking a status filter.
const STATUSES: &[&str] = &[
    "INIT",
    "CREATING",
    "STARTING",
    "STOPPING",
    "DELETING",
    "RUNNING",
    "STOPPED",
    "SNAPSHOTTING",
    "CREATE_FAILED",
    "START_FAILED",
    "DELETE_FAILED",
    "ERROR",
    "DELETED",
    "FROZEN",
];

/// A value and the layer it came from.
#[derive(Debug)]
struct Got<T> {
    value: T,
    at: Origin,
}

/// Resolves every setting. `env` and `dirs` are injected: pass [`super::ProcessEnv`] and
/// [`Dirs::platform`] in the program, a map and [`Dirs::under`] a temp dir in tests.
///
/// As a last line of defence, every secret nbwatch can see up front (the secret environment
/// variables, secrets written in the file and the variables its `*_env` keys name) is masked
/// out of the returned error or warnings, in case a user pasted one into the wrong field.
pub fn resolve(o: &Overrides, env: &dyn Env, dirs: &Dirs) -> Result<Settings, ConfigError> {
    let mut known: Vec<String> = [vars::SDK_SK, vars::SDK_SECURITY_TOKEN, vars::AUTH_TOKEN]
        .iter()
        .filter_map(|v| env_value(env, v))
        .collect();
    let result = load_config(o, env, dirs).and_then(|file| {
        if let Some(f) = &file {
            known.extend(file_secrets(f, env));
        }
        resolve_with(o, env, dirs, file)
    });
    match result {
        Ok(mut s) => {
            if let Auth::AkSk(a) = &s.auth {
                known.push(a.sk.expose().to_string());
                known.extend(a.security_token.as_ref().map(|t| t.expose().to_string()));
            }
            if let Auth::Token(t) = &s.auth {
                known.push(t.expose().to_string());
            }
            for w in &mut s.warnings {
                *w = redact(w, &known);
            }
            Ok(s)
        }
        Err(mut e) => {
            e.problem = redact(&e.problem, &known);
            e.fix = redact(&e.fix, &known);
            Err(e)
        }
    }
}

/// Secrets written in the file, and the values of the variables its `*_env` keys name.
fn file_secrets(f: &ConfigFile, env: &dyn Env) -> Vec<String> {
    let mut out = Vec::new();
    for p in f.raw.profiles.values() {
        for s in [&p.sk, &p.security_token, &p.auth_token]
            .into_iter()
            .flatten()
        {
            out.push(s.get_ref().0.expose().trim().to_string());
        }
        for v in [&p.sk_env, &p.security_token_env, &p.auth_token_env]
            .into_iter()
            .flatten()
        {
            out.extend(env_value(env, v.get_ref().trim()));
        }
    }
    out
}

/// Replaces every occurrence of a known secret (of a plausible length) with `***`.
fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 6) {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "***");
        }
    }
    out
}

fn resolve_with(
    o: &Overrides,
    env: &dyn Env,
    dirs: &Dirs,
    file: Option<ConfigFile>,
) -> Result<Settings, ConfigError> {
    let home = dirs.home.as_deref();
    let mut warnings = Vec::new();

    if let Some(f) = &file {
        if f.raw.profiles.values().any(RawProfile::holds_inline_secret) {
            warnings.extend(permission_warning(&f.path, "config file"));
        }
    }
    let (profile_name, profile) = choose_profile(o, env, file.as_ref(), dirs)?;
    let empty = RawProfile::default();
    let cx = Cx {
        env,
        file: file.as_ref(),
        profile: profile.unwrap_or(&empty),
        profile_name: profile_name.clone(),
        home,
        default_config: dirs.config_file.clone(),
    };
    let p = cx.profile;

    // Where to send requests.
    let region = cx.pick(
        o.region.as_deref(),
        "--region",
        vars::REGION,
        p.region.as_ref(),
    );
    let endpoint = cx.pick(
        o.endpoint.as_deref(),
        "--endpoint",
        vars::ENDPOINT,
        p.endpoint.as_ref(),
    );
    let (region, endpoint) = cx.endpoint(region, endpoint)?;

    // Timing and limits.
    let interval = cx.duration(
        o.interval_secs,
        "--interval",
        vars::INTERVAL,
        p.interval.as_ref(),
        ("interval", defaults::INTERVAL, 0.5, 86_400.0),
    )?;
    let mut fast_interval = cx.duration(
        o.fast_interval_secs,
        "--fast-interval",
        vars::FAST_INTERVAL,
        p.fast_interval.as_ref(),
        ("fast_interval", defaults::FAST_INTERVAL, 0.5, 86_400.0),
    )?;
    if fast_interval > interval {
        warnings.push(format!(
            "fast_interval ({}) is longer than interval ({}); polling every {} during transitions too",
            show_secs(fast_interval.as_secs_f64()),
            show_secs(interval.as_secs_f64()),
            show_secs(interval.as_secs_f64()),
        ));
        fast_interval = interval;
    }
    let timeout = cx.duration(
        o.timeout_secs,
        "--timeout",
        vars::TIMEOUT,
        p.timeout.as_ref(),
        ("timeout", defaults::TIMEOUT, 0.5, 600.0),
    )?;
    let connect_timeout = cx.duration(
        o.connect_timeout_secs,
        "--connect-timeout",
        vars::CONNECT_TIMEOUT,
        p.connect_timeout.as_ref(),
        ("connect_timeout", defaults::CONNECT_TIMEOUT, 0.5, 600.0),
    )?;
    let stuck_after = cx.duration(
        o.stuck_after_secs,
        "--stuck-after",
        vars::STUCK_AFTER,
        p.stuck_after.as_ref(),
        ("stuck_after", defaults::STUCK_AFTER, 1.0, 7.0 * 86_400.0),
    )?;
    let concurrency = cx.integer(
        o.concurrency.map(|v| v as u64),
        "--concurrency",
        vars::CONCURRENCY,
        p.concurrency.as_ref(),
        ("concurrency", defaults::CONCURRENCY as u64),
        |v| {
            (1..=32).contains(&v).then_some(()).ok_or((
                format!("concurrency {v} is out of range"),
                "use a number of parallel page requests from 1 to 32 (default 4)".to_string(),
            ))
        },
    )? as usize;
    let page_size = cx.integer(
        o.page_size.map(u64::from),
        "--page-size",
        vars::PAGE_SIZE,
        p.page_size.as_ref(),
        ("page_size", u64::from(defaults::PAGE_SIZE)),
        |v| {
            [10, 20, 50].contains(&v).then_some(()).ok_or((
                format!("page size {v} is not allowed"),
                "use 10, 20 or 50 (the sizes the service documents; default 50)".to_string(),
            ))
        },
    )? as u32;
    let budget_per_minute = cx.integer(
        o.budget_per_minute.map(u64::from),
        "--budget",
        vars::BUDGET_PER_MINUTE,
        p.budget_per_minute.as_ref(),
        ("budget_per_minute", u64::from(defaults::BUDGET_PER_MINUTE)),
        |v| {
            (1..=100_000).contains(&v).then_some(()).ok_or((
                format!("request budget {v} per minute is out of range"),
                "use a number of requests per minute from 1 to 100000 (default 120)".to_string(),
            ))
        },
    )? as u32;
    let workspace_param = match cx.pick(
        o.workspace_param.as_deref(),
        "--workspace-param",
        vars::WORKSPACE_PARAM,
        p.workspace_param.as_ref(),
    ) {
        None => WorkspaceParam::default(),
        Some(g) => WorkspaceParam::parse(&g.value).ok_or_else(|| {
            ConfigError::at(
                ErrorKind::InvalidValue,
                &g.at,
                format!("workspace parameter spelling `{}` is not known", g.value),
                "use workspace_id (what the official SDKs send, the default) or workspaceId (what the reference page documents)",
            )
        })?,
    };
    let log_file = cx.log_file(o, dirs);
    // Either side turns it on: a read-only profile stays read-only whatever the flags.
    let read_only = o.read_only || p.read_only.as_ref().is_some_and(|v| *v.get_ref());
    let filters = cx.filters(o, &mut warnings)?;

    // Who we are.
    // The profile's credentials are checked even when the environment's win, so a broken
    // profile is reported now rather than the day the variables are unset.
    let env_creds = cx.env_credentials()?;
    let profile_creds = cx.profile_credentials(&mut warnings)?;
    let upper_creds = env_creds.or(profile_creds);
    let upper_project = cx
        .pick(
            o.project_id.as_deref(),
            "--project-id",
            vars::PROJECT_ID,
            None,
        )
        .or_else(|| cx.env_var(vars::SDK_PROJECT_ID))
        .or_else(|| cx.pick(None, "", "", p.project_id.as_ref()));
    let ini = if upper_creds.is_none() || upper_project.is_none() {
        cx.credentials_file(&mut warnings)?
    } else {
        None
    };
    let (auth, auth_source) = match upper_creds {
        Some(c) => c,
        None => cx.ini_credentials(ini.as_ref())?,
    };
    let project = upper_project.or_else(|| {
        let b = ini.as_ref()?;
        let (v, line) = b.project_id.as_ref()?;
        Some(Got {
            value: v.clone(),
            at: b.origin(*line),
        })
    });
    let project_id = cx.project_id(project, ini.as_ref())?;

    Ok(Settings {
        profile: profile_name,
        region,
        endpoint,
        project_id,
        auth,
        auth_source,
        interval,
        fast_interval,
        concurrency,
        timeout,
        connect_timeout,
        page_size,
        stuck_after,
        workspace_param,
        filters,
        budget_per_minute,
        log_file,
        read_only,
        config_file: file.map(|f| f.path),
        warnings,
    })
}

/// Reads the config file: `--config`, else `NBWATCH_CONFIG`, else the default path (which may be absent).
fn load_config(
    o: &Overrides,
    env: &dyn Env,
    dirs: &Dirs,
) -> Result<Option<ConfigFile>, ConfigError> {
    let (path, named_by) = if let Some(p) = &o.config_path {
        (p.clone(), Some(Origin::Cli("--config")))
    } else if let Some(v) = env_value(env, vars::CONFIG) {
        (
            expand_path(&v, dirs.home.as_deref(), None),
            Some(Origin::Env(vars::CONFIG.to_string())),
        )
    } else if let Some(p) = &dirs.config_file {
        (p.clone(), None)
    } else {
        return Ok(None);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && named_by.is_none() => {
            return Ok(None);
        }
        Err(e) => {
            let fix = match (&named_by, &dirs.config_file) {
                (Some(_), Some(d)) => format!(
                    "check the path, or leave it out to use the default {}",
                    d.display()
                ),
                (Some(_), None) => "check the path".to_string(),
                (None, _) => format!("fix the file's permissions (chmod 600 {})", path.display()),
            };
            return Err(ConfigError::new(
                ErrorKind::Unreadable,
                named_by,
                format!(
                    "cannot read config file {}: {}",
                    path.display(),
                    io_reason(&e)
                ),
                fix,
            ));
        }
    };
    let src = String::from_utf8(bytes).map_err(|e| {
        // Everything before the first bad byte is valid UTF-8, so it can be measured.
        let valid = String::from_utf8_lossy(&e.as_bytes()[..e.utf8_error().valid_up_to()]);
        let at = Origin::in_file(&path, &valid, valid.len());
        ConfigError::new(
            ErrorKind::Unreadable,
            Some(at),
            "the config file is not valid UTF-8",
            "save it as UTF-8 text",
        )
    })?;
    ConfigFile::parse(&path, src).map(Some)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

fn choose_profile<'f>(
    o: &Overrides,
    env: &dyn Env,
    file: Option<&'f ConfigFile>,
    dirs: &Dirs,
) -> Result<(String, Option<&'f RawProfile>), ConfigError> {
    let requested = if let Some(p) = o.profile.as_deref().filter(|p| !p.trim().is_empty()) {
        Some((p.trim().to_string(), Origin::Cli("--profile")))
    } else if let Some(p) = env_value(env, vars::PROFILE) {
        Some((p, Origin::Env(vars::PROFILE.to_string())))
    } else {
        file.and_then(|f| {
            let d = f.raw.default_profile.as_ref()?;
            Some((d.get_ref().trim().to_string(), f.origin(d)))
        })
    };
    let names: Vec<&str> = file.map(ConfigFile::profile_names).unwrap_or_default();
    let lookup = |name: &str| file.and_then(|f| f.raw.profiles.get(name));

    match requested {
        Some((name, at)) => {
            if let Some(p) = lookup(&name) {
                return Ok((name, Some(p)));
            }
            if name == defaults::PROFILE && names.is_empty() {
                return Ok((name, None));
            }
            let (problem, fix) = match file {
                None => (
                    format!(
                        "profile `{name}` was asked for, but there is no config file{}",
                        dirs.config_file
                            .as_ref()
                            .map(|p| format!(" (looked for {})", p.display()))
                            .unwrap_or_default()
                    ),
                    format!(
                        "create the file with a [profiles.{name}] table (see config.example.toml), or pass --config PATH"
                    ),
                ),
                Some(f) if names.is_empty() => (
                    format!(
                        "profile `{name}` does not exist: {} defines no profiles",
                        f.path.display()
                    ),
                    format!("add a [profiles.{name}] table to {}", f.path.display()),
                ),
                Some(f) => {
                    let hint = region::closest(&name, names.iter().copied())
                        .map(|n| format!("did you mean `{n}`? "))
                        .unwrap_or_default();
                    (
                        format!("profile `{name}` does not exist in {}", f.path.display()),
                        format!("{hint}profiles defined there: {}", names.join(", ")),
                    )
                }
            };
            Err(ConfigError::at(
                ErrorKind::UnknownProfile,
                &at,
                problem,
                fix,
            ))
        }
        None => match (file, names.as_slice()) {
            (_, []) | (None, _) => Ok((defaults::PROFILE.to_string(), None)),
            (Some(f), [only]) => Ok((only.to_string(), f.raw.profiles.get(*only))),
            (Some(f), several) => match f.raw.profiles.get(defaults::PROFILE) {
                Some(p) => Ok((defaults::PROFILE.to_string(), Some(p))),
                None => Err(ConfigError::new(
                    ErrorKind::UnknownProfile,
                    Some(Origin::File {
                        path: f.path.clone(),
                        line: 1,
                        column: 1,
                    }),
                    format!(
                        "several profiles are defined ({}) and none is chosen",
                        several.join(", ")
                    ),
                    format!(
                        "pass --profile NAME, export NBWATCH_PROFILE=NAME, or add default_profile = \"{}\" at the top of the file",
                        several[0]
                    ),
                )),
            },
        },
    }
}

/// A variable's value, trimmed; empty counts as unset.
fn env_value(env: &dyn Env, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

struct Cx<'a> {
    env: &'a dyn Env,
    file: Option<&'a ConfigFile>,
    profile: &'a RawProfile,
    profile_name: String,
    home: Option<&'a Path>,
    default_config: Option<PathBuf>,
}

impl Cx<'_> {
    fn env_var(&self, name: &str) -> Option<Got<String>> {
        env_value(self.env, name).map(|value| Got {
            value,
            at: Origin::Env(name.to_string()),
        })
    }

    fn origin<T>(&self, v: &Spanned<T>) -> Origin {
        match self.file {
            Some(f) => f.origin(v),
            None => Origin::Default,
        }
    }

    /// "[profiles.NAME] in PATH", for fixes that point into the config file.
    fn profile_table(&self) -> String {
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
    fn pick(
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
        if !var.is_empty() {
            if let Some(g) = self.env_var(var) {
                return Some(g);
            }
        }
        let f = file?;
        let v = f.get_ref().trim();
        (!v.is_empty()).then(|| Got {
            value: v.to_string(),
            at: self.origin(f),
        })
    }

    fn endpoint(
        &self,
        region: Option<Got<String>>,
        endpoint: Option<Got<String>>,
    ) -> Result<(Option<String>, String), ConfigError> {
        let region_name = |r: &Got<String>| {
            region::canonical(&r.value)
                .map(str::to_string)
                .unwrap_or_else(|| r.value.clone())
        };
        match (region, endpoint) {
            // The endpoint wins unless the region was given in a higher layer.
            (r, Some(e)) if r.as_ref().is_none_or(|r| e.at.rank() >= r.at.rank()) => {
                let url = parse_endpoint(&e.value).map_err(|problem| {
                    ConfigError::at(
                        ErrorKind::InvalidValue,
                        &e.at,
                        problem,
                        "write the endpoint as a URL such as https://modelarts.cn-north-4.myhuaweicloud.com or http://127.0.0.1:8080",
                    )
                })?;
                Ok((r.as_ref().map(region_name), url))
            }
            (Some(r), _) => match region::endpoint(&r.value) {
                Some(url) => Ok((Some(region_name(&r)), url)),
                None => {
                    let hint = region::nearest(&r.value)
                        .map(|n| format!("did you mean `{n}`? "))
                        .unwrap_or_default();
                    Err(ConfigError::at(
                        ErrorKind::UnknownRegion,
                        &r.at,
                        format!("unknown region `{}`", r.value),
                        format!(
                            "{hint}known regions: {}; for another cloud set an endpoint URL instead",
                            region::REGIONS.join(", ")
                        ),
                    ))
                }
            },
            (None, _) => Err(ConfigError::new(
                ErrorKind::MissingRegion,
                None,
                "no region or endpoint is configured",
                format!(
                    "pass --region REGION (e.g. cn-north-4), export NBWATCH_REGION, or set region = \"cn-north-4\" in {}; use --endpoint URL for a private cloud or a local simulator",
                    self.profile_table()
                ),
            )),
        }
    }

    fn duration(
        &self,
        cli: Option<f64>,
        flag: &'static str,
        var: &str,
        file: Option<&Spanned<Seconds>>,
        (key, default, min, max): (&str, Duration, f64, f64),
    ) -> Result<Duration, ConfigError> {
        let got = if let Some(v) = cli {
            Got {
                value: v,
                at: Origin::Cli(flag),
            }
        } else if let Some(g) = self.env_var(var) {
            let value = parse_duration(&g.value).map_err(|e| {
                ConfigError::at(
                    ErrorKind::InvalidValue,
                    &g.at,
                    format!("{key}: {e}"),
                    format!("set {var} to seconds (5, 2.5) or a duration with a unit (\"500ms\", \"90s\", \"10m\")"),
                )
            })?;
            Got { value, at: g.at }
        } else if let Some(f) = file {
            Got {
                value: f.get_ref().0,
                at: self.origin(f),
            }
        } else {
            return Ok(default);
        };
        let v = got.value;
        if !v.is_finite() || v < min || v > max {
            let shown = if v.is_finite() {
                show_secs(v)
            } else {
                format!("{v}")
            };
            return Err(ConfigError::at(
                ErrorKind::InvalidValue,
                &got.at,
                format!("{key} {shown} is out of range"),
                format!(
                    "use a duration from {} to {} (default {})",
                    show_secs(min),
                    show_secs(max),
                    show_secs(default.as_secs_f64())
                ),
            ));
        }
        Ok(Duration::from_secs_f64(v))
    }

    fn integer(
        &self,
        cli: Option<u64>,
        flag: &'static str,
        var: &str,
        file: Option<&Spanned<i64>>,
        (key, default): (&str, u64),
        check: impl Fn(i64) -> Result<(), (String, String)>,
    ) -> Result<u64, ConfigError> {
        let got = if let Some(v) = cli {
            Got {
                value: i64::try_from(v).unwrap_or(i64::MAX),
                at: Origin::Cli(flag),
            }
        } else if let Some(g) = self.env_var(var) {
            let value = g.value.parse::<i64>().map_err(|_| {
                ConfigError::at(
                    ErrorKind::InvalidValue,
                    &g.at,
                    format!("{key} must be a whole number"),
                    format!("set {var} to a whole number, e.g. {var}={default}"),
                )
            })?;
            Got { value, at: g.at }
        } else if let Some(f) = file {
            Got {
                value: *f.get_ref(),
                at: self.origin(f),
            }
        } else {
            return Ok(default);
        };
        check(got.value).map_err(|(problem, fix)| {
            ConfigError::at(ErrorKind::InvalidValue, &got.at, problem, fix)
        })?;
        // `check` only accepts positive values.
        Ok(u64::try_from(got.value).unwrap_or(default))
    }

    fn log_file(&self, o: &Overrides, dirs: &Dirs) -> Option<PathBuf> {
        if let Some(p) = &o.log_file {
            return Some(p.clone());
        }
        if let Some(v) = env_value(self.env, vars::LOG_FILE) {
            return Some(expand_path(&v, self.home, None));
        }
        if let Some(v) = self
            .profile
            .log_file
            .as_ref()
            .filter(|v| !v.get_ref().trim().is_empty())
        {
            return Some(expand_path(
                v.get_ref().trim(),
                self.home,
                self.file.map(ConfigFile::dir),
            ));
        }
        dirs.log_file.clone()
    }

    /// A filter from the first layer that sets it; an empty `--flag ""` clears it.
    fn filter(
        &self,
        cli: Option<&String>,
        flag: &'static str,
        var: &str,
        file: Option<&Spanned<String>>,
    ) -> Option<Got<String>> {
        if let Some(v) = cli {
            let v = v.trim();
            return (!v.is_empty()).then(|| Got {
                value: v.to_string(),
                at: Origin::Cli(flag),
            });
        }
        self.pick(None, flag, var, file)
    }

    fn filters(&self, o: &Overrides, warnings: &mut Vec<String>) -> Result<Filters, ConfigError> {
        let f = &self.profile.filters;
        let bad = |g: &Got<String>, problem: String, fix: &str| {
            ConfigError::at(ErrorKind::InvalidValue, &g.at, problem, fix)
        };

        let status = self.filter(
            o.status.as_ref(),
            "--status",
            vars::STATUS,
            f.status.as_ref(),
        );
        let status = status.map(|g| {
            let v = g.value.to_ascii_uppercase();
            if !STATUSES.contains(&v.as_str()) {
                let hint = region::closest(&v, STATUSES.iter().copied())
                    .map(|s| format!("did you mean {s}? "))
                    .unwrap_or_default();
                warnings.push(format!(
                    "{}: status filter `{v}` is not a documented status; {hint}documented: {} (the service may reject it)",
                    g.at,
                    STATUSES.join(", ")
                ));
            }
            v
        });

        let name = self.filter(o.name.as_ref(), "--name", vars::NAME, f.name.as_ref());
        if let Some(g) = &name {
            if g.value.chars().count() > 128 {
                return Err(bad(
                    g,
                    format!("name filter is {} characters long", g.value.chars().count()),
                    "the service matches names of at most 128 characters: shorten it",
                ));
            }
        }

        let feature = self.filter(
            o.feature.as_ref(),
            "--feature",
            vars::FEATURE,
            f.feature.as_ref(),
        );
        let feature = match feature {
            None => None,
            Some(g) => {
                let v = g.value.to_ascii_uppercase();
                if v != "DEFAULT" && v != "NOTEBOOK" {
                    return Err(bad(
                        &g,
                        format!("feature `{}` is not known", g.value),
                        "use NOTEBOOK (billed instances, the service's default) or DEFAULT (free CodeLab)",
                    ));
                }
                Some(v)
            }
        };

        let sort_dir = self.filter(
            o.sort_dir.as_ref(),
            "--sort-dir",
            vars::SORT_DIR,
            f.sort_dir.as_ref(),
        );
        let sort_dir = match sort_dir {
            None => None,
            Some(g) => {
                let v = g.value.to_ascii_uppercase();
                if v != "ASC" && v != "DESC" {
                    return Err(bad(
                        &g,
                        format!("sort direction `{}` is not known", g.value),
                        "use ASC or DESC",
                    ));
                }
                Some(v)
            }
        };

        let sort_key = self.filter(
            o.sort_key.as_ref(),
            "--sort-key",
            vars::SORT_KEY,
            f.sort_key.as_ref(),
        );
        if let Some(g) = &sort_key {
            let ok = g.value.split(',').all(|k| {
                let k = k.trim();
                !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if !ok {
                return Err(bad(
                    g,
                    format!("sort key `{}` is malformed", g.value),
                    "use field names separated by commas, e.g. create_at or status,name",
                ));
            }
        }

        let pool_id = self.filter(
            o.pool_id.as_ref(),
            "--pool-id",
            vars::POOL_ID,
            f.pool_id.as_ref(),
        );
        let owner = self.filter(o.owner.as_ref(), "--owner", vars::OWNER, f.owner.as_ref());
        let workspace_id = self.filter(
            o.workspace_id.as_ref(),
            "--workspace-id",
            vars::WORKSPACE_ID,
            f.workspace_id.as_ref(),
        );
        Ok(Filters {
            status,
            name: name.map(|g| g.value),
            feature,
            pool_id: pool_id.map(|g| g.value),
            owner: owner.map(|g| g.value),
            workspace_id: workspace_id.map(|g| g.value),
            sort_key: sort_key.map(|g| g.value.replace(' ', "")),
            sort_dir,
        })
    }

    /// Credentials from the environment: `NBWATCH_AUTH_TOKEN`, else the SDK's variables.
    fn env_credentials(&self) -> Result<Option<(Auth, String)>, ConfigError> {
        if let Some(t) = env_value(self.env, vars::AUTH_TOKEN) {
            return Ok(Some((
                Auth::Token(Secret::new(t)),
                format!("environment ({})", vars::AUTH_TOKEN),
            )));
        }
        let ak = env_value(self.env, vars::SDK_AK);
        let sk = env_value(self.env, vars::SDK_SK);
        let st = env_value(self.env, vars::SDK_SECURITY_TOKEN);
        match (ak, sk) {
            (Some(ak), Some(sk)) => Ok(Some((
                Auth::AkSk(AkSk {
                    ak,
                    sk: Secret::new(sk),
                    security_token: st.map(Secret::new),
                }),
                format!("environment ({}, {})", vars::SDK_AK, vars::SDK_SK),
            ))),
            (None, None) if st.is_none() => Ok(None),
            (ak, _) => {
                let (set, unset) = if ak.is_some() {
                    (vars::SDK_AK, vars::SDK_SK)
                } else if st.is_some() && env_value(self.env, vars::SDK_SK).is_none() {
                    (vars::SDK_SECURITY_TOKEN, vars::SDK_AK)
                } else {
                    (vars::SDK_SK, vars::SDK_AK)
                };
                Err(ConfigError::new(
                    ErrorKind::MissingCredentials,
                    Some(Origin::Env(set.to_string())),
                    format!("{set} is set but {unset} is not"),
                    format!(
                        "export both {} and {} (plus {} for temporary credentials), or unset {set} to use the config file",
                        vars::SDK_AK,
                        vars::SDK_SK,
                        vars::SDK_SECURITY_TOKEN
                    ),
                ))
            }
        }
    }

    /// One secret of the profile, given inline, by file or by environment variable.
    fn profile_secret(
        &self,
        key: &str,
        inline: Option<&Spanned<RawSecret>>,
        file: Option<&Spanned<String>>,
        env: Option<&Spanned<String>>,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Got<Secret>>, ConfigError> {
        let mut set: Vec<(String, Origin)> = Vec::new();
        if let Some(v) = inline {
            set.push((key.to_string(), self.origin(v)));
        }
        if let Some(v) = file {
            set.push((format!("{key}_file"), self.origin(v)));
        }
        if let Some(v) = env {
            set.push((format!("{key}_env"), self.origin(v)));
        }
        if set.len() > 1 {
            let names: Vec<&str> = set.iter().map(|(n, _)| n.as_str()).collect();
            return Err(ConfigError::at(
                ErrorKind::Conflict,
                &set[1].1,
                format!(
                    "{} are all set in [profiles.{}]",
                    names.join(" and "),
                    self.profile_name
                ),
                format!("keep only one of {key}, {key}_file, {key}_env"),
            ));
        }
        let empty = |at: &Origin, what: String| {
            ConfigError::at(
                ErrorKind::InvalidValue,
                at,
                what,
                format!("give the {key} value, or remove the key"),
            )
        };
        if let Some(v) = inline {
            let at = self.origin(v);
            let s = v.get_ref().0.expose().trim();
            if s.is_empty() {
                return Err(empty(&at, format!("`{key}` is empty")));
            }
            return Ok(Some(Got {
                value: Secret::new(s),
                at,
            }));
        }
        if let Some(v) = file {
            let at = self.origin(v);
            let path = expand_path(
                v.get_ref().trim(),
                self.home,
                self.file.map(ConfigFile::dir),
            );
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::at(
                    ErrorKind::Unreadable,
                    &at,
                    format!("cannot read {key}_file {}: {}", path.display(), io_reason(&e)),
                    format!(
                        "check the path (relative paths start at the config file's directory) and that the file holds only the {key}"
                    ),
                )
            })?;
            let s = text.trim();
            if s.is_empty() {
                return Err(empty(
                    &at,
                    format!("{key}_file {} is empty", path.display()),
                ));
            }
            warnings.extend(permission_warning(&path, &format!("{key}_file")));
            return Ok(Some(Got {
                value: Secret::new(s),
                at,
            }));
        }
        if let Some(v) = env {
            let at = self.origin(v);
            let var = v.get_ref().trim();
            return match env_value(self.env, var) {
                Some(s) => Ok(Some(Got {
                    value: Secret::new(s),
                    at: Origin::Env(var.to_string()),
                })),
                None => Err(ConfigError::at(
                    ErrorKind::MissingCredentials,
                    &at,
                    format!("{key}_env names the environment variable {var}, which is not set"),
                    format!("export {var}, or point {key}_env at a variable that is set"),
                )),
            };
        }
        Ok(None)
    }

    fn profile_credentials(
        &self,
        warnings: &mut Vec<String>,
    ) -> Result<Option<(Auth, String)>, ConfigError> {
        let p = self.profile;
        let token = self.profile_secret(
            "auth_token",
            p.auth_token.as_ref(),
            p.auth_token_file.as_ref(),
            p.auth_token_env.as_ref(),
            warnings,
        )?;
        let sk = self.profile_secret(
            "sk",
            p.sk.as_ref(),
            p.sk_file.as_ref(),
            p.sk_env.as_ref(),
            warnings,
        )?;
        let st = self.profile_secret(
            "security_token",
            p.security_token.as_ref(),
            p.security_token_file.as_ref(),
            p.security_token_env.as_ref(),
            warnings,
        )?;
        let ak = p.ak.as_ref().filter(|a| !a.get_ref().trim().is_empty());
        let source = format!("profile `{}`", self.profile_name);
        if let Some(t) = token {
            if let Some(a) = ak {
                return Err(ConfigError::at(
                    ErrorKind::Conflict,
                    &self.origin(a),
                    format!(
                        "[profiles.{}] sets both an IAM token and an AK/SK pair",
                        self.profile_name
                    ),
                    "keep either auth_token (IAM-token mode, no signing) or ak with sk (signed requests)",
                ));
            }
            return Ok(Some((
                Auth::Token(t.value),
                format!("{source} (IAM token)"),
            )));
        }
        match (ak, sk) {
            (Some(ak), Some(sk)) => Ok(Some((
                Auth::AkSk(AkSk {
                    ak: ak.get_ref().trim().to_string(),
                    sk: sk.value,
                    security_token: st.map(|g| g.value),
                }),
                source,
            ))),
            (None, None) => match st {
                None => Ok(None),
                Some(g) => Err(ConfigError::at(
                    ErrorKind::MissingCredentials,
                    &g.at,
                    "a security token is set without an AK and SK",
                    format!(
                        "temporary credentials need ak and sk too: add them to {}",
                        self.profile_table()
                    ),
                )),
            },
            (Some(ak), None) => Err(ConfigError::at(
                ErrorKind::MissingCredentials,
                &self.origin(ak),
                format!("[profiles.{}] sets ak but no sk", self.profile_name),
                "add sk_file = \"PATH\" (a file holding only the SK) or sk_env = \"VAR\"; sk = \"...\" works too but keeps the secret in this file",
            )),
            (None, Some(sk)) => Err(ConfigError::at(
                ErrorKind::MissingCredentials,
                &sk.at,
                format!("[profiles.{}] sets an sk but no ak", self.profile_name),
                "add ak = \"YOUR_AK\" next to it",
            )),
        }
    }

    /// The SDK credentials file: `HUAWEICLOUD_SDK_CREDENTIALS_FILE`, else `~/.huaweicloud/credentials`.
    fn credentials_file(
        &self,
        warnings: &mut Vec<String>,
    ) -> Result<Option<BasicCredentials>, ConfigError> {
        let (path, named_by) = match env_value(self.env, vars::SDK_CREDENTIALS_FILE) {
            Some(v) => (
                expand_path(&v, self.home, None),
                Some(Origin::Env(vars::SDK_CREDENTIALS_FILE.to_string())),
            ),
            None => match self.home {
                Some(h) => (h.join(".huaweicloud").join("credentials"), None),
                None => return Ok(None),
            },
        };
        let src = match std::fs::read(&path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && named_by.is_none() => {
                return Ok(None);
            }
            Err(e) => {
                return Err(ConfigError::new(
                    ErrorKind::Unreadable,
                    named_by,
                    format!(
                        "cannot read credentials file {}: {}",
                        path.display(),
                        io_reason(&e)
                    ),
                    format!(
                        "fix the path or the file's permissions (chmod 600 {})",
                        path.display()
                    ),
                ));
            }
        };
        let basic = credentials::parse(&path, &src)?;
        if basic.holds_secret() {
            warnings.extend(permission_warning(&path, "credentials file"));
        }
        Ok(Some(basic))
    }

    fn ini_credentials(
        &self,
        ini: Option<&BasicCredentials>,
    ) -> Result<(Auth, String), ConfigError> {
        let none = || {
            ConfigError::new(
                ErrorKind::MissingCredentials,
                None,
                format!("no credentials found for profile `{}`", self.profile_name),
                format!(
                    "export {} and {} (or {} for an IAM token), or set ak and sk_file in {}, or put ak and sk under [basic] in ~/.huaweicloud/credentials",
                    vars::SDK_AK,
                    vars::SDK_SK,
                    vars::AUTH_TOKEN,
                    self.profile_table()
                ),
            )
        };
        let b = ini.ok_or_else(none)?;
        let source = format!("{} [basic]", b.path.display());
        match (&b.ak, &b.sk) {
            (Some((ak, _)), Some((sk, _))) => Ok((
                Auth::AkSk(AkSk {
                    ak: ak.clone(),
                    sk: sk.clone(),
                    security_token: b.security_token.as_ref().map(|(s, _)| s.clone()),
                }),
                source,
            )),
            (None, None) => Err(none()),
            (Some((_, line)), None) => Err(ConfigError::at(
                ErrorKind::MissingCredentials,
                &b.origin(*line),
                "[basic] has an ak but no sk",
                "add a line `sk = YOUR_SK` under [basic]",
            )),
            (None, Some((_, line))) => Err(ConfigError::at(
                ErrorKind::MissingCredentials,
                &b.origin(*line),
                "[basic] has an sk but no ak",
                "add a line `ak = YOUR_AK` under [basic]",
            )),
        }
    }

    fn project_id(
        &self,
        got: Option<Got<String>>,
        ini: Option<&BasicCredentials>,
    ) -> Result<String, ConfigError> {
        let Some(g) = got else {
            let ini_path = ini
                .map(|b| b.path.display().to_string())
                .unwrap_or_else(|| "~/.huaweicloud/credentials".to_string());
            return Err(ConfigError::new(
                ErrorKind::MissingProjectId,
                None,
                "no project id is configured",
                format!(
                    "pass --project-id ID, export {} or {}, set project_id in {}, or add project_id under [basic] in {ini_path} (find it in the console under My Credentials > API Credentials, for your region)",
                    vars::PROJECT_ID,
                    vars::SDK_PROJECT_ID,
                    self.profile_table()
                ),
            ));
        };
        let ok = g.value.len() <= 64
            && g.value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(ConfigError::at(
                ErrorKind::InvalidValue,
                &g.at,
                "the project id contains characters that cannot be part of a project id",
                "copy the project id (32 hex characters) from the console: My Credentials > API Credentials",
            ));
        }
        Ok(g.value)
    }
}
