//! `edgegate publish` and `edgegate bootstrap` (SPEC §7).

use super::function::FunctionArgs;
use clap::Args;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use serde::Serialize;

use super::clients::{Clients, aws_condition};
use super::function::{self, RoleOutcome};
use crate::bundle::Bundle;
use crate::output::{Output, Status, outln, print_json};

/// Default execution role name.
pub const DEFAULT_ROLE_NAME: &str = "edgegate-lambda-edge";

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
    /// Retention of the function's log group in every enabled region (Lambda@Edge logs
    /// where it runs; a CloudWatch value: 1, 3, 5, 7, 14, 30, 60, 90, ...).
    #[arg(long, value_name = "DAYS", default_value_t = crate::logs::DEFAULT_LOG_RETENTION,
          value_parser = crate::logs::parse_retention)]
    pub log_retention: i32,
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

/// What `publish` reports (`--output json`).
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    /// The numbered version ARN, what `reconfigure-distribution` takes.
    pub function_arn: String,
    pub version: u64,
    pub code_sha256: String,
    /// `false`: the code was already published, nothing was created.
    pub created: bool,
}

/// Brings the function's code to `bundle` and returns a published version holding it.
pub async fn publish_bundle(c: &Clients, name: &str, bundle: &Bundle) -> anyhow::Result<Published> {
    let current = function::get_function(c, name, None).await?.ok_or_else(|| {
        aws_condition(
            "lambda:GetFunctionConfiguration",
            name,
            Some("ResourceNotFoundException".into()),
            "the function does not exist in us-east-1; run `edgegate bootstrap` first, or pass the right --function-name",
        )
    })?;

    if current.code_sha256 == bundle.code_sha256 {
        // Publishing again would cost a version on AWS when only configuration changed, and
        // always on moto; an operator re-running a release expects the version they have.
        let versions = function::list_versions(c, name).await?;
        if let Some(existing) = versions.iter().rev().find(|v| v.code_sha256 == bundle.code_sha256) {
            return Ok(Published {
                function_arn: existing.function_arn.clone(),
                version: existing.version,
                code_sha256: existing.code_sha256.clone(),
                created: false,
            });
        }
        function::wait_ready(c, name, "lambda:UpdateFunctionCode").await?;
    } else {
        // An update still running from elsewhere would make ours fail with a conflict.
        function::wait_ready(c, name, "lambda:UpdateFunctionCode").await?;
        eprintln!("uploading new code to {name} (CodeSha256 {})", bundle.code_sha256);
        function::update_code(c, name, bundle).await?;
        function::wait_ready(c, name, "lambda:UpdateFunctionCode").await?;
    }
    let v = function::publish_version(c, name, &bundle.code_sha256).await?;
    Ok(Published { function_arn: v.function_arn, version: v.version, code_sha256: v.code_sha256, created: true })
}

pub async fn publish(c: &Clients, args: &PublishArgs, out: Output) -> anyhow::Result<Status> {
    let bundle = function::load_bundle(args.config.as_deref(), args.bundle.as_deref())?;
    let name = &args.function.function_name;
    let published = publish_bundle(c, name, &bundle).await?;
    if args.quiet {
        // A CI pipe whose reader already failed must surface as an error, not a panic.
        writeln!(std::io::stdout(), "{}", published.function_arn).context("writing the ARN to standard output")?;
    } else if out == Output::Json {
        print_json(&published)?;
    } else {
        let what = if published.created { "published" } else { "unchanged, already published as" };
        outln!("{name}: {what} version {} (CodeSha256 {})", published.version, published.code_sha256)?;
        outln!("{}", published.function_arn)?;
    }
    Ok(Status::Ok)
}

/// What `bootstrap` reports (`--output json`).
#[derive(Debug, Clone, Serialize)]
pub struct Bootstrapped {
    pub role_arn: String,
    pub role_created: bool,
    pub function_name: String,
    pub function_created: bool,
    pub function_arn: String,
    pub version: u64,
    pub code_sha256: String,
    /// Whether a new version was published by this run.
    pub created: bool,
    pub next_command: String,
}

pub async fn bootstrap_function(
    c: &Clients,
    name: &str,
    role_name: &str,
    bundle: &Bundle,
) -> anyhow::Result<Bootstrapped> {
    let RoleOutcome { arn: role_arn, created: role_created } = function::ensure_role(c, role_name).await?;
    let mut function_created = false;
    if function::get_function(c, name, None).await?.is_none() {
        eprintln!("creating function {name} in us-east-1");
        function_created = function::create_function(c, name, &role_arn, bundle).await?;
    }
    // From here an existing function and a fresh one are the same case: bring the code to
    // the bundle and make sure a version holds it. That is what makes a re-run converge.
    if function_created {
        function::wait_ready(c, name, "lambda:CreateFunction").await?;
    }
    let published = publish_bundle(c, name, bundle).await.context("publishing the first version")?;
    Ok(Bootstrapped {
        role_arn,
        role_created,
        function_name: name.to_owned(),
        function_created,
        next_command: format!(
            "edgegate reconfigure-distribution {} --distribution-id YOUR_DISTRIBUTION_ID",
            published.function_arn
        ),
        function_arn: published.function_arn,
        version: published.version,
        code_sha256: published.code_sha256,
        created: published.created,
    })
}

pub async fn bootstrap(c: &Clients, args: &BootstrapArgs, out: Output) -> anyhow::Result<Status> {
    let bundle = function::load_bundle(args.config.as_deref(), args.bundle.as_deref())?;
    let done = bootstrap_function(c, &args.function.function_name, &args.role_name, &bundle).await?;
    // Last, so a refused region never stands between an operator and a working function;
    // a re-run converges (groups already right are not written).
    let regions = crate::logs::all_region_clients(&c.sdk).await?;
    let group = crate::logs::log_group_name(&args.function.function_name);
    let retention = crate::logs::set_retention(&regions, &group, args.log_retention).await;
    if out == Output::Json {
        #[derive(Serialize)]
        struct Report<'a> {
            #[serde(flatten)]
            done: &'a Bootstrapped,
            log_retention: &'a crate::logs::RetentionReport,
        }
        print_json(&Report { done: &done, log_retention: &retention })?;
        retention.outcome()?;
        return Ok(Status::Ok);
    }
    let state = |created: bool| if created { "created" } else { "exists" };
    outln!("role      {} ({})", done.role_arn, state(done.role_created))?;
    outln!("function  {} ({})", done.function_name, state(done.function_created))?;
    let version_state = if done.created { "published" } else { "already published" };
    outln!("version   {} ({version_state}, CodeSha256 {})", done.version, done.code_sha256)?;
    outln!("logs      {}", retention.text())?;
    outln!()?;
    outln!("{}", done.function_arn)?;
    outln!()?;
    outln!("Next: attach it to your distribution's viewer-request event:")?;
    outln!("  {}", done.next_command)?;
    outln!("Then check that nothing reaches the bucket around the gate:")?;
    outln!("  edgegate doctor --distribution-id YOUR_DISTRIBUTION_ID")?;
    retention.outcome()?;
    Ok(Status::Ok)
}
