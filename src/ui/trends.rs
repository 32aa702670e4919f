//! `t`: how many instances were running, moving, stopped and in trouble, over
//! the session (and the journal's span when one is given), as a line chart in
//! place of the table.
//!
//! ```text
//! ┌ Instances over time · 14:02:11 – 16:30:05 · t or Esc: back ──────────┐
//! │ 40┤          running ⣀⣀⣀⣀⡠⠤⠤⠤⠤⠤⠤⠔⠒⠒⠒                      ● running 31│
//! │   │ ⠒⠒⠒⠒⠒⠒⠒⠊⠉⠉                                       ◐ moving   4│
//! │  0┼──────────────────────────────────────────────────  ✗ problems 2│
//! │   14:02                  15:16                   16:30              │
//! └──────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph, Widget};

use super::Paint;
use super::format::clock;
use super::theme::status_symbol;
use crate::app::App;
use crate::app::trend::{Group, Sample};

pub fn draw(buf: &mut Buffer, area: Rect, app: &App, ctx: &Paint) {
    let t = ctx.theme;
    let samples = app.trend().samples();
    let (Some(first), Some(last)) = (samples.front(), samples.back()) else {
        let block = Block::bordered().border_style(t.border).title(Span::styled(
            " Instances over time · t or Esc: back ",
            t.heading,
        ));
        Paragraph::new(Line::styled(
            "No listing yet: the chart starts with the first one.",
            t.muted,
        ))
        .block(block)
        .render(area, buf);
        return;
    };
    let title = format!(
        " Instances over time · {} – {} · t or Esc: back ",
        clock(first.at_ms, ctx.utc_offset),
        clock(last.at_ms, ctx.utc_offset)
    );
    // Seconds since the first sample: f64 keeps its precision there.
    let x = |s: &Sample| (s.at_ms - first.at_ms) as f64 / 1000.0;
    let points: Vec<Vec<(f64, f64)>> = Group::ALL
        .iter()
        .map(|g| {
            let mut pts: Vec<(f64, f64)> = samples
                .iter()
                .map(|s| (x(s), f64::from(s.get(*g))))
                .collect();
            // One sample is a point; draw it as a level line to "now".
            if pts.len() == 1 {
                pts.push((pts[0].0 + 1.0, pts[0].1));
            }
            pts
        })
        .collect();
    let top = samples
        .iter()
        .flat_map(|s| s.counts)
        .max()
        .unwrap_or(0)
        .max(1);
    let span = x(last).max(1.0);
    let datasets: Vec<Dataset> = Group::ALL
        .iter()
        .zip(&points)
        .map(|(g, pts)| {
            let style = t.status(&g.example());
            Dataset::default()
                .name(format!(
                    "{} {} {}",
                    status_symbol(&g.example()),
                    g.label(),
                    last.get(*g)
                ))
                .marker(if t.color {
                    Marker::Braille
                } else {
                    Marker::Dot
                })
                .graph_type(GraphType::Line)
                .style(style)
                .data(pts)
        })
        .collect();
    let mid = first.at_ms + (last.at_ms - first.at_ms) / 2;
    let x_labels: Vec<Line> = [first.at_ms, mid, last.at_ms]
        .iter()
        .map(|ms| Line::styled(hhmm(&clock(*ms, ctx.utc_offset)), t.muted))
        .collect();
    let y_labels: Vec<Line> = [0, top / 2, top]
        .iter()
        .map(|n| Line::styled(n.to_string(), t.muted))
        .collect();
    Chart::new(datasets)
        .block(
            Block::bordered()
                .border_style(t.border)
                .title(Span::styled(title, t.heading.add_modifier(Modifier::BOLD))),
        )
        .x_axis(
            Axis::default()
                .style(t.muted)
                .bounds([0.0, span])
                .labels(x_labels),
        )
        .y_axis(
            Axis::default()
                .style(t.muted)
                .bounds([0.0, f64::from(top) * 1.05])
                .labels(y_labels),
        )
        // Always show the legend: it carries the current counts.
        .hidden_legend_constraints((
            ratatui::layout::Constraint::Percentage(100),
            ratatui::layout::Constraint::Percentage(100),
        ))
        .render(area, buf);
}

/// `16:26:40` → `16:26`.
fn hhmm(clock: &str) -> String {
    clock.get(..5).unwrap_or(clock).to_string()
}
