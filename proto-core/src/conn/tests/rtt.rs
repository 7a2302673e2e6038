//! RTT measurement on a sub-millisecond path: samples from segment send
//! times at the clock's resolution, with and without timestamps.

use super::harness::*;
use crate::recovery::Rack;

/// A pair whose wire takes 100 µs each way (a 200 µs RTT), connected.
fn sub_ms_pair(timestamps: bool) -> Pair {
    let c = Config {
        timestamps,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&c, &c, SeqNumber(1000));
    p.delay = Duration::from_micros(100);
    p.established();
    assert_eq!(p.a.negotiated().timestamps, timestamps);
    p
}

fn within(d: Option<Duration>, lo_us: u64, hi_us: u64) -> bool {
    d.is_some_and(|d| Duration::from_micros(lo_us) <= d && d <= Duration::from_micros(hi_us))
}

#[test]
fn srtt_and_min_rtt_read_the_sub_millisecond_path_with_timestamps() {
    const LEN: usize = if cfg!(miri) { 40_000 } else { 1_000_000 };
    let mut p = sub_ms_pair(true);
    // The handshake: the SYN-ACK was sent once and timed by its send time.
    assert!(within(p.a.rtt.min_rtt(), 200, 200), "{:?}", p.a.rtt);
    // Bulk data, looked at mid-stream (the last segment's ACK is delayed,
    // and that delay is part of its sample, as RFC 7323 §4.2 wants).
    let data = pattern(LEN);
    let mut sent = 0;
    let end = p.now + Duration::from_secs(10);
    while p.got_b.len() < LEN / 2 {
        Pair::feed(&mut p.a, &data, &mut sent);
        assert!(p.step() && p.now < end);
    }
    let (srtt, min) = (p.a.rtt.srtt(), p.a.rtt.min_rtt());
    // The wire adds nothing but its delay: every segment's RTT is 200 µs.
    assert!(within(min, 200, 200), "min_rtt {min:?}");
    assert!(within(srtt, 200, 260), "srtt {srtt:?}");
    // The tail loss probe waits about two RTTs, not zero.
    let pto = crate::recovery::probe_timeout(srtt, false, p.a.rtt.rto());
    assert!(within(Some(pto), 400, 520), "pto {pto:?}");
}

#[test]
fn rack_reordering_window_is_not_zero_at_sub_millisecond_rtt() {
    const LEN: usize = if cfg!(miri) { 20_000 } else { 1_000_000 };
    // A fixed 64 KiB receive buffer keeps the paced sending rate below
    // 64 KiB per 200 µs, a segment every 4 µs or more.
    let small = Config {
        recv_buffer: 64 * 1024,
        recv_buffer_max: 64 * 1024,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&Config::default(), &small, SeqNumber(1000));
    p.delay = Duration::from_micros(100);
    p.established();
    assert!(p.a.negotiated().timestamps);
    // Hold back one data segment in 40 by 5 µs: one or two later ones
    // overtake it, reordering well inside RACK's window of
    // min_RTT/4 = 50 µs.
    let mut x = 0x5eed;
    let held = std::rc::Rc::new(core::cell::Cell::new(0u64));
    let count = held.clone();
    p.set_filter(move |to_b, seg, _| {
        if to_b && !seg.payload.is_empty() && next_random(&mut x) % 40 == 0 {
            count.set(count.get() + 1);
            Fate::Delay(Duration::from_micros(5))
        } else {
            Fate::Deliver
        }
    });
    transfer(&mut p, &pattern(LEN), &[], Duration::from_secs(10));
    let reo = Rack::new().reo_wnd(false, 0, p.a.rtt.min_rtt(), p.a.rtt.srtt());
    assert_eq!(reo, Duration::from_micros(50));
    let s = p.a.stats();
    // With a zero window, each held-back segment would be declared lost
    // the moment a later one is SACKed, and resent for nothing. Some still
    // are, when three or more segments of a burst overtake it (RACK then
    // drops the window to zero until reordering has been seen).
    assert!(held.get() >= 10);
    assert!(
        s.recovery.spurious_retransmissions * 4 <= held.get(),
        "{} held back; {s:?}",
        held.get()
    );
}

/// Loses the first data segment once, lets the tail loss probe resend
/// it, and returns every sample the estimator took until the resend was
/// acknowledged.
fn samples_around_a_resend(timestamps: bool) -> Vec<Duration> {
    let mut p = sub_ms_pair(timestamps);
    p.set_filter(|to_b, seg, n| {
        if to_b && !seg.payload.is_empty() && *n == 0 {
            *n = 1;
            return Fate::Drop;
        }
        Fate::Deliver
    });
    p.a.set_nodelay(true);
    let mut sent = 0;
    Pair::feed(&mut p.a, &pattern(1000), &mut sent);
    let end = p.now + Duration::from_secs(2);
    let mut samples = Vec::new();
    while p.a.snd.una != p.a.snd.max || p.a.stats().retransmitted_segments == 0 {
        // A sample moves SRTT or (with the same value) shrinks RTTVAR.
        let before = (p.a.rtt.srtt(), p.a.rtt.rttvar());
        assert!(p.step() && p.now < end);
        if (p.a.rtt.srtt(), p.a.rtt.rttvar()) != before {
            samples.extend(p.a.rtt.latest());
        }
    }
    assert_eq!(p.a.stats().retransmitted_segments, 1);
    samples
}

#[test]
fn a_retransmitted_segment_gives_no_send_time_sample() {
    // The only ACK of new data covers the resent segment: Karn's algorithm
    // allows no sample from its send time (the resend's 200 µs, or the
    // original's 200 ms and more).
    assert_eq!(samples_around_a_resend(false), []);
    // With timestamps the echo of the resend may give one, in whole
    // milliseconds of the timestamp clock, and none when it is under a
    // tick old.
    for s in samples_around_a_resend(true) {
        assert!(
            s >= Duration::from_millis(1) && s.total_micros() % 1000 == 0,
            "{s:?}"
        );
    }
}

/// Bulk transfer through a 200 µs path into a reader that keeps up:
/// the receive buffer b grows to.
fn tuned_buffer(timestamps: bool) -> usize {
    const LEN: usize = if cfg!(miri) { 50_000 } else { 8_000_000 };
    let mut p = sub_ms_pair(timestamps);
    transfer(&mut p, &pattern(LEN), &[], Duration::from_secs(30));
    p.b.recv_buf.capacity()
}

#[test]
fn receive_buffer_auto_tuning_grows_with_timestamps_as_without() {
    let initial = Config::default().recv_buffer;
    let with = tuned_buffer(true);
    let without = tuned_buffer(false);
    assert!(without >= 4 * initial, "without timestamps: {without}");
    // Within a tenth: the two runs differ by the option's 12 bytes a
    // segment.
    assert!(
        with * 10 >= without * 9 && with * 10 <= without * 11,
        "with timestamps {with}, without {without}"
    );
}
