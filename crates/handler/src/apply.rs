//! Event-level handling: parse the configuration once, turn an event into a
//! [`RequestView`], run [`decide`], and write the outcome back into the event's request.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use edgegate_core::{Config, Gate, Reason};

use crate::decide::{Outcome, RequestView, decide, log_line, response};
use crate::event::{CfRequest, Event, HandlerResult, Header};

/// The result for one event, and the log line to write (denials only).
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    /// What the function returns to CloudFront.
    pub result: HandlerResult,
    /// One JSON log line, when the decision was not a plain forward.
    pub log: Option<String>,
}

/// Parses and validates `edgegate.json`. The error names the field, never a secret.
pub fn gate_from_json(json: &str) -> Result<Gate, String> {
    let config: Config = serde_json::from_str(json).map_err(|e| describe_json_error(&e))?;
    Gate::new(&config).map_err(|e| e.to_string())
}

/// serde_json's own message may quote the offending value (`invalid type: integer
/// `1234...`, expected a string` for a secret written without quotes), and these errors
/// reach logs. Only messages that name nothing but field names are passed on; every other
/// error is reduced to its kind and position.
fn describe_json_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let message = error.to_string();
    let kind = match error.classify() {
        Category::Data if edgegate_core::config::message_names_only_fields(&message) => {
            return message;
        }
        Category::Data => "a field has the wrong type or value",
        Category::Syntax => "not valid JSON",
        Category::Eof => "truncated JSON",
        Category::Io => "cannot be read",
    };
    alloc::format!("edgegate.json: {kind} at line {} column {}", error.line(), error.column())
}

/// Applies a forward decision to the request: new `uri`, `querystring`, `cookie` header.
/// Nothing else is touched (CloudFront refuses changes to read-only parts).
pub fn apply_forward(mut request: CfRequest, forward: crate::decide::Forward) -> CfRequest {
    request.uri = forward.uri;
    if let Some(query) = forward.querystring {
        request.querystring = Some(query);
    }
    if let Some(values) = forward.cookies {
        let name = request
            .headers
            .keys()
            .find(|name| name.eq_ignore_ascii_case("cookie"))
            .cloned()
            .unwrap_or_else(|| "cookie".to_string());
        if values.is_empty() {
            request.headers.retain(|name, _| !name.eq_ignore_ascii_case("cookie"));
        } else {
            let key = request.headers.get(&name).and_then(|e| e.first()).and_then(|h| h.key.clone());
            let entries: Vec<Header> = values.into_iter().map(|value| Header { key: key.clone(), value }).collect();
            request.headers.retain(|n, _| !n.eq_ignore_ascii_case("cookie"));
            request.headers.insert(name, entries);
        }
    }
    request
}

/// The path for a log line written without a configuration, hence without `token_name`:
/// a first segment shaped `NAME=VALUE` may be a path token whatever the configured name,
/// so it is left out (SPEC §5: never a token in a log line).
fn path_without_token_segment(uri: &str) -> &str {
    let Some(rest) = uri.strip_prefix('/') else { return uri };
    let first_len = rest.find('/').unwrap_or(rest.len());
    if !rest[..first_len].contains('=') {
        return uri;
    }
    match &rest[first_len..] {
        "" => "/",
        tail => tail,
    }
}

/// 500 `internal` with a log line that names no request: there may be none to name (an
/// event without records, one that does not parse, a fault in a runtime).
pub fn internal() -> Handled {
    let view = RequestView {
        method: "",
        uri: "",
        querystring: None,
        cookies: &[],
        client_ip: "",
        request_id: "",
        distribution_id: "",
    };
    respond(Reason::Internal, None, log_line(Reason::Internal, &view, "", None))
}

fn respond(reason: Reason, gate: Option<&Gate>, log: String) -> Handled {
    Handled { result: HandlerResult::Respond(response(reason, gate.map(Gate::methods))), log: Some(log) }
}

/// Handles one viewer-request event. `gate` is `Err` when the configuration could not be
/// loaded at cold start: every request then gets 500 `misconfigured`. Fails closed: an
/// event without a request is answered 500 `internal`, never forwarded.
pub fn handle_event(gate: Result<&Gate, ()>, event: Event, now: u64) -> Handled {
    let Some(record) = event.records.into_iter().next() else {
        return internal();
    };
    let config = record.cf.config;
    let request = record.cf.request;
    let cookies = request.cookie_values();
    let view = RequestView {
        method: &request.method,
        uri: &request.uri,
        querystring: request.querystring.as_deref(),
        cookies: &cookies,
        client_ip: &request.client_ip,
        request_id: &config.request_id,
        distribution_id: &config.distribution_id,
    };
    let Ok(gate) = gate else {
        let log = log_line(Reason::Misconfigured, &view, path_without_token_segment(&request.uri), None);
        return respond(Reason::Misconfigured, None, log);
    };
    match decide(gate, &view, now) {
        Outcome::Deny(deny) => respond(deny.reason, Some(gate), deny.log),
        Outcome::Forward(forward) => {
            drop(cookies);
            Handled { result: HandlerResult::Forward(apply_forward(request, forward)), log: None }
        }
    }
}

/// [`handle_event`] over JSON text: an event that does not parse is answered 500
/// `internal` (fail closed), with the parse error's position only in the log.
pub fn handle_event_json(gate: Result<&Gate, ()>, event_json: &str, now: u64) -> Handled {
    match serde_json::from_str::<Event>(event_json) {
        Ok(event) => handle_event(gate, event, now),
        Err(_) => internal(),
    }
}
