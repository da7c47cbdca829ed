//! Command line (SPEC §7): clap definitions and dispatch. Each command lives in its own
//! module and returns `anyhow::Result<Status>`; `main` maps that to the exit code.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::{Output, Status, exit_code_for};

/// Default Lambda function name (SPEC §7).
pub const DEFAULT_FUNCTION_NAME: &str = "packagecloud_cloudfront_auth";
/// Default execution role name.
pub const DEFAULT_ROLE_NAME: &str = "edgegate-lambda-edge";

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
    /// Run the viewer-request handler on one event and print its result.
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
    /// Run the gate locally: HTTP in, same decision, origin out.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct GenerateSecretArgs {
    /// Key id for the block (default: the current year and month, e.g. 2026-11).
    #[arg(long)]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Place {
    /// `?__token__=...`
    Query,
    /// `/__token__=.../path` (a signed base URL).
    Path,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    #[arg(long)]
    pub config: PathBuf,
    /// ACL pattern (repeat for several; joined with `!`).
    #[arg(long, conflicts_with = "url", required_unless_present = "url")]
    pub acl: Vec<String>,
    /// Path for a URL token (valid for exactly this path). Percent-encoding is allowed:
    /// the token is signed over the canonical, decoded path (SPEC §3), as the gate checks it.
    #[arg(long)]
    pub url: Option<String>,
    /// Lifetime in seconds from now.
    #[arg(long, conflicts_with = "exp", required_unless_present = "exp")]
    pub ttl: Option<u64>,
    /// Absolute expiry, Unix seconds.
    #[arg(long)]
    pub exp: Option<u64>,
    /// Not valid before, Unix seconds.
    #[arg(long)]
    pub st: Option<u64>,
    /// Bind to this viewer IP.
    #[arg(long)]
    pub ip: Option<String>,
    /// Session id field.
    #[arg(long)]
    pub id: Option<String>,
    /// Opaque data field.
    #[arg(long)]
    pub data: Option<String>,
    /// Print a signed URL on this base instead of the bare token.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Where the token goes in the signed URL.
    #[arg(long, value_enum, default_value_t = Place::Query, requires = "base_url")]
    pub place: Place,
    /// Current time, Unix seconds (default: the system clock); `--ttl` counts from it.
    #[arg(long)]
    pub now: Option<u64>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[arg(long)]
    pub config: PathBuf,
    /// Token as carried in a URL or cookie: percent-decoded once, as the gate does (raw
    /// token text without `%` passes unchanged).
    #[arg(long)]
    pub token: String,
    /// Request path (raw, percent-encoded as a client sends it).
    #[arg(long)]
    pub path: String,
    /// Viewer IP.
    #[arg(long)]
    pub ip: Option<String>,
    /// Current time, Unix seconds (default: the system clock).
    #[arg(long)]
    pub now: Option<u64>,
}

#[derive(Debug, Args)]
pub struct HandleArgs {
    #[arg(long)]
    pub config: PathBuf,
    /// Viewer-request event JSON file, or `-` for standard input.
    #[arg(long)]
    pub event: PathBuf,
    /// Current time, Unix seconds (default: the system clock).
    #[arg(long)]
    pub now: Option<u64>,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct FunctionArgs {
    /// Lambda function name.
    #[arg(long, default_value = DEFAULT_FUNCTION_NAME)]
    pub function_name: String,
}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Configuration to bundle (not needed with --bundle).
    #[arg(long, required_unless_present = "bundle")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub function: FunctionArgs,
    /// Execution role name.
    #[arg(long, default_value = DEFAULT_ROLE_NAME)]
    pub role_name: String,
    /// Use this bundle instead of building one.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Configuration to bundle (not needed with --bundle).
    #[arg(long, required_unless_present = "bundle")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub function: FunctionArgs,
    /// Use this bundle instead of building one.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// Print only the versioned ARN (for CI pipes).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ReconfigureArgs {
    /// Numbered function version ARN (arn:aws:lambda:us-east-1:ACCOUNT:function:NAME:N), or
    /// `-` to read it from standard input (`edgegate publish --quiet | ...`).
    pub arn: String,
    #[arg(long)]
    pub distribution_id: String,
    /// Cache behaviour path patterns to associate as well as the default behaviour.
    #[arg(long = "path-pattern")]
    pub path_patterns: Vec<String>,
    /// Associate with every cache behaviour.
    #[arg(long, conflicts_with = "path_patterns")]
    pub all_behaviors: bool,
    /// Show each behaviour's associations before and after; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct VersionsArgs {
    #[command(flatten)]
    pub function: FunctionArgs,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub function: FunctionArgs,
    /// How many of the newest versions to keep regardless.
    #[arg(long)]
    pub keep: u32,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration (default: the embedded demo configuration with a development key).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Origin: a directory, or an http:// URL to proxy to (default: the demo repository).
    #[arg(long)]
    pub origin: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

/// Parses arguments, runs the command, and maps the outcome to SPEC §7 exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Status::Ok) => ExitCode::SUCCESS,
        Ok(Status::Denied) => ExitCode::from(1),
        Err(error) => {
            eprintln!("edgegate: error: {error:#}");
            ExitCode::from(exit_code_for(&error))
        }
    }
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
        Command::Serve(args) => runtime()?.block_on(crate::serve::run(args, out)),
    }
}

/// Seconds since the Unix epoch from the system clock, unless the caller gave `--now`.
pub fn now_or_clock(now: Option<u64>) -> u64 {
    now.unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}
