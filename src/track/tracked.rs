//! One instance as the dashboard has seen it across polls: the lean row of its
//! latest record plus what only a watcher can know (since when it is in its
//! status, the transitions seen).

use super::key::InstanceKey;
use super::row::{Interner, Row};
use crate::api::model::{Notebook, Status};

/// How long a changed row stays marked.
pub const CHANGE_MARK_MS: i64 = 5_000;
/// Transitions kept per instance; older ones are dropped.
pub const MAX_TRANSITIONS: usize = 32;

/// A status change observed between two polls, stamped with the fetch time of the
/// poll that first showed the new status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: Status,
    pub to: Status,
    pub at_ms: i64,
}

/// How long an instance has been in its status. `at_least` is set when the change
/// itself was never observed (the instance was already in it when first seen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusAge {
    pub ms: i64,
    pub at_least: bool,
}

/// How urgent a lease countdown is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LeaseUrgency {
    /// More than ten minutes left.
    Calm,
    /// Under ten minutes.
    Soon,
    /// Under two minutes, or overdue.
    Imminent,
}

impl LeaseUrgency {
    pub const SOON_MS: i64 = 10 * 60_000;
    pub const IMMINENT_MS: i64 = 2 * 60_000;

    pub fn of(remaining_ms: i64) -> LeaseUrgency {
        if remaining_ms < Self::IMMINENT_MS {
            LeaseUrgency::Imminent
        } else if remaining_ms < Self::SOON_MS {
            LeaseUrgency::Soon
        } else {
            LeaseUrgency::Calm
        }
    }
}

#[derive(Debug, Clone)]
pub struct Tracked {
    /// Its source and id (or a stand-in when the service omitted the id);
    /// the identity the selection and the marks follow.
    pub key: InstanceKey,
    /// The table's fields of the latest record (the whole record is in
    /// [`super::records::Records`] when held).
    pub row: Row,
    pub status: Status,
    /// The lowercased name when it differs from the name (most names are
    /// lowercase already), so a filter keystroke does not allocate per instance.
    lower: Option<Box<str>>,
    pub first_seen_ms: i64,
    pub status_since_ms: i64,
    /// False while the current status predates the first sighting.
    pub since_observed: bool,
    /// When a visible field last changed (or the instance appeared mid-session).
    pub changed_at_ms: Option<i64>,
    /// Oldest first.
    pub transitions: Vec<Transition>,
    /// The last sweep (the app's count) whose pages held this instance.
    pub(crate) seen_sweep: u64,
    /// Complete sweeps in a row that did not hold it: gone at two (see
    /// `App::finish_sweep`).
    pub(crate) missed: u8,
    /// When the service last confirmed it (a sweep page, a hot read or a
    /// ShowNotebook answer arrived with it), epoch ms.
    pub confirmed_ms: i64,
    /// The fingerprint of the listing's text of the record the row holds
    /// (see [`crate::api::model::WireNotebook`]: a sweep page or a hot read);
    /// `None` when the row took a record from elsewhere (ShowNotebook outside
    /// the hot tier, an action's answer, an extension), so the next page's
    /// copy is read in whole.
    pub(crate) fingerprint: Option<u64>,
    /// The tracker's revision when its record last changed (see
    /// `Tracker::revision`): a reader that saw revision `r` has seen this
    /// row as it is when `stamp <= r` (the alert scan visits only the rest).
    pub(crate) stamp: u64,
}

impl Tracked {
    /// An instance seen for the first time at `at_ms`. `mark` highlights it as new.
    pub fn new(
        key: InstanceKey,
        notebook: &Notebook,
        at_ms: i64,
        mark: bool,
        strings: &mut Interner,
    ) -> Tracked {
        let status = notebook.status_or_unknown();
        // The status changed no later than the last update, so `update_at` is a
        // better lower bound for the time in status than the first sighting.
        let since = notebook
            .update_at
            .filter(|u| *u > 0 && *u <= at_ms)
            .unwrap_or(at_ms);
        Tracked {
            key,
            row: Row::of(notebook, strings),
            lower: lower(notebook.name_str()),
            status,
            first_seen_ms: at_ms,
            status_since_ms: since,
            since_observed: false,
            changed_at_ms: mark.then_some(at_ms),
            transitions: Vec::new(),
            seen_sweep: 0,
            missed: 0,
            confirmed_ms: at_ms,
            fingerprint: None,
            stamp: 0,
        }
    }

    /// Takes the newer notebook from a poll fetched at `at_ms`; returns the status
    /// transition if there was one.
    pub fn update(
        &mut self,
        notebook: &Notebook,
        at_ms: i64,
        strings: &mut Interner,
    ) -> Option<Transition> {
        let status = notebook.status_or_unknown();
        let renamed = *self.row.name != *notebook.name_str();
        let visible_change = self.row.refresh(notebook, strings);
        if renamed {
            self.lower = lower(notebook.name_str());
        }
        self.confirmed_ms = self.confirmed_ms.max(at_ms);
        let transition = (status != self.status).then(|| Transition {
            from: std::mem::replace(&mut self.status, status.clone()),
            to: status,
            at_ms,
        });
        if let Some(t) = &transition {
            self.status_since_ms = at_ms;
            self.since_observed = true;
            if self.transitions.len() == MAX_TRANSITIONS {
                self.transitions.remove(0);
            }
            self.transitions.push(t.clone());
        }
        if transition.is_some() || visible_change {
            self.changed_at_ms = Some(at_ms);
        }
        transition
    }

    /// The source it came from.
    pub fn source(&self) -> super::key::SourceId {
        self.key.source
    }

    pub fn name(&self) -> &str {
        &self.row.name
    }

    /// The name, lowercased: what the name filter and the name sort compare.
    pub fn name_lower(&self) -> &str {
        self.lower.as_deref().unwrap_or(&self.row.name)
    }

    /// The id the service gave, if it gave one (the key's id is then that
    /// id, else a stand-in made from the name).
    pub fn id(&self) -> Option<&str> {
        self.row.has_id.then(|| self.key.id())
    }

    /// How long since the service last confirmed it.
    pub fn unconfirmed_for_ms(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(self.confirmed_ms).max(0)
    }

    pub fn time_in_status(&self, now_ms: i64) -> StatusAge {
        StatusAge {
            ms: now_ms.saturating_sub(self.status_since_ms).max(0),
            at_least: !self.since_observed,
        }
    }

    /// In a transitional status for longer than `stuck_after_ms`. An instance first
    /// seen mid-transition counts from the first sighting: a lower bound, so a
    /// "stuck" badge is never shown too early.
    pub fn is_stuck(&self, now_ms: i64, stuck_after_ms: i64) -> bool {
        self.status.is_transitional()
            && now_ms.saturating_sub(self.status_since_ms) >= stuck_after_ms
    }

    /// When this instance will become stuck if it stays where it is.
    pub fn stuck_at_ms(&self, stuck_after_ms: i64) -> Option<i64> {
        self.status
            .is_transitional()
            .then(|| self.status_since_ms.saturating_add(stuck_after_ms))
    }

    /// Failed, errored, frozen or stuck: needs a human.
    pub fn needs_attention(&self, now_ms: i64, stuck_after_ms: i64) -> bool {
        self.status.is_problem() || self.is_stuck(now_ms, stuck_after_ms)
    }

    pub fn is_marked(&self, now_ms: i64) -> bool {
        self.changed_at_ms
            .is_some_and(|at| now_ms >= at && now_ms - at < CHANGE_MARK_MS)
    }

    /// Auto-stop countdown, only while a lease can actually stop the instance.
    pub fn lease_remaining_ms(&self, now_ms: i64) -> Option<i64> {
        if !lease_applies(&self.status) {
            return None;
        }
        self.row.lease.as_ref().and_then(|l| l.remaining_at(now_ms))
    }

    pub fn lease_enabled(&self) -> bool {
        self.row.lease.as_ref().is_some_and(|l| l.enabled())
    }
}

/// The lowercased name, if lowercasing changes it.
fn lower(name: &str) -> Option<Box<str>> {
    let l = name.to_lowercase();
    (l != name).then(|| l.into())
}

#[cfg(test)]
impl Tracked {
    /// [`Tracked::new`] with strings of its own, for tests of one instance.
    pub fn of(key: &str, notebook: Notebook, at_ms: i64, mark: bool) -> Tracked {
        let key = InstanceKey::new(super::key::SourceId(0), key);
        Tracked::new(key, &notebook, at_ms, mark, &mut Interner::default())
    }

    /// [`Tracked::update`] with strings of its own.
    pub fn take(&mut self, notebook: Notebook, at_ms: i64) -> Option<Transition> {
        self.update(&notebook, at_ms, &mut Interner::default())
    }
}

/// A lease only stops an instance that is up.
pub fn lease_applies(status: &Status) -> bool {
    matches!(status, Status::Running | Status::Starting)
}
