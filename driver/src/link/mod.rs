//! Packet links: how a [`Stack`](crate::Stack) moves packets.
//!
//! A link is anything that implements [`PacketLink`]: it receives packets
//! in batches and sends the batches the driver hands it. The driver has one
//! code path for all of them. Three come with the crate, each generic over
//! the adapter's [`Runtime`](crate::runtime::Runtime) (its reactor and
//! timer; the adapters name them for their runtime, e.g.
//! `synack_tokio::link::Udp`):
//!
//! - [`Udp`]: one TCP segment per UDP datagram between two synack stacks,
//!   many connections over one socket, batched with GSO/GRO;
//! - [`Tun`] (Linux): whole IPv4/IPv6 packets through a TUN device, so the
//!   kernel's own TCP and any ordinary program talk to synack;
//! - [`Impaired`]: wraps any link and drops, delays, duplicates and
//!   reorders packets (seeded), for demos and tests.
//!
//! A custom link (a WireGuard tunnel, a simulator, a shared-memory ring)
//! implements [`PacketLink`] itself: say whether it carries whole IP
//! packets or bare TCP segments ([`Framing`]), deliver what arrives to the
//! callback of [`PacketLink::poll_recv`], and send what
//! [`PacketLink::poll_send`] is given.
//!
//! ECN (RFC 3168): an IP packet carries its codepoint in its header. A
//! segment link carries it beside the segment: [`SendBatch::ecn`] says
//! what the packet that carries a segment should be marked, and
//! [`Incoming::Segment`] has the codepoint the carrying packet arrived
//! with (UDP: the outer IP header's), so the marks of routers on the path
//! reach the connection.

pub mod impaired;
#[cfg(target_os = "linux")]
pub mod tun;
pub mod udp;

pub use impaired::{Impaired, ImpairedStats};
#[cfg(target_os = "linux")]
pub use tun::Tun;
pub use udp::{Udp, UdpRoutes};

use std::io;
use std::task::{Context, Poll};

use synack_core::FourTuple;
use synack_core::wire::{EcnCodepoint, IpAddrPair};

/// What one packet on a link is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// A whole IPv4 or IPv6 packet (a TUN device).
    Ip,
    /// A TCP segment, header and payload; the IP addresses travel beside
    /// it (UDP encapsulation).
    Segment,
}

/// One packet a link received.
#[derive(Clone, Copy, Debug)]
pub enum Incoming<'a> {
    /// A whole IP packet ([`Framing::Ip`]).
    Ip(&'a [u8]),
    /// A TCP segment that came from `addrs.src()` for `addrs.dst()`
    /// ([`Framing::Segment`]); its checksum covers these addresses.
    Segment {
        /// Source and destination IP addresses.
        addrs: IpAddrPair,
        /// Header and payload.
        segment: &'a [u8],
        /// The ECN field of the packet that carried it (Not-ECT when the
        /// link cannot tell).
        ecn: EcnCodepoint,
    },
}

/// A link that carries synack's packets. The driver task owns it and is
/// its only user.
///
/// Both methods are called on every turn of the driver; like any `poll_*`
/// method they return `Poll::Pending` only after arranging for `cx`'s
/// waker to be woken when they can make progress.
pub trait PacketLink: Send + 'static {
    /// Whether packets are IP packets or bare TCP segments.
    fn framing(&self) -> Framing;

    /// The largest IP packet the link carries (for [`Framing::Segment`],
    /// the IP packet the segment would travel in: the segment plus 20 or 40
    /// bytes). The stack's MSS derives from it.
    fn mtu(&self) -> usize;

    /// The link's own address, if it has one (a UDP socket's). A stack
    /// opens connections from its IP unless told otherwise.
    fn local_addr(&self) -> Option<std::net::SocketAddr> {
        None
    }

    /// Receives what has arrived, calling `deliver` once per packet, and
    /// returns `Ready(Ok(n))` with the number delivered. Returns `Pending`
    /// when nothing is waiting. A link may deliver at most a batch per
    /// call; the driver calls again.
    fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
        deliver: &mut dyn FnMut(Incoming<'_>),
    ) -> Poll<io::Result<usize>>;

    /// Sends packets from the front of `batch`, removing each one sent (or
    /// dropped: a link that loses a packet says nothing). `Ready(Ok(()))`
    /// once the batch is empty; `Pending` when the link has no room for
    /// more now. It is called on every turn, also with an empty batch, so
    /// a link that holds packets back (a delay stage) can release them.
    fn poll_send(&mut self, cx: &mut Context<'_>, batch: &mut SendBatch) -> Poll<io::Result<()>>;
}

impl<L: PacketLink + ?Sized> PacketLink for Box<L> {
    fn framing(&self) -> Framing {
        (**self).framing()
    }
    fn mtu(&self) -> usize {
        (**self).mtu()
    }
    fn local_addr(&self) -> Option<std::net::SocketAddr> {
        (**self).local_addr()
    }
    fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
        deliver: &mut dyn FnMut(Incoming<'_>),
    ) -> Poll<io::Result<usize>> {
        (**self).poll_recv(cx, deliver)
    }
    fn poll_send(&mut self, cx: &mut Context<'_>, batch: &mut SendBatch) -> Poll<io::Result<()>> {
        (**self).poll_send(cx, batch)
    }
}

/// Packets waiting to be sent, stored back to back in one buffer, so a
/// run of equal-sized packets to one destination is contiguous and can go
/// to the kernel in one call (UDP GSO).
///
/// The driver fills it (at most [`SendBatch::capacity`] packets of at most
/// [`SendBatch::max_packet`] bytes) and the link drains it from the front.
#[derive(Debug)]
pub struct SendBatch {
    buf: Vec<u8>,
    /// (tuple, start, len, ECN codepoint) of each packet, in order.
    packets: Vec<(FourTuple, usize, usize, EcnCodepoint)>,
    /// Packets before this index have been sent.
    head: usize,
    max_packet: usize,
}

impl SendBatch {
    /// A batch for up to `capacity` packets of up to `max_packet` bytes.
    pub fn new(capacity: usize, max_packet: usize) -> SendBatch {
        SendBatch {
            buf: vec![0; capacity.max(1) * max_packet],
            packets: Vec::with_capacity(capacity.max(1)),
            head: 0,
            max_packet,
        }
    }

    /// Most packets it holds.
    pub fn capacity(&self) -> usize {
        self.packets.capacity()
    }

    /// Largest packet it holds.
    pub fn max_packet(&self) -> usize {
        self.max_packet
    }

    /// Packets waiting.
    pub fn len(&self) -> usize {
        self.packets.len() - self.head
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when another packet fits.
    pub fn has_room(&self) -> bool {
        self.packets.len() < self.packets.capacity()
    }

    /// The `i`-th waiting packet: the connection it belongs to (it goes
    /// from `tuple.local` to `tuple.remote`) and its bytes.
    pub fn get(&self, i: usize) -> Option<(FourTuple, &[u8])> {
        let &(tuple, start, len, _) = self.packets.get(self.head + i)?;
        Some((tuple, &self.buf[start..start + len]))
    }

    /// The ECN codepoint for the IP header that carries the `i`-th
    /// waiting packet (a segment link sets it on its outer header; an IP
    /// packet has it in its own). Not-ECT past the end.
    pub fn ecn(&self, i: usize) -> EcnCodepoint {
        self.packets
            .get(self.head + i)
            .map_or(EcnCodepoint::NotEct, |p| p.3)
    }

    /// Bytes of waiting packets `i..j`, back to back (for GSO runs).
    pub fn contiguous(&self, i: usize, j: usize) -> &[u8] {
        let first = self.packets[self.head + i];
        let last = self.packets[self.head + j - 1];
        &self.buf[first.1..last.1 + last.2]
    }

    /// Marks the first `n` waiting packets as sent.
    pub fn consume(&mut self, n: usize) {
        self.head = (self.head + n).min(self.packets.len());
        if self.head == self.packets.len() {
            self.packets.clear();
            self.head = 0;
        }
    }

    /// Space for the next packet, to write into and then
    /// [`commit`](SendBatch::commit); `None` when the batch is full.
    pub fn spare(&mut self) -> Option<&mut [u8]> {
        if !self.has_room() {
            return None;
        }
        let start = self.next_start();
        let end = (start + self.max_packet).min(self.buf.len());
        Some(&mut self.buf[start..end])
    }

    /// Adds the `len` bytes written into [`SendBatch::spare`] as a
    /// Not-ECT packet of `tuple`.
    pub fn commit(&mut self, tuple: FourTuple, len: usize) {
        self.commit_with_ecn(tuple, len, EcnCodepoint::NotEct);
    }

    /// Like [`SendBatch::commit`], for a packet to carry `ecn`.
    pub fn commit_with_ecn(&mut self, tuple: FourTuple, len: usize, ecn: EcnCodepoint) {
        let start = self.next_start();
        debug_assert!(start + len <= self.buf.len());
        self.packets.push((tuple, start, len, ecn));
    }

    /// Copies `bytes` in as a Not-ECT packet; false when full or too
    /// large.
    pub fn push(&mut self, tuple: FourTuple, bytes: &[u8]) -> bool {
        self.push_with_ecn(tuple, EcnCodepoint::NotEct, bytes)
    }

    /// Like [`SendBatch::push`], for a packet to carry `ecn`.
    pub fn push_with_ecn(&mut self, tuple: FourTuple, ecn: EcnCodepoint, bytes: &[u8]) -> bool {
        match self.spare() {
            Some(space) if bytes.len() <= space.len() => {
                space[..bytes.len()].copy_from_slice(bytes);
                self.commit_with_ecn(tuple, bytes.len(), ecn);
                true
            }
            _ => false,
        }
    }

    fn next_start(&self) -> usize {
        // Packets are back to back; the buffer holds `capacity` full-sized
        // ones, so the next always fits.
        self.packets.last().map_or(0, |&(_, s, l, _)| s + l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_packs_packets_back_to_back_and_drains_from_the_front() {
        let t = FourTuple::new("10.0.0.1:1".parse().unwrap(), "10.0.0.2:2".parse().unwrap());
        let mut b = SendBatch::new(3, 10);
        assert!(b.push(t, b"abc"));
        assert!(b.push_with_ecn(t, EcnCodepoint::Ect0, b"defg"));
        assert!(!b.push(t, &[0; 11]));
        assert!(b.push(t, b"h"));
        assert!(!b.has_room());
        assert_eq!(b.contiguous(0, 3), b"abcdefgh");
        assert_eq!(
            (b.ecn(0), b.ecn(1), b.ecn(3)),
            (
                EcnCodepoint::NotEct,
                EcnCodepoint::Ect0,
                EcnCodepoint::NotEct
            )
        );
        b.consume(1);
        assert_eq!(b.get(0).unwrap().1, b"defg");
        assert_eq!(b.ecn(0), EcnCodepoint::Ect0);
        assert_eq!(b.len(), 2);
        b.consume(2);
        assert!(b.is_empty() && b.has_room());
    }
}
