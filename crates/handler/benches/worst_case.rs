//! The costliest requests that fit CloudFront's limits against a normal request, in one
//! run (issue goal: worst <= 20x normal), at two depths: `decide/*` is the decision every
//! runtime calls, on the request's strings; `handler/*` is the native `lambda_runtime`
//! binary's whole work for it, from the invocation's JSON text to the answer's (the
//! runtime's `RawValue`, `handle_event_json`, the answer written out); `floor/*` is an
//! identity function over the same invocation, the cost of its JSON alone; `reference/*`
//! is part of `decide`'s work done by widely used crates, a yardstick for the ratios at
//! `decide` depth (below). The shapes are
//! `shapes.rs`'s; the Lambda@Edge bundle is timed on the same ones by
//! `tests/bench/node-hostile.mjs`. `tests/bench/run.sh` prints the ratios.

use std::path::Path;

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use edgegate_handler::event::HandlerResult;
use edgegate_handler::{GateState, Outcome, RequestView, decide, gate_from_json, handle_event_json};
use serde_json::value::RawValue;

mod shapes;
use shapes::{Expect, Shape, shapes};

const NOW: u64 = 1_800_000_000;

fn view<'a>(shape: &'a Shape, cookies: &'a [&'a str]) -> RequestView<'a> {
    RequestView {
        method: "GET",
        uri: &shape.uri,
        querystring: shape.query.as_deref(),
        cookies,
        client_ip: "203.0.113.178",
        request_id: "bench",
        distribution_id: "EDFDVBD6EXAMPLE",
    }
}

fn outcome(decided: &Outcome) -> Expect {
    match decided {
        Outcome::Forward(_) => Expect::Forward,
        Outcome::Deny(deny) => Expect::Deny(deny.reason.code()),
    }
}

fn bench(c: &mut Criterion) {
    // The fixture configuration: two keys, as during a rotation (a wrong HMAC is hashed
    // with each).
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/config/edgegate.json");
    let gate = gate_from_json(&std::fs::read_to_string(config).expect("fixture configuration")).expect("config");
    let shapes = shapes(&gate, NOW);

    let mut group = c.benchmark_group("decide");
    for shape in &shapes {
        let cookies: Vec<&str> = shape.cookies.iter().map(String::as_str).collect();
        assert_eq!(outcome(&decide(&gate, &view(shape, &cookies), NOW)), shape.expect, "{}", shape.name);
        group.bench_function(&shape.name, |b| b.iter(|| decide(&gate, black_box(&view(shape, &cookies)), NOW)));
    }
    group.finish();

    let mut group = c.benchmark_group("handler");
    for shape in &shapes {
        let event = shape.event();
        let handled = handle_event_json(GateState::Ready(&gate), &event, NOW);
        match (&handled.result, shape.expect) {
            (HandlerResult::Forward(_), Expect::Forward) => {}
            (HandlerResult::Respond(response), Expect::Deny(code)) => {
                assert_eq!(response.headers["x-edgegate-reason"][0].value, code, "{}", shape.name);
            }
            (other, _) => panic!("{}: {:?}", shape.name, serde_json::to_string(other)),
        }
        // What `lambda_runtime` and `bin/lambda.rs` do with an invocation's body: read it
        // as a `RawValue` (the runtime), judge its text, write the answer out.
        group.bench_function(&shape.name, |b| {
            b.iter(|| {
                let raw: Box<RawValue> = serde_json::from_slice(black_box(event.as_bytes())).expect("event");
                let handled = handle_event_json(GateState::Ready(&gate), raw.get(), NOW);
                serde_json::to_vec(&handled.result).expect("answer")
            })
        });
    }
    group.finish();

    // The floor under `handler/*`: what any native function must do with the same
    // invocation, whatever it decides. It reads the event's JSON into values and writes
    // the request back (`serde_json`'s `Value`), as the Lambda@Edge bundle's identity
    // function does in Node.js (`tests/bench/node-hostile.mjs`).
    let mut group = c.benchmark_group("floor");
    for shape in &shapes {
        let event = shape.event();
        group.bench_function(&shape.name, |b| {
            b.iter(|| {
                let event: serde_json::Value = serde_json::from_slice(black_box(event.as_bytes())).expect("event");
                serde_json::to_vec(&event["Records"][0]["cf"]["request"]).expect("request")
            })
        });
    }
    group.finish();

    // The yardstick at `decide` depth ([`reference`]), its searcher built once, as a
    // gate would.
    let name = format!("{}=", gate.token_name());
    let finder = memchr::memmem::Finder::new(name.as_bytes());
    let mut group = c.benchmark_group("reference");
    for shape in &shapes {
        let cookies: Vec<&str> = shape.cookies.iter().map(String::as_str).collect();
        // The yardstick does its work on every shape: a whole path, and the name found
        // exactly where a token is (and only there).
        let (decoded, found) = reference(&finder, &shape.uri, shape.query.as_deref(), &cookies);
        assert!(decoded > 0, "{}: the reference decoded no path", shape.name);
        let has_token = shape.query.iter().chain(&shape.cookies).any(|text| text.contains(&name));
        assert_eq!(found.is_some(), has_token, "{}", shape.name);
        group.bench_function(&shape.name, |b| {
            b.iter(|| reference(&finder, black_box(&shape.uri), shape.query.as_deref(), black_box(&cookies)))
        });
    }
    group.finish();
}

/// Two steps every decision on these shapes must take, done by the crates most Rust code
/// would reach for: the path percent-decoded and checked as UTF-8 (`percent-encoding`,
/// SPEC §3 step 1, without its checks of escapes and control characters), and the token's
/// `NAME=` searched for in the query and in each cookie header value (`memchr::memmem`,
/// which picks AVX2 at run time where `decide` is built for SSE2; SPEC §4, without the
/// rule that a name starts an item). No dot segments, token, HMAC or ACL: less than
/// `decide` does, so `decide/X` over `reference/X` near 1 says that `decide` is as fast
/// as the crates' own code for the same bytes, and `reference/X` over `decide/normal` says
/// how much of the 20x budget those two steps alone take.
fn reference(
    finder: &memchr::memmem::Finder<'_>,
    uri: &str,
    query: Option<&str>,
    cookies: &[&str],
) -> (usize, Option<usize>) {
    // The crate's fast form: borrowed when there is no escape to decode.
    let decoded: std::borrow::Cow<'_, [u8]> = percent_encoding::percent_decode(uri.as_bytes()).into();
    let valid = std::str::from_utf8(&decoded).map_or(0, str::len);
    let found = query.into_iter().chain(cookies.iter().copied()).find_map(|text| finder.find(text.as_bytes()));
    (valid, found)
}

criterion_group!(benches, bench);
criterion_main!(benches);
