//! The first sweep's burst: a number of requests that may go past the steady
//! request budget, so a large project's rows arrive in seconds instead of after
//! a budget-paced minute. It is spent once per session (and dropped when the
//! first sweep ends, whatever is left), then the steady budget holds.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// The default burst: one sweep of 10,000 instances at 50 a page (200 pages,
/// with the sweep's overlap and repairs ≤ 1.1×), plus the CodeLab listing.
pub const DEFAULT_FIRST_BURST: u32 = 250;

const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub struct Burst {
    left: AtomicU64,
    ended: AtomicBool,
    /// Send times of burst requests in the last minute, for the request rate.
    sent: Mutex<VecDeque<Instant>>,
}

impl Burst {
    /// No burst: every request goes through the limiter.
    pub fn none() -> Burst {
        Burst {
            ended: AtomicBool::new(true),
            ..Burst::default()
        }
    }

    pub fn new(n: u32) -> Burst {
        Burst {
            left: AtomicU64::new(u64::from(n)),
            ended: AtomicBool::new(n == 0),
            sent: Mutex::new(VecDeque::new()),
        }
    }

    /// Takes one request from the burst at `now`; false when none is left.
    pub fn take(&self, now: Instant) -> bool {
        if self.ended.load(Ordering::Relaxed) {
            return false;
        }
        let took = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
        if took {
            let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
            while sent.front().is_some_and(|t| *t + WINDOW <= now) {
                sent.pop_front();
            }
            sent.push_back(now);
        } else {
            self.ended.store(true, Ordering::Relaxed);
        }
        took
    }

    /// The first sweep is over: the steady budget holds from now on.
    pub fn end(&self) {
        self.ended.store(true, Ordering::Relaxed);
        self.left.store(0, Ordering::Relaxed);
    }

    /// Requests the burst still allows (`None` once it is over).
    pub fn left(&self) -> Option<u64> {
        (!self.ended.load(Ordering::Relaxed)).then(|| self.left.load(Ordering::Relaxed))
    }

    /// Burst requests sent in the 60 s before `now`.
    pub fn sent_in_window(&self, now: Instant) -> u64 {
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.iter()
            .filter(|t| **t <= now && now.duration_since(**t) < WINDOW)
            .count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spends_then_ends() {
        let b = Burst::new(2);
        let t0 = Instant::now();
        assert_eq!(b.left(), Some(2));
        assert!(b.take(t0) && b.take(t0));
        assert!(!b.take(t0), "spent");
        assert_eq!(b.left(), None);
        assert_eq!(b.sent_in_window(t0), 2);
        assert_eq!(b.sent_in_window(t0 + WINDOW), 0);
        let b = Burst::new(100);
        assert!(b.take(t0));
        b.end();
        assert!(!b.take(t0), "ended with the first sweep");
        assert!(!Burst::none().take(t0));
        assert_eq!(Burst::none().left(), None);
    }
}
