//! Several tasks waiting in `accept()` on one shared listener are all
//! served, as with `tokio::net::TcpListener`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{stack, within};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_task_waiting_in_accept_gets_a_connection() {
    within(20, async {
        let server = stack();
        let client = stack();
        let addr = server.udp_addr().unwrap();
        let listener = Arc::new(server.bind_addr(addr).unwrap());
        let acceptors: Vec<_> = (0..3)
            .map(|_| {
                let listener = listener.clone();
                tokio::spawn(async move { listener.accept().await.unwrap().1 })
            })
            .collect();
        // All three are waiting before any connection arrives (a listener
        // that kept one waker would serve only the last of them).
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut streams = Vec::new();
        for _ in 0..3 {
            streams.push(client.connect(addr).await.unwrap());
        }
        let mut peers = Vec::new();
        for a in acceptors {
            peers.push(a.await.unwrap());
        }
        peers.sort();
        let mut expected: Vec<_> = streams.iter().map(|s| s.local_addr().unwrap()).collect();
        expected.sort();
        assert_eq!(peers, expected);
    })
    .await;
}
