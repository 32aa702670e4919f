//! The dashboard's state: instances by id, the filtered and sorted view, the
//! selection (kept by id, never by row), transitions seen between polls and what is
//! known about polling. No terminal and no I/O: data comes in through
//! [`App::apply_snapshot`] / [`App::apply_error`], keys through [`App::handle_key`],
//! and everything that needs the time takes `now_ms`. Sweeps arrive page by page
//! ([`App::apply_page`], [`App::finish_sweep`]).
//!
//! Why over 700 lines: the state is one struct whose data-in (pages, sweeps,
//! errors), view (filter, sort, selection) and scrolling share its indices; the
//! keys, picker, tracking and fixtures already live in their own modules.

mod access;
pub mod actions;
pub mod clipboard;
pub mod detail;
pub mod filter;
mod hot;
mod input;
pub mod keys;
pub mod marks;
pub mod sort;
pub mod views;

pub use crate::track::{feeds, poll, records, row, tracked, trend};

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod hot_tests;
#[cfg(test)]
mod marks_tests;
#[cfg(test)]
mod sources_tests;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use ratatui::layout::Rect;

use crate::api::model::{Notebook, Status};
use crate::track::{InstanceKey, SourceId};

pub use actions::{ActionEvent, ActionRequest, Confirm, Notice, Pending};
pub use clipboard::osc52_sequence;
pub use detail::{DetailWant, Record};
pub use feeds::Feed;
pub use filter::Filter;
pub use keys::{Action, ModeKind};
pub use poll::{Freshness, Pace, PollErrorInfo, PollState, SweepProgress};
pub use records::Records;
pub use row::Row;
pub use sort::{Sort, SortColumn};
pub use tracked::{LeaseUrgency, StatusAge, Tracked, Transition};
pub use views::{View, ViewPicker};

/// How long a flash message (copied, no problems…) stays in the status bar.
pub const FLASH_MS: i64 = 4_000;
/// Entries kept in the recent-events log.
pub const MAX_EVENTS: usize = 200;
/// How many rows on each side of the cursor are candidates when the selected
/// instance disappears.
const NEIGHBOURS: usize = 64;
const NOT_IN_VIEW: u32 = u32::MAX;

/// The timing the configuration decides: the poll interval (for staleness) and the stuck threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Poll interval at start.
    pub interval: Duration,
    /// How long an instance may stay in a transitional status before it is "stuck".
    pub stuck_after: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            interval: crate::defaults::INTERVAL,
            stuck_after: crate::defaults::STUCK_AFTER,
        }
    }
}

/// What the event loop must do after a key or mouse event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Quit,
    /// Poll now. Also resumes polling after an authentication stop.
    RefreshNow,
    /// Stop or restart the poller's timer.
    SetPaused(bool),
    SetInterval(Duration),
    /// Write `osc52_sequence(text)` to the terminal.
    CopyToClipboard(String),
    /// Open a notebook URL with the platform's opener, detached (see `crate::opener`).
    OpenUrl(String),
    /// Send an action (confirmed by the user) from a task outside the render loop.
    Act(ActionRequest),
    /// Send one action to each of several instances (the marked ones), a few
    /// at a time within the request budget, each once.
    ActMany(Vec<ActionRequest>),
    /// An action asked for and not sent (read-only, cancelled): for the audit log.
    NotSent {
        verb: crate::api::actions::Verb,
        id: String,
        why: &'static str,
    },
}

/// The interaction mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Table,
    /// The selected instance, full screen.
    Detail,
    /// Typing a name filter; it applies as it is typed.
    Filter,
    Picker(Picker),
    Help {
        /// Where `Esc` returns to.
        from_detail: bool,
    },
    /// Counts per status group over time.
    Trends,
    /// Asking before acting on an instance.
    Confirm(Confirm),
    /// Choosing a view from the config file.
    Views(ViewPicker),
}

impl Mode {
    pub fn kind(&self) -> ModeKind {
        match self {
            Mode::Table => ModeKind::Table,
            Mode::Detail => ModeKind::Detail,
            Mode::Filter => ModeKind::Filter,
            Mode::Picker(_) => ModeKind::Picker,
            Mode::Help { .. } => ModeKind::Help,
            Mode::Trends => ModeKind::Trends,
            Mode::Confirm(c) if c.verb == crate::api::actions::Verb::Delete => {
                ModeKind::ConfirmTyped
            }
            Mode::Confirm(_) => ModeKind::Confirm,
            Mode::Views(_) => ModeKind::Views,
        }
    }
}

/// The status picker: every status with how many instances have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    pub entries: Vec<(Status, usize)>,
    pub cursor: usize,
    /// What Enter will apply. Empty means every status.
    pub chosen: BTreeSet<Status>,
}

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
    /// The instance, and so its source (an index into [`App::feeds`]).
    pub key: InstanceKey,
    pub name: String,
    pub kind: EventKind,
}

/// What [`App::take_record`] did with a record.
struct Taken {
    index: usize,
    /// Older than what is known: not taken.
    older: bool,
    /// The view must be recomputed.
    dirty: bool,
}

/// Screen geometry the renderer computed (see `ui::viewport`): the state needs it
/// for paging, scrolling and mouse clicks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Viewport {
    /// The table's data rows (header excluded).
    pub table_body: Rect,
    /// The detail pane (side, below or full screen), if shown.
    pub detail: Rect,
    /// Lines of detail for the selected instance.
    pub detail_lines: usize,
    /// The help popup's inner area, when open.
    pub help: Rect,
    pub help_lines: usize,
}

pub struct App {
    timing: Timing,
    instances: Vec<Tracked>,
    /// One copy of each string the rows repeat (flavors, images, users…).
    strings: row::Interner,
    /// Whole records, for the detail pane (all of them in a small project).
    records: Records,
    /// The detail pane's read of a record not held.
    detail_read: detail::DetailRead,
    index: HashMap<InstanceKey, usize>,
    /// Every instance, sorted. Recomputed only when data or the sort change.
    order: Vec<usize>,
    /// The filtered subset of `order`: the table. Recomputed when the filter changes.
    view: Vec<usize>,
    /// Instance index → position in `view`, or `NOT_IN_VIEW`.
    view_pos: Vec<u32>,
    /// The filter `view` was computed with.
    view_filter: Filter,
    /// Rows of `view` in a transitional status.
    view_transitional: usize,
    /// The same, per source (by source number).
    view_transitional_by_source: Vec<usize>,
    /// The selection, by instance key. Survives refreshes, filters and sorts;
    /// remembered even while filtered out.
    selected: Option<InstanceKey>,
    cursor: usize,
    offset: usize,
    filter: Filter,
    sort: Sort,
    mode: Mode,
    poll: PollState,
    has_data: bool,
    /// Each source's sweeps, freshness and errors; `poll` is them taken together.
    feeds: Vec<Feed>,
    status_counts: Vec<(Status, usize)>,
    attention: usize,
    /// The next time an instance crosses the stuck threshold.
    next_stuck_at_ms: Option<i64>,
    events: VecDeque<RecentEvent>,
    trend: trend::Trend,
    /// Events not yet taken by [`App::take_events`], kept only once asked for.
    outbox: Option<Vec<RecentEvent>>,
    flash: Option<(String, i64)>,
    viewport: Viewport,
    detail_scroll: usize,
    help_scroll: usize,
    actions: actions::ActionState,
    /// Marked instances, by key (see `marks.rs`).
    marks: marks::Marks,
    /// The views of the config file, and which one was applied last.
    views: views::ViewState,
    /// Each source's `ssh_key_dir`, by source number (see [`App::set_ssh_key_dirs`]).
    ssh_key_dirs: Vec<Option<std::path::PathBuf>>,
}

impl App {
    pub fn new(timing: Timing) -> App {
        App {
            timing,
            instances: Vec::new(),
            strings: row::Interner::default(),
            records: Records::new(crate::defaults::FULL_RECORDS),
            detail_read: detail::DetailRead::default(),
            index: HashMap::new(),
            order: Vec::new(),
            view: Vec::new(),
            view_pos: Vec::new(),
            view_filter: Filter::default(),
            view_transitional: 0,
            view_transitional_by_source: Vec::new(),
            selected: None,
            cursor: 0,
            offset: 0,
            filter: Filter::default(),
            sort: Sort::default(),
            mode: Mode::Table,
            poll: PollState::new(timing.interval),
            has_data: false,
            feeds: vec![Feed::new(String::new(), PollState::new(timing.interval))],
            status_counts: Vec::new(),
            attention: 0,
            next_stuck_at_ms: None,
            events: VecDeque::new(),
            trend: trend::Trend::default(),
            outbox: None,
            flash: None,
            viewport: Viewport::default(),
            detail_scroll: 0,
            help_scroll: 0,
            actions: actions::ActionState::default(),
            marks: marks::Marks::default(),
            views: views::ViewState::default(),
            ssh_key_dirs: Vec::new(),
        }
    }

    // ---- data in -------------------------------------------------------------

    /// A complete list from a poll fetched at `fetched_at_ms`: one whole sweep
    /// in one go ([`App::apply_page`] then [`App::finish_sweep`], complete).
    pub fn apply_snapshot(&mut self, notebooks: Vec<Notebook>, fetched_at_ms: i64) {
        let n = notebooks.len() as u64;
        self.apply_page(
            notebooks,
            SweepProgress {
                loaded: n,
                total: Some(n),
            },
            fetched_at_ms,
        );
        self.finish_sweep(true, fetched_at_ms);
    }

    /// One page of the sweep in progress, read at `at_ms`: instances are added or
    /// updated at once (rows appear while a first sweep runs); none is removed
    /// before the sweep ends.
    pub fn apply_page(
        &mut self,
        notebooks: Vec<Notebook>,
        progress: SweepProgress,
        at_ms: i64,
    ) -> bool {
        self.apply_page_from(SourceId(0), notebooks, progress, at_ms)
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

    /// [`App::apply_page`] for the source numbered `source`. Returns whether
    /// the screen may show something new: a row changed or was added, or the
    /// first sweep's count moved. A page that only confirms rows as they were
    /// returns false (the dashboard's 1 s tick redraws the ages anyway).
    pub fn apply_page_from(
        &mut self,
        source: SourceId,
        notebooks: Vec<Notebook>,
        progress: SweepProgress,
        at_ms: i64,
    ) -> bool {
        let at = at_ms;
        let Some(feed) = self.feeds.get(source.index()) else {
            return false;
        };
        let loading = feed.sweeps_complete == 0;
        // Only a sweep after a complete one can tell a new instance from one
        // not seen yet.
        let announce = feed.sweeps_complete > 0 && feed.last_sweep_complete;
        let seq = feed.sweep_seq;
        let neighbours = self.neighbour_keys();
        let old_cursor = self.cursor;
        let mut dirty = !self.has_data;
        self.make_room(progress.total);
        for nb in notebooks {
            let key = self.page_key(source, seq, &nb);
            let taken = self.take_record(key, nb, at, announce);
            let t = &mut self.instances[taken.index];
            t.seen_sweep = seq;
            t.missed = 0;
            dirty |= taken.dirty;
        }
        self.has_data = true;
        if let Some(f) = self.feeds.get_mut(source.index()) {
            f.poll.sweep = Some(progress);
        }
        self.combine_feeds();
        if dirty {
            self.recompute(at, &neighbours, old_cursor);
        }
        dirty || loading
    }

    /// One record of `source`'s instance `key`, read at `at` (a sweep page or
    /// a hot read): its row takes it, unless newer news came meanwhile (it would
    /// put an older status back), or it is added (announced when `announce`).
    fn take_record(&mut self, key: InstanceKey, nb: Notebook, at: i64, announce: bool) -> Taken {
        if let Some(i) = self.index.get(&key).copied() {
            let t = &mut self.instances[i];
            if at < t.confirmed_ms {
                return Taken {
                    index: i,
                    older: true,
                    dirty: false,
                };
            }
            let before = t.changed_at_ms;
            let tr = t.update(&nb, at, &mut self.strings);
            let dirty = tr.is_some() || t.changed_at_ms != before;
            self.records.offer(&key, nb);
            if let Some(tr) = tr {
                let t = &self.instances[i];
                let event = RecentEvent {
                    at_ms: at,
                    key: t.key.clone(),
                    name: t.name().to_string(),
                    kind: EventKind::Changed {
                        from: tr.from,
                        to: tr.to,
                    },
                };
                self.push_event(event);
            }
            return Taken {
                index: i,
                older: false,
                dirty,
            };
        }
        let t = Tracked::new(key, &nb, at, announce, &mut self.strings);
        self.records.offer(&t.key, nb);
        if announce {
            self.log(at, &t, EventKind::Appeared(t.status.clone()));
        }
        let index = self.instances.len();
        self.index.insert(t.key.clone(), index);
        self.instances.push(t);
        Taken {
            index,
            older: false,
            dirty: true,
        }
    }

    /// Room for the population the service announced, plus a little, in one
    /// allocation: a row is ~400 bytes, and letting the vector double its way up
    /// to 10,000 would leave a third of it unused.
    fn make_room(&mut self, total: Option<u64>) {
        let Some(total) = total.and_then(|t| usize::try_from(t).ok()) else {
            return;
        };
        let want = total.saturating_add(total / 32).saturating_add(16);
        if want > self.instances.capacity() {
            self.instances
                .reserve_exact(want.saturating_sub(self.instances.len()));
        }
    }

    /// The identity of an instance across pages and sweeps: its id, or (when
    /// the service left it out) a stand-in from its name, numbered apart from
    /// the others of this sweep with the same name.
    fn page_key(&self, source: SourceId, seq: u64, nb: &Notebook) -> InstanceKey {
        if let Some(id) = nb.id.as_deref().filter(|id| !id.is_empty()) {
            return InstanceKey::new(source, id);
        }
        let base = InstanceKey::new(source, &format!("(no id) {}", nb.name_str()));
        let taken = |k: &InstanceKey| {
            self.index
                .get(k)
                .is_some_and(|i| self.instances[*i].seen_sweep == seq)
        };
        if !taken(&base) {
            return base;
        }
        (2..)
            .map(|n| InstanceKey::new(source, &format!("{} #{n}", base.id)))
            .find(|k| !taken(k))
            .unwrap_or(base)
    }

    /// The sweep has ended. Instances it did not see are gone only once a later
    /// read confirms it: a second complete sweep without them, or at once when
    /// they were last seen DELETING or DELETED. Until then they keep their
    /// history. An incomplete sweep (the listing moved more than it could
    /// repair) confirms nothing.
    pub fn finish_sweep(&mut self, complete: bool, at_ms: i64) {
        self.finish_sweep_from(SourceId(0), complete, at_ms);
    }

    /// [`App::finish_sweep`] for the source numbered `source`: only its
    /// instances can be gone.
    pub fn finish_sweep_from(&mut self, source: SourceId, complete: bool, at_ms: i64) {
        let at = at_ms;
        let Some(current) = self.feeds.get(source.index()).map(|f| f.sweep_seq) else {
            return;
        };
        let neighbours = self.neighbour_keys();
        let old_cursor = self.cursor;
        // Confirmed since the sweep began (by the hot tier): not missed, whatever
        // the sweep's pages said. But an instance last seen DELETING or DELETED
        // that a complete sweep lacks was removed meanwhile (alive throughout, it
        // would be in it), however recently the hot tier saw it.
        let began = self
            .feeds
            .get(source.index())
            .and_then(|f| f.poll.in_flight_since_ms)
            .unwrap_or(at);
        let mut gone = Vec::new();
        for (i, t) in self.instances.iter_mut().enumerate() {
            let ending = matches!(t.status, Status::Deleting | Status::Deleted);
            if t.key.source != source
                || t.seen_sweep == current
                || !complete
                || (t.confirmed_ms >= began && !ending)
            {
                continue;
            }
            t.missed = t.missed.saturating_add(1);
            if t.missed >= 2 || matches!(t.status, Status::Deleting | Status::Deleted) {
                gone.push(i);
            }
        }
        self.remove(&gone, at);
        if let Some(f) = self.feeds.get_mut(source.index()) {
            f.sweep_seq += 1;
            f.last_sweep_complete = complete;
            if complete {
                f.sweeps_complete += 1;
            }
            f.poll.sweep = None;
            f.poll.last_ok_ms = Some(at);
            f.poll.in_flight_since_ms = None;
            f.poll.last_error = None;
            f.poll.last_error_at_ms = None;
            f.poll.auth_stopped = false;
        }
        self.has_data = true;
        self.combine_feeds();
        // One sample per finished sweep: a page is part of a population, and
        // counting pages would draw the first sweep's loading as growth.
        self.trend
            .record(at, self.instances.iter().map(|t| (&t.key, &t.status)));
        self.recompute(at, &neighbours, old_cursor);
    }

    /// Removes the instances at these indices, each logged as gone at `at`.
    fn remove(&mut self, gone: &[usize], at: i64) {
        if gone.is_empty() {
            return;
        }
        // In place: a second vector of 10,000 rows, even for a moment, would
        // double what the state costs in memory at each sweep with a deletion.
        let mut keep = vec![true; self.instances.len()];
        for i in gone {
            keep[*i] = false;
            let t = self.instances[*i].clone();
            self.index.remove(&t.key);
            self.records.remove(&t.key);
            self.marks.forget(&t.key);
            let last = t.status.clone();
            self.log(at, &t, EventKind::Gone { last });
        }
        let mut kept = keep.iter();
        self.instances
            .retain(|_| kept.next().copied().unwrap_or(true));
        // Indices moved: the next sort starts afresh.
        self.order.clear();
        for (i, t) in self.instances.iter().enumerate() {
            if let Some(at) = self.index.get_mut(&t.key) {
                *at = i;
            }
        }
        self.strings.prune();
    }

    /// Counts, order, view, selection and attention after the population changed.
    fn recompute(&mut self, at: i64, neighbours: &[InstanceKey], old_cursor: usize) {
        self.count_statuses();
        self.resort();
        self.refilter(at, false);
        self.restore_selection(neighbours, old_cursor);
        self.recount_attention(at);
    }

    /// A failed poll. The last good data stays.
    pub fn apply_error(&mut self, error: PollErrorInfo, at_ms: i64) {
        self.apply_error_from(SourceId(0), error, at_ms);
    }

    /// [`App::apply_error`] for one source: the others keep their state.
    pub fn apply_error_from(&mut self, source: SourceId, error: PollErrorInfo, at_ms: i64) {
        self.with_feed(source, |p| {
            p.in_flight_since_ms = None;
            p.auth_stopped = error.auth;
            p.last_error = Some(error);
            p.last_error_at_ms = Some(at_ms);
        });
    }

    /// The poller's count of HTTP requests sent in the minute before `at_ms`.
    pub fn record_requests(&mut self, requests_last_minute: u32, at_ms: i64) {
        self.record_requests_from(SourceId(0), requests_last_minute, at_ms);
    }

    /// [`App::record_requests`] for one source's poller.
    pub fn record_requests_from(
        &mut self,
        source: SourceId,
        requests_last_minute: u32,
        at_ms: i64,
    ) {
        self.with_feed(source, |p| {
            p.record_requests(requests_last_minute, at_ms);
        });
    }

    /// Fast polling and the budget's stretch of the interval, for the status bar.
    pub fn record_pace(&mut self, pace: Pace) {
        self.record_pace_from(SourceId(0), pace);
    }

    /// [`App::record_pace`] for one source's poller.
    pub fn record_pace_from(&mut self, source: SourceId, pace: Pace) {
        self.with_feed(source, |p| p.pace = pace);
    }

    /// Requests the first sweep's burst still allows (`None` once the steady
    /// budget holds), for the status bar.
    pub fn record_burst(&mut self, left: Option<u64>) {
        self.record_burst_from(SourceId(0), left);
    }

    /// [`App::record_burst`] for one source's poller.
    pub fn record_burst_from(&mut self, source: SourceId, left: Option<u64>) {
        self.with_feed(source, |p| p.burst_left = left);
    }

    /// A poll has started (the header shows it is in flight).
    pub fn poll_started(&mut self, at_ms: i64) {
        self.poll_started_from(SourceId(0), at_ms);
    }

    /// [`App::poll_started`] for one source's poller.
    pub fn poll_started_from(&mut self, source: SourceId, at_ms: i64) {
        self.with_feed(source, |p| p.in_flight_since_ms = Some(at_ms));
    }

    /// Changes one source's polling state, then the state of them all.
    fn with_feed(&mut self, source: SourceId, change: impl FnOnce(&mut PollState)) {
        if let Some(f) = self.feeds.get_mut(source.index()) {
            change(&mut f.poll);
        }
        self.combine_feeds();
    }

    /// The user asked to retry after an authentication stop: every source tries again.
    fn resume_after_auth_stop(&mut self) {
        for f in &mut self.feeds {
            f.poll.auth_stopped = false;
        }
        self.combine_feeds();
    }

    fn combine_feeds(&mut self) {
        feeds::combine(&mut self.feeds, &mut self.poll);
    }

    /// Some instance in the table is in a transitional status: worth polling faster.
    pub fn any_visible_transitional(&self) -> bool {
        self.view_transitional > 0
    }

    /// Some instance of source `source` in the table is in a transitional
    /// status: worth polling that source faster (the others need not).
    pub fn visible_transitional_in(&self, source: SourceId) -> bool {
        self.view_transitional_by_source
            .get(source.index())
            .is_some_and(|n| *n > 0)
    }

    /// Called on the UI tick: instances that became stuck since the last call join
    /// the problem count (and the view, under "problems only").
    pub fn tick(&mut self, now_ms: i64) {
        if self.next_stuck_at_ms.is_some_and(|t| t <= now_ms) {
            if self.filter.problems_only {
                let neighbours = self.neighbour_keys();
                let old_cursor = self.cursor;
                self.refilter(now_ms, false);
                self.restore_selection(&neighbours, old_cursor);
            }
            self.recount_attention(now_ms);
        }
    }

    pub fn set_viewport(&mut self, viewport: Viewport) {
        self.viewport = viewport;
        self.scroll_to_cursor();
        self.detail_scroll = self.detail_scroll.min(self.max_detail_scroll());
        self.help_scroll = self.help_scroll.min(self.max_help_scroll());
    }

    // ---- reading -------------------------------------------------------------

    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    pub fn has_data(&self) -> bool {
        self.has_data
    }

    /// Every instance, in the order of the last snapshot.
    pub fn instances(&self) -> &[Tracked] {
        &self.instances
    }

    pub fn get(&self, key: &InstanceKey) -> Option<&Tracked> {
        self.index.get(key).map(|i| &self.instances[*i])
    }

    pub fn total(&self) -> usize {
        self.instances.len()
    }

    /// Rows in the table after filtering.
    pub fn shown(&self) -> usize {
        self.view.len()
    }

    /// The table rows `start..start+len` (clamped): only what is drawn is touched.
    pub fn rows(&self, start: usize, len: usize) -> impl Iterator<Item = &Tracked> {
        let start = start.min(self.view.len());
        let end = start.saturating_add(len).min(self.view.len());
        self.view[start..end].iter().map(|i| &self.instances[*i])
    }

    /// The selected instance, if it is in the table.
    pub fn selected(&self) -> Option<&Tracked> {
        let i = *self.index.get(self.selected.as_ref()?)?;
        (self.view_pos.get(i).copied() != Some(NOT_IN_VIEW)).then(|| &self.instances[i])
    }

    /// The selected key, even while filtered out.
    pub fn selected_key(&self) -> Option<&InstanceKey> {
        self.selected.as_ref()
    }

    /// Row of the selection in the table.
    pub fn cursor(&self) -> Option<usize> {
        self.selected().map(|_| self.cursor)
    }

    /// The first row to draw in a table body of `rows` lines, keeping the cursor visible.
    pub fn scroll_offset(&self, rows: usize) -> usize {
        offset_for(self.offset, self.cursor, rows, self.view.len())
    }

    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    pub fn sort(&self) -> Sort {
        self.sort
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    pub fn poll(&self) -> &PollState {
        &self.poll
    }

    /// Each source's polling state, in poller order (one when one source is watched).
    pub fn feeds(&self) -> &[Feed] {
        &self.feeds
    }

    /// More than one source is watched: the table shows a source column and
    /// the header a line per source.
    pub fn several_sources(&self) -> bool {
        self.feeds.len() > 1
    }

    /// With several sources, the one whose error the poll state shows (an
    /// authentication stop first, as [`feeds::combine`] chooses).
    pub fn failing_source(&self) -> Option<&Feed> {
        if !self.several_sources() {
            return None;
        }
        self.feeds
            .iter()
            .find(|f| f.poll.auth_stopped)
            .or_else(|| self.feeds.iter().find(|f| f.poll.last_error.is_some()))
    }

    /// What source `source` is called.
    pub fn source_name(&self, source: SourceId) -> &str {
        self.feeds
            .get(source.index())
            .map_or("", |f| f.name.as_str())
    }

    pub fn freshness(&self, now_ms: i64) -> Freshness {
        self.poll.freshness(now_ms)
    }

    /// Instances per status over all instances (not just the filtered ones), in
    /// lifecycle order, unknown statuses last.
    pub fn status_counts(&self) -> &[(Status, usize)] {
        &self.status_counts
    }

    /// Failed, errored, frozen or stuck instances (as of the last tick).
    pub fn attention_count(&self) -> usize {
        self.attention
    }

    pub fn stuck_after_ms(&self) -> i64 {
        i64::try_from(self.timing.stuck_after.as_millis()).unwrap_or(i64::MAX)
    }

    /// Newest last.
    /// Counts per status group over the session (and the journal's span).
    pub fn trend(&self) -> &trend::Trend {
        &self.trend
    }

    /// The journal's entries of the sources named `sources` (in poller
    /// order): the trends view reaches back over them once the first listing
    /// is in.
    pub fn set_history(&mut self, entries: Vec<crate::journal::Entry>, sources: &[String]) {
        self.trend = std::mem::take(&mut self.trend).with_journal(entries, sources);
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

    /// The flash message, while it is fresh.
    pub fn flash(&self, now_ms: i64) -> Option<&str> {
        self.flash
            .as_ref()
            .filter(|(_, at)| now_ms >= *at && now_ms - at < FLASH_MS)
            .map(|(m, _)| m.as_str())
    }

    pub fn detail_scroll(&self) -> usize {
        self.detail_scroll
    }

    pub fn help_scroll(&self) -> usize {
        self.help_scroll
    }

    pub fn viewport(&self) -> &Viewport {
        &self.viewport
    }

    // ---- view maintenance ----------------------------------------------------

    fn count_statuses(&mut self) {
        let mut counts: HashMap<&Status, usize> = HashMap::new();
        for t in &self.instances {
            *counts.entry(&t.status).or_default() += 1;
        }
        let mut out: Vec<(Status, usize)> = Status::ALL
            .iter()
            .filter_map(|s| counts.get(s).map(|n| (s.clone(), *n)))
            .collect();
        let mut unknown: Vec<(Status, usize)> = counts
            .iter()
            .filter(|(s, _)| !s.is_known())
            .map(|(s, n)| ((*s).clone(), *n))
            .collect();
        unknown.sort();
        out.extend(unknown);
        self.status_counts = out;
    }

    /// Sorts every instance. The last order is the starting point: it holds
    /// instances `0..len` (rows are only appended between sorts; a removal clears
    /// it), so while a sweep adds pages the sorted run is kept and only the new
    /// rows are sorted and merged in (the stable sort finds the run), not 10,000
    /// rows sorted again for each page of a first sweep.
    fn resort(&mut self) {
        let mut order = std::mem::take(&mut self.order);
        if order.len() > self.instances.len() {
            order.clear();
        }
        order.extend(order.len()..self.instances.len());
        let sort = self.sort;
        let inst = &self.instances;
        order.sort_by(|a, b| sort::compare(&inst[*a], &inst[*b], sort));
        self.order = order;
    }

    /// Recomputes the view from `order`, or by narrowing the current view when
    /// `narrow` is allowed and the new filter only adds characters to the name.
    fn refilter(&mut self, now_ms: i64, narrow: bool) {
        let needle = self.filter.name.to_lowercase();
        let stuck = self.stuck_after_ms();
        let (inst, filter) = (&self.instances, &self.filter);
        let keep = |i: &usize| filter.matches(&inst[*i], &needle, now_ms, stuck);
        if narrow && self.filter.narrows(&self.view_filter) {
            self.view.retain(keep);
        } else {
            self.view = self.order.iter().copied().filter(keep).collect();
        }
        self.view_filter = self.filter.clone();
        let mut by_source = vec![0; self.feeds.len()];
        for i in &self.view {
            let t = &self.instances[*i];
            if t.status.is_transitional()
                && let Some(n) = by_source.get_mut(t.key.source.index())
            {
                *n += 1;
            }
        }
        self.view_transitional = by_source.iter().sum();
        self.view_transitional_by_source = by_source;
        self.view_pos.clear();
        self.view_pos.resize(self.instances.len(), NOT_IN_VIEW);
        for (pos, i) in self.view.iter().enumerate() {
            self.view_pos[*i] = pos as u32;
        }
    }

    fn recount_attention(&mut self, now_ms: i64) {
        let stuck = self.stuck_after_ms();
        self.attention = self
            .instances
            .iter()
            .filter(|t| t.needs_attention(now_ms, stuck))
            .count();
        self.next_stuck_at_ms = self
            .instances
            .iter()
            .filter_map(|t| t.stuck_at_ms(stuck))
            .filter(|t| *t > now_ms)
            .min();
    }

    /// Keys of the rows around the cursor, nearest first (next, then previous),
    /// taken before the view changes.
    fn neighbour_keys(&self) -> Vec<InstanceKey> {
        if self.selected().is_none() {
            return Vec::new();
        }
        let mut keys = Vec::new();
        for d in 1..=NEIGHBOURS {
            for pos in [self.cursor.checked_add(d), self.cursor.checked_sub(d)]
                .into_iter()
                .flatten()
            {
                if let Some(i) = self.view.get(pos) {
                    keys.push(self.instances[*i].key.clone());
                }
            }
        }
        keys
    }

    /// Puts the cursor back on the selected instance; if it left the view, on the
    /// nearest surviving neighbour; failing that, on the same row.
    fn restore_selection(&mut self, neighbours: &[InstanceKey], old_cursor: usize) {
        let before = self.selected.clone();
        let pos_of = |key: &InstanceKey| {
            let i = *self.index.get(key)?;
            let pos = *self.view_pos.get(i)?;
            (pos != NOT_IN_VIEW).then_some(pos as usize)
        };
        let target = match self.selected.as_ref().and_then(pos_of) {
            Some(pos) => Some(pos),
            None if self.view.is_empty() => None,
            None => neighbours
                .iter()
                .find_map(pos_of)
                .or(Some(old_cursor.min(self.view.len() - 1))),
        };
        match target {
            Some(pos) => self.select_pos(pos),
            // Nothing to show: remember the selection for when the view refills.
            None => self.cursor = 0,
        }
        if self.selected != before {
            self.detail_scroll = 0;
        }
    }

    fn select_pos(&mut self, pos: usize) {
        let Some(i) = self.view.get(pos) else {
            return;
        };
        let key = &self.instances[*i].key;
        if self.selected.as_ref() != Some(key) {
            self.records.touch(key);
            self.selected = Some(key.clone());
            self.detail_scroll = 0;
        }
        self.cursor = pos;
        self.scroll_to_cursor();
    }

    fn scroll_to_cursor(&mut self) {
        let rows = usize::from(self.viewport.table_body.height);
        self.offset = offset_for(self.offset, self.cursor, rows, self.view.len());
    }

    fn max_detail_scroll(&self) -> usize {
        self.viewport
            .detail_lines
            .saturating_sub(usize::from(self.viewport.detail.height))
    }

    fn max_help_scroll(&self) -> usize {
        self.viewport
            .help_lines
            .saturating_sub(usize::from(self.viewport.help.height))
    }

    fn log(&mut self, at_ms: i64, t: &Tracked, kind: EventKind) {
        self.push_event(RecentEvent {
            at_ms,
            key: t.key.clone(),
            name: t.name().to_string(),
            kind,
        });
    }

    fn push_event(&mut self, event: RecentEvent) {
        if self.events.len() == MAX_EVENTS {
            self.events.pop_front();
        }
        if let Some(out) = &mut self.outbox {
            out.push(event.clone());
        }
        self.events.push_back(event);
    }

    fn flash_message(&mut self, message: impl Into<String>, now_ms: i64) {
        self.flash = Some((message.into(), now_ms));
    }
}

/// Keeps the previous offset when the cursor is still on screen (no jumping while
/// moving), scrolls just enough otherwise, and never leaves blank rows at the end.
fn offset_for(offset: usize, cursor: usize, rows: usize, len: usize) -> usize {
    if rows == 0 {
        return offset.min(cursor);
    }
    let mut offset = offset.min(len.saturating_sub(rows));
    if cursor < offset {
        offset = cursor;
    } else if cursor >= offset + rows {
        offset = cursor + 1 - rows;
    }
    offset
}
