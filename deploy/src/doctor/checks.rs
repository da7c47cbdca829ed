//! The checks of SPEC §10 over what [`super::gather`] read. Pure: no AWS call here, so
//! every row can be tested on a hand-made [`Snapshot`] as well as on replayed AWS answers.

use std::collections::{BTreeMap, BTreeSet};

use edgegate_core::CacheRule;
use edgegate_core::token::acl_matches;

use super::report::{
    BEHAVIOUR_UNGATED, Finding, HTTP_ALLOWED, Kind, METADATA_CACHEABLE, MIN_TTL, MISSING_IS_403, ORIGIN_OAI,
    ORIGIN_OPEN, QUERY_TO_ORIGIN, Severity, VERSION_STALE,
};
use crate::aws::arn::{VersionArn, parse_version_arn};
use crate::aws::function::DEFAULT_FUNCTION_NAME;

/// Managed cache policy with MinTTL 0 that honours the origin's `Cache-Control`; what the
/// min-ttl fix names (CloudFront Developer Guide, "Use managed cache policies").
const ORIGIN_HEADERS_POLICY: &str = "UseOriginCacheControlHeaders (83da9c7e-98b4-4e11-a168-04f0df8e2c65)";

/// Everything doctor read about one distribution.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub distribution_id: String,
    pub distribution_arn: String,
    pub domain_name: String,
    pub function_name: String,
    /// The newest published version of the function, if it has any.
    pub newest: Option<VersionArn>,
    /// Default behaviour first, then the others in distribution order.
    pub behaviours: Vec<Behaviour>,
    pub origins: Vec<Origin>,
    /// Origin group id → member origin ids.
    pub origin_groups: BTreeMap<String, Vec<String>>,
    pub cache_policies: BTreeMap<String, Policy>,
    pub origin_request_policies: BTreeMap<String, Policy>,
    pub buckets: BTreeMap<String, Bucket>,
    /// Sampled metadata objects, by (bucket, key prefix of the origin path).
    pub samples: BTreeMap<(String, String), Vec<Sampled>>,
    /// `forward_query` of the configuration (empty without `--config`).
    pub forward_query: Vec<String>,
    pub cache_rules: Vec<CacheRule>,
    /// What the fix commands pass as `--config`.
    pub config_path: String,
}

/// One cache behaviour, default or not.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// `None` for the default behaviour.
    pub path_pattern: Option<String>,
    pub target_origin_id: String,
    pub viewer_protocol_policy: String,
    /// (event type, function ARN) of each Lambda@Edge association.
    pub lambdas: Vec<(String, String)>,
    pub cache_policy_id: Option<String>,
    pub origin_request_policy_id: Option<String>,
    /// Legacy cache settings (`ForwardedValues`, `MinTTL`), when the behaviour has no cache
    /// policy.
    pub legacy: Option<Legacy>,
}

impl Behaviour {
    pub fn resource(&self) -> String {
        self.path_pattern.clone().unwrap_or_else(|| "default".to_owned())
    }

    fn described(&self) -> String {
        match &self.path_pattern {
            Some(p) => format!("Requests matching {p}"),
            None => "Requests that match no other behaviour".to_owned(),
        }
    }

    fn label(&self) -> String {
        match &self.path_pattern {
            Some(p) => format!("behaviour {p}"),
            None => "the default behaviour".to_owned(),
        }
    }

    fn label_capitalised(&self) -> String {
        let label = self.label();
        let mut chars = label.chars();
        chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
    }

    fn association(&self, event: &str) -> Option<&str> {
        self.lambdas.iter().find(|(e, _)| e == event).map(|(_, arn)| arn.as_str())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Legacy {
    pub min_ttl: i64,
    pub query: Query,
}

/// Which query strings CloudFront passes to the origin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Query {
    #[default]
    None,
    Only(Vec<String>),
    AllExcept(Vec<String>),
    All,
}

impl Query {
    /// Parses a CloudFront query string behaviour (`none`, `whitelist`, `allExcept`, `all`).
    pub fn from_behaviour(behaviour: &str, names: Vec<String>) -> Query {
        match behaviour {
            "none" => Query::None,
            "whitelist" => Query::Only(names),
            "allExcept" => Query::AllExcept(names),
            // `all`, and anything CloudFront adds later: assume the widest.
            _ => Query::All,
        }
    }

    fn describe(&self) -> String {
        match self {
            Query::None => "none".to_owned(),
            Query::Only(names) => format!("whitelist {}", names.join(", ")),
            Query::AllExcept(names) => format!("all except {}", names.join(", ")),
            Query::All => "all".to_owned(),
        }
    }

    /// What reaches the origin beyond `allowed`: `None` when nothing does.
    fn beyond(&self, allowed: &[String]) -> Option<String> {
        match self {
            Query::None => None,
            Query::Only(names) => {
                let extra: Vec<&str> = names.iter().filter(|n| !allowed.contains(n)).map(String::as_str).collect();
                (!extra.is_empty()).then(|| extra.join(", "))
            }
            Query::AllExcept(_) | Query::All => Some("every query string".to_owned()),
        }
    }
}

/// A cache policy or an origin request policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub name: String,
    pub min_ttl: i64,
    pub query: Query,
}

#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub id: String,
    /// `OriginPath` without its leading `/` (`repo` for `/repo`), "" for none.
    pub origin_path: String,
    /// The S3 endpoint the domain names, if it is one.
    pub s3: Option<S3Endpoint>,
    /// Configured as a custom origin (`CustomOriginConfig`), not an S3 origin.
    pub custom: bool,
    pub oac: Option<String>,
    /// The OAI id (`E2OAIEXAMPLE`) from `origin-access-identity/cloudfront/E2OAIEXAMPLE`.
    pub oai: Option<String>,
}

impl Origin {
    /// The key prefix the origin path maps to (`repo/`), "" for none.
    pub fn key_prefix(&self) -> String {
        if self.origin_path.is_empty() { String::new() } else { format!("{}/", self.origin_path) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Endpoint {
    pub bucket: String,
    pub region: Option<String>,
    pub website: bool,
}

/// Reads an S3 endpoint host name: REST (`b.s3.amazonaws.com`, `b.s3.REGION.amazonaws.com`,
/// `b.s3-REGION.amazonaws.com`, `b.s3.dualstack.REGION.amazonaws.com`) or website
/// (`b.s3-website-REGION.amazonaws.com`, `b.s3-website.REGION.amazonaws.com`).
pub fn s3_endpoint(domain: &str) -> Option<S3Endpoint> {
    let host = domain.trim_end_matches('.').to_ascii_lowercase();
    let rest = host.strip_suffix(".amazonaws.com").or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    // Bucket names may hold dots, so the endpoint part is the last `.s3` label.
    let at = rest.rfind(".s3").filter(|&i| {
        let after = &rest[i + 3..];
        after.is_empty() || after.starts_with('.') || after.starts_with('-')
    })?;
    let (bucket, endpoint) = (&rest[..at], &rest[at + 3..]);
    if bucket.is_empty() {
        return None;
    }
    let (website, region) = if let Some(r) = endpoint.strip_prefix("-website") {
        (true, r.trim_start_matches(['-', '.']))
    } else {
        (false, endpoint.trim_start_matches(['-', '.']).trim_start_matches("dualstack."))
    };
    let region = match region {
        "" | "external-1" => None,
        r => Some(r.to_owned()),
    };
    Some(S3Endpoint { bucket: bucket.to_owned(), region, website })
}

/// What doctor read about a bucket.
#[derive(Debug, Clone, Default)]
pub struct Bucket {
    /// GetBucketPolicyStatus: IsPublic.
    pub policy_public: bool,
    /// GetPublicAccessBlock, `None` when the bucket has none: BlockPublicAcls,
    /// IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets.
    pub public_access_block: Option<[bool; 4]>,
    /// Object ownership `BucketOwnerEnforced`: ACLs are off.
    pub acls_disabled: bool,
    /// ACL grants to everyone (`AllUsers`, `AuthenticatedUsers`), as "GROUP PERMISSION".
    pub public_grants: Vec<String>,
    /// The bucket policy document, if any.
    pub policy: Option<String>,
}

const BLOCK_NAMES: [&str; 4] = ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"];

/// One sampled metadata object and its `Cache-Control`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sampled {
    pub key: String,
    pub cache_control: Option<String>,
}

/// Whether a `Cache-Control` value keeps CloudFront from caching (with MinTTL 0).
pub fn forbids_caching(value: &str) -> bool {
    let mut max_age = None;
    let mut s_maxage = None;
    for directive in value.split(',') {
        let directive = directive.trim().to_ascii_lowercase();
        let (name, arg) = match directive.split_once('=') {
            Some((n, a)) => (n.trim().to_owned(), Some(a.trim().trim_matches('"').to_owned())),
            None => (directive.clone(), None),
        };
        match (name.as_str(), arg) {
            ("no-cache" | "no-store" | "private", _) => return true,
            ("max-age", Some(a)) => max_age = a.parse::<u64>().ok(),
            ("s-maxage", Some(a)) => s_maxage = a.parse::<u64>().ok(),
            _ => {}
        }
    }
    // A shared cache takes s-maxage over max-age.
    s_maxage.or(max_age) == Some(0)
}

impl Snapshot {
    /// The origins a behaviour's target names (an origin, or an origin group's members).
    pub fn origins_of(&self, target: &str) -> Vec<&Origin> {
        match self.origin_groups.get(target) {
            Some(members) => members.iter().filter_map(|m| self.origins.iter().find(|o| &o.id == m)).collect(),
            None => self.origins.iter().filter(|o| o.id == target).collect(),
        }
    }

    /// The numbered version of our function an association runs, if it is one.
    fn our_version(&self, arn: &str) -> Option<VersionArn> {
        let v = parse_version_arn(arn).ok()?;
        let ours =
            v.function == self.function_name && self.newest.as_ref().is_none_or(|newest| newest.account == v.account);
        ours.then_some(v)
    }

    /// `reconfigure-distribution` for every behaviour, with the newest version (or, when none
    /// is published, the one `publish` prints).
    fn reconfigure_command(&self, extra: &str) -> String {
        match &self.newest {
            Some(v) => format!(
                "edgegate reconfigure-distribution {v} --distribution-id {} --all-behaviors{extra}",
                self.distribution_id
            ),
            None => format!(
                "edgegate publish --config {}{} --quiet | edgegate reconfigure-distribution - --distribution-id {} \
                 --all-behaviors{extra}",
                self.config_path,
                if self.function_name == DEFAULT_FUNCTION_NAME {
                    String::new()
                } else {
                    format!(" --function-name {}", self.function_name)
                },
                self.distribution_id
            ),
        }
    }

    /// Behaviours without an origin-response association to our function: their metadata is
    /// no-cache only if the objects themselves say so.
    pub fn without_cache_headers(&self) -> Vec<&Behaviour> {
        self.behaviours
            .iter()
            .filter(|b| b.association("origin-response").and_then(|arn| self.our_version(arn)).is_none())
            .collect()
    }

    /// (bucket, region, key prefix) to sample for `metadata-cacheable`, in distribution order.
    pub fn sample_targets(&self) -> Vec<(String, Option<String>, String)> {
        let mut targets: Vec<(String, Option<String>, String)> = Vec::new();
        for b in self.without_cache_headers() {
            for o in self.origins_of(&b.target_origin_id) {
                if let Some(s3) = &o.s3 {
                    let target = (s3.bucket.clone(), s3.region.clone(), o.key_prefix());
                    if !targets.iter().any(|t| t.0 == target.0 && t.2 == target.2) {
                        targets.push(target);
                    }
                }
            }
        }
        targets
    }

    /// Every distinct S3 bucket the origins name, with its region, in origin order.
    pub fn s3_buckets(&self) -> Vec<(String, Option<String>)> {
        let mut buckets: Vec<(String, Option<String>)> = Vec::new();
        for s3 in self.origins.iter().filter_map(|o| o.s3.as_ref()) {
            if !buckets.iter().any(|(b, _)| *b == s3.bucket) {
                buckets.push((s3.bucket.clone(), s3.region.clone()));
            }
        }
        buckets
    }
}

/// Every finding of SPEC §10 for the snapshot.
pub fn run(s: &Snapshot) -> Vec<Finding> {
    let mut findings = Vec::new();
    for b in &s.behaviours {
        gate(s, b, &mut findings);
        caching(s, b, &mut findings);
        query(s, b, &mut findings);
        if b.viewer_protocol_policy == "allow-all" {
            findings.push(Finding {
                id: HTTP_ALLOWED,
                severity: Severity::Warn,
                resource: b.resource(),
                kind: Kind::Behaviour,
                why: format!(
                    "{} accepts plain HTTP (viewer protocol policy allow-all), so tokens and signed URLs can be read \
                     on the wire and replayed until they expire.",
                    b.label_capitalised()
                ),
                fix: format!("Set ViewerProtocolPolicy to redirect-to-https (or https-only) on {}.", b.label()),
            });
        }
    }
    for o in &s.origins {
        origin(s, o, &mut findings);
    }
    for (name, _) in s.s3_buckets() {
        if let Some(bucket) = s.buckets.get(&name) {
            bucket_public(&name, bucket, &mut findings);
        }
    }
    list_bucket(s, &mut findings);
    metadata(s, &mut findings);
    findings
}

fn gate(s: &Snapshot, b: &Behaviour, findings: &mut Vec<Finding>) {
    let viewer = b.association("viewer-request");
    if viewer.and_then(|arn| s.our_version(arn)).is_none() {
        let how = match viewer {
            None => "it has no viewer-request association".to_owned(),
            Some(arn) => {
                format!("its viewer-request runs {arn}, which is not a numbered version of {}", s.function_name)
            }
        };
        findings.push(Finding {
            id: BEHAVIOUR_UNGATED,
            severity: Severity::Error,
            resource: b.resource(),
            kind: Kind::Behaviour,
            why: format!(
                "{} reach origin {} without the gate: {how}, so anyone can fetch them without a token.",
                b.described(),
                b.target_origin_id
            ),
            fix: s.reconfigure_command(""),
        });
        return;
    }
    let Some(newest) = &s.newest else { return };
    for (event, arn) in &b.lambdas {
        let Some(used) = s.our_version(arn) else { continue };
        if used.version < newest.version {
            let cache_headers = if b.association("origin-response").is_some() { " --cache-headers" } else { "" };
            findings.push(Finding {
                id: VERSION_STALE,
                severity: Severity::Warn,
                resource: b.resource(),
                kind: Kind::Behaviour,
                why: format!(
                    "{} runs version {} of {} on {event}, but version {} is the newest published, so what changed \
                     since (keys, configuration, fixes) is not in force there.",
                    b.label_capitalised(),
                    used.version,
                    s.function_name,
                    newest.version
                ),
                fix: s.reconfigure_command(cache_headers),
            });
        }
    }
}

fn caching(s: &Snapshot, b: &Behaviour, findings: &mut Vec<Finding>) {
    let (min_ttl, source, fix) = match (&b.cache_policy_id, &b.legacy) {
        (Some(id), _) => {
            let Some(policy) = s.cache_policies.get(id) else { return };
            (
                policy.min_ttl,
                format!("cache policy {}", policy.name),
                format!(
                    "Attach a cache policy with MinTTL 0 to {}: the managed {ORIGIN_HEADERS_POLICY}, or a custom one \
                     with MinTTL 0.",
                    b.label()
                ),
            )
        }
        (None, Some(legacy)) => (
            legacy.min_ttl,
            "legacy cache settings".to_owned(),
            format!("Set MinTTL to 0 on {} (or attach the managed cache policy {ORIGIN_HEADERS_POLICY}).", b.label()),
        ),
        (None, None) => return,
    };
    if min_ttl > 0 {
        findings.push(Finding {
            id: MIN_TTL,
            severity: Severity::Error,
            resource: b.resource(),
            kind: Kind::Behaviour,
            why: format!(
                "{} has MinTTL {min_ttl} ({source}), so CloudFront keeps metadata at least {min_ttl} s even when it \
                 says no-cache, and clients get a Release that does not match its Packages (Hash Sum mismatch) or \
                 miss new uploads.",
                b.label_capitalised()
            ),
            fix,
        });
    }
}

fn query(s: &Snapshot, b: &Behaviour, findings: &mut Vec<Finding>) {
    // (where it is set, what it forwards)
    let mut sources: Vec<(String, &Query)> = Vec::new();
    if let Some(legacy) = &b.legacy {
        sources.push(("legacy cache settings".to_owned(), &legacy.query));
    }
    if let Some(p) = b.cache_policy_id.as_ref().and_then(|id| s.cache_policies.get(id)) {
        sources.push((format!("cache policy {}", p.name), &p.query));
    }
    if let Some(p) = b.origin_request_policy_id.as_ref().and_then(|id| s.origin_request_policies.get(id)) {
        sources.push((format!("origin request policy {}", p.name), &p.query));
    }
    let open: Vec<(String, String)> = sources
        .iter()
        .filter_map(|(place, q)| {
            let what = if place.starts_with("legacy") { "QueryString true".to_owned() } else { q.describe() };
            q.beyond(&s.forward_query).map(|_| (place.clone(), what))
        })
        .collect();
    if open.is_empty() {
        return;
    }
    let places: Vec<String> = open.iter().map(|(p, q)| format!("{p}: {q}")).collect();
    let allowed = if s.forward_query.is_empty() { "none".to_owned() } else { s.forward_query.join(", ") };
    let target = if s.forward_query.is_empty() {
        "none".to_owned()
    } else {
        format!("whitelist {}", s.forward_query.join(", "))
    };
    let what: Vec<String> = open.iter().map(|(p, _)| p.clone()).collect();
    findings.push(Finding {
        id: QUERY_TO_ORIGIN,
        severity: Severity::Warn,
        resource: b.resource(),
        kind: Kind::Behaviour,
        why: format!(
            "{} passes query strings to the origin ({}) although forward_query allows {allowed}, so a request the \
             gate does not strip carries its token and parameters to S3 and splits the cache.",
            b.label_capitalised(),
            places.join("; ")
        ),
        fix: if what.iter().all(|w| w.starts_with("legacy")) {
            format!(
                "Set QueryString to false in the legacy cache settings of {} (or attach a cache policy whose query \
                 strings are {target}).",
                b.label()
            )
        } else {
            format!("Set QueryStringBehavior to {target} in {}.", what.join(" and "))
        },
    });
}

fn origin(s: &Snapshot, o: &Origin, findings: &mut Vec<Finding>) {
    let Some(s3) = &o.s3 else { return };
    let bucket = &s3.bucket;
    let region = s3.region.as_deref().unwrap_or("REGION");
    let rest = format!("{bucket}.s3.{region}.amazonaws.com");
    let oac_fix = format!(
        "Point origin {} at the S3 REST endpoint {rest} as an S3 origin with an origin access control (OriginType s3, \
         SigningBehavior always, SigningProtocol sigv4), and grant cloudfront.amazonaws.com s3:GetObject on \
         arn:aws:s3:::{bucket}/* in the bucket policy with Condition StringEquals AWS:SourceArn {}.",
        o.id, s.distribution_arn
    );
    let reach = if s3.website {
        Some(format!(
            "Origin {} reaches bucket {bucket} through its S3 website endpoint, which serves only objects anyone may \
             read and cannot sign with OAC, so the whole repository can be fetched from S3 without a token.",
            o.id
        ))
    } else if o.custom {
        Some(format!(
            "Origin {} is a custom origin pointing at bucket {bucket}, so CloudFront cannot sign with OAC and the \
             bucket answers only if anyone may read it, without a token.",
            o.id
        ))
    } else if o.oac.is_none() && o.oai.is_none() {
        Some(format!(
            "Origin {} reaches bucket {bucket} with neither OAC nor OAI, so CloudFront's requests are anonymous and \
             succeed only if anyone may read the bucket, without a token.",
            o.id
        ))
    } else {
        None
    };
    if let Some(why) = reach {
        findings.push(Finding {
            id: ORIGIN_OPEN,
            severity: Severity::Error,
            resource: o.id.clone(),
            kind: Kind::Origin,
            why,
            fix: oac_fix,
        });
    } else if o.oac.is_none()
        && let Some(oai) = &o.oai
    {
        findings.push(Finding {
            id: ORIGIN_OAI,
            severity: Severity::Warn,
            resource: o.id.clone(),
            kind: Kind::Origin,
            why: format!(
                "Origin {} signs its requests to bucket {bucket} with the legacy origin access identity {oai}, which \
                 AWS replaced with OAC (OAI cannot use SSE-KMS objects or regions opened after December 2022).",
                o.id
            ),
            fix: format!(
                "{oac_fix} Then clear S3OriginConfig.OriginAccessIdentity on origin {} and remove the OAI's statement.",
                o.id
            ),
        });
    }
}

fn bucket_public(name: &str, bucket: &Bucket, findings: &mut Vec<Finding>) {
    let mut push = |why: String, fix: String| {
        findings.push(Finding {
            id: ORIGIN_OPEN,
            severity: Severity::Error,
            resource: name.to_owned(),
            kind: Kind::Bucket,
            why,
            fix,
        })
    };
    if bucket.policy_public {
        push(
            format!(
                "The bucket policy of {name} makes it public (GetBucketPolicyStatus IsPublic true), so its objects can be \
                 fetched from S3 directly, without a token."
            ),
            format!(
                "Remove the statements of the bucket policy of {name} that allow Principal \"*\" without an AWS:SourceArn \
                 condition; keep only the grant to cloudfront.amazonaws.com scoped to the distribution's ARN."
            ),
        );
    }
    let block_fix = format!(
        "Turn on all four settings of the public access block of {name}: aws s3api put-public-access-block --bucket {name} \
         --public-access-block-configuration \
         BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true"
    );
    match bucket.public_access_block {
        None => push(
            format!(
                "Bucket {name} has no public access block, so one policy or ACL change makes the repository public \
                 without anyone noticing."
            ),
            block_fix,
        ),
        Some(block) if block.contains(&false) => {
            let off: Vec<&str> = BLOCK_NAMES.iter().zip(block).filter(|(_, on)| !on).map(|(n, _)| *n).collect();
            push(
                format!(
                    "The public access block of bucket {name} leaves {} off, so a policy or ACL change can make the \
                     repository public.",
                    off.join(", ")
                ),
                block_fix,
            );
        }
        Some(_) => {}
    }
    let acls_ignored = bucket.acls_disabled || bucket.public_access_block.is_some_and(|b| b[1]);
    if !bucket.public_grants.is_empty() && !acls_ignored {
        push(
            format!(
                "The ACL of bucket {name} grants {}, so its objects can be fetched from S3 directly, without a token.",
                bucket.public_grants.join(", ")
            ),
            format!(
                "Disable ACLs on {name} (object ownership BucketOwnerEnforced): aws s3api put-bucket-ownership-controls \
                 --bucket {name} --ownership-controls Rules=[{{ObjectOwnership=BucketOwnerEnforced}}]"
            ),
        );
    }
}

/// The identity an S3 REST origin signs with.
enum Identity<'a> {
    Oac,
    Oai(&'a str),
}

fn list_bucket(s: &Snapshot, findings: &mut Vec<Finding>) {
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for o in &s.origins {
        let Some(s3) = o.s3.as_ref().filter(|s3| !s3.website && !o.custom) else { continue };
        let identity = match (&o.oac, &o.oai) {
            (Some(_), _) => Identity::Oac,
            (None, Some(oai)) => Identity::Oai(oai),
            (None, None) => continue,
        };
        let who = match identity {
            Identity::Oac => "OAC".to_owned(),
            Identity::Oai(id) => id.to_owned(),
        };
        if !seen.insert((s3.bucket.clone(), who)) {
            continue;
        }
        let Some(bucket) = s.buckets.get(&s3.bucket) else { continue };
        let policy = bucket.policy.as_deref().unwrap_or("");
        if grants_list_bucket(policy, &s3.bucket, &identity, &s.distribution_arn) {
            continue;
        }
        let (principal, condition) = match identity {
            Identity::Oac => (
                r#"{"Service":"cloudfront.amazonaws.com"}"#.to_owned(),
                format!(r#","Condition":{{"StringEquals":{{"AWS:SourceArn":"{}"}}}}"#, s.distribution_arn),
            ),
            Identity::Oai(id) => (
                format!(r#"{{"AWS":"arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity {id}"}}"#),
                String::new(),
            ),
        };
        let name = &s3.bucket;
        findings.push(Finding {
            id: MISSING_IS_403,
            severity: Severity::Warn,
            resource: name.clone(),
            kind: Kind::Bucket,
            why: format!(
                "Origin {}'s identity may not s3:ListBucket on {name}, so S3 answers 403 for a file that does not exist \
                 and clients report \"Forbidden\" instead of \"Not Found\".",
                o.id
            ),
            fix: format!(
                "Add this statement to the bucket policy of {name}: {{\"Sid\":\"EdgegateListForNotFound\",\"Effect\":\"Allow\",\
                 \"Principal\":{principal},\"Action\":\"s3:ListBucket\",\"Resource\":\"arn:aws:s3:::{name}\"{condition}}}"
            ),
        });
    }
}

/// Whether the bucket policy lets the origin's identity `s3:ListBucket` the bucket.
fn grants_list_bucket(policy: &str, bucket: &str, identity: &Identity<'_>, distribution_arn: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(policy) else { return false };
    let statements = match &doc["Statement"] {
        serde_json::Value::Array(items) => items.clone(),
        single @ serde_json::Value::Object(_) => vec![single.clone()],
        _ => return false,
    };
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    statements.iter().filter(|st| st["Effect"] == "Allow").any(|st| {
        let action = strings(&st["Action"]).iter().any(|a| acl_matches(&a.to_ascii_lowercase(), "s3:listbucket"));
        let resource = strings(&st["Resource"]).iter().any(|r| acl_matches(r, &bucket_arn));
        let principal = &st["Principal"];
        let everyone = principal == "*" || strings(&principal["AWS"]).iter().any(|p| p == "*");
        let who = everyone
            || match identity {
                Identity::Oac => strings(&principal["Service"]).iter().any(|p| p == "cloudfront.amazonaws.com"),
                Identity::Oai(id) => strings(&principal["AWS"]).iter().any(|p| p.ends_with(&format!(" {id}"))),
            };
        action && resource && who && source_arn_allows(&st["Condition"], distribution_arn)
    })
}

/// A condition on `aws:SourceArn` must admit the distribution; other condition keys are not
/// evaluated (they cannot be without the request).
fn source_arn_allows(condition: &serde_json::Value, distribution_arn: &str) -> bool {
    let Some(operators) = condition.as_object() else { return true };
    for values in operators.values() {
        let Some(keys) = values.as_object() else { continue };
        for (key, value) in keys {
            if key.eq_ignore_ascii_case("aws:SourceArn")
                && !strings(value).iter().any(|v| acl_matches(v, distribution_arn))
            {
                return false;
            }
        }
    }
    true
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(items) => items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

fn metadata(s: &Snapshot, findings: &mut Vec<Finding>) {
    let behaviours = s.without_cache_headers();
    if behaviours.is_empty() {
        return;
    }
    let fix = |bucket: Option<(&str, &str)>| {
        let reconfigure = s.reconfigure_command(" --cache-headers");
        match bucket {
            Some((name, prefix)) => {
                let prefix = if prefix.is_empty() { String::new() } else { format!(" --prefix {prefix}") };
                let config =
                    if s.config_path.is_empty() { String::new() } else { format!(" --config {}", s.config_path) };
                format!("{reconfigure}; or edgegate reindex --bucket {name}{prefix}{config}")
            }
            None => reconfigure,
        }
    };
    let mut done: Vec<(String, String)> = Vec::new();
    let mut non_s3: Vec<&str> = Vec::new();
    for b in &behaviours {
        for o in s.origins_of(&b.target_origin_id) {
            let Some(s3) = &o.s3 else {
                if !non_s3.contains(&o.id.as_str()) {
                    non_s3.push(&o.id);
                    findings.push(Finding {
                        id: METADATA_CACHEABLE,
                        severity: Severity::Error,
                        resource: o.id.clone(),
                        kind: Kind::Origin,
                        why: format!(
                            "{} has no origin-response association to {} and its origin {} is not S3, so nothing shows \
                             that metadata is sent with a no-cache Cache-Control.",
                            b.label_capitalised(),
                            s.function_name,
                            o.id
                        ),
                        fix: fix(None),
                    });
                }
                continue;
            };
            let key = (s3.bucket.clone(), o.key_prefix());
            if done.contains(&key) {
                continue;
            }
            done.push(key.clone());
            let users: Vec<String> = behaviours
                .iter()
                .filter(|x| {
                    s.origins_of(&x.target_origin_id)
                        .iter()
                        .any(|xo| xo.s3.as_ref().is_some_and(|x3| x3.bucket == s3.bucket) && xo.key_prefix() == key.1)
                })
                .map(|x| x.resource())
                .collect();
            let users = match users.as_slice() {
                [one] => format!("Behaviour {one} has"),
                many => format!("Behaviours {} have", many.join(", ")),
            };
            let sampled = s.samples.get(&key).map(Vec::as_slice).unwrap_or_default();
            let cacheable: Vec<&Sampled> =
                sampled.iter().filter(|o| !o.cache_control.as_deref().is_some_and(forbids_caching)).collect();
            let location = if key.1.is_empty() { s3.bucket.clone() } else { format!("{}/{}", s3.bucket, key.1) };
            let why = if sampled.is_empty() {
                format!(
                    "{users} no origin-response association to {}, and {location} holds no metadata object to show \
                     that the objects carry a no-cache Cache-Control themselves.",
                    s.function_name
                )
            } else if cacheable.is_empty() {
                continue;
            } else {
                let example = cacheable[0];
                let has = match &example.cache_control {
                    Some(v) => format!("Cache-Control: {v}"),
                    None => "no Cache-Control".to_owned(),
                };
                format!(
                    "{users} no origin-response association to {}, and {} of {} sampled metadata objects in \
                     {location} may be cached ({} has {has}), so clients can get stale indexes (Hash Sum mismatch, \
                     new uploads missing).",
                    s.function_name,
                    cacheable.len(),
                    sampled.len(),
                    example.key
                )
            };
            findings.push(Finding {
                id: METADATA_CACHEABLE,
                severity: Severity::Error,
                resource: s3.bucket.clone(),
                kind: Kind::Bucket,
                why,
                fix: fix(Some((&s3.bucket, &key.1))),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Endpoint forms from the S3 and CloudFront developer guides (REST virtual-hosted,
    /// legacy dash-region, dualstack, both website forms) and non-S3 hosts.
    #[test]
    fn s3_endpoints_are_recognised() {
        // (domain, Some((bucket, region, website)) or None for a host that is not S3)
        type Case<'a> = (&'a str, Option<(&'a str, Option<&'a str>, bool)>);
        let cases: &[Case<'_>] = &[
            ("packages.s3.amazonaws.com", Some(("packages", None, false))),
            ("packages.s3.us-east-1.amazonaws.com", Some(("packages", Some("us-east-1"), false))),
            ("my.dotted.bucket.s3.eu-west-1.amazonaws.com", Some(("my.dotted.bucket", Some("eu-west-1"), false))),
            ("packages.s3-us-west-2.amazonaws.com", Some(("packages", Some("us-west-2"), false))),
            ("packages.s3-external-1.amazonaws.com", Some(("packages", None, false))),
            ("packages.s3.dualstack.ap-south-1.amazonaws.com", Some(("packages", Some("ap-south-1"), false))),
            ("mirror.s3-website-us-east-1.amazonaws.com", Some(("mirror", Some("us-east-1"), true))),
            ("mirror.s3-website.eu-central-1.amazonaws.com", Some(("mirror", Some("eu-central-1"), true))),
            ("packages.example.com", None),
            ("api.execute-api.us-east-1.amazonaws.com", None),
            ("s3.amazonaws.com", None),
        ];
        for (domain, expected) in cases {
            let got = s3_endpoint(domain);
            let expected =
                expected.map(|(b, r, w)| S3Endpoint { bucket: b.to_owned(), region: r.map(str::to_owned), website: w });
            assert_eq!(got, expected, "{domain}");
        }
    }

    #[test]
    fn cache_control_values_that_forbid_caching() {
        for yes in [
            "no-cache, no-store, max-age=0",
            "no-cache",
            "private, max-age=600",
            "max-age=0",
            "public, s-maxage=0, max-age=60",
            "No-Store",
        ] {
            assert!(forbids_caching(yes), "{yes}");
        }
        for no in ["public, max-age=31536000, immutable", "max-age=60", "s-maxage=60, max-age=0", "", "public"] {
            assert!(!forbids_caching(no), "{no}");
        }
    }

    #[test]
    fn list_bucket_grants_are_read_from_the_policy() {
        let arn = "arn:aws:cloudfront::123456789012:distribution/E2QWRUHEXAMPLE";
        let oac = |action: &str, resource: &str, condition: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"cloudfront.amazonaws.com"}},
                "Action":{action},"Resource":{resource}{condition}}}]}}"#
            )
        };
        let scoped = format!(r#","Condition":{{"StringEquals":{{"AWS:SourceArn":"{arn}"}}}}"#);
        let other =
            r#","Condition":{"StringEquals":{"AWS:SourceArn":"arn:aws:cloudfront::123456789012:distribution/EOTHER"}}"#;
        let cases: &[(String, bool)] = &[
            (oac(r#""s3:ListBucket""#, r#""arn:aws:s3:::packages""#, &scoped), true),
            (
                oac(
                    r#"["s3:GetObject","s3:ListBucket"]"#,
                    r#"["arn:aws:s3:::packages","arn:aws:s3:::packages/*"]"#,
                    &scoped,
                ),
                true,
            ),
            (oac(r#""s3:*""#, r#""arn:aws:s3:::packages*""#, ""), true),
            (oac(r#""s3:GetObject""#, r#""arn:aws:s3:::packages/*""#, &scoped), false),
            (oac(r#""s3:ListBucket""#, r#""arn:aws:s3:::packages/*""#, &scoped), false),
            (oac(r#""s3:ListBucket""#, r#""arn:aws:s3:::packages""#, other), false),
            ("not json".to_owned(), false),
        ];
        for (policy, expected) in cases {
            assert_eq!(grants_list_bucket(policy, "packages", &Identity::Oac, arn), *expected, "{policy}");
        }
        let oai = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2OAIEXAMPLE"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::packages"}}"#;
        assert!(grants_list_bucket(oai, "packages", &Identity::Oai("E2OAIEXAMPLE"), arn));
        assert!(!grants_list_bucket(oai, "packages", &Identity::Oai("EOTHEROAI"), arn));
        assert!(!grants_list_bucket(oai, "packages", &Identity::Oac, arn));
    }
}
