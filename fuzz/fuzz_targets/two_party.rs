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
use synack_core::internals::harness::{Fate as WireFate, Pair, deliver_all};
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
    /// Congestion Experienced, if the segment was sent ECN-capable.
    Mark,
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

/// What the harness knows of one side's application.
struct Side {
    config: Config,
    tag: u8,
    written: u64,
    /// How much of what it read was checked against the peer's stream.
    checked: u64,
    shut: bool,
    /// The application called close or abort: failure is an outcome.
    closed_by_app: bool,
    name: &'static str,
}

impl Fate {
    /// The harness's fate for a segment.
    fn on_wire(self) -> WireFate {
        match self {
            Fate::Deliver => WireFate::Deliver,
            Fate::Drop => WireFate::Drop,
            Fate::Duplicate(extra) => WireFate::Duplicate(Duration::from_millis(u64::from(extra))),
            Fate::Delay(ms) => {
                WireFate::Delay(Duration::from_millis(u64::from(ms) % MAX_EXTRA_DELAY_MS))
            }
            Fate::Mark => WireFate::Mark,
            Fate::Corrupt { at, xor } => WireFate::Corrupt {
                at: usize::from(at),
                xor,
            },
        }
    }
}

/// The connections on the shared `Pair` harness (a is the client, b the
/// server), with the applications' bookkeeping.
struct Net {
    p: Pair,
    a: Side,
    b: Side,
}

impl Net {
    fn side(&mut self, b: bool) -> (&mut Connection, &mut Side) {
        if b {
            (&mut self.p.b, &mut self.b)
        } else {
            (&mut self.p.a, &mut self.a)
        }
    }

    /// Checks both connections, and what each application read so far
    /// against what the other wrote.
    fn check(&mut self) {
        check_connection(&self.p.a, &self.a.config, "client");
        check_connection(&self.p.b, &self.b.config, "server");
        for b in [false, true] {
            let (got, reader, writer) = if b {
                (&self.p.got_b, &mut self.b, &self.a)
            } else {
                (&self.p.got_a, &mut self.a, &self.b)
            };
            assert!(
                got.len() as u64 <= writer.written,
                "{} read more than {} wrote",
                reader.name,
                writer.name
            );
            let new = &got[reader.checked as usize..];
            check_app_bytes(writer.tag, reader.checked, new, reader.name);
            reader.checked = got.len() as u64;
        }
    }

    /// Moves what both connections send onto the wire, each segment
    /// meeting the next fate of the schedule, and reads what arrived.
    fn flush(&mut self) {
        self.p.flush();
        self.check();
    }

    /// Processes the next thing that happens, if it happens by `limit`:
    /// the deliveries due then, one by one, and the timers. Returns false
    /// when nothing is due by then.
    fn next_event(&mut self, limit: Instant) -> bool {
        let moved = self.p.step_until(limit);
        self.check();
        moved
    }

    /// Runs events until `limit`, at most `MAX_EVENTS` of them, and checks
    /// that time moves on (a deadline that stays at now is a busy loop).
    fn run_until(&mut self, limit: Instant, done: impl Fn(&Net) -> bool) {
        let mut stuck = 0;
        for _ in 0..MAX_EVENTS {
            if done(self) {
                return;
            }
            let before = self.p.now;
            if !self.next_event(limit) {
                return;
            }
            if self.p.now == before {
                stuck += 1;
                assert!(
                    stuck < 10_000,
                    "busy loop: time stands still at {}",
                    self.p.now
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
                let (conn, side) = self.side(b);
                let len = u64::from(len).min(MAX_WRITTEN - side.written) as usize;
                let _ = write_app(conn, side.tag, &mut side.written, len);
            }
            Step::Read { b, len } => {
                if !self.side(b).1.closed_by_app {
                    self.p.read(b, usize::from(len));
                }
            }
            Step::Shutdown { b } => {
                let (conn, side) = self.side(b);
                // A sane application shuts down once connected.
                if matches!(conn.state(), State::Established | State::CloseWait)
                    && conn.shutdown().is_ok()
                {
                    side.shut = true;
                }
            }
            Step::Close { b } => {
                let now = self.p.now;
                self.app_closes(b);
                let _ = self.side(b).0.close(now);
            }
            Step::Abort { b } => {
                self.app_closes(b);
                self.side(b).0.abort();
            }
            Step::Tick => {
                self.next_event(Instant::MAX);
            }
            Step::Wait(ms) => {
                let limit = self.p.now + Duration::from_millis(u64::from(ms));
                self.run_until(limit, |_| false);
                self.p.now = self.p.now.max(limit);
            }
        }
        self.flush();
    }

    /// The application of side b (or a) closes or aborts: it reads no more.
    fn app_closes(&mut self, b: bool) {
        self.side(b).1.closed_by_app = true;
        if b {
            self.p.hold_reads_b = true;
        } else {
            self.p.hold_reads_a = true;
        }
    }

    fn finished(&self) -> bool {
        let p = &self.p;
        let idle =
            p.wire.is_empty() && p.a.poll_timeout().is_none() && p.b.poll_timeout().is_none();
        idle && p.got_a.len() as u64 == self.b.written && p.got_b.len() as u64 == self.a.written
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
    let mut p = Pair::from_connections(a, b, now);
    p.delay = Duration::from_millis(1 + u64::from(input.delay_ms));
    let mut fates: VecDeque<Fate> = input.fates.iter().take(MAX_FATES).copied().collect();
    p.set_filter(move |_, _, _| fates.pop_front().map_or(WireFate::Deliver, Fate::on_wire));
    let side = |config, tag, name| Side {
        config,
        tag,
        written: 0,
        checked: 0,
        shut: false,
        closed_by_app: false,
        name,
    };
    let mut net = Net {
        p,
        a: side(ca, 0xa0, "client"),
        b: side(cb, 0xb0, "server"),
    };
    net.flush();
    for &step in input.steps.iter().take(MAX_STEPS) {
        net.step(step);
    }

    // Healing: the schedule stops interfering.
    net.p.set_filter(deliver_all);
    let end = net.p.now + HEALING;
    net.run_until(end, Net::finished);
    net.flush();

    let (a, b) = (&net.a, &net.b);
    if a.closed_by_app || b.closed_by_app {
        return;
    }
    let p = &net.p;
    let (a_got, b_got) = (p.got_a.len() as u64, p.got_b.len() as u64);
    // Every byte and both FINs arrived: the exchange is complete.
    let complete =
        a.shut && b.shut && p.eof_a && p.eof_b && a_got == b.written && b_got == a.written;
    for (s, conn) in [(a, &p.a), (b, &p.b)] {
        match conn.close_reason() {
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
        a_got, b.written,
        "server→client transfer incomplete after healing"
    );
    assert_eq!(
        b_got, a.written,
        "client→server transfer incomplete after healing"
    );
    for (s, peer, peer_eof) in [(a, b, p.eof_b), (b, a, p.eof_a)] {
        if s.shut {
            assert!(
                peer_eof,
                "{} shut down but {} saw no end of stream",
                s.name, peer.name
            );
        }
    }
    if a.shut && b.shut {
        for (s, conn) in [(a, &p.a), (b, &p.b)] {
            assert!(
                conn.state() == State::Closed,
                "{} did not close after both sides shut down (state {})",
                s.name,
                conn.state()
            );
        }
    }
});
