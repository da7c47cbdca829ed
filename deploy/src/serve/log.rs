//! Log lines on standard error: one access line per request (written when its response
//! body is finished or dropped), plus the decision's own JSON line for every denial
//! (SPEC §5). Neither ever holds a token: the access line's path is the forwarded path, or
//! the raw path with the token segment cut off, and never carries the query string.

use std::cell::RefCell;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use http::Method;
use serde::Serialize;

/// Length of a generated request id: 16 hex digits.
pub const REQUEST_ID_LEN: usize = 16;

/// A request id held inline, so minting one costs no allocation.
#[derive(Debug, Clone, Copy)]
pub struct RequestId([u8; REQUEST_ID_LEN]);

impl RequestId {
    /// `prefix` (random per process) and a per-request counter, as 16 lower-case hex digits.
    pub fn new(prefix: u32, counter: u32) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let value = (u64::from(prefix) << 32) | u64::from(counter);
        let mut out = [0u8; REQUEST_ID_LEN];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 4 * (REQUEST_ID_LEN - 1 - i);
            *slot = HEX[((value >> shift) & 0xF) as usize];
        }
        RequestId(out)
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written.
        std::str::from_utf8(&self.0).unwrap_or("0000000000000000")
    }
}

/// Everything the access line needs; written once, when dropped.
#[derive(Debug)]
pub struct AccessRecord {
    pub start: Instant,
    pub request_id: RequestId,
    pub client_ip: Arc<str>,
    pub method: Method,
    /// Path without the token (see the module comment).
    pub path: String,
    pub status: u16,
    /// SPEC §5 reason code for generated responses; `None` for forwards.
    pub reason: Option<&'static str>,
    /// Response body bytes handed to the connection.
    pub bytes: u64,
    /// Whether the body reached its end (false: client went away or the origin failed).
    pub complete: bool,
}

#[derive(Serialize)]
struct AccessLine<'a> {
    kind: &'static str,
    ts: f64,
    request_id: &'a str,
    client_ip: &'a str,
    method: &'a str,
    path: &'a str,
    status: u16,
    bytes: u64,
    duration_ms: f64,
    reason: Option<&'a str>,
    complete: bool,
}

thread_local! {
    // Reused per worker thread: a log line costs no allocation once warm.
    static LINE: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
}

impl Drop for AccessRecord {
    fn drop(&mut self) {
        let ts = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        let line = AccessLine {
            kind: "access",
            ts: (ts * 1000.0).round() / 1000.0,
            request_id: self.request_id.as_str(),
            client_ip: &self.client_ip,
            method: self.method.as_str(),
            path: &self.path,
            status: self.status,
            bytes: self.bytes,
            duration_ms: (self.start.elapsed().as_secs_f64() * 1e6).round() / 1e3,
            reason: self.reason,
            complete: self.complete,
        };
        LINE.with(|cell| {
            let Ok(mut buf) = cell.try_borrow_mut() else {
                return;
            };
            buf.clear();
            if serde_json::to_writer(&mut *buf, &line).is_ok() {
                buf.push(b'\n');
                write_stderr(&buf);
            }
        });
    }
}

/// Writes the decision's JSON line (built by `edgegate_handler::decide`, token-free).
pub fn decision(line: &str) {
    LINE.with(|cell| {
        let Ok(mut buf) = cell.try_borrow_mut() else {
            return;
        };
        buf.clear();
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        write_stderr(&buf);
    });
}

/// One `write` per line, so lines from different threads never interleave. A failing
/// stderr (closed pipe) must not take the server down, so errors are ignored.
fn write_stderr(line: &[u8]) {
    let _ = std::io::stderr().lock().write_all(line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_is_sixteen_hex_digits() {
        let id = RequestId::new(0xdead_beef, 42);
        assert_eq!(id.as_str(), "deadbeef0000002a");
    }
}
