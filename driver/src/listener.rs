//! A listening socket the application holds: the runtime-neutral half of
//! a `TcpListener`.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use synack_core::endpoint::ListenerId;

use crate::stack::{Slot, Stack};
use crate::stream::Stream;

/// A listening socket of a [`Stack`]. Connections complete their
/// handshake in the stack (up to `StackConfig::endpoint.accept_backlog`
/// of them wait) and [`poll_accept`](Listener::poll_accept) hands them
/// out. Any number of tasks may wait to accept at once; all are woken when
/// connections arrive. Dropping the listener stops listening and resets
/// connections not yet accepted.
pub struct Listener {
    stack: Stack,
    id: ListenerId,
    local: SocketAddr,
    /// Accepted streams reset their connection when dropped (linger
    /// zero).
    abort_on_drop: bool,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("local", &self.local)
            .finish()
    }
}

impl Listener {
    pub(crate) fn new(
        stack: Stack,
        id: ListenerId,
        local: SocketAddr,
        abort_on_drop: bool,
    ) -> Listener {
        Listener {
            stack,
            id,
            local,
            abort_on_drop,
        }
    }

    /// The next established connection and its peer's address.
    pub async fn accept(&self) -> io::Result<(Stream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for the next established connection. While none waits,
    /// `cx`'s waker joins the listener's waiters (each distinct waker
    /// once), all of which are woken when connections arrive.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(Stream, SocketAddr)>> {
        let mut st = self.stack.shared.lock();
        st.check_running()?;
        match st.ep.accept(self.id) {
            Some(handle) => {
                st.slots.insert(
                    handle,
                    Slot {
                        connected: true,
                        abort_on_drop: self.abort_on_drop,
                        ..Slot::default()
                    },
                );
                // Events queued while it waited are now the application's.
                let kick = st.kick();
                drop(st);
                if let Some(w) = kick {
                    w.wake();
                }
                let stream = Stream::new(self.stack.clone(), handle);
                let peer = stream.peer_addr();
                Poll::Ready(Ok((stream, peer)))
            }
            None => {
                add_waiter(st.accept_wakers.entry(self.id).or_default(), cx);
                Poll::Pending
            }
        }
    }

    /// Ready when [`poll_accept`](Listener::poll_accept) would not wait:
    /// a connection waits to be accepted, or the stack has stopped.
    /// Otherwise `cx`'s waker joins the listener's waiters, as in
    /// `poll_accept`.
    pub fn poll_accept_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.stack.shared.lock();
        if st.check_running().is_err() || st.ep.pending_accepts(self.id) > 0 {
            return Poll::Ready(());
        }
        add_waiter(st.accept_wakers.entry(self.id).or_default(), cx);
        Poll::Pending
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The stack it belongs to.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let mut st = self.stack.shared.lock();
        // Tasks still waiting on this listener hear nothing more from it.
        let waiters = st.accept_wakers.remove(&self.id);
        let _ = st.ep.close_listener(self.id);
        let kick = st.kick();
        drop(st);
        if let Some(w) = kick {
            w.wake();
        }
        drop(waiters);
    }
}

/// Adds `cx`'s waker to a listener's waiters, each distinct waker once.
fn add_waiter(waiters: &mut Vec<std::task::Waker>, cx: &Context<'_>) {
    if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
        waiters.push(cx.waker().clone());
    }
}

/// The `Debug` impl and the accept calls every async adapter's
/// `TcpListener` has (`accept`, `poll_accept`, `local_addr`), over its
/// `inner` field (a [`Listener`]) and the adapter's `TcpStream::new`:
/// written once here for every adapter.
#[doc(hidden)]
#[macro_export]
macro_rules! listener_accessors {
    ($listener:ident, $stream:ident) => {
        impl ::std::fmt::Debug for $listener {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($listener))
                    .field("local", &self.inner.local_addr())
                    .finish()
            }
        }

        impl $listener {
            /// The next established connection and its peer's address.
            pub async fn accept(&self) -> ::std::io::Result<($stream, ::std::net::SocketAddr)> {
                ::std::future::poll_fn(|cx| self.poll_accept(cx)).await
            }

            /// Polls for the next established connection.
            pub fn poll_accept(
                &self,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<($stream, ::std::net::SocketAddr)>> {
                self.inner
                    .poll_accept(cx)
                    .map_ok(|(stream, peer)| ($stream::new(stream), peer))
            }

            /// The address it listens on.
            pub fn local_addr(&self) -> ::std::io::Result<::std::net::SocketAddr> {
                Ok(self.inner.local_addr())
            }
        }
    };
}
