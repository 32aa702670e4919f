//! nbwatch: a live terminal dashboard for Huawei Cloud ModelArts notebook instances.
pub mod api;
pub mod app;
pub mod secret;
pub mod ui;
