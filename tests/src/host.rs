//! A host: one IPv4 interface, its connections demultiplexed by 4-tuple,
//! passive opens for the SYNs it is told to accept, resets for segments
//! that belong to no connection, and a capture of the interface.
//!
//! Connections are driven only through `synack_core::conn::Connection`'s
//! public API, as a runtime adapter would. This layer is deliberately
//! small: a multi-connection endpoint in the core can replace it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use synack_core::conn::{Config, Connection, Error};
use synack_core::wire::{
    ChecksumMode, IpRepr, Ipv4Repr, TcpFlags, TcpRepr, emit_tcp_in_ip, parse_tcp_in_ip,
};
use synack_core::{FourTuple, Instant, IsnGenerator, SeqNumber};

use crate::capture::Capture;

/// Length of the IPv4 header the host puts in front of each segment.
pub const IP_HEADER_LEN: usize = 20;

/// Index of a connection within its host.
pub type ConnId = usize;

/// A connection and what the host keeps about it.
#[derive(Debug)]
pub struct Slot {
    /// The connection.
    pub conn: Connection,
    /// The flow (or any tag the owner chose) this connection belongs to.
    pub tag: usize,
    /// The deadline the owner has been told about.
    timer_at: Option<Instant>,
}

/// What became of an arriving packet.
#[derive(Debug, PartialEq, Eq)]
pub enum Arrival {
    /// Handed to this connection (a new one if the SYN was accepted).
    Conn(ConnId),
    /// No connection: a reset of this length was written to the reply
    /// buffer.
    Reset(usize),
    /// Dropped: malformed, failed a checksum, or nothing to answer.
    Dropped,
}

/// A simulated host.
#[derive(Debug)]
pub struct Host {
    name: String,
    addr: Ipv4Addr,
    slots: Vec<Slot>,
    by_tuple: HashMap<FourTuple, ConnId>,
    isn: IsnGenerator,
    capture: Option<Capture>,
    ident: u16,
    /// Packets dropped because they did not parse or failed a checksum.
    pub malformed: u64,
    /// Resets sent for segments of no connection.
    pub resets_sent: u64,
}

impl Host {
    /// A host with address `addr`; `secret` keys its ISN generator.
    pub fn new(name: impl Into<String>, addr: Ipv4Addr, secret: [u8; 16]) -> Host {
        Host {
            name: name.into(),
            addr,
            slots: Vec::new(),
            by_tuple: HashMap::new(),
            isn: IsnGenerator::new(secret),
            capture: None,
            ident: 0,
            malformed: 0,
            resets_sent: 0,
        }
    }

    /// The host's name (used for capture file names).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host's address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// Starts capturing the interface.
    pub fn set_capture(&mut self, capture: Capture) {
        self.capture = Some(capture);
    }

    /// Takes the capture out (at the end of a run).
    pub fn take_capture(&mut self) -> Option<Capture> {
        self.capture.take()
    }

    /// A connection by id.
    pub fn slot(&self, id: ConnId) -> &Slot {
        &self.slots[id]
    }

    /// A connection by id, mutably.
    pub fn conn_mut(&mut self, id: ConnId) -> &mut Connection {
        &mut self.slots[id].conn
    }

    /// Every connection ever opened here, finished ones included.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// Opens a connection actively from `local_port` to `remote`; `iss`
    /// from the host's generator when `None`.
    pub fn connect(
        &mut self,
        now: Instant,
        config: &Config,
        local_port: u16,
        remote: SocketAddr,
        iss: Option<u32>,
        tag: usize,
    ) -> Result<ConnId, Error> {
        let tuple = FourTuple::new(SocketAddr::new(IpAddr::V4(self.addr), local_port), remote);
        let iss = iss.map_or_else(|| self.isn.generate(&tuple, now), SeqNumber);
        let conn = Connection::connect(config, tuple, iss, now)?;
        Ok(self.insert(tuple, conn, tag))
    }

    fn insert(&mut self, tuple: FourTuple, conn: Connection, tag: usize) -> ConnId {
        let id = self.slots.len();
        self.slots.push(Slot {
            conn,
            tag,
            timer_at: None,
        });
        self.by_tuple.insert(tuple, id);
        id
    }

    /// Handles an arriving IP packet. A SYN for no connection opens one
    /// when `accept` returns its configuration and tag; other segments for
    /// no connection are answered with a reset written into `reply`.
    pub fn receive(
        &mut self,
        now: Instant,
        packet: &[u8],
        accept: impl FnOnce(&FourTuple) -> Option<(Config, usize)>,
        reply: &mut [u8],
    ) -> Arrival {
        if let Some(c) = &mut self.capture {
            c.record(now, packet);
        }
        let Ok((ip, seg)) = parse_tcp_in_ip(packet, ChecksumMode::Full) else {
            self.malformed += 1;
            return Arrival::Dropped;
        };
        let addrs = ip.addrs();
        let tuple = FourTuple::of_incoming(&addrs, seg.src_port, seg.dst_port);
        if let Some(&id) = self.by_tuple.get(&tuple) {
            self.slots[id].conn.handle_segment(now, &addrs, &seg);
            return Arrival::Conn(id);
        }
        let syn = seg.flags.contains(TcpFlags::SYN)
            && !seg.flags.intersects(TcpFlags::ACK | TcpFlags::RST);
        if syn && let Some((config, tag)) = accept(&tuple) {
            let iss = self.isn.generate(&tuple, now);
            if let Ok(conn) = Connection::accept(&config, tuple, &seg, iss, now) {
                return Arrival::Conn(self.insert(tuple, conn, tag));
            }
        }
        match self.reset_for(&seg, &ip, reply) {
            Some(n) => {
                self.resets_sent += 1;
                if let Some(c) = &mut self.capture {
                    c.record(now, &reply[..n]);
                }
                Arrival::Reset(n)
            }
            None => Arrival::Dropped,
        }
    }

    /// RFC 9293 §3.10.7.1: the reset that answers a segment for a closed
    /// port, or `None` for a reset (never answered).
    fn reset_for(&mut self, seg: &TcpRepr<'_>, ip: &IpRepr, buf: &mut [u8]) -> Option<usize> {
        if seg.flags.contains(TcpFlags::RST) {
            return None;
        }
        let (seq, ack, flags) = match seg.ack_number() {
            Some(ack) => (ack, SeqNumber(0), TcpFlags::RST),
            None => {
                let mut len = seg.payload.len() as u32;
                len += u32::from(seg.flags.contains(TcpFlags::SYN));
                len += u32::from(seg.flags.contains(TcpFlags::FIN));
                (SeqNumber(0), seg.seq + len, TcpFlags::RST | TcpFlags::ACK)
            }
        };
        let rst = TcpRepr {
            src_port: seg.dst_port,
            dst_port: seg.src_port,
            seq,
            ack,
            flags,
            ..TcpRepr::default()
        };
        let addrs = ip.addrs().reversed();
        let IpAddr::V4(src) = addrs.src() else {
            return None;
        };
        let IpAddr::V4(dst) = addrs.dst() else {
            return None;
        };
        let ip = IpRepr::V4(self.ipv4(src, dst, 0));
        emit_tcp_in_ip(&ip, &rst, buf, ChecksumMode::Full).ok()
    }

    fn ipv4(&mut self, src: Ipv4Addr, dst: Ipv4Addr, payload_len: usize) -> Ipv4Repr {
        self.ident = self.ident.wrapping_add(1);
        Ipv4Repr {
            src,
            dst,
            protocol: synack_core::wire::IP_PROTOCOL_TCP,
            payload_len,
            ttl: 64,
            dscp_ecn: 0,
            ident: self.ident,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
        }
    }

    /// Writes the connection's next packet (IPv4 header and segment) into
    /// `buf`, which should hold an MTU; its length, or `None` when the
    /// connection has nothing to send now.
    pub fn poll_transmit(&mut self, now: Instant, id: ConnId, buf: &mut [u8]) -> Option<usize> {
        if buf.len() <= IP_HEADER_LEN {
            return None;
        }
        let t = self.slots[id]
            .conn
            .poll_transmit(now, &mut buf[IP_HEADER_LEN..])?;
        let (IpAddr::V4(src), IpAddr::V4(dst)) = (t.tuple.local.ip(), t.tuple.remote.ip()) else {
            return None;
        };
        let ip = self.ipv4(src, dst, t.len);
        ip.emit(buf, ChecksumMode::Full).ok()?;
        let len = IP_HEADER_LEN + t.len;
        if let Some(c) = &mut self.capture {
            c.record(now, &buf[..len]);
        }
        Some(len)
    }

    /// The connection's deadline if it differs from the one last reported
    /// (the caller schedules a wake-up for it); `None` when unchanged.
    pub fn deadline_changed(&mut self, id: ConnId) -> Option<Instant> {
        let slot = &mut self.slots[id];
        let t = slot.conn.poll_timeout();
        if t == slot.timer_at {
            return None;
        }
        slot.timer_at = t;
        t
    }

    /// Runs the connection's timers if `at` is still its deadline (wake-ups
    /// for deadlines that moved are ignored). True when they ran.
    pub fn timer_fired(&mut self, now: Instant, id: ConnId, at: Instant) -> bool {
        let slot = &mut self.slots[id];
        if slot.timer_at != Some(at) {
            return false;
        }
        slot.timer_at = None;
        slot.conn.handle_timeout(now);
        true
    }

    /// Forgets a finished connection's tuple so a new one may reuse it;
    /// its slot (and statistics) stay.
    pub fn release(&mut self, id: ConnId) {
        let tuple = self.slots[id].conn.tuple();
        if self.by_tuple.get(&tuple) == Some(&id) {
            self.by_tuple.remove(&tuple);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    /// Sends everything `from` has to `to`, handing resets back; true if
    /// anything moved.
    fn pump(now: Instant, from: &mut Host, to: &mut Host, accept: bool) -> bool {
        let mut any = false;
        let mut buf = [0u8; 1500];
        let mut reply = [0u8; 100];
        for id in 0..from.slots().len() {
            while let Some(n) = from.poll_transmit(now, id, &mut buf) {
                any = true;
                let r = to.receive(
                    now,
                    &buf[..n],
                    |_| accept.then(|| (Config::default(), 7)),
                    &mut reply,
                );
                if let Arrival::Reset(m) = r {
                    from.receive(now, &reply[..m], |_| None, &mut [0u8; 100]);
                }
            }
        }
        any
    }

    /// Moves packets between two hosts until neither sends.
    fn exchange(now: Instant, a: &mut Host, b: &mut Host, accept: bool) {
        while pump(now, a, b, accept) | pump(now, b, a, accept) {}
    }

    #[test]
    fn accepts_a_syn_and_establishes() {
        let now = Instant::from_secs(1);
        let mut a = Host::new("a", A, [1; 16]);
        let mut b = Host::new("b", B, [2; 16]);
        let remote = SocketAddr::new(IpAddr::V4(B), 80);
        let id = a
            .connect(now, &Config::default(), 4000, remote, Some(5), 0)
            .unwrap();
        exchange(now, &mut a, &mut b, true);
        // The SYN's retransmission timer ran and was stopped again.
        assert_eq!(a.deadline_changed(id), None);
        assert_eq!(a.slot(id).conn.state().name(), "ESTABLISHED");
        assert_eq!(b.slots().len(), 1);
        assert_eq!(b.slot(0).tag, 7);
    }

    #[test]
    fn refused_without_a_listener_and_corruption_is_dropped() {
        let now = Instant::from_secs(1);
        let mut a = Host::new("a", A, [1; 16]);
        let mut b = Host::new("b", B, [2; 16]);
        let remote = SocketAddr::new(IpAddr::V4(B), 80);
        let id = a
            .connect(now, &Config::default(), 4000, remote, None, 0)
            .unwrap();
        let mut buf = [0u8; 1500];
        let n = a.poll_transmit(now, id, &mut buf).unwrap();
        // A flipped bit anywhere is caught by a checksum.
        for bit in [3usize, 100, 8 * n - 1] {
            let mut bad = buf;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                b.receive(now, &bad[..n], |_| None, &mut [0u8; 100]),
                Arrival::Dropped
            );
        }
        assert_eq!(b.malformed, 3);
        let mut reply = [0u8; 100];
        let Arrival::Reset(m) = b.receive(now, &buf[..n], |_| None, &mut reply) else {
            panic!("no reset");
        };
        assert_eq!(
            a.receive(now, &reply[..m], |_| None, &mut [0u8; 100]),
            Arrival::Conn(id)
        );
        assert_eq!(
            a.slot(id).conn.close_reason(),
            Some(synack_core::conn::CloseReason::Refused)
        );
    }
}
