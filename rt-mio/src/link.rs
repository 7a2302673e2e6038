//! Packet links: how a [`Stack`](crate::Stack) moves packets — the links
//! of `synack-driver` with the application's mio loop as their reactor.
//!
//! - [`Udp`]: one TCP segment per UDP datagram between two synack stacks,
//!   many connections over one socket, batched with GSO/GRO (see
//!   [`synack_driver::link::Udp`] for how TCP addresses map onto UDP
//!   ones);
//! - [`Tun`] (Linux): whole IPv4/IPv6 packets through a TUN device, so the
//!   kernel's own TCP and any ordinary program talk to synack;
//! - [`Impaired`]: loss, delay, duplication and reordering around any
//!   link, seeded, for demos and tests.
//!
//! A custom link implements [`PacketLink`] and `AsRawFd` (the descriptor
//! the stack registers in the application's `Poll`; its readiness is what
//! makes the application call [`Stack::process`](crate::Stack::process)).

use crate::runtime::Mio;

pub use synack_driver::link::{Framing, ImpairedStats, Incoming, PacketLink, SendBatch, UdpRoutes};

/// A UDP socket ([`synack_driver::link::Udp`]) watched by the
/// application's `Poll`.
pub type Udp = synack_driver::link::Udp<Mio>;

/// A Linux TUN device ([`synack_driver::link::Tun`]) watched by the
/// application's `Poll`.
#[cfg(target_os = "linux")]
pub type Tun = synack_driver::link::Tun<Mio>;

/// An impairment stage around link `L` ([`synack_driver::link::Impaired`]),
/// its delays timed through [`Stack::timeout`](crate::Stack::timeout).
pub type Impaired<L> = synack_driver::link::Impaired<L, Mio>;
