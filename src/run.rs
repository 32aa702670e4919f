//! Runs one mode: the dashboard, `list`, `serve`, `sim`, or any of them in demo mode.

use std::io::Write;
use std::process::ExitCode;

use crate::api::{Auth, Client, ClientOptions, ListQuery, PageSize, RetryPolicy};
use crate::cli::{Cli, Command, FilterArgs, GlobalArgs, ListArgs};
use crate::config::{self, Dirs, Overrides, ProcessEnv, Settings};
use crate::secret::Secret;
use crate::sim;

/// Exit codes: 0 success, 1 the service or network failed, 2 bad usage or configuration.
pub const EXIT_API: u8 = 1;
pub const EXIT_CONFIG: u8 = 2;

/// Everything the dashboard header says about where the data comes from.
#[derive(Debug, Clone)]
pub struct Origin {
    pub profile: String,
    pub region: Option<String>,
    pub project_id: String,
    pub endpoint: String,
    pub demo: bool,
}

/// Entry point after argument parsing. `utc_offset_secs` is read before any thread starts.
pub async fn main(cli: Cli, utc_offset_secs: i32) -> ExitCode {
    if let Some(Command::Sim(args)) = cli.command {
        return match sim::run(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("nbwatch sim: {e:#}");
                ExitCode::from(EXIT_CONFIG)
            }
        };
    }

    // In demo mode a simulator runs in this process; it lives until we return.
    let (settings, _demo) = if cli.global.demo {
        match demo_settings(&cli.global, &cli.filters).await {
            Ok(x) => x,
            Err(e) => {
                eprintln!("nbwatch: cannot start the demo simulator: {e:#}");
                return ExitCode::from(EXIT_CONFIG);
            }
        }
    } else {
        match config::resolve(
            &overrides(&cli.global, &cli.filters),
            &ProcessEnv,
            &Dirs::platform(),
        ) {
            Ok(s) => (s, None),
            Err(e) => {
                eprintln!("nbwatch: {}", one_line(&e));
                return ExitCode::from(EXIT_CONFIG);
            }
        }
    };

    let log_path = cli.global.log_file.clone().or(settings.log_file.clone());
    if let Some(path) = &log_path {
        if let Err(e) = crate::logging::init(path, cli.global.verbose) {
            eprintln!(
                "nbwatch: warning: cannot write the log file {}: {e}",
                path.display()
            );
        }
    }
    for w in &settings.warnings {
        eprintln!("nbwatch: warning: {w}");
        tracing::warn!("{w}");
    }

    let query = match build_query(&settings, &cli.filters) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("nbwatch: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let origin = Origin {
        profile: if cli.global.demo {
            "demo".into()
        } else {
            settings.profile.clone()
        },
        region: settings.region.clone(),
        project_id: settings.project_id.clone(),
        endpoint: settings.endpoint.clone(),
        demo: cli.global.demo,
    };

    match cli.command {
        Some(Command::List(args)) => list(&settings, &query, &args).await,
        Some(Command::Sim(_)) => ExitCode::SUCCESS,
        Some(Command::Serve(args)) => match crate::serve::run(&settings, query, &args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("nbwatch serve: {e}");
                ExitCode::from(match e {
                    crate::serve::ServeError::Usage(_) => EXIT_CONFIG,
                    crate::serve::ServeError::Runtime(_) => EXIT_API,
                })
            }
        },
        None => match crate::dashboard::run(&settings, query, origin, utc_offset_secs).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("nbwatch: {e:#}");
                ExitCode::from(EXIT_API)
            }
        },
    }
}

/// A configuration error as one stderr line (`where: problem; fix: how`), like
/// every other error `list` reports, so scripts can log it as one record.
fn one_line(e: &config::ConfigError) -> String {
    let text = match &e.at {
        Some(at) => format!("{at}: {}; fix: {}", e.problem, e.fix),
        None => format!("{}; fix: {}", e.problem, e.fix),
    };
    text.replace(['\r', '\n'], " ")
}

/// The command line's part of the configuration.
pub fn overrides(g: &GlobalArgs, f: &FilterArgs) -> Overrides {
    Overrides {
        config_path: g.config.clone(),
        profile: g.profile.clone(),
        region: g.region.clone(),
        endpoint: g.endpoint.clone(),
        project_id: g.project_id.clone(),
        interval_secs: g.interval,
        fast_interval_secs: g.fast_interval,
        concurrency: g.concurrency,
        timeout_secs: g.timeout,
        connect_timeout_secs: None,
        page_size: f.page_size,
        stuck_after_secs: g.stuck_after,
        workspace_param: f.workspace_param.clone(),
        budget_per_minute: g.budget,
        log_file: g.log_file.clone(),
        status: f.status.clone(),
        name: f.name.clone(),
        feature: f.feature.clone(),
        pool_id: f.pool_id.clone(),
        owner: f.owner.clone(),
        workspace_id: f.workspace_id.clone(),
        sort_key: f.sort_key.clone(),
        sort_dir: f.sort_dir.clone(),
    }
}

/// Settings for a simulator started in this process, with its demo credentials.
async fn demo_settings(
    g: &GlobalArgs,
    f: &FilterArgs,
) -> anyhow::Result<(Settings, Option<sim::SimHandle>)> {
    let handle = sim::spawn(sim::SimConfig::demo()).await?;
    let mut settings = Settings::for_endpoint(
        handle.endpoint(),
        sim::DEMO_PROJECT_ID,
        Auth::AkSk(crate::api::sign::AkSk {
            ak: sim::DEMO_AK.into(),
            sk: Secret::new(sim::DEMO_SK),
            security_token: None,
        }),
    );
    settings.profile = "demo".into();
    settings.filters = config::Filters {
        status: f.status.clone(),
        name: f.name.clone(),
        feature: f.feature.clone(),
        pool_id: f.pool_id.clone(),
        owner: f.owner.clone(),
        workspace_id: f.workspace_id.clone(),
        sort_key: f.sort_key.clone(),
        sort_dir: f.sort_dir.clone(),
    };
    if let Some(n) = f.page_size {
        settings.page_size = n;
    }
    if let Some(i) = g.interval {
        settings.interval = std::time::Duration::from_secs_f64(i.clamp(0.5, 3600.0));
    }
    settings.log_file = g.log_file.clone().or_else(config::default_log_path);
    Ok((settings, Some(handle)))
}

/// The server-side query from settings (filters layered already) and `--param`s.
pub fn build_query(s: &Settings, f: &FilterArgs) -> Result<ListQuery, String> {
    let mut q = ListQuery {
        feature: s.filters.feature.clone(),
        name: s.filters.name.clone(),
        pool_id: s.filters.pool_id.clone(),
        owner: s.filters.owner.clone(),
        sort_dir: s.filters.sort_dir.clone(),
        sort_key: s.filters.sort_key.clone(),
        status: s.filters.status.clone(),
        workspace_id: s.filters.workspace_id.clone(),
        workspace_param: s.workspace_param,
        extra: Vec::new(),
        page_size: PageSize::new(s.page_size).map_err(|e| e.to_string())?,
    };
    for p in &f.params {
        q.push_param(p).map_err(|e| format!("--param {p}: {e}"))?;
    }
    q.validate().map_err(|e| e.to_string())?;
    Ok(q)
}

/// A client for the settings.
pub fn client(s: &Settings, retry: RetryPolicy) -> Result<Client, crate::api::ApiError> {
    let mut opts = ClientOptions::new(s.endpoint.clone(), s.project_id.clone(), s.auth.clone());
    opts.timeout = s.timeout;
    opts.connect_timeout = s.connect_timeout;
    opts.concurrency = s.concurrency;
    opts.retry = retry;
    if let Ok(v) = std::env::var("NBWATCH_TEST_CLOCK_OFFSET_SECS") {
        // Test hook: pretend this machine's clock is off, to exercise skew diagnosis.
        opts.clock_offset_secs = v.parse().unwrap_or(0);
    }
    Client::new(opts)
}

/// `nbwatch list`: every page, then the whole output at once (nothing half-printed).
async fn list(s: &Settings, q: &ListQuery, args: &ListArgs) -> ExitCode {
    let client = match client(s, RetryPolicy::default()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("nbwatch: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match client.fetch_all(q).await {
        Ok(listing) => {
            tracing::info!(
                instances = listing.notebooks.len(),
                requests = listing.requests,
                "listed"
            );
            let out =
                crate::output::render(args.output, &listing.notebooks, crate::timefmt::now_ms());
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(out.as_bytes())
                .and_then(|_| stdout.flush())
                .is_err()
            {
                // A closed pipe (`| head`) is not an error worth a message.
                return ExitCode::SUCCESS;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "list failed");
            eprintln!("nbwatch: {e}");
            ExitCode::from(EXIT_API)
        }
    }
}
