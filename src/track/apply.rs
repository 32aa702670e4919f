//! The one place a poller message changes what is known: [`Tracker::apply_all`].
//! Sweeps arrive page by page (rows appear while a first sweep runs; none is
//! removed before the sweep ends); a sweep's end confirms who is gone; the
//! hot tier's news updates the instances it read; a failure keeps the last
//! good data.

use super::feeds::Feed;
use super::key::{InstanceKey, SourceId};
use super::poll::{Pace, PollErrorInfo, SweepProgress};
use super::tracked::Tracked;
use super::{EventKind, MAX_EVENTS, RecentEvent, Tracker};
use crate::api::model::{Notebook, Status, WireNotebook};
use crate::watch::{Message, Stats};

/// What applying messages changed. The dashboard redraws when
/// [`Changes::visible`] and re-sorts when [`Changes::rows`]; the exporter
/// re-renders the instances named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Instances that joined, in the order they joined.
    pub appeared: Vec<InstanceKey>,
    /// Instances whose row changed (a field the table shows, or the status);
    /// may name an instance twice, or one that also appeared.
    pub changed: Vec<InstanceKey>,
    /// Instances that left. The others' places in [`Tracker::instances`] moved.
    pub gone: Vec<InstanceKey>,
    /// Where they left from: each departure's places in
    /// [`Tracker::instances`] at its moment, ascending, in the order they
    /// happened. The others kept their order, each moving down by the places
    /// left before it (see [`Changes::places_after`]).
    pub left: Vec<Vec<usize>>,
    /// Instances whose record was taken in, whatever changed in it (what the
    /// table shows or not): the appeared and changed ones and more, never one
    /// whose page held the same text as the record it has. What the exporter
    /// renders again.
    pub records: Vec<InstanceKey>,
    /// A sweep ended (complete or not): gone was confirmed, a trend sample taken.
    pub sweep_ended: bool,
    /// The polling state shown moved (a poll started or failed, the hot tier
    /// reported, a first sweep's count grew): the header and status bar.
    pub polling: bool,
}

impl Changes {
    /// Instances joined or left.
    pub fn population(&self) -> bool {
        !self.appeared.is_empty() || !self.gone.is_empty()
    }

    /// Some row joined, left or changed: the order may have changed.
    pub fn rows(&self) -> bool {
        self.population() || !self.changed.is_empty()
    }

    /// Anything on screen may have changed. A page that only confirmed rows as
    /// they were is not (the 1 s tick redraws the ages anyway).
    pub fn visible(&self) -> bool {
        self.rows() || self.sweep_ended || self.polling
    }

    /// Where the instance at place `i` before these changes is after them;
    /// `None` if it left. Places past those of the instances that were there
    /// before (the ones that joined) are not asked about.
    pub fn places_after(&self, mut i: usize) -> Option<usize> {
        for places in &self.left {
            match places.binary_search(&i) {
                Ok(_) => return None,
                Err(before) => i -= before,
            }
        }
        Some(i)
    }

    /// Adds what `later` changed (for a consumer that collects changes
    /// between two uses of them, such as the exporter between renders).
    pub fn absorb(&mut self, later: Changes) {
        self.appeared.extend(later.appeared);
        self.changed.extend(later.changed);
        self.gone.extend(later.gone);
        self.left.extend(later.left);
        self.records.extend(later.records);
        self.sweep_ended |= later.sweep_ended;
        self.polling |= later.polling;
    }
}

/// What the key of an instance the service sent without an id starts with
/// (see `Tracker::page_key`).
const NO_ID: &str = "(no id) ";

impl Tracker {
    /// Applies the poller messages received at `now_ms`, each from its source,
    /// in order, and returns what changed. Runs of pages of one source go in
    /// as one page, as old as its oldest page (never newer than news that came
    /// meanwhile), so a batch costs one pass over the instances, not one per page.
    pub fn apply_all(
        &mut self,
        msgs: impl IntoIterator<Item = (SourceId, Message)>,
        now_ms: i64,
    ) -> Changes {
        let mut changes = Changes::default();
        let mut run: Option<(SourceId, Vec<WireNotebook>, SweepProgress, i64)> = None;
        for (src, msg) in msgs {
            if let Message::Page {
                notebooks,
                loaded,
                total,
                read_at_ms,
            } = msg
            {
                if run.as_ref().is_some_and(|(s, ..)| *s != src) {
                    self.flush(run.take(), &mut changes);
                }
                let (_, all, progress, at) = run
                    .get_or_insert_with(|| (src, Vec::new(), SweepProgress::default(), i64::MAX));
                all.extend(notebooks);
                *progress = SweepProgress { loaded, total };
                *at = (*at).min(read_at_ms);
                continue;
            }
            self.flush(run.take(), &mut changes);
            self.apply_one(src, msg, now_ms, &mut changes);
        }
        self.flush(run, &mut changes);
        changes
    }

    /// [`Tracker::apply_all`] of one message.
    pub fn apply(&mut self, source: SourceId, msg: Message, now_ms: i64) -> Changes {
        self.apply_all([(source, msg)], now_ms)
    }

    fn flush(
        &mut self,
        run: Option<(SourceId, Vec<WireNotebook>, SweepProgress, i64)>,
        changes: &mut Changes,
    ) {
        if let Some((src, notebooks, progress, at)) = run {
            self.page(src, notebooks, progress, at, changes);
        }
    }

    /// Every message but a page (pages are merged by [`Tracker::apply_all`]).
    fn apply_one(&mut self, src: SourceId, msg: Message, now: i64, changes: &mut Changes) {
        changes.polling = true;
        match msg {
            Message::Started => self.with_feed(src, |p| p.in_flight_since_ms = Some(now)),
            Message::Page {
                notebooks,
                loaded,
                total,
                read_at_ms,
            } => self.page(
                src,
                notebooks,
                SweepProgress { loaded, total },
                read_at_ms,
                changes,
            ),
            Message::Hot {
                seen,
                gone,
                error,
                stats,
            } => {
                self.record_stats(src, &stats, now);
                let error = error.map(|e| PollErrorInfo::from_api(&e, 1).short_code());
                self.hot(src, seen, gone, error, now, changes);
            }
            Message::Snapshot { listing, stats, .. } => {
                self.record_stats(src, &stats, now);
                self.record_burst(src, stats.burst_left);
                if !listing.notebooks.is_empty() {
                    let n = listing.notebooks.len() as u64;
                    let progress = SweepProgress {
                        loaded: n,
                        total: Some(n),
                    };
                    let notebooks = listing.notebooks.iter().map(WireNotebook::of).collect();
                    self.page(src, notebooks, progress, now, changes);
                }
                self.finish_sweep(src, listing.complete, now, changes);
            }
            Message::Failed {
                error,
                consecutive,
                next_in,
                stats,
            } => {
                tracing::warn!(error = %error, consecutive, source = %src, "poll failed");
                self.record_stats(src, &stats, now);
                let mut info = PollErrorInfo::from_api(&error, consecutive);
                info.next_retry_at_ms = next_in
                    .map(|d| now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
                // No next try and not an authentication stop: the poller died.
                info.stopped = next_in.is_none() && !error.is_auth();
                self.fail(src, info, now);
            }
        }
    }

    /// What the poller's stats say: its requests and its pace.
    fn record_stats(&mut self, src: SourceId, stats: &Stats, now: i64) {
        self.record_requests(src, stats.requests_last_minute, now);
        self.record_pace(
            src,
            Pace {
                fast: stats.fast.then_some(stats.interval),
                budget: stats.budget_limited.then_some(stats.effective_interval),
                hot: stats.hot,
            },
        );
    }

    /// One page of `source`'s sweep in progress, read at `at`: instances are
    /// added or updated at once; none is removed before the sweep ends. An
    /// instance whose text is the one its row took last is only confirmed:
    /// nothing in it can have changed, so it is not decoded.
    fn page(
        &mut self,
        source: SourceId,
        notebooks: Vec<WireNotebook>,
        progress: SweepProgress,
        at: i64,
        changes: &mut Changes,
    ) {
        let Some(feed) = self.feeds.get(source.index()) else {
            return;
        };
        // The first sweep's count moving is news on screen.
        changes.polling |= feed.sweeps_complete == 0 || !self.has_data;
        // Only a sweep after a complete one can tell a new instance from one
        // not seen yet.
        let announce = announces(feed);
        let seq = feed.sweep_seq;
        self.make_room(progress.total);
        for wire in notebooks {
            // Two instances without ids may send the same text: the second of
            // a sweep is not the first confirmed again.
            let known = self.unchanged(source, &wire).filter(|&i| {
                let t = &self.instances[i];
                t.seen_sweep != seq || !t.key.id().starts_with(NO_ID)
            });
            let index = match known {
                Some(i) => {
                    let t = &mut self.instances[i];
                    t.confirmed_ms = t.confirmed_ms.max(at);
                    i
                }
                None => {
                    let nb = wire.decode();
                    let key = self.page_key(source, seq, &nb);
                    self.take_record(key, nb, Some(wire.fingerprint()), at, announce, changes)
                }
            };
            let t = &mut self.instances[index];
            t.seen_sweep = seq;
            t.missed = 0;
        }
        self.has_data = true;
        self.with_feed(source, |p| p.sweep = Some(progress));
    }

    /// `source`'s sweep has ended. Instances it did not see are gone only once
    /// a later read confirms it: a second complete sweep without them, or at
    /// once when they were last seen DELETING or DELETED. Until then they keep
    /// their history. An incomplete sweep (the listing moved more than it
    /// could repair) confirms nothing.
    fn finish_sweep(&mut self, source: SourceId, complete: bool, at: i64, changes: &mut Changes) {
        let Some(feed) = self.feeds.get(source.index()) else {
            return;
        };
        let current = feed.sweep_seq;
        // Confirmed since the sweep began (by the hot tier): not missed, whatever
        // the sweep's pages said. But an instance last seen DELETING or DELETED
        // that a complete sweep lacks was removed meanwhile (alive throughout, it
        // would be in it), however recently the hot tier saw it.
        let began = feed.poll.in_flight_since_ms.unwrap_or(at);
        let mut gone = Vec::new();
        for (i, t) in self.instances.iter_mut().enumerate() {
            let ending = matches!(t.status, Status::Deleting | Status::Deleted);
            if t.key.source != source
                || t.seen_sweep == current
                || !complete
                || (t.confirmed_ms >= began && !ending)
            {
                continue;
            }
            t.missed = t.missed.saturating_add(1);
            if t.missed >= 2 || ending {
                gone.push(i);
            }
        }
        self.remove(&gone, at, changes);
        if let Some(f) = self.feeds.get_mut(source.index()) {
            f.sweep_seq += 1;
            f.last_sweep_complete = complete;
            if complete {
                f.sweeps_complete += 1;
            }
            f.poll.sweep = None;
            f.poll.last_ok_ms = Some(at);
            f.poll.in_flight_since_ms = None;
            f.poll.last_error = None;
            f.poll.last_error_at_ms = None;
            f.poll.auth_stopped = false;
        }
        self.has_data = true;
        self.combine_feeds();
        // One sample per finished sweep: a page is part of a population, and
        // counting pages would draw the first sweep's loading as growth.
        self.trend
            .record(at, self.instances.iter().map(|t| (&t.key, &t.status)));
        changes.sweep_ended = true;
    }

    /// A hot tick's news: batches of instances, each with when its answer came
    /// (epoch ms); ids ShowNotebook answered 404 / `ModelArts.6309` for, with
    /// when; what failed, if anything. News older than what an instance
    /// already had is ignored. An instance missing from a hot read is not
    /// touched: its absence alone proves nothing.
    fn hot(
        &mut self,
        source: SourceId,
        seen: Vec<(i64, Vec<WireNotebook>)>,
        gone: Vec<(String, i64)>,
        error: Option<String>,
        now_ms: i64,
        changes: &mut Changes,
    ) {
        let Some(feed) = self.feeds.get(source.index()) else {
            return;
        };
        // As for a sweep page: only after a complete sweep is a new id news.
        let announce = announces(feed);
        for (at, batch) in seen {
            for wire in batch {
                // The text its row took last: confirmed, nothing to read.
                if let Some(i) = self.unchanged(source, &wire) {
                    let t = &mut self.instances[i];
                    if at >= t.confirmed_ms {
                        t.confirmed_ms = at;
                        t.missed = 0;
                    }
                    continue;
                }
                let Some(key) = wire
                    .id()
                    .filter(|id| !id.is_empty())
                    .map(|id| InstanceKey::new(source, id))
                else {
                    continue;
                };
                let older = self.get(&key).is_some_and(|t| at < t.confirmed_ms);
                let nb = wire.decode();
                let index =
                    self.take_record(key, nb, Some(wire.fingerprint()), at, announce, changes);
                if !older {
                    self.instances[index].missed = 0;
                }
            }
        }
        let mut gone_idx: Vec<usize> = gone
            .iter()
            .filter_map(|(id, _)| self.index.get(&InstanceKey::new(source, id)).copied())
            .collect();
        gone_idx.sort_unstable();
        gone_idx.dedup();
        let at = gone.iter().map(|(_, at)| *at).max().unwrap_or(now_ms);
        self.remove(&gone_idx, at, changes);
        self.with_feed(source, |p| {
            p.last_hot_ms = Some(now_ms);
            p.hot_error = error;
        });
    }

    /// A failed poll of `source`. The last good data stays.
    pub(crate) fn fail(&mut self, source: SourceId, error: PollErrorInfo, at_ms: i64) {
        self.with_feed(source, |p| {
            p.in_flight_since_ms = None;
            p.auth_stopped = error.auth;
            p.last_error = Some(error);
            p.last_error_at_ms = Some(at_ms);
        });
    }

    /// Where the instance a page carries is, when its row took this very
    /// text last (and the held records do not want it): nothing to read.
    /// Known by its text's fingerprint (a text holds its id): no id is read.
    fn unchanged(&self, source: SourceId, wire: &WireNotebook) -> Option<usize> {
        let print = wire.fingerprint();
        let i = *self.prints.get(&(source, print))?;
        let t = self.instances.get(i)?;
        (t.fingerprint == Some(print) && !self.records.wants(&t.key)).then_some(i)
    }

    /// Row `i` now holds the record of the text with this fingerprint (`None`:
    /// of no listing text).
    pub(super) fn set_print(&mut self, i: usize, print: Option<u64>) {
        let Some(t) = self.instances.get_mut(i) else {
            return;
        };
        let source = t.key.source;
        if let Some(old) = std::mem::replace(&mut t.fingerprint, print)
            && self.prints.get(&(source, old)) == Some(&i)
        {
            self.prints.remove(&(source, old));
        }
        if let Some(new) = print {
            self.prints.insert((source, new), i);
        }
    }

    /// One record of instance `key`, read at `at` (a sweep page, a hot read, a
    /// read outside the sweep): its row takes it, unless newer news came
    /// meanwhile (it would put an older status back), or it is added
    /// (announced when `announce`). `fingerprint`: its text's, when a page
    /// carried it. Returns its place.
    pub(super) fn take_record(
        &mut self,
        key: InstanceKey,
        nb: Notebook,
        fingerprint: Option<u64>,
        at: i64,
        announce: bool,
        changes: &mut Changes,
    ) -> usize {
        self.revision += 1;
        if let Some(i) = self.index.get(&key).copied() {
            let t = &mut self.instances[i];
            if at < t.confirmed_ms {
                return i;
            }
            let before = t.changed_at_ms;
            let tr = t.update(&nb, at, &mut self.strings);
            t.stamp = self.revision;
            let changed = tr.is_some() || t.changed_at_ms != before;
            self.set_print(i, fingerprint);
            changes.records.push(key.clone());
            if changed {
                changes.changed.push(key.clone());
            }
            self.records.offer(&key, nb);
            if let Some(tr) = tr {
                let name = self.instances[i].name().to_string();
                self.push_event(RecentEvent {
                    at_ms: at,
                    key,
                    name,
                    kind: EventKind::Changed {
                        from: tr.from,
                        to: tr.to,
                    },
                });
            }
            return i;
        }
        let mut t = Tracked::new(key, &nb, at, announce, &mut self.strings);
        t.stamp = self.revision;
        changes.records.push(t.key.clone());
        self.records.offer(&t.key, nb);
        if announce {
            self.push_event(event(at, &t, EventKind::Appeared(t.status.clone())));
        }
        let index = self.instances.len();
        self.index.insert(t.key.clone(), index);
        changes.appeared.push(t.key.clone());
        self.instances.push(t);
        self.set_print(index, fingerprint);
        index
    }

    /// Room for the population the service announced, plus a little, in one
    /// allocation: a row is ~400 bytes, and letting the vector double its way up
    /// to 10,000 would leave a third of it unused.
    fn make_room(&mut self, total: Option<u64>) {
        let Some(total) = total.and_then(|t| usize::try_from(t).ok()) else {
            return;
        };
        let want = total.saturating_add(total / 32).saturating_add(16);
        if want > self.instances.capacity() {
            self.instances
                .reserve_exact(want.saturating_sub(self.instances.len()));
        }
    }

    /// The identity of an instance across pages and sweeps: its id, or (when
    /// the service left it out) a stand-in from its name, numbered apart from
    /// the others of this sweep with the same name.
    fn page_key(&self, source: SourceId, seq: u64, nb: &Notebook) -> InstanceKey {
        if let Some(id) = nb.id.as_deref().filter(|id| !id.is_empty()) {
            return InstanceKey::new(source, id);
        }
        let base = InstanceKey::new(source, &format!("{NO_ID}{}", nb.name_str()));
        let taken = |k: &InstanceKey| {
            self.index
                .get(k)
                .is_some_and(|i| self.instances[*i].seen_sweep == seq)
        };
        if !taken(&base) {
            return base;
        }
        (2..)
            .map(|n| InstanceKey::new(source, &format!("{} #{n}", base.id)))
            .find(|k| !taken(k))
            .unwrap_or(base)
    }

    /// Removes the instances at these indices, each logged as gone at `at`.
    fn remove(&mut self, gone: &[usize], at: i64, changes: &mut Changes) {
        if gone.is_empty() {
            return;
        }
        self.revision += 1;
        let mut places = gone.to_vec();
        places.sort_unstable();
        places.dedup();
        places.retain(|i| *i < self.instances.len());
        let Some(&first) = places.first() else {
            return;
        };
        // In place: a second vector of 10,000 rows, even for a moment, would
        // double what the state costs in memory at each sweep with a deletion.
        let mut keep = vec![true; self.instances.len()];
        for &i in &places {
            keep[i] = false;
            self.set_print(i, None);
            let t = &self.instances[i];
            let gone = event(
                at,
                t,
                EventKind::Gone {
                    last: t.status.clone(),
                },
            );
            self.index.remove(&gone.key);
            self.records.remove(&gone.key);
            changes.gone.push(gone.key.clone());
            self.push_event(gone);
        }
        let mut kept = keep.iter();
        self.instances
            .retain(|_| kept.next().copied().unwrap_or(true));
        // Only the instances past the first to leave moved.
        for (i, t) in self.instances.iter().enumerate().skip(first) {
            if let Some(at) = self.index.get_mut(&t.key) {
                *at = i;
            }
            if let Some(print) = t.fingerprint {
                self.prints.insert((t.key.source, print), i);
            }
        }
        changes.left.push(places);
        self.strings.prune();
    }

    fn push_event(&mut self, event: RecentEvent) {
        if self.events.len() == MAX_EVENTS {
            self.events.pop_front();
        }
        if let Some(out) = &mut self.outbox {
            out.push(event.clone());
        }
        self.events.push_back(event);
    }
}

/// What happened to `t` at `at_ms`, for the log of recent events.
fn event(at_ms: i64, t: &Tracked, kind: EventKind) -> RecentEvent {
    RecentEvent {
        at_ms,
        key: t.key.clone(),
        name: t.name().to_string(),
        kind,
    }
}

/// Only a sweep after a complete one can tell a new instance from one not
/// seen yet: from then on, a new instance is announced.
fn announces(feed: &Feed) -> bool {
    feed.sweeps_complete > 0 && feed.last_sweep_complete
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::api::Listing;

    const NOW: i64 = 1_717_000_000_000;

    fn nb(id: &str, status: &str) -> Notebook {
        Notebook {
            id: Some(id.into()),
            name: Some(format!("name-{id}")),
            status: Some(Status::parse(status)),
            ..Notebook::default()
        }
    }

    fn page(nbs: Vec<Notebook>, loaded: u64, at: i64) -> Message {
        Message::Page {
            notebooks: nbs.iter().map(WireNotebook::of).collect(),
            loaded,
            total: Some(3),
            read_at_ms: at,
        }
    }

    fn end() -> Message {
        Message::Snapshot {
            listing: Listing {
                notebooks: Vec::new(),
                total: None,
                requests: 0,
                passes: 1,
                complete: true,
            },
            took: Duration::ZERO,
            stats: Stats::default(),
        }
    }

    fn key(s: u16, id: &str) -> InstanceKey {
        InstanceKey::new(SourceId(s), id)
    }

    /// Three instances of source 0 and one of source 1, one complete sweep each.
    fn tracked() -> Tracker {
        let mut t = Tracker::new(Duration::from_secs(10), 10);
        t.set_sources(vec!["bj".into(), "sg".into()]);
        let (a, b) = (SourceId(0), SourceId(1));
        let changes = t.apply_all(
            [
                (a, page(vec![nb("x", "RUNNING")], 1, NOW + 20)),
                (
                    a,
                    page(vec![nb("y", "RUNNING"), nb("z", "STOPPED")], 3, NOW + 10),
                ),
                (b, page(vec![nb("x", "RUNNING")], 1, NOW)),
                (a, end()),
                (b, end()),
            ],
            NOW + 30,
        );
        assert_eq!(
            changes.appeared,
            [key(0, "x"), key(0, "y"), key(0, "z"), key(1, "x")]
        );
        assert!(changes.sweep_ended && changes.visible());
        t
    }

    #[test]
    fn a_batch_merges_runs_of_pages_of_one_source_as_old_as_their_oldest() {
        let t = tracked();
        // The merged run of source 0 was read as of its oldest page.
        let x = t.get(&key(0, "x")).map(|t| t.first_seen_ms);
        assert_eq!(x, Some(NOW + 10));
        assert_eq!(t.feeds()[0].poll.last_ok_ms, Some(NOW + 30));
        assert_eq!(t.instances().len(), 4);
    }

    #[test]
    fn changes_name_what_changed_and_what_went_after_two_sweeps_without_it() {
        let mut t = tracked();
        let src = SourceId(0);
        let quiet = t.apply(src, page(vec![nb("x", "RUNNING")], 1, NOW + 40), NOW + 40);
        assert!(
            !quiet.rows() && !quiet.visible(),
            "confirmed as it was: {quiet:?}"
        );
        let c = t.apply_all(
            [
                (src, page(vec![nb("y", "STOPPING")], 2, NOW + 50)),
                (src, end()),
            ],
            NOW + 50,
        );
        assert_eq!(c.changed, [key(0, "y")]);
        assert!(c.gone.is_empty(), "z missed one sweep only");
        let mut all = c;
        all.absorb(t.apply_all(
            [
                (
                    src,
                    page(vec![nb("x", "RUNNING"), nb("y", "STOPPED")], 2, NOW + 60),
                ),
                (src, end()),
            ],
            NOW + 60,
        ));
        assert_eq!(all.gone, [key(0, "z")]);
        assert_eq!(all.changed, [key(0, "y"), key(0, "y")]);
        assert!(
            t.get(&key(1, "x")).is_some(),
            "the other source's rows stay"
        );
        assert_eq!(t.instances().len(), 3);
    }
}
