//! Helpers for the end-to-end tests: a pseudo-terminal with a terminal emulator
//! ([`pty`]) and the dashboard started in it ([`dash`]).
#![allow(dead_code)]

pub mod dash;
pub mod pty;
