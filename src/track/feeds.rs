//! One feed per source: its own sweeps, freshness and errors. The app's
//! [`PollState`] is the feeds taken together (one feed: exactly that feed), so
//! everything that shows "the" polling state keeps working; what only makes
//! sense per source (which one is failing, since when) reads the feeds.

use super::poll::{Freshness, PollState, SweepProgress};

/// What the app knows of one source's polling.
#[derive(Debug, Clone)]
pub struct Feed {
    /// What the table and header call the source (profile, or region).
    pub name: String,
    pub poll: PollState,
    /// Requests its poller may send in any minute (each source has its own
    /// budget), when known: the status bar says so with several sources.
    pub budget_per_minute: Option<u32>,
    /// The sweep pages are arriving for (each instance remembers the last it was seen in).
    pub(crate) sweep_seq: u64,
    pub(crate) sweeps_complete: u64,
    pub(crate) last_sweep_complete: bool,
}

impl Feed {
    pub fn new(name: String, poll: PollState) -> Feed {
        Feed {
            name,
            poll,
            budget_per_minute: None,
            sweep_seq: 1,
            sweeps_complete: 0,
            last_sweep_complete: false,
        }
    }

    /// Whether its rows are what the service last said: false while it fails
    /// or is late, so the table marks them.
    pub fn rows_current(&self, now_ms: i64) -> bool {
        !matches!(
            self.poll.freshness(now_ms),
            Freshness::Failing { .. } | Freshness::AuthStopped { .. }
        )
    }
}

/// The feeds taken together, into `all`. The user's settings (interval,
/// pause) live in `all` and are copied to every feed; what the pollers report
/// is combined: the oldest good sweep, the first failure (an authentication
/// stop first), every request counted.
pub fn combine(feeds: &mut [Feed], all: &mut PollState) {
    for f in feeds.iter_mut() {
        f.poll.interval = all.interval;
        f.poll.paused_since_ms = all.paused_since_ms;
    }
    let oldest_ok = feeds
        .iter()
        .map(|f| f.poll.last_ok_ms)
        .try_fold(i64::MAX, |acc, ok| ok.map(|t| acc.min(t)));
    all.last_ok_ms = oldest_ok.filter(|_| !feeds.is_empty());
    let failing = feeds
        .iter()
        .find(|f| f.poll.auth_stopped)
        .or_else(|| feeds.iter().find(|f| f.poll.last_error.is_some()));
    all.last_error = failing.and_then(|f| f.poll.last_error.clone());
    all.last_error_at_ms = failing.and_then(|f| f.poll.last_error_at_ms);
    all.auth_stopped = failing.is_some_and(|f| f.poll.auth_stopped);
    all.in_flight_since_ms = feeds.iter().filter_map(|f| f.poll.in_flight_since_ms).min();
    let sweeping: Vec<SweepProgress> = feeds.iter().filter_map(|f| f.poll.sweep).collect();
    all.sweep = (!sweeping.is_empty()).then(|| SweepProgress {
        loaded: sweeping.iter().map(|s| s.loaded).sum(),
        total: sweeping.iter().map(|s| s.total).sum(),
    });
    let samples: Vec<(u32, i64)> = feeds
        .iter()
        .filter_map(|f| f.poll.requests_sample())
        .collect();
    if let Some(at) = samples.iter().map(|(_, at)| *at).max() {
        let sum = samples.iter().map(|(n, _)| *n).fold(0, u32::saturating_add);
        all.record_requests(sum, at);
    }
    all.pace.fast = feeds.iter().filter_map(|f| f.poll.pace.fast).min();
    all.pace.budget = feeds.iter().filter_map(|f| f.poll.pace.budget).max();
    // The hot tier: the slowest source's pace and oldest tick, any failure.
    all.pace.hot = feeds.iter().filter_map(|f| f.poll.pace.hot).max();
    all.last_hot_ms = feeds.iter().filter_map(|f| f.poll.last_hot_ms).min();
    all.hot_error = feeds.iter().find_map(|f| f.poll.hot_error.clone());
    let bursts: Vec<u64> = feeds.iter().filter_map(|f| f.poll.burst_left).collect();
    all.burst_left = (!bursts.is_empty()).then(|| bursts.iter().sum());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::poll::PollErrorInfo;
    use std::time::Duration;

    fn feed(name: &str) -> Feed {
        Feed::new(name.into(), PollState::new(Duration::from_secs(10)))
    }

    #[test]
    fn one_failing_feed_makes_the_whole_failing_and_the_oldest_sweep_counts() {
        let mut feeds = vec![feed("bj"), feed("sg")];
        let mut all = PollState::new(Duration::from_secs(10));
        feeds[0].poll.last_ok_ms = Some(5_000);
        combine(&mut feeds, &mut all);
        assert_eq!(
            all.last_ok_ms, None,
            "a source still loading: no complete view"
        );
        feeds[1].poll.last_ok_ms = Some(3_000);
        feeds[1].poll.last_error = Some(PollErrorInfo {
            status: Some(500),
            ..PollErrorInfo::default()
        });
        combine(&mut feeds, &mut all);
        assert_eq!(all.last_ok_ms, Some(3_000));
        assert_eq!(all.last_error.as_ref().and_then(|e| e.status), Some(500));
        assert!(feeds[0].rows_current(6_000));
        assert!(!feeds[1].rows_current(6_000));
    }

    #[test]
    fn the_users_interval_and_pause_reach_every_feed() {
        let mut feeds = vec![feed("bj"), feed("sg")];
        let mut all = PollState::new(Duration::from_secs(30));
        all.paused_since_ms = Some(1);
        combine(&mut feeds, &mut all);
        assert!(feeds.iter().all(
            |f| f.poll.interval == Duration::from_secs(30) && f.poll.paused_since_ms == Some(1)
        ));
    }
}
