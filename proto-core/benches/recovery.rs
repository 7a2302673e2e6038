//! Loss recovery's cost per ACK against the number of segments in flight:
//! `Recovery::on_ack` (with the `next_retransmission` and `in_flight` calls
//! the connection makes after it) at 100, 10 000 and 100 000 segments.
//!
//! - `cumulative`: every ACK acknowledges the oldest segment and one new
//!   segment goes out, so the flight stays at N segments.
//! - `sack`: the oldest segment is a hole that stays open; every ACK is a
//!   duplicate whose SACK block runs from above the hole to SND.MAX, one
//!   segment longer each time (the segment just sent). RACK marks the hole
//!   lost and fast recovery runs. Every N/4 ACKs (at most 1000) the
//!   scoreboard is rebuilt at N segments, outside the timed part.
//!
//! `cargo bench -p synack-core --bench recovery`.

use std::hint::black_box;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use criterion::{BenchmarkId, Criterion, criterion_main};
use synack_core::cc::NewReno;
use synack_core::internals::{AckInput, Recovery, RttConfig, RttEstimator};
use synack_core::wire::SackBlock;
use synack_core::{Instant, SeqNumber};

const MSS: usize = 1448;
const SIZES: [u32; 3] = [100, 10_000, 100_000];

fn seq(i: u32) -> SeqNumber {
    SeqNumber(i.wrapping_mul(MSS as u32))
}

/// A sender with segments `[una, max)` in flight.
struct Flow {
    r: Recovery,
    cc: NewReno,
    rtt: RttEstimator,
    una: u32,
    max: u32,
    now: u64,
}

impl Flow {
    /// `n` segments sent one microsecond apart.
    fn new(n: u32) -> Flow {
        let mut r = Recovery::new(true);
        for i in 0..n {
            r.on_sent(
                Instant::from_micros(u64::from(i)),
                seq(i),
                seq(i + 1),
                false,
                false,
            );
        }
        Flow {
            r,
            cc: NewReno::new(MSS),
            rtt: RttEstimator::new(RttConfig::default()),
            una: 0,
            max: n,
            now: u64::from(n) + 1000,
        }
    }

    fn send_one(&mut self) {
        self.r.on_sent(
            Instant::from_micros(self.now),
            seq(self.max),
            seq(self.max + 1),
            false,
            false,
        );
        self.max += 1;
    }

    fn ack(&mut self, ack: u32, sack: &[SackBlock]) {
        let input = AckInput {
            now: Instant::from_micros(self.now),
            ack: seq(ack),
            prior_una: seq(self.una),
            snd_max: seq(self.max),
            sack,
            duplicate: ack == self.una && sack.is_empty(),
            ts_rtt: None,
            app_limited: false,
            has_unsent: true,
            mss: MSS,
        };
        black_box(self.r.on_ack(&input, &mut self.rtt, &mut self.cc));
        self.una = ack;
        black_box(self.r.next_retransmission());
        black_box(self.r.in_flight(MSS));
        self.now += 1;
    }

    /// One cumulative ACK of the oldest segment, and one new segment.
    fn cumulative_step(&mut self) {
        self.ack(self.una + 1, &[]);
        self.send_one();
    }

    /// One new segment, and a duplicate ACK SACKing everything above the
    /// hole at SND.UNA.
    fn sack_step(&mut self) {
        self.send_one();
        let block = SackBlock {
            left: seq(self.una + 1),
            right: seq(self.max),
        };
        self.ack(self.una, &[block]);
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("recovery_ack");
    group
        .sample_size(20)
        .warm_up_time(StdDuration::from_secs(1))
        .measurement_time(StdDuration::from_secs(3));
    for n in SIZES {
        group.bench_with_input(BenchmarkId::new("cumulative", n), &n, |b, &n| {
            let mut flow = Flow::new(n);
            b.iter(|| flow.cumulative_step());
        });
        group.bench_with_input(BenchmarkId::new("sack", n), &n, |b, &n| {
            let run = (n / 4).min(1000);
            let fresh = || {
                let mut flow = Flow::new(n);
                // The first SACK of the whole window, untimed.
                flow.sack_step();
                flow
            };
            b.iter_custom(|iters| {
                let mut spent = StdDuration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let mut flow = fresh();
                    let steps = left.min(u64::from(run));
                    let start = StdInstant::now();
                    for _ in 0..steps {
                        flow.sack_step();
                    }
                    spent += start.elapsed();
                    left -= steps;
                }
                spent
            });
        });
    }
    group.finish();
}

fn benches() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
}

criterion_main!(benches);
