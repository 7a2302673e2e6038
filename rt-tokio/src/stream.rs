//! Connections as tokio streams.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use synack_core::conn::{CloseReason, Connection, Error, Negotiated, Stats};
use synack_core::endpoint::ConnectionHandle;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error;
use crate::stack::{Stack, State};

/// Which waker slot to leave a waker in.
#[derive(Clone, Copy)]
enum Wait {
    Read,
    Write,
}

/// The part of a stream its halves share; dropping it lets go of the
/// connection.
struct Inner {
    stack: Stack,
    handle: ConnectionHandle,
    local: SocketAddr,
    peer: SocketAddr,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let now = self.stack.shared.now();
        let mut st = self.stack.shared.lock();
        st.slots.remove(&self.handle);
        // Like closing a socket: a FIN, or a reset if received data was
        // left unread. Fails only if the connection is already gone.
        let _ = st.ep.release(self.handle, now);
        let kick = st.kick();
        drop(st);
        if let Some(w) = kick {
            w.wake();
        }
    }
}

impl Inner {
    /// Runs `f` on the connection under the lock. Without a connection (it
    /// ended and was removed, or the stack stopped), `gone` says what to
    /// report. When `f` returns `WouldBlock`, `cx`'s waker is left in the
    /// `wait` slot (`f` returns the result and whether the driver must be
    /// woken).
    fn with_conn<T>(
        &self,
        cx: Option<&mut Context<'_>>,
        wait: Wait,
        f: impl FnOnce(&mut Connection, synack_core::time::Instant) -> (Result<T, Error>, bool),
        gone: impl FnOnce(Option<CloseReason>) -> io::Result<T>,
    ) -> Poll<io::Result<T>> {
        let now = self.stack.shared.now();
        let mut st = self.stack.shared.lock();
        let (result, kick) = match st.ep.connection_mut(self.handle) {
            Some(conn) => f(conn, now),
            None => {
                let result = match st.check_running() {
                    Err(e) => Err(e),
                    Ok(()) => gone(st.slots.get(&self.handle).and_then(|s| s.closed)),
                };
                return Poll::Ready(result);
            }
        };
        let kick = if kick { st.kick() } else { None };
        let out = match result {
            Ok(v) => Poll::Ready(Ok(v)),
            Err(Error::WouldBlock) => match cx {
                Some(cx) => {
                    register(&mut st, self.handle, wait, cx.waker());
                    Poll::Pending
                }
                None => Poll::Ready(Err(io::ErrorKind::WouldBlock.into())),
            },
            Err(e) => Poll::Ready(Err(match wait {
                Wait::Read => error::conn(e),
                Wait::Write => error::write(e),
            })),
        };
        drop(st);
        if let Some(w) = kick {
            w.wake();
        }
        out
    }

    fn poll_read(&self, cx: Option<&mut Context<'_>>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.with_conn(
            cx,
            Wait::Read,
            |conn, now| {
                let r = conn.read(now, buf);
                // Reading may open the window: the driver sends the update.
                let kick = matches!(r, Ok(n) if n > 0);
                (r, kick)
            },
            |closed| match closed {
                // Removed after a normal close: everything was read.
                Some(CloseReason::Normal) => Ok(0),
                Some(reason) => Err(error::closed(reason)),
                None => Err(io::ErrorKind::NotConnected.into()),
            },
        )
    }

    fn poll_write(&self, cx: Option<&mut Context<'_>>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.with_conn(
            cx,
            Wait::Write,
            |conn, _| {
                let r = conn.write(buf);
                let kick = r.is_ok();
                (r, kick)
            },
            |closed| {
                Err(match closed {
                    Some(CloseReason::Normal) | None => {
                        io::Error::new(io::ErrorKind::BrokenPipe, "connection closed")
                    }
                    Some(reason) => error::closed(reason),
                })
            },
        )
    }

    fn shutdown(&self) -> io::Result<()> {
        let r = self.with_conn(
            None,
            Wait::Write,
            |conn, _| match conn.shutdown() {
                // Already over normally: nothing left to shut.
                Err(Error::Closed(CloseReason::Normal)) => (Ok(()), false),
                r => (r, true),
            },
            |closed| match closed {
                Some(CloseReason::Normal) => Ok(()),
                Some(reason) => Err(error::closed(reason)),
                None => Err(io::ErrorKind::NotConnected.into()),
            },
        );
        match r {
            Poll::Ready(r) => r,
            Poll::Pending => Ok(()),
        }
    }

    /// Ready once the handshake is over (or failed).
    fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = self.stack.shared.lock();
        st.check_running()?;
        let Some(slot) = st.slots.get_mut(&self.handle) else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        if let Some(reason) = slot.closed {
            return Poll::Ready(Err(match reason {
                // Closed before it opened: the peer never answered in a
                // way that opened it.
                CloseReason::Normal => io::ErrorKind::ConnectionAborted.into(),
                reason => error::closed(reason),
            }));
        }
        if slot.connected {
            return Poll::Ready(Ok(()));
        }
        register(&mut st, self.handle, Wait::Write, cx.waker());
        Poll::Pending
    }

    /// Ready once the connection has ended (its `Closed` event).
    fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = self.stack.shared.lock();
        st.check_running()?;
        let finished = st
            .ep
            .connection(self.handle)
            .is_none_or(|c| c.is_finished());
        match st.slots.get(&self.handle).and_then(|s| s.closed) {
            Some(CloseReason::Normal) => Poll::Ready(Ok(())),
            Some(reason) => Poll::Ready(Err(error::closed(reason))),
            None if finished && st.ep.connection(self.handle).is_none() => Poll::Ready(Ok(())),
            None => {
                register(&mut st, self.handle, Wait::Read, cx.waker());
                Poll::Pending
            }
        }
    }

    fn stats(&self) -> io::Result<Stats> {
        let st = self.stack.shared.lock();
        if let Some(conn) = st.ep.connection(self.handle) {
            return Ok(conn.stats());
        }
        st.slots
            .get(&self.handle)
            .and_then(|s| s.last_stats.as_deref().cloned())
            .ok_or_else(|| io::ErrorKind::NotConnected.into())
    }

    fn conn<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> io::Result<T> {
        let mut st = self.stack.shared.lock();
        st.check_running()?;
        let conn = st
            .ep
            .connection_mut(self.handle)
            .ok_or(io::ErrorKind::NotConnected)?;
        let out = f(conn);
        let kick = st.kick();
        drop(st);
        if let Some(w) = kick {
            w.wake();
        }
        Ok(out)
    }
}

fn register(st: &mut State, handle: ConnectionHandle, wait: Wait, waker: &Waker) {
    if let Some(slot) = st.slots.get_mut(&handle) {
        let place = match wait {
            Wait::Read => &mut slot.read,
            Wait::Write => &mut slot.write,
        };
        match place {
            Some(w) if w.will_wake(waker) => {}
            _ => *place = Some(waker.clone()),
        }
    }
}

/// A TCP connection of a synack [`Stack`], like `tokio::net::TcpStream`.
///
/// Reads wait for data and return 0 once the peer has closed and
/// everything was read; writes wait for room in the send buffer (its size
/// is `StackConfig::endpoint.conn.send_buffer`). `poll_flush` returns at
/// once (written data is the stack's to deliver, as with a kernel socket);
/// `poll_shutdown` sends a FIN after the data. Dropping the stream is
/// closing a socket: a FIN, or a reset if received data was left unread.
pub struct TcpStream {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.inner.local)
            .field("peer", &self.inner.peer)
            .finish()
    }
}

impl TcpStream {
    /// A stream over a connection the application now holds.
    pub(crate) fn new(stack: Stack, handle: ConnectionHandle) -> TcpStream {
        let tuple = stack.shared.lock().ep.connection(handle).map(|c| c.tuple());
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        TcpStream {
            inner: Arc::new(Inner {
                stack,
                handle,
                local: tuple.map_or(unspecified, |t| t.local),
                peer: tuple.map_or(unspecified, |t| t.remote),
            }),
        }
    }

    pub(crate) async fn wait_connected(&self) -> io::Result<()> {
        poll_fn(|cx| self.inner.poll_connected(cx)).await
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.peer)
    }

    /// Turns Nagle's algorithm off (`true`) or on, like `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.conn(|c| c.set_nodelay(nodelay))
    }

    /// True when Nagle's algorithm is off.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.conn(|c| c.nodelay())
    }

    /// The connection's counters and estimates (RTT, congestion window,
    /// retransmissions…). Once the connection has ended and gone, the
    /// last values seen (when the peer closed, or the connection ended);
    /// `NotConnected` if there are none.
    pub fn stats(&self) -> io::Result<Stats> {
        self.inner.stats()
    }

    /// The options the handshake agreed on: the peer's MSS, window
    /// scaling and both shifts, SACK, timestamps. `NotConnected` once the
    /// connection has ended and gone.
    pub fn negotiated(&self) -> io::Result<Negotiated> {
        self.inner.conn(|c| c.negotiated())
    }

    /// Reads what has arrived without waiting; `WouldBlock` if nothing
    /// has.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        ready_or_would_block(self.inner.poll_read(None, buf))
    }

    /// Writes what fits without waiting; `WouldBlock` if nothing does.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        ready_or_would_block(self.inner.poll_write(None, buf))
    }

    /// Closes gracefully: sends a FIN after the written data, discards
    /// what the peer still sends, and resolves once the peer has closed
    /// too and acknowledged everything (`Ok`), or the connection failed
    /// (reset, timed out).
    pub async fn close(self) -> io::Result<()> {
        self.inner.shutdown()?;
        let mut scratch = vec![0u8; 16 * 1024];
        loop {
            match poll_fn(|cx| self.inner.poll_read(Some(cx), &mut scratch)).await {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => break,
                Err(e) => return Err(e),
            }
        }
        poll_fn(|cx| self.inner.poll_closed(cx)).await
    }

    /// Aborts the connection with a reset, like closing a socket with
    /// `SO_LINGER` set to zero.
    pub fn abort(self) {
        let _ = self.inner.conn(|c| c.abort());
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

fn ready_or_would_block<T>(p: Poll<io::Result<T>>) -> io::Result<T> {
    match p {
        Poll::Ready(r) => r,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

fn read_into(inner: &Inner, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
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

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.inner.shutdown())
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
    inner: Arc<Inner>,
}

/// The writing half of [`TcpStream::into_split`]; dropping it sends a FIN.
pub struct OwnedWriteHalf {
    inner: Arc<Inner>,
    shutdown_on_drop: bool,
}

/// The reading half of [`TcpStream::split`].
pub struct ReadHalf<'a> {
    inner: &'a Arc<Inner>,
}

/// The writing half of [`TcpStream::split`].
pub struct WriteHalf<'a> {
    inner: &'a Arc<Inner>,
}

macro_rules! impl_debug_addrs {
    ($t:ty, $name:literal) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct($name)
                    .field("local", &self.inner.local)
                    .field("peer", &self.inner.peer)
                    .finish()
            }
        }
    };
}

impl_debug_addrs!(OwnedReadHalf, "OwnedReadHalf");
impl_debug_addrs!(OwnedWriteHalf, "OwnedWriteHalf");
impl_debug_addrs!(ReadHalf<'_>, "ReadHalf");
impl_debug_addrs!(WriteHalf<'_>, "WriteHalf");

impl OwnedReadHalf {
    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.peer)
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
        Ok(self.inner.local)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.peer)
    }

    /// The connection's counters and estimates (see
    /// [`TcpStream::stats`]).
    pub fn stats(&self) -> io::Result<Stats> {
        self.inner.stats()
    }

    /// Turns Nagle's algorithm off (`true`) or on.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.conn(|c| c.set_nodelay(nodelay))
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
