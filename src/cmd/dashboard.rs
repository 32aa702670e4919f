//! The dashboard (no subcommand): its parts built from the settings of every
//! source (the dashboard itself knows nothing of configuration).

use crate::api::ListQuery;
use crate::app;
use crate::config::{self, Settings};
use crate::ui;

use super::CmdError;
use super::setup::{poller_config, polling_client};

/// Runs the dashboard until the user quits.
pub async fn run(
    all: &[Settings],
    queries: Vec<ListQuery>,
    demo: bool,
    utc_offset_secs: i32,
) -> Result<(), CmdError> {
    let parts = parts(all, queries, demo, utc_offset_secs).map_err(CmdError::usage)?;
    crate::dashboard::run(parts)
        .await
        .map_err(|e| CmdError::service(format!("{e:#}")))
}

/// Everything the dashboard needs, built from the settings: the dashboard
/// itself knows nothing of configuration.
fn parts(
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
