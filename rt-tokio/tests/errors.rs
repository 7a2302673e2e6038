//! tokio-only error behaviour: after a reset, `shutdown` is `Ok` (as
//! tokio's) and leaves the one report to the next write. (Refused, reset,
//! user timeout and address in use are cases of the adapter suite.)

mod common;

use std::io::ErrorKind;

use synack_core::conn::State;

use common::{stack, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_reset_is_reported_once_to_the_first_write_that_sees_it() {
    within(10, async {
        let server = stack();
        let client = stack();
        let addr = server.udp_addr().unwrap();
        let listener = server.bind_addr(addr).unwrap();
        let mut stream = client.connect(addr).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        accepted.abort();
        // Until the reset has arrived and ended the connection: then the
        // stream is readable (a read would say how it ended).
        stream.readable().await.unwrap();
        assert_eq!(stream.stats().unwrap().state, State::Closed);
        // Shutting down finds nothing to shut, and leaves the report to
        // the write; as tokio's `shutdown`, that is `Ok` (the kernel's
        // ENOTCONN, which tokio turns into `Ok`).
        stream.shutdown().await.unwrap();
        let err = stream.write(b"more").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
        let err = stream.write(b"more").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
        let mut buf = [0u8; 16];
        assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
        let err = stream.write(b"more").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
    })
    .await;
}
