//! Hex digits, one table each way, for every encoder and decoder in the workspace (keys,
//! HMACs, percent-encoding, request ids, JSON escapes).

use alloc::string::String;

/// Lower-case digits: HMACs and keys as EdgeAuth writes them, request ids.
pub const LOWER: &[u8; 16] = b"0123456789abcdef";
/// Upper-case digits: percent-encoding (RFC 3986 prefers them).
pub const UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Digit values, 0xFF for "not a hex digit": one load instead of three range tests, since
/// every token carries 64 hex digits and every path may carry escapes.
static VALUES: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// The value of one hex digit (either case).
pub fn value(b: u8) -> Option<u8> {
    let value = VALUES[usize::from(b)];
    (value != 0xFF).then_some(value)
}

/// The byte that two hex digits (either case) spell, high digit first: one test for both
/// (a non-digit's table entry has its high bits set).
#[inline(always)]
pub(crate) fn pair(hi: u8, lo: u8) -> Option<u8> {
    let (hi, lo) = (VALUES[usize::from(hi)], VALUES[usize::from(lo)]);
    ((hi | lo) & 0xF0 == 0).then_some(hi << 4 | lo)
}

/// Appends `bytes` as lower-case hex.
///
/// ```
/// let mut text = String::from("mac=");
/// edgegate_core::hex::push_lower(&mut text, &[0x0f, 0xa0]);
/// assert_eq!(text, "mac=0fa0");
/// ```
pub fn push_lower(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(LOWER[usize::from(b >> 4)]));
        out.push(char::from(LOWER[usize::from(b & 0xF)]));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_byte_agrees_with_the_standard_library() {
        for b in 0..=255u8 {
            assert_eq!(super::value(b), char::from(b).to_digit(16).map(|d| d as u8), "{b:#x}");
        }
        let mut text = alloc::string::String::new();
        super::push_lower(&mut text, &[0x00, 0x7f, 0xff]);
        assert_eq!(text, "007fff");
    }
}
