//! Canonical paths (SPEC §3) and the forwarded `uri` encoding (SPEC §3 step 4).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::config::EncodedSlash;
use crate::scan::{BLOCK, Byte, Class, below, block_bits, copy_short, eq, find};

/// Longest raw `uri` the gate accepts (SPEC §3 step 1).
pub const MAX_PATH_BYTES: usize = 8192;

/// Why a path was refused (all map to `bad-path`, SPEC §5). The variant says which rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathError {
    /// Does not start with `/`.
    NotAbsolute,
    /// Longer than [`MAX_PATH_BYTES`].
    TooLong,
    /// `%` not followed by two hex digits.
    BadEscape,
    /// `%2F` under `encoded_slash = "reject"`, for origins that tell it apart from `/`.
    EncodedSlash,
    /// NUL or another control character.
    ControlCharacter,
    /// Decoded bytes are not UTF-8.
    NotUtf8,
    /// A `..` segment.
    DotDot,
    /// The bucket root `/`: S3 answers it with a listing of the bucket, not an object.
    Root,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::NotAbsolute => "path does not start with '/'",
            PathError::TooLong => "path longer than 8192 bytes",
            PathError::BadEscape => "'%' not followed by two hex digits",
            PathError::EncodedSlash => "encoded '/' (%2F) in path",
            PathError::ControlCharacter => "control character in path",
            PathError::NotUtf8 => "path is not valid UTF-8 after percent-decoding",
            PathError::DotDot => "'..' segment in path",
            PathError::Root => "the bucket root names no object",
        })
    }
}

impl core::error::Error for PathError {}

/// Percent-decodes `%XX` (either case); everything else, `+` included, stays as it is.
/// Returns `None` for a `%` not followed by two hex digits.
pub fn percent_decode(input: &str) -> Option<Vec<u8>> {
    decode(input, EncodedSlash::Decode).ok()
}

/// The one percent-decoder: tokens, paths and `serve`'s file names all decode alike.
///
/// A viewer may send 8 KB of escapes or 8 KB without one; both must be cheap. An escape
/// at the cursor is decoded at once (runs of escapes stay in that branch). Otherwise
/// words are copied whole to the output (which is never longer than the input, so the
/// copy always fits) and the cursor advances past the bytes before the first `%`; after
/// eight words without one, a block search ([`find`]) finds the rest of the run, copied
/// in one piece.
fn decode(input: &str, encoded_slash: EncodedSlash) -> Result<Vec<u8>, PathError> {
    let bytes = input.as_bytes();
    let mut out = alloc::vec![0u8; bytes.len()];
    // Invariant: o <= i (an escape is three bytes in, one out).
    let (mut i, mut o) = (0, 0);
    while i < bytes.len() {
        if bytes[i] == b'%' {
            // A run of escapes stays in this loop.
            loop {
                let Some(&[_, hi, lo]) = bytes.get(i..i + 3) else {
                    return Err(PathError::BadEscape);
                };
                let Some(b) = crate::hex::pair(hi, lo) else {
                    return Err(PathError::BadEscape);
                };
                if b == b'/' && encoded_slash == EncodedSlash::Reject {
                    return Err(PathError::EncodedSlash);
                }
                out[o] = b;
                i += 3;
                o += 1;
                if bytes.get(i) != Some(&b'%') {
                    break;
                }
            }
            continue;
        }
        if i + 8 > bytes.len() {
            out[o] = bytes[i];
            i += 1;
            o += 1;
            continue;
        }
        // Whole words until one holds a `%`: between escapes (`/.%2E%41%42...`) a run is
        // short. The step is a constant 8 behind a branch the CPU predicts, so the next
        // load never waits for this word's test (a step computed from the word cost three
        // times as much). A run longer than a block goes to the block search.
        let mut words = 0;
        while let Some(chunk) = bytes.get(i..i + 8) {
            out[o..o + 8].copy_from_slice(chunk);
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let percent = eq(u64::from_le_bytes(word), b'%');
            if percent != 0 {
                // Up to the `%`; what was copied past it is overwritten later.
                let run = (percent.trailing_zeros() / 8) as usize;
                i += run;
                o += run;
                break;
            }
            i += 8;
            o += 8;
            words += 1;
            if words == 8 {
                let run = find(&bytes[i..], Byte(b'%'));
                out[o..o + run].copy_from_slice(&bytes[i..i + run]);
                i += run;
                o += run;
                break;
            }
        }
    }
    out.truncate(o);
    Ok(out)
}

/// Control characters (`char::is_control`: C0, DEL and C1) as bytes of UTF-8: C0 and DEL
/// are single bytes; C1 (U+0080..U+009F) starts with 0xC2, which [`has_control`] then
/// looks past.
#[derive(Clone, Copy, Debug)]
struct ControlLead;

impl Class for ControlLead {
    #[inline(always)]
    fn byte(self, b: u8) -> bool {
        b < 0x20 || b == 0x7F || b == 0xC2
    }
    #[inline(always)]
    fn word(self, word: u64) -> u64 {
        below(word, 0x20) | eq(word, 0x7F) | eq(word, 0xC2)
    }
}

/// True when `bytes` hold a control character (`char::is_control`: C0, DEL and C1),
/// scanning blocks and words rather than decoding characters.
fn has_control(bytes: &[u8]) -> bool {
    let mut i = 0;
    loop {
        i += find(&bytes[i..], ControlLead);
        match bytes.get(i) {
            None => return false,
            Some(0xC2) if !bytes.get(i + 1).is_some_and(|b| (0x80..=0x9F).contains(b)) => i += 1,
            Some(_) => return true,
        }
    }
}

/// The canonical path of a raw, percent-encoded `uri` (SPEC §3 steps 1–3), with `%2F`
/// decoded to `/` (the default `encoded_slash = "decode"`).
///
/// ```
/// use edgegate_core::path::canonicalize;
/// assert_eq!(canonicalize("/pool/libstdc%2B%2B6_1.0%7Erc1.deb").unwrap(), "/pool/libstdc++6_1.0~rc1.deb");
/// assert_eq!(canonicalize("/a/./b//c").unwrap(), "/a/b//c");
/// assert_eq!(canonicalize("/@scope%2fname").unwrap(), "/@scope/name");
/// assert!(canonicalize("/a/%2e%2e/b").is_err());
/// assert!(canonicalize("/a/..%2Fb").is_err());
/// assert!(canonicalize("/").is_err());
/// ```
pub fn canonicalize(raw: &str) -> Result<String, PathError> {
    canonicalize_with(raw, EncodedSlash::Decode)
}

/// [`canonicalize`] with the configured meaning of `%2F` (SPEC §3 step 1).
///
/// ```
/// use edgegate_core::EncodedSlash;
/// use edgegate_core::path::{PathError, canonicalize_with};
/// assert_eq!(canonicalize_with("/@s%2Fn", EncodedSlash::Reject), Err(PathError::EncodedSlash));
/// assert_eq!(canonicalize_with("/@s%2Fn", EncodedSlash::Decode).as_deref(), Ok("/@s/n"));
/// ```
pub fn canonicalize_with(raw: &str, encoded_slash: EncodedSlash) -> Result<String, PathError> {
    if raw.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong);
    }
    if !raw.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    // Decoded before the split, so `..%2F` is a `..` segment like `../`.
    let decoded = decode(raw, encoded_slash)?;
    // A path that breaks several rules is refused for the first of: UTF-8, control
    // characters, `..`. The UTF-8 check is made once, at the end, on what is kept: a cut
    // takes only ASCII bytes that follow a `/`, so no sequence of non-ASCII bytes changes,
    // and what is kept is UTF-8 exactly when the decoded path is.
    let not_utf8 = |bytes: &[u8]| core::str::from_utf8(bytes).is_err();
    if has_control(&decoded) {
        return Err(if not_utf8(&decoded) { PathError::NotUtf8 } else { PathError::ControlCharacter });
    }
    let kept = match remove_dot_segments(&decoded) {
        Ok(kept) => kept,
        Err(error) => return Err(if not_utf8(&decoded) { PathError::NotUtf8 } else { error }),
    };
    let out = String::from_utf8(kept.unwrap_or(decoded)).map_err(|_| PathError::NotUtf8)?;
    // "/" is the root ("/", "/.", "/./.").
    if out == "/" {
        return Err(PathError::Root);
    }
    Ok(out)
}

/// SPEC §3 step 3 on a decoded path that starts with `/`: `.` segments go (a trailing one
/// leaves its `/`: "/a/." is "/a/", RFC 3986 5.2.4), a `..` segment is an error. `None`
/// when there is nothing to cut.
///
/// A viewer may send thousands of segments, all of them `.` (`/./././…`) or all starting
/// with one (`/..a/..a/…`). Segments are not visited one by one: 64 positions at a time,
/// every test a position needs (`/` before, `.` at, then `/`, or `./`) is made at once,
/// in code the compiler vectorises, and most blocks end at the first test. Only a `.`
/// segment costs a step of its own: the bytes kept before it move in one 16-byte copy
/// (more only when more than 16 are kept), in a loop over the block's segments that holds
/// its cursors in registers. Most paths come back as they are.
fn remove_dot_segments(bytes: &[u8]) -> Result<Option<Vec<u8>>, PathError> {
    let len = bytes.len();
    // The cursors below are masked to this size, so that the compiler sees every copy fit
    // and checks none: true of every path the gate reads (its raw form is this long at
    // most, and decoding only shortens it).
    if len > MAX_PATH_BYTES {
        return Err(PathError::TooLong);
    }
    // None until a block cuts.
    let mut out: Option<Box<[u8; OUT]>> = None;
    // `bytes[..read]` is dealt with, and `removed` of its bytes are cut: what is kept of
    // it is `out[..read - removed]`. Counting what is cut (two bytes a cut) rather than
    // where the next write goes keeps the cuts' chain of dependent steps to one add: a
    // write position summed from each cut's kept length was three, and the loop's limit.
    let (mut read, mut removed) = (0, 0);
    // Position 0 is the leading `/`. A block at `p` reads bytes `p - 1 .. p + BLOCK + 2`;
    // a cut in it keeping at most 16 bytes copies them from `near`, which spans 16 bytes
    // before the block to more than 16 after it. Whole blocks while both fit.
    let mut p: usize = 1;
    while let Some(near) = bytes.get(p.saturating_sub(16)..).and_then(|near| near.first_chunk::<NEAR>()) {
        let base = p.saturating_sub(16);
        let window = &bytes[p - 1..p + BLOCK + 2];
        let lane = |k: usize| <&[u8; BLOCK]>::try_from(&window[k..k + BLOCK]).unwrap_or(&[0; BLOCK]);
        let (slash, dot, next, after) = (lane(0), lane(1), lane(2), lane(3));
        let mut starts = [false; BLOCK];
        for i in 0..BLOCK {
            starts[i] = (slash[i] == b'/') & (dot[i] == b'.');
        }
        if starts.iter().fold(false, |any, &s| any | s) {
            let (mut single, mut double) = ([false; BLOCK], false);
            for i in 0..BLOCK {
                single[i] = starts[i] & (next[i] == b'/');
                double |= starts[i] & (next[i] == b'.') & (after[i] == b'/');
            }
            if double {
                return Err(PathError::DotDot);
            }
            let mut bits = block_bits(&single);
            if bits == 0 {
                p += BLOCK;
                continue;
            }
            let to = out.get_or_insert_with(zeroed);
            // One step per `.` segment: its `/` is within the block, so `dot + 2 <= len`.
            while bits != 0 {
                let dot = p + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let (keep, write) = (dot - read, read - removed);
                if keep == 0 {
                    // `/./././`: nothing kept between two cuts (measured: skipping the
                    // copy is faster even when this branch is mispredicted half the time).
                } else if keep <= 16 {
                    // Sixteen bytes are two moves; a copy of `keep` bytes is a call.
                    // `read` is at least `dot - 16`, so at least `base`, and below
                    // `base + 80`; `write` is below `read`. Masks that change nothing.
                    let from = (read - base) & (NEAR - 17);
                    let at = write & (MAX_PATH_BYTES - 1);
                    to[at..at + 16].copy_from_slice(&near[from..from + 16]);
                } else {
                    copy_long(&mut to[write..], &bytes[read..dot]);
                }
                read = dot + 2;
                removed += 2;
            }
        }
        p += BLOCK;
    }
    // What the blocks kept, with room for the rest (the buffer's capacity is the path's).
    let mut kept = out.map(|out| {
        let mut kept = (out as Box<[u8]>).into_vec();
        kept.truncate(read - removed);
        kept
    });
    // The last positions, too near the end for `near` (fewer than 128; the segments that
    // end the path among them), one by one.
    for dot in p..len {
        if bytes[dot] != b'.' || bytes[dot - 1] != b'/' {
            continue;
        }
        let end = |i: usize| bytes.get(i).is_none_or(|&b| b == b'/');
        if end(dot + 1) {
            // A path whose first cut is here is short (or its blocks held none): a buffer
            // of its own length, not the blocks' 8 KB. Every path with a `.` segment that
            // fits no block paid for zeroing 8 KB (125 -> 255 ns on a 70-byte path).
            kept.get_or_insert_with(|| Vec::with_capacity(len)).extend_from_slice(&bytes[read..dot]);
            // A `.` ending the path keeps its `/` (there is none after it to drop).
            read = (dot + 2).min(len);
        } else if bytes[dot + 1] == b'.' && end(dot + 2) {
            return Err(PathError::DotDot);
        }
    }
    let Some(mut kept) = kept else {
        return Ok(None);
    };
    kept.extend_from_slice(&bytes[read..]);
    Ok(Some(kept))
}

/// The bytes a block's short copies read from: 16 before the block, the block, and more
/// than 16 after it, a power of two and 16 in all (so that an offset masked to the power
/// of two is a whole 16-byte copy).
const NEAR: usize = 128 + 16;

/// The kept path's buffer: every write position is below [`MAX_PATH_BYTES`], and a
/// 16-byte copy fits at any.
const OUT: usize = MAX_PATH_BYTES + 16;

/// A cut's copy of more than 16 kept bytes, out of the loop: inside, the compiler kept
/// its lengths in registers of their own, and the count of cut bytes went to the stack.
#[cold]
#[inline(never)]
fn copy_long(to: &mut [u8], from: &[u8]) {
    copy_short(to, from);
}

/// A zeroed buffer for the kept path, allocated as one (no copy through the stack).
fn zeroed() -> Box<[u8; OUT]> {
    // The conversion cannot fail: the lengths are the same.
    Box::<[u8]>::try_into(alloc::vec![0u8; OUT].into_boxed_slice()).unwrap_or_else(|_| Box::new([0; OUT]))
}

/// True for bytes that S3 origins receive unescaped (SPEC §3 step 4).
fn is_forward_safe(b: u8, s3_plus_fix: bool) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'_' | b'~' | b'/' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*'
                | b',' | b';' | b'=' | b':' | b'@'
        )
        // S3 reads a bare '+' in a key as a space, so only without the fix may it pass.
        || (b == b'+' && !s3_plus_fix)
}

/// Percent-encodes (upper-case hex) every byte for which `keep` is false.
pub fn percent_encode(text: &str, keep: impl Fn(u8) -> bool) -> String {
    use crate::hex::UPPER as HEX;
    let mut out = String::with_capacity(text.len() + 8);
    for &b in text.as_bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
    out
}

/// The forwarded `uri`: the canonical path re-encoded (SPEC §3 step 4).
///
/// ```
/// use edgegate_core::path::encode_forward;
/// assert_eq!(encode_forward("/pool/a+b c.deb", true), "/pool/a%2Bb%20c.deb");
/// assert_eq!(encode_forward("/pool/a+b", false), "/pool/a+b");
/// ```
pub fn encode_forward(canonical: &str, s3_plus_fix: bool) -> String {
    percent_encode(canonical, |b| is_forward_safe(b, s3_plus_fix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec::Vec;

    /// [`remove_dot_segments`] as text: the path as it was when nothing is cut.
    fn removed(path: &str) -> Result<String, PathError> {
        let kept = remove_dot_segments(path.as_bytes())?;
        Ok(kept.map_or_else(|| String::from(path), |kept| String::from_utf8(kept).expect("cuts keep UTF-8")))
    }

    /// A path breaking several rules is refused for the first of UTF-8, control
    /// characters and `..`, as when each was checked in its own pass; and a cut next to
    /// bytes that are not UTF-8 leaves them not UTF-8.
    #[test]
    fn first_broken_rule_is_the_error() {
        let cases = [
            ("/%FF/../%00", PathError::NotUtf8),
            ("/a/../%00", PathError::ControlCharacter),
            ("/%C2%85/..", PathError::ControlCharacter),
            ("/%C3/../a", PathError::NotUtf8),
            ("/%C3/./%A9", PathError::NotUtf8),
            ("/%C3%A9/./%A9", PathError::NotUtf8),
            ("/a/%C3/.", PathError::NotUtf8),
            ("/a/..", PathError::DotDot),
        ];
        for (raw, error) in cases {
            assert_eq!(canonicalize(raw), Err(error), "{raw}");
            // The same past the block loop's reach: the cut in a block, the error after it.
            let long = format!("/{}{}", "x/./".repeat(40), &raw[1..]);
            assert_eq!(canonicalize(&long), Err(error), "{long}");
        }
        assert_eq!(canonicalize("/%C3%A9/./%C3%A9").as_deref(), Ok("/\u{e9}/\u{e9}"));
    }

    /// Step 3 as first written, segment by segment: the reference for the one-pass form.
    fn reference(decoded: &str) -> Result<String, PathError> {
        let mut out = String::new();
        let mut segments = decoded.split('/').skip(1).peekable();
        while let Some(segment) = segments.next() {
            match segment {
                ".." => return Err(PathError::DotDot),
                "." if segments.peek().is_none() => out.push('/'),
                "." => {}
                _ => {
                    out.push('/');
                    out.push_str(segment);
                }
            }
        }
        Ok(out)
    }

    /// Every path of up to seven pieces from `/`, `.`, `a`, `..`, `.a`, `é`.
    #[test]
    fn dot_segments_agree_with_the_segment_by_segment_rule() {
        let pieces = ["/", ".", "a", "..", ".a", "é"];
        let mut paths: Vec<String> = alloc::vec![String::from("/")];
        for _ in 0..7 {
            paths = paths.iter().flat_map(|p| pieces.iter().map(move |q| format!("{p}{q}"))).collect();
            for path in &paths {
                assert_eq!(removed(path), reference(path), "{path:?}");
                // Past the first block, and many times over (dense hits, long copies).
                let long = format!("/{}{path}", "x".repeat(70));
                assert_eq!(removed(&long), reference(&long), "{long:?}");
                let repeated = path.repeat(12);
                assert_eq!(removed(&repeated), reference(&repeated), "{repeated:?}");
            }
        }
    }

    #[test]
    fn control_lead_class_is_one_set() {
        crate::scan::check_class(ControlLead);
    }

    /// Decoding agrees with a byte-by-byte decoder around every word and block boundary,
    /// escapes among plain runs of every length and in runs of their own; with `%2F`
    /// refused, the first bad escape or `%2F` is the error.
    #[test]
    fn decoding_agrees_with_a_byte_loop() {
        fn reference(input: &str, reject: bool) -> Result<Vec<u8>, PathError> {
            let b = input.as_bytes();
            let (mut out, mut i) = (Vec::new(), 0);
            while i < b.len() {
                if b[i] == b'%' {
                    let hex = b.get(i + 1..i + 3).and_then(|hex| core::str::from_utf8(hex).ok());
                    let hex = hex.filter(|hex| hex.bytes().all(|c| c.is_ascii_hexdigit()));
                    let byte = hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()).ok_or(PathError::BadEscape)?;
                    if reject && byte == b'/' {
                        return Err(PathError::EncodedSlash);
                    }
                    out.push(byte);
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            Ok(out)
        }
        let escapes = ["%41", "%2f", "%zz", "%4", "%", "%41%2F%4g", "%4g%2F", "%2F%41%", "%e9%41%42%43"];
        for run in (0..80).chain(120..200) {
            for tail in 0..12 {
                for first in escapes {
                    for last in escapes {
                        let text = format!("{}{first}{}{last}", "a".repeat(run), "b".repeat(tail));
                        assert_eq!(percent_decode(&text), reference(&text, false).ok(), "{text:?}");
                        assert_eq!(decode(&text, EncodedSlash::Reject), reference(&text, true), "{text:?}");
                    }
                }
            }
        }
    }

    /// Runs of every length between `.` segments: each copy size, short and long.
    #[test]
    fn dot_segments_between_runs_of_every_length() {
        for k in 0..48 {
            for tail in ["", "/", "/.", "/z"] {
                let path = format!("{}{tail}", format!("/{}/.", "y".repeat(k)).repeat(5));
                assert_eq!(removed(&path), reference(&path), "{path:?}");
            }
        }
    }

    /// Blocks dense with `.` segments (copied byte by byte) among sparse ones (cut one by
    /// one), at every alignment to the blocks: a `.` segment ending a block, its `/` the
    /// next block's first byte, included.
    #[test]
    fn dense_dot_segments_at_every_alignment() {
        let pieces = ["/.", "/.", "/.", "/a", "/", "/.a", "/é", "/bb"];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for round in 0..4000 {
            let mut path = "/x".repeat(round % 40);
            let len = [70, 140, 300, 600][round % 4];
            while path.len() < len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                path.push_str(pieces[(seed >> 20) as usize % pieces.len()]);
            }
            assert_eq!(removed(&path), reference(&path), "{path:?}");
        }
    }

    /// The word-wise control check answers as `char::is_control` for every character, at
    /// every position within a word, and for a lone 0xC2 lead byte's neighbours.
    #[test]
    fn control_check_agrees_with_char_is_control() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            for prefix in ["", "abc", "abcdefg", "/é/"] {
                let text = format!("{prefix}{c}z");
                assert_eq!(has_control(text.as_bytes()), c.is_control(), "{c:?} after {prefix:?}");
            }
        }
    }
}
