//! `reindex` against the two peers that can answer it: the SDK's `StaticReplayClient` for
//! what moto ignores (`x-amz-copy-source-if-match`, `If-Match`, a 412 mid-run), and a real
//! moto S3 server for everything it implements (objects, metadata, tags, multipart copy).
//!
//! Replay bodies follow the S3 API reference's response syntax for ListObjectsV2,
//! GetBucketVersioning, CopyObject, CreateMultipartUpload, UploadPartCopy,
//! CompleteMultipartUpload and the `Error` document (PreconditionFailed: HTTP 412).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::test_util::StaticReplayClient;

use super::*;
use crate::aws::replay_tests::{replay_sdk_config, respond};
use crate::aws::testing::MotoServer;

const S3_NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
const PACKAGE: &str = "public, max-age=31536000, immutable";
const METADATA: &str = "no-cache, no-store, max-age=0";

fn plan(bucket: &str) -> Plan {
    Plan {
        bucket: bucket.into(),
        prefix: String::new(),
        dry_run: false,
        concurrency: 1,
        cache: CacheConfig::default(),
        multipart_threshold: COPY_LIMIT,
        part_size: PART_SIZE,
    }
}

fn replay_client(http: &StaticReplayClient) -> Client {
    let config = aws_sdk_s3::config::Builder::from(&replay_sdk_config(http)).force_path_style(true).build();
    Client::from_conf(config)
}

fn xml(status: u16, body: &str) -> aws_smithy_http_client::test_util::ReplayEvent {
    respond(status, &[("content-type", "application/xml")], body)
}

fn not_versioned() -> aws_smithy_http_client::test_util::ReplayEvent {
    xml(200, &format!(r#"<?xml version="1.0" encoding="UTF-8"?><VersioningConfiguration xmlns="{S3_NS}"/>"#))
}

fn listing(objects: &[(&str, u64)]) -> aws_smithy_http_client::test_util::ReplayEvent {
    let contents: String = objects
        .iter()
        .map(|(key, size)| {
            format!(
                "<Contents><Key>{key}</Key><LastModified>2026-11-01T00:00:00.000Z</LastModified><ETag>&quot;e-{key}&quot;</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass></Contents>"
            )
        })
        .collect();
    xml(
        200,
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="{S3_NS}"><Name>repo</Name><Prefix></Prefix><KeyCount>{}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{contents}</ListBucketResult>"#,
            objects.len()
        ),
    )
}

fn head(etag: &str, cache_control: Option<&str>, size: u64) -> aws_smithy_http_client::test_util::ReplayEvent {
    let size = size.to_string();
    let mut headers = vec![
        ("etag", etag),
        ("content-length", size.as_str()),
        ("content-type", "application/vnd.debian.binary-package"),
        ("content-encoding", "identity"),
        ("x-amz-meta-origin", "upload-42"),
        ("x-amz-storage-class", "STANDARD_IA"),
        ("x-amz-server-side-encryption", "aws:kms"),
        ("x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:us-east-1:123456789012:key/k1"),
        ("x-amz-server-side-encryption-bucket-key-enabled", "true"),
        ("expires", "Wed, 01 Dec 2094 16:00:00 GMT"),
    ];
    if let Some(value) = cache_control {
        headers.push(("cache-control", value));
    }
    respond(200, &headers, "")
}

fn copied() -> aws_smithy_http_client::test_util::ReplayEvent {
    xml(
        200,
        r#"<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><ETag>"new"</ETag><LastModified>2026-11-28T00:00:00.000Z</LastModified></CopyObjectResult>"#,
    )
}

fn precondition_failed() -> aws_smithy_http_client::test_util::ReplayEvent {
    xml(
        412,
        r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>x-amz-copy-source-If-Match</Condition><RequestId>R1</RequestId></Error>"#,
    )
}

/// The request's path, without the host and the SDK's `?x-id=` operation marker.
fn path_of(request: &aws_smithy_runtime_api::client::orchestrator::HttpRequest) -> String {
    let uri = request.uri();
    let after_host = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let path = after_host.find('/').map_or("/", |i| &after_host[i..]);
    path.split('?').next().unwrap_or(path).to_owned()
}

fn header<'a>(request: &'a aws_smithy_runtime_api::client::orchestrator::HttpRequest, name: &str) -> Option<&'a str> {
    request.headers().get(name)
}

#[tokio::test]
async fn every_copy_is_conditional_on_the_etag_read_and_carries_the_headers() {
    let http = StaticReplayClient::new(vec![
        not_versioned(),
        listing(&[("pool/main/a/a_1.0_all.deb", 10), ("dists/bookworm/Release", 10), ("dists/bookworm/InRelease", 10)]),
        head("\"etag-a\"", None, 10),
        copied(),
        head("\"etag-r\"", Some("max-age=86400"), 10),
        copied(),
        head("\"etag-i\"", Some(METADATA), 10),
    ]);
    let report = reindex(&replay_client(&http), &plan("repo"), &Progress::hidden()).await.expect("reindex");
    assert!(report.complete(), "{report:?}");
    assert_eq!(report.by_class["package"], Counts { changed: 1, ..Counts::default() });
    assert_eq!(report.by_class["metadata"], Counts { changed: 1, already_right: 1, ..Counts::default() });

    let requests = http.actual_requests().collect::<Vec<_>>();
    assert_eq!(requests.len(), 7, "one HEAD per object, one copy per object that differs, nothing else");
    let copies: Vec<_> = requests.iter().filter(|r| header(r, "x-amz-copy-source").is_some()).collect();
    assert_eq!(copies.len(), 2);
    for (copy, (key, etag, want)) in copies
        .iter()
        .zip([("pool/main/a/a_1.0_all.deb", "\"etag-a\"", PACKAGE), ("dists/bookworm/Release", "\"etag-r\"", METADATA)])
    {
        assert_eq!(path_of(copy), format!("/repo/{key}"));
        assert_eq!(header(copy, "x-amz-copy-source"), Some(format!("repo/{key}").as_str()));
        assert_eq!(header(copy, "x-amz-copy-source-if-match"), Some(etag), "precondition on {key}");
        assert_eq!(header(copy, "x-amz-metadata-directive"), Some("REPLACE"));
        assert_eq!(header(copy, "x-amz-tagging-directive"), Some("COPY"));
        assert_eq!(header(copy, "cache-control"), Some(want));
        assert_eq!(header(copy, "content-type"), Some("application/vnd.debian.binary-package"));
        assert_eq!(header(copy, "content-encoding"), Some("identity"));
        assert_eq!(header(copy, "x-amz-meta-origin"), Some("upload-42"));
        assert_eq!(header(copy, "x-amz-storage-class"), Some("STANDARD_IA"));
        assert_eq!(header(copy, "x-amz-server-side-encryption"), Some("aws:kms"));
        assert_eq!(
            header(copy, "x-amz-server-side-encryption-aws-kms-key-id"),
            Some("arn:aws:kms:us-east-1:123456789012:key/k1")
        );
        assert_eq!(header(copy, "x-amz-server-side-encryption-bucket-key-enabled"), Some("true"));
        assert_eq!(header(copy, "expires"), Some("Wed, 01 Dec 2094 16:00:00 GMT"));
    }
}

#[tokio::test]
async fn a_412_is_changed_meanwhile_and_never_retried() {
    let http = StaticReplayClient::new(vec![
        not_versioned(),
        listing(&[("pool/a.deb", 10), ("pool/b.deb", 10)]),
        head("\"old-a\"", None, 10),
        precondition_failed(),
        head("\"b\"", None, 10),
        copied(),
    ]);
    let report = reindex(&replay_client(&http), &plan("repo"), &Progress::hidden()).await.expect("reindex");
    assert_eq!(report.changed_meanwhile, vec!["pool/a.deb".to_string()]);
    assert!(report.failed.is_empty());
    assert!(!report.complete());
    assert_eq!(report.by_class["package"], Counts { changed: 1, changed_meanwhile: 1, ..Counts::default() });
    let requests = http.actual_requests().collect::<Vec<_>>();
    let for_a = requests.iter().filter(|r| path_of(r) == "/repo/pool/a.deb").count();
    assert_eq!(for_a, 2, "one HEAD and one conditional copy for a.deb; no second copy with the stale ETag");
    // The run's outcome is an AWS failure naming the key: exit 3.
    let error = outcome(&report).expect_err("incomplete");
    assert_eq!(crate::output::exit_code_for(&error), 3);
    assert!(format!("{error:#}").contains("pool/a.deb"), "{error:#}");
}

#[tokio::test]
async fn an_aws_error_mid_run_leaves_the_object_and_names_it() {
    let http = StaticReplayClient::new(vec![
        not_versioned(),
        listing(&[("pool/a.deb", 10), ("pool/b.deb", 10), ("pool/c.deb", 10)]),
        head("\"a\"", None, 10),
        copied(),
        head("\"b\"", None, 10),
        xml(403, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"),
        head("\"c\"", None, 10),
        copied(),
    ]);
    let report = reindex(&replay_client(&http), &plan("repo"), &Progress::hidden()).await.expect("reindex");
    assert_eq!(report.failed, vec![Left { key: "pool/b.deb".into(), error: "AccessDenied".into() }]);
    assert_eq!(report.by_class["package"], Counts { changed: 2, failed: 1, ..Counts::default() });
    let error = outcome(&report).expect_err("incomplete");
    assert_eq!(crate::output::exit_code_for(&error), 3);
    let text = format!("{error:#}");
    assert!(text.contains("pool/b.deb (AccessDenied)") && text.contains("run the same command again"), "{text}");
}

#[tokio::test]
async fn dry_run_reads_and_writes_nothing() {
    let http = StaticReplayClient::new(vec![
        not_versioned(),
        listing(&[("pool/a.deb", 10), ("Release", 10)]),
        head("\"a\"", None, 10),
        head("\"r\"", None, 10),
    ]);
    let mut p = plan("repo");
    p.dry_run = true;
    let report = reindex(&replay_client(&http), &p, &Progress::hidden()).await.expect("reindex");
    assert_eq!(report.samples["package"], vec!["pool/a.deb".to_string()]);
    assert_eq!(report.samples["metadata"], vec!["Release".to_string()]);
    assert!(http.actual_requests().all(|r| r.method() == "GET" || r.method() == "HEAD"), "a dry run only reads");
}

#[tokio::test]
async fn multipart_copy_is_conditional_on_every_part_and_on_completion() {
    let mib = 1024 * 1024;
    let size = 12 * mib;
    let http = StaticReplayClient::new(vec![
        not_versioned(),
        listing(&[("pool/big.deb", size)]),
        head("\"big\"", None, size),
        xml(
            200,
            &format!(
                r#"<Tagging xmlns="{S3_NS}"><TagSet><Tag><Key>team</Key><Value>a b</Value></Tag></TagSet></Tagging>"#
            ),
        ),
        xml(
            200,
            r#"<InitiateMultipartUploadResult><Bucket>repo</Bucket><Key>pool/big.deb</Key><UploadId>U1</UploadId></InitiateMultipartUploadResult>"#,
        ),
        xml(
            200,
            r#"<CopyPartResult><ETag>"p1"</ETag><LastModified>2026-11-28T00:00:00.000Z</LastModified></CopyPartResult>"#,
        ),
        xml(
            200,
            r#"<CopyPartResult><ETag>"p2"</ETag><LastModified>2026-11-28T00:00:00.000Z</LastModified></CopyPartResult>"#,
        ),
        xml(
            200,
            r#"<CopyPartResult><ETag>"p3"</ETag><LastModified>2026-11-28T00:00:00.000Z</LastModified></CopyPartResult>"#,
        ),
        xml(
            200,
            r#"<CompleteMultipartUploadResult><Bucket>repo</Bucket><Key>pool/big.deb</Key><ETag>"new-3"</ETag></CompleteMultipartUploadResult>"#,
        ),
    ]);
    let mut p = plan("repo");
    p.multipart_threshold = 5 * mib;
    p.part_size = 5 * mib;
    let report = reindex(&replay_client(&http), &p, &Progress::hidden()).await.expect("reindex");
    assert!(report.complete(), "{report:?}");
    let requests = http.actual_requests().collect::<Vec<_>>();
    let create = requests.iter().find(|r| r.uri().contains("uploads")).expect("CreateMultipartUpload");
    assert_eq!(header(create, "cache-control"), Some(PACKAGE));
    assert_eq!(header(create, "x-amz-tagging"), Some("team=a%20b"));
    assert_eq!(header(create, "x-amz-meta-origin"), Some("upload-42"));
    let parts: Vec<_> = requests.iter().filter(|r| header(r, "x-amz-copy-source-range").is_some()).collect();
    let ranges: Vec<_> = parts.iter().map(|r| header(r, "x-amz-copy-source-range").unwrap_or("")).collect();
    assert_eq!(ranges, vec!["bytes=0-5242879", "bytes=5242880-10485759", "bytes=10485760-12582911"]);
    assert!(parts.iter().all(|r| header(r, "x-amz-copy-source-if-match") == Some("\"big\"")));
    let complete = requests.last().expect("complete");
    assert_eq!(header(complete, "if-match"), Some("\"big\""), "completion conditional on the ETag read");
}

#[tokio::test]
async fn a_412_on_a_part_aborts_the_upload() {
    let mib = 1024 * 1024;
    let size = 12 * mib;
    let http = StaticReplayClient::new(vec![
        not_versioned(),
        listing(&[("pool/big.deb", size)]),
        head("\"big\"", None, size),
        xml(200, &format!(r#"<Tagging xmlns="{S3_NS}"><TagSet></TagSet></Tagging>"#)),
        xml(
            200,
            r#"<InitiateMultipartUploadResult><Bucket>repo</Bucket><Key>pool/big.deb</Key><UploadId>U1</UploadId></InitiateMultipartUploadResult>"#,
        ),
        xml(
            200,
            r#"<CopyPartResult><ETag>"p1"</ETag><LastModified>2026-11-28T00:00:00.000Z</LastModified></CopyPartResult>"#,
        ),
        precondition_failed(),
        respond(204, &[], ""),
    ]);
    let mut p = plan("repo");
    p.multipart_threshold = 5 * mib;
    p.part_size = 5 * mib;
    let report = reindex(&replay_client(&http), &p, &Progress::hidden()).await.expect("reindex");
    assert_eq!(report.changed_meanwhile, vec!["pool/big.deb".to_string()]);
    let requests = http.actual_requests().collect::<Vec<_>>();
    let last = requests.last().expect("abort");
    assert_eq!(last.method(), "DELETE", "the upload is aborted");
    assert!(last.uri().contains("uploadId=U1"), "{}", last.uri());
}

/// Every S3 operation `reindex.rs` calls, with the IAM actions AWS checks for it (S3 API
/// reference, "Permissions" of each operation). An operation missing here fails the test,
/// so a new call cannot ship without its policy line.
const OPERATION_ACTIONS: &[(&str, &[&str])] = &[
    ("list_objects_v2", &["s3:ListBucket"]),
    ("get_bucket_versioning", &["s3:GetBucketVersioning"]),
    ("head_object", &["s3:GetObject"]),
    ("copy_object", &["s3:GetObject", "s3:PutObject", "s3:GetObjectTagging", "s3:PutObjectTagging"]),
    ("get_object_tagging", &["s3:GetObjectTagging"]),
    ("create_multipart_upload", &["s3:PutObject", "s3:PutObjectTagging"]),
    ("upload_part_copy", &["s3:GetObject", "s3:PutObject"]),
    ("complete_multipart_upload", &["s3:PutObject"]),
    ("abort_multipart_upload", &["s3:AbortMultipartUpload"]),
];

#[test]
fn reindex_policy_lists_exactly_the_actions_its_calls_need() {
    // Every S3 request in reindex.rs reads `client.<operation>().bucket(…)`; with the
    // white space taken out, each call is one such run of text.
    let source: String = include_str!("reindex.rs").chars().filter(|c| !c.is_whitespace()).collect();
    let mut needed = std::collections::BTreeSet::new();
    let mut called = 0;
    for chunk in source.split("client.").skip(1) {
        let Some((op, rest)) = chunk.split_once("()") else { continue };
        if !rest.starts_with(".bucket(")
            || !op.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
        {
            continue;
        }
        let Some((_, actions)) = OPERATION_ACTIONS.iter().find(|(name, _)| *name == op) else {
            panic!("reindex.rs calls S3 operation {op}, which OPERATION_ACTIONS does not map to IAM actions");
        };
        called += 1;
        needed.extend(actions.iter().map(|a| (*a).to_owned()));
    }
    assert!(called >= OPERATION_ACTIONS.len(), "found {called} calls");
    let policy: serde_json::Value =
        serde_json::from_str(include_str!("../policies/reindex-policy.json")).expect("policy JSON");
    let mut granted = std::collections::BTreeSet::new();
    for statement in policy["Statement"].as_array().expect("statements") {
        assert_eq!(statement["Effect"], "Allow");
        for action in statement["Action"].as_array().expect("action list") {
            granted.insert(action.as_str().expect("action").to_owned());
        }
    }
    assert_eq!(granted, needed);
}

#[test]
fn copy_source_encodes_the_key_but_keeps_slashes() {
    assert_eq!(copy_source("repo", "pool/libstdc++6_1.0~rc1 a.deb"), "repo/pool/libstdc%2B%2B6_1.0~rc1%20a.deb");
    assert_eq!(copy_source("repo", "@acme/pkg/-/pkg-1.0.0.tgz"), "repo/%40acme/pkg/-/pkg-1.0.0.tgz");
}

// ---------------------------------------------------------------------------------------
// moto

/// The classification table's paths (fixtures/cache/classes.tsv: real layouts, expected
/// class written beside each), replicated under numbered prefixes to make a bucket of at
/// least `min` objects. The expected class comes from the table, not from `classify`.
fn table_objects(min: usize) -> Vec<(String, CacheClass)> {
    let table = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/cache/classes.tsv"))
        .expect("fixtures/cache/classes.tsv");
    let rows: Vec<(String, CacheClass)> = table
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let path = cols.next()?.trim();
            let class = match cols.next()?.trim() {
                "package" => CacheClass::Package,
                "metadata" => CacheClass::Metadata,
                _ => return None,
            };
            Some((path.trim_start_matches('/').to_owned(), class))
        })
        .filter(|(key, _)| !key.is_empty())
        .collect();
    assert!(rows.len() >= 80, "classes.tsv has {} rows", rows.len());
    let mut objects = Vec::new();
    let mut copy = 0;
    while objects.len() < min {
        for (key, class) in &rows {
            objects.push((format!("r{copy}/{key}"), *class));
        }
        copy += 1;
    }
    objects
}

fn moto_client(moto: &MotoServer) -> Client {
    Client::from_conf(aws_sdk_s3::config::Builder::from(&moto.sdk_config()).force_path_style(true).build())
}

/// What the test compares before and after: everything but `Cache-Control`.
#[derive(Debug, PartialEq, Eq)]
struct Kept {
    bytes: Vec<u8>,
    content_type: Option<String>,
    content_encoding: Option<String>,
    metadata: HashMap<String, String>,
    tags: BTreeMap<String, String>,
}

async fn kept(client: &Client, bucket: &str, key: &str) -> (Kept, Option<String>) {
    let object = client.get_object().bucket(bucket).key(key).send().await.expect("GetObject");
    let cache_control = object.cache_control().map(str::to_owned);
    let content_type = object.content_type().map(str::to_owned);
    let content_encoding = object.content_encoding().map(str::to_owned);
    let metadata = object.metadata().cloned().unwrap_or_default();
    let bytes = object.body.collect().await.expect("body").to_vec();
    let tags = client.get_object_tagging().bucket(bucket).key(key).send().await.expect("GetObjectTagging");
    let tags = tags.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
    (Kept { bytes, content_type, content_encoding, metadata, tags }, cache_control)
}

async fn put_all(client: &Client, bucket: &str, objects: &[(String, CacheClass)]) {
    let mut tasks: tokio::task::JoinSet<Result<(), String>> = tokio::task::JoinSet::new();
    for (i, (key, _)) in objects.iter().enumerate() {
        while tasks.len() >= 16 {
            tasks.join_next().await.expect("task").expect("task join").expect("put");
        }
        let (client, bucket, key) = (client.clone(), bucket.to_owned(), key.clone());
        tasks.spawn(async move {
            let mut put =
                client.put_object().bucket(bucket).key(&key).body(ByteStream::from(format!("{key}:{i}").into_bytes()));
            // A spread of what repositories write: some with their own headers and tags,
            // some with a stale Cache-Control, some with nothing.
            match i % 4 {
                0 => put = put.content_type("application/octet-stream").metadata("sha256", format!("{i:064x}")),
                1 => put = put.content_encoding("gzip").tagging("repo=acme&tier=main").cache_control("max-age=86400"),
                2 => put = put.cache_control(METADATA),
                _ => {}
            }
            put.send().await.map(|_| ()).map_err(|e| format!("{key}: {e:?}"))
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task join").expect("put");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_bucket_of_real_layouts_ends_in_its_classes_and_a_rerun_writes_nothing() {
    let moto = MotoServer::start();
    let client = moto_client(&moto);
    let bucket = "acme-packages";
    client.create_bucket().bucket(bucket).send().await.expect("CreateBucket");
    let objects = table_objects(2000);
    put_all(&client, bucket, &objects).await;
    let sample: Vec<&(String, CacheClass)> = objects.iter().step_by(37).collect();
    let mut before = Vec::new();
    for (key, _) in &sample {
        before.push(kept(&client, bucket, key).await.0);
    }

    // A dry run counts and writes nothing.
    let mut p = plan(bucket);
    p.concurrency = 32;
    p.dry_run = true;
    let dry = reindex(&client, &p, &Progress::hidden()).await.expect("dry run");
    assert_eq!(dry.objects as usize, objects.len());
    assert!(!dry.requests.contains_key("CopyObject"), "{:?}", dry.requests);
    let stale = kept(&client, bucket, &objects[3].0).await.1;
    assert_eq!(stale, None, "the dry run wrote a Cache-Control");

    // --prefix limits the run to its keys.
    p.dry_run = false;
    p.prefix = "r0/".into();
    let first_prefix = reindex(&client, &p, &Progress::hidden()).await.expect("prefix run");
    let in_prefix = objects.iter().filter(|(k, _)| k.starts_with("r0/")).count();
    assert_eq!(first_prefix.objects as usize, in_prefix);
    // Index 3 mod 4 was written without a Cache-Control (see `put_all`).
    let outside = objects.iter().enumerate().find(|(i, (k, _))| k.starts_with("r1/") && i % 4 == 3).expect("r1 key");
    assert_eq!(kept(&client, bucket, &outside.1.0).await.1, None, "--prefix r0/ wrote outside its prefix");

    // The whole bucket.
    p.prefix = String::new();
    let report = reindex(&client, &p, &Progress::hidden()).await.expect("reindex");
    assert!(report.complete(), "{:?} {:?}", report.failed, report.changed_meanwhile);
    assert_eq!(report.objects as usize, objects.len());
    for (key, class) in &objects {
        let head = client.head_object().bucket(bucket).key(key).send().await.expect("HeadObject");
        let want = match class {
            CacheClass::Package => PACKAGE,
            _ => METADATA,
        };
        assert_eq!(head.cache_control(), Some(want), "{key} ({class:?})");
    }
    for ((key, _), old) in sample.iter().zip(&before) {
        assert_eq!(&kept(&client, bucket, key).await.0, old, "{key}: bytes, type, encoding, metadata or tags changed");
    }

    // A re-run reads and writes nothing.
    let again = reindex(&client, &p, &Progress::hidden()).await.expect("rerun");
    let right: u64 = again.by_class.values().map(|c| c.already_right).sum();
    assert_eq!(right as usize, objects.len(), "{:?}", again.by_class);
    assert!(!again.requests.contains_key("CopyObject"), "{:?}", again.requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_multipart_copy_above_a_lowered_threshold_keeps_bytes_metadata_and_tags() {
    let moto = MotoServer::start();
    let client = moto_client(&moto);
    let bucket = "big";
    client.create_bucket().bucket(bucket).send().await.expect("CreateBucket");
    let bytes: Vec<u8> =
        (0..(11 * 1024 * 1024 + 17)).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    client
        .put_object()
        .bucket(bucket)
        .key("pool/main/b/big_1.0_amd64.deb")
        .body(ByteStream::from(bytes.clone()))
        .content_type("application/vnd.debian.binary-package")
        .metadata("sha256", "abc")
        .tagging("repo=acme")
        .send()
        .await
        .expect("PutObject");
    let before = kept(&client, bucket, "pool/main/b/big_1.0_amd64.deb").await.0;
    let mut p = plan(bucket);
    p.multipart_threshold = 6 * 1024 * 1024;
    p.part_size = 5 * 1024 * 1024;
    let report = reindex(&client, &p, &Progress::hidden()).await.expect("reindex");
    assert!(report.complete(), "{report:?}");
    assert!(report.requests.keys().any(|k| k.starts_with("multipart")), "{:?}", report.requests);
    let (after, cache_control) = kept(&client, bucket, "pool/main/b/big_1.0_amd64.deb").await;
    assert_eq!(cache_control.as_deref(), Some(PACKAGE));
    assert_eq!(after, before);
    assert_eq!(after.bytes, bytes);
}
