//! Connections as non-blocking `std::io` streams.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::task::Poll;

use mio::event::Source;
use mio::{Interest, Registry, Token};
use synack_core::conn::{Negotiated, Stats};
use synack_driver::Stream;

use crate::event::{ReadyQueue, Registration};

/// A TCP connection of a synack [`Stack`](crate::Stack), like
/// `mio::net::TcpStream`: non-blocking `std::io::Read` and `Write` (also
/// on `&TcpStream`) that return `WouldBlock` when they would wait, and a
/// [`mio::event::Source`] whose readiness arrives through
/// [`Stack::process`](crate::Stack::process) under the token it was
/// registered with.
///
/// Reads return 0 once the peer has closed and everything was read;
/// writes take what fits in the send buffer (its size is
/// `StackConfig::endpoint.conn.send_buffer`) and return `WouldBlock` when
/// it is full, so nothing queues without bound. `flush` returns at once:
/// written data is the stack's to deliver, as with a kernel socket.
/// Dropping the stream is closing a socket: the data written is still
/// delivered, then a FIN (as long as the loop keeps running the stack),
/// or a reset if received data was left unread.
pub struct TcpStream {
    inner: Stream,
    registration: Registration,
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.inner.local_addr())
            .field("peer", &self.inner.peer_addr())
            .finish()
    }
}

impl TcpStream {
    pub(crate) fn new(inner: Stream, queue: &Arc<ReadyQueue>) -> TcpStream {
        let registration = Registration::new(queue);
        let (read, write) = registration.wakers();
        // Every event of the connection is an edge (they report nothing
        // until the stream is registered).
        inner.set_event_wakers(read, write);
        TcpStream {
            inner,
            registration,
        }
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local_addr())
    }

    /// The peer's address once the handshake has completed;
    /// `NotConnected` before (while connecting, or if connecting failed),
    /// as `getpeername(2)` says.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        if self.inner.is_connected() {
            Ok(self.inner.peer_addr())
        } else {
            Err(io::ErrorKind::NotConnected.into())
        }
    }

    /// Takes the pending error, like `SO_ERROR`: how the connection failed
    /// (refused, reset, timed out, aborted), reported once, here or to the
    /// first read or write that meets it, whichever comes first; or the
    /// stack stopped (always). `Ok(None)` while it is alive (or
    /// connecting), after a normal close, and once the failure was taken.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        Ok(self.inner.take_error())
    }

    /// Shuts the sending side (`Shutdown::Write`): a FIN after the written
    /// data. Does not wait. Shutting the receiving side is `Unsupported`:
    /// drop the stream to stop reading.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match how {
            Shutdown::Write => self.inner.shutdown(),
            Shutdown::Read | Shutdown::Both => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "synack streams shut their sending side only; drop the stream to stop reading",
            )),
        }
    }

    /// Turns Nagle's algorithm off (`true`) or on, like `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_nodelay(nodelay)
    }

    /// True when Nagle's algorithm is off.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.nodelay()
    }

    /// The connection's counters and estimates (RTT, congestion window,
    /// retransmissions…). Once the connection has ended and gone, the
    /// last values seen; `NotConnected` if there are none.
    pub fn stats(&self) -> io::Result<Stats> {
        self.inner.stats()
    }

    /// The options the handshake agreed on: the peer's MSS, window
    /// scaling and both shifts, SACK, timestamps. `NotConnected` once the
    /// connection has ended and gone.
    pub fn negotiated(&self) -> io::Result<Negotiated> {
        self.inner.negotiated()
    }

    /// Aborts the connection with a reset, like closing a socket with
    /// `SO_LINGER` set to zero.
    pub fn abort(&self) {
        self.inner.abort();
    }

    /// Copies received data into `buf` without taking it, like
    /// `mio::net::TcpStream::peek`: the next read returns the same bytes.
    /// `WouldBlock` when nothing has arrived (a readable event follows
    /// when data does); `Ok(0)` at end of stream.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut cx = self.registration.read_context();
        would_block(self.inner.poll_peek(Some(&mut cx), buf))
    }

    /// Sets what dropping the stream does (`SO_LINGER`): `None` closes
    /// gracefully, `Some(Duration::ZERO)` resets; other timeouts are
    /// `Unsupported` (a drop cannot wait).
    pub fn set_linger(&self, linger: Option<std::time::Duration>) -> io::Result<()> {
        self.inner.set_linger(linger)
    }
}

/// `Pending` is `WouldBlock`: the operation left its waker, and the
/// stream's token is reported when that changes.
fn would_block<T>(p: Poll<io::Result<T>>) -> io::Result<T> {
    match p {
        Poll::Ready(r) => r,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut cx = self.registration.read_context();
        would_block(self.inner.poll_read(Some(&mut cx), buf))
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut cx = self.registration.write_context();
        would_block(self.inner.poll_write(Some(&mut cx), buf))
    }

    /// Writes what fits of the slices, in order, into the send buffer in
    /// one call (the bytes taken are a prefix of their concatenation);
    /// `WouldBlock` when nothing fits.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let mut cx = self.registration.write_context();
        would_block(self.inner.poll_write_vectored(Some(&mut cx), bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Registration records `token` and `interests` in the stream's stack;
/// its events come from [`Stack::process`](crate::Stack::process), not
/// from `Poll::poll`, so `registry` is not used (any will do, though the
/// stack's own is the natural one). As epoll does, (re)registering
/// reports the readiness the stream already has: a connected stream is
/// writable at once, a connecting one when the handshake is over.
impl Source for TcpStream {
    fn register(&mut self, _: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        self.registration.register(token, interests)?;
        self.arm();
        Ok(())
    }

    fn reregister(&mut self, _: &Registry, token: Token, interests: Interest) -> io::Result<()> {
        self.registration.reregister(token, interests)?;
        self.arm();
        Ok(())
    }

    fn deregister(&mut self, _: &Registry) -> io::Result<()> {
        self.registration.deregister()
    }
}

impl TcpStream {
    fn arm(&self) {
        self.registration.arm(
            |cx| self.inner.poll_read_ready(cx),
            |cx| self.inner.poll_write_ready(cx),
        );
    }
}
