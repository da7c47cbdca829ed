//! `edgegate_core::token::acl_matches` against a plain dynamic-programming glob (`*` any
//! run of characters, `/` included; `?` exactly one character): the same answer for every
//! pattern and path. Sizes are bounded so the O(n·m) reference stays fast; patterns stay
//! below the matcher's documented limit on `?` runs (256 characters), past which it fails
//! closed on purpose.
#![no_main]

use edgegate_core::token::acl_matches;
use libfuzzer_sys::fuzz_target;

const MAX_PATTERN_CHARS: usize = 48;
const MAX_PATH_CHARS: usize = 160;

/// Row-by-row DP over characters: `row[j]` is true when the pattern prefix read so far
/// matches the first `j` path characters.
fn reference(pattern: &[char], path: &[char]) -> bool {
    let mut row = vec![false; path.len() + 1];
    row[0] = true;
    for &p in pattern {
        let mut next = vec![false; path.len() + 1];
        match p {
            '*' => {
                let mut any = false;
                for j in 0..=path.len() {
                    any |= row[j];
                    next[j] = any;
                }
            }
            _ => {
                for j in 1..=path.len() {
                    next[j] = row[j - 1] && (p == '?' || p == path[j - 1]);
                }
            }
        }
        row = next;
    }
    row[path.len()]
}

/// A small alphabet makes matches likely; multi-byte characters check that `?` is one
/// character, not one byte.
const ALPHABET: [char; 8] = ['a', 'b', '/', '*', '?', 'é', '.', '𝄞'];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let (pattern, path): (String, String) = if mode & 1 == 0 {
        let text = String::from_utf8_lossy(data);
        let (p, s) = text.split_once('\n').unwrap_or((&text, ""));
        (p.to_string(), s.to_string())
    } else {
        let split = data.iter().position(|&b| b == 0xFF).unwrap_or(data.len());
        let map = |bytes: &[u8]| bytes.iter().map(|&b| ALPHABET[usize::from(b) % ALPHABET.len()]).collect::<String>();
        (map(&data[..split]), map(data.get(split + 1..).unwrap_or(&[])))
    };
    let pattern_chars: Vec<char> = pattern.chars().collect();
    let path_chars: Vec<char> = path.chars().collect();
    if pattern_chars.len() > MAX_PATTERN_CHARS || path_chars.len() > MAX_PATH_CHARS {
        return;
    }
    let want = reference(&pattern_chars, &path_chars);
    assert_eq!(acl_matches(&pattern, &path), want, "pattern {pattern:?} path {path:?}");
});
