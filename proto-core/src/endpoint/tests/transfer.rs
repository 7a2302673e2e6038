//! Data through endpoints: bulk transfers over both families and both link
//! kinds, and many connections over one listener.

use std::vec::Vec;

use super::harness::*;
use crate::conn::{CloseReason, Event};
use crate::time::Duration;
use crate::wire::{ChecksumMode, IpRepr, parse_tcp_in_ip};
use core::net::{IpAddr, SocketAddr};

const MB: u64 = 1024 * 1024;
/// Under Miri, which interprets every byte of every checksum and copy, the
/// bulk transfers are a few dozen segments: the same code, far fewer bytes.
const BULK: u64 = if cfg!(miri) { 16 * 1024 } else { 100 * MB };

/// 100 MB (`BULK`) client → server, checked byte for byte, then a clean
/// close.
fn hundred_megabytes(client_ip: IpAddr, server_ip: IpAddr, link: Link) {
    let mut net = EndpointPair::pair();
    net.link = link;
    let server_addr = SocketAddr::new(server_ip, 5001);
    let l = net.server.listen(server_addr).unwrap();
    let (c, s) = net.connect(client_ip, server_addr, l);
    let mut flows = [(c, s, Stream::new(7, BULK))];
    transfer(&mut net, &mut flows, Duration::from_secs(300));
    // Close both ways: buffers go at once, connections when released.
    net.close(false, c);
    assert!(net.wait_for(true, s, Event::PeerClosed, Duration::from_secs(5)));
    net.close(true, s);
    assert!(net.run_until(Duration::from_secs(5), |n| n.saw(
        true,
        s,
        Event::Closed(CloseReason::Normal)
    ) && n.saw(
        false,
        c,
        Event::Closed(CloseReason::Normal)
    )));
    let (cs, ss) = (net.client.stats(), net.server.stats());
    assert_eq!((cs.connections, ss.connections), (1, 1));
    assert_eq!((cs.buffer_memory, ss.buffer_memory), (0, 0));
    net.client.release(c, net.now).unwrap();
    net.server.release(s, net.now).unwrap();
    let (cs, ss) = (net.client.stats(), net.server.stats());
    assert_eq!((cs.connections, ss.connections), (0, 0));
    // The client closed first: its TIME-WAIT entry remains.
    assert_eq!((cs.time_wait, ss.time_wait), (1, 0));
    assert_eq!(cs.drops.total() + ss.drops.total(), 0, "{cs:?} {ss:?}");
}

#[test]
fn hundred_megabytes_over_ipv4_segments() {
    hundred_megabytes(CLIENT_V4, SERVER_V4, Link::Segments);
}

#[test]
fn hundred_megabytes_over_ipv6_packets() {
    hundred_megabytes(CLIENT_V6, SERVER_V6, Link::Ip);
}

#[test]
fn concurrent_connections_over_one_listener() {
    let mut net = EndpointPair::pair();
    let server_addr = SocketAddr::new(SERVER_V4, 80);
    let l = net.server.listen(server_addr).unwrap();
    let mut flows = Vec::new();
    for seed in 0..8 {
        let (c, s) = net.connect(CLIENT_V4, server_addr, l);
        let len = if cfg!(miri) {
            2048 + seed * 100
        } else {
            MB + seed * 1000
        };
        flows.push((c, s, Stream::new(100 + seed, len)));
    }
    // Eight different ephemeral ports, one listener.
    let mut ports: Vec<u16> = flows
        .iter()
        .map(|(c, _, _)| net.client.connection(*c).unwrap().local_addr().port())
        .collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 8);
    transfer(&mut net, &mut flows, Duration::from_secs(60));
    assert_eq!(net.server.stats().connections, 8);
    assert_eq!(net.server.stats().connections_opened, 8);
}

#[test]
fn ip_packets_in_and_out_for_both_families() {
    for (client_ip, server_ip) in [(CLIENT_V4, SERVER_V4), (CLIENT_V6, SERVER_V6)] {
        let mut server_cfg = config(2);
        server_cfg.ip_ttl = 17;
        let mut net = EndpointPair::new(config(1), server_cfg);
        net.link = Link::Ip;
        let server_addr = SocketAddr::new(server_ip, 443);
        let l = net.server.listen(server_addr).unwrap();
        // Hand-carry the SYN and look at the packets.
        let c = net.client.connect(client_ip, server_addr, net.now).unwrap();
        let mut buf = [0u8; 1500];
        let syn = net.client.poll_transmit_ip(net.now, &mut buf).unwrap();
        let (ip, tcp) = parse_tcp_in_ip(&buf[..syn.len], ChecksumMode::Full).unwrap();
        assert_eq!(ip.addrs().src(), client_ip);
        assert!(tcp.flags.contains(crate::wire::TcpFlags::SYN));
        net.server.handle_ip_packet(net.now, &buf[..syn.len]);
        let syn_ack = net.server.poll_transmit_ip(net.now, &mut buf).unwrap();
        let (ip, _) = parse_tcp_in_ip(&buf[..syn_ack.len], ChecksumMode::Full).unwrap();
        match ip {
            IpRepr::V4(r) => assert_eq!((r.ttl, r.dont_fragment), (17, true)),
            IpRepr::V6(r) => assert_eq!(r.hop_limit, 17),
        }
        net.client.handle_ip_packet(net.now, &buf[..syn_ack.len]);
        // The rest over the wire, with data.
        let mut s = None;
        assert!(net.run_until(Duration::from_secs(5), |n| {
            s = s.or_else(|| n.server.accept(l));
            s.is_some()
        }));
        let len = if cfg!(miri) { 10_000 } else { 200_000 };
        let mut flows = [(c, s.unwrap(), Stream::new(3, len))];
        transfer(&mut net, &mut flows, Duration::from_secs(10));
        // Garbage, or not IP at all: counted, not answered.
        let before = net.server.stats().drops;
        buf[..syn_ack.len].fill(0x45); // IPv4 claiming 17 733 bytes
        net.server.handle_ip_packet(net.now, &buf[..syn_ack.len]);
        net.server.handle_ip_packet(net.now, &[]);
        let after = net.server.stats().drops;
        assert_eq!(
            after.get(DropReason::Malformed),
            before.get(DropReason::Malformed) + 2
        );
        assert_eq!(
            after.get(DropReason::NotTcp),
            before.get(DropReason::NotTcp)
        );
    }
}

#[test]
fn sending_takes_turns_across_connections() {
    let mut net = EndpointPair::pair();
    let server_addr = SocketAddr::new(SERVER_V4, 80);
    let l = net.server.listen(server_addr).unwrap();
    let (a, _) = net.connect(CLIENT_V4, server_addr, l);
    let (b, _) = net.connect(CLIENT_V4, server_addr, l);
    let ports = [a, b].map(|h| net.client.connection(h).unwrap().local_addr().port());
    for h in [a, b] {
        let data = [7u8; 60_000];
        assert_eq!(
            net.client.connection_mut(h).unwrap().write(&data),
            Ok(60_000)
        );
    }
    // Both have a window's worth to send: segments alternate.
    let mut buf = [0u8; 1500];
    let order: Vec<u16> = (0..20)
        .map(|_| {
            net.client
                .poll_transmit(net.now, &mut buf)
                .unwrap()
                .tuple
                .local
                .port()
        })
        .collect();
    for pair in order.chunks(2) {
        assert!(
            pair.contains(&ports[0]) && pair.contains(&ports[1]),
            "{order:?}"
        );
    }
}

#[test]
fn fragments_and_other_protocols_are_counted_apart_from_malformed_packets() {
    use crate::seq::SeqNumber;
    use crate::wire::{Ipv4Repr, TcpFlags, TcpRepr, emit_tcp_in_ip};
    let mut ep = crate::endpoint::Endpoint::new(config(2)).unwrap();
    let now = crate::time::Instant::from_secs(1);
    ep.listen(SocketAddr::new(SERVER_V4, 80)).unwrap();
    let syn = TcpRepr {
        src_port: 1000,
        dst_port: 80,
        seq: SeqNumber(1),
        flags: TcpFlags::SYN,
        ..TcpRepr::default()
    };
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (CLIENT_V4, SERVER_V4) else {
        unreachable!()
    };
    let mut ip = Ipv4Repr {
        src,
        dst,
        protocol: 6,
        payload_len: 0,
        ttl: 64,
        dscp_ecn: 0,
        ident: 7,
        dont_fragment: false,
        more_fragments: true,
        fragment_offset: 0,
    };
    let mut buf = [0u8; 100];
    let n = emit_tcp_in_ip(&IpRepr::V4(ip), &syn, &mut buf, ChecksumMode::Full).unwrap();
    ep.handle_ip_packet(now, &buf[..n]); // a first fragment
    ip.more_fragments = false;
    let n = emit_tcp_in_ip(&IpRepr::V4(ip), &syn, &mut buf, ChecksumMode::Full).unwrap();
    buf[9] = 17; // UDP; the header checksum no longer matches
    ep.handle_ip_packet(now, &buf[..n]);
    let drops = ep.stats().drops;
    assert_eq!(
        (
            drops.get(DropReason::Fragment),
            drops.get(DropReason::NotTcp),
            drops.get(DropReason::Malformed)
        ),
        (1, 0, 1),
        "{drops:?}"
    );
    // With its checksum right, the UDP packet is simply not TCP.
    buf[10..12].fill(0);
    let sum = crate::wire::internet_checksum(&buf[..20]);
    buf[10..12].copy_from_slice(&sum.to_be_bytes());
    ep.handle_ip_packet(now, &buf[..n]);
    assert_eq!(ep.stats().drops.get(DropReason::NotTcp), 1);
    assert_eq!(ep.stats().connections, 0);
}
