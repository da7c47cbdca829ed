//! `edgegate handle` over every viewer-request fixture (`fixtures/events/`) and every
//! origin-response fixture (`fixtures/events/origin-response/`), as a user runs it: the
//! built binary, `--config fixtures/config/edgegate.json --event F --now <fixture now>`.
//! stdout must deep-equal the expected result, stderr must hold the one log line with the
//! expected reason (none for a plain forward or a `cache-control` set), and the exit code
//! must be 0 when the function wrote no log line and 1 when it did: a generated response,
//! or an origin response passed on unchanged by a fault (SPEC §7).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_edgegate");

#[path = "../../crates/handler/tests/support/cases.rs"]
mod support;
use support::{Case, cases, root};

fn good_config() -> PathBuf {
    root().join("fixtures/config/edgegate.json")
}

fn handle(config: &Path, event: &Path, now: u64, extra: &[&str]) -> Output {
    Command::new(BIN)
        .args(extra)
        .arg("handle")
        .arg("--config")
        .arg(config)
        .arg("--event")
        .arg(event)
        .arg("--now")
        .arg(now.to_string())
        .output()
        .unwrap()
}

/// Reasons of the JSON log lines on stderr.
fn log_reasons(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|v| v.get("reason").and_then(Value::as_str).map(str::to_string))
        .collect()
}

#[test]
fn every_fixture_through_edgegate_handle() {
    let cases = cases(&root().join("fixtures/events"));
    assert!(cases.len() >= 30, "only {} fixtures", cases.len());
    let failures = run_cases(&good_config(), &cases);
    assert!(failures.is_empty(), "{} of {} failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn every_origin_response_fixture_through_edgegate_handle() {
    let cases = cases(&root().join("fixtures/events/origin-response"));
    assert!(cases.len() >= 8, "only {} origin-response fixtures", cases.len());
    let failures = run_cases(&good_config(), &cases);
    assert!(failures.is_empty(), "{} of {} failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// `options/`: cases that need other configuration options, with their folder's own
/// `edgegate.json` (`encoded_slash = "reject"`, `forward_query`).
#[test]
fn every_option_fixture_through_edgegate_handle() {
    let dir = root().join("fixtures/events/options");
    let cases = cases(&dir);
    assert!(cases.len() >= 3, "only {} option fixtures", cases.len());
    let failures = run_cases(&dir.join("edgegate.json"), &cases);
    assert!(failures.is_empty(), "{} of {} failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// Each case through the binary; a description of every difference.
fn run_cases(config: &Path, cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    for case in cases {
        let name = &case.name;
        let out = handle(config, &case.path, case.now, &[]);
        let got: Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                failures
                    .push(format!("{name}: stdout not JSON ({e}); stderr: {}", String::from_utf8_lossy(&out.stderr)));
                continue;
            }
        };
        if got != case.result {
            failures.push(format!("{name}: result differs\n  expected: {}\n  got:      {got}", case.result));
        }
        let want_reason: Vec<String> = case.log_reason.iter().cloned().collect();
        let reasons = log_reasons(&out.stderr);
        if reasons != want_reason {
            failures.push(format!("{name}: log reasons {reasons:?}, expected {want_reason:?}"));
        }
        let want_code = if case.log_reason.is_none() { 0 } else { 1 };
        if out.status.code() != Some(want_code) {
            failures.push(format!("{name}: exit {:?}, expected {want_code}", out.status.code()));
        }
    }
    failures
}

/// `--output json` prints the same result on one line; `--event -` reads standard input.
#[test]
fn compact_output_and_stdin() {
    let dir = root().join("fixtures/events");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cookie-token-others-kept.expected.json")).unwrap())
            .unwrap();
    let event = std::fs::read(dir.join("cookie-token-others-kept.json")).unwrap();
    let mut child = Command::new(BIN)
        .args(["--output", "json", "handle", "--event", "-", "--now"])
        .arg(expected["now"].to_string())
        .arg("--config")
        .arg(good_config())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&event).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.trim_end().lines().count(), 1, "compact: one line: {stdout}");
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap(), expected["result"]);
}

/// The runtimes answer 500 `misconfigured`; the CLI refuses the configuration instead
/// (exit 2), names the field, prints no result and quotes no secret.
#[test]
fn broken_configuration_is_a_usage_error() {
    let dir = root().join("fixtures/events/misconfigured");
    let broken = dir.join("edgegate.json");
    let secret =
        serde_json::from_str::<Value>(&std::fs::read_to_string(&broken).unwrap()).unwrap()["keys"][0]["secret"]
            .as_str()
            .unwrap()
            .to_string();
    let cases = cases(&dir);
    assert!(!cases.is_empty());
    for case in &cases {
        let out = handle(&broken, &case.path, case.now, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(out.stdout.is_empty(), "no result on a configuration error");
        assert!(stderr.contains("keys[0].secret"), "names the field: {stderr}");
        assert!(!stderr.contains(&secret), "quotes the secret: {stderr}");
    }
    let missing = handle(&dir.join("does-not-exist.json"), &cases[0].path, 0, &[]);
    assert_eq!(missing.status.code(), Some(2));
}

/// An event file that is not JSON is a usage error (2); JSON that is not an event is what
/// the function would answer it with: 500 `internal`, exit 1.
#[test]
fn bad_event_files() {
    let tmp = std::env::temp_dir().join(format!("edgegate-handle-test-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let not_json = tmp.join("not-json.json");
    std::fs::write(&not_json, "{\"Records\": [").unwrap();
    assert_eq!(handle(&good_config(), &not_json, 0, &[]).status.code(), Some(2));

    let not_event = tmp.join("not-event.json");
    std::fs::write(&not_event, r#"{"Records":[{"cf":{"request":{"uri":"/x"}}}]}"#).unwrap();
    let out = handle(&good_config(), &not_event, 0, &[]);
    assert_eq!(out.status.code(), Some(1));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["status"], "500");
    assert_eq!(got["headers"]["x-edgegate-reason"][0]["value"], "internal");

    let absent = handle(&good_config(), &tmp.join("absent.json"), 0, &[]);
    assert_eq!(absent.status.code(), Some(2));
    std::fs::remove_dir_all(&tmp).unwrap();
}
