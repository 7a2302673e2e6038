//! Two endpoints and the wire between them.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};

use super::{InFlight, Wire};
use crate::conn::Event;
use crate::endpoint::{ConnectionHandle, Endpoint, EndpointConfig, ListenerId};
use crate::time::{Duration, Instant};
use crate::wire::{ChecksumMode, EcnCodepoint, IpAddrPair, TcpRepr, parse_tcp_in_ip};

/// What travels on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// TCP segments with their addresses beside them.
    Segments,
    /// Whole IP packets, as over a TUN device.
    Ip,
}

/// Decides whether a packet is delivered: `(to_server, segment)`.
pub type Filter = Box<dyn FnMut(bool, &TcpRepr<'_>) -> bool>;

/// Two endpoints joined by an in-memory wire with a fixed one-way delay,
/// driven in virtual time.
pub struct EndpointPair {
    /// The virtual clock.
    pub now: Instant,
    /// The client endpoint.
    pub client: Endpoint,
    /// The server endpoint.
    pub server: Endpoint,
    /// The wire's one-way delay.
    pub delay: Duration,
    /// What the wire carries.
    pub link: Link,
    /// Decides which packets arrive; all do without one.
    pub filter: Option<Filter>,
    /// Events polled from the client, in order.
    pub client_events: Vec<(ConnectionHandle, Event)>,
    /// Events polled from the server, in order.
    pub server_events: Vec<(ConnectionHandle, Event)>,
    /// Packets put on the wire, both ways.
    pub packets: u64,
    /// What is in flight; `to_b` means towards the server.
    pub wire: Wire,
    buf: Vec<u8>,
}

impl EndpointPair {
    /// Endpoints with these configurations, at 1 s, the wire's delay 5 ms.
    pub fn new(client: EndpointConfig, server: EndpointConfig) -> EndpointPair {
        EndpointPair {
            now: Instant::from_secs(1),
            client: Endpoint::new(client).unwrap(),
            server: Endpoint::new(server).unwrap(),
            delay: Duration::from_millis(5),
            link: Link::Segments,
            filter: None,
            client_events: Vec::new(),
            server_events: Vec::new(),
            packets: 0,
            wire: Wire::default(),
            buf: vec![0; 1500],
        }
    }

    /// Two endpoints with default settings and secrets `[1; 16]` and
    /// `[2; 16]`.
    pub fn pair() -> EndpointPair {
        EndpointPair::new(EndpointConfig::new([1; 16]), EndpointConfig::new([2; 16]))
    }

    /// The server (or the client).
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
                let (link, now) = (self.link, self.now);
                let ep = if from_server {
                    &mut self.server
                } else {
                    &mut self.client
                };
                let sent = match link {
                    Link::Segments => ep.poll_transmit(now, &mut self.buf),
                    Link::Ip => ep.poll_transmit_ip(now, &mut self.buf),
                };
                let Some(t) = sent else { break };
                let addrs = t.tuple.outgoing_addrs().unwrap();
                let bytes = self.buf[..t.len].to_vec();
                self.packets += 1;
                if let Some(filter) = &mut self.filter {
                    let seg = match link {
                        Link::Segments => TcpRepr::parse_bytes(&bytes, &addrs, ChecksumMode::Full),
                        Link::Ip => parse_tcp_in_ip(&bytes, ChecksumMode::Full).map(|(_, s)| s),
                    }
                    .expect("emitted packets parse");
                    if !filter(!from_server, &seg) {
                        continue;
                    }
                }
                self.wire.push(InFlight {
                    at: now + self.delay,
                    to_b: !from_server,
                    addrs,
                    ecn: t.ecn,
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
        self.deliver_with_ecn(to_server, addrs, bytes, EcnCodepoint::NotEct);
    }

    /// [`EndpointPair::deliver`] with the ECN codepoint a segment link
    /// carries beside the segment (a packet carries its own).
    pub fn deliver_with_ecn(
        &mut self,
        to_server: bool,
        addrs: &IpAddrPair,
        bytes: &[u8],
        ecn: EcnCodepoint,
    ) {
        let (link, now) = (self.link, self.now);
        let ep = self.side(to_server);
        match link {
            Link::Segments => ep.handle_segment_with_ecn(now, addrs, bytes, ecn),
            Link::Ip => ep.handle_ip_packet(now, bytes),
        }
    }

    /// Advances to the next delivery or deadline and handles it. False
    /// when nothing will ever happen again.
    pub fn step(&mut self) -> bool {
        self.step_until(Instant::MAX)
    }

    /// Like [`EndpointPair::step`], but only for what happens by `end`.
    fn step_until(&mut self, end: Instant) -> bool {
        self.flush();
        let deadlines = [self.client.poll_timeout(), self.server.poll_timeout()];
        let Some(next) = self.wire.next_event(deadlines) else {
            return false;
        };
        if next > end {
            return false;
        }
        self.now = self.now.max(next);
        while let Some(p) = self.wire.take_arrived(self.now) {
            self.deliver_with_ecn(p.to_b, &p.addrs, &p.bytes, p.ecn);
        }
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.flush();
        true
    }

    /// Steps until `done` holds or `limit` of virtual time has passed.
    pub fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&mut EndpointPair) -> bool,
    ) -> bool {
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

    /// The application closes connection `h` of the server (or the client)
    /// now; panics if the handle is stale or the close fails.
    pub fn close(&mut self, server: bool, h: ConnectionHandle) {
        let now = self.now;
        let conn = self.side(server).connection_mut(h).expect("a live handle");
        conn.close(now).expect("close succeeds");
    }

    /// Steps until `event` was polled for `h` on that side, or `limit` of
    /// virtual time has passed; true if it was.
    pub fn wait_for(
        &mut self,
        server: bool,
        h: ConnectionHandle,
        event: Event,
        limit: Duration,
    ) -> bool {
        self.run_until(limit, |n| n.saw(server, h, event))
    }

    /// Connects the client to `remote` and waits until the server has
    /// accepted it through `listener` and both sides are connected.
    pub fn connect(
        &mut self,
        local_ip: IpAddr,
        remote: SocketAddr,
        listener: ListenerId,
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
