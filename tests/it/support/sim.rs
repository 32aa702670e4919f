//! Helpers shared by the simulator's HTTP tests: signed requests with reqwest.
#![allow(dead_code)]

use nbwatch::api::sign::{self, AkSk, RequestParts};
use nbwatch::secret::Secret;
use nbwatch::sim::{self, SimConfig, SimHandle};
use serde_json::Value;

/// 2026-11-28T08:30:00Z, where the manual clocks of the tests stand.
pub const T0: i64 = 1_795_854_600_000;

pub fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub async fn start(cfg: SimConfig) -> SimHandle {
    init();
    sim::spawn(cfg).await.expect("simulator starts")
}

/// A manual-clock simulator at T0 with `n` instances.
pub async fn manual(n: usize) -> SimHandle {
    start(SimConfig {
        instances: n,
        ..SimConfig::manual_at(T0)
    })
    .await
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn request_id(&self) -> String {
        self.headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }

    pub fn error_code(&self) -> String {
        self.json()["error_code"].as_str().unwrap_or("").to_string()
    }

    pub fn names(&self) -> Vec<String> {
        self.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn ids(&self) -> Vec<String> {
        self.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect()
    }
}

/// How to sign (or not) a test request.
#[derive(Clone, Debug)]
pub struct Auth {
    pub ak: String,
    pub sk: String,
    /// Unix seconds for X-Sdk-Date; None: now.
    pub date_secs: Option<i64>,
    pub token: Option<String>,
    pub sign: bool,
}

impl Auth {
    pub fn of(sim: &SimHandle) -> Auth {
        let (ak, sk) = sim.credentials();
        Auth {
            ak,
            sk: sk.expose().to_string(),
            date_secs: None,
            token: None,
            sign: true,
        }
    }

    pub fn token(t: &str) -> Auth {
        Auth {
            ak: String::new(),
            sk: String::new(),
            date_secs: None,
            token: Some(t.to_string()),
            sign: false,
        }
    }

    pub fn none() -> Auth {
        Auth {
            sign: false,
            ..Auth::token("")
        }
        .without_token()
    }

    fn without_token(mut self) -> Auth {
        self.token = None;
        self
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn client() -> reqwest::Client {
    init();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Sends `method path?query` signed as `auth` says.
pub async fn send(
    sim: &SimHandle,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    auth: &Auth,
) -> Resp {
    let query: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let http = client();
    let method_r = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let req = if auth.sign {
        let creds = AkSk {
            ak: auth.ak.clone(),
            sk: Secret::new(auth.sk.clone()),
            security_token: None,
        };
        let headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        let parts = RequestParts {
            method,
            scheme: "http",
            host: "127.0.0.1",
            port: Some(sim.addr.port()),
            path,
            query: &query,
            headers: &headers,
            body: b"",
            project_id: Some(sim.project_id()),
        };
        let date = sign::sdk_date(auth.date_secs.unwrap_or_else(now_secs));
        let signed = sign::sign(&parts, &creds, &date);
        let mut r = http.request(method_r, &signed.url);
        for (k, v) in &signed.headers {
            if k != "Host" {
                r = r.header(k, v);
            }
        }
        r
    } else {
        let mut url = format!("{}{}", sim.endpoint(), path);
        let q = sign::canonical_query(&query);
        if !q.is_empty() {
            url.push('?');
            url.push_str(&q);
        }
        let mut r = http.request(method_r, url);
        if let Some(t) = &auth.token {
            r = r.header("X-Auth-Token", t);
        }
        r
    };
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body read");
    Resp {
        status,
        headers,
        text,
    }
}

pub fn all_path(sim: &SimHandle) -> String {
    format!("/v1/{}/notebooks/all", sim.project_id())
}

pub fn own_path(sim: &SimHandle) -> String {
    format!("/v1/{}/notebooks", sim.project_id())
}

/// A signed GET of the listing.
pub async fn list(sim: &SimHandle, query: &[(&str, &str)]) -> Resp {
    send(sim, "GET", &all_path(sim), query, &Auth::of(sim)).await
}

/// Fetches every page (limit 50) of a listing.
pub async fn list_all(sim: &SimHandle, query: &[(&str, &str)]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    loop {
        let off = offset.to_string();
        let mut q: Vec<(&str, &str)> = query.to_vec();
        q.push(("limit", "50"));
        q.push(("offset", &off));
        let r = list(sim, &q).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.json();
        let data = page["data"].as_array().unwrap().clone();
        let total = page["total"].as_u64().unwrap() as usize;
        out.extend(data);
        offset += 50;
        if offset >= total {
            return out;
        }
    }
}

/// What `nbwatch list` prints without `--feature` or a sort: the `NOTEBOOK`
/// listing (the service's default) and the CodeLab (`DEFAULT`) one as one
/// listing, newest first (the service's default order: `create_at`, then id,
/// descending).
pub async fn list_all_kinds(sim: &SimHandle, query: &[(&str, &str)]) -> Vec<Value> {
    assert!(
        query.iter().all(|(k, _)| !k.starts_with("sort_")),
        "the default order only"
    );
    let mut out = list_all(sim, query).await;
    let mut codelab = query.to_vec();
    codelab.push(("feature", "DEFAULT"));
    out.extend(list_all(sim, &codelab).await);
    let key = |n: &Value| {
        (
            n["create_at"].as_i64(),
            n["id"].as_str().map(str::to_string),
        )
    };
    out.sort_by_key(|n| std::cmp::Reverse(key(n)));
    out
}

/// Plain control-endpoint call.
pub async fn control(sim: &SimHandle, method: &str, path_q: &str, body: &str) -> Resp {
    let http = client();
    let resp = http
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{}", sim.endpoint(), path_q),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    Resp {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        text: resp.text().await.unwrap(),
    }
}
