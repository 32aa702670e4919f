//! HTTP tests of the simulator's gateway authentication.

use crate::support::sim::*;
use nbwatch::api::sign::{self, AkSk, RequestParts};
use nbwatch::secret::Secret;
use nbwatch::sim::{DEMO_TOKEN, SimConfig};

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn msg(r: &Resp) -> String {
    r.json()["error_msg"].as_str().unwrap_or("").to_string()
}

#[tokio::test]
async fn a_correct_signature_is_accepted_with_any_query() {
    let sim = manual(40).await;
    let r = list(
        &sim,
        &[
            ("name", "中文 *+~/=&x:y"),
            ("limit", "20"),
            ("sort_key", "name,status"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = send(&sim, "GET", &own_path(&sim), &[], &Auth::of(&sim)).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn signature_problems_are_401_apigw_0301() {
    let sim = manual(10).await;
    let good = Auth::of(&sim);

    let bad_sk = Auth {
        sk: "wrong-secret".into(),
        ..good.clone()
    };
    let r = list_as(&sim, &bad_sk).await;
    assert_eq!((r.status, r.error_code().as_str()), (401, "APIGW.0301"));
    assert!(
        msg(&r).contains("verify aksk signature fail"),
        "{}",
        msg(&r)
    );

    let bad_ak = Auth {
        ak: "UNKNOWNAK0000000000X".into(),
        ..good.clone()
    };
    let r = list_as(&sim, &bad_ak).await;
    assert_eq!((r.status, r.error_code().as_str()), (401, "APIGW.0301"));
    assert!(msg(&r).contains("Incorrect IAM authentication information"));

    let r = list_as(&sim, &Auth::none()).await;
    assert_eq!((r.status, r.error_code().as_str()), (401, "APIGW.0301"));
    assert!(msg(&r).contains("missing"), "{}", msg(&r));

    for (offset, word) in [(-20 * 60, "behind"), (16 * 60, "ahead of")] {
        let skewed = Auth {
            date_secs: Some(now_secs() + offset),
            ..good.clone()
        };
        let r = list_as(&sim, &skewed).await;
        assert_eq!((r.status, r.error_code().as_str()), (401, "APIGW.0301"));
        let m = msg(&r);
        assert!(
            m.contains("X-Sdk-Date") && m.contains(word) && m.contains("clock"),
            "{m}"
        );
    }
    // Within 15 minutes is fine.
    let near = Auth {
        date_secs: Some(now_secs() - 10 * 60),
        ..good.clone()
    };
    assert_eq!(list_as(&sim, &near).await.status, 200);
}

async fn list_as(sim: &nbwatch::sim::SimHandle, auth: &Auth) -> Resp {
    send(sim, "GET", &all_path(sim), &[("limit", "10")], auth).await
}

/// Signs one request and sends another URL or header set with that signature.
async fn send_signed_then_tamper(
    sim: &nbwatch::sim::SimHandle,
    tamper: impl FnOnce(&mut String, &mut Vec<(String, String)>),
) -> Resp {
    let (ak, sk) = sim.credentials();
    let query = vec![
        ("limit".to_string(), "10".to_string()),
        ("status".to_string(), "RUNNING".to_string()),
    ];
    let headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    let path = all_path(sim);
    let parts = RequestParts {
        method: "GET",
        scheme: "http",
        host: "127.0.0.1",
        port: Some(sim.addr.port()),
        path: &path,
        query: &query,
        headers: &headers,
        body: b"",
        project_id: Some(sim.project_id()),
    };
    let creds = AkSk {
        ak,
        sk: Secret::new(sk.expose()),
        security_token: None,
    };
    let signed = sign::sign(&parts, &creds, &sign::sdk_date(now_secs()));
    let mut url = signed.url.clone();
    let mut hs = signed.headers.clone();
    tamper(&mut url, &mut hs);
    let mut req = client().get(&url);
    for (k, v) in &hs {
        if k != "Host" {
            req = req.header(k, v);
        }
    }
    let resp = req.send().await.unwrap();
    Resp {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        text: resp.text().await.unwrap(),
    }
}

#[tokio::test]
async fn tampering_with_a_signed_request_is_caught() {
    let sim = manual(10).await;
    let r = send_signed_then_tamper(&sim, |_, _| {}).await;
    assert_eq!(r.status, 200, "untampered passes: {}", r.text);
    let r = send_signed_then_tamper(&sim, |u, _| *u = u.replace("RUNNING", "STOPPED")).await;
    assert_eq!((r.status, r.error_code().as_str()), (401, "APIGW.0301"));
    let r = send_signed_then_tamper(&sim, |u, _| u.push_str("&offset=10")).await;
    assert_eq!(r.status, 401);
    let r = send_signed_then_tamper(&sim, |_, h| {
        for (k, v) in h.iter_mut() {
            if k == "Content-Type" {
                *v = "text/plain".into();
            }
        }
    })
    .await;
    assert_eq!(r.status, 401, "a signed header changed");
    let r = send_signed_then_tamper(&sim, |_, h| h.retain(|(k, _)| k != "X-Sdk-Date")).await;
    assert_eq!(r.status, 401);
    assert!(msg(&r).contains("X-Sdk-Date"));
    let r = send_signed_then_tamper(&sim, |_, h| {
        for (k, v) in h.iter_mut() {
            if k == "X-Sdk-Date" {
                *v = "2026-11-28 08:30".into();
            }
        }
    })
    .await;
    assert_eq!(r.status, 401);
    assert!(msg(&r).contains("malformed"), "{}", msg(&r));
    // Reordering the query does not matter: the canonical form is rebuilt.
    let r = send_signed_then_tamper(&sim, |u, _| {
        *u = u.replace("limit=10&status=RUNNING", "status=RUNNING&limit=10")
    })
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn token_auth() {
    let sim = manual(10).await;
    let r = list_as(&sim, &Auth::token(DEMO_TOKEN)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = list_as(&sim, &Auth::token("some-old-token")).await;
    assert_eq!((r.status, r.error_code().as_str()), (401, "APIGW.0301"));
    assert!(msg(&r).contains("token has expired or is invalid"));
    let custom = start(SimConfig {
        token: Secret::new("tok-xyz"),
        ..SimConfig::manual_at(T0)
    })
    .await;
    assert_eq!(list_as(&custom, &Auth::token("tok-xyz")).await.status, 200);
    assert_eq!(list_as(&custom, &Auth::token(DEMO_TOKEN)).await.status, 401);
}

#[tokio::test]
async fn a_foreign_project_id_is_403_after_auth() {
    let sim = manual(10).await;
    let path = "/v1/0123456789abcdef0123456789abcdef/notebooks/all";
    let r = send(&sim, "GET", path, &[], &Auth::of(&sim)).await;
    assert_eq!((r.status, r.error_code().as_str()), (403, "ModelArts.0108"));
    assert!(msg(&r).contains("0123456789abcdef0123456789abcdef"));
    // Unauthenticated callers learn nothing about projects.
    let r = send(&sim, "GET", path, &[], &Auth::none()).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn every_request_is_counted_once() {
    let sim = manual(10).await;
    assert_eq!(sim.request_count(), 0);
    let r = list_as(
        &sim,
        &Auth {
            sk: "bad".into(),
            ..Auth::of(&sim)
        },
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(sim.request_count(), 1, "exactly one request after a 401");
    list(&sim, &[]).await;
    send(&sim, "GET", "/nowhere", &[], &Auth::none()).await;
    control(&sim, "GET", "/_sim/stats", "").await;
    assert_eq!(sim.request_count(), 3, "control calls are not API requests");
    let stats = control(&sim, "GET", "/_sim/stats", "").await.json();
    assert_eq!(stats["requests"], 3);
    assert_eq!(stats["control_requests"], 2);
}
