//! The three AWS clients the deploy commands use, how they are built, and how their errors
//! become [`AwsFailure`]s (exit 3).

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};

use crate::output::AwsFailure;

/// Lambda@Edge functions must live in us-east-1 (SPEC §1).
pub const EDGE_REGION: &str = "us-east-1";

/// Delays between polls and retries: doubling from `first`, capped at `max`. Held by
/// [`Clients`] so tests against moto or a replay client do not sleep for real seconds.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub first: Duration,
    pub max: Duration,
}

impl Pace {
    /// What real AWS needs: IAM propagation and function updates take seconds.
    pub const AWS: Pace = Pace { first: Duration::from_secs(1), max: Duration::from_secs(8) };

    /// Delay before attempt `attempt + 1` (attempt counts from 0).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }

    pub async fn sleep(&self, attempt: u32) {
        tokio::time::sleep(self.delay(attempt)).await;
    }
}

/// Lambda, CloudFront and IAM clients. Built from one [`SdkConfig`] so the credential chain,
/// `AWS_ENDPOINT_URL` and (in tests) the HTTP client are shared.
#[derive(Debug, Clone)]
pub struct Clients {
    pub lambda: aws_sdk_lambda::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    pub iam: aws_sdk_iam::Client,
    pub pace: Pace,
    /// What the clients were built from: `bootstrap` builds the per-region CloudWatch Logs
    /// clients of `logs` from it (same credentials, endpoint and HTTP client).
    pub sdk: SdkConfig,
}

impl Clients {
    /// The standard chain: environment, profile, SSO, web identity (CI's OIDC role), IMDS.
    pub async fn from_env() -> Self {
        // Every client is pinned to us-east-1 anyway; giving the region here also spares the
        // region chain its instance-metadata lookup (seconds of timeouts off EC2).
        let sdk = aws_config::defaults(BehaviorVersion::latest()).region(Region::from_static(EDGE_REGION)).load().await;
        Self::from_sdk_config(&sdk)
    }

    pub fn from_sdk_config(sdk: &SdkConfig) -> Self {
        // Lambda is pinned because an operator's profile region (say eu-west-1) would
        // otherwise create a function CloudFront cannot attach. CloudFront and IAM are global
        // services signed in us-east-1 in the aws partition; pinning them too means a profile
        // with no region at all still works.
        let region = Region::from_static(EDGE_REGION);
        let lambda = aws_sdk_lambda::config::Builder::from(sdk).region(region.clone()).build();
        let cloudfront = aws_sdk_cloudfront::config::Builder::from(sdk).region(region.clone()).build();
        let iam = aws_sdk_iam::config::Builder::from(sdk).region(region).build();
        Clients {
            lambda: aws_sdk_lambda::Client::from_conf(lambda),
            cloudfront: aws_sdk_cloudfront::Client::from_conf(cloudfront),
            iam: aws_sdk_iam::Client::from_conf(iam),
            pace: Pace::AWS,
            sdk: sdk.clone(),
        }
    }
}

/// Turns an SDK error into an [`AwsFailure`] naming the call (as an IAM action, so it maps
/// to the deployer policy), the resource and AWS's error code.
pub fn aws_failure<E, R>(call: &str, resource: &str, err: SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = err.code().map(str::to_owned);
    // Transport and credential problems carry no AWS message; the source chain is what
    // tells an operator that the endpoint was unreachable or no credentials were found.
    let message = match err.message() {
        Some(message) => message.to_owned(),
        None => source_chain(&err),
    };
    anyhow::Error::new(AwsFailure { call: call.to_owned(), resource: resource.to_owned(), code, message })
}

/// "a: b: c" from an error and its sources, skipping layers that only repeat their source.
fn source_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// An [`AwsFailure`] for a condition AWS reported in a response rather than as an error
/// (a function whose update failed, a poll that never settled).
pub fn aws_condition(call: &str, resource: &str, code: Option<String>, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(AwsFailure {
        call: call.to_owned(),
        resource: resource.to_owned(),
        code,
        message: message.into(),
    })
}

/// The error code of an SDK error, for deciding whether to retry or treat it as "absent".
pub fn code_of<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.code()
}

/// The AWS message of an SDK error, or "".
pub fn message_of<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> &str {
    err.message().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_doubles_and_caps() {
        let pace = Pace { first: Duration::from_millis(100), max: Duration::from_millis(700) };
        let delays: Vec<u128> = (0..6).map(|a| pace.delay(a).as_millis()).collect();
        assert_eq!(delays, vec![100, 200, 400, 700, 700, 700]);
        assert_eq!(pace.delay(u32::MAX), Duration::from_millis(700));
    }
}
