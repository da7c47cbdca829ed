//! URL origin: a reverse proxy to one `http://` upstream. Bodies stream both ways (hyper's
//! `Incoming` handed straight through, with hyper's own back-pressure), so a 50 MB package
//! never sits in this process's memory.

use std::borrow::Cow;
use std::future::Future as _;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use edgegate_core::locate::{split_path_token, strip_query};
use edgegate_core::redact::redact;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{Authority, PathAndQuery, Uri};
use http::{Request, Response, StatusCode, Version};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::time::Sleep;

use super::body::{BoxError, ResponseBody};
use super::files::plain;

/// Where and how to reach the upstream.
#[derive(Debug, Clone)]
pub struct Upstream {
    authority: Authority,
    /// Path prefix of the origin URL without its trailing `/` (`""` for the root).
    base_path: String,
    client: Client<HttpConnector, IdleBody>,
}

impl Upstream {
    /// Parses `--origin http://host[:port][/prefix]`.
    pub fn parse(origin: &str) -> anyhow::Result<Upstream> {
        let uri: Uri = origin.parse().with_context(|| format!("--origin {origin}: not a valid URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => bail!(
                "--origin {origin}: https upstreams are not supported (no TLS client is built in); \
                 use an http:// origin on a trusted network or a directory"
            ),
            _ => bail!("--origin {origin}: only http:// URLs or directories are supported"),
        }
        let Some(authority) = uri.authority().cloned() else {
            bail!("--origin {origin}: the URL has no host");
        };
        if authority.as_str().contains('@') {
            bail!("--origin {origin}: credentials in the origin URL are not supported");
        }
        if uri.query().is_some() {
            bail!("--origin {origin}: the origin URL may not carry a query string");
        }
        let base_path = uri.path().trim_end_matches('/').to_string();

        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(10)));
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector);
        Ok(Upstream { authority, base_path, client })
    }

    /// Sends the forwarded request to `target` (from [`Upstream::target`]) and streams the
    /// answer back. `cookies` are the gate's forwarded cookie header values when it removed
    /// a token cookie; `None` keeps the viewer's (the ones the gate inspected). `timeout`
    /// bounds every stall: of the viewer's body, of the upstream before it answers and
    /// within its body.
    pub async fn forward(
        &self,
        request: Request<Incoming>,
        target: Uri,
        cookies: Option<Vec<String>>,
        client_ip: &str,
        token_name: &str,
        timeout: Duration,
    ) -> Response<ResponseBody> {
        let (parts, body) = request.into_parts();
        let start = Instant::now();
        let body = IdleBody::new(body, timeout, start);
        let body_progress = body.progress.clone();
        let mut outgoing = Request::new(body);
        *outgoing.method_mut() = parts.method;
        *outgoing.uri_mut() = target;
        *outgoing.version_mut() = Version::HTTP_11;
        let headers = outgoing.headers_mut();
        copy_end_to_end(&parts.headers, headers);
        // Cookies exactly as the gate forwards them: the token cookie removed. Values that
        // are not UTF-8 were never shown to the gate, so they are not forwarded either.
        headers.remove(header::COOKIE);
        match cookies {
            Some(list) => {
                for cookie in list {
                    if let Ok(value) = HeaderValue::from_bytes(cookie.as_bytes()) {
                        headers.append(header::COOKIE, value);
                    }
                }
            }
            None => {
                for value in parts.headers.get_all(header::COOKIE) {
                    if std::str::from_utf8(value.as_bytes()).is_ok() {
                        headers.append(header::COOKIE, value.clone());
                    }
                }
            }
        }
        strip_token_from_headers(headers, token_name);
        append_forwarded_for(headers, client_ip);

        // The upstream has `timeout` to answer, counted from the viewer's last body bytes: a
        // long upload that keeps moving is not cut, a silent upstream is.
        let mut answer = pin!(self.client.request(outgoing));
        let answered = loop {
            let seen = body_progress.load(Ordering::Relaxed);
            let deadline = start + Duration::from_millis(seen) + timeout;
            match tokio::time::timeout_at(deadline.into(), answer.as_mut()).await {
                Ok(answered) => break Some(answered),
                Err(_) if body_progress.load(Ordering::Relaxed) != seen => {}
                Err(_) => break None,
            }
        };
        let Some(answered) = answered else {
            let line = serde_json::json!({
                "kind": "origin-error",
                "error": format!("no answer from the origin within {}s", timeout.as_secs()),
            });
            super::log::decision(&line.to_string());
            return plain(StatusCode::GATEWAY_TIMEOUT, "504 Gateway Timeout: origin did not answer in time");
        };
        match answered {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                let mut headers = HeaderMap::with_capacity(parts.headers.len());
                copy_end_to_end(&parts.headers, &mut headers);
                parts.headers = headers;
                Response::from_parts(parts, ResponseBody::upstream(body, timeout))
            }
            Err(error) => {
                // The upstream error names the connection problem, never the token (the
                // request it carried had none).
                super::log::decision(&origin_error_line(&error));
                plain(StatusCode::BAD_GATEWAY, "502 Bad Gateway: origin unreachable")
            }
        }
    }

    /// The upstream URL for a forwarded path and query string; `None` if they do not
    /// form a valid request target (the gate never forwards such a path).
    pub fn target(&self, uri: &str, query: Option<&str>) -> Option<Uri> {
        let mut path = String::with_capacity(self.base_path.len() + uri.len() + 1 + query.map_or(0, str::len));
        path.push_str(&self.base_path);
        path.push_str(uri);
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            path.push('?');
            path.push_str(q);
        }
        let path_and_query = PathAndQuery::try_from(path).ok()?;
        Uri::builder().scheme("http").authority(self.authority.clone()).path_and_query(path_and_query).build().ok()
    }
}

/// The viewer's request body on its way upstream, failing once it has stalled `limit`
/// (nginx's `client_body_timeout`): a client trickling a body would otherwise hold its
/// connection and one to the upstream for ever. `progress` is when the last frame came,
/// in milliseconds after `start`.
#[derive(Debug)]
pub struct IdleBody {
    inner: Incoming,
    limit: Duration,
    start: Instant,
    progress: Arc<AtomicU64>,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl IdleBody {
    fn new(inner: Incoming, limit: Duration, start: Instant) -> IdleBody {
        IdleBody { inner, limit, start, progress: Arc::new(AtomicU64::new(0)), stalled: None }
    }
}

impl Body for IdleBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.stalled = None;
            let since = u64::try_from(this.start.elapsed().as_millis()).unwrap_or(u64::MAX);
            this.progress.store(since, Ordering::Relaxed);
            return Poll::Ready(frame.map(|r| r.map_err(BoxError::from)));
        }
        let limit = this.limit;
        let stalled = this.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err("the client stopped sending its request body".into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Takes the token out of every forwarded header that holds one (cookies aside: the gate
/// already decided those). A page loaded from a signed URL sends it as its `Referer`, and
/// a client may name its URL in `X-Original-URL` and the like; the upstream's logs must
/// not get what the gate's own never hold. A URL loses the token as the gate takes it
/// (a first path segment, a query parameter); what might still be one is redacted by the
/// log rule (SPEC §5); a value that cannot be rewritten is dropped.
fn strip_token_from_headers(headers: &mut HeaderMap, token_name: &str) {
    let mut unwritable = Vec::new();
    for (name, value) in headers.iter_mut() {
        if name == header::COOKIE {
            continue;
        }
        let text = String::from_utf8_lossy(value.as_bytes());
        if matches!(redact(&text, Some(token_name)), Cow::Borrowed(_)) {
            continue;
        }
        match HeaderValue::try_from(without_token(&text, token_name)) {
            Ok(stripped) => *value = stripped,
            Err(_) => unwritable.push(name.clone()),
        }
    }
    for name in unwritable {
        headers.remove(name);
    }
}

/// A URL (absolute, or a path) without the token: no `/NAME=...` first path segment, no
/// `NAME` query parameter, and anything else that looks like a token value redacted.
fn without_token(url: &str, token_name: &str) -> String {
    let path_start = match url.find("://") {
        Some(scheme_end) => url[scheme_end + 3..].find('/').map_or(url.len(), |i| scheme_end + 3 + i),
        None => url.find('/').unwrap_or(url.len()),
    };
    let (origin, rest) = url.split_at(path_start);
    let (rest, fragment) = rest.split_once('#').map_or((rest, None), |(r, f)| (r, Some(f)));
    let (path, query) = rest.split_once('?').map_or((rest, None), |(p, q)| (p, Some(q)));
    let path = split_path_token(path, token_name).map_or(path, |(_, rest)| rest);
    let query = query.map(|q| strip_query(q, token_name).map_or_else(|| q.to_string(), |(_, kept)| kept));
    let mut out = String::with_capacity(url.len());
    out.push_str(origin);
    out.push_str(path);
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        out.push('?');
        out.push_str(&query);
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    redact(&out, Some(token_name)).into_owned()
}

fn origin_error_line(error: &hyper_util::client::legacy::Error) -> String {
    use std::error::Error as _;
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    serde_json::json!({ "kind": "origin-error", "error": text }).to_string()
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not forwarded;
/// neither is `host` (the client sets the upstream's).
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "proxy-connection" | "te" | "trailer" | "transfer-encoding" | "upgrade" | "host"
    ) || name == header::PROXY_AUTHORIZATION
        || name == header::PROXY_AUTHENTICATE
}

fn copy_end_to_end(from: &HeaderMap, to: &mut HeaderMap) {
    // Headers named in `Connection` are hop-by-hop too.
    let listed: Vec<&str> = from
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for (name, value) in from {
        if is_hop_by_hop(name) || listed.iter().any(|l| name.as_str().eq_ignore_ascii_case(l)) {
            continue;
        }
        to.append(name.clone(), value.clone());
    }
}

fn append_forwarded_for(headers: &mut HeaderMap, client_ip: &str) {
    const XFF: HeaderName = HeaderName::from_static("x-forwarded-for");
    let value = match headers.get(&XFF).and_then(|v| v.to_str().ok()) {
        Some(existing) => format!("{existing}, {client_ip}"),
        None => client_ip.to_string(),
    };
    if let Ok(value) = HeaderValue::try_from(value) {
        headers.insert(XFF, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn origin_urls() -> anyhow::Result<()> {
        let up = Upstream::parse("http://127.0.0.1:9000/mirror/")?;
        assert_eq!(
            up.target("/a%2Bb", Some("x=1")).map(|u| u.to_string()).as_deref(),
            Some("http://127.0.0.1:9000/mirror/a%2Bb?x=1")
        );
        assert_eq!(up.target("/a", Some("")).map(|u| u.to_string()).as_deref(), Some("http://127.0.0.1:9000/mirror/a"));
        assert!(Upstream::parse("https://example.com").is_err());
        assert!(Upstream::parse("ftp://example.com").is_err());
        assert!(Upstream::parse("http://example.com/?q=1").is_err());
        Ok(())
    }

    #[test]
    fn hop_by_hop_headers_stay_behind() {
        let mut from = HeaderMap::new();
        from.insert(header::CONNECTION, HeaderValue::from_static("close, x-private"));
        from.insert("x-private", HeaderValue::from_static("1"));
        from.insert(header::HOST, HeaderValue::from_static("front"));
        from.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        let mut to = HeaderMap::new();
        copy_end_to_end(&from, &mut to);
        assert_eq!(to.len(), 1);
        assert!(to.contains_key(header::ACCEPT));
    }

    /// URLs a viewer's headers carry, as a browser or client builds them from a signed URL
    /// (`edgegate sign --place path` and `--place query` forms, SPEC §4), and what the
    /// upstream may see of them.
    #[test]
    fn urls_lose_the_token() {
        let cases = [
            // A path-token base URL: the token segment goes, the rest stays.
            ("http://h:1/__token__=exp%3D1~hmac%3Dab/simple/p.html?a=1", "http://h:1/simple/p.html?a=1"),
            // pip's re-encoded `=`.
            ("http://h/__token__%3Dexp%3D1~hmac%3Dab/x", "http://h/x"),
            ("/__token__=exp%3D1~hmac%3Dab/x", "/x"),
            ("http://h/__token__=exp%3D1~hmac%3Dab", "http://h/"),
            // A query token, alone or among other parameters.
            ("http://h/pool/a.deb?__token__=exp%3D1~hmac%3Dab&b=2", "http://h/pool/a.deb?b=2"),
            ("http://h/pool/a.deb?b=2&__token__=exp%3D1~hmac%3Dab", "http://h/pool/a.deb?b=2"),
            ("http://h/pool/a.deb?__token__=exp%3D1~hmac%3Dab#top", "http://h/pool/a.deb#top"),
            // What the gate would not take is still no token upstream: redacted (SPEC §5).
            ("http://h/a/__token__=exp%3D1~hmac%3Dab/b", "http://h/a/__token__=<redacted>/b"),
            ("http://h/__token__=exp%3D1~acl%3D/pool/*~hmac%3Dab/pool/x.deb", "http://h/pool/*~<redacted>/pool/x.deb"),
        ];
        for (url, want) in cases {
            assert_eq!(without_token(url, "__token__"), want, "{url}");
        }
    }

    #[test]
    fn forwarded_headers_lose_the_token() {
        let mut headers = HeaderMap::new();
        let referer = "http://gate/__token__=exp%3D1~hmac%3Dab/simple/";
        headers.insert(header::REFERER, HeaderValue::from_static(referer));
        headers.insert("x-original-url", HeaderValue::from_static("/a.deb?__token__=exp%3D1~hmac%3Dab"));
        headers.insert("x-odd", HeaderValue::from_bytes(b"\xff __token__=exp%3D1~hmac%3Dab").unwrap());
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        // The gate decides cookies; a header without a token is not touched.
        headers.insert(header::COOKIE, HeaderValue::from_static("session=1"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("AWS4-HMAC-SHA256 Signature=ab"));
        strip_token_from_headers(&mut headers, "__token__");
        assert_eq!(headers[header::REFERER], "http://gate/simple/");
        assert_eq!(headers["x-original-url"], "/a.deb");
        assert!(!String::from_utf8_lossy(headers["x-odd"].as_bytes()).contains("hmac"));
        assert_eq!(headers[header::ACCEPT], "*/*");
        assert_eq!(headers[header::COOKIE], "session=1");
        assert_eq!(headers[header::AUTHORIZATION], "AWS4-HMAC-SHA256 Signature=ab");
    }
}
