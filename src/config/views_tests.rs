//! Views and columns in the config file: what they become, and every mistake
//! named with the file, the line and the valid names.

use std::collections::BTreeMap;

use super::*;
use crate::api::model::Status;
use crate::app::{Sort, SortColumn};

const CREDS: [(&str, &str); 3] = [
    ("HUAWEICLOUD_SDK_AK", "AKENV"),
    (
        "HUAWEICLOUD_SDK_SK",
        "SKZETA9f8e7d6c5b4a3210QWERTYuiopASDFghjk",
    ),
    (
        "HUAWEICLOUD_SDK_PROJECT_ID",
        "0123456789abcdef0123456789abcdef",
    ),
];

/// Resolves with `text` as the config file (and `--region`), and `--view`.
fn resolve_with(text: &str, view: Option<&str>) -> (Result<Settings, ConfigError>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".config/nbwatch/config.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    let env: BTreeMap<String, String> = CREDS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let o = Overrides {
        region: Some("cn-north-4".into()),
        view: view.map(str::to_string),
        ..Overrides::default()
    };
    let r = resolve(&o, &env, &Dirs::under(dir.path()));
    (r, path.display().to_string())
}

fn ok(text: &str) -> Settings {
    resolve_with(text, None).0.unwrap()
}

/// The error for `text`, checked to start at `path:line:`.
fn err_at(text: &str, line: usize) -> ConfigError {
    let (r, path) = resolve_with(text, None);
    let e = r.expect_err("a config error");
    assert!(
        e.to_string().starts_with(&format!("{path}:{line}:")),
        "expected {path}:{line}: in {e}"
    );
    e
}

const TWO_VIEWS: &str = r#"
columns = ["name", "status", "lease"]

[views.training]
name = "train"
status = ["running", "STARTING"]
sort = "lease"
sort_dir = "desc"
columns = ["status", "name", "in_status"]

[views.failing]
problems = true
"#;

#[test]
fn views_come_in_file_order_with_their_filter_sort_and_columns() {
    let s = ok(TWO_VIEWS);
    let names: Vec<&str> = s.views.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["training", "failing"], "the file's order");
    let t = &s.views[0];
    assert_eq!(t.filter.name, "train");
    assert_eq!(
        t.filter.statuses.iter().cloned().collect::<Vec<_>>(),
        [Status::Starting, Status::Running]
    );
    assert!(!t.filter.problems_only);
    assert_eq!(
        t.sort,
        Sort {
            column: SortColumn::Lease,
            descending: true
        }
    );
    assert_eq!(
        t.columns.as_deref(),
        Some(&[SortColumn::Status, SortColumn::Name, SortColumn::InStatus][..])
    );
    let f = &s.views[1];
    assert!(f.filter.problems_only);
    assert_eq!(f.sort, Sort::default(), "no sort: the default");
    assert_eq!(f.columns, None, "no columns: the configured ones");
    assert_eq!(
        s.columns,
        [SortColumn::Name, SortColumn::Status, SortColumn::Lease]
    );
    assert_eq!(s.start_view, None);
}

#[test]
fn a_profile_s_columns_beat_the_file_s_and_none_means_every_column() {
    let s = ok("columns = [\"name\"]\n[profiles.default]\ncolumns = [\"Status\", \"age\"]\n");
    assert_eq!(s.columns, [SortColumn::Status, SortColumn::Age]);
    let s = ok("[profiles.default]\ninterval = 5\n");
    assert!(s.columns.is_empty());
    assert!(s.views.is_empty());
}

#[test]
fn view_names_the_view_to_start_with() {
    let (r, _) = resolve_with(TWO_VIEWS, Some("failing"));
    assert_eq!(r.unwrap().start_view, Some(1));
}

#[test]
fn an_unknown_view_names_the_ones_that_exist() {
    let (r, path) = resolve_with(TWO_VIEWS, Some("failng"));
    let e = r.unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnknownView);
    assert_eq!(e.at, Some(Origin::Cli("--view")));
    assert!(e.problem.contains("view `failng` is not defined"), "{e}");
    assert!(e.fix.contains("did you mean `failing`?"), "{e}");
    assert!(
        e.fix
            .contains(&format!("the views of {path}: training, failing")),
        "{e}"
    );
    let (r, _) = resolve_with("[profiles.default]\n", Some("x"));
    let e = r.unwrap_err();
    assert!(e.fix.contains("defines no views"), "{e}");
}

#[test]
fn an_unknown_column_names_file_line_and_the_valid_names() {
    let e = err_at(
        "[profiles.default]\n\ncolumns = [\"name\", \"flavour\"]\n",
        3,
    );
    assert_eq!(e.kind, ErrorKind::InvalidValue);
    assert!(e.problem.contains("unknown column `flavour`"), "{e}");
    assert!(e.fix.contains("did you mean `flavor`?"), "{e}");
    assert!(
        e.fix.contains(
            "valid columns: source, name, status, feature, flavor, image, lease, age, in_status"
        ),
        "{e}"
    );
    // In a view, at the top level too.
    let e = err_at("columns = [\"name\"]\n[views.v]\ncolumns = [\"nmae\"]\n", 3);
    assert!(e.fix.contains("did you mean `name`?"), "{e}");
    let e = err_at("columns = [\"zzz\"]\n", 1);
    assert!(e.problem.contains("unknown column `zzz`"), "{e}");
}

#[test]
fn column_lists_are_neither_empty_nor_repeated() {
    let e = err_at("columns = []\n", 1);
    assert!(e.problem.contains("empty"), "{e}");
    let e = err_at("\ncolumns = [\"name\", \"NAME\"]\n", 2);
    assert!(e.problem.contains("column `name` is listed twice"), "{e}");
}

#[test]
fn an_unknown_status_in_a_view_is_an_error_naming_the_documented_ones() {
    let e = err_at("[views.v]\nstatus = [\"RUNNING\", \"RUNING\"]\n", 2);
    assert!(e.problem.contains("unknown status `RUNING`"), "{e}");
    assert!(e.fix.contains("did you mean RUNNING?"), "{e}");
    assert!(e.fix.contains("CREATE_FAILED"), "{e}");
    // A single string where a list belongs: said plainly.
    let e = err_at("[views.v]\nstatus = \"RUNNING\"\n", 2);
    assert_eq!(e.kind, ErrorKind::WrongType);
    assert!(
        e.fix.contains("status = [\"RUNNING\", \"STARTING\"]"),
        "{e}"
    );
}

#[test]
fn a_bad_sort_or_direction_is_an_error() {
    let e = err_at("[views.v]\nsort = \"size\"\n", 2);
    assert!(e.problem.contains("unknown sort `size`"), "{e}");
    assert!(e.fix.contains("valid columns: source, name"), "{e}");
    let e = err_at("[views.v]\nsort = \"age\"\nsort_dir = \"down\"\n", 3);
    assert!(e.fix.contains("\"asc\""), "{e}");
    let s = ok("[views.v]\nsort = \"AGE\"\nsort_dir = \"ASC\"\n");
    assert_eq!(s.views[0].sort.column, SortColumn::Age);
}

#[test]
fn an_unknown_key_in_a_view_lists_the_view_keys() {
    let e = err_at("[views.v]\nproblem = true\n", 2);
    assert_eq!(e.kind, ErrorKind::UnknownKey);
    assert!(
        e.problem.contains("unknown key `problem` in [views.v]"),
        "{e}"
    );
    assert!(e.fix.contains("did you mean `problems`?"), "{e}");
    assert!(
        e.fix
            .contains("name, status, problems, sort, sort_dir, columns"),
        "{e}"
    );
    // A view that is not a table.
    let e = err_at("[views]\nv = 1\n", 2);
    assert!(e.fix.contains("[views.v]"), "{e}");
}

#[test]
fn the_example_config_has_two_views_that_parse() {
    let text = include_str!("../../config.example.toml");
    let f =
        file::ConfigFile::parse(std::path::Path::new("config.example.toml"), text.into()).unwrap();
    let views = views::views(Some(&f)).unwrap();
    assert!(views.len() >= 2, "{views:?}");
}
