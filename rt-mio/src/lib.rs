//! # synack-mio
//!
//! TCP connections that synack runs, for hand-written mio event loops: a
//! [`Stack`] over a packet link, [`TcpListener`]s and [`TcpStream`]s
//! with the non-blocking behaviour of `mio::net` — `std::io::Read`/
//! `Write`, `WouldBlock` when an operation would wait, and edge-triggered
//! readiness under tokens the application chooses. The application owns
//! the `mio::Poll`; nothing runs behind its back (no thread, no executor).
//!
//! ```
//! use std::io::{Read, Write};
//!
//! use mio::{Interest, Poll, Token};
//! use synack_mio::{Events, Stack};
//!
//! # fn main() -> std::io::Result<()> {
//! const STACK: Token = Token(0);
//! const LISTENER: Token = Token(1);
//! const CLIENT: Token = Token(2);
//! const SERVER: Token = Token(3);
//!
//! let mut poll = Poll::new()?;
//! let mut os_events = mio::Events::with_capacity(16);
//! let mut events = Events::with_capacity(16);
//!
//! // A stack on a loopback UDP socket, in the application's Poll.
//! let mut stack = Stack::udp("127.0.0.1:0".parse().unwrap())?;
//! poll.registry().register(&mut stack, STACK, Interest::READABLE)?;
//! // A listener on the stack's UDP address (so other stacks reach it
//! // there), and a connection to it from the same stack.
//! let addr = stack.udp_addr().unwrap();
//! let mut listener = stack.bind(addr)?;
//! poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
//! let mut client = stack.connect(addr)?;
//! poll.registry().register(&mut client, CLIENT, Interest::READABLE | Interest::WRITABLE)?;
//!
//! let (mut server, mut sent, mut echo) = (None, false, Vec::new());
//! while echo != b"hello" {
//!     // The stack's two calls: sleep until its socket or its next
//!     // timer, then run it and collect its streams' readiness.
//!     poll.poll(&mut os_events, stack.timeout())?;
//!     stack.process(&mut events)?;
//!     for event in &events {
//!         match event.token() {
//!             LISTENER => {
//!                 let (mut stream, _peer) = listener.accept()?;
//!                 poll.registry().register(&mut stream, SERVER, Interest::READABLE)?;
//!                 server = Some(stream);
//!             }
//!             SERVER => {
//!                 // Echo what arrived (a few bytes: they fit at once).
//!                 let stream = server.as_mut().unwrap();
//!                 let mut buf = [0; 64];
//!                 while let Ok(n @ 1..) = stream.read(&mut buf) {
//!                     stream.write_all(&buf[..n])?;
//!                 }
//!             }
//!             CLIENT => {
//!                 // Writable once connected (else `take_error` says why).
//!                 if event.is_writable() && !sent {
//!                     client.write_all(b"hello")?;
//!                     sent = true;
//!                 }
//!                 let mut buf = [0; 64];
//!                 while let Ok(n @ 1..) = client.read(&mut buf) {
//!                     echo.extend_from_slice(&buf[..n]);
//!                 }
//!             }
//!             _ => {}
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! ## The loop
//!
//! The stack is a `mio::event::Source`: registering it puts its socket
//! (or TUN device) in the application's `Registry` under the token given.
//! Each turn of the loop then makes two calls:
//!
//! 1. `poll.poll(&mut events, stack.timeout())` — [`Stack::timeout`] is
//!    the time to the stack's next timer (retransmission, delayed ACK,
//!    keepalive…), zero when it has work now, `None` when only its socket
//!    can give it any; with other sources in the loop, pass the smallest
//!    of the timeouts;
//! 2. [`Stack::process`] — after every `poll`, whether the stack's token
//!    fired, the timeout passed or something else woke the loop: it reads
//!    the socket, runs due timers, sends what connections have to send,
//!    and fills an [`Events`] with the streams and listeners that became
//!    ready.
//!
//! ## Readiness
//!
//! Streams and listeners are `mio::event::Source`s too, registered the
//! usual way (`poll.registry().register(&mut stream, token, interest)`),
//! but they have no descriptor of their own: thousands of connections
//! share the stack's one socket. mio has no way to put events for
//! user-space sources into `Poll::poll`'s results (its `Waker` gives one
//! token, readable only), so their readiness comes out of
//! [`Stack::process`] instead, as [`Event`]s with the token and
//! `is_readable`/`is_writable` like `mio::event::Event`. Porting a mio
//! program is changing the types, adding the two calls, and iterating the
//! stack's events where it iterated the stream events of `poll`; the
//! `tcp_server` example is mio's own, ported that way.
//!
//! The semantics are mio's: edge-triggered (after an event, read, write
//! or accept until `WouldBlock`; the next event comes when that changes),
//! registration reports the readiness a source already has, events may be
//! spurious, and a failed or closed connection reads as readable and
//! writable. A connecting stream becomes writable when the handshake is
//! over: [`TcpStream::take_error`] tells whether it failed, and
//! [`TcpStream::peer_addr`] is `NotConnected` until it succeeded.
//! See [`event`] for how the driver's wakers become events.
//!
//! ## Threads
//!
//! The stack, streams and listeners are `Send`, so they can move to the
//! loop's thread. Operations from other threads work, but the stack acts
//! on them at its next `process`; wake the loop with the application's
//! own `mio::Waker` if it may be sleeping.
//!
//! ## The driver
//!
//! The crate is glue. The turn of the loop — receive a batch, feed the
//! core, wake whom the events concern, transmit a batch, arm the timer —
//! is `synack-driver`'s, shared with `synack-tokio` and `synack-smol`;
//! [`Stack::process`] polls its `Driver` future with a waker that only
//! records that it asked to run again, and the [`runtime::Mio`] glue
//! tries socket operations directly (the application's `Poll` watches the
//! socket) and records timer deadlines for [`Stack::timeout`].
//!
//! ## Errors
//!
//! Failures are `std::io::Error`s with the kinds a kernel socket reports:
//! `ConnectionRefused`, `ConnectionReset`, `TimedOut`,
//! `ConnectionAborted`, `BrokenPipe`, `NotConnected`, `AddrInUse`.

pub mod event;
pub mod link;
mod listener;
pub mod runtime;
mod stack;
mod stream;

pub use event::{Event, Events};
pub use listener::TcpListener;
pub use stack::{Stack, StackConfig, TcpSocket};
pub use stream::TcpStream;
pub use synack_core;
pub use synack_driver;
pub use synack_link;

#[cfg(test)]
mod tests {
    /// The crate documentation promises these can move to the loop's
    /// thread, and streams be shared (`Read`/`Write` on `&TcpStream`).
    #[test]
    fn handles_are_send_and_streams_sync() {
        fn send<T: Send>() {}
        fn sync<T: Sync>() {}
        send::<crate::Stack>();
        send::<crate::TcpListener>();
        send::<crate::TcpStream>();
        sync::<crate::TcpStream>();
    }
}
