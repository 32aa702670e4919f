//! Authentication faults, through the library (the dashboard's poller) and the binary
//! (`nbwatch list`): a wrong SK or AK costs exactly one request and then polling stops
//! until the user asks again (five bad signatures would lock the AK); a clock off by
//! more than 15 minutes is named as such; an invalid IAM token is named as such.

use std::sync::Arc;
use std::time::Duration;

use crate::support::home::{Home, Out, nbwatch};
use crate::support::sim::T0;
use nbwatch::api::sign::AkSk;
use nbwatch::api::{ApiError, Auth, Client, ClientOptions, ListQuery, RetryPolicy};
use nbwatch::app::{self, App, Freshness};
use nbwatch::secret::Secret;
use nbwatch::sim::{SimConfig, SimHandle};
use nbwatch::watch::{self, ClientSource, Control, Handle, Message, PollerConfig};

const INTERVAL: Duration = Duration::from_millis(40);

async fn sim() -> SimHandle {
    crate::support::sim::start(SimConfig {
        instances: 6,
        ..SimConfig::manual_at(T0)
    })
    .await
}

/// A simulator whose wall clock runs `secs` ahead of this machine's (`--clock-skew`).
async fn skewed_sim(secs: i64) -> SimHandle {
    crate::support::sim::start(SimConfig {
        instances: 6,
        clock_skew_secs: secs,
        ..SimConfig::manual_at(T0)
    })
    .await
}

fn aksk(ak: &str, sk: &str) -> Auth {
    Auth::AkSk(AkSk {
        ak: ak.into(),
        sk: Secret::new(sk),
        security_token: None,
    })
}

fn right(sim: &SimHandle) -> Auth {
    let (ak, sk) = sim.credentials();
    aksk(&ak, sk.expose())
}

/// A poller as the dashboard builds it (one retry per poll), polling every 40 ms.
fn poller(sim: &SimHandle, auth: Auth, clock_offset_secs: i64) -> Handle {
    crate::support::sim::init();
    let mut o = ClientOptions::new(sim.endpoint(), sim.project_id(), auth);
    o.retry = RetryPolicy {
        max_retries: 1,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
    };
    o.clock_offset_secs = clock_offset_secs;
    let client = Client::new(o).unwrap();
    watch::spawn(
        Arc::new(ClientSource::new(client, ListQuery::default())),
        PollerConfig {
            interval: INTERVAL,
            fast_interval: INTERVAL,
            budget_per_minute: 100_000,
            max_backoff: Duration::from_millis(200),
        },
    )
}

async fn outcome(h: &mut Handle) -> Message {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), h.messages.recv())
            .await
            .expect("a report in time")
            .expect("poller alive");
        if !matches!(
            m,
            Message::Started | Message::Page { .. } | Message::Hot { .. }
        ) {
            return m;
        }
    }
}

/// Expects an authentication failure that stops polling; returns the error after
/// checking the dashboard state says so.
async fn expect_auth_stop(h: &mut Handle, consecutive: u32) -> ApiError {
    let m = outcome(h).await;
    let Message::Failed {
        error,
        consecutive: c,
        next_in,
        ..
    } = m
    else {
        panic!("expected a failure: {m:?}")
    };
    assert_eq!(error.status(), Some(401), "{error}");
    assert_eq!(c, consecutive);
    assert_eq!(next_in, None, "polling stops: no next poll is scheduled");
    let mut app = App::new(app::Timing {
        interval: INTERVAL,
        stuck_after: Duration::from_secs(600),
    });
    let failed = Message::Failed {
        error: error.clone(),
        consecutive: c,
        next_in,
        stats: Default::default(),
    };
    app.apply_all([(nbwatch::track::SourceId(0), failed)], T0);
    assert_eq!(app.freshness(T0), Freshness::AuthStopped { age_ms: None });
    let shown = app.poll().last_error.clone().unwrap();
    assert!(shown.auth);
    assert_eq!(shown.short_code(), "401 APIGW.0301");
    assert_eq!(shown.hint, error.hint());
    error
}

/// One request, then silence for many intervals; `RefreshNow` sends exactly one more.
async fn one_request_then_stop(auth: Auth) -> ApiError {
    let sim = sim().await;
    let mut h = poller(&sim, auth, 0);
    let e = expect_auth_stop(&mut h, 1).await;
    assert!(!e.is_retryable());
    // Twenty-five intervals of silence: no retry storm, no in-poll retry either.
    tokio::time::sleep(INTERVAL * 25).await;
    assert_eq!(sim.request_count(), 1, "exactly one request");
    assert!(h.messages.try_recv().is_err(), "no further poll started");
    // The user presses r: one more attempt, and it stops again.
    h.commands.send(Control::RefreshNow).unwrap();
    expect_auth_stop(&mut h, 2).await;
    tokio::time::sleep(INTERVAL * 10).await;
    assert_eq!(sim.request_count(), 2);
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_sk_is_one_request_then_polling_stops_until_refresh() {
    let sim = sim().await;
    let (ak, _) = sim.credentials();
    drop(sim);
    let e = one_request_then_stop(aksk(&ak, "not-the-secret-key-0000000000")).await;
    assert!(e.message().contains("verify aksk signature fail"), "{e}");
    assert!(e.hint().unwrap().contains("check the AK/SK pair"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ak_is_one_request_then_polling_stops_until_refresh() {
    let e = one_request_then_stop(aksk("NOSUCHACCESSKEY00000", nbwatch::sim::DEMO_SK)).await;
    assert!(e.message().contains("unknown access key"), "{e}");
    assert!(e.hint().unwrap().contains("check the AK/SK pair"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_iam_token_is_named_and_stops_polling() {
    let e = one_request_then_stop(Auth::Token(Secret::new("expired-iam-token"))).await;
    assert!(
        e.message().contains("token has expired or is invalid"),
        "{e}"
    );
    let hint = e.hint().unwrap();
    assert!(hint.contains("IAM token is invalid or expired"), "{hint}");
    assert!(hint.contains("NBWATCH_AUTH_TOKEN"), "{hint}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_an_hour_behind_is_diagnosed_as_the_clock() {
    let sim = sim().await;
    let mut h = poller(&sim, right(&sim), -3600);
    let e = expect_auth_stop(&mut h, 1).await;
    let hint = e.hint().unwrap();
    // The server's Date header is whole seconds: 59m59s..1h00m01s.
    assert!(
        hint.contains("clock is 1h00m behind") || hint.contains("clock is 59m59s behind"),
        "{hint}"
    );
    assert!(hint.contains("fix the clock (NTP)"), "{hint}");
    assert!(e.message().contains("check the local clock"), "{e}");
    assert_eq!(sim.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_twenty_minutes_ahead_is_diagnosed_and_ten_minutes_is_fine() {
    let sim = sim().await;
    let mut h = poller(&sim, right(&sim), 20 * 60);
    let e = expect_auth_stop(&mut h, 1).await;
    let hint = e.hint().unwrap();
    assert!(hint.contains("ahead of the server's"), "{hint}");
    assert!(
        hint.contains("clock is 20m0") || hint.contains("clock is 19m59s"),
        "{hint}"
    );
    // Within the gateway's 15 minutes the signature is accepted.
    let mut ok = poller(&sim, right(&sim), -10 * 60);
    let m = outcome(&mut ok).await;
    assert!(matches!(m, Message::Snapshot { .. }), "{m:?}");
}

// ---- the binary -------------------------------------------------------------------

/// `nbwatch list` against the simulator with credentials from the environment.
fn list(sim: &SimHandle, env: &[(&str, &str)]) -> Out {
    let home = Home::new("auth");
    let ep = sim.endpoint();
    let out = nbwatch(
        &home,
        &["--endpoint", &ep, "--project-id", sim.project_id(), "list"],
        env,
    );
    out.assert_no_panic();
    out
}

/// A failed `list`: exit 1, nothing on stdout, one line on stderr.
fn one_line_failure(out: &Out) -> &str {
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "one line: {:?}", out.stderr);
    let line = out.stderr.trim_end();
    assert!(line.starts_with("nbwatch: HTTP 401 APIGW.0301: "), "{line}");
    line
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_with_a_wrong_sk_fails_in_one_request_with_one_line() {
    let sim = sim().await;
    let (ak, _) = sim.credentials();
    let out = list(
        &sim,
        &[
            ("HUAWEICLOUD_SDK_AK", &ak),
            ("HUAWEICLOUD_SDK_SK", "not-the-secret-key-0000000000"),
        ],
    );
    let line = one_line_failure(&out);
    assert!(line.contains("verify aksk signature fail"), "{line}");
    assert!(line.contains("hint: check the AK/SK pair"), "{line}");
    assert!(line.contains("(request id "), "{line}");
    assert_eq!(sim.request_count(), 1, "never retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_with_a_wrong_ak_fails_in_one_request_with_one_line() {
    let sim = sim().await;
    let out = list(
        &sim,
        &[
            ("HUAWEICLOUD_SDK_AK", "NOSUCHACCESSKEY00000"),
            ("HUAWEICLOUD_SDK_SK", nbwatch::sim::DEMO_SK),
        ],
    );
    let line = one_line_failure(&out);
    assert!(line.contains("unknown access key"), "{line}");
    assert_eq!(sim.request_count(), 1, "never retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_with_a_skewed_clock_names_the_clock() {
    // A gateway whose clock is two hours ahead of this machine's.
    let sim = skewed_sim(7200).await;
    let (ak, sk) = sim.credentials();
    let creds = [
        ("HUAWEICLOUD_SDK_AK", ak.as_str()),
        ("HUAWEICLOUD_SDK_SK", sk.expose()),
    ];
    let out = list(&sim, &creds);
    let line = one_line_failure(&out);
    assert!(
        line.contains("hint: this machine's clock is 2h00m behind")
            || line.contains("hint: this machine's clock is 1h59m behind"),
        "{line}"
    );
    assert_eq!(sim.request_count(), 1);
    // Five minutes off (this machine ahead) is within the gateway's tolerance.
    let sim = skewed_sim(-300).await;
    let (ak, sk) = sim.credentials();
    let creds = [
        ("HUAWEICLOUD_SDK_AK", ak.as_str()),
        ("HUAWEICLOUD_SDK_SK", sk.expose()),
    ];
    let out = list(&sim, &creds);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.lines().count() > 1, "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_with_an_invalid_iam_token_names_the_token() {
    let sim = sim().await;
    let out = list(&sim, &[("NBWATCH_AUTH_TOKEN", "expired-iam-token-value")]);
    let line = one_line_failure(&out);
    assert!(
        line.contains("hint: the IAM token is invalid or expired"),
        "{line}"
    );
    assert!(line.contains("NBWATCH_AUTH_TOKEN"), "{line}");
    assert_eq!(sim.request_count(), 1);
    // The right token works.
    let out = list(&sim, &[("NBWATCH_AUTH_TOKEN", nbwatch::sim::DEMO_TOKEN)]);
    assert_eq!(out.code, Some(0), "{out:?}");
}
