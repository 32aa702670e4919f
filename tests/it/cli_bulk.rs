//! `nbwatch start|stop|extend|delete` on several instances, named or selected
//! with --status/--name/--feature: the real binary against a simulator on
//! loopback whose clock stands still unless the test moves it.
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::cli_actions::{Out, client, run, run_with, sim};
use crate::support::sim::manual;
use nbwatch::api::{ListQuery, Notebook, Status};
use nbwatch::sim::SimHandle;

async fn everyone(sim: &SimHandle) -> Vec<Notebook> {
    client(sim)
        .fetch_all_kinds(&ListQuery::default())
        .await
        .unwrap()
        .notebooks
}

/// The ids in the lines of `text` that start with `word` (a plan row:
/// `stop  NAME  ID  STATUS …`).
fn plan_ids(text: &str, word: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.first() == Some(&word)).then(|| cols[2].to_string())
        })
        .collect()
}

/// The ids the audit log says were accepted for `verb`.
fn accepted_ids(out: &Out, verb: &str) -> BTreeSet<String> {
    out.log
        .lines()
        .filter(|l| {
            l.contains("nbwatch::audit")
                && l.contains(&format!("action=\"{verb}\""))
                && l.contains("outcome=\"accepted\"")
        })
        .filter_map(|l| {
            let at = l.find("instance=\"")? + "instance=\"".len();
            Some(l[at..].split('"').next()?.to_string())
        })
        .collect()
}

/// A `PREFIX*` glob that several RUNNING instances match (ASCII, no spaces),
/// and the ids of those.
fn running_glob(all: &[Notebook]) -> (String, BTreeSet<String>) {
    let running = |p: &str| -> BTreeSet<String> {
        all.iter()
            .filter(|n| n.status == Some(Status::Running))
            .filter(|n| n.name_str().to_lowercase().starts_with(p))
            .map(|n| n.id_str().to_string())
            .collect()
    };
    let best = all
        .iter()
        .map(|n| n.name_str().to_lowercase())
        .filter(|n| n.is_ascii() && n.len() >= 4)
        .map(|n| n[..4].to_string())
        .max_by_key(|p| (running(p).len(), p.clone()))
        .expect("an ASCII name");
    let ids = running(&best);
    assert!(ids.len() >= 2, "{best}* matches {} RUNNING", ids.len());
    (format!("{best}*"), ids)
}

#[tokio::test]
async fn dry_run_lists_exactly_what_yes_then_stops_and_skips_are_explained() {
    let sim = sim().await;
    let all = everyone(&sim).await;
    let (glob, expected) = running_glob(&all);
    let args = ["stop", "--status", "RUNNING", "--name", &glob];

    let dry = run_with(&sim, &[&args[..], &["--dry-run"]].concat(), "", false).await;
    assert_eq!(dry.code, 0, "stderr: {}", dry.stderr);
    assert_eq!(plan_ids(&dry.stdout, "stop"), expected, "{}", dry.stdout);
    assert!(
        dry.stderr.contains(&format!(
            "dry run: would stop {} instances; nothing sent",
            expected.len()
        )),
        "{}",
        dry.stderr
    );
    assert_eq!(sim.action_requests(), 0, "a dry run sends no action");

    let done = run_with(&sim, &[&args[..], &["--yes"]].concat(), "", false).await;
    assert_eq!(done.code, 0, "stderr: {}", done.stderr);
    assert_eq!(accepted_ids(&done, "stop"), expected, "{}", done.log);
    assert_eq!(
        done.stdout.matches(": stop accepted, now STOPPING").count(),
        expected.len(),
        "{}",
        done.stdout
    );
    assert!(
        done.stderr
            .contains(&format!("stop: {} accepted, 0 failed", expected.len())),
        "{}",
        done.stderr
    );
    assert_eq!(
        sim.action_requests(),
        expected.len() as u64,
        "each sent once"
    );

    // Now STOPPING: selected by name alone, they are skipped, with why.
    let again = run_with(&sim, &["stop", "--name", &glob, "--dry-run"], "", false).await;
    let skipped = plan_ids(&again.stdout, "skip");
    assert!(skipped.is_superset(&expected), "{}", again.stdout);
    for line in again.stdout.lines().filter(|l| l.starts_with("skip")) {
        assert!(line.contains("not RUNNING or ERROR"), "{line}");
    }
    assert!(
        again
            .stdout
            .lines()
            .any(|l| l.starts_with("skip") && l.contains("STOPPING")),
        "{}",
        again.stdout
    );
    assert_eq!(sim.action_requests(), expected.len() as u64);
}

#[tokio::test]
async fn bad_usage_no_terminal_and_no_match_exit_2_and_send_nothing() {
    let sim = sim().await;
    let before = sim.request_count();
    let out = run(&sim, &["stop", "--status", "RUNNING"], "y\n").await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("fix: add --yes"), "{}", out.stderr);
    let out = run(&sim, &["stop", "--yes"], "").await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no instance given"), "{}", out.stderr);
    let out = run(&sim, &["stop", "x", "--status", "RUNNING", "--yes"], "").await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("not both"), "{}", out.stderr);
    let out = run(
        &sim,
        &["list", "--status", "RUNNING", "--status", "ERROR"],
        "",
    )
    .await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("given 2 times"), "{}", out.stderr);
    assert_eq!(sim.request_count(), before, "nothing was even listed");

    let out = run(&sim, &["stop", "--name", "zz*qq", "--yes"], "").await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("no instance matches name zz*qq (glob)"),
        "{}",
        out.stderr
    );
    let out = run(&sim, &["delete", "--status", "RUNNING", "--dry-run"], "").await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.starts_with("skip "), "{}", out.stdout);
    assert!(
        out.stderr.contains("delete applies to none of them"),
        "{}",
        out.stderr
    );
    let out = run(&sim, &["stop", "nope-1", "nope-2", "--yes"], "").await;
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("'nope-1'") && out.stderr.contains("'nope-2'"),
        "every unknown name is named: {}",
        out.stderr
    );
    assert_eq!(sim.action_requests(), 0);
}

#[tokio::test]
async fn a_partial_failure_exits_1_with_one_line_per_failure() {
    // Named: the service decides, and says why for each refusal.
    let sim = sim().await;
    let all = everyone(&sim).await;
    let with = |s: Status| {
        all.iter()
            .filter(move |n| n.status == Some(s.clone()))
            .map(|n| n.id_str().to_string())
    };
    let stopped: Vec<String> = with(Status::Stopped).take(2).collect();
    let running: Vec<String> = with(Status::Running).take(2).collect();
    let mut args = vec!["start", "--yes"];
    args.extend(stopped.iter().chain(&running).map(String::as_str));
    let out = run(&sim, &args, "").await;
    assert_eq!(out.code, 1, "stderr: {}", out.stderr);
    let failures: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("start failed"))
        .collect();
    assert_eq!(failures.len(), 2, "{}", out.stderr);
    for l in failures {
        assert!(
            l.contains(": start failed: 6305: the instance is already running · request id "),
            "{l}"
        );
    }
    assert_eq!(accepted_ids(&out, "start").len(), 2, "{}", out.log);
    assert!(
        out.stderr.contains("start: 2 accepted, 2 failed"),
        "{}",
        out.stderr
    );

    // Selected, and a 500 on one of them: reported, never sent again.
    let sim = Arc::new(manual(30).await);
    let running = client(&sim)
        .fetch_all(&ListQuery::default())
        .await
        .unwrap()
        .notebooks
        .iter()
        .filter(|n| n.status == Some(Status::Running))
        .count();
    assert!(running >= 2, "{running} running");
    let before = sim.request_count();
    // One page lists the 29 NOTEBOOK instances; the second request, the first
    // stop, fails.
    sim.set_faults(&["flap:2:count=1".parse().unwrap()]);
    let out = run_with(
        &sim,
        &[
            "stop",
            "--status",
            "RUNNING",
            "--feature",
            "NOTEBOOK",
            "--yes",
        ],
        "",
        false,
    )
    .await;
    assert_eq!(out.code, 1, "stderr: {}", out.stderr);
    let failures: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("stop failed"))
        .collect();
    assert_eq!(failures.len(), 1, "{}", out.stderr);
    assert!(
        failures[0].contains("500 ModelArts.0010"),
        "{}",
        failures[0]
    );
    assert!(failures[0].contains("not repeated"), "{}", failures[0]);
    assert!(failures[0].contains("request id "), "{}", failures[0]);
    // A 5xx may mean the service acted: the line says where the instance stands now.
    assert!(failures[0].contains("(read just now)"), "{}", failures[0]);
    assert_eq!(
        sim.request_count() - before,
        2 + running as u64,
        "one listing page, each stop once, and one read of the failed one's status"
    );
}

#[tokio::test]
async fn wait_follows_them_all_to_their_goal_within_the_concurrency_bound() {
    let sim = sim().await;
    // Every answer takes a while, so requests overlap if they are allowed to.
    sim.set_faults(&["latency:100".parse().unwrap()]);
    let running: Vec<Notebook> = everyone(&sim)
        .await
        .into_iter()
        .filter(|n| n.status == Some(Status::Running))
        .collect();
    assert!(running.len() >= 4, "{} running", running.len());
    let out = run(
        &sim,
        &[
            "--concurrency",
            "3",
            "stop",
            "--status",
            "RUNNING",
            "--yes",
            "--wait",
        ],
        "",
    )
    .await;
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    for nb in &running {
        assert!(
            out.stdout
                .contains(&format!("{}: STOPPED\n", nb.name_str())),
            "{} followed to STOPPED:\n{}",
            nb.name_str(),
            out.stdout
        );
        let now = client(&sim).show_notebook(nb.id_str()).await.unwrap();
        assert_eq!(now.and_then(|n| n.status), Some(Status::Stopped));
    }
    assert!(
        out.stderr.contains(&format!(
            "{} accepted, 0 failed, {} reached STOPPED",
            running.len(),
            running.len()
        )),
        "{}",
        out.stderr
    );
    let peak = sim.stats()["max_in_flight"].as_u64().unwrap();
    assert!(peak <= 3, "at most --concurrency in flight, saw {peak}");
    assert!(
        peak >= 2,
        "the actions did go out side by side (peak {peak})"
    );
}

/// In a terminal it asks once, with the list and the count; delete wants the
/// count typed, and anything else sends nothing.
#[test]
fn in_a_terminal_delete_asks_once_for_the_count_typed() {
    use crate::support::dash::WAIT;

    let tty = crate::cli_actions::Tty::new(30, "cli-bulk-tty");
    let h = &tty.sim.handle;
    let stopped = tty
        .rt
        .block_on(everyone(h))
        .iter()
        .filter(|n| n.status == Some(Status::Stopped))
        .count();
    assert!(stopped >= 2, "{stopped} stopped");
    let run = || tty.run(&["delete", "--status", "STOPPED"]);
    let question =
        format!("Delete {stopped} instances? This cannot be undone. Type {stopped} to confirm:");

    let mut p = run();
    let screen = p.wait_raw(&question, WAIT);
    assert_eq!(
        screen
            .lines()
            .filter(|l| l.trim_start().starts_with("delete "))
            .count(),
        stopped,
        "each listed before the question:\n{screen}"
    );
    p.send("y\r");
    assert_eq!(p.wait_exit(WAIT), Some(1));
    p.wait_raw("cancelled: nothing sent", WAIT);
    assert_eq!(h.action_requests(), 0, "a y is not the count");

    let mut p = run();
    p.wait_raw(&question, WAIT);
    p.send(&format!("{stopped}\r"));
    p.wait_raw(&format!("delete: {stopped} accepted, 0 failed"), WAIT);
    assert_eq!(p.wait_exit(WAIT), Some(0));
    assert_eq!(h.action_requests(), stopped as u64);
}
