//! Helpers shared by the controllers' tests.

use super::{
    AckInfo, CongestionCause, CongestionControl, CongestionEvent, MAX_WINDOW, minimum_window,
};
use crate::time::{Duration, Instant};

/// An acknowledgment of `acked` bytes with no RTT information.
pub fn ack(now: Instant, acked: usize, prior_in_flight: usize) -> AckInfo {
    AckInfo {
        now,
        acked_bytes: acked,
        prior_in_flight,
        rtt: None,
        srtt: None,
        min_rtt: None,
        app_limited: false,
    }
}

/// A congestion event with `in_flight` bytes outstanding.
pub fn event(now: Instant, in_flight: usize) -> CongestionEvent {
    CongestionEvent {
        now,
        in_flight,
        cause: CongestionCause::Loss,
    }
}

/// Drives `cc` through arbitrary events and checks after each one that the
/// window stays within `[mss, MAX_WINDOW]` and ssthresh is either unset or
/// within `[2·mss, MAX_WINDOW]`. `mss_of` reads the controller's MSS.
pub fn run_ops<C: CongestionControl>(
    cc: &mut C,
    mss_of: impl Fn(&C) -> usize,
    ops: &[(u8, u32, u32)],
) -> bool {
    let mut now = Instant::ZERO;
    let in_bounds = |cc: &C| {
        let mss = mss_of(cc);
        let w = cc.window();
        let s = cc.ssthresh();
        mss <= w
            && w <= MAX_WINDOW
            && (s == usize::MAX || (minimum_window(mss) <= s && s <= MAX_WINDOW))
    };
    if !in_bounds(cc) {
        return false;
    }
    for &(op, a, b) in ops {
        now += Duration::from_micros(u64::from(b % 2_000_000));
        let mss = mss_of(cc);
        match op % 12 {
            0..=3 => {
                let rtt = Duration::from_micros(u64::from(b % 400_000));
                cc.on_ack(&AckInfo {
                    now,
                    // Mostly segment-sized deliveries, sometimes huge ones.
                    acked_bytes: if op & 0x80 != 0 {
                        a as usize
                    } else {
                        (a as usize % 64) * mss
                    },
                    prior_in_flight: b as usize,
                    rtt: (op & 0x10 == 0).then_some(rtt),
                    srtt: (op & 0x20 == 0).then_some(rtt),
                    min_rtt: Some(rtt),
                    app_limited: op & 0x40 != 0 && op & 0x08 != 0,
                });
            }
            4 => cc.on_congestion_event(&event(now, a as usize)),
            5 => cc.on_rto(now, a as usize),
            6 => cc.on_spurious_congestion(now),
            7 => cc.on_idle_restart(now),
            8 => cc.on_mss_change(a as usize % 70_000),
            9 => cc.on_sent(now, (a % 70_000) as usize, b as usize % 1_000_000),
            10 => cc.on_recovery_end(now),
            _ => now += Duration::from_secs(u64::from(a % 100)),
        }
        if !in_bounds(cc) {
            return false;
        }
    }
    true
}
