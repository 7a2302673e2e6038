//! ECN through the endpoint: the codepoint in the IP headers it frames and
//! reads, and the agreement carried by SYN cookies.

use super::super::{ConnectionHandle, SynCookieMode};
use super::harness::*;
use crate::conn::EcnMode;
use crate::time::Duration;
use crate::wire::{EcnCodepoint, Ipv4Packet, internet_checksum, parse_tcp_in_ip};
use core::net::SocketAddr;

fn server_addr() -> SocketAddr {
    SocketAddr::new(SERVER_V4, 80)
}

fn asking(secret: u8) -> crate::endpoint::EndpointConfig {
    let mut c = config(secret);
    c.conn.ecn = EcnMode::On;
    c
}

/// Connects a client that asks for ECN to a default server (which accepts)
/// over `link`.
fn connected(
    link: Link,
    cookies: SynCookieMode,
    timestamps: bool,
) -> (EndpointPair, ConnectionHandle, ConnectionHandle) {
    let mut client = asking(1);
    client.conn.timestamps = timestamps;
    let mut server = config(2);
    server.syn_cookies = cookies;
    let mut net = EndpointPair::new(client, server);
    net.link = link;
    let l = net.server.listen(server_addr()).unwrap();
    let (c, s) = net.connect(CLIENT_V4, server_addr(), l);
    (net, c, s)
}

#[test]
fn syn_cookies_carry_the_agreement_only_with_timestamps() {
    for timestamps in [true, false] {
        let (mut net, c, s) = connected(Link::Segments, SynCookieMode::Always, timestamps);
        assert_eq!(net.server.stats().cookies_accepted, 1);
        let cn = net.client.connection(c).unwrap().negotiated();
        let sn = net.server.connection(s).unwrap().negotiated();
        assert_eq!((cn.ecn, sn.ecn), (timestamps, timestamps), "{timestamps}");
        // Data flows with whatever was agreed.
        let len = if cfg!(miri) { 10_000 } else { 50_000 };
        let mut flows = [(c, s, Stream::new(3, len))];
        transfer(&mut net, &mut flows, Duration::from_secs(10));
    }
}

/// Sets the ECN field of the IPv4 packet `bytes` to CE, fixing the header
/// checksum, as a router that marks does.
fn mark_ce(bytes: &mut [u8]) {
    bytes[1] |= EcnCodepoint::Ce.bits();
    bytes[10..12].fill(0);
    let sum = internet_checksum(&bytes[..20]);
    bytes[10..12].copy_from_slice(&sum.to_be_bytes());
}

#[test]
fn ip_headers_carry_ect_and_a_ce_mark_reaches_the_connections() {
    let (mut net, c, s) = connected(Link::Ip, SynCookieMode::WhenFull, true);
    // Under Miri, enough for the marked 5th data packet and the CWR after.
    let mut stream = Stream::new(9, if cfg!(miri) { 30_000 } else { 300_000 });
    let (mut data_packets, mut marked) = (0, 0);
    let end = net.now + Duration::from_secs(20);
    while !stream.done() {
        stream.write(&mut net.client, c);
        let now = net.now;
        stream.read(&mut net.server, s, now);
        net.flush();
        // Look at what is on the wire and mark the 5th data packet.
        for p in net
            .wire
            .0
            .iter_mut()
            .filter(|p| p.to_b && !p.bytes.is_empty())
        {
            let ecn =
                EcnCodepoint::from_bits(Ipv4Packet::new_checked(&p.bytes[..]).unwrap().dscp_ecn());
            if ecn == EcnCodepoint::Ce {
                continue; // seen already
            }
            let (_, seg) = parse_tcp_in_ip(&p.bytes, crate::wire::ChecksumMode::Full).unwrap();
            let expect = if seg.payload.is_empty() {
                EcnCodepoint::NotEct
            } else {
                EcnCodepoint::Ect0
            };
            assert_eq!(ecn, expect, "{:?}", seg.flags);
            if ecn == EcnCodepoint::Ect0 && p.ecn == EcnCodepoint::Ect0 {
                data_packets += 1;
                // Counted: the note beside the packet says so (over an IP
                // link the receiver reads the header, not the note).
                p.ecn = EcnCodepoint::Ect1;
                if data_packets == 5 {
                    mark_ce(&mut p.bytes);
                    marked += 1;
                }
            }
        }
        assert!(net.now <= end, "transfer did not finish in time");
        assert!(net.step(), "transfer stalled");
    }
    assert_eq!(marked, 1);
    let client = net.client.connection(c).unwrap().stats();
    let server = net.server.connection(s).unwrap().stats();
    assert_eq!(server.ecn.ce_received, 1);
    assert_eq!((client.ecn.responses, client.ecn.cwr_sent), (1, 1));
    assert_eq!(client.retransmitted_segments, 0);
}
