//! The simulator's clock: real time scaled by a speed factor, or manual time that
//! only moves when told to. Both can be pushed forward with [`SimClock::advance`].

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

/// Simulated time in epoch milliseconds. Cheap to clone (shared state).
#[derive(Clone, Debug)]
pub struct SimClock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    start_ms: i64,
    /// `None`: manual clock.
    real: Option<(Instant, f64)>,
    /// Added on top: manual advances.
    offset_ms: AtomicI64,
}

impl SimClock {
    /// Starts at `start_ms` and runs at `speed` times real time (speed 1 = wall speed).
    pub fn real(start_ms: i64, speed: f64) -> Self {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        SimClock {
            inner: Arc::new(Inner {
                start_ms,
                real: Some((Instant::now(), speed)),
                offset_ms: AtomicI64::new(0),
            }),
        }
    }

    /// Stands still at `start_ms` until [`advance`](Self::advance)d.
    pub fn manual(start_ms: i64) -> Self {
        SimClock {
            inner: Arc::new(Inner {
                start_ms,
                real: None,
                offset_ms: AtomicI64::new(0),
            }),
        }
    }

    pub fn is_manual(&self) -> bool {
        self.inner.real.is_none()
    }

    /// The current simulated time, epoch ms.
    pub fn now_ms(&self) -> i64 {
        let scaled = match self.inner.real {
            Some((t0, speed)) => (t0.elapsed().as_secs_f64() * 1000.0 * speed) as i64,
            None => 0,
        };
        self.inner
            .start_ms
            .saturating_add(scaled)
            .saturating_add(self.inner.offset_ms.load(Ordering::SeqCst))
    }

    /// Moves simulated time forward by `ms` (negative values are ignored).
    pub fn advance(&self, ms: i64) {
        if ms > 0 {
            self.inner.offset_ms.fetch_add(ms, Ordering::SeqCst);
        }
    }
}

/// Wall-clock epoch milliseconds: read only at the edges (server start, auth).
pub use crate::timefmt::now_ms as wall_now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let c = SimClock::manual(1_000);
        assert!(c.is_manual());
        assert_eq!(c.now_ms(), 1_000);
        c.advance(500);
        c.advance(-100);
        assert_eq!(c.now_ms(), 1_500);
        let shared = c.clone();
        shared.advance(1);
        assert_eq!(c.now_ms(), 1_501);
    }

    #[test]
    fn real_clock_never_goes_backwards_and_can_be_pushed() {
        let c = SimClock::real(10_000, 1000.0);
        let a = c.now_ms();
        c.advance(60_000);
        let b = c.now_ms();
        assert!(b >= a + 60_000);
        assert!(!c.is_manual());
        assert_eq!(
            SimClock::real(0, f64::NAN).inner.real.map(|r| r.1),
            Some(1.0)
        );
    }
}
