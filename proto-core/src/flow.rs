//! Flow control on the receive side: the window we advertise.
//!
//! The advertised right edge never moves left (RFC 9293 §3.8.6 SHLD-14:
//! no window shrinking) but by less than one unit of the window scale,
//! when rounding it up would offer more than the buffer holds (RFC 7323
//! §2.4); the window never exceeds the free buffer space. The edge moves
//! right only in steps of at least min(½·buffer, MSS) so the sender is
//! never invited to send tiny segments (receiver-side silly-window
//! avoidance, RFC 9293 §3.8.6.2.2). Window scaling (RFC 7323 §2) divides
//! the advertised field by 2^shift.

use crate::seq::SeqNumber;
use crate::time::{Duration, Instant};

/// The window we advertise to the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiveWindow {
    /// Our window scale shift as agreed (0 when scaling is off).
    shift: u8,
    /// The right edge the peer has last been told: RCV.NXT + RCV.WND.
    edge: SeqNumber,
}

impl ReceiveWindow {
    /// A window whose edge starts at `rcv_nxt` (nothing advertised yet).
    pub fn new(rcv_nxt: SeqNumber, shift: u8) -> ReceiveWindow {
        ReceiveWindow {
            shift: shift.min(14),
            edge: rcv_nxt,
        }
    }

    /// The agreed shift.
    pub fn shift(&self) -> u8 {
        self.shift
    }

    /// The advertised right edge.
    pub fn edge(&self) -> SeqNumber {
        self.edge
    }

    /// Bytes from `rcv_nxt` to the advertised edge: RCV.WND.
    pub fn advertised(&self, rcv_nxt: SeqNumber) -> usize {
        if self.edge > rcv_nxt {
            self.edge.distance_from(rcv_nxt) as usize
        } else {
            0
        }
    }

    /// The smallest step by which the edge may advance (RFC 9293
    /// §3.8.6.2.2): min(½·buffer, MSS), at least one byte.
    // RFC 9293 §3.8.6.2.2 (MUST-39): receiver-side SWS avoidance.
    fn sws_threshold(capacity: usize, mss: usize) -> usize {
        (capacity / 2).min(mss).max(1)
    }

    /// How far the edge could be moved now: the buffer space from `rcv_nxt`.
    fn potential(&self, free: usize) -> usize {
        // The window field holds 16 bits after scaling.
        free.min(usize::from(u16::MAX) << self.shift)
    }

    /// The 16-bit window field for the next segment, given `free` bytes of
    /// buffer space beyond `rcv_nxt`; records the edge it advertises.
    ///
    /// A SYN or SYN-ACK carries an unscaled window (RFC 7323 §2.2): pass
    /// `syn = true` then.
    pub fn next_field(
        &mut self,
        rcv_nxt: SeqNumber,
        free: usize,
        capacity: usize,
        mss: usize,
        syn: bool,
    ) -> u16 {
        if syn {
            let field = free.min(usize::from(u16::MAX));
            self.edge = rcv_nxt + field;
            return field as u16;
        }
        let current = self.advertised(rcv_nxt);
        let potential = self.potential(free);
        let window = if potential >= current + Self::sws_threshold(capacity, mss) {
            potential
        } else {
            current
        };
        // Round down to the scale unit, but up where rounding down would
        // pull the edge left of what was already advertised — as long as
        // the buffer holds the rounded-up window. Beyond that the edge
        // retracts by less than one unit (RFC 7323 §2.4): rounding up
        // there would add up to a unit of window the buffer cannot hold
        // with every ACK, and a full buffer would never show a zero window
        // (the sender, never told to stop, would retransmit into it until
        // it gave up on the connection).
        // RFC 9293 §3.8.6 (SHLD-14) and RFC 7323 §2.4: the right edge moves
        // left by less than one scale unit at most.
        let unit = 1usize << self.shift;
        let mut field = window >> self.shift;
        if field * unit < current && (field + 1) * unit <= potential {
            field += 1;
        }
        let field = field.min(usize::from(u16::MAX));
        // `field` advertises at least `current` rounded down to the unit,
        // so the edge moves right, stays, or retracts by less than a unit.
        self.edge = rcv_nxt + (field << self.shift);
        field as u16
    }

    /// True when the application freed enough buffer for a window update
    /// to be worth a segment of its own: the edge could advance by the SWS
    /// threshold and the window would at least double. This is how a
    /// sender stalled by a zero or small window learns it may go on.
    pub fn update_worth_sending(
        &self,
        rcv_nxt: SeqNumber,
        free: usize,
        capacity: usize,
        mss: usize,
    ) -> bool {
        let current = self.advertised(rcv_nxt);
        let potential = self.potential(free);
        potential >= current + Self::sws_threshold(capacity, mss) && potential >= 2 * current
    }
}

/// Receive-buffer auto-tuning ("dynamic right-sizing"): once per round
/// trip, if the application consumed more than the buffer's current
/// allowance, grow the buffer to twice that, so the advertised window keeps
/// ahead of the bandwidth-delay product, up to a configured maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutoTuner {
    measure_start: Option<Instant>,
    consumed_at_start: u64,
}

/// The shortest interval [`AutoTuner`] measures the reader's rate over.
const MIN_TUNING_INTERVAL: Duration = Duration::from_millis(1);

impl AutoTuner {
    /// A tuner with no measurement yet.
    pub const fn new() -> AutoTuner {
        AutoTuner {
            measure_start: None,
            consumed_at_start: 0,
        }
    }

    /// Called after the application read; `consumed` is the running total
    /// of bytes read. Returns the new buffer capacity when it should grow.
    pub fn on_read(
        &mut self,
        now: Instant,
        consumed: u64,
        rtt: Option<Duration>,
        capacity: usize,
        max: usize,
    ) -> Option<usize> {
        // Measured over at least 1 ms: over loopback's round trips (tens
        // of microseconds) an interval measures single reads, not a rate
        // (Linux likewise counts a receive-RTT sample as one tick at least).
        let rtt = rtt?.max(MIN_TUNING_INTERVAL);
        let Some(start) = self.measure_start else {
            self.measure_start = Some(now);
            self.consumed_at_start = consumed;
            return None;
        };
        if now.saturating_duration_since(start) < rtt {
            return None;
        }
        let per_rtt = consumed.saturating_sub(self.consumed_at_start);
        self.measure_start = Some(now);
        self.consumed_at_start = consumed;
        // The sender filled more than half the buffer in one round trip:
        // the window, not the path, may be the limit.
        let per_rtt = usize::try_from(per_rtt).unwrap_or(usize::MAX);
        if per_rtt.saturating_mul(2) > capacity && capacity < max {
            Some(
                per_rtt
                    .saturating_mul(2)
                    .max(capacity.saturating_mul(2))
                    .min(max),
            )
        } else {
            None
        }
    }
}

/// The receiver's own RTT estimate, for [`AutoTuner`]: a connection that
/// only receives takes no RTT samples of its own data, and an echoed
/// timestamp ticks once a millisecond, which reads 0 on a sub-millisecond
/// path. As Linux's `tcp_rcv_rtt_measure` does without timestamps, it
/// times a window's worth of data instead: from when the right edge we
/// advertise stood at E to when data beyond E arrives. The peer cannot
/// send beyond E before it hears of a window reaching further, which we
/// advertise at the earliest then, so every sample is at least one RTT,
/// and one RTT when the sender is window-limited, which is when tuning
/// matters. The estimate is the smallest sample, at the core's clock
/// resolution (microseconds), so samples stretched by an idle or
/// congestion-limited sender do not count. The connection tunes by the
/// smaller of this and its SRTT: early in slow start, before the sender is
/// window-limited, a timed window overestimates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiverRtt {
    /// The measurement under way: the advertised right edge when it began,
    /// and when.
    mark: Option<(SeqNumber, Instant)>,
    estimate: Option<Duration>,
}

impl ReceiverRtt {
    /// A receiver with no measurement yet.
    pub const fn new() -> ReceiverRtt {
        ReceiverRtt {
            mark: None,
            estimate: None,
        }
    }

    /// In-order data arrived at `now`: RCV.NXT moved to `rcv_nxt`, and the
    /// right edge we advertise is `edge`.
    pub fn on_data(&mut self, now: Instant, rcv_nxt: SeqNumber, edge: SeqNumber) {
        if let Some((mark_edge, since)) = self.mark {
            if rcv_nxt <= mark_edge {
                return;
            }
            let sample = now
                .saturating_duration_since(since)
                .max(Duration::from_micros(1));
            self.estimate = Some(self.estimate.map_or(sample, |e| e.min(sample)));
        }
        self.mark = Some((edge, now));
    }

    /// The estimate; `None` before a whole window has been timed.
    pub fn estimate(&self) -> Option<Duration> {
        self.estimate
    }
}

impl Default for AutoTuner {
    fn default() -> AutoTuner {
        AutoTuner::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syn_window_is_unscaled_and_capped() {
        let mut w = ReceiveWindow::new(SeqNumber(100), 7);
        assert_eq!(
            w.next_field(SeqNumber(100), 1 << 20, 1 << 20, 1460, true),
            65535
        );
        assert_eq!(w.edge(), SeqNumber(100) + 65535u32);
    }

    #[test]
    fn edge_never_moves_left() {
        let mut w = ReceiveWindow::new(SeqNumber(0), 0);
        assert_eq!(
            w.next_field(SeqNumber(0), 10_000, 10_000, 1000, false),
            10_000
        );
        // 4000 bytes arrive unread: free space shrinks with rcv_nxt moving.
        assert_eq!(
            w.next_field(SeqNumber(4000), 6000, 10_000, 1000, false),
            6000
        );
        assert_eq!(w.edge(), SeqNumber(10_000));
    }

    #[test]
    fn small_openings_are_held_back() {
        let mut w = ReceiveWindow::new(SeqNumber(0), 0);
        w.next_field(SeqNumber(0), 10_000, 10_000, 1000, false);
        // All 10 000 bytes arrive; the application reads 500: below the
        // SWS threshold of min(5000, 1000), so the window stays closed.
        assert_eq!(w.next_field(SeqNumber(10_000), 500, 10_000, 1000, false), 0);
        assert!(!w.update_worth_sending(SeqNumber(10_000), 500, 10_000, 1000));
        // After 1000 bytes are read the edge may move.
        assert!(w.update_worth_sending(SeqNumber(10_000), 1000, 10_000, 1000));
        assert_eq!(
            w.next_field(SeqNumber(10_000), 1000, 10_000, 1000, false),
            1000
        );
    }

    #[test]
    fn scaling_rounds_without_shrinking() {
        let mut w = ReceiveWindow::new(SeqNumber(0), 4);
        // 1000 bytes is 62.5 units of 16: advertise 62 units = 992 bytes.
        assert_eq!(w.next_field(SeqNumber(0), 1000, 1000, 100, false), 62);
        // 10 bytes arrive and are read: 982 left of the edge; rounding
        // down to 61 units (976) would move the edge left, so 62 units are
        // kept, which the buffer holds.
        assert_eq!(w.next_field(SeqNumber(10), 1000, 1000, 100, false), 62);
        assert!(w.edge() >= SeqNumber(992));
    }

    #[test]
    fn scaling_never_offers_more_than_the_buffer_holds() {
        let mut w = ReceiveWindow::new(SeqNumber(0), 4);
        assert_eq!(w.next_field(SeqNumber(0), 1000, 1000, 100, false), 62);
        // 10 bytes arrive unread: 990 bytes free, 982 advertised. 62 units
        // (992) would not fit, so the edge retracts to 61 units (976), by
        // less than one unit.
        assert_eq!(w.next_field(SeqNumber(10), 990, 1000, 100, false), 61);
        assert_eq!(w.edge(), SeqNumber(986));
        // Segment by segment the window shrinks with the free space, and
        // a full buffer advertises zero instead of a unit it cannot hold.
        let mut nxt = 10u32;
        let mut free = 990usize;
        while free > 0 {
            let step = free.min(7);
            nxt += step as u32;
            free -= step;
            let field = w.next_field(SeqNumber(nxt), free, 1000, 100, false);
            assert!(usize::from(field) << 4 <= free);
            assert!(w.advertised(SeqNumber(nxt)) <= free);
        }
        assert_eq!(w.next_field(SeqNumber(nxt), 0, 1000, 100, false), 0);
    }

    #[test]
    fn window_is_capped_by_the_field() {
        let mut w = ReceiveWindow::new(SeqNumber(0), 0);
        assert_eq!(
            w.next_field(SeqNumber(0), 1 << 20, 1 << 20, 1460, false),
            65535
        );
        let mut w = ReceiveWindow::new(SeqNumber(0), 14);
        assert_eq!(
            w.next_field(SeqNumber(0), usize::MAX / 2, usize::MAX / 2, 1460, false),
            65535
        );
    }

    #[test]
    fn receiver_rtt_times_a_window_at_microsecond_resolution() {
        let us = Instant::from_micros;
        let mut r = ReceiverRtt::new();
        // Edge at 10 000 when the first data arrives at 1 ms.
        r.on_data(us(1_000), SeqNumber(1_000), SeqNumber(10_000));
        // Data up to the edge does not end the measurement.
        r.on_data(us(1_100), SeqNumber(10_000), SeqNumber(20_000));
        assert_eq!(r.estimate(), None);
        // Data beyond it, 230 µs after the mark: a sample.
        r.on_data(us(1_230), SeqNumber(11_000), SeqNumber(30_000));
        assert_eq!(r.estimate(), Some(Duration::from_micros(230)));
        // A longer sample (the sender idled) does not raise it; a shorter
        // one lowers it.
        r.on_data(us(9_000), SeqNumber(31_000), SeqNumber(40_000));
        assert_eq!(r.estimate(), Some(Duration::from_micros(230)));
        r.on_data(us(9_200), SeqNumber(40_001), SeqNumber(50_000));
        assert_eq!(r.estimate(), Some(Duration::from_micros(200)));
    }

    #[test]
    fn autotuner_grows_when_the_application_keeps_up() {
        let mut t = AutoTuner::new();
        let rtt = Some(Duration::from_millis(10));
        let cap = 64 * 1024;
        assert_eq!(
            t.on_read(Instant::from_millis(0), 0, rtt, cap, 1 << 20),
            None
        );
        assert_eq!(
            t.on_read(Instant::from_millis(5), 50_000, rtt, cap, 1 << 20),
            None
        );
        // 60 000 bytes in one RTT through a 64 KiB buffer: grow.
        assert_eq!(
            t.on_read(Instant::from_millis(10), 60_000, rtt, cap, 1 << 20),
            Some(131_072)
        );
        // A slow reader does not grow it.
        assert_eq!(
            t.on_read(Instant::from_millis(20), 61_000, rtt, 131_072, 1 << 20),
            None
        );
        // Never beyond the maximum, and not without an RTT.
        assert_eq!(
            t.on_read(Instant::from_millis(30), 900_000, rtt, 131_072, 200_000),
            Some(200_000)
        );
        assert_eq!(
            t.on_read(Instant::from_millis(40), 2_000_000, None, 131_072, 1 << 20),
            None
        );
    }

    #[test]
    fn autotuner_measures_a_zero_rtt_over_a_millisecond() {
        // Loopback with millisecond timestamps: SRTT 0. Reads of 60 KB
        // every 100 µs through a 128 KiB buffer: each read alone is below
        // half the buffer, a millisecond of them is not.
        let mut t = AutoTuner::new();
        let rtt = Some(Duration::ZERO);
        let cap = 128 * 1024;
        let mut grown = None;
        for i in 0..=10u64 {
            let at = Instant::from_micros(i * 100);
            let got = t.on_read(at, i * 60_000, rtt, cap, 1 << 30);
            if i < 10 {
                assert_eq!(got, None, "read {i}, before a millisecond passed");
            } else {
                grown = got;
            }
        }
        assert_eq!(grown, Some(2 * 600_000));
    }
}
