//! Back-pressure end to end: a writer whose reader does not read fills the
//! send buffer and the peer's window, then waits; it goes on when the
//! reader reads.

mod common;

use std::io::ErrorKind;
use std::time::Duration;

use common::{pattern, stack, within};
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn a_writer_waits_for_a_reader_that_does_not_read() {
    within(30, async {
        let server = stack();
        let client = stack();
        let addr = server.udp_addr().unwrap();
        let listener = server.bind_addr(addr).unwrap();
        let c = client.connect(addr).await.unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        let data = pattern(5, 4 << 20);
        // Write without waiting until the stream stays unwritable: the
        // send buffer is full and acknowledgments no longer free room.
        let mut written = 0;
        loop {
            match c.try_write(&data[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    let wait = tokio::time::timeout(Duration::from_millis(200), c.writable());
                    if wait.await.is_err() {
                        break;
                    }
                }
                Err(e) => panic!("{e}"),
            }
        }
        // Bounded by our send buffer plus the receiver's window (its
        // initial buffer: it grows only as the application reads).
        let config = synack_tokio::StackConfig::default().endpoint.conn;
        let bound = config.send_buffer + config.recv_buffer;
        assert!(
            written > 0 && written <= bound,
            "{written} bytes taken, bound {bound}"
        );
        // The reader reads: everything flows, in order.
        let (_, mut w) = c.into_split();
        let rest = data[written..].to_vec();
        let writer = tokio::spawn(async move {
            tokio::io::AsyncWriteExt::write_all(&mut w, &rest)
                .await
                .unwrap();
            tokio::io::AsyncWriteExt::shutdown(&mut w).await.unwrap();
        });
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert!(got == data);
    })
    .await;
}
