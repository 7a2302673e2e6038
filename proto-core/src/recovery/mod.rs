//! Loss recovery: what is in flight, what is lost, what to resend, and
//! how much may be sent while recovering.
//!
//! - [`Scoreboard`]: every segment in flight, SACKed or lost (RFC 6675).
//! - [`Rack`]: time-based loss marking and the tail loss probe timeout
//!   (RFC 8985).
//! - [`Prr`]: the send quota during fast recovery (RFC 6937).
//! - [`DeliveryRate`]: a delivery-rate sample per ACK for the congestion
//!   controller (draft-cheng-iccrg-delivery-rate-estimation), from the
//!   counters each segment carries ([`SendState`]).
//! - Without SACK: three duplicate ACKs start fast retransmit and partial
//!   ACKs resend the next hole (NewReno, RFC 6582); the first two
//!   duplicates allow new data (limited transmit, RFC 3042).
//! - Spurious events: a D-SACK for every retransmission of an episode undoes
//!   its window reduction (RFC 3708 detection, RFC 4015 response); F-RTO
//!   (RFC 5682) tells a spurious timeout from a real one.
//!
//! The machine is driven by the connection: `on_sent` for every data
//! segment, `on_ack` for every acceptable ACK, `on_rto`, and `on_probe`
//! when the probe timer fires. The congestion controller is passed in so
//! the recovery machine tells it of congestion events, recovery ends and
//! spurious reductions at the right moments.

mod prr;
mod rack;
mod rate;
mod scoreboard;

pub use prr::Prr;
pub use rack::{DUP_THRESH, Rack, probe_timeout};
pub use rate::{DeliveryRate, SampleContext};
pub use scoreboard::{Scoreboard, SentSegment};

use crate::cc::{AckInfo, CongestionCause, CongestionControl, CongestionEvent};
use crate::rtt::RttEstimator;
use crate::seq::SeqNumber;
use crate::time::{Duration, Instant};
use crate::wire::SackBlock;

/// Counters of the recovery machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryStats {
    /// Fast recovery episodes entered.
    pub fast_recoveries: u64,
    /// Tail loss probes sent.
    pub tlp_probes: u64,
    /// Retransmissions the peer reported as duplicates (D-SACK).
    pub spurious_retransmissions: u64,
    /// Retransmission timeouts shown spurious by F-RTO.
    pub spurious_timeouts: u64,
    /// Window reductions undone.
    pub undos: u64,
    /// SACK blocks ignored as impossible.
    pub bogus_sack_blocks: u64,
    /// Segments RACK marked lost.
    pub rack_marked_lost: u64,
}

/// A fast-recovery or timeout-recovery episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Episode {
    /// SND.MAX when it started; it ends when SND.UNA passes this.
    recover: SeqNumber,
    /// Started by a timeout (sending follows the collapsed window, not PRR).
    timeout: bool,
    /// FlightSize when it started: a repeated timeout reports this one
    /// again, so ssthresh holds (RFC 5681 §3.1).
    flight: usize,
    prr: Prr,
    /// The controller sets the window itself during this episode
    /// ([`CongestionControl::governs_recovery`]): no PRR quota.
    governed: bool,
    /// Retransmissions made in the episode, and how many of them a D-SACK
    /// showed unnecessary (RFC 3708).
    retransmissions: u32,
    dsacked: u32,
    /// Started by an ECN echo (RFC 3168 §6.1.2): a window reduction with
    /// nothing lost, which no D-SACK can show to be spurious.
    ecn: bool,
}

impl Episode {
    /// An episode starting now with `in_flight` bytes out, reducing toward
    /// `ssthresh`.
    fn begin(
        recover: SeqNumber,
        timeout: bool,
        in_flight: usize,
        ssthresh: usize,
        mss: usize,
        governed: bool,
    ) -> Episode {
        Episode {
            recover,
            timeout,
            flight: in_flight,
            prr: Prr::start(in_flight, ssthresh, mss),
            governed,
            retransmissions: 0,
            dsacked: 0,
            ecn: false,
        }
    }
}

/// F-RTO's progress after a timeout (RFC 5682 §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frto {
    /// The head is (to be) resent; waiting for the first ACK.
    AwaitFirstAck { recover: SeqNumber },
    /// The first ACK advanced: up to two new segments may go; waiting for
    /// the second.
    AwaitSecondAck {
        recover: SeqNumber,
        allowance: usize,
    },
}

/// A tail loss probe in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Probe {
    /// The probe's end sequence number.
    end: SeqNumber,
    /// It resent the last segment (rather than sending new data).
    retransmission: bool,
}

/// What the connection tells [`Recovery::on_ack`] about one ACK.
#[derive(Clone, Copy, Debug)]
pub struct AckInput<'a> {
    /// When it arrived.
    pub now: Instant,
    /// Its cumulative acknowledgment (already validated).
    pub ack: SeqNumber,
    /// SND.UNA before it.
    pub prior_una: SeqNumber,
    /// SND.MAX.
    pub snd_max: SeqNumber,
    /// Its SACK blocks.
    pub sack: &'a [SackBlock],
    /// It is a duplicate ACK in RFC 5681's sense (no data, no window
    /// change, SND.UNA unchanged, data outstanding).
    pub duplicate: bool,
    /// The RTT its timestamp echo gives (RFC 7323 §4), at the timestamp
    /// clock's resolution: offered only for an ACK that advances SND.UNA
    /// and whose echo is at least one tick old. Used only when no
    /// segment's send time gives a sample (see [`RttSample`]).
    pub ts_rtt: Option<Duration>,
    /// The acknowledged data was sent while application-limited.
    pub app_limited: bool,
    /// New data could be sent now, window and Nagle allowing (F-RTO needs
    /// new data to probe with).
    pub has_unsent: bool,
    /// Our MSS.
    pub mss: usize,
}

/// What an ACK did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AckOutcome {
    /// Bytes newly delivered (cumulatively ACKed or SACKed).
    pub delivered: usize,
    /// When RACK wants to look at unmarked segments again.
    pub reorder_deadline: Option<Instant>,
    /// A timeout was proven spurious: the RTO backoff may be dropped.
    pub spurious_timeout: bool,
    /// The RTT sample the ACK gave the estimator, if any.
    pub rtt: Option<RttSample>,
}

/// Where an RTT sample came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RttSource {
    /// The send time of a segment sent once, at the clock's resolution.
    SendTime,
    /// The echoed timestamp, at the timestamp clock's resolution.
    Timestamp,
}

/// An RTT sample one ACK gave.
///
/// As Linux's `tcp_clean_rtx_queue` and `tcp_ack_update_rtt` do, in this
/// order of preference:
/// 1. the segments the ACK newly acknowledges cumulatively, if none of
///    them was ever retransmitted: SRTT is fed the time since the oldest
///    was sent, the minimum RTT the time since the newest was;
/// 2. otherwise the segments it newly SACKs that were sent once;
/// 3. otherwise its timestamp echo ([`AckInput::ts_rtt`]).
///
/// A retransmitted segment's send time never gives a sample, nor does any
/// segment's when a retransmitted one is cumulatively acknowledged with it:
/// the ACK may have waited for the retransmission to fill a hole (Karn's
/// algorithm, RFC 6298 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RttSample {
    /// The sample given to SRTT and RTTVAR.
    pub rtt: Duration,
    /// The sample given to the minimum-RTT filter (and the congestion
    /// controller): from the most recently sent segment acknowledged.
    pub latest: Duration,
    /// How it was measured.
    pub source: RttSource,
}

/// The send times of the segments one ACK delivered, for an RTT sample.
#[derive(Clone, Copy, Debug, Default)]
struct SendTimes {
    oldest: Option<Instant>,
    newest: Option<Instant>,
    /// One of them was retransmitted.
    retransmitted: bool,
}

impl SendTimes {
    fn add(&mut self, seg: &SentSegment) {
        if seg.retransmitted() {
            self.retransmitted = true;
            return;
        }
        self.oldest = Some(self.oldest.map_or(seg.sent_at, |t| t.min(seg.sent_at)));
        self.newest = Some(self.newest.map_or(seg.sent_at, |t| t.max(seg.sent_at)));
    }

    /// The sample at `now`, `None` if nothing sent once was delivered or,
    /// with `karn`, anything retransmitted was.
    fn sample(&self, now: Instant, karn: bool) -> Option<RttSample> {
        if karn && self.retransmitted {
            return None;
        }
        let (oldest, newest) = (self.oldest?, self.newest?);
        Some(RttSample {
            rtt: now.saturating_duration_since(oldest),
            latest: now.saturating_duration_since(newest),
            source: RttSource::SendTime,
        })
    }
}

/// The loss recovery machine of one connection.
#[derive(Clone, Debug)]
pub struct Recovery {
    board: Scoreboard,
    rack: Rack,
    sack: bool,
    episode: Option<Episode>,
    frto: Option<Frto>,
    probe: Option<Probe>,
    /// Duplicate ACKs in a row (without SACK).
    dupacks: u32,
    /// RFC 6582's "recover" guard against a second fast retransmit for the
    /// same window.
    last_recover: Option<SeqNumber>,
    rate: DeliveryRate,
    stats: RecoveryStats,
}

impl Recovery {
    /// A machine for a connection that does (`sack = true`) or does not
    /// have SACK.
    pub fn new(sack: bool) -> Recovery {
        Recovery {
            board: Scoreboard::new(),
            rack: Rack::new(),
            sack,
            episode: None,
            frto: None,
            probe: None,
            dupacks: 0,
            last_recover: None,
            rate: DeliveryRate::new(),
            stats: RecoveryStats::default(),
        }
    }

    /// Turns SACK use on or off (settled by the handshake).
    pub fn set_sack(&mut self, sack: bool) {
        self.sack = sack;
    }

    /// The scoreboard.
    #[cfg(any(test, feature = "internals"))]
    pub fn board(&self) -> &Scoreboard {
        &self.board
    }

    /// Counters.
    pub fn stats(&self) -> RecoveryStats {
        self.stats
    }

    /// Bytes in flight as RFC 6675's pipe counts them; without SACK,
    /// each duplicate ACK stands for one segment that left the network.
    pub fn in_flight(&self, mss: usize) -> usize {
        let pipe = self.board.in_flight();
        if self.sack {
            pipe
        } else {
            pipe.saturating_sub(self.dupacks as usize * mss)
        }
    }

    /// How many bytes may be sent now, given the congestion window.
    pub fn send_quota(&self, cwnd: usize, mss: usize) -> usize {
        if let Some(Frto::AwaitSecondAck { allowance, .. }) = self.frto {
            return allowance;
        }
        match self.episode {
            Some(e) if !e.timeout && !e.governed => e.prr.quota(),
            _ => cwnd.saturating_sub(self.in_flight(mss)),
        }
    }

    /// True when F-RTO is waiting to learn whether a timeout was spurious:
    /// the rest of the window must not be resent yet.
    pub fn holding_retransmissions(&self) -> bool {
        match self.frto {
            Some(Frto::AwaitSecondAck { .. }) => true,
            // Once the head has been resent, nothing more until an ACK.
            Some(Frto::AwaitFirstAck { .. }) => self.board.iter().next().is_some_and(|s| !s.lost),
            None => false,
        }
    }

    /// The next segment to resend (RFC 6675 NextSeg rule 1).
    pub fn next_retransmission(&self) -> Option<SentSegment> {
        self.board.first_lost().copied()
    }

    /// Records a data segment sent: `[start, end)`, new or resent.
    pub fn on_sent(
        &mut self,
        now: Instant,
        start: SeqNumber,
        end: SeqNumber,
        fin: bool,
        retransmission: bool,
    ) {
        let len = end.distance_from(start) as usize;
        let idle = self.board.is_empty();
        let state = self.rate.on_sent(now, len, self.board.in_flight(), idle);
        if retransmission {
            self.board.on_retransmitted(start, now);
        } else {
            self.board.on_sent_new(start, end, fin, now);
        }
        self.board.set_send_state(start, state);
        if let Some(e) = &mut self.episode {
            e.prr.on_sent(len);
            if retransmission {
                e.retransmissions += 1;
            }
        }
        if let Some(Frto::AwaitSecondAck { allowance, .. }) = &mut self.frto
            && !retransmission
        {
            *allowance = allowance.saturating_sub(len);
        }
    }

    /// The sender has nothing more to send and room in its window: unless
    /// a loss waits to be repaired, what is in flight now is
    /// application-limited (the delivery-rate draft's
    /// `CheckIfApplicationLimited`).
    pub fn on_app_limited(&mut self) {
        if self.board.lost_bytes() == 0 {
            self.rate.on_app_limited(self.board.in_flight());
        }
    }

    /// Processes an acceptable ACK: takes its RTT sample into `rtt` (see
    /// [`RttSample`]), then detects losses and drives the congestion
    /// controller with the updated estimates.
    pub fn on_ack(
        &mut self,
        input: &AckInput<'_>,
        rtt: &mut RttEstimator,
        cc: &mut dyn CongestionControl,
    ) -> AckOutcome {
        // The ACK a pure receiver gets on every segment: nothing of ours
        // in flight, nothing new acknowledged or SACKed, no recovery, F-RTO
        // or probe under way. The steps below would change nothing (RACK's
        // baseline is set again by the first ACK that delivers).
        if self.board.is_empty()
            && input.ack == input.prior_una
            && input.sack.is_empty()
            && !input.duplicate
            && input.ts_rtt.is_none()
            && self.dupacks == 0
            && self.episode.is_none()
            && self.frto.is_none()
            && self.probe.is_none()
        {
            return AckOutcome::default();
        }
        let now = input.now;
        let mss = input.mss;
        let prior_in_flight = self.in_flight(mss);
        let advanced = input.ack > input.prior_una;
        let mut delivered = 0;
        self.rack.reset_fack(input.prior_una);
        let min_rtt = rtt.min_rtt();
        let rack = &mut self.rack;
        let rate = &mut self.rate;
        let mut acked_times = SendTimes::default();
        // A head segment acknowledged in part was delivered in part: its
        // send time counts, as Linux counts a partly acknowledged one.
        if let Some(head) = self.board.iter().next()
            && head.start < input.ack
            && input.ack < head.end
            && !head.sacked
        {
            acked_times.add(head);
        }
        self.board.acknowledge(input.ack, |seg| {
            // A segment SACKed earlier was delivered then, and RACK heard
            // of it then; feeding it again would look like reordering.
            if !seg.sacked {
                delivered += seg.len();
                rack.on_delivered(now, seg, min_rtt);
                rate.on_delivered(now, seg.len(), seg.sent_at, seg.end, &seg.rate);
                acked_times.add(seg);
            } else if seg.retransmitted() {
                acked_times.retransmitted = true;
            }
        });
        // Bytes cut from a partially acknowledged head count too.
        if advanced
            && delivered == 0
            && self
                .board
                .iter()
                .next()
                .is_some_and(|s| s.start == input.ack)
        {
            delivered = input.ack.distance_from(input.prior_una) as usize;
        }
        let mut dsack = false;
        let mut sacked_times = SendTimes::default();
        if self.sack && !input.sack.is_empty() {
            let rack = &mut self.rack;
            let rate = &mut self.rate;
            let update = self
                .board
                .apply_sack(input.sack, input.ack, input.snd_max, |seg| {
                    rack.on_delivered(now, seg, min_rtt);
                    rate.on_delivered(now, seg.len(), seg.sent_at, seg.end, &seg.rate);
                    sacked_times.add(seg);
                });
            delivered += update.newly_sacked;
            self.stats.bogus_sack_blocks += update.bogus as u64;
            if update.dsack.is_some() {
                dsack = true;
                self.stats.spurious_retransmissions += 1;
                self.rack.on_dsack(input.ack, input.snd_max);
                if let Some(e) = &mut self.episode {
                    e.dsacked += 1;
                }
            }
        }
        // Only cumulatively acknowledged bytes may grow the window (RFC
        // 5681 §3.1); SACKed bytes and duplicate ACKs count for PRR alone.
        let newly_acked = if advanced {
            delivered.min(input.ack.distance_from(input.prior_una) as usize)
        } else {
            0
        };
        // Duplicate ACKs, for recovery without SACK.
        if advanced {
            self.dupacks = 0;
        } else if input.duplicate && !self.sack {
            self.dupacks = self.dupacks.saturating_add(1);
            delivered += mss;
        }
        let sample = acked_times
            .sample(now, true)
            .or_else(|| sacked_times.sample(now, false))
            .or_else(|| {
                input.ts_rtt.map(|r| RttSample {
                    rtt: r,
                    latest: r,
                    source: RttSource::Timestamp,
                })
            });
        match sample {
            Some(s) if s.source == RttSource::SendTime => {
                rtt.on_sample_with_min(now, s.rtt, s.latest);
            }
            Some(s) => rtt.on_coarse_sample(now, s.rtt),
            None => {}
        }
        let (srtt, min_rtt) = (rtt.srtt(), rtt.min_rtt());
        let mut outcome = AckOutcome {
            delivered,
            rtt: sample,
            ..AckOutcome::default()
        };

        self.step_frto(input, advanced, cc, &mut outcome);
        self.detect_losses(input, advanced, srtt, min_rtt, &mut outcome);
        self.step_probe(input, dsack, cc);

        // Episode bookkeeping. The ACK that ends an episode does not also
        // grow the window: recovery just set it to ssthresh.
        let mut ended = false;
        if let Some(e) = self.episode
            && input.ack >= e.recover
        {
            self.end_episode(now, cc);
            ended = true;
        }
        if self.episode.is_none() && self.board.lost_bytes() > 0 && self.frto.is_none() {
            self.start_episode(now, input.snd_max, prior_in_flight, mss, cc);
        }
        match &mut self.episode {
            Some(e) if !e.timeout && !e.governed => {
                e.prr.on_ack(delivered, self.board.in_flight(), mss)
            }
            _ if newly_acked > 0 && !ended => cc.on_ack(&AckInfo {
                now,
                acked_bytes: newly_acked,
                prior_in_flight,
                rtt: sample.map(|s| s.latest),
                srtt,
                min_rtt,
                app_limited: input.app_limited,
            }),
            _ => {}
        }
        let context = SampleContext {
            now,
            prior_in_flight,
            in_flight: self.in_flight(mss),
            rtt: sample.map(|s| s.latest),
            min_rtt,
        };
        if let Some(rate_sample) = self.rate.take_sample(&context) {
            cc.on_rate_sample(&rate_sample);
        }
        outcome
    }

    /// RACK (with SACK) or duplicate-ACK counting and partial ACKs
    /// (without).
    fn detect_losses(
        &mut self,
        input: &AckInput<'_>,
        advanced: bool,
        srtt: Option<Duration>,
        min_rtt: Option<Duration>,
        outcome: &mut AckOutcome,
    ) {
        if self.frto.is_some() {
            return;
        }
        let lost_before = self.board.lost_bytes();
        self.mark_losses(input, advanced, srtt, min_rtt, outcome);
        let newly_lost = self.board.lost_bytes().saturating_sub(lost_before);
        self.rate.on_lost(newly_lost);
    }

    fn mark_losses(
        &mut self,
        input: &AckInput<'_>,
        advanced: bool,
        srtt: Option<Duration>,
        min_rtt: Option<Duration>,
        outcome: &mut AckOutcome,
    ) {
        if self.sack {
            let sacked_segments = self.board.sacked_segments();
            let reo_wnd = self
                .rack
                .reo_wnd(self.recovering_loss(), sacked_segments, min_rtt, srtt);
            let (marked, next) = self.rack.detect_loss(input.now, &mut self.board, reo_wnd);
            self.stats.rack_marked_lost += marked as u64;
            outcome.reorder_deadline = next;
            return;
        }
        match &mut self.episode {
            // RFC 6582 §3.2 step 5: a partial ACK resends the next hole.
            Some(e) if !e.ecn && advanced && input.ack < e.recover => self.board.mark_lost(0),
            // A loss while an ECN echo's reduction runs: fast retransmit,
            // and the episode goes on as a fast recovery, without a second
            // reduction for the same window (RFC 3168 §6.1.2).
            Some(e) if e.ecn && self.dupacks as usize == DUP_THRESH => {
                e.ecn = false;
                self.board.mark_lost(0);
            }
            None if self.dupacks as usize == DUP_THRESH => {
                // RFC 6582 §3.2 step 2: not again for the same window.
                // "Covers more than recover": recover is the highest
                // sequence number sent, one below the SND.MAX recorded.
                let fresh = self.last_recover.is_none_or(|r| input.ack > r);
                if fresh {
                    self.board.mark_lost(0);
                }
            }
            _ => {}
        }
    }

    /// RACK's reordering timer fired: mark what is now due.
    pub fn on_reorder_timeout(
        &mut self,
        now: Instant,
        srtt: Option<Duration>,
        min_rtt: Option<Duration>,
        snd_max: SeqNumber,
        mss: usize,
        cc: &mut dyn CongestionControl,
    ) -> Option<Instant> {
        let sacked_segments = self.board.sacked_segments();
        let reo_wnd = self
            .rack
            .reo_wnd(self.recovering_loss(), sacked_segments, min_rtt, srtt);
        let prior_in_flight = self.in_flight(mss);
        let lost_before = self.board.lost_bytes();
        let (marked, next) = self.rack.detect_loss(now, &mut self.board, reo_wnd);
        self.stats.rack_marked_lost += marked as u64;
        self.rate
            .on_lost(self.board.lost_bytes().saturating_sub(lost_before));
        if marked > 0 && self.episode.is_none() {
            self.start_episode(now, snd_max, prior_in_flight, mss, cc);
        }
        next
    }

    fn start_episode(
        &mut self,
        now: Instant,
        snd_max: SeqNumber,
        in_flight: usize,
        mss: usize,
        cc: &mut dyn CongestionControl,
    ) {
        cc.on_congestion_event(&CongestionEvent {
            now,
            in_flight,
            cause: CongestionCause::Loss,
        });
        self.stats.fast_recoveries += 1;
        self.last_recover = Some(snd_max);
        self.episode = Some(Episode::begin(
            snd_max,
            false,
            in_flight,
            cc.ssthresh(),
            mss,
            cc.governs_recovery(),
        ));
    }

    fn end_episode(&mut self, now: Instant, cc: &mut dyn CongestionControl) {
        let Some(e) = self.episode.take() else { return };
        self.rack.on_recovery_end();
        if !e.timeout {
            cc.on_recovery_end(now);
        }
        // RFC 3708: every retransmission was a duplicate — the loss was
        // reordering or delay, so undo the reduction (RFC 4015).
        if !e.ecn && e.retransmissions > 0 && e.dsacked >= e.retransmissions {
            cc.on_spurious_congestion(now);
            self.stats.undos += 1;
        }
    }

    /// Losses are being repaired: a fast recovery, a timeout's recovery,
    /// or an ECN reduction that has resent something. An ECN reduction
    /// alone, like Linux's CWR state, leaves RACK's reordering window as
    /// it is (RFC 8985 §6.2 zeroes it in loss recovery only).
    fn recovering_loss(&self) -> bool {
        self.episode
            .is_some_and(|e| !e.ecn || e.retransmissions > 0)
    }

    /// The peer echoed a congestion mark (ECE, RFC 3168 §6.1.2) and the
    /// connection's ECN machine found it due a response. Unless a recovery
    /// is already reducing the window (a loss in the same window has been
    /// answered: no second reduction), the controller hears an ECN
    /// congestion event and the window comes down as after a loss, through
    /// PRR, but nothing is resent; the episode ends, as a fast recovery
    /// does, once SND.UNA passes `snd_max`, and no ACK grows the window
    /// until then. Returns whether it responded.
    pub fn on_ecn_echo(
        &mut self,
        now: Instant,
        snd_max: SeqNumber,
        in_flight: usize,
        mss: usize,
        cc: &mut dyn CongestionControl,
    ) -> bool {
        if self.episode.is_some() || self.frto.is_some() {
            return false;
        }
        cc.on_congestion_event(&CongestionEvent {
            now,
            in_flight,
            cause: CongestionCause::Ecn,
        });
        let mut episode = Episode::begin(
            snd_max,
            false,
            in_flight,
            cc.ssthresh(),
            mss,
            cc.governs_recovery(),
        );
        episode.ecn = true;
        self.episode = Some(episode);
        true
    }

    /// F-RTO (RFC 5682 §2.1) steps 2 and 3.
    fn step_frto(
        &mut self,
        input: &AckInput<'_>,
        advanced: bool,
        cc: &mut dyn CongestionControl,
        outcome: &mut AckOutcome,
    ) {
        let Some(frto) = self.frto else { return };
        match frto {
            Frto::AwaitFirstAck { recover } => {
                if advanced && input.ack < recover && input.has_unsent {
                    // Step 2b: probe with new data before resending more.
                    self.frto = Some(Frto::AwaitSecondAck {
                        recover,
                        allowance: 2 * input.mss,
                    });
                } else {
                    // Step 2a: a duplicate, or everything acknowledged, or
                    // nothing new to send: conventional recovery resends
                    // the rest, which the timeout marked lost.
                    self.frto = None;
                }
            }
            Frto::AwaitSecondAck { .. } => {
                self.frto = None;
                if advanced {
                    // Step 3b: data never resent was acknowledged: the
                    // timeout was spurious. What it marked lost is in
                    // flight after all; undo it and end the episode.
                    self.board.clear_lost();
                    self.stats.spurious_timeouts += 1;
                    self.stats.undos += 1;
                    cc.on_spurious_congestion(input.now);
                    self.episode = None;
                    outcome.spurious_timeout = true;
                }
                // Step 3a: the timeout was real; the held segments are
                // still marked lost and now go out.
            }
        }
    }

    /// RFC 8985 §7.4: the ACK of a tail loss probe.
    fn step_probe(&mut self, input: &AckInput<'_>, dsack: bool, cc: &mut dyn CongestionControl) {
        let Some(probe) = self.probe else { return };
        if !probe.retransmission && input.ack >= probe.end {
            // A probe of new data, delivered: no loss to decide on, and
            // the next tail may be probed again (RFC 8985 §7.4).
            self.probe = None;
            return;
        }
        if dsack && probe.retransmission {
            // The original arrived too: nothing was lost.
            self.probe = None;
            return;
        }
        // RFC 8985 §7.4: only an ACK beyond the probe proves the probe
        // repaired a loss; one exactly at its end may still be followed by
        // a D-SACK showing the original arrived too.
        if input.ack > probe.end {
            self.probe = None;
            if probe.retransmission && self.episode.is_none() {
                // The probe repaired a tail loss: respond as fast recovery
                // would, at once (RFC 8985 §7.4.2).
                cc.on_congestion_event(&CongestionEvent {
                    now: input.now,
                    in_flight: self.board.in_flight(),
                    cause: CongestionCause::Loss,
                });
                cc.on_recovery_end(input.now);
            }
        }
    }

    /// A retransmission timeout fired (RFC 6298 §5.4, RFC 5681 §3.1).
    /// The controller collapses its window; F-RTO resends only the first
    /// segment until the next ACKs show whether the timeout was spurious.
    pub fn on_rto(
        &mut self,
        now: Instant,
        snd_max: SeqNumber,
        mss: usize,
        frto: bool,
        cc: &mut dyn CongestionControl,
    ) {
        // RFC 5681 §3.1: a timeout of data already resent by a timeout
        // holds ssthresh; the flight now is one resent segment.
        let repeated = self.episode.filter(|e| e.timeout);
        let in_flight = repeated.map_or_else(|| self.in_flight(mss), |e| e.flight);
        cc.on_rto(now, in_flight);
        self.probe = None;
        self.dupacks = 0;
        let repeated = repeated.is_some();
        // RFC 6675 §5.1: the receiver may have reneged on what it SACKed;
        // RFC 6298 §5.4: everything outstanding is resent from the head.
        // With F-RTO only the head goes until the next ACKs tell whether
        // the timeout was spurious (RFC 5682 §2.1 step 1).
        // What was in flight is now deemed lost.
        self.rate.on_lost(self.board.in_flight());
        self.board.reset_for_timeout();
        self.frto = (frto && !repeated && self.frto.is_none())
            .then_some(Frto::AwaitFirstAck { recover: snd_max });
        self.episode = Some(Episode::begin(
            snd_max,
            true,
            in_flight,
            cc.ssthresh(),
            mss,
            cc.governs_recovery(),
        ));
        self.last_recover = Some(snd_max);
    }

    /// When a tail loss probe should go out if nothing else happens, given
    /// the time of the last transmission: `None` when no probe applies
    /// (SACK in use, no probe outstanding, not recovering from a timeout;
    /// RFC 8985 §7.2 also excludes fast recovery, see below).
    pub fn probe_deadline(
        &self,
        last_sent: Instant,
        srtt: Option<Duration>,
        rto: Duration,
        mss: usize,
    ) -> Option<Instant> {
        // Also in fast recovery, unlike RFC 8985 §7.2 (and Linux): RACK
        // finds a lost retransmission only from an ACK of something sent
        // after it, and with a small window the ACK that would say so may
        // be the only one in flight. When it is lost, the probe asks for
        // it again two round trips later instead of a retransmission
        // timeout hundreds of round trips later (QUIC's probe timeout
        // runs in recovery too, RFC 9002 §6.2). Not after a timeout: the
        // timer's own backoff governs that.
        if !self.sack
            || self.episode.is_some_and(|e| e.timeout)
            || self.frto.is_some()
            || self.probe.is_some()
            || self.board.is_empty()
        {
            return None;
        }
        let one_segment = self.board.in_flight() <= mss;
        Some(last_sent + probe_timeout(srtt, one_segment, rto))
    }

    /// The probe timer fired. Returns the segment to resend when there is
    /// no new data to probe with (the caller sends new data otherwise and
    /// reports it with [`Recovery::on_probe_sent`]).
    pub fn probe_target(&self) -> Option<SentSegment> {
        self.board.last().copied()
    }

    /// A probe went out ending at `end`.
    pub fn on_probe_sent(&mut self, end: SeqNumber, retransmission: bool) {
        self.stats.tlp_probes += 1;
        self.probe = Some(Probe {
            end,
            retransmission,
        });
    }
}

#[cfg(test)]
mod tests;
