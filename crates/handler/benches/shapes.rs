//! The costliest requests that fit CloudFront's limits (8,192-byte `uri`, 20,480 bytes of
//! request headers), and a normal request, built once for every runtime `make bench`
//! times: `decide` alone and the native handler (`benches/worst_case.rs`), and the
//! Lambda@Edge bundle in Node.js (`examples/hostile_events.rs` writes them for
//! `tests/bench/node-hostile.mjs`). Each shape is the most a stage can be made to cost
//! per byte:
//!
//! - `signed-hostile-acl/*`: a validly signed token (so the ACL stage runs at all) whose
//!   ACLs each make the matcher scan an 8 KB path, carried in a cookie, one per shape of
//!   scan (the ACL budget then stops them: `edgegate_core::token::AclBudget`);
//! - `unsigned-long-token`: the longest token text the gate will read (`MAX_TOKEN_BYTES`),
//!   with a wrong HMAC, so every configured key hashes all of it;
//! - `oversized-token`: 20 KB of token in a cookie, refused before it is decoded;
//! - `dot-segments*`, `escapes-and-cookies`: an 8 KB path of `.` segments or `%XX`
//!   escapes (decode and canonicalise at their worst), the latter with 20 KB of cookies
//!   that are not the token;
//! - `tiny-cookies`, `tiny-params`, `many-token-cookies`: the most items the limits hold
//!   (`_=;`, `a&`, `__token__=;`), for the searches that look at each cookie or parameter;
//! - `combined-*`: the worst path and the worst cookies at once; and the worst cookies in
//!   front of a signed hostile ACL token;
//! - `forwarded-many-token-cookies`: a valid token, then 1,800 more token cookies, every
//!   one stripped from what is forwarded.

use edgegate_core::token::{MAX_TOKEN_BYTES, MAX_WILDCARD_RUN};
use edgegate_core::{Claims, Gate, Scope};
use serde_json::json;

pub const MAX_URI: usize = 8192;
pub const MAX_HEADERS: usize = 20_480;

/// What a shape must get: a wrong answer fast is not a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Forward,
    Deny(&'static str),
}

pub struct Shape {
    pub name: String,
    pub uri: String,
    pub query: Option<String>,
    pub cookies: Vec<String>,
    /// Other headers (name, value), in the event only: `decide` never reads them.
    pub headers: Vec<(String, String)>,
    pub expect: Expect,
}

/// The name only: the shapes carry signed tokens.
impl std::fmt::Debug for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shape").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Shape {
    fn new(name: &str, uri: &str, query: Option<String>, cookies: Vec<String>, expect: Expect) -> Shape {
        let shape = Shape { name: name.to_string(), uri: uri.to_string(), query, cookies, headers: vec![], expect };
        assert!(shape.uri.len() + shape.query.as_ref().map_or(0, |q| q.len() + 1) <= MAX_URI, "{name}: uri too long");
        // Each value as one cookie of a header (`; ` between them), as an HTTP/2 viewer's
        // crumbs are joined.
        let headers: usize = shape.cookies.iter().map(|c| c.len() + 2).sum();
        assert!(headers <= MAX_HEADERS, "{name}: {headers} bytes of cookie headers");
        shape
    }

    /// The shape as CloudFront sends it to a viewer-request function.
    pub fn event(&self) -> String {
        let mut headers = json!({
            "host": [{"key": "Host", "value": "d111111abcdef8.cloudfront.net"}],
            "user-agent": [{"key": "User-Agent", "value": "Debian APT-HTTP/1.3 (2.6.1)"}],
        });
        for (name, value) in &self.headers {
            let entry = json!({"key": name, "value": value});
            match headers[name.as_str()].as_array_mut() {
                Some(entries) => entries.push(entry),
                None => headers[name.as_str()] = json!([entry]),
            }
        }
        if !self.cookies.is_empty() {
            let values: Vec<_> = self.cookies.iter().map(|value| json!({"key": "Cookie", "value": value})).collect();
            headers["cookie"] = values.into();
        }
        json!({"Records": [{"cf": {
            "config": {
                "distributionDomainName": "d111111abcdef8.cloudfront.net",
                "distributionId": "EDFDVBD6EXAMPLE",
                "eventType": "viewer-request",
                "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="
            },
            "request": {
                "clientIp": "203.0.113.178",
                "headers": headers,
                "method": "GET",
                "querystring": self.query.as_deref().unwrap_or(""),
                "uri": self.uri,
            }
        }}]})
        .to_string()
    }
}

fn sign(gate: &Gate, now: u64, patterns: Vec<String>) -> String {
    let claims =
        Claims { ip: None, start: None, expires: now + 3600, scope: Scope::Acl(patterns), id: None, data: None };
    gate.sign(&claims).expect("sign")
}

fn fill(start: &str, unit: &str, limit: usize) -> String {
    let mut text = String::from(start);
    while text.len() < limit {
        text.push_str(unit);
    }
    text
}

/// As many copies of `shape` as fit the longest token, `!`-separated.
fn hostile_acls(shape: &str) -> Vec<String> {
    let mut patterns = Vec::new();
    let mut size = 0;
    while size + shape.len() < MAX_TOKEN_BYTES - 200 {
        size += shape.len() + 1;
        patterns.push(shape.to_string());
    }
    patterns
}

/// Every shape, `normal` first, with tokens signed by `gate`'s first key, valid at `now`.
pub fn shapes(gate: &Gate, now: u64) -> Vec<Shape> {
    let mut out = Vec::new();
    let deny = Expect::Deny;

    // Normal: a package fetched with a query URL token (the seed's flow), forwarded.
    let normal_token = sign(gate, now, vec!["/acme/main/debian/*".into()]);
    let normal_uri = "/acme/main/debian/pool/main/libs/libstdc%2B%2B6_12.2.0-14_amd64.deb";
    out.push(Shape::new("normal", normal_uri, Some(format!("__token__={normal_token}")), vec![], Expect::Forward));

    // Signed hostile ACLs against an 8 KB path. They differ in what a scanned byte costs:
    // a `?` run of one Shift-And word and one of two (the limit), a two-byte literal run,
    // many one-byte runs, a literal run too long for one word (Two-Way); and ACLs that each
    // fail at once, as many as the budget lets through.
    let long_uri = fill("/acme/main/", "a", MAX_URI);
    let acl_shapes = [
        ("wildcard-run", "/*a?Z*".to_string()),
        ("wildcard-run-limit", format!("/*{}Z*", "?".repeat(MAX_WILDCARD_RUN - 1))),
        ("literal-run", "/*Za*".to_string()),
        ("star-runs", format!("/*{}Z*", "a*".repeat(16))),
        ("long-literal-run", format!("/*{}Z*", "a".repeat(80))),
        ("many-tries", "/*Z".to_string()),
    ];
    for (name, shape) in &acl_shapes {
        let cookie = format!("__token__={}", sign(gate, now, hostile_acls(shape)));
        out.push(Shape::new(
            &format!("signed-hostile-acl/{name}"),
            &long_uri,
            None,
            vec![cookie],
            deny("acl-mismatch"),
        ));
    }

    // Unsigned: the longest token text the gate reads, wrong HMAC, hashed with every key.
    let filler = format!("exp={}~data={}~hmac={}", now + 60, "x".repeat(MAX_TOKEN_BYTES - 100), "0".repeat(64));
    assert!(filler.len() <= MAX_TOKEN_BYTES);
    out.push(Shape::new(
        "unsigned-long-token",
        normal_uri,
        None,
        vec![format!("__token__={filler}")],
        deny("bad-signature"),
    ));

    // A token as long as the headers allow: refused unread.
    let oversized =
        format!("__token__=exp={}~data={}~hmac={}", now + 60, "x".repeat(MAX_HEADERS - 200), "0".repeat(64));
    out.push(Shape::new("oversized-token", normal_uri, None, vec![oversized], deny("malformed-token")));

    // As many `.` segments as fit, each cut out of the path: back to back, and with a
    // segment to keep between them (a copy per cut).
    for (name, unit) in [("dot-segments", "/."), ("dot-segments-kept", "/a/.")] {
        let dots = fill("/acme/main", unit, MAX_URI - 8) + "/a.deb";
        out.push(Shape::new(name, &dots, None, vec![], deny("missing-token")));
    }
    let kept_dots = fill("/acme/main", "/a/.", MAX_URI - 8) + "/a.deb";

    // Escapes and dot segments to the uri limit, and 20 KB of cookies that are not the token.
    let escaped = fill("/acme/main", "/.%2E%41%42", MAX_URI - 16);
    let junk: Vec<String> = (0..200).map(|i| format!("c{i}={}", "v".repeat(90))).collect();
    out.push(Shape::new("escapes-and-cookies", &escaped, Some("a=1&b=2".into()), junk, deny("missing-token")));

    // Cookies as short as they come, each starting like the token's name (`_=;` over and
    // over, in header values of 1 KB): the most cookies 20 KB holds, and no block of them
    // that the name search can pass over on its first byte.
    let tiny: Vec<String> = (0..20).map(|_| "_=;".repeat(340)).collect();
    out.push(Shape::new("tiny-cookies", normal_uri, None, tiny, deny("missing-token")));

    // Both limits at once: the costliest path shapes and 20 KB of cookies that all start
    // like the token's name, in values of 93 bytes (per value, the name search pays for
    // two blocks).
    let short_values: Vec<String> = (0..MAX_HEADERS / 100).map(|_| "_=;".repeat(31)).collect();
    out.push(Shape::new("combined-dots-and-cookies", &kept_dots, None, short_values.clone(), deny("missing-token")));
    out.push(Shape::new("combined-escapes-and-cookies", &escaped, None, short_values.clone(), deny("missing-token")));

    // The costliest ACL behind the costliest cookies: the token is the last cookie, so
    // every other one is searched first, then the ACL stage runs on an 8 KB path.
    let (_, many_tries) = &acl_shapes[5];
    let hostile_token = format!("__token__={}", sign(gate, now, hostile_acls(many_tries)));
    let mut behind: Vec<String> = short_values.iter().take((MAX_HEADERS - 2400) / 105).cloned().collect();
    behind.push(hostile_token);
    out.push(Shape::new("combined-cookies-and-signed-acl", &long_uri, None, behind, deny("acl-mismatch")));

    // Parameters as short as they come, to the uri limit, none of them the token.
    let tiny_query = "a&".repeat(MAX_URI / 2 - 40);
    out.push(Shape::new("tiny-params", normal_uri, Some(tiny_query), vec![], deny("missing-token")));

    // Token cookies as short as they come (`__token__=;`): a request then denied...
    let token_cookies: Vec<String> = (0..20).map(|_| "__token__=;".repeat(92)).collect();
    out.push(Shape::new("many-token-cookies", normal_uri, None, token_cookies.clone(), deny("malformed-token")));
    // ...and the same behind a valid token: forwarded, so every token cookie is stripped.
    let mut valid_then_many = vec![format!("__token__={normal_token}")];
    valid_then_many.extend(token_cookies.into_iter().take(19));
    out.push(Shape::new("forwarded-many-token-cookies", normal_uri, None, valid_then_many, Expect::Forward));
    // Headers as short as they come (`a:b`), as many as 20 KB holds: under one name, and
    // each under its own. `decide` reads none of them; the event's decoding reads them all.
    let mut valid = Shape::new("many-headers-one-name", normal_uri, out[0].query.clone(), vec![], Expect::Forward);
    valid.headers = (0..MAX_HEADERS / 5).map(|_| ("a".to_string(), "b".to_string())).collect();
    out.push(valid);
    let mut valid = Shape::new("many-header-names", normal_uri, out[0].query.clone(), vec![], Expect::Forward);
    valid.headers = (0..MAX_HEADERS / 8).map(|i| (format!("a{i}"), "b".to_string())).collect();
    out.push(valid);
    out
}
