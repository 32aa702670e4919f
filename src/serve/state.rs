//! What the exporter knows between scrapes: the instances as the dashboard tracks
//! them (the same [`Tracker`], so "status since" means the same thing in both;
//! no view: no filter, selection or keys), and the poller's health. Plain data,
//! no I/O; time comes in as `now_ms`.
//!
//! A scrape reads this under a read lock; the poller's messages update it under a
//! write lock, at most once per poll.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::histogram::Histogram;

use crate::app;
use crate::track::{Changes, InstanceKey, SourceId, Tracker};
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

/// What may have changed in the exporter's state since the metrics last
/// looked: the narrow interface between the state and the rendered chunks.
#[derive(Debug, Default)]
pub struct Touched {
    /// Instances that may have been added, changed or removed.
    pub keys: Vec<InstanceKey>,
    /// A sweep ended: an instance held here that the state lacks is gone.
    pub sweep_ended: bool,
    /// Anything may have changed (the list of keys grew past its cap): check all.
    pub all: bool,
}

impl Touched {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && !self.sweep_ended && !self.all
    }
}

pub struct Exporter {
    /// What is known; the exporter watches one source. It keeps no whole
    /// record: the metrics need only the rows' fields, so the rest of each
    /// instance (endpoints, volumes, the notebook token…) is dropped as soon
    /// as it arrives, and no secret is ever kept.
    track: Tracker,
    stuck_after: Duration,
    requests: Meter,
    poll_durations: Histogram,
    poll_errors: [u64; Reason::ALL.len()],
    /// When the poll in flight started (for the duration of a failed poll).
    poll_started_ms: Option<i64>,
    /// The last error, as one line without the endpoint (no secrets: `ApiError`
    /// never carries them).
    last_error: Option<String>,
    /// Counts the changes served: the instance metrics change only with it.
    generation: u64,
    /// Some instance is in a transitional status (as of the last change).
    transitional: bool,
    /// What may have changed since the metrics last looked.
    touched: Touched,
}

impl Exporter {
    pub fn new(timing: app::Timing, requests: Meter) -> Exporter {
        Exporter {
            track: Tracker::new(timing.interval, 0),
            stuck_after: timing.stuck_after,
            requests,
            poll_durations: Histogram::new(POLL_DURATION_BUCKETS),
            poll_errors: [0; Reason::ALL.len()],
            poll_started_ms: None,
            last_error: None,
            generation: 0,
            transitional: false,
            touched: Touched::default(),
        }
    }

    /// Takes in one message of the poller, received at `now_ms`, and returns
    /// what it changed. The tracker applies it; the exporter only times polls
    /// and counts their failures. A sweep's pages update the state as they
    /// come, but scrapes keep serving what the last finished sweep rendered
    /// (see `generation`); what the hot tier learnt is served at once: it is the news.
    pub fn apply(&mut self, msg: Message, now_ms: i64) -> Changes {
        let hot = matches!(msg, Message::Hot { .. });
        match &msg {
            Message::Started => self.poll_started_ms = Some(now_ms),
            Message::Snapshot { took, .. } => {
                self.poll_durations.observe(took.as_secs_f64());
                self.poll_started_ms = None;
                self.last_error = None;
            }
            Message::Failed { error, .. } => {
                if let Some(started) = self.poll_started_ms.take() {
                    let ms = now_ms.saturating_sub(started).max(0);
                    self.poll_durations.observe(ms as f64 / 1000.0);
                }
                self.poll_errors[error.class().kind.index()] += 1;
                // /healthz shows it to anyone who reaches the port: never the endpoint.
                // With the class the status bar and the metric's `reason` use.
                self.last_error = Some(format!(
                    "{} [reason {}]",
                    error.without_endpoint().replace(['\r', '\n'], " "),
                    error.class().kind.label()
                ));
            }
            Message::Page { .. } | Message::Hot { .. } => {}
        }
        if matches!(msg, Message::Snapshot { .. }) {
            self.touched.sweep_ended = true;
        }
        let changes = self.track.apply(SourceId(0), msg, now_ms);
        // Every instance whose record the tracker took in may have changed in
        // what the metrics show (a superset of `changed`, which names only
        // what the table shows); one whose page repeated its record did not.
        self.touch(changes.records.iter().chain(&changes.gone));
        if changes.rows() {
            self.transitional = self
                .track
                .instances()
                .iter()
                .any(|t| t.status.is_transitional());
        }
        if changes.sweep_ended || (hot && changes.rows()) {
            self.generation += 1;
        }
        changes
    }

    /// Notes that these instances may have changed (see [`Touched`]).
    fn touch<'a>(&mut self, keys: impl Iterator<Item = &'a InstanceKey>) {
        self.touched.keys.extend(keys.cloned());
        // Nobody took them for long (no scrape, no sweep end): looking at every
        // instance once costs less than a list that grows.
        let cap = self.track.instances().len().max(1024).saturating_mul(2);
        if self.touched.keys.len() > cap {
            self.touched.keys = Vec::new();
            self.touched.all = true;
        }
    }

    /// What may have changed since the last call, for the metrics to render.
    pub fn take_touched(&mut self) -> Touched {
        std::mem::take(&mut self.touched)
    }

    /// The instance tracked under `key`.
    pub fn get(&self, key: &InstanceKey) -> Option<&app::Tracked> {
        self.track.get(key)
    }

    /// The tracked instances, in the order of the last snapshot. After a failed
    /// poll they are still the last good ones.
    pub fn instances(&self) -> &[app::Tracked] {
        self.track.instances()
    }

    /// Whole records held: none (the metrics need only the rows' fields).
    pub fn records(&self) -> &app::Records {
        self.track.records()
    }

    /// Changes exactly when the instances (and so their metrics) may have changed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether the last poll that finished succeeded (false before the first).
    pub fn last_poll_ok(&self) -> bool {
        self.track.has_data() && self.track.poll().last_error.is_none()
    }

    /// When the last successful poll was applied (epoch ms).
    pub fn last_ok_ms(&self) -> Option<i64> {
        self.track.poll().last_ok_ms
    }

    /// Polling stopped after a 401/403 until it is asked again (SIGHUP).
    pub fn auth_stopped(&self) -> bool {
        self.track.poll().auth_stopped
    }

    /// Whether any instance is in a transitional status: poll at the fast interval.
    pub fn any_transitional(&self) -> bool {
        self.transitional
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
        let n = self.track.instances().len();
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
