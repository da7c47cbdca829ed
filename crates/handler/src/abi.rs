//! The byte layout between `js/index.mjs` and the WASM exports (documented in `wasm.rs`),
//! decoded and encoded without `unsafe` and compiled on every target, so native unit tests
//! and the `abi` fuzz target exercise exactly what the module runs. `wasm.rs` keeps only
//! the shell that hands the module's memory to these functions.
//!
//! Public (and hidden from the docs) only for the fuzz target; no runtime other than the
//! WASM module uses it.
#![forbid(unsafe_code)]

use alloc::vec::Vec;

use crate::decide::{Forward, RequestView};

/// Header words before the cookie lengths.
pub const FIXED_WORDS: usize = 7;
/// Length word of an absent `querystring`.
pub const ABSENT: u32 = u32::MAX;

/// `edgegate_decide`: answer at the edge (output words 0–3).
pub const DENY: u32 = 1;
/// `edgegate_decide` forward: new `uri` in output words 0–1.
pub const URI: u32 = 2;
/// `edgegate_decide` forward: new `querystring` in output words 2–3.
pub const QUERY: u32 = 4;
/// `edgegate_decide` forward: new cookie values, pairs at word 4, count at word 5.
pub const COOKIES: u32 = 8;
/// `edgegate_origin_response`: set `cache-control` to output words 0–1.
pub const SET: u32 = 16;
/// `edgegate_origin_response`: keep the response, log output words 2–3.
pub const KEEP: u32 = 32;
/// The input was unusable; JavaScript answers for itself.
pub const ERROR: u32 = u32::MAX;

/// The request strings, borrowed from the input region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Raw `uri`.
    pub uri: &'a str,
    /// Raw `querystring`; `None` when the event has none.
    pub query: Option<&'a str>,
    /// Viewer address.
    pub client_ip: &'a str,
    /// CloudFront request id.
    pub request_id: &'a str,
    /// Distribution id.
    pub distribution_id: &'a str,
    /// Every `cookie` header value (none for an origin response).
    pub cookies: Vec<&'a str>,
}

impl<'a> Fields<'a> {
    /// Decodes the input region. `None` when a word or a string runs past the region, a
    /// string is not UTF-8, or the cookie count cannot fit: a region JavaScript did not
    /// write whole is refused, never read in part.
    pub fn parse(region: &'a [u8]) -> Option<Fields<'a>> {
        Self::parse_len(region).map(|(fields, _)| fields)
    }

    /// [`Fields::parse`] and the number of bytes the layout took from the region.
    pub fn parse_len(region: &'a [u8]) -> Option<(Fields<'a>, usize)> {
        let word = |i: usize| -> Option<u32> {
            let bytes: [u8; 4] = region.get(i.checked_mul(4)?..i.checked_mul(4)?.checked_add(4)?)?.try_into().ok()?;
            Some(u32::from_le_bytes(bytes))
        };
        let n = usize::try_from(word(6)?).ok()?;
        let words = FIXED_WORDS.checked_add(n)?;
        let mut at = words.checked_mul(4)?;
        // Before any allocation sized by `n`: the count must fit the region's words.
        if at > region.len() {
            return None;
        }
        let mut take = |len: u32| -> Option<&'a str> {
            let end = at.checked_add(usize::try_from(len).ok()?)?;
            let text = core::str::from_utf8(region.get(at..end)?).ok()?;
            at = end;
            Some(text)
        };
        let method = take(word(0)?)?;
        let uri = take(word(1)?)?;
        let query = match word(2)? {
            ABSENT => None,
            len => Some(take(len)?),
        };
        let client_ip = take(word(3)?)?;
        let request_id = take(word(4)?)?;
        let distribution_id = take(word(5)?)?;
        let mut cookies = Vec::with_capacity(n);
        for i in 0..n {
            cookies.push(take(word(FIXED_WORDS + i)?)?);
        }
        let fields = Fields { method, uri, query, client_ip, request_id, distribution_id, cookies };
        Some((fields, at))
    }

    /// The request as [`crate::decide`] reads it.
    pub fn view(&self) -> RequestView<'_> {
        RequestView {
            method: self.method,
            uri: self.uri,
            querystring: self.query,
            cookies: &self.cookies,
            client_ip: self.client_ip,
            request_id: self.request_id,
            distribution_id: self.distribution_id,
        }
    }

    /// The layout `index.mjs` writes for these fields (the inverse of [`Fields::parse`]).
    /// `None` when a string is too long for its length word (or is `ABSENT` long).
    pub fn encode(&self) -> Option<Vec<u8>> {
        let len = |s: &str| u32::try_from(s.len()).ok().filter(|&n| n != ABSENT);
        let query_len = match self.query {
            Some(query) => len(query)?,
            None => ABSENT,
        };
        let n = u32::try_from(self.cookies.len()).ok()?;
        let mut words = Vec::with_capacity(FIXED_WORDS + self.cookies.len());
        words.extend([len(self.method)?, len(self.uri)?, query_len]);
        words.extend([len(self.client_ip)?, len(self.request_id)?, len(self.distribution_id)?, n]);
        for cookie in &self.cookies {
            words.push(len(cookie)?);
        }
        let mut out = Vec::new();
        for word in words {
            out.extend_from_slice(&word.to_le_bytes());
        }
        let strings = [self.method, self.uri, self.query.unwrap_or(""), self.client_ip, self.request_id];
        for text in strings.into_iter().chain([self.distribution_id]).chain(self.cookies.iter().copied()) {
            out.extend_from_slice(text.as_bytes());
        }
        Some(out)
    }
}

/// The address JavaScript reads for `items`: an offset into the module's memory. Exact on
/// wasm32; on other targets (tests) the low 32 bits, which nothing dereferences.
pub fn addr<T>(items: &[T]) -> u32 {
    items.as_ptr() as usize as u32
}

/// A length word; saturates (no string JavaScript can hand in reaches 4 GiB).
pub fn len_word(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The `(address, length)` pairs of a forward's new cookie values (output word 4 points at
/// them); empty when the cookies are unchanged or dropped.
pub fn cookie_pairs(forward: &Forward) -> Vec<u32> {
    let Some(cookies) = &forward.cookies else {
        return Vec::new();
    };
    let mut pairs = Vec::with_capacity(cookies.len() * 2);
    for value in cookies {
        pairs.push(addr(value.as_bytes()));
        pairs.push(len_word(value.len()));
    }
    pairs
}

/// Flags and output words of a forward of the viewer request whose `uri` was
/// `viewer_uri`; `pairs` is [`cookie_pairs`] of the same forward, kept alive by the caller.
pub fn forward_output(forward: &Forward, viewer_uri: &str, pairs: &[u32]) -> (u32, [u32; 6]) {
    let mut flags = 0;
    let mut out = [0; 6];
    if forward.uri != viewer_uri {
        flags |= URI;
        out[0] = addr(forward.uri.as_bytes());
        out[1] = len_word(forward.uri.len());
    }
    if let Some(query) = &forward.querystring {
        flags |= QUERY;
        out[2] = addr(query.as_bytes());
        out[3] = len_word(query.len());
    }
    if forward.cookies.is_some() {
        flags |= COOKIES;
        out[4] = addr(pairs);
        out[5] = len_word(pairs.len() / 2);
    }
    (flags, out)
}

/// Output words of a denial: the response JSON and the log line.
pub fn deny_output(json: &[u8], log: &str) -> [u32; 6] {
    [addr(json), len_word(json.len()), addr(log.as_bytes()), len_word(log.len()), 0, 0]
}

/// Output words of a text in words 0–1 (error text, `cache-control` value, internal JSON).
pub fn text_output(text: &str) -> [u32; 6] {
    [addr(text.as_bytes()), len_word(text.len()), 0, 0, 0, 0]
}

/// Output words of a log line in words 2–3 (origin response kept unchanged).
pub fn log_output(log: &str) -> [u32; 6] {
    [0, 0, addr(log.as_bytes()), len_word(log.len()), 0, 0]
}

#[cfg(test)]
mod tests {
    use alloc::string::String;
    use alloc::vec;

    use super::*;

    fn sample() -> Fields<'static> {
        Fields {
            method: "GET",
            uri: "/acme/main/a b.deb",
            query: Some("__token__=x&y"),
            client_ip: "192.0.2.1",
            request_id: "r-1",
            distribution_id: "E1",
            cookies: vec!["a=1", "__token__=t; b=2"],
        }
    }

    fn words(region: &mut [u8], i: usize, value: u32) {
        region[4 * i..4 * i + 4].copy_from_slice(&value.to_le_bytes());
    }

    #[test]
    fn encode_then_parse_is_identity() {
        for fields in [
            sample(),
            Fields { query: None, cookies: vec![], ..sample() },
            Fields { query: Some(""), cookies: vec![""], method: "", ..sample() },
            Fields { uri: "/é/€/𝄞", cookies: vec!["x"; 40], ..sample() },
        ] {
            let region = fields.encode().expect("encodable");
            let (parsed, used) = Fields::parse_len(&region).expect("parses");
            assert_eq!(parsed, fields);
            assert_eq!(used, region.len());
        }
    }

    #[test]
    fn trailing_bytes_are_ignored() {
        // The region is larger than any one request: what follows the layout is stale.
        let mut region = sample().encode().expect("encodable");
        let used = region.len();
        region.extend_from_slice(&[0xFF; 64]);
        assert_eq!(Fields::parse_len(&region), Some((sample(), used)));
    }

    #[test]
    fn absent_querystring_marker() {
        let fields = Fields { query: None, ..sample() };
        let region = fields.encode().expect("encodable");
        assert_eq!(u32::from_le_bytes(region[8..12].try_into().expect("word")), ABSENT);
        assert_eq!(Fields::parse(&region).expect("parses").query, None);
        // Zero length is an empty query string, not an absent one.
        let empty = Fields { query: Some(""), ..sample() };
        assert_eq!(Fields::parse(&empty.encode().expect("encodable")).expect("parses").query, Some(""));
    }

    #[test]
    fn every_truncation_is_refused() {
        let region = sample().encode().expect("encodable");
        for cut in 0..region.len() {
            assert_eq!(Fields::parse(&region[..cut]), None, "parsed a region cut at {cut}");
        }
    }

    #[test]
    fn lengths_past_the_region_are_refused() {
        let good = sample().encode().expect("encodable");
        for word in 0..FIXED_WORDS + 2 {
            if word == 6 {
                continue;
            }
            for value in [u32::MAX - 1, 1 << 31, good.len() as u32] {
                let mut region = good.clone();
                words(&mut region, word, value);
                assert_eq!(Fields::parse(&region), None, "word {word} = {value}");
            }
        }
    }

    #[test]
    fn cookie_count_overflow_is_refused() {
        for n in [u32::MAX, u32::MAX - 6, u32::MAX / 4, u32::MAX / 4 - 6, 1 << 30, 1000] {
            let mut region = sample().encode().expect("encodable");
            words(&mut region, 6, n);
            assert_eq!(Fields::parse(&region), None, "n = {n}");
        }
        // A count whose words fit but whose strings do not.
        let mut region = vec![0u8; 4 * (FIXED_WORDS + 3)];
        words(&mut region, 6, 3);
        words(&mut region, FIXED_WORDS + 2, 1);
        assert_eq!(Fields::parse(&region), None);
        region.push(b'x');
        assert_eq!(Fields::parse(&region).expect("fits").cookies, vec!["", "", "x"]);
    }

    #[test]
    fn non_utf8_is_refused_in_every_field() {
        let fields = Fields {
            method: "M",
            uri: "U",
            query: Some("Q"),
            client_ip: "C",
            request_id: "R",
            distribution_id: "D",
            cookies: vec!["K"],
        };
        let good = fields.encode().expect("encodable");
        let strings_at = 4 * (FIXED_WORDS + 1);
        assert!(Fields::parse(&good).is_some());
        for i in strings_at..good.len() {
            for bad in [0xFF, 0xC3, 0x80] {
                let mut region = good.clone();
                region[i] = bad;
                assert_eq!(Fields::parse(&region), None, "byte {i} = {bad:#x}");
            }
        }
        // A multi-byte character split between two fields is two invalid strings.
        let split = Fields { method: "é", uri: "", ..fields.clone() };
        let mut region = split.encode().expect("encodable");
        words(&mut region, 0, 1);
        words(&mut region, 1, 1);
        assert_eq!(Fields::parse(&region), None);
    }

    #[test]
    fn region_shorter_than_the_header() {
        for len in 0..4 * FIXED_WORDS {
            assert_eq!(Fields::parse(&vec![0; len]), None, "len {len}");
        }
        // All-zero header: every string empty, no query string, no cookie.
        let zero = Fields::parse(&[0; 4 * FIXED_WORDS]).expect("parses");
        assert_eq!((zero.method, zero.query, zero.cookies.len()), ("", Some(""), 0));
    }

    #[test]
    fn output_layout() {
        let forward = Forward {
            uri: String::from("/a%20b"),
            querystring: Some(String::from("y")),
            cookies: Some(vec![String::from("a=1"), String::from("b=2")]),
        };
        let pairs = cookie_pairs(&forward);
        assert_eq!(pairs.len(), 4);
        assert_eq!((pairs[1], pairs[3]), (3, 3));
        assert_eq!(pairs[0], addr(forward.cookies.as_ref().expect("cookies")[0].as_bytes()));
        let (flags, out) = forward_output(&forward, "/a b", &pairs);
        assert_eq!(flags, URI | QUERY | COOKIES);
        assert_eq!((out[0], out[1]), (addr(forward.uri.as_bytes()), 6));
        assert_eq!(out[3], 1);
        assert_eq!(out[5], 2);

        // The viewer's uri already canonical, query and cookies unchanged: a bare forward.
        let plain = Forward { uri: String::from("/a"), querystring: None, cookies: None };
        assert_eq!(forward_output(&plain, "/a", &[]), (0, [0; 6]));
        // Cookies dropped: the flag with a count of 0.
        let dropped = Forward { cookies: Some(vec![]), ..plain };
        let (flags, out) = forward_output(&dropped, "/a", &cookie_pairs(&dropped));
        assert_eq!((flags, out[5]), (COOKIES, 0));

        let (json, log) = (b"{}", "log");
        assert_eq!(deny_output(json, log), [addr(json), 2, addr(log.as_bytes()), 3, 0, 0]);
        assert_eq!(text_output(log), [addr(log.as_bytes()), 3, 0, 0, 0, 0]);
        assert_eq!(log_output(log), [0, 0, addr(log.as_bytes()), 3, 0, 0]);
    }
}
