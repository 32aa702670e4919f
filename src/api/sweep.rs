//! One sweep over every page of a listing, repaired where the population moved.
//!
//! Pages are read at offsets `0, step, 2 × step, …` with `step = limit − overlap`,
//! so each page repeats the last `overlap` items of the one before. Instances
//! created or deleted between two page reads shift the rest of the listing; at a
//! boundary where that happened the two pages share no instance, and only that
//! boundary is re-read (a "bridge" page centred on it, recursively, within a small
//! budget). The rest of the sweep is never read again.
//!
//! Why a shared instance proves nothing was skipped: the listing is sorted by
//! fields that do not change (creation time by default, ties by id), so two
//! instances keep their relative order for as long as both exist. If page B
//! holds an instance `x` of page A, B was (at the moment it was read) a
//! contiguous run of the listing starting at or before `x`: every instance
//! ranked after `x` and before B's end is in B, and every one ranked up to `x`
//! was in A or before it. An instance alive throughout the sweep is therefore in
//! its result. (A user-chosen sort on a field that changes, such as `status`,
//! voids the argument; the sweep still repairs what it can see.)
//!
//! ```text
//!   A  [a ............ a+L)
//!   B               [b ............ b+L)        b = a + L − overlap
//!   shared ids?  yes → continuous     no → bridge R centred on the boundary,
//!                                            then check A→R and R→B the same way
//! ```
//!
//! Each page goes to a [`PageSink`] as it arrives (the dashboard shows rows while
//! the sweep runs; `list` collects them in order); the sweep itself keeps only ids.

use std::collections::HashSet;

use futures::StreamExt;
use serde::de::DeserializeOwned;

use super::client::Client;
use super::error::ApiError;
use super::model::{Notebook, NotebookPage};
use super::query::ListQuery;
use crate::timefmt::now_ms;

/// Items each page repeats from the one before it.
pub const DEFAULT_OVERLAP: u64 = 2;
/// Largest listing we accept: a `total` past this is a broken response.
const MAX_TOTAL: u64 = 1_000_000;
/// The `feature` of the free CodeLab instances, which the service leaves out
/// unless asked for.
pub const FEATURE_CODELAB: &str = "DEFAULT";
/// Bridge pages allowed per broken boundary.
const BRIDGES_PER_GAP: u32 = 3;

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
    /// Requests sent, retries and bridges included.
    pub requests: u64,
    /// Pages read in the planned run (first page, the overlapped rest, the tail).
    pub pages: u64,
    /// Bridge pages read to repair broken boundaries.
    pub bridges: u64,
    /// Boundaries found broken (before repair).
    pub breaks: u64,
    /// Every boundary proved continuous: an instance missing from `ids` was not
    /// alive throughout the sweep. False when the bridge budget ran out.
    pub complete: bool,
}

/// What the sweep knows of a page it read. Its ids are kept as 64-bit hashes
/// (all 200 pages of a 10,000 sweep are held until the boundaries are checked):
/// two distinct ids on adjacent pages colliding is a 1-in-10^16 chance.
struct Seen {
    offset: u64,
    len: u64,
    ids: HashSet<u64>,
}

/// The hash a page's id is remembered by.
fn id_hash(id: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(id)
}

impl Seen {
    /// Whether the listing is proved continuous from `self` to `next` (read at a
    /// larger offset).
    fn continues_into(&self, next: &Seen, limit: u64) -> bool {
        // A short page reached the end of the listing: everything after it at
        // that moment was in it.
        if self.len < limit {
            return true;
        }
        // Pages without ids cannot be checked; do not spend requests on them.
        if self.ids.is_empty() || (next.len > 0 && next.ids.is_empty()) {
            return true;
        }
        next.ids.iter().any(|id| self.ids.contains(id))
    }
}

/// The state of one sweep.
struct Run<'a, P: ListPage, S: PageSink<P::Item>> {
    client: &'a Client,
    query: &'a ListQuery,
    sink: &'a mut S,
    limit: u64,
    part: u32,
    loaded_before: u64,
    total_before: u64,
    seq: u64,
    report: SweepReport,
    _page: std::marker::PhantomData<P>,
}

impl<P: ListPage, S: PageSink<P::Item>> Run<'_, P, S> {
    /// Records a page and hands its items to the sink.
    fn take(&mut self, offset: u64, page: P, read_at_ms: i64) -> Seen {
        if let Some(t) = page.total() {
            self.report.total = Some(t);
        }
        let items = page.into_items();
        let mut ids = HashSet::with_capacity(items.len());
        for item in &items {
            match P::id_of(item) {
                Some(id) => {
                    if !self.report.ids.contains(id) {
                        self.report.ids.insert(id.to_string());
                    }
                    ids.insert(id_hash(id));
                }
                None => self.report.idless += 1,
            }
        }
        let seen = Seen {
            offset,
            len: items.len() as u64,
            ids,
        };
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
        seen
    }

    /// Repairs the boundary between `a` and `b` (indices into `pages`); returns
    /// whether it is now proved continuous.
    async fn bridge(
        &mut self,
        pages: &mut Vec<Seen>,
        a: usize,
        b: usize,
    ) -> Result<bool, ApiError> {
        // (earlier page, later page, bridges left on this gap)
        let mut stack = vec![(a, b, BRIDGES_PER_GAP)];
        let mut whole = true;
        while let Some((a, b, left)) = stack.pop() {
            if left == 0 {
                whole = false;
                continue;
            }
            // Centre a page on the middle of the gap: between A's end and B's start.
            let gap_mid = (pages[a].offset + self.limit + pages[b].offset) / 2;
            let offset = gap_mid.saturating_sub(self.limit / 2);
            let page = self.client.fetch_page_as::<P>(self.query, offset).await?.0;
            self.report.bridges += 1;
            let seen = self.take(offset, page, now_ms());
            pages.push(seen);
            let r = pages.len() - 1;
            if !pages[a].continues_into(&pages[r], self.limit) {
                stack.push((a, r, left - 1));
            }
            if !pages[r].continues_into(&pages[b], self.limit) {
                stack.push((r, b, left - 1));
            }
        }
        Ok(whole)
    }
}

impl Client {
    /// One sweep over every page of `q` with `overlap` items repeated between
    /// pages; each page goes to `sink` as it arrives. See the module docs.
    pub async fn sweep<P, S>(
        &self,
        q: &ListQuery,
        overlap: u64,
        sink: &mut S,
    ) -> Result<SweepReport, ApiError>
    where
        P: ListPage,
        S: PageSink<P::Item>,
    {
        self.sweep_part::<P, S>(q, overlap, sink, (0, 0, 0)).await
    }

    /// Both kinds of instance: without a `feature` filter the service lists only
    /// `NOTEBOOK` instances, so the free CodeLab ones (`DEFAULT`) are swept too,
    /// as a second listing after the first. With a `feature`, just that one.
    pub async fn sweep_all_kinds<P, S>(
        &self,
        q: &ListQuery,
        overlap: u64,
        sink: &mut S,
    ) -> Result<SweepReport, ApiError>
    where
        P: ListPage,
        S: PageSink<P::Item>,
    {
        let mut report = self.sweep::<P, S>(q, overlap, sink).await?;
        if q.feature.is_some() {
            return Ok(report);
        }
        let codelab = ListQuery {
            feature: Some(FEATURE_CODELAB.to_string()),
            ..q.clone()
        };
        let loaded = report.ids.len() as u64 + report.idless;
        let total = report.total.map_or(loaded, |t| t.max(0) as u64);
        let more = self
            .sweep_part::<P, S>(&codelab, overlap, sink, (1, loaded, total))
            .await?;
        report.ids.extend(more.ids);
        report.idless += more.idless;
        report.total = match (report.total, more.total) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        report.requests += more.requests;
        report.pages += more.pages;
        report.bridges += more.bridges;
        report.breaks += more.breaks;
        report.complete &= more.complete;
        Ok(report)
    }

    async fn sweep_part<P, S>(
        &self,
        q: &ListQuery,
        overlap: u64,
        sink: &mut S,
        (part, loaded_before, total_before): (u32, u64, u64),
    ) -> Result<SweepReport, ApiError>
    where
        P: ListPage,
        S: PageSink<P::Item>,
    {
        q.validate().map_err(|e| ApiError::Request(e.to_string()))?;
        let before = self.own_requests_sent();
        let limit = u64::from(q.page_size.get());
        let overlap = overlap.min(limit.saturating_sub(1));
        let step = (limit - overlap).max(1);
        let mut run = Run::<P, S> {
            client: self,
            query: q,
            sink,
            limit,
            part,
            loaded_before,
            total_before,
            seq: 0,
            report: SweepReport::default(),
            _page: std::marker::PhantomData,
        };

        let (first, request_id) = self.fetch_page_as::<P>(q, 0).await?;
        let total = match first.total() {
            Some(t) if t > MAX_TOTAL as i64 => {
                return Err(ApiError::Decode {
                    detail: format!("total {t} is not believable"),
                    request_id,
                });
            }
            Some(t) => Some(t.max(0) as u64),
            None => None,
        };
        let mut pages = vec![run.take(0, first, now_ms())];

        // The planned pages, `concurrency` always in flight: each is handed on as
        // it arrives (the sink does not need the listing's order), so one slow
        // page does not hold back the others' slots. The boundaries are checked
        // once all are in, in the listing's order.
        if let (Some(total), true) = (total, pages[0].len == limit) {
            let offsets: Vec<u64> = (1..)
                .map(|i| i * step)
                .take_while(|o| o - step + limit < total)
                .collect();
            let mut stream = futures::stream::iter(offsets)
                .map(|o| async move {
                    let page = self.fetch_page_as::<P>(q, o).await;
                    page.map(|p| (o, p.0, now_ms()))
                })
                .buffer_unordered(self.concurrency());
            loop {
                run.sink.room().await;
                let Some(r) = stream.next().await else { break };
                let (o, page, at) = r?;
                pages.push(run.take(o, page, at));
            }
            pages.sort_unstable_by_key(|p| p.offset);
        }
        // The listing grew past the plan (or there is no total): read on while
        // pages come back full.
        let grown = |total: Option<i64>, last: &Seen| {
            total.is_none_or(|t| last.offset + limit < t.max(0) as u64)
        };
        while let Some(last) = pages
            .last()
            .filter(|p| p.len == limit && grown(run.report.total, p))
        {
            let offset = last.offset + step;
            if offset >= MAX_TOTAL {
                break;
            }
            let page = self.fetch_page_as::<P>(q, offset).await?.0;
            let seen = run.take(offset, page, now_ms());
            // A full page of nothing new: the server (or a proxy) ignores `offset`.
            let repeated = seen.len > 0 && seen.ids.iter().all(|id| last.ids.contains(id));
            pages.push(seen);
            if repeated {
                tracing::warn!(offset, "a page repeated earlier instances; stopping here");
                break;
            }
        }
        run.report.pages = pages.len() as u64;

        // Check every boundary; bridge the broken ones.
        let planned = pages.len();
        let mut complete = true;
        for i in 1..planned {
            if !pages[i - 1].continues_into(&pages[i], limit) {
                run.report.breaks += 1;
                tracing::info!(
                    offset = pages[i].offset,
                    "the listing moved at a page boundary; bridging it"
                );
                complete &= run.bridge(&mut pages, i - 1, i).await?;
            }
        }
        run.report.complete = complete;
        run.report.requests = self.own_requests_sent() - before;
        Ok(run.report)
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
