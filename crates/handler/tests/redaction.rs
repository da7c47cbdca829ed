//! SPEC §5 through the handler: the decision log line of every hostile request shape of
//! issue 11 defect 1 (and the misconfigured line) holds neither the HMAC nor the token.
//! The shapes are built from a token signed with the fixture configuration's key, so each
//! one carries a real 64-hex HMAC that a leak would show.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::fs;
use std::path::Path;

use edgegate_core::path::percent_encode;
use edgegate_core::{Claims, Scope};
use edgegate_handler::{Gate, GateState, Handled, gate_from_json, handle_event_json};
use serde_json::{Value, json};

const NOW: u64 = 1_795_500_000;

fn config() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/config/edgegate.json");
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn gate(config: &Value) -> Gate {
    gate_from_json(&config.to_string()).unwrap()
}

fn token(gate: &Gate) -> String {
    let claims = Claims {
        ip: None,
        start: None,
        expires: NOW + 600,
        scope: Scope::acl("/acme/main/*"),
        id: Some("apt-ci".into()),
        data: None,
    };
    gate.sign(&claims).unwrap()
}

fn event(uri: &str, querystring: &str) -> String {
    json!({"Records": [{"cf": {
        "config": {
            "distributionDomainName": "d111111abcdef8.cloudfront.net",
            "distributionId": "EDFDVBD6EXAMPLE",
            "eventType": "viewer-request",
            "requestId": "redaction-test"
        },
        "request": {
            "clientIp": "203.0.113.178",
            "headers": {"host": [{"key": "Host", "value": "d111111abcdef8.cloudfront.net"}]},
            "method": "GET",
            "querystring": querystring,
            "uri": uri
        }
    }}]})
    .to_string()
}

/// (what the shape is, uri, querystring). Every one is denied, so it writes a log line.
fn shapes(token: &str) -> Vec<(&'static str, String, String)> {
    let keep = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'~' | b'.' | b'-' | b'_');
    let once = percent_encode(token, keep);
    let twice = percent_encode(&once, keep);
    let split = once.replace("%2F", "/");
    let mac = token.rsplit_once("hmac=").unwrap().1;
    let name = "__token__";
    let q = String::new();
    vec![
        ("singly encoded path token split by its own '/'", format!("/{name}={split}/acme/main/a.deb"), q.clone()),
        ("split, '=' of the name as %3D", format!("/{name}%3D{split}/acme/main/a.deb"), q.clone()),
        ("split, lower-case %3d", format!("/{name}%3d{}/acme/main/a.deb", split.replace("%3D", "%3d")), q.clone()),
        ("two path tokens, the second split", format!("/{name}=x/{name}={split}/acme/other/a.deb"), q.clone()),
        ("path token after //", format!("//{name}={once}/acme/main/a.deb"), q.clone()),
        ("path token after /./", format!("/./{name}={once}/acme/main/a.deb"), q.clone()),
        ("path token in a later segment, no other token", format!("/acme/main/{name}={once}/a.deb"), q.clone()),
        ("hmac%3D in a later segment", format!("/acme/main/x~hmac%3D{mac}/a.deb"), q.clone()),
        ("doubly encoded, split", format!("/{name}={}/acme/other/a.deb", twice.replace("%252F", "/")), q.clone()),
        ("path token and a bad escape (bad-path logs the raw path)", format!("/{name}={split}/a%zz.deb"), q.clone()),
        ("path token and '..' (bad-path)", format!("/{name}={split}/../a.deb"), q.clone()),
        ("path token and %2F..%2F (bad-path)", format!("/{name}={once}/a%2F..%2Fb.deb"), q.clone()),
        (
            "valid query token, second token in the path",
            format!("/{name}={once}/acme/other/a.deb"),
            format!("{name}={once}"),
        ),
        ("valid query token on the root", "/".to_string(), format!("{name}={once}")),
    ]
}

fn log_of(handled: &Handled) -> &str {
    handled.log.as_deref().unwrap_or_else(|| panic!("a denial writes a log line: {:?}", handled.result))
}

fn assert_clean(what: &str, line: &str, token: &str) {
    let mac = token.rsplit_once("hmac=").unwrap().1;
    for secret in [mac, &mac.to_ascii_uppercase(), token] {
        assert!(!line.contains(secret), "{what}: log line leaks: {line}");
    }
    assert!(!line.to_ascii_lowercase().contains("hmac"), "{what}: log line names the hmac: {line}");
}

#[test]
fn decision_lines_never_hold_the_token() {
    let mut config = config();
    for path_tokens in [true, false] {
        config["path_tokens"] = json!(path_tokens);
        let gate = gate(&config);
        let token = token(&gate);
        for (what, uri, query) in shapes(&token) {
            let handled = handle_event_json(GateState::Ready(&gate), &event(&uri, &query), NOW);
            let line = log_of(&handled);
            let log: Value = serde_json::from_str(line).unwrap();
            assert!(log["reason"].is_string(), "{what}: {line}");
            assert_clean(&format!("{what} (path_tokens = {path_tokens})"), line, &token);
        }
    }
}

#[test]
fn misconfigured_lines_never_hold_the_token() {
    let gate = gate(&config());
    let token = token(&gate);
    for (what, uri, query) in shapes(&token) {
        let handled = handle_event_json(GateState::Misconfigured, &event(&uri, &query), NOW);
        let line = log_of(&handled);
        assert!(line.contains("\"misconfigured\""), "{what}: {line}");
        assert_clean(what, line, &token);
    }
}

/// The root rule of SPEC §3 through the handler: a valid `/*` token does not list the
/// bucket, and neither does a public prefix.
#[test]
fn the_bucket_root_is_bad_path() {
    let gate = gate(&config());
    let claims = Claims { ip: None, start: None, expires: NOW + 600, scope: Scope::acl("/*"), id: None, data: None };
    let token = gate.sign(&claims).unwrap();
    for uri in ["/", "/.", "/%2e"] {
        let handled = handle_event_json(GateState::Ready(&gate), &event(uri, &format!("__token__={token}")), NOW);
        let log: Value = serde_json::from_str(log_of(&handled)).unwrap();
        assert_eq!(log["reason"], "bad-path", "{uri}");
    }
    // Under a public prefix too: "/" as a public prefix makes every object public, never
    // the listing.
    let mut public = config();
    public["public_prefixes"] = json!(["/"]);
    let open = self::gate(&public);
    let handled = handle_event_json(GateState::Ready(&open), &event("/", ""), NOW);
    let log: Value = serde_json::from_str(log_of(&handled)).unwrap();
    assert_eq!(log["reason"], "bad-path");
    let object = handle_event_json(GateState::Ready(&open), &event("/a.deb", ""), NOW);
    assert!(object.log.is_none(), "a public object is forwarded: {:?}", object.result);
}
