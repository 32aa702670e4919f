//! What the benches that run nbwatch in other processes share: where its
//! binary is, and `nbwatch sim` started on a free loopback port. Each includes
//! it with `mod external;`; a bench that needs only part of it leaves the rest
//! unused.
#![allow(dead_code)]

pub mod pty;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The nbwatch binary a bench runs: `NBWATCH_BIN`, else the release build.
pub fn release_bin() -> String {
    std::env::var("NBWATCH_BIN")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/nbwatch").into())
}

/// `bin`, or the debug build when `bin` is not there (CI's smoke runs build no
/// release binary; the debug one does the same, slower).
pub fn or_debug(bin: String) -> String {
    if std::path::Path::new(&bin).exists() {
        bin
    } else {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/debug/nbwatch").into()
    }
}

/// Stops the bench with what to do when `bin` is not built.
pub fn require_bin(bin: &str) {
    assert!(
        std::path::Path::new(bin).exists(),
        "{bin} not found: cargo build --release --bin nbwatch (or pass --bin)"
    );
}

/// `nbwatch sim` in another process; killed on drop.
pub struct ExternalSim {
    child: Child,
    pub endpoint: String,
}

impl ExternalSim {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ExternalSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `bin sim --listen 127.0.0.1:0 args…` and waits for the endpoint it prints.
pub fn start_sim(bin: &str, args: &[&str]) -> Result<ExternalSim, String> {
    let mut child = Command::new(bin)
        .args(["sim", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {bin}: {e}"))?;
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return Err("the simulator has no stdout".into());
    };
    let mut sim = ExternalSim {
        child,
        endpoint: String::new(),
    };
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.map_err(|e| e.to_string())?;
        if let Some(ep) = line.trim().strip_prefix("endpoint") {
            sim.endpoint = ep.trim().to_string();
            // Keep reading: a closed pipe would kill the simulator at its next print.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(sim);
        }
    }
    Err("the simulator printed no endpoint".into())
}

/// A simulator with a live clock: `instances` at `latency_ms` a request, time
/// running `speed` times as fast. Panics when it cannot start.
pub fn start_live(bin: &str, instances: usize, latency_ms: u64, speed: f64) -> ExternalSim {
    start_live_with(bin, instances, latency_ms, speed, &[])
}

/// [`start_live`] with more `nbwatch sim` flags (e.g. `--churn 0.5`).
pub fn start_live_with(
    bin: &str,
    instances: usize,
    latency_ms: u64,
    speed: f64,
    more: &[&str],
) -> ExternalSim {
    let (n, latency, speed) = (
        instances.to_string(),
        latency_ms.to_string(),
        speed.to_string(),
    );
    let mut args = vec![
        "--instances",
        &n,
        "--latency-ms",
        &latency,
        "--speed",
        &speed,
    ];
    args.extend_from_slice(more);
    start_sim(bin, &args).unwrap_or_else(|e| panic!("{e}"))
}

/// `GET {base}{path}` over plain HTTP/1.0 on loopback (`base`: `http://127.0.0.1:PORT`):
/// the status and the body. For the simulator's control endpoints and the exporter.
pub fn http_get(base: &str, path: &str) -> Result<(u16, String), String> {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(|e| e.to_string())?;
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP head")?;
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status")?;
    Ok((
        status,
        String::from_utf8_lossy(&buf[head_end + 4..]).into_owned(),
    ))
}

/// The simulator's answer at `path` as JSON; panics when it cannot be had.
pub fn sim_json(sim: &ExternalSim, path: &str) -> serde_json::Value {
    let (status, body) = http_get(&sim.endpoint, path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}"))
}
