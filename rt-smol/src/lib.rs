//! # synack-smol
//!
//! The smol/async-io driver: streams over synack's core implementing the `futures-io` `AsyncRead`/`AsyncWrite` traits.
//!
//! **Status: not built yet.** This crate exists so the workspace has the
//! layout described in `ARCHITECTURE.md`; it has no functionality today.
//! Its work is tracked by the runtime-adapter issue, which comes after the
//! connection engine and loss recovery in `synack-core`.
