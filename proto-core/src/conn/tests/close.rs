//! Closing: FIN sequences, TIME-WAIT, half-close, resets, half-open detection.

use super::harness::*;

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
fn half_close_keeps_receiving() {
    let mut p = Pair::new();
    p.established();
    p.a.shutdown().unwrap();
    assert_eq!(p.a.write(b"x"), Err(Error::SendClosed));
    assert!(p.run_until(Duration::from_secs(1), |p| p.b.state() == State::CloseWait));
    let data = pattern(if cfg!(miri) { 10_000 } else { 100_000 });
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
fn time_wait_answers_a_retransmitted_fin_and_restarts() {
    let mut p = Pair::new();
    p.established();
    p.a.close(p.now).unwrap();
    assert!(p.run_until(Duration::from_secs(1), |p| p.b.state() == State::CloseWait));
    p.b.close(p.now).unwrap();
    // Lose a's final ACK: b resends its FIN after an RTO.
    p.set_filter(|to_b, seg, n| {
        if to_b && *n == 0 && seg.flags == TcpFlags::ACK {
            *n = 1;
            return Fate::Drop;
        }
        Fate::Deliver
    });
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
fn close_with_unread_data_resets_the_peer() {
    // RFC 9293 §3.6.1 (MAY-1, SHLD-3): after close() the application reads
    // no more, so data left unread, or arriving later, is answered by RST.
    let mut p = Pair::new();
    p.established();
    p.a.write(b"never read").unwrap();
    let mut buf = vec![0u8; 1500];
    while let Some(t) = p.a.poll_transmit(p.now, &mut buf) {
        let bytes = buf[..t.len].to_vec();
        p.deliver(true, &bytes);
    }
    assert_eq!(p.b.recv_queue_len(), 10);
    p.b.close(p.now).unwrap();
    assert_eq!(p.b.close_reason(), Some(CloseReason::Aborted));
    assert!(p.run_until(Duration::from_secs(1), |p| p.a.state() == State::Closed));
    assert_eq!(p.a.close_reason(), Some(CloseReason::Reset));

    // Data arriving after close().
    let mut p = Pair::new();
    p.established();
    p.b.close(p.now).unwrap();
    assert!(p.run_until(Duration::from_secs(1), |p| p.a.state() == State::CloseWait));
    p.a.write(b"too late").unwrap();
    assert!(p.run_until(Duration::from_secs(1), |p| p.a.state() == State::Closed));
    assert_eq!(p.b.close_reason(), Some(CloseReason::Aborted));
    assert_eq!(p.a.close_reason(), Some(CloseReason::Reset));
    assert!(p.got_b.is_empty());
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
