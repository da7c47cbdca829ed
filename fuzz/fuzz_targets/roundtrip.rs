//! locate + canonicalize + forward (SPEC §3, §4) on arbitrary raw uri, query and cookies,
//! with a real signed token placed by the fuzzer in the path, the query or a cookie, in
//! the encodings clients use. Whenever the gate forwards:
//! - the forwarded `uri` is `encode_forward(p)` of the path `p` that was checked, and
//!   canonicalises back to `p`;
//! - the forwarded `uri` read as S3 reads a key (percent-decoded once, `+` a space unless
//!   encoded) is `p` (with `s3_plus_fix`; without it, `+` reaches the origin as sent);
//! - the token is removed and nothing else: uri, query and cookies (when the gate reads
//!   cookies) are what the same request without the token would forward.
//!
//! And on every input, forwarded or not: `canonicalize_with` answers as SPEC §3 steps 1–3
//! written plainly (a byte-loop decoder, `char::is_control`, segment by segment), result
//! and error alike.
#![no_main]

use std::sync::OnceLock;

use edgegate_core::locate::{LocateOptions, forwarded_query, locate, strip_cookies};
use edgegate_core::path::{MAX_PATH_BYTES, PathError, canonicalize_with, encode_forward, percent_encode};
use edgegate_core::{Claims, Config, EncodedSlash, Gate, KeyConfig, Scope, Secret};
use edgegate_handler::{Outcome, RequestView, decide};
use libfuzzer_sys::fuzz_target;

const NOW: u64 = 1_700_000_000;
const NAME: &str = "__token__";

/// One gate per combination of the four switches (bits of the first input byte).
fn gates() -> &'static [Gate] {
    static GATES: OnceLock<Vec<Gate>> = OnceLock::new();
    GATES.get_or_init(|| {
        (0..32u8)
            .map(|bits| {
                let config = Config {
                    public_prefixes: vec!["/pub/".into()],
                    s3_plus_fix: bits & 1 != 0,
                    encoded_slash: if bits & 2 != 0 { EncodedSlash::Reject } else { EncodedSlash::Decode },
                    path_tokens: bits & 4 != 0,
                    cookie_tokens: bits & 8 != 0,
                    // The configuration refuses the token's own name here.
                    forward_query: if bits & 16 != 0 { vec!["x".into(), "versionId".into()] } else { vec![] },
                    keys: vec![KeyConfig {
                        id: "k".into(),
                        secret: Some(Secret::new("00112233445566778899aabbccddeeff")),
                        secret_env: None,
                    }],
                    ..Config::default()
                };
                Gate::new(&config).expect("config")
            })
            .collect()
    })
}

/// A valid token for every path (ACL `/*`).
fn token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let claims = Claims {
            ip: None,
            start: None,
            expires: NOW + 3600,
            scope: Scope::acl("/*"),
            id: Some("fuzz".into()),
            data: None,
        };
        gates()[0].sign(&claims).expect("sign")
    })
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// The token value as clients put it into a path segment or a query parameter.
fn encoded_token(variant: u8) -> String {
    let text = token();
    match variant {
        // Everything but unreserved bytes escaped (browsers, most libraries).
        0 => percent_encode(text, unreserved),
        // Only what breaks a segment escaped: `/` (SPEC §4's "`/` as `%2F`").
        1 => text.replace('/', "%2F"),
        // apt: encoded twice in sources.list, decoded once by apt itself.
        2 => percent_encode(text, unreserved).replace('%', "%25"),
        // As written, unescaped (fine in a query or a cookie, not in a path).
        _ => text.to_string(),
    }
}

/// A key as S3 reads the request path: `%XX` decoded once, a bare `+` as a space when
/// `plus_is_space`. `None` for a `%` without two hex digits (S3 would refuse it).
fn origin_reads(uri: &str, plus_is_space: bool) -> Option<Vec<u8>> {
    let bytes = uri.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
                continue;
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

/// SPEC §3 steps 1–3 the plain way: the reference for `canonicalize_with`, which decodes
/// by words and blocks and cuts `.` segments 64 positions at a time. A path breaking
/// several rules gets the error of the first check it fails, in this order.
fn plain_canonical(raw: &str, encoded_slash: EncodedSlash) -> Result<String, PathError> {
    if raw.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong);
    }
    if !raw.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let bytes = raw.as_bytes();
    let (mut decoded, mut i) = (Vec::new(), 0);
    while i < bytes.len() {
        if bytes[i] != b'%' {
            decoded.push(bytes[i]);
            i += 1;
            continue;
        }
        let hex = bytes.get(i + 1..i + 3).filter(|hex| hex.iter().all(u8::is_ascii_hexdigit));
        let hex = std::str::from_utf8(hex.ok_or(PathError::BadEscape)?).expect("hex digits are ASCII");
        let byte = u8::from_str_radix(hex, 16).expect("two hex digits");
        if byte == b'/' && encoded_slash == EncodedSlash::Reject {
            return Err(PathError::EncodedSlash);
        }
        decoded.push(byte);
        i += 3;
    }
    let text = String::from_utf8(decoded).map_err(|_| PathError::NotUtf8)?;
    if text.chars().any(char::is_control) {
        return Err(PathError::ControlCharacter);
    }
    let mut out = String::new();
    let mut segments = text.split('/').skip(1).peekable();
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
    if out == "/" {
        return Err(PathError::Root);
    }
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let [bits, place, rest @ ..] = data else {
        return;
    };
    let gate = &gates()[usize::from(bits & 31)];
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.split('\n');
    let mut uri = parts.next().unwrap_or("/").to_string();
    let mut query = parts.next().filter(|_| place & 16 == 0).map(str::to_string);
    let mut cookies: Vec<String> = parts.map(str::to_string).collect();
    let (original_uri, original_query, original_cookies) = (uri.clone(), query.clone(), cookies.clone());
    assert_eq!(
        canonicalize_with(&uri, gate.encoded_slash()),
        plain_canonical(&uri, gate.encoded_slash()),
        "canonical path of {uri:?}"
    );

    let variant = (place >> 2) & 3;
    match place & 3 {
        1 => {
            // `=` after the name may arrive as `%3D` (pip); the value must be escaped here.
            let eq = if place & 32 != 0 { "%3D" } else { "=" };
            uri = format!("/{NAME}{eq}{}{uri}", encoded_token(variant.min(2)));
        }
        2 => {
            let param = format!("{NAME}={}", encoded_token(variant.min(1) * 3));
            query = Some(match query {
                Some(q) if place & 64 != 0 => format!("{q}&{param}"),
                Some(q) => format!("{param}&{q}"),
                None => param,
            });
        }
        3 => cookies.insert(usize::from(place & 64 != 0).min(cookies.len()), format!("{NAME}={}", token())),
        _ => {}
    }

    let cookie_refs: Vec<&str> = cookies.iter().map(String::as_str).collect();
    let view = RequestView {
        method: "GET",
        uri: &uri,
        querystring: query.as_deref(),
        cookies: &cookie_refs,
        client_ip: "192.0.2.1",
        request_id: "r",
        distribution_id: "d",
    };
    let Outcome::Forward(forward) = decide(gate, &view, NOW) else {
        return;
    };

    // The path the gate checked, derived independently of `decide`.
    let options = LocateOptions {
        token_name: NAME,
        path_tokens: gate.path_tokens(),
        cookie_tokens: gate.cookie_tokens(),
        forward_query: gate.forward_query(),
    };
    let located = locate(&uri, query.as_deref(), &cookie_refs, options);
    let checked = canonicalize_with(located.uri, gate.encoded_slash()).expect("a forward has a canonical path");
    assert_eq!(forward.uri, encode_forward(&checked, gate.s3_plus_fix()));
    // Re-encoding can make the forwarded uri longer than a viewer's may be (raw UTF-8
    // bytes come back as three-byte escapes); the gate then checked a shorter text, and
    // what the origin reads is compared below either way.
    let recanonical = canonicalize_with(&forward.uri, gate.encoded_slash());
    if forward.uri.len() <= edgegate_core::path::MAX_PATH_BYTES {
        assert_eq!(recanonical.as_deref(), Ok(checked.as_str()));
    } else {
        assert_eq!(recanonical, Err(edgegate_core::path::PathError::TooLong));
    }
    let read = origin_reads(&forward.uri, gate.s3_plus_fix()).expect("forwarded uri has valid escapes");
    assert_eq!(read, checked.as_bytes(), "origin reads another key than the one checked");

    // The token is gone, and nothing else changed: what is forwarded equals what the
    // request without the token would forward. (Searching the output for the HMAC text
    // instead is fooled: libFuzzer learns it from the comparison, and `%22` + `aa…` can
    // spell it out of the viewer's own path.) A fuzzer uri not starting with `/` is part
    // of the token's segment, by construction.
    if place & 3 == 1 && gate.path_tokens() && original_uri.starts_with('/') {
        assert_eq!(located.uri, original_uri, "the path token segment, exactly, is removed");
    }
    let sent_query = forward.querystring.as_deref().or(query.as_deref());
    let base_query = original_query
        .as_deref()
        .map(|q| forwarded_query(q, NAME, gate.forward_query()).unwrap_or_else(|| q.to_string()));
    // A query that held only the token is forwarded empty, as one without any.
    assert_eq!(sent_query.unwrap_or(""), base_query.as_deref().unwrap_or(""), "forwarded query");
    if gate.cookie_tokens() {
        let sent: Vec<&str> = match &forward.cookies {
            Some(kept) => kept.iter().map(String::as_str).collect(),
            None => cookie_refs.clone(),
        };
        let original: Vec<&str> = original_cookies.iter().map(String::as_str).collect();
        let base = strip_cookies(&original, NAME)
            .map_or_else(|| original.iter().map(|c| c.to_string()).collect::<Vec<_>>(), |(_, kept)| kept);
        assert_eq!(sent, base, "forwarded cookies");
    }
});
