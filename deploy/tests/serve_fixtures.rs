//! Every viewer-request fixture (`fixtures/events/`) through `edgegate serve`, so that the
//! fourth runtime is checked against the same expectations as the WASM module, the native
//! binary and `edgegate handle`. Each event becomes the HTTP request a viewer would send
//! (method, raw path and query, one `Cookie` line per cookie header entry); the gate runs
//! in front of an upstream that echoes what reached it. A denial must answer with the
//! expected status, body and headers; a forward must reach the upstream with exactly the
//! expected `uri`, `querystring` and cookies.
//!
//! The fixtures are signed for a fixed `now` and documentation client addresses: the debug
//! binary takes `EDGEGATE_NOW` and `EDGEGATE_TEST_CLIENT_IP_HEADER` for that (both compiled
//! out of release builds).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_edgegate");
const CLIENT_IP_HEADER: &str = "x-edgegate-test-client-ip";

/// Events no HTTP request can express (CloudFront-side shapes), with the reason.
const NOT_HTTP: &[(&str, &str)] = &[("internal-no-records", "an event without a request")];

#[path = "../../crates/handler/tests/support/cases.rs"]
mod support;
use support::{Case, cases, root};

/// An upstream that answers every request with a JSON echo of its target and cookies.
fn echo_upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || echo(stream));
        }
    });
    port
}

fn echo(stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let target = line.split(' ').nth(1).unwrap_or("").to_owned();
    let mut cookies = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
        if let Some((name, value)) = header.trim_end().split_once(':')
            && name.eq_ignore_ascii_case("cookie")
        {
            cookies.push(value.trim().to_owned());
        }
    }
    // In a header as well as the body: a HEAD answer has no body.
    let body = json!({ "target": target, "cookies": cookies }).to_string();
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-echo: {body}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

struct Serve {
    child: Child,
    addr: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_serve(config: &Path, upstream: u16, now: u64) -> Serve {
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(config)
        .args(["--origin", &format!("http://127.0.0.1:{upstream}"), "--listen", "127.0.0.1:0"])
        .env("EDGEGATE_NOW", now.to_string())
        .env("EDGEGATE_TEST_CLIENT_IP_HEADER", CLIENT_IP_HEADER)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no listening line: {first}"))
        .to_owned();
    // Keep reading stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Serve { child, addr }
}

/// The HTTP request a viewer sends for this event's request.
fn http_request(request: &Value) -> String {
    let method = request["method"].as_str().unwrap();
    let uri = request["uri"].as_str().unwrap();
    let query = request["querystring"].as_str().filter(|q| !q.is_empty());
    let mut text = format!(
        "{method} {uri}{} HTTP/1.1\r\nhost: d111111abcdef8.cloudfront.net\r\n",
        match query {
            Some(q) => format!("?{q}"),
            None => String::new(),
        }
    );
    if let Some(headers) = request["headers"].as_object() {
        for (name, entries) in headers {
            if !name.eq_ignore_ascii_case("cookie") {
                continue;
            }
            for entry in entries.as_array().unwrap() {
                text.push_str(&format!("cookie: {}\r\n", entry["value"].as_str().unwrap()));
            }
        }
    }
    text.push_str(&format!("{CLIENT_IP_HEADER}: {}\r\n", request["clientIp"].as_str().unwrap_or("")));
    text.push_str("connection: close\r\n\r\n");
    text
}

struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

fn send(addr: &str, request: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer { status, headers, body: body.to_owned() }
}

fn cookie_values(request: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(headers) = request["headers"].as_object() {
        for (name, entries) in headers {
            if name.eq_ignore_ascii_case("cookie") {
                out.extend(entries.as_array().unwrap().iter().map(|e| e["value"].as_str().unwrap().to_owned()));
            }
        }
    }
    out
}

fn check(case: &str, event: &Value, result: &Value, addr: &str) -> Result<(), String> {
    let request = &event["Records"][0]["cf"]["request"];
    let answer = send(addr, &http_request(request));
    if let Some(status) = result["status"].as_str() {
        let status: u16 = status.parse().unwrap();
        if answer.status != status {
            return Err(format!("{case}: status {} != {status} ({})", answer.status, answer.body));
        }
        if request["method"] != "HEAD" && answer.body != result["body"].as_str().unwrap() {
            return Err(format!("{case}: body {:?} != {:?}", answer.body, result["body"]));
        }
        for (name, entries) in result["headers"].as_object().unwrap() {
            let want = entries[0]["value"].as_str().unwrap();
            if answer.headers.get(name).map(String::as_str) != Some(want) {
                return Err(format!("{case}: header {name}: {:?} != {want:?}", answer.headers.get(name)));
            }
        }
        return Ok(());
    }
    if answer.status != 200 {
        return Err(format!("{case}: expected a forward, got {} {}", answer.status, answer.body));
    }
    let echo = answer.headers.get("x-echo").map_or("", String::as_str);
    let echoed: Value = serde_json::from_str(echo).map_err(|e| format!("{case}: echo {echo:?}: {e}"))?;
    let mut want_target = result["uri"].as_str().unwrap().to_owned();
    // Absent: forwarded as the viewer sent it.
    let query = result["querystring"].as_str().or(request["querystring"].as_str());
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        want_target = format!("{want_target}?{q}");
    }
    if echoed["target"] != want_target.as_str() {
        return Err(format!("{case}: upstream saw {} != {want_target}", echoed["target"]));
    }
    let want_cookies = cookie_values(result);
    if echoed["cookies"] != json!(want_cookies) {
        return Err(format!("{case}: upstream cookies {} != {want_cookies:?}", echoed["cookies"]));
    }
    Ok(())
}

#[test]
fn every_viewer_request_fixture_through_serve() {
    let all = cases(&root().join("fixtures/events"));
    assert!(all.len() >= 40, "only {} fixtures", all.len());
    run_fixtures(&all, &root().join("fixtures/config/edgegate.json"));
}

/// `options/`: cases that need other configuration options, with their folder's own
/// `edgegate.json` (`encoded_slash = "reject"`, `forward_query`).
#[test]
fn every_option_fixture_through_serve() {
    let dir = root().join("fixtures/events/options");
    let all = cases(&dir);
    assert!(all.len() >= 3, "only {} option fixtures", all.len());
    run_fixtures(&all, &dir.join("edgegate.json"));
}

fn run_fixtures(all: &[Case], config: &Path) {
    let upstream = echo_upstream();
    let mut by_now: BTreeMap<u64, Vec<&Case>> = BTreeMap::new();
    let mut skipped = 0;
    for case in all {
        if NOT_HTTP.iter().any(|(name, _)| *name == case.name) {
            skipped += 1;
            continue;
        }
        by_now.entry(case.now).or_default().push(case);
    }
    let mut failures = Vec::new();
    let mut ran = 0;
    for (now, cases) in by_now {
        let serve = start_serve(config, upstream, now);
        for case in cases {
            ran += 1;
            if let Err(e) = check(&case.name, &case.event(), &case.result, &serve.addr) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{} of {ran} fixtures differ through serve:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(ran + skipped, all.len(), "every fixture ran or is listed in NOT_HTTP");
}
