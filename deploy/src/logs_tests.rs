//! `logs` against a real moto server (CloudWatch Logs in several regions, EC2's region list)
//! and against the SDK's `StaticReplayClient` for what moto cannot answer: a region that
//! refuses, and throttling.
//!
//! The decision lines are the real handler's: every viewer-request fixture of
//! `fixtures/events/` is run through `handle_event_json` with the fixtures' configuration at
//! its expectation's `now`, and the log line it writes is stored as Lambda stores it (bare,
//! or behind the Node runtime's `TIMESTAMP<TAB>ID<TAB>INFO<TAB>` prefix), between START, END
//! and REPORT lines and a loader error that must all be skipped. Replay bodies follow the
//! CloudWatch Logs API reference (FilterLogEvents response syntax; errors as
//! `x-amzn-errortype` plus `{"__type", "message"}`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use aws_config::retry::RetryConfig;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use edgegate_handler::{GateState, gate_from_json, handle_event_json};

use super::*;
use crate::aws::replay_tests::{replay_sdk_config, respond};
use crate::aws::testing::MotoServer;
use crate::output::exit_code_for;

const FUNCTION: &str = "packagecloud_cloudfront_auth";
/// The regions that hold lines; the fifth has no group (the function never ran there).
const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "ap-northeast-1", "sa-east-1"];
const NO_GROUP: &str = "eu-central-1";
/// Small pages, so that every region needs several (moto honours `limit` and `nextToken`).
const PAGE: i32 = 2;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// `(case, log line)` for every top-level fixture whose handling writes a line, by case name.
fn handler_lines() -> Vec<(String, String)> {
    let config = std::fs::read_to_string(fixtures().join("config/edgegate.json")).expect("fixture config");
    let gate = gate_from_json(&config);
    assert!(gate.is_ok(), "fixture configuration loads");
    let mut lines = Vec::new();
    let dir = fixtures().join("events");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures/events")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json") && !n.ends_with(".expected.json"))
        .collect();
    names.sort();
    for name in names {
        let case = name.trim_end_matches(".json");
        let event = std::fs::read_to_string(dir.join(&name)).expect("event");
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{case}.expected.json"))).expect("expectation"),
        )
        .expect("expectation JSON");
        let now = expected["now"].as_u64().expect("now");
        if let Some(log) = handle_event_json(GateState::of(&gate), &event, now).log {
            lines.push((case.to_owned(), log));
        }
    }
    assert!(lines.len() >= 20, "the fixtures give enough decision lines: {}", lines.len());
    lines
}

/// One stored decision: where, when, and the handler's line parsed independently of the
/// code under test.
#[derive(Debug, Clone)]
struct Seeded {
    region: &'static str,
    timestamp_ms: i64,
    line: serde_json::Value,
}

impl Seeded {
    fn field(&self, name: &str) -> &str {
        self.line[name].as_str().unwrap_or_default()
    }
}

/// `LogsArgs` on its own, as the CLI flattens it in (without reaching back into `cli`:
/// dependencies point one way).
#[derive(Debug, clap::Parser)]
struct LogsCommand {
    #[command(flatten)]
    args: LogsArgs,
}

/// `edgegate logs ARGS...` as the command line parses it.
fn logs_args(args: &[&str]) -> LogsArgs {
    try_logs_args(args).expect("arguments")
}

fn try_logs_args(args: &[&str]) -> Result<LogsArgs, clap::Error> {
    use clap::Parser as _;
    let line = ["edgegate logs"].into_iter().chain(args.iter().copied());
    LogsCommand::try_parse_from(line).map(|c| c.args)
}

fn now_ms() -> i64 {
    i64::try_from(crate::clock::now().expect("clock")).expect("secs") * 1000
}

/// Line `i` goes to region `i % 4`, one second after line `i - 1`: every region holds every
/// fourth line, so the merged order interleaves all of them. Odd lines carry the Node
/// runtime's prefix, even lines are bare.
fn plan(base_ms: i64) -> Vec<(Seeded, String)> {
    handler_lines()
        .into_iter()
        .enumerate()
        .map(|(i, (_, log))| {
            let timestamp_ms = base_ms + 1000 * i64::try_from(i).expect("index");
            let stored = if i % 2 == 1 {
                format!("{}\t{}\tINFO\t{log}\n", iso_time(timestamp_ms), lambda_request(i))
            } else {
                format!("{log}\n")
            };
            let seeded = Seeded {
                region: REGIONS[i % REGIONS.len()],
                timestamp_ms,
                line: serde_json::from_str(&log).expect("handler line is JSON"),
            };
            (seeded, stored)
        })
        .collect()
}

fn lambda_request(i: usize) -> String {
    format!("{i:08x}-7f1e-4b1c-9c52-0a1b2c3d4e5f")
}

/// The Lambda runtime's own lines around each invocation, and a loader error: none of them is
/// a decision line.
fn noise(i: usize, timestamp_ms: i64) -> Vec<(i64, String)> {
    let id = lambda_request(i);
    vec![
        (timestamp_ms - 2, format!("START RequestId: {id} Version: 3\n")),
        (
            timestamp_ms - 1,
            format!(
                "{}\t{id}\tERROR\t{{\"edgegate\":\"cannot load edgegate.wasm\",\"error\":\"x\"}}\n",
                iso_time(timestamp_ms)
            ),
        ),
        (timestamp_ms + 1, format!("END RequestId: {id}\n")),
        (
            timestamp_ms + 2,
            format!("REPORT RequestId: {id}\tDuration: 1.52 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\n"),
        ),
    ]
}

async fn put(logs: &RegionLogs, group: &str, stream: &str, mut events: Vec<(i64, String)>) {
    events.sort();
    let events: Vec<InputLogEvent> = events
        .into_iter()
        .map(|(t, m)| InputLogEvent::builder().timestamp(t).message(m).build().expect("event"))
        .collect();
    logs.client
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(events))
        .send()
        .await
        .expect("put_log_events");
}

async fn create(logs: &RegionLogs, group: &str, stream: &str) {
    logs.client.create_log_group().log_group_name(group).send().await.expect("create_log_group");
    logs.client
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .expect("create_log_stream");
}

const STREAM: &str = "2026/11/28/[3]0123456789abcdef";

/// moto with the plan's lines in four regions, none in a fifth. Returns the clients of all
/// five regions and what was stored.
async fn seeded(moto: &MotoServer, base_ms: i64) -> (Vec<RegionLogs>, Vec<Seeded>) {
    let group = log_group_name(FUNCTION);
    let mut all: Vec<String> = REGIONS.iter().map(|r| (*r).to_owned()).collect();
    all.push(NO_GROUP.to_owned());
    let clients = region_clients(&moto.sdk_config(), &all);
    let plan = plan(base_ms);
    for (r, region) in REGIONS.iter().enumerate() {
        let logs = &clients[r];
        create(logs, &group, STREAM).await;
        let mut events = Vec::new();
        for (i, (seeded, stored)) in plan.iter().enumerate() {
            if seeded.region == *region {
                events.push((seeded.timestamp_ms, stored.clone()));
                events.extend(noise(i, seeded.timestamp_ms));
            }
        }
        put(logs, &group, STREAM, events).await;
    }
    (clients, plan.into_iter().map(|(s, _)| s).collect())
}

fn query(start_ms: i64) -> Query {
    Query { start_ms, page_limit: Some(PAGE), ..Query::default() }
}

/// `(region, request_id, reason, timestamp)`: what identifies a line in assertions.
fn keys_of(decisions: &[Decision]) -> Vec<(String, String, String, i64)> {
    decisions.iter().map(|d| (d.region.clone(), d.request_id.clone(), d.reason.clone(), d.timestamp_ms)).collect()
}

fn keys_of_seeded<'a>(seeded: impl IntoIterator<Item = &'a Seeded>) -> Vec<(String, String, String, i64)> {
    seeded
        .into_iter()
        .map(|s| (s.region.to_owned(), s.field("request_id").to_owned(), s.field("reason").to_owned(), s.timestamp_ms))
        .collect()
}

#[tokio::test]
async fn merges_every_regions_lines_by_time_over_several_pages_and_skips_a_region_without_the_group() {
    let moto = MotoServer::start();
    let base = now_ms() - 3_600_000;
    let (clients, seeded) = seeded(&moto, base).await;
    let group = log_group_name(FUNCTION);

    // moto really pages: one region's first answer holds PAGE events and a token.
    let first = clients[0]
        .client
        .filter_log_events()
        .log_group_name(&group)
        .limit(PAGE)
        .send()
        .await
        .expect("filter_log_events");
    assert_eq!(first.events().len(), usize::try_from(PAGE).expect("page"));
    assert!(first.next_token().is_some(), "moto paginates");
    let per_region = seeded.iter().filter(|s| s.region == REGIONS[0]).count();
    assert!(per_region > 2 * usize::try_from(PAGE).expect("page"), "several pages per region: {per_region}");

    let fetched = fetch(&clients, &group, &query(base - 1)).await;
    assert!(fetched.failed.is_empty(), "{:?}", fetched.failed);
    assert_eq!(fetched.regions_without_group, vec![NO_GROUP.to_owned()]);
    let mut read: Vec<String> = REGIONS.iter().map(|r| (*r).to_owned()).collect();
    read.sort();
    assert_eq!(fetched.regions_read, read);
    // Every line, each once, in time order, with its region; no START/END/REPORT/loader line.
    assert_eq!(keys_of(&fetched.decisions), keys_of_seeded(&seeded));
    let times: Vec<i64> = fetched.decisions.iter().map(|d| d.timestamp_ms).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]));
    // The fields are the handler's, whichever form the line was stored in.
    for (d, s) in fetched.decisions.iter().zip(&seeded) {
        assert_eq!(
            (d.path.as_str(), d.method.as_str(), d.client_ip.as_str(), d.distribution_id.as_str()),
            (s.field("path"), s.field("method"), s.field("client_ip"), s.field("distribution_id"))
        );
        assert_eq!(d.token_id.as_deref(), s.line["token_id"].as_str());
    }
}

#[tokio::test]
async fn reason_since_until_request_id_and_path_prefix_filter_as_documented() {
    let moto = MotoServer::start();
    let now = now_ms();
    let base = now - 3_600_000;
    let (clients, seeded) = seeded(&moto, base).await;
    let group = log_group_name(FUNCTION);

    let with_path = seeded.iter().find(|s| s.field("path").len() > 1).expect("a line with a path");
    let path = with_path.field("path");
    let prefix = path[..path[1..].find('/').map_or(path.len(), |i| i + 2)].to_owned();
    let request_id = seeded[5].field("request_id").to_owned();
    assert!(!request_id.is_empty());
    let middle = seeded[10].timestamp_ms;

    type Case<'a> = (&'static str, Query, Box<dyn Fn(&Seeded) -> bool + 'a>);
    let cases: Vec<Case<'_>> = vec![
        (
            "--reason expired --reason bad-signature",
            Query { reasons: vec![Reason::Expired, Reason::BadSignature], ..query(base - 1) },
            Box::new(|s: &Seeded| ["expired", "bad-signature"].contains(&s.field("reason"))),
        ),
        (
            "--reason bad-path (one reason: the server-side term)",
            Query { reasons: vec![Reason::BadPath], ..query(base - 1) },
            Box::new(|s: &Seeded| s.field("reason") == "bad-path"),
        ),
        (
            "--since at line 10",
            Query { start_ms: middle, ..query(0) },
            Box::new(move |s: &Seeded| s.timestamp_ms >= middle),
        ),
        (
            "--until at line 10",
            Query { end_ms: Some(middle), ..query(base - 1) },
            Box::new(move |s: &Seeded| s.timestamp_ms <= middle),
        ),
        (
            "--request-id",
            Query { request_id: Some(request_id.clone()), ..query(base - 1) },
            Box::new(move |s: &Seeded| s.field("request_id") == request_id),
        ),
        (
            "--path-prefix",
            Query { path_prefix: Some(prefix.clone()), ..query(base - 1) },
            Box::new(|s: &Seeded| s.field("path").starts_with(prefix.as_str())),
        ),
    ];
    for (name, query, wanted) in cases {
        let expected: Vec<&Seeded> = seeded.iter().filter(|s| wanted(s)).collect();
        assert!(!expected.is_empty() && expected.len() < seeded.len(), "{name}: a filter that selects some");
        let fetched = fetch(&clients, &group, &query).await;
        assert_eq!(keys_of(&fetched.decisions), keys_of_seeded(expected), "{name}");
    }

    // The same through the arguments: `--since` as a duration back from now.
    let args = logs_args(&["--since", "30m", "--reason", "expired", "--until", "1m"]);
    let q = query_of(&args, now).expect("query");
    assert_eq!((q.start_ms, q.end_ms, q.reasons.clone()), (now - 1_800_000, Some(now - 60_000), vec![Reason::Expired]));
}

#[tokio::test]
async fn summary_counts_are_exact() {
    let moto = MotoServer::start();
    let base = now_ms() - 3_600_000;
    let (clients, seeded) = seeded(&moto, base).await;
    let fetched = fetch(&clients, &log_group_name(FUNCTION), &query(base - 1)).await;
    let summary = summarize(&fetched.decisions);

    let mut by_reason: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut paths: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for s in &seeded {
        *by_reason.entry(s.field("reason").into()).or_default().entry(s.region.into()).or_default() += 1;
        *paths.entry(s.field("reason").into()).or_default().entry(s.field("path").into()).or_default() += 1;
    }
    assert_eq!(summary.total, seeded.len());
    assert_eq!(summary.by_reason, by_reason);
    for (reason, counts) in &paths {
        let top = &summary.top_paths[reason];
        assert_eq!(top.len(), counts.len().min(TOP_PATHS), "{reason}");
        for p in top {
            assert_eq!(Some(&p.count), counts.get(&p.path), "{reason} {}", p.path);
        }
        assert!(top.windows(2).all(|w| w[0].count >= w[1].count), "{reason}: most first");
    }
    assert!(by_reason.len() >= 5 && by_reason.values().any(|r| r.len() >= 2), "a table worth checking");

    let text = summary_text(&summary).join("\n");
    println!("{text}");
    let expired = summary_text(&summary).into_iter().find(|l| l.starts_with("expired ")).expect("expired row");
    let total: usize = by_reason["expired"].values().sum();
    assert_eq!(expired.split_whitespace().nth(1), Some(total.to_string().as_str()), "{expired}");
}

#[tokio::test]
async fn set_retention_creates_and_sets_every_enabled_regions_group_and_a_rerun_writes_nothing() {
    let moto = MotoServer::start();
    let sdk = moto.sdk_config();
    let clients = all_region_clients(&sdk).await.expect("regions from DescribeRegions");
    let names: Vec<&str> = clients.iter().map(|c| c.region.as_str()).collect();
    assert!(names.len() >= 10 && names.contains(&"us-east-1") && names.contains(&"eu-central-1"), "{names:?}");
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");

    let group = log_group_name(FUNCTION);
    // One region already has the group (Lambda made it) with another retention; one has a
    // longer-named group that the prefix lookup must not take for ours.
    let eu = clients.iter().find(|c| c.region == "eu-west-1").expect("eu-west-1");
    eu.client.create_log_group().log_group_name(&group).send().await.expect("create");
    eu.client.put_retention_policy().log_group_name(&group).retention_in_days(7).send().await.expect("retention");
    let ap = clients.iter().find(|c| c.region == "ap-south-1").expect("ap-south-1");
    ap.client.create_log_group().log_group_name(format!("{group}2")).send().await.expect("create other");

    let first = set_retention(&clients, &group, 14).await;
    assert!(first.failed.is_empty(), "{:?}", first.failed);
    assert_eq!(first.regions.len(), clients.len());
    for change in &first.regions {
        let expected = if change.region == "eu-west-1" {
            (RetentionAction::Updated, Some(7))
        } else {
            (RetentionAction::Created, None)
        };
        assert_eq!((change.action, change.previous_days), expected, "{}", change.region);
    }
    for logs in &clients {
        let groups = logs.client.describe_log_groups().log_group_name_prefix(&group).send().await.expect("describe");
        let ours = groups.log_groups().iter().find(|g| g.log_group_name() == Some(group.as_str()));
        assert_eq!(ours.and_then(|g| g.retention_in_days()), Some(14), "{}", logs.region);
    }

    let again = set_retention(&clients, &group, 14).await;
    assert!(again.failed.is_empty());
    assert!(again.regions.iter().all(|c| c.action == RetentionAction::Unchanged), "{:?}", again.regions);
    assert_eq!(
        again.text(),
        format!(
            "{group} retention 14 days in {} regions (0 created, 0 updated, {} already right)",
            clients.len(),
            clients.len()
        )
    );

    let longer = set_retention(&clients, &group, 30).await;
    assert!(longer.regions.iter().all(|c| (c.action, c.previous_days) == (RetentionAction::Updated, Some(14))));
}

#[tokio::test]
async fn follow_prints_each_new_line_once_and_a_refusing_region_once() {
    let moto = MotoServer::start();
    let base = now_ms() - 3_600_000;
    let group = log_group_name(FUNCTION);
    let mut clients = region_clients(&moto.sdk_config(), &["us-east-1".to_owned()]);
    create(&clients[0], &group, STREAM).await;
    let plan = plan(base);
    let (early, late) = plan.split_at(3);
    put(&clients[0], &group, STREAM, early.iter().map(|(s, m)| (s.timestamp_ms, m.clone())).collect()).await;
    // A region that refuses: answered once; asking it again would find no answer left.
    let http = StaticReplayClient::new(vec![denied()]);
    clients.extend(region_clients(&replay_sdk_config(&http), &["eu-west-1".to_owned()]));
    // A region that keeps throttling past the SDK's retries: reported once, asked again.
    let busy = StaticReplayClient::new((0..200).map(|_| throttled()).collect());
    clients.extend(region_clients(&replay_sdk_config(&busy), &["ap-south-1".to_owned()]));

    let writer = clients[0].clone();
    let later: Vec<(i64, String)> = late[..4].iter().map(|(s, m)| (s.timestamp_ms, m.clone())).collect();
    let stop = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        put(&writer, &group, STREAM, later).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
    };
    let printed = Arc::new(Mutex::new(Vec::new()));
    let sink = printed.clone();
    follow(&clients, &group, query(base - 1), Duration::from_millis(50), stop, |item| {
        let entry = match item {
            Followed::Decision(d) => format!("line {}", d.request_id),
            Followed::Failed(f) => format!("failed {} {}", f.region, f.call),
        };
        sink.lock().expect("lock").push(entry);
        Ok(())
    })
    .await
    .expect("follow");

    let printed = printed.lock().expect("lock").clone();
    let mut expected =
        vec!["failed ap-south-1 logs:FilterLogEvents".to_owned(), "failed eu-west-1 logs:FilterLogEvents".to_owned()];
    expected.extend(plan[..7].iter().map(|(s, _)| format!("line {}", s.field("request_id"))));
    assert_eq!(printed, expected);
    assert_eq!(http.actual_requests().count(), 1, "the refusing region is asked once");
    assert!(busy.actual_requests().count() > 3, "the throttled region is asked on every poll");
}

// ---- Replay: a refusing region, throttling ----

fn logs_json(status: u16, body: &str) -> ReplayEvent {
    respond(status, &[("content-type", "application/x-amz-json-1.1")], body)
}

fn logs_error(status: u16, code: &str, message: &str) -> ReplayEvent {
    respond(
        status,
        &[("content-type", "application/x-amz-json-1.1"), ("x-amzn-errortype", code)],
        &format!(r#"{{"__type":"{code}","message":"{message}"}}"#),
    )
}

fn throttled() -> ReplayEvent {
    logs_error(400, "ThrottlingException", "Rate exceeded")
}

fn denied() -> ReplayEvent {
    logs_error(
        400,
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: logs:FilterLogEvents",
    )
}

/// A FilterLogEvents page holding the given messages, one second apart from `base_ms`.
fn page(base_ms: i64, messages: &[&str]) -> ReplayEvent {
    page_with_token(base_ms, messages, None)
}

fn page_with_token(base_ms: i64, messages: &[&str], token: Option<&str>) -> ReplayEvent {
    let events: Vec<serde_json::Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let t = base_ms + 1000 * i64::try_from(i).expect("index");
            serde_json::json!({"logStreamName": STREAM, "timestamp": t, "message": m, "ingestionTime": t + 500,
                "eventId": format!("{t}-{i}")})
        })
        .collect();
    let mut body = serde_json::json!({"events": events, "searchedLogStreams": []});
    if let Some(token) = token {
        body["nextToken"] = serde_json::Value::from(token);
    }
    logs_json(200, &body.to_string())
}

fn replay_region(
    region: &str,
    events: Vec<ReplayEvent>,
    retry: Option<RetryConfig>,
) -> (RegionLogs, StaticReplayClient) {
    let http = StaticReplayClient::new(events);
    let mut sdk = replay_sdk_config(&http);
    if let Some(retry) = retry {
        sdk = sdk.to_builder().retry_config(retry).build();
    }
    let logs = region_clients(&sdk, &[region.to_owned()]).remove(0);
    (logs, http)
}

fn body_of(http: &StaticReplayClient, n: usize) -> serde_json::Value {
    let request = http.actual_requests().nth(n).expect("request");
    serde_json::from_slice(request.body().bytes().expect("body")).expect("JSON body")
}

#[tokio::test]
async fn an_access_denied_region_is_reported_once_naming_the_action_and_the_others_still_print() {
    let lines = handler_lines();
    let base = 1_795_500_000_000;
    let messages: Vec<&str> = lines[..3].iter().map(|(_, l)| l.as_str()).collect();
    let (us, us_http) = replay_region("us-east-1", vec![page(base, &messages)], None);
    let (eu, eu_http) = replay_region("eu-west-1", vec![denied()], None);
    let regions = vec![eu, us];
    let group = log_group_name(FUNCTION);
    let q = Query { start_ms: base - 1, reasons: vec![], ..Query::default() };

    let fetched = fetch(&regions, &group, &q).await;
    assert_eq!(fetched.decisions.len(), 3);
    assert!(fetched.decisions.iter().all(|d| d.region == "us-east-1"));
    assert_eq!(fetched.failed.len(), 1);
    let failure = &fetched.failed[0];
    assert_eq!(
        (failure.region.as_str(), failure.call.as_str(), failure.code.as_deref()),
        ("eu-west-1", "logs:FilterLogEvents", Some("AccessDeniedException"))
    );
    assert_eq!(eu_http.actual_requests().count(), 1);

    // What was asked: the group, the window, the decision term.
    let sent = body_of(&us_http, 0);
    assert_eq!(sent["logGroupName"], group);
    assert_eq!(sent["startTime"], base - 1);
    assert_eq!(sent["filterPattern"], "\"distribution_id\"");

    // The command: the lines print, then one AWS failure (exit 3) naming region and action.
    let (us, _) = replay_region("us-east-1", vec![page(base, &messages)], None);
    let (eu, _) = replay_region("eu-west-1", vec![denied()], None);
    let args = logs_args(&["--since", "2026-11-24T00:00:00Z"]);
    let error = run_with(&[eu, us], &args, Output::Text).await.expect_err("a region refused");
    assert_eq!(exit_code_for(&error), 3);
    let text = format!("{error:#}");
    assert_eq!(text.matches("eu-west-1").count(), 1, "{text}");
    assert!(text.contains("logs:FilterLogEvents") && text.contains("AccessDeniedException"), "{text}");
    assert!(!text.contains("us-east-1:"), "{text}");
}

#[tokio::test]
async fn throttling_without_retries_is_reported_and_with_the_sdks_retry_succeeds_on_the_second_answer() {
    let lines = handler_lines();
    let base = 1_795_500_000_000;
    let group = log_group_name(FUNCTION);
    let q = Query { start_ms: base - 1, ..Query::default() };

    let (once, _) = replay_region("eu-west-1", vec![throttled()], None);
    let fetched = fetch(&[once], &group, &q).await;
    assert_eq!(fetched.failed.len(), 1);
    assert_eq!(fetched.failed[0].code.as_deref(), Some("ThrottlingException"));

    let retry = RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(1));
    let (retried, http) =
        replay_region("eu-west-1", vec![throttled(), page(base, &[lines[0].1.as_str()])], Some(retry));
    let fetched = fetch(&[retried], &group, &q).await;
    assert!(fetched.failed.is_empty(), "{:?}", fetched.failed);
    assert_eq!(fetched.decisions.len(), 1);
    assert_eq!(http.actual_requests().count(), 2, "one throttled answer, one retry");
}

#[tokio::test]
async fn every_page_is_read_until_the_token_runs_out() {
    let lines = handler_lines();
    let base = 1_795_500_000_000;
    let pages = vec![
        page_with_token(base, &[lines[0].1.as_str()], Some("t1")),
        // CloudWatch may answer a page with no events and a token: the search goes on.
        page_with_token(base, &[], Some("t2")),
        page(base + 5000, &[lines[1].1.as_str(), lines[2].1.as_str()]),
    ];
    let (region, http) = replay_region("sa-east-1", pages, None);
    let fetched = fetch(&[region], &log_group_name(FUNCTION), &Query { start_ms: 0, ..Query::default() }).await;
    assert_eq!(fetched.decisions.len(), 3);
    assert_eq!(http.actual_requests().count(), 3);
    assert_eq!(body_of(&http, 1)["nextToken"], "t1");
    assert_eq!(body_of(&http, 2)["nextToken"], "t2");
}

// ---- Pure parts ----

#[test]
fn decision_lines_are_read_in_every_form_lambda_stores_and_nothing_else() {
    let (_, line) = handler_lines().into_iter().find(|(case, _)| case == "expired-outside-leeway").expect("case");
    let bare = decision_line(&format!("{line}\n")).expect("bare");
    assert_eq!(bare.reason, "expired");
    let prefixed = format!("2026-11-28T06:00:00.123Z\tc0ffee00-1111-2222-3333-444455556666\tINFO\t{line}\n");
    assert_eq!(decision_line(&prefixed), Some(bare.clone()));
    let json_format = serde_json::json!({"timestamp": "2026-11-28T06:00:00.123Z", "level": "INFO",
        "requestId": "c0ffee00", "message": line})
    .to_string();
    assert_eq!(decision_line(&json_format), Some(bare));

    for other in [
        "START RequestId: c0ffee00-1111 Version: 3\n",
        "END RequestId: c0ffee00-1111\n",
        "REPORT RequestId: c0ffee00-1111\tDuration: 1.52 ms\tBilled Duration: 2 ms\n",
        "2026-11-28T06:00:00.123Z\tc0ffee00\tERROR\t{\"edgegate\":\"cannot load edgegate.wasm\",\"error\":\"x\"}\n",
        "2026-11-28T06:00:00.123Z\tc0ffee00\tINFO\tplain text\n",
        r#"{"reason":"not-a-spec-code","request_id":"x"}"#,
        r#"{"reason":"expired"}"#,
        "",
    ] {
        assert_eq!(decision_line(other), None, "{other:?}");
    }
}

#[test]
fn times_are_durations_back_from_now_or_iso_8601() {
    let now = 1_795_500_000_000;
    let cases: &[(&str, Option<i64>)] = &[
        ("30m", Some(now - 1_800_000)),
        ("1h", Some(now - 3_600_000)),
        ("2d", Some(now - 172_800_000)),
        ("90s", Some(now - 90_000)),
        ("1w", Some(now - 604_800_000)),
        ("2026-11-24T06:00:00Z", Some(1_795_500_000_000 - 1_795_500_000_000 % 86_400_000 + 6 * 3_600_000)),
        ("2026-11-24", Some(1_795_500_000_000 - 1_795_500_000_000 % 86_400_000)),
        ("1y", None),
        ("h", None),
        ("yesterday", None),
        ("", None),
        ("99999999999999999999d", None),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_time(text, now).ok(), *expected, "{text:?}");
    }
}

#[test]
fn the_server_side_term_is_the_narrowest_one_every_wanted_line_contains() {
    let cases: Vec<(Query, &str)> = vec![
        (Query::default(), "\"distribution_id\""),
        (Query { reasons: vec![Reason::Expired], ..Query::default() }, "\"expired\""),
        (Query { reasons: vec![Reason::Expired, Reason::BadPath], ..Query::default() }, "\"distribution_id\""),
        (
            Query { reasons: vec![Reason::Expired], request_id: Some("4FTNo_AuS-w==".into()), ..Query::default() },
            "\"4FTNo_AuS-w==\"",
        ),
        // A value that would need escaping is left to the local filter.
        (Query { request_id: Some("a\"b".into()), ..Query::default() }, "\"distribution_id\""),
    ];
    for (query, pattern) in cases {
        assert_eq!(query.filter_pattern(), pattern, "{query:?}");
    }
}

#[test]
fn arguments_refuse_unknown_reasons_and_retention_values_cloudwatch_rejects() {
    let parse = |args: &[&str]| try_logs_args(&args[2..]).map(|_| ());
    assert!(parse(&["edgegate", "logs", "--reason", "expired", "--reason", "bad-signature"]).is_ok());
    assert!(parse(&["edgegate", "logs", "--reason", "expird"]).is_err());
    assert!(parse(&["edgegate", "logs", "--set-retention", "30"]).is_ok());
    for days in ["0", "2", "31", "-1", "forever"] {
        assert!(parse(&["edgegate", "logs", "--set-retention", days]).is_err(), "{days}");
    }
    assert!(parse(&["edgegate", "logs", "--set-retention", "30", "--summary"]).is_err());
    assert!(parse(&["edgegate", "logs", "--follow", "--summary"]).is_err());
    #[derive(Debug, clap::Parser)]
    struct Bootstrap {
        #[command(flatten)]
        args: crate::aws::publish::BootstrapArgs,
    }
    let bootstrap = |days: &str| {
        use clap::Parser as _;
        Bootstrap::try_parse_from(["edgegate bootstrap", "--bundle", "x.zip", "--log-retention", days]).map(|_| ())
    };
    assert!(bootstrap("31").is_err());
    assert!(bootstrap("90").is_ok());
    assert_eq!(RETENTION_DAYS.iter().map(|d| parse_retention(&d.to_string())).filter(Result::is_ok).count(), 22);
}
