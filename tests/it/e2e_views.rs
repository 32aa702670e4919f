//! Views end to end: the real dashboard in a pseudo-terminal, started with a
//! config file that holds a view; the user changes the filter by hand, then
//! `v` brings the view back, whole.

use crate::support::dash::{Dash, Launch, Sim, row_status, table_lines, table_rows, title_line};

const ENTER: &str = "\r";

const CONFIG: &str = r#"
[views.running]
status = ["RUNNING"]
sort = "age"
sort_dir = "desc"
columns = ["status", "name", "age", "in_status"]
"#;

/// The dashboard against `sim`, with CONFIG as its config file, and `extra` arguments.
fn launch(sim: &Sim, extra: &[&str]) -> (Dash, tempfile::TempDir) {
    let cfg = tempfile::Builder::new()
        .prefix("nbwatch-e2e-views-")
        .tempdir()
        .unwrap();
    let path = cfg.path().join("config.toml");
    std::fs::write(&path, CONFIG).unwrap();
    let mut l = Launch::against(sim, 120, 40)
        .arg("--config")
        .arg(path.to_str().unwrap());
    for a in extra {
        l = l.arg(a);
    }
    (l.start(), cfg)
}

/// The table's column titles line.
fn header(screen: &str) -> String {
    table_lines(screen)
        .into_iter()
        .find(|l| l.contains("NAME") && l.contains("STATUS"))
        .unwrap_or_default()
}

#[test]
fn a_view_from_the_config_file_comes_back_with_v() {
    let sim = Sim::manual(false);
    let statuses = sim.statuses();
    let running = statuses.values().filter(|s| *s == "RUNNING").count();
    assert!(
        running > 0,
        "the simulator runs some instances: {statuses:?}"
    );
    let (mut d, _cfg) = launch(&sim, &[]);
    let (_, total) = d.wait_table();
    let s = d.screen();
    assert!(!title_line(&s).contains("view "), "no view at start:\n{s}");

    // By hand: problems only, and a name filter.
    d.send("!");
    d.wait("problems only", |s| s.contains("problems only"));
    d.send("/zzz");
    d.wait("the name filter", |s| s.contains("name ~ \"zzz\""));
    d.send(ENTER);

    // `v`: the picker lists the view; Enter applies it.
    d.send("v");
    let s = d.wait("the view picker", |s| {
        s.contains("Views") && s.contains("▸ running") && s.contains("no view")
    });
    assert!(s.contains("status RUNNING · sort age ▼"), "{s}");
    d.send(ENTER);
    let s = d.wait("the view applied", |s| {
        title_line(s).contains("view running") && !s.contains("name ~")
    });
    // Its filter replaced the one typed: RUNNING only, no problems-only, no name.
    assert!(!s.contains("problems only"), "{s}");
    assert!(s.contains("status RUNNING"), "{s}");
    let rows = table_rows(&s);
    assert!(!rows.is_empty(), "{s}");
    for r in &rows {
        assert_eq!(row_status(r).as_deref(), Some("RUNNING"), "{r}");
    }
    let title = title_line(&s);
    assert!(title.contains(&format!("{running}/{total}")), "{title}");
    assert!(title.contains("sort age ▼"), "{title}");
    // Its columns, in its order.
    let h = header(&s);
    let at = |t: &str| h.find(t).unwrap_or_else(|| panic!("{t} not in {h:?}"));
    assert!(at("STATUS") < at("NAME") && at("NAME") < at("AGE"), "{h}");
    assert!(at("AGE") < at("IN STATUS"), "{h}");
    assert!(!h.contains("FLAVOR") && !h.contains("LEASE"), "{h}");

    d.send("q");
    let f = d.finish();
    assert_eq!(f.code, 0);
    f.assert_restored();
}

#[test]
fn view_starts_the_dashboard_with_the_view() {
    let sim = Sim::manual(false);
    let (mut d, _cfg) = launch(&sim, &["--view", "running"]);
    d.wait_table();
    let s = d.wait("the view's rows", |s| {
        title_line(s).contains("view running") && !table_rows(s).is_empty()
    });
    for r in table_rows(&s) {
        assert_eq!(row_status(&r).as_deref(), Some("RUNNING"), "{r}");
    }
    d.send("q");
    let f = d.finish();
    assert_eq!(f.code, 0);
    f.assert_restored();
}
