//! Two connections, a client and a listening server, joined by an
//! in-memory network whose schedule is arbitrary: each of the first N
//! segments is delivered, dropped, duplicated, delayed by up to 4 s
//! (reordered) or has a byte corrupted (it then fails its checksum and is
//! dropped by the parse, as a host would). Interleaved with it, arbitrary application writes,
//! reads, shutdowns, closes and aborts, and the passing of time.
//!
//! Asserted:
//! - always: what each application reads is a prefix of what the other
//!   wrote; both connections pass `check_connection` (internal invariants,
//!   memory bounded by the configuration, RTO bounds); no busy loop (the
//!   next deadline never stays at or before now once handled);
//! - after the schedule stops interfering and a healing phase of at most
//!   2 hours of virtual time on a lossless network: unless an
//!   application closed or aborted, neither connection failed, every byte
//!   written arrived exactly, a shutdown was seen as end of stream by the
//!   other side, and when both sides shut down both connections reached
//!   CLOSED normally — or, once every byte and both FINs had arrived, by a
//!   reset answering a FIN retransmitted after the peer's TIME-WAIT ended
//!   (2·MSL = 60 s is shorter than the largest RTO, as in Linux).
#![no_main]

use std::collections::VecDeque;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use synack_core::conn::{CloseReason, Config, Connection, State};
use synack_core::wire::{ChecksumMode, IpAddrPair, TcpRepr};
use synack_core::{Duration, FourTuple, Instant, IsnGenerator, SeqNumber};
use synack_fuzz::{Knobs, check_app_bytes, check_connection, endpoints, write_app};

const MAX_FATES: usize = 48;
const MAX_STEPS: usize = 128;
const MAX_WRITTEN: u64 = 256 * 1024;
/// How long the lossless network has to bring a transfer to its end. Ten
/// minutes is not always enough: a timestamp echo can carry minutes of
/// the peer's idle time into an RTT sample (an ACK whose TSecr predates
/// the lost retransmissions, e.g. a SYN-ACK acknowledged by a FIN sent
/// long after), and the SRTT and the pacing rate (window / SRTT) then take
/// tens of minutes to come back. Virtual time is free; events are bounded.
const HEALING: Duration = Duration::from_secs(2 * 3600);
const MAX_EVENTS: usize = 200_000;
/// Delays of a minute make SRTT, the RTO and the pacing interval minutes
/// long, and after such a schedule a transfer legitimately takes longer
/// than the healing phase to speed up again: 4 s reorders enough.
const MAX_EXTRA_DELAY_MS: u64 = 4096;

/// (send buffer, receive buffer, receive buffer maximum) by `Knobs::buffers`.
const BUFFERS: [(usize, usize, usize); 4] = [
    (64 * 1024, 32 * 1024, 1 << 20),
    (4096, 2048, 8192),
    (1000, 700, 700),
    (16384, 4096, 65536),
];
const MTUS: [usize; 4] = [1500, 576, 300, 9000];

fn config(knobs: &Knobs) -> Config {
    let mut c = knobs.config(&BUFFERS, &MTUS);
    // More retries than the schedule can drop in a row: giving up
    // would be a bug here, not an outcome.
    c.max_retries = 100;
    c.max_syn_retries = 100;
    c.validate().expect("fuzz configurations are valid");
    c
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Fate {
    Deliver,
    Drop,
    Duplicate(u8),
    /// Extra delay in milliseconds (modulo `MAX_EXTRA_DELAY_MS`).
    Delay(u16),
    Corrupt {
        at: u16,
        xor: u8,
    },
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Step {
    Write { b: bool, len: u16 },
    Read { b: bool, len: u16 },
    Shutdown { b: bool },
    Close { b: bool },
    Abort { b: bool },
    Tick,
    Wait(u16),
}

#[derive(Arbitrary, Debug)]
struct Input {
    ipv6: bool,
    a: Knobs,
    b: Knobs,
    iss: u32,
    delay_ms: u8,
    fates: Vec<Fate>,
    steps: Vec<Step>,
}

struct Side {
    conn: Connection,
    config: Config,
    tag: u8,
    written: u64,
    got: u64,
    eof: bool,
    shut: bool,
    /// The application called close or abort: failure is an outcome.
    closed_by_app: bool,
    name: &'static str,
}

struct Packet {
    at: Instant,
    order: u64,
    to_b: bool,
    bytes: Vec<u8>,
}

struct Net {
    now: Instant,
    a: Side,
    b: Side,
    delay: Duration,
    wire: VecDeque<Packet>,
    order: u64,
    fates: VecDeque<Fate>,
    a_addrs: IpAddrPair,
    buf: Vec<u8>,
}

impl Net {
    fn side(&mut self, b: bool) -> &mut Side {
        if b { &mut self.b } else { &mut self.a }
    }

    fn check(&self) {
        check_connection(&self.a.conn, &self.a.config, "client");
        check_connection(&self.b.conn, &self.b.config, "server");
        assert!(self.a.got <= self.b.written && self.b.got <= self.a.written);
    }

    fn put(&mut self, to_b: bool, bytes: Vec<u8>, extra: Duration) {
        self.order += 1;
        self.wire.push_back(Packet {
            at: self.now + self.delay + extra,
            order: self.order,
            to_b,
            bytes,
        });
    }

    /// Moves what both connections send onto the wire, each segment
    /// meeting the next fate of the schedule. Returns whether anything
    /// was sent.
    fn flush(&mut self) -> bool {
        let mut sent = false;
        let mut buf = vec![0u8; 10_000];
        for to_b in [true, false] {
            for _ in 0..100_000 {
                let now = self.now;
                let conn = &mut self.side(!to_b).conn;
                let Some(t) = conn.poll_transmit(now, &mut buf) else {
                    break;
                };
                sent = true;
                let mut bytes = buf[..t.len].to_vec();
                let addrs = t.tuple.outgoing_addrs().unwrap();
                TcpRepr::parse_bytes(&bytes, &addrs, ChecksumMode::Full)
                    .expect("emitted segments parse");
                match self.fates.pop_front().unwrap_or(Fate::Deliver) {
                    Fate::Deliver => self.put(to_b, bytes, Duration::ZERO),
                    Fate::Drop => {}
                    Fate::Duplicate(extra) => {
                        self.put(to_b, bytes.clone(), Duration::ZERO);
                        self.put(to_b, bytes, Duration::from_millis(u64::from(extra)));
                    }
                    Fate::Delay(ms) => {
                        let extra = Duration::from_millis(u64::from(ms) % MAX_EXTRA_DELAY_MS);
                        self.put(to_b, bytes, extra)
                    }
                    Fate::Corrupt { at, xor } => {
                        let i = usize::from(at) % bytes.len();
                        bytes[i] ^= xor.max(1);
                        // One changed byte always breaks the Internet
                        // checksum: the receiving host drops it.
                        assert!(
                            TcpRepr::parse_bytes(&bytes, &addrs, ChecksumMode::Full).is_err(),
                            "a corrupted segment passed its checksum"
                        );
                    }
                }
            }
        }
        self.read_all(usize::MAX);
        self.check();
        sent
    }

    /// The application of each side reads up to `limit` bytes.
    fn read_all(&mut self, limit: usize) {
        for b in [false, true] {
            self.read(b, limit);
        }
    }

    fn read(&mut self, b: bool, limit: usize) {
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(4096, 0);
        let (reader, writer) = if b {
            (&mut self.b, &self.a)
        } else {
            (&mut self.a, &self.b)
        };
        let mut left = limit;
        while left > 0 && !reader.closed_by_app {
            let want = left.min(buf.len());
            match reader.conn.read(self.now, &mut buf[..want]) {
                Ok(0) => {
                    reader.eof = true;
                    break;
                }
                Ok(n) => {
                    assert!(
                        reader.got + n as u64 <= writer.written,
                        "{} read more than {} wrote",
                        reader.name,
                        writer.name
                    );
                    check_app_bytes(writer.tag, reader.got, &buf[..n], reader.name);
                    reader.got += n as u64;
                    left -= n;
                }
                Err(_) => break,
            }
        }
        while reader.conn.poll_event().is_some() {}
        self.buf = buf;
    }

    /// Delivers a segment as a host would: parse (checksum verified), then
    /// hand it over; a corrupted one is dropped here.
    fn deliver(&mut self, p: Packet) {
        let addrs = if p.to_b {
            self.a_addrs
        } else {
            self.a_addrs.reversed()
        };
        let Ok(seg) = TcpRepr::parse_bytes(&p.bytes, &addrs, ChecksumMode::Full) else {
            return;
        };
        let now = self.now;
        self.side(p.to_b).conn.handle_segment(now, &addrs, &seg);
    }

    /// Processes the next thing that happens, if it happens by `limit`:
    /// a delivery or a timer. Returns false when nothing is due by then.
    fn next_event(&mut self, limit: Instant) -> bool {
        let delivery = self.wire.iter().map(|p| (p.at, p.order)).min();
        let timer = [self.a.conn.poll_timeout(), self.b.conn.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let next = match (delivery.map(|d| d.0), timer) {
            (Some(d), Some(t)) => d.min(t),
            (Some(d), None) => d,
            (None, Some(t)) => t,
            (None, None) => return false,
        };
        if next > limit {
            return false;
        }
        self.now = self.now.max(next);
        // Deliveries due now, in the order they were sent.
        loop {
            let due = self
                .wire
                .iter()
                .enumerate()
                .filter(|(_, p)| p.at <= self.now)
                .min_by_key(|(_, p)| (p.at, p.order))
                .map(|(i, _)| i);
            let Some(i) = due else { break };
            let p = self.wire.remove(i).unwrap();
            self.deliver(p);
        }
        self.a.conn.handle_timeout(self.now);
        self.b.conn.handle_timeout(self.now);
        self.flush();
        true
    }

    /// Runs events until `limit`, at most `MAX_EVENTS` of them, and checks
    /// that time moves on (a deadline that stays at now is a busy loop).
    fn run_until(&mut self, limit: Instant, done: impl Fn(&Net) -> bool) {
        let mut stuck = 0;
        for _ in 0..MAX_EVENTS {
            if done(self) {
                return;
            }
            let before = self.now;
            if !self.next_event(limit) {
                return;
            }
            if self.now == before {
                stuck += 1;
                assert!(
                    stuck < 10_000,
                    "busy loop: time stands still at {}",
                    self.now
                );
            } else {
                stuck = 0;
            }
        }
        panic!("no end in sight after {MAX_EVENTS} events");
    }

    fn step(&mut self, step: Step) {
        match step {
            Step::Write { b, len } => {
                let side = self.side(b);
                let len = u64::from(len).min(MAX_WRITTEN - side.written) as usize;
                let _ = write_app(&mut side.conn, side.tag, &mut side.written, len);
            }
            Step::Read { b, len } => self.read(b, usize::from(len)),
            Step::Shutdown { b } => {
                let side = self.side(b);
                // A sane application shuts down once connected.
                if matches!(side.conn.state(), State::Established | State::CloseWait)
                    && side.conn.shutdown().is_ok()
                {
                    side.shut = true;
                }
            }
            Step::Close { b } => {
                let now = self.now;
                let side = self.side(b);
                side.closed_by_app = true;
                let _ = side.conn.close(now);
            }
            Step::Abort { b } => {
                let side = self.side(b);
                side.closed_by_app = true;
                side.conn.abort();
            }
            Step::Tick => {
                self.next_event(Instant::MAX);
            }
            Step::Wait(ms) => {
                let limit = self.now + Duration::from_millis(u64::from(ms));
                self.run_until(limit, |_| false);
                self.now = self.now.max(limit);
            }
        }
        self.flush();
    }

    fn finished(&self) -> bool {
        let (a, b) = (&self.a, &self.b);
        let idle = self.wire.is_empty()
            && a.conn.poll_timeout().is_none()
            && b.conn.poll_timeout().is_none();
        idle && a.got == b.written && b.got == a.written
    }
}

fuzz_target!(|input: Input| {
    let (client, server) = endpoints(input.ipv6);
    let now = Instant::from_secs(1);
    let (ca, cb) = (config(&input.a), config(&input.b));
    let tuple = FourTuple::new(client, server);
    let a = Connection::connect(&ca, tuple, SeqNumber(input.iss), now).unwrap();
    let b = Connection::listen(&cb, server, IsnGenerator::new([9; 16]), now)
        .expect("a valid configuration");
    let side = |conn, config, tag, name| Side {
        conn,
        config,
        tag,
        written: 0,
        got: 0,
        eof: false,
        shut: false,
        closed_by_app: false,
        name,
    };
    let mut net = Net {
        now,
        a: side(a, ca, 0xa0, "client"),
        b: side(b, cb, 0xb0, "server"),
        delay: Duration::from_millis(1 + u64::from(input.delay_ms)),
        wire: VecDeque::new(),
        order: 0,
        fates: input.fates.iter().take(MAX_FATES).copied().collect(),
        a_addrs: tuple.outgoing_addrs().unwrap(),
        buf: Vec::new(),
    };
    net.flush();
    for &step in input.steps.iter().take(MAX_STEPS) {
        net.step(step);
    }

    // Healing: the schedule stops interfering.
    net.fates.clear();
    let end = net.now + HEALING;
    net.run_until(end, Net::finished);
    net.read_all(usize::MAX);

    let (a, b) = (&net.a, &net.b);
    if a.closed_by_app || b.closed_by_app {
        return;
    }
    // Every byte and both FINs arrived: the exchange is complete.
    let complete = a.shut && b.shut && a.eof && b.eof && a.got == b.written && b.got == a.written;
    for s in [a, b] {
        match s.conn.close_reason() {
            None | Some(CloseReason::Normal) => {}
            // TIME-WAIT (2·MSL = 60 s) is shorter than the largest RTO
            // (120 s), as in Linux: when the last ACK of a FIN is lost,
            // the FIN's next retransmission may find the peer closed and
            // be answered by a reset. Nothing is lost by then.
            Some(CloseReason::Reset) if complete => {}
            reason => panic!(
                "{} failed ({reason:?}) though no application closed or aborted",
                s.name
            ),
        }
    }
    assert_eq!(
        a.got, b.written,
        "server→client transfer incomplete after healing"
    );
    assert_eq!(
        b.got, a.written,
        "client→server transfer incomplete after healing"
    );
    for (s, peer) in [(a, b), (b, a)] {
        if s.shut {
            assert!(
                peer.eof,
                "{} shut down but {} saw no end of stream",
                s.name, peer.name
            );
        }
    }
    if a.shut && b.shut {
        for s in [a, b] {
            assert!(
                s.conn.state() == State::Closed,
                "{} did not close after both sides shut down (state {})",
                s.name,
                s.conn.state()
            );
        }
    }
});
