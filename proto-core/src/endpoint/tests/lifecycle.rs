//! Opening, refusing, closing and forgetting connections; resets for
//! segments that match nothing; ports; TIME-WAIT.

use std::boxed::Box;
use std::collections::BTreeSet;
use std::vec::Vec;

use super::super::{Endpoint, EndpointError, ListenerId};
use super::harness::*;
use crate::conn::{CloseReason, Config, Event, State};
use crate::seq::SeqNumber;
use crate::time::Duration;
use crate::wire::{TcpFlags, TcpRepr};
use core::net::{IpAddr, Ipv4Addr, SocketAddr};

fn server_addr() -> SocketAddr {
    SocketAddr::new(SERVER_V4, 80)
}

/// Client and server connected through a listener on port 80.
fn connected() -> (
    EndpointPair,
    crate::endpoint::ConnectionHandle,
    crate::endpoint::ConnectionHandle,
) {
    let mut net = EndpointPair::pair();
    let l = net.server.listen(server_addr()).unwrap();
    let (c, s) = net.connect(CLIENT_V4, server_addr(), l);
    (net, c, s)
}

#[test]
fn every_connection_can_be_listed_with_its_counters() {
    let (net, c, s) = connected();
    for (ep, handle, peer) in [
        (&net.client, c, server_addr()),
        (&net.server, s, SocketAddr::new(CLIENT_V4, 0)),
    ] {
        let listed: Vec<_> = ep.connections().collect();
        assert_eq!(listed.len(), ep.stats().connections);
        let (h, conn) = listed[0];
        assert_eq!(h, handle);
        assert_eq!(conn.state(), State::Established);
        assert_eq!(conn.tuple().remote.ip(), peer.ip());
        assert!(conn.stats().segments_received >= 1);
    }
}

#[test]
fn connection_refused_without_listener() {
    let mut net = EndpointPair::pair();
    let c = net
        .client
        .connect(CLIENT_V4, SocketAddr::new(SERVER_V4, 9), net.now)
        .unwrap();
    assert!(net.wait_for(
        false,
        c,
        Event::Closed(CloseReason::Refused),
        Duration::from_secs(5)
    ));
    let s = net.server.stats();
    assert_eq!((s.drops.get(DropReason::NoListener), s.rsts_sent), (1, 1));
    // Like a socket, the refused connection stays until released, and
    // says how it ended.
    let conn = net.client.connection_mut(c).expect("kept until released");
    assert_eq!(conn.close_reason(), Some(CloseReason::Refused));
    assert_eq!(
        conn.read(net.now, &mut [0; 4]),
        Err(crate::conn::Error::Closed(CloseReason::Refused))
    );
    assert_eq!(net.client.stats().connections, 1);
    net.client.release(c, net.now).unwrap();
    assert!(net.client.connection(c).is_none());
    assert_eq!(net.client.stats().connections, 0);
}

#[test]
fn resets_are_never_answered_and_replies_are_rate_limited() {
    let mut cfg = config(2);
    cfg.rst_rate_limit_per_sec = 10;
    let mut ep = Endpoint::new(cfg).unwrap();
    let mut now = crate::time::Instant::from_secs(5);
    let peer = SocketAddr::new(CLIENT_V4, 4000);
    let rst = TcpRepr {
        seq: SeqNumber(1),
        flags: TcpFlags::RST,
        ..TcpRepr::default()
    };
    let (addrs, bytes) = craft(peer, server_addr(), &rst);
    for _ in 0..50 {
        ep.handle_segment(now, &addrs, &bytes);
    }
    assert_eq!(drain(&mut ep, now), 0);
    assert_eq!(ep.stats().drops.get(DropReason::NoConnection), 50);
    let ack = TcpRepr {
        seq: SeqNumber(1),
        ack: SeqNumber(2),
        flags: TcpFlags::ACK,
        ..TcpRepr::default()
    };
    let (addrs, bytes) = craft(peer, server_addr(), &ack);
    for _ in 0..100 {
        ep.handle_segment(now, &addrs, &bytes);
    }
    assert_eq!(drain(&mut ep, now), 10);
    assert_eq!(
        (ep.stats().rsts_sent, ep.stats().rsts_rate_limited),
        (10, 90)
    );
    now += Duration::from_secs(1);
    for _ in 0..100 {
        ep.handle_segment(now, &addrs, &bytes);
    }
    assert_eq!(drain(&mut ep, now), 10);
    // The reset answers the ACK as RFC 9293 §3.10.7.1 says: SEQ = SEG.ACK.
    ep.handle_segment(now + Duration::from_secs(1), &addrs, &bytes);
    let mut buf = [0u8; 100];
    let t = ep
        .poll_transmit(now + Duration::from_secs(1), &mut buf)
        .unwrap();
    let out = TcpRepr::parse_bytes(&buf[..t.len], &addrs.reversed(), Default::default()).unwrap();
    assert_eq!((out.flags, out.seq), (TcpFlags::RST, SeqNumber(2)));
}

/// SYN+FIN at a listener is discarded without a reply or a connection,
/// as Linux does, with and without SYN cookies; a plain SYN from the same
/// peer is still served.
#[test]
fn a_syn_with_fin_at_a_listener_is_discarded() {
    for cookies in [
        super::super::SynCookieMode::Off,
        super::super::SynCookieMode::Always,
    ] {
        let mut cfg = config(3);
        cfg.syn_cookies = cookies;
        let mut ep = Endpoint::new(cfg).unwrap();
        ep.listen(server_addr()).unwrap();
        let now = crate::time::Instant::from_secs(5);
        let peer = SocketAddr::new(CLIENT_V4, 4000);
        let syn_fin = TcpRepr {
            seq: SeqNumber(100),
            flags: TcpFlags::SYN | TcpFlags::FIN,
            window: 1000,
            ..TcpRepr::default()
        };
        let (addrs, bytes) = craft(peer, server_addr(), &syn_fin);
        ep.handle_segment(now, &addrs, &bytes);
        assert_eq!(
            drain(&mut ep, now),
            0,
            "{cookies:?}: nothing answers SYN+FIN"
        );
        let s = ep.stats();
        assert_eq!(
            (s.drops.get(DropReason::SynFin), s.connections, s.half_open),
            (1, 0, 0)
        );
        let syn = TcpRepr {
            flags: TcpFlags::SYN,
            ..syn_fin
        };
        let (addrs, bytes) = craft(peer, server_addr(), &syn);
        ep.handle_segment(now, &addrs, &bytes);
        assert_eq!(
            drain(&mut ep, now),
            1,
            "{cookies:?}: the SYN gets its SYN-ACK"
        );
    }
}

#[test]
fn malformed_and_non_unicast_input_is_counted_not_answered() {
    let mut ep = Endpoint::new(config(2)).unwrap();
    let now = crate::time::Instant::from_secs(1);
    ep.listen(server_addr()).unwrap();
    let syn = TcpRepr {
        seq: SeqNumber(1),
        flags: TcpFlags::SYN,
        ..TcpRepr::default()
    };
    let (addrs, mut bytes) = craft(SocketAddr::new(CLIENT_V4, 1000), server_addr(), &syn);
    bytes[16] ^= 0xff; // checksum
    ep.handle_segment(now, &addrs, &bytes);
    ep.handle_segment(now, &addrs, &bytes[..10]);
    let multicast = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)), 1000);
    let (addrs, bytes) = craft(multicast, server_addr(), &syn);
    ep.handle_segment(now, &addrs, &bytes);
    let (addrs, bytes) = craft(SocketAddr::new(CLIENT_V4, 0), server_addr(), &syn);
    ep.handle_segment(now, &addrs, &bytes);
    assert_eq!(ep.stats().drops.get(DropReason::Malformed), 4);
    assert_eq!(drain(&mut ep, now), 0);
    assert_eq!(ep.stats().connections, 0);
}

#[test]
fn stale_handles_are_errors() {
    let (mut net, c, s) = connected();
    net.client.connection_mut(c).unwrap().abort();
    assert!(net.run_until(Duration::from_secs(5), |n| n.saw(
        true,
        s,
        Event::Closed(CloseReason::Reset)
    ) && n.saw(
        false,
        c,
        Event::Closed(CloseReason::Aborted)
    )));
    for (ep, h) in [(&mut net.client, c), (&mut net.server, s)] {
        // Ended, but named by its handle until released.
        assert!(ep.connection(h).is_some());
        assert_eq!(ep.release(h, net.now), Ok(()));
        assert!(ep.connection(h).is_none());
        assert!(ep.connection_mut(h).is_none());
        assert_eq!(
            ep.release(h, net.now),
            Err(EndpointError::UnknownConnection)
        );
        assert_eq!(ep.stats().connections, 0);
    }
    // The slot is reused under a new generation; the old handle stays dead.
    let c2 = net
        .client
        .connect(CLIENT_V4, server_addr(), net.now)
        .unwrap();
    assert_ne!(c2, c);
    assert!(net.client.connection(c).is_none());
    assert!(net.client.connection(c2).is_some());
    // Listener ids too.
    let l = net.server.listen(SocketAddr::new(SERVER_V4, 81)).unwrap();
    net.server.close_listener(l).unwrap();
    assert_eq!(
        net.server.close_listener(l),
        Err(EndpointError::UnknownListener)
    );
    assert_eq!(net.server.accept(l), None);
}

#[test]
fn release_closes_in_the_background() {
    let (mut net, c, s) = connected();
    net.client.release(c, net.now).unwrap();
    assert!(net.client.connection(c).is_none());
    let seen = net.client_events.len();
    // The server sees the FIN, closes too; the released side goes away on
    // its own (through TIME-WAIT) without any event.
    assert!(net.wait_for(true, s, Event::PeerClosed, Duration::from_secs(5)));
    net.close(true, s);
    assert!(net.wait_for(
        true,
        s,
        Event::Closed(CloseReason::Normal),
        Duration::from_secs(5)
    ));
    net.run_for(Duration::from_secs(1));
    assert!(!net.client_events[seen..].iter().any(|(h, _)| *h == c));
    assert_eq!(net.client.stats().connections, 0);
    assert_eq!(net.client.stats().time_wait, 1);
}

#[test]
fn close_listener_resets_what_it_had_not_handed_out() {
    let mut net = EndpointPair::pair();
    let l = net.server.listen(server_addr()).unwrap();
    let c = net
        .client
        .connect(CLIENT_V4, server_addr(), net.now)
        .unwrap();
    assert!(net.run_until(Duration::from_secs(5), |n| n.server.pending_accepts(l) == 1));
    net.server.close_listener(l).unwrap();
    assert!(net.wait_for(
        false,
        c,
        Event::Closed(CloseReason::Reset),
        Duration::from_secs(5)
    ));
    assert_eq!(net.server.stats().connections, 0);
}

#[test]
fn listen_refuses_overlaps_and_bad_addresses() {
    let mut ep = Endpoint::new(config(2)).unwrap();
    let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 80);
    ep.listen(server_addr()).unwrap();
    assert_eq!(ep.listen(server_addr()), Err(EndpointError::AddressInUse));
    assert_eq!(ep.listen(any), Err(EndpointError::AddressInUse));
    // Another port, and the other family, are free.
    let l = ep
        .listen(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 81))
        .unwrap();
    assert_eq!(
        ep.listener_addr(l),
        Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 81))
    );
    ep.listen(SocketAddr::new(SERVER_V6, 80)).unwrap();
    assert_eq!(
        ep.listen(SocketAddr::new(SERVER_V4, 81)),
        Err(EndpointError::AddressInUse)
    );
    let now = crate::time::Instant::ZERO;
    for remote in [
        SocketAddr::new(SERVER_V4, 0),
        SocketAddr::new(SERVER_V6, 80),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::BROADCAST), 80),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 80),
    ] {
        assert_eq!(
            ep.connect(CLIENT_V4, remote, now),
            Err(EndpointError::InvalidAddress),
            "{remote}"
        );
    }
}

#[test]
fn listening_on_port_0_takes_a_free_ephemeral_port() {
    let mut net = EndpointPair::pair();
    let (min, max) = net.server.config().ephemeral_ports;
    let mut taken = BTreeSet::new();
    let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
    for addr in [
        SocketAddr::new(SERVER_V4, 0),
        any,
        SocketAddr::new(SERVER_V6, 0),
    ] {
        let l = net.server.listen(addr).unwrap();
        let bound = net.server.listener_addr(l).unwrap();
        assert_eq!(bound.ip(), addr.ip());
        assert!((min..=max).contains(&bound.port()), "{bound}");
        taken.insert((bound.is_ipv4(), bound.port()));
    }
    // The wildcard listener did not take the specific one's port.
    assert_eq!(taken.len(), 3);
    // It is a listener like any other: a client gets through to it.
    let l = net.server.listen(SocketAddr::new(SERVER_V4, 0)).unwrap();
    let addr = net.server.listener_addr(l).unwrap();
    let (c, _s) = net.connect(CLIENT_V4, addr, l);
    assert_eq!(net.client.connection(c).unwrap().tuple().remote, addr);
}

#[test]
fn port_0_listeners_fail_cleanly_when_the_range_is_full() {
    let mut cfg = config(2);
    cfg.ephemeral_ports = (50000, 50003);
    let mut ep = Endpoint::new(cfg).unwrap();
    // One port of the range is taken by hand, the rest by port 0.
    ep.listen(SocketAddr::new(SERVER_V4, 50002)).unwrap();
    let ports: BTreeSet<u16> = (0..3)
        .map(|_| {
            let l = ep.listen(SocketAddr::new(SERVER_V4, 0)).unwrap();
            ep.listener_addr(l).unwrap().port()
        })
        .collect();
    assert_eq!(ports, BTreeSet::from([50000, 50001, 50003]));
    assert_eq!(
        ep.listen(SocketAddr::new(SERVER_V4, 0)),
        Err(EndpointError::NoEphemeralPorts)
    );
}

#[test]
fn ephemeral_ports_are_unpredictable_and_never_collide() {
    let mut cfg = config(1);
    cfg.ephemeral_ports = (40000, 40049);
    let mut ep = Endpoint::new(cfg).unwrap();
    let now = crate::time::Instant::from_secs(1);
    let remote = SocketAddr::new(SERVER_V4, 80);
    // A listener takes one port of the range.
    ep.listen(SocketAddr::new(CLIENT_V4, 40010)).unwrap();
    let mut ports = Vec::new();
    for _ in 0..49 {
        let h = ep.connect(CLIENT_V4, remote, now).unwrap();
        ports.push(ep.connection(h).unwrap().local_addr().port());
    }
    let distinct: BTreeSet<u16> = ports.iter().copied().collect();
    assert_eq!(distinct.len(), 49);
    assert!(!distinct.contains(&40010));
    assert!(ports.iter().all(|p| (40000..=40049).contains(p)));
    let consecutive = ports.windows(2).filter(|w| w[1] == w[0] + 1).count();
    assert!(consecutive < 40, "{ports:?}");
    assert_eq!(
        ep.connect(CLIENT_V4, remote, now),
        Err(EndpointError::NoEphemeralPorts)
    );
    // Another destination has the whole range again.
    assert!(
        ep.connect(CLIENT_V4, SocketAddr::new(SERVER_V4, 81), now)
            .is_ok()
    );
    // Starting points differ by destination.
    let mut wide = Endpoint::new(config(1)).unwrap();
    let firsts: Vec<u16> = (1..=10)
        .map(|i| {
            let remote = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, i)), 80);
            let h = wide.connect(CLIENT_V4, remote, now).unwrap();
            wide.connection(h).unwrap().local_addr().port()
        })
        .collect();
    assert!(
        firsts.windows(2).all(|w| w[0].abs_diff(w[1]) > 1),
        "{firsts:?}"
    );
}

#[test]
fn time_wait_acks_a_retransmitted_fin_then_expires() {
    let (mut net, c, s) = connected();
    let local = net.client.connection(c).unwrap().local_addr();
    // Drop the client's ACK of the server's FIN once, so the server
    // retransmits its FIN to the client's TIME-WAIT entry.
    let (mut fin_seen, mut dropped) = (false, false);
    net.filter = Some(Box::new(move |to_server, seg: &TcpRepr<'_>| {
        if !to_server && seg.flags.contains(TcpFlags::FIN) {
            fin_seen = true;
        } else if to_server && fin_seen && !dropped && seg.flags == TcpFlags::ACK {
            dropped = true;
            return false;
        }
        true
    }));
    net.client.connection_mut(c).unwrap().write(b"bye").unwrap();
    net.close(false, c);
    assert!(net.wait_for(true, s, Event::PeerClosed, Duration::from_secs(5)));
    net.server
        .connection_mut(s)
        .unwrap()
        .read(net.now, &mut [0; 8])
        .unwrap();
    net.close(true, s);
    // The client enters TIME-WAIT: the table takes over and the
    // application hears Closed(Normal) at once.
    assert!(net.wait_for(
        false,
        c,
        Event::Closed(CloseReason::Normal),
        Duration::from_secs(1)
    ));
    let tw_start = net.now;
    assert_eq!(net.client.stats().time_wait, 1);
    // The connection stays, without buffers, until released.
    assert_eq!(net.client.stats().connections, 1);
    assert_eq!(net.client.stats().buffer_memory, 0);
    let conn = net.client.connection(c).unwrap();
    assert_eq!(conn.state(), State::TimeWait);
    assert!(conn.stats().bytes_sent >= 3);
    net.client.release(c, net.now).unwrap();
    assert_eq!(net.client.stats().connections, 0);
    // The tuple is taken while the entry lives.
    assert_eq!(
        net.client.connect_from(local, server_addr(), net.now),
        Err(EndpointError::AddressInUse)
    );
    // The server's FIN comes again, is ACKed by the entry, and the server
    // finishes.
    assert!(net.wait_for(
        true,
        s,
        Event::Closed(CloseReason::Normal),
        Duration::from_secs(5)
    ));
    let fin_again = net.now;
    assert!(fin_again > tw_start);
    assert_eq!(net.client.stats().drops.get(DropReason::TimeWait), 1);
    // 2·MSL (60 s by default) counts from the retransmitted FIN.
    let two_msl = Config::default().msl.saturating_mul(2);
    net.run_until(Duration::from_secs(120), |n| {
        n.client.stats().time_wait == 0
    });
    assert!(net.now >= fin_again + two_msl - Duration::from_millis(10));
    assert!(net.now <= fin_again + two_msl + Duration::from_millis(10));
    assert_eq!(net.client.poll_timeout(), None);
    // The tuple is free again.
    assert!(
        net.client
            .connect_from(local, server_addr(), net.now)
            .is_ok()
    );
}

#[test]
fn a_newer_syn_reopens_time_wait() {
    reopen_time_wait(true);
    // Without timestamps the sequence number decides (RFC 6191 §2).
    reopen_time_wait(false);
}

/// Two endpoints whose connection the server closed first, so the server
/// holds it in TIME-WAIT; two seconds later. Returns the net, the
/// listener and the client's local address (to reuse the 4-tuple).
fn server_in_time_wait(timestamps: bool) -> (EndpointPair, ListenerId, SocketAddr) {
    let mut client = config(1);
    client.conn.timestamps = timestamps;
    let mut net = EndpointPair::new(client, config(2));
    let l = net.server.listen(server_addr()).unwrap();
    let (c, s) = net.connect(CLIENT_V4, server_addr(), l);
    let local = net.client.connection(c).unwrap().local_addr();
    // The server closes first and so holds TIME-WAIT.
    net.close(true, s);
    assert!(net.wait_for(false, c, Event::PeerClosed, Duration::from_secs(5)));
    net.close(false, c);
    assert!(
        net.run_until(Duration::from_secs(5), |n| n.server.stats().time_wait == 1
            && n.saw(false, c, Event::Closed(CloseReason::Normal)))
    );
    net.run_for(Duration::from_secs(2));
    (net, l, local)
}

/// A connection closed by the server leaves TIME-WAIT there; the client
/// opens the same 4-tuple again two seconds later. With timestamps, the new
/// SYN's TSval is newer because the offset belongs to the address pair.
fn reopen_time_wait(timestamps: bool) {
    let (mut net, l, local) = server_in_time_wait(timestamps);
    // Same 4-tuple, later ISN: the entry gives way and the server accepts.
    let c2 = net
        .client
        .connect_from(local, server_addr(), net.now)
        .unwrap();
    let mut s2 = None;
    assert!(net.run_until(Duration::from_secs(5), |n| {
        s2 = s2.or_else(|| n.server.accept(l));
        s2.is_some() && n.saw(false, c2, Event::Connected)
    }));
    assert_eq!(net.server.stats().time_wait, 0);
    assert_eq!(
        net.server.connection(s2.unwrap()).unwrap().state(),
        State::Established
    );
    let mut flows = [(c2, s2.unwrap(), Stream::new(9, 10_000))];
    transfer(&mut net, &mut flows, Duration::from_secs(5));
}

#[test]
fn a_port_can_be_listened_on_while_a_connection_uses_it() {
    // RFC 9293 §3.9.1.1: a passive OPEN leaves existing connections alone
    // (MUST-41), and a port may be listened on while a connection from it
    // is in SYN-SENT (MUST-42).
    let mut net = EndpointPair::pair();
    let server_l = net.server.listen(server_addr()).unwrap();
    let local = SocketAddr::new(CLIENT_V4, 5000);
    let c = net
        .client
        .connect_from(local, server_addr(), net.now)
        .unwrap();
    assert_eq!(net.client.connection(c).unwrap().state(), State::SynSent);
    let l = net.client.listen(local).unwrap();
    // The connection's handshake completes; the listener gets nothing.
    let mut s = None;
    assert!(net.run_until(Duration::from_secs(5), |n| {
        s = s.or_else(|| n.server.accept(server_l));
        s.is_some() && n.saw(false, c, Event::Connected)
    }));
    assert_eq!(net.client.pending_accepts(l), 0);
    // Another peer's SYN to that port goes to the listener.
    let back = net.server.connect(SERVER_V4, local, net.now).unwrap();
    let mut accepted = None;
    assert!(net.run_until(Duration::from_secs(5), |n| {
        accepted = accepted.or_else(|| n.client.accept(l));
        accepted.is_some() && n.saw(true, back, Event::Connected)
    }));
    assert_eq!(
        net.client.connection(c).unwrap().state(),
        State::Established
    );
    assert_eq!(net.client.stats().connections, 2);
}

#[test]
fn syns_to_broadcast_or_multicast_addresses_are_discarded() {
    // RFC 9293 §3.9.2.3 (MUST-57): silently discarded, even by a wildcard
    // listener.
    let mut ep = Endpoint::new(config(2)).unwrap();
    let now = crate::time::Instant::from_secs(1);
    ep.listen(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 80))
        .unwrap();
    ep.listen(SocketAddr::new(
        IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED),
        80,
    ))
    .unwrap();
    let syn = TcpRepr {
        seq: SeqNumber(1),
        flags: TcpFlags::SYN,
        ..TcpRepr::default()
    };
    let v6_multicast = IpAddr::V6(core::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1));
    for (src, dst) in [
        (CLIENT_V4, IpAddr::V4(Ipv4Addr::BROADCAST)),
        (CLIENT_V4, IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1))),
        (CLIENT_V6, v6_multicast),
    ] {
        let (addrs, bytes) = craft(SocketAddr::new(src, 1000), SocketAddr::new(dst, 80), &syn);
        ep.handle_segment(now, &addrs, &bytes);
    }
    assert_eq!(ep.stats().drops.get(DropReason::Malformed), 3);
    assert_eq!(drain(&mut ep, now), 0);
    assert_eq!(ep.stats().connections, 0);
    // The same SYN to a unicast address opens a connection.
    let (addrs, bytes) = craft(SocketAddr::new(CLIENT_V4, 1000), server_addr(), &syn);
    ep.handle_segment(now, &addrs, &bytes);
    assert_eq!(ep.stats().half_open, 1);
}

#[test]
fn a_syn_that_no_listener_takes_leaves_time_wait_alone() {
    // RFC 9293 MUST-13: TIME-WAIT ends early only when a new connection
    // takes the tuple over; with the listener gone it stays.
    let (mut net, l, local) = server_in_time_wait(true);
    net.server.close_listener(l).unwrap();
    let _ = net
        .client
        .connect_from(local, server_addr(), net.now)
        .unwrap();
    net.run_for(Duration::from_secs(2));
    assert_eq!(net.server.stats().time_wait, 1);
}

/// Found by the `endpoint` fuzz target: the side that shut down second
/// (LAST-ACK, then CLOSED) reported `Closed` and was removed with the
/// peer's data still unread, so the application lost it. A socket keeps
/// its received data readable until the application closes it.
#[test]
fn data_left_unread_stays_readable_after_a_normal_close() {
    let (mut net, c, s) = connected();
    net.client
        .connection_mut(c)
        .unwrap()
        .write(b"unread")
        .unwrap();
    net.client.connection_mut(c).unwrap().shutdown().unwrap();
    assert!(net.wait_for(true, s, Event::PeerClosed, Duration::from_secs(5)));
    // The server shuts down without reading: LAST-ACK, then CLOSED.
    net.server.connection_mut(s).unwrap().shutdown().unwrap();
    assert!(net.wait_for(
        true,
        s,
        Event::Closed(CloseReason::Normal),
        Duration::from_secs(5)
    ));
    net.run_for(Duration::from_secs(1));
    let mut buf = [0u8; 16];
    let conn = net
        .server
        .connection_mut(s)
        .expect("still named by its handle");
    assert_eq!(conn.read(net.now, &mut buf), Ok(6));
    assert_eq!(&buf[..6], b"unread");
    assert_eq!(conn.read(net.now, &mut buf), Ok(0));
    // Read to the end: its buffers go; the connection goes when released.
    net.flush();
    assert_eq!(net.server.stats().buffer_memory, 0);
    assert!(net.server.connection(s).is_some());
    net.server.release(s, net.now).unwrap();
    assert_eq!(net.server.stats().connections, 0);
}

/// A reset connection keeps its final state for the application, as a
/// socket does until closed: reads and writes report the reset, its
/// counters and options stay, and its tuple is free for a new connection.
#[test]
fn a_reset_connection_stays_until_released() {
    let (mut net, c, s) = connected();
    let local = net.client.connection(c).unwrap().local_addr();
    net.client.connection_mut(c).unwrap().write(b"hi").unwrap();
    net.run_for(Duration::from_millis(100));
    net.client.connection_mut(c).unwrap().abort();
    assert!(net.wait_for(
        true,
        s,
        Event::Closed(CloseReason::Reset),
        Duration::from_secs(5)
    ));
    let reset = crate::conn::Error::Closed(CloseReason::Reset);
    let conn = net.server.connection_mut(s).expect("kept until released");
    assert_eq!(conn.read(net.now, &mut [0; 4]), Err(reset));
    assert_eq!(conn.write(b"x"), Err(reset));
    let stats = conn.stats();
    assert_eq!((stats.state, stats.bytes_received), (State::Closed, 2));
    assert!(conn.negotiated().sack);
    // The ended connections no longer own the tuple: it opens again,
    // while the old handle still names the old connection.
    net.client.release(c, net.now).unwrap();
    let c2 = net
        .client
        .connect_from(local, server_addr(), net.now)
        .unwrap();
    assert!(net.wait_for(false, c2, Event::Connected, Duration::from_secs(5)));
    assert_eq!(net.server.connection(s).unwrap().stats(), stats);
    net.server.release(s, net.now).unwrap();
    assert!(net.server.connection(s).is_none());
}

/// The client closed first and holds the only port of its range in
/// TIME-WAIT; returns the net, the listener and the old incarnation's
/// SND.NXT.
fn client_in_time_wait(timestamps: bool, reuse: bool) -> (EndpointPair, ListenerId, SeqNumber) {
    let mut client = config(1);
    client.conn.timestamps = timestamps;
    client.ephemeral_ports = (40000, 40000);
    client.reuse_time_wait = reuse;
    let mut net = EndpointPair::new(client, config(2));
    let l = net.server.listen(server_addr()).unwrap();
    let (c, s) = net.connect(CLIENT_V4, server_addr(), l);
    net.close(false, c);
    assert!(net.wait_for(true, s, Event::PeerClosed, Duration::from_secs(5)));
    net.close(true, s);
    assert!(
        net.run_until(Duration::from_secs(5), |n| n.client.stats().time_wait == 1
            && n.saw(true, s, Event::Closed(CloseReason::Normal)))
    );
    let (_, entry) = net.client.time_wait.iter().next().unwrap();
    let snd_nxt = entry.snd_nxt;
    (net, l, snd_nxt)
}

/// `connect` takes the tuple of its own TIME-WAIT entry once nothing has
/// arrived for it for a second, with timestamps on both incarnations (as
/// Linux's `tcp_tw_reuse`): the new ISS is a window above the old SND.NXT
/// and the server, whose side is closed, accepts it.
#[test]
fn connect_reuses_its_own_time_wait_tuple_after_a_second() {
    let (mut net, l, old_snd_nxt) = client_in_time_wait(true, true);
    // Within the second the only port is taken.
    assert_eq!(
        net.client.connect(CLIENT_V4, server_addr(), net.now),
        Err(EndpointError::NoEphemeralPorts)
    );
    net.run_for(Duration::from_secs(1));
    let c2 = net
        .client
        .connect(CLIENT_V4, server_addr(), net.now)
        .unwrap();
    let s = net.client.stats();
    assert_eq!((s.time_wait, s.time_wait_reused), (0, 1));
    assert_eq!(
        net.client.connection(c2).unwrap().local_addr().port(),
        40000
    );
    let mut buf = [0u8; 1500];
    let syn = net.client.poll_transmit(net.now, &mut buf).unwrap();
    let addrs = syn.tuple.outgoing_addrs().unwrap();
    let seg =
        TcpRepr::parse_bytes(&buf[..syn.len], &addrs, crate::wire::ChecksumMode::Full).unwrap();
    assert!(seg.flags.contains(TcpFlags::SYN));
    assert!(
        seg.seq >= old_snd_nxt + 65537u32,
        "ISS {:?} not above {:?}",
        seg.seq,
        old_snd_nxt
    );
    net.server.handle_segment(net.now, &addrs, &buf[..syn.len]);
    assert!(net.run_until(Duration::from_secs(5), |n| { n.server.accept(l).is_some() }));
}

/// Without timestamps on the old incarnation, or with reuse turned off,
/// the TIME-WAIT entry keeps its tuple for its whole 2·MSL.
#[test]
fn time_wait_is_not_reused_without_timestamps_or_when_turned_off() {
    for (timestamps, reuse) in [(false, true), (true, false)] {
        let (mut net, _, _) = client_in_time_wait(timestamps, reuse);
        net.run_for(Duration::from_secs(2));
        assert_eq!(
            net.client.connect(CLIENT_V4, server_addr(), net.now),
            Err(EndpointError::NoEphemeralPorts),
            "timestamps {timestamps}, reuse {reuse}"
        );
        assert_eq!(net.client.stats().time_wait_reused, 0);
    }
}
