//! Keeping the view in step with what is known: status counts, the sorted
//! order, the filtered rows, the selection kept by key across both, the
//! problem count, and scrolling. Called by the data-in and key handlers of
//! `mod.rs` after they change the population, the filter or the sort.

use super::*;

impl App {
    /// Instances per status: the known ones in lifecycle order, then those
    /// this version does not know, by name. Counted by place, not by hash: it
    /// runs over every instance after each batch that changed a row.
    pub(super) fn count_statuses(&mut self) {
        let mut known = [0usize; Status::ALL.len()];
        let mut unknown: HashMap<&Status, usize> = HashMap::new();
        for t in self.track.instances() {
            match t.status.place() {
                Some(p) => known[p] += 1,
                None => *unknown.entry(&t.status).or_default() += 1,
            }
        }
        let mut out: Vec<(Status, usize)> = Status::ALL
            .iter()
            .zip(known)
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| (s.clone(), n))
            .collect();
        let mut unknown: Vec<(Status, usize)> =
            unknown.into_iter().map(|(s, n)| (s.clone(), n)).collect();
        unknown.sort();
        out.extend(unknown);
        self.status_counts = out;
    }

    /// Sorts every instance. The last order is the starting point: it holds
    /// instances `0..len` (rows are only appended between sorts; a removal
    /// keeps the others' order, see `App::follow`), so while a sweep adds pages the sorted run is kept and only the new
    /// rows are sorted and merged in (the stable sort finds the run), not 10,000
    /// rows sorted again for each page of a first sweep.
    pub(super) fn resort(&mut self) {
        let mut order = std::mem::take(&mut self.order);
        let inst = self.track.instances();
        if order.len() > inst.len() {
            order.clear();
        }
        order.extend(order.len()..inst.len());
        let sort = self.sort;
        order.sort_by(|a, b| sort::compare(&inst[*a], &inst[*b], sort));
        self.order = order;
    }

    /// Brings the order up to date after `changes` without a whole sort when
    /// it can, and says whether it did. The order already holds the rows that
    /// were there before, at their places after `changes` (those that left
    /// taken out: the rest are still in order). Only the rows whose record was taken
    /// in can have moved, and an order is sorted when each pair of neighbours
    /// is, so comparing each such row with its two neighbours tells; rows that
    /// joined (at the end of the instances) then go in at their place by
    /// binary search. A handful of comparisons on each batch of pages, where a
    /// sort of 10,000 rows costs tens of thousands.
    pub(super) fn keep_sorted(&mut self, changes: &Changes) -> bool {
        let inst = self.track.instances();
        let old = self.order.len();
        // Many new rows (a first sweep's pages): one sort is cheaper.
        if old > inst.len() || (inst.len() - old) * 16 > inst.len() {
            return false;
        }
        let moved: Vec<usize> = changes
            .changed
            .iter()
            .chain(&changes.records)
            .filter_map(|k| self.track.index_of(k))
            .filter(|i| *i < old)
            .collect();
        let sort = self.sort;
        if !moved.is_empty() {
            let mut pos = vec![0usize; old];
            for (p, i) in self.order.iter().enumerate() {
                if let Some(slot) = pos.get_mut(*i) {
                    *slot = p;
                }
            }
            let order = &self.order;
            let in_order = |p: usize| {
                sort::compare(&inst[order[p]], &inst[order[p + 1]], sort)
                    != std::cmp::Ordering::Greater
            };
            let sorted = moved.into_iter().all(|i| {
                let p = pos[i];
                (p == 0 || in_order(p - 1)) && (p + 1 >= old || in_order(p))
            });
            if !sorted {
                return false;
            }
        }
        for i in old..inst.len() {
            let at = self.order.partition_point(|j| {
                sort::compare(&inst[*j], &inst[i], sort) == std::cmp::Ordering::Less
            });
            self.order.insert(at, i);
        }
        true
    }

    /// The sort (or a view holding one) changed: the rows in their new order,
    /// the selection kept. Every row moved, so the old scroll offset means
    /// nothing: the table shows the new order from its top, scrolled only as
    /// far as the selection needs. (Kept, it hid the first rows whenever the
    /// selection moved up past it: sorted by source, a source's first row sat
    /// above a selection that the reversal put on its second.)
    pub(super) fn sort_changed(&mut self, now_ms: i64, neighbours: &[usize], old_cursor: usize) {
        self.resort();
        self.refilter(now_ms, false);
        self.offset = 0;
        self.restore_selection(neighbours, old_cursor);
    }

    /// Recomputes the view from `order`, or by narrowing the current view when
    /// `narrow` is allowed and the new filter only adds characters to the name.
    pub(super) fn refilter(&mut self, now_ms: i64, narrow: bool) {
        let needle = self.filter.name.to_lowercase();
        let stuck = self.stuck_after_ms();
        let (inst, filter) = (self.track.instances(), &self.filter);
        let keep = |i: &usize| filter.matches(&inst[*i], &needle, now_ms, stuck);
        if narrow && self.filter.narrows(&self.view_filter) {
            self.view.retain(keep);
        } else {
            self.view = self.order.iter().copied().filter(keep).collect();
        }
        self.view_filter = self.filter.clone();
        let mut by_source = vec![0; self.track.feeds().len()];
        for i in &self.view {
            let t = &inst[*i];
            if t.status.is_transitional()
                && let Some(n) = by_source.get_mut(t.key.source.index())
            {
                *n += 1;
            }
        }
        self.view_transitional = by_source.iter().sum();
        self.view_transitional_by_source = by_source;
        self.view_pos.clear();
        self.view_pos.resize(inst.len(), NOT_IN_VIEW);
        for (pos, i) in self.view.iter().enumerate() {
            self.view_pos[*i] = pos as u32;
        }
    }

    pub(super) fn recount_attention(&mut self, now_ms: i64) {
        let stuck = self.stuck_after_ms();
        let inst = self.track.instances();
        self.attention = inst
            .iter()
            .filter(|t| t.needs_attention(now_ms, stuck))
            .count();
        self.next_stuck_at_ms = inst
            .iter()
            .filter_map(|t| t.stuck_at_ms(stuck))
            .filter(|t| *t > now_ms)
            .min();
    }

    /// Places in the instances of the rows around the cursor, nearest first
    /// (next, then previous), taken before the view changes. Places, not
    /// keys: this runs before every batch, and the keys are needed only when
    /// the selected row left the view (a batch that removes instances moves
    /// places: see `Changes::places_after`).
    pub(super) fn neighbour_places(&self) -> Vec<usize> {
        if self.selected().is_none() {
            return Vec::new();
        }
        let mut places = Vec::with_capacity(2 * NEIGHBOURS);
        for d in 1..=NEIGHBOURS {
            for pos in [self.cursor.checked_add(d), self.cursor.checked_sub(d)]
                .into_iter()
                .flatten()
            {
                places.extend(self.view.get(pos));
            }
        }
        places
    }

    /// Puts the cursor back on the selected instance; if it left the view, on the
    /// nearest surviving neighbour (`neighbours`: places in the instances as
    /// they are now); failing that, on the same row.
    pub(super) fn restore_selection(&mut self, neighbours: &[usize], old_cursor: usize) {
        let before = self.selected.clone();
        let pos_of = |i: usize| {
            let pos = *self.view_pos.get(i)?;
            (pos != NOT_IN_VIEW).then_some(pos as usize)
        };
        let selected = self
            .selected
            .as_ref()
            .and_then(|key| self.track.index_of(key))
            .and_then(pos_of);
        let target = match selected {
            Some(pos) => Some(pos),
            None if self.view.is_empty() => None,
            None => neighbours
                .iter()
                .find_map(|i| pos_of(*i))
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

    pub(super) fn select_pos(&mut self, pos: usize) {
        let Some(i) = self.view.get(pos) else {
            return;
        };
        let key = self.track.instances()[*i].key.clone();
        if self.selected.as_ref() != Some(&key) {
            self.track.touch_record(&key);
            self.selected = Some(key);
            self.detail_scroll = 0;
        }
        self.cursor = pos;
        self.scroll_to_cursor();
    }

    pub(super) fn scroll_to_cursor(&mut self) {
        let rows = usize::from(self.viewport.table_body.height);
        self.offset = offset_for(self.offset, self.cursor, rows, self.view.len());
    }

    pub(super) fn max_detail_scroll(&self) -> usize {
        self.viewport
            .detail_lines
            .saturating_sub(usize::from(self.viewport.detail.height))
    }

    pub(super) fn max_help_scroll(&self) -> usize {
        self.viewport
            .help_lines
            .saturating_sub(usize::from(self.viewport.help.height))
    }

    pub(super) fn flash_message(&mut self, message: impl Into<String>, now_ms: i64) {
        self.flash = Some((message.into(), now_ms));
    }
}

/// Keeps the previous offset when the cursor is still on screen (no jumping while
/// moving), scrolls just enough otherwise, and never leaves blank rows at the end.
pub(super) fn offset_for(offset: usize, cursor: usize, rows: usize, len: usize) -> usize {
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
