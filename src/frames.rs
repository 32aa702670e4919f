//! Frame pacing: what the pollers bring is drawn at most
//! `defaults::MAX_FRAMES_PER_SECOND` times a second, what the user does at once.
//!
//! Pages may arrive faster than a person can see (a first sweep's burst, a
//! large hot tick), and drawing each batch costs more than applying it. The
//! ceiling is 20, not fewer: a 250 ms gap held the first rows of `--demo` back
//! past the first-paint target (BENCHMARKS.md, "Restructure"), so at the
//! default budget's dozen batches a second it rarely holds a frame back. So a batch of news is drawn at once when
//! the last frame is older than the gap, else one frame is owed and drawn when
//! the gap has passed: it carries every change since, and nothing that arrived
//! waits longer than the gap. Any frame (a key's, the 1 s tick's) pays what is
//! owed. Keys never wait: typing draws at once, and so do the first rows (the
//! event loop draws the batch that fills an empty table without asking: the
//! poll's start, drawn a moment before, would otherwise hold them a gap).

use std::future::Future;

use tokio::time::{Duration, Instant};

/// When to draw what the pollers changed.
#[derive(Debug)]
pub struct Frames {
    gap: Duration,
    last: Option<Instant>,
    due: Option<Instant>,
}

impl Frames {
    /// At most `n` frames a second for news (at least one).
    pub fn per_second(n: u32) -> Frames {
        Frames {
            gap: Duration::from_secs(1) / n.max(1),
            last: None,
            due: None,
        }
    }

    /// News changed the screen at `now`: true when it is to be drawn now; else a
    /// frame is owed and [`Frames::wait`] ends when it is due.
    pub fn news(&mut self, now: Instant) -> bool {
        match self.last {
            Some(last) if now < last + self.gap => {
                self.due.get_or_insert(last + self.gap);
                false
            }
            _ => true,
        }
    }

    /// A frame was drawn at `now`, for whatever reason: it shows everything so far.
    pub fn drawn(&mut self, now: Instant) {
        self.last = Some(now);
        self.due = None;
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

    const GAP: Duration = Duration::from_millis(250);

    fn drawn_now() -> Frames {
        let mut f = Frames::per_second(4);
        f.drawn(Instant::now());
        f
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_news_and_news_after_the_gap_are_drawn_at_once() {
        let mut f = Frames::per_second(4);
        assert!(f.news(Instant::now()), "nothing drawn yet");
        f.drawn(Instant::now());
        tokio::time::advance(GAP).await;
        assert!(f.news(Instant::now()));
        assert_eq!(f.due, None);
    }

    #[tokio::test(start_paused = true)]
    async fn news_within_the_gap_is_one_frame_owed_at_the_end_of_the_gap() {
        let mut f = drawn_now();
        let start = Instant::now();
        tokio::time::advance(Duration::from_millis(40)).await;
        assert!(!f.news(Instant::now()));
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(!f.news(Instant::now()));
        assert_eq!(f.due, Some(start + GAP), "one frame, not one per batch");
        f.wait().await;
        assert_eq!(
            Instant::now(),
            start + GAP,
            "drawn as soon as the gap has passed"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_dozen_batches_a_second_make_at_most_four_frames() {
        let mut f = Frames::per_second(4);
        let start = Instant::now();
        let mut frames = 0;
        // A batch every 80 ms for a second; an owed frame drawn when due.
        while Instant::now() < start + Duration::from_secs(1) {
            let batch = tokio::time::sleep(Duration::from_millis(80));
            tokio::select! {
                () = batch => if f.news(Instant::now()) { frames += 1; f.drawn(Instant::now()); },
                () = f.wait() => { frames += 1; f.drawn(Instant::now()); },
            }
        }
        assert!((3..=4).contains(&frames), "{frames} frames");
        // The last batch is never left undrawn.
        if f.due.is_some() {
            f.wait().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn any_frame_pays_what_is_owed_and_nothing_is_owed_without_news() {
        let mut f = drawn_now();
        assert!(!f.news(Instant::now()));
        // A key draws at once, whatever the pace: it shows the news too.
        f.drawn(Instant::now());
        assert_eq!(f.due, None);
        let waited = tokio::time::timeout(Duration::from_secs(5), f.wait()).await;
        assert!(waited.is_err(), "no frame owed, no wake-up");
    }

    #[test]
    fn zero_a_second_means_one() {
        assert_eq!(Frames::per_second(0).gap, Duration::from_secs(1));
    }
}
