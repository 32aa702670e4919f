//! Helpers shared by the integration tests.
//!
//! - [`sim`]: signed requests to a simulator over loopback HTTP;
//! - [`home`]: a temporary HOME and the real binary run in it;
//! - [`pty`]: a pseudo-terminal read through a terminal emulator;
//! - [`dash`]: the dashboard started in that terminal against a simulator;
//! - [`cut`]: a proxy that lets an action reach the simulator, then resets.

pub mod cut;
pub mod dash;
pub mod home;
pub mod pty;
pub mod sim;

/// The `nbwatch` binary the tests start: the one cargo built beside this test
/// binary, or `$NBWATCH_BIN` when set (CI runs the tests that start the binary
/// again against the release build, the binary users get; the benches read the
/// same variable). Only the tests read it: the crate reads no test variable.
pub fn bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("NBWATCH_BIN")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_nbwatch").to_string())
    })
}
