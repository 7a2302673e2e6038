//! The machines behind the connection's sending decisions, each fed an
//! arbitrary sequence of events:
//! - every built-in congestion controller (NewReno, CUBIC, BBR), through
//!   the `CongestionControl` trait only (so it keeps working as the
//!   controllers change), rate samples included;
//! - the RFC 6298 RTT estimator;
//! - the loss recovery machine (scoreboard, RACK-TLP, PRR, F-RTO, the
//!   delivery-rate sampler), driven by a model sender that keeps its
//!   inputs as consistent as a connection would (ACKs within
//!   `[SND.UNA, SND.MAX]`, SACK blocks anywhere), with every rate sample
//!   it produces checked on its way to the controller.
//!
//! Asserted: no panic and no arithmetic overflow (fuzz builds have
//! overflow checks on); the congestion window within
//! `[MSS, u32::MAX]`; the RTO within `[min_rto, max_rto]`, doubling on a
//! timeout up to the cap; SRTT within the range of the samples; the minimum
//! RTT no larger than the latest sample; the scoreboard's cached counts
//! equal to its segments and never more in flight than was sent; rate
//! samples whose delivered total grows by what each ACK delivered and
//! whose rate is what their bytes and interval give.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use synack_core::cc::{AckInfo, CongestionCause, CongestionControl, CongestionEvent, RateSample};
use synack_core::internals::{AckInput, Recovery, RttConfig, RttEstimator};
use synack_core::wire::SackBlock;
use synack_core::{Duration, Instant, SeqNumber};
use synack_fuzz::controller;

/// The contract's limits on what a connection passes in: windows and
/// flights up to 2^30 bytes (the largest scaled window), MSS up to 65535.
const MAX_BYTES: u32 = 1 << 30;

#[derive(Arbitrary, Debug)]
enum Input {
    Cc {
        cc: u8,
        mss: u16,
        events: Vec<CcEvent>,
    },
    Rtt {
        initial_rto_ms: u32,
        min_rto_ms: u32,
        max_rto_s: u16,
        granularity_us: u32,
        window_s: u16,
        events: Vec<RttEvent>,
    },
    Recovery {
        sack: bool,
        cc: u8,
        mss: u16,
        isn: u32,
        events: Vec<RecEvent>,
    },
}

#[derive(Arbitrary, Debug)]
enum CcEvent {
    Advance(u32),
    Sent {
        bytes: u32,
        in_flight: u32,
    },
    Ack {
        acked: u32,
        prior_in_flight: u32,
        rtt_us: Option<u32>,
        srtt_us: Option<u32>,
        min_rtt_us: Option<u32>,
        app_limited: bool,
        in_recovery: bool,
    },
    Congestion {
        in_flight: u32,
        /// An ECN echo rather than a loss.
        ecn: bool,
    },
    RecoveryEnd,
    Rto {
        in_flight: u32,
    },
    Spurious,
    IdleRestart,
    SetMss(u16),
    Pacing {
        srtt_us: u64,
    },
    Rate {
        rate: Option<u64>,
        interval_us: u32,
        delivered: u32,
        prior_delivered: u32,
        newly_acked: u32,
        newly_lost: u32,
        lost: u32,
        tx_in_flight: u32,
        in_flight: u32,
        rtt_us: Option<u32>,
        app_limited: bool,
    },
}

#[derive(Arbitrary, Debug)]
enum RttEvent {
    Sample { advance_us: u32, rtt_us: u64 },
    Timeout,
    ResetBackoff,
    HandshakeComplete,
}

#[derive(Arbitrary, Debug)]
enum RecEvent {
    Advance(u32),
    SendNew {
        len: u16,
        fin: bool,
    },
    Retransmit,
    Ack {
        /// How far past SND.UNA, as a fraction of what is outstanding.
        advance: u16,
        sack: Vec<(u16, u16, u16)>,
        duplicate: bool,
        rtt_us: Option<u32>,
        app_limited: bool,
        has_unsent: bool,
    },
    Rto {
        frto: bool,
    },
    ReorderTimeout,
    Probe,
    /// The peer echoed a congestion mark (ECE) that calls for a response.
    EcnEcho,
}

fn mss_of(raw: u16) -> usize {
    usize::from(raw.max(1))
}

fn check_cc(cc: &dyn CongestionControl, min_mss: usize) {
    let w = cc.window();
    assert!(
        w >= min_mss && w <= u32::MAX as usize,
        "{}: window {w} outside [{min_mss}, u32::MAX]",
        cc.name()
    );
    assert!(cc.ssthresh() > 0, "{}: zero ssthresh", cc.name());
    let _ = cc.in_slow_start();
}

fn run_cc(choice: u8, mss: u16, events: &[CcEvent]) {
    let alg = controller(choice);
    let mss = mss_of(mss);
    let mut total_delivered = 0u64;
    let mut min_mss = mss;
    let mut cc = alg.build(mss);
    let mut now = Instant::from_secs(1);
    // The calling contract, as the recovery machine keeps it: recovery
    // ends only after a congestion event started it, and only a reduction
    // (congestion event or timeout) can be undone, once.
    let mut recovering = false;
    let mut undoable = false;
    check_cc(cc.as_ref(), min_mss);
    let us = |v: u32| Duration::from_micros(u64::from(v));
    for ev in events {
        match *ev {
            CcEvent::Advance(d) => now += us(d),
            CcEvent::Sent { bytes, in_flight } => cc.on_sent(
                now,
                (bytes % MAX_BYTES) as usize,
                (in_flight % MAX_BYTES) as usize,
            ),
            CcEvent::Ack {
                acked,
                prior_in_flight,
                rtt_us,
                srtt_us,
                min_rtt_us,
                app_limited,
                in_recovery,
            } => {
                // The recovery machine keeps ACKs during fast recovery
                // from the controller (PRR decides then).
                if !(in_recovery && recovering) {
                    cc.on_ack(&AckInfo {
                        now,
                        acked_bytes: (acked % MAX_BYTES) as usize,
                        prior_in_flight: (prior_in_flight % MAX_BYTES) as usize,
                        rtt: rtt_us.map(us),
                        srtt: srtt_us.map(us),
                        min_rtt: min_rtt_us.map(us),
                        app_limited,
                    });
                }
            }
            CcEvent::Congestion { in_flight, ecn } => {
                cc.on_congestion_event(&CongestionEvent {
                    now,
                    in_flight: (in_flight % MAX_BYTES) as usize,
                    cause: if ecn {
                        CongestionCause::Ecn
                    } else {
                        CongestionCause::Loss
                    },
                });
                recovering = true;
                undoable = true;
            }
            CcEvent::RecoveryEnd if recovering => {
                cc.on_recovery_end(now);
                recovering = false;
            }
            CcEvent::RecoveryEnd => {}
            CcEvent::Rto { in_flight } => {
                cc.on_rto(now, (in_flight % MAX_BYTES) as usize);
                recovering = false;
                undoable = true;
            }
            CcEvent::Spurious if undoable => {
                cc.on_spurious_congestion(now);
                recovering = false;
                undoable = false;
            }
            CcEvent::Spurious => {}
            CcEvent::IdleRestart => cc.on_idle_restart(now),
            CcEvent::SetMss(m) => {
                let mss = mss_of(m);
                min_mss = min_mss.min(mss);
                cc.on_mss_change(mss);
            }
            CcEvent::Pacing { srtt_us } => {
                let _ = cc.pacing_rate(Duration::from_micros(srtt_us));
                let _ = cc.send_quantum();
            }
            CcEvent::Rate {
                rate,
                interval_us,
                delivered,
                prior_delivered,
                newly_acked,
                newly_lost,
                lost,
                tx_in_flight,
                in_flight,
                rtt_us,
                app_limited,
            } => {
                let newly_acked = (newly_acked % MAX_BYTES) as usize;
                total_delivered += newly_acked as u64;
                cc.on_rate_sample(&RateSample {
                    now,
                    delivery_rate: rate,
                    interval: us(interval_us),
                    delivered: u64::from(delivered).min(total_delivered),
                    prior_delivered: u64::from(prior_delivered).min(total_delivered),
                    total_delivered,
                    newly_acked,
                    newly_lost: (newly_lost % MAX_BYTES) as usize,
                    lost: u64::from(lost),
                    tx_in_flight: (tx_in_flight % MAX_BYTES) as usize,
                    prior_in_flight: (in_flight % MAX_BYTES) as usize,
                    in_flight: (in_flight % MAX_BYTES) as usize,
                    rtt: rtt_us.map(us),
                    min_rtt: rtt_us.map(us),
                    is_app_limited: app_limited,
                });
            }
        }
        check_cc(cc.as_ref(), min_mss);
    }
}

fn run_rtt(config: RttConfig, events: &[RttEvent]) {
    let mut est = RttEstimator::new(config);
    let cfg = *est.config();
    assert!(cfg.min_rto > Duration::ZERO && cfg.min_rto <= cfg.max_rto);
    let mut now = Instant::from_secs(1);
    let mut sample_range: Option<(Duration, Duration)> = None;
    let one = Duration::from_micros(1);
    for ev in events {
        let before = est.rto();
        match *ev {
            RttEvent::Sample { advance_us, rtt_us } => {
                now += Duration::from_micros(u64::from(advance_us));
                let rtt = Duration::from_micros(rtt_us);
                est.on_sample(now, rtt);
                sample_range = Some(match sample_range {
                    None => (rtt, rtt),
                    Some((lo, hi)) => (lo.min(rtt), hi.max(rtt)),
                });
                assert_eq!(est.latest(), Some(rtt));
                assert_eq!(est.backoff_count(), 0);
                let min = est.min_rtt().expect("a sample gives a minimum");
                assert!(min <= rtt, "min RTT {min} above the latest sample {rtt}");
            }
            RttEvent::Timeout => {
                est.on_timeout();
                let expected = before.saturating_mul(2).min(cfg.max_rto);
                assert_eq!(
                    est.rto(),
                    expected,
                    "a timeout must double the RTO up to the cap"
                );
            }
            RttEvent::ResetBackoff => est.reset_backoff(),
            RttEvent::HandshakeComplete => est.on_handshake_complete(),
        }
        let rto = est.rto();
        assert!(
            rto >= cfg.min_rto && rto <= cfg.max_rto,
            "RTO {rto} outside [{}, {}]",
            cfg.min_rto,
            cfg.max_rto
        );
        match sample_range {
            None => assert_eq!(est.srtt(), None),
            Some((lo, hi)) => {
                let srtt = est.srtt().expect("a sample gives SRTT");
                assert!(
                    srtt.saturating_add(one) >= lo && srtt <= hi.saturating_add(one),
                    "SRTT {srtt} outside the samples' range [{lo}, {hi}]"
                );
                let var = est.rttvar().expect("a sample gives RTTVAR");
                assert!(
                    var <= hi.saturating_add(one),
                    "RTTVAR {var} above every sample"
                );
            }
        }
    }
}

/// A sender as the connection keeps one, for the recovery machine.
struct Sender {
    una: SeqNumber,
    max: SeqNumber,
    fin_sent: bool,
    now: Instant,
    mss: usize,
}

impl Sender {
    fn outstanding(&self) -> u32 {
        self.max.distance_from(self.una)
    }

    fn check(&self, rec: &Recovery, cc: &dyn CongestionControl) {
        assert!(rec.board().check_invariants(), "scoreboard counts broken");
        let outstanding = self.outstanding() as usize;
        let board = rec.board();
        let sacked: usize = board.iter().filter(|s| s.sacked).map(|s| s.len()).sum();
        assert!(
            board.in_flight() + sacked + board.lost_bytes() <= outstanding,
            "the scoreboard holds more than is outstanding"
        );
        assert!(rec.in_flight(self.mss) <= outstanding);
        if let Some(first) = rec.board().iter().next() {
            assert!(first.start >= self.una, "a segment below SND.UNA is kept");
        }
        if let Some(last) = rec.board().last() {
            assert!(last.end <= self.max, "a segment beyond SND.MAX is kept");
        }
        let _ = rec.send_quota(cc.window(), self.mss);
        let _ = rec.probe_deadline(self.now, None, Duration::from_secs(1), self.mss);
        check_cc(cc, self.mss);
    }

    /// `offset` (a fraction of 2^16) of the outstanding sequence space,
    /// from SND.UNA.
    fn point(&self, fraction: u16) -> SeqNumber {
        let span = u64::from(self.outstanding());
        self.una + ((span * u64::from(fraction)) >> 16) as u32
    }
}

/// A controller that checks each rate sample the recovery machine gives
/// it, then passes everything on.
#[derive(Debug)]
struct CheckedSamples {
    inner: Box<dyn CongestionControl>,
    last_total: u64,
}

impl CongestionControl for CheckedSamples {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn window(&self) -> usize {
        self.inner.window()
    }
    fn ssthresh(&self) -> usize {
        self.inner.ssthresh()
    }
    fn in_slow_start(&self) -> bool {
        self.inner.in_slow_start()
    }
    fn on_sent(&mut self, now: Instant, bytes: usize, in_flight: usize) {
        self.inner.on_sent(now, bytes, in_flight)
    }
    fn on_ack(&mut self, ack: &AckInfo) {
        self.inner.on_ack(ack)
    }
    fn on_congestion_event(&mut self, event: &CongestionEvent) {
        self.inner.on_congestion_event(event)
    }
    fn on_recovery_end(&mut self, now: Instant) {
        self.inner.on_recovery_end(now)
    }
    fn on_rto(&mut self, now: Instant, in_flight: usize) {
        self.inner.on_rto(now, in_flight)
    }
    fn on_spurious_congestion(&mut self, now: Instant) {
        self.inner.on_spurious_congestion(now)
    }
    fn on_idle_restart(&mut self, now: Instant) {
        self.inner.on_idle_restart(now)
    }
    fn on_mss_change(&mut self, mss: usize) {
        self.inner.on_mss_change(mss)
    }
    fn pacing_rate(&self, srtt: Duration) -> Option<u64> {
        self.inner.pacing_rate(srtt)
    }
    fn send_quantum(&self) -> Option<usize> {
        self.inner.send_quantum()
    }
    fn governs_recovery(&self) -> bool {
        self.inner.governs_recovery()
    }
    fn on_rate_sample(&mut self, rs: &RateSample) {
        assert!(rs.newly_acked > 0 || rs.newly_lost > 0, "an empty sample");
        assert!(rs.total_delivered >= self.last_total, "delivered went back");
        assert_eq!(
            rs.total_delivered - self.last_total,
            rs.newly_acked as u64,
            "newly acked is not the growth of the total"
        );
        assert!(rs.prior_delivered <= rs.total_delivered);
        assert!(rs.delivered <= rs.total_delivered);
        if let Some(rate) = rs.delivery_rate {
            let micros = rs.interval.total_micros();
            assert!(micros > 0, "a rate over no time");
            let expected = u128::from(rs.delivered) * 1_000_000 / u128::from(micros);
            assert_eq!(u128::from(rate), expected.min(u128::from(u64::MAX)));
            if let Some(min) = rs.min_rtt {
                assert!(rs.interval >= min, "an interval below the minimum RTT");
            }
        }
        self.last_total = rs.total_delivered;
        self.inner.on_rate_sample(rs)
    }
}

fn run_recovery(sack: bool, choice: u8, mss: u16, isn: u32, events: &[RecEvent]) {
    let mss = mss_of(mss);
    let mut cc = Box::new(CheckedSamples {
        inner: controller(choice).build(mss),
        last_total: 0,
    });
    let mut rec = Recovery::new(sack);
    let mut s = Sender {
        una: SeqNumber(isn),
        max: SeqNumber(isn),
        fin_sent: false,
        now: Instant::from_secs(1),
        mss,
    };
    let mut est = RttEstimator::new(RttConfig::default());
    for ev in events {
        match ev {
            RecEvent::Advance(d) => s.now += Duration::from_micros(u64::from(*d)),
            RecEvent::SendNew { len, fin } => {
                if s.fin_sent || s.outstanding() > MAX_BYTES {
                    continue;
                }
                let len = usize::from(*len) % (mss + 1);
                let end = s.max + len + usize::from(*fin);
                if end == s.max {
                    continue;
                }
                rec.on_sent(s.now, s.max, end, *fin, false);
                cc.on_sent(s.now, len, rec.in_flight(mss));
                s.max = end;
                s.fin_sent = *fin;
            }
            RecEvent::Retransmit => {
                if rec.holding_retransmissions() {
                    continue;
                }
                if let Some(seg) = rec.next_retransmission() {
                    rec.on_sent(s.now, seg.start, seg.end, seg.fin, true);
                    cc.on_sent(s.now, seg.len(), rec.in_flight(mss));
                }
            }
            RecEvent::Ack {
                advance,
                sack: blocks,
                duplicate,
                rtt_us,
                app_limited,
                has_unsent,
            } => {
                let ack = s.point(*advance);
                let blocks: Vec<SackBlock> = blocks
                    .iter()
                    .take(4)
                    .map(|&(base, l, r)| {
                        // Blocks near the window, and some anywhere.
                        let origin = if base & 1 == 0 {
                            s.una
                        } else {
                            SeqNumber(u32::from(base) << 16)
                        };
                        SackBlock {
                            left: origin + (u32::from(l) * (mss as u32) / 64),
                            right: origin + (u32::from(r) * (mss as u32) / 64),
                        }
                    })
                    .collect();
                // The echo's sample, offered as the fallback; the send times
                // on the scoreboard give the others.
                let ts_rtt = rtt_us.map(|v| Duration::from_micros(u64::from(v)));
                let prior_una = s.una;
                let input = AckInput {
                    now: s.now,
                    ack,
                    prior_una,
                    snd_max: s.max,
                    sack: &blocks,
                    duplicate: *duplicate && ack == s.una && s.una != s.max,
                    ts_rtt: (ack > prior_una).then_some(ts_rtt).flatten(),
                    app_limited: *app_limited,
                    has_unsent: *has_unsent,
                    mss,
                };
                let outcome = rec.on_ack(&input, &mut est, cc.as_mut());
                if let Some(sample) = outcome.rtt {
                    assert!(sample.latest <= sample.rtt, "newest sent before oldest");
                }
                s.una = ack;
                if let Some(deadline) = outcome.reorder_deadline {
                    assert!(deadline >= s.now, "a reorder deadline in the past");
                }
            }
            RecEvent::Rto { frto } => rec.on_rto(s.now, s.max, mss, *frto, cc.as_mut()),
            RecEvent::ReorderTimeout => {
                let next = rec.on_reorder_timeout(
                    s.now,
                    est.srtt(),
                    est.min_rtt(),
                    s.max,
                    mss,
                    cc.as_mut(),
                );
                if let Some(deadline) = next {
                    assert!(deadline >= s.now, "a reorder deadline in the past");
                }
            }
            RecEvent::EcnEcho => {
                rec.on_ecn_echo(s.now, s.max, rec.in_flight(mss), mss, cc.as_mut());
            }
            RecEvent::Probe => {
                if let Some(seg) = rec.probe_target() {
                    rec.on_sent(s.now, seg.start, seg.end, seg.fin, true);
                    rec.on_probe_sent(seg.end, true);
                }
            }
        }
        s.check(&rec, cc.as_ref());
    }
}

fuzz_target!(|input: Input| {
    match input {
        Input::Cc { cc, mss, events } => run_cc(cc, mss, &events),
        Input::Rtt {
            initial_rto_ms,
            min_rto_ms,
            max_rto_s,
            granularity_us,
            window_s,
            events,
        } => run_rtt(
            RttConfig {
                initial_rto: Duration::from_millis(u64::from(initial_rto_ms)),
                min_rto: Duration::from_millis(u64::from(min_rto_ms)),
                max_rto: Duration::from_secs(u64::from(max_rto_s)),
                granularity: Duration::from_micros(u64::from(granularity_us)),
                min_rtt_window: Duration::from_secs(u64::from(window_s)),
            },
            &events,
        ),
        Input::Recovery {
            sack,
            cc,
            mss,
            isn,
            events,
        } => run_recovery(sack, cc, mss, isn, &events),
    }
});
