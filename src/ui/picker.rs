//! `s`: choose statuses to show, each with how many instances have it.
//!
//! ```text
//!   ┌ Status filter ───────────────┐
//!   │ [x] ● RUNNING             5  │
//!   │ [ ] ◐ CREATING            1  │
//!   │ [ ] ⌀ DELETED             0  │
//!   └ Space toggle · Enter apply ──┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::Paint;
use super::format::fit;
use super::header::display_name;
use super::theme::status_symbol;
use crate::app::Picker;

const WIDTH: u16 = 36;

pub fn draw(buf: &mut Buffer, screen: Rect, picker: &Picker, ctx: &Paint) {
    let t = ctx.theme;
    let rows = picker.entries.len() as u16;
    let inner = popup(
        buf,
        screen,
        (WIDTH, rows),
        (" Status filter ", " Space toggle · Enter apply "),
        ctx,
    );
    let height = usize::from(inner.height);
    // Keep the cursor on screen when the list is taller than the popup.
    let offset = (picker.cursor + 1).saturating_sub(height);
    let name_w = usize::from(inner.width).saturating_sub(4 + 2 + 6);
    let lines: Vec<Line> = picker
        .entries
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, (status, n))| {
            let chosen = picker.chosen.contains(status);
            let mut status_style = if *n == 0 { t.muted } else { t.status(status) };
            let mut count_style = if *n == 0 { t.muted } else { t.text };
            let mut box_style = t.text;
            if i == picker.cursor {
                status_style = status_style.patch(t.selected);
                count_style = count_style.patch(t.selected);
                box_style = box_style.patch(t.selected);
            }
            let name = format!("{} {}", status_symbol(status), display_name(status));
            Line::from(vec![
                Span::styled(
                    if chosen { " [x] " } else { " [ ] " },
                    box_style.add_modifier(if chosen {
                        Modifier::BOLD
                    } else {
                        Modifier::empty()
                    }),
                ),
                Span::styled(format!("{:<name_w$}", fit(&name, name_w)), status_style),
                Span::styled(format!("{n:>5} "), count_style),
            ])
        })
        .collect();
    Paragraph::new(lines).render(inner, buf);
}

/// A popup `width` wide and `rows` tall (inside its border), centred on
/// `screen` and cleared, titled `title`, with `footer` below; returns its inside.
pub fn popup(
    buf: &mut Buffer,
    screen: Rect,
    (width, rows): (u16, u16),
    (title, footer): (&str, &str),
    ctx: &Paint,
) -> Rect {
    let t = ctx.theme;
    let area = screen.centered(
        Constraint::Length(width.min(screen.width)),
        Constraint::Length(rows.saturating_add(2).min(screen.height)),
    );
    let block = Block::bordered()
        .border_style(t.accent)
        .title(Span::styled(title.to_string(), t.heading))
        .title_bottom(Span::styled(footer.to_string(), t.muted));
    let inner = block.inner(area);
    Clear.render(area, buf);
    block.render(area, buf);
    inner
}
