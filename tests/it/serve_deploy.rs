//! `deploy/` stays in step with the exporter: the metric names the rules and the
//! dashboard query are the ones `nbwatch serve` writes, their status lists are the
//! ones nbwatch uses, the files the compose file mounts exist, and the scrape
//! target is the default port. (`promtool test rules` runs in .ci/run.)

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use nbwatch::api::Status;
use nbwatch::serve::metrics::FAMILIES;
use prometheus_client::metrics::MetricType;
use serde_json::Value;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

fn read(rel: &str) -> String {
    let p = deploy().join(rel);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every sample name the exporter writes.
fn exported() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for f in FAMILIES {
        let n = f.exposed_name();
        if f.kind == MetricType::Histogram {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{n}{suffix}"));
            }
        }
        names.insert(n);
    }
    names
}

/// Identifiers starting with `modelarts_` or `nbwatch_` in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = BTreeSet::new();
    for prefix in ["modelarts_", "nbwatch_"] {
        for (i, _) in text.match_indices(prefix) {
            if text[..i].chars().next_back().is_some_and(ident) {
                continue;
            }
            let name: String = text[i..].chars().take_while(|c| ident(*c)).collect();
            out.insert(name);
        }
    }
    out
}

fn statuses(pred: impl Fn(&Status) -> bool) -> String {
    Status::ALL
        .iter()
        .filter(|s| pred(s))
        .map(Status::as_str)
        .collect::<Vec<_>>()
        .join("|")
}

fn dashboard() -> Value {
    serde_json::from_str(&read("grafana/dashboards/nbwatch.json")).expect("the dashboard is JSON")
}

fn dashboard_exprs() -> Vec<String> {
    dashboard()["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().clone())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn rules_and_dashboard_query_only_metrics_the_exporter_writes() {
    let exported = exported();
    let files = [
        "prometheus/rules/nbwatch.yml",
        "prometheus/rules/nbwatch.test.yml",
        "prometheus/rules/nbwatch.current.test.yml",
        "grafana/dashboards/nbwatch.json",
    ];
    for file in files {
        let used = metric_names(&read(file));
        assert!(!used.is_empty(), "{file} uses no metric?");
        let unknown: Vec<_> = used.difference(&exported).collect();
        assert!(
            unknown.is_empty(),
            "{file} uses {unknown:?}, which nbwatch serve does not write (it writes {exported:?})"
        );
    }
    // Every instance family is used by a rule or a panel.
    let used: BTreeSet<String> = files.iter().flat_map(|f| metric_names(&read(f))).collect();
    for f in FAMILIES {
        if f.name.starts_with("modelarts_") {
            assert!(
                used.contains(&f.exposed_name()),
                "{} is never used",
                f.exposed_name()
            );
        }
    }
}

#[test]
fn status_lists_in_rules_and_dashboard_are_nbwatchs() {
    let transitional = format!("status=~\"{}\"", statuses(Status::is_transitional));
    let failed = format!(
        "status=~\"{}\"",
        statuses(|s| s.is_problem() && *s != Status::Frozen)
    );
    let problems = format!("status=~\"{}\"", statuses(Status::is_problem));
    let rules = read("prometheus/rules/nbwatch.yml");
    assert!(
        rules.contains(&transitional),
        "stuck rule must use {transitional}"
    );
    assert!(rules.contains(&failed), "failed rule must use {failed}");
    assert!(rules.contains("status=\"FROZEN\""));
    let exprs = dashboard_exprs().join("\n");
    assert!(
        exprs.contains(&transitional),
        "stuck panel must use {transitional}"
    );
    assert!(
        exprs.contains(&problems),
        "problems panel must use {problems}"
    );
    // Any other status list in deploy/ would be a copy that can drift.
    for text in [&rules, &exprs] {
        for list in text.split("status=~\"").skip(1) {
            let list = list.split('"').next().unwrap();
            let ok = [&transitional, &failed, &problems]
                .iter()
                .any(|want| *want == &format!("status=~\"{list}\""));
            assert!(ok, "an unchecked status list: {list}");
        }
    }
}

#[test]
fn the_auto_stop_alert_warns_as_early_as_the_dashboards_alert() {
    let lead = nbwatch::defaults::ALERT_LEASE_LEAD.as_secs();
    let rules = read("prometheus/rules/nbwatch.yml");
    assert!(
        rules.contains(&format!(
            "modelarts_notebook_lease_expiry_timestamp_seconds - time() < {lead})"
        )),
        "ModelArtsNotebookAutoStopSoon should fire {lead} s before auto-stop, as the dashboard's alert does"
    );
}

#[test]
fn the_dashboards_queries_are_valid_promql() {
    let d = dashboard();
    assert_eq!(d["uid"], "nbwatch-modelarts");
    let exprs = dashboard_exprs();
    assert!(exprs.len() >= 8);
    // promtool parses the queries as recording rules (JSON is YAML).
    let rules: Vec<Value> = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| serde_json::json!({"record": format!("dashboard:expr{i}"), "expr": e.replace("$job", ".*")}))
        .collect();
    let file = std::env::temp_dir().join(format!("nbwatch-dashboard-{}.json", std::process::id()));
    fs::write(
        &file,
        serde_json::json!({"groups": [{"name": "dashboard", "rules": rules}]}).to_string(),
    )
    .unwrap();
    match std::process::Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(&file)
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "promtool rejects a dashboard query:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => {
            eprintln!("promtool not installed: dashboard queries not parsed (CI installs it)")
        }
    }
    let _ = fs::remove_file(file);
}

#[test]
fn compose_mounts_exist_and_the_scrape_target_is_the_default_port() {
    let compose = read("compose.yaml");
    let mut mounts = 0;
    for line in compose.lines() {
        let line = line.trim().trim_start_matches("- ");
        if let Some(rest) = line.strip_prefix("./") {
            let path = rest.split(':').next().unwrap();
            assert!(
                deploy().join(path).exists(),
                "compose.yaml mounts a missing {path}"
            );
            mounts += 1;
        }
    }
    assert!(mounts >= 5);
    assert!(deploy().join("Dockerfile").exists());
    let port = nbwatch::serve::DEFAULT_LISTEN.rsplit(':').next().unwrap();
    assert!(read("prometheus/prometheus.yml").contains(&format!("nbwatch:{port}\"")));
    assert!(compose.contains(&format!("--listen=0.0.0.0:{port}")));
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(
        readme.contains(nbwatch::serve::DEFAULT_LISTEN),
        "README names the default port"
    );
}
