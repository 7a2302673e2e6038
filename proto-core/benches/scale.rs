//! Two endpoints at 10 k, 100 k (and, asked for, 1 M) connections: heap
//! per idle connection, the slowest single call of each kind while the
//! connections open, idle, close and leave TIME-WAIT, and the heap still
//! held once every connection has gone.
//!
//! `cargo bench -p synack-core --bench scale -- [--n 10000,100000,1000000]`
//!
//! Virtual time; the wall clock only times each call. The heap is counted
//! by the global allocator (`cap`), so the numbers are the endpoints'
//! own, not the process's resident size.

use std::alloc::System;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant as Wall;

use cap::Cap;
use synack_core::endpoint::{ConnectionHandle, Endpoint, EndpointConfig};
use synack_core::{Duration, Instant};

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 255, 0, 1)), 80);
/// Connections per client address: within the default ephemeral range.
const PER_ADDRESS: usize = 20_000;

/// The slowest call of each kind, in microseconds.
#[derive(Default)]
struct Slowest {
    connect: f64,
    handle_segment: f64,
    poll_transmit: f64,
    handle_timeout: f64,
    release: f64,
}

fn timed<T>(worst: &mut f64, f: impl FnOnce() -> T) -> T {
    let start = Wall::now();
    let out = f();
    *worst = worst.max(start.elapsed().as_secs_f64() * 1e6);
    out
}

/// Moves segments both ways until both endpoints are quiet, timing each
/// call, and running what falls due. A `poll_transmit` that stopped early
/// (`IDLE_VISITS_PER_CALL`) shows as a deadline that has come: the loop
/// goes on then too.
fn shuttle(a: &mut Endpoint, b: &mut Endpoint, now: Instant, slowest: &mut Slowest) {
    loop {
        let moved = deliver(a, b, now, slowest) | deliver(b, a, now, slowest);
        let mut more = false;
        for ep in [&mut *a, &mut *b] {
            if ep.poll_timeout().is_some_and(|at| at <= now) {
                timed(&mut slowest.handle_timeout, || ep.handle_timeout(now));
                more = true;
            }
        }
        if !moved && !more {
            return;
        }
    }
}

/// Everything `from` has to send, into `to`; true if there was any.
fn deliver(from: &mut Endpoint, to: &mut Endpoint, now: Instant, slowest: &mut Slowest) -> bool {
    let mut buf = [0u8; 1500];
    let mut moved = false;
    while let Some(t) = timed(&mut slowest.poll_transmit, || {
        from.poll_transmit(now, &mut buf)
    }) {
        let addrs = t.tuple.outgoing_addrs().expect("unicast");
        timed(&mut slowest.handle_segment, || {
            to.handle_segment(now, &addrs, &buf[..t.len])
        });
        moved = true;
    }
    moved
}

/// Runs both endpoints' timers up to `until`, timing each call.
fn run_timers(a: &mut Endpoint, b: &mut Endpoint, until: Instant, slowest: &mut Slowest) {
    loop {
        let next = [a.poll_timeout(), b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(at) = next.filter(|&at| at <= until) else {
            return;
        };
        for ep in [&mut *a, &mut *b] {
            if ep.poll_timeout().is_some_and(|t| t <= at) {
                timed(&mut slowest.handle_timeout, || ep.handle_timeout(at));
            }
        }
        shuttle(a, b, at, slowest);
    }
}

fn config(secret: u8, n: usize) -> EndpointConfig {
    let mut c = EndpointConfig::new([secret; 16]);
    c.max_connections = n + 1;
    c.syn_backlog = n;
    c.accept_backlog = n;
    c
}

fn run(n: usize) {
    let mut slowest = Slowest::default();
    let base = HEAP.allocated();
    let mut client = Endpoint::new(config(1, n)).expect("valid");
    let mut server = Endpoint::new(config(2, n)).expect("valid");
    let listener = server.listen(SERVER).expect("listen");
    let mut now = Instant::from_secs(1);
    let mut clients = Vec::with_capacity(n);
    let mut servers = Vec::with_capacity(n);
    let batch = 1000;
    let started = Wall::now();
    for i in 0..n {
        let host = (i / PER_ADDRESS) as u32;
        let local = IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0001 + host));
        let h =
            timed(&mut slowest.connect, || client.connect(local, SERVER, now)).expect("connect");
        clients.push(h);
        if (i + 1) % batch == 0 || i + 1 == n {
            shuttle(&mut client, &mut server, now, &mut slowest);
            while let Some(h) = server.accept(listener) {
                servers.push(h);
            }
            now += Duration::from_millis(1);
        }
    }
    assert_eq!(servers.len(), n, "every connection was accepted");
    while client.poll_event().is_some() {}
    while server.poll_event().is_some() {}
    let open = HEAP.allocated() - base;
    let opened_in = started.elapsed().as_secs_f64();
    // Idle for a minute of virtual time: delayed ACKs and nothing else.
    let until = now + Duration::from_secs(60);
    run_timers(&mut client, &mut server, until, &mut slowest);
    now = until;
    // The clients close first and hold TIME-WAIT.
    let release = |ep: &mut Endpoint, hs: &[ConnectionHandle], now, worst: &mut f64| {
        for &h in hs {
            timed(worst, || ep.release(h, now)).expect("live handle");
        }
    };
    release(&mut client, &clients, now, &mut slowest.release);
    shuttle(&mut client, &mut server, now, &mut slowest);
    release(&mut server, &servers, now, &mut slowest.release);
    shuttle(&mut client, &mut server, now, &mut slowest);
    let in_time_wait = client.stats().time_wait;
    // Past 2·MSL: every TIME-WAIT entry expires.
    let until = now + Duration::from_secs(120);
    run_timers(&mut client, &mut server, until, &mut slowest);
    while client.poll_event().is_some() {}
    while server.poll_event().is_some() {}
    let (cs, ss) = (client.stats(), server.stats());
    assert_eq!((cs.connections, ss.connections, cs.time_wait), (0, 0, 0));
    let after = HEAP.allocated() - base;
    println!(
        "| {n} | {:.0} | {:.0} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} |",
        open as f64 / (2 * n) as f64,
        after as f64 / (2 * n) as f64,
        in_time_wait,
        slowest.connect,
        slowest.handle_segment,
        slowest.poll_transmit,
        slowest.handle_timeout,
        slowest.release,
        opened_in,
    );
    drop((client, server));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sizes: Vec<usize> = match args.iter().position(|a| a == "--n") {
        Some(i) => args
            .get(i + 1)
            .expect("--n takes a comma-separated list")
            .split(',')
            .map(|v| v.parse().expect("--n: a number"))
            .collect(),
        None => vec![10_000, 100_000],
    };
    println!(
        "| connections | heap per idle connection, B | heap kept per former connection, B | in TIME-WAIT | slowest connect, µs | slowest handle_segment, µs | slowest poll_transmit, µs | slowest handle_timeout, µs | slowest release, µs | opened in, s |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for n in sizes {
        run(n);
    }
}
