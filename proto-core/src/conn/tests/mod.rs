//! Connection tests, by topic, on the shared `Pair` harness
//! (`crate::harness`), with the helpers in `harness.rs`.
//!
//! Under Miri (`scripts/miri.sh`), which interprets every byte of every
//! checksum, copy and hash a thousand and more times slower, the long
//! transfers and loops are scaled down with `cfg!(miri)`: the same code
//! paths, kilobytes instead of megabytes. Natively they run in full.

mod harness;

mod close;
mod data;
mod ecn;
mod handshake;
mod liveness;
mod recovery;
mod rtt;
mod security;
mod window;
