//! Canonical paths (SPEC §3) and the forwarded `uri` encoding (SPEC §3 step 4).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::config::EncodedSlash;
use crate::scan::{BLOCK, Byte, Class, below, block_bits, eq, find};

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

/// True when `text` holds a control character (`char::is_control`: C0, DEL and C1),
/// scanning blocks and words rather than decoding characters.
fn has_control(text: &str) -> bool {
    let bytes = text.as_bytes();
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
    let decoded = String::from_utf8(decode(raw, encoded_slash)?).map_err(|_| PathError::NotUtf8)?;
    if has_control(&decoded) {
        return Err(PathError::ControlCharacter);
    }

    let out = remove_dot_segments(decoded)?;
    // "/" is the root ("/", "/.", "/./.").
    if out == "/" {
        return Err(PathError::Root);
    }
    Ok(out)
}

/// SPEC §3 step 3 on a decoded path that starts with `/`: `.` segments go (a trailing one
/// leaves its `/`: "/a/." is "/a/", RFC 3986 5.2.4), a `..` segment is an error.
///
/// A viewer may send thousands of segments, all of them `.` (`/./././…`) or all starting
/// with one (`/..a/..a/…`). Segments are not visited one by one: 64 positions at a time,
/// every test a position needs (`/` before, `.` at, then `/`, or `./`) is made at once,
/// in code the compiler vectorises, and most blocks end at the first test. Only a `.`
/// segment costs a step of its own, and it moves the bytes before it in a short fixed
/// copy rather than a call. Most paths come back as they are.
fn remove_dot_segments(path: String) -> Result<String, PathError> {
    let bytes = path.as_bytes();
    let len = bytes.len();
    let mut cuts = DotCuts { bytes, out: Vec::new(), read: 0, write: 0 };
    // Position 0 is the leading `/`. A block at `p` needs bytes `p - 1 .. p + BLOCK + 2`.
    let mut p = 1;
    while p + BLOCK + 2 <= len {
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
            // One step per `.` segment.
            let mut bits = block_bits(&single);
            while bits != 0 {
                cuts.cut(p + bits.trailing_zeros() as usize);
                bits &= bits - 1;
            }
        }
        p += BLOCK;
    }
    // The last positions (fewer than a block, and the ones whose segment ends the path).
    for dot in p..len {
        if bytes[dot] != b'.' || bytes[dot - 1] != b'/' {
            continue;
        }
        let end = |i: usize| bytes.get(i).is_none_or(|&b| b == b'/');
        if end(dot + 1) {
            cuts.cut(dot);
        } else if bytes[dot + 1] == b'.' && end(dot + 2) {
            return Err(PathError::DotDot);
        }
    }
    if cuts.out.is_empty() {
        return Ok(path);
    }
    let DotCuts { mut out, read, write, .. } = cuts;
    let rest = len - read;
    out[write..write + rest].copy_from_slice(&bytes[read..]);
    out.truncate(write + rest);
    // Cuts are at ASCII `.` and `/`: what is left is UTF-8 still.
    String::from_utf8(out).map_err(|_| PathError::NotUtf8)
}

/// The path without its `.` segments, built as they are found.
struct DotCuts<'p> {
    bytes: &'p [u8],
    /// Empty until the first cut; then the path's length plus 16 bytes of room, so that a
    /// 16-byte copy fits at any write position.
    out: Vec<u8>,
    /// `bytes[..read]` is dealt with; `out[..write]` is what is kept of it.
    read: usize,
    write: usize,
}

impl DotCuts<'_> {
    /// Drops the `.` segment whose `.` is at `dot`: the `.` and the `/` after it (only the
    /// `.` at the end of the path, so that its `/` stays).
    #[inline(always)]
    fn cut(&mut self, dot: usize) {
        let bytes = self.bytes;
        if self.out.is_empty() {
            self.out = alloc::vec![0u8; bytes.len() + 16];
        }
        let keep = dot - self.read;
        // `/./././`: nothing between two cuts.
        if keep == 0 {
            self.read = (dot + 2).min(bytes.len());
            return;
        }
        match bytes.get(self.read..self.read + 16).and_then(|chunk| <[u8; 16]>::try_from(chunk).ok()) {
            // A copy of a known size is two moves; one of `keep` bytes is a call.
            Some(chunk) if keep <= 16 => self.out[self.write..self.write + 16].copy_from_slice(&chunk),
            _ => self.out[self.write..self.write + keep].copy_from_slice(&bytes[self.read..dot]),
        }
        self.write += keep;
        self.read = (dot + 2).min(bytes.len());
    }
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
                assert_eq!(remove_dot_segments(path.clone()), reference(path), "{path:?}");
                // Past the first block, and many times over (dense hits, long copies).
                let long = format!("/{}{path}", "x".repeat(70));
                assert_eq!(remove_dot_segments(long.clone()), reference(&long), "{long:?}");
                let repeated = path.repeat(12);
                assert_eq!(remove_dot_segments(repeated.clone()), reference(&repeated), "{repeated:?}");
            }
        }
    }

    #[test]
    fn control_lead_class_is_one_set() {
        crate::scan::check_class(ControlLead);
    }

    /// Decoding agrees with a byte-by-byte decoder around every word and block boundary,
    /// escapes among plain runs of every length.
    #[test]
    fn decoding_agrees_with_a_byte_loop() {
        fn reference(input: &str) -> Option<Vec<u8>> {
            let b = input.as_bytes();
            let (mut out, mut i) = (Vec::new(), 0);
            while i < b.len() {
                if b[i] == b'%' {
                    let hex = core::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                    out.push(u8::from_str_radix(hex, 16).ok().filter(|_| hex.bytes().all(|c| c.is_ascii_hexdigit()))?);
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            Some(out)
        }
        for run in (0..80).chain(120..200) {
            for tail in 0..12 {
                for escape in ["%41", "%2f", "%zz", "%4", "%"] {
                    let text = format!("{}{escape}{}{escape}", "a".repeat(run), "b".repeat(tail));
                    assert_eq!(percent_decode(&text), reference(&text), "{text:?}");
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
                assert_eq!(remove_dot_segments(path.clone()), reference(&path), "{path:?}");
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
            assert_eq!(remove_dot_segments(path.clone()), reference(&path), "{path:?}");
        }
    }

    /// The word-wise control check answers as `char::is_control` for every character, at
    /// every position within a word, and for a lone 0xC2 lead byte's neighbours.
    #[test]
    fn control_check_agrees_with_char_is_control() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            for prefix in ["", "abc", "abcdefg", "/é/"] {
                let text = format!("{prefix}{c}z");
                assert_eq!(has_control(&text), c.is_control(), "{c:?} after {prefix:?}");
            }
        }
    }
}
