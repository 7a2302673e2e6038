//! A seeded impairment stage for any link: drop, delay, jitter,
//! duplicate and reorder packets, so demos and tests can show recovery on a
//! machine whose loopback never loses anything.
//!
//! It is a small machine like the protocol core: packets go in with the
//! current time, come out when their release time has passed, and the
//! same seed makes the same decisions.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use synack_core::{Duration, Instant};

/// What to do to packets. Probabilities are in [0, 1].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ImpairmentConfig {
    /// Chance that a packet is dropped.
    pub loss: f64,
    /// Chance that a packet is delivered twice.
    pub duplicate: f64,
    /// Chance that a packet is held back by `reorder_delay`, letting later
    /// ones overtake it.
    pub reorder: f64,
    /// How long a reordered packet is held back.
    pub reorder_delay: Duration,
    /// Added to every packet.
    pub delay: Duration,
    /// Up to this much more, uniformly, per packet (packets may reorder).
    pub jitter: Duration,
}

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
}

/// The stage.
#[derive(Debug)]
pub struct Impairment {
    config: ImpairmentConfig,
    rng: u64,
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
            config,
            // xorshift must not start at zero.
            rng: seed ^ 0x9e37_79b9_7f4a_7c15,
            queue: BinaryHeap::new(),
            counter: 0,
            stats: ImpairmentStats::default(),
        }
    }

    /// What it has done so far.
    pub fn stats(&self) -> ImpairmentStats {
        self.stats
    }

    /// True when it changes nothing (no loss, delay or reordering).
    pub fn is_transparent(&self) -> bool {
        self.config == ImpairmentConfig::default()
    }

    /// A uniform number in [0, 1) (xorshift64*).
    fn uniform(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.uniform() < p
    }

    /// Takes a packet sent at `now`.
    pub fn push(&mut self, now: Instant, packet: &[u8]) {
        self.stats.packets += 1;
        if self.chance(self.config.loss) {
            self.stats.dropped += 1;
            return;
        }
        let copies = if self.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut at = now + self.config.delay;
            if self.config.jitter > Duration::ZERO {
                let extra = (self.uniform() * self.config.jitter.total_micros() as f64) as u64;
                at += Duration::from_micros(extra);
            }
            if self.chance(self.config.reorder) {
                self.stats.reordered += 1;
                at += self.config.reorder_delay;
            }
            self.counter += 1;
            self.queue
                .push(Reverse((at, self.counter, packet.to_vec())));
        }
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
            loss: 0.1,
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
            loss: 0.3,
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
}
