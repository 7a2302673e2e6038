//! # synack-link
//!
//! The packet links synack's runtime adapters (tokio, smol, mio) share.
//! Nothing here is async: each link is a non-blocking socket or device
//! with `try_*` operations that return `WouldBlock` when the kernel has
//! nothing to give or no room, and a raw file descriptor the adapter
//! registers with its reactor. Protocol logic lives in `synack-core`; the
//! event loop lives above this crate (`synack-driver` and the adapters).
//!
//! - [`udp::UdpLink`]: one TCP segment per UDP datagram between two synack
//!   stacks, many connections over one socket, with batched sends (GSO)
//!   and receives (GRO) through `quinn-udp` where the kernel offers them.
//! - [`tun::TunLink`] (Linux): whole IPv4/IPv6 packets through a TUN
//!   device, so the kernel's own TCP is on the other side.
//! - [`impair`]: seeded impairments — loss (independent or in bursts),
//!   duplication, reordering, delay and jitter, bit flips — decided by one
//!   machine ([`impair::Impairer`]) from one generator ([`impair::Rng`]),
//!   shared by the stage for real links ([`impair::Impairment`]) and the
//!   simulator's links.

pub mod impair;
#[cfg(target_os = "linux")]
pub mod tun;
pub mod udp;
