//! The two top lines: where the data comes from and how fresh it is; then how many
//! instances are in each status.
//!
//! ```text
//! nbwatch  profile default  region cn-north-4  project 0a1b…  endpoint …   ● updated 3s ago
//! ● RUNNING 5  ◐ CREATING 1  ○ STOPPED 1  ✗ CREATE_FAILED 1  ? HIBERNATING 1   ⚠ 3 problems
//! ```
//!
//! With several sources the first line is one state per source, failing ones first:
//!
//! ```text
//! nbwatch  ✗ singapore 500 · retry 2 in 8s · 40s old  ● beijing 3s  ◌ guiyang loading
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::Paint;
use super::format::{duration, fit, width};
use super::theme::status_symbol;
use crate::api::model::Status;
use crate::app::{App, Freshness};

pub fn draw_header(buf: &mut Buffer, area: Rect, app: &App, ctx: &Paint) {
    let t = ctx.theme;
    buf.set_style(area, t.bar);
    if app.several_sources() {
        draw_sources(buf, area, app, ctx);
        return;
    }
    let right = Line::from(freshness(app, ctx)).right_aligned();
    let room = usize::from(area.width).saturating_sub(right.width() + 2);
    let left = Line::from(source(ctx, room));
    left.render(area, buf);
    right.render(area, buf);
}

/// The left part, dropping the least useful pieces until it fits in `room` cells.
fn source(ctx: &Paint, room: usize) -> Vec<Span<'static>> {
    let t = ctx.theme;
    let s = ctx.source;
    let title = Span::styled(" nbwatch ", t.heading);
    let mut parts: Vec<(&'static str, String)> = Vec::new();
    if s.demo {
        parts.push(("", "DEMO".to_string()));
    } else {
        parts.push(("profile ", s.profile.clone()));
    }
    parts.push(("region ", s.region.clone()));
    parts.push(("project ", s.project_id.clone()));
    parts.push(("endpoint ", s.endpoint.clone()));
    parts.retain(|(_, v)| !v.is_empty());
    let cost = |p: &[(&str, String)]| {
        9 + p
            .iter()
            .map(|(l, v)| 2 + width(l) + width(v))
            .sum::<usize>()
    };
    // The endpoint goes first when space is short; the project id is cut instead.
    if parts.len() > 3 && cost(&parts) > room {
        parts.pop();
    }
    let mut spans = vec![title];
    let mut used = 9;
    for (label, value) in parts {
        let left = room.saturating_sub(used + 2 + width(label));
        if left < 4 {
            break;
        }
        spans.push(Span::raw("  "));
        if label.is_empty() {
            spans.push(Span::styled(
                value.clone(),
                t.warn.add_modifier(Modifier::REVERSED | Modifier::BOLD),
            ));
        } else {
            spans.push(Span::styled(label, t.muted));
            spans.push(Span::styled(fit(&value, left).into_owned(), t.text));
        }
        used += 2 + width(label) + width(&value).min(left);
    }
    spans
}

/// The right part: pause, freshness, errors.
fn freshness(app: &App, ctx: &Paint) -> Vec<Span<'static>> {
    let t = ctx.theme;
    let now = ctx.now_ms;
    let mut spans = Vec::new();
    let paused = app.poll().paused_for_ms(now);
    if let Some(p) = paused {
        spans.push(Span::styled(
            format!(" ⏸ PAUSED {} ", duration(p)),
            t.warn.add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ));
        spans.push(Span::raw(" "));
    }
    let data_age = |age: Option<i64>| match age {
        Some(a) => format!("data {} old", duration(a)),
        None => "no data yet".to_string(),
    };
    let error_code = || {
        app.poll()
            .last_error
            .as_ref()
            .map(|e| e.short_code())
            .unwrap_or_default()
    };
    match app.freshness(now) {
        Freshness::Loading => spans.push(Span::styled(
            match app.poll().sweep {
                Some(p) => format!("◌ first sweep: {}", loading_count(p)),
                None => "◌ loading…".to_string(),
            },
            t.accent,
        )),
        Freshness::Fresh { age_ms } => {
            if app.poll().sweeping() {
                spans.push(Span::styled("⟳ sweep in progress", t.ok));
                spans.push(Span::styled(
                    format!(" · last complete {} ago", duration(age_ms)),
                    t.text,
                ));
            } else {
                spans.push(Span::styled("● ", t.ok));
                spans.push(Span::styled(
                    format!("last complete sweep {} ago", duration(age_ms)),
                    t.text,
                ));
            }
        }
        // Paused data is old on purpose: no alarm.
        Freshness::Stale { age_ms } if paused.is_some() => {
            spans.push(Span::styled(
                format!("last complete sweep {} ago", duration(age_ms)),
                t.muted,
            ));
        }
        Freshness::Stale { age_ms } => spans.push(Span::styled(
            format!("▲ late: last complete sweep {} ago", duration(age_ms)),
            t.warn.add_modifier(Modifier::BOLD),
        )),
        Freshness::Failing { age_ms } => {
            let err = app.poll().last_error.as_ref();
            let retry = match err {
                Some(e) if e.stopped => "restart nbwatch".to_string(),
                _ => format!("retry {}", err.map_or(0, |e| e.attempt)),
            };
            spans.push(Span::styled(
                format!("✗ {} · {retry} · {}", error_code(), data_age(age_ms)),
                t.error,
            ));
        }
        Freshness::AuthStopped { age_ms } => spans.push(Span::styled(
            format!(
                "✗ {} · polling stopped · {}",
                error_code(),
                data_age(age_ms)
            ),
            t.error,
        )),
    }
    spans.push(Span::raw(" "));
    spans
}

/// The first line with several sources: each one's state, failing ones first
/// (they are the news, and what is cut when space runs out is the end).
fn draw_sources(buf: &mut Buffer, area: Rect, app: &App, ctx: &Paint) {
    let t = ctx.theme;
    let now = ctx.now_ms;
    let mut right = Vec::new();
    if let Some(p) = app.poll().paused_for_ms(now) {
        right.push(Span::styled(
            format!(" ⏸ PAUSED {} ", duration(p)),
            t.warn.add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ));
        right.push(Span::raw(" "));
    }
    let right = Line::from(right).right_aligned();
    let room = usize::from(area.width).saturating_sub(right.width() + 1);
    let mut spans = vec![Span::styled(" nbwatch ", t.heading)];
    if ctx.source.demo {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            "DEMO",
            t.warn.add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ));
    }
    let line = |compact: bool| {
        let mut states: Vec<(bool, Vec<Span<'static>>)> = app
            .feeds()
            .iter()
            .map(|f| source_state(f, ctx, compact))
            .collect();
        // Failing first; otherwise in the order given.
        states.sort_by_key(|(failing, _)| !failing);
        let mut line = spans.clone();
        for (_, s) in states {
            line.push(Span::raw("  "));
            line.extend(s);
        }
        line
    };
    // The full story when it fits; else the failing source says less (its
    // rows carry their age) so that every source keeps a place.
    let mut spans = line(false);
    if line_width(&spans) > room {
        spans = line(true);
    }
    Line::from(fit_spans(spans, room)).render(area, buf);
    right.render(area, buf);
}

/// One source's state: whether it is failing, and how it reads.
fn source_state(f: &crate::app::Feed, ctx: &Paint, compact: bool) -> (bool, Vec<Span<'static>>) {
    let t = ctx.theme;
    let now = ctx.now_ms;
    let name = f.name.clone();
    let old = |age: Option<i64>| match age {
        Some(a) => format!("{} old", duration(a)),
        None => "no data".to_string(),
    };
    let code = || match f.poll.last_error.as_ref() {
        Some(e) if compact && e.status.is_some() => e.status.unwrap_or_default().to_string(),
        Some(e) => e.short_code(),
        None => String::new(),
    };
    let old = |age: Option<i64>| {
        if compact {
            String::new()
        } else {
            format!(" · {}", old(age))
        }
    };
    match f.poll.freshness(now) {
        Freshness::Loading => (
            false,
            vec![Span::styled(
                match f.poll.sweep {
                    Some(p) => format!("◌ {name} {}", loading_count(p)),
                    None => format!("◌ {name} loading"),
                },
                t.accent,
            )],
        ),
        Freshness::Fresh { age_ms } if f.poll.sweeping() => (
            false,
            vec![
                Span::styled("⟳ ", t.ok),
                Span::styled(format!("{name} {}", duration(age_ms)), t.text),
            ],
        ),
        Freshness::Fresh { age_ms } => (
            false,
            vec![
                Span::styled("● ", t.ok),
                Span::styled(format!("{name} {}", duration(age_ms)), t.text),
            ],
        ),
        Freshness::Stale { age_ms } => (
            false,
            vec![Span::styled(
                format!("▲ {name} late {}", duration(age_ms)),
                t.warn.add_modifier(Modifier::BOLD),
            )],
        ),
        Freshness::Failing { age_ms } => {
            let err = f.poll.last_error.as_ref();
            let attempt = err.map_or(0, |e| e.attempt);
            let retry = match err.and_then(|e| e.next_retry_at_ms) {
                _ if err.is_some_and(|e| e.stopped) => "restart nbwatch".to_string(),
                Some(at) if at > now => {
                    format!("retry {attempt} in {}", duration(at.saturating_sub(now)))
                }
                _ => format!("retry {attempt}"),
            };
            (
                true,
                vec![Span::styled(
                    format!("✗ {name} {} · {retry}{}", code(), old(age_ms)),
                    t.error,
                )],
            )
        }
        Freshness::AuthStopped { age_ms } => (
            true,
            vec![Span::styled(
                format!("✗ {name} {} · stopped{}", code(), old(age_ms)),
                t.error,
            )],
        ),
    }
}

/// `1,250 / 10,000`, or `1,250` before any page said how many there are.
pub fn loading_count(p: crate::app::SweepProgress) -> String {
    match p.total {
        Some(t) => format!("{} / {}", thousands(p.loaded), thousands(t)),
        None => thousands(p.loaded),
    }
}

/// `10,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn draw_counts(buf: &mut Buffer, area: Rect, app: &App, ctx: &Paint) {
    let t = ctx.theme;
    if !app.has_data() {
        return;
    }
    let problems = app.attention_count();
    let right = if problems > 0 {
        let word = if problems == 1 { "problem" } else { "problems" };
        Span::styled(format!(" ⚠ {problems} {word} "), t.error)
    } else {
        Span::styled(" ✓ no problems ", t.ok)
    };
    let room = usize::from(area.width).saturating_sub(right.width() + 1);
    let detailed = per_status(app, ctx);
    let spans = if line_width(&detailed) <= room {
        detailed
    } else {
        grouped(app, ctx)
    };
    let mut left = Line::from(spans);
    if left.width() > room {
        left = Line::from(fit_spans(left.spans, room));
    }
    left.render(area, buf);
    Line::from(right).right_aligned().render(area, buf);
}

fn per_status(app: &App, ctx: &Paint) -> Vec<Span<'static>> {
    let mut spans = vec![Span::raw(" ")];
    for (status, n) in app.status_counts() {
        let style = ctx.theme.status(status);
        spans.push(Span::styled(
            format!("{} {} {n}", status_symbol(status), display_name(status)),
            style,
        ));
        spans.push(Span::raw("  "));
    }
    spans
}

/// Five groups, for terminals too narrow for one entry per status.
fn grouped(app: &App, ctx: &Paint) -> Vec<Span<'static>> {
    let t = ctx.theme;
    let mut g = [0usize; 5];
    for (s, n) in app.status_counts() {
        let i = match s {
            Status::Running => 0,
            s if s.is_transitional() => 1,
            Status::Stopped | Status::Deleted => 2,
            s if s.is_problem() => 3,
            _ => 4,
        };
        g[i] += n;
    }
    let groups = [
        ("●", "running", t.running),
        ("◐", "moving", t.transitional),
        ("○", "stopped", t.stopped),
        ("✗", "failed", t.problem),
        ("?", "other", t.unknown),
    ];
    let mut spans = vec![Span::raw(" ")];
    for (i, (sym, word, style)) in groups.into_iter().enumerate() {
        if g[i] > 0 {
            spans.push(Span::styled(format!("{sym} {} {word}", g[i]), style));
            spans.push(Span::raw("  "));
        }
    }
    spans
}

/// An unknown status with an empty name still needs a label.
pub fn display_name(s: &Status) -> &str {
    match s.as_str() {
        "" => "(none)",
        name => name,
    }
}

fn line_width(spans: &[Span]) -> usize {
    spans.iter().map(Span::width).sum()
}

/// Cuts a run of spans to `room` cells, the last one ending in `…`.
pub fn fit_spans(spans: Vec<Span<'static>>, room: usize) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut used = 0;
    for s in spans {
        let w = s.width();
        if used + w <= room {
            used += w;
            out.push(s);
        } else {
            let style: Style = s.style;
            out.push(Span::styled(
                fit(&s.content, room - used).into_owned(),
                style,
            ));
            break;
        }
    }
    out
}
