//! `nbwatch sim`: the built-in simulator, served until Ctrl-C.

use crate::cli::SimArgs;
use crate::sim::SimConfig;

use super::CmdError;

pub async fn run(args: &SimArgs) -> Result<(), CmdError> {
    crate::sim::run(SimConfig::from(args))
        .await
        .map_err(|e| CmdError::usage(format!("{e:#}")).by("nbwatch sim"))
}
