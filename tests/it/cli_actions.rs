//! `nbwatch start|stop|extend|delete` as a user runs it: the real binary, a
//! clean environment, and a simulator in this test process whose clock this
//! test moves on while the command waits.
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::support::home::Home;
use crate::support::sim::*;
use nbwatch::api::actions::Verb;
use nbwatch::api::{Client, ListQuery, Notebook, Status};
use nbwatch::sim::SimHandle;

pub(crate) struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub log: String,
}

/// Runs `nbwatch VERB --endpoint … ARGS` with the simulator's credentials and
/// `stdin`; while it runs, simulated time moves 1 s every 20 ms.
pub(crate) async fn run(sim: &Arc<SimHandle>, args: &[&str], stdin: &str) -> Out {
    run_with(sim, args, stdin, true).await
}

/// [`run`], with simulated time standing still unless `tick`.
pub(crate) async fn run_with(sim: &Arc<SimHandle>, args: &[&str], stdin: &str, tick: bool) -> Out {
    let home = Home::new("cli-act");
    let log = home.str("nbwatch.log");
    let (ak, sk) = sim.credentials();
    let ep = sim.endpoint();
    let mut cmd = Command::new(crate::support::bin());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("HUAWEICLOUD_SDK_AK", ak)
        .env("HUAWEICLOUD_SDK_SK", sk.expose())
        .args(args)
        .args(["--endpoint", &ep, "--project-id", sim.project_id()])
        .args(["--fast-interval", "0.5", "--log-file", &log])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the binary starts");
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        // The binary may have exited before reading (no terminal: it refuses
        // at once; the release build does so faster than the write).
        match input.write_all(stdin.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.unwrap(),
        }
    }
    let done = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (sim, done) = (sim.clone(), done.clone());
        tokio::spawn(async move {
            while tick && !done.load(Ordering::SeqCst) {
                sim.advance(1_000);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let pid = child.id();
    let waited = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await;
    done.store(true, Ordering::SeqCst);
    let _ = ticker.await;
    let output = match waited {
        Ok(joined) => joined.unwrap().unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("nbwatch {args:?} did not finish within 30 s");
        }
    };
    Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
        log: std::fs::read_to_string(home.join("nbwatch.log")).unwrap_or_default(),
    }
}

pub(crate) async fn sim() -> Arc<SimHandle> {
    Arc::new(manual(60).await)
}

pub(crate) fn client(sim: &SimHandle) -> Client {
    Client::new(sim.client_options()).unwrap()
}

async fn one_in(sim: &SimHandle, status: Status) -> Notebook {
    let all = client(sim).fetch_all(&ListQuery::default()).await.unwrap();
    all.notebooks
        .into_iter()
        .find(|n| n.status.as_ref() == Some(&status))
        .unwrap_or_else(|| panic!("no {status} instance"))
}

/// The audit line of one action in the log: id, action, outcome, request id.
pub(crate) fn audit_line<'a>(log: &'a str, id: &str, verb: Verb) -> &'a str {
    log.lines()
        .find(|l| {
            l.contains("nbwatch::audit")
                && l.contains(&format!("instance=\"{id}\""))
                && l.contains(&format!("action=\"{}\"", verb.name()))
        })
        .unwrap_or_else(|| panic!("no audit line for {verb} {id} in:\n{log}"))
}

#[tokio::test]
async fn stop_by_name_waits_prints_each_status_and_exits_0() {
    let sim = sim().await;
    let nb = one_in(&sim, Status::Running).await;
    let out = run(&sim, &["stop", nb.name_str(), "--yes", "--wait"], "").await;
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].contains("stop accepted, now STOPPING"),
        "{}",
        out.stdout
    );
    assert!(lines[0].contains("request id "), "{}", out.stdout);
    assert_eq!(&lines[1..], ["STOPPING", "STOPPED"], "{}", out.stdout);
    let audit = audit_line(&out.log, nb.id_str(), Verb::Stop);
    assert!(audit.contains("outcome=\"accepted\""), "{audit}");
    assert!(audit.contains("request_id="), "{audit}");
    assert!(
        out.log
            .lines()
            .any(|l| l.contains("outcome=\"settled: reached\"")
                && l.contains("status=\"STOPPED\"")
                && l.contains(nb.id_str())),
        "--wait writes where it ended:\n{}",
        out.log
    );
    let (_, sk) = sim.credentials();
    assert!(
        !out.log.contains(sk.expose()),
        "the SK never reaches the log"
    );
}

#[tokio::test]
async fn start_with_a_duration_then_extend_then_delete_from_the_command_line() {
    let sim = sim().await;
    let nb = one_in(&sim, Status::Stopped).await;
    let id = nb.id_str();
    let out = run(&sim, &["start", id, "--duration", "4h", "-y", "--wait"], "").await;
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert!(
        out.stdout.ends_with("STARTING\nRUNNING\n"),
        "{}",
        out.stdout
    );
    let running = client(&sim).show_notebook(id).await.unwrap().unwrap();
    let lease = running.lease.as_ref().unwrap();
    assert_eq!(lease.duration, Some(4 * 3_600_000));

    let out = run(&sim, &["extend", id, "--duration", "8h", "--yes"], "").await;
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert!(
        out.stdout.contains("extend accepted, auto-stop at "),
        "{}",
        out.stdout
    );
    let lease = client(&sim).show_lease(id).await.unwrap();
    assert_eq!(lease.duration, Some(8 * 3_600_000));

    let out = run(&sim, &["stop", id, "--yes", "--wait"], "").await;
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let out = run(&sim, &["delete", id, "--yes", "--wait"], "").await;
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    assert!(
        out.stdout.ends_with("DELETING\nDELETED\n"),
        "{}",
        out.stdout
    );
    assert!(audit_line(&out.log, id, Verb::Delete).contains("accepted"));
}

#[tokio::test]
async fn wait_exits_1_when_the_instance_settles_elsewhere() {
    let sim = sim().await;
    sim.fail_starts_late();
    let nb = one_in(&sim, Status::Stopped).await;
    let out = run(&sim, &["start", nb.id_str(), "--yes", "--wait"], "").await;
    assert_eq!(
        out.code, 1,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert!(
        out.stdout.ends_with("STARTING\nSTART_FAILED\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("did not reach RUNNING: the instance is START_FAILED"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn a_refused_action_exits_1_with_code_meaning_and_request_id() {
    let sim = sim().await;
    let nb = one_in(&sim, Status::Running).await;
    let before = sim.request_count();
    let out = run(&sim, &["start", nb.id_str(), "--yes"], "").await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("start failed: 6305: the instance is already running · request id "),
        "{}",
        out.stderr
    );
    let audit = audit_line(&out.log, nb.id_str(), Verb::Start);
    assert!(
        audit.contains("outcome=\"failed\"") && audit.contains("ModelArts.6305"),
        "{audit}"
    );
    // Two pages (60 instances, 50 a page) and the CodeLab listing's one to
    // find it, then the start, once.
    assert_eq!(sim.request_count() - before, 4);
}

#[tokio::test]
async fn without_a_terminal_or_in_read_only_mode_nothing_is_sent() {
    let sim = sim().await;
    let nb = one_in(&sim, Status::Running).await;
    let before = sim.request_count();
    let out = run(&sim, &["stop", nb.id_str()], "y\n").await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("add --yes"), "{}", out.stderr);
    let out = run(&sim, &["--read-only", "stop", nb.id_str(), "--yes"], "").await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("read-only: stop refused, nothing sent"),
        "{}",
        out.stderr
    );
    assert!(audit_line(&out.log, nb.id_str(), Verb::Stop).contains("read-only"));
    assert_eq!(
        sim.request_count(),
        before,
        "no request reached the service"
    );
}

#[tokio::test]
async fn unknown_instances_and_misplaced_durations_are_usage_errors() {
    let sim = sim().await;
    let out = run(&sim, &["stop", "no-such-notebook", "--yes"], "").await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("no instance has the id or name 'no-such-notebook'"),
        "{}",
        out.stderr
    );
    let out = run(&sim, &["stop", "x", "--duration", "2h", "--yes"], "").await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("--duration applies to start and extend"),
        "{}",
        out.stderr
    );
    let out = run(&sim, &["extend", "x", "--duration", "100h", "--yes"], "").await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("between 1h and 72h"), "{}", out.stderr);
}

/// A simulator standing still, and the binary run against it in a terminal.
pub(crate) struct Tty {
    pub sim: crate::support::dash::Sim,
    pub rt: tokio::runtime::Runtime,
    home: Home,
}

impl Tty {
    pub fn new(instances: usize, tag: &str) -> Tty {
        let sim = crate::support::dash::Sim::start(nbwatch::sim::SimConfig {
            instances,
            ..nbwatch::sim::SimConfig::manual_at(nbwatch::sim::clock::wall_now_ms())
        });
        Tty {
            sim,
            rt: tokio::runtime::Runtime::new().unwrap(),
            home: Home::new(tag),
        }
    }

    /// `nbwatch ARGS --endpoint … --project-id …` in a 120×30 terminal. The
    /// emulator shows whole frames: read a prompt with `Pty::wait_raw`.
    pub fn run(&self, args: &[&str]) -> crate::support::pty::Pty {
        let h = &self.sim.handle;
        let (ak, sk) = h.credentials();
        let ep = h.endpoint();
        let home = self.home.path().to_string_lossy().into_owned();
        let env = [
            ("HOME", home.as_str()),
            ("HUAWEICLOUD_SDK_AK", ak.as_str()),
            ("HUAWEICLOUD_SDK_SK", sk.expose()),
        ];
        let mut all = args.to_vec();
        all.extend(["--endpoint", &ep, "--project-id", h.project_id()]);
        crate::support::pty::Pty::spawn(crate::support::bin(), &all, 120, 30, &env)
    }
}

/// In a terminal the command asks: "no" sends nothing; delete wants the name typed.
#[test]
fn in_a_terminal_it_asks_and_a_no_sends_nothing() {
    use crate::support::dash::WAIT;
    use crate::support::pty::Pty;

    let tty = Tty::new(20, "cli-act-tty");
    let h = &tty.sim.handle;
    let running = tty.rt.block_on(one_in(h, Status::Running));
    let stopped = tty.rt.block_on(one_in(h, Status::Stopped));
    let wait_raw = |p: &Pty, text: &str| {
        p.wait_raw(text, WAIT);
    };
    let run = |args: &[&str]| tty.run(args);

    let mut p = run(&["stop", running.id_str()]);
    wait_raw(&p, &format!("Stop {} (", running.name_str()));
    wait_raw(&p, "[y/N]");
    p.send("n\r");
    assert_eq!(p.wait_exit(WAIT), Some(1));
    wait_raw(&p, "cancelled: nothing sent");
    assert_eq!(h.action_requests(), 0);

    let mut p = run(&["delete", stopped.id_str()]);
    wait_raw(&p, "Type its name to confirm:");
    p.send("not-the-name\r");
    assert_eq!(p.wait_exit(WAIT), Some(1));
    assert_eq!(h.action_requests(), 0, "a wrong name sends nothing");

    let mut p = run(&["delete", stopped.id_str()]);
    wait_raw(&p, "Type its name to confirm:");
    p.send(&format!("{}\r", stopped.name_str()));
    wait_raw(&p, "delete accepted, now DELETING");
    assert_eq!(p.wait_exit(WAIT), Some(0));
    assert_eq!(h.action_requests(), 1);
}

#[tokio::test]
async fn a_stop_cut_off_after_it_went_out_says_the_service_may_have_acted_and_the_status_now() {
    let sim = sim().await;
    let proxy = crate::support::cut::CutProxy::start(sim.endpoint().replace("http://", "")).await;
    let nb = one_in(&sim, Status::Running).await;
    let id = nb.id_str().to_string();
    let home = Home::new("cli-cut");
    let mut cmd = Command::new(crate::support::bin());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("NBWATCH_AUTH_TOKEN", nbwatch::sim::DEMO_TOKEN)
        .args(["stop", &id, "--yes", "--endpoint", &proxy.endpoint])
        .args(["--project-id", sim.project_id()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("the binary starts");
    let pid = child.id();
    let output = match tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    {
        Ok(joined) => joined.unwrap().unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("nbwatch stop did not finish within 30 s");
        }
    };
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let name = nb.name_str();
    assert!(
        stderr.starts_with(&format!("nbwatch: {name}: stop failed: ")),
        "{stderr}"
    );
    assert!(
        stderr.contains("the service may have acted: not repeated"),
        "{stderr}"
    );
    assert!(
        stderr.contains(" · now STOPPING (read just now)"),
        "{stderr}"
    );
    assert!(!stderr.contains("check the endpoint or region"), "{stderr}");
    assert_eq!(proxy.actions(), 1, "the stop was sent once");
}
