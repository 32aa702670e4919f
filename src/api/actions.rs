//! Acting on one instance: start, stop, extend the auto-stop (renew the lease),
//! delete; and ShowNotebook / ShowLease to follow what happens next.
//!
//! An action changes something on the service, so it is sent once: a timeout, a
//! cut-off answer or a 5xx may mean the service acted, and is reported instead
//! of repeated. Only answers that prove nothing reached the service are retried:
//! a refused connection (nothing was sent) and a 429 (the gateway turned it away).

use std::fmt;

use serde::Deserialize;

use super::client::Client;
use super::error::ApiError;
use super::model::{Lease, Notebook, Status};

/// Shortest auto-stop duration the service accepts: 1 hour.
pub const MIN_DURATION_MS: i64 = 3_600_000;
/// Longest: 72 hours.
pub const MAX_DURATION_MS: i64 = 259_200_000;
/// What the service uses when a start names none.
pub const DEFAULT_DURATION_MS: i64 = MIN_DURATION_MS;
/// The durations the dashboard offers, in hours.
pub const DURATION_CHOICES_H: [i64; 5] = [1, 2, 4, 8, 24];
pub const HOUR_MS: i64 = 3_600_000;

/// One of the four things a user can do to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    Start,
    Stop,
    Extend,
    Delete,
}

/// Where an action is meant to leave the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Goal {
    Status(Status),
    /// Deleted: DELETED, then no longer listed.
    Gone,
}

impl Verb {
    pub const ALL: [Verb; 4] = [Verb::Start, Verb::Stop, Verb::Extend, Verb::Delete];

    /// The word on the command line and in the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Extend => "extend",
            Verb::Delete => "delete",
        }
    }

    /// The IAM action a 403 means the user lacks.
    pub fn iam_action(self) -> &'static str {
        match self {
            Verb::Start => "modelarts:notebook:start",
            Verb::Stop => "modelarts:notebook:stop",
            Verb::Extend => "modelarts:notebook:updateStopPolicy",
            Verb::Delete => "modelarts:notebook:delete",
        }
    }

    /// Whether the action makes sense for an instance in `status` (the service
    /// refuses it otherwise, with one of the wrong-state codes).
    pub fn offered_for(self, status: &Status) -> bool {
        use Status as S;
        match self {
            Verb::Start => matches!(status, S::Stopped | S::StartFailed),
            Verb::Stop => matches!(status, S::Running | S::Error),
            Verb::Extend => matches!(status, S::Running),
            Verb::Delete => matches!(
                status,
                S::Stopped | S::CreateFailed | S::StartFailed | S::DeleteFailed | S::Error
            ),
        }
    }

    /// Why the service would refuse the action for an instance in `status`, in the
    /// words a bulk action uses for what it skipped (`stop 12 · 3 skipped: not
    /// RUNNING or ERROR`); `None` when the action is offered. The one home of the
    /// rule, with [`Verb::offered_for`], for the dashboard's marks and the command line.
    pub fn skip_reason(self, status: &Status) -> Option<&'static str> {
        if self.offered_for(status) {
            return None;
        }
        Some(match self {
            Verb::Start => "not STOPPED or START_FAILED",
            Verb::Stop => "not RUNNING or ERROR",
            Verb::Extend => "not RUNNING",
            Verb::Delete => "not stopped or failed",
        })
    }

    /// Whether the action takes an auto-stop duration.
    pub fn takes_duration(self) -> bool {
        matches!(self, Verb::Start | Verb::Extend)
    }

    pub fn goal(self) -> Goal {
        match self {
            Verb::Start | Verb::Extend => Goal::Status(Status::Running),
            Verb::Stop => Goal::Status(Status::Stopped),
            Verb::Delete => Goal::Gone,
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where following an action stands once the service reports `status`
/// (`None`: the instance is gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Still moving: keep watching.
    Moving,
    /// The status the action aimed for.
    Reached,
    /// A stable status other than the goal: the action did not get there.
    Missed,
}

impl Goal {
    pub fn progress(&self, status: Option<&Status>) -> Progress {
        match (self, status) {
            (Goal::Gone, None | Some(Status::Deleted)) => Progress::Reached,
            (_, None) => Progress::Missed,
            (_, Some(s)) if s.is_transitional() => Progress::Moving,
            (Goal::Status(g), Some(s)) if g == s => Progress::Reached,
            _ => Progress::Missed,
        }
    }

    pub fn label(&self) -> &str {
        match self {
            Goal::Status(s) => s.as_str(),
            Goal::Gone => "DELETED",
        }
    }
}

/// An auto-stop duration (`4h`, `90m`, `1h30m`, `2d`, read by the one duration
/// reader, [`crate::timefmt::parse_duration`]) in milliseconds, within the
/// service's 1–72 h. A bare number is seconds there as everywhere, so `4` is
/// refused with the fix (`4h`) rather than read as hours.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let written = crate::timefmt::parse_duration(text)
        .map_err(|e| format!("{e}: use e.g. 4h, 90m, 1h30m or 2d (between 1h and 72h)"))?;
    let ms = i64::try_from(written.as_millis()).unwrap_or(i64::MAX);
    if !(MIN_DURATION_MS..=MAX_DURATION_MS).contains(&ms) {
        let bare = text.trim().parse::<f64>().is_ok();
        let hint = if bare {
            format!(
                "; a bare number is seconds: for hours write the unit, e.g. {}h",
                text.trim()
            )
        } else {
            String::new()
        };
        return Err(format!(
            "{} is outside what the service accepts: between 1h and 72h{hint}",
            crate::timefmt::written_ms(ms)
        ));
    }
    Ok(ms)
}

/// What the service says a wrong-state or permission code means.
pub fn meaning(code: &str) -> Option<&'static str> {
    let short = code.strip_prefix("ModelArts.").unwrap_or(code);
    Some(match short {
        "6304" => "stop the instance before deleting it",
        "6305" => "the instance is already running",
        "6306" => "the instance is starting",
        "6307" => "the instance is already stopped",
        "6308" => "the instance is stopping",
        "6309" => "the instance does not exist",
        "6326" => "the account is in arrears, the instance is frozen",
        "6327" => "the instance is not running",
        "6357" => "another operation on the instance is in progress",
        "6360" => "not enough resources to start the instance now: try later or another flavor",
        "6348" => "the duration is missing",
        "6349" => "the duration is out of range (1 to 72 hours)",
        "0108" | "0112" => "permission denied",
        _ => return None,
    })
}

/// Whether an error says the instance does not exist (any more).
pub fn is_gone(e: &ApiError) -> bool {
    e.code().is_some_and(|c| c.ends_with("6309"))
        || (e.status() == Some(404) && e.code().is_some_and(|c| c.starts_with("ModelArts.")))
}

/// Whether a failed action may still have reached the service and been acted
/// on: no answer came (a timeout, the connection cut after the request went
/// out, an unreadable answer), or the service failed without saying what it did
/// (a 5xx or 408 without a known code). Such an action is reported, never repeated.
pub fn may_have_acted(e: &ApiError) -> bool {
    match e {
        ApiError::Timeout { .. } | ApiError::Cut { .. } | ApiError::Decode { .. } => true,
        ApiError::Http(h) => {
            (h.status >= 500 || h.status == 408) && h.code.as_deref().and_then(meaning).is_none()
        }
        ApiError::Connect { .. } | ApiError::Request(_) => false,
    }
}

/// One line saying why `verb` failed, for the status bar, stderr and the log:
/// `6326: the account is in arrears, the instance is frozen · request id 3f2a…`.
pub fn describe(verb: Verb, e: &ApiError) -> String {
    let mut out = match e {
        _ if may_have_acted(e) => {
            let what = match e {
                ApiError::Http(_) => format!("{}: {}", e.short(), e.message()),
                _ => e.message(),
            };
            format!(
                "{what} — the service may have acted: not repeated, check the instance before trying again"
            )
        }
        ApiError::Http(h) if h.status == 403 => format!(
            "{}: permission denied: your IAM user lacks {} (ask an admin to grant it)",
            e.short(),
            verb.iam_action()
        ),
        ApiError::Http(h) => match h.code.as_deref().and_then(|c| meaning(c).map(|m| (c, m))) {
            Some((code, m)) => {
                let short = code.strip_prefix("ModelArts.").unwrap_or(code);
                format!("{short}: {m}")
            }
            None => format!("{}: {}", e.short(), e.message()),
        },
        other => match other.hint() {
            Some(h) => format!("{}; {h}", other.message()),
            None => other.message(),
        },
    };
    if let Some(id) = e.request_id() {
        out.push_str(&format!(" · request id {id}"));
    }
    out
}

/// What the instance's status read just after a failed action adds to
/// [`describe`]: ` · now STOPPING (read just now)`, ` · now gone …`, or why
/// it could not be read.
pub fn status_now(read: &Result<Option<Notebook>, ApiError>) -> String {
    match read {
        Ok(Some(nb)) => format!(" · now {} (read just now)", nb.status_or_unknown()),
        Ok(None) => " · now gone (read just now)".to_string(),
        Err(e) => format!(" · its status could not be read: {}", e.short()),
    }
}

/// What the service answered to an action.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Start, stop and delete answer with the instance.
    Instance(Box<Notebook>),
    /// Extending answers with the new lease.
    Lease(Lease),
}

/// An accepted action.
#[derive(Debug, Clone, PartialEq)]
pub struct Acted {
    pub answer: Answer,
    pub request_id: Option<String>,
}

/// A failed exchange, and whether the request may have reached the service.
struct Failure {
    error: ApiError,
    maybe_sent: bool,
}

/// Instance ids are path segments: letters, digits, `-` and `_` only.
fn check_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::Request(format!(
            "'{id}' is not an instance id (letters, digits, '-' and '_')"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
struct LeaseBody {
    #[serde(flatten)]
    lease: Lease,
}

impl Client {
    /// Performs `verb` on instance `id` (with `duration_ms` for start and extend),
    /// once. See the module comment for what is retried.
    pub async fn act(
        &self,
        verb: Verb,
        id: &str,
        duration_ms: Option<i64>,
    ) -> Result<Acted, ApiError> {
        check_id(id)?;
        let duration = duration_ms.unwrap_or(DEFAULT_DURATION_MS);
        let (method, tail, pairs, body): (_, &str, Vec<(String, String)>, Vec<u8>) = match verb {
            Verb::Start => (
                reqwest::Method::POST,
                "/start",
                vec![
                    ("duration".into(), duration.to_string()),
                    ("type".into(), "TIMING".into()),
                ],
                Vec::new(),
            ),
            Verb::Stop => (reqwest::Method::POST, "/stop", Vec::new(), Vec::new()),
            Verb::Extend => (
                reqwest::Method::PATCH,
                "/lease",
                Vec::new(),
                serde_json::json!({"duration": duration, "type": "TIMING"})
                    .to_string()
                    .into_bytes(),
            ),
            Verb::Delete => (reqwest::Method::DELETE, "", Vec::new(), Vec::new()),
        };
        let path = format!(
            "{}/v1/{}/notebooks/{id}{tail}",
            self.base_path, self.opts.project_id
        );
        let mut attempt = 0;
        let (bytes, request_id) = loop {
            match self.exchange(&method, &path, &pairs, &body).await {
                Ok(ok) => break ok,
                Err(f) => {
                    let safe = !f.maybe_sent || f.error.status() == Some(429);
                    if safe && attempt < self.opts.retry.max_retries {
                        attempt += 1;
                        let wait = self.opts.retry.delay(attempt, &f.error);
                        tracing::info!(action = verb.name(), attempt, error = %f.error.short(), "not sent or throttled; trying again");
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(f.error);
                }
            }
        };
        let decode = |detail: String| ApiError::Decode {
            detail,
            request_id: request_id.clone(),
        };
        let answer = if verb == Verb::Extend {
            let b: LeaseBody = serde_json::from_slice(&bytes)
                .map_err(|e| decode(format!("the lease in the answer is unreadable: {e}")))?;
            Answer::Lease(b.lease)
        } else {
            let nb: Notebook = serde_json::from_slice(&bytes)
                .map_err(|e| decode(format!("the instance in the answer is unreadable: {e}")))?;
            Answer::Instance(Box::new(nb))
        };
        Ok(Acted { answer, request_id })
    }

    /// ShowNotebook: the instance now, or `None` when it does not exist (any
    /// more). A read, so retried like a page.
    pub async fn show_notebook(&self, id: &str) -> Result<Option<Notebook>, ApiError> {
        check_id(id)?;
        let path = format!(
            "{}/v1/{}/notebooks/{id}",
            self.base_path, self.opts.project_id
        );
        let (bytes, request_id) = match self.read(&path).await {
            Ok(ok) => ok,
            Err(e) if is_gone(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ApiError::Decode {
                detail: format!("the instance is unreadable: {e}"),
                request_id,
            })
    }

    /// ShowLease: the auto-stop of a running instance.
    pub async fn show_lease(&self, id: &str) -> Result<Lease, ApiError> {
        check_id(id)?;
        let path = format!(
            "{}/v1/{}/notebooks/{id}/lease",
            self.base_path, self.opts.project_id
        );
        let (bytes, request_id) = self.read(&path).await?;
        serde_json::from_slice::<LeaseBody>(&bytes)
            .map(|b| b.lease)
            .map_err(|e| ApiError::Decode {
                detail: format!("the lease is unreadable: {e}"),
                request_id,
            })
    }

    /// A GET, retried on what may pass (429, 5xx, timeouts), never on 4xx.
    async fn read(&self, path: &str) -> Result<(Vec<u8>, Option<String>), ApiError> {
        let mut attempt = 0;
        loop {
            match self.exchange(&reqwest::Method::GET, path, &[], b"").await {
                Ok(ok) => return Ok(ok),
                Err(f) if f.error.is_retryable() && attempt < self.opts.retry.max_retries => {
                    attempt += 1;
                    tokio::time::sleep(self.opts.retry.delay(attempt, &f.error)).await;
                }
                Err(f) => return Err(f.error),
            }
        }
    }

    /// One signed request and its answer.
    async fn exchange(
        &self,
        method: &reqwest::Method,
        path: &str,
        pairs: &[(String, String)],
        body: &[u8],
    ) -> Result<(Vec<u8>, Option<String>), Failure> {
        self.limiter.acquire().await;
        let (url, headers) = self
            .signed(method.as_str(), path, pairs, body)
            .map_err(|error| Failure {
                error,
                maybe_sent: false,
            })?;
        self.count_request();
        tracing::debug!(%method, path, "action request");
        let mut req = self.http.request(method.clone(), &url).headers(headers);
        if !body.is_empty() {
            req = req.body(body.to_vec());
        }
        let resp = req.send().await.map_err(|e| Failure {
            // A connect error means nothing was written: safe to send again.
            maybe_sent: !e.is_connect(),
            error: self.transport_error(e),
        })?;
        let (bytes, request_id) = self.receive(resp).await.map_err(|error| Failure {
            error,
            maybe_sent: true,
        })?;
        Ok((bytes.as_ref().to_vec(), request_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_within_the_service_range() {
        assert_eq!(parse_duration("4h"), Ok(4 * HOUR_MS));
        assert_eq!(parse_duration("90m"), Ok(90 * 60_000));
        assert_eq!(parse_duration("1h30m"), Ok(90 * 60_000));
        assert_eq!(parse_duration("2d"), Ok(48 * HOUR_MS));
        // A bare number is seconds, as for every other duration: refused, with the fix.
        let e = parse_duration("8").unwrap_err();
        assert!(e.contains("8s is outside") && e.contains("e.g. 8h"), "{e}");
        assert_eq!(parse_duration("72h"), Ok(MAX_DURATION_MS));
        assert!(
            parse_duration("30m")
                .unwrap_err()
                .contains("between 1h and 72h")
        );
        assert!(parse_duration("73h").is_err());
        assert!(parse_duration("4x").unwrap_err().contains("e.g. 4h, 90m"));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("h").is_err());
        assert_eq!(crate::timefmt::written_ms(90 * 60_000), "1h30m");
        assert_eq!(crate::timefmt::written_ms(24 * HOUR_MS), "24h");
    }

    #[test]
    fn actions_are_offered_only_where_the_service_accepts_them() {
        use Status as S;
        assert!(Verb::Stop.offered_for(&S::Running));
        assert!(!Verb::Stop.offered_for(&S::Stopped));
        assert!(Verb::Start.offered_for(&S::Stopped));
        assert!(!Verb::Start.offered_for(&S::Frozen));
        assert!(Verb::Extend.offered_for(&S::Running));
        assert!(!Verb::Extend.offered_for(&S::Starting));
        assert!(Verb::Delete.offered_for(&S::Stopped));
        assert_eq!(Verb::Stop.skip_reason(&S::Running), None);
        assert_eq!(
            Verb::Stop.skip_reason(&S::Stopped),
            Some("not RUNNING or ERROR")
        );
        assert_eq!(Verb::Extend.skip_reason(&S::Stopped), Some("not RUNNING"));
        assert_eq!(
            Verb::Delete.skip_reason(&S::Running),
            Some("not stopped or failed")
        );
        for verb in Verb::ALL {
            for s in [S::Running, S::Stopped, S::Error, S::Creating, S::Frozen] {
                assert_eq!(verb.offered_for(&s), verb.skip_reason(&s).is_none());
            }
        }
        assert!(!Verb::Delete.offered_for(&S::Running));
        for v in Verb::ALL {
            assert!(!v.offered_for(&S::Unknown("NEW".into())));
            assert!(!v.offered_for(&S::Deleting));
        }
    }

    #[test]
    fn goals_tell_moving_from_reached_and_missed() {
        let stop = Verb::Stop.goal();
        assert_eq!(stop.progress(Some(&Status::Stopping)), Progress::Moving);
        assert_eq!(stop.progress(Some(&Status::Stopped)), Progress::Reached);
        assert_eq!(stop.progress(Some(&Status::Error)), Progress::Missed);
        assert_eq!(stop.progress(None), Progress::Missed);
        let del = Verb::Delete.goal();
        assert_eq!(del.progress(Some(&Status::Deleting)), Progress::Moving);
        assert_eq!(del.progress(Some(&Status::Deleted)), Progress::Reached);
        assert_eq!(del.progress(None), Progress::Reached);
        assert_eq!(del.progress(Some(&Status::DeleteFailed)), Progress::Missed);
    }

    #[test]
    fn an_action_that_may_have_reached_the_service_says_so() {
        use super::super::error::HttpError;
        let cut = ApiError::Cut {
            endpoint: "http://127.0.0.1:1".into(),
            detail: "connection reset by peer".into(),
        };
        let said = describe(Verb::Stop, &cut);
        assert!(said.contains("may have acted: not repeated"), "{said}");
        assert!(!said.contains("check the endpoint"), "{said}");
        let refused = ApiError::Connect {
            endpoint: "http://127.0.0.1:1".into(),
            detail: "connection refused".into(),
        };
        assert!(!may_have_acted(&refused), "nothing was sent");
        assert!(describe(Verb::Stop, &refused).contains("check the endpoint"));
        let coded = ApiError::Http(HttpError {
            status: 500,
            code: Some("ModelArts.6357".into()),
            ..Default::default()
        });
        assert!(!may_have_acted(&coded), "the service said what it did");
        let stopping = Notebook {
            status: Some(Status::Stopping),
            ..Default::default()
        };
        assert_eq!(
            status_now(&Ok(Some(stopping))),
            " · now STOPPING (read just now)"
        );
        assert_eq!(status_now(&Ok(None)), " · now gone (read just now)");
        assert_eq!(
            status_now(&Err(cut)),
            " · its status could not be read: network"
        );
    }

    #[test]
    fn errors_say_code_meaning_request_id_and_the_iam_action() {
        let e = |status, code: &str| {
            ApiError::Http(super::super::error::HttpError {
                status,
                code: Some(code.into()),
                message: Some("whatever the service said".into()),
                request_id: Some("req-9".into()),
                ..Default::default()
            })
        };
        assert_eq!(
            describe(Verb::Start, &e(400, "ModelArts.6326")),
            "6326: the account is in arrears, the instance is frozen · request id req-9"
        );
        let denied = describe(Verb::Extend, &e(403, "ModelArts.0108"));
        assert!(
            denied.contains("modelarts:notebook:updateStopPolicy"),
            "{denied}"
        );
        let server = describe(Verb::Delete, &e(500, "ModelArts.0010"));
        assert!(server.contains("not repeated"), "{server}");
        assert!(is_gone(&e(404, "ModelArts.6309")));
        assert!(is_gone(&e(400, "ModelArts.6309")));
        assert!(
            !is_gone(&e(404, "APIGW.0101")),
            "a wrong endpoint is not a deletion"
        );
    }
}
