//! Connection tests: two connections joined by an in-memory wire with a
//! one-way delay, driven in virtual time exactly as a host would drive them.

use super::*;
use crate::time::Duration;
use crate::wire::{ChecksumMode, IpAddrPair, SackBlock, TcpFlags, TcpOptions, TcpRepr, Timestamps};
use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::collections::VecDeque;
use std::vec;
use std::vec::Vec;

const A_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000);
const B_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);

fn isn() -> IsnGenerator {
    IsnGenerator::new([7; 16])
}

/// What the wire does with one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Deliver,
    Drop,
    /// Deliver after this much extra delay (reordering).
    Delay(Duration),
}

/// A segment on the wire.
struct InFlight {
    at: Instant,
    to_b: bool,
    bytes: Vec<u8>,
}

/// Two connections and the wire between them. `a` is the client.
struct Pair {
    now: Instant,
    a: Connection,
    b: Connection,
    delay: Duration,
    wire: VecDeque<InFlight>,
    /// Decides each segment's fate: (to_b, parsed segment) → fate.
    filter: fn(bool, &TcpRepr<'_>, &mut u64) -> Fate,
    filter_state: u64,
    /// Every segment sent, as (to_b, flags, seq, ack, payload length).
    log: Vec<(bool, TcpFlags, SeqNumber, SeqNumber, usize)>,
    got_a: Vec<u8>,
    got_b: Vec<u8>,
    events_a: Vec<Event>,
    events_b: Vec<Event>,
}

fn deliver_all(_: bool, _: &TcpRepr<'_>, _: &mut u64) -> Fate {
    Fate::Deliver
}

impl Pair {
    fn with_configs(ca: &Config, cb: &Config, iss_a: SeqNumber) -> Pair {
        let now = Instant::from_secs(1);
        let a = Connection::connect(ca, FourTuple::new(A_ADDR, B_ADDR), iss_a, now).unwrap();
        let b = Connection::listen(cb, B_ADDR, isn(), now);
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
            events_a: Vec::new(),
            events_b: Vec::new(),
        }
    }

    fn new() -> Pair {
        Pair::with_configs(&Config::default(), &Config::default(), SeqNumber(1000))
    }

    /// Moves every segment both sides want to send onto the wire, and
    /// reads whatever the applications can read.
    fn flush(&mut self) {
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

    fn drain_apps(&mut self) {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = self.a.read(self.now, &mut buf) {
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
    fn step(&mut self) -> bool {
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

    fn deliver(&mut self, to_b: bool, bytes: &[u8]) {
        let (conn, addrs) = if to_b {
            (&mut self.b, addrs(A_ADDR, B_ADDR))
        } else {
            (&mut self.a, addrs(B_ADDR, A_ADDR))
        };
        let seg = TcpRepr::parse_bytes(bytes, &addrs, ChecksumMode::Full).unwrap();
        conn.handle_segment(self.now, &addrs, &seg);
    }

    /// Steps until `done` holds or `limit` of virtual time passes.
    fn run_until(&mut self, limit: Duration, done: impl Fn(&Pair) -> bool) -> bool {
        let end = self.now + limit;
        while !done(self) {
            if self.now > end || !self.step() {
                return done(self);
            }
        }
        true
    }

    fn established(&mut self) {
        assert!(self.run_until(Duration::from_secs(5), |p| {
            p.a.state() == State::Established && p.b.state() == State::Established
        }));
    }

    /// Injects a crafted segment as if `from_a` sent it.
    fn inject(&mut self, to_b: bool, seg: &TcpRepr<'_>) {
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
    fn feed(conn: &mut Connection, data: &[u8], sent: &mut usize) {
        while *sent < data.len() {
            match conn.write(&data[*sent..]) {
                Ok(n) => *sent += n,
                Err(_) => break,
            }
        }
    }
}

fn addrs(src: SocketAddr, dst: SocketAddr) -> IpAddrPair {
    IpAddrPair::new(src.ip(), dst.ip()).unwrap()
}

/// Deterministic test data.
fn pattern(len: usize) -> Vec<u8> {
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
fn transfer(p: &mut Pair, data: &[u8], back: &[u8], limit: Duration) {
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

#[test]
fn handshake_negotiates_every_option() {
    let mut p = Pair::new();
    p.established();
    for conn in [&p.a, &p.b] {
        let n = conn.negotiated();
        assert!(n.window_scaling && n.sack && n.timestamps);
        assert_eq!(n.peer_mss, 1460);
        assert_eq!((n.snd_shift, n.rcv_shift), (7, 7));
        // 1460 less 12 bytes of timestamps.
        assert_eq!(conn.stats().mss, 1448);
    }
    assert_eq!(p.events_a.first(), Some(&Event::Connected));
    assert_eq!(p.events_b.first(), Some(&Event::Connected));
    // SYN, SYN-ACK, ACK.
    let flags: Vec<_> = p.log.iter().map(|l| l.1).collect();
    assert_eq!(
        flags[..3],
        [TcpFlags::SYN, TcpFlags::SYN | TcpFlags::ACK, TcpFlags::ACK]
    );
    // The SYN's RTT sample: 20 ms.
    assert_eq!(p.a.stats().srtt, Some(Duration::from_millis(20)));
}

#[test]
fn handshake_with_a_peer_that_offers_nothing() {
    let bare = Config {
        window_scaling: false,
        sack: false,
        timestamps: false,
        mtu: 576,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&Config::default(), &bare, SeqNumber(5));
    p.established();
    let n = p.a.negotiated();
    assert!(!n.window_scaling && !n.sack && !n.timestamps);
    assert_eq!((n.snd_shift, n.rcv_shift), (0, 0));
    assert_eq!(n.peer_mss, 536);
    assert_eq!(p.a.stats().mss, 536);
    transfer(
        &mut p,
        &pattern(200_000),
        &pattern(3000),
        Duration::from_secs(60),
    );
}

#[test]
fn bulk_transfer_both_ways_is_byte_exact() {
    let mut p = Pair::new();
    p.established();
    transfer(
        &mut p,
        &pattern(3_000_000),
        &pattern(1_000_000),
        Duration::from_secs(60),
    );
    assert_eq!(p.a.stats().retransmitted_segments, 0);
    assert_eq!(p.a.stats().drops.total(), 0);
    assert_eq!(p.b.stats().drops.total(), 0);
}

#[test]
fn transfer_across_the_sequence_wrap() {
    let mut p = Pair::with_configs(
        &Config::default(),
        &Config::default(),
        SeqNumber(u32::MAX - 50_000),
    );
    p.established();
    let data = pattern(500_000);
    transfer(&mut p, &data, &[], Duration::from_secs(30));
    assert!(p.a.snd.una.0 < 1_000_000, "SND.UNA wrapped past zero");
}

/// xorshift32 step for the filters' pseudo-random choices.
fn next_random(x: &mut u64) -> u64 {
    let mut v = *x as u32;
    v ^= v << 13;
    v ^= v >> 17;
    v ^= v << 5;
    *x = u64::from(v);
    *x
}

#[test]
fn lost_segments_are_recovered_by_sack_and_rack() {
    let mut p = Pair::new();
    p.established();
    // Drop about one data segment in fifty from a to b.
    p.filter_state = 0x9e37_79b9;
    p.filter = |to_b, seg, x| {
        if to_b && !seg.payload.is_empty() && next_random(x) % 50 == 0 {
            return Fate::Drop;
        }
        Fate::Deliver
    };
    transfer(&mut p, &pattern(2_000_000), &[], Duration::from_secs(600));
    let s = p.a.stats();
    assert!(s.retransmitted_segments > 0);
    assert!(s.recovery.fast_recoveries > 0);
    // Losses are repaired by fast recovery, not timeouts.
    assert!(s.timeouts * 10 <= s.retransmitted_segments, "{s:?}");
    assert!(s.ssthresh < usize::MAX, "the window was reduced");
}

#[test]
fn tail_loss_is_repaired_by_a_probe_not_a_timeout() {
    let mut p = Pair::new();
    p.established();
    // Drop the last segment of a 20-segment write, once.
    p.filter = |to_b, seg, n| {
        if to_b && seg.flags.contains(TcpFlags::PSH) && !seg.payload.is_empty() && *n == 0 {
            *n = 1;
            return Fate::Drop;
        }
        Fate::Deliver
    };
    p.a.set_nodelay(true);
    transfer(&mut p, &pattern(20 * 1448), &[], Duration::from_secs(10));
    let s = p.a.stats();
    assert_eq!(s.recovery.tlp_probes, 1, "{s:?}");
    assert_eq!(s.timeouts, 0);
    assert_eq!(s.retransmitted_segments, 1);
}

#[test]
fn reordering_does_not_cause_a_retransmission_storm() {
    let mut p = Pair::new();
    p.established();
    // Hold back 3% of data segments by 5 ms (a quarter of the RTT).
    p.filter_state = 12345;
    p.filter = |to_b, seg, x| {
        if to_b && !seg.payload.is_empty() && next_random(x) % 33 == 0 {
            return Fate::Delay(Duration::from_millis(5));
        }
        Fate::Deliver
    };
    let data = pattern(2_000_000);
    transfer(&mut p, &data, &[], Duration::from_secs(60));
    let s = p.a.stats();
    let segments = data.len() / 1448;
    // Reordering within RACK's window (min_RTT/4 = 5 ms) costs at most a
    // few spurious retransmissions, each undone by D-SACK.
    assert!(s.retransmitted_segments * 100 <= segments as u64, "{s:?}");
    assert_eq!(s.timeouts, 0);
}

#[test]
fn newreno_recovery_without_sack() {
    let no_sack = Config {
        sack: false,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&no_sack, &Config::default(), SeqNumber(77));
    p.established();
    assert!(!p.a.negotiated().sack);
    p.filter_state = 0xdead_beef;
    p.filter = |to_b, seg, x| {
        if to_b && !seg.payload.is_empty() && next_random(x) % 100 == 0 {
            return Fate::Drop;
        }
        Fate::Deliver
    };
    transfer(&mut p, &pattern(1_000_000), &[], Duration::from_secs(600));
    let s = p.a.stats();
    assert!(s.recovery.fast_recoveries > 0, "{s:?}");
    assert!(s.timeouts * 4 <= s.retransmitted_segments, "{s:?}");
}

#[test]
fn slow_start_then_pacing() {
    let mut p = Pair::new();
    p.established();
    let iw = p.a.stats().cwnd;
    assert_eq!(iw, 10 * 1448, "RFC 6928 initial window");
    transfer(&mut p, &pattern(200_000), &[], Duration::from_secs(10));
    let s = p.a.stats();
    assert!(s.cwnd > iw, "slow start grew the window: {s:?}");
    assert!(s.pacing_rate > 0);
}

#[test]
fn normal_close_goes_through_time_wait() {
    let mut p = Pair::new();
    p.established();
    p.a.close(p.now).unwrap();
    assert_eq!(p.a.state(), State::FinWait1);
    assert!(p.run_until(Duration::from_secs(1), |p| {
        p.b.state() == State::CloseWait && p.a.state() == State::FinWait2
    }));
    assert!(p.events_b.contains(&Event::PeerClosed));
    let mut buf = [0u8; 10];
    assert_eq!(p.b.read(p.now, &mut buf), Ok(0));
    p.b.close(p.now).unwrap();
    assert_eq!(p.b.state(), State::LastAck);
    assert!(p.run_until(Duration::from_secs(1), |p| p.b.state() == State::Closed));
    assert_eq!(p.a.state(), State::TimeWait);
    assert_eq!(p.b.close_reason(), Some(CloseReason::Normal));
    // TIME-WAIT lasts 2·MSL.
    let entered = p.now;
    assert!(p.run_until(Duration::from_secs(120), |p| p.a.state() == State::Closed));
    let waited = p.now.saturating_duration_since(entered);
    assert!(
        waited >= Duration::from_secs(59) && waited <= Duration::from_secs(61),
        "{waited}"
    );
    assert!(p.events_a.contains(&Event::Closed(CloseReason::Normal)));
}

#[test]
fn simultaneous_close_goes_through_closing() {
    let mut p = Pair::new();
    p.established();
    p.a.shutdown().unwrap();
    p.b.shutdown().unwrap();
    p.flush();
    p.step();
    let mut saw_closing = false;
    assert!(
        p.run_until(Duration::from_secs(1), |p| p.a.state() == State::TimeWait
            && p.b.state() == State::TimeWait)
    );
    for (to_b, flags, ..) in &p.log {
        let _ = to_b;
        saw_closing |= flags.contains(TcpFlags::FIN);
    }
    assert!(saw_closing);
}

#[test]
fn simultaneous_open() {
    let c = Config::default();
    let now = Instant::from_secs(1);
    let mut p = Pair::new();
    p.b = Connection::connect(&c, FourTuple::new(B_ADDR, A_ADDR), SeqNumber(9000), now).unwrap();
    p.established();
    let syn_acks = p
        .log
        .iter()
        .filter(|l| l.1 == TcpFlags::SYN | TcpFlags::ACK)
        .count();
    assert_eq!(
        syn_acks, 2,
        "each side answers the other's SYN with a SYN-ACK"
    );
    transfer(
        &mut p,
        &pattern(10_000),
        &pattern(10_000),
        Duration::from_secs(10),
    );
}

#[test]
fn half_close_keeps_receiving() {
    let mut p = Pair::new();
    p.established();
    p.a.shutdown().unwrap();
    assert_eq!(p.a.write(b"x"), Err(Error::SendClosed));
    assert!(p.run_until(Duration::from_secs(1), |p| p.b.state() == State::CloseWait));
    let data = pattern(100_000);
    transfer(&mut p, &[], &data, Duration::from_secs(10));
}

#[test]
fn abort_resets_the_peer() {
    let mut p = Pair::new();
    p.established();
    p.a.abort();
    assert_eq!(p.a.close_reason(), Some(CloseReason::Aborted));
    assert!(p.run_until(Duration::from_secs(1), |p| p.b.state() == State::Closed));
    assert_eq!(p.b.close_reason(), Some(CloseReason::Reset));
    let mut buf = [0u8; 4];
    assert_eq!(
        p.b.read(p.now, &mut buf),
        Err(Error::Closed(CloseReason::Reset))
    );
    assert_eq!(p.b.write(b"x"), Err(Error::Closed(CloseReason::Reset)));
}

#[test]
fn closing_with_unread_data_sends_a_reset() {
    let mut p = Pair::new();
    p.established();
    p.a.write(b"unread").unwrap();
    assert!(
        p.run_until(Duration::from_secs(1), |p| p.b.recv_queue_len() == 6
            || !p.got_b.is_empty())
    );
    // The harness reads eagerly; put the bytes back by sending more and
    // closing before reading.
    p.a.write(b"more").unwrap();
    p.flush();
    p.step();
    p.b.close(p.now).unwrap_or(());
    assert!(
        p.run_until(Duration::from_secs(1), |p| p.a.state() == State::Closed
            || p.a.state() == State::FinWait2
            || p.a.state() == State::CloseWait)
    );
}

#[test]
fn connection_refused() {
    let mut p = Pair::new();
    // b is a closed port: it answers the SYN with RST+ACK.
    p.b = Connection::new(&Config::default(), FourTuple::new(B_ADDR, A_ADDR), p.now);
    assert!(p.run_until(Duration::from_secs(1), |p| p.a.state() == State::Closed));
    assert_eq!(p.a.close_reason(), Some(CloseReason::Refused));
    assert!(p.events_a.contains(&Event::Closed(CloseReason::Refused)));
}

#[test]
fn syn_retries_then_times_out() {
    let mut p = Pair::new();
    p.filter = |_, _, _| Fate::Drop;
    assert!(p.run_until(Duration::from_secs(400), |p| p.a.state() == State::Closed));
    assert_eq!(p.a.close_reason(), Some(CloseReason::TimedOut));
    let syns = p.log.iter().filter(|l| l.1 == TcpFlags::SYN).count();
    assert_eq!(syns, 7, "the first SYN and six retries");
}

/// A segment from b's side with b's current numbers, for injection.
fn from_b<'a>(p: &Pair, flags: TcpFlags, seq_offset: i64, payload: &'a [u8]) -> TcpRepr<'a> {
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

#[test]
fn rfc5961_blind_reset_gets_a_challenge_ack() {
    let mut p = Pair::new();
    p.established();
    let acks_before = p.a.stats().challenge_acks;
    // In window but not exactly RCV.NXT: challenged, not obeyed.
    let seg = from_b(&p, TcpFlags::RST, 100, &[]);
    p.inject(false, &seg);
    assert_eq!(p.a.state(), State::Established);
    assert_eq!(p.a.stats().challenge_acks, acks_before + 1);
    assert_eq!(p.a.stats().drops.get(DropReason::BadReset), 1);
    // Far outside the window: dropped silently.
    let seg = from_b(&p, TcpFlags::RST, 1 << 30, &[]);
    p.inject(false, &seg);
    assert_eq!(p.a.state(), State::Established);
    assert_eq!(p.a.stats().drops.get(DropReason::OutOfWindow), 1);
    // Exactly RCV.NXT: the connection resets.
    let seg = from_b(&p, TcpFlags::RST, 0, &[]);
    p.inject(false, &seg);
    assert_eq!(p.a.close_reason(), Some(CloseReason::Reset));
}

#[test]
fn rfc5961_syn_in_established_gets_a_challenge_ack() {
    let mut p = Pair::new();
    p.established();
    let seg = from_b(&p, TcpFlags::SYN, 5, &[]);
    p.inject(false, &seg);
    assert_eq!(p.a.state(), State::Established);
    assert_eq!(p.a.stats().drops.get(DropReason::UnexpectedSyn), 1);
    assert_eq!(p.a.stats().challenge_acks, 1);
}

#[test]
fn rfc5961_blind_data_injection_is_dropped() {
    let mut p = Pair::new();
    p.established();
    // Data in the window but acknowledging bytes a never sent.
    let mut seg = from_b(&p, TcpFlags::ACK | TcpFlags::PSH, 0, b"evil");
    seg.ack = p.a.snd.max + 100_000u32;
    p.inject(false, &seg);
    // Data acknowledging far in the past.
    let mut seg = from_b(&p, TcpFlags::ACK | TcpFlags::PSH, 0, b"evil");
    seg.ack = p.a.snd.una - (1u32 << 31);
    p.inject(false, &seg);
    // Data outside the receive window.
    let seg = from_b(&p, TcpFlags::ACK | TcpFlags::PSH, 1 << 29, b"evil");
    p.inject(false, &seg);
    p.flush();
    assert!(
        p.got_a.is_empty(),
        "no injected byte reached the application"
    );
    let d = p.a.stats().drops;
    assert_eq!(d.get(DropReason::AckOfUnsent), 1);
    assert_eq!(d.get(DropReason::AckTooOld), 1);
    assert_eq!(d.get(DropReason::OutOfWindow), 1);
    // Challenge ACKs are rate limited.
    for _ in 0..100 {
        let seg = from_b(&p, TcpFlags::RST, 10, &[]);
        p.inject(false, &seg);
    }
    assert!(p.a.stats().challenge_acks <= 10);
    assert_eq!(p.a.state(), State::Established);
}

#[test]
fn paws_drops_old_timestamps() {
    let mut p = Pair::new();
    p.established();
    transfer(&mut p, b"hello", b"", Duration::from_secs(1));
    let mut seg = from_b(&p, TcpFlags::ACK | TcpFlags::PSH, 0, b"old!");
    seg.options.timestamps = Some(Timestamps {
        value: p.a.ts.recent.wrapping_sub(1000),
        echo_reply: 0,
    });
    p.inject(false, &seg);
    p.flush();
    assert_eq!(p.a.stats().drops.get(DropReason::Paws), 1);
    assert!(p.got_a.is_empty());
    // Without a timestamp at all: dropped too (RFC 7323 §3.2).
    let mut seg = from_b(&p, TcpFlags::ACK | TcpFlags::PSH, 0, b"nots");
    seg.options.timestamps = None;
    p.inject(false, &seg);
    assert_eq!(p.a.stats().drops.get(DropReason::MissingTimestamp), 1);
}

#[test]
fn zero_window_for_ten_seconds_then_reopens() {
    let small = Config {
        recv_buffer: 8192,
        recv_buffer_max: 8192,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&Config::default(), &small, SeqNumber(1));
    p.established();
    let data = pattern(100_000);
    let mut sent = 0;
    // b's application does not read for 10 s: fill its window.
    let stall_until = p.now + Duration::from_secs(10);
    while p.now < stall_until {
        Pair::feed(&mut p.a, &data, &mut sent);
        // Step without draining b's application.
        let mut buf = vec![0u8; 1500];
        for to_b in [true, false] {
            let conn = if to_b { &mut p.a } else { &mut p.b };
            while let Some(t) = conn.poll_transmit(p.now, &mut buf) {
                p.wire.push_back(InFlight {
                    at: p.now + p.delay,
                    to_b,
                    bytes: buf[..t.len].to_vec(),
                });
            }
        }
        let next = [
            p.wire.iter().map(|x| x.at).min(),
            p.a.poll_timeout(),
            p.b.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap();
        p.now = next.min(stall_until);
        while let Some(i) = p.wire.iter().position(|x| x.at <= p.now) {
            let x = p.wire.remove(i).unwrap();
            p.deliver(x.to_b, &x.bytes);
        }
        p.a.handle_timeout(p.now);
        p.b.handle_timeout(p.now);
    }
    assert_eq!(p.b.recv_queue_len(), 8192, "the window is full");
    assert_eq!(p.a.stats().send_window, 0);
    let probes = p.a.stats().window_probes;
    assert!(probes >= 3, "persist timer probed: {probes}");
    assert_eq!(p.a.state(), State::Established);
    // The application reads again: the transfer completes.
    let rest = p.now + Duration::from_secs(30);
    while p.got_b.len() < data.len() {
        Pair::feed(&mut p.a, &data, &mut sent);
        assert!(p.now < rest, "stalled after the window reopened");
        p.step();
    }
    assert!(p.got_b == data);
}

#[test]
fn delayed_ack_waits_for_a_second_segment_or_the_timer() {
    let mut p = Pair::new();
    p.established();
    // Warm up: the first reads let b advertise its whole buffer (the SYN
    // could only say 64 KiB), which is worth a window update of its own.
    transfer(&mut p, b"warm-up", b"", Duration::from_secs(1));
    assert!(p.run_until(Duration::from_secs(1), |p| p.wire.is_empty()
        && p.b.poll_timeout().is_none()));
    p.log.clear();
    p.a.write(b"one small segment").unwrap();
    p.flush();
    let sent_at = p.now;
    assert!(p.run_until(Duration::from_secs(1), |p| p.log.iter().any(|l| !l.0)));
    let acked_at = p.now;
    // Arrives 10 ms after sending, ACKed 40 ms later.
    assert_eq!(
        acked_at.saturating_duration_since(sent_at),
        Duration::from_millis(50)
    );
    // Two full-sized segments are acknowledged at once.
    p.log.clear();
    p.a.write(&pattern(2 * 1448)).unwrap();
    p.flush();
    let sent_at = p.now;
    assert!(p.run_until(Duration::from_secs(1), |p| p.log.iter().any(|l| !l.0)));
    assert_eq!(
        p.now.saturating_duration_since(sent_at),
        Duration::from_millis(10)
    );
}

#[test]
fn nagle_holds_small_segments_unless_nodelay() {
    let mut p = Pair::new();
    p.established();
    p.log.clear();
    p.a.write(b"a").unwrap();
    p.flush();
    p.a.write(b"b").unwrap();
    p.flush();
    let data_segments = p.log.iter().filter(|l| l.0 && l.4 > 0).count();
    assert_eq!(
        data_segments, 1,
        "the second byte waits for the first's ACK"
    );
    p.a.set_nodelay(true);
    p.a.write(b"c").unwrap();
    p.flush();
    let data_segments = p.log.iter().filter(|l| l.0 && l.4 > 0).count();
    assert_eq!(data_segments, 2);
    assert!(p.run_until(Duration::from_secs(1), |p| p.got_b == b"abc"));
}

#[test]
fn out_of_order_data_is_sacked() {
    let mut p = Pair::new();
    p.established();
    // Drop the first data segment only.
    p.filter = |to_b, seg, n| {
        if to_b && !seg.payload.is_empty() && *n == 0 {
            *n = 1;
            return Fate::Drop;
        }
        Fate::Deliver
    };
    p.a.set_nodelay(true);
    p.a.write(&pattern(5 * 1448)).unwrap();
    p.flush();
    p.step();
    let sack = p.b.sack_blocks(true);
    assert_eq!(sack.len(), 1);
    let base = p.b.rcv.nxt;
    assert_eq!(
        sack.as_slice()[0],
        SackBlock {
            left: base + 1448u32,
            right: base + 5u32 * 1448
        }
    );
}

#[test]
fn keepalive_detects_a_dead_peer() {
    let ka = Config {
        keepalive: Some(Keepalive {
            idle: Duration::from_secs(60),
            interval: Duration::from_secs(10),
            probes: 3,
        }),
        ..Config::default()
    };
    let mut p = Pair::with_configs(&ka, &Config::default(), SeqNumber(1));
    p.established();
    // A live peer answers probes: still up after an hour.
    let start = p.now;
    let died = p.run_until(Duration::from_secs(3600), |p| {
        p.a.state() != State::Established
    });
    assert!(
        !died,
        "died after {} with {:?}: {:?}",
        p.now.saturating_duration_since(start),
        p.a.close_reason,
        &p.log[p.log.len().saturating_sub(8)..]
    );
    assert!(p.a.stats().window_probes > 0);
    // The peer vanishes.
    p.filter = |_, _, _| Fate::Drop;
    assert!(p.run_until(Duration::from_secs(200), |p| p.a.state() == State::Closed));
    assert_eq!(p.a.close_reason(), Some(CloseReason::TimedOut));
}

#[test]
fn user_timeout_fails_a_stuck_connection() {
    let ut = Config {
        user_timeout: Some(Duration::from_secs(5)),
        ..Config::default()
    };
    let mut p = Pair::with_configs(&ut, &Config::default(), SeqNumber(1));
    p.established();
    p.filter = |to_b, _, _| if to_b { Fate::Drop } else { Fate::Deliver };
    p.a.write(b"never acknowledged").unwrap();
    let start = p.now;
    assert!(p.run_until(Duration::from_secs(30), |p| p.a.state() == State::Closed));
    assert_eq!(p.a.close_reason(), Some(CloseReason::TimedOut));
    let took = p.now.saturating_duration_since(start);
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(6),
        "{took}"
    );
}

#[test]
fn half_open_connection_is_detected() {
    // RFC 9293 Figure 11: b crashed and lost its state; a sends data and
    // learns of it from the reset.
    let mut p = Pair::new();
    p.established();
    p.b = Connection::new(&Config::default(), FourTuple::new(B_ADDR, A_ADDR), p.now);
    p.a.write(b"anyone there?").unwrap();
    assert!(p.run_until(Duration::from_secs(5), |p| p.a.state() == State::Closed));
    assert_eq!(p.a.close_reason(), Some(CloseReason::Reset));
}

#[test]
fn old_duplicate_syn_is_recovered_from() {
    // RFC 9293 Figure 8: an old SYN reaches the listener first; its
    // SYN-ACK is answered with a reset and the listener returns to LISTEN.
    let mut p = Pair::new();
    let old_syn = TcpRepr {
        src_port: A_ADDR.port(),
        dst_port: B_ADDR.port(),
        seq: SeqNumber(90_000),
        flags: TcpFlags::SYN,
        window: 1000,
        ..TcpRepr::default()
    };
    p.inject(true, &old_syn);
    assert_eq!(p.b.state(), State::SynReceived);
    // a's own SYN goes out; the listener's SYN-ACK for the old one reaches
    // a in SYN-SENT with an unacceptable ACK, so a resets it.
    p.established();
    assert!(
        p.log
            .iter()
            .any(|l| !l.0 && l.1 == TcpFlags::SYN | TcpFlags::ACK)
    );
    assert!(p.log.iter().any(|l| l.0 && l.1.contains(TcpFlags::RST)));
    transfer(&mut p, b"fine", b"ok", Duration::from_secs(5));
}

#[test]
fn api_misuse_is_a_typed_error() {
    let now = Instant::from_secs(1);
    let mut l = Connection::listen(&Config::default(), B_ADDR, isn(), now);
    assert_eq!(l.write(b"x"), Err(Error::InvalidState(State::Listen)));
    let mut buf = [0u8; 4];
    assert_eq!(
        l.read(now, &mut buf),
        Err(Error::InvalidState(State::Listen))
    );
    let v6 = SocketAddr::new(IpAddr::V6(core::net::Ipv6Addr::LOCALHOST), 1);
    assert_eq!(
        Connection::connect(
            &Config::default(),
            FourTuple::new(A_ADDR, v6),
            SeqNumber(1),
            now
        )
        .err(),
        Some(Error::AddressFamilyMismatch)
    );
    let mut p = Pair::new();
    p.established();
    assert_eq!(p.a.read(p.now, &mut buf), Err(Error::WouldBlock));
    p.a.shutdown().unwrap();
    assert_eq!(p.a.write(b"x"), Err(Error::SendClosed));
}

#[test]
fn garbage_segments_never_panic_and_are_counted() {
    let mut p = Pair::new();
    p.established();
    let mut x: u32 = 99;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for _ in 0..5000 {
        let flags = TcpFlags::from_bits_truncate((next() & 0x3f) as u16);
        let near = p.a.rcv.nxt + (next() % 200_000);
        let seq = if next() % 2 == 0 {
            near
        } else {
            SeqNumber(next())
        };
        let ack = if next() % 2 == 0 {
            p.a.snd.nxt - (next() % 100)
        } else {
            SeqNumber(next())
        };
        let payload = pattern((next() % 100) as usize);
        let seg = TcpRepr {
            src_port: B_ADDR.port(),
            dst_port: A_ADDR.port(),
            seq,
            ack,
            flags,
            window: next() as u16,
            payload: &payload,
            options: TcpOptions {
                timestamps: (next() % 4 != 0).then(|| Timestamps {
                    value: next(),
                    echo_reply: next(),
                }),
                ..TcpOptions::default()
            },
            ..TcpRepr::default()
        };
        p.inject(false, &seg);
        p.flush();
        let a = &p.a;
        assert!(a.snd.una <= a.snd.nxt && a.snd.nxt <= a.snd.max);
        if a.state == State::Closed {
            break;
        }
    }
    let s = p.a.stats();
    assert!(s.drops.total() > 0);
    assert!(s.segments_received >= s.drops.total());
}

#[test]
fn time_wait_answers_a_retransmitted_fin_and_restarts() {
    let mut p = Pair::new();
    p.established();
    p.a.close(p.now).unwrap();
    assert!(p.run_until(Duration::from_secs(1), |p| p.b.state() == State::CloseWait));
    p.b.close(p.now).unwrap();
    // Lose a's final ACK: b resends its FIN after an RTO.
    p.filter = |to_b, seg, n| {
        if to_b && *n == 0 && seg.flags == TcpFlags::ACK {
            *n = 1;
            return Fate::Drop;
        }
        Fate::Deliver
    };
    assert!(p.run_until(Duration::from_secs(1), |p| p.a.state() == State::TimeWait));
    let entered = p.now;
    assert!(p.run_until(Duration::from_secs(5), |p| p.b.state() == State::Closed));
    assert_eq!(p.b.close_reason(), Some(CloseReason::Normal));
    let refin = p.now;
    assert!(
        refin > entered + Duration::from_millis(100),
        "b needed its retransmission"
    );
    // a's wait restarted when the FIN came again.
    let until = p.a.poll_timeout().unwrap();
    assert!(
        until >= refin + Duration::from_secs(59),
        "TIME-WAIT restarted"
    );
}

#[test]
fn the_first_timeout_resends_the_head_although_the_window_is_full() {
    // Everything a sends is lost, so the retransmission timer fires with
    // a full window in flight. F-RTO marks only the head lost; its resend
    // is the timeout's own (RFC 6298 §5.4, RFC 5682 §2.1 step 1) and must
    // not wait for the collapsed window to cover the rest of the flight.
    let mut p = Pair::new();
    p.established();
    p.filter = |to_b, seg, _| {
        if to_b && !seg.payload.is_empty() {
            Fate::Drop
        } else {
            Fate::Deliver
        }
    };
    let data = pattern(20 * 1448);
    let mut sent = 0;
    Pair::feed(&mut p.a, &data, &mut sent);
    let head = p.a.snd.una;
    let head_sends = |p: &Pair| {
        p.log
            .iter()
            .filter(|l| l.0 && l.2 == head && l.4 > 0)
            .count()
    };
    assert!(p.run_until(Duration::from_secs(30), |p| {
        head_sends(p) >= 2 || p.a.stats().timeouts >= 2
    }));
    assert_eq!(
        p.a.stats().timeouts,
        1,
        "the head was not resent until a second timeout"
    );
    assert_eq!(head_sends(&p), 2);
}

/// The SACK blocks of the last segment a sent.
fn last_sack_from_a(p: &Pair) -> Vec<SackBlock> {
    let sent = p.wire.iter().rev().find(|s| s.to_b).expect("a sent an ACK");
    let seg = TcpRepr::parse_bytes(&sent.bytes, &addrs(A_ADDR, B_ADDR), ChecksumMode::Full)
        .expect("emitted segments parse");
    seg.options.sack.as_slice().to_vec()
}

#[test]
fn old_duplicates_are_answered_with_a_dsack_at_once() {
    // RFC 2883: a duplicate of data already received is reported with a
    // D-SACK block, whether it fails the window test (the original came
    // first) or PAWS (a resend came first and moved TS.Recent on), and
    // every one is answered: data segments are no ACK loop, so the
    // challenge-ACK limit does not apply.
    let mut p = Pair::new();
    p.established();
    transfer(&mut p, b"", b"0123456789", Duration::from_secs(1));
    let seq = p.b.snd.nxt - 10u32;
    for i in 0..20 {
        let mut seg = from_b(&p, TcpFlags::ACK | TcpFlags::PSH, -10, b"0123456789");
        if i % 2 == 1 {
            let ts = seg.options.timestamps.as_mut().unwrap();
            ts.value = p.a.ts.recent.wrapping_sub(5);
        }
        p.inject(false, &seg);
        p.wire.clear();
        p.flush();
        assert_eq!(
            last_sack_from_a(&p).first(),
            Some(&SackBlock {
                left: seq,
                right: seq + 10u32
            }),
            "duplicate {i}"
        );
    }
    assert_eq!(p.got_a, b"0123456789");
}

#[test]
fn frto_falls_back_when_nagle_holds_the_only_new_data() {
    // RFC 5682 §2.1 step 2b probes with new data, and says to fall back
    // to conventional recovery when none can be sent. Here the only unsent
    // byte is a small tail Nagle holds while data is in flight: the first
    // ACK after the timeout must lead to resending the rest of the flight
    // at once, not to waiting for a second ACK until the next timeout.
    let no_sack = Config {
        sack: false,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&no_sack, &no_sack, SeqNumber(1000));
    p.established();
    // Every full segment is lost the first time it is sent; resends and
    // the one-byte tail pass.
    p.filter = |to_b, seg, state| {
        if !to_b || seg.payload.len() < 1448 {
            return Fate::Deliver;
        }
        let seen = *state >> 32 == 1;
        let max = SeqNumber(*state as u32);
        if !seen || seg.seq > max {
            *state = (1 << 32) | u64::from(seg.seq.0);
            return Fate::Drop;
        }
        Fate::Deliver
    };
    let data = pattern(10 * 1448 + 1);
    transfer(&mut p, &data, &[], Duration::from_secs(30));
    assert_eq!(
        p.a.stats().timeouts,
        1,
        "the flight waited for a second timeout: {:?}",
        p.a.stats()
    );
}
