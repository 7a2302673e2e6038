//! Loss recovery and congestion control end to end: SACK/RACK, TLP, NewReno, CUBIC, pacing.

use super::harness::*;

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
fn data_retransmissions_give_up_after_max_retries() {
    // RFC 9293 §3.8.3 (MUST-20, MUST-21): R2 is set per connection; when
    // it is reached the connection closes and the application hears why.
    let r2 = Config {
        max_retries: 3,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&r2, &Config::default(), SeqNumber(1));
    p.established();
    p.filter = |_, _, _| Fate::Drop;
    p.log.clear();
    p.a.write(b"into the void").unwrap();
    assert!(p.run_until(Duration::from_secs(60), |p| p.a.state() == State::Closed));
    assert_eq!(p.a.close_reason(), Some(CloseReason::TimedOut));
    assert!(p.events_a.contains(&Event::Closed(CloseReason::TimedOut)));
    let sends = p.log.iter().filter(|l| l.0 && l.4 > 0).count();
    // The first transmission, a tail loss probe (RFC 8985 §7) and three
    // retransmission timeouts.
    assert_eq!(sends, 5);
    assert_eq!(p.a.stats().recovery.tlp_probes, 1);
}

#[test]
fn cubic_recovers_from_loss_and_reports_itself() {
    let cubic = Config {
        congestion: crate::cc::CcAlgorithm::Cubic,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&cubic, &Config::default(), SeqNumber(3));
    p.established();
    p.filter_state = 0x1234_5678;
    p.filter = |to_b, seg, x| {
        if to_b && !seg.payload.is_empty() && next_random(x) % 100 == 0 {
            return Fate::Drop;
        }
        Fate::Deliver
    };
    transfer(&mut p, &pattern(2_000_000), &[], Duration::from_secs(600));
    let s = p.a.stats();
    assert_eq!(s.congestion_control, "cubic");
    assert!(s.recovery.fast_recoveries > 0, "{s:?}");
    assert!(s.timeouts * 10 <= s.retransmitted_segments, "{s:?}");
}

#[test]
fn a_backed_off_rto_stays_until_a_new_sample() {
    // RFC 6298 §5 (the note after 5.7), Karn (§3): the acknowledgment of a
    // retransmitted segment gives no sample without timestamps, so the
    // doubled RTO stays; the next clean sample recomputes it.
    let plain = Config {
        timestamps: false,
        sack: false,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&plain, &Config::default(), SeqNumber(1));
    p.established();
    let base = p.a.stats().rto;
    p.filter = |to_b, seg, n| {
        if to_b && !seg.payload.is_empty() && *n == 0 {
            *n = 1;
            return Fate::Drop;
        }
        Fate::Deliver
    };
    p.a.set_nodelay(true);
    transfer(&mut p, b"lost once", &[], Duration::from_secs(5));
    assert_eq!(p.a.stats().timeouts, 1);
    assert_eq!(p.a.stats().rto, base.saturating_mul(2));
    p.a.write(b" and once more").unwrap();
    assert!(p.run_until(Duration::from_secs(5), |p| p.got_b.len() == 23
        && p.a.send_queue_len() == 0));
    assert_eq!(p.a.stats().timeouts, 1);
    assert_eq!(p.a.stats().rto, base);
}
