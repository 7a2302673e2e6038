//! Helpers shared by the integration tests: stacks on loopback UDP with
//! their drivers on smol's executor, and a time limit on every test.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_lite::future;
use synack_smol::{Stack, StackConfig};

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A stack on a fresh loopback UDP socket, its driver on smol's executor.
pub fn stack() -> Stack {
    stack_with(StackConfig::default())
}

/// Like [`stack`], with `config`.
pub fn stack_with(config: StackConfig) -> Stack {
    let (stack, driver) = Stack::udp_with(loopback(), config).expect("bind loopback UDP");
    smol::spawn(driver).detach();
    stack
}

/// Runs `f` to completion within `secs` seconds, or fails the test.
pub async fn within<T>(secs: u64, f: impl Future<Output = T>) -> T {
    future::or(f, async {
        async_io::Timer::after(Duration::from_secs(secs)).await;
        panic!("test did not finish within {secs} s")
    })
    .await
}
