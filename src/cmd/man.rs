//! `nbwatch completions SHELL` and `nbwatch man`: both from the one command
//! line definition, [`crate::cli::command`].

use std::io::Write;

use crate::cli::CompletionsArgs;

use super::CmdError;

/// `nbwatch completions SHELL`: the shell's completion script.
pub fn completions(args: &CompletionsArgs) -> Result<(), CmdError> {
    let mut cmd = crate::cli::command();
    clap_complete::generate(args.shell, &mut cmd, "nbwatch", &mut std::io::stdout());
    Ok(())
}

/// `nbwatch man`: the manual page, from the same definitions as `--help`.
pub fn man_page() -> Result<(), CmdError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(crate::cli::command())
        .render(&mut out)
        .map_err(|e| CmdError::service(format!("cannot render the manual page: {e}")))?;
    // A closed pipe (`| head`) is not an error worth a message.
    let _ = std::io::stdout().lock().write_all(&out);
    Ok(())
}
