//! Runs a program in a pseudo-terminal and reads its screen through a terminal
//! emulator (vt100), the way a user sees it.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// How often the screen is looked at while waiting for something.
pub const POLL: Duration = Duration::from_millis(25);

pub struct Pty {
    term: Arc<Mutex<Term>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    eof: Receiver<()>,
    exit: Option<u32>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

/// The emulator, fed whole frames only.
///
/// A frame arrives in several reads, and on a loaded machine the program can be
/// descheduled halfway through one: a screen read then would show half of the old
/// frame and half of the new. Ratatui ends every frame by hiding (or showing and
/// placing) the cursor, so bytes are handed to the emulator up to the last such
/// sequence; the rest waits for the next one, or for the end of the output.
struct Term {
    parser: vt100::Parser,
    pending: Vec<u8>,
    /// Every byte the program wrote, for checks on escape sequences.
    raw: Vec<u8>,
}

const FRAME_ENDS: [&[u8]; 2] = [b"\x1b[?25l", b"\x1b[?25h"];

impl Term {
    fn feed(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
        self.pending.extend_from_slice(bytes);
        let end = self
            .pending
            .windows(6)
            .rposition(|w| FRAME_ENDS.contains(&w))
            .map(|i| i + 6);
        if let Some(end) = end {
            self.parser.process(&self.pending[..end]);
            self.pending.drain(..end);
        }
    }

    /// Everything written so far goes to the emulator (the output has ended).
    fn flush(&mut self) {
        let rest = std::mem::take(&mut self.pending);
        self.parser.process(&rest);
    }
}

/// A command with a clean environment: only `PATH`, `TERM=xterm-256color` and `env`.
/// Nothing of the caller's environment leaks in (no `NO_COLOR`, no credentials, no
/// `HOME`, no `XDG_*`).
pub fn clean_command(program: &str, args: &[&str], env: &[(&str, &str)]) -> CommandBuilder {
    let mut cmd = CommandBuilder::new(program);
    cmd.args(args);
    cmd.env_clear();
    cmd.env("PATH", "/usr/local/bin:/usr/bin:/bin");
    cmd.env("TERM", "xterm-256color");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

impl Pty {
    /// Starts `program args` in a `cols`×`rows` terminal with a clean environment
    /// plus `env` (see [`clean_command`]).
    pub fn spawn(program: &str, args: &[&str], cols: u16, rows: u16, env: &[(&str, &str)]) -> Pty {
        Pty::spawn_command(clean_command(program, args, env), cols, rows)
    }

    pub fn spawn_command(cmd: CommandBuilder, cols: u16, rows: u16) -> Pty {
        let system = native_pty_system();
        let pair = system
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let child = pair.slave.spawn_command(cmd).expect("spawn in pty");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let term = Arc::new(Mutex::new(Term {
            parser: vt100::Parser::new(rows, cols, 0),
            pending: Vec::new(),
            raw: Vec::new(),
        }));
        let (tx, eof) = channel();
        {
            let term = term.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => term.lock().unwrap().feed(&buf[..n]),
                    }
                }
                term.lock().unwrap().flush();
                let _ = tx.send(());
            });
        }
        Pty {
            term,
            writer,
            child,
            eof,
            exit: None,
            _master: pair.master,
        }
    }

    /// The screen as text, one line per row (as of the last whole frame).
    pub fn screen(&self) -> String {
        self.with_screen(|s| s.contents())
    }

    /// Runs `f` on the emulator's screen (cells, colours, modes).
    pub fn with_screen<R>(&self, f: impl FnOnce(&vt100::Screen) -> R) -> R {
        f(self.term.lock().unwrap().parser.screen())
    }

    /// Every byte the program wrote so far.
    pub fn raw(&self) -> Vec<u8> {
        self.term.lock().unwrap().raw.clone()
    }

    pub fn alternate_screen(&self) -> bool {
        self.with_screen(|s| s.alternate_screen())
    }

    /// The foreground colour of the first cell where `text` starts, if on screen.
    pub fn fg_of(&self, text: &str) -> Option<vt100::Color> {
        self.with_screen(|screen| {
            let (rows, _) = screen.size();
            (0..rows).find_map(|r| {
                let col = find_col(&row_text(screen, r), text)?;
                screen.cell(r, col).map(|c| c.fgcolor())
            })
        })
    }

    pub fn send(&mut self, s: &str) {
        self.writer.write_all(s.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits until `pred(screen)` holds; panics with the screen after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > timeout {
                panic!("timed out after {timeout:?} waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(POLL);
        }
    }

    /// Like [`wait_for`](Self::wait_for), with the whole emulator screen.
    pub fn wait_screen<R>(
        &self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&vt100::Screen) -> Option<R>,
    ) -> R {
        let start = Instant::now();
        loop {
            if let Some(r) = self.with_screen(&mut pred) {
                return r;
            }
            if start.elapsed() > timeout {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the bytes written so far contain `text` (a program printing
    /// lines, not frames: the screen only takes whole frames); returns them.
    pub fn wait_raw(&self, text: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let raw = String::from_utf8_lossy(&self.raw()).into_owned();
            if raw.contains(text) {
                return raw;
            }
            assert!(
                start.elapsed() < timeout,
                "timed out after {timeout:?} waiting for {text:?} in:\n{raw}"
            );
            std::thread::sleep(POLL);
        }
    }

    pub fn wait_text(&self, text: &str, timeout: Duration) -> String {
        self.wait_for(&format!("{text:?}"), timeout, |s| s.contains(text))
    }

    /// Waits for the program to exit and its output to drain; returns its exit code,
    /// or `None` (after killing it) if it is still running after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<u32> {
        if let Some(code) = self.exit {
            return Some(code);
        }
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let _ = self.eof.recv_timeout(Duration::from_secs(2));
                // Even if a straggler still holds the terminal open: show what came.
                self.term.lock().unwrap().flush();
                self.exit = Some(status.exit_code());
                return self.exit;
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                return None;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Whether the program has exited (without waiting).
    pub fn has_exited(&mut self) -> bool {
        self.exit.is_some() || matches!(self.child.try_wait(), Ok(Some(_)))
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Row `r` of the screen as text (wide characters once, as the terminal shows them).
pub fn row_text(screen: &vt100::Screen, r: u16) -> String {
    let (_, cols) = screen.size();
    screen.contents_between(r, 0, r, cols)
}

/// Every row of the screen as text.
pub fn rows_text(screen: &vt100::Screen) -> Vec<String> {
    let (rows, _) = screen.size();
    (0..rows).map(|r| row_text(screen, r)).collect()
}

/// The screen column where `needle` starts in `line`, counting wide characters as two.
pub fn find_col(line: &str, needle: &str) -> Option<u16> {
    line.find(needle).map(|i| unicode_cols(&line[..i]))
}

pub fn unicode_cols(s: &str) -> u16 {
    use unicode_width::UnicodeWidthStr;
    u16::try_from(s.width()).unwrap_or(u16::MAX)
}

// ---- processes ---------------------------------------------------------------------

/// Children of `parent` whose command name is `name` (from /proc).
pub fn children_named(parent: u32, name: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // "pid (comm) state ppid …"; comm may hold spaces and parentheses.
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        let comm = &stat[open + 1..close];
        let ppid: u32 = stat[close + 1..].split_whitespace().nth(1)?.parse().ok()?;
        (ppid == parent && comm == name).then_some(pid)
    })
    .collect()
}

/// Whether process `pid` still exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rfind(')')
            .and_then(|i| s[i + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z")
    })
}

/// Sends signal `sig` (e.g. "TERM", "HUP", "KILL") to `pid`.
pub fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args(["-s", sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -s {sig} {pid} failed");
}
