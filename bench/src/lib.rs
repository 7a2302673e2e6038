//! Baselines for synack's benchmarks.
//!
//! - [`inmem`]: two synack endpoints beside two smoltcp interfaces, each
//!   pair moving one bulk transfer over the same in-memory packet queues
//!   in virtual time, measured in wall time (the `inmem` bench prints the
//!   table).
//! - The `quinn-perf` binary (cargo feature `quinn`): a QUIC server and
//!   client with the modes and JSON of `synack perf`, for
//!   `scripts/bench-compare.py`.

pub mod inmem;
