//! State model tests: what the user would see after each poll, key and tick.
//!
//! Why one long file: each test drives the same state model through polls, keys
//! and ticks with the shared fixtures; grouping is by behaviour, in order.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::fixtures::{self, DAY, HOUR, MIN, NOW, k, nb};
use super::*;

fn app() -> App {
    let mut app = App::new(crate::app::fixtures::timing());
    app.set_viewport(Viewport {
        table_body: Rect::new(1, 4, 78, 10),
        ..Default::default()
    });
    app.sweep(fixtures::notebooks(), NOW);
    app
}

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE), NOW)
}

fn chr(app: &mut App, c: char) -> Vec<Effect> {
    press(app, KeyCode::Char(c))
}

fn typed(app: &mut App, s: &str) {
    for c in s.chars() {
        chr(app, c);
    }
}

fn names(app: &App) -> Vec<String> {
    app.rows(0, usize::MAX)
        .map(|t| t.name().to_string())
        .collect()
}

fn selected_name(app: &App) -> Option<String> {
    app.selected().map(|t| t.name().to_string())
}

fn select(app: &mut App, name: &str) {
    chr(app, 'g');
    for _ in 0..app.shown() {
        if selected_name(app).as_deref() == Some(name) {
            return;
        }
        chr(app, 'j');
    }
    panic!("{name} not in view");
}

#[test]
fn first_snapshot_sorts_by_name_and_selects_the_first_row() {
    let app = app();
    assert_eq!(app.total(), 13);
    assert_eq!(app.shown(), 13);
    let n = names(&app);
    assert_eq!(n[0], "broken-kernel");
    assert_eq!(n.last().map(String::as_str), Some("训练-中文-ü"));
    assert_eq!(selected_name(&app).as_deref(), Some("broken-kernel"));
    assert_eq!(app.cursor(), Some(0));
    // Nothing is "new" in the first poll, and no events are logged for it.
    assert!(app.instances().iter().all(|t| !t.is_marked(NOW)));
    assert!(app.events().is_empty());
}

#[test]
fn selection_follows_the_instance_across_a_reordered_refresh() {
    let mut app = app();
    select(&mut app, "quick-test");
    let mut next = fixtures::notebooks();
    next.reverse();
    // A new instance that sorts before it pushes it down a row.
    next.push(nb("new-1", "aaa-first", "CREATING"));
    app.sweep(next, NOW + 10_000);
    assert_eq!(selected_name(&app).as_deref(), Some("quick-test"));
    assert_eq!(names(&app)[app.cursor().unwrap()], "quick-test");
}

#[test]
fn a_vanished_selection_moves_to_the_next_neighbour_then_the_previous() {
    let mut app = app();
    select(&mut app, "mystery-box");
    let after = names(&app)[app.cursor().unwrap() + 1].clone();
    let next: Vec<_> = fixtures::notebooks()
        .into_iter()
        .filter(|n| n.name_str() != "mystery-box")
        .collect();
    // Missing once is not yet gone; the second sweep confirms it.
    app.sweep(next.clone(), NOW + 10_000);
    assert_eq!(selected_name(&app).as_deref(), Some("mystery-box"));
    app.sweep(next, NOW + 15_000);
    assert_eq!(selected_name(&app), Some(after));

    // The last row vanishing leaves the cursor on the one before it.
    chr(&mut app, 'G');
    let before_last = names(&app)[app.shown() - 2].clone();
    let last = selected_name(&app).unwrap();
    let next: Vec<_> = fixtures::notebooks()
        .into_iter()
        .filter(|n| n.name_str() != "mystery-box" && n.name_str() != last)
        .collect();
    app.sweep(next.clone(), NOW + 20_000);
    app.sweep(next, NOW + 25_000);
    assert_eq!(selected_name(&app), Some(before_last));
}

#[test]
fn a_vanished_selection_finds_its_neighbour_when_others_left_in_the_same_sweep() {
    let mut app = app();
    select(&mut app, "mystery-box");
    let cursor = app.cursor().unwrap();
    let shown = names(&app);
    // The selection, both its neighbours and the first instance listed leave
    // together: every place past the first moves.
    let first = fixtures::notebooks()[0].name_str().to_string();
    let leaving = [
        "mystery-box",
        shown[cursor + 1].as_str(),
        shown[cursor - 1].as_str(),
        first.as_str(),
    ];
    let want = shown[cursor + 2].clone();
    assert!(!leaving.contains(&want.as_str()));
    let next: Vec<_> = fixtures::notebooks()
        .into_iter()
        .filter(|n| !leaving.contains(&n.name_str()))
        .collect();
    app.sweep(next.clone(), NOW + 10_000);
    app.sweep(next, NOW + 15_000);
    assert_eq!(selected_name(&app), Some(want));
}

#[test]
fn gone_instances_are_removed_and_logged() {
    let mut app = app();
    let next: Vec<_> = fixtures::notebooks()
        .into_iter()
        .filter(|n| n.name_str() != "snapshot-job")
        .collect();
    // One sweep without it proves nothing yet: it stays, with its history, and
    // nothing is announced.
    app.sweep(next.clone(), NOW + 5_000);
    assert_eq!(app.total(), 13);
    assert!(app.events().is_empty(), "{:?}", app.events());
    // A second sweep without it confirms it is gone.
    app.sweep(next.clone(), NOW + 10_000);
    assert_eq!(app.total(), 12);
    assert!(!names(&app).contains(&"snapshot-job".to_string()));
    let ev = app.events().back().unwrap();
    assert_eq!(ev.name, "snapshot-job");
    assert_eq!(
        ev.kind,
        EventKind::Gone {
            last: Status::Snapshotting
        }
    );
}

#[test]
fn transitions_are_recorded_with_the_poll_time_and_mark_the_row() {
    let mut app = app();
    let t0 = NOW + 10_000;
    let mut next = fixtures::notebooks();
    for n in &mut next {
        if n.name_str() == "new-instance" {
            n.status = Some(Status::Running);
        }
    }
    app.sweep(next, t0);
    let key = "c2724386-aaaa-4bbb-8ccc-000000000008";
    let t = app.get(&k(key)).unwrap();
    assert_eq!(
        t.transitions,
        vec![Transition {
            from: Status::Creating,
            to: Status::Running,
            at_ms: t0
        }]
    );
    assert_eq!(
        t.time_in_status(t0 + 65_000),
        StatusAge {
            ms: 65_000,
            at_least: false
        }
    );
    assert!(t.is_marked(t0 + 1_000));
    assert!(!t.is_marked(t0 + tracked::CHANGE_MARK_MS));
    // Never seen changing: a lower bound since the first sighting.
    let other = app.get(&k("9e4f2053-aaaa-4bbb-8ccc-000000000005")).unwrap();
    assert_eq!(
        other.time_in_status(t0),
        StatusAge {
            ms: 10_000,
            at_least: true
        }
    );
    assert_eq!(
        app.events().back().unwrap().kind,
        EventKind::Changed {
            from: Status::Creating,
            to: Status::Running
        }
    );
}

#[test]
fn new_instances_after_the_first_poll_are_marked_and_logged() {
    let mut app = app();
    let mut next = fixtures::notebooks();
    next.push(nb("fresh", "fresh-one", "INIT"));
    app.sweep(next, NOW + 5_000);
    assert!(app.get(&k("fresh")).unwrap().is_marked(NOW + 6_000));
    assert_eq!(
        app.events().back().unwrap().kind,
        EventKind::Appeared(Status::Init)
    );
}

#[test]
fn instances_without_ids_are_kept_apart() {
    let mut app = App::new(crate::app::fixtures::timing());
    let mut a = nb("", "same", "RUNNING");
    a.id = None;
    let b = a.clone();
    app.sweep(vec![a.clone(), b.clone()], NOW);
    assert_eq!(app.total(), 2);
    assert!(app.get(&k("(no id) same")).is_some());
    assert!(app.get(&k("(no id) same #2")).is_some());
    // Their texts are the same: later sweeps still see two, and lose neither.
    for n in 1..4 {
        app.sweep(vec![a.clone(), b.clone()], NOW + n * 5_000);
        assert_eq!(app.total(), 2);
        for id in ["(no id) same", "(no id) same #2"] {
            assert_eq!(
                app.get(&k(id)).map(|t| t.confirmed_ms),
                Some(NOW + n * 5_000)
            );
        }
    }
}

#[test]
fn stuck_after_the_threshold_and_counted_as_a_problem_on_tick() {
    let mut app = app();
    // Fixture problems: CREATE_FAILED, FROZEN, ERROR.
    assert_eq!(app.attention_count(), 3);
    chr(&mut app, '!');
    assert_eq!(app.shown(), 3);
    let creating = "c2724386-aaaa-4bbb-8ccc-000000000008";
    let stuck_after = app.stuck_after_ms();
    assert_eq!(stuck_after, 10 * MIN);
    assert!(
        !app.get(&k(creating))
            .unwrap()
            .is_stuck(NOW + stuck_after - 1, stuck_after)
    );
    app.tick(NOW + stuck_after - 1);
    assert_eq!(app.attention_count(), 3);
    // CREATING, SNAPSHOTTING and STARTING all cross the line together.
    app.tick(NOW + stuck_after);
    assert_eq!(app.attention_count(), 6);
    assert_eq!(app.shown(), 6);
    assert!(names(&app).contains(&"new-instance".to_string()));
    // RUNNING never gets stuck.
    let bert = app.get(&k("3f6a2c1e-0b7d-4e8a-9c55-1d2e3f4a5b6c")).unwrap();
    assert!(!bert.is_stuck(NOW + DAY, stuck_after));
}

#[test]
fn name_filter_applies_while_typing_enter_keeps_esc_clears() {
    let mut app = app();
    chr(&mut app, '/');
    assert_eq!(app.mode(), &Mode::Filter);
    typed(&mut app, "TR");
    assert_eq!(names(&app), vec!["train-bert-large"]);
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Backspace);
    typed(&mut app, "中文");
    assert_eq!(names(&app), vec!["训练-中文-ü"]);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), &Mode::Table);
    assert_eq!(app.filter().name, "中文");
    // In table mode, letters are commands again.
    chr(&mut app, '/');
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.filter().name, "");
    assert_eq!(app.shown(), 13);
}

#[test]
fn a_filter_that_hides_the_selection_moves_it_and_clearing_restores_it() {
    let mut app = app();
    select(&mut app, "ds-exploration");
    chr(&mut app, '/');
    typed(&mut app, "#");
    assert_eq!(app.shown(), 0);
    assert!(app.selected().is_none());
    // Remembered while nothing is shown.
    press(&mut app, KeyCode::Esc);
    assert_eq!(selected_name(&app).as_deref(), Some("ds-exploration"));
    chr(&mut app, '/');
    typed(&mut app, "test");
    assert_eq!(selected_name(&app).as_deref(), Some("quick-test"));
}

#[test]
fn narrowing_gives_the_same_rows_as_filtering_from_scratch() {
    let mut app = App::new(crate::app::fixtures::timing());
    app.sweep(fixtures::many(500), NOW);
    chr(&mut app, '/');
    for prefix in ["w", "wo", "wor", "worker-0001", "worker-00012"] {
        app.filter.name = prefix[..prefix.len() - 1].to_string();
        app.refilter(NOW, false);
        chr(&mut app, prefix.chars().last().unwrap());
        let narrowed = names(&app);
        app.refilter(NOW, false);
        assert_eq!(narrowed, names(&app), "{prefix}");
    }
    assert_eq!(app.shown(), 10);
}

#[test]
fn filters_combine() {
    let mut app = app();
    chr(&mut app, 's');
    let Mode::Picker(p) = app.mode() else {
        panic!("no picker")
    };
    let running = p
        .entries
        .iter()
        .position(|(s, _)| *s == Status::Running)
        .unwrap();
    for _ in 0..running {
        chr(&mut app, 'j');
    }
    chr(&mut app, ' ');
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.shown(), 5);
    chr(&mut app, '/');
    typed(&mut app, "-");
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        names(&app),
        vec![
            "codelab-free",
            "ds-exploration",
            "quick-test",
            "train-bert-large",
            "训练-中文-ü"
        ]
    );
    chr(&mut app, '/');
    typed(&mut app, "t");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.filter().name, "-t");
    assert_eq!(names(&app), vec!["quick-test"]);
    // Problems only on top of RUNNING: nothing.
    chr(&mut app, '!');
    assert_eq!(app.shown(), 0);
    // Esc in the table clears everything at once.
    press(&mut app, KeyCode::Esc);
    assert!(!app.filter().is_active());
    assert_eq!(app.shown(), 13);
}

#[test]
fn picker_shows_every_status_with_counts_and_cancel_changes_nothing() {
    let mut app = app();
    chr(&mut app, 's');
    let Mode::Picker(p) = app.mode().clone() else {
        panic!("no picker")
    };
    assert_eq!(p.entries.len(), 15);
    let count = |s: Status| p.entries.iter().find(|(x, _)| *x == s).unwrap().1;
    assert_eq!(count(Status::Running), 5);
    assert_eq!(count(Status::Deleted), 0);
    assert_eq!(count(Status::Unknown("HIBERNATING".into())), 1);
    assert_eq!(
        p.entries.last().unwrap().0,
        Status::Unknown("HIBERNATING".into())
    );
    chr(&mut app, ' ');
    chr(&mut app, 'j');
    chr(&mut app, ' ');
    chr(&mut app, 'j');
    chr(&mut app, ' ');
    chr(&mut app, ' ');
    let Mode::Picker(p) = app.mode() else {
        panic!("no picker")
    };
    assert_eq!(
        p.chosen.iter().cloned().collect::<Vec<_>>(),
        vec![Status::Init, Status::Creating]
    );
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode(), &Mode::Table);
    assert!(app.filter().statuses.is_empty());
    // Reopening shows the applied set; `a` empties it.
    chr(&mut app, 's');
    chr(&mut app, 'j');
    chr(&mut app, ' ');
    press(&mut app, KeyCode::Enter);
    assert_eq!(names(&app), vec!["new-instance"]);
    chr(&mut app, 's');
    chr(&mut app, 'a');
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.shown(), 13);
}

#[test]
fn sort_cycles_and_reverses_keeping_the_selection() {
    let mut app = app();
    select(&mut app, "frozen-account-nb");
    chr(&mut app, 'o');
    assert_eq!(app.sort().column, SortColumn::Status);
    let n = names(&app);
    // Problems first (by status name), then unknown, then moving, running, stopped.
    assert_eq!(
        &n[..5],
        [
            "llm-finetune-a100",
            "broken-kernel",
            "frozen-account-nb",
            "mystery-box",
            "new-instance"
        ]
    );
    assert_eq!(n.last().map(String::as_str), Some("data-prep-01"));
    assert_eq!(selected_name(&app).as_deref(), Some("frozen-account-nb"));
    assert_eq!(app.cursor(), Some(2));
    chr(&mut app, 'O');
    assert!(app.sort().descending);
    assert_eq!(names(&app)[0], "data-prep-01");
    assert_eq!(selected_name(&app).as_deref(), Some("frozen-account-nb"));
    for _ in 0..4 {
        chr(&mut app, 'o');
    }
    assert_eq!(app.sort().column, SortColumn::Lease);
    assert!(!app.sort().descending);
    // Soonest auto-stop first; instances a lease cannot stop sort last.
    assert_eq!(
        &names(&app)[..3],
        ["quick-test", "ds-exploration", "train-bert-large"]
    );
    chr(&mut app, 'O');
    assert_eq!(&names(&app)[..2], ["train-bert-large", "ds-exploration"]);
    chr(&mut app, 'o');
    assert_eq!(app.sort().column, SortColumn::Age);
    assert_eq!(&names(&app)[..2], ["new-instance", "codelab-free"]);
    chr(&mut app, 'o');
    chr(&mut app, 'o');
    assert_eq!(app.sort().column, SortColumn::Name);
}

#[test]
fn lease_urgency_thresholds() {
    assert_eq!(LeaseUrgency::of(10 * MIN), LeaseUrgency::Calm);
    assert_eq!(LeaseUrgency::of(10 * MIN - 1), LeaseUrgency::Soon);
    assert_eq!(LeaseUrgency::of(2 * MIN), LeaseUrgency::Soon);
    assert_eq!(LeaseUrgency::of(2 * MIN - 1), LeaseUrgency::Imminent);
    assert_eq!(LeaseUrgency::of(-5_000), LeaseUrgency::Imminent);
    let app = app();
    let ds = app.get(&k("5b1c9d20-aaaa-4bbb-8ccc-000000000002")).unwrap();
    assert_eq!(ds.lease_remaining_ms(NOW), Some(8 * MIN));
    assert_eq!(ds.lease_remaining_ms(NOW + 7 * MIN), Some(MIN));
    // A stopped instance has nothing to count down.
    let stopped = app.get(&k("9e4f2053-aaaa-4bbb-8ccc-000000000005")).unwrap();
    assert_eq!(stopped.lease_remaining_ms(NOW), None);
}

#[test]
fn n_and_shift_n_jump_between_problems_and_wrap() {
    let mut app = app();
    // Sorted by name: broken-kernel(0) ... frozen-account-nb(4), llm-finetune-a100(5).
    assert_eq!(selected_name(&app).as_deref(), Some("broken-kernel"));
    chr(&mut app, 'n');
    assert_eq!(selected_name(&app).as_deref(), Some("frozen-account-nb"));
    chr(&mut app, 'n');
    assert_eq!(selected_name(&app).as_deref(), Some("llm-finetune-a100"));
    chr(&mut app, 'n');
    assert_eq!(selected_name(&app).as_deref(), Some("broken-kernel"));
    chr(&mut app, 'N');
    assert_eq!(selected_name(&app).as_deref(), Some("llm-finetune-a100"));
    // Stuck ones count once they are stuck.
    app.handle_key(
        KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE),
        NOW + HOUR,
    );
    // (mystery-box, an unknown status, is not a problem.)
    assert_eq!(selected_name(&app).as_deref(), Some("new-instance"));
}

#[test]
fn no_problem_to_jump_to_says_so() {
    let mut app = App::new(crate::app::fixtures::timing());
    app.sweep(vec![nb("a", "a", "RUNNING"), nb("b", "b", "RUNNING")], NOW);
    chr(&mut app, 'n');
    assert_eq!(selected_name(&app).as_deref(), Some("a"));
    assert_eq!(app.flash(NOW), Some("no problems in view"));
    assert_eq!(app.flash(NOW + FLASH_MS), None);
}

#[test]
fn navigation_pages_and_clamps() {
    let mut app = App::new(crate::app::fixtures::timing());
    app.set_viewport(Viewport {
        table_body: Rect::new(0, 3, 80, 10),
        ..Default::default()
    });
    app.sweep(fixtures::many(100), NOW);
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.cursor(), Some(10));
    assert_eq!(app.scroll_offset(10), 1);
    press(&mut app, KeyCode::Up);
    chr(&mut app, 'k');
    assert_eq!(app.cursor(), Some(8));
    assert_eq!(
        app.scroll_offset(10),
        1,
        "moving inside the page does not scroll"
    );
    chr(&mut app, 'G');
    assert_eq!(app.cursor(), Some(99));
    assert_eq!(app.scroll_offset(10), 90);
    chr(&mut app, 'j');
    assert_eq!(app.cursor(), Some(99));
    press(&mut app, KeyCode::PageUp);
    assert_eq!(app.cursor(), Some(89));
    chr(&mut app, 'g');
    assert_eq!(app.cursor(), Some(0));
    assert_eq!(app.scroll_offset(10), 0);
}

#[test]
fn mouse_click_selects_the_row_under_it_and_the_wheel_moves() {
    let mut app = App::new(crate::app::fixtures::timing());
    app.set_viewport(Viewport {
        table_body: Rect::new(1, 4, 78, 10),
        ..Default::default()
    });
    app.sweep(fixtures::many(100), NOW);
    chr(&mut app, 'G');
    let click = |row| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 10,
        row,
        modifiers: KeyModifiers::NONE,
    };
    // Rows 90..99 are on screen; screen row 4 is the first of them.
    app.handle_mouse(click(6), NOW);
    assert_eq!(app.cursor(), Some(92));
    // Outside the table body: nothing.
    app.handle_mouse(click(3), NOW);
    assert_eq!(app.cursor(), Some(92));
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 10,
        row: 6,
        modifiers: KeyModifiers::NONE,
    };
    app.handle_mouse(wheel, NOW);
    assert_eq!(app.cursor(), Some(93));
}

#[test]
fn keys_emit_effects() {
    let mut app = app();
    assert_eq!(chr(&mut app, 'q'), vec![Effect::Quit]);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    chr(&mut app, '/');
    assert_eq!(app.handle_key(ctrl_c, NOW), vec![Effect::Quit]);
    // `q` while typing is text (and the filter moves the selection to quick-test).
    assert_eq!(chr(&mut app, 'q'), vec![]);
    assert_eq!(app.filter().name, "q");
    press(&mut app, KeyCode::Esc);
    chr(&mut app, 'g');

    assert_eq!(chr(&mut app, 'r'), vec![Effect::RefreshNow]);
    assert_eq!(chr(&mut app, 'p'), vec![Effect::SetPaused(true)]);
    assert_eq!(app.poll().paused_for_ms(NOW + 72_000), Some(72_000));
    assert_eq!(chr(&mut app, 'p'), vec![Effect::SetPaused(false)]);
    assert_eq!(app.poll().paused_for_ms(NOW), None);

    assert_eq!(
        chr(&mut app, '+'),
        vec![Effect::SetInterval(Duration::from_secs(15))]
    );
    assert_eq!(
        chr(&mut app, '-'),
        vec![Effect::SetInterval(Duration::from_secs(10))]
    );
    for _ in 0..10 {
        chr(&mut app, '-');
    }
    assert_eq!(app.poll().interval, Duration::from_secs(2));
    assert_eq!(chr(&mut app, '-'), vec![]);

    assert_eq!(
        chr(&mut app, 'y'),
        vec![Effect::CopyToClipboard(
            "06b687ca-aaaa-4bbb-8ccc-00000000000c".into()
        )]
    );
    assert_eq!(
        app.flash(NOW),
        Some("copied 06b687ca-aaaa-4bbb-8ccc-00000000000c")
    );
}

#[test]
fn enter_opens_full_detail_esc_goes_back_and_help_returns_where_it_came_from() {
    let mut app = app();
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), &Mode::Detail);
    chr(&mut app, '?');
    assert_eq!(app.mode(), &Mode::Help { from_detail: true });
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode(), &Mode::Detail);
    // n still jumps while the detail is full screen, and the detail follows.
    chr(&mut app, 'n');
    assert_eq!(selected_name(&app).as_deref(), Some("frozen-account-nb"));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode(), &Mode::Table);
}

#[test]
fn detail_scroll_is_clamped_and_resets_on_a_new_selection() {
    let mut app = app();
    app.set_viewport(Viewport {
        table_body: Rect::new(1, 4, 78, 10),
        detail: Rect::new(0, 2, 80, 20),
        detail_lines: 50,
        ..Default::default()
    });
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.detail_scroll(), 20);
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.detail_scroll(), 30);
    chr(&mut app, 'k');
    assert_eq!(app.detail_scroll(), 29);
    chr(&mut app, 'n');
    assert_eq!(app.detail_scroll(), 0);
}

#[test]
fn freshness_loading_fresh_stale_failing_and_auth_stop() {
    let mut app = App::new(crate::app::fixtures::timing());
    assert_eq!(app.freshness(NOW), Freshness::Loading);
    app.sweep(fixtures::notebooks(), NOW);
    assert_eq!(
        app.freshness(NOW + 3_000),
        Freshness::Fresh { age_ms: 3_000 }
    );
    assert_eq!(
        app.freshness(NOW + 20_000),
        Freshness::Fresh { age_ms: 20_000 }
    );
    assert_eq!(
        app.freshness(NOW + 20_001),
        Freshness::Stale { age_ms: 20_001 }
    );
    let throttled = PollErrorInfo {
        status: Some(429),
        code: Some("APIGW.0308".into()),
        message: "too many requests".into(),
        attempt: 3,
        ..Default::default()
    };
    app.failed(crate::track::SourceId(0), throttled.clone(), NOW + 30_000);
    assert_eq!(
        app.freshness(NOW + 31_000),
        Freshness::Failing {
            age_ms: Some(31_000)
        }
    );
    assert_eq!(throttled.short_code(), "429 APIGW.0308");
    // The last good data stays.
    assert_eq!(app.total(), 13);
    app.failed(
        crate::track::SourceId(0),
        PollErrorInfo {
            status: Some(401),
            code: Some("APIGW.0301".into()),
            auth: true,
            attempt: 1,
            ..Default::default()
        },
        NOW + 40_000,
    );
    assert_eq!(
        app.freshness(NOW + 41_000),
        Freshness::AuthStopped {
            age_ms: Some(41_000)
        }
    );
    // `r` resumes; the next snapshot clears the error.
    assert_eq!(chr(&mut app, 'r'), vec![Effect::RefreshNow]);
    assert!(!app.poll().auth_stopped);
    app.sweep(fixtures::notebooks(), NOW + 50_000);
    assert_eq!(app.freshness(NOW + 50_000), Freshness::Fresh { age_ms: 0 });
}

#[test]
fn request_rate_is_what_the_poller_last_reported_within_a_minute() {
    let mut app = App::new(crate::app::fixtures::timing());
    assert_eq!(app.poll().requests_per_min(NOW), 0);
    app.record_requests(crate::track::SourceId(0), 6, NOW);
    assert_eq!(app.poll().requests_per_min(NOW + 30_000), 6);
    app.record_requests(crate::track::SourceId(0), 4, NOW + 30_000);
    assert_eq!(app.poll().requests_per_min(NOW + 89_999), 4);
    // Nothing reported for a minute (paused): nothing sent in the last minute.
    assert_eq!(app.poll().requests_per_min(NOW + 90_000), 0);
}

#[test]
fn in_flight_and_transitional_markers() {
    let mut app = App::new(crate::app::fixtures::timing());
    app.started(crate::track::SourceId(0), NOW);
    assert_eq!(app.poll().in_flight_since_ms, Some(NOW));
    app.sweep(vec![nb("a", "a", "RUNNING"), nb("b", "b", "CREATING")], NOW);
    assert_eq!(app.poll().in_flight_since_ms, None);
    assert!(app.any_visible_transitional());
    chr(&mut app, '/');
    chr(&mut app, 'a');
    assert!(!app.any_visible_transitional());
    app.started(crate::track::SourceId(0), NOW + 1);
    app.failed(crate::track::SourceId(0), PollErrorInfo::default(), NOW + 2);
    assert_eq!(app.poll().in_flight_since_ms, None);
}

#[test]
fn status_counts_are_in_lifecycle_order_with_unknown_last() {
    let app = app();
    let counts: Vec<(String, usize)> = app
        .status_counts()
        .iter()
        .map(|(s, n)| (s.to_string(), *n))
        .collect();
    assert_eq!(counts[0], ("CREATING".to_string(), 1));
    assert_eq!(counts.last().unwrap(), &("HIBERNATING".to_string(), 1));
    assert_eq!(counts.iter().map(|(_, n)| n).sum::<usize>(), 13);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        /// Keep the fixtures whose bit is set, cycling some statuses.
        Snapshot(u16, u8),
        Key(char),
        Tick(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (any::<u16>(), any::<u8>()).prop_map(|(m, s)| Op::Snapshot(m, s)),
            prop::sample::select(vec![
                'j', 'k', 'g', 'G', 'n', 'N', 'o', 'O', '!', '/', 'e', 'r', '\u{8}', '\n',
                '\u{1b}', 's', ' ', 'q',
            ])
            .prop_map(Op::Key),
            (0i64..20 * MIN).prop_map(Op::Tick),
        ]
    }

    proptest! {
        #[test]
        fn the_cursor_is_always_on_a_shown_row(ops in prop::collection::vec(op(), 1..80)) {
            let mut app = App::new(crate::app::fixtures::timing());
            app.set_viewport(Viewport { table_body: Rect::new(0, 3, 80, 5), ..Default::default() });
            let mut now = NOW;
            for op in ops {
                match op {
                    Op::Snapshot(mask, seed) => {
                        now += 10_000;
                        let statuses = ["RUNNING", "CREATING", "ERROR", "STOPPED", "HIBERNATING"];
                        let nbs = fixtures::notebooks()
                            .into_iter()
                            .enumerate()
                            .filter(|(i, _)| mask & (1 << i) != 0)
                            .map(|(i, mut n)| {
                                if (i + usize::from(seed)) % 3 == 0 {
                                    n.status = Some(Status::parse(statuses[usize::from(seed) % 5]));
                                }
                                n
                            })
                            .collect();
                        app.sweep(nbs, now);
                    }
                    Op::Key(c) => {
                        let code = match c {
                            '\u{8}' => KeyCode::Backspace,
                            '\n' => KeyCode::Enter,
                            '\u{1b}' => KeyCode::Esc,
                            c => KeyCode::Char(c),
                        };
                        app.handle_key(KeyEvent::new(code, KeyModifiers::NONE), now);
                    }
                    Op::Tick(dt) => {
                        now += dt;
                        app.tick(now);
                    }
                }
                if app.shown() > 0 {
                    let sel = app.selected().expect("a shown row is selected");
                    let cursor = app.cursor().unwrap();
                    prop_assert!(cursor < app.shown());
                    prop_assert_eq!(&app.rows(cursor, 1).next().unwrap().key, &sel.key);
                    let off = app.scroll_offset(5);
                    prop_assert!(off <= cursor && cursor < off + 5);
                } else {
                    prop_assert!(app.selected().is_none());
                }
                prop_assert!(app.shown() <= app.total());
            }
        }
    }
}

#[test]
fn time_in_status_of_a_new_instance_starts_at_its_last_update() {
    let mut app = App::new(crate::app::fixtures::timing());
    let mut a = nb("u1", "updated-an-hour-ago", "CREATING");
    a.update_at = Some(NOW - HOUR);
    let mut future = nb("u2", "clock-ahead", "RUNNING");
    future.update_at = Some(NOW + HOUR);
    app.sweep(vec![a, future], NOW);
    let t = app.get(&k("u1")).unwrap();
    assert_eq!(
        t.time_in_status(NOW),
        StatusAge {
            ms: HOUR,
            at_least: true
        }
    );
    // An hour in CREATING is past the 10-minute threshold: stuck at once.
    assert!(t.is_stuck(NOW, app.stuck_after_ms()));
    // An update time ahead of our clock is not believed.
    let f = app.get(&k("u2")).unwrap();
    assert_eq!(
        f.time_in_status(NOW),
        StatusAge {
            ms: 0,
            at_least: true
        }
    );
}

#[test]
fn an_instance_last_seen_deleting_is_gone_at_once() {
    let mut app = app();
    let mut next = fixtures::notebooks();
    let victim = next
        .iter_mut()
        .find(|n| n.name_str() == "quick-test")
        .unwrap();
    victim.status = Some(Status::Deleting);
    app.sweep(next.clone(), NOW + 5_000);
    next.retain(|n| n.name_str() != "quick-test");
    app.sweep(next, NOW + 10_000);
    assert!(!names(&app).contains(&"quick-test".to_string()));
    assert_eq!(
        app.events().back().unwrap().kind,
        EventKind::Gone {
            last: Status::Deleting
        }
    );
}

#[test]
fn a_missed_instance_keeps_its_history_and_returns_without_events() {
    let mut app = app();
    let mut next = fixtures::notebooks();
    let t = next
        .iter_mut()
        .find(|n| n.name_str() == "quick-test")
        .unwrap();
    let status = if t.status == Some(Status::Running) {
        Status::Stopping
    } else {
        Status::Running
    };
    t.status = Some(status.clone());
    app.sweep(next.clone(), NOW + 5_000);
    let key = app
        .instances()
        .iter()
        .find(|t| t.name() == "quick-test")
        .unwrap()
        .key
        .clone();
    let history = app.get(&key).unwrap().transitions.clone();
    assert_eq!(history.len(), 1);
    let events = app.events().len();
    // A sweep that slipped past it (the listing moved under it), then one that saw it.
    let without: Vec<_> = next
        .iter()
        .filter(|n| n.name_str() != "quick-test")
        .cloned()
        .collect();
    app.sweep(without, NOW + 10_000);
    assert_eq!(
        app.get(&key).unwrap().transitions,
        history,
        "history kept meanwhile"
    );
    app.sweep(next, NOW + 15_000);
    assert_eq!(app.get(&key).unwrap().transitions, history);
    assert_eq!(app.get(&key).unwrap().status, status);
    assert_eq!(
        app.events().len(),
        events,
        "no gone, no appeared: {:?}",
        app.events()
    );
}

#[test]
fn an_incomplete_sweep_confirms_nothing_gone() {
    let mut app = app();
    let without: Vec<_> = fixtures::notebooks()
        .into_iter()
        .filter(|n| n.name_str() != "quick-test")
        .collect();
    for k in 1..=3 {
        app.page(
            crate::track::SourceId(0),
            without.clone(),
            SweepProgress::default(),
            NOW + k * 5_000,
        );
        app.sweep_end(crate::track::SourceId(0), false, NOW + k * 5_000);
    }
    assert!(names(&app).contains(&"quick-test".to_string()));
    assert!(app.events().is_empty());
}

#[test]
fn the_first_sweep_shows_rows_as_pages_arrive_and_says_how_far() {
    let mut app = App::new(Timing::default());
    let all = fixtures::notebooks();
    let (first, rest) = all.split_at(5);
    app.started(crate::track::SourceId(0), NOW);
    app.page(
        crate::track::SourceId(0),
        first.to_vec(),
        SweepProgress {
            loaded: 5,
            total: Some(13),
        },
        NOW + 300,
    );
    assert!(app.has_data());
    assert_eq!(app.total(), 5);
    assert_eq!(app.freshness(NOW + 400), Freshness::Loading);
    assert_eq!(
        app.poll().sweep,
        Some(SweepProgress {
            loaded: 5,
            total: Some(13)
        })
    );
    app.page(
        crate::track::SourceId(0),
        rest.to_vec(),
        SweepProgress {
            loaded: 13,
            total: Some(13),
        },
        NOW + 600,
    );
    app.sweep_end(crate::track::SourceId(0), true, NOW + 600);
    assert_eq!(app.total(), 13);
    assert_eq!(app.poll().sweep, None);
    assert_eq!(
        app.freshness(NOW + 1_600),
        Freshness::Fresh { age_ms: 1_000 }
    );
    // Nothing in the first sweep is announced as new.
    assert!(app.events().is_empty());
}

#[test]
fn a_sweep_paced_by_the_budget_is_not_stale() {
    let mut app = app();
    app.record_pace(
        crate::track::SourceId(0),
        Pace {
            fast: Some(Duration::from_secs(2)),
            budget: Some(Duration::from_secs(100)),
            ..Pace::default()
        },
    );
    // 150 s after the last complete sweep, with the next one (every 100 s) under way.
    app.started(crate::track::SourceId(0), NOW + 100_000);
    assert_eq!(
        app.freshness(NOW + 150_000),
        Freshness::Fresh { age_ms: 150_000 }
    );
    assert!(app.poll().sweeping());
    assert_eq!(
        app.freshness(NOW + 200_001),
        Freshness::Stale { age_ms: 200_001 }
    );
}

#[test]
fn the_trend_takes_one_sample_per_finished_sweep_not_per_page() {
    let mut app = App::new(crate::app::fixtures::timing());
    let all = fixtures::notebooks();
    let (a, b) = all.split_at(all.len() / 2);
    let n = all.len() as u64;
    app.page(
        crate::track::SourceId(0),
        a.to_vec(),
        crate::app::SweepProgress {
            loaded: a.len() as u64,
            total: Some(n),
        },
        NOW,
    );
    app.page(
        crate::track::SourceId(0),
        b.to_vec(),
        crate::app::SweepProgress {
            loaded: n,
            total: Some(n),
        },
        NOW + 100,
    );
    assert!(app.trend().samples().is_empty(), "pages are not samples");
    app.sweep_end(crate::track::SourceId(0), true, NOW + 200);
    let samples: Vec<_> = app.trend().samples().iter().collect();
    assert_eq!(samples.len(), 1);
    assert_eq!(samples[0].counts.iter().sum::<u32>() as usize, all.len());
}

/// The lean model at scale: rows for every instance, whole records only up to
/// the cap (the first ones pages bring, then what the detail pane read), and
/// the table pane alone never asks for a record.
#[test]
fn whole_records_are_kept_up_to_the_cap() {
    let mut app = App::new(fixtures::timing());
    app.set_record_cap(3);
    let all = fixtures::notebooks();
    assert!(all.len() > 3);
    app.sweep(all.clone(), NOW);
    assert_eq!(app.total(), all.len());
    assert_eq!(app.records().len(), 3);
    // No detail pane on screen: nothing to read.
    assert_eq!(app.detail_wanted(NOW), None);
    // Every row still has what the table, sort and alerts read.
    let failed = app
        .instances()
        .iter()
        .find(|t| t.row.fail_reason().is_some())
        .expect("a fixture with a failure reason");
    assert!(!failed.row.image.is_empty());
    // A read for the pane refreshes the row as any read does.
    let key = app.instances()[all.len() - 1].key.clone();
    let mut nb = all[all.len() - 1].clone();
    nb.name = Some("renamed-by-show".into());
    app.apply_detail(&key, Ok(Some(nb)), NOW + 1_000);
    assert_eq!(app.get(&key).map(|t| t.name()), Some("renamed-by-show"));
    assert!(app.records().get(&key).is_some());
    assert_eq!(app.records().len(), 3, "still within the cap");
}

#[test]
fn a_page_that_only_confirms_rows_asks_for_no_frame() {
    let mut app = app();
    let page = |loaded| SweepProgress {
        loaded,
        total: Some(2),
    };
    let rows = vec![nb("a", "alpha", "RUNNING"), nb("b", "beta", "STOPPED")];
    // The first sweep: every page is news (rows added, the count moves).
    assert!(app.page(crate::track::SourceId(0), rows[..1].to_vec(), page(1), NOW));
    assert!(app.page(
        crate::track::SourceId(0),
        rows[1..].to_vec(),
        page(2),
        NOW + 100
    ));
    app.sweep_end(crate::track::SourceId(0), true, NOW + 100);
    // The next sweep: the same rows, confirmed, change nothing on screen...
    app.started(crate::track::SourceId(0), NOW + 5_000);
    assert!(!app.page(
        crate::track::SourceId(0),
        rows.clone(),
        page(2),
        NOW + 5_100
    ));
    // ...while a status that moved does.
    let moved = vec![nb("a", "alpha", "STOPPING")];
    assert!(app.page(crate::track::SourceId(0), moved, page(1), NOW + 5_200));
    assert_eq!(app.get(&k("a")).unwrap().status, Status::Stopping);
}

#[test]
fn an_incomplete_sweep_is_not_the_second_sweep_that_confirms_a_gone() {
    let mut app = app();
    let without: Vec<_> = fixtures::notebooks()
        .into_iter()
        .filter(|n| n.name_str() != "quick-test")
        .collect();
    // One complete sweep lacks it: not gone yet.
    app.sweep(without.clone(), NOW + 5_000);
    assert!(names(&app).contains(&"quick-test".to_string()));
    // An incomplete one lacking it too confirms nothing.
    app.page(
        crate::track::SourceId(0),
        without.clone(),
        SweepProgress::default(),
        NOW + 10_000,
    );
    app.sweep_end(crate::track::SourceId(0), false, NOW + 10_000);
    assert!(names(&app).contains(&"quick-test".to_string()));
    assert!(app.events().is_empty(), "{:?}", app.events());
    // A sweep after an incomplete one announces nothing new: what it finds may
    // have been missed before.
    let mut more = without.clone();
    let mut fresh = fixtures::notebooks()[0].clone();
    fresh.id = Some("fresh-after-incomplete".into());
    fresh.name = Some("fresh-after-incomplete".into());
    more.push(fresh);
    app.page(
        crate::track::SourceId(0),
        more.clone(),
        SweepProgress::default(),
        NOW + 15_000,
    );
    assert!(
        !app.events()
            .iter()
            .any(|e| matches!(e.kind, EventKind::Appeared(_))),
        "{:?}",
        app.events()
    );
    app.sweep_end(crate::track::SourceId(0), true, NOW + 15_000);
    // The second complete sweep without it does.
    assert!(!names(&app).contains(&"quick-test".to_string()));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// A batch that changes or adds rows skips the sort when the changed rows
    /// still sit between their neighbours, and puts the new ones in by binary
    /// search: whatever the column, the direction and the changes (statuses,
    /// names, flavors, a lease, new instances), the table is always in the
    /// order a whole sort gives. Instances also leave (the others' places
    /// move, their order does not), several times within one batch, between
    /// rows that change and join.
    #[test]
    fn the_table_is_always_in_sorted_order_after_changed_rows(
        column_presses in 0usize..9,
        descending in proptest::bool::ANY,
        batches in proptest::collection::vec(
            // Each batch: messages of rows read (ids 40 and up join) and ids gone.
            proptest::collection::vec(
                (
                    proptest::collection::vec((0usize..48, 0usize..6), 0..6),
                    proptest::collection::vec(0usize..48, 0..4),
                ),
                1..4,
            ),
            1..12,
        ),
    ) {
        const STATUSES: [&str; 6] = ["RUNNING", "STOPPED", "ERROR", "STARTING", "FROZEN", "CREATING"];
        let make = |i: usize, v: usize| {
            let mut n = nb(&format!("id{i:02}"), &format!("nb-{}", (i * 7 + v) % 13), STATUSES[v]);
            n.flavor = Some(format!("flavor-{}", (i + v) % 3));
            if v.is_multiple_of(2) {
                n.lease = Some(fixtures::lease(i64::try_from(i * v + 1).unwrap_or(1) * MIN));
            }
            n
        };
        let mut app = App::new(fixtures::timing());
        app.sweep((0..40).map(|i| make(i, i % 6)).collect(), NOW);
        for _ in 0..column_presses {
            chr(&mut app, 'o');
        }
        if descending {
            chr(&mut app, 'O');
        }
        for (b, batch) in batches.into_iter().enumerate() {
            let at = NOW + i64::try_from(b + 1).unwrap_or(0) * 1000;
            let msgs: Vec<_> = batch
                .into_iter()
                .map(|(read, gone)| {
                    let msg = crate::watch::Message::Hot {
                        seen: vec![(at, read.into_iter().map(|(i, v)| crate::api::model::WireNotebook::of(&make(i, v))).collect())],
                        gone: gone.into_iter().map(|i| (format!("id{i:02}"), at)).collect(),
                        error: None,
                        stats: crate::watch::Stats::default(),
                    };
                    (crate::track::SourceId(0), msg)
                })
                .collect();
            app.apply_all(msgs, at);
            let shown: Vec<InstanceKey> = app.rows(0, usize::MAX).map(|t| t.key.clone()).collect();
            let mut whole: Vec<&Tracked> = app.instances().iter().collect();
            let sort = app.sort();
            whole.sort_by(|a, b| sort::compare(a, b, sort));
            let whole: Vec<InstanceKey> = whole.into_iter().map(|t| t.key.clone()).collect();
            proptest::prop_assert_eq!(shown, whole, "sorted by {:?}", sort);
        }
    }
}
