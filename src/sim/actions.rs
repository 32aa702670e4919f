//! The simulator's one-instance endpoints: ShowNotebook, start, stop, renew and
//! show the lease, delete. The service's state rules and error codes decide
//! what is allowed; the lifecycle engine carries the change out.
//!
//! | request | answer |
//! |---|---|
//! | `GET /v1/{p}/notebooks/{id}` | the instance |
//! | `POST …/{id}/start?duration=MS&type=TIMING` | the instance, STARTING |
//! | `POST …/{id}/stop` | the instance, STOPPING |
//! | `PATCH …/{id}/lease` `{"duration": MS, "type": "TIMING"}` | the lease (stop = now + MS) |
//! | `GET …/{id}/lease` | the lease (running only) |
//! | `DELETE …/{id}` | the instance, DELETING |
//!
//! Test controls (no auth): `POST /_sim/deny?action=modelarts:notebook:stop`
//! answers 403 to that IAM action from then on (`DELETE /_sim/deny` lifts every
//! denial); `POST /_sim/resources?available=false` makes starts fail with 6360,
//! `available=late` lets them be accepted and end in START_FAILED.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::http::Method;
use serde_json::{Value, json};

use super::engine::Engine;
use super::instance::{Instance, State};
use super::listing::ApiError;
use super::render;
use crate::api::actions::{DEFAULT_DURATION_MS, MAX_DURATION_MS, MIN_DURATION_MS};
use crate::api::sign;

/// What a request asks of one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Show,
    Start,
    Stop,
    Renew,
    ShowLease,
    Delete,
}

impl Op {
    /// The IAM action that allows it.
    pub fn iam_action(self) -> &'static str {
        match self {
            Op::Show | Op::ShowLease => "modelarts:notebook:get",
            Op::Start => "modelarts:notebook:start",
            Op::Stop => "modelarts:notebook:stop",
            Op::Renew => "modelarts:notebook:updateStopPolicy",
            Op::Delete => "modelarts:notebook:delete",
        }
    }
}

/// `(project id, instance id, op)` for a one-instance path and method; `None`
/// when the gateway knows no such API.
pub fn route(method: &Method, path: &str) -> Option<(String, String, Op)> {
    let segs: Vec<&str> = path.split('/').collect();
    let (pid, id, op) = match (method, segs.as_slice()) {
        (&Method::GET, ["", "v1", pid, "notebooks", id]) => (pid, id, Op::Show),
        (&Method::DELETE, ["", "v1", pid, "notebooks", id]) => (pid, id, Op::Delete),
        (&Method::POST, ["", "v1", pid, "notebooks", id, "start"]) => (pid, id, Op::Start),
        (&Method::POST, ["", "v1", pid, "notebooks", id, "stop"]) => (pid, id, Op::Stop),
        (&Method::PATCH, ["", "v1", pid, "notebooks", id, "lease"]) => (pid, id, Op::Renew),
        (&Method::GET, ["", "v1", pid, "notebooks", id, "lease"]) => (pid, id, Op::ShowLease),
        _ => return None,
    };
    if pid.is_empty() || id.is_empty() || *id == "all" {
        return None;
    }
    Some((sign::decode(pid), sign::decode(id), op))
}

/// Denied IAM actions and whether there are resources to start instances.
#[derive(Debug, Default)]
pub struct Policy {
    denied: Mutex<BTreeSet<String>>,
    no_resources: AtomicBool,
    /// Starts are accepted, then fail (START_FAILED).
    late_failures: AtomicBool,
    /// Start, stop, renew and delete requests answered (accepted or refused).
    acted: AtomicU64,
}

impl Policy {
    pub fn deny(&self, iam_action: &str) {
        lock(&self.denied).insert(iam_action.to_string());
    }

    pub fn allow_all(&self) {
        lock(&self.denied).clear();
    }

    pub fn set_resources(&self, available: bool) {
        self.no_resources.store(!available, Ordering::SeqCst);
        self.late_failures.store(false, Ordering::SeqCst);
    }

    /// Starts are accepted, then end in START_FAILED.
    pub fn fail_starts_late(&self) {
        self.no_resources.store(false, Ordering::SeqCst);
        self.late_failures.store(true, Ordering::SeqCst);
    }

    /// Start, stop, renew and delete requests answered so far (accepted or refused).
    pub fn action_requests(&self) -> u64 {
        self.acted.load(Ordering::SeqCst)
    }

    fn denies(&self, iam_action: &str) -> bool {
        lock(&self.denied).contains(iam_action)
    }

    fn json(&self) -> Value {
        json!({
            "denied": lock(&self.denied).iter().collect::<Vec<_>>(),
            "action_requests": self.action_requests(),
            "resources": if self.no_resources.load(Ordering::SeqCst) {
                "none"
            } else if self.late_failures.load(Ordering::SeqCst) {
                "late"
            } else {
                "available"
            },
        })
    }

    /// `/_sim/deny` and `/_sim/resources`; `None` for any other control path.
    pub fn control(
        &self,
        method: &Method,
        path: &str,
        pairs: &[(String, String)],
    ) -> Option<Result<Value, String>> {
        let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v);
        Some(match (method, path) {
            (&Method::GET, "/_sim/deny" | "/_sim/resources") => Ok(self.json()),
            (&Method::POST, "/_sim/deny") => match get("action") {
                Some(a) if a.starts_with("modelarts:") => {
                    self.deny(a);
                    Ok(self.json())
                }
                _ => Err("deny needs ?action=modelarts:notebook:ACTION".to_string()),
            },
            (&Method::DELETE, "/_sim/deny") => {
                self.allow_all();
                Ok(self.json())
            }
            (&Method::POST, "/_sim/resources") => match get("available").map(String::as_str) {
                Some("true" | "1") => {
                    self.set_resources(true);
                    Ok(self.json())
                }
                Some("false" | "0") => {
                    self.set_resources(false);
                    Ok(self.json())
                }
                Some("late") => {
                    self.fail_starts_late();
                    Ok(self.json())
                }
                _ => Err("resources needs ?available=true|false|late".to_string()),
            },
            _ => return None,
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn wrong_state(code: &'static str, msg: String) -> ApiError {
    ApiError::new(400, code, msg)
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        404,
        "ModelArts.6309",
        format!("The notebook instance {id} does not exist."),
    )
}

/// Whether the service lets `op` act on an instance in `state`; the error it
/// answers otherwise.
pub fn allowed(op: Op, inst: &Instance) -> Result<(), ApiError> {
    use State as S;
    let (name, state) = (&inst.name, inst.state);
    let busy = || {
        wrong_state(
            "ModelArts.6357",
            format!(
                "Another operation is in progress on notebook {name} ({}). Try again later.",
                state.as_str()
            ),
        )
    };
    let frozen = || {
        wrong_state(
            "ModelArts.6326",
            format!("Notebook {name} is frozen because the account is in arrears."),
        )
    };
    let code =
        |code: &'static str, what: &str| wrong_state(code, format!("Notebook {name} {what}."));
    match (op, state) {
        (_, S::Deleted) if op != Op::Show => Err(not_found(&inst.id)),
        (Op::Show, _) => Ok(()),
        (_, S::Frozen) => Err(frozen()),
        (Op::Start, S::Stopped | S::StartFailed) => Ok(()),
        (Op::Start, S::Running) => Err(code("ModelArts.6305", "is already running")),
        (Op::Start, S::Starting) => Err(code("ModelArts.6306", "is starting")),
        (Op::Start, S::Stopping) => Err(code("ModelArts.6308", "is stopping")),
        (Op::Start, _) => Err(busy()),
        (Op::Stop, S::Running | S::Error) => Ok(()),
        (Op::Stop, S::Stopped) => Err(code("ModelArts.6307", "is already stopped")),
        (Op::Stop, S::Stopping) => Err(code("ModelArts.6308", "is stopping")),
        (Op::Stop, S::Starting) => Err(code("ModelArts.6306", "is starting")),
        (Op::Stop, S::Init | S::Creating | S::Snapshotting | S::Deleting) => Err(busy()),
        (Op::Stop, _) => Err(code("ModelArts.6327", "is not running")),
        (Op::Renew | Op::ShowLease, S::Running) => Ok(()),
        (Op::Renew | Op::ShowLease, _) => Err(code("ModelArts.6327", "is not running")),
        (
            Op::Delete,
            S::Stopped | S::CreateFailed | S::StartFailed | S::DeleteFailed | S::Error,
        ) => Ok(()),
        (Op::Delete, S::Running | S::Starting | S::Snapshotting) => Err(code(
            "ModelArts.6304",
            "must be stopped before it is deleted",
        )),
        (Op::Delete, S::Stopping) => Err(code("ModelArts.6308", "is stopping")),
        (Op::Delete, _) => Err(busy()),
    }
}

/// `duration` in range, or 6348 (missing) / 6349 (out of range or not a number).
fn duration(raw: Option<&Value>, default: Option<i64>) -> Result<i64, ApiError> {
    let ms = match raw {
        None | Some(Value::Null) => {
            return default.ok_or_else(|| {
                ApiError::new(400, "ModelArts.6348", "The parameter duration is missing.")
            });
        }
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    match ms {
        Some(ms) if (MIN_DURATION_MS..=MAX_DURATION_MS).contains(&ms) => Ok(ms),
        _ => Err(ApiError::new(
            400,
            "ModelArts.6349",
            format!(
                "The duration must be between {MIN_DURATION_MS} and {MAX_DURATION_MS} milliseconds."
            ),
        )),
    }
}

/// `type`: TIMING (the default) or IDLE, any case. Returns whether it is IDLE.
fn lease_type(raw: Option<&Value>) -> Result<bool, ApiError> {
    match raw.and_then(Value::as_str) {
        None => Ok(false),
        Some(t) if t.eq_ignore_ascii_case("TIMING") => Ok(false),
        Some(t) if t.eq_ignore_ascii_case("IDLE") => Ok(true),
        Some(t) => Err(ApiError::new(
            400,
            "ModelArts.0101",
            format!("Invalid parameter type: {t} (TIMING or IDLE)."),
        )),
    }
}

/// Carries out `op` on instance `id` at the engine's now; the JSON answer.
pub fn answer(
    engine: &mut Engine,
    policy: &Policy,
    op: Op,
    id: &str,
    pairs: &[(String, String)],
    body: &[u8],
) -> Result<Value, ApiError> {
    if !matches!(op, Op::Show | Op::ShowLease) {
        policy.acted.fetch_add(1, Ordering::SeqCst);
    }
    if policy.denies(op.iam_action()) {
        return Err(ApiError::new(
            403,
            "ModelArts.0108",
            format!(
                "Permission denied. The policy does not allow {} to be performed.",
                op.iam_action()
            ),
        ));
    }
    let now = engine.now();
    let inst = engine.find(id).ok_or_else(|| not_found(id))?;
    allowed(op, inst)?;
    let serial = inst.serial;
    let query = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| Value::String(v.clone()))
    };
    match op {
        Op::Show | Op::ShowLease => {}
        Op::Start => {
            let ms = duration(query("duration").as_ref(), Some(DEFAULT_DURATION_MS))?;
            let idle = lease_type(query("type").as_ref())?;
            if policy.no_resources.load(Ordering::SeqCst) {
                return Err(ApiError::new(
                    400,
                    "ModelArts.6360",
                    "Insufficient resources for the flavor. Try again later or choose another flavor.",
                ));
            }
            let fails = policy.late_failures.load(Ordering::SeqCst);
            engine.user_start(serial, now, ms, idle, fails);
        }
        Op::Stop => engine.user_stop(serial, now),
        Op::Delete => engine.user_delete(serial, now),
        Op::Renew => {
            let parsed: Value = if body.iter().all(u8::is_ascii_whitespace) {
                json!({})
            } else {
                serde_json::from_slice(body).map_err(|_| {
                    ApiError::new(400, "ModelArts.0101", "The request body is not valid JSON.")
                })?
            };
            // A `duration` in the query overrides the body's.
            let raw = query("duration").or_else(|| parsed.get("duration").cloned());
            let ms = duration(raw.as_ref(), None)?;
            let idle = lease_type(parsed.get("type"))?;
            engine.user_renew(serial, now, ms, idle);
        }
    }
    let inst = engine.find(id).ok_or_else(|| not_found(id))?;
    Ok(match op {
        Op::Renew | Op::ShowLease => render::lease(inst),
        _ => render::notebook_value(inst, now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::actions::Verb;
    use crate::api::model::Status;

    const T0: i64 = 1_795_854_600_000;

    #[test]
    fn the_simulator_allows_exactly_what_the_client_offers() {
        let mut e = Engine::new(9, 60, T0, false);
        let inst = e.instances().next().unwrap().clone();
        for state in State::ALL {
            let mut i = inst.clone();
            i.state = state;
            let status = Status::parse(state.as_str());
            for (verb, op) in [
                (Verb::Start, Op::Start),
                (Verb::Stop, Op::Stop),
                (Verb::Extend, Op::Renew),
                (Verb::Delete, Op::Delete),
            ] {
                assert_eq!(
                    allowed(op, &i).is_ok(),
                    verb.offered_for(&status),
                    "{verb} on {state:?}"
                );
            }
        }
        e.advance_to(T0 + 1);
    }

    #[test]
    fn routes_follow_method_and_path() {
        let r = |m: Method, p: &str| route(&m, p).map(|(_, id, op)| (id, op));
        assert_eq!(
            r(Method::POST, "/v1/p/notebooks/abc/start"),
            Some(("abc".into(), Op::Start))
        );
        assert_eq!(
            r(Method::PATCH, "/v1/p/notebooks/abc/lease"),
            Some(("abc".into(), Op::Renew))
        );
        assert_eq!(
            r(Method::DELETE, "/v1/p/notebooks/abc"),
            Some(("abc".into(), Op::Delete))
        );
        assert_eq!(r(Method::GET, "/v1/p/notebooks/abc/start"), None);
        assert_eq!(r(Method::PUT, "/v1/p/notebooks/abc/lease"), None);
        assert_eq!(r(Method::DELETE, "/v1/p/notebooks/all"), None);
    }

    #[test]
    fn durations_are_checked_like_the_service() {
        assert_eq!(duration(None, None).unwrap_err().code, "ModelArts.6348");
        assert_eq!(duration(None, Some(7)).unwrap(), 7);
        assert_eq!(
            duration(Some(&json!(60_000)), None).unwrap_err().code,
            "ModelArts.6349"
        );
        assert_eq!(
            duration(Some(&json!("x")), None).unwrap_err().code,
            "ModelArts.6349"
        );
        assert_eq!(duration(Some(&json!("7200000")), None).unwrap(), 7_200_000);
    }
}
