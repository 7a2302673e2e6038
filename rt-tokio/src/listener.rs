//! Listening sockets.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use crate::stack::Stack;
use crate::stream::TcpStream;

/// A listening socket of a synack [`Stack`], like
/// `tokio::net::TcpListener`. Connections complete their handshake in the
/// stack (up to `StackConfig::endpoint.accept_backlog` of them wait) and
/// [`accept`](TcpListener::accept) hands them out. Several tasks may wait
/// in `accept()` on one listener (shared in an `Arc`): all are woken when
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

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local_addr())
    }

    /// The stack it belongs to.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }
}
