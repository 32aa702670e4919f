//! The built-in ModelArts simulator: `nbwatch sim`, `nbwatch --demo` and every
//! HTTP test talk to it.
pub mod auth;
pub mod catalog;
pub mod clock;
pub mod engine;
pub mod instance;
pub mod listing;
pub mod render;
pub mod rng;
