//! Helpers shared by the integration tests: stacks on loopback UDP, and a
//! time limit on every test.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use synack_tokio::{Stack, StackConfig};

/// A stack on a fresh loopback UDP socket.
pub fn stack() -> Stack {
    stack_with(StackConfig::default())
}

/// A stack on a fresh loopback UDP socket, with `config`.
pub fn stack_with(config: StackConfig) -> Stack {
    Stack::udp_with(loopback(), config).expect("bind loopback UDP")
}

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Runs `f` to completion within `secs` seconds, or fails the test.
pub async fn within<T>(secs: u64, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .unwrap_or_else(|_| panic!("test did not finish within {secs} s"))
}
