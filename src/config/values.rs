//! Parsing and checking single values: endpoints, paths, file permissions (durations
//! have one reading for everything: [`crate::timefmt::parse_duration`]).

use std::path::{Path, PathBuf};

/// Checks an endpoint URL and normalises it (lowercase scheme, no trailing slash).
/// The error is a problem description; it quotes the URL only when it holds no user info.
pub fn parse_endpoint(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err(format!(
            "endpoint `{}` has no scheme (it must start with https:// or http://)",
            quote_url(s)
        ));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(format!(
            "endpoint scheme `{scheme}` is not supported (use https://, or http:// for a local simulator)"
        ));
    }
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(auth_end);
    if authority.contains('@') {
        return Err("endpoint must not contain a user name or password".into());
    }
    if path.contains(['?', '#']) {
        return Err(format!(
            "endpoint `{}` must not have a query (?) or fragment (#)",
            quote_url(s)
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((h, after)) = v6.split_once(']') else {
            return Err(format!("endpoint `{s}` has an unclosed IPv6 address"));
        };
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!("endpoint `{s}` has no host"));
    }
    let host_ok = if authority.starts_with('[') {
        host.chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
    } else {
        host.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
    };
    if !host_ok {
        return Err(format!("endpoint `{s}` has an invalid host"));
    }
    if let Some(p) = port {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => {}
            _ => return Err(format!("endpoint `{s}` has an invalid port (1-65535)")),
        }
    }
    let path = path.trim_end_matches('/');
    Ok(format!("{scheme}://{authority}{path}"))
}

fn quote_url(s: &str) -> String {
    if s.contains('@') {
        "<hidden: contains @>".to_string()
    } else {
        s.to_string()
    }
}

/// Expands a leading `~/` with `home`; makes a relative path relative to `base` when given.
pub fn expand_path(raw: &str, home: Option<&Path>, base: Option<&Path>) -> PathBuf {
    let p = if raw == "~" {
        home.map(Path::to_path_buf)
    } else if let Some(rest) = raw.strip_prefix("~/") {
        home.map(|h| h.join(rest))
    } else {
        None
    };
    let p = p.unwrap_or_else(|| PathBuf::from(raw));
    match base {
        Some(b) if p.is_relative() => b.join(p),
        _ => p,
    }
}

/// A warning when a file holding a secret can be read by group or others.
#[cfg(unix)]
pub fn permission_warning(path: &Path, what: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o044 != 0).then(|| {
        format!(
            "{what} {} holds a secret and is readable by {} (mode {:03o}); run `chmod 600 {}`",
            path.display(),
            match (mode & 0o040 != 0, mode & 0o004 != 0) {
                (true, true) => "group and others",
                (true, false) => "its group",
                _ => "others",
            },
            mode & 0o777,
            path.display()
        )
    })
}

#[cfg(not(unix))]
pub fn permission_warning(_path: &Path, _what: &str) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_validated_and_normalised() {
        assert_eq!(
            parse_endpoint("HTTPS://modelarts.cn-north-4.myhuaweicloud.com/").unwrap(),
            "https://modelarts.cn-north-4.myhuaweicloud.com"
        );
        assert_eq!(
            parse_endpoint("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            parse_endpoint("http://[::1]:9000/").unwrap(),
            "http://[::1]:9000"
        );
        assert_eq!(
            parse_endpoint("https://proxy.corp/modelarts/").unwrap(),
            "https://proxy.corp/modelarts"
        );
        assert!(
            parse_endpoint("modelarts.example.com")
                .unwrap_err()
                .contains("no scheme")
        );
        assert!(
            parse_endpoint("ftp://x")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(parse_endpoint("http://").unwrap_err().contains("no host"));
        assert!(
            parse_endpoint("http://:80")
                .unwrap_err()
                .contains("no host")
        );
        assert!(parse_endpoint("http://h:0").unwrap_err().contains("port"));
        assert!(
            parse_endpoint("http://h:99999")
                .unwrap_err()
                .contains("port")
        );
        assert!(
            parse_endpoint("http://h?x=1")
                .unwrap_err()
                .contains("query")
        );
        assert!(
            parse_endpoint("http://bad host")
                .unwrap_err()
                .contains("invalid host")
        );
        let e = parse_endpoint("https://AKID:topsecret@host").unwrap_err();
        assert!(!e.contains("topsecret"), "{e}");
    }

    #[test]
    fn paths_expand_home_and_base() {
        let home = Path::new("/home/u");
        let base = Path::new("/etc/nbwatch");
        assert_eq!(
            expand_path("~/sk", Some(home), Some(base)),
            PathBuf::from("/home/u/sk")
        );
        assert_eq!(
            expand_path("sk", Some(home), Some(base)),
            PathBuf::from("/etc/nbwatch/sk")
        );
        assert_eq!(
            expand_path("/abs/sk", Some(home), Some(base)),
            PathBuf::from("/abs/sk")
        );
        assert_eq!(expand_path("~/sk", None, None), PathBuf::from("~/sk"));
    }
}
