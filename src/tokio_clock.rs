//! tokio's clock for `governor`, so its limiters (the request budget, the frame
//! pacing) run on the time tests pause and advance like everything else.

use std::ops::Add;
use std::time::Duration;

use governor::clock::{Clock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use tokio::time::Instant;

/// A point on tokio's clock, as `governor` measures time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tick(pub Instant);

impl Add<Nanos> for Tick {
    type Output = Tick;
    fn add(self, d: Nanos) -> Tick {
        Tick(self.0 + Duration::from_nanos(d.as_u64()))
    }
}

impl Reference for Tick {
    fn duration_since(&self, earlier: Self) -> Nanos {
        self.0.saturating_duration_since(earlier.0).into()
    }

    fn saturating_sub(&self, d: Nanos) -> Self {
        Tick(
            self.0
                .checked_sub(Duration::from_nanos(d.as_u64()))
                .unwrap_or(self.0),
        )
    }
}

/// tokio's clock for `governor`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    type Instant = Tick;
    fn now(&self) -> Tick {
        Tick(Instant::now())
    }
}

/// A direct (unkeyed) GCRA limiter on tokio's clock.
pub type Gcra = governor::RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Tick>>;
