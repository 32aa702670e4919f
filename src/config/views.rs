//! Views (`[views.NAME]`: a name filter, statuses, problems only, a sort and
//! columns) and the table's columns (`columns = [...]` at the top of the file
//! or in a profile), read into the dashboard's own types. Every mistake names
//! the file, the line and the valid names. The column names are the ones of
//! [`SortColumn::key`], the one list the table, `--help` and the README use.

use super::error::{ConfigError, ErrorKind, Origin};
use super::file::{ConfigFile, Names, RawProfile, RawView};
use crate::api::model::Status;
use crate::app::{Filter, Sort, SortColumn, View};
use crate::region::closest;

/// The table's columns: the profile's `columns`, else the file's; empty (every
/// column) when neither is set.
pub(super) fn columns(
    file: Option<&ConfigFile>,
    profile: &RawProfile,
) -> Result<Vec<SortColumn>, ConfigError> {
    let Some(f) = file else {
        return Ok(Vec::new());
    };
    match profile.columns.as_ref().or(f.raw.columns.as_ref()) {
        Some(list) => parse_columns(f, list),
        None => Ok(Vec::new()),
    }
}

/// Every view of the file, in the order the file gives them.
pub(super) fn views(file: Option<&ConfigFile>) -> Result<Vec<View>, ConfigError> {
    let Some(f) = file else {
        return Ok(Vec::new());
    };
    let mut raw: Vec<_> = f.raw.views.iter().collect();
    raw.sort_by_key(|(_, v)| v.span().start);
    raw.into_iter()
        .map(|(name, v)| view(f, name, v.get_ref()))
        .collect()
}

/// The view `--view NAME` asks for, by its place in `views`.
pub(super) fn start_view(
    name: Option<&str>,
    views: &[View],
    file: Option<&ConfigFile>,
) -> Result<Option<usize>, ConfigError> {
    let Some(name) = name.map(str::trim) else {
        return Ok(None);
    };
    if let Some(i) = views.iter().position(|v| v.name == name) {
        return Ok(Some(i));
    }
    let shown = if looks_like_a_name(name) {
        format!("view `{name}` is not defined")
    } else {
        "the view asked for is not defined".to_string()
    };
    let fix = match (file, views.is_empty()) {
        (None, _) => "views are tables of the config file, e.g. [views.failing] with problems = true (README: Views); none was read".to_string(),
        (Some(f), true) => format!(
            "{} defines no views: add one, e.g. [views.failing] with problems = true (README: Views)",
            f.path.display()
        ),
        (Some(f), false) => {
            let names: Vec<&str> = views.iter().map(|v| v.name.as_str()).collect();
            let hint = closest(name, names.iter().copied())
                .map(|c| format!("did you mean `{c}`? "))
                .unwrap_or_default();
            format!(
                "{hint}the views of {}: {}",
                f.path.display(),
                names.join(", ")
            )
        }
    };
    Err(ConfigError::new(
        ErrorKind::UnknownView,
        Some(Origin::Cli("--view")),
        shown,
        fix,
    ))
}

fn view(f: &ConfigFile, name: &str, v: &RawView) -> Result<View, ConfigError> {
    let mut filter = Filter {
        name: v
            .name
            .as_ref()
            .map(|n| n.get_ref().trim().to_string())
            .unwrap_or_default(),
        problems_only: v.problems.as_ref().is_some_and(|p| *p.get_ref()),
        ..Filter::default()
    };
    for s in v.status.iter().flat_map(|l| l.get_ref()) {
        filter.statuses.insert(status(f, s)?);
    }
    let mut sort = Sort::default();
    if let Some(s) = &v.sort {
        sort.column = column(f, s, "sort")?;
    }
    if let Some(d) = &v.sort_dir {
        sort.descending = match d.get_ref().trim().to_ascii_lowercase().as_str() {
            "asc" => false,
            "desc" => true,
            _ => {
                return Err(ConfigError::new(
                    ErrorKind::InvalidValue,
                    Some(f.origin(d)),
                    "sort_dir is neither asc nor desc",
                    "write sort_dir = \"asc\" (smallest first) or sort_dir = \"desc\"",
                ));
            }
        };
    }
    let columns = v
        .columns
        .as_ref()
        .map(|l| parse_columns(f, l))
        .transpose()?;
    Ok(View {
        name: name.to_string(),
        filter,
        sort,
        columns,
    })
}

/// A list of column names: none unknown, none twice, at least one.
fn parse_columns(f: &ConfigFile, list: &Names) -> Result<Vec<SortColumn>, ConfigError> {
    if list.get_ref().is_empty() {
        return Err(ConfigError::new(
            ErrorKind::InvalidValue,
            Some(f.origin(list)),
            "columns is an empty list",
            format!(
                "name the columns to show, in order, e.g. columns = [\"name\", \"status\", \"lease\"], or remove the key for every column (columns: {})",
                SortColumn::keys(", ")
            ),
        ));
    }
    let mut out: Vec<SortColumn> = Vec::new();
    for name in list.get_ref() {
        let c = column(f, name, "column")?;
        if out.contains(&c) {
            return Err(ConfigError::new(
                ErrorKind::InvalidValue,
                Some(f.origin(name)),
                format!("column `{}` is listed twice", c.key()),
                "name each column once",
            ));
        }
        out.push(c);
    }
    Ok(out)
}

/// A column's name (`what` says where: a `column` of a list, or a `sort`).
fn column(
    f: &ConfigFile,
    name: &toml::Spanned<String>,
    what: &str,
) -> Result<SortColumn, ConfigError> {
    let raw = name.get_ref().trim();
    SortColumn::parse(raw).ok_or_else(|| {
        let keys = SortColumn::ALL.map(SortColumn::key);
        let hint = closest(&raw.to_ascii_lowercase(), keys)
            .map(|c| format!("did you mean `{c}`? "))
            .unwrap_or_default();
        ConfigError::new(
            ErrorKind::InvalidValue,
            Some(f.origin(name)),
            unknown(what, raw),
            format!("{hint}valid columns: {}", keys.join(", ")),
        )
    })
}

/// One of the statuses the service documents, any case.
fn status(f: &ConfigFile, name: &toml::Spanned<String>) -> Result<Status, ConfigError> {
    let raw = name.get_ref().trim();
    let s = Status::parse(&raw.to_ascii_uppercase());
    if s.is_known() {
        return Ok(s);
    }
    let documented = || Status::ALL.iter().map(Status::as_str);
    let hint = closest(&raw.to_ascii_uppercase(), documented())
        .map(|c| format!("did you mean {c}? "))
        .unwrap_or_default();
    Err(ConfigError::new(
        ErrorKind::InvalidValue,
        Some(f.origin(name)),
        unknown("status", raw),
        format!(
            "{hint}valid statuses: {}",
            documented().collect::<Vec<_>>().join(", ")
        ),
    ))
}

/// `unknown column `x``, quoting the value only when it looks like a name
/// (a pasted secret in the wrong place must not be echoed).
fn unknown(what: &str, raw: &str) -> String {
    if looks_like_a_name(raw) {
        format!("unknown {what} `{raw}`")
    } else {
        format!("unknown {what} (not quoted here: it is long or unusual)")
    }
}

fn looks_like_a_name(s: &str) -> bool {
    s.chars().count() <= 32
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ' ' | '.'))
}
