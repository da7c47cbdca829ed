//! Connection workers: one OS thread per core, each running its own single-threaded tokio
//! runtime, fed accepted connections round-robin by the accept loop (which stays on the
//! command's multi-thread runtime, with the signal handlers).
//!
//! Why not spawn connections on the multi-thread runtime itself: its work-stealing
//! scheduler wakes idle workers across threads (futex calls, cache misses) as requests
//! arrive. A connection never needs another thread: pinning each one to one runtime, the
//! way nginx pins it to one worker process, served about 10% more requests per second on
//! the same two cores (tests/bench/serve-vs-nginx.sh, 1 KB file).

use std::future::Future as _;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Sleep;

use edgegate_core::canonical_ip;

use super::{Server, handle};

/// An accepted connection on its way to a worker.
#[derive(Debug)]
pub struct Job {
    pub stream: std::net::TcpStream,
    pub peer: SocketAddr,
    /// Ties the connection to the server's graceful shutdown.
    pub watcher: Watcher,
    /// The connection's place under `--max-connections`, given back when it ends.
    pub slot: Slot,
}

/// `--max-connections`: how many client connections are open, and the refusals not yet
/// reported.
#[derive(Debug)]
pub struct Cap {
    open: Arc<AtomicUsize>,
    max: usize,
    refused: u64,
    /// When the first refusal not yet reported happened.
    first_refused: Option<Instant>,
}

/// The answer to a connection over the cap: a client sees why, and when to come back.
const OVER_CAP: &str = concat!(
    "HTTP/1.1 503 Service Unavailable\r\n",
    "retry-after: 1\r\n",
    "connection: close\r\n",
    "content-type: text/plain; charset=utf-8\r\n",
    "content-length: 46\r\n",
    "\r\n",
    "503 Service Unavailable: too many connections\n",
);

/// A cap line reports the refusals of this long, so a burst gets one line and a flood
/// one line per interval rather than one per connection.
const CAP_REPORT_EVERY: Duration = Duration::from_secs(1);

impl Cap {
    pub fn new(max: usize) -> Cap {
        Cap { open: Arc::new(AtomicUsize::new(0)), max: max.max(1), refused: 0, first_refused: None }
    }

    /// A place for `stream`, or `None` after answering it 503 (and counting it for the log).
    pub fn admit(&mut self, stream: &TcpStream) -> Option<Slot> {
        if let Some(slot) = Slot::take(&self.open, self.max) {
            return Some(slot);
        }
        // Best effort and never blocking: the socket is fresh, so its send buffer has room.
        // Reading what already arrived first makes the close a FIN, not a reset that
        // could destroy the 503 before the client reads it.
        let mut sink = [0u8; 2048];
        let _ = stream.try_read(&mut sink);
        let _ = stream.try_write(OVER_CAP.as_bytes());
        self.refused += 1;
        self.first_refused.get_or_insert_with(Instant::now);
        None
    }

    /// When the refusals not yet reported are due for their line (`None`: nothing pending).
    pub fn report_due(&self) -> Option<Instant> {
        self.first_refused.map(|first| first + CAP_REPORT_EVERY)
    }

    /// Writes the line for the refusals since the last one.
    pub fn report(&mut self) {
        if self.refused > 0 {
            eprintln!(
                "edgegate serve: connection limit reached (--max-connections {}): refused {} connection(s) with 503",
                self.max, self.refused
            );
        }
        self.refused = 0;
        self.first_refused = None;
    }
}

/// One open connection counted against the cap; dropping it frees the place.
#[derive(Debug)]
pub struct Slot(Arc<AtomicUsize>);

impl Slot {
    /// Takes a place if fewer than `max` are taken. The accept loop is the only caller, so
    /// the check and the increment cannot race with another taker.
    pub fn take(open: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
        if open.load(Ordering::Acquire) >= max {
            return None;
        }
        open.fetch_add(1, Ordering::AcqRel);
        Some(Slot(open.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A client connection whose writes fail once one has waited `limit` without the client
/// reading anything (nginx's `send_timeout`): a client that never reads its response
/// would otherwise hold the connection, its buffers and a file open for ever. Only a
/// write that cannot progress arms the clock, so a slow but reading client is not cut.
struct SendDeadline {
    stream: TcpStream,
    limit: Duration,
    /// Running while a write waits for room in the socket's send buffer.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl SendDeadline {
    fn watch<T>(&mut self, cx: &mut Context<'_>, polled: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let limit = self.limit;
        let stalled = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.stalled = None;
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "client did not read the response in time")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for SendDeadline {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendDeadline {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.watch(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_flush(cx);
        this.watch(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_shutdown(cx);
        this.watch(cx, polled)
    }
}

/// The running workers.
#[derive(Debug)]
pub struct Workers {
    senders: Vec<mpsc::UnboundedSender<Job>>,
    next: usize,
    stop: watch::Sender<()>,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts `count` workers (at least one), each with its own runtime.
    pub fn start(count: usize, server: &Arc<Server>, builder: &http1::Builder) -> std::io::Result<Workers> {
        let (stop, stop_rx) = watch::channel(());
        let mut senders = Vec::new();
        let mut threads = Vec::new();
        for i in 0..count.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let (tx, rx) = mpsc::unbounded_channel();
            let (server, builder, stop_rx) = (server.clone(), builder.clone(), stop_rx.clone());
            let thread = std::thread::Builder::new()
                .name(format!("edgegate-serve-{i}"))
                .spawn(move || runtime.block_on(run_worker(rx, stop_rx, server, builder)))?;
            senders.push(tx);
            threads.push(thread);
        }
        Ok(Workers { senders, next: 0, stop, threads })
    }

    /// Hands a connection to the next worker.
    pub fn dispatch(&mut self, job: Job) {
        let n = self.senders.len();
        let i = self.next % n;
        self.next = self.next.wrapping_add(1);
        // A worker only goes away when its thread panicked; try the others, and if none is
        // left the connection is dropped (closed) rather than served by nobody.
        let mut job = job;
        for k in 0..n {
            match self.senders[(i + k) % n].send(job) {
                Ok(()) => return,
                Err(mpsc::error::SendError(back)) => job = back,
            }
        }
    }

    /// Stops accepting work; connections already handed out keep running.
    pub fn close(&mut self) {
        self.senders.clear();
    }

    /// Ends the workers' runtimes (cutting whatever still runs) and joins their threads.
    pub async fn stop(self) {
        let Workers { senders, stop, threads, .. } = self;
        drop(senders);
        drop(stop);
        let _ = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        })
        .await;
    }
}

async fn run_worker(
    mut jobs: mpsc::UnboundedReceiver<Job>,
    mut stop: watch::Receiver<()>,
    server: Arc<Server>,
    builder: http1::Builder,
) {
    while let Some(Job { stream, peer, watcher, slot }) = jobs.recv().await {
        let Ok(stream) = TcpStream::from_std(stream) else { continue };
        let client_ip: Arc<str> = canonical_ip(peer.ip()).to_string().into();
        let limit = server.timeout;
        let server = server.clone();
        let service = service_fn(move |req| handle(server.clone(), client_ip.clone(), req));
        let io = TokioIo::new(SendDeadline { stream, limit, stalled: None });
        let conn = watcher.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            // Client resets and timeouts end a connection; they are not server errors.
            let _ = conn.await;
            drop(slot);
        });
    }
    // No more connections will come; the ones running finish (graceful drain) until the
    // server says stop, which ends this runtime and with it any connection still open.
    let _ = stop.changed().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_over_cap_answer_is_well_formed() {
        let (head, body) = OVER_CAP.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
    }
}
