//! Directory origin: what S3 would answer for a forwarded request, from a local folder.
//! GET and HEAD, single byte ranges (206/416), `ETag` and `Last-Modified` with their
//! conditional requests (304), content types, `index.html` for paths ending in `/`.
//!
//! Written here instead of using tower-http's `ServeDir` for speed: `ServeDir` sends every
//! `open`, `metadata` and read through tokio's blocking pool, which dominated the bench
//! for small files (see `body.rs` for why synchronous reads are the right trade here).

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use edgegate_core::CacheConfig;
use edgegate_core::cache::cache_control_for_response;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};

use super::body::{FileRegion, ResponseBody};

/// Serves the forwarded `uri` (SPEC §3 step 4: canonical path, percent-encoded) from `root`
/// (a canonical path). `raw_query` is the viewer's query string, used only to keep it on a
/// redirect. Only regular files (and directories, as redirects or their `index.html`) are
/// served; a symbolic link resolving outside `root` is a 404 unless `follow_symlinks`.
/// Every answer carries the `cache-control` the edge's origin-response handler would set
/// (SPEC §9), so a local gate behind a cache behaves as CloudFront does.
pub fn serve(
    root: &Path,
    follow_symlinks: bool,
    method: &Method,
    headers: &HeaderMap,
    forwarded_uri: &str,
    raw_query: Option<&str>,
    cache: &CacheConfig,
) -> Response<ResponseBody> {
    let mut response = answer(root, follow_symlinks, method, headers, forwarded_uri, raw_query);
    set_cache_control(&mut response, forwarded_uri, cache);
    response
}

/// SPEC §9 on a finished answer. The class is decided on the canonical path, i.e. the
/// forwarded uri decoded (`%2B` back to `+`); a uri that does not decode is not a file
/// anyone may cache, so it gets the metadata value.
fn set_cache_control(response: &mut Response<ResponseBody>, forwarded_uri: &str, cache: &CacheConfig) {
    let canonical = edgegate_core::path::percent_decode(forwarded_uri).and_then(|bytes| String::from_utf8(bytes).ok());
    let value = match canonical {
        Some(path) => cache_control_for_response(&path, response.status().as_u16(), cache),
        None => &cache.metadata,
    };
    match HeaderValue::from_str(value) {
        Ok(value) => {
            response.headers_mut().insert(header::CACHE_CONTROL, value);
        }
        // Not a header value (config validation should have caught it): never let a
        // proxy fall back to its own heuristics for what might be an index.
        Err(_) => {
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
}

fn answer(
    root: &Path,
    follow_symlinks: bool,
    method: &Method,
    headers: &HeaderMap,
    forwarded_uri: &str,
    raw_query: Option<&str>,
) -> Response<ResponseBody> {
    if method != Method::GET && method != Method::HEAD {
        let mut response =
            plain(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed: the directory origin serves GET and HEAD");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let Some(path) = disk_path(root, forwarded_uri) else {
        // The gate only forwards canonical paths, so this cannot happen; refuse rather
        // than guess (fail closed).
        return plain(StatusCode::BAD_REQUEST, "400 Bad Request: path not servable");
    };
    // Nothing but a directory or a regular file is opened: opening a FIFO blocks until a
    // writer comes (a worker, then shutdown, with it), and a device may act on an open.
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() || meta.is_dir() => {}
        Ok(_) => return plain(StatusCode::NOT_FOUND, "404 Not Found"),
        Err(e) => return io_error(&e),
    }
    // Non-blocking: a FIFO swapped in since the check still opens at once, and the `fstat`
    // below refuses it. Reads from a regular file ignore the flag.
    let file = match OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&path) {
        Ok(file) => file,
        Err(e) => return io_error(&e),
    };
    if !follow_symlinks && !opened_inside(root, &file, &path) {
        // As S3 answers for a key it does not have: the link's target is not the origin's.
        return plain(StatusCode::NOT_FOUND, "404 Not Found");
    }
    let meta = match file.metadata() {
        Ok(meta) => meta,
        Err(e) => return io_error(&e),
    };
    if meta.is_dir() {
        return if forwarded_uri.ends_with('/') {
            // `dir/index.html` is itself a directory.
            plain(StatusCode::NOT_FOUND, "404 Not Found")
        } else {
            redirect_to_directory(forwarded_uri, raw_query)
        };
    }
    if !meta.is_file() {
        return plain(StatusCode::NOT_FOUND, "404 Not Found");
    }
    send_file(file, &meta, &path, method, headers)
}

/// Whether the opened `file` lies under `root` with every symbolic link resolved. The
/// kernel's name for the open descriptor is what was actually opened (a link changed
/// after the open cannot fool it) and costs one `readlink`; without `/proc`, the path is
/// resolved again. Anything unresolvable is outside (fail closed).
fn opened_inside(root: &Path, file: &File, path: &Path) -> bool {
    let fd_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    let resolved = std::fs::read_link(fd_path).or_else(|_| std::fs::canonicalize(path));
    resolved.is_ok_and(|resolved| resolved.starts_with(root))
}

/// Maps a forwarded uri onto `root`, segment by segment. The gate already refused `..`,
/// encoded slashes and control characters (SPEC §3); this re-checks instead of trusting.
fn disk_path(root: &Path, forwarded_uri: &str) -> Option<PathBuf> {
    let decoded = edgegate_core::path::percent_decode(forwarded_uri)?;
    let decoded = String::from_utf8(decoded).ok()?;
    let mut path = PathBuf::with_capacity(root.as_os_str().len() + decoded.len() + "index.html".len() + 1);
    path.push(root);
    for segment in decoded.split('/') {
        match segment {
            // Empty segments (`//`) are S3 key characters; on disk they collapse.
            "" | "." => {}
            ".." => return None,
            s if s.contains('\0') => return None,
            s => path.push(s),
        }
    }
    if decoded.ends_with('/') {
        path.push("index.html");
    }
    Some(path)
}

fn send_file(file: File, meta: &Metadata, path: &Path, method: &Method, headers: &HeaderMap) -> Response<ResponseBody> {
    let len = meta.len();
    let modified = meta.modified().ok();
    let mtime_secs = modified.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs());
    // nginx's form: hex seconds and hex length. Strong: the same mtime and size are taken
    // to mean the same bytes, as every static server does.
    let etag = format!("\"{mtime_secs:x}-{len:x}\"");
    let last_modified = modified.map(httpdate::fmt_http_date);

    if not_modified(headers, &etag, mtime_secs) {
        let mut response = Response::new(ResponseBody::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        set_validators(response.headers_mut(), &etag, last_modified.as_deref());
        return response;
    }

    let range = match headers.get(header::RANGE) {
        Some(value) if if_range_holds(headers, &etag, mtime_secs) => parse_range(value.as_bytes(), len),
        _ => RangeRequest::Whole,
    };
    let (status, start, count) = match range {
        RangeRequest::Whole => (StatusCode::OK, 0, len),
        RangeRequest::Part(first, last) => (StatusCode::PARTIAL_CONTENT, first, last - first + 1),
        RangeRequest::Unsatisfiable => {
            let mut response = plain(StatusCode::RANGE_NOT_SATISFIABLE, "416 Range Not Satisfiable");
            if let Ok(v) = HeaderValue::try_from(format!("bytes */{len}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return response;
        }
    };

    let body = if method == Method::HEAD || count == 0 {
        ResponseBody::empty()
    } else {
        ResponseBody::file(FileRegion::new(file, start, count))
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    set_validators(h, &etag, last_modified.as_deref());
    if status == StatusCode::PARTIAL_CONTENT {
        let last = start + count - 1;
        if let Ok(v) = HeaderValue::try_from(format!("bytes {start}-{last}/{len}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    response
}

fn set_validators(h: &mut HeaderMap, etag: &str, last_modified: Option<&str>) {
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    if let Some(Ok(v)) = last_modified.map(HeaderValue::from_str) {
        h.insert(header::LAST_MODIFIED, v);
    }
}

#[cfg(test)]
#[test]
fn content_types() {
    assert_eq!(content_type(Path::new("/p/a.DEB")), "application/vnd.debian.binary-package");
    assert_eq!(content_type(Path::new("/p/Packages")), "application/octet-stream");
    assert_eq!(content_type(Path::new("/p/Packages.gz")), "application/gzip");
    assert_eq!(content_type(Path::new("/simple/index.html")), "text/html; charset=utf-8");
    assert_eq!(content_type(Path::new("/pool/x.rpm")), "application/x-rpm");
    assert_eq!(content_type(Path::new("/p/a.verylongextension")), "application/octet-stream");
}

/// RFC 9110 §13.2.2: `If-None-Match` decides when present; otherwise `If-Modified-Since`.
fn not_modified(headers: &HeaderMap, etag: &str, mtime_secs: u64) -> bool {
    if let Some(value) = headers.get(header::IF_NONE_MATCH) {
        let Ok(list) = value.to_str() else {
            return false;
        };
        return list.split(',').map(str::trim).any(|tag| tag == "*" || weak_eq(tag, etag));
    }
    if let Some(since) = http_date_secs(headers.get(header::IF_MODIFIED_SINCE)) {
        return mtime_secs <= since;
    }
    false
}

/// `If-Range`: the range applies only if the validator still matches (strong comparison).
fn if_range_holds(headers: &HeaderMap, etag: &str, mtime_secs: u64) -> bool {
    let Some(value) = headers.get(header::IF_RANGE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        value == etag
    } else {
        httpdate::parse_http_date(value)
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .is_some_and(|d| d.as_secs() == mtime_secs)
    }
}

fn weak_eq(a: &str, b: &str) -> bool {
    a.trim_start_matches("W/") == b.trim_start_matches("W/")
}

fn http_date_secs(value: Option<&HeaderValue>) -> Option<u64> {
    let text = value?.to_str().ok()?;
    let time: SystemTime = httpdate::parse_http_date(text).ok()?;
    Some(time.duration_since(UNIX_EPOCH).ok()?.as_secs())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeRequest {
    /// No usable `Range`: send everything (RFC 9110 lets a server ignore what it does not
    /// support, such as several ranges at once).
    Whole,
    /// Inclusive first and last byte.
    Part(u64, u64),
    Unsatisfiable,
}

fn parse_range(value: &[u8], len: u64) -> RangeRequest {
    let Ok(value) = std::str::from_utf8(value) else {
        return RangeRequest::Whole;
    };
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if first.is_empty() {
        // Suffix range: the last N bytes.
        if !digits(last) {
            return RangeRequest::Whole;
        }
        let Ok(n) = last.parse::<u64>() else {
            return RangeRequest::Whole;
        };
        if n == 0 || len == 0 {
            return RangeRequest::Unsatisfiable;
        }
        return RangeRequest::Part(len.saturating_sub(n), len - 1);
    }
    if !digits(first) || !(last.is_empty() || digits(last)) {
        return RangeRequest::Whole;
    }
    let Ok(first) = first.parse::<u64>() else {
        return RangeRequest::Unsatisfiable;
    };
    let last = if last.is_empty() { u64::MAX } else { last.parse::<u64>().unwrap_or(u64::MAX) };
    if last < first {
        return RangeRequest::Whole;
    }
    if first >= len {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Part(first, last.min(len - 1))
}

/// Content types for what package repositories hold (and a few web basics); anything
/// else is `application/octet-stream`, which every package manager accepts. Our own
/// table rather than `mime_guess`: that one calls a `.deb` `application/octet-stream` and
/// an `.rpm` audio, and its case-insensitive lookup showed up in the bench profile.
fn content_type(path: &Path) -> &'static str {
    const DEFAULT: &str = "application/octet-stream";
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return DEFAULT;
    };
    // Lower-cased on the stack: no allocation per request.
    let mut buf = [0u8; 8];
    let Some(lower) = buf.get_mut(..ext.len()) else {
        return DEFAULT;
    };
    lower.copy_from_slice(ext.as_bytes());
    lower.make_ascii_lowercase();
    match &*lower {
        b"deb" | b"udeb" | b"ddeb" => "application/vnd.debian.binary-package",
        b"rpm" => "application/x-rpm",
        b"whl" | b"egg" | b"zip" | b"jar" => "application/zip",
        b"gz" | b"tgz" => "application/gzip",
        b"xz" => "application/x-xz",
        b"bz2" => "application/x-bzip2",
        b"zst" => "application/zstd",
        b"lz4" => "application/x-lz4",
        b"tar" => "application/x-tar",
        b"json" => "application/json",
        b"xml" | b"pom" => "application/xml",
        b"asc" | b"sig" => "application/pgp-signature",
        b"gpg" | b"key" => "application/pgp-keys",
        b"html" | b"htm" => "text/html; charset=utf-8",
        b"txt" | b"md" | b"sha256" | b"sha512" | b"md5" => "text/plain; charset=utf-8",
        b"css" => "text/css; charset=utf-8",
        b"js" | b"mjs" => "text/javascript; charset=utf-8",
        b"svg" => "image/svg+xml",
        b"png" => "image/png",
        b"ico" => "image/x-icon",
        _ => DEFAULT,
    }
}

/// A directory asked for without its trailing slash: send the client to the slash form,
/// relative (`./name/`) so a path token in the client's URL stays on, and with the
/// viewer's own query so a query token does too.
fn redirect_to_directory(forwarded_uri: &str, raw_query: Option<&str>) -> Response<ResponseBody> {
    let last = forwarded_uri.rsplit('/').next().unwrap_or("");
    let mut location = String::with_capacity(last.len() + 4 + raw_query.map_or(0, str::len));
    location.push_str("./");
    location.push_str(last);
    location.push('/');
    if let Some(q) = raw_query.filter(|q| !q.is_empty()) {
        location.push('?');
        location.push_str(q);
    }
    let mut response = plain(StatusCode::MOVED_PERMANENTLY, "301 Moved Permanently");
    match HeaderValue::try_from(location) {
        Ok(v) => {
            response.headers_mut().insert(header::LOCATION, v);
            response
        }
        Err(_) => plain(StatusCode::NOT_FOUND, "404 Not Found"),
    }
}

fn io_error(error: &io::Error) -> Response<ResponseBody> {
    match error.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::InvalidFilename => {
            plain(StatusCode::NOT_FOUND, "404 Not Found")
        }
        // S3 answers 403 for keys it will not show; so do we for unreadable files.
        io::ErrorKind::PermissionDenied => plain(StatusCode::FORBIDDEN, "403 Forbidden: not readable by the origin"),
        _ => plain(StatusCode::INTERNAL_SERVER_ERROR, "500 Internal Server Error: origin read failed"),
    }
}

/// A short text response from the origin (not a gate decision: no `x-edgegate-reason`).
pub fn plain(status: StatusCode, body: &'static str) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::full(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range(b"bytes=0-9", 100), Part(0, 9));
        assert_eq!(parse_range(b"bytes=90-", 100), Part(90, 99));
        assert_eq!(parse_range(b"bytes=-10", 100), Part(90, 99));
        assert_eq!(parse_range(b"bytes=-1000", 100), Part(0, 99));
        assert_eq!(parse_range(b"bytes=50-1000", 100), Part(50, 99));
        assert_eq!(parse_range(b"bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range(b"bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range(b"bytes=0-1,5-6", 100), Whole);
        assert_eq!(parse_range(b"bytes=9-1", 100), Whole);
        assert_eq!(parse_range(b"items=0-1", 100), Whole);
        assert_eq!(parse_range(b"bytes=a-b", 100), Whole);
    }

    #[test]
    fn disk_paths_decode_and_refuse_dot_dot() {
        let root = Path::new("/srv");
        assert_eq!(
            disk_path(root, "/pool/libdemo%2B%2B_1.0~rc1_all.deb"),
            Some(PathBuf::from("/srv/pool/libdemo++_1.0~rc1_all.deb"))
        );
        assert_eq!(disk_path(root, "/files/read%20me.txt"), Some(PathBuf::from("/srv/files/read me.txt")));
        assert_eq!(disk_path(root, "/simple/"), Some(PathBuf::from("/srv/simple/index.html")));
        assert_eq!(disk_path(root, "/a/../b"), None);
        assert_eq!(disk_path(root, "/a/%2E%2E/b"), None);
    }

    /// SPEC §9 through the directory origin, on the demo repository: every status the origin
    /// can answer, package and metadata paths, and a `[[cache.rules]]` override.
    #[test]
    fn answers_carry_the_cache_class() {
        use edgegate_core::{CacheClass, CacheRule};
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo-repo").canonicalize().unwrap();
        let mut cache = CacheConfig::default();
        // Matches only the decoded path: the class is decided on the canonical path.
        cache.rules.push(CacheRule { pattern: "/files/read me.*".into(), class: CacheClass::Package });
        let (package, metadata) = (cache.package.clone(), cache.metadata.clone());
        let deb = "/pool/libdemo%2B%2B_1.0~rc1_all.deb";
        let header = |name: &'static str, value: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(value));
            h
        };
        let none = HeaderMap::new();
        let cases: &[(&Method, &HeaderMap, &str, StatusCode, &str)] = &[
            (&Method::GET, &none, deb, StatusCode::OK, &package),
            (&Method::HEAD, &none, deb, StatusCode::OK, &package),
            (&Method::GET, &header("range", "bytes=0-9"), deb, StatusCode::PARTIAL_CONTENT, &package),
            (&Method::GET, &header("if-none-match", "*"), deb, StatusCode::NOT_MODIFIED, &package),
            (&Method::GET, &header("range", "bytes=999999999-"), deb, StatusCode::RANGE_NOT_SATISFIABLE, &metadata),
            (&Method::POST, &none, deb, StatusCode::METHOD_NOT_ALLOWED, &metadata),
            // An absent package must not be remembered.
            (&Method::GET, &none, "/pool/libdemo%2B%2B_9.9_all.deb", StatusCode::NOT_FOUND, &metadata),
            (&Method::GET, &none, "/packages/edgegate_demo-0.1.0-py3-none-any.whl", StatusCode::OK, &package),
            (&Method::GET, &none, "/Packages", StatusCode::OK, &metadata),
            (&Method::GET, &none, "/Packages.gz", StatusCode::OK, &metadata),
            (&Method::GET, &header("if-none-match", "*"), "/Release", StatusCode::NOT_MODIFIED, &metadata),
            (&Method::GET, &none, "/simple/", StatusCode::OK, &metadata),
            (&Method::GET, &none, "/simple", StatusCode::MOVED_PERMANENTLY, &metadata),
            (&Method::GET, &none, "/files/read%20me.txt", StatusCode::OK, &package),
        ];
        for (method, headers, uri, status, want) in cases {
            let response = serve(&root, false, method, headers, uri, None, &cache);
            assert_eq!(response.status(), *status, "{method} {uri}");
            assert_eq!(response.headers()[header::CACHE_CONTROL], *want, "{method} {uri} {status}");
        }
    }

    /// Only regular files are served, and only from inside the root unless links are
    /// followed: FIFO (would block the worker), socket, links out (file and directory).
    #[test]
    fn regular_files_inside_the_root_only() {
        use std::os::unix::fs::symlink;
        let scratch = std::env::temp_dir().join(format!("edgegate-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        let (root, outside) = (scratch.join("root"), scratch.join("outside"));
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let root = root.canonicalize().unwrap();
        std::fs::write(root.join("a.txt"), "a").unwrap();
        std::fs::write(outside.join("secret.txt"), "s").unwrap();
        assert!(std::process::Command::new("mkfifo").arg(root.join("fifo")).status().unwrap().success());
        let _socket = std::os::unix::net::UnixListener::bind(root.join("socket")).unwrap();
        symlink("a.txt", root.join("link-in")).unwrap();
        symlink("../a.txt", root.join("sub/link-up")).unwrap();
        symlink(outside.join("secret.txt"), root.join("link-out")).unwrap();
        symlink(&outside, root.join("dir-out")).unwrap();
        let cache = CacheConfig::default();
        let get =
            |uri: &str, follow: bool| serve(&root, follow, &Method::GET, &HeaderMap::new(), uri, None, &cache).status();
        let cases = [
            ("/a.txt", StatusCode::OK, StatusCode::OK),
            ("/fifo", StatusCode::NOT_FOUND, StatusCode::NOT_FOUND),
            ("/socket", StatusCode::NOT_FOUND, StatusCode::NOT_FOUND),
            ("/link-in", StatusCode::OK, StatusCode::OK),
            ("/sub/link-up", StatusCode::OK, StatusCode::OK),
            ("/link-out", StatusCode::NOT_FOUND, StatusCode::OK),
            ("/dir-out/secret.txt", StatusCode::NOT_FOUND, StatusCode::OK),
            ("/dir-out/", StatusCode::NOT_FOUND, StatusCode::NOT_FOUND),
        ];
        for (uri, refused, followed) in cases {
            assert_eq!(get(uri, false), refused, "{uri}");
            assert_eq!(get(uri, true), followed, "{uri} with --follow-symlinks");
        }
        let _ = std::fs::remove_dir_all(&scratch);
    }

    #[test]
    fn redirects_keep_the_token_relative() {
        let r = redirect_to_directory("/simple/edgegate-demo", Some("__token__=x"));
        assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(r.headers()[header::LOCATION], "./edgegate-demo/?__token__=x");
    }
}
