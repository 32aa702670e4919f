//! HTTP tests of fault injection: each fault answered as specified, switched at
//! start, through the handle, and through the control endpoint.

use std::time::{Duration, Instant};

use crate::support::sim::*;
use nbwatch::sim::{Fault, SimConfig};

fn faults(specs: &[&str]) -> Vec<Fault> {
    specs.iter().map(|s| s.parse().unwrap()).collect()
}

#[tokio::test]
async fn server_error_then_recovery() {
    let sim = start(SimConfig {
        faults: faults(&["500:count=2"]),
        ..SimConfig::manual_at(T0)
    })
    .await;
    for _ in 0..2 {
        let r = list(&sim, &[]).await;
        assert_eq!((r.status, r.error_code().as_str()), (500, "ModelArts.0010"));
        assert_eq!(r.request_id().len(), 32, "errors carry a request id too");
    }
    assert_eq!(list(&sim, &[]).await.status, 200);
    assert!(sim.faults().is_empty(), "spent faults retire");
}

#[tokio::test]
async fn throttling_says_when_to_retry() {
    let sim = manual(10).await;
    sim.set_faults(&faults(&["429:retry-after=3:count=1"]));
    let r = list(&sim, &[]).await;
    assert_eq!((r.status, r.error_code().as_str()), (429, "APIGW.0308"));
    assert_eq!(r.headers["retry-after"], "3");
    assert_eq!(list(&sim, &[]).await.status, 200);
}

#[tokio::test]
async fn malformed_json_is_a_200_that_does_not_parse() {
    let sim = manual(10).await;
    sim.set_faults(&faults(&["malformed:count=1"]));
    let r = list(&sim, &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.text.starts_with("{\"current\""));
    assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_err());
    assert!(serde_json::from_str::<serde_json::Value>(&list(&sim, &[]).await.text).is_ok());
}

#[tokio::test]
async fn truncation_cut_is_a_short_valid_length_body_that_does_not_parse() {
    let sim = manual(30).await;
    let whole = list(&sim, &[]).await.text;
    sim.set_faults(&faults(&["truncated:cl=cut:count=1"]));
    let r = list(&sim, &[]).await;
    assert_eq!(r.status, 200);
    let declared: usize = r.headers["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(declared, r.text.len());
    assert!(r.text.len() < whole.len());
    assert!(whole.starts_with(&r.text), "a prefix of the real answer");
    let err = serde_json::from_str::<serde_json::Value>(&r.text).unwrap_err();
    assert!(err.is_eof(), "{err}");
}

#[tokio::test]
async fn truncation_full_drops_the_connection_mid_body() {
    let sim = manual(30).await;
    sim.set_faults(&faults(&["truncated:count=1"]));
    let url = format!("{}{}", sim.endpoint(), all_path(&sim));
    let resp = client()
        .get(url)
        .header("X-Auth-Token", nbwatch::sim::DEMO_TOKEN)
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(resp.status(), 200);
    let declared = resp.content_length().expect("a declared length");
    assert!(declared > 1000);
    let body = resp.bytes().await;
    assert!(
        body.is_err(),
        "the client sees a body error, got {:?}",
        body.map(|b| b.len())
    );
    assert_eq!(
        list(&sim, &[]).await.status,
        200,
        "the next answer is whole"
    );
}

#[tokio::test]
async fn html_502_from_a_proxy() {
    let sim = manual(10).await;
    sim.set_faults(&faults(&["html502:count=1"]));
    let r = list(&sim, &[]).await;
    assert_eq!(r.status, 502);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text.contains("<title>502 Bad Gateway</title>") && r.text.contains("nginx"));
}

#[tokio::test]
async fn hang_holds_the_answer() {
    let sim = manual(10).await;
    sim.set_faults(&faults(&["hang"]));
    let url = format!("{}{}", sim.endpoint(), all_path(&sim));
    let res = client()
        .get(&url)
        .header("X-Auth-Token", nbwatch::sim::DEMO_TOKEN)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(res.unwrap_err().is_timeout(), "never answers");
    // A bounded hang answers, late.
    sim.set_faults(&faults(&["hang:ms=150:count=1"]));
    let t = Instant::now();
    assert_eq!(list(&sim, &[]).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
    // Shutdown does not wait for a hanging request.
    sim.set_faults(&faults(&["hang"]));
    let pending = tokio::spawn(
        client()
            .get(url)
            .header("X-Auth-Token", nbwatch::sim::DEMO_TOKEN)
            .send(),
    );
    while sim.request_count() < 3 {
        tokio::task::yield_now().await;
    }
    sim.shutdown(Duration::from_secs(5)).await;
    let r = pending.await.unwrap();
    assert!(r.map(|r| r.status().as_u16()).unwrap_or(503) == 503);
}

#[tokio::test]
async fn flapping_fails_every_nth_request() {
    let sim = manual(10).await;
    sim.set_faults(&faults(&["flap:3"]));
    let mut statuses = Vec::new();
    for _ in 0..9 {
        statuses.push(list(&sim, &[]).await.status);
    }
    assert_eq!(statuses, [200, 200, 500, 200, 200, 500, 200, 200, 500]);
}

#[tokio::test]
async fn latency_is_added() {
    let sim = start(SimConfig {
        latency_ms: 50,
        faults: faults(&["latency:100:count=1"]),
        ..SimConfig::manual_at(T0)
    })
    .await;
    let t = Instant::now();
    assert_eq!(list(&sim, &[]).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
    let t = Instant::now();
    assert_eq!(list(&sim, &[]).await.status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(50),
        "base latency stays"
    );
}

#[tokio::test]
async fn drift_moves_total_between_pages() {
    let sim = manual(60).await;
    let before = list(&sim, &[]).await.json();
    sim.set_faults(&faults(&["drift"]));
    let p1 = list(&sim, &[("offset", "0")]).await.json();
    let p2 = list(&sim, &[("offset", "10")]).await.json();
    let t0 = before["total"].as_u64().unwrap();
    assert_eq!(
        p1["total"].as_u64().unwrap(),
        t0 + 1,
        "an instance appeared"
    );
    assert_eq!(p2["total"].as_u64().unwrap(), t0, "an instance disappeared");
    // The newcomer sorts first and shifts the pages.
    assert_ne!(p1["data"][0]["id"], before["data"][0]["id"]);
}

#[tokio::test]
async fn control_endpoint_sets_lists_and_clears_faults() {
    let sim = manual(10).await;
    let r = control(&sim, "POST", "/_sim/faults?spec=500:count=1", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["faults"][0]["spec"], "500:count=1");
    let r = control(&sim, "POST", "/_sim/faults", r#"["latency:5", "flap:2"]"#).await;
    assert_eq!(r.json()["faults"].as_array().unwrap().len(), 3);
    let r = control(
        &sim,
        "POST",
        "/_sim/faults",
        r#"{"faults": ["429:retry-after=1"]}"#,
    )
    .await;
    assert_eq!(r.json()["faults"].as_array().unwrap().len(), 4);
    let r = control(&sim, "PUT", "/_sim/faults", "html502:count=2 drift").await;
    let listed = r.json();
    assert_eq!(listed["faults"][0]["spec"], "html502:count=2");
    assert_eq!(listed["faults"][0]["remaining"], 2);
    assert_eq!(listed["faults"][1]["spec"], "drift");
    assert_eq!(list(&sim, &[]).await.status, 502);
    let r = control(&sim, "GET", "/_sim/faults", "").await.json();
    assert_eq!(r["faults"][0]["fired"], 1);
    assert_eq!(r["faults"][0]["remaining"], 1);
    let r = control(&sim, "POST", "/_sim/faults?spec=teapot", "").await;
    assert_eq!((r.status, r.error_code().as_str()), (400, "SIM.0001"));
    assert!(r.json()["error_msg"].as_str().unwrap().contains("flap:N"));
    let r = control(&sim, "DELETE", "/_sim/faults", "").await;
    assert_eq!(r.json()["faults"].as_array().unwrap().len(), 0);
    assert_eq!(list(&sim, &[]).await.status, 200);
    sim.add_faults(&faults(&["500:count=1"]));
    sim.clear_faults();
    assert_eq!(list(&sim, &[]).await.status, 200);
    assert_eq!(control(&sim, "GET", "/_sim/nothing", "").await.status, 404);
}

#[tokio::test]
async fn faults_come_before_auth_so_any_client_sees_them() {
    let sim = manual(10).await;
    sim.set_faults(&faults(&["500:count=1"]));
    let r = send(&sim, "GET", &all_path(&sim), &[], &Auth::none()).await;
    assert_eq!(r.status, 500);
    let r = send(&sim, "GET", &all_path(&sim), &[], &Auth::none()).await;
    assert_eq!(r.status, 401);
}
