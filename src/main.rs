//! `nbwatch`: parse the command line, run one mode. Nothing else lives here.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = nbwatch::cli::parse();
    // Read the local UTC offset while the process is still single-threaded: the
    // `time` crate refuses to read it once threads exist.
    let utc_offset = nbwatch::timefmt::local_offset_secs();
    let runtime = match nbwatch::run::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nbwatch: cannot start the async runtime: {e}");
            return ExitCode::from(nbwatch::exit::CONFIG);
        }
    };
    runtime.block_on(nbwatch::run::main(cli, utc_offset))
}
