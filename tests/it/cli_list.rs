//! `nbwatch list` as a user runs it: the real binary, a clean environment, and a
//! simulator in this test process on a loopback port.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::home::Home;
use crate::support::sim::*;
use nbwatch::api::model::mask_secret;
use nbwatch::sim::{Fault, SimHandle};
use serde_json::Value;
use serde_json::value::RawValue;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    /// What nbwatch left in its HOME (the log file).
    files: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    fn ids(&self) -> Vec<String> {
        self.json()
            .as_array()
            .expect("a JSON array")
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect()
    }

    fn ok(self) -> Out {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        assert_eq!(self.stderr, "", "nothing on stderr when all is well");
        self
    }
}

/// Runs the binary with only PATH, HOME and `env` set, killing it after 20 s.
async fn nbwatch(args: &[&str], env: &[(&str, &str)]) -> Out {
    let home = Home::new("cli-list");
    let mut cmd = Command::new(crate::support::bin());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("the binary starts");
    let pid = child.id();
    let waited = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await;
    let output = match waited {
        Ok(joined) => joined.unwrap().unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("nbwatch {args:?} did not finish within 20 s");
        }
    };
    Out {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        files: home.written(),
    }
}

/// The simulator's AK/SK in the SDK's variables.
fn creds(sim: &SimHandle) -> Vec<(&'static str, String)> {
    let (ak, sk) = sim.credentials();
    vec![
        ("HUAWEICLOUD_SDK_AK", ak),
        ("HUAWEICLOUD_SDK_SK", sk.expose().to_string()),
    ]
}

/// `list --endpoint E --project-id P ARGS...` with the simulator's AK/SK.
async fn list_cli(sim: &SimHandle, args: &[&str]) -> Out {
    let ep = sim.endpoint();
    let mut all = vec!["list", "--endpoint", &ep, "--project-id", sim.project_id()];
    all.extend_from_slice(args);
    let env = creds(sim);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    nbwatch(&all, &env).await
}

/// Each instance's JSON text exactly as the simulator sends it, by id, both kinds.
async fn raw_texts(sim: &SimHandle) -> std::collections::HashMap<String, String> {
    #[derive(serde::Deserialize)]
    struct Page {
        data: Vec<Box<RawValue>>,
        total: usize,
    }
    let mut out = std::collections::HashMap::new();
    for feature in ["NOTEBOOK", "DEFAULT"] {
        let mut offset = 0;
        loop {
            let off = offset.to_string();
            let q = [
                ("feature", feature),
                ("limit", "50"),
                ("offset", off.as_str()),
            ];
            let r = list(sim, &q).await;
            assert_eq!(r.status, 200, "{}", r.text);
            let page: Page = serde_json::from_str(&r.text).unwrap();
            for item in page.data {
                let v: Value = serde_json::from_str(item.get()).unwrap();
                out.insert(
                    v["id"].as_str().unwrap().to_string(),
                    item.get().to_string(),
                );
            }
            offset += 50;
            if offset >= page.total {
                break;
            }
        }
    }
    out
}

fn raw_ids(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

/// `got` is `want`, field by field (for a message that names the place): no
/// field dropped, not even an empty list, none invented, and every number as
/// written (`24` is not `24.0`).
fn assert_same(got: &Value, want: &Value, at: &str) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, wv) in w {
                match g.get(k) {
                    Some(gv) => assert_same(gv, wv, &format!("{at}.{k}")),
                    None => panic!("{at}.{k} dropped (was {wv})"),
                }
            }
            for k in g.keys() {
                assert!(w.contains_key(k), "{at}.{k} invented");
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "{at}");
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                assert_same(gv, wv, &format!("{at}[{i}]"));
            }
        }
        // Numbers too: serde_json tells 24 from 24.0.
        _ => assert_eq!(got, want, "{at}"),
    }
}

#[tokio::test]
async fn json_lists_every_instance_with_every_field_and_masked_tokens() {
    let sim = manual(75).await;
    let raw = list_all_kinds(&sim, &[]).await;
    let before = sim.request_count();
    let out = list_cli(&sim, &["--output", "json", "-vv"]).await.ok();
    assert_eq!(
        sim.request_count() - before,
        3,
        "two pages of 50 (overlapping by 2), and the CodeLab listing"
    );
    assert!(
        out.files.contains("listed"),
        "trace log written: {:?}",
        out.files
    );

    let printed = out.json();
    let printed = printed.as_array().unwrap();
    assert_eq!(
        out.ids(),
        raw_ids(&raw),
        "every instance, in the service's order"
    );
    let mut tokens = HashSet::new();
    for (p, r) in printed.iter().zip(&raw) {
        let token = r["token"].as_str().unwrap();
        tokens.insert(token.to_string());
        assert_eq!(p["token"], mask_secret(token).as_str());
        // Everything else as the service sent it, unknown fields included.
        let mut want = r.clone();
        want["token"] = p["token"].clone();
        assert_same(p, &want, &format!("instance {}", r["id"]));
    }
    assert!(
        printed.iter().any(|p| p.get("billing_items").is_some()),
        "fields beyond the typed model survive"
    );
    assert_eq!(tokens.len(), raw.len());
    for t in &tokens {
        assert!(
            !out.stdout.contains(t.as_str()),
            "token {t} printed in clear"
        );
        assert!(!out.files.contains(t.as_str()), "token {t} logged");
    }
    let sk = sim.credentials().1;
    assert!(!out.stdout.contains(sk.expose()) && !out.files.contains(sk.expose()));
}

#[tokio::test]
async fn table_and_csv_have_a_header_and_a_row_per_instance() {
    let sim = manual(40).await;
    let ids = raw_ids(&list_all_kinds(&sim, &[]).await);
    let tokens: Vec<String> = list_all_kinds(&sim, &[])
        .await
        .iter()
        .map(|n| n["token"].as_str().unwrap().to_string())
        .collect();

    let table = list_cli(&sim, &[]).await.ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), ids.len() + 2, "{}", table.stdout);
    for col in ["NAME", "STATUS", "FLAVOR", "AGE", "AUTO-STOP", "ID"] {
        assert!(lines[0].contains(col), "{}", lines[0]);
    }
    for (line, id) in lines[1..=ids.len()].iter().zip(&ids) {
        assert!(line.ends_with(id.as_str()), "{line}");
    }
    assert_eq!(lines[ids.len() + 1], format!("{} instances", ids.len()));

    let csv = list_cli(&sim, &["-o", "csv"]).await.ok();
    let rows: Vec<&str> = csv.stdout.split("\r\n").collect();
    assert_eq!(
        rows.len(),
        ids.len() + 2,
        "header, rows, and the final CRLF"
    );
    assert!(rows[0].starts_with("id,name,status,"), "{}", rows[0]);
    assert_eq!(rows[ids.len() + 1], "");
    for (row, id) in rows[1..=ids.len()].iter().zip(&ids) {
        assert!(row.starts_with(&format!("{id},")), "{row}");
    }
    for t in &tokens {
        assert!(!table.stdout.contains(t.as_str()) && !csv.stdout.contains(t.as_str()));
    }
}

#[tokio::test]
async fn filters_with_odd_characters_are_signed_and_verified() {
    let sim = manual(120).await;
    let everything = list_all_kinds(&sim, &[]).await;

    for name in ["my nb*中文", "a b", "中文", "ÜBER"] {
        let before = sim.request_count();
        let out = list_cli(&sim, &["--name", name, "-o", "json"]).await.ok();
        assert_eq!(
            sim.request_count() - before,
            2,
            "{name}: one page of each kind"
        );
        let needle = name.to_lowercase();
        let want: Vec<Value> = everything
            .iter()
            .filter(|n| n["name"].as_str().unwrap().to_lowercase().contains(&needle))
            .cloned()
            .collect();
        assert_eq!(out.ids(), raw_ids(&want), "{name}");
        if name == "中文" || name == "ÜBER" {
            assert!(!want.is_empty(), "{name} matches some instance");
        }
    }

    let out = list_cli(
        &sim,
        &[
            "--sort-key",
            "name,create_at",
            "--sort-dir",
            "ASC",
            "-o",
            "json",
        ],
    )
    .await
    .ok();
    let printed = out.json();
    // One listing in the order asked, both kinds merged (ties by id).
    let keys: Vec<(String, i64, String)> = printed
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_string(),
                n["create_at"].as_i64().unwrap(),
                n["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(keys.len(), everything.len());
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);

    let before = sim.request_count();
    let out = list_cli(&sim, &["--page-size", "10", "-o", "json"])
        .await
        .ok();
    assert_eq!(out.ids(), raw_ids(&everything));
    // Pages of 10 overlapping by 2 for the NOTEBOOK listing, one for CodeLab.
    let notebooks = everything.len() as u64 - 1;
    assert_eq!(
        sim.request_count() - before,
        1 + (notebooks - 10).div_ceil(8) + 1
    );

    let out = list_cli(
        &sim,
        &[
            "--status",
            "RUNNING",
            "--param",
            "flavor=modelarts.vm.gpu.t4",
            "-o",
            "json",
        ],
    )
    .await
    .ok();
    let want: Vec<Value> = everything
        .iter()
        .filter(|n| n["status"] == "RUNNING" && n["flavor"] == "modelarts.vm.gpu.t4")
        .cloned()
        .collect();
    assert_eq!(out.ids(), raw_ids(&want));
}

#[tokio::test]
async fn a_wrong_sk_is_one_line_on_stderr_exit_1_and_one_request() {
    let sim = manual(20).await;
    let (ak, sk) = sim.credentials();
    let wrong = "wrongSecretKeyWrongSecretKey0123456789ab";
    let ep = sim.endpoint();
    let out = nbwatch(
        &[
            "list",
            "-vv",
            "--endpoint",
            &ep,
            "--project-id",
            sim.project_id(),
        ],
        &[("HUAWEICLOUD_SDK_AK", &ak), ("HUAWEICLOUD_SDK_SK", wrong)],
    )
    .await;
    assert!(
        out.files.contains("list failed"),
        "the failure is logged (to the default log under HOME): {:?}",
        out.files
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.ends_with('\n'));
    let line = out.stderr.trim_end();
    assert!(line.contains("APIGW.0301"), "{line}");
    let rid = line
        .split("(request id ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap_or_else(|| panic!("no request id in {line}"));
    assert_eq!(rid.len(), 32, "{line}");
    assert!(line.contains("hint: check the AK/SK"), "{line}");
    assert_eq!(sim.request_count(), 1, "a 401 is never retried");
    for secret in [wrong, sk.expose()] {
        for (what, text) in [
            ("stdout", &out.stdout),
            ("stderr", &out.stderr),
            ("log", &out.files),
        ] {
            assert!(!text.contains(secret), "a secret key in the {what}");
        }
    }
}

#[tokio::test]
async fn global_flags_go_before_or_after_the_subcommand() {
    let sim = manual(15).await;
    let ids = raw_ids(&list_all_kinds(&sim, &[]).await);
    let ep = sim.endpoint();
    let env = creds(&sim);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let after = nbwatch(
        &[
            "list",
            "-o",
            "json",
            "--endpoint",
            &ep,
            "--project-id",
            sim.project_id(),
            "--timeout",
            "5",
        ],
        &env,
    )
    .await
    .ok();
    let before = nbwatch(
        &[
            "--endpoint",
            &ep,
            "--project-id",
            sim.project_id(),
            "--timeout",
            "5",
            "list",
            "-o",
            "json",
        ],
        &env,
    )
    .await
    .ok();
    assert_eq!(after.ids(), ids);
    assert_eq!(before.ids(), ids);
}

#[tokio::test]
async fn bad_usage_is_exit_2_with_one_line_and_no_request() {
    let sim = manual(5).await;
    let out = list_cli(&sim, &["--page-size", "30"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("nbwatch: "), "{}", out.stderr);
    assert!(out.stderr.contains("--page-size"), "{}", out.stderr);
    assert!(out.stderr.contains("page size 30"), "{}", out.stderr);
    assert!(out.stderr.contains("10, 20 or 50"), "{}", out.stderr);

    let out = list_cli(&sim, &["--param", "nope=1"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("nope"), "{}", out.stderr);
    assert!(
        out.stderr.contains("flavor"),
        "lists the known ones: {}",
        out.stderr
    );

    assert_eq!(sim.request_count(), 0, "nothing was sent");
}

#[tokio::test]
async fn demo_list_needs_no_configuration() {
    let out = nbwatch(&["--demo", "list", "-o", "json"], &[]).await.ok();
    let printed = out.json();
    let printed = printed.as_array().unwrap();
    assert!(printed.len() > 10, "{} instances", printed.len());
    let statuses: HashSet<&str> = printed
        .iter()
        .map(|n| n["status"].as_str().unwrap())
        .collect();
    for s in ["CREATE_FAILED", "FROZEN", "RUNNING"] {
        assert!(statuses.contains(s), "{s} missing from {statuses:?}");
    }
    assert!(
        printed
            .iter()
            .filter(|n| n["status"] == "CREATE_FAILED")
            .all(|n| n["fail_reason"].is_string()),
        "a failed creation says why"
    );
    assert!(!out.stdout.contains(nbwatch::sim::DEMO_SK));
}

#[tokio::test]
async fn a_persistent_server_error_is_exit_1_with_nothing_half_printed() {
    let sim = manual(80).await;
    sim.set_faults(&["500".parse::<Fault>().unwrap()]);
    let out = list_cli(&sim, &["--page-size", "10"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "", "nothing half-printed");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    let line = out.stderr.trim_end();
    assert!(line.contains("HTTP 500 ModelArts.0010"), "{line}");
    assert!(line.contains("(request id "), "{line}");
    assert!(line.contains("hint: "), "{line}");
    assert_eq!(sim.request_count(), 4, "one attempt and three retries");
}

#[tokio::test]
async fn a_failure_on_a_later_page_prints_no_part_of_the_listing() {
    let sim = manual(80).await;
    // Request 1 (page one) succeeds; requests 2 to 5 (page two and its three
    // retries) all fail: 2 and 4 by flap:2, 3 by flap:3, 5 by flap:5.
    let faults: Vec<Fault> = ["flap:2", "flap:3", "flap:5"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    sim.set_faults(&faults);
    let out = list_cli(
        &sim,
        &["--page-size", "10", "--concurrency", "1", "-o", "csv"],
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "", "page one is not printed alone");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("ModelArts.0010"), "{}", out.stderr);
    assert_eq!(sim.request_count(), 5);
}

#[tokio::test]
async fn an_iam_token_works_instead_of_aksk() {
    let sim = manual(25).await;
    let ids = raw_ids(&list_all_kinds(&sim, &[]).await);
    let ep = sim.endpoint();
    let out = nbwatch(
        &[
            "list",
            "-o",
            "json",
            "--endpoint",
            &ep,
            "--project-id",
            sim.project_id(),
        ],
        &[("NBWATCH_AUTH_TOKEN", nbwatch::sim::DEMO_TOKEN)],
    )
    .await
    .ok();
    assert_eq!(out.ids(), ids);
    assert!(
        !out.files.contains(nbwatch::sim::DEMO_TOKEN),
        "token logged"
    );

    let out = nbwatch(
        &["list", "--endpoint", &ep, "--project-id", sim.project_id()],
        &[("NBWATCH_AUTH_TOKEN", "stale-token-123456")],
    )
    .await;
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1);
    assert!(
        out.stderr.contains("token is invalid or expired"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("stale-token-123456"));
}

#[tokio::test]
async fn a_skewed_clock_is_named_in_the_error() {
    // The gateway's clock two hours ahead: to it, this machine is two hours behind.
    let sim = start(nbwatch::sim::SimConfig {
        instances: 5,
        clock_skew_secs: 7200,
        ..nbwatch::sim::SimConfig::manual_at(T0)
    })
    .await;
    let ep = sim.endpoint();
    let env = creds(&sim);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = nbwatch(
        &["list", "--endpoint", &ep, "--project-id", sim.project_id()],
        &env,
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("APIGW.0301"), "{}", out.stderr);
    assert!(
        out.stderr.contains("clock is 2h00m behind")
            || out.stderr.contains("clock is 1h59m behind"),
        "{}",
        out.stderr
    );
    assert_eq!(sim.request_count(), 1);
}

#[tokio::test]
async fn a_malformed_project_id_is_a_usage_error() {
    let sim = manual(5).await;
    let out = nbwatch(
        &["list", "--endpoint", &sim.endpoint(), "--project-id", "a/b"],
        &[("NBWATCH_AUTH_TOKEN", nbwatch::sim::DEMO_TOKEN)],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("project id"), "{}", out.stderr);
    assert_eq!(sim.request_count(), 0);
}

#[tokio::test]
async fn json_prints_each_instance_exactly_as_the_service_sent_it_but_the_token() {
    let sim = manual(30).await;
    let raw = list_all_kinds(&sim, &[]).await;
    let out = list_cli(&sim, &["--output", "json"]).await.ok();
    let printed: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(printed.len(), raw.len());
    for (p, r) in printed.iter().zip(&raw) {
        let mut want = r.clone();
        let token = want["token"].as_str().unwrap().to_string();
        want["token"] = Value::String(nbwatch::api::model::mask_secret(&token));
        assert_eq!(p, &want, "every field, its type and value as sent");
        assert!(!out.stdout.contains(&token));
    }
    // Byte for byte: each instance's text is the service's, but the token's value.
    let sent = raw_texts(&sim).await;
    let printed: Vec<Box<RawValue>> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(printed.len(), sent.len());
    for p in &printed {
        let v: Value = serde_json::from_str(p.get()).unwrap();
        let id = v["id"].as_str().unwrap();
        let text = &sent[id];
        let token = serde_json::from_str::<Value>(text).unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string();
        let want = text.replace(
            &format!("\"token\":\"{token}\""),
            &format!("\"token\":\"{}\"", mask_secret(&token)),
        );
        assert_ne!(&want, text, "the token is masked");
        assert_eq!(p.get(), want, "instance {id} as sent");
    }
    // Whole numbers stay whole and empty lists stay (the model printed `24.0`
    // and dropped `[]`).
    assert!(
        out.stdout.contains(r#""billing_items":[]"#),
        "the CodeLab instance bills nothing"
    );
    assert!(
        !out.stdout.contains(".0,"),
        "no whole number turned into a float"
    );
}

#[test]
fn the_comparison_catches_a_dropped_empty_list_and_a_changed_number() {
    let sent = serde_json::json!({"id": "a", "tags": [], "custom_spec": {"cpu": 24}});
    let fails = |got: Value| {
        let sent = sent.clone();
        std::panic::catch_unwind(move || assert_same(&got, &sent, "x")).is_err()
    };
    assert!(!fails(sent.clone()));
    assert!(fails(
        serde_json::json!({"id": "a", "custom_spec": {"cpu": 24}})
    ));
    assert!(fails(
        serde_json::json!({"id": "a", "tags": [], "custom_spec": {"cpu": 24.0}})
    ));
}

/// The ids a `list` printed, in order, in `format`.
fn ids_in(format: &str, out: &Out) -> Vec<String> {
    match format {
        "json" => out.ids(),
        // The table ends each row with the id, then a count line.
        "table" => {
            let lines: Vec<&str> = out.stdout.lines().collect();
            lines[1..lines.len() - 1]
                .iter()
                .map(|l| l.split_whitespace().last().unwrap().to_string())
                .collect()
        }
        _ => out
            .stdout
            .split("\r\n")
            .skip(1)
            .filter(|r| !r.is_empty())
            .map(|r| r.split(',').next().unwrap().to_string())
            .collect(),
    }
}

#[tokio::test]
async fn both_kinds_are_one_listing_in_the_order_asked_in_every_format() {
    let sim = manual(40).await;
    let newest_first = list_all_kinds(&sim, &[]).await;
    let codelab = newest_first
        .iter()
        .find(|n| n["feature"] == "DEFAULT")
        .map(|n| n["id"].as_str().unwrap().to_string())
        .expect("the simulator has a CodeLab instance");
    // As the service sorts: by name, then status, then id, ascending.
    let mut by_name = newest_first.clone();
    by_name.sort_by_key(|n| ["name", "status", "id"].map(|k| n[k].as_str().unwrap().to_string()));
    let by_name = raw_ids(&by_name);
    assert_ne!(
        by_name.last(),
        Some(&codelab),
        "the CodeLab instance is not last: appending it would fail this test"
    );
    for format in ["json", "table", "csv"] {
        let out = list_cli(&sim, &["-o", format]).await.ok();
        assert_eq!(
            ids_in(format, &out),
            raw_ids(&newest_first),
            "{format}: newest first"
        );
        let out = list_cli(
            &sim,
            &[
                "-o",
                format,
                "--sort-key",
                "name,status",
                "--sort-dir",
                "ASC",
            ],
        )
        .await
        .ok();
        assert_eq!(ids_in(format, &out), by_name, "{format}: by name, status");
    }
}

/// `n` instances on a still clock with `nbwatch sim --churn RATE` (balanced).
async fn balanced_churn(n: usize, rate: f64) -> SimHandle {
    use nbwatch::sim::{Churn, ChurnMode, SimConfig};
    start(SimConfig {
        instances: n,
        churn: Some(Churn {
            rate,
            mode: ChurnMode::Balanced,
        }),
        ..SimConfig::manual_at(T0)
    })
    .await
}

#[tokio::test]
async fn a_listing_that_moves_faster_than_its_repairs_is_exit_1_with_one_line_and_nothing_printed()
{
    // Fifty instances created at the head and fifty deleted at random after
    // every listing request, read ten a page: no page boundary can be proven.
    let sim = balanced_churn(300, 50.0).await;
    for output in ["table", "json"] {
        let out = list_cli(&sim, &["--page-size", "10", "-o", output]).await;
        assert_eq!(out.code, 1, "{output}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{output}: no partial listing");
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        let line = out.stderr.trim_end();
        assert!(line.contains("kept changing while it was read"), "{line}");
        assert!(line.contains("fix: run it again"), "{line}");
        assert!(line.contains("--status"), "{line}");
    }
}

#[tokio::test]
async fn a_listing_under_moderate_churn_is_listed_whole() {
    let sim = balanced_churn(400, 0.5).await;
    // The clock stands still, so what is created during the listing has the
    // same time as the listing's start: alive throughout is what was there
    // before it and still is after.
    let before = sim.ground_truth(T0, T0).alive_throughout;
    let out = list_cli(&sim, &["--page-size", "10", "-o", "json"])
        .await
        .ok();
    let got: HashSet<String> = out.ids().into_iter().collect();
    let after = sim.ground_truth(T0, T0).alive_throughout;
    let churned = before.symmetric_difference(&after).count();
    assert!(
        churned > 10,
        "the churn moved {churned} instances: it proves nothing"
    );
    for id in before.intersection(&after) {
        assert!(got.contains(id), "{id} missing");
    }
}
