//! The documents promise tests by name: every promised test must exist.

use std::fs;
use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(fs::read_to_string(&p).unwrap());
        }
    }
}

#[test]
fn every_test_reliability_md_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = fs::read_to_string(root.join("RELIABILITY.md")).unwrap();
    let mut code = Vec::new();
    sources(&root.join("src"), &mut code);
    sources(&root.join("tests"), &mut code);
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
        let needle = format!("fn {name}(");
        if !code.iter().any(|c| c.contains(&needle)) {
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
