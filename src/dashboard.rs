//! The dashboard's event loop: poller messages, terminal input, a 1 s tick and
//! signals in; state updates and redraws out. Network code never runs here: the
//! poller task owns the client.
//!
//! ```text
//!  poller tasks ─(source, Message)─┐
//!  EventStream ──key/mouse──────────┼──► App (view over a Tracker) ──► ui::draw ──► terminal
//!  1 s tick ────────────────────────┤        │
//!  SIGTERM/SIGHUP ──────────────────┘        └─Effect──► poller commands (refresh, pause,
//!                                              hot), record reads, actions, clipboard, quit
//!
//! One poller per source (profile): each has its own client, budget, schedule
//! and backoff; the app keys instances by (source, id).
//! ```

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;

use crate::api::{Client, ListQuery};
use crate::app::{self, App, Effect};
use crate::notify::Notifier;
use crate::timefmt::now_ms;
use crate::track::{InstanceKey, SourceId};
use crate::ui;
use crate::watch::several::{Pollers, spawn_all};
use crate::watch::{self, ClientSource, Control, Message, PollerConfig};

/// One source the dashboard watches: a profile's client, query and schedule.
pub struct SourceParts {
    /// What the table and header call it.
    pub name: String,
    /// The client, rate-limited to this source's request budget.
    pub client: Client,
    pub query: ListQuery,
    pub poller: PollerConfig,
    /// Where its profile keeps the key pairs' `.pem` files (for `c`).
    pub ssh_key_dir: Option<std::path::PathBuf>,
}

/// Everything the dashboard runs with, built by the caller from the settings.
pub struct Parts {
    /// At least one; with several, the table merges them.
    pub sources: Vec<SourceParts>,
    pub timing: app::Timing,
    pub view: ui::ViewContext,
    /// Hide and refuse every action.
    pub read_only: bool,
    /// The journal and alerts.
    pub notifier: Notifier,
    /// What an existing journal recorded, for the trends view (the entries
    /// of the sources watched are used).
    pub history: Option<Vec<crate::journal::Entry>>,
    pub views: Views,
}

/// The config file's views and columns, and the view to start with.
#[derive(Debug, Clone, Default)]
pub struct Views {
    pub list: Vec<app::View>,
    /// The table's columns when no view chooses them; empty for every column.
    pub columns: Vec<app::SortColumn>,
    /// `--view NAME`, by its place in `list`.
    pub start: Option<usize>,
}

/// Runs the dashboard until the user quits or a signal arrives.
pub async fn run(parts: Parts) -> anyhow::Result<()> {
    let Parts {
        sources,
        timing,
        view,
        read_only,
        notifier,
        history,
        views,
    } = parts;
    let mut app = App::new(timing);
    if sources.len() > 1 {
        app.set_sources(sources.iter().map(|s| s.name.clone()).collect());
    }
    app.set_budgets(sources.iter().map(|s| s.poller.budget_per_minute).collect());
    let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
    app.set_ssh_key_dirs(sources.iter().map(|s| s.ssh_key_dir.clone()).collect());
    app.set_fast_intervals(sources.iter().map(|s| s.poller.fast_interval).collect());
    let mut feeds = Vec::with_capacity(sources.len());
    let mut meters = Vec::with_capacity(sources.len());
    for s in sources {
        meters.push(Meter {
            client: s.client.clone(),
            fast_interval: s.poller.fast_interval,
        });
        let source: Arc<dyn watch::Source> = Arc::new(ClientSource::new(s.client, s.query));
        feeds.push((source, s.poller));
    }
    let pollers = spawn_all(feeds);
    if let Some(entries) = history {
        app.set_history(entries, &names);
    }
    app.set_read_only(read_only);
    app.set_views(views.list, views.columns);
    if views.start.is_some() {
        app.apply_view(views.start, now_ms());
    }
    let mut notifier = notifier.with_sources(names);
    // Start the change feed before the first listing arrives.
    notifier.after(&mut app, now_ms(), false);

    let mut guard =
        crate::term::enter().context("cannot take over the terminal (is stdout a terminal?)")?;
    tracing::info!(endpoint = %view.endpoint, "dashboard started");
    let result = event_loop(&mut guard, &mut app, &view, pollers, &meters, &mut notifier).await;
    drop(guard);
    tracing::info!("dashboard stopped");
    result
}

async fn event_loop(
    guard: &mut crate::term::TerminalGuard,
    app: &mut App,
    ctx: &ui::ViewContext,
    mut pollers: Pollers,
    meters: &[Meter],
    notifier: &mut Notifier,
) -> anyhow::Result<()> {
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sigterm = signal(SignalKindName::Terminate)?;
    let mut sighup = signal(SignalKindName::Hangup)?;
    // Actions run in tasks of their own and report back here.
    let (act_tx, mut act_rx) = tokio::sync::mpsc::unbounded_channel();
    let acts = Actions {
        clients: meters
            .iter()
            .map(|m| (m.client.clone(), crate::act::Follow::every(m.fast_interval)))
            .collect(),
        tx: act_tx,
    };
    // The detail pane's reads of whole records not held (large projects only).
    let (detail_tx, mut detail_rx) =
        tokio::sync::mpsc::unbounded_channel::<(InstanceKey, DetailAnswer)>();
    let reads = Reads {
        clients: meters.iter().map(|m| m.client.clone()).collect(),
        tx: detail_tx,
    };

    let mut frames = crate::frames::Frames::new(
        crate::defaults::MAX_FRAMES_PER_SECOND,
        crate::defaults::FRAME_BURST,
    );
    draw(guard, app, ctx)?;
    loop {
        let mut redraw = true;
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    let effects = app.handle_key(k, now_ms());
                    if apply_effects(effects, &pollers, &acts, &reads, app)? { return Ok(()); }
                }
                Some(Ok(Event::Mouse(m))) => {
                    let effects = app.handle_mouse(m, now_ms());
                    if apply_effects(effects, &pollers, &acts, &reads, app)? { return Ok(()); }
                }
                Some(Ok(Event::Resize(..))) => {}
                Some(Ok(_)) => redraw = false,
                Some(Err(e)) => return Err(anyhow::anyhow!("reading the terminal failed: {e}")),
                None => return Ok(()),
            },
            msg = pollers.messages.recv() => {
                let Some(msg) = msg else {
                    return Err(anyhow::anyhow!("the poller stopped unexpectedly"));
                };
                // What queued up while the last frame was drawn is applied at once:
                // consecutive pages of a source as one, so the table is re-sorted once.
                let mut queued = vec![msg];
                while let Ok(m) = pollers.messages.try_recv() {
                    queued.push(m);
                }
                tracing::debug!(queued = queued.len(), "poller messages");
                // A batch of pages that only confirmed rows as they were
                // changes nothing on screen: the 1 s tick draws the ages.
                // News is drawn at the pace of frames.rs.
                redraw = on_messages(app, queued, notifier) && frames.news();
            }
            () = frames.wait() => {}
            Some(ev) = act_rx.recv() => {
                // Once the service has settled an action, the whole table catches up.
                let settled = match &ev {
                    app::ActionEvent::Settled { key, .. } => Some(key.source),
                    _ => None,
                };
                let now = now_ms();
                let bulk = app.bulk_running();
                app.apply_action(ev, now);
                // A bulk action is not followed instance by instance: once its
                // last answer is in, every source refreshes, then the hot tier
                // follows the rows that are changing.
                if bulk && !app.bulk_running() {
                    pollers.send_all(&Control::RefreshNow);
                }
                // What the action changed is journaled like any other change.
                if notifier.after(app, now, false) {
                    ring_bell();
                }
                if let Some(src) = settled {
                    pollers.send(src.0, Control::RefreshNow);
                }
            }
            Some((key, answer)) = detail_rx.recv() => {
                let now = now_ms();
                app.apply_detail(&key, answer, now);
                // A fresher record may carry a change: journaled like any other.
                if notifier.after(app, now, false) {
                    ring_bell();
                }
            }
            // A detail read comes due (the state says when): carried out below.
            _ = sleep_until_ms(app.next_due_ms()) => redraw = false,
            _ = tick.tick() => {
                let now = now_ms();
                // A refresh spread out by the budget takes minutes: count its
                // requests as they go, not only when it ends.
                for (src, m) in meters.iter().enumerate() {
                    let src = SourceId::nth(src);
                    let sent = u32::try_from(m.client.requests_last_minute()).unwrap_or(u32::MAX);
                    app.record_requests(src, sent, now);
                    app.record_burst(src, m.client.burst().left());
                }
                app.tick(now);
                // Stuck and auto-stop alerts come with time, not only with polls.
                if notifier.after(app, now, false) {
                    ring_bell();
                }
            }
            _ = sigterm.recv() => return Ok(()),
            _ = sighup.recv() => return Ok(()),
        }
        // What the state decided the loop must do (run a source hot, read a
        // record): before drawing, so the status bar shows the pace, and after,
        // since the detail pane's size comes from the drawing.
        let due = app.due_effects(now_ms());
        if apply_effects(due, &pollers, &acts, &reads, app)? {
            return Ok(());
        }
        if redraw {
            draw(guard, app, ctx)?;
            frames.drawn();
        }
        let due = app.due_effects(now_ms());
        if apply_effects(due, &pollers, &acts, &reads, app)? {
            return Ok(());
        }
    }
}

/// A whole record read for the detail pane: `None` when the service no longer
/// knows the instance, the error's message when the read failed.
type DetailAnswer = Result<Option<crate::api::Notebook>, String>;

/// Sleeps until epoch ms `at` (for ever when `None`).
async fn sleep_until_ms(at: Option<i64>) {
    match at {
        Some(at) => {
            let ms = u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        None => std::future::pending().await,
    }
}

/// What the event loop needs to read a whole record: each source's client
/// (a record is read from its instance's source) and where answers go.
struct Reads {
    clients: Vec<Client>,
    tx: tokio::sync::mpsc::UnboundedSender<(InstanceKey, DetailAnswer)>,
}

/// Applies the queued poller messages as one batch (see [`App::apply_all`]),
/// then journals what a sweep's end or hot news brought. Returns whether the
/// screen may have changed: anything but pages that only confirmed rows as
/// they were.
fn on_messages(app: &mut App, queued: Vec<(u16, Message)>, notifier: &mut Notifier) -> bool {
    let news = queued
        .iter()
        .any(|(_, m)| matches!(m, Message::Snapshot { .. } | Message::Hot { .. }));
    let now = now_ms();
    let changes = app.apply_all(queued.into_iter().map(|(s, m)| (SourceId(s), m)), now);
    if news && notifier.after(app, now, true) {
        ring_bell();
    }
    changes.visible()
}

/// Rings the bell; a terminal that cannot is not worth stopping for.
fn ring_bell() {
    if let Err(e) = crate::term::bell() {
        tracing::debug!(error = %e, "cannot ring the bell");
    }
}

/// A source's client, kept by the event loop to count its requests and act.
struct Meter {
    client: Client,
    fast_interval: Duration,
}

/// What the event loop needs to start an action task: each source's client
/// (an action goes to the source of its instance) and how to follow it.
struct Actions {
    clients: Vec<(Client, crate::act::Follow)>,
    tx: tokio::sync::mpsc::UnboundedSender<app::ActionEvent>,
}

/// Carries out what a key asked for. Returns true to quit.
fn apply_effects(
    effects: Vec<Effect>,
    pollers: &Pollers,
    acts: &Actions,
    reads: &Reads,
    app: &mut App,
) -> anyhow::Result<bool> {
    for e in effects {
        match e {
            Effect::Quit => return Ok(true),
            Effect::RefreshNow => pollers.send_all(&Control::RefreshNow),
            Effect::SetPaused(p) => pollers.send_all(&Control::SetPaused(p)),
            Effect::SetInterval(d) => pollers.send_all(&Control::SetInterval(d)),
            Effect::CopyToClipboard(text) => {
                crate::term::copy_to_clipboard(&text).context("writing to the terminal failed")?;
            }
            Effect::OpenUrl(url) => {
                if let Err(why) = crate::opener::open(&url) {
                    crate::term::copy_to_clipboard(&url)
                        .context("writing to the terminal failed")?;
                    app.url_not_opened(&url, &why, now_ms());
                }
            }
            Effect::Act(req) => match acts.clients.get(req.key.source.index()) {
                Some((client, follow)) => {
                    crate::act::spawn(client.clone(), req, *follow, acts.tx.clone());
                }
                // Cannot happen: every instance comes from a source with a client.
                None => crate::act::audit_not_sent(req.verb, &req.id, "its source is unknown"),
            },
            Effect::ActMany(reqs) => {
                let clients = acts.clients.iter().map(|(c, _)| c.clone()).collect();
                crate::act::spawn_many(clients, reqs, acts.tx.clone());
            }
            Effect::NotSent { verb, id, why } => crate::act::audit_not_sent(verb, &id, why),
            Effect::SetHot { source, hot } => pollers.send(source.0, Control::SetHot(hot)),
            Effect::ReadRecord(want) => {
                // Cannot be missing: every instance comes from a source with a client.
                if let Some(client) = reads.clients.get(want.key.source.index()).cloned() {
                    let tx = reads.tx.clone();
                    tokio::spawn(async move {
                        let answer = client
                            .show_notebook(&want.id)
                            .await
                            .map_err(|e| e.to_string());
                        let _ = tx.send((want.key, answer));
                    });
                }
            }
        }
    }
    Ok(false)
}

fn draw(
    guard: &mut crate::term::TerminalGuard,
    app: &mut App,
    ctx: &ui::ViewContext,
) -> anyhow::Result<()> {
    let now = now_ms();
    let mut viewport = None;
    guard
        .terminal
        .draw(|f| viewport = Some(ui::draw(f, app, ctx, now)))
        .context("drawing the screen failed")?;
    if let Some(v) = viewport {
        app.set_viewport(v);
    }
    Ok(())
}

enum SignalKindName {
    Terminate,
    Hangup,
}

#[cfg(unix)]
fn signal(kind: SignalKindName) -> anyhow::Result<tokio::signal::unix::Signal> {
    use tokio::signal::unix::{SignalKind, signal};
    let k = match kind {
        SignalKindName::Terminate => SignalKind::terminate(),
        SignalKindName::Hangup => SignalKind::hangup(),
    };
    signal(k).context("cannot listen for signals")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::WireNotebook;
    use crate::app::fixtures::{nb, timing};

    fn page(ids: &[&str], loaded: u64) -> Message {
        Message::Page {
            notebooks: ids
                .iter()
                .map(|id| WireNotebook::of(&nb(id, id, "RUNNING")))
                .collect(),
            loaded,
            total: Some(3),
            read_at_ms: 0,
        }
    }

    /// A dashboard watching `bj` and `sg`, and its notifier.
    fn two_sources() -> (App, Notifier) {
        let mut app = App::new(timing());
        app.set_sources(vec!["bj".into(), "sg".into()]);
        let notifier = Notifier::new("bj", None, crate::alerts::AlertConfig::default());
        (app, notifier)
    }

    #[test]
    fn queued_pages_merge_per_source_and_stay_with_their_source() {
        let (mut app, mut notifier) = two_sources();
        let queued = vec![
            (0, page(&["a"], 1)),
            (0, page(&["b"], 2)),
            (1, page(&["a"], 1)),
            (0, page(&["c"], 3)),
        ];
        on_messages(&mut app, queued, &mut notifier);
        let mut got: Vec<InstanceKey> = app.instances().iter().map(|t| t.key.clone()).collect();
        got.sort();
        let key = |s, id| InstanceKey::new(SourceId(s), id);
        assert_eq!(got, [key(0, "a"), key(0, "b"), key(0, "c"), key(1, "a")]);
        assert_eq!(app.feeds()[0].poll.sweep.map(|p| p.loaded), Some(3));
        assert_eq!(app.feeds()[1].poll.sweep.map(|p| p.loaded), Some(1));
    }

    #[test]
    fn a_dead_poller_shows_its_source_failed_for_good_and_the_other_untouched() {
        let (mut app, mut notifier) = two_sources();
        let queued = vec![
            (0, page(&["a"], 1)),
            (1, watch::several::died("it panicked: boom")),
        ];
        on_messages(&mut app, queued, &mut notifier);
        let dead = app.feeds()[1].poll.last_error.clone().unwrap_or_default();
        assert!(dead.stopped && !dead.auth, "{dead:?}");
        assert_eq!(dead.short_code(), "poller stopped");
        assert!(dead.message.contains("it panicked: boom"), "{dead:?}");
        assert!(matches!(
            app.feeds()[1].poll.freshness(now_ms()),
            app::Freshness::Failing { .. }
        ));
        assert!(app.feeds()[0].poll.last_error.is_none());
        // An authentication stop is not a dead poller.
        let auth = Message::Failed {
            error: crate::api::ApiError::Http(crate::api::error::HttpError {
                status: 401,
                ..Default::default()
            }),
            consecutive: 1,
            next_in: None,
            stats: watch::Stats::default(),
        };
        on_messages(&mut app, vec![(0, auth)], &mut notifier);
        let e = app.feeds()[0].poll.last_error.clone().unwrap_or_default();
        assert!(e.auth && !e.stopped);
    }
}
