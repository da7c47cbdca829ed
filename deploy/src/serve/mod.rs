//! `edgegate serve` (SPEC §7): the gate on one machine. HTTP/1.1 in (hyper; accept loop
//! and signals on the command's multi-thread runtime, connections on one single-threaded
//! runtime per core, see [`workers`]), the same `edgegate_handler::decide` as the edge,
//! and on forward the origin: a directory ([`files`]) or an `http://` upstream ([`proxy`]).
//!
//! Each request becomes the viewer-request view CloudFront would give the function: the
//! method, the raw (percent-encoded) path as `uri`, the raw query string, every `cookie`
//! header value, the peer address as `clientIp`, a generated request id, and the
//! distribution id `local`. A denial answers with its `Generated` status, headers and
//! body; nothing but a `Forward` outcome ever reaches the origin.

mod body;
mod demo;
mod files;
mod log;
mod proxy;
mod workers;

use clap::Args;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use edgegate_core::{Gate, Reason};
use edgegate_handler::{Generated, Outcome, RequestView, decide, log_line};
use http::header::{self, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use hyper_util::server::graceful::GracefulShutdown;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use self::body::ResponseBody;
use self::log::{AccessRecord, RequestId};
use crate::output::{Output, Status, out, outln, print_json};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration (default: the embedded demo configuration with a development key).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Origin: a directory, or an http:// URL to proxy to (default: the demo repository).
    #[arg(long)]
    pub origin: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Seconds a client may take to send its request headers, between two pieces of a
    /// request body, and to take each piece of a response; also how long an http://
    /// origin may take to start answering. Idle keep-alive connections close after it.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
    /// Open client connections at most; connections beyond it are answered 503 and closed.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// Serve symbolic links in a directory origin that resolve outside it (refused by default: 404).
    #[arg(long)]
    pub follow_symlinks: bool,
}

/// How long in-flight requests may take to finish after SIGINT/SIGTERM.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Distribution id in the decision log lines of a local gate.
const DISTRIBUTION_ID: &str = "local";

enum Origin {
    Dir(PathBuf),
    // Boxed: the hyper client is large, and the enum lives once per server anyway.
    Url(Box<proxy::Upstream>),
}

impl Origin {
    fn describe(&self, given: &str) -> String {
        match self {
            Origin::Dir(dir) => format!("directory {}", dir.display()),
            Origin::Url(_) => format!("upstream {given}"),
        }
    }
}

/// Everything a request needs, built once.
pub(crate) struct Server {
    gate: Gate,
    origin: Origin,
    /// Random per process, so request ids from two runs do not collide.
    id_prefix: u32,
    counter: AtomicU32,
    /// `--timeout`: the longest a peer may stall (see [`ServeArgs::timeout`]).
    timeout: Duration,
    /// `--follow-symlinks`.
    follow_symlinks: bool,
}

#[derive(Serialize)]
struct Started<'a> {
    listen: String,
    origin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    demo: Option<&'a demo::Demo>,
}

pub async fn run(args: ServeArgs, out: Output) -> anyhow::Result<Status> {
    let (gate, dev_key) = match &args.config {
        Some(path) => (crate::config::load(path)?.gate, false),
        None => (Gate::new(&demo::dev_config()).context("development configuration")?, true),
    };
    let (origin, origin_text, is_demo) = resolve_origin(args.origin.as_deref())?;

    // Signals first: a SIGTERM arriving right after the "listening" line is a shutdown,
    // not a kill.
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;

    let listener = TcpListener::bind(args.listen).await.map_err(|e| {
        let hint =
            if e.kind() == std::io::ErrorKind::AddrInUse { " (port in use; choose another with --listen)" } else { "" };
        anyhow::anyhow!("cannot listen on {}: {e}{hint}", args.listen)
    })?;
    let local = listener.local_addr().context("reading the listening address")?;
    let url = format!("http://{}", display_addr(local));

    // The demo repository application (the seed's redirect flow) listens next to the gate.
    let app = if dev_key { Some(demo::bind_app(local, args.listen.port() == 0).await) } else { None };
    let demo = if dev_key {
        let demo = demo::demo(&gate, &url, app.as_ref(), crate::clock::now_or_clock(None)?)?;
        Some(demo)
    } else {
        None
    };
    let origin_desc = origin.describe(&origin_text);
    match out {
        Output::Json => {
            if dev_key {
                eprintln!("edgegate serve: WARNING: signing with the built-in DEVELOPMENT key (published, not secret)");
            }
            print_json(&Started { listen: url.clone(), origin: origin_desc, demo: demo.as_ref() })?;
        }
        Output::Text => {
            outln!("edgegate serve: listening on {url} (origin: {origin_desc})")?;
            if let Some(demo) = &demo {
                if !is_demo {
                    outln!("(the demo URLs below name demo files; your --origin may not have them)")?;
                }
                out!("{}", demo::render(demo))?;
            }
        }
    }

    let mut id_prefix = [0u8; 4];
    // A fixed prefix only makes ids less unique across runs; never worth failing over.
    let _ = getrandom::fill(&mut id_prefix);
    let timeout = Duration::from_secs(args.timeout);
    let server = Arc::new(Server {
        gate,
        origin,
        id_prefix: u32::from_be_bytes(id_prefix),
        counter: AtomicU32::new(0),
        timeout,
        follow_symlinks: args.follow_symlinks,
    });

    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    // hyper restarts this clock for every request head, so it also closes idle keep-alive
    // connections and bounds a client trickling its headers.
    builder.timer(TokioTimer::new()).header_read_timeout(timeout).keep_alive(true);
    let mut cap = workers::Cap::new(usize::try_from(args.max_connections).unwrap_or(usize::MAX));
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut workers = workers::Workers::start(cores, &server, &builder).context("starting connection workers")?;
    let app = match app {
        Some(Ok(app)) => Some(tokio::spawn(demo::serve_app(app.listener, server.clone(), url.as_str().into()))),
        _ => None,
    };

    let signal_name = loop {
        let report_at = cap.report_due();
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        eprintln!("edgegate serve: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Some(slot) = cap.admit(&stream) else { continue };
                // Small responses must not wait for Nagle.
                let _ = stream.set_nodelay(true);
                // Deregistered here, registered again on the worker's own runtime.
                let Ok(stream) = stream.into_std() else { continue };
                workers.dispatch(workers::Job { stream, peer, watcher: graceful.watcher(), slot });
            }
            // Refusals are reported a second after the first of a burst: one line per burst.
            () = tokio::time::sleep_until(report_at.unwrap_or_else(Instant::now).into()), if report_at.is_some() => {
                cap.report();
            }
            _ = sigint.recv() => break "SIGINT",
            _ = sigterm.recv() => break "SIGTERM",
        }
    };

    drop(listener);
    if let Some(app) = &app {
        app.abort();
    }
    workers.close();
    let open = graceful.count();
    eprintln!("edgegate serve: {signal_name}: no longer accepting; draining {open} connection(s)");
    tokio::select! {
        () = graceful.shutdown() => eprintln!("edgegate serve: stopped"),
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            eprintln!("edgegate serve: stopped; in-flight requests cut after {}s", DRAIN_TIMEOUT.as_secs());
        }
        _ = sigint.recv() => eprintln!("edgegate serve: second signal, stopped without draining"),
        _ = sigterm.recv() => eprintln!("edgegate serve: second signal, stopped without draining"),
    }
    workers.stop().await;
    Ok(Status::Ok)
}

/// `--origin`: `http://...` is an upstream, anything else a directory; none: the demo.
fn resolve_origin(given: Option<&str>) -> anyhow::Result<(Origin, String, bool)> {
    let Some(given) = given else {
        // Canonical, as every directory origin: the symlink check compares resolved paths.
        let dir = demo::demo_dir()?;
        let dir = std::fs::canonicalize(&dir).with_context(|| format!("{}: cannot resolve", dir.display()))?;
        let text = dir.display().to_string();
        return Ok((Origin::Dir(dir), text, true));
    };
    if given.contains("://") {
        return Ok((Origin::Url(Box::new(proxy::Upstream::parse(given)?)), given.to_string(), false));
    }
    if given.is_empty() {
        bail!("--origin: empty; give a directory or an http:// URL");
    }
    let meta = std::fs::metadata(given).with_context(|| format!("--origin {given}: cannot open"))?;
    if !meta.is_dir() {
        bail!("--origin {given}: not a directory (give a directory or an http:// URL)");
    }
    std::fs::read_dir(given).with_context(|| format!("--origin {given}: directory not readable"))?;
    let dir = std::fs::canonicalize(given).with_context(|| format!("--origin {given}: cannot resolve"))?;
    let is_demo = demo::demo_dir().is_ok_and(|d| d == dir);
    Ok((Origin::Dir(dir), given.to_string(), is_demo))
}

/// The address to print: a wildcard listen address is reachable on loopback.
fn display_addr(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::from(([127, 0, 0, 1], addr.port())),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port())),
        _ => addr,
    }
}

/// Debug builds only: with `EDGEGATE_TEST_CLIENT_IP_HEADER=<name>`, the viewer address is
/// taken from that request header, so the fixture events (whose `clientIp`s are documentation
/// addresses, not loopback) run through `serve` unchanged. Release builds have no such knob:
/// there the address is always the connection's peer.
#[cfg(debug_assertions)]
fn test_client_ip(req: &Request<Incoming>) -> Option<Arc<str>> {
    static HEADER: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let name = HEADER.get_or_init(|| std::env::var("EDGEGATE_TEST_CLIENT_IP_HEADER").ok()).as_deref()?;
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(Arc::from)
}

async fn handle(
    server: Arc<Server>,
    client_ip: Arc<str>,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let start = Instant::now();
    let request_id = RequestId::new(server.id_prefix, server.counter.fetch_add(1, Ordering::Relaxed));
    // One clock for the binary; a clock before 1970 is a fault (500), never `now = 0`.
    let now = crate::clock::now();
    #[cfg(debug_assertions)]
    let client_ip = test_client_ip(&req).unwrap_or(client_ip);

    let decided = {
        // Cookie values that are not UTF-8 cannot appear in a CloudFront event; they are
        // neither inspected nor forwarded (proxy.rs drops them too).
        let cookies: Vec<&str> = req
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
            .collect();
        let view = RequestView {
            method: req.method().as_str(),
            uri: req.uri().path(),
            querystring: req.uri().query(),
            cookies: &cookies,
            client_ip: &client_ip,
            request_id: request_id.as_str(),
            distribution_id: DISTRIBUTION_ID,
        };
        // SPEC §5: a fault inside the gate is a 500 `internal`, never a forward.
        now.and_then(|now| std::panic::catch_unwind(AssertUnwindSafe(|| decide(&server.gate, &view, now))).ok())
            .ok_or_else(|| log_line(Reason::Internal, &view, &log_path(&server.gate, view.uri), None))
    };

    let method = req.method().clone();
    let record = |path: String, status: StatusCode, reason: Option<&'static str>| AccessRecord {
        start,
        request_id,
        client_ip: client_ip.clone(),
        method: method.clone(),
        path,
        status: status.as_u16(),
        reason,
        bytes: 0,
        complete: false,
    };

    let forward = match decided {
        Ok(Outcome::Forward(forward)) => forward,
        Ok(Outcome::Deny(deny)) => {
            log::decision(&deny.log);
            let generated = generated(&deny.response);
            let rec = record(log_path(&server.gate, req.uri().path()), generated.status(), Some(deny.reason.code()));
            return Ok(with_record(generated, rec));
        }
        Err(line) => {
            log::decision(&line);
            let generated = generated(&Generated::for_reason(Reason::Internal, Some(server.gate.methods())));
            let rec =
                record(log_path(&server.gate, req.uri().path()), generated.status(), Some(Reason::Internal.code()));
            return Ok(with_record(generated, rec));
        }
    };

    let response = match &server.origin {
        Origin::Dir(root) => {
            let (method, headers, query) = (req.method(), req.headers(), req.uri().query());
            files::serve(root, server.follow_symlinks, method, headers, &forward.uri, query, server.gate.cache())
        }
        Origin::Url(upstream) => {
            // `None`: the token was not in the query, which is forwarded as the viewer sent it.
            let query = forward.querystring.as_deref().or(req.uri().query());
            match upstream.target(&forward.uri, query) {
                Some(target) => {
                    let token_name = server.gate.token_name();
                    upstream.forward(req, target, forward.cookies, &client_ip, token_name, server.timeout).await
                }
                None => files::plain(StatusCode::BAD_REQUEST, "400 Bad Request: path not forwardable"),
            }
        }
    };
    // The forwarded path can still hold a token the gate did not take (`path_tokens` off,
    // a second one): the access line redacts it like every other log path.
    let redacted = match edgegate_core::redact::redact(&forward.uri, Some(server.gate.token_name())) {
        std::borrow::Cow::Owned(path) => Some(path),
        std::borrow::Cow::Borrowed(_) => None,
    };
    let rec = record(redacted.unwrap_or(forward.uri), response.status(), None);
    Ok(with_record(response, rec))
}

fn with_record(response: Response<ResponseBody>, record: AccessRecord) -> Response<ResponseBody> {
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, body.with_record(record))
}

/// The path for the access line of a request that was not forwarded: the raw path with
/// every token value redacted, whether or not the gate took it for a token (`path_tokens`
/// off, a second one, one split by its own `/`): a log never holds a token.
fn log_path(gate: &Gate, raw: &str) -> String {
    // The core's one rule (SPEC §5), so this line and the decision line cannot disagree.
    edgegate_core::redact::redact(raw, Some(gate.token_name())).into_owned()
}

/// The HTTP form of a generated response: the same status, headers and body the edge
/// renders as CloudFront JSON.
fn generated(answer: &Generated) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::full(Bytes::from(answer.body.clone())));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in &answer.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            headers.append(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_paths_never_hold_a_token() -> anyhow::Result<()> {
        let gate = Gate::new(&demo::dev_config())?;
        assert_eq!(log_path(&gate, "/__token__=exp%3D1~hmac%3Dab/pool/x.deb"), "/__token__=<redacted>/pool/x.deb");
        assert_eq!(log_path(&gate, "/__token__%3Dexp%3D1~hmac%3Dab/pool/x.deb"), "/__token__%3D<redacted>/pool/x.deb");
        assert_eq!(log_path(&gate, "/__token__=exp%3D1~hmac%3Dab"), "/__token__=<redacted>");
        assert_eq!(log_path(&gate, "/pool/__token__=x"), "/pool/__token__=<redacted>");
        // Singly encoded, split by its own '/': the HMAC is in a later segment.
        assert_eq!(
            log_path(&gate, "/__token__=exp%3D1~acl%3D/pool/*~hmac%3Dab/pool/x.deb"),
            "/__token__=<redacted>/pool/*~<redacted>/pool/x.deb"
        );
        Ok(())
    }
}
