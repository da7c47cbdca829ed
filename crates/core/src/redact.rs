//! The one redaction rule for every log line of every runtime (SPEC §5).
//!
//! A token can reach a logged path in many shapes: a path token the gate did not take (a
//! second one, one after `//` or `/./`, one when `path_tokens` is off), or a singly-encoded
//! token whose own `/` splits it over several segments, so that its `hmac` lands in a later
//! segment. The rule therefore looks at every `/`-segment, not only the first, and does not
//! care whether the gate used what it finds.

use alloc::borrow::Cow;
use alloc::string::String;

use crate::scan::{Byte, Either, find};

/// What replaces a redacted value.
pub const REDACTED: &str = "<redacted>";

/// `text` with every possible token value replaced by [`REDACTED`]:
///
/// - in each `/`-segment, everything after `NAME=` (`NAME` = `token_name`), and `hmac=`
///   itself with everything after it, to the end of that segment (the word goes too, so
///   a log line holds no `hmac` at all and a leak check can look for the word);
/// - with `token_name = None` (a misconfigured bundle: the name is unknown), everything
///   after the first `=` of each segment.
///
/// Names are compared ignoring ASCII case. `=` counts in every spelling a client produces:
/// `=`, `%3D`, and `%253D`, `%25253D`, ... (apt's doubly-encoded `sources.list` form), hex
/// in either case. `%2F` is not a segment boundary, so an encoded value is redacted whole.
/// Borrowed when nothing was redacted.
///
/// ```
/// use edgegate_core::redact::redact;
/// assert_eq!(redact("/__token__%3Dexp%3D1~hmac%3Dab/x.deb", Some("__token__")), "/__token__%3D<redacted>/x.deb");
/// assert_eq!(redact("/a/*~hmac=ab/x.deb", Some("__token__")), "/a/*~<redacted>/x.deb");
/// assert_eq!(redact("/a=1/b", None), "/a=<redacted>/b");
/// assert_eq!(redact("/pool/a.deb", Some("__token__")), "/pool/a.deb");
/// ```
pub fn redact<'t>(text: &'t str, token_name: Option<&str>) -> Cow<'t, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    // `text[..copied]` is already in `out`; text without a token is copied lazily.
    let mut copied = 0;
    // One pass over the whole text, by blocks and words, stopping only at `=` and `%` (the
    // only bytes a separator starts with). Splitting into segments first cost a search
    // per segment, and a viewer may send thousands of them. Segment bounds need no
    // tracking: the names looked for before a separator (`hmac`, the token name: ASCII
    // letters, digits, `_-.`) hold no `/`, so one that matches lies within the segment.
    let mut i = 0;
    while i < bytes.len() {
        i += find(&bytes[i..], Either(b'=', b'%'));
        let Some(len) = separator_len(&bytes[i..]) else {
            i += 1;
            continue;
        };
        let Some(cut) = redaction_start(&bytes[..i], len, token_name) else {
            i += len;
            continue;
        };
        let segment_end = i + find(&bytes[i..], Byte(b'/'));
        let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
        // `cut` and `segment_end` sit at ASCII bytes (`hmac`, a separator, `/`, or the
        // end), so both are character boundaries.
        out.push_str(&text[copied..cut]);
        out.push_str(REDACTED);
        copied = segment_end;
        i = segment_end;
    }
    match out {
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(text),
    }
}

/// Where redaction starts, given the text `before` a separator of `len` bytes (the
/// whole segment up to it, or more): at `hmac` itself, or after the separator that
/// follows the token's name (any name when it is unknown). `None`: this separator
/// redacts nothing.
fn redaction_start(before: &[u8], len: usize, token_name: Option<&str>) -> Option<usize> {
    let i = before.len();
    let named = |name: &[u8]| i >= name.len() && before[i - name.len()..].eq_ignore_ascii_case(name);
    if named(b"hmac") {
        // ASCII matched, so `i - 4` is a character boundary.
        return Some(i - 4);
    }
    token_name.is_none_or(|name| named(name.as_bytes())).then_some(i + len)
}

fn separator_len(bytes: &[u8]) -> Option<usize> {
    match bytes.first()? {
        b'=' => Some(1),
        b'%' => {
            let mut j = 1;
            while bytes.get(j..j + 2).is_some_and(|hex| hex == b"25") {
                j += 2;
            }
            bytes.get(j..j + 2).filter(|hex| hex.eq_ignore_ascii_case(b"3D")).map(|_| j + 2)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec::Vec;

    /// The rule as first written, segment by segment: the reference the one-pass scan
    /// is held to.
    fn reference(text: &str, token_name: Option<&str>) -> String {
        let mut out = String::new();
        for (n, segment) in text.split('/').enumerate() {
            if n > 0 {
                out.push('/');
            }
            let bytes = segment.as_bytes();
            let mut cut = None;
            let mut i = 0;
            while i < bytes.len() {
                let Some(len) = separator_len(&bytes[i..]) else {
                    i += 1;
                    continue;
                };
                if let Some(at) = redaction_start(&bytes[..i], len, token_name) {
                    // Offsets within the segment.
                    cut = Some(at);
                    break;
                }
                i += len;
            }
            match cut {
                Some(at) => {
                    out.push_str(&segment[..at]);
                    out.push_str(REDACTED);
                }
                None => out.push_str(segment),
            }
        }
        out
    }

    /// Every text of up to five pieces from an alphabet of separators, names, slashes and
    /// filler, with and without a token name.
    #[test]
    fn one_pass_scan_agrees_with_the_segment_rule() {
        let pieces = ["/", "=", "%3D", "%253d", "%", "hmac", "HMAC", "__token__", "t", "a", "é", "~"];
        let mut texts: Vec<String> = alloc::vec![String::new()];
        for _ in 0..5 {
            texts = texts.iter().flat_map(|t| pieces.iter().map(move |p| format!("{t}{p}"))).collect();
            for text in &texts {
                for name in [Some("__token__"), Some("t"), None] {
                    assert_eq!(redact(text, name), reference(text, name), "{text:?} with {name:?}");
                }
            }
        }
    }
}
