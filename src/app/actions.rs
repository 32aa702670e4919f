//! Acting on the selected instance: which actions are offered, the
//! confirmation, the "pending" mark, and what the action task reports back.
//! The request itself is sent by a task outside the render loop (`crate::act`):
//! here keys become an [`Effect::Act`] and that task's messages become state.
//!
//! Why over 700 lines: ~470 lines of state for one feature (offer, confirm,
//! pending, outcome) that read best together, and their tests beside them.

use std::collections::HashMap;

use crate::api::actions::{Acted, Answer, DURATION_CHOICES_H, HOUR_MS, Progress, Verb};
use crate::api::model::Notebook;

use super::keys::{self, Action, Binding};
use super::{App, Effect, Mode};
use crate::track::InstanceKey;

/// How long an action's outcome stays in the status bar.
pub const NOTICE_MS: i64 = 20_000;

/// What the action task must do: act on one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRequest {
    /// The instance (its source's client sends it).
    pub key: InstanceKey,
    pub id: String,
    pub name: String,
    pub verb: Verb,
    /// For start and extend.
    pub duration_ms: Option<i64>,
}

/// The confirmation popup's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub key: InstanceKey,
    pub id: String,
    pub name: String,
    pub verb: Verb,
    /// Index into [`DURATION_CHOICES_H`] (start and extend).
    pub choice: usize,
    /// What the user typed (delete asks for the instance's name).
    pub typed: String,
    /// Where Esc returns to.
    pub from_detail: bool,
    /// Acting on the marked instances (see `marks.rs`): `key`, `id` and
    /// `name` are then the first of them.
    pub many: Option<Many>,
}

impl Confirm {
    pub fn duration_ms(&self) -> Option<i64> {
        self.verb.takes_duration().then(|| {
            DURATION_CHOICES_H
                .get(self.choice)
                .copied()
                .unwrap_or(1)
                .saturating_mul(HOUR_MS)
        })
    }

    /// Whether Enter goes ahead: a deletion needs the exact name typed (of
    /// several instances, their number).
    pub fn ready(&self) -> bool {
        self.verb != Verb::Delete || self.typed == self.to_type()
    }

    /// What a deletion asks to type: the name, or how many instances.
    pub fn to_type(&self) -> String {
        match &self.many {
            Some(m) => m.targets.len().to_string(),
            None => self.name.clone(),
        }
    }
}

/// An action sent and not yet confirmed by the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub verb: Verb,
    pub since_ms: i64,
}

/// What the action task reports.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionEvent {
    /// The service answered: accepted (with its answer) or refused (the error,
    /// described with code, meaning and request id).
    Answered {
        key: InstanceKey,
        verb: Verb,
        result: Result<Acted, String>,
    },
    /// While following: the instance as the service shows it now (`None`: gone).
    Seen {
        key: InstanceKey,
        notebook: Option<Box<Notebook>>,
    },
    /// Following is over: the instance reached the goal, or settled elsewhere.
    Settled {
        key: InstanceKey,
        verb: Verb,
        progress: Progress,
        status: String,
    },
    /// The action was accepted but following it failed.
    LostTrack {
        key: InstanceKey,
        verb: Verb,
        message: String,
    },
}

/// An action's outcome in the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
    pub at_ms: i64,
}

/// Pending actions, by instance key, and the last outcome.
#[derive(Debug, Clone, Default)]
pub struct ActionState {
    /// `--read-only` / `read_only = true`: actions hidden and refused.
    read_only: bool,
    pending: HashMap<InstanceKey, Pending>,
    notice: Option<Notice>,
}

impl App {
    /// Read-only: actions are hidden and refused.
    pub fn read_only(&self) -> bool {
        self.actions.read_only
    }

    pub fn set_read_only(&mut self, on: bool) {
        self.actions.read_only = on;
    }

    /// Whether `verb` is offered for the selected instance right now.
    pub fn offered(&self, verb: Verb) -> bool {
        if self.acting_on_marks() {
            return !self.read_only() && self.offered_to_marks(verb);
        }
        !self.read_only()
            && self.selected().is_some_and(|t| {
                verb.offered_for(&t.status) && !self.actions.pending.contains_key(&t.key)
            })
    }

    /// The hint bar: the mode's hints, with only the actions that make sense now.
    pub fn key_hints(&self) -> Vec<(String, &'static str)> {
        let duration = matches!(&self.mode, Mode::Confirm(c) if c.verb.takes_duration());
        keys::hints_where(self.mode.kind(), |b: &Binding| match b.action {
            Action::Act(v) => self.offered(v),
            Action::ConfirmLonger | Action::ConfirmShorter => duration,
            Action::OpenViews => !self.views().is_empty(),
            _ => true,
        })
    }

    /// The action pending on instance `key`, if any.
    pub fn pending(&self, key: &InstanceKey) -> Option<&Pending> {
        // Asked for every visible row of every frame: skip hashing while none is pending.
        if self.actions.pending.is_empty() {
            return None;
        }
        self.actions.pending.get(key)
    }

    /// The latest action outcome, while fresh.
    pub fn notice(&self, now_ms: i64) -> Option<&Notice> {
        self.actions
            .notice
            .as_ref()
            .filter(|n| now_ms >= n.at_ms && now_ms - n.at_ms < NOTICE_MS)
    }

    /// The outcome to show in the status bar: the latest notice, unless a
    /// flash message came after it.
    pub fn action_notice(&self, now_ms: i64) -> Option<&Notice> {
        let flash_at = self
            .flash
            .as_ref()
            .filter(|_| self.flash(now_ms).is_some())
            .map(|(_, at)| *at);
        self.notice(now_ms)
            .filter(|n| flash_at.is_none_or(|f| f < n.at_ms))
    }

    pub(super) fn notify(&mut self, text: impl Into<String>, error: bool, now_ms: i64) {
        self.actions.notice = Some(Notice {
            text: text.into(),
            error,
            at_ms: now_ms,
        });
    }

    /// A key asked for `verb` on the selected instance: confirm first, or say why not.
    pub(super) fn ask(&mut self, verb: Verb, now_ms: i64) -> Vec<Effect> {
        if self.read_only() {
            self.notify(
                format!(
                    "read-only: {verb} refused, nothing sent (started with --read-only or read_only = true)"
                ),
                true,
                now_ms,
            );
            let ids = if self.acting_on_marks() {
                self.marked_ids()
            } else {
                vec![
                    self.selected()
                        .and_then(|t| t.id())
                        .unwrap_or_default()
                        .to_string(),
                ]
            };
            return ids
                .into_iter()
                .map(|id| Effect::NotSent {
                    verb,
                    id,
                    why: "refused: read-only",
                })
                .collect();
        }
        if self.acting_on_marks() {
            return self.ask_many(verb, now_ms);
        }
        let Some(t) = self.selected() else {
            self.flash_message("no instance selected", now_ms);
            return Vec::new();
        };
        let (key, name, status) = (t.key.clone(), t.name().to_string(), t.status.clone());
        let id = t.id().map(str::to_string);
        if self.actions.pending.contains_key(&key) {
            self.notify(
                format!("{name}: an action is still pending, wait for it to finish"),
                true,
                now_ms,
            );
            return Vec::new();
        }
        if !verb.offered_for(&status) {
            self.notify(
                format!("cannot {verb} {name}: it is {status}"),
                true,
                now_ms,
            );
            return Vec::new();
        }
        let Some(id) = id else {
            self.notify(
                format!("cannot {verb} {name}: the service gave no id"),
                true,
                now_ms,
            );
            return Vec::new();
        };
        self.mode = Mode::Confirm(Confirm {
            key,
            id,
            name,
            verb,
            choice: 0,
            typed: String::new(),
            from_detail: matches!(self.mode, Mode::Detail),
            many: None,
        });
        Vec::new()
    }

    fn leave_confirm(&mut self) -> Option<Confirm> {
        let back = match &self.mode {
            Mode::Confirm(c) if c.from_detail => Mode::Detail,
            Mode::Confirm(_) => Mode::Table,
            _ => return None,
        };
        match std::mem::replace(&mut self.mode, back) {
            Mode::Confirm(c) => Some(c),
            _ => None,
        }
    }

    pub(super) fn confirm_yes(&mut self, now_ms: i64) -> Vec<Effect> {
        match &self.mode {
            Mode::Confirm(c) if !c.ready() => {
                let it = if c.many.is_some() { "them" } else { "it" };
                self.notify(
                    format!(
                        "type {} exactly to delete {it}, or Esc to cancel",
                        c.to_type()
                    ),
                    true,
                    now_ms,
                );
                return Vec::new();
            }
            Mode::Confirm(_) => {}
            _ => return Vec::new(),
        }
        let Some(mut c) = self.leave_confirm() else {
            return Vec::new();
        };
        if let Some(many) = c.many.take() {
            return self.send_many(c, many, now_ms);
        }
        let req = ActionRequest {
            duration_ms: c.duration_ms(),
            key: c.key,
            id: c.id,
            name: c.name,
            verb: c.verb,
        };
        self.mark_pending(&req.key, req.verb, now_ms);
        self.notify(
            format!("{}: {} requested…", req.name, req.verb),
            false,
            now_ms,
        );
        vec![Effect::Act(req)]
    }

    pub(super) fn confirm_no(&mut self, now_ms: i64) -> Vec<Effect> {
        let Some(c) = self.leave_confirm() else {
            return Vec::new();
        };
        if let Some(many) = c.many {
            self.flash_message(
                format!(
                    "{} of {} instances cancelled: nothing sent",
                    c.verb,
                    many.targets.len()
                ),
                now_ms,
            );
            return many
                .targets
                .into_iter()
                .map(|t| Effect::NotSent {
                    verb: c.verb,
                    id: t.id,
                    why: "cancelled",
                })
                .collect();
        }
        self.flash_message(
            format!("{} of {} cancelled: nothing sent", c.verb, c.name),
            now_ms,
        );
        vec![Effect::NotSent {
            verb: c.verb,
            id: c.id,
            why: "cancelled",
        }]
    }

    pub(super) fn confirm_step(&mut self, longer: bool) {
        if let Mode::Confirm(c) = &mut self.mode
            && c.verb.takes_duration()
        {
            let last = DURATION_CHOICES_H.len() - 1;
            c.choice = if longer {
                (c.choice + 1).min(last)
            } else {
                c.choice.saturating_sub(1)
            };
        }
    }

    pub(super) fn confirm_edit(&mut self, ch: Option<char>) {
        if let Mode::Confirm(c) = &mut self.mode {
            match ch {
                Some(ch) => c.typed.push(ch),
                None => {
                    c.typed.pop();
                }
            }
        }
    }

    /// An action is pending on instance `key` from `now_ms`.
    pub(super) fn mark_pending(&mut self, key: &InstanceKey, verb: Verb, now_ms: i64) {
        self.actions.pending.insert(
            key.clone(),
            Pending {
                verb,
                since_ms: now_ms,
            },
        );
    }

    pub(super) fn clear_pending(&mut self, key: &InstanceKey) {
        self.actions.pending.remove(key);
    }

    /// A message from the action task.
    pub fn apply_action(&mut self, ev: ActionEvent, now_ms: i64) {
        // An answer to a bulk action: the row takes it as below, then the
        // tally (see `marks.rs`) says it instead of one notice per answer.
        let bulk = match &ev {
            ActionEvent::Answered { key, result, .. } if self.bulk_awaits(key) => Some((
                key.clone(),
                result.as_ref().map(|_| ()).map_err(Clone::clone),
            )),
            _ => None,
        };
        self.apply_one(ev, now_ms);
        if let Some((key, result)) = bulk {
            self.bulk_answered(&key, result, now_ms);
        }
    }

    fn apply_one(&mut self, ev: ActionEvent, now_ms: i64) {
        match ev {
            ActionEvent::Answered { key, verb, result } => {
                let name = self.name_of(&key);
                match result {
                    Ok(acted) => {
                        let rid = acted
                            .request_id
                            .as_deref()
                            .map(|r| format!(" · request id {r}"))
                            .unwrap_or_default();
                        match acted.answer {
                            Answer::Instance(nb) => {
                                let status = nb.status_or_unknown();
                                self.notify(
                                    format!("{name}: {verb} accepted, now {status}{rid}"),
                                    false,
                                    now_ms,
                                );
                                self.apply_instance(&key, *nb, now_ms, false);
                            }
                            Answer::Lease(lease) => {
                                let until = lease
                                    .end_ms()
                                    .map(|end| {
                                        format!(
                                            ", stops in {}",
                                            crate::timefmt::human_duration_ms(end - now_ms)
                                        )
                                    })
                                    .unwrap_or_default();
                                self.notify(
                                    format!("{name}: auto-stop extended{until}{rid}"),
                                    false,
                                    now_ms,
                                );
                                let changes = self.track.take_lease(&key, lease, now_ms);
                                if changes.rows() {
                                    self.recompute(now_ms, &self.neighbour_places(), self.cursor);
                                }
                            }
                        }
                    }
                    Err(message) => {
                        self.actions.pending.remove(&key);
                        self.notify(format!("{name}: {verb} failed: {message}"), true, now_ms);
                    }
                }
            }
            ActionEvent::Seen { key, notebook } => {
                if let Some(nb) = notebook {
                    self.apply_instance(&key, *nb, now_ms, false);
                }
            }
            ActionEvent::Settled {
                key,
                verb,
                progress,
                status,
            } => {
                self.actions.pending.remove(&key);
                let name = self.name_of(&key);
                match progress {
                    // The answer already said when it stops now: keep that in view.
                    Progress::Reached if verb == Verb::Extend => {}
                    Progress::Reached => {
                        self.notify(format!("{name}: {verb} done, {status}"), false, now_ms)
                    }
                    _ => self.notify(
                        format!("{name}: {verb} did not finish: the instance is {status}"),
                        true,
                        now_ms,
                    ),
                }
            }
            ActionEvent::LostTrack { key, verb, message } => {
                self.actions.pending.remove(&key);
                let name = self.name_of(&key);
                self.notify(
                    format!("{name}: {verb} accepted, but following it failed: {message}"),
                    true,
                    now_ms,
                );
            }
        }
    }

    fn name_of(&self, key: &InstanceKey) -> String {
        self.get(key)
            .map(|t| t.name().to_string())
            .unwrap_or_else(|| key.to_string())
    }
}

/// The popup's wording, one home for the dashboard and the tests.
pub fn question(c: &Confirm) -> String {
    if let Some(m) = &c.many {
        let n = m.targets.len();
        let them = if n == 1 { "instance" } else { "instances" };
        return match c.verb {
            Verb::Start => format!("Start {n} {them}?"),
            Verb::Stop => format!("Stop {n} {them}?"),
            Verb::Extend => format!("Extend the auto-stop of {n} {them}?"),
            Verb::Delete => format!("Delete {n} {them}? This cannot be undone."),
        };
    }
    match c.verb {
        Verb::Start => format!("Start {}?", c.name),
        Verb::Stop => format!("Stop {}?", c.name),
        Verb::Extend => format!("Extend the auto-stop of {}?", c.name),
        Verb::Delete => format!("Delete {}? This cannot be undone.", c.name),
    }
}

/// `4h` for the chosen duration.
pub fn duration_label(ms: i64) -> String {
    crate::timefmt::written_ms(ms)
}

// ---- bulk actions: what their confirmation knows (the flow is in marks.rs) ----

/// How many marked instances a confirmation names before "and N more".
pub const NAMED: usize = 4;

/// One instance a bulk action will be sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub key: InstanceKey,
    pub id: String,
    pub name: String,
}

/// What the confirmation of a bulk action knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Many {
    /// Where the action goes, in table order.
    pub targets: Vec<Target>,
    /// Marked instances left out, by reason, in the order first met.
    pub skipped: Vec<(&'static str, usize)>,
    /// Targets the filters hide from the table.
    pub hidden: usize,
}

impl Many {
    /// `alpha, beta, gamma, delta and 8 more`.
    pub fn names(&self) -> String {
        let first: Vec<&str> = self
            .targets
            .iter()
            .take(NAMED)
            .map(|t| t.name.as_str())
            .collect();
        let more = self.targets.len().saturating_sub(NAMED);
        match more {
            0 => first.join(", "),
            n => format!("{} and {n} more", first.join(", ")),
        }
    }

    /// `stop 12 · 3 skipped: not RUNNING or ERROR`.
    pub fn line(&self, verb: Verb) -> String {
        let mut out = format!("{verb} {}", self.targets.len());
        out.push_str(&skipped_words(&self.skipped));
        out
    }
}

/// ` · 3 skipped: not RUNNING or ERROR · 1 skipped: an action is pending`, or nothing.
pub(super) fn skipped_words(skipped: &[(&'static str, usize)]) -> String {
    skipped
        .iter()
        .map(|(why, n)| format!(" · {n} skipped: {why}"))
        .collect()
}

#[cfg(test)]
mod tests;
