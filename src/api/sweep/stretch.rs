//! The bookkeeping of one [sweep](super): which pages read so far link into one
//! unbroken stretch of the listing (a union-find over pages that share an
//! instance), which boundaries are broken, where to read to repair each, how
//! much the listing moved and so how far the next pages must overlap. The
//! driver in [`super`] reads what this asks for and hands back what arrived.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use super::{IdMemo, ListPage, MAX_TOTAL, PagePlace, PageSink, SweepReport};

/// Repair reads a broken boundary may take before what it measured moving
/// earns it more.
const REPAIR_BASE: u32 = 3;
/// Boundaries whose measured move sets the overlap of the next pages.
const OVERLAP_WINDOW: usize = 8;

/// What the sweep knows of a page it read.
struct Seen {
    offset: u64,
    len: u64,
    /// Its ids' hashes, in the listing's order.
    ids: Vec<u64>,
    set: HashSet<u64>,
    /// The listing ended in it when it was read: short, or reaching the
    /// `total` sent with it.
    ends: bool,
    /// The `total` sent with it.
    total: Option<i64>,
    /// How far its instances moved since they were last seen on another
    /// page (the median), if any were.
    moved: Option<i64>,
}

impl Seen {
    /// Items without ids: such a page cannot be checked (no requests are spent on it).
    fn unchecked(&self) -> bool {
        self.len > 0 && self.ids.is_empty()
    }

    /// Where `id` sits in this page.
    fn index_of(&self, id: u64) -> Option<u64> {
        self.ids.iter().position(|&x| x == id).map(|i| i as u64)
    }
}

/// The hash a page's id is remembered by.
pub(super) fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// Why a page was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Job {
    /// The planned run.
    Planned,
    /// A repair of the gap numbered so.
    Repair(usize),
}

/// A broken boundary being repaired: the page furthest along on its left
/// (joined to the head's side) and the earliest on its right (`None`: the end
/// of the listing).
struct Gap {
    left: usize,
    right: Option<usize>,
    reads: u32,
    budget: u32,
    open: bool,
}

/// The state of one sweep.
pub(super) struct Run<'a, P: ListPage, S: PageSink<P::Item>> {
    pub(super) sink: &'a mut S,
    limit: u64,
    part: u32,
    loaded_before: u64,
    total_before: u64,
    seq: u64,
    report: SweepReport,
    pages: Vec<Seen>,
    /// Union-find over `pages`: linked pages cover one stretch of the listing.
    parent: Vec<usize>,
    /// Per root: whether its stretch reaches a page that ended the listing.
    reaches_end: Vec<bool>,
    /// Where each id was last seen: (page, index in it).
    seen_at: HashMap<u64, (usize, u64)>,
    /// The planned pages that arrived, by offset; and every planned offset asked for.
    planned: std::collections::BTreeMap<u64, usize>,
    pub(super) asked: BTreeSet<u64>,
    /// Recent measured moves (items) that the overlap must absorb.
    moves: VecDeque<u64>,
    min_overlap: u64,
    gaps: Vec<Gap>,
    pub(super) queue: VecDeque<(Job, u64)>,
    /// Repair reads allowed in all, whatever the gaps earn.
    pub(super) repair_cap: u64,
    /// The service ignores `offset` (a later page repeated the first): stop planning.
    ignores_offset: bool,
    _page: std::marker::PhantomData<P>,
}

impl<'a, P: ListPage, S: PageSink<P::Item>> Run<'a, P, S> {
    /// A new sweep of pages holding `limit` items each; `part` and what the
    /// parts before it loaded say where its pages sit in the whole sweep.
    pub(super) fn new(
        sink: &'a mut S,
        limit: u64,
        part: u32,
        (loaded_before, total_before): (u64, u64),
        min_overlap: u64,
    ) -> Self {
        Run {
            sink,
            limit,
            part,
            loaded_before,
            total_before,
            seq: 0,
            report: SweepReport::default(),
            pages: Vec::new(),
            parent: Vec::new(),
            reaches_end: Vec::new(),
            seen_at: HashMap::new(),
            planned: std::collections::BTreeMap::new(),
            asked: BTreeSet::new(),
            moves: VecDeque::new(),
            min_overlap: min_overlap.min(limit - 1),
            gaps: Vec::new(),
            queue: VecDeque::new(),
            repair_cap: 0,
            ignores_offset: false,
            _page: std::marker::PhantomData,
        }
    }

    /// What the sweep did, once nothing is left to read: `head` is the first page.
    pub(super) fn finish(mut self, head: usize) -> SweepReport {
        self.report.pages = self.asked.len() as u64;
        self.report.overlap = self.report.overlap.max(self.min_overlap);
        for g in 0..self.gaps.len() {
            if !self.closed(g) {
                self.report.unproven += 1;
            }
        }
        let unchecked = self.pages.iter().any(Seen::unchecked);
        let r = self.root(head);
        self.report.complete = (self.reaches_end[r] && !self.ignores_offset) || unchecked;
        self.report
    }

    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn join(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra != rb {
            self.parent[rb] = ra;
            self.reaches_end[ra] |= self.reaches_end[rb];
        }
    }

    fn linked(&mut self, a: usize, b: usize) -> bool {
        self.root(a) == self.root(b)
    }

    /// The overlap for the pages not yet asked for: the least, or enough to
    /// absorb the largest recent move.
    fn overlap(&self) -> u64 {
        let moved = self.moves.iter().max().copied().unwrap_or(0);
        // A boundary keeps a shared instance while the listing moves by less
        // than the overlap.
        let wanted = moved + 1;
        self.min_overlap
            .max(wanted.min(self.limit / 4))
            .min(self.limit.saturating_sub(1))
    }

    fn note_move(&mut self, moved: u64) {
        self.report.moved = self.report.moved.max(moved);
        self.moves.push_back(moved);
        if self.moves.len() > OVERLAP_WINDOW {
            self.moves.pop_front();
        }
    }

    /// Records a page (linking it to every page it shares an id with) and
    /// hands its items to the sink.
    pub(super) fn take(&mut self, offset: u64, page: P, read_at_ms: i64) -> usize {
        let page_total = page.total();
        if let Some(t) = page_total {
            self.report.total = Some(t);
        }
        let items = page.into_items();
        let len = items.len() as u64;
        let mut ids = Vec::with_capacity(items.len());
        for item in &items {
            match IdMemo::id_hash::<P>(self.sink.memo(), item) {
                Some(h) => {
                    self.report.ids.insert(h);
                    ids.push(h);
                }
                None => self.report.idless += 1,
            }
        }
        let ends = (len > 0 || offset == 0)
            && (len < self.limit || page_total.is_some_and(|t| offset + len >= t.max(0) as u64));
        let me = self.pages.len();
        self.pages.push(Seen {
            offset,
            len,
            set: ids.iter().copied().collect(),
            ids,
            ends,
            total: page_total,
            moved: None,
        });
        self.parent.push(me);
        self.reaches_end.push(ends);
        let mut moves = Vec::new();
        for j in 0..self.pages[me].ids.len() {
            let id = self.pages[me].ids[j];
            if let Some((other, i)) = self.seen_at.insert(id, (me, j as u64)) {
                self.join(other, me);
                let was = self.pages[other].offset + i;
                moves.push((offset + j as u64) as i64 - was as i64);
            }
        }
        moves.sort_unstable();
        self.pages[me].moved = moves.get(moves.len() / 2).copied();
        self.seq += 1;
        let place = PagePlace {
            part: self.part,
            offset,
            seq: self.seq,
            loaded: self.loaded_before + self.report.ids.len() as u64 + self.report.idless,
            total: self
                .report
                .total
                .map(|t| self.total_before + t.max(0) as u64),
            read_at_ms,
        };
        self.sink.page(items, place);
        me
    }

    /// How far the listing moved at `p`'s place between its read and `r`'s,
    /// measured on the first instance both hold (positive: towards the end).
    fn shift(&self, p: usize, r: usize) -> Option<i64> {
        let (p, r) = (&self.pages[p], &self.pages[r]);
        r.ids.iter().enumerate().find_map(|(j, id)| {
            let i = p.index_of(*id)?;
            Some((r.offset + j as u64) as i64 - (p.offset + i) as i64)
        })
    }

    /// A planned page arrived: check its boundaries with the planned pages
    /// beside it that arrived already.
    pub(super) fn planned_arrived(&mut self, me: usize) {
        let offset = self.pages[me].offset;
        self.planned.insert(offset, me);
        let before = self
            .planned
            .range(..offset)
            .next_back()
            .map(|(o, i)| (*o, *i));
        let after = self
            .planned
            .range(offset + 1..)
            .next()
            .map(|(o, i)| (*o, *i));
        if let Some((o, a)) = before
            && self.asked.range(o + 1..offset).next().is_none()
        {
            self.boundary(a, me);
        }
        if let Some((o, b)) = after
            && self.asked.range(offset + 1..o).next().is_none()
        {
            self.boundary(me, b);
        }
    }

    /// Checks the boundary between two neighbouring planned pages.
    fn boundary(&mut self, a: usize, b: usize) {
        if self.pages[a].ends || self.pages[a].unchecked() || self.pages[b].unchecked() {
            return;
        }
        let b_page = &self.pages[b];
        let head = &self.pages[0];
        if b_page.len == self.limit
            && b_page.offset > 0
            && b_page.ids == head.ids
            && b_page.total == head.total
        {
            // The first page again, `total` unchanged: the server (or a proxy)
            // ignores `offset`. (Or the listing moved by exactly that much
            // and back: either way the sweep stops here, incomplete.)
            tracing::warn!(
                offset = b_page.offset,
                "a page repeated the first page; stopping here"
            );
            self.ignores_offset = true;
            return;
        }
        let overlap = (self.pages[a].offset + self.limit).saturating_sub(self.pages[b].offset);
        match self.shift(a, b) {
            Some(s) => self.note_move(s.min(0).unsigned_abs()),
            None => {
                // Broken: it moved by the overlap at least.
                self.note_move(overlap);
                if self.linked(a, b) {
                    return;
                }
                self.report.breaks += 1;
                tracing::info!(
                    offset = self.pages[b].offset,
                    "the listing moved at a page boundary; repairing it"
                );
                let right = (self.pages[b].len > 0).then_some(b);
                self.gaps.push(Gap {
                    left: a,
                    right,
                    reads: 0,
                    budget: REPAIR_BASE,
                    open: true,
                });
                let g = self.gaps.len() - 1;
                let (a, b) = (&self.pages[a], &self.pages[b]);
                let mid = (a.offset + a.len + b.offset) / 2;
                self.queue
                    .push_front((Job::Repair(g), mid.saturating_sub(self.limit / 2)));
            }
        }
    }

    /// Whether the gap's two sides are one stretch now.
    fn closed(&mut self, g: usize) -> bool {
        let Gap { left, right, .. } = self.gaps[g];
        match right {
            Some(b) => self.linked(left, b),
            None => {
                let r = self.root(left);
                self.reaches_end[r]
            }
        }
    }

    /// A repair page arrived: is the gap closed? If not, where to read next.
    pub(super) fn repair_arrived(&mut self, g: usize, r: usize) {
        self.report.bridges += 1;
        self.gaps[g].reads += 1;
        if self.closed(g) {
            self.gaps[g].open = false;
            return;
        }
        let limit = self.limit;
        // Items repeated between two repair reads: generous, they are cheap.
        let walk = (limit / 8).max(self.overlap() + 2).min(limit / 2).max(1);
        let (left, right) = (self.gaps[g].left, self.gaps[g].right);
        let to_left = self.linked(r, left);
        let to_right = right.is_some_and(|b| self.linked(r, b));
        let (r_offset, r_len) = (self.pages[r].offset, self.pages[r].len);
        let r_first = self.pages[r].ids.first().copied();
        let r_last = self.pages[r].ids.last().copied();
        // Where the left side's last item is now, given how far it moved.
        let left_tail = |run: &Self, s: i64| {
            let l = &run.pages[left];
            ((l.offset + l.len) as i64 + s).max(0) as u64 - walk.min(l.len)
        };
        let measured = self.shift(left, r).or(self.pages[r].moved);
        let next = if to_left && r_last.is_some_and(|id| !self.pages[left].set.contains(&id)) {
            // R reaches past the left side: walk on from its end.
            self.gaps[g].left = r;
            r_offset + r_len - walk.min(r_len)
        } else if let (Some(b), true, false) = (right, to_right, to_left) {
            // Joined to the right side only: read back from where it starts now.
            let head = if r_first.is_some_and(|id| !self.pages[b].set.contains(&id)) {
                self.gaps[g].right = Some(r);
                r_offset
            } else {
                self.shift(b, r).map_or(r_offset, |s| {
                    (self.pages[b].offset as i64 + s).max(0) as u64
                })
            };
            (head + walk).saturating_sub(limit)
        } else if let Some(s) = measured {
            left_tail(self, s)
        } else if r_len == 0 {
            // Past the end: the listing is shorter than it was.
            let total = self.report.total.unwrap_or(0).max(0) as u64;
            total.min(r_offset).saturating_sub(limit - walk)
        } else {
            // Nothing in R was seen before: new instances, ahead of the gap.
            r_offset + r_len - walk.min(r_len)
        };
        if let Some(s) = measured {
            let step = (limit - walk).max(1);
            let earned = REPAIR_BASE + 2 * s.unsigned_abs().div_ceil(step) as u32;
            self.gaps[g].budget = self.gaps[g].budget.max(earned);
            self.report.moved = self.report.moved.max(s.unsigned_abs());
        }
        if self.gaps[g].reads >= self.gaps[g].budget || self.report.bridges >= self.repair_cap {
            self.gaps[g].open = false;
            return;
        }
        self.queue.push_front((Job::Repair(g), next.min(MAX_TOTAL)));
    }
}

impl<P: ListPage, S: PageSink<P::Item>> Run<'_, P, S> {
    /// The next planned page to ask for, after the one at `last`: while the
    /// listing (as its latest `total` says) goes on past it. Without a
    /// `total`, one at a time while pages come back full.
    pub(super) fn next_planned(&mut self, last: u64, idle: bool) -> Option<u64> {
        if self.ignores_offset {
            return None;
        }
        let overlap = self.overlap();
        self.report.overlap = self.report.overlap.max(overlap);
        let next = last + (self.limit - overlap).max(1);
        if next >= MAX_TOTAL {
            return None;
        }
        // A planned page that ended the listing at or before `last`: done.
        if self
            .planned
            .range(..=last)
            .any(|(_, &p)| self.pages[p].ends)
        {
            return None;
        }
        match self.report.total {
            Some(t) => (last + self.limit < t.max(0) as u64).then_some(next),
            None => {
                let full = self
                    .planned
                    .get(&last)
                    .is_some_and(|&p| !self.pages[p].ends);
                (idle && full).then_some(next)
            }
        }
    }
}
