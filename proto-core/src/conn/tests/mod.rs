//! Connection tests, by topic, over the harness in `harness.rs`.

mod harness;

mod close;
mod data;
mod handshake;
mod liveness;
mod recovery;
mod security;
mod window;
