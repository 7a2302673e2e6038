//! Seeded network impairments: loss (independent or in bursts),
//! duplication, reordering, delay and jitter, and bit flips, so demos and
//! tests can show recovery on a machine whose loopback never loses
//! anything, and the simulator can build any path.
//!
//! Three pieces, one of each:
//! - [`Rng`]: the pseudo-random generator (xoshiro256**), a pure function
//!   of its seed;
//! - [`Impairer`]: the decisions for one direction of a path, given an
//!   [`ImpairmentConfig`]: is this packet lost, corrupted, duplicated, and
//!   when does it arrive. It holds no packets and no clock, so a real link
//!   and the simulator's link (which adds bandwidth and a queue) share it;
//! - [`Impairment`]: a stage for real links that holds packets until their
//!   release time, built on the two above.
//!
//! Like the protocol core, they are small machines: the current time goes
//! in with each call, and the same seed makes the same decisions.

mod decide;
mod rng;
mod stage;

pub use decide::{Impairer, ImpairmentConfig, LossModel, Release, Verdict};
pub use rng::Rng;
pub use stage::{Impairment, ImpairmentStats};
