//! `edgegate`: thin entry point. All work happens in [`cli::run`]; this maps the outcome
//! to the exit codes of SPEC §7.

mod aws;
mod bundle;
mod cli;
mod config;
mod handle;
mod output;
mod serve;
mod tokens;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
