//! Writes the shapes of `benches/shapes.rs` (the normal request and the costliest ones
//! within CloudFront's limits) as viewer-request events, with tokens signed by the given
//! configuration's first key and valid for an hour from now, for the runtimes that cannot
//! build them: `tests/bench/node-hostile.mjs` times them through the Lambda@Edge bundle.
//!
//!   cargo run --release -p edgegate-handler --example hostile_events -- CONFIG_JSON OUT_JSON
//!
//! OUT_JSON is `[{"name", "expect": "forward" | REASON, "event"}, ...]`, `normal` first.

use std::time::{SystemTime, UNIX_EPOCH};

use edgegate_handler::gate_from_json;
use serde_json::{Value, json};

#[path = "../benches/shapes.rs"]
#[allow(dead_code)]
mod shapes;
use shapes::{Expect, shapes};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, out] = args.as_slice() else {
        return Err("usage: hostile_events CONFIG_JSON OUT_JSON".into());
    };
    let text = std::fs::read_to_string(config).map_err(|e| format!("cannot read {config}: {e}"))?;
    let gate = gate_from_json(&text).map_err(|e| format!("{config}: {e}"))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|_| "the clock reads before 1970")?.as_secs();
    let cases: Vec<Value> = shapes(&gate, now)
        .iter()
        .map(|shape| {
            let expect = match shape.expect {
                Expect::Forward => "forward",
                Expect::Deny(code) => code,
            };
            let event: Value = serde_json::from_str(&shape.event()).expect("an event is JSON");
            json!({"name": shape.name, "expect": expect, "event": event})
        })
        .collect();
    std::fs::write(out, Value::from(cases).to_string()).map_err(|e| format!("cannot write {out}: {e}"))
}
