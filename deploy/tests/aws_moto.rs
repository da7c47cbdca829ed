//! The deploy commands end to end: the `edgegate` binary against a real moto server started
//! by each test, with test credentials and `AWS_ENDPOINT_URL` only. What the binary did is
//! checked through the AWS SDK against the same server.
//!
//! moto must be installed (`bash tests/setup.sh`); a missing moto fails the tests, it never
//! skips them.

#[path = "../src/aws/testing.rs"]
mod testing;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use aws_sdk_cloudfront::types::{
    CacheBehavior, CacheBehaviors, DefaultCacheBehavior, DistributionConfig, Origin, Origins, S3OriginConfig,
    ViewerProtocolPolicy,
};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use testing::{MotoServer, Run, test_zip};

const NAME: &str = "packagecloud_cloudfront_auth";
const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:packagecloud_cloudfront_auth";

fn command(moto: &MotoServer, extra_env: &[(&str, &str)]) -> Command {
    let mut command = moto.edgegate_command(env!("CARGO_BIN_EXE_edgegate"));
    command.envs(extra_env.iter().copied());
    command
}

fn edgegate(moto: &MotoServer, args: &[&str]) -> Run {
    edgegate_env(moto, &[], args)
}

fn edgegate_env(moto: &MotoServer, env: &[(&str, &str)], args: &[&str]) -> Run {
    Run::from(command(moto, env).args(args).output().expect("run edgegate"))
}

/// A bundle file for this test; its bytes depend only on `marker`.
fn bundle_file(test: &str, marker: &str) -> (String, String) {
    let zip = test_zip(marker);
    let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&zip));
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("aws-moto-{test}-{marker}.zip"));
    std::fs::write(&path, zip).expect("write bundle");
    (path.display().to_string(), sha)
}

fn sdk(moto: &MotoServer) -> (aws_sdk_lambda::Client, aws_sdk_iam::Client, aws_sdk_cloudfront::Client) {
    let config = moto.sdk_config();
    (aws_sdk_lambda::Client::new(&config), aws_sdk_iam::Client::new(&config), aws_sdk_cloudfront::Client::new(&config))
}

async fn published_versions(lambda: &aws_sdk_lambda::Client) -> Vec<(String, String)> {
    let out = lambda.list_versions_by_function().function_name(NAME).send().await.expect("list versions");
    out.versions
        .unwrap_or_default()
        .into_iter()
        .filter(|v| v.version.as_deref() != Some("$LATEST"))
        .map(|v| (v.version.unwrap_or_default(), v.code_sha256.unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn bootstrap_from_nothing_creates_role_function_and_version_1() {
    let moto = MotoServer::start();
    let (bundle, sha) = bundle_file("fresh", "a");
    let run = edgegate(&moto, &["bootstrap", "--bundle", &bundle]).ok();
    assert!(run.stdout.lines().any(|l| l == format!("{ARN}:1")), "versioned ARN on its own line:\n{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("edgegate reconfigure-distribution {ARN}:1 --distribution-id ")),
        "the exact next command:\n{}",
        run.stdout
    );

    let (lambda, iam, _) = sdk(&moto);
    let f = lambda.get_function_configuration().function_name(NAME).send().await.expect("function exists");
    assert_eq!(f.runtime.as_ref().map(|r| r.as_str()), Some("nodejs22.x"));
    assert_eq!(f.handler.as_deref(), Some("index.handler"));
    assert_eq!(f.memory_size, Some(128));
    assert_eq!(f.timeout, Some(5));
    assert_eq!(
        f.architectures.unwrap_or_default().iter().map(|a| a.as_str().to_owned()).collect::<Vec<_>>(),
        vec!["x86_64"]
    );
    assert_eq!(f.role.as_deref(), Some("arn:aws:iam::123456789012:role/edgegate-lambda-edge"));
    assert_eq!(f.code_sha256.as_deref(), Some(sha.as_str()));
    assert!(
        f.environment.and_then(|e| e.variables).unwrap_or_default().is_empty(),
        "no environment variables at the edge"
    );
    assert_eq!(published_versions(&lambda).await, vec![("1".to_owned(), sha)]);

    let role = iam.get_role().role_name("edgegate-lambda-edge").send().await.expect("role").role.expect("role");
    // IAM (and moto) return the document percent-encoded.
    let trust = edgegate_core::path::percent_decode(&role.assume_role_policy_document.unwrap_or_default())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .expect("IAM returns the document percent-encoded UTF-8");
    let trust: serde_json::Value = serde_json::from_str(&trust).expect("trust policy JSON");
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        serde_json::json!(["lambda.amazonaws.com", "edgelambda.amazonaws.com"])
    );
    assert_eq!(trust["Statement"][0]["Action"], "sts:AssumeRole");
    let attached = iam.list_attached_role_policies().role_name("edgegate-lambda-edge").send().await.expect("policies");
    let attached: Vec<String> =
        attached.attached_policies.unwrap_or_default().into_iter().filter_map(|p| p.policy_arn).collect();
    assert_eq!(attached, vec!["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]);
}

#[tokio::test]
async fn bootstrap_again_converges() {
    let moto = MotoServer::start();
    let (bundle, sha) = bundle_file("again", "a");
    let first = edgegate(&moto, &["--output", "json", "bootstrap", "--bundle", &bundle]).ok().json();
    assert_eq!(first["role_created"], true);
    assert_eq!(first["function_created"], true);
    assert_eq!(first["created"], true);

    let second = edgegate(&moto, &["--output", "json", "bootstrap", "--bundle", &bundle]).ok().json();
    assert_eq!(second["role_created"], false);
    assert_eq!(second["function_created"], false);
    assert_eq!(second["created"], false, "same code: no new version");
    assert_eq!(second["version"], 1);
    assert_eq!(second["function_arn"], format!("{ARN}:1"));
    let (lambda, iam, _) = sdk(&moto);
    assert_eq!(published_versions(&lambda).await, vec![("1".to_owned(), sha)]);
    let roles = iam.list_roles().send().await.expect("roles").roles;
    assert_eq!(roles.iter().filter(|r| r.role_name == "edgegate-lambda-edge").count(), 1);

    // On an existing function with new code, bootstrap behaves like publish.
    let (bundle_b, sha_b) = bundle_file("again", "b");
    let third = edgegate(&moto, &["--output", "json", "bootstrap", "--bundle", &bundle_b]).ok().json();
    assert_eq!((third["version"].as_u64(), third["created"].as_bool()), (Some(2), Some(true)));
    assert_eq!(third["code_sha256"], sha_b);
}

#[tokio::test]
async fn publish_changed_code_publishes_the_next_version() {
    let moto = MotoServer::start();
    let (a, _) = bundle_file("changed", "a");
    let (b, sha_b) = bundle_file("changed", "b");
    let (c, sha_c) = bundle_file("changed", "c");
    edgegate(&moto, &["bootstrap", "--bundle", &a]).ok();

    let json = edgegate(&moto, &["publish", "--bundle", &b, "--output", "json"]).ok().json();
    assert_eq!(
        json,
        serde_json::json!({"function_arn": format!("{ARN}:2"), "version": 2, "code_sha256": sha_b, "created": true})
    );

    let quiet = edgegate(&moto, &["publish", "--bundle", &c, "--quiet"]).ok();
    assert_eq!(quiet.stdout, format!("{ARN}:3\n"), "--quiet prints the ARN alone");

    let (lambda, _, _) = sdk(&moto);
    let latest = lambda.get_function_configuration().function_name(NAME).send().await.expect("function");
    assert_eq!(latest.code_sha256.as_deref(), Some(sha_c.as_str()));
    let versions = published_versions(&lambda).await;
    assert_eq!(versions.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>(), vec!["1", "2", "3"]);
}

#[tokio::test]
async fn publish_unchanged_code_creates_no_version() {
    let moto = MotoServer::start();
    let (a, sha_a) = bundle_file("unchanged", "a");
    let (b, sha_b) = bundle_file("unchanged", "b");
    edgegate(&moto, &["bootstrap", "--bundle", &a]).ok();

    let same = edgegate(&moto, &["publish", "--bundle", &a, "--output", "json"]).ok().json();
    assert_eq!(
        same,
        serde_json::json!({"function_arn": format!("{ARN}:1"), "version": 1, "code_sha256": sha_a, "created": false})
    );
    edgegate(&moto, &["publish", "--bundle", &b]).ok();
    let again = edgegate(&moto, &["publish", "--bundle", &b, "--output", "json"]).ok().json();
    assert_eq!((again["version"].as_u64(), again["created"].as_bool()), (Some(2), Some(false)));
    let quiet = edgegate(&moto, &["publish", "--bundle", &b, "--quiet"]).ok();
    assert_eq!(quiet.stdout, format!("{ARN}:2\n"));

    let (lambda, _, _) = sdk(&moto);
    assert_eq!(published_versions(&lambda).await, vec![("1".to_owned(), sha_a), ("2".to_owned(), sha_b)]);
}

/// The real bundle (`--config`): deterministic, so publishing it twice is "unchanged".
#[tokio::test]
async fn publish_from_a_configuration_builds_the_bundle() {
    let moto = MotoServer::start();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/config/edgegate.toml");
    let first = edgegate(&moto, &["--output", "json", "bootstrap", "--config", config]).ok().json();
    assert_eq!(first["version"], 1);
    let second = edgegate(&moto, &["--output", "json", "publish", "--config", config]).ok().json();
    assert_eq!((second["version"].as_u64(), second["created"].as_bool()), (Some(1), Some(false)));
    assert_eq!(first["code_sha256"], second["code_sha256"]);
}

#[tokio::test]
async fn versions_lists_each_version_with_its_code_sha256() {
    let moto = MotoServer::start();
    let (a, sha_a) = bundle_file("versions", "a");
    let (b, sha_b) = bundle_file("versions", "b");
    edgegate(&moto, &["bootstrap", "--bundle", &a]).ok();
    edgegate(&moto, &["publish", "--bundle", &b]).ok();

    let json = edgegate(&moto, &["versions", "--output", "json"]).ok().json();
    assert_eq!(json["function_name"], NAME);
    let versions = json["versions"].as_array().expect("array");
    assert_eq!(versions.len(), 2, "$LATEST is not listed");
    assert_eq!(versions[0]["version"], 1);
    assert_eq!(versions[0]["function_arn"], format!("{ARN}:1"));
    assert_eq!(versions[0]["code_sha256"], sha_a);
    assert_eq!(versions[1]["code_sha256"], sha_b);
    assert!(versions[1]["last_modified"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(versions[1]["references"], serde_json::json!([]));

    let text = edgegate(&moto, &["versions"]).ok().stdout;
    assert!(text.starts_with("VERSION"), "{text}");
    assert!(text.lines().any(|l| l.starts_with('2') && l.contains(&sha_b)), "{text}");
}

#[tokio::test]
async fn prune_deletes_old_unused_versions_and_keeps_the_newest() {
    let moto = MotoServer::start();
    for (i, marker) in ["a", "b", "c", "d"].iter().enumerate() {
        let (bundle, _) = bundle_file("prune", marker);
        let command = if i == 0 { "bootstrap" } else { "publish" };
        edgegate(&moto, &[command, "--bundle", &bundle]).ok();
    }
    let (lambda, _, _) = sdk(&moto);

    let dry = edgegate(&moto, &["prune", "--keep", "2", "--dry-run", "--output", "json"]).ok().json();
    let actions: Vec<(u64, String)> = dry["versions"]
        .as_array()
        .expect("array")
        .iter()
        .map(|v| (v["version"].as_u64().unwrap_or(0), v["action"].as_str().unwrap_or("").to_owned()))
        .collect();
    assert_eq!(
        actions,
        vec![
            (4, "kept-newest".into()),
            (3, "kept-newest".into()),
            (2, "would-delete".into()),
            (1, "would-delete".into())
        ]
    );
    assert_eq!(published_versions(&lambda).await.len(), 4, "dry run deleted something");

    let run = edgegate(&moto, &["prune", "--keep", "2"]).ok();
    assert!(run.stdout.contains("version 1      deleted"), "{}", run.stdout);
    assert!(run.stdout.contains("version 4      kept (newest)"), "{}", run.stdout);
    let left: Vec<String> = published_versions(&lambda).await.into_iter().map(|(v, _)| v).collect();
    assert_eq!(left, vec!["3", "4"]);

    let refused = edgegate(&moto, &["prune", "--keep", "0"]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("--keep 0"), "{}", refused.stderr);
}

#[tokio::test]
async fn lambda_is_pinned_to_us_east_1_whatever_the_profile_region() {
    let moto = MotoServer::start();
    let (bundle, _) = bundle_file("region", "a");
    let run =
        edgegate_env(&moto, &[("AWS_REGION", "eu-west-1")], &["--output", "json", "bootstrap", "--bundle", &bundle])
            .ok();
    assert_eq!(run.json()["function_arn"], format!("{ARN}:1"));
}

#[tokio::test]
async fn aws_errors_name_call_resource_and_code_and_exit_3() {
    let moto = MotoServer::start();
    let (bundle, _) = bundle_file("errors", "a");
    let run = edgegate(&moto, &["publish", "--bundle", &bundle, "--function-name", "missing-fn"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("lambda:GetFunctionConfiguration on missing-fn failed: ResourceNotFoundException"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("edgegate bootstrap"), "says what to do: {}", run.stderr);

    let run = edgegate(&moto, &["reconfigure-distribution", &format!("{ARN}:1"), "--distribution-id", "ENOPE"]);
    assert_eq!(run.code, 2, "version 1 does not exist yet: {}", run.stderr);
    assert!(run.stderr.contains("version 1 of function packagecloud_cloudfront_auth does not exist"), "{}", run.stderr);

    edgegate(&moto, &["bootstrap", "--bundle", &bundle]).ok();
    let run = edgegate(&moto, &["reconfigure-distribution", &format!("{ARN}:1"), "--distribution-id", "ENOPE"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("cloudfront:GetDistributionConfig on ENOPE failed: NoSuchDistribution"),
        "{}",
        run.stderr
    );

    // Unreachable endpoint: a transport error is still an AWS failure, and says so.
    let run = edgegate_env(&moto, &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")], &["versions"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("lambda:ListVersionsByFunction on packagecloud_cloudfront_auth failed"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn bad_inputs_exit_2_with_a_message() {
    let moto = MotoServer::start();
    let missing = edgegate(&moto, &["publish", "--bundle", "/nonexistent/bundle.zip"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("--bundle: cannot read /nonexistent/bundle.zip"), "{}", missing.stderr);

    let not_zip = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("aws-moto-not-a-zip.zip");
    std::fs::write(&not_zip, b"hello").expect("write");
    let run = edgegate(&moto, &["bootstrap", "--bundle", &not_zip.display().to_string()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is not a zip archive"), "{}", run.stderr);

    let refusals = [
        (format!("{ARN}:$LATEST"), "$LATEST cannot be associated"),
        (format!("{ARN}:live"), "is an alias"),
        (ARN.to_owned(), "has no version"),
        (ARN.replace("us-east-1", "eu-west-1") + ":1", "must be in us-east-1"),
    ];
    for (arn, expected) in refusals {
        let run = edgegate(&moto, &["reconfigure-distribution", &arn, "--distribution-id", "E2QWRUHEXAMPLE"]);
        assert_eq!(run.code, 2, "{arn}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{arn}: {}", run.stderr);
    }
    let run = edgegate(&moto, &["reconfigure-distribution", &format!("{ARN}:1"), "--distribution-id", "E2Q/../x"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is not a CloudFront distribution id"), "{}", run.stderr);
}

async fn moto_distribution(cloudfront: &aws_sdk_cloudfront::Client) -> String {
    // AWS's managed CachingOptimized policy: the modern alternative to ForwardedValues/TTLs.
    let caching_optimized = "658327ea-f89d-4fab-a63d-7e88639e58f6";
    let config = DistributionConfig::builder()
        .caller_reference("edgegate-aws-moto")
        .comment("edgegate test")
        .enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(
                    Origin::builder()
                        .id("s3")
                        .domain_name("packages.s3.amazonaws.com")
                        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
                        .build()
                        .expect("origin"),
                )
                .build()
                .expect("origins"),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("s3")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .cache_policy_id(caching_optimized)
                .build()
                .expect("default behaviour"),
        )
        .cache_behaviors(
            CacheBehaviors::builder()
                .quantity(1)
                .items(
                    CacheBehavior::builder()
                        .path_pattern("/acme/*")
                        .target_origin_id("s3")
                        .viewer_protocol_policy(ViewerProtocolPolicy::HttpsOnly)
                        .cache_policy_id(caching_optimized)
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

/// moto drops the associations and ignores If-Match (the replay tests check those); this is
/// the whole command over the wire against moto's CloudFront, and the CI pipe.
#[tokio::test]
async fn reconfigure_distribution_over_the_wire_and_from_a_pipe() {
    let moto = MotoServer::start();
    let (a, _) = bundle_file("reconfigure", "a");
    edgegate(&moto, &["bootstrap", "--bundle", &a]).ok();
    let (_, _, cloudfront) = sdk(&moto);
    let id = moto_distribution(&cloudfront).await;
    let arn1 = format!("{ARN}:1");

    let dry = edgegate(
        &moto,
        &["reconfigure-distribution", &arn1, "--distribution-id", &id, "--path-pattern", "/acme/*", "--dry-run"],
    )
    .ok();
    assert!(dry.stdout.contains("default cache behaviour: change"), "{}", dry.stdout);
    assert!(dry.stdout.contains("cache behaviour /acme/*: change"), "{}", dry.stdout);
    assert!(dry.stdout.contains("dry run: nothing written"), "{}", dry.stdout);

    let json = edgegate(
        &moto,
        &["--output", "json", "reconfigure-distribution", &arn1, "--distribution-id", &id, "--path-pattern", "/acme/*"],
    )
    .ok()
    .json();
    assert_eq!(json["updated"], true);
    assert_eq!(json["behaviors"][1]["after"][0]["lambda_function_arn"], arn1);

    let wrong =
        edgegate(&moto, &["reconfigure-distribution", &arn1, "--distribution-id", &id, "--path-pattern", "/nope/*"]);
    assert_eq!(wrong.code, 2);
    assert!(wrong.stderr.contains("matches no cache behaviour"), "{}", wrong.stderr);

    // CI: publish --quiet piped into reconfigure-distribution -.
    let (b, _) = bundle_file("reconfigure", "b");
    let mut publish = command(&moto, &[])
        .args(["publish", "--quiet", "--bundle", &b])
        .stdout(Stdio::piped())
        .spawn()
        .expect("publish");
    let stdout = publish.stdout.take().expect("pipe");
    let reconfigure = command(&moto, &[])
        .args(["--output", "json", "reconfigure-distribution", "-", "--distribution-id", &id])
        .stdin(stdout)
        .output()
        .expect("reconfigure");
    assert!(publish.wait().expect("publish exit").success());
    let piped = Run::from(reconfigure).ok().json();
    assert_eq!(piped["function_arn"], format!("{ARN}:2"));
    assert_eq!(piped["updated"], true);

    let empty = Run::from(
        command(&moto, &[])
            .args(["reconfigure-distribution", "-", "--distribution-id", &id])
            .stdin(Stdio::null())
            .output()
            .expect("run"),
    );
    assert_eq!(empty.code, 2);
    assert!(empty.stderr.contains("no function ARN on standard input"), "{}", empty.stderr);
}
