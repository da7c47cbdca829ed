//! The binary's one time source (as rustls's `TimeProvider`): every command that needs
//! "now" asks here, and the core only ever receives it as an argument.

use anyhow::bail;

/// Seconds since the Unix epoch, or `None` for a clock set before 1970. Callers must fail
/// closed on `None`: reading it as 0 would make every token without `st` look valid.
pub fn now() -> Option<u64> {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// `--now` when given, else the system clock; a clock before 1970 is an error (exit 2).
pub fn now_or_clock(given: Option<u64>) -> anyhow::Result<u64> {
    match given.or_else(now) {
        Some(now) => Ok(now),
        None => bail!(
            "the system clock is set before 1970; refusing to check or sign tokens (set the clock, or pass --now)"
        ),
    }
}
