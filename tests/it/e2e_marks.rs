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

/// The bulk sender on its own, against the simulator: every request sent
/// once, no more than the client's concurrency at a time, each counted by the
/// client's (shared) limiter, and a 5xx reported, not repeated.
#[tokio::test]
async fn the_bulk_sender_sends_each_once_a_few_at_a_time() {
    use nbwatch::api::actions::Verb;
    use nbwatch::api::{Client, ListQuery, Status};
    use nbwatch::app::{ActionEvent, ActionRequest};
    use std::time::{Duration, Instant};

    let sim = crate::support::sim::manual(60).await;
    let mut o = sim.client_options();
    o.concurrency = 2;
    o.timeout = Duration::from_secs(10);
    let client = Client::new(o).expect("client builds");
    let all = client
        .fetch_all(&ListQuery::default())
        .await
        .expect("listing");
    let running: Vec<_> = all
        .notebooks
        .iter()
        .filter(|n| n.status.as_ref() == Some(&Status::Running))
        .map(|n| n.id_str().to_string())
        .collect();
    assert!(running.len() >= 9, "{} running", running.len());
    let request = |id: &String| ActionRequest {
        key: nbwatch::track::InstanceKey::new(nbwatch::track::SourceId(0), id),
        id: id.clone(),
        name: id.clone(),
        verb: Verb::Stop,
        duration_ms: None,
    };
    let collect = |mut rx: tokio::sync::mpsc::UnboundedReceiver<ActionEvent>, n: usize| async move {
        let mut got = Vec::new();
        while got.len() < n {
            let ev = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                .await
                .expect("every answer comes")
                .expect("channel open");
            match ev {
                ActionEvent::Answered { key, result, .. } => got.push((key, result.is_ok())),
                // The status read after a failure that may have reached the service.
                ActionEvent::Seen { .. } => {}
                other => panic!("only answers and status reads: {other:?}"),
            }
        }
        got
    };

    // Six answers each 300 ms late, two at a time: three rounds at least.
    sim.set_faults(&["latency:300".parse().unwrap()]);
    let before = sim.request_count();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let start = Instant::now();
    nbwatch::act::spawn_many(
        vec![client.clone()],
        running[..6].iter().map(request).collect(),
        tx,
    );
    let mut got = collect(rx, 6).await;
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "two at a time: {:?}",
        start.elapsed()
    );
    got.sort();
    let mut want: Vec<(nbwatch::track::InstanceKey, bool)> = running[..6]
        .iter()
        .map(|i| {
            (
                nbwatch::track::InstanceKey::new(nbwatch::track::SourceId(0), i),
                true,
            )
        })
        .collect();
    want.sort();
    assert_eq!(got, want, "each answered once, all accepted");
    assert_eq!(sim.request_count() - before, 6, "each sent once");
    assert!(
        client.requests_last_minute() >= 6,
        "counted by the limiter the poller shares"
    );

    // A 5xx may mean the service acted: reported, never sent again.
    sim.set_faults(&["500:count=1".parse().unwrap()]);
    let before = sim.request_count();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    nbwatch::act::spawn_many(
        vec![client.clone()],
        running[6..9].iter().map(request).collect(),
        tx,
    );
    let got = collect(rx, 3).await;
    assert_eq!(got.iter().filter(|(_, ok)| !ok).count(), 1, "{got:?}");
    // Three stops, each sent once, and one read of the failed one's status, so
    // its row and the summary say where it stands now: never the stop again.
    assert_eq!(
        sim.request_count() - before,
        4,
        "the failed one not repeated; its status read once"
    );
}
