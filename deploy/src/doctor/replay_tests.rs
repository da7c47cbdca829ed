//! Every row of SPEC §10 against replayed AWS answers (`StaticReplayClient`): a realistic
//! distribution (five behaviours; managed cache policies UseOriginCacheControlHeaders,
//! CachingDisabled and, where a test needs it, CachingOptimized; a custom cache policy; the
//! managed CORS-S3Origin origin request policy; an S3 origin with OAC and an origin path,
//! one in another region, one that becomes a legacy OAI or a website endpoint) is clean,
//! and each test changes exactly one setting and sees exactly its finding.
//!
//! Where the bodies come from (field names, nesting and value spellings):
//! - CloudFront API Reference (2020-05-31), "Response Syntax" of GetDistribution,
//!   GetCachePolicy and GetOriginRequestPolicy; the DistributionConfig elements as in
//!   `crate::aws::replay_tests`.
//! - Managed policy ids and settings: CloudFront Developer Guide, "Use managed cache
//!   policies" (CachingOptimized MinTTL 1, CachingDisabled MinTTL 0,
//!   UseOriginCacheControlHeaders MinTTL 0) and "Use managed origin request policies"
//!   (CORS-S3Origin: no query strings; AllViewer: all).
//! - Amazon S3 API Reference, "Response Syntax" of GetBucketPolicyStatus,
//!   GetPublicAccessBlock, GetBucketOwnershipControls, GetBucketAcl, GetBucketPolicy (the
//!   policy JSON as the body), ListObjectsV2, HeadObject (headers only), and the S3 error
//!   document (`<Error><Code>…`) with the codes NoSuchBucketPolicy,
//!   NoSuchPublicAccessBlockConfiguration, OwnershipControlsNotFoundError.
//! - Lambda ListVersionsByFunction: JSON as in `crate::aws::replay_tests`.

use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};

use super::doctor;
use super::gather::{Inputs, Readers};
use super::report::{IDS, Report, Severity};
use crate::aws::replay_tests::{replay_sdk_config, respond};
use crate::output::{AwsFailure, exit_code_for};

pub(super) const DIST: &str = "E2QWRUHEXAMPLE";
pub(super) const DIST_ARN: &str = "arn:aws:cloudfront::123456789012:distribution/E2QWRUHEXAMPLE";
const FN: &str = "arn:aws:lambda:us-east-1:123456789012:function:packagecloud_cloudfront_auth";
const CF_NS: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";
const S3_NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

// Managed policy ids (CloudFront Developer Guide).
const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
pub(super) const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
const ORIGIN_HEADERS: &str = "83da9c7e-98b4-4e11-a168-04f0df8e2c65";
const CORS_S3_ORIGIN: &str = "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf";
const ALL_VIEWER: &str = "216adef6-5c7f-47e4-b989-5492eafa07d3";
/// A custom cache policy the operator made for packages.
const PACKAGES_POLICY: &str = "1f0c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b";

pub(super) fn arn(version: u64) -> String {
    format!("{FN}:{version}")
}

#[derive(Debug, Clone)]
pub(super) struct Behaviour {
    pub(super) pattern: Option<&'static str>,
    pub(super) origin: &'static str,
    pub(super) viewer_protocol: &'static str,
    pub(super) viewer_request: Option<String>,
    pub(super) origin_response: Option<String>,
    pub(super) cache_policy: Option<&'static str>,
    pub(super) origin_request_policy: Option<&'static str>,
    /// Legacy settings: (QueryString, MinTTL).
    pub(super) legacy: Option<(bool, i64)>,
}

impl Behaviour {
    pub(super) fn gated(pattern: Option<&'static str>, origin: &'static str, cache_policy: &'static str) -> Behaviour {
        Behaviour {
            pattern,
            origin,
            viewer_protocol: "redirect-to-https",
            viewer_request: Some(arn(7)),
            origin_response: Some(arn(7)),
            cache_policy: Some(cache_policy),
            origin_request_policy: None,
            legacy: None,
        }
    }

    fn xml(&self) -> String {
        let mut lambdas = Vec::new();
        for (event, a) in [("viewer-request", &self.viewer_request), ("origin-response", &self.origin_response)] {
            if let Some(a) = a {
                lambdas.push(format!(
                    "<LambdaFunctionAssociation><LambdaFunctionARN>{a}</LambdaFunctionARN><EventType>{event}</EventType>\
                     <IncludeBody>false</IncludeBody></LambdaFunctionAssociation>"
                ));
            }
        }
        let lambdas = if lambdas.is_empty() {
            "<LambdaFunctionAssociations><Quantity>0</Quantity></LambdaFunctionAssociations>".to_owned()
        } else {
            format!(
                "<LambdaFunctionAssociations><Quantity>{}</Quantity><Items>{}</Items></LambdaFunctionAssociations>",
                lambdas.len(),
                lambdas.concat()
            )
        };
        let cache = match (&self.cache_policy, &self.legacy) {
            (Some(id), _) => format!("<CachePolicyId>{id}</CachePolicyId>"),
            (None, Some((query, min_ttl))) => format!(
                "<ForwardedValues><QueryString>{query}</QueryString><Cookies><Forward>none</Forward></Cookies>\
                 <Headers><Quantity>0</Quantity></Headers><QueryStringCacheKeys><Quantity>0</Quantity></QueryStringCacheKeys>\
                 </ForwardedValues><MinTTL>{min_ttl}</MinTTL><DefaultTTL>86400</DefaultTTL><MaxTTL>31536000</MaxTTL>"
            ),
            (None, None) => String::new(),
        };
        let orp = self.origin_request_policy.map(|id| format!("<OriginRequestPolicyId>{id}</OriginRequestPolicyId>"));
        let pattern = self.pattern.map(|p| format!("<PathPattern>{p}</PathPattern>")).unwrap_or_default();
        let tag = if self.pattern.is_some() { "CacheBehavior" } else { "DefaultCacheBehavior" };
        format!(
            "<{tag}>{pattern}<TargetOriginId>{}</TargetOriginId>\
             <TrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></TrustedSigners>\
             <TrustedKeyGroups><Enabled>false</Enabled><Quantity>0</Quantity></TrustedKeyGroups>\
             <ViewerProtocolPolicy>{}</ViewerProtocolPolicy>\
             <AllowedMethods><Quantity>2</Quantity><Items><Method>HEAD</Method><Method>GET</Method></Items>\
             <CachedMethods><Quantity>2</Quantity><Items><Method>HEAD</Method><Method>GET</Method></Items></CachedMethods></AllowedMethods>\
             <SmoothStreaming>false</SmoothStreaming><Compress>true</Compress>{lambdas}\
             <FunctionAssociations><Quantity>0</Quantity></FunctionAssociations><FieldLevelEncryptionId></FieldLevelEncryptionId>\
             {cache}{}</{tag}>",
            self.origin,
            self.viewer_protocol,
            orp.unwrap_or_default()
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Access {
    Oac,
    Oai(&'static str),
    /// An S3 origin with neither.
    Anonymous,
    /// A custom origin (`CustomOriginConfig`).
    Custom,
}

#[derive(Debug, Clone)]
pub(super) struct Origin {
    pub(super) id: &'static str,
    pub(super) domain: String,
    pub(super) path: &'static str,
    pub(super) access: Access,
}

impl Origin {
    fn xml(&self) -> String {
        let (config, oac) = match &self.access {
            Access::Oac => ("<S3OriginConfig><OriginAccessIdentity></OriginAccessIdentity></S3OriginConfig>".to_owned(), "E1OACEXAMPLE"),
            Access::Oai(id) => (
                format!(
                    "<S3OriginConfig><OriginAccessIdentity>origin-access-identity/cloudfront/{id}</OriginAccessIdentity></S3OriginConfig>"
                ),
                "",
            ),
            Access::Anonymous => ("<S3OriginConfig><OriginAccessIdentity></OriginAccessIdentity></S3OriginConfig>".to_owned(), ""),
            Access::Custom => (
                "<CustomOriginConfig><HTTPPort>80</HTTPPort><HTTPSPort>443</HTTPSPort>\
                 <OriginProtocolPolicy>http-only</OriginProtocolPolicy>\
                 <OriginSslProtocols><Quantity>1</Quantity><Items><SslProtocol>TLSv1.2</SslProtocol></Items></OriginSslProtocols>\
                 <OriginReadTimeout>30</OriginReadTimeout><OriginKeepaliveTimeout>5</OriginKeepaliveTimeout></CustomOriginConfig>"
                    .to_owned(),
                "",
            ),
        };
        format!(
            "<Origin><Id>{}</Id><DomainName>{}</DomainName><OriginPath>{}</OriginPath>\
             <CustomHeaders><Quantity>0</Quantity></CustomHeaders>{config}\
             <ConnectionAttempts>3</ConnectionAttempts><ConnectionTimeout>10</ConnectionTimeout>\
             <OriginShield><Enabled>false</Enabled></OriginShield><OriginAccessControlId>{oac}</OriginAccessControlId></Origin>",
            self.id, self.domain, self.path
        )
    }
}

#[derive(Debug, Clone)]
pub(super) struct Bucket {
    name: &'static str,
    policy_public: bool,
    /// `None`: no public access block configuration.
    block: Option<[bool; 4]>,
    owner_enforced: bool,
    acl_all_users: bool,
    policy: Option<String>,
}

/// The bucket policy an OAC origin needs: GetObject on the objects, ListBucket on the bucket
/// (so absent keys are 404), both scoped to the distribution.
pub(super) fn oac_policy(bucket: &str, list: bool) -> String {
    let list = if list {
        format!(
            r#",{{"Sid":"AllowCloudFrontList","Effect":"Allow","Principal":{{"Service":"cloudfront.amazonaws.com"}},
            "Action":"s3:ListBucket","Resource":"arn:aws:s3:::{bucket}",
            "Condition":{{"StringEquals":{{"AWS:SourceArn":"{DIST_ARN}"}}}}}}"#
        )
    } else {
        String::new()
    };
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"AllowCloudFrontServicePrincipalReadOnly","Effect":"Allow",
        "Principal":{{"Service":"cloudfront.amazonaws.com"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*",
        "Condition":{{"StringEquals":{{"AWS:SourceArn":"{DIST_ARN}"}}}}}}{list}]}}"#
    )
}

fn oai_policy(bucket: &str, oai: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow",
        "Principal":{{"AWS":"arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity {oai}"}},
        "Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"]}}]}}"#
    )
}

impl Bucket {
    fn private(name: &'static str) -> Bucket {
        Bucket {
            name,
            policy_public: false,
            block: Some([true; 4]),
            owner_enforced: true,
            acl_all_users: false,
            policy: Some(oac_policy(name, true)),
        }
    }

    fn events(&self) -> Vec<ReplayEvent> {
        let mut events = vec![
            xml(
                200,
                &format!(r#"<PolicyStatus xmlns="{S3_NS}"><IsPublic>{}</IsPublic></PolicyStatus>"#, self.policy_public),
            ),
            match self.block {
                Some([a, b, c, d]) => xml(
                    200,
                    &format!(
                        r#"<PublicAccessBlockConfiguration xmlns="{S3_NS}"><BlockPublicAcls>{a}</BlockPublicAcls>
                        <IgnorePublicAcls>{b}</IgnorePublicAcls><BlockPublicPolicy>{c}</BlockPublicPolicy>
                        <RestrictPublicBuckets>{d}</RestrictPublicBuckets></PublicAccessBlockConfiguration>"#
                    ),
                ),
                None => s3_error(404, "NoSuchPublicAccessBlockConfiguration", self.name),
            },
        ];
        if self.owner_enforced {
            events.push(xml(
                200,
                &format!(
                    r#"<OwnershipControls xmlns="{S3_NS}"><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>"#
                ),
            ));
        } else {
            events.push(s3_error(404, "OwnershipControlsNotFoundError", self.name));
            let public = if self.acl_all_users {
                r#"<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">
                   <URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>"#
            } else {
                ""
            };
            events.push(xml(
                200,
                &format!(
                    r#"<AccessControlPolicy xmlns="{S3_NS}"><Owner><ID>8a6925ce4adf5f21c32aa379004fef</ID></Owner><AccessControlList>
                    <Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">
                    <ID>8a6925ce4adf5f21c32aa379004fef</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>{public}
                    </AccessControlList></AccessControlPolicy>"#
                ),
            ));
        }
        events.push(match &self.policy {
            Some(policy) => respond(200, &[("content-type", "application/json")], policy),
            None => s3_error(404, "NoSuchBucketPolicy", self.name),
        });
        events
    }
}

fn xml(status: u16, body: &str) -> ReplayEvent {
    respond(status, &[("content-type", "application/xml")], &format!(r#"<?xml version="1.0" encoding="UTF-8"?>{body}"#))
}

fn s3_error(status: u16, code: &str, bucket: &str) -> ReplayEvent {
    xml(
        status,
        &format!(
            "<Error><Code>{code}</Code><Message>{code}</Message><BucketName>{bucket}</BucketName>\
             <RequestId>4442587FB7D0A2F9</RequestId><HostId>host-id</HostId></Error>"
        ),
    )
}

/// One sampled prefix: the listing, then a HEAD for each metadata key with its
/// Cache-Control.
#[derive(Debug, Clone)]
pub(super) struct Sample {
    bucket: &'static str,
    prefix: &'static str,
    keys: Vec<&'static str>,
    heads: Vec<(&'static str, Option<&'static str>)>,
}

impl Sample {
    fn events(&self) -> Vec<ReplayEvent> {
        let contents: String = self
            .keys
            .iter()
            .map(|k| {
                format!(
                    "<Contents><Key>{k}</Key><LastModified>2026-11-20T10:00:00.000Z</LastModified>\
                     <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>1024</Size><StorageClass>STANDARD</StorageClass></Contents>"
                )
            })
            .collect();
        let mut events = vec![xml(
            200,
            &format!(
                r#"<ListBucketResult xmlns="{S3_NS}"><Name>{}</Name><Prefix>{}</Prefix><KeyCount>{}</KeyCount>
                <MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{contents}</ListBucketResult>"#,
                self.bucket,
                self.prefix,
                self.keys.len()
            ),
        )];
        for (_, cache_control) in &self.heads {
            let mut headers = vec![
                ("content-length", "1024"),
                ("etag", "\"9b2cf535f27731c974343645a3985328\""),
                ("last-modified", "Fri, 20 Nov 2026 10:00:00 GMT"),
            ];
            if let Some(value) = cache_control {
                headers.push(("cache-control", value));
            }
            events.push(respond(200, &headers, ""));
        }
        events
    }
}

/// Everything AWS will answer, in the order doctor asks.
#[derive(Debug, Clone)]
pub(super) struct World {
    pub(super) behaviours: Vec<Behaviour>,
    pub(super) origins: Vec<Origin>,
    pub(super) buckets: Vec<Bucket>,
    pub(super) samples: Vec<Sample>,
    pub(super) versions: Vec<u64>,
    pub(super) forward_query: Vec<String>,
    /// (id, name, MinTTL, query strings XML) of each cache policy.
    pub(super) cache_policies: Vec<(&'static str, &'static str, i64, String)>,
    /// (id, name, query strings XML) of each origin request policy.
    pub(super) origin_request_policies: Vec<(&'static str, &'static str, String)>,
}

fn query_xml(behaviour: &str, names: &[&str]) -> String {
    let names = if names.is_empty() {
        String::new()
    } else {
        let items: String = names.iter().map(|n| format!("<Name>{n}</Name>")).collect();
        format!("<QueryStrings><Quantity>{}</Quantity><Items>{items}</Items></QueryStrings>", names.len())
    };
    format!("<QueryStringsConfig><QueryStringBehavior>{behaviour}</QueryStringBehavior>{names}</QueryStringsConfig>")
}

impl World {
    /// The clean distribution: every behaviour gated with the newest version and the cache
    /// headers, MinTTL 0 everywhere, OAC on every S3 origin, private buckets that let the
    /// distribution list them.
    pub(super) fn clean() -> World {
        let mut legacy = Behaviour::gated(Some("/legacy/*"), "legacy-s3", "");
        legacy.cache_policy = None;
        legacy.legacy = Some((false, 0));
        let mut default = Behaviour::gated(None, "packages-s3", ORIGIN_HEADERS);
        default.origin_request_policy = Some(CORS_S3_ORIGIN);
        World {
            behaviours: vec![
                default,
                Behaviour::gated(Some("/dists/*"), "packages-s3", CACHING_DISABLED),
                Behaviour::gated(Some("/pool/*"), "packages-s3", PACKAGES_POLICY),
                legacy,
                Behaviour::gated(Some("/mirror/*"), "mirror", CACHING_DISABLED),
            ],
            origins: vec![
                Origin {
                    id: "packages-s3",
                    domain: "packages.s3.us-east-1.amazonaws.com".into(),
                    path: "/repo",
                    access: Access::Oac,
                },
                Origin {
                    id: "legacy-s3",
                    domain: "legacy-packages.s3.eu-west-1.amazonaws.com".into(),
                    path: "",
                    access: Access::Oac,
                },
                Origin {
                    id: "mirror",
                    domain: "mirror-packages.s3.us-east-1.amazonaws.com".into(),
                    path: "",
                    access: Access::Oac,
                },
            ],
            buckets: vec![
                Bucket::private("packages"),
                Bucket::private("legacy-packages"),
                Bucket::private("mirror-packages"),
            ],
            samples: Vec::new(),
            versions: vec![5, 6, 7],
            forward_query: Vec::new(),
            cache_policies: vec![
                (ORIGIN_HEADERS, "UseOriginCacheControlHeaders", 0, query_xml("none", &[])),
                (CACHING_DISABLED, "CachingDisabled", 0, query_xml("none", &[])),
                (PACKAGES_POLICY, "edgegate-packages", 0, query_xml("none", &[])),
                (CACHING_OPTIMIZED, "CachingOptimized", 1, query_xml("none", &[])),
            ],
            origin_request_policies: vec![
                (CORS_S3_ORIGIN, "CORS-S3Origin", query_xml("none", &[])),
                (ALL_VIEWER, "AllViewer", query_xml("all", &[])),
            ],
        }
    }

    pub(super) fn behaviour(&mut self, pattern: Option<&str>) -> &mut Behaviour {
        self.behaviours.iter_mut().find(|b| b.pattern == pattern).expect("behaviour")
    }

    fn origin(&mut self, id: &str) -> &mut Origin {
        self.origins.iter_mut().find(|o| o.id == id).expect("origin")
    }

    fn bucket(&mut self, name: &str) -> &mut Bucket {
        self.buckets.iter_mut().find(|b| b.name == name).expect("bucket")
    }

    fn distribution(&self) -> ReplayEvent {
        let default = self.behaviours.iter().find(|b| b.pattern.is_none()).expect("default behaviour");
        let others: Vec<&Behaviour> = self.behaviours.iter().filter(|b| b.pattern.is_some()).collect();
        let origins: String = self.origins.iter().map(Origin::xml).collect();
        let behaviours: String = others.iter().map(|b| b.xml()).collect();
        let body = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Distribution xmlns="{CF_NS}">
  <Id>{DIST}</Id><ARN>{DIST_ARN}</ARN><Status>Deployed</Status>
  <LastModifiedTime>2026-11-24T10:00:00Z</LastModifiedTime><InProgressInvalidationBatches>0</InProgressInvalidationBatches>
  <DomainName>d111111abcdef8.cloudfront.net</DomainName>
  <ActiveTrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></ActiveTrustedSigners>
  <ActiveTrustedKeyGroups><Enabled>false</Enabled><Quantity>0</Quantity></ActiveTrustedKeyGroups>
  <DistributionConfig>
    <CallerReference>packages-2026</CallerReference>
    <Aliases><Quantity>1</Quantity><Items><CNAME>packages.example.com</CNAME></Items></Aliases>
    <DefaultRootObject></DefaultRootObject>
    <Origins><Quantity>{}</Quantity><Items>{origins}</Items></Origins>
    <OriginGroups><Quantity>0</Quantity></OriginGroups>
    {}
    <CacheBehaviors><Quantity>{}</Quantity><Items>{behaviours}</Items></CacheBehaviors>
    <CustomErrorResponses><Quantity>0</Quantity></CustomErrorResponses>
    <Comment>packages.example.com behind edgegate</Comment>
    <Logging><Enabled>false</Enabled><IncludeCookies>false</IncludeCookies><Bucket></Bucket><Prefix></Prefix></Logging>
    <PriceClass>PriceClass_100</PriceClass>
    <Enabled>true</Enabled>
    <ViewerCertificate><CloudFrontDefaultCertificate>true</CloudFrontDefaultCertificate><MinimumProtocolVersion>TLSv1</MinimumProtocolVersion></ViewerCertificate>
    <Restrictions><GeoRestriction><RestrictionType>none</RestrictionType><Quantity>0</Quantity></GeoRestriction></Restrictions>
    <WebACLId></WebACLId>
    <HttpVersion>http2and3</HttpVersion>
    <IsIPV6Enabled>true</IsIPV6Enabled>
    <Staging>false</Staging>
  </DistributionConfig>
</Distribution>"#,
            self.origins.len(),
            default.xml(),
            others.len(),
        );
        respond(200, &[("content-type", "text/xml"), ("etag", "E2ETAGEXAMPLE")], &body)
    }

    fn versions(&self) -> ReplayEvent {
        let mut items = vec![format!(
            r#"{{"FunctionName":"packagecloud_cloudfront_auth","FunctionArn":"{FN}:$LATEST","Version":"$LATEST","CodeSha256":"abc="}}"#
        )];
        for v in &self.versions {
            items.push(format!(
                r#"{{"FunctionName":"packagecloud_cloudfront_auth","FunctionArn":"{FN}:{v}","Version":"{v}","CodeSha256":"abc{v}=",
                "LastModified":"2026-11-2{v}T10:00:00.000+0000"}}"#
            ));
        }
        respond(200, &[("content-type", "application/json")], &format!(r#"{{"Versions":[{}]}}"#, items.join(",")))
    }

    /// Every answer, in the order doctor asks: distribution, versions, cache policies and
    /// origin request policies in behaviour order, buckets in origin order, then samples.
    fn events(&self) -> Vec<ReplayEvent> {
        let mut events = self.cloudfront_events();
        for b in &self.buckets {
            events.extend(b.events());
        }
        for s in &self.samples {
            events.extend(s.events());
        }
        events
    }

    /// The CloudFront and Lambda answers alone (the moto tests serve S3 for real).
    pub(super) fn cloudfront_events(&self) -> Vec<ReplayEvent> {
        let mut events = vec![self.distribution(), self.versions()];
        let mut seen: Vec<&str> = Vec::new();
        for id in self.behaviours.iter().filter_map(|b| b.cache_policy) {
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            let (_, name, min_ttl, query) = self.cache_policies.iter().find(|p| p.0 == id).expect("cache policy");
            events.push(respond(
                200,
                &[("content-type", "text/xml"), ("etag", "E23ZP02F085DFQ")],
                &format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><CachePolicy xmlns="{CF_NS}"><Id>{id}</Id>
                    <LastModifiedTime>2020-08-12T18:48:10Z</LastModifiedTime><CachePolicyConfig><Comment>{name}</Comment>
                    <Name>{name}</Name><DefaultTTL>86400</DefaultTTL><MaxTTL>31536000</MaxTTL><MinTTL>{min_ttl}</MinTTL>
                    <ParametersInCacheKeyAndForwardedToOrigin><EnableAcceptEncodingGzip>true</EnableAcceptEncodingGzip>
                    <EnableAcceptEncodingBrotli>true</EnableAcceptEncodingBrotli><HeadersConfig><HeaderBehavior>none</HeaderBehavior></HeadersConfig>
                    <CookiesConfig><CookieBehavior>none</CookieBehavior></CookiesConfig>{query}
                    </ParametersInCacheKeyAndForwardedToOrigin></CachePolicyConfig></CachePolicy>"#
                ),
            ));
        }
        let mut seen: Vec<&str> = Vec::new();
        for id in self.behaviours.iter().filter_map(|b| b.origin_request_policy) {
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            let (_, name, query) = self.origin_request_policies.iter().find(|p| p.0 == id).expect("request policy");
            events.push(respond(
                200,
                &[("content-type", "text/xml"), ("etag", "E1ORPETAG")],
                &format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><OriginRequestPolicy xmlns="{CF_NS}"><Id>{id}</Id>
                    <LastModifiedTime>2020-08-12T18:48:10Z</LastModifiedTime><OriginRequestPolicyConfig><Comment>{name}</Comment>
                    <Name>{name}</Name><HeadersConfig><HeaderBehavior>whitelist</HeaderBehavior><Headers><Quantity>1</Quantity>
                    <Items><Name>origin</Name></Items></Headers></HeadersConfig><CookiesConfig><CookieBehavior>none</CookieBehavior>
                    </CookiesConfig>{query}</OriginRequestPolicyConfig></OriginRequestPolicy>"#
                ),
            ));
        }
        events
    }

    async fn run(&self) -> (anyhow::Result<Report>, StaticReplayClient) {
        let http = StaticReplayClient::new(self.events());
        let readers = Readers::new(replay_sdk_config(&http));
        let report = doctor(&readers, world_inputs(self)).await;
        (report, http)
    }

    /// Runs doctor and checks it read every answer and wrote nothing.
    async fn report(&self) -> Report {
        let (report, http) = self.run().await;
        let requests: Vec<String> = http.actual_requests().map(|r| format!("{} {}", r.method(), r.uri())).collect();
        let report = report.unwrap_or_else(|e| panic!("doctor failed: {e:#}\nrequests made:\n{}", requests.join("\n")));
        assert_eq!(requests.len(), self.events().len(), "every answer read, no more:\n{}", requests.join("\n"));
        for r in http.actual_requests() {
            assert!(matches!(r.method(), "GET" | "HEAD"), "doctor is read-only: {} {}", r.method(), r.uri());
        }
        report
    }
}

fn ids(report: &Report) -> Vec<(&'static str, String)> {
    report.findings.iter().map(|f| (f.id, f.resource.clone())).collect()
}

/// Asserts the world yields exactly `expected` (id, resource) findings.
async fn expect(world: &World, expected: &[(&str, &str)]) -> Report {
    let report = world.report().await;
    let got = ids(&report);
    let want: Vec<(&str, String)> = expected.iter().map(|(i, r)| (*i, (*r).to_owned())).collect();
    assert_eq!(got, want, "\n{}", report.text());
    for f in &report.findings {
        assert!(!f.why.is_empty() && !f.fix.is_empty(), "{f:?}");
    }
    report
}

#[tokio::test]
async fn the_clean_distribution_has_no_findings_and_exits_0() {
    let report = expect(&World::clean(), &[]).await;
    assert_eq!((report.errors, report.warnings), (0, 0));
    let text = report.text();
    assert!(text.ends_with("0 errors, 0 warnings\n"), "{text}");
    assert!(
        text.contains("checked      5 cache behaviours, 3 origins, 3 buckets, 0 sampled metadata objects"),
        "{text}"
    );
    assert_eq!(super::print(&report, crate::output::Output::Json).expect("print"), crate::output::Status::Ok);
}

#[tokio::test]
async fn behaviour_ungated() {
    let mut world = World::clean();
    world.behaviour(Some("/pool/*")).viewer_request = None;
    let report = expect(&world, &[("behaviour-ungated", "/pool/*")]).await;
    let f = &report.findings[0];
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.fix, format!("edgegate reconfigure-distribution {FN}:7 --distribution-id {DIST} --all-behaviors"));
    assert_eq!(super::print(&report, crate::output::Output::Json).expect("print"), crate::output::Status::Denied);

    // $LATEST (or another function) on viewer-request is no gate either.
    let mut world = World::clean();
    world.behaviour(None).viewer_request = Some(format!("{FN}:$LATEST"));
    world.behaviour(Some("/dists/*")).viewer_request =
        Some("arn:aws:lambda:us-east-1:123456789012:function:security-headers:4".into());
    let report = expect(&world, &[("behaviour-ungated", "default"), ("behaviour-ungated", "/dists/*")]).await;
    assert!(report.findings[1].why.contains("security-headers:4"), "{}", report.findings[1].why);
}

#[tokio::test]
async fn version_stale() {
    let mut world = World::clean();
    world.behaviour(Some("/legacy/*")).viewer_request = Some(arn(6));
    let report = expect(&world, &[("version-stale", "/legacy/*")]).await;
    assert_eq!(report.findings[0].severity, Severity::Warn);
    assert!(report.findings[0].why.contains("version 6") && report.findings[0].why.contains("version 7"));
    assert!(report.findings[0].fix.ends_with("--all-behaviors --cache-headers"), "{}", report.findings[0].fix);
    assert_eq!(super::print(&report, crate::output::Output::Json).expect("print"), crate::output::Status::Ok);
}

#[tokio::test]
async fn origin_open_website_endpoint() {
    let mut world = World::clean();
    let mirror = world.origin("mirror");
    mirror.domain = "mirror-packages.s3-website-us-east-1.amazonaws.com".into();
    mirror.access = Access::Custom;
    let report = expect(&world, &[("origin-open", "mirror")]).await;
    assert!(report.findings[0].why.contains("website endpoint"), "{}", report.findings[0].why);
    assert!(
        report.findings[0].fix.contains("mirror-packages.s3.us-east-1.amazonaws.com"),
        "{}",
        report.findings[0].fix
    );
}

#[tokio::test]
async fn origin_open_custom_origin_or_no_identity() {
    let mut world = World::clean();
    world.origin("mirror").access = Access::Custom;
    expect(&world, &[("origin-open", "mirror")]).await;

    let mut world = World::clean();
    world.origin("legacy-s3").access = Access::Anonymous;
    expect(&world, &[("origin-open", "legacy-s3")]).await;
}

#[tokio::test]
async fn origin_open_public_bucket() {
    // Policy status public.
    let mut world = World::clean();
    world.bucket("packages").policy_public = true;
    expect(&world, &[("origin-open", "packages")]).await;

    // No public access block at all, and one with a setting off.
    let mut world = World::clean();
    world.bucket("legacy-packages").block = None;
    world.bucket("mirror-packages").block = Some([true, true, false, true]);
    let report = expect(&world, &[("origin-open", "legacy-packages"), ("origin-open", "mirror-packages")]).await;
    assert!(report.findings[1].why.contains("leaves BlockPublicPolicy off"), "{}", report.findings[1].why);

    // ACLs on, a grant to AllUsers, and IgnorePublicAcls off.
    let mut world = World::clean();
    let bucket = world.bucket("packages");
    bucket.owner_enforced = false;
    bucket.acl_all_users = true;
    bucket.block = Some([false, false, true, true]);
    let report = expect(&world, &[("origin-open", "packages"), ("origin-open", "packages")]).await;
    assert!(report.findings[1].why.contains("READ to AllUsers"), "{}", report.findings[1].why);

    // The same grant is harmless when IgnorePublicAcls is on: S3 ignores it.
    let mut world = World::clean();
    let bucket = world.bucket("packages");
    bucket.owner_enforced = false;
    bucket.acl_all_users = true;
    expect(&world, &[]).await;
}

#[tokio::test]
async fn origin_oai() {
    let mut world = World::clean();
    world.origin("legacy-s3").access = Access::Oai("E2OAIEXAMPLE");
    world.bucket("legacy-packages").policy = Some(oai_policy("legacy-packages", "E2OAIEXAMPLE"));
    let report = expect(&world, &[("origin-oai", "legacy-s3")]).await;
    assert!(report.findings[0].why.contains("E2OAIEXAMPLE"), "{}", report.findings[0].why);
}

#[tokio::test]
async fn min_ttl() {
    let mut world = World::clean();
    world.behaviour(Some("/pool/*")).cache_policy = Some(CACHING_OPTIMIZED);
    let report = expect(&world, &[("min-ttl", "/pool/*")]).await;
    assert!(
        report.findings[0].why.contains("has MinTTL 1 (cache policy CachingOptimized)"),
        "{}",
        report.findings[0].why
    );

    // Legacy cache settings.
    let mut world = World::clean();
    world.behaviour(Some("/legacy/*")).legacy = Some((false, 5));
    let report = expect(&world, &[("min-ttl", "/legacy/*")]).await;
    assert!(report.findings[0].why.contains("has MinTTL 5 (legacy cache settings)"), "{}", report.findings[0].why);
}

fn packages_sample(index_cache_control: Option<&'static str>) -> Sample {
    Sample {
        bucket: "packages",
        prefix: "repo/",
        keys: vec![
            "repo/dists/stable/InRelease",
            "repo/dists/stable/main/binary-amd64/Packages.gz",
            "repo/dists/stable/main/binary-amd64/by-hash/SHA256/6f1b1e1d7f4f",
            "repo/pool/main/h/hello/hello_2.10-3_amd64.deb",
        ],
        heads: vec![
            ("repo/dists/stable/InRelease", Some("no-cache, no-store, max-age=0")),
            ("repo/dists/stable/main/binary-amd64/Packages.gz", index_cache_control),
        ],
    }
}

#[tokio::test]
async fn metadata_cacheable() {
    // Without the origin-response association on the default behaviour, the objects must
    // say no-cache themselves; one index that does not is enough.
    let mut world = World::clean();
    world.behaviour(None).origin_response = None;
    world.samples = vec![packages_sample(Some("public, max-age=3600"))];
    let report = expect(&world, &[("metadata-cacheable", "packages")]).await;
    let f = &report.findings[0];
    assert!(f.why.contains("1 of 2 sampled metadata objects in packages/repo/"), "{}", f.why);
    assert!(f.why.contains("Packages.gz has Cache-Control: public, max-age=3600"), "{}", f.why);
    assert!(f.fix.contains("--all-behaviors --cache-headers"), "{}", f.fix);
    assert!(f.fix.contains("edgegate reindex --bucket packages --prefix repo/"), "{}", f.fix);

    // Only metadata keys were read: not the package, not the by-hash file.
    let (_, http) = world.run().await;
    let heads: Vec<String> =
        http.actual_requests().filter(|r| r.method() == "HEAD").map(|r| r.uri().to_owned()).collect();
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert!(heads[0].contains("/repo/dists/stable/InRelease") && heads[1].contains("Packages.gz"), "{heads:?}");

    // No Cache-Control at all.
    world.samples = vec![packages_sample(None)];
    expect(&world, &[("metadata-cacheable", "packages")]).await;

    // Reindexed objects (every sampled index says no-cache) need no association.
    world.samples = vec![packages_sample(Some("no-cache, no-store, max-age=0"))];
    let report = expect(&world, &[]).await;
    assert_eq!(report.scope.sampled_objects, 2);
}

#[tokio::test]
async fn metadata_cacheable_with_nothing_to_sample() {
    let mut world = World::clean();
    world.behaviour(Some("/mirror/*")).origin_response = None;
    world.samples =
        vec![Sample { bucket: "mirror-packages", prefix: "", keys: vec!["pool/x_1.0_all.deb"], heads: vec![] }];
    let report = expect(&world, &[("metadata-cacheable", "mirror-packages")]).await;
    assert!(report.findings[0].why.contains("holds no metadata object"), "{}", report.findings[0].why);
}

#[tokio::test]
async fn query_to_origin() {
    // An origin request policy that forwards every query string.
    let mut world = World::clean();
    world.behaviour(None).origin_request_policy = Some(ALL_VIEWER);
    let report = expect(&world, &[("query-to-origin", "default")]).await;
    assert!(report.findings[0].why.contains("origin request policy AllViewer: all"), "{}", report.findings[0].why);

    // Legacy QueryString true.
    let mut world = World::clean();
    world.behaviour(Some("/legacy/*")).legacy = Some((true, 0));
    expect(&world, &[("query-to-origin", "/legacy/*")]).await;

    // A whitelist: fine while forward_query allows every name, a warning once it does not.
    let mut world = World::clean();
    world.cache_policies[2].3 = query_xml("whitelist", &["arch", "v"]);
    world.forward_query = vec!["arch".into(), "v".into()];
    expect(&world, &[]).await;
    world.forward_query = vec!["arch".into()];
    let report = expect(&world, &[("query-to-origin", "/pool/*")]).await;
    assert!(report.findings[0].fix.contains("whitelist arch"), "{}", report.findings[0].fix);
}

#[tokio::test]
async fn http_allowed() {
    let mut world = World::clean();
    world.behaviour(Some("/mirror/*")).viewer_protocol = "allow-all";
    let report = expect(&world, &[("http-allowed", "/mirror/*")]).await;
    assert_eq!(report.findings[0].severity, Severity::Warn);
}

#[tokio::test]
async fn missing_is_403() {
    let mut world = World::clean();
    world.bucket("packages").policy = Some(oac_policy("packages", false));
    let report = expect(&world, &[("missing-is-403", "packages")]).await;
    let fix = &report.findings[0].fix;
    // The statement to add parses as JSON and scopes the grant to this distribution.
    let statement: serde_json::Value =
        serde_json::from_str(fix.split_once(": ").expect("statement").1).expect("statement JSON");
    assert_eq!(statement["Action"], "s3:ListBucket");
    assert_eq!(statement["Resource"], "arn:aws:s3:::packages");
    assert_eq!(statement["Principal"]["Service"], "cloudfront.amazonaws.com");
    assert_eq!(statement["Condition"]["StringEquals"]["AWS:SourceArn"], DIST_ARN);

    // No bucket policy at all.
    world.bucket("packages").policy = None;
    expect(&world, &[("missing-is-403", "packages")]).await;
}

/// The JSON shape documented in docs/deploy.md ("Check the distribution"), and the ids it
/// may carry: the stable set of SPEC §10.
#[tokio::test]
async fn json_shape_and_stable_ids() {
    assert_eq!(
        IDS,
        [
            "behaviour-ungated",
            "version-stale",
            "origin-open",
            "origin-oai",
            "min-ttl",
            "metadata-cacheable",
            "query-to-origin",
            "http-allowed",
            "missing-is-403"
        ]
    );
    // /dists/* comes before /pool/* in the distribution: its warning is found first, and
    // the report still lists the error first.
    let mut world = World::clean();
    world.behaviour(Some("/pool/*")).viewer_request = None;
    world.behaviour(Some("/dists/*")).viewer_protocol = "allow-all";
    let report = world.report().await;
    let json = serde_json::to_value(&report).expect("json");
    let keys: Vec<&str> = json.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, vec!["distribution_id", "findings", "errors", "warnings"]);
    assert_eq!(json["distribution_id"], DIST);
    assert_eq!(json["errors"], 1);
    assert_eq!(json["warnings"], 1);
    for finding in json["findings"].as_array().expect("findings") {
        let keys: Vec<&str> = finding.as_object().expect("finding").keys().map(String::as_str).collect();
        assert_eq!(keys, vec!["id", "severity", "resource", "why", "fix"]);
        assert!(IDS.contains(&finding["id"].as_str().expect("id")), "{finding}");
        assert!(["error", "warn"].contains(&finding["severity"].as_str().expect("severity")), "{finding}");
    }
    assert_eq!(json["findings"][0]["id"], "behaviour-ungated");
    assert_eq!(json["findings"][0]["severity"], "error");
    assert_eq!(json["findings"][1]["id"], "http-allowed");
}

/// The example in docs/deploy.md ("Check the distribution") is what doctor prints.
#[tokio::test]
async fn the_documented_json_example_is_real_output() {
    let docs = include_str!("../../../docs/deploy.md");
    // Found by title, whatever its number.
    let section = docs.split(". Check the distribution\n").nth(1).expect("section in docs/deploy.md");
    let example = section.split("```json\n").nth(1).and_then(|s| s.split("```").next()).expect("json example");
    let documented: serde_json::Value = serde_json::from_str(example).expect("the example parses");
    let mut world = World::clean();
    world.behaviour(Some("/pool/*")).viewer_request = None;
    let report = world.report().await;
    assert_eq!(serde_json::to_value(&report).expect("json"), documented);
}

/// A region-less S3 endpoint (`b.s3.amazonaws.com`): the bucket's region comes from
/// HeadBucket's redirect (S3 API Reference, HeadBucket: 301 with `x-amz-bucket-region`), and
/// every call for that bucket goes to it.
#[tokio::test]
async fn a_bucket_without_a_region_in_its_endpoint_is_read_in_its_own_region() {
    let mut world = World::clean();
    world.origin("legacy-s3").domain = "legacy-packages.s3.amazonaws.com".into();
    let mut events = world.cloudfront_events();
    events.extend(world.buckets[0].events());
    events.push(respond(301, &[("x-amz-bucket-region", "eu-west-1")], ""));
    events.extend(world.buckets[1].events());
    events.extend(world.buckets[2].events());
    let http = StaticReplayClient::new(events);
    let report = doctor(&Readers::new(replay_sdk_config(&http)), world_inputs(&world)).await.expect("doctor");
    assert!(report.findings.is_empty(), "{}", report.text());
    let uris: Vec<String> = http.actual_requests().map(|r| format!("{} {}", r.method(), r.uri())).collect();
    let head = uris.iter().position(|u| u.starts_with("HEAD ")).expect("HeadBucket");
    assert!(uris[head].contains("legacy-packages.s3.us-east-1.amazonaws.com"), "{uris:#?}");
    for uri in &uris[head + 1..head + 5] {
        assert!(uri.contains("legacy-packages.s3.eu-west-1.amazonaws.com"), "{uris:#?}");
    }
}

fn world_inputs(world: &World) -> Inputs {
    Inputs {
        distribution_id: DIST.into(),
        function_name: "packagecloud_cloudfront_auth".into(),
        forward_query: world.forward_query.clone(),
        cache_rules: Vec::new(),
        config_path: "edgegate.toml".into(),
    }
}

/// An AWS refusal is exit 3 and names the IAM action to grant.
#[tokio::test]
async fn access_denied_names_the_action() {
    let mut world = World::clean();
    // The second bucket's policy status is refused.
    world.buckets.truncate(1);
    let mut events = world.events();
    events.push(xml(
        403,
        "<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>R</RequestId><HostId>H</HostId></Error>",
    ));
    let http = StaticReplayClient::new(events);
    let readers = Readers::new(replay_sdk_config(&http));
    let error = doctor(&readers, world_inputs(&world)).await.expect_err("denied");
    let failure = error.downcast_ref::<AwsFailure>().expect("AWS failure");
    assert_eq!(failure.call, "s3:GetBucketPolicyStatus");
    assert_eq!(failure.resource, "legacy-packages");
    assert_eq!(failure.code.as_deref(), Some("AccessDenied"));
    assert_eq!(exit_code_for(&error), 3);
}

#[tokio::test]
async fn the_text_report_groups_by_severity() {
    let mut world = World::clean();
    world.behaviour(Some("/pool/*")).viewer_request = None;
    world.behaviour(Some("/mirror/*")).viewer_protocol = "allow-all";
    world.bucket("packages").policy = Some(oac_policy("packages", false));
    let text = world.report().await.text();
    let errors = text.find("\nERRORS\n").expect("errors heading");
    let warnings = text.find("\nWARNINGS\n").expect("warnings heading");
    assert!(errors < warnings);
    assert!(
        text.contains("\n  behaviour-ungated  behaviour /pool/*\n    why  Requests matching /pool/* reach origin"),
        "{text}"
    );
    assert!(text.contains("\n  missing-is-403  bucket packages\n"), "{text}");
    assert!(text.ends_with("\n1 error, 2 warnings\n"), "{text}");
    // Prose wraps at 100 columns; a single word longer than that (a JSON statement to
    // paste) stays whole.
    for line in text.lines().filter(|l| l.starts_with("    why") || l.starts_with("         ")) {
        assert!(line.len() <= 100 || !line[9..].contains(' '), "wrapped at 100 columns: {line:?}");
    }
    println!("{text}");
}
