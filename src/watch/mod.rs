//! The poller task: owns the client, polls on a timer, never overlaps two polls,
//! backs off on errors, stops after an authentication failure, keeps within a
//! request budget, and sends what it saw as messages.
//!
//! The budget is kept twice. The client's rate limiter is the guarantee: no 60 s
//! window ever holds more requests than the budget, whatever the poller does
//! (pages wait for a slot). The poller plans so that pages seldom wait: it starts
//! a refresh of `cost` requests no sooner than `cost × 60 s / budget` after the
//! previous one started (the average rate), and, when the refresh fits in the
//! budget, only once the last minute has room for all of it. When that stretches
//! the interval, the stats say so and the status bar shows it.
//!
//! ```text
//!   commands (refresh, pause, interval, hot)      messages (started, snapshot, failed)
//!   app ───────────────────────────────► poller ───────────────────────────────► app
//!                                          │ ▲
//!                                    fetch │ │ Listing / ApiError
//!                                          ▼ │
//!                                        Source (Client + ListQuery)
//! ```
//!
//! Why over 700 lines: ~520 lines of poller (source, plan, budget, the loop and
//! its arms) and ~300 of tests that drive the private schedule on a paused clock.

pub mod several;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

pub mod hot;
mod recent;
#[cfg(test)]
mod tier_tests;

use crate::api::sweep::{DEFAULT_OVERLAP, PagePlace, PageSink};
use crate::api::{ApiError, Client, ListQuery, Listing, Notebook, NotebookPage};

mod queue;
use crate::defaults;
pub use queue::{MAX_QUEUED_PAGES, Messages, PageSender};

/// Something that can list every instance.
pub trait Source: Send + Sync + 'static {
    /// One sweep. A source may send its pages as [`Message::Page`] through
    /// `pages` as they arrive; what the returned listing holds is applied after them.
    /// `pace`: no faster than this many requests a minute (the hot tier has
    /// the rest of the budget); `None`: as fast as the budget allows.
    fn fetch<'a>(
        &'a self,
        pages: &'a PageSender,
        pace: Option<u32>,
    ) -> Pin<Box<dyn Future<Output = Result<Listing, ApiError>> + Send + 'a>>;
    /// Requests sent so far (retries included): a poll's cost is the difference.
    fn requests_sent(&self) -> u64;
    /// Requests sent in the last 60 s, if the source keeps time stamps. Without
    /// them the poller counts each poll's requests at the time it ended.
    fn requests_last_minute(&self) -> Option<u64> {
        None
    }
    /// Requests the first sweep's burst still allows past the budget, while it lasts.
    fn burst_left(&self) -> Option<u64> {
        None
    }
    /// The hot tier's memory at the start, if this source has a hot tier.
    fn hot_memory(&self) -> Option<hot::Memory> {
        None
    }
    /// One tick of the hot tier (see [`hot`]); `problems_due`: check the
    /// problem statuses too.
    fn hot_tick<'a>(&'a self, memory: hot::Memory, problems_due: bool) -> HotFuture<'a> {
        let _ = problems_due;
        Box::pin(async move { (memory, hot::News::default()) })
    }
}

/// A hot tick in flight; it hands the tier's memory back with what it learnt.
pub type HotFuture<'a> = Pin<Box<dyn Future<Output = (hot::Memory, hot::News)> + Send + 'a>>;

/// The real source: a client and the server-side filters. Pages go to the app
/// as they arrive; both kinds of instance are swept unless `feature` narrows it.
pub struct ClientSource {
    pub client: Client,
    pub query: ListQuery,
}

/// Sends each page on as a message.
struct Forward<'a>(&'a PageSender);

impl PageSink<Notebook> for Forward<'_> {
    fn page(&mut self, notebooks: Vec<Notebook>, place: PagePlace) {
        let _ = self.0.send(Message::Page {
            notebooks,
            loaded: place.loaded,
            total: place.total,
            read_at_ms: place.read_at_ms,
        });
    }

    fn room(&self) -> impl Future<Output = ()> + Send {
        self.0.room()
    }
}

impl Source for ClientSource {
    fn fetch<'a>(
        &'a self,
        pages: &'a PageSender,
        pace: Option<u32>,
    ) -> Pin<Box<dyn Future<Output = Result<Listing, ApiError>> + Send + 'a>> {
        Box::pin(async move {
            let mut sink = Forward(pages);
            let client = match pace {
                Some(n) => self.client.paced(n),
                None => self.client.clone(),
            };
            let swept = client
                .sweep_all_kinds::<NotebookPage, _>(&self.query, DEFAULT_OVERLAP, &mut sink)
                .await;
            // The burst is for the first sweep only, whatever it left.
            self.client.burst().end();
            let report = swept?;
            Ok(Listing {
                notebooks: Vec::new(),
                total: report.total,
                requests: report.requests,
                passes: 1,
                complete: report.complete,
            })
        })
    }

    fn requests_sent(&self) -> u64 {
        self.client.requests_sent()
    }

    fn requests_last_minute(&self) -> Option<u64> {
        Some(self.client.requests_last_minute())
    }

    fn burst_left(&self) -> Option<u64> {
        self.client.burst().left()
    }

    fn hot_memory(&self) -> Option<hot::Memory> {
        Some(hot::Memory::new(&self.query))
    }

    fn hot_tick<'a>(&'a self, memory: hot::Memory, problems_due: bool) -> HotFuture<'a> {
        Box::pin(hot::tick(&self.client, memory, problems_due))
    }
}

/// What the app can ask of the poller.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    /// Poll now (also resumes after an authentication failure).
    RefreshNow,
    /// Stop or restart polling.
    SetPaused(bool),
    /// The normal interval between polls.
    SetInterval(Duration),
    /// Whether a visible instance is in a transitional status: poll at the fast interval.
    SetHot(bool),
}

/// What the poller tells the app.
#[derive(Debug, Clone)]
pub enum Message {
    /// A poll has begun.
    Started,
    /// A page of the sweep in progress: instances to add or update now.
    Page {
        notebooks: Vec<Notebook>,
        /// Instances received so far in this sweep.
        loaded: u64,
        /// What the service says there are.
        total: Option<u64>,
        /// When the page's answer arrived (epoch ms).
        read_at_ms: i64,
    },
    /// A poll succeeded: the sweep is over (`listing.complete` says whether it
    /// proved it missed nobody); `listing.notebooks` holds what was not sent as pages.
    Snapshot {
        listing: Listing,
        took: Duration,
        stats: Stats,
    },
    /// A hot tick ended: what it read, each batch with when its answer came
    /// (epoch ms), and which instances ShowNotebook says no longer exist.
    Hot {
        seen: Vec<(i64, Vec<Notebook>)>,
        gone: Vec<(String, i64)>,
        /// A read that failed (the others' news is still here).
        error: Option<ApiError>,
        stats: Stats,
    },
    /// A poll failed. `consecutive` counts failed polls in a row; `next_in` is when
    /// the next one is due (`None` when polling stopped: after a 401/403 until the
    /// user asks again, or for good when the poller died, see [`several::died`]).
    Failed {
        error: ApiError,
        consecutive: u32,
        next_in: Option<Duration>,
        stats: Stats,
    },
}

/// Request accounting and the schedule, shown in the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    /// Requests sent in the last 60 s.
    pub requests_last_minute: u32,
    /// The interval asked for: the fast one while hot, else the normal one.
    pub interval: Duration,
    /// Whether the fast interval is in force.
    pub fast: bool,
    /// From the start of this poll to the start of the next, as planned. Longer
    /// than `interval` while backing off or when the budget demands it.
    pub effective_interval: Duration,
    /// The budget (not an error) is what stretched the interval.
    pub budget_limited: bool,
    /// Requests the first sweep's burst still allows, while it is in force.
    pub burst_left: Option<u64>,
    /// The hot tier's period from tick to tick, while it runs (then the sweep
    /// keeps the normal interval, stretched to its share of the budget).
    pub hot: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PollerConfig {
    pub interval: Duration,
    /// Used while any visible instance is in a transitional status.
    pub fast_interval: Duration,
    /// Requests allowed in any 60 s window.
    pub budget_per_minute: u32,
    /// Longest wait between polls while failing.
    pub max_backoff: Duration,
}

impl Default for PollerConfig {
    fn default() -> Self {
        PollerConfig {
            interval: defaults::INTERVAL,
            fast_interval: defaults::FAST_INTERVAL,
            budget_per_minute: defaults::BUDGET_PER_MINUTE,
            max_backoff: defaults::MAX_BACKOFF,
        }
    }
}

pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
pub const MAX_INTERVAL: Duration = Duration::from_secs(300);

/// A running poller.
pub struct Handle {
    pub commands: mpsc::UnboundedSender<Control>,
    pub messages: Messages,
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts the poller; it polls at once, then on its timer. It ends when the
/// command sender is dropped.
pub fn spawn(source: Arc<dyn Source>, cfg: PollerConfig) -> Handle {
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (msg_tx, msg_rx) = queue::channel();
    let task = tokio::spawn(run(source, cfg, cmd_rx, msg_tx));
    Handle {
        commands: cmd_tx,
        messages: msg_rx,
        task,
    }
}

/// Sliding 60 s window of request counts, for the budget.
#[derive(Debug, Default)]
struct Budget {
    /// (when a poll ended, requests it took)
    polls: VecDeque<(Instant, u64)>,
}

impl Budget {
    const WINDOW: Duration = Duration::from_secs(60);

    fn record(&mut self, at: Instant, n: u64) {
        self.polls.push_back((at, n));
    }

    fn used(&mut self, now: Instant) -> u64 {
        while let Some((t, _)) = self.polls.front() {
            if now.duration_since(*t) >= Self::WINDOW {
                self.polls.pop_front();
            } else {
                break;
            }
        }
        self.polls.iter().map(|(_, n)| n).sum()
    }

    /// The earliest time a poll costing `cost` fits in `budget`. A poll costing
    /// more than the whole budget can never fit: it is planned for when the
    /// window is empty, and the client spaces its pages.
    fn earliest(&mut self, now: Instant, cost: u64, budget: u64) -> Instant {
        let cost = cost.min(budget);
        let mut used = self.used(now);
        if used + cost <= budget {
            return now;
        }
        for (t, n) in &self.polls {
            used -= n;
            if used + cost <= budget {
                return *t + Self::WINDOW;
            }
        }
        now + Self::WINDOW
    }
}

/// The hot tier as the poller schedules it.
struct HotTier {
    /// `None` while a tick holds it.
    memory: Option<hot::Memory>,
    /// Reads a tick costs, as the memory last said.
    reads: u64,
    /// Requests a tick costs, averaged over the last few (ShowNotebooks and
    /// problem checks come and go).
    cost: f64,
    last_started: Option<Instant>,
    /// When the problem statuses are next due.
    problems_at: Instant,
    /// Ticks in a row with a failed read.
    failures: u32,
}

impl HotTier {
    /// Requests a tick is planned at: the average, at least its reads.
    fn cost_estimate(&self) -> u64 {
        (self.cost.ceil() as u64).max(self.reads).max(1)
    }
}

struct State {
    cfg: PollerConfig,
    paused: bool,
    hot: bool,
    /// The hot tier, when the source has one.
    tier: Option<HotTier>,
    /// What the last successful sweep cost.
    sweep_cost: Option<u64>,
    auth_stopped: bool,
    consecutive_failures: u32,
    last_cost: u64,
    budget: Budget,
    last_started: Option<Instant>,
    planned: Plan,
    /// When the next poll is due.
    due: Instant,
    /// The user asked for this poll: the plan does not hold it back.
    forced: bool,
}

impl State {
    fn base_interval(&self) -> Duration {
        // The hot tier watches what moves: the sweep keeps the normal interval.
        if self.hot && !self.tier_active() {
            self.cfg.fast_interval.min(self.cfg.interval)
        } else {
            self.cfg.interval
        }
    }

    fn budget(&self) -> u64 {
        u64::from(self.cfg.budget_per_minute.max(1))
    }

    /// The shortest time from one poll's start to the next that keeps polls
    /// costing `cost` within the budget: as many whole polls a minute as fit,
    /// or, when one poll costs more than the budget, its share of minutes (the
    /// client spaces its pages meanwhile).
    fn pace(&self, cost: u64) -> Duration {
        let budget = self.budget();
        let cost = cost.max(1);
        if cost <= budget {
            let per_window = u32::try_from(budget / cost).unwrap_or(u32::MAX);
            Budget::WINDOW / per_window
        } else {
            Budget::WINDOW.mul_f64(cost as f64 / budget as f64)
        }
    }

    /// When the next poll is due after one that started at `started` and ended
    /// at `now`; records the plan for the stats.
    fn next_due(&mut self, started: Instant, now: Instant, err: Option<&ApiError>) -> Instant {
        let mut wait = self.base_interval();
        if self.consecutive_failures > 0 {
            let exp = wait.saturating_mul(1 << (self.consecutive_failures - 1).min(6));
            wait = exp.min(self.cfg.max_backoff).max(wait);
            if let Some(after) = err.and_then(ApiError::retry_after) {
                wait = wait.max(after);
            }
        }
        let mut plain = now + wait;
        // A paced sweep takes its share of the budget's time: the next starts
        // an interval after this one started, or at once; when that is later
        // than the interval, the budget stretched it.
        let mut stretched = false;
        if self.tier_active() && self.consecutive_failures == 0 {
            plain = (started + wait).max(now);
            stretched = now > started + wait + Duration::from_millis(500);
        }
        self.last_started = Some(started);
        let due = plain.max(self.earliest_start(now));
        self.planned = Plan {
            started,
            due,
            budget_limited: due > plain || stretched,
        };
        due
    }

    /// The earliest start the budget allows for a poll costing what the last one
    /// did: the average rate since the last start, and room in the last minute.
    fn earliest_start(&mut self, now: Instant) -> Instant {
        if self.tier_active() {
            // The sweep is paced to its share (see `sweep_pace`); the client's
            // limiter holds the whole budget.
            return now;
        }
        let cost = self.last_cost.max(1);
        // A poll larger than the budget never fits in a minute: the client spaces
        // its pages, and the average rate alone decides. (Waiting for all of it to
        // leave the window would count its requests as if sent at its end.)
        let fits = if cost <= self.budget() {
            self.budget.earliest(now, cost, self.budget())
        } else {
            now
        };
        match self.last_started {
            Some(s) => fits.max(s + self.pace(cost)),
            None => fits,
        }
    }

    fn stats(&mut self, now: Instant, source: &dyn Source) -> Stats {
        let used = source
            .requests_last_minute()
            .unwrap_or_else(|| self.budget.used(now));
        Stats {
            requests_last_minute: u32::try_from(used).unwrap_or(u32::MAX),
            interval: self.base_interval(),
            fast: self.hot && !self.tier_active() && self.cfg.fast_interval < self.cfg.interval,
            effective_interval: self
                .planned
                .due
                .saturating_duration_since(self.planned.started),
            budget_limited: self.planned.budget_limited,
            burst_left: source.burst_left(),
            hot: self.tier_active().then(|| self.hot_period()),
        }
    }

    /// Whether the hot tier runs: the source has one, a sweep has cost more
    /// than a tick would (a project that costs no more is simply swept), and
    /// polling is on.
    fn tier_active(&self) -> bool {
        match (&self.tier, self.sweep_cost) {
            (Some(t), Some(cost)) => {
                !self.paused && !self.auth_stopped && t.reads > 0 && cost > t.reads
            }
            _ => false,
        }
    }

    /// Requests a minute the hot tier may take: its share of the budget.
    fn hot_share(&self) -> u64 {
        (self.budget() * u64::from(defaults::HOT_BUDGET_PERCENT) / 100).max(1)
    }

    /// From one hot tick's start to the next: the fast interval, stretched
    /// when the ticks would take more than their share, and backing off while
    /// they fail.
    fn hot_period(&self) -> Duration {
        let base = self.cfg.fast_interval.min(self.cfg.interval);
        let Some(t) = &self.tier else { return base };
        let cost = t.cost_estimate();
        // As many whole ticks a minute as fit in the share (as `pace` plans
        // polls): evenly spread ticks of the average cost would let a window
        // hold one more than the share, and the sweep beside them would wait.
        let share = self.hot_share();
        let budget_pace = if cost <= share {
            Budget::WINDOW / u32::try_from(share / cost).unwrap_or(u32::MAX)
        } else {
            Budget::WINDOW.mul_f64(cost as f64 / share as f64)
        };
        let mut period = base.max(budget_pace);
        if t.failures > 0 {
            let exp = period.saturating_mul(1 << (t.failures - 1).min(6));
            period = exp.min(self.cfg.max_backoff).max(period);
        }
        period
    }

    /// When the next hot tick is due (far off while the tier does not run).
    fn hot_due(&self, now: Instant) -> Instant {
        match &self.tier {
            Some(t) if self.tier_active() => t.last_started.map_or(now, |s| s + self.hot_period()),
            _ => now + Duration::from_secs(86_400),
        }
    }

    /// The pace of the next sweep while the tier runs: the budget less what
    /// the hot tier takes at its pace (at most its share), so the sweep never
    /// starves and the two never queue for the same slots.
    fn sweep_pace(&self) -> Option<u32> {
        let t = self.tier.as_ref().filter(|_| self.tier_active())?;
        // Ticks a 60 s window can hold, each costing what the last one did:
        // as many as the period allows, or as fit in the share.
        let cost = t.cost_estimate();
        let period = self.hot_period().as_millis().max(1);
        let by_period = ((Budget::WINDOW.as_millis() - 1) / period + 1) as u64;
        let per_window = by_period.min((self.hot_share() / cost).max(1));
        let hot_rate = cost.saturating_mul(per_window).min(self.hot_share());
        let rest = self.budget().saturating_sub(hot_rate).max(1);
        Some(u32::try_from(rest).unwrap_or(u32::MAX))
    }

    /// How often the problem totals are counted: every interval at the
    /// default budget; under a smaller one, as much less often as the budget
    /// is smaller (the same share of any budget), but at least every
    /// [`defaults::PROBLEM_COUNT_AT_LEAST`]: at 120 a minute, five counts
    /// every 20 s, 15 requests of the hot tier's 72. The recent read sees most
    /// failures at once; the totals are for what it cannot see.
    fn problem_period(&self) -> Duration {
        let interval = self.cfg.interval;
        let scale = f64::from(defaults::BUDGET_PER_MINUTE) / self.budget() as f64;
        interval
            .mul_f64(scale.max(1.0))
            .min(defaults::PROBLEM_COUNT_AT_LEAST)
            .max(interval)
    }

    /// A hot tick starts: it takes the memory. The problem totals come with
    /// the tick nearest their time, and the next time is counted from that
    /// time, not from the tick: every 20 s with ticks 9 s apart is at 18 and
    /// 36 s, not every third tick (27 s).
    fn hot_started(&mut self, now: Instant) -> Option<(hot::Memory, bool)> {
        let every = self.problem_period();
        let half_tick = self.hot_period() / 2;
        let t = self.tier.as_mut()?;
        let memory = t.memory.take()?;
        t.last_started = Some(now);
        let problems = now + half_tick >= t.problems_at;
        if problems {
            let next = t.problems_at + every;
            // After a pause, from now.
            t.problems_at = if next < now { now + every } else { next };
        }
        Some((memory, problems))
    }

    /// A hot tick ended: account for it, say what it learnt.
    fn hot_finished(
        &mut self,
        source: &dyn Source,
        memory: hot::Memory,
        news: hot::News,
    ) -> Vec<Message> {
        let now = Instant::now();
        self.budget.record(now, news.requests);
        if let Some(t) = self.tier.as_mut() {
            t.reads = memory.reads_per_tick();
            t.memory = Some(memory);
            t.cost = if t.cost == 0.0 {
                news.requests as f64
            } else {
                0.75 * t.cost + 0.25 * news.requests as f64
            };
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
}

/// The schedule decided after the last poll.
#[derive(Debug, Clone, Copy)]
struct Plan {
    started: Instant,
    due: Instant,
    budget_limited: bool,
}

type PollFuture<'a> = Pin<Box<dyn Future<Output = Result<Listing, ApiError>> + Send + 'a>>;

/// The poll in flight: its future, when it started, the request count before it.
type Inflight<'a> = (PollFuture<'a>, Instant, u64);

async fn run(
    source: Arc<dyn Source>,
    cfg: PollerConfig,
    mut commands: mpsc::UnboundedReceiver<Control>,
    messages: PageSender,
) {
    let start = Instant::now();
    let tier = source.hot_memory().map(|memory| HotTier {
        reads: memory.reads_per_tick(),
        memory: Some(memory),
        cost: 0.0,
        last_started: None,
        problems_at: start,
        failures: 0,
    });
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
    let mut hot_inflight: Option<HotFuture<'_>> = None;
    loop {
        let can_start = inflight.is_none() && !st.paused && !st.auth_stopped;
        let hot_can = hot_inflight.is_none() && st.tier_active();
        let hot_due = st.hot_due(Instant::now());
        tokio::select! {
            (memory, news) = async { match hot_inflight.as_mut() { Some(f) => f.await, None => std::future::pending().await } } => {
                hot_inflight = None;
                for msg in st.hot_finished(source.as_ref(), memory, news) {
                    if messages.send(msg).is_err() {
                        return;
                    }
                }
            }
            _ = tokio::time::sleep_until(hot_due), if hot_can => {
                if let Some((memory, problems)) = st.hot_started(Instant::now()) {
                    hot_inflight = Some(source.hot_tick(memory, problems));
                }
            }
            result = async { match inflight.as_mut() { Some((f, _, _)) => f.await, None => std::future::pending().await } } => {
                let Some((_, started, before)) = inflight.take() else { continue };
                let msg = st.finished(source.as_ref(), result, started, before);
                if messages.send(msg).is_err() {
                    return;
                }
            }
            cmd = commands.recv() => match cmd {
                None => return,
                Some(cmd) => st.command(cmd),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::HttpError;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A scripted source: each fetch pops the next result and counts `cost` requests.
    struct Scripted {
        results: Mutex<VecDeque<Result<Listing, ApiError>>>,
        cost: u64,
        requests: Arc<AtomicU64>,
        delay: Duration,
    }

    impl Source for Scripted {
        fn fetch<'a>(
            &'a self,
            _pages: &'a PageSender,
            _pace: Option<u32>,
        ) -> Pin<Box<dyn Future<Output = Result<Listing, ApiError>> + Send + 'a>> {
            Box::pin(async move {
                tokio::time::sleep(self.delay).await;
                self.requests.fetch_add(self.cost, Ordering::SeqCst);
                self.results
                    .lock()
                    .unwrap()
                    .pop_front()
                    .unwrap_or_else(|| Ok(Listing::default()))
            })
        }

        fn requests_sent(&self) -> u64 {
            self.requests.load(Ordering::SeqCst)
        }
    }

    fn start(
        results: Vec<Result<Listing, ApiError>>,
        cost: u64,
        cfg: PollerConfig,
    ) -> (Handle, Arc<Scripted>) {
        let requests = Arc::new(AtomicU64::new(0));
        let src = Arc::new(Scripted {
            results: Mutex::new(results.into()),
            cost,
            requests: requests.clone(),
            delay: Duration::from_millis(100),
        });
        let h = spawn(src.clone(), cfg);
        (h, src)
    }

    fn http(status: u16) -> ApiError {
        ApiError::Http(HttpError {
            status,
            ..Default::default()
        })
    }

    async fn next_outcome(h: &mut Handle) -> (Message, Instant) {
        loop {
            let m = h.messages.recv().await.unwrap();
            if !matches!(
                m,
                Message::Started | Message::Page { .. } | Message::Hot { .. }
            ) {
                return (m, Instant::now());
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn polls_at_once_then_on_the_interval() {
        let (mut h, _) = start(vec![], 1, PollerConfig::default());
        let t0 = Instant::now();
        let (m, t1) = next_outcome(&mut h).await;
        assert!(matches!(m, Message::Snapshot { .. }));
        assert_eq!(t1 - t0, Duration::from_millis(100));
        let (_, t2) = next_outcome(&mut h).await;
        assert_eq!(t2 - t1, Duration::from_millis(5100));
    }

    #[tokio::test(start_paused = true)]
    async fn backs_off_on_errors_and_recovers_without_a_keypress() {
        let (mut h, _) = start(
            vec![Err(http(500)), Err(http(500)), Err(http(503))],
            1,
            PollerConfig::default(),
        );
        let mut waits = vec![];
        for n in 1..=3 {
            let (m, _) = next_outcome(&mut h).await;
            match m {
                Message::Failed {
                    consecutive,
                    next_in,
                    ..
                } => {
                    assert_eq!(consecutive, n);
                    waits.push(next_in.unwrap());
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            waits,
            [
                Duration::from_secs(5),
                Duration::from_secs(10),
                Duration::from_secs(20)
            ]
        );
        let (m, _) = next_outcome(&mut h).await;
        assert!(matches!(m, Message::Snapshot { .. }), "recovered");
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after() {
        let throttled = ApiError::Http(HttpError {
            status: 429,
            retry_after: Some(Duration::from_secs(30)),
            ..Default::default()
        });
        let (mut h, _) = start(vec![Err(throttled)], 1, PollerConfig::default());
        let (m, _) = next_outcome(&mut h).await;
        let Message::Failed { next_in, .. } = m else {
            panic!()
        };
        assert_eq!(next_in, Some(Duration::from_secs(30)));
    }

    #[tokio::test(start_paused = true)]
    async fn stops_after_401_until_refresh() {
        let (mut h, src) = start(vec![Err(http(401))], 1, PollerConfig::default());
        let (m, _) = next_outcome(&mut h).await;
        let Message::Failed { next_in, .. } = m else {
            panic!()
        };
        assert_eq!(next_in, None);
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert_eq!(
            src.requests.load(Ordering::SeqCst),
            1,
            "no request while stopped"
        );
        h.commands.send(Control::RefreshNow).unwrap();
        let (m, _) = next_outcome(&mut h).await;
        assert!(matches!(m, Message::Snapshot { .. }));
        assert_eq!(src.requests.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn pause_stops_polling_and_refresh_never_overlaps() {
        let (mut h, src) = start(vec![], 1, PollerConfig::default());
        next_outcome(&mut h).await;
        h.commands.send(Control::SetPaused(true)).unwrap();
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(src.requests.load(Ordering::SeqCst), 1);
        h.commands.send(Control::SetPaused(false)).unwrap();
        next_outcome(&mut h).await;
        // Many refreshes while a poll is in flight start no second poll.
        let _ = h.messages.recv().await; // Started
        for _ in 0..5 {
            h.commands.send(Control::RefreshNow).unwrap();
        }
        let before = src.requests.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(src.requests.load(Ordering::SeqCst) - before <= 1);
    }

    fn stats_of(m: &Message) -> Stats {
        match m {
            Message::Snapshot { stats, .. } | Message::Failed { stats, .. } => *stats,
            Message::Hot { stats, .. } => *stats,
            Message::Started | Message::Page { .. } => panic!("no stats in {m:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn hot_mode_polls_at_the_fast_interval_then_back() {
        let (mut h, _) = start(vec![], 1, PollerConfig::default());
        let (m, t1) = next_outcome(&mut h).await;
        assert!(!stats_of(&m).fast);
        // An instance starts moving: the next poll comes at the fast interval,
        // counted from the last one, not after the rest of the normal one.
        h.commands.send(Control::SetHot(true)).unwrap();
        let (m, t2) = next_outcome(&mut h).await;
        assert_eq!(
            t2 - t1,
            Duration::from_millis(2100),
            "fast interval while hot"
        );
        let s = stats_of(&m);
        assert!(s.fast && !s.budget_limited);
        assert_eq!(s.interval, Duration::from_secs(2));
        assert_eq!(
            s.effective_interval,
            Duration::from_secs(2) + Duration::from_millis(100)
        );
        let (_, t3) = next_outcome(&mut h).await;
        assert_eq!(t3 - t2, Duration::from_millis(2100));
        // Everything settled: back to the normal interval.
        h.commands.send(Control::SetHot(false)).unwrap();
        let (_, t4) = next_outcome(&mut h).await;
        let (m, t5) = next_outcome(&mut h).await;
        assert_eq!(t4 - t3, Duration::from_millis(2100), "already planned");
        assert_eq!(t5 - t4, Duration::from_millis(5100));
        assert!(!stats_of(&m).fast);
    }

    #[tokio::test(start_paused = true)]
    async fn budget_stretches_the_fast_interval_and_says_so() {
        let cfg = PollerConfig {
            budget_per_minute: 100,
            ..Default::default()
        };
        let (mut h, _) = start(vec![], 40, cfg);
        h.commands.send(Control::SetHot(true)).unwrap();
        let mut outcomes = vec![];
        for _ in 0..12 {
            outcomes.push(next_outcome(&mut h).await);
        }
        // 40 requests a poll at 100 a minute: two polls a minute, evenly, not
        // one every 2 s until the minute is used up.
        for w in outcomes.windows(2) {
            let gap = w[1].1 - w[0].1;
            // A poll's requests count from its end (100 ms after its start).
            assert!(
                gap >= Duration::from_secs(30) && gap <= Duration::from_millis(30_100),
                "{gap:?}"
            );
        }
        let s = stats_of(&outcomes[3].0);
        assert!(s.fast && s.budget_limited, "{s:?}");
        assert_eq!(s.interval, Duration::from_secs(2));
        assert!(
            s.effective_interval >= Duration::from_secs(30)
                && s.effective_interval <= Duration::from_millis(30_100),
            "{s:?}"
        );
        // No 60 s window holds more than the budget.
        for (i, (_, end)) in outcomes.iter().enumerate() {
            let in_window = outcomes[..=i]
                .iter()
                .filter(|(_, t)| *end - *t < Duration::from_secs(60))
                .count() as u32;
            assert!(in_window * 40 <= 100, "{in_window} polls in a minute");
        }
        assert!(s.requests_last_minute <= 100);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refresh_larger_than_the_budget_keeps_polling_paced() {
        // 10,000 instances at 50 a page against the default 120 a minute.
        let cfg = PollerConfig {
            budget_per_minute: 120,
            ..Default::default()
        };
        let (mut h, src) = start(vec![], 200, cfg);
        let (_, t1) = next_outcome(&mut h).await;
        let (m, t2) = next_outcome(&mut h).await;
        let (_, t3) = next_outcome(&mut h).await;
        // Polling goes on (it used to stop for good), every 100 s: 200 per 100 s
        // is 120 a minute on average.
        assert_eq!(t2 - t1, Duration::from_secs(100));
        assert_eq!(t3 - t2, Duration::from_secs(100));
        let s = stats_of(&m);
        assert!(s.budget_limited && !s.fast, "{s:?}");
        assert_eq!(s.interval, Duration::from_secs(5));
        assert_eq!(s.effective_interval, Duration::from_secs(100));
        assert_eq!(src.requests.load(Ordering::SeqCst), 600);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_paced_refresh_is_followed_by_the_next_on_the_average_rate() {
        // The client spaced the 200 pages over 70 s: the next refresh starts 100 s
        // after this one started, not a minute after it ended.
        let requests = Arc::new(AtomicU64::new(0));
        let src = Arc::new(Scripted {
            results: Mutex::new(VecDeque::new()),
            cost: 200,
            requests: requests.clone(),
            delay: Duration::from_secs(70),
        });
        let cfg = PollerConfig {
            budget_per_minute: 120,
            ..Default::default()
        };
        let mut h = spawn(src, cfg);
        let (_, t1) = next_outcome(&mut h).await;
        let (m, t2) = next_outcome(&mut h).await;
        assert_eq!(t2 - t1, Duration::from_secs(100));
        let s = stats_of(&m);
        assert!(s.budget_limited);
        assert_eq!(s.effective_interval, Duration::from_secs(100));
    }

    #[tokio::test(start_paused = true)]
    async fn refresh_now_is_not_held_back_by_the_plan() {
        let cfg = PollerConfig {
            budget_per_minute: 120,
            ..Default::default()
        };
        let (mut h, _) = start(vec![], 200, cfg);
        let (_, t1) = next_outcome(&mut h).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        h.commands.send(Control::RefreshNow).unwrap();
        let (_, t2) = next_outcome(&mut h).await;
        assert_eq!(t2 - t1, Duration::from_millis(3100));
    }
}
