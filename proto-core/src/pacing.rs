//! Pacing: segments leave no faster than a rate derived from the
//! congestion window and the RTT, with a bounded burst, so a window's
//! worth of data is spread over the round trip instead of hitting the
//! bottleneck queue at once.
//!
//! A token bucket: tokens (bytes) refill at the pacing rate up to the
//! burst size; a segment may leave when the bucket holds its size. When it
//! does not, [`Pacer::release_time`] says when it will, and the connection
//! makes that instant part of its deadline.

use crate::time::{Duration, Instant};

/// How much faster than cwnd/SRTT to pace: Linux uses 2× in slow start
/// (the window doubles each round) and 1.2× in congestion avoidance, so
/// pacing never becomes the bottleneck.
const SLOW_START_GAIN_PERCENT: u64 = 200;
const AVOIDANCE_GAIN_PERCENT: u64 = 120;
/// The burst is about 2 ms worth at the pacing rate…
const BURST_TIME: Duration = Duration::from_millis(2);
// `Pacer::set_rate` divides a second by it exactly.
const _: () = assert!(1_000_000 % BURST_TIME.total_micros() == 0);
/// …but at least this many segments (what an initial window sends at
/// once anyway) and at most this many.
const MIN_BURST_SEGMENTS: u64 = 10;
const MAX_BURST_SEGMENTS: u64 = 256;

/// A token-bucket pacer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pacer {
    /// Bytes that may leave now.
    tokens: u64,
    /// When `tokens` was last brought up to date.
    updated: Instant,
    /// Bytes per second; 0 means not pacing.
    rate: u64,
    /// Bucket size in bytes.
    burst: u64,
    /// The last [`Pacer::window_rate`]: its inputs (cwnd, SRTT, slow
    /// start) and the rate. It is asked on every segment; the inputs
    /// change only on ACKs, and the rate costs a 64-bit division.
    window_memo: Option<(usize, Duration, bool, u64)>,
}

impl Pacer {
    /// A pacer that does not limit anything until it learns a rate.
    pub fn new(now: Instant) -> Pacer {
        Pacer {
            tokens: 0,
            updated: now,
            rate: 0,
            burst: 0,
            window_memo: None,
        }
    }

    /// [`Pacer::rate_for`], computed again only when its inputs changed.
    pub fn window_rate(&mut self, cwnd: usize, srtt: Duration, slow_start: bool) -> u64 {
        if let Some((c, s, ss, rate)) = self.window_memo
            && (c, s, ss) == (cwnd, srtt, slow_start)
        {
            return rate;
        }
        let rate = Pacer::rate_for(cwnd, srtt, slow_start);
        self.window_memo = Some((cwnd, srtt, slow_start, rate));
        rate
    }

    /// The rate cwnd/SRTT scaled by the gain for the current phase, in
    /// bytes per second.
    pub fn rate_for(cwnd: usize, srtt: Duration, slow_start: bool) -> u64 {
        let gain = if slow_start {
            SLOW_START_GAIN_PERCENT
        } else {
            AVOIDANCE_GAIN_PERCENT
        };
        let micros = srtt.total_micros().max(1);
        // 64-bit arithmetic unless the window is beyond tens of gigabytes:
        // this runs on every ACK, and 128-bit division is a library call.
        let rate = match (cwnd as u64).checked_mul(1_000_000 * gain) {
            Some(scaled) => scaled / micros.saturating_mul(100),
            None => {
                let rate =
                    (cwnd as u128 * 1_000_000 * u128::from(gain)) / (u128::from(micros) * 100);
                u64::try_from(rate).unwrap_or(u64::MAX)
            }
        };
        rate.max(1)
    }

    /// The current rate in bytes per second (0: not pacing).
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// Sets the rate (0 turns pacing off) and the burst that goes with it:
    /// `quantum` bytes (at least one segment) when the controller sets a
    /// send quantum, else about 2 ms at the rate.
    pub fn set_rate(&mut self, now: Instant, rate: u64, mss: usize, quantum: Option<usize>) {
        self.refill(now);
        let mss = mss.max(1) as u64;
        let burst = match quantum {
            Some(q) => (q as u64).max(mss),
            None => {
                // rate × BURST_TIME in whole bytes, as one 64-bit division
                // (this runs per segment; 128-bit division is a library
                // call): exact as BURST_TIME divides a second.
                let burst_bytes = rate / (1_000_000 / BURST_TIME.total_micros());
                burst_bytes.clamp(
                    MIN_BURST_SEGMENTS.saturating_mul(mss),
                    MAX_BURST_SEGMENTS.saturating_mul(mss),
                )
            }
        };
        if self.rate == 0 && rate > 0 {
            // Start with a full bucket: the first burst is not delayed.
            self.tokens = burst;
        }
        self.rate = rate;
        self.burst = burst;
        self.tokens = self.tokens.min(burst);
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).total_micros();
        self.updated = now;
        if self.rate == 0 {
            return;
        }
        if elapsed == 0 {
            return;
        }
        // Per segment sent: 64-bit arithmetic; a product that overflows
        // is far beyond a full bucket anyway.
        let add = elapsed
            .checked_mul(self.rate)
            .map_or(u64::MAX, |b| b / 1_000_000);
        self.tokens = self.tokens.saturating_add(add).min(self.burst);
    }

    /// When a segment of `size` bytes may leave: `None` means now.
    pub fn release_time(&mut self, now: Instant, size: usize) -> Option<Instant> {
        if self.rate == 0 {
            return None;
        }
        self.refill(now);
        let size = (size as u64).min(self.burst);
        if self.tokens >= size {
            return None;
        }
        let missing = size - self.tokens;
        // `missing` is below one burst, so the product fits.
        let wait = missing.saturating_mul(1_000_000).div_ceil(self.rate);
        Some(now + Duration::from_micros(wait))
    }

    /// A segment of `size` bytes left.
    pub fn on_sent(&mut self, now: Instant, size: usize) {
        if self.rate == 0 {
            return;
        }
        self.refill(now);
        self.tokens = self.tokens.saturating_sub(size as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_follows_the_window() {
        // 100 segments of 1000 bytes per 100 ms = 1 MB/s; ×2 in slow start.
        let srtt = Duration::from_millis(100);
        assert_eq!(Pacer::rate_for(100_000, srtt, true), 2_000_000);
        assert_eq!(Pacer::rate_for(100_000, srtt, false), 1_200_000);
    }

    #[test]
    fn window_rate_follows_its_inputs() {
        let mut p = Pacer::new(Instant::from_secs(1));
        let srtt = Duration::from_millis(100);
        for (cwnd, srtt, ss) in [
            (100_000, srtt, true),
            (100_000, srtt, true),
            (100_000, srtt, false),
            (50_000, srtt, false),
            (50_000, Duration::from_millis(50), false),
            (100_000, srtt, true),
        ] {
            assert_eq!(
                p.window_rate(cwnd, srtt, ss),
                Pacer::rate_for(cwnd, srtt, ss)
            );
        }
    }

    #[test]
    fn bursts_then_spaces_segments() {
        let t0 = Instant::from_secs(1);
        let mut p = Pacer::new(t0);
        assert_eq!(p.release_time(t0, 1000), None, "no rate yet: no pacing");
        // 1 MB/s: the burst is max(2 ms · 1 MB/s = 2000, 10 segments).
        p.set_rate(t0, 1_000_000, 1000, None);
        for _ in 0..10 {
            assert_eq!(p.release_time(t0, 1000), None);
            p.on_sent(t0, 1000);
        }
        // The bucket is empty: the next segment waits 1 ms.
        assert_eq!(
            p.release_time(t0, 1000),
            Some(t0 + Duration::from_millis(1))
        );
        let t1 = t0 + Duration::from_micros(500);
        assert_eq!(
            p.release_time(t1, 1000),
            Some(t0 + Duration::from_millis(1))
        );
        let t2 = t0 + Duration::from_millis(1);
        assert_eq!(p.release_time(t2, 1000), None);
    }

    #[test]
    fn a_send_quantum_sets_the_burst() {
        let t0 = Instant::from_secs(1);
        let mut p = Pacer::new(t0);
        // BBR's quantum of 3 segments replaces the 10-segment minimum.
        p.set_rate(t0, 1_000_000, 1000, Some(3000));
        for _ in 0..3 {
            assert_eq!(p.release_time(t0, 1000), None);
            p.on_sent(t0, 1000);
        }
        assert_eq!(
            p.release_time(t0, 1000),
            Some(t0 + Duration::from_millis(1))
        );
        // Never below one segment.
        p.set_rate(t0, 1_000_000, 1000, Some(10));
        assert_eq!(p.burst, 1000);
    }

    #[test]
    fn idle_time_refills_only_up_to_the_burst() {
        let t0 = Instant::from_secs(1);
        let mut p = Pacer::new(t0);
        p.set_rate(t0, 1_000_000, 1000, None);
        p.on_sent(t0, 10_000);
        let later = t0 + Duration::from_secs(10);
        for _ in 0..10 {
            assert_eq!(p.release_time(later, 1000), None);
            p.on_sent(later, 1000);
        }
        assert!(p.release_time(later, 1000).is_some());
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        let t0 = Instant::from_secs(1);
        let mut p = Pacer::new(t0);
        p.set_rate(t0, u64::MAX, usize::MAX, None);
        assert_eq!(p.release_time(Instant::MAX, usize::MAX), None);
        assert!(Pacer::rate_for(usize::MAX, Duration::ZERO, true) > 0);
    }
}
