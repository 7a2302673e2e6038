//! Listening sockets.

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

synack_driver::listener_accessors!(TcpListener, TcpStream);

impl TcpListener {
    pub(crate) fn new(stack: Stack, inner: synack_driver::Listener) -> TcpListener {
        TcpListener { stack, inner }
    }

    /// The stack it belongs to.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }
}
