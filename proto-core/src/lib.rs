//! # synack-core
//!
//! The protocol core of synack, a TCP (RFC 9293) implementation that does no
//! I/O. Everything here is deterministic: time comes in as an argument
//! ([`time::Instant`]), secrets and seeds are supplied by the host, and the
//! same inputs always produce the same outputs, bit for bit.
//!
//! The crate is `#![no_std]` (it needs only `alloc`) and contains no `unsafe`.
//!
//! Modules available today:
//! - [`time`]: microsecond [`Instant`](time::Instant) and
//!   [`Duration`](time::Duration) newtypes passed in by the host.
//! - [`seq`]: 32-bit TCP sequence numbers with modular arithmetic.
//! - [`tuple`](mod@tuple): the [`FourTuple`](tuple::FourTuple) naming a connection.
//! - [`cc`]: congestion control — NewReno, CUBIC and HyStart++ behind one trait.
//! - [`buffer`]: the send buffer and the reassembling receive buffer of a
//!   connection, over a lazily allocated byte ring.
//! - [`flow`]: the receive window we advertise (silly-window avoidance,
//!   scaling) and receive-buffer auto-tuning.
//! - [`rtt`]: the RFC 6298 RTT estimator and retransmission timeout, with a
//!   windowed minimum RTT.
//! - [`isn`]: RFC 6528 initial sequence numbers from a host secret.
//! - [`syncookie`]: stateless SYN cookies (RFC 4987 §3.6).
//! - [`cc`]: congestion control behind a trait: NewReno and CUBIC.
//! - [`pacing`]: the token bucket that spreads segments over the RTT.
//! - [`recovery`]: loss recovery: SACK scoreboard, RACK-TLP, PRR, F-RTO.
//! - [`conn`]: one TCP connection, the RFC 9293 state machine.
//! - [`endpoint`]: many connections: demultiplexing, listeners with SYN
//!   cookies, ephemeral ports, a TIME-WAIT table, limits, one timer heap.
//! - [`wire`]: zero-copy parsing and emission of TCP segments (with every
//!   option in use today), IPv4 and IPv6 headers, and the Internet checksum.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod buffer;
pub mod cc;
pub mod conn;
pub mod endpoint;
pub mod flow;
pub mod isn;
mod keyed_hash;
pub mod pacing;
pub mod recovery;
pub mod rtt;
pub mod seq;
pub mod syncookie;
pub mod time;
pub mod tuple;
pub mod wire;
