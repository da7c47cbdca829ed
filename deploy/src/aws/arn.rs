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

/// Why a text is not a version ARN CloudFront would take. Each variant keeps the ARN as
/// given and the part that is wrong; `Display` says why CloudFront would refuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArnError {
    /// Nothing but whitespace.
    Empty,
    /// Does not start with `arn:`.
    NotAnArn(String),
    /// Fewer than the seven fields of a function ARN.
    NotAFunctionArn(String),
    /// A partition other than `aws` (Lambda@Edge exists only there).
    Partition { arn: String, partition: String },
    /// A service other than `lambda`.
    Service { arn: String, service: String },
    /// A region other than `us-east-1`.
    Region { arn: String, region: String },
    /// Not a 12-digit account id.
    Account { arn: String, account: String },
    /// A resource type other than `function`.
    ResourceType { arn: String, kind: String },
    /// Not a valid Lambda function name.
    FunctionName { arn: String, name: String },
    /// No qualifier at all.
    NoVersion(String),
    /// More than eight fields.
    TooManyFields(String),
    /// `$LATEST`, which CloudFront refuses.
    Latest(String),
    /// A trailing `:` with nothing after it.
    EmptyVersion(String),
    /// An alias, which CloudFront refuses.
    Alias { arn: String, qualifier: String },
    /// Digits that are no version number (0, leading zeros, overflow).
    BadVersion { arn: String, qualifier: String },
}

impl fmt::Display for ArnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArnError::Empty => write!(f, "the function ARN is empty; expected {SHAPE}"),
            ArnError::NotAnArn(arn) => write!(f, "{arn:?} is not an ARN; expected {SHAPE}"),
            ArnError::NotAFunctionArn(arn) => write!(f, "{arn:?} is not a Lambda function ARN; expected {SHAPE}"),
            ArnError::Partition { arn, partition } => {
                write!(f, "{arn:?}: partition {partition:?} has no Lambda@Edge; expected arn:aws:...")
            }
            ArnError::Service { arn, service } => {
                write!(f, "{arn:?}: service {service:?} is not lambda; expected {SHAPE}")
            }
            ArnError::Region { arn, region } => {
                write!(f, "{arn:?}: region {region:?}: Lambda@Edge functions must be in us-east-1")
            }
            ArnError::Account { arn, account } => {
                write!(f, "{arn:?}: account {account:?} is not a 12-digit AWS account id")
            }
            ArnError::ResourceType { arn, kind } => {
                write!(f, "{arn:?}: resource type {kind:?} is not function; expected {SHAPE}")
            }
            ArnError::FunctionName { arn, name } => {
                write!(f, "{arn:?}: function name {name:?} is not a valid Lambda function name")
            }
            ArnError::NoVersion(arn) => write!(
                f,
                "{arn:?} has no version: CloudFront needs a numbered version such as {arn}:1 (see `edgegate versions`)"
            ),
            ArnError::TooManyFields(arn) => write!(f, "{arn:?} has too many ':' fields; expected {SHAPE}"),
            ArnError::Latest(arn) => write!(
                f,
                "{arn:?}: $LATEST cannot be associated; CloudFront needs a numbered version (see `edgegate publish`)"
            ),
            ArnError::EmptyVersion(arn) => {
                write!(f, "{arn:?} ends in ':' with no version; CloudFront needs a numbered version")
            }
            ArnError::Alias { arn, qualifier } => {
                write!(f, "{arn:?}: {qualifier:?} is an alias; CloudFront needs a numbered version, not an alias")
            }
            ArnError::BadVersion { arn, qualifier } => {
                write!(f, "{arn:?}: {qualifier:?} is not a Lambda version number (1, 2, 3, ...)")
            }
        }
    }
}

impl std::error::Error for ArnError {}

/// Parses and checks a version ARN; the error says which part is wrong and why CloudFront
/// would not take it.
pub fn parse_version_arn(text: &str) -> Result<VersionArn, ArnError> {
    let arn = text.trim();
    if arn.is_empty() {
        return Err(ArnError::Empty);
    }
    let owned = || arn.to_owned();
    let parts: Vec<&str> = arn.split(':').collect();
    if parts[0] != "arn" {
        return Err(ArnError::NotAnArn(owned()));
    }
    if parts.len() < 7 {
        return Err(ArnError::NotAFunctionArn(owned()));
    }
    let (partition, service, region, account, kind, name) =
        (parts[1], parts[2], parts[3], parts[4], parts[5], parts[6]);
    if partition != "aws" {
        return Err(ArnError::Partition { arn: owned(), partition: partition.to_owned() });
    }
    if service != "lambda" {
        return Err(ArnError::Service { arn: owned(), service: service.to_owned() });
    }
    if region != "us-east-1" {
        return Err(ArnError::Region { arn: owned(), region: region.to_owned() });
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ArnError::Account { arn: owned(), account: account.to_owned() });
    }
    if kind != "function" {
        return Err(ArnError::ResourceType { arn: owned(), kind: kind.to_owned() });
    }
    let name_ok =
        (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !name_ok {
        return Err(ArnError::FunctionName { arn: owned(), name: name.to_owned() });
    }
    let Some(&qualifier) = parts.get(7) else {
        return Err(ArnError::NoVersion(owned()));
    };
    if parts.len() > 8 {
        return Err(ArnError::TooManyFields(owned()));
    }
    if qualifier == "$LATEST" {
        return Err(ArnError::Latest(owned()));
    }
    if qualifier.is_empty() {
        return Err(ArnError::EmptyVersion(owned()));
    }
    if !qualifier.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ArnError::Alias { arn: owned(), qualifier: qualifier.to_owned() });
    }
    let version = match qualifier.parse::<u64>() {
        Ok(v) if v > 0 && !qualifier.starts_with('0') => v,
        _ => return Err(ArnError::BadVersion { arn: owned(), qualifier: qualifier.to_owned() }),
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
            let error = parse_version_arn(arn).expect_err(arn).to_string();
            assert!(error.contains(expected), "{arn:?}: {error:?} should contain {expected:?}");
        }
        // The variant names the part, so callers can tell the cases apart without the text.
        assert_eq!(
            parse_version_arn("arn:aws:lambda:us-east-1:123456789012:function:f:live"),
            Err(ArnError::Alias {
                arn: "arn:aws:lambda:us-east-1:123456789012:function:f:live".into(),
                qualifier: "live".into()
            })
        );
    }
}
