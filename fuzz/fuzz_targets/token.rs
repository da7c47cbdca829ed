//! Arbitrary bytes as token text and as a path: parsing and verification never panic,
//! nothing unsigned verifies, and the single-pass parser answers exactly as the
//! rule-by-rule one.
#![no_main]

use edgegate_core::path::canonicalize;
use edgegate_core::token::ParsedToken;
use edgegate_core::{Config, Gate, KeyConfig, Secret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = Config {
        keys: vec![KeyConfig {
            id: "k".into(),
            secret: Some(Secret::new("00112233445566778899aabbccddeeff")),
            secret_env: None,
        }],
        ..Config::default()
    };
    let gate = Gate::new(&config).expect("config");
    let text = String::from_utf8_lossy(data);
    let (token, path) = text.split_once('\n').unwrap_or((&text, "/a"));
    assert_eq!(ParsedToken::parse(token), ParsedToken::parse_exact(token), "parsers disagree");
    if let Ok(path) = canonicalize(path) {
        assert!(gate.verify(token, &path, Some("192.0.2.1"), 1_700_000_000).is_err(), "forged token verified");
    }
});
