//! Test harnesses: two protocol machines joined by an in-memory wire with
//! a one-way delay, driven in virtual time as a host drives them: send
//! everything, jump to the next delivery or deadline, deliver, run the
//! timers, repeat.
//!
//! - [`Pair`]: two [`Connection`](crate::Connection)s, a client and a
//!   listening server, with a per-segment [`Fate`] hook (loss, reordering),
//!   a log of every segment sent, the bytes each application read and the
//!   events each side reported.
//! - [`EndpointPair`]: two [`Endpoint`](crate::Endpoint)s over segments or
//!   whole IP packets, with a delivery filter and the events of both.
//!
//! The connection tests, the endpoint tests, the fuzz-regression tests and
//! the fuzz targets share them. `no_std` with `alloc`, like the crate. Not
//! part of the API.

mod endpoint_pair;
mod pair;

pub use endpoint_pair::{EndpointPair, Filter, Link, craft, drain};
pub use pair::{Fate, FateFilter, Pair, deliver_all};

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::time::Instant;
use crate::wire::{EcnCodepoint, IpAddrPair};

/// The client's IPv4 address.
pub const CLIENT_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
/// The server's IPv4 address.
pub const SERVER_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
/// The client's IPv6 address.
pub const CLIENT_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1));
/// The server's IPv6 address.
pub const SERVER_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2));
/// The client's socket address: [`CLIENT_V4`], port 40000.
pub const CLIENT: SocketAddr = SocketAddr::new(CLIENT_V4, 40000);
/// The server's socket address: [`SERVER_V4`], port 80.
pub const SERVER: SocketAddr = SocketAddr::new(SERVER_V4, 80);

/// The client's and server's socket addresses (ports 40000 and 80), IPv4
/// or IPv6.
pub fn client_server(ipv6: bool) -> (SocketAddr, SocketAddr) {
    if ipv6 {
        (
            SocketAddr::new(CLIENT_V6, CLIENT.port()),
            SocketAddr::new(SERVER_V6, SERVER.port()),
        )
    } else {
        (CLIENT, SERVER)
    }
}

/// A packet on a harness's wire.
#[derive(Clone, Debug)]
pub struct InFlight {
    /// When it arrives.
    pub at: Instant,
    /// Towards the second machine (the server, `b`) rather than the first.
    pub to_b: bool,
    /// Its addresses, source first.
    pub addrs: IpAddrPair,
    /// The ECN codepoint of the IP header that carries it (for a packet,
    /// also written in its header).
    pub ecn: EcnCodepoint,
    /// The segment or packet, as emitted.
    pub bytes: Vec<u8>,
}

/// The wire between two machines: packets in the order they arrive (of
/// packets arriving at once, the first sent first), each with its arrival
/// time. Packets go on with [`Wire::push`], which keeps that order; the
/// queue itself is open for tests to look at or clear.
#[derive(Clone, Debug, Default)]
pub struct Wire(pub VecDeque<InFlight>);

impl Wire {
    /// Puts a packet on the wire, behind every packet that arrives no
    /// later.
    pub fn push(&mut self, packet: InFlight) {
        if self.0.back().is_none_or(|p| p.at <= packet.at) {
            self.0.push_back(packet);
        } else {
            let i = self.0.partition_point(|p| p.at <= packet.at);
            self.0.insert(i, packet);
        }
    }

    /// The earliest arrival time, if anything is in flight.
    pub fn next_arrival(&self) -> Option<Instant> {
        self.0.front().map(|p| p.at)
    }

    /// Takes the packet that arrived first by `now`; of packets arriving
    /// at once, the first sent.
    pub fn take_arrived(&mut self, now: Instant) -> Option<InFlight> {
        if self.0.front()?.at <= now {
            self.0.pop_front()
        } else {
            None
        }
    }

    /// The time to advance to: the earliest arrival or deadline. None when
    /// nothing will ever happen again.
    pub fn next_event(&self, deadlines: [Option<Instant>; 2]) -> Option<Instant> {
        [self.next_arrival(), deadlines[0], deadlines[1]]
            .into_iter()
            .flatten()
            .min()
    }
}

impl core::ops::Deref for Wire {
    type Target = VecDeque<InFlight>;
    fn deref(&self) -> &VecDeque<InFlight> {
        &self.0
    }
}

impl core::ops::DerefMut for Wire {
    fn deref_mut(&mut self) -> &mut VecDeque<InFlight> {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::State;
    use crate::time::Duration;

    fn packet(at_ms: u64, tag: u8) -> InFlight {
        InFlight {
            at: Instant::from_millis(at_ms),
            to_b: true,
            addrs: IpAddrPair::new(CLIENT_V4, SERVER_V4).unwrap(),
            ecn: EcnCodepoint::NotEct,
            bytes: alloc::vec![tag],
        }
    }

    #[test]
    fn the_wire_delivers_in_arrival_order_then_send_order() {
        let mut wire = Wire::default();
        for (at, tag) in [(30, 1), (10, 2), (30, 3), (20, 4), (10, 5)] {
            wire.push(packet(at, tag));
        }
        assert_eq!(wire.next_arrival(), Some(Instant::from_millis(10)));
        assert!(wire.take_arrived(Instant::from_millis(9)).is_none());
        let mut order = Vec::new();
        while let Some(p) = wire.take_arrived(Instant::from_millis(30)) {
            order.push(p.bytes[0]);
        }
        assert_eq!(order, [2, 5, 4, 1, 3]);
    }

    #[test]
    fn corrupted_segments_are_dropped_and_duplicates_are_harmless() {
        // Every segment from a corrupted: b never hears of the handshake.
        let mut p = Pair::new();
        p.set_filter(|to_b, _, _| {
            if to_b {
                Fate::Corrupt { at: 13, xor: 0 }
            } else {
                Fate::Deliver
            }
        });
        p.run_until(Duration::from_secs(2), |_| false);
        assert_eq!(p.b.state(), State::Listen);
        assert!(
            p.log.iter().filter(|l| l.0).count() > 1,
            "the SYN was resent"
        );
        // Every segment duplicated: the data arrives once, intact.
        let mut p = Pair::new();
        p.set_filter(|_, _, _| Fate::Duplicate(Duration::from_millis(3)));
        p.established();
        // Under Miri a few segments' worth.
        let len: u32 = if cfg!(miri) { 8_000 } else { 50_000 };
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut sent = 0;
        while p.got_b.len() < data.len() {
            Pair::feed(&mut p.a, &data, &mut sent);
            assert!(p.step() && p.now < Instant::from_secs(30), "stalled");
        }
        assert!(p.got_b == data);
    }
}
