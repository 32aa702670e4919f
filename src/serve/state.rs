//! What the exporter knows between scrapes: the instances as the dashboard tracks
//! them (the same [`App`], so "status since" means the same thing in both), and
//! the poller's health. Plain data, no I/O; time comes in as `now_ms`.
//!
//! A scrape reads this under a read lock; the poller's messages update it under a
//! write lock, at most once per poll.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::histogram::Histogram;

use super::chunks::Touched;
use crate::api::model::{Image, Notebook, Pool, User};
use crate::app::{self, App};
use crate::watch::Message;

/// Requests sent so far by the client (retries included), read at scrape time.
pub type Meter = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Upper bounds of the poll-duration histogram, in seconds: a 60-instance poll
/// takes well under a second; a 10,000-instance refresh paced by the request
/// budget takes minutes.
pub const POLL_DURATION_BUCKETS: [f64; 12] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// Why a poll failed, as the `reason` label of `nbwatch_poll_errors_total`:
/// the one classification, [`crate::api::ErrorKind`].
pub use crate::api::ErrorKind as Reason;

/// What `/healthz` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub ok: bool,
    /// One line for a human: what is wrong and what to do.
    pub text: String,
}

pub struct Exporter {
    app: App,
    stuck_after: Duration,
    requests: Meter,
    poll_durations: Histogram,
    poll_errors: [u64; Reason::ALL.len()],
    /// When the poll in flight started (for the duration of a failed poll).
    poll_started_ms: Option<i64>,
    /// The last error, as one line without the endpoint (no secrets: `ApiError`
    /// never carries them).
    last_error: Option<String>,
    /// Counts the snapshots applied: the instance metrics change only with it.
    generation: u64,
    /// What may have changed since the metrics last looked.
    touched: Touched,
}

impl Exporter {
    pub fn new(timing: app::Timing, requests: Meter) -> Exporter {
        // The exporter has no detail pane: it keeps no whole record at all.
        let mut app = App::new(timing);
        app.set_record_cap(0);
        Exporter {
            app,
            stuck_after: timing.stuck_after,
            requests,
            poll_durations: Histogram::new(POLL_DURATION_BUCKETS),
            poll_errors: [0; Reason::ALL.len()],
            poll_started_ms: None,
            last_error: None,
            generation: 0,
            touched: Touched::default(),
        }
    }

    /// Takes in one message of the poller, received at `now_ms`.
    pub fn apply(&mut self, msg: Message, now_ms: i64) {
        match msg {
            Message::Started => {
                self.poll_started_ms = Some(now_ms);
                self.app.poll_started(now_ms);
            }
            // The sweep's pages update the state as they come; scrapes keep
            // serving what the last finished sweep rendered (see `generation`).
            Message::Page {
                notebooks,
                loaded,
                total,
                read_at_ms,
            } => {
                self.touch(&notebooks);
                let lean = notebooks.into_iter().map(lean).collect();
                self.app
                    .apply_page(lean, app::SweepProgress { loaded, total }, read_at_ms);
            }
            // What the hot tier learnt is served at once: it is the news.
            Message::Hot {
                seen,
                gone,
                error,
                stats,
            } => {
                self.app.record_requests(stats.requests_last_minute, now_ms);
                for (_, batch) in &seen {
                    self.touch(batch);
                }
                self.touched
                    .keys
                    .extend(gone.iter().map(|(id, _)| app::feeds::key_of(0, id)));
                let seen = seen
                    .into_iter()
                    .map(|(at, batch)| (at, batch.into_iter().map(lean).collect()))
                    .collect();
                let error = error.map(|e| app::PollErrorInfo::from_api(&e, 1).short_code());
                if self.app.apply_hot(seen, gone, error, now_ms) {
                    self.generation += 1;
                }
            }
            Message::Snapshot {
                listing,
                took,
                stats,
            } => {
                self.poll_durations.observe(took.as_secs_f64());
                self.poll_started_ms = None;
                self.last_error = None;
                self.app.record_requests(stats.requests_last_minute, now_ms);
                self.touched.sweep_ended = true;
                if !listing.notebooks.is_empty() {
                    self.touch(&listing.notebooks);
                    let n = listing.notebooks.len() as u64;
                    let lean = listing.notebooks.into_iter().map(lean).collect();
                    self.app.apply_page(
                        lean,
                        app::SweepProgress {
                            loaded: n,
                            total: Some(n),
                        },
                        now_ms,
                    );
                }
                self.app.finish_sweep(listing.complete, now_ms);
                self.generation += 1;
            }
            Message::Failed {
                error,
                consecutive,
                next_in,
                stats,
            } => {
                if let Some(started) = self.poll_started_ms.take() {
                    let ms = now_ms.saturating_sub(started).max(0);
                    self.poll_durations.observe(ms as f64 / 1000.0);
                }
                self.poll_errors[error.class().kind.index()] += 1;
                // /healthz shows it to anyone who reaches the port: never the endpoint.
                self.last_error = Some(error.without_endpoint().replace(['\r', '\n'], " "));
                self.app.record_requests(stats.requests_last_minute, now_ms);
                let mut info = app::PollErrorInfo::from_api(&error, consecutive);
                info.next_retry_at_ms = next_in.map(|d| {
                    now_ms.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                });
                self.app.apply_error(info, now_ms);
            }
        }
    }

    /// Notes that these instances may have changed (see [`Touched`]).
    fn touch(&mut self, notebooks: &[Notebook]) {
        for nb in notebooks {
            match nb.id.as_deref().filter(|id| !id.is_empty()) {
                // The exporter watches one source: its keys are the ids.
                Some(id) => self.touched.keys.push(app::feeds::key_of(0, id)),
                // Its key is made up by the state: look at every instance.
                None => self.touched.all = true,
            }
        }
        // Nobody took them for long (no scrape, no sweep end): looking at every
        // instance once costs less than a list that grows.
        if self.touched.keys.len() > self.app.total().max(1024).saturating_mul(2) {
            self.touched.keys = Vec::new();
            self.touched.all = true;
        }
    }

    /// What may have changed since the last call, for the metrics to render.
    pub fn take_touched(&mut self) -> Touched {
        std::mem::take(&mut self.touched)
    }

    /// The instance tracked under `key`.
    pub fn get(&self, key: &str) -> Option<&app::Tracked> {
        self.app.get(key)
    }

    /// The tracked instances, in the order of the last snapshot. After a failed
    /// poll they are still the last good ones.
    pub fn instances(&self) -> &[app::Tracked] {
        self.app.instances()
    }

    /// Whole records held: none (the metrics need only the rows' fields).
    pub fn records(&self) -> &app::Records {
        self.app.records()
    }

    /// Changes exactly when the instances (and so their metrics) may have changed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether the last poll that finished succeeded (false before the first).
    pub fn last_poll_ok(&self) -> bool {
        self.app.has_data() && self.app.poll().last_error.is_none()
    }

    /// When the last successful poll was applied (epoch ms).
    pub fn last_ok_ms(&self) -> Option<i64> {
        self.app.poll().last_ok_ms
    }

    /// Polling stopped after a 401/403 until it is asked again (SIGHUP).
    pub fn auth_stopped(&self) -> bool {
        self.app.poll().auth_stopped
    }

    /// Whether any instance is in a transitional status: poll at the fast interval.
    pub fn any_transitional(&self) -> bool {
        self.app.any_visible_transitional()
    }

    pub fn stuck_after(&self) -> Duration {
        self.stuck_after
    }

    pub fn requests_sent(&self) -> u64 {
        (self.requests)()
    }

    pub fn poll_durations(&self) -> &Histogram {
        &self.poll_durations
    }

    /// Failed polls so far, per reason, in [`Reason::ALL`] order.
    pub fn poll_errors(&self) -> impl Iterator<Item = (Reason, u64)> + '_ {
        Reason::ALL
            .iter()
            .map(|r| (*r, self.poll_errors[r.index()]))
    }

    /// Healthy while the last poll succeeded or the data is younger than `max_age`.
    pub fn health(&self, now_ms: i64, max_age: Duration) -> Health {
        let max_age_ms = i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX);
        let n = self.app.total();
        let age_ms = self.last_ok_ms().map(|t| now_ms.saturating_sub(t).max(0));
        let age = |ms: i64| crate::timefmt::human_duration_ms(ms);
        let error = self.last_error.as_deref().unwrap_or("");
        let what_to_do = if self.auth_stopped() {
            "; polling stopped so the AK is not locked: fix the credentials, then send SIGHUP \
             (systemctl reload) or restart"
        } else {
            "; polling retries by itself"
        };
        match age_ms {
            Some(a) if self.last_poll_ok() => Health {
                ok: true,
                text: format!("ok: last poll succeeded {} ago, {n} instances", age(a)),
            },
            Some(a) if a <= max_age_ms => Health {
                ok: true,
                text: format!(
                    "ok: data {} old (limit {}), {n} instances; last poll failed: {error}",
                    age(a),
                    age(max_age_ms)
                ),
            },
            Some(a) => Health {
                ok: false,
                text: format!(
                    "stale: last successful poll {} ago (limit {}); last poll failed: {error}{what_to_do}",
                    age(a),
                    age(max_age_ms)
                ),
            },
            None if self.last_error.is_some() => Health {
                ok: false,
                text: format!(
                    "no data: no poll has succeeded yet; last poll failed: {error}{what_to_do}"
                ),
            },
            None => Health {
                ok: false,
                text: "starting: the first poll has not finished yet".to_string(),
            },
        }
    }
}

/// Only what the metrics show: the rest of the instance (endpoints, volumes,
/// progress, the notebook token…) is dropped as soon as it arrives, so memory
/// stays small and no secret is ever kept.
fn lean(nb: Notebook) -> Notebook {
    Notebook {
        id: nb.id,
        name: nb.name,
        status: nb.status,
        feature: nb.feature,
        flavor: nb.flavor,
        workspace_id: nb.workspace_id,
        user_id: nb.user_id,
        create_at: nb.create_at,
        update_at: nb.update_at,
        image: nb.image.map(|i| Image {
            name: i.name,
            tag: i.tag,
            swr_path: i.swr_path,
            ..Image::default()
        }),
        lease: nb.lease,
        pool: nb.pool.map(|p| Pool {
            id: p.id,
            name: p.name,
            ..Pool::default()
        }),
        user: nb.user.map(|u| User {
            id: u.id,
            name: u.name,
            ..User::default()
        }),
        ..Notebook::default()
    }
}
