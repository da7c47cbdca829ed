//! The origin-response trigger (SPEC §5 last paragraph, §9): the origin's answer leaves
//! with the `cache-control` of the object's cache class, so that CloudFront caches packages
//! and never metadata, whatever `Cache-Control` the object was stored with.
//!
//! Faults never become errors here: the file exists and the origin answered it, so a fault
//! (an unreadable status, no configuration) passes the origin's response on unchanged,
//! with a log line. That costs at worst a cache lifetime the origin chose; a 5xx would
//! break every client fetching that file.

use alloc::string::String;
use alloc::vec;

use edgegate_core::Reason;
use edgegate_core::cache::cache_control_for_response;
use edgegate_core::path::canonicalize;

use crate::decide::{RequestView, log_line};
use crate::event::{CfOriginResponse, Header};
use crate::event_handling::{GateState, log_path_without_config};

/// What to do with one origin answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheHeader<'g> {
    /// Set `cache-control` to this value, replacing whatever the origin sent.
    Set(&'g str),
    /// Pass the response on unchanged and write this log line.
    Keep(String),
}

/// An HTTP status as CloudFront writes it in `response.status`: exactly three digits,
/// 100–999. Anything else is unreadable (`None`).
pub fn parse_status(text: &str) -> Option<u16> {
    let bytes = text.as_bytes();
    if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_digit) || bytes[0] == b'0' {
        return None;
    }
    text.parse().ok()
}

/// The `cache-control` for the origin's answer `status` (`None`: unreadable) to the
/// forwarded request `view.uri`. Only `view`'s identity fields go into a log line.
///
/// The forwarded `uri` is the canonical path re-encoded (SPEC §3 step 4), so decoding it
/// gives the path the class is defined over. A `uri` that does not decode gets the
/// metadata value: what cannot be classified is never cached.
pub fn origin_cache_control<'g>(gate: GateState<'g>, view: &RequestView<'_>, status: Option<u16>) -> CacheHeader<'g> {
    // The event's own fault first, whatever the configuration: `index.mjs` refuses such a
    // status before it reaches the module, and the runtimes must log the same reason.
    let Some(status) = status else {
        return CacheHeader::Keep(log_line(Reason::Internal, view, &log_path_without_config(view.uri), None));
    };
    let GateState::Ready(gate) = gate else {
        return CacheHeader::Keep(log_line(Reason::Misconfigured, view, &log_path_without_config(view.uri), None));
    };
    let cache = gate.cache();
    match canonicalize(view.uri) {
        Ok(path) => CacheHeader::Set(cache_control_for_response(&path, status, cache)),
        Err(_) => CacheHeader::Set(&cache.metadata),
    }
}

/// Replaces every `cache-control` entry (header names matched case-insensitively, as
/// hand-made events do not always lower-case them) with one; other headers stay as sent.
pub fn set_cache_control(response: &mut CfOriginResponse, value: &str) {
    let headers = response.headers.get_or_insert_with(Default::default);
    headers.retain(|name, _| !name.eq_ignore_ascii_case("cache-control"));
    headers.insert("cache-control".into(), vec![Header::new("Cache-Control", value)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_three_digits() {
        for (text, want) in [
            ("200", Some(200)),
            ("206", Some(206)),
            ("304", Some(304)),
            ("404", Some(404)),
            ("999", Some(999)),
            ("099", None),
            ("20", None),
            ("2000", None),
            (" 200", None),
            ("+20", None),
            ("", None),
            ("abc", None),
            ("２００", None),
        ] {
            assert_eq!(parse_status(text), want, "{text:?}");
        }
    }
}
