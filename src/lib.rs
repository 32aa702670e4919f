//! nbwatch: a live terminal dashboard for Huawei Cloud ModelArts notebook instances.
//!
//! Data flows one way: the poller task ([`watch`]) fetches through the client
//! ([`api`]) and sends messages; the app state applies them; the UI renders the
//! state. The one-shot `list` command reuses the client and [`output`].
#![forbid(unsafe_code)]

pub mod act;
pub mod alerts;
pub mod api;
pub mod app;
pub mod cli;
pub mod cmd;
pub mod config;
pub(crate) mod dashboard;
pub mod defaults;
pub mod exit;
pub(crate) mod frames;
pub mod journal;
pub(crate) mod logging;
pub(crate) mod notify;
pub(crate) mod opener;
pub(crate) mod output;
pub(crate) mod region;
pub mod secret;
pub mod serve;
pub mod sim;
pub mod ssh;
pub(crate) mod term;
pub mod timefmt;
pub(crate) mod tokio_clock;
pub mod track;
pub mod ui;
pub mod watch;
