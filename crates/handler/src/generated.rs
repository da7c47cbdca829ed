//! Responses the gate generates instead of forwarding (SPEC §5), as typed values.
//!
//! The decision owns *what* is answered; each runtime owns *how* it goes on the wire:
//! CloudFront's JSON ([`Generated::to_cloudfront`], which [`response`] returns and the
//! WASM module serializes), an `http::Response` in `edgegate serve`. Nobody parses a status
//! back out of another runtime's text.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use edgegate_core::Reason;

use crate::event::{CfResponse, Header, Headers};

/// A generated answer: status, reason phrase, headers (display-case names, in this order)
/// and the one-line body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The SPEC §5 reason it answers.
    pub reason: Reason,
    /// HTTP status (400, 403, 405, 500).
    pub status: u16,
    /// Reason phrase for `status`.
    pub status_text: &'static str,
    /// `(display-case name, value)`: names are distinct, so order carries no meaning on the
    /// wire; it is fixed so that two renderings compare equal.
    pub headers: Vec<(&'static str, String)>,
    /// One line of text, e.g. `403 Forbidden: token expired`.
    pub body: String,
}

impl Generated {
    /// The SPEC §5 response for `reason`: `no-store`, plain text, `x-edgegate-reason`, and
    /// `allow` on a 405. `allowed_methods` is `None` when no valid configuration exists
    /// (then no `allow` header can be honest).
    pub fn for_reason(reason: Reason, allowed_methods: Option<&[String]>) -> Generated {
        let mut headers = vec![
            ("Cache-Control", String::from("no-store")),
            ("Content-Type", String::from("text/plain; charset=utf-8")),
            ("X-Edgegate-Reason", String::from(reason.code())),
        ];
        if reason == Reason::Method
            && let Some(methods) = allowed_methods
        {
            headers.push(("Allow", methods.join(", ")));
        }
        Generated {
            reason,
            status: reason.status(),
            status_text: reason.status_text(),
            headers,
            body: format!("{} {}: {}", reason.status(), reason.status_text(), reason.describe()),
        }
    }

    /// CloudFront's wire form: status as a string, headers keyed by lower-case name.
    pub fn to_cloudfront(&self) -> CfResponse {
        let mut headers = Headers::new();
        for (name, value) in &self.headers {
            headers.insert(name.to_ascii_lowercase(), vec![Header::new(name, value.clone())]);
        }
        CfResponse {
            status: format!("{}", self.status),
            status_description: self.status_text.into(),
            headers,
            body: self.body.clone(),
        }
    }
}

/// The CloudFront form of the response for `reason` (see [`Generated::for_reason`]).
pub fn response(reason: Reason, allowed_methods: Option<&[String]>) -> CfResponse {
    Generated::for_reason(reason, allowed_methods).to_cloudfront()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed value and its CloudFront rendering say the same thing, header for header.
    #[test]
    fn cloudfront_form_carries_every_typed_field() {
        let methods = [String::from("GET"), String::from("HEAD")];
        for reason in Reason::ALL {
            let generated = Generated::for_reason(reason, Some(&methods));
            let cf = generated.to_cloudfront();
            assert_eq!(cf.status, format!("{}", generated.status));
            assert_eq!(cf.status_description, generated.status_text);
            assert_eq!(cf.body, generated.body);
            assert_eq!(cf.headers.len(), generated.headers.len(), "{reason}");
            for (name, value) in &generated.headers {
                let entry = &cf.headers[&name.to_ascii_lowercase()];
                assert_eq!(entry, &vec![Header::new(name, value.clone())], "{reason}: {name}");
            }
            assert_eq!(generated.headers.iter().any(|(n, _)| *n == "Allow"), reason == Reason::Method);
        }
        let internal = Generated::for_reason(Reason::Internal, None);
        assert_eq!((internal.status, internal.status_text), (500, "Internal Server Error"));
        assert_eq!(internal.body, "500 Internal Server Error: internal error");
    }
}
