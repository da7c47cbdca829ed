//! The embedded default of `edgegate serve` with no flags: the demo repository, a
//! development key, a banner of signed URLs with copy-paste commands for curl, pip and
//! apt (what `make run` prints), and the demo "repository application" next to the gate.
//!
//! The application is the seed's flow in miniature: a package manager talks to the
//! application, which answers every request with a 302 to the gate carrying a URL token
//! for exactly that path. Real applications sign with their own EdgeAuth library; this one
//! signs with the gate's own signer, so `make run` needs nothing else.

use crate::urls::{encode_token, for_apt};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use edgegate_core::{Claims, Config, Gate, KeyConfig, Scope, Secret};
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use tokio::net::TcpListener;

use super::Server;
use super::body::ResponseBody;

/// Id of the development key; it shows up in every token's log line as the signer.
pub const DEV_KEY_ID: &str = "dev-only-not-secret";

/// DEVELOPMENT KEY, NOT SECRET: it is published here, so anyone can sign tokens for it.
/// It exists so that `make run` works on a fresh machine with no configuration; `serve`
/// uses it only when no `--config` is given, and says so loudly. (It is
/// sha256("edgegate development key: published, not secret").)
const DEV_KEY_HEX: &str = "571a631e6b2ad69e42ca1fc2f53f1c35e3b1f83f43a0fa5eca7db012ab13bf9c";

/// How long the printed URLs stay valid.
pub const DEMO_TTL_SECONDS: u64 = 3600;

/// The demo's one package file: `+` and `~` in its name on purpose.
pub const DEMO_DEB_PATH: &str = "/pool/libdemo++_1.0~rc1_all.deb";

/// The demo's wheel, relative to the repository root.
const DEMO_WHEEL_PATH: &str = "packages/edgegate_demo-0.1.0-py3-none-any.whl";

/// The configuration `serve` runs with when given no `--config`: defaults (SPEC §6) and
/// the development key.
pub fn dev_config() -> Config {
    Config {
        keys: vec![KeyConfig { id: DEV_KEY_ID.into(), secret: Some(Secret::new(DEV_KEY_HEX)), secret_env: None }],
        ..Config::default()
    }
}

/// Where the demo repository is: `EDGEGATE_DEMO_DIR` if set, else the source tree this
/// binary was built from (`make run` runs it from there).
pub fn demo_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("EDGEGATE_DEMO_DIR") {
        let dir = PathBuf::from(dir);
        if !dir.is_dir() {
            bail!("EDGEGATE_DEMO_DIR={}: not a directory", dir.display());
        }
        return Ok(dir);
    }
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/demo-repo"));
    std::fs::canonicalize(&dir).with_context(|| {
        format!(
            "demo repository not found at {} (this binary was built elsewhere); \
             set EDGEGATE_DEMO_DIR or pass --origin DIR",
            dir.display()
        )
    })
}

/// How long a URL token from the demo application stays valid: the client follows the
/// redirect at once, so minutes are plenty and a leaked URL soon stops working.
pub const APP_TOKEN_TTL_SECONDS: u64 = 300;

/// The demo application's bound socket and the URL to print for it.
pub struct AppListener {
    pub listener: TcpListener,
    pub url: String,
}

/// Binds the demo application: the port after the gate's (`8081` for `make run`), or a
/// free one when the gate's port was chosen by the kernel. `Err` says why it could not
/// listen; the gate runs on without it (the application is a demonstration, not the gate).
pub async fn bind_app(gate: SocketAddr, any_port: bool) -> Result<AppListener, String> {
    let port = if any_port { Some(0) } else { gate.port().checked_add(1) };
    let Some(port) = port else {
        return Err(format!("no port after {}", gate.port()));
    };
    let addr = SocketAddr::new(gate.ip(), port);
    let listener = TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| format!("reading the address of {addr}: {e}"))?;
    Ok(AppListener { listener, url: format!("http://{}", super::display_addr(local)) })
}

/// Runs the demo application on `listener` until the task is dropped: every GET/HEAD is
/// answered by [`redirect`] to `gate_url`.
pub(super) async fn serve_app(listener: TcpListener, server: Arc<Server>, gate_url: Arc<str>) {
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(30)).keep_alive(true);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("edgegate serve: application: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (server, gate_url, builder) = (server.clone(), gate_url.clone(), builder.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let answer = match crate::clock::now() {
                    Some(now) => redirect(&server.gate, &gate_url, &req, now),
                    // Fails closed like the gate: no clock, no token.
                    None => plain(StatusCode::INTERNAL_SERVER_ERROR, "500 Internal Server Error: no clock\n"),
                };
                async move { Ok::<_, Infallible>(answer) }
            });
            // A client that goes away mid-request is not an error worth a line.
            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// The application's answer to one request: `302 Location: GATE<path>?<query&>NAME=TOKEN`
/// with a URL token for the request's canonical path (the path itself is passed on as the
/// client spelled it: `+`, `%2B`, `/@scope%2fname` all sign the same canonical path).
/// Other query parameters stay, in order. A path the gate would refuse gets its 400 here.
pub fn redirect<B>(gate: &Gate, gate_url: &str, req: &Request<B>, now: u64) -> Response<ResponseBody> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed\n");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let path = req.uri().path();
    let claims = Claims {
        ip: None,
        start: None,
        expires: now.saturating_add(APP_TOKEN_TTL_SECONDS),
        scope: Scope::url(path),
        id: None,
        data: None,
    };
    let Ok(token) = gate.sign(&claims) else {
        return plain(StatusCode::BAD_REQUEST, "400 Bad Request: path\n");
    };
    let query = req.uri().query().filter(|q| !q.is_empty()).map_or(String::new(), |q| format!("{q}&"));
    let location = format!("{gate_url}{path}?{query}{}={}", gate.token_name(), encode_token(&token));
    let Ok(location) = HeaderValue::from_str(&location) else {
        return plain(StatusCode::BAD_REQUEST, "400 Bad Request: path\n");
    };
    let mut response = Response::new(ResponseBody::empty());
    *response.status_mut() = StatusCode::FOUND;
    let h = response.headers_mut();
    h.insert(header::LOCATION, location);
    // Each answer holds a fresh token: never cache it anywhere.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    response
}

/// The directory origin's plain-text answer, never cached: like the gate's own refusals.
fn plain(status: StatusCode, body: &'static str) -> Response<ResponseBody> {
    let mut response = super::files::plain(status, body);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// What the banner shows; also the `--output json` document.
#[derive(Debug, Serialize)]
pub struct Demo {
    pub development_key: &'static str,
    pub expires: u64,
    /// Path token, ACL `/*`: a base URL for package managers.
    pub base_url: String,
    /// The same for an apt `sources.list` line: apt percent-decodes the URI it reads there
    /// once before requesting it, which would turn the token's `%2F` into a path `/`; so
    /// every `%` is encoded once more (`%252F`) and apt sends the base URL above.
    pub apt_base_url: String,
    /// Query token (URL token) for the demo `.deb`.
    pub file_url: String,
    /// The same file without a token (403 `missing-token`).
    pub unsigned_url: String,
    /// The demo repository application (302 to the gate with a URL token), when it listens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_url: Option<String>,
    /// Why the application is not running (its port was taken), when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_unavailable: Option<String>,
    pub commands: Commands,
}

#[derive(Debug, Serialize)]
pub struct Commands {
    pub curl: Vec<String>,
    pub pip: Vec<String>,
    pub apt: Vec<String>,
    /// Through the application: one line per client (curl, apt, pip, then dnf, npm and gem
    /// for a repository of one's own behind `--origin`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub app: Vec<String>,
}

/// Signs the demo URLs with `gate` (its first key) and builds the client commands; `app`
/// is the demo application's socket (or why there is none), `None` when not started.
pub fn demo(
    gate: &Gate,
    origin_url: &str,
    app: Option<&Result<AppListener, String>>,
    now: u64,
) -> anyhow::Result<Demo> {
    let expires = now + DEMO_TTL_SECONDS;
    let claims = |scope| Claims { ip: None, start: None, expires, scope, id: None, data: None };
    let base_token = gate.sign(&claims(Scope::acl("/*"))).context("signing the demo base URL")?;
    let file_token = gate.sign(&claims(Scope::url(DEMO_DEB_PATH))).context("signing the demo file URL")?;
    let name = gate.token_name();
    let base_url = format!("{origin_url}/{name}={}/", encode_token(&base_token));
    let apt_base_url = for_apt(&base_url);
    let file_path = edgegate_core::path::encode_forward(DEMO_DEB_PATH, true);
    let unsigned_url = format!("{origin_url}{file_path}");
    let file_url = format!("{unsigned_url}?{name}={}", encode_token(&file_token));

    let curl = vec![
        format!("curl -fsS -o libdemo.deb -w '%{{http_code}} %{{size_download}} bytes\\n' '{file_url}'"),
        format!("curl -fsS -r 0-99 -o part.bin -w '%{{http_code}} %{{size_download}} bytes\\n' '{file_url}'"),
        format!("curl -sS -o /dev/null -D - '{unsigned_url}'"),
    ];
    let pip = vec![format!(
        "pip download --no-deps --no-cache-dir -d /tmp/edgegate-pip --index-url '{base_url}simple/' edgegate-demo"
    )];
    let apt = vec![
        r#"d=$(mktemp -d) && mkdir -p "$d/lists/partial" "$d/cache/archives/partial" && touch "$d/status""#.to_string(),
        format!(r#"echo 'deb [trusted=yes] {apt_base_url} ./' > "$d/sources.list""#),
        r#"o="-o Dir::Etc::sourcelist=$d/sources.list -o Dir::Etc::sourceparts=- -o Dir::State=$d -o Dir::State::status=$d/status -o Dir::Cache=$d/cache -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root""#.to_string(),
        r#"apt-get $o update && (cd "$d" && apt-get $o download 'libdemo++' && ls -l "$d"/*.deb)"#.to_string(),
    ];
    let (app_url, app_unavailable) = match app {
        Some(Ok(app)) => (Some(app.url.clone()), None),
        Some(Err(why)) => (None, Some(why.clone())),
        None => (None, None),
    };
    let app = app_url.as_deref().map_or_else(Vec::new, |a| app_commands(a, &file_path));
    Ok(Demo {
        development_key: DEV_KEY_ID,
        expires,
        base_url,
        apt_base_url,
        file_url,
        unsigned_url,
        app_url,
        app_unavailable,
        commands: Commands { curl, pip, apt, app },
    })
}

/// One line per client through the application at `app` (the forms
/// tests/e2e/35-clients.sh runs). pip gets the wheel's URL rather than `--index-url`: the
/// demo index links relatively, and pip resolves a relative link against the redirected
/// URL without its query, so the token would be lost (README, Clients).
fn app_commands(app: &str, deb_path: &str) -> Vec<String> {
    vec![
        format!("curl -fsSL -o libdemo.deb -w '%{{http_code}} %{{size_download}} bytes\\n' '{app}{deb_path}'"),
        format!(
            r#"echo 'deb [trusted=yes] {app}/ ./' > "$d/sources.list" && apt-get $o update && (cd "$d" && apt-get $o download 'libdemo++')"#
        ),
        format!("pip download --no-deps --no-cache-dir -d /tmp/edgegate-pip '{app}/{DEMO_WHEEL_PATH}'"),
        format!(
            "dnf -y --setopt=reposdir=/dev/null --repofrompath=app,{app}/DIR/ --setopt=app.gpgcheck=0 --repo=app \
             --setopt=cachedir=/tmp/edgegate-dnf --setopt=logdir=/tmp/edgegate-dnf --disableplugin=generate_completion_cache \
             download --destdir /tmp/edgegate-dnf PACKAGE"
        ),
        format!("npm pack --registry {app}/DIR/ --cache /tmp/edgegate-npm PACKAGE"),
        format!("GEM_SPEC_CACHE=/tmp/edgegate-gem gem fetch PACKAGE --clear-sources --source {app}/DIR/"),
    ]
}

/// The text banner.
pub fn render(demo: &Demo) -> String {
    let until = httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(demo.expires));
    let mut s = String::new();
    s.push_str(&format!(
        "\nWARNING: signing with the built-in DEVELOPMENT key \"{}\". It is published in edgegate's\n\
         source code, so anyone can mint tokens for it: use it on this machine only. For anything\n\
         else pass --config with keys from `edgegate generate-secret`.\n\n",
        demo.development_key
    ));
    s.push_str(&format!("Signed base URL (path token, ACL /*, valid 1 h, until {until}):\n  {}\n\n", demo.base_url));
    s.push_str(&format!("Signed file URL (query token for this one file):\n  {}\n\n", demo.file_url));
    s.push_str("curl (download; Range request: 206 with 100 bytes; no token: 403 missing-token):\n");
    for c in &demo.commands.curl {
        s.push_str(&format!("  {c}\n"));
    }
    s.push_str("\npip:\n");
    for c in &demo.commands.pip {
        s.push_str(&format!("  {c}\n"));
    }
    s.push_str(
        "\napt (isolated: your system's sources, lists and dpkg state are not touched; apt decodes\n\
         %XX in sources.list once, so there the token is encoded twice: %252F for %2F):\n",
    );
    for c in &demo.commands.apt {
        s.push_str(&format!("  {c}\n"));
    }
    if let Some(app) = &demo.app_url {
        s.push_str(&format!(
            "\nRepository application (the seed's flow: every request is answered with a 302 to the gate\n\
             carrying a URL token for that path, valid {} min): {app}/\n\
             curl, apt ($d and $o as above), pip; then dnf, npm and gem for a repository of your own\n\
             (serve --origin DIR; DIR/ and PACKAGE are yours):\n",
            APP_TOKEN_TTL_SECONDS / 60
        ));
        for c in &demo.commands.app {
            s.push_str(&format!("  {c}\n"));
        }
    }
    if let Some(why) = &demo.app_unavailable {
        s.push_str(&format!("\nRepository application not started: {why}.\n"));
    }
    s.push_str("\nStop with Ctrl-C. One JSON access line per request goes to standard error.\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_urls_verify_under_the_dev_key() -> anyhow::Result<()> {
        let gate = Gate::new(&dev_config())?;
        let now = 1_800_000_000;
        let demo = demo(&gate, "http://127.0.0.1:8080", None, now)?;
        assert!(demo.base_url.starts_with("http://127.0.0.1:8080/__token__=exp%3D1800003600%7Eacl%3D%2F%2A%7Ehmac%3D"));
        assert!(demo.base_url.ends_with('/'));
        assert!(demo.file_url.starts_with("http://127.0.0.1:8080/pool/libdemo%2B%2B_1.0~rc1_all.deb?__token__=exp%3D"));
        // The printed URLs pass the real decision.
        for (url, path) in [(&demo.file_url, DEMO_DEB_PATH), (&format!("{}simple/", demo.base_url), "/simple/")] {
            let rest = url.trim_start_matches("http://127.0.0.1:8080");
            let (uri, query) = rest.split_once('?').map_or((rest, None), |(u, q)| (u, Some(q)));
            let view = edgegate_handler::RequestView {
                method: "GET",
                uri,
                querystring: query,
                cookies: &[],
                client_ip: "127.0.0.1",
                request_id: "t",
                distribution_id: "local",
            };
            match edgegate_handler::decide(&gate, &view, now + 10) {
                edgegate_handler::Outcome::Forward(f) => {
                    assert_eq!(edgegate_core::path::canonicalize(&f.uri).ok().as_deref(), Some(path));
                }
                other => panic!("{url}: {other:?}"),
            }
        }
        Ok(())
    }

    /// The demo application's `Location` for `uri`, or its status when it did not redirect.
    fn location(gate: &Gate, method: &str, uri: &str, now: u64) -> Result<String, u16> {
        let req = Request::builder().method(method).uri(uri).body(()).map_err(|_| 0u16)?;
        let response = redirect(gate, "http://gate.test", &req, now);
        if response.status() != StatusCode::FOUND {
            return Err(response.status().as_u16());
        }
        assert_eq!(response.headers().get(header::CACHE_CONTROL).map(HeaderValue::as_bytes), Some(&b"no-store"[..]));
        let location = response.headers().get(header::LOCATION).ok_or(0u16)?;
        Ok(location.to_str().map_err(|_| 0u16)?.to_string())
    }

    #[test]
    fn the_application_redirects_to_a_url_token_the_gate_accepts() -> anyhow::Result<()> {
        let gate = Gate::new(&dev_config())?;
        let now = 1_800_000_000;
        // (request as the client sends it, canonical path the gate must forward, query kept)
        let cases = [
            ("/pool/libdemo%2B%2B_1.0~rc1_all.deb", "/pool/libdemo++_1.0~rc1_all.deb", None),
            ("/pool/libdemo++_1.0%7Erc1_all.deb", "/pool/libdemo++_1.0~rc1_all.deb", None),
            // npm's scoped packument request: one segment, `%2f` decoded by the gate (SPEC §3).
            ("/npm/@acme%2fwidget", "/npm/@acme/widget", None),
            ("/simple/edgegate-demo/?format=json", "/simple/edgegate-demo/", Some("format=json")),
        ];
        for (uri, canonical, query) in cases {
            let location = location(&gate, "GET", uri, now).map_err(|s| anyhow::anyhow!("{uri}: status {s}"))?;
            let rest = location.strip_prefix("http://gate.test").ok_or_else(|| anyhow::anyhow!("{location}"))?;
            let (path, q) = rest.split_once('?').ok_or_else(|| anyhow::anyhow!("{location}: no query"))?;
            assert_eq!(path, uri.split('?').next().unwrap_or_default(), "the path is passed on as sent");
            match query {
                Some(kept) => assert!(q.starts_with(&format!("{kept}&__token__=exp%3D1800000300%7Ehmac%3D")), "{q}"),
                None => assert!(q.starts_with("__token__=exp%3D1800000300%7Ehmac%3D"), "{q}"),
            }
            let view = edgegate_handler::RequestView {
                method: "GET",
                uri: path,
                querystring: Some(q),
                cookies: &[],
                client_ip: "127.0.0.1",
                request_id: "t",
                distribution_id: "local",
            };
            match edgegate_handler::decide(&gate, &view, now + 10) {
                edgegate_handler::Outcome::Forward(f) => {
                    assert_eq!(edgegate_core::path::canonicalize(&f.uri).ok().as_deref(), Some(canonical), "{uri}");
                }
                other => panic!("{uri}: {other:?}"),
            }
            // A URL token covers its own path only.
            let other = edgegate_handler::RequestView { uri: "/pool/other.deb", ..view };
            assert!(matches!(edgegate_handler::decide(&gate, &other, now + 10), edgegate_handler::Outcome::Deny(_)));
            // And it expires after APP_TOKEN_TTL_SECONDS (+ leeway).
            let late = now + APP_TOKEN_TTL_SECONDS + 3600;
            assert!(matches!(edgegate_handler::decide(&gate, &view, late), edgegate_handler::Outcome::Deny(_)));
        }
        Ok(())
    }

    #[test]
    fn the_application_refuses_what_the_gate_would() -> anyhow::Result<()> {
        let gate = Gate::new(&dev_config())?;
        assert_eq!(location(&gate, "POST", "/pool/x.deb", 1_800_000_000), Err(405));
        assert_eq!(location(&gate, "GET", "/pool/%2e%2e/secret", 1_800_000_000), Err(400));
        assert_eq!(location(&gate, "GET", "/pool/%00", 1_800_000_000), Err(400));
        Ok(())
    }
}
