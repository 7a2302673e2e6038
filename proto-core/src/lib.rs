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
//! - [`buffer`]: the send buffer and the reassembling receive buffer of a
//!   connection, over a lazily allocated byte ring.
//! - [`wire`]: zero-copy parsing and emission of TCP segments (with every
//!   option in use today), IPv4 and IPv6 headers, and the Internet checksum.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod buffer;
pub mod seq;
pub mod time;
pub mod tuple;
pub mod wire;
