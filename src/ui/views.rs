//! `v`: the views of the config file, each with what it shows, and a last row
//! for no view.
//!
//! ```text
//!   ┌ Views ───────────────────────────────────────────────────┐
//!   │ ▸ failing  problems only · sort in_status ▼ · name, stat… │
//!   │   train    name ~ "train" · sort name ▲                   │
//!   │   no view  every instance, default sort and columns       │
//!   └ Enter apply · Esc cancel ─────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::Paint;
use super::format::fit;
use super::picker::popup;
use super::table::filter_parts;
use crate::app::{App, SortColumn, View, ViewPicker};

const WIDTH: u16 = 72;
/// A view's name takes at most this many cells.
const NAME_MAX: usize = 16;

pub fn draw(buf: &mut Buffer, screen: Rect, picker: &ViewPicker, app: &App, ctx: &Paint) {
    let t = ctx.theme;
    let views = app.views();
    let rows = u16::try_from(views.len() + 1).unwrap_or(u16::MAX);
    let inner = popup(
        buf,
        screen,
        (WIDTH, rows),
        (" Views ", " Enter apply · Esc cancel "),
        ctx,
    );
    let height = usize::from(inner.height);
    let offset = (picker.cursor + 1).saturating_sub(height);
    let name_w = views
        .iter()
        .map(|v| v.name.chars().count())
        .chain([NO_VIEW.len()])
        .max()
        .unwrap_or(0)
        .min(NAME_MAX);
    let what_w = usize::from(inner.width).saturating_sub(3 + name_w + 2);
    let entries = views
        .iter()
        .map(|v| (v.name.as_str(), describe(v)))
        .chain([(NO_VIEW, NO_VIEW_WHAT.to_string())]);
    let current = app.current_view().map(|v| v.name.as_str());
    let lines: Vec<Line> = entries
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, (name, what))| {
            let here = i == picker.cursor;
            let (mut name_style, mut what_style) = (t.text, t.muted);
            if Some(name) == current && i < views.len() {
                name_style = t.accent;
            }
            if here {
                name_style = name_style.patch(t.selected);
                what_style = what_style.patch(t.selected);
            }
            Line::from(vec![
                Span::styled(if here { " ▸ " } else { "   " }, name_style),
                Span::styled(format!("{:<name_w$}  ", fit(name, name_w)), name_style),
                Span::styled(format!("{:<what_w$}", fit(&what, what_w)), what_style),
            ])
        })
        .collect();
    Paragraph::new(lines).render(inner, buf);
}

const NO_VIEW: &str = "no view";
const NO_VIEW_WHAT: &str = "every instance, default sort and columns";

/// What a view shows, in words: its filters, its sort, its columns.
fn describe(v: &View) -> String {
    let mut parts = filter_parts(&v.filter);
    let arrow = if v.sort.descending { "▼" } else { "▲" };
    parts.push(format!("sort {} {arrow}", v.sort.column.key()));
    if let Some(cols) = &v.columns {
        let names: Vec<&str> = cols.iter().map(|c| SortColumn::key(*c)).collect();
        parts.push(names.join(", "));
    }
    parts.join(" · ")
}
