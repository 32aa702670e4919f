//! What the dashboard knows about polling: when data last arrived, the last error,
//! pause, the stop after an authentication failure, the interval and request rate.
//! The poller itself lives elsewhere; it reports here through `App`.

use std::time::Duration;

/// A failed poll as the poller reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PollErrorInfo {
    /// HTTP status, when a response arrived at all.
    pub status: Option<u16>,
    /// Service error code, e.g. `APIGW.0308`.
    pub code: Option<String>,
    pub message: String,
    /// `X-Request-Id`, which support asks for.
    pub request_id: Option<String>,
    /// What the user can do about it.
    pub hint: Option<String>,
    /// Consecutive failed attempts, 1 for the first.
    pub attempt: u32,
    /// 401/403: the poller has stopped so the AK does not get locked.
    pub auth: bool,
    /// When the poller tries again (epoch ms); `None` when it has stopped or did not say.
    pub next_retry_at_ms: Option<i64>,
    /// The poller itself stopped (its task died): nothing will try again.
    pub stopped: bool,
    /// How the exchange failed when no answer came (`status` is `None`).
    pub no_answer: crate::api::ErrorKind,
}

impl PollErrorInfo {
    /// What the state model shows of a client error, the `consecutive`-th in a row.
    pub fn from_api(e: &crate::api::ApiError, consecutive: u32) -> PollErrorInfo {
        PollErrorInfo {
            status: e.status(),
            code: e.code().map(str::to_string),
            message: e.message(),
            request_id: e.request_id().map(str::to_string),
            hint: e.hint(),
            attempt: consecutive,
            auth: e.is_auth(),
            next_retry_at_ms: None,
            stopped: false,
            no_answer: e.class().kind,
        }
    }

    /// The short code of [`crate::api::ErrorClass::short`] (`429 APIGW.0308`,
    /// `HTTP 502`, `timeout`, `network`), or `poller stopped`.
    pub fn short_code(&self) -> String {
        if self.stopped {
            return "poller stopped".to_string();
        }
        crate::api::ErrorClass::new(self.status, self.code.clone(), self.no_answer).short()
    }
}

/// How far the sweep in progress is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SweepProgress {
    /// Instances received so far in this sweep.
    pub loaded: u64,
    /// What the service says there are, once a page has said.
    pub total: Option<u64>,
}

/// How fresh the data on screen is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// No data and no error yet.
    Loading,
    /// The last complete sweep ended `age_ms` ago: within twice the period the
    /// pace in force plans (the interval, or the budget's stretch of it).
    Fresh { age_ms: i64 },
    /// Older than twice the planned period (the poller is late or paused).
    Stale { age_ms: i64 },
    /// The last poll failed; `age_ms` is the age of the last good data, if any.
    Failing { age_ms: Option<i64> },
    /// Polling stopped after an authentication failure until the user asks again.
    AuthStopped { age_ms: Option<i64> },
}

/// What changes the poll interval from the one set, as the poller last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pace {
    /// The fast interval, while an instance on screen is changing state.
    pub fast: Option<Duration>,
    /// Start to start, when the request budget stretches the interval.
    pub budget: Option<Duration>,
    /// The hot tier's period, while it runs (then `fast` is not used).
    pub hot: Option<Duration>,
}

/// The intervals `+`/`-` step through.
pub const INTERVAL_STEPS_S: [u64; 9] = [2, 3, 5, 10, 15, 30, 60, 120, 300];

#[derive(Debug, Clone)]
pub struct PollState {
    pub interval: Duration,
    pub last_ok_ms: Option<i64>,
    pub last_error: Option<PollErrorInfo>,
    pub last_error_at_ms: Option<i64>,
    pub paused_since_ms: Option<i64>,
    pub auth_stopped: bool,
    /// A poll has started and not yet reported.
    pub in_flight_since_ms: Option<i64>,
    /// The poller's count of HTTP requests in the minute before `.1`.
    requests: Option<(u32, i64)>,
    /// Fast polling and the budget's stretch.
    pub pace: Pace,
    /// The sweep whose pages are arriving, if one is.
    pub sweep: Option<SweepProgress>,
    /// Requests the first sweep's burst still allows, while it lasts.
    pub burst_left: Option<u64>,
    /// When the hot tier's last tick ended.
    pub last_hot_ms: Option<i64>,
    /// What failed in the hot tier's last tick (`429 APIGW.0308`), if anything.
    pub hot_error: Option<String>,
}

impl PollState {
    pub fn new(interval: Duration) -> PollState {
        PollState {
            interval,
            last_ok_ms: None,
            last_error: None,
            last_error_at_ms: None,
            paused_since_ms: None,
            auth_stopped: false,
            in_flight_since_ms: None,
            requests: None,
            pace: Pace::default(),
            sweep: None,
            burst_left: None,
            last_hot_ms: None,
            hot_error: None,
        }
    }

    pub fn freshness(&self, now_ms: i64) -> Freshness {
        let age_ms = self.last_ok_ms.map(|t| now_ms.saturating_sub(t).max(0));
        if self.auth_stopped {
            return Freshness::AuthStopped { age_ms };
        }
        if self.last_error.is_some() {
            return Freshness::Failing { age_ms };
        }
        match age_ms {
            None => Freshness::Loading,
            Some(age_ms) if age_ms > 2 * self.planned_period_ms() => Freshness::Stale { age_ms },
            Some(age_ms) => Freshness::Fresh { age_ms },
        }
    }

    /// How often a complete sweep is planned: the interval asked for, or the
    /// budget's longer pace. A healthy sweep paced by the budget is not late.
    pub fn planned_period_ms(&self) -> i64 {
        let asked = self.asked_interval();
        let period = self.pace.budget.map_or(asked, |b| b.max(asked));
        i64::try_from(period.as_millis()).unwrap_or(i64::MAX)
    }

    /// A row not confirmed for longer than this says so: the sweep's planned
    /// period, and half again (at least 5 s) for where its page sits in the
    /// sweep and how long the sweep took.
    pub fn unconfirmed_after_ms(&self) -> i64 {
        let p = self.planned_period_ms();
        p.saturating_add((p / 2).max(5_000))
    }

    /// A sweep is under way (its pages are arriving or it has been asked for).
    pub fn sweeping(&self) -> bool {
        self.in_flight_since_ms.is_some() || self.sweep.is_some()
    }

    pub fn interval_ms(&self) -> i64 {
        i64::try_from(self.interval.as_millis()).unwrap_or(i64::MAX)
    }

    pub fn paused_for_ms(&self, now_ms: i64) -> Option<i64> {
        self.paused_since_ms
            .map(|since| now_ms.saturating_sub(since).max(0))
    }

    /// The next step up (`faster == false`) or down from the current interval.
    pub fn stepped_interval(&self, faster: bool) -> Duration {
        let cur = self.interval.as_secs();
        let next = if faster {
            INTERVAL_STEPS_S.iter().rev().find(|s| **s < cur)
        } else {
            INTERVAL_STEPS_S.iter().find(|s| **s > cur)
        };
        next.map(|s| Duration::from_secs(*s))
            .unwrap_or(self.interval)
    }

    /// The interval actually asked for: the fast one while it is shorter.
    pub fn asked_interval(&self) -> Duration {
        match self.pace.fast {
            Some(f) if f < self.interval => f,
            _ => self.interval,
        }
    }

    pub fn record_requests(&mut self, requests_last_minute: u32, at_ms: i64) {
        self.requests = Some((requests_last_minute, at_ms));
    }

    /// HTTP requests in the minute before `now_ms`, as last reported. A report
    /// older than a minute (paused, stopped) no longer describes the last minute.
    /// The last count recorded and when: (requests in the minute before, at).
    pub fn requests_sample(&self) -> Option<(u32, i64)> {
        self.requests
    }

    pub fn requests_per_min(&self, now_ms: i64) -> u32 {
        match self.requests {
            Some((n, at)) if now_ms.saturating_sub(at) < 60_000 => n,
            _ => 0,
        }
    }
}
