//! `doctor` against a real moto server (one per test) for what moto implements: S3 bucket
//! policies and their public status, public access blocks, ownership controls, objects and
//! their `Cache-Control`; CloudFront distributions with legacy cache settings.
//!
//! What moto does not keep, and what these tests therefore expect: moto drops
//! `LambdaFunctionAssociations` (every behaviour reads as ungated), `OriginAccessControlId`
//! and `S3OriginConfig` (every S3 origin reads as reached with neither OAC nor OAI), and has
//! no cache-policy API (the distributions here use legacy `ForwardedValues`/`MinTTL`). For a
//! clean run (exit 0) the CloudFront and Lambda answers come from a replay client while S3
//! stays moto, as `crate::aws::moto_tests` does for version references.

use aws_sdk_cloudfront::types::{
    CacheBehavior, CacheBehaviors, CookiePreference, DefaultCacheBehavior, DistributionConfig, ForwardedValues,
    ItemSelection, Origin, Origins, S3OriginConfig, ViewerProtocolPolicy,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ObjectOwnership, OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration};
use aws_smithy_http_client::test_util::StaticReplayClient;

use super::gather::{Inputs, Readers};
use super::replay_tests::{
    Access, Behaviour as FixtureBehaviour, CACHING_DISABLED, DIST, DIST_ARN, Origin as FixtureOrigin, World, arn,
    oac_policy,
};
use super::report::Report;
use super::{DoctorArgs, doctor, print};
use crate::aws::clients::Clients;
use crate::aws::function::FunctionArgs;
use crate::aws::replay_tests::replay_sdk_config;
use crate::aws::testing::MotoServer;
use crate::output::{AwsFailure, Output, Status, exit_code_for};

const PRIVATE: &str = "private-packages";
const PUBLIC: &str = "public-packages";
const REINDEXED: &str = "no-cache, no-store, max-age=0";

fn s3(moto: &MotoServer) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&moto.sdk_config()).force_path_style(true).build();
    aws_sdk_s3::Client::from_conf(config)
}

fn inputs(distribution_id: &str) -> Inputs {
    Inputs {
        distribution_id: distribution_id.to_owned(),
        function_name: "packagecloud_cloudfront_auth".into(),
        config_path: "edgegate.toml".into(),
        ..Inputs::default()
    }
}

/// The exit code `main` gives a run (SPEC §7).
fn exit_code(result: &anyhow::Result<Status>) -> u8 {
    match result {
        Ok(Status::Ok) => 0,
        Ok(Status::Denied) => 1,
        Err(e) => exit_code_for(e),
    }
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, cache_control: Option<&str>) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .set_cache_control(cache_control.map(str::to_owned))
        .body(ByteStream::from_static(b"Origin: edgegate test\n"))
        .send()
        .await
        .expect("put object");
}

/// A bucket as an OAC origin wants it: all four public access blocks on, ACLs disabled, a
/// policy granting the distribution GetObject and ListBucket.
async fn private_bucket(s3: &aws_sdk_s3::Client, name: &str, list: bool) {
    s3.create_bucket().bucket(name).send().await.expect("create bucket");
    let block = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    s3.put_public_access_block().bucket(name).public_access_block_configuration(block).send().await.expect("block");
    let rule =
        OwnershipControlsRule::builder().object_ownership(ObjectOwnership::BucketOwnerEnforced).build().expect("rule");
    let controls = OwnershipControls::builder().rules(rule).build().expect("controls");
    s3.put_bucket_ownership_controls().bucket(name).ownership_controls(controls).send().await.expect("ownership");
    s3.put_bucket_policy().bucket(name).policy(oac_policy(name, list)).send().await.expect("policy");
}

/// A bucket anyone may read: a policy with Principal "*", no public access block.
async fn public_bucket(s3: &aws_sdk_s3::Client, name: &str) {
    s3.create_bucket().bucket(name).send().await.expect("create bucket");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"PublicRead","Effect":"Allow","Principal":"*",
        "Action":"s3:GetObject","Resource":"arn:aws:s3:::{name}/*"}}]}}"#
    );
    s3.put_bucket_policy().bucket(name).policy(policy).send().await.expect("policy");
}

/// An apt repository's metadata and one package; `packages_cache_control` is what the
/// `Packages` index carries (the others are reindexed).
async fn repository(s3: &aws_sdk_s3::Client, bucket: &str, packages_cache_control: Option<&str>) {
    put(s3, bucket, "dists/stable/InRelease", Some(REINDEXED)).await;
    put(s3, bucket, "dists/stable/main/binary-amd64/Packages", packages_cache_control).await;
    put(s3, bucket, "pool/main/h/hello/hello_2.10-3_amd64.deb", Some("public, max-age=31536000, immutable")).await;
}

fn legacy_settings() -> ForwardedValues {
    ForwardedValues::builder()
        .query_string(false)
        .cookies(CookiePreference::builder().forward(ItemSelection::None).build().expect("cookies"))
        .build()
        .expect("forwarded values")
}

/// A distribution on moto: the default behaviour on the private bucket, `/public/*` on the
/// public one; legacy cache settings with MinTTL 0, HTTPS only.
#[allow(deprecated)]
async fn distribution(moto: &MotoServer) -> String {
    let cloudfront = aws_sdk_cloudfront::Client::new(&moto.sdk_config());
    let origin = |id: &str, bucket: &str| {
        Origin::builder()
            .id(id)
            .domain_name(format!("{bucket}.s3.us-east-1.amazonaws.com"))
            .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
            .origin_access_control_id("E1OACEXAMPLE")
            .build()
            .expect("origin")
    };
    let config = DistributionConfig::builder()
        .caller_reference("edgegate-doctor-moto")
        .comment("edgegate doctor test")
        .enabled(true)
        .origins(
            Origins::builder()
                .quantity(2)
                .items(origin("private-s3", PRIVATE))
                .items(origin("public-s3", PUBLIC))
                .build()
                .expect("origins"),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("private-s3")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .forwarded_values(legacy_settings())
                .min_ttl(0)
                .build()
                .expect("default behaviour"),
        )
        .cache_behaviors(
            CacheBehaviors::builder()
                .quantity(1)
                .items(
                    CacheBehavior::builder()
                        .path_pattern("/public/*")
                        .target_origin_id("public-s3")
                        .viewer_protocol_policy(ViewerProtocolPolicy::HttpsOnly)
                        .forwarded_values(legacy_settings())
                        .min_ttl(0)
                        .build()
                        .expect("behaviour"),
                )
                .build()
                .expect("behaviours"),
        )
        .build()
        .expect("distribution config");
    let out = cloudfront.create_distribution().distribution_config(config).send().await.expect("create distribution");
    out.distribution.expect("distribution").id
}

fn by_bucket<'r>(report: &'r Report, bucket: &str) -> Vec<&'r str> {
    report.findings.iter().filter(|f| f.resource == bucket).map(|f| f.id).collect()
}

#[tokio::test]
async fn a_public_bucket_and_a_private_one() {
    let moto = MotoServer::start();
    let s3 = s3(&moto);
    private_bucket(&s3, PRIVATE, true).await;
    public_bucket(&s3, PUBLIC).await;
    repository(&s3, PRIVATE, Some(REINDEXED)).await;
    repository(&s3, PUBLIC, Some(REINDEXED)).await;
    let id = distribution(&moto).await;
    // The private bucket grants read and list to this distribution alone (its ARN exists
    // only now).
    let arn = format!("arn:aws:cloudfront::123456789012:distribution/{id}");
    let policy = oac_policy(PRIVATE, true).replace(DIST_ARN, &arn);
    s3.put_bucket_policy().bucket(PRIVATE).policy(policy).send().await.expect("policy");

    let report = doctor(&Readers::new(moto.sdk_config()), inputs(&id)).await.expect("doctor");
    // The public bucket: its policy is public (moto's GetBucketPolicyStatus), it has no
    // public access block, and its policy does not let the origin's OAC list it. The
    // private one: nothing.
    assert_eq!(by_bucket(&report, PUBLIC), vec!["origin-open", "origin-open", "missing-is-403"], "{}", report.text());
    assert!(report.findings.iter().any(|f| f.resource == PUBLIC && f.why.contains("IsPublic true")));
    assert!(by_bucket(&report, PRIVATE).is_empty(), "{}", report.text());
    // What moto drops shows up as what it would mean on AWS: no association (ungated).
    // Nothing else: moto 5.2.6 keeps each origin's OAC (the moto this test was first
    // written against dropped it, and the origins then showed as reached anonymously).
    let rest: Vec<(&str, &str)> = report
        .findings
        .iter()
        .filter(|f| f.resource != PUBLIC && f.resource != PRIVATE)
        .map(|f| (f.id, f.resource.as_str()))
        .collect();
    assert_eq!(rest, vec![("behaviour-ungated", "default"), ("behaviour-ungated", "/public/*")], "{}", report.text());
    // Both buckets were sampled (no origin-response association on moto): the two indexes
    // of each, not the package.
    assert_eq!(report.scope.sampled_objects, 4);
    assert_eq!(exit_code(&print(&report, Output::Text)), 1);
}

#[tokio::test]
async fn sampled_metadata_with_and_without_a_no_cache_header() {
    let moto = MotoServer::start();
    let s3 = s3(&moto);
    private_bucket(&s3, PRIVATE, true).await;
    public_bucket(&s3, PUBLIC).await;
    repository(&s3, PRIVATE, Some(REINDEXED)).await;
    // Written by a repository tool that sets no Cache-Control.
    repository(&s3, PUBLIC, None).await;
    let id = distribution(&moto).await;

    let report = doctor(&Readers::new(moto.sdk_config()), inputs(&id)).await.expect("doctor");
    let metadata: Vec<&str> =
        report.findings.iter().filter(|f| f.id == "metadata-cacheable").map(|f| f.resource.as_str()).collect();
    assert_eq!(metadata, vec![PUBLIC], "{}", report.text());
    let f = report.findings.iter().find(|f| f.id == "metadata-cacheable").expect("finding");
    assert!(f.why.contains("1 of 2 sampled metadata objects"), "{}", f.why);
    assert!(f.why.contains("dists/stable/main/binary-amd64/Packages has no Cache-Control"), "{}", f.why);
    assert!(f.fix.contains(&format!("edgegate reindex --bucket {PUBLIC}")), "{}", f.fix);

    // Reindexed (what `edgegate reindex` writes), the finding is gone.
    put(&s3, PUBLIC, "dists/stable/main/binary-amd64/Packages", Some(REINDEXED)).await;
    let report = doctor(&Readers::new(moto.sdk_config()), inputs(&id)).await.expect("doctor");
    assert!(!report.findings.iter().any(|f| f.id == "metadata-cacheable"), "{}", report.text());
}

/// CloudFront and Lambda from a replay client (a gated distribution with OAC, which moto
/// cannot hold), S3 from moto.
fn hybrid(moto: &MotoServer, world: &World) -> (Readers, StaticReplayClient) {
    let http = StaticReplayClient::new(world.cloudfront_events());
    let clients = Clients::from_sdk_config(&replay_sdk_config(&http));
    (Readers { clients, sdk: moto.sdk_config() }, http)
}

/// One behaviour, viewer-request only (so the bucket's objects must carry no-cache), on an
/// OAC origin for the moto bucket.
fn gated_world() -> World {
    let mut world = World::clean();
    let mut behaviour = FixtureBehaviour::gated(None, "private-s3", CACHING_DISABLED);
    behaviour.origin_response = None;
    behaviour.viewer_request = Some(arn(7));
    world.behaviours = vec![behaviour];
    world.origins = vec![FixtureOrigin {
        id: "private-s3",
        domain: format!("{PRIVATE}.s3.us-east-1.amazonaws.com"),
        path: "",
        access: Access::Oac,
    }];
    world
}

#[tokio::test]
async fn exit_codes_0_and_1_with_s3_on_moto() {
    let moto = MotoServer::start();
    let s3 = s3(&moto);
    private_bucket(&s3, PRIVATE, true).await;
    repository(&s3, PRIVATE, Some(REINDEXED)).await;
    let world = gated_world();

    let (readers, _) = hybrid(&moto, &world);
    let report = doctor(&readers, inputs(DIST)).await.expect("doctor");
    assert!(report.findings.is_empty(), "{}", report.text());
    assert_eq!(exit_code(&print(&report, Output::Text)), 0);

    // Without ListBucket for the distribution: a warning, still exit 0.
    s3.put_bucket_policy().bucket(PRIVATE).policy(oac_policy(PRIVATE, false)).send().await.expect("policy");
    let (readers, _) = hybrid(&moto, &world);
    let report = doctor(&readers, inputs(DIST)).await.expect("doctor");
    let ids: Vec<&str> = report.findings.iter().map(|f| f.id).collect();
    assert_eq!(ids, vec!["missing-is-403"], "{}", report.text());
    assert!(report.findings[0].fix.contains(DIST_ARN), "{}", report.findings[0].fix);
    assert_eq!(exit_code(&print(&report, Output::Json)), 0);

    // An index uploaded without Cache-Control: an error, exit 1.
    put(&s3, PRIVATE, "dists/stable/main/binary-amd64/Packages", None).await;
    let (readers, _) = hybrid(&moto, &world);
    let report = doctor(&readers, inputs(DIST)).await.expect("doctor");
    let ids: Vec<&str> = report.findings.iter().map(|f| f.id).collect();
    assert_eq!(ids, vec!["metadata-cacheable", "missing-is-403"], "{}", report.text());
    assert_eq!(exit_code(&print(&report, Output::Text)), 1);
}

#[tokio::test]
async fn exit_code_3_names_the_call_and_2_for_usage() {
    let moto = MotoServer::start();
    let error = doctor(&Readers::new(moto.sdk_config()), inputs("E0000NOTTHERE")).await.expect_err("no distribution");
    let failure = error.downcast_ref::<AwsFailure>().expect("AWS failure");
    assert_eq!(failure.call, "cloudfront:GetDistribution");
    assert_eq!(failure.resource, "E0000NOTTHERE");
    assert_eq!(failure.code.as_deref(), Some("NoSuchDistribution"));
    assert_eq!(exit_code(&Err(error)), 3);

    // A bucket doctor may not read names the IAM action, not the API operation.
    let (readers, _) = hybrid(&moto, &gated_world());
    let error = doctor(&readers, inputs(DIST)).await.expect_err("no such bucket");
    let failure = error.downcast_ref::<AwsFailure>().expect("AWS failure");
    assert_eq!((failure.call.as_str(), failure.code.as_deref()), ("s3:GetBucketPolicyStatus", Some("NoSuchBucket")));
    assert_eq!(exit_code(&Err(error)), 3);

    // Usage and configuration errors never reach AWS.
    let args = |id: &str, config: Option<std::path::PathBuf>| DoctorArgs {
        distribution_id: id.to_owned(),
        config,
        function: FunctionArgs { function_name: "packagecloud_cloudfront_auth".into() },
    };
    let bad_id = super::run(&args("E2Q/../x", None), Output::Text).await;
    assert_eq!(exit_code(&bad_id), 2);
    let path = std::env::temp_dir().join(format!("edgegate-doctor-{}.toml", std::process::id()));
    std::fs::write(&path, "forward_query = \"not a list\"\n").expect("write config");
    let bad_config = super::run(&args(DIST, Some(path.clone())), Output::Text).await;
    let _ = std::fs::remove_file(&path);
    assert_eq!(exit_code(&bad_config), 2, "{bad_config:?}");
}
