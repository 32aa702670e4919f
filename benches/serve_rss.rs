//! The exporter's memory and scrape latency as an operator runs it: the release
//! `nbwatch serve` against `nbwatch sim --manual-clock` (a still population) in
//! other processes, default settings (budget, pacing). Waits for /healthz 200
//! (the first full refresh), reads VmRSS, scrapes /metrics N times over HTTP as
//! Prometheus does (OpenMetrics, `Accept-Encoding: gzip`; their CPU is measured),
//! then N times as a plain classic scraper (curl), then reads VmRSS / VmHWM. Baseline in
//! the same run: 60 instances.
//!
//! ```text
//! cargo build --release --bin nbwatch
//! cargo bench --bench serve_rss -- [--instances 10000] [--scrapes 20] [--bin PATH] [--quick]
//! cargo bench --bench serve_rss -- --live [--baseline PATH] [--secs 60] [--instances 10000]
//! ```
//! `--quick` / `--test` (CI): 300 instances, 3 scrapes, the debug binary if no
//! release one is built. Linux only (/proc).
//!
//! `--live`: the exporter's CPU per API request as an operator pays it (see
//! [`live`]): `nbwatch serve` at default settings against a live `nbwatch sim
//! --instances N --latency-ms 50`, scraped every 15 s as Prometheus does; its
//! CPU time from /proc over `--secs` after the first sweep, divided by the
//! requests the simulator counted in the same window. The binary under test
//! runs with `--status-series current` and `all`, and the `--baseline` binary
//! (a build from before) at its defaults, all three at the same time, each
//! against its own simulator.

// A bench that unwraps fails with the reason, which is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod external;

use external::pty::{cpu_secs, memory_mib};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Args {
    instances: usize,
    scrapes: usize,
    bin: String,
    live: bool,
    secs: u64,
    baseline: Option<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        instances: 10_000,
        scrapes: 20,
        bin: external::release_bin(),
        live: false,
        secs: 60,
        baseline: None,
    };
    let mut quick = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--instances" => {
                a.instances = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(a.instances)
            }
            "--scrapes" => {
                a.scrapes = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(a.scrapes)
                    .max(1)
            }
            "--bin" => a.bin = it.next().unwrap_or(a.bin),
            "--live" => a.live = true,
            "--secs" => a.secs = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.secs),
            "--baseline" => a.baseline = it.next(),
            "--quick" | "--test" => quick = true,
            _ => {}
        }
    }
    if quick {
        a.instances = a.instances.min(300);
        a.scrapes = 3;
        a.secs = a.secs.min(5);
        a.bin = external::or_debug(a.bin);
    }
    a
}

/// A child process killed on drop, and the temporary HOME it ran with.
struct Proc {
    child: Child,
    home: std::path::PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// Starts `bin args…`, returns it and the first stdout line containing `marker`;
/// the rest of stdout is drained so the child never blocks or dies on a closed pipe.
fn spawn(bin: &str, args: &[&str], env: &[(&str, &str)], marker: &str) -> (Proc, String) {
    spawn_tagged(args[0], bin, args, env, marker)
}

/// [`spawn`], with `tag` naming its temporary HOME (processes run at once).
fn spawn_tagged(
    tag: &str,
    bin: &str,
    args: &[&str],
    env: &[(&str, &str)],
    marker: &str,
) -> (Proc, String) {
    let home =
        std::env::temp_dir().join(format!("nbwatch-serve-rss-{}-{tag}", std::process::id(),));
    std::fs::create_dir_all(&home).expect("temp HOME");
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env("HOME", &home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let proc = Proc { child, home };
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.expect("output");
        if line.contains(marker) {
            std::thread::spawn(move || lines.for_each(drop));
            return (proc, line);
        }
    }
    panic!("{bin} {args:?} printed no '{marker}'");
}

/// What Prometheus sends: OpenMetrics preferred, gzip accepted.
const PROMETHEUS: &str = "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                          version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n\
                          Accept-Encoding: gzip\r\n";
/// A scraper without gzip, asking for the classic format (e.g. curl).
const PLAIN: &str = "Accept: text/plain;version=0.0.4\r\n";

/// (status, body length) of GET http://addr/path, HTTP/1.0, with `headers`.
fn get(addr: &str, path: &str, headers: &str) -> Option<(u16, usize)> {
    fetch(addr, path, headers).map(|(status, body)| (status, body.len()))
}

/// (status, body) of GET http://addr/path, HTTP/1.0, with `headers`.
fn fetch(addr: &str, path: &str, headers: &str) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{headers}\r\n").ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, buf.split_off(head_end + 4)))
}

/// `bin serve` at defaults against the simulator at `endpoint`, with `extra`
/// flags; returns it and the address it serves on.
fn start_serve(tag: &str, bin: &str, endpoint: &str, extra: &[&str]) -> (Proc, String) {
    let mut args = vec![
        "serve",
        "--endpoint",
        endpoint,
        "--project-id",
        "5e1f0c0a2b3d4e5f60718293a4b5c6d7",
        "--listen",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    let (serve, line) = spawn_tagged(
        tag,
        bin,
        &args,
        &[
            ("HUAWEICLOUD_SDK_AK", "NBWATCHSIMDEMOAK0001"),
            (
                "HUAWEICLOUD_SDK_SK",
                "nbwatchSimulatorDemoSecretKey00000000000",
            ),
        ],
        "listening on",
    );
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("serve address")
        .to_string();
    (serve, addr)
}

struct Row {
    instances: usize,
    first_refresh: Duration,
    rss_before: f64,
    /// Prometheus' scrapes (OpenMetrics, gzip).
    bytes: usize,
    median_ms: f64,
    max_ms: f64,
    cpu_ms_per_scrape: f64,
    /// A plain classic scrape.
    plain_bytes: usize,
    plain_median_ms: f64,
    rss_after: f64,
    hwm: f64,
}

fn measure(a: &Args, instances: usize) -> Row {
    let n = instances.to_string();
    let (_sim, line) = spawn(
        &a.bin,
        &[
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--manual-clock",
            "--instances",
            &n,
        ],
        &[],
        "ModelArts simulator on",
    );
    let endpoint = line
        .split(" on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("sim endpoint")
        .to_string();
    let started = Instant::now();
    let (serve, addr) = start_serve("serve", &a.bin, &endpoint, &[]);
    let pid = serve.child.id();
    // The first full refresh, paced by the default budget.
    let deadline = Instant::now() + Duration::from_secs(600);
    while get(&addr, "/healthz", "").map(|r| r.0) != Some(200) {
        assert!(
            Instant::now() < deadline,
            "no healthy /healthz within 10 minutes"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let first_refresh = started.elapsed();
    let (rss_before, _) = memory_mib(pid);
    let cpu0 = cpu_secs(pid);
    let scrapes = |headers: &str| {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..a.scrapes {
            let t = Instant::now();
            let (status, len) = get(&addr, "/metrics", headers).expect("a scrape");
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(status, 200);
            bytes = len;
        }
        times.sort_by(f64::total_cmp);
        (times, bytes)
    };
    let (times, bytes) = scrapes(PROMETHEUS);
    let cpu = cpu_secs(pid) - cpu0;
    // Then a scraper without gzip, in the other format: both formats now kept.
    let (plain_times, plain_bytes) = scrapes(PLAIN);
    let (rss_after, hwm) = memory_mib(pid);
    Row {
        instances,
        first_refresh,
        rss_before,
        bytes,
        median_ms: times[times.len() / 2],
        max_ms: *times.last().unwrap_or(&0.0),
        cpu_ms_per_scrape: cpu * 1000.0 / a.scrapes as f64,
        plain_bytes,
        plain_median_ms: plain_times[plain_times.len() / 2],
        rss_after,
        hwm,
    }
}

fn main() {
    let a = parse_args();
    if a.live {
        live::run(&a);
        return;
    }
    println!(
        "nbwatch serve against nbwatch sim --manual-clock, defaults; {} scrapes as Prometheus \
         does (OpenMetrics, gzip), then {} plain classic ones; RSS after both",
        a.scrapes, a.scrapes
    );
    println!(
        "{:>9} {:>14} {:>10} {:>11} {:>11} {:>9} {:>12} {:>11} {:>11} {:>10} {:>10}",
        "instances",
        "first refresh",
        "RSS ready",
        "gzip bytes",
        "scrape p50",
        "max",
        "CPU/scrape",
        "plain bytes",
        "plain p50",
        "RSS after",
        "VmHWM"
    );
    for n in [60, a.instances] {
        let r = measure(&a, n);
        println!(
            "{:>9} {:>12.1} s {:>6.1} MiB {:>11} {:>8.1} ms {:>6.1} ms {:>9.1} ms {:>11} {:>8.1} ms {:>6.1} MiB {:>6.1} MiB{}",
            r.instances,
            r.first_refresh.as_secs_f64(),
            r.rss_before,
            r.bytes,
            r.median_ms,
            r.max_ms,
            r.cpu_ms_per_scrape,
            r.plain_bytes,
            r.plain_median_ms,
            r.rss_after,
            r.hwm,
            if n == 60 { "  [baseline]" } else { "" }
        );
    }
}

/// `--live`: CPU per API request, side by side with a baseline binary.
mod live {
    use super::*;

    /// One exporter under test.
    struct Config {
        label: String,
        bin: String,
        extra: Vec<&'static str>,
    }

    struct Result {
        label: String,
        first_sweep: Duration,
        window: Duration,
        requests: u64,
        cpu: f64,
        scrape_ms: Vec<f64>,
        gzip_bytes: usize,
        series: usize,
        plain_bytes: usize,
        rss: f64,
        hwm: f64,
    }

    /// How often Prometheus scrapes in the measurement (its default is 1 min;
    /// 15 s is the common setting and costs the exporter more).
    const SCRAPE_EVERY: Duration = Duration::from_secs(15);

    /// API requests the simulator has answered so far (`GET /_sim/stats`).
    fn sim_requests(sim_addr: &str) -> u64 {
        let (status, body) = fetch(sim_addr, "/_sim/stats", "").expect("simulator stats");
        assert_eq!(status, 200);
        let v: serde_json::Value = serde_json::from_slice(&body).expect("stats JSON");
        v["requests"].as_u64().expect("requests counted")
    }

    fn measure(cfg: &Config, sim_bin: &str, instances: usize, secs: u64) -> Result {
        let sim = external::start_live(sim_bin, instances, 50, 1.0);
        let sim_addr = sim.endpoint.trim_start_matches("http://").to_string();
        let started = Instant::now();
        let tag = cfg.label.replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        let (serve, addr) = start_serve(&tag, &cfg.bin, &sim.endpoint, &cfg.extra);
        let pid = serve.child.id();
        let deadline = Instant::now() + Duration::from_secs(900);
        while get(&addr, "/healthz", "").map(|r| r.0) != Some(200) {
            assert!(Instant::now() < deadline, "{}: no first sweep", cfg.label);
            std::thread::sleep(Duration::from_millis(100));
        }
        let first_sweep = started.elapsed();
        let (cpu0, req0, t0) = (cpu_secs(pid), sim_requests(&sim_addr), Instant::now());
        let window = Duration::from_secs(secs);
        let mut scrape_ms = Vec::new();
        let mut gzip_bytes = 0;
        let mut next = t0;
        while t0.elapsed() < window {
            if Instant::now() >= next {
                let t = Instant::now();
                let (status, len) = get(&addr, "/metrics", PROMETHEUS).expect("a scrape");
                assert_eq!(status, 200);
                scrape_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                gzip_bytes = len;
                next += SCRAPE_EVERY;
            }
            let left = window.saturating_sub(t0.elapsed());
            std::thread::sleep(next.saturating_duration_since(Instant::now()).min(left));
        }
        let (cpu1, req1, elapsed) = (cpu_secs(pid), sim_requests(&sim_addr), t0.elapsed());
        // After the window: a plain classic scrape, to count the series.
        let (status, body) = fetch(&addr, "/metrics", PLAIN).expect("a plain scrape");
        assert_eq!(status, 200);
        let text = String::from_utf8_lossy(&body);
        let series = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count();
        let (rss, hwm) = memory_mib(pid);
        scrape_ms.sort_by(f64::total_cmp);
        Result {
            label: cfg.label.clone(),
            first_sweep,
            window: elapsed,
            requests: req1 - req0,
            cpu: cpu1 - cpu0,
            scrape_ms,
            gzip_bytes,
            series,
            plain_bytes: body.len(),
            rss,
            hwm,
        }
    }

    pub fn run(a: &Args) {
        let mut configs = Vec::new();
        if let Some(b) = &a.baseline {
            configs.push(Config {
                label: format!("baseline {}", b.rsplit('/').next().unwrap_or(b)),
                bin: b.clone(),
                extra: vec![],
            });
        }
        for mode in ["current", "all"] {
            configs.push(Config {
                label: format!("this build, --status-series {mode}"),
                bin: a.bin.clone(),
                extra: vec!["--status-series", mode],
            });
        }
        println!(
            "nbwatch serve at defaults against its own `nbwatch sim --instances {} --latency-ms 50` \
             (live clock), all at the same time; scraped every {} s as Prometheus does \
             (OpenMetrics, gzip); CPU from /proc over {} s after the first sweep, against the \
             requests the simulator counted in the same window",
            a.instances,
            SCRAPE_EVERY.as_secs(),
            a.secs
        );
        println!("load before: {}", loadavg());
        let results: Vec<Result> = std::thread::scope(|s| {
            let handles: Vec<_> = configs
                .iter()
                .map(|c| s.spawn(|| measure(c, &a.bin, a.instances, a.secs)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a measurement"))
                .collect()
        });
        println!("load after: {}", loadavg());
        println!(
            "{:<40} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>11} {:>11} {:>9} {:>9}",
            "exporter",
            "sweep 1",
            "req/min",
            "CPU s",
            "ms/req",
            "% core",
            "series",
            "gzip KB",
            "scrape p50",
            "scrape max",
            "RSS MiB",
            "VmHWM"
        );
        for r in &results {
            let mins = r.window.as_secs_f64() / 60.0;
            let p50 = r
                .scrape_ms
                .get(r.scrape_ms.len() / 2)
                .copied()
                .unwrap_or(0.0);
            let max = r.scrape_ms.last().copied().unwrap_or(0.0);
            println!(
                "{:<40} {:>6.1} s {:>8.0} {:>8.2} {:>8.2} {:>7.2}% {:>8} {:>9.0} {:>8.1} ms {:>8.1} ms {:>9.1} {:>9.1}",
                r.label,
                r.first_sweep.as_secs_f64(),
                r.requests as f64 / mins,
                r.cpu,
                r.cpu * 1000.0 / r.requests.max(1) as f64,
                r.cpu * 100.0 / r.window.as_secs_f64(),
                r.series,
                r.gzip_bytes as f64 / 1024.0,
                p50,
                max,
                r.rss,
                r.hwm
            );
            let _ = r.plain_bytes;
        }
    }

    fn loadavg() -> String {
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}
