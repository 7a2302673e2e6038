//! Ephemeral port selection: RFC 6056 §3.3.4, "Algorithm 4: Double-Hash
//! Port Selection", keyed with the host secret.
//!
//! `port = min + (F(local IP, remote IP, remote port) + table[G(...)]) mod n`
//!
//! F gives every destination its own secret starting point in the range, so
//! an off-path attacker cannot guess the port of someone else's connection;
//! the counter table keeps successive connections to one destination apart
//! (so a tuple is not reused while its old incarnation may linger), while a
//! counter shared by unrelated destinations (only those whose G collide)
//! reveals little about other traffic.
//!
//! One change from the RFC's listing: a counter advances by an
//! unpredictable step of 1–8 (drawn from the keyed PRF) rather than by 1,
//! so the ports of successive connections to one destination are not
//! consecutive either (RFC 6056 §3.3.5 increments randomly for the same
//! reason; Linux did likewise after the 2022 attacks on its double-hash
//! table).

use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};

use crate::keyed_hash::{Domain, KeyedHash};
use crate::tuple::FourTuple;

/// Counters in the table (RFC 6056 §3.3.4 suggests at least 10; more
/// entries mean fewer destinations share a counter).
const TABLE_LEN: usize = 1024;

/// Largest step a counter takes.
const MAX_STEP: u64 = 8;

/// Picks local ports for outgoing connections.
pub(crate) struct PortAllocator {
    prf: KeyedHash,
    min: u16,
    /// Ports in the range: 1..=65535.
    count: u32,
    table: Vec<u32>,
    /// Ports tried so far: how tests check the cost of a search.
    #[cfg(test)]
    pub probes: u64,
}

impl PortAllocator {
    /// Ports from `min` to `max` inclusive (`0 < min <= max`).
    pub fn new(secret: [u8; 16], (min, max): (u16, u16)) -> PortAllocator {
        PortAllocator {
            prf: KeyedHash::new(secret),
            min,
            count: u32::from(max.saturating_sub(min)) + 1,
            table: vec![0; TABLE_LEN],
            #[cfg(test)]
            probes: 0,
        }
    }

    /// Ports in the range.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// A port for a connection from `local` to `remote` for which
    /// `in_use(port)` is false, or `None` when every port in the range is.
    pub fn pick(
        &mut self,
        local: IpAddr,
        remote: SocketAddr,
        mut in_use: impl FnMut(u16) -> bool,
    ) -> Option<u16> {
        // The local port is what we are choosing: hash the rest.
        let dest = FourTuple::new(SocketAddr::new(local, 0), remote);
        let h = self.prf.hash_tuple(Domain::PortSelect, &dest, &[]);
        // F and G: two independent halves of one PRF output.
        let offset = h as u32;
        let index = ((h >> 32) as usize) % TABLE_LEN;
        let counter = self.table[index];
        let step = self
            .prf
            .hash_tuple(Domain::PortStep, &dest, &counter.to_be_bytes())
            % MAX_STEP;
        let start = counter.wrapping_add(1 + step as u32);
        for i in 0..self.count {
            let n = start.wrapping_add(i);
            let port = self.min + (offset.wrapping_add(n) % self.count) as u16;
            #[cfg(test)]
            {
                self.probes += 1;
            }
            if !in_use(port) {
                self.table[index] = n;
                return Some(port);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;
    use std::collections::BTreeSet;

    fn remote(i: u8, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, i)), port)
    }

    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));

    #[test]
    fn ports_stay_in_range_and_skip_ports_in_use() {
        let mut p = PortAllocator::new([9; 16], (1000, 1009));
        let mut used = BTreeSet::new();
        for _ in 0..10 {
            let port = p.pick(LOCAL, remote(1, 80), |q| used.contains(&q)).unwrap();
            assert!((1000..=1009).contains(&port));
            assert!(used.insert(port), "{port} picked twice");
        }
        assert_eq!(p.pick(LOCAL, remote(1, 80), |q| used.contains(&q)), None);
    }

    #[test]
    fn ports_are_neither_consecutive_nor_shared_across_destinations() {
        let mut p = PortAllocator::new([9; 16], (32768, 60999));
        let same: std::vec::Vec<u16> = (0..20)
            .map(|_| p.pick(LOCAL, remote(1, 80), |_| false).unwrap())
            .collect();
        let steps: BTreeSet<i32> = same
            .windows(2)
            .map(|w| i32::from(w[1]) - i32::from(w[0]))
            .collect();
        assert!(steps.len() > 1, "constant step: {same:?}");
        let firsts: std::vec::Vec<u16> = (1..=20)
            .map(|i| p.pick(LOCAL, remote(i, 443), |_| false).unwrap())
            .collect();
        let diffs_of_one = firsts
            .windows(2)
            .filter(|w| w[1].abs_diff(w[0]) == 1)
            .count();
        assert!(diffs_of_one < 3, "{firsts:?}");
        // Another secret, other ports.
        let mut q = PortAllocator::new([10; 16], (32768, 60999));
        assert_ne!(
            q.pick(LOCAL, remote(1, 80), |_| false),
            Some(same[0]),
            "ports must depend on the secret"
        );
    }
}
