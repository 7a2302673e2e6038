//! Helpers for the endpoint tests over the shared [`EndpointPair`]
//! harness (`crate::harness`): pattern streams checked byte for byte,
//! whole transfers, spoofed sources.

use std::vec;
use std::vec::Vec;

use super::super::{ConnectionHandle, Endpoint, EndpointConfig};
pub(super) use crate::DropReason;
use crate::conn::Error;
pub use crate::harness::{
    CLIENT_V4, CLIENT_V6, EndpointPair, Link, SERVER_V4, SERVER_V6, craft, drain,
};
use crate::time::{Duration, Instant};
use core::net::{IpAddr, Ipv4Addr, SocketAddr};

/// A test configuration: a fixed secret per side.
pub fn config(secret: u8) -> EndpointConfig {
    EndpointConfig::new([secret; 16])
}

/// Byte `i` of the test stream `seed`: a keyless mix of both, so a byte
/// out of place, lost or repeated shows.
fn pattern_word(seed: u64, word: u64) -> u64 {
    // splitmix64's finalizer.
    let mut z = seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(word)
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fills `out` with the stream `seed` from position `pos`.
pub fn fill_pattern(seed: u64, pos: u64, out: &mut [u8]) {
    for (k, b) in out.iter_mut().enumerate() {
        let i = pos + k as u64;
        *b = (pattern_word(seed, i / 8) >> (8 * (i % 8))) as u8;
    }
}

/// One direction of a transfer of `total` pattern bytes over one
/// connection: the writer's position and the reader's, checked byte for
/// byte as they arrive.
pub struct Stream {
    pub seed: u64,
    pub total: u64,
    pub written: u64,
    pub read: u64,
    /// Pattern bytes from `written` on: generated, not yet taken.
    outgoing: Vec<u8>,
    unsent: core::ops::Range<usize>,
    scratch: Vec<u8>,
    expect: Vec<u8>,
}

impl Stream {
    pub fn new(seed: u64, total: u64) -> Stream {
        Stream {
            seed,
            total,
            written: 0,
            read: 0,
            outgoing: vec![0; 64 * 1024],
            unsent: 0..0,
            scratch: vec![0; 64 * 1024],
            expect: vec![0; 64 * 1024],
        }
    }

    pub fn done(&self) -> bool {
        self.read == self.total
    }

    /// Writes what the sender's buffer takes. Each byte of the pattern is
    /// generated once, however many writes it takes to get it in.
    pub fn write(&mut self, ep: &mut Endpoint, h: ConnectionHandle) {
        let Some(conn) = ep.connection_mut(h) else {
            return;
        };
        while self.written < self.total {
            if self.unsent.is_empty() {
                let n = (self.total - self.written).min(self.outgoing.len() as u64) as usize;
                fill_pattern(self.seed, self.written, &mut self.outgoing[..n]);
                self.unsent = 0..n;
            }
            match conn.write(&self.outgoing[self.unsent.clone()]) {
                Ok(k) => {
                    self.written += k as u64;
                    self.unsent.start += k;
                }
                Err(Error::WouldBlock) => break,
                Err(e) => panic!("write failed: {e}"),
            }
        }
    }

    /// Reads what arrived and checks it.
    pub fn read(&mut self, ep: &mut Endpoint, h: ConnectionHandle, now: Instant) {
        let Some(conn) = ep.connection_mut(h) else {
            return;
        };
        loop {
            match conn.read(now, &mut self.scratch) {
                Ok(0) | Err(Error::WouldBlock) => break,
                Ok(n) => {
                    fill_pattern(self.seed, self.read, &mut self.expect[..n]);
                    assert!(
                        self.scratch[..n] == self.expect[..n],
                        "stream {} corrupt in bytes {}..{}",
                        self.seed,
                        self.read,
                        self.read + n as u64
                    );
                    self.read += n as u64;
                    assert!(self.read <= self.total, "more bytes than were sent");
                }
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }
}

/// Moves each stream over its connection (client writes, server reads)
/// until all have arrived, within `limit` of virtual time.
pub fn transfer(
    net: &mut EndpointPair,
    flows: &mut [(ConnectionHandle, ConnectionHandle, Stream)],
    limit: Duration,
) {
    let end = net.now + limit;
    while !flows.iter().all(|(_, _, s)| s.done()) {
        for (c, s, stream) in flows.iter_mut() {
            stream.write(&mut net.client, *c);
            let now = net.now;
            stream.read(&mut net.server, *s, now);
        }
        assert!(net.now <= end, "transfer did not finish in time");
        assert!(net.step(), "transfer stalled");
    }
}

/// A small deterministic generator for spoofed addresses and numbers.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A random unicast IPv4 source in 100.64.0.0/10 with a random port.
    pub fn v4_source(&mut self) -> SocketAddr {
        let r = self.next();
        let ip = 0x6440_0000 | (r as u32 & 0x003f_ffff);
        SocketAddr::new(
            IpAddr::V4(Ipv4Addr::from(ip.max(0x6440_0001))),
            1024 + (r >> 40) as u16 % 60000,
        )
    }
}
