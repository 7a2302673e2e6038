//! Flow control: zero windows, probes, silly-window avoidance, shrunk windows.

use super::harness::*;

#[test]
fn zero_window_for_ten_seconds_then_reopens() {
    let small = Config {
        recv_buffer: 8192,
        recv_buffer_max: 8192,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&Config::default(), &small, SeqNumber(1));
    p.established();
    // Under Miri, enough to fill the 8 KiB window twice over.
    let data = pattern(if cfg!(miri) { 20_000 } else { 100_000 });
    let mut sent = 0;
    // b's application does not read for 10 s: fill its window.
    let stall_until = p.now + Duration::from_secs(10);
    p.hold_reads_b = true;
    while p.now < stall_until {
        Pair::feed(&mut p.a, &data, &mut sent);
        if !p.step_until(stall_until) {
            p.now = stall_until;
        }
    }
    assert_eq!(p.b.recv_queue_len(), 8192, "the window is full");
    assert_eq!(p.a.stats().send_window, 0);
    let probes = p.a.stats().window_probes;
    assert!(probes >= 3, "persist timer probed: {probes}");
    assert_eq!(p.a.state(), State::Established);
    // The application reads again: the transfer completes.
    p.hold_reads_b = false;
    let rest = p.now + Duration::from_secs(30);
    while p.got_b.len() < data.len() {
        Pair::feed(&mut p.a, &data, &mut sent);
        assert!(p.now < rest, "stalled after the window reopened");
        p.step();
    }
    assert!(p.got_b == data);
}

#[test]
fn rst_is_processed_with_a_zero_receive_window() {
    // RFC 9293 §3.4 (MUST-66).
    let mut p = Pair::new();
    p.established();
    // Close a's receive window: the edge sits at RCV.NXT.
    p.a.window = crate::flow::ReceiveWindow::new(p.a.rcv.nxt, p.a.window.shift());
    assert_eq!(p.a.window.advertised(p.a.rcv.nxt), 0);
    let seg = from_b(&p, TcpFlags::RST, 0, &[]);
    p.inject(false, &seg);
    assert_eq!(p.a.close_reason(), Some(CloseReason::Reset));
}

#[test]
fn shrunk_window_sends_no_new_data() {
    // RFC 9293 §3.8.6 (MUST-34, SHLD-15): the peer moves its right edge
    // left of SND.NXT; the usable window is zero, not negative.
    let mut p = Pair::new();
    p.established();
    p.a.set_nodelay(true);
    p.a.write(&pattern(5000)).unwrap();
    let mut buf = vec![0u8; 1500];
    while p.a.poll_transmit(p.now, &mut buf).is_some() {}
    p.a.write(&pattern(1000)).unwrap();
    let mut seg = from_b(&p, TcpFlags::ACK, 0, &[]);
    seg.ack = p.a.snd.una + 1000u32;
    seg.window = 0;
    p.inject(false, &seg);
    assert_eq!(p.a.snd.una, seg.ack);
    assert!(p.a.snd.nxt > p.a.snd.una + p.a.snd.wnd);
    assert_eq!(p.a.send_allowance(), 0);
    assert_eq!(p.a.poll_transmit(p.now, &mut buf), None);
}

#[test]
fn sender_sws_holds_small_window_limited_segments() {
    // RFC 9293 §3.8.6.2.1 (MUST-38), without window scaling so the window
    // field is in bytes.
    // Pacing off: every segment here leaves at the same virtual instant.
    let plain = Config {
        window_scaling: false,
        pacing: false,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&plain, &plain, SeqNumber(1));
    p.established();
    p.a.set_nodelay(true);
    p.a.write(&pattern(10 * 1448)).unwrap();
    let mut buf = vec![0u8; 1500];
    while p.a.poll_transmit(p.now, &mut buf).is_some() {}
    p.a.write(&pattern(10_000)).unwrap();
    // One segment acknowledged; the window leaves room for 500 new bytes
    // while 9 segments are still in flight: 500 bytes are held back.
    let mut seg = from_b(&p, TcpFlags::ACK, 0, &[]);
    seg.ack = p.a.snd.una + 1448u32;
    seg.window = (9 * 1448 + 500) as u16;
    p.inject(false, &seg);
    assert_eq!(p.a.send_allowance(), 500);
    assert_eq!(p.a.poll_transmit(p.now, &mut buf), None);
    // Everything acknowledged, same 500-byte window: with nothing in
    // flight the small segment goes at once (synack's override).
    let mut seg = from_b(&p, TcpFlags::ACK, 0, &[]);
    seg.ack = p.a.snd.nxt;
    seg.window = 500;
    p.inject(false, &seg);
    let t = p.a.poll_transmit(p.now, &mut buf).unwrap();
    let sent =
        TcpRepr::parse_bytes(&buf[..t.len], &addrs(A_ADDR, B_ADDR), ChecksumMode::Full).unwrap();
    assert_eq!(sent.payload.len(), 500);
}

#[test]
fn zero_window_probes_back_off() {
    let mut p = a_not_reading(4096, SeqNumber(1));
    let data = pattern(20_000);
    let mut sent = 0;
    while p.now < Instant::from_secs(60) {
        Pair::feed(&mut p.b, &data, &mut sent);
        p.step();
    }
    let probes = p.b.stats().window_probes;
    // ~60 s of a closed window: doubling from 200 ms gives well under 15
    // probes; a fixed interval would give hundreds.
    assert!((3..=12).contains(&probes), "{probes} probes");
    assert_eq!(p.b.state(), State::Established);
}

#[test]
fn a_window_shrunk_to_zero_with_data_outstanding_does_not_time_out() {
    // RFC 9293 §3.8.6.1 (MUST-35): the peer retracts its window while our
    // data is in flight, and keeps answering. The retransmissions act as
    // probes and the connection lives on.
    let mut p = Pair::new();
    p.established();
    p.set_filter(lose_data_to_b);
    p.a.write(b"stuck behind a closed window").unwrap();
    p.flush();
    let mut seen = 0;
    while p.now < Instant::from_secs(1500) {
        p.step();
        // Answer every (re)transmission with "window 0, nothing new".
        let sends = p.log.iter().filter(|l| l.0 && l.4 > 0).count();
        if sends > seen {
            seen = sends;
            let mut seg = from_b(&p, TcpFlags::ACK, 0, &[]);
            seg.ack = p.a.snd.una;
            seg.window = 0;
            p.inject(false, &seg);
        }
    }
    assert_eq!(p.a.state(), State::Established, "{:?}", p.a.close_reason());
    assert!(p.a.stats().timeouts > 15);
}

#[test]
fn acks_are_processed_at_a_zero_receive_window() {
    // RFC 9293 §3.10.7.4 (MUST-66): with RCV.WND = 0, an ACK at RCV.NXT is
    // processed though its data cannot be taken.
    let mut p = a_not_reading(2000, SeqNumber(1));
    transfer(&mut p, &[], &[], Duration::from_secs(1));
    let data = pattern(2000);
    p.b.write(&data).unwrap();
    assert!(p.run_until(Duration::from_secs(2), |p| p.a.recv_queue_len() == 2000));
    assert!(p.run_until(Duration::from_secs(2), |p| p.b.stats().send_window == 0));
    // a sends something; b's real ACK is lost, an injected one carries
    // data a has no room for.
    p.set_filter(|to_b, _, _| if to_b { Fate::Deliver } else { Fate::Drop });
    p.a.write(b"hello").unwrap();
    p.flush();
    let mut seg = from_b(&p, TcpFlags::ACK | TcpFlags::PSH, 0, b"no room");
    seg.ack = p.a.snd.nxt;
    let drops_before = p.a.stats().drops.get(DropReason::OutOfWindow);
    p.inject(false, &seg);
    assert_eq!(p.a.snd.una, p.a.snd.nxt, "the ACK was processed");
    assert_eq!(p.a.recv_queue_len(), 2000, "the data was not taken");
    assert_eq!(
        p.a.stats().drops.get(DropReason::OutOfWindow),
        drops_before + 1
    );
}

/// Found by the `two_party` fuzz target: a peer whose data fills our
/// window sends its pure ACKs with SEG.SEQ = SND.NXT = RCV.NXT + RCV.WND,
/// exactly at our right edge. RFC 9293's test refuses a zero-length
/// segment there; refusing it dropped every acknowledgment, and once both
/// directions had filled each other's windows after losses, each side
/// answered the other's retransmissions with ACKs the other refused: an
/// ACK war, no progress, then a timeout. Linux and BSD accept a bare
/// segment at the right edge (SEG.SEQ ≤ RCV.NXT + RCV.WND).
#[test]
fn a_bare_ack_at_the_right_window_edge_is_accepted() {
    let mut p = Pair::new();
    p.established();
    // a sends 10 bytes; b receives them, and its ACK is lost.
    p.set_filter(|to_b, seg, _| {
        if !to_b && seg.payload.is_empty() {
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    p.a.set_nodelay(true);
    p.a.write(b"0123456789").unwrap();
    assert!(p.run_until(Duration::from_millis(100), |p| p.got_b.len() == 10));
    assert_eq!(p.a.send_queue_len(), 10);
    // b's next ACK comes from a sender that has filled a's window: its
    // sequence number is a's right edge.
    let edge = p.a.window.advertised(p.a.rcv.nxt) as i64;
    assert!(edge > 0);
    let ack = from_b(&p, TcpFlags::ACK, edge, b"");
    assert_eq!(ack.seq, p.a.rcv.nxt + edge as u32);
    p.inject(false, &ack);
    assert_eq!(p.a.stats().drops.get(DropReason::OutOfWindow), 0);
    assert_eq!(p.a.send_queue_len(), 0, "the acknowledgment was ignored");
    // One byte further is out of the window.
    let beyond = from_b(&p, TcpFlags::ACK, edge + 1, b"");
    p.inject(false, &beyond);
    assert_eq!(p.a.stats().drops.get(DropReason::OutOfWindow), 1);
}

/// Found by the `endpoint` fuzz target: when a zero-window probe and an
/// ACK were due at once, the probe (an ACK below SND.UNA, which the peer
/// must drop) went out and counted as the acknowledgment. The peer never
/// learnt that its data had arrived, retransmitted it at every RTO, got a
/// probe back each time, and timed the connection out.
#[test]
fn a_window_probe_does_not_take_the_place_of_a_due_ack() {
    // b fills a's window (a's application does not read) and starts
    // probing it.
    let mut p = a_not_reading(4096, SeqNumber(1));
    let data = pattern(20_000);
    let mut sent = 0;
    Pair::feed(&mut p.b, &data, &mut sent);
    assert!(p.run_until(Duration::from_secs(5), |p| p.b.timers.persist.is_some()));
    let probe_at = p.b.timers.persist.unwrap();
    // a's 10 bytes reach b just as b's probe is due.
    p.a.set_nodelay(true);
    p.a.write(b"0123456789").unwrap();
    p.flush();
    let from_a = p.wire.pop_back().expect("a's data segment");
    assert!(from_a.to_b);
    p.now = probe_at;
    p.deliver(true, &from_a.bytes);
    p.b.handle_timeout(p.now);
    let probes = p.b.stats().window_probes;
    // Nothing reaches a for a while: only b's own output is looked at.
    p.delay = Duration::from_secs(1);
    let mark = p.log.len();
    assert!(!p.run_until(Duration::from_millis(100), |_| false));
    assert_eq!(p.b.stats().window_probes, probes + 1, "the probe went out");
    let (b_nxt, a_nxt) = (p.b.snd.nxt, p.a.snd.nxt);
    assert!(
        p.log[mark..]
            .iter()
            .any(|&(to_b, flags, seq, ack, len)| !to_b
                && flags == TcpFlags::ACK
                && seq == b_nxt
                && ack == a_nxt
                && len == 0),
        "no acceptable ACK for a's data after the probe: {:?}",
        &p.log[mark..]
    );
    // And a learns of it once the wire delivers.
    assert!(p.run_until(Duration::from_secs(2), |p| p.a.send_queue_len() == 0));
}

/// A pair where a (4 KiB buffer, application not reading) has taken
/// exactly one window of b's data and acknowledged it: a's window is zero,
/// b has nothing in flight. Returns the pair and the window's size.
fn a_window_filled_by_b() -> (Pair, usize) {
    let mut p = a_not_reading(4096, SeqNumber(1));
    let window = p.a.window.advertised(p.a.rcv.nxt);
    p.b.write(&pattern(window)).unwrap();
    assert!(p.run_until(Duration::from_secs(5), |p| p.b.snd.wnd == 0
        && p.b.send_queue_len() == 0));
    (p, window)
}

/// Found by the `endpoint` fuzz target: a FIN that arrived when the
/// receiver's application had stopped reading (a zero window) was refused
/// as out of window, by the letter of RFC 9293, and the sender resent it
/// until it gave up and reset the connection. A bare FIN at RCV.NXT takes
/// no buffer space; Linux takes it, and so does synack now.
#[test]
fn a_bare_fin_is_taken_into_a_zero_window() {
    // Once a's window is closed, b closes its side: a FIN alone, at the
    // right edge of a zero window.
    let (mut p, window) = a_window_filled_by_b();
    p.b.shutdown().unwrap();
    assert!(
        p.run_until(Duration::from_secs(5), |p| p.a.state() == State::CloseWait),
        "a is {} with {} bytes unread",
        p.a.state(),
        p.a.recv_queue_len()
    );
    assert_eq!(p.a.window.advertised(p.a.rcv.nxt), 0);
    assert_eq!(p.a.recv_queue_len(), window);
    assert!(p.run_until(Duration::from_secs(1), |p| p.b.state() == State::FinWait2));
    assert_eq!(p.b.stats().timeouts, 0);
    // The data is still all there to read, then the end of the stream.
    p.hold_reads_a = false;
    p.drain_apps();
    assert_eq!(p.got_a, pattern(window));
    assert!(p.a.peer_closed());
}

/// Retransmissions into a zero window count as probes while the peer
/// answers them (MUST-35), also when the host handles the timer late: the
/// peer answered if anything arrived after our last transmission, not
/// within `max_rto` of the moment the timer is looked at.
#[test]
fn zero_window_retransmissions_answered_never_time_out_even_handled_late() {
    let plain = Config {
        timestamps: false,
        max_retries: 3,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&plain, &plain, SeqNumber(1));
    p.established();
    // Nothing is delivered any more: the test plays b's side by hand.
    p.set_filter(|_, _, _| Fate::Drop);
    p.a.set_nodelay(true);
    p.a.write(b"x").unwrap();
    p.flush();
    let window_zero = |p: &Pair| TcpRepr {
        src_port: B_ADDR.port(),
        dst_port: A_ADDR.port(),
        seq: p.b.snd.nxt,
        ack: p.a.snd.una,
        flags: TcpFlags::ACK,
        window: 0,
        ..TcpRepr::default()
    };
    // b takes nothing (its window closed) and says so.
    let answer = window_zero(&p);
    p.inject(false, &answer);
    assert_eq!(p.a.snd.wnd, 0);
    for round in 0..20 {
        // The host looks at the timer 100 s after it was due.
        let due = p.a.poll_timeout().expect("a retransmission timer");
        p.now = due + Duration::from_secs(100);
        p.a.handle_timeout(p.now);
        p.flush();
        assert_eq!(
            p.a.state(),
            State::Established,
            "timed out in round {round}"
        );
        // b answers the retransmission at once, still with a zero window.
        let answer = window_zero(&p);
        p.inject(false, &answer);
    }
    // Silence: now the retries run out.
    assert!(p.run_until(Duration::from_secs(3600), |p| p.a.state() == State::Closed));
    assert_eq!(p.a.close_reason(), Some(CloseReason::TimedOut));
}

/// Found by the `two_party` fuzz target (CI smoke run): data written while
/// the peer's window was zero and nothing was in flight armed no timer,
/// because timers were re-armed only when a segment went out. When the
/// peer's window update was lost, both sides waited for ever. Now the
/// persist timer starts, and its probe brings the window back.
#[test]
fn a_write_into_a_zero_window_arms_the_persist_timer() {
    let (mut p, window) = a_window_filled_by_b();
    assert_eq!(p.b.poll_timeout(), None, "nothing waits, nothing to time");
    // a's reader drains the buffer; its window update is lost.
    p.set_filter(|to_b, seg, _| {
        if to_b && seg.payload.is_empty() {
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    p.hold_reads_a = false;
    p.flush();
    assert_eq!(p.got_a.len(), window);
    p.set_filter(deliver_all);
    // b writes into what it still believes is a zero window.
    p.b.write(b"more").unwrap();
    p.flush();
    assert!(p.b.poll_timeout().is_some(), "no persist timer");
    assert!(p.run_until(Duration::from_secs(10), |p| p.got_a.len() == window + 4));
}
