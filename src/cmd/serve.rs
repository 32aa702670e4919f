//! `nbwatch serve`: the exporter, built from the settings (the exporter
//! itself knows nothing of configuration or the command line).

use crate::api::ListQuery;
use crate::app;
use crate::cli::ServeArgs;
use crate::config::Settings;
use crate::serve::ServeError;

use super::CmdError;
use super::setup::{poller_config, polling_client};

/// Runs the exporter until it is stopped.
pub async fn run(settings: &Settings, query: ListQuery, args: &ServeArgs) -> Result<(), CmdError> {
    let parts = parts(settings, query, args).map_err(|e| CmdError::usage(e).by("nbwatch serve"))?;
    crate::serve::run(parts).await.map_err(|e| {
        match e {
            ServeError::Usage(m) => CmdError::usage(m),
            ServeError::Runtime(m) => CmdError::service(m),
        }
        .by("nbwatch serve")
    })
}

/// Everything `nbwatch serve` needs: the dashboard's client, poller and timing.
fn parts(
    settings: &Settings,
    query: ListQuery,
    args: &ServeArgs,
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
        status_series: args.status_series,
    })
}
