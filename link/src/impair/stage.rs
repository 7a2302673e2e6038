//! The impairment stage for real links: packets go in with the current
//! time and come out when their release time has passed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use synack_core::Instant;

use super::{Impairer, ImpairmentConfig, Rng};

/// Counts of what the stage did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImpairmentStats {
    /// Packets pushed in.
    pub packets: u64,
    /// Dropped.
    pub dropped: u64,
    /// Delivered a second time.
    pub duplicated: u64,
    /// Held back to be overtaken.
    pub reordered: u64,
    /// Delivered with a bit flipped.
    pub corrupted: u64,
}

/// The stage: an [`Impairer`] with its own [`Rng`], and the packets it
/// holds until their release time.
#[derive(Debug)]
pub struct Impairment {
    decide: Impairer,
    rng: Rng,
    /// Packets waiting for their release time; the counter keeps equal
    /// times in arrival order.
    queue: BinaryHeap<Reverse<(Instant, u64, Vec<u8>)>>,
    counter: u64,
    stats: ImpairmentStats,
}

impl Impairment {
    /// A stage with `config`, its decisions drawn from `seed`.
    pub fn new(config: ImpairmentConfig, seed: u64) -> Impairment {
        Impairment {
            decide: Impairer::new(config),
            rng: Rng::new(seed),
            queue: BinaryHeap::new(),
            counter: 0,
            stats: ImpairmentStats::default(),
        }
    }

    /// What it has done so far.
    pub fn stats(&self) -> ImpairmentStats {
        self.stats
    }

    /// True when it changes nothing (see [`ImpairmentConfig::is_none`]).
    pub fn is_transparent(&self) -> bool {
        self.decide.config().is_none()
    }

    /// Takes a packet sent at `now`.
    pub fn push(&mut self, now: Instant, packet: &[u8]) {
        self.push_with_header(now, &[], packet);
    }

    /// Takes a packet sent at `now` behind a header of the caller's own
    /// (addresses, framing) that comes out with it but is never corrupted.
    pub fn push_with_header(&mut self, now: Instant, header: &[u8], packet: &[u8]) {
        self.stats.packets += 1;
        let verdict = self.decide.judge(packet.len(), &mut self.rng);
        if verdict.lost {
            self.stats.dropped += 1;
            return;
        }
        let mut bytes = Vec::with_capacity(header.len() + packet.len());
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(packet);
        if let Some(bit) = verdict.corrupt_bit {
            self.stats.corrupted += 1;
            bytes[header.len() + bit / 8] ^= 1 << (bit % 8);
        }
        if verdict.duplicate {
            self.stats.duplicated += 1;
            self.hold(now, bytes.clone());
        }
        self.hold(now, bytes);
    }

    fn hold(&mut self, now: Instant, bytes: Vec<u8>) {
        let release = self.decide.release(now, &mut self.rng);
        if release.reordered {
            self.stats.reordered += 1;
        }
        self.counter += 1;
        self.queue.push(Reverse((release.at, self.counter, bytes)));
    }

    /// The next packet whose release time has come.
    pub fn pop_due(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self
            .queue
            .peek()
            .is_some_and(|Reverse((at, _, _))| *at <= now)
        {
            self.queue.pop().map(|Reverse((_, _, p))| p)
        } else {
            None
        }
    }

    /// When the next packet is due, if any waits.
    pub fn next_release(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Packets waiting.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impair::LossModel;
    use synack_core::Duration;

    #[test]
    fn transparent_stage_passes_everything_in_order() {
        let mut s = Impairment::new(ImpairmentConfig::default(), 1);
        assert!(s.is_transparent());
        let t = Instant::from_secs(1);
        for i in 0..10u8 {
            s.push(t, &[i]);
        }
        let out: Vec<u8> = std::iter::from_fn(|| s.pop_due(t)).map(|p| p[0]).collect();
        assert_eq!(out, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn loss_and_duplication_rates_are_near_the_configuration() {
        let config = ImpairmentConfig {
            loss: LossModel::Bernoulli(0.1),
            duplicate: 0.05,
            ..ImpairmentConfig::default()
        };
        let mut s = Impairment::new(config, 42);
        let t = Instant::from_secs(1);
        for _ in 0..20_000 {
            s.push(t, b"x");
        }
        let st = s.stats();
        assert!((1_700..2_300).contains(&st.dropped), "{st:?}");
        assert!((700..1_100).contains(&st.duplicated), "{st:?}");
        assert_eq!(s.pending() as u64, 20_000 - st.dropped + st.duplicated);
    }

    #[test]
    fn delay_and_reordering_follow_virtual_time() {
        let config = ImpairmentConfig {
            delay: Duration::from_millis(10),
            reorder: 1.0,
            reorder_delay: Duration::from_millis(5),
            ..ImpairmentConfig::default()
        };
        let mut s = Impairment::new(config, 7);
        let t = Instant::from_secs(1);
        s.push(t, b"a");
        assert_eq!(s.pop_due(t + Duration::from_millis(14)), None);
        assert_eq!(s.next_release(), Some(t + Duration::from_millis(15)));
        assert_eq!(
            s.pop_due(t + Duration::from_millis(15)),
            Some(b"a".to_vec())
        );
    }

    #[test]
    fn the_same_seed_makes_the_same_decisions() {
        let config = ImpairmentConfig {
            loss: LossModel::Bernoulli(0.3),
            jitter: Duration::from_millis(3),
            ..ImpairmentConfig::default()
        };
        let run = |seed| {
            let mut s = Impairment::new(config, seed);
            let t = Instant::from_secs(1);
            for i in 0..1000u32 {
                s.push(t, &i.to_be_bytes());
            }
            let end = t + Duration::from_secs(1);
            std::iter::from_fn(|| s.pop_due(end)).collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    #[test]
    fn corruption_spares_the_header_and_jitter_keeps_order() {
        let config = ImpairmentConfig {
            corrupt: 1.0,
            jitter: Duration::from_millis(3),
            ..ImpairmentConfig::default()
        };
        let mut s = Impairment::new(config, 11);
        let t = Instant::from_secs(1);
        for i in 0..100u8 {
            s.push_with_header(t + Duration::from_micros(u64::from(i)), &[i], &[0; 4]);
        }
        let out: Vec<Vec<u8>> =
            std::iter::from_fn(|| s.pop_due(t + Duration::from_secs(1))).collect();
        assert_eq!(out.len(), 100);
        for (i, p) in out.iter().enumerate() {
            assert_eq!(usize::from(p[0]), i, "the header is intact and in order");
            assert_eq!(p[1..].iter().map(|b| b.count_ones()).sum::<u32>(), 1);
        }
        assert_eq!(s.stats().corrupted, 100);
    }
}
