//! The one ARN shape CloudFront accepts for Lambda@Edge:
//! `arn:aws:lambda:us-east-1:<12 digits>:function:<name>:<version number>`.

use std::fmt;

/// A numbered function version ARN, checked field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionArn {
    pub account: String,
    pub function: String,
    pub version: u64,
}

impl VersionArn {
    pub fn unqualified(&self) -> String {
        format!("arn:aws:lambda:us-east-1:{}:function:{}", self.account, self.function)
    }
}

impl fmt::Display for VersionArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.unqualified(), self.version)
    }
}

const SHAPE: &str = "arn:aws:lambda:us-east-1:ACCOUNT:function:NAME:VERSION";

/// Parses and checks a version ARN; the error says which part is wrong and why CloudFront
/// would not take it.
pub fn parse_version_arn(text: &str) -> Result<VersionArn, String> {
    let arn = text.trim();
    if arn.is_empty() {
        return Err(format!("the function ARN is empty; expected {SHAPE}"));
    }
    let parts: Vec<&str> = arn.split(':').collect();
    if parts[0] != "arn" {
        return Err(format!("{arn:?} is not an ARN; expected {SHAPE}"));
    }
    if parts.len() < 7 {
        return Err(format!("{arn:?} is not a Lambda function ARN; expected {SHAPE}"));
    }
    let (partition, service, region, account, kind, name) =
        (parts[1], parts[2], parts[3], parts[4], parts[5], parts[6]);
    if partition != "aws" {
        return Err(format!("{arn:?}: partition {partition:?} has no Lambda@Edge; expected arn:aws:..."));
    }
    if service != "lambda" {
        return Err(format!("{arn:?}: service {service:?} is not lambda; expected {SHAPE}"));
    }
    if region != "us-east-1" {
        return Err(format!("{arn:?}: region {region:?}: Lambda@Edge functions must be in us-east-1"));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{arn:?}: account {account:?} is not a 12-digit AWS account id"));
    }
    if kind != "function" {
        return Err(format!("{arn:?}: resource type {kind:?} is not function; expected {SHAPE}"));
    }
    let name_ok =
        (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !name_ok {
        return Err(format!("{arn:?}: function name {name:?} is not a valid Lambda function name"));
    }
    let Some(&qualifier) = parts.get(7) else {
        return Err(format!(
            "{arn:?} has no version: CloudFront needs a numbered version such as {arn}:1 (see `edgegate versions`)"
        ));
    };
    if parts.len() > 8 {
        return Err(format!("{arn:?} has too many ':' fields; expected {SHAPE}"));
    }
    if qualifier == "$LATEST" {
        return Err(format!(
            "{arn:?}: $LATEST cannot be associated; CloudFront needs a numbered version (see `edgegate publish`)"
        ));
    }
    if qualifier.is_empty() {
        return Err(format!("{arn:?} ends in ':' with no version; CloudFront needs a numbered version"));
    }
    if !qualifier.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{arn:?}: {qualifier:?} is an alias; CloudFront needs a numbered version, not an alias"));
    }
    let version = match qualifier.parse::<u64>() {
        Ok(v) if v > 0 && !qualifier.starts_with('0') => v,
        _ => {
            return Err(format!("{arn:?}: {qualifier:?} is not a Lambda version number (1, 2, 3, ...)"));
        }
    };
    Ok(VersionArn { account: account.to_owned(), function: name.to_owned(), version })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "arn:aws:lambda:us-east-1:123456789012:function:packagecloud_cloudfront_auth:7";

    #[test]
    fn accepts_a_numbered_version() {
        let arn = parse_version_arn(GOOD).expect("valid");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.function, "packagecloud_cloudfront_auth");
        assert_eq!(arn.version, 7);
        assert_eq!(arn.to_string(), GOOD);
        assert_eq!(parse_version_arn(&format!("  {GOOD}\n")).expect("trimmed"), arn);
    }

    /// Every refusal, with the words the operator needs to see.
    #[test]
    fn refusals_name_the_problem() {
        let cases: &[(&str, &str)] = &[
            ("", "is empty"),
            ("packagecloud_cloudfront_auth:7", "is not an ARN"),
            ("arn:aws:lambda:us-east-1:123456789012", "is not a Lambda function ARN"),
            ("arn:aws:lambda:us-east-1:123456789012:function:packagecloud_cloudfront_auth", "has no version"),
            ("arn:aws:lambda:us-east-1:123456789012:function:packagecloud_cloudfront_auth:", "with no version"),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:packagecloud_cloudfront_auth:$LATEST",
                "$LATEST cannot be associated",
            ),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:packagecloud_cloudfront_auth:live",
                "\"live\" is an alias",
            ),
            ("arn:aws:lambda:us-east-1:123456789012:function:packagecloud_cloudfront_auth:prod-2", "is an alias"),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:packagecloud_cloudfront_auth:0",
                "not a Lambda version number",
            ),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:packagecloud_cloudfront_auth:007",
                "not a Lambda version number",
            ),
            ("arn:aws:lambda:eu-west-1:123456789012:function:packagecloud_cloudfront_auth:7", "must be in us-east-1"),
            ("arn:aws-cn:lambda:us-east-1:123456789012:function:packagecloud_cloudfront_auth:7", "has no Lambda@Edge"),
            ("arn:aws:s3:us-east-1:123456789012:function:packagecloud_cloudfront_auth:7", "is not lambda"),
            ("arn:aws:lambda:us-east-1:12345:function:packagecloud_cloudfront_auth:7", "not a 12-digit AWS account id"),
            ("arn:aws:lambda:us-east-1:123456789012:layer:packagecloud_cloudfront_auth:7", "is not function"),
            ("arn:aws:lambda:us-east-1:123456789012:function:bad/name:7", "not a valid Lambda function name"),
            ("arn:aws:lambda:us-east-1:123456789012:function:packagecloud_cloudfront_auth:7:8", "too many"),
        ];
        for (arn, expected) in cases {
            let error = parse_version_arn(arn).expect_err(arn);
            assert!(error.contains(expected), "{arn:?}: {error:?} should contain {expected:?}");
        }
    }
}
