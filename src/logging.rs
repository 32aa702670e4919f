//! Logs go to a file, never to the screen: the dashboard owns the terminal.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// Starts logging to `path` (created with its directory, mode 600 on unix) at a level
/// set by `verbose` (0 info, 1 debug, 2+ trace) or `NBWATCH_LOG`.
pub fn init(path: &Path, verbose: u8) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path)?;
    let level = match verbose {
        0 => "nbwatch=info",
        1 => "nbwatch=debug",
        _ => "nbwatch=trace",
    };
    let filter = EnvFilter::try_from_env("NBWATCH_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
    Ok(())
}
