//! Start, stop, extend and delete with the real client against the in-process
//! simulator: each lifecycle, every wrong-state and permission error (code,
//! meaning, request id, IAM action), and what is retried and what is not (the
//! simulator counts the requests it received).
use std::time::Duration;

use crate::support::sim::*;
use nbwatch::api::actions::{Answer, Verb, describe, is_gone};
use nbwatch::api::{
    ApiError, Auth, Client, ClientOptions, ListQuery, Notebook, RetryPolicy, Status,
};
use nbwatch::sim::{Fault, SimHandle};

const HOUR: i64 = 3_600_000;
/// How long the simulator keeps an instance in STARTING, STOPPING or DELETING.
const ACTION_MS: i64 = nbwatch::sim::engine::Engine::ACTION_MS;

fn client_for(sim: &SimHandle) -> Client {
    let mut o = sim.client_options();
    o.retry = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    o.timeout = Duration::from_secs(2);
    Client::new(o).expect("client builds")
}

/// The first instance (in listing order) in `status`.
async fn one_in(c: &Client, status: Status) -> Notebook {
    let all = c.fetch_all(&ListQuery::default()).await.expect("listing");
    all.notebooks
        .into_iter()
        .find(|n| n.status.as_ref() == Some(&status))
        .unwrap_or_else(|| panic!("no {status} instance in the simulator"))
}

fn answer_status(a: &Answer) -> Status {
    match a {
        Answer::Instance(nb) => nb.status_or_unknown(),
        Answer::Lease(_) => panic!("an instance was expected, not a lease"),
    }
}

async fn status_of(c: &Client, id: &str) -> Option<Status> {
    c.show_notebook(id)
        .await
        .expect("ShowNotebook")
        .map(|n| n.status_or_unknown())
}

#[tokio::test]
async fn stop_then_start_then_extend_then_stop_and_delete_walk_the_lifecycle() {
    let sim = manual(60).await;
    let c = client_for(&sim);
    let nb = one_in(&c, Status::Running).await;
    let id = nb.id_str().to_string();

    let stop = c.act(Verb::Stop, &id, None).await.expect("stop accepted");
    assert_eq!(answer_status(&stop.answer), Status::Stopping);
    assert!(stop.request_id.is_some(), "the request id is kept");
    assert_eq!(status_of(&c, &id).await, Some(Status::Stopping));
    sim.advance(ACTION_MS);
    assert_eq!(status_of(&c, &id).await, Some(Status::Stopped));

    let start = c
        .act(Verb::Start, &id, Some(2 * HOUR))
        .await
        .expect("start");
    assert_eq!(answer_status(&start.answer), Status::Starting);
    sim.advance(ACTION_MS);
    let running = c.show_notebook(&id).await.unwrap().expect("still there");
    assert_eq!(running.status, Some(Status::Running));
    // A fresh lease of the duration asked for, from the moment it runs.
    assert_eq!(running.lease_end_ms(), Some(sim.now_ms() + 2 * HOUR));

    sim.advance(10 * 60_000);
    let extend = c
        .act(Verb::Extend, &id, Some(4 * HOUR))
        .await
        .expect("extend");
    let Answer::Lease(lease) = &extend.answer else {
        panic!("extend answers with the lease");
    };
    // Now + duration, not the old stop time + duration.
    assert_eq!(lease.end_ms(), Some(sim.now_ms() + 4 * HOUR));
    let shown = c.show_lease(&id).await.expect("ShowLease");
    assert_eq!(shown.end_ms(), lease.end_ms());
    let nb = c.show_notebook(&id).await.unwrap().unwrap();
    assert_eq!(
        nb.lease_end_ms(),
        lease.end_ms(),
        "the instance carries it too"
    );

    c.act(Verb::Stop, &id, None).await.expect("stop");
    sim.advance(ACTION_MS);
    let del = c.act(Verb::Delete, &id, None).await.expect("delete");
    assert_eq!(answer_status(&del.answer), Status::Deleting);
    sim.advance(ACTION_MS);
    assert_eq!(status_of(&c, &id).await, Some(Status::Deleted));
    sim.advance(3 * 60_000);
    assert_eq!(
        status_of(&c, &id).await,
        None,
        "gone: ShowNotebook is 404 6309"
    );
}

/// (verb, status of the instance, duration, expected code)
const WRONG_STATES: &[(Verb, Status, Option<i64>, &str)] = &[
    (Verb::Start, Status::Running, None, "ModelArts.6305"),
    (Verb::Start, Status::Starting, None, "ModelArts.6306"),
    (Verb::Start, Status::Stopping, None, "ModelArts.6308"),
    (Verb::Start, Status::Frozen, None, "ModelArts.6326"),
    (Verb::Start, Status::Creating, None, "ModelArts.6357"),
    (Verb::Stop, Status::Stopped, None, "ModelArts.6307"),
    (Verb::Stop, Status::Stopping, None, "ModelArts.6308"),
    (Verb::Stop, Status::Starting, None, "ModelArts.6306"),
    (Verb::Stop, Status::CreateFailed, None, "ModelArts.6327"),
    (Verb::Extend, Status::Stopped, Some(HOUR), "ModelArts.6327"),
    (Verb::Delete, Status::Running, None, "ModelArts.6304"),
    (Verb::Delete, Status::Stopping, None, "ModelArts.6308"),
    (Verb::Delete, Status::Frozen, None, "ModelArts.6326"),
    (Verb::Delete, Status::Deleting, None, "ModelArts.6357"),
];

#[tokio::test]
async fn every_wrong_state_is_refused_with_its_code_meaning_and_request_id() {
    let sim = manual(60).await;
    let c = client_for(&sim);
    for (verb, status, duration, code) in WRONG_STATES {
        let nb = one_in(&c, status.clone()).await;
        let before = sim.request_count();
        let e = c
            .act(*verb, nb.id_str(), *duration)
            .await
            .expect_err("refused");
        assert_eq!(
            sim.request_count() - before,
            1,
            "{verb} on {status}: sent once"
        );
        assert_eq!(e.status(), Some(400), "{verb} on {status}: {e}");
        assert_eq!(e.code(), Some(*code), "{verb} on {status}: {e}");
        let text = describe(*verb, &e);
        let short = code.trim_start_matches("ModelArts.");
        assert!(text.starts_with(&format!("{short}: ")), "{text}");
        assert!(text.contains("request id "), "{text}");
        assert_eq!(
            status_of(&c, nb.id_str()).await.as_ref(),
            Some(status),
            "a refused action changes nothing"
        );
    }
    let frozen = one_in(&c, Status::Frozen).await;
    let e = c.act(Verb::Start, frozen.id_str(), None).await.unwrap_err();
    assert!(
        describe(Verb::Start, &e)
            .starts_with("6326: the account is in arrears, the instance is frozen · request id "),
        "{}",
        describe(Verb::Start, &e)
    );
}

#[tokio::test]
async fn unknown_instances_durations_and_resources_answer_like_the_service() {
    let sim = manual(60).await;
    let c = client_for(&sim);
    let e = c.act(Verb::Stop, "no-such-id", None).await.unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(404), Some("ModelArts.6309")));
    assert!(is_gone(&e));
    assert_eq!(c.show_notebook("no-such-id").await.unwrap(), None);

    let running = one_in(&c, Status::Running).await;
    let e = c
        .act(Verb::Extend, running.id_str(), Some(60_000))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ModelArts.6349"));
    assert!(describe(Verb::Extend, &e).contains("1 to 72 hours"));
    let e = c
        .act(Verb::Extend, running.id_str(), Some(73 * HOUR))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ModelArts.6349"));
    // A PATCH without a duration anywhere.
    let path = format!(
        "/v1/{}/notebooks/{}/lease",
        sim.project_id(),
        running.id_str()
    );
    let r = send(
        &sim,
        "PATCH",
        &path,
        &[],
        &crate::support::sim::Auth::of(&sim),
    )
    .await;
    assert_eq!((r.status, r.error_code().as_str()), (400, "ModelArts.6348"));
    // A duration in the query overrides the body's.
    let r = send(
        &sim,
        "PATCH",
        &path,
        &[("duration", "7200000")],
        &crate::support::sim::Auth::of(&sim),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["duration"], 7_200_000);

    let stopped = one_in(&c, Status::Stopped).await;
    sim.set_resources(false);
    let e = c
        .act(Verb::Start, stopped.id_str(), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ModelArts.6360"));
    assert!(describe(Verb::Start, &e).contains("not enough resources"));
    sim.set_resources(true);
    c.act(Verb::Start, stopped.id_str(), None)
        .await
        .expect("resources are back");
}

#[tokio::test]
async fn a_missing_permission_is_a_403_naming_the_iam_action_and_never_retried() {
    let sim = manual(60).await;
    let c = client_for(&sim);
    let running = one_in(&c, Status::Running).await;
    let stopped = one_in(&c, Status::Stopped).await;
    for (verb, id, action) in [
        (Verb::Stop, running.id_str(), "modelarts:notebook:stop"),
        (
            Verb::Extend,
            running.id_str(),
            "modelarts:notebook:updateStopPolicy",
        ),
        (Verb::Start, stopped.id_str(), "modelarts:notebook:start"),
        (Verb::Delete, stopped.id_str(), "modelarts:notebook:delete"),
    ] {
        sim.deny(action);
        let before = sim.request_count();
        let e = c.act(verb, id, Some(HOUR)).await.unwrap_err();
        assert_eq!(sim.request_count() - before, 1, "{verb}: no retry");
        assert_eq!(e.status(), Some(403));
        let text = describe(verb, &e);
        assert!(text.contains(action), "{text}");
        assert!(text.contains("request id"), "{text}");
    }
    assert_eq!(status_of(&c, running.id_str()).await, Some(Status::Running));
}

fn faults(specs: &[&str]) -> Vec<Fault> {
    specs.iter().map(|s| s.parse().unwrap()).collect()
}

#[tokio::test]
async fn an_action_that_may_have_reached_the_service_is_never_repeated() {
    let sim = manual(60).await;
    let c = client_for(&sim);
    let running = one_in(&c, Status::Running).await;
    let id = running.id_str();

    // A 5xx: reported, not repeated (the service may have acted).
    sim.set_faults(&faults(&["500:count=1"]));
    let before = sim.request_count();
    let e = c.act(Verb::Stop, id, None).await.unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert_eq!(sim.request_count() - before, 1, "a 5xx is not retried");
    assert!(describe(Verb::Stop, &e).contains("not repeated"));

    // No answer in time: reported, not repeated.
    sim.set_faults(&faults(&["hang:ms=5000:count=1"]));
    let before = sim.request_count();
    let e = c.act(Verb::Stop, id, None).await.unwrap_err();
    assert!(matches!(e, ApiError::Timeout { .. }), "{e}");
    assert_eq!(sim.request_count() - before, 1, "a timeout is not retried");
    assert!(describe(Verb::Stop, &e).contains("check the instance"));

    // Throttled by the gateway: it never reached the service, so it is retried.
    sim.set_faults(&faults(&["429:retry-after=0:count=2"]));
    let before = sim.request_count();
    let ok = c.act(Verb::Stop, id, None).await.expect("third try passes");
    assert_eq!(answer_status(&ok.answer), Status::Stopping);
    assert_eq!(sim.request_count() - before, 3);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    init();
    // A port nobody listens on: nothing is ever sent.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut o = ClientOptions::new(
        format!("http://127.0.0.1:{port}"),
        "p1",
        Auth::Token(nbwatch::secret::Secret::new("t")),
    );
    o.retry = RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_millis(200),
    };
    let c = Client::new(o).unwrap();
    let t = std::time::Instant::now();
    let e = c.act(Verb::Stop, "abc", None).await.unwrap_err();
    assert!(matches!(e, ApiError::Connect { .. }), "{e}");
    // Two waits of ~200 ms (±20 %) between three tries.
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(c.requests_sent(), 3);
}

/// A client through `proxy` with the simulator's IAM token (the proxy does
/// not change what was signed, but a token needs no signature at all).
fn client_through(proxy: &crate::support::cut::CutProxy, sim: &SimHandle) -> Client {
    let mut o = ClientOptions::new(
        proxy.endpoint.clone(),
        sim.project_id(),
        Auth::Token(nbwatch::secret::Secret::new(nbwatch::sim::DEMO_TOKEN)),
    );
    o.retry = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    o.timeout = Duration::from_secs(5);
    Client::new(o).unwrap()
}

#[tokio::test]
async fn a_reset_after_the_request_went_out_is_not_retried_and_says_the_service_may_have_acted() {
    init();
    let sim = manual(60).await;
    let proxy = crate::support::cut::CutProxy::start(sim.endpoint().replace("http://", "")).await;
    let c = client_through(&proxy, &sim);
    let id = one_in(&client_for(&sim), Status::Running)
        .await
        .id_str()
        .to_string();

    let e = c.act(Verb::Stop, &id, None).await.unwrap_err();
    assert!(matches!(e, ApiError::Cut { .. }), "{e:?}");
    assert_eq!(proxy.actions(), 1, "sent once: never repeated");
    assert_eq!(
        status_of(&client_for(&sim), &id).await,
        Some(Status::Stopping),
        "the service did act"
    );
    let said = describe(Verb::Stop, &e);
    assert!(said.contains("the service may have acted"), "{said}");
    assert!(!said.contains("check the endpoint or region"), "{said}");

    // The command line's words: the status read now.
    let (why, read) = nbwatch::act::failure(&c, Verb::Stop, &id, &e).await;
    assert!(why.contains("may have acted"), "{why}");
    assert!(why.ends_with(" · now STOPPING (read just now)"), "{why}");
    assert_eq!(
        read.flatten().map(|n| n.status_or_unknown()),
        Some(Status::Stopping)
    );
    assert_eq!(proxy.actions(), 1);

    // The dashboard's action task: the row takes the status read now, and the
    // notice says the service may have acted; nothing is followed or repeated.
    let stop = |nb: &Notebook| nbwatch::app::ActionRequest {
        key: nbwatch::track::InstanceKey::new(nbwatch::track::SourceId(0), nb.id_str()),
        id: nb.id_str().to_string(),
        name: nb.name_str().to_string(),
        verb: Verb::Stop,
        duration_ms: None,
    };
    let other = one_in(&client_for(&sim), Status::Running).await;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let follow = nbwatch::act::Follow::every(Duration::from_millis(50));
    nbwatch::act::spawn(c.clone(), stop(&other), follow, tx);
    assert_cut_off_and_read_now(rx).await;
    assert_eq!(proxy.actions(), 2, "each action sent once");

    // A bulk action on the marked set says the same for each instance it cut off.
    let third = one_in(&client_for(&sim), Status::Running).await;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    nbwatch::act::spawn_many(vec![c.clone()], vec![stop(&third)], tx);
    assert_cut_off_and_read_now(rx).await;
    assert_eq!(proxy.actions(), 3, "each action sent once");
}

/// What the dashboard hears of a stop cut off after it went out: the instance
/// as read now (STOPPING), then the failure saying the service may have acted.
async fn assert_cut_off_and_read_now(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<nbwatch::app::ActionEvent>,
) {
    use nbwatch::app::ActionEvent;
    let mut events = Vec::new();
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await {
        events.push(ev);
    }
    match events.as_slice() {
        [
            ActionEvent::Seen {
                notebook: Some(nb), ..
            },
            ActionEvent::Answered {
                result: Err(why), ..
            },
        ] => {
            assert_eq!(nb.status_or_unknown(), Status::Stopping);
            assert!(why.contains("the service may have acted"), "{why}");
            assert!(why.contains("now STOPPING (read just now)"), "{why}");
        }
        other => panic!("unexpected events: {other:?}"),
    }
}
