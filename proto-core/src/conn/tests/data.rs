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
    // could only say 64 KiB), which is worth a window update of its own,
    // and the first 16 data segments use up b's quick-ack quota.
    transfer(&mut p, &pattern(40 * 1448), b"", Duration::from_secs(1));
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
fn queued_segments_are_all_taken_in_and_answered_by_two_acks() {
    // RFC 9293 §3.10.7.4 (MUST-59): every segment handed in is processed
    // before any ACK goes out. The first pair gets an ACK of its own, as it
    // stood when the pair arrived; the rest share one ACK (MUST-58). Two
    // ACKs, so one lost on the way does not leave the sender waiting.
    for batch in [2u32, 5, 8] {
        let mut p = Pair::new();
        p.established();
        // Warm up: a's quick-ack quota (every segment ACKed) is spent.
        transfer(&mut p, b"", &pattern(40 * 1448), Duration::from_secs(1));
        assert!(p.run_until(Duration::from_secs(1), |p| p.wire.is_empty()
            && p.a.poll_timeout().is_none()));
        p.b.set_nodelay(true);
        p.b.write(&pattern(batch as usize * 1448)).unwrap();
        let mut buf = vec![0u8; 1500];
        let mut queued = Vec::new();
        while let Some(t) = p.b.poll_transmit(p.now, &mut buf) {
            queued.push(buf[..t.len].to_vec());
        }
        assert_eq!(queued.len(), batch as usize);
        let start = p.a.rcv.nxt;
        for bytes in &queued {
            p.deliver(false, bytes);
        }
        assert_eq!(p.a.rcv.nxt, start + batch * 1448, "all taken in first");
        let mut acks = Vec::new();
        while let Some(t) = p.a.poll_transmit(p.now, &mut buf) {
            let seg =
                TcpRepr::parse_bytes(&buf[..t.len], &addrs(A_ADDR, B_ADDR), ChecksumMode::Full)
                    .unwrap();
            acks.push(seg.ack);
        }
        let expected = if batch == 2 {
            vec![start + 2 * 1448u32]
        } else {
            vec![start + 2 * 1448u32, start + batch * 1448]
        };
        assert_eq!(acks, expected, "a batch of {batch}");
        // Everything is acknowledged: no delayed ACK is left.
        assert_eq!(p.a.poll_timeout(), None, "a batch of {batch}");
    }
}

#[test]
fn an_old_duplicate_is_reported_with_dsack() {
    let mut p = Pair::new();
    p.established();
    transfer(&mut p, &[], b"first bytes", Duration::from_secs(1));
    // b's segment arrives again, entirely below RCV.NXT.
    let seg = from_b(&p, TcpFlags::ACK | TcpFlags::PSH, -11, b"first bytes");
    p.inject(false, &seg);
    let acks = acks_from_a(&mut p);
    assert_eq!(acks.len(), 1, "{acks:?}");
    assert_eq!(acks[0].ack, p.a.rcv.nxt);
    assert_eq!(
        acks[0].sack,
        [SackBlock {
            left: seg.seq,
            right: seg.seq + 11u32
        }]
    );
}

/// One segment a sent, as the tests below look at it.
#[derive(Debug)]
struct SentAck {
    ack: SeqNumber,
    window: u16,
    payload: usize,
    sack: Vec<SackBlock>,
}

/// Everything a sends now, in order, taken off the wire.
fn acks_from_a(p: &mut Pair) -> Vec<SentAck> {
    p.transmit(true)
        .iter()
        .map(|bytes| {
            let seg = TcpRepr::parse_bytes(bytes, &addrs(A_ADDR, B_ADDR), ChecksumMode::Full)
                .expect("emitted segments parse");
            SentAck {
                ack: seg.ack,
                window: seg.window,
                payload: seg.payload.len(),
                sack: seg.options.sack.as_slice().to_vec(),
            }
        })
        .collect()
}

#[test]
fn each_out_of_order_segment_of_a_batch_gets_its_own_ack() {
    // RFC 5681 §4.2: every out-of-order segment is answered by an
    // immediate duplicate ACK, also when the host hands in a whole batch
    // before it transmits; each carries the SACK blocks as they stood when
    // its segment arrived (RFC 2018 §4: first the block holding it).
    let mut p = Pair::new();
    p.established();
    let base = p.a.rcv.nxt;
    const LEN: usize = 1000;
    let data = pattern(65 * LEN);
    let segment = |p: &Pair, i: usize| {
        from_b(
            p,
            TcpFlags::ACK,
            (i * LEN) as i64,
            &data[i * LEN..(i + 1) * LEN],
        )
    };
    // Segment 0 is lost; the 64 behind it come in one batch.
    for i in 1..=64 {
        p.inject(false, &segment(&p, i));
    }
    let acks = acks_from_a(&mut p);
    assert_eq!(acks.len(), 64, "one ACK per out-of-order segment");
    for (i, a) in acks.iter().enumerate() {
        assert_eq!((a.ack, a.payload), (base, 0), "ACK {i}");
        assert_eq!(
            a.sack,
            [SackBlock {
                left: base + LEN as u32,
                right: base + ((i + 2) * LEN) as u32,
            }],
            "ACK {i}"
        );
        // Duplicates to a sender that counts them: same window too.
        assert_eq!(a.window, acks[0].window, "ACK {i}");
    }
    // The hole fills: one ACK, of everything.
    p.inject(false, &segment(&p, 0));
    let acks = acks_from_a(&mut p);
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].ack, base + (65 * LEN) as u32);
    assert!(acks[0].sack.is_empty());
    assert_eq!(p.a.owed_acks.len(), 0);
    assert_eq!(p.a.owed_acks.allocated(), 0, "the queue's storage is freed");
}

#[test]
fn acks_of_a_batch_keep_each_segments_numbers_and_blocks() {
    // Segments 0, 2 and 4 are late; 5, 3, 1 arrive, then 0, 2, 4 fill the
    // holes, all before a transmits: six ACKs, each as it would have left
    // had a answered every segment on its own.
    let mut p = Pair::new();
    p.established();
    let base = p.a.rcv.nxt;
    const LEN: u32 = 500;
    let data = pattern(6 * LEN as usize);
    let at = |k: u32| base + k * LEN;
    let block = |k: u32| SackBlock {
        left: at(k),
        right: at(k + 1),
    };
    for k in [5u32, 3, 1, 0, 2, 4] {
        let bytes = &data[(k * LEN) as usize..((k + 1) * LEN) as usize];
        let seg = from_b(&p, TcpFlags::ACK, i64::from(k * LEN), bytes);
        p.inject(false, &seg);
    }
    let acks = acks_from_a(&mut p);
    let got: Vec<(SeqNumber, Vec<SackBlock>)> =
        acks.iter().map(|a| (a.ack, a.sack.clone())).collect();
    let expected = vec![
        (at(0), vec![block(5)]),
        (at(0), vec![block(3), block(5)]),
        (at(0), vec![block(1), block(3), block(5)]),
        (at(2), vec![block(3), block(5)]),
        (at(4), vec![block(5)]),
        (at(6), vec![]),
    ];
    assert_eq!(got, expected);
    // Every one shows the same right edge (to within a scale unit), so no
    // ACK with an older number seems to shrink the window.
    let unit = 1u32 << p.a.negotiated().rcv_shift;
    let edges: Vec<SeqNumber> = acks
        .iter()
        .map(|a| a.ack + (u32::from(a.window) << p.a.negotiated().rcv_shift))
        .collect();
    let right = edges[edges.len() - 1];
    assert!(
        edges.iter().all(|&e| e <= right && e + unit > right),
        "{edges:?}"
    );
    assert_eq!(p.a.rcv.nxt, at(6));
}

#[test]
fn data_sent_meanwhile_does_not_stand_in_for_owed_duplicate_acks() {
    // A segment with data is no duplicate ACK to the sender (RFC 5681
    // §2): a's own data, ready in the same turn, goes after the owed
    // duplicates and carries the current acknowledgment.
    let mut p = Pair::new();
    p.established();
    p.a.set_nodelay(true);
    let base = p.a.rcv.nxt;
    for i in 1..=3i64 {
        let seg = from_b(&p, TcpFlags::ACK, i * 100, &[7; 100]);
        p.inject(false, &seg);
    }
    p.a.write(b"reply").unwrap();
    let acks = acks_from_a(&mut p);
    let shape: Vec<(SeqNumber, usize)> = acks.iter().map(|a| (a.ack, a.payload)).collect();
    assert_eq!(shape, [(base, 0), (base, 0), (base, 0), (base, 5)]);
}

#[test]
fn an_in_order_segment_after_owed_acks_is_acknowledged_by_the_current_ack() {
    // The owed ACKs go out as they stood; an in-order segment handed in
    // after them may still wait for the delayed-ACK rules, and the
    // cumulative ACK that covers it carries the current numbers.
    let no_quick_acks = Config {
        max_quick_acks: 0,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&no_quick_acks, &Config::default(), SeqNumber(1000));
    p.established();
    let base = p.a.rcv.nxt;
    // 1 then 0 (fills the hole, owed), then 2 in order: not owed.
    for k in [1i64, 0, 2] {
        let seg = from_b(&p, TcpFlags::ACK, k * 100, &[7; 100]);
        p.inject(false, &seg);
    }
    let acks = acks_from_a(&mut p);
    let shape: Vec<SeqNumber> = acks.iter().map(|a| a.ack).collect();
    assert_eq!(shape, [base, base + 200u32]);
    assert!(p.a.timers.delayed_ack.is_some(), "segment 2 waits");
    p.now = p.a.timers.delayed_ack.unwrap();
    p.a.handle_timeout(p.now);
    let acks = acks_from_a(&mut p);
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].ack, base + 300u32);
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

/// a writes `data` once the wire is quiet; returns how long after the
/// write b's first segment left (its ACK).
fn ack_delay(p: &mut Pair, data: &[u8]) -> Duration {
    assert!(p.run_until(Duration::from_secs(1), |p| p.wire.is_empty()));
    p.log.clear();
    p.a.write(data).unwrap();
    p.flush();
    let sent_at = p.now;
    assert!(p.run_until(Duration::from_secs(1), |p| p.log.iter().any(|l| !l.0)));
    p.now.saturating_duration_since(sent_at)
}

#[test]
fn quick_acks_at_start_and_after_idle_delayed_acks_between() {
    // Linux's quick-ack mode: the first data segments of a connection are
    // acknowledged at once (a quota of min(16, window / (2·MSS))), then
    // the delayed-ACK rules apply (RFC 9293 §3.8.6.3); after the receiver
    // idled longer than an RTO, quick ACKs again.
    // A receive buffer the SYN-ACK can advertise whole, so no window
    // update rides on the first reads.
    let b_config = Config {
        recv_buffer: 60_000,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&Config::default(), &b_config, SeqNumber(1000));
    p.established();
    let wire = p.delay;
    let delayed = wire + Config::default().delayed_ack;
    // One small segment at connection start (a Nagle sender would wait
    // for this ACK before its next one): no delay but the wire's.
    assert_eq!(ack_delay(&mut p, b"hello"), wire);
    // b advertised 60,000 bytes: 20 segments' worth of half-window, so
    // the quota is the cap, 16; one is spent.
    for i in 1..16 {
        assert_eq!(ack_delay(&mut p, b"small"), wire, "segment {i}");
    }
    for i in 16..20 {
        assert_eq!(ack_delay(&mut p, b"small"), delayed, "segment {i}");
    }
    // Idle for longer than b's RTO: quick ACKs again, a quota's worth.
    assert!(p.run_until(Duration::from_secs(1), |p| p.wire.is_empty()));
    assert_eq!(p.b.poll_timeout(), None, "nothing pending at b");
    p.now = p.now + p.b.stats().rto + Duration::from_millis(1);
    for i in 0..16 {
        assert_eq!(ack_delay(&mut p, b"after idle"), wire, "segment {i}");
    }
    assert_eq!(ack_delay(&mut p, b"small"), delayed);
    // Without the mode, the first segment waits too.
    let off = Config {
        max_quick_acks: 0,
        ..b_config
    };
    let mut p = Pair::with_configs(&Config::default(), &off, SeqNumber(1000));
    p.established();
    assert_eq!(ack_delay(&mut p, b"hello"), delayed);
}

#[test]
fn the_quick_ack_quota_follows_a_small_window() {
    // max(2, window / (2·MSS)): a 4 KiB buffer gives 2 quick ACKs.
    let small = Config {
        recv_buffer: 4096,
        recv_buffer_max: 4096,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&Config::default(), &small, SeqNumber(1000));
    p.established();
    let wire = p.delay;
    assert_eq!(ack_delay(&mut p, b"one"), wire);
    assert_eq!(ack_delay(&mut p, b"two"), wire);
    assert_eq!(
        ack_delay(&mut p, b"three"),
        wire + Config::default().delayed_ack
    );
}
