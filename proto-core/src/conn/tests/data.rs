//! Data transfer and acknowledgments: byte-exact delivery, delayed ACK, Nagle, PSH, SACK, D-SACK.

use super::harness::*;

#[test]
fn bulk_transfer_both_ways_is_byte_exact() {
    let mut p = Pair::new();
    p.established();
    let (there, back) = if cfg!(miri) {
        (20_000, 5_000)
    } else {
        (3_000_000, 1_000_000)
    };
    transfer(
        &mut p,
        &pattern(there),
        &pattern(back),
        Duration::from_secs(60),
    );
    assert_eq!(p.a.stats().retransmitted_segments, 0);
    assert_eq!(p.a.stats().drops.total(), 0);
    assert_eq!(p.b.stats().drops.total(), 0);
}

#[test]
fn transfer_across_the_sequence_wrap() {
    // Under Miri the wrap comes sooner and the transfer is shorter.
    let (before_wrap, len) = if cfg!(miri) {
        (5_000, 20_000)
    } else {
        (50_000, 500_000)
    };
    let mut p = Pair::with_configs(
        &Config::default(),
        &Config::default(),
        SeqNumber(u32::MAX - before_wrap),
    );
    p.established();
    let data = pattern(len);
    transfer(&mut p, &data, &[], Duration::from_secs(30));
    assert!(p.a.snd.una.0 < 1_000_000, "SND.UNA wrapped past zero");
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
fn data_that_fills_the_window_is_acked_at_once() {
    // A receive buffer under two segments whose reader is away: the
    // sender can never send the second full-sized segment that would
    // trigger an ACK, so the ACK must not wait for the delayed-ACK timer
    // (Linux ACKs at once too; found against it over TUN).
    let mut p = a_not_reading(2048, SeqNumber(1000));
    p.log.clear();
    p.b.write(&pattern(2048)).unwrap();
    p.flush();
    let sent_at = p.now;
    assert!(p.run_until(Duration::from_secs(1), |p| p.log.iter().any(|l| l.0)));
    // 10 ms on the harness's wire, and no 40 ms delay on top.
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
    p.set_filter(|to_b, seg, n| {
        if to_b && !seg.payload.is_empty() && *n == 0 {
            *n = 1;
            return Fate::Drop;
        }
        Fate::Deliver
    });
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
fn psh_marks_the_last_queued_segment() {
    // RFC 9293 §3.9.1.2 (MUST-61): no PUSH flag on write(), so the segment
    // that empties the queue carries PSH; the ones before it do not.
    let mut p = Pair::new();
    p.established();
    p.a.set_nodelay(true);
    p.a.write(&pattern(3 * 1448 + 100)).unwrap();
    let mut buf = vec![0u8; 1500];
    let mut psh = Vec::new();
    while let Some(t) = p.a.poll_transmit(p.now, &mut buf) {
        let seg = TcpRepr::parse_bytes(&buf[..t.len], &addrs(A_ADDR, B_ADDR), ChecksumMode::Full)
            .unwrap();
        psh.push((seg.payload.len(), seg.flags.contains(TcpFlags::PSH)));
    }
    assert_eq!(
        psh,
        [(1448, false), (1448, false), (1448, false), (100, true)]
    );
}

#[test]
fn acks_are_aggregated_over_queued_segments() {
    // RFC 9293 §3.10.7.4 (MUST-58, MUST-59): segments handed in together
    // are all processed before one ACK goes out.
    let mut p = Pair::new();
    p.established();
    p.b.set_nodelay(true);
    p.b.write(&pattern(3 * 1448)).unwrap();
    let mut buf = vec![0u8; 1500];
    let mut queued = Vec::new();
    while let Some(t) = p.b.poll_transmit(p.now, &mut buf) {
        queued.push(buf[..t.len].to_vec());
    }
    assert_eq!(queued.len(), 3);
    for bytes in &queued {
        p.deliver(false, bytes);
    }
    let mut acks = Vec::new();
    while let Some(t) = p.a.poll_transmit(p.now, &mut buf) {
        let seg = TcpRepr::parse_bytes(&buf[..t.len], &addrs(A_ADDR, B_ADDR), ChecksumMode::Full)
            .unwrap();
        acks.push(seg.ack);
    }
    assert_eq!(acks, [p.a.rcv.nxt], "one ACK covering all three segments");
}

#[test]
fn an_old_duplicate_is_reported_with_dsack() {
    let mut p = Pair::new();
    p.established();
    transfer(&mut p, &[], b"first bytes", Duration::from_secs(1));
    // b's segment arrives again, entirely below RCV.NXT.
    let seg = from_b(&p, TcpFlags::ACK | TcpFlags::PSH, -11, b"first bytes");
    p.inject(false, &seg);
    assert_eq!(p.a.dsack, Some((seg.seq, seg.seq + 11u32)));
    assert_eq!(p.a.sack_blocks(true).as_slice()[0].left, seg.seq);
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
