//! The dashboard's fault matrix at the poller level: a real `ClientSource` polling an
//! in-process simulator (or a tiny crafted server) through every fault, asserting the
//! poller's messages (the error kind, the growing backoff, recovery without any
//! command) and what the dashboard state makes of them (last good data kept,
//! freshness failing, then fresh again).

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::sim::*;
use nbwatch::api::model::Status;
use nbwatch::api::sign::AkSk;
use nbwatch::api::{ApiError, Auth, Client, ClientOptions, ListQuery, PageSize, RetryPolicy};
use nbwatch::app::{self, App, Freshness};
use nbwatch::secret::Secret;
use nbwatch::sim::{Fault, SimConfig, SimHandle};
use nbwatch::watch::{self, ClientSource, Control, Handle, Message, PollerConfig};

/// The poll interval of these tests; backoff doubles it per failure.
const INTERVAL: Duration = Duration::from_millis(40);
/// Longest wait for any one poller message.
const PATIENCE: Duration = Duration::from_secs(10);

fn faults(specs: &[&str]) -> Vec<Fault> {
    specs.iter().map(|s| s.parse().unwrap()).collect()
}

fn client_to(endpoint: &str, project_id: &str, auth: Auth, timeout: Duration) -> Client {
    init();
    let mut o = ClientOptions::new(endpoint, project_id, auth);
    o.timeout = timeout;
    o.connect_timeout = timeout;
    // One request per poll, so each fault shows as exactly one failed poll.
    o.retry = RetryPolicy::none();
    Client::new(o).unwrap()
}

fn sim_auth(sim: &SimHandle) -> Auth {
    let (ak, sk) = sim.credentials();
    Auth::AkSk(AkSk {
        ak,
        sk,
        security_token: None,
    })
}

/// How many instances a clean listing (default filters) holds now.
async fn truth(sim: &SimHandle) -> usize {
    sim_client(sim)
        .fetch_all_kinds(&query(50))
        .await
        .unwrap()
        .notebooks
        .len()
}

fn sim_client(sim: &SimHandle) -> Client {
    client_to(
        &sim.endpoint(),
        sim.project_id(),
        sim_auth(sim),
        Duration::from_secs(5),
    )
}

fn query(page_size: u32) -> ListQuery {
    ListQuery {
        page_size: PageSize::new(page_size).unwrap(),
        ..ListQuery::default()
    }
}

/// One listing only: without a `feature` the poller also sweeps the CodeLab
/// listing, a second request per poll that scripted servers do not expect.
fn notebooks_only(page_size: u32) -> ListQuery {
    ListQuery {
        feature: Some("NOTEBOOK".into()),
        ..query(page_size)
    }
}

fn poller_cfg() -> PollerConfig {
    PollerConfig {
        interval: INTERVAL,
        fast_interval: INTERVAL,
        budget_per_minute: 100_000,
        max_backoff: Duration::from_millis(400),
    }
}

fn start(client: Client, q: ListQuery) -> Handle {
    watch::spawn(Arc::new(ClientSource::new(client, q)), poller_cfg())
}

/// The next message that is not `Started`.
/// The next outcome of a poll. The pages a sweep sent ahead of its snapshot are
/// folded into the snapshot's listing (each id once), so a test sees the whole sweep.
async fn outcome(h: &mut Handle) -> Message {
    let mut paged = Vec::new();
    loop {
        let m = tokio::time::timeout(PATIENCE, h.messages.recv())
            .await
            .expect("the poller reports within the patience")
            .expect("the poller is alive");
        match m {
            // The hot tier runs only for projects larger than these tests use.
            Message::Started | Message::Hot { .. } => {}
            Message::Page { notebooks, .. } => paged.extend(notebooks.iter().map(|w| w.decode())),
            Message::Snapshot {
                mut listing,
                took,
                stats,
            } => {
                let mut seen = std::collections::HashSet::new();
                paged.retain(|n: &nbwatch::api::Notebook| seen.insert(n.id_str().to_string()));
                paged.append(&mut listing.notebooks);
                listing.notebooks = paged;
                return Message::Snapshot {
                    listing,
                    took,
                    stats,
                };
            }
            other => return other,
        }
    }
}

/// The dashboard's side: applies poller messages to the state as the event loop
/// does (one batch per message, through `App::apply_all`),
/// on a clock that starts at `crate::support::sim::T0` and moves with real time.
struct Dash {
    app: App,
    started: std::time::Instant,
    /// When the last message was applied.
    fed_at: i64,
}

impl Dash {
    fn new() -> Dash {
        Dash {
            app: App::new(app::Timing {
                interval: INTERVAL,
                stuck_after: Duration::from_secs(600),
            }),
            started: std::time::Instant::now(),
            fed_at: T0,
        }
    }

    fn now(&self) -> i64 {
        T0 + self.started.elapsed().as_millis() as i64
    }

    fn feed(&mut self, m: &Message) {
        let now = self.now();
        self.fed_at = now;
        self.app
            .apply_all([(nbwatch::track::SourceId(0), m.clone())], now);
    }
}

/// What a fault run saw: each failure in order, and the snapshot that ended it.
struct FaultRun {
    failures: Vec<(ApiError, u32, Option<Duration>)>,
    good_ids: Vec<String>,
    recovered_ids: Vec<String>,
}

/// Polls until a first snapshot, installs `specs`, then expects exactly `n` failed
/// polls in a row followed by a snapshot, with no command sent. Every message is fed
/// to the dashboard state, which must keep the first snapshot's instances throughout
/// and say it is failing.
async fn fault_matrix_case(specs: &[&str], n: u32, page_size: u32) -> FaultRun {
    let sim = start_sim(12).await;
    let mut h = start(sim_client(&sim), query(page_size));
    let mut dash = Dash::new();

    let first = outcome(&mut h).await;
    let Message::Snapshot { listing, .. } = &first else {
        panic!("first poll should succeed: {first:?}")
    };
    let good: Vec<String> = listing
        .notebooks
        .iter()
        .map(|n| n.id_str().into())
        .collect();
    assert!(!good.is_empty());
    dash.feed(&first);
    assert!(matches!(
        dash.app.freshness(dash.fed_at),
        Freshness::Fresh { .. }
    ));

    sim.set_faults(&faults(specs));
    let mut failures = Vec::new();
    let recovered = loop {
        let m = outcome(&mut h).await;
        dash.feed(&m);
        match m {
            // A poll already past the fault's installation may still succeed.
            Message::Snapshot { .. } if failures.is_empty() => continue,
            Message::Snapshot { listing, .. } => break listing,
            Message::Failed {
                error,
                consecutive,
                next_in,
                ..
            } => {
                // The dashboard keeps the last good data and says it is failing.
                assert_eq!(dash.app.total(), good.len(), "last good data kept");
                assert!(
                    matches!(
                        dash.app.freshness(dash.now()),
                        Freshness::Failing { age_ms: Some(_) }
                    ),
                    "{:?}",
                    dash.app.freshness(dash.now())
                );
                let shown = dash.app.poll().last_error.clone().unwrap();
                assert_eq!(shown.attempt, consecutive);
                assert_eq!(shown.status, error.status());
                assert!(!shown.auth);
                failures.push((error, consecutive, next_in));
                assert!(failures.len() <= n as usize, "more failures than faults");
            }
            Message::Started | Message::Page { .. } | Message::Hot { .. } => unreachable!(),
        }
    };
    assert_eq!(failures.len(), n as usize, "one failed poll per fault");
    let consecutive: Vec<u32> = failures.iter().map(|f| f.1).collect();
    assert_eq!(consecutive, (1..=n).collect::<Vec<_>>());

    // Recovered by itself: fresh again, no error shown, the same instances.
    let now = dash.now();
    assert!(
        matches!(dash.app.freshness(now), Freshness::Fresh { .. }),
        "{:?}",
        dash.app.freshness(now)
    );
    assert!(dash.app.poll().last_error.is_none());
    let recovered_ids: Vec<String> = recovered
        .notebooks
        .iter()
        .map(|n| n.id_str().into())
        .collect();
    // With no new data, the state turns stale after two intervals, never "fresh".
    assert!(matches!(
        dash.app.freshness(now + 3 * INTERVAL.as_millis() as i64),
        Freshness::Stale { .. }
    ));
    FaultRun {
        failures,
        good_ids: good,
        recovered_ids,
    }
}

async fn start_sim(instances: usize) -> SimHandle {
    crate::support::sim::start(SimConfig {
        instances,
        ..SimConfig::manual_at(T0)
    })
    .await
}

/// The backoff the poller must announce after failures 1..=n (interval doubling, capped).
fn doubling(n: usize) -> Vec<Option<Duration>> {
    (0..n)
        .map(|i| Some((INTERVAL * (1 << i)).min(Duration::from_millis(400))))
        .collect()
}

fn next_ins(run: &FaultRun) -> Vec<Option<Duration>> {
    run.failures.iter().map(|f| f.2).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_back_off_doubling_and_recover_without_a_keypress() {
    let run = fault_matrix_case(&["500:count=4"], 4, 50).await;
    for (e, _, _) in &run.failures {
        assert_eq!(e.status(), Some(500), "{e}");
        assert_eq!(e.code(), Some("ModelArts.0010"), "{e}");
        assert!(e.request_id().is_some(), "the request id is kept: {e}");
        assert!(e.hint().unwrap().contains("transient"), "{e}");
    }
    assert_eq!(next_ins(&run), doubling(4));
    assert_eq!(run.recovered_ids, run.good_ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_waits_at_least_the_retry_after() {
    let run = fault_matrix_case(&["429:retry-after=1:count=2"], 2, 50).await;
    for (e, _, next_in) in &run.failures {
        assert_eq!(e.status(), Some(429), "{e}");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
        assert!(e.hint().unwrap().contains("throttled: wait 1s"), "{e}");
        // Retry-After (1 s) beats the 40/80 ms backoff.
        assert_eq!(*next_in, Some(Duration::from_secs(1)));
    }
    assert_eq!(run.recovered_ids, run.good_ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_502_from_a_proxy_reads_as_a_gateway_failure() {
    let run = fault_matrix_case(&["html502:count=3"], 3, 50).await;
    for (e, _, _) in &run.failures {
        assert_eq!(e.status(), Some(502), "{e}");
        assert_eq!(e.message(), "502 Bad Gateway (HTML page from a proxy)");
        assert!(e.hint().unwrap().contains("gateway or proxy"), "{e}");
        assert!(!e.to_string().contains("<html"), "no markup shown: {e}");
    }
    assert_eq!(next_ins(&run), doubling(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_a_decode_failure_then_recovers() {
    let run = fault_matrix_case(&["malformed:count=2"], 2, 50).await;
    for (e, _, _) in &run.failures {
        assert!(matches!(e, ApiError::Decode { .. }), "{e:?}");
        assert!(e.message().contains("malformed JSON"), "{e}");
        assert!(e.request_id().is_some(), "{e}");
    }
    assert_eq!(next_ins(&run), doubling(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_bodies_either_way_are_decode_failures() {
    // cl=full: the connection drops mid-body; cl=cut: the JSON just ends.
    let run = fault_matrix_case(
        &["truncated:cl=full:count=1", "truncated:cl=cut:count=1"],
        2,
        50,
    )
    .await;
    // Both faults are corruptions; only one applies per request, in order.
    let (full, cut) = (&run.failures[0].0, &run.failures[1].0);
    assert!(matches!(full, ApiError::Decode { .. }), "{full:?}");
    assert!(full.message().contains("cut off"), "{full}");
    assert!(matches!(cut, ApiError::Decode { .. }), "{cut:?}");
    assert!(cut.message().contains("ends early"), "{cut}");
    assert_eq!(next_ins(&run), doubling(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_server_is_cut_by_the_timeout_and_polling_goes_on() {
    let sim = start_sim(5).await;
    let client = client_to(
        &sim.endpoint(),
        sim.project_id(),
        sim_auth(&sim),
        Duration::from_millis(250),
    );
    sim.set_faults(&faults(&["hang:ms=20000:count=2"]));
    let mut h = start(client, query(50));
    let mut dash = Dash::new();
    let t0 = std::time::Instant::now();
    let mut seen = Vec::new();
    let listing = loop {
        let m = outcome(&mut h).await;
        dash.feed(&m);
        match m {
            Message::Failed { error, next_in, .. } => {
                assert!(matches!(error, ApiError::Timeout { .. }), "{error:?}");
                assert!(error.message().contains("within 0.25s"), "{error}");
                assert!(matches!(
                    dash.app.freshness(dash.now()),
                    Freshness::Failing { age_ms: None }
                ));
                assert!(!dash.app.has_data());
                seen.push(next_in);
            }
            Message::Snapshot { listing, .. } => break listing,
            Message::Started | Message::Page { .. } | Message::Hot { .. } => unreachable!(),
        }
    };
    assert_eq!(seen, doubling(2));
    assert_eq!(listing.notebooks.len(), truth(&sim).await);
    // Bounded by the timeout, not the 20 s hang.
    assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
    // Fresh as the snapshot lands (read later, a loaded machine could let the
    // 40 ms interval's data go stale before the look).
    assert!(matches!(
        dash.app.freshness(dash.fed_at),
        Freshness::Fresh { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_backs_off_until_the_server_comes_up() {
    // A port nobody listens on (for now).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = client_to(
        &endpoint,
        demo_project(),
        Auth::AkSk(AkSk {
            ak: nbwatch::sim::DEMO_AK.into(),
            sk: Secret::new(nbwatch::sim::DEMO_SK),
            security_token: None,
        }),
        Duration::from_secs(2),
    );
    let mut h = start(client, query(50));
    let mut dash = Dash::new();
    let mut waits = Vec::new();
    for n in 1..=3u32 {
        let m = outcome(&mut h).await;
        dash.feed(&m);
        let Message::Failed {
            error,
            consecutive,
            next_in,
            ..
        } = m
        else {
            panic!("nothing listens yet: {m:?}")
        };
        assert_eq!(consecutive, n);
        assert!(matches!(error, ApiError::Connect { .. }), "{error:?}");
        assert!(error.message().contains(&endpoint), "{error}");
        assert!(error.hint().unwrap().contains("endpoint"), "{error}");
        assert_eq!(
            dash.app.poll().last_error.as_ref().unwrap().short_code(),
            "network"
        );
        waits.push(next_in);
    }
    assert_eq!(waits, doubling(3));
    // The server comes up on that port: the next poll succeeds on its own.
    let sim = crate::support::sim::start(SimConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], port)),
        instances: 3,
        ..SimConfig::manual_at(T0)
    })
    .await;
    let listing = loop {
        match outcome(&mut h).await {
            Message::Snapshot { listing, .. } => break listing,
            Message::Failed { error, .. } => {
                assert!(matches!(error, ApiError::Connect { .. }), "{error:?}")
            }
            Message::Started | Message::Page { .. } | Message::Hot { .. } => unreachable!(),
        }
    };
    assert_eq!(listing.notebooks.len(), truth(&sim).await);
}

fn demo_project() -> &'static str {
    nbwatch::sim::DEMO_PROJECT_ID
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flapping_server_alternates_and_the_failure_count_resets() {
    let sim = start_sim(12).await;
    let n = sim_client(&sim)
        .fetch_all(&notebooks_only(50))
        .await
        .unwrap()
        .notebooks
        .len();
    sim.set_faults(&faults(&["flap:2"]));
    let mut h = start(sim_client(&sim), notebooks_only(50));
    let mut dash = Dash::new();
    let mut kinds = Vec::new();
    for _ in 0..6 {
        let m = outcome(&mut h).await;
        dash.feed(&m);
        match &m {
            Message::Snapshot { .. } => {
                kinds.push("ok");
                assert!(matches!(
                    dash.app.freshness(dash.fed_at),
                    Freshness::Fresh { .. }
                ));
            }
            Message::Failed {
                error,
                consecutive,
                next_in,
                ..
            } => {
                kinds.push("fail");
                assert_eq!(error.status(), Some(500));
                // Each failure follows a success: the backoff starts over every time.
                assert_eq!(*consecutive, 1);
                assert_eq!(*next_in, Some(INTERVAL));
                assert_eq!(dash.app.total(), n, "last good data kept");
            }
            Message::Started | Message::Page { .. } | Message::Hot { .. } => unreachable!(),
        }
    }
    assert_eq!(kinds, ["ok", "fail", "ok", "fail", "ok", "fail"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_in_poll_retry_absorbs_a_flap_as_the_dashboard_configures_it() {
    let sim = start_sim(12).await;
    let n = truth(&sim).await;
    sim.set_faults(&faults(&["flap:2"]));
    let mut o = ClientOptions::new(sim.endpoint(), sim.project_id(), sim_auth(&sim));
    // What the dashboard uses: one retry inside a poll (delays shortened for the test).
    o.retry = RetryPolicy {
        max_retries: 1,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
    };
    init();
    let mut h = start(Client::new(o).unwrap(), query(50));
    for _ in 0..4 {
        match outcome(&mut h).await {
            Message::Snapshot { listing, .. } => assert_eq!(listing.notebooks.len(), n),
            other => panic!("a single flap must not reach the screen: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_between_pages_never_loses_or_duplicates_an_instance() {
    let sim = start_sim(35).await;
    let before = truth(&sim).await;
    assert!(before > 30, "four pages of 10");
    sim.set_faults(&faults(&["drift"]));
    // Four pages of 10: every page sees a different total.
    let mut h = start(sim_client(&sim), query(10));
    let mut dash = Dash::new();
    for _ in 0..3 {
        let m = outcome(&mut h).await;
        dash.feed(&m);
        let Message::Snapshot { listing, .. } = m else {
            panic!("drift is not an error: {m:?}")
        };
        let ids: Vec<&str> = listing.notebooks.iter().map(|n| n.id_str()).collect();
        let unique: HashSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "no duplicates while drifting");
        // Each request moves the population by one; a lost page would be ten.
        assert!(
            ids.len().abs_diff(before) <= 6,
            "no page lost: {} vs {before}",
            ids.len()
        );
        // An instance missing from one sweep stays until a second confirms it.
        assert!(dash.app.total() >= ids.len());
        assert!(listing.complete, "every boundary proved or repaired");
    }
    sim.clear_faults();
    // Once it settles: exactly the live population, in the sweep and, after a
    // second sweep confirmed who is gone, on screen.
    for _ in 0..2 {
        let m = outcome(&mut h).await;
        dash.feed(&m);
    }
    let Message::Snapshot { listing, .. } = outcome(&mut h).await else {
        panic!("no failure expected")
    };
    let n = truth(&sim).await;
    assert_eq!(listing.notebooks.len(), n);
    assert_eq!(listing.total, Some(n as i64));
    assert_eq!(dash.app.total(), n);
}

// ---- a crafted server: what the simulator never sends ---------------------------------

/// A one-route HTTP server answering each request with the next scripted
/// `(status, body)`, repeating the last one; it checks nothing.
async fn crafted(script: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<u64>>) {
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    let hits = Arc::new(Mutex::new(0u64));
    let h2 = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let script = script.clone();
        let hits = h2.clone();
        async move {
            *hits.lock().unwrap() += 1;
            let mut s = script.lock().unwrap();
            let (status, body) = if s.len() > 1 {
                s.pop_front().unwrap()
            } else {
                *s.front().unwrap()
            };
            axum::response::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .header("x-request-id", "crafted-req")
                .body(axum::body::Body::from(body))
                .unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), hits)
}

/// A future service: a status nbwatch has never heard of, new fields everywhere,
/// nulls where objects belong, objects missing altogether.
const SURPRISING: &str = r#"{
  "current": 0, "pages": 1, "size": 3, "total": 3,
  "next_generation_field": {"anything": [1, 2, 3]},
  "data": [
    {"id": "nb-hib", "name": "hibernator", "status": "HIBERNATING",
     "feature": "NOTEBOOK", "flavor": "modelarts.vm.cpu.2u",
     "create_at": 1795850000000, "update_at": 1795851000000,
     "brand_new": {"nested": {"deep": true}, "list": [null, "x"]},
     "image": {"name": "mindspore", "tag": "2.3", "colour": "green"},
     "lease": {"create_at": 1795850000000, "duration": 3600000, "enable": true, "unit": "ms"},
     "endpoints": [{"service": "JUPYTER", "quantum_port": 1}]},
    {"id": "nb-nulls", "name": null, "status": null, "image": null, "lease": null,
     "endpoints": null, "action_progress": null, "tags": null, "pool": null,
     "create_at": null, "token": null},
    {"id": "nb-bare"}
  ]
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_statuses_and_fields_arrive_intact_and_are_shown() {
    // A 500 first, then the surprising listing: the poller recovers into it.
    let (endpoint, hits) = crafted(vec![
        (
            500,
            r#"{"error_code":"ModelArts.0010","error_msg":"later"}"#,
        ),
        (200, SURPRISING),
    ])
    .await;
    let client = client_to(
        &endpoint,
        "p1",
        Auth::Token(Secret::new("tok")),
        Duration::from_secs(5),
    );
    let mut h = start(client, notebooks_only(50));
    let mut dash = Dash::new();
    let m = outcome(&mut h).await;
    dash.feed(&m);
    assert!(matches!(&m, Message::Failed { error, .. } if error.status() == Some(500)));
    let m = outcome(&mut h).await;
    dash.feed(&m);
    let Message::Snapshot { listing, .. } = &m else {
        panic!("{m:?}")
    };
    assert_eq!(listing.total, Some(3));
    let nbs = &listing.notebooks;
    assert_eq!(nbs.len(), 3, "no instance dropped");

    let hib = &nbs[0];
    assert_eq!(hib.status, Some(Status::Unknown("HIBERNATING".into())));
    assert!(hib.extra.contains_key("brand_new"), "unknown field kept");
    assert_eq!(hib.extra["brand_new"]["nested"]["deep"], true);
    let image = hib.image.as_ref().unwrap();
    assert_eq!(image.name.as_deref(), Some("mindspore"));
    assert!(image.extra.contains_key("colour"));
    assert_eq!(hib.lease_end_ms(), Some(1795850000000 + 3600000));
    assert_eq!(hib.endpoints.len(), 1);

    let nulls = &nbs[1];
    assert_eq!(nulls.id.as_deref(), Some("nb-nulls"));
    assert_eq!(nulls.status, None);
    assert!(nulls.image.is_none() && nulls.lease.is_none() && nulls.token.is_none());
    assert!(nulls.endpoints.is_empty() && nulls.action_progress.is_empty());

    let bare = &nbs[2];
    assert_eq!(bare.id.as_deref(), Some("nb-bare"));
    assert_eq!(bare.status_or_unknown(), Status::Unknown(String::new()));

    // The dashboard state counts the new status instead of dropping it…
    assert_eq!(dash.app.total(), 3);
    assert!(
        dash.app
            .status_counts()
            .contains(&(Status::Unknown("HIBERNATING".into()), 1)),
        "{:?}",
        dash.app.status_counts()
    );
    assert!(
        dash.app
            .get(&nbwatch::track::InstanceKey::new(
                nbwatch::track::SourceId(0),
                "nb-hib"
            ))
            .is_some()
    );
    assert!(dash.app.poll().last_error.is_none());

    // …and the screen shows it by its own name.
    let screen = render(&mut dash, 140, 30);
    assert!(screen.contains("HIBERNATING"), "{screen}");
    assert!(screen.contains("hibernator"), "{screen}");
    assert!(*hits.lock().unwrap() >= 2);
}

/// Renders the dashboard state on an off-screen terminal, as text.
fn render(dash: &mut Dash, w: u16, hgt: u16) -> String {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let ctx = nbwatch::ui::ViewContext {
        profile: "test".into(),
        region: "cn-north-4".into(),
        project_id: "p1".into(),
        endpoint: "http://127.0.0.1".into(),
        demo: false,
        theme: nbwatch::ui::Theme::plain(),
        utc_offset_secs: 0,
    };
    let now = dash.now();
    let mut term = Terminal::new(TestBackend::new(w, hgt)).unwrap();
    let app = &mut dash.app;
    let mut vp = None;
    term.draw(|f| vp = Some(nbwatch::ui::draw(f, app, &ctx, now)))
        .unwrap();
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..hgt {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_json_but_not_a_listing_is_a_failure_not_an_empty_list() {
    // An empty table would claim every instance is gone: the state must keep them.
    let (endpoint, _) = crafted(vec![
        (200, r#"{"total":1,"data":[{"id":"a","status":"RUNNING"}]}"#),
        (200, r#"{"unexpected":"shape"}"#),
        (200, r#"[]"#),
        (200, r#"{"total":1,"data":[{"id":"a","status":"RUNNING"}]}"#),
    ])
    .await;
    let client = client_to(
        &endpoint,
        "p1",
        Auth::Token(Secret::new("tok")),
        Duration::from_secs(5),
    );
    let mut h = start(client, notebooks_only(50));
    let mut dash = Dash::new();
    let m = outcome(&mut h).await;
    dash.feed(&m);
    assert_eq!(dash.app.total(), 1);
    for n in 1..=2 {
        let m = outcome(&mut h).await;
        dash.feed(&m);
        let Message::Failed {
            error, consecutive, ..
        } = &m
        else {
            panic!("not a listing: {m:?}")
        };
        assert_eq!(*consecutive, n);
        assert!(matches!(error, ApiError::Decode { .. }), "{error:?}");
        assert_eq!(dash.app.total(), 1, "the instance is not declared gone");
    }
    let m = outcome(&mut h).await;
    assert!(matches!(m, Message::Snapshot { .. }), "{m:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_holds_polling_through_a_fault_and_refresh_resumes_at_once() {
    let sim = start_sim(4).await;
    let mut h = start(sim_client(&sim), query(50));
    assert!(matches!(outcome(&mut h).await, Message::Snapshot { .. }));
    h.commands.send(Control::SetPaused(true)).unwrap();
    // Let any poll that was already due finish, then count.
    tokio::time::sleep(Duration::from_millis(150)).await;
    while h.messages.try_recv().is_ok() {}
    let before = sim.request_count();
    sim.set_faults(&faults(&["500"]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.request_count(), before, "no request while paused");
    sim.clear_faults();
    h.commands.send(Control::SetPaused(false)).unwrap();
    assert!(matches!(outcome(&mut h).await, Message::Snapshot { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_retry_after_neither_panics_nor_stops_polling_for_years() {
    // Retry-After values a broken proxy could send: huge, exponent notation.
    for header in ["1e300", "99999999999999999999", "31536000"] {
        let (endpoint, hits) = {
            let hits = Arc::new(Mutex::new(0u64));
            let h2 = hits.clone();
            let app = axum::Router::new().fallback(move || {
                let hits = h2.clone();
                async move {
                    *hits.lock().unwrap() += 1;
                    axum::response::Response::builder()
                        .status(429)
                        .header("retry-after", header)
                        .body(axum::body::Body::from(
                            r#"{"error_code":"APIGW.0308","error_msg":"throttled"}"#,
                        ))
                        .unwrap()
                }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            (format!("http://{addr}"), hits)
        };
        let client = client_to(
            &endpoint,
            "p1",
            Auth::Token(Secret::new("tok")),
            Duration::from_secs(5),
        );
        let mut h = start(client, notebooks_only(50));
        let m = outcome(&mut h).await;
        let Message::Failed { error, next_in, .. } = m else {
            panic!("{header}: {m:?}")
        };
        assert_eq!(error.status(), Some(429), "{header}");
        let next_in = next_in.expect("still polling");
        assert!(
            next_in <= Duration::from_secs(300),
            "{header}: next poll in {next_in:?}"
        );
        assert!(!h.task.is_finished(), "{header}: the poller is alive");
        assert_eq!(*hits.lock().unwrap(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_offset_and_sends_no_total_is_not_read_forever() {
    // Ten full pages of the same ten ids, no `total`: a proxy that drops the query.
    let page: &'static str = Box::leak(
        format!(
            r#"{{"data":[{}]}}"#,
            (0..10)
                .map(|i| format!(r#"{{"id":"same-{i}","status":"RUNNING"}}"#))
                .collect::<Vec<_>>()
                .join(",")
        )
        .into_boxed_str(),
    );
    let (endpoint, hits) = crafted(vec![(200, page)]).await;
    let client = client_to(
        &endpoint,
        "p1",
        Auth::Token(Secret::new("tok")),
        Duration::from_secs(5),
    );
    let listing = tokio::time::timeout(Duration::from_secs(20), client.fetch_all(&query(10)))
        .await
        .expect("the listing ends");
    let requests = *hits.lock().unwrap();
    assert!(requests <= 10, "{requests} requests for one listing");
    let listing = listing.unwrap();
    assert_eq!(listing.notebooks.len(), 10);
}
