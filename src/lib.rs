//! nbwatch: a live terminal dashboard for Huawei Cloud ModelArts notebook instances.
//!
//! Data flows one way: the poller task ([`watch`]) fetches through the client
//! ([`api`]) and sends messages; the app state applies them; the UI renders the
//! state. The one-shot `list` command reuses the client and [`output`].
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod logging;
pub mod output;
pub mod region;
pub mod run;
pub mod secret;
pub mod serve;
pub mod sim;
pub mod term;
pub mod timefmt;
pub mod ui;
pub mod watch;
