//! Two connections and the wire between them.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use super::{CLIENT, InFlight, SERVER, Wire};
use crate::conn::{Config, Connection, Event, State};
use crate::time::{Duration, Instant};
use crate::wire::{ChecksumMode, EcnCodepoint, IpAddrPair, TcpFlags, TcpRepr};
use crate::{FourTuple, IsnGenerator, SeqNumber};

/// What the wire does with one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Delivered after the wire's delay.
    Deliver,
    /// Lost.
    Drop,
    /// Delivered after this much extra delay (reordering).
    Delay(Duration),
    /// Delivered, and a copy after this much extra delay.
    Duplicate(Duration),
    /// Delivered after the wire's delay, marked Congestion Experienced if
    /// it was sent ECN-capable (as a router under congestion marks
    /// instead of dropping, RFC 3168 §5); otherwise as [`Fate::Deliver`].
    Mark,
    /// Delivered with the byte at `at` (modulo the length) XORed with
    /// `xor` (at least 1): it fails its checksum and the receiving host
    /// drops it.
    Corrupt {
        /// Which byte.
        at: usize,
        /// What it is XORed with.
        xor: u8,
    },
}

/// Decides each segment's fate from `(to_b, segment, state)`; `state` is
/// the pair's `filter_state`, for counters and pseudo-random choices.
pub type FateFilter = Box<dyn FnMut(bool, &TcpRepr<'_>, &mut u64) -> Fate>;

/// The filter that delivers every segment.
pub fn deliver_all(_: bool, _: &TcpRepr<'_>, _: &mut u64) -> Fate {
    Fate::Deliver
}

/// Two connections joined by an in-memory wire with a one-way delay,
/// driven in virtual time. `a` is the client, `b` the server.
pub struct Pair {
    /// The virtual clock.
    pub now: Instant,
    /// The client.
    pub a: Connection,
    /// The server.
    pub b: Connection,
    /// The wire's one-way delay.
    pub delay: Duration,
    /// What is in flight.
    pub wire: Wire,
    /// Decides each segment's fate.
    pub filter: FateFilter,
    /// State the filter keeps between segments.
    pub filter_state: u64,
    /// Every segment sent, as (to_b, flags, seq, ack, payload length).
    pub log: Vec<(bool, TcpFlags, SeqNumber, SeqNumber, usize)>,
    /// The ECN codepoint each segment of `log` was sent with.
    pub sent_ecn: Vec<EcnCodepoint>,
    /// What a's application read.
    pub got_a: Vec<u8>,
    /// What b's application read.
    pub got_b: Vec<u8>,
    /// While set, a's application reads nothing.
    pub hold_reads_a: bool,
    /// While set, b's application reads nothing.
    pub hold_reads_b: bool,
    /// a's application read the end of the stream.
    pub eof_a: bool,
    /// b's application read the end of the stream.
    pub eof_b: bool,
    /// The events a reported, in order.
    pub events_a: Vec<Event>,
    /// The events b reported, in order.
    pub events_b: Vec<Event>,
    /// The addresses of a's segments to b.
    pub a_addrs: IpAddrPair,
    /// Hand in every segment that has arrived before either side
    /// transmits, as drivers do with a receive batch; otherwise each
    /// segment is answered before the next arrives.
    pub batch_delivery: bool,
    buf: Vec<u8>,
}

impl Pair {
    /// A client connecting from [`CLIENT`] with `iss_a` and a server
    /// listening on [`SERVER`], at 1 s, the wire's delay 10 ms.
    pub fn with_configs(ca: &Config, cb: &Config, iss_a: SeqNumber) -> Pair {
        let now = Instant::from_secs(1);
        let a = Connection::connect(ca, FourTuple::new(CLIENT, SERVER), iss_a, now).unwrap();
        let b = Connection::listen(cb, SERVER, IsnGenerator::new([7; 16]), now).unwrap();
        Pair::from_connections(a, b, now)
    }

    /// [`Pair::with_configs`] with default configurations and ISS 1000.
    pub fn new() -> Pair {
        Pair::with_configs(&Config::default(), &Config::default(), SeqNumber(1000))
    }

    /// A pair of the connections `a` (which has its peer, `b`, as its
    /// remote address) and `b`, at `now`, the wire's delay 10 ms.
    pub fn from_connections(a: Connection, b: Connection, now: Instant) -> Pair {
        let a_addrs = a.tuple().outgoing_addrs().expect("one address family");
        Pair {
            now,
            a,
            b,
            delay: Duration::from_millis(10),
            wire: Wire::default(),
            filter: Box::new(deliver_all),
            filter_state: 0,
            log: Vec::new(),
            sent_ecn: Vec::new(),
            got_a: Vec::new(),
            got_b: Vec::new(),
            hold_reads_a: false,
            hold_reads_b: false,
            eof_a: false,
            eof_b: false,
            events_a: Vec::new(),
            events_b: Vec::new(),
            a_addrs,
            batch_delivery: false,
            buf: vec![0; 64 * 1024],
        }
    }

    /// Sets the filter that decides each segment's fate.
    pub fn set_filter(
        &mut self,
        filter: impl FnMut(bool, &TcpRepr<'_>, &mut u64) -> Fate + 'static,
    ) {
        self.filter = Box::new(filter);
    }

    /// The addresses of a segment towards b (or towards a).
    pub fn addrs(&self, to_b: bool) -> IpAddrPair {
        if to_b {
            self.a_addrs
        } else {
            self.a_addrs.reversed()
        }
    }

    /// The next segment a (or b) sends now, checked to parse (with the
    /// addresses of its `Transmit::tuple`), logged, and the filter's fate
    /// for it.
    fn next_segment(&mut self, from_a: bool) -> Option<(Vec<u8>, IpAddrPair, EcnCodepoint, Fate)> {
        let conn = if from_a { &mut self.a } else { &mut self.b };
        let t = conn.poll_transmit(self.now, &mut self.buf)?;
        let bytes = self.buf[..t.len].to_vec();
        let addrs = t.tuple.outgoing_addrs().unwrap();
        let seg = TcpRepr::parse_bytes(&bytes, &addrs, ChecksumMode::Full)
            .expect("emitted segments parse");
        self.log
            .push((from_a, seg.flags, seg.seq, seg.ack, seg.payload.len()));
        let fate = (self.filter)(from_a, &seg, &mut self.filter_state);
        self.sent_ecn.push(t.ecn);
        Some((bytes, addrs, t.ecn, fate))
    }

    /// Puts `bytes` on the wire towards b (or a), arriving after the
    /// wire's delay plus `extra`.
    pub fn send(&mut self, to_b: bool, bytes: Vec<u8>, extra: Duration) {
        let addrs = self.addrs(to_b);
        self.send_with(to_b, addrs, EcnCodepoint::NotEct, bytes, extra);
    }

    fn send_with(
        &mut self,
        to_b: bool,
        addrs: IpAddrPair,
        ecn: EcnCodepoint,
        bytes: Vec<u8>,
        extra: Duration,
    ) {
        let packet = InFlight {
            at: self.now + self.delay + extra,
            to_b,
            addrs,
            ecn,
            bytes,
        };
        self.wire.push(packet);
    }

    /// Moves every segment both sides want to send onto the wire, each
    /// meeting its fate, and reads whatever the applications can read.
    pub fn flush(&mut self) {
        for to_b in [true, false] {
            while let Some((bytes, addrs, ecn, fate)) = self.next_segment(to_b) {
                match fate {
                    Fate::Drop => {}
                    Fate::Deliver => self.send_with(to_b, addrs, ecn, bytes, Duration::ZERO),
                    Fate::Mark => {
                        let marked = if ecn.is_ect() { EcnCodepoint::Ce } else { ecn };
                        self.send_with(to_b, addrs, marked, bytes, Duration::ZERO);
                    }
                    Fate::Delay(d) => self.send_with(to_b, addrs, ecn, bytes, d),
                    Fate::Duplicate(d) => {
                        self.send_with(to_b, addrs, ecn, bytes.clone(), Duration::ZERO);
                        self.send_with(to_b, addrs, ecn, bytes, d);
                    }
                    Fate::Corrupt { at, xor } => {
                        let mut bytes = bytes;
                        let i = at % bytes.len();
                        bytes[i] ^= xor.max(1);
                        // One changed byte always breaks the Internet
                        // checksum.
                        assert!(
                            TcpRepr::parse_bytes(&bytes, &addrs, ChecksumMode::Full).is_err(),
                            "a corrupted segment passed its checksum"
                        );
                        self.send_with(to_b, addrs, ecn, bytes, Duration::ZERO);
                    }
                }
            }
        }
        self.drain_apps();
    }

    /// Takes every segment a (or b) sends now, past the wire and the
    /// filter (each is logged).
    pub fn transmit(&mut self, from_a: bool) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some((bytes, _, _, _)) = self.next_segment(from_a) {
            out.push(bytes);
        }
        out
    }

    /// Hands everything a (or b) sends now straight to the other side
    /// with no delay when `deliver`, or loses it.
    pub fn send_now(&mut self, from_a: bool, deliver: bool) {
        for bytes in self.transmit(from_a) {
            if deliver {
                self.deliver(from_a, &bytes);
            }
        }
    }

    /// Reads what the applications can read (unless held) and collects
    /// the events of both sides.
    pub fn drain_apps(&mut self) {
        for b in [false, true] {
            if !(if b {
                self.hold_reads_b
            } else {
                self.hold_reads_a
            }) {
                self.read(b, usize::MAX);
            }
        }
        while let Some(e) = self.a.poll_event() {
            self.events_a.push(e);
        }
        while let Some(e) = self.b.poll_event() {
            self.events_b.push(e);
        }
    }

    /// b's (or a's) application reads up to `limit` bytes, held or not,
    /// onto `got_b` (or `got_a`); returns how many.
    pub fn read(&mut self, b: bool, limit: usize) -> usize {
        let (conn, got, eof) = if b {
            (&mut self.b, &mut self.got_b, &mut self.eof_b)
        } else {
            (&mut self.a, &mut self.got_a, &mut self.eof_a)
        };
        let mut total = 0;
        while total < limit {
            let want = (limit - total).min(self.buf.len());
            match conn.read(self.now, &mut self.buf[..want]) {
                Ok(0) => {
                    *eof = true;
                    break;
                }
                Ok(n) => {
                    got.extend_from_slice(&self.buf[..n]);
                    total += n;
                }
                Err(_) => break,
            }
        }
        total
    }

    /// Advances to the next thing that happens: a delivery or a timeout.
    /// Returns false when nothing will ever happen again.
    pub fn step(&mut self) -> bool {
        self.step_until(Instant::MAX)
    }

    /// Like [`Pair::step`], but only for what happens by `end`: false,
    /// and the clock unmoved, when the next thing happens later.
    pub fn step_until(&mut self, end: Instant) -> bool {
        self.flush();
        let deadlines = [self.a.poll_timeout(), self.b.poll_timeout()];
        let Some(next) = self.wire.next_event(deadlines).filter(|&t| t <= end) else {
            return false;
        };
        self.now = self.now.max(next);
        if self.batch_delivery {
            // Everything that arrived, then the answers.
            while let Some(p) = self.wire.take_arrived(self.now) {
                self.deliver_with(p.to_b, &p.addrs, &p.bytes, p.ecn);
            }
            self.flush();
        }
        // One segment at a time, each answered before the next arrives, as
        // a host processes packets.
        while let Some(p) = self.wire.take_arrived(self.now) {
            self.deliver_with(p.to_b, &p.addrs, &p.bytes, p.ecn);
            self.flush();
        }
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
        self.flush();
        true
    }

    /// Hands `bytes`, a segment, to b (or a) now, as a host does: one
    /// that fails its checksum (or does not parse) is dropped.
    pub fn deliver(&mut self, to_b: bool, bytes: &[u8]) {
        let addrs = self.addrs(to_b);
        self.deliver_with(to_b, &addrs, bytes, EcnCodepoint::NotEct);
    }

    fn deliver_with(&mut self, to_b: bool, addrs: &IpAddrPair, bytes: &[u8], ecn: EcnCodepoint) {
        let conn = if to_b { &mut self.b } else { &mut self.a };
        if let Ok(seg) = TcpRepr::parse_bytes(bytes, addrs, ChecksumMode::Full) {
            conn.handle_segment_with_ecn(self.now, addrs, &seg, ecn);
        }
    }

    /// Steps until `done` holds or `limit` of virtual time passes.
    pub fn run_until(&mut self, limit: Duration, done: impl Fn(&Pair) -> bool) -> bool {
        let end = self.now + limit;
        while !done(self) {
            if self.now > end || !self.step() {
                return done(self);
            }
        }
        true
    }

    /// Runs the handshake; panics unless both sides are established within
    /// 5 s.
    pub fn established(&mut self) {
        assert!(self.run_until(Duration::from_secs(5), |p| {
            p.a.state() == State::Established && p.b.state() == State::Established
        }));
    }

    /// Injects a crafted segment towards b (or a), as its peer would send
    /// it.
    pub fn inject(&mut self, to_b: bool, seg: &TcpRepr<'_>) {
        let mut buf = vec![0u8; seg.buffer_len()];
        let n = seg
            .emit(&mut buf, &self.addrs(to_b), ChecksumMode::Full)
            .unwrap();
        self.deliver(to_b, &buf[..n]);
    }

    /// Writes as much of `data[*sent..]` into `conn` as it takes.
    pub fn feed(conn: &mut Connection, data: &[u8], sent: &mut usize) {
        while *sent < data.len() {
            match conn.write(&data[*sent..]) {
                Ok(n) => *sent += n,
                Err(_) => break,
            }
        }
    }
}

impl Default for Pair {
    fn default() -> Pair {
        Pair::new()
    }
}
