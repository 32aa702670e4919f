//! The documents promise tests by name: every promised test must exist.

use std::fs;
use std::path::Path;

/// Files under `dir` that are the module `name`: `name.rs`, `name/mod.rs`, `name/tests.rs`.
fn modules_named(dir: &Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|f| f == name) {
                out.push(p.join("mod.rs"));
                out.push(p.join("tests.rs"));
            }
            out.extend(modules_named(&p, name));
        } else if p.file_name().is_some_and(|f| *f == *format!("{name}.rs")) {
            out.push(p);
        }
    }
    out
}

#[test]
fn every_test_reliability_md_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = fs::read_to_string(root.join("RELIABILITY.md")).unwrap();
    let mut named = 0;
    let mut missing = Vec::new();
    // References look like `file::test_name` inside backticks.
    for quoted in doc.split('`').skip(1).step_by(2) {
        let Some((file, name)) = quoted.rsplit_once("::") else {
            continue;
        };
        if file.contains(' ')
            || name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            continue;
        }
        if file == "file" {
            continue;
        }
        named += 1;
        // `file` is a module of the integration tests (`tests/it/FILE.rs`) or of
        // the library (`src/**/FILE.rs`, `src/**/FILE/mod.rs`); the test must be in it.
        let needle = format!("fn {name}(");
        let mut candidates = vec![
            root.join("tests/it").join(format!("{file}.rs")),
            root.join(file),
        ];
        candidates.extend(modules_named(&root.join("src"), file));
        let found = candidates
            .iter()
            .filter_map(|p| fs::read_to_string(p).ok())
            .any(|c| c.contains(&needle));
        if !found {
            missing.push(quoted.to_string());
        }
    }
    assert!(
        named > 50,
        "RELIABILITY.md should name its tests; found {named}"
    );
    assert!(
        missing.is_empty(),
        "RELIABILITY.md names tests that do not exist: {missing:?}"
    );
}

/// The tests run the binary users build: no cargo feature can switch on test-only
/// code, and the crate does not depend on itself with one (as it once did, so the
/// result of `cargo build --release && cargo test --release` depended on build order).
#[test]
fn the_crate_ships_no_test_only_feature() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest: toml::Table = fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        manifest.get("features").is_none(),
        "Cargo.toml declares features: {:?}",
        manifest.get("features")
    );
    let dev = manifest["dev-dependencies"].as_table().unwrap();
    assert!(
        !dev.contains_key("nbwatch"),
        "the crate is a dev-dependency of itself: {dev:?}"
    );
    let mut offenders = Vec::new();
    for file in rust_files(&root.join("src")) {
        let text = fs::read_to_string(&file).unwrap();
        if text.contains("cfg(feature") || text.contains("NBWATCH_TEST_") {
            offenders.push(file.display().to_string());
        }
    }
    assert!(
        offenders.is_empty(),
        "test-only switches in the shipped code: {offenders:?}"
    );
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[test]
fn readme_help_and_example_name_every_column() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let example = fs::read_to_string(root.join("config.example.toml")).unwrap();
    let help = nbwatch::cli::command().render_long_help().to_string();
    let names = nbwatch::app::SortColumn::keys(", ");
    assert!(
        example.contains(&names),
        "config.example.toml lists {names}"
    );
    assert!(help.contains(&names), "--help lists {names}:\n{help}");
    for c in nbwatch::app::SortColumn::ALL {
        let row = format!("| `{}` |", c.key());
        assert!(readme.contains(&row), "README's column table lacks {row}");
    }
}
