//! Arbitrary bytes as a Lambda@Edge event: the serde event types and the whole event
//! handling never panic; without a configuration nothing is ever forwarded; with one, a
//! forward carries a canonical `uri` and no token parameter or cookie; the text read
//! straight into the event types is answered as its `Value` is. Seeds: the event
//! fixtures (fixtures/events), judged with the fixture configuration at their time.
#![no_main]

use std::sync::OnceLock;

use edgegate_handler::event::{Event, HandlerResult};
use edgegate_handler::{Gate, GateState, Handled, gate_from_json, handle_event_json, handle_event_value};
use libfuzzer_sys::fuzz_target;

/// Inside every fixture token's validity (fixtures/events/README.md).
const NOW: u64 = 1_795_500_000;

fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| {
        gate_from_json(include_str!("../../fixtures/config/edgegate.json")).expect("fixture configuration")
    })
}

fn check_forward(result: &HandlerResult) {
    if let HandlerResult::Forward(request) = result {
        assert!(request.uri.starts_with('/'), "forwarded uri {:?}", request.uri);
        let query = request.querystring.as_deref().unwrap_or("");
        assert!(!query.split('&').any(|p| p.split('=').next() == Some("__token__")), "token left in forwarded query");
        for value in request.cookie_values() {
            assert!(
                // The gate's cookie syntax (SPEC §4): name up to `=`, after spaces and tabs.
                !value.split(';').any(|c| {
                    c.trim_start_matches([' ', '\t']).split('=').next().map(str::trim_end) == Some("__token__")
                }),
                "token cookie forwarded"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<Event>(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let missing = handle_event_json(GateState::Misconfigured, text, NOW);
    assert!(!matches!(missing.result, HandlerResult::Forward(_)), "forwarded without a configuration");
    let ready = handle_event_json(GateState::Ready(gate()), text, NOW);
    check_forward(&ready.result);
    // `handle_event_json` reads the text straight into the event types when they take
    // it: the answer must be the one a `Value` of the same text gets.
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let answer = |handled: &Handled| (serde_json::to_value(&handled.result).ok(), handled.log.clone());
        let through_value = handle_event_value(GateState::Ready(gate()), &value, NOW);
        assert_eq!(answer(&ready), answer(&through_value), "the two JSON ways disagree");
    }
});
