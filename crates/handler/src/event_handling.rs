//! Event-level handling, the part every runtime shares: dispatch on the event type, turn a
//! viewer request into a [`RequestView`] and run [`decide`], write the outcome back into
//! the event, and answer faults (SPEC §5). Origin-response events go to
//! [`crate::origin_response`].

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use edgegate_core::{Gate, Reason};
use serde::Deserialize as _;
use serde_json::Value;

use crate::decide::{Outcome, RequestView, decide, log_line};
use crate::event::{CfConfig, CfOriginResponse, CfRequest, Event, HandlerResult, Header, ORIGIN_RESPONSE};
use crate::generated::response;
use crate::origin_response::{CacheHeader, origin_cache_control, parse_status, set_cache_control};

/// What the runtime holds after its cold start.
#[derive(Debug, Clone, Copy)]
pub enum GateState<'g> {
    /// The configuration loaded: requests are judged.
    Ready(&'g Gate),
    /// No usable configuration (reported once, at cold start, with the field it names):
    /// every viewer request is answered 500 `misconfigured`, every origin response passes
    /// unchanged. Never a forward.
    Misconfigured,
}

impl<'g> GateState<'g> {
    /// The state for a cold start's outcome; the error itself was logged when it happened.
    pub fn of<E>(loaded: &'g Result<Gate, E>) -> GateState<'g> {
        match loaded {
            Ok(gate) => GateState::Ready(gate),
            Err(_) => GateState::Misconfigured,
        }
    }
}

/// The result for one event, and the log line to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    /// What the function returns to CloudFront.
    pub result: HandlerResult,
    /// One JSON log line: every decision but a plain forward, every fault, and an origin
    /// response passed on unchanged.
    pub log: Option<String>,
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
/// any `NAME=VALUE` may be a token whatever the configured name, so the core's one rule
/// redacts every value (SPEC §5: never a token in a log line).
fn path_without_token_segment(uri: &str) -> alloc::borrow::Cow<'_, str> {
    edgegate_core::redact::redact(uri, None)
}

/// [`path_without_token_segment`] for the other modules (the origin-response handler and
/// the WASM module log without a configuration too).
pub(crate) fn log_path_without_config(uri: &str) -> alloc::borrow::Cow<'_, str> {
    path_without_token_segment(uri)
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

/// Handles one event: an origin-response event (`cf.config.eventType`) gets its
/// `cache-control` (SPEC §9); every other event is a viewer request for the gate (SPEC §5).
/// Fails closed: an event without a record is answered 500 `internal`, never forwarded.
pub fn handle_event(gate: GateState<'_>, event: Event, now: u64) -> Handled {
    let Some(record) = event.records.into_iter().next() else {
        return internal();
    };
    let config = record.cf.config;
    let request = record.cf.request;
    if config.event_type == ORIGIN_RESPONSE {
        return match record.cf.response {
            Some(response) => handle_origin_response(gate, &config, &request, response),
            // No origin answer to pass on: nothing but an error can be returned. Logged
            // with the event's ids (never its path), as any fault with an event is.
            None => {
                let view = RequestView {
                    method: &request.method,
                    uri: "",
                    querystring: None,
                    cookies: &[],
                    client_ip: &request.client_ip,
                    request_id: &config.request_id,
                    distribution_id: &config.distribution_id,
                };
                respond(Reason::Internal, None, log_line(Reason::Internal, &view, "", None))
            }
        };
    }
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
    let GateState::Ready(gate) = gate else {
        let log = log_line(Reason::Misconfigured, &view, &path_without_token_segment(&request.uri), None);
        return respond(Reason::Misconfigured, None, log);
    };
    match decide(gate, &view, now) {
        Outcome::Deny(deny) => {
            Handled { result: HandlerResult::Respond(deny.response.to_cloudfront()), log: Some(deny.log) }
        }
        Outcome::Forward(forward) => {
            drop(cookies);
            Handled { result: HandlerResult::Forward(apply_forward(request, forward)), log: None }
        }
    }
}

/// The origin's answer with its `cache-control` set from the object's class, or unchanged
/// with a log line when that cannot be done (SPEC §5, §9).
fn handle_origin_response(
    gate: GateState<'_>,
    config: &CfConfig,
    request: &CfRequest,
    mut response: CfOriginResponse,
) -> Handled {
    let view = RequestView {
        method: &request.method,
        uri: &request.uri,
        querystring: request.querystring.as_deref(),
        // The origin request's cookies play no part in a cache class.
        cookies: &[],
        client_ip: &request.client_ip,
        request_id: &config.request_id,
        distribution_id: &config.distribution_id,
    };
    match origin_cache_control(gate, &view, parse_status(&response.status)) {
        CacheHeader::Set(value) => {
            set_cache_control(&mut response, value);
            Handled { result: HandlerResult::OriginResponse(response), log: None }
        }
        CacheHeader::Keep(log) => Handled { result: HandlerResult::OriginResponse(response), log: Some(log) },
    }
}

/// `Records[0].cf.response` of an origin-response event, read without the event types, so
/// that an event they refuse still keeps the origin's answer. `None` for any other event,
/// and for an origin-response event without a response (there is nothing to keep).
pub fn origin_response_of(event: &Value) -> Option<&Value> {
    let cf = event.get("Records")?.get(0)?.get("cf")?;
    if cf.get("config")?.get("eventType")?.as_str()? != ORIGIN_RESPONSE {
        return None;
    }
    cf.get("response").filter(|response| !response.is_null())
}

/// The answer to an event the function could not handle (the event types refuse it, or a
/// runtime fault happened while handling it): the origin's response unchanged for an
/// origin-response event (a file that exists is never turned into an error), 500
/// `internal` for anything else. Both with an `internal` log line naming what the event
/// names (request id, distribution id, method, client address: as `index.mjs` logs a
/// fault), never its path.
pub fn fault(event: &Value) -> Handled {
    let text = |pointer: &str| event.pointer(pointer).and_then(Value::as_str).unwrap_or("");
    let view = RequestView {
        method: text("/Records/0/cf/request/method"),
        uri: "",
        querystring: None,
        cookies: &[],
        client_ip: text("/Records/0/cf/request/clientIp"),
        request_id: text("/Records/0/cf/config/requestId"),
        distribution_id: text("/Records/0/cf/config/distributionId"),
    };
    let log = Some(log_line(Reason::Internal, &view, "", None));
    match origin_response_of(event) {
        Some(kept) => Handled { result: HandlerResult::Unchanged(kept.clone()), log },
        None => Handled { result: HandlerResult::Respond(response(Reason::Internal, None)), log },
    }
}

/// [`handle_event`] over a JSON value (what `lambda_runtime` delivers). Read by reference,
/// so that an event the types refuse is still there to be answered as [`fault`] says.
pub fn handle_event_value(gate: GateState<'_>, event: &Value, now: u64) -> Handled {
    match Event::deserialize(event) {
        Ok(parsed) => handle_event(gate, parsed, now),
        Err(_) => fault(event),
    }
}

/// [`handle_event`] over JSON text: text that is not JSON is answered 500 `internal` (fail
/// closed), JSON the event types refuse as [`fault`] says; a parse error's message is never
/// logged (it may quote a token).
///
/// The same answer as [`handle_event_value`] on the parsed text, in half the time: the
/// text is read straight into the event types. Only text they refuse takes the way
/// through a [`Value`]: it may still be JSON that [`handle_event_value`] accepts (a key
/// given twice, which a `Value` keeps the last of, as `JSON.parse` does) or one [`fault`]
/// answers. The `event` fuzz target holds the two ways to the same answer.
pub fn handle_event_json(gate: GateState<'_>, event_json: &str, now: u64) -> Handled {
    if let Ok(event) = serde_json::from_str::<Event>(event_json) {
        return handle_event(gate, event, now);
    }
    match serde_json::from_str::<Value>(event_json) {
        Ok(event) => handle_event_value(gate, &event, now),
        Err(_) => internal(),
    }
}
