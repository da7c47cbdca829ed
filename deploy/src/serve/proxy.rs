//! URL origin: a reverse proxy to one `http://` upstream. Bodies stream both ways (hyper's
//! `Incoming` handed straight through, with hyper's own back-pressure), so a 50 MB package
//! never sits in this process's memory.

use std::time::Duration;

use anyhow::{Context as _, bail};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{Authority, PathAndQuery, Uri};
use http::{Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::body::ResponseBody;
use super::files::plain;

/// Where and how to reach the upstream.
#[derive(Debug, Clone)]
pub struct Upstream {
    authority: Authority,
    /// Path prefix of the origin URL without its trailing `/` (`""` for the root).
    base_path: String,
    client: Client<HttpConnector, Incoming>,
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
    /// a token cookie; `None` keeps the viewer's (the ones the gate inspected).
    pub async fn forward(
        &self,
        request: Request<Incoming>,
        target: Uri,
        cookies: Option<Vec<String>>,
        client_ip: &str,
    ) -> Response<ResponseBody> {
        let (parts, body) = request.into_parts();
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
        append_forwarded_for(headers, client_ip);

        match self.client.request(outgoing).await {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                let mut headers = HeaderMap::with_capacity(parts.headers.len());
                copy_end_to_end(&parts.headers, &mut headers);
                parts.headers = headers;
                Response::from_parts(parts, ResponseBody::upstream(body))
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
}
