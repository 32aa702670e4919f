//! The hot tier's news in the state model: what a user sees after a hot read,
//! a ShowNotebook answer, and a sweep page that arrives with older news.

use super::fixtures::{NOW, k, nb};
use super::*;

/// Two instances, one complete sweep at `NOW`.
fn app() -> App {
    let mut app = App::new(super::fixtures::timing());
    app.started(crate::track::SourceId(0), NOW - 100);
    app.page(
        crate::track::SourceId(0),
        vec![nb("a", "alpha", "RUNNING"), nb("b", "beta", "STOPPING")],
        SweepProgress {
            loaded: 2,
            total: Some(2),
        },
        NOW,
    );
    app.sweep_end(crate::track::SourceId(0), true, NOW);
    app
}

fn status(app: &App, key: &str) -> Option<String> {
    app.get(&k(key)).map(|t| t.status.as_str().to_string())
}

#[test]
fn a_hot_read_moves_an_instance_and_logs_the_transition() {
    let mut app = app();
    app.hot(
        crate::track::SourceId(0),
        vec![(NOW + 2_000, vec![nb("a", "alpha", "STOPPING")])],
        vec![],
        None,
        NOW + 2_050,
    );
    assert_eq!(status(&app, "a").as_deref(), Some("STOPPING"));
    let t = app.get(&k("a")).unwrap();
    assert_eq!(t.confirmed_ms, NOW + 2_000);
    assert_eq!(t.transitions.last().map(|t| t.at_ms), Some(NOW + 2_000));
    let ev = app.events().back().unwrap();
    assert_eq!(
        ev.kind,
        EventKind::Changed {
            from: Status::Running,
            to: Status::Stopping
        }
    );
    assert_eq!(app.poll().last_hot_ms, Some(NOW + 2_050));
}

#[test]
fn an_instance_missing_from_a_hot_read_stays_until_shownotebook_says_gone() {
    let mut app = app();
    // A read that does not hold `b` says nothing about it.
    app.hot(
        crate::track::SourceId(0),
        vec![(NOW + 2_000, vec![nb("a", "alpha", "RUNNING")])],
        vec![],
        None,
        NOW + 2_000,
    );
    assert_eq!(status(&app, "b").as_deref(), Some("STOPPING"));
    assert_eq!(app.total(), 2);
    // ShowNotebook: 404 / ModelArts.6309.
    app.hot(
        crate::track::SourceId(0),
        vec![],
        vec![("b".into(), NOW + 4_000)],
        None,
        NOW + 4_000,
    );
    assert!(app.get(&k("b")).is_none());
    let ev = app.events().back().unwrap();
    assert_eq!(ev.key, k("b"));
    assert_eq!(
        ev.kind,
        EventKind::Gone {
            last: Status::Stopping
        }
    );
    assert_eq!(ev.at_ms, NOW + 4_000);
}

#[test]
fn a_sweep_page_older_than_the_hot_news_does_not_put_the_old_status_back() {
    let mut app = app();
    app.started(crate::track::SourceId(0), NOW + 1_000);
    app.hot(
        crate::track::SourceId(0),
        vec![(NOW + 3_000, vec![nb("b", "beta", "STOPPED")])],
        vec![],
        None,
        NOW + 3_000,
    );
    // A page read at NOW + 2,500, handed on after the hot news.
    app.page(
        crate::track::SourceId(0),
        vec![nb("a", "alpha", "RUNNING"), nb("b", "beta", "STOPPING")],
        SweepProgress {
            loaded: 2,
            total: Some(2),
        },
        NOW + 2_500,
    );
    assert_eq!(status(&app, "b").as_deref(), Some("STOPPED"));
    let changes = app
        .events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Changed { .. }))
        .count();
    assert_eq!(
        changes, 1,
        "STOPPING → STOPPED only, nothing back and forth"
    );
    // A page read after it is news again.
    app.page(
        crate::track::SourceId(0),
        vec![nb("b", "beta", "STARTING")],
        SweepProgress {
            loaded: 1,
            total: Some(2),
        },
        NOW + 3_500,
    );
    assert_eq!(status(&app, "b").as_deref(), Some("STARTING"));
}

#[test]
fn an_instance_the_hot_tier_confirmed_during_a_sweep_is_not_missed_by_it() {
    let mut app = app();
    for k in 0..2 {
        let start = NOW + 10_000 * (k + 1);
        app.started(crate::track::SourceId(0), start);
        // The hot tier sees `b` while the sweep runs; the sweep's pages do not.
        app.hot(
            crate::track::SourceId(0),
            vec![(start + 500, vec![nb("b", "beta", "STOPPING")])],
            vec![],
            None,
            start + 500,
        );
        app.page(
            crate::track::SourceId(0),
            vec![nb("a", "alpha", "RUNNING")],
            SweepProgress {
                loaded: 1,
                total: Some(1),
            },
            start + 1_000,
        );
        app.sweep_end(crate::track::SourceId(0), true, start + 1_000);
    }
    assert!(app.get(&k("b")).is_some(), "confirmed alive: not gone");
    assert!(
        !app.events()
            .iter()
            .any(|e| matches!(e.kind, EventKind::Gone { .. }))
    );
}

#[test]
fn a_new_instance_from_a_hot_read_is_announced_after_a_complete_sweep() {
    let mut app = app();
    app.hot(
        crate::track::SourceId(0),
        vec![(NOW + 2_000, vec![nb("c", "gamma", "INIT")])],
        vec![],
        None,
        NOW + 2_000,
    );
    assert_eq!(status(&app, "c").as_deref(), Some("INIT"));
    assert_eq!(
        app.events().back().map(|e| &e.kind),
        Some(&EventKind::Appeared(Status::Init))
    );
}

#[test]
fn a_row_unconfirmed_for_longer_than_the_sweep_period_says_so() {
    let mut app = app();
    app.hot(
        crate::track::SourceId(0),
        vec![(NOW + 30_000, vec![nb("a", "alpha", "RUNNING")])],
        vec![],
        None,
        NOW + 30_000,
    );
    // The pace the poller reports (after the tick, whose stats said none).
    app.record_pace(
        crate::track::SourceId(0),
        Pace {
            budget: Some(Duration::from_secs(42)),
            hot: Some(Duration::from_secs(2)),
            ..Pace::default()
        },
    );
    // The sweep's period (42 s) and half again: 63 s.
    assert_eq!(app.poll().unconfirmed_after_ms(), 63_000);
    let at = NOW + 63_001;
    let a = app.get(&k("a")).unwrap();
    let b = app.get(&k("b")).unwrap();
    assert!(!app.is_unconfirmed(a, at), "confirmed 33 s ago");
    assert!(app.is_unconfirmed(b, at), "63.001 s ago");
    assert!(!app.is_unconfirmed(b, NOW + 63_000));
    // Before any complete sweep nothing is flagged.
    let fresh = App::new(super::fixtures::timing());
    let mut strings = super::row::Interner::default();
    let t = Tracked::new(k("x"), &nb("x", "x", "RUNNING"), NOW, false, &mut strings);
    assert!(!fresh.is_unconfirmed(&t, NOW + 3_600_000));
}

#[test]
fn a_deleted_instance_a_complete_sweep_lacks_is_gone_however_recently_the_hot_tier_saw_it() {
    let mut app = app();
    let start = NOW + 10_000;
    app.started(crate::track::SourceId(0), start);
    // The hot tier saw `b` DELETED early in the sweep; the service then forgot it,
    // before the sweep read its page.
    app.hot(
        crate::track::SourceId(0),
        vec![(start + 500, vec![nb("b", "beta", "DELETED")])],
        vec![],
        None,
        start + 500,
    );
    app.page(
        crate::track::SourceId(0),
        vec![nb("a", "alpha", "RUNNING")],
        SweepProgress {
            loaded: 1,
            total: Some(1),
        },
        start + 1_000,
    );
    app.sweep_end(crate::track::SourceId(0), true, start + 1_000);
    assert!(app.get(&k("b")).is_none());
    assert_eq!(
        app.events().back().map(|e| (e.key.id(), &e.kind)),
        Some((
            "b",
            &EventKind::Gone {
                last: Status::Deleted
            }
        ))
    );
}
