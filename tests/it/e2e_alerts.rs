//! Alerts and the journal through the real binary in a pseudo-terminal, against
//! a simulator whose clock the test moves: the hook hears each instance that
//! enters a problem status exactly once (and nothing of what was failed before
//! the dashboard started), and the journal has one line per change the
//! simulator made.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use nbwatch::api::model::Status;
use nbwatch::journal::{self, Kind};

use nbwatch::sim::SimConfig;

use crate::support::dash::{Launch, Sim};
use crate::support::pty;

const PROBLEMS: fn(&str) -> bool = |s| Status::parse(s).is_problem();

/// Waits (on a condition, with a deadline) until `f` holds.
fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(pty::POLL);
    }
}

#[test]
fn the_hook_hears_each_new_failure_once_and_the_journal_each_change() {
    // Few enough instances that each poll is one page: a poll is never half
    // before and half after a step of the simulator's clock.
    let sim = Sim::start(SimConfig {
        instances: 30,
        lively: true,
        ..SimConfig::manual_at(nbwatch::sim::clock::wall_now_ms())
    });
    let dir = tempfile::tempdir().unwrap();
    let hook_out = dir.path().join("alerts.jsonl");
    let journal_path = dir.path().join("journal.jsonl");
    let mut d = Launch::against(&sim, 120, 40)
        .arg("--journal")
        .arg(journal_path.to_str().unwrap())
        .env(
            "NBWATCH_ALERT_HOOK",
            &format!("cat >> '{}'", hook_out.display()),
        )
        .start();
    d.wait_table();

    // The steps the simulator takes, as it lists them after each.
    let mut listings = vec![sim.statuses()];
    let start_problems = listings[0].values().filter(|s| PROBLEMS(s)).count();
    assert!(
        start_problems > 0,
        "the demo population starts with failures"
    );
    for _ in 0..8 {
        sim.handle.advance(30 * 60_000);
        listings.push(sim.statuses());
        let last = listings.last().unwrap();
        assert!(last.len() <= 50, "one page: {} instances", last.len());
        // Four more requests (a poll reads the NOTEBOOK and the CodeLab listing):
        // at least one whole poll began after the step.
        sim.wait_requests(sim.handle.request_count() + 4);
    }

    // What the hook should hear: entering a problem status (or another one).
    let mut expected_alerts = BTreeSet::new();
    let mut expected_changes = BTreeMap::<(String, Kind, String, String), usize>::new();
    for w in listings.windows(2) {
        let (before, after) = (&w[0], &w[1]);
        for (id, now) in after {
            let was = before.get(id);
            if PROBLEMS(now) && was != Some(now) {
                expected_alerts.insert((id.clone(), now.clone()));
            }
            match was {
                Some(was) if was != now => {
                    *expected_changes
                        .entry((id.clone(), Kind::Changed, was.clone(), now.clone()))
                        .or_default() += 1
                }
                None => {
                    *expected_changes
                        .entry((id.clone(), Kind::Appeared, String::new(), now.clone()))
                        .or_default() += 1
                }
                _ => {}
            }
        }
        for (id, was) in before {
            if !after.contains_key(id) {
                *expected_changes
                    .entry((id.clone(), Kind::Gone, was.clone(), String::new()))
                    .or_default() += 1;
            }
        }
    }
    assert!(
        !expected_alerts.is_empty(),
        "the steps should make something fail; pick a longer walk"
    );

    let read_hook = || -> Vec<serde_json::Value> {
        std::fs::read_to_string(&hook_out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    };
    let problem_alerts = || {
        read_hook()
            .into_iter()
            .filter(|a| a["kind"] == "problem")
            .collect::<Vec<_>>()
    };
    wait_until("the hook to hear every new failure", || {
        problem_alerts().len() >= expected_alerts.len()
    });
    let journal_changes = || -> BTreeMap<(String, Kind, String, String), usize> {
        let mut m = BTreeMap::new();
        for e in journal::read(&journal_path)
            .map(|r| r.entries)
            .unwrap_or_default()
        {
            if matches!(e.kind, Kind::Stuck | Kind::LeaseWarning) {
                continue;
            }
            *m.entry((
                e.id,
                e.kind,
                e.from.unwrap_or_default(),
                e.to.unwrap_or_default(),
            ))
            .or_default() += 1;
        }
        m
    };
    wait_until("the journal to hold every change", || {
        journal_changes().len() >= expected_changes.len()
    });
    d.send("q");
    let f = d.finish();
    assert_eq!(f.code, 0);
    f.assert_restored();

    let heard: BTreeSet<(String, String)> = problem_alerts()
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap_or_default().to_string(),
                a["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(problem_alerts().len(), heard.len(), "each failure once");
    assert_eq!(
        heard, expected_alerts,
        "exactly the new failures, none from before"
    );
    assert_eq!(
        journal_changes(),
        expected_changes,
        "one journal line per change"
    );
}

#[test]
fn a_hanging_hook_never_holds_up_the_screen_and_is_killed_at_its_timeout() {
    let sim = Sim::start(SimConfig {
        instances: 30,
        lively: true,
        ..SimConfig::manual_at(nbwatch::sim::clock::wall_now_ms())
    });
    let dir = tempfile::tempdir().unwrap();
    let late = dir.path().join("late");
    // Every alert, what was already failed at the start too, to a hook that hangs.
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.t.alerts]\nexisting = true\ndesktop = false\nhook = \"sleep 20; touch '{}'\"\nhook_timeout = 1\n",
            late.display()
        ),
    )
    .unwrap();
    let mut d = Launch::against(&sim, 120, 40)
        .arg("--config")
        .arg(config.to_str().unwrap())
        .start();
    d.wait_table();
    let log = d.dir.path().join("nbwatch.log");
    // Steps of the simulator keep reaching the screen while the hooks hang.
    for _ in 0..3 {
        sim.handle.advance(30 * 60_000);
        let want = sim.statuses().len();
        sim.wait_requests(sim.handle.request_count() + 4);
        d.wait("the table to follow the simulator", |s| {
            crate::support::dash::title_counts(s).is_some_and(|(_, t)| t == want)
        });
    }
    wait_until("a hook to be killed at its timeout", || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("alert hook timed out and was killed")
    });
    d.send("q");
    let f = d.finish();
    assert_eq!(f.code, 0, "quits at once, hooks or not");
    f.assert_restored();
    assert!(!late.exists(), "a killed hook never finishes");
}
