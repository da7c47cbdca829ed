//! Canonical paths (SPEC §3) and the forwarded `uri` encoding (SPEC §3 step 4).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::config::EncodedSlash;

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
fn decode(input: &str, encoded_slash: EncodedSlash) -> Result<Vec<u8>, PathError> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(crate::hex::value);
            let lo = bytes.get(i + 2).copied().and_then(crate::hex::value);
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(PathError::BadEscape);
            };
            let b = hi << 4 | lo;
            if b == b'/' && encoded_slash == EncodedSlash::Reject {
                return Err(PathError::EncodedSlash);
            }
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
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
    // Every path above pushed at least one '/', so "/" here is the root ("/", "/.", "/./.").
    if out == "/" {
        return Err(PathError::Root);
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
