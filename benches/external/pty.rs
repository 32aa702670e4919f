//! The dashboard in a pseudo-terminal (200×50), as a user runs it, and what
//! /proc says about a process: CPU time and memory. Shared by the benches that
//! watch the real binary (e2e, soak).

use std::io::{Read, Write};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

pub const COLS: u16 = 200;
pub const ROWS: u16 = 50;

/// What the reader thread saw: the screen and when things first appeared.
pub struct Seen {
    pub parser: vt100::Parser,
    pub first_output: Option<Instant>,
    pub first_table: Option<Instant>,
}

/// The table has rows: its title reads `Notebooks N/M` with N > 0.
pub fn table_rows_shown(screen: &str) -> Option<u64> {
    number_between(screen, "Notebooks ", '/').filter(|n| *n > 0)
}

/// The number written right after the first `before` in `text`, if `after` follows it.
fn number_between(text: &str, before: &str, after: char) -> Option<u64> {
    let i = text.find(before)?;
    let rest = &text[i + before.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if !rest[digits.len()..].starts_with(after) {
        return None;
    }
    digits.parse().ok()
}

/// The sweep's period the status bar states (`sweep 6s ago, every 42s`),
/// in seconds: shown while the budget stretches it.
pub fn sweep_period_shown(status_bar: &str) -> Option<u64> {
    number_between(status_bar, ", every ", 's')
}

pub struct Dash {
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    pub seen: Arc<Mutex<Seen>>,
    pub spawned: Instant,
    _master: Box<dyn portable_pty::MasterPty + Send>,
    pub home: tempfile::TempDir,
}

impl Dash {
    pub fn spawn(bin: &str, args: &[&str], env: &[(&str, &str)]) -> Dash {
        let home = tempfile::Builder::new()
            .prefix("nbwatch-bench-e2e-")
            .tempdir()
            .expect("temp dir");
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(bin);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        // No user configuration, no log file in the user's directories.
        cmd.env("HOME", home.path());
        cmd.env("XDG_CONFIG_HOME", home.path());
        cmd.env("XDG_STATE_HOME", home.path());
        cmd.env("XDG_DATA_HOME", home.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let seen = Arc::new(Mutex::new(Seen {
            parser: vt100::Parser::new(ROWS, COLS, 0),
            first_output: None,
            first_table: None,
        }));
        let spawned = Instant::now();
        let child = pair.slave.spawn_command(cmd).expect("spawn in pty");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let now = Instant::now();
                            let mut s = seen.lock().unwrap();
                            s.parser.process(&buf[..n]);
                            s.first_output.get_or_insert(now);
                            if s.first_table.is_none()
                                && table_rows_shown(&s.parser.screen().contents()).is_some()
                            {
                                s.first_table = Some(now);
                            }
                        }
                    }
                }
            });
        }
        Dash {
            child,
            writer,
            seen,
            spawned,
            _master: pair.master,
            home,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("pid")
    }

    pub fn screen(&self) -> String {
        self.seen.lock().unwrap().parser.screen().contents()
    }

    /// The status bar: the screen's last line but one.
    pub fn status_bar(&self) -> String {
        self.screen()
            .lines()
            .nth(usize::from(ROWS) - 2)
            .unwrap_or("")
            .trim()
            .to_string()
    }

    pub fn send(&mut self, s: &str) {
        self.writer.write_all(s.as_bytes()).expect("write to pty");
        self.writer.flush().expect("flush pty");
    }

    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if pred(&self.screen()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("timed out waiting for {what}; screen:\n{}", self.screen());
    }

    pub fn quit(mut self) {
        self.send("q");
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
    }
}

/// utime + stime of a process, in seconds.
pub fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of proc(5); `after` starts at field 3.
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    ticks as f64 / clk_tck()
}

pub fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// (VmRSS, VmHWM) in MiB.
pub fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    let kb = |key: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}
