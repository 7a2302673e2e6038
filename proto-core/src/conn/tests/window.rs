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
    let small = Config {
        recv_buffer: 4096,
        recv_buffer_max: 4096,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&small, &Config::default(), SeqNumber(1));
    p.established();
    p.hold_reads_a = true;
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
    p.filter = |to_b, seg, _| {
        if to_b && !seg.payload.is_empty() {
            Fate::Drop
        } else {
            Fate::Deliver
        }
    };
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
    let small = Config {
        recv_buffer: 2000,
        recv_buffer_max: 2000,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&small, &Config::default(), SeqNumber(1));
    p.established();
    p.hold_reads_a = true;
    transfer(&mut p, &[], &[], Duration::from_secs(1));
    let data = pattern(2000);
    p.b.write(&data).unwrap();
    assert!(p.run_until(Duration::from_secs(2), |p| p.a.recv_queue_len() == 2000));
    assert!(p.run_until(Duration::from_secs(2), |p| p.b.stats().send_window == 0));
    // a sends something; b's real ACK is lost, an injected one carries
    // data a has no room for.
    p.filter = |to_b, _, _| if to_b { Fate::Deliver } else { Fate::Drop };
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
