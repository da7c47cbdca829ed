//! Every AWS read `doctor` makes, and nothing else: the distribution, its cache and origin
//! request policies, the function's versions, each S3 origin's bucket settings and a sample
//! of metadata objects. Read-only: only Get/List/Head calls. The calls run one after another
//! in a fixed order (distribution order), which keeps the replay tests exact; a distribution
//! has a handful of behaviours and origins, so this costs well under a second.
//!
//! Each call names itself as the IAM action it needs (the deployer policy test reads them).

use aws_config::{Region, SdkConfig};
use aws_sdk_cloudfront::types::{CacheBehavior, DefaultCacheBehavior, DistributionConfig, EventType};
use aws_sdk_s3::types::{ObjectOwnership, Type};
use edgegate_core::CacheClass;
use edgegate_core::cache::classify;

use super::checks::{Behaviour, Bucket, Legacy, Origin, Policy, Query, Sampled, Snapshot, s3_endpoint};
use crate::aws::arn::parse_version_arn;
use crate::aws::clients::{Clients, EDGE_REGION, aws_condition, aws_failure, code_of};
use crate::aws::function;
use crate::output::AwsFailure;

/// Metadata objects whose `Cache-Control` is read, per bucket and origin path.
pub const SAMPLE_SIZE: usize = 20;
/// ListObjectsV2 pages (1,000 keys each) searched for metadata objects.
const LIST_PAGES: usize = 5;

/// The clients doctor uses: CloudFront and Lambda from [`Clients`], and S3 built from the
/// same settings per bucket region.
#[derive(Debug, Clone)]
pub struct Readers {
    pub clients: Clients,
    pub sdk: SdkConfig,
}

impl Readers {
    pub fn new(sdk: SdkConfig) -> Readers {
        Readers { clients: Clients::from_sdk_config(&sdk), sdk }
    }

    /// An S3 client for a bucket's region (S3 redirects requests sent to another region).
    fn s3(&self, region: Option<&str>) -> aws_sdk_s3::Client {
        let mut builder = aws_sdk_s3::config::Builder::from(&self.sdk);
        let region = region.map(|r| Region::new(r.to_owned())).or_else(|| self.sdk.region().cloned());
        builder = builder.region(region.unwrap_or_else(|| Region::from_static("us-east-1")));
        // A custom endpoint (moto, MinIO) serves buckets by path, not by host name.
        if self.sdk.endpoint_url().is_some() {
            builder = builder.force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(builder.build())
    }
}

/// What the command line adds to what AWS says.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub distribution_id: String,
    pub function_name: String,
    pub forward_query: Vec<String>,
    pub cache_rules: Vec<edgegate_core::CacheRule>,
    pub config_path: String,
}

/// Reads everything the checks need.
pub async fn snapshot(r: &Readers, inputs: Inputs) -> anyhow::Result<Snapshot> {
    let id = inputs.distribution_id.as_str();
    let got = r
        .clients
        .cloudfront
        .get_distribution()
        .id(id)
        .send()
        .await
        .map_err(|e| aws_failure("cloudfront:GetDistribution", id, e))?;
    let distribution = got
        .distribution
        .ok_or_else(|| aws_condition("cloudfront:GetDistribution", id, None, "the response carried no Distribution"))?;
    let config = distribution.distribution_config.ok_or_else(|| {
        aws_condition("cloudfront:GetDistribution", id, None, "the response carried no DistributionConfig")
    })?;

    let mut s = Snapshot {
        distribution_id: inputs.distribution_id.clone(),
        distribution_arn: distribution.arn,
        domain_name: distribution.domain_name,
        function_name: inputs.function_name.clone(),
        forward_query: inputs.forward_query,
        cache_rules: inputs.cache_rules,
        config_path: inputs.config_path,
        ..Snapshot::default()
    };
    read_config(&mut s, &config)?;

    s.newest = newest_version(&r.clients, &s.function_name).await?;

    for b in s.behaviours.clone() {
        if let Some(id) = b.cache_policy_id.filter(|id| !s.cache_policies.contains_key(id)) {
            let policy = cache_policy(&r.clients, &id).await?;
            s.cache_policies.insert(id, policy);
        }
    }
    for b in s.behaviours.clone() {
        if let Some(id) = b.origin_request_policy_id.filter(|id| !s.origin_request_policies.contains_key(id)) {
            let policy = origin_request_policy(&r.clients, &id).await?;
            s.origin_request_policies.insert(id, policy);
        }
    }
    for (name, region) in s.s3_buckets() {
        let region = match region {
            Some(region) => region,
            None => bucket_region(r, &name).await?,
        };
        for o in s.origins.iter_mut().filter_map(|o| o.s3.as_mut()).filter(|s3| s3.bucket == name) {
            o.region = Some(region.clone());
        }
        let bucket = bucket(&r.s3(Some(&region)), &name).await?;
        s.buckets.insert(name, bucket);
    }
    for (name, region, prefix) in s.sample_targets() {
        let sampled = sample(&r.s3(region.as_deref()), &name, &prefix, &s.cache_rules).await?;
        s.samples.insert((name, prefix), sampled);
    }
    Ok(s)
}

fn read_config(s: &mut Snapshot, config: &DistributionConfig) -> anyhow::Result<()> {
    let default = config
        .default_cache_behavior
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("distribution {} has no default cache behaviour", s.distribution_id))?;
    s.behaviours.push(default_behaviour(default));
    for b in config.cache_behaviors.as_ref().and_then(|b| b.items.as_ref()).into_iter().flatten() {
        s.behaviours.push(behaviour(b));
    }
    for o in config.origins.as_ref().map(|o| o.items.as_slice()).unwrap_or_default() {
        let oai = o
            .s3_origin_config
            .as_ref()
            .map(|c| c.origin_access_identity.trim())
            .filter(|v| !v.is_empty())
            .map(|v| v.rsplit('/').next().unwrap_or(v).to_owned());
        s.origins.push(Origin {
            id: o.id.clone(),
            origin_path: o.origin_path.as_deref().unwrap_or("").trim_matches('/').to_owned(),
            s3: s3_endpoint(&o.domain_name),
            custom: o.custom_origin_config.is_some(),
            oac: o.origin_access_control_id.clone().filter(|v| !v.is_empty()),
            oai,
        });
    }
    for g in config.origin_groups.as_ref().and_then(|g| g.items.as_ref()).into_iter().flatten() {
        let members = g.members.as_ref().map(|m| m.items.iter().map(|i| i.origin_id.clone()).collect());
        s.origin_groups.insert(g.id.clone(), members.unwrap_or_default());
    }
    Ok(())
}

/// The fields both behaviour types share; the SDK has two structs for them.
macro_rules! behaviour_fields {
    ($b:expr, $pattern:expr) => {{
        let b = $b;
        let lambdas = b
            .lambda_function_associations
            .as_ref()
            .and_then(|l| l.items.as_ref())
            .into_iter()
            .flatten()
            .map(|a| (event_name(&a.event_type), a.lambda_function_arn.clone()))
            .collect();
        let legacy = b.forwarded_values.as_ref().map(|fv| Legacy {
            min_ttl: b.min_ttl.unwrap_or(0),
            // QueryStringCacheKeys narrows the cache key only; with QueryString true every
            // query string still reaches the origin.
            query: if fv.query_string { Query::All } else { Query::None },
        });
        Behaviour {
            path_pattern: $pattern,
            target_origin_id: b.target_origin_id.clone(),
            viewer_protocol_policy: b.viewer_protocol_policy.as_str().to_owned(),
            lambdas,
            cache_policy_id: b.cache_policy_id.clone().filter(|id| !id.is_empty()),
            origin_request_policy_id: b.origin_request_policy_id.clone().filter(|id| !id.is_empty()),
            legacy,
        }
    }};
}

// Legacy cache settings are deprecated in the SDK, but distributions still carry them, and
// their MinTTL overrides `no-cache` just the same.
#[allow(deprecated)]
fn default_behaviour(b: &DefaultCacheBehavior) -> Behaviour {
    behaviour_fields!(b, None)
}

#[allow(deprecated)]
fn behaviour(b: &CacheBehavior) -> Behaviour {
    behaviour_fields!(b, Some(b.path_pattern.clone()))
}

fn event_name(e: &EventType) -> String {
    e.as_str().to_owned()
}

/// The newest published version; `None` when the function has none or does not exist
/// (then every behaviour reads as ungated, which is the truth).
async fn newest_version(c: &Clients, name: &str) -> anyhow::Result<Option<crate::aws::arn::VersionArn>> {
    let versions = match function::list_versions(c, name).await {
        Ok(v) => v,
        Err(e)
            if e.downcast_ref::<AwsFailure>()
                .is_some_and(|f| f.code.as_deref() == Some("ResourceNotFoundException")) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    Ok(versions.last().and_then(|v| parse_version_arn(&v.function_arn).ok()))
}

async fn cache_policy(c: &Clients, id: &str) -> anyhow::Result<Policy> {
    let out = c
        .cloudfront
        .get_cache_policy()
        .id(id)
        .send()
        .await
        .map_err(|e| aws_failure("cloudfront:GetCachePolicy", id, e))?;
    let config = out.cache_policy.and_then(|p| p.cache_policy_config).ok_or_else(|| {
        aws_condition("cloudfront:GetCachePolicy", id, None, "the response carried no CachePolicyConfig")
    })?;
    let query = config
        .parameters_in_cache_key_and_forwarded_to_origin
        .and_then(|p| p.query_strings_config)
        .map(|q| {
            let names = q.query_strings.and_then(|n| n.items).unwrap_or_default();
            Query::from_behaviour(q.query_string_behavior.as_str(), names)
        })
        .unwrap_or_default();
    Ok(Policy { name: config.name, min_ttl: config.min_ttl, query })
}

async fn origin_request_policy(c: &Clients, id: &str) -> anyhow::Result<Policy> {
    let out = c
        .cloudfront
        .get_origin_request_policy()
        .id(id)
        .send()
        .await
        .map_err(|e| aws_failure("cloudfront:GetOriginRequestPolicy", id, e))?;
    let config = out.origin_request_policy.and_then(|p| p.origin_request_policy_config).ok_or_else(|| {
        aws_condition(
            "cloudfront:GetOriginRequestPolicy",
            id,
            None,
            "the response carried no OriginRequestPolicyConfig",
        )
    })?;
    let query = config
        .query_strings_config
        .map(|q| {
            let names = q.query_strings.and_then(|n| n.items).unwrap_or_default();
            Query::from_behaviour(q.query_string_behavior.as_str(), names)
        })
        .unwrap_or_default();
    Ok(Policy { name: config.name, min_ttl: 0, query })
}

/// The region of a bucket named by a region-less endpoint (`b.s3.amazonaws.com`, what the
/// console wrote for years): S3 answers HeadBucket from any region, with a redirect that
/// carries the bucket's region when it is not us-east-1.
async fn bucket_region(r: &Readers, bucket: &str) -> anyhow::Result<String> {
    match r.s3(None).head_bucket().bucket(bucket).send().await {
        Ok(out) => Ok(out.bucket_region.unwrap_or_else(|| EDGE_REGION.to_owned())),
        Err(e) => {
            let header = e.raw_response().and_then(|raw| raw.headers().get("x-amz-bucket-region")).map(str::to_owned);
            header.ok_or_else(|| aws_failure("s3:ListBucket", bucket, e))
        }
    }
}

/// The bucket's public-access settings and policy. A setting the bucket does not have
/// (no policy, no public access block, no ownership controls) is an answer, not an error.
async fn bucket(s3: &aws_sdk_s3::Client, name: &str) -> anyhow::Result<Bucket> {
    let policy_public = match s3.get_bucket_policy_status().bucket(name).send().await {
        Ok(out) => out.policy_status.and_then(|p| p.is_public).unwrap_or(false),
        Err(e) if code_of(&e) == Some("NoSuchBucketPolicy") => false,
        Err(e) => return Err(aws_failure("s3:GetBucketPolicyStatus", name, e)),
    };
    let public_access_block = match s3.get_public_access_block().bucket(name).send().await {
        Ok(out) => out.public_access_block_configuration.map(|c| {
            [
                c.block_public_acls.unwrap_or(false),
                c.ignore_public_acls.unwrap_or(false),
                c.block_public_policy.unwrap_or(false),
                c.restrict_public_buckets.unwrap_or(false),
            ]
        }),
        Err(e) if code_of(&e) == Some("NoSuchPublicAccessBlockConfiguration") => None,
        // The IAM action's name differs from the API's.
        Err(e) => return Err(aws_failure("s3:GetBucketPublicAccessBlock", name, e)),
    };
    let acls_disabled = match s3.get_bucket_ownership_controls().bucket(name).send().await {
        Ok(out) => out
            .ownership_controls
            .is_some_and(|c| c.rules.iter().any(|r| r.object_ownership == ObjectOwnership::BucketOwnerEnforced)),
        Err(e) if code_of(&e) == Some("OwnershipControlsNotFoundError") => false,
        Err(e) => return Err(aws_failure("s3:GetBucketOwnershipControls", name, e)),
    };
    let mut public_grants = Vec::new();
    if !acls_disabled {
        let acl = s3.get_bucket_acl().bucket(name).send().await.map_err(|e| aws_failure("s3:GetBucketAcl", name, e))?;
        for grant in acl.grants.unwrap_or_default() {
            let Some(grantee) = grant.grantee else { continue };
            let group = grantee.uri.as_deref().filter(|_| grantee.r#type == Type::Group);
            let group = match group {
                Some(uri) if uri.ends_with("/global/AllUsers") => "AllUsers",
                Some(uri) if uri.ends_with("/global/AuthenticatedUsers") => "AuthenticatedUsers",
                _ => continue,
            };
            let permission = grant.permission.map(|p| p.as_str().to_owned()).unwrap_or_default();
            public_grants.push(format!("{permission} to {group}"));
        }
    }
    let policy = match s3.get_bucket_policy().bucket(name).send().await {
        Ok(out) => out.policy,
        Err(e) if code_of(&e) == Some("NoSuchBucketPolicy") => None,
        Err(e) => return Err(aws_failure("s3:GetBucketPolicy", name, e)),
    };
    Ok(Bucket { policy_public, public_access_block, acls_disabled, public_grants, policy })
}

/// Up to [`SAMPLE_SIZE`] metadata objects under `prefix` with their `Cache-Control`. Keys
/// are classified as the viewer sees them: the origin path removed.
async fn sample(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    rules: &[edgegate_core::CacheRule],
) -> anyhow::Result<Vec<Sampled>> {
    let mut keys: Vec<String> = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..LIST_PAGES {
        let page = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| aws_failure("s3:ListBucket", bucket, e))?;
        for object in page.contents.unwrap_or_default() {
            let Some(key) = object.key else { continue };
            let path = format!("/{}", key.strip_prefix(prefix).unwrap_or(&key));
            if !key.ends_with('/') && classify(&path, rules) == CacheClass::Metadata && keys.len() < SAMPLE_SIZE {
                keys.push(key);
            }
        }
        token = page.next_continuation_token.filter(|_| page.is_truncated == Some(true));
        if keys.len() >= SAMPLE_SIZE || token.is_none() {
            break;
        }
    }
    let mut sampled = Vec::with_capacity(keys.len());
    for key in keys {
        let head = s3
            .head_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| aws_failure("s3:GetObject", &format!("{bucket}/{key}"), e))?;
        sampled.push(Sampled { key, cache_control: head.cache_control });
    }
    Ok(sampled)
}
