//! The reading before the sweep: whole passes over the pages, read again
//! (up to three, the later ones at half-page steps) while `total` drifts.
//! Kept only as the baseline the benchmarks compare the [sweep](super::sweep)
//! with; nothing in the product uses it.

use std::collections::HashSet;

use futures::{StreamExt, TryStreamExt};

use super::client::{Client, Page};
use super::error::ApiError;
use super::listing::Listing;
use super::model::Notebook;
use super::query::ListQuery;
use super::sweep::MAX_TOTAL;

/// Passes read at most while `total` drifts.
const MAX_PASSES: u32 = 3;

impl Client {
    /// The reading before the sweep: whole passes, read again (up to three, the
    /// later ones at half-page steps) while `total` drifts. Kept as the baseline
    /// the benchmarks compare the sweep with; nothing else uses it.
    #[doc(hidden)]
    pub async fn fetch_all_multipass(&self, q: &ListQuery) -> Result<Listing, ApiError> {
        q.validate().map_err(|e| ApiError::Request(e.to_string()))?;
        let before = self.requests_sent();
        let mut seen_passes: Vec<Vec<Notebook>> = Vec::new();
        let mut total = None;
        let mut passes = 0;
        for pass in 1..=MAX_PASSES {
            // A deletion between two page reads shifts the rest of the listing up,
            // so the instance on the page boundary slips into the page already read,
            // and a steady drift slips it again on every pass. Once drift is seen,
            // pages overlap by half: a boundary instance is then read unless more
            // than half a page was deleted before it between two reads.
            let limit = u64::from(q.page_size.get());
            let step = if pass == 1 { limit } else { limit - limit / 2 };
            let waits_before = self.limiter.delayed();
            let (items, pass_total, consistent) = self.one_pass(q, step).await?;
            total = pass_total;
            passes = pass;
            if consistent {
                return Ok(Listing {
                    notebooks: dedup(vec![items]),
                    total,
                    requests: self.requests_sent() - before,
                    passes: pass,
                    complete: true,
                });
            }
            seen_passes.push(items);
            if self.limiter.delayed() > waits_before {
                // The request budget spread this pass out: reading again would take
                // as long (twice the pages, overlapped), drift again, and spend the
                // budget of the next refreshes. Keep what was seen; the next
                // refresh corrects it.
                tracing::info!(
                    pass,
                    "total drifted between pages spaced by the request budget; not reading again"
                );
                break;
            }
            tracing::info!(pass, "total drifted between pages; reading again");
        }
        // Still moving: keep everything seen (newest pass first), each id once.
        seen_passes.reverse();
        Ok(Listing {
            notebooks: dedup(seen_passes),
            total,
            requests: self.requests_sent() - before,
            passes,
            complete: false,
        })
    }

    /// Reads every page once, at offsets `0, step, 2 * step, …` (`step` ≤ limit;
    /// pages overlap when it is smaller). Returns the items (an id may come twice),
    /// the last `total`, and whether the pages agreed.
    async fn one_pass(
        &self,
        q: &ListQuery,
        step: u64,
    ) -> Result<(Vec<Notebook>, Option<i64>, bool), ApiError> {
        let limit = u64::from(q.page_size.get());
        let first = self.fetch_page(q, 0).await?;
        let first_total = first.page.total;
        let total = match first_total {
            Some(t) if t > MAX_TOTAL as i64 => {
                return Err(ApiError::Decode {
                    detail: format!("total {t} is not believable"),
                    request_id: first.request_id,
                });
            }
            Some(t) => t.max(0) as u64,
            // No total: read on until a short page.
            None => u64::MAX,
        };
        let mut consistent = true;
        let mut last_total = first_total;
        let mut items = first.page.data;
        let mut short = (items.len() as u64) < limit;
        let step = step.clamp(1, limit.max(1));
        // The offset of the last page read: pages go on while it ends short of `total`.
        let mut last_offset = 0;

        if total != u64::MAX && !short {
            let offsets: Vec<u64> = (1..)
                .map(|i| i * step)
                .take_while(|o| o - step + limit < total)
                .collect();
            last_offset = offsets.last().copied().unwrap_or(0);
            let pages: Vec<Page> = futures::stream::iter(offsets)
                .map(|o| self.fetch_page(q, o))
                .buffered(self.opts.concurrency.max(1))
                .try_collect()
                .await?;
            for p in pages {
                if p.page.total != first_total {
                    consistent = false;
                }
                last_total = p.page.total.or(last_total);
                short = (p.page.data.len() as u64) < limit;
                items.extend(p.page.data);
            }
        }
        // Instances created meanwhile (or no total at all): read on, one page at a time.
        let grown = |t: Option<i64>| t.map(|t| t.max(0) as u64).unwrap_or(u64::MAX);
        let mut seen: HashSet<String> = items.iter().filter_map(|n| n.id.clone()).collect();
        while !short && last_offset + limit < grown(last_total) && last_offset < MAX_TOTAL {
            let offset = last_offset + step;
            let p = self.fetch_page(q, offset).await?;
            // A full page of nothing new: the server (or a proxy) ignores `offset`.
            // Reading on would request the same page up to MAX_TOTAL / limit times.
            let mut fresh = false;
            for n in &p.page.data {
                fresh |= n.id.as_ref().is_none_or(|id| seen.insert(id.clone()));
            }
            if !fresh && !p.page.data.is_empty() {
                tracing::warn!(offset, "a page repeated earlier instances; stopping here");
                break;
            }
            if p.page.total != first_total {
                consistent = false;
            }
            last_total = p.page.total.or(last_total);
            short = (p.page.data.len() as u64) < limit;
            last_offset = offset;
            items.extend(p.page.data);
        }
        let unique = items
            .iter()
            .filter_map(|n| n.id.as_deref())
            .collect::<HashSet<_>>()
            .len()
            + items.iter().filter(|n| n.id.is_none()).count();
        if let Some(t) = last_total
            && unique as i64 != t
            && first_total.is_some()
        {
            consistent = false;
        }
        Ok((items, last_total, consistent))
    }
}

/// Each id once, first occurrence wins; instances without an id are all kept.
fn dedup(passes: Vec<Vec<Notebook>>) -> Vec<Notebook> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for nb in passes.into_iter().flatten() {
        match nb.id.as_deref() {
            Some(id) if !seen.insert(id.to_string()) => {}
            _ => out.push(nb),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::api::client::{Auth, ClientOptions, RetryPolicy};
    use crate::api::ratelimit::RateLimiter;
    use crate::api::sign::AkSk;

    #[test]
    fn dedup_keeps_first_and_idless() {
        let nb = |id: Option<&str>, name: &str| Notebook {
            id: id.map(String::from),
            name: Some(name.into()),
            ..Default::default()
        };
        let out = dedup(vec![
            vec![nb(Some("a"), "new"), nb(None, "x"), nb(Some("b"), "b")],
            vec![nb(Some("a"), "old"), nb(None, "y"), nb(Some("c"), "c")],
        ]);
        let names: Vec<_> = out.iter().map(|n| n.name_str()).collect();
        assert_eq!(names, ["new", "x", "b", "y", "c"]);
    }

    /// A client of the in-process simulator, whose every page drifts the total.
    async fn drifting(instances: usize) -> (crate::sim::SimHandle, ClientOptions, ListQuery) {
        let sim = crate::sim::spawn(crate::sim::SimConfig {
            instances,
            faults: vec!["drift".parse().unwrap()],
            ..crate::sim::SimConfig::manual_at(1_795_854_600_000)
        })
        .await
        .unwrap();
        let (ak, sk) = sim.credentials();
        let mut o = ClientOptions::new(
            sim.endpoint(),
            sim.project_id(),
            Auth::AkSk(AkSk {
                ak,
                sk,
                security_token: None,
            }),
        );
        o.retry = RetryPolicy::none();
        let q = ListQuery {
            page_size: super::super::query::PageSize::new(10).unwrap(),
            ..ListQuery::default()
        };
        (sim, o, q)
    }

    #[tokio::test]
    async fn a_pass_spaced_by_the_budget_is_not_read_again_on_drift() {
        let (sim, o, q) = drifting(40).await;
        // Unlimited: the drift is noticed and the pages are read again.
        let free = Client::new(o.clone()).unwrap();
        let l = free.fetch_all_multipass(&q).await.unwrap();
        assert!(l.passes > 1, "{} passes", l.passes);
        // Spaced by a budget (one request per 50 ms, no burst): one pass only.
        let mut paced = Client::new(o).unwrap();
        paced.limiter = Arc::new(RateLimiter::new(1200, 1));
        let l = paced.fetch_all_multipass(&q).await.unwrap();
        assert_eq!(l.passes, 1);
        assert!(l.requests <= 6, "{} requests", l.requests);
        assert!(l.notebooks.len() >= 35, "{} instances", l.notebooks.len());
        assert!(paced.limiter.delayed() > 0);
        sim.shutdown(Duration::from_secs(1)).await;
    }
}
