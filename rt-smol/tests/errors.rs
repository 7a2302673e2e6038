//! smol-only error behaviour: a clone of a stream shares its socket, and
//! so the one report of a reset.

mod common;

use std::io::ErrorKind;
use std::time::Duration;

use synack_core::conn::State;

use common::{stack, within};
use futures_lite::{AsyncReadExt, AsyncWriteExt};

#[test]
fn a_reset_is_reported_once_to_the_first_write_that_sees_it() {
    smol::block_on(within(10, async {
        let server = stack();
        let client = stack();
        let addr = server.udp_addr().unwrap();
        let listener = server.bind_addr(addr).unwrap();
        let mut c = client.connect(addr).await.unwrap();
        let (s, _) = listener.accept().await.unwrap();
        s.abort();
        while c.stats().unwrap().state != State::Closed {
            async_io::Timer::after(Duration::from_millis(5)).await;
        }
        // A clone shares the socket, and so the one report.
        let mut other = c.clone();
        let err = other.write(b"more").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
        let err = c.write(b"more").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
        let mut buf = [0u8; 16];
        assert_eq!(c.read(&mut buf).await.unwrap(), 0);
    }));
}
