//! The handler's decision code (the product's own source files, included by path, minus
//! `wasm.rs`) behind wasm-bindgen instead of raw exports, in the two shapes a wasm-bindgen
//! handler usually takes:
//!
//! - `handle_json`: the whole event as JSON text in, the result as JSON text out;
//! - `decide_fields`: only the fields `decide` needs (as the raw ABI passes them), the
//!   outcome back as JSON text.
//!
//! Standard library and its default allocator, as with any wasm-bindgen crate.

extern crate alloc;

use std::sync::OnceLock;

use wasm_bindgen::prelude::*;

#[path = "../../../../crates/handler/src/decide.rs"]
mod decide;
#[path = "../../../../crates/handler/src/event.rs"]
pub mod event;
#[path = "../../../../crates/handler/src/event_handling.rs"]
mod event_handling;
#[path = "../../../../crates/handler/src/generated.rs"]
mod generated;
#[path = "../../../../crates/handler/src/load.rs"]
mod load;
#[path = "../../../../crates/handler/src/origin_response.rs"]
mod origin_response;

pub use decide::{Deny, Forward, Outcome, RequestView, decide, log_line};
pub use edgegate_core::{Gate, Reason};
pub use event_handling::{GateState, Handled, handle_event, handle_event_json};
pub use generated::response;
pub use load::gate_from_json;

static GATE: OnceLock<Result<Gate, String>> = OnceLock::new();

fn gate() -> GateState<'static> {
    match GATE.get() {
        Some(Ok(gate)) => GateState::Ready(gate),
        _ => GateState::Misconfigured,
    }
}

/// Parses edgegate.json; returns the error text, if any.
#[wasm_bindgen]
pub fn configure(json: &str) -> Option<String> {
    let parsed = gate_from_json(json).map_err(|e| e.to_string());
    let error = parsed.as_ref().err().cloned();
    let _ = GATE.set(parsed);
    error
}

/// Whole event in, `[result, log]` out.
#[wasm_bindgen]
pub fn handle_json(event: &str, now: f64) -> String {
    let handled = handle_event_json(gate(), event, now as u64);
    serde_json::to_string(&(handled.result, handled.log)).unwrap_or_default()
}

/// The raw ABI's fields in; `{"u","q","c"}` (forward) or `{"r","l"}` (deny) out.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn decide_fields(
    method: &str,
    uri: &str,
    querystring: Option<String>,
    cookies: Vec<String>,
    client_ip: &str,
    request_id: &str,
    distribution_id: &str,
    now: f64,
) -> String {
    let cookies: Vec<&str> = cookies.iter().map(String::as_str).collect();
    let view = RequestView {
        method,
        uri,
        querystring: querystring.as_deref(),
        cookies: &cookies,
        client_ip,
        request_id,
        distribution_id,
    };
    let GateState::Ready(gate) = gate() else { return String::new() };
    let out = match decide(gate, &view, now as u64) {
        Outcome::Forward(f) => serde_json::json!({ "u": f.uri, "q": f.querystring, "c": f.cookies }),
        Outcome::Deny(d) => serde_json::json!({ "r": d.response.to_cloudfront(), "l": d.log }),
    };
    out.to_string()
}
