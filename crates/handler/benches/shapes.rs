//! The costliest requests that fit CloudFront's limits, and a normal request, built once
//! for every runtime `make bench` times: `decide` alone and the native handler (`benches/worst_case.rs`), and the
//! Lambda@Edge bundle in Node.js (`examples/hostile_events.rs` writes them for
//! `tests/bench/node-hostile.mjs`). Each shape is the most a stage can be made to cost
//! per byte.
//!
//! The limits are CloudFront's quotas (Developer Guide, "Quotas", general quotas): a URL of
//! at most 8,192 bytes, and a request of at most 20,480 bytes "including headers and query
//! strings, but not including the body". The 20,480 bytes hold the URL too, so a shape
//! that spends 8 KB on its path has 12 KB left for cookies. A shape's size is counted as
//! its HTTP/1.1 head ([`Shape::size`]): request line, every header line, final CRLF.
//!
//! - `signed-hostile-acl/*`: a validly signed token (so the ACL stage runs at all) whose
//!   ACLs each make the matcher scan an 8 KB path, carried in a cookie, one per shape of
//!   scan (the ACL budget then stops them: `edgegate_core::token::AclBudget`);
//! - `unsigned-long-token`: the longest token text the gate will read (`MAX_TOKEN_BYTES`),
//!   with a wrong HMAC, so every configured key hashes all of it;
//! - `oversized-token`: a token filling the request, in a cookie, refused before it is
//!   decoded;
//! - `dot-segments*`, `escapes-and-cookies`, `mixed-escapes-and-dots`: an 8 KB path of
//!   `.` segments or `%XX` escapes (decode and canonicalise at their worst), the second
//!   with the rest of the request in cookies that are not the token, the third of both
//!   in an order the branch predictor cannot learn;
//! - `tiny-cookies`, `tiny-params`, `many-token-cookies`: the most items the limits hold
//!   (`_=;`, `a&`, `__token__=;`), for the searches that look at each cookie or parameter;
//! - `short-cookie-values-*`: the most cookie header values the limits hold, each of near
//!   misses of the token's name (`__;`), for what a value costs on its own;
//! - `combined-*`: the worst path and the worst cookies at once; and the worst cookies in
//!   front of a signed hostile ACL token;
//! - `forwarded-many-token-cookies`: a valid token, then 1,800 more token cookies (as many as fit), every
//!   one stripped from what is forwarded.

use edgegate_core::token::{MAX_TOKEN_BYTES, MAX_WILDCARD_RUN};
use edgegate_core::{Claims, Gate, Scope};
use serde_json::json;

pub const MAX_URI: usize = 8192;
/// The whole request head: request line and headers.
pub const MAX_REQUEST: usize = 20_480;
/// The headers every shape's event carries (its `event`), before its own.
const BASE_HEADERS: [(&str, &str); 2] =
    [("Host", "d111111abcdef8.cloudfront.net"), ("User-Agent", "Debian APT-HTTP/1.3 (2.6.1)")];

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
        Shape { name: name.to_string(), uri: uri.to_string(), query, cookies, headers: vec![], expect }
    }

    /// The URL's length: path and query string.
    fn url_len(&self) -> usize {
        self.uri.len() + self.query.as_ref().map_or(0, |q| q.len() + 1)
    }

    /// The request head's bytes, as HTTP/1.1 writes it: `GET URL HTTP/1.1`, a
    /// `Name: value` line per header (a `Cookie:` line per cookie header value), a blank
    /// line; every line ends in CRLF.
    pub fn size(&self) -> usize {
        let line = |name: &str, value: &str| name.len() + 2 + value.len() + 2;
        let request_line = "GET ".len() + self.url_len() + " HTTP/1.1\r\n".len();
        let base: usize = BASE_HEADERS.iter().map(|(name, value)| line(name, value)).sum();
        let cookies: usize = self.cookies.iter().map(|value| line("Cookie", value)).sum();
        let headers: usize = self.headers.iter().map(|(name, value)| line(name, value)).sum();
        request_line + base + cookies + headers + 2
    }

    /// Whether it fits CloudFront's limits.
    fn check(&self) {
        assert!(self.url_len() <= MAX_URI, "{}: URL of {} bytes", self.name, self.url_len());
        assert!(self.size() <= MAX_REQUEST, "{}: request of {} bytes", self.name, self.size());
    }

    /// The shape as CloudFront sends it to a viewer-request function.
    pub fn event(&self) -> String {
        let mut headers = json!({});
        for (name, value) in BASE_HEADERS {
            headers[name.to_ascii_lowercase()] = json!([{"key": name, "value": value}]);
        }
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

/// `start` and then units picked in a fixed pseudo-random order (xorshift, seed 1), while
/// they fit in `limit` bytes: the same text in every run and runtime.
fn shuffled(start: &str, units: &[&str], limit: usize) -> String {
    let (mut text, mut x) = (String::from(start), 1u64);
    loop {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let unit = units[(x % units.len() as u64) as usize];
        if text.len() + unit.len() > limit {
            return text;
        }
        text.push_str(unit);
    }
}

/// `shape` with `item(0)`, `item(1)`, ... pushed onto the list `list` picks, while the
/// request fits.
fn grow<T>(mut shape: Shape, list: fn(&mut Shape) -> &mut Vec<T>, item: impl Fn(usize) -> T) -> Shape {
    for i in 0.. {
        list(&mut shape).push(item(i));
        if shape.size() > MAX_REQUEST {
            list(&mut shape).pop();
            break;
        }
    }
    shape
}

/// `shape` with cookie header values `value(0)`, `value(1)`, ... added while it fits.
fn with_cookies(shape: Shape, value: impl Fn(usize) -> String) -> Shape {
    grow(shape, |shape| &mut shape.cookies, value)
}

/// `shape` with cookie header values of `per_value` copies of `unit` added while they fit,
/// and then one value of as many copies as the rest holds: the request filled to its limit.
fn with_cookie_units(shape: Shape, unit: &str, per_value: usize) -> Shape {
    let mut shape = with_cookies(shape, |_| unit.repeat(per_value));
    let room = (MAX_REQUEST - shape.size()).saturating_sub("Cookie: \r\n".len());
    if room >= unit.len() {
        shape.cookies.push(unit.repeat(room / unit.len()));
    }
    shape
}

/// `shape` with headers `header(0)`, `header(1)`, ... added while it fits.
fn with_headers(shape: Shape, header: impl Fn(usize) -> (String, String)) -> Shape {
    grow(shape, |shape| &mut shape.headers, header)
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

    // A token as long as the request allows: refused unread.
    let oversized = Shape::new("oversized-token", normal_uri, None, vec![], deny("malformed-token"));
    let room = MAX_REQUEST - oversized.size() - "Cookie: \r\n".len();
    let head = format!("__token__=exp={}~data=", now + 60);
    let tail = format!("~hmac={}", "0".repeat(64));
    out.push(Shape {
        cookies: vec![format!("{head}{}{tail}", "x".repeat(room - head.len() - tail.len()))],
        ..oversized
    });

    // As many `.` segments as fit, each cut out of the path: back to back, and with a
    // segment to keep between them (a copy per cut).
    for (name, unit) in [("dot-segments", "/."), ("dot-segments-kept", "/a/.")] {
        let dots = fill("/acme/main", unit, MAX_URI - 8) + "/a.deb";
        out.push(Shape::new(name, &dots, None, vec![], deny("missing-token")));
    }
    let kept_dots = fill("/acme/main", "/a/.", MAX_URI - 8) + "/a.deb";

    // Escapes and dot segments to the uri limit, and the rest of the request in cookies that
    // are not the token.
    let escaped = fill("/acme/main", "/.%2E%41%42", MAX_URI - 16);
    out.push(with_cookies(
        Shape::new("escapes-and-cookies", &escaped, Some("a=1&b=2".into()), vec![], deny("missing-token")),
        |i| format!("c{i}={}", "v".repeat(90)),
    ));

    // Escapes and dot segments in a random order, each unit drawn from a fixed sequence:
    // where each run and each cut is as long as the last, the branches that end them are
    // predicted, and here they are not. The costliest mix of the ones tried (1.4 times
    // the regular `/.%2E%41%42` in `canonicalize`: `/%41`, `/.%41%42`, `a%41%42%43`,
    // `%41b`, `/.`, `a`; others of `/.`, `/a`, `a`, `/` and `%41` were 1.1 to 1.35).
    let mixed = shuffled("/acme/main", &["/%41", "/.%41%42", "a%41%42%43", "%41b", "/.", "a"], MAX_URI - 8) + "/a.deb";
    out.push(Shape::new("mixed-escapes-and-dots", &mixed, None, vec![], deny("missing-token")));

    // Cookies as short as they come, each starting like the token's name (`_=;` over and
    // over, in header values of 1 KB): the most cookies the request holds, and no block of
    // them that the name search can pass over on its first byte.
    out.push(with_cookie_units(
        Shape::new("tiny-cookies", normal_uri, None, vec![], deny("missing-token")),
        "_=;",
        340,
    ));

    // Both limits at once: the costliest path shapes and the rest of the request in cookies
    // that all start like the token's name, in values of 93 bytes (per value, the name
    // search pays for two blocks).
    for (name, uri) in [
        ("combined-dots-and-cookies", &kept_dots),
        ("combined-escapes-and-cookies", &escaped),
        ("combined-mixed-and-cookies", &mixed),
    ] {
        out.push(with_cookie_units(Shape::new(name, uri, None, vec![], deny("missing-token")), "_=;", 31));
    }

    // Cookie values too short for a whole block of the name search (under 74 bytes with the
    // default name), of near misses of the name (`__;`). Searched one by one, each value
    // paid a fixed cost (a copy, a kernel, a store-forwarding stall): 15-byte values cost
    // four times the same bytes in long values. Short values are now searched joined
    // (`edgegate_core::locate`, `first_token_cookie`); these shapes hold that to the rate
    // of long values. Alone, at 72 bytes and at 15, and at 15 behind the costliest path.
    for (name, uri, per_value) in [
        ("short-cookie-values-72", normal_uri, 24),
        ("short-cookie-values-15", normal_uri, 5),
        ("combined-dots-and-short-cookies", kept_dots.as_str(), 5),
    ] {
        out.push(with_cookie_units(Shape::new(name, uri, None, vec![], deny("missing-token")), "__;", per_value));
    }

    // The costliest ACL behind the costliest cookies: the token is the last cookie, so
    // every other one is searched first, then the ACL stage runs on an 8 KB path.
    let (_, many_tries) = &acl_shapes[5];
    let hostile_token = format!("__token__={}", sign(gate, now, hostile_acls(many_tries)));
    let behind =
        Shape::new("combined-cookies-and-signed-acl", &long_uri, None, vec![hostile_token], deny("acl-mismatch"));
    let mut behind = with_cookie_units(behind, "_=;", 31);
    behind.cookies.rotate_left(1);
    out.push(behind);

    // Parameters as short as they come, to the uri limit, none of them the token.
    let tiny_query = "a&".repeat((MAX_URI - normal_uri.len() - 1) / 2);
    out.push(Shape::new("tiny-params", normal_uri, Some(tiny_query), vec![], deny("missing-token")));

    // Token cookies as short as they come (`__token__=;`): a request then denied...
    out.push(with_cookie_units(
        Shape::new("many-token-cookies", normal_uri, None, vec![], deny("malformed-token")),
        "__token__=;",
        92,
    ));
    // ...and the same behind a valid token: forwarded, so every token cookie is stripped.
    let valid_then_many = vec![format!("__token__={normal_token}")];
    out.push(with_cookie_units(
        Shape::new("forwarded-many-token-cookies", normal_uri, None, valid_then_many, Expect::Forward),
        "__token__=;",
        92,
    ));
    // Headers as short as they come (`a:b`), as many as the request holds: under one name,
    // and each under its own. `decide` reads none of them; the event's decoding reads them
    // all.
    let query = out[0].query.clone();
    out.push(with_headers(
        Shape::new("many-headers-one-name", normal_uri, query.clone(), vec![], Expect::Forward),
        |_| ("a".to_string(), "b".to_string()),
    ));
    out.push(with_headers(Shape::new("many-header-names", normal_uri, query, vec![], Expect::Forward), |i| {
        (format!("a{i}"), "b".to_string())
    }));
    for shape in &out {
        shape.check();
    }
    out
}
