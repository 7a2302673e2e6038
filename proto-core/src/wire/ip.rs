//! IPv4 or IPv6, as a TUN device or a capture delivers them, down to the
//! TCP segment inside.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ipv4::{Ipv4Packet, Ipv4Repr};
use super::ipv6::{Ipv6Packet, Ipv6Repr};
use super::tcp::{TcpPacket, TcpRepr};
use super::{ChecksumMode, Error, IP_PROTOCOL_TCP, Result, ensure_room};

/// Source and destination addresses of one packet, of one family: what the
/// TCP pseudo-header covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpAddrPair {
    /// IPv4 source and destination.
    V4 {
        /// Source address.
        src: Ipv4Addr,
        /// Destination address.
        dst: Ipv4Addr,
    },
    /// IPv6 source and destination.
    V6 {
        /// Source address.
        src: Ipv6Addr,
        /// Destination address.
        dst: Ipv6Addr,
    },
}

impl IpAddrPair {
    /// An IPv4 pair.
    pub const fn v4(src: Ipv4Addr, dst: Ipv4Addr) -> IpAddrPair {
        IpAddrPair::V4 { src, dst }
    }

    /// An IPv6 pair.
    pub const fn v6(src: Ipv6Addr, dst: Ipv6Addr) -> IpAddrPair {
        IpAddrPair::V6 { src, dst }
    }

    /// A pair from two addresses, or `None` when their families differ.
    pub fn new(src: IpAddr, dst: IpAddr) -> Option<IpAddrPair> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => Some(IpAddrPair::V4 { src, dst }),
            (IpAddr::V6(src), IpAddr::V6(dst)) => Some(IpAddrPair::V6 { src, dst }),
            _ => None,
        }
    }

    /// The source address.
    pub fn src(&self) -> IpAddr {
        match *self {
            IpAddrPair::V4 { src, .. } => IpAddr::V4(src),
            IpAddrPair::V6 { src, .. } => IpAddr::V6(src),
        }
    }

    /// The destination address.
    pub fn dst(&self) -> IpAddr {
        match *self {
            IpAddrPair::V4 { dst, .. } => IpAddr::V4(dst),
            IpAddrPair::V6 { dst, .. } => IpAddr::V6(dst),
        }
    }

    /// The pair seen from the other end.
    pub fn reversed(&self) -> IpAddrPair {
        match *self {
            IpAddrPair::V4 { src, dst } => IpAddrPair::V4 { src: dst, dst: src },
            IpAddrPair::V6 { src, dst } => IpAddrPair::V6 { src: dst, dst: src },
        }
    }
}

/// An IPv4 or IPv6 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpRepr {
    /// IPv4.
    V4(Ipv4Repr),
    /// IPv6.
    V6(Ipv6Repr),
}

impl IpRepr {
    /// Source and destination.
    pub fn addrs(&self) -> IpAddrPair {
        match self {
            IpRepr::V4(r) => IpAddrPair::v4(r.src, r.dst),
            IpRepr::V6(r) => IpAddrPair::v6(r.src, r.dst),
        }
    }

    /// The upper-layer protocol number.
    pub fn protocol(&self) -> u8 {
        match self {
            IpRepr::V4(r) => r.protocol,
            IpRepr::V6(r) => r.next_header,
        }
    }

    /// The ECN field (RFC 3168 §5).
    pub fn ecn(&self) -> super::EcnCodepoint {
        super::EcnCodepoint::from_bits(match self {
            IpRepr::V4(r) => r.dscp_ecn,
            IpRepr::V6(r) => r.traffic_class,
        })
    }

    /// Length of the upper-layer payload as the header declares it.
    pub fn payload_len(&self) -> usize {
        match self {
            IpRepr::V4(r) => r.payload_len,
            IpRepr::V6(r) => r.payload_len,
        }
    }

    /// Header length when emitted (no IPv4 options, no IPv6 extensions).
    pub fn header_len(&self) -> usize {
        match self {
            IpRepr::V4(r) => r.header_len(),
            IpRepr::V6(r) => r.header_len(),
        }
    }

    /// Writes the header; `mode` governs the IPv4 header checksum.
    pub fn emit(&self, buf: &mut [u8], mode: ChecksumMode) -> Result<usize> {
        match self {
            IpRepr::V4(r) => r.emit(buf, mode),
            IpRepr::V6(r) => r.emit(buf),
        }
    }
}

/// Whether [`locate_tcp`] accepts a packet whose bytes end before its IP
/// length says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Truncation {
    /// The whole datagram must be present (live traffic).
    Reject,
    /// Only the headers must be present (captures with a snap length).
    Allow,
}

/// A TCP segment found inside an IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpInIp<'a> {
    /// The IP header.
    pub ip: IpRepr,
    /// The TCP bytes present (its header is complete).
    pub tcp: TcpPacket<&'a [u8]>,
    /// The TCP segment length the IP header declares.
    pub tcp_len: usize,
}

impl TcpInIp<'_> {
    /// True when fewer TCP bytes are present than the IP header declares.
    pub fn is_truncated(&self) -> bool {
        self.tcp.total_len() < self.tcp_len
    }

    /// Declared payload length: what the IP header says, less the TCP
    /// header.
    pub fn payload_len(&self) -> usize {
        self.tcp_len.saturating_sub(self.tcp.header_len())
    }
}

/// Finds the TCP segment in an IPv4 or IPv6 packet.
///
/// IPv4 options and IPv6 extension headers are skipped; other protocols
/// are [`Error::NotTcp`] (IPv4 fragments included); fragments of TCP are
/// [`Error::Fragmented`], as is every real IPv6 fragment, whose protocol
/// the extension walk does not report. `mode`
/// applies to the IPv4 header checksum; the TCP checksum is left to the
/// caller ([`TcpRepr::parse`] or [`TcpPacket::verify_checksum`]).
// Inlined into `parse_tcp_in_ip`, per packet: its result came back
// through memory and was read back wider than written, a
// store-forwarding stall.
#[inline]
pub fn locate_tcp(
    packet: &[u8],
    truncation: Truncation,
    mode: ChecksumMode,
) -> Result<TcpInIp<'_>> {
    let version = packet.first().ok_or(Error::Truncated)? >> 4;
    let (ip, payload): (IpRepr, &[u8]) = match version {
        4 => {
            let p = match truncation {
                Truncation::Reject => Ipv4Packet::new_checked(packet)?,
                Truncation::Allow => {
                    let p = Ipv4Packet::new_unchecked(packet);
                    p.check_header()?;
                    p
                }
            };
            // RFC 9293 §3.9.2 (MUST-50): IPv4 options are skipped, never
            // acted on.
            let repr = Ipv4Repr::parse(&p, mode)?;
            // Every IPv4 fragment carries the protocol, so a fragment of
            // anything else is not TCP rather than an unreadable segment.
            if repr.protocol != IP_PROTOCOL_TCP {
                return Err(Error::NotTcp(repr.protocol));
            }
            if p.is_fragment() {
                return Err(Error::Fragmented);
            }
            (IpRepr::V4(repr), p.payload())
        }
        6 => {
            let p = match truncation {
                Truncation::Reject => Ipv6Packet::new_checked(packet)?,
                Truncation::Allow => {
                    let p = Ipv6Packet::new_unchecked(packet);
                    p.check_header()?;
                    p
                }
            };
            let repr = Ipv6Repr::parse(&p)?;
            let (_, offset) = p.upper_layer()?;
            (IpRepr::V6(repr), &p.payload()[offset..])
        }
        v => return Err(Error::BadVersion(v)),
    };
    if ip.protocol() != IP_PROTOCOL_TCP {
        return Err(Error::NotTcp(ip.protocol()));
    }
    let tcp = TcpPacket::new_checked(payload)?;
    Ok(TcpInIp {
        ip,
        tcp,
        tcp_len: ip.payload_len(),
    })
}

/// Parses a complete IP packet carrying TCP. With [`ChecksumMode::Full`]
/// the IPv4 header checksum and the TCP checksum must both be correct.
pub fn parse_tcp_in_ip(packet: &[u8], mode: ChecksumMode) -> Result<(IpRepr, TcpRepr<'_>)> {
    let found = locate_tcp(packet, Truncation::Reject, mode)?;
    let tcp = TcpRepr::parse(&found.tcp, &found.ip.addrs(), mode)?;
    Ok((found.ip, tcp))
}

/// Writes an IP packet carrying `tcp`. The header's protocol and payload
/// length are set from the segment; addresses, TTL and the rest come from
/// `ip`. Returns the packet length.
pub fn emit_tcp_in_ip(
    ip: &IpRepr,
    tcp: &TcpRepr<'_>,
    buf: &mut [u8],
    mode: ChecksumMode,
) -> Result<usize> {
    let mut ip = *ip;
    let tcp_len = tcp.buffer_len();
    match &mut ip {
        IpRepr::V4(r) => {
            r.protocol = IP_PROTOCOL_TCP;
            r.payload_len = tcp_len;
        }
        IpRepr::V6(r) => {
            r.next_header = IP_PROTOCOL_TCP;
            r.payload_len = tcp_len;
        }
    }
    let header_len = ip.header_len();
    ensure_room(buf, header_len + tcp_len)?;
    ip.emit(buf, mode)?;
    let n = tcp.emit(&mut buf[header_len..], &ip.addrs(), mode)?;
    Ok(header_len + n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seq::SeqNumber;
    use crate::wire::tcp::{TcpFlags, TcpOptions};
    use quickcheck::quickcheck;
    use std::vec::Vec;

    fn segment() -> TcpRepr<'static> {
        TcpRepr {
            src_port: 40000,
            dst_port: 80,
            seq: SeqNumber(1),
            ack: SeqNumber(2),
            flags: TcpFlags::ACK | TcpFlags::PSH,
            window: 512,
            options: TcpOptions {
                mss: Some(1460),
                ..TcpOptions::default()
            },
            payload: b"GET / HTTP/1.1\r\n\r\n",
            ..TcpRepr::default()
        }
    }

    fn ipv4() -> IpRepr {
        IpRepr::V4(Ipv4Repr {
            src: Ipv4Addr::new(10, 1, 0, 1),
            dst: Ipv4Addr::new(10, 1, 0, 2),
            protocol: 0,
            payload_len: 0,
            ttl: 64,
            dscp_ecn: 0,
            ident: 7,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
        })
    }

    fn ipv6() -> IpRepr {
        IpRepr::V6(Ipv6Repr {
            src: Ipv6Addr::LOCALHOST,
            dst: Ipv6Addr::LOCALHOST,
            next_header: 0,
            payload_len: 0,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
        })
    }

    #[test]
    fn round_trip_through_both_families() {
        for ip in [ipv4(), ipv6()] {
            let mut buf = [0u8; 200];
            let n = emit_tcp_in_ip(&ip, &segment(), &mut buf, ChecksumMode::Full).unwrap();
            let (ip_back, tcp_back) = parse_tcp_in_ip(&buf[..n], ChecksumMode::Full).unwrap();
            assert_eq!(tcp_back, segment());
            assert_eq!(ip_back.addrs(), ip.addrs());
            assert_eq!(ip_back.payload_len(), segment().buffer_len());
            // Link padding after the datagram is ignored.
            let (_, padded) = parse_tcp_in_ip(&buf[..n + 6], ChecksumMode::Full).unwrap();
            assert_eq!(padded, segment());
        }
    }

    #[test]
    fn truncated_captures_are_located_when_allowed() {
        let mut buf = [0u8; 200];
        let n = emit_tcp_in_ip(&ipv4(), &segment(), &mut buf, ChecksumMode::Full).unwrap();
        let cut = &buf[..n - 5];
        assert_eq!(
            locate_tcp(cut, Truncation::Reject, ChecksumMode::Full).err(),
            Some(Error::Truncated)
        );
        let found = locate_tcp(cut, Truncation::Allow, ChecksumMode::Full).unwrap();
        assert!(found.is_truncated());
        assert_eq!(found.payload_len(), segment().payload.len());
    }

    #[test]
    fn other_protocols_and_versions_are_errors() {
        let mut buf = [0u8; 200];
        let n = emit_tcp_in_ip(&ipv4(), &segment(), &mut buf, ChecksumMode::Skip).unwrap();
        buf[9] = 17;
        assert_eq!(
            parse_tcp_in_ip(&buf[..n], ChecksumMode::Skip).err(),
            Some(Error::NotTcp(17))
        );
        buf[0] = 0x55;
        assert_eq!(
            parse_tcp_in_ip(&buf[..n], ChecksumMode::Skip).err(),
            Some(Error::BadVersion(5))
        );
        assert_eq!(
            parse_tcp_in_ip(&[], ChecksumMode::Skip).err(),
            Some(Error::Truncated)
        );
    }

    #[test]
    fn fragments_of_other_protocols_are_not_tcp() {
        let mut buf = [0u8; 200];
        let IpRepr::V4(mut frag) = ipv4() else {
            unreachable!()
        };
        frag.dont_fragment = false;
        frag.more_fragments = true;
        let n =
            emit_tcp_in_ip(&IpRepr::V4(frag), &segment(), &mut buf, ChecksumMode::Full).unwrap();
        assert_eq!(
            locate_tcp(&buf[..n], Truncation::Reject, ChecksumMode::Full).err(),
            Some(Error::Fragmented)
        );
        // The same fragment of a UDP datagram (header checksum redone).
        buf[9] = 17;
        buf[10..12].fill(0);
        let sum = crate::wire::internet_checksum(&buf[..20]);
        buf[10..12].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(
            locate_tcp(&buf[..n], Truncation::Reject, ChecksumMode::Full).err(),
            Some(Error::NotTcp(17))
        );
    }

    quickcheck! {
        fn arbitrary_packets_never_panic(bytes: Vec<u8>, version: bool) -> bool {
            let mut bytes = bytes;
            if let Some(b) = bytes.first_mut() {
                *b = if version { 0x45 } else { 0x60 };
            }
            for t in [Truncation::Reject, Truncation::Allow] {
                if let Ok(found) = locate_tcp(&bytes, t, ChecksumMode::Skip) {
                    let _ = TcpRepr::parse(&found.tcp, &found.ip.addrs(), ChecksumMode::Full);
                }
            }
            let _ = parse_tcp_in_ip(&bytes, ChecksumMode::Full);
            true
        }
    }
}
