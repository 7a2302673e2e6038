//! Readiness as mio reports it: edge-triggered events under the tokens
//! the application chose, delivered by `Stack::process`; registration
//! reports what a source already has; `WouldBlock` everywhere an
//! operation would wait; the stack's timeout.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use common::{CLIENT, EventLoop, LISTENER, SERVER, pair, read_available, stacks};
use mio::{Interest, Token};

#[test]
fn a_listener_is_readable_only_when_connections_wait() {
    let mut lp = EventLoop::new(20);
    let (mut client, mut server) = stacks(&mut lp);
    let addr = server.udp_addr().unwrap();
    let mut listener = server.bind(addr).unwrap();
    lp.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    // Nothing waits: no event, and accept would block.
    let quiet = lp.run_for(&mut [&mut client, &mut server], Duration::from_millis(50));
    assert!(quiet.is_empty(), "{quiet:?}");
    assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    // Two connections: readable (once or twice); accept both, then
    // WouldBlock.
    let _a = client.connect(addr).unwrap();
    let _b = client.connect(addr).unwrap();
    let mut accepted = Vec::new();
    lp.run_until(&mut [&mut client, &mut server], |events, _| {
        for e in events {
            assert_eq!(e.token(), LISTENER);
            assert!(e.is_readable());
            loop {
                match listener.accept() {
                    Ok((s, _)) => accepted.push(s),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
        }
        (accepted.len() == 2).then_some(())
    });
    let after = lp.run_for(&mut [&mut client, &mut server], Duration::from_millis(50));
    assert!(after.is_empty(), "{after:?}");
}

#[test]
fn a_connecting_stream_becomes_writable_when_the_handshake_is_over() {
    let mut lp = EventLoop::new(20);
    let (mut client, mut server) = stacks(&mut lp);
    let addr = server.udp_addr().unwrap();
    let _listener = server.bind(addr).unwrap();
    let mut c = client.connect(addr).unwrap();
    // Before the handshake: not connected, no error.
    assert_eq!(c.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
    assert!(c.take_error().unwrap().is_none());
    lp.registry()
        .register(&mut c, CLIENT, Interest::WRITABLE)
        .unwrap();
    lp.run_until(&mut [&mut client, &mut server], |events, _| {
        events
            .iter()
            .any(|e| e.token() == CLIENT && e.is_writable())
            .then_some(())
    });
    assert_eq!(c.peer_addr().unwrap(), addr);
    assert!(c.take_error().unwrap().is_none());
}

#[test]
fn readable_events_are_edge_triggered() {
    let mut lp = EventLoop::new(20);
    let (mut c, mut s, mut client, mut server, _l) = pair(&mut lp);
    // Registered for reading only from now on.
    lp.registry()
        .reregister(&mut s, SERVER, Interest::READABLE)
        .unwrap();
    let drained = lp.run_for(&mut [&mut client, &mut server], Duration::from_millis(30));
    assert!(
        !drained.iter().any(|e| e.token() == SERVER),
        "no data, no event: {drained:?}"
    );
    // Reading with nothing there would block (and arms the edge).
    let mut buf = [0u8; 16];
    assert_eq!(
        (&s).read(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    for round in 0..3u8 {
        c.write_all(&[round; 100]).unwrap();
        let events = lp.run_until(&mut [&mut client, &mut server], |events, _| {
            let mine: Vec<_> = events
                .iter()
                .filter(|e| e.token() == SERVER)
                .copied()
                .collect();
            (!mine.is_empty()).then_some(mine)
        });
        assert!(events.iter().all(|e| e.is_readable() && !e.is_writable()));
        let mut got = Vec::new();
        assert!(!read_available(&s, &mut got).unwrap());
        assert_eq!(got, [round; 100]);
        // Read to WouldBlock: no more events until more data.
        let quiet = lp.run_for(&mut [&mut client, &mut server], Duration::from_millis(30));
        assert!(!quiet.iter().any(|e| e.token() == SERVER), "{quiet:?}");
    }
    // Like the kernel's, every arrival is an edge, drained or not.
    for round in 0..2u64 {
        c.write_all(b"undrained").unwrap();
        lp.run_until(&mut [&mut client, &mut server], |events, _| {
            let arrived = s.stats().unwrap().bytes_received >= 300 + 9 * (round + 1);
            let seen = events
                .iter()
                .any(|e| e.token() == SERVER && e.is_readable());
            assert!(!seen || arrived, "an event before the data");
            seen.then_some(())
        });
    }
    let mut got = Vec::new();
    assert!(!read_available(&s, &mut got).unwrap());
    assert_eq!(got, b"undrainedundrained");
    // Deregistered: data arrives, no event; registering again reports
    // what is already there.
    lp.registry().deregister(&mut s).unwrap();
    c.write_all(b"late").unwrap();
    lp.run_until(&mut [&mut client, &mut server], |events, _| {
        assert!(!events.iter().any(|e| e.token() == SERVER));
        (s.stats().unwrap().bytes_received >= 322).then_some(())
    });
    lp.registry()
        .register(&mut s, Token(77), Interest::READABLE)
        .unwrap();
    let events = lp.turn(&mut [&mut client, &mut server]);
    assert!(
        events
            .iter()
            .any(|e| e.token() == Token(77) && e.is_readable()),
        "{events:?}"
    );
    let mut got = Vec::new();
    read_available(&s, &mut got).unwrap();
    assert_eq!(got, b"late");
}

#[test]
fn registering_twice_or_deregistering_an_unregistered_source_fails_as_in_mio() {
    let mut lp = EventLoop::new(20);
    let (mut c, _s, _client, _server, _l) = pair(&mut lp);
    let err = lp
        .registry()
        .register(&mut c, CLIENT, Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    lp.registry().deregister(&mut c).unwrap();
    let err = lp.registry().deregister(&mut c).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = lp
        .registry()
        .reregister(&mut c, CLIENT, Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn the_timeout_is_none_for_an_idle_stack_and_zero_after_a_write() {
    let mut lp = EventLoop::new(20);
    let (c, s, mut client, mut server, _l) = pair(&mut lp);
    // Let delayed ACKs and the like go out; then nothing is pending.
    lp.run_for(&mut [&mut client, &mut server], Duration::from_millis(300));
    let _ = lp.turn_at_most(&mut [&mut client, &mut server], Duration::ZERO);
    assert_eq!(client.timeout(), None);
    assert_eq!(server.timeout(), None);
    (&c).write_all(b"x").unwrap();
    assert_eq!(client.timeout(), Some(Duration::ZERO));
    // Once sent, a timer (the retransmission timeout) is pending until
    // the ACK comes.
    lp.run_until(&mut [&mut client, &mut server], |events, _| {
        events.iter().any(|e| e.token() == SERVER).then_some(())
    });
    let mut got = Vec::new();
    read_available(&s, &mut got).unwrap();
    assert_eq!(got, b"x");
}
