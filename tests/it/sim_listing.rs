//! HTTP tests of the simulator's listing semantics: paging, filters, sorting,
//! validation errors, gateway 404s and request ids.

use std::collections::BTreeSet;

use crate::support::sim::*;
use serde_json::Value;

#[tokio::test]
async fn pages_follow_the_reference_shape() {
    let sim = manual(60).await;
    let first = list(&sim, &[]).await;
    assert_eq!(first.status, 200);
    assert!(
        first.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let p = first.json();
    let total = p["total"].as_u64().unwrap();
    assert_eq!(p["current"], 0);
    assert_eq!(
        p["size"], 10,
        "size is the page size, as in the reference example"
    );
    assert_eq!(
        p["data"].as_array().unwrap().len(),
        10,
        "default limit is 10"
    );
    assert_eq!(p["pages"].as_u64().unwrap(), total.div_ceil(10));
    // Only NOTEBOOK instances by default: the CodeLab one is not counted.
    assert_eq!(total, 59);

    let r = list(&sim, &[("limit", "20"), ("offset", "40")])
        .await
        .json();
    assert_eq!(r["current"], 2);
    assert_eq!(r["size"], 20);
    assert_eq!(r["pages"], 3);
    assert_eq!(r["data"].as_array().unwrap().len(), 19);
    let beyond = list(&sim, &[("limit", "50"), ("offset", "500")])
        .await
        .json();
    assert_eq!(beyond["data"].as_array().unwrap().len(), 0);
    assert_eq!(beyond["total"], 59);

    // Walking the pages yields every instance exactly once.
    let all = list_all(&sim, &[]).await;
    let ids: BTreeSet<&str> = all.iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 59);
    let mut via10 = Vec::new();
    for off in (0..60).step_by(10) {
        let o = off.to_string();
        via10.extend(list(&sim, &[("offset", &o)]).await.ids());
    }
    let via50: Vec<String> = all
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(via10, via50, "paging is stable whatever the page size");
}

#[tokio::test]
async fn limit_and_offset_are_validated() {
    let sim = manual(30).await;
    for ok in ["10", "20", "50"] {
        assert_eq!(list(&sim, &[("limit", ok)]).await.status, 200, "{ok}");
    }
    for bad in ["5", "100", "0", "-10", "ten", "10.0"] {
        let r = list(&sim, &[("limit", bad)]).await;
        assert_eq!(r.status, 400, "limit={bad}");
        assert_eq!(r.error_code(), "ModelArts.0101");
        assert!(r.json()["error_msg"].as_str().unwrap().contains("limit"));
    }
    for bad in ["-1", "x", "1e3"] {
        let r = list(&sim, &[("offset", bad)]).await;
        assert_eq!(r.status, 400, "offset={bad}");
        assert_eq!(r.error_code(), "ModelArts.0101");
    }
    for (k, v) in [
        ("sort_dir", "UP"),
        ("status", "SLEEPING"),
        ("feature", "GPU"),
    ] {
        let r = list(&sim, &[(k, v)]).await;
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (400, "ModelArts.0101"),
            "{k}={v}"
        );
    }
    let long = "a".repeat(129);
    assert_eq!(list(&sim, &[("name", &long)]).await.status, 400);
}

#[tokio::test]
async fn filters_select_what_they_say() {
    let sim = manual(300).await;
    let everything = list_all(&sim, &[]).await;
    let field = |n: &Value, path: &[&str]| -> String {
        let mut v = n;
        for p in path {
            v = &v[*p];
        }
        v.as_str().unwrap_or("").to_string()
    };

    // status
    for status in ["RUNNING", "STOPPED", "CREATE_FAILED", "FROZEN"] {
        let got = list_all(&sim, &[("status", status)]).await;
        let want = everything.iter().filter(|n| n["status"] == status).count();
        assert!(want > 0, "{status}");
        assert_eq!(got.len(), want, "{status}");
        assert!(got.iter().all(|n| n["status"] == status));
    }

    // name: case-insensitive substring, non-ASCII included
    let sample = everything
        .iter()
        .map(|n| field(n, &["name"]))
        .find(|n| !n.is_ascii())
        .expect("some names are not ASCII");
    let needle: String = sample.chars().take(3).collect();
    let got = list_all(&sim, &[("name", &needle.to_uppercase())]).await;
    assert!(!got.is_empty());
    assert!(got.iter().all(|n| {
        field(n, &["name"])
            .to_lowercase()
            .contains(&needle.to_lowercase())
    }));
    let upper = list_all(&sim, &[("name", "LLM-FINE")]).await;
    assert_eq!(
        upper.len(),
        everything
            .iter()
            .filter(|n| field(n, &["name"]).contains("llm-fine"))
            .count()
    );

    // feature: NOTEBOOK by default, DEFAULT gives the CodeLab instance only
    let codelab = list_all(&sim, &[("feature", "DEFAULT")]).await;
    assert_eq!(codelab.len(), 1);
    assert_eq!(codelab[0]["flavor"], "modelarts.vm.cpu.free");
    assert_eq!(codelab[0]["feature"], "DEFAULT");
    assert!(everything.iter().all(|n| n["feature"] == "NOTEBOOK"));
    assert_eq!(
        list_all(&sim, &[("feature", "NOTEBOOK")]).await.len(),
        everything.len()
    );

    // pool_id, owner, flavor, both workspace spellings
    let pool = everything
        .iter()
        .find_map(|n| n["pool"]["id"].as_str())
        .expect("some instances run on a pool")
        .to_string();
    let got = list_all(&sim, &[("pool_id", &pool)]).await;
    assert_eq!(
        got.len(),
        everything
            .iter()
            .filter(|n| n["pool"]["id"] == pool.as_str())
            .count()
    );
    let owner = field(&everything[0], &["user", "id"]);
    let got = list_all(&sim, &[("owner", &owner)]).await;
    assert!(!got.is_empty());
    assert!(got.iter().all(|n| n["user"]["id"] == owner.as_str()));
    let got = list_all(&sim, &[("flavor", "modelarts.vm.gpu.t4")]).await;
    assert!(!got.is_empty() && got.iter().all(|n| n["flavor"] == "modelarts.vm.gpu.t4"));

    let ws = everything
        .iter()
        .map(|n| field(n, &["workspace_id"]))
        .find(|w| w != "0")
        .expect("some instances live in a named workspace");
    let want = everything
        .iter()
        .filter(|n| n["workspace_id"] == ws.as_str())
        .count();
    let a = list_all(&sim, &[("workspace_id", &ws)]).await;
    let b = list_all(&sim, &[("workspaceId", &ws)]).await;
    assert_eq!(a.len(), want);
    assert_eq!(a, b, "both spellings filter the same");
    let r = list(&sim, &[("workspace_id", "nope")]).await;
    assert_eq!((r.status, r.error_code().as_str()), (400, "ModelArts.0102"));
    let r = list(&sim, &[("workspaceId", "nope")]).await;
    assert_eq!((r.status, r.error_code().as_str()), (400, "ModelArts.0102"));

    // ip, username, image_id, tags (SDK extras)
    let with_ip = everything.iter().find(|n| n["ip"].is_string()).unwrap();
    let got = list_all(&sim, &[("ip", with_ip["ip"].as_str().unwrap())]).await;
    assert!(got.iter().any(|n| n["id"] == with_ip["id"]));
    assert!(got.iter().all(|n| n["ip"] == with_ip["ip"]));
    let uname = field(&everything[0], &["user", "name"]);
    let got = list_all(&sim, &[("username", &uname)]).await;
    assert!(!got.is_empty() && got.iter().all(|n| n["user"]["name"] == uname.as_str()));
    let img = field(&everything[0], &["image", "id"]);
    let got = list_all(&sim, &[("image_id", &img)]).await;
    assert!(!got.is_empty() && got.iter().all(|n| n["image"]["id"] == img.as_str()));
    let got = list_all(&sim, &[("tags", "team|nlp")]).await;
    assert!(!got.is_empty());
    assert!(got.iter().all(|n| {
        n["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["key"] == "team" && t["value"] == "nlp")
    }));

    // filters combine
    let got = list_all(&sim, &[("status", "RUNNING"), ("workspace_id", "0")]).await;
    assert!(
        got.iter()
            .all(|n| n["status"] == "RUNNING" && n["workspace_id"] == "0")
    );
}

#[tokio::test]
async fn own_instances_only_on_the_plain_path() {
    let sim = manual(200).await;
    let all = list_all(&sim, &[]).await;
    let mut own = Vec::new();
    let mut offset = 0;
    loop {
        let o = offset.to_string();
        let r = send(
            &sim,
            "GET",
            &own_path(&sim),
            &[("limit", "50"), ("offset", &o)],
            &Auth::of(&sim),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let p = r.json();
        own.extend(p["data"].as_array().unwrap().clone());
        offset += 50;
        if offset as u64 >= p["total"].as_u64().unwrap() {
            break;
        }
    }
    assert!(!own.is_empty() && own.len() < all.len());
    let caller = own[0]["user"]["id"].clone();
    assert!(own.iter().all(|n| n["user"]["id"] == caller));
    assert_eq!(
        own.len(),
        all.iter().filter(|n| n["user"]["id"] == caller).count()
    );
}

#[tokio::test]
async fn sorting_by_keys_and_direction_with_stable_ties() {
    let sim = manual(120).await;
    let default = list_all(&sim, &[]).await;
    let created: Vec<i64> = default
        .iter()
        .map(|n| n["create_at"].as_i64().unwrap())
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "default: create_at DESC"
    );

    let asc = list_all(&sim, &[("sort_key", "create_at"), ("sort_dir", "ASC")]).await;
    let rev: Vec<Value> = default.iter().rev().cloned().collect();
    assert_eq!(asc, rev);

    for key in [
        "name",
        "status",
        "update_at",
        "flavor",
        "feature",
        "id",
        "description",
        "workspace_id",
    ] {
        let got = list_all(&sim, &[("sort_key", key), ("sort_dir", "asc")]).await;
        let vals: Vec<String> = got.iter().map(|n| n[key].to_string()).collect();
        let is_sorted = if key == "update_at" {
            got.windows(2)
                .all(|w| w[0][key].as_i64() <= w[1][key].as_i64())
        } else {
            got.windows(2)
                .all(|w| w[0][key].as_str() <= w[1][key].as_str())
        };
        assert!(is_sorted, "{key}: {vals:?}");
        // Ties broken by id.
        for w in got.windows(2) {
            if w[0][key] == w[1][key] {
                assert!(w[0]["id"].as_str() < w[1]["id"].as_str(), "{key} tie");
            }
        }
    }
    let multi = list_all(&sim, &[("sort_key", "status,name"), ("sort_dir", "ASC")]).await;
    for w in multi.windows(2) {
        let a = (w[0]["status"].as_str(), w[0]["name"].as_str());
        let b = (w[1]["status"].as_str(), w[1]["name"].as_str());
        assert!(a <= b, "{a:?} > {b:?}");
    }
    for bad in ["color", "name,color", "token"] {
        let r = list(&sim, &[("sort_key", bad)]).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.error_code(), "ModelArts.6303");
        assert!(r.json()["error_msg"].as_str().unwrap().contains("sort"));
    }
}

#[tokio::test]
async fn unknown_paths_and_methods_are_gateway_404s_and_every_answer_has_a_request_id() {
    let sim = manual(10).await;
    let auth = Auth::of(&sim);
    let mut ids = BTreeSet::new();
    for (method, path) in [
        ("GET", "/v2/x/notebooks/all".to_string()),
        ("GET", "/".to_string()),
        (
            "GET",
            format!("/v1/{}/notebooks/all/extra", sim.project_id()),
        ),
        ("GET", format!("/v1/{}/trainings", sim.project_id())),
        ("POST", all_path(&sim)),
        ("DELETE", all_path(&sim)),
    ] {
        let r = send(&sim, method, &path, &[], &auth).await;
        assert_eq!(r.status, 404, "{method} {path}");
        assert_eq!(r.error_code(), "APIGW.0101");
        assert!(
            r.json()["error_msg"]
                .as_str()
                .unwrap()
                .contains("API does not exist")
        );
        assert!(ids.insert(r.request_id()));
    }
    let ok = list(&sim, &[]).await;
    let bad = list(&sim, &[("limit", "7")]).await;
    let unauth = send(&sim, "GET", &all_path(&sim), &[], &Auth::none()).await;
    let ctl = control(&sim, "GET", "/_sim/stats", "").await;
    for r in [&ok, &bad, &unauth, &ctl] {
        let id = r.request_id();
        assert_eq!(id.len(), 32, "uuid-like: {id}");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(ids.insert(id), "request ids are unique");
    }
}

#[tokio::test]
async fn instances_carry_realistic_fields() {
    let sim = manual(400).await;
    let all = list_all(&sim, &[]).await;
    let has = |f: &dyn Fn(&Value) -> bool| all.iter().any(f);
    assert!(has(&|n| n["image"]["type"] == "BUILD_IN"));
    assert!(has(&|n| n["image"]["type"] == "DEDICATED"));
    assert!(has(&|n| n["image"]["arch"] == "AARCH64"));
    assert!(has(&|n| n["image"]["arch"] == "X86_64"));
    assert!(has(&|n| n["flavor"] == "modelarts.bm.npu.arm.8snt9b3.d"));
    for cat in ["EVS", "SFS", "EFS"] {
        assert!(has(&|n| n["volume"]["category"] == cat), "{cat}");
    }
    assert!(has(&|n| n["volume"]["status"] == "RESIZING"));
    assert!(has(&|n| !n["data_volumes"].as_array().unwrap().is_empty()));
    assert!(has(&|n| n["endpoints"].as_array().unwrap().iter().any(
        |e| e["service"] == "SSH"
            && !e["key_pair_names"].as_array().unwrap().is_empty()
            && e["allowed_access_ips"].is_array()
    )));
    assert!(has(&|n| n["pool"]["name"].is_string()));
    assert!(has(&|n| n["lease"]["type"] == "idle"));
    assert!(has(&|n| n["lease"]["enable"] == false));
    assert!(has(
        &|n| n["fail_reason"].is_string() && n["status"] == "CREATE_FAILED"
    ));
    assert!(has(&|n| n["action_progress"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["status"] == "FAILED")));
    assert!(has(&|n| !n["tags"].as_array().unwrap().is_empty()));
    assert!(has(&|n| n["billing_items"] == serde_json::json!(["ALL"])));
    assert!(has(&|n| n["name"].as_str().unwrap().contains('ü')
        || n["name"].as_str().unwrap().contains('中')));
    for n in &all {
        let swr = n["image"]["swr_path"].as_str().unwrap();
        assert!(swr.ends_with(n["image"]["tag"].as_str().unwrap()), "{swr}");
        assert!(n["create_at"].as_i64() <= n["update_at"].as_i64());
        assert_eq!(n["user"]["domain"]["id"].as_str().unwrap().len(), 32);
        let tok = n["token"].as_str().unwrap();
        assert_eq!(tok.len(), 36);
        assert_eq!(n["action_progress"].as_array().unwrap().len(), 4);
        assert!(!n["name"].as_str().unwrap().contains(' '));
    }
    let tokens: BTreeSet<&str> = all.iter().map(|n| n["token"].as_str().unwrap()).collect();
    assert_eq!(tokens.len(), all.len(), "tokens are per instance");
    // The answer parses with nbwatch's own model.
    let page: nbwatch::api::model::NotebookPage =
        serde_json::from_str(&list(&sim, &[("limit", "50")]).await.text).unwrap();
    assert_eq!(page.data.len(), 50);
    assert!(page.data.iter().all(|n| n.status_or_unknown().is_known()));
}
