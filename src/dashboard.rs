//! The dashboard's event loop: poller messages, terminal input, a 1 s tick and
//! signals in; state updates and redraws out. Network code never runs here: the
//! poller task owns the client.
//!
//! ```text
//!  poller task ──Message──┐
//!  EventStream ──key/mouse┼──► App (state) ──► ui::draw ──► terminal
//!  1 s tick ──────────────┤        │
//!  SIGTERM/SIGHUP ────────┘        └─Effect──► poller commands, clipboard, quit
//! ```

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;

use crate::api::{Client, ListQuery};
use crate::app::{self, App, Effect, PollErrorInfo};
use crate::notify::Notifier;
use crate::timefmt::now_ms;
use crate::ui;
use crate::watch::{self, ClientSource, Control, Message, PollerConfig};

/// Everything the dashboard runs with, built by the caller from the settings.
pub struct Parts {
    /// The client, rate-limited to the request budget.
    pub client: Client,
    pub query: ListQuery,
    pub poller: PollerConfig,
    pub timing: app::Timing,
    pub view: ui::ViewContext,
    /// Hide and refuse every action.
    pub read_only: bool,
    /// The journal and alerts.
    pub notifier: Notifier,
    /// What an existing journal recorded, for the trends view: (entries, source).
    pub history: Option<(Vec<crate::journal::Entry>, String)>,
}

/// Runs the dashboard until the user quits or a signal arrives.
pub async fn run(parts: Parts) -> anyhow::Result<()> {
    let Parts {
        client,
        query,
        poller,
        timing,
        view,
        read_only,
        notifier,
        history,
    } = parts;
    let meter = client.clone();
    let fast_interval = poller.fast_interval;
    let poller = watch::spawn(Arc::new(ClientSource { client, query }), poller);
    let mut app = App::new(timing);
    if let Some(cap) = crate::test_hooks::record_cap() {
        app.set_record_cap(cap);
    }
    if let Some((entries, source)) = history {
        app.set_history(entries, &source);
    }
    app.set_read_only(read_only);
    let mut notifier = notifier;
    // Start the change feed before the first listing arrives.
    notifier.after(&mut app, now_ms(), false);

    let mut guard =
        crate::term::enter().context("cannot take over the terminal (is stdout a terminal?)")?;
    tracing::info!(endpoint = %view.endpoint, "dashboard started");
    let result = event_loop(
        &mut guard,
        &mut app,
        &view,
        poller,
        &meter,
        fast_interval,
        &mut notifier,
    )
    .await;
    drop(guard);
    tracing::info!("dashboard stopped");
    result
}

async fn event_loop(
    guard: &mut crate::term::TerminalGuard,
    app: &mut App,
    ctx: &ui::ViewContext,
    mut poller: watch::Handle,
    meter: &Client,
    fast_interval: Duration,
    notifier: &mut Notifier,
) -> anyhow::Result<()> {
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sigterm = signal(SignalKindName::Terminate)?;
    let mut sighup = signal(SignalKindName::Hangup)?;
    let mut hot = false;
    // Actions run in tasks of their own and report back here.
    let (act_tx, mut act_rx) = tokio::sync::mpsc::unbounded_channel();
    let acts = Actions {
        client: meter.clone(),
        follow: crate::act::Follow::every(fast_interval),
        tx: act_tx,
    };
    // The detail pane's reads of whole records not held (large projects only).
    let (detail_tx, mut detail_rx) =
        tokio::sync::mpsc::unbounded_channel::<(String, DetailAnswer)>();
    let mut detail_due: Option<(app::DetailWant, tokio::time::Instant)> = None;
    // Test hook (the `test-hooks` feature only): panic, to prove the terminal is restored.
    let panic_at = crate::test_hooks::panic_after().map(|d| tokio::time::Instant::now() + d);

    draw(guard, app, ctx)?;
    loop {
        let mut redraw = true;
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    let effects = app.handle_key(k, now_ms());
                    if apply_effects(effects, &poller, &acts)? { return Ok(()); }
                }
                Some(Ok(Event::Mouse(m))) => {
                    let effects = app.handle_mouse(m, now_ms());
                    if apply_effects(effects, &poller, &acts)? { return Ok(()); }
                }
                Some(Ok(Event::Resize(..))) => {}
                Some(Ok(_)) => redraw = false,
                Some(Err(e)) => return Err(anyhow::anyhow!("reading the terminal failed: {e}")),
                None => return Ok(()),
            },
            msg = poller.messages.recv() => {
                let Some(msg) = msg else {
                    return Err(anyhow::anyhow!("the poller stopped unexpectedly"));
                };
                // What queued up while the last frame was drawn is applied at once:
                // consecutive pages as one, so the table is re-sorted once.
                let mut queued = vec![msg];
                while let Ok(m) = poller.messages.try_recv() {
                    queued.push(m);
                }
                tracing::debug!(queued = queued.len(), "poller messages");
                on_messages(app, queued, notifier);
            }
            Some(ev) = act_rx.recv() => {
                // Once the service has settled an action, the whole table catches up.
                let settled = matches!(ev, app::ActionEvent::Settled { .. });
                let now = now_ms();
                app.apply_action(ev, now);
                // What the action changed is journaled like any other change.
                if notifier.after(app, now, false) {
                    ring_bell();
                }
                if settled {
                    let _ = poller.commands.send(Control::RefreshNow);
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
            _ = async { match &detail_due { Some((_, at)) => tokio::time::sleep_until(*at).await, None => std::future::pending().await } } => {
                let now = now_ms();
                if let Some((want, _)) = detail_due.take().filter(|(w, _)| app.detail_wanted(now).as_ref() == Some(w)) {
                    app.detail_read_started(&want.key);
                    let client = meter.clone();
                    let tx = detail_tx.clone();
                    tokio::spawn(async move {
                        let answer = client.show_notebook(&want.id).await.map_err(|e| e.to_string());
                        let _ = tx.send((want.key, answer));
                    });
                }
            }
            _ = tick.tick() => {
                let now = now_ms();
                // A refresh spread out by the budget takes minutes: count its
                // requests as they go, not only when it ends.
                let sent = u32::try_from(meter.requests_last_minute()).unwrap_or(u32::MAX);
                app.record_requests(sent, now);
                app.record_burst(meter.burst().left());
                app.tick(now);
                // Stuck and auto-stop alerts come with time, not only with polls.
                if notifier.after(app, now, false) {
                    ring_bell();
                }
            }
            _ = async { match panic_at { Some(t) => tokio::time::sleep_until(t).await, None => std::future::pending().await } } => {
                panic!("test panic requested by NBWATCH_TEST_PANIC_AFTER_MS");
            }
            _ = sigterm.recv() => return Ok(()),
            _ = sighup.recv() => return Ok(()),
        }
        // Poll faster while an instance on screen is changing state.
        let now_hot = app.any_visible_transitional();
        if now_hot != hot {
            hot = now_hot;
            let _ = poller.commands.send(Control::SetHot(hot));
            // While the hot tier runs, the sweep keeps its interval.
            let tier = app.poll().pace.hot;
            app.record_pace(app::Pace {
                fast: (hot && tier.is_none()).then_some(fast_interval),
                budget: app.poll().pace.budget,
                hot: tier,
            });
        }
        if redraw {
            draw(guard, app, ctx)?;
        }
        // The detail pane shows an instance whose whole record is not held: read
        // it once the selection has rested, so scrolling through rows costs nothing.
        match app.detail_wanted(now_ms()) {
            Some(want) if detail_due.as_ref().is_none_or(|(w, _)| *w != want) => {
                detail_due = Some((want, tokio::time::Instant::now() + DETAIL_SETTLE));
            }
            Some(_) => {}
            None => detail_due = None,
        }
    }
}

/// A whole record read for the detail pane: `None` when the service no longer
/// knows the instance, the error's message when the read failed.
type DetailAnswer = Result<Option<crate::api::Notebook>, String>;

/// How long the selection must rest on an instance before the detail pane reads
/// its whole record (see [`App::detail_wanted`]).
const DETAIL_SETTLE: Duration = Duration::from_millis(300);

/// Applies poller messages in order; runs of pages go in as one page.
fn on_messages(app: &mut App, queued: Vec<Message>, notifier: &mut Notifier) {
    // (instances, progress, when the oldest of the merged pages was read)
    type Merged = (Vec<crate::api::Notebook>, app::SweepProgress, i64);
    let mut pages: Option<Merged> = None;
    for msg in queued {
        if let Message::Page {
            notebooks,
            loaded,
            total,
            read_at_ms,
        } = msg
        {
            let (all, progress, at) =
                pages.get_or_insert_with(|| (Vec::new(), app::SweepProgress::default(), i64::MAX));
            all.extend(notebooks);
            *progress = app::SweepProgress { loaded, total };
            // As old as its oldest page: never newer than news that came meanwhile.
            *at = (*at).min(read_at_ms);
            continue;
        }
        if let Some((notebooks, progress, at)) = pages.take() {
            app.apply_page(notebooks, progress, at);
        }
        on_message(app, msg, notifier);
    }
    if let Some((notebooks, progress, at)) = pages {
        app.apply_page(notebooks, progress, at);
    }
}

/// One poller message (pages are merged by [`on_messages`] first).
fn on_message(app: &mut App, msg: Message, notifier: &mut Notifier) {
    match msg {
        Message::Started => app.poll_started(now_ms()),
        Message::Page {
            notebooks,
            loaded,
            total,
            read_at_ms,
        } => {
            app.apply_page(notebooks, app::SweepProgress { loaded, total }, read_at_ms);
        }
        Message::Hot {
            seen,
            gone,
            error,
            stats,
        } => {
            let now = now_ms();
            app.record_pace(pace(&stats));
            let error = error.map(|e| PollErrorInfo::from_api(&e, 1).short_code());
            app.apply_hot(seen, gone, error, now);
            if notifier.after(app, now, true) {
                ring_bell();
            }
        }
        Message::Snapshot { listing, stats, .. } => {
            let now = now_ms();
            app.record_requests(stats.requests_last_minute, now);
            app.record_pace(pace(&stats));
            app.record_burst(stats.burst_left);
            if !listing.notebooks.is_empty() {
                let n = listing.notebooks.len() as u64;
                let progress = app::SweepProgress {
                    loaded: n,
                    total: Some(n),
                };
                app.apply_page(listing.notebooks, progress, now);
            }
            app.finish_sweep(listing.complete, now);
            if notifier.after(app, now, true) {
                ring_bell();
            }
        }
        Message::Failed {
            error,
            consecutive,
            next_in,
            stats,
        } => {
            let now = now_ms();
            tracing::warn!(error = %error, consecutive, "poll failed");
            app.record_requests(stats.requests_last_minute, now);
            app.record_pace(pace(&stats));
            let mut info = PollErrorInfo::from_api(&error, consecutive);
            info.next_retry_at_ms = next_in
                .map(|d| now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
            app.apply_error(info, now);
        }
    }
}

/// Rings the bell; a terminal that cannot is not worth stopping for.
fn ring_bell() {
    if let Err(e) = crate::term::bell() {
        tracing::debug!(error = %e, "cannot ring the bell");
    }
}

/// What the status bar says about the schedule the poller planned.
fn pace(stats: &watch::Stats) -> app::Pace {
    app::Pace {
        fast: stats.fast.then_some(stats.interval),
        budget: stats.budget_limited.then_some(stats.effective_interval),
        hot: stats.hot,
    }
}

/// What the event loop needs to start an action task.
struct Actions {
    client: Client,
    follow: crate::act::Follow,
    tx: tokio::sync::mpsc::UnboundedSender<app::ActionEvent>,
}

/// Carries out what a key asked for. Returns true to quit.
fn apply_effects(
    effects: Vec<Effect>,
    poller: &watch::Handle,
    acts: &Actions,
) -> anyhow::Result<bool> {
    for e in effects {
        match e {
            Effect::Quit => return Ok(true),
            Effect::RefreshNow => {
                let _ = poller.commands.send(Control::RefreshNow);
            }
            Effect::SetPaused(p) => {
                let _ = poller.commands.send(Control::SetPaused(p));
            }
            Effect::SetInterval(d) => {
                let _ = poller.commands.send(Control::SetInterval(d));
            }
            Effect::CopyToClipboard(text) => {
                crate::term::copy_to_clipboard(&text).context("writing to the terminal failed")?;
            }
            Effect::Act(req) => {
                crate::act::spawn(acts.client.clone(), req, acts.follow, acts.tx.clone());
            }
            Effect::NotSent { verb, id, why } => crate::act::audit_not_sent(verb, &id, why),
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
