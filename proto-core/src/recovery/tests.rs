//! Recovery scenarios against a controller that records what it is told.

use super::*;
use crate::cc::RateSample;
use std::vec::Vec;

const MSS: usize = 1000;

/// Records every call; its window is fixed so the tests see the machine's
/// own decisions.
#[derive(Debug, Default)]
struct Recorder {
    calls: Vec<&'static str>,
    ssthresh: usize,
    /// The flight size each `on_rto` was given.
    rto_flights: Vec<usize>,
    /// Every rate sample.
    samples: Vec<RateSample>,
    /// Set the window during recovery itself (as BBR does).
    governs: bool,
}

impl CongestionControl for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }
    fn window(&self) -> usize {
        10 * MSS
    }
    fn ssthresh(&self) -> usize {
        if self.ssthresh == 0 {
            usize::MAX
        } else {
            self.ssthresh
        }
    }
    fn on_ack(&mut self, _: &AckInfo) {
        self.calls.push("ack");
    }
    fn on_congestion_event(&mut self, e: &CongestionEvent) {
        self.ssthresh = e.in_flight / 2;
        self.calls.push(match e.cause {
            CongestionCause::Loss => "congestion",
            CongestionCause::Ecn => "ecn",
        });
    }
    fn on_recovery_end(&mut self, _: Instant) {
        self.calls.push("recovery_end");
    }
    fn on_rto(&mut self, _: Instant, in_flight: usize) {
        self.calls.push("rto");
        self.rto_flights.push(in_flight);
    }
    fn on_spurious_congestion(&mut self, _: Instant) {
        self.calls.push("undo");
    }
    fn on_mss_change(&mut self, _: usize) {}
    fn on_rate_sample(&mut self, rs: &RateSample) {
        self.samples.push(*rs);
    }
    fn governs_recovery(&self) -> bool {
        self.governs
    }
}

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

fn s(n: u32) -> SeqNumber {
    SeqNumber(n * MSS as u32)
}

/// `n` segments sent at 0, 1, 2… ms.
fn sent(sack: bool, n: u32) -> Recovery {
    let mut r = Recovery::new(sack);
    for i in 0..n {
        r.on_sent(ms(u64::from(i)), s(i), s(i + 1), false, false);
    }
    r
}

fn ack<'a>(
    now: u64,
    ack: SeqNumber,
    prior: SeqNumber,
    max: SeqNumber,
    sack: &'a [SackBlock],
) -> AckInput<'a> {
    AckInput {
        now: ms(now),
        ack,
        prior_una: prior,
        snd_max: max,
        sack,
        duplicate: ack == prior && sack.is_empty(),
        ts_rtt: None,
        app_limited: false,
        has_unsent: true,
        mss: MSS,
    }
}

/// An estimator that has seen one 100 ms sample: SRTT and min-RTT are
/// 100 ms before an ACK's own sample moves them.
fn est() -> RttEstimator {
    let mut e = RttEstimator::new(crate::rtt::RttConfig::default());
    e.on_sample(ms(0), Duration::from_millis(100));
    e
}

fn block(l: u32, r: u32) -> SackBlock {
    SackBlock {
        left: s(l),
        right: s(r),
    }
}

#[test]
fn sack_hole_is_found_by_rack_and_repaired_under_prr() {
    let mut r = sent(true, 10);
    let mut cc = Recorder::default();
    // Segment 0 lost; 1..4 SACKed at 105 ms: three SACKed segments and no
    // reordering seen make reo_wnd zero, so segment 0 (sent at 0 ms, RTT
    // 100 ms) is lost at once.
    let blocks = [block(1, 4)];
    let out = r.on_ack(&ack(105, s(0), s(0), s(10), &blocks), &mut est(), &mut cc);
    assert_eq!(out.delivered, 3 * MSS);
    assert!(r.episode.is_some());
    assert_eq!(cc.calls, ["congestion"]);
    assert_eq!(r.next_retransmission().map(|x| x.start), Some(s(0)));
    // Pipe: 10 sent, 3 SACKed, 1 lost.
    assert_eq!(r.in_flight(MSS), 6 * MSS);
    // PRR after the first ACK: ssthresh = 10 000/2 = 5000, RecoverFS
    // 10 000, delivered 3000: ceil(3000·5000/10 000) = 1500 − 0 out (at
    // least a segment for the fast retransmit).
    assert_eq!(r.send_quota(0, MSS), 1500);
    r.on_sent(ms(106), s(0), s(1), false, true);
    assert_eq!(r.next_retransmission(), None);
    // The next ACK SACKs segment 4: delivered 4000 in all,
    // ceil(4000·5000/10 000) = 2000, less the 1000 already out.
    r.on_ack(
        &ack(107, s(0), s(0), s(10), &[block(1, 5)]),
        &mut est(),
        &mut cc,
    );
    assert_eq!(r.send_quota(0, MSS), 1000);
    // The cumulative ACK for everything ends the episode.
    r.on_ack(&ack(210, s(10), s(0), s(10), &[]), &mut est(), &mut cc);
    assert!(r.episode.is_none());
    assert_eq!(cc.calls, ["congestion", "recovery_end"]);
    assert!(r.board().is_empty());
}

#[test]
fn reordering_within_the_window_is_not_loss() {
    let mut r = sent(true, 10);
    let mut cc = Recorder::default();
    // Segment 1 SACKed before 0 arrives: one SACKed segment, reo_wnd =
    // min_RTT/4 = 25 ms.
    let blocks = [block(1, 2)];
    let out = r.on_ack(&ack(101, s(0), s(0), s(10), &blocks), &mut est(), &mut cc);
    assert!(r.episode.is_none());
    assert_eq!(out.reorder_deadline, Some(ms(125)), "0 + RTT 100 + 25");
    // Segment 0 arrives in time: no loss, no retransmission.
    r.on_ack(&ack(110, s(2), s(0), s(10), &[]), &mut est(), &mut cc);
    assert!(r.episode.is_none());
    assert_eq!(r.next_retransmission(), None);
    assert!(!cc.calls.contains(&"congestion"));
}

#[test]
fn reorder_timer_marks_the_straggler() {
    let mut r = sent(true, 10);
    let mut cc = Recorder::default();
    let blocks = [block(1, 2)];
    r.on_ack(&ack(101, s(0), s(0), s(10), &blocks), &mut est(), &mut cc);
    let next = r.on_reorder_timeout(
        ms(125),
        Some(Duration::from_millis(100)),
        Some(Duration::from_millis(100)),
        s(10),
        MSS,
        &mut cc,
    );
    assert_eq!(next, None);
    assert!(r.episode.is_some());
    assert_eq!(r.next_retransmission().map(|x| x.start), Some(s(0)));
}

#[test]
fn newreno_without_sack_fast_retransmits_and_follows_partial_acks() {
    let mut r = sent(false, 10);
    let mut cc = Recorder::default();
    // Two duplicate ACKs: limited transmit lets two new segments out.
    for t in 0..2 {
        r.on_ack(&ack(100 + t, s(0), s(0), s(10), &[]), &mut est(), &mut cc);
    }
    assert!(r.episode.is_none());
    assert_eq!(r.in_flight(MSS), 8 * MSS);
    // The third: fast retransmit of the first segment.
    r.on_ack(&ack(102, s(0), s(0), s(10), &[]), &mut est(), &mut cc);
    assert!(r.episode.is_some());
    assert_eq!(r.next_retransmission().map(|x| x.start), Some(s(0)));
    r.on_sent(ms(103), s(0), s(1), false, true);
    // A partial ACK (segments 0–2 arrived, 3 is missing too): resend 3.
    r.on_ack(&ack(200, s(3), s(0), s(10), &[]), &mut est(), &mut cc);
    assert!(r.episode.is_some());
    assert_eq!(r.next_retransmission().map(|x| x.start), Some(s(3)));
    r.on_sent(ms(201), s(3), s(4), false, true);
    // The full ACK ends recovery.
    r.on_ack(&ack(300, s(10), s(3), s(10), &[]), &mut est(), &mut cc);
    assert!(r.episode.is_none());
    assert_eq!(cc.calls.iter().filter(|c| **c == "congestion").count(), 1);
    assert!(cc.calls.contains(&"recovery_end"));
}

#[test]
fn dsack_for_every_retransmission_undoes_the_reduction() {
    let mut r = sent(true, 10);
    let mut cc = Recorder::default();
    r.on_ack(
        &ack(105, s(0), s(0), s(10), &[block(1, 4)]),
        &mut est(),
        &mut cc,
    );
    r.on_sent(ms(106), s(0), s(1), false, true);
    // The original segment 0 was only late: the ACK covers everything and
    // D-SACKs the retransmission.
    r.on_ack(
        &ack(110, s(10), s(0), s(10), &[block(0, 1)]),
        &mut est(),
        &mut cc,
    );
    assert_eq!(cc.calls, ["congestion", "recovery_end", "undo"]);
    assert_eq!(r.stats().undos, 1);
    assert_eq!(r.stats().spurious_retransmissions, 1);
}

#[test]
fn frto_detects_a_spurious_timeout() {
    let mut r = sent(true, 10);
    let mut cc = Recorder::default();
    r.on_rto(ms(1000), s(10), MSS, true, &mut cc);
    // Everything is deemed lost, so the collapsed window has room for the
    // first segment; only it is resent until the next ACK.
    assert_eq!(r.board().lost_bytes(), 10 * MSS);
    assert_eq!(r.send_quota(MSS, MSS), MSS);
    assert_eq!(r.next_retransmission().map(|x| x.start), Some(s(0)));
    r.on_sent(ms(1000), s(0), s(1), false, true);
    assert!(r.holding_retransmissions());
    // The first ACK advances (the delayed originals arrive): probe with
    // two new segments instead of resending.
    r.on_ack(&ack(1010, s(2), s(0), s(10), &[]), &mut est(), &mut cc);
    assert_eq!(r.send_quota(MSS, MSS), 2 * MSS);
    assert!(r.holding_retransmissions());
    r.on_sent(ms(1011), s(10), s(11), false, false);
    r.on_sent(ms(1011), s(11), s(12), false, false);
    // The second ACK acknowledges data never resent: spurious.
    let out = r.on_ack(&ack(1020, s(5), s(2), s(12), &[]), &mut est(), &mut cc);
    assert!(out.spurious_timeout);
    // The window grows in slow start from the collapsed window on the
    // first ACK, is restored by the undo, and grows normally on the second.
    assert_eq!(cc.calls, ["rto", "ack", "undo", "ack"]);
    assert!(r.episode.is_none());
    assert_eq!(r.next_retransmission(), None);
}

#[test]
fn frto_falls_back_on_a_real_timeout() {
    let mut r = sent(true, 5);
    let mut cc = Recorder::default();
    r.on_rto(ms(1000), s(5), MSS, true, &mut cc);
    r.on_sent(ms(1000), s(0), s(1), false, true);
    // A duplicate ACK: the timeout was real; everything is resent.
    r.on_ack(&ack(1010, s(0), s(0), s(5), &[]), &mut est(), &mut cc);
    assert_eq!(r.board().lost_bytes(), 4 * MSS);
    assert!(!cc.calls.contains(&"undo"));
}

#[test]
fn tail_loss_probe_repairing_a_loss_reduces_the_window() {
    let mut r = sent(true, 3);
    let mut cc = Recorder::default();
    let deadline = r.probe_deadline(
        ms(2),
        Some(Duration::from_millis(50)),
        Duration::from_secs(1),
        MSS,
    );
    assert_eq!(deadline, Some(ms(102)));
    let target = r.probe_target().unwrap();
    assert_eq!(target.start, s(2));
    r.on_sent(ms(102), target.start, target.end, false, true);
    r.on_probe_sent(target.end, true);
    // No second probe while one is out.
    assert_eq!(
        r.probe_deadline(
            ms(102),
            Some(Duration::from_millis(50)),
            Duration::from_secs(1),
            MSS
        ),
        None
    );
    // The ACK reaches exactly the probe's end: a D-SACK may still show the
    // original arrived too, so nothing is decided yet (RFC 8985 §7.4).
    r.on_ack(&ack(160, s(3), s(0), s(3), &[]), &mut est(), &mut cc);
    assert_eq!(cc.calls, ["ack"]);
    // New data goes out and an ACK beyond the probe arrives with no D-SACK:
    // the last segment had been lost, and the probe repaired it.
    r.on_sent(ms(161), s(3), s(4), false, false);
    r.on_ack(&ack(220, s(4), s(3), s(4), &[]), &mut est(), &mut cc);
    assert_eq!(cc.calls, ["ack", "congestion", "recovery_end", "ack"]);
    assert_eq!(r.stats().tlp_probes, 1);
}

#[test]
fn fast_recovery_keeps_a_tail_probe_and_a_timeout_does_not() {
    let srtt = Some(Duration::from_millis(50));
    let rto = Duration::from_secs(1);
    let mut r = sent(true, 10);
    let mut cc = Recorder::default();
    // Segment 0 lost, 1..4 SACKed: fast recovery; the hole is resent.
    r.on_ack(
        &ack(105, s(0), s(0), s(10), &[block(1, 4)]),
        &mut est(),
        &mut cc,
    );
    assert!(r.episode.is_some());
    r.on_sent(ms(105), s(0), s(1), true, false);
    // If the ACK of that retransmission is lost, nothing else would come
    // back before the timeout: a probe is due two round trips on.
    assert_eq!(r.probe_deadline(ms(105), srtt, rto, MSS), Some(ms(205)));
    // After a timeout the timer's backoff rules instead.
    r.on_rto(ms(1105), s(10), MSS, false, &mut cc);
    assert_eq!(r.probe_deadline(ms(1105), srtt, rto, MSS), None);
}

#[test]
fn a_probe_of_new_data_ends_when_acknowledged_and_the_next_tail_is_probed() {
    let srtt = Some(Duration::from_millis(50));
    let rto = Duration::from_secs(1);
    let mut r = sent(true, 3);
    let mut cc = Recorder::default();
    // The probe carries new data, the fourth segment.
    r.on_sent(ms(102), s(3), s(4), false, false);
    r.on_probe_sent(s(4), false);
    assert_eq!(r.probe_deadline(ms(102), srtt, rto, MSS), None);
    // An ACK of everything, the probe included, exactly at its end.
    r.on_ack(&ack(160, s(4), s(0), s(4), &[]), &mut est(), &mut cc);
    assert_eq!(cc.calls, ["ack"], "delivered new data is no loss");
    // The next flight's tail gets a probe of its own, not a timeout.
    r.on_sent(ms(161), s(4), s(5), false, false);
    r.on_sent(ms(161), s(5), s(6), false, false);
    assert_eq!(r.probe_deadline(ms(161), srtt, rto, MSS), Some(ms(261)));
}

#[test]
fn bogus_sack_blocks_are_ignored_and_counted() {
    let mut r = sent(true, 5);
    let mut cc = Recorder::default();
    let blocks = [
        block(3, 2),
        block(4, 50),
        SackBlock {
            left: s(1) + 7u32,
            right: s(2),
        },
    ];
    r.on_ack(&ack(100, s(1), s(0), s(5), &blocks), &mut est(), &mut cc);
    assert_eq!(r.stats().bogus_sack_blocks, 2);
    assert!(r.board().iter().all(|s| !s.sacked));
    assert!(r.board().check_invariants());
}

#[test]
fn duplicate_acks_do_not_grow_the_window() {
    // RFC 5681 §3.1: only ACKs of new data grow cwnd; a SACK-only ACK and
    // a duplicate ACK without SACK tell the controller nothing.
    let mut r = sent(true, 10);
    let mut cc = Recorder::default();
    r.on_ack(
        &ack(100, s(0), s(0), s(10), &[block(1, 2)]),
        &mut est(),
        &mut cc,
    );
    assert!(!cc.calls.contains(&"ack"));
    let mut r = sent(false, 10);
    r.on_ack(&ack(100, s(0), s(0), s(10), &[]), &mut est(), &mut cc);
    assert!(!cc.calls.contains(&"ack"));
}

#[test]
fn sacked_then_acked_segments_do_not_look_reordered() {
    // Segments SACKed before a hole is repaired are not fed to RACK again
    // when the cumulative ACK covers them.
    let mut r = sent(true, 10);
    let mut cc = Recorder::default();
    r.on_ack(
        &ack(105, s(0), s(0), s(10), &[block(1, 4)]),
        &mut est(),
        &mut cc,
    );
    r.on_sent(ms(106), s(0), s(1), false, true);
    r.on_ack(&ack(210, s(10), s(0), s(10), &[]), &mut est(), &mut cc);
    // No reordering seen: in recovery the reordering window is zero.
    let min = Some(Duration::from_millis(100));
    assert_eq!(r.rack.reo_wnd(true, 0, min, min), Duration::ZERO);
}

#[test]
fn fast_retransmit_is_not_held_back_by_a_small_prr_quota() {
    // Without SACK, the third duplicate ACK delivers one estimated segment:
    // ceil(1000·ssthresh/RecoverFS) is half a segment, but the fast
    // retransmit still goes.
    let mut r = sent(false, 5);
    let mut cc = Recorder::default();
    for t in 0..3 {
        r.on_ack(&ack(100 + t, s(0), s(0), s(5), &[]), &mut est(), &mut cc);
    }
    assert!(r.episode.is_some());
    assert!(r.send_quota(0, MSS) >= MSS);
    assert_eq!(r.next_retransmission().map(|x| x.start), Some(s(0)));
}

#[test]
fn repeated_timeouts_of_the_same_data_hold_the_flight_size() {
    // RFC 5681 §3.1: when data resent by a timeout times out again,
    // ssthresh is held constant. The controller hears the FlightSize of
    // the first timeout each time, not the collapsed flight of one resent
    // segment (which would cut ssthresh to 2·MSS after a blackhole).
    let mut r = sent(true, 10);
    let mut cc = Recorder::default();
    for t in [1000, 3000, 7000, 15000] {
        r.on_rto(ms(t), s(10), MSS, true, &mut cc);
        let head = r.next_retransmission().expect("the head is due");
        r.on_sent(ms(t), head.start, head.end, false, true);
    }
    assert_eq!(cc.rto_flights, [10 * MSS; 4]);
    // A timeout after the episode ended starts afresh.
    r.on_ack(&ack(16000, s(10), s(0), s(10), &[]), &mut est(), &mut cc);
    r.on_sent(ms(16001), s(10), s(12), false, false);
    r.on_rto(ms(17000), s(12), MSS, true, &mut cc);
    assert_eq!(cc.rto_flights.last(), Some(&(2 * MSS)));
}

#[test]
fn rtt_samples_come_from_send_times_and_respect_karn() {
    let mut r = sent(true, 4);
    let mut cc = Recorder::default();
    let mut e = est();
    // Segments 0 and 1 (sent at 0 and 1 ms) acknowledged at 100.4 ms:
    // SRTT gets the oldest's 100.4 ms, min-RTT the newest's 99.4 ms, to
    // the microsecond.
    let mut input = ack(0, s(2), s(0), s(4), &[]);
    input.now = Instant::from_micros(100_400);
    let out = r.on_ack(&input, &mut e, &mut cc);
    assert_eq!(
        out.rtt,
        Some(RttSample {
            rtt: Duration::from_micros(100_400),
            latest: Duration::from_micros(99_400),
            source: RttSource::SendTime,
        })
    );
    assert_eq!(e.min_rtt(), Some(Duration::from_micros(99_400)));
    // Segment 2 is resent at 150 ms; its ACK at 150.2 ms gives no sample
    // from either send time (Karn): 0.2 ms would be the resend's, 148.2 ms
    // the original's, and the ACK cannot say which.
    r.board.mark_lost(0);
    r.on_sent(ms(150), s(2), s(3), false, true);
    let mut input = ack(0, s(3), s(2), s(4), &[]);
    input.now = Instant::from_micros(150_200);
    let before = e.clone();
    let out = r.on_ack(&input, &mut e, &mut cc);
    assert_eq!(out.rtt, None);
    assert_eq!(e, before);
}

#[test]
fn karn_covers_the_whole_ack_and_the_echo_is_the_fallback() {
    let mut r = sent(true, 4);
    let mut cc = Recorder::default();
    let mut e = est();
    // Segment 0 resent at 50 ms; then one ACK covers it and segment 1
    // (sent once, at 1 ms): the ACK may have waited for the resend, so
    // segment 1's send time gives nothing either. Segment 3, SACKed by the
    // same ACK and sent once at 3 ms, does: 51 − 3 = 48 ms.
    r.board.mark_lost(0);
    r.on_sent(ms(50), s(0), s(1), false, true);
    let blocks = [block(3, 4)];
    let out = r.on_ack(&ack(51, s(2), s(0), s(4), &blocks), &mut e, &mut cc);
    assert_eq!(
        out.rtt.map(|x| (x.rtt, x.source)),
        Some((Duration::from_millis(48), RttSource::SendTime))
    );
    // Segment 2 resent too, then acknowledged alone: only the echo is
    // left, a coarse sample that leaves min-RTT alone.
    r.board.mark_lost(0);
    r.on_sent(ms(60), s(2), s(3), false, true);
    let min = e.min_rtt();
    let mut input = ack(62, s(4), s(2), s(4), &[]);
    input.ts_rtt = Some(Duration::from_millis(2));
    let out = r.on_ack(&input, &mut e, &mut cc);
    assert_eq!(
        out.rtt,
        Some(RttSample {
            rtt: Duration::from_millis(2),
            latest: Duration::from_millis(2),
            source: RttSource::Timestamp,
        })
    );
    assert_eq!(e.latest(), Some(Duration::from_millis(2)));
    assert_eq!(e.min_rtt(), min);
}

#[test]
fn a_pure_receivers_acks_change_nothing() {
    // Everything sent was acknowledged; then ACKs that acknowledge
    // nothing new arrive, as on every data segment a receiver takes in.
    let mut quiet = sent(true, 4);
    let mut cc = Recorder::default();
    let mut rtt = est();
    quiet.on_ack(&ack(110, s(4), s(0), s(4), &[]), &mut rtt, &mut cc);
    assert!(quiet.board().is_empty());
    let mut plain = quiet.clone();
    let before = std::format!("{quiet:?}");
    for t in 111..120 {
        let mut a = ack(t, s(4), s(4), s(4), &[]);
        a.duplicate = false; // nothing outstanding: not a duplicate
        let out = quiet.on_ack(&a, &mut rtt, &mut cc);
        assert_eq!(out.delivered, 0);
        assert_eq!(out.reorder_deadline, None);
        assert!(out.rtt.is_none() && !out.spurious_timeout);
    }
    assert_eq!(std::format!("{quiet:?}"), before);
    // And the next flight is recovered from as if they had not come.
    for r in [&mut quiet, &mut plain] {
        for i in 4..8 {
            r.on_sent(ms(200), s(i), s(i + 1), false, false);
        }
    }
    let blocks = [block(5, 8)];
    let a = ack(300, s(4), s(4), s(8), &blocks);
    let (mut cc_q, mut cc_p) = (Recorder::default(), Recorder::default());
    let out_q = quiet.on_ack(&a, &mut est(), &mut cc_q);
    let out_p = plain.on_ack(&a, &mut est(), &mut cc_p);
    assert_eq!(out_q.delivered, out_p.delivered);
    assert_eq!(out_q.reorder_deadline, out_p.reorder_deadline);
    assert_eq!(cc_q.calls, cc_p.calls);
    assert_eq!(std::format!("{quiet:?}"), std::format!("{plain:?}"));
}

#[test]
fn every_ack_gives_the_controller_a_rate_sample() {
    // Ten segments sent 1 ms apart; the first five ACKed cumulatively at
    // 100 ms, then 6..9 SACKed at 102 ms with 5 missing.
    let mut r = sent(true, 10);
    let mut cc = Recorder::default();
    r.on_ack(&ack(100, s(5), s(0), s(10), &[]), &mut est(), &mut cc);
    let first = cc.samples[0];
    assert_eq!(first.newly_acked, 5 * MSS);
    assert_eq!(
        (first.prior_delivered, first.delivered),
        (0, 5 * MSS as u64)
    );
    // The flight began at 0 ms: send interval 4 ms, ACK interval 100 ms.
    assert_eq!(first.interval, Duration::from_millis(100));
    assert_eq!(first.delivery_rate, Some(50_000));
    assert_eq!(first.tx_in_flight, 5 * MSS);
    assert_eq!(
        (first.prior_in_flight, first.in_flight),
        (10 * MSS, 5 * MSS)
    );
    assert_eq!(first.rtt, Some(Duration::from_millis(96)));
    r.on_ack(
        &ack(102, s(5), s(5), s(10), &[block(6, 10)]),
        &mut est(),
        &mut cc,
    );
    let second = cc.samples[1];
    assert_eq!(second.newly_acked, 4 * MSS);
    assert_eq!(second.total_delivered, 9 * MSS as u64);
    // RACK marks segment 5 lost (sent 5 ms, 9 delivered after it).
    assert_eq!(second.newly_lost, MSS);
    assert_eq!(second.lost, MSS as u64);
    assert_eq!(cc.calls, ["ack", "congestion"]);
    // PRR holds the quota under a controller that does not govern
    // recovery; one that does gets its window less the pipe.
    assert_eq!(r.send_quota(10 * MSS, MSS), r.episode.unwrap().prr.quota());
    let mut r = sent(true, 10);
    let mut cc = Recorder {
        governs: true,
        ..Recorder::default()
    };
    r.on_ack(
        &ack(102, s(0), s(0), s(10), &[block(1, 10)]),
        &mut est(),
        &mut cc,
    );
    assert!(r.episode.is_some());
    assert_eq!(r.send_quota(10 * MSS, MSS), 10 * MSS - r.in_flight(MSS));
    assert_eq!(cc.samples.len(), 1);
}

#[test]
fn app_limited_marks_reach_the_samples() {
    let mut r = sent(true, 2);
    let mut cc = Recorder::default();
    // Nothing more to send with two segments out.
    r.on_app_limited();
    r.on_sent(ms(3), s(2), s(3), false, false);
    r.on_ack(&ack(100, s(2), s(0), s(3), &[]), &mut est(), &mut cc);
    assert!(!cc.samples[0].is_app_limited, "sent before the mark");
    r.on_ack(&ack(103, s(3), s(2), s(3), &[]), &mut est(), &mut cc);
    assert!(cc.samples[1].is_app_limited, "sent after it");
    // Lost data waiting to be resent is not application-limited.
    let mut r = sent(true, 4);
    r.on_ack(
        &ack(105, s(0), s(0), s(4), &[block(1, 4)]),
        &mut est(),
        &mut cc,
    );
    assert!(r.next_retransmission().is_some());
    r.on_app_limited();
    assert!(!r.rate.is_app_limited());
}

#[test]
fn an_ecn_echo_reduces_once_without_resending_or_growing() {
    let mut r = sent(false, 10);
    let mut cc = Recorder::default();
    assert!(r.on_ecn_echo(ms(100), s(10), 10 * MSS, MSS, &mut cc));
    assert_eq!(cc.calls, ["ecn"]);
    // Another echo in the same episode is not a second response.
    assert!(!r.on_ecn_echo(ms(101), s(10), 10 * MSS, MSS, &mut cc));
    // ACKs below the recovery point: nothing is resent (a partial ACK
    // is no loss here), the window does not grow, PRR paces the sending.
    r.on_ack(&ack(102, s(3), s(0), s(10), &[]), &mut est(), &mut cc);
    assert_eq!(r.next_retransmission(), None);
    assert_eq!(cc.calls, ["ecn"]);
    // ssthresh 5000, RecoverFS 10 000, 3000 delivered: 1500 may go.
    assert_eq!(r.send_quota(10 * MSS, MSS), 1500);
    // The ACK of everything ends it as a fast recovery ends.
    r.on_ack(&ack(200, s(10), s(3), s(10), &[]), &mut est(), &mut cc);
    assert!(r.episode.is_none());
    assert_eq!(cc.calls, ["ecn", "recovery_end"]);
    assert_eq!(r.stats().fast_recoveries, 0);
}

#[test]
fn a_loss_during_an_ecn_reduction_is_repaired_without_a_second_reduction() {
    let mut r = sent(false, 10);
    let mut cc = Recorder::default();
    assert!(r.on_ecn_echo(ms(100), s(10), 10 * MSS, MSS, &mut cc));
    for t in 0..3 {
        r.on_ack(&ack(101 + t, s(0), s(0), s(10), &[]), &mut est(), &mut cc);
    }
    assert_eq!(r.next_retransmission().map(|x| x.start), Some(s(0)));
    r.on_sent(ms(104), s(0), s(1), false, true);
    // Now a fast recovery: a partial ACK resends the next hole.
    r.on_ack(&ack(200, s(3), s(0), s(10), &[]), &mut est(), &mut cc);
    assert_eq!(r.next_retransmission().map(|x| x.start), Some(s(3)));
    assert_eq!(cc.calls, ["ecn"]);
}

#[test]
fn no_ecn_response_while_a_loss_is_being_recovered() {
    let mut r = sent(true, 10);
    let mut cc = Recorder::default();
    r.on_ack(
        &ack(105, s(0), s(0), s(10), &[block(1, 4)]),
        &mut est(),
        &mut cc,
    );
    assert!(r.episode.is_some());
    assert!(!r.on_ecn_echo(ms(106), s(10), 9 * MSS, MSS, &mut cc));
    assert_eq!(cc.calls, ["congestion"]);
}

#[test]
fn an_ecn_reduction_keeps_racks_reordering_window() {
    // As `reordering_within_the_window_is_not_loss`, during an ECN
    // reduction: one SACKed segment is reordering to be waited out
    // (reo_wnd = min_RTT/4), not a loss at once as in loss recovery.
    let mut r = sent(true, 10);
    let mut cc = Recorder::default();
    assert!(r.on_ecn_echo(ms(100), s(10), 10 * MSS, MSS, &mut cc));
    let blocks = [block(1, 2)];
    let out = r.on_ack(&ack(101, s(0), s(0), s(10), &blocks), &mut est(), &mut cc);
    assert_eq!(r.next_retransmission(), None);
    assert_eq!(out.reorder_deadline, Some(ms(125)), "0 + RTT 100 + 25");
}
