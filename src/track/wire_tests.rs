//! The tracker reads a page's instance only when its text moved: proven here
//! against a tracker that reads every instance in whole.

use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::api::Listing;
use crate::api::model::{Lease, Notebook, Status, WireNotebook};
use crate::watch::{Message, Stats};

const NOW: i64 = 1_717_000_000_000;

fn nb(id: &str, status: &str, name: &str) -> Notebook {
    Notebook {
        id: Some(id.into()),
        name: Some(name.into()),
        status: Some(Status::parse(status)),
        ..Notebook::default()
    }
}

fn page(nbs: &[Notebook], at: i64) -> Message {
    Message::Page {
        notebooks: nbs.iter().map(WireNotebook::of).collect(),
        loaded: nbs.len() as u64,
        total: Some(nbs.len() as u64),
        read_at_ms: at,
    }
}

fn hot(n: Notebook, at: i64) -> Message {
    Message::Hot {
        seen: vec![(at, vec![WireNotebook::of(&n)])],
        gone: Vec::new(),
        error: None,
        stats: Stats::default(),
    }
}

fn end(complete: bool) -> Message {
    Message::Snapshot {
        listing: Listing {
            complete,
            ..Listing::default()
        },
        took: Duration::ZERO,
        stats: Stats::default(),
    }
}

fn key(id: &str) -> InstanceKey {
    InstanceKey::new(SourceId(0), id)
}

#[test]
fn a_page_that_repeats_a_record_confirms_it_without_reading_it() {
    let mut t = Tracker::new(Duration::from_secs(10), 0);
    let first = t.apply(SourceId(0), page(&[nb("x", "RUNNING", "a")], NOW), NOW);
    assert_eq!(first.records, [key("x")]);
    let again = t.apply(
        SourceId(0),
        page(&[nb("x", "RUNNING", "a")], NOW + 10),
        NOW + 10,
    );
    assert!(again.records.is_empty() && !again.rows(), "{again:?}");
    assert_eq!(t.get(&key("x")).map(|t| t.confirmed_ms), Some(NOW + 10));
    let moved = t.apply(
        SourceId(0),
        page(&[nb("x", "STOPPING", "a")], NOW + 20),
        NOW + 20,
    );
    assert_eq!(
        (moved.records, moved.changed),
        (vec![key("x")], vec![key("x")])
    );
    assert_eq!(
        t.get(&key("x")).map(|t| t.status.clone()),
        Some(Status::Stopping)
    );
}

#[test]
fn after_a_record_from_elsewhere_the_next_page_is_read_in_whole() {
    let mut t = Tracker::new(Duration::from_secs(10), 0);
    let running = [nb("x", "RUNNING", "a")];
    t.apply(SourceId(0), page(&running, NOW), NOW);
    // The hot tier saw it stopping; then a newer page says running again, in
    // the very text the row took first.
    t.apply(
        SourceId(0),
        hot(nb("x", "STOPPING", "a"), NOW + 10),
        NOW + 10,
    );
    t.apply(SourceId(0), page(&running, NOW + 20), NOW + 20);
    assert_eq!(
        t.get(&key("x")).map(|t| t.status.clone()),
        Some(Status::Running)
    );
    // An extension's answer changes the row: the listing's old text undoes it.
    let lease = Lease {
        duration: Some(7_200_000),
        ..Lease::default()
    };
    t.take_lease(&key("x"), lease, NOW + 30);
    assert!(t.get(&key("x")).is_some_and(|t| t.row.lease.is_some()));
    t.apply(SourceId(0), page(&running, NOW + 40), NOW + 40);
    assert_eq!(t.get(&key("x")).map(|t| t.row.lease.clone()), Some(None));
}

/// One step of what a tracker may be told.
#[derive(Debug, Clone)]
enum Step {
    /// A page of instances (index into the ids, status, name), read `back` ms
    /// before the clock (an older page that arrives late).
    Page(Vec<(usize, usize, usize)>, i64),
    /// A hot read of one instance, `back` ms old.
    Hot(usize, usize, usize, i64),
    Lease(usize),
    End(bool),
}

const IDS: [&str; 5] = ["a", "b", "c", "d", "e"];
const STATUSES: [&str; 4] = ["RUNNING", "STOPPING", "STOPPED", "DELETED"];
const NAMES: [&str; 2] = ["train", "eval"];

fn step() -> impl Strategy<Value = Step> {
    let item = (0..IDS.len(), 0..STATUSES.len(), 0..NAMES.len());
    prop_oneof![
        4 => (prop::collection::vec(item.clone(), 0..5), prop_oneof![Just(0i64), 1..30i64])
            .prop_map(|(items, back)| Step::Page(items, back)),
        2 => (item, prop_oneof![Just(0i64), 1..30i64]).prop_map(|((i, s, n), back)| Step::Hot(i, s, n, back)),
        1 => (0..IDS.len()).prop_map(Step::Lease),
        2 => any::<bool>().prop_map(Step::End),
    ]
}

/// What a tracker knows, field by field (the fingerprint aside).
fn known(t: &Tracker) -> Vec<String> {
    t.instances()
        .iter()
        .map(|i| {
            format!(
                "{:?} {:?} {:?} {} {} {:?} {:?} {} {} held={}",
                i.key,
                i.status,
                i.row,
                i.confirmed_ms,
                i.status_since_ms,
                i.changed_at_ms,
                i.transitions,
                i.seen_sweep,
                i.missed,
                t.records().get(&i.key).is_some(),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever the order of pages, late pages, hot reads (late too), extensions and
    /// sweep ends, a tracker that skips repeated texts knows what one that
    /// reads every instance knows (its texts are all different: a counter in
    /// a field nobody reads).
    #[test]
    fn skipping_repeated_texts_never_changes_what_is_known(
        steps in prop::collection::vec(step(), 1..40),
        cap in 0usize..4,
    ) {
        let mut skips = Tracker::new(Duration::from_secs(10), cap);
        let mut reads = Tracker::new(Duration::from_secs(10), cap);
        let mut salt = 0u64;
        let mut at = NOW;
        for s in steps {
            at += 10;
            let (a, b) = match s {
                Step::Page(items, back) => {
                    let nbs: Vec<Notebook> = items
                        .iter()
                        .map(|&(i, st, n)| nb(IDS[i], STATUSES[st], NAMES[n]))
                        .collect();
                    let salted: Vec<Notebook> = nbs
                        .iter()
                        .cloned()
                        .map(|mut n| {
                            salt += 1;
                            n.extra.insert("_salt".into(), salt.into());
                            n
                        })
                        .collect();
                    let when = at - back;
                    (page(&nbs, when), page(&salted, when))
                }
                Step::Hot(i, st, n, back) => {
                    let h = nb(IDS[i], STATUSES[st], NAMES[n]);
                    let mut salted = h.clone();
                    salt += 1;
                    salted.extra.insert("_salt".into(), salt.into());
                    (hot(h, at - back), hot(salted, at - back))
                }
                Step::Lease(i) => {
                    let lease = Lease { duration: Some(at), ..Lease::default() };
                    let ca = skips.take_lease(&key(IDS[i]), lease.clone(), at);
                    let cb = reads.take_lease(&key(IDS[i]), lease, at);
                    prop_assert_eq!(ca, cb);
                    prop_assert_eq!(known(&skips), known(&reads));
                    continue;
                }
                Step::End(complete) => (end(complete), end(complete)),
            };
            let mut ca = skips.apply(SourceId(0), a, at);
            let mut cb = reads.apply(SourceId(0), b, at);
            // Only what was read differs: every record, or the changed ones.
            prop_assert!(ca.records.iter().all(|k| cb.records.contains(k)));
            ca.records.clear();
            cb.records.clear();
            prop_assert_eq!(ca, cb);
            prop_assert_eq!(known(&skips), known(&reads));
        }
    }
}
