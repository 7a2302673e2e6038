//! What happens to each packet on an impaired path: the configuration and
//! the machine that draws the decisions.

use synack_core::{Duration, Instant};

use super::Rng;

/// How a path loses packets at random.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum LossModel {
    /// No random loss.
    #[default]
    None,
    /// Each packet is lost independently with this probability.
    Bernoulli(f64),
    /// Gilbert–Elliott: a good state that loses nothing and a bad state
    /// that loses everything; `p` is the chance per packet of going from
    /// good to bad, `r` from bad to good. The mean loss rate is p/(p+r) and
    /// the mean burst length 1/r.
    GilbertElliott {
        /// Good → bad transition probability per packet.
        p: f64,
        /// Bad → good transition probability per packet.
        r: f64,
    },
}

impl LossModel {
    /// The long-run fraction of packets lost.
    pub fn mean_loss(&self) -> f64 {
        match *self {
            LossModel::None => 0.0,
            LossModel::Bernoulli(p) => p,
            LossModel::GilbertElliott { p, r } if p + r > 0.0 => p / (p + r),
            LossModel::GilbertElliott { .. } => 0.0,
        }
    }
}

/// What to do to the packets of one direction of a path. Probabilities are
/// in `[0, 1]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImpairmentConfig {
    /// Random loss.
    pub loss: LossModel,
    /// Chance that a packet is delivered twice.
    pub duplicate: f64,
    /// Chance that a packet is held back by `reorder_delay`, letting later
    /// ones overtake it.
    pub reorder: f64,
    /// How long a reordered packet is held back.
    pub reorder_delay: Duration,
    /// Chance that one bit of a packet is flipped (a checksum must catch
    /// it).
    pub corrupt: f64,
    /// Added to every packet.
    pub delay: Duration,
    /// Up to this much more, uniformly, per packet, without reordering: a
    /// packet never overtakes one sent before it, as on a real path (use
    /// `reorder` for that).
    pub jitter: Duration,
}

impl ImpairmentConfig {
    /// A clean path.
    pub const NONE: ImpairmentConfig = ImpairmentConfig {
        loss: LossModel::None,
        duplicate: 0.0,
        reorder: 0.0,
        reorder_delay: Duration::from_millis(5),
        corrupt: 0.0,
        delay: Duration::ZERO,
        jitter: Duration::ZERO,
    };

    /// True when it changes nothing: no loss, duplication, reordering,
    /// corruption, delay or jitter.
    pub fn is_none(&self) -> bool {
        self.loss.mean_loss() == 0.0
            && self.duplicate == 0.0
            && (self.reorder == 0.0 || self.reorder_delay == Duration::ZERO)
            && self.corrupt == 0.0
            && self.delay == Duration::ZERO
            && self.jitter == Duration::ZERO
    }

    /// The first probability outside `[0, 1]` (NaN included), named.
    pub fn bad_probability(&self) -> Option<(&'static str, f64)> {
        let (p, r) = match self.loss {
            LossModel::None => (0.0, 0.0),
            LossModel::Bernoulli(p) => (p, 0.0),
            LossModel::GilbertElliott { p, r } => (p, r),
        };
        [
            ("loss", p),
            ("burst recovery", r),
            ("duplication", self.duplicate),
            ("reordering", self.reorder),
            ("corruption", self.corrupt),
        ]
        .into_iter()
        .find(|(_, v)| !(0.0..=1.0).contains(v))
    }
}

impl Default for ImpairmentConfig {
    fn default() -> ImpairmentConfig {
        ImpairmentConfig::NONE
    }
}

/// What the impairments decided for one packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Lost: nothing else applies.
    pub lost: bool,
    /// A bit (index within the packet) to flip on the way.
    pub corrupt_bit: Option<usize>,
    /// A second copy goes too (ask [`Impairer::release`] for each copy).
    pub duplicate: bool,
}

/// When a packet (or a copy) arrives at the far end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Release {
    /// Its arrival time.
    pub at: Instant,
    /// It was held back by the reordering delay.
    pub reordered: bool,
}

/// The decisions for one direction of a path: the loss model's state and
/// the order that jitter keeps. The generator is the caller's, so a
/// simulation can draw every decision of a run from one seed.
#[derive(Clone, Debug)]
pub struct Impairer {
    config: ImpairmentConfig,
    /// Gilbert–Elliott: true while in the bad (losing) state.
    bad: bool,
    /// The latest arrival scheduled in order, so jitter never reorders.
    last_release: Instant,
}

impl Impairer {
    /// Decisions by `config`, starting in the good state.
    pub fn new(config: ImpairmentConfig) -> Impairer {
        Impairer {
            config,
            bad: false,
            last_release: Instant::ZERO,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ImpairmentConfig {
        &self.config
    }

    /// Replaces the configuration; the loss model starts over in the good
    /// state, and packets already scheduled keep their order.
    pub fn set_config(&mut self, config: ImpairmentConfig) {
        self.config = config;
        self.bad = false;
    }

    /// Whether a packet of `len` bytes is lost, corrupted or duplicated.
    /// A zero probability draws nothing, so adding an impairment that never
    /// happens does not shift the rest of a run.
    pub fn judge(&mut self, len: usize, rng: &mut Rng) -> Verdict {
        if self.lose(rng) {
            return Verdict {
                lost: true,
                ..Verdict::default()
            };
        }
        let corrupt_bit = (len > 0 && rng.chance(self.config.corrupt))
            .then(|| rng.below(len as u64 * 8) as usize);
        Verdict {
            lost: false,
            corrupt_bit,
            duplicate: rng.chance(self.config.duplicate),
        }
    }

    /// Random loss of the configured model.
    fn lose(&mut self, rng: &mut Rng) -> bool {
        match self.config.loss {
            LossModel::None => false,
            LossModel::Bernoulli(p) => rng.chance(p),
            LossModel::GilbertElliott { p, r } => {
                // Transition first, then the state decides this packet.
                self.bad = if self.bad {
                    !rng.chance(r)
                } else {
                    rng.chance(p)
                };
                self.bad
            }
        }
    }

    /// The arrival of a packet that is ready to leave at `ready` (sent, or
    /// serialised onto the wire): the delay and jitter added, never ahead
    /// of an earlier packet, then the reordering delay if it is held back.
    pub fn release(&mut self, ready: Instant, rng: &mut Rng) -> Release {
        let jitter = self.config.jitter.total_micros();
        let extra = if jitter > 0 { rng.below(jitter + 1) } else { 0 };
        let at = (ready + self.config.delay + Duration::from_micros(extra)).max(self.last_release);
        self.last_release = at;
        // Held back after the order is recorded, so later packets overtake
        // it instead of queueing behind it.
        let reordered = rng.chance(self.config.reorder);
        Release {
            at: if reordered {
                at + self.config.reorder_delay
            } else {
                at
            },
            reordered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gilbert_elliott_loses_its_mean_rate_in_bursts() {
        let model = LossModel::GilbertElliott { p: 0.01, r: 0.25 };
        let mut d = Impairer::new(ImpairmentConfig {
            loss: model,
            ..ImpairmentConfig::NONE
        });
        let mut rng = Rng::new(9);
        let lost: Vec<bool> = (0..100_000).map(|_| d.judge(100, &mut rng).lost).collect();
        let n = lost.iter().filter(|l| **l).count();
        // p/(p+r) = 3.8 %.
        assert!((3_000..4_700).contains(&n), "{n}");
        assert!((model.mean_loss() - 0.0385).abs() < 1e-3);
        // Runs average 1/r = 4 packets.
        let bursts = lost.windows(2).filter(|w| !w[0] && w[1]).count();
        let mean_burst = n as f64 / bursts as f64;
        assert!((3.0..5.0).contains(&mean_burst), "{mean_burst}");
    }

    #[test]
    fn jitter_never_reorders_but_reordering_does() {
        let mut d = Impairer::new(ImpairmentConfig {
            delay: Duration::from_millis(5),
            jitter: Duration::from_millis(3),
            ..ImpairmentConfig::NONE
        });
        let mut rng = Rng::new(3);
        let mut last = Instant::ZERO;
        for i in 0..1000 {
            let r = d.release(Instant::from_micros(i * 100), &mut rng);
            assert!(r.at >= last && !r.reordered);
            last = r.at;
        }
        d.set_config(ImpairmentConfig {
            reorder: 1.0,
            ..ImpairmentConfig::NONE
        });
        let r = d.release(last, &mut rng);
        assert_eq!((r.at, r.reordered), (last + Duration::from_millis(5), true));
        // The next one overtakes it instead of queueing behind it.
        d.set_config(ImpairmentConfig::NONE);
        assert_eq!(d.release(last, &mut rng).at, last);
    }

    #[test]
    fn corruption_picks_a_bit_inside_the_packet_and_nothing_is_drawn_for_zero() {
        let mut d = Impairer::new(ImpairmentConfig {
            corrupt: 1.0,
            ..ImpairmentConfig::NONE
        });
        let mut rng = Rng::new(1);
        for _ in 0..1000 {
            let bit = d.judge(3, &mut rng).corrupt_bit.expect("always");
            assert!(bit < 24);
        }
        let mut clean = Impairer::new(ImpairmentConfig::NONE);
        let before = rng.clone().next_u64();
        let v = clean.judge(100, &mut rng);
        assert_eq!(v, Verdict::default());
        clean.release(Instant::ZERO, &mut rng);
        assert_eq!(rng.next_u64(), before);
    }

    #[test]
    fn bad_probabilities_are_named() {
        assert_eq!(ImpairmentConfig::NONE.bad_probability(), None);
        assert!(ImpairmentConfig::NONE.is_none());
        let c = ImpairmentConfig {
            loss: LossModel::GilbertElliott { p: 0.1, r: 1.5 },
            ..ImpairmentConfig::NONE
        };
        assert_eq!(c.bad_probability(), Some(("burst recovery", 1.5)));
        assert!(!c.is_none());
        let c = ImpairmentConfig {
            corrupt: f64::NAN,
            ..ImpairmentConfig::NONE
        };
        assert_eq!(c.bad_probability().map(|b| b.0), Some("corruption"));
    }
}
