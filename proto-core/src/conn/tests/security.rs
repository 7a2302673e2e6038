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

/// The forms of a spoofed segment that passes PAWS and the sequence test
/// (SEG.SEQ = RCV.NXT ≤ Last.ACK.sent, TSval far ahead) and is then
/// refused: each must leave TS.Recent alone, or every later real segment
/// would fail PAWS and the connection would freeze.
#[derive(Clone, Copy, Debug)]
enum Spoof {
    /// Acknowledges data never sent (RFC 9293 §3.10.7.4).
    AckOfUnsent,
    /// Acknowledges older than SND.UNA − MAX.SND.WND (RFC 5961 §5.2).
    AckTooOld,
    /// A SYN on a synchronized connection (RFC 5961 §4).
    Syn,
    /// Data straddling the window's left edge (old bytes, then new ones),
    /// with an ACK of unsent data.
    StraddlingData,
}

fn spoofed_segment_leaves_ts_recent_alone(form: Spoof) {
    let mut p = Pair::new();
    p.established();
    transfer(&mut p, b"hello", b"world", Duration::from_secs(1));
    // Let the delayed ACKs go out: then Last.ACK.sent = RCV.NXT, and a
    // segment at RCV.NXT is one whose TSval RFC 7323 §4.3 would record.
    p.run_until(Duration::from_millis(300), |_| false);
    assert_eq!(p.a.ts.last_ack_sent, p.a.rcv.nxt);
    let recent = p.a.ts.recent;
    let (flags, seq_offset, payload): (TcpFlags, i64, &[u8]) = match form {
        Spoof::AckOfUnsent | Spoof::AckTooOld => (TcpFlags::ACK | TcpFlags::PSH, 0, b"evil"),
        Spoof::Syn => (TcpFlags::SYN, 0, &[]),
        Spoof::StraddlingData => (TcpFlags::ACK | TcpFlags::PSH, -3, b"old+new"),
    };
    let mut seg = from_b(&p, flags, seq_offset, payload);
    seg.options.timestamps = Some(Timestamps {
        value: recent.wrapping_add(1 << 30),
        echo_reply: 0,
    });
    match form {
        Spoof::AckOfUnsent | Spoof::StraddlingData => seg.ack = p.a.snd.max + 100_000u32,
        Spoof::AckTooOld => seg.ack = p.a.snd.una - (1u32 << 31),
        Spoof::Syn => {}
    }
    let drops_before = p.a.stats().drops.total();
    p.inject(false, &seg);
    assert!(
        p.a.stats().drops.total() > drops_before,
        "{form:?}: the spoofed segment was refused"
    );
    assert_eq!(p.a.ts.recent, recent, "{form:?} moved TS.Recent");
    assert_eq!(p.a.state(), State::Established);
    // The real peer's next segments still pass PAWS, both ways.
    let paws_before = p.a.stats().drops.get(DropReason::Paws);
    p.got_a.clear();
    p.got_b.clear();
    transfer(
        &mut p,
        &pattern(20_000),
        &pattern(30_000),
        Duration::from_secs(5),
    );
    assert_eq!(p.a.stats().drops.get(DropReason::Paws), paws_before);
}

#[test]
fn a_refused_ack_of_unsent_data_does_not_move_ts_recent() {
    spoofed_segment_leaves_ts_recent_alone(Spoof::AckOfUnsent);
}

#[test]
fn a_refused_old_ack_does_not_move_ts_recent() {
    spoofed_segment_leaves_ts_recent_alone(Spoof::AckTooOld);
}

#[test]
fn a_challenged_syn_does_not_move_ts_recent() {
    spoofed_segment_leaves_ts_recent_alone(Spoof::Syn);
}

#[test]
fn refused_data_across_the_left_edge_does_not_move_ts_recent() {
    spoofed_segment_leaves_ts_recent_alone(Spoof::StraddlingData);
}

#[test]
fn an_accepted_segment_still_moves_ts_recent() {
    let mut p = Pair::new();
    p.established();
    transfer(&mut p, b"hello", b"", Duration::from_secs(1));
    let recent = p.a.ts.recent;
    let mut seg = from_b(&p, TcpFlags::ACK, 0, &[]);
    seg.options.timestamps = Some(Timestamps {
        value: recent.wrapping_add(5),
        echo_reply: 0,
    });
    p.inject(false, &seg);
    assert_eq!(p.a.ts.recent, recent.wrapping_add(5));
}

/// The sizes of the data segments `conn` emits for `len` written bytes.
fn data_segment_sizes(conn: &mut Connection, now: Instant, len: usize) -> Vec<usize> {
    conn.set_nodelay(true);
    assert_eq!(conn.write(&vec![7; len]), Ok(len));
    let mut buf = vec![0u8; 1600];
    let mut sizes = Vec::new();
    while let Some(t) = conn.poll_transmit(now, &mut buf) {
        let addrs = t.tuple.outgoing_addrs().unwrap();
        let seg = TcpRepr::parse_bytes(&buf[..t.len], &addrs, ChecksumMode::Full).unwrap();
        if !seg.payload.is_empty() {
            sizes.push(seg.payload.len());
        }
    }
    sizes
}

/// The sequence number and TSval of an emitted segment.
fn seq_and_tsval(bytes: &[u8], src: SocketAddr, dst: SocketAddr) -> (SeqNumber, u32) {
    let seg = TcpRepr::parse_bytes(bytes, &addrs(src, dst), ChecksumMode::Full).unwrap();
    (seg.seq, seg.options.timestamps.expect("timestamps").value)
}

/// A peer that announces MSS 0 or 1 gets segments of Linux's 48-byte
/// floor (36 payload bytes after the timestamps), not one byte each: in
/// its SYN (passive open) and in its SYN-ACK (active open).
#[test]
fn a_tiny_mss_from_the_peer_is_raised_to_the_floor() {
    for tiny in [0u16, 1] {
        // In a SYN.
        let now = Instant::from_secs(1);
        let mut b = Connection::listen(&Config::default(), B_ADDR, isn(), now).unwrap();
        let syn = syn_with(TcpOptions {
            mss: Some(tiny),
            timestamps: Some(Timestamps {
                value: 1,
                echo_reply: 0,
            }),
            window_scale: Some(7),
            ..TcpOptions::default()
        });
        b.handle_segment(now, &addrs(A_ADDR, B_ADDR), &syn);
        let mut buf = vec![0u8; 1600];
        let t = b.poll_transmit(now, &mut buf).expect("SYN-ACK");
        let synack = seq_and_tsval(&buf[..t.len], B_ADDR, A_ADDR);
        assert_eq!(b.negotiated().peer_mss, tiny);
        assert_eq!(b.stats().mss, 36, "MSS {tiny} in a SYN");
        let ack = TcpRepr {
            src_port: A_ADDR.port(),
            dst_port: B_ADDR.port(),
            seq: SeqNumber(4243),
            ack: synack.0 + 1u32,
            flags: TcpFlags::ACK,
            window: 1000,
            options: TcpOptions {
                timestamps: Some(Timestamps {
                    value: 2,
                    echo_reply: synack.1,
                }),
                ..TcpOptions::default()
            },
            ..TcpRepr::default()
        };
        b.handle_segment(now, &addrs(A_ADDR, B_ADDR), &ack);
        assert_eq!(b.state(), State::Established);
        let sizes = data_segment_sizes(&mut b, now, 1000);
        assert!(sizes.iter().all(|&s| s == 36), "{sizes:?}");

        // In a SYN-ACK.
        let mut a = Connection::connect(
            &Config::default(),
            FourTuple::new(A_ADDR, B_ADDR),
            SeqNumber(1000),
            now,
        )
        .unwrap();
        let t = a.poll_transmit(now, &mut buf).expect("SYN");
        let syn = seq_and_tsval(&buf[..t.len], A_ADDR, B_ADDR);
        let synack = TcpRepr {
            src_port: B_ADDR.port(),
            dst_port: A_ADDR.port(),
            seq: SeqNumber(77),
            ack: syn.0 + 1u32,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            window: 65535,
            options: TcpOptions {
                mss: Some(tiny),
                timestamps: Some(Timestamps {
                    value: 9,
                    echo_reply: syn.1,
                }),
                ..TcpOptions::default()
            },
            ..TcpRepr::default()
        };
        a.handle_segment(now, &addrs(B_ADDR, A_ADDR), &synack);
        assert_eq!(a.state(), State::Established);
        assert_eq!(a.stats().mss, 36, "MSS {tiny} in a SYN-ACK");
        let sizes = data_segment_sizes(&mut a, now, 1000);
        assert!(sizes.iter().all(|&s| s == 36), "{sizes:?}");
    }
}

#[test]
fn a_listening_connection_discards_syn_with_fin() {
    let now = Instant::from_secs(1);
    let mut b = Connection::listen(&Config::default(), B_ADDR, isn(), now).unwrap();
    let mut syn_fin = syn_with(TcpOptions::default());
    syn_fin.flags = TcpFlags::SYN | TcpFlags::FIN;
    b.handle_segment(now, &addrs(A_ADDR, B_ADDR), &syn_fin);
    assert_eq!(b.state(), State::Listen);
    assert_eq!(b.stats().drops.get(DropReason::InvalidForState), 1);
    let mut buf = vec![0u8; 100];
    assert!(b.poll_transmit(now, &mut buf).is_none());
}
