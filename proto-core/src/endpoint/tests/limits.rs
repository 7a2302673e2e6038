//! Limits: connections, buffer memory, the accept queue.

use super::super::{EndpointError, SynCookieMode};
use super::harness::*;
use crate::conn::Event;
use crate::seq::SeqNumber;
use crate::time::Duration;
use crate::wire::{TcpFlags, TcpRepr};
use core::net::SocketAddr;

fn server_addr() -> SocketAddr {
    SocketAddr::new(SERVER_V4, 80)
}

#[test]
fn connection_limit_refuses_connects_and_drops_syns() {
    let mut client = config(1);
    client.max_connections = 3;
    let mut server = config(2);
    server.max_connections = 1;
    let mut net = EndpointPair::new(client, server);
    let l = net.server.listen(server_addr()).unwrap();
    let _ = net.connect(CLIENT_V4, server_addr(), l);
    for _ in 0..2 {
        net.client
            .connect(CLIENT_V4, server_addr(), net.now)
            .unwrap();
    }
    assert_eq!(
        net.client.connect(CLIENT_V4, server_addr(), net.now),
        Err(EndpointError::ConnectionLimit)
    );
    net.run_for(Duration::from_secs(2));
    let s = net.server.stats();
    assert!(s.drops.get(DropReason::ConnectionLimit) >= 2, "{s:?}");
    assert_eq!(s.connections, 1);
}

#[test]
fn memory_limit_refuses_new_connections() {
    let mut client = config(1);
    client.max_buffer_memory = 10_000;
    let mut server = config(2);
    server.max_buffer_memory = 10_000;
    let mut net = EndpointPair::new(client, server);
    let l = net.server.listen(server_addr()).unwrap();
    let (c, s) = net.connect(CLIENT_V4, server_addr(), l);
    assert_eq!(net.client.stats().buffer_memory, 0);
    let len = if cfg!(miri) { 20_000 } else { 100_000 };
    let mut flows = [(c, s, Stream::new(1, len))];
    transfer(&mut net, &mut flows, Duration::from_secs(10));
    // Buffers grew with use and stay allocated while the connections live.
    assert!(net.client.stats().buffer_memory >= 10_000);
    assert!(net.server.stats().buffer_memory >= 10_000);
    assert_eq!(
        net.client.connect(CLIENT_V4, server_addr(), net.now),
        Err(EndpointError::MemoryLimit)
    );
    let syn = TcpRepr {
        seq: SeqNumber(1),
        flags: TcpFlags::SYN,
        ..TcpRepr::default()
    };
    let (addrs, bytes) = craft(SocketAddr::new(CLIENT_V4, 999), server_addr(), &syn);
    net.server.handle_segment(net.now, &addrs, &bytes);
    assert_eq!(net.server.stats().drops.get(DropReason::MemoryLimit), 1);
    // Closing gives the memory back, before the connection is released.
    net.client.connection_mut(c).unwrap().abort();
    assert!(
        net.run_until(Duration::from_secs(2), |n| n.client.stats().buffer_memory
            == 0)
    );
    assert_eq!(net.client.stats().connections, 1);
    assert!(
        net.client
            .connect(CLIENT_V4, server_addr(), net.now)
            .is_ok()
    );
}

#[test]
fn a_full_accept_queue_holds_back_handshakes() {
    let mut server = config(2);
    server.accept_backlog = 1;
    server.syn_cookies = SynCookieMode::Off;
    let mut net = EndpointPair::new(config(1), server);
    let l = net.server.listen(server_addr()).unwrap();
    let c1 = net
        .client
        .connect(CLIENT_V4, server_addr(), net.now)
        .unwrap();
    assert!(net.run_until(Duration::from_secs(2), |n| n.server.pending_accepts(l) == 1));
    let c2 = net
        .client
        .connect(CLIENT_V4, server_addr(), net.now)
        .unwrap();
    net.run_for(Duration::from_secs(3));
    assert!(net.server.stats().drops.get(DropReason::BacklogFull) >= 1);
    assert!(!net.saw(false, c2, Event::Connected));
    assert_eq!(net.server.pending_accepts(l), 1);
    // Accepting makes room; the retransmitted SYN then gets through.
    let s1 = net.server.accept(l).unwrap();
    assert_eq!(
        net.server.connection(s1).unwrap().peer_addr(),
        net.client.connection(c1).unwrap().local_addr()
    );
    assert!(
        net.run_until(Duration::from_secs(10), |n| n.server.pending_accepts(l)
            == 1)
    );
    assert!(net.saw(false, c2, Event::Connected));
    assert!(net.server.accept(l).is_some());
}

/// A burst of `n` connects at once to a listener whose accept queue holds
/// `backlog`, with an application that accepts one connection every
/// `every`; each client writes its 8-byte number once connected. Returns
/// how many the server accepted and read their number from, and how many
/// client connections ended (reset or timed out).
fn burst(n: usize, backlog: usize, every: Duration) -> (EndpointPair, usize, usize) {
    let mut server = config(2);
    server.accept_backlog = backlog;
    let mut net = EndpointPair::new(config(1), server);
    let l = net.server.listen(server_addr()).unwrap();
    let clients: std::collections::BTreeMap<_, u64> = (0..n as u64)
        .map(|i| {
            let c = net
                .client
                .connect(CLIENT_V4, server_addr(), net.now)
                .unwrap();
            (c, i)
        })
        .collect();
    let mut seen = 0;
    let mut ended = 0;
    let mut unread = std::vec::Vec::new();
    let mut numbers = std::collections::BTreeSet::new();
    let end = net.now + Duration::from_secs(300);
    while numbers.len() < n && net.now < end {
        net.run_for(every);
        for &(c, e) in &net.client_events[seen..] {
            match e {
                Event::Connected => {
                    let conn = net.client.connection_mut(c).unwrap();
                    assert_eq!(conn.write(&clients[&c].to_be_bytes()), Ok(8));
                }
                Event::Closed(_) => ended += 1,
                _ => {}
            }
        }
        seen = net.client_events.len();
        if let Some(s) = net.server.accept(l) {
            unread.push(s);
        }
        let now = net.now;
        unread.retain(|s| {
            let mut buf = [0u8; 8];
            let conn = net.server.connection_mut(*s).unwrap();
            if conn.read(now, &mut buf) == Ok(8) {
                numbers.insert(u64::from_be_bytes(buf));
                false
            } else {
                true
            }
        });
    }
    (net, numbers.len(), ended)
}

/// Linux with `tcp_abort_on_overflow` off: while the accept queue is full
/// the handshake's last ACK is dropped, not answered with a reset, so the
/// client's retransmission gets in once the application has accepted. A
/// burst far beyond both backlogs all gets in, every client's data
/// arrives, and nobody is reset.
#[test]
fn a_burst_beyond_the_backlogs_gets_in_without_resets() {
    let (n, backlog) = if cfg!(miri) { (24, 4) } else { (1000, 128) };
    let (net, accepted, ended) = burst(n, backlog, Duration::from_millis(5));
    let stats = net.server.stats();
    assert_eq!((accepted, ended), (n, 0), "{stats:?}");
    assert_eq!(stats.rsts_sent, 0, "{stats:?}");
    assert_eq!(net.client.stats().rsts_sent, 0);
    // The queues did overflow: SYNs or final ACKs were held back.
    assert!(
        stats.drops.get(DropReason::BacklogFull) > 0 || stats.cookies_sent > 0,
        "{stats:?}"
    );
}

/// The TIME-WAIT table has its own limit, independent of
/// `max_connections`: more closed connections wait in it than may be open
/// at once, and those beyond the limit are counted.
#[test]
fn time_wait_has_its_own_limit() {
    let mut client = config(1);
    client.max_connections = 1;
    client.max_time_wait = 3;
    let mut net = EndpointPair::new(client, config(2));
    let l = net.server.listen(server_addr()).unwrap();
    for _ in 0..5 {
        let (c, s) = net.connect(CLIENT_V4, server_addr(), l);
        // The client closes first, so it is the one in TIME-WAIT.
        net.client.release(c, net.now).unwrap();
        net.run_for(Duration::from_millis(100));
        net.server.release(s, net.now).unwrap();
        net.run_for(Duration::from_millis(100));
    }
    let s = net.client.stats();
    assert_eq!(
        (s.connections, s.time_wait, s.time_wait_overflow),
        (0, 3, 2)
    );
}
