//! Command line (SPEC §7): composes the commands' own clap `Args` and dispatches. Each
//! command module owns its arguments and returns `anyhow::Result<Status>`; nothing here is
//! imported back by a command, so dependencies point one way (cli → commands).

use clap::{Parser, Subcommand};

use crate::aws::distribution::ReconfigureArgs;
use crate::aws::publish::{BootstrapArgs, PublishArgs};
use crate::aws::versions::{PruneArgs, VersionsArgs};
use crate::bundle::BundleArgs;
use crate::doctor::DoctorArgs;
use crate::handle::HandleArgs;
use crate::logs::LogsArgs;
use crate::output::{Output, Status};
use crate::reindex::ReindexArgs;
use crate::serve::ServeArgs;
use crate::tokens::{GenerateSecretArgs, SignArgs, VerifyArgs};

#[derive(Debug, Parser)]
#[command(name = "edgegate", version, about = "Signed-URL gate for CloudFront package repositories (Lambda@Edge)")]
pub struct Cli {
    /// Report format.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a [[keys]] block with 32 fresh random bytes.
    GenerateSecret(GenerateSecretArgs),
    /// Sign a token (or a URL) with the first configured key.
    Sign(SignArgs),
    /// Verify a token for a path: prints `ok` (exit 0) or the reason code (exit 1).
    Verify(VerifyArgs),
    /// Run the handler on one event (viewer-request or origin-response) and print its result.
    Handle(HandleArgs),
    /// Build the deterministic Lambda@Edge deployment zip.
    Bundle(BundleArgs),
    /// Create the role, the function and its first version in us-east-1.
    Bootstrap(BootstrapArgs),
    /// Upload new code and publish a numbered version (none if the code is unchanged).
    Publish(PublishArgs),
    /// Attach a numbered function version to a distribution's viewer-request event.
    ReconfigureDistribution(ReconfigureArgs),
    /// List published versions and the distributions that use them.
    Versions(VersionsArgs),
    /// Delete old versions that no distribution uses.
    Prune(PruneArgs),
    /// Set every object's Cache-Control from its cache class (SPEC §9), in place.
    Reindex(ReindexArgs),
    /// Run the gate locally: HTTP in, same decision, origin out.
    Serve(ServeArgs),
    /// Audit that the distribution enforces the gate and caches as SPEC §9 requires (SPEC §10).
    Doctor(DoctorArgs),
    /// The gate's decision lines from every region, merged by time; or set log retention everywhere.
    Logs(LogsArgs),
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Runs one parsed command.
pub fn run(cli: Cli) -> anyhow::Result<Status> {
    let out = cli.output;
    match cli.command {
        Command::GenerateSecret(args) => crate::tokens::generate_secret(&args, out),
        Command::Sign(args) => crate::tokens::sign(&args, out),
        Command::Verify(args) => crate::tokens::verify(&args, out),
        Command::Handle(args) => crate::handle::run(&args, out),
        Command::Bundle(args) => crate::bundle::run(&args, out),
        Command::Bootstrap(args) => runtime()?.block_on(crate::aws::bootstrap(&args, out)),
        Command::Publish(args) => runtime()?.block_on(crate::aws::publish(&args, out)),
        Command::ReconfigureDistribution(args) => runtime()?.block_on(crate::aws::reconfigure(&args, out)),
        Command::Versions(args) => runtime()?.block_on(crate::aws::versions(&args, out)),
        Command::Prune(args) => runtime()?.block_on(crate::aws::prune(&args, out)),
        Command::Reindex(args) => runtime()?.block_on(crate::reindex::run(&args, out)),
        Command::Serve(args) => runtime()?.block_on(crate::serve::run(args, out)),
        Command::Doctor(args) => runtime()?.block_on(crate::doctor::run(&args, out)),
        Command::Logs(args) => runtime()?.block_on(crate::logs::run(&args, out)),
    }
}
