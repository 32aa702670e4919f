//! Snapshots of every screen region in every state, at 80×24, 120×40 and 200×50,
//! plus per-cell colour checks where colour carries meaning (text snapshots drop it).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};

use super::*;
use crate::app::fixtures::{self, HOUR, MIN, NOW};
use crate::app::{App, PollErrorInfo};
use crate::track::SourceId;

fn context() -> ViewContext {
    ViewContext {
        profile: "default".into(),
        region: "cn-north-4".into(),
        project_id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9".into(),
        endpoint: "https://modelarts.cn-north-4.myhuaweicloud.com".into(),
        demo: false,
        theme: Theme::colored(),
        utc_offset_secs: 0,
    }
}

pub(super) struct View {
    ctx: ViewContext,
    now_ms: i64,
}

impl View {
    pub(super) fn new(now_ms: i64) -> View {
        View {
            ctx: context(),
            now_ms,
        }
    }

    /// Renders as the event loop does: input first sees the geometry of the
    /// frame before, so give the state one frame's geometry, then draw.
    pub(super) fn render(&self, app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        app.set_viewport(viewport(Rect::new(0, 0, w, h), app, &self.ctx, self.now_ms));
        let mut drawn = None;
        term.draw(|f| drawn = Some(draw(f, app, &self.ctx, self.now_ms)))
            .unwrap();
        assert_eq!(
            drawn,
            Some(viewport(Rect::new(0, 0, w, h), app, &self.ctx, self.now_ms))
        );
        term
    }
}

/// Data fetched 3 s before the frame.
pub(super) fn loaded() -> App {
    let mut app = App::new(crate::app::fixtures::timing());
    app.sweep(fixtures::notebooks(), NOW - 3_000);
    app.record_requests(crate::track::SourceId(0), 6, NOW - 3_000);
    app
}

pub(super) fn key(app: &mut App, c: char) {
    app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE), NOW);
}

fn press(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE), NOW);
}

fn select(app: &mut App, name: &str) {
    key(app, 'g');
    for _ in 0..app.shown() {
        if app.selected().is_some_and(|t| t.name() == name) {
            return;
        }
        key(app, 'j');
    }
    panic!("{name} not in view");
}

/// The cell where `needle` starts on the first line containing it.
pub(super) fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    let area = buf.area;
    for y in 0..area.height {
        for x in 0..area.width {
            let mut s = String::new();
            for cx in x..area.width {
                s.push_str(buf[(cx, y)].symbol());
                if s.len() >= needle.len() {
                    break;
                }
            }
            if s.starts_with(needle) {
                return (x, y);
            }
        }
    }
    panic!("{needle:?} not on screen:\n{}", text(buf));
}

pub(super) fn text(buf: &Buffer) -> String {
    let area = buf.area;
    (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn fg_at(buf: &Buffer, needle: &str) -> Color {
    let (x, y) = find(buf, needle);
    buf[(x, y)].fg
}

pub(super) fn snap(name: &str, term: &Terminal<TestBackend>) {
    insta::assert_snapshot!(name, term.backend());
}

// ---- the dashboard at three sizes -------------------------------------------

#[test]
fn dashboard_80x24() {
    let v = View::new(NOW);
    let mut app = loaded();
    let term = v.render(&mut app, 80, 24);
    snap("dashboard_80x24", &term);
    let buf = term.backend().buffer();
    // Failed and frozen rows are red, name included; a running row is not.
    assert_eq!(fg_at(buf, "llm-finetune-a100"), Color::Red);
    assert_eq!(fg_at(buf, "frozen-account-nb"), Color::Red);
    assert_eq!(fg_at(buf, "broken-kernel"), Color::Red);
    assert_eq!(fg_at(buf, "● RUNNING"), Color::Green);
    // Lease countdowns: 8 minutes yellow, 90 seconds red.
    assert_eq!(fg_at(buf, "8m00s"), Color::Yellow);
    assert_eq!(fg_at(buf, "1m30s"), Color::Red);
    // The selected row stands out by its background.
    let (_, y) = find(buf, "broken-kernel");
    assert_ne!(buf[(5, y)].bg, Color::Reset);
    // Fresh data: a green dot, no warning.
    assert_eq!(fg_at(buf, "● last complete sweep 3s ago"), Color::Green);
}

#[test]
fn dashboard_120x40_puts_the_detail_below() {
    let v = View::new(NOW);
    let mut app = loaded();
    select(&mut app, "train-bert-large");
    let term = v.render(&mut app, 120, 40);
    snap("dashboard_120x40", &term);
    let buf = term.backend().buffer();
    let (_, table_row) = find(buf, "quick-test");
    let (_, detail_row) = find(buf, "3f6a2c1e-0b7d-4e8a-9c55-1d2e3f4a5b6c");
    assert!(detail_row > table_row);
}

#[test]
fn dashboard_200x50_puts_the_detail_beside() {
    let v = View::new(NOW);
    let mut app = loaded();
    select(&mut app, "llm-finetune-a100");
    let term = v.render(&mut app, 200, 50);
    snap("dashboard_200x50", &term);
    let buf = term.backend().buffer();
    let (tx, _) = find(buf, "quick-test");
    let (dx, _) = find(buf, "Insufficient resources");
    assert!(dx > tx + 60);
    // The failed step is red and highlighted.
    let (x, y) = find(buf, "✗ 2 prepare compute");
    assert_eq!(buf[(x, y)].fg, Color::Red);
    assert!(buf[(x + 2, y)].modifier.contains(Modifier::REVERSED));
}

// ---- data states ------------------------------------------------------------

#[test]
fn loading_80x24() {
    let v = View::new(NOW);
    let mut app = App::new(crate::app::fixtures::timing());
    let term = v.render(&mut app, 80, 24);
    snap("loading_80x24", &term);
    find(term.backend().buffer(), "Loading notebook instances…");
}

#[test]
fn empty_project_80x24() {
    let v = View::new(NOW);
    let mut app = App::new(crate::app::fixtures::timing());
    app.sweep(Vec::new(), NOW - 1_000);
    let term = v.render(&mut app, 80, 24);
    snap("empty_project_80x24", &term);
    find(
        term.backend().buffer(),
        "No notebook instances in this project.",
    );
}

#[test]
fn nothing_matches_says_which_filters_80x24() {
    let v = View::new(NOW);
    let mut app = loaded();
    key(&mut app, '!');
    key(&mut app, '/');
    for c in "bert".chars() {
        key(&mut app, c);
    }
    press(&mut app, KeyCode::Enter);
    let term = v.render(&mut app, 80, 24);
    snap("nothing_matches_80x24", &term);
    let buf = term.backend().buffer();
    find(buf, "None of the 13 instances match the filters:");
    find(buf, "name ~ \"bert\" · problems only");
}

#[test]
fn error_keeps_the_last_data_120x40() {
    let v = View::new(NOW + 75_000);
    let mut app = loaded();
    app.failed(
        crate::track::SourceId(0),
        PollErrorInfo {
            status: Some(429),
            code: Some("APIGW.0308".into()),
            message: "The throttling threshold has been reached".into(),
            request_id: Some("4f2a9c1e7b".into()),
            hint: Some("backing off".into()),
            attempt: 3,
            auth: false,
            next_retry_at_ms: Some(NOW + 83_000),
            stopped: false,
            no_answer: Default::default(),
        },
        NOW + 70_000,
    );
    let term = v.render(&mut app, 120, 40);
    snap("error_120x40", &term);
    let buf = term.backend().buffer();
    assert_eq!(fg_at(buf, "✗ 429 APIGW.0308 · retry 3"), Color::Red);
    find(buf, "request 4f2a9c1e7b");
    // Rendered at NOW + 75 s: the poller tries again 8 s later.
    find(buf, "next try in 8s");
    // The table still shows the last good data.
    find(buf, "train-bert-large");
}

#[test]
fn first_poll_failed_80x24() {
    let v = View::new(NOW);
    let mut app = App::new(crate::app::fixtures::timing());
    app.failed(
        crate::track::SourceId(0),
        PollErrorInfo {
            status: None,
            code: None,
            message: "connection refused".into(),
            attempt: 1,
            ..Default::default()
        },
        NOW - 500,
    );
    let term = v.render(&mut app, 80, 24);
    snap("first_poll_failed_80x24", &term);
    find(
        term.backend().buffer(),
        "No data yet: the first poll failed.",
    );
}

#[test]
fn auth_stop_says_why_and_how_to_resume_80x24() {
    let v = View::new(NOW + 60_000);
    let mut app = loaded();
    app.failed(
        crate::track::SourceId(0),
        PollErrorInfo {
            status: Some(401),
            code: Some("APIGW.0301".into()),
            message: "Incorrect IAM authentication information".into(),
            request_id: Some("a1b2c3".into()),
            attempt: 1,
            auth: true,
            ..Default::default()
        },
        NOW + 55_000,
    );
    let term = v.render(&mut app, 80, 24);
    snap("auth_stopped_80x24", &term);
    let buf = term.backend().buffer();
    assert_eq!(fg_at(buf, "✗ 401 APIGW.0301 · polling stopped"), Color::Red);
    assert_eq!(
        fg_at(buf, "polling stopped 5s ago so the AK is not locked"),
        Color::Yellow
    );
}

#[test]
fn stale_header_is_yellow_80x24() {
    // Interval 10 s: 47 s old is stale.
    let v = View::new(NOW + 44_000);
    let mut app = loaded();
    let term = v.render(&mut app, 80, 24);
    snap("stale_80x24", &term);
    assert_eq!(
        fg_at(
            term.backend().buffer(),
            "▲ late: last complete sweep 47s ago"
        ),
        Color::Yellow
    );
}

#[test]
fn paused_shows_for_how_long_80x24() {
    let v = View::new(NOW + 72_000);
    let mut app = loaded();
    key(&mut app, 'p');
    let term = v.render(&mut app, 80, 24);
    snap("paused_80x24", &term);
    let buf = term.backend().buffer();
    find(buf, "⏸ PAUSED 1m12s");
    // Old data while paused is expected: no stale alarm.
    assert!(!text(buf).contains("late"));
}

#[test]
fn problems_only_with_stuck_instances_120x40() {
    let now = NOW + 14 * MIN;
    let v = View::new(now);
    let mut app = loaded();
    app.sweep(fixtures::notebooks(), now - 2_000);
    app.tick(now);
    app.handle_key(KeyEvent::new(KeyCode::Char('!'), KeyModifiers::NONE), now);
    let term = v.render(&mut app, 120, 40);
    snap("problems_only_120x40", &term);
    let buf = term.backend().buffer();
    find(buf, "Notebooks 6/13");
    find(buf, "filter: problems only");
    assert_eq!(fg_at(buf, "stuck 14m"), Color::Yellow);
    assert_eq!(fg_at(buf, "⚠ 6 problems"), Color::Red);
}

#[test]
fn transitions_mark_rows_and_show_in_the_detail_200x50() {
    let t1 = NOW + 10_000;
    let mut app = loaded();
    let mut next = fixtures::notebooks();
    for n in &mut next {
        if n.name_str() == "new-instance" {
            n.status = Some(crate::api::model::Status::Running);
            n.action_progress.clear();
        }
    }
    next.push(fixtures::nb("fresh-1", "aaa-just-created", "INIT"));
    app.sweep(next, t1);
    // The sweep's stats in the test driver say nothing: the count as before.
    app.record_requests(crate::track::SourceId(0), 6, t1);
    select(&mut app, "new-instance");
    let v = View::new(t1 + 2_000);
    let term = v.render(&mut app, 200, 50);
    snap("transitions_200x50", &term);
    let buf = term.backend().buffer();
    // The changed row carries a mark; the detail lists the transition.
    assert_eq!(fg_at(buf, "• new-instance"), Color::Cyan);
    find(buf, "CREATING → ● RUNNING  2s ago");
    // The status bar tells the last event.
    find(buf, "aaa-just-created appeared, INIT");
}

// ---- detail, help, picker, filter input ---------------------------------------

#[test]
fn full_detail_of_a_failed_instance_80x24() {
    let v = View::new(NOW);
    let mut app = loaded();
    select(&mut app, "llm-finetune-a100");
    press(&mut app, KeyCode::Enter);
    let term = v.render(&mut app, 80, 24);
    snap("detail_failed_80x24", &term);
    assert_eq!(fg_at(term.backend().buffer(), "Insufficient"), Color::Red);
}

#[test]
fn full_detail_scrolls_to_the_end_120x40() {
    let v = View::new(NOW);
    let mut app = loaded();
    select(&mut app, "train-bert-large");
    press(&mut app, KeyCode::Enter);
    v.render(&mut app, 120, 40);
    key(&mut app, 'G');
    let term = v.render(&mut app, 120, 40);
    snap("detail_scrolled_120x40", &term);
    let buf = term.backend().buffer();
    // The token is masked; the clear value appears nowhere.
    find(buf, "••••••••0737");
    assert!(!text(buf).contains("58ba50c6"));
}

#[test]
fn detail_countdown_colours() {
    for (name, colour) in [
        ("ds-exploration", Color::Yellow),
        ("quick-test", Color::Red),
    ] {
        let v = View::new(NOW);
        let mut app = loaded();
        select(&mut app, name);
        press(&mut app, KeyCode::Enter);
        let term = v.render(&mut app, 120, 40);
        assert_eq!(fg_at(term.backend().buffer(), "in "), colour, "{name}");
    }
    // Calm with hours left; `auto-stop off` without a lease.
    let v = View::new(NOW);
    let mut app = loaded();
    select(&mut app, "train-bert-large");
    press(&mut app, KeyCode::Enter);
    let term = v.render(&mut app, 120, 40);
    assert_eq!(fg_at(term.backend().buffer(), "in 3h12m"), Color::Reset);
    press(&mut app, KeyCode::Esc);
    select(&mut app, "训练-中文-ü");
    press(&mut app, KeyCode::Enter);
    let term = v.render(&mut app, 120, 40);
    find(term.backend().buffer(), "auto-stop off");
}

#[test]
fn help_80x24_and_120x40() {
    let v = View::new(NOW);
    let mut app = loaded();
    key(&mut app, '?');
    snap("help_80x24", &v.render(&mut app, 80, 24));
    snap("help_120x40", &v.render(&mut app, 120, 40));
}

#[test]
fn help_lists_every_binding() {
    let lines: Vec<String> = help::lines(&loaded(), &Theme::plain())
        .iter()
        .map(|l| l.to_string())
        .collect();
    for bnd in crate::app::keys::KEYMAP {
        assert!(
            lines.iter().any(|l| l.contains(bnd.description)),
            "{} missing from help",
            bnd.description
        );
    }
}

#[test]
fn status_picker_80x24() {
    let v = View::new(NOW);
    let mut app = loaded();
    key(&mut app, 's');
    key(&mut app, 'j');
    key(&mut app, ' ');
    key(&mut app, 'j');
    let term = v.render(&mut app, 80, 24);
    snap("picker_80x24", &term);
    let buf = term.backend().buffer();
    find(buf, "[x] ◐ CREATING");
    find(buf, "? HIBERNATING");
}

#[test]
fn typing_a_filter_80x24() {
    let v = View::new(NOW);
    let mut app = loaded();
    key(&mut app, '/');
    for c in "in".chars() {
        key(&mut app, c);
    }
    snap("filter_typing_80x24", &v.render(&mut app, 80, 24));
}

#[test]
fn no_color_uses_no_colour_at_all_80x24() {
    let mut v = View::new(NOW);
    v.ctx.theme = Theme::from_no_color(Some("1"));
    let mut app = loaded();
    let term = v.render(&mut app, 80, 24);
    snap("no_color_80x24", &term);
    let buf = term.backend().buffer();
    for cell in buf.content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset));
    }
    // Selection is still visible.
    let (x, y) = find(buf, "broken-kernel");
    assert!(buf[(x, y)].modifier.contains(Modifier::REVERSED));
    assert_eq!(Theme::from_no_color(Some("")), Theme::colored());
}

#[test]
fn a_poll_in_flight_turns_the_dot_into_a_spinner() {
    let v = View::new(NOW);
    let mut app = loaded();
    app.started(crate::track::SourceId(0), NOW - 100);
    let term = v.render(&mut app, 80, 24);
    find(
        term.backend().buffer(),
        "⟳ sweep in progress · last complete 3s ago",
    );
}

#[test]
fn demo_mode_says_so() {
    let mut v = View::new(NOW);
    v.ctx = ViewContext {
        profile: String::new(),
        project_id: "demo".into(),
        endpoint: "http://127.0.0.1:8088".into(),
        demo: true,
        ..context()
    };
    let mut app = loaded();
    let term = v.render(&mut app, 120, 40);
    find(term.backend().buffer(), "DEMO");
}

#[test]
fn tiny_and_odd_terminals_do_not_panic() {
    let v = View::new(NOW);
    for (w, h) in [(1, 1), (10, 3), (20, 5), (40, 10), (80, 6), (300, 100)] {
        for mode in ['x', '?', 's', '/'] {
            let mut app = loaded();
            key(&mut app, mode);
            v.render(&mut app, w, h);
            press(&mut app, KeyCode::Esc);
            press(&mut app, KeyCode::Enter);
            v.render(&mut app, w, h);
        }
    }
}

#[test]
fn ten_thousand_instances_render_the_visible_rows() {
    let v = View::new(NOW);
    let mut app = App::new(crate::app::fixtures::timing());
    app.sweep(fixtures::many(10_000), NOW - HOUR);
    key(&mut app, 'G');
    let term = v.render(&mut app, 120, 40);
    let buf = term.backend().buffer();
    find(buf, "Notebooks 10000/10000");
    find(buf, "worker-009999-job");
}

#[test]
fn the_first_sweep_fills_the_table_and_says_how_far_80x24() {
    let v = View::new(NOW);
    let mut app = App::new(crate::app::fixtures::timing());
    app.started(crate::track::SourceId(0), NOW - 400);
    let first: Vec<_> = fixtures::notebooks().into_iter().take(5).collect();
    app.page(
        crate::track::SourceId(0),
        first,
        crate::app::SweepProgress {
            loaded: 1_250,
            total: Some(10_000),
        },
        NOW - 200,
    );
    let term = v.render(&mut app, 80, 24);
    let buf = term.backend().buffer();
    find(buf, "loading 1,250 / 10,000");
    find(buf, "◌ first sweep: 1,250 / 10,000");
    // The rows that arrived are on screen already.
    find(buf, "quick-test");
}

#[test]
fn the_status_bar_says_the_first_sweep_burst_is_in_force() {
    let v = View::new(NOW);
    let mut app = loaded();
    app.record_burst(crate::track::SourceId(0), Some(180));
    let term = v.render(&mut app, 120, 40);
    find(term.backend().buffer(), "first-sweep burst, 180 left");
    app.record_burst(crate::track::SourceId(0), None);
    let term = v.render(&mut app, 120, 40);
    assert!(!text(term.backend().buffer()).contains("burst"));
}

// ---- trends -----------------------------------------------------------------

#[test]
fn trends_80x24_chart_the_groups_over_the_session() {
    let v = View::new(NOW);
    let mut app = App::new(crate::app::fixtures::timing());
    let mut all = fixtures::notebooks();
    // An hour of listings: instances start one by one, one fails near the end.
    for (i, minute) in [60, 45, 30, 15, 5, 0].iter().enumerate() {
        for nb in all.iter_mut().take(i + 1) {
            nb.status = Some(crate::api::model::Status::Running);
        }
        if *minute == 0 {
            all[0].status = Some(crate::api::model::Status::Error);
        }
        app.sweep(all.clone(), NOW - minute * MIN);
    }
    key(&mut app, 't');
    let term = v.render(&mut app, 80, 24);
    snap("trends_80x24", &term);
    let buf = term.backend().buffer();
    let screen = text(buf);
    assert!(screen.contains("Instances over time"), "{screen}");
    for group in ["running", "moving", "stopped", "problems"] {
        assert!(screen.contains(group), "legend lacks {group}:\n{screen}");
    }
    assert_eq!(fg_at(buf, "● running"), Color::Green);
    assert_eq!(fg_at(buf, "✗ problems"), Color::Red);
    assert!(
        screen.contains("t trends") || screen.contains("back"),
        "{screen}"
    );
    // t (or Esc) goes back to the table.
    key(&mut app, 't');
    assert_eq!(app.mode(), &crate::app::Mode::Table);
}

#[test]
fn trends_before_the_first_listing_say_so() {
    let v = View::new(NOW);
    let mut app = App::new(crate::app::fixtures::timing());
    key(&mut app, 't');
    let term = v.render(&mut app, 80, 24);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("No listing yet"), "{screen}");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode(), &crate::app::Mode::Table);
}

#[test]
fn confirming_an_extension_shows_the_new_stop_time_80x24() {
    let v = View::new(NOW);
    let mut app = loaded();
    select(&mut app, "train-bert-large");
    key(&mut app, 'E');
    press(&mut app, KeyCode::Right);
    let term = v.render(&mut app, 80, 24);
    let screen = text(term.backend().buffer());
    assert!(
        screen.contains("Extend the auto-stop of train-bert-large?"),
        "{screen}"
    );
    // NOW is 2024-05-29 16:26:40 UTC; plus the 2 h chosen.
    assert!(
        screen.contains("new stop time 18:26:40 UTC+00:00 (now + 2h)"),
        "{screen}"
    );
    assert!(screen.contains("Enter confirm"), "{screen}");
    snap("confirm_extend_80x24", &term);
}

#[test]
fn delete_asks_for_the_name_and_the_row_shows_a_pending_action() {
    let v = View::new(NOW);
    let mut app = loaded();
    select(&mut app, "train-bert-large");
    key(&mut app, 'X');
    press(&mut app, KeyCode::Enter);
    let screen = text(v.render(&mut app, 120, 40).backend().buffer());
    let row = screen
        .lines()
        .find(|l| l.contains("train-bert-large"))
        .unwrap_or_default()
        .to_string();
    assert!(row.contains("⧗ pending stop"), "{row}");
    assert!(
        screen.contains("train-bert-large: stop requested…"),
        "{screen}"
    );

    let mut app = loaded();
    select(&mut app, "data-prep-01");
    key(&mut app, 'D');
    for c in "data-pre".chars() {
        key(&mut app, c);
    }
    let term = v.render(&mut app, 80, 24);
    let screen = text(term.backend().buffer());
    assert!(
        screen.contains("Delete data-prep-01? This cannot be undone."),
        "{screen}"
    );
    assert!(screen.contains("> data-pre"), "{screen}");
    snap("confirm_delete_80x24", &term);
}

/// Two sources: `beijing` fresh (the fixtures, 3 s old) and `singapore`
/// failing with 500s since its last good sweep a minute before the frame.
pub(super) fn two_sources() -> App {
    use crate::app::SweepProgress;
    let mut app = App::new(crate::app::fixtures::timing());
    app.set_sources(vec!["beijing".into(), "singapore".into()]);
    let sg = vec![
        fixtures::nb("sg-1", "sg-serving", "RUNNING"),
        fixtures::nb("sg-2", "sg-etl-nightly", "STOPPED"),
    ];
    app.page(SourceId(1), sg, SweepProgress::default(), NOW - MIN);
    app.sweep_end(SourceId(1), true, NOW - MIN);
    app.page(
        SourceId(0),
        fixtures::notebooks(),
        SweepProgress::default(),
        NOW - 3_000,
    );
    app.sweep_end(SourceId(0), true, NOW - 3_000);
    app.failed(
        SourceId(1),
        PollErrorInfo {
            status: Some(500),
            code: Some("ModelArts.0010".into()),
            message: "internal error".into(),
            attempt: 2,
            next_retry_at_ms: Some(NOW + 8_000),
            ..PollErrorInfo::default()
        },
        NOW - 2_000,
    );
    app
}

#[test]
fn with_several_sources_the_status_bar_states_each_sources_budget() {
    let v = View::new(NOW);
    let mut app = two_sources();
    app.set_budgets(vec![900, 900]);
    let term = v.render(&mut app, 200, 24);
    find(
        term.backend().buffer(),
        "req/min · budget 900/min per source ×2",
    );
    app.set_budgets(vec![900, 120]);
    let term = v.render(&mut app, 200, 24);
    find(
        term.backend().buffer(),
        "req/min · budgets 900 + 120 /min, one per source",
    );
    // One source: its budget is the poller's own; nothing more is said.
    let mut one = App::new(crate::app::fixtures::timing());
    one.set_budgets(vec![900]);
    one.sweep(fixtures::notebooks(), NOW - 3_000);
    let term = v.render(&mut one, 200, 24);
    let screen = format!("{:?}", term.backend().buffer());
    assert!(!screen.contains("per source"), "{screen}");
}

#[test]
fn a_source_whose_poller_died_shows_failed_for_good() {
    let v = View::new(NOW);
    let mut app = two_sources();
    app.failed(
        SourceId(1),
        PollErrorInfo {
            message: "the poller of this source stopped: it panicked: boom; restart nbwatch".into(),
            attempt: 1,
            stopped: true,
            ..PollErrorInfo::default()
        },
        NOW - 1_000,
    );
    let term = v.render(&mut app, 120, 24);
    let buf = term.backend().buffer();
    let (x, y) = find(buf, "✗ singapore poller stopped · restart nbwatch");
    assert_eq!(y, 0, "in the header");
    assert_eq!(buf[(x, y)].fg, Color::Red);
    find(buf, "● beijing");
    let (_, y) = find(
        buf,
        "✗ singapore: poller stopped · the poller of this source stopped",
    );
    assert!(y >= 20, "and in the status bar, at the bottom: row {y}");
}

#[test]
fn two_sources_one_failing_80x24() {
    let v = View::new(NOW);
    let mut app = two_sources();
    let term = v.render(&mut app, 80, 24);
    snap("two_sources_one_failing_80x24", &term);
    let buf = term.backend().buffer();
    // The header: the failing source first, with its code and retry; the other fresh.
    // (At 80 columns the failing source says less so that both fit.)
    let (x, y) = find(buf, "✗ singapore 500 · retry 2 in 8s");
    assert_eq!(y, 0);
    assert_eq!(buf[(x, y)].fg, Color::Red);
    find(buf, "● beijing 3s");
    // The merged table: a source column, both sources' rows, the counts totalled.
    find(buf, "SOURCE");
    find(buf, "Notebooks 15/15");
    find(buf, "beijing    ");
    // Kept rows of the failing source: marked with their age, dimmed.
    key(&mut app, 'G');
    let term = v.render(&mut app, 80, 24);
    let buf = term.backend().buffer();
    let (x, y) = find(buf, "✗1m00s singapore");
    assert!(buf[(x, y)].modifier.contains(Modifier::DIM));
}

#[test]
fn two_sources_detail_names_the_source_120x40() {
    let v = View::new(NOW);
    let mut app = two_sources();
    select(&mut app, "sg-serving");
    press(&mut app, KeyCode::Enter);
    let term = v.render(&mut app, 120, 40);
    snap("two_sources_detail_120x40", &term);
    let buf = term.backend().buffer();
    find(buf, "singapore · ✗ failing: as of 1m00s ago");
    find(
        buf,
        "✗ singapore 500 ModelArts.0010 · retry 2 in 8s · 1m00s old",
    );
    find(buf, "sg-1");
}

/// At scale the detail pane shows the row's fields at once, says it is reading
/// the rest, says why a read failed, and shows everything once the record is in.
#[test]
fn detail_of_a_record_not_held_reads_it_80x24() {
    let v = View::new(NOW);
    let mut app = App::new(crate::app::fixtures::timing());
    app.set_record_cap(0);
    app.sweep(fixtures::notebooks(), NOW - 3_000);
    select(&mut app, "train-bert-large");
    press(&mut app, KeyCode::Enter);
    let term = v.render(&mut app, 80, 24);
    snap("detail_reading_80x24", &term);
    let want = app.detail_wanted(NOW).expect("the pane needs the record");
    assert_eq!(
        app.get(&want.key).map(|t| t.name()),
        Some("train-bert-large")
    );
    app.detail_read_started(&want.key);
    assert_eq!(app.detail_wanted(NOW), None, "one read at a time");

    app.apply_detail(&want.key, Err("HTTP 500 ModelArts.0001".into()), NOW);
    let term = v.render(&mut app, 100, 60);
    let screen = text(term.backend().buffer());
    assert!(
        screen.contains("HTTP 500 ModelArts.0001; asked again in 10s"),
        "{screen}"
    );
    assert_eq!(app.detail_wanted(NOW + 1_000), None, "no retry storm");
    assert!(
        app.detail_wanted(NOW + 10_000).is_some(),
        "asked again later"
    );

    let record = fixtures::notebooks()
        .into_iter()
        .find(|n| n.name.as_deref() == Some("train-bert-large"))
        .unwrap();
    app.apply_detail(&want.key, Ok(Some(record)), NOW);
    let term = v.render(&mut app, 100, 60);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("Storage"), "{screen}");
    assert!(!screen.contains("reading"), "{screen}");
    assert_eq!(app.detail_wanted(NOW), None, "held now");
}

// ---- freshness of each row (the hot tier beside the sweep) ----------------------

#[test]
fn a_row_the_service_has_not_confirmed_for_a_sweep_period_says_so_120x40() {
    let mut app = App::new(crate::app::fixtures::timing());
    app.sweep(fixtures::notebooks(), NOW - 80_000);
    // The hot tier confirmed every instance 2 s ago but one.
    let mut confirmed = fixtures::notebooks();
    confirmed.retain(|n| n.name_str() != "data-prep-01");
    app.hot(
        crate::track::SourceId(0),
        vec![(NOW - 2_000, confirmed)],
        vec![],
        None,
        NOW - 2_000,
    );
    // What the poller reports since (the tick's own stats said nothing).
    app.record_requests(crate::track::SourceId(0), 480, NOW - 1_000);
    app.record_pace(
        crate::track::SourceId(0),
        crate::app::Pace {
            hot: Some(std::time::Duration::from_secs(2)),
            budget: Some(std::time::Duration::from_secs(42)),
            ..Default::default()
        },
    );
    select(&mut app, "data-prep-01");
    let v = View::new(NOW);
    let term = v.render(&mut app, 120, 40);
    snap("unconfirmed_row_120x40", &term);
    let buf = term.backend().buffer();
    assert_eq!(fg_at(buf, "~ data-prep-01"), Color::Yellow);
    find(buf, "  quick-test");
    find(
        buf,
        "~ 1m20s ago: not seen since, longer than the sweep period (42s)",
    );
    find(buf, "hot 2s · sweep 1m20s ago, every 42s · 480 req/min");
}

mod marks;

#[test]
fn a_url_no_browser_could_open_is_shown_to_copy_120x40() {
    let v = View::new(NOW);
    let mut app = loaded();
    select(&mut app, "train-bert-large");
    app.url_not_opened(
        "https://authoring-modelarts-cnnorth4.huaweicloud.com/3f6a2c1e/lab",
        crate::opener::NO_OPENER,
        NOW,
    );
    let term = v.render(&mut app, 120, 40);
    snap("unopened_url_120x40", &term);
    let screen = text(term.backend().buffer());
    assert!(
        screen.contains("https://authoring-modelarts-cnnorth4.huaweicloud.com/3f6a2c1e/lab"),
        "{screen}"
    );
}
