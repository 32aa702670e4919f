//! The terminal: raw mode, alternate screen and mouse, always given back — on quit,
//! on panic and on SIGTERM/SIGHUP — plus OSC 52 clipboard writes.

use std::io::{self, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Tui = Terminal<CrosstermBackend<Stdout>>;

/// Owns the terminal while the dashboard runs; restores it when dropped.
pub struct TerminalGuard {
    pub terminal: Tui,
}

static PANIC_HOOK: Once = Once::new();
/// True while the terminal is taken over: only then is there anything to give back.
static ENTERED: AtomicBool = AtomicBool::new(false);

/// Takes over the terminal. The panic hook installed here restores it before the
/// panic message is printed, so a crash never leaves the shell in raw mode.
pub fn enter() -> io::Result<TerminalGuard> {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
    enable_raw_mode()?;
    ENTERED.store(true, Ordering::SeqCst);
    let mut out = io::stdout();
    if let Err(e) = execute!(
        out,
        EnterAlternateScreen,
        EnableMouseCapture,
        crossterm::cursor::Hide
    ) {
        restore();
        return Err(e);
    }
    let terminal = Terminal::new(CrosstermBackend::new(out)).inspect_err(|_| restore())?;
    Ok(TerminalGuard { terminal })
}

/// Gives the terminal back. Safe to call more than once: only the first call after
/// [`enter`] does anything. A second `LeaveAlternateScreen` would restore the cursor
/// saved on entry again, so whatever was printed in between (the panic message,
/// written by the panic hook before the guard is dropped) would be overwritten by
/// the shell prompt.
pub fn restore() {
    if !ENTERED.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = out.flush();
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Writes `text` to the clipboard through the terminal (works over SSH too).
pub fn copy_to_clipboard(text: &str) -> io::Result<()> {
    let mut out = io::stdout();
    out.write_all(crate::app::osc52_sequence(text).as_bytes())?;
    out.flush()
}

/// Rings the terminal bell.
pub fn bell() -> io::Result<()> {
    let mut out = io::stdout();
    out.write_all(b"\x07")?;
    out.flush()
}
