//! `edgegate reconfigure-distribution` (SPEC §7): put a numbered function version on the
//! viewer-request event of a distribution's cache behaviours, touching nothing else.

use clap::Args;
use std::io::Read as _;

use anyhow::{Context as _, anyhow, bail};
use aws_sdk_cloudfront::types::{
    DistributionConfig, EventType, FunctionAssociations, LambdaFunctionAssociation, LambdaFunctionAssociations,
};
use serde::Serialize;

use super::arn::{VersionArn, parse_version_arn};
use super::clients::{Clients, aws_condition, aws_failure, code_of};
use super::function;
use crate::output::{Output, Status, outln, print_json};

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
    /// Also attach the same version to origin-response, which sets each answer's
    /// `Cache-Control` from its cache class (SPEC §9): packages cached, metadata never.
    #[arg(long)]
    pub cache_headers: bool,
    /// Show each behaviour's associations before and after; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// GetDistributionConfig + UpdateDistribution rounds before giving up on a distribution that
/// keeps changing under us.
pub const CONFLICT_ATTEMPTS: u32 = 5;

/// One Lambda@Edge association, as reported before/after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Association {
    pub event_type: String,
    pub lambda_function_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_body: Option<bool>,
}

impl From<&LambdaFunctionAssociation> for Association {
    fn from(a: &LambdaFunctionAssociation) -> Self {
        Association {
            event_type: a.event_type.as_str().to_owned(),
            lambda_function_arn: a.lambda_function_arn.clone(),
            include_body: a.include_body,
        }
    }
}

/// One targeted cache behaviour's associations before and after.
#[derive(Debug, Clone, Serialize)]
pub struct BehaviourPlan {
    /// `None` for the default cache behaviour.
    pub path_pattern: Option<String>,
    pub before: Vec<Association>,
    pub after: Vec<Association>,
    pub changed: bool,
}

impl BehaviourPlan {
    fn label(&self) -> String {
        match &self.path_pattern {
            None => "default cache behaviour".to_owned(),
            Some(p) => format!("cache behaviour {p}"),
        }
    }
}

/// Which cache behaviours get the association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// The default behaviour, and the behaviours with exactly these path patterns.
    Default { path_patterns: Vec<String> },
    /// The default behaviour and every other one.
    All,
}

/// Sets the viewer-request association on the targeted behaviours of `config`, in place, and
/// reports each one. Behaviours that need no change, and everything outside the
/// associations, are left exactly as they came.
pub fn plan(
    config: &mut DistributionConfig,
    arn: &str,
    targets: &Targets,
    events: &[EventType],
) -> anyhow::Result<Vec<BehaviourPlan>> {
    let mut plans = Vec::new();
    let default = config.default_cache_behavior.as_mut().context("the distribution has no default cache behaviour")?;
    plans.push(associate(
        &mut default.lambda_function_associations,
        default.function_associations.as_ref(),
        None,
        arn,
        events,
    )?);

    let behaviours = config.cache_behaviors.as_mut().and_then(|b| b.items.as_mut());
    let behaviours: Vec<_> = behaviours.map(|b| b.iter_mut().collect()).unwrap_or_default();
    // Distribution order, each behaviour once, whichever way it was named.
    let selected: Vec<_> = match targets {
        Targets::All => behaviours,
        Targets::Default { path_patterns } => {
            if let Some(pattern) = path_patterns.iter().find(|p| !behaviours.iter().any(|b| &b.path_pattern == *p)) {
                let known: Vec<&str> = behaviours.iter().map(|b| b.path_pattern.as_str()).collect();
                let known = if known.is_empty() { "none besides the default".to_owned() } else { known.join(", ") };
                bail!(
                    "--path-pattern {pattern:?} matches no cache behaviour of this distribution (its path patterns: {known})"
                );
            }
            behaviours.into_iter().filter(|b| path_patterns.contains(&b.path_pattern)).collect()
        }
    };
    for b in selected {
        let pattern = Some(b.path_pattern.clone());
        plans.push(associate(
            &mut b.lambda_function_associations,
            b.function_associations.as_ref(),
            pattern,
            arn,
            events,
        )?);
    }
    Ok(plans)
}

fn associate(
    lambdas: &mut Option<LambdaFunctionAssociations>,
    functions: Option<&FunctionAssociations>,
    path_pattern: Option<String>,
    arn: &str,
    events: &[EventType],
) -> anyhow::Result<BehaviourPlan> {
    let items: Vec<LambdaFunctionAssociation> = lambdas.as_ref().and_then(|l| l.items.clone()).unwrap_or_default();
    let before: Vec<Association> = items.iter().map(Association::from).collect();
    let mut new_items = items.clone();
    let mut changed = false;
    for event in events {
        let wanted = LambdaFunctionAssociation::builder()
            .lambda_function_arn(arn)
            .event_type(event.clone())
            .include_body(false)
            .build()?;
        // CloudFront allows one association per event type, so there is at most one to
        // replace; replacing in place keeps the operator's ordering.
        match new_items.iter().position(|a| &a.event_type == event) {
            Some(i) if is_wanted(&new_items[i], arn) => {}
            // Viewer-request is ours by definition (the gate); origin-response may hold an
            // operator's own function (security headers, say), which we never replace.
            Some(i) if *event != EventType::ViewerRequest && !same_function(&new_items[i].lambda_function_arn, arn) => {
                let label = path_pattern
                    .as_ref()
                    .map_or("the default cache behaviour".to_owned(), |p| format!("cache behaviour {p}"));
                bail!(
                    "{label} already has {} on {}; CloudFront allows one function per event, so edgegate will not \
                     replace it: remove it, or run without --cache-headers and reindex the bucket instead \
                     (`edgegate reindex`, SPEC §9)",
                    new_items[i].lambda_function_arn,
                    event.as_str()
                );
            }
            Some(i) => {
                new_items[i] = wanted;
                changed = true;
            }
            None => {
                new_items.push(wanted);
                changed = true;
            }
        }
    }
    let plan_label = path_pattern.clone();
    if changed {
        // A CloudFront Function and a Lambda@Edge function cannot share viewer-request;
        // CloudFront would reject the whole update with a less specific message.
        // (Origin-response has no CloudFront Function counterpart.)
        if let Some(f) = functions
            .and_then(|f| f.items.as_ref())
            .and_then(|items| items.iter().find(|f| f.event_type == EventType::ViewerRequest))
            && events.contains(&EventType::ViewerRequest)
        {
            let label = plan_label.map_or("the default cache behaviour".to_owned(), |p| format!("cache behaviour {p}"));
            bail!(
                "{label} has CloudFront Function {} on viewer-request; a behaviour can have only one viewer-request \
                 function, so remove that association first",
                f.function_arn
            );
        }
        let quantity = i32::try_from(new_items.len())?;
        *lambdas =
            Some(LambdaFunctionAssociations::builder().quantity(quantity).set_items(Some(new_items.clone())).build()?);
    }
    let after = new_items.iter().map(Association::from).collect();
    Ok(BehaviourPlan { path_pattern, before, after, changed })
}

/// True when two Lambda ARNs name the same function, whatever their version qualifiers.
fn same_function(a: &str, b: &str) -> bool {
    fn unqualified(arn: &str) -> &str {
        match arn.rsplit_once(':') {
            Some((base, version)) if !version.is_empty() && version.bytes().all(|c| c.is_ascii_digit()) => base,
            _ => arn,
        }
    }
    unqualified(a) == unqualified(b)
}

fn is_wanted(a: &LambdaFunctionAssociation, arn: &str) -> bool {
    a.lambda_function_arn == arn && !a.include_body.unwrap_or(false)
}

/// What `reconfigure-distribution` reports (`--output json`).
#[derive(Debug, Clone, Serialize)]
pub struct Reconfigured {
    pub distribution_id: String,
    pub function_arn: String,
    pub dry_run: bool,
    /// Whether any targeted behaviour needed a change.
    pub changed: bool,
    /// Whether UpdateDistribution was called and succeeded.
    pub updated: bool,
    /// GetDistributionConfig rounds used (more than 1 after PreconditionFailed).
    pub attempts: u32,
    /// The distribution's status after the update (CloudFront deploys for a few minutes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub behaviors: Vec<BehaviourPlan>,
}

/// Attaches `arn` to the distribution's viewer-request event; with `dry_run`, only reports.
#[cfg(test)]
pub async fn reconfigure_distribution(
    c: &Clients,
    arn: &VersionArn,
    distribution_id: &str,
    targets: &Targets,
    dry_run: bool,
) -> anyhow::Result<Reconfigured> {
    reconfigure_events(c, arn, distribution_id, targets, &[EventType::ViewerRequest], dry_run).await
}

/// Attaches `arn` to each of `events` on the targeted behaviours; with `dry_run`, only
/// reports.
pub async fn reconfigure_events(
    c: &Clients,
    arn: &VersionArn,
    distribution_id: &str,
    targets: &Targets,
    events: &[EventType],
    dry_run: bool,
) -> anyhow::Result<Reconfigured> {
    let qualifier = arn.version.to_string();
    if function::get_function(c, &arn.unqualified(), Some(&qualifier)).await?.is_none() {
        bail!(
            "{arn}: version {} of function {} does not exist (lambda:GetFunctionConfiguration: \
             ResourceNotFoundException); `edgegate versions` lists the published ones",
            arn.version,
            arn.function
        );
    }
    let arn_text = arn.to_string();
    for attempt in 1..=CONFLICT_ATTEMPTS {
        let got = c
            .cloudfront
            .get_distribution_config()
            .id(distribution_id)
            .send()
            .await
            .map_err(|e| aws_failure("cloudfront:GetDistributionConfig", distribution_id, e))?;
        let etag = got.e_tag.ok_or_else(|| {
            aws_condition("cloudfront:GetDistributionConfig", distribution_id, None, "the response carried no ETag")
        })?;
        let mut config = got.distribution_config.ok_or_else(|| {
            aws_condition(
                "cloudfront:GetDistributionConfig",
                distribution_id,
                None,
                "the response carried no DistributionConfig",
            )
        })?;
        let behaviors = plan(&mut config, &arn_text, targets, events)?;
        let changed = behaviors.iter().any(|b| b.changed);
        let report = |updated: bool, status: Option<String>, behaviors: Vec<BehaviourPlan>| Reconfigured {
            distribution_id: distribution_id.to_owned(),
            function_arn: arn_text.clone(),
            dry_run,
            changed,
            updated,
            attempts: attempt,
            status,
            behaviors,
        };
        if dry_run || !changed {
            return Ok(report(false, None, behaviors));
        }
        let result = c
            .cloudfront
            .update_distribution()
            .id(distribution_id)
            .if_match(&etag)
            .distribution_config(config)
            .send()
            .await;
        match result {
            Ok(out) => return Ok(report(true, out.distribution.map(|d| d.status), behaviors)),
            Err(err) if code_of(&err) == Some("PreconditionFailed") && attempt < CONFLICT_ATTEMPTS => {
                eprintln!(
                    "distribution {distribution_id} changed since it was read (ETag {etag} is stale); reading it again \
                     ({attempt}/{CONFLICT_ATTEMPTS})"
                );
                c.pace.sleep(attempt - 1).await;
            }
            Err(err) => {
                return Err(aws_failure("cloudfront:UpdateDistribution", distribution_id, err));
            }
        }
    }
    unreachable!("the last attempt returns")
}

/// Reads the ARN argument; `-` takes it from standard input so `publish --quiet` can pipe in.
fn arn_argument(arg: &str) -> anyhow::Result<String> {
    if arg != "-" {
        return Ok(arg.to_owned());
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("reading the function ARN from standard input")?;
    let arn = text.lines().map(str::trim).find(|l| !l.is_empty());
    arn.map(str::to_owned)
        .ok_or_else(|| anyhow!("no function ARN on standard input (did `edgegate publish --quiet` fail?)"))
}

pub fn check_distribution_id(id: &str) -> anyhow::Result<()> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        bail!("--distribution-id {id:?} is not a CloudFront distribution id (like E2QWRUHEXAMPLE)");
    }
    Ok(())
}

pub async fn reconfigure(c: &Clients, args: &ReconfigureArgs, out: Output) -> anyhow::Result<Status> {
    let arn = parse_version_arn(&arn_argument(&args.arn)?).map_err(|m| anyhow!(m))?;
    check_distribution_id(&args.distribution_id)?;
    let targets =
        if args.all_behaviors { Targets::All } else { Targets::Default { path_patterns: args.path_patterns.clone() } };
    let mut events = vec![EventType::ViewerRequest];
    if args.cache_headers {
        events.push(EventType::OriginResponse);
    }
    let done = reconfigure_events(c, &arn, &args.distribution_id, &targets, &events, args.dry_run).await?;
    if out == Output::Json {
        print_json(&done)?;
        return Ok(Status::Ok);
    }
    for b in &done.behaviors {
        let state = if b.changed { "change" } else { "unchanged" };
        outln!("{}: {state}", b.label())?;
        print_associations("before", &b.before)?;
        if b.changed {
            print_associations("after", &b.after)?;
        }
    }
    if done.dry_run {
        outln!("dry run: nothing written to distribution {}", done.distribution_id)?;
    } else if !done.changed {
        outln!(
            "distribution {} already uses {} on every requested event; nothing to do",
            done.distribution_id,
            done.function_arn
        )?;
    } else {
        let status = done.status.as_deref().unwrap_or("unknown");
        outln!(
            "updated distribution {} (status {status}); CloudFront takes a few minutes to deploy it to every edge",
            done.distribution_id
        )?;
    }
    if !done.dry_run {
        // The association is one of several settings that decide whether the gate holds.
        outln!("Next: check the distribution around the gate:")?;
        outln!("  edgegate doctor --distribution-id {}", done.distribution_id)?;
    }
    Ok(Status::Ok)
}

fn print_associations(when: &str, list: &[Association]) -> anyhow::Result<()> {
    if list.is_empty() {
        outln!("  {when:<6}  (no Lambda@Edge associations)")?;
    }
    for (i, a) in list.iter().enumerate() {
        let label = if i == 0 { when } else { "" };
        outln!("  {label:<6}  {:<16} {}", a.event_type, a.lambda_function_arn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_ids_are_checked() {
        assert!(check_distribution_id("E2QWRUHEXAMPLE").is_ok());
        for bad in ["", "E2Q/../x", "E2Q WR"] {
            let e = check_distribution_id(bad).expect_err(bad).to_string();
            assert!(e.contains("is not a CloudFront distribution id"), "{e}");
        }
    }
}
