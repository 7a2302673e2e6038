//! tokio-only close behaviour: dropping the write half of `into_split`
//! sends a FIN while the read half reads on. (Half-close, drops and
//! delivery after the last handle is gone are cases of the adapter suite.)

mod common;

use common::{stack, within};
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
