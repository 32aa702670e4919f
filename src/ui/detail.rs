//! The selected instance in full: every field worth reading, the lease countdown,
//! the creation steps, endpoints, and the transitions this session has seen.
//!
//! ```text
//! ┌ train-bert-large ─────────────────────────────── ● RUNNING ┐
//! │ id          3f6a2c1e-0b7d-4e8a-9c55-1d2e3f4a5b6c           │
//! │ status      ● RUNNING for ≥3m                              │
//! │ ── Lease ──                                                │
//! │ auto-stop   in 3h12m at 2024-05-29 19:38:40                │
//! │ ── Progress ──                                             │
//! │ ✓ 1 prepare storage     COMPLETED                          │
//! └ 1–20 of 58 · j/k scroll ───────────────────────────────────┘
//! ```
//! Lines are wrapped here, by width, so the line count is exact and scrolling
//! can be clamped by the state.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::Paint;
use super::format::{clock, duration, fit, local_time, offset_label, width};
use super::header::display_name;
use super::table::lease_cell;
use super::theme::status_symbol;
use crate::api::model::{JobProgress, Notebook, Status};
use crate::app::{App, Mode, Record, Tracked};

const LABEL: usize = 12;

/// Inside the border, with a one-cell margin left and right.
pub fn inner(area: Rect) -> Rect {
    Block::bordered()
        .padding(ratatui::widgets::Padding::horizontal(1))
        .inner(area)
}

pub fn draw(buf: &mut Buffer, area: Rect, app: &App, ctx: &Paint) {
    let t = ctx.theme;
    let Some(tr) = app.selected() else {
        let block = Block::bordered()
            .border_style(t.border)
            .title(Span::styled(" Detail ", t.heading));
        let inner = block.inner(area);
        block.render(area, buf);
        Paragraph::new(Line::styled("No instance selected.", t.muted))
            .centered()
            .render(inner, buf);
        return;
    };
    let inner = inner(area);
    let lines = lines(tr, app, ctx, inner.width);
    let height = usize::from(inner.height);
    let scroll = app.detail_scroll().min(lines.len().saturating_sub(height));
    let status = Line::from(Span::styled(
        format!(
            " {} {} ",
            status_symbol(&tr.status),
            display_name(&tr.status)
        ),
        t.status(&tr.status),
    ))
    .right_aligned();
    let full = matches!(app.mode(), Mode::Detail);
    let mut footer = Vec::new();
    if lines.len() > height {
        let last = (scroll + height).min(lines.len());
        footer.push(format!("{}–{last} of {}", scroll + 1, lines.len()));
        footer.push(if full { "j/k scroll" } else { "wheel scrolls" }.into());
    }
    footer.push(
        if full {
            "Esc back"
        } else {
            "Enter full screen"
        }
        .into(),
    );
    let name = fit(tr.name(), usize::from(area.width).saturating_sub(20)).into_owned();
    let block = Block::bordered()
        .border_style(t.border)
        .title(Span::styled(format!(" {name} "), t.heading))
        .title(status)
        .title_bottom(Span::styled(format!(" {} ", footer.join(" · ")), t.muted));
    block.render(area, buf);
    let shown: Vec<Line> = lines.into_iter().skip(scroll).take(height).collect();
    Paragraph::new(shown).render(inner, buf);
}

/// Every line of detail for `tr`, wrapped to `width` cells.
pub fn lines(tr: &Tracked, app: &App, ctx: &Paint, width: u16) -> Vec<Line<'static>> {
    let mut d = Detail {
        out: Vec::new(),
        width: usize::from(width),
        ctx,
    };
    summary(&mut d, tr, app);
    let record = app.record(&tr.key, ctx.now_ms);
    match record {
        Record::Held(nb) => image(&mut d, nb),
        _ => image_label(&mut d, tr),
    }
    lease(&mut d, tr);
    match record {
        Record::Held(nb) => {
            storage(&mut d, nb);
            progress(&mut d, nb);
            endpoints(&mut d, nb);
            ownership(&mut d, nb);
        }
        Record::Reading | Record::Failed(_) => not_held(&mut d, tr, record),
    }
    history(&mut d, tr);
    d.out
}

/// A value, or `–` when it is missing or empty.
fn dash(s: &Option<String>) -> String {
    s.clone().filter(|s| !s.is_empty()).unwrap_or("–".into())
}

/// Who and what: id, name, status with its age, failure, flavor, times.
fn summary(d: &mut Detail<'_, '_>, tr: &Tracked, app: &App) {
    let t = d.ctx.theme;
    let now = d.ctx.now_ms;
    let nb = &tr.row;
    if app.several_sources()
        && let Some(feed) = app.feeds().get(tr.key.source.index())
    {
        if feed.rows_current(now) {
            d.kv("source", &feed.name, t.text);
        } else {
            let age = feed
                .poll
                .last_ok_ms
                .map_or(0, |ok| now.saturating_sub(ok).max(0));
            let value = format!(
                "{} · ✗ failing: as of {} ago",
                feed.name,
                super::format::duration(age)
            );
            d.kv("source", &value, t.error);
        }
    }
    d.kv("id", tr.id().unwrap_or("–"), t.text);
    d.kv("name", non_empty(tr.name()), t.text);
    let age = tr.time_in_status(now);
    let ge = if age.at_least { "≥" } else { "" };
    let mut status = vec![
        Span::styled(
            format!("{} {}", status_symbol(&tr.status), display_name(&tr.status)),
            t.status(&tr.status).add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("  for {ge}{}", duration(age.ms)), t.text),
    ];
    if tr.is_stuck(now, app.stuck_after_ms()) {
        status.push(Span::styled(
            format!("  STUCK (> {})", duration(app.stuck_after_ms())),
            t.warn.add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ));
    }
    d.spans("status", status);
    if let Some(reason) = nb.fail_reason() {
        d.kv("fail reason", reason, t.error);
    }
    d.kv("feature", sym(&nb.feature), t.text);
    d.kv("flavor", sym(&nb.flavor), t.text);
    // Free text, as long as a user made it: only in the whole record.
    if let Record::Held(full) = app.record(&tr.key, now)
        && let Some(desc) = full.description.as_deref().filter(|s| !s.is_empty())
    {
        d.kv("description", desc, t.text);
    }
    d.time("created", nb.create_at);
    d.time("updated", nb.update_at);
    confirmed(d, tr, app);
    d.kv("workspace", sym(&nb.workspace_id), t.text);
}

fn non_empty(s: &str) -> &str {
    if s.is_empty() { "–" } else { s }
}

fn sym(s: &Option<crate::app::row::Sym>) -> &str {
    s.as_deref().unwrap_or("–")
}

/// The image as the row knows it, while the whole record is not held.
fn image_label(d: &mut Detail<'_, '_>, tr: &Tracked) {
    let t = d.ctx.theme;
    d.section("Image");
    d.kv("image", non_empty(&tr.row.image), t.text);
}

/// What the row knows of the rest, and where the whole record is.
fn not_held(d: &mut Detail<'_, '_>, tr: &Tracked, record: Record<'_>) {
    let t = d.ctx.theme;
    d.section("Ownership");
    if let Some(pool) = &tr.row.pool {
        d.kv("pool", pool, t.text);
    }
    let user = match (&tr.row.user_name, &tr.row.user_id) {
        (Some(n), Some(i)) => format!("{n} ({i})"),
        (Some(x), None) | (None, Some(x)) => x.to_string(),
        (None, None) => "–".into(),
    };
    d.kv("user", &user, t.text);
    d.section("Record");
    match record {
        Record::Failed(why) => d.kv(
            "not read",
            &format!(
                "{why}; asked again in {}s",
                crate::app::detail::DETAIL_RETRY_MS / 1000
            ),
            t.error,
        ),
        _ => d.kv(
            "reading",
            "storage, endpoints, steps and tags (ShowNotebook)…",
            t.muted,
        ),
    }
}

/// When the service last confirmed what is shown, and a warning when that is
/// longer ago than the sweep's period allows.
fn confirmed(d: &mut Detail<'_, '_>, tr: &Tracked, app: &App) {
    let t = d.ctx.theme;
    let ago = duration(tr.unconfirmed_for_ms(d.ctx.now_ms));
    if app.is_unconfirmed(tr, d.ctx.now_ms) {
        let period = duration(app.poll().planned_period_ms());
        d.kv(
            "confirmed",
            &format!("~ {ago} ago: not seen since, longer than the sweep period ({period})"),
            t.warn.add_modifier(Modifier::BOLD),
        );
    } else {
        d.kv("confirmed", &format!("{ago} ago"), t.text);
    }
}

fn image(d: &mut Detail<'_, '_>, nb: &Notebook) {
    let t = d.ctx.theme;
    d.section("Image");
    match &nb.image {
        Some(img) => {
            d.kv("name", &dash(&img.name), t.text);
            match (&img.tag, &img.swr_path) {
                (Some(tag), _) => d.kv("tag", tag, t.text),
                (None, Some(p)) => d.kv("swr path", p, t.text),
                (None, None) => d.kv("tag", "–", t.text),
            }
            let kind = [img.kind.as_deref(), img.arch.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ");
            d.kv("type", if kind.is_empty() { "–" } else { &kind }, t.text);
        }
        None => d.kv("image", "–", t.muted),
    }
}

/// The auto-stop: when, and of what kind.
fn lease(d: &mut Detail<'_, '_>, tr: &Tracked) {
    let t = d.ctx.theme;
    let ctx = d.ctx;
    let now = ctx.now_ms;
    let nb = &tr.row;
    d.section("Lease");
    match &nb.lease {
        Some(lease) if lease.enabled() => {
            let (left, style) = lease_cell(tr, ctx);
            match (tr.lease_remaining_ms(now), lease.end_ms()) {
                (Some(r), Some(end)) => {
                    let when = if r < 0 { "overdue since" } else { "at" };
                    d.spans(
                        "auto-stop",
                        vec![
                            Span::styled(
                                if r < 0 { left } else { format!("in {left}") },
                                style.add_modifier(Modifier::BOLD),
                            ),
                            Span::styled(
                                format!("  {when} {}", local_time(end, ctx.utc_offset)),
                                t.text,
                            ),
                        ],
                    );
                }
                _ => d.kv("auto-stop", "on (counts down while running)", t.text),
            }
            let kind = lease.kind.as_deref().unwrap_or("–").to_lowercase();
            let dur = lease.duration.map_or("–".into(), duration);
            d.kv("type", &format!("{kind} · {dur}"), t.text);
        }
        _ => d.kv("lease", "auto-stop off", t.muted),
    }
}

fn storage(d: &mut Detail<'_, '_>, nb: &Notebook) {
    let t = d.ctx.theme;
    d.section("Storage");
    match &nb.volume {
        Some(v) => {
            let mut parts = vec![v.category.clone().unwrap_or("–".into())];
            if let Some(c) = v.capacity {
                parts.push(format!("{c} GB"));
            }
            if let Some(o) = &v.ownership {
                parts.push(o.clone());
            }
            if v.read_only == Some(true) {
                parts.push("read-only".into());
            }
            d.kv("volume", &parts.join(" · "), t.text);
            d.kv("mount", &dash(&v.mount_path), t.text);
            if let Some(s) = v.status.as_deref().filter(|s| !s.is_empty()) {
                let style = if s.eq_ignore_ascii_case("RESIZING") {
                    t.warn
                } else {
                    t.text
                };
                d.kv("resize", s, style);
            }
        }
        None => d.kv("volume", "–", t.muted),
    }
    for dv in &nb.data_volumes {
        let mut s = format!(
            "{} {}",
            dv.category.as_deref().unwrap_or("–"),
            dv.mount_path.as_deref().unwrap_or("–")
        );
        if let Some(url) = &dv.url {
            s.push_str(&format!(" ← {url}"));
        }
        if let Some(st) = &dv.status {
            s.push_str(&format!(" · {st}"));
        }
        d.kv("data volume", &s, t.text);
    }
}

/// The steps of an operation in progress, in order.
fn progress(d: &mut Detail<'_, '_>, nb: &Notebook) {
    if !nb.action_progress.is_empty() {
        d.section("Progress");
        let mut steps: Vec<&JobProgress> = nb.action_progress.iter().collect();
        steps.sort_by_key(|p| p.step.unwrap_or(i64::MAX));
        for p in steps {
            d.step(p);
        }
    }
}

fn endpoints(d: &mut Detail<'_, '_>, nb: &Notebook) {
    let t = d.ctx.theme;
    d.section("Endpoints");
    if nb.endpoints.is_empty() {
        d.kv("endpoints", "none", t.muted);
    }
    for e in &nb.endpoints {
        let service = e
            .service
            .as_deref()
            .or(e.dev_service.as_deref())
            .unwrap_or("endpoint");
        d.kv(service, e.uri.as_deref().unwrap_or("–"), t.text);
        let keys: Vec<&str> = e
            .ssh_keys
            .iter()
            .chain(&e.key_pair_names)
            .map(String::as_str)
            .collect();
        if !keys.is_empty() {
            d.kv("  ssh keys", &keys.join(", "), t.text);
        }
        if !e.allowed_access_ips.is_empty() {
            d.kv("  allowed", &e.allowed_access_ips.join(", "), t.text);
        }
    }
}

/// Pool, user, billing, tags, the URL and the (masked) token.
fn ownership(d: &mut Detail<'_, '_>, nb: &Notebook) {
    let t = d.ctx.theme;
    d.section("Ownership");
    let named = |name: &Option<String>, id: &Option<String>| match (name, id) {
        (Some(n), Some(i)) => format!("{n} ({i})"),
        (Some(x), None) | (None, Some(x)) => x.clone(),
        (None, None) => "–".into(),
    };
    if let Some(pool) = &nb.pool {
        d.kv("pool", &named(&pool.name, &pool.id), t.text);
    }
    match &nb.user {
        Some(u) => {
            d.kv("user", &named(&u.name, &u.id), t.text);
            if let Some(dom) = &u.domain {
                d.kv("domain", &named(&dom.name, &dom.id), t.text);
            }
        }
        None => d.kv("user", &dash(&nb.user_id), t.text),
    }
    if !nb.billing_items.is_empty() {
        d.kv("billing", &nb.billing_items.join(", "), t.text);
    }
    if !nb.tags.is_empty() {
        let tags: Vec<String> = nb
            .tags
            .iter()
            .map(|tag| {
                format!(
                    "{}={}",
                    tag.key.as_deref().unwrap_or(""),
                    tag.value.as_deref().unwrap_or("")
                )
            })
            .collect();
        d.kv("tags", &tags.join(", "), t.text);
    }
    if let Some(url) = nb.url.as_deref().filter(|s| !s.is_empty()) {
        d.kv("url", url, t.text);
    }
    if let Some(token) = nb.masked_token() {
        d.kv("token", &token, t.muted);
    }
}

/// The transitions seen this session, newest first.
fn history(d: &mut Detail<'_, '_>, tr: &Tracked) {
    let t = d.ctx.theme;
    let ctx = d.ctx;
    d.section(&format!(
        "Seen this session ({})",
        offset_label(ctx.utc_offset)
    ));
    for tr in tr.transitions.iter().rev() {
        d.transition(&tr.from, &tr.to, tr.at_ms);
    }
    d.plain(vec![Span::styled(
        format!(
            "{}  first seen, in {}",
            clock(tr.first_seen_ms, ctx.utc_offset),
            display_name(tr.transitions.first().map_or(&tr.status, |x| &x.from))
        ),
        t.muted,
    )]);
}

struct Detail<'c, 'a> {
    out: Vec<Line<'static>>,
    width: usize,
    ctx: &'c Paint<'a>,
}

impl Detail<'_, '_> {
    fn section(&mut self, title: &str) {
        let t = self.ctx.theme;
        self.out.push(Line::from(""));
        let rule = self.width.saturating_sub(width(title) + 4);
        self.out.push(Line::from(vec![
            Span::styled("── ", t.border),
            Span::styled(title.to_string(), t.heading),
            Span::styled(format!(" {}", "─".repeat(rule)), t.border),
        ]));
    }

    /// `label       value`, the value wrapped under itself when too long.
    fn kv(&mut self, label: &str, value: &str, style: Style) {
        self.spans(label, vec![Span::styled(value.to_string(), style)]);
    }

    fn spans(&mut self, label: &str, spans: Vec<Span<'static>>) {
        let t = self.ctx.theme;
        let room = self.width.saturating_sub(LABEL + 1).max(1);
        let mut first = true;
        for chunk in wrap_spans(spans, room) {
            let head = if first {
                format!("{:<LABEL$} ", fit(label, LABEL))
            } else {
                " ".repeat(LABEL + 1)
            };
            first = false;
            let mut line = vec![Span::styled(head, t.muted)];
            line.extend(chunk);
            self.out.push(Line::from(line));
        }
    }

    fn plain(&mut self, spans: Vec<Span<'static>>) {
        self.out.push(Line::from(spans));
    }

    fn time(&mut self, label: &str, ms: Option<i64>) {
        let t = self.ctx.theme;
        match ms {
            Some(ms) => {
                let ago = duration(self.ctx.now_ms.saturating_sub(ms));
                self.spans(
                    label,
                    vec![
                        Span::styled(local_time(ms, self.ctx.utc_offset), t.text),
                        Span::styled(format!(" · {ago} ago"), t.muted),
                    ],
                );
            }
            None => self.kv(label, "–", t.muted),
        }
    }

    fn step(&mut self, p: &JobProgress) {
        let t = self.ctx.theme;
        let status = p.status.as_deref().unwrap_or("–");
        let (icon, style) = match status.to_ascii_uppercase().as_str() {
            "COMPLETED" => ("✓", t.ok),
            "PROCESSING" => ("◐", t.transitional),
            "FAILED" => ("✗", t.error.add_modifier(Modifier::REVERSED)),
            "WAITING" => ("·", t.muted),
            _ => ("?", t.unknown),
        };
        let n = p.step.unwrap_or(0);
        let name = p
            .step_description
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| JobProgress::step_name(n).to_string());
        let failed = status.eq_ignore_ascii_case("FAILED");
        let name_style = if failed { style } else { t.text };
        let mut spans = vec![
            Span::styled(format!("{icon} "), style),
            Span::styled(format!("{n} {:<22}", fit(&name, 22)), name_style),
            Span::styled(format!(" {status}"), style),
        ];
        if let Some(desc) = p.description.as_deref().filter(|s| !s.is_empty()) {
            spans.push(Span::styled(format!("  {desc}"), t.muted));
        }
        for chunk in wrap_spans(spans, self.width.max(1)) {
            self.out.push(Line::from(chunk));
        }
    }

    fn transition(&mut self, from: &Status, to: &Status, at_ms: i64) {
        let t = self.ctx.theme;
        let ago = duration(self.ctx.now_ms.saturating_sub(at_ms));
        self.plain(vec![
            Span::styled(format!("{}  ", clock(at_ms, self.ctx.utc_offset)), t.muted),
            Span::styled(display_name(from).to_string(), t.status(from)),
            Span::styled(" → ", t.text),
            Span::styled(
                format!("{} {}", status_symbol(to), display_name(to)),
                t.status(to),
            ),
            Span::styled(format!("  {ago} ago"), t.muted),
        ]);
    }
}

/// Splits styled text into lines of at most `room` cells, by character.
fn wrap_spans(spans: Vec<Span<'static>>, room: usize) -> Vec<Vec<Span<'static>>> {
    let mut lines = vec![Vec::new()];
    let mut used = 0;
    for span in spans {
        let mut cur = String::new();
        for c in span.content.chars() {
            let mut b = [0u8; 4];
            let w = width(c.encode_utf8(&mut b));
            if used + w > room && used > 0 {
                if !cur.is_empty()
                    && let Some(line) = lines.last_mut()
                {
                    line.push(Span::styled(std::mem::take(&mut cur), span.style));
                }
                lines.push(Vec::new());
                used = 0;
            }
            cur.push(c);
            used += w;
        }
        if !cur.is_empty()
            && let Some(line) = lines.last_mut()
        {
            line.push(Span::styled(cur, span.style));
        }
    }
    lines
}
