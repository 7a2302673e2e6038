//! Errors the mio way: a refused connect is a writable event and
//! `take_error` (taken once, as `SO_ERROR`), reset by peer through
//! `take_error`, and a dropped stack. (User timeout and address in use
//! are cases of the adapter suite.)

mod common;

use std::io::{ErrorKind, Read, Write};

use common::{CLIENT, EventLoop, pair, stacks};
use mio::Interest;

#[test]
fn connecting_where_nobody_listens_is_refused() {
    let mut lp = EventLoop::new(10);
    let (mut client, mut server) = stacks(&mut lp);
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
    // Taken once, as SO_ERROR is; what is left is a dead connection.
    assert!(c.take_error().unwrap().is_none());
    assert_eq!(c.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
    assert_eq!(c.read(&mut [0u8; 8]).unwrap(), 0);
    let err = c.write(b"x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
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
    // The read took the report: the socket has no pending error left,
    // reads see the end and writes a broken pipe.
    assert!(c.take_error().unwrap().is_none());
    assert_eq!(c.read(&mut [0u8; 16]).unwrap(), 0);
    let err = c.write(b"more").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
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
