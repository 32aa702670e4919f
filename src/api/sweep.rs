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

use std::collections::{HashMap, HashSet};
use std::future::Future;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::model::wire::{ItemText, TextPage};
use super::model::{Notebook, NotebookPage};
use crate::timefmt::now_ms;

mod stretch;
use stretch::{Job, Run};

/// Items each page repeats from the one before it, at the least (the sweep
/// repeats more while it sees the listing move).
pub const DEFAULT_OVERLAP: u64 = 2;
/// Largest listing we accept: a `total` past this is a broken response.
pub(super) const MAX_TOTAL: u64 = 1_000_000;
/// The `feature` of the free CodeLab instances, which the service leaves out
/// unless asked for.
pub const FEATURE_CODELAB: &str = "DEFAULT";

/// A decoded page of some listing.
pub trait ListPage: DeserializeOwned + Send + 'static {
    type Item: Send + 'static;
    fn total(&self) -> Option<i64>;
    fn into_items(self) -> Vec<Self::Item>;
    /// Whether the body had the keys of a listing (`data` or `total`).
    fn looks_like_listing(&self) -> bool;
    /// The id of an item, if the service sent one.
    fn id_of(item: &Self::Item) -> Option<&str>;
    /// A fingerprint of an item's text, if it keeps one (see [`IdMemo`]).
    fn print_of(_item: &Self::Item) -> Option<u64> {
        None
    }
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

impl<T: ItemText> ListPage for TextPage<T> {
    type Item = T;
    fn total(&self) -> Option<i64> {
        self.total
    }
    fn into_items(self) -> Vec<T> {
        self.data
    }
    fn looks_like_listing(&self) -> bool {
        self.total.is_some() || self.has_data
    }
    fn id_of(item: &T) -> Option<&str> {
        item.id()
    }
    fn print_of(item: &T) -> Option<u64> {
        item.print()
    }
}

/// Where the pages of one listing come from: the service (a client and a
/// query, in [`super::listing`]), or a model of a moving listing in the tests.
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

    /// The ids its items were known by in earlier sweeps, if it keeps them.
    fn memo(&mut self) -> Option<&mut IdMemo> {
        None
    }
}

/// The hashes of the ids earlier sweeps read, by the fingerprint of the text
/// that carried each (a text holds its id, so the same text has the same id).
/// Most instances of a sweep are byte for byte what the last one read: their
/// ids need not be read again, which was the largest part of cutting a page
/// into instances. What a sweep did not see again is forgotten at the next.
#[derive(Debug, Default)]
pub struct IdMemo {
    now: HashMap<u64, u64, foldhash::fast::RandomState>,
    before: HashMap<u64, u64, foldhash::fast::RandomState>,
}

impl IdMemo {
    /// A sweep begins: what the one before did not see again goes.
    pub fn turn(&mut self) {
        self.before = std::mem::take(&mut self.now);
    }

    /// The id hash of the text with this fingerprint, if a sweep read it.
    fn get(&mut self, print: u64) -> Option<u64> {
        if let Some(h) = self.now.get(&print) {
            return Some(*h);
        }
        let h = self.before.remove(&print)?;
        self.now.insert(print, h);
        Some(h)
    }

    fn put(&mut self, print: u64, id: u64) {
        self.now.insert(print, id);
    }

    /// The hash an item's id is counted by: from the memo when its text was
    /// read before, else read (and remembered).
    pub(super) fn id_hash<P: ListPage>(memo: Option<&mut IdMemo>, item: &P::Item) -> Option<u64> {
        let read = || P::id_of(item).map(stretch::id_hash);
        match (memo, P::print_of(item)) {
            (Some(m), Some(print)) => m.get(print).or_else(|| {
                let h = read();
                if let Some(h) = h {
                    m.put(print, h);
                }
                h
            }),
            _ => read(),
        }
    }
}

/// What a sweep did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepReport {
    /// Every id received, by its 64-bit hash (the same instance on two pages
    /// counts once): a sweep of 10,000 instances kept 10,000 strings here.
    pub ids: HashSet<u64, foldhash::fast::RandomState>,
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
    /// Whether the sweep received the instance with this id.
    pub fn saw(&self, id: &str) -> bool {
        self.ids.contains(&stretch::id_hash(id))
    }

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
    let mut run = Run::<P, S>::new(
        sink,
        limit,
        part,
        (loaded_before, total_before),
        min_overlap,
    );
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
    let mut report = run.finish(head);
    report.requests = source.requests_sent() - before;
    Ok(report)
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
