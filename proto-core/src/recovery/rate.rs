//! Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation):
//! on every ACK, the rate at which the network delivered the most recent
//! flight of data.
//!
//! Each segment carries a snapshot of the connection's delivery counters
//! taken when it left ([`SendState`], kept in the scoreboard's record).
//! When an ACK delivers segments (cumulatively or by SACK), the newest of
//! them by send time gives the sample: the bytes delivered since it left
//! over the longer of the send interval and the ACK interval of that
//! flight. Taking the longer of the two keeps ACK compression (ACKs
//! arriving faster than the data could have) from inflating the rate.
//!
//! A sample is application-limited when the flight it measures was sent
//! while the sender had nothing to send: such a sample may be lower than
//! what the path can carry, and a bandwidth estimator must not let it pull
//! the estimate down.

use crate::cc::RateSample;
use crate::seq::SeqNumber;
use crate::time::{Duration, Instant};

/// The delivery counters when a segment was (last) sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendState {
    /// Bytes delivered on the connection when it left (the draft's
    /// `P.delivered`).
    pub delivered: u64,
    /// When the connection last delivered data before it left
    /// (`P.delivered_time`).
    pub delivered_time: Instant,
    /// The send time of the first segment of its flight
    /// (`P.first_send_time`).
    pub first_send_time: Instant,
    /// It left while the sender was application-limited.
    pub is_app_limited: bool,
    /// Bytes in flight once it left (BBR's `P.tx_in_flight`).
    pub tx_in_flight: usize,
    /// Bytes declared lost on the connection when it left (`P.lost`).
    pub lost: u64,
}

/// The sample being assembled from the segments one ACK delivers.
#[derive(Clone, Copy, Debug)]
struct Newest {
    /// The newest delivered segment's send time and end (RFC 8985's
    /// send order).
    sent_at: Instant,
    end: SeqNumber,
    state: SendState,
}

/// The delivery-rate estimator of one connection.
#[derive(Clone, Debug, Default)]
pub struct DeliveryRate {
    /// Bytes delivered so far (`C.delivered`).
    delivered: u64,
    /// When `delivered` last grew (`C.delivered_time`).
    delivered_time: Instant,
    /// The send time of the first segment of the current flight
    /// (`C.first_send_time`).
    first_send_time: Instant,
    /// While non-zero, samples are application-limited until `delivered`
    /// passes it (`C.app_limited`).
    app_limited: u64,
    /// Bytes declared lost so far (`C.lost`).
    lost: u64,
    /// Bytes declared lost since the last sample.
    newly_lost: usize,
    /// Bytes delivered by the ACK being processed.
    newly_delivered: usize,
    newest: Option<Newest>,
}

impl DeliveryRate {
    /// An estimator for a connection that has sent nothing.
    pub fn new() -> DeliveryRate {
        DeliveryRate::default()
    }

    /// Bytes declared lost so far.
    #[cfg(test)]
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// True while new samples would be application-limited.
    #[cfg(test)]
    pub fn is_app_limited(&self) -> bool {
        self.app_limited != 0
    }

    /// A segment of `bytes` leaves at `now` (new or resent); `idle` when
    /// nothing was outstanding before it. Returns the snapshot to keep with
    /// the segment. `in_flight` is the bytes in flight before it.
    pub fn on_sent(
        &mut self,
        now: Instant,
        bytes: usize,
        in_flight: usize,
        idle: bool,
    ) -> SendState {
        if idle {
            // A new flight: its intervals start now, not at the last
            // delivery before the pause.
            self.first_send_time = now;
            self.delivered_time = now;
        }
        SendState {
            delivered: self.delivered,
            delivered_time: self.delivered_time,
            first_send_time: self.first_send_time,
            is_app_limited: self.app_limited != 0,
            tx_in_flight: in_flight.saturating_add(bytes),
            lost: self.lost,
        }
    }

    /// The sender ran out of data with room left in its window and no
    /// loss to repair: what is in flight now is application-limited, so
    /// samples stay marked until it has been delivered.
    pub fn on_app_limited(&mut self, in_flight: usize) {
        self.app_limited = self.delivered.saturating_add(in_flight as u64).max(1);
    }

    /// `bytes` were declared lost.
    pub fn on_lost(&mut self, bytes: usize) {
        self.lost = self.lost.saturating_add(bytes as u64);
        self.newly_lost = self.newly_lost.saturating_add(bytes);
    }

    /// A segment sent at `sent_at`, ending at `end`, with snapshot
    /// `state`, was delivered at `now` (newly acknowledged or SACKed; each
    /// segment is reported once).
    pub fn on_delivered(
        &mut self,
        now: Instant,
        bytes: usize,
        sent_at: Instant,
        end: SeqNumber,
        state: &SendState,
    ) {
        self.delivered = self.delivered.saturating_add(bytes as u64);
        self.newly_delivered = self.newly_delivered.saturating_add(bytes);
        self.delivered_time = now;
        let newer = self
            .newest
            .is_none_or(|n| sent_at > n.sent_at || (sent_at == n.sent_at && end > n.end));
        if newer {
            self.newest = Some(Newest {
                sent_at,
                end,
                state: *state,
            });
            // The next flight is measured from this segment's send.
            self.first_send_time = sent_at;
        }
    }

    /// Ends the ACK: the sample it gives, if it delivered something or
    /// losses were declared since the last one. `min_rtt` guards against
    /// intervals too short to be real (the draft's check against
    /// `C.min_rtt`); the rest of the fields describe the connection after
    /// the ACK.
    pub fn take_sample(&mut self, ack: &SampleContext) -> Option<RateSample> {
        let newest = self.newest.take();
        let newly_acked = core::mem::take(&mut self.newly_delivered);
        let newly_lost = core::mem::take(&mut self.newly_lost);
        if self.app_limited != 0 && self.delivered > self.app_limited {
            self.app_limited = 0;
        }
        if newest.is_none() && newly_lost == 0 {
            return None;
        }
        let mut sample = RateSample {
            now: ack.now,
            delivery_rate: None,
            interval: Duration::ZERO,
            delivered: 0,
            prior_delivered: self.delivered,
            total_delivered: self.delivered,
            newly_acked,
            newly_lost,
            lost: 0,
            tx_in_flight: 0,
            prior_in_flight: ack.prior_in_flight,
            in_flight: ack.in_flight,
            rtt: ack.rtt,
            min_rtt: ack.min_rtt,
            is_app_limited: self.app_limited != 0,
        };
        let Some(n) = newest else {
            return Some(sample);
        };
        let p = n.state;
        let send_elapsed = n.sent_at.saturating_duration_since(p.first_send_time);
        let ack_elapsed = self
            .delivered_time
            .saturating_duration_since(p.delivered_time);
        let interval = send_elapsed.max(ack_elapsed);
        let delivered = self.delivered.saturating_sub(p.delivered);
        sample.interval = interval;
        sample.delivered = delivered;
        sample.prior_delivered = p.delivered;
        sample.lost = self.lost.saturating_sub(p.lost);
        sample.tx_in_flight = p.tx_in_flight;
        sample.is_app_limited = p.is_app_limited;
        let too_short = ack.min_rtt.is_some_and(|m| interval < m);
        if interval > Duration::ZERO && !too_short {
            let rate = u128::from(delivered) * 1_000_000 / u128::from(interval.total_micros());
            sample.delivery_rate = Some(u64::try_from(rate).unwrap_or(u64::MAX));
        }
        Some(sample)
    }
}

/// What the connection knows at the end of an ACK, for
/// [`DeliveryRate::take_sample`].
#[derive(Clone, Copy, Debug)]
pub struct SampleContext {
    /// When the ACK arrived.
    pub now: Instant,
    /// Bytes in flight before it.
    pub prior_in_flight: usize,
    /// Bytes in flight after it (losses it revealed taken out).
    pub in_flight: usize,
    /// The RTT it measured (from the newest segment it delivered).
    pub rtt: Option<Duration>,
    /// The minimum RTT.
    pub min_rtt: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEG: usize = 1_000;

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    fn ctx(now: Instant) -> SampleContext {
        SampleContext {
            now,
            prior_in_flight: 0,
            in_flight: 0,
            rtt: None,
            min_rtt: None,
        }
    }

    /// A sender that records what it sent, as the scoreboard does.
    struct Sender {
        rate: DeliveryRate,
        sent: std::vec::Vec<(Instant, SeqNumber, SendState)>,
        in_flight: usize,
    }

    impl Sender {
        fn new() -> Sender {
            Sender {
                rate: DeliveryRate::new(),
                sent: std::vec::Vec::new(),
                in_flight: 0,
            }
        }

        fn send(&mut self, now: Instant) -> usize {
            let idle = self.in_flight == 0;
            let st = self.rate.on_sent(now, SEG, self.in_flight, idle);
            self.in_flight += SEG;
            let end = SeqNumber(((self.sent.len() + 1) * SEG) as u32);
            self.sent.push((now, end, st));
            self.sent.len() - 1
        }

        fn resend(&mut self, i: usize, now: Instant) {
            let st = self.rate.on_sent(now, SEG, self.in_flight, false);
            self.in_flight += SEG;
            self.sent[i].0 = now;
            self.sent[i].2 = st;
        }

        fn ack(&mut self, now: Instant, segs: &[usize]) -> RateSample {
            for &i in segs {
                let (t, end, st) = self.sent[i];
                self.rate.on_delivered(now, SEG, t, end, &st);
                self.in_flight -= SEG;
            }
            self.rate.take_sample(&ctx(now)).expect("a sample")
        }
    }

    #[test]
    fn a_paced_flight_gives_the_bottleneck_rate() {
        // 10 segments sent 1 ms apart, each ACKed 50 ms after it left:
        // 1000 bytes per ms = 1 MB/s.
        let mut s = Sender::new();
        for i in 0..10 {
            s.send(ms(i));
        }
        let first = s.ack(ms(50), &[0]);
        // The first ACK measures one segment over the 50 ms since the
        // flight began: the send interval is zero, the ACK interval is
        // the whole RTT.
        assert_eq!(first.delivered, SEG as u64);
        assert_eq!(first.interval, Duration::from_millis(50));
        assert_eq!(first.delivery_rate, Some(20_000));
        // A segment of the second flight leaves as that ACK arrives.
        let next = s.send(ms(50));
        for i in 1..10 {
            let r = s.ack(ms(50 + i), &[i as usize]);
            assert_eq!(r.prior_delivered, 0);
            assert_eq!(r.delivered, (i + 1) * SEG as u64);
            assert_eq!(r.interval, Duration::from_millis(50 + i));
            assert!(!r.is_app_limited);
        }
        // It is measured from the newest segment delivered before it left
        // (segment 0, sent at 0, ACKed at 50).
        let r = s.ack(ms(100), &[next]);
        assert_eq!(r.prior_delivered, SEG as u64);
        assert_eq!(r.delivered, 10 * SEG as u64);
        // send: 50 − 0 = 50 ms; ACK: 100 − 50 = 50 ms.
        assert_eq!(r.interval, Duration::from_millis(50));
        assert_eq!(r.delivery_rate, Some(200_000));
    }

    #[test]
    fn ack_compression_cannot_inflate_the_rate() {
        // Four segments sent 10 ms apart, all ACKed together 40 ms after
        // the last: the send interval (30 ms) is shorter than the ACK
        // interval (70 ms) and the longer one counts.
        let mut s = Sender::new();
        for i in 0..4 {
            s.send(ms(10 * i));
        }
        let r = s.ack(ms(70), &[0, 1, 2, 3]);
        assert_eq!(r.delivered, 4 * SEG as u64);
        assert_eq!(r.interval, Duration::from_millis(70));
        assert_eq!(r.delivery_rate, Some(4_000 * 1_000 / 70));
        assert_eq!(r.newly_acked, 4 * SEG);
        // A burst sent at once after an idle period, ACKed together 1 ms
        // after the first ACK of it would be: only the ACK interval is
        // left, shorter than any real round trip, and the minimum RTT
        // rejects it.
        let mut s = Sender::new();
        let a = s.send(ms(0));
        s.ack(ms(40), &[a]);
        let burst: std::vec::Vec<usize> = (0..8).map(|_| s.send(ms(40))).collect();
        for &i in &burst {
            let (t, end, st) = s.sent[i];
            s.rate.on_delivered(ms(41), SEG, t, end, &st);
        }
        let r = s
            .rate
            .take_sample(&SampleContext {
                min_rtt: Some(Duration::from_millis(40)),
                ..ctx(ms(41))
            })
            .unwrap();
        assert_eq!(r.interval, Duration::from_millis(1));
        assert_eq!(r.delivered, 8 * SEG as u64);
        assert_eq!(r.delivery_rate, None);
    }

    #[test]
    fn intervals_below_the_min_rtt_give_no_rate() {
        let mut s = Sender::new();
        let a = s.send(ms(0));
        let (t, end, st) = s.sent[a];
        s.rate.on_delivered(ms(5), SEG, t, end, &st);
        let r = s
            .rate
            .take_sample(&SampleContext {
                min_rtt: Some(Duration::from_millis(10)),
                ..ctx(ms(5))
            })
            .unwrap();
        assert_eq!(r.delivered, SEG as u64);
        assert_eq!(r.delivery_rate, None);
        // Nothing delivered and nothing lost: no sample.
        assert!(s.rate.take_sample(&ctx(ms(6))).is_none());
    }

    #[test]
    fn app_limited_marks_last_until_the_flight_is_delivered() {
        let mut s = Sender::new();
        let a = s.send(ms(0));
        let b = s.send(ms(1));
        // Nothing more to send with two segments out.
        s.rate.on_app_limited(s.in_flight);
        assert!(s.rate.is_app_limited());
        let c = s.send(ms(2));
        assert!(s.sent[c].2.is_app_limited);
        assert!(!s.sent[a].2.is_app_limited);
        // Samples from segments sent before the mark are not limited...
        assert!(!s.ack(ms(40), &[a]).is_app_limited);
        assert!(!s.ack(ms(41), &[b]).is_app_limited);
        assert!(s.rate.is_app_limited());
        // ...and the mark clears once more than was in flight is
        // delivered; the limited segment's own sample is still marked.
        assert!(s.ack(ms(42), &[c]).is_app_limited);
        assert!(!s.rate.is_app_limited());
        let d = s.send(ms(42));
        assert!(!s.ack(ms(82), &[d]).is_app_limited);
    }

    #[test]
    fn retransmissions_are_measured_from_their_resend() {
        let mut s = Sender::new();
        let segs: std::vec::Vec<usize> = (0..4).map(|i| s.send(ms(i))).collect();
        // Segment 0 is lost; 1..3 are SACKed 40 ms after they left.
        s.rate.on_lost(SEG);
        s.in_flight -= SEG;
        let r = s.ack(ms(43), &segs[1..]);
        assert_eq!(r.newly_lost, SEG);
        assert_eq!(r.lost, SEG as u64, "lost after segment 3 left");
        assert_eq!(r.tx_in_flight, 4 * SEG);
        // The resend leaves at 43 ms carrying the counters of then.
        s.resend(0, ms(43));
        assert_eq!(s.sent[0].2.delivered, 3 * SEG as u64);
        assert_eq!(s.sent[0].2.lost, SEG as u64);
        let r = s.ack(ms(83), &[0]);
        assert_eq!(r.prior_delivered, 3 * SEG as u64);
        assert_eq!(r.delivered, SEG as u64);
        // send: 43 − 3 (first send of its flight: segment 3, the newest
        // delivered before it left); ACK: 83 − 43.
        assert_eq!(r.interval, Duration::from_millis(40));
        assert_eq!(r.lost, 0);
        assert_eq!(r.delivery_rate, Some(25_000));
    }

    #[test]
    fn a_loss_alone_gives_a_sample_without_a_rate() {
        let mut s = Sender::new();
        s.send(ms(0));
        s.rate.on_lost(SEG);
        let r = s.rate.take_sample(&ctx(ms(30))).unwrap();
        assert_eq!((r.newly_lost, r.newly_acked, r.delivered), (SEG, 0, 0));
        assert_eq!(r.delivery_rate, None);
        assert_eq!(s.rate.lost(), SEG as u64);
    }

    #[test]
    fn an_idle_restart_starts_a_new_flight() {
        let mut s = Sender::new();
        let a = s.send(ms(0));
        s.ack(ms(40), &[a]);
        // 10 s idle: the next flight's intervals start when it leaves.
        let b = s.send(ms(10_040));
        let r = s.ack(ms(10_080), &[b]);
        assert_eq!(r.interval, Duration::from_millis(40));
        assert_eq!(r.delivery_rate, Some(25_000));
    }
}
