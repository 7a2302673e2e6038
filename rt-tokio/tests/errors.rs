//! How connections fail, and how each failure reads as an
//! `std::io::ErrorKind`: refused, reset by peer, a user timeout on a
//! silent peer, address in use.

mod common;

use std::io::ErrorKind;
use std::time::Duration;

use synack_core::conn::State;

use common::{stack, within};
use synack_core::Duration as CoreDuration;
use synack_tokio::link::Udp;
use synack_tokio::{Stack, StackConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn connecting_where_nobody_listens_is_refused() {
    within(10, async {
        let server = stack();
        let client = stack();
        // The server stack is there but has no listener: it answers the
        // SYN with a reset.
        let err = client
            .connect(server.udp_addr().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    })
    .await;
}

#[tokio::test]
async fn a_peer_abort_reads_as_reset_by_peer() {
    within(10, async {
        let server = stack();
        let client = stack();
        let addr = server.udp_addr().unwrap();
        let listener = server.bind_addr(addr).unwrap();
        let mut stream = client.connect(addr).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        accepted.abort();
        let mut buf = [0u8; 16];
        let err = stream.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
        // As from a kernel socket the reset is reported once; then the
        // stream reads as ended and writes fail as a broken pipe.
        assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
        for _ in 0..2 {
            let err = stream.write_all(b"more").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
        }
        assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
    })
    .await;
}

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

#[tokio::test]
async fn a_silent_peer_times_out_after_the_user_timeout() {
    within(30, async {
        let server = stack();
        let addr = server.udp_addr().unwrap();
        let listener = server.bind_addr(addr).unwrap();
        // The client's link, built by hand so the test keeps its route
        // table.
        let link = Udp::bind(common::loopback()).unwrap();
        let routes = link.routes();
        let mut config = StackConfig {
            local_ip: Some(link.local_addr().ip()),
            ..StackConfig::default()
        };
        config.endpoint.conn.user_timeout = Some(CoreDuration::from_secs(2));
        let client = Stack::new(link, config).unwrap();
        let mut stream = client.connect(addr).await.unwrap();
        let (_accepted, _) = listener.accept().await.unwrap();
        // The path goes silent: from now on the client's segments go to a
        // socket nobody reads, and nothing comes back.
        let deaf = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        routes.insert(addr, deaf.local_addr().unwrap());
        let started = std::time::Instant::now();
        stream.write_all(b"anyone there?").await.unwrap();
        let mut buf = [0u8; 8];
        let err = stream.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(1900) && waited < Duration::from_secs(10),
            "timed out after {waited:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn binding_a_taken_address_is_addr_in_use() {
    let server = stack();
    let addr = server.udp_addr().unwrap();
    let _first = server.bind_addr(addr).unwrap();
    let err = server.bind_addr(addr).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
}
