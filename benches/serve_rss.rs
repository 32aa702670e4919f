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
//! ```
//! `--quick` / `--test` (CI): 300 instances, 3 scrapes, the debug binary if no
//! release one is built. Linux only (/proc).

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
}

fn parse_args() -> Args {
    let mut a = Args {
        instances: 10_000,
        scrapes: 20,
        bin: external::release_bin(),
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
            "--quick" | "--test" => quick = true,
            _ => {}
        }
    }
    if quick {
        a.instances = a.instances.min(300);
        a.scrapes = 3;
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
    let home = std::env::temp_dir().join(format!(
        "nbwatch-serve-rss-{}-{}",
        std::process::id(),
        args[0]
    ));
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
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{headers}\r\n").ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, buf.len() - head_end - 4))
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
    let (serve, line) = spawn(
        &a.bin,
        &[
            "serve",
            "--endpoint",
            &endpoint,
            "--project-id",
            "5e1f0c0a2b3d4e5f60718293a4b5c6d7",
            "--listen",
            "127.0.0.1:0",
        ],
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
