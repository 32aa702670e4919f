//! `SDK-HMAC-SHA256` request signing, exactly as the official Huawei Cloud SDKs do it.
//!
//! Everything here is a pure function of its inputs (the timestamp included), so
//! the signer is tested byte for byte against `tests/data/sign_vectors.json`
//! and the simulator verifies requests with the very same code.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
pub const HEADER_DATE: &str = "X-Sdk-Date";
pub const HEADER_PROJECT: &str = "X-Project-Id";
pub const HEADER_SECURITY_TOKEN: &str = "X-Security-Token";

/// An access key pair, optionally temporary (with a security token).
#[derive(Clone, Debug)]
pub struct AkSk {
    pub ak: String,
    pub sk: Secret,
    pub security_token: Option<Secret>,
}

/// The parts of a request that go into a signature.
#[derive(Clone, Debug)]
pub struct RequestParts<'a> {
    pub method: &'a str,
    /// `http` or `https`.
    pub scheme: &'a str,
    pub host: &'a str,
    /// Only sent in `Host` when it is not the scheme's default port.
    pub port: Option<u16>,
    /// The raw (unencoded) path, e.g. `/v1/{project}/notebooks/all`.
    pub path: &'a str,
    /// Raw query pairs, in any order.
    pub query: &'a [(String, String)],
    /// Extra headers to send (and sign, unless their name contains `_`).
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    pub project_id: Option<&'a str>,
}

/// A signed request, ready to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Signed {
    /// The URL to put on the wire: its query string is exactly the canonical one.
    pub url: String,
    /// Every header to send, `Authorization` included, in a stable order.
    pub headers: Vec<(String, String)>,
    pub signed_headers: String,
    pub canonical_request: String,
    pub string_to_sign: String,
}

/// The `X-Sdk-Date` layout, `%Y%m%dT%H%M%SZ`.
const SDK_DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

/// Formats a Unix time (seconds) as the `X-Sdk-Date` value, `%Y%m%dT%H%M%SZ`.
/// Times outside years 0–9999 (which no clock here reads) clamp to those ends.
pub fn sdk_date(unix_secs: i64) -> String {
    // 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
    let secs = unix_secs.clamp(-62_167_219_200, 253_402_300_799);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(SDK_DATE).ok())
        .unwrap_or_else(|| "19700101T000000Z".to_string())
}

/// Parses an `X-Sdk-Date` value back to Unix seconds.
pub fn parse_sdk_date(s: &str) -> Option<i64> {
    // The layout is fixed-width: anything else (signs, short fields) is malformed.
    if s.len() != 16 || !s.is_ascii() {
        return None;
    }
    time::PrimitiveDateTime::parse(s, SDK_DATE)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// Percent-encodes everything but `A-Za-z0-9-_.~`, uppercase hex over UTF-8.
///
/// ```
/// assert_eq!(nbwatch::api::sign::encode("my nb*中"), "my%20nb%2A%E4%B8%AD");
/// ```
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(
                char::from_digit(u32::from(b >> 4), 16)
                    .unwrap_or('0')
                    .to_ascii_uppercase(),
            );
            out.push(
                char::from_digit(u32::from(b & 0xf), 16)
                    .unwrap_or('0')
                    .to_ascii_uppercase(),
            );
        }
    }
    out
}

/// Decodes `%XX` escapes (and nothing else: `+` stays `+`, as the SDKs send `%20`).
/// Invalid escapes are kept literally; invalid UTF-8 is replaced.
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a raw query string into decoded pairs (`k` alone gives an empty value).
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// The canonical URI: each path segment encoded, always ending in `/`.
pub fn canonical_uri(path: &str) -> String {
    let mut out: String = path.split('/').map(encode).collect::<Vec<_>>().join("/");
    if !out.ends_with('/') {
        out.push('/');
    }
    if !out.starts_with('/') {
        out.insert(0, '/');
    }
    out
}

/// The canonical query string: pairs sorted by raw key then raw value, encoded.
/// This is also exactly the query string sent on the wire.
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort();
    sorted
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Hex HMAC-SHA256 of the string to sign, keyed with the raw SK.
#[expect(
    clippy::expect_used,
    reason = "HMAC takes keys of any length: new_from_slice cannot fail"
)]
pub fn signature(sk: &Secret, string_to_sign: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(sk.expose().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Builds the canonical request from headers already chosen for signing.
/// `headers` are `(lowercase name, value)` pairs; the caller has excluded names with `_`.
pub fn canonical_request(
    method: &str,
    path: &str,
    canonical_query: &str,
    signed: &[(String, String)],
    body: &[u8],
) -> (String, String) {
    let mut signed: Vec<(String, String)> = signed
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    signed.sort();
    let names = signed
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut block = String::new();
    for (k, v) in &signed {
        block.push_str(k);
        block.push(':');
        block.push_str(v);
        block.push('\n');
    }
    let cr = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        canonical_uri(path),
        canonical_query,
        block,
        names,
        sha256_hex(body)
    );
    (cr, names)
}

/// The string to sign for a canonical request.
pub fn string_to_sign(date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{date}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The `Host` header value: the port only when it is not the scheme's default.
pub fn host_header(scheme: &str, host: &str, port: Option<u16>) -> String {
    match (scheme, port) {
        (_, None) | ("https", Some(443)) | ("http", Some(80)) => host.to_string(),
        (_, Some(p)) => format!("{host}:{p}"),
    }
}

/// Signs a request with an AK/SK at `date` (an `X-Sdk-Date` value).
pub fn sign(req: &RequestParts<'_>, creds: &AkSk, date: &str) -> Signed {
    let host = host_header(req.scheme, req.host, req.port);
    let mut headers: Vec<(String, String)> = req.headers.to_vec();
    headers.push((HEADER_DATE.to_string(), date.to_string()));
    if let Some(p) = req.project_id {
        headers.push((HEADER_PROJECT.to_string(), p.to_string()));
    }
    if let Some(tok) = &creds.security_token {
        headers.push((HEADER_SECURITY_TOKEN.to_string(), tok.expose().to_string()));
    }
    headers.push(("Host".to_string(), host.clone()));

    let to_sign: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| !k.contains('_'))
        .cloned()
        .collect();
    let query = canonical_query(req.query);
    let (cr, names) = canonical_request(req.method, req.path, &query, &to_sign, req.body);
    let sts = string_to_sign(date, &cr);
    let sig = signature(&creds.sk, &sts);
    headers.push((
        "Authorization".to_string(),
        format!(
            "{ALGORITHM} Access={}, SignedHeaders={names}, Signature={sig}",
            creds.ak
        ),
    ));

    let mut url = format!("{}://{}{}", req.scheme, host, req.path);
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query);
    }
    Signed {
        url,
        headers,
        signed_headers: names,
        canonical_request: cr,
        string_to_sign: sts,
    }
}

/// The parts of an `Authorization: SDK-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationHeader {
    pub access: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Parses an `Authorization` header written by [`sign`] or the official SDKs.
pub fn parse_authorization(value: &str) -> Option<AuthorizationHeader> {
    let rest = value.trim().strip_prefix(ALGORITHM)?.trim_start();
    let mut access = None;
    let mut signed = None;
    let mut sig = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k.trim() {
            "Access" => access = Some(v.trim().to_string()),
            "SignedHeaders" => {
                signed = Some(
                    v.trim()
                        .split(';')
                        .map(|s| s.to_ascii_lowercase())
                        .collect(),
                )
            }
            "Signature" => sig = Some(v.trim().to_string()),
            _ => {}
        }
    }
    Some(AuthorizationHeader {
        access: access?,
        signed_headers: signed?,
        signature: sig?,
    })
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!("../../tests/data/sign_vectors.json");

    fn pairs(v: &Value) -> Vec<(String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_string(),
                    p[1].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn reproduces_every_official_sdk_vector_byte_for_byte() {
        let vectors: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
        assert!(vectors.len() >= 6);
        for v in &vectors {
            let input = &v["input"];
            let desc = input["description"].as_str().unwrap();
            let url = input["url"].as_str().unwrap();
            let (scheme, rest) = url.split_once("://").unwrap();
            let (authority, path_q) = rest.split_at(rest.find('/').unwrap());
            let path = path_q.split('?').next().unwrap();
            let (host, port) = match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p.parse().unwrap())),
                None => (authority, None),
            };
            let query = pairs(&input["query_params_given_to_sdk"]);
            let headers = pairs(&input["headers"]);
            let body = match &input["body"] {
                Value::Null => Vec::new(),
                Value::String(s) => s.clone().into_bytes(),
                other => serde_json::to_vec(other).unwrap(),
            };
            let creds = AkSk {
                ak: input["ak"].as_str().unwrap().into(),
                sk: Secret::new(input["sk"].as_str().unwrap()),
                security_token: input["security_token"].as_str().map(Secret::new),
            };
            let req = RequestParts {
                method: input["method"].as_str().unwrap(),
                scheme,
                host,
                port,
                path,
                query: &query,
                headers: &headers,
                body: &body,
                project_id: input["project_id"].as_str(),
            };
            let s = sign(&req, &creds, input["date"].as_str().unwrap());
            assert_eq!(
                s.canonical_request,
                v["canonical_request"].as_str().unwrap(),
                "{desc}"
            );
            assert_eq!(
                s.string_to_sign,
                v["string_to_sign"].as_str().unwrap(),
                "{desc}"
            );
            assert_eq!(
                s.signed_headers,
                v["signed_headers"].as_str().unwrap(),
                "{desc}"
            );
            assert_eq!(s.url, v["expected_url"].as_str().unwrap(), "{desc}");
            let expected = v["expected_headers"].as_object().unwrap();
            assert_eq!(s.headers.len(), expected.len(), "{desc}: header count");
            for (k, val) in expected {
                let got = s
                    .headers
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.as_str());
                assert_eq!(got, val.as_str(), "{desc}: header {k}");
            }
        }
    }

    #[test]
    fn encodes_like_the_sdk() {
        assert_eq!(encode("a b*c,d~e_f.g-h"), "a%20b%2Ac%2Cd~e_f.g-h");
        assert_eq!(encode("中"), "%E4%B8%AD");
        assert_eq!(decode(&encode("my nb*中文+~/=&x:y")), "my nb*中文+~/=&x:y");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(canonical_uri("/v1/p/notebooks/all"), "/v1/p/notebooks/all/");
        assert_eq!(canonical_uri("/"), "/");
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(sdk_date(0), "19700101T000000Z");
        assert_eq!(sdk_date(1_795_854_600), "20261128T083000Z");
        assert_eq!(parse_sdk_date("20261128T083000Z"), Some(1_795_854_600));
        assert_eq!(parse_sdk_date("2026-11-28"), None);
        assert_eq!(parse_sdk_date("20261328T083000Z"), None);
        for t in [0, 951_782_400, 1_709_210_096, 4_102_444_799] {
            assert_eq!(parse_sdk_date(&sdk_date(t)), Some(t));
        }
    }

    #[test]
    fn parses_authorization_headers() {
        let a = parse_authorization(
            "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature=abc",
        )
        .unwrap();
        assert_eq!(a.access, "AK1");
        assert_eq!(a.signed_headers, vec!["host", "x-sdk-date"]);
        assert_eq!(a.signature, "abc");
        assert_eq!(parse_authorization("Bearer x"), None);
        assert_eq!(parse_authorization("SDK-HMAC-SHA256 Access=AK1"), None);
    }
}
