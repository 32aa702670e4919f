//! Golden `/metrics` of `nbwatch serve` for a fixed simulator population: a
//! manual-clock simulator (seed 1, 12 instances, at T0) polled through the real
//! client, the poller's messages applied at fixed times, both formats rendered.
//! Any change to a name, label, value or format shows up as a snapshot diff.
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::support::sim::*;
use nbwatch::api::{Client, ListQuery, RetryPolicy};
use nbwatch::app;
use nbwatch::serve::{Exporter, Format, Metrics, StatusSeries};
use nbwatch::sim::{Fault, SimHandle};
use nbwatch::watch::{Message, Stats};

fn client(sim: &SimHandle) -> Client {
    let mut o = sim.client_options();
    o.retry = RetryPolicy::none();
    Client::new(o).expect("client builds")
}

#[tokio::test]
async fn golden_metrics_for_a_fixed_simulator_population() {
    let sim = manual(12).await;
    let client = client(&sim);
    let meter = client.clone();
    let shared = Arc::new(RwLock::new(Exporter::new(
        app::Timing {
            interval: Duration::from_secs(5),
            stuck_after: Duration::from_secs(600),
        },
        Arc::new(move || meter.requests_sent()),
    )));
    let apply = |msg: Message, at: i64| shared.write().unwrap().apply(msg, at);
    let q = ListQuery::default();

    // First poll at T0: statuses begin no later than each instance's last update.
    apply(Message::Started, T0);
    let listing = client.fetch_all(&q).await.expect("first poll");
    apply(
        Message::Snapshot {
            listing,
            took: Duration::from_millis(120),
            stats: Stats::default(),
        },
        T0 + 120,
    );
    // Half an hour later: the changes seen are stamped with this poll's time.
    sim.advance(30 * 60_000);
    let t1 = T0 + 30 * 60_000;
    apply(Message::Started, t1);
    let listing = client.fetch_all(&q).await.expect("second poll");
    apply(
        Message::Snapshot {
            listing,
            took: Duration::from_millis(80),
            stats: Stats::default(),
        },
        t1 + 80,
    );
    // Then a failed poll: the snapshot stays, the health metrics say so.
    sim.set_faults(&["500".parse::<Fault>().unwrap()]);
    apply(Message::Started, t1 + 5_000);
    let error = client
        .fetch_all(&q)
        .await
        .expect_err("the fault fails the poll");
    apply(
        Message::Failed {
            error,
            consecutive: 1,
            next_in: Some(Duration::from_secs(5)),
            stats: Stats::default(),
        },
        t1 + 5_040,
    );

    // Every status series: the text is the same, byte for byte, as when all of
    // it was rendered at every snapshot.
    let metrics = Metrics::new(Arc::clone(&shared), StatusSeries::All);
    insta::assert_snapshot!("classic", metrics.render(Format::Classic));
    insta::assert_snapshot!("openmetrics", metrics.render(Format::OpenMetrics));
    // One status series per instance: the one set to 1.
    let current = Metrics::new(Arc::clone(&shared), StatusSeries::Current);
    insta::assert_snapshot!("classic_current", current.render(Format::Classic));
}
