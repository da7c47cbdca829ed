//! Canonical paths (SPEC §3) and the forwarded `uri` encoding (SPEC §3 step 4).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

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
    /// `%2F`: an encoded slash would let a client address a key the ACL did not see.
    EncodedSlash,
    /// NUL or another control character.
    ControlCharacter,
    /// Decoded bytes are not UTF-8.
    NotUtf8,
    /// A `..` segment.
    DotDot,
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
        })
    }
}

impl core::error::Error for PathError {}

/// Hex digit values, 0xFF for "not a hex digit": one load instead of three range tests,
/// since every token carries 64 hex digits.
pub(crate) static HEX_VALUES: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

pub(crate) fn hex_value(b: u8) -> Option<u8> {
    let value = HEX_VALUES[usize::from(b)];
    (value != 0xFF).then_some(value)
}

/// Percent-decodes `%XX` (either case); everything else, `+` included, stays as it is.
/// Returns `None` for a `%` not followed by two hex digits.
pub fn percent_decode(input: &str) -> Option<Vec<u8>> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex_value)?;
            let lo = bytes.get(i + 2).copied().and_then(hex_value)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The canonical path of a raw, percent-encoded `uri` (SPEC §3 steps 1–3).
///
/// ```
/// use edgegate_core::path::canonicalize;
/// assert_eq!(canonicalize("/pool/libstdc%2B%2B6_1.0%7Erc1.deb").unwrap(), "/pool/libstdc++6_1.0~rc1.deb");
/// assert_eq!(canonicalize("/a/./b//c").unwrap(), "/a/b//c");
/// assert!(canonicalize("/a/%2e%2e/b").is_err());
/// ```
pub fn canonicalize(raw: &str) -> Result<String, PathError> {
    if raw.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong);
    }
    if !raw.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex_value);
            let lo = bytes.get(i + 2).copied().and_then(hex_value);
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(PathError::BadEscape);
            };
            let b = hi << 4 | lo;
            if b == b'/' {
                return Err(PathError::EncodedSlash);
            }
            decoded.push(b);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(decoded).map_err(|_| PathError::NotUtf8)?;
    if decoded.chars().any(char::is_control) {
        return Err(PathError::ControlCharacter);
    }

    // Leading '/' guaranteed above, so the first split item is always "".
    let mut out = String::with_capacity(decoded.len());
    let mut segments = decoded.split('/').skip(1).peekable();
    while let Some(segment) = segments.next() {
        match segment {
            ".." => return Err(PathError::DotDot),
            // A trailing "." names the directory itself: "/a/." is "/a/" (RFC 3986 5.2.4).
            "." if segments.peek().is_none() => out.push('/'),
            "." => {}
            _ => {
                out.push('/');
                out.push_str(segment);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
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
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
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
