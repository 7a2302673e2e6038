//! # synack-mio
//!
//! The mio driver: `Source`s and a poll-driven driver for hand-written event loops over synack's core.
//!
//! **Status: not built yet.** This crate exists so the workspace has the
//! layout described in `ARCHITECTURE.md`; it has no functionality yet.
