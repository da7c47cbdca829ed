//! EdgeAuth 2.0 token text (SPEC §2): parsing into typed fields, ACL matching.

use alloc::vec;
use alloc::vec::Vec;

use crate::scan::{Byte, find, find_byte, find_either, find_pair};
use core::fmt;
use core::net::IpAddr;

/// Field delimiter between `name=value` fields.
pub const FIELD_DELIMITER: char = '~';
/// Delimiter between several ACL patterns in one `acl` field.
pub const ACL_DELIMITER: char = '!';
/// Longest token text accepted (decoded). EdgeAuth tokens are a few hundred bytes, and a
/// few dozen ACLs fit; without a bound, a viewer could make every key hash 20 KB of
/// header per request (the worst case `make bench` measures), so longer is malformed,
/// refused before any HMAC.
pub const MAX_TOKEN_BYTES: usize = 2048;
/// Longest `st`/`exp` accepted, in decimal digits (SPEC §2).
const MAX_TIME_DIGITS: usize = 12;

/// A token's fields, borrowed from the token text. Built only by [`ParsedToken::parse`].
///
/// `Debug` omits the HMAC: tokens are bearer credentials and must not reach logs.
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedToken<'a> {
    /// `ip=`: the viewer address the token is bound to.
    pub ip: Option<IpAddr>,
    /// `st=`: not valid before, Unix seconds.
    pub start: Option<u64>,
    /// `exp=`: not valid after, Unix seconds.
    pub expires: u64,
    /// `acl=`: one or several patterns joined by `!`; `None` for a URL token.
    pub acl: Option<&'a str>,
    /// `id=`: carried, signed, logged, not interpreted.
    pub id: Option<&'a str>,
    /// `data=`: carried and signed, not interpreted.
    pub data: Option<&'a str>,
    /// The `acl` field holds more than one pattern: known from the parse's own search, so
    /// that the usual single pattern is matched without looking for a `!` again.
    several_acls: bool,
    /// Everything before `~hmac=`: the signed text.
    pub(crate) signed: &'a str,
    /// The `hmac` field: 64 hex digits, checked; decoded by [`ParsedToken::mac`] where it is
    /// compared, so the decoded bytes are never copied around with the token.
    mac_hex: &'a [u8; 64],
}

impl fmt::Debug for ParsedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedToken")
            .field("ip", &self.ip)
            .field("start", &self.start)
            .field("expires", &self.expires)
            .field("acl", &self.acl)
            .field("id", &self.id)
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

/// Why a token's text is malformed (reported as `malformed-token`). Kept apart so that
/// `edgegate verify` and tests can say which rule failed without the token text itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedError {
    /// A field without `=`, or with an empty value.
    EmptyOrBareField,
    /// A field name that EdgeAuth 2.0 does not define.
    UnknownField,
    /// The same field twice.
    RepeatedField,
    /// No `exp` field.
    MissingExpiry,
    /// No `hmac` field, or it is not the last one.
    HmacNotLast,
    /// `hmac` is not 64 hex digits.
    BadHmac,
    /// `st`/`exp` not 1–12 decimal digits.
    BadTime,
    /// `st >= exp`.
    StartNotBeforeExpiry,
    /// `ip` is not an IP address.
    BadIp,
    /// An empty ACL pattern (e.g. `acl=/a!`).
    EmptyAcl,
    /// The token value has a bad `%` escape or is not UTF-8 once decoded.
    BadEncoding,
    /// Longer than [`MAX_TOKEN_BYTES`].
    TooLong,
}

impl fmt::Display for MalformedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MalformedError::EmptyOrBareField => "field without '=' or with an empty value",
            MalformedError::UnknownField => "unknown field",
            MalformedError::RepeatedField => "repeated field",
            MalformedError::MissingExpiry => "missing exp",
            MalformedError::HmacNotLast => "hmac missing or not the last field",
            MalformedError::BadHmac => "hmac is not 64 hex digits",
            MalformedError::BadTime => "st/exp not 1 to 12 decimal digits",
            MalformedError::StartNotBeforeExpiry => "st is not before exp",
            MalformedError::BadIp => "ip is not an IP address",
            MalformedError::EmptyAcl => "empty ACL pattern",
            MalformedError::BadEncoding => "bad percent-encoding or not UTF-8",
            MalformedError::TooLong => "token longer than 2048 bytes",
        })
    }
}

impl core::error::Error for MalformedError {}

fn parse_time(value: &str) -> Result<u64, MalformedError> {
    if value.is_empty() || value.len() > MAX_TIME_DIGITS || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MalformedError::BadTime);
    }
    // 12 digits always fit in u64; the fold cannot overflow.
    Ok(value.bytes().fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0')))
}

/// The 64 hex digits of an `hmac` field as eight 32-bit words, and whether any is not a
/// hex digit (non-zero). Eight digits per step, as one u64 (SWAR), without a branch: every
/// request checks and decodes 64 digits, and a byte-at-a-time loop cost a third of the
/// HMAC itself.
#[inline(always)]
fn hex_words(bytes: &[u8; 64]) -> ([u32; 8], u64) {
    const LANES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = [0u32; 8];
    let mut invalid = 0u64;
    for (out, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // Range tests per byte through the high bit. They are exact for ASCII bytes; a
        // non-ASCII byte may disturb its neighbour's tests through a carry, but its own
        // high bit already marks the word invalid.
        let digit = x.wrapping_add(LANES * 0x50) & !x.wrapping_add(LANES * 0x46);
        let lower = x | (LANES * 0x20);
        let letter = lower.wrapping_add(LANES * 0x1F) & !lower.wrapping_add(LANES * 0x19);
        invalid |= (x | !(digit | letter)) & HIGH;
        // '0'..'9' → low nibble; 'a'..'f' / 'A'..'F' (bit 6 set) → low nibble + 9.
        let nibbles = (x & (LANES * 0x0F)) + ((x >> 6) & LANES) * 9;
        // Each even byte takes its high nibble and the next byte's low one, then the four
        // even bytes are gathered into the low half.
        let pairs = ((nibbles << 4) | (nibbles >> 8)) & 0x00FF_00FF_00FF_00FF;
        let pairs = (pairs | (pairs >> 8)) & 0x0000_FFFF_0000_FFFF;
        *out = (pairs | (pairs >> 16)) as u32;
    }
    (words, invalid)
}

/// `value` as the hex text of an `hmac` field: 64 hex digits, either case.
#[inline(always)]
fn check_mac(value: &str) -> Result<&[u8; 64], MalformedError> {
    let bytes: &[u8; 64] = value.as_bytes().try_into().map_err(|_| MalformedError::BadHmac)?;
    match hex_words(bytes).1 {
        0 => Ok(bytes),
        _ => Err(MalformedError::BadHmac),
    }
}

#[cfg(test)]
fn parse_mac(value: &str) -> Result<[u8; 32], MalformedError> {
    check_mac(value).map(mac_bytes)
}

/// The decoded bytes of checked hex digits.
#[inline(always)]
fn mac_bytes(bytes: &[u8; 64]) -> [u8; 32] {
    let mut mac = [0u8; 32];
    for (out, word) in mac.chunks_exact_mut(4).zip(hex_words(bytes).0) {
        out.copy_from_slice(&word.to_le_bytes());
    }
    mac
}

/// `st`/`exp`: 1–12 decimal digits. Every real time has 10 (until the year 2286): from 8
/// digits on, two overlapping words hold them all and are read eight digits at a time.
/// Shorter values take a fold with no branch per digit: the digits are checked together
/// at the end, and 12 digits of any byte value cannot overflow it.
#[inline(always)]
fn parse_digits(value: &[u8]) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    if let (8..=MAX_TIME_DIGITS, Some(head), Some(tail)) = (value.len(), value.first_chunk(), value.last_chunk()) {
        // The digits before the last eight, moved to the end of their word behind `0`s
        // (the first digit is the lowest byte).
        let high = match value.len() - 8 {
            0 => ZEROS,
            n => u64::from_le_bytes(*head) << (8 * (8 - n)) | ZEROS >> (8 * n),
        };
        return Some(eight_digits(high)? * 100_000_000 + eight_digits(u64::from_le_bytes(*tail))?);
    }
    if value.is_empty() || value.len() > MAX_TIME_DIGITS {
        return None;
    }
    let mut digits = true;
    let mut fold = |part: &[u8]| {
        part.iter().fold(0u64, |acc, &b| {
            let digit = b.wrapping_sub(b'0');
            digits &= digit < 10;
            acc * 10 + u64::from(digit)
        })
    };
    // Two independent halves: a ten-digit `exp` is then two short dependency chains.
    const POWERS: [u64; MAX_TIME_DIGITS / 2 + 1] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];
    let (high, low) = value.split_at(value.len() / 2);
    let value = fold(high) * POWERS[low.len()] + fold(low);
    digits.then_some(value)
}

/// The number eight ASCII digits spell, the first in the lowest byte (SWAR), or `None`
/// when a byte is not a digit.
#[inline(always)]
fn eight_digits(x: u64) -> Option<u64> {
    const LANES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // `0x30..=0x39` through the high bit, as in `hex_words`: exact for ASCII bytes; a
    // byte that is not ASCII fails its own lane (one of its sums wraps, or neither does
    // and both keep the high bit), whatever its carry does to the next.
    let digits = x.wrapping_add(LANES * 0x50) & !x.wrapping_add(LANES * 0x46) & HIGH;
    if digits != HIGH {
        return None;
    }
    // Every lane is 0..=9 now; each step joins neighbours (10a + b, 100a + b, 10000a + b)
    // in lanes twice as wide, none of which can overflow.
    let x = x - LANES * 0x30;
    let x = (x * 10 + (x >> 8)) & 0x00FF_00FF_00FF_00FF;
    let x = (x * 100 + (x >> 16)) & 0x0000_FFFF_0000_FFFF;
    Some((x * 10_000 + (x >> 32)) & 0xFFFF_FFFF)
}

/// Length of `~hmac=` plus 64 hex digits: the fixed tail of every well-formed token.
const HMAC_FIELD: usize = "hmac=".len() + 64;

/// Which field a name announces, and how long the name is (the `=` follows it).
#[derive(Clone, Copy)]
enum Field {
    Ip,
    St,
    Exp,
    Acl,
    Id,
    Data,
}

impl Field {
    /// Reads the name at the start of `at` by its first bytes, with its `=`.
    fn at(at: &[u8]) -> Option<(Field, usize)> {
        Some(match at {
            [b'e', b'x', b'p', b'=', ..] => (Field::Exp, 4),
            [b'a', b'c', b'l', b'=', ..] => (Field::Acl, 4),
            [b'i', b'd', b'=', ..] => (Field::Id, 3),
            [b'i', b'p', b'=', ..] => (Field::Ip, 3),
            [b's', b't', b'=', ..] => (Field::St, 3),
            [b'd', b'a', b't', b'a', b'=', ..] => (Field::Data, 5),
            _ => return None,
        })
    }
}

impl<'a> ParsedToken<'a> {
    /// Parses token text that has already been percent-decoded (SPEC §4).
    ///
    /// Every request parses a token before its HMAC, so this is one pass over the bytes:
    /// the fixed-length `hmac` tail is cut off by length, each name is recognised by its
    /// first bytes and each value read once (`exp` and `st` eight digits at a time). Text this
    /// pass does not accept goes to [`ParsedToken::parse_exact`], which either accepts it
    /// too (the same token) or names the rule it breaks; the property tests and the `token`
    /// fuzz target hold the two to the same answers.
    #[inline]
    pub fn parse(text: &'a str) -> Result<Self, MalformedError> {
        match Self::parse_fast(text) {
            Some(token) => Ok(token),
            None => Self::parse_exact(text),
        }
    }

    /// The single pass of [`ParsedToken::parse`]: `None` for anything it does not accept.
    #[inline(always)]
    pub(crate) fn parse_fast(text: &'a str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() > MAX_TOKEN_BYTES || bytes.len() < HMAC_FIELD {
            return None;
        }
        let tail = bytes.len() - HMAC_FIELD;
        let signed_len = tail.checked_sub(1);
        if !bytes[tail..].starts_with(b"hmac=") || signed_len.is_some_and(|at| bytes[at] != b'~') {
            return None;
        }
        let mac_hex = check_mac(&text[tail + 5..]).ok()?;
        let signed = &text[..signed_len.unwrap_or(0)];
        // Fields in locals, the token built once at the end: writing an `Option` field of a
        // struct in place and then moving the struct stalled on every request (a 16-byte
        // load cannot be forwarded from the narrower stores just made).
        let (mut ip, mut start_at, mut expires, mut acl, mut id, mut data) = (None, None, None, None, None, None);
        let mut several_acls = false;
        let s = signed.as_bytes();
        let mut at = 0;
        while at < s.len() {
            let (field, name_len) = Field::at(&s[at..])?;
            let start = at + name_len;
            let delimiter = ACL_DELIMITER as u8;
            // One search finds the field's end and, for an ACL, whether it holds several
            // patterns, which is rare and checked apart.
            let rest = &s[start..];
            let mut len = find_either(rest, b'~', delimiter);
            if rest.get(len) == Some(&delimiter) {
                len += find_byte(&rest[len..], b'~');
                let value = &rest[..len];
                let empty_pattern = value[0] == delimiter
                    || value[len - 1] == delimiter
                    || find_pair(value, delimiter, delimiter) < len;
                if matches!(field, Field::Acl) {
                    if empty_pattern {
                        return None;
                    }
                    several_acls = true;
                }
            }
            let end = start + len;
            let value = &signed[start..end];
            if value.is_empty() {
                return None;
            }
            let repeated = match field {
                Field::Exp => expires.replace(parse_digits(value.as_bytes())?).is_some(),
                Field::St => start_at.replace(parse_digits(value.as_bytes())?).is_some(),
                Field::Acl => acl.replace(value).is_some(),
                Field::Ip => ip.replace(value.parse().ok()?).is_some(),
                Field::Id => id.replace(value).is_some(),
                Field::Data => data.replace(value).is_some(),
            };
            if repeated {
                return None;
            }
            // Past the `~`; a `~` that ends the text leaves an empty field: not accepted.
            at = end + 1;
            if at == s.len() {
                return None;
            }
        }
        let expires = expires?;
        if start_at.is_some_and(|st| st >= expires) {
            return None;
        }
        Some(ParsedToken { ip, start: start_at, expires, acl, id, data, several_acls, signed, mac_hex })
    }

    /// The rules of SPEC §2 one at a time, naming the first one `text` breaks. Slower than
    /// [`ParsedToken::parse`] and the reference it is held to.
    #[doc(hidden)]
    #[cold]
    #[inline(never)]
    pub fn parse_exact(text: &'a str) -> Result<Self, MalformedError> {
        if text.len() > MAX_TOKEN_BYTES {
            return Err(MalformedError::TooLong);
        }
        // `hmac` must be the last field: look only at what follows the last delimiter
        // (a backwards memchr), so the 64 hex digits are read once, by `parse_mac`.
        let (signed, last) = match text.rfind(FIELD_DELIMITER) {
            Some(at) => (&text[..at], &text[at + 1..]),
            None => ("", text),
        };
        let mac_text = last.strip_prefix("hmac=").ok_or(MalformedError::HmacNotLast)?;
        let mut token = ParsedToken {
            ip: None,
            start: None,
            expires: 0,
            acl: None,
            id: None,
            data: None,
            several_acls: false,
            signed,
            mac_hex: check_mac(mac_text)?,
        };
        let mut seen_exp = false;
        for field in signed.split(FIELD_DELIMITER).filter(|_| !signed.is_empty()) {
            let (name, value) = field.split_once('=').ok_or(MalformedError::EmptyOrBareField)?;
            if value.is_empty() {
                return Err(MalformedError::EmptyOrBareField);
            }
            let repeated = match name {
                "ip" => token.ip.replace(value.parse().map_err(|_| MalformedError::BadIp)?).is_some(),
                "st" => token.start.replace(parse_time(value)?).is_some(),
                "exp" => {
                    token.expires = parse_time(value)?;
                    core::mem::replace(&mut seen_exp, true)
                }
                "acl" => {
                    // Byte test, not split(): this runs per request on every ACL token.
                    let b = value.as_bytes();
                    let delimiter = ACL_DELIMITER as u8;
                    let empty_pattern = b.first() == Some(&delimiter)
                        || b.last() == Some(&delimiter)
                        || b.windows(2).any(|w| w[0] == delimiter && w[1] == delimiter);
                    if empty_pattern {
                        return Err(MalformedError::EmptyAcl);
                    }
                    token.several_acls = b.contains(&delimiter);
                    token.acl.replace(value).is_some()
                }
                "id" => token.id.replace(value).is_some(),
                "data" => token.data.replace(value).is_some(),
                "hmac" => return Err(MalformedError::HmacNotLast),
                _ => return Err(MalformedError::UnknownField),
            };
            if repeated {
                return Err(MalformedError::RepeatedField);
            }
        }
        if !seen_exp {
            return Err(MalformedError::MissingExpiry);
        }
        if token.start.is_some_and(|st| st >= token.expires) {
            return Err(MalformedError::StartNotBeforeExpiry);
        }
        Ok(token)
    }

    /// The `hmac` field's 32 bytes.
    #[inline]
    pub(crate) fn mac(&self) -> [u8; 32] {
        mac_bytes(self.mac_hex)
    }

    /// True when the `acl` field holds more than one pattern.
    #[inline]
    pub(crate) fn several_acls(&self) -> bool {
        self.several_acls
    }

    /// True when the token has no `acl` field and is valid for one path only.
    pub fn is_url_token(&self) -> bool {
        self.acl.is_none()
    }

    /// The ACL patterns of an ACL token (empty iterator for a URL token).
    pub fn acls(&self) -> impl Iterator<Item = &'a str> {
        self.acl.into_iter().flat_map(|acl| acl.split(ACL_DELIMITER))
    }
}

/// Longest `*`-free run holding a `?` that an ACL may have, in characters (see
/// [`acl_matches`]): two 64-bit words of Shift-And state, so that one ACL's scans cost at
/// most [`ACL_SCAN_PASSES`] passes of the budget.
pub const MAX_WILDCARD_RUN: usize = 128;
const WILDCARD_WORDS: usize = MAX_WILDCARD_RUN / 64;

/// EdgeAuth ACL glob: `*` matches any run of characters (`/` included), `?` exactly one
/// character, everything else itself.
///
/// The pattern is cut at each `*` into runs. The first run is anchored at the start of the
/// path and the last at its end (a run has a fixed length in characters, so the end fixes
/// where the last one starts); each middle run is found leftmost, left to right, after the
/// previous one. Leftmost is always right: a later `*` can absorb whatever an earlier
/// placement skips, so an earlier match never hides a solution. No backtracking.
///
/// Cost, for a path of `n` bytes and a pattern of `m` bytes: O(n + m). A middle run without
/// `?` is found by `str::find` (Two-Way, linear in the bytes it scans); one holding `?` by a
/// bit-parallel scan (Shift-And) costing one table lookup and at most
/// `MAX_WILDCARD_RUN / 64` = 2 word operations per path character. The scans of successive runs do not
/// overlap. The anchored first and last runs are compared once each. A token may carry
/// many ACLs: [`acl_matches_within`] and [`AclBudget`] bound them together.
///
/// The bound has a price: a run holding `?` longer than [`MAX_WILDCARD_RUN`] characters
/// never matches (fail closed, `acl-mismatch`). Matching with `?` in general takes
/// O(n · r) or an FFT; no real ACL comes near the limit (`/acme/main/el?/*`).
///
/// ```
/// use edgegate_core::token::acl_matches;
/// assert!(acl_matches("/acme/main/*", "/acme/main/debian/dists/bookworm/Release"));
/// assert!(acl_matches("/f?o", "/föo"));
/// assert!(!acl_matches("/acme/main/*", "/acme/other/x"));
/// ```
pub fn acl_matches(pattern: &str, path: &str) -> bool {
    acl_matches_within(pattern, path, &mut AclBudget { scan: usize::MAX, tries: usize::MAX, spent: false })
}

/// Passes over the path that the ACLs of one token may make together (see [`AclBudget`]),
/// counted over at most [`ACL_SCAN_WINDOW`] bytes of it.
pub const ACL_SCAN_PASSES: usize = 2;
/// Path bytes the passes are counted over, whatever the path's length: an S3 key is at
/// most 1,024 bytes, so every path that can name an object is this long or shorter.
pub const ACL_SCAN_WINDOW: usize = 1024;
/// ACLs of one token that are tried at most; the later ones do not match.
pub const ACL_MAX_TRIES: usize = 64;

/// The work the ACLs of one token may do together: [`ACL_MAX_TRIES`] tries, and path
/// bytes scanned (a `?` run's scan counts once per 64-bit word of its state).
///
/// Each ACL alone costs O(path + pattern), but a token may carry hundreds of ACLs (a 20 KB
/// cookie of `/*Z*!/*Z*!…` scanned an 8 KB path 4,000 times: 78 ms). With the budget the
/// token's ACLs together cost at most [`ACL_SCAN_PASSES`] scans of [`ACL_SCAN_WINDOW`]
/// bytes and `ACL_MAX_TRIES` tries, whatever the path's length: a few microseconds.
/// Once it is spent, no further ACL matches (fail closed, `acl-mismatch`).
///
/// What a real token sees: ACLs are tried in order, and for a path of up to
/// `ACL_SCAN_WINDOW` bytes a single ACL never exhausts the budget (its scans do not
/// overlap and cost at most two units per byte), so the first always gets an exact
/// answer, and on a short path many scanning ACLs do. Most ACLs (`/acme/main/*`, `/acme/*.deb`) scan nothing at all and are exact
/// at any length; only a run between two `*` is searched for. What can fail closed is a
/// scanning ACL on a path longer than any S3 key, a token of many scanning ACLs, or an
/// ACL after the 64th.
#[derive(Debug, Clone)]
pub struct AclBudget {
    /// Scan units left.
    scan: usize,
    /// Tries left.
    tries: usize,
    /// Set once an ACL asked for more than was left.
    spent: bool,
}

impl Default for AclBudget {
    fn default() -> Self {
        Self::new()
    }
}

impl AclBudget {
    /// The allowance for one token's ACLs, the same for every path: the work it bounds is
    /// [`ACL_SCAN_PASSES`] passes over [`ACL_SCAN_WINDOW`] bytes, however that work is
    /// spread. (Counted in passes over a short path, it failed closed on a token of three
    /// ACLs for a 70-byte path: two scanning ACLs spent it before the one that matched.)
    pub fn new() -> Self {
        AclBudget { scan: ACL_SCAN_PASSES * ACL_SCAN_WINDOW, tries: ACL_MAX_TRIES, spent: false }
    }

    /// True once an ACL was refused for want of budget: every further ACL that is tried
    /// does not match either.
    pub fn exhausted(&self) -> bool {
        self.spent
    }

    /// One more ACL tried; false when none is left.
    fn try_one(&mut self) -> bool {
        Self::take(&mut self.tries, 1, &mut self.spent)
    }

    /// Takes `units` of scanning; on overdraft the budget is spent and the answer false.
    fn charge(&mut self, units: usize) -> bool {
        Self::take(&mut self.scan, units, &mut self.spent)
    }

    /// Takes `n` from `left`, or, when that is more than is left (or the budget is spent
    /// already), marks the budget spent and answers false.
    fn take(left: &mut usize, n: usize, spent: &mut bool) -> bool {
        match left.checked_sub(n) {
            Some(rest) if !*spent => {
                *left = rest;
                true
            }
            _ => {
                *spent = true;
                false
            }
        }
    }
}

/// [`acl_matches`] charging its work to `budget` (shared by the ACLs of one token): false
/// when the budget runs out before the answer is known.
pub fn acl_matches_within(pattern: &str, path: &str, budget: &mut AclBudget) -> bool {
    if !budget.try_one() {
        return false;
    }
    // Most ACLs are a literal prefix and a `*` ("/acme/main/*"): compare the literal part
    // as one slice and stop early when nothing but `*` remains.
    let literal = find_either(pattern.as_bytes(), b'*', b'?');
    if path.as_bytes().get(..literal) != Some(&pattern.as_bytes()[..literal]) {
        return false;
    }
    let rest = &path.as_bytes()[literal..];
    let pattern = &pattern[literal..];
    if pattern.bytes().all(|b| b == b'*') {
        return rest.is_empty() || !pattern.is_empty();
    }
    // `literal` is a char boundary of the pattern (at an ASCII byte or its end), and the
    // same bytes start the path, so it is one of the path's too.
    match_runs(pattern, &path[literal..], budget)
}

/// `a == b`, without a call: the runs compared per ACL try are a few bytes (`/*Z` ends
/// in a `Z`), and a token gets 64 tries, where `strip_prefix`'s `memcmp` call and its
/// search for `?` were a fifth of the request.
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(true, |same, (x, y)| same & (x == y))
}

/// [`acl_matches`] after the literal prefix: `pattern` starts with `*` or `?`.
fn match_runs(pattern: &str, path: &str, budget: &mut AclBudget) -> bool {
    let bytes = pattern.as_bytes();
    let wild = find_byte(bytes, b'?') < bytes.len();
    if wild && pattern.split('*').any(|run| run.contains('?') && run.chars().count() > MAX_WILDCARD_RUN) {
        return false;
    }
    let first_star = find_byte(bytes, b'*');
    if first_star == bytes.len() {
        // No `*` at all: one run that must cover the whole path.
        return run_at(pattern, path, 0) == Some(path.len());
    }
    // `*` is ASCII: every cut here is at a char boundary.
    let first = &pattern[..first_star];
    let after_first = &pattern[first_star + 1..];
    let (middle, last) = match after_first.bytes().rposition(|b| b == b'*') {
        Some(star) => (&after_first[..star], &after_first[star + 1..]),
        None => ("", after_first),
    };
    let Some(mut cursor) = run_at(first, path, 0) else {
        return false;
    };
    // The last run ends the path. Without `?` it is its own bytes; a `?` is one character
    // of one to four bytes, so then walk back from the end by characters.
    let last_start = if find_byte(last.as_bytes(), b'?') == last.len() {
        match path.len().checked_sub(last.len()) {
            // A suffix equal to `last` starts where `last` does: at a char boundary.
            Some(start) if same(&path.as_bytes()[start..], last.as_bytes()) => start,
            _ => return false,
        }
    } else {
        match path.char_indices().rev().nth(last.chars().count() - 1) {
            Some((start, _)) if run_at(last, path, start) == Some(path.len()) => start,
            _ => return false,
        }
    };
    if last_start < cursor {
        return false;
    }
    // Middle runs must fit between the first and the last, without overlapping either.
    let window = &path[..last_start];
    for run in middle.split('*').filter(|run| !run.is_empty()) {
        match find_run(run, window, cursor, budget) {
            Some(end) => cursor = end,
            None => return false,
        }
    }
    true
}

/// Matches one `*`-free run at byte `at` of `text`; returns where the match ends.
fn run_at(run: &str, text: &str, at: usize) -> Option<usize> {
    let text = text.get(at..)?;
    if find_byte(run.as_bytes(), b'?') == run.len() {
        let head = text.as_bytes().get(..run.len())?;
        return same(head, run.as_bytes()).then_some(at + run.len());
    }
    let mut pieces = run.split('?');
    let mut rest = text.strip_prefix(pieces.next().unwrap_or(""))?;
    for piece in pieces {
        // One `?`: exactly one character, whatever its width.
        let mut chars = rest.chars();
        chars.next()?;
        rest = chars.as_str().strip_prefix(piece)?;
    }
    Some(at + text.len() - rest.len())
}

/// The end of the leftmost match of a `*`-free run in `text` at or after byte `from`.
/// `None` also when `budget` cannot pay for the scan.
fn find_run(run: &str, text: &str, from: usize, budget: &mut AclBudget) -> Option<usize> {
    let haystack = text.get(from..)?;
    let wildcard = if run.contains('?') { Some(WildcardRun::new(run)?) } else { None };
    let cost_per_byte = wildcard.as_ref().map_or(1, |w| w.len.div_ceil(64));
    // Scan no further than the budget pays for; a match beyond that is not seen, and the
    // emptied budget then fails the ACL.
    let mut limit = haystack.len().min(budget.scan / cost_per_byte);
    while !haystack.is_char_boundary(limit) {
        limit -= 1;
    }
    let scope = &haystack[..limit];
    let end = match &wildcard {
        // One byte (`/*Z*`): a block search, many times Two-Way's speed here.
        None if run.len() == 1 => {
            let at = find(scope.as_bytes(), Byte(run.as_bytes()[0]));
            (at < scope.len()).then_some(at + 1)
        }
        None => scope.find(run).map(|start| start + run.len()),
        Some(wildcard) => wildcard.find_end(scope),
    };
    let scanned = end.unwrap_or(limit);
    if !budget.charge(scanned * cost_per_byte) || (end.is_none() && limit < haystack.len()) {
        budget.spent = true;
        return None;
    }
    end.map(|end| from + end)
}

/// Shift-And (Baeza-Yates–Gonnet) state tables for one run holding `?`: bit `j` of a
/// character's mask is set when run character `j` is that character or `?`. Every match
/// of the run has the same length in characters, so the first match to end is also the
/// leftmost to start.
struct WildcardRun {
    /// Run length in characters, 1..=MAX_WILDCARD_RUN.
    len: usize,
    /// Distinct literal characters of the run, sorted; mask `i + 1` belongs to `literals[i]`.
    literals: Vec<char>,
    /// Mask 0: a character the run does not name (only the `?` positions).
    masks: Vec<[u64; WILDCARD_WORDS]>,
    /// Mask index of each ASCII character, so the common case needs no search.
    ascii: [u16; 128],
}

impl WildcardRun {
    /// `None` for an empty run or one longer than [`MAX_WILDCARD_RUN`] characters.
    fn new(run: &str) -> Option<Self> {
        let len = run.chars().count();
        if len == 0 || len > MAX_WILDCARD_RUN {
            return None;
        }
        let mut literals: Vec<char> = run.chars().filter(|&c| c != '?').collect();
        literals.sort_unstable();
        literals.dedup();
        let mut wild = [0u64; WILDCARD_WORDS];
        let mut masks = vec![[0u64; WILDCARD_WORDS]; literals.len() + 1];
        for (j, c) in run.chars().enumerate() {
            let (word, bit) = (j / 64, 1u64 << (j % 64));
            match literals.binary_search(&c) {
                Ok(i) => masks[i + 1][word] |= bit,
                Err(_) => wild[word] |= bit,
            }
        }
        for mask in &mut masks {
            for (word, wild) in mask.iter_mut().zip(wild) {
                *word |= wild;
            }
        }
        let mut ascii = [0u16; 128];
        for (i, &c) in literals.iter().enumerate() {
            if c.is_ascii() {
                // At most MAX_WILDCARD_RUN literals, so the index fits.
                ascii[c as usize] = u16::try_from(i + 1).unwrap_or(0);
            }
        }
        Some(WildcardRun { len, literals, masks, ascii })
    }

    /// The byte offset in `text` where the first match ends.
    fn find_end(&self, text: &str) -> Option<usize> {
        if self.len <= 64 {
            return self.find_end_in_one_word(text);
        }
        let words = self.len.div_ceil(64);
        let (last_word, last_bit) = ((self.len - 1) / 64, 1u64 << ((self.len - 1) % 64));
        let mut state = [0u64; WILDCARD_WORDS];
        for (offset, c) in text.char_indices() {
            let index = match u8::try_from(c) {
                Ok(b) if b.is_ascii() => usize::from(self.ascii[usize::from(b)]),
                _ => self.literals.binary_search(&c).map_or(0, |i| i + 1),
            };
            let mask = &self.masks[index];
            // state = ((state << 1) | 1) & mask, over `words` words.
            let mut carry = 1;
            for (word, mask) in state[..words].iter_mut().zip(mask) {
                let out = *word >> 63;
                *word = ((*word << 1) | carry) & mask;
                carry = out;
            }
            if state[last_word] & last_bit != 0 {
                return Some(offset + c.len_utf8());
            }
        }
        None
    }

    /// [`WildcardRun::find_end`] for a run of at most 64 characters (every real one), byte
    /// by byte: the state is one word, and the only chain from one byte to the next is a
    /// shift and two bit operations (the mask loads do not wait for the state). A
    /// character is counted at its first byte; continuation bytes leave the state alone.
    fn find_end_in_one_word(&self, text: &str) -> Option<usize> {
        let last = 1u64 << (self.len - 1);
        // The mask of every ASCII byte, one load away (1 KB, built per scan: a scan is
        // what the budget pays for, and most are of long texts).
        let ascii: [u64; 128] = core::array::from_fn(|b| self.masks[usize::from(self.ascii[b])][0]);
        let mut state = 0u64;
        let bytes = text.as_bytes();
        let mut offset = 0;
        while offset < bytes.len() {
            // Eight ASCII bytes: no branch per byte, and the match bit tested once for the
            // eight states (a match is then looked for again byte by byte, once per scan).
            if let Some(chunk) = bytes.get(offset..offset + 8) {
                let chunk: &[u8; 8] = chunk.try_into().unwrap_or(&[0x80; 8]);
                if chunk.iter().all(u8::is_ascii) {
                    let mut next = state;
                    let mut seen = 0;
                    for &b in chunk {
                        next = ((next << 1) | 1) & ascii[usize::from(b & 0x7F)];
                        seen |= next;
                    }
                    if seen & last == 0 {
                        state = next;
                        offset += 8;
                        continue;
                    }
                    for (k, &b) in chunk.iter().enumerate() {
                        state = ((state << 1) | 1) & ascii[usize::from(b & 0x7F)];
                        if state & last != 0 {
                            return Some(offset + k + 1);
                        }
                    }
                    // Not reached (`seen` held the match); the state is exact either way.
                    offset += 8;
                    continue;
                }
            }
            let b = bytes[offset];
            let mask = if let Some(&mask) = ascii.get(usize::from(b)) {
                mask
            } else if b >= 0xC0 {
                // A lead byte: decode its character for the (rare) non-ASCII literal.
                let c = text[offset..].chars().next().unwrap_or('\0');
                self.masks[self.literals.binary_search(&c).map_or(0, |i| i + 1)][0]
            } else {
                offset += 1;
                continue;
            };
            state = ((state << 1) | 1) & mask;
            if state & last != 0 {
                let width = text[offset..].chars().next().map_or(1, char::len_utf8);
                return Some(offset + width);
            }
            offset += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    /// The word-at-a-time digits against the rule-by-rule `parse_time`: every length up to
    /// one past the limit, and every byte value (ASCII or not, as a `str` may hold it in
    /// several bytes) at every position of 8- to 12-digit values, where the words overlap.
    #[test]
    fn time_digits_agree_with_a_plain_parser_for_every_byte_at_every_position() {
        let digits = "9876543210987";
        for len in 0..=MAX_TIME_DIGITS + 1 {
            for value in [&digits[..len], &"0".repeat(len), &"9".repeat(len)] {
                assert_eq!(parse_digits(value.as_bytes()), parse_time(value).ok(), "{value:?}");
            }
        }
        for len in 8..=MAX_TIME_DIGITS {
            for position in 0..len {
                for b in 0..=u8::MAX {
                    let mut value = digits.as_bytes()[..len].to_vec();
                    value[position] = b;
                    let expected = core::str::from_utf8(&value).ok().and_then(|text| parse_time(text).ok());
                    assert_eq!(parse_digits(&value), expected, "{value:?}");
                }
            }
        }
    }

    /// Every ASCII character in every lane position of the SWAR decoder: accepted exactly
    /// when it is a hex digit, and decoded to its value.
    #[test]
    fn mac_decoding_agrees_with_a_plain_hex_parser_for_every_ascii_byte() {
        for position in 0..16 {
            for c in 0u8..=0x7F {
                let mut text: String = "0123456789abcdefABCDEF0123456789abcdef0123456789ABCDEF0123456789".into();
                text.replace_range(position..position + 1, core::str::from_utf8(&[c]).expect("ascii"));
                let decoded = parse_mac(&text);
                if c.is_ascii_hexdigit() {
                    let mac = decoded.expect("hex digits decode");
                    for (i, byte) in mac.iter().enumerate() {
                        assert_eq!(Ok(*byte), u8::from_str_radix(&text[2 * i..2 * i + 2], 16), "{text}");
                    }
                } else {
                    assert_eq!(decoded, Err(MalformedError::BadHmac), "{c:#x} at {position}");
                }
            }
        }
        let multibyte = "é".repeat(32);
        assert_eq!(parse_mac(&multibyte), Err(MalformedError::BadHmac));
    }
}
