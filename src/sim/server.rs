//! The HTTP face of the simulator: routing, gateway behaviour (auth, 404s,
//! request ids), faults, and the `/_sim/*` control endpoints.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::actions;
use super::auth::{self, Credentials};
use super::clock::{self, SimClock};
use super::engine::Engine;
use super::faults::{self, Fault, FaultKind, Faults};
use super::listing::{self, ApiError, ListQuery};
use super::rng::{mix, uuid_from};
use super::{catalog, instance::State as St};
use crate::api::sign;

/// Everything the request handlers share.
pub struct Shared {
    pub engine: Mutex<Engine>,
    pub faults: Mutex<Faults>,
    /// Creations and deletions after listing requests (`--churn`).
    pub churn: Mutex<super::churn::Churner>,
    pub clock: SimClock,
    pub creds: Credentials,
    pub project_id: String,
    pub latency_ms: u64,
    pub seed: u64,
    /// Denied IAM actions and resource shortage, for the one-instance endpoints.
    pub policy: actions::Policy,
    /// Requests to the API (anything not under `/_sim/`).
    pub api_requests: AtomicU64,
    pub control_requests: AtomicU64,
    /// API requests being answered now, and the most at once since the start
    /// (what a client's concurrency bound looks like from the service).
    in_flight: AtomicU64,
    pub max_in_flight: AtomicU64,
    sequence: AtomicU64,
    /// How far this simulator's wall clock runs ahead of the machine's (`--clock-skew`).
    clock_skew_ms: i64,
    pub shutdown: watch::Receiver<bool>,
}

impl Shared {
    pub fn new(
        engine: Engine,
        clock: SimClock,
        cfg: &super::SimConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Shared {
            engine: Mutex::new(engine),
            faults: Mutex::new(Faults::new(&cfg.faults)),
            churn: Mutex::new(super::churn::Churner::new(cfg.churn, cfg.seed)),
            clock,
            creds: Credentials {
                ak: cfg.ak.clone(),
                sk: cfg.sk.clone(),
                token: cfg.token.clone(),
            },
            project_id: cfg.project_id.clone(),
            latency_ms: cfg.latency_ms,
            seed: cfg.seed,
            policy: actions::Policy::default(),
            api_requests: AtomicU64::new(0),
            control_requests: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            sequence: AtomicU64::new(0),
            clock_skew_ms: cfg.clock_skew_secs.saturating_mul(1000),
            shutdown,
        }
    }

    /// The engine, caught up with the clock.
    pub fn engine_now(&self) -> MutexGuard<'_, Engine> {
        let mut e = lock(&self.engine);
        e.advance_to(self.clock.now_ms());
        e
    }

    /// The wall clock as this simulated gateway reads it (skewed by `--clock-skew`):
    /// what it dates its answers with and checks signatures against.
    pub fn wall_now_ms(&self) -> i64 {
        clock::wall_now_ms().saturating_add(self.clock_skew_ms)
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }
}

/// A poisoned lock only means a handler panicked mid-update; the data is still
/// usable for a simulator, so keep serving.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(shared)
}

/// Every request comes through here, so every answer gets an `X-Request-Id`.
async fn handle(State(sh): State<Arc<Shared>>, req: Request) -> Response {
    let n = sh.sequence.fetch_add(1, Ordering::SeqCst);
    let rid = uuid_from(
        mix(sh.seed ^ 0x7265_7169_6400 ^ n.rotate_left(29)),
        mix(n ^ 0x5eed_1d00_0000_0001),
    )
    .replace('-', "");
    let mut resp = if req.uri().path().starts_with("/_sim/") {
        sh.control_requests.fetch_add(1, Ordering::SeqCst);
        control(&sh, req).await
    } else {
        sh.api_requests.fetch_add(1, Ordering::SeqCst);
        let _counted = InFlight::enter(&sh);
        api(&sh, req).await
    };
    if let Ok(v) = HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("x-request-id", v);
    }
    // Dated by this gateway's clock; the HTTP server adds the machine's only when absent.
    if sh.clock_skew_ms != 0 {
        let at = u64::try_from(sh.wall_now_ms()).unwrap_or(0);
        let at = std::time::UNIX_EPOCH + Duration::from_millis(at);
        if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(at)) {
            resp.headers_mut().insert(header::DATE, v);
        }
    }
    resp
}

/// One API request being answered; leaving (also when the client hangs up and
/// the answer is dropped half-way) takes it off the count.
struct InFlight<'a>(&'a AtomicU64);

impl<'a> InFlight<'a> {
    fn enter(sh: &'a Shared) -> InFlight<'a> {
        let now = sh.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        sh.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(&sh.in_flight)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn json_response(status: u16, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    r
}

fn error(e: &ApiError) -> Response {
    json_response(e.status, e.body())
}

fn not_found() -> Response {
    error(&ApiError::new(
        404,
        "APIGW.0101",
        "The API does not exist or has not been published in the environment",
    ))
}

/// What an API request is for.
enum Target {
    /// A listing: everyone's instances (`all`) or the caller's.
    List { all: bool },
    /// One instance.
    One { id: String, op: actions::Op },
}

/// `/v1/{project_id}/notebooks[/all]` → (project id, all?).
fn api_route(path: &str) -> Option<(String, bool)> {
    let segs: Vec<&str> = path.split('/').collect();
    match segs.as_slice() {
        ["", "v1", pid, "notebooks", "all"] if !pid.is_empty() => Some((sign::decode(pid), true)),
        ["", "v1", pid, "notebooks"] if !pid.is_empty() => Some((sign::decode(pid), false)),
        _ => None,
    }
}

async fn api(sh: &Shared, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    // The gateway routes on method and path: anything else is an unknown API.
    let (pid, target) = match api_route(parts.uri.path()) {
        Some((pid, all)) if parts.method == Method::GET => (pid, Target::List { all }),
        Some(_) => return not_found(),
        None => match actions::route(&parts.method, parts.uri.path()) {
            Some((pid, id, op)) => (pid, Target::One { id, op }),
            None => return not_found(),
        },
    };

    let decision = sh.faults().decide();
    let delay = sh.latency_ms.saturating_add(decision.delay_ms);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if let Some(ms) = decision.hang_ms {
        let mut stop = sh.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
            _ = stop.wait_for(|s| *s) => {
                return error(&ApiError::new(503, "APIGW.0201", "Service shutting down"));
            }
        }
    }
    match decision.error {
        Some(FaultKind::ServerError) | Some(FaultKind::Flap { .. }) => {
            return error(&ApiError::new(
                500,
                "ModelArts.0010",
                "Internal server error. Contact technical support.",
            ));
        }
        Some(FaultKind::Throttle { retry_after_secs }) => {
            let mut r = error(&ApiError::new(
                429,
                "APIGW.0308",
                "The throttling threshold has been reached: policy user over ratelimit, limit:60, time:1 minute",
            ));
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return r;
        }
        Some(FaultKind::Unauthorized) => {
            return error(&ApiError::new(
                401,
                auth::AuthError::CODE,
                "Incorrect IAM authentication information: the credentials have been revoked",
            ));
        }
        Some(FaultKind::Html502) => return html_502(),
        _ => {}
    }

    let body = match axum::body::to_bytes(body, 1 << 20).await {
        Ok(b) => b,
        Err(_) => {
            return error(&ApiError::new(
                400,
                "APIGW.0106",
                "Request body too large or unreadable",
            ));
        }
    };
    let raw_query = parts.uri.query().unwrap_or("");
    let incoming = auth::Incoming {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        raw_query,
        headers: &parts.headers,
        body: &body,
    };
    if let Err(e) = auth::verify(&sh.creds, &incoming, sh.wall_now_ms()) {
        return error(&ApiError::new(401, auth::AuthError::CODE, e.message()));
    }
    if pid != sh.project_id {
        return error(&ApiError::new(
            403,
            "ModelArts.0108",
            format!(
                "Permission denied: the credentials are not authorized for project {pid}. Check the project id of the region."
            ),
        ));
    }
    let all = match target {
        Target::List { all } => all,
        Target::One { id, op } => {
            let pairs = sign::parse_query(raw_query);
            let answer = actions::answer(&mut sh.engine_now(), &sh.policy, op, &id, &pairs, &body);
            return match answer {
                Ok(v) => json_response(200, v.to_string()),
                Err(e) => error(&e),
            };
        }
    };
    let query = match ListQuery::parse(&sign::parse_query(raw_query)) {
        Ok(q) => q,
        Err(e) => return error(&e),
    };
    let page = {
        let mut engine = sh.engine_now();
        if decision.drift {
            let now = engine.now();
            engine.drift(now);
        }
        let owner = (!all).then_some(catalog::USERS[catalog::CALLER].id);
        let page = listing::page(&engine, &query, owner);
        let now = engine.now();
        lock(&sh.churn).after_listing(&mut engine, now);
        page
    };
    match decision.corrupt {
        Some(FaultKind::Malformed) => json_response(200, malformed(&page)),
        Some(FaultKind::Truncated { full_length }) => truncated(page, full_length),
        _ => json_response(200, page),
    }
}

/// Real JSON up to the first instance, then something no JSON parser accepts.
fn malformed(page: &str) -> String {
    match page.find("\"data\":[") {
        Some(i) => format!(
            "{}{{'id': 'sim-malformed', \"name\": undefined, status: RUNNING,,}}]}}",
            &page[..i + 8]
        ),
        None => "{\"current\":0,\"data\":[,]".to_string(),
    }
}

/// The page cut in half. With `full_length`, the whole length is declared and
/// the connection drops mid-body; otherwise the declared length is the cut one.
fn truncated(page: String, full_length: bool) -> Response {
    let full = page.len();
    let mut cut = (full / 2).max(1).min(full);
    while !page.is_char_boundary(cut) {
        cut -= 1;
    }
    let prefix = Bytes::from(page.into_bytes()).slice(..cut);
    let mut r = if full_length {
        use futures::StreamExt;
        // The prefix goes out (headers with it), then the body fails: hyper
        // drops the connection short of the declared length.
        let head = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(prefix) });
        let tail = futures::stream::once(async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "simulated truncation",
            ))
        });
        let mut r = Response::new(Body::from_stream(head.chain(tail)));
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(full));
        r
    } else {
        Response::new(Body::from(prefix))
    };
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    r
}

fn html_502() -> Response {
    let body = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::BAD_GATEWAY;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    r.headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("nginx"));
    r
}

/// A control endpoint's `?n=N`: 1 when absent, `None` unless within 1..=`max`.
fn count(pairs: &[(String, String)], max: usize) -> Option<usize> {
    pairs
        .iter()
        .find(|(k, _)| k == "n")
        .map_or(Some(1), |(_, v)| v.parse::<usize>().ok())
        .filter(|n| (1..=max).contains(n))
}

fn control_error(msg: impl Into<String>) -> Response {
    error(&ApiError::new(400, "SIM.0001", msg))
}

fn faults_json(f: &Faults) -> Value {
    json!({
        "faults": f.active().iter().map(|a| json!({
            "spec": a.fault.to_string(),
            "fired": a.fired,
            "remaining": a.fault.count.map(|c| c.saturating_sub(a.fired)),
        })).collect::<Vec<_>>(),
    })
}

/// Specs from `?spec=` (repeatable) or the body: a JSON array of strings,
/// `{"faults": [...]}`, or plain text (commas, spaces or newlines between specs).
fn specs_from(pairs: &[(String, String)], body: &[u8]) -> Result<Vec<Fault>, String> {
    let mut out = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "spec" || k == "fault") {
        out.extend(faults::parse_list(v)?);
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return Ok(out);
    }
    let list: Option<Vec<Value>> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(a)) => Some(a),
        Ok(Value::Object(o)) => match o.get("faults").or_else(|| o.get("spec")) {
            Some(Value::Array(a)) => Some(a.clone()),
            Some(Value::String(s)) => Some(vec![Value::String(s.clone())]),
            _ => return Err("expected {\"faults\": [\"500\", ...]}".into()),
        },
        Ok(Value::String(s)) => Some(vec![Value::String(s)]),
        _ => None,
    };
    match list {
        Some(items) => {
            for it in items {
                match it.as_str() {
                    Some(s) => out.extend(faults::parse_list(s)?),
                    None => return Err(format!("fault specs are strings, not {it}")),
                }
            }
        }
        None => out.extend(faults::parse_list(text)?),
    }
    Ok(out)
}

async fn control(sh: &Shared, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let pairs = sign::parse_query(parts.uri.query().unwrap_or(""));
    let body = axum::body::to_bytes(body, 1 << 16)
        .await
        .unwrap_or_default();
    match (&parts.method, parts.uri.path()) {
        (&Method::GET, "/_sim/faults") => json_response(200, faults_json(&sh.faults()).to_string()),
        (&Method::POST | &Method::PUT, "/_sim/faults") => match specs_from(&pairs, &body) {
            Ok(specs) => {
                let mut f = sh.faults();
                let replace = parts.method == Method::PUT
                    || pairs
                        .iter()
                        .any(|(k, v)| k == "replace" && v != "false" && v != "0");
                if replace {
                    f.set(&specs);
                } else {
                    f.add(&specs);
                }
                json_response(200, faults_json(&f).to_string())
            }
            Err(e) => control_error(e),
        },
        (&Method::DELETE, "/_sim/faults") => {
            let mut f = sh.faults();
            f.clear();
            json_response(200, faults_json(&f).to_string())
        }
        (&Method::POST, "/_sim/advance") => {
            let ms = pairs
                .iter()
                .find(|(k, _)| k == "ms")
                .and_then(|(_, v)| v.parse::<i64>().ok())
                .filter(|ms| *ms >= 0);
            match ms {
                Some(ms) => {
                    sh.clock.advance(ms);
                    let now = sh.engine_now().now();
                    json_response(200, json!({"now_ms": now}).to_string())
                }
                None => control_error("advance needs ?ms=N (a non-negative integer)"),
            }
        }
        (&Method::GET, "/_sim/stats") => json_response(200, stats(sh).to_string()),
        (&Method::POST, "/_sim/start") => match count(&pairs, 5000) {
            Some(n) => {
                let mut e = sh.engine_now();
                let at = e.now();
                let started = e.start_stopped(n, at);
                json_response(200, json!({"started": started, "at_ms": at}).to_string())
            }
            None => control_error("start needs ?n=N (1 to 5000 stopped instances)"),
        },
        (&Method::POST, "/_sim/fail") => match count(&pairs, 1000) {
            Some(n) => {
                let mut e = sh.engine_now();
                let at = e.now();
                let failed = e.fail_running(n, at);
                json_response(200, json!({"failed": failed, "at_ms": at}).to_string())
            }
            None => control_error("fail needs ?n=N (1 to 1000 running instances)"),
        },
        (&Method::GET, "/_sim/journal") => {
            let num = |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| key == k)
                    .and_then(|(_, v)| v.parse::<i64>().ok())
            };
            match (num("from"), num("to")) {
                (Some(from), Some(to)) if from <= to => {
                    let truth = sh.engine_now().ground_truth(from, to);
                    json_response(200, serde_json::to_string(&truth).unwrap_or_default())
                }
                _ => control_error("journal needs ?from=MS&to=MS (simulated epoch ms, from <= to)"),
            }
        }
        (method, path) => match sh.policy.control(method, path, &pairs) {
            Some(Ok(v)) => json_response(200, v.to_string()),
            Some(Err(e)) => control_error(e),
            None => not_found(),
        },
    }
}

pub fn stats(sh: &Shared) -> Value {
    let e = sh.engine_now();
    let by_status: serde_json::Map<String, Value> = St::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), json!(0)))
        .chain(
            e.count_by_state()
                .into_iter()
                .map(|(s, n)| (s.as_str().to_string(), json!(n))),
        )
        .collect();
    json!({
        "requests": sh.api_requests.load(Ordering::SeqCst),
        "control_requests": sh.control_requests.load(Ordering::SeqCst),
        "max_in_flight": sh.max_in_flight.load(Ordering::SeqCst),
        "instances": e.len(),
        "now_ms": e.now(),
        "manual_clock": sh.clock.is_manual(),
        "by_status": by_status,
    })
}
