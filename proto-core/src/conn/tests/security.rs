//! Robustness: RFC 5961 blind injection, PAWS, garbage segments.

use super::harness::*;

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
    const ROUNDS: usize = if cfg!(miri) { 200 } else { 5000 };
    for _ in 0..ROUNDS {
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
fn a_reset_carrying_data_is_accepted() {
    // RFC 9293 §3.5.3 (SHLD-2): a RST may carry data (a diagnostic); it
    // is processed like any other RST at RCV.NXT.
    let mut p = Pair::new();
    p.established();
    let seg = from_b(&p, TcpFlags::RST, 0, b"connection reset: diagnostic text");
    p.inject(false, &seg);
    assert_eq!(p.a.close_reason(), Some(CloseReason::Reset));
    assert!(p.got_a.is_empty(), "the RST's data is not delivered");
}
