//! Keepalive and the user timeout.

use super::harness::*;

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
    p.set_filter(|_, _, _| Fate::Drop);
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
    p.set_filter(|to_b, _, _| if to_b { Fate::Drop } else { Fate::Deliver });
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
fn keepalive_is_off_by_default_and_waits_two_hours() {
    // RFC 9293 §3.8.4 (MUST-25, MUST-28).
    assert_eq!(Config::default().keepalive, None);
    assert!(Keepalive::default().idle >= Duration::from_secs(2 * 3600));
}
