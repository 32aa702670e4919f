//! The sweep as it was before issue 20 (fixed overlap, bridges centred on where
//! a gap was when its pages were read, three per gap, after every planned page
//! is in), kept in the bench only as the baseline the new sweep is measured
//! against in the same run. Copied from src/api/sweep.rs at 5fd5978.
#![allow(dead_code)]

use std::collections::HashSet;

use futures::StreamExt;
use nbwatch::api::sweep::{FEATURE_CODELAB, ListPage, PagePlace, PageSink, SweepReport};
use nbwatch::api::{ApiError, Client, ListQuery};
use nbwatch::timefmt::now_ms;

/// Largest listing we accept: a `total` past this is a broken response.
const MAX_TOTAL: u64 = 1_000_000;
/// Bridge pages allowed per broken boundary.
const BRIDGES_PER_GAP: u32 = 3;

/// The hash a page's id is remembered by.
fn id_hash(id: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(id)
}

/// What the sweep knows of a page it read. Its ids are kept as 64-bit hashes
/// (all 200 pages of a 10,000 sweep are held until the boundaries are checked):
/// two distinct ids on adjacent pages colliding is a 1-in-10^16 chance.
struct Seen {
    offset: u64,
    len: u64,
    ids: HashSet<u64>,
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
                    // The report counts ids by hash since the ninth session.
                    self.report.ids.insert(id_hash(id));
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

/// The sweep as it was, free functions over the public client.
pub struct Before;

impl Before {
    /// Both kinds of instance, the NOTEBOOK listing then the CodeLab one.
    pub async fn sweep_all_kinds<P, S>(
        client: &Client,
        q: &ListQuery,
        overlap: u64,
        sink: &mut S,
    ) -> Result<SweepReport, ApiError>
    where
        P: ListPage,
        S: PageSink<P::Item>,
    {
        let mut report = Self::sweep_part::<P, S>(client, q, overlap, sink, (0, 0, 0)).await?;
        let codelab = ListQuery {
            feature: Some(FEATURE_CODELAB.to_string()),
            ..q.clone()
        };
        let loaded = report.ids.len() as u64 + report.idless;
        let total = report.total.map_or(loaded, |t| t.max(0) as u64);
        let more =
            Self::sweep_part::<P, S>(client, &codelab, overlap, sink, (1, loaded, total)).await?;
        report.ids.extend(more.ids);
        report.requests += more.requests;
        report.pages += more.pages;
        report.bridges += more.bridges;
        report.breaks += more.breaks;
        report.complete &= more.complete;
        Ok(report)
    }

    async fn sweep_part<P, S>(
        this: &Client,
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
        let before = this.own_requests_sent();
        let limit = u64::from(q.page_size.get());
        let overlap = overlap.min(limit.saturating_sub(1));
        let step = (limit - overlap).max(1);
        let mut run = Run::<P, S> {
            client: this,
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

        let (first, request_id) = this.fetch_page_as::<P>(q, 0).await?;
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
                .map(move |o| async move {
                    let page = this.fetch_page_as::<P>(q, o).await;
                    page.map(|p| (o, p.0, now_ms()))
                })
                .buffer_unordered(this.concurrency());
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
            let page = this.fetch_page_as::<P>(q, offset).await?.0;
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
        run.report.requests = this.own_requests_sent() - before;
        Ok(run.report)
    }
}
