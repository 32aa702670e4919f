//! The Huawei Cloud SDK credentials file (`~/.huaweicloud/credentials`, INI).
//!
//! Only the `[basic]` section matters here (`ak`, `sk`, `project_id`, `security_token`).
//! Parsing is tolerant like the SDKs' INI readers: `key = value` or `key: value`,
//! `#`/`;` comment lines, case-insensitive section and key names, surrounding quotes
//! and whitespace-prefixed inline comments stripped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::{ConfigError, ErrorKind, Origin};
use crate::secret::Secret;

/// Values of the `[basic]` section, each with the line it came from.
#[derive(Debug, Default)]
pub struct BasicCredentials {
    pub path: PathBuf,
    pub ak: Option<(String, usize)>,
    pub sk: Option<(Secret, usize)>,
    pub project_id: Option<(String, usize)>,
    pub security_token: Option<(Secret, usize)>,
}

impl BasicCredentials {
    pub fn origin(&self, line: usize) -> Origin {
        Origin::File {
            path: self.path.clone(),
            line,
            column: 1,
        }
    }

    pub fn holds_secret(&self) -> bool {
        self.sk.is_some() || self.security_token.is_some()
    }
}

/// Parses the file's text. Errors name the line and never quote its content.
pub fn parse(path: &Path, src: &str) -> Result<BasicCredentials, ConfigError> {
    let mut sections: BTreeMap<String, BTreeMap<String, (String, usize)>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for (i, raw) in src.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(inner) = line.strip_prefix('[') {
            let Some(name) = inner.strip_suffix(']') else {
                return Err(syntax(path, line_no, "a section header must end with `]`"));
            };
            current = Some(name.trim().to_ascii_lowercase());
            continue;
        }
        let Some(split) = line.find(['=', ':']) else {
            return Err(syntax(
                path,
                line_no,
                "this line is neither `[section]` nor `key = value`",
            ));
        };
        let Some(section) = &current else {
            return Err(syntax(
                path,
                line_no,
                "a `key = value` line comes before any [section]",
            ));
        };
        let key = line[..split].trim().to_ascii_lowercase();
        let value = clean_value(&line[split + 1..]);
        sections
            .entry(section.clone())
            .or_default()
            .insert(key, (value, line_no));
    }
    let mut basic = sections.remove("basic").unwrap_or_default();
    let mut take = |k: &str| basic.remove(k).filter(|(v, _)| !v.is_empty());
    Ok(BasicCredentials {
        path: path.to_path_buf(),
        ak: take("ak"),
        sk: take("sk").map(|(v, l)| (Secret::new(v), l)),
        project_id: take("project_id"),
        security_token: take("security_token").map(|(v, l)| (Secret::new(v), l)),
    })
}

fn clean_value(v: &str) -> String {
    let mut v = v.trim();
    // An inline comment needs whitespace before it, so `#` inside a value survives.
    for marker in [" #", "\t#", " ;", "\t;"] {
        if let Some(i) = v.find(marker) {
            v = v[..i].trim_end();
        }
    }
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            v = &v[1..v.len() - 1];
        }
    }
    v.to_string()
}

fn syntax(path: &Path, line: usize, problem: &str) -> ConfigError {
    ConfigError::new(
        ErrorKind::Syntax,
        Some(Origin::File {
            path: path.to_path_buf(),
            line,
            column: 1,
        }),
        format!("cannot read the credentials file: {problem}"),
        "the file should look like:\n    [basic]\n    ak = YOUR_AK\n    sk = YOUR_SK\n    project_id = YOUR_PROJECT_ID",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_basic_section_like_the_sdk() {
        let src = "\u{feff}# Huawei Cloud\n[global]\nak = GLOBALAK\n\n[Basic]\nAK = BASICAK\nsk: \"SK-abc#def\"  ; comment\nproject_id = 0123456789abcdef0123456789abcdef\nsecurity_token =\n";
        let c = parse(Path::new("/h/.huaweicloud/credentials"), src).unwrap();
        assert_eq!(c.ak, Some(("BASICAK".to_string(), 6)));
        assert_eq!(
            c.sk.as_ref().map(|(s, l)| (s.expose(), *l)),
            Some(("SK-abc#def", 7))
        );
        assert_eq!(
            c.project_id.as_ref().map(|p| p.0.as_str()),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert!(c.security_token.is_none(), "empty value means absent");
        assert!(c.holds_secret());
    }

    #[test]
    fn malformed_lines_name_the_line_without_quoting_it() {
        let src = "[basic]\nak = A\nTOPSECRETLINE\n";
        let e = parse(Path::new("/c"), src).unwrap_err();
        let m = e.to_string();
        assert!(m.starts_with("/c:3:1: "), "{m}");
        assert!(!m.contains("TOPSECRETLINE"), "{m}");
        assert!(m.contains("[basic]"), "{m}");
        let e = parse(Path::new("/c"), "ak = A\n").unwrap_err();
        assert!(e.to_string().contains("before any [section]"));
        let e = parse(Path::new("/c"), "[basic\n").unwrap_err();
        assert!(e.to_string().contains("/c:1:1"));
    }
}
