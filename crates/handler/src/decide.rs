//! The one decision function (SPEC §5) and its log line. Every runtime (WASM in Node.js,
//! native `lambda_runtime`, `edgegate handle`, `edgegate serve`) calls [`decide`]; what a
//! denial answers is a [`Generated`] value (`generated.rs`).

use alloc::string::String;
use alloc::vec::Vec;

use edgegate_core::locate::{LocateOptions, locate};
use edgegate_core::path::{canonicalize_with, encode_forward};
use edgegate_core::redact::redact;
use edgegate_core::scan::{Class, below, eq, find};
use edgegate_core::token::ParsedToken;
use edgegate_core::{Gate, Reason};

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

/// The JSON log line for a denial. `path` is canonical when the path passed SPEC §3, and
/// the raw path (token segment already removed) otherwise, and in both cases already
/// passed through `edgegate_core::redact::redact` by the caller (SPEC §5: the caller
/// knows the token name, or knows that it does not).
///
/// Written directly rather than through serde_json: the path may be 8 KB a viewer chose,
/// and a block search for the bytes JSON must escape (`scan::find`) costs a fraction of a
/// per-byte escape table. The text is byte for byte what serde_json writes for the same
/// fields (`log_line_is_what_serde_json_writes`).
pub fn log_line(reason: Reason, request: &RequestView<'_>, path: &str, token_id: Option<&str>) -> String {
    let fields = [
        ("reason", Some(reason.code())),
        ("request_id", Some(request.request_id)),
        ("distribution_id", Some(request.distribution_id)),
        ("method", Some(request.method)),
        ("path", Some(path)),
        ("client_ip", Some(request.client_ip)),
        ("token_id", token_id),
    ];
    let size: usize = fields.iter().map(|(name, value)| name.len() + value.map_or(0, str::len) + 6).sum();
    let mut line = String::with_capacity(size + 2);
    line.push('{');
    for (name, value) in fields {
        // Absent optionals are left out, as `skip_serializing_if` did.
        let Some(value) = value else { continue };
        if line.len() > 1 {
            line.push(',');
        }
        push_json_string(&mut line, name);
        line.push(':');
        push_json_string(&mut line, value);
    }
    line.push('}');
    line
}

/// The bytes a JSON string cannot hold as they are: control bytes, `"` and `\`.
#[derive(Clone, Copy, Debug)]
struct JsonEscaped;

impl Class for JsonEscaped {
    #[inline(always)]
    fn byte(self, b: u8) -> bool {
        b < 0x20 || b == b'"' || b == b'\\'
    }
    #[inline(always)]
    fn word(self, word: u64) -> u64 {
        below(word, 0x20) | eq(word, b'"') | eq(word, b'\\')
    }
}

/// Appends `text` as a JSON string, escaping as serde_json does: `"` and `\`, the short
/// forms of `\n \r \t \b \f`, any other control byte as `\u00xx`; all else as it is.
/// Every log line of every runtime writes its strings through this (`serve`'s access
/// line too).
pub fn push_json_string(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    out.push('"');
    let mut at = 0;
    loop {
        let run = find(&bytes[at..], JsonEscaped);
        // The search stops only at ASCII bytes or the end: character boundaries.
        out.push_str(&text[at..at + run]);
        at += run;
        let Some(&b) = bytes.get(at) else { break };
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0C => out.push_str("\\f"),
            _ => {
                out.push_str("\\u00");
                out.push(char::from(edgegate_core::hex::LOWER[usize::from(b >> 4)]));
                out.push(char::from(edgegate_core::hex::LOWER[usize::from(b & 0xF)]));
            }
        }
        at += 1;
    }
    out.push('"');
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
        cookies: located.cookies(gate.token_name()),
        querystring: located.querystring,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec::Vec;
    use serde::Serialize;

    #[test]
    fn json_escaped_class_is_one_set() {
        edgegate_core::scan::check_class(JsonEscaped);
    }

    /// The log line as serde_json wrote it before: the reference for `log_line`.
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

    fn view<'a>(text: &'a str) -> RequestView<'a> {
        RequestView {
            method: text,
            uri: "/",
            querystring: None,
            cookies: &[],
            client_ip: "192.0.2.1",
            request_id: text,
            distribution_id: "E1",
        }
    }

    /// Every ASCII byte and a few wider characters, alone and in runs that straddle the
    /// scan's eight-byte words and 64-byte blocks, in every field, with and without a token id: the same
    /// text as serde_json.
    #[test]
    fn log_line_is_what_serde_json_writes() {
        let mut texts: Vec<String> = (0u8..0x80).map(|b| String::from(char::from(b))).collect();
        for c in ['é', '\u{2028}', '\u{7f}', '🦀'] {
            texts.push(String::from(c));
        }
        let singles = texts.clone();
        for (i, a) in singles.iter().enumerate() {
            let b = &singles[(i * 7 + 3) % singles.len()];
            texts.push(format!("/pool/{a}x{b}{a}/{}", "y".repeat(i % 11)));
            // Past the first word and into the 64-byte blocks and their tails.
            texts.push(format!("/pool/{}{a}{}{b}", "y".repeat(i % 150), "z".repeat(i % 67)));
        }
        texts.push(String::new());
        for text in &texts {
            for token_id in [None, Some(text.as_str())] {
                let request = view(text);
                let expected = serde_json::to_string(&LogLine {
                    reason: Reason::AclMismatch.code(),
                    request_id: text,
                    distribution_id: "E1",
                    method: text,
                    path: text,
                    client_ip: "192.0.2.1",
                    token_id,
                })
                .expect("serializes");
                assert_eq!(log_line(Reason::AclMismatch, &request, text, token_id), expected, "{text:?}");
            }
        }
    }
}
