//! Every built-in default, in one place. The config resolver, the client, the
//! poller and the state model all start from these; nothing else spells them.

use std::time::Duration;

/// How often the dashboard polls.
pub const INTERVAL: Duration = Duration::from_secs(5);
/// How often it polls while an instance on screen is changing state.
pub const FAST_INTERVAL: Duration = Duration::from_secs(2);
/// Page requests in flight at once.
pub const CONCURRENCY: usize = 4;
/// Whole-request timeout: connect, headers and body.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Connection timeout (part of [`TIMEOUT`]).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Frames a second the dashboard draws at most for what the pollers bring (a
/// person sees little more; keys always draw at once): see `frames.rs`. 20, not 4:
/// a 250 ms gap held the first rows of `--demo` back past the 150 ms first-paint
/// target (BENCHMARKS.md, "Restructure").
pub const MAX_FRAMES_PER_SECOND: u32 = 20;
/// Frames of news drawn back to back after a quiet spell before the pace above
/// holds: a start (the poll's start, the first pages, the sweep's end all come
/// within a few ms) is drawn as it happens, not one step per 50 ms.
pub const FRAME_BURST: u32 = 5;
/// Instances per page: the largest size the service allows.
pub const PAGE_SIZE: u32 = 50;
/// A transitional status held longer than this is flagged as stuck.
pub const STUCK_AFTER: Duration = Duration::from_secs(10 * 60);
/// Requests per minute the dashboard may send, retries included: 15 a second,
/// under a tenth of the API gateway's documented default of 200 calls a second
/// per API (it answers 429 `APIGW.0308` past it; the hot tier's ShowNotebook
/// calls are a second API), so the console, SDK scripts and a few watchers of
/// one account stay clear of it together. It buys a 10,000-instance project a
/// hot tier every 2 s, also under the simulator's churn of ~7 changes a second,
/// and a full sweep about every 35 s (see README "Large accounts").
pub const BUDGET_PER_MINUTE: u32 = 900;
/// The share of the budget (percent) the hot tier may take; the sweep always
/// has the rest, so it never starves. At half, a 10,000-instance project under
/// the simulator's churn (~7 changes a second, each leaver of a hot set one
/// ShowNotebook) ticked every ~3.3 s and missed the 4 s p95 for transitions;
/// at 60 % it ticks every 2 s and the sweep (≈ 210 requests on the other
/// 360 a minute at least) comes at worst every 35 s (BENCHMARKS.md).
pub const HOT_BUDGET_PERCENT: u32 = 60;
/// The longest time between two of the hot tier's full reads: the counts of
/// the problem statuses' totals, and the reads of every hot status of a large
/// kind. The totals are counted every interval at the default budget, the
/// statuses read every tick; both less often under a smaller budget (the
/// recent read, newest first, sees the moves between), but at least this
/// often, so a failure that the recent read cannot see (a service that does
/// not stamp a move in `update_at`) is on screen within half a minute (this
/// and a hot tick) at 120 requests a minute. (At 120 the statuses come every
/// 15 s by that scale, below this bound.)
pub const PROBLEM_COUNT_AT_LEAST: Duration = Duration::from_secs(20);
/// Requests the first sweep of a session may send past the budget: one sweep
/// of 10,000 instances at 50 a page (200 pages, ≤ 1.1× with the sweep's
/// overlap and repairs) plus the CodeLab listing.
pub const FIRST_SWEEP_BURST: u32 = 250;
/// Whole records the dashboard keeps for the detail pane: every instance of a
/// project this size or smaller (no request is made for them); above it, each
/// row keeps only the table's fields and the detail pane reads the record it
/// shows (ShowNotebook) when the selection rests on an instance. About 3 MB
/// (a whole record costs ~6 KB, a row ~0.8 KB).
pub const FULL_RECORDS: usize = 500;
/// Longest wait between polls while they fail.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Actions are offered unless `--read-only` or `read_only = true` hides them.
pub const READ_ONLY: bool = false;
/// The profile name used when the config file chooses none.
pub const PROFILE: &str = "default";
/// An alert is raised when a running instance's auto-stop is this close.
pub const ALERT_LEASE_LEAD: Duration = Duration::from_secs(10 * 60);
/// A desktop notification or alert hook still running after this is killed.
pub const ALERT_HOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// Where `nbwatch serve` listens: loopback only (the metrics name instances and
/// users), on a port outside 9100–9999, the range of Prometheus' port-allocation
/// list that exporters crowd into, and clear of 8080 (`nbwatch sim`, many dev
/// servers), 3000 (Grafana), 9090 (Prometheus) and 9093 (Alertmanager).
pub const SERVE_LISTEN: &str = "127.0.0.1:7464";
/// `nbwatch serve`'s /healthz stays 200 while its data is younger than this,
/// even when polls fail: several budget-paced sweeps of 10,000 instances
/// (≤ 35 s each at the default budget), short enough to page on.
pub const SERVE_MAX_AGE: Duration = Duration::from_secs(300);
