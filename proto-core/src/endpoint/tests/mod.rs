//! Endpoint tests: two endpoints over an in-memory wire in virtual time
//! (the shared `EndpointPair`, `crate::harness`), plus single endpoints
//! fed crafted segments.
//!
//! Under Miri (`scripts/miri.sh`), which interprets every byte of every
//! checksum, copy and hash a thousand and more times slower, the long
//! transfers and loops are scaled down with `cfg!(miri)`: the same code
//! paths, kilobytes instead of megabytes. Natively they run in full.

mod harness;

mod cookies;
mod ecn;
mod lifecycle;
mod limits;
mod options;
mod scale;
mod transfer;
