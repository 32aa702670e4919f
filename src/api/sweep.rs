//! One sweep over every page of a listing, repaired where the population moved.
//!
//! Pages are read at offsets `0, step, 2 × step, …` with `step = limit − overlap`,
//! so each page repeats the last `overlap` items of the one before. Instances
//! created or deleted between two page reads shift the rest of the listing;
//! where that happened two neighbouring pages may share no instance, and only
//! that region is read again ("repair" pages), at once, while little has moved.
//! The rest of the sweep is never read again.
//!
//! Why a shared instance proves nothing was skipped: the listing is sorted by
//! fields that do not change (creation time by default, ties by id), so two
//! instances keep their relative order for as long as both exist. A page is a
//! contiguous run of the listing at the moment it was read. If pages A and B
//! share an instance `x`, every instance alive throughout that is ranked
//! between A's first and B's last is in A or B: up to `x` and from `x` to A's
//! end it was in A's run, from `x` to B's end in B's. So the pages linked by
//! shared instances (directly or through others) cover one unbroken stretch of
//! the listing. The sweep is complete when the stretch of the first page (at
//! offset 0, the head) reaches a page that ended the listing (short, or
//! reaching the `total` sent with it): an instance alive throughout the sweep
//! is then in its result. (A user-chosen sort on a field that changes, such as
//! `status`, voids the argument; the sweep still repairs what it can see.)
//!
//! ```text
//!   A  [a ............ a+L)
//!   B               [b ............ b+L)        b = a + L − overlap
//!   shared ids?  yes → one stretch      no → repair: a page where the gap is
//!                                            now (measured from the instances it
//!                                            finds), walking from A's side or
//!                                            B's until one page joins them
//! ```
//!
//! The overlap adapts: each proven boundary says how far the listing moved
//! between its two reads (where the shared instance stood in each), and the
//! pages not yet asked for repeat enough to absorb the largest recent move.
//! A repair may read more the more it measured the listing moving; when its
//! budget runs out the sweep says it is incomplete (`list` then refuses to
//! print a partial listing; the dashboard confirms nothing from it).
//!
//! Each page goes to a [`PageSink`] as it arrives (the dashboard shows rows while
//! the sweep runs; `list` collects them in order); the sweep itself keeps only
//! 64-bit hashes of ids (two distinct ids colliding is a 1-in-10^16 chance).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::future::Future;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::model::{Notebook, NotebookPage};
use crate::timefmt::now_ms;

/// Items each page repeats from the one before it, at the least (the sweep
/// repeats more while it sees the listing move).
pub const DEFAULT_OVERLAP: u64 = 2;
/// Largest listing we accept: a `total` past this is a broken response.
pub(super) const MAX_TOTAL: u64 = 1_000_000;
/// The `feature` of the free CodeLab instances, which the service leaves out
/// unless asked for.
pub const FEATURE_CODELAB: &str = "DEFAULT";
/// Repair reads a broken boundary may take before what it measured moving
/// earns it more.
const REPAIR_BASE: u32 = 3;
/// Boundaries whose measured move sets the overlap of the next pages.
const OVERLAP_WINDOW: usize = 8;

/// A decoded page of some listing.
pub trait ListPage: DeserializeOwned + Send + 'static {
    type Item: Send + 'static;
    fn total(&self) -> Option<i64>;
    fn into_items(self) -> Vec<Self::Item>;
    /// Whether the body had the keys of a listing (`data` or `total`).
    fn looks_like_listing(&self) -> bool;
    /// The id of an item, if the service sent one.
    fn id_of(item: &Self::Item) -> Option<&str>;
}

impl ListPage for NotebookPage {
    type Item = Notebook;
    fn total(&self) -> Option<i64> {
        self.total
    }
    fn into_items(self) -> Vec<Notebook> {
        self.data
    }
    fn looks_like_listing(&self) -> bool {
        self.total.is_some() || !self.data.is_empty()
    }
    fn id_of(item: &Notebook) -> Option<&str> {
        item.id.as_deref()
    }
}

/// Where the pages of one listing come from: the service (a [`Client`] and a
/// query), or a model of a moving listing in the tests.
pub trait PageSource<P>: Sync {
    /// The page at `offset` (at most [`PageSource::limit`] items).
    fn page(&self, offset: u64) -> impl Future<Output = Result<P, ApiError>> + Send;
    /// Items a full page holds.
    fn limit(&self) -> u64;
    /// Pages read at once.
    fn concurrency(&self) -> usize;
    /// Requests sent so far, retries included: what a sweep reports it cost.
    fn requests_sent(&self) -> u64;
}

/// Where a page of the sweep sits in the listing, and how far the sweep is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PagePlace {
    /// Which listing of the sweep (0, or 1 for CodeLab when both kinds are swept).
    pub part: u32,
    /// The offset it was read at: sorting pages by (offset, seq) gives the listing's order.
    pub offset: u64,
    /// The order pages arrived in.
    pub seq: u64,
    /// Distinct instances received so far in this sweep.
    pub loaded: u64,
    /// `total` as the latest page reported it.
    pub total: Option<u64>,
    /// When its answer arrived (epoch ms): pages handed on in order may be
    /// older than news that came meanwhile.
    pub read_at_ms: i64,
}

/// Receives each page as it arrives.
pub trait PageSink<T>: Send {
    fn page(&mut self, items: Vec<T>, place: PagePlace);

    /// Resolves when the sink can take more pages without piling them up: the
    /// sweep waits for it before reading on (the dashboard's bounded queue).
    fn room(&self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// What a sweep did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepReport {
    /// Every id received (the same instance on two pages counts once).
    pub ids: HashSet<String>,
    /// Items received without an id.
    pub idless: u64,
    /// `total` as the last page reported it.
    pub total: Option<i64>,
    /// Requests sent, retries and repairs included.
    pub requests: u64,
    /// Pages read in the planned run (first page, the overlapped rest, the tail).
    pub pages: u64,
    /// Pages read again to repair broken boundaries.
    pub bridges: u64,
    /// Boundaries found broken (before repair).
    pub breaks: u64,
    /// Broken boundaries the repairs could not prove (their budget ran out).
    pub unproven: u64,
    /// The largest move of the listing measured between two reads, in items.
    pub moved: u64,
    /// The largest overlap the sweep used.
    pub overlap: u64,
    /// The pages read link the head of the listing to its end: an instance
    /// missing from `ids` was not alive throughout the sweep. False when the
    /// listing moved faster than the repairs could follow.
    pub complete: bool,
}

impl SweepReport {
    /// Folds the report of a second listing (CodeLab) into this one.
    pub(super) fn absorb(&mut self, more: SweepReport) {
        self.ids.extend(more.ids);
        self.idless += more.idless;
        self.total = match (self.total, more.total) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.requests += more.requests;
        self.pages += more.pages;
        self.bridges += more.bridges;
        self.breaks += more.breaks;
        self.unproven += more.unproven;
        self.moved = self.moved.max(more.moved);
        self.overlap = self.overlap.max(more.overlap);
        self.complete &= more.complete;
    }
}

/// The one line `list` prints (and exits 1 with) when its sweep could not
/// prove it missed nobody: what churned, and what to do.
pub fn incomplete_line(total: Option<i64>) -> String {
    let of = total.map_or_else(String::new, |t| format!(" of {t} instances"));
    format!(
        "the listing{of} kept changing while it was read (instances were created or deleted between page requests faster than the pages around them could be read again), so some instances may be missing and nothing was printed; fix: run it again, or narrow it with --status, --name or --feature so it has fewer pages to move under"
    )
}

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
fn id_hash(id: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(id)
}

/// Why a page was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
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
struct Run<'a, P: ListPage, S: PageSink<P::Item>> {
    sink: &'a mut S,
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
    asked: BTreeSet<u64>,
    /// Recent measured moves (items) that the overlap must absorb.
    moves: VecDeque<u64>,
    min_overlap: u64,
    gaps: Vec<Gap>,
    queue: VecDeque<(Job, u64)>,
    /// Repair reads allowed in all, whatever the gaps earn.
    repair_cap: u64,
    /// The service ignores `offset` (a later page repeated the first): stop planning.
    ignores_offset: bool,
    _page: std::marker::PhantomData<P>,
}

impl<P: ListPage, S: PageSink<P::Item>> Run<'_, P, S> {
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
    fn take(&mut self, offset: u64, page: P, read_at_ms: i64) -> usize {
        let page_total = page.total();
        if let Some(t) = page_total {
            self.report.total = Some(t);
        }
        let items = page.into_items();
        let len = items.len() as u64;
        let mut ids = Vec::with_capacity(items.len());
        for item in &items {
            match P::id_of(item) {
                Some(id) => {
                    if !self.report.ids.contains(id) {
                        self.report.ids.insert(id.to_string());
                    }
                    ids.push(id_hash(id));
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
    fn planned_arrived(&mut self, me: usize) {
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
    fn repair_arrived(&mut self, g: usize, r: usize) {
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

/// One sweep over every page `source` gives, at least `min_overlap` items
/// repeated between pages; each page goes to `sink` as it arrives. See the
/// module docs.
pub async fn sweep_pages<P, Src, S>(
    source: &Src,
    min_overlap: u64,
    sink: &mut S,
) -> Result<SweepReport, ApiError>
where
    P: ListPage,
    Src: PageSource<P>,
    S: PageSink<P::Item>,
{
    sweep_part(source, min_overlap, sink, (0, 0, 0)).await
}

pub(super) async fn sweep_part<P, Src, S>(
    source: &Src,
    min_overlap: u64,
    sink: &mut S,
    (part, loaded_before, total_before): (u32, u64, u64),
) -> Result<SweepReport, ApiError>
where
    P: ListPage,
    Src: PageSource<P>,
    S: PageSink<P::Item>,
{
    let before = source.requests_sent();
    let limit = source.limit().max(1);
    let mut run = Run::<P, S> {
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
    };
    let first = source.page(0).await?;
    run.asked.insert(0);
    let head = run.take(0, first, now_ms());
    run.planned_arrived(head);
    let mut last_asked = 0u64;

    // Planned pages and repairs, `concurrency` always in flight. Repairs go
    // first: the sooner a gap is read again, the less has moved since.
    let mut flight = FuturesUnordered::new();
    let read = |job: Job, offset: u64| async move {
        let page = source.page(offset).await;
        (job, offset, page, now_ms())
    };
    let concurrency = source.concurrency().max(1);
    loop {
        while flight.len() < concurrency {
            if let Some((job, offset)) = run.queue.pop_front() {
                flight.push(read(job, offset));
                continue;
            }
            let Some(offset) = run.next_planned(last_asked, flight.is_empty()) else {
                break;
            };
            last_asked = offset;
            run.asked.insert(offset);
            // Room for repairs: as many as the planned pages so far, and a few.
            run.repair_cap = run.asked.len() as u64 + 4;
            flight.push(read(Job::Planned, offset));
        }
        if flight.is_empty() {
            break;
        }
        run.sink.room().await;
        let Some((job, offset, page, at)) = flight.next().await else {
            break;
        };
        let me = run.take(offset, page?, at);
        match job {
            Job::Planned => run.planned_arrived(me),
            Job::Repair(g) => run.repair_arrived(g, me),
        }
    }
    run.report.pages = run.asked.len() as u64;
    run.report.overlap = run.report.overlap.max(run.min_overlap);
    for g in 0..run.gaps.len() {
        if !run.closed(g) {
            run.report.unproven += 1;
        }
    }
    let unchecked = run.pages.iter().any(Seen::unchecked);
    let r = run.root(head);
    run.report.complete = (run.reaches_end[r] && !run.ignores_offset) || unchecked;
    run.report.requests = source.requests_sent() - before;
    Ok(run.report)
}

impl<P: ListPage, S: PageSink<P::Item>> Run<'_, P, S> {
    /// The next planned page to ask for, after the one at `last`: while the
    /// listing (as its latest `total` says) goes on past it. Without a
    /// `total`, one at a time while pages come back full.
    fn next_planned(&mut self, last: u64, idle: bool) -> Option<u64> {
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

/// Collects a sweep's pages and puts them in the listing's order, each id once.
#[derive(Debug)]
pub struct Collect<T> {
    pages: Vec<(PagePlace, Vec<T>)>,
}

impl<T> Default for Collect<T> {
    fn default() -> Self {
        Collect { pages: Vec::new() }
    }
}

impl<T: Send> PageSink<T> for Collect<T> {
    fn page(&mut self, items: Vec<T>, place: PagePlace) {
        self.pages.push((place, items));
    }
}

impl<T> Collect<T> {
    /// Every item in the listing's order; the first sighting of an id wins.
    pub fn into_ordered(mut self, id_of: impl Fn(&T) -> Option<&str>) -> Vec<T> {
        self.pages.sort_by_key(|(p, _)| (p.part, p.offset, p.seq));
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for item in self.pages.into_iter().flat_map(|(_, items)| items) {
            let fresh = match id_of(&item) {
                Some(id) => seen.insert(id.to_string()),
                None => true,
            };
            if fresh {
                out.push(item);
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "sweep_tests.rs"]
mod tests;
