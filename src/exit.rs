//! The process's exit codes, for every command. A command's failure gets its
//! code in one place, [`crate::cmd::CmdError::code`]; clap's own usage errors
//! exit 2 too, and `nbwatch ssh` passes on ssh's code once ssh ran.

/// The service or the network failed (or an action was refused).
pub const API: u8 = 1;
/// Bad usage or configuration.
pub const CONFIG: u8 = 2;
