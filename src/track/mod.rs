//! What nbwatch knows about the instances it watches, with no view and no I/O:
//! each instance by its [`InstanceKey`], each source's sweeps and polling
//! state, the whole records held, the events seen and the status trend. The
//! dashboard's `App` and the exporter each own one [`Tracker`].
//!
//! ```text
//!   poller messages ──(source, Message)──► Tracker::apply_all ──► Changes
//!   (pages, sweep end, hot news, errors)        │                 (which keys appeared,
//!                                               ▼                  changed, went)
//!                                  instances · feeds · events · trend
//! ```
//!
//! Every message changes what is known in [`Tracker::apply_all`] (see
//! `apply.rs`), and nowhere else. Two other inputs are not messages: a record
//! read outside the sweep ([`Tracker::take_instance`]: an action's follow-up,
//! the detail pane's read) and what the event loop measures itself
//! ([`Tracker::record_requests`], [`Tracker::record_burst`],
//! [`Tracker::record_pace`]).

mod apply;
pub mod feeds;
pub mod key;
pub mod poll;
pub mod records;
pub mod row;
pub mod tracked;
pub mod trend;
#[cfg(test)]
mod wire_tests;

use std::collections::VecDeque;
use std::time::Duration;

use crate::api::model::{Notebook, Status};

pub use apply::Changes;
pub use feeds::Feed;
pub use key::{InstanceKey, KeyMap, SourceId};
pub use poll::{Freshness, Pace, PollErrorInfo, PollState, SweepProgress};
pub use records::Records;
pub use tracked::{LeaseUrgency, StatusAge, Tracked, Transition};

/// Entries kept in the recent-events log.
pub const MAX_EVENTS: usize = 200;

/// Something that happened to an instance between polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Appeared(Status),
    Changed { from: Status, to: Status },
    Gone { last: Status },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentEvent {
    pub at_ms: i64,
    /// The instance, and so its source (an index into [`Tracker::feeds`]).
    pub key: InstanceKey,
    pub name: String,
    pub kind: EventKind,
}

/// Everything known about the instances watched and their polling.
pub struct Tracker {
    instances: Vec<Tracked>,
    /// Key → place in `instances`.
    index: KeyMap<usize>,
    /// Where each fingerprint of a text a row took is (see `Tracked::fingerprint`):
    /// a page's instance is known by its text before its id is read.
    prints: std::collections::HashMap<(SourceId, u64), usize, foldhash::fast::RandomState>,
    /// One copy of each string the rows repeat (flavors, images, users…).
    strings: row::Interner,
    /// Whole records, for the detail pane (all of them in a small project).
    records: Records,
    /// The feeds taken together, with the user's settings (interval, pause).
    poll: PollState,
    /// Each source's sweeps, freshness and errors.
    feeds: Vec<Feed>,
    has_data: bool,
    events: VecDeque<RecentEvent>,
    /// Events not yet taken by [`Tracker::take_events`], kept only once asked for.
    outbox: Option<Vec<RecentEvent>>,
    trend: trend::Trend,
    /// Moves whenever an instance's record is taken in or an instance leaves:
    /// equal revisions, the same instances as they were (see [`Tracker::revision`]).
    revision: u64,
}

impl Tracker {
    /// One source, polled every `interval`, holding up to `record_cap` whole records.
    pub fn new(interval: Duration, record_cap: usize) -> Tracker {
        Tracker {
            instances: Vec::new(),
            index: KeyMap::default(),
            prints: Default::default(),
            strings: row::Interner::default(),
            records: Records::new(record_cap),
            poll: PollState::new(interval),
            feeds: vec![Feed::new(String::new(), PollState::new(interval))],
            has_data: false,
            events: VecDeque::new(),
            outbox: None,
            trend: trend::Trend::default(),
            revision: 0,
        }
    }

    /// Equal between two moments when no record was taken in and no instance
    /// joined or left between them: what is known of every instance is the
    /// same (only confirmation times move). Lets a consumer skip re-reading
    /// the population (the alert scan): a consumer that read revision `r`
    /// has seen every instance stamped `r` or before as it is
    /// (`Tracked::stamp`), and the departures since are `Gone` events.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The sources watched, by name, in the order their pollers are numbered.
    /// Called before any data arrives; one source unless called.
    pub fn set_sources(&mut self, names: Vec<String>) {
        let interval = self.poll.interval;
        self.feeds = names
            .into_iter()
            .map(|n| Feed::new(n, PollState::new(interval)))
            .collect();
        if self.feeds.is_empty() {
            self.feeds
                .push(Feed::new(String::new(), PollState::new(interval)));
        }
    }

    /// Each source's request budget per minute, by source number.
    pub fn set_budgets(&mut self, budgets: Vec<u32>) {
        for (f, b) in self.feeds.iter_mut().zip(budgets) {
            f.budget_per_minute = Some(b);
        }
    }

    /// Whole records to keep (see `defaults::FULL_RECORDS`).
    pub fn set_record_cap(&mut self, cap: usize) {
        self.records = Records::new(cap);
    }

    /// The journal's entries of the sources named `sources` (in poller
    /// order): the trend reaches back over them once the first listing is in.
    pub fn set_history(&mut self, entries: Vec<crate::journal::Entry>, sources: &[String]) {
        self.trend = std::mem::take(&mut self.trend).with_journal(entries, sources);
    }

    // ---- reading -------------------------------------------------------------

    pub fn has_data(&self) -> bool {
        self.has_data
    }

    /// Every instance, in the order they were first seen (removals close the gaps).
    pub fn instances(&self) -> &[Tracked] {
        &self.instances
    }

    pub fn get(&self, key: &InstanceKey) -> Option<&Tracked> {
        self.index.get(key).map(|i| &self.instances[*i])
    }

    /// Where instance `key` is in [`Tracker::instances`].
    pub fn index_of(&self, key: &InstanceKey) -> Option<usize> {
        self.index.get(key).copied()
    }

    pub fn records(&self) -> &Records {
        &self.records
    }

    /// The user is looking at `key`'s record: it is the last to be evicted.
    pub fn touch_record(&mut self, key: &InstanceKey) {
        self.records.touch(key);
    }

    /// The feeds taken together.
    pub fn poll(&self) -> &PollState {
        &self.poll
    }

    /// Each source's polling state, in poller order (one when one source is watched).
    pub fn feeds(&self) -> &[Feed] {
        &self.feeds
    }

    pub fn events(&self) -> &VecDeque<RecentEvent> {
        &self.events
    }

    /// Every event since the last call (the journal's feed). The first call
    /// starts the collection and returns nothing; until then none is kept.
    pub fn take_events(&mut self) -> Vec<RecentEvent> {
        match &mut self.outbox {
            Some(out) => std::mem::take(out),
            None => {
                self.outbox = Some(Vec::new());
                Vec::new()
            }
        }
    }

    /// The instances these events saw leave that are not back: what a
    /// reader that skips unchanged instances must forget (see
    /// [`Tracker::revision`]).
    pub fn left_of(&self, events: &[RecentEvent]) -> Vec<InstanceKey> {
        events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Gone { .. }) && self.get(&e.key).is_none())
            .map(|e| e.key.clone())
            .collect()
    }

    /// Counts per status group over the session (and the journal's span).
    pub fn trend(&self) -> &trend::Trend {
        &self.trend
    }

    /// Whether a row has gone unconfirmed for longer than the sweep's period
    /// allows (see [`PollState::unconfirmed_after_ms`]); never before the
    /// first complete sweep.
    pub fn is_unconfirmed(&self, t: &Tracked, now_ms: i64) -> bool {
        self.feeds.get(t.key.source.index()).is_some_and(|f| {
            f.sweeps_complete > 0 && t.unconfirmed_for_ms(now_ms) > f.poll.unconfirmed_after_ms()
        })
    }

    // ---- what the user and the event loop decide -------------------------------

    /// Pauses polling from `since_ms`, or resumes it (`None`).
    pub fn set_paused(&mut self, since_ms: Option<i64>) {
        self.poll.paused_since_ms = since_ms;
        self.combine_feeds();
    }

    pub fn set_interval(&mut self, interval: Duration) {
        self.poll.interval = interval;
        self.combine_feeds();
    }

    /// The user asked to retry after an authentication stop: every source tries again.
    pub fn resume_after_auth_stop(&mut self) {
        for f in &mut self.feeds {
            f.poll.auth_stopped = false;
        }
        self.combine_feeds();
    }

    /// Source `source`'s count of HTTP requests sent in the minute before `at_ms`.
    pub fn record_requests(&mut self, source: SourceId, requests_last_minute: u32, at_ms: i64) {
        self.with_feed(source, |p| p.record_requests(requests_last_minute, at_ms));
    }

    /// Requests source `source`'s first-sweep burst still allows (`None` once
    /// the steady budget holds).
    pub fn record_burst(&mut self, source: SourceId, left: Option<u64>) {
        self.with_feed(source, |p| p.burst_left = left);
    }

    /// Fast polling and the budget's stretch of source `source`'s interval.
    pub fn record_pace(&mut self, source: SourceId, pace: Pace) {
        self.with_feed(source, |p| p.pace = pace);
    }

    /// Changes one source's polling state, then the state of them all.
    fn with_feed(&mut self, source: SourceId, change: impl FnOnce(&mut PollState)) {
        if let Some(f) = self.feeds.get_mut(source.index()) {
            change(&mut f.poll);
        }
        self.combine_feeds();
    }

    fn combine_feeds(&mut self) {
        feeds::combine(&mut self.feeds, &mut self.poll);
    }

    // ---- a record read outside the sweep ---------------------------------------

    /// One instance as the service showed it at `at_ms` outside the sweep (an
    /// action's follow-up, the detail pane's read): its row and held record
    /// take it. `held`: keep the whole record even past the cap (the detail
    /// pane asked for it).
    pub fn take_instance(
        &mut self,
        key: &InstanceKey,
        nb: Notebook,
        at_ms: i64,
        held: bool,
    ) -> Changes {
        let mut changes = Changes::default();
        if !self.index.contains_key(key) || nb.id.as_deref().is_some_and(|id| id != key.id()) {
            return changes;
        }
        if held {
            self.records.insert(key, nb.clone());
        }
        self.take_record(key.clone(), nb, None, at_ms, false, &mut changes);
        changes
    }

    /// An extension's answer: instance `key`'s new lease, as of `at_ms`.
    pub fn take_lease(
        &mut self,
        key: &InstanceKey,
        lease: crate::api::model::Lease,
        at_ms: i64,
    ) -> Changes {
        let mut changes = Changes::default();
        if let Some(&i) = self.index.get(key) {
            self.revision += 1;
            let t = &mut self.instances[i];
            t.row.lease = Some(lease.clone());
            t.changed_at_ms = Some(at_ms);
            t.stamp = self.revision;
            // The row no longer holds what the listing's text says.
            self.set_print(i, None);
            self.records.edit(key, |nb| nb.lease = Some(lease));
            changes.changed.push(key.clone());
        }
        changes
    }
}
