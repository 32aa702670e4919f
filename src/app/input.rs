//! Keys and mouse in, state changes and [`Effect`]s out. Which key means what is
//! decided by the keymap (`keys.rs`); this file only says what each action does.

use std::collections::BTreeSet;

use crossterm::event::{KeyCode, KeyEvent, MouseButton, MouseEvent, MouseEventKind};

use crate::api::model::Status;

use super::keys::{self, Action};
use super::{App, Effect, Mode, Picker, SortColumn};

impl App {
    /// Dispatches one key through the keymap.
    pub fn handle_key(&mut self, ev: KeyEvent, now_ms: i64) -> Vec<Effect> {
        let Some(action) = keys::lookup(self.mode.kind(), &ev) else {
            return Vec::new();
        };
        if action == Action::ConfirmType {
            if let KeyCode::Char(c) = ev.code {
                self.confirm_edit(Some(c));
            }
            return Vec::new();
        }
        if action == Action::FilterType {
            if let KeyCode::Char(c) = ev.code {
                self.filter.name.push(c);
                self.filter_changed(now_ms, true);
            }
            return Vec::new();
        }
        self.perform(action, now_ms)
    }

    /// Click selects a table row; the wheel moves the selection, or scrolls the
    /// detail pane or help it is over. Returns effects for symmetry with keys.
    pub fn handle_mouse(&mut self, ev: MouseEvent, _now_ms: i64) -> Vec<Effect> {
        let inside = |r: ratatui::layout::Rect| {
            ev.column >= r.x
                && ev.column < r.x.saturating_add(r.width)
                && ev.row >= r.y
                && ev.row < r.y.saturating_add(r.height)
        };
        let down = match ev.kind {
            MouseEventKind::ScrollDown => true,
            MouseEventKind::ScrollUp => false,
            MouseEventKind::Down(MouseButton::Left) => {
                let body = self.viewport.table_body;
                if matches!(self.mode, Mode::Table) && inside(body) {
                    let rows = usize::from(body.height);
                    let pos = self.scroll_offset(rows) + usize::from(ev.row - body.y);
                    if pos < self.view.len() {
                        self.select_pos(pos);
                    }
                }
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        match &self.mode {
            Mode::Help { .. } => {
                self.help_scroll = step(self.help_scroll, down, 3, self.max_help_scroll())
            }
            Mode::Detail => self.scroll_detail(down, 3),
            Mode::Table | Mode::Filter if inside(self.viewport.detail) => {
                self.scroll_detail(down, 3)
            }
            Mode::Table | Mode::Filter => self.move_cursor(if down { 1 } else { -1 }),
            Mode::Picker(_) | Mode::Trends | Mode::Confirm(_) | Mode::Views(_) => {}
        }
        Vec::new()
    }

    fn perform(&mut self, action: Action, now_ms: i64) -> Vec<Effect> {
        let page = usize::from(self.viewport.table_body.height.max(1)) as isize;
        let detail_page = usize::from(self.viewport.detail.height.max(1));
        let in_detail = matches!(self.mode, Mode::Detail);
        match action {
            Action::Quit => return vec![Effect::Quit],
            Action::Refresh => {
                if self.track.poll().auth_stopped {
                    self.track.resume_after_auth_stop();
                    self.flash_message("retrying with the same credentials…", now_ms);
                } else {
                    self.flash_message("refreshing…", now_ms);
                }
                return vec![Effect::RefreshNow];
            }
            Action::TogglePause => {
                let pause = self.track.poll().paused_since_ms.is_none();
                self.track.set_paused(pause.then_some(now_ms));
                return vec![Effect::SetPaused(pause)];
            }
            Action::SlowerPolling | Action::FasterPolling => {
                let next = self
                    .track
                    .poll()
                    .stepped_interval(action == Action::FasterPolling);
                if next == self.track.poll().interval {
                    self.flash_message(
                        format!("polling interval stays at {}s", next.as_secs()),
                        now_ms,
                    );
                    return Vec::new();
                }
                self.track.set_interval(next);
                self.flash_message(format!("polling every {}s", next.as_secs()), now_ms);
                return vec![Effect::SetInterval(next)];
            }
            Action::CopyId => {
                let id = self.selected().and_then(|t| t.id().map(str::to_string));
                match id {
                    Some(id) => {
                        self.flash_message(format!("copied {id}"), now_ms);
                        return vec![Effect::CopyToClipboard(id)];
                    }
                    None => self.flash_message("nothing to copy: no instance id", now_ms),
                }
            }
            Action::CopySsh => return self.copy_ssh(now_ms),
            Action::OpenUrl => return self.open_url(now_ms),
            Action::Down if in_detail => self.scroll_detail(true, 1),
            Action::Up if in_detail => self.scroll_detail(false, 1),
            Action::PageDown if in_detail => self.scroll_detail(true, detail_page),
            Action::PageUp if in_detail => self.scroll_detail(false, detail_page),
            Action::Top if in_detail => self.detail_scroll = 0,
            Action::Bottom if in_detail => self.detail_scroll = self.max_detail_scroll(),
            Action::Down | Action::Up if matches!(self.mode, Mode::Help { .. }) => {
                let max = self.max_help_scroll();
                self.help_scroll = step(self.help_scroll, action == Action::Down, 1, max);
            }
            Action::Down | Action::Up if matches!(self.mode, Mode::Picker(_)) => {
                if let Mode::Picker(p) = &mut self.mode {
                    let last = p.entries.len().saturating_sub(1);
                    p.cursor = step(p.cursor, action == Action::Down, 1, last);
                }
            }
            Action::Down | Action::Up if matches!(self.mode, Mode::Views(_)) => {
                self.view_picker_step(action == Action::Down)
            }
            Action::Down => self.move_cursor(1),
            Action::Up => self.move_cursor(-1),
            Action::PageDown => self.move_cursor(page),
            Action::PageUp => self.move_cursor(-page),
            Action::Top => self.select_pos(0),
            Action::Bottom => self.select_pos(self.view.len().saturating_sub(1)),
            Action::NextProblem => self.jump_to_problem(true, now_ms),
            Action::PrevProblem => self.jump_to_problem(false, now_ms),
            Action::SortNext | Action::SortReverse => {
                if action == Action::SortNext {
                    self.sort.column = self.sort.column.next();
                    if self.sort.column == SortColumn::Source && !self.several_sources() {
                        self.sort.column = self.sort.column.next();
                    }
                    self.sort.descending = false;
                } else {
                    self.sort.descending = !self.sort.descending;
                }
                // Same rows, new order: the selection is still in the view.
                self.sort_changed(now_ms, &[], self.cursor);
            }
            Action::StartNameFilter => self.mode = Mode::Filter,
            Action::OpenStatusPicker => self.mode = Mode::Picker(self.picker()),
            Action::ToggleProblemsOnly => {
                self.filter.problems_only = !self.filter.problems_only;
                self.filter_changed(now_ms, false);
            }
            Action::ToggleDetail => {
                if self.selected().is_some() {
                    self.mode = Mode::Detail;
                }
            }
            Action::ToggleMark => self.toggle_mark(),
            Action::MarkShown => self.mark_shown(now_ms),
            Action::Back if matches!(self.mode, Mode::Detail) => self.mode = Mode::Table,
            // One Esc undoes one thing: the marks first, then the filters.
            Action::Back if self.clear_marks(now_ms) => {}
            Action::Back => {
                if self.filter.is_active() {
                    self.filter = super::Filter::default();
                    self.filter_changed(now_ms, false);
                    self.flash_message("filters cleared", now_ms);
                }
            }
            Action::Help => {
                self.help_scroll = 0;
                self.mode = Mode::Help {
                    from_detail: matches!(self.mode, Mode::Detail),
                };
            }
            Action::CloseHelp => {
                self.mode = match self.mode {
                    Mode::Help { from_detail: true } => Mode::Detail,
                    _ => Mode::Table,
                }
            }
            Action::Trends => self.mode = Mode::Trends,
            Action::CloseTrends => self.mode = Mode::Table,
            Action::FilterKeep => self.mode = Mode::Table,
            Action::FilterClear => {
                self.mode = Mode::Table;
                if !self.filter.name.is_empty() {
                    self.filter.name.clear();
                    self.filter_changed(now_ms, false);
                }
            }
            Action::FilterDelete => {
                if self.filter.name.pop().is_some() {
                    self.filter_changed(now_ms, false);
                }
            }
            // Handled in `handle_key`, which has the character.
            Action::FilterType => {}
            Action::PickerToggle => {
                if let Mode::Picker(p) = &mut self.mode
                    && let Some((status, _)) = p.entries.get(p.cursor)
                    && !p.chosen.remove(status)
                {
                    p.chosen.insert(status.clone());
                }
            }
            Action::PickerAll => {
                if let Mode::Picker(p) = &mut self.mode {
                    p.chosen.clear();
                }
            }
            Action::PickerApply => {
                if let Mode::Picker(p) = std::mem::replace(&mut self.mode, Mode::Table) {
                    self.filter.statuses = p.chosen;
                    self.filter_changed(now_ms, false);
                }
            }
            Action::PickerCancel => self.mode = Mode::Table,
            Action::OpenViews => self.open_view_picker(now_ms),
            Action::ViewApply => self.view_picker_apply(now_ms),
            Action::ViewCancel => self.mode = Mode::Table,
            Action::Act(verb) => return self.ask(verb, now_ms),
            Action::ConfirmYes => return self.confirm_yes(now_ms),
            Action::ConfirmNo => return self.confirm_no(now_ms),
            Action::ConfirmLonger => self.confirm_step(true),
            Action::ConfirmShorter => self.confirm_step(false),
            Action::ConfirmBackspace => self.confirm_edit(None),
            // Handled in `handle_key`, which has the character.
            Action::ConfirmType => {}
        }
        Vec::new()
    }

    /// The picker for the current data: every documented status plus any unknown
    /// one present, each with its count over all instances.
    fn picker(&self) -> Picker {
        let count = |s: &Status| {
            self.status_counts
                .iter()
                .find(|(x, _)| x == s)
                .map_or(0, |(_, n)| *n)
        };
        let mut entries: Vec<(Status, usize)> =
            Status::ALL.iter().map(|s| (s.clone(), count(s))).collect();
        let extra: BTreeSet<Status> = self
            .status_counts
            .iter()
            .map(|(s, _)| s.clone())
            .chain(self.filter.statuses.iter().cloned())
            .filter(|s| !s.is_known())
            .collect();
        entries.extend(extra.into_iter().map(|s| {
            let n = count(&s);
            (s, n)
        }));
        Picker {
            entries,
            cursor: 0,
            chosen: self.filter.statuses.clone(),
        }
    }

    fn filter_changed(&mut self, now_ms: i64, narrow: bool) {
        let neighbours = self.neighbour_places();
        let old_cursor = self.cursor;
        self.refilter(now_ms, narrow);
        self.restore_selection(&neighbours, old_cursor);
    }

    fn move_cursor(&mut self, delta: isize) {
        if self.view.is_empty() {
            return;
        }
        let last = self.view.len() - 1;
        let from = if self.selected().is_some() {
            self.cursor
        } else {
            0
        };
        let to = from.saturating_add_signed(delta).min(last);
        self.select_pos(to);
    }

    fn scroll_detail(&mut self, down: bool, by: usize) {
        let max = self.max_detail_scroll();
        self.detail_scroll = step(self.detail_scroll, down, by, max);
    }

    fn jump_to_problem(&mut self, forward: bool, now_ms: i64) {
        let len = self.view.len();
        if len == 0 {
            return;
        }
        let stuck = self.stuck_after_ms();
        let start = self.cursor.min(len - 1);
        let found = (1..=len)
            .map(|d| {
                if forward {
                    (start + d) % len
                } else {
                    (start + len - d % len) % len
                }
            })
            .find(|pos| self.track.instances()[self.view[*pos]].needs_attention(now_ms, stuck));
        match found {
            Some(pos) => self.select_pos(pos),
            None => self.flash_message("no problems in view", now_ms),
        }
    }
}

fn step(value: usize, down: bool, by: usize, max: usize) -> usize {
    if down {
        value.saturating_add(by).min(max)
    } else {
        value.saturating_sub(by).min(max)
    }
}
