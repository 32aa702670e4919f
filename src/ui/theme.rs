//! Colours and the status symbols. Every status has a symbol as well as a colour, so
//! with `NO_COLOR` (or colour blindness) statuses stay apart.

use ratatui::style::{Color, Modifier, Style};

use crate::api::model::Status;

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// False under `NO_COLOR`: only modifiers (bold, reverse, dim) are used.
    pub color: bool,
    pub text: Style,
    pub muted: Style,
    pub accent: Style,
    pub heading: Style,
    /// The header bar.
    pub bar: Style,
    pub border: Style,
    pub selected: Style,
    pub changed: Style,
    pub running: Style,
    pub stopped: Style,
    pub transitional: Style,
    pub problem: Style,
    pub unknown: Style,
    pub ok: Style,
    pub warn: Style,
    pub error: Style,
}

impl Default for Theme {
    fn default() -> Self {
        Theme::colored()
    }
}

impl Theme {
    pub fn colored() -> Theme {
        let fg = |c| Style::new().fg(c);
        Theme {
            color: true,
            text: Style::new(),
            muted: fg(Color::DarkGray),
            accent: fg(Color::Cyan),
            heading: fg(Color::Cyan).add_modifier(Modifier::BOLD),
            bar: Style::new().bg(Color::Indexed(236)),
            border: fg(Color::DarkGray),
            selected: Style::new()
                .bg(Color::Indexed(24))
                .add_modifier(Modifier::BOLD),
            changed: fg(Color::Cyan).add_modifier(Modifier::BOLD),
            running: fg(Color::Green),
            stopped: fg(Color::Gray),
            transitional: fg(Color::Blue),
            problem: fg(Color::Red),
            unknown: fg(Color::Magenta),
            ok: fg(Color::Green),
            warn: fg(Color::Yellow),
            error: fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }

    /// For `NO_COLOR`: symbols and words carry the meaning, modifiers the emphasis.
    pub fn plain() -> Theme {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Theme {
            color: false,
            text: Style::new(),
            muted: Style::new(),
            accent: Style::new(),
            heading: bold,
            bar: Style::new(),
            border: Style::new(),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            changed: bold,
            running: Style::new(),
            stopped: Style::new(),
            transitional: Style::new(),
            problem: bold,
            unknown: Style::new(),
            ok: Style::new(),
            warn: bold,
            error: bold,
        }
    }

    /// `NO_COLOR` set to anything non-empty turns colour off (no-color.org).
    pub fn from_no_color(no_color: Option<&str>) -> Theme {
        match no_color {
            Some(v) if !v.is_empty() => Theme::plain(),
            _ => Theme::colored(),
        }
    }

    pub fn status(&self, s: &Status) -> Style {
        match s {
            Status::Running => self.running,
            Status::Stopped | Status::Deleted => self.stopped,
            s if s.is_problem() => self.problem,
            s if s.is_transitional() => self.transitional,
            _ => self.unknown,
        }
    }
}

/// The symbol drawn before every status.
pub fn status_symbol(s: &Status) -> &'static str {
    match s {
        Status::Running => "●",
        Status::Stopped => "○",
        Status::Deleted => "⌀",
        Status::Frozen => "⊘",
        s if s.is_problem() => "✗",
        s if s.is_transitional() => "◐",
        _ => "?",
    }
}
