//! The marks on screen: the mark column and the title's count, the bulk
//! confirmation with its skips, each row's outcome and the summary line.

use super::*;
use crate::api::actions::{Acted, Answer, Verb};
use crate::app::ActionEvent;

/// The table line of instance `name`.
fn row_of(screen: &str, name: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains(name))
        .unwrap_or_default()
        .to_string()
}

/// Marks the three running instances at the top of the fixtures' name order.
fn marked() -> App {
    let mut app = loaded();
    for name in [
        "codelab-free",
        "ds-exploration",
        "quick-test",
        "data-prep-01",
    ] {
        select(&mut app, name);
        key(&mut app, ' ');
    }
    app
}

#[test]
fn the_mark_column_and_the_count_in_the_title_120x40() {
    let v = View::new(NOW);
    let mut app = loaded();
    let plain = text(v.render(&mut app, 120, 40).backend().buffer());
    assert!(!plain.contains("marked"), "no marks, no count");
    let mut app = marked();
    let term = v.render(&mut app, 120, 40);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("Notebooks 13/13 · 4 marked"), "{screen}");
    for name in [
        "codelab-free",
        "ds-exploration",
        "quick-test",
        "data-prep-01",
    ] {
        assert!(
            row_of(&screen, name).contains("■ "),
            "{name} marked:\n{screen}"
        );
    }
    assert!(!row_of(&screen, "train-bert-large").contains('■'));
    assert_eq!(
        fg_at(term.backend().buffer(), "■"),
        Theme::colored().accent.fg.unwrap_or(Color::Reset)
    );
    snap("marks_column_120x40", &term);
}

#[test]
fn the_bulk_confirmation_counts_names_and_skips_80x24() {
    let v = View::new(NOW);
    let mut app = marked();
    key(&mut app, 'X');
    let term = v.render(&mut app, 80, 24);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("Stop 3 instances?"), "{screen}");
    assert!(
        screen.contains("codelab-free, ds-exploration, quick-test"),
        "{screen}"
    );
    assert!(
        screen.contains("stop 3 · 1 skipped: not RUNNING or ERROR"),
        "{screen}"
    );
    snap("marks_confirm_stop_80x24", &term);
}

#[test]
fn each_row_shows_its_outcome_and_the_summary_ends_it_120x40() {
    let v = View::new(NOW);
    let mut app = marked();
    key(&mut app, 'X');
    press(&mut app, KeyCode::Enter);
    let screen = text(v.render(&mut app, 120, 40).backend().buffer());
    for name in ["codelab-free", "ds-exploration", "quick-test"] {
        let row = row_of(&screen, name);
        assert!(
            row.contains("⧗ ") && row.contains("⧗ pending stop"),
            "{row}"
        );
    }
    assert!(screen.contains("stop: 3 requested…"), "{screen}");
    let keys: Vec<(String, crate::track::InstanceKey)> = app
        .instances()
        .iter()
        .map(|t| (t.name().to_string(), t.key.clone()))
        .collect();
    let id = |name: &str| {
        keys.iter()
            .find(|(n, _)| n == name)
            .map(|(_, k)| k.clone())
            .expect("in the fixture")
    };
    for name in ["codelab-free", "ds-exploration"] {
        let mut nb = fixtures::nb(id(name).id(), name, "STOPPING");
        nb.update_at = Some(NOW + 1);
        app.apply_action(
            ActionEvent::Answered {
                key: id(name),
                verb: Verb::Stop,
                result: Ok(Acted {
                    answer: Answer::Instance(Box::new(nb)),
                    request_id: None,
                }),
            },
            NOW,
        );
    }
    app.apply_action(
        ActionEvent::Answered {
            key: id("quick-test"),
            verb: Verb::Stop,
            result: Err("6357: another operation on the instance is in progress".into()),
        },
        NOW,
    );
    let term = v.render(&mut app, 120, 40);
    let buf = term.backend().buffer();
    let screen = text(buf);
    assert!(row_of(&screen, "codelab-free").contains("✓ "), "{screen}");
    assert!(
        row_of(&screen, "codelab-free").contains("STOPPING"),
        "{screen}"
    );
    assert!(row_of(&screen, "quick-test").contains("✗ "), "{screen}");
    // The whole line is the notice; at 120 columns its tail is cut.
    assert_eq!(
        app.notice(NOW).map(|n| n.text.as_str()),
        Some(
            "stop accepted for 2 · 1 failed: quick-test: 6357: another operation on the instance is in progress · 1 skipped: not RUNNING or ERROR"
        )
    );
    assert!(
        screen.contains("stop accepted for 2 · 1 failed: quick-test: 6357: another operation"),
        "{screen}"
    );
    assert_eq!(
        fg_at(buf, "✓"),
        Theme::colored().ok.fg.unwrap_or(Color::Reset)
    );
    assert_eq!(
        fg_at(buf, "✗ "),
        Theme::colored().error.fg.unwrap_or(Color::Reset)
    );
    snap("marks_outcomes_120x40", &term);
}

#[test]
fn deleting_several_asks_for_their_number_80x24() {
    let v = View::new(NOW);
    let mut app = loaded();
    for name in ["data-prep-01", "llm-finetune-a100"] {
        select(&mut app, name);
        key(&mut app, ' ');
    }
    key(&mut app, 'D');
    key(&mut app, '2');
    let term = v.render(&mut app, 80, 24);
    let screen = text(term.backend().buffer());
    assert!(
        screen.contains("Delete 2 instances? This cannot be undone."),
        "{screen}"
    );
    assert!(screen.contains("Type 2 (how many) to confirm:"), "{screen}");
    assert!(screen.contains("> 2"), "{screen}");
    snap("marks_confirm_delete_80x24", &term);
}
