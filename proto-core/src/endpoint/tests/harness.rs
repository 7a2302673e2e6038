//! Two endpoints joined by an in-memory wire with a fixed one-way delay,
//! driven in virtual time as a host would drive them: send everything,
//! jump to the next delivery or deadline, deliver, run timers, repeat.

use std::boxed::Box;
use std::collections::VecDeque;
use std::vec;
use std::vec::Vec;

use super::super::{ConnectionHandle, Endpoint, EndpointConfig};
use crate::conn::{Error, Event};
use crate::time::{Duration, Instant};
use crate::wire::{ChecksumMode, IpAddrPair, TcpRepr, parse_tcp_in_ip};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub const CLIENT_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
pub const SERVER_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
pub const CLIENT_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1));
pub const SERVER_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2));

/// What travels on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// TCP segments with their addresses beside them.
    Segments,
    /// Whole IP packets, as over a TUN device.
    Ip,
}

struct Packet {
    at: Instant,
    to_server: bool,
    addrs: IpAddrPair,
    bytes: Vec<u8>,
}

/// Decides whether a packet is delivered: `(to_server, segment)`.
pub type Filter = Box<dyn FnMut(bool, &TcpRepr<'_>) -> bool>;

/// The two endpoints and the wire between them.
pub struct Net {
    pub now: Instant,
    pub client: Endpoint,
    pub server: Endpoint,
    pub delay: Duration,
    pub link: Link,
    pub filter: Option<Filter>,
    /// Events polled from each side, in order.
    pub client_events: Vec<(ConnectionHandle, Event)>,
    pub server_events: Vec<(ConnectionHandle, Event)>,
    /// Packets put on the wire, both ways.
    pub packets: u64,
    wire: VecDeque<Packet>,
    buf: Vec<u8>,
}

/// A test configuration: a fixed secret per side.
pub fn config(secret: u8) -> EndpointConfig {
    EndpointConfig::new([secret; 16])
}

impl Net {
    pub fn new(client: EndpointConfig, server: EndpointConfig) -> Net {
        Net {
            now: Instant::from_secs(1),
            client: Endpoint::new(client).unwrap(),
            server: Endpoint::new(server).unwrap(),
            delay: Duration::from_millis(5),
            link: Link::Segments,
            filter: None,
            client_events: Vec::new(),
            server_events: Vec::new(),
            packets: 0,
            wire: VecDeque::new(),
            buf: vec![0; 1500],
        }
    }

    /// Two endpoints with default settings.
    pub fn pair() -> Net {
        Net::new(config(1), config(2))
    }

    pub fn side(&mut self, server: bool) -> &mut Endpoint {
        if server {
            &mut self.server
        } else {
            &mut self.client
        }
    }

    /// Puts everything both sides want to send on the wire and collects
    /// their events.
    pub fn flush(&mut self) {
        for from_server in [false, true] {
            loop {
                let (ep, now, buf) = if from_server {
                    (&mut self.server, self.now, &mut self.buf)
                } else {
                    (&mut self.client, self.now, &mut self.buf)
                };
                let sent = match self.link {
                    Link::Segments => ep.poll_transmit(now, buf),
                    Link::Ip => ep.poll_transmit_ip(now, buf),
                };
                let Some(t) = sent else { break };
                let addrs = t.tuple.outgoing_addrs().unwrap();
                let bytes = self.buf[..t.len].to_vec();
                self.packets += 1;
                if let Some(filter) = &mut self.filter {
                    let seg = match self.link {
                        Link::Segments => TcpRepr::parse_bytes(&bytes, &addrs, ChecksumMode::Full),
                        Link::Ip => parse_tcp_in_ip(&bytes, ChecksumMode::Full).map(|(_, s)| s),
                    }
                    .expect("emitted packets parse");
                    if !filter(!from_server, &seg) {
                        continue;
                    }
                }
                self.wire.push_back(Packet {
                    at: self.now + self.delay,
                    to_server: !from_server,
                    addrs,
                    bytes,
                });
            }
        }
        while let Some(e) = self.client.poll_event() {
            self.client_events.push(e);
        }
        while let Some(e) = self.server.poll_event() {
            self.server_events.push(e);
        }
    }

    /// Delivers `bytes` (a segment or packet, as the link carries) now.
    pub fn deliver(&mut self, to_server: bool, addrs: &IpAddrPair, bytes: &[u8]) {
        let (link, now) = (self.link, self.now);
        let ep = self.side(to_server);
        match link {
            Link::Segments => ep.handle_segment(now, addrs, bytes),
            Link::Ip => ep.handle_ip_packet(now, bytes),
        }
    }

    /// Advances to the next delivery or deadline and handles it. False
    /// when nothing will ever happen again.
    pub fn step(&mut self) -> bool {
        self.step_until(Instant::MAX)
    }

    /// Like [`Net::step`], but only for what happens by `end`.
    fn step_until(&mut self, end: Instant) -> bool {
        self.flush();
        let next_packet = self.wire.front().map(|p| p.at);
        let next_timer = [self.client.poll_timeout(), self.server.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = [next_packet, next_timer].into_iter().flatten().min() else {
            return false;
        };
        if next > end {
            return false;
        }
        self.now = self.now.max(next);
        while self.wire.front().is_some_and(|p| p.at <= self.now) {
            let p = self.wire.pop_front().unwrap();
            self.deliver(p.to_server, &p.addrs, &p.bytes);
        }
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.flush();
        true
    }

    /// Steps until `done` holds or `limit` of virtual time has passed.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Net) -> bool) -> bool {
        let end = self.now + limit;
        while !done(self) {
            if self.now > end || !self.step() {
                return done(self);
            }
        }
        true
    }

    /// Runs `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while self.step_until(end) {}
        self.now = self.now.max(end);
    }

    /// True once `event` was polled for `h` on that side.
    pub fn saw(&self, server: bool, h: ConnectionHandle, event: Event) -> bool {
        let events = if server {
            &self.server_events
        } else {
            &self.client_events
        };
        events.contains(&(h, event))
    }

    /// Connects the client to `remote` and waits until the server has
    /// accepted it through `listener` and both sides are connected.
    pub fn connect(
        &mut self,
        local_ip: IpAddr,
        remote: SocketAddr,
        listener: super::super::ListenerId,
    ) -> (ConnectionHandle, ConnectionHandle) {
        let c = self.client.connect(local_ip, remote, self.now).unwrap();
        let mut s = None;
        assert!(
            self.run_until(Duration::from_secs(10), |n| {
                s = s.or_else(|| n.server.accept(listener));
                s.is_some() && n.saw(false, c, Event::Connected)
            }),
            "handshake did not complete: {:?}",
            self.client.stats()
        );
        (c, s.unwrap())
    }
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
    net: &mut Net,
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

/// A crafted segment from `src` to `dst`, with a correct checksum, and
/// the addresses to hand in with it.
pub fn craft(src: SocketAddr, dst: SocketAddr, seg: &TcpRepr<'_>) -> (IpAddrPair, Vec<u8>) {
    let addrs = IpAddrPair::new(src.ip(), dst.ip()).unwrap();
    let mut buf = vec![0u8; seg.buffer_len()];
    let mut seg = *seg;
    seg.src_port = src.port();
    seg.dst_port = dst.port();
    let n = seg.emit(&mut buf, &addrs, ChecksumMode::Full).unwrap();
    buf.truncate(n);
    (addrs, buf)
}

/// Sends everything `ep` has to send into the void; returns how many
/// segments that was.
pub fn drain(ep: &mut Endpoint, now: Instant) -> usize {
    let mut buf = [0u8; 1500];
    let mut n = 0;
    while ep.poll_transmit(now, &mut buf).is_some() {
        n += 1;
    }
    n
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
