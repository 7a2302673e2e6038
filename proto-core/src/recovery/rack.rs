//! RACK: time-based loss detection (RFC 8985 §6), and the tail loss probe
//! timeout (§7).
//!
//! A segment is lost when a segment sent after it has been delivered and
//! more than RTT + reo_wnd has passed since it was sent. The reordering
//! window adapts: it starts at min_RTT/4, drops to zero in recovery until
//! reordering is seen, and widens by one quarter min_RTT per round in which
//! a D-SACK shows a retransmission was spurious.

use super::scoreboard::{Scoreboard, SentSegment, sent_after};
use crate::seq::SeqNumber;
use crate::time::{Duration, Instant};

/// RFC 8985 §6.2: DupThresh segments SACKed make reo_wnd zero while no
/// reordering has been seen.
pub const DUP_THRESH: usize = 3;
/// RFC 8985 §7.2: worst-case delayed-ACK time added to the probe timeout
/// when a single segment is in flight.
pub const WORST_CASE_DELAYED_ACK: Duration = Duration::from_millis(200);
/// Recoveries after which a widened reordering window returns to normal.
const REO_WND_PERSIST: u32 = 16;

/// RACK's state (RFC 8985 §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rack {
    /// Send time of the most recently sent segment known delivered.
    xmit_ts: Option<Instant>,
    /// Its end sequence number (ties between equal send times).
    end_seq: SeqNumber,
    /// RTT measured from that segment.
    rtt: Duration,
    /// Highest end sequence number delivered (RACK.fack).
    fack: SeqNumber,
    /// Reordering has been observed on this connection.
    reordering_seen: bool,
    /// reo_wnd in units of min_RTT/4.
    reo_wnd_mult: u32,
    reo_wnd_persist: u32,
    /// SND.NXT when the last D-SACK widened the window: one widening per
    /// round trip.
    dsack_round: Option<SeqNumber>,
}

impl Default for Rack {
    fn default() -> Rack {
        Rack {
            xmit_ts: None,
            end_seq: SeqNumber(0),
            rtt: Duration::ZERO,
            fack: SeqNumber(0),
            reordering_seen: false,
            reo_wnd_mult: 1,
            reo_wnd_persist: REO_WND_PERSIST,
            dsack_round: None,
        }
    }
}

impl Rack {
    /// A fresh state.
    pub fn new() -> Rack {
        Rack::default()
    }

    /// RFC 8985 §6.2 step 2: a segment was delivered (cumulatively ACKed or
    /// SACKed).
    pub fn on_delivered(&mut self, now: Instant, seg: &SentSegment, min_rtt: Option<Duration>) {
        let rtt = now.saturating_duration_since(seg.sent_at);
        // The ACK may be for the original of a retransmission: an RTT
        // shorter than the path's minimum cannot be the retransmission's.
        // RFC 8985's other test, TSecr older than the retransmission, is
        // not used: a receiver echoes the TSval of the segment that last
        // advanced its left edge (RFC 7323 §4.3), so the ACK of a SACKed
        // retransmission echoes an older segment and would always fail it.
        // Linux uses the RTT test alone too.
        if seg.retransmitted() && min_rtt.is_some_and(|m| rtt < m) {
            return;
        }
        self.rtt = rtt;
        match self.xmit_ts {
            Some(t) if !sent_after(seg.sent_at, seg.end, t, self.end_seq) => {}
            _ => {
                self.xmit_ts = Some(seg.sent_at);
                self.end_seq = seg.end;
            }
        }
        // Step 3: delivered below what was already delivered, and never
        // retransmitted: the network reordered it.
        if seg.end < self.fack && !seg.retransmitted() {
            self.reordering_seen = true;
        }
        self.fack = self.fack.max(seg.end);
    }

    /// Makes the first delivery's sequence number the baseline for `fack`.
    pub fn reset_fack(&mut self, una: SeqNumber) {
        if self.xmit_ts.is_none() {
            self.fack = una;
        }
    }

    /// RFC 8985 §6.2 step 4: a D-SACK arrived; widen reo_wnd once per round.
    pub fn on_dsack(&mut self, una: SeqNumber, snd_nxt: SeqNumber) {
        if self.dsack_round.is_some_and(|r| una >= r) {
            self.dsack_round = None;
        }
        if self.dsack_round.is_none() {
            self.dsack_round = Some(snd_nxt);
            self.reo_wnd_mult = self.reo_wnd_mult.saturating_add(1);
            self.reo_wnd_persist = REO_WND_PERSIST;
        }
    }

    /// A recovery episode ended: after 16 of them, a widened window
    /// returns to its base.
    pub fn on_recovery_end(&mut self) {
        self.reo_wnd_persist = self.reo_wnd_persist.saturating_sub(1);
        if self.reo_wnd_persist == 0 {
            self.reo_wnd_mult = 1;
            self.reo_wnd_persist = REO_WND_PERSIST;
        }
    }

    /// RFC 8985 §6.2 step 4: the reordering window.
    pub fn reo_wnd(
        &self,
        in_recovery: bool,
        sacked_segments: usize,
        min_rtt: Option<Duration>,
        srtt: Option<Duration>,
    ) -> Duration {
        if !self.reordering_seen && (in_recovery || sacked_segments >= DUP_THRESH) {
            return Duration::ZERO;
        }
        let Some(min_rtt) = min_rtt else {
            return Duration::ZERO;
        };
        let wnd = min_rtt.div(4).saturating_mul(u64::from(self.reo_wnd_mult));
        match srtt {
            Some(srtt) => wnd.min(srtt),
            None => wnd,
        }
    }

    /// RFC 8985 §6.2 step 5: marks lost every segment sent before the
    /// most recently delivered one whose time is up. Returns how many were
    /// marked and, if some are not yet due, when to look again.
    ///
    /// The scoreboard lists the segments in flight in send order, as
    /// Linux's `tcp_rack_detect_loss` walks its time-sorted queue: from the
    /// oldest, those due are marked, and the first one not due ends the
    /// walk — the ones sent after it are due later still. The one due last
    /// is the newest sent before the most recently delivered segment,
    /// which the scoreboard finds without a walk.
    // Inlined into `Recovery::on_ack`: its pair came back through memory
    // and was read back wider than written, a store-forwarding stall.
    #[inline]
    pub fn detect_loss(
        &self,
        now: Instant,
        board: &mut Scoreboard,
        reo_wnd: Duration,
    ) -> (usize, Option<Instant>) {
        let Some(rack_ts) = self.xmit_ts else {
            return (0, None);
        };
        let Some(newest) = board.newest_in_flight_sent_before(rack_ts, self.end_seq) else {
            return (0, None);
        };
        let deadline = |seg: &SentSegment| seg.sent_at + self.rtt + reo_wnd;
        let last_deadline = board.get(newest).map(deadline);
        let mut marked = 0;
        while let Some(i) = board.oldest_in_flight() {
            let Some(seg) = board.get(i).copied() else {
                break;
            };
            if !sent_after(rack_ts, self.end_seq, seg.sent_at, seg.end) {
                // Sent after the newest delivered segment: too early to say,
                // for it and every segment sent after it.
                break;
            }
            if deadline(&seg) > now {
                return (marked, last_deadline);
            }
            board.mark_lost(i);
            marked += 1;
        }
        (marked, None)
    }
}

/// RFC 8985 §7.2: when to send a tail loss probe. `None` without SACK
/// (TLP relies on it) is the caller's decision; this is the arithmetic.
pub fn probe_timeout(
    srtt: Option<Duration>,
    one_segment_in_flight: bool,
    rto: Duration,
) -> Duration {
    let pto = match srtt {
        Some(srtt) => {
            let base = srtt.saturating_mul(2);
            if one_segment_in_flight {
                base + WORST_CASE_DELAYED_ACK
            } else {
                base
            }
        }
        None => Duration::from_secs(1),
    };
    pto.min(rto)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    /// Ten 100-byte segments, one every millisecond from t = 0.
    fn board() -> Scoreboard {
        let mut b = Scoreboard::new();
        for i in 0..10u32 {
            b.on_sent_new(
                SeqNumber(i * 100),
                SeqNumber((i + 1) * 100),
                false,
                ms(u64::from(i)),
            );
        }
        b
    }

    #[test]
    fn later_delivery_marks_earlier_segments_after_rtt_plus_reo_wnd() {
        let mut b = board();
        let mut rack = Rack::new();
        rack.reset_fack(SeqNumber(0));
        // Segment 5 (sent at 5 ms) is SACKed at 105 ms: RTT 100 ms.
        let seg5 = *b.get(5).unwrap();
        rack.on_delivered(ms(105), &seg5, Some(Duration::from_millis(100)));
        b.apply_sack(
            &[crate::wire::SackBlock {
                left: SeqNumber(500),
                right: SeqNumber(600),
            }],
            SeqNumber(0),
            SeqNumber(1000),
            |_| {},
        );
        // No reordering seen, one SACKed segment: reo_wnd = min_rtt/4 = 25 ms.
        let reo = rack.reo_wnd(
            false,
            1,
            Some(Duration::from_millis(100)),
            Some(Duration::from_millis(100)),
        );
        assert_eq!(reo, Duration::from_millis(25));
        // At 105 ms nothing is due yet: segment 0 is due at 0+100+25.
        let (marked, next) = rack.detect_loss(ms(105), &mut b, reo);
        assert_eq!(marked, 0);
        assert_eq!(next, Some(ms(129)), "segment 4 is due last: 4+100+25");
        // At 127 ms segments 0, 1, 2 are due (sent at 0, 1, 2 ms).
        let (marked, _) = rack.detect_loss(ms(127), &mut b, reo);
        assert_eq!(marked, 3);
        // Segments sent after segment 5 are never marked by it.
        let (marked, next) = rack.detect_loss(ms(1000), &mut b, reo);
        assert_eq!(marked, 2);
        assert_eq!(next, None);
        assert!(b.get(6).is_some_and(|s| !s.lost));
    }

    #[test]
    fn reordering_widens_the_window() {
        let mut b = board();
        let mut rack = Rack::new();
        rack.reset_fack(SeqNumber(0));
        let min = Some(Duration::from_millis(40));
        rack.on_delivered(ms(50), &b.get(3).copied().unwrap(), min);
        assert!(!rack.reordering_seen);
        // In recovery with no reordering seen, the window is zero.
        assert_eq!(rack.reo_wnd(true, 1, min, min), Duration::ZERO);
        // Segment 1 arrives after 3: reordering.
        rack.on_delivered(ms(51), &b.get(1).copied().unwrap(), min);
        assert!(rack.reordering_seen);
        assert_eq!(
            rack.reo_wnd(true, 1, min, Some(Duration::from_secs(1))),
            Duration::from_millis(10)
        );
        // A D-SACK adds a quarter min_RTT, once per round.
        rack.on_dsack(SeqNumber(0), SeqNumber(1000));
        rack.on_dsack(SeqNumber(100), SeqNumber(1000));
        assert_eq!(rack.reo_wnd_mult, 2);
        assert_eq!(
            rack.reo_wnd(false, 0, min, Some(Duration::from_secs(1))),
            Duration::from_millis(20)
        );
        // Capped by SRTT.
        assert_eq!(
            rack.reo_wnd(false, 0, min, Some(Duration::from_millis(15))),
            Duration::from_millis(15)
        );
        // After 16 recoveries it returns to one quarter.
        for _ in 0..16 {
            rack.on_recovery_end();
        }
        assert_eq!(rack.reo_wnd_mult, 1);
        b.mark_all_lost(false);
    }

    #[test]
    fn spurious_looking_rtt_of_a_retransmission_is_ignored() {
        let mut b = board();
        b.mark_lost(0);
        b.on_retransmitted(SeqNumber(0), ms(200));
        let seg = *b.get(0).unwrap();
        let mut rack = Rack::new();
        // ACKed 1 ms after the retransmission: it was the original that
        // arrived; no RTT sample from it.
        rack.on_delivered(ms(201), &seg, Some(Duration::from_millis(50)));
        assert_eq!(rack.detect_loss(ms(500), &mut b, Duration::ZERO), (0, None));
    }

    #[test]
    fn probe_timeout_arithmetic() {
        let rto = Duration::from_secs(1);
        assert_eq!(
            probe_timeout(Some(Duration::from_millis(50)), false, rto),
            Duration::from_millis(100)
        );
        assert_eq!(
            probe_timeout(Some(Duration::from_millis(50)), true, rto),
            Duration::from_millis(300)
        );
        assert_eq!(probe_timeout(None, false, rto), Duration::from_secs(1));
        assert_eq!(probe_timeout(Some(Duration::from_secs(2)), false, rto), rto);
    }
}
