//! tokio-only error behaviour: after a reset, `shutdown` finds nothing
//! to shut and leaves the one report to the next write. (Refused, reset,
//! user timeout and address in use are cases of the adapter suite.)

mod common;

use std::io::ErrorKind;
use std::time::Duration;

use synack_core::conn::State;

use common::{stack, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_reset_is_reported_once_to_the_first_write_that_sees_it() {
    within(10, async {
        let server = stack();
        let client = stack();
        let addr = server.udp_addr().unwrap();
        let listener = server.bind(addr).unwrap();
        let mut stream = client.connect(addr).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        accepted.abort();
        // Until the reset has arrived and ended the connection.
        while stream.stats().unwrap().state != State::Closed {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Shutting down finds nothing to shut, and leaves the report to
        // the write.
        let err = stream.shutdown().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotConnected, "{err}");
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
