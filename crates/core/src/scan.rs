//! Byte searches for every per-request scan: 64-byte blocks the compiler vectorises for
//! long texts, and word-at-a-time (SWAR) steps for short ones and tails. No `unsafe`, no
//! intrinsics: the same code is SSE2 natively and WebAssembly SIMD in the module (built
//! with `+simd128`, see the workspace `Cargo.toml`), and correct without either.
//!
//! Every request is scanned byte by byte several times: the token's fields, the path while
//! it is decoded, checked for control characters, redacted and written into the log line.
//! A viewer chooses the size of what is scanned (8 KB of `uri`, 20 KB of headers), and a
//! byte loop with a branch or two per byte was most of the worst case `make bench`
//! measures. Each search here answers "the first byte of this class, or the end".
//!
//! A [`Class`] is a set of bytes in two forms: a byte test, and a function from a word to
//! a mask with the high bit of a byte set when that byte is a member. The masks are exact:
//! a lane's arithmetic never carries or borrows into the next lane, so a word's lowest set
//! bit is always the first match. [`check_class`] proves the two forms agree.

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

/// A set of bytes, written twice: per byte for the long-text loop (which the compiler
/// turns into vector compares, sixteen lanes at a time), and per word for short texts
/// and tails (SWAR, built from [`eq`], [`below`], [`non_ascii`]). [`check_class`] holds
/// the two to the same set.
pub trait Class: Copy {
    /// True for a member.
    fn byte(self, b: u8) -> bool;
    /// The high bit of each member byte's lane (exact per lane, as [`eq`] is).
    fn word(self, word: u64) -> u64;
}

/// One byte value.
#[derive(Clone, Copy, Debug)]
pub struct Byte(pub u8);

impl Class for Byte {
    #[inline(always)]
    fn byte(self, b: u8) -> bool {
        b == self.0
    }
    #[inline(always)]
    fn word(self, word: u64) -> u64 {
        eq(word, self.0)
    }
}

/// Either of two byte values.
#[derive(Clone, Copy, Debug)]
pub struct Either(pub u8, pub u8);

impl Class for Either {
    #[inline(always)]
    fn byte(self, b: u8) -> bool {
        b == self.0 || b == self.1
    }
    #[inline(always)]
    fn word(self, word: u64) -> u64 {
        eq(word, self.0) | eq(word, self.1)
    }
}

/// Bytes a long search tests per step. Sixty-four byte tests folded into one answer are
/// four 16-byte vector compares and one branch: about three times the speed of SWAR
/// words, measured on 8 KB texts (a one-word step is a branch per eight bytes).
pub(crate) const BLOCK: usize = 64;

#[inline(always)]
fn load(chunk: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(chunk);
    u64::from_le_bytes(word)
}

/// A text of 1 to 7 bytes as the low bytes of a word (the rest zero), built from two
/// overlapping loads. Copied into a zeroed word instead, it was a call to `memcpy` and a
/// load that waited for its stores: a quarter of an ACL try on `/*Z` (`find_either` over
/// the pattern's three bytes, 64 tries a token).
#[inline(always)]
fn load_short(rest: &[u8]) -> u64 {
    let n = rest.len();
    debug_assert!((1..8).contains(&n));
    if n >= 4 {
        let four = |at: usize| u64::from(u32::from_le_bytes(rest[at..at + 4].try_into().unwrap_or([0; 4])));
        // The overlap holds the same bytes in both: or-ing them changes nothing.
        four(0) | four(n - 4) << (8 * (n - 4))
    } else {
        // First, middle and last byte: 1 to 3 bytes, the repeats landing on themselves.
        let byte = |at: usize| u64::from(rest[at]) << (8 * at);
        byte(0) | byte(n / 2) | byte(n - 1)
    }
}

/// Shorter texts are searched a word at a time: most of what a normal request scans
/// (a path, a field) is this short, and the block loop is kept out of line.
const LONG: usize = 2 * BLOCK;

/// The index of the first member of `class` in `bytes`, or `bytes.len()`: for texts a
/// viewer can make long (a path, a log field, a scanned ACL run).
#[inline(always)]
pub fn find<C: Class>(bytes: &[u8], class: C) -> usize {
    if bytes.len() < LONG {
        return find_near(bytes, class);
    }
    // The first word alone, here: a member close by is common, and needs no call.
    let found = class.word(load(&bytes[..8]));
    if found != 0 {
        return (found.trailing_zeros() / 8) as usize;
    }
    find_long(bytes, class)
}

/// [`find`] for a long text whose first word holds no member: 64-byte blocks, then words.
#[inline(never)]
fn find_long<C: Class>(bytes: &[u8], class: C) -> usize {
    let mut at = 8;
    while let Some(block) = bytes.get(at..at + BLOCK) {
        let block: &[u8; BLOCK] = block.try_into().unwrap_or(&[0; BLOCK]);
        // No early exit inside the block: that is what lets it become vector code.
        let any = block.iter().fold(false, |any, &b| any | class.byte(b));
        if any {
            return at + find_near(block, class);
        }
        at += BLOCK;
    }
    at + find_near(&bytes[at..], class)
}

/// [`find`] a word at a time: for short texts and for members expected within a few
/// words (the fields of a token).
#[inline(always)]
pub fn find_near<C: Class>(bytes: &[u8], class: C) -> usize {
    let first = |mask: u64| (mask.trailing_zeros() / 8) as usize;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let found = class.word(load(chunk));
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
        Some(last) => match class.word(load(&bytes[last..])) {
            0 => bytes.len(),
            found => last + first(found),
        },
        None => {
            // Padding lanes are masked off: only the real bytes can match.
            let real = u64::MAX >> (8 * (8 - rest.len()));
            match class.word(load_short(rest)) & real {
                0 => bytes.len(),
                found => first(found),
            }
        }
    }
}

/// The index of the first `needle` in `bytes`, or `bytes.len()` (short texts).
#[inline]
pub fn find_byte(bytes: &[u8], needle: u8) -> usize {
    find_near(bytes, Byte(needle))
}

/// The index of the first byte of `bytes` that is `a` or `b`, or `bytes.len()` (short texts).
#[inline]
pub fn find_either(bytes: &[u8], a: u8, b: u8) -> usize {
    find_near(bytes, Either(a, b))
}

/// The index of the first `a` that is followed by `b`, or `bytes.len()`. Long texts go
/// 64 pairs per step (blocks of 65 bytes overlapping by one), then words.
#[inline]
pub fn find_pair(bytes: &[u8], a: u8, b: u8) -> usize {
    if bytes.len() < LONG {
        return find_pair_near(bytes, a, b);
    }
    // Pairs may be dense (a path of `/./././...`): the first window before any block.
    let word = load(&bytes[..8]);
    let found = eq(word, a) & (eq(word, b) >> 8);
    if found != 0 {
        return (found.trailing_zeros() / 8) as usize;
    }
    7 + find_pair_long(&bytes[7..], a, b)
}

#[inline(never)]
fn find_pair_long(bytes: &[u8], a: u8, b: u8) -> usize {
    let mut at = 0;
    while let Some(block) = bytes.get(at..at + BLOCK + 1) {
        let block: &[u8; BLOCK + 1] = block.try_into().unwrap_or(&[0; BLOCK + 1]);
        let any = (0..BLOCK).fold(false, |any, i| any | ((block[i] == a) & (block[i + 1] == b)));
        if any {
            return at + find_pair_near(block, a, b);
        }
        at += BLOCK;
    }
    at + find_pair_near(&bytes[at..], a, b)
}

/// [`find_pair`] a word at a time. Windows of eight bytes step by seven, so that every
/// pair lies whole in some window.
#[inline]
fn find_pair_near(bytes: &[u8], a: u8, b: u8) -> usize {
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = load(chunk);
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

/// Every position where `name` stands whole in `text`, in order: at the start or after a
/// byte of `before`, and at the end or before a byte of `after`. `edge` is a byte of both
/// classes: the text's two ends count as one (so a short text is searched as a padded copy
/// with `edge` at each end, the same search as anywhere else).
///
/// For a name looked for among many short items (cookies, query parameters), which a
/// viewer can make tiny and numerous (20 KB of `a=;`): every byte of the name is compared
/// at all 64 positions of a block at once, so the work per byte does not depend on how
/// many items there are, and all the hits of a block come from one pass over it.
pub fn find_names<'t, 'n, B: Fn(u8) -> bool, A: Fn(u8) -> bool>(
    text: &'t [u8],
    name: &'n [u8],
    edge: u8,
    before: B,
    after: A,
) -> NameHits<'t, 'n, B, A> {
    debug_assert!(before(edge) && after(edge), "the edge byte must stand for both ends");
    NameHits { text, name, edge, before, after, next: 0, base: 0, pending: 0 }
}

/// The iterator of [`find_names`].
pub struct NameHits<'t, 'n, B, A> {
    text: &'t [u8],
    name: &'n [u8],
    edge: u8,
    before: B,
    after: A,
    /// The first position not yet examined.
    next: usize,
    /// Hits found and not yet returned: bit `i` is position `base + i`.
    base: usize,
    pending: u64,
}

/// Positions only: the text may be a cookie header holding a token.
impl<B, A> core::fmt::Debug for NameHits<'_, '_, B, A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NameHits").field("next", &self.next).field("text_len", &self.text.len()).finish_non_exhaustive()
    }
}

/// Positions a search for a name in a short text tests at once: a block's kernel at a
/// quarter of the width. A cookie value of 15 bytes has seven positions, and a kernel of
/// 64 cost four times what these values need (the costliest request was 20 KB of them).
const NARROW: usize = 16;

/// Room for a text of a block of positions, a name of up to `PADDED - BLOCK - 1` bytes and
/// an edge byte at each end.
const PADDED: usize = 2 * BLOCK;

impl<B: Fn(u8) -> bool, A: Fn(u8) -> bool> NameHits<'_, '_, B, A> {
    /// Skips every position before `position` (the rest of an item already read).
    pub fn skip_to(&mut self, position: usize) {
        if position > self.next {
            self.next = position;
        }
        self.pending &= match position.checked_sub(self.base) {
            Some(seen) if seen < 64 => u64::MAX << seen,
            Some(_) => 0,
            None => u64::MAX,
        };
    }

    fn whole(&self, p: usize) -> bool {
        let (text, n) = (self.text, self.name.len());
        text.get(p) == self.name.first()
            && text.get(p..p + n).is_some_and(|at| at.iter().zip(self.name).all(|(a, b)| a == b))
            && (p == 0 || (self.before)(text[p - 1]))
            && text.get(p + n).is_none_or(|&b| (self.after)(b))
    }

    /// Hits among the `W` positions of `window` after its first byte: bit `i` when the
    /// name stands whole at `i + 1`, `window[i]` before it and `window[i + 1 + n]` after.
    /// `window` holds at least `W + n + 1` bytes.
    #[inline(never)]
    fn block_in<const W: usize>(&self, window: &[u8]) -> u64 {
        let n = self.name.len();
        let zero = [0u8; W];
        let lane = |k: usize| <&[u8; W]>::try_from(&window[k..k + W]).unwrap_or(&zero);
        let mut hit = [false; W];
        let (lead, first, trail) = (lane(0), lane(1), lane(n + 1));
        for i in 0..W {
            hit[i] = (self.before)(lead[i]) & (first[i] == self.name[0]);
        }
        // Most blocks hold no item that starts like the name: two tests per byte say so.
        if !hit.iter().fold(false, |any, &h| any | h) {
            return 0;
        }
        for i in 0..W {
            hit[i] &= (self.after)(trail[i]);
        }
        // The name's bytes four at a time: `hit` makes a round trip through memory per
        // step, and that chain, not the compares, is what a step costs.
        let name = self.name;
        let mut k = 1;
        while k + 4 <= n {
            let (l0, l1, l2, l3) = (lane(k + 1), lane(k + 2), lane(k + 3), lane(k + 4));
            let (c0, c1, c2, c3) = (name[k], name[k + 1], name[k + 2], name[k + 3]);
            for i in 0..W {
                hit[i] &= (l0[i] == c0) & (l1[i] == c1) & (l2[i] == c2) & (l3[i] == c3);
            }
            k += 4;
        }
        while k < n {
            let (l0, c0) = (lane(k + 1), name[k]);
            for i in 0..W {
                hit[i] &= l0[i] == c0;
            }
            k += 1;
        }
        // No early exit above: that is what lets it become vector code.
        if !hit.iter().fold(false, |any, &h| any | h) {
            return 0;
        }
        block_bits(&hit)
    }

    /// Hits among positions `p..p + BLOCK`, which need bytes `p - 1 .. p + BLOCK + n`.
    #[inline(always)]
    fn block(&self, p: usize) -> u64 {
        self.block_in::<BLOCK>(&self.text[p - 1..p + BLOCK + self.name.len()])
    }

    /// Hits among the last positions, `p..=len - n` (at most a block of them): the narrow
    /// kernel on a copy with `edge` before the text (when `p` is 0) and after it, so the
    /// first and last positions need no check of their own and the copy's padding only
    /// reaches positions past the last, which the mask drops. `None` for a name too long
    /// for the padding (the configuration allows one; a viewer cannot choose it).
    #[inline(never)]
    fn padded(&self, p: usize) -> Option<u64> {
        let (text, n) = (self.text, self.name.len());
        let positions = text.len() - n + 1 - p;
        if n + 1 + BLOCK > PADDED || positions > BLOCK {
            return None;
        }
        let mut padded = [0u8; PADDED];
        let copied = match p.checked_sub(1) {
            Some(before) => {
                let rest = &text[before..];
                padded[..rest.len()].copy_from_slice(rest);
                rest.len()
            }
            None => {
                padded[0] = self.edge;
                padded[1..=text.len()].copy_from_slice(text);
                text.len() + 1
            }
        };
        padded[copied] = self.edge;
        let mut hits = 0;
        for at in (0..positions).step_by(NARROW) {
            hits |= self.block_in::<NARROW>(&padded[at..at + NARROW + n + 1]) << at;
        }
        Some(hits & (u64::MAX >> (64 - positions)))
    }
}

/// A block's flags as a mask, bit `i` for flag `i`: eight at a time, the multiply moving
/// byte i's low bit to bit 56 + i with no two partial products meeting.
#[inline(always)]
pub(crate) fn block_bits<const W: usize>(flags: &[bool; W]) -> u64 {
    flags.chunks_exact(8).enumerate().fold(0, |mask, (i, flags)| {
        let word = flags.iter().rev().fold(0u64, |word, &flag| word << 8 | u64::from(flag));
        mask | (word.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * i)
    })
}

impl<B: Fn(u8) -> bool, A: Fn(u8) -> bool> Iterator for NameHits<'_, '_, B, A> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        let (len, n) = (self.text.len(), self.name.len());
        loop {
            if self.pending != 0 {
                let i = self.pending.trailing_zeros() as usize;
                self.pending &= self.pending - 1;
                return Some(self.base + i);
            }
            let p = self.next;
            if p + n > len || n == 0 {
                // No room left (an empty name is never looked for: the configuration
                // refuses one).
                return None;
            }
            // Whole blocks, read from the text itself: from the second position on (a block
            // reads the byte before it), while a whole block of positions is left.
            if p >= 1 && p + BLOCK + n <= len {
                self.base = p;
                self.pending = self.block(p);
                self.next = p + BLOCK;
                continue;
            }
            if p == 0 && len - n >= BLOCK {
                self.next = 1;
                if self.whole(0) {
                    return Some(0);
                }
                continue;
            }
            // The rest, at most a block of positions, the last one included.
            self.next = len + 1;
            self.base = p;
            if let Some(hits) = self.padded(p) {
                self.pending = hits;
                continue;
            }
            let mut q = p;
            while q + n <= len {
                q += find_near(&self.text[q..=len - n], Byte(self.name[0]));
                if q + n <= len && self.whole(q) {
                    // `q - p < BLOCK`: at most a block of positions is left.
                    self.pending |= 1 << (q - p);
                }
                q += 1;
            }
        }
    }
}

/// `dst[..src.len()] = src`, in moves of a fixed size. A copy whose length is known only
/// at run time is a call to `memcpy`; for the many short pieces a viewer can send (800
/// cookie header values of 15 bytes) the call was a fifth of the work. Pieces of 4 to 15
/// bytes are two overlapping moves of 4 or 8 bytes, longer ones 16 bytes at a time and a
/// last overlapping 16, shorter ones byte by byte.
#[inline(always)]
pub(crate) fn copy_short(dst: &mut [u8], src: &[u8]) {
    #[inline(always)]
    fn two<const W: usize>(dst: &mut [u8], src: &[u8]) {
        let n = src.len();
        dst[..W].copy_from_slice(&src[..W]);
        dst[n - W..n].copy_from_slice(&src[n - W..]);
    }
    match src.len() {
        0..4 => dst[..src.len()].iter_mut().zip(src).for_each(|(d, &s)| *d = s),
        4..8 => two::<4>(dst, src),
        8..16 => two::<8>(dst, src),
        n => {
            let mut at = 0;
            while at + 16 < n {
                dst[at..at + 16].copy_from_slice(&src[at..at + 16]);
                at += 16;
            }
            dst[n - 16..n].copy_from_slice(&src[n - 16..]);
        }
    }
}

/// Lengths around every boundary a search crosses: within the first word, the first
/// block, the blocks, the tail words and the overlapping last word.
fn test_lengths() -> impl Iterator<Item = usize> {
    (0..20).chain([
        63, 64, 71, 72, 73, 127, 128, 129, 135, 136, 137, 143, 144, 145, 150, 199, 200, 201, 207, 208, 209, 215, 216,
        272, 273,
    ])
}

/// Holds a [`Class`]'s two forms to one set, and [`find`] and [`find_near`] to a byte
/// loop; panics naming the first disagreement. For the tests of every crate that
/// defines a class.
///
/// - `word` against `byte`: every byte value in every lane, among neighbours of every
///   byte value (a lane's arithmetic must not reach the next);
/// - both searches: one member at every position of texts up to three blocks long, in a
///   background of a non-member, and a second member after it.
#[doc(hidden)]
pub fn check_class<C: Class + core::fmt::Debug>(class: C) {
    for background in 0..=255u8 {
        for value in 0..=255u8 {
            for lane in 0..8 {
                let mut bytes = [background; 8];
                bytes[lane] = value;
                let expected = bytes
                    .iter()
                    .enumerate()
                    .fold(0u64, |mask, (k, &b)| mask | (u64::from(class.byte(b)) << (8 * k + 7)));
                let got = class.word(u64::from_le_bytes(bytes));
                assert_eq!(got, expected, "{class:?}: {value:#04x} in lane {lane} among {background:#04x}");
            }
        }
    }
    let Some(outside) = (0..=255u8).find(|&b| !class.byte(b)) else { return };
    let members: alloc::vec::Vec<u8> = (0..=255u8).filter(|&b| class.byte(b)).collect();
    for len in test_lengths() {
        for at in 0..=len {
            for &member in &members {
                let mut bytes = alloc::vec![outside; len];
                if at < len {
                    bytes[at] = member;
                    if at + 5 < len {
                        bytes[at + 5] = member;
                    }
                }
                for (name, got) in [("find", find(&bytes, class)), ("find_near", find_near(&bytes, class))] {
                    assert_eq!(got, at, "{class:?} {name}: {member:#04x} at {at} of {len}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Every length a piece can have up to four moves of 16, at every offset into a
    /// longer destination: the piece lands whole and nothing around it changes.
    #[test]
    fn short_copies_copy_exactly_the_piece() {
        let source: Vec<u8> = (0..80u8).map(|b| b.wrapping_mul(37) | 1).collect();
        for len in 0..=source.len() {
            for offset in 0..20 {
                let mut dst = [0u8; 120];
                copy_short(&mut dst[offset..], &source[..len]);
                let mut expected = [0u8; 120];
                expected[offset..offset + len].copy_from_slice(&source[..len]);
                assert_eq!(dst, expected, "{len} bytes at {offset}");
            }
        }
    }

    #[derive(Clone, Copy, Debug)]
    struct Below(u8);
    impl Class for Below {
        fn byte(self, b: u8) -> bool {
            b < self.0
        }
        fn word(self, word: u64) -> u64 {
            below(word, self.0)
        }
    }

    #[derive(Clone, Copy, Debug)]
    struct NonAscii;
    impl Class for NonAscii {
        fn byte(self, b: u8) -> bool {
            !b.is_ascii()
        }
        fn word(self, word: u64) -> u64 {
            non_ascii(word)
        }
    }

    /// Every class defined here: both forms one set, both searches a byte loop.
    #[test]
    fn every_class_agrees_with_a_byte_loop() {
        check_class(Byte(b'%'));
        check_class(Byte(0));
        check_class(Byte(0xFF));
        check_class(Either(b'~', b'!'));
        check_class(Below(0x20));
        check_class(Below(0x80));
        check_class(NonAscii);
    }

    /// A class whose word form is one lane off is caught (the check itself can fail).
    #[test]
    #[should_panic(expected = "in lane")]
    fn a_wrong_word_form_is_caught() {
        #[derive(Clone, Copy, Debug)]
        struct Off;
        impl Class for Off {
            fn byte(self, b: u8) -> bool {
                b == b'%'
            }
            fn word(self, word: u64) -> u64 {
                eq(word, b'%') << 8
            }
        }
        check_class(Off);
    }

    /// Pairs at every position of lengths around every boundary, among near misses (`a`
    /// alone, `b` alone, `b` before `a`), against a plain loop.
    #[test]
    fn pairs_agree_with_a_byte_loop() {
        for len in test_lengths() {
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

    /// Names at boundaries, among near misses (a prefix, a longer name, a name inside an
    /// item), in texts long and short, against a plain search.
    #[test]
    fn names_agree_with_a_plain_search() {
        let naive = |text: &[u8], from: usize, name: &[u8]| -> Vec<usize> {
            (from..=text.len())
                .filter(|&p| {
                    text.get(p..p + name.len()) == Some(name)
                        && (p == 0 || matches!(text[p - 1], b';' | b' '))
                        && text.get(p + name.len()).is_none_or(|&b| matches!(b, b'=' | b';'))
                })
                .collect()
        };
        let pieces: [&[u8]; 8] = [b"__t", b"__t=", b"x__t=", b"__tt=", b";", b" ", b"a=1", b"_"];
        // A small generator: every text the same, run to run.
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for round in 0..4000 {
            let mut text = Vec::new();
            let len = [3, 20, 70, 150, 300][round % 5];
            while text.len() < len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                // Mostly filler, so that a hit lands anywhere, blocks included.
                let piece = if seed.is_multiple_of(16) {
                    pieces[(seed >> 8) as usize % 4]
                } else {
                    pieces[4 + (seed >> 8) as usize % 4]
                };
                text.extend_from_slice(piece);
            }
            for from in [0, 1, 5, 64] {
                let from = from.min(text.len());
                let mut names =
                    find_names(&text, b"__t", b';', |b| matches!(b, b';' | b' '), |b| matches!(b, b'=' | b';'));
                names.skip_to(from);
                let expected = naive(&text, from, b"__t");
                let Some(&first) = expected.first() else {
                    assert_eq!(names.next(), None, "{:?} from {from}", core::str::from_utf8(&text));
                    continue;
                };
                assert_eq!(names.next(), Some(first), "{:?} from {from}", core::str::from_utf8(&text));
                // Skipping from within the pending hits of a block, or past them.
                let skip = first + 1 + (seed as usize % 90);
                names.skip_to(skip);
                let rest: Vec<usize> = names.collect();
                let expected: Vec<usize> = expected.into_iter().filter(|&p| p >= skip).collect();
                assert_eq!(rest, expected, "{:?} from {from}, skip to {skip}", core::str::from_utf8(&text));
            }
        }
    }

    /// Several members in one word: the first is reported, whatever follows it.
    #[test]
    fn the_first_of_several_matches_wins() {
        let bytes = [b'a', 0x7F, 0x00, 0x1F, b'%', 0xC2, 0x80, b'%', b'a', b'%'];
        assert_eq!(find(&bytes, Below(0x20)), 2);
        assert_eq!(find_byte(&bytes, b'%'), 4);
        assert_eq!(find(&bytes, NonAscii), 5);
        assert_eq!(find(&bytes[8..], Byte(b'%')), 1);
    }
}
