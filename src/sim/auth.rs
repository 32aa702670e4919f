//! Request authentication as the API gateway does it: `SDK-HMAC-SHA256`
//! signatures (verified with the very code in `crate::api::sign`) or an
//! `X-Auth-Token`. Pure: the caller passes the wall-clock time.

use axum::http::HeaderMap;

use crate::api::sign;
use crate::secret::Secret;

/// The gateway's maximum tolerated `X-Sdk-Date` offset.
pub const MAX_SKEW_MS: i64 = 15 * 60 * 1000;

/// What the simulator accepts.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub ak: String,
    pub sk: Secret,
    pub token: Secret,
}

/// A received request, as far as authentication is concerned.
#[derive(Clone, Copy, Debug)]
pub struct Incoming<'a> {
    pub method: &'a str,
    /// The path as received on the wire (percent-encoded).
    pub path: &'a str,
    /// The raw query string, without `?` (empty when none).
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// How a request proved who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authenticated {
    Signature,
    Token,
}

/// Why a request was rejected (all answered 401 `APIGW.0301`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthError {
    Missing,
    MalformedAuthorization,
    UnknownAk,
    BadSignature,
    DateMissing,
    DateMalformed,
    /// `X-Sdk-Date` too far from the server clock: (offset ms, server time).
    DateSkew {
        offset_ms: i64,
        server_now_ms: i64,
    },
    BadToken,
}

impl AuthError {
    pub const CODE: &'static str = "APIGW.0301";

    /// The `error_msg`, worded like the gateway's, plus what to check.
    pub fn message(&self) -> String {
        let base = "Incorrect IAM authentication information";
        match self {
            AuthError::Missing => {
                format!("{base}: Authorization header or X-Auth-Token is missing")
            }
            AuthError::MalformedAuthorization => {
                format!("{base}: Authorization header is not a valid SDK-HMAC-SHA256 authorization")
            }
            AuthError::UnknownAk => format!("{base}: ak not found (unknown access key)"),
            AuthError::BadSignature => format!("{base}: verify aksk signature fail"),
            AuthError::DateMissing => format!("{base}: X-Sdk-Date header is missing"),
            AuthError::DateMalformed => {
                format!("{base}: X-Sdk-Date is malformed (expected YYYYMMDDTHHMMSSZ in UTC)")
            }
            AuthError::DateSkew {
                offset_ms,
                server_now_ms,
            } => {
                let mins = offset_ms.abs() / 60_000;
                let secs = (offset_ms.abs() / 1000) % 60;
                let dir = if *offset_ms > 0 { "ahead of" } else { "behind" };
                format!(
                    "{base}: X-Sdk-Date is {mins}m{secs:02}s {dir} the server time {} (max 15 minutes); check the local clock",
                    sign::sdk_date(server_now_ms.div_euclid(1000))
                )
            }
            AuthError::BadToken => format!("{base}: the token has expired or is invalid"),
        }
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Verifies a request at wall-clock time `now_ms` (epoch ms).
pub fn verify(
    creds: &Credentials,
    req: &Incoming<'_>,
    now_ms: i64,
) -> Result<Authenticated, AuthError> {
    if let Some(auth) = header(req.headers, "authorization") {
        verify_signature(creds, req, auth, now_ms)?;
        return Ok(Authenticated::Signature);
    }
    if let Some(tok) = header(req.headers, "x-auth-token") {
        return if !creds.token.is_empty() && sign::constant_time_eq(tok, creds.token.expose()) {
            Ok(Authenticated::Token)
        } else {
            Err(AuthError::BadToken)
        };
    }
    Err(AuthError::Missing)
}

fn verify_signature(
    creds: &Credentials,
    req: &Incoming<'_>,
    authorization: &str,
    now_ms: i64,
) -> Result<(), AuthError> {
    let parsed =
        sign::parse_authorization(authorization).ok_or(AuthError::MalformedAuthorization)?;
    let date = header(req.headers, sign::HEADER_DATE).ok_or(AuthError::DateMissing)?;
    let date_secs = sign::parse_sdk_date(date).ok_or(AuthError::DateMalformed)?;
    let offset_ms = date_secs.saturating_mul(1000).saturating_sub(now_ms);
    if offset_ms.abs() > MAX_SKEW_MS {
        return Err(AuthError::DateSkew {
            offset_ms,
            server_now_ms: now_ms,
        });
    }
    if parsed.access != creds.ak {
        return Err(AuthError::UnknownAk);
    }
    let mut signed = Vec::with_capacity(parsed.signed_headers.len());
    for name in &parsed.signed_headers {
        // A header that is signed but absent cannot match what the client signed.
        let value = header(req.headers, name).ok_or(AuthError::BadSignature)?;
        signed.push((name.clone(), value.to_string()));
    }
    let path = sign::decode(req.path);
    let query = sign::canonical_query(&sign::parse_query(req.raw_query));
    let (cr, _) = sign::canonical_request(req.method, &path, &query, &signed, req.body);
    let expected = sign::signature(&creds.sk, &sign::string_to_sign(date, &cr));
    if sign::constant_time_eq(&expected, &parsed.signature.to_ascii_lowercase()) {
        Ok(())
    } else {
        Err(AuthError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderName, HeaderValue};
    use serde_json::Value;

    const VECTORS: &str = include_str!("../../tests/data/sign_vectors.json");

    fn headers_of(v: &Value) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, val) in v.as_object().unwrap() {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(val.as_str().unwrap()).unwrap(),
            );
        }
        h
    }

    fn split_url(url: &str) -> (String, String) {
        let rest = url.split_once("://").unwrap().1;
        let path_q = &rest[rest.find('/').unwrap()..];
        match path_q.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (path_q.to_string(), String::new()),
        }
    }

    fn body_of(v: &Value) -> Vec<u8> {
        match v {
            Value::Null => Vec::new(),
            Value::String(s) => s.clone().into_bytes(),
            other => serde_json::to_vec(other).unwrap(),
        }
    }

    #[test]
    fn accepts_every_official_sdk_vector_and_rejects_tampering() {
        let vectors: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
        assert!(vectors.len() >= 6);
        for v in &vectors {
            let input = &v["input"];
            let desc = input["description"].as_str().unwrap();
            let creds = Credentials {
                ak: input["ak"].as_str().unwrap().into(),
                sk: Secret::new(input["sk"].as_str().unwrap()),
                token: Secret::new("unused"),
            };
            let (path, query) = split_url(v["expected_url"].as_str().unwrap());
            let headers = headers_of(&v["expected_headers"]);
            let body = body_of(&input["body"]);
            let now = sign::parse_sdk_date(input["date"].as_str().unwrap()).unwrap() * 1000;
            let req = Incoming {
                method: input["method"].as_str().unwrap(),
                path: &path,
                raw_query: &query,
                headers: &headers,
                body: &body,
            };
            assert_eq!(
                verify(&creds, &req, now + 60_000),
                Ok(Authenticated::Signature),
                "{desc}"
            );
            // Tampered body, query, method and SK are all caught.
            let tampered_body = [body.as_slice(), b" "].concat();
            assert_eq!(
                verify(
                    &creds,
                    &Incoming {
                        body: &tampered_body,
                        ..req
                    },
                    now
                ),
                Err(AuthError::BadSignature),
                "{desc}: body"
            );
            let q2 = format!("{query}&extra=1");
            assert_eq!(
                verify(
                    &creds,
                    &Incoming {
                        raw_query: &q2,
                        ..req
                    },
                    now
                ),
                Err(AuthError::BadSignature),
                "{desc}: query"
            );
            let other = if req.method == "GET" { "POST" } else { "GET" };
            assert_eq!(
                verify(
                    &creds,
                    &Incoming {
                        method: other,
                        ..req
                    },
                    now
                ),
                Err(AuthError::BadSignature),
                "{desc}: method"
            );
            let wrong_sk = Credentials {
                sk: Secret::new("not-the-sk"),
                ..creds.clone()
            };
            assert_eq!(
                verify(&wrong_sk, &req, now),
                Err(AuthError::BadSignature),
                "{desc}: sk"
            );
            let wrong_ak = Credentials {
                ak: "OTHERAK".into(),
                ..creds.clone()
            };
            assert_eq!(verify(&wrong_ak, &req, now), Err(AuthError::UnknownAk));
            // The clock window is 15 minutes either way.
            assert!(verify(&creds, &req, now - MAX_SKEW_MS).is_ok());
            assert!(verify(&creds, &req, now + MAX_SKEW_MS).is_ok());
            assert!(matches!(
                verify(&creds, &req, now + MAX_SKEW_MS + 1000),
                Err(AuthError::DateSkew { .. })
            ));
        }
    }

    #[test]
    fn date_and_token_problems_are_named() {
        let creds = Credentials {
            ak: "AK".into(),
            sk: Secret::new("SK"),
            token: Secret::new("tok-123"),
        };
        let mut h = HeaderMap::new();
        let req = |h: &HeaderMap| -> Result<Authenticated, AuthError> {
            let r = Incoming {
                method: "GET",
                path: "/v1/p/notebooks/all",
                raw_query: "",
                headers: h,
                body: b"",
            };
            verify(&creds, &r, 1_795_854_600_000)
        };
        assert_eq!(req(&h), Err(AuthError::Missing));
        h.insert("x-auth-token", HeaderValue::from_static("tok-123"));
        assert_eq!(req(&h), Ok(Authenticated::Token));
        h.insert("x-auth-token", HeaderValue::from_static("tok-999"));
        assert_eq!(req(&h), Err(AuthError::BadToken));
        assert!(
            AuthError::BadToken
                .message()
                .contains("expired or is invalid")
        );
        h.insert(
            "authorization",
            HeaderValue::from_static("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=00"),
        );
        assert_eq!(req(&h), Err(AuthError::DateMissing));
        h.insert(
            "x-sdk-date",
            HeaderValue::from_static("2026-11-28T08:30:00Z"),
        );
        assert_eq!(req(&h), Err(AuthError::DateMalformed));
        h.insert("x-sdk-date", HeaderValue::from_static("20261128T081000Z"));
        let err = req(&h).unwrap_err();
        assert_eq!(
            err,
            AuthError::DateSkew {
                offset_ms: -20 * 60_000,
                server_now_ms: 1_795_854_600_000
            }
        );
        let msg = err.message();
        assert!(
            msg.contains("20m00s behind the server time 20261128T083000Z"),
            "{msg}"
        );
        h.insert("x-sdk-date", HeaderValue::from_static("20261128T083000Z"));
        assert_eq!(req(&h), Err(AuthError::BadSignature));
        h.insert("authorization", HeaderValue::from_static("Bearer abc"));
        assert_eq!(req(&h), Err(AuthError::MalformedAuthorization));
        assert!(
            AuthError::BadSignature
                .message()
                .contains("verify aksk signature fail")
        );
    }
}
