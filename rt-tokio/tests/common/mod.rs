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

/// Two connected streams (client side, server side) on stacks of their
/// own, and the stacks.
pub async fn pair() -> (
    synack_tokio::TcpStream,
    synack_tokio::TcpStream,
    synack_tokio::Stack,
    synack_tokio::Stack,
) {
    let server = stack();
    let client = stack();
    let addr = server.udp_addr().unwrap();
    let listener = server.bind_addr(addr).unwrap();
    let c = client.connect(addr).await.unwrap();
    let (s, _) = listener.accept().await.unwrap();
    (c, s, client, server)
}
