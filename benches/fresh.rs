//! Freshness at scale: how long a lifecycle change in a LIVE simulator takes to
//! reach the dashboard's state model, with the hot tier and with the sweep
//! alone, side by side in one run against the same population, under each
//! request budget asked for (the default one unless `--budget` says).
//!
//! ```text
//! cargo build --release --bin nbwatch
//! cargo bench --bench fresh -- [--instances 10000] [--latency-ms 50] [--speed 1]
//!     [--warmup-s 70] [--window-s 240] [--grace-s 90] [--fail-every-s 4]
//!     [--burst N] [--budget N]... [--sim-bin PATH] [--quick]
//! ```
//!
//! Two pollers run as the dashboard runs them (pages, hot news and sweeps
//! applied to an `App`; `SetHot` sent when a visible instance moves): the real
//! one (hot tier + sweep) and one whose source has no hot tier (sweep only,
//! today's behaviour before the tier). Every transition, creation and removal
//! the simulator journals (`GET /_sim/journal`) in the measurement window is
//! matched with the moment each state model first showed that status (or a
//! later one of the same instance), or dropped the instance. Kinds: into or
//! out of a transitional status; stable → problem; deletion (the instance
//! leaves the listing); creation. Failures straight from RUNNING are rare in
//! a simulated project (about one in four minutes at 10,000), so the bench
//! makes one running instance fail every `--fail-every-s` of the window
//! (`POST /_sim/fail`, a journaled RUNNING → ERROR). The window starts `--warmup-s` after both
//! first sweeps, so the first sweep's burst has left the request meter; each
//! poller's requests in the last minute are sampled every second. `--burst N`
//! starts N stopped instances at once as the window opens (`POST /_sim/start`),
//! more than the budget can follow at the fast interval. `--budget N` (may be
//! given more than once: `--budget 900 --budget 120`) runs both pollers under
//! each budget, all against the same simulator at once, as users sharing a
//! quota would set `--budget`.
//! `--quick` / `--test`: 600 instances, 5 ms, speed 5, short windows (CI: the
//! harness works).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod external;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use nbwatch::api::{ApiError, Client, ClientOptions, ListQuery, Listing, RetryPolicy, Status};
use nbwatch::app::{App, EventKind, Timing};
use nbwatch::sim;
use nbwatch::timefmt::now_ms;
use nbwatch::track::SourceId;
use nbwatch::watch::{self, ClientSource, Control, Message, PageSender, PollerConfig, Source};

struct Args {
    instances: usize,
    latency_ms: u64,
    speed: f64,
    warmup_s: u64,
    window_s: u64,
    grace_s: u64,
    /// Make one running instance fail (`POST /_sim/fail`) every this many
    /// seconds of the window (0: never): failures straight from RUNNING are
    /// rare on their own.
    fail_every_s: u64,
    /// Start this many stopped instances at once when the window opens
    /// (`POST /_sim/start`): a burst, as when a class starts at nine.
    burst: usize,
    /// Requests a minute each pair of pollers may send (`--budget`, repeatable).
    budgets: Vec<u32>,
    sim_bin: String,
}

fn parse_args() -> Args {
    let mut a = Args {
        instances: 10_000,
        latency_ms: 50,
        speed: 1.0,
        warmup_s: 70,
        window_s: 240,
        grace_s: 90,
        fail_every_s: 4,
        burst: 0,
        budgets: Vec::new(),
        sim_bin: external::release_bin(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().expect("a value after the flag");
        match arg.as_str() {
            "--instances" => a.instances = value().parse().unwrap(),
            "--latency-ms" => a.latency_ms = value().parse().unwrap(),
            "--speed" => a.speed = value().parse().unwrap(),
            "--warmup-s" => a.warmup_s = value().parse().unwrap(),
            "--window-s" => a.window_s = value().parse().unwrap(),
            "--grace-s" => a.grace_s = value().parse().unwrap(),
            "--fail-every-s" => a.fail_every_s = value().parse().unwrap(),
            "--burst" => a.burst = value().parse().unwrap(),
            "--budget" => a.budgets.push(value().parse().unwrap()),
            "--sim-bin" => a.sim_bin = value(),
            "--quick" | "--test" => {
                a.instances = 600;
                a.latency_ms = 5;
                a.speed = 5.0;
                a.warmup_s = 3;
                a.window_s = 15;
                a.grace_s = 10;
                a.fail_every_s = 2;
            }
            _ => {}
        }
    }
    a.sim_bin = external::or_debug(a.sim_bin);
    if a.budgets.is_empty() {
        a.budgets.push(nbwatch::defaults::BUDGET_PER_MINUTE);
    }
    a
}

fn start_sim(a: &Args) -> external::ExternalSim {
    external::start_live(&a.sim_bin, a.instances, a.latency_ms, a.speed)
}

/// A client as the dashboard builds one with `--budget budget`, the first-sweep burst.
fn client(endpoint: &str, budget: u32) -> Client {
    let mut opts = ClientOptions::new(endpoint, sim::DEMO_PROJECT_ID, sim::demo_auth());
    opts.retry = RetryPolicy::default();
    Client::new(opts)
        .unwrap()
        .with_rate_limit(Some(budget))
        .with_first_burst(nbwatch::defaults::FIRST_SWEEP_BURST)
}

/// The real source without its hot tier: the sweep alone.
struct SweepOnly(ClientSource);

impl Source for SweepOnly {
    fn fetch<'a>(
        &'a self,
        pages: &'a PageSender,
        pace: Option<u32>,
    ) -> Pin<Box<dyn Future<Output = Result<Listing, ApiError>> + Send + 'a>> {
        self.0.fetch(pages, pace)
    }
    fn requests_sent(&self) -> u64 {
        self.0.requests_sent()
    }
    fn requests_last_minute(&self) -> Option<u64> {
        self.0.requests_last_minute()
    }
    fn burst_left(&self) -> Option<u64> {
        self.0.burst_left()
    }
}

/// One poller and the state model it feeds, as the dashboard runs them.
struct Watcher {
    label: String,
    budget: u32,
    handle: watch::Handle,
    meter: Client,
    app: App,
    hot: bool,
    sweeps_done: u32,
    sweep_ends: Vec<i64>,
    hot_ends: Vec<i64>,
    /// Each hot tick: (wall ms it ended, how it went).
    ticks: Vec<(i64, watch::TickReport)>,
    /// Per instance: (wall ms applied, status now shown, or `None` when dropped).
    seen: HashMap<String, Vec<(i64, Option<Status>)>>,
    /// Requests in the last minute, sampled each second in the window.
    rpm: Vec<u64>,
}

impl Watcher {
    fn new(label: String, budget: u32, source: Arc<dyn Source>, meter: Client) -> Watcher {
        let mut app = App::new(Timing::default());
        app.take_events(); // starts the feed
        let cfg = PollerConfig {
            budget_per_minute: budget,
            ..PollerConfig::default()
        };
        Watcher {
            label,
            budget,
            handle: watch::spawn(source, cfg),
            meter,
            app,
            hot: false,
            sweeps_done: 0,
            sweep_ends: Vec::new(),
            hot_ends: Vec::new(),
            ticks: Vec::new(),
            seen: HashMap::new(),
            rpm: Vec::new(),
        }
    }

    fn feed(&mut self, m: Message) {
        let now = now_ms();
        match &m {
            Message::Snapshot { .. } => {
                self.sweeps_done += 1;
                self.sweep_ends.push(now);
            }
            Message::Hot { stats, .. } => {
                self.hot_ends.push(now);
                if let Some(t) = stats.tick {
                    self.ticks.push((now, t));
                    if std::env::var_os("FRESH_TICKS").is_some() {
                        eprintln!(
                            "{} tick at {now}: took {} ms, {} requests ({} status, {} problem, {} shows), due {:?}, period {:?}, {} rpm",
                            self.label,
                            t.took.as_millis(),
                            t.requests,
                            t.status_requests,
                            t.problem_requests,
                            t.shows,
                            t.due,
                            stats.hot,
                            stats.requests_last_minute
                        );
                    }
                }
            }
            Message::Failed { error, .. } => eprintln!("{}: poll failed: {error}", self.label),
            Message::Started | Message::Page { .. } => {}
        }
        // As the dashboard applies it (see `App::apply_all`).
        self.app.apply_all([(SourceId(0), m)], now);
        for ev in self.app.take_events() {
            let shown = match ev.kind {
                EventKind::Changed { to, .. } => Some(to),
                EventKind::Appeared(s) => Some(s),
                EventKind::Gone { .. } => None,
            };
            self.seen
                .entry(ev.key.id().to_string())
                .or_default()
                .push((now, shown));
        }
        let hot = self.app.any_visible_transitional();
        if hot != self.hot {
            self.hot = hot;
            let _ = self.handle.commands.send(Control::SetHot(hot));
        }
    }
}

/// A journaled change, in wall-clock ms.
#[derive(Debug, Clone)]
struct Truth {
    id: String,
    at_ms: i64,
    /// The status after it (`None`: removed).
    to: Option<String>,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Transitional,
    StableToProblem,
    Deletion,
    Creation,
    Other,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Transitional => "into/out of transitional",
            Kind::StableToProblem => "stable → problem",
            Kind::Deletion => "deletion (leaves the listing)",
            Kind::Creation => "creation (INIT)",
            Kind::Other => "other",
        }
    }

    fn of(from: &Status, to: &Status) -> Kind {
        if from.is_transitional() || to.is_transitional() {
            Kind::Transitional
        } else if to.is_problem() && !from.is_problem() {
            Kind::StableToProblem
        } else {
            Kind::Other
        }
    }
}

/// The journal of `[from, to]` (simulated ms), mapped to wall-clock ms.
async fn journal(
    http: &reqwest::Client,
    endpoint: &str,
    from: i64,
    to: i64,
    clock: &Clock,
) -> Vec<Truth> {
    let v = json(http.get(format!("{endpoint}/_sim/journal?from={from}&to={to}"))).await;
    assert!(
        v["complete"].as_bool().unwrap(),
        "the journal covers the window"
    );
    let mut out = Vec::new();
    for c in v["changes"].as_array().unwrap() {
        let from = Status::parse(c["from"].as_str().unwrap());
        let to = Status::parse(c["to"].as_str().unwrap());
        out.push(Truth {
            id: c["id"].as_str().unwrap().to_string(),
            at_ms: clock.wall(c["at_ms"].as_i64().unwrap()),
            to: Some(to.as_str().to_string()),
            kind: Kind::of(&from, &to),
        });
    }
    for c in v["creations"].as_array().unwrap() {
        out.push(Truth {
            id: c["id"].as_str().unwrap().to_string(),
            at_ms: clock.wall(c["at_ms"].as_i64().unwrap()),
            to: Some(Status::Init.as_str().to_string()),
            kind: Kind::Creation,
        });
    }
    for r in v["removals"].as_array().unwrap() {
        out.push(Truth {
            id: r["id"].as_str().unwrap().to_string(),
            at_ms: clock.wall(r["at_ms"].as_i64().unwrap()),
            to: None,
            kind: Kind::Deletion,
        });
    }
    out.sort_by_key(|t| t.at_ms);
    out
}

/// Simulated time ↔ wall clock.
struct Clock {
    sim0: i64,
    wall0: i64,
    speed: f64,
}

impl Clock {
    fn wall(&self, sim_ms: i64) -> i64 {
        self.wall0 + ((sim_ms - self.sim0) as f64 / self.speed) as i64
    }
    fn sim(&self, wall_ms: i64) -> i64 {
        self.sim0 + ((wall_ms - self.wall0) as f64 * self.speed) as i64
    }
}

async fn sim_now(http: &reqwest::Client, endpoint: &str) -> i64 {
    let v = json(http.get(format!("{endpoint}/_sim/stats"))).await;
    v["now_ms"].as_i64().unwrap()
}

/// Sends a request to the simulator's control API and reads its JSON answer.
async fn json(request: reqwest::RequestBuilder) -> serde_json::Value {
    let body = request.send().await.unwrap().bytes().await.unwrap();
    serde_json::from_slice(&body).unwrap()
}

/// When `w` first showed change `i` of `truth` (or a later change of the same
/// instance, which implies it): the latency in ms, `None` if never.
fn detected(w: &Watcher, truth: &[Truth], i: usize) -> Option<i64> {
    let t = &truth[i];
    // This change and the instance's later ones, by what each shows.
    let later: Vec<&Option<String>> = truth[i..]
        .iter()
        .filter(|u| u.id == t.id)
        .map(|u| &u.to)
        .collect();
    let shown = w.seen.get(&t.id)?;
    shown
        .iter()
        .filter(|(at, _)| *at >= t.at_ms)
        .find(|(_, s)| {
            let s = s.as_ref().map(|s| s.as_str().to_string());
            later.iter().any(|u| **u == s)
        })
        .map(|(at, _)| at - t.at_ms)
}

fn pct(v: &mut [i64], p: f64) -> i64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn main() {
    let a = parse_args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = start_sim(&a);
    rt.block_on(run(&a, &sim.endpoint));
}

async fn run(a: &Args, endpoint: &str) {
    let mut watchers = Vec::new();
    for &budget in &a.budgets {
        let hot_client = client(endpoint, budget);
        let sweep_client = client(endpoint, budget);
        watchers.push(Watcher::new(
            format!("hot tier + sweep @{budget}"),
            budget,
            Arc::new(ClientSource::new(hot_client.clone(), ListQuery::default())),
            hot_client,
        ));
        watchers.push(Watcher::new(
            format!("sweep only @{budget}"),
            budget,
            Arc::new(SweepOnly(ClientSource::new(
                sweep_client.clone(),
                ListQuery::default(),
            ))),
            sweep_client,
        ));
    }
    // After the first nbwatch client: it installs the TLS crypto provider.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let budgets: Vec<String> = a.budgets.iter().map(u32::to_string).collect();
    let fast = nbwatch::defaults::FAST_INTERVAL;
    println!(
        "freshness on a live simulator: {} instances, speed {}×, {} ms latency, budget {}/min (each poller its own), fast interval {}s, window {} s{}",
        a.instances,
        a.speed,
        a.latency_ms,
        budgets.join(" and "),
        fast.as_secs(),
        a.window_s,
        if a.burst > 0 {
            format!(", a burst of {} starts", a.burst)
        } else {
            String::new()
        }
    );
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut phase_end: Option<tokio::time::Instant> = None;
    let mut window: Option<(i64, i64)> = None;
    let mut clock: Option<Clock> = None;
    loop {
        // The first poller with a message (the others' receives are dropped
        // with the rest of the select, before any is fed).
        let next = futures::future::select_all(
            watchers
                .iter_mut()
                .map(|w| Box::pin(w.handle.messages.recv())),
        )
        .map(|(m, i, _)| (m, i));
        tokio::select! {
            (m, i) = next => watchers[i].feed(m.expect("the poller runs")),
            _ = tick.tick() => {
                let ready = watchers.iter().all(|w| w.sweeps_done >= 1);
                match (ready, phase_end, window) {
                    (true, None, _) => {
                        // Both first sweeps done: warm up (the burst leaves the meter).
                        phase_end = Some(tokio::time::Instant::now() + Duration::from_secs(a.warmup_s));
                    }
                    (true, Some(end), None) if tokio::time::Instant::now() >= end => {
                        let wall0 = now_ms();
                        let sim0 = sim_now(&http, endpoint).await;
                        clock = Some(Clock { sim0, wall0, speed: a.speed });
                        window = Some((wall0, wall0 + a.window_s as i64 * 1000));
                        if a.burst > 0 {
                            let v = json(http.post(format!("{endpoint}/_sim/start?n={}", a.burst))).await;
                            let n = v["started"].as_array().map_or(0, Vec::len);
                            println!("burst: {n} stopped instances started at once as the window opened");
                        }
                        phase_end = Some(tokio::time::Instant::now() + Duration::from_secs(a.window_s + a.grace_s));
                    }
                    (_, Some(end), Some((from, to))) => {
                        let now = now_ms();
                        if now >= from && now <= to + 1000 {
                            for w in watchers.iter_mut() {
                                w.rpm.push(w.meter.requests_last_minute());
                            }
                            let second = (now - from) / 1000;
                            if a.fail_every_s > 0 && now < to && second % a.fail_every_s as i64 == 0 {
                                let _ = http.post(format!("{endpoint}/_sim/fail?n=1")).send().await;
                            }
                        }
                        if tokio::time::Instant::now() >= end {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let (from, to) = window.unwrap();
    let clock = clock.unwrap();
    let truth = journal(&http, endpoint, clock.sim(from), clock.sim(to), &clock).await;
    let counts = |k: Kind| truth.iter().filter(|t| t.kind == k).count();
    println!(
        "journal: {} changes in the window ({} into/out of transitional, {} stable → problem, {} deletions, {} creations, {} other)",
        truth.len(),
        counts(Kind::Transitional),
        counts(Kind::StableToProblem),
        counts(Kind::Deletion),
        counts(Kind::Creation),
        counts(Kind::Other)
    );
    println!(
        "{:<26} {:<30} {:>5} {:>8} {:>8} {:>8} {:>6}",
        "poller (budget/min)", "kind", "n", "p50 ms", "p95 ms", "max ms", "missed"
    );
    for w in &watchers {
        for kind in [
            Kind::Transitional,
            Kind::StableToProblem,
            Kind::Deletion,
            Kind::Creation,
            Kind::Other,
        ] {
            let mut lat = Vec::new();
            let mut missed = 0;
            for (i, _) in truth.iter().enumerate().filter(|(_, t)| t.kind == kind) {
                match detected(w, &truth, i) {
                    Some(ms) => lat.push(ms),
                    None => missed += 1,
                }
            }
            let n = lat.len() + missed;
            let max = lat.iter().copied().max().unwrap_or(0);
            println!(
                "{:<26} {:<30} {:>5} {:>8} {:>8} {:>8} {:>6}",
                w.label,
                kind.label(),
                n,
                pct(&mut lat, 0.5),
                pct(&mut lat, 0.95),
                max,
                missed
            );
        }
    }
    for w in &watchers {
        let periods: Vec<i64> = w
            .sweep_ends
            .windows(2)
            .filter(|p| p[0] >= from)
            .map(|p| p[1] - p[0])
            .collect();
        let mut sorted = periods.clone();
        let mut ticks: Vec<i64> = w
            .hot_ends
            .windows(2)
            .filter(|p| p[0] >= from)
            .map(|p| p[1] - p[0])
            .collect();
        if !ticks.is_empty() {
            println!(
                "{:<26} hot tick period p50 {} ms, max {} ms over {} ticks",
                w.label,
                pct(&mut ticks, 0.5),
                ticks.iter().copied().max().unwrap_or(0),
                ticks.len()
            );
        }
        let in_window: Vec<&watch::TickReport> = w
            .ticks
            .iter()
            .filter(|(at, _)| *at >= from && *at <= to)
            .map(|(_, t)| t)
            .collect();
        if !in_window.is_empty() {
            let mut took: Vec<i64> = in_window
                .iter()
                .map(|t| t.took.as_millis() as i64)
                .collect();
            let n = in_window.len();
            let cost = |f: &dyn Fn(&watch::TickReport) -> bool| {
                let sel: Vec<_> = in_window.iter().filter(|t| f(t)).collect();
                let mean =
                    sel.iter().map(|t| t.requests).sum::<u64>() as f64 / sel.len().max(1) as f64;
                (sel.len(), mean)
            };
            let (light_n, light) = cost(&|t| !t.due.statuses && !t.due.problems);
            let (st_n, st) = cost(&|t| t.due.statuses);
            let (pr_n, pr) = cost(&|t| t.due.problems);
            println!(
                "{:<26} hot tick took p50 {} ms, p95 {} ms, max {} ms; requests: light {light_n}× {light:.1}, with status reads {st_n}× {st:.1}, with problem totals {pr_n}× {pr:.1} (of {n})",
                w.label,
                pct(&mut took, 0.5),
                pct(&mut took, 0.95),
                took.iter().copied().max().unwrap_or(0),
            );
        }
        let (hot_wait, sweep_wait) = w.meter.budget_waits();
        println!(
            "{:<26} waited for the budget (whole run): first class {:.1} s, sweep pages {:.1} s",
            w.label,
            hot_wait.as_secs_f64(),
            sweep_wait.as_secs_f64()
        );
        let max_rpm = w.rpm.iter().copied().max().unwrap_or(0);
        let mean_rpm = w.rpm.iter().sum::<u64>() as f64 / w.rpm.len().max(1) as f64;
        println!(
            "{:<26} requests/min max {max_rpm} mean {mean_rpm:.0} (budget {}); sweep period p50 {} ms, max {} ms over {} sweeps ({} complete sweeps in the run)",
            w.label,
            w.budget,
            pct(&mut sorted, 0.5),
            periods.iter().copied().max().unwrap_or(0),
            periods.len(),
            w.sweeps_done
        );
    }
}
