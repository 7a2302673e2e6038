//! How connections fail, and how each failure reads as an
//! `std::io::ErrorKind`, the mio way: a refused connect is a writable
//! event and `take_error`, then the first read or write; reset by peer;
//! a user timeout on a silent peer (only the stack's timers move it);
//! address in use; a dropped stack.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use common::{CLIENT, CLIENT_STACK, EventLoop, SERVER_STACK, loopback, pair, stack};
use mio::Interest;
use synack_core::time::Duration as CoreDuration;
use synack_mio::link::Udp;
use synack_mio::{Stack, StackConfig};

#[test]
fn connecting_where_nobody_listens_is_refused() {
    let mut lp = EventLoop::new(10);
    let mut server = stack();
    let mut client = stack();
    lp.add(&mut server, SERVER_STACK);
    lp.add(&mut client, CLIENT_STACK);
    // The server stack is there but has no listener: it answers the SYN
    // with a reset.
    let mut c = client.connect(server.udp_addr().unwrap()).unwrap();
    lp.registry()
        .register(&mut c, CLIENT, Interest::WRITABLE)
        .unwrap();
    lp.run_until(&mut [&mut client, &mut server], |events, _| {
        events
            .iter()
            .any(|e| e.token() == CLIENT && e.is_writable())
            .then_some(())
    });
    let err = c.take_error().unwrap().expect("the connect failed");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    assert_eq!(c.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
    let err = c.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    let err = c.write(b"x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}

#[test]
fn a_peer_abort_reads_as_reset_by_peer() {
    let mut lp = EventLoop::new(10);
    let (mut c, s, mut client, mut server, _l) = pair(&mut lp);
    s.abort();
    let err = lp.run_until(&mut [&mut client, &mut server], |_, _| {
        match c.read(&mut [0u8; 16]) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => None,
            other => Some(other.unwrap_err()),
        }
    });
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    let err = c.write(b"more").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    assert_eq!(
        c.take_error().unwrap().unwrap().kind(),
        ErrorKind::ConnectionReset
    );
}

#[test]
fn a_silent_peer_times_out_after_the_user_timeout() {
    let mut lp = EventLoop::new(30);
    let mut server = stack();
    lp.add(&mut server, SERVER_STACK);
    let addr = server.udp_addr().unwrap();
    let listener = server.bind(addr).unwrap();
    // The client's link, built by hand so the test keeps its route table.
    let link = Udp::bind(loopback()).unwrap();
    let routes = link.routes();
    let mut config = StackConfig {
        local_ip: Some(link.local_addr().ip()),
        ..StackConfig::default()
    };
    config.endpoint.conn.user_timeout = Some(CoreDuration::from_secs(2));
    let mut client = Stack::new(link, config).unwrap();
    lp.add(&mut client, CLIENT_STACK);
    let mut c = client.connect(addr).unwrap();
    let _accepted = lp.run_until(&mut [&mut client, &mut server], |_, _| {
        listener.accept().ok()
    });
    // The path goes silent: the client's segments go to a socket nobody
    // reads, and nothing comes back. Only the client's timers (the
    // timeouts it hands `poll`) move it from here.
    let deaf = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    routes.insert(addr, deaf.local_addr().unwrap());
    let started = Instant::now();
    c.write_all(b"anyone there?").unwrap();
    let err = lp.run_until(&mut [&mut client, &mut server], |_, _| {
        match c.read(&mut [0u8; 8]) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => None,
            other => Some(other.unwrap_err()),
        }
    });
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(10),
        "timed out after {waited:?}"
    );
}

#[test]
fn binding_a_taken_address_is_addr_in_use() {
    let server = stack();
    let addr = server.udp_addr().unwrap();
    let _first = server.bind(addr).unwrap();
    let err = server.bind(addr).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
}

#[test]
fn streams_of_a_dropped_stack_fail_instead_of_waiting() {
    let mut lp = EventLoop::new(10);
    let (c, _s, client, _server, _l) = pair(&mut lp);
    drop(client);
    let err = (&c).write(b"x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotConnected, "{err}");
    let err = (&c).read(&mut [0u8; 4]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotConnected, "{err}");
}
