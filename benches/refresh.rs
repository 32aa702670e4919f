//! End-to-end full refresh: nbwatch's `Client::fetch_all` (bounded concurrency)
//! against sequential paging (concurrency 1, what the official SDK does) over the
//! same simulator, and against the floor `(1 + ceil((pages - 1) / c)) × latency`.
//!
//! ```text
//! cargo build --release --bin nbwatch
//! cargo bench --bench refresh -- [--instances 10000] [--latency-ms 50] [--runs 5]
//!     [--concurrency 8] [--page-size 50] [--in-process] [--sim-bin PATH] [--quick]
//! ```
//!
//! By default the simulator is the release `nbwatch sim` in its own process
//! (`--sim-bin`, default `target/release/nbwatch`), so its CPU does not share the
//! client's runtime; `--in-process` (or a missing binary) runs it on a separate
//! runtime in this process. `--quick` / `--test` (what CI passes): 300 instances,
//! 5 ms, one run, in-process: it only proves the harness works.
//!
//! The simulator runs with a manual clock so the population is the same for
//! every run (no instance appears or leaves mid-refresh, so each refresh is one
//! pass and both modes read exactly the same pages).

// A bench that cannot set up stops with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod external;

use std::time::{Duration, Instant};

use nbwatch::api::{Client, ClientOptions, ListQuery, PageSize, RetryPolicy};
use nbwatch::sim::{self, SimConfig};

struct Args {
    instances: usize,
    latency_ms: u64,
    runs: usize,
    concurrency: usize,
    page_size: u32,
    in_process: bool,
    sim_bin: String,
    quick: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        instances: 10_000,
        latency_ms: 50,
        runs: 5,
        concurrency: 8,
        page_size: 50,
        in_process: false,
        sim_bin: external::release_bin(),
        quick: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--instances" => a.instances = num(&value("--instances")?)?,
            "--latency-ms" => a.latency_ms = num(&value("--latency-ms")?)?,
            "--runs" => a.runs = num::<usize>(&value("--runs")?)?.max(1),
            "--concurrency" => a.concurrency = num::<usize>(&value("--concurrency")?)?.max(1),
            "--page-size" => a.page_size = num(&value("--page-size")?)?,
            "--sim-bin" => a.sim_bin = value("--sim-bin")?,
            "--in-process" => a.in_process = true,
            "--quick" | "--test" => a.quick = true,
            // cargo bench passes --bench; criterion-style filters are ignored.
            _ => {}
        }
    }
    if a.quick {
        a.instances = a.instances.min(300);
        a.latency_ms = a.latency_ms.min(5);
        a.runs = 1;
        a.in_process = true;
    }
    Ok(a)
}

fn num<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("not a number: {s}"))
}

fn start_external(a: &Args) -> Result<external::ExternalSim, String> {
    let (n, latency) = (a.instances.to_string(), a.latency_ms.to_string());
    external::start_sim(
        &a.sim_bin,
        &[
            "--manual-clock",
            "--instances",
            &n,
            "--latency-ms",
            &latency,
        ],
    )
}

fn client(endpoint: &str, concurrency: usize) -> Client {
    let mut opts = ClientOptions::new(endpoint, sim::DEMO_PROJECT_ID, sim::demo_auth());
    opts.concurrency = concurrency;
    opts.retry = RetryPolicy::none();
    opts.timeout = Duration::from_secs(60);
    Client::new(opts).expect("client")
}

struct Row {
    label: String,
    times: Vec<Duration>,
    requests: u64,
    instances: usize,
    /// CPU seconds per refresh: this process (the client), the simulator.
    client_cpu: f64,
    sim_cpu: Option<f64>,
}

/// utime + stime of a process in seconds (Linux), or `None`.
fn cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.get(stat.rfind(')')? + 2..)?;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

impl Row {
    fn median(&self) -> Duration {
        let mut t = self.times.clone();
        t.sort();
        t[t.len() / 2]
    }
    fn min(&self) -> Duration {
        self.times.iter().copied().min().unwrap_or_default()
    }
    fn max(&self) -> Duration {
        self.times.iter().copied().max().unwrap_or_default()
    }
}

async fn measure(
    endpoint: &str,
    a: &Args,
    concurrency: usize,
    label: String,
    sim_pid: Option<u32>,
) -> Row {
    let q = ListQuery {
        page_size: PageSize::new(a.page_size).expect("page size 10, 20 or 50"),
        ..ListQuery::default()
    };
    let c = client(endpoint, concurrency);
    // One warm-up (connections, first-touch costs), not timed.
    let warm = c.fetch_all(&q).await.expect("warm-up refresh");
    let mut row = Row {
        label,
        times: Vec::new(),
        requests: warm.requests,
        instances: warm.notebooks.len(),
        client_cpu: 0.0,
        sim_cpu: None,
    };
    let sim_pid = sim_pid.map(|p| p.to_string());
    let sim_cpu = || sim_pid.as_deref().and_then(cpu_secs);
    let (c0, s0) = (cpu_secs("self").unwrap_or(0.0), sim_cpu());
    for _ in 0..a.runs {
        let t = Instant::now();
        let l = c.fetch_all(&q).await.expect("refresh");
        row.times.push(t.elapsed());
        assert_eq!(l.passes, 1, "the population moved during a refresh");
        row.requests = l.requests;
        row.instances = l.notebooks.len();
    }
    let runs = a.runs as f64;
    row.client_cpu = (cpu_secs("self").unwrap_or(0.0) - c0) / runs;
    row.sim_cpu = s0.zip(sim_cpu()).map(|(s0, s1)| (s1 - s0) / runs);
    row
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("refresh bench: {e}");
            std::process::exit(2);
        }
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The simulator's own runtime (in-process mode) and the client's are separate.
    let sim_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let external = if a.in_process || !std::path::Path::new(&a.sim_bin).exists() {
        if !a.in_process {
            eprintln!(
                "refresh bench: {} not found (cargo build --release --bin nbwatch); simulator runs in-process",
                a.sim_bin
            );
        }
        None
    } else {
        Some(start_external(&a).unwrap_or_else(|e| {
            eprintln!("refresh bench: {e}");
            std::process::exit(1);
        }))
    };
    let in_process = match &external {
        Some(_) => None,
        None => Some(
            sim_rt
                .block_on(sim::spawn(SimConfig {
                    instances: a.instances,
                    latency_ms: a.latency_ms,
                    ..SimConfig::manual_at(1_795_854_600_000)
                }))
                .expect("simulator"),
        ),
    };
    let endpoint = match (&external, &in_process) {
        (Some(e), _) => e.endpoint.clone(),
        (None, Some(h)) => h.endpoint(),
        (None, None) => unreachable!(),
    };

    let sim_pid = external.as_ref().map(external::ExternalSim::pid);
    let seq = client_rt.block_on(measure(
        &endpoint,
        &a,
        1,
        "sequential (concurrency 1)".into(),
        sim_pid,
    ));
    let par = client_rt.block_on(measure(
        &endpoint,
        &a,
        a.concurrency,
        format!("nbwatch fetch_all (concurrency {})", a.concurrency),
        sim_pid,
    ));

    let pages = par.requests;
    let rounds = 1 + pages.saturating_sub(1).div_ceil(a.concurrency as u64);
    let floor = Duration::from_millis(a.latency_ms * rounds);
    let floor_paper =
        Duration::from_secs_f64(pages as f64 / a.concurrency as f64 * a.latency_ms as f64 / 1000.0);
    let seq_floor = Duration::from_millis(a.latency_ms * seq.requests);

    println!(
        "full refresh: {} instances, page size {}, {} ms latency per request, {} timed runs each ({} simulator)",
        par.instances,
        a.page_size,
        a.latency_ms,
        a.runs,
        if external.is_some() {
            "separate-process"
        } else {
            "in-process"
        }
    );
    println!(
        "{:<36} {:>9} {:>9} {:>9} {:>9} {:>12} {:>12}",
        "mode", "median", "min", "max", "requests", "client CPU", "sim CPU"
    );
    for r in [&seq, &par] {
        println!(
            "{:<36} {:>9} {:>9} {:>9} {:>9} {:>12} {:>12}",
            r.label,
            ms(r.median()),
            ms(r.min()),
            ms(r.max()),
            r.requests,
            ms(Duration::from_secs_f64(r.client_cpu.max(0.0))),
            r.sim_cpu
                .map(|c| ms(Duration::from_secs_f64(c.max(0.0))))
                .unwrap_or_else(|| "in-process".into()),
        );
    }
    println!(
        "{:<36} {:>9}   (pages {} × latency)",
        "floor, sequential",
        ms(seq_floor),
        seq.requests
    );
    println!(
        "{:<36} {:>9}   (first page, then {} rounds of {})",
        format!("floor, concurrency {}", a.concurrency),
        ms(floor),
        rounds - 1,
        a.concurrency
    );
    println!(
        "{:<36} {:>9}   (pages ÷ concurrency × latency)",
        "floor, issue's formula",
        ms(floor_paper)
    );
    let speedup = seq.median().as_secs_f64() / par.median().as_secs_f64().max(1e-9);
    println!("speed-up over sequential: {speedup:.1}×");
    println!(
        "nbwatch ÷ floor: {:.2}× (round floor), {:.2}× (issue's formula)",
        par.median().as_secs_f64() / floor.as_secs_f64().max(1e-9),
        par.median().as_secs_f64() / floor_paper.as_secs_f64().max(1e-9),
    );
    assert_eq!(
        seq.instances, par.instances,
        "both modes read the same listing"
    );
    drop(in_process);
    drop(external);
}
