//! The hot tier: what moves is few, so it is read closely while the rest of a
//! large project is swept at the pace the budget allows.
//!
//! Each tick reads, for each kind of instance (NOTEBOOK, and CodeLab `DEFAULT`
//! unless the user's `--feature` narrows it; the service lists NOTEBOOK when
//! `feature` is absent):
//! - a kind small enough for one page: that page, whole (one request);
//! - otherwise, when the poller says the full reads are due (every tick at the
//!   default budget, every 15 s at 120 a minute; every tick while the kind's
//!   recent read is off), every hot status, one `status=` read each (the
//!   service documents one status per request): the transitional ones, and
//!   DELETED, where a deleted instance waits to vanish. Between them the sets
//!   follow the moves the recent read sees, so a status read finds only the
//!   moves it could not see;
//! - when the poller says the problem statuses are due: each one's `total`
//!   with the smallest page (one request), and the whole set only when the
//!   total differs from the set as known (the set follows the moves the other
//!   reads see, so a difference is someone who came in unseen, straight from a
//!   stable status);
//! - the recent read ([`super::recent`]): the instances updated since the last
//!   tick, newest first, usually one page. It shows where leavers went and
//!   which stable instance failed, for one request rather than one each.
//!
//! An instance that was in a read last tick and is in none this tick left its
//! hot set: when the recent read did not show it, a targeted ShowNotebook says
//! where it went, or that it no longer exists (404 / `ModelArts.6309`).
//! Nothing is inferred from an absence alone, but for DELETED, the end of
//! every lifecycle: an instance gone from a one-page DELETED read has nowhere
//! to be but gone (a sweep takes it so too).
//!
//! ```text
//!   tick ─► status + recent reads (concurrent) ─► leavers = last sets − seen ─► ShowNotebook ─► News
//!                                                                        │ 404/6309 → gone
//! ```

use std::collections::{HashMap, HashSet};

use futures::StreamExt;

use crate::api::model::Status;
use crate::api::model::{HotNotebook, HotPage, WireNotebook};
use crate::api::query::PageSize;
use crate::api::sweep::FEATURE_CODELAB;
use crate::api::{ApiError, Client, ListQuery, Notebook};
use crate::timefmt::now_ms;

use super::recent::{self, Feed, Recent};

/// ShowNotebook requests a tick may send; further leavers wait for the next.
pub const MAX_SHOWS_PER_TICK: usize = 16;
/// Pages one status read may take: a set this large is the sweep's business.
const MAX_PAGES_PER_READ: u64 = 20;

/// Statuses read every tick: the transitional ones, and DELETED.
pub fn hot_statuses() -> impl Iterator<Item = &'static Status> {
    Status::ALL
        .iter()
        .filter(|s| s.is_transitional() || **s == Status::Deleted)
}

/// Statuses watched by their totals.
pub fn problem_statuses() -> impl Iterator<Item = &'static Status> {
    Status::ALL.iter().filter(|s| s.is_problem())
}

/// The reads a tick does beside the light ones (a small kind whole, a large
/// kind's recent read), as the poller plans them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Due {
    /// Every hot status of a large kind (always while its recent read is off).
    pub statuses: bool,
    /// The problem statuses' totals.
    pub problems: bool,
}

/// Which read: a status of a kind, or (`None`) the whole kind.
type ReadKey = (usize, Option<Status>);

/// One kind of instance and what the tier last saw of it.
#[derive(Debug, Clone)]
struct Kind {
    /// The user's filters, with this kind's `feature`.
    query: ListQuery,
    /// Fits one page: read whole each tick. `None` until the first read says.
    small: Option<bool>,
    /// The recent reads of a large kind.
    feed: Feed,
}

impl Kind {
    /// Whether the user's `--status` leaves `s` to be listed at all.
    fn allows(&self, s: &Status) -> bool {
        self.query
            .status
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(s.as_str()))
    }
}

/// What the tier remembers between ticks. Moved into a tick and back out, so
/// the poller never shares it.
#[derive(Debug, Clone)]
pub struct Memory {
    kinds: Vec<Kind>,
    /// Ids each complete read last held.
    sets: HashMap<ReadKey, HashSet<String>>,
    /// Each problem status's total as the service last said it, moved on by
    /// the moves the tier saw since: the next count is compared with this,
    /// not with the set's size (pages read a moment apart under churn may
    /// hold one more or one less than the total, and at a small budget a
    /// count that never matched read the whole set every time).
    totals: HashMap<ReadKey, u64>,
    /// The kind of each instance the tier has read (for the problem sets).
    kind: HashMap<String, usize>,
    /// Leavers not yet asked about (over the per-tick cap).
    pending: Vec<String>,
}

impl Memory {
    /// The tier for the user's filters.
    pub fn new(query: &ListQuery) -> Memory {
        let kind = |feature: Option<String>| Kind {
            query: ListQuery {
                feature,
                ..query.clone()
            },
            small: None,
            feed: Feed::default(),
        };
        let kinds = match &query.feature {
            Some(_) => vec![kind(query.feature.clone())],
            None => vec![kind(None), kind(Some(FEATURE_CODELAB.to_string()))],
        };
        Memory {
            kinds,
            sets: HashMap::new(),
            totals: HashMap::new(),
            kind: HashMap::new(),
            pending: Vec::new(),
        }
    }

    /// Notes which kind `nb` is (its `feature`; absent is NOTEBOOK).
    fn kind_of_id(&mut self, id: &str, nb: &HotNotebook) {
        let feature = nb.feature.as_deref().unwrap_or("NOTEBOOK");
        let k = self.kinds.iter().position(|k| {
            k.query
                .feature
                .as_deref()
                .unwrap_or("NOTEBOOK")
                .eq_ignore_ascii_case(feature)
        });
        if let Some(k) = k
            && !self.kind.contains_key(id)
        {
            self.kind.insert(id.to_string(), k);
        }
    }

    /// Keeps the known status sets up with moves seen elsewhere: an instance
    /// now in another status leaves its set; one now in a status whose set
    /// (of its kind) is known joins it. A problem total that differs from its
    /// set, or a status read that misses a member, is then a move no other
    /// read saw.
    fn follow_moves(&mut self, moved: &HashMap<String, Status>) {
        for (key, ids) in self.sets.iter_mut() {
            if let Some(p) = key.1.as_ref() {
                let before = ids.len();
                ids.retain(|id| moved.get(id).is_none_or(|s| s == p));
                if let Some(t) = self.totals.get_mut(key) {
                    *t = t.saturating_sub((before - ids.len()) as u64);
                }
            }
        }
        for (id, status) in moved {
            let Some(k) = self.kind.get(id).copied() else {
                continue;
            };
            let key = (k, Some(status.clone()));
            if let Some(set) = self.sets.get_mut(&key)
                && set.insert(id.clone())
                && let Some(t) = self.totals.get_mut(&key)
            {
                *t += 1;
            }
        }
    }

    /// Requests a tick costs before ShowNotebooks and problem checks: one per
    /// small kind; one per hot status of a large one, and its recent read.
    /// The poller compares it with a sweep's cost: a project whose sweep
    /// costs no more is just swept.
    pub fn reads_per_tick(&self) -> u64 {
        self.reads(false)
    }

    /// Requests a light tick costs (no full reads due): one per small kind,
    /// the recent read of a large one, or its status reads while that is off.
    /// The least a tick is planned at.
    pub fn light_reads_per_tick(&self) -> u64 {
        self.reads(true)
    }

    fn reads(&self, light: bool) -> u64 {
        self.kinds
            .iter()
            .map(|k| {
                let statuses = hot_statuses().filter(|s| k.allows(s)).count() as u64;
                let large = match (light, k.feed.off) {
                    (_, true) => statuses,
                    (true, false) => 1,
                    (false, false) => statuses + 1,
                };
                match k.small {
                    Some(true) => 1,
                    // Not known yet: the probe page. CodeLab instances are one per
                    // user at most, so that kind is expected to fit it; the other
                    // is counted with the reads it will need if large.
                    None if k.query.feature.as_deref() == Some(FEATURE_CODELAB) => 1,
                    None => 1 + large,
                    Some(false) => large,
                }
            })
            .sum()
    }
}

impl Memory {
    /// Requests the problem totals add to a tick: one per problem status of
    /// each kind that is (or may be) too large for one page.
    pub fn problem_reads(&self) -> u64 {
        self.kinds
            .iter()
            .filter(|k| k.small != Some(true))
            .filter(|k| {
                k.small == Some(false) || k.query.feature.as_deref() != Some(FEATURE_CODELAB)
            })
            .map(|k| problem_statuses().filter(|s| k.allows(s)).count() as u64)
            .sum()
    }
}

/// What one tick learnt.
#[derive(Debug, Clone, Default)]
pub struct News {
    /// Instances read, each batch with the time its answer arrived (epoch ms).
    pub seen: Vec<(i64, Vec<WireNotebook>)>,
    /// Instances ShowNotebook says no longer exist, with the time it said so.
    pub gone: Vec<(String, i64)>,
    /// ShowNotebook requests sent.
    pub shows: u64,
    /// Requests the tick sent (pages and ShowNotebooks; retries not counted).
    pub requests: u64,
    /// Of those, what the hot statuses' reads and the problem totals sent
    /// (the plan measures the full reads apart from the light ones).
    pub status_requests: u64,
    pub problem_requests: u64,
    /// The first read that failed; what the others learnt is still here.
    pub error: Option<ApiError>,
}

/// One read of the tick.
#[derive(Debug, Clone)]
enum Job {
    /// The kind's first page without a status: the whole kind when it fits.
    Whole(usize),
    /// Every page of one status.
    Status(usize, Status),
    /// A problem status: its total from the smallest page; the set if it moved.
    Count(usize, Status, Option<u64>),
    /// The kind's recent read, back to the newest `update_at` read before.
    Recent(usize, Option<i64>),
}

/// What a read brought back.
struct Read {
    key: ReadKey,
    at_ms: i64,
    items: Vec<HotNotebook>,
    /// Every page was read: an id missing from `items` left the set.
    complete: bool,
    /// The kind's size, when a whole read found out.
    small: Option<bool>,
    /// Pages read.
    pages: u64,
    /// What a recent read learnt (its records are in `items`).
    feed: Option<Recent>,
    /// The service's total, from the first page.
    total: Option<u64>,
}

/// One tick: reads the hot sets, asks ShowNotebook about leavers.
/// `due`: the full reads it does beside the light ones.
pub async fn tick(client: &Client, mut mem: Memory, due: Due) -> (Memory, News) {
    let news = run(client, &mut mem, due).await;
    (mem, news)
}

async fn run(client: &Client, mem: &mut Memory, due: Due) -> News {
    // The recent reads go first: the problem totals are then compared with
    // the totals moved by what they saw, so a failure the recent read placed
    // does not send the whole set to be read again (at a small budget, with
    // ticks seconds apart, one nearly always had).
    let kinds = mem.kinds.clone();
    let recent_jobs: Vec<Job> = kinds
        .iter()
        .enumerate()
        .filter(|(_, kind)| kind.small == Some(false) && !kind.feed.off)
        .map(|(k, kind)| Job::Recent(k, kind.feed.newest()))
        .collect();
    let mut results: Vec<Result<Read, ApiError>> = futures::stream::iter(recent_jobs)
        .map(|job| read(client, &kinds, job))
        .buffer_unordered(client.concurrency())
        .collect()
        .await;
    let mut placed: HashMap<String, Status> = HashMap::new();
    for read in results.iter().flatten() {
        for nb in &read.items {
            if let Some(id) = nb.wire.id() {
                placed.insert(id.to_string(), nb.status_or_unknown());
                mem.kind_of_id(id, nb);
            }
        }
    }
    mem.follow_moves(&placed);

    let mut jobs = Vec::new();
    for (k, kind) in mem.kinds.iter().enumerate() {
        if kind.small != Some(false) {
            jobs.push(Job::Whole(k));
            continue;
        }
        if due.statuses || kind.feed.off {
            for s in hot_statuses().filter(|s| kind.allows(s)) {
                jobs.push(Job::Status(k, s.clone()));
            }
        }
        if due.problems {
            for s in problem_statuses().filter(|s| kind.allows(s)) {
                let key = (k, Some(s.clone()));
                let known = mem.totals.get(&key).copied();
                jobs.push(if let Some(n) = known {
                    Job::Count(k, s.clone(), Some(n))
                } else {
                    Job::Status(k, s.clone())
                });
            }
        }
    }
    let rest: Vec<Result<Read, ApiError>> = futures::stream::iter(jobs)
        .map(|job| read(client, &kinds, job))
        .buffer_unordered(client.concurrency())
        .collect()
        .await;
    results.extend(rest);

    let mut news = News::default();
    let mut seen: HashMap<String, Status> = HashMap::new();
    let mut reads = Vec::new();
    for r in results {
        match r {
            Ok(read) => {
                for nb in &read.items {
                    if let Some(id) = nb.wire.id() {
                        seen.insert(id.to_string(), nb.status_or_unknown());
                        mem.kind_of_id(id, nb);
                    }
                }
                reads.push(read);
            }
            Err(e) => {
                news.requests += 1;
                news.error.get_or_insert(e);
            }
        }
    }
    news.requests += reads.iter().map(|r| r.pages).sum::<u64>();
    for r in reads.iter() {
        match &r.key.1 {
            Some(s) if s.is_problem() => news.problem_requests += r.pages,
            Some(_) => news.status_requests += r.pages,
            None => {}
        }
    }

    // Who left a set this tick without turning up in another read.
    let mut leavers: Vec<String> = std::mem::take(&mut mem.pending)
        .into_iter()
        .filter(|id| !seen.contains_key(id))
        .collect();
    let mut ended = Vec::new();
    for read in reads.iter().filter(|r| r.complete) {
        let now: HashSet<&str> = read.items.iter().filter_map(|n| n.wire.id()).collect();
        // DELETED is the end: nothing leaves it but by ceasing to exist. Read
        // in one page (no shift between pages can hide a member), an instance
        // gone from it is gone, as a sweep takes it; else ShowNotebook says.
        let terminal = read.key.1 == Some(Status::Deleted) && read.pages == 1;
        if let Some(before) = mem.sets.get(&read.key) {
            for id in before {
                if !now.contains(id.as_str()) && !seen.contains_key(id) {
                    if terminal {
                        ended.push((id.clone(), read.at_ms));
                    } else {
                        leavers.push(id.clone());
                    }
                }
            }
        }
    }
    for (id, _) in &ended {
        for set in mem.sets.values_mut() {
            set.remove(id);
        }
        mem.kind.remove(id);
    }
    news.gone.extend(ended);
    leavers.sort();
    leavers.dedup();
    // Problem sets follow the moves the reads saw, so a total that differs
    // from what is known means someone came in unseen (straight from a stable
    // status): only then is the set read whole.
    mem.follow_moves(&seen);

    // Remember what the complete reads hold now.
    for read in reads.iter_mut() {
        if let Some(feed) = &read.feed {
            mem.kinds[read.key.0].feed.learn(feed);
        }
        if let Some(small) = read.small {
            mem.kinds[read.key.0].small = Some(small);
        }
        if read.complete {
            let ids = read
                .items
                .iter()
                .filter_map(|n| n.wire.id().map(str::to_owned))
                .collect();
            mem.sets.insert(read.key.clone(), ids);
        }
        // A problem status whose set is known: its total as said now.
        if let (Some(s), Some(t)) = (&read.key.1, read.total)
            && s.is_problem()
            && mem.sets.contains_key(&read.key)
        {
            mem.totals.insert(read.key.clone(), t);
        }
    }
    // A kind that turned out large has status sets from now on, not a whole set.
    for (k, kind) in mem.kinds.iter().enumerate() {
        if kind.small == Some(false) {
            mem.sets.remove(&(k, None));
        }
    }
    for read in reads {
        if !read.items.is_empty() {
            let texts = read.items.into_iter().map(|h| h.wire).collect();
            news.seen.push((read.at_ms, texts));
        }
    }

    // Where did the leavers go?
    if leavers.len() > MAX_SHOWS_PER_TICK {
        mem.pending = leavers.split_off(MAX_SHOWS_PER_TICK);
    }
    news.shows = leavers.len() as u64;
    news.requests += news.shows;
    let shown: Vec<(String, Result<Option<Notebook>, ApiError>, i64)> =
        futures::stream::iter(leavers)
            .map(|id| async move {
                let r = client.show_notebook(&id).await;
                (id, r, now_ms())
            })
            .buffer_unordered(client.concurrency())
            .collect()
            .await;
    let mut found = Vec::new();
    for (id, r, at) in shown {
        match r {
            Ok(Some(nb)) => {
                if let Some(id) = nb.id.clone() {
                    let moved = HashMap::from([(id, nb.status_or_unknown())]);
                    mem.follow_moves(&moved);
                }
                found.push((at, nb));
            }
            Ok(None) => {
                for set in mem.sets.values_mut() {
                    set.remove(&id);
                }
                mem.kind.remove(&id);
                news.gone.push((id, at));
            }
            Err(e) => {
                // Asked again next tick.
                mem.pending.push(id);
                news.error.get_or_insert(e);
            }
        }
    }
    for (at, nb) in found {
        // As text, as the reads' instances are (a few a tick at most).
        news.seen.push((at, vec![WireNotebook::of(&nb)]));
    }
    news
}

/// One read, every page of it (up to [`MAX_PAGES_PER_READ`]).
async fn read(client: &Client, kinds: &[Kind], job: Job) -> Result<Read, ApiError> {
    let (k, status, limit, known_total) = match &job {
        Job::Whole(k) => (*k, None, PageSize::MAX, None),
        Job::Status(k, s) => (*k, Some(s.clone()), PageSize::MAX, None),
        Job::Count(k, s, t) => (*k, Some(s.clone()), smallest_page(), *t),
        Job::Recent(k, since) => {
            let mut r = recent::read(client, &kinds[*k].query, *since).await?;
            return Ok(Read {
                key: (*k, None),
                at_ms: r.at_ms,
                items: std::mem::take(&mut r.items),
                complete: false,
                small: None,
                pages: r.pages,
                feed: Some(r),
                total: None,
            });
        }
    };
    let mut q = kinds[k].query.clone();
    if let Some(s) = &status {
        q.status = Some(s.as_str().to_string());
    }
    q.page_size = limit;
    let (first, _) = client.fetch_page_as::<HotPage>(&q, 0).await?;
    let total = first.total.map(|t| t.max(0) as u64);
    let mut items = first.data;
    let mut at_ms = now_ms();
    let whole = matches!(job, Job::Whole(_));
    let small = whole.then(|| {
        total.map_or((items.len() as u64) < u64::from(limit.get()), |t| {
            t <= u64::from(limit.get())
        })
    });
    if whole && small == Some(false) {
        // Too large to read whole each tick: status reads from the next tick.
        return Ok(Read {
            key: (k, None),
            at_ms,
            items,
            complete: false,
            small,
            pages: 1,
            feed: None,
            total,
        });
    }
    if let Job::Count(..) = job
        && total == known_total
    {
        // Unchanged: the first page is news, the set is presumed the same.
        return Ok(Read {
            key: (k, status),
            at_ms,
            items,
            complete: false,
            small: None,
            pages: 1,
            feed: None,
            total,
        });
    }
    // Read the rest of the set (a count that moved is read whole, at full pages).
    if let Job::Count(..) = job
        && total.is_some_and(|t| t > items.len() as u64)
    {
        q.page_size = PageSize::MAX;
        items.clear();
    }
    let page = u64::from(q.page_size.get());
    let mut complete = true;
    let mut offset = items.len() as u64;
    let mut pages = u64::from(offset > 0);
    let mut sent = 1;
    while total.is_some_and(|t| offset < t) || (total.is_none() && offset == pages * page) {
        if pages >= MAX_PAGES_PER_READ {
            complete = false;
            break;
        }
        let (p, _) = client.fetch_page_as::<HotPage>(&q, offset).await?;
        at_ms = now_ms();
        pages += 1;
        sent += 1;
        let n = p.data.len() as u64;
        items.extend(p.data);
        if n == 0 {
            break;
        }
        offset += n;
    }
    // Pages read a moment apart may have shifted: an id seen twice is one.
    let mut ids = HashSet::new();
    items.retain(|nb| nb.wire.id().is_none_or(|id| ids.insert(id.to_owned())));
    Ok(Read {
        key: (k, status),
        at_ms,
        items,
        complete,
        small,
        pages: sent,
        feed: None,
        total,
    })
}

fn smallest_page() -> PageSize {
    PageSize::new(PageSize::ALLOWED[0]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_total_follows_the_moves_seen_not_the_sets_size() {
        let mut mem = Memory::new(&ListQuery {
            feature: Some("NOTEBOOK".into()),
            ..ListQuery::default()
        });
        let key = (0, Some(Status::Error));
        // Pages read under churn held two where the service counted three.
        mem.sets.insert(
            key.clone(),
            ["a", "b"].map(String::from).into_iter().collect(),
        );
        mem.totals.insert(key.clone(), 3);
        for id in ["a", "b", "c"] {
            mem.kind.insert(id.to_string(), 0);
        }
        let moved = |id: &str, s: Status| HashMap::from([(id.to_string(), s)]);
        mem.follow_moves(&moved("c", Status::Error));
        assert_eq!(mem.totals[&key], 4, "c came in, seen");
        mem.follow_moves(&moved("c", Status::Error));
        assert_eq!(mem.totals[&key], 4, "seen again: no change");
        mem.follow_moves(&moved("a", Status::Running));
        assert_eq!(mem.totals[&key], 3, "a left, seen");
        assert_eq!(mem.sets[&key].len(), 2);
        // A hot status set follows too (no total kept for it).
        let starting = (0, Some(Status::Starting));
        mem.sets.insert(starting.clone(), HashSet::new());
        mem.follow_moves(&moved("b", Status::Starting));
        assert!(mem.sets[&starting].contains("b") && !mem.sets[&key].contains("b"));
        assert_eq!(mem.totals[&key], 2);
        assert!(!mem.totals.contains_key(&starting));
    }

    #[test]
    fn reads_per_tick_follow_kinds_and_the_users_filters() {
        let both = Memory::new(&ListQuery::default());
        // NOTEBOOK (a probe, 7 status reads and the recent read) and CodeLab
        // (one page).
        assert_eq!(both.reads_per_tick(), 10);
        let one = Memory::new(&ListQuery {
            feature: Some("NOTEBOOK".into()),
            ..ListQuery::default()
        });
        assert_eq!(one.reads_per_tick(), 9);
        let stopping = Memory::new(&ListQuery {
            feature: Some("NOTEBOOK".into()),
            status: Some("STOPPING".into()),
            ..ListQuery::default()
        });
        assert_eq!(stopping.reads_per_tick(), 3);
        let running = Memory::new(&ListQuery {
            feature: Some("NOTEBOOK".into()),
            status: Some("RUNNING".into()),
            ..ListQuery::default()
        });
        assert_eq!(running.reads_per_tick(), 2, "the probe and the recent read");
        // A light tick: the NOTEBOOK probe (and, once large, its recent read
        // alone) and the CodeLab page; the totals add a count per problem
        // status of the kind that may be large.
        assert_eq!(both.light_reads_per_tick(), 3);
        assert_eq!(both.problem_reads(), 5);
        assert_eq!(stopping.light_reads_per_tick(), 2);
        assert_eq!(
            stopping.problem_reads(),
            0,
            "the user's --status leaves none"
        );
        let hot: Vec<_> = hot_statuses().map(Status::as_str).collect();
        assert_eq!(
            hot,
            [
                "INIT",
                "CREATING",
                "STARTING",
                "SNAPSHOTTING",
                "STOPPING",
                "DELETING",
                "DELETED"
            ]
        );
        assert_eq!(problem_statuses().count(), 5);
    }
}
