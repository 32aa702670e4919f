//! A test-only target (never installed: `cargo install` builds no examples): the
//! real dashboard, from nbwatch's own command line, in a process that panics on
//! the dashboard's own thread after `NBWATCH_PANIC_AFTER_MS`. The integration
//! tests run it in a pseudo-terminal to prove that the terminal guard the shipped
//! binary uses gives the terminal back on a panic, and that what a panic prints
//! carries no secret. The shipped binary reads no such variable.
//!
//! The panic comes from a branch of the same task that runs the dashboard, as a
//! bug in the event loop would: the dashboard's future is not polled again, the
//! panic hook restores the terminal and prints the message, and the process exits
//! with 101.

use std::process::ExitCode;
use std::time::Duration;

/// What the panic says; the tests look for it on the normal screen.
const MESSAGE: &str = "test panic requested by NBWATCH_PANIC_AFTER_MS";

fn main() -> ExitCode {
    let after = std::env::var("NBWATCH_PANIC_AFTER_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_millis);
    let cli = nbwatch::cli::parse();
    let utc_offset = nbwatch::timefmt::local_offset_secs();
    let runtime = match nbwatch::cmd::runtime(&cli) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("panic_dashboard: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let Some(after) = after else {
            return nbwatch::cmd::main(cli, utc_offset).await;
        };
        tokio::select! {
            code = nbwatch::cmd::main(cli, utc_offset) => code,
            () = tokio::time::sleep(after) => panic!("{MESSAGE}"),
        }
    })
}
