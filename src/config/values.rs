//! Parsing and checking single values: durations, endpoints, paths, file permissions.

use std::path::{Path, PathBuf};

/// Parses `"90"`, `"2.5"`, `"500ms"`, `"90s"`, `"10m"`, `"1h30m"` into seconds.
/// Errors start with `duration` and never quote the input.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("duration is empty".into());
    }
    if let Ok(v) = s.parse::<f64>() {
        return Ok(v);
    }
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err("duration must be a number followed by ms, s, m or h".into());
        }
        let n: f64 = rest[..num_len]
            .parse()
            .map_err(|_| "duration has a malformed number".to_string())?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" => 3600.0,
            "" => return Err("duration needs a unit after each number (ms, s, m or h)".into()),
            _ => return Err("duration has an unknown unit (use ms, s, m or h)".into()),
        };
        total += n * factor;
        rest = rest[unit_len..].trim_start();
    }
    Ok(total)
}

/// Renders seconds the way a user would write them: `500ms`, `90s`, `10m`, `2.5s`.
pub fn show_secs(secs: f64) -> String {
    if secs < 1.0 {
        format!("{}ms", (secs * 1000.0).round())
    } else if secs >= 60.0 && secs % 60.0 == 0.0 {
        format!("{}m", secs / 60.0)
    } else {
        format!("{secs}s")
    }
}

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
    fn durations_accept_numbers_and_units() {
        assert_eq!(parse_duration("5"), Ok(5.0));
        assert_eq!(parse_duration(" 2.5 "), Ok(2.5));
        assert_eq!(parse_duration("500ms"), Ok(0.5));
        assert_eq!(parse_duration("90s"), Ok(90.0));
        assert_eq!(parse_duration("10m"), Ok(600.0));
        assert_eq!(parse_duration("1h30m"), Ok(5400.0));
        assert_eq!(parse_duration("1m 30s"), Ok(90.0));
        for bad in ["", "ten", "10x", "s", "1.2.3s", "5 5"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.starts_with("duration"), "{bad}: {e}");
        }
    }

    #[test]
    fn show_secs_reads_naturally() {
        assert_eq!(show_secs(0.5), "500ms");
        assert_eq!(show_secs(2.0), "2s");
        assert_eq!(show_secs(600.0), "10m");
        assert_eq!(show_secs(90.0), "90s");
    }

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
