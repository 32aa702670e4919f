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
