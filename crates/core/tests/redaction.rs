//! SPEC §5's one redaction rule against the request shapes that leaked a token into a log
//! (issue 11 defect 1). Every shape is redacted both as sent and as canonicalised, with the
//! token name known and with it unknown (a misconfigured bundle).

use edgegate_core::path::{canonicalize, percent_encode};
use edgegate_core::redact::{REDACTED, redact};
use edgegate_core::{Claims, Config, Gate, KeyConfig, Scope, Secret};

const NAME: &str = "__token__";

fn token() -> String {
    let config = Config {
        keys: vec![KeyConfig {
            id: "k".into(),
            secret: Some(Secret::new("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")),
            secret_env: None,
        }],
        ..Config::default()
    };
    let gate = Gate::new(&config).expect("valid config");
    let claims = Claims {
        ip: None,
        start: None,
        expires: 1_795_500_600,
        scope: Scope::acl("/acme/main/*"),
        id: Some("ci-42".into()),
        data: None,
    };
    gate.sign(&claims).expect("signable")
}

/// (what the shape is, raw path as a client sends it).
fn shapes(token: &str) -> Vec<(&'static str, String)> {
    // Encoded as a signed base URL: '=', '/', '~' ... escaped; '*' too, as some clients do.
    let once = percent_encode(token, |b| b.is_ascii_alphanumeric() || matches!(b, b'~' | b'.' | b'-' | b'_'));
    let twice = percent_encode(&once, |b| b.is_ascii_alphanumeric() || matches!(b, b'~' | b'.' | b'-' | b'_'));
    // As apt users copy it: encoded once, but `/` left alone, so the token spans segments.
    let split = once.replace("%2F", "/");
    let upper_hex = once.replace("%3D", "%3d");
    vec![
        ("singly encoded path token split by its own '/'", format!("/{NAME}={split}/acme/main/a.deb")),
        ("split, with the name's '=' encoded too", format!("/{NAME}%3D{split}/acme/main/a.deb")),
        ("encoded path token", format!("/{NAME}={once}/acme/main/a.deb")),
        ("'=' of the name as %3D", format!("/{NAME}%3D{once}/acme/main/a.deb")),
        ("lower-case %3d everywhere", format!("/{NAME}%3d{upper_hex}/acme/main/a.deb")),
        ("two path tokens", format!("/{NAME}={once}/{NAME}={once}/acme/main/a.deb")),
        ("second path token split", format!("/{NAME}={once}/{NAME}={split}/acme/main/a.deb")),
        ("path token after //", format!("//{NAME}={once}/acme/main/a.deb")),
        ("path token after /./", format!("/./{NAME}={once}/acme/main/a.deb")),
        ("path token in a later segment", format!("/acme/main/{NAME}={once}")),
        ("raw token text in the path", format!("/{NAME}={token}/acme/main/a.deb")),
        ("doubly encoded (apt sources.list form)", format!("/{NAME}={twice}/acme/main/a.deb")),
        ("doubly encoded and split", format!("/{NAME}={}/acme/main/a.deb", twice.replace("%252F", "/"))),
        ("hmac%3D in a later segment alone", format!("/acme/main/x~hmac%3D{}/a.deb", mac(token))),
        ("upper-case HMAC= in a later segment", format!("/acme/main/x~HMAC={}/a.deb", mac(token))),
        ("bad escape after the token, so the path is not canonical", format!("/{NAME}={split}/a%zz.deb")),
        ("'..' after the token", format!("/{NAME}={split}/../a.deb")),
    ]
}

fn mac(token: &str) -> &str {
    token.rsplit_once("hmac=").expect("signed token has an hmac").1
}

#[test]
fn no_shape_leaks_the_hmac_or_the_token() {
    let token = token();
    let mac = mac(&token);
    assert_eq!(mac.len(), 64);
    let once = percent_encode(&token, |b| b.is_ascii_alphanumeric());
    for (what, raw) in shapes(&token) {
        assert!(raw.contains(mac), "{what}: the shape holds the HMAC to begin with");
        let canonical = canonicalize(&raw).ok();
        for name in [Some(NAME), None] {
            for (form, text) in [("raw", Some(raw.as_str())), ("canonical", canonical.as_deref())] {
                let Some(text) = text else { continue };
                let logged = redact(text, name);
                for secret in [mac, &mac.to_ascii_uppercase(), token.as_str(), once.as_str()] {
                    assert!(!logged.contains(secret), "{what} ({form}, name {name:?}) leaks: {logged}");
                }
                assert!(logged.contains(REDACTED), "{what} ({form}, name {name:?}): {logged}");
                // The runtimes' leak checks look for the word itself.
                assert!(!logged.to_ascii_lowercase().contains("hmac"), "{what} ({form}, name {name:?}): {logged}");
            }
        }
    }
}

/// The rule's exact output, so that what stays readable is pinned down too.
#[test]
fn redaction_table() {
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("/acme/main/a.deb", Some(NAME), "/acme/main/a.deb"),
        ("/__token__=abc/x", Some(NAME), "/__token__=<redacted>/x"),
        ("/__token__%3Dabc/x", Some(NAME), "/__token__%3D<redacted>/x"),
        ("/__token__%3dabc/x", Some(NAME), "/__token__%3d<redacted>/x"),
        ("/__token__%253Dabc/x", Some(NAME), "/__token__%253D<redacted>/x"),
        ("/__TOKEN__=abc/x", Some(NAME), "/__TOKEN__=<redacted>/x"),
        ("/a/b~hmac=ff/c", Some(NAME), "/a/b~<redacted>/c"),
        ("/a/b%7Ehmac%3Dff/c", Some(NAME), "/a/b%7E<redacted>/c"),
        ("/a/b~HMAC%3dff/c", None, "/a/b~<redacted>/c"),
        ("/hmac=ff", None, "/<redacted>"),
        ("/a~hmac/b=1", Some(NAME), "/a~hmac/b=1"),
        ("/x/mytok=abc/y=1", Some("mytok"), "/x/mytok=<redacted>/y=1"),
        // Other `=` are not tokens when the name is known.
        ("/a=1/b%3D2", Some(NAME), "/a=1/b%3D2"),
        ("/%3/%25", Some(NAME), "/%3/%25"),
        // Name unknown: every `=` may start a token.
        ("/a=1/b%3D2/c", None, "/a=<redacted>/b%3D<redacted>/c"),
        ("/__token__=x=y/z", None, "/__token__=<redacted>/z"),
        ("/plain/path", None, "/plain/path"),
        ("", None, ""),
        ("=", Some(NAME), "="),
        ("=", None, "=<redacted>"),
        ("/é=日/x", None, "/é=<redacted>/x"),
    ];
    for (text, name, expected) in cases {
        assert_eq!(redact(text, *name), *expected, "redact({text:?}, {name:?})");
    }
}
