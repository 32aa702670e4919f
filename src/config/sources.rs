//! Several sources watched together. A source is one profile, resolved by
//! [`super::resolve`] exactly as when it is watched alone: there is no second
//! way to configure one. Which profiles, highest first:
//!
//! - `--profile a,b,c` (or `NBWATCH_PROFILE=a,b,c`),
//! - `--all-profiles`: every profile of the config file,
//! - `sources = ["a", "b"]` at the top of the config file, when no profile is asked for.
//!
//! An error in one source's settings names the source. Two sources that would
//! watch the same project at the same endpoint (e.g. `--region` given for all
//! of them) are refused: their instances would all show twice.

use super::error::{ConfigError, ErrorKind, Origin};
use super::resolve::load_config;
use super::{Dirs, Env, FixedSource, Overrides, Settings, resolve, vars};

/// Every source asked for, each resolved through the layers: one [`Settings`]
/// per source, in the order given. One source when only one is asked for.
pub fn resolve_sources(
    o: &Overrides,
    env: &dyn Env,
    dirs: &Dirs,
) -> Result<Vec<Settings>, ConfigError> {
    let names = match requested(o, env, dirs)? {
        Some(names) if names.len() > 1 => names,
        Some(one) => {
            let mut single = o.clone();
            single.profile = one.into_iter().next();
            return resolve(&single, env, dirs).map(|s| vec![s]);
        }
        None => return resolve(o, env, dirs).map(|s| vec![s]),
    };
    let mut all = Vec::with_capacity(names.len());
    for name in &names {
        let mut one = o.clone();
        one.profile = Some(name.clone());
        one.all_profiles = false;
        let s = resolve(&one, env, dirs).map_err(|e| of_source(e, name))?;
        all.push(s);
    }
    refuse_duplicates(&all)?;
    Ok(all)
}

/// One source per fixed source (the demo's simulated regions), every other
/// setting from the layers as usual.
pub fn resolve_fixed(
    o: &Overrides,
    fixed: &[FixedSource],
    env: &dyn Env,
    dirs: &Dirs,
) -> Result<Vec<Settings>, ConfigError> {
    fixed
        .iter()
        .map(|f| {
            let mut one = o.clone();
            one.fixed_source = Some(f.clone());
            one.all_profiles = false;
            // The fixed sources stand for the places: of a list of profiles,
            // the first still gives every other setting.
            one.profile = o
                .profile
                .as_deref()
                .and_then(|p| p.split(',').map(str::trim).find(|p| !p.is_empty()))
                .map(str::to_string);
            resolve(&one, env, dirs)
        })
        .collect()
}

/// The profiles asked for, or `None` to let [`resolve`] choose one as it always has.
fn requested(
    o: &Overrides,
    env: &dyn Env,
    dirs: &Dirs,
) -> Result<Option<Vec<String>>, ConfigError> {
    if let Some(p) = o.profile.as_deref().filter(|p| !p.trim().is_empty()) {
        if o.all_profiles {
            return Err(ConfigError::new(
                ErrorKind::Conflict,
                Some(Origin::Cli("--all-profiles")),
                "--all-profiles and --profile were both given",
                "give one: --profile a,b to watch some profiles, --all-profiles to watch every one",
            ));
        }
        return several(split(p, Origin::Cli("--profile"))?);
    }
    if o.all_profiles {
        return all_profiles(o, env, dirs).map(Some);
    }
    if let Some(p) = env.var(vars::PROFILE).filter(|p| !p.trim().is_empty()) {
        return several(split(&p, Origin::Env(vars::PROFILE.to_string()))?);
    }
    let Some(file) = load_config(o, env, dirs)? else {
        return Ok(None);
    };
    let Some(list) = &file.raw.sources else {
        return Ok(None);
    };
    let at = file.origin(list);
    if let Some(d) = &file.raw.default_profile {
        return Err(ConfigError::new(
            ErrorKind::Conflict,
            Some(file.origin(d)),
            "both default_profile and sources are set: nbwatch cannot tell which to watch",
            "keep one: sources = [\"a\", \"b\"] to watch several profiles, default_profile = \"a\" to watch one",
        ));
    }
    if list.get_ref().is_empty() {
        return Err(ConfigError::new(
            ErrorKind::InvalidValue,
            Some(at),
            "sources is an empty list",
            "name the profiles to watch together, e.g. sources = [\"beijing\", \"singapore\"], or remove the key",
        ));
    }
    let joined = list.get_ref().join(",");
    split(&joined, at).map(Some)
}

/// A single name is left to [`resolve`], which says where it came from in its errors.
fn several(names: Vec<String>) -> Result<Option<Vec<String>>, ConfigError> {
    Ok((names.len() > 1).then_some(names))
}

/// `a, b ,c` → `[a, b, c]`; empty or repeated names are errors.
fn split(list: &str, at: Origin) -> Result<Vec<String>, ConfigError> {
    let mut names: Vec<String> = Vec::new();
    for name in list.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(ConfigError::new(
                ErrorKind::InvalidValue,
                Some(at),
                format!("`{list}` has an empty profile name"),
                "separate profile names with single commas, e.g. --profile beijing,singapore",
            ));
        }
        if names.iter().any(|n| n == name) {
            return Err(ConfigError::new(
                ErrorKind::InvalidValue,
                Some(at),
                format!("profile `{name}` is listed twice"),
                "name each profile once",
            ));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// Every profile of the config file, which must exist and define some.
fn all_profiles(o: &Overrides, env: &dyn Env, dirs: &Dirs) -> Result<Vec<String>, ConfigError> {
    let file = load_config(o, env, dirs)?;
    let names: Vec<String> = file
        .as_ref()
        .map(|f| f.profile_names().into_iter().map(str::to_string).collect())
        .unwrap_or_default();
    if names.is_empty() {
        let (problem, fix) = match &file {
            None => (
                "--all-profiles was given, but there is no config file".to_string(),
                "create one with a [profiles.NAME] table per region or project (see config.example.toml), or pass --config PATH".to_string(),
            ),
            Some(f) => (
                format!(
                    "--all-profiles was given, but {} defines no profiles",
                    f.path.display()
                ),
                format!(
                    "add a [profiles.NAME] table per region or project to {}",
                    f.path.display()
                ),
            ),
        };
        return Err(ConfigError::new(
            ErrorKind::UnknownProfile,
            Some(Origin::Cli("--all-profiles")),
            problem,
            fix,
        ));
    }
    Ok(names)
}

/// The same error, saying which source it is about.
fn of_source(mut e: ConfigError, name: &str) -> ConfigError {
    e.problem = format!("source `{name}`: {}", e.problem);
    e
}

/// Two sources on one endpoint and project would show every instance twice.
fn refuse_duplicates(all: &[Settings]) -> Result<(), ConfigError> {
    for (i, a) in all.iter().enumerate() {
        if let Some(b) = all[..i]
            .iter()
            .find(|b| b.endpoint == a.endpoint && b.project_id == a.project_id)
        {
            return Err(ConfigError::new(
                ErrorKind::Conflict,
                None,
                format!(
                    "sources `{}` and `{}` both watch project {} at {}",
                    b.profile, a.profile, a.project_id, a.endpoint
                ),
                "give each profile its own region (or endpoint) and project_id in the config file: --region, --endpoint, --project-id, NBWATCH_REGION, NBWATCH_ENDPOINT, NBWATCH_PROJECT_ID and HUAWEICLOUD_SDK_PROJECT_ID apply to every source",
            ));
        }
    }
    Ok(())
}

/// What the table's source column and the header call each source: the
/// profile names when they tell the sources apart, else the regions, else
/// the endpoints' hosts with the project ids.
pub fn labels(all: &[Settings]) -> Vec<String> {
    let distinct = |v: &[String]| {
        v.iter().all(|x| !x.is_empty())
            && v.iter()
                .enumerate()
                .all(|(i, x)| !v[..i].iter().any(|y| y == x))
    };
    let profiles: Vec<String> = all.iter().map(|s| s.profile.clone()).collect();
    if distinct(&profiles) {
        return profiles;
    }
    let regions: Vec<String> = all
        .iter()
        .map(|s| s.region.clone().unwrap_or_default())
        .collect();
    if distinct(&regions) {
        return regions;
    }
    all.iter()
        .map(|s| {
            let host = s
                .endpoint
                .split("://")
                .nth(1)
                .unwrap_or(&s.endpoint)
                .trim_end_matches('/');
            let project: String = s.project_id.chars().take(8).collect();
            format!("{host}/{project}")
        })
        .collect()
}
