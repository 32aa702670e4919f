//! `--web.config.file`: the web configuration the official Prometheus exporters
//! read (the exporter-toolkit format, docs/web-configuration.md in
//! prometheus/exporter-toolkit), so one file and one habit serve node_exporter
//! and nbwatch alike.
//!
//! ```text
//!  YAML file ──load──► WebConfig ─┬─ tls:   rustls ServerConfig ──► tls::Listener (HTTPS only)
//!                                 ├─ users: auth::Users ──────────► every request: Basic or 401
//!                                 └─ headers ─────────────────────► every response
//! ```
//!
//! Read once at start-up, and checked whole: an unknown key, a value nbwatch
//! cannot honour, or a file it cannot read stops `serve` (exit 2) with the file
//! and the problem named, never a silent downgrade. Relative paths are read from
//! the configuration file's directory, as the toolkit does.
//!
//! Supported: `tls_server_config` (`cert_file`/`key_file` or inline `cert`/`key`,
//! `client_ca_file`/`client_ca`, `client_auth_type`, `min_version`/`max_version`,
//! `prefer_server_cipher_suites`), `http_server_config` (`headers`; `http2` is read
//! but nbwatch serves HTTP/1.1 only) and `basic_auth_users` (bcrypt hashes).
//! Refused by name: `cipher_suites` and `curve_preferences` (rustls keeps its own
//! safe lists), `client_allowed_sans`, `rate_limit`, TLS 1.0/1.1, and the two
//! client-auth types that take a client certificate without checking it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::{HeaderName, HeaderValue};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};
use serde::Deserialize;
use serde_norway::Value;

use super::auth::Users;

/// The file as written; unknown keys are refused by serde.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    tls_server_config: Option<TlsFile>,
    http_server_config: Option<HttpFile>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    rate_limit: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<String>,
    min_version: Option<String>,
    max_version: Option<String>,
    prefer_server_cipher_suites: Option<bool>,
    // Known to the toolkit, refused by name below.
    cipher_suites: Option<Value>,
    curve_preferences: Option<Value>,
    client_allowed_sans: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    /// The toolkit's default is true; nbwatch speaks HTTP/1.1 either way.
    #[allow(dead_code)]
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

/// The toolkit's `client_auth_type` values, in its order.
pub const CLIENT_AUTH_TYPES: [&str; 5] = [
    "NoClientCert",
    "RequestClientCert",
    "RequireAnyClientCert",
    "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
];

/// The response headers the toolkit lets a file set, with the values it accepts
/// (none listed: any value).
const HEADERS: [(&str, &[&str]); 5] = [
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

/// What `serve` does with the file, checked and ready.
#[derive(Clone)]
pub struct WebConfig {
    pub path: PathBuf,
    /// HTTPS only, when set: plain HTTP is refused.
    pub tls: Option<Arc<ServerConfig>>,
    /// Basic authentication on every path, when set (never empty).
    pub users: Option<Arc<Users>>,
    /// Added to every response, 401s included.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `RequireAndVerifyClientCert`: only clients with a certificate of the client CA get in.
    pub client_certs_required: bool,
    /// For the start-up line: `TLS, client certificates required, basic auth (2 users)`.
    pub summary: String,
}

impl WebConfig {
    /// Reads and checks `path`; the error names the file, the problem and the fix.
    pub fn load(path: &Path) -> Result<WebConfig, String> {
        let fail = |m: String| format!("--web.config.file {}: {m}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| {
            fail(format!(
                "cannot read it: {e}; fix: check the path and its permissions"
            ))
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        parse(&text, dir).map_err(fail).map(|mut w| {
            w.path = path.to_path_buf();
            w
        })
    }
}

/// Checks the text of a web configuration, reading its files from `dir`.
pub fn parse(text: &str, dir: &Path) -> Result<WebConfig, String> {
    // An empty file (or only comments) is valid and changes nothing, as in the toolkit.
    let file: File = serde_norway::from_str::<Option<File>>(text)
        .map_err(|e| format!("{e}; fix: see the format in the README (Running it for a team)"))?
        .unwrap_or_default();
    if file.rate_limit.is_some() {
        return Err(unsupported(
            "rate_limit",
            "a scrape only reads what the poller fetched; put a reverse proxy in front to rate-limit",
        ));
    }
    let tls = match file.tls_server_config {
        Some(t) => tls(t, dir)?,
        None => None,
    };
    let http = file.http_server_config.unwrap_or_default();
    let headers = headers(http.headers.unwrap_or_default())?;
    let users = match file.basic_auth_users {
        Some(u) if !u.is_empty() => Some(Arc::new(Users::new(u)?)),
        _ => None,
    };
    let mut summary = Vec::new();
    if let Some((_, auth)) = &tls {
        summary.push(format!("TLS{}", auth.words()));
    }
    if let Some(u) = &users {
        let n = u.len();
        summary.push(format!(
            "basic auth ({n} user{})",
            if n == 1 { "" } else { "s" }
        ));
    }
    let client_certs_required = matches!(&tls, Some((_, ClientAuth::Required)));
    Ok(WebConfig {
        path: PathBuf::new(),
        tls: tls.map(|(c, _)| Arc::new(c)),
        users,
        headers,
        client_certs_required,
        summary: if summary.is_empty() {
            "no TLS, no authentication".into()
        } else {
            summary.join(", ")
        },
    })
}

/// Which clients the TLS layer lets in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ClientAuth {
    /// Any client (`NoClientCert`).
    Any,
    /// Checked against the client CA when the client sends one (`VerifyClientCertIfGiven`).
    IfGiven,
    /// Only with a certificate of the client CA (`RequireAndVerifyClientCert`).
    Required,
}

impl ClientAuth {
    fn words(self) -> &'static str {
        match self {
            ClientAuth::Any => "",
            ClientAuth::IfGiven => ", client certificates checked when given",
            ClientAuth::Required => ", client certificates required",
        }
    }
}

fn unsupported(key: &str, why: &str) -> String {
    format!("{key} is not supported by nbwatch ({why}); fix: remove it")
}

/// The server's TLS configuration and a few words on client authentication;
/// `None` when the section sets nothing that turns TLS on.
fn tls(t: TlsFile, dir: &Path) -> Result<Option<(ServerConfig, ClientAuth)>, String> {
    let key = |k: &str| format!("tls_server_config.{k}");
    for (name, set, why) in [
        (
            "cipher_suites",
            t.cipher_suites.is_some(),
            "rustls offers only suites without known weaknesses",
        ),
        (
            "curve_preferences",
            t.curve_preferences.is_some(),
            "rustls picks among safe groups itself",
        ),
        (
            "client_allowed_sans",
            t.client_allowed_sans.is_some(),
            "use a client CA that signs only the scrapers' certificates",
        ),
    ] {
        if set {
            return Err(unsupported(&key(name), why));
        }
    }
    let given = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.is_empty());
    // The toolkit's rule: any of these turns TLS on (and then cert and key are required).
    let enabled = [
        &t.cert,
        &t.key,
        &t.client_ca,
        &t.cert_file,
        &t.key_file,
        &t.client_ca_file,
        &t.client_auth_type,
    ]
    .into_iter()
    .any(given);
    if !enabled {
        if given(&t.min_version) || given(&t.max_version) {
            return Err(format!(
                "{} is set but TLS is off (no cert_file or key_file); fix: add cert_file and key_file, or remove it",
                if given(&t.min_version) {
                    key("min_version")
                } else {
                    key("max_version")
                }
            ));
        }
        return Ok(None);
    }
    let cert_pem = pem_source(&t.cert_file, &t.cert, "cert_file", "cert", dir)?;
    let key_pem = pem_source(&t.key_file, &t.key, "key_file", "key", dir)?;
    let (cert_pem, cert_from) = cert_pem.ok_or_else(|| {
        "tls_server_config: missing one of cert or cert_file; fix: add cert_file: server.crt (a PEM certificate)".to_string()
    })?;
    let (key_pem, key_from) = key_pem.ok_or_else(|| {
        "tls_server_config: missing one of key or key_file; fix: add key_file: server.key (a PEM private key)".to_string()
    })?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{cert_from}: not a readable PEM certificate: {e}"))?;
    if chain.is_empty() {
        return Err(format!(
            "{cert_from}: no certificate in it; fix: give a PEM file with a `BEGIN CERTIFICATE` block"
        ));
    }
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        format!("{key_from}: no readable PEM private key in it ({e}); fix: give the key of the certificate, unencrypted")
    })?;

    let versions = versions(t.min_version.as_deref(), t.max_version.as_deref())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let ca = pem_source(
        &t.client_ca_file,
        &t.client_ca,
        "client_ca_file",
        "client_ca",
        dir,
    )?;
    let auth_type = t
        .client_auth_type
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("NoClientCert");
    let (verifier, auth) = match auth_type {
        "NoClientCert" => {
            if ca.is_some() {
                return Err(
                    "tls_server_config: a client CA is set but client_auth_type is NoClientCert, so no client certificate would be checked; fix: set client_auth_type: RequireAndVerifyClientCert, or remove the client CA"
                        .into(),
                );
            }
            (WebPkiClientVerifier::no_client_auth(), ClientAuth::Any)
        }
        "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert" => {
            let Some((ca_pem, ca_from)) = ca else {
                return Err(format!(
                    "tls_server_config: client_auth_type {auth_type} needs the CA that signs the client certificates; fix: add client_ca_file: ca.crt"
                ));
            };
            let mut roots = RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(&ca_pem) {
                let c = c.map_err(|e| format!("{ca_from}: not a readable PEM certificate: {e}"))?;
                roots
                    .add(c)
                    .map_err(|e| format!("{ca_from}: not a usable CA certificate: {e}"))?;
            }
            if roots.is_empty() {
                return Err(format!(
                    "{ca_from}: no certificate in it; fix: give a PEM file with a `BEGIN CERTIFICATE` block"
                ));
            }
            let builder =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
            let (builder, auth) = if auth_type == "VerifyClientCertIfGiven" {
                (builder.allow_unauthenticated(), ClientAuth::IfGiven)
            } else {
                (builder, ClientAuth::Required)
            };
            let v = builder
                .build()
                .map_err(|e| format!("{ca_from}: cannot check client certificates with it: {e}"))?;
            (v, auth)
        }
        "RequestClientCert" | "RequireAnyClientCert" | "RequireClientCert" => {
            return Err(format!(
                "tls_server_config.client_auth_type {auth_type} is not supported by nbwatch: it takes any client certificate without checking who signed it (the toolkit's own documentation calls it insecure); fix: use RequireAndVerifyClientCert with client_ca_file"
            ));
        }
        other => {
            return Err(format!(
                "tls_server_config.client_auth_type {other:?} is not one of {}; fix: use RequireAndVerifyClientCert (with client_ca_file) or NoClientCert",
                CLIENT_AUTH_TYPES.join(", ")
            ));
        }
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, private)
        .map_err(|e| {
            format!("{cert_from} and {key_from}: not a usable certificate and key: {e}; fix: give the key that belongs to the certificate")
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(true);
    Ok(Some((config, auth)))
}

/// The PEM text of a file or an inline value (not both), and how to name it in an error.
fn pem_source(
    file: &Option<String>,
    inline: &Option<String>,
    file_key: &str,
    inline_key: &str,
    dir: &Path,
) -> Result<Option<(Vec<u8>, String)>, String> {
    let file = file.as_deref().filter(|s| !s.is_empty());
    let inline = inline.as_deref().filter(|s| !s.is_empty());
    match (file, inline) {
        (Some(_), Some(_)) => Err(format!(
            "tls_server_config sets both {file_key} and {inline_key}; fix: keep one"
        )),
        (Some(f), None) => {
            let p = dir.join(f);
            let named = format!("tls_server_config.{file_key} {}", p.display());
            std::fs::read(&p)
                .map(|b| Some((b, named.clone())))
                .map_err(|e| format!("{named}: cannot read it: {e}"))
        }
        (None, Some(text)) => Ok(Some((
            text.as_bytes().to_vec(),
            format!("tls_server_config.{inline_key}"),
        ))),
        (None, None) => Ok(None),
    }
}

/// `min_version`/`max_version` (default TLS12 and TLS13) as rustls' versions.
fn versions(
    min: Option<&str>,
    max: Option<&str>,
) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let rank = |key: &str, v: Option<&str>, default: u8| -> Result<u8, String> {
        match v.filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some("TLS12") => Ok(12),
            Some("TLS13") => Ok(13),
            Some(old @ ("TLS10" | "TLS11")) => Err(format!(
                "tls_server_config.{key} {old} is not supported: nbwatch speaks TLS 1.2 and 1.3 only (1.0 and 1.1 are broken); fix: use TLS12 or TLS13"
            )),
            Some(other) => Err(format!(
                "tls_server_config.{key} {other:?} is not a TLS version; fix: use TLS12 or TLS13"
            )),
        }
    };
    let lo = rank("min_version", min, 12)?;
    let hi = rank("max_version", max, 13)?;
    if lo > hi {
        return Err(
            "tls_server_config: min_version is above max_version; fix: make min_version TLS12, or max_version TLS13"
                .into(),
        );
    }
    Ok(
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (lo..=hi).contains(v))
            .map(|(_, p)| p)
            .collect(),
    )
}

/// `http_server_config.headers`, checked as the toolkit checks them; a blank value sets nothing.
fn headers(h: BTreeMap<String, String>) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let mut out = Vec::new();
    for (name, value) in h {
        let Some((_, allowed)) = HEADERS.iter().find(|(n, _)| *n == name) else {
            return Err(format!(
                "http_server_config.headers: {name:?} cannot be set; fix: use one of {}",
                HEADERS.map(|(n, _)| n).join(", ")
            ));
        };
        if value.is_empty() {
            continue;
        }
        if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
            return Err(format!(
                "http_server_config.headers.{name} {value:?} is not one of {}",
                allowed.join(", ")
            ));
        }
        let v = HeaderValue::from_str(&value).map_err(|_| {
            format!("http_server_config.headers.{name}: the value has characters HTTP cannot carry")
        })?;
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("http_server_config.headers: {name:?} is not a header name"))?;
        out.push((n, v));
    }
    Ok(out)
}

#[cfg(test)]
#[path = "web_tests.rs"]
mod tests;
