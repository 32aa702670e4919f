//! Marks, end to end: the real dashboard in a pseudo-terminal against a
//! simulator standing still. Three RUNNING instances and a STOPPED one are
//! marked; one confirmation stops the three (the stopped one skipped and
//! said), each row shows its outcome, one summary line ends it, and the
//! simulator answered exactly three action requests.

use crate::support::dash::{Dash, Launch, Sim, table_lines, table_rows, title_line};
use nbwatch::sim::SimConfig;

const ESC: &str = "\x1b";
const ENTER: &str = "\r";
/// The mark column's glyphs: marked, pending, accepted, failed.
const MARKS: [char; 4] = ['■', '⧗', '✓', '✗'];

/// The mark column of instance `name`'s row, if it shows one.
fn mark_of(screen: &str, name: &str) -> Option<char> {
    table_lines(screen)
        .iter()
        .find_map(|l| {
            let at = l.find(&format!(" {name} "))?;
            l[..at]
                .chars()
                .rev()
                .find(|c| MARKS.contains(c))
                .or(Some(' '))
        })
        .filter(|c| *c != ' ')
}

/// The status word of `name`'s row.
fn status_of(screen: &str, name: &str) -> Option<String> {
    table_rows(screen)
        .into_iter()
        .find(|r| r.split_whitespace().next() == Some(name))
        .and_then(|r| crate::support::dash::row_status(&r))
}

/// Rows (position, name) in `status` with plain ASCII names.
fn rows_in(d: &Dash, status: &str) -> Vec<(usize, String)> {
    table_rows(&d.screen())
        .iter()
        .enumerate()
        .filter(|(_, r)| crate::support::dash::row_status(r).as_deref() == Some(status))
        .map(|(i, r)| {
            (
                i,
                r.split_whitespace().next().unwrap_or_default().to_string(),
            )
        })
        .filter(|(_, n)| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .collect()
}

#[test]
fn three_running_instances_stopped_with_one_confirmation() {
    let sim = Sim::start(SimConfig {
        instances: 20,
        ..SimConfig::manual_at(nbwatch::sim::clock::wall_now_ms())
    });
    let mut d = Launch::against(&sim, 200, 50).start();
    d.wait_table();
    let running = rows_in(&d, "RUNNING");
    let stopped = rows_in(&d, "STOPPED");
    assert!(running.len() >= 3 && !stopped.is_empty(), "{}", d.screen());
    let mut picks: Vec<(usize, String)> = running[..3].to_vec();
    picks.push(stopped[0].clone());
    picks.sort();
    // Space marks and moves down one row.
    d.send("g");
    let mut cursor = 0;
    for (pos, _) in &picks {
        d.send(&"j".repeat(pos - cursor));
        d.send(" ");
        cursor = pos + 1;
    }
    d.wait("four marks", |s| title_line(s).contains("· 4 marked"));
    let s = d.screen();
    for (_, name) in &picks {
        assert_eq!(mark_of(&s, name), Some('■'), "{name} marked:\n{s}");
    }

    d.send("X");
    let s = d.wait_text("Stop 3 instances?");
    assert!(
        s.contains("stop 3 · 1 skipped: not RUNNING or ERROR"),
        "{s}"
    );
    for (_, name) in &running[..3] {
        assert!(s.contains(name.as_str()), "{name} named:\n{s}");
    }
    assert_eq!(sim.handle.action_requests(), 0, "nothing before Enter");
    d.send(ENTER);
    let s = d.wait("each stopped row to show its outcome", |s| {
        running[..3].iter().all(|(_, n)| mark_of(s, n) == Some('✓'))
    });
    d.wait_text("stop accepted for 3 · 1 skipped: not RUNNING or ERROR");
    for (_, name) in &running[..3] {
        let st = status_of(&s, name);
        assert!(
            matches!(st.as_deref(), Some("STOPPING" | "STOPPED")),
            "{name}: {st:?}\n{s}"
        );
    }
    assert_eq!(
        mark_of(&s, &stopped[0].1),
        Some('■'),
        "skipped: still marked"
    );
    assert_eq!(sim.handle.action_requests(), 3, "each sent once");

    // The service finishes; the pollers and the hot tier bring it in.
    sim.handle.advance(5_000);
    d.wait("the three rows STOPPED", |s| {
        running[..3]
            .iter()
            .all(|(_, n)| status_of(s, n).as_deref() == Some("STOPPED"))
    });
    // Esc clears the marks and the outcomes.
    d.send(ESC);
    d.wait("no marks", |s| {
        !title_line(s).contains("marked")
            && running[..3].iter().all(|(_, n)| mark_of(s, n).is_none())
    });
    assert_eq!(sim.handle.action_requests(), 3);
    d.send("q");
    d.finish().assert_restored();
}
