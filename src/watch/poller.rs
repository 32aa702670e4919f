//! The poller's loop: one sweep and one hot tick at most in flight, each
//! started when the plan ([`super::plan`]) says, each accounted for when it
//! ends; commands from the app move the plan.
//!
//! ```text
//!   select ┬ hot tick ended ─► hot_finished ─► Message::Hot
//!          ├ hot tick due   ─► hot_started  ─► source.hot_tick(memory, due)
//!          ├ sweep ended    ─► finished     ─► Message::Snapshot / Failed
//!          ├ command        ─► command (refresh, pause, interval, hot)
//!          └ sweep due      ─► may_start    ─► source.fetch(pages, pace)
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::plan::{Budget, HotTier, Plan, State};
use super::{
    Control, HotFuture, MAX_INTERVAL, MIN_INTERVAL, Message, PageSender, PollerConfig, Source,
    TickReport, hot,
};
use crate::api::{ApiError, Listing};

type PollFuture<'a> = Pin<Box<dyn Future<Output = Result<Listing, ApiError>> + Send + 'a>>;

/// The poll in flight: its future, when it started, the request count before it.
type Inflight<'a> = (PollFuture<'a>, Instant, u64);

pub(super) async fn run(
    source: Arc<dyn Source>,
    cfg: PollerConfig,
    mut commands: mpsc::UnboundedReceiver<Control>,
    messages: PageSender,
) {
    let start = Instant::now();
    let tier = source
        .hot_memory()
        .map(|memory| HotTier::new(memory, start));
    let mut st = State {
        cfg,
        paused: false,
        hot: false,
        tier,
        sweep_cost: None,
        auth_stopped: false,
        consecutive_failures: 0,
        last_cost: 1,
        budget: Budget::default(),
        last_started: None,
        planned: Plan {
            started: start,
            due: start,
            budget_limited: false,
        },
        due: start,
        forced: false,
    };
    let mut inflight: Option<Inflight<'_>> = None;
    let mut hot_inflight: Option<(HotFuture<'_>, hot::Due)> = None;
    loop {
        let can_start = inflight.is_none() && !st.paused && !st.auth_stopped;
        let hot_can = hot_inflight.is_none() && st.tier_active();
        let hot_due = st.hot_due(Instant::now());
        tokio::select! {
            (memory, news) = async { match hot_inflight.as_mut() { Some((f, _)) => f.await, None => std::future::pending().await } } => {
                let due = hot_inflight.take().map(|(_, due)| due).unwrap_or_default();
                let out = st.hot_finished(source.as_ref(), memory, news, due);
                source.keep_room(st.hot_room());
                for msg in out {
                    if messages.send(msg).is_err() {
                        return;
                    }
                }
            }
            _ = tokio::time::sleep_until(hot_due), if hot_can => {
                if let Some((memory, due)) = st.hot_started(Instant::now()) {
                    hot_inflight = Some((source.hot_tick(memory, due), due));
                }
            }
            result = async { match inflight.as_mut() { Some((f, _, _)) => f.await, None => std::future::pending().await } } => {
                let Some((_, started, before)) = inflight.take() else { continue };
                let msg = st.finished(source.as_ref(), result, started, before);
                source.keep_room(st.hot_room());
                if messages.send(msg).is_err() {
                    return;
                }
            }
            cmd = commands.recv() => match cmd {
                None => return,
                Some(cmd) => {
                    st.command(cmd);
                    source.keep_room(st.hot_room());
                }
            },
            _ = tokio::time::sleep_until(st.due), if can_start => {
                if !st.may_start(Instant::now()) {
                    continue;
                }
                if messages.send(Message::Started).is_err() {
                    return;
                }
                let pace = st.sweep_pace();
                inflight = Some((source.fetch(&messages, pace), Instant::now(), source.requests_sent()));
            }
        }
    }
}

impl State {
    /// A hot tick starts: it takes the memory. The problem totals and the
    /// full status reads each come with the tick nearest their time, and the
    /// next time is counted from that time, not from the tick: every 20 s
    /// with ticks 9 s apart is at 18 and 36 s, not every third tick (27 s).
    fn hot_started(&mut self, now: Instant) -> Option<(hot::Memory, hot::Due)> {
        let (problems_every, statuses_every) = (self.problem_period(), self.status_period());
        let period = self.hot_period();
        let half_tick = period / 2;
        let t = self.tier.as_mut()?;
        let memory = t.memory.take()?;
        t.last_started = Some(now);
        let statuses = due_with(&mut t.statuses_at, now, half_tick, statuses_every);
        // When the status reads come every other tick at most, the problem
        // totals wait a tick rather than come with them: the costliest tick,
        // the room the window keeps, is then one full read, not both.
        let apart = statuses && statuses_every >= period * 2;
        let problems = !apart && due_with(&mut t.problems_at, now, half_tick, problems_every);
        Some((memory, hot::Due { statuses, problems }))
    }

    /// A hot tick ended: account for it, say what it learnt.
    fn hot_finished(
        &mut self,
        source: &dyn Source,
        memory: hot::Memory,
        news: hot::News,
        due: hot::Due,
    ) -> Vec<Message> {
        let now = Instant::now();
        self.budget.record(now, news.requests);
        if let Some(t) = self.tier.as_mut() {
            t.learn(memory);
            t.record(&news, due);
            t.last = Some(TickReport {
                took: t.last_started.map_or(Duration::ZERO, |s| now - s),
                requests: news.requests,
                status_requests: news.status_requests,
                problem_requests: news.problem_requests,
                shows: news.shows,
                due,
            });
            tracing::debug!(
                took_ms = t.last.map_or(0, |r| r.took.as_millis()),
                requests = news.requests,
                statuses = due.statuses,
                problems = due.problems,
                "hot tick"
            );
            t.failures = if news.error.is_some() {
                t.failures.saturating_add(1)
            } else {
                0
            };
        }
        let mut out = Vec::new();
        let (error, auth) = match news.error {
            Some(e) if e.is_auth() => (None, Some(e)),
            other => (other, None),
        };
        out.push(Message::Hot {
            seen: news.seen,
            gone: news.gone,
            error,
            stats: self.stats(now, source),
        });
        if let Some(error) = auth {
            // Five bad signatures in a row lock the AK: everything waits for the user.
            self.auth_stopped = true;
            self.consecutive_failures += 1;
            out.push(Message::Failed {
                error,
                consecutive: self.consecutive_failures,
                next_in: None,
                stats: self.stats(now, source),
            });
        }
        out
    }

    /// A poll ended: account for it, plan the next, say what happened.
    fn finished(
        &mut self,
        source: &dyn Source,
        result: Result<Listing, ApiError>,
        started: Instant,
        before: u64,
    ) -> Message {
        let now = Instant::now();
        // A sweep says what it cost itself; the count since it started also
        // holds the hot tier's requests beside it.
        let cost = match &result {
            Ok(l) if l.requests > 0 => l.requests,
            _ => source.requests_sent().saturating_sub(before),
        };
        self.budget.record(now, cost);
        self.last_cost = cost.max(1);
        match result {
            Ok(listing) => {
                self.consecutive_failures = 0;
                self.sweep_cost = Some(cost.max(1));
                self.due = self.next_due(started, now, None);
                Message::Snapshot {
                    listing,
                    took: now - started,
                    stats: self.stats(now, source),
                }
            }
            Err(error) => {
                self.consecutive_failures += 1;
                let next_in = if error.is_auth() {
                    // Five bad signatures in a row lock the AK: wait for the user.
                    self.auth_stopped = true;
                    None
                } else {
                    self.due = self.next_due(started, now, Some(&error));
                    Some(self.due - now)
                };
                let stats = self.stats(now, source);
                Message::Failed {
                    error,
                    consecutive: self.consecutive_failures,
                    next_in,
                    stats,
                }
            }
        }
    }

    /// What the app asked for.
    fn command(&mut self, cmd: Control) {
        let now = Instant::now();
        match cmd {
            Control::RefreshNow => {
                self.auth_stopped = false;
                // A refresh the user asked for starts at once; the client still
                // holds its pages to the budget.
                self.forced = true;
                self.due = now;
            }
            Control::SetPaused(p) => {
                self.paused = p;
                if !p {
                    self.due = self.due.min(now + self.base_interval());
                }
            }
            Control::SetInterval(d) => {
                let d = d.clamp(MIN_INTERVAL, MAX_INTERVAL);
                let old = self.base_interval();
                self.cfg.interval = d;
                // Bring the next poll forward when the interval shrank.
                if self.base_interval() < old {
                    self.due = self.due.min(now + self.base_interval());
                }
            }
            Control::SetHot(h) => {
                if h != self.hot {
                    self.hot = h;
                    if h && self.consecutive_failures == 0 {
                        self.due = self.due.min(now + self.base_interval());
                    }
                }
            }
        }
    }

    /// The timer fired: whether a poll may start now. Commands may have brought
    /// the poll forward; the budget still holds unless the user asked.
    fn may_start(&mut self, now: Instant) -> bool {
        let budget_at = self.earliest_start(now);
        if budget_at > now && !self.forced {
            self.due = budget_at;
            return false;
        }
        self.forced = false;
        true
    }
}

/// Whether a read due every `every` from `*at` comes with a tick starting at
/// `now` (the tick nearest its time: at most half a tick early); if so, moves
/// `*at` on by `every`, or from now after a pause.
pub(super) fn due_with(
    at: &mut Instant,
    now: Instant,
    half_tick: Duration,
    every: Duration,
) -> bool {
    if now + half_tick < *at {
        return false;
    }
    let next = *at + every;
    *at = if next < now { now + every } else { next };
    true
}
