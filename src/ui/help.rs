//! `?`: every key, generated from the keymap that dispatches them.
//!
//! ```text
//!        ┌ Keys · Esc closes ───────────────────┐
//!        │ Dashboard                            │
//!        │   q            quit                  │
//!        │   /            filter by name, live  │
//!        │ Instance table                       │
//!        │   j/↓          move down             │
//!        └──────────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::Paint;
use super::theme::Theme;
use crate::app::App;
use crate::app::keys::{Context, bindings, keys_label};

const KEYS: usize = 14;

/// The popup, centred, leaving a margin around it.
fn area(screen: Rect) -> Rect {
    screen.centered(
        Constraint::Length(screen.width.saturating_sub(4).min(72)),
        Constraint::Length(screen.height.saturating_sub(2)),
    )
}

pub fn inner(screen: Rect) -> Rect {
    Block::bordered().inner(area(screen))
}

/// Every key, by context; read-only mode leaves out the actions and their
/// confirmations (they are refused anyway).
pub fn lines(app: &App, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let hidden: &[Context] = if app.read_only() {
        &[Context::Act, Context::Confirm, Context::ConfirmTyped]
    } else {
        &[]
    };
    for ctx in Context::ALL.into_iter().filter(|c| !hidden.contains(c)) {
        if !out.is_empty() {
            out.push(Line::from(""));
        }
        out.push(Line::styled(ctx.title(), theme.heading));
        for bnd in bindings(ctx) {
            out.push(Line::from(vec![
                Span::styled(format!("  {:<KEYS$} ", keys_label(bnd)), theme.accent),
                Span::styled(bnd.description, theme.text),
            ]));
        }
    }
    out
}

pub fn draw(buf: &mut Buffer, screen: Rect, app: &App, ctx: &Paint) {
    let t = ctx.theme;
    let area = area(screen);
    let inner = inner(screen);
    let lines = lines(app, t);
    let height = usize::from(inner.height);
    let scroll = app.help_scroll().min(lines.len().saturating_sub(height));
    let mut footer = " Esc closes ".to_string();
    if lines.len() > height {
        footer = format!(
            " {}–{} of {} · j/k scroll · Esc closes ",
            scroll + 1,
            (scroll + height).min(lines.len()),
            lines.len()
        );
    }
    Clear.render(area, buf);
    Block::bordered()
        .border_style(t.accent)
        .title(Span::styled(" Keys ", t.heading))
        .title_bottom(Span::styled(footer, t.muted))
        .render(area, buf);
    let shown: Vec<Line> = lines.into_iter().skip(scroll).take(height).collect();
    Paragraph::new(shown).render(inner, buf);
}
