//! A router that marks: a link between the synack stack and the TUN
//! device that sets Congestion Experienced (RFC 3168 §5) on every `n`-th
//! ECN-capable IP packet in each direction, where the machine's kernel has
//! no AQM qdisc to do it. Marks on packets synack sends are seen by the
//! kernel (and the capture); marks on packets the kernel sends are seen by
//! synack only, and show in the capture as synack's ECE.

use std::io;
use std::task::{Context, Poll};

use synack_core::wire::{EcnCodepoint, internet_checksum};
use synack_tokio::synack_driver::link::{Framing, Incoming, PacketLink, SendBatch};

/// Counts the ECN-capable packets of one direction and marks every
/// `every`-th.
#[derive(Debug)]
struct Marker {
    every: u64,
    ect: u64,
    marked: u64,
}

impl Marker {
    fn new(every: u64) -> Marker {
        Marker {
            every: every.max(1),
            ect: 0,
            marked: 0,
        }
    }

    /// Marks `packet` (an IPv4 or IPv6 packet) CE if it is ECN-capable and
    /// its turn has come.
    fn judge(&mut self, packet: &mut [u8]) {
        if !ecn_of(packet).is_some_and(EcnCodepoint::is_ect) {
            return;
        }
        self.ect += 1;
        if self.ect % self.every == 0 {
            set_ce(packet);
            self.marked += 1;
        }
    }
}

/// The ECN field of an IP packet, if it is one.
fn ecn_of(packet: &[u8]) -> Option<EcnCodepoint> {
    match packet.first()? >> 4 {
        4 => Some(EcnCodepoint::from_bits(*packet.get(1)?)),
        6 => Some(EcnCodepoint::from_bits(packet.get(1)? >> 4)),
        _ => None,
    }
}

/// Sets CE; an IPv4 header's checksum is made right again.
fn set_ce(packet: &mut [u8]) {
    if packet[0] >> 4 == 4 {
        let ihl = usize::from(packet[0] & 0x0f) * 4;
        packet[1] |= EcnCodepoint::Ce.bits();
        packet[10..12].fill(0);
        let sum = internet_checksum(&packet[..ihl.min(packet.len())]);
        packet[10..12].copy_from_slice(&sum.to_be_bytes());
    } else {
        packet[1] |= EcnCodepoint::Ce.bits() << 4;
    }
}

/// The marking link around `L` (a link of IP packets).
pub struct MarkCe<L> {
    inner: L,
    inbound: Marker,
    outbound: Marker,
    /// Packets taken from the driver's batch, marked, for the inner link.
    out: SendBatch,
    scratch: Vec<u8>,
}

impl<L: PacketLink> MarkCe<L> {
    /// Marks every `every`-th ECN-capable packet each way.
    pub fn new(inner: L, every: u64) -> MarkCe<L> {
        let max = inner.mtu().max(1500);
        MarkCe {
            inner,
            inbound: Marker::new(every),
            outbound: Marker::new(every),
            out: SendBatch::new(64, max),
            scratch: Vec::new(),
        }
    }
}

impl<L: PacketLink> PacketLink for MarkCe<L> {
    fn framing(&self) -> Framing {
        self.inner.framing()
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.inner.local_addr()
    }

    fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
        deliver: &mut dyn FnMut(Incoming<'_>),
    ) -> Poll<io::Result<usize>> {
        let (marker, scratch) = (&mut self.inbound, &mut self.scratch);
        self.inner.poll_recv(cx, &mut |packet| match packet {
            Incoming::Ip(bytes) => {
                scratch.clear();
                scratch.extend_from_slice(bytes);
                marker.judge(scratch);
                deliver(Incoming::Ip(scratch));
            }
            other => deliver(other),
        })
    }

    fn poll_send(&mut self, cx: &mut Context<'_>, batch: &mut SendBatch) -> Poll<io::Result<()>> {
        loop {
            while self.out.has_room() {
                let Some((tuple, bytes)) = batch.get(0) else {
                    break;
                };
                let ecn = batch.ecn(0);
                self.scratch.clear();
                self.scratch.extend_from_slice(bytes);
                self.outbound.judge(&mut self.scratch);
                self.out.push_with_ecn(tuple, ecn, &self.scratch);
                batch.consume(1);
            }
            match self.inner.poll_send(cx, &mut self.out) {
                Poll::Ready(Ok(())) if !batch.is_empty() => continue,
                Poll::Ready(result) => return Poll::Ready(result),
                // What waits in `out` goes on a later call (the driver
                // calls on every turn, and the inner link wakes it).
                Poll::Pending if batch.is_empty() => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nth_ect_packet_is_marked_and_ipv4_stays_valid() {
        let mut v4 = [0u8; 20];
        v4[0] = 0x45;
        v4[1] = EcnCodepoint::Ect0.bits();
        let mut v6 = [0u8; 40];
        v6[0] = 0x60;
        v6[1] = EcnCodepoint::Ect0.bits() << 4;
        let mut m = Marker::new(2);
        for p in [&mut v4[..], &mut v6[..]] {
            let mut first = p.to_vec();
            m.judge(&mut first);
            assert_eq!(ecn_of(&first), Some(EcnCodepoint::Ect0));
            m.judge(p);
            assert_eq!(ecn_of(p), Some(EcnCodepoint::Ce));
        }
        assert_eq!(internet_checksum(&v4), 0, "the header checksum holds");
        // Not-ECT packets are left alone and not counted.
        let mut plain = [0x45u8; 20];
        plain[1] = 0;
        m.judge(&mut plain);
        m.judge(&mut plain);
        assert_eq!(
            (ecn_of(&plain), m.ect, m.marked),
            (Some(EcnCodepoint::NotEct), 4, 2)
        );
    }
}
