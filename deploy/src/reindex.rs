//! `edgegate reindex` (SPEC §7, §9): give every object of a bucket the `Cache-Control` of
//! its cache class, in place, content untouched.
//!
//! Per object: one `HeadObject` (what it has now, and the ETag), and only when the value
//! differs one self-copy with `MetadataDirective=REPLACE` that carries every header SPEC §9
//! lists and is conditional on that ETag (`x-amz-copy-source-if-match`). An object the
//! repository rewrote in between fails the precondition (412) and is reported as "changed
//! meanwhile": it keeps the repository's new bytes, never our stale copy. Objects above the
//! copy limit (5 GiB) go through a multipart copy with the same precondition on every part
//! and on the completion. A re-run finds every object right and writes nothing.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, MetadataDirective, ServerSideEncryption,
    TaggingDirective,
};
use clap::Args;
use edgegate_core::cache::{cache_control, classify};
use edgegate_core::{CacheClass, CacheConfig};
use serde::Serialize;
use tokio::task::JoinSet;

use crate::aws::clients::aws_failure;
use crate::output::{AwsFailure, Output, Status, outln, print_json};

/// S3's limit for a single `CopyObject`; larger objects need a multipart copy.
pub const COPY_LIMIT: u64 = 5 * 1024 * 1024 * 1024;
/// Part size of a multipart copy: 10,000 parts of 512 MiB cover S3's 5 TiB maximum.
pub const PART_SIZE: u64 = 512 * 1024 * 1024;
/// S3's smallest part (all but the last).
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// How many keys of each class a dry run shows.
const SAMPLE_KEYS: usize = 5;

#[derive(Debug, Args)]
pub struct ReindexArgs {
    /// Bucket to reindex.
    #[arg(long)]
    pub bucket: String,
    /// Only keys starting with this prefix.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// Count and sample what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Objects handled at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=512))]
    pub concurrency: u16,
    /// Configuration whose `[cache]` section to use (default: SPEC §6's values, no rules).
    /// Only `[cache]` is read; keys need not be resolvable.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Objects larger than this use a multipart copy (S3 allows single copies up to 5 GiB).
    #[arg(long, default_value_t = COPY_LIMIT, hide = true)]
    pub multipart_threshold: u64,
    /// Part size of a multipart copy.
    #[arg(long, default_value_t = PART_SIZE, hide = true)]
    pub part_size: u64,
}

/// What one run does, independent of where the arguments came from.
#[derive(Debug, Clone)]
pub struct Plan {
    pub bucket: String,
    pub prefix: String,
    pub dry_run: bool,
    pub concurrency: usize,
    pub cache: CacheConfig,
    pub multipart_threshold: u64,
    pub part_size: u64,
}

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Its `Cache-Control` was already its class's value: nothing written.
    AlreadyRight,
    /// Rewritten with the class's value (or, in a dry run, would be).
    Changed,
    /// The object changed between our read and our copy (412): left as the repository wrote it.
    ChangedMeanwhile,
    /// AWS refused; the object keeps its old metadata. Holds the AWS error code.
    Failed(String),
}

/// Per-class counts.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub already_right: u64,
    pub changed: u64,
    pub changed_meanwhile: u64,
    pub failed: u64,
}

/// An object AWS did not let us finish, with the error code.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Left {
    pub key: String,
    pub error: String,
}

/// The whole run, as printed (`--output json` prints exactly this).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub bucket: String,
    pub prefix: String,
    pub dry_run: bool,
    /// The bucket keeps versions: each changed object gained a new version. `None` when
    /// GetBucketVersioning could not be read (the run goes on: this is a note, not a gate).
    pub versioned: Option<bool>,
    pub objects: u64,
    pub by_class: BTreeMap<&'static str, Counts>,
    /// Keys rewritten by someone else while we ran (a re-run classifies their new content).
    pub changed_meanwhile: Vec<String>,
    /// Keys left with their old metadata because AWS refused.
    pub failed: Vec<Left>,
    /// Dry run: a few keys of each class that would change.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub samples: BTreeMap<&'static str, Vec<String>>,
    /// S3 requests made, by operation.
    pub requests: BTreeMap<&'static str, u64>,
    pub seconds: f64,
}

impl Report {
    fn record(&mut self, key: String, class: CacheClass, action: Action) {
        self.objects += 1;
        let counts = self.by_class.entry(class.as_str()).or_default();
        match action {
            Action::AlreadyRight => counts.already_right += 1,
            Action::Changed => {
                counts.changed += 1;
                if self.dry_run {
                    let sample = self.samples.entry(class.as_str()).or_default();
                    if sample.len() < SAMPLE_KEYS {
                        sample.push(key);
                    }
                }
            }
            Action::ChangedMeanwhile => {
                counts.changed_meanwhile += 1;
                self.changed_meanwhile.push(key);
            }
            Action::Failed(error) => {
                counts.failed += 1;
                self.failed.push(Left { key, error });
            }
        }
    }

    /// Every object ended with its class's value (or, dry run, the run could read them all).
    pub fn complete(&self) -> bool {
        self.failed.is_empty() && self.changed_meanwhile.is_empty()
    }
}

/// Counts S3 requests by operation (the bench reports requests per object).
#[derive(Debug, Default)]
struct Requests {
    list: AtomicU64,
    head: AtomicU64,
    copy: AtomicU64,
    tagging: AtomicU64,
    multipart: AtomicU64,
}

impl Requests {
    fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        [
            ("ListObjectsV2", &self.list),
            ("HeadObject", &self.head),
            ("CopyObject", &self.copy),
            ("GetObjectTagging", &self.tagging),
            ("multipart (create, part copies, complete/abort)", &self.multipart),
        ]
        .into_iter()
        .map(|(name, n)| (name, n.load(Ordering::Relaxed)))
        .filter(|(_, n)| *n > 0)
        .collect()
    }
}

pub async fn run(args: &ReindexArgs, out: Output) -> anyhow::Result<Status> {
    let cache = match &args.config {
        Some(path) => crate::config::load_cache(path)?,
        None => CacheConfig::default(),
    };
    let plan = Plan {
        bucket: args.bucket.clone(),
        prefix: args.prefix.clone(),
        dry_run: args.dry_run,
        concurrency: usize::from(args.concurrency),
        cache,
        multipart_threshold: args.multipart_threshold.min(COPY_LIMIT),
        part_size: args.part_size.max(MIN_PART_SIZE),
    };
    if plan.bucket.is_empty() {
        bail!("--bucket: empty");
    }
    let client = s3_client().await;
    let progress = Progress::new(out == Output::Text && std::io::stderr().is_terminal());
    let report = reindex(&client, &plan, &progress).await?;
    progress.finish();
    match out {
        Output::Json => print_json(&report)?,
        Output::Text => print_text(&report)?,
    }
    outcome(&report)
}

/// Exit 0 when every object ended in its class; otherwise an AWS failure (exit 3) naming
/// the keys left, which keep their old metadata until a re-run.
pub fn outcome(report: &Report) -> anyhow::Result<Status> {
    if report.complete() {
        return Ok(Status::Ok);
    }
    let mut left: Vec<String> = report.failed.iter().map(|l| format!("{} ({})", l.key, l.error)).collect();
    left.extend(report.changed_meanwhile.iter().map(|k| format!("{k} (changed meanwhile)")));
    let shown = left.iter().take(20).cloned().collect::<Vec<_>>().join(", ");
    let more = if left.len() > 20 { format!(" and {} more", left.len() - 20) } else { String::new() };
    Err(anyhow::Error::new(AwsFailure {
        call: "s3:PutObject".into(),
        resource: format!("bucket {}", report.bucket),
        code: None,
        message: format!(
            "{} object(s) not reindexed, they keep their old metadata: {shown}{more}; run the same command again to finish them",
            left.len()
        ),
    }))
}

/// An S3 client from the standard chain, in the profile's region (a bucket lives in one
/// region; unlike Lambda@Edge nothing pins it). A custom endpoint (`AWS_ENDPOINT_URL`, a
/// local S3 such as moto) gets path-style addressing, since `bucket.localhost` resolves
/// nowhere.
pub async fn s3_client() -> Client {
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let mut builder = aws_sdk_s3::config::Builder::from(&sdk);
    if sdk.region().is_none() {
        builder = builder.region(Region::from_static("us-east-1"));
    }
    if sdk.endpoint_url().is_some() {
        builder = builder.force_path_style(true);
    }
    Client::from_conf(builder.build())
}

/// Lists the bucket and brings every object to its class, `plan.concurrency` at a time.
pub async fn reindex(client: &Client, plan: &Plan, progress: &Progress) -> anyhow::Result<Report> {
    let started = Instant::now();
    let requests = Arc::new(Requests::default());
    let mut report = Report {
        bucket: plan.bucket.clone(),
        prefix: plan.prefix.clone(),
        dry_run: plan.dry_run,
        versioned: versioned(client, &plan.bucket).await,
        ..Report::default()
    };
    let shared = Arc::new(plan.clone());
    let mut tasks: JoinSet<(String, CacheClass, Action)> = JoinSet::new();
    let mut token: Option<String> = None;
    loop {
        requests.list.fetch_add(1, Ordering::Relaxed);
        let page = client
            .list_objects_v2()
            .bucket(&plan.bucket)
            .prefix(&plan.prefix)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| aws_failure("s3:ListBucket", &format!("bucket {}", plan.bucket), e))?;
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            while tasks.len() >= plan.concurrency {
                collect(&mut tasks, &mut report, progress).await?;
            }
            let (client, plan, requests) = (client.clone(), shared.clone(), requests.clone());
            let key = key.to_owned();
            tasks.spawn(async move {
                let class = class_of(&key, &plan.cache);
                let action = one(&client, &plan, &key, class, &requests).await;
                (key, class, action)
            });
        }
        match page.next_continuation_token() {
            Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
            _ => break,
        }
    }
    while !tasks.is_empty() {
        collect(&mut tasks, &mut report, progress).await?;
    }
    report.changed_meanwhile.sort();
    report.failed.sort_by(|a, b| a.key.cmp(&b.key));
    report.requests = requests.snapshot();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

async fn collect(
    tasks: &mut JoinSet<(String, CacheClass, Action)>,
    report: &mut Report,
    progress: &Progress,
) -> anyhow::Result<()> {
    if let Some(joined) = tasks.join_next().await {
        let (key, class, action) = joined.context("a reindex task failed")?;
        progress.update(class, &action);
        report.record(key, class, action);
    }
    Ok(())
}

/// The class of an S3 key: SPEC §9 classifies canonical paths, and a key is the path
/// CloudFront forwards, without its leading `/`.
pub fn class_of(key: &str, cache: &CacheConfig) -> CacheClass {
    let path = format!("/{key}");
    classify(&path, &cache.rules)
}

async fn versioned(client: &Client, bucket: &str) -> Option<bool> {
    let versioning = client.get_bucket_versioning().bucket(bucket).send().await.ok()?;
    Some(matches!(versioning.status(), Some(BucketVersioningStatus::Enabled | BucketVersioningStatus::Suspended)))
}

fn failure_code<E: ProvideErrorMetadata>(err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> String {
    match (err.code(), err.raw_response()) {
        (Some(code), _) => code.to_owned(),
        (None, Some(raw)) => format!("HTTP {}", raw.status().as_u16()),
        (None, None) if matches!(err, SdkError::TimeoutError(_)) => "Timeout".into(),
        (None, None) => "NoResponse".into(),
    }
}

/// True for S3's answer to a failed `x-amz-copy-source-if-match` / `If-Match`.
fn is_precondition_failed<E: ProvideErrorMetadata>(err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> bool {
    err.code() == Some("PreconditionFailed") || err.raw_response().is_some_and(|r| r.status().as_u16() == 412)
}

/// Sets everything [`Carried`] holds on a CopyObject or CreateMultipartUpload builder: the
/// two builders are different types with the same setters, and one list of what a reindex
/// keeps must serve both.
macro_rules! carry_over {
    ($builder:expr, $carried:expr) => {{
        let carried = $carried;
        $builder
            .set_content_type(carried.content_type)
            .set_content_encoding(carried.content_encoding)
            .set_content_disposition(carried.content_disposition)
            .set_content_language(carried.content_language)
            .set_expires(carried.expires)
            .set_metadata(carried.metadata)
            .set_storage_class(carried.storage_class)
            .set_server_side_encryption(carried.sse)
            .set_ssekms_key_id(carried.kms_key)
            .set_bucket_key_enabled(carried.bucket_key)
            .set_website_redirect_location(carried.redirect)
    }};
}

/// What a refused write means: a failed precondition is a concurrent change (reported,
/// never retried with the stale ETag); anything else is a failure with AWS's code.
fn write_failure<E: ProvideErrorMetadata>(err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Action {
    if is_precondition_failed(err) { Action::ChangedMeanwhile } else { Action::Failed(failure_code(err)) }
}

/// One object: read, compare, copy onto itself when its value differs.
async fn one(client: &Client, plan: &Plan, key: &str, class: CacheClass, requests: &Requests) -> Action {
    let want = cache_control(class, &plan.cache);
    requests.head.fetch_add(1, Ordering::Relaxed);
    let head = match client.head_object().bucket(&plan.bucket).key(key).send().await {
        Ok(head) => head,
        // Deleted since the listing: nothing left to classify.
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => return Action::AlreadyRight,
        Err(e) => return Action::Failed(failure_code(&e)),
    };
    if head.cache_control() == Some(want) {
        return Action::AlreadyRight;
    }
    if plan.dry_run {
        return Action::Changed;
    }
    let Some(etag) = head.e_tag() else {
        return Action::Failed("NoETag".into());
    };
    if head.sse_customer_algorithm().is_some() {
        // The copy would need the customer's key, which only the repository holds.
        return Action::Failed("SSECustomerKeyRequired".into());
    }
    let size = head.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    if size > plan.multipart_threshold {
        return multipart_copy(client, plan, key, &head, etag, want, size, requests).await;
    }
    let carried = Carried::from_head(&head);
    requests.copy.fetch_add(1, Ordering::Relaxed);
    let copy = client
        .copy_object()
        .bucket(&plan.bucket)
        .key(key)
        .copy_source(copy_source(&plan.bucket, key))
        .copy_source_if_match(etag)
        .metadata_directive(MetadataDirective::Replace)
        .tagging_directive(TaggingDirective::Copy)
        .cache_control(want);
    let copy = carry_over!(copy, carried).send().await;
    match copy {
        Ok(_) => Action::Changed,
        Err(e) => write_failure(&e),
    }
}

/// Everything SPEC §9 says a reindex keeps, read from `HeadObject`.
#[derive(Debug, Default)]
struct Carried {
    content_type: Option<String>,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    expires: Option<DateTime>,
    metadata: Option<std::collections::HashMap<String, String>>,
    storage_class: Option<aws_sdk_s3::types::StorageClass>,
    sse: Option<ServerSideEncryption>,
    kms_key: Option<String>,
    bucket_key: Option<bool>,
    redirect: Option<String>,
}

impl Carried {
    fn from_head(head: &HeadObjectOutput) -> Carried {
        let sse = head.server_side_encryption().cloned();
        let kms = matches!(sse, Some(ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse));
        Carried {
            content_type: head.content_type().map(str::to_owned),
            content_encoding: head.content_encoding().map(str::to_owned),
            content_disposition: head.content_disposition().map(str::to_owned),
            content_language: head.content_language().map(str::to_owned),
            expires: head.expires_string().and_then(|text| DateTime::from_str(text, DateTimeFormat::HttpDate).ok()),
            metadata: head.metadata().cloned().filter(|m| !m.is_empty()),
            // HeadObject names no class for STANDARD; leaving it unset keeps STANDARD.
            storage_class: head.storage_class().map(|c| aws_sdk_s3::types::StorageClass::from(c.as_str())),
            kms_key: if kms { head.ssekms_key_id().map(str::to_owned) } else { None },
            bucket_key: if kms { head.bucket_key_enabled() } else { None },
            sse,
            redirect: head.website_redirect_location().map(str::to_owned),
        }
    }
}

/// `bucket/key` with the key percent-encoded (S3 decodes `x-amz-copy-source`); `/` stays.
pub fn copy_source(bucket: &str, key: &str) -> String {
    let encoded = edgegate_core::path::percent_encode(key, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/')
    });
    format!("{bucket}/{encoded}")
}

/// A copy in parts for objects above the single-copy limit. Every part is conditional on
/// the ETag we read, and so is the completion (`If-Match`), so an object rewritten at any
/// point is never replaced by our copy of its old bytes. Any failure aborts the upload.
#[allow(clippy::too_many_arguments, reason = "one call site; a struct would only rename them")]
async fn multipart_copy(
    client: &Client,
    plan: &Plan,
    key: &str,
    head: &HeadObjectOutput,
    etag: &str,
    want: &str,
    size: u64,
    requests: &Requests,
) -> Action {
    // CopyObject's TaggingDirective has no multipart counterpart: read the tags and send them.
    requests.tagging.fetch_add(1, Ordering::Relaxed);
    let tags = match client.get_object_tagging().bucket(&plan.bucket).key(key).send().await {
        Ok(tags) => tags,
        Err(e) => return Action::Failed(failure_code(&e)),
    };
    let tagging: Vec<String> = tags
        .tag_set()
        .iter()
        .map(|t| {
            let enc =
                |s: &str| edgegate_core::path::percent_encode(s, |b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            format!("{}={}", enc(t.key()), enc(t.value()))
        })
        .collect();
    let carried = Carried::from_head(head);
    requests.multipart.fetch_add(1, Ordering::Relaxed);
    let create = client
        .create_multipart_upload()
        .bucket(&plan.bucket)
        .key(key)
        .cache_control(want)
        .set_tagging((!tagging.is_empty()).then(|| tagging.join("&")));
    let created = carry_over!(create, carried).send().await;
    let upload_id = match created.as_ref().map(|c| c.upload_id()) {
        Ok(Some(id)) => id.to_owned(),
        Ok(None) => return Action::Failed("NoUploadId".into()),
        Err(e) => return Action::Failed(failure_code(e)),
    };
    let result = copy_parts(client, plan, key, etag, size, &upload_id, requests).await;
    if !matches!(result, Action::Changed) {
        requests.multipart.fetch_add(1, Ordering::Relaxed);
        // Best effort: an upload left behind is cleaned by a lifecycle rule, never visible.
        let _ = client.abort_multipart_upload().bucket(&plan.bucket).key(key).upload_id(&upload_id).send().await;
    }
    result
}

async fn copy_parts(
    client: &Client,
    plan: &Plan,
    key: &str,
    etag: &str,
    size: u64,
    upload_id: &str,
    requests: &Requests,
) -> Action {
    let mut parts = Vec::new();
    let mut start = 0u64;
    let mut number = 1i32;
    while start < size {
        let end = (start + plan.part_size).min(size) - 1;
        requests.multipart.fetch_add(1, Ordering::Relaxed);
        let part = client
            .upload_part_copy()
            .bucket(&plan.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .copy_source(copy_source(&plan.bucket, key))
            .copy_source_if_match(etag)
            .copy_source_range(format!("bytes={start}-{end}"))
            .send()
            .await;
        let part_etag = match part {
            Ok(part) => part.copy_part_result().and_then(|r| r.e_tag()).map(str::to_owned),
            Err(e) => return write_failure(&e),
        };
        let Some(part_etag) = part_etag else {
            return Action::Failed("NoPartETag".into());
        };
        parts.push(CompletedPart::builder().part_number(number).e_tag(part_etag).build());
        start = end + 1;
        number += 1;
    }
    requests.multipart.fetch_add(1, Ordering::Relaxed);
    let completed = client
        .complete_multipart_upload()
        .bucket(&plan.bucket)
        .key(key)
        .upload_id(upload_id)
        .if_match(etag)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await;
    match completed {
        Ok(_) => Action::Changed,
        Err(e) => write_failure(&e),
    }
}

fn print_text(report: &Report) -> anyhow::Result<()> {
    let verb = if report.dry_run { "would change" } else { "changed" };
    outln!(
        "{} s3://{}/{}: {} objects in {:.1} s{}",
        if report.dry_run { "dry run:" } else { "reindex:" },
        report.bucket,
        report.prefix,
        report.objects,
        report.seconds,
        if report.dry_run { " (nothing written)" } else { "" }
    )?;
    outln!(
        "  {:<9} {:>13} {:>13} {:>17} {:>8}",
        "CLASS",
        "ALREADY RIGHT",
        verb.to_uppercase(),
        "CHANGED MEANWHILE",
        "FAILED"
    )?;
    for (class, c) in &report.by_class {
        outln!("  {:<9} {:>13} {:>13} {:>17} {:>8}", class, c.already_right, c.changed, c.changed_meanwhile, c.failed)?;
    }
    for (class, keys) in &report.samples {
        outln!("  sample of {class} keys that would change:")?;
        for key in keys {
            outln!("    {key}")?;
        }
    }
    let changed: u64 = report.by_class.values().map(|c| c.changed).sum();
    if report.versioned.is_none() {
        outln!(
            "  note: could not read the bucket's versioning (s3:GetBucketVersioning); if it is versioned, each changed object gained a new version"
        )?;
    }
    if report.versioned == Some(true) && changed > 0 {
        outln!(
            "  note: the bucket is versioned; {} each changed object gained a new version (the old one stays until a lifecycle rule removes it)",
            if report.dry_run { "after a real run," } else { "" }
        )?;
    }
    let requests: u64 = report.requests.values().sum();
    if report.objects > 0 {
        outln!("  S3 requests: {requests} ({:.2} per object)", requests as f64 / report.objects as f64)?;
    }
    for left in &report.failed {
        outln!("  failed: {} ({})", left.key, left.error)?;
    }
    for key in &report.changed_meanwhile {
        outln!("  changed meanwhile (left as the repository wrote it): {key}")?;
    }
    Ok(())
}

/// A progress bar on a terminal: objects/s and counts per class and action.
#[derive(Debug)]
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    counts: std::sync::Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl Progress {
    pub fn new(visible: bool) -> Progress {
        let bar = visible.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {pos} objects ({per_sec}) {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress { bar, counts: std::sync::Mutex::new(BTreeMap::new()) }
    }

    #[cfg(test)]
    pub fn hidden() -> Progress {
        Progress::new(false)
    }

    fn update(&self, class: CacheClass, action: &Action) {
        let Some(bar) = &self.bar else { return };
        let what = match action {
            Action::AlreadyRight => "right",
            Action::Changed => "changed",
            Action::ChangedMeanwhile => "meanwhile",
            Action::Failed(_) => "failed",
        };
        let Ok(mut counts) = self.counts.lock() else { return };
        *counts.entry((class.as_str(), what)).or_default() += 1;
        let message: Vec<String> = counts.iter().map(|((c, w), n)| format!("{c} {w} {n}")).collect();
        bar.inc(1);
        bar.set_message(message.join(", "));
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
#[path = "reindex_tests.rs"]
mod tests;
