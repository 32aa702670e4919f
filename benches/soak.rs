//! A week without growth, compressed: the dashboard (in a pseudo-terminal) and
//! `nbwatch serve`, both at default settings, watch one `nbwatch sim` whose
//! clock runs 60× fast (10 wall minutes = 10 simulated hours, thousands of
//! lifecycles: at 10,000 instances one arrives every 2 simulated seconds, and
//! leaves, stops, starts and fails as the simulator's script says). Every minute
//! it records, for each of the two:
//!
//! - resident memory (VmRSS from /proc/PID/status);
//! - requests in the minute: the simulator counts all of them (`/_sim/stats`),
//!   serve counts its own (`nbwatch_requests_total`), the dashboard's are the
//!   difference; each against the default budget (the first minute may add the
//!   first sweep's burst);
//! - instances lost and invented against the simulator's journal (`/_sim/journal`):
//!   - *lost*: alive throughout the last `grace` (wall seconds × speed, in
//!     simulated time) yet not known;
//!   - *invented*: known, yet neither alive now nor removed within the last `grace`
//!     (a ghost kept too long, or an id the simulator never had).
//!
//!   The default grace, 150 s, is four sweep periods at 10,000 instances under
//!   the default budget (~38 s each): an instance deleted just after its page was
//!   read is missed by the next complete sweep and confirmed gone by the one
//!   after it (an absence is confirmed by a second complete sweep, by design),
//!   up to three periods after the deletion. The population grows (12,500 by
//!   minute 3) and the budget stretches the sweep with it, so a ghost is
//!   judged against four of the periods the status bar states, when that is
//!   longer than the grace (the column `grace`); the lost are judged against
//!   the grace as given. The oldest ghost each one holds
//!   (simulated removal to the sample, in wall seconds) is printed beside it.
//!
//!   What each knows: serve, the `id` of every `modelarts_notebook_info` series
//!   it exports (a plain scrape of `/metrics`); the dashboard, its `--journal`:
//!   the instances alive throughout its first sweep, plus every `appeared`, minus
//!   every `gone` (the journal is its record of every change of membership after
//!   the first sweep). Instances created or removed during the first sweep and
//!   never journaled cannot be told either way and are left out of its count;
//!   the title's row count is printed beside it as a cross-check.
//!
//! Targets: RSS from minute 2 to the end grows by at most 5 %, nothing lost,
//! nothing invented, requests within the budget every minute.
//!
//! ```text
//! cargo build --release --bin nbwatch
//! cargo bench --bench soak -- [--minutes 10] [--instances 10000] [--speed 60]
//!     [--latency-ms 50] [--grace-secs 150] [--minute-secs 60] [--bin PATH]
//! ```
//!
//! `--test` / `--quick` (CI): 300 instances, four samples 6 s apart, the debug
//! binary when no release one is built; it fails when anything is lost or
//! invented or the budget is passed (memory is not judged over so short a run).
//! Linux only (/proc).

// A bench that cannot set up stops with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod external;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use external::pty::{Dash, memory_mib, sweep_period_shown, table_rows_shown};
use external::{ExternalSim, http_get, sim_json};
use nbwatch::defaults;
use nbwatch::journal::{self, Kind};
use nbwatch::sim::{DEMO_AK, DEMO_PROJECT_ID, DEMO_SK};

struct Args {
    minutes: u64,
    minute: Duration,
    instances: usize,
    speed: f64,
    latency_ms: u64,
    grace: Duration,
    bin: String,
    quick: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        minutes: 10,
        minute: Duration::from_secs(60),
        instances: 10_000,
        speed: 60.0,
        latency_ms: 50,
        grace: Duration::from_secs(150),
        bin: external::release_bin(),
        quick: false,
    };
    let mut it = std::env::args().skip(1);
    let mut minute_secs = None;
    let mut grace_secs = None;
    while let Some(arg) = it.next() {
        let mut num = |d: u64| it.next().and_then(|v| v.parse().ok()).unwrap_or(d);
        match arg.as_str() {
            "--minutes" => a.minutes = num(a.minutes).max(2),
            "--instances" => a.instances = num(a.instances as u64) as usize,
            "--latency-ms" => a.latency_ms = num(a.latency_ms),
            "--minute-secs" => minute_secs = Some(num(60).max(1)),
            "--grace-secs" => grace_secs = Some(num(150).max(1)),
            "--speed" => {
                a.speed = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|s: &f64| *s > 0.0)
                    .unwrap_or(a.speed)
            }
            "--bin" => a.bin = it.next().unwrap_or(a.bin),
            "--quick" | "--test" => a.quick = true,
            _ => {}
        }
    }
    if a.quick {
        a.instances = a.instances.min(300);
        a.minutes = 4;
        a.minute = Duration::from_secs(6);
        a.grace = Duration::from_secs(20);
        a.latency_ms = a.latency_ms.min(5);
        a.bin = external::or_debug(a.bin);
    }
    if let Some(s) = minute_secs {
        a.minute = Duration::from_secs(s);
    }
    if let Some(s) = grace_secs {
        a.grace = Duration::from_secs(s);
    }
    a
}

/// `nbwatch serve` in another process, killed on drop.
struct Serve {
    child: Child,
    base: String,
    _home: tempfile::TempDir,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_serve(bin: &str, endpoint: &str) -> Serve {
    let home = tempfile::tempdir().expect("temp HOME");
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--endpoint",
            endpoint,
            "--project-id",
            DEMO_PROJECT_ID,
        ])
        .args(["--listen", "127.0.0.1:0"])
        .env("HOME", home.path())
        .env("HUAWEICLOUD_SDK_AK", DEMO_AK)
        .env("HUAWEICLOUD_SDK_SK", DEMO_SK)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin} serve: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    // Killed and waited for on drop, also when it never says where it listens.
    let mut serve = Serve {
        child,
        base: String::new(),
        _home: home,
    };
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.expect("serve's output");
        if let Some(addr) = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .filter(|_| line.contains("listening on"))
        {
            serve.base = format!("http://{addr}");
            // Keep reading: a closed pipe would end serve at its next print.
            std::thread::spawn(move || lines.for_each(drop));
            return serve;
        }
    }
    panic!("{bin} serve printed no 'listening on'");
}

/// What serve exports: the ids of its instance series and its request counter.
fn scrape(serve: &Serve) -> (HashSet<String>, u64) {
    let (status, body) = http_get(&serve.base, "/metrics").expect("a scrape of serve");
    assert_eq!(status, 200, "serve's /metrics");
    let mut ids = HashSet::new();
    let mut requests = 0;
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("modelarts_notebook_info{") {
            if let Some(id) = rest.split("id=\"").nth(1).and_then(|r| r.split('"').next()) {
                ids.insert(id.to_string());
            }
        } else if let Some(n) = line.strip_prefix("nbwatch_requests_total ") {
            requests = n.trim().parse::<f64>().unwrap_or(0.0) as u64;
        }
    }
    (ids, requests)
}

fn strings(v: &serde_json::Value) -> HashSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The simulator's truth as the soak accumulates it.
struct Truth<'a> {
    sim: &'a ExternalSim,
    /// Simulated ms of every removal seen so far, by id.
    removed: HashMap<String, i64>,
    /// Up to where `removed` is complete.
    read_to: i64,
    /// Changes, creations and removals journaled so far (lifecycle events).
    events: u64,
}

impl Truth<'_> {
    fn now(&self) -> (i64, u64, u64) {
        let v = sim_json(self.sim, "/_sim/stats");
        (
            v["now_ms"].as_i64().expect("now_ms"),
            v["requests"].as_u64().expect("requests"),
            v["instances"].as_u64().unwrap_or(0),
        )
    }

    fn window(&self, from: i64, to: i64) -> serde_json::Value {
        sim_json(self.sim, &format!("/_sim/journal?from={from}&to={to}"))
    }

    /// Reads the journal up to `to` into `removed`.
    fn catch_up(&mut self, to: i64) {
        if to <= self.read_to {
            return;
        }
        let w = self.window(self.read_to + 1, to);
        for r in w["removals"].as_array().into_iter().flatten() {
            let (Some(id), Some(at)) = (r["id"].as_str(), r["at_ms"].as_i64()) else {
                continue;
            };
            self.removed.insert(id.to_string(), at);
        }
        for k in ["changes", "creations", "removals"] {
            self.events += w[k].as_array().map_or(0, |a| a.len() as u64);
        }
        self.read_to = to;
    }

    fn alive_throughout(&self, from: i64, to: i64) -> HashSet<String> {
        strings(&self.window(from, to)["alive_throughout"])
    }

    /// Wall seconds since `id` was removed, by `now` (simulated ms), if it was.
    fn ghost_secs(&self, id: &str, now: i64, speed: f64) -> Option<f64> {
        self.removed
            .get(id)
            .map(|at| (now - at) as f64 / 1000.0 / speed)
    }

    /// Neither alive at `now` nor removed since `since`: should be known by no one.
    fn should_be_gone(&self, id: &str, alive_now: &HashSet<String>, since: i64) -> bool {
        !alive_now.contains(id) && self.removed.get(id).is_none_or(|at| *at < since)
    }
}

/// The dashboard's membership after its first sweep, from its journal.
struct DashKnows {
    /// Alive throughout the first sweep: in it.
    first: HashSet<String>,
    /// Created or removed while the first sweep ran: unknown unless journaled.
    unsure: HashSet<String>,
    journal: std::path::PathBuf,
}

impl DashKnows {
    /// Id → present, for every id the journal speaks of (last word wins).
    fn journaled(&self) -> HashMap<String, bool> {
        let mut last = HashMap::new();
        let entries = journal::read(&self.journal)
            .map(|r| r.entries)
            .unwrap_or_default();
        for e in entries {
            match e.kind {
                Kind::Appeared => last.insert(e.id, true),
                Kind::Gone => last.insert(e.id, false),
                _ => None,
            };
        }
        last
    }
}

struct Sample {
    minute: u64,
    sim_hours: f64,
    sim_instances: u64,
    dash_rows: Option<u64>,
    dash_rss: f64,
    serve_rss: f64,
    dash_requests: u64,
    serve_requests: u64,
    dash_lost: Vec<String>,
    dash_invented: Vec<String>,
    serve_lost: Vec<String>,
    serve_invented: Vec<String>,
    /// The oldest ghost (removed, still known), wall seconds since its removal.
    dash_ghost: f64,
    serve_ghost: f64,
    /// The grace ghosts were judged against, wall seconds.
    ghost_grace: u64,
    lifecycle_events: u64,
}

fn main() {
    let a = parse_args();
    external::require_bin(&a.bin);
    let grace_sim = (a.grace.as_secs_f64() * a.speed * 1000.0) as i64;
    println!(
        "soak: {} × {} s, {} instances at {}× real time ({} ms latency), grace {} s; binary {}",
        a.minutes,
        a.minute.as_secs(),
        a.instances,
        a.speed,
        a.latency_ms,
        a.grace.as_secs(),
        a.bin
    );
    let sim = external::start_live(&a.bin, a.instances, a.latency_ms, a.speed);
    let mut truth = Truth {
        sim: &sim,
        removed: HashMap::new(),
        read_to: 0,
        events: 0,
    };
    let (t0, _, _) = truth.now();
    truth.read_to = t0;

    let journal_dir = tempfile::tempdir().expect("temp dir");
    let journal_path = journal_dir.path().join("soak.jsonl");
    let journal_arg = journal_path.to_string_lossy().into_owned();
    let dash = Dash::spawn(
        &a.bin,
        &[
            "--endpoint",
            &sim.endpoint,
            "--project-id",
            DEMO_PROJECT_ID,
            "--journal",
            &journal_arg,
        ],
        &[
            ("HUAWEICLOUD_SDK_AK", DEMO_AK),
            ("HUAWEICLOUD_SDK_SK", DEMO_SK),
        ],
    );
    let serve = start_serve(&a.bin, &sim.endpoint);
    let started = Instant::now();

    // Both ready: the dashboard's table holds (nearly) every instance, serve is healthy.
    let want = (a.instances as u64) * 95 / 100;
    dash.wait_for(
        "the dashboard's first sweep",
        Duration::from_secs(600),
        |s| table_rows_shown(s).is_some_and(|n| n >= want),
    );
    let deadline = Instant::now() + Duration::from_secs(600);
    while http_get(&serve.base, "/healthz").map(|r| r.0).ok() != Some(200) {
        assert!(Instant::now() < deadline, "serve not healthy in 10 minutes");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The dashboard's last pages of the first sweep.
    std::thread::sleep(Duration::from_secs(if a.quick { 1 } else { 5 }));
    let (t1, mut requests0, _) = truth.now();
    let ready = started.elapsed();
    let first = truth.window(t0, t1);
    let knows = DashKnows {
        first: strings(&first["alive_throughout"]),
        unsure: ["creations", "removals"]
            .iter()
            .flat_map(|k| first[k].as_array().into_iter().flatten())
            .filter_map(|c| c["id"].as_str().map(str::to_string))
            .collect(),
        journal: journal_path,
    };
    println!(
        "ready after {:.1} s (both); first sweep's window: {} alive throughout, {} created or removed during it",
        ready.as_secs_f64(),
        knows.first.len(),
        knows.unsure.len()
    );
    let (_, mut serve_requests0) = scrape(&serve);
    println!(
        "{:>6} {:>9} {:>9} {:>9} {:>10} {:>10} {:>9} {:>9} {:>11} {:>11} {:>11} {:>6} {:>9}",
        "minute",
        "sim time",
        "sim inst",
        "dash rows",
        "dash RSS",
        "serve RSS",
        "dash req",
        "serve req",
        "dash l/i",
        "serve l/i",
        "ghost d/s",
        "grace",
        "lifecycle"
    );

    let mut samples = Vec::new();
    let mut next = Instant::now();
    for minute in 1..=a.minutes {
        next += a.minute;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        let (t, requests, sim_instances) = truth.now();
        let (served, serve_requests) = scrape(&serve);
        let journaled = knows.journaled();
        let dash_rows = table_rows_shown(&dash.screen());
        let (t2, _, _) = truth.now();
        truth.catch_up(t2);
        let steady = truth.alive_throughout(t - grace_sim, t);
        let alive_now = truth.alive_throughout(t2, t2);
        // Ghosts: four of the sweep periods the dashboard states, if longer.
        let period = sweep_period_shown(&dash.status_bar()).unwrap_or(0);
        let ghost_grace = a.grace.max(Duration::from_secs(4 * period));
        let gone_since = t - (ghost_grace.as_secs_f64() * a.speed * 1000.0) as i64;

        let dash_present = |id: &str| match journaled.get(id) {
            Some(p) => *p,
            None => knows.first.contains(id),
        };
        let dash_unsure = |id: &str| !journaled.contains_key(id) && knows.unsure.contains(id);
        let mut dash_lost: Vec<String> = steady
            .iter()
            .filter(|id| !dash_unsure(id) && !dash_present(id))
            .cloned()
            .collect();
        let mut dash_invented: Vec<String> = knows
            .first
            .iter()
            .chain(journaled.keys())
            .filter(|id| dash_present(id))
            .filter(|id| truth.should_be_gone(id, &alive_now, gone_since))
            .cloned()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let oldest = |known: &mut dyn Iterator<Item = &String>| {
            known
                .filter_map(|id| truth.ghost_secs(id, t2, a.speed))
                .fold(0.0, f64::max)
        };
        let dash_ghost = oldest(
            &mut knows
                .first
                .iter()
                .chain(journaled.keys())
                .filter(|id| dash_present(id)),
        );
        let serve_ghost = oldest(&mut served.iter());
        let mut serve_lost: Vec<String> = steady.difference(&served).cloned().collect();
        let mut serve_invented: Vec<String> = served
            .iter()
            .filter(|id| truth.should_be_gone(id, &alive_now, gone_since))
            .cloned()
            .collect();
        for v in [
            &mut dash_lost,
            &mut dash_invented,
            &mut serve_lost,
            &mut serve_invented,
        ] {
            v.sort();
        }
        let total = requests - requests0;
        let serve_req = serve_requests.saturating_sub(serve_requests0);
        let s = Sample {
            minute,
            sim_hours: (t - t0) as f64 / 3_600_000.0,
            sim_instances,
            dash_rows,
            dash_rss: memory_mib(dash.pid()).0,
            serve_rss: memory_mib(serve.child.id()).0,
            dash_requests: total.saturating_sub(serve_req),
            serve_requests: serve_req,
            dash_lost,
            dash_invented,
            serve_lost,
            serve_invented,
            dash_ghost,
            serve_ghost,
            ghost_grace: ghost_grace.as_secs(),
            lifecycle_events: truth.events,
        };
        (requests0, serve_requests0) = (requests, serve_requests);
        println!(
            "{:>6} {:>7.1} h {:>9} {:>9} {:>6.1} MiB {:>6.1} MiB {:>9} {:>9} {:>5}/{:<5} {:>5}/{:<5} {:>4.0}/{:<4.0} s {:>4} s {:>9}",
            s.minute,
            s.sim_hours,
            s.sim_instances,
            s.dash_rows.map_or("?".into(), |n| n.to_string()),
            s.dash_rss,
            s.serve_rss,
            s.dash_requests,
            s.serve_requests,
            s.dash_lost.len(),
            s.dash_invented.len(),
            s.serve_lost.len(),
            s.serve_invented.len(),
            s.dash_ghost,
            s.serve_ghost,
            s.ghost_grace,
            s.lifecycle_events
        );
        for (who, what, ids) in [
            ("dashboard", "lost", &s.dash_lost),
            ("dashboard", "invented", &s.dash_invented),
            ("serve", "lost", &s.serve_lost),
            ("serve", "invented", &s.serve_invented),
        ] {
            if !ids.is_empty() {
                println!(
                    "         {who} {what}: {}",
                    ids.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
                );
            }
        }
        samples.push(s);
    }
    let status_line = dash.status_bar();
    println!("dashboard status bar at the end: {status_line}");
    dash.quit();
    drop(serve);
    verdict(&a, &samples);
}

/// Prints the verdict against the targets; in smoke mode, fails on a miss
/// (memory aside: a short run says nothing about growth).
fn verdict(a: &Args, samples: &[Sample]) {
    let growth = |rss: &dyn Fn(&Sample) -> f64| {
        let from = samples
            .iter()
            .find(|s| s.minute == 2)
            .map(rss)
            .unwrap_or(0.0);
        let to = samples.last().map(rss).unwrap_or(0.0);
        (from, to, (to - from) / from.max(f64::MIN_POSITIVE) * 100.0)
    };
    let (d0, d1, dg) = growth(&|s: &Sample| s.dash_rss);
    let (s0, s1, sg) = growth(&|s: &Sample| s.serve_rss);
    // A minute may hold up to 60 s of requests plus the first sweep's burst
    // (minute 1), with the sampling's own jitter.
    let scale = a.minute.as_secs_f64() / 60.0;
    let budget = |m: u64| {
        let burst = if m == 1 {
            defaults::FIRST_SWEEP_BURST
        } else {
            0
        };
        (f64::from(defaults::BUDGET_PER_MINUTE) * scale * 1.05) as u64 + u64::from(burst)
    };
    let over: Vec<String> = samples
        .iter()
        .filter(|s| s.dash_requests > budget(s.minute) || s.serve_requests > budget(s.minute))
        .map(|s| format!("minute {}", s.minute))
        .collect();
    let lost_or_invented: u64 = samples
        .iter()
        .map(|s| {
            (s.dash_lost.len()
                + s.dash_invented.len()
                + s.serve_lost.len()
                + s.serve_invented.len()) as u64
        })
        .sum();
    println!(
        "RSS minute 2 → {}: dashboard {d0:.1} → {d1:.1} MiB ({dg:+.1} %), serve {s0:.1} → {s1:.1} MiB ({sg:+.1} %) [target ≤ +5 %]",
        samples.len()
    );
    println!(
        "lost or invented, all minutes, both: {lost_or_invented} [target 0]; over the budget ({} a minute): {} [target none]",
        defaults::BUDGET_PER_MINUTE,
        if over.is_empty() {
            "none".to_string()
        } else {
            over.join(", ")
        }
    );
    if a.quick {
        assert_eq!(lost_or_invented, 0, "instances lost or invented");
        assert!(over.is_empty(), "over the budget: {over:?}");
    }
}
