//! A whole listing read from the service: the client's pages fed to the
//! [sweep](super::sweep) (one kind of instance, or both), collected into a
//! [`Listing`]. The client sends and retries single requests; the sweep
//! decides which pages to read; this file joins the two, so neither knows
//! the other.

use super::client::Client;
use super::error::ApiError;
use super::model::{Notebook, NotebookPage};
use super::query::ListQuery;
use super::sweep::{
    Collect, DEFAULT_OVERLAP, FEATURE_CODELAB, ListPage, MAX_TOTAL, PageSink, PageSource,
    SweepReport, sweep_part,
};

/// Every instance, read across all pages.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// In the service's order, each id once.
    pub notebooks: Vec<Notebook>,
    /// `total` as the last page reported it.
    pub total: Option<i64>,
    /// Requests this listing took, retries included.
    pub requests: u64,
    /// Full passes over the pages (more than one when `total` drifted).
    pub passes: u32,
    /// Every page boundary was proved continuous: nothing alive throughout is missing.
    pub complete: bool,
}

impl Listing {
    fn collected(pages: Collect<Notebook>, report: &SweepReport) -> Listing {
        Listing::of(pages.into_ordered(|n: &Notebook| n.id.as_deref()), report)
    }

    fn of(notebooks: Vec<Notebook>, report: &SweepReport) -> Listing {
        Listing {
            notebooks,
            total: report.total,
            requests: report.requests,
            passes: 1,
            complete: report.complete,
        }
    }
}

/// One query's pages from the service.
struct Service<'a> {
    client: &'a Client,
    query: &'a ListQuery,
}

impl<P: ListPage> PageSource<P> for Service<'_> {
    async fn page(&self, offset: u64) -> Result<P, ApiError> {
        let (page, request_id) = self.client.fetch_page_as::<P>(self.query, offset).await?;
        if offset == 0
            && let Some(t) = page.total()
            && t > MAX_TOTAL as i64
        {
            return Err(ApiError::Decode {
                detail: format!("total {t} is not believable"),
                request_id,
            });
        }
        Ok(page)
    }
    fn limit(&self) -> u64 {
        u64::from(self.query.page_size.get())
    }
    fn concurrency(&self) -> usize {
        self.client.concurrency()
    }
    fn requests_sent(&self) -> u64 {
        self.client.own_requests_sent()
    }
}

impl Client {
    /// Every instance of `q` in one sweep (see [`super::sweep`]): the first
    /// page, then the rest with bounded concurrency, overlapped and repaired
    /// where the population moved, in the service's order, each id once.
    /// Without a `feature` the service lists only `NOTEBOOK` instances; see
    /// [`Client::fetch_all_kinds`].
    pub async fn fetch_all(&self, q: &ListQuery) -> Result<Listing, ApiError> {
        let mut pages = Collect::default();
        let report = self
            .sweep::<NotebookPage, _>(q, DEFAULT_OVERLAP, &mut pages)
            .await?;
        Ok(Listing::collected(pages, &report))
    }

    /// [`Client::fetch_all`], with the free CodeLab (`DEFAULT`) instances too
    /// unless `q.feature` narrows it, merged into one listing in the order `q`
    /// asks for (see [`super::order`]): what `list` prints.
    pub async fn fetch_all_kinds(&self, q: &ListQuery) -> Result<Listing, ApiError> {
        let mut pages = super::order::ByListing::default();
        let report = self
            .sweep_all_kinds::<NotebookPage, _>(q, DEFAULT_OVERLAP, &mut pages)
            .await?;
        let order = super::order::Order::of(q);
        Ok(Listing::of(pages.into_merged(&order), &report))
    }

    /// One sweep over every page of `q` with at least `overlap` items
    /// repeated between pages; each page goes to `sink` as it arrives. See
    /// the module docs.
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
        self.sweep_query::<P, S>(q, overlap, sink, (0, 0, 0)).await
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
            .sweep_query::<P, S>(&codelab, overlap, sink, (1, loaded, total))
            .await?;
        report.absorb(more);
        Ok(report)
    }

    async fn sweep_query<P, S>(
        &self,
        q: &ListQuery,
        overlap: u64,
        sink: &mut S,
        part: (u32, u64, u64),
    ) -> Result<SweepReport, ApiError>
    where
        P: ListPage,
        S: PageSink<P::Item>,
    {
        q.validate().map_err(|e| ApiError::Request(e.to_string()))?;
        let source = Service {
            client: self,
            query: q,
        };
        sweep_part::<P, _, S>(&source, overlap, sink, part).await
    }
}
