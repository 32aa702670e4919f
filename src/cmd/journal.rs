//! `nbwatch journal FILE`: a journal written with `--journal`, as a timeline.

use std::io::Write;

use crate::cli::{FilterArgs, JournalArgs};

use super::CmdError;

/// `nbwatch journal FILE`: the journal as a readable timeline.
pub fn run(args: &JournalArgs, f: &FilterArgs, utc_offset_secs: i32) -> Result<(), CmdError> {
    use crate::cli::ColorChoice;
    use crate::journal;
    use std::io::IsTerminal;
    let since_ms = match args.since.as_deref().map(crate::timefmt::parse_secs) {
        None => None,
        Some(Ok(secs)) if secs.is_finite() && secs >= 0.0 => {
            Some(crate::timefmt::now_ms() - (secs * 1000.0) as i64)
        }
        Some(Ok(_)) | Some(Err(_)) => {
            return Err(CmdError::usage(format!(
                "--since {}: not a duration; fix: write e.g. 30m, 2h or 1d",
                args.since.as_deref().unwrap_or_default()
            )));
        }
    };
    let read = journal::read(&args.file).map_err(|e| {
        CmdError::usage(format!(
            "cannot read the journal {}: {e}; fix: give the file written with --journal",
            args.file.display()
        ))
    })?;
    if read.unreadable_lines > 0 {
        eprintln!(
            "nbwatch: warning: {} line(s) of {} are not journal entries and were skipped",
            read.unreadable_lines,
            args.file.display()
        );
    }
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let filter = journal::Selection {
        name: f.name.clone(),
        status: f.one_status().cloned(),
        since_ms,
    };
    let text = crate::output::timeline::timeline(&read.entries, &filter, color, utc_offset_secs);
    // A closed pipe (`| head`) is not an error worth a message.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(())
}
