//! Runs one mode: the dashboard, `list`, `serve`, `sim`, or any of them in demo mode.

use std::io::Write;
use std::process::ExitCode;

use crate::api::actions::Verb;
use crate::api::{Client, ListQuery, PageSize, RetryPolicy};
use crate::app;
use crate::cli::{Cli, Command, FilterArgs, GlobalArgs, ListArgs};
use crate::config::{self, Dirs, FixedSource, Overrides, ProcessEnv, Settings};
use crate::sim;
use crate::ui;
use crate::watch::PollerConfig;

use crate::exit::{API as EXIT_API, CONFIG as EXIT_CONFIG};

/// Entry point after argument parsing. `utc_offset_secs` is read before any thread starts.
/// The async runtime every command runs on (the shipped binary and the
/// test-only example that drives the same dashboard build it here).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

pub async fn main(cli: Cli, utc_offset_secs: i32) -> ExitCode {
    let acts = matches!(
        cli.command,
        Some(Command::Start(_) | Command::Stop(_) | Command::Extend(_) | Command::Delete(_))
    );
    if cli.filters.status.len() > 1 && !acts {
        eprintln!(
            "nbwatch: --status was given {} times; the service filters on one status; fix: give one (several are for start, stop, extend and delete)",
            cli.filters.status.len()
        );
        return ExitCode::from(EXIT_CONFIG);
    }
    match cli.command {
        Some(Command::Sim(args)) => {
            return match sim::run(sim::SimConfig::from(&args)).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("nbwatch sim: {e:#}");
                    ExitCode::from(EXIT_CONFIG)
                }
            };
        }
        Some(Command::Completions(args)) => {
            let mut cmd = crate::cli::command();
            clap_complete::generate(args.shell, &mut cmd, "nbwatch", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Some(Command::Man) => return man_page(),
        Some(Command::Journal(args)) => return journal(&args, &cli.filters, utc_offset_secs),
        _ => {}
    }

    if cli.global.view.is_some() && cli.command.is_some() {
        eprintln!(
            "nbwatch: --view chooses the dashboard's view, and a subcommand was given; fix: leave --view out, or run `nbwatch --view NAME` alone"
        );
        return ExitCode::from(EXIT_CONFIG);
    }

    // The dashboard and `list` watch several sources at once; serve and the
    // actions work on one.
    let several = matches!(cli.command, None | Some(Command::List(_)));
    // In demo mode simulators run in this process (they live until we return)
    // and stand in for the regions, endpoints and credentials; every other
    // setting goes through the resolver as usual.
    let overrides = overrides(&cli.global, &cli.filters);
    let mut _demo = Vec::new();
    let resolved = if cli.global.demo {
        let regions = sim::demo_regions();
        let wanted = if several { regions.len() } else { 1 };
        let regions: Vec<_> = regions.into_iter().take(wanted).collect();
        // The simulators start side by side: the first frame waits for both.
        let spawned =
            futures::future::join_all(regions.iter().map(|(_, cfg)| sim::spawn(cfg.clone()))).await;
        let mut fixed = Vec::new();
        for ((region, cfg), handle) in regions.iter().zip(spawned) {
            match handle {
                Ok(handle) => {
                    fixed.push(demo_source(&handle, region, cfg.project_id.clone()));
                    _demo.push(handle);
                }
                Err(e) => {
                    eprintln!("nbwatch: cannot start the demo simulator: {e:#}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            }
        }
        config::resolve_fixed(&overrides, &fixed, &ProcessEnv, &Dirs::platform())
    } else {
        config::resolve_sources(&overrides, &ProcessEnv, &Dirs::platform())
    };
    let all = match resolved {
        Ok(all) => all,
        Err(e) => {
            eprintln!("nbwatch: {}", one_line(&e));
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let Some(settings) = all.first() else {
        eprintln!("nbwatch: no source to watch; fix: pass --profile NAME or --region REGION");
        return ExitCode::from(EXIT_CONFIG);
    };
    if all.len() > 1 && !several {
        eprintln!("nbwatch: {}", one_source_only(&cli.command, &all));
        return ExitCode::from(EXIT_CONFIG);
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
                eprintln!("nbwatch: source `{}`: {e}", s.profile);
                return ExitCode::from(EXIT_CONFIG);
            }
            Err(e) => {
                eprintln!("nbwatch: {e}");
                return ExitCode::from(EXIT_CONFIG);
            }
        }
    }
    let Some(query) = queries.first().cloned() else {
        return ExitCode::from(EXIT_CONFIG);
    };
    let settings = settings.clone();
    match cli.command {
        Some(Command::List(args)) => {
            if all.len() > 1 {
                list_several(&all, &queries, &args).await
            } else {
                list(&settings, &query, &args).await
            }
        }
        Some(Command::Serve(args)) => match serve(&settings, query, &args) {
            Ok(parts) => match crate::serve::run(parts).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("nbwatch serve: {e}");
                    ExitCode::from(match e {
                        crate::serve::ServeError::Usage(_) => EXIT_CONFIG,
                        crate::serve::ServeError::Runtime(_) => EXIT_API,
                    })
                }
            },
            Err(e) => {
                eprintln!("nbwatch serve: {e}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
        Some(Command::Start(a)) => {
            crate::act::command::run(&settings, &query, &cli.filters, Verb::Start, &a).await
        }
        Some(Command::Stop(a)) => {
            crate::act::command::run(&settings, &query, &cli.filters, Verb::Stop, &a).await
        }
        Some(Command::Extend(a)) => {
            crate::act::command::run(&settings, &query, &cli.filters, Verb::Extend, &a).await
        }
        Some(Command::Delete(a)) => {
            crate::act::command::run(&settings, &query, &cli.filters, Verb::Delete, &a).await
        }
        Some(Command::Ssh(a)) => crate::ssh::command::ssh(&settings, &query, &a).await,
        Some(Command::SshConfig(a)) => crate::ssh::command::ssh_config(&settings, &query, &a).await,
        Some(Command::Sim(_) | Command::Completions(_) | Command::Man | Command::Journal(_)) => {
            ExitCode::SUCCESS
        }
        None => match dashboard(&all, queries, cli.global.demo, utc_offset_secs) {
            Ok(parts) => match crate::dashboard::run(parts).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("nbwatch: {e:#}");
                    ExitCode::from(EXIT_API)
                }
            },
            Err(e) => {
                eprintln!("nbwatch: {e}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
    }
}

/// Everything the dashboard needs, built from the settings: the dashboard
/// itself knows nothing of configuration.
fn dashboard(
    all: &[Settings],
    queries: Vec<ListQuery>,
    demo: bool,
    utc_offset_secs: i32,
) -> Result<crate::dashboard::Parts, String> {
    // The session's own settings (journal, alerts, log, read-only) are the
    // first source's; each source polls with its own.
    let Some(settings) = all.first() else {
        return Err("no source to watch".into());
    };
    let labels = config::source_labels(all);
    let mut sources = Vec::with_capacity(all.len());
    for ((s, query), name) in all.iter().zip(queries).zip(labels) {
        sources.push(crate::dashboard::SourceParts {
            client: polling_client(s).map_err(|e| format!("source `{name}`: {e}"))?,
            name,
            query,
            poller: poller_config(s),
            ssh_key_dir: s.ssh_key_dir.clone(),
        });
    }
    let theme = if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        ui::Theme::plain()
    } else {
        ui::Theme::default()
    };
    // What the journal already holds reaches the trends view back in time.
    let history = settings
        .journal
        .as_deref()
        .filter(|p| p.exists())
        .and_then(|p| crate::journal::read(p).ok())
        .map(|r| r.entries);
    let journal = match &settings.journal {
        None => None,
        Some(path) => match crate::journal::Writer::open(path, settings.journal_max_bytes) {
            Ok(w) => Some(w),
            Err(e) => {
                return Err(format!(
                    "cannot write the journal {}: {e}; fix: choose a writable path with --journal or `journal` in the profile",
                    path.display()
                ));
            }
        },
    };
    Ok(crate::dashboard::Parts {
        history,
        notifier: crate::notify::Notifier::new(&settings.profile, journal, settings.alerts.clone()),
        sources,
        timing: app::Timing {
            interval: settings.interval,
            stuck_after: settings.stuck_after,
        },
        view: ui::ViewContext {
            profile: settings.profile.clone(),
            region: settings.region.clone().unwrap_or_default(),
            project_id: settings.project_id.clone(),
            endpoint: settings.endpoint.clone(),
            demo,
            theme,
            utc_offset_secs,
        },
        // Read-only if any source asks for it: a read-only profile stays read-only.
        read_only: all.iter().any(|s| s.read_only),
        views: crate::dashboard::Views {
            list: settings.views.clone(),
            columns: settings.columns.clone(),
            start: settings.start_view,
        },
    })
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

/// Everything `nbwatch serve` needs: the dashboard's client, poller and timing.
fn serve(
    settings: &Settings,
    query: ListQuery,
    args: &crate::cli::ServeArgs,
) -> Result<crate::serve::Parts, String> {
    let max_age = crate::serve::max_age(args.max_age)?;
    let web = match &args.web_config_file {
        Some(path) => Some(crate::serve::WebConfig::load(path)?),
        None => None,
    };
    // The journal and the alert hook belong to the dashboard; say so rather
    // than take them silently.
    let mut ignored = Vec::new();
    if let Some(j) = &settings.journal {
        ignored.push(format!(
            "the journal ({}) is written by the dashboard only: serve exports the same changes as metrics for Prometheus to keep",
            j.display()
        ));
    }
    if settings.alerts.hook.is_some() {
        ignored.push(
            "the alert hook runs from the dashboard only: with serve, route alerts through Prometheus and Alertmanager (see deploy/)"
                .to_string(),
        );
    }
    for w in ignored {
        eprintln!("nbwatch: warning: {w}");
        tracing::warn!("{w}");
    }
    Ok(crate::serve::Parts {
        client: polling_client(settings)?,
        query,
        poller: poller_config(settings),
        timing: app::Timing {
            interval: settings.interval,
            stuck_after: settings.stuck_after,
        },
        listen: args.listen,
        max_age,
        origin: format!(
            "{} for project {} (profile {})",
            settings.endpoint, settings.project_id, settings.profile
        ),
        web,
    })
}

/// The client a poller uses, the same for the dashboard and `serve`.
fn polling_client(settings: &Settings) -> Result<Client, String> {
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
fn poller_config(settings: &Settings) -> PollerConfig {
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

/// `nbwatch journal FILE`: the journal as a readable timeline.
fn journal(args: &crate::cli::JournalArgs, f: &FilterArgs, utc_offset_secs: i32) -> ExitCode {
    use crate::cli::ColorChoice;
    use crate::journal;
    use std::io::IsTerminal;
    let since_ms = match args.since.as_deref().map(crate::timefmt::parse_secs) {
        None => None,
        Some(Ok(secs)) if secs.is_finite() && secs >= 0.0 => {
            Some(crate::timefmt::now_ms() - (secs * 1000.0) as i64)
        }
        Some(Ok(_)) | Some(Err(_)) => {
            eprintln!(
                "nbwatch: --since {}: not a duration; fix: write e.g. 30m, 2h or 1d",
                args.since.as_deref().unwrap_or_default()
            );
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let read = match journal::read(&args.file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "nbwatch: cannot read the journal {}: {e}; fix: give the file written with --journal",
                args.file.display()
            );
            return ExitCode::from(EXIT_CONFIG);
        }
    };
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
    ExitCode::SUCCESS
}

/// `nbwatch man`: the manual page, from the same definitions as `--help`.
fn man_page() -> ExitCode {
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(crate::cli::command()).render(&mut out) {
        eprintln!("nbwatch: cannot render the manual page: {e}");
        return ExitCode::from(EXIT_API);
    }
    // A closed pipe (`| head`) is not an error worth a message.
    let _ = std::io::stdout().lock().write_all(&out);
    ExitCode::SUCCESS
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

/// `nbwatch list --output json`: each instance's JSON text as the service sent
/// it (token masked), all pages read before anything is printed, both kinds
/// merged in the order asked.
async fn list_json(client: &Client, q: &ListQuery) -> ExitCode {
    use crate::api::order::{ByListing, Order};
    use crate::output::raw::{RawNotebook, RawPage};
    let mut pages = ByListing::<RawNotebook>::default();
    match client
        .sweep_all_kinds::<RawPage, _>(q, crate::api::sweep::DEFAULT_OVERLAP, &mut pages)
        .await
    {
        Ok(report) if !report.complete => churned(None, report.total),
        Ok(report) => {
            let items = pages.into_merged(&Order::of(q));
            tracing::info!(
                instances = items.len(),
                requests = report.requests,
                "listed"
            );
            // Every page is in: only now does anything reach stdout.
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = crate::output::raw::write_json(&mut stdout, &items);
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "list failed");
            eprintln!("nbwatch: {e}");
            ExitCode::from(EXIT_API)
        }
    }
}

/// `nbwatch list`: every page, then the whole output at once (nothing half-printed).
async fn list(s: &Settings, q: &ListQuery, args: &ListArgs) -> ExitCode {
    let client = match s.client(RetryPolicy::default()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("nbwatch: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if args.output == crate::output::Format::Json {
        return list_json(&client, q).await;
    }
    match client.fetch_all_kinds(q).await {
        Ok(listing) if !listing.complete => churned(None, listing.total),
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

/// `nbwatch list` over several sources: all listed at once, each in full, then
/// everything printed together with its source named (a SOURCE column, a
/// `source` CSV column, a `"source"` JSON field). A source that fails fails the
/// listing, named, and nothing is printed: a partial list would look whole.
async fn list_several(all: &[Settings], queries: &[ListQuery], args: &ListArgs) -> ExitCode {
    use crate::api::order::{ByListing, Order, merge_sources};
    use crate::output::raw::{RawNotebook, RawPage};
    // One listing in the order asked, across the sources too.
    let orders: Vec<Order> = queries.iter().map(Order::of).collect();
    let labels = config::source_labels(all);
    let mut clients = Vec::with_capacity(all.len());
    for (s, name) in all.iter().zip(&labels) {
        match s.client(RetryPolicy::default()) {
            Ok(c) => clients.push(c),
            Err(e) => {
                eprintln!("nbwatch: source `{name}`: {e}");
                return ExitCode::from(EXIT_CONFIG);
            }
        }
    }
    let failed = |name: &str, e: &crate::api::ApiError| {
        tracing::error!(error = %e, source = name, "list failed");
        eprintln!("nbwatch: source `{name}`: {e}");
        ExitCode::from(EXIT_API)
    };
    let mut names: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    if args.output == crate::output::Format::Json {
        let swept =
            futures::future::join_all(clients.iter().zip(queries).map(|(c, q)| async move {
                let mut pages = ByListing::<RawNotebook>::default();
                c.sweep_all_kinds::<RawPage, _>(q, crate::api::sweep::DEFAULT_OVERLAP, &mut pages)
                    .await
                    .map(|r| (r, pages.into_merged(&Order::of(q))))
            }))
            .await;
        let mut each = Vec::with_capacity(swept.len());
        for (result, name) in swept.into_iter().zip(&labels) {
            match result {
                Ok((report, _)) if !report.complete => return churned(Some(name), report.total),
                Ok((_, got)) => each.push(got),
                Err(e) => return failed(name, &e),
            }
        }
        let mut items = Vec::new();
        for (i, item) in merge_sources(&orders, each) {
            names.push(labels.get(i).map_or("", String::as_str));
            items.push(item);
        }
        tracing::info!(instances = items.len(), sources = all.len(), "listed");
        let _ = crate::output::raw::write_json_sourced(&mut out, &items, &names);
    } else {
        let listed = futures::future::join_all(
            clients
                .iter()
                .zip(queries)
                .map(|(c, q)| c.fetch_all_kinds(q)),
        )
        .await;
        let mut each = Vec::with_capacity(listed.len());
        for (result, name) in listed.into_iter().zip(&labels) {
            match result {
                Ok(listing) if !listing.complete => return churned(Some(name), listing.total),
                Ok(listing) => each.push(listing.notebooks),
                Err(e) => return failed(name, &e),
            }
        }
        let mut notebooks = Vec::new();
        for (i, nb) in merge_sources(&orders, each) {
            names.push(labels.get(i).map_or("", String::as_str));
            notebooks.push(nb);
        }
        tracing::info!(instances = notebooks.len(), sources = all.len(), "listed");
        out = crate::output::render_sourced(
            args.output,
            &notebooks,
            &names,
            crate::timefmt::now_ms(),
        )
        .into_bytes();
    }
    // Every source is in: only now does anything reach stdout. A closed pipe
    // (`| head`) is not an error worth a message.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&out).and_then(|_| stdout.flush());
    ExitCode::SUCCESS
}

/// A sweep that could not prove it missed nobody (the listing moved faster
/// than its repairs): `list` prints nothing and exits 1, never a partial
/// listing that looks whole.
fn churned(source: Option<&str>, total: Option<i64>) -> ExitCode {
    let line = crate::api::sweep::incomplete_line(total);
    tracing::error!(source, "{line}");
    match source {
        Some(name) => eprintln!("nbwatch: source `{name}`: {line}"),
        None => eprintln!("nbwatch: {line}"),
    }
    ExitCode::from(EXIT_API)
}
