//! The one response body type of the server: nothing, a small buffer, a file region read
//! as it is sent, or the upstream's body streamed through. It counts the bytes it hands to
//! the connection and owns the request's [`AccessRecord`], so the access line is written
//! exactly once, when the body is finished or dropped (client gone, server stopping).

use std::fs::File;
use std::future::Future as _;
use std::os::unix::fs::FileExt as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::Sleep;

use super::log::AccessRecord;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Largest single read from a file. One read per 256 KiB keeps syscalls few for large
/// files while bounding memory per connection (a 50 MB file never sits in memory).
pub const FILE_CHUNK: u64 = 256 * 1024;

#[derive(Debug)]
enum Kind {
    Empty,
    Full(Option<Bytes>),
    File(FileRegion),
    Upstream(UpstreamBody),
}

/// The upstream's response body, failing once it has stalled `limit`: an upstream that
/// stops mid-body would otherwise hold the viewer's connection for ever (the viewer sees
/// the response cut, as when the upstream closes).
#[derive(Debug)]
struct UpstreamBody {
    body: Incoming,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl UpstreamBody {
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            self.stalled = None;
            return Poll::Ready(frame.map(|r| r.map_err(BoxError::from)));
        }
        let limit = self.limit;
        let stalled = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err("the origin stopped sending its response body".into()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// `len` bytes of `file` from `offset`.
#[derive(Debug)]
pub struct FileRegion {
    file: File,
    offset: u64,
    remaining: u64,
}

impl FileRegion {
    pub fn new(file: File, offset: u64, len: u64) -> Self {
        FileRegion { file, offset, remaining: len }
    }

    /// Reads the next chunk. The read is synchronous, on the runtime's worker thread: the
    /// origin is a local directory whose files sit in the page cache, where a `pread` takes
    /// microseconds, while handing each read to tokio's blocking pool (what `tokio::fs`
    /// does) costs two thread hand-offs per chunk and was the larger cost in the bench.
    fn next_chunk(&mut self) -> Option<Result<Bytes, BoxError>> {
        if self.remaining == 0 {
            return None;
        }
        let want = self.remaining.min(FILE_CHUNK) as usize;
        let mut buf = BytesMut::zeroed(want);
        let mut filled = 0;
        while filled < want {
            match self.file.read_at(&mut buf[filled..], self.offset + filled as u64) {
                // The file shrank under us: the promised Content-Length cannot be met, so
                // the connection must be cut rather than the response silently shortened.
                Ok(0) => return Some(Err("file shrank while being sent".into())),
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Some(Err(e.into())),
            }
        }
        self.offset += want as u64;
        self.remaining -= want as u64;
        Some(Ok(buf.freeze()))
    }
}

/// A response body plus the request's access record.
#[derive(Debug)]
pub struct ResponseBody {
    kind: Kind,
    record: Option<AccessRecord>,
}

impl ResponseBody {
    pub fn empty() -> Self {
        ResponseBody { kind: Kind::Empty, record: None }
    }
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        let kind = if bytes.is_empty() { Kind::Empty } else { Kind::Full(Some(bytes)) };
        ResponseBody { kind, record: None }
    }
    pub fn file(region: FileRegion) -> Self {
        ResponseBody { kind: Kind::File(region), record: None }
    }
    /// The upstream's body, cut once it stalls for `limit`.
    pub fn upstream(body: Incoming, limit: Duration) -> Self {
        ResponseBody { kind: Kind::Upstream(UpstreamBody { body, limit, stalled: None }), record: None }
    }

    /// Attaches the access record; it is written when this body is dropped.
    pub fn with_record(mut self, mut record: AccessRecord) -> Self {
        if self.is_end_stream() {
            record.complete = true;
        }
        self.record = Some(record);
        self
    }

    fn count(&mut self, n: usize) {
        if let Some(record) = &mut self.record {
            record.bytes += n as u64;
        }
    }

    fn finish(&mut self) {
        if let Some(record) = &mut self.record {
            record.complete = true;
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = match &mut this.kind {
            Kind::Empty => Poll::Ready(None),
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::File(region) => Poll::Ready(region.next_chunk().map(|r| r.map(Frame::data))),
            Kind::Upstream(upstream) => upstream.poll_frame(cx),
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let n = data.len();
                    this.count(n);
                }
                if this.is_end_stream() {
                    this.finish();
                }
            }
            Poll::Ready(None) => this.finish(),
            Poll::Ready(Some(Err(_))) | Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Full(bytes) => bytes.is_none(),
            Kind::File(region) => region.remaining == 0,
            Kind::Upstream(upstream) => upstream.body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Empty => SizeHint::with_exact(0),
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::File(region) => SizeHint::with_exact(region.remaining),
            Kind::Upstream(upstream) => upstream.body.size_hint(),
        }
    }
}
