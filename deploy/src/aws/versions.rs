//! `edgegate versions` and `edgegate prune` (SPEC §7).

use super::function::FunctionArgs;
use clap::Args;
use std::collections::BTreeMap;

use anyhow::bail;
use aws_sdk_cloudfront::types::LambdaFunctionAssociations;
use serde::Serialize;

use super::clients::{Clients, aws_failure};
use super::function::{self, Version};
use crate::output::{Output, Status, outln, print_json};

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

/// A cache behaviour that uses a function version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    pub distribution_id: String,
    /// `None` for the default cache behaviour.
    pub path_pattern: Option<String>,
    pub event_type: String,
}

impl Reference {
    fn describe(&self) -> String {
        let behaviour = self.path_pattern.as_deref().unwrap_or("default");
        format!("{} {behaviour} ({})", self.distribution_id, self.event_type)
    }
}

/// Every Lambda@Edge association of every distribution in the account, by function ARN.
/// ListDistributions summaries carry the cache behaviours in full, so one paginated call
/// covers the account.
pub async fn references(c: &Clients) -> anyhow::Result<BTreeMap<String, Vec<Reference>>> {
    let mut refs: BTreeMap<String, Vec<Reference>> = BTreeMap::new();
    let mut pages = c.cloudfront.list_distributions().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_failure("cloudfront:ListDistributions", "*", e))?;
        let summaries = page.distribution_list.and_then(|l| l.items).unwrap_or_default();
        for d in summaries {
            let mut add = |path_pattern: Option<String>, lambdas: Option<&LambdaFunctionAssociations>| {
                for a in lambdas.and_then(|l| l.items.as_ref()).into_iter().flatten() {
                    refs.entry(a.lambda_function_arn.clone()).or_default().push(Reference {
                        distribution_id: d.id.clone(),
                        path_pattern: path_pattern.clone(),
                        event_type: a.event_type.as_str().to_owned(),
                    });
                }
            };
            if let Some(b) = &d.default_cache_behavior {
                add(None, b.lambda_function_associations.as_ref());
            }
            for b in d.cache_behaviors.as_ref().and_then(|b| b.items.as_ref()).into_iter().flatten() {
                add(Some(b.path_pattern.clone()), b.lambda_function_associations.as_ref());
            }
        }
    }
    Ok(refs)
}

/// One version with the behaviours that use it.
#[derive(Debug, Clone, Serialize)]
pub struct VersionUse {
    #[serde(flatten)]
    pub version: Version,
    pub references: Vec<Reference>,
}

pub async fn list_with_references(c: &Clients, name: &str) -> anyhow::Result<Vec<VersionUse>> {
    let versions = function::list_versions(c, name).await?;
    let mut refs = references(c).await?;
    Ok(versions
        .into_iter()
        .map(|v| {
            let references = refs.remove(&v.function_arn).unwrap_or_default();
            VersionUse { version: v, references }
        })
        .collect())
}

#[derive(Debug, Serialize)]
struct VersionsReport<'a> {
    function_name: &'a str,
    versions: &'a [VersionUse],
}

pub async fn versions(c: &Clients, args: &VersionsArgs, out: Output) -> anyhow::Result<Status> {
    let name = &args.function.function_name;
    let list = list_with_references(c, name).await?;
    if out == Output::Json {
        print_json(&VersionsReport { function_name: name, versions: &list })?;
        return Ok(Status::Ok);
    }
    if list.is_empty() {
        outln!("{name}: no published versions")?;
        return Ok(Status::Ok);
    }
    outln!("{:<8} {:<30} {:<46} USED BY", "VERSION", "LAST MODIFIED", "CODESHA256")?;
    for v in &list {
        let used: Vec<String> = v.references.iter().map(Reference::describe).collect();
        let used = if used.is_empty() { "-".to_owned() } else { used.join(", ") };
        outln!("{:<8} {:<30} {:<46} {used}", v.version.version, v.version.last_modified, v.version.code_sha256)?;
    }
    Ok(Status::Ok)
}

/// What prune did (or would do) with one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PruneAction {
    /// Among the newest `--keep`.
    KeptNewest,
    /// A distribution uses it.
    KeptReferenced,
    Deleted,
    /// `--dry-run`: would be deleted.
    WouldDelete,
    /// Lambda@Edge still holds replicas; a later prune will get it.
    StillReplicated,
}

impl PruneAction {
    fn describe(self) -> &'static str {
        match self {
            PruneAction::KeptNewest => "kept (newest)",
            PruneAction::KeptReferenced => "kept (used by a distribution)",
            PruneAction::Deleted => "deleted",
            PruneAction::WouldDelete => "would delete (dry run)",
            PruneAction::StillReplicated => "still replicated, retry later",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Pruned {
    pub version: u64,
    pub function_arn: String,
    pub action: PruneAction,
    pub references: Vec<Reference>,
}

/// Deletes versions beyond the newest `keep` that no distribution references.
pub async fn prune_versions(c: &Clients, name: &str, keep: u32, dry_run: bool) -> anyhow::Result<Vec<Pruned>> {
    if keep == 0 {
        bail!("--keep 0 would allow deleting the version just published; keep at least 1");
    }
    let mut list = list_with_references(c, name).await?;
    list.sort_by_key(|v| std::cmp::Reverse(v.version.version));
    let mut results = Vec::new();
    for (i, v) in list.into_iter().enumerate() {
        let action = if i < keep as usize {
            PruneAction::KeptNewest
        } else if !v.references.is_empty() {
            PruneAction::KeptReferenced
        } else if dry_run {
            PruneAction::WouldDelete
        } else if function::delete_version(c, name, v.version.version).await? {
            PruneAction::Deleted
        } else {
            PruneAction::StillReplicated
        };
        results.push(Pruned {
            version: v.version.version,
            function_arn: v.version.function_arn,
            action,
            references: v.references,
        });
    }
    Ok(results)
}

#[derive(Debug, Serialize)]
struct PruneReport<'a> {
    function_name: &'a str,
    keep: u32,
    dry_run: bool,
    versions: &'a [Pruned],
}

pub async fn prune(c: &Clients, args: &PruneArgs, out: Output) -> anyhow::Result<Status> {
    let name = &args.function.function_name;
    let results = prune_versions(c, name, args.keep, args.dry_run).await?;
    if out == Output::Json {
        print_json(&PruneReport { function_name: name, keep: args.keep, dry_run: args.dry_run, versions: &results })?;
        return Ok(Status::Ok);
    }
    if results.is_empty() {
        outln!("{name}: no published versions")?;
    }
    for r in &results {
        let used: Vec<String> = r.references.iter().map(Reference::describe).collect();
        let used = if used.is_empty() { String::new() } else { format!(": {}", used.join(", ")) };
        outln!("version {:<6} {}{used}", r.version, r.action.describe())?;
    }
    Ok(Status::Ok)
}
