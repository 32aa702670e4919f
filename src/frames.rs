//! Frame pacing: what the pollers bring is drawn at most
//! `defaults::MAX_FRAMES_PER_SECOND` times a second on average, what the user
//! does at once.
//!
//! Pages may arrive faster than a person can see (a first sweep's burst, a
//! large hot tick), and drawing each batch costs more than applying it. The
//! pace is GCRA, from `governor` (as the request budget is): after a quiet
//! spell up to `defaults::FRAME_BURST` batches are drawn back to back, then one
//! frame per gap (50 ms at 20 a second). A start needs the burst: the poll's
//! start, the first page and the sweep's end of `--demo` arrive within a few
//! ms, and with a plain gap the count the user waits for was held 50 ms behind
//! the first rows (BENCHMARKS.md, "Restructure").
//!
//! A batch that may not be drawn yet leaves one frame owed, drawn as soon as
//! the pace allows: it carries every change since, and nothing that arrived
//! waits longer than a gap. Any frame (a key's, the 1 s tick's) pays what is
//! owed. Keys never wait.

use std::future::Future;
use std::num::NonZeroU32;

use governor::Quota;
use tokio::time::Instant;

use crate::tokio_clock::{Gcra, TokioClock};

/// When to draw what the pollers changed.
pub struct Frames {
    pace: Gcra,
    /// When the owed frame may be drawn; `None` while nothing is owed.
    due: Option<Instant>,
}

impl std::fmt::Debug for Frames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frames")
            .field("due", &self.due)
            .finish_non_exhaustive()
    }
}

impl Frames {
    /// At most `per_second` frames a second for news (at least one), after a
    /// burst of up to `burst` (at least one).
    pub fn new(per_second: u32, burst: u32) -> Frames {
        let quota = Quota::per_second(NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        Frames {
            pace: governor::RateLimiter::direct_with_clock(quota, TokioClock),
            due: None,
        }
    }

    /// News changed the screen: true when it is to be drawn now (the frame is
    /// counted); else a frame is owed and [`Frames::wait`] ends when it is due.
    pub fn news(&mut self) -> bool {
        if self.due.is_some() {
            // The owed frame will show this too.
            return false;
        }
        match self.pace.check() {
            Ok(()) => true,
            Err(not_until) => {
                self.due = Some(not_until.earliest_possible().0);
                false
            }
        }
    }

    /// A frame was drawn, for whatever reason: it shows everything so far. An
    /// owed frame it pays is counted against the pace; a key's frame with
    /// nothing owed is not.
    pub fn drawn(&mut self) {
        if self.due.take().is_some() {
            let _ = self.pace.check();
        }
    }

    /// Ends when the owed frame is due; never while none is owed.
    pub fn wait(&self) -> impl Future<Output = ()> + use<> {
        let due = self.due;
        async move {
            match due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Duration;

    const GAP: Duration = Duration::from_millis(50);

    /// 20 a second after a burst of `burst`.
    fn frames(burst: u32) -> Frames {
        Frames::new(20, burst)
    }

    #[tokio::test(start_paused = true)]
    async fn a_start_within_the_burst_is_drawn_as_it_happens() {
        // The poll's start, two pages and the sweep's end, a ms apart.
        let mut f = frames(5);
        for _ in 0..4 {
            assert!(f.news(), "drawn at once");
            f.drawn();
            tokio::time::advance(Duration::from_millis(1)).await;
        }
        assert_eq!(f.due, None);
    }

    #[tokio::test(start_paused = true)]
    async fn past_the_burst_news_is_one_frame_owed_at_most_a_gap_away() {
        let mut f = frames(2);
        assert!(f.news());
        assert!(f.news());
        let start = Instant::now();
        tokio::time::advance(Duration::from_millis(10)).await;
        assert!(!f.news());
        let due = f.due.expect("owed");
        tokio::time::advance(Duration::from_millis(20)).await;
        assert!(!f.news());
        assert_eq!(f.due, Some(due), "one frame, not one per batch");
        assert!(due <= start + GAP, "{:?} after the burst", due - start);
        f.wait().await;
        assert_eq!(Instant::now(), due, "drawn as soon as it is due");
        f.drawn();
        assert_eq!(f.due, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_of_batches_is_drawn_at_the_pace_and_never_left_undrawn() {
        let mut f = frames(5);
        let start = Instant::now();
        let mut frames = 0;
        // A batch every 10 ms for two seconds; an owed frame drawn when due.
        while Instant::now() < start + Duration::from_secs(2) {
            let batch = tokio::time::sleep(Duration::from_millis(10));
            tokio::select! {
                () = batch => if f.news() { frames += 1; f.drawn(); },
                () = f.wait() => { frames += 1; f.drawn(); },
            }
        }
        assert!(
            (40..=45).contains(&frames),
            "{frames} frames in 2 s at 20 a second after a burst of 5"
        );
        // The last batch is never left undrawn.
        if f.due.is_some() {
            tokio::time::timeout(GAP, f.wait())
                .await
                .expect("due within a gap");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn any_frame_pays_what_is_owed_and_nothing_is_owed_without_news() {
        let mut f = frames(1);
        assert!(f.news());
        assert!(!f.news());
        // A key draws at once, whatever the pace: it shows the news too.
        f.drawn();
        assert_eq!(f.due, None);
        let waited = tokio::time::timeout(Duration::from_secs(5), f.wait()).await;
        assert!(waited.is_err(), "no frame owed, no wake-up");
    }

    #[tokio::test(start_paused = true)]
    async fn keys_do_not_spend_the_pace() {
        let mut f = frames(1);
        for _ in 0..10 {
            f.drawn();
        }
        assert!(f.news(), "keys' frames left the news its frame");
    }

    #[tokio::test(start_paused = true)]
    async fn zero_means_one() {
        let mut f = Frames::new(0, 0);
        assert!(f.news());
        assert!(!f.news());
        let due = f.due.expect("owed");
        assert_eq!(due - Instant::now(), Duration::from_secs(1));
    }
}
