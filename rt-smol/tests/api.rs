//! Addresses as strings, options set on a socket before it connects or
//! listens, `peek`, and vectored writes, through synack-smol.

mod common;

use std::io::{ErrorKind, IoSlice};
use std::time::Duration;

use common::{stack, within};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use synack_core::cc::CcAlgorithm;
use synack_core::conn::ConfigError;
use synack_core::endpoint::EndpointError;

#[test]
fn bind_and_connect_take_addresses_as_strings() {
    smol::block_on(within(10, async {
        let server = stack();
        let port = server.udp_addr().unwrap().port();
        let listener = server.bind(format!("127.0.0.1:{port}")).await.unwrap();
        assert_eq!(listener.local_addr().unwrap().port(), port);
        let client = stack();
        let mut c = client.connect(("127.0.0.1", port)).await.unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        c.write_all(b"by name").await.unwrap();
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"by name");
        let err = client.connect("not an address").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let err = server.bind(format!("127.0.0.1:{port}")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    }));
}

#[test]
fn socket_options_reach_the_connection_and_bad_ones_are_typed() {
    smol::block_on(within(10, async {
        let server = stack();
        let addr = server.udp_addr().unwrap();
        let mut bad = server.socket();
        bad.set_recv_buffer_size(0).unwrap();
        let err = bad.listen(addr).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            err.get_ref()
                .and_then(|e| e.downcast_ref::<EndpointError>())
                .copied(),
            Some(EndpointError::InvalidConfig(ConfigError::RecvBufferZero))
        );
        let mut socket = server.socket();
        socket.set_recv_buffer_size(8192).unwrap();
        let listener = socket.listen(addr).unwrap();
        let client = stack();
        let mut socket = client.socket();
        socket.set_congestion_control(CcAlgorithm::Cubic).unwrap();
        socket.set_nodelay(true).unwrap();
        let c = socket.connect(addr).await.unwrap();
        let (s, _) = listener.accept().await.unwrap();
        assert!(s.stats().unwrap().receive_window <= 8192);
        let stats = c.stats().unwrap();
        assert!(stats.send_window <= 8192, "{}", stats.send_window);
        assert_eq!(stats.congestion_control, "cubic");
        assert!(c.nodelay().unwrap());
    }));
}

#[test]
fn peek_and_vectored_writes() {
    smol::block_on(within(10, async {
        let server = stack();
        let addr = server.udp_addr().unwrap();
        let listener = server.bind_addr(addr).unwrap();
        let client = stack();
        let mut c = client.connect(addr).await.unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        let parts: Vec<Vec<u8>> = (0..250u8).map(|i| vec![i; usize::from(i % 40)]).collect();
        let expected = parts.concat();
        let slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
        // One call takes them all: the send buffer is empty.
        assert_eq!(c.write_vectored(&slices).await.unwrap(), expected.len());
        c.close().await.unwrap();
        let mut peeked = vec![0u8; expected.len()];
        let mut n = 0;
        while n < expected.len() {
            n = s.peek(&mut peeked).await.unwrap();
            async_io::Timer::after(Duration::from_millis(1)).await;
        }
        assert!(peeked == expected);
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert!(got == expected);
    }));
}
