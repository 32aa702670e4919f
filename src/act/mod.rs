//! Carrying out an action away from the render loop, following the instance
//! until the service confirms the new status, and the audit trail. The
//! dashboard runs [`spawn`] (a task that reports [`ActionEvent`]s back to the
//! event loop) and, for the marked instances, [`spawn_many`];
//! `nbwatch start|stop|extend|delete` runs `crate::cmd::act::run`.
//!
//! ```text
//!  key ─► App ─Effect::Act─► spawn ─► Client::act ─► audit line
//!                                        │
//!                               follow: ShowNotebook every fast interval
//!                                        │
//!  App ◄──────── ActionEvent (Answered, Seen…, Settled) ◄──┘
//! ```

pub mod select;

use crate::track::InstanceKey;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use crate::api::actions::{self, Acted, Answer, Goal, Progress, Verb};
use crate::api::model::{Notebook, Status};
use crate::api::{ApiError, Client};
use crate::app::{ActionEvent, ActionRequest};

/// The audit log's target: every action attempted, one line each.
pub const AUDIT: &str = "nbwatch::audit";

/// How closely and how long an instance is followed after an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Follow {
    /// Between two ShowNotebook requests.
    pub every: Duration,
    /// Give up after this long (the status is then still moving).
    pub limit: Duration,
}

impl Follow {
    pub fn every(every: Duration) -> Follow {
        Follow {
            every,
            limit: Duration::from_secs(15 * 60),
        }
    }
}

/// Sends the action once and writes the audit line.
pub async fn perform(
    client: &Client,
    verb: Verb,
    id: &str,
    duration_ms: Option<i64>,
) -> Result<Acted, ApiError> {
    let result = client.act(verb, id, duration_ms).await;
    match &result {
        Ok(a) => {
            let status = match &a.answer {
                Answer::Instance(nb) => nb.status_or_unknown().to_string(),
                Answer::Lease(l) => match l.end_ms() {
                    Some(end) => format!("stops at {}", crate::timefmt::iso_utc(end)),
                    None => "auto-stop off".into(),
                },
            };
            tracing::info!(
                target: AUDIT,
                instance = id,
                action = verb.name(),
                duration_ms,
                outcome = "accepted",
                status = %status,
                request_id = a.request_id.as_deref().unwrap_or("-"),
                "action"
            );
        }
        Err(e) => tracing::warn!(
            target: AUDIT,
            instance = id,
            action = verb.name(),
            duration_ms,
            outcome = "failed",
            error = %e.short(),
            reason = %actions::describe(verb, e),
            request_id = e.request_id().unwrap_or("-"),
            "action"
        ),
    }
    result
}

/// Why `verb` on `id` failed, in one line. When the request may have reached
/// the service (see [`actions::may_have_acted`]) the instance is read once now
/// and its status said, so the user sees what happened instead of repeating the
/// action; the action itself is never sent again. Also the instance as read
/// (`Some(None)`: gone), for the dashboard's row.
pub async fn failure(
    client: &Client,
    verb: Verb,
    id: &str,
    e: &ApiError,
) -> (String, Option<Option<Notebook>>) {
    let mut why = actions::describe(verb, e);
    if !actions::may_have_acted(e) {
        return (why, None);
    }
    let read = client.show_notebook(id).await;
    let now = actions::status_now(&read);
    why.push_str(&now);
    tracing::info!(
        target: AUDIT,
        instance = id,
        action = verb.name(),
        outcome = "may have acted",
        status = now.trim_start_matches(" · "),
        "action status read after the failure"
    );
    (why, read.ok())
}

/// Writes the audit line of an action that was not sent (read-only, cancelled).
pub fn audit_not_sent(verb: Verb, id: &str, why: &str) {
    tracing::info!(
        target: AUDIT,
        instance = id,
        action = verb.name(),
        outcome = why,
        request_id = "-",
        "action not sent"
    );
}

/// Writes the audit line of an action followed to its end.
pub fn audit_settled(
    verb: Verb,
    id: &str,
    progress: Progress,
    status: &str,
    request_id: Option<&str>,
) {
    let outcome = match progress {
        Progress::Reached => "settled: reached",
        Progress::Missed => "settled: missed",
        Progress::Moving => "settled: still moving",
    };
    tracing::info!(
        target: AUDIT,
        instance = id,
        action = verb.name(),
        outcome,
        status,
        request_id = request_id.unwrap_or("-"),
        "action settled"
    );
}

/// Follows instance `id` with ShowNotebook until it leaves the transitional
/// statuses (or is gone), calling `seen` on each new status. Returns where it
/// ended: reached the goal, missed it, or still moving at the time limit.
pub async fn follow(
    client: &Client,
    id: &str,
    goal: &Goal,
    how: Follow,
    seen: impl FnMut(Option<&Notebook>),
) -> Result<(Progress, Option<Status>), ApiError> {
    follow_gated(client, None, id, goal, how, seen).await
}

/// [`follow`], each request holding one of `gate`'s permits while in flight
/// (the command line follows many instances at once, with bounded concurrency).
pub async fn follow_gated(
    client: &Client,
    gate: Option<&Semaphore>,
    id: &str,
    goal: &Goal,
    how: Follow,
    mut seen: impl FnMut(Option<&Notebook>),
) -> Result<(Progress, Option<Status>), ApiError> {
    let deadline = Instant::now() + how.limit;
    let mut last: Option<Option<Status>> = None;
    loop {
        let shown = {
            let _permit = match gate {
                Some(g) => g.acquire().await.ok(),
                None => None,
            };
            client.show_notebook(id).await
        };
        let nb = match shown {
            Ok(nb) => nb,
            // A slow or failing read is no reason to stop watching; a refusal is.
            Err(e) if e.is_retryable() && Instant::now() < deadline => {
                tracing::info!(instance = id, error = %e.short(), "following: read failed, trying again");
                tokio::time::sleep(how.every).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let status = nb.as_ref().map(Notebook::status_or_unknown);
        if last.as_ref() != Some(&status) {
            seen(nb.as_ref());
            last = Some(status.clone());
        }
        let progress = goal.progress(status.as_ref());
        if progress != Progress::Moving || Instant::now() >= deadline {
            return Ok((progress, status));
        }
        tokio::time::sleep(how.every).await;
    }
}

/// How a status reads in outcomes: `gone` once the instance is no longer there.
pub fn status_label(status: Option<&Status>) -> String {
    status.map_or_else(|| "gone".to_string(), |s| s.to_string())
}

/// [`perform`] for the dashboard: a failure comes back described, and when the
/// service may have acted, with the instance read now (its row takes it).
async fn perform_for_dashboard(
    client: &Client,
    verb: Verb,
    id: &str,
    duration_ms: Option<i64>,
    key: &InstanceKey,
    tx: &UnboundedSender<ActionEvent>,
) -> Result<Acted, String> {
    match perform(client, verb, id, duration_ms).await {
        Ok(acted) => Ok(acted),
        Err(e) => {
            let (why, read) = failure(client, verb, id, &e).await;
            if let Some(nb) = read {
                let _ = tx.send(ActionEvent::Seen {
                    key: key.clone(),
                    notebook: nb.map(Box::new),
                });
            }
            Err(why)
        }
    }
}

/// The dashboard's action task: sends the request, reports the answer, then
/// follows the instance until the service confirms, reporting what it sees.
pub fn spawn(client: Client, req: ActionRequest, how: Follow, tx: UnboundedSender<ActionEvent>) {
    tokio::spawn(async move {
        let ActionRequest {
            key,
            id,
            verb,
            duration_ms,
            ..
        } = req;
        let result = perform_for_dashboard(&client, verb, &id, duration_ms, &key, &tx).await;
        let accepted = result.is_ok();
        let rid = result.as_ref().ok().and_then(|a| a.request_id.clone());
        let _ = tx.send(ActionEvent::Answered {
            key: key.clone(),
            verb,
            result,
        });
        if !accepted {
            return;
        }
        let seen = |nb: Option<&Notebook>| {
            let _ = tx.send(ActionEvent::Seen {
                key: key.clone(),
                notebook: nb.map(|n| Box::new(n.clone())),
            });
        };
        let ev = match follow(&client, &id, &verb.goal(), how, seen).await {
            Ok((progress, status)) => {
                let status = status_label(status.as_ref());
                audit_settled(verb, &id, progress, &status, rid.as_deref());
                ActionEvent::Settled {
                    key,
                    verb,
                    progress,
                    status,
                }
            }
            Err(e) => ActionEvent::LostTrack {
                key,
                verb,
                message: e.to_string(),
            },
        };
        let _ = tx.send(ev);
    });
}

/// The dashboard's bulk action: sends each request once, at most the client's
/// concurrency at a time per source, each after a slot under that source's
/// request budget (the limiter the poller shares, so polling and acting
/// together stay inside it), and reports each answer. Not followed: the
/// pollers refresh once every answer is in (see the dashboard).
pub fn spawn_many(
    clients: Vec<Client>,
    reqs: Vec<ActionRequest>,
    tx: UnboundedSender<ActionEvent>,
) {
    let slots: Vec<std::sync::Arc<tokio::sync::Semaphore>> = clients
        .iter()
        .map(|c| std::sync::Arc::new(tokio::sync::Semaphore::new(c.concurrency())))
        .collect();
    for req in reqs {
        let tx = tx.clone();
        let source = req.key.source.index();
        let (Some(client), Some(slot)) = (clients.get(source).cloned(), slots.get(source).cloned())
        else {
            // Cannot happen: every instance comes from a source with a client.
            audit_not_sent(req.verb, &req.id, "its source is unknown");
            let _ = tx.send(ActionEvent::Answered {
                key: req.key,
                verb: req.verb,
                result: Err("not sent: its source is unknown".into()),
            });
            continue;
        };
        tokio::spawn(async move {
            // The semaphore is never closed; were it, nothing would have been sent.
            let result = match slot.acquire_owned().await {
                Ok(_permit) => {
                    let (verb, id, ms) = (req.verb, &req.id, req.duration_ms);
                    perform_for_dashboard(&client, verb, id, ms, &req.key, &tx).await
                }
                Err(_) => Err("not sent: the dashboard is closing".to_string()),
            };
            let _ = tx.send(ActionEvent::Answered {
                key: req.key,
                verb: req.verb,
                result,
            });
        });
    }
}
