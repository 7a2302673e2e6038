//! # synack-sim
//!
//! synack's deterministic network simulator: endpoints of `synack-core`
//! joined by simulated links (bandwidth, delay, jitter, queues, loss,
//! duplication, reordering, corruption) in virtual time, seeded and
//! reproducible, writing pcap traces and metrics. The scenario catalogue,
//! the property tests over random networks and the Linux interop tests live
//! beside it.
//!
//! **Status: not built yet.** The simulator needs the connection engine,
//! which comes first; this crate holds only this description until then.
