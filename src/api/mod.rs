//! The ModelArts client: no terminal in here.
pub mod model;
pub mod sign;
