//! `edgegate`: thin entry point. All work happens in [`cli::run`]; this maps the outcome
//! to the exit codes of SPEC §7.

mod aws;
mod bundle;
mod cli;
mod clock;
mod config;
mod doctor;
mod handle;
mod logs;
mod output;
mod reindex;
mod serve;
mod tokens;
mod urls;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(output::Status::Ok) => ExitCode::SUCCESS,
        Ok(output::Status::Denied) => ExitCode::from(1),
        // The reader went away (`edgegate versions | head -1`): nothing is wrong, as ripgrep
        // treats it; a panic would exit 101, which is no SPEC §7 code.
        Err(error) if output::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("edgegate: error: {error:#}");
            ExitCode::from(output::exit_code_for(&error))
        }
    }
}
