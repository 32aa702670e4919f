//! Opening a URL in the user's browser from the dashboard, without blocking
//! the render loop: the opener is started detached (its own process group,
//! no terminal I/O) and reaped by a task.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Stdio;

/// The openers tried, in order: `open` on macOS, `xdg-open` elsewhere. Debian
/// and Ubuntu install `open` as `openvt` (a virtual-console tool), so `open`
/// is not tried outside macOS.
const OPENERS: &[&str] = if cfg!(target_os = "macos") {
    &["open", "xdg-open"]
} else {
    &["xdg-open"]
};

/// Why nothing could open a URL, when no opener is installed.
pub const NO_OPENER: &str = "no xdg-open or open to start a browser";

/// The first opener found in `path` (a `PATH` value).
pub fn find(path: &OsStr) -> Option<PathBuf> {
    OPENERS.iter().find_map(|name| {
        std::env::split_paths(path)
            .map(|dir| dir.join(name))
            .find(|p| is_executable(p))
    })
}

#[cfg(unix)]
fn is_executable(p: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &std::path::Path) -> bool {
    p.is_file()
}

/// Starts the opener on `url` and returns at once; the error says why not.
/// Must run inside the Tokio runtime (a task waits for the opener).
pub fn open(url: &str) -> Result<(), String> {
    let program = find(&std::env::var_os("PATH").unwrap_or_default()).ok_or(NO_OPENER)?;
    spawn_detached(&program, url)
}

fn spawn_detached(program: &std::path::Path, url: &str) -> Result<(), String> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Out of the terminal's process group: a signal meant for nbwatch does not
    // reach the browser it started.
    #[cfg(unix)]
    cmd.process_group(0);
    match cmd.spawn() {
        Ok(mut child) => {
            tokio::spawn(async move {
                let _ = child.wait().await;
            });
            Ok(())
        }
        Err(e) => Err(format!("cannot run {}: {e}", program.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opener_is_found_on_the_path_only_when_executable() {
        let dir = tempfile::tempdir().unwrap();
        let name = OPENERS[0];
        let path = std::env::join_paths([dir.path()]).unwrap();
        assert_eq!(find(&path), None);
        let p = dir.path().join(name);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(find(&path), None, "not executable yet");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert_eq!(find(&path), Some(p));
    }

    #[tokio::test]
    async fn the_opener_gets_the_url_and_nbwatch_does_not_wait_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("argv");
        let script = dir.path().join(OPENERS[0]);
        // The opener outlives the call: it writes only after a while.
        std::fs::write(
            &script,
            format!("#!/bin/sh\nsleep 1\necho \"$1\" > '{}'\n", out.display()),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let program = find(&std::env::join_paths([dir.path()]).unwrap()).unwrap();
        spawn_detached(&program, "https://example.invalid/lab").unwrap();
        assert!(!out.exists(), "open waited for the opener");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::fs::read_to_string(&out).unwrap_or_default().is_empty() {
            assert!(std::time::Instant::now() < deadline, "the opener never ran");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "https://example.invalid/lab\n"
        );
        let missing = spawn_detached(&dir.path().join("nope"), "https://x").unwrap_err();
        assert!(missing.starts_with("cannot run "), "{missing}");
    }
}
