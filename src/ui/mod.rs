//! Pure rendering: `App` + `ViewContext` → a ratatui frame. Nothing here mutates
//! state, reads the clock or touches the terminal.
//!
//! ```text
//! ┌──────────────────────────────────────────────────────────────────────────────┐
//! │ header.rs   nbwatch │ profile │ region │ project │ endpoint   ● updated 3s ago│ 1
//! │ header.rs   ● 5 running  ◐ 3 moving  ○ 1 stopped  ✗ 3 failing    ⚠ 3 problems │ 1
//! │┌ table.rs  Notebooks 12/13 · name ▲ ─────────┐┌ detail.rs (≥140 cols) ───────┐│
//! ││ NAME         STATUS      FLAVOR  LEASE  AGE ││ id, status, image, lease,    ││
//! ││ rows (only the visible ones are built)      ││ volume, progress, endpoints… ││
//! │└ filter: name ~ "bert" · problems only ──────┘└──────────────────────────────┘│
//! │   (100–139 cols: detail.rs below the table; narrower: Enter for full screen)  │
//! │ statusbar.rs  error / flash / last event               every 10s · 6 req/min │ 1
//! │ statusbar.rs  q quit  / filter  s status …   (or the filter being typed)      │ 1
//! └──────────────────────────────────────────────────────────────────────────────┘
//!   help.rs, picker.rs, views.rs and confirm.rs draw centred popups over the rest.
//! ```

mod confirm;
mod detail;
pub mod format;
mod header;
mod help;
mod picker;
mod statusbar;
mod table;
pub mod theme;
mod trends;
mod views;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod views_tests;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use time::UtcOffset;

use crate::app::{App, Mode, Viewport};

pub use theme::Theme;

/// Terminal width from which the detail pane sits beside the table.
pub const WIDE: u16 = 140;
/// Terminal width from which the detail pane sits below the table (if tall enough).
pub const MEDIUM: u16 = 100;
/// Height needed for the detail pane below the table.
pub const MEDIUM_HEIGHT: u16 = 30;

/// What the dashboard shows besides the state: where the data comes from, the
/// theme, the local UTC offset. Built once at start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewContext {
    pub profile: String,
    pub region: String,
    pub project_id: String,
    pub endpoint: String,
    /// The built-in simulator: the header says DEMO.
    pub demo: bool,
    pub theme: Theme,
    /// For local times in the detail pane; tests use 0 (UTC).
    pub utc_offset_secs: i32,
}

/// One frame's view of the context: the context plus the time of the frame.
#[derive(Debug, Clone, Copy)]
struct Paint<'a> {
    now_ms: i64,
    theme: &'a Theme,
    source: &'a ViewContext,
    utc_offset: UtcOffset,
}

impl<'a> Paint<'a> {
    fn new(ctx: &'a ViewContext, now_ms: i64) -> Paint<'a> {
        Paint {
            now_ms,
            theme: &ctx.theme,
            source: ctx,
            utc_offset: UtcOffset::from_whole_seconds(ctx.utc_offset_secs)
                .unwrap_or(UtcOffset::UTC),
        }
    }
}

/// The screen regions for a terminal of `area`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Screen {
    header: Rect,
    counts: Rect,
    table: Option<Rect>,
    detail: Option<Rect>,
    /// The trends chart, in place of the table and the detail.
    trends: Option<Rect>,
    status: Rect,
    hints: Rect,
}

fn screen(area: Rect, app: &App) -> Screen {
    let [header, counts, middle, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let full_detail = matches!(app.mode(), Mode::Detail | Mode::Help { from_detail: true })
        || matches!(app.mode(), Mode::Confirm(c) if c.from_detail);
    let trends = matches!(app.mode(), Mode::Trends).then_some(middle);
    let (table, detail) = if trends.is_some() {
        (None, None)
    } else if full_detail && app.selected().is_some() {
        (None, Some(middle))
    } else if area.width >= WIDE {
        let [t, d] = Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)])
            .areas(middle);
        (Some(t), Some(d))
    } else if area.width >= MEDIUM && area.height >= MEDIUM_HEIGHT {
        let [t, d] = Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(middle);
        (Some(t), Some(d))
    } else {
        (Some(middle), None)
    };
    Screen {
        header,
        counts,
        table,
        detail,
        trends,
        status,
        hints,
    }
}

/// Draws the whole dashboard as of `now_ms`, and returns the geometry the state
/// needs for paging, scrolling and mouse clicks: pass it to `App::set_viewport`.
pub fn draw(frame: &mut Frame, app: &App, ctx: &ViewContext, now_ms: i64) -> Viewport {
    let env = Paint::new(ctx, now_ms);
    let area = frame.area();
    let s = screen(area, app);
    let buf = frame.buffer_mut();
    header::draw_header(buf, s.header, app, &env);
    header::draw_counts(buf, s.counts, app, &env);
    if let Some(t) = s.table {
        table::draw(buf, t, app, &env);
    }
    if let Some(d) = s.detail {
        detail::draw(buf, d, app, &env);
    }
    if let Some(r) = s.trends {
        trends::draw(buf, r, app, &env);
    }
    statusbar::draw_status(buf, s.status, app, &env);
    statusbar::draw_hints(buf, s.hints, app, &env);
    match app.mode() {
        Mode::Picker(p) => picker::draw(buf, area, p, &env),
        Mode::Help { .. } => help::draw(buf, area, app, &env),
        Mode::Confirm(c) => confirm::draw(buf, area, c, app, &env),
        Mode::Views(p) => views::draw(buf, area, p, app, &env),
        _ => {}
    }
    layout(&s, area, app, &env)
}

/// The same geometry `draw` returns, without drawing: for handling input before
/// the first frame or right after a resize.
pub fn viewport(area: Rect, app: &App, ctx: &ViewContext, now_ms: i64) -> Viewport {
    layout(&screen(area, app), area, app, &Paint::new(ctx, now_ms))
}

fn layout(s: &Screen, area: Rect, app: &App, env: &Paint) -> Viewport {
    let detail = s.detail.map(detail::inner).unwrap_or_default();
    Viewport {
        table_body: s.table.map(table::body).unwrap_or_default(),
        detail,
        detail_lines: app
            .selected()
            .map_or(0, |t| detail::lines(t, app, env, detail.width).len()),
        help: help::inner(area),
        help_lines: help::lines(app, env.theme).len(),
    }
}
