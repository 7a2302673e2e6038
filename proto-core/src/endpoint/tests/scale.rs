//! Ten thousand connections: memory per idle connection and the cost of
//! timers. Timing itself is for `benches/endpoint.rs`.

use std::vec::Vec;

use super::super::output::STALE_DROPS_PER_CALL;
use super::super::{
    ConnEntry, ConnectionHandle, Endpoint, EndpointConfig, IDLE_VISITS_PER_CALL, timers::Owner,
};
use super::harness::*;
use crate::conn::{Connection, Keepalive};
use crate::time::{Duration, Instant};
use crate::tuple::FourTuple;
use core::mem::size_of;
use core::net::SocketAddr;

/// Under Miri, 100: the fewest the timer test below can count with.
const N: usize = if cfg!(miri) { 100 } else { 10_000 };

/// `n` connections opened from the client to a listener on the server
/// (whose configuration `server` adjusts; its backlogs take all `n`) and
/// accepted: the net, the client's handles and the server's.
fn established(
    n: usize,
    server: impl FnOnce(&mut EndpointConfig),
) -> (EndpointPair, Vec<ConnectionHandle>, Vec<ConnectionHandle>) {
    let mut server_config = config(2);
    server_config.syn_backlog = n;
    server_config.accept_backlog = n;
    server(&mut server_config);
    let mut net = EndpointPair::new(config(1), server_config);
    let addr = SocketAddr::new(SERVER_V4, 80);
    let l = net.server.listen(addr).unwrap();
    let clients: Vec<_> = (0..n)
        .map(|_| net.client.connect(CLIENT_V4, addr, net.now).unwrap())
        .collect();
    let mut accepted = Vec::new();
    assert!(net.run_until(Duration::from_secs(10), |net| {
        while let Some(h) = net.server.accept(l) {
            accepted.push(h);
        }
        accepted.len() == n
    }));
    (net, clients, accepted)
}

#[test]
fn ten_thousand_idle_connections_are_small() {
    let (mut net, clients, _) = established(N, |server| {
        server.conn.keepalive = Some(Keepalive {
            idle: Duration::from_secs(600),
            ..Keepalive::default()
        });
    });
    net.run_for(Duration::from_secs(1));
    assert_eq!(clients.len(), N);
    for ep in [&net.client, &net.server] {
        let s = ep.stats();
        assert_eq!(s.connections, N);
        // Idle connections have allocated no buffer at all.
        assert_eq!(s.buffer_memory, 0);
        assert_eq!(ep.conns.slots(), N);
    }
    // What one idle connection costs beyond buffers: its slot, its map
    // entry, and its entries in the timer heap and the two queues.
    let per_connection = size_of::<ConnEntry>()
        + size_of::<(FourTuple, Owner)>()
        + size_of::<(Instant, Owner)>()
        + 2 * size_of::<super::super::slab::Key>();
    std::println!(
        "size_of::<Connection>() = {} bytes, per idle connection ~{} bytes",
        size_of::<Connection>(),
        per_connection
    );
    assert!(per_connection < 4096, "{per_connection}");
    // Every server connection has its keepalive timer pending, and the heap
    // holds little beyond them.
    assert!(net.server.timers.len() <= 2 * N + 64);
    let first = net.server.poll_timeout().unwrap();
    let ops = net.server.timers.ops();
    net.server.handle_timeout(first);
    let ops = net.server.timers.ops() - ops;
    // Each due keepalive timer: one pop, one push of the next probe's
    // deadline; each sends one probe.
    let probes = drain(&mut net.server, first) as u64;
    assert!(probes > 0);
    assert_eq!(ops, 2 * probes);
}

#[test]
fn a_due_timer_costs_one_pop_and_one_push() {
    let mut ep = Endpoint::new(config(1)).unwrap();
    let t0 = Instant::from_secs(1);
    let remote = SocketAddr::new(SERVER_V4, 80);
    for i in 0..N as u64 {
        let now = t0 + Duration::from_micros(i);
        ep.connect(CLIENT_V4, remote, now).unwrap();
        // The SYN leaves and its retransmission timer starts.
        assert_eq!(drain(&mut ep, now), 1);
    }
    assert_eq!(ep.timers.len(), N);
    let first = ep.poll_timeout().unwrap();
    assert_eq!(first, t0 + Duration::from_secs(1));
    let ops = ep.timers.ops();
    assert_eq!(ep.poll_timeout(), Some(first));
    assert_eq!(ep.timers.ops(), ops, "peeking a live deadline is free");
    ep.handle_timeout(first);
    assert_eq!(ep.timers.ops() - ops, 2);
    // k due timers: 2k operations, whatever the number of connections.
    let ops = ep.timers.ops();
    ep.handle_timeout(first + Duration::from_micros(99));
    assert_eq!(ep.timers.ops() - ops, 2 * 99);
    assert_eq!(drain(&mut ep, first), 100, "the SYNs are sent again");
}

/// With `timers_per_call` set, one call runs at most that many due timers,
/// earliest first; the rest stay due (`poll_timeout` says so), and calls
/// until it no longer does run every one of them once.
#[test]
fn handle_timeout_runs_at_most_its_budget_and_loses_nothing() {
    const BUDGET: usize = 7;
    let mut cfg = config(1);
    cfg.timers_per_call = BUDGET;
    let mut ep = Endpoint::new(cfg).unwrap();
    let t0 = Instant::from_secs(1);
    let remote = SocketAddr::new(SERVER_V4, 80);
    let mut ports = Vec::new();
    for i in 0..N as u64 {
        let now = t0 + Duration::from_micros(i);
        let h = ep.connect(CLIENT_V4, remote, now).unwrap();
        ports.push(ep.connection(h).unwrap().tuple().local.port());
        assert_eq!(drain(&mut ep, now), 1);
    }
    // Every SYN's first retransmission timeout has passed; the second
    // (backed off) has not.
    let now = t0 + Duration::from_millis(1500);
    let mut buf = [0u8; 1500];
    let mut resent = Vec::new();
    let mut calls = 0;
    while ep.poll_timeout().is_some_and(|at| at <= now) {
        ep.handle_timeout(now);
        calls += 1;
        let before = resent.len();
        while let Some(t) = ep.poll_transmit(now, &mut buf) {
            resent.push(t.tuple.local.port());
        }
        assert!(
            resent.len() - before <= BUDGET,
            "call {calls} ran more than its budget"
        );
        assert!(calls <= N, "handle_timeout made no progress");
    }
    assert_eq!(calls, N.div_ceil(BUDGET));
    // Each connection's SYN once, in deadline (= connect) order.
    assert_eq!(resent, ports);
}

/// Connections queued as maybe having something to send, with nothing to
/// send: one `poll_transmit` looks at no more than
/// `IDLE_VISITS_PER_CALL` of them, says so through `poll_timeout`, and the
/// calls that follow reach the one connection that has data.
#[test]
#[cfg_attr(
    miri,
    ignore = "hundreds of connections are minutes under Miri; the endpoint's other tests drive the same code"
)]
fn poll_transmit_looks_at_a_bounded_number_of_idle_connections() {
    let n = 3 * IDLE_VISITS_PER_CALL + 10;
    let (mut net, clients, _) = established(n, |_| {});
    net.run_for(Duration::from_secs(1));
    // Every client connection is looked at again; only the first has data.
    // The endpoint settles them last touched first, so it is queued last.
    for &h in &clients {
        net.client.connection_mut(h).unwrap();
    }
    let last = clients[0];
    net.client
        .connection_mut(last)
        .unwrap()
        .write(b"x")
        .unwrap();
    let want = net.client.connection(last).unwrap().tuple();
    let now = net.now;
    let mut buf = [0u8; 1500];
    let mut calls = 0;
    let sent = loop {
        calls += 1;
        if let Some(t) = net.client.poll_transmit(now, &mut buf) {
            break t;
        }
        assert!(
            net.client.poll_timeout().is_some_and(|at| at <= now),
            "a call that stopped early must say there is more to do now"
        );
        assert!(calls <= n, "no progress");
    };
    assert_eq!(sent.tuple, want);
    assert_eq!(calls, (n - 1) / IDLE_VISITS_PER_CALL + 1);
    assert!(net.client.poll_transmit(now, &mut buf).is_none());
    assert!(net.client.poll_timeout().is_none_or(|at| at > now));
}

/// Once every connection has closed and left TIME-WAIT, the tables give
/// their memory back (one spare chunk of slots kept), as
/// `EndpointStats::table_memory` shows.
#[test]
fn memory_is_given_back_when_connections_go() {
    let n = if cfg!(miri) { 100 } else { 5000 };
    let (mut net, clients, servers) = established(n, |_| {});
    let peak = net.client.stats().table_memory;
    assert!(peak >= n * size_of::<Connection>(), "{peak}");
    let now = net.now;
    for &h in &clients {
        net.client.release(h, now).unwrap();
    }
    net.run_for(Duration::from_secs(1));
    for &h in &servers {
        net.server.release(h, net.now).unwrap();
    }
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.client.stats().time_wait, n);
    // Past 2·MSL.
    net.run_for(Duration::from_secs(121));
    for ep in [&net.client, &net.server] {
        let s = ep.stats();
        assert_eq!((s.connections, s.time_wait), (0, 0));
        // Under Miri too few connections to fill more than the chunk that
        // is always kept.
        if !cfg!(miri) {
            assert!(
                s.table_memory * 4 <= peak.max(1),
                "{} bytes kept of {peak}",
                s.table_memory
            );
        }
    }
}

/// Stale timer entries (their connections gone) are dropped at most
/// `STALE_DROPS_PER_CALL` per call: `poll_timeout` meanwhile reports the
/// earliest one left, an early wake-up, and `handle_timeout` calls go on
/// dropping until none is left.
#[test]
fn stale_timers_are_dropped_a_bounded_number_per_call() {
    let n = if cfg!(miri) {
        100
    } else {
        3 * STALE_DROPS_PER_CALL + 5
    };
    let mut ep = Endpoint::new(config(1)).unwrap();
    let t0 = Instant::from_secs(1);
    let remote = SocketAddr::new(SERVER_V4, 80);
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let now = t0 + Duration::from_micros(i as u64);
            let h = ep.connect(CLIENT_V4, remote, now).unwrap();
            drain(&mut ep, now);
            h
        })
        .collect();
    // Every connection goes; its timer entry stays behind, stale.
    for h in handles {
        ep.connection_mut(h).unwrap().abort();
        ep.release(h, t0).unwrap();
    }
    drain(&mut ep, t0);
    assert_eq!(ep.stats().connections, 0);
    let stale = ep.timers.len();
    assert!(stale >= n, "{stale} entries");
    let mut calls = 0;
    while ep.timers.len() > 0 {
        let ops = ep.timers.ops();
        let at = ep.poll_timeout();
        assert!(
            ep.timers.ops() - ops <= STALE_DROPS_PER_CALL as u64,
            "one call dropped more"
        );
        let Some(at) = at else { break };
        ep.handle_timeout(at);
        calls += 1;
        assert!(calls <= n, "no progress");
    }
    assert_eq!(ep.poll_timeout(), None);
}
