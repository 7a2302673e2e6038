//! Link-layer headers: from a captured frame to the IP packet inside it.
//!
//! This is capture plumbing, not TCP logic: it only finds where the IP
//! packet starts and which family the link layer says it is. Everything
//! from the IP header on is decoded by `synack_core::wire`.

/// `LINKTYPE_NULL`: BSD loopback, a 4-byte address family in the byte
/// order of the machine that captured it.
pub const NULL: u32 = 0;
/// `LINKTYPE_ETHERNET`.
pub const ETHERNET: u32 = 1;
/// `DLT_RAW` as most systems number it in files.
pub const RAW_12: u32 = 12;
/// `DLT_RAW` as some BSDs number it in files.
pub const RAW_14: u32 = 14;
/// `LINKTYPE_RAW`: the frame is an IPv4 or IPv6 packet.
pub const RAW: u32 = 101;
/// `LINKTYPE_LOOP`: OpenBSD loopback, the family in network byte order.
pub const LOOP: u32 = 108;
/// `LINKTYPE_LINUX_SLL`: Linux "cooked" capture, version 1.
pub const LINUX_SLL: u32 = 113;
/// `LINKTYPE_IPV4`: the frame is an IPv4 packet.
pub const IPV4: u32 = 228;
/// `LINKTYPE_IPV6`: the frame is an IPv6 packet.
pub const IPV6: u32 = 229;
/// `LINKTYPE_LINUX_SLL2`: Linux "cooked" capture, version 2.
pub const LINUX_SLL2: u32 = 276;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
/// The pre-standard QinQ tag some switches still send.
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;

/// More stacked VLAN tags than any real network uses; bounds the walk.
const MAX_VLAN_TAGS: usize = 8;

/// The IP family a link header announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// The link header says IPv4.
    V4,
    /// The link header says IPv6.
    V6,
    /// The link header does not say (raw IP): the version nibble decides.
    Either,
}

/// What a frame carries, as far as the link layer can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload<'a> {
    /// An IP packet, starting at the first byte of the IP header.
    Ip {
        /// The family the link header announces.
        family: Family,
        /// The bytes from the IP header to the end of the captured frame.
        bytes: &'a [u8],
    },
    /// Something other than IP (ARP, LLC, …), or a link header cut short.
    NotIp,
    /// A link type this command does not decode.
    UnsupportedLinkType,
}

/// True for the link types [`ip_payload`] decodes.
pub fn is_supported(linktype: u32) -> bool {
    matches!(
        linktype,
        NULL | ETHERNET | RAW_12 | RAW_14 | RAW | LOOP | LINUX_SLL | IPV4 | IPV6 | LINUX_SLL2
    )
}

/// Finds the IP packet in a frame of link type `linktype`.
pub fn ip_payload(linktype: u32, frame: &[u8]) -> Payload<'_> {
    match linktype {
        ETHERNET => ethernet(frame),
        RAW_12 | RAW_14 | RAW => Payload::Ip {
            family: Family::Either,
            bytes: frame,
        },
        IPV4 => Payload::Ip {
            family: Family::V4,
            bytes: frame,
        },
        IPV6 => Payload::Ip {
            family: Family::V6,
            bytes: frame,
        },
        LINUX_SLL => by_ethertype(be16(frame, 14), frame.get(16..)),
        LINUX_SLL2 => by_ethertype(be16(frame, 0), frame.get(20..)),
        NULL => {
            let Some(head) = frame.get(..4) else {
                return Payload::NotIp;
            };
            // The family is in the capturing host's byte order; families
            // are small, so a value with high bits set is byte-swapped.
            let mut family = u32::from_ne_bytes([head[0], head[1], head[2], head[3]]);
            if family > 0xffff {
                family = family.swap_bytes();
            }
            by_family(family, &frame[4..])
        }
        LOOP => match frame.get(..4) {
            Some(head) => by_family(
                u32::from_be_bytes([head[0], head[1], head[2], head[3]]),
                &frame[4..],
            ),
            None => Payload::NotIp,
        },
        _ => Payload::UnsupportedLinkType,
    }
}

/// Ethernet II, stepping over 802.1Q / 802.1ad tags.
fn ethernet(frame: &[u8]) -> Payload<'_> {
    let mut at = 12;
    for _ in 0..=MAX_VLAN_TAGS {
        match be16(frame, at) {
            Some(ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD) => at += 4,
            ethertype => return by_ethertype(ethertype, frame.get(at + 2..)),
        }
    }
    Payload::NotIp
}

fn by_ethertype(ethertype: Option<u16>, rest: Option<&[u8]>) -> Payload<'_> {
    let family = match ethertype {
        Some(ETHERTYPE_IPV4) => Family::V4,
        Some(ETHERTYPE_IPV6) => Family::V6,
        _ => return Payload::NotIp,
    };
    match rest {
        Some(bytes) => Payload::Ip { family, bytes },
        None => Payload::NotIp,
    }
}

/// BSD address families: `AF_INET` is 2 everywhere, `AF_INET6` differs by
/// system (24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS). Linux never writes
/// these link types, so its `AF_INET6` (10) is not among them.
fn by_family(family: u32, rest: &[u8]) -> Payload<'_> {
    let family = match family {
        2 => Family::V4,
        24 | 28 | 30 => Family::V6,
        _ => return Payload::NotIp,
    };
    Payload::Ip {
        family,
        bytes: rest,
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: &[u8] = &[0x45, 0, 0, 20];

    fn ip(family: Family) -> Payload<'static> {
        Payload::Ip { family, bytes: IP }
    }

    #[test]
    fn ethernet_with_and_without_vlan_tags() {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(IP);
        assert_eq!(ip_payload(ETHERNET, &frame), ip(Family::V4));

        let mut tagged = vec![0u8; 12];
        tagged.extend_from_slice(&[0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x86, 0xdd]);
        tagged.extend_from_slice(IP);
        assert_eq!(ip_payload(ETHERNET, &tagged), ip(Family::V6));

        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&[0x08, 0x06, 0, 1]);
        assert_eq!(ip_payload(ETHERNET, &arp), Payload::NotIp);
        assert_eq!(ip_payload(ETHERNET, &[0u8; 13]), Payload::NotIp);
    }

    #[test]
    fn endless_vlan_tags_are_bounded() {
        let mut frame = vec![0u8; 12];
        for _ in 0..20 {
            frame.extend_from_slice(&[0x81, 0x00, 0, 1]);
        }
        assert_eq!(ip_payload(ETHERNET, &frame), Payload::NotIp);
    }

    #[test]
    fn cooked_captures() {
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(IP);
        assert_eq!(ip_payload(LINUX_SLL, &sll), ip(Family::V4));

        let mut sll2 = vec![0x86, 0xdd];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(IP);
        assert_eq!(ip_payload(LINUX_SLL2, &sll2), ip(Family::V6));
        assert_eq!(ip_payload(LINUX_SLL2, &sll2[..19]), Payload::NotIp);
    }

    #[test]
    fn loopback_families_in_either_byte_order() {
        for head in [[2u8, 0, 0, 0], [0, 0, 0, 2]] {
            let mut frame = head.to_vec();
            frame.extend_from_slice(IP);
            assert_eq!(ip_payload(NULL, &frame), ip(Family::V4));
        }
        let mut frame = vec![0, 0, 0, 24];
        frame.extend_from_slice(IP);
        assert_eq!(ip_payload(LOOP, &frame), ip(Family::V6));
        assert_eq!(ip_payload(LOOP, &[0, 0, 0, 7, 1]), Payload::NotIp);
    }

    #[test]
    fn raw_and_unknown_link_types() {
        for lt in [RAW, RAW_12, RAW_14] {
            assert_eq!(ip_payload(lt, IP), ip(Family::Either));
        }
        assert_eq!(ip_payload(IPV4, IP), ip(Family::V4));
        assert_eq!(ip_payload(IPV6, IP), ip(Family::V6));
        assert_eq!(ip_payload(147, IP), Payload::UnsupportedLinkType);
        assert!(!is_supported(147));
        assert!(is_supported(LINUX_SLL2));
    }
}
