//! Half-close in both directions, graceful close, and what dropping a
//! stream does: a FIN when everything was read, a reset when data was
//! left unread (as a kernel socket).

mod common;

use std::io::ErrorKind;

use common::{pattern, stack, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Two connected streams: (client side, server side).
async fn pair() -> (
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

#[tokio::test]
async fn client_half_closes_and_still_reads_the_reply() {
    within(20, async {
        let (mut c, mut s, _a, _b) = pair().await;
        let request = pattern(1, 100_000);
        c.write_all(&request).await.unwrap();
        c.shutdown().await.unwrap();
        // The server sees the whole request, then end of stream.
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert!(got == request);
        // Its sending side is still open: the reply flows back.
        let reply = pattern(2, 300_000);
        s.write_all(&reply).await.unwrap();
        s.shutdown().await.unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back).await.unwrap();
        assert!(back == reply);
        // Writing after shutdown is a broken pipe.
        let err = c.write_all(b"x").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    })
    .await;
}

#[tokio::test]
async fn server_half_closes_and_still_reads_the_upload() {
    within(20, async {
        let (mut c, mut s, _a, _b) = pair().await;
        // The server says all it has to say and shuts its side first.
        s.write_all(b"greeting").await.unwrap();
        s.shutdown().await.unwrap();
        let mut greeting = Vec::new();
        c.read_to_end(&mut greeting).await.unwrap();
        assert_eq!(greeting, b"greeting");
        // The client keeps sending after seeing the server's FIN.
        // (More than the buffers hold: the server reads as it arrives.)
        let upload = pattern(3, 2_000_000);
        let mut got = Vec::new();
        let send = async {
            c.write_all(&upload).await?;
            c.shutdown().await
        };
        tokio::try_join!(send, s.read_to_end(&mut got)).unwrap();
        assert!(got == upload);
        // Both sides closed: graceful close completes on both.
        tokio::try_join!(c.close(), s.close()).unwrap();
    })
    .await;
}

#[tokio::test]
async fn dropping_a_stream_with_everything_read_sends_a_fin() {
    within(20, async {
        let (mut c, mut s, _a, _b) = pair().await;
        c.write_all(b"bye").await.unwrap();
        let mut buf = [0u8; 3];
        s.read_exact(&mut buf).await.unwrap();
        drop(s);
        // The client reads end of stream, not an error.
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    })
    .await;
}

#[tokio::test]
async fn dropping_a_stream_with_unread_data_resets_the_peer() {
    within(20, async {
        let (mut c, s, _a, _b) = pair().await;
        c.write_all(b"never read").await.unwrap();
        // Wait until the data has arrived at the server, unread: peek
        // waits for it and leaves it there.
        let mut peeked = [0u8; 10];
        while s.peek(&mut peeked).await.unwrap() < 10 {
            tokio::task::yield_now().await;
        }
        drop(s);
        let mut buf = [0u8; 8];
        let err = c.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    })
    .await;
}

#[tokio::test]
async fn dropping_the_write_half_sends_a_fin_and_the_read_half_reads_on() {
    within(20, async {
        let (c, mut s, _a, _b) = pair().await;
        let (mut r, w) = c.into_split();
        drop(w);
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert!(got.is_empty());
        s.write_all(b"still here").await.unwrap();
        drop(s);
        let mut back = Vec::new();
        r.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"still here");
    })
    .await;
}

#[tokio::test]
async fn dropping_the_last_handle_still_delivers_what_was_written() {
    within(20, async {
        let (mut c, s, client, _b) = pair().await;
        let data = pattern(4, 300 * 1024);
        // Taken by the send buffer, most of it not yet sent, when the
        // stream and the client's stack (its last handles) are dropped.
        let mut s = s;
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            got
        });
        c.write_all(&data).await.unwrap();
        drop(c);
        drop(client);
        let got = reader.await.unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got == data);
    })
    .await;
}
