//! The process's exit codes, for every command.

/// The service or the network failed (or an action was refused).
pub const API: u8 = 1;
/// Bad usage or configuration.
pub const CONFIG: u8 = 2;
