//! Lambda and IAM steps shared by bootstrap, publish, versions and prune.

use clap::Args;
use std::path::Path;

use anyhow::{Context as _, bail};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, FunctionCode, LastUpdateStatus, Runtime, State};
use serde::Serialize;

use super::clients::{Clients, aws_condition, aws_failure, code_of, message_of};
pub use crate::bundle::code_sha256;
use crate::bundle::{Bundle, MAX_BYTES};

/// Default Lambda function name (SPEC §7).
pub const DEFAULT_FUNCTION_NAME: &str = "packagecloud_cloudfront_auth";

#[derive(Debug, Args, Clone)]
pub struct FunctionArgs {
    /// Lambda function name.
    #[arg(long, default_value = DEFAULT_FUNCTION_NAME)]
    pub function_name: String,
}

/// The execution role's trust policy: Lambda runs the function, and Lambda@Edge replicates
/// and runs it at the edge (SPEC §1).
pub const TRUST_POLICY: &str = include_str!("../../policies/lambda-trust-policy.json");
/// CloudWatch Logs for the function; Lambda@Edge writes to the region that served the request.
pub const BASIC_EXECUTION_POLICY: &str = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

/// How long CreateFunction is retried while a fresh role has not propagated (about 75 s with
/// [`super::clients::Pace::AWS`]; AWS documents "a few seconds").
const ROLE_ATTEMPTS: u32 = 12;
/// Polls of the function's state after a create or update (about 7 minutes at 8 s).
const READY_POLLS: u32 = 60;

/// Reads the deployment package: `--bundle FILE` as given, else built from `--config`.
pub fn load_bundle(config: Option<&Path>, bundle: Option<&Path>) -> anyhow::Result<Bundle> {
    let bundle = match (bundle, config) {
        (Some(path), _) => {
            let zip = std::fs::read(path).with_context(|| format!("--bundle: cannot read {}", path.display()))?;
            if !zip.starts_with(b"PK\x03\x04") {
                bail!("--bundle: {} is not a zip archive", path.display());
            }
            let code_sha256 = code_sha256(&zip);
            Bundle { zip, code_sha256 }
        }
        (None, Some(path)) => {
            let loaded = crate::config::load(path)?;
            crate::bundle::build(&loaded.config)?
        }
        (None, None) => bail!("give --config FILE (to build the bundle) or --bundle FILE.zip"),
    };
    if bundle.zip.len() > MAX_BYTES {
        bail!(
            "the bundle is {} bytes; Lambda@Edge viewer-request functions are limited to {MAX_BYTES} bytes",
            bundle.zip.len()
        );
    }
    Ok(bundle)
}

/// The execution role, and whether this run created it.
#[derive(Debug, Clone)]
pub struct RoleOutcome {
    pub arn: String,
    pub created: bool,
}

/// Gets or creates the execution role. An existing role is used only if its trust policy
/// already allows both Lambda principals: rewriting an operator's trust policy behind their
/// back would be worse than stopping.
pub async fn ensure_role(c: &Clients, role_name: &str) -> anyhow::Result<RoleOutcome> {
    let outcome = match c.iam.get_role().role_name(role_name).send().await {
        Ok(out) => {
            let role = out.role.context("iam:GetRole returned no role")?;
            if let Some(doc) = role.assume_role_policy_document.as_deref() {
                let missing = missing_trust(doc);
                if !missing.is_empty() {
                    bail!(
                        "role {role_name} exists but its trust policy does not allow {}; add it (see \
                         deploy/policies/lambda-trust-policy.json) or choose another --role-name",
                        missing.join(" and ")
                    );
                }
            }
            RoleOutcome { arn: role.arn, created: false }
        }
        Err(err) if code_of(&err) == Some("NoSuchEntity") => {
            eprintln!("creating IAM role {role_name}");
            let out = c
                .iam
                .create_role()
                .role_name(role_name)
                .assume_role_policy_document(TRUST_POLICY)
                .description("edgegate Lambda@Edge execution role")
                .send()
                .await
                .map_err(|e| aws_failure("iam:CreateRole", role_name, e))?;
            let role = out.role.context("iam:CreateRole returned no role")?;
            RoleOutcome { arn: role.arn, created: true }
        }
        Err(err) => return Err(aws_failure("iam:GetRole", role_name, err)),
    };
    // Attaching is idempotent, and doing it on every run converges a role left without its
    // policy by an interrupted earlier bootstrap.
    c.iam
        .attach_role_policy()
        .role_name(role_name)
        .policy_arn(BASIC_EXECUTION_POLICY)
        .send()
        .await
        .map_err(|e| aws_failure("iam:AttachRolePolicy", role_name, e))?;
    Ok(outcome)
}

/// Which of the two required service principals a trust policy document lacks. IAM returns
/// the document percent-encoded.
pub fn missing_trust(document: &str) -> Vec<&'static str> {
    // A document that does not decode is no trust policy we can vouch for: it then names
    // no service, and both principals are reported missing.
    let decoded = edgegate_core::path::percent_decode(document)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| document.to_owned());
    let services =
        serde_json::from_str::<serde_json::Value>(&decoded).map(|v| allowed_services(&v)).unwrap_or_default();
    ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]
        .into_iter()
        .filter(|want| !services.iter().any(|s| s == want))
        .collect()
}

fn allowed_services(policy: &serde_json::Value) -> Vec<String> {
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(items) => items.clone(),
        single @ serde_json::Value::Object(_) => vec![single.clone()],
        _ => Vec::new(),
    };
    let mut services = Vec::new();
    for statement in statements.iter().filter(|s| s["Effect"] == "Allow") {
        match &statement["Principal"]["Service"] {
            serde_json::Value::String(s) => services.push(s.clone()),
            serde_json::Value::Array(items) => {
                services.extend(items.iter().filter_map(|s| s.as_str().map(str::to_owned)))
            }
            _ => {}
        }
    }
    services
}

/// What we need to know about `$LATEST` (or one version) of the function.
#[derive(Debug, Clone)]
pub struct FunctionState {
    pub code_sha256: String,
    pub state: Option<State>,
    pub state_reason: Option<String>,
    pub state_reason_code: Option<String>,
    pub last_update_status: Option<LastUpdateStatus>,
    pub last_update_status_reason: Option<String>,
    pub last_update_status_reason_code: Option<String>,
}

/// GetFunctionConfiguration; `None` when the function (or that version) does not exist.
pub async fn get_function(c: &Clients, name: &str, qualifier: Option<&str>) -> anyhow::Result<Option<FunctionState>> {
    let resource = match qualifier {
        Some(q) => format!("{name}:{q}"),
        None => name.to_owned(),
    };
    match c
        .lambda
        .get_function_configuration()
        .function_name(name)
        .set_qualifier(qualifier.map(str::to_owned))
        .send()
        .await
    {
        Ok(out) => Ok(Some(FunctionState {
            code_sha256: out.code_sha256.unwrap_or_default(),
            state: out.state,
            state_reason: out.state_reason,
            state_reason_code: out.state_reason_code.map(|c| c.as_str().to_owned()),
            last_update_status: out.last_update_status,
            last_update_status_reason: out.last_update_status_reason,
            last_update_status_reason_code: out.last_update_status_reason_code.map(|c| c.as_str().to_owned()),
        })),
        Err(err) if code_of(&err) == Some("ResourceNotFoundException") => Ok(None),
        Err(err) => Err(aws_failure("lambda:GetFunctionConfiguration", &resource, err)),
    }
}

/// Creates the function (not published: the first version is published separately, guarded
/// by CodeSha256, once the function is Active). Returns `false` if it already existed, which
/// happens when an earlier attempt's response was lost.
pub async fn create_function(c: &Clients, name: &str, role_arn: &str, bundle: &Bundle) -> anyhow::Result<bool> {
    let mut attempt = 0;
    loop {
        let result = c
            .lambda
            .create_function()
            .function_name(name)
            .runtime(Runtime::Nodejs22x)
            .architectures(Architecture::X8664)
            .handler("index.handler")
            .memory_size(128)
            .timeout(5)
            .role(role_arn)
            .description("edgegate: signed-URL gate (viewer-request)")
            .code(FunctionCode::builder().zip_file(Blob::new(bundle.zip.clone())).build())
            .publish(false)
            .send()
            .await;
        match result {
            Ok(_) => return Ok(true),
            Err(err) if code_of(&err) == Some("ResourceConflictException") => return Ok(false),
            Err(err) if role_not_yet_assumable(code_of(&err), message_of(&err)) && attempt + 1 < ROLE_ATTEMPTS => {
                eprintln!("waiting for IAM role {role_arn} to become assumable by Lambda (attempt {})", attempt + 1);
                c.pace.sleep(attempt).await;
                attempt += 1;
            }
            Err(err) => return Err(aws_failure("lambda:CreateFunction", name, err)),
        }
    }
}

/// IAM is eventually consistent: a role created seconds ago is refused with this error.
pub fn role_not_yet_assumable(code: Option<&str>, message: &str) -> bool {
    code == Some("InvalidParameterValueException") && message.contains("cannot be assumed")
}

/// Polls until the function is Active and no update is in progress. `call` names what we
/// waited on, so a failure reads as the failure of that call, with AWS's reason.
pub async fn wait_ready(c: &Clients, name: &str, call: &str) -> anyhow::Result<FunctionState> {
    for attempt in 0..READY_POLLS {
        let Some(f) = get_function(c, name, None).await? else {
            return Err(aws_condition(
                call,
                name,
                Some("ResourceNotFoundException".into()),
                "the function disappeared",
            ));
        };
        if f.state == Some(State::Failed) {
            let reason = f.state_reason.clone().unwrap_or_default();
            return Err(aws_condition(
                call,
                name,
                f.state_reason_code.clone(),
                format!("function state Failed: {reason}"),
            ));
        }
        if f.last_update_status == Some(LastUpdateStatus::Failed) {
            let reason = f.last_update_status_reason.clone().unwrap_or_default();
            return Err(aws_condition(
                call,
                name,
                f.last_update_status_reason_code.clone(),
                format!("LastUpdateStatus Failed: {reason}"),
            ));
        }
        let pending = f.state == Some(State::Pending) || f.last_update_status == Some(LastUpdateStatus::InProgress);
        if !pending {
            return Ok(f);
        }
        c.pace.sleep(attempt).await;
    }
    Err(aws_condition(
        call,
        name,
        None,
        format!("the function was still not ready after {READY_POLLS} polls; try again later"),
    ))
}

/// Uploads new code to `$LATEST` (not published).
pub async fn update_code(c: &Clients, name: &str, bundle: &Bundle) -> anyhow::Result<()> {
    c.lambda
        .update_function_code()
        .function_name(name)
        .zip_file(Blob::new(bundle.zip.clone()))
        .publish(false)
        .send()
        .await
        .map_err(|e| aws_failure("lambda:UpdateFunctionCode", name, e))?;
    Ok(())
}

/// A published version.
#[derive(Debug, Clone, Serialize)]
pub struct Version {
    pub version: u64,
    pub function_arn: String,
    pub code_sha256: String,
    pub last_modified: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// PublishVersion guarded by CodeSha256, so a concurrent upload cannot be published under
/// our name.
pub async fn publish_version(c: &Clients, name: &str, code_sha256: &str) -> anyhow::Result<Version> {
    let out = c
        .lambda
        .publish_version()
        .function_name(name)
        .code_sha256(code_sha256)
        .send()
        .await
        .map_err(|e| aws_failure("lambda:PublishVersion", name, e))?;
    let raw = out.version.unwrap_or_default();
    let version = raw.parse().map_err(|_| {
        aws_condition("lambda:PublishVersion", name, None, format!("AWS returned version {raw:?}, not a number"))
    })?;
    Ok(Version {
        version,
        function_arn: out.function_arn.unwrap_or_default(),
        code_sha256: out.code_sha256.unwrap_or_default(),
        last_modified: out.last_modified.unwrap_or_default(),
        description: out.description.filter(|d| !d.is_empty()),
    })
}

/// Every published version (not `$LATEST`), oldest first.
pub async fn list_versions(c: &Clients, name: &str) -> anyhow::Result<Vec<Version>> {
    let mut pages = c.lambda.list_versions_by_function().function_name(name).into_paginator().send();
    let mut versions = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_failure("lambda:ListVersionsByFunction", name, e))?;
        for v in page.versions.unwrap_or_default() {
            // `$LATEST` is the unpublished draft, not a version CloudFront can use.
            let Some(number) = v.version.as_deref().and_then(|s| s.parse::<u64>().ok()) else {
                continue;
            };
            versions.push(Version {
                version: number,
                function_arn: v.function_arn.unwrap_or_default(),
                code_sha256: v.code_sha256.unwrap_or_default(),
                last_modified: v.last_modified.unwrap_or_default(),
                description: v.description.filter(|d| !d.is_empty()),
            });
        }
    }
    versions.sort_by_key(|v| v.version);
    Ok(versions)
}

/// Deletes one version. `Ok(false)`: Lambda@Edge still holds replicas of it (or a
/// distribution we could not see uses it), so it must be retried later, not reported as a
/// failure (SPEC §1).
pub async fn delete_version(c: &Clients, name: &str, version: u64) -> anyhow::Result<bool> {
    let qualifier = version.to_string();
    match c.lambda.delete_function().function_name(name).qualifier(&qualifier).send().await {
        Ok(_) => Ok(true),
        Err(err) if is_replicated_refusal(code_of(&err), message_of(&err)) => Ok(false),
        Err(err) => Err(aws_failure("lambda:DeleteFunction", &format!("{name}:{qualifier}"), err)),
    }
}

pub fn is_replicated_refusal(code: Option<&str>, message: &str) -> bool {
    matches!(code, Some("InvalidParameterValueException" | "ResourceConflictException"))
        && message.to_ascii_lowercase().contains("replicated function")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_policy_file_allows_both_principals() {
        assert!(missing_trust(TRUST_POLICY).is_empty());
    }

    #[test]
    fn trust_check_reads_percent_encoded_documents() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C\
                       %22Principal%22%3A%7B%22Service%22%3A%22lambda.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
        assert_eq!(missing_trust(encoded), vec!["edgelambda.amazonaws.com"]);
        assert_eq!(missing_trust("not json"), vec!["lambda.amazonaws.com", "edgelambda.amazonaws.com"]);
    }

    #[test]
    fn code_sha256_is_base64_of_sha256() {
        assert_eq!(code_sha256(b""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }

    #[test]
    fn replicated_refusal_is_recognised() {
        let msg =
            "Lambda was unable to delete arn:aws:lambda:us-east-1:1:function:f:1 because it is a replicated function.";
        assert!(is_replicated_refusal(Some("InvalidParameterValueException"), msg));
        assert!(is_replicated_refusal(Some("ResourceConflictException"), msg));
        assert!(!is_replicated_refusal(Some("AccessDeniedException"), msg));
        assert!(!is_replicated_refusal(Some("InvalidParameterValueException"), "something else"));
    }

    #[test]
    fn role_propagation_error_is_recognised() {
        let msg = "The role defined for the function cannot be assumed by Lambda.";
        assert!(role_not_yet_assumable(Some("InvalidParameterValueException"), msg));
        assert!(!role_not_yet_assumable(Some("InvalidParameterValueException"), "Runtime is invalid"));
    }
}
