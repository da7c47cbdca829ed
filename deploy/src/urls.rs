//! How a token is written into a URL, in one place for `edgegate sign` and the `serve`
//! banner and demo application (SPEC §4).

/// Percent-encodes everything outside `A-Z a-z 0-9 - . _`. `~`, `=`, `!`, `*` and `/` are
/// encoded too: in a path segment `/` would end the token, and some clients and proxies
/// rewrite `~` or `!`, so only bytes no one touches are left bare. The gate
/// percent-decodes the value (SPEC §4), so the token arrives byte for byte.
pub fn encode_token(token: &str) -> String {
    edgegate_core::path::percent_encode(token, |b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// A URL as it must be written in an apt `sources.list` line: apt decodes `%XX` in the
/// whole URI there once before it builds request URLs, so every `%` is encoded once more
/// (`%2F` → `%252F`) and apt sends the URL as given here.
pub fn for_apt(url: &str) -> String {
    url.replace('%', "%25")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_encoding_round_trips_through_the_gate_decoder() {
        let token = "ip=2001:db8::1~exp=1~acl=/a/*!/b?c~data=x y+é~hmac=00";
        let encoded = encode_token(token);
        assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._%".contains(&b)), "{encoded}");
        assert_eq!(edgegate_core::path::percent_decode(&encoded).as_deref(), Some(token.as_bytes()));
        let apt = for_apt(&format!("https://cdn.example.com/__token__={encoded}/libstdc%2B%2B/"));
        let decoded = edgegate_core::path::percent_decode(&apt).map(String::from_utf8);
        assert_eq!(decoded, Some(Ok(format!("https://cdn.example.com/__token__={encoded}/libstdc%2B%2B/"))));
    }
}
