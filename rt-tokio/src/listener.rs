//! Listening sockets.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use synack_core::endpoint::ListenerId;

use crate::stack::{Slot, Stack};
use crate::stream::TcpStream;

/// A listening socket of a synack [`Stack`], like
/// `tokio::net::TcpListener`. Connections complete their handshake in the
/// stack (up to `StackConfig::endpoint.accept_backlog` of them wait) and
/// [`accept`](TcpListener::accept) hands them out. Dropping the listener
/// stops listening and resets connections not yet accepted.
pub struct TcpListener {
    stack: Stack,
    id: ListenerId,
    local: SocketAddr,
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.local)
            .finish()
    }
}

impl TcpListener {
    pub(crate) fn new(stack: Stack, id: ListenerId, local: SocketAddr) -> TcpListener {
        TcpListener { stack, id, local }
    }

    /// The next established connection and its peer's address.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for the next established connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let mut st = self.stack.shared.lock();
        st.check_running()?;
        match st.ep.accept(self.id) {
            Some(handle) => {
                st.slots.insert(
                    handle,
                    Slot {
                        connected: true,
                        ..Slot::default()
                    },
                );
                // Events queued while it waited are now the application's.
                let kick = st.kick();
                drop(st);
                if let Some(w) = kick {
                    w.wake();
                }
                let stream = TcpStream::new(self.stack.clone(), handle);
                let peer = stream.peer_addr()?;
                Poll::Ready(Ok((stream, peer)))
            }
            None => {
                st.accept_wakers.insert(self.id, cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    /// The stack it belongs to.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let mut st = self.stack.shared.lock();
        st.accept_wakers.remove(&self.id);
        let _ = st.ep.close_listener(self.id);
        let kick = st.kick();
        drop(st);
        if let Some(w) = kick {
            w.wake();
        }
    }
}
