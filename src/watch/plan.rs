//! The poller's plan: when the next sweep may start, at what pace it goes,
//! how often the hot tier ticks and what each tick reads, all within the one
//! request budget. Pure arithmetic on [`State`]; the loop that acts on it is
//! in [`super::poller`].
//!
//! How the budget is shared while the hot tier runs (issue 20):
//!
//! ```text
//!   budget ─┬─ hot tier: ticks × their measured cost (mean of the last ticks)
//!           │            + each full read at its own rate     ≤ its share (60 %)
//!           └─ sweep:    the rest, paced evenly               ≥ 40 %
//!              (its pages leave the window room for the costliest tick)
//! ```
//!
//! A tick's reads are light (the recent read, small kinds whole) and, less
//! often under a small budget, full: every hot status of a large kind
//! ([`State::status_period`]) and the problem totals ([`State::problem_period`]).
//! Full ticks cost several times a light one, so the sweep is paced to leave
//! the window room for the costliest, and its pages leave that room in the
//! client's limiter whatever pace it started with ([`State::hot_room`]): a
//! tick never queues behind pages for slots the window does not have (the
//! limiter also lets it go first).

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::{PollerConfig, Source, Stats, TickReport, hot};
use crate::api::ApiError;
use crate::defaults;

/// Sliding 60 s window of request counts, for the budget.
#[derive(Debug, Default)]
pub(super) struct Budget {
    /// (when a poll ended, requests it took)
    polls: VecDeque<(Instant, u64)>,
}

impl Budget {
    pub(super) const WINDOW: Duration = Duration::from_secs(60);

    pub(super) fn record(&mut self, at: Instant, n: u64) {
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

/// Ticks whose costs the plan remembers: about a minute of ticks at 120 a
/// minute.
const TICKS_REMEMBERED: usize = 10;

/// What the hot tier's ticks cost, measured, in the parts the plan needs: a
/// light tick, and what the full reads add to one (each on its own period).
#[derive(Debug, Default)]
pub(super) struct TickCosts {
    /// What the last ticks cost without their full reads, oldest first.
    light: VecDeque<u64>,
    /// What the status reads added to a tick (a running mean).
    statuses: Option<f64>,
    /// What the problem totals added.
    problems: Option<f64>,
    /// Every tick, oldest first: the costliest is the headroom.
    all: VecDeque<u64>,
    /// The problem statuses have been read once (whole, their totals not
    /// yet known): the counts after that are their running cost.
    problems_read: bool,
}

fn remember(q: &mut VecDeque<u64>, n: u64) {
    if q.len() == TICKS_REMEMBERED {
        q.pop_front();
    }
    q.push_back(n);
}

fn mean_into(slot: &mut Option<f64>, x: f64) {
    let x = x.max(0.0);
    *slot = Some(slot.map_or(x, |m| 0.75 * m + 0.25 * x));
}

/// The hot tier as the poller schedules it.
pub(super) struct HotTier {
    /// `None` while a tick holds it.
    pub(super) memory: Option<hot::Memory>,
    /// Reads a full tick costs, as the memory last said (a project whose
    /// sweep costs no more is just swept).
    pub(super) reads: u64,
    /// Reads a light tick costs, and what the status reads and the problem
    /// totals add, as the memory counts them: the plan's guess until
    /// measured.
    pub(super) counted: (u64, u64, u64),
    pub(super) costs: TickCosts,
    pub(super) last_started: Option<Instant>,
    /// When the problem statuses' totals are next due.
    pub(super) problems_at: Instant,
    /// When every hot status of a large kind is next read.
    pub(super) statuses_at: Instant,
    /// Ticks in a row with a failed read.
    pub(super) failures: u32,
    /// How the last tick went.
    pub(super) last: Option<TickReport>,
}

/// The hot tier's plan: how often it ticks and what it takes of the budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct HotPlan {
    /// From one tick's start to the next.
    pub(super) period: Duration,
    /// Requests a minute it takes at that period, full reads included.
    pub(super) rate: u64,
    /// Room the window keeps beyond the rate for the costliest tick.
    pub(super) headroom: u64,
}

impl HotTier {
    pub(super) fn new(memory: hot::Memory, start: Instant) -> HotTier {
        let mut t = HotTier {
            reads: 0,
            counted: (0, 0, 0),
            memory: None,
            costs: TickCosts::default(),
            last_started: None,
            problems_at: start,
            statuses_at: start,
            failures: 0,
            last: None,
        };
        t.learn(memory);
        t
    }

    /// The memory is back from a tick: what it says a tick reads.
    pub(super) fn learn(&mut self, memory: hot::Memory) {
        let (full, light) = (memory.reads_per_tick(), memory.light_reads_per_tick());
        self.reads = full;
        self.counted = (light, full.saturating_sub(light), memory.problem_reads());
        self.memory = Some(memory);
    }

    /// A tick that did the full reads `due` ended: what it cost, and what
    /// of that its status reads and problem totals sent. A status read done
    /// though not due (a kind whose recent read is off) is part of every tick.
    pub(super) fn record(&mut self, news: &hot::News, due: hot::Due) {
        let (st, pr) = (news.status_requests, news.problem_requests);
        let full = if due.statuses { st } else { 0 } + if due.problems { pr } else { 0 };
        remember(&mut self.costs.light, news.requests.saturating_sub(full));
        if due.statuses {
            mean_into(&mut self.costs.statuses, st as f64);
        }
        // The first problem read reads each set whole (no total known yet):
        // the tier's start, not what a count costs. Taken into the mean it
        // held the plan's ticks 15–20 s apart for minutes at 120 a minute
        // (25 requests, decaying by a quarter a count).
        if due.problems && std::mem::replace(&mut self.costs.problems_read, true) {
            mean_into(&mut self.costs.problems, pr as f64);
        }
        remember(&mut self.costs.all, news.requests);
    }

    /// Requests a light tick costs (the mean of the last ones, at least its
    /// reads), and what the status reads and the problem totals add: as
    /// measured, else as counted.
    pub(super) fn estimates(&self) -> (f64, f64, f64) {
        let c = &self.costs;
        let light = if c.light.is_empty() {
            self.counted.0 as f64
        } else {
            c.light.iter().sum::<u64>() as f64 / c.light.len() as f64
        };
        (
            light.max(self.counted.0 as f64).max(1.0),
            c.statuses.unwrap_or(self.counted.1 as f64),
            c.problems.unwrap_or(self.counted.2 as f64),
        )
    }

    /// The costliest recent tick, or a full one's count before any.
    fn largest(&self) -> u64 {
        let counted = self.counted.0 + self.counted.1 + self.counted.2;
        self.costs.all.iter().copied().max().unwrap_or(counted)
    }

    /// The tick period and the requests a minute it takes, for a share of
    /// `share` requests a minute; the full reads every `statuses` and
    /// `problems`; ticks no closer than `base`. A light tick at the mean
    /// cost, plus each full read's cost at its own rate, plus room for the
    /// costliest tick, fit in the share; a full read due more often than the
    /// ticks come is part of every tick.
    pub(super) fn plan(
        &self,
        share: u64,
        base: Duration,
        statuses: Duration,
        problems: Duration,
    ) -> HotPlan {
        let (light, st, pr) = self.estimates();
        let window = Budget::WINDOW.as_secs_f64();
        let share = share as f64;
        // A tick's cost at `period` (a light one, and the full reads due more
        // often than the ticks come), what the other full reads take a
        // minute, and the room for the costliest tick beyond the former.
        let split = |period: f64| {
            let (mut per_tick, mut full_rate) = (light, 0.0);
            for (extra, every) in [(st, statuses), (pr, problems)] {
                let every = every.as_secs_f64();
                if every <= period {
                    per_tick += extra;
                } else {
                    full_rate += extra * window / every;
                }
            }
            let headroom = (self.largest() as f64 - per_tick).max(0.0).ceil();
            (per_tick.ceil(), full_rate.ceil(), headroom)
        };
        let base = base.as_secs_f64();
        let next = |period: f64| {
            let (per_tick, full_rate, headroom) = split(period);
            // The room for the costliest tick is kept in the window by the
            // client's limiter (the sweep's pages leave it: `State::hot_room`),
            // not out of the tier's share: the share pays for the ticks'
            // rate alone. (Taking it from the share too held ticks at 120 a
            // minute 15 s apart, where the rate allows 8–9 s.)
            let _ = headroom;
            let avail = share - full_rate;
            // Whole ticks a window holds, as `State::pace` plans polls.
            let ticks = (avail / per_tick).floor();
            let by_budget = if ticks >= 1.0 {
                window / ticks
            } else {
                window * (per_tick + full_rate + headroom) / share
            };
            base.max(by_budget)
        };
        // From the fast interval, until the full reads the period folds into
        // each tick agree with the period they give (the longer of the last
        // two if they never do).
        let mut period = next(base);
        for _ in 0..4 {
            let again = next(period);
            if again == period {
                break;
            }
            period = period.max(again).min(next(again).max(again));
        }
        let (per_tick, full_rate, headroom) = split(period);
        // Ticks a 60 s window can hold at that period.
        let ticks = ((window - 0.001) / period).floor() + 1.0;
        let rate = (per_tick * ticks + full_rate).min(share);
        HotPlan {
            period: Duration::from_secs_f64(period),
            rate: rate as u64,
            headroom: headroom as u64,
        }
    }
}

/// The poller's state: what it knows and what it planned.
pub(super) struct State {
    pub(super) cfg: PollerConfig,
    pub(super) paused: bool,
    pub(super) hot: bool,
    /// The hot tier, when the source has one.
    pub(super) tier: Option<HotTier>,
    /// What the last successful sweep cost.
    pub(super) sweep_cost: Option<u64>,
    pub(super) auth_stopped: bool,
    pub(super) consecutive_failures: u32,
    pub(super) last_cost: u64,
    pub(super) budget: Budget,
    pub(super) last_started: Option<Instant>,
    pub(super) planned: Plan,
    /// When the next poll is due.
    pub(super) due: Instant,
    /// The user asked for this poll: the plan does not hold it back.
    pub(super) forced: bool,
}

impl State {
    pub(super) fn base_interval(&self) -> Duration {
        // The hot tier watches what moves: the sweep keeps the normal interval.
        if self.hot && !self.tier_active() {
            self.cfg.fast_interval.min(self.cfg.interval)
        } else {
            self.cfg.interval
        }
    }

    pub(super) fn budget(&self) -> u64 {
        u64::from(self.cfg.budget_per_minute.max(1))
    }

    /// The shortest time from one poll's start to the next that keeps polls
    /// costing `cost` within the budget: as many whole polls a minute as fit,
    /// or, when one poll costs more than the budget, its share of minutes (the
    /// client spaces its pages meanwhile).
    pub(super) fn pace(&self, cost: u64) -> Duration {
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
    pub(super) fn next_due(
        &mut self,
        started: Instant,
        now: Instant,
        err: Option<&ApiError>,
    ) -> Instant {
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
    pub(super) fn earliest_start(&mut self, now: Instant) -> Instant {
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

    pub(super) fn stats(&mut self, now: Instant, source: &dyn Source) -> Stats {
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
            tick: self.tier.as_ref().and_then(|t| t.last),
        }
    }

    /// Whether the hot tier runs: the source has one, a sweep has cost more
    /// than a tick would (a project that costs no more is simply swept), and
    /// polling is on.
    pub(super) fn tier_active(&self) -> bool {
        match (&self.tier, self.sweep_cost) {
            (Some(t), Some(cost)) => {
                !self.paused && !self.auth_stopped && t.reads > 0 && cost > t.reads
            }
            _ => false,
        }
    }

    /// Requests a minute the hot tier may take: its share of the budget.
    pub(super) fn hot_share(&self) -> u64 {
        (self.budget() * u64::from(defaults::HOT_BUDGET_PERCENT) / 100).max(1)
    }

    /// The hot tier's plan at this budget ([`HotTier::plan`]).
    pub(super) fn hot_plan(&self) -> Option<HotPlan> {
        let t = self.tier.as_ref()?;
        let base = self.cfg.fast_interval.min(self.cfg.interval);
        Some(t.plan(
            self.hot_share(),
            base,
            self.status_period(),
            self.problem_period(),
        ))
    }

    /// From one hot tick's start to the next: the fast interval, stretched
    /// when the ticks would take more than their share, and backing off while
    /// they fail.
    pub(super) fn hot_period(&self) -> Duration {
        let base = self.cfg.fast_interval.min(self.cfg.interval);
        let (Some(t), Some(plan)) = (&self.tier, self.hot_plan()) else {
            return base;
        };
        let mut period = plan.period;
        if t.failures > 0 {
            let exp = period.saturating_mul(1 << (t.failures - 1).min(6));
            period = exp.min(self.cfg.max_backoff).max(period);
        }
        period
    }

    /// When the next hot tick is due (far off while the tier does not run).
    pub(super) fn hot_due(&self, now: Instant) -> Instant {
        match &self.tier {
            Some(t) if self.tier_active() => t.last_started.map_or(now, |s| s + self.hot_period()),
            _ => now + Duration::from_secs(86_400),
        }
    }

    /// The slots of the window the sweep's pages leave to the hot tier while
    /// it runs: its costliest recent tick and a light one (which may come
    /// just before it), so a full tick finds its slots free instead of
    /// waiting for the sweep's to age out (issue 20: 6–17 s at 120 a minute).
    /// Never more than the tier's share.
    pub(super) fn hot_room(&self) -> u64 {
        match &self.tier {
            Some(t) if self.tier_active() => {
                let light = t.estimates().0.ceil() as u64;
                (t.largest() + light).min(self.hot_share())
            }
            _ => 0,
        }
    }

    /// The pace of the next sweep while the tier runs: the budget less what
    /// the hot tier takes at its pace and the room kept for its costliest
    /// tick, and never less than what the tier's share leaves: the sweep
    /// never starves, and the two seldom queue for the same slots (when they
    /// do, the tick goes first: [`crate::api::ratelimit`]).
    pub(super) fn sweep_pace(&self) -> Option<u32> {
        if !self.tier_active() {
            return None;
        }
        let plan = self.hot_plan()?;
        let least = self.budget().saturating_sub(self.hot_share());
        let rest = self
            .budget()
            .saturating_sub(plan.rate + plan.headroom)
            .max(least)
            .max(1);
        Some(u32::try_from(rest).unwrap_or(u32::MAX))
    }

    /// How often the problem totals are counted: every interval at the
    /// default budget; under a smaller one, as much less often as the budget
    /// is smaller (the same share of any budget), but at least every
    /// [`defaults::PROBLEM_COUNT_AT_LEAST`]: at 120 a minute, five counts
    /// every 20 s, 15 requests of the hot tier's 72. The recent read sees most
    /// failures at once; the totals are for what it cannot see.
    pub(super) fn problem_period(&self) -> Duration {
        self.scaled(self.cfg.interval)
    }

    /// How often a tick reads every hot status of a large kind (the full
    /// read; the other ticks read only what changed, newest first): every
    /// tick at the default budget, and as much less often as the budget is
    /// smaller, at least every [`defaults::PROBLEM_COUNT_AT_LEAST`]: at 120 a
    /// minute, every 15 s, seven reads, where every tick (~10 s apart then)
    /// made each tick cost twice a light one. The recent read sees the moves
    /// at once; the status reads prove them, and find the ones it cannot see.
    /// A kind whose recent read is off reads its statuses every tick.
    pub(super) fn status_period(&self) -> Duration {
        self.scaled(self.cfg.fast_interval.min(self.cfg.interval))
    }

    /// `every` at the default budget; as much longer as the budget is
    /// smaller, at most [`defaults::PROBLEM_COUNT_AT_LEAST`] (never shorter
    /// than `every`).
    fn scaled(&self, every: Duration) -> Duration {
        let scale = f64::from(defaults::BUDGET_PER_MINUTE) / self.budget() as f64;
        every
            .mul_f64(scale.max(1.0))
            .min(defaults::PROBLEM_COUNT_AT_LEAST)
            .max(every)
    }
}

/// The schedule decided after the last poll.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plan {
    pub(super) started: Instant,
    pub(super) due: Instant,
    pub(super) budget_limited: bool,
}
