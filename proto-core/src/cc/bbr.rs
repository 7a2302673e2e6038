//! BBR (draft-ietf-ccwg-bbr, "BBRv3"): a model-based controller. It
//! estimates the path's bottleneck bandwidth (the highest delivery rate
//! recently measured) and its round-trip propagation delay (the lowest
//! RTT recently measured), and sends at that bandwidth — pacing is its
//! main control — with a window of about one or two bandwidth-delay
//! products as a cap. It reacts to loss only when loss shows that it
//! sent too much (above 2 % of what was in flight, or any loss over a
//! queue that stood all round), so random loss that is no sign of
//! congestion does not throttle it.
//!
//! The states and their gains (pacing gain × bandwidth is the sending
//! rate; cwnd gain × BDP caps what is in flight):
//!
//! | state | pacing gain | cwnd gain | leaves when |
//! |---|---|---|---|
//! | Startup | 2.77 | 2 | the bandwidth stopped growing by 25 % for 3 rounds, or loss was too high |
//! | Drain | 0.35 | 2 | in flight ≤ one BDP |
//! | ProbeBW Down | 0.90 | 2 | in flight ≤ one BDP and below the headroom (→ Cruise), or time to probe (→ Refill) |
//! | ProbeBW Cruise | 1 | 2 | time to probe: 2–3 s, or as many rounds as a Reno flow would take (≤ 63) |
//! | ProbeBW Refill | 1 | 2 | one round (the lower bounds are reset) |
//! | ProbeBW Up | 1.25 | 2.25 | the bandwidth plateaued, or loss was too high (→ Down) |
//! | ProbeRTT | 1 | 0.5 | after 200 ms and a round at the reduced window |
//!
//! ProbeRTT starts when the minimum RTT of the last 5 s was not seen
//! again (`PROBE_RTT_INTERVAL`); the minimum RTT itself is the lowest of
//! the last 10 s (`MIN_RTT_FILTER`). Loss shapes two kinds of bounds:
//! `inflight_hi` (set when a round of probing up loses more than 2 %,
//! raised while probing up without such loss) and the short-term `bw_lo` /
//! `inflight_lo` (cut by β = 0.7 after each round outside the probing
//! states that lost more than 2 %, reset when probing starts). The draft
//! judges loss per ACK and cuts the short-term bounds after any loss;
//! judging whole rounds against the threshold is where synack departs
//! from it, so that random loss does not wear the estimate down (see
//! [`Bbr::congestion_in_round`] and [`Bbr::is_inflight_too_high`]).
//! Loss below the threshold still counts when it comes over a standing
//! queue: a round in Cruise that loses data while even its lowest RTT lay
//! half the minimum RTT above it lowers `inflight_hi` to the flight, so
//! BBR leaves room to a loss-based flow that keeps the queue full (see
//! [`Bbr::is_congested_between_probes`]).
//!
//! The model runs on [`CongestionControl::on_rate_sample`], once per ACK;
//! the window is BBR's own during fast recovery too
//! ([`CongestionControl::governs_recovery`]): packet conservation for the
//! first round, then the model's window, restored when recovery ends.
//! Randomness the draft asks for (the probe wait) is drawn from the time
//! of the event, so a run stays a function of its inputs.

use super::{CongestionControl, CongestionEvent, MAX_WINDOW, RateSample, initial_window, sane_mss};
use crate::time::{Duration, Instant};

/// Gains in percent.
const STARTUP_PACING_GAIN: u64 = 277;
const STARTUP_CWND_GAIN: u64 = 200;
const DRAIN_PACING_GAIN: u64 = 35;
const DEFAULT_CWND_GAIN: u64 = 200;
const DOWN_PACING_GAIN: u64 = 90;
const UP_PACING_GAIN: u64 = 125;
const UP_CWND_GAIN: u64 = 225;
const PROBE_RTT_CWND_GAIN: u64 = 50;
/// Pace 1 % below the estimated bandwidth, so BBR's own queue drains.
const PACING_MARGIN_PERCENT: u64 = 1;
/// A round whose losses exceed this share of the data in flight shows
/// the flight was too large (`BBRLossThresh`, 2 %).
const LOSS_THRESH_PERCENT: u64 = 2;
/// A round whose lowest RTT lay this share (50 %) of the minimum RTT above
/// it had a queue of at least half a BDP standing all through it.
const STANDING_QUEUE_PERCENT: u64 = 50;
/// The multiplicative cut of the lower bounds on loss (`BBRBeta`, 0.7).
const BETA_PERCENT: u64 = 70;
/// Room left below `inflight_hi` for other flows (`BBRHeadroom`, 0.15).
const HEADROOM_PERCENT: u64 = 15;
/// The fewest segments the window holds (`BBRMinPipeCwnd`).
const MIN_PIPE_SEGMENTS: usize = 4;
/// Startup ends after this many rounds without 25 % growth.
const FULL_BW_ROUNDS: u32 = 3;
const FULL_BW_GROWTH_PERCENT: u64 = 125;
/// Startup ends on loss after this many loss events in a round.
const STARTUP_FULL_LOSS_COUNT: u32 = 6;
const MIN_RTT_FILTER: Duration = Duration::from_secs(10);
const PROBE_RTT_INTERVAL: Duration = Duration::from_secs(5);
const PROBE_RTT_DURATION: Duration = Duration::from_millis(200);
/// Rounds the ACK-aggregation filter covers.
const EXTRA_ACKED_ROUNDS: u64 = 10;
/// The most ACK aggregation the window makes room for, in time at the
/// estimated bandwidth.
const EXTRA_ACKED_MAX: Duration = Duration::from_millis(100);
/// The Reno-coexistence bound on rounds between bandwidth probes.
const MAX_RENO_ROUNDS: u64 = 63;

/// `p` percent (at most 100) of `v`, without overflow.
fn percent_u64(v: u64, p: u64) -> u64 {
    (u128::from(v) * u128::from(p.min(100)) / 100) as u64
}

/// `p` percent (at most 100) of `v` bytes, without overflow.
fn percent(v: usize, p: u64) -> usize {
    percent_u64(v as u64, p) as usize
}

/// BBR's states (ProbeBW in its four phases).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BbrState {
    /// Exponential search for the bandwidth.
    Startup,
    /// Draining the queue Startup built.
    Drain,
    /// Below the estimate, to leave room and drain.
    ProbeBwDown,
    /// At the estimate.
    ProbeBwCruise,
    /// At the estimate with the lower bounds lifted, one round before
    /// probing.
    ProbeBwRefill,
    /// Above the estimate, probing for more bandwidth.
    ProbeBwUp,
    /// A reduced window, to measure the propagation delay.
    ProbeRtt,
}

impl BbrState {
    fn is_probe_bw(self) -> bool {
        matches!(
            self,
            BbrState::ProbeBwDown
                | BbrState::ProbeBwCruise
                | BbrState::ProbeBwRefill
                | BbrState::ProbeBwUp
        )
    }

    /// The states that push above the estimate (no loss-driven cut of
    /// the lower bounds there).
    fn is_probing_bw(self) -> bool {
        matches!(
            self,
            BbrState::Startup | BbrState::ProbeBwRefill | BbrState::ProbeBwUp
        )
    }
}

/// Where the bandwidth-probing ACKs stand (`BBR.ack_phase`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AckPhase {
    Init,
    ProbeStarting,
    ProbeFeedback,
    ProbeStopping,
    Refilling,
}

/// A max filter over two consecutive periods (rounds or probe cycles).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct TwoPeriodMax {
    slots: [u64; 2],
}

impl TwoPeriodMax {
    fn get(&self) -> u64 {
        self.slots[0].max(self.slots[1])
    }

    fn update(&mut self, period: u64, value: u64) {
        let slot = &mut self.slots[(period % 2) as usize];
        *slot = (*slot).max(value);
    }

    /// A new period starts: the oldest is forgotten.
    fn advance(&mut self, period: u64) {
        self.slots[(period % 2) as usize] = 0;
    }
}

/// The BBR congestion controller (draft-ietf-ccwg-bbr).
#[derive(Clone, Debug)]
pub struct Bbr {
    mss: usize,
    state: BbrState,
    cwnd: usize,
    pacing_rate: u64,
    pacing_gain: u64,
    cwnd_gain: u64,
    send_quantum: usize,

    // The model.
    /// The bottleneck bandwidth estimate, bytes per second (`BBR.bw`).
    bw: u64,
    max_bw_filter: TwoPeriodMax,
    cycle_count: u64,
    min_rtt: Option<Duration>,
    min_rtt_stamp: Instant,
    probe_rtt_min_delay: Option<Duration>,
    probe_rtt_min_stamp: Instant,
    probe_rtt_expired: bool,
    extra_acked_filter: TwoPeriodMax,
    extra_acked_interval_start: Instant,
    extra_acked_delivered: u64,

    // Loss-driven bounds (`None`: unbounded).
    inflight_hi: Option<usize>,
    inflight_lo: Option<usize>,
    bw_lo: Option<u64>,
    bw_latest: u64,
    inflight_latest: usize,
    loss_round_delivered: u64,
    /// Where the loss round that just ended began (bytes delivered).
    last_round_began: u64,
    loss_round_start: bool,
    /// Bytes lost and delivered in the current loss round.
    lost_in_round: usize,
    delivered_in_round: usize,
    loss_events_in_round: u32,
    /// The last loss round lost more than `BBRLossThresh` of its data,
    /// and in how many loss events.
    last_round_congested: bool,
    last_round_loss_events: u32,
    /// The lowest RTT sampled in the current loss round.
    round_min_rtt: Option<Duration>,
    /// The last loss round lost data while a queue stood all through it
    /// (see [`Bbr::queue_stood_in_round`]).
    last_round_queued_loss: bool,

    // Round counting.
    delivered: u64,
    next_round_delivered: u64,
    round_count: u64,
    round_start: bool,

    // Startup's end.
    filled_pipe: bool,
    full_bw: u64,
    full_bw_count: u32,
    full_bw_now: bool,

    // ProbeBW.
    cycle_stamp: Instant,
    ack_phase: AckPhase,
    bw_probe_wait: Duration,
    rounds_since_bw_probe: u64,
    bw_probe_samples: bool,
    /// Bytes delivered when ProbeBW Up began.
    probe_up_began: u64,
    bw_probe_up_rounds: u32,
    bw_probe_up_acks: usize,
    probe_up_cnt: usize,

    // ProbeRTT.
    probe_rtt_done_stamp: Option<Instant>,
    probe_rtt_round_done: bool,
    /// Samples until this much is delivered measure ProbeRTT's reduced
    /// flight: they are treated as application-limited.
    probe_rtt_limited_until: u64,
    idle_restart: bool,

    // Loss recovery.
    in_recovery: bool,
    packet_conservation: bool,
    conservation_until: u64,
    prior_cwnd: usize,
}

impl Bbr {
    /// A controller for a connection whose MSS is `mss` (clamped to
    /// `1..=MAX_MSS`), in Startup with the RFC 6928 initial window.
    pub fn new(mss: usize) -> Bbr {
        let mss = sane_mss(mss);
        let mut bbr = Bbr {
            mss,
            state: BbrState::Startup,
            cwnd: initial_window(mss),
            pacing_rate: 0,
            pacing_gain: STARTUP_PACING_GAIN,
            cwnd_gain: STARTUP_CWND_GAIN,
            send_quantum: 2 * mss,
            bw: 0,
            max_bw_filter: TwoPeriodMax::default(),
            cycle_count: 0,
            min_rtt: None,
            min_rtt_stamp: Instant::ZERO,
            probe_rtt_min_delay: None,
            probe_rtt_min_stamp: Instant::ZERO,
            probe_rtt_expired: false,
            extra_acked_filter: TwoPeriodMax::default(),
            extra_acked_interval_start: Instant::ZERO,
            extra_acked_delivered: 0,
            inflight_hi: None,
            inflight_lo: None,
            bw_lo: None,
            bw_latest: 0,
            inflight_latest: 0,
            loss_round_delivered: 0,
            last_round_began: 0,
            loss_round_start: false,
            lost_in_round: 0,
            delivered_in_round: 0,
            loss_events_in_round: 0,
            last_round_congested: false,
            last_round_loss_events: 0,
            round_min_rtt: None,
            last_round_queued_loss: false,
            delivered: 0,
            next_round_delivered: 0,
            round_count: 0,
            round_start: false,
            filled_pipe: false,
            full_bw: 0,
            full_bw_count: 0,
            full_bw_now: false,
            cycle_stamp: Instant::ZERO,
            ack_phase: AckPhase::Init,
            bw_probe_wait: Duration::from_secs(2),
            rounds_since_bw_probe: 0,
            bw_probe_samples: false,
            probe_up_began: 0,
            bw_probe_up_rounds: 0,
            bw_probe_up_acks: 0,
            probe_up_cnt: usize::MAX,
            probe_rtt_done_stamp: None,
            probe_rtt_round_done: false,
            probe_rtt_limited_until: 0,
            idle_restart: false,
            in_recovery: false,
            packet_conservation: false,
            conservation_until: 0,
            prior_cwnd: 0,
        };
        bbr.enter_startup();
        bbr
    }

    /// The current state.
    pub fn state(&self) -> BbrState {
        self.state
    }

    /// The bottleneck bandwidth estimate in bytes per second (0 before
    /// the first sample).
    pub fn bandwidth(&self) -> u64 {
        self.bw
    }

    /// The windowed maximum delivery rate, bytes per second.
    pub fn max_bw(&self) -> u64 {
        self.max_bw_filter.get()
    }

    /// The minimum RTT estimate.
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt
    }

    /// The long-term bound on data in flight, if loss has set one.
    pub fn inflight_hi(&self) -> Option<usize> {
        self.inflight_hi
    }

    /// The short-term bound on data in flight, if loss has set one.
    pub fn inflight_lo(&self) -> Option<usize> {
        self.inflight_lo
    }

    fn min_pipe_cwnd(&self) -> usize {
        MIN_PIPE_SEGMENTS * self.mss
    }

    fn set_gains(&mut self, pacing: u64, cwnd: u64) {
        self.pacing_gain = pacing;
        self.cwnd_gain = cwnd;
    }

    fn enter_startup(&mut self) {
        self.state = BbrState::Startup;
        self.set_gains(STARTUP_PACING_GAIN, STARTUP_CWND_GAIN);
    }

    fn enter_drain(&mut self) {
        self.state = BbrState::Drain;
        self.set_gains(DRAIN_PACING_GAIN, STARTUP_CWND_GAIN);
    }

    /// `gain` percent of the bandwidth-delay product for `bw`, in bytes
    /// (`BBRBDPMultiple`); the initial window before an RTT is known.
    fn bdp_multiple(&self, bw: u64, gain: u64) -> usize {
        let Some(min_rtt) = self.min_rtt else {
            return initial_window(self.mss);
        };
        let bdp = u128::from(bw) * u128::from(min_rtt.total_micros()) / 1_000_000;
        let bytes = bdp * u128::from(gain) / 100;
        usize::try_from(bytes).unwrap_or(usize::MAX).min(MAX_WINDOW)
    }

    /// Room for TSO-like bursts and the send quantum (`BBRQuantizationBudget`).
    fn quantization_budget(&self, inflight: usize) -> usize {
        let offload = self.send_quantum.saturating_mul(3);
        let mut inflight = inflight.max(offload).max(self.min_pipe_cwnd());
        if self.state == BbrState::ProbeBwUp {
            inflight = inflight.saturating_add(2 * self.mss);
        }
        inflight
    }

    /// `BBRInflight(bw, gain)`.
    fn inflight(&self, bw: u64, gain: u64) -> usize {
        self.quantization_budget(self.bdp_multiple(bw, gain))
    }

    /// `BBRInflightWithHeadroom`: `inflight_hi` less 15 % for others.
    fn inflight_with_headroom(&self) -> Option<usize> {
        let hi = self.inflight_hi?;
        let headroom = percent(hi, HEADROOM_PERCENT).max(self.mss);
        Some(hi.saturating_sub(headroom).max(self.min_pipe_cwnd()))
    }

    /// `BBRTargetInflight`: the BDP, or the window if smaller.
    fn target_inflight(&self) -> usize {
        self.bdp_multiple(self.bw, 100).min(self.cwnd)
    }

    fn start_round(&mut self) {
        self.next_round_delivered = self.delivered;
    }

    fn update_round(&mut self, rs: &RateSample) {
        self.round_start = false;
        if rs.newly_acked > 0 && rs.prior_delivered >= self.next_round_delivered {
            self.start_round();
            self.round_count += 1;
            self.rounds_since_bw_probe += 1;
            self.round_start = true;
        }
    }

    // --- The model ---

    fn update_latest_delivery_signals(&mut self, rs: &RateSample) {
        self.loss_round_start = false;
        self.bw_latest = self.bw_latest.max(rs.delivery_rate.unwrap_or(0));
        self.inflight_latest = self
            .inflight_latest
            .max(usize::try_from(rs.delivered).unwrap_or(usize::MAX));
        if rs.newly_acked > 0 && rs.prior_delivered >= self.loss_round_delivered {
            self.last_round_began = self.loss_round_delivered;
            self.loss_round_delivered = self.delivered;
            self.loss_round_start = true;
        }
    }

    fn advance_latest_delivery_signals(&mut self, rs: &RateSample) {
        if self.loss_round_start {
            self.bw_latest = rs.delivery_rate.unwrap_or(0);
            self.inflight_latest = usize::try_from(rs.delivered).unwrap_or(usize::MAX);
        }
    }

    fn update_max_bw(&mut self, rs: &RateSample) {
        self.update_round(rs);
        let Some(rate) = rs.delivery_rate else { return };
        if rate >= self.max_bw() || !rs.is_app_limited {
            self.max_bw_filter.update(self.cycle_count, rate);
        }
    }

    fn advance_max_bw_filter(&mut self) {
        self.cycle_count += 1;
        self.max_bw_filter.advance(self.cycle_count);
    }

    fn update_congestion_signals(&mut self, rs: &RateSample) {
        self.update_max_bw(rs);
        self.delivered_in_round = self.delivered_in_round.saturating_add(rs.newly_acked);
        if rs.newly_lost > 0 {
            self.lost_in_round = self.lost_in_round.saturating_add(rs.newly_lost);
            self.loss_events_in_round = self.loss_events_in_round.saturating_add(1);
        }
        if let Some(rtt) = rs.rtt {
            self.round_min_rtt = Some(self.round_min_rtt.map_or(rtt, |m| m.min(rtt)));
        }
        if !self.loss_round_start {
            return;
        }
        self.last_round_congested = self.congestion_in_round();
        self.last_round_queued_loss = self.lost_in_round > 0 && self.queue_stood_in_round();
        self.round_min_rtt = None;
        self.last_round_loss_events = self.loss_events_in_round;
        self.adapt_lower_bounds_from_congestion();
        self.lost_in_round = 0;
        self.delivered_in_round = 0;
        self.loss_events_in_round = 0;
    }

    /// The current loss round lost more than `BBRLossThresh` (2 %) of what
    /// it sent.
    ///
    /// The draft cuts the short-term bounds after any round with a loss.
    /// A sender pacing at its estimate delivers a share p short of what it
    /// sends when a share p is lost at random, so under steady random
    /// loss that rule lowers the estimate by p every round until the next
    /// probe (at 1 % loss and 40 ms, to about half the path in the 2.5 s
    /// between probes). Random loss below the threshold the draft itself
    /// tolerates for `inflight_hi` is no sign of a queue, so here it does
    /// not cut the short-term bounds either.
    // ECN: a round whose share of CE marks exceeds the draft's threshold
    // is the same signal as a round with too much loss; it joins here.
    fn congestion_in_round(&self) -> bool {
        let sent = self.delivered_in_round.saturating_add(self.lost_in_round) as u64;
        self.lost_in_round > 0
            && self.lost_in_round as u128 * 100 > u128::from(sent) * u128::from(LOSS_THRESH_PERCENT)
    }

    /// Even the lowest RTT of the loss round lay more than
    /// `STANDING_QUEUE_PERCENT` of the minimum RTT above it: a queue stood
    /// at the bottleneck all round. Loss there is the queue overflowing;
    /// random loss also strikes a path with no queue, so a round of loss
    /// at the minimum RTT is not this signal (the distinction Linux's
    /// Veno draws from the same backlog estimate).
    fn queue_stood_in_round(&self) -> bool {
        match (self.round_min_rtt, self.min_rtt) {
            (Some(round), Some(min)) => {
                u128::from(round.total_micros()) * 100
                    > u128::from(min.total_micros()) * u128::from(100 + STANDING_QUEUE_PERCENT)
            }
            _ => false,
        }
    }

    /// `BBRAdaptLowerBoundsFromCongestion`: a congested round (see
    /// [`Bbr::congestion_in_round`]), outside the probing states, cuts the
    /// short-term bounds by β (but never below what the last round
    /// delivered).
    fn adapt_lower_bounds_from_congestion(&mut self) {
        if self.state.is_probing_bw() || !self.last_round_congested {
            return;
        }
        let bw_lo = self.bw_lo.unwrap_or(self.max_bw());
        let inflight_lo = self.inflight_lo.unwrap_or(self.cwnd);
        self.bw_lo = Some(self.bw_latest.max(percent_u64(bw_lo, BETA_PERCENT)));
        self.inflight_lo = Some(self.inflight_latest.max(percent(inflight_lo, BETA_PERCENT)));
    }

    fn reset_lower_bounds(&mut self) {
        self.bw_lo = None;
        self.inflight_lo = None;
    }

    fn bound_bw_for_model(&mut self) {
        self.bw = self.max_bw().min(self.bw_lo.unwrap_or(u64::MAX));
    }

    fn update_ack_aggregation(&mut self, rs: &RateSample) {
        if self.round_start && self.round_count % (EXTRA_ACKED_ROUNDS / 2) == 0 {
            let period = self.round_count / (EXTRA_ACKED_ROUNDS / 2);
            self.extra_acked_filter.advance(period);
        }
        let interval = rs
            .now
            .saturating_duration_since(self.extra_acked_interval_start);
        let mut expected =
            (u128::from(self.bw) * u128::from(interval.total_micros()) / 1_000_000) as u64;
        if self.extra_acked_delivered <= expected {
            self.extra_acked_delivered = 0;
            self.extra_acked_interval_start = rs.now;
            expected = 0;
        }
        self.extra_acked_delivered = self
            .extra_acked_delivered
            .saturating_add(rs.newly_acked as u64);
        // At most the window, and at most what the estimate delivers in
        // 100 ms (as Linux caps it): an estimate below the real rate
        // would otherwise let the excess, and the window, grow together.
        let cap =
            (u128::from(self.bw) * u128::from(EXTRA_ACKED_MAX.total_micros()) / 1_000_000) as u64;
        let extra = self
            .extra_acked_delivered
            .saturating_sub(expected)
            .min(self.cwnd as u64)
            .min(cap);
        let period = self.round_count / (EXTRA_ACKED_ROUNDS / 2);
        self.extra_acked_filter.update(period, extra);
    }

    /// `IsInflightTooHigh`, judged once per round: the round that just
    /// ended lost more than 2 % of its data.
    ///
    /// The draft asks on every ACK whether the losses declared while the
    /// acknowledged segment was in flight exceed 2 % of the flight. Those
    /// windows overlap, one per ACK, so under random loss of 1 % (a mean
    /// of a few segments per flight) some window nearly always crosses
    /// 2 % by chance, and every probe would end at once and set
    /// `inflight_hi` to the flight it started from. A whole round's loss
    /// rate crosses the threshold by chance rarely; a queue that
    /// overflows crosses it as surely.
    fn is_inflight_too_high(&self) -> bool {
        self.loss_round_start && self.last_round_congested
    }

    fn handle_inflight_too_high(&mut self, rs: &RateSample, now: Instant) {
        self.bw_probe_samples = false;
        if !rs.is_app_limited {
            let floor = percent(self.target_inflight(), BETA_PERCENT);
            self.inflight_hi = Some(rs.tx_in_flight.max(floor).max(self.min_pipe_cwnd()));
        }
        if self.state == BbrState::ProbeBwUp {
            self.start_probe_bw_down(now);
        }
    }

    /// In Cruise (BBR's own queue drained in Down, the last probe's
    /// samples in), a round that lost data over a standing queue shows the
    /// flight BBR keeps is too large for the path it shares: the queue is
    /// another flow's. `inflight_hi` falls to the flight then, as after a
    /// probe that lost too much, and Cruise keeps its headroom below that.
    ///
    /// The draft lowers `inflight_hi` only from probing samples and leaves
    /// such loss to the short-term bounds, which it cuts after any round
    /// with a loss; judged against the loss threshold (see
    /// [`Bbr::congestion_in_round`]) the few drops of a queue that a
    /// loss-based flow fills pass unnoticed, and judged on any loss random
    /// loss would wear the bounds down. A queue that stood all round tells
    /// the two apart. Down is left out: the queue there may be the one
    /// BBR's own probe built.
    fn is_congested_between_probes(&self) -> bool {
        self.loss_round_start
            && self.last_round_queued_loss
            && !self.bw_probe_samples
            && self.state == BbrState::ProbeBwCruise
    }

    fn check_inflight_too_high(&mut self, rs: &RateSample) -> bool {
        if self.is_congested_between_probes() {
            self.handle_inflight_too_high(rs, rs.now);
            return true;
        }
        if self.is_inflight_too_high() {
            // Only a round of data sent while probing up judges the probe.
            if self.bw_probe_samples && self.last_round_began >= self.probe_up_began {
                self.handle_inflight_too_high(rs, rs.now);
            }
            return true;
        }
        false
    }

    // --- Startup and Drain ---

    fn reset_full_bw(&mut self) {
        self.full_bw = 0;
        self.full_bw_count = 0;
        self.full_bw_now = false;
    }

    fn check_full_bw_reached(&mut self, rs: &RateSample) {
        if self.full_bw_now || !self.round_start || rs.is_app_limited {
            return;
        }
        // The filtered maximum, as Linux uses: a single sample after a
        // random loss can fall short and end Startup early.
        let rate = self.max_bw();
        if rate as u128 * 100 >= self.full_bw as u128 * u128::from(FULL_BW_GROWTH_PERCENT) {
            self.full_bw_count = 0;
            self.full_bw = rate;
            return;
        }
        self.full_bw_count += 1;
        self.full_bw_now = self.full_bw_count >= FULL_BW_ROUNDS;
        if self.full_bw_now {
            self.filled_pipe = true;
        }
    }

    /// Startup also ends when a round in recovery lost too much.
    fn check_startup_high_loss(&mut self) {
        if self.state != BbrState::Startup || self.filled_pipe {
            return;
        }
        if self.loss_round_start
            && self.in_recovery
            && self.last_round_loss_events >= STARTUP_FULL_LOSS_COUNT
            && self.is_inflight_too_high()
        {
            let bdp = self.bdp_multiple(self.max_bw(), 100);
            self.inflight_hi = Some(bdp.max(self.inflight_latest).max(self.min_pipe_cwnd()));
            self.filled_pipe = true;
        }
    }

    fn check_startup_done(&mut self) {
        self.check_startup_high_loss();
        if self.state == BbrState::Startup && self.filled_pipe {
            self.enter_drain();
        }
    }

    fn check_drain_done(&mut self, rs: &RateSample) {
        if self.state == BbrState::Drain && rs.in_flight <= self.inflight(self.bw, 100) {
            self.start_probe_bw_down(rs.now);
        }
    }

    // --- ProbeBW ---

    /// A deterministic stand-in for the draft's random draw: the
    /// microseconds of the event's time.
    fn pick_probe_wait(&mut self, now: Instant) {
        let noise = now.total_micros();
        self.rounds_since_bw_probe = noise % 2;
        self.bw_probe_wait = Duration::from_secs(2) + Duration::from_micros(noise % 1_000_000);
    }

    fn start_probe_bw_down(&mut self, now: Instant) {
        self.reset_full_bw();
        self.bw_probe_up_acks = 0;
        self.probe_up_cnt = usize::MAX;
        self.pick_probe_wait(now);
        self.cycle_stamp = now;
        self.ack_phase = AckPhase::ProbeStopping;
        self.start_round();
        self.state = BbrState::ProbeBwDown;
        self.set_gains(DOWN_PACING_GAIN, DEFAULT_CWND_GAIN);
    }

    fn start_probe_bw_cruise(&mut self) {
        self.state = BbrState::ProbeBwCruise;
        self.set_gains(100, DEFAULT_CWND_GAIN);
    }

    fn start_probe_bw_refill(&mut self) {
        self.reset_lower_bounds();
        self.bw_probe_up_rounds = 0;
        self.bw_probe_up_acks = 0;
        self.ack_phase = AckPhase::Refilling;
        self.start_round();
        self.state = BbrState::ProbeBwRefill;
        self.set_gains(100, DEFAULT_CWND_GAIN);
    }

    fn start_probe_bw_up(&mut self) {
        self.probe_up_began = self.delivered;
        self.ack_phase = AckPhase::ProbeStarting;
        self.start_round();
        self.reset_full_bw();
        self.full_bw = self.max_bw();
        self.state = BbrState::ProbeBwUp;
        self.set_gains(UP_PACING_GAIN, UP_CWND_GAIN);
        self.raise_inflight_hi_slope();
    }

    /// Probing grows `inflight_hi` by 1, 2, 4… segments per round.
    fn raise_inflight_hi_slope(&mut self) {
        let growth = 1usize << self.bw_probe_up_rounds.min(30);
        self.bw_probe_up_rounds = (self.bw_probe_up_rounds + 1).min(30);
        self.probe_up_cnt = (self.cwnd / growth).max(1);
    }

    fn probe_inflight_hi_upward(&mut self, rs: &RateSample) {
        let Some(hi) = self.inflight_hi else { return };
        let cwnd_limited = rs.prior_in_flight.saturating_add(self.mss) >= self.cwnd;
        if !cwnd_limited || self.cwnd < hi {
            return;
        }
        self.bw_probe_up_acks = self.bw_probe_up_acks.saturating_add(rs.newly_acked);
        if self.bw_probe_up_acks >= self.probe_up_cnt {
            let delta = self.bw_probe_up_acks / self.probe_up_cnt;
            self.bw_probe_up_acks -= delta * self.probe_up_cnt;
            self.inflight_hi = Some(
                hi.saturating_add(delta.saturating_mul(self.mss))
                    .min(MAX_WINDOW),
            );
        }
        if self.round_start {
            self.raise_inflight_hi_slope();
        }
    }

    /// `BBRAdaptUpperBounds`.
    fn adapt_upper_bounds(&mut self, rs: &RateSample) {
        if self.ack_phase == AckPhase::ProbeStarting && self.round_start {
            self.ack_phase = AckPhase::ProbeFeedback;
        }
        if self.ack_phase == AckPhase::ProbeStopping && self.round_start {
            // The samples of the last probe are in: a new cycle of the
            // bandwidth filter begins.
            self.bw_probe_samples = false;
            self.ack_phase = AckPhase::Init;
            if self.state.is_probe_bw() && !rs.is_app_limited {
                self.advance_max_bw_filter();
            }
        }
        if self.check_inflight_too_high(rs) {
            return;
        }
        let Some(hi) = self.inflight_hi else { return };
        if rs.tx_in_flight > hi {
            self.inflight_hi = Some(rs.tx_in_flight);
        }
        if self.state == BbrState::ProbeBwUp {
            self.probe_inflight_hi_upward(rs);
        }
    }

    fn has_elapsed_in_phase(&self, now: Instant, interval: Duration) -> bool {
        now > self.cycle_stamp + interval
    }

    /// Rounds a Reno flow sharing the path would take to grow by the
    /// window BBR holds (capped): probing no less often keeps BBR fair.
    fn reno_coexistence_probe_time(&self) -> bool {
        let reno_rounds = (self.target_inflight() / self.mss) as u64;
        self.rounds_since_bw_probe >= reno_rounds.min(MAX_RENO_ROUNDS)
    }

    fn is_time_to_probe_bw(&mut self, now: Instant) -> bool {
        if self.has_elapsed_in_phase(now, self.bw_probe_wait) || self.reno_coexistence_probe_time()
        {
            self.start_probe_bw_refill();
            return true;
        }
        false
    }

    fn is_time_to_cruise(&self, in_flight: usize) -> bool {
        if self
            .inflight_with_headroom()
            .is_some_and(|limit| in_flight > limit)
        {
            return false;
        }
        in_flight <= self.inflight(self.max_bw(), 100)
    }

    fn is_time_to_go_down(&mut self, rs: &RateSample) -> bool {
        let cwnd_limited = rs.prior_in_flight.saturating_add(self.mss) >= self.cwnd;
        if cwnd_limited && self.inflight_hi.is_some_and(|hi| self.cwnd >= hi) {
            // The bandwidth is held by inflight_hi, not the path.
            self.reset_full_bw();
            self.full_bw = self.max_bw();
            return false;
        }
        self.full_bw_now
    }

    fn update_probe_bw_cycle_phase(&mut self, rs: &RateSample) {
        if !self.filled_pipe {
            return;
        }
        self.adapt_upper_bounds(rs);
        let now = rs.now;
        let state = self.state;
        match state {
            BbrState::ProbeBwDown => {
                if self.is_time_to_probe_bw(now) {
                    return;
                }
                if self.is_time_to_cruise(rs.in_flight) {
                    self.start_probe_bw_cruise();
                }
            }
            BbrState::ProbeBwCruise => {
                self.is_time_to_probe_bw(now);
            }
            BbrState::ProbeBwRefill if self.round_start => {
                self.bw_probe_samples = true;
                self.start_probe_bw_up();
            }
            BbrState::ProbeBwUp if self.is_time_to_go_down(rs) => {
                self.start_probe_bw_down(now);
            }
            _ => {}
        }
    }

    // --- ProbeRTT ---

    fn update_min_rtt(&mut self, rs: &RateSample) {
        let now = rs.now;
        self.probe_rtt_expired = now > self.probe_rtt_min_stamp + PROBE_RTT_INTERVAL;
        if let Some(rtt) = rs.rtt
            && (self.probe_rtt_min_delay.is_none_or(|m| rtt < m) || self.probe_rtt_expired)
        {
            self.probe_rtt_min_delay = Some(rtt);
            self.probe_rtt_min_stamp = now;
        }
        let min_rtt_expired = now > self.min_rtt_stamp + MIN_RTT_FILTER;
        if let Some(probe) = self.probe_rtt_min_delay
            && (self.min_rtt.is_none_or(|m| probe < m) || min_rtt_expired)
        {
            self.min_rtt = Some(probe);
            self.min_rtt_stamp = self.probe_rtt_min_stamp;
        }
    }

    fn save_cwnd(&self) -> usize {
        if !self.in_recovery && self.state != BbrState::ProbeRtt {
            self.cwnd
        } else {
            self.cwnd.max(self.prior_cwnd)
        }
    }

    fn restore_cwnd(&mut self) {
        self.cwnd = self.cwnd.max(self.prior_cwnd);
    }

    fn probe_rtt_cwnd(&self) -> usize {
        self.bdp_multiple(self.bw, PROBE_RTT_CWND_GAIN)
            .max(self.min_pipe_cwnd())
    }

    fn check_probe_rtt(&mut self, rs: &RateSample) {
        if self.state != BbrState::ProbeRtt && self.probe_rtt_expired && !self.idle_restart {
            self.prior_cwnd = self.save_cwnd();
            self.probe_rtt_done_stamp = None;
            self.ack_phase = AckPhase::ProbeStopping;
            self.start_round();
            self.state = BbrState::ProbeRtt;
            self.set_gains(100, PROBE_RTT_CWND_GAIN);
        }
        if self.state == BbrState::ProbeRtt {
            self.handle_probe_rtt(rs);
        }
        if rs.newly_acked > 0 {
            self.idle_restart = false;
        }
    }

    fn handle_probe_rtt(&mut self, rs: &RateSample) {
        // The reduced flight delivers less than the path can: its samples
        // must not lower the bandwidth estimate.
        self.probe_rtt_limited_until = self.delivered.saturating_add(rs.in_flight as u64).max(1);
        match self.probe_rtt_done_stamp {
            None if rs.in_flight <= self.probe_rtt_cwnd() => {
                self.probe_rtt_done_stamp = Some(rs.now + PROBE_RTT_DURATION);
                self.probe_rtt_round_done = false;
                self.start_round();
            }
            Some(done) => {
                if self.round_start {
                    self.probe_rtt_round_done = true;
                }
                if self.probe_rtt_round_done && rs.now > done {
                    self.probe_rtt_min_stamp = rs.now;
                    self.restore_cwnd();
                    self.exit_probe_rtt(rs.now);
                }
            }
            None => {}
        }
    }

    fn exit_probe_rtt(&mut self, now: Instant) {
        self.reset_lower_bounds();
        if self.filled_pipe {
            self.start_probe_bw_down(now);
            self.start_probe_bw_cruise();
        } else {
            self.enter_startup();
        }
    }

    // --- Control parameters ---

    /// Before any bandwidth sample: the initial window per RTT (at least
    /// 1 ms), at the Startup gain (`BBRInitPacingRate`).
    fn initial_pacing_rate(&self, rtt: Duration) -> u64 {
        let rtt = rtt.total_micros().max(1_000);
        let rate = u128::from(initial_window(self.mss) as u64)
            * 1_000_000
            * u128::from(STARTUP_PACING_GAIN)
            / (u128::from(rtt) * 100);
        u64::try_from(rate).unwrap_or(u64::MAX).max(1)
    }

    fn set_pacing_rate_with_gain(&mut self, gain: u64) {
        let rate = u128::from(self.bw) * u128::from(gain) * u128::from(100 - PACING_MARGIN_PERCENT)
            / 10_000;
        let rate = u64::try_from(rate).unwrap_or(u64::MAX);
        if self.filled_pipe || rate > self.pacing_rate {
            self.pacing_rate = rate.max(1);
        }
    }

    fn set_send_quantum(&mut self) {
        // 1 ms at the pacing rate, within [2 segments, 64 KB].
        let quantum = (self.pacing_rate / 1_000).min(64 * 1024) as usize;
        self.send_quantum = quantum.max(2 * self.mss);
    }

    fn max_inflight(&self) -> usize {
        let extra = usize::try_from(self.extra_acked_filter.get()).unwrap_or(usize::MAX);
        self.quantization_budget(
            self.bdp_multiple(self.bw, self.cwnd_gain)
                .saturating_add(extra),
        )
    }

    fn set_cwnd(&mut self, rs: &RateSample) {
        let max_inflight = self.max_inflight();
        // Loss recovery: what was lost leaves the window; the first round
        // sends one segment per segment delivered.
        if rs.newly_lost > 0 {
            self.cwnd = self.cwnd.saturating_sub(rs.newly_lost).max(self.mss);
        }
        if self.packet_conservation && rs.prior_delivered >= self.conservation_until {
            self.packet_conservation = false;
        }
        if self.packet_conservation {
            self.cwnd = self.cwnd.max(rs.in_flight.saturating_add(rs.newly_acked));
        } else {
            if self.filled_pipe {
                self.cwnd = self.cwnd.saturating_add(rs.newly_acked).min(max_inflight);
            } else if self.cwnd < max_inflight || self.delivered < initial_window(self.mss) as u64 {
                self.cwnd = self.cwnd.saturating_add(rs.newly_acked);
            }
            self.cwnd = self.cwnd.max(self.min_pipe_cwnd());
        }
        if self.state == BbrState::ProbeRtt {
            self.cwnd = self.cwnd.min(self.probe_rtt_cwnd());
        }
        self.bound_cwnd_for_model();
    }

    fn bound_cwnd_for_model(&mut self) {
        let mut cap = usize::MAX;
        if self.state.is_probe_bw() && self.state != BbrState::ProbeBwCruise {
            cap = self.inflight_hi.unwrap_or(usize::MAX);
        } else if matches!(self.state, BbrState::ProbeRtt | BbrState::ProbeBwCruise) {
            cap = self.inflight_with_headroom().unwrap_or(usize::MAX);
        }
        cap = cap.min(self.inflight_lo.unwrap_or(usize::MAX));
        cap = cap.max(self.min_pipe_cwnd());
        self.cwnd = self.cwnd.min(cap).clamp(self.mss, MAX_WINDOW);
    }
}

impl CongestionControl for Bbr {
    fn name(&self) -> &'static str {
        "bbr"
    }

    fn window(&self) -> usize {
        self.cwnd
    }

    /// BBR keeps no threshold.
    fn ssthresh(&self) -> usize {
        usize::MAX
    }

    fn in_slow_start(&self) -> bool {
        self.state == BbrState::Startup
    }

    /// Everything happens in [`CongestionControl::on_rate_sample`].
    fn on_ack(&mut self, _ack: &super::AckInfo) {}

    fn on_rate_sample(&mut self, rs: &RateSample) {
        self.delivered = rs.total_delivered;
        if self.pacing_rate == 0
            && let Some(rtt) = rs.min_rtt.or(rs.rtt)
        {
            self.pacing_rate = self.initial_pacing_rate(rtt);
        }
        let mut rs = *rs;
        if rs.prior_delivered < self.probe_rtt_limited_until {
            rs.is_app_limited = true;
        } else {
            self.probe_rtt_limited_until = 0;
        }
        let rs = &rs;
        // BBRUpdateModelAndState.
        self.update_latest_delivery_signals(rs);
        self.update_congestion_signals(rs);
        self.update_ack_aggregation(rs);
        self.check_full_bw_reached(rs);
        self.check_startup_done();
        self.check_drain_done(rs);
        self.update_probe_bw_cycle_phase(rs);
        self.update_min_rtt(rs);
        self.check_probe_rtt(rs);
        self.advance_latest_delivery_signals(rs);
        self.bound_bw_for_model();
        // BBRUpdateControlParameters.
        self.set_pacing_rate_with_gain(self.pacing_gain);
        self.set_send_quantum();
        self.set_cwnd(rs);
    }

    /// Fast recovery begins: packet conservation for a round, from the
    /// data still in flight. Not in Startup, whose own loss test (a round
    /// with more than 2 % lost in six or more events) decides whether the
    /// loss means the pipe is full: under random loss a recovery starts
    /// nearly every round, and holding the window to what is in flight
    /// each time would stall the exponential search, which then reads the
    /// stall as a full pipe.
    fn on_congestion_event(&mut self, event: &CongestionEvent) {
        self.prior_cwnd = self.save_cwnd();
        self.in_recovery = true;
        if self.state == BbrState::Startup {
            return;
        }
        self.packet_conservation = true;
        self.conservation_until = self.delivered.saturating_add(event.in_flight as u64);
        self.cwnd = event
            .in_flight
            .saturating_add(self.mss)
            .clamp(self.mss, MAX_WINDOW);
    }

    fn on_recovery_end(&mut self, _now: Instant) {
        self.in_recovery = false;
        self.packet_conservation = false;
        self.restore_cwnd();
        self.bound_cwnd_for_model();
    }

    /// A timeout: the window falls to what is in flight plus one segment
    /// (nothing is, once the timeout marked it lost); the model stays.
    fn on_rto(&mut self, _now: Instant, _in_flight: usize) {
        self.prior_cwnd = self.save_cwnd();
        self.in_recovery = false;
        self.packet_conservation = false;
        self.cwnd = self.mss;
    }

    fn on_spurious_congestion(&mut self, _now: Instant) {
        self.in_recovery = false;
        self.packet_conservation = false;
        self.reset_lower_bounds();
        self.restore_cwnd();
        self.bound_cwnd_for_model();
    }

    fn on_idle_restart(&mut self, now: Instant) {
        self.idle_restart = true;
        self.extra_acked_interval_start = now;
        self.extra_acked_delivered = 0;
        if self.state.is_probe_bw() {
            self.set_pacing_rate_with_gain(100);
        }
    }

    fn on_mss_change(&mut self, mss: usize) {
        self.mss = sane_mss(mss);
        self.send_quantum = self.send_quantum.max(2 * self.mss);
        self.cwnd = self.cwnd.clamp(self.mss, MAX_WINDOW);
    }

    fn pacing_rate(&self, srtt: Duration) -> Option<u64> {
        if self.pacing_rate > 0 {
            Some(self.pacing_rate)
        } else {
            Some(self.initial_pacing_rate(srtt))
        }
    }

    fn send_quantum(&self) -> Option<usize> {
        Some(self.send_quantum)
    }

    fn governs_recovery(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cc::testutil::run_ops;
    use std::vec::Vec;

    const MSS: usize = 1_000;
    /// 10 MB/s × 40 ms: a BDP of 400 kB.
    const BW: u64 = 10_000_000;
    const RTT: Duration = Duration::from_millis(40);
    const BDP: usize = 400_000;
    /// ACKs per round trip in the model.
    const ACKS: u64 = 20;

    /// A fluid model of one bottleneck: each round trip the sender puts
    /// out what its window and pacing rate allow, the link delivers at
    /// most `bw`, the excess waits in a queue that lengthens the RTT, and
    /// `loss_per_mille` of what is delivered is lost instead.
    struct Path {
        bw: u64,
        now: Instant,
        delivered: u64,
        queue: u64,
        loss_per_mille: u64,
        /// The RTT the path adds to queueing (changed to test ProbeRTT).
        base_rtt: Duration,
    }

    impl Path {
        fn new() -> Path {
            Path {
                bw: BW,
                now: Instant::from_secs(1),
                delivered: 0,
                queue: 0,
                loss_per_mille: 0,
                base_rtt: RTT,
            }
        }

        fn rtt(&self) -> Duration {
            self.base_rtt + Duration::from_micros(self.queue * 1_000_000 / self.bw)
        }

        /// One round trip; returns the states seen on its ACKs.
        fn round(&mut self, bbr: &mut Bbr) -> Vec<BbrState> {
            let rtt = self.rtt();
            let us = rtt.total_micros();
            let pacing = bbr.pacing_rate(rtt).unwrap();
            let by_rate = pacing * us / 1_000_000;
            let sent = (bbr.window() as u64).min(by_rate);
            let send_rate = sent * 1_000_000 / us;
            // The queue grows by what arrives above the link rate.
            let drained = self.bw * us / 1_000_000;
            self.queue = (self.queue + sent).saturating_sub(drained);
            let through = sent.min(drained);
            let lost = through * self.loss_per_mille / 1_000;
            let delivered = through - lost;
            let rate = send_rate.min(self.bw) * (1_000 - self.loss_per_mille) / 1_000;
            let round_start = self.delivered;
            let mut states = Vec::new();
            for _ in 0..ACKS {
                self.now += Duration::from_micros(us / ACKS);
                let acked = (delivered / ACKS) as usize;
                self.delivered += acked as u64;
                // New data replaces what is acknowledged: the flight
                // stays at what the round sent.
                let in_flight = sent as usize;
                bbr.on_rate_sample(&RateSample {
                    now: self.now,
                    delivery_rate: Some(rate),
                    interval: rtt,
                    delivered,
                    prior_delivered: round_start,
                    total_delivered: self.delivered,
                    newly_acked: acked,
                    newly_lost: (lost / ACKS) as usize,
                    lost,
                    tx_in_flight: sent as usize,
                    prior_in_flight: sent as usize,
                    in_flight,
                    rtt: Some(rtt),
                    min_rtt: Some(self.base_rtt),
                    is_app_limited: false,
                });
                states.push(bbr.state());
            }
            states
        }

        /// Rounds until `bbr` has been in `state` (at most `limit`), or
        /// `None`.
        fn until(&mut self, bbr: &mut Bbr, state: BbrState, limit: usize) -> Option<usize> {
            (1..=limit).find(|_| self.round(bbr).contains(&state))
        }

        /// Rounds until `bbr` is in a ProbeBW state after an ACK.
        fn until_probe_bw(&mut self, bbr: &mut Bbr, limit: usize) -> Option<usize> {
            (1..=limit).find(|_| self.round(bbr).last().is_some_and(|s| s.is_probe_bw()))
        }
    }

    fn started() -> (Path, Bbr) {
        let mut path = Path::new();
        let mut bbr = Bbr::new(MSS);
        path.until_probe_bw(&mut bbr, 40).expect("startup ends");
        (path, bbr)
    }

    fn near(a: u64, b: u64, percent: u64) -> bool {
        a.abs_diff(b) * 100 <= b * percent
    }

    #[test]
    fn startup_finds_the_bandwidth_then_exits_on_a_plateau() {
        let mut path = Path::new();
        let mut bbr = Bbr::new(MSS);
        assert_eq!(bbr.state(), BbrState::Startup);
        assert!(bbr.in_slow_start());
        // The window doubles each round until the link is full...
        let mut rounds = 0;
        while bbr.max_bw() < BW * 9 / 10 {
            assert_eq!(path.round(&mut bbr).last(), Some(&BbrState::Startup));
            rounds += 1;
            assert!(rounds < 20, "no growth");
        }
        // ...and three more rounds without 25 % growth end Startup.
        let plateau = path.until(&mut bbr, BbrState::Drain, 10).unwrap();
        assert!((2..=4).contains(&plateau), "{plateau} rounds of plateau");
        assert!(near(bbr.max_bw(), BW, 2), "bw {}", bbr.max_bw());
        assert_eq!(bbr.min_rtt(), Some(RTT));
        assert!(!bbr.in_slow_start());
    }

    #[test]
    fn drain_paces_below_the_bandwidth_until_the_queue_is_gone() {
        let mut path = Path::new();
        let mut bbr = Bbr::new(MSS);
        path.until(&mut bbr, BbrState::Drain, 30).unwrap();
        // Startup's 2.77 × overshoot left a queue; Drain paces at 0.35 ×
        // the estimate (less the 1 % margin) until it is gone.
        assert!(path.queue > BDP as u64 / 2, "queue {}", path.queue);
        assert_eq!(bbr.state(), BbrState::Drain);
        assert_eq!(
            bbr.pacing_rate(RTT),
            Some(bbr.bandwidth() * 35 * 99 / 10_000)
        );
        let rounds = path.until_probe_bw(&mut bbr, 10).unwrap();
        assert!(rounds <= 3, "{rounds} rounds of Drain");
        path.round(&mut bbr);
        assert_eq!(path.queue, 0);
        assert_eq!(bbr.state(), BbrState::ProbeBwCruise);
    }

    #[test]
    fn probe_bw_cycles_down_cruise_refill_up() {
        let (mut path, mut bbr) = started();
        let mut seen = Vec::new();
        // Two cycles fit in 8 s (each waits 2–3 s or 63 rounds).
        for _ in 0..200 {
            for s in path.round(&mut bbr) {
                if seen.last() != Some(&s) {
                    seen.push(s);
                }
            }
        }
        let cycle = [
            BbrState::ProbeBwCruise,
            BbrState::ProbeBwRefill,
            BbrState::ProbeBwUp,
            BbrState::ProbeBwDown,
        ];
        let cycles = seen.windows(4).filter(|w| *w == cycle).count();
        assert!(cycles >= 2, "{seen:?}");
        // The estimate holds steady through the probes.
        assert!(near(bbr.bandwidth(), BW, 2), "bw {}", bbr.bandwidth());
        // Up paces at 1.25 × the estimate (less the 1 % margin).
        let mut path2 = Path::new();
        let mut bbr2 = Bbr::new(MSS);
        path2.until(&mut bbr2, BbrState::ProbeBwUp, 200).unwrap();
        let rate = bbr2.pacing_rate(RTT).unwrap();
        assert!(
            near(rate, bbr2.bandwidth() * 125 * 99 / 10_000, 1),
            "{rate}"
        );
    }

    #[test]
    fn probe_rtt_after_five_seconds_without_a_lower_rtt() {
        let (mut path, mut bbr) = started();
        let start = path.now;
        path.until(&mut bbr, BbrState::ProbeRtt, 400).unwrap();
        let waited = path.now.saturating_duration_since(start);
        assert!(
            waited >= Duration::from_secs(4) && waited <= Duration::from_secs(6),
            "ProbeRTT after {waited:?}"
        );
        // The window drops to half a BDP for at least 200 ms and a round.
        let entered = path.now;
        let mut rounds = 0;
        assert!(bbr.window() <= BDP / 2 + 4 * MSS, "cwnd {}", bbr.window());
        while path.round(&mut bbr).last() == Some(&BbrState::ProbeRtt) {
            assert!(bbr.window() <= BDP / 2 + 4 * MSS, "cwnd {}", bbr.window());
            rounds += 1;
            assert!(rounds < 20);
        }
        assert!(path.now.saturating_duration_since(entered) >= Duration::from_millis(200));
        assert!(bbr.state().is_probe_bw());
        // A lower RTT seen in time puts the next ProbeRTT off.
        path.base_rtt = Duration::from_millis(30);
        let probes: usize = (0..100)
            .map(|_| {
                path.round(&mut bbr)
                    .iter()
                    .filter(|s| **s == BbrState::ProbeRtt)
                    .count()
            })
            .sum();
        assert_eq!(probes, 0, "ProbeRTT within 4 s of a new minimum");
        assert_eq!(bbr.min_rtt(), Some(Duration::from_millis(30)));
    }

    #[test]
    fn loss_above_the_threshold_bounds_inflight() {
        let (mut path, mut bbr) = started();
        assert_eq!(bbr.inflight_hi(), None);
        // 1 % random loss: below BBRLossThresh, no bound and no cut.
        path.loss_per_mille = 10;
        for _ in 0..200 {
            path.round(&mut bbr);
        }
        assert_eq!((bbr.inflight_hi(), bbr.inflight_lo()), (None, None));
        assert!(near(bbr.bandwidth(), BW * 99 / 100, 3));
        // 5 %: a probe that meets it sets inflight_hi and goes down.
        path.loss_per_mille = 50;
        path.until(&mut bbr, BbrState::ProbeBwUp, 200).unwrap();
        let states = (0..10)
            .flat_map(|_| path.round(&mut bbr))
            .collect::<Vec<_>>();
        let hi = bbr.inflight_hi().expect("inflight_hi set");
        assert!(hi <= 2 * BDP, "inflight_hi {hi}");
        assert!(states.contains(&BbrState::ProbeBwDown), "{states:?}");
        // Outside probing, each congested round cuts the short-term
        // bounds by β at most.
        let before = bbr.window();
        path.until(&mut bbr, BbrState::ProbeBwCruise, 50).unwrap();
        for _ in 0..3 {
            path.round(&mut bbr);
        }
        let lo = bbr.inflight_lo().expect("inflight_lo set");
        assert!(lo < before, "inflight_lo {lo} not below {before}");
        assert!(bbr.window() <= lo);
    }

    #[test]
    fn loss_over_a_standing_queue_lowers_inflight_hi_in_cruise() {
        let (mut path, mut bbr) = started();
        path.until(&mut bbr, BbrState::ProbeBwCruise, 50).unwrap();
        // 0.5 % loss at the minimum RTT: random, no bound.
        path.loss_per_mille = 5;
        for _ in 0..5 {
            path.round(&mut bbr);
        }
        assert_eq!(bbr.inflight_hi(), None);
        // Another flow's queue (30 ms, 75 % of the minimum RTT) without
        // loss: no bound either.
        path.loss_per_mille = 0;
        path.base_rtt = RTT + Duration::from_millis(30);
        for _ in 0..3 {
            path.round(&mut bbr);
        }
        assert_eq!(bbr.inflight_hi(), None);
        assert_eq!(bbr.min_rtt(), Some(RTT));
        // The same queue overflowing: the flight becomes inflight_hi and
        // Cruise keeps the headroom below it.
        path.loss_per_mille = 5;
        let states = (0..3)
            .flat_map(|_| path.round(&mut bbr))
            .collect::<Vec<_>>();
        assert!(
            states.iter().all(|s| matches!(s, BbrState::ProbeBwCruise)),
            "{states:?}"
        );
        let hi = bbr.inflight_hi().expect("inflight_hi set");
        assert!(hi <= 2 * BDP, "inflight_hi {hi}");
        assert!(
            bbr.window() <= hi - hi * 15 / 100,
            "window {}",
            bbr.window()
        );
    }

    /// Found by the `congestion` fuzz target: the β cut of a huge
    /// short-term bound overflowed.
    #[test]
    fn the_loss_cut_of_huge_bounds_does_not_overflow() {
        let mut bbr = Bbr::new(MSS);
        bbr.state = BbrState::ProbeBwCruise;
        bbr.last_round_congested = true;
        bbr.bw_lo = Some(u64::MAX);
        bbr.inflight_lo = Some(usize::MAX);
        bbr.adapt_lower_bounds_from_congestion();
        assert_eq!(bbr.bw_lo, Some(percent_u64(u64::MAX, 70)));
        assert_eq!(bbr.inflight_lo, Some(percent(usize::MAX, 70)));
        assert!(bbr.bw_lo.unwrap() > u64::MAX / 2);
    }

    #[test]
    fn recovery_conserves_then_restores_the_window() {
        let (_, mut bbr) = started();
        let before = bbr.window();
        bbr.on_congestion_event(&CongestionEvent {
            now: Instant::from_secs(9),
            in_flight: before / 2,
            cause: crate::cc::CongestionCause::Loss,
        });
        assert_eq!(bbr.window(), before / 2 + MSS);
        bbr.on_recovery_end(Instant::from_secs(10));
        assert_eq!(bbr.window(), before);
        bbr.on_rto(Instant::from_secs(11), before);
        assert_eq!(bbr.window(), MSS);
        bbr.on_spurious_congestion(Instant::from_secs(12));
        assert_eq!(bbr.window(), before);
        assert!(bbr.governs_recovery());
        assert_eq!(bbr.ssthresh(), usize::MAX);
    }

    #[test]
    fn arbitrary_events_keep_the_window_in_bounds() {
        fn prop(ops: Vec<(u8, u32, u32)>, samples: Vec<(u32, u32, u16, bool)>) -> bool {
            let mut bbr = Bbr::new(MSS);
            if !run_ops(&mut bbr, |b| b.mss, &ops) {
                return false;
            }
            let mut now = Instant::from_secs(1);
            let mut delivered = 0u64;
            for (a, b, c, app) in samples {
                now += Duration::from_micros(u64::from(b % 100_000));
                delivered += u64::from(a % 100_000);
                bbr.on_rate_sample(&RateSample {
                    now,
                    delivery_rate: (c % 3 != 0).then_some(u64::from(a) * u64::from(c)),
                    interval: Duration::from_micros(u64::from(b)),
                    delivered: u64::from(a),
                    prior_delivered: delivered.saturating_sub(u64::from(b)),
                    total_delivered: delivered,
                    newly_acked: (a % 100_000) as usize,
                    newly_lost: (b % 5_000) as usize,
                    lost: u64::from(c),
                    tx_in_flight: b as usize,
                    prior_in_flight: a as usize,
                    in_flight: (a / 2) as usize,
                    rtt: (c % 5 != 0).then_some(Duration::from_micros(u64::from(b % 1_000_000))),
                    min_rtt: Some(Duration::from_micros(u64::from(c))),
                    is_app_limited: app,
                });
                let w = bbr.window();
                if w < bbr.mss || w > MAX_WINDOW || bbr.pacing_rate(RTT) == Some(0) {
                    return false;
                }
            }
            true
        }
        quickcheck::QuickCheck::new()
            .tests(300)
            .quickcheck(prop as fn(Vec<(u8, u32, u32)>, Vec<(u32, u32, u16, bool)>) -> bool);
    }
}
