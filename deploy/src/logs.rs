//! `edgegate logs` (SPEC §7, §5): the gate's decision lines from every region, in one place,
//! and log groups that expire.
//!
//! Lambda@Edge writes each replica's logs to `/aws/lambda/us-east-1.<function>` in the
//! region that ran it, so a refusal seen by a customer in Frankfurt is in eu-central-1's
//! group and nowhere else. This reads the group in every enabled region at once
//! (`FilterLogEvents`, paginated, the SDK's retries for throttling) and merges the decision
//! lines by time with the region beside each. `--set-retention` (and `bootstrap`) gives the
//! group a retention in every region: the one set on us-east-1 applies to no other region.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use anyhow::{Context as _, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use clap::Args;
use edgegate_core::Reason;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::aws::clients::{EDGE_REGION, aws_failure};
use crate::aws::function::FunctionArgs;
use crate::output::{AwsFailure, Output, Status, outln, print_json};

/// The retention values CloudWatch Logs accepts (`PutRetentionPolicy`, `retentionInDays`).
pub const RETENTION_DAYS: [i32; 22] =
    [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
/// `bootstrap --log-retention`'s default.
pub const DEFAULT_LOG_RETENTION: i32 = 30;
/// CloudWatch makes an event searchable some time after its timestamp; `--follow` re-reads
/// this much before the newest line it printed and lets the event ids drop what it has seen.
const FOLLOW_OVERLAP_MS: i64 = 5 * 60 * 1000;
/// Paths shown per reason by `--summary`.
const TOP_PATHS: usize = 5;
/// A term every decision line holds (a key of SPEC §5's line) and START/END/REPORT do not:
/// the server-side filter when nothing narrower is asked for.
const DECISION_TERM: &str = "distribution_id";

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub function: FunctionArgs,
    /// Start: a time back from now (`30m`, `1h`, `2d`, `90s`, `1w`) or an ISO-8601 time
    /// (`2026-11-28T06:00:00Z`, `2026-11-28`).
    #[arg(long, default_value = "1h")]
    pub since: String,
    /// End, in the same forms as --since (default: now).
    #[arg(long, conflicts_with = "follow")]
    pub until: Option<String>,
    /// Only this reason code (SPEC §5); repeat for several.
    #[arg(long = "reason", value_name = "R", value_parser = parse_reason)]
    pub reasons: Vec<Reason>,
    /// Only the request CloudFront identified by this id (the `x-amz-cf-id` the client saw).
    #[arg(long)]
    pub request_id: Option<String>,
    /// Only canonical paths starting with this prefix.
    #[arg(long)]
    pub path_prefix: Option<String>,
    /// Counts by reason and region, and the top paths per reason, instead of the lines.
    #[arg(long, conflicts_with = "follow")]
    pub summary: bool,
    /// Keep polling and print new lines until interrupted.
    #[arg(long)]
    pub follow: bool,
    /// Seconds between polls with --follow.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600), requires = "follow")]
    pub interval: u64,
    /// Instead of reading: create the function's log group in every enabled region where it
    /// is missing and set its retention to DAYS (a CloudWatch value: 1, 3, 5, 7, 14, 30, 60,
    /// 90, 120, 150, 180, 365, ...).
    #[arg(long, value_name = "DAYS", value_parser = parse_retention,
          conflicts_with_all = ["until", "reasons", "request_id", "path_prefix", "summary", "follow"])]
    pub set_retention: Option<i32>,
}

/// `--reason`: a SPEC §5 code; a typo would otherwise match nothing and look like good news.
pub fn parse_reason(text: &str) -> Result<Reason, String> {
    Reason::from_code(text).ok_or_else(|| {
        let codes: Vec<&str> = Reason::ALL.iter().map(|r| r.code()).collect();
        format!("unknown reason code; one of: {}", codes.join(", "))
    })
}

/// `--set-retention` / `--log-retention`: only the values CloudWatch accepts.
pub fn parse_retention(text: &str) -> Result<i32, String> {
    let valid = || RETENTION_DAYS.iter().map(i32::to_string).collect::<Vec<_>>().join(", ");
    match text.parse::<i32>() {
        Ok(days) if RETENTION_DAYS.contains(&days) => Ok(days),
        _ => Err(format!("CloudWatch Logs accepts only these retention days: {}", valid())),
    }
}

/// The group Lambda@Edge writes a replica's logs to, in whichever region ran it.
pub fn log_group_name(function: &str) -> String {
    format!("/aws/lambda/{EDGE_REGION}.{function}")
}

/// Milliseconds since the epoch for `--since`/`--until`: a duration back from `now_ms`, or
/// an ISO-8601 time (with a zone, or a bare date read as UTC midnight).
pub fn parse_time(text: &str, now_ms: i64) -> anyhow::Result<i64> {
    let text = text.trim();
    if let Some(unit_at) = text.find(|c: char| !c.is_ascii_digit())
        && unit_at > 0
        && text.len() - unit_at == 1
    {
        let count: i64 = text[..unit_at].parse().with_context(|| format!("`{text}`: number too large"))?;
        let unit_ms: i64 = match &text[unit_at..] {
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            other => bail!("`{text}`: unknown unit `{other}` (use s, m, h, d or w, or an ISO-8601 time)"),
        };
        let back = count.checked_mul(unit_ms).with_context(|| format!("`{text}`: too far back"))?;
        return Ok(now_ms.saturating_sub(back));
    }
    let full = if text.len() == 10 { format!("{text}T00:00:00Z") } else { text.to_owned() };
    let time = DateTime::from_str(&full, DateTimeFormat::DateTime).with_context(|| {
        format!("`{text}` is neither a duration (30m, 1h, 2d) nor an ISO-8601 time (2026-11-28T06:00:00Z)")
    })?;
    time.to_millis().with_context(|| format!("`{text}`: out of range"))
}

/// An ISO-8601 UTC time for a CloudWatch timestamp.
pub fn iso_time(ms: i64) -> String {
    DateTime::from_millis(ms).fmt(DateTimeFormat::DateTime).unwrap_or_else(|_| format!("{ms}ms"))
}

/// SPEC §5's log line, as the handler writes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Line {
    pub reason: String,
    pub request_id: String,
    #[serde(default)]
    pub distribution_id: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub client_ip: String,
    #[serde(default)]
    pub token_id: Option<String>,
}

/// Lambda's JSON log format (advanced logging controls) wraps the printed text.
#[derive(Deserialize)]
struct JsonFormat {
    message: String,
}

/// The decision line in one CloudWatch event, as Lambda stores it: the bare JSON, or the
/// Node runtime's `TIMESTAMP<TAB>REQUEST_ID<TAB>LEVEL<TAB>` before it, or the JSON log
/// format's `message`. `None` for everything else (START, END, REPORT, the loader's errors,
/// a line whose `reason` is no SPEC §5 code).
pub fn decision_line(message: &str) -> Option<Line> {
    let text = message.trim_end_matches(['\n', '\r']);
    let json = if text.starts_with('{') {
        text
    } else {
        let mut fields = text.splitn(4, '\t');
        let (_time, _lambda_request, _level) = (fields.next()?, fields.next()?, fields.next()?);
        fields.next().filter(|rest| rest.starts_with('{'))?
    };
    let line = match serde_json::from_str::<Line>(json) {
        Ok(line) => line,
        Err(_) => {
            let wrapped: JsonFormat = serde_json::from_str(json).ok()?;
            let inner = wrapped.message.trim_end_matches(['\n', '\r']);
            if !inner.starts_with('{') {
                return None;
            }
            serde_json::from_str::<Line>(inner).ok()?
        }
    };
    Reason::from_code(&line.reason).map(|_| line)
}

/// What to read: a window and the filters of `logs`.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub reasons: Vec<Reason>,
    pub request_id: Option<String>,
    pub path_prefix: Option<String>,
    /// Events per `FilterLogEvents` page (AWS's default, 10,000, when `None`).
    pub page_limit: Option<i32>,
}

impl Query {
    /// The exact filter, applied to every line whatever the server returned.
    pub fn matches(&self, line: &Line) -> bool {
        (self.reasons.is_empty() || self.reasons.iter().any(|r| r.code() == line.reason))
            && self.request_id.as_ref().is_none_or(|id| *id == line.request_id)
            && self.path_prefix.as_ref().is_none_or(|prefix| line.path.starts_with(prefix.as_str()))
    }

    /// The server-side filter: one quoted term that every wanted line contains, so that only
    /// candidates cross the network; [`Query::matches`] then decides exactly. A term rather
    /// than a JSON pattern (`{ $.reason = "expired" }`) because a JSON pattern matches only
    /// events that are JSON as a whole, and the Node runtime stores each line behind its
    /// `TIMESTAMP<TAB>ID<TAB>INFO<TAB>` prefix: a JSON pattern would silently find nothing
    /// there. A term is a superset in every form Lambda stores.
    pub fn filter_pattern(&self) -> String {
        let term = match (&self.request_id, self.reasons.as_slice()) {
            (Some(id), _) if is_plain_term(id) => id.as_str(),
            (_, [one]) => one.code(),
            _ => DECISION_TERM,
        };
        format!("\"{term}\"")
    }
}

/// A term that needs no escaping inside a quoted CloudWatch filter term.
fn is_plain_term(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_=.+/:".contains(c))
}

/// One decision, where and when it was logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// ISO-8601 UTC, from the CloudWatch event's timestamp.
    pub time: String,
    pub timestamp_ms: i64,
    pub region: String,
    pub reason: String,
    pub request_id: String,
    pub distribution_id: String,
    pub method: String,
    pub path: String,
    pub client_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// CloudWatch's id of the event (what `--follow` deduplicates on).
    #[serde(skip)]
    pub event_id: String,
}

impl Decision {
    fn new(region: &str, timestamp_ms: i64, event_id: &str, line: Line) -> Decision {
        Decision {
            time: iso_time(timestamp_ms),
            timestamp_ms,
            region: region.to_owned(),
            reason: line.reason,
            request_id: line.request_id,
            distribution_id: line.distribution_id,
            method: line.method,
            path: line.path,
            client_ip: line.client_ip,
            token_id: line.token_id,
            event_id: event_id.to_owned(),
        }
    }

    /// The text form: time, region, reason, method, path, then the ids.
    pub fn text(&self) -> String {
        let mut text = format!(
            "{}  {:<14} {:<15} {:<4} {}  request_id={} client_ip={} distribution={}",
            self.time,
            self.region,
            self.reason,
            self.method,
            shown_path(&self.path),
            self.request_id,
            self.client_ip,
            self.distribution_id
        );
        if let Some(id) = &self.token_id {
            text.push_str(&format!(" token_id={id}"));
        }
        text
    }
}

/// An `internal` line written before any path was known has an empty one.
fn shown_path(path: &str) -> &str {
    if path.is_empty() { "-" } else { path }
}

/// A CloudWatch Logs client for one region.
#[derive(Debug, Clone)]
pub struct RegionLogs {
    pub region: String,
    pub client: aws_sdk_cloudwatchlogs::Client,
}

/// The regions this account has enabled (EC2 `DescribeRegions`): Lambda@Edge can log in any
/// of them, and AWS adds regions, so the list is never written down here.
pub async fn enabled_regions(ec2: &aws_sdk_ec2::Client) -> anyhow::Result<Vec<String>> {
    let answer = ec2
        .describe_regions()
        .all_regions(false)
        .send()
        .await
        .map_err(|e| aws_failure("ec2:DescribeRegions", "the account's regions", e))?;
    let mut regions: Vec<String> = answer
        .regions()
        .iter()
        // `AllRegions=false` already leaves out regions not opted in; the status check keeps
        // that true for an endpoint that ignores the parameter.
        .filter(|r| r.opt_in_status().is_none_or(|s| s != "not-opted-in"))
        .filter_map(|r| r.region_name().map(str::to_owned))
        .collect();
    regions.sort();
    regions.dedup();
    if regions.is_empty() {
        bail!("ec2:DescribeRegions returned no enabled region");
    }
    Ok(regions)
}

/// One CloudWatch Logs client per region, all sharing `sdk`'s credentials, endpoint and
/// retry settings.
pub fn region_clients(sdk: &SdkConfig, regions: &[String]) -> Vec<RegionLogs> {
    regions
        .iter()
        .map(|region| {
            let config = aws_sdk_cloudwatchlogs::config::Builder::from(sdk).region(Region::new(region.clone())).build();
            RegionLogs { region: region.clone(), client: aws_sdk_cloudwatchlogs::Client::from_conf(config) }
        })
        .collect()
}

/// Every enabled region's client, the region list asked of us-east-1 (any region answers
/// `DescribeRegions`; pinning it spares a profile without a region).
pub async fn all_region_clients(sdk: &SdkConfig) -> anyhow::Result<Vec<RegionLogs>> {
    let ec2 = aws_sdk_ec2::config::Builder::from(sdk).region(Region::from_static(EDGE_REGION)).build();
    let regions = enabled_regions(&aws_sdk_ec2::Client::from_conf(ec2)).await?;
    Ok(region_clients(sdk, &regions))
}

/// A region that refused or failed; the other regions' results stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionFailure {
    pub region: String,
    /// The IAM action that was refused or failed, e.g. `logs:FilterLogEvents`.
    pub call: String,
    pub code: Option<String>,
    pub message: String,
}

impl RegionFailure {
    fn from_error(region: &str, error: anyhow::Error) -> RegionFailure {
        match error.downcast::<AwsFailure>() {
            Ok(f) => RegionFailure { region: region.to_owned(), call: f.call, code: f.code, message: f.message },
            Err(other) => RegionFailure {
                region: region.to_owned(),
                call: String::new(),
                code: None,
                message: format!("{other:#}"),
            },
        }
    }

    fn text(&self) -> String {
        let mut text = format!("{}: {}", self.region, self.call);
        if let Some(code) = &self.code {
            text.push_str(&format!(": {code}"));
        }
        if !self.message.is_empty() {
            text.push_str(&format!(": {}", self.message));
        }
        text
    }
}

/// Every region's decisions, merged.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Fetched {
    /// By time, then region (a stable order for lines logged in the same millisecond).
    pub decisions: Vec<Decision>,
    /// Regions whose group holds the lines read (absent groups are not listed).
    pub regions_read: Vec<String>,
    /// Regions with no such group: the function never ran there.
    pub regions_without_group: Vec<String>,
    pub failed: Vec<RegionFailure>,
}

enum RegionRead {
    Decisions(Vec<Decision>),
    NoGroup,
    Failed(RegionFailure),
}

/// Reads `group` in every region at once and merges the decision lines by time.
pub async fn fetch(regions: &[RegionLogs], group: &str, query: &Query) -> Fetched {
    let reads = each_region(regions, |logs| {
        let (group, query) = (group.to_owned(), query.clone());
        async move { read_region(&logs, &group, &query).await }
    })
    .await;
    let mut fetched = Fetched::default();
    for (region, read) in reads {
        let read = read.unwrap_or_else(|message| RegionRead::Failed(task_failure(&region, message)));
        match read {
            RegionRead::Decisions(decisions) => {
                fetched.regions_read.push(region);
                fetched.decisions.extend(decisions);
            }
            RegionRead::NoGroup => fetched.regions_without_group.push(region),
            RegionRead::Failed(failure) => fetched.failed.push(failure),
        }
    }
    fetched
        .decisions
        .sort_by(|a, b| (a.timestamp_ms, &a.region, &a.event_id).cmp(&(b.timestamp_ms, &b.region, &b.event_id)));
    fetched.regions_read.sort();
    fetched.regions_without_group.sort();
    fetched.failed.sort_by(|a, b| a.region.cmp(&b.region));
    fetched
}

/// Runs `work` for every region at once. A task that panicked is reported under its region
/// (as `Err` with the panic's text), never lost.
async fn each_region<T, W, F>(regions: &[RegionLogs], work: W) -> Vec<(String, Result<T, String>)>
where
    T: Send + 'static,
    W: Fn(RegionLogs) -> F,
    F: Future<Output = T> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    let mut names = HashMap::new();
    for logs in regions {
        let region = logs.region.clone();
        let handle = tasks.spawn(work(logs.clone()));
        names.insert(handle.id(), region);
    }
    let mut done = Vec::with_capacity(regions.len());
    while let Some(joined) = tasks.join_next_with_id().await {
        match joined {
            Ok((id, value)) => done.push((names.remove(&id).unwrap_or_default(), Ok(value))),
            Err(e) => done.push((names.remove(&e.id()).unwrap_or_default(), Err(e.to_string()))),
        }
    }
    done
}

fn task_failure(region: &str, message: String) -> RegionFailure {
    RegionFailure { region: region.to_owned(), call: String::new(), code: None, message }
}

/// One region's matching lines, every page of them.
async fn read_region(logs: &RegionLogs, group: &str, query: &Query) -> RegionRead {
    let mut decisions = Vec::new();
    let mut token: Option<String> = None;
    let pattern = query.filter_pattern();
    loop {
        let page = logs
            .client
            .filter_log_events()
            .log_group_name(group)
            .start_time(query.start_ms)
            .set_end_time(query.end_ms)
            .filter_pattern(&pattern)
            .set_limit(query.page_limit)
            .set_next_token(token.clone())
            .send()
            .await;
        let page = match page {
            Ok(page) => page,
            Err(e) if is_no_group(&e) => return RegionRead::NoGroup,
            Err(e) => {
                let error = aws_failure("logs:FilterLogEvents", &format!("{group} in {}", logs.region), e);
                return RegionRead::Failed(RegionFailure::from_error(&logs.region, error));
            }
        };
        for event in page.events() {
            let Some(line) = decision_line(event.message().unwrap_or_default()) else { continue };
            if query.matches(&line) {
                let (time, id) = (event.timestamp().unwrap_or_default(), event.event_id().unwrap_or_default());
                decisions.push(Decision::new(&logs.region, time, id, line));
            }
        }
        match page.next_token() {
            // A token equal to the one just sent would loop forever; AWS never sends one.
            Some(next) if token.as_deref() != Some(next) => token = Some(next.to_owned()),
            _ => break,
        }
    }
    RegionRead::Decisions(decisions)
}

fn is_no_group<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.code() == Some("ResourceNotFoundException")
}

/// `--summary`: counts by reason × region, and the most refused paths per reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    /// reason → region → count.
    pub by_reason: BTreeMap<String, BTreeMap<String, usize>>,
    /// reason → up to five (path, count), most first.
    pub top_paths: BTreeMap<String, Vec<PathCount>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathCount {
    pub path: String,
    pub count: usize,
}

pub fn summarize(decisions: &[Decision]) -> Summary {
    let mut summary = Summary { total: decisions.len(), ..Summary::default() };
    let mut paths: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for d in decisions {
        *summary.by_reason.entry(d.reason.clone()).or_default().entry(d.region.clone()).or_default() += 1;
        *paths.entry(&d.reason).or_default().entry(&d.path).or_default() += 1;
    }
    for (reason, counts) in paths {
        let mut ranked: Vec<PathCount> =
            counts.into_iter().map(|(path, count)| PathCount { path: path.to_owned(), count }).collect();
        // Most first; ties by path so that the output is the same on every run.
        ranked.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.path.cmp(&b.path)));
        ranked.truncate(TOP_PATHS);
        summary.top_paths.insert(reason.to_owned(), ranked);
    }
    summary
}

/// The summary as a table: one row per reason, one column per region that logged any.
pub fn summary_text(summary: &Summary) -> Vec<String> {
    let mut regions: Vec<&str> = summary.by_reason.values().flat_map(|r| r.keys().map(String::as_str)).collect();
    regions.sort_unstable();
    regions.dedup();
    let width = |r: &str| r.len().max(5);
    let mut lines = Vec::new();
    let mut header = format!("{:<16}{:>7}", "reason", "total");
    for r in &regions {
        header.push_str(&format!("  {:>w$}", r, w = width(r)));
    }
    lines.push(header);
    for (reason, by_region) in &summary.by_reason {
        let total: usize = by_region.values().sum();
        let mut row = format!("{reason:<16}{total:>7}");
        for r in &regions {
            let n = by_region.get(*r).copied().unwrap_or(0);
            row.push_str(&format!("  {:>w$}", n, w = width(r)));
        }
        lines.push(row);
    }
    lines.push(format!("{:<16}{:>7}", "all", summary.total));
    if !summary.top_paths.is_empty() {
        lines.push(String::new());
        lines.push("top paths per reason:".to_owned());
        for (reason, paths) in &summary.top_paths {
            lines.push(format!("  {reason}"));
            for p in paths {
                lines.push(format!("  {:>7}  {}", p.count, shown_path(&p.path)));
            }
        }
    }
    lines
}

/// Codes AWS answers when the caller may not read the group (or may not use the region).
fn is_refusal(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("AccessDeniedException" | "AccessDenied" | "UnrecognizedClientException" | "InvalidClientTokenId")
    )
}

/// What `--follow` hands its printer.
#[derive(Debug)]
pub enum Followed<'a> {
    Decision(&'a Decision),
    /// Reported once per region and error code; a refusing region is not asked again.
    Failed(&'a RegionFailure),
}

/// Polls every `interval` until `stop` resolves, handing each new decision (once: event ids
/// deduplicate the overlapping windows) and each failing region (once) to `emit`.
pub async fn follow<S, F>(
    regions: &[RegionLogs],
    group: &str,
    mut query: Query,
    interval: Duration,
    stop: S,
    mut emit: F,
) -> anyhow::Result<()>
where
    S: Future<Output = ()>,
    F: FnMut(Followed<'_>) -> anyhow::Result<()>,
{
    tokio::pin!(stop);
    let first_start = query.start_ms;
    let mut active: Vec<RegionLogs> = regions.to_vec();
    let mut seen: HashMap<(String, String), i64> = HashMap::new();
    let mut reported: HashSet<(String, Option<String>)> = HashSet::new();
    let mut newest = i64::MIN;
    loop {
        let fetched = tokio::select! {
            () = &mut stop => return Ok(()),
            fetched = fetch(&active, group, &query) => fetched,
        };
        for failure in &fetched.failed {
            if reported.insert((failure.region.clone(), failure.code.clone())) {
                emit(Followed::Failed(failure))?;
            }
            // A refusal stays a refusal until the policy changes: stop asking. Anything else
            // (throttling past the SDK's retries, a network error) may pass: ask again.
            if is_refusal(failure.code.as_deref()) {
                active.retain(|r| r.region != failure.region);
            }
        }
        for decision in &fetched.decisions {
            let key = (decision.region.clone(), decision.event_id.clone());
            if seen.insert(key, decision.timestamp_ms).is_none() {
                emit(Followed::Decision(decision))?;
                newest = newest.max(decision.timestamp_ms);
            }
        }
        if newest > i64::MIN {
            query.start_ms = first_start.max(newest.saturating_sub(FOLLOW_OVERLAP_MS));
            seen.retain(|_, time| *time >= query.start_ms);
        }
        tokio::select! {
            () = &mut stop => return Ok(()),
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// What a retention run did in one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetentionAction {
    /// The group was missing: created, retention set.
    Created,
    /// The group had another retention (or none): set.
    Updated,
    /// Already right: nothing written.
    Unchanged,
}

impl RetentionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionAction::Created => "created",
            RetentionAction::Updated => "updated",
            RetentionAction::Unchanged => "unchanged",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionChange {
    pub region: String,
    pub action: RetentionAction,
    /// The retention before (`None`: never expire, or no group).
    pub previous_days: Option<i32>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RetentionReport {
    pub group: String,
    pub days: i32,
    /// By region.
    pub regions: Vec<RetentionChange>,
    pub failed: Vec<RetentionFailure>,
}

pub type RetentionFailure = RegionFailure;

impl RetentionReport {
    fn count(&self, action: RetentionAction) -> usize {
        self.regions.iter().filter(|r| r.action == action).count()
    }

    /// One line: what changed where.
    pub fn text(&self) -> String {
        format!(
            "{} retention {} days in {} regions ({} created, {} updated, {} already right)",
            self.group,
            self.days,
            self.regions.len(),
            self.count(RetentionAction::Created),
            self.count(RetentionAction::Updated),
            self.count(RetentionAction::Unchanged)
        )
    }

    /// Exit 3 naming every region that refused, after the others were done.
    pub fn outcome(&self) -> anyhow::Result<()> {
        failures_error(&self.failed, &self.group)
    }
}

/// Gives `group` a retention of `days` in every region, creating it where it is missing.
/// Groups already right are not written, so a re-run changes nothing.
pub async fn set_retention(regions: &[RegionLogs], group: &str, days: i32) -> RetentionReport {
    let outcomes = each_region(regions, |logs| {
        let group = group.to_owned();
        async move { ensure_retention(&logs, &group, days).await }
    })
    .await;
    let mut report = RetentionReport { group: group.to_owned(), days, ..RetentionReport::default() };
    for (region, outcome) in outcomes {
        match outcome {
            Ok(Ok(change)) => report.regions.push(change),
            Ok(Err(error)) => report.failed.push(RegionFailure::from_error(&region, error)),
            Err(message) => report.failed.push(task_failure(&region, message)),
        }
    }
    report.regions.sort_by(|a, b| a.region.cmp(&b.region));
    report.failed.sort_by(|a, b| a.region.cmp(&b.region));
    report
}

async fn ensure_retention(logs: &RegionLogs, group: &str, days: i32) -> anyhow::Result<RetentionChange> {
    let resource = format!("{group} in {}", logs.region);
    let change = |action, previous_days| RetentionChange { region: logs.region.clone(), action, previous_days };
    let (action, previous) = match current_retention(logs, group, &resource).await? {
        Some(Some(current)) if current == days => return Ok(change(RetentionAction::Unchanged, Some(current))),
        Some(previous) => (RetentionAction::Updated, previous),
        None => match logs.client.create_log_group().log_group_name(group).send().await {
            Ok(_) => (RetentionAction::Created, None),
            // Lambda created it between our look and our create: set it like any other.
            Err(e) if e.code() == Some("ResourceAlreadyExistsException") => (RetentionAction::Updated, None),
            Err(e) => return Err(aws_failure("logs:CreateLogGroup", &resource, e)),
        },
    };
    logs.client
        .put_retention_policy()
        .log_group_name(group)
        .retention_in_days(days)
        .send()
        .await
        .map_err(|e| aws_failure("logs:PutRetentionPolicy", &resource, e))?;
    Ok(change(action, previous))
}

/// `None`: no such group; `Some(None)`: the group never expires its events.
async fn current_retention(logs: &RegionLogs, group: &str, resource: &str) -> anyhow::Result<Option<Option<i32>>> {
    let mut token: Option<String> = None;
    loop {
        let page = logs
            .client
            .describe_log_groups()
            .log_group_name_prefix(group)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| aws_failure("logs:DescribeLogGroups", resource, e))?;
        // The prefix also matches longer names (`..._auth2`): only the exact one counts.
        if let Some(found) = page.log_groups().iter().find(|g| g.log_group_name() == Some(group)) {
            return Ok(Some(found.retention_in_days()));
        }
        match page.next_token() {
            Some(next) if token.as_deref() != Some(next) => token = Some(next.to_owned()),
            _ => return Ok(None),
        }
    }
}

/// `Ok` when no region failed; else one AWS failure (exit 3) naming each region and call.
fn failures_error(failed: &[RegionFailure], group: &str) -> anyhow::Result<()> {
    let Some(first) = failed.first() else { return Ok(()) };
    let regions: Vec<String> = failed.iter().map(RegionFailure::text).collect();
    let call = if failed.iter().all(|f| f.call == first.call) { first.call.clone() } else { "logs".to_owned() };
    Err(anyhow::Error::new(AwsFailure {
        call,
        resource: format!("{group} in {} region(s)", failed.len()),
        code: None,
        message: format!("the other regions were done; refused or failed: {}", regions.join("; ")),
    }))
}

/// The read window and filters from the arguments, at `now_ms`.
pub fn query_of(args: &LogsArgs, now_ms: i64) -> anyhow::Result<Query> {
    let start_ms = parse_time(&args.since, now_ms).context("--since")?;
    let end_ms = args.until.as_deref().map(|u| parse_time(u, now_ms)).transpose().context("--until")?;
    if let Some(end) = end_ms
        && end < start_ms
    {
        bail!("--until is before --since");
    }
    Ok(Query {
        start_ms,
        end_ms,
        reasons: args.reasons.clone(),
        request_id: args.request_id.clone(),
        path_prefix: args.path_prefix.clone(),
        page_limit: None,
    })
}

pub async fn run(args: &LogsArgs, out: Output) -> anyhow::Result<Status> {
    let sdk = aws_config::defaults(BehaviorVersion::latest()).region(Region::from_static(EDGE_REGION)).load().await;
    let regions = all_region_clients(&sdk).await?;
    run_with(&regions, args, out).await
}

/// `logs` against the given region clients (the tests' moto or replay clients).
pub async fn run_with(regions: &[RegionLogs], args: &LogsArgs, out: Output) -> anyhow::Result<Status> {
    let group = log_group_name(&args.function.function_name);
    if let Some(days) = args.set_retention {
        let report = set_retention(regions, &group, days).await;
        match out {
            Output::Json => print_json(&report)?,
            Output::Text => {
                for change in &report.regions {
                    let previous = change.previous_days.map_or("never expires".to_owned(), |d| format!("{d} days"));
                    outln!("{:<16} {:<10} (was: {previous})", change.region, change.action.as_str())?;
                }
                outln!("{}", report.text())?;
            }
        }
        report.outcome()?;
        return Ok(Status::Ok);
    }
    let now_s = crate::clock::now_or_clock(None)?;
    let now_ms = i64::try_from(now_s).context("clock out of range")?.saturating_mul(1000);
    let query = query_of(args, now_ms)?;
    if args.follow {
        let stop = async {
            // No signal handler means no way to be interrupted but the default one, which
            // ends the process just the same.
            let _ = tokio::signal::ctrl_c().await;
        };
        let printer = |item: Followed<'_>| match item {
            Followed::Decision(d) if out == Output::Json => outln!("{}", serde_json::to_string(d)?),
            Followed::Decision(d) => outln!("{}", d.text()),
            Followed::Failed(f) => {
                eprintln!("edgegate: warning: {}; its lines are left out", f.text());
                Ok(())
            }
        };
        follow(regions, &group, query, Duration::from_secs(args.interval), stop, printer).await?;
        return Ok(Status::Ok);
    }
    let fetched = fetch(regions, &group, &query).await;
    match (out, args.summary) {
        (Output::Json, true) => {
            #[derive(Serialize)]
            struct Report<'a> {
                group: &'a str,
                since: String,
                until: Option<String>,
                summary: Summary,
                regions_read: &'a [String],
                failed: &'a [RegionFailure],
            }
            print_json(&Report {
                group: &group,
                since: iso_time(query.start_ms),
                until: query.end_ms.map(iso_time),
                summary: summarize(&fetched.decisions),
                regions_read: &fetched.regions_read,
                failed: &fetched.failed,
            })?;
        }
        (Output::Json, false) => {
            #[derive(Serialize)]
            struct Report<'a> {
                group: &'a str,
                since: String,
                until: Option<String>,
                #[serde(flatten)]
                fetched: &'a Fetched,
            }
            print_json(&Report {
                group: &group,
                since: iso_time(query.start_ms),
                until: query.end_ms.map(iso_time),
                fetched: &fetched,
            })?;
        }
        (Output::Text, true) => {
            for line in summary_text(&summarize(&fetched.decisions)) {
                outln!("{line}")?;
            }
        }
        (Output::Text, false) => {
            for decision in &fetched.decisions {
                outln!("{}", decision.text())?;
            }
        }
    }
    if out == Output::Text {
        // On stderr: what was searched, so an empty answer is not mistaken for a missing group.
        eprintln!(
            "{} decision line(s) from {} since {}; {} region(s) with the group, {} without",
            fetched.decisions.len(),
            group,
            iso_time(query.start_ms),
            fetched.regions_read.len(),
            fetched.regions_without_group.len()
        );
    }
    failures_error(&fetched.failed, &group)?;
    Ok(Status::Ok)
}

#[cfg(test)]
#[path = "logs_tests.rs"]
mod tests;
