//! The dashboard's view over a [`Tracker`] (what is known, see `crate::track`):
//! the filtered and sorted table, the selection (kept by key, never by row),
//! modes, keys, confirmations, marks and views. No terminal and no I/O: poller
//! messages come in through [`App::apply_all`] (the tracker applies them; the
//! view follows once per batch), keys through [`App::handle_key`], and what the
//! event loop must do comes out as [`Effect`]s (from keys, and from
//! [`App::due_effects`]). Everything that needs the time takes `now_ms`.
//!
//! Why over 700 lines: the view is one struct whose order, filter, selection
//! and scrolling share the tracker's indices; the keys, picker, marks, actions
//! and fixtures already live in their own modules.

mod access;
pub mod actions;
pub mod clipboard;
pub mod detail;
mod duties;
pub mod filter;
mod input;
pub mod keys;
pub mod marks;
pub mod sort;
mod view;
pub mod views;

pub use crate::track::{Changes, Tracker, feeds, poll, records, row, tracked, trend};

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
use crate::watch::Message;

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
    /// Poll source `source`'s hot tier (or stop): an instance of it on screen
    /// is changing state (see [`App::due_effects`]).
    SetHot {
        source: SourceId,
        hot: bool,
    },
    /// Read the whole record the detail pane shows, from its source (see
    /// [`App::due_effects`]); the answer goes to [`App::apply_detail`].
    ReadRecord(DetailWant),
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

pub use crate::track::{EventKind, MAX_EVENTS, RecentEvent};

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
    /// What is known: instances, sources, events, trend. The rest is the view.
    track: Tracker,
    /// The detail pane's read of a record not held.
    detail_read: detail::DetailRead,
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
    status_counts: Vec<(Status, usize)>,
    attention: usize,
    /// The next time an instance crosses the stuck threshold.
    next_stuck_at_ms: Option<i64>,
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
    /// What the event loop must do because the state changed (see `duties.rs`).
    duties: duties::Duties,
}

impl App {
    pub fn new(timing: Timing) -> App {
        App {
            timing,
            track: Tracker::new(timing.interval, crate::defaults::FULL_RECORDS),
            detail_read: detail::DetailRead::default(),
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
            status_counts: Vec::new(),
            attention: 0,
            next_stuck_at_ms: None,
            flash: None,
            viewport: Viewport::default(),
            detail_scroll: 0,
            help_scroll: 0,
            actions: actions::ActionState::default(),
            marks: marks::Marks::default(),
            views: views::ViewState::default(),
            ssh_key_dirs: Vec::new(),
            duties: duties::Duties::default(),
        }
    }

    // ---- data in -------------------------------------------------------------

    /// What is known, without the view.
    pub fn tracker(&self) -> &Tracker {
        &self.track
    }

    /// The sources watched, by name, in the order their pollers are numbered.
    /// Called before any data arrives; one source unless called.
    pub fn set_sources(&mut self, names: Vec<String>) {
        self.track.set_sources(names);
    }

    /// Each source's request budget per minute, by source number (the status
    /// bar states it with several sources).
    pub fn set_budgets(&mut self, budgets: Vec<u32>) {
        self.track.set_budgets(budgets);
    }

    /// Applies the poller messages received at `now_ms`, each from its source
    /// (see [`Tracker::apply_all`]), then brings the view up to date once for
    /// the whole batch: marks of instances gone, order, filter, selection.
    pub fn apply_all(
        &mut self,
        msgs: impl IntoIterator<Item = (SourceId, Message)>,
        now_ms: i64,
    ) -> Changes {
        let neighbours = self.neighbour_places();
        let old_cursor = self.cursor;
        let changes = self.track.apply_all(msgs, now_ms);
        let neighbours: Vec<usize> = if changes.gone.is_empty() {
            neighbours
        } else {
            neighbours
                .into_iter()
                .filter_map(|i| changes.places_after(i))
                .collect()
        };
        self.follow(&changes, now_ms, &neighbours, old_cursor);
        changes
    }

    /// The view after the tracker changed (`neighbours` and `old_cursor` taken before).
    fn follow(&mut self, changes: &Changes, now_ms: i64, neighbours: &[usize], old_cursor: usize) {
        for key in &changes.gone {
            self.marks.forget(key);
        }
        if !changes.gone.is_empty() {
            // The others' places moved, their order did not.
            let mut order = std::mem::take(&mut self.order);
            order.retain_mut(|i| match changes.places_after(*i) {
                Some(after) => {
                    *i = after;
                    true
                }
                None => false,
            });
            self.order = order;
        }
        if changes.rows() || changes.sweep_ended {
            if !self.keep_sorted(changes) {
                self.resort();
            }
            self.review(now_ms, neighbours, old_cursor);
        }
    }

    /// One instance as the service showed it outside the sweep (see
    /// [`Tracker::take_instance`]); the view follows.
    pub(super) fn apply_instance(
        &mut self,
        key: &InstanceKey,
        nb: Notebook,
        now_ms: i64,
        held: bool,
    ) {
        let neighbours = self.neighbour_places();
        let old_cursor = self.cursor;
        // No instance leaves on such a read; counts and attention follow the
        // time even when it only confirmed the row.
        self.track.take_instance(key, nb, now_ms, held);
        self.recompute(now_ms, &neighbours, old_cursor);
    }

    /// Counts, order, view, selection and attention after the population changed.
    fn recompute(&mut self, at: i64, neighbours: &[usize], old_cursor: usize) {
        self.resort();
        self.review(at, neighbours, old_cursor);
    }

    /// Counts, view, selection and attention over the order as it stands.
    fn review(&mut self, at: i64, neighbours: &[usize], old_cursor: usize) {
        self.count_statuses();
        self.refilter(at, false);
        self.restore_selection(neighbours, old_cursor);
        self.recount_attention(at);
    }

    /// Source `source`'s count of HTTP requests in the minute before `at_ms`
    /// (the event loop reads it from the client between polls).
    pub fn record_requests(&mut self, source: SourceId, requests_last_minute: u32, at_ms: i64) {
        self.track
            .record_requests(source, requests_last_minute, at_ms);
    }

    /// Requests source `source`'s first-sweep burst still allows.
    pub fn record_burst(&mut self, source: SourceId, left: Option<u64>) {
        self.track.record_burst(source, left);
    }

    /// Fast polling and the budget's stretch of source `source`'s interval.
    pub fn record_pace(&mut self, source: SourceId, pace: Pace) {
        self.track.record_pace(source, pace);
    }

    /// Whether a row has gone unconfirmed for longer than its sweep's period
    /// allows (see [`Tracker::is_unconfirmed`]).
    pub fn is_unconfirmed(&self, t: &Tracked, now_ms: i64) -> bool {
        self.track.is_unconfirmed(t, now_ms)
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
                let neighbours = self.neighbour_places();
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
        self.track.has_data()
    }

    /// See [`Tracker::revision`].
    pub fn revision(&self) -> u64 {
        self.track.revision()
    }

    /// Every instance, in the order of the last snapshot.
    pub fn instances(&self) -> &[Tracked] {
        self.track.instances()
    }

    pub fn get(&self, key: &InstanceKey) -> Option<&Tracked> {
        self.track.get(key)
    }

    pub fn total(&self) -> usize {
        self.track.instances().len()
    }

    /// Rows in the table after filtering.
    pub fn shown(&self) -> usize {
        self.view.len()
    }

    /// The table rows `start..start+len` (clamped): only what is drawn is touched.
    pub fn rows(&self, start: usize, len: usize) -> impl Iterator<Item = &Tracked> {
        let start = start.min(self.view.len());
        let end = start.saturating_add(len).min(self.view.len());
        let inst = self.track.instances();
        self.view[start..end].iter().map(move |i| &inst[*i])
    }

    /// The selected instance, if it is in the table.
    pub fn selected(&self) -> Option<&Tracked> {
        let i = self.track.index_of(self.selected.as_ref()?)?;
        (self.view_pos.get(i).copied() != Some(NOT_IN_VIEW)).then(|| &self.track.instances()[i])
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
        view::offset_for(self.offset, self.cursor, rows, self.view.len())
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
        self.track.poll()
    }

    /// Each source's polling state, in poller order (one when one source is watched).
    pub fn feeds(&self) -> &[Feed] {
        self.track.feeds()
    }

    /// More than one source is watched: the table shows a source column and
    /// the header a line per source.
    pub fn several_sources(&self) -> bool {
        self.track.feeds().len() > 1
    }

    /// With several sources, the one whose error the poll state shows (an
    /// authentication stop first, as [`feeds::combine`] chooses).
    pub fn failing_source(&self) -> Option<&Feed> {
        if !self.several_sources() {
            return None;
        }
        let feeds = self.track.feeds();
        feeds
            .iter()
            .find(|f| f.poll.auth_stopped)
            .or_else(|| feeds.iter().find(|f| f.poll.last_error.is_some()))
    }

    /// What source `source` is called.
    pub fn source_name(&self, source: SourceId) -> &str {
        self.track
            .feeds()
            .get(source.index())
            .map_or("", |f| f.name.as_str())
    }

    pub fn freshness(&self, now_ms: i64) -> Freshness {
        self.track.poll().freshness(now_ms)
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
        self.track.trend()
    }

    /// The journal's entries of the sources named `sources` (in poller
    /// order): the trends view reaches back over them once the first listing
    /// is in.
    pub fn set_history(&mut self, entries: Vec<crate::journal::Entry>, sources: &[String]) {
        self.track.set_history(entries, sources);
    }

    pub fn events(&self) -> &VecDeque<RecentEvent> {
        self.track.events()
    }

    /// Every event since the last call (the journal's feed). The first call
    /// starts the collection and returns nothing; until then none is kept.
    pub fn take_events(&mut self) -> Vec<RecentEvent> {
        self.track.take_events()
    }

    /// See [`Tracker::left_of`].
    pub fn left_of(&self, events: &[RecentEvent]) -> Vec<InstanceKey> {
        self.track.left_of(events)
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
}
