//! # synack-tokio
//!
//! The tokio driver: `TcpListener`/`TcpStream` over synack's core with tokio's `AsyncRead`/`AsyncWrite`, on UDP, TUN or custom links.
//!
//! **Status: not built yet.** This crate exists so the workspace has the
//! layout described in `ARCHITECTURE.md`; it has no functionality today.
//! Its work is tracked by the runtime-adapter issue, which comes after the
//! connection engine and loss recovery in `synack-core`.
