//! Marks and bulk actions: marking by key (surviving re-sorts, refreshes and
//! removals), the one confirmation with its skips, the typed count for delete,
//! each answer on its row and the summary line.

use crossterm::event::KeyCode;

use super::actions::question;
use super::marks::Outcome;
use super::*;
use crate::api::actions::{Acted, Answer, Verb};
use crate::app::fixtures::{self, NOW, chr, k, key, select};

fn five() -> Vec<Notebook> {
    vec![
        fixtures::nb("r1", "alpha", "RUNNING"),
        fixtures::nb("r2", "bravo", "RUNNING"),
        fixtures::nb("r3", "charlie", "RUNNING"),
        fixtures::nb("s1", "delta", "STOPPED"),
        fixtures::nb("f1", "echo", "FROZEN"),
    ]
}

fn app() -> App {
    let mut app = App::new(fixtures::timing());
    app.sweep(five(), NOW);
    app
}

/// `n` instances in `status`, named `{prefix}0`, `{prefix}1`….
fn alike(n: usize, prefix: &str, status: &str) -> App {
    let mut app = App::new(fixtures::timing());
    app.sweep(
        (0..n)
            .map(|i| fixtures::nb(&format!("id{i}"), &format!("{prefix}{i:02}"), status))
            .collect(),
        NOW,
    );
    app
}

fn mark(app: &mut App, names: &[&str]) {
    for n in names {
        select(app, n);
        chr(app, ' ');
    }
}

fn marked(app: &App) -> Vec<String> {
    let mut v: Vec<String> = app
        .instances()
        .iter()
        .filter(|t| app.marked(&t.key))
        .map(|t| t.name().to_string())
        .collect();
    v.sort();
    v
}

fn confirm(app: &App) -> Confirm {
    match app.mode() {
        Mode::Confirm(c) => c.clone(),
        m => panic!("a confirmation, not {m:?}"),
    }
}

fn answered(key: &str, verb: Verb, result: Result<Notebook, &str>) -> ActionEvent {
    ActionEvent::Answered {
        key: k(key),
        verb,
        result: result
            .map(|nb| Acted {
                answer: Answer::Instance(Box::new(nb)),
                request_id: None,
            })
            .map_err(str::to_string),
    }
}

#[test]
fn space_marks_and_unmarks_the_row_and_moves_down() {
    let mut app = app();
    assert!(!app.marks_shown());
    select(&mut app, "alpha");
    chr(&mut app, ' ');
    assert_eq!(marked(&app), ["alpha"]);
    assert_eq!(
        app.selected().map(|t| t.name()),
        Some("bravo"),
        "moved down"
    );
    chr(&mut app, ' ');
    assert_eq!(marked(&app), ["alpha", "bravo"]);
    select(&mut app, "alpha");
    chr(&mut app, ' ');
    assert_eq!(marked(&app), ["bravo"]);
    assert_eq!(app.marked_count(), 1);
    // The last row stays selected when marked.
    chr(&mut app, 'G');
    chr(&mut app, ' ');
    assert_eq!(app.cursor(), Some(4));
}

#[test]
fn marks_are_kept_by_instance_through_re_sorts_and_refreshes_and_leave_with_it() {
    let mut app = app();
    mark(&mut app, &["bravo", "delta"]);
    chr(&mut app, 'O');
    chr(&mut app, 'o');
    chr(&mut app, 'o');
    assert_eq!(marked(&app), ["bravo", "delta"]);
    // A refresh in another order, with bravo now stopping: still bravo.
    let mut again = five();
    again.reverse();
    again[3] = fixtures::nb("r2", "bravo", "STOPPING");
    app.sweep(again, NOW + 1_000);
    assert_eq!(marked(&app), ["bravo", "delta"]);
    // delta is gone (two complete sweeps without it): it leaves the marks.
    let without: Vec<Notebook> = five()
        .into_iter()
        .filter(|n| n.name_str() != "delta")
        .collect();
    app.sweep(without.clone(), NOW + 2_000);
    app.sweep(without.clone(), NOW + 3_000);
    assert!(app.get(&k("s1")).is_none(), "gone");
    assert_eq!(marked(&app), ["bravo"]);
    // Were it to come back, it would not be marked again.
    app.sweep(five(), NOW + 4_000);
    assert_eq!(marked(&app), ["bravo"]);
}

#[test]
fn star_marks_every_row_shown_after_the_filters() {
    let mut app = app();
    chr(&mut app, '/');
    for c in "ha".chars() {
        chr(&mut app, c);
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.shown(), 2, "alpha and charlie");
    chr(&mut app, '*');
    assert_eq!(marked(&app), ["alpha", "charlie"]);
    assert_eq!(
        app.flash(NOW),
        Some("marked 2 more · 2 marked · Esc clears")
    );
}

#[test]
fn esc_clears_the_marks_first_then_the_filters() {
    let mut app = app();
    chr(&mut app, '!');
    assert!(app.filter().is_active());
    chr(&mut app, '*');
    assert_eq!(marked(&app), ["echo"]);
    key(&mut app, KeyCode::Esc);
    assert!(marked(&app).is_empty());
    assert!(
        app.filter().is_active(),
        "the first Esc only clears the marks"
    );
    assert_eq!(app.flash(NOW), Some("1 marks cleared"));
    key(&mut app, KeyCode::Esc);
    assert!(!app.filter().is_active(), "the second clears the filters");
}

#[test]
fn one_confirmation_counts_names_and_says_what_is_skipped_and_why() {
    let mut app = app();
    mark(&mut app, &["alpha", "bravo", "charlie", "delta", "echo"]);
    let hints: Vec<&str> = app.key_hints().into_iter().map(|(_, w)| w).collect();
    for w in ["start", "stop", "extend", "delete"] {
        assert!(hints.contains(&w), "{w}: some marked instance takes it");
    }
    assert!(
        chr(&mut app, 'X').is_empty(),
        "nothing sent before confirming"
    );
    let c = confirm(&app);
    assert_eq!(question(&c), "Stop 3 instances?");
    let many = c.many.clone().expect("a bulk confirmation");
    assert_eq!(many.names(), "alpha, bravo, charlie");
    assert_eq!(
        many.line(Verb::Stop),
        "stop 3 · 2 skipped: not RUNNING or ERROR"
    );
    assert_eq!(many.hidden, 0);
    // Cancelled: nothing sent, an audit line for each.
    let effects = key(&mut app, KeyCode::Esc);
    assert_eq!(effects.len(), 3);
    assert!(effects.iter().all(|e| matches!(
        e,
        Effect::NotSent {
            why: "cancelled",
            ..
        }
    )));
    assert_eq!(
        app.flash(NOW),
        Some("stop of 3 instances cancelled: nothing sent")
    );
    assert_eq!(marked(&app).len(), 5, "the marks stay");

    // Start skips the running and the frozen.
    chr(&mut app, 'S');
    let many = confirm(&app).many.expect("bulk");
    assert_eq!(
        many.line(Verb::Start),
        "start 1 · 4 skipped: not STOPPED or START_FAILED"
    );
    key(&mut app, KeyCode::Esc);

    // More than four are named as "and N more"; those hidden by the filters are said.
    let mut big = alike(7, "n", "RUNNING");
    chr(&mut big, '*');
    chr(&mut big, '/');
    chr(&mut big, '6'); // n06 only
    key(&mut big, KeyCode::Enter);
    chr(&mut big, 'X');
    let many = confirm(&big).many.expect("bulk");
    assert_eq!(many.names(), "n00, n01, n02, n03 and 3 more");
    assert_eq!(many.hidden, 6);
}

#[test]
fn nothing_to_do_says_why_and_asks_nothing() {
    let mut app = app();
    mark(&mut app, &["delta", "echo"]);
    assert!(chr(&mut app, 'X').is_empty());
    assert_eq!(app.mode(), &Mode::Table);
    let n = app.action_notice(NOW).expect("says why");
    assert!(n.error);
    assert_eq!(
        n.text,
        "nothing to stop among the 2 marked · 2 skipped: not RUNNING or ERROR"
    );
}

#[test]
fn deleting_several_asks_to_type_their_number() {
    let mut app = alike(12, "old-", "STOPPED");
    chr(&mut app, '*');
    chr(&mut app, 'D');
    assert_eq!(app.mode().kind(), ModeKind::ConfirmTyped);
    assert_eq!(
        question(&confirm(&app)),
        "Delete 12 instances? This cannot be undone."
    );
    assert!(
        key(&mut app, KeyCode::Enter).is_empty(),
        "nothing typed yet"
    );
    assert_eq!(
        app.notice(NOW).map(|n| n.text.as_str()),
        Some("type 12 exactly to delete them, or Esc to cancel")
    );
    chr(&mut app, '1');
    chr(&mut app, '3');
    assert!(key(&mut app, KeyCode::Enter).is_empty(), "13 is not 12");
    key(&mut app, KeyCode::Backspace);
    chr(&mut app, '2');
    let effects = key(&mut app, KeyCode::Enter);
    let [Effect::ActMany(reqs)] = &effects[..] else {
        panic!("one bulk effect: {effects:?}");
    };
    assert_eq!(reqs.len(), 12);
    assert!(reqs.iter().all(|r| r.verb == Verb::Delete));
}

#[test]
fn each_answer_updates_its_row_and_one_summary_line_ends_it() {
    let mut app = app();
    mark(&mut app, &["alpha", "bravo", "charlie", "delta"]);
    chr(&mut app, 'X');
    let effects = key(&mut app, KeyCode::Enter);
    let [Effect::ActMany(reqs)] = &effects[..] else {
        panic!("one bulk effect: {effects:?}");
    };
    let ids: Vec<&str> = reqs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        ["r1", "r2", "r3"],
        "in table order, the stopped one skipped"
    );
    assert!(
        reqs.iter()
            .all(|r| r.verb == Verb::Stop && r.duration_ms.is_none())
    );
    for id in ["r1", "r2", "r3"] {
        assert_eq!(app.pending(&k(id)).map(|p| p.verb), Some(Verb::Stop));
        assert_eq!(app.outcome(&k(id)), Some(&Outcome::Pending));
    }
    assert!(app.bulk_running());
    assert_eq!(app.action_notice(NOW).unwrap().text, "stop: 3 requested…");
    assert!(
        !app.key_hints().iter().any(|(_, w)| *w == "stop"),
        "not offered twice while pending"
    );

    app.apply_action(
        answered(
            "r2",
            Verb::Stop,
            Ok(fixtures::nb("r2", "bravo", "STOPPING")),
        ),
        NOW + 1,
    );
    assert_eq!(app.get(&k("r2")).unwrap().status, Status::Stopping);
    assert!(app.pending(&k("r2")).is_none());
    assert_eq!(app.outcome(&k("r2")), Some(&Outcome::Accepted));
    assert_eq!(app.outcome(&k("r1")), Some(&Outcome::Pending));
    assert_eq!(
        app.action_notice(NOW + 1).unwrap().text,
        "stop: 1 of 3 answered…"
    );
    app.apply_action(
        answered(
            "r1",
            Verb::Stop,
            Err("6326: the account is in arrears, the instance is frozen"),
        ),
        NOW + 2,
    );
    assert_eq!(
        app.outcome(&k("r1")),
        Some(&Outcome::Failed(
            "6326: the account is in arrears, the instance is frozen".into()
        ))
    );
    assert!(app.bulk_running());
    app.apply_action(
        answered(
            "r3",
            Verb::Stop,
            Ok(fixtures::nb("r3", "charlie", "STOPPING")),
        ),
        NOW + 3,
    );
    assert!(!app.bulk_running(), "every answer is in");
    let n = app.action_notice(NOW + 3).unwrap();
    assert!(n.error, "one failed");
    assert_eq!(
        n.text,
        "stop accepted for 2 · 1 failed: alpha: 6326: the account is in arrears, the instance is frozen · 1 skipped: not RUNNING or ERROR"
    );
    assert!((0..3).all(|i| app.pending(&k(["r1", "r2", "r3"][i])).is_none()));
    // The outcomes stay on the rows until the marks are cleared.
    assert!(app.marks_shown());
    key(&mut app, KeyCode::Esc);
    assert!(!app.marks_shown());
    assert_eq!(app.outcome(&k("r2")), None);
}

#[test]
fn the_full_screen_detail_acts_on_the_instance_it_shows() {
    let mut app = app();
    mark(&mut app, &["alpha", "bravo"]);
    select(&mut app, "charlie");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), &Mode::Detail);
    chr(&mut app, 'X');
    let c = confirm(&app);
    assert!(c.many.is_none());
    assert_eq!(question(&c), "Stop charlie?");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.mode(), &Mode::Detail);
    assert_eq!(marked(&app), ["alpha", "bravo"]);
}

#[test]
fn read_only_refuses_a_bulk_action_too() {
    let mut app = app();
    app.set_read_only(true);
    mark(&mut app, &["alpha", "bravo"]);
    let effects = chr(&mut app, 'X');
    assert!(
        matches!(&effects[..], [
            Effect::NotSent { id: a, why: "refused: read-only", .. },
            Effect::NotSent { id: b, .. },
        ] if a == "r1" && b == "r2"),
        "{effects:?}"
    );
    assert_eq!(app.mode(), &Mode::Table);
}
