//! Arbitrary uri, query and cookie through the full decision: never panics, and a forward
//! never carries the token name in its query or cookies.
#![no_main]

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
    let cookie = parts.next().unwrap_or("");
    let cookies = [cookie];
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
