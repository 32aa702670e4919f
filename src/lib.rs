//! nbwatch: a live terminal dashboard for Huawei Cloud ModelArts notebook instances.
pub mod api;
pub mod config;
pub mod region;
pub mod secret;
