//! Every integration test, in one binary: each former `tests/*.rs` file is a
//! module here, so axum, reqwest, ratatui and the PTY crates are linked once
//! instead of thirteen times. Shared helpers live in [`support`].
//!
//! Run one group with `cargo test --test it sim_listing::`.

// A test that unwraps fails with the reason, which is what a test should do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod actions_http;
mod cli_actions;
mod cli_bulk;
mod cli_extras;
mod cli_list;
mod cli_sources;
mod cli_ssh;
mod client_http;
mod config_errors;
mod docs;
mod e2e_actions;
mod e2e_alerts;
mod e2e_dashboard;
mod e2e_marks;
mod e2e_sources;
mod e2e_ssh;
mod e2e_views;
mod fresh_hot;
mod reliability_auth;
mod reliability_nopanic;
mod reliability_poller;
mod secrets;
mod serve_deploy;
mod serve_e2e;
mod serve_metrics;
mod serve_web;
mod sim_auth;
mod sim_faults;
mod sim_lifecycle;
mod sim_listing;
mod sweep_truth;
