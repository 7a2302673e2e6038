//! A connection the application holds: the runtime-neutral half of a
//! `TcpStream`.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll, Waker};

use synack_core::conn::{CloseReason, Connection, Error, Negotiated, Stats};
use synack_core::endpoint::ConnectionHandle;

use crate::error;
use crate::stack::{Stack, State};

/// Which waker slot to leave a waker in.
#[derive(Clone, Copy)]
enum Wait {
    Read,
    Write,
}

/// A connection of a [`Stack`] that the application holds: a key into the
/// driver's slot table, never a copy of connection state. Adapters wrap it
/// in their `TcpStream` and implement their runtime's I/O traits with its
/// `poll_*` methods (a stream's halves share it behind an `Arc`).
///
/// Reads wait for data and return 0 once the peer has closed and
/// everything was read; writes wait for room in the send buffer (its size
/// is `StackConfig::endpoint.conn.send_buffer`). Dropping it is closing a
/// socket: a FIN, or a reset if received data was left unread.
pub struct Stream {
    stack: Stack,
    handle: ConnectionHandle,
    local: SocketAddr,
    peer: SocketAddr,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("local", &self.local)
            .field("peer", &self.peer)
            .finish()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let now = self.stack.shared.now();
        let mut st = self.stack.shared.lock();
        let slot = st.slots.remove(&self.handle);
        if slot.is_some_and(|s| s.abort_on_drop) {
            // SO_LINGER with a zero timeout: a reset, whatever is queued.
            if let Some(conn) = st.ep.connection_mut(self.handle) {
                conn.abort();
            }
        }
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

impl Stream {
    /// A stream over a connection the application now holds.
    pub(crate) fn new(stack: Stack, handle: ConnectionHandle) -> Stream {
        let tuple = stack.shared.lock().ep.connection(handle).map(|c| c.tuple());
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        Stream {
            stack,
            handle,
            local: tuple.map_or(unspecified, |t| t.local),
            peer: tuple.map_or(unspecified, |t| t.remote),
        }
    }

    pub(crate) async fn wait_connected(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_connected(cx)).await
    }

    /// This end's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The stack it belongs to.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// Runs `f` on the connection under the lock. Without a connection (it
    /// ended and was removed, or the stack stopped), `gone` says what to
    /// report. When `f` returns `WouldBlock`, `cx`'s waker is left in the
    /// `wait` slot (`f` returns the result and whether the driver must be
    /// woken).
    ///
    /// A failure (reset, timeout, abort) is reported once, to the first
    /// read or write that meets it, as a kernel socket reports its pending
    /// error (`SO_ERROR`) once; after that `spent` says what the
    /// operation gives (a read: end of stream; a write: a broken pipe).
    /// An operation with no `spent` neither takes the report nor sees the
    /// failure: it finds nothing connected.
    fn with_conn<T>(
        &self,
        cx: Option<&mut Context<'_>>,
        wait: Wait,
        f: impl FnOnce(&mut Connection, &dyn Fn() -> synack_core::Instant) -> (Result<T, Error>, bool),
        gone: impl FnOnce(Option<CloseReason>) -> io::Result<T>,
        spent: Option<fn() -> io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        // The clock is read only by the operations that need it (a read
        // times the receive-buffer auto-tuning); a write does not.
        let now = || self.stack.shared.now();
        let mut st = self.stack.shared.lock();
        // A stopped stack moves nothing: fail rather than take data it
        // will never send.
        st.check_running()?;
        let (result, kick) = match st.ep.connection_mut(self.handle) {
            Some(conn) => f(conn, &now),
            None => {
                let closed = st.slots.get(&self.handle).and_then(|s| s.closed);
                return Poll::Ready(match closed {
                    Some(reason) if reason != CloseReason::Normal => {
                        self.report_failure(&mut st, reason, spent)
                    }
                    closed => gone(closed),
                });
            }
        };
        let kick = if kick { st.kick() } else { None };
        let out = match result {
            Ok(v) => Poll::Ready(Ok(v)),
            Err(Error::Closed(reason)) if reason != CloseReason::Normal => {
                Poll::Ready(self.report_failure(&mut st, reason, spent))
            }
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

    /// The connection failed for `reason`: the error, the first time a
    /// read or write meets it; `spent()` after.
    fn report_failure<T>(
        &self,
        st: &mut State,
        reason: CloseReason,
        spent: Option<fn() -> io::Result<T>>,
    ) -> io::Result<T> {
        let Some(spent) = spent else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        match st.slots.get_mut(&self.handle) {
            Some(slot) if slot.failure_reported => spent(),
            Some(slot) => {
                slot.failure_reported = true;
                Err(error::closed(reason))
            }
            None => Err(error::closed(reason)),
        }
    }

    /// Reads what has arrived into `buf`: `Ready(Ok(0))` at end of stream
    /// (or for an empty `buf`). With `cx`, `Pending` (its waker kept) when
    /// nothing has arrived; without, `Ready(Err(WouldBlock))`.
    pub fn poll_read(
        &self,
        cx: Option<&mut Context<'_>>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.with_conn(
            cx,
            Wait::Read,
            |conn, now| {
                let r = conn.read(now(), buf);
                // Reading may open the window: the driver sends the update.
                let kick = matches!(r, Ok(n) if n > 0);
                (r, kick)
            },
            read_gone,
            // The failure was reported: the stream has ended.
            Some(|| Ok(0)),
        )
    }

    /// Writes what fits of `buf` into the send buffer. With `cx`,
    /// `Pending` (its waker kept) when nothing fits; without,
    /// `Ready(Err(WouldBlock))`.
    pub fn poll_write(&self, cx: Option<&mut Context<'_>>, buf: &[u8]) -> Poll<io::Result<usize>> {
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
            Some(|| Err(broken_pipe())),
        )
    }

    /// Copies what has arrived into `buf` without taking it: the next
    /// read returns the same bytes, as `recv` with `MSG_PEEK`.
    /// `Ready(Ok(0))` at end of stream (or for an empty `buf`); with `cx`,
    /// `Pending` (its waker kept in the read slot) when nothing has
    /// arrived; without, `Ready(Err(WouldBlock))`. A failure (reset,
    /// timeout) is reported as to a read, and counts as its one report.
    pub fn poll_peek(
        &self,
        cx: Option<&mut Context<'_>>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.with_conn(
            cx,
            Wait::Read,
            |conn, _| (conn.peek(buf), false),
            read_gone,
            Some(|| Ok(0)),
        )
    }

    /// Writes what fits of the slices of `bufs`, in order, into the send
    /// buffer under one lock: the bytes taken are a prefix of their
    /// concatenation, copied straight from the slices. With `cx`,
    /// `Pending` (its waker kept) when nothing fits; without,
    /// `Ready(Err(WouldBlock))`. `Ok(0)` when every slice is empty.
    pub fn poll_write_vectored(
        &self,
        cx: Option<&mut Context<'_>>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.with_conn(
            cx,
            Wait::Write,
            |conn, _| {
                let r = conn.write_vectored(bufs.iter().map(|b| &**b));
                let kick = matches!(r, Ok(n) if n > 0);
                (r, kick)
            },
            |closed| {
                Err(match closed {
                    Some(CloseReason::Normal) | None => broken_pipe(),
                    Some(reason) => error::closed(reason),
                })
            },
            Some(|| Err(broken_pipe())),
        )
    }

    /// Shuts the sending side: a FIN after the written data. Does not
    /// wait. `Ok` also when the connection already ended normally;
    /// `NotConnected` once it failed (reset, timed out), as `shutdown(2)`
    /// says `ENOTCONN` then, leaving the failure for a read or write to
    /// report.
    pub fn shutdown(&self) -> io::Result<()> {
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
            // After a failure there is nothing left to shut: ENOTCONN, as
            // from a kernel socket, which leaves the error to reads and
            // writes.
            None,
        );
        match r {
            Poll::Ready(r) => r,
            Poll::Pending => Ok(()),
        }
    }

    /// Ready once the handshake is over (or failed).
    pub fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
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

    /// Ready when a read would not wait: data has arrived, the peer has
    /// closed, the connection has ended or the stack has stopped.
    /// Otherwise `cx`'s waker waits in the read slot, woken by the next
    /// event that may change that.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.stack.shared.lock();
        let ready = st.check_running().is_err()
            || st.ep.connection(self.handle).is_none_or(|c| {
                c.recv_queue_len() > 0 || c.peer_closed() || c.close_reason().is_some()
            });
        if ready {
            return Poll::Ready(());
        }
        register(&mut st, self.handle, Wait::Read, cx.waker());
        Poll::Pending
    }

    /// Ready when a write would not wait: the handshake is over and the
    /// send buffer has room, or a write would fail at once (the
    /// connection has ended or its sending side is shut, the stack has
    /// stopped). Otherwise `cx`'s waker waits in the write slot, woken
    /// when the handshake completes or acknowledgments free room.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.stack.shared.lock();
        let ready = st.check_running().is_err()
            || match st.slots.get(&self.handle) {
                None => true,
                Some(s) if s.closed.is_some() => true,
                Some(s) if !s.connected => false,
                Some(_) => st
                    .ep
                    .connection_mut(self.handle)
                    .is_none_or(|c| c.poll_send_room()),
            };
        if ready {
            return Poll::Ready(());
        }
        register(&mut st, self.handle, Wait::Write, cx.waker());
        Poll::Pending
    }

    /// Leaves `read` and `write` in the connection's slot for good: from
    /// now on every event the core reports wakes them (`read`: data, the
    /// peer's FIN, the end; `write`: the handshake done, room after a full
    /// send buffer, the end), not only the first after an operation would
    /// block. For a reactor that turns wake-ups into edge-triggered
    /// readiness, as the kernel reports every arrival (mio). The
    /// `poll_*` methods should then be given these wakers.
    pub fn set_event_wakers(&self, read: &Waker, write: &Waker) {
        let mut st = self.stack.shared.lock();
        if let Some(slot) = st.slots.get_mut(&self.handle) {
            slot.keep_wakers = true;
            slot.read = Some(read.clone());
            slot.write = Some(write.clone());
        }
    }

    /// Whether each direction has closed: reading (the peer's FIN has
    /// been received in order, or the connection ended) and writing (this
    /// side shut it, or the connection ended). Both once the stack has
    /// stopped or the handle names no connection.
    pub fn closed_directions(&self) -> (bool, bool) {
        let st = self.stack.shared.lock();
        if st.check_running().is_err() {
            return (true, true);
        }
        let ended = st
            .slots
            .get(&self.handle)
            .is_none_or(|s| s.closed.is_some());
        match st.ep.connection(self.handle) {
            None => (true, true),
            Some(c) => {
                use synack_core::conn::State;
                let over = ended || c.close_reason().is_some();
                let write_shut = matches!(
                    c.state(),
                    State::FinWait1
                        | State::FinWait2
                        | State::Closing
                        | State::LastAck
                        | State::TimeWait
                        | State::Closed
                );
                (over || c.peer_closed(), over || write_shut)
            }
        }
    }

    /// Sets what dropping the stream does, as `SO_LINGER`: `None` (the
    /// default) closes gracefully, a FIN after the data, as the stack
    /// finishes the connection in the background; `Some(Duration::ZERO)`
    /// aborts with a reset, discarding unsent data. Another timeout is
    /// refused with `Unsupported`: a drop cannot wait, so a stream that
    /// must know its data arrived awaits `close()` instead.
    pub fn set_linger(&self, linger: Option<std::time::Duration>) -> io::Result<()> {
        let abort = linger_aborts(linger)?;
        let mut st = self.stack.shared.lock();
        match st.slots.get_mut(&self.handle) {
            Some(slot) => {
                slot.abort_on_drop = abort;
                Ok(())
            }
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// The linger setting: `Some(Duration::ZERO)` when dropping the
    /// stream resets the connection, else `None`.
    pub fn linger(&self) -> io::Result<Option<std::time::Duration>> {
        let st = self.stack.shared.lock();
        match st.slots.get(&self.handle) {
            Some(slot) => Ok(slot.abort_on_drop.then_some(std::time::Duration::ZERO)),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// True once the handshake has completed, whatever happened since.
    pub fn is_connected(&self) -> bool {
        let st = self.stack.shared.lock();
        st.slots.get(&self.handle).is_some_and(|s| s.connected)
    }

    /// Takes the connection's pending error, as `SO_ERROR` does: how it
    /// failed (refused, reset, timed out, aborted), unless a read or write
    /// already reported it; after that, and while the connection is alive
    /// or after a normal close, `None`. A stopped stack is always an error.
    pub fn take_error(&self) -> Option<io::Error> {
        let mut st = self.stack.shared.lock();
        if let Err(e) = st.check_running() {
            return Some(e);
        }
        let reason = st
            .slots
            .get(&self.handle)
            .and_then(|s| s.closed)
            .or_else(|| st.ep.connection(self.handle)?.close_reason());
        match reason {
            None | Some(CloseReason::Normal) => None,
            Some(reason) => {
                let slot = st.slots.get_mut(&self.handle)?;
                (!std::mem::replace(&mut slot.failure_reported, true))
                    .then(|| error::closed(reason))
            }
        }
    }

    /// Ready once the connection has ended (its `Closed` event): `Ok`
    /// after a normal close, else how it failed.
    pub fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
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

    /// The connection's counters and estimates (RTT, congestion window,
    /// retransmissions…); once it has ended, their final values.
    pub fn stats(&self) -> io::Result<Stats> {
        let st = self.stack.shared.lock();
        st.ep
            .connection(self.handle)
            .map(|conn| conn.stats())
            .ok_or_else(|| io::ErrorKind::NotConnected.into())
    }

    /// Runs `f` on the connection, ended or not (and wakes the driver
    /// after, as `f` may have changed what it must send); `NotConnected`
    /// only if the handle names none.
    pub fn with_connection<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> io::Result<T> {
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
    /// Turns Nagle's algorithm off (`true`) or on, like `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.with_connection(|c| c.set_nodelay(nodelay))
    }

    /// True when Nagle's algorithm is off.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.with_connection(|c| c.nodelay())
    }

    /// The options the handshake agreed on: the peer's MSS, window
    /// scaling and both shifts, SACK, timestamps; also once the
    /// connection has ended.
    pub fn negotiated(&self) -> io::Result<Negotiated> {
        self.with_connection(|c| c.negotiated())
    }

    /// Reads what has arrived without waiting; `WouldBlock` if nothing
    /// has.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        ready_or_would_block(self.poll_read(None, buf))
    }

    /// Writes what fits without waiting; `WouldBlock` if nothing does.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        ready_or_would_block(self.poll_write(None, buf))
    }

    /// Copies what has arrived without taking it or waiting; `WouldBlock`
    /// if nothing has.
    pub fn try_peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        ready_or_would_block(self.poll_peek(None, buf))
    }

    /// Writes what fits of the slices without waiting (see
    /// [`poll_write_vectored`](Stream::poll_write_vectored));
    /// `WouldBlock` if nothing does.
    pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        ready_or_would_block(self.poll_write_vectored(None, bufs))
    }

    /// Closes gracefully: sends a FIN after the written data, discards
    /// what the peer still sends, and resolves once the peer has closed
    /// too and acknowledged everything (`Ok`), or the connection failed
    /// (reset, timed out).
    pub async fn close(&self) -> io::Result<()> {
        match self.shutdown() {
            // Already failed: the reads below say how.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
            r => r?,
        }
        let mut scratch = vec![0u8; 16 * 1024];
        loop {
            match poll_fn(|cx| self.poll_read(Some(cx), &mut scratch)).await {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => break,
                Err(e) => return Err(e),
            }
        }
        poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Aborts the connection with a reset, like closing a socket with
    /// `SO_LINGER` set to zero.
    pub fn abort(&self) {
        let _ = self.with_connection(|c| c.abort());
    }
}

fn broken_pipe() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "connection closed")
}

/// What a linger setting makes a drop do: abort (zero) or close
/// gracefully (`None`); other timeouts cannot be honoured by a drop.
pub(crate) fn linger_aborts(linger: Option<std::time::Duration>) -> io::Result<bool> {
    match linger {
        None => Ok(false),
        Some(d) if d.is_zero() => Ok(true),
        Some(d) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "linger of {d:?} is not supported: only None (graceful close in the \
                 background) or Some(Duration::ZERO) (reset on drop); await close() to \
                 wait for delivery"
            ),
        )),
    }
}

fn ready_or_would_block<T>(p: Poll<io::Result<T>>) -> io::Result<T> {
    match p {
        Poll::Ready(r) => r,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
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

/// What a read (or peek) of a connection the endpoint no longer holds
/// gives: the end of the stream after a normal close (everything was
/// read), the failure otherwise, `NotConnected` if it never connected.
fn read_gone(closed: Option<CloseReason>) -> io::Result<usize> {
    match closed {
        Some(CloseReason::Normal) => Ok(0),
        Some(reason) => Err(error::closed(reason)),
        None => Err(io::ErrorKind::NotConnected.into()),
    }
}

/// The `Debug` impl and the accessors every async adapter's `TcpStream`
/// has (`local_addr`, `peer_addr`, `set_nodelay`, `nodelay`, `stats`,
/// `negotiated`), with `tokio::net`'s names, over its `inner` field (a
/// [`Stream`] or an `Arc` of one): written once here for every adapter.
#[doc(hidden)]
#[macro_export]
macro_rules! stream_accessors {
    ($stream:ident) => {
        impl ::std::fmt::Debug for $stream {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($stream))
                    .field("local", &self.inner.local_addr())
                    .field("peer", &self.inner.peer_addr())
                    .finish()
            }
        }

        impl $stream {
            /// This end's address.
            pub fn local_addr(&self) -> ::std::io::Result<::std::net::SocketAddr> {
                Ok(self.inner.local_addr())
            }

            /// The peer's address.
            pub fn peer_addr(&self) -> ::std::io::Result<::std::net::SocketAddr> {
                Ok(self.inner.peer_addr())
            }

            /// Turns Nagle's algorithm off (`true`) or on, like `TCP_NODELAY`.
            pub fn set_nodelay(&self, nodelay: bool) -> ::std::io::Result<()> {
                self.inner.set_nodelay(nodelay)
            }

            /// True when Nagle's algorithm is off.
            pub fn nodelay(&self) -> ::std::io::Result<bool> {
                self.inner.nodelay()
            }

            /// The connection's counters and estimates (RTT, congestion
            /// window, retransmissions…); once it has ended, their final
            /// values.
            pub fn stats(&self) -> ::std::io::Result<$crate::__private::Stats> {
                self.inner.stats()
            }

            /// The options the handshake agreed on: the peer's MSS, window
            /// scaling and both shifts, SACK, timestamps; also once the
            /// connection has ended.
            pub fn negotiated(&self) -> ::std::io::Result<$crate::__private::Negotiated> {
                self.inner.negotiated()
            }
        }
    };
}
