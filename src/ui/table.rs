//! The instance table. Only the rows on screen are built, so a frame costs the
//! same for 10 instances or 10,000.
//!
//! ```text
//! ┌ Notebooks 12/13 · sort name ▲ ─────────────────────────────────────────────┐
//! │  NAME ▲          STATUS          FEATURE  FLAVOR   IMAGE   LEASE  AGE  IN …  │
//! │• train-bert…     ● RUNNING       NOTEBOOK modelar… pytor…  3h12m  3d04h ≥0s  │
//! │~ old-one         ● STOPPED       NOTEBOOK modelar… pytor…  –      9d    1h    │
//! └ filter: name ~ "bert" · problems only · Esc clears ────────────────────────┘
//! ```
//! Which columns, in which order, the user chooses (`columns` in the config
//! file, or a view's); by default every one, as above. Columns drop from the
//! right end of their priority list as the terminal narrows: image first, then
//! feature, flavor, age, lease; name, status and time in status stay.
//! The first column marks a row that just changed (`•`) or one the service has
//! not confirmed for longer than the sweep's period (`~`).
//! While instances are marked (or a bulk action's outcomes are on show) a mark
//! column follows it: `■` marked, `⧗` sent and not answered, `✓` accepted,
//! `✗` failed; the title counts the marks (`· 3 marked`).
//! With several sources a SOURCE column comes first; the rows of a source that
//! is failing stay, dimmed, its cell saying `✗` and how old they are (`✗1m30s singapore`).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Widget, Wrap};

use super::Paint;
use super::format::{duration, fit};
use super::header::display_name;
use super::theme::status_symbol;
use crate::app::{App, Filter, Freshness, LeaseUrgency, SortColumn, Tracked};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Column {
    sort: SortColumn,
    title: &'static str,
    min: u16,
    /// Width this column grows to before the next flexible one gets space.
    max: u16,
    /// Dropped first when space runs out: the higher, the sooner.
    drop: u8,
}

const COLUMNS: [Column; 9] = [
    col(SortColumn::Source, "SOURCE", 10, 16, 3),
    col(SortColumn::Name, "NAME", 16, 24, 0),
    col(SortColumn::Status, "STATUS", 15, 15, 0),
    col(SortColumn::Feature, "FEATURE", 8, 8, 6),
    col(SortColumn::Flavor, "FLAVOR", 12, 22, 4),
    col(SortColumn::Image, "IMAGE", 14, 36, 7),
    col(SortColumn::Lease, "LEASE", 7, 7, 2),
    col(SortColumn::Age, "AGE", 6, 6, 3),
    col(SortColumn::InStatus, "IN STATUS", 9, 9, 1),
];

const fn col(sort: SortColumn, title: &'static str, min: u16, max: u16, drop: u8) -> Column {
    Column {
        sort,
        title,
        min,
        max,
        drop,
    }
}

/// The columns `chosen`, in its order, that fit in `width` cells (inside the
/// borders), with their widths. SOURCE is drawn only when several sources are
/// watched, and then always (first, unless `chosen` places it): without it
/// the rows of two sources could not be told apart.
fn layout_columns(width: u16, several_sources: bool, chosen: &[SortColumn]) -> Vec<(Column, u16)> {
    // One cell for the change mark, one space between columns.
    let avail = width.saturating_sub(1);
    let source_first = several_sources && !chosen.contains(&SortColumn::Source);
    let mut cols: Vec<Column> = source_first
        .then_some(SortColumn::Source)
        .into_iter()
        .chain(chosen.iter().copied())
        .filter(|c| several_sources || *c != SortColumn::Source)
        .filter_map(|c| COLUMNS.iter().find(|col| col.sort == c).copied())
        .collect();
    let need = |cols: &[Column]| cols.iter().map(|c| c.min + 1).sum::<u16>();
    while need(&cols) > avail {
        let Some(worst) = cols
            .iter()
            .enumerate()
            .filter(|(_, c)| c.drop > 0)
            .max_by_key(|(_, c)| c.drop)
            .map(|(i, _)| i)
        else {
            break;
        };
        cols.remove(worst);
    }
    let mut widths: Vec<(Column, u16)> = cols.iter().map(|c| (*c, c.min)).collect();
    let mut extra = avail.saturating_sub(need(&cols));
    // Each flexible column grows to a comfortable width in turn, then the name
    // and image take what is left.
    let stages = [
        (SortColumn::Source, 0),
        (SortColumn::Name, 0),
        (SortColumn::Flavor, 0),
        (SortColumn::Image, 0),
        (SortColumn::Name, 40),
        (SortColumn::Image, 80),
    ];
    for (grow, cap) in stages {
        if let Some((c, w)) = widths.iter_mut().find(|(c, _)| c.sort == grow) {
            let cap = if cap == 0 { c.max } else { cap };
            let add = extra.min(cap.saturating_sub(*w));
            *w += add;
            extra -= add;
        }
    }
    // What is still left goes to the name (or, when it is not shown, the first column).
    let name = widths.iter().position(|(c, _)| c.sort == SortColumn::Name);
    if let Some((_, w)) = widths.get_mut(name.unwrap_or(0)) {
        *w += extra;
    }
    widths
}

fn block<'a>(app: &App, ctx: &Paint) -> Block<'a> {
    let t = ctx.theme;
    let sort = app.sort();
    let arrow = if sort.descending { "▼" } else { "▲" };
    let mut title = vec![
        Span::styled(" Notebooks ", t.heading),
        Span::styled(
            // Before the first good poll there is no count to show, not a count of
            // zero; while the first sweep arrives, how far it is.
            match (app.has_data(), app.poll().sweep) {
                (_, Some(p)) if app.poll().last_ok_ms.is_none() => {
                    format!("loading {}", super::header::loading_count(p))
                }
                (true, _) => format!("{}/{}", app.shown(), app.total()),
                (false, _) => "–/–".to_string(),
            },
            t.text.add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!(" · sort {} {arrow} ", sort.column.label()), t.muted),
    ];
    if app.marked_count() > 0 {
        title.insert(
            2,
            Span::styled(
                format!(" · {} marked", app.marked_count()),
                t.accent.add_modifier(Modifier::BOLD),
            ),
        );
    }
    if app.filter().is_active() {
        title.insert(2, Span::styled(" filtered", t.warn));
    }
    if let Some(v) = app.current_view() {
        let changed = if app.view_changed() { " (changed)" } else { "" };
        title.push(Span::styled(
            format!("· view {}{changed} ", v.name),
            t.accent,
        ));
    }
    let mut b = Block::bordered()
        .border_style(t.border)
        .title(Line::from(title));
    if let Some(f) = filter_summary(app, ctx) {
        b = b.title_bottom(f);
    }
    b
}

/// `filter: name ~ "bert" · status RUNNING, STOPPED · problems only`, or nothing.
pub fn filter_summary(app: &App, ctx: &Paint) -> Option<Line<'static>> {
    let f = app.filter();
    if !f.is_active() {
        return None;
    }
    let t = ctx.theme;
    Some(Line::from(vec![
        Span::styled(" filter: ", t.warn.add_modifier(Modifier::BOLD)),
        Span::styled(filter_parts(f).join(" · "), t.warn),
        // Esc clears the marks first (see the keymap).
        Span::styled(
            if app.marks_shown() {
                " · Esc twice clears "
            } else {
                " · Esc clears "
            },
            t.muted,
        ),
    ]))
}

/// Each part of a filter in words: `name ~ "bert"`, `status RUNNING, STOPPED`, `problems only`.
pub fn filter_parts(f: &Filter) -> Vec<String> {
    let mut parts = Vec::new();
    if !f.name.is_empty() {
        parts.push(format!("name ~ \"{}\"", f.name));
    }
    if !f.statuses.is_empty() {
        let names: Vec<&str> = f.statuses.iter().map(display_name).collect();
        parts.push(format!("status {}", names.join(", ")));
    }
    if f.problems_only {
        parts.push("problems only".to_string());
    }
    parts
}

/// The data rows' area for a table drawn in `area`.
pub fn body(area: Rect) -> Rect {
    let inner = Block::bordered().inner(area);
    Rect {
        y: inner.y.saturating_add(1),
        height: inner.height.saturating_sub(1),
        ..inner
    }
}

pub fn draw(buf: &mut Buffer, area: Rect, app: &App, ctx: &Paint) {
    let t = ctx.theme;
    let block = block(app, ctx);
    let inner = block.inner(area);
    block.render(area, buf);
    if app.shown() == 0 {
        let msg = empty_message(app, ctx);
        let y = inner.y + inner.height / 3;
        let msg_area = Rect {
            y,
            height: inner.height.saturating_sub(y - inner.y),
            ..inner
        };
        Paragraph::new(msg)
            .centered()
            .wrap(Wrap { trim: true })
            .render(msg_area, buf);
        return;
    }
    // The mark column: one cell and its space.
    let marking = app.marks_shown();
    let cols = layout_columns(
        inner.width.saturating_sub(if marking { 2 } else { 0 }),
        app.several_sources(),
        app.columns(),
    );
    // Each source's mark: none while its rows are current, else the age of its
    // last good sweep.
    let marks: Vec<SourceMark> = app
        .feeds()
        .iter()
        .map(|f| SourceMark {
            name: &f.name,
            stale_for_ms: (!f.rows_current(ctx.now_ms)).then(|| {
                f.poll
                    .last_ok_ms
                    .map_or(0, |ok| ctx.now_ms.saturating_sub(ok).max(0))
            }),
        })
        .collect();
    let body = body(area);
    let rows = usize::from(body.height);
    let offset = app.scroll_offset(rows);
    let sort = app.sort();
    let arrow = if sort.descending { " ▼" } else { " ▲" };
    let header = Row::new(
        std::iter::once(Cell::from(""))
            .chain(marking.then(|| Cell::from("")))
            .chain(cols.iter().map(|(c, _)| {
                let mut title = c.title.to_string();
                if c.sort == sort.column {
                    title.push_str(arrow);
                }
                Cell::from(title)
            })),
    )
    .style(t.heading);
    let selected = app.cursor();
    let stuck_after = app.stuck_after_ms();
    let body_rows = app.rows(offset, rows).enumerate().map(|(i, tr)| {
        let is_selected = selected == Some(offset + i);
        let pending = app.pending(&tr.key).map(|p| p.verb);
        let mark = marks.get(tr.key.source.index());
        let unconfirmed = app.is_unconfirmed(tr, ctx.now_ms);
        let picked = marking.then(|| mark_cell(app, &tr.key, ctx));
        row(
            tr,
            &cols,
            mark,
            (is_selected, unconfirmed),
            stuck_after,
            (pending, picked),
            ctx,
        )
    });
    let widths = std::iter::once(Constraint::Length(1))
        .chain(marking.then_some(Constraint::Length(1)))
        .chain(cols.iter().map(|(_, w)| Constraint::Length(*w)));
    Table::new(body_rows, widths)
        .header(header)
        .column_spacing(1)
        .render(inner, buf);
}

/// What a row shows of its source.
struct SourceMark<'a> {
    name: &'a str,
    /// Set while the source fails: how old its rows are.
    stale_for_ms: Option<i64>,
}

fn row<'a>(
    tr: &'a Tracked,
    cols: &[(Column, u16)],
    source: Option<&SourceMark>,
    (selected, unconfirmed): (bool, bool),
    stuck_after: i64,
    // What actions show on the row: one pending, and the mark column's cell.
    (pending, picked): (Option<crate::api::actions::Verb>, Option<Cell<'a>>),
    ctx: &Paint,
) -> Row<'a> {
    let t = ctx.theme;
    let now = ctx.now_ms;
    let nb = &tr.row;
    let mark = if tr.is_marked(now) {
        Cell::from(Span::styled("•", t.changed))
    } else if unconfirmed {
        // Not confirmed for longer than the sweep's period: what it shows may be old.
        Cell::from(Span::styled("~", t.warn.add_modifier(Modifier::BOLD)))
    } else {
        Cell::from("")
    };
    let cells = cols.iter().map(|(c, w)| {
        let w = usize::from(*w);
        let text = |s: &str| Cell::from(fit(s, w).into_owned());
        match c.sort {
            SortColumn::Source => match source {
                Some(SourceMark {
                    name,
                    stale_for_ms: Some(age),
                }) => Cell::from(Span::styled(
                    fit(&format!("✗{} {name}", duration(*age)), w).into_owned(),
                    t.error,
                )),
                Some(m) => text(m.name),
                None => text(""),
            },
            SortColumn::Name => text(tr.name()),
            SortColumn::Status => {
                let mut label =
                    format!("{} {}", status_symbol(&tr.status), display_name(&tr.status));
                if let Some(verb) = pending {
                    // Sent, not yet confirmed by the service.
                    label = format!("⧗ pending {verb}");
                }
                Cell::from(Span::styled(
                    fit(&label, w).into_owned(),
                    t.status(&tr.status),
                ))
            }
            SortColumn::Feature => text(nb.feature.as_deref().unwrap_or("–")),
            SortColumn::Flavor => text(short_flavor(nb.flavor.as_deref().unwrap_or("–"))),
            SortColumn::Image => text(&tr.row.image),
            SortColumn::Lease => {
                let (s, style) = lease_cell(tr, ctx);
                Cell::from(Span::styled(s, style))
            }
            SortColumn::Age => text(&nb.age_ms(now).map_or("–".into(), duration)),
            SortColumn::InStatus => {
                let age = tr.time_in_status(now);
                if tr.is_stuck(now, stuck_after) {
                    let s = format!("stuck {}", duration(age.ms));
                    Cell::from(Span::styled(
                        fit(&s, w).into_owned(),
                        t.warn.add_modifier(Modifier::BOLD),
                    ))
                } else {
                    let ge = if age.at_least { "≥" } else { "" };
                    text(&format!("{ge}{}", duration(age.ms)))
                }
            }
        }
    });
    let mut style = if tr.status.is_problem() {
        t.problem
    } else {
        Style::new()
    };
    // Kept from the last good sweep of a failing source: dimmed.
    if source.is_some_and(|m| m.stale_for_ms.is_some()) {
        style = style.add_modifier(Modifier::DIM);
    }
    if selected {
        style = style.patch(t.selected);
    }
    Row::new(std::iter::once(mark).chain(picked).chain(cells)).style(style)
}

/// The mark column's cell: the latest bulk action's outcome, else the mark.
fn mark_cell(app: &App, key: &crate::track::InstanceKey, ctx: &Paint) -> Cell<'static> {
    use crate::app::marks::Outcome;
    let t = ctx.theme;
    let bold = Modifier::BOLD;
    match app.outcome(key) {
        Some(Outcome::Pending) => Cell::from(Span::styled("⧗", t.accent.add_modifier(bold))),
        Some(Outcome::Accepted) => Cell::from(Span::styled("✓", t.ok.add_modifier(bold))),
        Some(Outcome::Failed(_)) => Cell::from(Span::styled("✗", t.error.add_modifier(bold))),
        None if app.marked(key) => Cell::from(Span::styled("■", t.accent.add_modifier(bold))),
        None => Cell::from(""),
    }
}

/// Every flavor starts with `modelarts.`; the table keeps the part that differs.
fn short_flavor(f: &str) -> &str {
    f.strip_prefix("modelarts.").unwrap_or(f)
}

/// The lease countdown and its colour: yellow under 10 minutes, red under 2.
pub fn lease_cell(tr: &Tracked, ctx: &Paint) -> (String, Style) {
    let t = ctx.theme;
    match tr.lease_remaining_ms(ctx.now_ms) {
        Some(r) if r < 0 => ("overdue".into(), t.error),
        Some(r) => {
            let style = match LeaseUrgency::of(r) {
                LeaseUrgency::Calm => t.text,
                LeaseUrgency::Soon => t.warn,
                LeaseUrgency::Imminent => t.error,
            };
            (duration(r), style)
        }
        None if tr.row.lease.is_some() && !tr.lease_enabled() => ("off".into(), t.muted),
        None => ("–".into(), t.muted),
    }
}

fn empty_message(app: &App, ctx: &Paint) -> Vec<Line<'static>> {
    let t = ctx.theme;
    if !app.has_data() {
        return match app.freshness(ctx.now_ms) {
            Freshness::Failing { .. } | Freshness::AuthStopped { .. } => {
                // Nothing else is on screen yet: spell the whole error out here.
                let mut lines = vec![Line::styled("No data yet: the first poll failed.", t.error)];
                if let Some(e) = &app.poll().last_error {
                    lines.push(Line::styled(
                        format!("{}: {}", e.short_code(), e.message),
                        t.error,
                    ));
                    if let Some(h) = &e.hint {
                        lines.push(Line::styled(format!("What to do: {h}"), t.text));
                    }
                    if let Some(id) = &e.request_id {
                        lines.push(Line::styled(format!("request id {id}"), t.muted));
                    }
                } else {
                    lines.push(Line::styled("See the status bar below.", t.muted));
                }
                lines
            }
            _ => vec![Line::styled("Loading notebook instances…", t.accent)],
        };
    }
    if app.total() == 0 {
        return vec![
            Line::styled("No notebook instances in this project.", t.text),
            Line::styled("Check the region and project in the header.", t.muted),
        ];
    }
    let mut lines = vec![Line::styled(
        format!("None of the {} instances match the filters:", app.total()),
        t.text,
    )];
    if let Some(f) = filter_summary(app, ctx) {
        lines.push(f);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titles(width: u16) -> Vec<&'static str> {
        layout_columns(width, false, &SortColumn::ALL)
            .iter()
            .map(|(c, _)| c.title)
            .collect()
    }

    #[test]
    fn columns_drop_by_priority_and_fill_the_width() {
        assert_eq!(
            titles(78),
            ["NAME", "STATUS", "FLAVOR", "LEASE", "AGE", "IN STATUS"]
        );
        assert_eq!(titles(44), ["NAME", "STATUS", "IN STATUS"]);
        assert_eq!(titles(40), ["NAME", "STATUS"]);
        assert_eq!(titles(200).len(), 8, "no source column for one source");
        for w in [20, 40, 78, 118, 198] {
            let cols = layout_columns(w, false, &SortColumn::ALL);
            let used: u16 = 1 + cols.iter().map(|(_, w)| w + 1).sum::<u16>();
            if w >= 34 {
                assert_eq!(used, w, "width {w}");
            }
        }
    }

    #[test]
    fn several_sources_add_a_source_column_that_stays_at_80_columns() {
        let titles = |w| -> Vec<&str> {
            layout_columns(w, true, &SortColumn::ALL)
                .iter()
                .map(|(c, _)| c.title)
                .collect()
        };
        assert_eq!(
            titles(78),
            ["SOURCE", "NAME", "STATUS", "LEASE", "AGE", "IN STATUS"]
        );
        assert_eq!(titles(200).len(), 9);
        let wide = layout_columns(200, true, &SortColumn::ALL);
        assert_eq!(wide[0].1, 16, "room for ap-southeast-3");
    }
}
