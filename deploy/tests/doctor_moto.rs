//! `edgegate doctor` as an operator runs it: the binary against a real moto server, with
//! test credentials and `AWS_ENDPOINT_URL` only. Exit codes (SPEC §7), the text report's
//! last line and the JSON shape documented in docs/deploy.md. moto drops Lambda
//! associations and OAC ids, so a distribution there always has error findings (exit 1);
//! exit 0 is covered in-process (`deploy/src/doctor/moto_tests.rs`), where CloudFront is
//! replayed and S3 is moto.

#[path = "../src/aws/testing.rs"]
mod testing;

use aws_sdk_cloudfront::types::{
    CookiePreference, DefaultCacheBehavior, DistributionConfig, ForwardedValues, ItemSelection, Origin, Origins,
    S3OriginConfig, ViewerProtocolPolicy,
};
use aws_sdk_s3::primitives::ByteStream;
use testing::{MotoServer, Run, test_zip};

/// The stable finding ids (SPEC §10, docs/deploy.md "Check the distribution").
const IDS: [&str; 9] = [
    "behaviour-ungated",
    "version-stale",
    "origin-open",
    "origin-oai",
    "min-ttl",
    "metadata-cacheable",
    "query-to-origin",
    "http-allowed",
    "missing-is-403",
];

fn edgegate(moto: &MotoServer, args: &[&str]) -> Run {
    Run::from(moto.edgegate_command(env!("CARGO_BIN_EXE_edgegate")).args(args).output().expect("run edgegate"))
}

/// A public bucket with an index that may be cached, behind a distribution with MinTTL 5
/// and plain HTTP allowed.
#[allow(deprecated)]
async fn misconfigured(moto: &MotoServer) -> String {
    let config = moto.sdk_config();
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    s3.create_bucket().bucket("packages").send().await.expect("bucket");
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::packages/*"}]}"#;
    s3.put_bucket_policy().bucket("packages").policy(policy).send().await.expect("policy");
    s3.put_object()
        .bucket("packages")
        .key("dists/stable/InRelease")
        .body(ByteStream::from_static(b"Origin: test\n"))
        .send()
        .await
        .expect("object");

    let cloudfront = aws_sdk_cloudfront::Client::new(&config);
    let forwarded = ForwardedValues::builder()
        .query_string(false)
        .cookies(CookiePreference::builder().forward(ItemSelection::None).build().expect("cookies"))
        .build()
        .expect("forwarded values");
    let distribution = DistributionConfig::builder()
        .caller_reference("edgegate-doctor-binary")
        .comment("edgegate doctor test")
        .enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(
                    Origin::builder()
                        .id("packages-s3")
                        .domain_name("packages.s3.us-east-1.amazonaws.com")
                        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
                        .build()
                        .expect("origin"),
                )
                .build()
                .expect("origins"),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("packages-s3")
                .viewer_protocol_policy(ViewerProtocolPolicy::AllowAll)
                .forwarded_values(forwarded)
                .min_ttl(5)
                .build()
                .expect("default behaviour"),
        )
        .build()
        .expect("distribution config");
    let out = cloudfront.create_distribution().distribution_config(distribution).send().await.expect("create");
    out.distribution.expect("distribution").id
}

#[tokio::test]
async fn findings_exit_1_with_a_text_report_and_the_documented_json() {
    let moto = MotoServer::start();
    let id = misconfigured(&moto).await;

    let text = edgegate(&moto, &["doctor", "--distribution-id", &id]);
    assert_eq!(text.code, 1, "stdout:\n{}\nstderr:\n{}", text.stdout, text.stderr);
    assert!(text.stdout.starts_with(&format!("distribution {id} (")), "{}", text.stdout);
    assert!(text.stdout.contains("\nERRORS\n") && text.stdout.contains("\nWARNINGS\n"), "{}", text.stdout);
    assert!(text.stdout.ends_with("\n6 errors, 1 warning\n"), "{}", text.stdout);

    let json = edgegate(&moto, &["doctor", "--distribution-id", &id, "--output", "json"]);
    assert_eq!(json.code, 1, "{}", json.stderr);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(report["distribution_id"], id.as_str());
    let findings = report["findings"].as_array().expect("findings");
    let found: Vec<(&str, &str)> =
        findings.iter().map(|f| (f["id"].as_str().expect("id"), f["resource"].as_str().expect("resource"))).collect();
    assert_eq!(
        found,
        vec![
            ("behaviour-ungated", "default"),
            ("origin-open", "packages-s3"),
            ("origin-open", "packages"),
            ("origin-open", "packages"),
            ("min-ttl", "default"),
            ("metadata-cacheable", "packages"),
            ("http-allowed", "default"),
        ]
    );
    for f in findings {
        assert!(IDS.contains(&f["id"].as_str().expect("id")), "{f}");
        let keys: Vec<&str> = f.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(keys, vec!["id", "severity", "resource", "why", "fix"]);
    }
    assert_eq!((report["errors"].as_u64(), report["warnings"].as_u64()), (Some(6), Some(1)));
}

#[tokio::test]
async fn aws_errors_exit_3_and_usage_errors_exit_2() {
    let moto = MotoServer::start();
    let missing = edgegate(&moto, &["doctor", "--distribution-id", "E0000NOTTHERE"]);
    assert_eq!(missing.code, 3, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("cloudfront:GetDistribution on E0000NOTTHERE failed: NoSuchDistribution"),
        "{}",
        missing.stderr
    );

    let bad = edgegate(&moto, &["doctor", "--distribution-id", "not/an/id"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    let usage = edgegate(&moto, &["doctor"]);
    assert_eq!(usage.code, 2, "{}", usage.stderr);
    assert!(missing.stdout.is_empty() && bad.stdout.is_empty());
}

/// `bootstrap` and `reconfigure-distribution` end by naming doctor as the next step.
#[tokio::test]
async fn bootstrap_and_reconfigure_name_doctor_as_the_next_step() {
    let moto = MotoServer::start();
    let bundle = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("doctor-next-step.zip");
    std::fs::write(&bundle, test_zip("doctor-next-step")).expect("write bundle");
    let bundle = bundle.display().to_string();
    let bootstrap = edgegate(&moto, &["bootstrap", "--bundle", &bundle]);
    assert_eq!(bootstrap.code, 0, "{}", bootstrap.stderr);
    assert!(
        bootstrap.stdout.ends_with("  edgegate doctor --distribution-id YOUR_DISTRIBUTION_ID\n"),
        "{}",
        bootstrap.stdout
    );

    let id = misconfigured(&moto).await;
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:packagecloud_cloudfront_auth:1";
    let reconfigure = edgegate(&moto, &["reconfigure-distribution", arn, "--distribution-id", &id]);
    assert_eq!(reconfigure.code, 0, "{}", reconfigure.stderr);
    assert!(
        reconfigure.stdout.ends_with(&format!("  edgegate doctor --distribution-id {id}\n")),
        "{}",
        reconfigure.stdout
    );
}
