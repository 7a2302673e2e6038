//! HyStart++ (RFC 9406): leave the initial slow start when delay rises,
//! before the exponential growth overshoots the path and loses a window's
//! worth of data.
//!
//! [`HyStart`] is a helper a controller consults on each acknowledgment
//! while it is in slow start. It answers how much the window may grow
//! ([`HyStartStep::increase`]) and when slow start is over
//! ([`HyStartStep::exit_slow_start`], after which the controller sets
//! `ssthresh = cwnd`). Its three phases follow RFC 9406 §4.2:
//!
//! 1. standard slow start, `cwnd += min(N, L·SMSS)` per ACK, watching each
//!    round's minimum RTT;
//! 2. Conservative Slow Start (CSS), entered when a round's minimum RTT is
//!    at least the previous round's plus `clamp(last/8, 4 ms, 16 ms)` (after
//!    at least 8 samples), growing at a quarter of the rate; it returns to
//!    standard slow start if the RTT falls back below the baseline that
//!    triggered it;
//! 3. finished, after [`HyStart::CSS_ROUNDS`] rounds of CSS or on any loss.
//!
//! RFC 9406 §4.3 says HyStart++ SHOULD only govern the initial slow start
//! (while ssthresh is still "arbitrarily high"); later slow starts end at
//! the ssthresh a loss discovered. The controllers here follow that: once
//! finished, a `HyStart` stays finished (until a spurious-loss undo
//! restores an earlier copy of it).
//!
//! # Rounds without sequence numbers
//!
//! The RFC delimits rounds with sequence numbers: a round starts when an
//! ACK passes `windowEnd` and sets `windowEnd = SND.NXT`. The
//! [`CongestionControl`](super::CongestionControl) trait carries no
//! sequence numbers, so rounds are counted in bytes instead: when a round
//! starts, the bytes still outstanding (`prior_in_flight − acked`, which is
//! `SND.NXT − SND.UNA` at that moment) are what the round must see
//! delivered; the round ends on the ACK that delivers *more* than that,
//! i.e. the first ACK beyond the old `SND.NXT` — the RFC's `ACK >
//! windowEnd`. Under in-order delivery this is the same boundary. A
//! time-based round (one SRTT) was rejected: the SRTT is inflated by the
//! very queue HyStart++ is trying to detect, so rounds would stretch as
//! delay grows, and it depends on an estimate rather than on what the
//! acknowledgments say.

use core::cmp;

use super::AckInfo;
use crate::time::Duration;

/// Where a [`HyStart`] is in RFC 9406's algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HyStartPhase {
    /// Standard slow start, watching for a delay increase.
    SlowStart,
    /// Conservative Slow Start: growth divided by
    /// [`HyStart::CSS_GROWTH_DIVISOR`].
    ConservativeSlowStart,
    /// HyStart++ no longer applies: slow start ended (after
    /// [`HyStart::CSS_ROUNDS`] CSS rounds, or through a loss).
    Finished,
}

/// What [`HyStart::on_ack`] decided for one acknowledgment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HyStartStep {
    /// Bytes the congestion window may grow by.
    pub increase: usize,
    /// CSS has run [`HyStart::CSS_ROUNDS`] rounds: enter congestion
    /// avoidance by setting `ssthresh = cwnd` (RFC 9406 §4.2).
    pub exit_slow_start: bool,
}

/// HyStart++ state for one connection (RFC 9406).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HyStart {
    /// L, in segments: the most one ACK may grow the window by (RFC 9406
    /// §4.2); `usize::MAX` is "infinity".
    burst_limit: usize,
    phase: HyStartPhase,
    /// `lastRoundMinRTT`; `None` is "infinity".
    last_round_min_rtt: Option<Duration>,
    /// `currentRoundMinRTT`; `None` is "infinity".
    current_round_min_rtt: Option<Duration>,
    /// `rttSampleCount` of the current round.
    rtt_sample_count: u32,
    /// Bytes the current round must still see delivered before the next
    /// delivery ends it (our `windowEnd`, see the module docs); `None`
    /// before the first round.
    round_remaining: Option<usize>,
    /// `cssBaselineMinRtt`; `None` is "infinity".
    css_baseline_min_rtt: Option<Duration>,
    /// CSS rounds begun, the partial round CSS was entered in included.
    css_rounds: u32,
}

impl HyStart {
    /// Lower bound of the delay-increase threshold (RFC 9406 §4.3).
    pub const MIN_RTT_THRESH: Duration = Duration::from_millis(4);
    /// Upper bound of the delay-increase threshold (RFC 9406 §4.3).
    pub const MAX_RTT_THRESH: Duration = Duration::from_millis(16);
    /// The threshold is the last round's minimum RTT divided by this,
    /// clamped to the bounds above (RFC 9406 §4.3).
    pub const MIN_RTT_DIVISOR: u64 = 8;
    /// RTT samples a round needs before it may decide anything (RFC 9406
    /// §4.3).
    pub const N_RTT_SAMPLE: u32 = 8;
    /// CSS grows the window this many times slower than slow start
    /// (RFC 9406 §4.3).
    pub const CSS_GROWTH_DIVISOR: usize = 4;
    /// CSS lasts at most this many rounds (RFC 9406 §4.3).
    pub const CSS_ROUNDS: u32 = 5;
    /// L for a sender that does not pace (RFC 9406 §4.3): an ACK grows the
    /// window by at most 8 segments, limiting line-rate bursts.
    pub const NON_PACED_L: usize = 8;

    /// HyStart++ for a non-paced sender: L = [`HyStart::NON_PACED_L`].
    pub const fn new() -> HyStart {
        HyStart::with_burst_limit(HyStart::NON_PACED_L)
    }

    /// HyStart++ for a paced sender: L = infinity (RFC 9406 §4.3 — pacing
    /// already spreads the bursts out).
    pub const fn paced() -> HyStart {
        HyStart::with_burst_limit(usize::MAX)
    }

    /// HyStart++ with L = `segments` (`usize::MAX` for infinity; 0 is
    /// treated as 1 so slow start can always grow).
    pub const fn with_burst_limit(segments: usize) -> HyStart {
        HyStart {
            burst_limit: if segments == 0 { 1 } else { segments },
            phase: HyStartPhase::SlowStart,
            last_round_min_rtt: None,
            current_round_min_rtt: None,
            rtt_sample_count: 0,
            round_remaining: None,
            css_baseline_min_rtt: None,
            css_rounds: 0,
        }
    }

    /// L, in segments (`usize::MAX` is infinity).
    pub const fn burst_limit(&self) -> usize {
        self.burst_limit
    }

    /// The current phase.
    pub const fn phase(&self) -> HyStartPhase {
        self.phase
    }

    /// True until HyStart++ has finished: the controller should ask
    /// [`HyStart::on_ack`] for its slow-start growth.
    pub fn is_active(&self) -> bool {
        self.phase != HyStartPhase::Finished
    }

    /// True in Conservative Slow Start.
    pub fn in_css(&self) -> bool {
        self.phase == HyStartPhase::ConservativeSlowStart
    }

    /// The minimum RTT of the current round so far, if any sample arrived.
    pub const fn current_round_min_rtt(&self) -> Option<Duration> {
        self.current_round_min_rtt
    }

    /// The minimum RTT of the previous round, if it had a sample.
    pub const fn last_round_min_rtt(&self) -> Option<Duration> {
        self.last_round_min_rtt
    }

    /// The delay-increase threshold for a previous round whose minimum was
    /// `last`: `clamp(last / MIN_RTT_DIVISOR, MIN_RTT_THRESH,
    /// MAX_RTT_THRESH)` (RFC 9406 §4.2).
    pub fn rtt_threshold(last: Duration) -> Duration {
        cmp::max(
            HyStart::MIN_RTT_THRESH,
            cmp::min(last.div(HyStart::MIN_RTT_DIVISOR), HyStart::MAX_RTT_THRESH),
        )
    }

    /// Slow start ended by a loss or ECN mark, or a timeout: HyStart++ is
    /// over and the controller's own loss response sets ssthresh (RFC 9406
    /// §4.2: loss during slow start or CSS enters congestion avoidance).
    pub fn on_congestion(&mut self) {
        self.phase = HyStartPhase::Finished;
    }

    /// One acknowledgment that arrived in slow start. `mss` is the
    /// controller's SMSS. Returns the growth and whether to leave slow
    /// start; once [finished](HyStart::is_active) it returns no growth.
    pub fn on_ack(&mut self, ack: &AckInfo, mss: usize) -> HyStartStep {
        let none = HyStartStep {
            increase: 0,
            exit_slow_start: false,
        };
        if self.phase == HyStartPhase::Finished || ack.acked_bytes == 0 {
            return none;
        }
        let acked = ack.acked_bytes;

        // A new round starts on the first ACK beyond the data that was
        // outstanding when the current one started (see the module docs).
        let round_over = match self.round_remaining {
            None => true,
            Some(left) => acked > left,
        };
        if round_over {
            if self.phase == HyStartPhase::ConservativeSlowStart {
                // "If CSS_ROUNDS rounds are complete, enter congestion
                // avoidance by setting the ssthresh to the current cwnd."
                if self.css_rounds >= HyStart::CSS_ROUNDS {
                    self.phase = HyStartPhase::Finished;
                    return HyStartStep {
                        increase: 0,
                        exit_slow_start: true,
                    };
                }
                self.css_rounds += 1;
            }
            self.last_round_min_rtt = self.current_round_min_rtt;
            self.current_round_min_rtt = None;
            self.rtt_sample_count = 0;
            self.round_remaining = Some(ack.prior_in_flight.saturating_sub(acked));
        } else if let Some(left) = self.round_remaining {
            self.round_remaining = Some(left - acked);
        }

        // cwnd += min(N, L·SMSS), divided by CSS_GROWTH_DIVISOR in CSS.
        let mut increase = super::abc_increase(acked, self.burst_limit, mss);
        if self.phase == HyStartPhase::ConservativeSlowStart {
            increase /= HyStart::CSS_GROWTH_DIVISOR;
        }

        if let Some(rtt) = ack.rtt {
            self.current_round_min_rtt = Some(match self.current_round_min_rtt {
                Some(min) => cmp::min(min, rtt),
                None => rtt,
            });
            self.rtt_sample_count = self.rtt_sample_count.saturating_add(1);
        }

        if self.rtt_sample_count >= HyStart::N_RTT_SAMPLE {
            let current = self.current_round_min_rtt;
            match (self.phase, current, self.last_round_min_rtt) {
                // Delay increase over the last round: exit slow start into
                // CSS, with this round's minimum as the baseline.
                (HyStartPhase::SlowStart, Some(current), Some(last))
                    if current >= last + HyStart::rtt_threshold(last) =>
                {
                    self.css_baseline_min_rtt = Some(current);
                    self.phase = HyStartPhase::ConservativeSlowStart;
                    // The partial round counts towards CSS_ROUNDS.
                    self.css_rounds = 1;
                }
                // The RTT fell back below the baseline: the exit was
                // spurious, resume slow start (with HyStart++).
                (HyStartPhase::ConservativeSlowStart, Some(current), _)
                    if self.css_baseline_min_rtt.is_some_and(|base| current < base) =>
                {
                    self.css_baseline_min_rtt = None;
                    self.phase = HyStartPhase::SlowStart;
                }
                _ => {}
            }
        }

        HyStartStep {
            increase,
            exit_slow_start: false,
        }
    }
}

impl Default for HyStart {
    /// The same as [`HyStart::new`].
    fn default() -> HyStart {
        HyStart::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Instant;

    const MSS: usize = 1000;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn ack(acked: usize, prior_in_flight: usize, rtt: Option<Duration>) -> AckInfo {
        AckInfo {
            now: Instant::ZERO,
            acked_bytes: acked,
            prior_in_flight,
            rtt,
            srtt: rtt,
            min_rtt: rtt,
            app_limited: false,
        }
    }

    /// One round: `n` segments in flight, each acknowledged on its own with
    /// the given RTT. Returns the total growth and whether an ACK said to
    /// leave slow start.
    fn round(hs: &mut HyStart, n: usize, rtt: Duration) -> (usize, bool) {
        let mut grown = 0;
        let mut exit = false;
        for i in 0..n {
            let step = hs.on_ack(&ack(MSS, (n - i) * MSS, Some(rtt)), MSS);
            grown += step.increase;
            exit |= step.exit_slow_start;
        }
        (grown, exit)
    }

    #[test]
    fn threshold_is_clamped_between_4_and_16_ms() {
        assert_eq!(
            HyStart::rtt_threshold(ms(100)),
            Duration::from_micros(12_500)
        );
        assert_eq!(HyStart::rtt_threshold(ms(20)), ms(4));
        assert_eq!(HyStart::rtt_threshold(ms(200)), ms(16));
        assert_eq!(HyStart::rtt_threshold(Duration::ZERO), ms(4));
    }

    #[test]
    fn growth_is_limited_to_l_segments_per_ack() {
        let mut hs = HyStart::new();
        // min(N, 8·SMSS).
        assert_eq!(
            hs.on_ack(&ack(3 * MSS, 10 * MSS, None), MSS).increase,
            3 * MSS
        );
        assert_eq!(
            hs.on_ack(&ack(20 * MSS, 20 * MSS, None), MSS).increase,
            8 * MSS
        );
        // Paced: L = infinity.
        let mut paced = HyStart::paced();
        assert_eq!(
            paced.on_ack(&ack(20 * MSS, 20 * MSS, None), MSS).increase,
            20 * MSS
        );
        // A zero-byte ACK changes nothing.
        assert_eq!(paced.on_ack(&ack(0, 0, None), MSS).increase, 0);
        assert_eq!(HyStart::with_burst_limit(0).burst_limit(), 1);
    }

    #[test]
    fn rounds_end_on_the_first_ack_beyond_the_round_start_flight() {
        let mut hs = HyStart::new();
        // The first ACK starts round 1; 4 segments are still outstanding.
        hs.on_ack(&ack(MSS, 5 * MSS, Some(ms(50))), MSS);
        assert_eq!(hs.round_remaining, Some(4 * MSS));
        // Delivering exactly those 4 segments does not end the round (the
        // ACK has not passed windowEnd yet)...
        for i in 0..4 {
            hs.on_ack(&ack(MSS, (4 - i) * MSS, Some(ms(40))), MSS);
        }
        assert_eq!(hs.round_remaining, Some(0));
        assert_eq!(hs.current_round_min_rtt(), Some(ms(40)));
        assert_eq!(hs.last_round_min_rtt(), None);
        // ...the next delivery does, and the sample goes to the new round.
        hs.on_ack(&ack(MSS, 8 * MSS, Some(ms(45))), MSS);
        assert_eq!(hs.last_round_min_rtt(), Some(ms(40)));
        assert_eq!(hs.current_round_min_rtt(), Some(ms(45)));
        assert_eq!(hs.round_remaining, Some(7 * MSS));
    }

    #[test]
    fn delay_increase_enters_css_after_enough_samples() {
        // Last round 100 ms: threshold 12.5 ms, so 112.5 ms triggers CSS.
        let mut hs = HyStart::new();
        round(&mut hs, 10, ms(100));
        round(&mut hs, 10, Duration::from_micros(112_499));
        assert_eq!(hs.phase(), HyStartPhase::SlowStart);

        let mut hs = HyStart::new();
        round(&mut hs, 10, ms(100));
        // Seven samples are not enough to decide...
        for i in 0..7 {
            hs.on_ack(&ack(MSS, (10 - i) * MSS, Some(ms(150))), MSS);
        }
        assert_eq!(hs.phase(), HyStartPhase::SlowStart);
        // ...the eighth is.
        hs.on_ack(
            &ack(MSS, 3 * MSS, Some(Duration::from_micros(112_500))),
            MSS,
        );
        assert_eq!(hs.phase(), HyStartPhase::ConservativeSlowStart);
        assert!(hs.in_css());
        assert_eq!(
            hs.css_baseline_min_rtt,
            Some(Duration::from_micros(112_500))
        );
    }

    #[test]
    fn the_first_round_never_exits() {
        // No previous round: lastRoundMinRTT is infinity.
        let mut hs = HyStart::new();
        hs.on_ack(&ack(MSS, 20 * MSS, Some(ms(10))), MSS);
        for i in 0..18 {
            hs.on_ack(&ack(MSS, (19 - i) * MSS, Some(ms(500))), MSS);
        }
        assert_eq!(hs.phase(), HyStartPhase::SlowStart);
    }

    #[test]
    fn css_grows_a_quarter_as_fast() {
        let mut hs = HyStart::new();
        round(&mut hs, 10, ms(100));
        let (grown, _) = round(&mut hs, 10, ms(120));
        // CSS was entered on the 8th ACK: 8 ACKs at full rate, 2 at 1/4.
        assert_eq!(grown, 8 * MSS + 2 * MSS / 4);
        assert!(hs.in_css());
        let (grown, _) = round(&mut hs, 10, ms(120));
        assert_eq!(grown, 10 * MSS / 4);
    }

    #[test]
    fn rtt_back_below_baseline_resumes_slow_start() {
        let mut hs = HyStart::new();
        round(&mut hs, 10, ms(100));
        round(&mut hs, 10, ms(120));
        assert!(hs.in_css());
        // A CSS round whose minimum (after 8 samples) is below the 120 ms
        // baseline: back to slow start.
        let (grown, _) = round(&mut hs, 10, ms(110));
        assert_eq!(hs.phase(), HyStartPhase::SlowStart);
        assert_eq!(hs.css_baseline_min_rtt, None);
        // The 8th ACK still grew at the CSS rate (growth comes before the
        // check, as in RFC 9406 §4.2), the last two at the full rate.
        assert_eq!(grown, 8 * MSS / 4 + 2 * MSS);
    }

    #[test]
    fn css_ends_after_five_rounds() {
        let mut hs = HyStart::new();
        round(&mut hs, 10, ms(100));
        round(&mut hs, 10, ms(120)); // CSS round 1 (partial)
        for _ in 2..=HyStart::CSS_ROUNDS {
            let (_, exit) = round(&mut hs, 10, ms(120));
            assert!(!exit);
            assert!(hs.in_css());
        }
        // The first ACK after the fifth CSS round: enter congestion
        // avoidance, with no growth on that ACK.
        let step = hs.on_ack(&ack(MSS, 10 * MSS, Some(ms(120))), MSS);
        assert_eq!(
            step,
            HyStartStep {
                increase: 0,
                exit_slow_start: true
            }
        );
        assert_eq!(hs.phase(), HyStartPhase::Finished);
        assert!(!hs.is_active());
        // Finished means finished.
        assert_eq!(hs.on_ack(&ack(MSS, 10 * MSS, Some(ms(1))), MSS).increase, 0);
    }

    #[test]
    fn loss_finishes_hystart() {
        let mut hs = HyStart::default();
        round(&mut hs, 10, ms(100));
        hs.on_congestion();
        assert_eq!(hs.phase(), HyStartPhase::Finished);
        assert_eq!(hs.on_ack(&ack(MSS, 10 * MSS, None), MSS).increase, 0);
    }

    #[test]
    fn acks_without_samples_do_not_count() {
        let mut hs = HyStart::new();
        round(&mut hs, 10, ms(100));
        for i in 0..20 {
            hs.on_ack(&ack(MSS, (20 - i) * MSS, None), MSS);
        }
        // The round had no sample at all: the next one has no baseline.
        round(&mut hs, 10, ms(300));
        assert_eq!(hs.last_round_min_rtt(), None);
        assert_eq!(hs.phase(), HyStartPhase::SlowStart);
    }
}
