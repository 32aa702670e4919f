//! What every command that talks to the service does first: resolve the
//! sources (in demo mode, start the simulators that stand in for them), open
//! the log, say the file's warnings once, and build each source's query.

use crate::api::{Client, ListQuery, PageSize, RetryPolicy};
use crate::cli::{Cli, Command, FilterArgs};
use crate::config::{self, Dirs, FixedSource, Overrides, ProcessEnv, Settings};
use crate::sim;
use crate::watch::PollerConfig;

use super::CmdError;

/// The resolved sources, one query each, and the demo's simulators (they live
/// as long as this does).
pub(super) struct Setup {
    pub all: Vec<Settings>,
    pub queries: Vec<ListQuery>,
    _demo: Vec<sim::SimHandle>,
}

impl Setup {
    pub async fn resolve(cli: &Cli) -> Result<Setup, CmdError> {
        // The dashboard and `list` watch several sources at once; serve and the
        // actions work on one.
        let several = matches!(cli.command, None | Some(Command::List(_)));
        // In demo mode simulators run in this process and stand in for the
        // regions, endpoints and credentials; every other setting goes through
        // the resolver as usual.
        let overrides = Overrides::from(cli);
        let mut demo = Vec::new();
        let resolved = if cli.global.demo {
            let regions = sim::demo_regions();
            let wanted = if several { regions.len() } else { 1 };
            let regions: Vec<_> = regions.into_iter().take(wanted).collect();
            // The simulators start side by side: the first frame waits for both.
            let spawned =
                futures::future::join_all(regions.iter().map(|(_, cfg)| sim::spawn(cfg.clone())))
                    .await;
            let mut fixed = Vec::new();
            for ((region, cfg), handle) in regions.iter().zip(spawned) {
                let handle = handle.map_err(|e| {
                    CmdError::usage(format!("cannot start the demo simulator: {e:#}"))
                })?;
                fixed.push(demo_source(&handle, region, cfg.project_id.clone()));
                demo.push(handle);
            }
            config::resolve_fixed(&overrides, &fixed, &ProcessEnv, &Dirs::platform())
        } else {
            config::resolve_sources(&overrides, &ProcessEnv, &Dirs::platform())
        };
        let all = resolved.map_err(|e| CmdError::usage(one_line(&e)))?;
        let Some(settings) = all.first() else {
            return Err(CmdError::usage(
                "no source to watch; fix: pass --profile NAME or --region REGION",
            ));
        };
        if all.len() > 1 && !several {
            return Err(CmdError::usage(one_source_only(&cli.command, &all)));
        }

        let log_path = cli.global.log_file.clone().or(settings.log_file.clone());
        if let Some(path) = &log_path
            && let Err(e) = crate::logging::init(path, cli.global.verbose)
        {
            eprintln!(
                "nbwatch: warning: cannot write the log file {}: {e}",
                path.display()
            );
        }
        // Each source's file warnings are the same file's: say each once.
        let mut said: Vec<&String> = Vec::new();
        for w in all.iter().flat_map(|s| &s.warnings) {
            if !said.contains(&w) {
                said.push(w);
                eprintln!("nbwatch: warning: {w}");
                tracing::warn!("{w}");
            }
        }

        let mut queries = Vec::with_capacity(all.len());
        for s in &all {
            match build_query(s, &cli.filters) {
                Ok(q) => queries.push(q),
                Err(e) if all.len() > 1 => {
                    return Err(CmdError::usage(format!("source `{}`: {e}", s.profile)));
                }
                Err(e) => return Err(CmdError::usage(e)),
            }
        }
        Ok(Setup {
            all,
            queries,
            _demo: demo,
        })
    }

    /// The first source and its query: the one serve, the actions and ssh use.
    pub fn first(&self) -> Result<(&Settings, &ListQuery), CmdError> {
        match (self.all.first(), self.queries.first()) {
            (Some(s), Some(q)) => Ok((s, q)),
            _ => Err(CmdError::said(super::Kind::Usage)),
        }
    }
}

/// Why serve and the actions refuse several sources, and what to do instead.
fn one_source_only(command: &Option<Command>, all: &[Settings]) -> String {
    let names: Vec<&str> = all.iter().map(|s| s.profile.as_str()).collect();
    match command {
        Some(Command::Serve(_)) => format!(
            "nbwatch serve exports one source, and {} were given ({}); fix: run one `nbwatch serve --profile NAME --listen ADDR` per profile and let Prometheus scrape each (its target labels tell them apart)",
            names.len(),
            names.join(", ")
        ),
        Some(Command::Ssh(_) | Command::SshConfig(_)) => format!(
            "ssh and ssh-config reach one source's instances, and {} were given ({}); fix: pass --profile NAME, the profile of the instance's region and project",
            names.len(),
            names.join(", ")
        ),
        _ => format!(
            "an action goes to one source, and {} were given ({}); fix: pass --profile NAME, the profile of the instance's region and project",
            names.len(),
            names.join(", ")
        ),
    }
}

/// The client a poller uses, the same for the dashboard and `serve`.
pub(super) fn polling_client(settings: &Settings) -> Result<Client, String> {
    // One retry inside a poll absorbs a single flap; the poller's own backoff does the rest.
    let retry = RetryPolicy {
        max_retries: 1,
        ..RetryPolicy::default()
    };
    // Every page of every poll (retries too) waits for a slot under the budget.
    // The first sweep of a session may burst past the steady budget.
    Ok(settings
        .client(retry)
        .map_err(|e| e.to_string())?
        .with_rate_limit(Some(settings.budget_per_minute))
        .with_first_burst(settings.first_sweep_burst))
}

/// The poller's schedule and budget, the same for the dashboard and `serve`.
pub(super) fn poller_config(settings: &Settings) -> PollerConfig {
    PollerConfig {
        interval: settings.interval,
        fast_interval: settings.fast_interval,
        budget_per_minute: settings.budget_per_minute,
        ..PollerConfig::default()
    }
}

/// The in-process simulator as the place to connect to, with its demo credentials.
fn demo_source(handle: &sim::SimHandle, region: &str, project_id: String) -> FixedSource {
    FixedSource {
        label: "demo".into(),
        region: Some(region.to_string()),
        endpoint: handle.endpoint(),
        project_id,
        auth: sim::demo_auth(),
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

/// The server-side query from settings (filters layered already) and `--param`s.
fn build_query(s: &Settings, f: &FilterArgs) -> Result<ListQuery, String> {
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
