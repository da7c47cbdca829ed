//! CloudFront Lambda@Edge viewer-request and origin-response event and result types (our
//! own: the `aws_lambda_events` crate has none). Modelled on the AWS page "Lambda@Edge
//! event structure": `Records[0].cf.{config, request}`, plus `cf.response` in an
//! origin-response event; headers are `lowercase-name -> [{key, value}]`.
//!
//! Fields we do not interpret are kept (`extra`) and returned untouched: CloudFront
//! rejects a result that drops or changes read-only parts of the request.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Headers as CloudFront sends them: lower-case name → list of `{key, value}`.
pub type Headers = BTreeMap<String, Vec<Header>>;

/// One header entry. `key` is the viewer's spelling and is optional in results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Original-case name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Value.
    pub value: String,
}

impl Header {
    /// A header with its display-case key.
    pub fn new(key: &str, value: impl Into<String>) -> Self {
        Header { key: Some(key.into()), value: value.into() }
    }
}

/// The whole event Lambda@Edge delivers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Always exactly one record for Lambda@Edge.
    #[serde(rename = "Records")]
    pub records: Vec<Record>,
}

/// One record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The CloudFront part.
    pub cf: CfRecord,
}

/// `Records[].cf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CfRecord {
    /// Distribution and request identity.
    #[serde(default)]
    pub config: CfConfig,
    /// The viewer's request; in an origin-response event, the request as forwarded.
    pub request: CfRequest,
    /// The origin's answer (origin-response events only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<CfOriginResponse>,
}

/// `cf.config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CfConfig {
    /// e.g. `d111111abcdef8.cloudfront.net`.
    #[serde(default)]
    pub distribution_domain_name: String,
    /// e.g. `EDFDVBD6EXAMPLE`.
    #[serde(default)]
    pub distribution_id: String,
    /// `viewer-request` or `origin-response` (see [`ORIGIN_RESPONSE`]).
    #[serde(default)]
    pub event_type: String,
    /// CloudFront's request id, for correlating logs.
    #[serde(default)]
    pub request_id: String,
    /// Anything else CloudFront adds.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `cf.request`: what the viewer sent, and what we return to forward it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CfRequest {
    /// Viewer address (read-only).
    #[serde(default)]
    pub client_ip: String,
    /// Request headers.
    #[serde(default)]
    pub headers: Headers,
    /// HTTP method (read-only).
    pub method: String,
    /// Query string without `?`, as the viewer sent it; absent in some test events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub querystring: Option<String>,
    /// Path, percent-encoded as the viewer sent it.
    pub uri: String,
    /// `body`, `origin` and anything else: returned untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A response generated at the edge instead of forwarding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CfResponse {
    /// Status code as a string (`"403"`), as CloudFront expects.
    pub status: String,
    /// Reason phrase.
    pub status_description: String,
    /// Response headers.
    pub headers: Headers,
    /// One-line body.
    pub body: String,
}

/// `cf.config.eventType` of the origin-response trigger; every other value is handled as a
/// viewer request (the gate), so that no event can skip the gate by its shape.
pub const ORIGIN_RESPONSE: &str = "origin-response";

/// `cf.response` of an origin-response event: the origin's answer, which the function
/// returns with its `cache-control` set (SPEC §9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CfOriginResponse {
    /// Status code as a string (`"200"`), as CloudFront sends it.
    pub status: String,
    /// Reason phrase; absent in some hand-made test events, and then not added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_description: Option<String>,
    /// Response headers (absent only in hand-made events, and then kept absent unless a
    /// `cache-control` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Headers>,
    /// Anything else CloudFront adds: returned untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What the handler returns: the (modified) request to forward, a generated response, or
/// the origin's response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HandlerResult {
    /// A generated response (tried first: only it has both `status` and `body`).
    Respond(CfResponse),
    /// The origin's response, `cache-control` set (origin-response events).
    OriginResponse(CfOriginResponse),
    /// Forward this request to the origin.
    Forward(CfRequest),
    /// The origin's response exactly as the event held it, when the event could not be
    /// read: an origin-response fault never turns a file that exists into an error. Last,
    /// because any JSON value reads as one.
    Unchanged(Value),
}

impl CfRequest {
    /// Values of every `cookie` header entry. Header names are matched case-insensitively
    /// because hand-made test events do not always lower-case them.
    pub fn cookie_values(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, entries)| entries.iter().map(|h| h.value.as_str()))
            .collect()
    }
}
