//! Arbitrary uri, query and cookie header values (one per line after the second) through
//! the full decision: never panics, a forward never carries the token name in its query,
//! and the token cookie found is the one the cookie-by-cookie rule finds, value by value
//! (the search joins short values, SPEC §4).
#![no_main]

use edgegate_core::locate::strip_cookies;
use edgegate_core::{Config, Gate, KeyConfig, Secret};
use edgegate_handler::{Outcome, RequestView, decide};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = Config {
        public_prefixes: vec!["/pub/".into()],
        keys: vec![KeyConfig {
            id: "k".into(),
            secret: Some(Secret::new("00112233445566778899aabbccddeeff")),
            secret_env: None,
        }],
        ..Config::default()
    };
    let gate = Gate::new(&config).expect("config");
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let uri = parts.next().unwrap_or("/");
    let query = parts.next();
    let cookies: Vec<&str> = parts.next().map_or_else(Vec::new, |rest| rest.split('\n').collect());
    let reference = cookies.iter().find_map(|value| {
        value.split(';').find_map(|cookie| {
            let trimmed = cookie.trim_start_matches([' ', '\t']);
            let (name, token) = trimmed.split_once('=').unwrap_or((trimmed, ""));
            (name.trim_end() == "__token__").then(|| token.trim())
        })
    });
    assert_eq!(strip_cookies(&cookies, "__token__").map(|(token, _)| token), reference, "token cookie");
    let view = RequestView {
        method: "GET",
        uri,
        querystring: query,
        cookies: &cookies,
        client_ip: "192.0.2.1",
        request_id: "r",
        distribution_id: "d",
    };
    if let Outcome::Forward(forward) = decide(&gate, &view, 1_700_000_000) {
        assert!(forward.uri.starts_with('/'));
        let token_param =
            forward.querystring.as_deref().unwrap_or("").split('&').any(|p| p.split('=').next() == Some("__token__"));
        assert!(!token_param, "token left in forwarded query");
    }
});
