//! Connections as tokio streams: `synack-driver`'s [`Stream`] under
//! tokio's `AsyncRead`/`AsyncWrite`.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use std::future::poll_fn;
use std::time::Duration;

use synack_core::conn::Stats;
use synack_driver::Stream;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf, Ready};

/// A TCP connection of a synack [`Stack`](crate::Stack), like
/// `tokio::net::TcpStream`.
///
/// Reads wait for data and return 0 once the peer has closed and
/// everything was read; writes wait for room in the send buffer (its size
/// is `StackConfig::endpoint.conn.send_buffer`). `poll_flush` returns at
/// once (written data is the stack's to deliver, as with a kernel socket);
/// `poll_shutdown` sends a FIN after the data (and, as tokio's, is `Ok`
/// also when the connection already failed: the failure is for a read
/// or write to report). Dropping the stream is
/// closing a socket: a FIN, or a reset if received data was left unread.
pub struct TcpStream {
    inner: Arc<Stream>,
}

synack_driver::stream_accessors!(TcpStream);

impl TcpStream {
    pub(crate) fn new(inner: Stream) -> TcpStream {
        TcpStream {
            inner: Arc::new(inner),
        }
    }

    /// Reads what has arrived without waiting; `WouldBlock` if nothing
    /// has. `Ok(0)` at end of stream.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.try_read(buf)
    }

    /// Writes what fits without waiting; `WouldBlock` if nothing does.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.try_write(buf)
    }

    /// Writes what fits of the slices, in order, without waiting (one
    /// copy into the send buffer, under one lock); `WouldBlock` if
    /// nothing does. The bytes taken are a prefix of the slices'
    /// concatenation.
    pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.inner.try_write_vectored(bufs)
    }

    /// Waits until data has arrived and copies it into `buf` without
    /// taking it: the next read returns the same bytes (`MSG_PEEK`).
    /// `Ok(0)` at end of stream or for an empty `buf`.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.inner.poll_peek(Some(cx), buf)).await
    }

    /// Polls for data to peek at, into `buf`'s unfilled part, without
    /// taking it; the number of bytes copied (also added to `buf`'s
    /// filled part).
    pub fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        let unfilled = buf.initialize_unfilled();
        match self.inner.poll_peek(Some(cx), unfilled) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    /// Copies what has arrived into `buf` without taking it or waiting;
    /// `WouldBlock` if nothing has.
    pub fn try_peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.try_peek(buf)
    }

    /// Waits until the stream is readable: data has arrived, the peer has
    /// closed, or the connection has ended (a read then says how). As
    /// with tokio, readiness can be stale by the time of the read, which
    /// then returns `WouldBlock`: loop on `readable()` and `try_read`.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Waits until the stream is writable: the handshake is over and the
    /// send buffer has room, or a write would fail at once (the
    /// connection ended or was shut). A full buffer wakes this when
    /// acknowledgments free room.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// Polls for read readiness (see [`readable`](TcpStream::readable)).
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.poll_read_ready(cx).map(Ok)
    }

    /// Polls for write readiness (see [`writable`](TcpStream::writable)).
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.poll_write_ready(cx).map(Ok)
    }

    /// Waits for any of the readiness in `interest` (readable, writable)
    /// and says which the stream has: `READABLE` and `WRITABLE` as
    /// [`readable`](TcpStream::readable) and
    /// [`writable`](TcpStream::writable) define them, with `READ_CLOSED`
    /// once the peer's FIN has arrived or the connection ended and
    /// `WRITE_CLOSED` once this side shut writing or the connection
    /// ended, as tokio reports them. Priority and error interest are not
    /// reported (TCP urgent data is not supported; errors show in reads
    /// and writes).
    pub async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        poll_fn(|cx| {
            let mut ready = Ready::EMPTY;
            if interest.is_readable() && self.inner.poll_read_ready(cx).is_ready() {
                ready |= Ready::READABLE;
            }
            if interest.is_writable() && self.inner.poll_write_ready(cx).is_ready() {
                ready |= Ready::WRITABLE;
            }
            if ready.is_empty() {
                return Poll::Pending;
            }
            let (read_closed, write_closed) = self.inner.closed_directions();
            if read_closed && interest.is_readable() {
                ready |= Ready::READ_CLOSED;
            }
            if write_closed && interest.is_writable() {
                ready |= Ready::WRITE_CLOSED;
            }
            Poll::Ready(Ok(ready))
        })
        .await
    }

    /// Sets what dropping the stream does (`SO_LINGER`): `None` closes
    /// gracefully in the background (a FIN after the data);
    /// `Some(Duration::ZERO)` resets the connection, discarding unsent
    /// data. Other timeouts fail with `Unsupported`: a drop cannot wait;
    /// await [`close`](TcpStream::close) to know the data arrived.
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(dur)
    }

    /// The linger setting (see [`set_linger`](TcpStream::set_linger)).
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.inner.linger()
    }

    /// Closes gracefully: sends a FIN after the written data, discards
    /// what the peer still sends, and resolves once the peer has closed
    /// too and acknowledged everything (`Ok`), or the connection failed
    /// (reset, timed out).
    pub async fn close(self) -> io::Result<()> {
        self.inner.close().await
    }

    /// Aborts the connection with a reset, like closing a socket with
    /// `SO_LINGER` set to zero.
    pub fn abort(self) {
        self.inner.abort();
    }

    /// Splits into owned halves that can move to different tasks.
    /// Dropping the write half shuts the sending side (a FIN); the
    /// connection is let go when both halves are dropped.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        (
            OwnedReadHalf {
                inner: self.inner.clone(),
            },
            OwnedWriteHalf {
                inner: self.inner,
                shutdown_on_drop: true,
            },
        )
    }

    /// Splits into borrowed halves.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (
            ReadHalf { inner: &self.inner },
            WriteHalf { inner: &self.inner },
        )
    }
}

fn read_into(inner: &Stream, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
    let unfilled = buf.initialize_unfilled();
    match inner.poll_read(Some(cx), unfilled) {
        Poll::Ready(Ok(n)) => {
            buf.advance(n);
            Poll::Ready(Ok(()))
        }
        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        Poll::Pending => Poll::Pending,
    }
}

/// Shuts the sending side. As `tokio::net::TcpStream`'s `poll_shutdown`,
/// turns `NotConnected` (the connection failed, and the failure is left
/// for a read or write to report) into `Ok`.
fn shutdown(inner: &Stream) -> io::Result<()> {
    match inner.shutdown() {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
        r => r,
    }
}

macro_rules! impl_read {
    ($t:ty) => {
        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                read_into(&self.inner, cx, buf)
            }
        }
    };
}

macro_rules! impl_write {
    ($t:ty) => {
        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_write(Some(cx), buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_write_vectored(Some(cx), bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(shutdown(&self.inner))
            }
        }
    };
}

impl_read!(TcpStream);
impl_write!(TcpStream);
impl_read!(OwnedReadHalf);
impl_write!(OwnedWriteHalf);
impl_read!(ReadHalf<'_>);
impl_write!(WriteHalf<'_>);

/// The reading half of [`TcpStream::into_split`].
pub struct OwnedReadHalf {
    inner: Arc<Stream>,
}

/// The writing half of [`TcpStream::into_split`]; dropping it sends a FIN.
pub struct OwnedWriteHalf {
    inner: Arc<Stream>,
    shutdown_on_drop: bool,
}

/// The reading half of [`TcpStream::split`].
pub struct ReadHalf<'a> {
    inner: &'a Arc<Stream>,
}

/// The writing half of [`TcpStream::split`].
pub struct WriteHalf<'a> {
    inner: &'a Arc<Stream>,
}

macro_rules! impl_debug_addrs {
    ($t:ty, $name:literal) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct($name)
                    .field("local", &self.inner.local_addr())
                    .field("peer", &self.inner.peer_addr())
                    .finish()
            }
        }
    };
}

/// The read side's readiness, `peek` and `try_*` calls on a half.
macro_rules! impl_read_half {
    ($t:ty) => {
        impl $t {
            /// Waits until the stream is readable (see
            /// [`TcpStream::readable`]).
            pub async fn readable(&self) -> io::Result<()> {
                poll_fn(|cx| self.inner.poll_read_ready(cx).map(Ok)).await
            }

            /// Reads what has arrived without waiting (see
            /// [`TcpStream::try_read`]).
            pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                self.inner.try_read(buf)
            }

            /// Waits for data and copies it without taking it (see
            /// [`TcpStream::peek`]).
            pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
                poll_fn(|cx| self.inner.poll_peek(Some(cx), buf)).await
            }

            /// Copies what has arrived without taking it or waiting (see
            /// [`TcpStream::try_peek`]).
            pub fn try_peek(&self, buf: &mut [u8]) -> io::Result<usize> {
                self.inner.try_peek(buf)
            }
        }
    };
}

/// The write side's readiness and `try_*` calls on a half.
macro_rules! impl_write_half {
    ($t:ty) => {
        impl $t {
            /// Waits until the stream is writable (see
            /// [`TcpStream::writable`]).
            pub async fn writable(&self) -> io::Result<()> {
                poll_fn(|cx| self.inner.poll_write_ready(cx).map(Ok)).await
            }

            /// Writes what fits without waiting (see
            /// [`TcpStream::try_write`]).
            pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                self.inner.try_write(buf)
            }

            /// Writes what fits of the slices without waiting (see
            /// [`TcpStream::try_write_vectored`]).
            pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
                self.inner.try_write_vectored(bufs)
            }
        }
    };
}

impl_read_half!(OwnedReadHalf);
impl_read_half!(ReadHalf<'_>);
impl_write_half!(OwnedWriteHalf);
impl_write_half!(WriteHalf<'_>);

impl_debug_addrs!(OwnedReadHalf, "OwnedReadHalf");
impl_debug_addrs!(OwnedWriteHalf, "OwnedWriteHalf");
impl_debug_addrs!(ReadHalf<'_>, "ReadHalf");
impl_debug_addrs!(WriteHalf<'_>, "WriteHalf");

impl OwnedReadHalf {
    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local_addr())
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.peer_addr())
    }

    /// Puts the halves back together; fails (returning them) if they came
    /// from different streams.
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if Arc::ptr_eq(&self.inner, &other.inner) {
            let mut other = other;
            other.shutdown_on_drop = false;
            drop(other);
            Ok(TcpStream { inner: self.inner })
        } else {
            Err(ReuniteError(self, other))
        }
    }
}

impl OwnedWriteHalf {
    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local_addr())
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.peer_addr())
    }

    /// The connection's counters and estimates (see
    /// [`TcpStream::stats`]).
    pub fn stats(&self) -> io::Result<Stats> {
        self.inner.stats()
    }

    /// Turns Nagle's algorithm off (`true`) or on.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_nodelay(nodelay)
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.inner.shutdown();
        }
    }
}

/// Two halves of different streams given to [`OwnedReadHalf::reunite`].
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl std::fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tried to reunite halves that are not from the same stream")
    }
}

impl std::error::Error for ReuniteError {}
