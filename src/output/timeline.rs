//! `nbwatch journal FILE`: the journal as a readable timeline, one line an
//! entry, in local time and the dashboard's status colours (ANSI) or symbols
//! alone.

use crate::api::model::Status;
use crate::journal::{Entry, Kind, Selection};

/// The timeline, one line an entry, in local time at `utc_offset_secs`; with
/// `color`, statuses in the dashboard's colours (ANSI), else symbols alone.
pub fn timeline(
    entries: &[Entry],
    filter: &Selection,
    color: bool,
    utc_offset_secs: i32,
) -> String {
    let offset =
        time::UtcOffset::from_whole_seconds(utc_offset_secs).unwrap_or(time::UtcOffset::UTC);
    let shown: Vec<&Entry> = entries.iter().filter(|e| filter.matches(e)).collect();
    let name_w = shown
        .iter()
        .map(|e| width(&e.name))
        .max()
        .unwrap_or(0)
        .min(40);
    let source_w = shown
        .iter()
        .map(|e| width(&e.source))
        .max()
        .unwrap_or(0)
        .min(20);
    let mut out = String::new();
    for e in shown {
        let when = e
            .at_ms()
            .map(|ms| crate::ui::format::local_time(ms, offset))
            .unwrap_or_else(|| e.time.clone());
        let what = describe(e, color);
        out.push_str(&format!(
            "{when}  {}  {}  {what}\n",
            pad(&e.source, source_w),
            pad(&e.name, name_w)
        ));
    }
    out
}

/// `RUNNING → ERROR (OOM)`, `appeared CREATING`, `gone (was STOPPED)`, …
fn describe(e: &Entry, color: bool) -> String {
    let st = |s: &Option<String>| {
        s.as_deref()
            .map(|s| status(s, color))
            .unwrap_or_else(|| "?".into())
    };
    let mut s = match e.kind {
        Kind::Appeared => format!("appeared {}", st(&e.to)),
        Kind::Changed => format!("{} → {}", st(&e.from), st(&e.to)),
        Kind::Gone => format!("gone (was {})", st(&e.from)),
        Kind::Stuck => format!("stuck in {}", st(&e.to)),
        Kind::LeaseWarning => match &e.stops_at {
            Some(at) => format!("auto-stop soon, at {at} ({})", st(&e.to)),
            None => format!("auto-stop soon ({})", st(&e.to)),
        },
    };
    if let Some(r) = e.fail_reason.as_deref().filter(|r| !r.is_empty()) {
        s.push_str(&format!(" — {r}"));
    }
    s
}

/// A status with its symbol, coloured as the dashboard colours it.
fn status(s: &str, color: bool) -> String {
    let st = Status::parse(s);
    let text = format!("{} {s}", crate::ui::theme::status_symbol(&st));
    if !color {
        return text;
    }
    let theme = crate::ui::Theme::colored();
    match sgr(theme.status(&st)) {
        Some(code) => format!("\x1b[{code}m{text}\x1b[0m"),
        None => text,
    }
}

/// The ANSI SGR parameters for a theme style's foreground and boldness.
fn sgr(style: ratatui::style::Style) -> Option<String> {
    use ratatui::style::{Color, Modifier};
    let mut parts = Vec::new();
    if style.add_modifier.contains(Modifier::BOLD) {
        parts.push("1".to_string());
    }
    let fg = match style.fg {
        Some(Color::Red) => Some("31"),
        Some(Color::Green) => Some("32"),
        Some(Color::Yellow) => Some("33"),
        Some(Color::Blue) => Some("34"),
        Some(Color::Magenta) => Some("35"),
        Some(Color::Cyan) => Some("36"),
        Some(Color::Gray) => Some("37"),
        Some(Color::DarkGray) => Some("90"),
        _ => None,
    };
    parts.extend(fg.map(String::from));
    (!parts.is_empty()).then(|| parts.join(";"))
}

fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

fn pad(s: &str, w: usize) -> String {
    let fitted = crate::ui::format::fit(s, w);
    let n = w.saturating_sub(width(&fitted));
    format!("{fitted}{}", " ".repeat(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_854_600_000; // 2026-11-28T08:30:00Z

    fn changed(at: i64, name: &str, from: &str, to: &str) -> Entry {
        let mut e = Entry::new(at, "demo", &format!("id-{name}"), name, Kind::Changed);
        e.from = Some(from.into());
        e.to = Some(to.into());
        e
    }

    #[test]
    fn the_timeline_filters_by_name_status_and_time() {
        let entries = vec![
            changed(T0, "train-01", "RUNNING", "ERROR"),
            changed(T0 + 60_000, "infer-02", "STOPPED", "STARTING"),
            changed(T0 + 120_000, "train-03", "STARTING", "RUNNING"),
        ];
        let all = timeline(&entries, &Selection::default(), false, 0);
        assert_eq!(all.lines().count(), 3);
        assert!(
            all.starts_with("2026-11-28 08:30:00  demo  train-01  ● RUNNING → ✗ ERROR"),
            "{all}"
        );
        let by_name = timeline(
            &entries,
            &Selection {
                name: Some("TRAIN".into()),
                ..Selection::default()
            },
            false,
            0,
        );
        assert_eq!(by_name.lines().count(), 2, "{by_name}");
        let by_status = timeline(
            &entries,
            &Selection {
                status: Some("starting".into()),
                ..Selection::default()
            },
            false,
            0,
        );
        assert_eq!(by_status.lines().count(), 2, "from or to: {by_status}");
        let since = timeline(
            &entries,
            &Selection {
                since_ms: Some(T0 + 60_000),
                ..Selection::default()
            },
            false,
            0,
        );
        assert_eq!(since.lines().count(), 2, "{since}");
        // Local time: UTC+8.
        let local = timeline(&entries[..1], &Selection::default(), false, 8 * 3600);
        assert!(local.starts_with("2026-11-28 16:30:00"), "{local}");
    }

    #[test]
    fn colour_is_the_dashboards_and_only_when_asked() {
        let e = [changed(T0, "a", "RUNNING", "ERROR")];
        let plain = timeline(&e, &Selection::default(), false, 0);
        assert!(!plain.contains('\x1b'), "{plain:?}");
        let colored = timeline(&e, &Selection::default(), true, 0);
        assert!(colored.contains("\x1b[32m● RUNNING\x1b[0m"), "{colored:?}");
        assert!(colored.contains("\x1b[31m✗ ERROR\x1b[0m"), "{colored:?}");
    }

    #[test]
    fn every_kind_reads_as_a_sentence() {
        let mut gone = Entry::new(T0, "s", "i", "n", Kind::Gone);
        gone.from = Some("STOPPED".into());
        let mut stuck = Entry::new(T0, "s", "i", "n", Kind::Stuck);
        stuck.to = Some("STARTING".into());
        let mut lease = Entry::new(T0, "s", "i", "n", Kind::LeaseWarning);
        lease.to = Some("RUNNING".into());
        lease.stops_at = Some("2026-11-28T08:39:00Z".into());
        let mut appeared = Entry::new(T0, "s", "i", "n", Kind::Appeared);
        appeared.to = Some("CREATING".into());
        let text = timeline(
            &[gone, stuck, lease, appeared],
            &Selection::default(),
            false,
            0,
        );
        assert!(text.contains("gone (was ○ STOPPED)"), "{text}");
        assert!(text.contains("stuck in ◐ STARTING"), "{text}");
        assert!(
            text.contains("auto-stop soon, at 2026-11-28T08:39:00Z (● RUNNING)"),
            "{text}"
        );
        assert!(text.contains("appeared ◐ CREATING"), "{text}");
    }
}
