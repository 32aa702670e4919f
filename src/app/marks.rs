//! Marks: instances the user picked (`Space`, `*`), kept by instance key like
//! the selection, so a refresh or a re-sort never moves them to another
//! instance; an instance that is gone leaves the set. While marks exist, the
//! action keys in the table act on every marked instance:
//!
//! ```text
//!  X ─► ask_many: skip what the service would refuse (Verb::skip_reason),
//!       one confirmation: "stop 12 · 3 skipped: not RUNNING or ERROR"
//!  Enter ─► Effect::ActMany(requests) ─► act::spawn_many (bounded, each sent once)
//!  ActionEvent::Answered, one per request ─► the row's outcome (✓ / ✗), and
//!       once all are in, one summary line: "stop accepted for 11 · 1 failed: …"
//! ```
//!
//! A bulk action is not followed instance by instance (that would send a
//! ShowNotebook per instance every few seconds): once every answer is in, the
//! pollers refresh, and the hot tier follows the rows that are changing.

use std::collections::{HashMap, HashSet};

use crate::api::actions::Verb;
use crate::track::InstanceKey;

use super::actions::{ActionRequest, Confirm, Many, Target, skipped_words};
use super::{App, Effect, Mode};

/// What became of a marked instance in the latest bulk action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Sent (or waiting for its turn within the budget), not answered yet.
    Pending,
    Accepted,
    /// Refused or failed, with the reason.
    Failed(String),
}

/// The bulk action in flight: the answers still expected, and the tally.
#[derive(Debug, Clone)]
struct Run {
    verb: Verb,
    /// Key → name, for the summary (the instance may be gone by then).
    waiting: HashMap<InstanceKey, String>,
    accepted: usize,
    /// (name, reason) of each failure, in the order they came.
    failed: Vec<(String, String)>,
    skipped: Vec<(&'static str, usize)>,
}

/// The marked instances and the latest bulk action's outcomes.
#[derive(Debug, Clone, Default)]
pub struct Marks {
    keys: HashSet<InstanceKey>,
    outcomes: HashMap<InstanceKey, Outcome>,
    run: Option<Run>,
}

impl Marks {
    /// An instance that is gone leaves the set (its answer, if one is still
    /// expected, is still counted).
    pub(super) fn forget(&mut self, key: &InstanceKey) {
        self.keys.remove(key);
        self.outcomes.remove(key);
    }
}

/// Why a marked instance is left out of `verb`, if it is.
fn skip_reason(verb: Verb, t: &super::Tracked, pending: bool) -> Option<&'static str> {
    if pending {
        return Some("an action is still pending");
    }
    if let Some(why) = verb.skip_reason(&t.status) {
        return Some(why);
    }
    t.id().is_none().then_some("the service gave no id")
}

impl App {
    /// How many instances are marked.
    pub fn marked_count(&self) -> usize {
        self.marks.keys.len()
    }

    /// Whether instance `key` is marked.
    pub fn marked(&self, key: &InstanceKey) -> bool {
        !self.marks.keys.is_empty() && self.marks.keys.contains(key)
    }

    /// What the latest bulk action did to instance `key`.
    pub fn outcome(&self, key: &InstanceKey) -> Option<&Outcome> {
        if self.marks.outcomes.is_empty() {
            return None;
        }
        self.marks.outcomes.get(key)
    }

    /// Whether the table shows its mark column: something is marked, or a bulk
    /// action's outcomes are still on show.
    pub fn marks_shown(&self) -> bool {
        !self.marks.keys.is_empty() || !self.marks.outcomes.is_empty()
    }

    /// Whether a bulk action is waiting for answers.
    pub fn bulk_running(&self) -> bool {
        self.marks.run.is_some()
    }

    /// The action keys act on the marks: some exist and the table is in view
    /// (the full-screen detail acts on the instance it shows).
    pub(super) fn acting_on_marks(&self) -> bool {
        !self.marks.keys.is_empty() && matches!(self.mode, Mode::Table | Mode::Confirm(_))
    }

    /// Space: marks or unmarks the selected row, then moves down (marking a
    /// run of rows is a run of Spaces).
    pub(super) fn toggle_mark(&mut self) {
        let Some(key) = self.selected().map(|t| t.key.clone()) else {
            return;
        };
        if !self.marks.keys.remove(&key) {
            self.marks.keys.insert(key.clone());
        } else {
            self.marks.outcomes.remove(&key);
        }
        let last = self.view.len().saturating_sub(1);
        self.select_pos((self.cursor + 1).min(last));
    }

    /// `*`: marks every row the table shows (the filters decide which).
    pub(super) fn mark_shown(&mut self, now_ms: i64) {
        let before = self.marks.keys.len();
        for i in &self.view {
            self.marks
                .keys
                .insert(self.track.instances()[*i].key.clone());
        }
        let added = self.marks.keys.len() - before;
        self.flash_message(
            format!(
                "marked {added} more · {} marked · Esc clears",
                self.marks.keys.len()
            ),
            now_ms,
        );
    }

    /// Esc with marks: clears them (and the outcomes on show). Returns false
    /// when there was nothing to clear, so Esc goes on to clear the filters.
    pub(super) fn clear_marks(&mut self, now_ms: i64) -> bool {
        if !self.marks_shown() {
            return false;
        }
        let n = self.marks.keys.len();
        self.marks.keys.clear();
        self.marks.outcomes.clear();
        self.flash_message(format!("{n} marks cleared"), now_ms);
        true
    }

    /// The marked instances' ids, in table order (for the audit log).
    pub(super) fn marked_ids(&self) -> Vec<String> {
        self.order
            .iter()
            .map(|i| &self.track.instances()[*i])
            .filter(|t| self.marks.keys.contains(&t.key))
            .map(|t| t.id().unwrap_or_default().to_string())
            .collect()
    }

    /// Whether `verb` can go to at least one marked instance (the hint bar).
    pub(super) fn offered_to_marks(&self, verb: Verb) -> bool {
        self.marks.keys.iter().any(|k| {
            self.get(k)
                .is_some_and(|t| skip_reason(verb, t, self.pending(k).is_some()).is_none())
        })
    }

    /// The marked instances `verb` would go to, in table order, and those it skips.
    pub fn bulk_plan(&self, verb: Verb) -> Many {
        let mut many = Many {
            targets: Vec::new(),
            skipped: Vec::new(),
            hidden: 0,
        };
        for i in &self.order {
            let t = &self.track.instances()[*i];
            if !self.marks.keys.contains(&t.key) {
                continue;
            }
            match skip_reason(verb, t, self.pending(&t.key).is_some()) {
                Some(why) => match many.skipped.iter_mut().find(|(w, _)| *w == why) {
                    Some((_, n)) => *n += 1,
                    None => many.skipped.push((why, 1)),
                },
                None => {
                    if self.view_pos.get(*i).copied() == Some(super::NOT_IN_VIEW) {
                        many.hidden += 1;
                    }
                    many.targets.push(Target {
                        key: t.key.clone(),
                        id: t.id().unwrap_or_default().to_string(),
                        name: t.name().to_string(),
                    });
                }
            }
        }
        many
    }

    /// An action key while marks exist: one confirmation for all of them, or
    /// why there is nothing to do.
    pub(super) fn ask_many(&mut self, verb: Verb, now_ms: i64) -> Vec<Effect> {
        let many = self.bulk_plan(verb);
        let Some(first) = many.targets.first().cloned() else {
            self.notify(
                format!(
                    "nothing to {verb} among the {} marked{}",
                    self.marks.keys.len(),
                    skipped_words(&many.skipped)
                ),
                true,
                now_ms,
            );
            return Vec::new();
        };
        self.mode = Mode::Confirm(Confirm {
            key: first.key,
            id: first.id,
            name: first.name,
            verb,
            choice: 0,
            typed: String::new(),
            from_detail: false,
            many: Some(many),
        });
        Vec::new()
    }

    /// Enter on a bulk confirmation: every target pending, one request each.
    pub(super) fn send_many(&mut self, c: Confirm, many: Many, now_ms: i64) -> Vec<Effect> {
        let duration_ms = c.duration_ms();
        self.marks.outcomes.clear();
        let mut waiting = HashMap::new();
        let mut requests = Vec::with_capacity(many.targets.len());
        for t in many.targets {
            self.mark_pending(&t.key, c.verb, now_ms);
            self.marks.outcomes.insert(t.key.clone(), Outcome::Pending);
            waiting.insert(t.key.clone(), t.name.clone());
            requests.push(ActionRequest {
                key: t.key,
                id: t.id,
                name: t.name,
                verb: c.verb,
                duration_ms,
            });
        }
        let n = requests.len();
        self.marks.run = Some(Run {
            verb: c.verb,
            waiting,
            accepted: 0,
            failed: Vec::new(),
            skipped: many.skipped,
        });
        self.notify(format!("{}: {n} requested…", c.verb), false, now_ms);
        vec![Effect::ActMany(requests)]
    }

    /// Whether an answer for instance `key` belongs to the bulk action.
    pub(super) fn bulk_awaits(&self, key: &InstanceKey) -> bool {
        self.marks
            .run
            .as_ref()
            .is_some_and(|r| r.waiting.contains_key(key))
    }

    /// One answer of the bulk action (after the row took it): the row's
    /// outcome, then the progress, or the summary once every answer is in.
    pub(super) fn bulk_answered(
        &mut self,
        key: &InstanceKey,
        result: Result<(), String>,
        now_ms: i64,
    ) {
        self.clear_pending(key);
        let Some(run) = self.marks.run.as_mut() else {
            return;
        };
        let Some(name) = run.waiting.remove(key) else {
            return;
        };
        let outcome = match result {
            Ok(()) => {
                run.accepted += 1;
                Outcome::Accepted
            }
            Err(why) => {
                run.failed.push((name, why.clone()));
                Outcome::Failed(why)
            }
        };
        if self.marks.keys.contains(key) || self.get(key).is_some() {
            self.marks.outcomes.insert(key.clone(), outcome);
        }
        let (text, error) = match &self.marks.run {
            Some(run) if run.waiting.is_empty() => (summary(run), !run.failed.is_empty()),
            Some(run) => (
                format!(
                    "{}: {} of {} answered…",
                    run.verb,
                    run.accepted + run.failed.len(),
                    run.accepted + run.failed.len() + run.waiting.len()
                ),
                false,
            ),
            None => return,
        };
        if self
            .marks
            .run
            .as_ref()
            .is_some_and(|r| r.waiting.is_empty())
        {
            self.marks.run = None;
        }
        self.notify(text, error, now_ms);
    }
}

/// `stop accepted for 11 · 1 failed: gamma: 6326: … · 3 skipped: not RUNNING or ERROR`.
fn summary(run: &Run) -> String {
    let mut out = format!("{} accepted for {}", run.verb, run.accepted);
    match run.failed.as_slice() {
        [] => {}
        [(name, why)] => out.push_str(&format!(" · 1 failed: {name}: {why}")),
        [(name, why), rest @ ..] => out.push_str(&format!(
            " · {} failed ({name}: {why}; {} more marked ✗ in the table)",
            run.failed.len(),
            rest.len()
        )),
    }
    out.push_str(&skipped_words(&run.skipped));
    out
}
