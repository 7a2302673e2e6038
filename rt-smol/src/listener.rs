//! Listening sockets.

use std::io;
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

synack_driver::listener_accessors!(TcpListener, TcpStream);

impl TcpListener {
    pub(crate) fn new(stack: Stack, inner: synack_driver::Listener) -> TcpListener {
        TcpListener { stack, inner }
    }

    /// A stream of incoming connections, like
    /// `async_net::TcpListener::incoming`; it never ends.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
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
