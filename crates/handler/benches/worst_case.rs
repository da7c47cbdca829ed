//! The costliest requests that fit CloudFront's limits (8,192-byte `uri`, 20,480 bytes of
//! request headers) against a normal request, through the whole `decide` every runtime
//! calls, in one run (issue goal: worst <= 20x normal). `tests/bench/run.sh` prints the
//! ratios. The hostile shapes are the ones that cost most per byte in each stage:
//!
//! - `signed-hostile-acl/*`: a validly signed token (so the ACL stage runs at all) whose
//!   ACLs each make the matcher scan an 8 KB path, carried in a cookie, one per shape of
//!   scan (the ACL budget then stops them: `edgegate_core::token::AclBudget`);
//! - `unsigned-long-token`: the longest token text the gate will read (`MAX_TOKEN_BYTES`),
//!   with a wrong HMAC, so every configured key hashes all of it;
//! - `oversized-token`: 20 KB of token in a cookie, refused before it is decoded;
//! - `escapes-and-cookies`: an 8 KB path of `%XX` escapes and `.` segments plus 20 KB of
//!   cookies, none of them the token (locate, decode and canonicalise at their worst);
//! - `tiny-cookies`, `tiny-params`, `many-token-cookies`: the most items the limits hold
//!   (`a=;`, `a&`, `__token__=;`), for the searches that look at each cookie or parameter.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use edgegate_core::token::MAX_TOKEN_BYTES;
use edgegate_core::{Claims, Config, Gate, KeyConfig, Scope, Secret};
use edgegate_handler::{Outcome, RequestView, decide};

const NOW: u64 = 1_800_000_000;
const MAX_URI: usize = 8192;
const MAX_HEADERS: usize = 20_480;

fn gate() -> Gate {
    // Two keys, as during a rotation: a wrong HMAC is hashed with each.
    let keys = ["6b1f0c9d2a4e8f7031c5b9a7d3e2f1046a8c9b0d1e2f3a4b5c6d7e8f90a1b2c3", "00112233445566778899aabbccddeeff"];
    let config = Config {
        keys: keys
            .iter()
            .enumerate()
            .map(|(i, k)| KeyConfig { id: format!("k{i}"), secret: Some(Secret::new(*k)), secret_env: None })
            .collect(),
        ..Config::default()
    };
    Gate::new(&config).expect("config")
}

fn sign(gate: &Gate, patterns: Vec<String>) -> String {
    let claims =
        Claims { ip: None, start: None, expires: NOW + 3600, scope: Scope::Acl(patterns), id: None, data: None };
    gate.sign(&claims).expect("sign")
}

fn view<'a>(uri: &'a str, query: Option<&'a str>, cookies: &'a [&'a str]) -> RequestView<'a> {
    RequestView {
        method: "GET",
        uri,
        querystring: query,
        cookies,
        client_ip: "203.0.113.9",
        request_id: "bench",
        distribution_id: "EBENCH",
    }
}

fn bench(c: &mut Criterion) {
    let gate = gate();
    let mut group = c.benchmark_group("decide");

    // Normal: a package fetched with a query URL token's ACL sibling (the seed's flow).
    let normal_token = sign(&gate, vec!["/acme/main/debian/*".into()]);
    let normal_query = format!("__token__={normal_token}");
    let normal_uri = "/acme/main/debian/pool/main/libs/libstdc%2B%2B6_12.2.0-14_amd64.deb";
    assert!(matches!(decide(&gate, &view(normal_uri, Some(&normal_query), &[]), NOW), Outcome::Forward(_)));
    group.bench_function("normal", |b| {
        b.iter(|| decide(&gate, black_box(&view(normal_uri, Some(&normal_query), &[])), NOW))
    });

    // Signed hostile ACLs, as many as fit the longest token, against an 8 KB path. Each
    // shape makes the matcher scan the whole path; they differ in what a scanned byte
    // costs: a `?` run of one Shift-And word and one of two (the limit), a two-byte
    // literal run, many one-byte runs, a literal run too long for one word; and ACLs that
    // each fail at once, as many as the budget lets through.
    let long_uri = format!("/acme/main/{}", "a".repeat(MAX_URI - 11));
    let shapes = [
        ("wildcard-run", "/*a?Z*".to_string()),
        ("wildcard-run-limit", format!("/*{}Z*", "?".repeat(edgegate_core::token::MAX_WILDCARD_RUN - 1))),
        ("literal-run", "/*Za*".to_string()),
        ("star-runs", format!("/*{}Z*", "a*".repeat(16))),
        // A literal run longer than the one-word scan takes: Two-Way.
        ("long-literal-run", format!("/*{}Z*", "a".repeat(80))),
        // Many ACLs that fail without a scan: what each try costs.
        ("many-tries", "/*Z".to_string()),
    ];
    for (name, shape) in shapes {
        let mut patterns = Vec::new();
        let mut size = 0;
        while size + shape.len() < MAX_TOKEN_BYTES - 200 {
            size += shape.len() + 1;
            patterns.push(shape.clone());
        }
        let hostile_token = sign(&gate, patterns);
        let hostile_cookie = format!("__token__={hostile_token}");
        let cookies = [hostile_cookie.as_str()];
        let outcome = decide(&gate, &view(&long_uri, None, &cookies), NOW);
        assert!(matches!(&outcome, Outcome::Deny(d) if d.reason.code() == "acl-mismatch"), "{outcome:?}");
        group.bench_function(format!("signed-hostile-acl/{name}"), |b| {
            b.iter(|| decide(&gate, black_box(&view(&long_uri, None, &cookies)), NOW))
        });
    }

    // Unsigned: the longest token text the gate reads, wrong HMAC, hashed with every key.
    let filler = format!("exp={}~data={}~hmac={}", NOW + 60, "x".repeat(MAX_TOKEN_BYTES - 100), "0".repeat(64));
    assert!(filler.len() <= MAX_TOKEN_BYTES);
    let unsigned_cookie = format!("__token__={filler}");
    let cookies = [unsigned_cookie.as_str()];
    let outcome = decide(&gate, &view(normal_uri, None, &cookies), NOW);
    assert!(matches!(&outcome, Outcome::Deny(_)), "{outcome:?}");
    group.bench_function("unsigned-long-token", |b| {
        b.iter(|| decide(&gate, black_box(&view(normal_uri, None, &cookies)), NOW))
    });

    // A token as long as the headers allow: refused unread.
    let oversized =
        format!("__token__=exp={}~data={}~hmac={}", NOW + 60, "x".repeat(MAX_HEADERS - 200), "0".repeat(64));
    let cookies = [oversized.as_str()];
    group.bench_function("oversized-token", |b| {
        b.iter(|| decide(&gate, black_box(&view(normal_uri, None, &cookies)), NOW))
    });

    // Escapes and dot segments to the uri limit, and 20 KB of cookies that are not the token.
    let mut escaped = String::from("/acme/main");
    while escaped.len() < MAX_URI - 16 {
        escaped.push_str("/.%2E%41%42");
    }
    // As many `.` segments as fit, each cut out of the path: back to back, and with a
    // segment to keep between them (a copy per cut).
    for (name, unit) in [("dot-segments", "/."), ("dot-segments-kept", "/a/.")] {
        let mut dots = String::from("/acme/main");
        while dots.len() < MAX_URI - 8 {
            dots.push_str(unit);
        }
        dots.push_str("/a.deb");
        let outcome = decide(&gate, &view(&dots, None, &[]), NOW);
        assert!(matches!(&outcome, Outcome::Deny(d) if d.reason.code() == "missing-token"), "{outcome:?}");
        group.bench_function(name, |b| b.iter(|| decide(&gate, black_box(&view(&dots, None, &[])), NOW)));
    }
    let junk: Vec<String> = (0..200).map(|i| format!("c{i}={}", "v".repeat(90))).collect();
    let junk_refs: Vec<&str> = junk.iter().map(String::as_str).collect();
    group.bench_function("escapes-and-cookies", |b| {
        b.iter(|| decide(&gate, black_box(&view(&escaped, Some("a=1&b=2"), &junk_refs)), NOW))
    });
    // Cookies as short as they come, each starting like the token's name (`_=;` over and
    // over, in header values of 1 KB): the most cookies 20 KB holds, and no block of them
    // that the name search can pass over on its first byte.
    let tiny: Vec<String> = (0..20).map(|_| "_=;".repeat(340)).collect();
    let tiny_refs: Vec<&str> = tiny.iter().map(String::as_str).collect();
    group.bench_function("tiny-cookies", |b| {
        b.iter(|| decide(&gate, black_box(&view(normal_uri, None, &tiny_refs)), NOW))
    });
    // Both limits at once, each stage at its worst found: the costliest path shape and
    // 20 KB of cookies that all start like the token's name, in values of 93 bytes (per
    // value, the name search pays for two blocks).
    let mut kept_dots = String::from("/acme/main");
    while kept_dots.len() < MAX_URI - 8 {
        kept_dots.push_str("/a/.");
    }
    kept_dots.push_str("/a.deb");
    let short_values: Vec<String> = (0..MAX_HEADERS / 100).map(|_| "_=;".repeat(31)).collect();
    let short_value_refs: Vec<&str> = short_values.iter().map(String::as_str).collect();
    group.bench_function("combined-dots-and-cookies", |b| {
        b.iter(|| decide(&gate, black_box(&view(&kept_dots, None, &short_value_refs)), NOW))
    });
    group.bench_function("combined-escapes-and-cookies", |b| {
        b.iter(|| decide(&gate, black_box(&view(&escaped, None, &short_value_refs)), NOW))
    });
    // Parameters as short as they come, to the uri limit, none of them the token.
    let tiny_query = "a&".repeat(MAX_URI / 2 - 40);
    group.bench_function("tiny-params", |b| {
        b.iter(|| decide(&gate, black_box(&view(normal_uri, Some(&tiny_query), &[])), NOW))
    });
    // Token cookies as short as they come (`__token__=;`): every one is stripped.
    let token_cookies: Vec<String> = (0..20).map(|_| "__token__=;".repeat(93)).collect();
    let token_cookie_refs: Vec<&str> = token_cookies.iter().map(String::as_str).collect();
    group.bench_function("many-token-cookies", |b| {
        b.iter(|| decide(&gate, black_box(&view(normal_uri, None, &token_cookie_refs)), NOW))
    });
    // The same behind a valid token: forwarded, so every token cookie is stripped.
    let mut valid_then_many = vec![format!("__token__={normal_token}")];
    valid_then_many.extend(token_cookies.iter().take(19).cloned());
    let valid_then_many_refs: Vec<&str> = valid_then_many.iter().map(String::as_str).collect();
    assert!(matches!(decide(&gate, &view(normal_uri, None, &valid_then_many_refs), NOW), Outcome::Forward(_)));
    group.bench_function("forwarded-many-token-cookies", |b| {
        b.iter(|| decide(&gate, black_box(&view(normal_uri, None, &valid_then_many_refs)), NOW))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
