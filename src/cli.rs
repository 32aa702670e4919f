//! Command-line definitions. Global flags work before or after the subcommand.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Overrides;
use crate::output::Format;
use crate::secret::Secret;
use crate::serve::StatusSeries;
use crate::sim::{Churn, ChurnMode, Fault, SimConfig};

#[derive(Debug, Parser)]
#[command(
    name = "nbwatch",
    version,
    about = "Watch Huawei Cloud ModelArts notebook instances live, from the terminal",
    long_about = "Watch Huawei Cloud ModelArts notebook instances live, from the terminal.\n\n\
        With no subcommand, opens the dashboard for the configured profile.\n\
        Try it with no cloud account: nbwatch --demo\n\n\
        Credentials: HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK (and HUAWEICLOUD_SDK_SECURITY_TOKEN),\n\
        ~/.huaweicloud/credentials, NBWATCH_AUTH_TOKEN for an IAM token, or the config file.\n\
        The SK is never taken as a command-line value: it would show in `ps`."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(flatten)]
    pub filters: FilterArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every instance once (table, JSON or CSV) and exit: for scripts and quick looks.
    List(ListArgs),
    /// Serve the built-in ModelArts simulator, for trying nbwatch or testing scripts.
    Sim(SimArgs),
    /// Poll like the dashboard, with no terminal, and export the instances for
    /// Prometheus and Alertmanager on /metrics (and /healthz).
    Serve(ServeArgs),
    /// Start instances (auto-stop after --duration, default 1h): those named, or
    /// those --status/--name/--feature select.
    Start(ActionArgs),
    /// Stop running instances: those named, or those --status/--name/--feature select.
    Stop(ActionArgs),
    /// Extend running instances' auto-stop: they stop --duration from now (default 1h).
    Extend(ActionArgs),
    /// Delete stopped (or failed) instances. This cannot be undone.
    Delete(ActionArgs),
    /// Print a shell completion script (e.g. `nbwatch completions bash > ~/.local/share/bash-completion/completions/nbwatch`).
    Completions(CompletionsArgs),
    /// Print the manual page in roff (e.g. `nbwatch man | man -l -`).
    Man,
    /// Log in to a RUNNING instance over SSH (user ma-user, the endpoint's host
    /// and port, ~/.ssh/KEYPAIR.pem); --print shows the command instead.
    Ssh(SshArgs),
    /// Print `Host` blocks for ~/.ssh/config (every RUNNING instance with an
    /// SSH endpoint, or those named), for `ssh ALIAS` and VS Code's Remote-SSH.
    SshConfig(SshConfigArgs),
    /// Print a journal written with --journal as a timeline, oldest first
    /// (--name and --status filter it too).
    Journal(JournalArgs),
}

#[derive(Debug, Args, Clone)]
pub struct JournalArgs {
    /// The journal file (its rotated part, FILE.1, is read first when present)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Only the last stretch of time, e.g. 30m, 2h, 1d
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Colour the statuses: auto (when printing to a terminal and NO_COLOR is unset), always, never
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// What `start`, `stop`, `extend` and `delete` take.
#[derive(Debug, Args, Clone)]
pub struct ActionArgs {
    /// The instances: each an id or an exact name (an ambiguous name lists the
    /// candidates). Or none, and select them with --status (repeatable), --name
    /// (a substring, or a glob with '*') and --feature
    #[arg(value_name = "INSTANCE")]
    pub instances: Vec<String>,

    /// Print the instances it would act on (name, id, status) and why any are skipped; send nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Auto-stop after this long, from now: 4h, 90m, 1h30m, 2d (1h to 72h; start and extend only)
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,

    /// Act without asking (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Follow the instances, printing each status, until they settle: exit 0 when
    /// all reach the expected status (RUNNING, STOPPED, deleted), 1 otherwise
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args, Clone)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The command line's definition, with each default taken from its one home
/// ([`crate::defaults`]) into the help text. Parsing, completions and the man
/// page all start here.
pub fn command() -> clap::Command {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    // The column names, from their one list, for `columns = [...]` and a view's `sort`.
    cmd = cmd.mut_arg("view", |a| {
        let help = a.get_help().map(ToString::to_string).unwrap_or_default();
        a.help(format!(
            "{help}. Columns, for `columns` and `sort`: {}",
            crate::app::SortColumn::keys(", ")
        ))
    });
    // Each setting's default (and allowed values), from its row in the config table.
    for (long, add) in crate::config::flags()
        .into_iter()
        .filter_map(|f| Some((f.long, f.help?)))
    {
        let id = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(long))
            .map(|a| a.get_id().clone());
        if let Some(id) = id {
            cmd = cmd.mut_arg(id, |a| {
                let help = a.get_help().map(ToString::to_string).unwrap_or_default();
                a.help(format!("{help}{add}"))
            });
        }
    }
    cmd
}

/// Parses the process's arguments against [`command`]; exits with clap's
/// message on bad usage, as clap does.
pub fn parse() -> Cli {
    let matches = command().get_matches();
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

#[derive(Debug, Args, Default, Clone)]
pub struct GlobalArgs {
    /// Config file [default: the platform config dir, e.g. ~/.config/nbwatch/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Profile of the config file to use; several, comma-separated, are watched together
    #[arg(long, global = true, value_name = "NAME[,NAME…]")]
    pub profile: Option<String>,

    /// Watch every profile of the config file together, one source each
    #[arg(long, global = true, conflicts_with = "profile")]
    pub all_profiles: bool,

    /// Region, e.g. cn-north-4 (picks the endpoint)
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// Endpoint URL, overriding the region's (http:// allowed, e.g. a local simulator)
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Project id [env: HUAWEICLOUD_SDK_PROJECT_ID]
    #[arg(long, global = true, value_name = "ID")]
    pub project_id: Option<String>,

    /// Time between polls of the dashboard (5s, 2m; a bare number is seconds)
    #[arg(long, global = true, value_name = "DURATION", value_parser = crate::timefmt::parse_secs)]
    pub interval: Option<f64>,

    /// Time between polls while an instance is changing state (a bare number is seconds)
    #[arg(long, global = true, value_name = "DURATION", value_parser = crate::timefmt::parse_secs)]
    pub fast_interval: Option<f64>,

    /// Most requests per minute the dashboard may send
    #[arg(long, global = true, value_name = "N")]
    pub budget: Option<u32>,

    /// Requests the first sweep may send past the budget, so a large project's
    /// rows arrive in seconds; 0 for none
    #[arg(long, global = true, value_name = "N")]
    pub first_burst: Option<u32>,

    /// Time in a transitional status before an instance is marked stuck (600, 10m)
    #[arg(long, global = true, value_name = "DURATION", value_parser = crate::timefmt::parse_secs)]
    pub stuck_after: Option<f64>,

    /// Requests in flight at once: pages after the first, and the requests of an
    /// action on several instances
    #[arg(long, global = true, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Per-request timeout (10, 10s, 1m: a bare number is seconds)
    #[arg(long, global = true, value_name = "DURATION", value_parser = crate::timefmt::parse_secs)]
    pub timeout: Option<f64>,

    /// Log file [default: nbwatch.log in the platform data dir]
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,

    /// Append every change seen (one JSON line each) to this file; read it with `nbwatch journal FILE`
    #[arg(long, global = true, value_name = "PATH")]
    pub journal: Option<PathBuf>,

    /// More log detail (-v debug, -vv trace); logs never go to the screen
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Run against a built-in simulator on a loopback port: no account needed
    #[arg(long, global = true)]
    pub demo: bool,

    /// Hide and refuse every action (start, stop, extend, delete); also `read_only = true` in a profile
    #[arg(long, global = true)]
    pub read_only: bool,

    /// Start the dashboard with this view of the config file ([views.NAME]: name filter,
    /// statuses, problems only, sort, columns; `v` picks one while it runs)
    #[arg(long, value_name = "NAME")]
    pub view: Option<String>,
}

/// Server-side filters, for the dashboard and `list`.
#[derive(Debug, Args, Default, Clone)]
pub struct FilterArgs {
    /// Only instances in this status (e.g. RUNNING, CREATE_FAILED); start, stop,
    /// extend and delete take it more than once
    #[arg(long, global = true, value_name = "STATUS", action = clap::ArgAction::Append)]
    pub status: Vec<String>,

    /// Fuzzy name match (spaces, '*', non-ASCII are fine); for start, stop, extend
    /// and delete a '*' makes it a glob matched by nbwatch
    #[arg(long, global = true, value_name = "TEXT")]
    pub name: Option<String>,

    /// NOTEBOOK (billed, the server's default) or DEFAULT (free CodeLab)
    #[arg(long, global = true, value_name = "FEATURE")]
    pub feature: Option<String>,

    /// Dedicated resource pool id
    #[arg(long, global = true, value_name = "ID")]
    pub pool_id: Option<String>,

    /// Owner user id (admins only)
    #[arg(long, global = true, value_name = "USER_ID")]
    pub owner: Option<String>,

    /// Workspace id
    #[arg(long, global = true, value_name = "ID")]
    pub workspace_id: Option<String>,

    /// Wire spelling of the workspace filter: workspace_id (SDKs) or workspaceId (reference page)
    #[arg(long, global = true, value_name = "NAME")]
    pub workspace_param: Option<String>,

    /// Sort fields, comma-separated (e.g. status,create_at)
    #[arg(long, global = true, value_name = "FIELDS")]
    pub sort_key: Option<String>,

    /// ASC or DESC
    #[arg(long, global = true, value_name = "DIR")]
    pub sort_dir: Option<String>,

    /// Instances per page
    #[arg(long, global = true, value_name = "N")]
    pub page_size: Option<u32>,

    /// Extra query parameter the SDK accepts (flavor, image_id, id, billing, tags, swr_path,
    /// pool_name, description, ip, username), as KEY=VALUE; repeatable
    #[arg(long = "param", global = true, value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

impl FilterArgs {
    /// The `--status` the service filters on: `None` when none was given, or
    /// several (start, stop, extend and delete match those themselves).
    pub fn one_status(&self) -> Option<&String> {
        match self.status.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// The command line's part of the configuration: the one place a flag
/// becomes an override.
impl From<&Cli> for Overrides {
    fn from(cli: &Cli) -> Overrides {
        let (g, f) = (&cli.global, &cli.filters);
        Overrides {
            config_path: g.config.clone(),
            profile: g.profile.clone(),
            all_profiles: g.all_profiles,
            region: g.region.clone(),
            endpoint: g.endpoint.clone(),
            project_id: g.project_id.clone(),
            interval_secs: g.interval,
            fast_interval_secs: g.fast_interval,
            concurrency: g.concurrency,
            timeout_secs: g.timeout,
            page_size: f.page_size,
            stuck_after_secs: g.stuck_after,
            workspace_param: f.workspace_param.clone(),
            budget_per_minute: g.budget,
            first_sweep_burst: g.first_burst,
            log_file: g.log_file.clone(),
            read_only: g.read_only,
            journal: g.journal.clone(),
            view: g.view.clone(),
            status: f.one_status().cloned(),
            name: f.name.clone(),
            feature: f.feature.clone(),
            pool_id: f.pool_id.clone(),
            owner: f.owner.clone(),
            workspace_id: f.workspace_id.clone(),
            sort_key: f.sort_key.clone(),
            sort_dir: f.sort_dir.clone(),
            fixed_source: None,
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct ListArgs {
    /// Output format
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

/// `nbwatch serve`: export the instances for Prometheus and Alertmanager.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to serve /metrics and /healthz on (loopback by default; the metrics name
    /// instances and users, so expose them wider only behind a firewall)
    #[arg(long, env = "NBWATCH_LISTEN", value_name = "ADDR", default_value = crate::defaults::SERVE_LISTEN)]
    pub listen: SocketAddr,

    /// /healthz stays healthy while the data is younger than this, even when polls fail
    #[arg(long, env = "NBWATCH_MAX_AGE", value_name = "SECS", default_value_t = crate::defaults::SERVE_MAX_AGE.as_secs_f64())]
    pub max_age: f64,

    /// Web configuration in the Prometheus exporter-toolkit format (as node_exporter's
    /// --web.config.file): TLS, client certificates, basic authentication
    #[arg(
        long = "web.config.file",
        env = "NBWATCH_WEB_CONFIG_FILE",
        value_name = "FILE"
    )]
    pub web_config_file: Option<std::path::PathBuf>,

    /// Status series per instance: `current`, one for the status it is in (set to 1);
    /// `all`, one per documented status (14), 1 for the current one and 0 for the others
    #[arg(
        long,
        env = "NBWATCH_STATUS_SERIES",
        value_name = "WHICH",
        value_enum,
        default_value_t = StatusSeries::default()
    )]
    pub status_series: StatusSeries,
}

/// `nbwatch sim`: a local ModelArts notebook API with live, simulated instances.
#[derive(clap::Args, Debug, Clone)]
#[command(after_long_help = crate::sim::FAULT_HELP)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = crate::sim::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Number of notebook instances to simulate.
    #[arg(long, value_name = "N", default_value_t = 60)]
    pub instances: usize,
    /// Seed: the same seed gives the same population and history.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Simulated time multiplier (10 = ten simulated seconds per second).
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    pub speed: f64,
    /// Freeze simulated time; move it only with POST /_sim/advance?ms=N.
    #[arg(long)]
    pub manual_clock: bool,
    /// Delay added to every API answer, in milliseconds.
    #[arg(long = "latency-ms", value_name = "L", default_value_t = 0)]
    pub latency_ms: u64,
    /// Access key accepted for SDK-HMAC-SHA256 signatures (a test value).
    #[arg(long, value_name = "AK", default_value = crate::sim::DEMO_AK)]
    pub ak: String,
    /// Secret key accepted for signatures (a test value, printed on start).
    #[arg(long, value_name = "SK", default_value = crate::sim::DEMO_SK)]
    pub sk: String,
    /// Project id expected in the path.
    #[arg(long = "project-id", value_name = "ID", default_value = crate::sim::DEMO_PROJECT_ID)]
    pub project_id: String,
    /// IAM token accepted in X-Auth-Token (a test value).
    #[arg(long, value_name = "TOKEN", default_value = crate::sim::DEMO_TOKEN)]
    pub token: String,
    /// Inject a fault (repeatable), e.g. 500, 429:retry-after=2, flap:3, latency:200:count=5.
    /// See the fault syntax below.
    #[arg(long = "fault", value_name = "SPEC", value_parser = parse_fault_arg)]
    pub faults: Vec<Fault>,
    /// Seconds the simulator's wall clock runs ahead of this machine's (negative:
    /// behind). It dates its `Date` headers and checks signatures' `X-Sdk-Date`
    /// by that clock, as a gateway whose clock differs from yours would: try how
    /// your scripts report a skewed clock. 0 by default.
    #[arg(
        long = "clock-skew",
        value_name = "SECS",
        default_value_t = 0,
        allow_hyphen_values = true
    )]
    pub clock_skew_secs: i64,
    /// Instances created and deleted per listing request (0.5: one change after
    /// every other request), in the shape --churn-mode says: a listing that
    /// moves under the reader, for testing and benchmarking a sweep.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub churn: f64,
    /// The shape of --churn: balanced (a deletion at a random place and a
    /// creation at the head, `total` stays put), grow (creations at the head),
    /// shrink (deletions at random places), walk (either, by a coin toss).
    #[arg(long = "churn-mode", value_name = "MODE", value_enum, default_value_t = ChurnMode::Balanced)]
    pub churn_mode: ChurnMode,
}

fn parse_fault_arg(s: &str) -> Result<Fault, String> {
    s.parse()
}

impl From<&SimArgs> for SimConfig {
    fn from(a: &SimArgs) -> Self {
        SimConfig {
            listen: a.listen,
            instances: a.instances,
            seed: a.seed,
            speed: a.speed,
            manual_clock: a.manual_clock,
            start_ms: None,
            latency_ms: a.latency_ms,
            ak: a.ak.clone(),
            sk: Secret::new(a.sk.clone()),
            project_id: a.project_id.clone(),
            token: Secret::new(a.token.clone()),
            faults: a.faults.clone(),
            clock_skew_secs: a.clock_skew_secs,
            churn: (a.churn != 0.0).then_some(Churn {
                rate: a.churn,
                mode: a.churn_mode,
            }),
            lively: true,
        }
    }
}

/// What `nbwatch ssh` takes.
#[derive(Debug, Args, Clone)]
pub struct SshArgs {
    /// The instance: its id, or its exact name (an ambiguous name lists the candidates)
    #[arg(value_name = "INSTANCE")]
    pub instance: String,

    /// Print the ssh command instead of running it
    #[arg(long)]
    pub print: bool,

    /// Do not check the instance's host key (StrictHostKeyChecking no,
    /// UserKnownHostsFile /dev/null), as the service's VS Code guide does;
    /// by default a new host key is accepted once and a changed one refused
    #[arg(long)]
    pub no_host_key_check: bool,

    /// Handed to ssh after the destination: options (e.g. -L 8888:localhost:8888) or a remote command
    #[arg(last = true, value_name = "SSH_ARGS")]
    pub ssh_args: Vec<String>,
}

/// What `nbwatch ssh-config` takes.
#[derive(Debug, Args, Clone)]
pub struct SshConfigArgs {
    /// Instances (ids or exact names); none: every RUNNING instance with an SSH endpoint
    #[arg(value_name = "INSTANCE")]
    pub instances: Vec<String>,

    /// Write `StrictHostKeyChecking no` and `UserKnownHostsFile /dev/null`, as
    /// the service's VS Code guide does, instead of `StrictHostKeyChecking accept-new`
    #[arg(long)]
    pub no_host_key_check: bool,
}

/// `--output`'s words; [`Format`] itself knows nothing of clap.
impl ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        &[Format::Table, Format::Json, Format::Csv]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Format::Table => PossibleValue::new("table").help("Aligned columns for people"),
            Format::Json => PossibleValue::new("json")
                .help("One JSON array of instances as the service returned them (tokens masked)"),
            Format::Csv => PossibleValue::new("csv").help("RFC 4180 CSV with a header row"),
        })
    }
}

/// `--churn-mode`'s words; [`ChurnMode`] itself knows nothing of clap.
impl ValueEnum for StatusSeries {
    fn value_variants<'a>() -> &'a [Self] {
        &[StatusSeries::Current, StatusSeries::All]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            StatusSeries::Current => "current",
            StatusSeries::All => "all",
        }))
    }
}

impl ValueEnum for ChurnMode {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            ChurnMode::Balanced,
            ChurnMode::Grow,
            ChurnMode::Shrink,
            ChurnMode::Walk,
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            ChurnMode::Balanced => PossibleValue::new("balanced").help(
                "One deletion at a random place and one creation at the head: `total` stays put while the items shift",
            ),
            ChurnMode::Grow => {
                PossibleValue::new("grow").help("One creation at the head: the listing grows")
            }
            ChurnMode::Shrink => PossibleValue::new("shrink")
                .help("One deletion at a random place: the listing shrinks"),
            ChurnMode::Walk => PossibleValue::new("walk")
                .help("A creation at the head or a deletion at a random place, by a coin toss"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn duration_flags_read_durations_as_the_config_file_does() {
        let cli = Cli::try_parse_from([
            "nbwatch",
            "--interval",
            "90s",
            "--fast-interval",
            "2",
            "--stuck-after",
            "10m",
            "--timeout",
            "1m30s",
        ])
        .unwrap();
        assert_eq!(cli.global.interval, Some(90.0));
        assert_eq!(cli.global.fast_interval, Some(2.0));
        assert_eq!(cli.global.stuck_after, Some(600.0));
        assert_eq!(cli.global.timeout, Some(90.0));
        let e = Cli::try_parse_from(["nbwatch", "--interval", "5x"]).unwrap_err();
        assert!(
            e.to_string().contains("duration has an unknown unit"),
            "{e}"
        );
    }

    #[test]
    fn global_flags_work_before_or_after_the_subcommand() {
        let a = Cli::try_parse_from([
            "nbwatch",
            "--endpoint",
            "http://127.0.0.1:1",
            "list",
            "--status",
            "RUNNING",
        ])
        .unwrap();
        let b = Cli::try_parse_from([
            "nbwatch",
            "list",
            "--endpoint",
            "http://127.0.0.1:1",
            "--status",
            "RUNNING",
        ])
        .unwrap();
        assert_eq!(a.global.endpoint, b.global.endpoint);
        assert_eq!(a.filters.status, ["RUNNING"]);
        assert_eq!(b.filters.status, ["RUNNING"]);
        let c =
            Cli::try_parse_from(["nbwatch", "--project-id", "p", "list", "-o", "json"]).unwrap();
        assert!(matches!(
            c.command,
            Some(Command::List(ListArgs {
                output: Format::Json
            }))
        ));
    }

    #[test]
    fn every_setting_flag_reaches_the_overrides() {
        let cli = Cli::try_parse_from([
            "nbwatch",
            "--config",
            "/c.toml",
            "--profile",
            "a,b",
            "--region",
            "r",
            "--endpoint",
            "http://127.0.0.1:1",
            "--project-id",
            "p",
            "--interval",
            "7",
            "--fast-interval",
            "3",
            "--budget",
            "50",
            "--first-burst",
            "9",
            "--stuck-after",
            "5m",
            "--concurrency",
            "4",
            "--timeout",
            "20",
            "--log-file",
            "/l",
            "--journal",
            "/j",
            "--read-only",
            "--view",
            "v",
            "--status",
            "RUNNING",
            "--name",
            "n",
            "--feature",
            "DEFAULT",
            "--pool-id",
            "pool",
            "--owner",
            "o",
            "--workspace-id",
            "w",
            "--workspace-param",
            "workspaceId",
            "--sort-key",
            "status",
            "--sort-dir",
            "ASC",
            "--page-size",
            "100",
        ])
        .unwrap();
        let o = Overrides::from(&cli);
        assert_eq!(o.config_path, Some(PathBuf::from("/c.toml")));
        assert_eq!(
            (
                o.profile.as_deref(),
                o.region.as_deref(),
                o.project_id.as_deref()
            ),
            (Some("a,b"), Some("r"), Some("p"))
        );
        assert_eq!(o.endpoint.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(
            (
                o.interval_secs,
                o.fast_interval_secs,
                o.stuck_after_secs,
                o.timeout_secs
            ),
            (Some(7.0), Some(3.0), Some(300.0), Some(20.0))
        );
        assert_eq!(
            (
                o.budget_per_minute,
                o.first_sweep_burst,
                o.concurrency,
                o.page_size
            ),
            (Some(50), Some(9), Some(4), Some(100))
        );
        assert_eq!(o.log_file, Some(PathBuf::from("/l")));
        assert_eq!(o.journal, Some(PathBuf::from("/j")));
        assert!(o.read_only && !o.all_profiles);
        assert_eq!(o.view.as_deref(), Some("v"));
        let filters = [
            &o.status,
            &o.name,
            &o.feature,
            &o.pool_id,
            &o.owner,
            &o.workspace_id,
            &o.workspace_param,
            &o.sort_key,
            &o.sort_dir,
        ]
        .map(|f| f.as_deref());
        assert_eq!(
            filters,
            [
                Some("RUNNING"),
                Some("n"),
                Some("DEFAULT"),
                Some("pool"),
                Some("o"),
                Some("w"),
                Some("workspaceId"),
                Some("status"),
                Some("ASC"),
            ]
        );
        assert!(o.fixed_source.is_none());
        // Several --status are the actions' to match: the service filters on none.
        let cli =
            Cli::try_parse_from(["nbwatch", "--status", "RUNNING", "--status", "STOPPED"]).unwrap();
        assert_eq!(Overrides::from(&cli).status, None);
    }

    #[test]
    fn every_setting_of_the_config_table_has_its_flag_and_reaches_the_overrides() {
        // A row of the config table is one of three places a setting lives:
        // its flag here must exist, show the row's default where it has one
        // to show, and fill its field (a switch takes no value).
        let help = command().render_long_help().to_string();
        let flags = crate::config::flags();
        assert!(flags.len() >= 12, "{flags:?}");
        for f in flags {
            let flag = format!("--{}", f.long);
            if let Some(add) = &f.help {
                assert!(
                    help.contains(add.as_str()),
                    "{flag}: the help lacks `{add}`"
                );
            }
            let args = ["nbwatch", flag.as_str()]
                .into_iter()
                .chain(f.value.as_deref());
            let cli =
                Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{flag} {:?}: {e}", f.value));
            assert_ne!(
                format!("{:?}", Overrides::from(&cli)),
                format!("{:?}", Overrides::default()),
                "{flag} reaches no field of Overrides: add its line to `impl From<&Cli> for Overrides`"
            );
        }
    }

    #[test]
    fn there_is_no_flag_for_the_sk() {
        let help = Cli::command().render_long_help().to_string();
        assert!(!help.contains("--sk "));
        assert!(Cli::try_parse_from(["nbwatch", "--sk", "x"]).is_err());
    }

    #[derive(Parser, Debug)]
    struct SimOnly {
        #[command(flatten)]
        sim: SimArgs,
    }

    #[test]
    fn clock_skew_takes_either_sign_and_is_bounded() {
        let cli = SimOnly::try_parse_from(["nbwatch"]).unwrap();
        assert_eq!(SimConfig::from(&cli.sim).clock_skew_secs, 0);
        for (arg, secs) in [("7200", 7200), ("-300", -300)] {
            let cli = SimOnly::try_parse_from(["nbwatch", "--clock-skew", arg]).unwrap();
            let cfg = SimConfig::from(&cli.sim);
            assert_eq!(cfg.clock_skew_secs, secs);
            assert!(cfg.validate().is_ok());
        }
        let cli = SimOnly::try_parse_from(["nbwatch", "--clock-skew", "99999999999"]).unwrap();
        let e = SimConfig::from(&cli.sim)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--clock-skew 99999999999 is out of range"),
            "{e}"
        );
    }

    #[test]
    fn cli_defaults_and_fault_flags() {
        let cli = SimOnly::try_parse_from(["nbwatch"]).unwrap();
        assert_eq!(cli.sim.listen.to_string(), crate::sim::DEFAULT_LISTEN);
        assert_eq!(cli.sim.instances, 60);
        assert_eq!(cli.sim.ak, crate::sim::DEMO_AK);
        assert!(cli.sim.faults.is_empty());
        let cli = SimOnly::try_parse_from([
            "nbwatch",
            "--listen",
            "127.0.0.1:0",
            "--instances",
            "5",
            "--seed",
            "9",
            "--speed",
            "10",
            "--latency-ms",
            "30",
            "--fault",
            "500:count=1",
            "--fault",
            "flap:3",
            "--manual-clock",
        ])
        .unwrap();
        let cfg = SimConfig::from(&cli.sim);
        assert_eq!(cfg.instances, 5);
        assert_eq!(cfg.seed, 9);
        assert_eq!(cfg.latency_ms, 30);
        assert!(cfg.manual_clock && cfg.lively);
        assert_eq!(
            cfg.faults.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
            ["500:count=1", "flap:3"]
        );
        let err = SimOnly::try_parse_from(["nbwatch", "--fault", "teapot"]).unwrap_err();
        assert!(err.to_string().contains("unknown fault"), "{err}");
        let help = SimOnly::command().render_long_help().to_string();
        for needle in [
            "--fault <SPEC>",
            "429[:retry-after=S]",
            "/_sim/advance",
            ":count=N",
            "127.0.0.1:8080",
        ] {
            assert!(help.contains(needle), "help lacks {needle}:\n{help}");
        }
    }
}
