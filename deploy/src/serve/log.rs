//! Log lines on standard error: one access line per request (written when its response
//! body is finished or dropped), plus the decision's own JSON line for every denial
//! (SPEC §5). Neither ever holds a token: the access line's path is the forwarded path or
//! the raw path, either redacted by the core's one rule (`edgegate_core::redact`), and
//! never carries the query string.

use std::cell::RefCell;
use std::fs::File;
use std::io::Write as _;
use std::os::fd::AsFd as _;
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

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
    static LINE: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
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
            write_stderr(&buf);
        });
    }
}

impl AccessRecord {
    /// The line, JSON. Written by hand rather than through serde_json: this runs once per
    /// request, and integers plus a few escaped strings are all it needs.
    fn format(&self, b: &mut Vec<u8>, ts_ms: u128, duration_us: u128) {
        b.extend_from_slice(b"{\"kind\":\"access\",\"ts_ms\":");
        let _ = write!(b, "{ts_ms}");
        b.extend_from_slice(b",\"request_id\":");
        json_str(b, self.request_id.as_str());
        b.extend_from_slice(b",\"client_ip\":");
        json_str(b, &self.client_ip);
        b.extend_from_slice(b",\"method\":");
        json_str(b, self.method.as_str());
        b.extend_from_slice(b",\"path\":");
        json_str(b, &self.path);
        let _ = write!(b, ",\"status\":{},\"bytes\":{},\"duration_us\":{duration_us}", self.status, self.bytes);
        b.extend_from_slice(b",\"reason\":");
        match self.reason {
            Some(reason) => json_str(b, reason),
            None => b.extend_from_slice(b"null"),
        }
        b.extend_from_slice(if self.complete { b",\"complete\":true}\n" } else { b",\"complete\":false}\n" });
    }
}

/// Appends `s` as a JSON string literal.
fn json_str(out: &mut Vec<u8>, s: &str) {
    use edgegate_core::hex::LOWER as HEX;
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let escape: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(c >> 4)], HEX[usize::from(c & 0xF)]]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
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
        let mut out = Vec::new();
        let nasty = "/a\"b\\c\nd\u{1}e\u{e9}";
        json_str(&mut out, nasty);
        let back: String = serde_json::from_slice(&out)?;
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
        let mut line = Vec::new();
        record.format(&mut line, 1_795_561_051_497, 250);
        assert_eq!(line.last(), Some(&b'\n'));
        let value: serde_json::Value = serde_json::from_slice(&line)?;
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
