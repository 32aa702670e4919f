//! The command layer's one error, and the one place it becomes an exit code.

use std::fmt;
use std::process::ExitCode;

use crate::exit;

/// What kind of failure ended a command: it decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad usage or configuration, or nbwatch refused before it sent anything.
    Usage,
    /// The service or the network failed, or an action was refused, cancelled
    /// or did not reach its status.
    Service,
    /// A program nbwatch ran in the foreground (`ssh`) ended with this code:
    /// passed on as it is.
    Passed(u8),
}

/// Why a command failed: one line for stderr (`nbwatch: what; fix: how`) and
/// its [`Kind`]. An empty message means every line was said already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdError {
    pub kind: Kind,
    message: String,
    /// Who says it: `nbwatch`, or `nbwatch serve` for the commands that name themselves.
    who: &'static str,
}

impl CmdError {
    fn new(kind: Kind, message: impl Into<String>) -> CmdError {
        CmdError {
            kind,
            message: message.into(),
            who: "nbwatch",
        }
    }

    /// Bad usage or configuration: exit 2.
    pub fn usage(message: impl Into<String>) -> CmdError {
        CmdError::new(Kind::Usage, message)
    }

    /// The service failed (or refused): exit 1.
    pub fn service(message: impl Into<String>) -> CmdError {
        CmdError::new(Kind::Service, message)
    }

    /// A failure whose lines are on stderr already: only the exit code is left.
    pub fn said(kind: Kind) -> CmdError {
        CmdError::new(kind, "")
    }

    /// Said as `nbwatch COMMAND: …` (serve and sim name themselves).
    pub fn by(mut self, who: &'static str) -> CmdError {
        self.who = who;
        self
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The exit code: the one place each kind gets its number.
    pub fn code(&self) -> u8 {
        match self.kind {
            Kind::Usage => exit::CONFIG,
            Kind::Service => exit::API,
            Kind::Passed(code) => code,
        }
    }

    /// Says the line (unless said already) and gives the exit code.
    pub fn report(&self) -> ExitCode {
        if !self.message.is_empty() {
            eprintln!("{self}");
        }
        ExitCode::from(self.code())
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.who, self.message)
    }
}

impl std::error::Error for CmdError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_exit_code_and_one_line() {
        let e = CmdError::usage("no source to watch; fix: pass --profile NAME");
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            (2, "nbwatch: no source to watch; fix: pass --profile NAME")
        );
        let e = CmdError::service("cannot listen").by("nbwatch serve");
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            (1, "nbwatch serve: cannot listen")
        );
        assert_eq!(CmdError::said(Kind::Passed(255)).code(), 255);
        assert_eq!(CmdError::said(Kind::Service).message(), "");
    }
}
