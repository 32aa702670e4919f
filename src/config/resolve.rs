//! The one place where the layers meet: command line > environment > config file > defaults.

use super::error::{ConfigError, ErrorKind, Origin};
use super::file::{ConfigFile, RawProfile};
use super::layers::{Cx, Got, Read, env_value};
use super::table::{self, read_view};
use super::values::{expand_path, parse_endpoint, permission_warning};
use super::{Auth, Dirs, Env, Overrides, Settings, vars};
use crate::defaults;
use crate::region;
use crate::timefmt::written_secs as show_secs;

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

    if let Some(f) = &file
        && f.raw.profiles.values().any(RawProfile::holds_inline_secret)
    {
        warnings.extend(permission_warning(&f.path, "config file"));
    }
    let (profile_name, profile) = choose_profile(o, env, file.as_ref(), dirs)?;
    let empty = RawProfile::default();
    let cx = Cx {
        env,
        dirs,
        file: file.as_ref(),
        profile: profile.unwrap_or(&empty),
        profile_name: profile_name.clone(),
        home,
        default_config: dirs.config_file.clone(),
    };
    let p = cx.profile;

    // Where to send requests: the fixed source (the demo's simulator), else the layers.
    let (region, endpoint) = match &o.fixed_source {
        Some(src) => (src.region.clone(), src.endpoint.clone()),
        None => {
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
            match cx.endpoint(region, endpoint) {
                Ok(found) => found,
                // With no credentials either this is a first run: say all that is
                // missing at once, and how to look around without an account.
                Err(e) if e.kind == ErrorKind::MissingRegion => {
                    return Err(match cx.identity(o, &mut Vec::new()) {
                        Err(c) if c.kind == ErrorKind::MissingCredentials => nothing_configured(),
                        _ => e,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    };

    // Every setting of the table, each read the same way from its row.
    let mut rows = Rows::read(&cx, o)?;
    if rows.fast_interval > rows.interval {
        warnings.push(format!(
            "fast_interval ({}) is longer than interval ({}); polling every {} during transitions too",
            show_secs(rows.fast_interval.as_secs_f64()),
            show_secs(rows.interval.as_secs_f64()),
            show_secs(rows.interval.as_secs_f64()),
        ));
        rows.fast_interval = rows.interval;
    }
    let alerts = cx.alerts()?;
    let filters = cx.filters(o, &mut warnings)?;
    let views = super::views::views(cx.file)?;
    let columns = super::views::columns(cx.file, p)?;
    let start_view = super::views::start_view(o.view.as_deref(), &views, cx.file)?;

    // Who we are: the fixed source's credentials, else the layers.
    let (auth, auth_source, project_id) = match &o.fixed_source {
        Some(src) => (src.auth.clone(), src.label.clone(), src.project_id.clone()),
        None => cx.identity(o, &mut warnings)?,
    };

    let mut settings = Settings {
        profile: match &o.fixed_source {
            Some(src) => src.label.clone(),
            None => profile_name,
        },
        region,
        auth_source,
        filters,
        alerts,
        config_file: file.map(|f| f.path),
        views,
        columns,
        start_view,
        warnings,
        ..Settings::for_endpoint(endpoint, project_id, auth)
    };
    rows.set(&mut settings);
    Ok(settings)
}

table::settings_rows!(read_view []);

/// The error of a first run, when neither where to connect nor who to be is known.
fn nothing_configured() -> ConfigError {
    ConfigError::new(
        ErrorKind::NothingConfigured,
        None,
        "nbwatch is not set up yet: no region (or endpoint) and no credentials are configured",
        format!(
            "to try it now without an account, run `nbwatch --demo`; to watch your own instances, export {} and {} (and {}) and pass --region REGION (e.g. --region cn-north-4); the README's \"Watching your own instances\" has every other way",
            vars::SDK_AK,
            vars::SDK_SK,
            vars::SDK_PROJECT_ID
        ),
    )
}

/// Reads the config file: `--config`, else `NBWATCH_CONFIG`, else the default path (which may be absent).
pub(super) fn load_config(
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

pub(super) fn io_reason(e: &std::io::Error) -> String {
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

impl Cx<'_> {
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
}
