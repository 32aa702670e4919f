//! `nbwatch list` (and the one-source commands) over several sources, as a
//! user runs them: the real binary, two simulators on loopback ports.

use std::collections::BTreeSet;

use nbwatch::sim::{DEMO_SECOND_PROJECT_ID, Fault, SimConfig};
use serde_json::Value;

use crate::support::dash::Sim;
use crate::support::home::{Home, Out, nbwatch};

/// Two simulators and a config naming them as profiles `beijing` and `singapore`.
struct Two {
    bj: Sim,
    sg: Sim,
    home: Home,
    config: String,
}

impl Two {
    fn new() -> Two {
        let bj = Sim::start(SimConfig {
            instances: 12,
            ..SimConfig::manual_at(crate::support::sim::T0)
        });
        let sg = Sim::start(SimConfig {
            instances: 7,
            seed: 7,
            project_id: DEMO_SECOND_PROJECT_ID.into(),
            ..SimConfig::manual_at(crate::support::sim::T0)
        });
        let home = Home::new("sources");
        let config = home.write(
            "config.toml",
            &format!(
                "[profiles.beijing]\nendpoint = \"{}\"\nproject_id = \"{}\"\n\n[profiles.singapore]\nendpoint = \"{}\"\nproject_id = \"{}\"\n",
                bj.handle.endpoint(),
                bj.handle.project_id(),
                sg.handle.endpoint(),
                sg.handle.project_id()
            ),
            0o600,
        );
        Two {
            bj,
            sg,
            home,
            config,
        }
    }

    fn run(&self, args: &[&str]) -> Out {
        let (ak, sk) = self.bj.handle.credentials();
        let mut all = vec!["--config", self.config.as_str()];
        all.extend(args);
        let out = nbwatch(
            &self.home,
            &all,
            &[
                ("HUAWEICLOUD_SDK_AK", ak.as_str()),
                ("HUAWEICLOUD_SDK_SK", sk.expose()),
            ],
        );
        out.assert_no_panic();
        out
    }

    /// The ids each simulator holds: (beijing, singapore).
    fn ids(&self) -> (BTreeSet<String>, BTreeSet<String>) {
        (
            self.bj.statuses().into_keys().collect(),
            self.sg.statuses().into_keys().collect(),
        )
    }
}

fn ok(out: &Out) {
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stderr, "", "{out:?}");
}

#[test]
fn list_names_the_source_in_every_format() {
    let two = Two::new();
    let (bj, sg) = two.ids();
    let total = bj.len() + sg.len();

    // JSON: a "source" field first in each object, the rest as the service sent it.
    let out = two.run(&["--profile", "beijing,singapore", "list", "-o", "json"]);
    ok(&out);
    let items: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(items.len(), total);
    let of = |source: &str| -> BTreeSet<String> {
        items
            .iter()
            .filter(|n| n["source"] == source)
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!((of("beijing"), of("singapore")), (bj.clone(), sg.clone()));
    // One listing across the sources, in the service's default order: newest first.
    let created: Vec<i64> = items
        .iter()
        .map(|n| n["create_at"].as_i64().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "{created:?}");
    let switches = items
        .windows(2)
        .filter(|w| w[0]["source"] != w[1]["source"])
        .count();
    assert!(switches > 1, "merged, not one source after the other");
    for line in out.stdout.lines().filter(|l| l.contains("\"id\"")) {
        let line = line.trim_start();
        assert!(
            line.starts_with("{\"source\":\"beijing\",\"id\":")
                || line.starts_with("{\"source\":\"singapore\",\"id\":"),
            "{line}"
        );
    }

    // CSV: a `source` column first.
    let out = two.run(&["--profile", "beijing,singapore", "list", "-o", "csv"]);
    ok(&out);
    let rows: Vec<&str> = out.stdout.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(rows[0].starts_with("source,id,name,status,"), "{}", rows[0]);
    assert_eq!(rows.len(), total + 1);
    for r in &rows[1..] {
        let (source, rest) = r.split_once(',').unwrap();
        let id = rest.split(',').next().unwrap();
        let set = if source == "beijing" { &bj } else { &sg };
        assert!(set.contains(id), "{r}");
    }

    // Table: a SOURCE column first, and the total of both.
    let out = two.run(&["--profile", "beijing,singapore", "list"]);
    ok(&out);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("SOURCE     NAME"), "{}", lines[0]);
    assert_eq!(
        lines.last().copied(),
        Some(format!("{total} instances").as_str())
    );
    let singapore_rows = lines.iter().filter(|l| l.starts_with("singapore ")).count();
    assert_eq!(singapore_rows, sg.len(), "{}", out.stdout);

    // --all-profiles: the same, in the file's order.
    let out = two.run(&["--all-profiles", "list", "-o", "csv"]);
    ok(&out);
    assert_eq!(
        out.stdout.split("\r\n").filter(|l| !l.is_empty()).count(),
        total + 1
    );

    // One source: the output scripts already read, without a source.
    let out = two.run(&["--profile", "singapore", "list", "-o", "json"]);
    ok(&out);
    let items: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(items.len(), sg.len());
    assert!(items.iter().all(|n| n.get("source").is_none()));
}

#[test]
fn a_failing_source_fails_the_listing_by_name_and_prints_nothing() {
    let two = Two::new();
    two.sg.handle.set_faults(&["401".parse::<Fault>().unwrap()]);
    let out = two.run(&["--profile", "beijing,singapore", "list", "-o", "json"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.stdout, "", "nothing half-printed");
    assert!(
        out.stderr.starts_with("nbwatch: source `singapore`: ") && out.stderr.contains("401"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

#[test]
fn serve_and_actions_refuse_several_sources_and_say_what_to_do() {
    let two = Two::new();
    let out = two.run(&["--profile", "beijing,singapore", "serve"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("serve exports one source"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("beijing, singapore"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("fix: run one `nbwatch serve --profile NAME"),
        "{}",
        out.stderr
    );
    let before = (two.bj.handle.request_count(), two.sg.handle.request_count());
    let out = two.run(&["--profile", "beijing,singapore", "stop", "x", "--yes"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("an action goes to one source"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("fix: pass --profile NAME"),
        "{}",
        out.stderr
    );
    assert_eq!(
        (two.bj.handle.request_count(), two.sg.handle.request_count()),
        before,
        "nothing was sent"
    );
}

#[test]
fn a_misconfigured_source_is_named() {
    let two = Two::new();
    let out = two.run(&["--profile", "beijing,singapur", "list"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("source `singapur`"), "{}", out.stderr);
    assert!(
        out.stderr.contains("did you mean `singapore`"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}
