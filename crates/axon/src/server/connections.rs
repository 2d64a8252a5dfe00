//! Connection-level limits (issue 13, ADR 007): when a quiet connection is closed. A slowloris
//! client holds a slot for at most the header-read timeout, an idle or stalled one for at most
//! the idle timeout (how many are open, in all and per client host, is counted by
//! `tao_limits::ConnectionLimits`, so one host cannot hold more than its share).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// When a connection last moved bytes, and whether one of its requests is being answered (a
/// connection waiting for its handler, or for a quiet stream, is not idle).
#[derive(Debug)]
pub(super) struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    busy: AtomicUsize,
    /// The longest a request may count as being answered: the synapse timeout's cap. Past it
    /// an answer still unsent is one its client does not read.
    max_answer: Duration,
    busy_until_ms: AtomicU64,
}

impl Activity {
    pub(super) fn new(max_answer: Duration) -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
            max_answer,
            busy_until_ms: AtomicU64::new(0),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn at(&self, ms: &AtomicU64) -> Instant {
        self.start + Duration::from_millis(ms.load(Ordering::Relaxed))
    }

    fn touch(&self) {
        self.last_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Marks a request as being answered until the returned guard drops, for at most
    /// `max_answer`.
    pub(super) fn busy(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::Relaxed);
        let until = self
            .now_ms()
            .saturating_add(u64::try_from(self.max_answer.as_millis()).unwrap_or(u64::MAX));
        self.busy_until_ms.store(until, Ordering::Relaxed);
        Busy(self.clone())
    }

    /// Resolves once the connection has moved no bytes for `timeout` while none of its
    /// requests is being answered (or the latest has been for longer than `max_answer`).
    pub(super) async fn idle_for(&self, timeout: Duration) {
        loop {
            let now = Instant::now();
            let quiet_due = self.at(&self.last_ms) + timeout;
            let busy_due = self.at(&self.busy_until_ms);
            if now < quiet_due {
                tokio::time::sleep_until(quiet_due).await;
            } else if self.busy.load(Ordering::Relaxed) == 0 || now >= busy_due {
                return;
            } else {
                // Being answered: look again when that ends (its end counts as traffic) or
                // runs out.
                tokio::time::sleep_until(busy_due.min(now + timeout)).await;
            }
        }
    }
}

/// A request being handled, from its arrival to the end of its answer's body (see
/// [`Activity::busy`]); its end counts as activity.
#[derive(Debug)]
pub(super) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that keeps its request counted as being handled until the body is sent
/// (or dropped): a stream whose handler is quiet is still an answer in progress.
#[derive(Debug)]
pub(super) struct Answering<B> {
    body: B,
    _busy: Busy,
}

impl<B> Answering<B> {
    pub(super) fn new(body: B, busy: Busy) -> Self {
        Self { body, _busy: busy }
    }
}

impl<B: Body + Unpin> Body for Answering<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A socket that records in its [`Activity`] every read or write that moves bytes.
#[derive(Debug)]
pub(super) struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    pub(super) fn new(inner: S, activity: Arc<Activity>) -> Self {
        activity.touch();
        Self { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
