//! The two bottom lines: what went wrong (or what just happened) with the poll
//! interval and request rate; then the key hints, or the name filter being typed.
//!
//! ```text
//! ✗ 429 APIGW.0308 too many requests · attempt 3 · request 4f2a…   every 10s · 6 req/min
//! q quit  ? help  / filter  s status  ! problems  n next problem  o sort  y copy id …
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::Paint;
use super::format::{clock, duration, width};
use super::header::{display_name, fit_spans};
use crate::app::{App, EventKind, Freshness, Mode};

/// With several sources, each with its own request budget: what they may send
/// together is stated, so two sources are not silently twice the requests.
fn budgets(app: &App) -> String {
    if !app.several_sources() {
        return String::new();
    }
    let all: Vec<u32> = app
        .feeds()
        .iter()
        .filter_map(|f| f.budget_per_minute)
        .collect();
    match all.as_slice() {
        [] => String::new(),
        [first, rest @ ..] if rest.iter().all(|b| b == first) => {
            format!(" · budget {first}/min per source ×{}", all.len())
        }
        _ => {
            let each: Vec<String> = all.iter().map(u32::to_string).collect();
            format!(" · budgets {} /min, one per source", each.join(" + "))
        }
    }
}

pub fn draw_status(buf: &mut Buffer, area: Rect, app: &App, ctx: &Paint) {
    let t = ctx.theme;
    let now = ctx.now_ms;
    let poll = app.poll();
    // After an auth stop nothing polls: the room goes to saying how to resume.
    let right = if poll.auth_stopped {
        Span::raw("")
    } else {
        Span::styled(
            format!(
                " {} · {} req/min{} ",
                schedule(poll, now),
                poll.requests_per_min(now),
                budgets(app)
            ),
            t.muted,
        )
    };
    let room = usize::from(area.width).saturating_sub(right.width() + 1);
    let mut left: Vec<Span<'static>> = vec![Span::raw(" ")];
    let error = poll.last_error.as_ref();
    // With several sources, the error is one source's: name it.
    let whose = app
        .failing_source()
        .map(|f| format!("{}: ", f.name))
        .unwrap_or_default();
    match (app.freshness(now), error) {
        (Freshness::AuthStopped { .. }, Some(e)) => {
            left.push(Span::styled(
                format!("✗ {whose}{}", e.short_code()),
                t.error,
            ));
            // How long ago, so "nothing since" is visible and checkable.
            let since = poll
                .last_error_at_ms
                .map(|at| format!(" {} ago", duration(now.saturating_sub(at))))
                .unwrap_or_default();
            left.push(Span::styled(
                format!(" · polling stopped{since} so the AK is not locked · press r to retry"),
                t.warn.add_modifier(Modifier::BOLD),
            ));
            push_request_id(&mut left, e.request_id.as_deref(), ctx);
            if !e.message.is_empty() {
                left.push(Span::styled(format!(" · {}", e.message), t.error));
            }
        }
        // An action's outcome is what the user is waiting for: it comes first.
        _ if app.action_notice(now).is_some() => {
            if let Some(n) = app.action_notice(now) {
                let style = if n.error { t.error } else { t.ok };
                left.push(Span::styled(
                    n.text.clone(),
                    style.add_modifier(Modifier::BOLD),
                ));
            }
        }
        (Freshness::Failing { .. }, Some(e)) => {
            // Most useful first: a long message is what gets cut.
            left.push(Span::styled(
                format!("✗ {whose}{}", e.short_code()),
                t.error,
            ));
            if !e.stopped {
                left.push(Span::styled(format!(" · attempt {}", e.attempt), t.text));
            }
            if let Some(at) = e.next_retry_at_ms {
                // Rounded up: "in 0s" would read as if the poll were overdue.
                let next = if at > now {
                    format!(" · next try in {}", duration(at - now + 999))
                } else {
                    " · trying again".to_string()
                };
                left.push(Span::styled(next, t.text));
            }
            push_request_id(&mut left, e.request_id.as_deref(), ctx);
            if let Some(h) = &e.hint {
                left.push(Span::styled(format!(" · {h}"), t.warn));
            }
            if !e.message.is_empty() {
                left.push(Span::styled(format!(" · {}", e.message), t.error));
            }
        }
        _ => {
            if let Some(msg) = app.flash(now) {
                left.push(Span::styled(msg.to_string(), t.accent));
            } else if let Some(ev) = app.events().back() {
                left.push(Span::styled(
                    format!("{} ", clock(ev.at_ms, ctx.utc_offset)),
                    t.muted,
                ));
                left.push(Span::styled(format!("{} ", ev.name), t.text));
                match &ev.kind {
                    EventKind::Appeared(s) => left.push(Span::styled(
                        format!("appeared, {}", display_name(s)),
                        t.status(s),
                    )),
                    EventKind::Changed { from, to } => {
                        left.push(Span::styled(display_name(from).to_string(), t.status(from)));
                        left.push(Span::styled(" → ", t.text));
                        left.push(Span::styled(display_name(to).to_string(), t.status(to)));
                    }
                    EventKind::Gone { last } => left.push(Span::styled(
                        format!("gone (was {})", display_name(last)),
                        t.muted,
                    )),
                }
            }
        }
    }
    let left = if Line::from(left.clone()).width() > room {
        fit_spans(left, room)
    } else {
        left
    };
    Line::from(left).render(area, buf);
    Line::from(right).right_aligned().render(area, buf);
}

/// `every 5s`, `every 2s (fast)`, `every 5s → 100s (budget)`; `first-sweep
/// burst, 180 left` while the burst is in force; both paces while the hot tier
/// runs: `hot 2s · sweep 38s ago`, and the sweep's period when the budget
/// stretches it (`, every 42s`).
fn schedule(poll: &crate::app::PollState, now: i64) -> String {
    if let Some(left) = poll.burst_left {
        return format!("first-sweep burst, {left} left");
    }
    if poll.pace.hot.is_some() {
        let ago =
            |at: Option<i64>| at.map_or("–".to_string(), |t| duration(now.saturating_sub(t)));
        let hot = match &poll.hot_error {
            Some(code) => format!("hot ✗ {code}"),
            None => format!("hot {}", ago(poll.last_hot_ms)),
        };
        let mut s = format!("{hot} · sweep {} ago", ago(poll.last_ok_ms));
        if let Some(b) = poll.pace.budget.filter(|b| *b > poll.interval.mul_f64(1.1)) {
            s.push_str(&format!(", every {}", secs(b)));
        }
        return s;
    }
    let asked = poll.asked_interval();
    let mut s = format!("every {}", secs(asked));
    if asked < poll.interval {
        s.push_str(" (fast)");
    }
    // Polls are timed from the end of the last one: a stretch of a few percent
    // is the poll's own duration, not news.
    if let Some(b) = poll.pace.budget.filter(|b| *b > asked.mul_f64(1.1)) {
        s.push_str(&format!(" → {} (budget)", secs(b)));
    }
    s
}

/// Whole seconds, rounded (the interval may be fractional, e.g. 1.5 s).
fn secs(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 10_000 && !ms.is_multiple_of(1000) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}s", (ms + 500) / 1000)
    }
}

fn push_request_id(spans: &mut Vec<Span<'static>>, id: Option<&str>, ctx: &Paint) {
    if let Some(id) = id {
        spans.push(Span::styled(format!(" · request {id}"), ctx.theme.muted));
    }
}

pub fn draw_hints(buf: &mut Buffer, area: Rect, app: &App, ctx: &Paint) {
    let t = ctx.theme;
    let mut spans: Vec<Span<'static>> = vec![Span::raw(" ")];
    if matches!(app.mode(), Mode::Filter) {
        spans.push(Span::styled("/", t.accent.add_modifier(Modifier::BOLD)));
        spans.push(Span::styled(app.filter().name.clone(), t.text));
        spans.push(Span::styled("▏", t.accent));
        spans.push(Span::raw("   "));
    }
    let room = usize::from(area.width);
    let mut used: usize = spans.iter().map(Span::width).sum();
    for (key, word) in app.key_hints() {
        let w = width(&key) + 1 + width(word) + 2;
        if used + w > room {
            break;
        }
        used += w;
        spans.push(Span::styled(key, t.accent.add_modifier(Modifier::BOLD)));
        spans.push(Span::styled(format!(" {word}  "), t.muted));
    }
    Line::from(spans).render(area, buf);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::schedule;
    use crate::app::{Pace, PollState};

    fn poll(interval: u64, pace: Pace) -> PollState {
        let mut p = PollState::new(Duration::from_secs(interval));
        p.pace = pace;
        p
    }

    #[test]
    fn says_the_interval_in_force_and_why() {
        let s = |p: &PollState| schedule(p, 0);
        assert_eq!(s(&poll(5, Pace::default())), "every 5s");
        let fast = Pace {
            fast: Some(Duration::from_secs(2)),
            budget: None,
            ..Pace::default()
        };
        assert_eq!(s(&poll(5, fast)), "every 2s (fast)");
        // A fast interval no shorter than the normal one changes nothing.
        assert_eq!(s(&poll(2, fast)), "every 2s");
        let stretched = Pace {
            fast: None,
            budget: Some(Duration::from_millis(100_040)),
            ..Pace::default()
        };
        assert_eq!(s(&poll(5, stretched)), "every 5s → 100s (budget)");
        let both = Pace {
            fast: Some(Duration::from_millis(1500)),
            budget: Some(Duration::from_secs(30)),
            ..Pace::default()
        };
        assert_eq!(s(&poll(5, both)), "every 1.5s (fast) → 30s (budget)");
        // A plan a few ms past the interval is not a stretch worth showing.
        let jitter = Pace {
            fast: None,
            budget: Some(Duration::from_millis(5_100)),
            ..Pace::default()
        };
        assert_eq!(s(&poll(5, jitter)), "every 5s");
    }

    #[test]
    fn says_both_paces_while_the_hot_tier_runs() {
        const NOW: i64 = 1_000_000;
        let mut p = poll(
            5,
            Pace {
                hot: Some(Duration::from_secs(2)),
                budget: Some(Duration::from_secs(42)),
                ..Pace::default()
            },
        );
        p.last_hot_ms = Some(NOW - 2_000);
        p.last_ok_ms = Some(NOW - 38_000);
        assert_eq!(schedule(&p, NOW), "hot 2s · sweep 38s ago, every 42s");
        // A sweep that keeps its interval says no period.
        p.pace.budget = None;
        assert_eq!(schedule(&p, NOW), "hot 2s · sweep 38s ago");
        // A failing hot read says so in place of its age.
        p.hot_error = Some("429 APIGW.0308".into());
        assert_eq!(schedule(&p, NOW), "hot ✗ 429 APIGW.0308 · sweep 38s ago");
        // Before the first tick.
        p.hot_error = None;
        p.last_hot_ms = None;
        assert_eq!(schedule(&p, NOW), "hot – · sweep 38s ago");
    }
}
