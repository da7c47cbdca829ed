//! Where the token is found, and how it is stripped from what is forwarded (SPEC §4).
//!
//! Pure functions over the raw request strings. The token is stripped from *every* source
//! that carries one, not only from the one used, so a forwarded request never carries a
//! token and the cache key is always the clean path.

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use crate::path::percent_decode;
use crate::scan::{Byte, NameHits, copy_short, find, find_names, find_near};
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
    /// The `cookie` header values as received.
    cookie_values: &'r [&'r str],
    /// The first of them that holds a token cookie (with `cookie_tokens` on).
    token_cookie_at: Option<usize>,
}

impl Located<'_> {
    /// New `cookie` header values when a token cookie is removed; `None`: unchanged. An
    /// empty vector means: drop the header. Computed when asked: only a forwarded request
    /// needs them, and a viewer can send 20 KB of token cookies to a gate that denies.
    pub fn cookies(&self, token_name: &str) -> Option<Vec<String>> {
        self.token_cookie_at.map(|at| strip_cookies_from(self.cookie_values, at, token_name))
    }
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
///
/// The name is looked for whole ([`find_name`]), not parameter by parameter: a viewer can
/// send 8 KB of `a&a&a&…`.
fn query_token<'q>(querystring: &'q str, token_name: &str) -> Option<&'q str> {
    let bytes = querystring.as_bytes();
    let at = find_names(bytes, token_name.as_bytes(), b'&', |b| b == b'&', |b| b == b'=' || b == b'&').next()?;
    let after = at + token_name.len();
    if bytes.get(after) != Some(&b'=') {
        return Some("");
    }
    // `after + 1` follows an ASCII `=`, and the end is a `&` or the end: boundaries.
    Some(&querystring[after + 1..after + 1 + find(&bytes[after + 1..], Byte(b'&'))])
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
    if querystring.is_empty() {
        return None;
    }
    // The default: nothing reaches the origin, whatever (and however much) was sent.
    if allowed.is_empty() {
        return Some(String::new());
    }
    let keep = |name: &str| name != token_name && allowed.iter().any(|a| a == name);
    if querystring.split('&').all(|param| keep(param_name(param))) {
        return None;
    }
    Some(kept_params(querystring, keep))
}

/// Removes every `NAME=VALUE` cookie from `cookie` header values. Returns the first token
/// value and the new header values, or `None` when no cookie is named `NAME`.
///
/// A token cookie goes with one separator (the one after it, or before it when it is the
/// last; a first cookie also takes the blanks after its separator); every other byte of
/// the value is kept as sent, and a value left without a cookie is dropped. The work is linear in the bytes, however many cookies they hold.
pub fn strip_cookies<'c>(values: &[&'c str], token_name: &str) -> Option<(&'c str, Vec<String>)> {
    // Most requests carry no token cookie, and 20 KB of other cookies must not be copied
    // to learn that: look first, without allocating.
    let (at, token) = first_token_cookie(values, token_name)?;
    Some((token, strip_cookies_from(values, at, token_name)))
}

/// The first token cookie's value, and the index of the header value holding it.
///
/// Short values are searched together, joined by `;` in a buffer: a viewer can send 20 KB
/// of cookie values of a dozen bytes, and searched one by one each cost a copy, a kernel
/// and a stall of its own (15-byte values took three times the time per byte of long
/// ones). Joined, a cookie still ends where its value ends (the `;`), the token's name
/// holds no `;` (the configuration's rule) so no name spans two values, and whether a
/// cookie starts a value or follows a `;` reads the same. A buffer that holds a token
/// cookie is then searched value by value, which also finds which value holds it.
fn first_token_cookie<'c>(values: &[&'c str], token_name: &str) -> Option<(usize, &'c str)> {
    let in_one = |i: usize| Some((i, cookie_token(values[i], token_name)?));
    match values {
        [] => return None,
        // Nothing to join: no copy, and no second search of the value holding the token.
        [_] => return in_one(0),
        _ => {}
    }
    let batch = |joined: &[u8], range: Range<usize>| {
        token_cookies(joined, token_name).next()?;
        range.into_iter().find_map(in_one)
    };
    let mut joined = [0u8; JOINED];
    // `joined[..len]` holds the values `from..i`, each followed by a `;`.
    let (mut len, mut from) = (0, 0);
    for (i, value) in values.iter().enumerate() {
        let in_place = value.len() >= IN_PLACE;
        if in_place || len + value.len() + 1 > JOINED {
            if let Some(found) = batch(&joined[..len], from..i) {
                return Some(found);
            }
            (len, from) = (0, i);
        }
        if in_place {
            if let Some(found) = in_one(i) {
                return Some(found);
            }
            from = i + 1;
            continue;
        }
        copy_short(&mut joined[len..], value.as_bytes());
        joined[len + value.len()] = b';';
        len += value.len() + 1;
    }
    batch(&joined[..len], from..values.len())
}

/// The buffer short cookie values are joined in.
const JOINED: usize = 1024;

/// Values at least this long are searched where they are: a value's own cost is a small
/// part of theirs, and copying it is not.
const IN_PLACE: usize = 256;

/// [`strip_cookies`]'s new header values, knowing that `values[..at]` hold no token cookie.
fn strip_cookies_from(values: &[&str], at: usize, token_name: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(values.len());
    out.extend(values[..at].iter().map(|&value| String::from(value)));
    for &value in &values[at..] {
        let mut cookies = token_cookies(value.as_bytes(), token_name);
        let Some(first) = cookies.next() else {
            out.push(String::from(value));
            continue;
        };
        let mut kept = String::with_capacity(value.len());
        // `value[..copied]` is dealt with.
        let mut copied = 0;
        for TokenCookie { span, .. } in core::iter::once(first).chain(cookies) {
            let (cut_start, cut_end) = if span.end < value.len() {
                // A first cookie takes the blanks after its separator too: the value
                // then starts with the next cookie's name.
                let blanks = if span.start == 0 {
                    value.as_bytes()[span.end + 1..].iter().take_while(|&&b| b == b' ' || b == b'\t').count()
                } else {
                    0
                };
                (span.start, span.end + 1 + blanks)
            } else {
                (span.start.saturating_sub(1), span.end)
            };
            // A cut may begin inside the previous one (the blanks a first cookie took).
            let cut_start = cut_start.max(copied);
            // Cuts sit at `;`, blanks or the ends: character boundaries.
            kept.push_str(&value[copied..cut_start]);
            copied = cut_end;
        }
        kept.push_str(&value[copied..]);
        if kept.bytes().any(|b| !matches!(b, b' ' | b'\t' | b';')) {
            out.push(kept);
        }
    }
    out
}

/// A byte that may stand right before a cookie's name: the separator, or a blank after it.
fn before_cookie_name(b: u8) -> bool {
    (b == b';') | (b == b' ') | (b == b'\t')
}

/// A byte that may follow a cookie's whole name: `=`, the separator, or the first byte of
/// whitespace, which the name is trimmed of (ASCII, or a character led by 0xC2, 0xE1,
/// 0xE2 or 0xE3, the lead bytes of every other `char::is_whitespace`). A superset, cheap
/// to test for 64 bytes at once (every control byte, every lead byte from 0xC2 to
/// 0xE3): each hit is checked exactly after.
fn after_cookie_name(b: u8) -> bool {
    (b == b'=') | (b == b';') | (b <= b' ') | (b.wrapping_sub(0xC2) <= 0xE3 - 0xC2)
}

/// The cookies named `token_name` in one header value, in order: for each, its byte range
/// (from after the separator before it, blanks included, to the next separator or the
/// end) and where its name starts. [`TokenCookie::token`] reads its value.
///
/// A cookie is `NAME[=VALUE]`; leading blanks (space, tab) are not part of the name, and
/// the name is trimmed at its end, as browsers do. The name is looked for whole, a block
/// at a time ([`find_names`]); an occurrence is then checked to start its cookie and to
/// be all of the cookie's name.
fn token_cookies<'c, 'n>(
    value: &'c [u8],
    token_name: &'n str,
) -> TokenCookies<'c, 'n, impl Fn(u8) -> bool + Copy, impl Fn(u8) -> bool + Copy> {
    let names = find_names(value, token_name.as_bytes(), b';', before_cookie_name, after_cookie_name);
    TokenCookies { value, name_len: token_name.len(), names, from: 0 }
}

/// The iterator of [`token_cookies`]: a struct, not a closure, so that its step is inlined
/// into the loops that strip 20 KB of `__token__=;` (a call per cookie was half their time).
struct TokenCookies<'c, 'n, B, A> {
    value: &'c [u8],
    name_len: usize,
    names: NameHits<'c, 'n, B, A>,
    /// Where the next cookie may start: hits before it lie inside a cookie already read
    /// (a token value may hold the name).
    from: usize,
}

/// One token cookie of a header value.
#[derive(Clone, Debug)]
struct TokenCookie {
    /// From after the separator before it (blanks included) to the next separator or the end.
    span: Range<usize>,
    /// Where the name starts.
    at: usize,
}

impl TokenCookie {
    /// The cookie's value, trimmed (`""` for a cookie without `=`).
    fn token<'c>(&self, value: &'c str, name_len: usize) -> &'c str {
        let after = self.at + name_len;
        // `after` is at an ASCII byte or the end, and `span.end` at a `;` or the end.
        match value.as_bytes().get(after) {
            Some(b'=') => value[after + 1..self.span.end].trim(),
            Some(b';') | None => "",
            Some(_) => value[self.at..self.span.end].split_once('=').map_or("", |(_, token)| token.trim()),
        }
    }
}

impl<B: Fn(u8) -> bool, A: Fn(u8) -> bool> Iterator for TokenCookies<'_, '_, B, A> {
    type Item = TokenCookie;

    #[inline(always)]
    fn next(&mut self) -> Option<TokenCookie> {
        let bytes = self.value;
        loop {
            self.names.skip_to(self.from);
            let at = self.names.next()?;
            // Only blanks may stand between the separator (or the start) and the name.
            let blanks = bytes[..at].iter().rev().take_while(|&&b| b == b' ' || b == b'\t').count();
            let start = at - blanks;
            if start > 0 && bytes[start - 1] != b';' {
                self.from = at + 1;
                continue;
            }
            // The end of the cookie: within a few words for most, or a block search.
            let near = &bytes[at..bytes.len().min(at + 32)];
            let end = match find_near(near, Byte(b';')) {
                n if n < near.len() => at + n,
                _ => at + near.len() + find(&bytes[at + near.len()..], Byte(b';')),
            };
            self.from = end;
            let after = at + self.name_len;
            match bytes.get(after) {
                // The common shapes, decided without splitting: `NAME=VALUE`, `NAME`.
                Some(b'=' | b';') | None => return Some(TokenCookie { span: start..end, at }),
                // Whitespace after the name: the name is trimmed at its end. `at` starts an
                // ASCII name, and it ends at an `=`, a `;` or the end of a value: it is
                // text, cut at character boundaries.
                Some(_) => {
                    let name = &bytes[at..at + find(&bytes[at..end], Byte(b'='))];
                    if core::str::from_utf8(name).is_ok_and(|name| name.trim_end().len() == self.name_len) {
                        return Some(TokenCookie { span: start..end, at });
                    }
                }
            }
        }
    }
}

/// The value of the first cookie named `token_name` in one header value.
fn cookie_token<'c>(value: &'c str, token_name: &str) -> Option<&'c str> {
    token_cookies(value.as_bytes(), token_name).next().map(|cookie| cookie.token(value, token_name.len()))
}

/// Finds the token (path segment, then query, then cookie) and strips it everywhere.
pub fn locate<'r>(
    uri: &'r str,
    querystring: Option<&str>,
    cookie_values: &'r [&'r str],
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
    let mut token_cookie_at = None;
    if options.cookie_tokens
        && let Some((at, value)) = first_token_cookie(cookie_values, options.token_name)
    {
        found(TokenSource::Cookie, value);
        token_cookie_at = Some(at);
    }
    Located { token, uri: forwarded_uri, querystring: new_query, cookie_values, token_cookie_at }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    /// The cookie rule as first written, cookie by cookie: the reference for the search.
    fn reference<'c>(value: &'c str, token_name: &str) -> Vec<&'c str> {
        value
            .split(';')
            .filter_map(|cookie| {
                let trimmed = cookie.trim_start_matches([' ', '\t']);
                let (name, token) = trimmed.split_once('=').unwrap_or((trimmed, ""));
                (name.trim_end() == token_name).then(|| token.trim())
            })
            .collect()
    }

    /// Every query of up to five pieces among names, near misses, separators and values,
    /// alone and behind 100 bytes of other parameters, finds the same token value as the
    /// parameter-by-parameter rule.
    #[test]
    fn query_token_agrees_with_the_parameter_by_parameter_rule() {
        fn reference(query: &str) -> Option<&str> {
            query
                .split('&')
                .find(|param| param_name(param) == "__t")
                .map(|param| param.split_once('=').map_or("", |(_, value)| value))
        }
        every_text(&["__t", "=", "&", "x", "__tx", "é", "%3D"], "a=1&", |query| {
            assert_eq!(query_token(query, "__t"), reference(query), "{query:?}");
        });
    }

    /// Calls `check` with every text of up to five `pieces`, alone and behind 25 `filler`s
    /// (100 bytes: the searches' blocks).
    fn every_text(pieces: &[&str], filler: &str, mut check: impl FnMut(&str)) {
        let mut texts: Vec<String> = alloc::vec![String::new()];
        for _ in 0..5 {
            texts = texts.iter().flat_map(|t| pieces.iter().map(move |p| format!("{t}{p}"))).collect();
            for text in &texts {
                check(text);
                check(&format!("{}{text}", filler.repeat(25)));
            }
        }
    }

    /// Lists of header values, short (searched joined) and long (searched in place) mixed,
    /// many enough to fill the buffer several times: the first token cookie found is the
    /// first that the cookie-by-cookie rule finds, value by value, in the same value.
    #[test]
    fn joined_values_agree_with_value_by_value() {
        let pieces = ["__t", "=", ";", " ", "\t", "x", "\u{3000}", "__tx", "é", "a=1"];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |bound: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as usize % bound
        };
        for round in 0..3000 {
            let count = [1, 2, 3, 40, 150, 400][round % 6];
            let values: Vec<String> = (0..count)
                .map(|_| {
                    let mut value = match next(8) {
                        0 => "b=2;".repeat(64 + next(3)),
                        1 => "c".repeat(1020 + next(8)),
                        _ => String::new(),
                    };
                    // In long lists, mostly values with no token cookie, so that one lands
                    // anywhere.
                    let n = if next(4) == 0 { 5 } else { 1 + next(3) };
                    for _ in 0..n {
                        let piece = pieces[next(pieces.len())];
                        value.push_str(if piece == "__t" && next(count.min(8)) != 0 { "__t_" } else { piece });
                    }
                    value
                })
                .collect();
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            let expected = values.iter().enumerate().find_map(|(i, v)| Some((i, *reference(v, "__t").first()?)));
            assert_eq!(first_token_cookie(&values, "__t"), expected, "{values:?}");
        }
    }

    /// Every value of up to five pieces among names, near misses, separators, blanks and
    /// wide whitespace, alone and behind 100 bytes of other cookies (the block search),
    /// finds the same token cookies as the cookie-by-cookie rule.
    #[test]
    fn token_cookies_agree_with_the_cookie_by_cookie_rule() {
        // Stripped: no token cookie left, every other cookie kept in order.
        let others = |v: &str| -> Vec<String> {
            v.split(';')
                .map(|c| String::from(c.trim_start_matches([' ', '\t'])))
                .filter(|c| !c.is_empty() && reference(c, "__t").is_empty())
                .collect()
        };
        every_text(&["__t", "=", ";", " ", "\t", "x", "\u{3000}", "\u{a0}", "__tx", "é"], "a=1;", |value| {
            let found: Vec<&str> =
                token_cookies(value.as_bytes(), "__t").map(|cookie| cookie.token(value, 3)).collect();
            assert_eq!(found, reference(value, "__t"), "{value:?}");
            if let Some((_, kept)) = strip_cookies(&[value], "__t") {
                let kept = kept.concat();
                assert!(reference(&kept, "__t").is_empty(), "{value:?} kept {kept:?}");
                assert_eq!(others(&kept), others(value), "{value:?} kept {kept:?}");
            }
        });
    }
}
