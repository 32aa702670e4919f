//! The confirmation before an action, naming the instance.
//!
//! ```text
//!   ┌ Extend auto-stop ─────────────────────────────┐
//!   │ Extend the auto-stop of lease-ends-soon?      │
//!   │ id 6a1f…  RUNNING  stops in 41s               │
//!   │                                               │
//!   │ new auto-stop   1h  [2h]  4h   8h   24h       │
//!   │ stops at 16:42:10 (now + 2h)                  │
//!   └ Enter confirm · Esc cancel · → longer ────────┘
//! ```
//!
//! Delete asks for the instance's name instead of a duration.
//!
//! For the marked instances the popup counts them, names the first few and
//! says what is skipped and why:
//!
//! ```text
//!   ┌ Stop ─────────────────────────────────────────┐
//!   │ Stop 12 instances?                            │
//!   │ alpha, beta, gamma, delta and 8 more          │
//!   │ stop 12 · 3 skipped: not RUNNING or ERROR     │
//!   └ Enter confirm · Esc cancel ───────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use super::Paint;
use super::format::{clock, duration, offset_label};
use crate::api::actions::{DURATION_CHOICES_H, Verb};
use crate::app::actions::{duration_label, question};
use crate::app::{App, Confirm};

const WIDTH: u16 = 64;

fn title(verb: Verb) -> &'static str {
    match verb {
        Verb::Start => " Start ",
        Verb::Stop => " Stop ",
        Verb::Extend => " Extend auto-stop ",
        Verb::Delete => " Delete ",
    }
}

/// The popup's lines (also what tests read).
pub fn lines(c: &Confirm, app: &App, ctx: &Paint) -> Vec<Line<'static>> {
    let t = ctx.theme;
    let mut out = vec![Line::styled(
        question(c),
        t.heading.add_modifier(Modifier::BOLD),
    )];
    if let Some(m) = &c.many {
        out.push(Line::styled(m.names(), t.text));
        let style = if m.skipped.is_empty() {
            t.muted
        } else {
            t.warn
        };
        out.push(Line::styled(m.line(c.verb), style));
        if m.hidden > 0 {
            out.push(Line::styled(
                format!("{} of them hidden by the filters", m.hidden),
                t.muted,
            ));
        }
    } else {
        out.push(about(c, app, ctx));
    }
    out.push(Line::from(""));
    action_lines(&mut out, c, ctx);
    out
}

/// `id 6a1f…  RUNNING  stops in 41s`.
fn about(c: &Confirm, app: &App, ctx: &Paint) -> Line<'static> {
    let t = ctx.theme;
    let mut about = vec![Span::styled(format!("id {}", c.id), t.muted)];
    if let Some(tr) = app.get(&c.key) {
        about.push(Span::styled(
            format!("  {}", tr.status),
            t.status(&tr.status),
        ));
        if let Some(left) = tr.lease_remaining_ms(ctx.now_ms) {
            about.push(Span::styled(
                format!("  stops in {}", duration(left)),
                t.text,
            ));
        }
    }
    Line::from(about)
}

/// What the action needs: a duration, a word about stopping, the typed confirmation.
fn action_lines(out: &mut Vec<Line<'static>>, c: &Confirm, ctx: &Paint) {
    let t = ctx.theme;
    match c.verb {
        Verb::Start | Verb::Extend => {
            let mut spans = vec![Span::styled("auto-stop after ", t.text)];
            for (i, h) in DURATION_CHOICES_H.iter().enumerate() {
                let label = format!("{h}h");
                if i == c.choice {
                    spans.push(Span::styled(format!("[{label}]"), t.selected));
                } else {
                    spans.push(Span::styled(format!(" {label} "), t.muted));
                }
                spans.push(Span::raw(" "));
            }
            out.push(Line::from(spans));
            if let Some(ms) = c.duration_ms() {
                let at = ctx.now_ms.saturating_add(ms);
                out.push(Line::from(vec![
                    Span::styled("new stop time ", t.text),
                    Span::styled(
                        format!(
                            "{} {}",
                            clock(at, ctx.utc_offset),
                            offset_label(ctx.utc_offset)
                        ),
                        t.accent.add_modifier(Modifier::BOLD),
                    ),
                    Span::styled(format!(" (now + {})", duration_label(ms)), t.muted),
                ]));
            }
        }
        Verb::Stop if c.many.is_some() => out.push(Line::styled(
            "The notebooks' processes end; their storage is kept.",
            t.text,
        )),
        Verb::Stop => out.push(Line::styled(
            "The notebook's processes end; its storage is kept.",
            t.text,
        )),
        Verb::Delete => {
            let ask = match &c.many {
                Some(m) => format!("Type {} (how many) to confirm:", m.targets.len()),
                None => "Type the instance's name to confirm:".to_string(),
            };
            out.push(Line::styled(ask, t.text));
            let style = if c.ready() { t.ok } else { t.warn };
            out.push(Line::from(vec![
                Span::styled("> ", t.accent),
                Span::styled(c.typed.clone(), style),
                Span::styled("▏", t.accent),
            ]));
        }
    }
}

pub fn draw(buf: &mut Buffer, screen: Rect, c: &Confirm, app: &App, ctx: &Paint) {
    let t = ctx.theme;
    let lines = lines(c, app, ctx);
    let area = screen.centered(
        Constraint::Length(WIDTH.min(screen.width)),
        Constraint::Length((lines.len() as u16 + 3).min(screen.height)),
    );
    let footer: Vec<String> = app
        .key_hints()
        .into_iter()
        .map(|(k, w)| format!("{k} {w}"))
        .collect();
    let block = Block::bordered()
        .border_style(if c.verb == Verb::Delete {
            t.error
        } else {
            t.accent
        })
        .title(Span::styled(title(c.verb), t.heading))
        .title_bottom(Span::styled(format!(" {} ", footer.join(" · ")), t.muted));
    let inner = block.inner(area);
    Clear.render(area, buf);
    block.render(area, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}
