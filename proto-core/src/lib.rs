//! # synack-core
//!
//! The protocol core of synack, a TCP (RFC 9293) implementation that does no
//! I/O. Everything here is deterministic: time comes in as an argument
//! ([`Instant`]), secrets and seeds are supplied by the host, and the
//! same inputs always produce the same outputs, bit for bit.
//!
//! The crate is `#![no_std]` (it needs only `alloc`) and contains no `unsafe`.
//!
//! The API is the root re-exports and four modules:
//! - [`conn`]: one TCP connection, the RFC 9293 state machine, with flow
//!   control, loss recovery (SACK scoreboard, RACK-TLP, PRR, F-RTO), RTT
//!   estimation and pacing inside it;
//! - [`endpoint`]: many connections: demultiplexing, listeners with SYN
//!   cookies, ephemeral ports (RFC 6056), a TIME-WAIT table, limits, one
//!   timer heap;
//! - [`cc`]: congestion control behind one trait: NewReno, CUBIC,
//!   HyStart++;
//! - [`wire`]: zero-copy parsing and emission of TCP segments and options,
//!   IPv4 and IPv6 headers, and the Internet checksum.
//!
//! [`Instant`] and [`Duration`] are microsecond newtypes passed in by the
//! host; [`SeqNumber`] is a 32-bit sequence number with modular arithmetic;
//! [`FourTuple`] names a connection; [`IsnGenerator`] makes RFC 6528 initial
//! sequence numbers from a host secret.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod buffer;
pub mod cc;
pub mod conn;
mod drops;
mod ecn;
pub mod endpoint;
mod flow;
#[cfg(any(test, feature = "internals"))]
mod harness;
mod isn;
mod keyed_hash;
mod pacing;
mod recovery;
mod rtt;
mod seq;
mod syncookie;
mod time;
mod tuple;
pub mod wire;

pub use conn::{Config, Connection};
pub use drops::{DropReason, DropSite, Drops};
pub use endpoint::{Endpoint, EndpointConfig};
pub use isn::{ISN_CLOCK_TICK_MICROS, IsnGenerator};
pub use seq::SeqNumber;
pub use time::{Duration, Instant};
pub use tuple::FourTuple;

/// Hooks for the fuzz targets and tests: machines the connection composes,
/// driven on their own, the connection's internal state, and the
/// connection-pair and endpoint-pair harnesses. Not part of the API.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals {
    pub use crate::conn::SequenceVars;
    pub use crate::recovery::{AckInput, Recovery, RttSample, RttSource};
    pub use crate::rtt::{RttConfig, RttEstimator};

    /// Two connections ([`harness::Pair`]) or two endpoints
    /// ([`harness::EndpointPair`]) over an in-memory wire in virtual time,
    /// for tests and fuzz targets.
    pub mod harness {
        pub use crate::harness::*;
    }
}
