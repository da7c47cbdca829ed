//! The one redaction rule for every log line of every runtime (SPEC §5).
//!
//! A token can reach a logged path in many shapes: a path token the gate did not take (a
//! second one, one after `//` or `/./`, one when `path_tokens` is off), or a singly-encoded
//! token whose own `/` splits it over several segments, so that its `hmac` lands in a later
//! segment. The rule therefore looks at every `/`-segment, not only the first, and does not
//! care whether the gate used what it finds.

use alloc::borrow::Cow;
use alloc::string::String;

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
    let mut out: Option<String> = None;
    // `text[..copied]` is already in `out`; segments without a token are copied lazily.
    let mut copied = 0;
    let mut segment_start = 0;
    for segment in text.split('/') {
        if let Some(cut) = redaction_start(segment, token_name) {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied..segment_start + cut]);
            out.push_str(REDACTED);
            copied = segment_start + segment.len();
        }
        segment_start += segment.len() + 1;
    }
    match out {
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(text),
    }
}

/// Where the redacted part of one segment starts, if anywhere: just after `NAME=`, or
/// at the `h` of `hmac=`.
fn redaction_start(segment: &str, token_name: Option<&str>) -> Option<usize> {
    let bytes = segment.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let Some(len) = separator_len(&bytes[i..]) else {
            i += 1;
            continue;
        };
        let before = &bytes[..i];
        let named = |name: &[u8]| before.len() >= name.len() && before[i - name.len()..].eq_ignore_ascii_case(name);
        if named(b"hmac") {
            // ASCII matched, so `i - 4` is a character boundary.
            return Some(i - 4);
        }
        if token_name.is_none_or(|name| named(name.as_bytes())) {
            return Some(i + len);
        }
        i += len;
    }
    None
}

/// The length of an `=` spelling at the start of `bytes`: `=`, `%3D`, `%253D`, ...
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
