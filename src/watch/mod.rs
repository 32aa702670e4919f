//! The poller: owns the client, polls on a timer, never overlaps two polls,
//! backs off on errors, stops after an authentication failure, keeps within a
//! request budget, and sends what it saw as messages.
//!
//! The budget is kept twice. The client's rate limiter is the guarantee: no 60 s
//! window ever holds more requests than the budget, whatever the poller does
//! (pages wait for a slot). The poller plans so that pages seldom wait: it starts
//! a refresh of `cost` requests no sooner than `cost × 60 s / budget` after the
//! previous one started (the average rate), and, when the refresh fits in the
//! budget, only once the last minute has room for all of it. When that stretches
//! the interval, the stats say so and the status bar shows it. A large project
//! has a hot tier beside the sweep ([`hot`]): the two share the budget as
//! [`plan`] says.
//!
//! ```text
//!   commands (refresh, pause, interval, hot)      messages (started, snapshot, failed)
//!   app ───────────────────────────────► poller ───────────────────────────────► app
//!                                          │ ▲
//!                                    fetch │ │ Listing / ApiError
//!                                          ▼ │
//!                                        Source (Client + ListQuery)
//! ```
//!
//! The files: this one, what the poller talks to (the source, commands,
//! messages, stats); [`plan`], the schedule and the budget's shares;
//! [`poller`], the loop; [`hot`] and [`recent`], the hot tier's reads;
//! [`queue`], the bounded message queue; [`several`], one poller per source.

pub mod several;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

pub mod hot;
mod plan;
mod poller;
#[cfg(test)]
mod poller_tests;
mod recent;
#[cfg(test)]
mod tier_tests;

use crate::api::model::{WireNotebook, WirePage};
use crate::api::sweep::{DEFAULT_OVERLAP, IdMemo, PagePlace, PageSink};
use crate::api::{ApiError, Client, ListQuery, Listing};

mod queue;
use crate::defaults;
pub use queue::{MAX_QUEUED_PAGES, Messages, PageSender};

/// Something that can list every instance.
pub trait Source: Send + Sync + 'static {
    /// One sweep. A source may send its pages as [`Message::Page`] through
    /// `pages` as they arrive; what the returned listing holds is applied after them.
    /// `pace`: no faster than this many requests a minute (the hot tier has
    /// the rest of the budget); `None`: as fast as the budget allows.
    fn fetch<'a>(
        &'a self,
        pages: &'a PageSender,
        pace: Option<u32>,
    ) -> Pin<Box<dyn Future<Output = Result<Listing, ApiError>> + Send + 'a>>;
    /// Requests sent so far (retries included): a poll's cost is the difference.
    fn requests_sent(&self) -> u64;
    /// Requests sent in the last 60 s, if the source keeps time stamps. Without
    /// them the poller counts each poll's requests at the time it ended.
    fn requests_last_minute(&self) -> Option<u64> {
        None
    }
    /// Requests the first sweep's burst still allows past the budget, while it lasts.
    fn burst_left(&self) -> Option<u64> {
        None
    }
    /// From now on the sweep's requests leave `n` slots of the budget's
    /// window to the hot tier's (its costliest tick); 0: none.
    fn keep_room(&self, n: u64) {
        let _ = n;
    }
    /// The hot tier's memory at the start, if this source has a hot tier.
    fn hot_memory(&self) -> Option<hot::Memory> {
        None
    }
    /// One tick of the hot tier (see [`hot`]); `due`: the full reads it
    /// does beside the light ones.
    fn hot_tick<'a>(&'a self, memory: hot::Memory, due: hot::Due) -> HotFuture<'a> {
        let _ = due;
        Box::pin(async move { (memory, hot::News::default()) })
    }
}

/// A hot tick in flight; it hands the tier's memory back with what it learnt.
pub type HotFuture<'a> = Pin<Box<dyn Future<Output = (hot::Memory, hot::News)> + Send + 'a>>;

/// The real source: a client and the server-side filters. Pages go to the app
/// as they arrive; both kinds of instance are swept unless `feature` narrows it.
pub struct ClientSource {
    pub client: Client,
    pub query: ListQuery,
    /// The ids its sweeps read, by text (taken by each sweep while it runs).
    pub ids: std::sync::Mutex<IdMemo>,
}

impl ClientSource {
    pub fn new(client: Client, query: ListQuery) -> ClientSource {
        ClientSource {
            client,
            query,
            ids: std::sync::Mutex::default(),
        }
    }
}

/// Sends each page on as a message.
struct Forward<'a>(&'a PageSender, IdMemo);

impl PageSink<WireNotebook> for Forward<'_> {
    fn memo(&mut self) -> Option<&mut IdMemo> {
        Some(&mut self.1)
    }

    fn page(&mut self, notebooks: Vec<WireNotebook>, place: PagePlace) {
        let _ = self.0.send(Message::Page {
            notebooks,
            loaded: place.loaded,
            total: place.total,
            read_at_ms: place.read_at_ms,
        });
    }

    fn room(&self) -> impl Future<Output = ()> + Send {
        self.0.room()
    }
}

impl Source for ClientSource {
    fn keep_room(&self, n: u64) {
        self.client.keep_room(n);
    }

    fn fetch<'a>(
        &'a self,
        pages: &'a PageSender,
        pace: Option<u32>,
    ) -> Pin<Box<dyn Future<Output = Result<Listing, ApiError>> + Send + 'a>> {
        Box::pin(async move {
            let mut memo = std::mem::take(&mut *self.ids.lock().unwrap_or_else(|e| e.into_inner()));
            memo.turn();
            let mut sink = Forward(pages, memo);
            let client = match pace {
                Some(n) => self.client.paced(n),
                None => self.client.clone(),
            };
            let swept = client
                .sweep_all_kinds::<WirePage, _>(&self.query, DEFAULT_OVERLAP, &mut sink)
                .await;
            *self.ids.lock().unwrap_or_else(|e| e.into_inner()) = sink.1;
            // The burst is for the first sweep only, whatever it left.
            self.client.burst().end();
            let report = swept?;
            Ok(Listing {
                notebooks: Vec::new(),
                total: report.total,
                requests: report.requests,
                passes: 1,
                complete: report.complete,
            })
        })
    }

    fn requests_sent(&self) -> u64 {
        self.client.requests_sent()
    }

    fn requests_last_minute(&self) -> Option<u64> {
        Some(self.client.requests_last_minute())
    }

    fn burst_left(&self) -> Option<u64> {
        self.client.burst().left()
    }

    fn hot_memory(&self) -> Option<hot::Memory> {
        Some(hot::Memory::new(&self.query))
    }

    fn hot_tick<'a>(&'a self, memory: hot::Memory, due: hot::Due) -> HotFuture<'a> {
        Box::pin(hot::tick(&self.client, memory, due))
    }
}

/// What the app can ask of the poller.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
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
    /// A page of the sweep in progress: instances to add or update now, as
    /// the service sent them (the tracker decodes only those that changed).
    Page {
        notebooks: Vec<WireNotebook>,
        /// Instances received so far in this sweep.
        loaded: u64,
        /// What the service says there are.
        total: Option<u64>,
        /// When the page's answer arrived (epoch ms).
        read_at_ms: i64,
    },
    /// A poll succeeded: the sweep is over (`listing.complete` says whether it
    /// proved it missed nobody); `listing.notebooks` holds what was not sent as pages.
    Snapshot {
        listing: Listing,
        took: Duration,
        stats: Stats,
    },
    /// A hot tick ended: what it read, each batch with when its answer came
    /// (epoch ms), as text the tracker decodes only where it changed; and
    /// which instances ShowNotebook says no longer exist.
    Hot {
        seen: Vec<(i64, Vec<WireNotebook>)>,
        gone: Vec<(String, i64)>,
        /// A read that failed (the others' news is still here).
        error: Option<ApiError>,
        stats: Stats,
    },
    /// A poll failed. `consecutive` counts failed polls in a row; `next_in` is when
    /// the next one is due (`None` when polling stopped: after a 401/403 until the
    /// user asks again, or for good when the poller died, see [`several::died`]).
    Failed {
        error: ApiError,
        consecutive: u32,
        next_in: Option<Duration>,
        stats: Stats,
    },
}

/// Request accounting and the schedule, shown in the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    /// Requests sent in the last 60 s.
    pub requests_last_minute: u32,
    /// The interval asked for: the fast one while hot, else the normal one.
    pub interval: Duration,
    /// Whether the fast interval is in force.
    pub fast: bool,
    /// From the start of this poll to the start of the next, as planned. Longer
    /// than `interval` while backing off or when the budget demands it.
    pub effective_interval: Duration,
    /// The budget (not an error) is what stretched the interval.
    pub budget_limited: bool,
    /// Requests the first sweep's burst still allows, while it is in force.
    pub burst_left: Option<u64>,
    /// The hot tier's period from tick to tick, while it runs (then the sweep
    /// keeps the normal interval, stretched to its share of the budget).
    pub hot: Option<Duration>,
    /// How the last hot tick went.
    pub tick: Option<TickReport>,
}

/// How a hot tick went: what the plan counts on, measured.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TickReport {
    /// From its start to its end: its reads, their waits for the budget's
    /// slots, its ShowNotebooks.
    pub took: Duration,
    /// Requests it sent.
    pub requests: u64,
    /// Of those: the hot statuses' reads, the problem totals, ShowNotebooks.
    pub status_requests: u64,
    pub problem_requests: u64,
    pub shows: u64,
    /// The full reads it did beside the light ones.
    pub due: hot::Due,
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
            interval: defaults::INTERVAL,
            fast_interval: defaults::FAST_INTERVAL,
            budget_per_minute: defaults::BUDGET_PER_MINUTE,
            max_backoff: defaults::MAX_BACKOFF,
        }
    }
}

pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
pub const MAX_INTERVAL: Duration = Duration::from_secs(300);

/// A running poller.
pub struct Handle {
    pub commands: mpsc::UnboundedSender<Control>,
    pub messages: Messages,
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts the poller; it polls at once, then on its timer. It ends when the
/// command sender is dropped.
pub fn spawn(source: Arc<dyn Source>, cfg: PollerConfig) -> Handle {
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (msg_tx, msg_rx) = queue::channel();
    let task = tokio::spawn(poller::run(source, cfg, cmd_rx, msg_tx));
    Handle {
        commands: cmd_tx,
        messages: msg_rx,
        task,
    }
}
