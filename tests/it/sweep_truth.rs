//! The sweep against the simulator's ground truth, on a live churning population:
//! every instance alive throughout a sweep is in its result, a sweep costs at
//! most 1.1× its page count, and over many sweeps the dashboard's state never
//! announces a gone or appeared instance that was alive all along.
use crate::support::sim as sim_common;

use std::collections::HashSet;
use std::time::Duration;

use nbwatch::api::model::{WireNotebook, WirePage};
use nbwatch::api::sweep::{DEFAULT_OVERLAP, PagePlace, PageSink};
use nbwatch::api::{Client, ClientOptions, ListQuery, Notebook, NotebookPage, PageSize};
use nbwatch::app::{App, EventKind, Timing};
use nbwatch::sim::{SimConfig, SimHandle};

/// Pages straight into the dashboard's state, as the event loop applies them.
struct IntoApp<'a> {
    app: &'a mut App,
    at_ms: i64,
}

impl PageSink<WireNotebook> for IntoApp<'_> {
    fn page(&mut self, notebooks: Vec<WireNotebook>, place: PagePlace) {
        let page = nbwatch::watch::Message::Page {
            notebooks,
            loaded: place.loaded,
            total: place.total,
            read_at_ms: self.at_ms,
        };
        self.app
            .apply_all([(nbwatch::track::SourceId(0), page)], self.at_ms);
    }
}

/// A busy population: 3,000 instances whose lives run 60× faster than real
/// time (an arrival or a removal every ~40 ms), read 50 a page with
/// concurrency 4 and 10 ms a request, so page boundaries break while the
/// sweep runs, in any build (without the latency an optimised client swept
/// 60 times between the churn's removals).
async fn churning() -> (SimHandle, Client, ListQuery) {
    let sim = sim_common::start(SimConfig {
        instances: 3_000,
        latency_ms: 10,
        speed: 60.0,
        seed: 11,
        ..SimConfig::default()
    })
    .await;
    let (client, q) = fifty_a_page_four_at_once(&sim);
    (sim, client, q)
}

/// A client of `sim` reading 50 a page, four pages at once.
fn fifty_a_page_four_at_once(sim: &SimHandle) -> (Client, ListQuery) {
    let mut o = sim.client_options();
    o.concurrency = 4;
    o.timeout = Duration::from_secs(10);
    let q = ListQuery {
        page_size: PageSize::new(50).unwrap(),
        ..Default::default()
    };
    (Client::new(o).unwrap(), q)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_alive_throughout_a_live_sweep_is_in_it_and_nothing_is_invented() {
    let (sim, client, q) = churning().await;
    let mut app = App::new(Timing::default());
    let mut breaks = 0;
    let mut requests = 0;
    let mut pages = 0;
    let mut false_events = Vec::new();
    let mut sweeps = Vec::new();
    let mut prev_from = None;
    // At least ten sweeps, and more until the churn has broken a boundary
    // (a creation ahead of a page shifts it by one, which the overlap absorbs;
    // a break wants removals between two page reads, a few every ten sweeps).
    for n in 0..60 {
        if n >= 10 && breaks > 0 {
            break;
        }
        let from = sim.now_ms();
        let mut sink = IntoApp {
            app: &mut app,
            at_ms: from,
        };
        let report = client
            .sweep_all_kinds::<WirePage, _>(&q, DEFAULT_OVERLAP, &mut sink)
            .await
            .expect("a sweep of the live population");
        let end = nbwatch::watch::Message::Snapshot {
            listing: nbwatch::api::Listing {
                notebooks: Vec::new(),
                total: None,
                requests: 0,
                passes: 1,
                complete: report.complete,
            },
            took: Duration::ZERO,
            stats: Default::default(),
        };
        app.apply_all([(nbwatch::track::SourceId(0), end)], from);
        let to = sim.now_ms();
        let truth = sim.ground_truth(from, to);
        assert!(truth.complete);
        let missing: Vec<&String> = truth
            .alive_throughout
            .iter()
            .filter(|id| !report.saw(id))
            .collect();
        assert!(
            missing.is_empty(),
            "sweep {n}: {} alive throughout but not in the sweep: {missing:?} ({} breaks, {} bridges)",
            missing.len(),
            report.breaks,
            report.bridges
        );
        assert!(
            report.complete,
            "sweep {n}: incomplete after {} breaks, {} bridges",
            report.breaks, report.bridges
        );
        // Nothing invented: every id in the sweep existed at some point in it.
        let removed: HashSet<&String> = truth.removals.iter().map(|r| &r.id).collect();
        let alive_at_end = sim.ground_truth(to, to).alive_throughout;
        // (The report keeps ids by hash: each must be one of these.)
        let existed: HashSet<&String> = alive_at_end.iter().chain(removed).collect();
        let known = existed.iter().filter(|id| report.saw(id)).count();
        assert_eq!(
            known,
            report.ids.len(),
            "sweep {n}: {} ids never existed",
            report.ids.len().saturating_sub(known)
        );
        // False events of this sweep: "gone" for an instance alive throughout
        // it; "appeared" for one that already existed when the previous sweep began.
        let before_previous = prev_from.map(|p| sim.ground_truth(p, to).alive_throughout);
        for ev in app.events().iter().filter(|e| e.at_ms == from) {
            let false_event = match ev.kind {
                EventKind::Gone { .. } => truth.alive_throughout.contains(ev.key.id()),
                EventKind::Appeared(_) => before_previous
                    .as_ref()
                    .is_some_and(|alive| alive.contains(ev.key.id())),
                EventKind::Changed { .. } => false,
            };
            if false_event {
                false_events.push((n, ev.clone()));
            }
        }
        let appeared = app
            .events()
            .iter()
            .filter(|e| e.at_ms == from && matches!(e.kind, EventKind::Appeared(_)))
            .count();
        prev_from = Some(from);
        let page_count = (report.ids.len() as u64).div_ceil(50);
        breaks += report.breaks;
        requests += report.requests;
        pages += page_count;
        sweeps.push((
            report.requests,
            page_count,
            report.breaks,
            report.bridges,
            appeared,
        ));
    }
    assert!(false_events.is_empty(), "{false_events:?}");
    let appeared: usize = sweeps.iter().map(|s| s.4).sum();
    assert!(
        appeared > 0,
        "nothing new appeared: the churn proves nothing: {sweeps:?}"
    );
    assert!(
        breaks > 0,
        "the churn never broke a boundary in {} sweeps: the test proves nothing",
        sweeps.len()
    );
    // The target: 1.1 requests a page, the CodeLab listing's page counted,
    // and two more a sweep.
    let n = sweeps.len() as f64;
    assert!(
        requests as f64 <= 1.1 * (pages as f64 + n) + 2.0 * n,
        "{requests} requests for {pages} pages: {sweeps:?}"
    );
    sim.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn the_simulator_lists_only_notebook_instances_without_a_feature_as_the_service_does() {
    let sim = sim_common::start(SimConfig::manual_at(1_795_854_600_000)).await;
    let (ak, sk) = sim.credentials();
    let o = ClientOptions::new(
        sim.endpoint(),
        sim.project_id(),
        nbwatch::api::Auth::AkSk(nbwatch::api::sign::AkSk {
            ak,
            sk,
            security_token: None,
        }),
    );
    let client = Client::new(o).unwrap();
    let plain = client
        .fetch_page(&ListQuery::default(), 0)
        .await
        .unwrap()
        .page;
    assert!(
        plain
            .data
            .iter()
            .all(|n| n.feature.as_deref() == Some("NOTEBOOK"))
    );
    // What `list` and the dashboard read has both kinds.
    let all = client.fetch_all_kinds(&ListQuery::default()).await.unwrap();
    let kinds: HashSet<_> = all
        .notebooks
        .iter()
        .filter_map(|n| n.feature.clone())
        .collect();
    assert_eq!(
        kinds,
        HashSet::from(["NOTEBOOK".to_string(), "DEFAULT".to_string()])
    );
    assert_eq!(all.notebooks.len(), sim.instance_count());
    // `--feature` narrows it.
    let narrow = client
        .fetch_all_kinds(&ListQuery {
            feature: Some("DEFAULT".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        narrow
            .notebooks
            .iter()
            .all(|n| n.feature.as_deref() == Some("DEFAULT"))
    );
    sim.shutdown(Duration::from_secs(1)).await;
}

/// Each shape of `nbwatch sim --churn 0.5`: a change after every other listing
/// request while the sweep reads 3,000 instances 50 a page, four at once.
/// Every sweep is complete, holds every instance alive throughout and costs at
/// most 1.1 requests a page (+2: the CodeLab listing and a repair).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shape_of_churn_is_swept_whole_at_little_cost() {
    use nbwatch::sim::{Churn, ChurnMode};
    for mode in [
        ChurnMode::Balanced,
        ChurnMode::Grow,
        ChurnMode::Shrink,
        ChurnMode::Walk,
    ] {
        let sim = sim_common::start(SimConfig {
            instances: 3_000,
            seed: 5,
            churn: Some(Churn { rate: 0.5, mode }),
            ..SimConfig::default()
        })
        .await;
        let (client, q) = fifty_a_page_four_at_once(&sim);
        for n in 0..3 {
            let from = sim.now_ms();
            let report = client
                .sweep_all_kinds::<NotebookPage, _>(&q, DEFAULT_OVERLAP, &mut Discard)
                .await
                .expect("a sweep of the churning population");
            let to = sim.now_ms();
            let truth = sim.ground_truth(from, to);
            // The journal counts an instance created in the window's first
            // millisecond (a change after the sweep's first request) as alive
            // throughout: it was not.
            let created: HashSet<&String> = truth.creations.iter().map(|c| &c.id).collect();
            let missing: Vec<&String> = truth
                .alive_throughout
                .iter()
                .filter(|id| !report.saw(id) && !created.contains(id))
                .collect();
            assert!(
                report.complete,
                "{mode:?} sweep {n}: incomplete: {report:?}"
            );
            assert!(
                missing.is_empty(),
                "{mode:?} sweep {n}: {missing:?} missing ({} breaks, {} repairs)",
                report.breaks,
                report.bridges
            );
            let pages = (report.ids.len() as u64).div_ceil(50) + 1;
            assert!(
                report.requests as f64 <= 1.1 * pages as f64 + 2.0,
                "{mode:?} sweep {n}: {} requests for {pages} pages ({} breaks, {} repairs, overlap {})",
                report.requests,
                report.breaks,
                report.bridges,
                report.overlap
            );
        }
        sim.shutdown(Duration::from_secs(1)).await;
    }
}

/// Discards pages: the test reads the report's ids.
struct Discard;

impl PageSink<Notebook> for Discard {
    fn page(&mut self, _: Vec<Notebook>, _: PagePlace) {}
}
