//! The poller task: owns the client, polls on a timer, never overlaps two polls,
//! backs off on errors, stops after an authentication failure, keeps within a
//! request budget, and sends what it saw as messages.
//!
//! ```text
//!   commands (refresh, pause, interval, hot)      messages (started, snapshot, failed)
//!   app ───────────────────────────────► poller ───────────────────────────────► app
//!                                          │ ▲
//!                                    fetch │ │ Listing / ApiError
//!                                          ▼ │
//!                                        Source (Client + ListQuery)
//! ```

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::api::{ApiError, Client, ListQuery, Listing};

/// Something that can list every instance.
pub trait Source: Send + Sync + 'static {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<Listing, ApiError>> + Send + '_>>;
}

/// The real source: a client and the server-side filters.
pub struct ClientSource {
    pub client: Client,
    pub query: ListQuery,
}

impl Source for ClientSource {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<Listing, ApiError>> + Send + '_>> {
        Box::pin(self.client.fetch_all(&self.query))
    }
}

/// What the app can ask of the poller.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Poll now (also resumes after an authentication failure).
    RefreshNow,
    /// Stop or restart polling.
    SetPaused(bool),
    /// The normal interval between polls.
    SetInterval(Duration),
    /// Whether a visible instance is in a transitional status: poll at the fast interval.
    SetHot(bool),
}

/// What the poller tells the app.
#[derive(Debug, Clone)]
pub enum Message {
    /// A poll has begun.
    Started,
    /// A poll succeeded.
    Snapshot {
        listing: Listing,
        took: Duration,
        stats: Stats,
    },
    /// A poll failed. `consecutive` counts failed polls in a row; `next_in` is when
    /// the next one is due (`None` when polling stopped, after a 401/403).
    Failed {
        error: ApiError,
        consecutive: u32,
        next_in: Option<Duration>,
        stats: Stats,
    },
}

/// Request accounting, shown in the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    /// Requests sent in the last 60 s.
    pub requests_last_minute: u32,
    /// The interval in force after this poll (stretched when the budget demands it).
    pub effective_interval: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PollerConfig {
    pub interval: Duration,
    /// Used while any visible instance is in a transitional status.
    pub fast_interval: Duration,
    /// Requests allowed in any 60 s window.
    pub budget_per_minute: u32,
    /// Longest wait between polls while failing.
    pub max_backoff: Duration,
}

impl Default for PollerConfig {
    fn default() -> Self {
        PollerConfig {
            interval: Duration::from_secs(5),
            fast_interval: Duration::from_secs(2),
            budget_per_minute: 600,
            max_backoff: Duration::from_secs(60),
        }
    }
}

pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
pub const MAX_INTERVAL: Duration = Duration::from_secs(300);

/// A running poller.
pub struct Handle {
    pub commands: mpsc::UnboundedSender<Command>,
    pub messages: mpsc::UnboundedReceiver<Message>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts the poller; it polls at once, then on its timer. It ends when the
/// command sender is dropped.
pub fn spawn(
    source: Arc<dyn Source>,
    cfg: PollerConfig,
    requests: Arc<dyn Fn() -> u64 + Send + Sync>,
) -> Handle {
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (msg_tx, msg_rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(run(source, cfg, requests, cmd_rx, msg_tx));
    Handle {
        commands: cmd_tx,
        messages: msg_rx,
        task,
    }
}

/// Sliding 60 s window of request counts, for the budget.
#[derive(Debug, Default)]
struct Budget {
    /// (when a poll ended, requests it took)
    polls: VecDeque<(Instant, u64)>,
}

impl Budget {
    const WINDOW: Duration = Duration::from_secs(60);

    fn record(&mut self, at: Instant, n: u64) {
        self.polls.push_back((at, n));
    }

    fn used(&mut self, now: Instant) -> u64 {
        while let Some((t, _)) = self.polls.front() {
            if now.duration_since(*t) >= Self::WINDOW {
                self.polls.pop_front();
            } else {
                break;
            }
        }
        self.polls.iter().map(|(_, n)| n).sum()
    }

    /// The earliest time a poll costing `cost` fits in `budget`.
    fn earliest(&mut self, now: Instant, cost: u64, budget: u64) -> Instant {
        let mut used = self.used(now);
        if used + cost <= budget {
            return now;
        }
        for (t, n) in &self.polls {
            used -= n;
            if used + cost <= budget {
                return *t + Self::WINDOW;
            }
        }
        now + Self::WINDOW
    }
}

struct State {
    cfg: PollerConfig,
    paused: bool,
    hot: bool,
    auth_stopped: bool,
    consecutive_failures: u32,
    last_cost: u64,
    budget: Budget,
}

impl State {
    fn base_interval(&self) -> Duration {
        if self.hot {
            self.cfg.fast_interval.min(self.cfg.interval)
        } else {
            self.cfg.interval
        }
    }

    /// When the next poll is due after one that ended at `now`.
    fn next_due(&mut self, now: Instant, err: Option<&ApiError>) -> Instant {
        let mut wait = self.base_interval();
        if self.consecutive_failures > 0 {
            let exp = wait.saturating_mul(1 << (self.consecutive_failures - 1).min(6));
            wait = exp.min(self.cfg.max_backoff).max(wait);
            if let Some(after) = err.and_then(ApiError::retry_after) {
                wait = wait.max(after);
            }
        }
        let budget_ok = self.budget.earliest(
            now,
            self.last_cost.max(1),
            u64::from(self.cfg.budget_per_minute.max(1)),
        );
        (now + wait).max(budget_ok)
    }

    fn stats(&mut self, now: Instant, next: Instant) -> Stats {
        Stats {
            requests_last_minute: u32::try_from(self.budget.used(now)).unwrap_or(u32::MAX),
            effective_interval: next.saturating_duration_since(now),
        }
    }
}

type PollFuture<'a> = Pin<Box<dyn Future<Output = Result<Listing, ApiError>> + Send + 'a>>;

async fn run(
    source: Arc<dyn Source>,
    cfg: PollerConfig,
    requests: Arc<dyn Fn() -> u64 + Send + Sync>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    messages: mpsc::UnboundedSender<Message>,
) {
    let mut st = State {
        cfg,
        paused: false,
        hot: false,
        auth_stopped: false,
        consecutive_failures: 0,
        last_cost: 1,
        budget: Budget::default(),
    };
    let mut due = Instant::now();
    let mut inflight: Option<(PollFuture<'_>, Instant, u64)> = None;
    loop {
        let can_start = inflight.is_none() && !st.paused && !st.auth_stopped;
        tokio::select! {
            result = async { match inflight.as_mut() { Some((f, _, _)) => f.await, None => std::future::pending().await } } => {
                let Some((_, started, before)) = inflight.take() else { continue };
                let now = Instant::now();
                let cost = requests().saturating_sub(before);
                st.budget.record(now, cost);
                st.last_cost = cost.max(1);
                let msg = match result {
                    Ok(listing) => {
                        st.consecutive_failures = 0;
                        due = st.next_due(now, None);
                        Message::Snapshot { listing, took: now - started, stats: st.stats(now, due) }
                    }
                    Err(error) => {
                        st.consecutive_failures += 1;
                        let next_in = if error.is_auth() {
                            // Five bad signatures in a row lock the AK: wait for the user.
                            st.auth_stopped = true;
                            None
                        } else {
                            due = st.next_due(now, Some(&error));
                            Some(due - now)
                        };
                        let stats = st.stats(now, due);
                        Message::Failed { error, consecutive: st.consecutive_failures, next_in, stats }
                    }
                };
                if messages.send(msg).is_err() {
                    return;
                }
            }
            cmd = commands.recv() => match cmd {
                None => return,
                Some(Command::RefreshNow) => {
                    st.auth_stopped = false;
                    due = Instant::now();
                }
                Some(Command::SetPaused(p)) => {
                    st.paused = p;
                    if !p { due = due.min(Instant::now() + st.base_interval()); }
                }
                Some(Command::SetInterval(d)) => {
                    let d = d.clamp(MIN_INTERVAL, MAX_INTERVAL);
                    let old = st.base_interval();
                    st.cfg.interval = d;
                    // Bring the next poll forward when the interval shrank.
                    if st.base_interval() < old { due = due.min(Instant::now() + st.base_interval()); }
                }
                Some(Command::SetHot(h)) => {
                    if h != st.hot {
                        st.hot = h;
                        if h && st.consecutive_failures == 0 { due = due.min(Instant::now() + st.base_interval()); }
                    }
                }
            },
            _ = tokio::time::sleep_until(due), if can_start => {
                let now = Instant::now();
                let budget_at = st.budget.earliest(now, st.last_cost, u64::from(st.cfg.budget_per_minute.max(1)));
                if budget_at > now {
                    due = budget_at;
                    continue;
                }
                if messages.send(Message::Started).is_err() {
                    return;
                }
                inflight = Some((source.fetch(), now, requests()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::HttpError;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A scripted source: each fetch pops the next result and counts `cost` requests.
    struct Scripted {
        results: Mutex<VecDeque<Result<Listing, ApiError>>>,
        cost: u64,
        requests: Arc<AtomicU64>,
        delay: Duration,
    }

    impl Source for Scripted {
        fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<Listing, ApiError>> + Send + '_>> {
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
        let r = requests.clone();
        let h = spawn(src.clone(), cfg, Arc::new(move || r.load(Ordering::SeqCst)));
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
            if !matches!(m, Message::Started) {
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
        h.commands.send(Command::RefreshNow).unwrap();
        let (m, _) = next_outcome(&mut h).await;
        assert!(matches!(m, Message::Snapshot { .. }));
        assert_eq!(src.requests.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn pause_stops_polling_and_refresh_never_overlaps() {
        let (mut h, src) = start(vec![], 1, PollerConfig::default());
        next_outcome(&mut h).await;
        h.commands.send(Command::SetPaused(true)).unwrap();
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(src.requests.load(Ordering::SeqCst), 1);
        h.commands.send(Command::SetPaused(false)).unwrap();
        next_outcome(&mut h).await;
        // Many refreshes while a poll is in flight start no second poll.
        let _ = h.messages.recv().await; // Started
        for _ in 0..5 {
            h.commands.send(Command::RefreshNow).unwrap();
        }
        let before = src.requests.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(src.requests.load(Ordering::SeqCst) - before <= 1);
    }

    #[tokio::test(start_paused = true)]
    async fn hot_mode_polls_faster_and_budget_slows_it() {
        let cfg = PollerConfig {
            budget_per_minute: 100,
            ..Default::default()
        };
        let (mut h, _) = start(vec![], 40, cfg);
        h.commands.send(Command::SetHot(true)).unwrap();
        let (_, t1) = next_outcome(&mut h).await;
        let (m, t2) = next_outcome(&mut h).await;
        assert_eq!(
            t2 - t1,
            Duration::from_millis(2100),
            "fast interval while hot"
        );
        let Message::Snapshot { stats, .. } = m else {
            panic!()
        };
        assert_eq!(stats.requests_last_minute, 80);
        // A third poll of 40 would pass 100/min: it waits for the first to age out.
        let (_, t3) = next_outcome(&mut h).await;
        assert!(t3 - t1 >= Duration::from_secs(60), "{:?}", t3 - t1);
    }
}
