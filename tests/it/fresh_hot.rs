//! The hot tier against the simulator over HTTP: a transition reaches the state
//! model through the hot tier before the next sweep, a deletion is learnt
//! through ShowNotebook (404 / `ModelArts.6309`) or the DELETED read, never
//! from an absence alone, and the recent read places leavers and failures
//! without one ShowNotebook each.
use std::sync::Arc;
use std::time::Duration;

use crate::support::sim::*;
use nbwatch::api::actions::Verb;
use nbwatch::api::{Client, ListQuery, PageSize, RetryPolicy, Status};
use nbwatch::app::{self, App, EventKind};
use nbwatch::sim::SimHandle;
use nbwatch::track::SourceId;
use nbwatch::watch::{self, ClientSource, Handle, Message, PollerConfig, hot};

const ACTION_MS: i64 = nbwatch::sim::engine::Engine::ACTION_MS;
const PATIENCE: Duration = Duration::from_secs(20);
/// A tick with the status reads (every tick at the default budget).
const FULL: hot::Due = hot::Due {
    statuses: true,
    problems: false,
};
/// A light tick: the recent read alone (most ticks at 120 a minute).
const LIGHT: hot::Due = hot::Due {
    statuses: false,
    problems: false,
};

/// One hot tick that must not fail.
async fn tick(client: &Client, mem: hot::Memory, due: hot::Due) -> (hot::Memory, hot::News) {
    let (mem, news) = hot::tick(client, mem, due).await;
    assert!(news.error.is_none(), "{:?}", news.error);
    (mem, news)
}

/// The status a tick last read of `id`.
fn status_of(news: &hot::News, id: &str) -> Option<Status> {
    news.seen
        .iter()
        .flat_map(|(_, b)| b)
        .filter(|w| w.id() == Some(id))
        .map(|w| w.decode().status_or_unknown())
        .next_back()
}

fn client_for(sim: &SimHandle) -> Client {
    let mut o = sim.client_options();
    o.retry = RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    o.timeout = Duration::from_secs(2);
    Client::new(o).expect("client builds")
}

/// The state model fed as the dashboard feeds it; counts the sweeps it saw.
struct Watched {
    app: App,
    sweeps: u32,
    hot_ticks: u32,
}

impl Watched {
    fn feed(&mut self, m: Message) {
        let now = nbwatch::timefmt::now_ms();
        match &m {
            Message::Snapshot { .. } => self.sweeps += 1,
            Message::Hot { error, .. } => {
                assert!(error.is_none(), "{error:?}");
                self.hot_ticks += 1;
            }
            Message::Failed { error, .. } => panic!("poll failed: {error}"),
            Message::Started | Message::Page { .. } => {}
        }
        // As the dashboard's event loop applies it.
        self.app.apply_all([(SourceId(0), m)], now);
    }

    fn status(&self, id: &str) -> Option<Status> {
        self.app.get(&key0(id)).map(|t| t.status.clone())
    }
}

/// Feeds messages until `done` holds; panics past the patience.
async fn until(h: &mut Handle, w: &mut Watched, what: &str, done: impl Fn(&Watched) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done(w) {
        let m = tokio::time::timeout_at(deadline, h.messages.recv())
            .await
            .unwrap_or_else(|_| panic!("waited {PATIENCE:?} for {what}"))
            .expect("the poller is alive");
        w.feed(m);
    }
}

#[tokio::test]
async fn a_stop_and_a_deletion_reach_the_state_through_the_hot_tier_before_the_next_sweep() {
    // 120 instances at 10 a page: a sweep (≈ 14 requests) costs more than a
    // hot tick (7 status reads and the CodeLab page), so the tier runs.
    let sim = manual(120).await;
    let client = client_for(&sim).with_rate_limit(Some(6_000));
    let query = ListQuery {
        page_size: PageSize::new(10).unwrap(),
        ..ListQuery::default()
    };
    let cfg = PollerConfig {
        // The next sweep is a minute away: whatever arrives sooner came hot.
        interval: Duration::from_secs(60),
        fast_interval: Duration::from_secs(1),
        budget_per_minute: 6_000,
        ..PollerConfig::default()
    };
    let mut h = watch::spawn(Arc::new(ClientSource::new(client.clone(), query)), cfg);
    let mut w = Watched {
        app: App::new(app::Timing::default()),
        sweeps: 0,
        hot_ticks: 0,
    };
    until(&mut h, &mut w, "the first sweep and a hot tick", |w| {
        w.sweeps == 1 && w.hot_ticks >= 1
    })
    .await;

    let id = w
        .app
        .instances()
        .iter()
        .find(|t| t.status == Status::Running && t.row.feature.as_deref() == Some("NOTEBOOK"))
        .map(|t| t.key.id().to_string())
        .expect("a running NOTEBOOK instance");

    // Stopped by someone else (the console): STOPPING at once.
    client.act(Verb::Stop, &id, None).await.expect("stop");
    until(&mut h, &mut w, "STOPPING", |w| {
        w.status(&id) == Some(Status::Stopping)
    })
    .await;
    assert_eq!(w.sweeps, 1, "seen by the hot tier, not a sweep");

    // STOPPED: it left the STOPPING set; the recent read says where it went.
    sim.advance(ACTION_MS);
    until(&mut h, &mut w, "STOPPED", |w| {
        w.status(&id) == Some(Status::Stopped)
    })
    .await;
    assert_eq!(w.sweeps, 1);
    let t = w.app.get(&key0(&id)).unwrap();
    let path: Vec<_> = t
        .transitions
        .iter()
        .map(|tr| (tr.from.clone(), tr.to.clone()))
        .collect();
    assert_eq!(
        path,
        [
            (Status::Running, Status::Stopping),
            (Status::Stopping, Status::Stopped)
        ],
        "each status as it happened, nothing invented"
    );

    // Deleted: DELETING; then, before the next tick, DELETED and forgotten.
    // It left the DELETING set and is in no read: ShowNotebook says 404 6309.
    client.act(Verb::Delete, &id, None).await.expect("delete");
    until(&mut h, &mut w, "DELETING", |w| {
        w.status(&id) == Some(Status::Deleting)
    })
    .await;
    sim.advance(ACTION_MS + 3 * 60_000);
    until(&mut h, &mut w, "gone", |w| w.app.get(&key0(&id)).is_none()).await;
    assert_eq!(
        w.sweeps, 1,
        "learnt through ShowNotebook, before the next sweep"
    );
    let gone = w
        .app
        .events()
        .iter()
        .filter(|e| *e.key.id() == *id && matches!(e.kind, EventKind::Gone { .. }))
        .count();
    assert_eq!(gone, 1);
    // The three minutes moved the rest of the population too: every instance
    // reported gone was really removed (the simulator's ground truth), none
    // from a read's absence alone, and every one reported new was created.
    let truth = sim.ground_truth(T0, sim.now_ms());
    let removed: std::collections::HashSet<_> =
        truth.removals.iter().map(|r| r.id.clone()).collect();
    let created: std::collections::HashSet<_> =
        truth.creations.iter().map(|c| c.id.clone()).collect();
    for e in w.app.events() {
        match &e.kind {
            EventKind::Gone { .. } => {
                assert!(removed.contains(e.key.id()), "{} was not removed", e.name)
            }
            EventKind::Appeared(_) => {
                assert!(created.contains(e.key.id()), "{} reported new", e.name)
            }
            EventKind::Changed { .. } => {}
        }
    }
    drop(h);
    sim.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn the_recent_read_places_a_leaver_and_a_failure_without_show_notebook() {
    // What keeps a small budget live (issue 20): a stop's STOPPED and a
    // RUNNING → ERROR come with the next tick's recent read, with no
    // ShowNotebook for the leaver and no count of the problem totals.
    let sim = manual(300).await;
    let client = client_for(&sim);
    let query = ListQuery {
        feature: Some("NOTEBOOK".into()),
        ..ListQuery::default()
    };
    let mut mem = hot::Memory::new(&query);
    // The probe (the kind is larger than a page), then the status reads and
    // the first recent read.
    (mem, _) = tick(&client, mem, FULL).await;
    (mem, _) = tick(&client, mem, FULL).await;

    let running = ListQuery {
        status: Some("RUNNING".into()),
        ..query.clone()
    };
    let first = client.fetch_page(&running, 0).await.expect("a page").page;
    let id = first.data[0].id.clone().expect("an id");
    client.act(Verb::Stop, &id, None).await.expect("stop");
    let news;
    (mem, news) = tick(&client, mem, FULL).await;
    assert_eq!(status_of(&news, &id), Some(Status::Stopping));

    sim.advance(ACTION_MS);
    let http = crate::support::sim::client();
    let body = http
        .post(format!("{}/_sim/fail?n=1", sim.endpoint()))
        .send()
        .await
        .expect("fail")
        .bytes()
        .await
        .expect("an answer");
    let failed: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let failed = failed["failed"][0]
        .as_str()
        .expect("a failed id")
        .to_string();
    let (_, news) = tick(&client, mem, FULL).await;
    assert_eq!(
        status_of(&news, &id),
        Some(Status::Stopped),
        "the leaver placed"
    );
    assert_eq!(
        status_of(&news, &failed),
        Some(Status::Error),
        "the failure seen"
    );
    assert_eq!(news.shows, 0, "no ShowNotebook");
    // The status reads, the recent read and no more.
    assert_eq!(news.requests, 8);
    sim.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn between_full_reads_a_light_tick_is_one_recent_page_and_the_next_full_read_asks_nothing() {
    // A small budget reads the hot statuses every 15 s, not every tick
    // (issue 20): the ticks between are the recent read alone, and the sets
    // follow what it saw, so the next full read sends no ShowNotebook for
    // a move the recent read already placed.
    let sim = manual(300).await;
    let client = client_for(&sim);
    let query = ListQuery {
        feature: Some("NOTEBOOK".into()),
        ..ListQuery::default()
    };
    let mut mem = hot::Memory::new(&query);
    // The probe, then the status reads and the first recent read.
    (mem, _) = tick(&client, mem, FULL).await;
    (mem, _) = tick(&client, mem, FULL).await;
    assert_eq!(mem.light_reads_per_tick(), 1, "the recent read alone");
    assert_eq!(
        mem.reads_per_tick(),
        8,
        "seven status reads and the recent read"
    );

    let running = ListQuery {
        status: Some("RUNNING".into()),
        ..query.clone()
    };
    let first = client.fetch_page(&running, 0).await.expect("a page").page;
    let id = first.data[0].id.clone().expect("an id");
    client.act(Verb::Stop, &id, None).await.expect("stop");
    let mut news;
    (mem, news) = tick(&client, mem, LIGHT).await;
    assert_eq!(status_of(&news, &id), Some(Status::Stopping));
    assert_eq!(news.requests, 1, "one recent page");
    sim.advance(ACTION_MS);
    (mem, news) = tick(&client, mem, LIGHT).await;
    assert_eq!(
        status_of(&news, &id),
        Some(Status::Stopped),
        "out of STOPPING"
    );
    assert_eq!((news.requests, news.shows), (1, 0));
    // The full read: STOPPING no longer holds it, and nobody asks where it went.
    (_, news) = tick(&client, mem, FULL).await;
    assert_eq!(news.shows, 0, "no ShowNotebook for a placed move");
    assert_eq!(news.requests, 8);
    sim.shutdown(Duration::from_secs(1)).await;
}

/// The key of instance `id` of the one source.
fn key0(id: &str) -> nbwatch::track::InstanceKey {
    nbwatch::track::InstanceKey::new(nbwatch::track::SourceId(0), id)
}
