//! The one decision function (SPEC §5) and its log line. Every runtime (WASM in Node.js,
//! native `lambda_runtime`, `edgegate handle`, `edgegate serve`) calls [`decide`]; what a
//! denial answers is a [`Generated`] value (`generated.rs`).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use edgegate_core::locate::{LocateOptions, locate};
use edgegate_core::path::{canonicalize_with, encode_forward};
use edgegate_core::redact::redact;
use edgegate_core::token::ParsedToken;
use edgegate_core::{Gate, Reason};
use serde::Serialize;

use crate::generated::Generated;

/// The parts of a viewer request the decision reads, borrowed from whatever the runtime
/// holds (a parsed event, a WASM input buffer, an HTTP request).
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Raw `uri`, percent-encoded as the viewer sent it.
    pub uri: &'a str,
    /// Raw query string without `?` (`None` when the event has none).
    pub querystring: Option<&'a str>,
    /// Every `cookie` header value.
    pub cookies: &'a [&'a str],
    /// Viewer address.
    pub client_ip: &'a str,
    /// CloudFront request id (for the log line).
    pub request_id: &'a str,
    /// Distribution id (for the log line).
    pub distribution_id: &'a str,
}

/// Forward to the origin with these changes; everything else stays as the viewer sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// New `uri`: the canonical path re-encoded (SPEC §3 step 4), token segment removed.
    pub uri: String,
    /// New `querystring` when a parameter was removed (the token, or one `forward_query`
    /// does not name; SPEC §4); `Some("")` when none is left. `None`: forward it unchanged.
    pub querystring: Option<String>,
    /// New `cookie` header values when the token cookie was removed; empty: drop the header.
    pub cookies: Option<Vec<String>>,
}

/// Answer at the edge instead of forwarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deny {
    /// Why.
    pub reason: Reason,
    /// What to answer, as typed values; each runtime renders its own wire form.
    pub response: Generated,
    /// The one JSON log line for this decision (SPEC §5). Never holds a key or token.
    pub log: String,
}

/// The decision for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Send on to the origin.
    Forward(Forward),
    /// Generate a 4xx/5xx.
    Deny(Deny),
}

#[derive(Serialize)]
struct LogLine<'a> {
    reason: &'a str,
    request_id: &'a str,
    distribution_id: &'a str,
    method: &'a str,
    path: &'a str,
    client_ip: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_id: Option<&'a str>,
}

/// The JSON log line for a denial. `path` is canonical when the path passed SPEC §3, and
/// the raw path (token segment already removed) otherwise, and in both cases already
/// passed through `edgegate_core::redact::redact` by the caller (SPEC §5: the caller
/// knows the token name, or knows that it does not).
pub fn log_line(reason: Reason, request: &RequestView<'_>, path: &str, token_id: Option<&str>) -> String {
    let line = LogLine {
        reason: reason.code(),
        request_id: request.request_id,
        distribution_id: request.distribution_id,
        method: request.method,
        path,
        client_ip: request.client_ip,
        token_id,
    };
    // Serializing plain strings into a String cannot fail; fall back to the bare code.
    serde_json::to_string(&line).unwrap_or_else(|_| format!("{{\"reason\":\"{}\"}}", reason.code()))
}

/// SPEC §5, top to bottom: method, path, public prefix, token presence, token validity.
pub fn decide(gate: &Gate, request: &RequestView<'_>, now: u64) -> Outcome {
    let options = LocateOptions {
        token_name: gate.token_name(),
        path_tokens: gate.path_tokens(),
        cookie_tokens: gate.cookie_tokens(),
        forward_query: gate.forward_query(),
    };
    let located = locate(request.uri, request.querystring, request.cookies, options);
    let canonical = canonicalize_with(located.uri, gate.encoded_slash());
    let deny = |reason: Reason, token_id: Option<&str>| {
        // Redacted in whichever form is logged (SPEC §5): the raw path may hold a token the
        // gate did not take, and decoding can split an encoded one over several segments.
        let name = Some(gate.token_name());
        let path = redact(canonical.as_deref().unwrap_or(located.uri), name);
        let token_id = token_id.map(|id| redact(id, name));
        let response = Generated::for_reason(reason, Some(gate.methods()));
        Outcome::Deny(Deny { reason, response, log: log_line(reason, request, &path, token_id.as_deref()) })
    };

    if !gate.allows_method(request.method) {
        return deny(Reason::Method, None);
    }
    let Ok(path) = &canonical else {
        return deny(Reason::BadPath, None);
    };
    if !gate.is_public(path) {
        let Some(found) = &located.token else {
            return deny(Reason::MissingToken, None);
        };
        let Ok(text) = &found.text else {
            return deny(Reason::MalformedToken, None);
        };
        if let Err(reason) = gate.verify(text, path, Some(request.client_ip), now) {
            // Logged "as given": the id of a token that failed is still the viewer's claim.
            let token_id = ParsedToken::parse(text).ok().and_then(|t| t.id);
            return deny(reason, token_id);
        }
    }
    Outcome::Forward(Forward {
        uri: encode_forward(path, gate.s3_plus_fix()),
        querystring: located.querystring,
        cookies: located.cookies,
    })
}
