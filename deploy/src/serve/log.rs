//! Log lines on standard error: one access line per request (written when its response
//! body is finished or dropped), plus the decision's own JSON line for every denial
//! (SPEC §5). Neither ever holds a token: the access line's path is the forwarded path or
//! the raw path, either redacted by the core's one rule (`edgegate_core::redact`), and
//! never carries the query string.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::os::fd::AsFd as _;
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use edgegate_handler::push_json_string;
use http::Method;

/// Length of a generated request id: 16 hex digits.
pub const REQUEST_ID_LEN: usize = 16;

/// A request id held inline, so minting one costs no allocation.
#[derive(Debug, Clone, Copy)]
pub struct RequestId([u8; REQUEST_ID_LEN]);

impl RequestId {
    /// `prefix` (random per process) and a per-request counter, as 16 lower-case hex digits.
    pub fn new(prefix: u32, counter: u32) -> Self {
        use edgegate_core::hex::LOWER as HEX;
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

thread_local! {
    // Reused per worker thread: a log line costs no allocation once warm.
    static LINE: RefCell<String> = RefCell::new(String::with_capacity(512));
}

impl Drop for AccessRecord {
    fn drop(&mut self) {
        let ts_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let duration_us = self.start.elapsed().as_micros();
        LINE.with(|cell| {
            let Ok(mut buf) = cell.try_borrow_mut() else {
                return;
            };
            buf.clear();
            self.format(&mut buf, ts_ms, duration_us);
            write_stderr(buf.as_bytes());
        });
    }
}

impl AccessRecord {
    /// The line, JSON. Written by hand rather than through serde_json: this runs once per
    /// request, and integers plus a few escaped strings are all it needs.
    fn format(&self, b: &mut String, ts_ms: u128, duration_us: u128) {
        // Writing to a String cannot fail.
        let _ = write!(b, "{{\"kind\":\"access\",\"ts_ms\":{ts_ms},\"request_id\":");
        push_json_string(b, self.request_id.as_str());
        b.push_str(",\"client_ip\":");
        push_json_string(b, &self.client_ip);
        b.push_str(",\"method\":");
        push_json_string(b, self.method.as_str());
        b.push_str(",\"path\":");
        push_json_string(b, &self.path);
        let _ = write!(b, ",\"status\":{},\"bytes\":{},\"duration_us\":{duration_us}", self.status, self.bytes);
        b.push_str(",\"reason\":");
        match self.reason {
            Some(reason) => push_json_string(b, reason),
            None => b.push_str("null"),
        }
        b.push_str(if self.complete { ",\"complete\":true}\n" } else { ",\"complete\":false}\n" });
    }
}

/// Writes the decision's JSON line (built by `edgegate_handler::decide`, token-free).
pub fn decision(line: &str) {
    LINE.with(|cell| {
        let Ok(mut buf) = cell.try_borrow_mut() else {
            return;
        };
        buf.clear();
        buf.push_str(line);
        buf.push('\n');
        write_stderr(buf.as_bytes());
    });
}

/// One `write` per line, so lines from different threads never interleave, through a
/// duplicate of fd 2 rather than `std::io::stderr()`: that one is behind a process-wide
/// lock, and the connection threads contending for it cost a futex call on every third
/// request in the bench. A failing stderr (closed pipe) must not take the server down, so
/// errors are ignored.
fn write_stderr(line: &[u8]) {
    static STDERR: OnceLock<Option<File>> = OnceLock::new();
    let file = STDERR.get_or_init(|| std::io::stderr().as_fd().try_clone_to_owned().ok().map(File::from));
    match file {
        Some(file) => {
            let mut writer: &File = file;
            let _ = writer.write_all(line);
        }
        None => {
            let _ = std::io::stderr().lock().write_all(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() -> Result<(), serde_json::Error> {
        let mut out = String::new();
        let nasty = "/a\"b\\c\nd\u{1}e\u{e9}";
        push_json_string(&mut out, nasty);
        let back: String = serde_json::from_str(&out)?;
        assert_eq!(back, nasty);
        Ok(())
    }

    #[test]
    fn access_lines_are_json() -> Result<(), serde_json::Error> {
        let record = AccessRecord {
            start: Instant::now(),
            request_id: RequestId::new(1, 2),
            client_ip: Arc::from("::1"),
            method: Method::GET,
            path: "/p\"q".into(),
            status: 200,
            reason: Some("expired"),
            bytes: 3,
            complete: true,
        };
        let mut line = String::new();
        record.format(&mut line, 1_795_561_051_497, 250);
        assert!(line.ends_with('\n'));
        let value: serde_json::Value = serde_json::from_str(&line)?;
        assert_eq!(value["kind"], "access");
        assert_eq!(value["path"], "/p\"q");
        assert_eq!(value["status"], 200);
        assert_eq!(value["bytes"], 3);
        assert_eq!(value["duration_us"], 250);
        assert_eq!(value["reason"], "expired");
        assert_eq!(value["complete"], true);
        std::mem::forget(record); // keep the test's stderr clean
        Ok(())
    }

    #[test]
    fn request_id_is_sixteen_hex_digits() {
        let id = RequestId::new(0xdead_beef, 42);
        assert_eq!(id.as_str(), "deadbeef0000002a");
    }
}
