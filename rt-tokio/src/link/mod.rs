//! Packet links: how a [`Stack`](crate::Stack) moves packets.
//!
//! A link is anything that implements [`PacketLink`]: it receives packets
//! in batches and sends the batches the driver hands it. The driver has one
//! code path for all of them. Three come with the crate, the links of
//! `synack-driver` on tokio's reactor and timer:
//!
//! - [`Udp`]: one TCP segment per UDP datagram between two synack stacks,
//!   many connections over one socket, batched with GSO/GRO (see
//!   [`synack_driver::link::Udp`] for how TCP addresses map onto UDP
//!   ones);
//! - [`Tun`] (Linux): whole IPv4/IPv6 packets through a TUN device, so the
//!   kernel's own TCP and any ordinary program talk to synack;
//! - [`Impaired`]: wraps any link and drops, delays, duplicates and
//!   reorders packets (seeded), for demos and tests, timed by tokio's
//!   clock.
//!
//! A custom link (a WireGuard tunnel, a simulator, a shared-memory ring)
//! implements [`PacketLink`] itself: say whether it carries whole IP
//! packets or bare TCP segments ([`Framing`]), deliver what arrives to the
//! callback of [`PacketLink::poll_recv`], and send what
//! [`PacketLink::poll_send`] is given.

use crate::runtime::Tokio;

pub use synack_driver::link::{Framing, ImpairedStats, Incoming, PacketLink, SendBatch, UdpRoutes};

/// A UDP socket under tokio's reactor ([`synack_driver::link::Udp`]).
/// Create it inside a tokio runtime.
pub type Udp = synack_driver::link::Udp<Tokio>;

/// A Linux TUN device under tokio's reactor
/// ([`synack_driver::link::Tun`]). Create it inside a tokio runtime.
#[cfg(target_os = "linux")]
pub type Tun = synack_driver::link::Tun<Tokio>;

/// An impairment stage around link `L`, timed by tokio's clock
/// ([`synack_driver::link::Impaired`]).
pub type Impaired<L> = synack_driver::link::Impaired<L, Tokio>;
