//! Per-connection settings (`connect_with`, `listen_with`), and the
//! connection calls the adapters' `peek` and vectored writes stand on.

use std::vec;
use std::vec::Vec;

use super::super::EndpointError;
use super::harness::*;
use crate::cc::CcAlgorithm;
use crate::conn::{Config, ConfigError, Error, Event};
use crate::time::Duration;
use core::net::SocketAddr;

fn server_addr() -> SocketAddr {
    SocketAddr::new(SERVER_V4, 80)
}

#[test]
fn a_listeners_settings_reach_the_connections_it_accepts() {
    let mut net = EndpointPair::pair();
    let mut small = net.server.config().conn.clone();
    small.recv_buffer = 4096;
    small.recv_buffer_max = 4096;
    small.congestion = CcAlgorithm::Cubic;
    let l = net.server.listen_with(server_addr(), small).unwrap();
    let (c, s) = net.connect(CLIENT_V4, server_addr(), l);
    let server = net.server.connection(s).unwrap().stats();
    assert_eq!(server.congestion_control, "cubic");
    assert!(server.receive_window <= 4096, "{}", server.receive_window);
    // The client sees that window; its own is the endpoint default.
    let client = net.client.connection(c).unwrap().stats();
    assert!(client.send_window <= 4096, "{}", client.send_window);
    assert_eq!(client.congestion_control, "newreno");
    assert!(client.receive_window > 4096);
}

#[test]
fn connect_with_uses_its_settings() {
    let mut net = EndpointPair::pair();
    let l = net.server.listen(server_addr()).unwrap();
    let mut config = net.client.config().conn.clone();
    config.recv_buffer = 2000;
    config.recv_buffer_max = 2000;
    let c = net
        .client
        .connect_with(CLIENT_V4, server_addr(), net.now, config)
        .unwrap();
    let mut s = None;
    assert!(net.run_until(Duration::from_secs(5), |n| {
        s = s.or_else(|| n.server.accept(l));
        s.is_some()
    }));
    let server = net.server.connection(s.unwrap()).unwrap().stats();
    assert!(server.send_window <= 2000, "{}", server.send_window);
    assert!(net.client.connection(c).unwrap().stats().receive_window <= 2000);
}

#[test]
fn bad_settings_are_refused_naming_the_field() {
    let mut net = EndpointPair::pair();
    let config = Config {
        send_buffer: 0,
        ..Config::default()
    };
    let e = net
        .client
        .connect_with(CLIENT_V4, server_addr(), net.now, config.clone())
        .unwrap_err();
    assert_eq!(e, EndpointError::InvalidConfig(ConfigError::SendBufferZero));
    assert!(std::format!("{e}").contains("send_buffer"), "{e}");
    assert_eq!(
        net.server.listen_with(server_addr(), config).unwrap_err(),
        EndpointError::InvalidConfig(ConfigError::SendBufferZero)
    );
    // Nothing was opened or bound.
    assert_eq!(net.client.stats().connections, 0);
    net.server.listen(server_addr()).unwrap();
}

#[test]
fn peek_shows_what_read_then_takes_and_vectored_writes_keep_order() {
    let mut net = EndpointPair::pair();
    let l = net.server.listen(server_addr()).unwrap();
    let (c, s) = net.connect(CLIENT_V4, server_addr(), l);
    let parts: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; usize::from(i) % 7]).collect();
    let slices: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
    let expected: Vec<u8> = parts.concat();
    let conn = net.client.connection_mut(c).unwrap();
    assert_eq!(
        conn.write_vectored(slices.iter().copied()),
        Ok(expected.len())
    );
    assert_eq!(conn.write_vectored([&[][..], &[]]), Ok(0));
    let mut buf = vec![0u8; 1000];
    assert_eq!(
        net.server.connection(s).unwrap().peek(&mut buf),
        Err(Error::WouldBlock)
    );
    assert!(net.run_until(Duration::from_secs(5), |n| {
        n.server.connection(s).unwrap().recv_queue_len() == expected.len()
    }));
    let mut peeked = vec![0u8; 1000];
    let n = net.server.connection(s).unwrap().peek(&mut peeked).unwrap();
    assert_eq!(&peeked[..n], &expected[..]);
    // Peeking again shows the same; reading takes them.
    assert_eq!(net.server.connection(s).unwrap().peek(&mut peeked), Ok(n));
    let now = net.now;
    let read = net
        .server
        .connection_mut(s)
        .unwrap()
        .read(now, &mut buf)
        .unwrap();
    assert_eq!(&buf[..read], &expected[..]);
    assert_eq!(
        net.server.connection(s).unwrap().peek(&mut peeked),
        Err(Error::WouldBlock)
    );
}

#[test]
fn a_vectored_write_takes_a_prefix_when_the_buffer_fills() {
    let mut config = config(1);
    config.conn.send_buffer = 1000;
    let mut net = EndpointPair::new(config, super::harness::config(2));
    let l = net.server.listen(server_addr()).unwrap();
    let (c, _) = net.connect(CLIENT_V4, server_addr(), l);
    let a = [1u8; 600];
    let b = [2u8; 600];
    let conn = net.client.connection_mut(c).unwrap();
    assert_eq!(conn.write_vectored([&a[..], &b[..]]), Ok(1000));
    assert_eq!(conn.write_vectored([&a[..]]), Err(Error::WouldBlock));
    assert!(!conn.poll_send_room());
    // The peer acknowledges: room, and a Writable event says so.
    net.client_events.clear();
    assert!(net.run_until(Duration::from_secs(5), |n| n.saw(false, c, Event::Writable)));
    assert!(net.client.connection_mut(c).unwrap().poll_send_room());
}

#[test]
fn send_room_without_a_failed_write_still_brings_writable() {
    let mut config = config(1);
    config.conn.send_buffer = 1000;
    let mut net = EndpointPair::new(config, super::harness::config(2));
    let l = net.server.listen(server_addr()).unwrap();
    let (c, _) = net.connect(CLIENT_V4, server_addr(), l);
    let conn = net.client.connection_mut(c).unwrap();
    // Exactly full: the write took everything and did not block.
    assert_eq!(conn.write(&[7u8; 1000]), Ok(1000));
    assert!(!conn.poll_send_room());
    net.client_events.clear();
    assert!(net.run_until(Duration::from_secs(5), |n| n.saw(false, c, Event::Writable)));
}
