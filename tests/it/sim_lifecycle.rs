//! HTTP tests of the living data: a driven clock moves instances through their
//! lifecycle, the same seed replays the same history, the demo is lively, and a
//! population of 10,000 is served.

use std::time::{Duration, Instant};

use crate::support::sim::*;
use nbwatch::sim::SimConfig;
use serde_json::Value;

async fn by_id(sim: &nbwatch::sim::SimHandle, id: &str) -> Option<Value> {
    let r = list(sim, &[("id", id)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["data"].as_array().unwrap().first().cloned()
}

#[tokio::test]
async fn a_lease_running_out_stops_the_instance_as_time_is_driven() {
    let sim = manual(200).await;
    let running = list_all(&sim, &[("status", "RUNNING")]).await;
    let lease_end = |n: &Value| {
        n["lease"]["create_at"].as_i64().unwrap() + n["lease"]["duration"].as_i64().unwrap()
    };
    let target = running
        .iter()
        .filter(|n| n["lease"]["enable"] == true)
        .min_by_key(|n| lease_end(n))
        .expect("a running instance with a lease")
        .clone();
    let id = target["id"].as_str().unwrap();
    let end = lease_end(&target);
    assert!(
        end > T0 && end - T0 < 15 * 60_000,
        "some lease ends within minutes"
    );

    // Drive the clock through the control endpoint up to the lease end.
    let r = control(&sim, "POST", &format!("/_sim/advance?ms={}", end - T0), "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["now_ms"], end);
    let n = by_id(&sim, id).await.unwrap();
    // Either the lease stopped it now, or something else happened first.
    if n["status"] == "STOPPING" {
        assert_eq!(n["update_at"], end);
    } else {
        assert_ne!(n["status"], "RUNNING", "a RUNNING lease past its end");
    }
    sim.advance(60_000);
    let n = by_id(&sim, id).await.unwrap();
    assert!(
        ["STOPPED", "STARTING", "ERROR", "SNAPSHOTTING", "STOPPING"]
            .contains(&n["status"].as_str().unwrap())
    );
    assert!(n["update_at"].as_i64().unwrap() > target["update_at"].as_i64().unwrap());
    let bad = control(&sim, "POST", "/_sim/advance", "").await;
    assert_eq!((bad.status, bad.error_code().as_str()), (400, "SIM.0001"));
}

#[tokio::test]
async fn statuses_change_over_a_driven_day_and_instances_come_and_go() {
    let sim = manual(100).await;
    let before = list_all(&sim, &[]).await;
    let mut seen_new = false;
    let mut seen_gone = false;
    for _ in 0..24 {
        sim.advance(3_600_000);
        let now = list_all(&sim, &[]).await;
        seen_new |= now
            .iter()
            .any(|n| !before.iter().any(|b| b["id"] == n["id"]));
        seen_gone |= before
            .iter()
            .any(|b| !now.iter().any(|n| n["id"] == b["id"]));
    }
    assert!(seen_new, "new instances appear");
    assert!(seen_gone, "deleted instances go away");
    let stats = sim.stats();
    assert_eq!(stats["now_ms"], T0 + 24 * 3_600_000);
    assert!(stats["by_status"]["RUNNING"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn the_same_seed_replays_the_same_history() {
    let a = manual(150).await;
    let b = manual(150).await;
    let c = start(SimConfig {
        instances: 150,
        seed: 2,
        ..SimConfig::manual_at(T0)
    })
    .await;
    assert_eq!(list_all(&a, &[]).await, list_all(&b, &[]).await);
    assert_ne!(list_all(&a, &[]).await, list_all(&c, &[]).await);
    // Different request patterns, same history.
    a.advance(3 * 3_600_000);
    for _ in 0..30 {
        b.advance(360_000);
        list(&b, &[]).await;
    }
    assert_eq!(list_all(&a, &[]).await, list_all(&b, &[]).await);
}

#[tokio::test]
async fn the_demo_changes_within_the_first_minute() {
    let sim = start(SimConfig {
        manual_clock: true,
        start_ms: Some(T0),
        ..SimConfig::demo()
    })
    .await;
    let creating = list_all(&sim, &[("status", "CREATING")]).await;
    let demo = creating
        .iter()
        .find(|n| n["name"] == "demo-创建中-gpu")
        .expect("the scripted creation")
        .clone();
    assert!(
        !list_all(&sim, &[("status", "CREATE_FAILED")])
            .await
            .is_empty()
    );
    assert!(!list_all(&sim, &[("status", "FROZEN")]).await.is_empty());
    let steps = |n: &Value| -> Vec<String> {
        n["action_progress"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        steps(&demo),
        ["PROCESSING", "WAITING", "WAITING", "WAITING"]
    );
    sim.advance(8_000);
    let mid = by_id(&sim, demo["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(mid["status"], "CREATING");
    assert_eq!(steps(&mid)[0], "COMPLETED");
    sim.advance(22_000);
    let done = by_id(&sim, demo["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(done["status"], "RUNNING", "running about 20 s after start");
    assert_eq!(steps(&done), ["COMPLETED"; 4]);
    assert_eq!(
        done["lease"]["create_at"], done["update_at"],
        "the lease starts when it runs"
    );
    sim.advance(30_000);
    let r = list_all(&sim, &[("name", "lease-ends-soon")]).await;
    assert!(["STOPPING", "STOPPED"].contains(&r[0]["status"].as_str().unwrap()));
    assert!(!list_all(&sim, &[("name", "just-created")]).await.is_empty());
}

#[tokio::test]
async fn a_real_clock_runs_at_the_requested_speed() {
    let sim = start(SimConfig {
        instances: 20,
        speed: 600.0,
        start_ms: Some(T0),
        ..SimConfig::default()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        sim.now_ms() >= T0 + 60_000,
        "600x: 100 ms is at least a minute"
    );
    sim.advance(3_600_000);
    assert!(sim.now_ms() >= T0 + 3_660_000);
}

#[tokio::test]
async fn ten_thousand_instances_are_served() {
    let t = Instant::now();
    let sim = start(SimConfig {
        instances: 10_000,
        ..SimConfig::manual_at(T0)
    })
    .await;
    let built = t.elapsed();
    let t = Instant::now();
    let first = list(&sim, &[("limit", "50")]).await;
    let p = first.json();
    assert_eq!(p["total"], 9_999);
    assert_eq!(p["pages"], 200);
    assert_eq!(p["data"].as_array().unwrap().len(), 50);
    let last = list(&sim, &[("limit", "50"), ("offset", "9950")])
        .await
        .json();
    assert_eq!(last["data"].as_array().unwrap().len(), 49);
    let filtered = list(
        &sim,
        &[
            ("status", "RUNNING"),
            ("sort_key", "name"),
            ("sort_dir", "ASC"),
        ],
    )
    .await
    .json();
    assert!(filtered["total"].as_u64().unwrap() > 3_000);
    sim.advance(600_000);
    assert_eq!(list(&sim, &[("limit", "50")]).await.status, 200);
    eprintln!(
        "10k: built in {built:?}, 4 pages served in {:?}",
        t.elapsed()
    );
}
