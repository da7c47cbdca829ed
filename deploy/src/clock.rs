//! The binary's one time source (as rustls's `TimeProvider`): every command that needs
//! "now" asks here, and the core only ever receives it as an argument.

use anyhow::bail;

/// Seconds since the Unix epoch, or `None` for a clock set before 1970. Callers must fail
/// closed on `None`: reading it as 0 would make every token without `st` look valid.
pub fn now() -> Option<u64> {
    #[cfg(debug_assertions)]
    if let Some(now) = test_now() {
        return Some(now);
    }
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// Debug builds only: `EDGEGATE_NOW=<unix seconds>` fixes the clock, so the fixed-time
/// fixtures run through `serve` as they run through the native binary's `test-clock`
/// feature. Release builds have no such variable.
#[cfg(debug_assertions)]
fn test_now() -> Option<u64> {
    static NOW: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *NOW.get_or_init(|| std::env::var("EDGEGATE_NOW").ok().and_then(|v| v.parse().ok()))
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
