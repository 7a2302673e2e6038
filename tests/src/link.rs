//! One direction of a link: serialisation at a bandwidth, a drop-tail
//! queue and propagation delay, around the impairments real links use
//! (`synack_link::impair::Impairer`). With drop-tail, a link decides each
//! packet's fate when it is offered; the simulator schedules the arrival.
//! Under an AQM ([`crate::aqm`]) the simulator holds the packets in the
//! discipline and hands the link each one it dequeues
//! ([`Link::admit`], then [`Link::send_now`]).

use std::collections::VecDeque;

use synack_core::{Duration, Instant};
use synack_link::impair::{Impairer, ImpairmentConfig, Rng};

use crate::config::QueueLimit;

/// Why a link dropped a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropCause {
    /// The link was down or blackholed.
    Down,
    /// Larger than the MTU.
    TooBig,
    /// Random loss.
    Loss,
    /// The queue was full.
    QueueFull,
    /// A targeted fault.
    Fault,
}

/// What happens to an offered packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Dropped.
    Drop(DropCause),
    /// Arrives at the far end at `at`; `corrupt_bit` is a bit to flip on
    /// the way; `duplicate_at` is when a second copy arrives, if any.
    Deliver {
        /// Arrival time.
        at: Instant,
        /// A bit index (within the packet) to flip.
        corrupt_bit: Option<usize>,
        /// Arrival of a duplicate.
        duplicate_at: Option<Instant>,
    },
}

/// Counters of one link direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets offered.
    pub offered: u64,
    /// Packets (and duplicates) sent on.
    pub delivered: u64,
    /// IP bytes sent on.
    pub delivered_bytes: u64,
    /// Dropped while down.
    pub dropped_down: u64,
    /// Dropped by random loss.
    pub dropped_loss: u64,
    /// Dropped by the full queue.
    pub dropped_queue: u64,
    /// Dropped by targeted faults or the MTU.
    pub dropped_other: u64,
    /// Packets that had a bit flipped.
    pub corrupted: u64,
    /// Duplicates made.
    pub duplicated: u64,
    /// Packets held back for reordering.
    pub reordered: u64,
    /// Largest queue seen, in bytes.
    pub max_queue_bytes: u64,
    /// Dropped by CoDel's control law at dequeue.
    pub dropped_aqm: u64,
    /// Marked Congestion Experienced by CoDel instead of dropped.
    pub ecn_marked: u64,
}

/// Queueing delay at a link: from a packet's arrival at the queue to the
/// start of its transmission, over every packet the link sent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QueueDelay {
    /// Packets measured.
    pub packets: u64,
    /// Mean, in milliseconds (0 without packets).
    pub mean_ms: f64,
    /// 99th percentile, in milliseconds, to within 0.2 % (0 without
    /// packets).
    pub p99_ms: f64,
    /// Largest, in milliseconds, to within 0.2 %.
    pub max_ms: f64,
}

/// A histogram of delays in microseconds: exact below 1024 µs, then 512
/// buckets per power of two (each within 0.2 % of its values), so any
/// number of packets takes a few kilobytes.
#[derive(Clone, Debug, Default)]
pub struct DelayHistogram {
    buckets: Vec<u64>,
    count: u64,
    sum_us: u128,
}

const EXACT: u64 = 1024;
const SUB_BITS: u32 = 9;

impl DelayHistogram {
    fn index(us: u64) -> usize {
        if us < EXACT {
            return us as usize;
        }
        let k = 63 - us.leading_zeros(); // ≥ 10
        let sub = (us >> (k - SUB_BITS)) & ((1 << SUB_BITS) - 1);
        (EXACT + u64::from(k - 10) * (1 << SUB_BITS) + sub) as usize
    }

    /// The smallest value of bucket `i`.
    fn floor(i: usize) -> u64 {
        let i = i as u64;
        if i < EXACT {
            return i;
        }
        let k = (i - EXACT) / (1 << SUB_BITS) + 10;
        let sub = (i - EXACT) % (1 << SUB_BITS);
        (1 << k) + (sub << (k - SUB_BITS as u64))
    }

    /// Counts one delay.
    pub fn record(&mut self, d: Duration) {
        let us = d.total_micros();
        let i = Self::index(us);
        if self.buckets.len() <= i {
            self.buckets.resize(i + 1, 0);
        }
        self.buckets[i] += 1;
        self.count += 1;
        self.sum_us += u128::from(us);
    }

    /// The value at quantile `q` (0–1): the sample of rank
    /// round((n − 1)·q), as the bucket's smallest value; 0 when empty.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((self.count - 1) as f64 * q.clamp(0.0, 1.0)).round() as u64;
        let mut seen = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen > rank {
                return Self::floor(i);
            }
        }
        Self::floor(self.buckets.len().saturating_sub(1))
    }

    /// Count, mean, 99th percentile and maximum.
    pub fn summary(&self) -> QueueDelay {
        if self.count == 0 {
            return QueueDelay::default();
        }
        QueueDelay {
            packets: self.count,
            mean_ms: self.sum_us as f64 / self.count as f64 / 1e3,
            p99_ms: self.quantile_us(0.99) as f64 / 1e3,
            max_ms: self.quantile_us(1.0) as f64 / 1e3,
        }
    }
}

/// A packet [`Link::admit`] let onto the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admitted {
    /// A bit index (within the packet) to flip on the way.
    pub corrupt_bit: Option<usize>,
    /// A second copy follows it.
    pub duplicate: bool,
}

/// One direction of a link.
#[derive(Clone, Debug)]
pub struct Link {
    /// Bits per second; `None` is infinitely fast (no serialisation, no
    /// queue).
    rate_bps: Option<u64>,
    delay: Duration,
    queue_limit: QueueLimit,
    mtu: usize,
    impair: Impairer,
    up: bool,
    /// When the transmitter finishes what it has been given so far.
    busy_until: Instant,
    /// Finish times and sizes of queued packets (the one on the wire
    /// included).
    queue: VecDeque<(Instant, u32)>,
    queued_bytes: u64,
    /// (since, rate) history, for the capacity over an interval.
    rate_history: Vec<(Instant, u64)>,
    stats: LinkStats,
    /// Queueing delay of every packet sent (links with a bandwidth).
    delays: DelayHistogram,
    /// Sum and count of the delays since [`Link::take_interval_delay`].
    interval_delay: (u64, u64),
}

impl Link {
    /// A link with a bandwidth (or `None` for an access link without
    /// serialisation), a one-way delay, a queue, an MTU and impairments.
    pub fn new(
        rate_bps: Option<u64>,
        delay: Duration,
        queue_limit: QueueLimit,
        mtu: usize,
        impairments: ImpairmentConfig,
    ) -> Link {
        Link {
            rate_bps,
            delay,
            queue_limit,
            mtu,
            impair: Impairer::new(impairments),
            up: true,
            busy_until: Instant::ZERO,
            queue: VecDeque::new(),
            queued_bytes: 0,
            rate_history: rate_bps.map(|r| (Instant::ZERO, r)).into_iter().collect(),
            stats: LinkStats::default(),
            delays: DelayHistogram::default(),
            interval_delay: (0, 0),
        }
    }

    /// Queueing delay of the packets sent so far.
    pub fn queue_delay(&self) -> QueueDelay {
        self.delays.summary()
    }

    /// Mean queueing delay, in milliseconds, of the packets sent since the
    /// last call (`None` if none was), for a time series.
    pub fn take_interval_delay(&mut self) -> Option<f64> {
        let (sum, n) = std::mem::take(&mut self.interval_delay);
        (n > 0).then(|| sum as f64 / n as f64 / 1e3)
    }

    fn record_delay(&mut self, d: Duration) {
        self.delays.record(d);
        self.interval_delay.0 += d.total_micros();
        self.interval_delay.1 += 1;
    }

    /// Counters so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    /// Brings the link down (every offered packet is dropped) or up.
    pub fn set_up(&mut self, up: bool) {
        self.up = up;
    }

    /// Changes the bandwidth from `now` on.
    pub fn set_rate(&mut self, now: Instant, rate_bps: u64) {
        if self.rate_bps.is_some() {
            self.rate_bps = Some(rate_bps.max(1));
            self.rate_history.push((now, rate_bps.max(1)));
        }
    }

    /// Changes the propagation delay.
    pub fn set_delay(&mut self, delay: Duration) {
        self.delay = delay;
    }

    /// Replaces the queue limit (packets already queued stay).
    pub fn set_queue_limit(&mut self, limit: QueueLimit) {
        self.queue_limit = limit;
    }

    /// Replaces the impairments.
    pub fn set_impairments(&mut self, impairments: ImpairmentConfig) {
        self.impair.set_config(impairments);
    }

    /// Counts a packet a targeted fault dropped.
    pub fn count_fault_drop(&mut self) {
        self.stats.offered += 1;
        self.stats.dropped_other += 1;
    }

    /// Bytes the link could have carried between `from` and `to`.
    pub fn capacity_bytes(&self, from: Instant, to: Instant) -> f64 {
        let mut total = 0.0;
        for (i, &(since, rate)) in self.rate_history.iter().enumerate() {
            let until = self.rate_history.get(i + 1).map_or(to, |n| n.0);
            let a = since.max(from);
            let b = until.min(to);
            if b > a {
                total +=
                    rate as f64 / 8.0 * b.saturating_duration_since(a).total_micros() as f64 / 1e6;
            }
        }
        total
    }

    /// The link's first judgement of a packet of `len` bytes offered:
    /// dropped while down, above the MTU or by random loss (counted), or
    /// let on with the corruption and duplication the impairments chose.
    pub fn admit(&mut self, len: usize, rng: &mut Rng) -> Result<Admitted, DropCause> {
        self.stats.offered += 1;
        if !self.up {
            self.stats.dropped_down += 1;
            return Err(DropCause::Down);
        }
        if len > self.mtu {
            self.stats.dropped_other += 1;
            return Err(DropCause::TooBig);
        }
        let verdict = self.impair.judge(len, rng);
        if verdict.lost {
            self.stats.dropped_loss += 1;
            return Err(DropCause::Loss);
        }
        Ok(Admitted {
            corrupt_bit: verdict.corrupt_bit,
            duplicate: verdict.duplicate,
        })
    }

    /// Counts a packet an AQM queue dropped because it was full.
    pub fn count_queue_drop(&mut self) {
        self.stats.dropped_queue += 1;
    }

    /// Counts a packet CoDel's control law dropped.
    pub fn count_aqm_drop(&mut self) {
        self.stats.dropped_aqm += 1;
    }

    /// Counts a packet CoDel marked Congestion Experienced.
    pub fn count_ecn_mark(&mut self) {
        self.stats.ecn_marked += 1;
    }

    /// Counts a copy the impairments made (AQM path).
    pub fn count_duplicate(&mut self) {
        self.stats.duplicated += 1;
    }

    /// Counts a packet that will have a bit flipped (AQM path).
    pub fn count_corrupted(&mut self) {
        self.stats.corrupted += 1;
    }

    /// Notes the bytes an AQM queue holds, for the largest queue seen.
    pub fn note_queue_bytes(&mut self, bytes: u64) {
        self.stats.max_queue_bytes = self.stats.max_queue_bytes.max(bytes);
    }

    /// True while the transmitter is sending.
    pub fn busy(&self, now: Instant) -> bool {
        self.busy_until > now
    }

    /// Starts sending a packet of `len` bytes an AQM queue dequeued at
    /// `now` after `sojourn` in it: when the transmitter is done with it,
    /// and when it arrives at the far end.
    pub fn send_now(
        &mut self,
        now: Instant,
        len: usize,
        sojourn: Duration,
        rng: &mut Rng,
    ) -> (Instant, Instant) {
        let start = self.busy_until.max(now);
        let finish = match self.rate_bps {
            None => start,
            Some(rate) => {
                start + Duration::from_micros((len as u64 * 8 * 1_000_000).div_ceil(rate))
            }
        };
        self.busy_until = finish;
        self.record_delay(sojourn + start.saturating_duration_since(now));
        self.stats.delivered += 1;
        self.stats.delivered_bytes += len as u64;
        let release = self.impair.release(finish + self.delay, rng);
        if release.reordered {
            self.stats.reordered += 1;
        }
        (finish, release.at)
    }

    /// Decides the fate of a packet of `len` bytes offered at `now`.
    pub fn offer(&mut self, now: Instant, len: usize, rng: &mut Rng) -> Fate {
        let verdict = match self.admit(len, rng) {
            Ok(v) => v,
            Err(cause) => return Fate::Drop(cause),
        };
        let Some(at) = self.transmit(now, len, rng) else {
            self.stats.dropped_queue += 1;
            return Fate::Drop(DropCause::QueueFull);
        };
        if verdict.corrupt_bit.is_some() {
            self.stats.corrupted += 1;
        }
        let duplicate_at = if verdict.duplicate {
            // The copy takes its own turn on the wire, right behind.
            let copy = self.transmit(now, len, rng);
            if copy.is_some() {
                self.stats.duplicated += 1;
            }
            copy
        } else {
            None
        };
        Fate::Deliver {
            at,
            corrupt_bit: verdict.corrupt_bit,
            duplicate_at,
        }
    }

    /// Queues a packet for serialisation; its arrival time, or `None`
    /// when the queue is full.
    fn transmit(&mut self, now: Instant, len: usize, rng: &mut Rng) -> Option<Instant> {
        let finish = match self.rate_bps {
            None => now,
            Some(rate) => {
                while let Some(&(done, size)) = self.queue.front() {
                    if done > now {
                        break;
                    }
                    self.queue.pop_front();
                    self.queued_bytes -= u64::from(size);
                }
                let full = match self.queue_limit {
                    QueueLimit::Packets(n) => self.queue.len() >= n.max(1),
                    QueueLimit::Bytes(b) => {
                        // An empty queue takes any packet the MTU allows.
                        !self.queue.is_empty() && self.queued_bytes + len as u64 > b as u64
                    }
                    QueueLimit::Bdp(_) => false,
                };
                if full {
                    return None;
                }
                let serialise = Duration::from_micros((len as u64 * 8 * 1_000_000).div_ceil(rate));
                let start = self.busy_until.max(now);
                self.record_delay(start.saturating_duration_since(now));
                let finish = start + serialise;
                self.busy_until = finish;
                self.queue.push_back((finish, len as u32));
                self.queued_bytes += len as u64;
                self.stats.max_queue_bytes = self.stats.max_queue_bytes.max(self.queued_bytes);
                finish
            }
        };
        self.stats.delivered += 1;
        self.stats.delivered_bytes += len as u64;
        let release = self.impair.release(finish + self.delay, rng);
        if release.reordered {
            self.stats.reordered += 1;
        }
        Some(release.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synack_link::impair::LossModel;

    fn arrival(f: Fate) -> Instant {
        match f {
            Fate::Deliver { at, .. } => at,
            Fate::Drop(c) => panic!("dropped: {c:?}"),
        }
    }

    #[test]
    fn serialisation_queueing_and_drop_tail() {
        // 12 Mbit/s: a 1500-byte packet takes 1 ms.
        let mut l = Link::new(
            Some(12_000_000),
            Duration::from_millis(10),
            QueueLimit::Packets(3),
            1500,
            ImpairmentConfig::NONE,
        );
        let mut rng = Rng::new(1);
        let t0 = Instant::from_secs(1);
        let a: Vec<Instant> = (0..3)
            .map(|_| arrival(l.offer(t0, 1500, &mut rng)))
            .collect();
        assert_eq!(a[0], t0 + Duration::from_millis(11));
        assert_eq!(a[2], t0 + Duration::from_millis(13));
        assert_eq!(
            l.offer(t0, 1500, &mut rng),
            Fate::Drop(DropCause::QueueFull)
        );
        // After the first finished, there is room again.
        let later = t0 + Duration::from_millis(1);
        assert_eq!(
            arrival(l.offer(later, 1500, &mut rng)),
            t0 + Duration::from_millis(14)
        );
        assert_eq!(l.offer(t0, 1501, &mut rng), Fate::Drop(DropCause::TooBig));
        assert!((l.capacity_bytes(t0, t0 + Duration::from_secs(1)) - 1.5e6).abs() < 1.0);
    }

    #[test]
    fn drop_tail_queueing_delay_is_the_wait_for_the_transmitter() {
        // 12 Mbit/s: 1 ms per 1500-byte packet. Three at once wait 0, 1
        // and 2 ms; one offered after the queue drained waits nothing.
        let mut l = Link::new(
            Some(12_000_000),
            Duration::from_millis(10),
            QueueLimit::Packets(10),
            1500,
            ImpairmentConfig::NONE,
        );
        let mut rng = Rng::new(1);
        let t0 = Instant::from_secs(1);
        for _ in 0..3 {
            arrival(l.offer(t0, 1500, &mut rng));
        }
        arrival(l.offer(t0 + Duration::from_millis(10), 1500, &mut rng));
        let d = l.queue_delay();
        assert_eq!(d.packets, 4);
        assert!((d.mean_ms - 0.75).abs() < 1e-9, "{d:?}");
        assert_eq!((d.p99_ms, d.max_ms), (2.0, 2.0));
        assert_eq!(l.take_interval_delay(), Some(0.75));
        assert_eq!(l.take_interval_delay(), None);
    }

    #[test]
    fn an_aqm_link_sends_what_it_is_handed_at_its_rate() {
        let mut l = Link::new(
            Some(12_000_000),
            Duration::from_millis(10),
            QueueLimit::Packets(10),
            1500,
            ImpairmentConfig::NONE,
        );
        let mut rng = Rng::new(1);
        let t0 = Instant::from_secs(1);
        assert_eq!(
            l.admit(1500, &mut rng),
            Ok(Admitted {
                corrupt_bit: None,
                duplicate: false
            })
        );
        assert_eq!(l.admit(1501, &mut rng), Err(DropCause::TooBig));
        let (done, at) = l.send_now(t0, 1500, Duration::from_millis(3), &mut rng);
        assert_eq!(done, t0 + Duration::from_millis(1));
        assert_eq!(at, t0 + Duration::from_millis(11));
        assert!(l.busy(t0) && !l.busy(done));
        assert_eq!(l.queue_delay().mean_ms, 3.0);
        let s = l.stats();
        assert_eq!((s.offered, s.delivered, s.dropped_other), (2, 1, 1));
    }

    #[test]
    fn the_delay_histogram_is_exact_below_a_millisecond_and_close_above() {
        let mut h = DelayHistogram::default();
        assert_eq!(h.summary(), QueueDelay::default());
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        // Rank round(999 × 0.99) = 989: the 990th value.
        assert_eq!(h.quantile_us(0.99), 990);
        assert_eq!(h.quantile_us(0.0), 1);
        for us in [1024u64, 5_000, 123_456, 10_000_000, 3_600_000_000] {
            let i = DelayHistogram::index(us);
            let lo = DelayHistogram::floor(i);
            assert!(lo <= us && us - lo <= us / 512, "{us}: bucket from {lo}");
            assert!(DelayHistogram::floor(i + 1) > us, "{us}");
        }
        let mut h = DelayHistogram::default();
        h.record(Duration::from_millis(200));
        let d = h.summary();
        assert!(
            (d.p99_ms - 200.0).abs() <= 0.4 && d.mean_ms == 200.0,
            "{d:?}"
        );
    }

    #[test]
    fn impairments_act_after_the_propagation_delay_and_are_counted() {
        let mut l = Link::new(
            None,
            Duration::from_millis(5),
            QueueLimit::Packets(1),
            1500,
            ImpairmentConfig {
                reorder: 1.0,
                duplicate: 1.0,
                corrupt: 1.0,
                ..ImpairmentConfig::NONE
            },
        );
        let mut rng = Rng::new(9);
        let t = Instant::from_secs(1);
        // Held back 5 ms after the 5 ms of propagation, and so is the copy.
        let Fate::Deliver {
            at,
            corrupt_bit: Some(bit),
            duplicate_at: Some(copy),
        } = l.offer(t, 100, &mut rng)
        else {
            panic!("not delivered, corrupted and duplicated");
        };
        assert_eq!((at, copy), (t + Duration::from_millis(10), at));
        assert!(bit < 800);
        l.set_impairments(ImpairmentConfig {
            loss: LossModel::Bernoulli(1.0),
            ..ImpairmentConfig::NONE
        });
        assert_eq!(l.offer(t, 100, &mut rng), Fate::Drop(DropCause::Loss));
        l.set_up(false);
        assert_eq!(l.offer(t, 100, &mut rng), Fate::Drop(DropCause::Down));
        let s = l.stats();
        assert_eq!(
            (
                s.offered,
                s.delivered,
                s.duplicated,
                s.reordered,
                s.corrupted
            ),
            (3, 2, 1, 2, 1)
        );
        assert_eq!((s.dropped_loss, s.dropped_down), (1, 1));
    }
}
