//! End-to-end measurements of the real binary in a pseudo-terminal (200×50):
//!
//! - first paint of `--demo`: spawn → first frame, and spawn → first frame whose
//!   table has rows;
//! - idle CPU (utime + stime from /proc/PID/stat) and memory (VmRSS, VmHWM from
//!   /proc/PID/status) of the dashboard watching a `nbwatch sim` with 10,000
//!   instances in another process: polling under the default budget, paused (`p`:
//!   only the 1 s countdown ticks), and polling every 5 s with the budget lifted
//!   (the cost of polling alone); 60 instances as the baseline;
//! - the same population split over two sources (two `nbwatch sim` of N/2 each,
//!   `--profile a,b`), against one source of N in the same run.
//!
//! ```text
//! cargo build --release --bin nbwatch
//! cargo bench --bench e2e -- [--secs 60] [--instances 10000] [--paint-runs 10] [--bin PATH] [--quick] [--sources-only]
//! ```
//!
//! `--sources-only`: first paint, then only the one-source baseline and the
//! two-source scenario. `--paint-only`: first paint alone (e.g. of two binaries,
//! one after the other with `--bin`).
//!
//! `--per-request BASELINE`: CPU per request, side by side in one run: one
//! `nbwatch sim --instances N --latency-ms 50`, then the dashboard of BASELINE
//! and of `--bin` in turn (`--rounds` times each, at default settings), each
//! measured over `--secs` after its first sweep: the whole process's CPU time
//! (/proc/PID/stat) against the requests the simulator counted in the same
//! window (only one dashboard runs at a time).
//!
//! `--quick` / `--test` (CI): 300 instances, 3 s windows, one paint run, and the
//! debug binary when no release one is built. Linux only (/proc).

// A bench that cannot set up stops with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod external;

use external::ExternalSim as Sim;
use external::pty::{COLS, Dash, ROWS, cpu_secs, memory_mib, table_rows_shown};
use std::time::{Duration, Instant};

struct Args {
    secs: u64,
    instances: usize,
    paint_runs: usize,
    bin: String,
    quick: bool,
    sources_only: bool,
    paint_only: bool,
    per_request: Option<String>,
    rounds: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        secs: 60,
        instances: 10_000,
        paint_runs: 10,
        bin: external::release_bin(),
        quick: false,
        sources_only: false,
        paint_only: false,
        per_request: None,
        rounds: 2,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--secs" => a.secs = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.secs),
            "--instances" => {
                a.instances = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(a.instances)
            }
            "--paint-runs" => {
                a.paint_runs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(a.paint_runs)
                    .max(1)
            }
            "--bin" => a.bin = it.next().unwrap_or(a.bin),
            "--quick" | "--test" => a.quick = true,
            "--sources-only" => a.sources_only = true,
            "--paint-only" => a.paint_only = true,
            "--per-request" => a.per_request = it.next(),
            "--rounds" => {
                a.rounds = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(a.rounds)
                    .max(1)
            }
            _ => {}
        }
    }
    if a.quick {
        a.secs = 3;
        a.instances = a.instances.min(300);
        a.paint_runs = 1;
        a.bin = external::or_debug(a.bin);
    }
    a
}

fn start_sim(bin: &str, instances: usize) -> Sim {
    external::start_sim(bin, &["--instances", &instances.to_string()])
        .unwrap_or_else(|e| panic!("{e}"))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn first_paint(a: &Args) {
    let mut any = Vec::new();
    let mut table = Vec::new();
    for _ in 0..a.paint_runs {
        let d = Dash::spawn(&a.bin, &["--demo"], &[]);
        d.wait_for("the demo table", Duration::from_secs(20), |s| {
            table_rows_shown(s).is_some()
        });
        let (o, t) = {
            let s = d.seen.lock().unwrap();
            (s.first_output, s.first_table)
        };
        any.push(o.expect("output").duration_since(d.spawned).as_secs_f64() * 1000.0);
        table.push(t.expect("table").duration_since(d.spawned).as_secs_f64() * 1000.0);
        d.quit();
    }
    let (ma, mt) = (median(&mut any.clone()), median(&mut table.clone()));
    println!(
        "first paint of --demo, {} runs (spawn → bytes on the terminal):",
        a.paint_runs
    );
    println!(
        "  first frame:           median {ma:6.1} ms   min {:6.1}   max {:6.1}",
        any.iter().copied().fold(f64::MAX, f64::min),
        any.iter().copied().fold(0.0, f64::max)
    );
    println!(
        "  first frame with rows: median {mt:6.1} ms   min {:6.1}   max {:6.1}",
        table.iter().copied().fold(f64::MAX, f64::min),
        table.iter().copied().fold(0.0, f64::max)
    );
}

struct Idle {
    label: String,
    cpu_pct: f64,
    sim_cpu_pct: f64,
    rss: f64,
    hwm: f64,
}

/// Runs the dashboard against `sim`, waits for the first full table, applies
/// `keys`, then measures CPU over `secs`.
fn idle(a: &Args, sim: &Sim, instances: usize, label: &str, extra: &[&str], keys: &str) -> Idle {
    let mut args = vec![
        "--endpoint",
        &sim.endpoint,
        "--project-id",
        nbwatch::sim::DEMO_PROJECT_ID,
    ];
    args.extend_from_slice(extra);
    measure(a, &[sim], &args, instances, label, keys)
}

/// [`idle`] over several simulators, one source (profile) each, from a config
/// file naming them.
fn idle_sources(a: &Args, sims: &[&Sim], instances: usize, label: &str) -> Idle {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    let mut text = String::new();
    let mut names = Vec::new();
    for (i, sim) in sims.iter().enumerate() {
        text.push_str(&format!(
            "[profiles.s{i}]\nendpoint = \"{}\"\nproject_id = \"{}\"\n",
            sim.endpoint,
            nbwatch::sim::DEMO_PROJECT_ID
        ));
        names.push(format!("s{i}"));
    }
    std::fs::write(&path, text).expect("write the config");
    let (path, names) = (path.to_string_lossy().into_owned(), names.join(","));
    measure(
        a,
        sims,
        &["--config", &path, "--profile", &names],
        instances,
        label,
        "",
    )
}

fn measure(
    a: &Args,
    sims: &[&Sim],
    args: &[&str],
    instances: usize,
    label: &str,
    keys: &str,
) -> Idle {
    let env = [
        ("HUAWEICLOUD_SDK_AK", nbwatch::sim::DEMO_AK),
        ("HUAWEICLOUD_SDK_SK", nbwatch::sim::DEMO_SK),
    ];
    let mut d = Dash::spawn(&a.bin, args, &env);
    // The simulator is live: instances come and go, so wait for "most of them".
    let want = (instances as u64) * 9 / 10;
    d.wait_for("the full table", Duration::from_secs(300), |s| {
        table_rows_shown(s).is_some_and(|n| n >= want)
    });
    if !keys.is_empty() {
        d.send(keys);
    }
    std::thread::sleep(Duration::from_millis(500));
    let pid = d.pid();
    let sims_cpu = || -> f64 { sims.iter().map(|s| cpu_secs(s.pid())).sum() };
    let (c0, s0, t0) = (cpu_secs(pid), sims_cpu(), Instant::now());
    std::thread::sleep(Duration::from_secs(a.secs));
    let (c1, s1, wall) = (cpu_secs(pid), sims_cpu(), t0.elapsed().as_secs_f64());
    let (rss, hwm) = memory_mib(pid);
    let status_line = d.status_bar();
    d.quit();
    println!("  {label:<52} status bar: {status_line}");
    Idle {
        label: label.to_string(),
        cpu_pct: (c1 - c0) / wall * 100.0,
        sim_cpu_pct: (s1 - s0) / wall * 100.0,
        rss,
        hwm,
    }
}

fn main() {
    let a = parse_args();
    external::require_bin(&a.bin);
    println!("binary: {}", a.bin);
    if let Some(baseline) = &a.per_request {
        per_request(&a, baseline);
        return;
    }
    first_paint(&a);
    if a.paint_only {
        return;
    }

    let big = start_sim(&a.bin, a.instances);
    println!("idle dashboard, {} s windows, {COLS}×{ROWS}:", a.secs);
    let n = a.instances;
    if a.sources_only {
        let halves = [start_sim(&a.bin, n / 2), start_sim(&a.bin, n - n / 2)];
        let rows = [
            idle(
                &a,
                &big,
                n,
                &format!("{n} instances, one source [baseline]"),
                &[],
                "",
            ),
            idle_sources(
                &a,
                &[&halves[0], &halves[1]],
                n,
                &format!("{n} instances, two sources of {}", n / 2),
            ),
        ];
        print_rows(&rows);
        return;
    }
    let small = start_sim(&a.bin, 60);
    let rows = [
        idle(
            &a,
            &big,
            n,
            &format!("{n} instances, polling (defaults)"),
            &[],
            "",
        ),
        idle(&a, &big, n, &format!("{n} instances, paused (p)"), &[], "p"),
        idle(
            &a,
            &big,
            n,
            &format!("{n} instances, every 5 s, budget lifted"),
            &[
                "--interval",
                "5",
                "--budget",
                "100000",
                "--concurrency",
                "8",
            ],
            "",
        ),
        idle(
            &a,
            &small,
            60,
            "60 instances, polling (defaults) [baseline]",
            &[],
            "",
        ),
        idle(
            &a,
            &small,
            60,
            "60 instances, paused (p) [baseline]",
            &[],
            "p",
        ),
    ];
    print_rows(&rows);
}

fn print_rows(rows: &[Idle]) {
    println!(
        "{:<52} {:>12} {:>12} {:>10} {:>10}",
        "scenario", "nbwatch CPU", "sim CPU", "VmRSS", "VmHWM"
    );
    for r in rows {
        println!(
            "{:<52} {:>10.2} % {:>10.2} % {:>6.1} MiB {:>6.1} MiB",
            r.label, r.cpu_pct, r.sim_cpu_pct, r.rss, r.hwm
        );
    }
}

/// CPU per request of the dashboard of `baseline` and of `--bin`, in turn
/// against one live simulator (see the module's comment).
fn per_request(a: &Args, baseline: &str) {
    let latency = if a.quick { 5 } else { 50 };
    let sim = external::start_live(&a.bin, a.instances, latency, 1.0);
    println!(
        "CPU per request: {} instances, {latency} ms latency, defaults, {} s windows after the first sweep, {} rounds",
        a.instances, a.secs, a.rounds
    );
    println!(
        "{:<12} {:>6} {:>10} {:>12} {:>12} {:>10}  binary",
        "", "round", "CPU", "requests/min", "CPU/request", "VmRSS"
    );
    let mut sums: Vec<(f64, u64)> = vec![(0.0, 0); 2];
    for round in 1..=a.rounds {
        for (i, (label, bin)) in [("baseline", baseline), ("candidate", a.bin.as_str())]
            .into_iter()
            .enumerate()
        {
            let (cpu, requests, wall, rss) = cpu_and_requests(a, &sim, bin);
            sums[i].0 += cpu;
            sums[i].1 += requests;
            println!(
                "{label:<12} {round:>6} {:>8.2} % {:>12.0} {:>9.2} ms {:>6.1} MiB  {bin}",
                cpu / wall * 100.0,
                requests as f64 / wall * 60.0,
                cpu * 1000.0 / requests.max(1) as f64,
                rss
            );
        }
    }
    for (i, label) in ["baseline", "candidate"].into_iter().enumerate() {
        println!(
            "{label:<12} all rounds: {:.2} ms of CPU per request",
            sums[i].0 * 1000.0 / sums[i].1.max(1) as f64
        );
    }
}

/// One dashboard of `bin` against `sim`: (CPU seconds, requests, wall seconds,
/// VmRSS MiB) over `--secs` after its first sweep.
fn cpu_and_requests(a: &Args, sim: &Sim, bin: &str) -> (f64, u64, f64, f64) {
    let env = [
        ("HUAWEICLOUD_SDK_AK", nbwatch::sim::DEMO_AK),
        ("HUAWEICLOUD_SDK_SK", nbwatch::sim::DEMO_SK),
    ];
    let args = [
        "--endpoint",
        &sim.endpoint,
        "--project-id",
        nbwatch::sim::DEMO_PROJECT_ID,
    ];
    let d = Dash::spawn(bin, &args, &env);
    let want = (a.instances as u64) * 9 / 10;
    d.wait_for("the full table", Duration::from_secs(300), |s| {
        table_rows_shown(s).is_some_and(|n| n >= want)
    });
    // The first sweep's last pages and its burst.
    std::thread::sleep(Duration::from_secs(if a.quick { 1 } else { 10 }));
    let requests = || {
        external::sim_json(sim, "/_sim/stats")["requests"]
            .as_u64()
            .unwrap()
    };
    let pid = d.pid();
    let (c0, r0, t0) = (cpu_secs(pid), requests(), Instant::now());
    std::thread::sleep(Duration::from_secs(a.secs));
    let (c1, r1, wall) = (cpu_secs(pid), requests(), t0.elapsed().as_secs_f64());
    let (rss, _) = memory_mib(pid);
    d.quit();
    (c1 - c0, r1 - r0, wall, rss)
}
