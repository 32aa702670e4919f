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

/// The modules of the `it` target: the `mod NAME;` lines of tests/it/main.rs.
fn it_modules(root: &Path) -> Vec<String> {
    fs::read_to_string(root.join("tests/it/main.rs"))
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("mod ")?.strip_suffix(';'))
        .map(str::to_string)
        .collect()
}

/// Targets of a kind (`tests`, `benches`): `DIR/NAME.rs`, `DIR/NAME/main.rs`, and
/// `[[test]]`/`[[bench]]` names in Cargo.toml.
fn targets(root: &Path, dir: &str, table: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in fs::read_dir(root.join(dir)).unwrap().flatten() {
        let p = entry.path();
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        if p.extension().is_some_and(|e| e == "rs") || p.join("main.rs").exists() {
            out.push(name);
        }
    }
    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for block in manifest.split(&format!("[[{table}]]")).skip(1) {
        if let Some(name) = block.lines().find_map(|l| l.trim().strip_prefix("name = ")) {
            out.push(name.trim_matches('"').to_string());
        }
    }
    out
}

/// The `cargo test` / `cargo bench` commands quoted in `text`, inline or in a
/// code block, each up to its closing backtick, comment or table cell.
fn cargo_commands(text: &str) -> Vec<String> {
    // An inline command quoted over two lines carries on with its next flag.
    let text = text.replace("\n--", " --");
    let mut out = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(i) = ["cargo test", "cargo bench"]
            .iter()
            .filter_map(|c| rest.find(c))
            .min()
        {
            let cmd = &rest[i..];
            let end = cmd.find(['`', '#', '|']).unwrap_or(cmd.len());
            out.push(cmd[..end].trim().to_string());
            rest = &cmd[end..];
        }
    }
    out
}

/// Each command that names a target that does not exist, or a filter naming a
/// module the `it` target does not have.
fn broken_commands(root: &Path, text: &str) -> (usize, Vec<String>) {
    let tests = targets(root, "tests", "test");
    let benches = targets(root, "benches", "bench");
    let modules = it_modules(root);
    let commands = cargo_commands(text);
    let mut broken = Vec::new();
    for cmd in &commands {
        let mut words = cmd.split_whitespace().skip(2);
        let mut in_it = false;
        while let Some(w) = words.next() {
            if w == "--test" || w == "--bench" {
                let (known, kind) = if w == "--test" {
                    (&tests, "test")
                } else {
                    (&benches, "bench")
                };
                match words.next() {
                    // A placeholder (`--bench …`, `--test <NAME>`) names no target.
                    Some(name) if name.contains(['…', '<']) => {}
                    Some(name) if known.iter().any(|t| t == name) => {
                        in_it = kind == "test" && name == "it";
                    }
                    name => broken.push(format!("{cmd}: no {kind} target {name:?}")),
                }
            } else if in_it && w.contains("::") {
                let module = w.split("::").next().unwrap_or(w);
                if !modules.iter().any(|m| m == module) {
                    broken.push(format!("{cmd}: the `it` target has no module `{module}`"));
                }
            }
        }
    }
    (commands.len(), broken)
}

#[test]
fn every_command_and_target_the_documents_quote_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut broken = Vec::new();
    let mut checked = 0;
    for doc in ["RELIABILITY.md", "README.md", "BENCHMARKS.md"] {
        let text = fs::read_to_string(root.join(doc)).unwrap();
        let (n, b) = broken_commands(root, &text);
        checked += n;
        broken.extend(b.into_iter().map(|b| format!("{doc}: {b}")));
    }
    assert!(
        checked > 10,
        "the documents quote commands; found {checked}"
    );
    assert!(
        broken.is_empty(),
        "commands that no longer run: {broken:#?}"
    );
    // And the checker catches what RELIABILITY.md once said.
    let (_, old) = broken_commands(
        root,
        "`cargo test --test reliability_poller --test reliability_auth\n--test config_errors` and `cargo test --test it nope::`",
    );
    assert_eq!(old.len(), 4, "{old:#?}");
}

#[test]
fn every_integration_module_reliability_md_names_is_compiled() {
    // `file::test_name` in tests/it/FILE.rs counts only if main.rs has `mod FILE;`.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = fs::read_to_string(root.join("RELIABILITY.md")).unwrap();
    let modules = it_modules(root);
    let mut orphans = Vec::new();
    for quoted in doc.split('`').skip(1).step_by(2) {
        let Some((file, _)) = quoted.rsplit_once("::") else {
            continue;
        };
        if root.join("tests/it").join(format!("{file}.rs")).exists()
            && !modules.iter().any(|m| m == file)
        {
            orphans.push(quoted.to_string());
        }
    }
    assert!(
        orphans.is_empty(),
        "named in files `it` never compiles: {orphans:?}"
    );
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
