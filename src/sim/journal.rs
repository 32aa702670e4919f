//! The simulator's ground truth: every status transition, every creation and
//! every removal with its simulated time, so tests and benchmarks can check a client against what
//! really happened (which instances existed throughout a sweep; how long a
//! transition took to reach the client).
//!
//! Bounded: the oldest entries go past [`MAX_ENTRIES`]; [`Journal::since_ms`]
//! says from when it is complete.

use std::collections::{BTreeSet, VecDeque};

use serde::Serialize;

use super::instance::{Instance, State};

/// Transitions and removals kept (each ~100 bytes).
pub const MAX_ENTRIES: usize = 200_000;

/// One status change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub id: String,
    pub from: &'static str,
    pub to: &'static str,
    pub at_ms: i64,
}

/// An instance that left the listing (deleted, or removed by the `drift` fault).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removal {
    pub id: String,
    pub created_ms: i64,
    pub at_ms: i64,
}

/// An instance that joined the listing (created, INIT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Creation {
    pub id: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone)]
pub struct Journal {
    changes: VecDeque<Change>,
    creations: VecDeque<Creation>,
    removals: VecDeque<Removal>,
    /// The journal is complete from this time on.
    since_ms: i64,
}

/// What the simulator says happened in a time window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroundTruth {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Instances (of every feature and owner) that existed for the whole window.
    pub alive_throughout: BTreeSet<String>,
    /// Every transition in the window, oldest first.
    pub changes: Vec<Change>,
    /// Every removal in the window, oldest first.
    pub removals: Vec<Removal>,
    /// Every creation in the window, oldest first.
    pub creations: Vec<Creation>,
    /// False when the window starts before what the journal still holds.
    pub complete: bool,
}

impl Journal {
    pub fn new(start_ms: i64) -> Journal {
        Journal {
            changes: VecDeque::new(),
            creations: VecDeque::new(),
            removals: VecDeque::new(),
            since_ms: start_ms,
        }
    }

    pub fn since_ms(&self) -> i64 {
        self.since_ms
    }

    pub fn changed(&mut self, inst: &Instance, from: State, to: State, at_ms: i64) {
        if self.changes.len() == MAX_ENTRIES
            && let Some(old) = self.changes.pop_front()
        {
            self.since_ms = self.since_ms.max(old.at_ms);
        }
        self.changes.push_back(Change {
            id: inst.id.clone(),
            from: from.as_str(),
            to: to.as_str(),
            at_ms,
        });
    }

    pub fn created(&mut self, inst: &Instance, at_ms: i64) {
        if self.creations.len() == MAX_ENTRIES
            && let Some(old) = self.creations.pop_front()
        {
            self.since_ms = self.since_ms.max(old.at_ms);
        }
        self.creations.push_back(Creation {
            id: inst.id.clone(),
            at_ms,
        });
    }

    pub fn removed(&mut self, inst: &Instance, at_ms: i64) {
        if self.removals.len() == MAX_ENTRIES
            && let Some(old) = self.removals.pop_front()
        {
            self.since_ms = self.since_ms.max(old.at_ms);
        }
        self.removals.push_back(Removal {
            id: inst.id.clone(),
            created_ms: inst.create_at,
            at_ms,
        });
    }

    /// The truth about `[from_ms, to_ms]`, given the instances alive now (the
    /// engine must have caught up to at least `to_ms`).
    pub fn window<'a>(
        &self,
        alive_now: impl Iterator<Item = &'a Instance>,
        from_ms: i64,
        to_ms: i64,
    ) -> GroundTruth {
        let mut alive: BTreeSet<String> = alive_now
            .filter(|i| i.create_at <= from_ms)
            .map(|i| i.id.clone())
            .collect();
        // Removed after the window, created before it: alive throughout too.
        alive.extend(
            self.removals
                .iter()
                .filter(|r| r.at_ms > to_ms && r.created_ms <= from_ms)
                .map(|r| r.id.clone()),
        );
        let in_window = |at: i64| at >= from_ms && at <= to_ms;
        GroundTruth {
            from_ms,
            to_ms,
            alive_throughout: alive,
            changes: self
                .changes
                .iter()
                .filter(|c| in_window(c.at_ms))
                .cloned()
                .collect(),
            removals: self
                .removals
                .iter()
                .filter(|r| in_window(r.at_ms))
                .cloned()
                .collect(),
            creations: self
                .creations
                .iter()
                .filter(|c| in_window(c.at_ms))
                .cloned()
                .collect(),
            complete: from_ms >= self.since_ms,
        }
    }
}
