//! `nbwatch`: parse the command line, run one command, turn its error into
//! an exit code. Nothing else lives here.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = nbwatch::cli::parse();
    // Read the local UTC offset while the process is still single-threaded: the
    // `time` crate refuses to read it once threads exist.
    let utc_offset = nbwatch::timefmt::local_offset_secs();
    match nbwatch::cmd::runtime(&cli) {
        Ok(runtime) => runtime.block_on(nbwatch::cmd::main(cli, utc_offset)),
        Err(e) => {
            nbwatch::cmd::CmdError::usage(format!("cannot start the async runtime: {e}")).report()
        }
    }
}
