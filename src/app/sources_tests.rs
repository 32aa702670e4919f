//! Several sources in one state: keys per source, sweeps that only speak for
//! their own source, failures that leave the other sources alone, and the
//! filter, sort and problem keys across all of them.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixtures::{MIN, NOW, ks, nb, timing};
use super::*;
use crate::track::SourceId;

/// Two sources, `bj` (0) and `sg` (1), each with an instance whose id is `same`.
fn two() -> App {
    let mut app = App::new(timing());
    app.set_sources(vec!["bj".into(), "sg".into()]);
    app.set_viewport(Viewport {
        table_body: Rect::new(1, 4, 78, 10),
        ..Default::default()
    });
    let bj = vec![
        nb("same", "bj-train", "RUNNING"),
        nb("b2", "bj-broken", "CREATE_FAILED"),
    ];
    let sg = vec![
        nb("same", "sg-train", "STOPPED"),
        nb("s2", "sg-frozen", "FROZEN"),
    ];
    let n = |v: &Vec<Notebook>| SweepProgress {
        loaded: v.len() as u64,
        total: Some(v.len() as u64),
    };
    let (pb, ps) = (n(&bj), n(&sg));
    app.page(SourceId(0), bj, pb, NOW);
    app.sweep_end(SourceId(0), true, NOW);
    app.page(SourceId(1), sg, ps, NOW);
    app.sweep_end(SourceId(1), true, NOW);
    app
}

fn chr(app: &mut App, c: char) -> Vec<Effect> {
    app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE), NOW)
}

fn rows(app: &App) -> Vec<(String, String)> {
    app.rows(0, usize::MAX)
        .map(|t| {
            (
                app.source_name(t.key.source).to_string(),
                t.name().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_same_id_in_two_sources_is_two_instances() {
    let app = two();
    assert_eq!(app.total(), 4);
    let same: Vec<(&str, SourceId)> = app
        .instances()
        .iter()
        .filter(|t| t.id() == Some("same"))
        .map(|t| (t.name(), t.key.source))
        .collect();
    assert_eq!(same.len(), 2, "{same:?}");
    assert!(same.contains(&("bj-train", SourceId(0))) && same.contains(&("sg-train", SourceId(1))));
    assert!(app.several_sources());
    assert_eq!(app.source_name(SourceId(1)), "sg");
}

#[test]
fn a_sweep_only_removes_instances_of_its_own_source() {
    let mut app = two();
    // bj lists only one instance twice: its other one is gone; sg's stay.
    for at in [NOW + MIN, NOW + 2 * MIN] {
        let page = vec![nb("same", "bj-train", "RUNNING")];
        app.page(SourceId(0), page, SweepProgress::default(), at);
        app.sweep_end(SourceId(0), true, at);
    }
    let names: Vec<String> = rows(&app).into_iter().map(|(_, n)| n).collect();
    assert_eq!(names, ["bj-train", "sg-frozen", "sg-train"]);
}

#[test]
fn a_failing_source_keeps_its_rows_and_the_other_keeps_updating() {
    let mut app = two();
    app.set_viewport(Viewport::default());
    let error = PollErrorInfo {
        status: Some(500),
        attempt: 2,
        ..PollErrorInfo::default()
    };
    app.failed(SourceId(1), error, NOW + MIN);
    let page = vec![
        nb("same", "bj-train", "STOPPING"),
        nb("b2", "bj-broken", "CREATE_FAILED"),
    ];
    app.page(SourceId(0), page, SweepProgress::default(), NOW + MIN);
    app.sweep_end(SourceId(0), true, NOW + MIN);
    assert_eq!(app.total(), 4, "sg's last good rows stay");
    assert!(app.feeds()[0].rows_current(NOW + MIN));
    assert!(!app.feeds()[1].rows_current(NOW + MIN));
    assert_eq!(app.feeds()[1].poll.last_ok_ms, Some(NOW));
    assert_eq!(
        app.poll().last_error.as_ref().and_then(|e| e.status),
        Some(500),
        "the whole is failing while a part is"
    );
    // The change in bj was seen, and named as bj's.
    let changed = app
        .events()
        .iter()
        .find(|e| matches!(e.kind, EventKind::Changed { .. }))
        .unwrap();
    assert_eq!(
        (changed.key.source, changed.name.as_str()),
        (SourceId(0), "bj-train")
    );
}

#[test]
fn filter_sort_and_problems_work_across_sources() {
    let mut app = two();
    chr(&mut app, '/');
    for c in "train".chars() {
        chr(&mut app, c);
    }
    app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE), NOW);
    assert_eq!(app.shown(), 2, "the name filter matches in both sources");
    app.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE), NOW);
    chr(&mut app, '!');
    let problems: Vec<(String, String)> = rows(&app);
    assert_eq!(
        problems,
        [
            ("bj".to_string(), "bj-broken".to_string()),
            ("sg".to_string(), "sg-frozen".to_string())
        ]
    );
    chr(&mut app, '!');
    // `o` reaches the source column (after IN STATUS) with several sources.
    while app.sort().column != SortColumn::Source {
        chr(&mut app, 'o');
    }
    let by_source: Vec<String> = rows(&app).into_iter().map(|(s, _)| s).collect();
    assert_eq!(by_source, ["bj", "bj", "sg", "sg"]);
    chr(&mut app, 'O');
    let reversed: Vec<String> = rows(&app).into_iter().map(|(s, _)| s).collect();
    assert_eq!(reversed, ["sg", "sg", "bj", "bj"]);
    // next-problem visits both sources' problems.
    chr(&mut app, 'g');
    let mut seen = Vec::new();
    for _ in 0..2 {
        chr(&mut app, 'n');
        seen.push(
            app.selected()
                .map(|t| t.name().to_string())
                .unwrap_or_default(),
        );
    }
    seen.sort();
    assert_eq!(seen, ["bj-broken", "sg-frozen"]);
    assert_eq!(app.attention_count(), 2, "the counts total both");
}

#[test]
fn one_source_never_sorts_by_source() {
    let mut app = App::new(timing());
    app.sweep(vec![nb("a", "a", "RUNNING")], NOW);
    for _ in 0..20 {
        chr(&mut app, 'o');
        assert_ne!(app.sort().column, SortColumn::Source);
    }
}

#[test]
fn an_action_goes_to_the_source_of_its_instance() {
    let mut app = two();
    chr(&mut app, '/');
    for c in "sg-train".chars() {
        chr(&mut app, c);
    }
    app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE), NOW);
    assert_eq!(app.selected().map(|t| &t.key), Some(&ks(1, "same")));
    // Start it (STOPPED offers start), confirming with Enter.
    chr(&mut app, 'S');
    let effects = app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE), NOW);
    let req = effects
        .iter()
        .find_map(|e| match e {
            Effect::Act(r) => Some(r.clone()),
            _ => None,
        })
        .expect("an action request");
    assert_eq!((req.key.source, req.id.as_str()), (SourceId(1), "same"));
}

#[test]
fn each_sources_first_listing_is_its_own_baseline_for_appearances() {
    let mut app = two();
    let page = vec![nb("new", "sg-new", "CREATING")];
    app.take_events();
    app.page(SourceId(1), page, SweepProgress::default(), NOW + MIN);
    let events = app.take_events();
    assert!(
        events
            .iter()
            .any(|e| e.key.source == SourceId(1) && matches!(e.kind, EventKind::Appeared(_))),
        "{events:?}"
    );
}

#[test]
fn only_the_source_with_a_moving_instance_on_screen_is_hot() {
    let mut app = two();
    assert!(!app.visible_transitional_in(SourceId(0)) && !app.visible_transitional_in(SourceId(1)));
    let page = vec![
        nb("same", "sg-train", "STARTING"),
        nb("s2", "sg-frozen", "FROZEN"),
    ];
    app.page(SourceId(1), page, SweepProgress::default(), NOW + MIN);
    assert!(app.visible_transitional_in(SourceId(1)));
    assert!(
        !app.visible_transitional_in(SourceId(0)),
        "beijing keeps its pace"
    );
    assert!(app.any_visible_transitional());
}

#[test]
fn the_journal_history_is_matched_to_each_sources_keys() {
    use crate::journal::{Entry, Kind};
    let mut app = App::new(timing());
    app.set_sources(vec!["bj".into(), "sg".into()]);
    let mut e = Entry::new(NOW - 10 * MIN, "sg", "same", "sg-train", Kind::Appeared);
    e.to = Some("RUNNING".into());
    let other = Entry::new(NOW - 10 * MIN, "elsewhere", "x", "x", Kind::Appeared);
    app.set_history(vec![e, other], &["bj".to_string(), "sg".to_string()]);
    let page = vec![nb("same", "sg-train", "RUNNING")];
    app.page(SourceId(1), page, SweepProgress::default(), NOW);
    app.sweep_end(SourceId(1), true, NOW);
    let samples = app.trend().samples();
    // Undoing sg's appearance (matched to key `1/same`) leaves nobody before
    // it; the other source's entry is not ours.
    assert_eq!(samples.len(), 2, "{samples:?}");
    assert_eq!(samples[0].at_ms, NOW - 10 * MIN - 1);
    assert_eq!(samples[0].counts.iter().sum::<u32>(), 0, "{samples:?}");
    assert_eq!(samples[1].counts.iter().sum::<u32>(), 1, "{samples:?}");
}

#[test]
fn a_record_not_held_is_read_from_the_source_of_its_instance() {
    let mut app = App::new(timing());
    app.set_sources(vec!["bj".into(), "sg".into()]);
    app.set_record_cap(0);
    let page = vec![nb("same", "sg-train", "RUNNING")];
    app.page(SourceId(1), page, SweepProgress::default(), NOW);
    app.sweep_end(SourceId(1), true, NOW);
    app.set_viewport(Viewport {
        detail: Rect::new(0, 0, 60, 20),
        ..Default::default()
    });
    let want = app.detail_wanted(NOW).expect("the detail needs the record");
    assert_eq!((&want.key, want.id.as_str()), (&ks(1, "same"), "same"));
}

/// Sorted by source, then reversed: the table shows the new order from its
/// top whenever the selected row fits on that first screen, whichever source's
/// rows arrived first (the first row to arrive takes the selection), and
/// wherever the table was scrolled before (`G`: the last row selected).
#[test]
fn a_new_sort_shows_the_top_of_the_table_when_the_selection_fits_there() {
    for (sg_first, at_bottom) in [(false, false), (true, false), (false, true)] {
        let mut app = App::new(timing());
        app.set_sources(vec!["beijing".into(), "singapore".into()]);
        let body = 30;
        app.set_viewport(Viewport {
            table_body: Rect::new(1, 4, 118, body),
            ..Default::default()
        });
        let sg: Vec<Notebook> = ["sg-a", "sg-b", "sg-c", "sg-d"]
            .iter()
            .map(|n| nb(n, n, "STOPPED"))
            .collect();
        let codelab = vec![nb("notebook_0", "notebook_0", "STOPPED")];
        let bj: Vec<Notebook> = (0..60)
            .map(|i| nb(&format!("bj{i:02}"), &format!("bj-{i:02}"), "RUNNING"))
            .collect();
        let p = SweepProgress::default();
        if sg_first {
            app.page(SourceId(1), sg, p, NOW);
            app.page(SourceId(0), bj, p, NOW);
        } else {
            app.page(SourceId(0), bj, p, NOW);
            app.page(SourceId(1), sg, p, NOW);
        }
        app.page(SourceId(1), codelab, p, NOW);
        app.sweep_end(SourceId(0), true, NOW);
        app.sweep_end(SourceId(1), true, NOW);
        if at_bottom {
            chr(&mut app, 'G');
        }
        while app.sort().column != SortColumn::Source {
            chr(&mut app, 'o');
        }
        chr(&mut app, 'O');
        let drawn: Vec<(String, String)> = app
            .rows(app.scroll_offset(usize::from(body)), usize::from(body))
            .map(|t| {
                (
                    app.source_name(t.key.source).to_string(),
                    t.name().to_string(),
                )
            })
            .collect();
        let sg_rows = drawn.iter().filter(|(s, _)| s == "singapore").count();
        assert_eq!(sg_rows, 5, "{sg_first} {at_bottom}: {drawn:?}");
        assert_eq!(drawn[0].0, "singapore", "{drawn:?}");
        assert!(
            app.cursor().is_some_and(|c| c < usize::from(body)),
            "the selection stays on screen"
        );
    }
}
