//! NewReno: the standard TCP congestion control of RFC 5681, with
//! appropriate byte counting (RFC 3465), the RFC 6928 initial window and
//! undo of spurious reductions (RFC 4015, RFC 5682).
//!
//! Fast recovery itself — what to send while recovering, RFC 6582's
//! partial ACKs, PRR (RFC 6937) — is the connection's business. This
//! controller only sets the window and threshold:
//!
//! | event | rule | where |
//! |---|---|---|
//! | start | cwnd = IW = min(10·MSS, max(2·MSS, 14 600)), ssthresh = ∞ | RFC 6928 §2, RFC 5681 §3.1 |
//! | ACK, slow start | cwnd += min(N, L·SMSS), L = 2 (L = 1 in the slow start after a timeout), never past ssthresh | RFC 3465 §2.2–2.3 |
//! | ACK, congestion avoidance | bytes_acked += N; when bytes_acked ≥ cwnd: bytes_acked −= cwnd, cwnd += SMSS | RFC 3465 §2.1 |
//! | ACK, app-limited | no growth | RFC 7661 |
//! | ACK in fast recovery | not passed to the controller: PRR sends | RFC 6937 |
//! | congestion event | ssthresh = max(FlightSize/2, 2·SMSS), cwnd = ssthresh | RFC 5681 §3.1–3.2 (eq. 4) |
//! | recovery ends | cwnd = ssthresh | RFC 6582 §3.2 step 3, RFC 6937 |
//! | timeout | ssthresh as above, on the first of consecutive timeouts only; cwnd = 1·SMSS | RFC 5681 §3.1 |
//! | spurious event | cwnd and ssthresh back to their values before it | RFC 4015 §3 |
//! | idle restart | cwnd = min(cwnd, IW) | RFC 5681 §4.1 |
//!
//! [`NewReno::with_hystart`] replaces the initial slow start by HyStart++
//! (RFC 9406); the plain [`NewReno::new`] — what
//! [`CcAlgorithm::NewReno`](super::CcAlgorithm::NewReno) builds — does not
//! use it.

use super::{
    AckInfo, CongestionControl, CongestionEvent, HyStart, MAX_WINDOW, SlowStart, initial_window,
    minimum_window, rescale, sane_mss,
};
use crate::time::Instant;

/// What a spurious-event undo restores (RFC 4015 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Saved {
    cwnd: usize,
    ssthresh: usize,
    hystart: Option<HyStart>,
}

/// The NewReno congestion controller (RFC 5681, RFC 3465, RFC 6928).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReno {
    mss: usize,
    cwnd: usize,
    ssthresh: usize,
    /// RFC 3465 §2.1 `bytes_acked`: bytes acknowledged in congestion
    /// avoidance not yet turned into window.
    bytes_acked: usize,
    /// In the slow start that follows a timeout (ABC L = 1). Ends when
    /// the window reaches ssthresh.
    after_rto: bool,
    /// A timeout happened and no ACK of new data has come since: another
    /// timeout is a repeated one and leaves ssthresh alone (RFC 5681 §3.1:
    /// "the value of ssthresh is held constant").
    in_rto_backoff: bool,
    /// Between a congestion event and the end of its recovery, so that
    /// [`CongestionControl::on_recovery_end`] applies only to a recovery we
    /// started (and not after a timeout cancelled it).
    in_fast_recovery: bool,
    hystart: Option<HyStart>,
    undo: Option<Saved>,
}

impl NewReno {
    /// A controller for a connection whose MSS is `mss` (clamped to
    /// `1..=MAX_MSS`), starting at the RFC 6928 initial window, in slow
    /// start with an unbounded threshold.
    pub fn new(mss: usize) -> NewReno {
        let mss = sane_mss(mss);
        NewReno {
            mss,
            cwnd: initial_window(mss),
            ssthresh: usize::MAX,
            bytes_acked: 0,
            after_rto: false,
            in_rto_backoff: false,
            in_fast_recovery: false,
            hystart: None,
            undo: None,
        }
    }

    /// Like [`NewReno::new`], but the initial slow start is HyStart++
    /// (RFC 9406) as configured by `hystart` (e.g. [`HyStart::new`], or
    /// [`HyStart::paced`] for a paced sender). Later slow starts are the
    /// plain RFC 3465 one.
    pub fn with_hystart(mss: usize, hystart: HyStart) -> NewReno {
        NewReno {
            hystart: Some(hystart),
            ..NewReno::new(mss)
        }
    }

    /// The MSS the window is counted in.
    pub fn mss(&self) -> usize {
        self.mss
    }

    /// The HyStart++ state, if this controller uses it.
    pub fn hystart(&self) -> Option<&HyStart> {
        self.hystart.as_ref()
    }

    /// RFC 5681 eq. (4): ssthresh = max(FlightSize / 2, 2·SMSS).
    fn halved(&self, in_flight: usize) -> usize {
        (in_flight / 2)
            .max(minimum_window(self.mss))
            .min(MAX_WINDOW)
    }

    fn save(&mut self) {
        self.undo = Some(Saved {
            cwnd: self.cwnd,
            ssthresh: self.ssthresh,
            hystart: self.hystart,
        });
    }

    fn end_hystart(&mut self) {
        if let Some(hs) = self.hystart.as_mut() {
            hs.on_congestion();
        }
    }

    fn slow_start(&mut self, ack: &AckInfo) {
        let growing = SlowStart {
            cwnd: &mut self.cwnd,
            ssthresh: self.ssthresh,
            after_rto: &mut self.after_rto,
            hystart: self.hystart.as_mut(),
        }
        .on_ack(ack, self.mss);
        if !growing {
            // RFC 9406 §4.2: CSS is over, enter congestion avoidance with
            // ssthresh = cwnd.
            self.ssthresh = self.cwnd;
        }
    }

    fn congestion_avoidance(&mut self, ack: &AckInfo) {
        if ack.app_limited {
            return;
        }
        // RFC 3465 §2.1: one SMSS each time a window's worth of bytes has
        // been acknowledged, i.e. one SMSS per RTT.
        self.bytes_acked = self.bytes_acked.saturating_add(ack.acked_bytes);
        if self.bytes_acked >= self.cwnd {
            self.bytes_acked -= self.cwnd;
            self.cwnd = self.cwnd.saturating_add(self.mss).min(MAX_WINDOW);
        }
    }
}

impl CongestionControl for NewReno {
    fn name(&self) -> &'static str {
        "newreno"
    }

    fn window(&self) -> usize {
        self.cwnd
    }

    fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    fn on_ack(&mut self, ack: &AckInfo) {
        // New data was acknowledged: the next timeout is a first one again.
        self.in_rto_backoff = false;
        if ack.acked_bytes == 0 {
            return;
        }
        if self.cwnd < self.ssthresh {
            self.slow_start(ack);
        } else {
            self.congestion_avoidance(ack);
        }
    }

    fn on_congestion_event(&mut self, event: &CongestionEvent) {
        self.save();
        self.ssthresh = self.halved(event.in_flight);
        self.cwnd = self.ssthresh;
        self.bytes_acked = 0;
        self.after_rto = false;
        self.in_fast_recovery = true;
        self.end_hystart();
    }

    fn on_recovery_end(&mut self, _now: Instant) {
        if self.in_fast_recovery {
            self.in_fast_recovery = false;
            self.cwnd = self.ssthresh.min(MAX_WINDOW).max(minimum_window(self.mss));
            self.bytes_acked = 0;
        }
    }

    fn on_rto(&mut self, _now: Instant, in_flight: usize) {
        if !self.in_rto_backoff {
            self.save();
            self.ssthresh = self.halved(in_flight);
            self.in_rto_backoff = true;
        }
        // The loss window (RFC 5681 §3.1).
        self.cwnd = self.mss;
        self.bytes_acked = 0;
        self.after_rto = true;
        self.in_fast_recovery = false;
        self.end_hystart();
    }

    fn on_spurious_congestion(&mut self, _now: Instant) {
        if let Some(saved) = self.undo.take() {
            // RFC 4015 §3: back to the window and threshold from before the
            // reduction; never below what the window has regrown to since.
            self.cwnd = self.cwnd.max(saved.cwnd);
            self.ssthresh = self.ssthresh.max(saved.ssthresh);
            self.hystart = saved.hystart;
            self.bytes_acked = 0;
            self.after_rto = false;
            self.in_rto_backoff = false;
            self.in_fast_recovery = false;
        }
    }

    fn on_idle_restart(&mut self, _now: Instant) {
        // RFC 5681 §4.1: restart window = min(IW, cwnd).
        self.cwnd = self.cwnd.min(initial_window(self.mss));
        self.bytes_acked = 0;
    }

    /// Keeps the window the same number of segments: the window, the
    /// threshold and RFC 3465's byte counter are rescaled by new/old MSS
    /// (the window at least 1 new MSS, the threshold at least 2). A saved
    /// undo state is dropped, since it was counted in the old MSS.
    fn on_mss_change(&mut self, mss: usize) {
        let new = sane_mss(mss);
        let old = self.mss;
        if new == old {
            return;
        }
        self.cwnd = rescale(self.cwnd, old, new, new);
        self.ssthresh = rescale(self.ssthresh, old, new, minimum_window(new));
        self.bytes_acked = rescale(self.bytes_acked, old, new, 0);
        self.mss = new;
        self.undo = None;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{ack, event, run_ops};
    use super::*;
    use quickcheck::quickcheck;
    use std::vec::Vec;

    const MSS: usize = 1000;

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    /// A controller in congestion avoidance at `cwnd`, with no undo state.
    fn in_ca(cwnd: usize) -> NewReno {
        let mut r = NewReno::new(MSS);
        r.cwnd = cwnd;
        r.ssthresh = cwnd;
        r
    }

    #[test]
    fn starts_at_the_rfc_6928_window() {
        let r = NewReno::new(MSS);
        assert_eq!(r.window(), 10_000); // min(10·1000, max(2000, 14600))
        assert_eq!(r.ssthresh(), usize::MAX);
        assert!(r.in_slow_start());
        assert_eq!(r.name(), "newreno");
        assert_eq!(NewReno::new(1460).window(), 14_600);
        assert_eq!(NewReno::new(9000).window(), 18_000); // 2·MSS wins
        assert_eq!(NewReno::new(0).mss(), 1);
        assert_eq!(r.pacing_rate(crate::time::Duration::from_millis(10)), None);
    }

    #[test]
    fn slow_start_counts_bytes_with_l_2() {
        let mut r = NewReno::new(MSS);
        let mut cwnd = 10_000;
        // (acked, growth): min(acked, 2·SMSS).
        for (acked, growth) in [
            (1_000, 1_000),
            (2_000, 2_000),
            (3_000, 2_000),
            (500, 500),
            (10_000, 2_000),
        ] {
            r.on_ack(&ack(t(10), acked, 20_000));
            cwnd += growth;
            assert_eq!(r.window(), cwnd);
        }
        assert_eq!(r.window(), 17_500);
    }

    #[test]
    fn slow_start_stops_at_ssthresh() {
        let mut r = NewReno::new(MSS);
        r.ssthresh = 11_500;
        r.on_ack(&ack(t(1), 2_000, 10_000));
        assert_eq!(r.window(), 11_500);
        assert!(!r.in_slow_start());
        // Now congestion avoidance: nothing until a window is acknowledged.
        r.on_ack(&ack(t(2), 2_000, 10_000));
        assert_eq!(r.window(), 11_500);
    }

    #[test]
    fn congestion_avoidance_adds_one_mss_per_window() {
        let mut r = in_ca(20_000);
        for i in 1..=19 {
            r.on_ack(&ack(t(i), 1_000, 20_000));
            assert_eq!(r.window(), 20_000);
        }
        r.on_ack(&ack(t(20), 1_000, 20_000));
        assert_eq!(r.window(), 21_000);
        assert_eq!(r.bytes_acked, 0);
        // The next "RTT" needs 21 000 bytes; leftovers carry over.
        r.on_ack(&ack(t(21), 15_000, 21_000));
        assert_eq!(r.window(), 21_000);
        r.on_ack(&ack(t(22), 7_000, 21_000));
        assert_eq!(r.window(), 22_000);
        assert_eq!(r.bytes_acked, 1_000);
    }

    #[test]
    fn congestion_event_halves_flight_size() {
        let mut r = NewReno::new(MSS);
        r.on_congestion_event(&event(t(5), 20_000));
        assert_eq!(r.ssthresh(), 10_000);
        assert_eq!(r.window(), 10_000);
        r.on_recovery_end(t(7));
        assert_eq!(r.window(), 10_000);
        assert!(!r.in_slow_start());
        // A small flight size: the floor is 2·SMSS.
        r.on_congestion_event(&event(t(8), 3_000));
        assert_eq!(r.ssthresh(), 2_000);
        assert_eq!(r.window(), 2_000);
    }

    #[test]
    fn timeout_collapses_to_one_segment_and_holds_ssthresh_on_repeats() {
        let mut r = in_ca(30_000);
        r.on_rto(t(1), 20_000);
        assert_eq!(r.window(), 1_000);
        assert_eq!(r.ssthresh(), 10_000);
        // A repeated timeout (no ACK in between) keeps ssthresh.
        r.on_rto(t(3), 1_000);
        assert_eq!(r.window(), 1_000);
        assert_eq!(r.ssthresh(), 10_000);
        // Slow start after a timeout counts with L = 1.
        r.on_ack(&ack(t(4), 3_000, 3_000));
        assert_eq!(r.window(), 2_000);
        r.on_ack(&ack(t(5), 2_000, 2_000));
        assert_eq!(r.window(), 3_000);
        // The ACK ended the backoff: the next timeout is a first one.
        r.on_rto(t(6), 3_000);
        assert_eq!(r.ssthresh(), 2_000);
        assert_eq!(r.window(), 1_000);
    }

    #[test]
    fn l_returns_to_2_once_slow_start_after_a_timeout_ends() {
        let mut r = in_ca(4_000);
        r.on_rto(t(1), 6_000);
        assert_eq!(r.ssthresh(), 3_000);
        for (acked, cwnd) in [(3_000, 2_000), (3_000, 3_000)] {
            r.on_ack(&ack(t(2), acked, 3_000));
            assert_eq!(r.window(), cwnd);
        }
        assert!(!r.after_rto);
        // A later slow start (after undoing a reduction to a high
        // threshold) uses L = 2 again.
        r.ssthresh = 100_000;
        r.on_ack(&ack(t(3), 3_000, 3_000));
        assert_eq!(r.window(), 5_000);
    }

    #[test]
    fn recovery_end_after_a_timeout_does_not_reinflate() {
        let mut r = in_ca(20_000);
        r.on_congestion_event(&event(t(1), 20_000));
        r.on_rto(t(2), 10_000);
        assert_eq!(r.window(), 1_000);
        r.on_recovery_end(t(3));
        assert_eq!(r.window(), 1_000);
    }

    #[test]
    fn spurious_congestion_is_undone() {
        let mut r = in_ca(20_000);
        r.on_congestion_event(&event(t(1), 20_000));
        assert_eq!((r.window(), r.ssthresh()), (10_000, 10_000));
        r.on_spurious_congestion(t(2));
        assert_eq!((r.window(), r.ssthresh()), (20_000, 20_000));
        // Nothing more to undo.
        r.on_spurious_congestion(t(3));
        assert_eq!((r.window(), r.ssthresh()), (20_000, 20_000));

        // From the initial slow start: ssthresh goes back to "infinity".
        let mut r = NewReno::new(MSS);
        r.on_congestion_event(&event(t(1), 10_000));
        r.on_spurious_congestion(t(2));
        assert_eq!((r.window(), r.ssthresh()), (10_000, usize::MAX));
    }

    #[test]
    fn spurious_timeout_is_undone_to_before_the_first_one() {
        let mut r = in_ca(20_000);
        r.on_rto(t(1), 20_000);
        r.on_rto(t(2), 1_000);
        r.on_spurious_congestion(t(3));
        assert_eq!((r.window(), r.ssthresh()), (20_000, 20_000));
        assert!(!r.after_rto);
        // And the next timeout is a first one.
        r.on_rto(t(4), 8_000);
        assert_eq!(r.ssthresh(), 4_000);
    }

    #[test]
    fn app_limited_acks_do_not_grow_the_window() {
        let mut r = NewReno::new(MSS);
        let limited = AckInfo {
            app_limited: true,
            ..ack(t(1), 2_000, 2_000)
        };
        r.on_ack(&limited);
        assert_eq!(r.window(), 10_000);
        let mut r = in_ca(10_000);
        for _ in 0..50 {
            r.on_ack(&limited);
        }
        assert_eq!(r.window(), 10_000);
        assert_eq!(r.bytes_acked, 0);
    }

    #[test]
    fn idle_restart_caps_at_the_initial_window() {
        let mut r = in_ca(50_000);
        r.on_idle_restart(t(1));
        assert_eq!(r.window(), 10_000);
        assert_eq!(r.ssthresh(), 50_000);
        // A smaller window stays.
        let mut r = in_ca(4_000);
        r.on_idle_restart(t(1));
        assert_eq!(r.window(), 4_000);
    }

    #[test]
    fn mss_change_keeps_the_window_in_segments() {
        let mut r = in_ca(20_000);
        r.on_mss_change(1_500);
        assert_eq!(r.mss(), 1_500);
        assert_eq!((r.window(), r.ssthresh()), (30_000, 30_000));
        r.on_mss_change(500);
        assert_eq!(r.mss(), 500);
        assert_eq!(r.window(), 10_000);
        // Unset thresholds stay unset.
        let mut r = NewReno::new(MSS);
        r.on_mss_change(2_000);
        assert_eq!(r.ssthresh(), usize::MAX);
        assert_eq!(r.window(), 20_000);
    }

    #[test]
    fn window_never_exceeds_u32() {
        let mut r = in_ca(MAX_WINDOW - 10);
        r.bytes_acked = usize::MAX - 5;
        r.on_ack(&ack(t(1), usize::MAX, usize::MAX));
        assert_eq!(r.window(), MAX_WINDOW);
        let mut r = NewReno::new(MSS);
        r.cwnd = MAX_WINDOW - 1;
        r.on_ack(&ack(t(1), usize::MAX, usize::MAX));
        assert_eq!(r.window(), MAX_WINDOW);
        r.on_congestion_event(&event(t(2), usize::MAX));
        assert_eq!(r.ssthresh(), MAX_WINDOW);
    }

    #[test]
    fn hystart_variant_leaves_slow_start_on_delay() {
        use crate::time::Duration;
        let mut r = NewReno::with_hystart(MSS, HyStart::new());
        let mut now = 0;
        let mut prior = 10;
        // Rounds at 100 ms then 130 ms: CSS on the 8th ACK of round 2,
        // then after five CSS rounds, congestion avoidance at ssthresh =
        // cwnd.
        for round in 0..10 {
            let rtt = Duration::from_millis(if round == 0 { 100 } else { 130 });
            for i in 0..prior {
                now += 1;
                r.on_ack(&AckInfo {
                    rtt: Some(rtt),
                    ..ack(t(now), MSS, (prior - i) * MSS)
                });
            }
            prior = r.window() / MSS;
            if r.ssthresh() != usize::MAX {
                break;
            }
        }
        assert_eq!(r.ssthresh(), r.window());
        assert!(!r.hystart().is_some_and(HyStart::is_active));
        // Plain NewReno has no HyStart.
        assert!(NewReno::new(MSS).hystart().is_none());
    }

    #[test]
    fn hystart_variant_finishes_on_loss_and_undo_restores_it() {
        let mut r = NewReno::with_hystart(MSS, HyStart::new());
        r.on_ack(&ack(t(1), 20 * MSS, 20 * MSS));
        // L = 8 under HyStart++, not RFC 3465's 2.
        assert_eq!(r.window(), 18_000);
        r.on_congestion_event(&event(t(2), 18_000));
        assert!(!r.hystart().is_some_and(HyStart::is_active));
        r.on_spurious_congestion(t(3));
        assert!(r.hystart().is_some_and(HyStart::is_active));
    }

    quickcheck! {
        fn never_panics_and_stays_in_bounds(mss: u16, ops: Vec<(u8, u32, u32)>) -> bool {
            let mut r = NewReno::new(usize::from(mss));
            run_ops(&mut r, NewReno::mss, &ops)
        }

        fn hystart_variant_stays_in_bounds(mss: u16, ops: Vec<(u8, u32, u32)>) -> bool {
            let mut r = NewReno::with_hystart(usize::from(mss), HyStart::new());
            run_ops(&mut r, NewReno::mss, &ops)
        }
    }
}
