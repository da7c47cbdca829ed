//! SPEC §3 and §4 as tables: every row is one case, with what the SPEC says must happen.

use edgegate_core::EncodedSlash;
use edgegate_core::locate::{LocateOptions, TokenSource, forwarded_query, locate, strip_cookies, strip_query};
use edgegate_core::path::{PathError, canonicalize, canonicalize_with, encode_forward};

/// (raw uri, expected canonical path or error, expected forwarded uri with s3_plus_fix).
type PathCase = (&'static str, Result<&'static str, PathError>, Option<&'static str>);

const PATHS: &[PathCase] = &[
    // The bucket root names no object (S3 lists the bucket): refused in every spelling.
    ("/", Err(PathError::Root), None),
    ("/.", Err(PathError::Root), None),
    ("/./.", Err(PathError::Root), None),
    ("/%2e", Err(PathError::Root), None),
    ("/pool/main/a_1.0_amd64.deb", Ok("/pool/main/a_1.0_amd64.deb"), Some("/pool/main/a_1.0_amd64.deb")),
    // Encoded slash: decoded like any other escape, before the split (SPEC §3 step 1), as
    // S3 reads it; npm asks for scoped packages as `/@scope%2fname`.
    ("/a%2Fb", Ok("/a/b"), Some("/a/b")),
    ("/a%2fb", Ok("/a/b"), Some("/a/b")),
    (
        "/@acme%2fleft-pad/-/left-pad-1.0.0.tgz",
        Ok("/@acme/left-pad/-/left-pad-1.0.0.tgz"),
        Some("/@acme/left-pad/-/left-pad-1.0.0.tgz"),
    ),
    ("/a/..%2Fb", Err(PathError::DotDot), None),
    ("/a/%2E%2E%2Fb", Err(PathError::DotDot), None),
    ("/a%2F..%2Fb", Err(PathError::DotDot), None),
    ("/a%2F.%2Fb", Ok("/a/b"), Some("/a/b")),
    ("/%2F", Ok("//"), Some("//")),
    ("%2Fa", Err(PathError::NotAbsolute), None),
    // NUL and other control characters.
    ("/a%00b", Err(PathError::ControlCharacter), None),
    ("/a%0Ab", Err(PathError::ControlCharacter), None),
    ("/a%7Fb", Err(PathError::ControlCharacter), None),
    ("/a%C2%85b", Err(PathError::ControlCharacter), None),
    ("/a\tb", Err(PathError::ControlCharacter), None),
    // Dot segments, encoded or not.
    ("/a/../b", Err(PathError::DotDot), None),
    ("/..", Err(PathError::DotDot), None),
    ("/a/%2e%2e/b", Err(PathError::DotDot), None),
    ("/a/%2E%2E/b", Err(PathError::DotDot), None),
    ("/a/.%2e/b", Err(PathError::DotDot), None),
    ("/a/..", Err(PathError::DotDot), None),
    ("/a/./b", Ok("/a/b"), Some("/a/b")),
    ("/./a", Ok("/a"), Some("/a")),
    ("/./", Err(PathError::Root), None),
    ("/a/.", Ok("/a/"), Some("/a/")),
    ("/a/%2e/b", Ok("/a/b"), Some("/a/b")),
    // '...' and '.x' are ordinary names.
    ("/a/.../b", Ok("/a/.../b"), Some("/a/.../b")),
    ("/a/.hidden", Ok("/a/.hidden"), Some("/a/.hidden")),
    // Empty segments are kept: S3 keys may contain them.
    ("//a//b/", Ok("//a//b/"), Some("//a//b/")),
    // Bad escapes.
    ("/a%", Err(PathError::BadEscape), None),
    ("/a%4", Err(PathError::BadEscape), None),
    ("/a%4g", Err(PathError::BadEscape), None),
    ("/a%%41", Err(PathError::BadEscape), None),
    // Invalid UTF-8 after decoding.
    ("/a%FF", Err(PathError::NotUtf8), None),
    ("/a%C3", Err(PathError::NotUtf8), None),
    ("/a%C3%28", Err(PathError::NotUtf8), None),
    // Not absolute.
    ("a/b", Err(PathError::NotAbsolute), None),
    ("", Err(PathError::NotAbsolute), None),
    // Hex in either case decodes the same.
    ("/caf%c3%a9", Ok("/café"), Some("/caf%C3%A9")),
    ("/caf%C3%A9", Ok("/café"), Some("/caf%C3%A9")),
    // '+' vs '%2B', '~' vs '%7E': one canonical path (SPEC §3 step 3).
    (
        "/pool/libstdc++6_12.2.0~rc1_amd64.deb",
        Ok("/pool/libstdc++6_12.2.0~rc1_amd64.deb"),
        Some("/pool/libstdc%2B%2B6_12.2.0~rc1_amd64.deb"),
    ),
    (
        "/pool/libstdc%2B%2B6_12.2.0%7Erc1_amd64.deb",
        Ok("/pool/libstdc++6_12.2.0~rc1_amd64.deb"),
        Some("/pool/libstdc%2B%2B6_12.2.0~rc1_amd64.deb"),
    ),
    (
        "/pool/libstdc%2b%2b6_12.2.0%7erc1_amd64.deb",
        Ok("/pool/libstdc++6_12.2.0~rc1_amd64.deb"),
        Some("/pool/libstdc%2B%2B6_12.2.0~rc1_amd64.deb"),
    ),
    // A '+' in a path is a plus, never a space.
    ("/a+b", Ok("/a+b"), Some("/a%2Bb")),
    // Spaces and reserved characters.
    ("/read%20me.txt", Ok("/read me.txt"), Some("/read%20me.txt")),
    ("/a%3Fb%23c", Ok("/a?b#c"), Some("/a%3Fb%23c")),
    ("/sub-delims!$&'()*,;=:@", Ok("/sub-delims!$&'()*,;=:@"), Some("/sub-delims!$&'()*,;=:@")),
    ("/%25", Ok("/%"), Some("/%25")),
    ("/a%5Cb", Ok("/a\\b"), Some("/a%5Cb")),
    ("/日本", Ok("/日本"), Some("/%E6%97%A5%E6%9C%AC")),
];

#[test]
fn canonical_path_table() {
    assert!(PATHS.len() >= 40, "SPEC asks for at least 40 path cases");
    for (raw, expected, forwarded) in PATHS {
        let got = canonicalize(raw);
        assert_eq!(got.as_deref(), expected.as_ref().map(|s| *s), "canonicalize({raw:?})");
        if let (Ok(canonical), Some(forwarded)) = (&got, forwarded) {
            assert_eq!(encode_forward(canonical, true), *forwarded, "encode_forward({canonical:?})");
            // The forwarded uri is itself canonical and maps back to the same path.
            assert_eq!(canonicalize(forwarded).as_deref(), Ok(canonical.as_str()), "round trip of {forwarded:?}");
        }
    }
}

/// `encoded_slash = "reject"` (SPEC §3 step 1): the old rule, for origins that tell `%2F`
/// from `/`. Everything else is as in the decode table.
const REJECT: &[(&str, Result<&str, PathError>)] = &[
    ("/a%2Fb", Err(PathError::EncodedSlash)),
    ("/a%2fb", Err(PathError::EncodedSlash)),
    ("/@acme%2fleft-pad", Err(PathError::EncodedSlash)),
    ("/a/..%2Fb", Err(PathError::EncodedSlash)),
    ("/a/b", Ok("/a/b")),
    ("/a%252Fb", Ok("/a%2Fb")),
    ("/", Err(PathError::Root)),
    ("/a/../b", Err(PathError::DotDot)),
];

#[test]
fn encoded_slash_reject_table() {
    for (raw, expected) in REJECT {
        assert_eq!(canonicalize_with(raw, EncodedSlash::Reject).as_deref(), expected.as_ref().map(|s| *s), "{raw:?}");
    }
    // Every path of the decode table without a `%2F` means the same in both modes.
    for (raw, expected, _) in PATHS.iter().filter(|(raw, _, _)| !raw.to_ascii_lowercase().contains("%2f")) {
        assert_eq!(canonicalize_with(raw, EncodedSlash::Reject).as_deref(), expected.as_ref().map(|s| *s), "{raw:?}");
    }
}

#[test]
fn too_long_paths_are_refused() {
    let ok = format!("/{}", "a".repeat(8191));
    assert!(canonicalize(&ok).is_ok());
    let long = format!("/{}", "a".repeat(8192));
    assert_eq!(canonicalize(&long), Err(PathError::TooLong));
}

#[test]
fn plus_fix_off_keeps_plus() {
    assert_eq!(encode_forward("/a+b c", false), "/a+b%20c");
}

const NAME: &str = "__token__";

fn options() -> LocateOptions<'static> {
    LocateOptions { token_name: NAME, path_tokens: true, cookie_tokens: true, forward_query: &[] }
}

#[test]
fn path_token_segment_is_removed_before_canonicalisation() {
    let located = locate("/__token__=exp%3D1%7Ehmac%3Dab/acme/main/x.deb", None, &[], options());
    let token = located.token.expect("path token found");
    assert_eq!(token.source, TokenSource::Path);
    assert_eq!(token.text.as_deref(), Ok("exp=1~hmac=ab"));
    assert_eq!(located.uri, "/acme/main/x.deb");

    // pip re-encodes '=' and decodes '%7E' when it resolves a relative link against a
    // signed base URL; the segment is still the token.
    let normalised = locate("/__token__%3Dexp%3D1~hmac%3Dab/simple/x/", None, &[], options());
    assert_eq!(normalised.token.map(|t| t.text), Some(Ok("exp=1~hmac=ab".to_string())));
    assert_eq!(normalised.uri, "/simple/x/");
    let lower = locate("/__token__%3dexp%3D1~hmac%3Dab/x", None, &[], options());
    assert_eq!(lower.token.map(|t| t.text), Some(Ok("exp=1~hmac=ab".to_string())));
    assert!(locate("/__token__%3/x", None, &[], options()).token.is_none());
    assert!(locate("/__token__%2Dx/x", None, &[], options()).token.is_none());

    let only = locate("/__token__=abc", None, &[], options());
    assert_eq!(only.uri, "/");
    // Not the first segment: an ordinary path.
    let later = locate("/acme/__token__=abc/x", None, &[], options());
    assert!(later.token.is_none());
    assert_eq!(later.uri, "/acme/__token__=abc/x");
    // Disabled: an ordinary path too.
    let off = locate("/__token__=abc/x", None, &[], LocateOptions { path_tokens: false, ..options() });
    assert!(off.token.is_none());
    // A longer name that merely starts with the token name is not the token.
    let prefix = locate("/__token__x=abc/x", None, &[], options());
    assert!(prefix.token.is_none());
}

/// (query string, first token value, forwarded query string).
const QUERIES: &[(&str, Option<&str>, &str)] = &[
    ("__token__=abc", Some("abc"), ""),
    ("a=1&__token__=abc&b=2", Some("abc"), "a=1&b=2"),
    // Other parameters keep their order and bytes, encoded or not.
    ("z=%2B+&__token__=abc&a=%zz&a=1", Some("abc"), "z=%2B+&a=%zz&a=1"),
    // Repeated token parameters: the first is used, all are stripped.
    ("__token__=first&x=1&__token__=second", Some("first"), "x=1"),
    // Empty and valueless parameters elsewhere are kept as they were.
    ("a=&b&&__token__=abc&c=", Some("abc"), "a=&b&&c="),
    // A valueless token parameter is found (and is then malformed).
    ("a=1&__token__", Some(""), "a=1"),
    ("__token__=", Some(""), ""),
    // Names are compared exactly.
    ("__TOKEN__=abc&__token__x=1", None, ""),
    ("a=__token__=abc", None, ""),
    ("", None, ""),
];

#[test]
fn query_token_table() {
    for (query, token, forwarded) in QUERIES {
        match (strip_query(query, NAME), token) {
            (Some((value, kept)), Some(expected)) => {
                assert_eq!(value, *expected, "token from {query:?}");
                assert_eq!(kept, *forwarded, "forwarded query from {query:?}");
            }
            (None, None) => {}
            (got, expected) => panic!("{query:?}: got {got:?}, expected token {expected:?}"),
        }
    }
}

/// (query string, `forward_query`, forwarded query string; `None`: unchanged). SPEC §4: S3
/// reads several parameters as instructions, so only named ones pass.
const FORWARDED: &[(&str, &[&str], Option<&str>)] = &[
    ("versionId=1&response-content-type=x", &[], Some("")),
    ("acl", &[], Some("")),
    ("torrent&partNumber=1", &["partNumber"], Some("partNumber=1")),
    ("a=1&b=2&a=3", &["a"], Some("a=1&a=3")),
    ("b=%2B+&a=%zz", &["a", "b"], None),
    ("a=1&__token__=t", &["a"], Some("a=1")),
    // Names are compared as sent: an encoded spelling of an allowed name is not it.
    ("version%49d=1", &["versionId"], Some("")),
    ("VERSIONID=1", &["versionId"], Some("")),
    ("a=1&&a=2", &["a"], Some("a=1&a=2")),
    ("", &[], None),
];

#[test]
fn forwarded_query_table() {
    for (query, allowed, expected) in FORWARDED {
        let allowed: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        assert_eq!(forwarded_query(query, NAME, &allowed).as_deref(), *expected, "{query:?} with {allowed:?}");
    }
}

#[test]
fn query_token_value_is_percent_decoded_and_plus_stays_plus() {
    let located = locate("/a", Some("__token__=exp%3D1%7Eacl%3D%2Fa+b%7Ehmac%3D00"), &[], options());
    assert_eq!(located.token.map(|t| t.text), Some(Ok("exp=1~acl=/a+b~hmac=00".to_string())));
    assert_eq!(located.querystring.as_deref(), Some(""));
    let bad = locate("/a", Some("__token__=%zz"), &[], options());
    assert!(bad.token.expect("found").text.is_err(), "bad escape in token value is malformed");
}

/// (cookie header values, token value, forwarded header values; empty = header dropped).
const COOKIES: &[(&[&str], Option<&str>, &[&str])] = &[
    (&["__token__=abc"], Some("abc"), &[]),
    (&["a=1; __token__=abc; b=2"], Some("abc"), &["a=1; b=2"]),
    (&["a=1;__token__=abc;b=2"], Some("abc"), &["a=1;b=2"]),
    // The other cookies' bytes are kept as sent; one separator goes with the token.
    (&["a=1;  __token__=abc ;b=2;"], Some("abc"), &["a=1;b=2;"]),
    (&["a=1 ; __token__ = abc"], Some("abc"), &["a=1 "]),
    (&["a=1; __token__; b=2"], Some(""), &["a=1; b=2"]),
    (&["__token__=one;b=2;__token__=two"], Some("one"), &["b=2"]),
    (&[" ; __token__=abc ;"], Some("abc"), &[]),
    // Not a cookie's name: inside a value, or part of a longer name.
    (&["a=x __token__=abc; b=2"], None, &[]),
    (&["__token__\u{3000}=abc"], Some("abc"), &[]),
    (&["__token__\u{3001}=abc"], None, &[]),
    (&["session=xyz", "__token__=abc"], Some("abc"), &["session=xyz"]),
    (&["__token__=one; __token__=two"], Some("one"), &[]),
    (&["a=1; b=2"], None, &["a=1; b=2"]),
    (&["__token__x=1; x__token__=2"], None, &[]),
];

#[test]
fn cookie_token_table() {
    for (values, token, forwarded) in COOKIES {
        match (strip_cookies(values, NAME), token) {
            (Some((value, kept)), Some(expected)) => {
                assert_eq!(value, *expected, "token from {values:?}");
                assert_eq!(kept, *forwarded, "forwarded cookies from {values:?}");
            }
            (None, None) => {}
            (got, expected) => panic!("{values:?}: got {got:?}, expected token {expected:?}"),
        }
    }
}

#[test]
fn search_order_is_path_then_query_then_cookie_and_all_are_stripped() {
    let located = locate("/__token__=P/x", Some("__token__=Q&a=1"), &["__token__=C; s=1"], options());
    let token = located.token.clone().expect("found");
    assert_eq!((token.source, token.text.as_deref()), (TokenSource::Path, Ok("P")));
    // SPEC §4: only `forward_query` parameters reach the origin (none by default).
    assert_eq!(located.querystring.as_deref(), Some(""));
    let allowed = ["a".to_string()];
    let kept =
        locate("/__token__=P/x", Some("__token__=Q&a=1"), &[], LocateOptions { forward_query: &allowed, ..options() });
    assert_eq!(kept.querystring.as_deref(), Some("a=1"));
    assert_eq!(located.cookies(NAME), Some(vec!["s=1".to_string()]));

    let located = locate("/x", Some("__token__=Q"), &["__token__=C"], options());
    assert_eq!(located.token.map(|t| t.source), Some(TokenSource::Query));

    let located = locate("/x", Some("a=1"), &["__token__=C"], options());
    assert_eq!(located.token.map(|t| t.source), Some(TokenSource::Cookie));
    assert_eq!(located.querystring.as_deref(), Some(""), "parameters not in forward_query are dropped");
    let allowed = ["a".to_string()];
    let located = locate("/x", Some("a=1"), &[], LocateOptions { forward_query: &allowed, ..options() });
    assert_eq!(located.querystring, None, "a query of allowed parameters is forwarded untouched");
    assert_eq!(locate("/x", Some(""), &[], options()).querystring, None);
    assert_eq!(locate("/x", None, &[], options()).querystring, None);

    let off = locate("/x", None, &["__token__=C"], LocateOptions { cookie_tokens: false, ..options() });
    assert!(off.token.is_none());
    assert_eq!(off.cookies(NAME), None);
}
