//! Endpoint micro-benchmarks at 10,000 established connections: timer
//! expiry with N due timers, the single deadline, and demultiplexing an
//! arriving segment to its connection.
//!
//! Run with `cargo bench -p synack-core --bench endpoint`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration as WallDuration;

use criterion::{BenchmarkId, Criterion, criterion_main};
use synack_core::conn::Keepalive;
use synack_core::endpoint::{Endpoint, EndpointConfig};
use synack_core::wire::IpAddrPair;
use synack_core::{Duration, Instant};

const CONNECTIONS: usize = 10_000;
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);

/// A segment as it went over the wire.
struct Segment {
    addrs: IpAddrPair,
    bytes: Vec<u8>,
}

/// Moves segments between the two endpoints, with no delay, until both
/// are quiet; returns the last segment the client sent.
fn shuttle(client: &mut Endpoint, server: &mut Endpoint, now: Instant) -> Option<Segment> {
    let mut buf = [0u8; 1500];
    let mut last = None;
    loop {
        let mut moved = false;
        while let Some(t) = client.poll_transmit(now, &mut buf) {
            let addrs = t.tuple.outgoing_addrs().unwrap();
            server.handle_segment(now, &addrs, &buf[..t.len]);
            last = Some(Segment {
                addrs,
                bytes: buf[..t.len].to_vec(),
            });
            moved = true;
        }
        while let Some(t) = server.poll_transmit(now, &mut buf) {
            let addrs = t.tuple.outgoing_addrs().unwrap();
            client.handle_segment(now, &addrs, &buf[..t.len]);
            moved = true;
        }
        if !moved {
            return last;
        }
    }
}

/// Sends everything into the void.
fn drain(ep: &mut Endpoint, now: Instant) {
    let mut buf = [0u8; 1500];
    while ep.poll_transmit(now, &mut buf).is_some() {}
}

/// A server endpoint with 10,000 established, idle connections, opened
/// 1 µs apart, whose keepalive timers then fire every 10 ms without end;
/// the final handshake ACK of each (a valid duplicate ACK to replay); and
/// the time the first one opened.
fn established() -> (Endpoint, Vec<Segment>, Instant) {
    let config = |secret| {
        let mut c = EndpointConfig::new([secret; 16]);
        c.conn.timestamps = false;
        c.syn_backlog = CONNECTIONS;
        c.accept_backlog = CONNECTIONS;
        c
    };
    let mut client = Endpoint::new(config(1)).unwrap();
    let mut server_config = config(2);
    server_config.conn.keepalive = Some(Keepalive::new(
        Duration::from_secs(1),
        Duration::from_millis(10),
        u32::MAX,
    ));
    let mut server = Endpoint::new(server_config).unwrap();
    let listener = server.listen(SERVER).unwrap();
    let t0 = Instant::from_secs(10);
    let mut acks = Vec::with_capacity(CONNECTIONS);
    for i in 0..CONNECTIONS as u64 {
        let now = t0 + Duration::from_micros(i);
        client.connect(CLIENT, SERVER, now).unwrap();
        acks.push(shuttle(&mut client, &mut server, now).unwrap());
        server.accept(listener).unwrap();
    }
    while server.poll_event().is_some() {}
    (server, acks, t0)
}

fn handle_timeout(c: &mut Criterion) {
    let (mut server, _, opened) = established();
    // Just before the first keepalive deadline.
    let mut now = opened + Duration::from_secs(1) - Duration::from_micros(1);
    let mut group = c.benchmark_group("handle_timeout/10k connections");
    for due in [1u64, 10, 100, 1000] {
        group.bench_with_input(BenchmarkId::new("due timers", due), &due, |b, &due| {
            b.iter_custom(|iters| {
                let mut total = WallDuration::ZERO;
                for _ in 0..iters {
                    // Deadlines lie 1 µs apart (or in clumps of `due` spaced
                    // `due` µs apart once they have fired): advancing `due`
                    // µs makes `due` timers due.
                    now += Duration::from_micros(due);
                    let start = std::time::Instant::now();
                    server.handle_timeout(black_box(now));
                    total += start.elapsed();
                    // The keepalive probes, outside the measurement.
                    drain(&mut server, now);
                }
                total
            });
        });
    }
    group.finish();
    c.bench_function("poll_timeout/10k connections", |b| {
        b.iter(|| black_box(server.poll_timeout()))
    });
}

fn demux(c: &mut Criterion) {
    let (mut server, acks, opened) = established();
    let now = opened + Duration::from_millis(100);
    let mut i = 0;
    c.bench_function("handle_segment duplicate ACK/10k connections", |b| {
        b.iter(|| {
            let seg = &acks[i % acks.len()];
            i = i.wrapping_add(7919);
            server.handle_segment(now, &seg.addrs, black_box(&seg.bytes));
        })
    });
}

/// Both benchmark sets, with fewer samples than criterion's default: each
/// setup opens 10,000 connections.
fn benches() {
    let mut c = Criterion::default().sample_size(30).configure_from_args();
    handle_timeout(&mut c);
    demux(&mut c);
}

criterion_main!(benches);
