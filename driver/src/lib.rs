//! # synack-driver
//!
//! The runtime-neutral half of synack's async adapters: everything
//! between a packet link and the core [`Endpoint`](synack_core::endpoint::Endpoint)
//! that does not depend on which async runtime runs it.
//!
//! - [`stack`]: the [`Stack`] handle, [`StackConfig`], and the [`Driver`]
//!   future whose every turn receives a batch from the link, feeds the
//!   core, wakes the tasks its events concern, transmits a batch and
//!   arms the timer for the next deadline;
//! - [`Socket`]: per-connection settings (buffers, keepalive, user
//!   timeout, Nagle, congestion control, linger) before it connects or
//!   listens;
//! - [`Stream`] and [`Listener`]: what the application holds, keys into
//!   the driver's per-connection waker slots, with `poll_*` methods an
//!   adapter's `TcpStream`/`TcpListener` implement their runtime's I/O
//!   traits with; errors map to the `io::ErrorKind`s kernel sockets
//!   report;
//! - [`link`]: the [`PacketLink`](link::PacketLink) trait, the
//!   [`SendBatch`](link::SendBatch) it sends, and the UDP (route
//!   learning, GRO splitting, GSO run grouping), TUN and impairment links;
//! - [`runtime`]: the three things an adapter supplies — a reactor
//!   registration for a descriptor, a timer, a clock.
//!
//! Wakers are `core::task::Waker`s and the driver is a plain `Future`, so
//! the same code runs under tokio (`synack-tokio`), async-io/smol
//! (`synack-smol`) or a hand-written loop.
//!
//! ## Why a crate of its own
//!
//! `synack-link` is the layer below: non-blocking sockets and devices
//! with `try_*` calls and no protocol, no wakers and no endpoint, usable
//! by a program with no async runtime at all. The driver is the layer
//! above it: it owns an endpoint, a slot table of wakers and the turn
//! that moves packets between them. Keeping the two apart keeps
//! `synack-link` a thin OS binding, and gives the adapters one dependency
//! that holds all they share.

mod error;
pub mod link;
mod listener;
pub mod runtime;
mod socket;
pub mod stack;
mod stream;

pub use listener::Listener;
pub use socket::Socket;
pub use stack::{Driver, Stack, StackConfig};
pub use stream::Stream;
pub use synack_core;
pub use synack_link;

/// Paths the accessor macros (`socket_options!`, `stream_accessors!`,
/// `stack_accessors!`) expand to.
#[doc(hidden)]
pub mod __private {
    pub use synack_core::Config;
    pub use synack_core::FourTuple;
    pub use synack_core::cc::CcAlgorithm;
    pub use synack_core::conn::{Keepalive, Negotiated, Stats};
    pub use synack_core::endpoint::EndpointStats;
}
