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
    requests: AtomicU64,
    /// Every request: when, and whether the hot tier sent it.
    log: Mutex<Vec<(Instant, bool)>>,
    /// The pace each sweep was given.
    paces: Mutex<Vec<Option<u32>>>,
}

impl Tiered {
    fn new(sweep_cost: u64, hot_cost: u64) -> Arc<Tiered> {
        Arc::new(Tiered {
            sweep_cost,
            hot_cost,
            requests: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
            paces: Mutex::new(Vec::new()),
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

    fn hot_memory(&self) -> Option<hot::Memory> {
        // One kind, NOTEBOOK: a probe and seven status reads a tick.
        Some(hot::Memory::new(&ListQuery {
            feature: Some("NOTEBOOK".into()),
            ..ListQuery::default()
        }))
    }

    fn hot_tick<'a>(&'a self, memory: hot::Memory, _problems_due: bool) -> HotFuture<'a> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(60)).await;
            self.send(self.hot_cost, true);
            let news = hot::News {
                requests: self.hot_cost,
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

#[tokio::test(start_paused = true)]
async fn at_the_default_budget_hot_ticks_every_fast_interval_and_sweeps_keep_their_share() {
    // 10,000 instances: a sweep of 210 requests; a tick of 8 status reads.
    let src = Tiered::new(210, 8);
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
    // The tier takes 8 × 30 = 240 a minute; the sweep is paced to the other 660.
    let paces = src.paces.lock().unwrap().clone();
    assert_eq!(paces[0], None, "the first sweep is not held back");
    assert!(paces[1..].iter().all(|p| *p == Some(660)), "{paces:?}");
    // 210 requests at 660 a minute: a sweep every 19 s, never starved.
    for g in gaps(&sweeps[1..]) {
        assert!(
            g >= Duration::from_secs(19) && g <= Duration::from_millis(19_300),
            "{g:?}"
        );
    }
    let steady = src.busiest_minute(sweeps[0]);
    assert!((850..=900).contains(&steady), "{steady} in a minute");
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

#[tokio::test(start_paused = true)]
async fn a_small_budget_is_never_exceeded() {
    let src = Tiered::new(210, 8);
    let cfg = PollerConfig {
        budget_per_minute: 120,
        ..PollerConfig::default()
    };
    let (sweeps, ticks) = watch(src.clone(), cfg, Duration::from_secs(900)).await;
    // 8 requests in a share of 72 a minute: 9 whole ticks a minute.
    for g in gaps(&ticks) {
        let per_minute = Duration::from_secs(60) / 9;
        assert!(
            g >= per_minute && g <= per_minute + Duration::from_millis(100),
            "{g:?}"
        );
    }
    // The sweep has the other 48: 210 requests in ≈ 263 s.
    for g in gaps(&sweeps[1..]) {
        assert!(g <= Duration::from_secs(264), "{g:?}");
    }
    assert!(sweeps.len() >= 4, "{} sweeps", sweeps.len());
    let steady = src.busiest_minute(sweeps[0]);
    assert!(steady <= 120, "{steady} in a minute");
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
}
