//! Where the token is found, and how it is stripped from what is forwarded (SPEC §4).
//!
//! Pure functions over the raw request strings. The token is stripped from *every* source
//! that carries one, not only from the one used, so a forwarded request never carries a
//! token and the cache key is always the clean path.

use alloc::string::String;
use alloc::vec::Vec;

use crate::path::percent_decode;
use crate::token::MalformedError;

/// Which part of the request carried the token that was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// First path segment `NAME=VALUE`.
    Path,
    /// Query parameter `NAME=VALUE`.
    Query,
    /// Cookie `NAME=VALUE`.
    Cookie,
}

impl TokenSource {
    /// Lower-case name for logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenSource::Path => "path",
            TokenSource::Query => "query",
            TokenSource::Cookie => "cookie",
        }
    }
}

/// A token found in the request. `Debug` hides the text.
#[derive(Clone, PartialEq, Eq)]
pub struct FoundToken {
    /// Where it came from.
    pub source: TokenSource,
    /// Percent-decoded token text, or why it could not be decoded.
    pub text: Result<String, MalformedError>,
}

impl core::fmt::Debug for FoundToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FoundToken")
            .field("source", &self.source)
            .field("decodable", &self.text.is_ok())
            .finish_non_exhaustive()
    }
}

/// Options of [`locate`] (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct LocateOptions<'a> {
    /// `token_name`.
    pub token_name: &'a str,
    /// `path_tokens`.
    pub path_tokens: bool,
    /// `cookie_tokens`.
    pub cookie_tokens: bool,
    /// `forward_query`: the only query parameters passed on to the origin.
    pub forward_query: &'a [String],
}

/// The request with the token taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<'r> {
    /// The first token found, in SPEC §4 order.
    pub token: Option<FoundToken>,
    /// Raw `uri` without the path-token segment (still percent-encoded).
    pub uri: &'r str,
    /// New `querystring` when any parameter was removed (the token, or one that
    /// `forward_query` does not name); `None`: forward it unchanged (absent, empty, or
    /// every parameter allowed). `Some("")` when nothing is left.
    pub querystring: Option<String>,
    /// New `cookie` header values when a token cookie was removed; `None`: unchanged.
    /// An empty vector means: drop the header.
    pub cookies: Option<Vec<String>>,
}

fn decode_token(value: &str) -> Result<String, MalformedError> {
    // Every escape is three bytes for one: a longer raw value cannot decode within the
    // bound, so it is not decoded (and allocated) at all.
    if value.len() > 3 * crate::token::MAX_TOKEN_BYTES {
        return Err(MalformedError::TooLong);
    }
    let bytes = percent_decode(value).ok_or(MalformedError::BadEncoding)?;
    String::from_utf8(bytes).map_err(|_| MalformedError::BadEncoding)
}

/// Splits the path-token segment off a raw `uri`: `/NAME=VALUE/rest` → (`VALUE`, `/rest`).
///
/// The `=` may arrive as `%3D`: clients that normalise URLs (pip resolving a relative link
/// against a signed base URL) re-encode it, and the segment is still the token.
pub fn split_path_token<'r>(uri: &'r str, token_name: &str) -> Option<(&'r str, &'r str)> {
    let segment_and_rest = uri.strip_prefix('/')?.strip_prefix(token_name)?;
    let value_and_rest = match segment_and_rest.strip_prefix('=') {
        Some(rest) => rest,
        None => segment_and_rest.get(..3).filter(|s| s.eq_ignore_ascii_case("%3D")).map(|_| &segment_and_rest[3..])?,
    };
    match value_and_rest.find('/') {
        Some(end) => Some((&value_and_rest[..end], &value_and_rest[end..])),
        None => Some((value_and_rest, "/")),
    }
}

/// The name of a raw `name[=value]` query parameter, as sent (not percent-decoded).
fn param_name(param: &str) -> &str {
    param.split_once('=').map_or(param, |(name, _)| name)
}

/// The raw value of the first `NAME[=VALUE]` parameter (`""` when it has no value).
fn query_token<'q>(querystring: &'q str, token_name: &str) -> Option<&'q str> {
    querystring
        .split('&')
        .find(|param| param_name(param) == token_name)
        .map(|param| param.split_once('=').map_or("", |(_, value)| value))
}

/// The parameters for which `keep` holds, in their order and with their bytes.
fn kept_params(querystring: &str, keep: impl Fn(&str) -> bool) -> String {
    let mut kept = String::with_capacity(querystring.len());
    for (i, param) in querystring.split('&').filter(|param| keep(param_name(param))).enumerate() {
        if i > 0 {
            kept.push('&');
        }
        kept.push_str(param);
    }
    kept
}

/// Removes every `NAME[=VALUE]` parameter from a raw query string, keeping the other
/// parameters' order and bytes. Returns the first token value (raw) and the new string,
/// or `None` when no parameter is named `NAME`. This is the token's removal alone: what
/// reaches the origin is [`forwarded_query`], which also drops what `forward_query` does
/// not name.
pub fn strip_query<'q>(querystring: &'q str, token_name: &str) -> Option<(&'q str, String)> {
    let value = query_token(querystring, token_name)?;
    Some((value, kept_params(querystring, |name| name != token_name)))
}

/// The query string to forward (SPEC §4): only parameters named in `allowed`, in their
/// order and with their bytes; the token never, even if `allowed` named it. Names are
/// compared as sent, not percent-decoded, so an encoded spelling of an allowed name is
/// dropped (S3 would decode it: an allow-list must not widen by encoding). `None` when
/// the query string is forwarded unchanged.
///
/// ```
/// use edgegate_core::locate::forwarded_query;
/// let allowed = ["x".to_string()];
/// assert_eq!(forwarded_query("versionId=1&x=2&__token__=t", "__token__", &allowed).as_deref(), Some("x=2"));
/// assert_eq!(forwarded_query("x=2", "__token__", &allowed), None);
/// assert_eq!(forwarded_query("acl", "__token__", &[]).as_deref(), Some(""));
/// ```
pub fn forwarded_query(querystring: &str, token_name: &str, allowed: &[String]) -> Option<String> {
    let keep = |name: &str| name != token_name && allowed.iter().any(|a| a == name);
    if querystring.is_empty() || querystring.split('&').all(|param| keep(param_name(param))) {
        return None;
    }
    Some(kept_params(querystring, keep))
}

/// Removes every `NAME=VALUE` cookie from `cookie` header values. Returns the first token
/// value and the new header values (headers left empty are dropped), or `None` when no
/// cookie is named `NAME`.
pub fn strip_cookies<'c>(values: &[&'c str], token_name: &str) -> Option<(&'c str, Vec<String>)> {
    // Most requests carry no token cookie, and 20 KB of other cookies must not be copied
    // to learn that: look first, without allocating.
    let (at, token) = values.iter().enumerate().find_map(|(i, value)| Some((i, cookie_token(value, token_name)?)))?;
    let mut out = Vec::with_capacity(values.len());
    out.extend(values[..at].iter().map(|&value| String::from(value)));
    for &value in &values[at..] {
        if cookie_token(value, token_name).is_none() {
            out.push(String::from(value));
            continue;
        }
        let mut kept = String::with_capacity(value.len());
        for cookie in value.split(';') {
            let (trimmed, named) = cookie_parts(cookie, token_name);
            if named.is_some() || trimmed.is_empty() {
                continue;
            }
            if !kept.is_empty() {
                kept.push_str("; ");
            }
            kept.push_str(trimmed);
        }
        if !kept.is_empty() {
            out.push(kept);
        }
    }
    Some((token, out))
}

/// One cookie of a header value, leading blanks trimmed, and its value when it is named
/// `token_name` (its name trimmed at the end, as browsers do).
fn cookie_parts<'c>(cookie: &'c str, token_name: &str) -> (&'c str, Option<&'c str>) {
    let blanks = cookie.bytes().take_while(|&b| b == b' ' || b == b'\t').count();
    // Blanks are ASCII: a character boundary.
    let trimmed = &cookie[blanks..];
    // Most cookies are not the token: a prefix test answers without searching for `=`.
    if !trimmed.as_bytes().starts_with(token_name.as_bytes()) {
        return (trimmed, None);
    }
    let (name, value) = trimmed.split_once('=').unwrap_or((trimmed, ""));
    (trimmed, (name.trim_end() == token_name).then(|| value.trim()))
}

/// The value of the first cookie named `token_name` in one header value.
fn cookie_token<'c>(value: &'c str, token_name: &str) -> Option<&'c str> {
    value.split(';').find_map(|cookie| cookie_parts(cookie, token_name).1)
}

/// Finds the token (path segment, then query, then cookie) and strips it everywhere.
pub fn locate<'r>(
    uri: &'r str,
    querystring: Option<&str>,
    cookie_values: &[&str],
    options: LocateOptions<'_>,
) -> Located<'r> {
    let mut token = None;
    let mut found = |source, raw: &str| {
        if token.is_none() {
            token = Some(FoundToken { source, text: decode_token(raw) });
        }
    };

    let mut forwarded_uri = uri;
    if options.path_tokens
        && let Some((value, rest)) = split_path_token(uri, options.token_name)
    {
        found(TokenSource::Path, value);
        forwarded_uri = rest;
    }
    let mut new_query = None;
    if let Some(query) = querystring {
        if let Some(value) = query_token(query, options.token_name) {
            found(TokenSource::Query, value);
        }
        new_query = forwarded_query(query, options.token_name, options.forward_query);
    }
    let mut new_cookies = None;
    if options.cookie_tokens
        && let Some((value, kept)) = strip_cookies(cookie_values, options.token_name)
    {
        found(TokenSource::Cookie, value);
        new_cookies = Some(kept);
    }
    Located { token, uri: forwarded_uri, querystring: new_query, cookies: new_cookies }
}
