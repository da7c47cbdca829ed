//! Decision reason codes (SPEC §5). Every denial the gate can give is one of these.

use core::fmt;

/// Why a request was not forwarded. The variants are exactly the reason codes of SPEC §5;
/// `code()` is what appears in `x-edgegate-reason` and in the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// Method not in `methods`: 405.
    Method,
    /// The path fails SPEC §3: 400.
    BadPath,
    /// No token in path segment, query or cookie: 403.
    MissingToken,
    /// Token text does not follow SPEC §2: 403.
    MalformedToken,
    /// `now > exp + leeway`: 403.
    Expired,
    /// `st - leeway > now`: 403.
    NotYetValid,
    /// `ip` field differs from the viewer's address: 403.
    IpMismatch,
    /// No ACL of an ACL token matches the canonical path: 403.
    AclMismatch,
    /// No configured key verifies the HMAC: 403.
    BadSignature,
    /// Configuration missing or invalid at cold start: 500.
    Misconfigured,
    /// Panic, trap or any other fault inside the gate: 500.
    Internal,
}

impl Reason {
    /// Every reason, in SPEC §5 table order.
    pub const ALL: [Reason; 11] = [
        Reason::Method,
        Reason::BadPath,
        Reason::MissingToken,
        Reason::MalformedToken,
        Reason::Expired,
        Reason::NotYetValid,
        Reason::IpMismatch,
        Reason::AclMismatch,
        Reason::BadSignature,
        Reason::Misconfigured,
        Reason::Internal,
    ];

    /// The wire code (`x-edgegate-reason`, logs, `edgegate verify` output).
    pub const fn code(self) -> &'static str {
        match self {
            Reason::Method => "method",
            Reason::BadPath => "bad-path",
            Reason::MissingToken => "missing-token",
            Reason::MalformedToken => "malformed-token",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not-yet-valid",
            Reason::IpMismatch => "ip-mismatch",
            Reason::AclMismatch => "acl-mismatch",
            Reason::BadSignature => "bad-signature",
            Reason::Misconfigured => "misconfigured",
            Reason::Internal => "internal",
        }
    }

    /// Parses a wire code back (for fixtures and tests).
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// HTTP status of the generated response.
    pub const fn status(self) -> u16 {
        match self {
            Reason::Method => 405,
            Reason::BadPath => 400,
            Reason::Misconfigured | Reason::Internal => 500,
            _ => 403,
        }
    }

    /// HTTP reason phrase for [`Reason::status`].
    pub const fn status_text(self) -> &'static str {
        match self.status() {
            405 => "Method Not Allowed",
            400 => "Bad Request",
            500 => "Internal Server Error",
            _ => "Forbidden",
        }
    }

    /// Human words for the one-line body, e.g. `token expired`.
    pub const fn describe(self) -> &'static str {
        match self {
            Reason::Method => "method not allowed",
            Reason::BadPath => "invalid path",
            Reason::MissingToken => "token missing",
            Reason::MalformedToken => "token malformed",
            Reason::Expired => "token expired",
            Reason::NotYetValid => "token not yet valid",
            Reason::IpMismatch => "token bound to another address",
            Reason::AclMismatch => "token does not cover this path",
            Reason::BadSignature => "token signature invalid",
            Reason::Misconfigured => "gate misconfigured",
            Reason::Internal => "internal error",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl core::error::Error for Reason {}
