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
//! - A setting that a flag, a profile key and/or an environment variable
//!   set, of any kind (a duration, a whole number, a size in megabytes, a
//!   word, a path, a switch): `src/cli.rs` (the flag and its `From` line),
//!   `src/config/table.rs` (its row of `settings_rows!`: `Settings` field and
//!   profile key, kind, flag and `Overrides` field, variable, default,
//!   checks, doc) and `src/defaults.rs` (the value, where it has one).
//!   Everything else comes from the row: the `Overrides` and `Settings`
//!   fields, the profile key and its place in the unknown-key message, flag
//!   over environment over profile over default, the range, type and parsing
//!   errors, and the `[default: …]` of its help. A test
//!   (`cli::tests::every_setting_of_the_config_table_has_its_flag_and_reaches_the_overrides`)
//!   fails when a row's flag is missing or fills nothing. Worked examples:
//!   - a number, `--first-burst` (`first_sweep_burst`,
//!     `NBWATCH_FIRST_SWEEP_BURST`): `GlobalArgs::first_burst` and
//!     `first_sweep_burst: g.first_burst` in cli.rs; the row
//!     `first_sweep_burst: Count<u32> = FIRST_SWEEP_BURST (flag "--first-burst"
//!     => first_sweep_burst) { var, default, noun, per, unit, allowed }` in
//!     config/table.rs; `defaults::FIRST_SWEEP_BURST` in defaults.rs.
//!   - a switch, `--read-only` (`read_only = true`; no variable):
//!     `GlobalArgs::read_only` and `read_only: g.read_only` in cli.rs; the row
//!     `read_only: Switch = READ_ONLY (flag "--read-only" => read_only) { var:
//!     None, default: crate::defaults::READ_ONLY }` in config/table.rs;
//!     `defaults::READ_ONLY` in defaults.rs.
//!   - a word, `--workspace-param` (`workspace_param`,
//!     `NBWATCH_WORKSPACE_PARAM`): `FilterArgs::workspace_param` and its
//!     `From` line in cli.rs; the row `workspace_param: Text<WorkspaceParam> =
//!     WORKSPACE_PARAM (flag …) { var, parse: WorkspaceParam::parse, noun, fix
//!     }` in config/table.rs (its default is the type's `Default`). A path,
//!     `--journal`, is the same with `journal: Location = JOURNAL (flag …) {
//!     var, otherwise: |_| None }` (off unless set): two files each.
//!
//! - A setting with no flag (a profile key and a variable: `connect_timeout`,
//!   `journal_max_mb`, `ssh_key_dir`): its row, without the `(flag …)`, and
//!   its value in defaults.rs.
//!
//! - A new kind of row: its struct with its `Kind` and `Described` impls in
//!   config/table.rs, its type in a profile (`ProfileKey`) in config/file.rs
//!   and its reading (`Read`) in config/layers.rs; then its rows as above.
//!
//! Not rows, and so more than three files, because each is more than one
//! value from the layers:
//!
//! - A default filter (`--status` … `--sort-dir`, `NBWATCH_STATUS` …,
//!   `[profiles.NAME.filters]`): the filters are a table of their own in the
//!   profile and one `Filters` value the query is built from, a `--name ""`
//!   clears the file's, each has its own check (an undocumented status is a
//!   warning, not an error), and a new one needs its place in the query too:
//!   cli.rs, config/mod.rs (`Overrides`, `Filters`, its variable),
//!   config/file.rs (`RawFilters`), config/filters.rs and src/api/query.rs.
//! - Where and as whom (`--region`, `--endpoint`, `--project-id`, the
//!   credentials): the region and the endpoint are weighed against each other
//!   by layer, `--demo` replaces them, and the project id has two variables
//!   and the SDKs' credentials file (config/resolve.rs, config/identity.rs).
//! - An alert setting (`[profiles.NAME.alerts]`, `NBWATCH_ALERT_HOOK` …): no
//!   flag, a table of its own, and its value is a field of
//!   `crate::alerts::AlertConfig`: config/file.rs (`RawAlerts`),
//!   config/outputs.rs and src/alerts.rs.
//! - `--config`, `--profile`, `--all-profiles`: they choose the file and the
//!   profiles the rows are read from (config/resolve.rs, config/sources.rs).

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

/// The async runtime `cli`'s command runs on (the shipped binary and the
/// test-only example that drives the same dashboard build it here).
///
/// The watchers that stay on for days, the dashboard and `serve`, run on one
/// thread: their work is a page now and then (about a millisecond of CPU
/// each), and with pages decoded on one thread and dropped on another,
/// glibc's per-thread arenas kept memory the other threads had freed: the
/// soak saw `serve` grow 17 % from minute 2 to 10 at a steady population
/// (BENCHMARKS.md "Soak"). The one-shot commands (`list` reads pages four at
/// a time, `sim` serves them) keep two worker threads.
pub fn runtime(cli: &Cli) -> std::io::Result<tokio::runtime::Runtime> {
    if matches!(cli.command, None | Some(Command::Serve(_))) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    }
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
