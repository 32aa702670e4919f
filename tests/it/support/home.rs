//! Helpers for the reliability tests that run the real `nbwatch` binary: a clean
//! environment, a temporary HOME, and what came out.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A fresh, empty HOME, removed afterwards.
pub struct Home(tempfile::TempDir);

impl Home {
    pub fn new(tag: &str) -> Home {
        let dir = tempfile::Builder::new()
            .prefix(&format!("nbwatch-rel-{tag}-"))
            .tempdir()
            .unwrap();
        Home(dir)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.0.path().join(rel)
    }

    pub fn str(&self, rel: &str) -> String {
        self.join(rel).to_string_lossy().into_owned()
    }

    /// Writes `text` to `rel` with unix `mode`, and returns its path.
    pub fn write(&self, rel: &str, text: &str, mode: u32) -> String {
        use std::os::unix::fs::PermissionsExt;
        let p = self.join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p.to_string_lossy().into_owned()
    }

    /// Every file under HOME (logs nbwatch wrote), as text.
    pub fn written(&self) -> String {
        fn walk(p: &Path, out: &mut String) {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    let path = e.path();
                    if path.is_dir() {
                        walk(&path, out);
                    } else if let Ok(b) = std::fs::read(&path) {
                        out.push_str(&String::from_utf8_lossy(&b));
                    }
                }
            }
        }
        let mut s = String::new();
        walk(self.0.path(), &mut s);
        s
    }
}

#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// No panic message, no backtrace, whatever happened.
    pub fn assert_no_panic(&self) {
        for bad in ["panicked", "backtrace", "RUST_BACKTRACE", "stack backtrace"] {
            assert!(
                !self.stderr.contains(bad) && !self.stdout.contains(bad),
                "{bad:?} in output: {self:?}"
            );
        }
    }
}

/// Runs `nbwatch args` with only `env` (plus HOME and RUST_BACKTRACE=1) in its
/// environment, so nothing of the developer's own setup leaks in.
pub fn nbwatch(home: &Home, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(super::bin());
    cmd.args(args)
        .env_clear()
        .env("HOME", home.path())
        .env("RUST_BACKTRACE", "1")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("nbwatch runs");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
