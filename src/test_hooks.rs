//! Hooks that only the tests use, compiled in only with the `test-hooks` cargo
//! feature (on for `cargo test` through the dev-dependency on this crate, off
//! in a release build), so the shipped binary reads no such variable.
//!
//! - `NBWATCH_TEST_PANIC_AFTER_MS`: the dashboard panics after this long, to
//!   prove the terminal is restored on panic.
//! - `NBWATCH_TEST_CLOCK_OFFSET_SECS`: signatures are dated as if this
//!   machine's clock were off by that much, to exercise clock-skew diagnosis.
//! - `NBWATCH_TEST_RECORD_CAP`: whole records the dashboard keeps (see
//!   `defaults::FULL_RECORDS`), so a small population exercises the detail
//!   pane's reads of records not held.

use std::time::Duration;

/// When the dashboard should panic, if a test asked for it.
pub fn panic_after() -> Option<Duration> {
    read::<u64>("NBWATCH_TEST_PANIC_AFTER_MS").map(Duration::from_millis)
}

/// Seconds to add to this machine's clock when signing.
pub fn clock_offset_secs() -> i64 {
    read("NBWATCH_TEST_CLOCK_OFFSET_SECS").unwrap_or(0)
}

/// Whole records to keep, if a test asked for a number other than the default.
pub fn record_cap() -> Option<usize> {
    read("NBWATCH_TEST_RECORD_CAP")
}

#[cfg(feature = "test-hooks")]
fn read<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok()?.trim().parse().ok()
}

#[cfg(not(feature = "test-hooks"))]
fn read<T: std::str::FromStr>(_name: &str) -> Option<T> {
    None
}
