use crossterm::event::KeyCode;

use super::*;
use crate::api::model::{Lease, Status};
use crate::app::fixtures::k;
use crate::app::fixtures::{self, HOUR, NOW, chr, key, select};

fn app() -> App {
    let mut app = App::new(fixtures::timing());
    app.sweep(
        vec![
            fixtures::nb("run-1", "alpha-running", "RUNNING"),
            fixtures::nb("stop-1", "beta-stopped", "STOPPED"),
            fixtures::nb("frz-1", "gamma-frozen", "FROZEN"),
        ],
        NOW,
    );
    app
}

fn hint_words(app: &App) -> Vec<&'static str> {
    app.key_hints().into_iter().map(|(_, w)| w).collect()
}

#[test]
fn only_the_actions_that_make_sense_for_the_status_are_offered() {
    let mut app = app();
    select(&mut app, "alpha-running");
    let h = hint_words(&app);
    assert!(h.contains(&"stop") && h.contains(&"extend"), "{h:?}");
    assert!(!h.contains(&"start") && !h.contains(&"delete"), "{h:?}");
    select(&mut app, "beta-stopped");
    let h = hint_words(&app);
    assert!(h.contains(&"start") && h.contains(&"delete"), "{h:?}");
    assert!(!h.contains(&"stop") && !h.contains(&"extend"), "{h:?}");
    select(&mut app, "gamma-frozen");
    let h = hint_words(&app);
    for w in ["start", "stop", "extend", "delete"] {
        assert!(!h.contains(&w), "{w} offered for a frozen instance");
    }
    // Pressing one anyway explains instead of asking.
    assert!(chr(&mut app, 'S').is_empty());
    assert_eq!(app.mode(), &Mode::Table);
    assert_eq!(
        app.action_notice(NOW).map(|n| n.text.as_str()),
        Some("cannot start gamma-frozen: it is FROZEN")
    );
}

#[test]
fn stop_asks_naming_the_instance_and_a_cancel_sends_nothing() {
    let mut app = app();
    select(&mut app, "alpha-running");
    assert!(
        chr(&mut app, 'X').is_empty(),
        "nothing is sent before confirming"
    );
    let Mode::Confirm(c) = app.mode().clone() else {
        panic!("a confirmation");
    };
    assert_eq!(question(&c), "Stop alpha-running?");
    assert_eq!(
        key(&mut app, KeyCode::Esc),
        vec![Effect::NotSent {
            verb: Verb::Stop,
            id: "run-1".into(),
            why: "cancelled",
        }],
        "nothing sent; only the audit line"
    );
    assert_eq!(app.mode(), &Mode::Table);
    assert_eq!(
        app.flash(NOW),
        Some("stop of alpha-running cancelled: nothing sent")
    );
    assert!(app.pending(&k("run-1")).is_none());

    chr(&mut app, 'X');
    let effects = key(&mut app, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![Effect::Act(ActionRequest {
            key: k("run-1"),
            id: "run-1".into(),
            name: "alpha-running".into(),
            verb: Verb::Stop,
            duration_ms: None,
        })]
    );
    assert_eq!(app.pending(&k("run-1")).map(|p| p.verb), Some(Verb::Stop));
    assert!(!hint_words(&app).contains(&"stop"), "not offered twice");
}

#[test]
fn extend_offers_durations_and_sends_the_chosen_one() {
    let mut app = app();
    select(&mut app, "alpha-running");
    chr(&mut app, 'E');
    assert!(hint_words(&app).contains(&"longer"));
    key(&mut app, KeyCode::Right);
    key(&mut app, KeyCode::Right);
    let Mode::Confirm(c) = app.mode().clone() else {
        panic!("a confirmation");
    };
    assert_eq!(c.duration_ms(), Some(4 * HOUR));
    for _ in 0..9 {
        key(&mut app, KeyCode::Right);
    }
    key(&mut app, KeyCode::Left);
    let effects = chr(&mut app, 'y');
    assert!(
        matches!(&effects[..], [Effect::Act(r)] if r.duration_ms == Some(8 * HOUR)),
        "{effects:?}"
    );
}

#[test]
fn delete_needs_the_name_typed_exactly() {
    let mut app = app();
    select(&mut app, "beta-stopped");
    chr(&mut app, 'D');
    assert_eq!(app.mode().kind(), crate::app::ModeKind::ConfirmTyped);
    for c in "beta-stoppe".chars() {
        chr(&mut app, c);
    }
    assert!(key(&mut app, KeyCode::Enter).is_empty(), "not the name yet");
    assert!(matches!(app.mode(), Mode::Confirm(_)));
    // 'q' and 'y' are text here, not quit or yes.
    chr(&mut app, 'q');
    key(&mut app, KeyCode::Backspace);
    chr(&mut app, 'd');
    let effects = key(&mut app, KeyCode::Enter);
    assert!(
        matches!(&effects[..], [Effect::Act(r)] if r.verb == Verb::Delete && r.id == "stop-1"),
        "{effects:?}"
    );
}

#[test]
fn read_only_hides_and_refuses_every_action() {
    let mut app = app();
    app.set_read_only(true);
    select(&mut app, "alpha-running");
    let h = hint_words(&app);
    for w in ["start", "stop", "extend", "delete"] {
        assert!(!h.contains(&w), "{w} shown in read-only mode");
    }
    for c in ['S', 'X', 'E', 'D'] {
        let effects = chr(&mut app, c);
        assert!(
            matches!(
                &effects[..],
                [Effect::NotSent {
                    why: "refused: read-only",
                    ..
                }]
            ),
            "{effects:?}"
        );
        assert_eq!(app.mode(), &Mode::Table);
    }
    let n = app.action_notice(NOW).expect("says why");
    assert!(
        n.error && n.text.starts_with("read-only: delete refused"),
        "{n:?}"
    );
}

#[test]
fn the_outcome_updates_the_row_and_clears_pending_when_settled() {
    let mut app = app();
    select(&mut app, "alpha-running");
    chr(&mut app, 'X');
    key(&mut app, KeyCode::Enter);
    let mut stopping = fixtures::nb("run-1", "alpha-running", "STOPPING");
    stopping.update_at = Some(NOW + 1);
    app.apply_action(
        ActionEvent::Answered {
            key: k("run-1"),
            verb: Verb::Stop,
            result: Ok(Acted {
                answer: Answer::Instance(Box::new(stopping)),
                request_id: Some("rid-7".into()),
            }),
        },
        NOW + 1,
    );
    assert_eq!(app.get(&k("run-1")).unwrap().status, Status::Stopping);
    assert!(
        app.pending(&k("run-1")).is_some(),
        "pending until the service confirms"
    );
    let n = app.action_notice(NOW + 1).unwrap();
    assert_eq!(
        n.text,
        "alpha-running: stop accepted, now STOPPING · request id rid-7"
    );
    app.apply_action(
        ActionEvent::Seen {
            key: k("run-1"),
            notebook: Some(Box::new(fixtures::nb("run-1", "alpha-running", "STOPPED"))),
        },
        NOW + 2,
    );
    app.apply_action(
        ActionEvent::Settled {
            key: k("run-1"),
            verb: Verb::Stop,
            progress: Progress::Reached,
            status: "STOPPED".into(),
        },
        NOW + 2,
    );
    assert!(app.pending(&k("run-1")).is_none());
    assert_eq!(app.get(&k("run-1")).unwrap().status, Status::Stopped);
    assert_eq!(
        app.action_notice(NOW + 2).unwrap().text,
        "alpha-running: stop done, STOPPED"
    );
    assert!(app.action_notice(NOW + 2 + NOTICE_MS).is_none(), "it fades");
}

#[test]
fn a_refusal_and_a_new_lease_are_shown_where_the_user_looks() {
    let mut app = app();
    select(&mut app, "alpha-running");
    chr(&mut app, 'E');
    key(&mut app, KeyCode::Enter);
    app.apply_action(
        ActionEvent::Answered {
            key: k("run-1"),
            verb: Verb::Extend,
            result: Ok(Acted {
                answer: Answer::Lease(Lease {
                    create_at: Some(NOW),
                    duration: Some(HOUR),
                    enable: Some(true),
                    ..Default::default()
                }),
                request_id: None,
            }),
        },
        NOW,
    );
    assert_eq!(
        app.get(&k("run-1")).unwrap().row.lease_end_ms(),
        Some(NOW + HOUR)
    );
    assert_eq!(
        app.action_notice(NOW).unwrap().text,
        "alpha-running: auto-stop extended, stops in 1h00m"
    );
    app.apply_action(
        ActionEvent::Answered {
            key: k("run-1"),
            verb: Verb::Stop,
            result: Err(
                "6326: the account is in arrears, the instance is frozen · request id r1".into(),
            ),
        },
        NOW + 5,
    );
    let n = app.action_notice(NOW + 5).unwrap();
    assert!(n.error);
    assert_eq!(
        n.text,
        "alpha-running: stop failed: 6326: the account is in arrears, the instance is frozen · request id r1"
    );
    assert!(app.pending(&k("run-1")).is_none());
}
