//! `edgegate doctor` (SPEC §7, §10): audit that a distribution enforces the gate and caches
//! as SPEC §9 requires. [`gather`] reads (and only reads) AWS, [`checks`] turns what it read
//! into findings, [`report`] prints them. Exit 0 with no error findings, 1 with any.

pub mod checks;
pub mod gather;
pub mod report;

#[cfg(test)]
mod moto_tests;
#[cfg(test)]
mod replay_tests;

use std::path::PathBuf;

use anyhow::Context as _;
use aws_config::{BehaviorVersion, Region};
use clap::Args;

use crate::aws::clients::EDGE_REGION;
use crate::aws::function::FunctionArgs;
use crate::output::{Output, Status, out, print_json};
use gather::{Inputs, Readers};
use report::{Report, Scope};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The CloudFront distribution to audit.
    #[arg(long)]
    pub distribution_id: String,
    /// Configuration whose `forward_query` and `[cache]` rules to check against (default:
    /// SPEC §6's values: no query string forwarded, the built-in cache classes). Keys need
    /// not be resolvable.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub function: FunctionArgs,
}

pub async fn run(args: &DoctorArgs, out: Output) -> anyhow::Result<Status> {
    crate::aws::distribution::check_distribution_id(&args.distribution_id)?;
    let inputs = inputs(args)?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).region(Region::from_static(EDGE_REGION)).load().await;
    let report = doctor(&Readers::new(sdk), inputs).await?;
    print(&report, out)
}

/// What the command line adds to what AWS says: the function, and the configuration's
/// `forward_query` and cache rules.
fn inputs(args: &DoctorArgs) -> anyhow::Result<Inputs> {
    let mut inputs = Inputs {
        distribution_id: args.distribution_id.clone(),
        function_name: args.function.function_name.clone(),
        config_path: "edgegate.toml".to_owned(),
        ..Inputs::default()
    };
    if let Some(path) = &args.config {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read configuration {}", path.display()))?;
        let config = crate::config::parse(&text, path)?;
        config.cache.check().with_context(|| format!("{}: invalid configuration", path.display()))?;
        inputs.forward_query = config.forward_query;
        inputs.cache_rules = config.cache.rules;
        inputs.config_path = path.display().to_string();
    }
    Ok(inputs)
}

/// Reads the distribution and everything around it, and checks it.
pub async fn doctor(readers: &Readers, inputs: Inputs) -> anyhow::Result<Report> {
    let snapshot = gather::snapshot(readers, inputs).await?;
    let findings = checks::run(&snapshot);
    let scope = Scope {
        domain_name: snapshot.domain_name.clone(),
        function_name: snapshot.function_name.clone(),
        newest_version: snapshot.newest.as_ref().map(|v| v.version),
        behaviours: snapshot.behaviours.len(),
        origins: snapshot.origins.len(),
        buckets: snapshot.buckets.len(),
        sampled_objects: snapshot.samples.values().map(Vec::len).sum(),
    };
    Ok(Report::new(&snapshot.distribution_id, findings, scope))
}

/// Prints the report; any error finding makes the exit status 1.
pub fn print(report: &Report, out: Output) -> anyhow::Result<Status> {
    match out {
        Output::Json => print_json(report)?,
        Output::Text => out!("{}", report.text())?,
    }
    Ok(if report.errors > 0 { Status::Denied } else { Status::Ok })
}
