//! CUBIC (RFC 9438), with HyStart++ (RFC 9406) for the initial slow start.
//!
//! # The algorithm
//!
//! In congestion avoidance the window follows a cubic function of the time
//! `t` since the current congestion-avoidance stage (the *epoch*) began
//! (RFC 9438 §4.2, eq. 1–2):
//!
//! ```text
//! W_cubic(t) = C·(t − K)³ + W_max          K = ∛((W_max − cwnd_epoch) / C)
//! ```
//!
//! with C = 0.4 and β_cubic = 0.7 (§4.1.1), W in segments and t, K in
//! seconds. Per ACK, the target is `W_cubic(t + RTT)` clamped to `[cwnd,
//! 1.5·cwnd]` and the window grows by `(target − cwnd)/cwnd` segments per
//! segment acknowledged (§4.2, §4.4–4.5). Alongside runs the Reno-friendly
//! estimate `W_est`, which grows by `α_cubic = 3(1 − β)/(1 + β) = 9/17`
//! segments per window acknowledged, and by 1 once it reaches `cwnd_prior`
//! (§4.3); while `W_cubic(t) < W_est` the window is `W_est`.
//!
//! On a congestion event (§4.6–4.7): `cwnd_prior = cwnd`; `W_max = cwnd`,
//! or `cwnd·(1 + β)/2` if the window never got back to the previous W_max
//! (fast convergence); `ssthresh = max(β·FlightSize, 2·SMSS)`; `cwnd =
//! ssthresh`. The threshold uses the flight size, as in the RFC's
//! pseudo-code (and as RFC 5681 does for Reno): §4.6 allows `cwnd` only if
//! the sender also keeps cwnd from growing while application-limited, and
//! the flight size is what was actually shown to cause congestion.
//!
//! After a timeout (§4.8) the window is 1 SMSS, ssthresh is set as above
//! (on the first of consecutive timeouts only, RFC 5681 §3.1), and the
//! following congestion-avoidance stage starts with `K = 0` and `W_max =
//! cwnd_epoch`; the same happens when HyStart++ ends slow start without a
//! loss (§4.10). Spurious events are undone by restoring everything saved
//! before them (§4.9). While application-limited the window does not grow,
//! and the time spent so is taken out of `t` (§5.8) by moving the epoch
//! start forward — as Linux does when transmission resumes after idle.
//!
//! # Fixed point
//!
//! There is no floating point here. Windows are bytes (`usize`, at most
//! `u32::MAX`), times are microseconds (`u64`), and the constants are
//! exact fractions: C = 2/5, β = 7/10, (1 + β)/2 = 17/20, α = 9/17. In
//! bytes and microseconds the RFC's formulas become
//!
//! ```text
//! W_cubic(t) = W_max + ⌊2·MSS·(t − K)³ / (5·10¹⁸)⌋        (t, K in µs)
//! K          = ⌊∛((W_max − cwnd_epoch)·5·10¹⁸ / (2·MSS))⌋  (µs)
//! ```
//!
//! since `C·(d/10⁶)³` segments of `MSS` bytes is `2·MSS·d³ / (5·10¹⁸)`
//! bytes. They are evaluated in `i128`/`u128`: `W_max − cwnd_epoch` is at
//! most 2³² bytes, so K's radicand stays below 2⁹⁵, and `t − K` is clamped
//! to ±10¹⁰ µs (2.8 h; by then the cubic term exceeds 2³² bytes for any
//! MSS ≥ 1, so the clamp never changes a result), keeping `2·MSS·d³` below
//! 2¹¹⁷. The cube root is the bit-by-bit integer method ([`icbrt`]), exact
//! to the floor. `W_est` carries 16 fractional bits so that its sub-byte
//! steps (α·MSS·acked/cwnd) are not lost, and the per-ACK cubic step keeps
//! the remainder of its division for the next ACK.

use super::{
    AckInfo, CongestionControl, CongestionEvent, HyStart, MAX_WINDOW, SlowStart, clamp_window,
    initial_window, minimum_window, rescale, sane_mss,
};
use crate::time::{Duration, Instant};

/// C = 0.4 = 2/5 segments per second³ (RFC 9438 §4.1.1).
const C_NUM: u128 = 2;
const C_DEN: u128 = 5;
/// β_cubic = 0.7 = 7/10 (RFC 9438 §4.1.1).
const BETA_NUM: u128 = 7;
const BETA_DEN: u128 = 10;
/// Fast convergence factor (1 + β)/2 = 0.85 = 17/20 (RFC 9438 §4.7).
const FAST_CONV_NUM: u128 = 17;
const FAST_CONV_DEN: u128 = 20;
/// α_cubic = 3(1 − β)/(1 + β) = 0.9/1.7 = 9/17 (RFC 9438 §4.3).
const ALPHA_NUM: u128 = 9;
const ALPHA_DEN: u128 = 17;
/// µs³ per s³.
const MICROS3_PER_SEC3: u128 = 1_000_000_000_000_000_000;
/// |t − K| is clamped to this many µs; see the module docs.
const MAX_CURVE_OFFSET_US: i128 = 10_000_000_000;
/// Fractional bits of `W_est`.
const W_EST_FRAC_BITS: u32 = 16;

/// ⌊∛x⌋, by the bit-by-bit method: the root is built one bit at a time
/// from the top, and each step subtracts `(2y + 1)³ − (2y)³ = 3·2y·(2y + 1)
/// + 1` shifted into place when it fits. 43 steps for any `u128`; only
/// shifts, adds and small multiplications, nothing that can overflow (the
/// partial root stays below 2⁴³, so `3y(y + 1) + 1 < 2⁸⁸`).
pub(crate) fn icbrt(x: u128) -> u64 {
    let mut rem = x;
    let mut y: u128 = 0;
    let mut shift: i32 = 126; // the largest multiple of 3 below 128
    while shift >= 0 {
        y <<= 1;
        let b = 3 * y * (y + 1) + 1;
        if (rem >> shift) >= b {
            rem -= b << shift;
            y += 1;
        }
        shift -= 3;
    }
    y as u64
}

/// K in µs (RFC 9438 eq. 2): the time the curve takes from `cwnd_epoch`
/// back to `w_max` (both bytes). Zero when `w_max ≤ cwnd_epoch`.
fn cubic_k_us(w_max: usize, cwnd_epoch: usize, mss: usize) -> u64 {
    let diff = w_max.saturating_sub(cwnd_epoch) as u128;
    // (diff / MSS) / C s³ = diff·C_DEN / (C_NUM·MSS) s³, times 10¹⁸ µs³/s³.
    icbrt(diff * C_DEN * MICROS3_PER_SEC3 / (C_NUM * mss.max(1) as u128))
}

/// W_cubic(t) in bytes (RFC 9438 eq. 1), t and K in µs, within `[0,
/// MAX_WINDOW]`.
fn w_cubic(t_us: u64, k_us: u64, w_max: usize, mss: usize) -> usize {
    let d = (i128::from(t_us) - i128::from(k_us)).clamp(-MAX_CURVE_OFFSET_US, MAX_CURVE_OFFSET_US);
    // C·MSS·d³ / 10¹⁸, rounded towards −∞.
    let num = C_NUM as i128 * mss as i128 * d * d * d;
    let delta = num.div_euclid(C_DEN as i128 * MICROS3_PER_SEC3 as i128);
    let w = (w_max as i128 + delta).clamp(0, MAX_WINDOW as i128);
    w as usize
}

/// Everything a spurious-event undo restores (RFC 9438 §4.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct State {
    cwnd: usize,
    ssthresh: usize,
    /// W_max in bytes; 0 while undefined (before any loss, and after a
    /// timeout), in which case the next epoch sets it to `cwnd_epoch`.
    w_max: usize,
    /// K in µs.
    k_us: u64,
    /// t_epoch; `None` outside congestion avoidance, or before its first
    /// ACK.
    epoch_start: Option<Instant>,
    cwnd_epoch: usize,
    /// W_est in bytes, with [`W_EST_FRAC_BITS`] fractional bits.
    w_est: u64,
    /// cwnd at the most recent congestion event (or HyStart++ exit).
    cwnd_prior: usize,
    /// Remainder of the last per-ACK cubic step's division by cwnd.
    carry: usize,
    /// The instant up to which the epoch's clock has been accounted for:
    /// time after it is either counted (window in use) or skipped
    /// (application-limited, idle).
    clock_ref: Instant,
    /// In the slow start that follows a timeout (RFC 3465 L = 1).
    after_rto: bool,
    /// No ACK of new data since the last timeout (RFC 5681 §3.1).
    in_rto_backoff: bool,
    /// Between a congestion event and the end of its recovery.
    in_fast_recovery: bool,
    hystart: Option<HyStart>,
}

/// The CUBIC congestion controller (RFC 9438) with HyStart++ (RFC 9406).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cubic {
    mss: usize,
    s: State,
    undo: Option<State>,
    /// The smoothed RTT last reported (or the latest sample if no SRTT came
    /// with it), the "RTT" of `W_cubic(t + RTT)` (RFC 9438 §4.2; Linux
    /// uses the minimum RTT there instead). Zero before any.
    srtt: Duration,
}

impl Cubic {
    /// A controller for a connection whose MSS is `mss` (clamped to
    /// `1..=MAX_MSS`): RFC 6928 initial window, unbounded ssthresh, and
    /// HyStart++ for a non-paced sender ([`HyStart::new`], L = 8).
    pub fn new(mss: usize) -> Cubic {
        Cubic::with_hystart(mss, HyStart::new())
    }

    /// Like [`Cubic::new`] with a given HyStart++ configuration (e.g.
    /// [`HyStart::paced`]).
    pub fn with_hystart(mss: usize, hystart: HyStart) -> Cubic {
        let mut c = Cubic::without_hystart(mss);
        c.s.hystart = Some(hystart);
        c
    }

    /// CUBIC with the standard RFC 5681/3465 slow start instead of
    /// HyStart++ (RFC 9438 §4.10 allows it).
    pub fn without_hystart(mss: usize) -> Cubic {
        let mss = sane_mss(mss);
        Cubic {
            mss,
            s: State {
                cwnd: initial_window(mss),
                ssthresh: usize::MAX,
                w_max: 0,
                k_us: 0,
                epoch_start: None,
                cwnd_epoch: 0,
                w_est: 0,
                cwnd_prior: 0,
                carry: 0,
                clock_ref: Instant::ZERO,
                after_rto: false,
                in_rto_backoff: false,
                in_fast_recovery: false,
                hystart: None,
            },
            undo: None,
            srtt: Duration::ZERO,
        }
    }

    /// The MSS the window is counted in.
    pub fn mss(&self) -> usize {
        self.mss
    }

    /// W_max in bytes: the window the curve plateaus at. 0 while undefined
    /// (no loss yet, or reset by a timeout until the next epoch starts).
    pub fn w_max(&self) -> usize {
        self.s.w_max
    }

    /// K: how long after the epoch start the curve reaches W_max.
    pub fn k(&self) -> Duration {
        Duration::from_micros(self.s.k_us)
    }

    /// The Reno-friendly estimate W_est in bytes (rounded down).
    pub fn w_est(&self) -> usize {
        (self.s.w_est >> W_EST_FRAC_BITS) as usize
    }

    /// cwnd at the most recent congestion event (0 before any).
    pub fn cwnd_prior(&self) -> usize {
        self.s.cwnd_prior
    }

    /// When the current congestion-avoidance epoch started, shifted by the
    /// application-limited time since; `None` outside congestion avoidance.
    pub fn epoch_start(&self) -> Option<Instant> {
        self.s.epoch_start
    }

    /// The HyStart++ state, if this controller uses it.
    pub fn hystart(&self) -> Option<&HyStart> {
        self.s.hystart.as_ref()
    }

    /// max(β·FlightSize, 2·SMSS) (RFC 9438 §4.6).
    fn reduced(&self, in_flight: usize) -> usize {
        let beta = clamp_window(in_flight as u128 * BETA_NUM / BETA_DEN);
        beta.max(minimum_window(self.mss)).min(MAX_WINDOW)
    }

    fn end_hystart(&mut self) {
        if let Some(hs) = self.s.hystart.as_mut() {
            hs.on_congestion();
        }
    }

    /// Moves the epoch start forward by the time since `clock_ref`, which
    /// was spent not using the window (RFC 9438 §5.8).
    fn skip_clock(&mut self, now: Instant) {
        if let Some(start) = self.s.epoch_start {
            let gap = now.saturating_duration_since(self.s.clock_ref);
            self.s.epoch_start = Some((start + gap).min(now));
        }
        self.s.clock_ref = self.s.clock_ref.max(now);
    }

    /// A congestion-avoidance stage begins (RFC 9438 §4.2, §4.3, §4.8,
    /// §4.10).
    fn start_epoch(&mut self, now: Instant) {
        let s = &mut self.s;
        s.epoch_start = Some(now);
        s.clock_ref = now;
        s.cwnd_epoch = s.cwnd;
        s.w_est = (s.cwnd as u64) << W_EST_FRAC_BITS;
        s.carry = 0;
        if s.w_max <= s.cwnd {
            // No W_max to return to (after a timeout, after HyStart++, or
            // the window is already above it): the curve starts here with
            // K = 0, i.e. convex growth from cwnd_epoch.
            s.w_max = s.cwnd;
            s.k_us = 0;
        } else {
            s.k_us = cubic_k_us(s.w_max, s.cwnd, self.mss);
        }
    }

    fn slow_start(&mut self, ack: &AckInfo) {
        let s = &mut self.s;
        let growing = SlowStart {
            cwnd: &mut s.cwnd,
            ssthresh: s.ssthresh,
            after_rto: &mut s.after_rto,
            hystart: s.hystart.as_mut(),
        }
        .on_ack(ack, self.mss);
        if !growing {
            // RFC 9406 §4.2 and RFC 9438 §4.10: congestion avoidance from
            // here, with cwnd_prior = cwnd; W_max is still undefined, so
            // the epoch will take K = 0.
            s.ssthresh = s.cwnd;
            s.cwnd_prior = s.cwnd;
        }
    }

    fn congestion_avoidance(&mut self, ack: &AckInfo) {
        let now = ack.now;
        match self.s.epoch_start {
            None if ack.app_limited => return,
            None => self.start_epoch(now),
            Some(_) if ack.app_limited => {
                // No growth, and the curve's clock stands still (§5.8).
                self.skip_clock(now);
                return;
            }
            Some(_) => self.s.clock_ref = self.s.clock_ref.max(now),
        }
        let mss = self.mss;
        let rtt_us = self.srtt.total_micros();
        let s = &mut self.s;
        let cwnd = s.cwnd.max(1);
        let t_us = s.epoch_start.map_or(0, |start| {
            now.saturating_duration_since(start).total_micros()
        });

        // §4.2: target = W_cubic(t + RTT), clamped to [cwnd, 1.5·cwnd].
        let upper = cwnd.saturating_add(cwnd / 2).min(MAX_WINDOW).max(cwnd);
        let target = w_cubic(t_us.saturating_add(rtt_us), s.k_us, s.w_max, mss).clamp(cwnd, upper);

        // §4.3: W_est += α·(segments acked)/cwnd segments, α = 1 once
        // W_est has reached cwnd_prior. In bytes: α·acked·MSS/cwnd.
        let (a_num, a_den) = if (s.w_est >> W_EST_FRAC_BITS) as usize >= s.cwnd_prior {
            (1, 1)
        } else {
            (ALPHA_NUM, ALPHA_DEN)
        };
        let est_step = (a_num * ack.acked_bytes as u128 * mss as u128) << W_EST_FRAC_BITS;
        let est_step = est_step / (a_den * cwnd as u128);
        let w_est_cap = (MAX_WINDOW as u128) << W_EST_FRAC_BITS;
        s.w_est = (s.w_est as u128 + est_step).min(w_est_cap) as u64;

        // §4.4–4.5: cwnd += (target − cwnd)/cwnd per segment acked, i.e.
        // (target − cwnd)·acked/cwnd bytes, the remainder carried over. An
        // ACK for more than a window (a stretch ACK) still stops at the
        // target: it is the most the window may reach one RTT from now.
        let num = (target - cwnd) as u128 * ack.acked_bytes as u128 + s.carry as u128;
        let step = num / cwnd as u128;
        s.carry = (num % cwnd as u128) as usize;
        let mut next = clamp_window(cwnd as u128 + step).min(target);

        // §4.3: in the Reno-friendly region (W_cubic(t) < W_est) the
        // window is (at least) W_est.
        let w_est = (s.w_est >> W_EST_FRAC_BITS) as usize;
        if w_cubic(t_us, s.k_us, s.w_max, mss) < w_est {
            next = next.max(w_est);
        }
        s.cwnd = next.max(s.cwnd).min(MAX_WINDOW);
    }
}

impl CongestionControl for Cubic {
    fn name(&self) -> &'static str {
        "cubic"
    }

    fn window(&self) -> usize {
        self.s.cwnd
    }

    fn ssthresh(&self) -> usize {
        self.s.ssthresh
    }

    /// Resuming from an empty pipe (`in_flight <= bytes`) moves the epoch
    /// start forward by the time since the last ACK (or the last such
    /// resumption), so the idle period does not count as time on the curve
    /// (RFC 9438 §5.8; Linux does the same on `CA_EVENT_TX_START`). Sends
    /// with data already in flight change nothing.
    fn on_sent(&mut self, now: Instant, bytes: usize, in_flight: usize) {
        if in_flight <= bytes {
            self.skip_clock(now);
        }
    }

    fn on_ack(&mut self, ack: &AckInfo) {
        if let Some(srtt) = ack.srtt.or(ack.rtt) {
            self.srtt = srtt;
        }
        self.s.in_rto_backoff = false;
        if ack.acked_bytes == 0 {
            return;
        }
        if self.s.cwnd < self.s.ssthresh {
            self.slow_start(ack);
        } else {
            self.congestion_avoidance(ack);
        }
    }

    fn on_congestion_event(&mut self, event: &CongestionEvent) {
        self.undo = Some(self.s);
        let ssthresh = self.reduced(event.in_flight);
        let s = &mut self.s;
        s.cwnd_prior = s.cwnd;
        // §4.7 fast convergence: a flow whose window did not get back to
        // the last W_max releases bandwidth by aiming lower.
        s.w_max = if s.cwnd < s.w_max {
            clamp_window(s.cwnd as u128 * FAST_CONV_NUM / FAST_CONV_DEN)
        } else {
            s.cwnd
        };
        s.ssthresh = ssthresh;
        s.cwnd = ssthresh;
        s.epoch_start = None;
        s.after_rto = false;
        s.in_fast_recovery = true;
        self.end_hystart();
    }

    fn on_recovery_end(&mut self, _now: Instant) {
        let floor = minimum_window(self.mss);
        let s = &mut self.s;
        if s.in_fast_recovery {
            s.in_fast_recovery = false;
            s.cwnd = s.ssthresh.min(MAX_WINDOW).max(floor);
        }
    }

    fn on_rto(&mut self, _now: Instant, in_flight: usize) {
        if !self.s.in_rto_backoff {
            self.undo = Some(self.s);
            let ssthresh = self.reduced(in_flight);
            let s = &mut self.s;
            s.cwnd_prior = s.cwnd;
            s.ssthresh = ssthresh;
            // §4.8: the next epoch uses W_max = cwnd_epoch and K = 0.
            s.w_max = 0;
            s.in_rto_backoff = true;
        }
        let s = &mut self.s;
        s.cwnd = self.mss;
        s.epoch_start = None;
        s.after_rto = true;
        s.in_fast_recovery = false;
        self.end_hystart();
    }

    fn on_spurious_congestion(&mut self, now: Instant) {
        if let Some(saved) = self.undo.take() {
            // §4.9: restore cwnd, ssthresh, W_max, K, the epoch, W_est and
            // cwnd_prior as they were before the event (never lowering
            // what has regrown since).
            let cwnd = self.s.cwnd.max(saved.cwnd);
            let ssthresh = self.s.ssthresh.max(saved.ssthresh);
            self.s = State {
                cwnd,
                ssthresh,
                clock_ref: saved.clock_ref.max(now),
                after_rto: false,
                in_rto_backoff: false,
                in_fast_recovery: false,
                ..saved
            };
        }
    }

    fn on_idle_restart(&mut self, _now: Instant) {
        let restart = initial_window(self.mss);
        let s = &mut self.s;
        if s.cwnd > restart {
            // RFC 5681 §4.1; the curve restarts from the smaller window
            // when congestion avoidance resumes.
            s.cwnd = restart;
            s.epoch_start = None;
        }
    }

    /// Keeps every window the same number of segments (cwnd, ssthresh,
    /// W_max, cwnd_epoch, cwnd_prior, W_est are rescaled by new/old MSS;
    /// K, a time, is unchanged because the curve in segments is). A saved
    /// undo state is dropped.
    fn on_mss_change(&mut self, mss: usize) {
        let new = sane_mss(mss);
        let old = self.mss;
        if new == old {
            return;
        }
        let s = &mut self.s;
        s.cwnd = rescale(s.cwnd, old, new, new);
        s.ssthresh = rescale(s.ssthresh, old, new, minimum_window(new));
        s.w_max = rescale(s.w_max, old, new, 0);
        s.cwnd_epoch = rescale(s.cwnd_epoch, old, new, 0);
        s.cwnd_prior = rescale(s.cwnd_prior, old, new, 0);
        let w_est = rescale((s.w_est >> W_EST_FRAC_BITS) as usize, old, new, 0);
        s.w_est = (w_est as u64) << W_EST_FRAC_BITS;
        s.carry = 0;
        self.mss = new;
        self.undo = None;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{ack, event, run_ops};
    use super::*;
    use crate::cc::HyStartPhase;
    use quickcheck::{TestResult, quickcheck};
    use std::vec::Vec;

    const MSS: usize = 1000;
    const T0: Instant = Instant::from_secs(100);

    fn at(offset_ms: u64) -> Instant {
        T0 + Duration::from_millis(offset_ms)
    }

    /// An ACK of `acked` bytes whose smoothed RTT is `srtt_ms`.
    fn ack_rtt(now: Instant, acked: usize, srtt_ms: u64) -> AckInfo {
        let rtt = Some(Duration::from_millis(srtt_ms));
        AckInfo {
            rtt,
            srtt: rtt,
            min_rtt: rtt,
            ..ack(now, acked, acked)
        }
    }

    /// A controller in congestion avoidance at `cwnd`, whose epoch started
    /// at `T0` with the given W_max (and `cwnd_prior = w_max`).
    fn in_epoch(cwnd: usize, w_max: usize) -> Cubic {
        let mut c = Cubic::without_hystart(MSS);
        c.s.cwnd = cwnd;
        c.s.ssthresh = cwnd;
        c.s.w_max = w_max;
        c.s.cwnd_prior = w_max;
        c.start_epoch(T0);
        c
    }

    /// ⌊∛x⌋ by counting up, for checking.
    fn slow_cbrt(x: u128) -> u64 {
        let mut r: u128 = 0;
        while (r + 1) * (r + 1) * (r + 1) <= x {
            r += 1;
        }
        r as u64
    }

    #[test]
    fn icbrt_matches_counting_on_small_numbers() {
        // Under Miri every loop iteration is interpreted: a smaller range
        // still crosses the first 17 cubes.
        const END: u128 = if cfg!(miri) { 5_000 } else { 300_000 };
        let mut r: u128 = 0;
        for x in 0..END {
            while (r + 1).pow(3) <= x {
                r += 1;
            }
            assert_eq!(u128::from(icbrt(x)), r, "x = {x}");
        }
        assert_eq!(icbrt(1_000_000), slow_cbrt(1_000_000));
    }

    #[test]
    fn icbrt_at_cubes_and_their_neighbours() {
        // floor(cbrt(2^128 - 1)) = 6 981 463 658 331.
        const LARGEST: u64 = 6_981_463_658_331;
        for n in [
            1u64,
            2,
            3,
            7,
            100,
            1_000,
            4_217_163,
            (1 << 21) - 1,
            1 << 21,
            1 << 30,
            1 << 40,
            1 << 42,
            LARGEST - 1,
            LARGEST,
        ] {
            let cube = u128::from(n).pow(3);
            assert_eq!(icbrt(cube), n);
            assert_eq!(icbrt(cube - 1), n - 1);
            assert_eq!(icbrt(cube + 1), n);
        }
        assert_eq!(icbrt(u128::MAX), LARGEST);
        assert_eq!(icbrt(0), 0);
        // 7.5·10¹⁹ µs³ = 75 s³: ∛75 = 4.217163326… s.
        assert_eq!(icbrt(75_000_000_000_000_000_000), 4_217_163);
    }

    #[test]
    fn k_matches_rfc_9438_eq_2() {
        // W_max = 100 segments, cwnd_epoch = 70 (a β = 0.7 reduction):
        // K = ∛((100 − 70)/0.4) = ∛75 = 4.217163 s.
        assert_eq!(cubic_k_us(100_000, 70_000, 1_000), 4_217_163);
        // W_max = 1000 segments of 1448 bytes, cwnd_epoch = 700:
        // K = ∛(300/0.4) = ∛750 = 9.085602964 s.
        assert_eq!(cubic_k_us(1_448_000, 1_013_600, 1_448), 9_085_602);
        // ∛((100 − 50)/0.4) = ∛125 = 5 s exactly.
        assert_eq!(cubic_k_us(100_000, 50_000, 1_000), 5_000_000);
        // No way back up: K = 0.
        assert_eq!(cubic_k_us(50_000, 70_000, 1_000), 0);
        // The largest difference does not overflow:
        // ∛((2³² − 1)·2.5·10¹⁸) µs = 2 206.14 s.
        assert_eq!(cubic_k_us(MAX_WINDOW, 0, 1), 2_206_141_122);
    }

    #[test]
    fn w_cubic_matches_rfc_9438_eq_1() {
        // W_max = 100 000 bytes (100 segments of 1000), K = 4.217163 s:
        // W(t) = 0.4·(t − 4.217163)³·1000 + 100 000, rounded down.
        let k = 4_217_163;
        let w = |t_us| w_cubic(t_us, k, 100_000, 1_000);
        // t = 0: 0.4·(−4.217163)³·1000 = −29 999.9997 → 70 000.0003
        assert_eq!(w(0), 70_000);
        // t = 1 s: 0.4·(−3.217163)³·1000 = −13 319.24 → 86 680.76
        assert_eq!(w(1_000_000), 86_680);
        // t = 2 s: 0.4·(−2.217163)³·1000 = −4 359.66 → 95 640.34
        assert_eq!(w(2_000_000), 95_640);
        // t = K: the plateau, W_max.
        assert_eq!(w(k), 100_000);
        // t = 6 s: 0.4·(1.782837)³·1000 = 2 266.70 → 102 266.70
        assert_eq!(w(6_000_000), 102_266);
        // t = 10 s: 0.4·(5.782837)³·1000 = 77 354.012 → 177 354.01 (with
        // the exact K, 4.2171633265 s, it would be 177 353.999: K is
        // rounded down to the microsecond, which moves the curve 0.013
        // bytes here).
        assert_eq!(w(10_000_000), 177_354);
        // Far out the curve saturates at the largest window...
        assert_eq!(w(u64::MAX), MAX_WINDOW);
        assert_eq!(w_cubic(3_600_000_000, 0, 0, 1), MAX_WINDOW);
        // ...and far before K it floors at zero.
        assert_eq!(w_cubic(0, 2_206_141_122, 1_000, 1_000), 0);
    }

    #[test]
    fn concave_growth_per_ack() {
        // cwnd = cwnd_epoch = 70 000, W_max = 100 000, so K = 4.217163 s.
        let mut c = in_epoch(70_000, 100_000);
        assert_eq!(c.k(), Duration::from_micros(4_217_163));
        // At t = 1.9 s with SRTT 100 ms: target = W(2.0 s) = 95 640, within
        // [70 000, 105 000]; one 1000-byte ACK adds
        // (95 640 − 70 000)·1000/70 000 = 366.29 → 366 bytes. W(1.9 s) =
        // 95 023 > W_est, so not Reno-friendly.
        c.on_ack(&ack_rtt(at(1_900), 1_000, 100));
        assert_eq!(c.window(), 70_366);
        assert_eq!(c.s.carry, 20_000);
    }

    #[test]
    fn target_is_clamped_to_one_and_a_half_windows() {
        // W_max = 100 000 from cwnd 50 000: K = 5 s. At t = 20 s the curve
        // is far above (W(20.1 s) = 1 477 180), so target = 1.5·cwnd =
        // 75 000 and one 1000-byte ACK adds (75 000 − 50 000)·1000/50 000 =
        // 500 bytes.
        let mut c = in_epoch(50_000, 100_000);
        assert_eq!(c.k(), Duration::from_secs(5));
        assert_eq!(w_cubic(20_100_000, 5_000_000, 100_000, MSS), 1_477_180);
        c.on_ack(&ack_rtt(at(20_000), 1_000, 100));
        assert_eq!(c.window(), 50_500);
        // A whole window acknowledged at once grows it by half, no more.
        let mut c = in_epoch(50_000, 100_000);
        c.on_ack(&ack_rtt(at(20_000), 50_000, 100));
        assert_eq!(c.window(), 75_000);
    }

    #[test]
    fn reno_friendly_region_dominates_at_small_windows_and_short_rtts() {
        // A loss at cwnd = 20 000 with 20 000 in flight: ssthresh = cwnd =
        // 14 000, W_max = cwnd_prior = 20 000, K = ∛(6/0.4) = 2.466 s. With
        // a 1 ms RTT the cubic curve moves ~7 bytes per RTT, while W_est
        // grows by α·MSS = 9/17·1000 = 529.41 bytes per window acked.
        let mut c = in_epoch(20_000, 0);
        c.on_congestion_event(&event(T0, 20_000));
        assert_eq!(
            (c.window(), c.ssthresh(), c.w_max()),
            (14_000, 14_000, 20_000)
        );
        let mut expected = Vec::new();
        for i in 0..14u64 {
            let cwnd = c.window();
            c.on_ack(&ack_rtt(at(1_000 + i), cwnd, 1));
            expected.push(c.window());
            assert_eq!(c.window(), c.w_est());
            assert!(w_cubic(i * 1_000, c.s.k_us, c.w_max(), MSS) < c.window());
        }
        // 14 000 + n·529.41 while W_est < cwnd_prior = 20 000; the 12th
        // ACK starts from 20 352 ≥ 20 000, so α = 1 (+1000 per window).
        assert_eq!(
            expected,
            [
                14_529, 15_058, 15_588, 16_117, 16_647, 17_176, 17_705, 18_235, 18_764, 19_294,
                19_823, 20_352, 21_352, 22_352
            ]
        );
        assert_eq!(c.k(), Duration::from_micros(2_466_212));
    }

    #[test]
    fn fast_convergence_lowers_w_max() {
        let mut c = in_epoch(100_000, 0);
        c.on_congestion_event(&event(T0, 100_000));
        // First loss: W_max = cwnd; ssthresh = 0.7·100 000.
        assert_eq!(
            (c.w_max(), c.ssthresh(), c.window()),
            (100_000, 70_000, 70_000)
        );
        assert_eq!(c.cwnd_prior(), 100_000);
        // The window only got back to 80 000 < W_max: W_max = 80 000·0.85.
        c.s.cwnd = 80_000;
        c.on_congestion_event(&event(T0, 80_000));
        assert_eq!(
            (c.w_max(), c.ssthresh(), c.window()),
            (68_000, 56_000, 56_000)
        );
        // Above the old W_max: W_max = cwnd.
        c.s.cwnd = 120_000;
        c.on_congestion_event(&event(T0, 120_000));
        assert_eq!((c.w_max(), c.ssthresh()), (120_000, 84_000));
        // ssthresh follows the flight size, with a floor of 2·MSS.
        c.on_congestion_event(&event(T0, 1_000));
        assert_eq!((c.ssthresh(), c.window()), (2_000, 2_000));
    }

    #[test]
    fn recovery_holds_the_window_and_the_epoch_starts_after_it() {
        let mut c = in_epoch(100_000, 0);
        c.on_congestion_event(&event(at(0), 100_000));
        assert_eq!(c.window(), 70_000);
        assert_eq!(c.epoch_start(), None);
        c.on_recovery_end(at(100));
        assert_eq!(c.window(), 70_000);
        c.on_ack(&ack_rtt(at(200), 1_000, 100));
        assert_eq!(c.epoch_start(), Some(at(200)));
        assert_eq!(c.s.cwnd_epoch, 70_000);
        assert_eq!(c.k(), Duration::from_micros(4_217_163));
    }

    #[test]
    fn timeout_restarts_the_curve_with_k_zero() {
        let mut c = in_epoch(50_000, 60_000);
        c.on_rto(at(1), 50_000);
        assert_eq!((c.window(), c.ssthresh()), (1_000, 35_000));
        // A repeated timeout keeps ssthresh.
        c.on_rto(at(2), 1_000);
        assert_eq!((c.window(), c.ssthresh()), (1_000, 35_000));
        // Slow start with L = 1 up to ssthresh.
        for i in 0..34 {
            c.on_ack(&ack_rtt(at(10 + i), 2_000, 10));
            assert_eq!(c.window(), 2_000 + 1_000 * i as usize);
        }
        assert_eq!(c.window(), 35_000);
        assert!(!c.in_slow_start());
        // The first congestion-avoidance ACK: W_max = cwnd_epoch, K = 0.
        c.on_ack(&ack_rtt(at(100), 1_000, 10));
        assert_eq!(c.w_max(), 35_000);
        assert_eq!(c.k(), Duration::ZERO);
        assert_eq!(c.epoch_start(), Some(at(100)));
        assert_eq!(c.cwnd_prior(), 50_000);
    }

    #[test]
    fn spurious_congestion_restores_everything() {
        let mut c = in_epoch(70_000, 100_000);
        c.on_ack(&ack_rtt(at(1_900), 1_000, 100));
        let before = c.s;
        c.on_congestion_event(&event(at(2_000), 70_366));
        assert_ne!(c.s, before);
        c.on_spurious_congestion(at(2_100));
        assert_eq!(c.window(), 70_366);
        assert_eq!(c.ssthresh(), before.ssthresh);
        assert_eq!(c.w_max(), 100_000);
        assert_eq!(c.k(), Duration::from_micros(4_217_163));
        assert_eq!(c.epoch_start(), Some(T0));
        assert_eq!(c.s.w_est, before.w_est);
        assert_eq!(c.cwnd_prior(), before.cwnd_prior);
        // Once only.
        let restored = c.s;
        c.on_spurious_congestion(at(2_200));
        assert_eq!(c.s, restored);

        // A spurious timeout.
        let mut c = in_epoch(70_000, 100_000);
        let before = c.s;
        c.on_rto(at(10), 70_000);
        c.on_rto(at(20), 1_000);
        c.on_spurious_congestion(at(30));
        assert_eq!(c.window(), 70_000);
        assert_eq!(c.w_max(), 100_000);
        assert_eq!(c.epoch_start(), before.epoch_start);
        assert!(!c.s.after_rto && !c.s.in_rto_backoff);
    }

    #[test]
    fn app_limited_time_does_not_advance_the_curve() {
        let mut limited = in_epoch(70_000, 100_000);
        for s in 1..=10 {
            limited.on_ack(&AckInfo {
                app_limited: true,
                ..ack_rtt(at(s * 1_000), 1_000, 100)
            });
            assert_eq!(limited.window(), 70_000);
        }
        assert_eq!(limited.epoch_start(), Some(at(10_000)));
        limited.on_ack(&ack_rtt(at(11_900), 1_000, 100));
        // The same as 1.9 s on the curve without the pause.
        let mut plain = in_epoch(70_000, 100_000);
        plain.on_ack(&ack_rtt(at(1_900), 1_000, 100));
        assert_eq!(limited.window(), 70_366);
        assert_eq!(limited.window(), plain.window());
    }

    #[test]
    fn idle_before_a_send_does_not_advance_the_curve() {
        let mut c = in_epoch(70_000, 100_000);
        // Sending with data already in flight: the clock keeps running.
        c.on_sent(at(500), 1_000, 5_000);
        assert_eq!(c.epoch_start(), Some(T0));
        // The ACK at 1 s empties the pipe; the next send, 30 s later, finds
        // it empty (in_flight == bytes), and the 30 s are skipped.
        c.on_ack(&ack_rtt(at(1_000), 1_000, 100));
        let w = c.window();
        c.on_sent(at(31_000), 1_000, 1_000);
        assert_eq!(c.epoch_start(), Some(at(30_000)));
        assert_eq!(c.window(), w);
        // So an ACK at 32.9 s is at t = 2.9 s on the curve, not 32.9 s.
        let mut skipped = c.clone();
        skipped.on_ack(&ack_rtt(at(32_900), 1_000, 100));
        let mut plain = in_epoch(70_000, 100_000);
        plain.on_ack(&ack_rtt(at(1_000), 1_000, 100));
        plain.on_ack(&ack_rtt(at(2_900), 1_000, 100));
        assert_eq!(skipped.window(), plain.window());
    }

    #[test]
    fn idle_restart_caps_the_window_and_restarts_the_epoch() {
        let mut c = in_epoch(50_000, 60_000);
        c.on_idle_restart(at(10));
        assert_eq!(c.window(), 10_000);
        assert_eq!(c.epoch_start(), None);
        assert!(c.in_slow_start());
        // A small window is left alone, and so is the epoch.
        let mut c = in_epoch(8_000, 60_000);
        c.on_idle_restart(at(10));
        assert_eq!(c.window(), 8_000);
        assert_eq!(c.epoch_start(), Some(T0));
    }

    #[test]
    fn hystart_ends_the_initial_slow_start() {
        let mut c = Cubic::new(MSS);
        assert_eq!(c.name(), "cubic");
        assert_eq!(c.window(), 10_000);
        assert_eq!(
            c.hystart().map(HyStart::phase),
            Some(HyStartPhase::SlowStart)
        );
        let mut now = 0;
        let mut flight = 10;
        for round in 0..10 {
            let rtt = if round == 0 { 100 } else { 130 };
            for i in 0..flight {
                now += 1;
                c.on_ack(&AckInfo {
                    prior_in_flight: (flight - i) * MSS,
                    ..ack_rtt(at(now), MSS, rtt)
                });
                if c.ssthresh() != usize::MAX {
                    break;
                }
            }
            if c.ssthresh() != usize::MAX {
                break;
            }
            flight = c.window() / MSS;
        }
        // Slow start ended without a loss: ssthresh = cwnd_prior = cwnd.
        assert_eq!(
            c.hystart().map(HyStart::phase),
            Some(HyStartPhase::Finished)
        );
        let cwnd = c.window();
        assert_eq!((c.ssthresh(), c.cwnd_prior()), (cwnd, cwnd));
        // The curve starts at K = 0 with W_max = cwnd_epoch (§4.10).
        c.on_ack(&ack_rtt(at(now + 1), MSS, 130));
        assert_eq!((c.k(), c.w_max()), (Duration::ZERO, cwnd));
    }

    #[test]
    fn hystart_grows_by_up_to_eight_segments_per_ack() {
        let mut c = Cubic::new(MSS);
        c.on_ack(&ack_rtt(at(1), 20 * MSS, 10));
        assert_eq!(c.window(), 18_000);
        let mut c = Cubic::with_hystart(MSS, HyStart::paced());
        c.on_ack(&ack_rtt(at(1), 20 * MSS, 10));
        assert_eq!(c.window(), 30_000);
        // Without HyStart++: RFC 3465, L = 2.
        let mut c = Cubic::without_hystart(MSS);
        c.on_ack(&ack_rtt(at(1), 20 * MSS, 10));
        assert_eq!(c.window(), 12_000);
        assert!(c.hystart().is_none());
        // Application-limited: no growth.
        let mut c = Cubic::new(MSS);
        c.on_ack(&AckInfo {
            app_limited: true,
            ..ack_rtt(at(1), 5 * MSS, 10)
        });
        assert_eq!(c.window(), 10_000);
    }

    #[test]
    fn mss_change_rescales_every_window() {
        let mut c = in_epoch(70_000, 100_000);
        c.on_mss_change(1_500);
        assert_eq!(c.mss(), 1_500);
        assert_eq!(
            (c.window(), c.ssthresh(), c.w_max()),
            (105_000, 105_000, 150_000)
        );
        assert_eq!(c.w_est(), 105_000);
        assert_eq!(c.k(), Duration::from_micros(4_217_163));
        // K computed afresh agrees: (150 000 − 105 000)/1500 = 30 segments.
        assert_eq!(cubic_k_us(150_000, 105_000, 1_500), 4_217_163);
    }

    quickcheck! {
        fn icbrt_is_the_floor_cube_root(hi: u64, lo: u64) -> bool {
            let x = (u128::from(hi) << 64) | u128::from(lo);
            for x in [x, u128::from(lo), u128::from(lo >> 20)] {
                let r = u128::from(icbrt(x));
                let below = r.pow(3) <= x;
                let above = (r + 1).checked_pow(3).is_none_or(|c| c > x);
                if !(below && above) {
                    return false;
                }
            }
            true
        }

        fn w_cubic_is_monotonic_in_t(t1: u64, t2: u64, k: u32, w_max: u32, mss: u16) -> bool {
            let (a, b) = (t1.min(t2), t1.max(t2));
            let (k, w_max, mss) = (u64::from(k), w_max as usize, usize::from(mss));
            w_cubic(a, k, w_max, mss) <= w_cubic(b, k, w_max, mss)
        }

        fn never_panics_and_stays_in_bounds(mss: u16, ops: Vec<(u8, u32, u32)>) -> bool {
            let mut c = Cubic::new(usize::from(mss));
            run_ops(&mut c, Cubic::mss, &ops)
        }

        fn paced_and_plain_variants_stay_in_bounds(mss: u16, ops: Vec<(u8, u32, u32)>) -> bool {
            let mut c = Cubic::with_hystart(usize::from(mss), HyStart::paced());
            let mut d = Cubic::without_hystart(usize::from(mss));
            run_ops(&mut c, Cubic::mss, &ops) && run_ops(&mut d, Cubic::mss, &ops)
        }

        fn congestion_avoidance_never_shrinks_the_window(
            cwnd: u32,
            w_max: u32,
            acks: Vec<(u16, u32, u16)>
        ) -> TestResult {
            let cwnd = (cwnd as usize).clamp(2 * MSS, MAX_WINDOW);
            let mut c = in_epoch(cwnd, w_max as usize);
            let mut now = T0;
            for (dt_ms, acked, rtt_ms) in acks {
                now += Duration::from_millis(u64::from(dt_ms));
                let before = c.window();
                c.on_ack(&ack_rtt(now, acked as usize, u64::from(rtt_ms)));
                // Never down; up by at most half a window (the target
                // clamp), unless W_est is what set it (Reno-friendly).
                let w = c.window();
                if w < before || (w > before + before / 2 && w != c.w_est()) {
                    return TestResult::failed();
                }
            }
            TestResult::passed()
        }
    }
}
