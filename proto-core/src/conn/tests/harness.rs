//! The test harness: two connections joined by an in-memory wire with a
//! one-way delay, driven in virtual time exactly as a host would drive them.

pub(super) use crate::conn::*;
pub(super) use crate::time::Duration;
pub(super) use crate::wire::{
    ChecksumMode, IpAddrPair, SackBlock, TcpFlags, TcpOptions, TcpRepr, Timestamps,
};
pub(super) use core::net::{IpAddr, Ipv4Addr, SocketAddr};
pub(super) use std::collections::VecDeque;
pub(super) use std::vec;
pub(super) use std::vec::Vec;

pub(super) const A_ADDR: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000);
pub(super) const B_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);

pub(super) fn isn() -> IsnGenerator {
    IsnGenerator::new([7; 16])
}

/// What the wire does with one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fate {
    Deliver,
    Drop,
    /// Deliver after this much extra delay (reordering).
    Delay(Duration),
}

/// A segment on the wire.
pub(super) struct InFlight {
    pub(super) at: Instant,
    pub(super) to_b: bool,
    pub(super) bytes: Vec<u8>,
}

/// Two connections and the wire between them. `a` is the client.
pub(super) struct Pair {
    pub(super) now: Instant,
    pub(super) a: Connection,
    pub(super) b: Connection,
    pub(super) delay: Duration,
    pub(super) wire: VecDeque<InFlight>,
    /// Decides each segment's fate: (to_b, parsed segment) → fate.
    pub(super) filter: fn(bool, &TcpRepr<'_>, &mut u64) -> Fate,
    pub(super) filter_state: u64,
    /// Every segment sent, as (to_b, flags, seq, ack, payload length).
    pub(super) log: Vec<(bool, TcpFlags, SeqNumber, SeqNumber, usize)>,
    pub(super) got_a: Vec<u8>,
    pub(super) got_b: Vec<u8>,
    /// While set, a's application reads nothing.
    pub(super) hold_reads_a: bool,
    pub(super) events_a: Vec<Event>,
    pub(super) events_b: Vec<Event>,
}

pub(super) fn deliver_all(_: bool, _: &TcpRepr<'_>, _: &mut u64) -> Fate {
    Fate::Deliver
}

impl Pair {
    pub(super) fn with_configs(ca: &Config, cb: &Config, iss_a: SeqNumber) -> Pair {
        let now = Instant::from_secs(1);
        let a = Connection::connect(ca, FourTuple::new(A_ADDR, B_ADDR), iss_a, now).unwrap();
        let b = Connection::listen(cb, B_ADDR, isn(), now).unwrap();
        Pair {
            now,
            a,
            b,
            delay: Duration::from_millis(10),
            wire: VecDeque::new(),
            filter: deliver_all,
            filter_state: 0,
            log: Vec::new(),
            got_a: Vec::new(),
            got_b: Vec::new(),
            hold_reads_a: false,
            events_a: Vec::new(),
            events_b: Vec::new(),
        }
    }

    pub(super) fn new() -> Pair {
        Pair::with_configs(&Config::default(), &Config::default(), SeqNumber(1000))
    }

    /// Moves every segment both sides want to send onto the wire, and
    /// reads whatever the applications can read.
    pub(super) fn flush(&mut self) {
        let mut buf = vec![0u8; 1500];
        for to_b in [true, false] {
            loop {
                let conn = if to_b { &mut self.a } else { &mut self.b };
                let Some(t) = conn.poll_transmit(self.now, &mut buf) else {
                    break;
                };
                let bytes = buf[..t.len].to_vec();
                let addrs = t.tuple.outgoing_addrs().unwrap();
                let seg = TcpRepr::parse_bytes(&bytes, &addrs, ChecksumMode::Full)
                    .expect("emitted segments parse");
                self.log
                    .push((to_b, seg.flags, seg.seq, seg.ack, seg.payload.len()));
                let extra = match (self.filter)(to_b, &seg, &mut self.filter_state) {
                    Fate::Drop => continue,
                    Fate::Deliver => Duration::ZERO,
                    Fate::Delay(d) => d,
                };
                self.wire.push_back(InFlight {
                    at: self.now + self.delay + extra,
                    to_b,
                    bytes,
                });
            }
        }
        self.drain_apps();
    }

    pub(super) fn drain_apps(&mut self) {
        let mut buf = vec![0u8; 64 * 1024];
        while !self.hold_reads_a
            && let Ok(n) = self.a.read(self.now, &mut buf)
        {
            if n == 0 {
                break;
            }
            self.got_a.extend_from_slice(&buf[..n]);
        }
        while let Ok(n) = self.b.read(self.now, &mut buf) {
            if n == 0 {
                break;
            }
            self.got_b.extend_from_slice(&buf[..n]);
        }
        while let Some(e) = self.a.poll_event() {
            self.events_a.push(e);
        }
        while let Some(e) = self.b.poll_event() {
            self.events_b.push(e);
        }
    }

    /// Advances to the next thing that happens: a delivery or a timeout.
    /// Returns false when nothing will ever happen again.
    pub(super) fn step(&mut self) -> bool {
        self.flush();
        let next_delivery = self.wire.iter().map(|p| p.at).min();
        let next_timeout = [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = [next_delivery, next_timeout].into_iter().flatten().min() else {
            return false;
        };
        self.now = self.now.max(next);
        // One segment at a time, each answered before the next arrives, as
        // a host processes packets.
        while let Some(i) = self.wire.iter().position(|p| p.at <= self.now) {
            let p = self.wire.remove(i).unwrap();
            self.deliver(p.to_b, &p.bytes);
            self.flush();
        }
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
        self.flush();
        true
    }

    pub(super) fn deliver(&mut self, to_b: bool, bytes: &[u8]) {
        let (conn, addrs) = if to_b {
            (&mut self.b, addrs(A_ADDR, B_ADDR))
        } else {
            (&mut self.a, addrs(B_ADDR, A_ADDR))
        };
        let seg = TcpRepr::parse_bytes(bytes, &addrs, ChecksumMode::Full).unwrap();
        conn.handle_segment(self.now, &addrs, &seg);
    }

    /// Steps until `done` holds or `limit` of virtual time passes.
    pub(super) fn run_until(&mut self, limit: Duration, done: impl Fn(&Pair) -> bool) -> bool {
        let end = self.now + limit;
        while !done(self) {
            if self.now > end || !self.step() {
                return done(self);
            }
        }
        true
    }

    pub(super) fn established(&mut self) {
        assert!(self.run_until(Duration::from_secs(5), |p| {
            p.a.state() == State::Established && p.b.state() == State::Established
        }));
    }

    /// Injects a crafted segment as if `from_a` sent it.
    pub(super) fn inject(&mut self, to_b: bool, seg: &TcpRepr<'_>) {
        let (src, dst) = if to_b {
            (A_ADDR, B_ADDR)
        } else {
            (B_ADDR, A_ADDR)
        };
        let mut buf = vec![0u8; 1600];
        let n = seg
            .emit(&mut buf, &addrs(src, dst), ChecksumMode::Full)
            .unwrap();
        self.deliver(to_b, &buf[..n]);
    }

    /// Writes as much of `data[*sent..]` into `a` as it takes.
    pub(super) fn feed(conn: &mut Connection, data: &[u8], sent: &mut usize) {
        while *sent < data.len() {
            match conn.write(&data[*sent..]) {
                Ok(n) => *sent += n,
                Err(_) => break,
            }
        }
    }
}

pub(super) fn addrs(src: SocketAddr, dst: SocketAddr) -> IpAddrPair {
    IpAddrPair::new(src.ip(), dst.ip()).unwrap()
}

/// Deterministic test data.
pub(super) fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Moves `data` from a to b (and `back` from b to a) until both arrived.
pub(super) fn transfer(p: &mut Pair, data: &[u8], back: &[u8], limit: Duration) {
    let (mut sa, mut sb) = (0, 0);
    let end = p.now + limit;
    while p.got_b.len() < data.len() || p.got_a.len() < back.len() {
        Pair::feed(&mut p.a, data, &mut sa);
        Pair::feed(&mut p.b, back, &mut sb);
        assert!(
            p.now <= end,
            "transfer stalled at {} of {} bytes",
            p.got_b.len(),
            data.len()
        );
        assert!(
            p.step(),
            "nothing left to happen: a {} {:?} una {} nxt {} max {} wnd {} queued {} {:?}; b {} {:?} nxt {} ooo {} window {}",
            p.a.state,
            p.a.close_reason,
            p.a.snd.una,
            p.a.snd.nxt,
            p.a.snd.max,
            p.a.snd.wnd,
            p.a.send_buf.len(),
            p.a.timers,
            p.b.state,
            p.b.close_reason,
            p.b.rcv.nxt,
            p.b.recv_buf.out_of_order_bytes(),
            p.b.recv_buf.window()
        );
    }
    assert!(p.got_b == data, "a→b bytes differ");
    assert!(p.got_a == back, "b→a bytes differ");
}

/// xorshift32 step for the filters' pseudo-random choices.
pub(super) fn next_random(x: &mut u64) -> u64 {
    let mut v = *x as u32;
    v ^= v << 13;
    v ^= v >> 17;
    v ^= v << 5;
    *x = u64::from(v);
    *x
}

/// A segment from b's side with b's current numbers, for injection.
pub(super) fn from_b<'a>(
    p: &Pair,
    flags: TcpFlags,
    seq_offset: i64,
    payload: &'a [u8],
) -> TcpRepr<'a> {
    let seq = SeqNumber((i64::from(p.b.snd.nxt.0) + seq_offset) as u32);
    TcpRepr {
        src_port: B_ADDR.port(),
        dst_port: A_ADDR.port(),
        seq,
        ack: p.b.rcv.nxt,
        flags,
        window: 1000,
        options: TcpOptions {
            timestamps: Some(Timestamps {
                value: p.b.ts_now(p.now),
                echo_reply: p.b.ts.recent,
            }),
            ..TcpOptions::default()
        },
        payload,
        ..TcpRepr::default()
    }
}

/// A bare SYN from a to b carrying `options`, for passive opens.
pub(super) fn syn_with(options: TcpOptions<'static>) -> TcpRepr<'static> {
    TcpRepr {
        src_port: A_ADDR.port(),
        dst_port: B_ADDR.port(),
        seq: SeqNumber(4242),
        flags: TcpFlags::SYN,
        window: 1000,
        options,
        ..TcpRepr::default()
    }
}
