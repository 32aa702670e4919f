//! The poller's schedule on a paused clock: the interval, backoff, 401,
//! pause, the fast interval and the budget, with a scripted source.

use super::*;
use crate::api::error::HttpError;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::time::Instant;

/// A scripted source: each fetch pops the next result and counts `cost` requests.
struct Scripted {
    results: Mutex<VecDeque<Result<Listing, ApiError>>>,
    cost: u64,
    requests: Arc<AtomicU64>,
    delay: Duration,
}

impl Source for Scripted {
    fn fetch<'a>(
        &'a self,
        _pages: &'a PageSender,
        _pace: Option<u32>,
    ) -> Pin<Box<dyn Future<Output = Result<Listing, ApiError>> + Send + 'a>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.requests.fetch_add(self.cost, Ordering::SeqCst);
            self.results
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| Ok(Listing::default()))
        })
    }

    fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

fn start(
    results: Vec<Result<Listing, ApiError>>,
    cost: u64,
    cfg: PollerConfig,
) -> (Handle, Arc<Scripted>) {
    let requests = Arc::new(AtomicU64::new(0));
    let src = Arc::new(Scripted {
        results: Mutex::new(results.into()),
        cost,
        requests: requests.clone(),
        delay: Duration::from_millis(100),
    });
    let h = spawn(src.clone(), cfg);
    (h, src)
}

fn http(status: u16) -> ApiError {
    ApiError::Http(HttpError {
        status,
        ..Default::default()
    })
}

async fn next_outcome(h: &mut Handle) -> (Message, Instant) {
    loop {
        let m = h.messages.recv().await.unwrap();
        if !matches!(
            m,
            Message::Started | Message::Page { .. } | Message::Hot { .. }
        ) {
            return (m, Instant::now());
        }
    }
}

#[tokio::test(start_paused = true)]
async fn polls_at_once_then_on_the_interval() {
    let (mut h, _) = start(vec![], 1, PollerConfig::default());
    let t0 = Instant::now();
    let (m, t1) = next_outcome(&mut h).await;
    assert!(matches!(m, Message::Snapshot { .. }));
    assert_eq!(t1 - t0, Duration::from_millis(100));
    let (_, t2) = next_outcome(&mut h).await;
    assert_eq!(t2 - t1, Duration::from_millis(5100));
}

#[tokio::test(start_paused = true)]
async fn backs_off_on_errors_and_recovers_without_a_keypress() {
    let (mut h, _) = start(
        vec![Err(http(500)), Err(http(500)), Err(http(503))],
        1,
        PollerConfig::default(),
    );
    let mut waits = vec![];
    for n in 1..=3 {
        let (m, _) = next_outcome(&mut h).await;
        match m {
            Message::Failed {
                consecutive,
                next_in,
                ..
            } => {
                assert_eq!(consecutive, n);
                waits.push(next_in.unwrap());
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        waits,
        [
            Duration::from_secs(5),
            Duration::from_secs(10),
            Duration::from_secs(20)
        ]
    );
    let (m, _) = next_outcome(&mut h).await;
    assert!(matches!(m, Message::Snapshot { .. }), "recovered");
}

#[tokio::test(start_paused = true)]
async fn honours_retry_after() {
    let throttled = ApiError::Http(HttpError {
        status: 429,
        retry_after: Some(Duration::from_secs(30)),
        ..Default::default()
    });
    let (mut h, _) = start(vec![Err(throttled)], 1, PollerConfig::default());
    let (m, _) = next_outcome(&mut h).await;
    let Message::Failed { next_in, .. } = m else {
        panic!()
    };
    assert_eq!(next_in, Some(Duration::from_secs(30)));
}

#[tokio::test(start_paused = true)]
async fn stops_after_401_until_refresh() {
    let (mut h, src) = start(vec![Err(http(401))], 1, PollerConfig::default());
    let (m, _) = next_outcome(&mut h).await;
    let Message::Failed { next_in, .. } = m else {
        panic!()
    };
    assert_eq!(next_in, None);
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(
        src.requests.load(Ordering::SeqCst),
        1,
        "no request while stopped"
    );
    h.commands.send(Control::RefreshNow).unwrap();
    let (m, _) = next_outcome(&mut h).await;
    assert!(matches!(m, Message::Snapshot { .. }));
    assert_eq!(src.requests.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn pause_stops_polling_and_refresh_never_overlaps() {
    let (mut h, src) = start(vec![], 1, PollerConfig::default());
    next_outcome(&mut h).await;
    h.commands.send(Control::SetPaused(true)).unwrap();
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(src.requests.load(Ordering::SeqCst), 1);
    h.commands.send(Control::SetPaused(false)).unwrap();
    next_outcome(&mut h).await;
    // Many refreshes while a poll is in flight start no second poll.
    let _ = h.messages.recv().await; // Started
    for _ in 0..5 {
        h.commands.send(Control::RefreshNow).unwrap();
    }
    let before = src.requests.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(src.requests.load(Ordering::SeqCst) - before <= 1);
}

fn stats_of(m: &Message) -> Stats {
    match m {
        Message::Snapshot { stats, .. } | Message::Failed { stats, .. } => *stats,
        Message::Hot { stats, .. } => *stats,
        Message::Started | Message::Page { .. } => panic!("no stats in {m:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn hot_mode_polls_at_the_fast_interval_then_back() {
    let (mut h, _) = start(vec![], 1, PollerConfig::default());
    let (m, t1) = next_outcome(&mut h).await;
    assert!(!stats_of(&m).fast);
    // An instance starts moving: the next poll comes at the fast interval,
    // counted from the last one, not after the rest of the normal one.
    h.commands.send(Control::SetHot(true)).unwrap();
    let (m, t2) = next_outcome(&mut h).await;
    assert_eq!(
        t2 - t1,
        Duration::from_millis(2100),
        "fast interval while hot"
    );
    let s = stats_of(&m);
    assert!(s.fast && !s.budget_limited);
    assert_eq!(s.interval, Duration::from_secs(2));
    assert_eq!(
        s.effective_interval,
        Duration::from_secs(2) + Duration::from_millis(100)
    );
    let (_, t3) = next_outcome(&mut h).await;
    assert_eq!(t3 - t2, Duration::from_millis(2100));
    // Everything settled: back to the normal interval.
    h.commands.send(Control::SetHot(false)).unwrap();
    let (_, t4) = next_outcome(&mut h).await;
    let (m, t5) = next_outcome(&mut h).await;
    assert_eq!(t4 - t3, Duration::from_millis(2100), "already planned");
    assert_eq!(t5 - t4, Duration::from_millis(5100));
    assert!(!stats_of(&m).fast);
}

#[tokio::test(start_paused = true)]
async fn budget_stretches_the_fast_interval_and_says_so() {
    let cfg = PollerConfig {
        budget_per_minute: 100,
        ..Default::default()
    };
    let (mut h, _) = start(vec![], 40, cfg);
    h.commands.send(Control::SetHot(true)).unwrap();
    let mut outcomes = vec![];
    for _ in 0..12 {
        outcomes.push(next_outcome(&mut h).await);
    }
    // 40 requests a poll at 100 a minute: two polls a minute, evenly, not
    // one every 2 s until the minute is used up.
    for w in outcomes.windows(2) {
        let gap = w[1].1 - w[0].1;
        // A poll's requests count from its end (100 ms after its start).
        assert!(
            gap >= Duration::from_secs(30) && gap <= Duration::from_millis(30_100),
            "{gap:?}"
        );
    }
    let s = stats_of(&outcomes[3].0);
    assert!(s.fast && s.budget_limited, "{s:?}");
    assert_eq!(s.interval, Duration::from_secs(2));
    assert!(
        s.effective_interval >= Duration::from_secs(30)
            && s.effective_interval <= Duration::from_millis(30_100),
        "{s:?}"
    );
    // No 60 s window holds more than the budget.
    for (i, (_, end)) in outcomes.iter().enumerate() {
        let in_window = outcomes[..=i]
            .iter()
            .filter(|(_, t)| *end - *t < Duration::from_secs(60))
            .count() as u32;
        assert!(in_window * 40 <= 100, "{in_window} polls in a minute");
    }
    assert!(s.requests_last_minute <= 100);
}

#[tokio::test(start_paused = true)]
async fn a_refresh_larger_than_the_budget_keeps_polling_paced() {
    // 10,000 instances at 50 a page against the default 120 a minute.
    let cfg = PollerConfig {
        budget_per_minute: 120,
        ..Default::default()
    };
    let (mut h, src) = start(vec![], 200, cfg);
    let (_, t1) = next_outcome(&mut h).await;
    let (m, t2) = next_outcome(&mut h).await;
    let (_, t3) = next_outcome(&mut h).await;
    // Polling goes on (it used to stop for good), every 100 s: 200 per 100 s
    // is 120 a minute on average.
    assert_eq!(t2 - t1, Duration::from_secs(100));
    assert_eq!(t3 - t2, Duration::from_secs(100));
    let s = stats_of(&m);
    assert!(s.budget_limited && !s.fast, "{s:?}");
    assert_eq!(s.interval, Duration::from_secs(5));
    assert_eq!(s.effective_interval, Duration::from_secs(100));
    assert_eq!(src.requests.load(Ordering::SeqCst), 600);
}

#[tokio::test(start_paused = true)]
async fn a_long_paced_refresh_is_followed_by_the_next_on_the_average_rate() {
    // The client spaced the 200 pages over 70 s: the next refresh starts 100 s
    // after this one started, not a minute after it ended.
    let requests = Arc::new(AtomicU64::new(0));
    let src = Arc::new(Scripted {
        results: Mutex::new(VecDeque::new()),
        cost: 200,
        requests: requests.clone(),
        delay: Duration::from_secs(70),
    });
    let cfg = PollerConfig {
        budget_per_minute: 120,
        ..Default::default()
    };
    let mut h = spawn(src, cfg);
    let (_, t1) = next_outcome(&mut h).await;
    let (m, t2) = next_outcome(&mut h).await;
    assert_eq!(t2 - t1, Duration::from_secs(100));
    let s = stats_of(&m);
    assert!(s.budget_limited);
    assert_eq!(s.effective_interval, Duration::from_secs(100));
}

#[tokio::test(start_paused = true)]
async fn refresh_now_is_not_held_back_by_the_plan() {
    let cfg = PollerConfig {
        budget_per_minute: 120,
        ..Default::default()
    };
    let (mut h, _) = start(vec![], 200, cfg);
    let (_, t1) = next_outcome(&mut h).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    h.commands.send(Control::RefreshNow).unwrap();
    let (_, t2) = next_outcome(&mut h).await;
    assert_eq!(t2 - t1, Duration::from_millis(3100));
}
