//! 100 concurrent echo connections over UDP loopback, each checked byte
//! for byte.

mod common;

use common::{pattern, stack, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_echo_connections_are_byte_exact() {
    within(60, async {
        let server = stack();
        let client = stack();
        let addr = server.udp_addr().unwrap();
        let listener = server.bind_addr(addr).unwrap();
        let echo = tokio::spawn(async move {
            let mut tasks = Vec::new();
            for _ in 0..100 {
                let (stream, peer) = listener.accept().await.unwrap();
                assert_eq!(stream.peer_addr().unwrap(), peer);
                tasks.push(tokio::spawn(async move {
                    let (mut r, mut w) = stream.into_split();
                    let n = tokio::io::copy(&mut r, &mut w).await.unwrap();
                    w.shutdown().await.unwrap();
                    n
                }));
            }
            let mut total = 0;
            for t in tasks {
                total += t.await.unwrap();
            }
            total
        });
        let mut clients = Vec::new();
        for id in 0..100u64 {
            let client = client.clone();
            clients.push(tokio::spawn(async move {
                // Sizes from 1 byte to ~200 KB: one segment to many windows.
                let len = 1 + (id as usize * 2_017) % 200_000;
                let data = pattern(id, len);
                let stream = client.connect(addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let (mut r, mut w) = stream.into_split();
                let sent = data.clone();
                let writer = tokio::spawn(async move {
                    w.write_all(&sent).await.unwrap();
                    w.shutdown().await.unwrap();
                });
                let mut back = Vec::new();
                r.read_to_end(&mut back).await.unwrap();
                writer.await.unwrap();
                assert!(
                    back == data,
                    "connection {id}: echo differs ({} of {len} bytes)",
                    back.len()
                );
                len as u64
            }));
        }
        let mut expected = 0;
        for c in clients {
            expected += c.await.unwrap();
        }
        assert_eq!(echo.await.unwrap(), expected);
        // Nothing arrived damaged. (Other drops are TCP at work: e.g. a
        // FIN resent by a tail-loss probe, answered from TIME-WAIT.)
        for s in [&client, &server] {
            let stats = s.stats();
            assert_eq!(stats.drops.malformed, 0, "{stats:?}");
        }
    })
    .await;
}
