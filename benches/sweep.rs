//! The sweep on a LIVE simulator population, against the multi-pass reading it
//! replaced, in one run: time to the first rows, time to the complete first
//! sweep, requests ÷ pages, instances alive throughout a sweep that it missed
//! (checked against the simulator's ground truth, `GET /_sim/journal`), and the
//! false gone/appeared events the dashboard's state would announce over many
//! sweeps.
//!
//! ```text
//! cargo build --release --bin nbwatch
//! cargo bench --bench sweep -- [--instances 10000] [--latency-ms 50] [--speed 1]
//!     [--sweeps 10] [--concurrency 4] [--budget-run] [--sim-bin PATH] [--quick]
//! ```
//!
//! The simulator is `nbwatch sim` (release) in its own process with a live
//! clock: instances are created, change status and are deleted while the
//! sweeps run. `--speed 20` makes it churn twenty times faster than a real
//! project. `--budget-run` adds the dashboard's first refresh before the sweep
//! under the default budget (no first-sweep burst).
//! `--quick` / `--test`: 600 instances, 5 ms, 3 sweeps (CI: the harness works).
//!
//! Then the churn table: for each shape of `nbwatch sim --churn RATE
//! --churn-mode MODE` (balanced, grow, shrink, walk; `--churn-rate R`, default
//! 0.5: one change after every other listing request), a fresh simulator, the
//! sweep as it was before issue 20 (`sweep_before.rs`, fixed overlap 2, three
//! bridges per gap) and the sweep now, `--churn-sweeps K` (default 3) each, in
//! the same run: requests ÷ pages, instances alive throughout that were
//! missed, and sweeps that said they were incomplete.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod external;
mod sweep_before;

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use nbwatch::api::model::{WireNotebook, WirePage};
use nbwatch::api::sweep::{DEFAULT_OVERLAP, PagePlace, PageSink};
use nbwatch::api::{Client, ClientOptions, ListQuery, Notebook, NotebookPage, RetryPolicy};
use nbwatch::app::{App, EventKind, Timing};
use nbwatch::sim;
use nbwatch::track::SourceId;
use nbwatch::watch::Message;

struct Args {
    instances: usize,
    latency_ms: u64,
    speed: f64,
    sweeps: usize,
    concurrency: usize,
    budget_run: bool,
    sim_bin: String,
    churn_rate: f64,
    churn_sweeps: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        instances: 10_000,
        latency_ms: 50,
        speed: 1.0,
        sweeps: 10,
        concurrency: nbwatch::defaults::CONCURRENCY,
        budget_run: false,
        sim_bin: external::release_bin(),
        churn_rate: 0.5,
        churn_sweeps: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().expect("a value after the flag");
        match arg.as_str() {
            "--instances" => a.instances = value().parse().unwrap(),
            "--latency-ms" => a.latency_ms = value().parse().unwrap(),
            "--speed" => a.speed = value().parse().unwrap(),
            "--sweeps" => a.sweeps = value().parse().unwrap(),
            "--concurrency" => a.concurrency = value().parse().unwrap(),
            "--budget-run" => a.budget_run = true,
            "--sim-bin" => a.sim_bin = value(),
            "--churn-rate" => a.churn_rate = value().parse().unwrap(),
            "--churn-sweeps" => a.churn_sweeps = value().parse().unwrap(),
            "--quick" | "--test" => {
                a.instances = 600;
                a.latency_ms = 5;
                a.sweeps = 3;
                a.churn_sweeps = 1;
            }
            _ => {}
        }
    }
    a.sim_bin = external::or_debug(a.sim_bin);
    a
}

fn start_sim(a: &Args) -> external::ExternalSim {
    external::start_live(&a.sim_bin, a.instances, a.latency_ms, a.speed)
}

fn client(endpoint: &str, concurrency: usize) -> Client {
    let mut opts = ClientOptions::new(endpoint, sim::DEMO_PROJECT_ID, sim::demo_auth());
    opts.concurrency = concurrency;
    opts.retry = RetryPolicy::none();
    opts.timeout = Duration::from_secs(120);
    Client::new(opts).unwrap()
}

/// The simulator's clock and ground truth, over its control endpoints.
struct Truth {
    http: reqwest::Client,
    endpoint: String,
}

impl Truth {
    async fn now(&self) -> i64 {
        let v: serde_json::Value = self
            .http
            .get(format!("{}/_sim/stats", self.endpoint))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap();
        v["now_ms"].as_i64().unwrap()
    }

    /// Ids alive throughout `[from, to]`.
    async fn alive(&self, from: i64, to: i64) -> BTreeSet<String> {
        let v: serde_json::Value = self
            .http
            .get(format!(
                "{}/_sim/journal?from={from}&to={to}",
                self.endpoint
            ))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap();
        v["alive_throughout"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    }
}

/// Pages into the dashboard's state; notes when the first rows arrived.
struct IntoApp<'a> {
    app: &'a mut App,
    at_ms: i64,
    started: Instant,
    first_rows: Option<Duration>,
}

impl PageSink<WireNotebook> for IntoApp<'_> {
    fn page(&mut self, notebooks: Vec<WireNotebook>, place: PagePlace) {
        if self.first_rows.is_none() && !notebooks.is_empty() {
            self.first_rows = Some(self.started.elapsed());
        }
        let page = Message::Page {
            notebooks,
            loaded: place.loaded,
            total: place.total,
            read_at_ms: self.at_ms,
        };
        self.app.apply_all([(SourceId(0), page)], self.at_ms);
    }
}

#[derive(Default)]
struct Tally {
    first_rows: Vec<Duration>,
    complete: Vec<Duration>,
    requests: u64,
    pages: u64,
    lost: usize,
    false_gone: usize,
    false_appeared: usize,
    sweeps: usize,
    incomplete: usize,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

impl Tally {
    fn row(&self, label: &str) {
        println!(
            "{label:<44} {:>9.0} {:>9.0} {:>9.0} {:>6} {:>6} {:>6.3} {:>5} {:>5} {:>5} {:>5}",
            ms(self.first_rows.first().copied().unwrap_or_default()),
            ms(self.complete.first().copied().unwrap_or_default()),
            ms(median(&self.complete)),
            self.requests,
            self.pages,
            self.requests as f64 / self.pages.max(1) as f64,
            self.lost,
            self.false_gone,
            self.false_appeared,
            self.incomplete,
        );
    }
}

fn pages_of(n: usize, page_size: usize) -> u64 {
    n.div_ceil(page_size).max(1) as u64
}

/// The multi-pass reading (before): `Client::fetch_all_multipass` of the
/// NOTEBOOK listing (no `feature`, as before), each refresh applied whole.
async fn before(a: &Args, c: &Client, truth: &Truth) -> Tally {
    let q = ListQuery::default();
    let mut t = Tally::default();
    for _ in 0..a.sweeps {
        let from = truth.now().await;
        let started = Instant::now();
        let l = c.fetch_all_multipass(&q).await.unwrap();
        let took = started.elapsed();
        let to = truth.now().await;
        let alive = truth.alive(from, to).await;
        let got: HashSet<&str> = l.notebooks.iter().filter_map(|n| n.id.as_deref()).collect();
        let lost = alive.iter().filter(|id| !got.contains(id.as_str())).count();
        // The old state model turned each lost instance into a false "gone"
        // (and a false "appeared" when it came back).
        t.false_gone += lost;
        t.false_appeared += lost;
        t.lost += lost;
        t.first_rows.push(took);
        t.complete.push(took);
        t.requests += l.requests;
        t.pages += pages_of(alive.len(), 50);
        t.sweeps += 1;
        t.incomplete += usize::from(!l.complete);
    }
    t
}

/// The sweep (now): pages straight into the state as the dashboard applies
/// them, both kinds of instance.
async fn now(a: &Args, c: &Client, truth: &Truth) -> Tally {
    let q = ListQuery::default();
    let mut t = Tally::default();
    let mut app = App::new(Timing::default());
    let mut prev_from: Option<i64> = None;
    for _ in 0..a.sweeps {
        let from = truth.now().await;
        let started = Instant::now();
        let mut sink = IntoApp {
            app: &mut app,
            at_ms: from,
            started,
            first_rows: None,
        };
        let r = c
            .sweep_all_kinds::<WirePage, _>(&q, DEFAULT_OVERLAP, &mut sink)
            .await
            .unwrap();
        let first_rows = sink.first_rows.unwrap_or_default();
        app.apply_all([(SourceId(0), sweep_end(r.complete))], from);
        let took = started.elapsed();
        let to = truth.now().await;
        let alive = truth.alive(from, to).await;
        t.lost += alive.iter().filter(|id| !r.saw(id)).count();
        let before_previous = match prev_from {
            Some(p) => truth.alive(p, to).await,
            None => BTreeSet::new(),
        };
        for ev in app.events().iter().filter(|e| e.at_ms == from) {
            match ev.kind {
                EventKind::Gone { .. } if alive.contains(ev.key.id()) => t.false_gone += 1,
                EventKind::Appeared(_) if before_previous.contains(ev.key.id()) => {
                    t.false_appeared += 1
                }
                _ => {}
            }
        }
        prev_from = Some(from);
        t.first_rows.push(first_rows);
        t.complete.push(took);
        t.requests += r.requests;
        // The NOTEBOOK listing's pages and the CodeLab one's.
        t.pages += pages_of(alive.len().saturating_sub(1), 50) + 1;
        t.sweeps += 1;
        t.incomplete += usize::from(!r.complete);
    }
    t
}

/// The dashboard's first refresh before the sweep: multi-pass under the
/// default budget, no burst.
async fn budget_before(endpoint: &str, concurrency: usize) -> Duration {
    let c =
        client(endpoint, concurrency).with_rate_limit(Some(nbwatch::defaults::BUDGET_PER_MINUTE));
    let started = Instant::now();
    c.fetch_all_multipass(&ListQuery::default()).await.unwrap();
    started.elapsed()
}

/// The dashboard's first sweep now, as the dashboard runs it: the poller task
/// (default budget with the first-sweep burst) sending pages through its bounded
/// queue, and the state applying them on another task.
async fn budget_now(endpoint: &str, concurrency: usize) -> (Duration, Duration) {
    use nbwatch::watch::{self, ClientSource, Message, PollerConfig};
    let c = client(endpoint, concurrency)
        .with_rate_limit(Some(nbwatch::defaults::BUDGET_PER_MINUTE))
        .with_first_burst(nbwatch::defaults::FIRST_SWEEP_BURST);
    let mut app = App::new(Timing::default());
    let started = Instant::now();
    let source = ClientSource::new(c, ListQuery::default());
    let mut poller = watch::spawn(std::sync::Arc::new(source), PollerConfig::default());
    let mut first_rows = None;
    while let Some(msg) = poller.messages.recv().await {
        match msg {
            Message::Page { ref notebooks, .. } => {
                if first_rows.is_none() && !notebooks.is_empty() {
                    first_rows = Some(started.elapsed());
                }
                app.apply_all([(SourceId(0), msg)], 0);
            }
            Message::Snapshot { .. } => {
                app.apply_all([(SourceId(0), msg)], 0);
                break;
            }
            Message::Failed { error, .. } => panic!("first sweep failed: {error}"),
            // The first sweep goes alone: no hot tier before it ends.
            Message::Started | Message::Hot { .. } => {}
        }
    }
    let took = started.elapsed();
    poller.task.abort();
    assert!(app.total() > 0);
    (first_rows.unwrap_or_default(), took)
}

/// Sinks nothing: the churn table counts ids, not rows.
struct Discard;

impl PageSink<Notebook> for Discard {
    fn page(&mut self, _: Vec<Notebook>, _: PagePlace) {}
}

/// One shape of churn: the sweep before and now, `sweeps` each, on one simulator.
async fn churn_rows(a: &Args, mode: &str) {
    let rate = a.churn_rate.to_string();
    let sim = external::start_live_with(
        &a.sim_bin,
        a.instances,
        a.latency_ms,
        a.speed,
        &["--churn", &rate, "--churn-mode", mode],
    );
    let c = client(&sim.endpoint, a.concurrency);
    let truth = Truth {
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
        endpoint: sim.endpoint.clone(),
    };
    let q = ListQuery::default();
    for variant in ["before", "now"] {
        let mut t = Tally::default();
        let mut overlap = 0;
        for _ in 0..a.churn_sweeps {
            let from = truth.now().await;
            let started = Instant::now();
            let r = if variant == "before" {
                sweep_before::Before::sweep_all_kinds::<NotebookPage, _>(
                    &c,
                    &q,
                    DEFAULT_OVERLAP,
                    &mut Discard,
                )
                .await
                .unwrap()
            } else {
                c.sweep_all_kinds::<NotebookPage, _>(&q, DEFAULT_OVERLAP, &mut Discard)
                    .await
                    .unwrap()
            };
            t.complete.push(started.elapsed());
            let to = truth.now().await;
            let alive = truth.alive(from, to).await;
            // Only a sweep that called itself complete promises nobody is missing.
            t.lost += alive.iter().filter(|id| !r.saw(id)).count();
            t.requests += r.requests;
            t.pages += pages_of(alive.len().saturating_sub(1), 50) + 1;
            t.sweeps += 1;
            t.incomplete += usize::from(!r.complete);
            t.false_gone += r.breaks as usize;
            t.false_appeared += r.bridges as usize;
            overlap = overlap.max(r.overlap);
        }
        println!(
            "{:<10} {:<7} {:>6} {:>6} {:>6.3} {:>6} {:>6} {:>6} {:>5} {:>5} {:>9.0}",
            mode,
            variant,
            t.requests,
            t.pages,
            t.requests as f64 / t.pages.max(1) as f64,
            t.false_gone,
            t.false_appeared,
            t.lost,
            t.incomplete,
            if variant == "now" {
                overlap
            } else {
                DEFAULT_OVERLAP
            },
            ms(median(&t.complete)),
        );
    }
}

fn main() {
    let a = parse_args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = start_sim(&a);
    // The client installs the TLS provider reqwest needs.
    let c = client(&sim.endpoint, a.concurrency);
    let truth = Truth {
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
        endpoint: sim.endpoint.clone(),
    };
    let floor = a.instances.div_ceil(50) as f64 / a.concurrency as f64 * a.latency_ms as f64;
    println!(
        "sweep on a live simulator: {} instances, speed {}×, {} ms latency, concurrency {}, {} sweeps each, page size 50",
        a.instances, a.speed, a.latency_ms, a.concurrency, a.sweeps
    );
    println!(
        "concurrency floor (pages ÷ concurrency × latency): {floor:.0} ms; targets: first rows ≤ 1000 ms, complete ≤ {:.0} ms, requests ≤ 1.1 × pages, 0 lost, 0 false events",
        floor * 1.3
    );
    println!(
        "{:<44} {:>9} {:>9} {:>9} {:>6} {:>6} {:>6} {:>5} {:>5} {:>5} {:>5}",
        "mode",
        "rows ms",
        "1st ms",
        "med ms",
        "reqs",
        "pages",
        "ratio",
        "lost",
        "gone",
        "appr",
        "incpl"
    );
    rt.block_on(async {
        // Warm the connection pool and the simulator's caches.
        c.fetch_all(&ListQuery::default()).await.unwrap();
        before(&a, &c, &truth)
            .await
            .row("multi-pass (before), NOTEBOOK only");
        now(&a, &c, &truth)
            .await
            .row("sweep (now), NOTEBOOK + CodeLab");
        if a.budget_run {
            let (rows, complete) = budget_now(&sim.endpoint, a.concurrency).await;
            println!(
                "dashboard first sweep, budget {}/min + burst {}: first rows {:.0} ms, complete {:.0} ms",
                nbwatch::defaults::BUDGET_PER_MINUTE,
                nbwatch::defaults::FIRST_SWEEP_BURST,
                ms(rows),
                ms(complete)
            );
            let took = budget_before(&sim.endpoint, a.concurrency).await;
            println!(
                "dashboard first refresh before (budget {}/min, no burst, rows only at the end): {:.0} ms",
                nbwatch::defaults::BUDGET_PER_MINUTE,
                ms(took)
            );
        }
    });
    drop(sim);
    println!();
    println!(
        "churn: {} changes per listing request (nbwatch sim --churn {} --churn-mode MODE), {} sweeps each; target: ratio ≤ 1.1 (+2 requests a sweep), 0 lost, 0 incomplete",
        a.churn_rate, a.churn_rate, a.churn_sweeps
    );
    println!(
        "{:<10} {:<7} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>5} {:>5} {:>9}",
        "churn",
        "sweep",
        "reqs",
        "pages",
        "ratio",
        "breaks",
        "repair",
        "lost",
        "incpl",
        "ovlap",
        "med ms"
    );
    rt.block_on(async {
        for mode in ["balanced", "grow", "shrink", "walk"] {
            churn_rows(&a, mode).await;
        }
    });
}

/// The end of a sweep whose instances all came as pages.
fn sweep_end(complete: bool) -> Message {
    Message::Snapshot {
        listing: nbwatch::api::Listing {
            notebooks: Vec::new(),
            total: None,
            requests: 0,
            passes: 1,
            complete,
        },
        took: Duration::ZERO,
        stats: nbwatch::watch::Stats::default(),
    }
}
