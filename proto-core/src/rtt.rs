//! Round-trip time estimation and the retransmission timeout (RFC 6298).
//!
//! [`RttEstimator`] keeps the smoothed RTT (SRTT), its variation (RTTVAR),
//! the resulting RTO with exponential backoff, the latest sample and a
//! windowed minimum RTT. It only computes; the connection owns the timer and
//! follows RFC 6298 §5 around it:
//!
//! | RFC 6298 | the connection | the estimator |
//! |---|---|---|
//! | §2.1 | arms the first timer with [`RttEstimator::rto`] | starts at [`RttConfig::initial_rto`] |
//! | §2.2–2.3, §3 | feeds at least one sample per RTT, never one from a retransmitted segment unless timestamps tell the transmissions apart (Karn) | [`RttEstimator::on_sample`], [`RttEstimator::on_sample_with_min`], [`RttEstimator::on_coarse_sample`] |
//! | §5.1–5.3 | starts, stops and restarts the timer with [`RttEstimator::rto`] | — |
//! | §5.4–5.6 | on expiry retransmits, calls [`RttEstimator::on_timeout`], restarts the timer | doubles the RTO up to [`RttConfig::max_rto`] |
//! | §5.7 | calls [`RttEstimator::on_handshake_complete`] when data transmission begins | RTO becomes 3 s if the SYN timed out and there is no sample |
//!
//! After a backoff, the next sample recomputes the RTO from SRTT and RTTVAR
//! and so "collapses" it (the note after RFC 6298 §5.7); until then the
//! backed-off value stays, as Karn's algorithm asks (§3, §5).
//! [`RttEstimator::reset_backoff`] exists for stacks that also clear the
//! backoff when an ACK advances SND.UNA without a usable sample.
//!
//! All arithmetic is on integers: SRTT and RTTVAR are kept in microseconds
//! with 16 fractional bits in a `u128`, so the ⅞/¾ smoothing does not
//! truncate a little every step, and no input — even a sample of
//! [`Duration::MAX`] — can overflow.

use core::fmt;

use crate::time::{Duration, Instant};

/// The RTO after a SYN timed out and no sample was taken (RFC 6298 §5.7).
pub const SYN_TIMEOUT_FALLBACK_RTO: Duration = Duration::from_secs(3);

/// The smallest maximum RTO RFC 6298 §2.5 allows.
pub const MAX_RTO_FLOOR: Duration = Duration::from_secs(60);

/// Tuning of an [`RttEstimator`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RttConfig {
    /// The RTO before any sample. Default 1 s (RFC 6298 §2.1).
    pub initial_rto: Duration,
    /// The smallest variance term of the RTO, which is therefore at least
    /// SRTT + `min_rto`. Default 200 ms, as Linux does (`TCP_RTO_MIN`, also
    /// applied to the variance term). RFC 6298 §2.4 says an RTO below 1 s
    /// SHOULD be rounded up to 1 s; set this to 1 s to stay above it. A
    /// floor below the peer's delayed-ACK time invites spurious timeouts.
    pub min_rto: Duration,
    /// The largest RTO, with or without backoff. Default 120 s, as Linux
    /// (`TCP_RTO_MAX`); RFC 6298 §2.5 allows a cap only if it is at least
    /// 60 s ([`MAX_RTO_FLOOR`]).
    pub max_rto: Duration,
    /// The clock granularity G of RFC 6298 §2.2–2.3: the floor of the
    /// variance term, so a perfectly steady path still leaves some headroom.
    /// Default 1 ms: the core counts microseconds, but host timers rarely
    /// fire more precisely than a millisecond.
    pub granularity: Duration,
    /// How long a minimum RTT sample is remembered by
    /// [`RttEstimator::min_rtt`]. Default 300 s, Linux's `tcp_min_rtt_wlen`:
    /// the minimum stands in for the path's propagation delay (RACK's
    /// reordering window, RFC 8985, is a fraction of it), and a long window
    /// keeps it from creeping up while a standing queue inflates every
    /// sample, yet still forgets a route that got longer within minutes.
    /// Schemes that want a short memory (BBR uses 10 s) keep their own
    /// filter.
    pub min_rtt_window: Duration,
}

impl Default for RttConfig {
    fn default() -> RttConfig {
        RttConfig {
            initial_rto: Duration::from_secs(1),
            min_rto: Duration::from_millis(200),
            max_rto: Duration::from_secs(120),
            granularity: Duration::from_millis(1),
            min_rtt_window: Duration::from_secs(300),
        }
    }
}

/// Why an [`RttConfig`] is outside what RFC 6298 allows or what makes sense.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RttConfigError {
    /// `max_rto` is below 60 s (RFC 6298 §2.5).
    MaxRtoTooSmall,
    /// `min_rto` is zero: a zero RTO would retransmit at once, forever.
    MinRtoZero,
    /// `min_rto` is above `max_rto`.
    MinRtoAboveMax,
    /// `initial_rto` is outside `[min_rto, max_rto]`.
    InitialRtoOutOfRange,
}

impl fmt::Display for RttConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RttConfigError::MaxRtoTooSmall => "max_rto is below 60 s (RFC 6298 section 2.5)",
            RttConfigError::MinRtoZero => "min_rto is zero",
            RttConfigError::MinRtoAboveMax => "min_rto is above max_rto",
            RttConfigError::InitialRtoOutOfRange => "initial_rto is outside [min_rto, max_rto]",
        })
    }
}

impl core::error::Error for RttConfigError {}

impl RttConfig {
    /// Checks the configuration; [`RttEstimator::new`] would silently adjust
    /// a configuration this rejects (see [`RttConfig::clamped`]).
    pub fn check(&self) -> Result<(), RttConfigError> {
        if self.max_rto < MAX_RTO_FLOOR {
            Err(RttConfigError::MaxRtoTooSmall)
        } else if self.min_rto == Duration::ZERO {
            Err(RttConfigError::MinRtoZero)
        } else if self.min_rto > self.max_rto {
            Err(RttConfigError::MinRtoAboveMax)
        } else if self.initial_rto < self.min_rto || self.initial_rto > self.max_rto {
            Err(RttConfigError::InitialRtoOutOfRange)
        } else {
            Ok(())
        }
    }

    /// The nearest configuration that passes [`RttConfig::check`]:
    /// `max_rto` raised to at least 60 s, `min_rto` moved into
    /// `[1 µs, max_rto]`, `initial_rto` into `[min_rto, max_rto]`. The
    /// other fields are used as given.
    pub fn clamped(self) -> RttConfig {
        let max_rto = self.max_rto.max(MAX_RTO_FLOOR);
        let min_rto = self.min_rto.clamp(Duration::from_micros(1), max_rto);
        RttConfig {
            max_rto,
            min_rto,
            initial_rto: self.initial_rto.clamp(min_rto, max_rto),
            ..self
        }
    }
}

/// Fractional bits of the fixed-point SRTT and RTTVAR.
const FRAC_BITS: u32 = 16;

/// Microseconds to fixed point; exact, as a `u64` shifted by 16 fits a `u128`.
fn to_fixed(d: Duration) -> u128 {
    u128::from(d.total_micros()) << FRAC_BITS
}

/// `x / 2^k` rounded to the nearest fixed-point unit (halves up), so the
/// smoothing is not biased downwards.
fn div_pow2_round(x: u128, k: u32) -> u128 {
    (x + (1 << (k - 1))) >> k
}

/// Fixed point to whole microseconds, to the nearest; saturating.
fn round_to_duration(x: u128) -> Duration {
    let micros = div_pow2_round(x, FRAC_BITS);
    Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
}

/// Fixed point to whole microseconds, rounded up so a timer never fires
/// before the exact value; saturating.
fn ceil_to_duration(x: u128) -> Duration {
    let micros = x.div_ceil(1 << FRAC_BITS);
    Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
}

/// One RTT sample and when it was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TimedRtt {
    at: Instant,
    rtt: Duration,
}

/// A running minimum over a sliding time window, in constant space.
///
/// Kathleen Nichols' windowed-extremum idea (also behind Linux's
/// `win_minmax`): keep the best sample and the best ones seen in later
/// parts of the window, `[0] <= [1] <= [2]` in value and in age order, so
/// when the best grows older than the window the next candidate takes over
/// without keeping every sample. The estimate is the minimum of the samples
/// it kept, which may be above the true minimum of the window when a
/// candidate was not recorded; it is never older than the window at the
/// time of the latest sample. With no new samples the estimate stays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct WindowedMin {
    window: Duration,
    best: Option<[TimedRtt; 3]>,
}

impl WindowedMin {
    const fn new(window: Duration) -> WindowedMin {
        WindowedMin { window, best: None }
    }

    fn get(&self) -> Option<Duration> {
        self.best.map(|b| b[0].rtt)
    }

    fn update(&mut self, at: Instant, rtt: Duration) {
        let new = TimedRtt { at, rtt };
        let window = self.window;
        let Some(b) = &mut self.best else {
            self.best = Some([new; 3]);
            return;
        };
        // A new minimum, or every kept sample is stale: start over.
        if rtt <= b[0].rtt || at - b[2].at > window {
            *b = [new; 3];
            return;
        }
        // Keep the new sample as a later candidate if it beats one.
        if rtt <= b[1].rtt {
            b[1] = new;
            b[2] = new;
        } else if rtt <= b[2].rtt {
            b[2] = new;
        }
        let age = at - b[0].at;
        if age > window {
            // The best expired: promote the candidates. If the second one
            // is stale too, promote again; the third passed the check above.
            *b = [b[1], b[2], new];
            if at - b[0].at > window {
                *b = [b[1], b[2], new];
            }
        } else if b[1].at == b[0].at && age > window.div(4) {
            // A quarter window went by with no second candidate: take this
            // sample, so the estimate can rise once the best expires.
            b[1] = new;
            b[2] = new;
        } else if b[2].at == b[1].at && age > window.div(2) {
            // Likewise for the third candidate after half a window.
            b[2] = new;
        }
    }
}

/// The RFC 6298 RTT estimator and RTO calculator for one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RttEstimator {
    config: RttConfig,
    /// SRTT in fixed point; `None` until the first sample.
    srtt: Option<u128>,
    /// RTTVAR in fixed point; meaningful once `srtt` is `Some`.
    rttvar: u128,
    latest: Option<Duration>,
    /// The RTO before backoff, already within `[min_rto, max_rto]`.
    base_rto: Duration,
    backoff: u32,
    /// A timeout happened before the first sample (RFC 6298 §5.7).
    timed_out_before_sample: bool,
    /// [`RttEstimator::on_handshake_complete`] was called.
    handshake_done: bool,
    min_rtt: WindowedMin,
}

impl RttEstimator {
    /// An estimator with no samples, whose RTO is `config.initial_rto`.
    ///
    /// A configuration that fails [`RttConfig::check`] is adjusted with
    /// [`RttConfig::clamped`], so [`RttEstimator::rto`] always lies in
    /// `[min_rto, max_rto]` with `max_rto >= 60 s` and `min_rto > 0`.
    pub fn new(config: RttConfig) -> RttEstimator {
        let config = config.clamped();
        RttEstimator {
            config,
            srtt: None,
            rttvar: 0,
            latest: None,
            base_rto: config.initial_rto,
            backoff: 0,
            timed_out_before_sample: false,
            handshake_done: false,
            min_rtt: WindowedMin::new(config.min_rtt_window),
        }
    }

    /// The configuration in use (after clamping).
    #[cfg(any(test, feature = "internals"))]
    pub fn config(&self) -> &RttConfig {
        &self.config
    }

    /// Takes an RTT measurement `rtt` made at `now`.
    ///
    /// Updates SRTT and RTTVAR (RFC 6298 §2.2 for the first sample, §2.3
    /// after), recomputes RTO = SRTT + max(G, 4·RTTVAR) within
    /// `[min_rto, max_rto]`, clears the backoff, and feeds the minimum-RTT
    /// filter. Per Karn's algorithm (§3) the caller must not pass a sample
    /// from a retransmitted segment unless timestamps (RFC 7323 §4) show
    /// which transmission was acknowledged.
    pub fn on_sample(&mut self, now: Instant, rtt: Duration) {
        self.on_sample_with_min(now, rtt, rtt);
    }

    /// [`RttEstimator::on_sample`] for an ACK that covers several
    /// segments: `rtt`, timed from the oldest of them, feeds SRTT and
    /// RTTVAR (a conservative sample for the RTO, including any delay the
    /// receiver's delayed ACK added), and `newest`, timed from the most
    /// recently sent one, feeds the minimum-RTT filter (as Linux's
    /// `seq_rtt_us` and `ca_rtt_us`).
    pub fn on_sample_with_min(&mut self, now: Instant, rtt: Duration, newest: Duration) {
        self.smooth(rtt);
        self.min_rtt.update(now, newest.min(rtt));
    }

    /// A sample known only to a coarse resolution, such as one from an
    /// echoed timestamp (RFC 7323 §4) whose clock ticks every millisecond:
    /// it updates SRTT, RTTVAR and the RTO like [`RttEstimator::on_sample`],
    /// but feeds the minimum-RTT filter only while it holds nothing, since
    /// a tick-rounded value would otherwise pull a finer minimum off by up
    /// to a tick.
    pub fn on_coarse_sample(&mut self, now: Instant, rtt: Duration) {
        self.smooth(rtt);
        if self.min_rtt.get().is_none() {
            self.min_rtt.update(now, rtt);
        }
    }

    fn smooth(&mut self, rtt: Duration) {
        let r = to_fixed(rtt);
        match self.srtt {
            None => {
                // §2.2: SRTT <- R, RTTVAR <- R/2 (exact: r has 16 zero
                // fractional bits).
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                // §2.3, beta = 1/4 and alpha = 1/8. RTTVAR uses the SRTT
                // from before this sample, so it is updated first.
                self.rttvar = div_pow2_round(3 * self.rttvar + srtt.abs_diff(r), 2);
                self.srtt = Some(div_pow2_round(7 * srtt + r, 3));
            }
        }
        self.latest = Some(rtt);
        self.base_rto = self.compute_rto();
        // A fresh RTO from a new measurement replaces the backed-off one
        // (the note after RFC 6298 §5.7).
        self.backoff = 0;
        self.timed_out_before_sample = false;
    }

    /// RTO = SRTT + max(G, K·RTTVAR, min_rto) with K = 4 (§2.3), rounded up
    /// to the microsecond and capped by §2.5.
    ///
    /// The floor applies to the variance term, as in Linux, rather than to
    /// the sum as §2.4 writes it: on a steady path with an RTT near
    /// `min_rto`, a floored sum leaves the timer barely above one RTT, so
    /// it races RACK's reordering timer and the peer's delayed ACK and
    /// fires spuriously (the simulator counted 212 timeouts in 600 s at
    /// 100 ms and 1 % loss; 0–4 with the floor on the variance term).
    fn compute_rto(&self) -> Duration {
        let Some(srtt) = self.srtt else {
            return self.config.initial_rto;
        };
        let variance = to_fixed(self.config.granularity)
            .max(4 * self.rttvar)
            .max(to_fixed(self.config.min_rto));
        ceil_to_duration(srtt + variance).clamp(self.config.min_rto, self.config.max_rto)
    }

    /// The retransmission timer expired: back off (RFC 6298 §5.5). Each call
    /// doubles [`RttEstimator::rto`], which stops at `max_rto`.
    pub fn on_timeout(&mut self) {
        self.backoff = self.backoff.saturating_add(1);
        if self.srtt.is_none() && !self.handshake_done {
            self.timed_out_before_sample = true;
        }
    }

    /// Clears the backoff without a new sample, returning the RTO to the
    /// value computed from SRTT and RTTVAR (or the initial RTO).
    ///
    /// RFC 6298 keeps the backed-off RTO until a new sample arrives, which
    /// [`RttEstimator::on_sample`] handles; call this only to deviate as
    /// some stacks do, e.g. when an ACK for new data arrives but Karn's
    /// algorithm forbids a sample from it.
    pub fn reset_backoff(&mut self) {
        self.backoff = 0;
    }

    /// The three-way handshake completed and data transmission begins.
    ///
    /// RFC 6298 §5.7: if the timer expired awaiting the ACK of a SYN (ours,
    /// or the SYN-ACK of a passive open) and the RTO in use is below 3 s,
    /// the RTO is re-initialized to 3 s. This applies when no sample was
    /// taken since (a sample, e.g. from a timestamped SYN-ACK, gives a
    /// measured RTO instead, as Linux does). The backoff is cleared either
    /// way: the re-initialized RTO replaces the backed-off one. Call it once
    /// per connection; later calls change nothing.
    pub fn on_handshake_complete(&mut self) {
        if self.timed_out_before_sample && self.srtt.is_none() && !self.handshake_done {
            self.base_rto = self
                .base_rto
                .max(SYN_TIMEOUT_FALLBACK_RTO)
                .min(self.config.max_rto);
            self.backoff = 0;
        }
        self.timed_out_before_sample = false;
        self.handshake_done = true;
    }

    /// The current RTO with backoff applied: the base RTO doubled once per
    /// [`RttEstimator::on_timeout`] since the last sample or reset, capped
    /// at `max_rto` (RFC 6298 §5.5 and §2.5). Always within
    /// `[min_rto, max_rto]`.
    pub fn rto(&self) -> Duration {
        let factor = 1u64.checked_shl(self.backoff).unwrap_or(u64::MAX);
        self.base_rto
            .saturating_mul(factor)
            .min(self.config.max_rto)
    }

    /// The smoothed RTT, to the nearest microsecond; `None` before any
    /// sample.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt.map(round_to_duration)
    }

    /// The RTT variation, to the nearest microsecond; `None` before any
    /// sample.
    pub fn rttvar(&self) -> Option<Duration> {
        self.srtt.map(|_| round_to_duration(self.rttvar))
    }

    /// The most recent sample, as given.
    #[cfg(any(test, feature = "internals"))]
    pub fn latest(&self) -> Option<Duration> {
        self.latest
    }

    /// The minimum RTT over the last [`RttConfig::min_rtt_window`], as of
    /// the latest sample (see [`RttConfig::min_rtt_window`] for why it is
    /// windowed); `None` before any sample.
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt.get()
    }

    /// Timeouts since the last sample or backoff reset; the connection can
    /// use it to give up (RFC 9293 §3.8.3, R1 and R2).
    #[cfg(any(test, feature = "internals"))]
    pub fn backoff_count(&self) -> u32 {
        self.backoff
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::{TestResult, quickcheck};
    use std::vec::Vec;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    fn at_s(n: u64) -> Instant {
        Instant::from_secs(n)
    }

    #[test]
    fn defaults() {
        let c = RttConfig::default();
        assert_eq!(c.check(), Ok(()));
        let e = RttEstimator::new(c);
        assert_eq!(e.rto(), ms(1_000));
        assert_eq!(e.srtt(), None);
        assert_eq!(e.rttvar(), None);
        assert_eq!(e.latest(), None);
        assert_eq!(e.min_rtt(), None);
        assert_eq!(e.backoff_count(), 0);
    }

    #[test]
    fn exact_rto_sequence() {
        // Default config: G = 1 ms, bounds [200 ms, 120 s]. All values in ms.
        let mut e = RttEstimator::new(RttConfig::default());
        // R1 = 100: SRTT = 100, RTTVAR = 50, RTO = 100 + max(1, 200) = 300.
        e.on_sample(at_s(1), ms(100));
        assert_eq!(
            (e.srtt(), e.rttvar(), e.rto()),
            (Some(ms(100)), Some(ms(50)), ms(300))
        );
        // R2 = 200: RTTVAR = 3/4*50 + 1/4*|100-200| = 37.5 + 25 = 62.5,
        // SRTT = 7/8*100 + 1/8*200 = 87.5 + 25 = 112.5,
        // RTO = 112.5 + 4*62.5 = 362.5.
        e.on_sample(at_s(2), ms(200));
        assert_eq!(e.rttvar(), Some(us(62_500)));
        assert_eq!(e.srtt(), Some(us(112_500)));
        assert_eq!(e.rto(), us(362_500));
        // R3 = 100: RTTVAR = 3/4*62.5 + 1/4*|112.5-100| = 46.875 + 3.125 = 50,
        // SRTT = 7/8*112.5 + 1/8*100 = 98.4375 + 12.5 = 110.9375,
        // RTO = 110.9375 + 200 = 310.9375 ms = 310937.5 us -> 310938 us (up).
        e.on_sample(at_s(3), ms(100));
        assert_eq!(e.rttvar(), Some(us(50_000)));
        // 110937.5 us rounds to the nearest: 110938.
        assert_eq!(e.srtt(), Some(us(110_938)));
        assert_eq!(e.rto(), us(310_938));
        // R4 = 120: RTTVAR = 3/4*50 + 1/4*|110.9375-120| = 37.5 + 2.265625
        // = 39.765625, SRTT = 7/8*110.9375 + 15 = 97.0703125 + 15
        // = 112.0703125; 4*RTTVAR = 159.0625 is below min_rto, which floors
        // the variance term: RTO = 112.0703125 + 200 = 312.0703125 ms
        // = 312070.3125 us -> 312071 us (RFC 6298's floored sum would give
        // 271.133 ms).
        e.on_sample(at_s(4), ms(120));
        assert_eq!(e.rttvar(), Some(us(39_766)));
        assert_eq!(e.srtt(), Some(us(112_070)));
        assert_eq!(e.rto(), us(312_071));
        assert_eq!(e.latest(), Some(ms(120)));
        assert_eq!(e.min_rtt(), Some(ms(100)));
    }

    #[test]
    fn granularity_floors_the_variance_term() {
        // min_rto 1 us so the raw value shows. A steady 10 ms path:
        // RTTVAR starts at 5 ms and shrinks by 3/4 per sample; 4*RTTVAR
        // drops below G = 1 ms when 5*(3/4)^k < 0.25, first at k = 11
        // (5 * 0.75^11 = 0.2112 ms), i.e. after the 12th sample.
        let config = RttConfig {
            min_rto: us(1),
            ..RttConfig::default()
        };
        let mut e = RttEstimator::new(config);
        e.on_sample(at_s(0), ms(10));
        assert_eq!(e.rto(), ms(30));
        for i in 1..11 {
            e.on_sample(at_s(i), ms(10));
        }
        // After 11 samples RTTVAR = 5*0.75^10 = 0.28157 ms; 4*RTTVAR = 1.1263
        // ms > G: RTO = 10 + 1.12627 = 11.12627 ms, 11126.27 us -> 11127 us.
        assert_eq!(e.rto(), us(11_127));
        e.on_sample(at_s(11), ms(10));
        assert_eq!(e.rto(), ms(11));
    }

    #[test]
    fn clamped_to_min_and_max() {
        let mut e = RttEstimator::new(RttConfig::default());
        // 1 ms: RTO = 1 + max(G = 1, 4*RTTVAR = 2, min_rto = 200) = 201 ms.
        e.on_sample(at_s(0), ms(1));
        assert_eq!(e.rto(), ms(201));
        // Zero RTT: RTO = 0 + 200 ms.
        let mut z = RttEstimator::new(RttConfig::default());
        z.on_sample(at_s(0), Duration::ZERO);
        assert_eq!(z.rto(), ms(200));
        assert_eq!(z.srtt(), Some(Duration::ZERO));
        // 100 s: RTO = 100 + 200 = 300 s, cut to 120 s.
        let mut big = RttEstimator::new(RttConfig::default());
        big.on_sample(at_s(0), Duration::from_secs(100));
        assert_eq!(big.rto(), Duration::from_secs(120));
        assert_eq!(big.srtt(), Some(Duration::from_secs(100)));
    }

    #[test]
    fn huge_samples_do_not_overflow() {
        let mut e = RttEstimator::new(RttConfig::default());
        e.on_sample(at_s(0), Duration::MAX);
        assert_eq!(e.srtt(), Some(Duration::MAX));
        assert_eq!(e.rttvar(), Some(Duration::from_micros(u64::MAX / 2 + 1)));
        assert_eq!(e.rto(), Duration::from_secs(120));
        e.on_sample(at_s(1), Duration::ZERO);
        e.on_sample(Instant::MAX, Duration::MAX);
        assert_eq!(e.rto(), Duration::from_secs(120));
        for _ in 0..200 {
            e.on_timeout();
        }
        assert_eq!(e.rto(), Duration::from_secs(120));
        assert_eq!(e.backoff_count(), 200);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut e = RttEstimator::new(RttConfig::default());
        e.on_sample(at_s(0), ms(100)); // RTO 300 ms
        let mut expected = Vec::new();
        let mut seen = Vec::new();
        for i in 0..12u32 {
            // 300 ms * 2^i: 0.3, 0.6, 1.2, ..., 76.8 s, then 120 s.
            expected.push(ms(300 << i).min(Duration::from_secs(120)));
            seen.push(e.rto());
            e.on_timeout();
        }
        assert_eq!(seen, expected);
        assert_eq!(seen[8], ms(76_800));
        assert_eq!(seen[9], Duration::from_secs(120));
        assert_eq!(e.backoff_count(), 12);
        // A new sample collapses the backoff (note after RFC 6298 §5.7):
        // RTTVAR = 3/4*50 + 0 = 37.5, SRTT = 100, 4*RTTVAR = 150 is below
        // min_rto: RTO = 100 + 200 = 300.
        e.on_sample(at_s(1), ms(100));
        assert_eq!(e.backoff_count(), 0);
        assert_eq!(e.rto(), ms(300));
        e.on_timeout();
        assert_eq!(e.rto(), ms(600));
        e.reset_backoff();
        assert_eq!(e.rto(), ms(300));
    }

    #[test]
    fn backoff_before_any_sample_starts_from_the_initial_rto() {
        let mut e = RttEstimator::new(RttConfig::default());
        e.on_timeout();
        e.on_timeout();
        assert_eq!(e.rto(), ms(4_000));
    }

    #[test]
    fn syn_timeout_then_established_uses_three_seconds() {
        // SYN timed out twice (1 s, then 2 s), handshake then completed with
        // no sample (Karn): data starts with RTO = 3 s, not 4 s nor 1 s.
        let mut e = RttEstimator::new(RttConfig::default());
        e.on_timeout();
        e.on_timeout();
        e.on_handshake_complete();
        assert_eq!(e.rto(), ms(3_000));
        assert_eq!(e.backoff_count(), 0);
        // Once only: a later call does nothing.
        e.on_timeout();
        e.on_handshake_complete();
        assert_eq!(e.rto(), ms(6_000));

        // No SYN timeout: the initial RTO stays.
        let mut plain = RttEstimator::new(RttConfig::default());
        plain.on_handshake_complete();
        assert_eq!(plain.rto(), ms(1_000));

        // The SYN timed out but the SYN-ACK gave a sample (timestamps):
        // the measured RTO wins.
        let mut sampled = RttEstimator::new(RttConfig::default());
        sampled.on_timeout();
        sampled.on_sample(at_s(1), ms(100));
        sampled.on_handshake_complete();
        assert_eq!(sampled.rto(), ms(300));

        // An initial RTO already above 3 s is kept.
        let slow = RttConfig {
            initial_rto: ms(5_000),
            ..RttConfig::default()
        };
        let mut s = RttEstimator::new(slow);
        s.on_timeout();
        s.on_handshake_complete();
        assert_eq!(s.rto(), ms(5_000));
    }

    #[test]
    fn config_check_and_clamp() {
        let d = RttConfig::default();
        let small_max = RttConfig {
            max_rto: Duration::from_secs(30),
            ..d
        };
        assert_eq!(small_max.check(), Err(RttConfigError::MaxRtoTooSmall));
        assert_eq!(small_max.clamped().max_rto, Duration::from_secs(60));
        let zero_min = RttConfig {
            min_rto: Duration::ZERO,
            ..d
        };
        assert_eq!(zero_min.check(), Err(RttConfigError::MinRtoZero));
        assert_eq!(zero_min.clamped().min_rto, us(1));
        let inverted = RttConfig {
            min_rto: Duration::from_secs(200),
            ..d
        };
        assert_eq!(inverted.check(), Err(RttConfigError::MinRtoAboveMax));
        let c = inverted.clamped();
        assert_eq!((c.min_rto, c.initial_rto), (d.max_rto, d.max_rto));
        let low_initial = RttConfig {
            initial_rto: ms(10),
            ..d
        };
        assert_eq!(
            low_initial.check(),
            Err(RttConfigError::InitialRtoOutOfRange)
        );
        assert_eq!(RttEstimator::new(low_initial).rto(), ms(200));
        for bad in [small_max, zero_min, inverted, low_initial] {
            assert_eq!(bad.clamped().check(), Ok(()));
        }
    }

    #[test]
    fn min_rtt_window_expiry() {
        let config = RttConfig {
            min_rtt_window: Duration::from_secs(10),
            ..RttConfig::default()
        };
        let mut e = RttEstimator::new(config);
        let mut feed = |t_ms: u64, rtt_ms: u64| {
            e.on_sample(Instant::from_millis(t_ms), ms(rtt_ms));
            e.min_rtt()
        };
        // t=0: 50 ms is the first sample: best = second = third = 50@0.
        assert_eq!(feed(0, 50), Some(ms(50)));
        // t=3 s: 70 beats nothing, but 3 s > window/4 with no second
        // candidate: second = third = 70@3.
        assert_eq!(feed(3_000, 70), Some(ms(50)));
        // t=6 s: 60 <= second (70): second = third = 60@6.
        assert_eq!(feed(6_000, 60), Some(ms(50)));
        // t=8 s: 65 beats nothing; 8 s > window/2 and third is second:
        // third = 65@8.
        assert_eq!(feed(8_000, 65), Some(ms(50)));
        // t=10 s: the best is exactly one window old, not older: kept.
        assert_eq!(feed(10_000, 90), Some(ms(50)));
        // t=10.000001 s... in ms steps: t=10.001 s, the best expired:
        // promote 60@6 and 65@8, the new sample becomes third.
        assert_eq!(feed(10_001, 90), Some(ms(60)));
        // t=30 s: even the third candidate (90@10.001) is stale: restart
        // from this sample, though it is larger than the old minimum.
        assert_eq!(feed(30_000, 100), Some(ms(100)));
        // A new low replaces everything at once.
        assert_eq!(feed(31_000, 40), Some(ms(40)));
    }

    #[test]
    fn min_rtt_boundary_to_the_microsecond() {
        let config = RttConfig {
            min_rtt_window: Duration::from_secs(10),
            ..RttConfig::default()
        };
        let mut e = RttEstimator::new(config);
        e.on_sample(Instant::ZERO, ms(50));
        e.on_sample(Instant::from_secs(6), ms(60)); // second = third = 60@6
        e.on_sample(Instant::from_secs(10), ms(70));
        assert_eq!(e.min_rtt(), Some(ms(50)));
        e.on_sample(Instant::from_micros(10_000_001), ms(70));
        assert_eq!(e.min_rtt(), Some(ms(60)));
    }

    #[test]
    fn error_display() {
        use std::string::ToString;
        assert_eq!(
            RttConfigError::MaxRtoTooSmall.to_string(),
            "max_rto is below 60 s (RFC 6298 section 2.5)"
        );
    }

    quickcheck! {
        fn rto_always_within_bounds(
            ops: Vec<(u64, u8)>,
            min_ms: u32,
            max_s: u16,
            initial_ms: u32,
            g_us: u32
        ) -> bool {
            let config = RttConfig {
                initial_rto: ms(u64::from(initial_ms)),
                min_rto: ms(u64::from(min_ms)),
                max_rto: Duration::from_secs(u64::from(max_s)),
                granularity: us(u64::from(g_us)),
                min_rtt_window: Duration::from_secs(10),
            };
            let mut e = RttEstimator::new(config);
            let c = *e.config();
            let mut now = Instant::ZERO;
            let mut ok = c.max_rto >= MAX_RTO_FLOOR && c.min_rto <= c.max_rto;
            for (value, op) in ops {
                match op % 4 {
                    0 | 1 => {
                        now += us(value % 1_000_000_000);
                        e.on_sample(now, us(value));
                    }
                    2 => e.on_timeout(),
                    _ => e.on_handshake_complete(),
                }
                let rto = e.rto();
                ok &= c.min_rto <= rto && rto <= c.max_rto;
                ok &= e.min_rtt() <= e.latest();
            }
            ok
        }

        fn steady_rtt_converges_to_it(rtt_us: u64, n: u8) -> TestResult {
            // With identical samples SRTT stays exactly R and RTTVAR only
            // shrinks.
            let rtt = us(rtt_us);
            let mut e = RttEstimator::new(RttConfig::default());
            let mut last_var = Duration::MAX;
            for i in 0..=u64::from(n % 32) {
                e.on_sample(Instant::from_millis(i), rtt);
                if e.srtt() != Some(rtt) || e.rttvar() > Some(last_var) {
                    return TestResult::failed();
                }
                last_var = e.rttvar().unwrap_or(Duration::MAX);
            }
            TestResult::passed()
        }

        fn backoff_is_monotonic_and_capped(sample_us: u64, k: u8) -> bool {
            let mut e = RttEstimator::new(RttConfig::default());
            e.on_sample(Instant::ZERO, us(sample_us));
            let mut prev = e.rto();
            for _ in 0..k {
                e.on_timeout();
                let r = e.rto();
                if r < prev || r > Duration::from_secs(120) {
                    return false;
                }
                if prev.saturating_mul(2) <= Duration::from_secs(120) && r != prev.saturating_mul(2) {
                    return false;
                }
                prev = r;
            }
            true
        }
    }
}
