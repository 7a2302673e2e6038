//! Listening sockets.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;

use mio::event::Source;
use mio::{Interest, Registry, Token};

use crate::event::{ReadyQueue, Registration};
use crate::stream::TcpStream;

/// A listening socket of a synack [`Stack`](crate::Stack), like
/// `mio::net::TcpListener`: [`accept`](TcpListener::accept) returns
/// `WouldBlock` when no connection waits, and the listener, a
/// [`mio::event::Source`], is reported readable through
/// [`Stack::process`](crate::Stack::process) when connections arrive.
/// Dropping it stops listening and resets connections not yet accepted.
pub struct TcpListener {
    inner: synack_driver::Listener,
    registration: Registration,
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.inner.local_addr())
            .finish()
    }
}

impl TcpListener {
    pub(crate) fn new(inner: synack_driver::Listener, queue: &Arc<ReadyQueue>) -> TcpListener {
        TcpListener {
            inner,
            registration: Registration::new(queue),
        }
    }

    /// The next established connection and its peer's address;
    /// `WouldBlock` when none waits. The stream is not registered yet.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let mut cx = self.registration.read_context();
        match self.inner.poll_accept(&mut cx) {
            Poll::Ready(r) => {
                let (stream, peer) = r?;
                Ok((TcpStream::new(stream, self.registration.queue()), peer))
            }
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local_addr())
    }
}

/// As for [`TcpStream`]'s: the token and interest are recorded in the
/// stack, whose [`process`](crate::Stack::process) reports the listener
/// readable when connections wait (at once, on registration, if some
/// already do). `registry` is not used.
impl Source for TcpListener {
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

impl TcpListener {
    fn arm(&self) {
        self.registration
            .arm(|cx| self.inner.poll_accept_ready(cx), |_| Poll::Pending);
    }
}
