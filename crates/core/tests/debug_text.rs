//! `Debug` output of everything that holds a key or a token, asserted as exact text: a
//! "does not contain the hex secret" check passes even for a derived `Debug`, since the gate
//! keeps no hex and a `[u8; 32]` prints as decimals. Exact text fails on any new field.

use edgegate_core::locate::{LocateOptions, locate};
use edgegate_core::token::ParsedToken;
use edgegate_core::{Claims, Config, Gate, KeyConfig, Scope, Secret};

const SECRET: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn gate() -> Gate {
    let mut config = Config::default();
    for id in ["2026-11", "2026-10"] {
        config.keys.push(KeyConfig { id: id.into(), secret: Some(Secret::new(SECRET)), secret_env: None });
    }
    Gate::new(&config).expect("valid")
}

#[test]
fn gate_debug_names_key_ids_only() {
    let text = format!("{:?}", gate());
    let keys = text.split_once("keys: ").map(|(_, k)| k).expect("keys field");
    assert_eq!(keys, r#"[Key { id: "2026-11", .. }, Key { id: "2026-10", .. }] }"#, "{text}");
}

#[test]
fn token_debug_is_exactly_its_claims() {
    let gate = gate();
    let claims = Claims {
        ip: Some("192.0.2.1".into()),
        start: Some(10),
        expires: 100,
        scope: Scope::acl("/acme/*"),
        id: Some("u1".into()),
        data: Some("d".into()),
    };
    let token = gate.sign(&claims).expect("sign");
    let parsed = ParsedToken::parse(&token).expect("parse");
    let expected = r#"ParsedToken { ip: Some(192.0.2.1), start: Some(10), expires: 100, acl: Some("/acme/*"), id: Some("u1"), data: Some("d"), .. }"#;
    assert_eq!(format!("{parsed:?}"), expected);
    let verified = gate.verify(&token, "/acme/x", Some("192.0.2.1"), 50).expect("valid");
    assert_eq!(format!("{verified:?}"), format!(r#"Verified {{ key_id: "2026-11", token: {expected} }}"#));
}

#[test]
fn secrets_and_found_tokens_print_no_value() {
    assert_eq!(format!("{:?}", Secret::new(SECRET)), "Secret(<redacted>)");
    let key = KeyConfig { id: "k".into(), secret: Some(Secret::new(SECRET)), secret_env: None };
    assert_eq!(format!("{key:?}"), r#"KeyConfig { id: "k", secret: Some(Secret(<redacted>)), secret_env: None }"#);
    let options = LocateOptions { token_name: "__token__", path_tokens: true, cookie_tokens: true, forward_query: &[] };
    let located = locate("/a", Some("__token__=exp%3D1~hmac%3Dabcdef"), &[], options);
    assert_eq!(format!("{:?}", located.token.expect("found")), "FoundToken { source: Query, decodable: true, .. }");
}
