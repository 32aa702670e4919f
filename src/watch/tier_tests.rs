//! The hot tier's schedule beside the sweep, on a paused clock: the budget is
//! never exceeded, the sweep never starves, and a small project is simply swept.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::*;

/// A source with a hot tier. A sweep of `sweep_cost` requests takes as long
/// as its pace says (one request every `60 s / pace`, as the client's pacer
/// spaces them; 100 ms in all when unpaced); a hot tick costs `hot_cost`.
struct Tiered {
    sweep_cost: u64,
    hot_cost: u64,
    /// What a tick's full reads add: (every hot status, the problem totals).
    full_cost: (u64, u64),
    requests: AtomicU64,
    /// Every request: when, and whether the hot tier sent it.
    log: Mutex<Vec<(Instant, bool)>>,
    /// The pace each sweep was given.
    paces: Mutex<Vec<Option<u32>>>,
    /// When a hot tick was asked to count the problem totals.
    problems: Mutex<Vec<Instant>>,
    /// When a hot tick was asked to read every hot status.
    statuses: Mutex<Vec<Instant>>,
    /// The room the sweep was told to leave the hot tier, each time.
    rooms: Mutex<Vec<u64>>,
}

impl Tiered {
    /// Every tick costs `hot_cost`, whatever it reads.
    fn new(sweep_cost: u64, hot_cost: u64) -> Arc<Tiered> {
        Tiered::layered(sweep_cost, hot_cost, 0, 0)
    }

    /// A light tick costs `light`; the status reads add `statuses`, the
    /// problem totals `problems`.
    fn layered(sweep_cost: u64, light: u64, statuses: u64, problems: u64) -> Arc<Tiered> {
        Arc::new(Tiered {
            sweep_cost,
            hot_cost: light,
            full_cost: (statuses, problems),
            requests: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
            paces: Mutex::new(Vec::new()),
            problems: Mutex::new(Vec::new()),
            statuses: Mutex::new(Vec::new()),
            rooms: Mutex::new(Vec::new()),
        })
    }

    fn send(&self, n: u64, hot: bool) {
        let now = Instant::now();
        self.requests.fetch_add(n, Ordering::SeqCst);
        let mut log = self.log.lock().unwrap();
        log.extend(std::iter::repeat_n((now, hot), n as usize));
    }

    /// Most requests in any 60 s window of those sent after `after` (the
    /// first sweep's burst goes past the budget by design).
    fn busiest_minute(&self, after: Instant) -> usize {
        let log = self.log.lock().unwrap();
        let times: Vec<Instant> = log.iter().map(|(t, _)| *t).filter(|t| *t > after).collect();
        let mut best = 0;
        let mut lo = 0;
        for hi in 0..times.len() {
            while times[hi] - times[lo] >= Duration::from_secs(60) {
                lo += 1;
            }
            best = best.max(hi + 1 - lo);
        }
        best
    }
}

impl Source for Tiered {
    fn fetch<'a>(
        &'a self,
        _pages: &'a PageSender,
        pace: Option<u32>,
    ) -> Pin<Box<dyn Future<Output = Result<Listing, ApiError>> + Send + 'a>> {
        self.paces.lock().unwrap().push(pace);
        Box::pin(async move {
            match pace {
                Some(per_minute) => {
                    let gap = Duration::from_secs(60) / per_minute.max(1);
                    for _ in 0..self.sweep_cost {
                        tokio::time::sleep(gap).await;
                        self.send(1, false);
                    }
                }
                None => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    self.send(self.sweep_cost, false);
                }
            }
            Ok(Listing {
                requests: self.sweep_cost,
                complete: true,
                ..Listing::default()
            })
        })
    }

    fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    fn keep_room(&self, n: u64) {
        self.rooms.lock().unwrap().push(n);
    }

    fn hot_memory(&self) -> Option<hot::Memory> {
        // One kind, NOTEBOOK: a probe, seven status reads and the recent read.
        Some(hot::Memory::new(&ListQuery {
            feature: Some("NOTEBOOK".into()),
            ..ListQuery::default()
        }))
    }

    fn hot_tick<'a>(&'a self, memory: hot::Memory, due: hot::Due) -> HotFuture<'a> {
        if due.problems {
            self.problems.lock().unwrap().push(Instant::now());
        }
        if due.statuses {
            self.statuses.lock().unwrap().push(Instant::now());
        }
        let statuses = if due.statuses { self.full_cost.0 } else { 0 };
        let problems = if due.problems { self.full_cost.1 } else { 0 };
        let cost = self.hot_cost + statuses + problems;
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(60)).await;
            self.send(cost, true);
            let news = hot::News {
                requests: cost,
                status_requests: statuses,
                problem_requests: problems,
                ..hot::News::default()
            };
            (memory, news)
        })
    }
}

/// Runs a poller on `src` for `for_` (simulated); the times sweeps ended and
/// hot ticks ended.
async fn watch(
    src: Arc<Tiered>,
    cfg: PollerConfig,
    for_: Duration,
) -> (Vec<Instant>, Vec<Instant>) {
    let mut h = spawn(src, cfg);
    let end = Instant::now() + for_;
    let (mut sweeps, mut ticks) = (Vec::new(), Vec::new());
    loop {
        let msg = tokio::select! {
            m = h.messages.recv() => m,
            _ = tokio::time::sleep_until(end) => break,
        };
        match msg {
            Some(Message::Snapshot { .. }) => sweeps.push(Instant::now()),
            Some(Message::Hot { .. }) => ticks.push(Instant::now()),
            Some(Message::Failed { error, .. }) => panic!("{error}"),
            Some(_) => {}
            None => break,
        }
    }
    (sweeps, ticks)
}

fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Every gap between `times` is within `lo..=hi`.
fn gaps_within(times: &[Instant], lo: Duration, hi: Duration) {
    for g in gaps(times) {
        assert!(g >= lo && g <= hi, "{g:?} not within {lo:?}..={hi:?}");
    }
}

fn mean(d: &[Duration]) -> Duration {
    d.iter().sum::<Duration>() / u32::try_from(d.len().max(1)).unwrap()
}

#[tokio::test(start_paused = true)]
async fn at_the_default_budget_hot_ticks_every_fast_interval_and_sweeps_keep_their_share() {
    // 10,000 instances: a sweep of 210 requests; a tick of 7 status reads,
    // the recent read and the CodeLab page.
    let src = Tiered::new(210, 9);
    let cfg = PollerConfig::default();
    assert_eq!(cfg.budget_per_minute, 900);
    let (sweeps, ticks) = watch(src.clone(), cfg, Duration::from_secs(600)).await;
    // The first sweep goes alone; then the tier ticks every 2 s.
    assert!(ticks.len() >= 280, "{} ticks in 10 min", ticks.len());
    for g in gaps(&ticks) {
        assert!(
            g >= Duration::from_secs(2) && g <= Duration::from_millis(2_100),
            "{g:?}"
        );
    }
    // The tier takes 9 × 30 = 270 a minute; the sweep is paced to the other 630.
    let paces = src.paces.lock().unwrap().clone();
    assert_eq!(paces[0], None, "the first sweep is not held back");
    assert!(paces[1..].iter().all(|p| *p == Some(630)), "{paces:?}");
    // 210 requests at 630 a minute: a sweep every 20 s, never starved.
    for g in gaps(&sweeps[1..]) {
        assert!(
            g >= Duration::from_secs(20) && g <= Duration::from_millis(20_300),
            "{g:?}"
        );
    }
    let steady = src.busiest_minute(sweeps[0]);
    assert!((850..=900).contains(&steady), "{steady} in a minute");
    // The problem totals every interval (5 s) on average, with the tick
    // nearest their time: 4 or 6 s apart with ticks every 2 s.
    let checks = gaps(&src.problems.lock().unwrap());
    assert!(
        checks
            .iter()
            .all(|g| *g >= Duration::from_secs(4) && *g <= Duration::from_millis(6_100)),
        "{checks:?}"
    );
    let m = mean(&checks);
    assert!(
        m >= Duration::from_millis(4_900) && m <= Duration::from_millis(5_100),
        "{m:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn costly_hot_ticks_stretch_to_their_share_and_the_sweep_never_starves() {
    // Ticks of 100 requests (large hot sets, many leavers): at most 60 % of
    // 900 a minute is theirs (540), so five ticks a minute, and the sweep
    // keeps the other 400.
    let src = Tiered::new(210, 100);
    let (sweeps, ticks) = watch(
        src.clone(),
        PollerConfig::default(),
        Duration::from_secs(600),
    )
    .await;
    for g in gaps(&ticks) {
        assert!(
            g >= Duration::from_secs(12) && g <= Duration::from_millis(12_100),
            "{g:?}"
        );
    }
    // 210 requests at 400 a minute: a sweep every ~32 s. The longest sweep
    // period at the default budget is 210 requests at the 360 a minute the
    // tier never takes: 35 s.
    for g in gaps(&sweeps[1..]) {
        assert!(g <= Duration::from_secs(32), "{g:?}");
    }
    assert!(sweeps.len() >= 18, "{} sweeps", sweeps.len());
    let steady = src.busiest_minute(sweeps[0]);
    assert!(steady <= 900, "{steady} in a minute");
}

fn at_120() -> PollerConfig {
    PollerConfig {
        budget_per_minute: 120,
        ..PollerConfig::default()
    }
}

#[tokio::test(start_paused = true)]
async fn at_120_a_minute_ticks_spread_evenly_over_the_share_and_the_budget_holds() {
    // A source whose ticks cost 11 requests whatever they read (no full read
    // measured apart): the plan treats every tick alike.
    let src = Tiered::new(210, 11);
    let (sweeps, ticks) = watch(src.clone(), at_120(), Duration::from_secs(900)).await;
    // The first tick is planned on what the memory counts (the problem
    // totals, five requests every 20 s, not measured yet): 12 s. Then 11
    // requests in a share of 72 a minute: 6 whole ticks a minute, one every
    // 10 s.
    assert!(
        gaps(&ticks)[..2]
            .iter()
            .all(|g| *g <= Duration::from_secs(15))
    );
    gaps_within(
        &ticks[2..],
        Duration::from_secs(10),
        Duration::from_millis(10_100),
    );
    // The sweep has the other 54 (50 while the totals' cost was a guess):
    // 210 requests in ≈ 233 s.
    let paces = src.paces.lock().unwrap().clone();
    assert!(paces[1].is_some_and(|p| p >= 48), "{paces:?}");
    assert!(paces[2..].iter().all(|p| *p == Some(54)), "{paces:?}");
    gaps_within(&sweeps[2..], Duration::ZERO, Duration::from_secs(234));
    sweeps_go_on_within_120(&src, &sweeps);
}

/// At 120 a minute the sweep still comes round (four in the run at least),
/// and no minute after the first sweep's burst holds more than the budget.
fn sweeps_go_on_within_120(src: &Tiered, sweeps: &[Instant]) {
    assert!(sweeps.len() >= 4, "{} sweeps", sweeps.len());
    let steady = src.busiest_minute(sweeps[0]);
    assert!(steady <= 120, "{steady} in a minute");
}

#[tokio::test(start_paused = true)]
async fn at_120_a_minute_the_problem_totals_come_every_20_s_not_every_interval() {
    // Five counts every 5 s would be 60 of the hot tier's 72 requests a
    // minute: the ticks would stretch to half a minute. Every 20 s (the
    // longest, `defaults::PROBLEM_COUNT_AT_LEAST`) they cost 15.
    let src = Tiered::new(210, 11);
    let (_, ticks) = watch(src.clone(), at_120(), Duration::from_secs(600)).await;
    let counted = src.problems.lock().unwrap().clone();
    let tick = gaps(&ticks)[0];
    assert!(counted.len() >= 25, "{} counts in 10 min", counted.len());
    // With the tick nearest their time: never more than half a tick late.
    let every = Duration::from_secs(20);
    gaps_within(&counted, every - tick, every + tick);
    // On average every 20 s (a little less while the first ticks' plan
    // guessed the totals' cost).
    let m = mean(&gaps(&counted));
    assert!(
        m >= Duration::from_millis(19_000) && m <= Duration::from_millis(20_500),
        "{m:?}"
    );
    let steady = src.busiest_minute(Instant::now() - Duration::from_secs(300));
    assert!(steady <= 120, "{steady} in a minute");
}

#[tokio::test(start_paused = true)]
async fn a_small_budget_is_never_exceeded_even_by_costly_ticks() {
    // Ticks of 40 requests (a burst of leavers the recent read could not
    // place) at 120 a minute: one fits in the share of 72 a minute.
    let src = Tiered::new(210, 40);
    let (sweeps, ticks) = watch(src.clone(), at_120(), Duration::from_secs(900)).await;
    gaps_within(
        &ticks,
        Duration::from_secs(60),
        Duration::from_millis(60_100),
    );
    sweeps_go_on_within_120(&src, &sweeps);
}

#[tokio::test(start_paused = true)]
async fn a_small_project_is_simply_swept() {
    // A sweep of 3 pages costs less than a tick of 8 reads: no hot tier, the
    // sweep every interval (and at the fast one while something moves).
    let src = Tiered::new(3, 8);
    let mut h = spawn(src.clone(), PollerConfig::default());
    let mut ends = Vec::new();
    while ends.len() < 4 {
        match h.messages.recv().await.unwrap() {
            Message::Snapshot { stats, .. } => {
                assert_eq!(stats.hot, None);
                ends.push(Instant::now());
            }
            Message::Hot { .. } => panic!("no hot tier for a small project"),
            _ => {}
        }
    }
    for g in gaps(&ends) {
        assert_eq!(g, Duration::from_millis(5_100));
    }
    h.commands.send(Control::SetHot(true)).unwrap();
    let mut fast = Vec::new();
    while fast.len() < 3 {
        if let Message::Snapshot { .. } = h.messages.recv().await.unwrap() {
            fast.push(Instant::now());
        }
    }
    assert_eq!(gaps(&fast), [Duration::from_millis(2_100); 2]);
    assert!(src.paces.lock().unwrap().iter().all(Option::is_none));
    assert!(src.log.lock().unwrap().iter().all(|(_, hot)| !hot));
}

#[tokio::test(start_paused = true)]
async fn pausing_stops_the_hot_tier_too() {
    let src = Tiered::new(210, 8);
    let mut h = spawn(src.clone(), PollerConfig::default());
    // Wait for the tier to run.
    loop {
        if let Message::Hot { stats, .. } = h.messages.recv().await.unwrap() {
            assert_eq!(stats.hot, Some(Duration::from_secs(2)));
            break;
        }
    }
    h.commands.send(Control::SetPaused(true)).unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = src.requests_sent();
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(src.requests_sent(), before, "nothing while paused");
    // Nor is the budget's window held back for it.
    assert_eq!(src.rooms.lock().unwrap().last(), Some(&0));
}

#[tokio::test(start_paused = true)]
async fn at_120_the_sweep_leaves_the_window_room_for_the_costliest_tick_and_a_light_one() {
    // Light ticks of 2, the status reads add 7, the problem totals 5 (never
    // with the status reads at 120): the costliest tick is 9, and a light
    // tick may come just before it, so the sweep's pages leave 11 slots of
    // the window to the tier, whatever pace the sweep was given at its start.
    let src = Tiered::layered(210, 2, 7, 5);
    let _ = watch(src.clone(), at_120(), Duration::from_secs(300)).await;
    let rooms = src.rooms.lock().unwrap().clone();
    // Set when the first sweep ends (the tier starts: a full tick as the
    // memory counts it, 2 + 7 + 5, and a light one), then after every tick,
    // as measured from the first ticks on.
    assert_eq!(rooms.first(), Some(&16), "{rooms:?}");
    assert!(rooms.len() >= 40, "after each tick: {}", rooms.len());
    assert!(rooms[1..].iter().all(|r| *r == 11), "{rooms:?}");
}

#[tokio::test(start_paused = true)]
async fn at_120_light_ticks_come_between_full_reads_and_the_window_keeps_room_for_them() {
    // 10,000 instances at 120 a minute, as measured in the fresh bench: a
    // light tick is the recent read and the CodeLab page (2); the seven
    // status reads come every 15 s, the five problem totals every 20 s.
    let src = Tiered::layered(210, 2, 7, 5);
    let (sweeps, ticks) = watch(src.clone(), at_120(), Duration::from_secs(900)).await;
    // Light ticks of 2 in what the full reads leave of the share (72 less
    // 28 a minute of status reads and 15 of problem totals; the room for the
    // costliest tick, 2 + 7, is kept in the window by the limiter, not taken
    // from the share): 14 ticks a minute, one every 4.3 s, where ticks that
    // all read everything came every 10 s (above). A change the recent read
    // shows is on screen within a tick: the p95 of 15 s holds.
    let tick = Duration::from_secs(60) / 14;
    gaps_within(&ticks[2..], tick, tick + Duration::from_millis(1));
    // The status reads every 15 s on average, with the tick nearest their
    // time (never more than a tick late); the problem totals every 20 s on
    // average, never with the status reads, at most two ticks late (28.6 s
    // apart at most, within the 30 s target: a failure the recent read
    // cannot see).
    let statuses = src.statuses.lock().unwrap().clone();
    let problems = src.problems.lock().unwrap().clone();
    gaps_within(
        &statuses,
        Duration::from_secs(15) - tick,
        Duration::from_secs(15) + tick,
    );
    let m = mean(&gaps(&statuses));
    assert!(
        m >= Duration::from_millis(14_500) && m <= Duration::from_millis(15_500),
        "{m:?}"
    );
    let late = gaps(&problems).into_iter().max().unwrap();
    assert!(late <= Duration::from_secs(20) + tick * 2, "{late:?}");
    let m = mean(&gaps(&problems));
    assert!(
        m >= Duration::from_millis(19_000) && m <= Duration::from_millis(21_000),
        "{m:?}"
    );
    assert!(statuses.iter().all(|t| !problems.contains(t)), "apart");
    // The sweep is paced to what is left after the tier's rate and the room
    // (120 less the tier's 71 and the room of 7 is 42: the least, 48 a minute), and still comes round.
    let paces = src.paces.lock().unwrap().clone();
    assert!(paces[1..].iter().all(|p| *p == Some(48)), "{paces:?}");
    gaps_within(&sweeps[1..], Duration::ZERO, Duration::from_secs(263));
    // No minute holds more than the budget though nothing here waits for
    // the limiter: the plan itself leaves the room, so the client's limiter
    // never holds a tick back behind the sweep's pages.
    sweeps_go_on_within_120(&src, &sweeps);
}

#[test]
fn the_plan_counts_each_full_read_at_its_own_rate() {
    let start = Instant::now();
    let memory = hot::Memory::new(&ListQuery {
        feature: Some("NOTEBOOK".into()),
        ..ListQuery::default()
    });
    let mut t = plan::HotTier::new(memory, start);
    let (share, fast) = (72, Duration::from_secs(2));
    let (every_15, every_20) = (Duration::from_secs(15), Duration::from_secs(20));
    // Before any tick: as counted (the probe and the recent read, seven
    // status reads, five totals).
    assert_eq!(t.estimates(), (2.0, 7.0, 5.0));
    let light = |requests| hot::News {
        requests,
        ..hot::News::default()
    };
    let full = |requests, status_requests, problem_requests| hot::News {
        requests,
        status_requests,
        problem_requests,
        ..hot::News::default()
    };
    let none = hot::Due::default();
    let statuses = hot::Due {
        statuses: true,
        problems: false,
    };
    let problems = hot::Due {
        statuses: false,
        problems: true,
    };
    t.record(&full(9, 7, 0), statuses);
    t.record(&light(2), none);
    // The first problem read reads the sets whole (no totals known): not
    // what a count costs, so not in the estimate.
    t.record(&full(27, 0, 25), problems);
    assert_eq!(t.estimates(), (2.0, 7.0, 5.0));
    t.record(&full(7, 0, 5), problems);
    t.record(&light(2), none);
    assert_eq!(t.estimates(), (2.0, 7.0, 5.0));
    let p = t.plan(share, fast, every_15, every_20);
    // The share pays for the rate alone (the room for the costliest tick is
    // kept in the window by the limiter): 72 − 28 − 15 leaves 14 light ticks.
    let tick = Duration::from_secs(60) / 14;
    assert!(p.period.abs_diff(tick) < Duration::from_micros(1), "{p:?}");
    // The room beyond a light tick is the costliest tick remembered, the
    // start's whole problem read (27), kept in the window by the limiter.
    assert_eq!((p.rate, p.headroom), (2 * 14 + 28 + 15, 25));
    // A status read done though not due (the recent read is off) is part of
    // every tick.
    let mut off = plan::HotTier::new(
        hot::Memory::new(&ListQuery {
            feature: Some("NOTEBOOK".into()),
            ..ListQuery::default()
        }),
        start,
    );
    for _ in 0..10 {
        off.record(&full(8, 7, 0), none);
    }
    assert_eq!(off.estimates().0, 8.0);
    // A full read due more often than the ticks can come is in every tick:
    // at 60 a minute (share 36), two ticks of 2 + 7 + 5 a minute.
    let p = t.plan(36, fast, Duration::from_secs(2), Duration::from_secs(5));
    assert_eq!(p.period, Duration::from_secs(30));
    // The room beyond such a tick: the start's whole read, 27 − 14.
    assert_eq!(p.headroom, 13);
}
