//! The client over real HTTP against the in-process simulator: paging, every
//! filter, and every error a user can meet, each with its typed error, hint and
//! the number of requests the server actually saw.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::support::sim::*;
use nbwatch::api::sign::AkSk;
use nbwatch::api::{
    ApiError, Auth, Client, ClientOptions, ListQuery, Listing, PageSize, RetryPolicy,
    WorkspaceParam,
};
use nbwatch::secret::Secret;
use nbwatch::sim::{Fault, SimConfig, SimHandle};
use serde_json::Value;

/// A population big enough for several pages at every page size.
const POPULATION: usize = 237;

fn faults(specs: &[&str]) -> Vec<Fault> {
    specs.iter().map(|s| s.parse().unwrap()).collect()
}

/// Retries fast enough for a test suite.
fn fast_retry(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    }
}

fn aksk(ak: &str, sk: &str) -> Auth {
    Auth::AkSk(AkSk {
        ak: ak.to_string(),
        sk: Secret::new(sk),
        security_token: None,
    })
}

/// Options for the simulator's own credentials, with fast retries.
fn opts(sim: &SimHandle) -> ClientOptions {
    let (ak, sk) = sim.credentials();
    let mut o = ClientOptions::new(sim.endpoint(), sim.project_id(), aksk(&ak, sk.expose()));
    o.retry = fast_retry(3);
    o.timeout = Duration::from_secs(5);
    o
}

fn client(o: ClientOptions) -> Client {
    Client::new(o).expect("client builds")
}

fn query(page_size: u32) -> ListQuery {
    ListQuery {
        page_size: PageSize::new(page_size).unwrap(),
        ..Default::default()
    }
}

/// Requests one sweep takes for `n` instances: the first page, then pages
/// overlapping the one before by two instances.
fn sweep_pages(n: usize, page_size: u32) -> u64 {
    let (n, l) = (n as u64, u64::from(page_size));
    if n <= l {
        1
    } else {
        1 + (n - l).div_ceil(l - 2)
    }
}

fn ids(l: &Listing) -> Vec<String> {
    l.notebooks
        .iter()
        .map(|n| n.id.clone().expect("every instance has an id"))
        .collect()
}

fn raw_ids(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

fn assert_unique(ids: &[String]) {
    let set: HashSet<&String> = ids.iter().collect();
    assert_eq!(set.len(), ids.len(), "an id came twice");
}

/// Fetches everything, and returns the listing with the requests the server saw.
async fn fetch(sim: &SimHandle, c: &Client, q: &ListQuery) -> (Result<Listing, ApiError>, u64) {
    let before = sim.request_count();
    let r = c.fetch_all(q).await;
    (r, sim.request_count() - before)
}

/// One page, and the requests the server saw.
async fn fetch_one(sim: &SimHandle, c: &Client, q: &ListQuery) -> (Result<(), ApiError>, u64) {
    let before = sim.request_count();
    let r = c.fetch_page(q, 0).await.map(|_| ());
    (r, sim.request_count() - before)
}

fn http_parts(e: &ApiError) -> (u16, String, String) {
    match e {
        ApiError::Http(h) => (
            h.status,
            h.code.clone().unwrap_or_default(),
            h.request_id.clone().unwrap_or_default(),
        ),
        other => panic!("expected an HTTP error, got {other:?}"),
    }
}

fn hint(e: &ApiError) -> String {
    e.hint().unwrap_or_else(|| panic!("no hint for {e:?}"))
}

/// Every error line is one line with its request id (when the server gave one).
fn assert_one_line(e: &ApiError) {
    let s = e.to_string();
    assert!(!s.contains('\n'), "{s}");
    if let Some(id) = e.request_id() {
        assert!(s.contains(&format!("(request id {id})")), "{s}");
    }
}

// ---------------------------------------------------------------- paging

#[tokio::test]
async fn every_page_size_and_concurrency_reads_everything_once_in_order() {
    let sim = manual(POPULATION).await;
    let reference = raw_ids(&list_all(&sim, &[]).await);
    assert!(reference.len() > 200, "{} instances", reference.len());
    assert_unique(&reference);

    for page_size in [10u32, 20, 50] {
        for concurrency in [1usize, 4, 8] {
            let mut o = opts(&sim);
            o.concurrency = concurrency;
            let c = client(o);
            let (listing, seen) = fetch(&sim, &c, &query(page_size)).await;
            let listing = listing.unwrap();
            let what = format!("page size {page_size}, concurrency {concurrency}");
            assert_eq!(ids(&listing), reference, "{what}");
            let pages = sweep_pages(reference.len(), page_size);
            assert_eq!(listing.requests, pages, "{what}");
            assert_eq!(seen, pages, "{what}: requests the server saw");
            assert_eq!(listing.passes, 1, "{what}");
            assert_eq!(listing.total, Some(reference.len() as i64), "{what}");
        }
    }
}

#[tokio::test]
async fn a_listing_ending_on_a_page_boundary_takes_no_extra_request() {
    // Empty, short, and exactly five full pages (the CodeLab instance is not listed).
    for (n, notebooks) in [(0usize, 0usize), (1, 0), (12, 11), (51, 50)] {
        let sim = manual(n).await;
        assert_eq!(list_all(&sim, &[]).await.len(), notebooks, "{n}");
        let c = client(opts(&sim));
        let (listing, seen) = fetch(&sim, &c, &query(10)).await;
        let listing = listing.unwrap();
        assert_eq!(listing.notebooks.len(), notebooks, "{n}");
        let pages = sweep_pages(notebooks, 10);
        assert_eq!((listing.requests, seen), (pages, pages), "{n}");
    }
}

// ---------------------------------------------------------------- filters

#[tokio::test]
async fn every_filter_reaches_the_server_and_filters() {
    let sim = manual(POPULATION).await;
    let everything = list_all(&sim, &[]).await;
    let c = client(opts(&sim));
    let run = |q: ListQuery| {
        let c = c.clone();
        async move {
            c.fetch_all(&q)
                .await
                .unwrap_or_else(|e| panic!("{q:?}: {e}"))
        }
    };
    // The expected listing: the unfiltered one, filtered here, in the same order.
    let want = |pred: &dyn Fn(&Value) -> bool| -> Vec<String> {
        raw_ids(
            &everything
                .iter()
                .filter(|n| pred(n))
                .cloned()
                .collect::<Vec<_>>(),
        )
    };
    let s = |n: &Value, k: &str| n[k].as_str().unwrap_or("").to_string();

    // status
    for status in ["RUNNING", "STOPPED", "CREATE_FAILED"] {
        let got = run(ListQuery {
            status: Some(status.into()),
            ..query(20)
        })
        .await;
        let expected = want(&|n| n["status"] == status);
        assert!(!expected.is_empty(), "{status}");
        assert_eq!(ids(&got), expected, "{status}");
    }

    // name: case-insensitive substring; spaces, '*' and non-ASCII are signed and verified
    for name in [
        "中文",
        "ÜBER-TEST",
        "LLM-fine",
        "my nb*中文",
        "a b",
        "*",
        "%2F&=+",
    ] {
        let got = run(ListQuery {
            name: Some(name.into()),
            ..query(10)
        })
        .await;
        let needle = name.to_lowercase();
        let expected = want(&|n| s(n, "name").to_lowercase().contains(&needle));
        assert_eq!(ids(&got), expected, "name {name:?}");
        if ["中文", "ÜBER-TEST", "LLM-fine"].contains(&name) {
            assert!(!expected.is_empty(), "name {name:?} matches something");
        }
    }

    // feature: DEFAULT is the CodeLab instance, and only it
    let codelab = run(ListQuery {
        feature: Some("DEFAULT".into()),
        ..query(10)
    })
    .await;
    assert_eq!(codelab.notebooks.len(), 1);
    let free = &codelab.notebooks[0];
    assert_eq!(free.feature.as_deref(), Some("DEFAULT"));
    assert_eq!(free.flavor.as_deref(), Some("modelarts.vm.cpu.free"));
    assert!(!raw_ids(&everything).contains(free.id.as_ref().unwrap()));
    let notebook = run(ListQuery {
        feature: Some("NOTEBOOK".into()),
        ..query(50)
    })
    .await;
    assert_eq!(ids(&notebook), raw_ids(&everything));

    // pool_id
    let pool = everything
        .iter()
        .find_map(|n| n["pool"]["id"].as_str())
        .expect("some instance runs on a pool")
        .to_string();
    let got = run(ListQuery {
        pool_id: Some(pool.clone()),
        ..query(10)
    })
    .await;
    let expected = want(&|n| n["pool"]["id"] == pool.as_str());
    assert!(!expected.is_empty() && expected.len() < everything.len());
    assert_eq!(ids(&got), expected);

    // owner
    let owner = everything[0]["user"]["id"].as_str().unwrap().to_string();
    let got = run(ListQuery {
        owner: Some(owner.clone()),
        ..query(10)
    })
    .await;
    let expected = want(&|n| n["user"]["id"] == owner.as_str());
    assert!(expected.len() < everything.len());
    assert_eq!(ids(&got), expected);

    // workspace, both spellings
    let ws = everything
        .iter()
        .map(|n| s(n, "workspace_id"))
        .find(|w| w != "0")
        .expect("some instance lives in a named workspace");
    let expected = want(&|n| n["workspace_id"] == ws.as_str());
    for spelling in [
        WorkspaceParam::WorkspaceId,
        WorkspaceParam::WorkspaceIdCamel,
    ] {
        let got = run(ListQuery {
            workspace_id: Some(ws.clone()),
            workspace_param: spelling,
            ..query(10)
        })
        .await;
        assert_eq!(ids(&got), expected, "{spelling:?}");
    }

    // extra parameters (--param flavor=...)
    let mut q = query(10);
    q.push_param("flavor=modelarts.vm.gpu.t4").unwrap();
    let got = run(q).await;
    let expected = want(&|n| n["flavor"] == "modelarts.vm.gpu.t4");
    assert!(!expected.is_empty() && expected.len() < everything.len());
    assert_eq!(ids(&got), expected);
    let mut q = query(10);
    q.push_param("description=数据").unwrap();
    let got = run(q).await;
    let expected = want(&|n| s(n, "description").contains("数据"));
    assert!(!expected.is_empty());
    assert_eq!(ids(&got), expected);
}

#[tokio::test]
async fn sort_keys_and_direction_reach_the_server() {
    let sim = manual(POPULATION).await;
    let c = client(opts(&sim));
    let key = |n: &nbwatch::api::Notebook| (n.name.clone().unwrap(), n.create_at.unwrap());

    let asc = c
        .fetch_all(&ListQuery {
            sort_key: Some("name,create_at".into()),
            sort_dir: Some("ASC".into()),
            ..query(20)
        })
        .await
        .unwrap();
    let keys: Vec<_> = asc.notebooks.iter().map(key).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "ascending by name, then creation");
    assert!(keys.windows(2).any(|w| w[0].0 != w[1].0));

    let desc = c
        .fetch_all(&ListQuery {
            sort_key: Some("name,create_at".into()),
            sort_dir: Some("DESC".into()),
            ..query(20)
        })
        .await
        .unwrap();
    let mut rev = ids(&asc);
    rev.reverse();
    assert_eq!(ids(&desc), rev, "DESC is ASC reversed");

    // The default order (newest first) differs from the name order.
    let default = c.fetch_all(&query(50)).await.unwrap();
    assert_ne!(ids(&default), ids(&asc));
    let created: Vec<i64> = default
        .notebooks
        .iter()
        .map(|n| n.create_at.unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first");
}

// ---------------------------------------------------------------- auth errors

#[tokio::test]
async fn a_wrong_sk_is_one_request_never_retried() {
    let sim = manual(30).await;
    let (ak, _) = sim.credentials();
    let wrong_sk = "definitelyNotTheSecretKey0123456789abcdef";
    let mut o = opts(&sim);
    o.auth = aksk(&ak, wrong_sk);
    let c = client(o);
    let (r, seen) = fetch(&sim, &c, &query(10)).await;
    let e = r.unwrap_err();
    let (status, code, rid) = http_parts(&e);
    assert_eq!((status, code.as_str()), (401, "APIGW.0301"));
    assert_eq!(rid.len(), 32, "request id {rid:?}");
    assert_eq!(
        seen, 1,
        "a 401 is never retried: five bad signatures lock the AK"
    );
    assert!(e.is_auth() && !e.is_retryable());
    assert!(
        e.message().contains("verify aksk signature fail"),
        "{}",
        e.message()
    );
    assert!(hint(&e).contains("check the AK/SK"), "{}", hint(&e));
    assert_one_line(&e);
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(wrong_sk) && !shown.contains(sim.credentials().1.expose()));
}

#[tokio::test]
async fn an_unknown_ak_is_a_401() {
    let sim = manual(30).await;
    let mut o = opts(&sim);
    o.auth = aksk("NOSUCHACCESSKEY00000", sim.credentials().1.expose());
    let (r, seen) = fetch(&sim, &client(o), &query(10)).await;
    let e = r.unwrap_err();
    let (status, code, rid) = http_parts(&e);
    assert_eq!((status, code.as_str()), (401, "APIGW.0301"));
    assert!(!rid.is_empty());
    assert_eq!(seen, 1);
    assert!(e.message().contains("ak not found"), "{}", e.message());
    assert!(hint(&e).contains("check the AK/SK"));
    assert_one_line(&e);
}

#[tokio::test]
async fn a_wrong_token_says_the_token_is_invalid_or_expired() {
    let sim = manual(30).await;
    let mut o = opts(&sim);
    o.auth = Auth::Token(Secret::new("expired-iam-token-0000"));
    let (r, seen) = fetch(&sim, &client(o.clone()), &query(10)).await;
    let e = r.unwrap_err();
    let (status, code, rid) = http_parts(&e);
    assert_eq!((status, code.as_str()), (401, "APIGW.0301"));
    assert!(!rid.is_empty());
    assert_eq!(seen, 1);
    let h = hint(&e);
    assert!(h.contains("token is invalid or expired"), "{h}");
    assert!(!e.to_string().contains("expired-iam-token-0000"));

    // And the right token works.
    o.auth = Auth::Token(Secret::new(nbwatch::sim::DEMO_TOKEN));
    let listing = client(o).fetch_all(&query(50)).await.unwrap();
    assert_eq!(ids(&listing), raw_ids(&list_all(&sim, &[]).await));
}

#[tokio::test]
async fn clock_skew_is_diagnosed_from_the_servers_date() {
    let sim = manual(10).await;
    // The diagnosis rests on the server's Date header.
    let r = list(&sim, &[]).await;
    let date = r
        .headers
        .get("date")
        .expect("the simulator sends a Date header")
        .to_str()
        .unwrap();
    assert!(
        nbwatch::api::client::parse_http_date(date).is_some(),
        "{date}"
    );

    for (offset, words) in [(-3600, "behind"), (3600, "ahead of")] {
        let mut o = opts(&sim);
        o.clock_offset_secs = offset;
        let (r, seen) = fetch(&sim, &client(o), &query(10)).await;
        let e = r.unwrap_err();
        let (status, code, _) = http_parts(&e);
        assert_eq!((status, code.as_str()), (401, "APIGW.0301"));
        assert_eq!(seen, 1);
        let h = hint(&e);
        assert!(h.contains("clock is") && h.contains(words), "{offset}: {h}");
        assert!(h.contains("NTP"), "{h}");
        match &e {
            ApiError::Http(x) => {
                let skew = x.clock_skew_secs.expect("skew known");
                assert!(
                    (skew + offset).abs() <= 2,
                    "skew {skew} for offset {offset}"
                );
            }
            _ => unreachable!(),
        }
    }
}

// ---------------------------------------------------------------- other HTTP errors

#[tokio::test]
async fn a_foreign_project_is_403() {
    let sim = manual(10).await;
    let mut o = opts(&sim);
    o.project_id = "0123456789abcdef0123456789abcdef".into();
    let (r, seen) = fetch(&sim, &client(o), &query(10)).await;
    let e = r.unwrap_err();
    let (status, code, rid) = http_parts(&e);
    assert_eq!((status, code.as_str()), (403, "ModelArts.0108"));
    assert!(!rid.is_empty());
    assert_eq!(seen, 1, "403 is not retried");
    assert!(hint(&e).contains("permission"), "{}", hint(&e));
    assert_one_line(&e);
}

#[tokio::test]
async fn a_wrong_base_path_is_404_with_a_region_hint() {
    let sim = manual(10).await;
    let mut o = opts(&sim);
    o.endpoint = format!("{}/bogus/prefix/", sim.endpoint());
    let (r, seen) = fetch(&sim, &client(o), &query(10)).await;
    let e = r.unwrap_err();
    let (status, code, rid) = http_parts(&e);
    assert_eq!((status, code.as_str()), (404, "APIGW.0101"));
    assert!(!rid.is_empty());
    assert_eq!(seen, 1, "404 is not retried");
    let h = hint(&e);
    assert!(h.contains("region") && h.contains("endpoint"), "{h}");
    assert_one_line(&e);
}

#[tokio::test]
async fn a_bad_sort_key_is_400_and_not_retried() {
    let sim = manual(10).await;
    let c = client(opts(&sim));
    let (r, seen) = fetch(
        &sim,
        &c,
        &ListQuery {
            sort_key: Some("name,color".into()),
            ..query(10)
        },
    )
    .await;
    let e = r.unwrap_err();
    let (status, code, rid) = http_parts(&e);
    assert_eq!((status, code.as_str()), (400, "ModelArts.6303"));
    assert!(!rid.is_empty());
    assert_eq!(seen, 1);
    assert!(e.message().contains("color"), "{}", e.message());
    assert!(hint(&e).contains("--sort-key"), "{}", hint(&e));
}

#[tokio::test]
async fn throttling_is_retried_after_the_advised_delay() {
    let sim = manual(10).await;
    sim.set_faults(&faults(&["429:retry-after=1:count=1"]));
    let c = client(opts(&sim));
    let started = Instant::now();
    let (r, seen) = fetch(&sim, &c, &query(50)).await;
    let listing = r.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 honoured, not the 10 ms base delay ({:?})",
        started.elapsed()
    );
    assert_eq!((listing.requests, seen), (2, 2));
    assert_eq!(listing.notebooks.len(), list_all(&sim, &[]).await.len());

    // Without retries, the error says what the server said.
    sim.set_faults(&faults(&["429:retry-after=3:count=1"]));
    let mut o = opts(&sim);
    o.retry = fast_retry(0);
    let (r, seen) = fetch_one(&sim, &client(o), &query(10)).await;
    let e = r.unwrap_err();
    let (status, code, rid) = http_parts(&e);
    assert_eq!((status, code.as_str()), (429, "APIGW.0308"));
    assert!(!rid.is_empty());
    assert_eq!(seen, 1);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    assert!(hint(&e).contains("wait 3s"), "{}", hint(&e));
}

#[tokio::test]
async fn server_errors_are_retried_then_given_up() {
    let sim = manual(10).await;
    let c = client(opts(&sim)); // max_retries 3
    sim.set_faults(&faults(&["500:count=2"]));
    let (r, seen) = fetch(&sim, &c, &query(50)).await;
    let listing = r.unwrap();
    assert_eq!((listing.requests, seen), (3, 3));
    assert!(!listing.notebooks.is_empty());

    sim.set_faults(&faults(&["500"]));
    let (r, seen) = fetch(&sim, &c, &query(50)).await;
    let e = r.unwrap_err();
    let (status, code, rid) = http_parts(&e);
    assert_eq!((status, code.as_str()), (500, "ModelArts.0010"));
    assert!(!rid.is_empty());
    assert_eq!(seen, 1 + 3, "one attempt and max_retries retries");
    assert!(hint(&e).contains("transient"), "{}", hint(&e));
    assert_one_line(&e);
}

#[tokio::test]
async fn an_html_502_from_a_proxy_is_named_as_such() {
    let sim = manual(10).await;
    sim.set_faults(&faults(&["html502"]));
    let mut o = opts(&sim);
    o.retry = fast_retry(1);
    let (r, seen) = fetch(&sim, &client(o), &query(10)).await;
    let e = r.unwrap_err();
    let (status, code, rid) = http_parts(&e);
    assert_eq!(status, 502);
    assert!(code.is_empty(), "an HTML page has no error code");
    assert!(!rid.is_empty());
    assert_eq!(seen, 2, "502 is retried");
    assert!(
        e.message()
            .contains("502 Bad Gateway (HTML page from a proxy)"),
        "{}",
        e.message()
    );
    assert!(hint(&e).contains("proxy"), "{}", hint(&e));
    assert_one_line(&e);
    assert!(!e.to_string().contains("<html"));
}

#[tokio::test]
async fn malformed_json_is_a_decode_error() {
    let sim = manual(10).await;
    sim.set_faults(&faults(&["malformed"]));
    let mut o = opts(&sim);
    o.retry = fast_retry(1);
    let (r, seen) = fetch(&sim, &client(o), &query(10)).await;
    let e = r.unwrap_err();
    let ApiError::Decode { detail, request_id } = &e else {
        panic!("expected Decode, got {e:?}");
    };
    assert!(detail.contains("malformed"), "{detail}");
    assert!(request_id.as_deref().is_some_and(|r| !r.is_empty()));
    assert_eq!(seen, 2, "a broken body is retried");
    assert!(hint(&e).contains("broken body"), "{}", hint(&e));
    assert_one_line(&e);

    // Once is recovered from.
    sim.set_faults(&faults(&["malformed:count=1"]));
    let (r, seen) = fetch(&sim, &client(opts(&sim)), &query(50)).await;
    assert!(r.is_ok());
    assert_eq!(seen, 2);
}

#[tokio::test]
async fn truncated_bodies_are_decode_errors_either_way() {
    let sim = manual(30).await;
    let all = list_all(&sim, &[]).await.len();
    for (spec, words) in [("truncated", "cut off"), ("truncated:cl=cut", "truncated")] {
        sim.set_faults(&faults(&[spec]));
        let mut o = opts(&sim);
        o.retry = fast_retry(0);
        let (r, seen) = fetch(&sim, &client(o), &query(10)).await;
        let e = r.unwrap_err();
        let ApiError::Decode { detail, request_id } = &e else {
            panic!("{spec}: expected Decode, got {e:?}");
        };
        assert!(detail.contains(words), "{spec}: {detail}");
        assert!(
            request_id.as_deref().is_some_and(|r| !r.is_empty()),
            "{spec}"
        );
        assert_eq!(seen, 1, "{spec}");
        assert!(e.is_retryable(), "{spec}");
        assert_one_line(&e);

        // With retries, a one-off truncation is invisible.
        sim.set_faults(&faults(&[&format!("{spec}:count=1")]));
        let (r, seen) = fetch(&sim, &client(opts(&sim)), &query(50)).await;
        assert_eq!(r.unwrap().notebooks.len(), all, "{spec}");
        assert_eq!(seen, 2, "{spec}");
    }
}

#[tokio::test]
async fn a_hanging_server_times_out_within_the_bound() {
    let sim = manual(10).await;
    sim.set_faults(&faults(&["hang"]));
    let mut o = opts(&sim);
    o.timeout = Duration::from_millis(300);
    o.retry = fast_retry(0);
    let started = Instant::now();
    let (r, seen) = fetch(&sim, &client(o), &query(10)).await;
    let took = started.elapsed();
    let e = r.unwrap_err();
    let ApiError::Timeout { after, endpoint } = &e else {
        panic!("expected Timeout, got {e:?}");
    };
    assert_eq!(*after, Duration::from_millis(300));
    assert_eq!(endpoint, &sim.endpoint());
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(30), "bounded: {took:?}");
    assert_eq!(seen, 1);
    assert!(e.to_string().contains("no answer from"), "{e}");
    assert!(hint(&e).contains("--timeout"), "{}", hint(&e));
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    init();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut o = ClientOptions::new(&endpoint, "p1", aksk("AK", "SK"));
    o.retry = fast_retry(1);
    let e = client(o).fetch_all(&query(10)).await.unwrap_err();
    let ApiError::Connect { endpoint: ep, .. } = &e else {
        panic!("expected Connect, got {e:?}");
    };
    assert_eq!(ep, &endpoint);
    assert!(
        e.to_string()
            .contains(&format!("cannot connect to {endpoint}"))
    );
    assert!(hint(&e).contains("check the endpoint"), "{}", hint(&e));
    assert_one_line(&e);
}

// ---------------------------------------------------------------- flapping and drift

#[tokio::test]
async fn a_flapping_server_is_read_through_with_retries() {
    let sim = manual(POPULATION).await;
    let reference = raw_ids(&list_all(&sim, &[]).await);
    let pages = sweep_pages(reference.len(), 10);

    // One at a time, every third request fails: each failure costs one retry.
    sim.set_faults(&faults(&["flap:3"]));
    let mut o = opts(&sim);
    o.concurrency = 1;
    let (r, seen) = fetch(&sim, &client(o), &query(10)).await;
    let listing = r.unwrap();
    assert_eq!(ids(&listing), reference);
    assert_eq!(listing.requests, seen);
    // n pages with every third request failing take n + (n-1)/2 requests.
    assert_eq!(seen, pages + (pages - 1) / 2, "{pages} pages");

    // Concurrently, too.
    sim.set_faults(&faults(&["flap:3"]));
    let mut o = opts(&sim);
    o.concurrency = 4;
    o.retry = fast_retry(10);
    let (r, seen) = fetch(&sim, &client(o), &query(10)).await;
    let listing = r.unwrap();
    assert_eq!(ids(&listing), reference);
    assert!(seen > pages, "some requests failed and were retried");
}

/// Lists with `drift` on for the whole listing; returns (before, listing, after).
async fn drifting_listing(
    seed: u64,
    page_size: u32,
    concurrency: usize,
) -> (HashSet<String>, Listing, HashSet<String>) {
    let sim = start(SimConfig {
        instances: 137,
        seed,
        ..SimConfig::manual_at(T0)
    })
    .await;
    let before = raw_ids(&list_all(&sim, &[]).await).into_iter().collect();
    sim.set_faults(&faults(&["drift"]));
    let mut o = opts(&sim);
    o.concurrency = concurrency;
    let listing = client(o).fetch_all(&query(page_size)).await.unwrap();
    sim.clear_faults();
    let after = raw_ids(&list_all(&sim, &[]).await).into_iter().collect();
    (before, listing, after)
}

#[tokio::test]
async fn drift_loses_nothing_and_duplicates_nothing() {
    // An instance appears or disappears before every page request, all along.
    // Seeds 2, 3, 6 and 7 each lost an instance on a page boundary before the
    // client overlapped its pages once drift was seen.
    for seed in [1, 2, 3, 6, 7] {
        for concurrency in [1, 4] {
            let what = format!("seed {seed}, concurrency {concurrency}");
            let (before, listing, after) = drifting_listing(seed, 10, concurrency).await;
            let got = ids(&listing);
            assert_unique(&got);
            assert_ne!(before, after, "{what}: the population really moved");
            let got: HashSet<&String> = got.iter().collect();
            let throughout: Vec<&String> = before.intersection(&after).collect();
            assert!(throughout.len() > 100, "{what}");
            let lost: Vec<&&String> = throughout.iter().filter(|id| !got.contains(*id)).collect();
            assert!(lost.is_empty(), "{what}: lost {lost:?}");
        }
    }
}

#[tokio::test]
async fn a_drift_that_stops_gives_exactly_the_new_population() {
    let sim = manual(POPULATION).await;
    // Three requests drift; the second pass is consistent and is the truth.
    sim.set_faults(&faults(&["drift:count=3"]));
    let (r, seen) = fetch(&sim, &client(opts(&sim)), &query(10)).await;
    let listing = r.unwrap();
    let now = raw_ids(&list_all(&sim, &[]).await);
    // One sweep: every instance of the new population that existed before it is
    // there, in the service's order, each once; one deleted mid-sweep may be too.
    let got = ids(&listing);
    assert_unique(&got);
    let in_order: Vec<&String> = got.iter().filter(|id| now.contains(*id)).collect();
    let before: Vec<&String> = now.iter().filter(|id| got.contains(*id)).collect();
    assert_eq!(in_order, before, "the service's order");
    assert!(got.len() + 3 >= now.len() && got.len() <= now.len() + 3);
    assert!(listing.complete);
    assert!(listing.requests as f64 <= 1.1 * sweep_pages(now.len(), 10) as f64 + 1.0);
    assert_eq!(listing.requests, seen);
}

// ---------------------------------------------------------------- other ways in

#[tokio::test]
async fn hostnames_trailing_slashes_security_tokens_and_iam_tokens_all_verify() {
    let sim = manual(60).await;
    let reference = raw_ids(&list_all(&sim, &[]).await);
    let filtered = {
        let q = ListQuery {
            name: Some("中文".into()),
            workspace_id: Some("0".into()),
            workspace_param: WorkspaceParam::WorkspaceIdCamel,
            ..query(10)
        };
        let want = raw_ids(&list_all(&sim, &[("name", "中文"), ("workspaceId", "0")]).await);
        (q, want)
    };

    // A host name rather than an address: the signed Host header carries it.
    let mut o = opts(&sim);
    o.endpoint = format!("http://localhost:{}/", sim.addr.port());
    let listing = client(o).fetch_all(&query(20)).await.unwrap();
    assert_eq!(ids(&listing), reference);

    // Temporary credentials: the security token is sent and signed.
    let mut o = opts(&sim);
    let (ak, sk) = sim.credentials();
    o.auth = Auth::AkSk(AkSk {
        ak,
        sk,
        security_token: Some(Secret::new("temporary-security-token")),
    });
    let c = client(o);
    assert_eq!(ids(&c.fetch_all(&query(20)).await.unwrap()), reference);
    assert_eq!(ids(&c.fetch_all(&filtered.0).await.unwrap()), filtered.1);

    // An IAM token: nothing signed, the query still encoded right.
    let mut o = opts(&sim);
    o.auth = Auth::Token(Secret::new(nbwatch::sim::DEMO_TOKEN));
    let c = client(o);
    assert!(!filtered.1.is_empty());
    assert_eq!(ids(&c.fetch_all(&filtered.0).await.unwrap()), filtered.1);
}

#[tokio::test]
async fn a_query_the_client_knows_is_wrong_is_refused_before_any_request() {
    let sim = manual(10).await;
    let c = client(opts(&sim));
    for q in [
        ListQuery {
            sort_dir: Some("UP".into()),
            ..query(10)
        },
        ListQuery {
            feature: Some("GPU".into()),
            ..query(10)
        },
        ListQuery {
            name: Some("x".repeat(129)),
            ..query(10)
        },
    ] {
        let (r, seen) = fetch(&sim, &c, &q).await;
        let e = r.unwrap_err();
        assert!(matches!(e, ApiError::Request(_)), "{e:?}");
        assert!(!e.is_retryable());
        assert_eq!(seen, 0, "{q:?}");
    }
}
