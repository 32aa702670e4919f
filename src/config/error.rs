//! Configuration errors: one problem, where it came from, and how to fix it.
//!
//! Messages never quote the value of a secret, and never quote a TOML value at
//! all (a wrong-type error on `sk = 12345` would otherwise echo the key).

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a setting's value came from. Higher layers win: CLI > environment > file > default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A command-line option, e.g. `--region`.
    Cli(&'static str),
    /// An environment variable.
    Env(String),
    /// A position in a file (1-based line and column, in characters).
    File {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    /// The built-in default.
    Default,
}

impl Origin {
    /// Precedence of the layer: a value from a higher rank beats one from a lower rank.
    pub fn rank(&self) -> u8 {
        match self {
            Origin::Cli(_) => 3,
            Origin::Env(_) => 2,
            Origin::File { .. } => 1,
            Origin::Default => 0,
        }
    }

    /// The position of byte offset `at` of `src`, the text of the file at `path`.
    pub fn in_file(path: &Path, src: &str, at: usize) -> Origin {
        let (line, column) = line_col(src, at);
        Origin::File {
            path: path.to_path_buf(),
            line,
            column,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Cli(flag) => write!(f, "command-line option {flag}"),
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::File { path, line, column } => {
                write!(f, "{}:{line}:{column}", path.display())
            }
            Origin::Default => f.write_str("built-in default"),
        }
    }
}

/// What kind of problem a [`ConfigError`] is, for callers that branch on it (tests, exit codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A file named explicitly is missing, unreadable or not UTF-8.
    Unreadable,
    /// TOML or INI syntax.
    Syntax,
    /// A key nbwatch does not know (typo, or in the wrong table).
    UnknownKey,
    /// A value of the wrong type (a string where a number belongs…).
    WrongType,
    /// A value of the right type but not allowed (page size 30, interval 0…).
    InvalidValue,
    UnknownRegion,
    /// The profile asked for does not exist, or none was chosen among several.
    UnknownProfile,
    /// `--view NAME` names no view of the config file.
    UnknownView,
    MissingCredentials,
    MissingProjectId,
    /// Neither a region nor an endpoint.
    MissingRegion,
    /// A first run: neither a region (or endpoint) nor credentials.
    NothingConfigured,
    /// Two settings that exclude each other (e.g. `sk` and `sk_file`).
    Conflict,
}

/// A configuration problem, displayed as `where: problem` then `  fix: how to fix it`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{problem}\n  fix: {fix}", prefix(.at))]
pub struct ConfigError {
    pub kind: ErrorKind,
    /// Where the offending value was found, when one place is to blame.
    pub at: Option<Origin>,
    pub problem: String,
    pub fix: String,
}

fn prefix(at: &Option<Origin>) -> String {
    match at {
        Some(o) => format!("{o}: "),
        None => String::new(),
    }
}

impl ConfigError {
    pub fn new(
        kind: ErrorKind,
        at: Option<Origin>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        ConfigError {
            kind,
            at,
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    pub(crate) fn at(
        kind: ErrorKind,
        at: &Origin,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self::new(kind, Some(at.clone()), problem, fix)
    }
}

/// 1-based line and column (in characters) of byte offset `at` in `src`.
pub fn line_col(src: &str, at: usize) -> (usize, usize) {
    let before = prefix_upto(src, at);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// `src` up to byte `at`, moved back to a char boundary and clamped to the end.
pub(crate) fn prefix_upto(src: &str, at: usize) -> &str {
    let mut at = at.min(src.len());
    while !src.is_char_boundary(at) {
        at -= 1;
    }
    &src[..at]
}

/// Turns serde's `invalid type: string "x", expected u32` into
/// `expected a whole number, found a string`, dropping the value.
pub(crate) fn describe_type_error(message: &str) -> String {
    let found = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .map(|rest| {
            let word = rest.split([' ', ',']).next().unwrap_or("");
            match word {
                "string" => "a string",
                "integer" => "an integer",
                "floating" => "a decimal number",
                "boolean" => "a boolean",
                "sequence" => "an array",
                "map" => "a table",
                "character" => "a string",
                _ => "another type",
            }
        });
    let expected = message
        .rsplit_once(", expected ")
        .map(|(_, e)| friendly_type(e.trim()))
        .unwrap_or_else(|| "another type".to_string());
    match found {
        Some(found) => format!("expected {expected}, found {found}"),
        None => format!("expected {expected}"),
    }
}

fn friendly_type(t: &str) -> String {
    match t {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number".to_string(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".to_string(),
        "f32" | "f64" => "a number".to_string(),
        "a string" | "string" => "a string (in quotes)".to_string(),
        "struct RawProfile" => "a profile table, [profiles.NAME]".to_string(),
        "map" | "a map" => "a table".to_string(),
        t if t.starts_with("struct ") => "a table".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars_from_one() {
        let src = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        // `=` after the two-byte é is the fourth char of line 2.
        let eq = src.rfind('=').unwrap();
        assert_eq!(line_col(src, eq), (2, 4));
        assert_eq!(line_col(src, 10_000), (3, 1));
    }

    #[test]
    fn type_errors_never_echo_the_value() {
        let m = describe_type_error("invalid type: string \"hunter2\", expected u32");
        assert_eq!(m, "expected a whole number, found a string");
        let m = describe_type_error("invalid type: integer `12345`, expected a string");
        assert_eq!(m, "expected a string (in quotes), found an integer");
        let m = describe_type_error("invalid value: integer `-1`, expected u32");
        assert!(!m.contains("-1"), "{m}");
    }

    #[test]
    fn display_is_where_problem_then_fix() {
        let e = ConfigError::new(
            ErrorKind::InvalidValue,
            Some(Origin::Cli("--page-size")),
            "page size 30 is not allowed",
            "use 10, 20 or 50",
        );
        assert_eq!(
            e.to_string(),
            "command-line option --page-size: page size 30 is not allowed\n  fix: use 10, 20 or 50"
        );
        let e = ConfigError::new(
            ErrorKind::MissingProjectId,
            None,
            "no project id",
            "set one",
        );
        assert_eq!(e.to_string(), "no project id\n  fix: set one");
    }
}
