//! The sweep against a model of a listing that moves between page reads:
//! creations and deletions at any place (head, middle, tail, at a page
//! boundary, several between two reads, both at once), pages read out of order.
//! Whatever the sweep says complete holds every instance alive throughout, and
//! nothing it returns was invented.

use std::collections::HashSet;
use std::sync::Mutex;

use proptest::prelude::*;
use serde::Deserialize;

use super::*;

/// One page of the model: ids only.
#[derive(Debug, Deserialize)]
struct ModelPage {
    total: Option<i64>,
    data: Vec<String>,
}

impl ListPage for ModelPage {
    type Item = String;
    fn total(&self) -> Option<i64> {
        self.total
    }
    fn into_items(self) -> Vec<String> {
        self.data
    }
    fn looks_like_listing(&self) -> bool {
        true
    }
    fn id_of(item: &String) -> Option<&str> {
        Some(item)
    }
}

/// Where a change lands.
#[derive(Debug, Clone, Copy)]
enum Place {
    Head,
    Tail,
    /// A fraction of the listing, in 1/1000s.
    Middle(u32),
    /// Near the `k`th page boundary of the plan (a few items either side).
    Boundary(u32, i32),
}

#[derive(Debug, Clone, Copy)]
enum Change {
    Create(Place),
    Delete(Place),
}

struct Listing {
    items: Vec<u32>,
    next: u32,
    reads: usize,
    deleted: HashSet<u32>,
}

/// A listing in memory that changes as `script` says before each read (the
/// `k`th read first applies `script[k]`), each read first yielding
/// `yields[k]` times so later requests may overtake it.
struct Model {
    listing: Mutex<Listing>,
    script: Vec<Vec<Change>>,
    yields: Vec<u8>,
    limit: u64,
    concurrency: usize,
    requests: std::sync::atomic::AtomicU64,
}

impl Model {
    fn new(
        n: u32,
        limit: u64,
        concurrency: usize,
        script: Vec<Vec<Change>>,
        yields: Vec<u8>,
    ) -> Self {
        Model {
            listing: Mutex::new(Listing {
                items: (0..n).collect(),
                next: n,
                reads: 0,
                deleted: HashSet::new(),
            }),
            script,
            yields,
            limit,
            concurrency,
            requests: Default::default(),
        }
    }

    fn place(&self, l: &Listing, p: Place, len: usize) -> usize {
        let at = match p {
            Place::Head => 0,
            Place::Tail => len as i64,
            Place::Middle(f) => (len as i64 * i64::from(f)) / 1000,
            Place::Boundary(k, d) => {
                let step = self.limit.saturating_sub(DEFAULT_OVERLAP).max(1) as i64;
                i64::from(k) * step + self.limit as i64 + i64::from(d)
            }
        };
        let _ = l;
        at.clamp(0, len as i64) as usize
    }

    fn apply(&self, l: &mut Listing, c: Change) {
        match c {
            Change::Create(p) => {
                let at = self.place(l, p, l.items.len());
                let id = l.next;
                l.next += 1;
                l.items.insert(at, id);
            }
            Change::Delete(p) => {
                if l.items.is_empty() {
                    return;
                }
                let at = self.place(l, p, l.items.len() - 1);
                let id = l.items.remove(at);
                l.deleted.insert(id);
            }
        }
    }

    /// Ids alive from the start to now.
    fn alive_throughout(&self, n: u32) -> HashSet<String> {
        let l = self.listing.lock().unwrap();
        (0..n)
            .filter(|i| !l.deleted.contains(i))
            .map(|i| i.to_string())
            .collect()
    }

    fn ever(&self) -> u32 {
        self.listing.lock().unwrap().next
    }
}

impl PageSource<ModelPage> for Model {
    async fn page(&self, offset: u64) -> Result<ModelPage, ApiError> {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let k = {
            let mut l = self.listing.lock().unwrap();
            l.reads += 1;
            l.reads - 1
        };
        for _ in 0..self.yields.get(k).copied().unwrap_or(0) {
            tokio::task::yield_now().await;
        }
        let mut l = self.listing.lock().unwrap();
        let changes = self.script.get(k).cloned().unwrap_or_default();
        for c in changes {
            self.apply(&mut l, c);
        }
        let from = (offset as usize).min(l.items.len());
        let to = (from + self.limit as usize).min(l.items.len());
        Ok(ModelPage {
            total: Some(l.items.len() as i64),
            data: l.items[from..to].iter().map(u32::to_string).collect(),
        })
    }
    fn limit(&self) -> u64 {
        self.limit
    }
    fn concurrency(&self) -> usize {
        self.concurrency
    }
    fn requests_sent(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Sweeps the model once: the report and the items in the listing's order.
fn sweep(model: &Model) -> (SweepReport, Vec<String>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut pages = Collect::default();
    let report = rt
        .block_on(sweep_pages::<ModelPage, _, _>(
            model,
            DEFAULT_OVERLAP,
            &mut pages,
        ))
        .unwrap();
    (report, pages.into_ordered(|s: &String| Some(s.as_str())))
}

fn place() -> impl Strategy<Value = Place> {
    prop_oneof![
        Just(Place::Head),
        Just(Place::Tail),
        (0u32..=1000).prop_map(Place::Middle),
        (0u32..40, -3i32..=3).prop_map(|(k, d)| Place::Boundary(k, d)),
    ]
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        place().prop_map(Change::Create),
        place().prop_map(Change::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn nothing_alive_throughout_is_missing_and_nothing_is_invented(
        n in 0u32..300,
        limit in 4u64..=12,
        concurrency in 1usize..=4,
        script in proptest::collection::vec(proptest::collection::vec(change(), 0..=3), 0..120),
        yields in proptest::collection::vec(0u8..4, 0..120),
    ) {
        let model = Model::new(n, limit, concurrency, script.clone(), yields);
        let (report, items) = sweep(&model);
        let ever = model.ever();
        for id in &items {
            let known = id.parse::<u32>().is_ok_and(|i| i < ever);
            prop_assert!(known, "invented {id}");
        }
        let got: HashSet<&str> = items.iter().map(String::as_str).collect();
        prop_assert_eq!(got.len(), items.len(), "an instance listed twice");
        if report.complete {
            let missing: Vec<String> = model
                .alive_throughout(n)
                .into_iter()
                .filter(|id| !got.contains(id.as_str()))
                .collect();
            prop_assert!(missing.is_empty(), "missing {:?} of a sweep called complete: {:?}", missing, report);
        } else {
            // Incomplete only where the listing moved: a broken boundary, or
            // a page that repeated the first (the listing moved by a page).
            let moved = report.unproven > 0 || report.breaks > 0 || report.moved > 0 || script.iter().flatten().count() >= limit as usize;
            prop_assert!(moved, "incomplete without a break: {:?}", report);
        }
        // Bounded: the planned pages, and repairs at most as many again.
        let pages = u64::from(n + ever).div_ceil(limit.saturating_sub(limit / 4).max(1)) + 2;
        prop_assert!(report.requests <= 2 * pages + 8, "{} requests for {} pages", report.requests, pages);
    }

    /// Moderate churn (at most one change between two reads) never defeats
    /// the repairs: the sweep is complete. With one or two reads in flight.
    /// At four, a counterexample exists (found by this test, rare: n = 171,
    /// limit 6, five deletions at the head while four reads overlap): the
    /// sweep then says it is incomplete, one boundary unproven, so `list`
    /// exits 1 rather than print it; the property above still holds there.
    #[test]
    fn moderate_churn_is_always_repaired(
        n in 0u32..300,
        limit in 6u64..=12,
        concurrency in 1usize..=2,
        script in proptest::collection::vec(proptest::option::of(change()), 0..120),
        yields in proptest::collection::vec(0u8..3, 0..120),
    ) {
        let script = script.into_iter().map(|c| c.into_iter().collect()).collect();
        let model = Model::new(n, limit, concurrency, script, yields);
        let (report, items) = sweep(&model);
        prop_assert!(report.complete, "{:?}", report);
        let got: HashSet<&str> = items.iter().map(String::as_str).collect();
        for id in model.alive_throughout(n) {
            prop_assert!(got.contains(id.as_str()), "missing {}", id);
        }
    }
}

#[test]
fn a_still_listing_is_read_once_with_no_repair() {
    let model = Model::new(1000, 50, 4, Vec::new(), Vec::new());
    let (report, items) = sweep(&model);
    assert!(report.complete);
    assert_eq!(items.len(), 1000);
    assert_eq!((report.breaks, report.bridges), (0, 0));
    // 1000 items, 48 new a page after the first.
    assert_eq!(report.requests, 21);
    let expected: Vec<String> = (0..1000).map(|i: u32| i.to_string()).collect();
    assert_eq!(items, expected, "in the listing's order");
}

#[test]
fn a_listing_that_moves_faster_than_any_repair_is_reported_incomplete() {
    // Before every read, a page's worth of the head is deleted and a page's
    // worth created there: the instances near the head keep fleeing.
    let script = (0..400)
        .map(|_| {
            let mut c = vec![Change::Delete(Place::Middle(0)); 30];
            c.extend(vec![Change::Create(Place::Head); 30]);
            c
        })
        .collect();
    let model = Model::new(400, 10, 2, script, Vec::new());
    let (report, _) = sweep(&model);
    assert!(!report.complete, "{report:?}");
    assert!(report.unproven > 0);
}

#[test]
fn the_overlap_grows_while_the_listing_moves_and_the_sweep_still_costs_little() {
    // Two deletions near the head before each read: every boundary moves by two.
    let script = (0..400)
        .map(|_| vec![Change::Delete(Place::Head), Change::Delete(Place::Head)])
        .collect();
    let model = Model::new(2000, 50, 1, script, Vec::new());
    let (report, _) = sweep(&model);
    assert!(report.complete, "{report:?}");
    assert!(report.overlap > DEFAULT_OVERLAP, "{report:?}");
    assert!(report.requests <= 45, "{report:?}");
}

#[test]
fn an_id_read_once_is_known_by_its_text_until_a_sweep_no_longer_sees_it() {
    use crate::api::model::WirePage;
    let page = |body: &str| serde_json::from_str::<WirePage>(body).unwrap().data;
    let a = r#"{"data": [{"id": "a", "status": "RUNNING", "image": {"id": "img"}}]}"#;
    let hash = |id: &str| stretch::id_hash(id);
    let mut memo = IdMemo::default();
    let first = page(a);
    assert_eq!(
        IdMemo::id_hash::<WirePage>(Some(&mut memo), &first[0]),
        Some(hash("a"))
    );
    // The same text again: known without reading its id.
    let again = page(a);
    assert_eq!(
        IdMemo::id_hash::<WirePage>(Some(&mut memo), &again[0]),
        Some(hash("a"))
    );
    assert!(
        format!("{:?}", again[0]).contains("id: None"),
        "{:?}",
        again[0]
    );
    // Another text is read, whatever id it has.
    let moved = page(r#"{"data": [{"id": "b", "status": "RUNNING"}]}"#);
    assert_eq!(
        IdMemo::id_hash::<WirePage>(Some(&mut memo), &moved[0]),
        Some(hash("b"))
    );
    // Kept by a sweep that saw it; forgotten after one that did not.
    memo.turn();
    assert_eq!(
        IdMemo::id_hash::<WirePage>(Some(&mut memo), &page(a)[0]),
        Some(hash("a"))
    );
    memo.turn();
    memo.turn();
    let after = page(a);
    assert_eq!(
        IdMemo::id_hash::<WirePage>(Some(&mut memo), &after[0]),
        Some(hash("a"))
    );
    assert!(
        format!("{:?}", after[0]).contains("Some(\"a\")"),
        "read again"
    );
}
