//! The recent read: one kind's instances, the most recently updated first
//! (`sort_key=update_at`, `sort_dir=DESC`), page after page until it reaches
//! what the last one saw. A status change is an update, so one or two pages
//! say where every instance that left a hot set went, and which RUNNING
//! instance failed, where the hot tier would otherwise send one ShowNotebook
//! per leaver and wait for the problem totals: at a small budget the
//! difference between live and half a minute late (issue 20).
//!
//! ```text
//!   newest ─► page 1 ─► page 2 … ─► stop at the first record older than the
//!                                   last read's newest (less MARGIN_MS), at
//!                                   the end of the kind, or after MAX_PAGES
//! ```
//!
//! What the service's reference pages leave open: which fields `sort_key`
//! accepts ("Sorting fields", none listed) and whether a status change moves
//! `update_at` ("Time when the instance is last updated (excluding the
//! heartbeat detection time)"). So the read is an economy, never the proof:
//! nothing is concluded from an instance's absence (a leaver it does not show
//! is still asked about with ShowNotebook, and the problem totals are still
//! counted), and it turns itself off for the session when the service refuses
//! the sort (400) or answers a page that is not newest first or lacks
//! `update_at`.

use std::collections::HashSet;

use crate::api::model::{HotNotebook, HotPage};
use crate::api::query::PageSize;
use crate::api::{ApiError, Client, ListQuery};
use crate::timefmt::now_ms;

/// Pages one read may take: 1,000 changes since the last tick. A page
/// answers for 50 leavers where ShowNotebook answers for one, so the read
/// goes back as far as it must: capped at 4 pages (200 changes), a tick at
/// 120 a minute that came 30 s after the last (the first after the first
/// sweep's burst, ~7 changes a second) could not reach back, sent 16
/// ShowNotebooks, cost ~35 requests and so came 30 s after it again, for good
/// (measured, BENCHMARKS.md "A small budget").
pub const MAX_PAGES: u64 = 20;
/// How far before the last read's newest `update_at` the next read goes on:
/// an update that became visible to the listing a little after it was
/// stamped is still read (records read twice are merely confirmed).
pub const MARGIN_MS: i64 = 3_000;

/// What one kind's recent reads have learnt.
#[derive(Debug, Clone, Default)]
pub struct Feed {
    /// The service does not sort by `update_at` (or does not say it): no more reads.
    pub off: bool,
    /// The newest `update_at` read so far.
    newest: Option<i64>,
}

impl Feed {
    /// The newest `update_at` read so far (the next read stops a margin below it).
    pub fn newest(&self) -> Option<i64> {
        self.newest
    }

    /// Takes in what a read found.
    pub fn learn(&mut self, r: &Recent) {
        self.off |= r.off;
        if let Some(n) = r.newest {
            self.newest = Some(self.newest.map_or(n, |m| m.max(n)));
        }
    }
}

/// What one recent read brought back.
#[derive(Debug, Clone, Default)]
pub struct Recent {
    /// Each instance once, as its newest page showed it.
    pub items: Vec<HotNotebook>,
    /// When the last page's answer arrived (epoch ms).
    pub at_ms: i64,
    /// Requests sent.
    pub pages: u64,
    /// The newest `update_at` read.
    pub newest: Option<i64>,
    /// The service refused the sort or did not follow it: turn the read off.
    pub off: bool,
}

/// One recent read of `query` (the user's filters, one kind), going back to
/// `since` (the last read's newest `update_at`; the first read takes one page).
pub async fn read(
    client: &Client,
    query: &ListQuery,
    since: Option<i64>,
) -> Result<Recent, ApiError> {
    let mut q = query.clone();
    q.sort_key = Some("update_at".to_string());
    q.sort_dir = Some("DESC".to_string());
    q.page_size = PageSize::MAX;
    let limit = u64::from(q.page_size.get());
    let mut out = Recent::default();
    let mut ids = HashSet::new();
    let mut offset = 0;
    loop {
        let page = match client.fetch_page_as::<HotPage>(&q, offset).await {
            Ok((p, _)) => p,
            Err(e) if e.status() == Some(400) => {
                // "Field update_at does not support sorting" and the like.
                out.pages += 1;
                out.off = true;
                return Ok(out);
            }
            Err(e) => return Err(e),
        };
        out.pages += 1;
        out.at_ms = now_ms();
        let n = page.data.len() as u64;
        let Some(oldest) = newest_first(&page.data) else {
            // Not the order asked for: what it holds is still a read.
            out.off = true;
            out.items.extend(page.data);
            return Ok(out);
        };
        if offset == 0 {
            out.newest = page.data.first().and_then(|nb| nb.update_at);
        }
        // Pages read a moment apart may have shifted: an id seen twice is one.
        out.items.extend(
            page.data
                .into_iter()
                .filter(|nb| nb.wire.id().is_none_or(|id| ids.insert(id.to_owned()))),
        );
        let at_end = n < limit;
        let caught_up = match (since, oldest) {
            (Some(s), Some(o)) => o < s - MARGIN_MS,
            _ => false,
        };
        // The first read takes one page; past MAX_PAGES the rest is left to
        // ShowNotebook, the problem totals and the sweep.
        if at_end || caught_up || since.is_none() || out.pages >= MAX_PAGES {
            return Ok(out);
        }
        offset += n;
    }
}

/// The oldest `update_at` of a page in the order asked for (`Some(None)`
/// when it is empty); `None` when a record has none or the page is not
/// newest first.
fn newest_first(items: &[HotNotebook]) -> Option<Option<i64>> {
    let mut last: Option<i64> = None;
    for nb in items {
        let at = nb.update_at?;
        if last.is_some_and(|l| at > l) {
            return None;
        }
        last = Some(at);
    }
    Some(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nb(id: &str, update_at: Option<i64>) -> HotNotebook {
        HotNotebook::of(&crate::api::Notebook {
            id: Some(id.to_string()),
            update_at,
            ..crate::api::Notebook::default()
        })
    }

    #[test]
    fn a_page_must_be_newest_first_with_every_stamp() {
        assert_eq!(newest_first(&[]), Some(None));
        let sorted = [nb("a", Some(30)), nb("b", Some(30)), nb("c", Some(10))];
        assert_eq!(newest_first(&sorted), Some(Some(10)));
        let unsorted = [nb("a", Some(10)), nb("b", Some(30))];
        assert_eq!(newest_first(&unsorted), None);
        let unstamped = [nb("a", Some(10)), nb("b", None)];
        assert_eq!(newest_first(&unstamped), None);
    }

    #[test]
    fn the_feed_keeps_the_newest_stamp_and_stays_off() {
        let mut f = Feed::default();
        f.learn(&Recent {
            newest: Some(50),
            ..Recent::default()
        });
        f.learn(&Recent {
            newest: Some(40),
            ..Recent::default()
        });
        assert_eq!(f.newest(), Some(50));
        assert!(!f.off);
        f.learn(&Recent {
            off: true,
            ..Recent::default()
        });
        f.learn(&Recent::default());
        assert!(f.off, "off for the session");
    }
}
