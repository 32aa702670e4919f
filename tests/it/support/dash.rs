//! The real `nbwatch` dashboard in a pseudo-terminal, started through a small shell
//! wrapper that records the terminal settings before and reports them after it
//! exits, the way a user's shell would find them:
//!
//! ```text
//! b=$(stty -g); nbwatch …; c=$?; echo EXIT=$c; stty -a; [ "$(stty -g)" = "$b" ] && echo TTY-SAME
//! ```
//!
//! Every run gets its own temporary HOME and log file; nothing touches the user's files.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use nbwatch::sim::{self, SimConfig, SimHandle};

use super::pty::{self, Pty, clean_command};

/// Generous: the machine may be loaded (2 cores, other builds and tests running).
pub const WAIT: Duration = Duration::from_secs(15);

const WRAPPER: &str = r#"b=$(stty -g); "$0" "$@"; c=$?; printf '\r\nEXIT=%s\r\n' "$c"; stty -a; if [ "$(stty -g)" = "$b" ]; then echo TTY-SAME; else echo TTY-CHANGED; fi; exit "$c""#;

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        TempDir(
            tempfile::Builder::new()
                .prefix(&format!("nbwatch-e2e-{tag}-"))
                .tempdir()
                .expect("create temp dir"),
        )
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// A test-only example target, built by `cargo test` beside this test binary
/// (`target/<profile>/examples/`).
pub fn example(name: &str) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/it-… → target/<profile>/examples/<name>
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps")
        .join("examples")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: `cargo test` builds the examples (or run `cargo build --example {name}`)",
        path.display()
    );
    path.to_str().expect("utf-8 target path").to_string()
}

/// How to start the dashboard.
pub struct Launch {
    /// The program: the shipped binary, or a test-only target built beside it.
    pub bin: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cols: u16,
    pub rows: u16,
}

impl Launch {
    /// `nbwatch --demo` (its simulator runs inside the process, in real time).
    pub fn demo(cols: u16, rows: u16) -> Launch {
        Launch {
            bin: super::bin().into(),
            args: vec!["--demo".into()],
            env: Vec::new(),
            cols,
            rows,
        }
    }

    /// The dashboard against an in-process simulator, polling every second, with
    /// the simulator's credentials.
    pub fn against(sim: &Sim, cols: u16, rows: u16) -> Launch {
        let (ak, sk) = sim.handle.credentials();
        Launch {
            bin: super::bin().into(),
            args: vec![
                "--endpoint".into(),
                sim.handle.endpoint(),
                "--project-id".into(),
                sim.handle.project_id().to_string(),
                "--interval".into(),
                "1".into(),
                "--fast-interval".into(),
                "1".into(),
            ],
            env: vec![
                ("HUAWEICLOUD_SDK_AK".into(), ak),
                ("HUAWEICLOUD_SDK_SK".into(), sk.expose().to_string()),
            ],
            cols,
            rows,
        }
    }

    /// The same dashboard through the test-only `panic_dashboard` example, which
    /// panics on the dashboard's thread after `ms` (the shipped binary has no
    /// such hook).
    pub fn panicking_after(mut self, ms: u64) -> Launch {
        self.bin = example("panic_dashboard");
        self.env("NBWATCH_PANIC_AFTER_MS", &ms.to_string())
    }

    pub fn arg(mut self, a: &str) -> Launch {
        self.args.push(a.into());
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Launch {
        self.env.retain(|(key, _)| key != k);
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn start(self) -> Dash {
        Dash::start(self)
    }
}

/// A running dashboard.
pub struct Dash {
    pub pty: Pty,
    pub dir: TempDir,
    sh_pid: u32,
}

/// What the terminal looked like once the dashboard exited.
#[derive(Debug)]
pub struct Finished {
    /// The dashboard's exit code.
    pub code: u32,
    /// The normal screen after exit (panic messages, the wrapper's report).
    pub screen: String,
    /// Everything written to the terminal.
    pub raw: String,
    pub alternate_screen: bool,
    pub cursor_hidden: bool,
    pub mouse_mode: vt100::MouseProtocolMode,
    /// `stty -a` after exit.
    pub stty: String,
    /// `stty -g` after exit equals `stty -g` before start.
    pub tty_same: bool,
}

impl Dash {
    pub fn start(l: Launch) -> Dash {
        let dir = TempDir::new("dash");
        let home = dir.path().to_str().expect("utf-8 temp path").to_string();
        let log = dir.path().join("nbwatch.log");
        let log = log.to_str().expect("utf-8 temp path").to_string();
        let mut args: Vec<&str> = vec!["-c", WRAPPER, l.bin.as_str()];
        args.extend(l.args.iter().map(String::as_str));
        args.extend(["--log-file", log.as_str()]);
        let mut env: Vec<(&str, &str)> = vec![("HOME", home.as_str())];
        env.extend(l.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let pty = Pty::spawn_command(clean_command("/bin/sh", &args, &env), l.cols, l.rows);
        let sh_pid = pty.pid().expect("shell pid");
        Dash { pty, dir, sh_pid }
    }

    /// The pid of the nbwatch process (a child of the wrapper shell).
    pub fn nbwatch_pid(&self) -> u32 {
        let start = Instant::now();
        loop {
            if let Some(pid) = pty::children_named(self.sh_pid, "nbwatch").first() {
                return *pid;
            }
            assert!(start.elapsed() < WAIT, "no nbwatch process under the shell");
            std::thread::sleep(pty::POLL);
        }
    }

    pub fn send(&mut self, keys: &str) {
        self.pty.send(keys);
    }

    pub fn screen(&self) -> String {
        self.pty.screen()
    }

    /// Waits until the screen satisfies `pred`.
    pub fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.pty.wait_for(what, WAIT, pred)
    }

    pub fn wait_text(&self, text: &str) -> String {
        self.pty.wait_text(text, WAIT)
    }

    /// Waits until the table is on screen with data; returns (shown, total).
    pub fn wait_table(&self) -> (usize, usize) {
        let s = self.wait("the instance table", |s| {
            title_counts(s).is_some() && s.contains("NAME")
        });
        title_counts(&s).unwrap()
    }

    /// Waits for the dashboard to exit and reports what the terminal was left like.
    pub fn finish(&mut self) -> Finished {
        let code = self.pty.wait_exit(WAIT).unwrap_or_else(|| {
            panic!("the dashboard did not exit; screen:\n{}", self.pty.screen())
        });
        let raw = String::from_utf8_lossy(&self.pty.raw()).into_owned();
        let after_exit = raw
            .rfind("EXIT=")
            .map(|i| raw[i..].to_string())
            .unwrap_or_default();
        let (alternate_screen, cursor_hidden, mouse_mode) = self.pty.with_screen(|s| {
            (
                s.alternate_screen(),
                s.hide_cursor(),
                s.mouse_protocol_mode(),
            )
        });
        Finished {
            code,
            screen: self.pty.screen(),
            alternate_screen,
            cursor_hidden,
            mouse_mode,
            tty_same: after_exit.contains("TTY-SAME"),
            stty: after_exit,
            raw,
        }
    }
}

impl Drop for Dash {
    fn drop(&mut self) {
        // A failed test must not leave a dashboard running.
        for pid in pty::children_named(self.sh_pid, "nbwatch") {
            let _ = std::process::Command::new("kill")
                .args(["-s", "KILL", &pid.to_string()])
                .status();
        }
    }
}

impl Finished {
    /// The terminal is as the user's shell needs it: alternate screen left, mouse
    /// reporting off, cursor shown, line discipline back in cooked mode with echo
    /// (exactly the settings from before the start).
    pub fn assert_restored(&self) {
        let ctx = || format!("stty after exit:\n{}\nscreen:\n{}", self.stty, self.screen);
        assert!(
            !self.alternate_screen,
            "still on the alternate screen; {}",
            ctx()
        );
        assert!(!self.cursor_hidden, "cursor still hidden; {}", ctx());
        assert_eq!(
            self.mouse_mode,
            vt100::MouseProtocolMode::None,
            "mouse still captured; {}",
            ctx()
        );
        let enter = self
            .raw
            .find("\x1b[?1049h")
            .expect("entered the alternate screen");
        let leave = self
            .raw
            .rfind("\x1b[?1049l")
            .expect("left the alternate screen");
        assert!(
            leave > enter,
            "left the alternate screen before entering it"
        );
        let mouse_off = self
            .raw
            .rfind("\x1b[?1000l")
            .expect("mouse capture disabled");
        assert!(mouse_off > enter);
        let cursor_on = self.raw.rfind("\x1b[?25h").expect("cursor shown");
        assert!(cursor_on > enter);
        // `stty -a` spells a cleared flag with a leading '-'.
        let flags: Vec<&str> = self
            .stty
            .split(|c: char| c.is_whitespace() || c == ';')
            .collect();
        for flag in ["icanon", "echo", "isig", "icrnl", "opost"] {
            assert!(
                flags.contains(&flag),
                "{flag} is not set after exit; {}",
                ctx()
            );
            let off = format!("-{flag}");
            assert!(
                !flags.contains(&off.as_str()),
                "{off} after exit; {}",
                ctx()
            );
        }
        assert!(
            self.tty_same,
            "terminal settings differ from before the start; {}",
            ctx()
        );
    }
}

/// `Notebooks 4/59` in the table title: (shown, total).
pub fn title_counts(screen: &str) -> Option<(usize, usize)> {
    let line = screen.lines().find(|l| l.contains("┌ Notebooks "))?;
    let rest = &line[line.find("┌ Notebooks ")? + "┌ Notebooks ".len()..];
    let counts = rest.split_whitespace().next()?;
    let (a, b) = counts.split_once('/')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The table's title line.
pub fn title_line(screen: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains("┌ Notebooks "))
        .unwrap_or_default()
        .to_string()
}

/// The instance table's lines, from its title to its bottom border, with the
/// SOURCE column (drawn when several sources are watched) cut out, so that a
/// row reads `│• NAME STATUS …` either way.
pub fn table_lines(screen: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    // Where the NAME column starts (display columns), when a SOURCE column precedes it.
    let mut cut: Option<usize> = None;
    for line in screen.lines() {
        if line.contains("┌ Notebooks ") {
            inside = true;
            out.push(line.to_string());
            continue;
        }
        if !inside {
            continue;
        }
        if line.starts_with('└') {
            out.push(line.to_string());
            break;
        }
        if cut.is_none() && line.contains("SOURCE") && line.contains("NAME") {
            let before = &line[..line.find("NAME").unwrap_or(0)];
            cut = Some(usize::from(super::pty::unicode_cols(before)));
        }
        match cut {
            // Keep the border and the change mark (two cells), drop the source.
            Some(at) => {
                let head: String = line.chars().take(2).collect();
                out.push(format!("{head}{}", from_col(line, at)));
            }
            None => out.push(line.to_string()),
        }
    }
    out
}

/// `line` from display column `col` on.
fn from_col(line: &str, col: usize) -> &str {
    use unicode_width::UnicodeWidthChar;
    let mut w = 0;
    for (i, c) in line.char_indices() {
        if w >= col {
            return &line[i..];
        }
        w += c.width().unwrap_or(0);
    }
    ""
}

/// The data rows of the instance table as text (header and blank lines left out).
pub fn table_rows(screen: &str) -> Vec<String> {
    let mut rows = Vec::new();
    let mut inside = false;
    for line in table_lines(screen).iter().map(String::as_str) {
        if line.contains("┌ Notebooks ") {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if line.starts_with('└') {
            break;
        }
        // The first column holds the "changed just now" mark; while instances
        // are marked, the mark column follows it.
        let inner = line
            .trim_matches(|c: char| c == '│' || c.is_whitespace())
            .trim_start_matches('•')
            .trim_start()
            .trim_start_matches(['■', '⧗', '✓', '✗'])
            .trim_start();
        if inner.is_empty() || inner.starts_with("NAME") {
            continue;
        }
        if row_status(inner).is_some() {
            rows.push(inner.to_string());
        }
    }
    rows
}

/// Status symbols, as the table and header draw them.
pub const SYMBOLS: [&str; 7] = ["●", "○", "◐", "✗", "⊘", "⌀", "?"];

/// The status word of a table row: the word after the status symbol.
pub fn row_status(row: &str) -> Option<String> {
    let words: Vec<&str> = row.split_whitespace().collect();
    words.windows(2).find_map(|w| {
        let upper = !w[1].is_empty() && w[1].chars().all(|c| c.is_ascii_uppercase() || c == '_');
        (SYMBOLS.contains(&w[0]) && upper).then(|| w[1].to_string())
    })
}

/// Whether the row of instance `name` carries the "changed just now" mark.
pub fn row_marked(screen: &str, name: &str) -> bool {
    table_lines(screen).iter().any(|l| {
        let inner = l.trim_start_matches('│');
        inner.starts_with('•')
            && inner.trim_start_matches('•').split_whitespace().next() == Some(name)
    })
}

/// The row of the table showing instance `name`.
pub fn row_of(screen: &str, name: &str) -> Option<String> {
    table_rows(screen)
        .into_iter()
        .find(|r| r.split_whitespace().next() == Some(name))
}

/// A simulator on a tokio runtime of its own, for the dashboard to poll.
pub struct Sim {
    pub handle: SimHandle,
    rt: tokio::runtime::Runtime,
}

impl Sim {
    pub fn start(cfg: SimConfig) -> Sim {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let handle = rt.block_on(sim::spawn(cfg)).expect("simulator starts");
        Sim { handle, rt }
    }

    /// A manual clock standing at the wall clock's now: time moves only when told.
    pub fn manual(lively: bool) -> Sim {
        let now = sim::clock::wall_now_ms();
        Sim::start(SimConfig {
            lively,
            ..SimConfig::manual_at(now)
        })
    }

    /// Every instance's status, by id, both kinds (as the dashboard reads them).
    pub fn statuses(&self) -> std::collections::BTreeMap<String, String> {
        let all = self
            .rt
            .block_on(crate::support::sim::list_all_kinds(&self.handle, &[]));
        all.iter()
            .map(|nb| {
                (
                    nb["id"].as_str().unwrap_or_default().to_string(),
                    nb["status"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// Waits until the simulator has received `n` API requests or more.
    pub fn wait_requests(&self, n: u64) -> u64 {
        let start = Instant::now();
        loop {
            let c = self.handle.request_count();
            if c >= n {
                return c;
            }
            assert!(
                start.elapsed() < WAIT,
                "the simulator got {c} requests, not {n}"
            );
            std::thread::sleep(pty::POLL);
        }
    }
}
