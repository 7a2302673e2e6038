//! Packet links: how a [`Stack`](crate::Stack) moves packets — the links
//! of `synack-driver` on async-io's reactor and timer.
//!
//! - [`Udp`]: one TCP segment per UDP datagram between two synack stacks,
//!   many connections over one socket, batched with GSO/GRO (see
//!   [`synack_driver::link::Udp`] for how TCP addresses map onto UDP
//!   ones);
//! - [`Tun`] (Linux): whole IPv4/IPv6 packets through a TUN device;
//! - [`Impaired`]: loss, delay, duplication and reordering around any
//!   link, seeded.
//!
//! A custom link implements [`PacketLink`].

use crate::runtime::AsyncIo;

pub use synack_driver::link::{Framing, ImpairedStats, Incoming, PacketLink, SendBatch, UdpRoutes};

/// A UDP socket under async-io's reactor ([`synack_driver::link::Udp`]).
pub type Udp = synack_driver::link::Udp<AsyncIo>;

/// A Linux TUN device under async-io's reactor
/// ([`synack_driver::link::Tun`]).
#[cfg(target_os = "linux")]
pub type Tun = synack_driver::link::Tun<AsyncIo>;

/// An impairment stage around link `L`, timed by async-io's timer
/// ([`synack_driver::link::Impaired`]).
pub type Impaired<L> = synack_driver::link::Impaired<L, AsyncIo>;
