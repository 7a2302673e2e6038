//! Listening sockets.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::Stream;

use crate::stack::Stack;
use crate::stream::TcpStream;

/// A listening socket of a synack [`Stack`], like
/// `async_net::TcpListener`. Several tasks may wait in
/// [`accept`](TcpListener::accept) at once: all are woken when
/// connections arrive. Dropping the listener stops listening and resets
/// connections not yet accepted.
pub struct TcpListener {
    stack: Stack,
    inner: synack_driver::Listener,
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.inner.local_addr())
            .finish()
    }
}

impl TcpListener {
    pub(crate) fn new(stack: Stack, inner: synack_driver::Listener) -> TcpListener {
        TcpListener { stack, inner }
    }

    /// The next established connection and its peer's address.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for the next established connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        self.inner
            .poll_accept(cx)
            .map_ok(|(stream, peer)| (TcpStream::new(stream), peer))
    }

    /// A stream of incoming connections, like
    /// `async_net::TcpListener::incoming`; it never ends.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local_addr())
    }

    /// The stack it belongs to.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }
}

/// The stream of [`TcpListener::incoming`].
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener
            .poll_accept(cx)
            .map(|r| Some(r.map(|(stream, _)| stream)))
    }
}
