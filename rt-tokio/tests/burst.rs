//! A burst of 1,000 simultaneous connects to one listener: every one
//! completes and echoes, none is reset for a full accept queue.

mod common;

use std::time::Duration;

use common::{stack, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_simultaneous_connects_all_complete_and_echo() {
    within(120, async {
        let server = stack();
        let client = stack();
        let addr = server.udp_addr().unwrap();
        let listener = server.bind_addr(addr).unwrap();
        const N: u64 = 1000;
        let echo = tokio::spawn(async move {
            for _ in 0..N {
                let (mut stream, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; 8];
                    stream.read_exact(&mut buf).await.unwrap();
                    stream.write_all(&buf).await.unwrap();
                });
                // An application slower than the burst: the accept
                // queue fills.
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        });
        let clients: Vec<_> = (0..N)
            .map(|id| {
                let client = client.clone();
                tokio::spawn(async move {
                    let mut stream = client.connect(addr).await?;
                    stream.write_all(&id.to_be_bytes()).await?;
                    let mut buf = [0u8; 8];
                    stream.read_exact(&mut buf).await?;
                    assert_eq!(u64::from_be_bytes(buf), id);
                    std::io::Result::Ok(())
                })
            })
            .collect();
        let mut failed = Vec::new();
        for c in clients {
            if let Err(e) = c.await.unwrap() {
                failed.push(e.kind());
            }
        }
        assert!(
            failed.is_empty(),
            "{} of {N} failed: {failed:?}; server {:?}",
            failed.len(),
            server.stats()
        );
        echo.await.unwrap();
    })
    .await;
}
