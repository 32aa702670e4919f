//! Acting from the keyboard, end to end: the real dashboard in a pseudo-terminal
//! against a simulator whose clock this test moves. Stop, start, extend and
//! delete one instance, each with its confirmation; a refused permission shown
//! with the IAM action; a cancelled confirmation and read-only mode sending
//! nothing (the simulator counts the action requests it answered).

use crate::support::dash::{Dash, Launch, Sim, row_of, row_status, table_rows, title_counts};
use nbwatch::sim::SimConfig;

const ESC: &str = "\x1b";
const ENTER: &str = "\r";

/// A simulator with one instance of each status (and a few more), standing still.
fn sim() -> Sim {
    Sim::start(SimConfig {
        instances: 20,
        ..SimConfig::manual_at(nbwatch::sim::clock::wall_now_ms())
    })
}

/// The name of a row in `status` whose name is plain ASCII (easy to type).
fn name_in(d: &Dash, status: &str) -> String {
    let s = d.screen();
    table_rows(&s)
        .iter()
        .filter(|r| row_status(r).as_deref() == Some(status))
        .map(|r| r.split_whitespace().next().unwrap_or_default().to_string())
        .find(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or_else(|| panic!("no {status} row with a plain name:\n{s}"))
}

/// Narrows the table to `name` with the live filter; the row is then selected.
fn focus(d: &mut Dash, name: &str) {
    d.send("/");
    d.send(name);
    d.send(ENTER);
    d.wait(&format!("only {name} in the table"), |s| {
        title_counts(s).is_some_and(|(shown, _)| shown == 1)
            && row_of(s, name).is_some()
            && !s.lines().last().unwrap_or_default().contains("Enter keep")
    });
}

#[test]
fn stop_start_extend_and_delete_from_the_keyboard() {
    let sim = sim();
    let mut d = Launch::against(&sim, 200, 50).start();
    d.wait_table();
    let name = name_in(&d, "RUNNING");
    focus(&mut d, &name);
    let s = d.screen();
    let hints = s.lines().last().unwrap_or_default();
    assert!(
        hints.contains("X stop") && hints.contains("E extend"),
        "{hints}"
    );
    assert!(
        !hints.contains("S start") && !hints.contains("D delete"),
        "{hints}"
    );

    // A cancelled confirmation sends nothing.
    d.send("X");
    d.wait_text(&format!("Stop {name}?"));
    d.send(ESC);
    d.wait_text("cancelled: nothing sent");
    assert_eq!(sim.handle.action_requests(), 0);

    // Without the permission: a 403 naming the IAM action, in the status bar.
    sim.handle.deny("modelarts:notebook:stop");
    d.send("X");
    d.wait_text(&format!("Stop {name}?"));
    d.send(ENTER);
    let s = d.wait_text("lacks modelarts:notebook:stop");
    assert!(s.contains("403 ModelArts.0108"), "{s}");
    assert!(s.contains("request id "), "{s}");
    assert_eq!(sim.handle.action_requests(), 1);
    sim.handle.allow_all();

    // Stop: pending until the service confirms STOPPED.
    d.send("X");
    d.wait_text(&format!("Stop {name}?"));
    d.send(ENTER);
    d.wait("the row to show the pending stop", |s| {
        s.lines()
            .any(|l| l.contains(&format!("{name} ")) && l.contains("⧗ pending stop"))
    });
    d.wait_text("stop accepted, now STOPPING");
    sim.handle.advance(5_000);
    d.wait_text(&format!("{name}: stop done, STOPPED"));
    d.wait("the row to say STOPPED", |s| {
        row_of(s, &name).is_some_and(|r| row_status(&r).as_deref() == Some("STOPPED"))
    });

    // Start, with the default hour.
    d.send("S");
    d.wait_text(&format!("Start {name}?"));
    d.send(ENTER);
    d.wait_text("start accepted, now STARTING");
    sim.handle.advance(5_000);
    d.wait_text(&format!("{name}: start done, RUNNING"));

    // Extend: pick 2 h, see the new stop time, confirm.
    d.send("E");
    d.wait_text(&format!("Extend the auto-stop of {name}?"));
    d.send("l");
    d.wait_text("(now + 2h)");
    d.send(ENTER);
    d.wait_text(&format!("{name}: auto-stop extended, stops in "));
    d.wait("the lease column to count down from 2 h", |s| {
        row_of(s, &name).is_some_and(|r| r.contains(" 1h59m") || r.contains(" 2h00m"))
    });

    // Stop again, then delete it by typing its name.
    d.send("X");
    d.wait_text(&format!("Stop {name}?"));
    d.send(ENTER);
    d.wait_text("stop accepted");
    sim.handle.advance(5_000);
    d.wait_text("stop done, STOPPED");
    d.send("D");
    d.wait_text(&format!("Delete {name}? This cannot be undone."));
    d.send(ENTER);
    d.wait_text(&format!("type {name} exactly to delete it"));
    d.send(&name);
    d.wait_text(&format!("> {name}"));
    d.send(ENTER);
    d.wait_text("delete accepted, now DELETING");
    sim.handle.advance(5_000);
    d.wait_text(&format!("{name}: delete done, DELETED"));
    // The refused stop, stop, start, extend, stop, delete: each sent once, and
    // neither the cancel nor the Enter before the name was typed sent anything.
    assert_eq!(sim.handle.action_requests(), 6);

    d.send("q");
    d.finish().assert_restored();
    let log = std::fs::read_to_string(d.dir.path().join("nbwatch.log")).unwrap_or_default();
    let audit: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("nbwatch::audit"))
        .collect();
    for (action, outcome) in [
        ("stop", "cancelled"),
        ("stop", "failed"),
        ("stop", "accepted"),
        ("start", "accepted"),
        ("extend", "accepted"),
        ("delete", "accepted"),
    ] {
        assert!(
            audit
                .iter()
                .any(|l| l.contains(&format!("action=\"{action}\""))
                    && l.contains(&format!("outcome=\"{outcome}\""))),
            "no audit line for {action} {outcome}:\n{}",
            audit.join("\n")
        );
    }
    assert!(audit.iter().all(|l| l.contains("request_id=")), "{audit:?}");
}

#[test]
fn read_only_hides_and_refuses_actions_without_a_request() {
    let sim = sim();
    let mut launch = Launch::against(&sim, 200, 50);
    launch.args.push("--read-only".into());
    let mut d = launch.start();
    d.wait_table();
    let name = name_in(&d, "RUNNING");
    focus(&mut d, &name);
    let hints = d.screen().lines().last().unwrap_or_default().to_string();
    assert!(
        !hints.contains("stop") && !hints.contains("extend"),
        "{hints}"
    );
    d.send("X");
    let s = d.wait_text("read-only: stop refused, nothing sent");
    assert!(
        !s.contains(&format!("Stop {name}?")),
        "no confirmation:\n{s}"
    );
    d.send("?");
    let s = d.wait_text("Keys");
    assert!(!s.contains("Actions on the selected instance"), "{s}");
    d.send(ESC);
    d.wait("help to close", |s| !s.contains("Esc closes"));
    assert_eq!(sim.handle.action_requests(), 0);
    d.send("q");
    d.finish().assert_restored();
    let log = std::fs::read_to_string(d.dir.path().join("nbwatch.log")).unwrap_or_default();
    assert!(
        log.lines().any(|l| l.contains("nbwatch::audit")
            && l.contains("action=\"stop\"")
            && l.contains("outcome=\"refused: read-only\"")),
        "the refusal is in the audit log:\n{log}"
    );
}
