//! Word-at-a-time byte searches (SWAR: eight bytes per `u64` step, no `unsafe`, no
//! target features, so the same code runs in the WebAssembly module).
//!
//! Every request is scanned byte by byte several times: the token's fields, the path while
//! it is decoded, checked for control characters, redacted and written into the log line.
//! A viewer chooses the size of what is scanned (8 KB of `uri`, 20 KB of headers), and a
//! byte loop with a branch or two per byte was most of the worst case `make bench`
//! measures. Each search here answers "the first byte of this class, or the end".
//!
//! Each class is a function from a word to a mask with the high bit of a byte set when
//! that byte is in the class. The masks are exact: a lane's arithmetic never carries or
//! borrows into the next lane, so a word's lowest set bit is always the first match.

const LANES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// Bytes of `word` equal to `byte`.
#[inline(always)]
pub fn eq(word: u64, byte: u8) -> u64 {
    let x = word ^ (LANES * u64::from(byte));
    // A lane is zero exactly when its low seven bits plus 0x7F stay below 0x80 and its
    // high bit is clear; the sum never leaves the lane.
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// Bytes of `word` below `bound` (`bound` at most 0x80).
#[inline(always)]
pub fn below(word: u64, bound: u8) -> u64 {
    debug_assert!(bound <= 0x80);
    // Low seven bits plus (0x80 - bound) reach the high bit exactly when the byte is at
    // least `bound`; a byte with its own high bit set is never below.
    !(((word & LOW7) + LANES * u64::from(0x80 - bound)) | word) & HIGH
}

/// Bytes of `word` with the high bit set (not ASCII).
#[inline(always)]
pub fn non_ascii(word: u64) -> u64 {
    word & HIGH
}

/// The index of the first byte of `bytes` whose lane `class` marks, or `bytes.len()`.
#[inline(always)]
pub fn find(bytes: &[u8], class: impl Fn(u64) -> u64) -> usize {
    let word = |chunk: &[u8]| {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        u64::from_le_bytes(word)
    };
    let first = |mask: u64| (mask.trailing_zeros() / 8) as usize;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let found = class(word(chunk));
        if found != 0 {
            return at + first(found);
        }
        at += 8;
    }
    let rest = chunks.remainder();
    if rest.is_empty() {
        return bytes.len();
    }
    match bytes.len().checked_sub(8) {
        // The last eight bytes, overlapping what was already scanned (no match there, and
        // the masks are per byte): no copy of a variable-length tail.
        Some(last) => match class(word(&bytes[last..])) {
            0 => bytes.len(),
            found => last + first(found),
        },
        None => {
            let mut padded = [0u8; 8];
            padded[..rest.len()].copy_from_slice(rest);
            // Padding lanes are masked off: only the real bytes can match.
            let real = u64::MAX >> (8 * (8 - rest.len()));
            match class(u64::from_le_bytes(padded)) & real {
                0 => bytes.len(),
                found => first(found),
            }
        }
    }
}

/// The index of the first `needle` in `bytes`, or `bytes.len()`.
#[inline]
pub fn find_byte(bytes: &[u8], needle: u8) -> usize {
    find(bytes, |w| eq(w, needle))
}

/// The index of the first byte of `bytes` that is `a` or `b`, or `bytes.len()`.
#[inline]
pub fn find_either(bytes: &[u8], a: u8, b: u8) -> usize {
    find(bytes, |w| eq(w, a) | eq(w, b))
}

/// The index of the first `a` that is followed by `b`, or `bytes.len()`. Windows of eight
/// bytes step by seven, so that every pair lies whole in some window.
#[inline]
pub fn find_pair(bytes: &[u8], a: u8, b: u8) -> usize {
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        // Lane k: `a` at k and `b` at k + 1 (the shift brings lane k + 1 down; lane 7 gets
        // nothing, its partner is in the next window).
        let found = eq(word, a) & (eq(word, b) >> 8);
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 7;
    }
    (at..bytes.len().saturating_sub(1)).find(|&i| bytes[i] == a && bytes[i + 1] == b).unwrap_or(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Every byte value at every position of inputs of every length up to 24, against a
    /// plain loop, for each class.
    #[test]
    fn every_class_agrees_with_a_byte_loop() {
        type Case = (&'static str, fn(&[u8]) -> usize, fn(u8) -> bool);
        let cases: [Case; 5] = [
            ("eq '%'", |b| find_byte(b, b'%'), |c| c == b'%'),
            ("either '~' '!'", |b| find_either(b, b'~', b'!'), |c| c == b'~' || c == b'!'),
            ("below 0x20", |b| find(b, |w| below(w, 0x20)), |c| c < 0x20),
            ("below 0x80", |b| find(b, |w| below(w, 0x80)), |c| c < 0x80),
            ("non-ascii", |b| find(b, non_ascii), |c| c >= 0x80),
        ];
        for (name, search, member) in cases {
            for len in 0..24 {
                for at in 0..len {
                    for c in 0..=255u8 {
                        // A background of one byte not in the class (or of the class
                        // itself, for the classes that hold almost everything).
                        let background = (0..=255u8).find(|&b| !member(b)).unwrap_or(0);
                        let mut bytes: Vec<u8> = alloc::vec![background; len];
                        bytes[at] = c;
                        let expected = bytes.iter().position(|&b| member(b)).unwrap_or(len);
                        assert_eq!(search(&bytes), expected, "{name}: {c:#04x} at {at} of {len}");
                    }
                }
            }
        }
    }

    /// Pairs at every position of every length up to 24, among near misses (`a` alone,
    /// `b` alone, `b` before `a`), against a plain loop.
    #[test]
    fn pairs_agree_with_a_byte_loop() {
        for len in 0..24 {
            for background in [b'x', b'/', b'.'] {
                for at in 0..len {
                    for (first, second) in [(b'/', b'.'), (b'.', b'/'), (b'/', b'/'), (b'.', b'.')] {
                        let mut bytes: Vec<u8> = alloc::vec![background; len];
                        bytes[at] = first;
                        if at + 1 < len {
                            bytes[at + 1] = second;
                        }
                        let expected = bytes.windows(2).position(|w| w == b"/.").unwrap_or(len);
                        assert_eq!(find_pair(&bytes, b'/', b'.'), expected, "{bytes:?}");
                    }
                }
            }
        }
    }

    /// Several members in one word: the first is reported, whatever follows it.
    #[test]
    fn the_first_of_several_matches_wins() {
        let bytes = [b'a', 0x7F, 0x00, 0x1F, b'%', 0xC2, 0x80, b'%', b'a', b'%'];
        assert_eq!(find(&bytes, |w| below(w, 0x20)), 2);
        assert_eq!(find_byte(&bytes, b'%'), 4);
        assert_eq!(find(&bytes, non_ascii), 5);
        assert_eq!(find(&bytes[8..], |w| eq(w, b'%')), 1);
    }
}
