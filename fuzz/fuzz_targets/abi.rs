//! The WASM input layout (`edgegate_handler::abi`, what `js/index.mjs` writes): any bytes
//! either parse whole or are refused, never panic, and what parses re-encodes to exactly
//! the bytes it was read from. Strings built by the fuzzer survive encode + parse.
#![no_main]

use edgegate_handler::abi::Fields;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        // Raw region, as a buggy or hostile writer could leave it.
        if let Some((fields, used)) = Fields::parse_len(data) {
            assert!(used <= data.len());
            let encoded = fields.encode().expect("parsed fields re-encode");
            assert_eq!(encoded, &data[..used], "parse/encode disagree");
            let _ = fields.view();
        }
    } else {
        // Well-formed strings: the round trip is the identity.
        let text = String::from_utf8_lossy(data);
        let mut parts = text.split('\u{1}');
        let mut next = || parts.next().unwrap_or("");
        let (method, uri, query, client_ip, request_id, distribution_id) =
            (next(), next(), next(), next(), next(), next());
        let cookies: Vec<&str> = parts.collect();
        let fields = Fields {
            method,
            uri,
            query: (mode & 2 == 0).then_some(query),
            client_ip,
            request_id,
            distribution_id,
            cookies,
        };
        let mut region = fields.encode().expect("small fields encode");
        let used = region.len();
        // Stale bytes after the layout (the region is reused) change nothing.
        region.extend_from_slice(&data[..data.len().min(usize::from(mode >> 2))]);
        assert_eq!(Fields::parse_len(&region), Some((fields, used)));
    }
});
