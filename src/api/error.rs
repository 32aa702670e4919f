//! Typed API errors, each with a hint a user can act on.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

/// What went wrong talking to ModelArts.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The service (or a proxy in front of it) answered with an error status.
    Http(HttpError),
    /// No complete answer within the timeout.
    Timeout { after: Duration, endpoint: String },
    /// The connection could not be made (refused, DNS, TLS): nothing was sent.
    Connect { endpoint: String, detail: String },
    /// The connection broke (reset, closed) once it was made, before an answer
    /// came: the request may have reached the service and been acted on.
    Cut { endpoint: String, detail: String },
    /// The answer arrived but was not a readable listing (malformed or truncated).
    Decode {
        detail: String,
        request_id: Option<String>,
    },
    /// A request could not even be built (bad endpoint, bad query).
    Request(String),
}

/// An HTTP error status with what the body and headers said about it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpError {
    pub status: u16,
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
    pub retry_after: Option<Duration>,
    /// Seconds the server's clock is ahead of ours (from its `Date` header), when known.
    pub clock_skew_secs: Option<i64>,
    /// Whether the request carried an IAM token rather than an AK/SK signature.
    pub token_auth: bool,
}

/// Why a request failed, in the few kinds a user (and an alert) tells apart.
/// The `reason` label of `nbwatch_poll_errors_total` is [`ErrorKind::label`]:
/// users' alerts match on it, so the labels never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorKind {
    /// 429: the service or its gateway throttled us.
    Throttled,
    /// No answer within the timeout (or a 408).
    Timeout,
    /// 5xx from the service or a proxy.
    ServerError,
    /// 401/403: polling stops until credentials are fixed.
    Auth,
    /// The connection could not be made, or broke before an answer.
    #[default]
    Network,
    /// An answer that was not a readable listing.
    BadResponse,
    /// Anything else (another 4xx, a request that could not be built).
    Other,
}

impl ErrorKind {
    /// Every kind, in the order the metric lists them (all present from the start,
    /// so `rate()` and `increase()` work from the first failure on).
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::Throttled,
        ErrorKind::Timeout,
        ErrorKind::ServerError,
        ErrorKind::Auth,
        ErrorKind::Network,
        ErrorKind::BadResponse,
        ErrorKind::Other,
    ];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::Timeout => "timeout",
            ErrorKind::ServerError => "server_error",
            ErrorKind::Auth => "auth",
            ErrorKind::Network => "network",
            ErrorKind::BadResponse => "bad_response",
            ErrorKind::Other => "other",
        }
    }

    /// Its place in [`ErrorKind::ALL`].
    pub fn index(self) -> usize {
        ErrorKind::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// The one classification of a failed request, for the status bar, the
/// header, `/healthz`, action messages and the metrics: its [`ErrorKind`] and
/// its short code.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorClass {
    pub kind: ErrorKind,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// The service's error code, e.g. `APIGW.0308`.
    pub code: Option<String>,
}

impl ErrorClass {
    /// From what came back: an HTTP status (and the service's code), or, when
    /// no answer came (`status` is `None`), `no_answer`: how the exchange failed.
    pub fn new(status: Option<u16>, code: Option<String>, no_answer: ErrorKind) -> ErrorClass {
        let kind = match status {
            Some(429) => ErrorKind::Throttled,
            Some(401 | 403) => ErrorKind::Auth,
            Some(408) => ErrorKind::Timeout,
            Some(s) if s >= 500 => ErrorKind::ServerError,
            Some(_) => ErrorKind::Other,
            None => no_answer,
        };
        ErrorClass { kind, status, code }
    }

    /// The short code on the status bar, the header and in action messages:
    /// `429 APIGW.0308`, `HTTP 502` (an answer with no service code), or how the
    /// exchange failed: `timeout`, `network`, `bad response`, `bad request`.
    pub fn short(&self) -> String {
        match (self.status, &self.code) {
            (Some(s), Some(c)) => format!("{s} {c}"),
            (Some(s), None) => format!("HTTP {s}"),
            (None, Some(c)) => c.clone(),
            (None, None) => match self.kind {
                ErrorKind::Timeout => "timeout".into(),
                ErrorKind::BadResponse => "bad response".into(),
                ErrorKind::Other => "bad request".into(),
                ErrorKind::Throttled
                | ErrorKind::ServerError
                | ErrorKind::Auth
                | ErrorKind::Network => "network".into(),
            },
        }
    }

    /// The metric label: [`ErrorKind::label`].
    pub fn label(&self) -> &'static str {
        self.kind.label()
    }
}

/// Skew past which the gateway refuses a signature.
pub const MAX_SKEW_SECS: i64 = 15 * 60;

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Http(h) => Some(h.status),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Http(h) => h.code.as_deref(),
            _ => None,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            ApiError::Http(h) => h.request_id.as_deref(),
            ApiError::Decode { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// 401/403: retrying only locks the AK (five bad signatures lock it for five minutes).
    pub fn is_auth(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Http(h) => h.status == 408 || h.status == 429 || h.status >= 500,
            ApiError::Timeout { .. }
            | ApiError::Connect { .. }
            | ApiError::Cut { .. }
            | ApiError::Decode { .. } => true,
            ApiError::Request(_) => false,
        }
    }

    /// How long the server asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Http(h) => h.retry_after,
            _ => None,
        }
    }

    /// What kind of failure this is: the one classification (see [`ErrorClass`]).
    pub fn class(&self) -> ErrorClass {
        let no_answer = |kind| ErrorClass::new(None, None, kind);
        match self {
            ApiError::Http(h) => ErrorClass::new(Some(h.status), h.code.clone(), ErrorKind::Other),
            ApiError::Timeout { .. } => no_answer(ErrorKind::Timeout),
            ApiError::Connect { .. } | ApiError::Cut { .. } => no_answer(ErrorKind::Network),
            ApiError::Decode { .. } => no_answer(ErrorKind::BadResponse),
            ApiError::Request(_) => no_answer(ErrorKind::Other),
        }
    }

    /// The short code of [`ErrorClass::short`]: `401 APIGW.0301`, `HTTP 502`, `timeout`.
    pub fn short(&self) -> String {
        self.class().short()
    }

    /// What the error says, without code, request id or hint.
    pub fn message(&self) -> String {
        match self {
            ApiError::Http(h) => h
                .message
                .clone()
                .unwrap_or_else(|| reason(h.status).to_string()),
            ApiError::Timeout { after, endpoint } => {
                format!("no answer from {endpoint} within {}s", after.as_secs_f64())
            }
            ApiError::Connect { endpoint, detail } => {
                format!("cannot connect to {endpoint}: {detail}")
            }
            ApiError::Cut { endpoint, detail } => format!(
                "the connection to {endpoint} broke after the request was sent, before an answer: {detail}"
            ),
            ApiError::Decode { detail, .. } => format!("unreadable response: {detail}"),
            ApiError::Request(m) => m.clone(),
        }
    }

    /// The one line of [`Display`](fmt::Display) with the endpoint left out, for a
    /// page anyone who reaches it reads (`serve`'s `/healthz`): the URL, and its host
    /// wherever a lower layer repeated it (a TLS name error, a proxy's message).
    pub fn without_endpoint(&self) -> String {
        let line = self.to_string();
        let (ApiError::Timeout { endpoint, .. } | ApiError::Connect { endpoint, .. }) = self else {
            return line;
        };
        let mut out = if endpoint.is_empty() {
            line
        } else {
            line.replace(endpoint.as_str(), "the endpoint")
        };
        let host = reqwest::Url::parse(endpoint)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string));
        if let Some(host) = host.filter(|h| !h.is_empty()) {
            out = out.replace(&host, "the endpoint's host");
        }
        out
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ApiError::Http(h) => http_hint(h),
            ApiError::Timeout { .. } => Some(
                "the service or network is slow: raise --timeout, or check proxies and the endpoint"
                    .into(),
            ),
            ApiError::Connect { .. } => Some(
                "check the endpoint or region, your network and any HTTPS_PROXY setting".into(),
            ),
            ApiError::Cut { .. } => Some(
                "the service may have received it; a listing is read again, an action is never repeated".into(),
            ),
            ApiError::Decode { .. } => Some(
                "a proxy or the service sent a broken body; it is usually transient, try again".into(),
            ),
            ApiError::Request(_) => None,
        }
    }
}

fn http_hint(h: &HttpError) -> Option<String> {
    let skew = h.clock_skew_secs.filter(|s| s.abs() > MAX_SKEW_SECS);
    Some(match h.status {
        401 if h.token_auth => {
            "the IAM token is invalid or expired (tokens last 24 h): get a new one and set NBWATCH_AUTH_TOKEN"
                .into()
        }
        401 if skew.is_some() => {
            let s = skew.unwrap_or(0);
            format!(
                "this machine's clock is {} {} the server's; signatures older than 15 minutes are refused: fix the clock (NTP)",
                human_secs(s.abs()),
                if s > 0 { "behind" } else { "ahead of" }
            )
        }
        401 => {
            "check the AK/SK pair, that this machine's clock is within 15 minutes of UTC, and the region; nbwatch does not retry it, so the AK is not locked"
                .into()
        }
        403 => "the account lacks ModelArts permission for this project: ask an admin to grant it".into(),
        404 => "wrong region or endpoint (or project id): check --region/--endpoint".into(),
        408 => "the service timed out: try again".into(),
        429 => match h.retry_after {
            Some(d) => format!("throttled: wait {}s, or poll less often (--interval)", d.as_secs()),
            None => "throttled: wait a few seconds, or poll less often (--interval)".into(),
        },
        400 if h.code.as_deref() == Some("ModelArts.6303") => {
            "a --sort-key field cannot be sorted on: use e.g. create_at, name, status".into()
        }
        400 if h.code.as_deref() == Some("ModelArts.0102") => {
            "the workspace does not exist: check --workspace-id".into()
        }
        400 => "the service rejected a parameter: check the filters".into(),
        502..=504 => "a gateway or proxy failed: usually transient, nbwatch retries".into(),
        s if s >= 500 => "the service failed: usually transient, nbwatch retries".into(),
        _ => return None,
    })
}

fn human_secs(s: i64) -> String {
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "error",
    }
}

impl fmt::Display for ApiError {
    /// One line: `HTTP 401 APIGW.0301: message (request id X); hint: …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Http(h) => {
                write!(f, "HTTP {}", h.status)?;
                if let Some(c) = &h.code {
                    write!(f, " {c}")?;
                }
                write!(f, ": {}", self.message())?;
            }
            other => write!(f, "{}", other.message())?,
        }
        if let Some(id) = self.request_id() {
            write!(f, " (request id {id})")?;
        }
        if let Some(h) = self.hint() {
            write!(f, "; hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Reads `error_code`/`error_msg` (or `errorCode`/`errorMsg`, or `code`/`message`)
/// from an error body. A non-JSON body (an HTML page from a proxy) gives its title.
pub fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        let pick = |keys: &[&str]| {
            keys.iter().find_map(|k| match map.get(*k) {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            })
        };
        let code = pick(&["error_code", "errorCode", "code"]);
        let msg = pick(&["error_msg", "errorMsg", "message", "msg"]);
        if code.is_some() || msg.is_some() {
            return (code, msg);
        }
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let lower = text.to_ascii_lowercase();
    if let (Some(a), Some(b)) = (lower.find("<title>"), lower.find("</title>"))
        && b > a + 7
    {
        let title = text[a + 7..b].trim();
        return (
            None,
            Some(format!("{} (HTML page from a proxy)", clip(title, 120))),
        );
    }
    if lower.contains("<html") {
        return (None, Some("HTML page from a proxy instead of JSON".into()));
    }
    let t = text.trim();
    if t.is_empty() {
        (None, None)
    } else {
        (None, Some(clip(t, 200)))
    }
}

fn clip(s: &str, max: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut out: String = one_line.chars().take(max).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_classification_for_screen_and_metrics() {
        let http = |status: u16, code: Option<&str>| {
            ApiError::Http(HttpError {
                status,
                code: code.map(str::to_string),
                ..HttpError::default()
            })
        };
        let endpoint = "http://127.0.0.1:1".to_string();
        let detail = "refused".to_string();
        let cases: Vec<(ApiError, ErrorKind, &str, &str)> = vec![
            (
                http(429, Some("APIGW.0308")),
                ErrorKind::Throttled,
                "throttled",
                "429 APIGW.0308",
            ),
            (
                http(401, Some("APIGW.0301")),
                ErrorKind::Auth,
                "auth",
                "401 APIGW.0301",
            ),
            (http(403, None), ErrorKind::Auth, "auth", "HTTP 403"),
            (http(408, None), ErrorKind::Timeout, "timeout", "HTTP 408"),
            (
                http(502, None),
                ErrorKind::ServerError,
                "server_error",
                "HTTP 502",
            ),
            (
                http(500, Some("ModelArts.0010")),
                ErrorKind::ServerError,
                "server_error",
                "500 ModelArts.0010",
            ),
            (http(404, None), ErrorKind::Other, "other", "HTTP 404"),
            (
                ApiError::Timeout {
                    after: Duration::from_secs(10),
                    endpoint: endpoint.clone(),
                },
                ErrorKind::Timeout,
                "timeout",
                "timeout",
            ),
            (
                ApiError::Connect {
                    endpoint: endpoint.clone(),
                    detail: detail.clone(),
                },
                ErrorKind::Network,
                "network",
                "network",
            ),
            (
                ApiError::Cut { endpoint, detail },
                ErrorKind::Network,
                "network",
                "network",
            ),
            (
                ApiError::Decode {
                    detail: "eof".into(),
                    request_id: None,
                },
                ErrorKind::BadResponse,
                "bad_response",
                "bad response",
            ),
            (
                ApiError::Request("bad url".into()),
                ErrorKind::Other,
                "other",
                "bad request",
            ),
        ];
        for (e, kind, label, short) in cases {
            let class = e.class();
            assert_eq!(class.kind, kind, "{e:?}");
            assert_eq!(class.label(), label, "{e:?}");
            assert_eq!(e.short(), short, "{e:?}");
            // The same words from the parts a poll error keeps.
            assert_eq!(
                ErrorClass::new(e.status(), e.code().map(str::to_string), kind).short(),
                short
            );
        }
        // The metric lists every label once, in a fixed order.
        let labels: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.label()).collect();
        assert_eq!(
            labels,
            [
                "throttled",
                "timeout",
                "server_error",
                "auth",
                "network",
                "bad_response",
                "other"
            ]
        );
        assert!(
            ErrorKind::ALL
                .iter()
                .enumerate()
                .all(|(i, k)| k.index() == i)
        );
    }

    #[test]
    fn reads_every_error_spelling() {
        let cases: [&[u8]; 3] = [
            br#"{"error_code":"APIGW.0301","error_msg":"bad sig"}"#,
            br#"{"errorCode":"APIGW.0301","errorMsg":"bad sig"}"#,
            br#"{"code":"APIGW.0301","message":"bad sig"}"#,
        ];
        for body in cases {
            assert_eq!(
                parse_error_body(body),
                (Some("APIGW.0301".into()), Some("bad sig".into()))
            );
        }
    }

    #[test]
    fn html_and_garbage_bodies_give_a_readable_message() {
        let html = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
        assert_eq!(
            parse_error_body(html),
            (
                None,
                Some("502 Bad Gateway (HTML page from a proxy)".into())
            )
        );
        assert_eq!(parse_error_body(b""), (None, None));
        assert_eq!(
            parse_error_body(b"\xff\xfe oops"),
            (None, Some("�� oops".into()))
        );
        assert_eq!(parse_error_body(b"[1,2]"), (None, Some("[1,2]".into())));
    }

    #[test]
    fn one_line_with_code_request_id_and_hint() {
        let e = ApiError::Http(HttpError {
            status: 401,
            code: Some("APIGW.0301".into()),
            message: Some("Incorrect IAM authentication information".into()),
            request_id: Some("req-1".into()),
            ..Default::default()
        });
        let s = e.to_string();
        assert!(s.starts_with("HTTP 401 APIGW.0301: Incorrect IAM authentication information (request id req-1); hint: check the AK/SK"), "{s}");
        assert!(!s.contains('\n'));
        assert!(e.is_auth());
        assert!(!e.is_retryable());
    }

    #[test]
    fn diagnoses_clock_skew_and_expired_tokens() {
        let skewed = ApiError::Http(HttpError {
            status: 401,
            clock_skew_secs: Some(3600 + 120),
            ..Default::default()
        });
        assert!(
            skewed.hint().unwrap().contains("clock is 1h02m behind"),
            "{:?}",
            skewed.hint()
        );
        let token = ApiError::Http(HttpError {
            status: 401,
            token_auth: true,
            ..Default::default()
        });
        assert!(
            token
                .hint()
                .unwrap()
                .contains("IAM token is invalid or expired")
        );
    }

    #[test]
    fn without_endpoint_leaves_out_the_url_and_its_host() {
        let endpoint = "https://modelarts.internal.example:8443/base".to_string();
        let timeout = ApiError::Timeout {
            after: Duration::from_secs(5),
            endpoint: endpoint.clone(),
        };
        assert!(timeout.to_string().contains(&endpoint));
        let line = timeout.without_endpoint();
        assert!(
            line.starts_with("no answer from the endpoint within 5s; hint:"),
            "{line}"
        );
        let connect = ApiError::Connect {
            endpoint,
            detail: "invalid peer certificate: not valid for name \"modelarts.internal.example\""
                .into(),
        };
        let line = connect.without_endpoint();
        assert!(!line.contains("internal.example"), "{line}");
        assert!(line.starts_with("cannot connect to the endpoint: invalid peer certificate: not valid for name \"the endpoint's host\""), "{line}");
        // Others carry no endpoint and stay as they are.
        let h = ApiError::Http(HttpError {
            status: 503,
            ..Default::default()
        });
        assert_eq!(h.without_endpoint(), h.to_string());
    }

    #[test]
    fn retry_classes() {
        let h = |status| {
            ApiError::Http(HttpError {
                status,
                ..Default::default()
            })
        };
        assert!(h(429).is_retryable());
        assert!(h(500).is_retryable());
        assert!(h(502).is_retryable());
        assert!(!h(400).is_retryable());
        assert!(!h(403).is_retryable());
        assert!(!h(404).is_retryable());
        assert_eq!(
            h(404).hint().unwrap(),
            "wrong region or endpoint (or project id): check --region/--endpoint"
        );
    }
}
