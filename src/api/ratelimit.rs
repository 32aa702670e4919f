//! The request budget: how many requests nbwatch may send, and when.
//!
//! Two rules hold together.
//! - Pacing is GCRA, from `governor`: a burst of up to `burst` requests at once,
//!   then one every `60 s / per_minute`, so a refresh larger than the burst is
//!   spread out instead of stalling for a minute.
//! - A hard cap that GCRA alone does not give: no 60 s window (`(t − 60 s, t]`)
//!   ever holds more than `per_minute` requests. (GCRA lets a full burst be
//!   followed by a minute of steady pacing: `burst + per_minute` in one window.)
//!   The send times kept for the cap are also the meter the status bar reads.
//!
//! Two classes share the one budget. A request sent with [`RateLimiter::acquire`]
//! (the hot tier's reads, ShowNotebook, actions) goes ahead of one sent with
//! [`RateLimiter::acquire_yielding`] (the paced sweep's pages): while any of the
//! first kind waits for its turn, no yielding request takes a slot. Without
//! this the sweep's pages, queued for the same slots, delayed a hot tick by
//! as many slots as they took (issue 20: ticks 15.6 s apart at 120 a minute
//! where 10–12 s were planned). The budget is the same for both: the class
//! decides only who goes first.
//!
//! Going first orders the waiters; it cannot make slots. So yielding requests
//! also leave room: they take a slot only while the window holds fewer than
//! the budget less [`RateLimiter::keep_room`] (the hot tier's costliest tick,
//! set by the poller after each tick). Without it a sweep paced for cheap
//! ticks filled the minute, and a full tick waited 6–17 s for slots to age
//! out (issue 20, at 120 a minute).
//!
//! Time is tokio's, so tests with a paused clock drive the limiter as they
//! drive everything else.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use governor::Quota;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::tokio_clock::{Gcra, TokioClock};

/// The sliding window every limit and count is over.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

/// Paces requests under a per-minute budget and counts them. Shared by every
/// page and every clone of a client.
pub struct RateLimiter {
    /// `None`: count only, never wait (`list`).
    limit: Option<(u32, Gcra)>,
    /// Send times in the last window, oldest first.
    sent: Mutex<VecDeque<Instant>>,
    /// Requests that had to wait for their turn.
    delayed: AtomicU64,
    /// Requests of the first class waiting for their turn.
    urgent: AtomicUsize,
    /// Told when the last of them got it.
    urgent_done: Notify,
    /// Time requests spent waiting, in µs: (first class, yielding).
    waited_us: [AtomicU64; 2],
    /// Slots of the window yielding requests leave to the first class.
    room: AtomicUsize,
}

/// Counts a first-class request as waiting while it lives.
struct Urgent<'a>(&'a RateLimiter);

impl Drop for Urgent<'_> {
    fn drop(&mut self) {
        if self.0.urgent.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.urgent_done.notify_waiters();
        }
    }
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("per_minute", &self.per_minute())
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// Counts requests, never delays them.
    pub fn unlimited() -> Self {
        RateLimiter::with_limit(None)
    }

    /// At most `per_minute` requests in any 60 s, bursts of up to `burst`.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst.min(per_minute.get())).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        RateLimiter::with_limit(Some((
            per_minute.get(),
            governor::RateLimiter::direct_with_clock(quota, TokioClock),
        )))
    }

    fn with_limit(limit: Option<(u32, Gcra)>) -> Self {
        RateLimiter {
            limit,
            sent: Mutex::new(VecDeque::new()),
            delayed: AtomicU64::new(0),
            urgent: AtomicUsize::new(0),
            urgent_done: Notify::new(),
            waited_us: [AtomicU64::new(0), AtomicU64::new(0)],
            room: AtomicUsize::new(0),
        }
    }

    /// The burst for a limit when `concurrency` pages are fetched at once: half
    /// the minute's budget (a refresh up to that size goes at full speed when
    /// polls are paced to the budget), and at least one round of pages.
    pub fn default_burst(per_minute: u32, concurrency: usize) -> u32 {
        let round = u32::try_from(concurrency)
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        (per_minute / 2).max(round).min(per_minute.max(1))
    }

    /// The limit, if any.
    pub fn per_minute(&self) -> Option<u32> {
        self.limit.as_ref().map(|(n, _)| *n)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Instant>> {
        // Each statement leaves the log consistent: a panic elsewhere cannot
        // leave it half-updated, so a poisoned lock is still usable.
        self.sent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for the turn to send one request, and counts it as sent. It goes
    /// ahead of every request sent with [`RateLimiter::acquire_yielding`].
    pub async fn acquire(&self) {
        self.urgent.fetch_add(1, Ordering::SeqCst);
        let _waiting = Urgent(self);
        self.take_turn(false).await;
    }

    /// Like [`RateLimiter::acquire`], but the turn goes to any request of the
    /// first class waiting meanwhile (the sweep's pages yield to the hot tier's
    /// reads): this one is sent only when none waits.
    pub async fn acquire_yielding(&self) {
        self.take_turn(true).await;
    }

    /// Yielding requests from now on leave `n` slots of the window to the
    /// first class (never all of it: at least one slot stays theirs, so a
    /// sweep always goes on).
    pub fn keep_room(&self, n: u64) {
        self.room
            .store(usize::try_from(n).unwrap_or(usize::MAX), Ordering::Relaxed);
    }

    /// How many requests of this class the window may hold: the budget, less
    /// the room kept for the first class when yielding.
    fn cap_for(&self, yielding: bool) -> Option<usize> {
        let cap = self.per_minute()? as usize;
        if !yielding {
            return Some(cap);
        }
        Some(cap.saturating_sub(self.room.load(Ordering::Relaxed)).max(1))
    }

    /// Waits until no first-class request waits.
    async fn yield_to_urgent(&self) -> bool {
        let mut waited = false;
        loop {
            let done = self.urgent_done.notified();
            tokio::pin!(done);
            // Registered before the check: a notice between the two is not lost.
            done.as_mut().enable();
            if self.urgent.load(Ordering::SeqCst) == 0 {
                return waited;
            }
            waited = true;
            done.await;
        }
    }

    async fn take_turn(&self, yielding: bool) {
        let began = Instant::now();
        let mut waited = false;
        if let Some((_, gcra)) = &self.limit {
            loop {
                if yielding {
                    waited |= self.yield_to_urgent().await;
                }
                match gcra.check() {
                    Ok(()) => break,
                    Err(not_until) => {
                        waited = true;
                        tokio::time::sleep_until(not_until.earliest_possible().0).await;
                    }
                }
            }
        }
        loop {
            let cap = self.cap_for(yielding);
            // A yielding request that woke for a slot lets a first-class one
            // that came meanwhile have it.
            if yielding && cap.is_some() {
                waited |= self.yield_to_urgent().await;
            }
            let now = Instant::now();
            let free_at = {
                let mut sent = self.lock();
                while sent.front().is_some_and(|t| *t + RATE_WINDOW <= now) {
                    sent.pop_front();
                }
                match cap {
                    // The request `cap` back must leave the window first.
                    Some(cap) if sent.len() >= cap => Some(sent[sent.len() - cap] + RATE_WINDOW),
                    _ => {
                        sent.push_back(now);
                        None
                    }
                }
            };
            match free_at {
                None => break,
                Some(at) => {
                    waited = true;
                    tokio::time::sleep_until(at).await;
                }
            }
        }
        if waited {
            self.delayed.fetch_add(1, Ordering::Relaxed);
            let us = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
            self.waited_us[usize::from(yielding)].fetch_add(us, Ordering::Relaxed);
        }
    }

    /// Time requests have spent waiting for their turn so far: (the first
    /// class, yielding requests). Where a late hot tick waited, measured.
    pub fn waited(&self) -> (Duration, Duration) {
        let get = |i: usize| Duration::from_micros(self.waited_us[i].load(Ordering::Relaxed));
        (get(0), get(1))
    }

    /// Requests so far that had to wait for their turn.
    pub fn delayed(&self) -> u64 {
        self.delayed.load(Ordering::Relaxed)
    }

    /// Requests sent in the 60 s before `now`.
    pub fn sent_in_window(&self, now: Instant) -> u64 {
        let sent = self.lock();
        sent.iter()
            .filter(|t| **t <= now && now.duration_since(**t) < RATE_WINDOW)
            .count() as u64
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Largest number of send times in any window `(t - 60 s, t]`.
    fn max_in_window(times: &[Instant]) -> usize {
        times
            .iter()
            .map(|end| {
                times
                    .iter()
                    .filter(|s| **s <= *end && end.duration_since(**s) < RATE_WINDOW)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    /// Acquires `n` times one after another; the time of each send.
    async fn send_in_turn(l: &RateLimiter, n: usize) -> Vec<Instant> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            l.acquire().await;
            out.push(Instant::now());
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn a_refresh_larger_than_the_budget_is_spaced_never_bursts_past_it() {
        // 10,000 instances at 50 per page: 200 pages against 120 a minute.
        let l = RateLimiter::new(120, 30);
        let t0 = Instant::now();
        let sent = send_in_turn(&l, 200).await;
        assert!(
            sent[..30].iter().all(|s| *s == t0),
            "the burst goes at once"
        );
        let gap = sent[30] - t0;
        assert!(
            gap >= Duration::from_millis(499) && gap <= Duration::from_millis(501),
            "then one per 0.5 s: {gap:?}"
        );
        assert_eq!(max_in_window(&sent), 120);
        for w in sent.windows(121) {
            assert!(w[120] - w[0] >= RATE_WINDOW);
        }
        // Two pages a second on average: 200 pages take about 100 s.
        let took = sent[199] - t0;
        assert!(
            took >= Duration::from_secs(80) && took <= Duration::from_secs(101),
            "{took:?}"
        );
        // Past the burst requests wait their turn (a few go at once again when
        // the burst leaves the window, still within the budget).
        assert!(l.delayed() >= 100 && l.delayed() <= 170, "{}", l.delayed());
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_are_released_in_time_and_within_the_window() {
        let l = Arc::new(RateLimiter::new(60, 8));
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move {
                    l.acquire().await;
                    Instant::now()
                })
            })
            .collect();
        let mut sent = Vec::new();
        for t in tasks {
            sent.push(t.await.unwrap());
        }
        sent.sort();
        assert_eq!(sent.iter().filter(|s| **s == t0).count(), 8);
        assert_eq!(max_in_window(&sent), 60);
        assert!(sent[99] - t0 >= RATE_WINDOW, "{:?}", sent[99] - t0);
        assert_eq!(l.sent_in_window(Instant::now()), 60);
    }

    #[tokio::test(start_paused = true)]
    async fn irregular_arrivals_never_exceed_the_window() {
        let l = RateLimiter::new(50, 20);
        let mut sent = Vec::new();
        for i in 0u64..600 {
            // Quiet spells, bursts and trickles.
            tokio::time::sleep(Duration::from_millis(match i % 97 {
                0 => 45_000,
                1..=40 => 0,
                _ => (i * 7919) % 900,
            }))
            .await;
            l.acquire().await;
            sent.push(Instant::now());
        }
        assert!(max_in_window(&sent) <= 50);
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_counts_but_never_waits() {
        let l = RateLimiter::unlimited();
        let t0 = Instant::now();
        let sent = send_in_turn(&l, 500).await;
        assert!(sent.iter().all(|t| *t == t0));
        assert_eq!(l.sent_in_window(t0), 500);
        assert_eq!(l.sent_in_window(t0 + Duration::from_secs(59)), 500);
        assert_eq!(l.delayed(), 0);
        assert_eq!(l.per_minute(), None);
        tokio::time::advance(RATE_WINDOW).await;
        assert_eq!(l.sent_in_window(Instant::now()), 0, "aged out");
    }

    #[tokio::test(start_paused = true)]
    async fn first_class_requests_go_ahead_of_yielding_ones_within_one_budget() {
        // 60 a minute, one at a time. A sweep keeps four pages waiting (its
        // concurrency); a hot tick's five reads arrive at 10.5 s.
        let l = Arc::new(RateLimiter::new(60, 1));
        let log = Arc::new(Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let sweep: Vec<_> = (0..4)
            .map(|_| {
                let (l, log) = (l.clone(), log.clone());
                tokio::spawn(async move {
                    for _ in 0..40 {
                        l.acquire_yielding().await;
                        log.lock().unwrap().push((Instant::now(), false));
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(10_500)).await;
        let tick: Vec<_> = (0..5)
            .map(|_| {
                let (l, log) = (l.clone(), log.clone());
                tokio::spawn(async move {
                    l.acquire().await;
                    log.lock().unwrap().push((Instant::now(), true));
                })
            })
            .collect();
        for t in tick {
            t.await.unwrap();
        }
        // The tick's reads are the next five sends, one a second (the budget's
        // pace), none behind the sweep's queue.
        let sent = log.lock().unwrap().clone();
        let after: Vec<_> = sent
            .iter()
            .filter(|(t, _)| *t > t0 + Duration::from_millis(10_500))
            .collect();
        assert!(
            after.len() == 5 && after.iter().all(|(_, hot)| *hot),
            "{after:?}"
        );
        assert_eq!(after[4].0 - t0, Duration::from_secs(15));
        let (hot_waited, sweep_waited) = l.waited();
        assert!(
            hot_waited <= Duration::from_millis(5 * 4_500),
            "{hot_waited:?}"
        );
        assert!(sweep_waited > Duration::ZERO);
        // The sweep goes on after it, and the one budget holds for both.
        for t in sweep {
            t.await.unwrap();
        }
        let sent = log.lock().unwrap().clone();
        assert_eq!(sent.len(), 165);
        let times: Vec<Instant> = sent.iter().map(|(t, _)| *t).collect();
        assert_eq!(max_in_window(&times), 60);
    }

    #[tokio::test(start_paused = true)]
    async fn yielding_requests_leave_the_room_kept_and_a_tick_takes_it_at_once() {
        // 60 a minute, a burst of 60: a sweep with pages always waiting, 12
        // slots kept for the hot tier.
        let l = Arc::new(RateLimiter::new(60, 60));
        l.keep_room(12);
        let sweep = tokio::spawn({
            let l = l.clone();
            async move {
                let mut sent = Vec::new();
                for _ in 0..200 {
                    l.acquire_yielding().await;
                    sent.push(Instant::now());
                }
                sent
            }
        });
        // Whenever the full tick comes, its 12 reads find slots at once,
        // though the sweep has been filling the window all along.
        let start = Instant::now();
        for at in [10_000, 61_000, 97_500] {
            tokio::time::sleep_until(start + Duration::from_millis(at)).await;
            assert!(l.sent_in_window(Instant::now()) <= 48);
            let t0 = Instant::now();
            for _ in 0..12 {
                l.acquire().await;
            }
            assert_eq!(Instant::now(), t0, "the tick waited");
            assert!(l.sent_in_window(Instant::now()) <= 60);
        }
        // Room kept is never the whole window: with more kept than the
        // budget the sweep still goes on, one slot at a time.
        l.keep_room(1_000);
        let sent = sweep.await.unwrap();
        assert_eq!(sent.len(), 200);
        assert!(max_in_window(&sent) <= 48, "{}", max_in_window(&sent));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_first_class_request_does_not_hold_the_others_back() {
        let l = Arc::new(RateLimiter::new(60, 1));
        l.acquire().await; // the one slot of the burst
        // A hot read that waits, then is dropped (its tick was cancelled).
        let waiting = tokio::spawn({
            let l = l.clone();
            async move { l.acquire().await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        waiting.abort();
        let _ = waiting.await;
        let t0 = Instant::now();
        l.acquire_yielding().await;
        assert!(Instant::now() - t0 <= Duration::from_secs(1), "not stuck");
    }

    #[test]
    fn default_burst_is_half_and_at_least_a_round() {
        assert_eq!(RateLimiter::default_burst(120, 8), 60);
        assert_eq!(RateLimiter::default_burst(10, 8), 9);
        assert_eq!(RateLimiter::default_burst(4, 8), 4);
        assert_eq!(RateLimiter::default_burst(0, 8), 1);
    }
}
