//! Several sources in one dashboard (issue 13): two simulators, one failing
//! (500s, then 401) while the other changes state. What the user sees: the
//! merged table, the header's state per source, and the failing source's last
//! good rows kept and marked.

use std::time::Instant;

use nbwatch::sim::{DEMO_SECOND_PROJECT_ID, Fault, SimConfig, clock};

use crate::support::dash::{Launch, Sim, TempDir, WAIT, row_status, title_counts};
use crate::support::pty;

/// The table row showing instance `name` (the source column comes first).
fn row_named(screen: &str, name: &str) -> Option<String> {
    screen
        .lines()
        .find(|l| l.contains(&format!(" {name} ")))
        .map(str::to_string)
}

/// Whether the header shows `source` as polling well (between sweeps or in one).
fn polling_well(header: &str, source: &str) -> bool {
    header.contains(&format!("● {source} ")) || header.contains(&format!("⟳ {source} "))
}

/// The table rows of source `source`, as drawn.
fn rows_of<'a>(screen: &'a str, source: &str) -> Vec<&'a str> {
    screen
        .lines()
        .skip_while(|l| !l.contains("┌ Notebooks "))
        .take_while(|l| !l.starts_with('└'))
        .filter(|l| l.starts_with('│') && l.contains(&format!(" {source} ")))
        .collect()
}

#[test]
fn two_sources_one_failing_while_the_other_changes() {
    let bj = Sim::manual(true);
    let sg = Sim::start(SimConfig {
        instances: 5,
        seed: 7,
        project_id: DEMO_SECOND_PROJECT_ID.into(),
        ..SimConfig::manual_at(clock::wall_now_ms())
    });
    let dir = TempDir::new("sources");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.beijing]\nendpoint = \"{}\"\nproject_id = \"{}\"\n\n[profiles.singapore]\nendpoint = \"{}\"\nproject_id = \"{}\"\n",
            bj.handle.endpoint(),
            bj.handle.project_id(),
            sg.handle.endpoint(),
            sg.handle.project_id()
        ),
    )
    .unwrap();
    let (ak, sk) = bj.handle.credentials();
    let mut d = Launch {
        bin: crate::support::bin().into(),
        args: [
            "--config",
            config.to_str().unwrap(),
            "--profile",
            "beijing,singapore",
            "--interval",
            "1",
            "--fast-interval",
            "1",
        ]
        .map(String::from)
        .to_vec(),
        env: vec![
            ("HUAWEICLOUD_SDK_AK".into(), ak),
            ("HUAWEICLOUD_SDK_SK".into(), sk.expose().to_string()),
        ],
        cols: 120,
        rows: 40,
    }
    .start();

    // The merged table: both sources' instances, with a source column.
    let (n_bj, n_sg) = (bj.statuses().len(), sg.statuses().len());
    let s = d.wait("both sources in the table", |s| {
        title_counts(s) == Some((n_bj + n_sg, n_bj + n_sg))
            && s.lines()
                .next()
                .is_some_and(|h| polling_well(h, "beijing") && polling_well(h, "singapore"))
    });
    assert!(s.contains("SOURCE"), "{s}");
    // Two sources may send twice the requests of one: the status bar says so.
    let budget = format!(
        "budget {}/min per source ×2",
        nbwatch::defaults::BUDGET_PER_MINUTE
    );
    d.wait("each source's budget stated", |s| s.contains(&budget));
    // Sorted by source, Singapore first (`o` to the source column, `O` reverses).
    d.send("oooooooo");
    d.wait("sorted by source", |s| s.contains("sort source ▲"));
    d.send("O");
    // All of Singapore's rows: the title's count alone can be reached early,
    // by Beijing's demo script creating an instance before Singapore's last
    // page is in.
    let s = d.wait("singapore first", |s| {
        s.contains("sort source ▼") && rows_of(s, "singapore").len() == n_sg
    });
    // Every Singapore row comes before the first Beijing row.
    let sources: Vec<&str> = s
        .lines()
        .skip_while(|l| !l.contains("┌ Notebooks "))
        .skip(2)
        .take_while(|l| l.starts_with('│'))
        .filter_map(|l| l.trim_start_matches('│').split_whitespace().next())
        .collect();
    let first_bj = sources.iter().position(|s| *s == "beijing");
    assert!(sources.first() == Some(&"singapore"), "{s}");
    assert!(
        first_bj.is_some_and(|i| sources[i..].iter().all(|s| *s == "beijing")),
        "{s}"
    );

    // Singapore starts failing with 500s: the header says which, the code and
    // the retry; its rows stay, marked with their age.
    sg.handle.set_faults(&["500".parse::<Fault>().unwrap()]);
    let s = d.wait("singapore failing", |s| {
        s.lines()
            .next()
            .is_some_and(|h| h.contains("✗ singapore 500 ModelArts.0010 · retry"))
    });
    let header = s.lines().next().unwrap().to_string();
    assert!(polling_well(&header, "beijing"), "{header}");
    // (Beijing may have one more: its demo script's creation.)
    assert!(
        title_counts(&s).is_some_and(|(shown, all)| shown == all && all >= n_bj + n_sg),
        "the failing source's rows stay:\n{s}"
    );
    let kept = rows_of(&s, "singapore");
    assert_eq!(kept.len(), n_sg, "{s}");
    for r in &kept {
        let cell = r.trim_start_matches('│').trim_start_matches([' ', '•']);
        assert!(cell.starts_with('✗'), "a kept row is marked: {r}");
    }
    assert!(
        s.lines()
            .any(|l| l.contains("✗ singapore: 500 ModelArts.0010")),
        "the status bar names the source:\n{s}"
    );

    // Meanwhile Beijing keeps updating: its scripted creation reaches RUNNING.
    let name = "demo-创建中-gpu";
    let start = Instant::now();
    let mut polled = bj.handle.request_count();
    loop {
        let s = d.screen();
        if row_named(&s, name).and_then(|r| row_status(&r)).as_deref() == Some("RUNNING") {
            assert!(
                s.lines().next().unwrap().contains("✗ singapore"),
                "still failing:\n{s}"
            );
            break;
        }
        assert!(start.elapsed() < WAIT * 2, "never RUNNING:\n{s}");
        let now = bj.handle.request_count();
        if now > polled {
            polled = now;
            bj.handle.advance(4_000);
        }
        std::thread::sleep(pty::POLL);
    }

    // Then its credentials are refused: polling Singapore stops (no retries
    // that could lock the AK), Beijing goes on, the rows stay.
    sg.handle.set_faults(&["401".parse::<Fault>().unwrap()]);
    d.send("r");
    let s = d.wait("singapore stopped", |s| {
        s.lines()
            .next()
            .is_some_and(|h| h.contains("✗ singapore 401 APIGW.0301 · stopped"))
    });
    assert!(polling_well(s.lines().next().unwrap(), "beijing"), "{s}");
    assert_eq!(rows_of(&s, "singapore").len(), n_sg, "{s}");
    let stopped_at = sg.handle.request_count();
    let bj_at = bj.handle.request_count();
    bj.wait_requests(bj_at + 2);
    assert_eq!(
        sg.handle.request_count(),
        stopped_at,
        "no request to the stopped source while the other polls on"
    );

    d.send("q");
    let f = d.finish();
    assert_eq!(f.code, 0);
    f.assert_restored();
}
