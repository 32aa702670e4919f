//! `nbwatch serve`: the dashboard's poller with no terminal, exported for
//! Prometheus. The same configuration, credentials, request budget and pacing as
//! the dashboard; scrapes read the last snapshot and never call the API, so any
//! number of Prometheus servers cost no extra requests.
//!
//! ```text
//!  poller task ──Message──► Exporter (App tracking + poll health) ◄──read── GET /metrics
//!       ▲                        (RwLock)                          ◄──read── GET /healthz
//!       └── SetHot / RefreshNow (SIGHUP)
//! ```

pub mod auth;
pub mod chunks;
pub mod families;
pub mod gzip;
pub mod http;
pub mod metrics;
pub mod state;
pub mod tls;
pub mod web;

use std::fmt;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use crate::api::{Client, ListQuery};
use crate::app;
use crate::timefmt::now_ms;
use crate::watch::{self, ClientSource, Control, Message, PollerConfig};

pub use metrics::{Format, Metrics, Shared, StatusSeries};
pub use state::{Exporter, Health, Meter, Reason};
pub use web::WebConfig;

pub use crate::defaults::SERVE_LISTEN as DEFAULT_LISTEN;

/// Why `serve` stopped.
#[derive(Debug)]
pub enum ServeError {
    /// Bad flags, or the address cannot be had: exit 2.
    Usage(String),
    /// Something failed while running: exit 1.
    Runtime(String),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Usage(m) | ServeError::Runtime(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ServeError {}

/// Everything the exporter needs, built from the settings by `cmd/serve.rs`: the
/// exporter itself knows nothing of configuration.
pub struct Parts {
    /// The dashboard's client: rate-limited to the budget.
    pub client: Client,
    pub query: ListQuery,
    pub poller: PollerConfig,
    pub timing: app::Timing,
    pub listen: SocketAddr,
    /// `/healthz` stays 200 while the data is younger than this.
    pub max_age: Duration,
    /// Where the data comes from, for the start-up line: `ENDPOINT for project P (profile X)`.
    pub origin: String,
    /// `--web.config.file`, read and checked.
    pub web: Option<WebConfig>,
    /// `--status-series`.
    pub status_series: StatusSeries,
}

/// `--max-age` as a duration, or what to do about it.
pub fn max_age(secs: f64) -> Result<Duration, String> {
    if secs.is_finite() && secs > 0.0 {
        Ok(Duration::from_secs_f64(secs.min(1e9)))
    } else {
        Err(format!(
            "--max-age {} is not a positive number of seconds; fix: e.g. --max-age {}",
            secs,
            crate::defaults::SERVE_MAX_AGE.as_secs()
        ))
    }
}

/// Runs the exporter until SIGTERM or Ctrl-C. SIGHUP polls at once, which also
/// resumes polling after an authentication failure (`systemctl reload`).
pub async fn run(parts: Parts) -> Result<(), ServeError> {
    let Parts {
        client,
        query,
        poller,
        timing,
        listen,
        max_age,
        origin,
        web,
        status_series,
    } = parts;
    let meter_client = client.clone();
    let meter: Meter = Arc::new(move || meter_client.requests_sent());
    let shared: Shared = Arc::new(RwLock::new(Exporter::new(timing, meter)));

    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        ServeError::Usage(format!(
            "cannot listen on {listen}: {e}; fix: choose a free address with --listen"
        ))
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| ServeError::Runtime(format!("cannot read the listening address: {e}")))?;
    announce(local, &origin, web.as_ref());

    let metrics = Arc::new(Metrics::new(Arc::clone(&shared), status_series));
    let ctx = http::Ctx {
        shared: Arc::clone(&shared),
        metrics: Arc::clone(&metrics),
        max_age,
    };
    let guard = http::Guard {
        users: web.as_ref().and_then(|w| w.users.clone()),
        headers: web.as_ref().map(|w| w.headers.clone()).unwrap_or_default(),
    };
    let router = http::router(ctx, guard);
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let stopped = async move {
        let _ = stop_rx.wait_for(|stop| *stop).await;
    };
    let server = match web.and_then(|w| w.tls) {
        // HTTPS only: the port answers nothing to plain HTTP.
        Some(config) => {
            let listener = tls::Listener::new(listener, config).map_err(|e| {
                ServeError::Runtime(format!("cannot read the listening address: {e}"))
            })?;
            tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(stopped)
                    .await
            })
        }
        None => tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(stopped)
                .await
        }),
    };

    let poller = watch::spawn(Arc::new(ClientSource::new(client, query)), poller);
    tracing::info!(listen = %local, from = %origin, "exporter started");
    let result = poll_loop(poller, &shared, &metrics).await;
    let _ = stop_tx.send(true);
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "the HTTP server stopped with an error"),
        Err(e) => tracing::warn!(error = %e, "the HTTP server task failed"),
    }
    tracing::info!("exporter stopped");
    result
}

/// One line on stdout saying where to scrape, then flushed: scripts and tests wait for it.
fn announce(local: SocketAddr, origin: &str, web: Option<&WebConfig>) {
    let scheme = if web.is_some_and(|w| w.tls.is_some()) {
        "https"
    } else {
        "http"
    };
    let mut out = std::io::stdout().lock();
    let _ = write!(
        out,
        "nbwatch serve: listening on {scheme}://{local} (/metrics, /healthz); polling {origin}"
    );
    if let Some(w) = web {
        let _ = write!(out, "; web config {}: {}", w.path.display(), w.summary);
    }
    let _ = writeln!(out);
    let _ = out.flush();
    let guarded =
        web.is_some_and(|w| w.tls.is_some() && (w.users.is_some() || w.client_certs_required));
    if !local.ip().is_loopback() && !guarded {
        eprintln!(
            "nbwatch serve: warning: listening on {local}, beyond this machine: the metrics name \
             instances and users (never tokens or secrets); keep the port behind a firewall, or \
             require TLS and a password with --web.config.file (see README: Running it for a team)"
        );
    }
}

/// Applies the poller's messages until a stop signal; SIGHUP polls now. After a
/// snapshot, renders the instance metrics off the async workers, so scrapes
/// find them ready.
async fn poll_loop(
    mut poller: watch::Handle,
    shared: &Shared,
    metrics: &Arc<Metrics>,
) -> Result<(), ServeError> {
    let mut signals = Signals::new()?;
    let mut hot = false;
    loop {
        tokio::select! {
            msg = poller.messages.recv() => {
                let Some(msg) = msg else {
                    return Err(ServeError::Runtime("the poller stopped unexpectedly".into()));
                };
                log_message(&msg);
                let snapshot = matches!(msg, Message::Snapshot { .. });
                let (now_hot, changed) = {
                    let mut ex = shared.write().unwrap_or_else(PoisonError::into_inner);
                    let generation = ex.generation();
                    ex.apply(msg, now_ms());
                    // Hot news that changed an instance is served at once.
                    (ex.any_transitional(), ex.generation() != generation)
                };
                // Poll at the fast interval while an instance changes state, as the dashboard does.
                if now_hot != hot {
                    hot = now_hot;
                    let _ = poller.commands.send(Control::SetHot(hot));
                }
                // Rendered here, on the runtime's one thread (see
                // `cmd::runtime`): what changed costs a fraction of a ms.
                if snapshot || changed {
                    metrics.prerender();
                }
            }
            _ = signals.hup.recv() => {
                tracing::info!("SIGHUP: polling now");
                let _ = poller.commands.send(Control::RefreshNow);
            }
            _ = signals.term.recv() => return Ok(()),
            _ = signals.int.recv() => return Ok(()),
        }
    }
}

fn log_message(msg: &Message) {
    match msg {
        Message::Started | Message::Page { .. } => {}
        Message::Hot { error: Some(e), .. } => tracing::warn!(error = %e, "a hot-tier read failed"),
        Message::Hot { seen, gone, .. } => {
            tracing::debug!(batches = seen.len(), gone = gone.len(), "hot tick")
        }
        Message::Snapshot { listing, took, .. } => tracing::debug!(
            complete = listing.complete,
            requests = listing.requests,
            took_ms = took.as_millis() as u64,
            "poll succeeded"
        ),
        Message::Failed {
            error,
            consecutive,
            next_in,
            ..
        } => match next_in {
            Some(next) => {
                tracing::warn!(error = %error, consecutive, next_in_s = next.as_secs(), "poll failed")
            }
            None => tracing::error!(
                error = %error,
                "poll failed; polling stopped so the AK is not locked: fix the credentials, then send SIGHUP or restart"
            ),
        },
    }
}

#[cfg(unix)]
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> Result<Signals, ServeError> {
        use tokio::signal::unix::{SignalKind, signal};
        let get = |k: SignalKind| {
            signal(k).map_err(|e| ServeError::Runtime(format!("cannot listen for signals: {e}")))
        };
        Ok(Signals {
            term: get(SignalKind::terminate())?,
            int: get(SignalKind::interrupt())?,
            hup: get(SignalKind::hangup())?,
        })
    }
}

#[cfg(test)]
mod tests;
