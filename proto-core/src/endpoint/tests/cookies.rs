//! SYN cookies (RFC 4987 §3.6): under a full SYN queue, always, forged,
//! and under a flood.

use std::boxed::Box;

use super::super::{Endpoint, SynCookieMode};
use super::harness::*;
use crate::conn::Event;
use crate::seq::SeqNumber;
use crate::time::{Duration, Instant};
use crate::wire::{TcpFlags, TcpOptions, TcpRepr};
use core::net::{IpAddr, Ipv4Addr, SocketAddr};

fn server_addr() -> SocketAddr {
    SocketAddr::new(SERVER_V4, 80)
}

fn syn(seq: u32) -> TcpRepr<'static> {
    TcpRepr {
        seq: SeqNumber(seq),
        flags: TcpFlags::SYN,
        window: 64240,
        options: TcpOptions {
            mss: Some(1460),
            ..TcpOptions::default()
        },
        ..TcpRepr::default()
    }
}

#[test]
fn full_syn_queue_falls_back_to_cookies_and_the_connection_works() {
    let mut server = config(2);
    server.syn_backlog = 1;
    let mut net = EndpointPair::new(config(1), server);
    let l = net.server.listen(server_addr()).unwrap();
    // A spoofed SYN fills the one-entry SYN queue and never completes.
    let fake = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9)), 1234);
    let (fake_addrs, fake_syn) = craft(fake, server_addr(), &syn(7));
    net.server.handle_segment(net.now, &fake_addrs, &fake_syn);
    assert_eq!(net.server.stats().half_open, 1);
    // Its SYN-ACKs go nowhere.
    net.filter = Some(Box::new(|to_server, seg: &TcpRepr<'_>| {
        to_server || seg.dst_port != 1234
    }));
    let (c, s) = net.connect(CLIENT_V4, server_addr(), l);
    let stats = net.server.stats();
    assert_eq!((stats.cookies_sent, stats.cookies_accepted), (1, 1));
    assert_eq!(stats.half_open, 1);
    let len = if cfg!(miri) { 10_000 } else { 2_000_000 };
    let mut flows = [(c, s, Stream::new(5, len))];
    transfer(&mut net, &mut flows, Duration::from_secs(30));
}

/// Connects with cookies always on; returns what each side negotiated.
fn cookie_handshake(client_timestamps: bool) -> (crate::conn::Negotiated, crate::conn::Negotiated) {
    let mut client = config(1);
    client.conn.timestamps = client_timestamps;
    let mut server = config(2);
    server.syn_cookies = SynCookieMode::Always;
    let mut net = EndpointPair::new(client, server);
    let l = net.server.listen(server_addr()).unwrap();
    let (c, s) = net.connect(CLIENT_V4, server_addr(), l);
    assert_eq!(net.server.stats().cookies_accepted, 1);
    assert_eq!(net.server.stats().half_open, 0);
    // Data flows both ways with whatever survived.
    let len = if cfg!(miri) { 10_000 } else { 3_000_000 };
    let mut flows = [(c, s, Stream::new(11, len))];
    transfer(&mut net, &mut flows, Duration::from_secs(60));
    let cn = net.client.connection(c).unwrap().negotiated();
    let sn = net.server.connection(s).unwrap().negotiated();
    (cn, sn)
}

#[test]
fn cookies_keep_window_scale_and_sack_only_with_timestamps() {
    let (client, server) = cookie_handshake(true);
    for n in [client, server] {
        assert!(n.timestamps && n.window_scaling && n.sack, "{n:?}");
    }
    assert_eq!(server.snd_shift, client.rcv_shift);
    assert_eq!(server.peer_mss, 1460);
    let (client, server) = cookie_handshake(false);
    for n in [client, server] {
        assert!(!n.timestamps && !n.window_scaling && !n.sack, "{n:?}");
    }
    assert_eq!(server.peer_mss, 1460);
}

#[test]
fn forged_cookie_acks_are_rejected_and_counted() {
    let mut cfg = config(2);
    cfg.syn_cookies = SynCookieMode::Always;
    let mut ep = Endpoint::new(cfg).unwrap();
    let now = Instant::from_secs(100);
    ep.listen(server_addr()).unwrap();
    // Under Miri, 200 forgeries.
    const FORGED: u64 = if cfg!(miri) { 200 } else { 1000 };
    let mut rng = XorShift(0x1234_5678_9abc);
    for _ in 0..FORGED {
        let ack = TcpRepr {
            seq: SeqNumber(rng.next() as u32),
            ack: SeqNumber(rng.next() as u32),
            flags: TcpFlags::ACK,
            window: 100,
            ..TcpRepr::default()
        };
        let (addrs, bytes) = craft(rng.v4_source(), server_addr(), &ack);
        ep.handle_segment(now, &addrs, &bytes);
    }
    let s = ep.stats();
    assert_eq!(
        (s.cookies_rejected, s.drops.get(DropReason::BadCookie)),
        (FORGED, FORGED)
    );
    assert_eq!((s.cookies_accepted, s.connections), (0, 0));
    // Each got a reset, within the rate limit.
    assert_eq!(s.rsts_sent, FORGED);

    // With cookies only when full, and none sent, ACKs are not checked.
    let mut ep = Endpoint::new(config(2)).unwrap();
    ep.listen(server_addr()).unwrap();
    let ack = TcpRepr {
        seq: SeqNumber(1),
        ack: SeqNumber(2),
        flags: TcpFlags::ACK,
        ..TcpRepr::default()
    };
    let (addrs, bytes) = craft(SocketAddr::new(CLIENT_V4, 5), server_addr(), &ack);
    ep.handle_segment(now, &addrs, &bytes);
    let s = ep.stats();
    assert_eq!(
        (s.cookies_rejected, s.drops.get(DropReason::NoConnection)),
        (0, 1)
    );
}

#[test]
fn a_spoofed_syn_flood_stays_within_the_syn_queue() {
    let mut server = config(2);
    server.syn_backlog = 128;
    let mut net = EndpointPair::new(config(1), server);
    let l = net.server.listen(server_addr()).unwrap();
    // Under Miri, where each SYN's SipHash work takes ~0.1 s, a shorter
    // flood: still more than twice the SYN queue.
    const SYNS: u32 = if cfg!(miri) { 300 } else { 100_000 };
    // A hundred pauses in all: every thousand SYNs natively.
    const PAUSE_EVERY: u32 = SYNS / 100;
    let mut rng = XorShift(0xdead_beef_cafe);
    let mut real = None;
    for i in 0..SYNS {
        let (addrs, bytes) = craft(rng.v4_source(), server_addr(), &syn(rng.next() as u32));
        net.server.handle_segment(net.now, &addrs, &bytes);
        if i % PAUSE_EVERY == PAUSE_EVERY - 1 {
            // The host sends its SYN-ACKs (into the void) and time passes.
            drain(&mut net.server, net.now);
            net.now += Duration::from_millis(10);
            net.server.handle_timeout(net.now);
        }
        if i == SYNS / 2 {
            // A real client connects in the middle of the flood.
            real = Some(
                net.client
                    .connect(CLIENT_V4, server_addr(), net.now)
                    .unwrap(),
            );
        }
        if real.is_some() && i % 100 == 0 {
            net.step();
        }
    }
    let c = real.unwrap();
    let mut s = None;
    assert!(net.run_until(Duration::from_secs(10), |n| {
        s = s.or_else(|| n.server.accept(l));
        s.is_some() && n.saw(false, c, Event::Connected)
    }));
    let stats = net.server.stats();
    assert_eq!(stats.half_open, 128);
    assert_eq!(stats.connections, 129);
    // All but the queue's worth were answered with cookies.
    let slack = if cfg!(miri) { 150 } else { 1000 };
    assert!(stats.cookies_sent >= u64::from(SYNS) - slack, "{stats:?}");
    assert_eq!(stats.cookies_accepted, 1);
    assert_eq!(stats.buffer_memory, 0);
    // Nothing grew with the flood: slots, tuples, timers, replies.
    let ep = &net.server;
    assert!(ep.conns.slots() <= 130, "{}", ep.conns.slots());
    assert!(ep.by_tuple.len() <= 130);
    assert!(ep.timers.len() <= 2 * 130 + 64);
    assert!(ep.replies.len() <= super::super::reply::MAX_QUEUED_REPLIES);
    let len = if cfg!(miri) { 10_000 } else { 100_000 };
    let mut flows = [(c, s.unwrap(), Stream::new(2, len))];
    transfer(&mut net, &mut flows, Duration::from_secs(10));
}
