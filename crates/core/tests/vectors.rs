//! The EdgeAuth vectors of `fixtures/tokens/vectors.json`, made by the real
//! `akamai-edgeauth` Python library (see `fixtures/tokens/README.md`): every vector must
//! verify, our signer must reproduce it byte for byte, and every single-character change
//! to its `hmac`, `exp`, `acl` or path must be denied with the reason SPEC §2/§5 gives.

use std::net::IpAddr;

use edgegate_core::path::canonicalize;
use edgegate_core::{Claims, Config, Gate, KeyConfig, Reason, Scope, Secret};
use serde::Deserialize;

const LEEWAY: u64 = 30;

#[derive(Debug, Deserialize)]
struct Vector {
    name: String,
    key: String,
    salt: String,
    kind: String,
    acl: Option<Vec<String>>,
    url: Option<String>,
    match_path: Option<String>,
    request_path: Option<String>,
    st: Option<u64>,
    exp: u64,
    now: u64,
    ip: Option<String>,
    id: Option<String>,
    data: Option<String>,
    token: String,
}

#[derive(Debug, Deserialize)]
struct Document {
    vectors: Vec<Vector>,
}

fn load() -> Vec<Vector> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/tokens/vectors.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let doc: Document = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(doc.vectors.len() >= 20, "{path}: only {} vectors", doc.vectors.len());
    doc.vectors
}

fn gate_with(keys: &[&str], salt: &str) -> Gate {
    let mut config = Config { salt: salt.to_owned(), leeway_seconds: LEEWAY, ..Config::default() };
    for (i, key) in keys.iter().enumerate() {
        config.keys.push(KeyConfig { id: format!("k{i}"), secret: Some(Secret::new(*key)), secret_env: None });
    }
    Gate::new(&config).unwrap_or_else(|e| panic!("gate: {e}"))
}

/// Independent reference for the ACL glob (SPEC §2), written the obvious recursive way so
/// it does not share a bug with the linear matcher in the core.
fn glob(pattern: &[char], path: &[char]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some(('*', rest)) => (0..=path.len()).any(|skip| glob(rest, &path[skip..])),
        Some(('?', rest)) => !path.is_empty() && glob(rest, &path[1..]),
        Some((c, rest)) => path.first() == Some(c) && glob(rest, &path[1..]),
    }
}

fn reference_acl_match(acls: &[String], path: &str) -> bool {
    let path: Vec<char> = path.chars().collect();
    acls.iter().any(|acl| glob(&acl.chars().collect::<Vec<_>>(), &path))
}

impl Vector {
    /// The canonical path this vector is valid for.
    fn path(&self) -> &str {
        match self.kind.as_str() {
            "acl" => {
                self.match_path.as_deref().unwrap_or_else(|| panic!("{}: acl vector without match_path", self.name))
            }
            "url" => self.url.as_deref().unwrap_or_else(|| panic!("{}: url vector without url", self.name)),
            other => panic!("{}: unknown kind {other:?}", self.name),
        }
    }

    fn gate(&self) -> Gate {
        gate_with(&[&self.key], &self.salt)
    }

    fn verify(&self, gate: &Gate, token: &str, path: &str) -> Result<(), Reason> {
        gate.verify(token, path, self.ip.as_deref(), self.now).map(|_| ())
    }

    /// Byte range of a field's value (`name=` up to the next `~` or the end).
    fn field(&self, name: &str) -> std::ops::Range<usize> {
        let mut at = 0;
        for field in self.token.split('~') {
            if let Some(value) = field.strip_prefix(name).and_then(|f| f.strip_prefix('=')) {
                let start = at + name.len() + 1;
                return start..start + value.len();
            }
            at += field.len() + 1;
        }
        panic!("{}: token has no {name} field", self.name)
    }
}

/// `text` with the character at byte offset `at` replaced by `with`.
fn replace_at(text: &str, at: usize, with: char) -> String {
    let old = text[at..].chars().next().unwrap_or_else(|| panic!("offset {at} out of range"));
    format!("{}{with}{}", &text[..at], &text[at + old.len_utf8()..])
}

/// A different ordinary character: never a delimiter, a wildcard or a hex-case twin.
fn other_char(c: char) -> char {
    if c == 'x' { 'y' } else { 'x' }
}

/// SPEC §2's HMAC input, computed with a plain HMAC-SHA256 and not through `Gate`: the text
/// before `~hmac=`, then `~url=` + path for a URL token, then `~salt=` + salt. The library
/// made each MAC its own way; agreeing with it here pins the formula itself, so a signer
/// and verifier that shared a wrong formula could not both pass.
#[test]
fn spec_hmac_formula_reproduces_every_library_mac() {
    use hmac::{KeyInit, Mac};
    for v in load() {
        let (signed, mac_hex) = v.token.rsplit_once("~hmac=").unwrap_or_else(|| panic!("{}: no hmac", v.name));
        let key: Vec<u8> =
            (0..v.key.len() / 2).map(|i| u8::from_str_radix(&v.key[2 * i..2 * i + 2], 16).expect("hex key")).collect();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("key");
        mac.update(signed.as_bytes());
        if v.kind == "url" {
            mac.update(b"~url=");
            mac.update(v.path().as_bytes());
        }
        if !v.salt.is_empty() {
            mac.update(b"~salt=");
            mac.update(v.salt.as_bytes());
        }
        let ours: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(ours, mac_hex, "{}: SPEC §2's formula disagrees with the library", v.name);
    }
}

#[test]
fn coverage_is_what_the_issue_asks_for() {
    let vectors = load();
    let any = |f: &dyn Fn(&Vector) -> bool| vectors.iter().any(f);
    let url_has = |s: &str| any(&|v| v.url.as_deref().is_some_and(|u| u.contains(s)));
    let acl_has = |s: &str| any(&|v| v.acl.iter().flatten().any(|a| a.contains(s)));
    assert!(any(&|v| v.acl.as_ref().is_some_and(|a| a.len() == 1)), "single ACL");
    assert!(any(&|v| v.acl.as_ref().is_some_and(|a| a.len() > 1)), "several ACLs");
    assert!(acl_has("*") && acl_has("?"), "ACL wildcards");
    assert!(any(&|v| v.kind == "url"), "URL tokens");
    assert!(any(&|v| v.st.is_some()), "st");
    assert!(any(&|v| v.ip.as_deref().is_some_and(|ip| ip.parse::<IpAddr>().is_ok_and(|a| a.is_ipv4()))), "IPv4");
    assert!(any(&|v| v.ip.as_deref().is_some_and(|ip| ip.parse::<IpAddr>().is_ok_and(|a| a.is_ipv6()))), "IPv6");
    assert!(any(&|v| v.id.is_some()) && any(&|v| v.data.is_some()), "id and data");
    assert!(any(&|v| !v.salt.is_empty()), "salt");
    assert!(url_has("+") && url_has("~") && url_has(" ") && any(&|v| v.url.as_deref().is_some_and(|u| !u.is_ascii())));
}

#[test]
fn every_vector_verifies_for_its_path() {
    for v in load() {
        let gate = v.gate();
        let verified =
            gate.verify(&v.token, v.path(), v.ip.as_deref(), v.now).unwrap_or_else(|r| panic!("{}: {r}", v.name));
        assert_eq!(verified.key_id, "k0", "{}", v.name);
        assert_eq!(verified.token.id, v.id.as_deref(), "{}", v.name);
        assert_eq!(verified.token.data, v.data.as_deref(), "{}", v.name);
        assert_eq!(verified.token.expires, v.exp, "{}", v.name);
        assert_eq!(verified.token.start, v.st, "{}", v.name);
        assert_eq!(verified.token.is_url_token(), v.kind == "url", "{}", v.name);
        if let Some(acls) = &v.acl {
            assert_eq!(verified.token.acls().collect::<Vec<_>>(), *acls, "{}", v.name);
            assert!(reference_acl_match(acls, v.path()), "{}: match_path outside the ACL", v.name);
        }
        if let Some(request_path) = &v.request_path {
            assert_eq!(canonicalize(request_path).as_deref(), Ok(v.path()), "{}: request_path", v.name);
        }
        // SPEC §2: either case of hex is accepted.
        let upper = format!("{}{}", &v.token[..v.field("hmac").start], v.token[v.field("hmac")].to_ascii_uppercase());
        assert_eq!(v.verify(&gate, &upper, v.path()), Ok(()), "{}: upper-case hmac", v.name);
    }
}

#[test]
fn our_signer_reproduces_every_vector() {
    for v in load() {
        let gate = v.gate();
        let claims = |scope: Scope| Claims {
            ip: v.ip.clone(),
            start: v.st,
            expires: v.exp,
            scope,
            id: v.id.clone(),
            data: v.data.clone(),
        };
        let mut scopes = Vec::new();
        match (&v.acl, &v.url, &v.request_path) {
            (Some(acls), _, _) => scopes.push(Scope::Acl(acls.clone())),
            (None, Some(url), Some(request_path)) => {
                // `sign --url` takes a path as a client sends it; the canonical spelling is
                // one such spelling unless it holds a literal '%'.
                scopes.push(Scope::Url(request_path.clone()));
                if !url.contains('%') {
                    scopes.push(Scope::Url(url.clone()));
                }
            }
            _ => panic!("{}: neither acl nor url+request_path", v.name),
        }
        for scope in scopes {
            let ours = gate.sign(&claims(scope.clone())).unwrap_or_else(|e| panic!("{}: {e}", v.name));
            assert_eq!(ours, v.token, "{}: sign({scope:?}) differs from akamai-edgeauth", v.name);
        }
    }
}

#[test]
fn every_hmac_character_change_is_denied() {
    for v in load() {
        let gate = v.gate();
        for at in v.field("hmac") {
            let c = char::from(v.token.as_bytes()[at]);
            let digit = c.to_digit(16).unwrap_or_else(|| panic!("{}: hmac not hex", v.name));
            let other = char::from_digit((digit + 1) % 16, 16).unwrap_or('0');
            assert_eq!(
                v.verify(&gate, &replace_at(&v.token, at, other), v.path()),
                Err(Reason::BadSignature),
                "{}: hmac[{at}]",
                v.name
            );
            for bad in ['g', 'Z', ' ', '~'] {
                assert_eq!(
                    v.verify(&gate, &replace_at(&v.token, at, bad), v.path()),
                    Err(Reason::MalformedToken),
                    "{}: hmac[{at}] = {bad:?}",
                    v.name
                );
            }
        }
        let mac = v.field("hmac");
        let short = &v.token[..mac.end - 1];
        assert_eq!(v.verify(&gate, short, v.path()), Err(Reason::MalformedToken), "{}: 63 digits", v.name);
        let long = format!("{}0", v.token);
        assert_eq!(v.verify(&gate, &long, v.path()), Err(Reason::MalformedToken), "{}: 65 digits", v.name);
    }
}

#[test]
fn every_exp_digit_change_is_denied() {
    for v in load() {
        let gate = v.gate();
        for at in v.field("exp") {
            let digit = u32::from(v.token.as_bytes()[at] - b'0');
            let other = char::from_digit((digit + 1) % 10, 10).unwrap_or('0');
            let changed = replace_at(&v.token, at, other);
            let new_exp: u64 = changed[v.field("exp")].parse().unwrap_or_else(|e| panic!("{}: {e}", v.name));
            // A changed exp that falls to or below st breaks a parse rule before any HMAC.
            let want = if v.st.is_some_and(|st| st >= new_exp) { Reason::MalformedToken } else { Reason::BadSignature };
            assert_eq!(v.verify(&gate, &changed, v.path()), Err(want), "{}: exp[{at}] -> {other}", v.name);
            for bad in ['x', '-', ' ', '+'] {
                assert_eq!(
                    v.verify(&gate, &replace_at(&v.token, at, bad), v.path()),
                    Err(Reason::MalformedToken),
                    "{}: exp[{at}] = {bad:?}",
                    v.name
                );
            }
        }
    }
}

#[test]
fn every_acl_character_change_is_denied() {
    let mut checked = 0;
    for v in load().iter().filter(|v| v.kind == "acl") {
        let gate = v.gate();
        let acl = v.field("acl");
        for (offset, c) in v.token[acl.clone()].char_indices() {
            let changed = replace_at(&v.token, acl.start + offset, other_char(c));
            assert_eq!(v.verify(&gate, &changed, v.path()), Err(Reason::BadSignature), "{}: acl[{offset}]", v.name);
            checked += 1;
        }
        // Widening the grant is the attack an ACL edit is for: it must fail the same way.
        let widened = format!("{}*{}", &v.token[..acl.end], &v.token[acl.end..]);
        assert_eq!(v.verify(&gate, &widened, "/elsewhere"), Err(Reason::BadSignature), "{}: acl+*", v.name);
        let extra = format!("{}!/*{}", &v.token[..acl.end], &v.token[acl.end..]);
        assert_eq!(v.verify(&gate, &extra, "/elsewhere"), Err(Reason::BadSignature), "{}: acl+!/*", v.name);
        let emptied = format!("{}!{}", &v.token[..acl.end], &v.token[acl.end..]);
        assert_eq!(v.verify(&gate, &emptied, v.path()), Err(Reason::MalformedToken), "{}: empty ACL", v.name);
    }
    assert!(checked > 100, "only {checked} ACL characters checked");
}

#[test]
fn every_path_character_change_is_denied() {
    let (mut url_checked, mut acl_denied, mut acl_still_covered) = (0, 0, 0);
    for v in load() {
        let gate = v.gate();
        let path = v.path();
        for (at, c) in path.char_indices().skip(1) {
            let changed = replace_at(path, at, other_char(c));
            let got = v.verify(&gate, &v.token, &changed);
            match &v.acl {
                // A URL token signs its path: any other path is another signature.
                None => {
                    assert_eq!(got, Err(Reason::BadSignature), "{}: path {changed:?}", v.name);
                    url_checked += 1;
                }
                Some(acls) if reference_acl_match(acls, &changed) => {
                    assert_eq!(got, Ok(()), "{}: path {changed:?} is still inside the ACL", v.name);
                    acl_still_covered += 1;
                }
                Some(_) => {
                    assert_eq!(got, Err(Reason::AclMismatch), "{}: path {changed:?}", v.name);
                    acl_denied += 1;
                }
            }
        }
        // Appending, or dropping the last character, changes the path as well.
        let longer = format!("{path}x");
        let shorter = &path[..path.len() - path.chars().last().map_or(0, char::len_utf8)];
        for changed in [longer.as_str(), shorter] {
            let want = match &v.acl {
                None => Err(Reason::BadSignature),
                Some(acls) if reference_acl_match(acls, changed) => Ok(()),
                Some(_) => Err(Reason::AclMismatch),
            };
            assert_eq!(v.verify(&gate, &v.token, changed), want, "{}: path {changed:?}", v.name);
        }
    }
    assert!(
        url_checked > 100 && acl_denied > 50 && acl_still_covered > 10,
        "{url_checked} {acl_denied} {acl_still_covered}"
    );
}

#[test]
fn keys_salt_time_and_ip_are_all_bound() {
    let stranger = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    for v in load() {
        let path = v.path();
        // Another key, or a salt that differs, is another signature.
        assert_eq!(v.verify(&gate_with(&[stranger], &v.salt), &v.token, path), Err(Reason::BadSignature), "{}", v.name);
        let other_salt = if v.salt.is_empty() { "pepper".to_owned() } else { String::new() };
        assert_eq!(
            v.verify(&gate_with(&[&v.key], &other_salt), &v.token, path),
            Err(Reason::BadSignature),
            "{}",
            v.name
        );
        // Rotation: the vector's key in second place still verifies, and is named.
        let rotated = gate_with(&[stranger, &v.key], &v.salt);
        let verified = rotated.verify(&v.token, path, v.ip.as_deref(), v.now);
        assert_eq!(verified.map(|ok| ok.key_id), Ok("k1"), "{}: rotation", v.name);

        let gate = v.gate();
        let at = |now: u64| gate.verify(&v.token, path, v.ip.as_deref(), now).map(|_| ());
        assert_eq!(at(v.exp + LEEWAY), Ok(()), "{}: last second of leeway", v.name);
        assert_eq!(at(v.exp + LEEWAY + 1), Err(Reason::Expired), "{}", v.name);
        if let Some(st) = v.st {
            assert_eq!(at(st - LEEWAY), Ok(()), "{}: first second of leeway", v.name);
            assert_eq!(at(st - LEEWAY - 1), Err(Reason::NotYetValid), "{}", v.name);
        }

        let from = |ip: Option<&str>| gate.verify(&v.token, path, ip, v.now).map(|_| ());
        match v.ip.as_deref().map(|ip| ip.parse::<IpAddr>().unwrap_or_else(|e| panic!("{}: {e}", v.name))) {
            None => assert_eq!(from(Some("192.0.2.200")), Ok(()), "{}: unbound token", v.name),
            Some(bound) => {
                assert_eq!(from(None), Err(Reason::IpMismatch), "{}: no viewer address", v.name);
                let elsewhere = if bound.is_ipv4() { "192.0.2.200" } else { "2001:db8::dead" };
                assert_eq!(from(Some(elsewhere)), Err(Reason::IpMismatch), "{}", v.name);
                // Parsed addresses compare, so another spelling of the same viewer passes.
                let respelled = match bound {
                    IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or_else(
                        || v6.segments().iter().map(|s| format!("{s:04X}")).collect::<Vec<_>>().join(":"),
                        |v4| v4.to_string(),
                    ),
                    IpAddr::V4(v4) => v4.to_ipv6_mapped().to_string(),
                };
                assert_eq!(from(Some(&respelled)), Ok(()), "{}: viewer {respelled}", v.name);
            }
        }
    }
}
