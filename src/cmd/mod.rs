//! The command layer: one module per command, and the one error they fail with.
//! `main.rs` parses the command line ([`crate::cli`]) and calls [`main`]; each
//! command returns `Result<(), CmdError>`, and [`CmdError::report`] turns the
//! error into its line and exit code, in one place.
//!
//! ```text
//!  cli::Cli ─► cmd::run ─┬─ sim, completions, man, journal     (no service, no config)
//!                        └─ setup: config::resolve_sources (demo: in-process simulators)
//!                             ├─ list            ├─ serve          ├─ act (start/stop/extend/delete)
//!                             ├─ ssh, ssh-config └─ dashboard (no subcommand)
//! ```
//!
//! Adding a command-line option touches three files or fewer (code; the
//! user's documentation, README.md and config.example.toml, aside):
//!
//! - An option of one command: `src/cli.rs` (its args struct), the command's
//!   module here (`serve.rs`, `list.rs` …) and, when the work is done outside
//!   the command layer, the plain struct it fills (e.g. `serve::Parts`).
//! - A setting that only a flag sets (it overrides the configuration):
//!   `src/cli.rs` (the flag, and its line in `impl From<&Cli> for Overrides`),
//!   `src/config/mod.rs` (the `Overrides` and `Settings` fields, the latter's
//!   default in `Settings::for_endpoint`) and `src/config/resolve.rs` (where
//!   it meets the layers). E.g. `--view`: `GlobalArgs::view` and its `From`
//!   line in cli.rs, `Overrides::view` and `Settings::start_view` in
//!   config/mod.rs, the `start_view` line in config/resolve.rs.
//! - A number or duration that a flag, a profile key and an environment
//!   variable all set: `src/cli.rs` (the flag and its `From` line),
//!   `src/config/table.rs` (its row of `settings_rows!`: key, `Overrides`
//!   field, flag, variable, default, range, doc) and `src/defaults.rs` (the
//!   value). Everything else comes from the row: the `Overrides` and
//!   `Settings` fields, the profile key and its place in the unknown-key
//!   message, flag over environment over profile over default, the range and
//!   type errors, and the `[default: …]` of its help. Worked example,
//!   `--first-burst` (`first_sweep_burst`, `NBWATCH_FIRST_SWEEP_BURST`):
//!   `GlobalArgs::first_burst` and `first_sweep_burst: g.first_burst` in
//!   cli.rs, the `first_sweep_burst: u32 = FIRST_SWEEP_BURST { … }` row in
//!   config/table.rs, `defaults::FIRST_SWEEP_BURST` in defaults.rs; a test
//!   (`cli::tests::every_setting_of_the_config_table_has_its_flag_and_reaches_the_overrides`)
//!   fails when a row's flag is missing or fills nothing.
//!
//! - A duration that a profile key and an environment variable set, with no
//!   flag (`connect_timeout`): its row in the `unflagged` group of
//!   config/table.rs and its value in defaults.rs.
//!
//! Not yet three: a text, path or switch that a flag, a profile key and an
//! environment variable all set (`--workspace-param`, `--log-file`,
//! `--journal`; `--read-only` has no variable) is read by its own code, so
//! it touches four: cli.rs, config/mod.rs (its fields and its variable's
//! name), config/file.rs (its `RawProfile` key) and config/resolve.rs. And
//! `journal_max_mb` (a number with no flag, kept in bytes) is a constant row
//! read by hand: table.rs, file.rs, mod.rs, resolve.rs.

pub mod act;
pub mod dashboard;
pub mod error;
pub mod journal;
pub mod list;
pub mod man;
pub mod serve;
mod setup;
pub mod sim;
pub mod ssh;

use std::process::ExitCode;

use crate::api::actions::Verb;
use crate::cli::{Cli, Command};

pub use error::{CmdError, Kind};

/// The async runtime every command runs on (the shipped binary and the
/// test-only example that drives the same dashboard build it here).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// Entry point after argument parsing: runs the command and gives its exit
/// code. `utc_offset_secs` is read before any thread starts.
pub async fn main(cli: Cli, utc_offset_secs: i32) -> ExitCode {
    match run(cli, utc_offset_secs).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

/// Runs the command `cli` names (none: the dashboard).
pub async fn run(cli: Cli, utc_offset_secs: i32) -> Result<(), CmdError> {
    let acts = matches!(
        cli.command,
        Some(Command::Start(_) | Command::Stop(_) | Command::Extend(_) | Command::Delete(_))
    );
    if cli.filters.status.len() > 1 && !acts {
        return Err(CmdError::usage(format!(
            "--status was given {} times; the service filters on one status; fix: give one (several are for start, stop, extend and delete)",
            cli.filters.status.len()
        )));
    }
    match &cli.command {
        Some(Command::Sim(args)) => return sim::run(args).await,
        Some(Command::Completions(args)) => return man::completions(args),
        Some(Command::Man) => return man::man_page(),
        Some(Command::Journal(args)) => {
            return journal::run(args, &cli.filters, utc_offset_secs);
        }
        _ => {}
    }
    if cli.global.view.is_some() && cli.command.is_some() {
        return Err(CmdError::usage(
            "--view chooses the dashboard's view, and a subcommand was given; fix: leave --view out, or run `nbwatch --view NAME` alone",
        ));
    }

    let setup = setup::Setup::resolve(&cli).await?;
    let (settings, query) = setup.first()?;
    let acting = |verb, args| act::run(settings, query, &cli.filters, verb, args);
    match &cli.command {
        Some(Command::List(args)) => list::run(&setup.all, &setup.queries, args).await,
        Some(Command::Serve(args)) => serve::run(settings, query.clone(), args).await,
        Some(Command::Start(a)) => acting(Verb::Start, a).await,
        Some(Command::Stop(a)) => acting(Verb::Stop, a).await,
        Some(Command::Extend(a)) => acting(Verb::Extend, a).await,
        Some(Command::Delete(a)) => acting(Verb::Delete, a).await,
        Some(Command::Ssh(a)) => ssh::ssh(settings, query, a).await,
        Some(Command::SshConfig(a)) => ssh::ssh_config(settings, query, a).await,
        Some(Command::Sim(_) | Command::Completions(_) | Command::Man | Command::Journal(_)) => {
            Ok(())
        }
        None => {
            dashboard::run(
                &setup.all,
                setup.queries.clone(),
                cli.global.demo,
                utc_offset_secs,
            )
            .await
        }
    }
}
