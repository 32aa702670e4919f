//! The ModelArts client: one signed request at a time, retried with backoff,
//! with timeouts, the request budget and typed errors. Which pages a listing
//! needs is the [sweep](super::sweep)'s business, joined to this client in
//! [`super::listing`]; the rate limiter, signer and query live in their own
//! modules.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::burst::Burst;
use super::error::{ApiError, HttpError};
use super::model::NotebookPage;
use super::query::ListQuery;
use super::ratelimit::RateLimiter;
use super::sign::{self, AkSk, RequestParts};
use super::sweep::ListPage;
use crate::secret::Secret;

/// How requests are authenticated.
#[derive(Clone, Debug)]
pub enum Auth {
    /// `SDK-HMAC-SHA256` signatures, as the official SDKs do.
    AkSk(AkSk),
    /// An IAM token sent as `X-Auth-Token`; requests are not signed.
    Token(Secret),
}

/// Bounded retries with exponential backoff, for 429, 5xx, timeouts and broken bodies.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Default::default()
        }
    }

    /// The wait before retry number `attempt` (1-based), honouring `Retry-After`.
    pub fn delay(&self, attempt: u32, err: &ApiError) -> Duration {
        if let Some(after) = err.retry_after() {
            // The provider advises 2–5 s for throttling; never wait unboundedly.
            return after.min(Duration::from_secs(60));
        }
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        // ±20 % jitter so many watchers do not retry in lockstep.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let factor = 0.8 + f64::from(nanos % 400) / 1000.0;
        capped.mul_f64(factor)
    }
}

/// Everything a client needs to know.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// `https://modelarts.{region}.myhuaweicloud.com`, or any override (plain http allowed).
    pub endpoint: String,
    pub project_id: String,
    pub auth: Auth,
    /// Whole-request timeout (connect, headers and body).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Pages fetched at once after the first.
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// Added to this machine's clock when signing. Only for tests of clock skew.
    pub clock_offset_secs: i64,
    /// At most this many requests (retries included) in any 60 s, shared by every
    /// page and every clone of the client: requests wait for a slot, spaced when a
    /// refresh costs more than the burst. `None`: no limit (`list`).
    pub rate_limit_per_minute: Option<u32>,
}

impl ClientOptions {
    pub fn new(endpoint: impl Into<String>, project_id: impl Into<String>, auth: Auth) -> Self {
        ClientOptions {
            endpoint: endpoint.into(),
            project_id: project_id.into(),
            auth,
            timeout: crate::defaults::TIMEOUT,
            connect_timeout: crate::defaults::CONNECT_TIMEOUT,
            concurrency: crate::defaults::CONCURRENCY,
            retry: RetryPolicy::default(),
            clock_offset_secs: 0,
            rate_limit_per_minute: None,
        }
    }
}

/// One page, and the request id that produced it.
#[derive(Debug, Clone)]
pub struct Page {
    pub page: NotebookPage,
    pub request_id: Option<String>,
}

/// Longest `Retry-After` honoured; the poller's longest interval.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// A ModelArts client for one endpoint and project.
#[derive(Clone)]
pub struct Client {
    pub(super) http: reqwest::Client,
    pub(super) scheme: String,
    pub(super) host: String,
    pub(super) port: Option<u16>,
    /// Path prefix of the endpoint (for proxies), without a trailing slash.
    pub(super) base_path: String,
    pub(super) opts: ClientOptions,
    pub(super) requests: Arc<AtomicU64>,
    pub(super) limiter: Arc<RateLimiter>,
    /// Requests the first sweep may send past the limiter.
    pub(super) burst: Arc<Burst>,
    /// A pace of its own for this clone's page requests (a sweep sharing the
    /// budget with the hot tier), kept before the shared limiter.
    pub(super) pacer: Option<Arc<RateLimiter>>,
    /// Requests of this paced clone alone (the shared count has everyone's).
    pub(super) own: Option<Arc<AtomicU64>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.opts.endpoint)
            .field("project_id", &self.opts.project_id)
            .finish_non_exhaustive()
    }
}

fn install_crypto_provider() {
    // reqwest is built without a default provider so that only ring (no C toolchain
    // beyond cc, no OpenSSL) is linked. Installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether a host name is on this machine: no proxy is used for it.
fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

impl Client {
    pub fn new(opts: ClientOptions) -> Result<Self, ApiError> {
        install_crypto_provider();
        let url = reqwest::Url::parse(&opts.endpoint).map_err(|e| {
            ApiError::Request(format!("endpoint '{}' is not a URL: {e}", opts.endpoint))
        })?;
        let scheme = url.scheme().to_string();
        if scheme != "http" && scheme != "https" {
            return Err(ApiError::Request(format!(
                "endpoint '{}' must start with https:// (or http:// for a local simulator)",
                opts.endpoint
            )));
        }
        let host = url
            .host_str()
            .ok_or_else(|| ApiError::Request(format!("endpoint '{}' has no host", opts.endpoint)))?
            .to_string();
        if opts.project_id.is_empty()
            || !opts
                .project_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ApiError::Request(
                "project id must be letters, digits, '-' or '_' (find it under My Credentials > Projects)"
                    .into(),
            ));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.connect_timeout)
            .user_agent(concat!("nbwatch/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(opts.concurrency.max(1));
        if is_loopback(&host) {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| ApiError::Request(format!("cannot build the HTTP client: {e}")))?;
        let limiter = match opts.rate_limit_per_minute {
            Some(n) => RateLimiter::new(n, RateLimiter::default_burst(n, opts.concurrency)),
            None => RateLimiter::unlimited(),
        };
        Ok(Client {
            limiter: Arc::new(limiter),
            burst: Arc::new(Burst::none()),
            pacer: None,
            own: None,
            http,
            port: url.port(),
            base_path: url.path().trim_end_matches('/').to_string(),
            scheme,
            host,
            opts,
            requests: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Requests sent since this client (or any clone of it) was made.
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Requests this client and its clones sent in the last 60 s.
    pub fn requests_last_minute(&self) -> u64 {
        let now = Instant::now();
        self.limiter.sent_in_window(now) + self.burst.sent_in_window(now)
    }

    /// Time this client's requests (and its clones') spent waiting for the
    /// budget: (those that go first, the paced sweep's pages that yield).
    pub fn budget_waits(&self) -> (Duration, Duration) {
        self.limiter.waited()
    }

    /// The paced sweep's pages leave `n` slots of the budget's window to the
    /// hot tier's reads ([`RateLimiter::keep_room`]).
    pub fn keep_room(&self, n: u64) {
        self.limiter.keep_room(n);
    }

    /// Lets the next `n` requests go past the rate limit (the first sweep of a
    /// session), shared by clones from here on. See [`Burst`].
    pub fn with_first_burst(mut self, n: u32) -> Client {
        self.burst = Arc::new(Burst::new(n));
        self
    }

    /// Page requests in flight at once.
    pub fn concurrency(&self) -> usize {
        self.opts.concurrency.max(1)
    }

    /// The burst's state, for the status bar.
    pub fn burst(&self) -> &Burst {
        &self.burst
    }

    /// A clone whose page requests go no faster than `per_minute`, evenly
    /// spaced, on top of the shared limit (which stays the guarantee). The
    /// poller sweeps with one so the sweep takes its share of the budget and
    /// leaves the rest to the hot tier instead of queueing ahead of it.
    pub fn paced(&self, per_minute: u32) -> Client {
        let mut c = self.clone();
        c.pacer = Some(Arc::new(RateLimiter::new(per_minute.max(1), 1)));
        c.own = Some(Arc::new(AtomicU64::new(0)));
        c
    }

    /// Counts one request sent (by this clone, when it keeps its own count).
    pub(super) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(own) = &self.own {
            own.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests this clone sent, if it keeps its own count ([`Client::paced`]),
    /// else every clone's: what a sweep costs, without the hot tier's beside it.
    pub fn own_requests_sent(&self) -> u64 {
        self.own
            .as_ref()
            .map_or_else(|| self.requests_sent(), |o| o.load(Ordering::Relaxed))
    }

    /// This client with a request limit (`None`: none), shared by its clones
    /// from here on. The dashboard limits its poller; `list` does not.
    pub fn with_rate_limit(mut self, per_minute: Option<u32>) -> Client {
        self.opts.rate_limit_per_minute = per_minute;
        self.limiter = Arc::new(match per_minute {
            Some(n) => RateLimiter::new(n, RateLimiter::default_burst(n, self.opts.concurrency)),
            None => RateLimiter::unlimited(),
        });
        self
    }

    pub(super) fn now_unix_secs(&self) -> i64 {
        crate::timefmt::now_ms()
            .div_euclid(1000)
            .saturating_add(self.opts.clock_offset_secs)
    }

    /// Sends one page request, once (after waiting for a slot under the rate
    /// limit, so the signature's date is the time of sending).
    async fn send_once<P: ListPage>(
        &self,
        q: &ListQuery,
        offset: u64,
    ) -> Result<(P, Option<String>), ApiError> {
        if let Some(pacer) = &self.pacer {
            pacer.acquire().await;
        }
        if !self.burst.take(Instant::now()) {
            // A paced sweep's pages yield their turn to the hot tier's reads.
            if self.pacer.is_some() {
                self.limiter.acquire_yielding().await;
            } else {
                self.limiter.acquire().await;
            }
        }
        let path = format!(
            "{}/v1/{}/notebooks/all",
            self.base_path, self.opts.project_id
        );
        let (url, map) = self.signed("GET", &path, &q.pairs(offset), b"")?;

        self.count_request();
        tracing::debug!(offset, limit = q.page_size.get(), "GET notebooks/all");
        let resp = self
            .http
            .get(&url)
            .headers(map)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let (body, request_id) = self.receive(resp).await?;
        let body = body.as_ref();
        let page: P = serde_json::from_slice(body).map_err(|e| ApiError::Decode {
            detail: if e.is_eof() {
                format!(
                    "the JSON ends early, at line {} column {} (truncated body)",
                    e.line(),
                    e.column()
                )
            } else {
                format!(
                    "malformed JSON at line {} column {}: {}",
                    e.line(),
                    e.column(),
                    e
                )
            },
            request_id: request_id.clone(),
        })?;
        if !page.looks_like_listing() && !looks_like_page(body) {
            return Err(ApiError::Decode {
                detail: "the body is JSON but not a notebook listing (no data, no total)".into(),
                request_id,
            });
        }
        Ok((page, request_id))
    }

    /// The wire URL and headers of one request, signed (or carrying the IAM
    /// token) at this moment. `path` includes the endpoint's base path.
    pub(super) fn signed(
        &self,
        method: &str,
        path: &str,
        pairs: &[(String, String)],
        body: &[u8],
    ) -> Result<(String, HeaderMap), ApiError> {
        let base_headers = [("Content-Type".to_string(), "application/json".to_string())];
        let (url, headers) = match &self.opts.auth {
            Auth::AkSk(creds) => {
                let parts = RequestParts {
                    method,
                    scheme: &self.scheme,
                    host: &self.host,
                    port: self.port,
                    path,
                    query: pairs,
                    headers: &base_headers,
                    body,
                    project_id: Some(&self.opts.project_id),
                };
                let signed = sign::sign(&parts, creds, &sign::sdk_date(self.now_unix_secs()));
                (signed.url, signed.headers)
            }
            Auth::Token(token) => {
                let host = sign::host_header(&self.scheme, &self.host, self.port);
                let query = sign::canonical_query(pairs);
                let mut headers = base_headers.to_vec();
                headers.push(("X-Auth-Token".into(), token.expose().to_string()));
                headers.push((sign::HEADER_PROJECT.into(), self.opts.project_id.clone()));
                let url = if query.is_empty() {
                    format!("{}://{host}{path}", self.scheme)
                } else {
                    format!("{}://{host}{path}?{query}", self.scheme)
                };
                (url, headers)
            }
        };
        let mut map = HeaderMap::new();
        for (k, v) in &headers {
            // reqwest writes the same Host itself; sending ours too would duplicate it.
            if k.eq_ignore_ascii_case("host") {
                continue;
            }
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| ApiError::Request(format!("invalid header name {k}")))?;
            let mut value = HeaderValue::from_str(v).map_err(|_| {
                ApiError::Request(format!("header {k} has characters HTTP cannot carry"))
            })?;
            if k.eq_ignore_ascii_case("authorization")
                || k.eq_ignore_ascii_case("x-auth-token")
                || k.eq_ignore_ascii_case(sign::HEADER_SECURITY_TOKEN)
            {
                value.set_sensitive(true);
            }
            map.insert(name, value);
        }
        Ok((url, map))
    }

    /// Reads an answer: its body and request id when the status is 2xx, the
    /// typed error otherwise (code, message, request id, `Retry-After`, skew).
    pub(super) async fn receive(
        &self,
        resp: reqwest::Response,
    ) -> Result<(impl AsRef<[u8]> + use<>, Option<String>), ApiError> {
        let endpoint = &self.opts.endpoint;
        let status = resp.status().as_u16();
        let request_id = resp
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            // A broken proxy may send anything: never panic, never wait for years.
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .map(|d| d.min(MAX_RETRY_AFTER));
        let server_date = resp
            .headers()
            .get("date")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date);
        let body = resp
            .bytes()
            .await
            .map_err(|e| match self.transport_error(e) {
                ApiError::Timeout { after, .. } => ApiError::Timeout {
                    after,
                    endpoint: endpoint.clone(),
                },
                ApiError::Connect { detail, .. }
                | ApiError::Cut { detail, .. }
                | ApiError::Decode { detail, .. } => ApiError::Decode {
                    detail: format!("the body was cut off ({detail})"),
                    request_id: request_id.clone(),
                },
                other => other,
            })?;

        if !(200..300).contains(&status) {
            let (code, message) = super::error::parse_error_body(&body);
            let err = ApiError::Http(HttpError {
                status,
                code,
                message,
                request_id,
                retry_after,
                clock_skew_secs: server_date.map(|d| d - self.now_unix_secs()),
                token_auth: matches!(self.opts.auth, Auth::Token(_)),
            });
            tracing::warn!(status, error = %err.short(), "request failed");
            return Err(err);
        }
        Ok((body, request_id))
    }

    pub(super) fn transport_error(&self, e: reqwest::Error) -> ApiError {
        let endpoint = self.opts.endpoint.clone();
        // The URL (with the query) is not part of the detail: the endpoint is said once, by us.
        let e = e.without_url();
        if e.is_timeout() {
            ApiError::Timeout {
                after: self.opts.timeout,
                endpoint,
            }
        } else if e.is_builder() {
            ApiError::Request(root_cause(&e))
        } else if e.is_connect() {
            ApiError::Connect {
                endpoint,
                detail: root_cause(&e),
            }
        } else if e.is_body() || e.is_decode() {
            ApiError::Decode {
                detail: root_cause(&e),
                request_id: None,
            }
        } else {
            // Connected, then the exchange broke (a reset, a closed connection):
            // the request may have gone out. Not "cannot connect", which would
            // invite the user to repeat an action the service may have taken.
            ApiError::Cut {
                endpoint,
                detail: root_cause(&e),
            }
        }
    }

    /// One page, retried on 429, 5xx, timeouts and broken bodies; never on 401/403.
    pub async fn fetch_page(&self, q: &ListQuery, offset: u64) -> Result<Page, ApiError> {
        let (page, request_id) = self.fetch_page_as::<NotebookPage>(q, offset).await?;
        Ok(Page { page, request_id })
    }

    /// One page decoded as `P` (with the response's request id), retried as
    /// [`Client::fetch_page`] is.
    pub async fn fetch_page_as<P: ListPage>(
        &self,
        q: &ListQuery,
        offset: u64,
    ) -> Result<(P, Option<String>), ApiError> {
        let mut attempt = 0;
        loop {
            match self.send_once::<P>(q, offset).await {
                Ok(p) => return Ok(p),
                Err(e) if e.is_retryable() && attempt < self.opts.retry.max_retries => {
                    attempt += 1;
                    let wait = self.opts.retry.delay(attempt, &e);
                    tracing::info!(attempt, wait_ms = wait.as_millis() as u64, error = %e.short(), "retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Whether a JSON body has the keys of a listing, even if empty.
fn looks_like_page(body: &[u8]) -> bool {
    matches!(
        serde_json::from_slice::<serde_json::Value>(body),
        Ok(serde_json::Value::Object(m)) if m.contains_key("data") || m.contains_key("total")
    )
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Parses an HTTP date (`Sat, 28 Nov 2026 08:30:00 GMT`, or the two obsolete
/// forms HTTP still allows) to Unix seconds.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let t = httpdate::parse_http_date(s.trim()).ok()?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_http_dates() {
        assert_eq!(
            parse_http_date("Sat, 28 Nov 2026 08:30:00 GMT"),
            Some(1_795_854_600)
        );
        assert_eq!(parse_http_date("yesterday"), None);
        assert_eq!(parse_http_date("Sat, 28 Foo 2026 08:30:00 GMT"), None);
    }
    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        let p = RetryPolicy::default();
        let e = ApiError::Timeout {
            after: Duration::from_secs(1),
            endpoint: String::new(),
        };
        let d1 = p.delay(1, &e);
        let d4 = p.delay(4, &e);
        assert!(
            d1 >= Duration::from_millis(400) && d1 <= Duration::from_millis(600),
            "{d1:?}"
        );
        assert!(
            d4 >= Duration::from_millis(3200) && d4 <= Duration::from_millis(4800),
            "{d4:?}"
        );
        assert!(p.delay(30, &e) <= Duration::from_millis(9600));
        let throttled = ApiError::Http(HttpError {
            status: 429,
            retry_after: Some(Duration::from_secs(2)),
            ..Default::default()
        });
        assert_eq!(p.delay(1, &throttled), Duration::from_secs(2));
    }

    #[test]
    fn loopback_hosts_skip_proxies() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("localhost"));
        assert!(is_loopback("[::1]"));
        assert!(!is_loopback("modelarts.cn-north-4.myhuaweicloud.com"));
    }

    #[test]
    fn rejects_bad_endpoints_and_project_ids() {
        let auth = Auth::Token(Secret::new("t"));
        assert!(Client::new(ClientOptions::new("ftp://x", "p", auth.clone())).is_err());
        assert!(Client::new(ClientOptions::new("not a url", "p", auth.clone())).is_err());
        assert!(
            Client::new(ClientOptions::new(
                "http://127.0.0.1:1",
                "a/b",
                auth.clone()
            ))
            .is_err()
        );
        assert!(Client::new(ClientOptions::new("http://127.0.0.1:1", "abc123", auth)).is_ok());
    }
}
