//! Arbitrary bytes into the IP layer: `locate_tcp` (both truncation modes,
//! both checksum modes), `parse_tcp_in_ip`, and the IPv4/IPv6 views and
//! representations.
//!
//! Beyond "no panic" it asserts that
//! - a packet located with `Truncation::Reject` is located identically with
//!   `Truncation::Allow`, and is never truncated; a full-checksum result is
//!   the skip-checksum result too;
//! - the IPv4 and IPv6 reprs re-emit and re-parse to themselves;
//! - whatever `parse_tcp_in_ip` accepts re-emits through `emit_tcp_in_ip`
//!   and re-parses to the same TCP repr, the same addresses and the same IP
//!   header (payload length and protocol as the new segment needs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use synack_core::wire::{
    ChecksumMode, IP_PROTOCOL_TCP, IpRepr, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, Truncation,
    emit_tcp_in_ip, locate_tcp, parse_tcp_in_ip,
};
use synack_fuzz::check_options_round_trip;

const MODES: [ChecksumMode; 2] = [ChecksumMode::Full, ChecksumMode::Skip];

fuzz_target!(|bytes: &[u8]| {
    for mode in MODES {
        let reject = locate_tcp(bytes, Truncation::Reject, mode);
        let allow = locate_tcp(bytes, Truncation::Allow, mode);
        if let Ok(found) = &reject {
            assert_eq!(
                allow.as_ref().ok(),
                Some(found),
                "Allow must accept what Reject does"
            );
            assert!(!found.is_truncated());
            assert_eq!(found.tcp.total_len(), found.tcp_len);
        }
        if let Ok(found) = &allow {
            assert!(found.tcp.header_len() <= found.tcp.total_len());
            assert!(found.tcp.total_len() <= bytes.len());
            assert!(found.payload_len() <= found.tcp_len);
            assert_eq!(found.ip.protocol(), IP_PROTOCOL_TCP);
        }
        if mode == ChecksumMode::Full {
            for t in [Truncation::Reject, Truncation::Allow] {
                if let Ok(found) = locate_tcp(bytes, t, mode) {
                    assert_eq!(locate_tcp(bytes, t, ChecksumMode::Skip), Ok(found));
                }
            }
        }
    }

    // The two IP views on their own.
    for mode in MODES {
        if let Ok(p) = Ipv4Packet::new_checked(bytes)
            && let Ok(repr) = Ipv4Repr::parse(&p, mode)
        {
            assert!(p.header_len() <= usize::from(p.total_len()));
            assert_eq!(repr.payload_len, p.payload().len());
            let mut buf = vec![0u8; repr.header_len() + repr.payload_len];
            assert_eq!(repr.emit(&mut buf, mode), Ok(20));
            let again = Ipv4Packet::new_checked(&buf[..]).expect("emitted IPv4 is well formed");
            assert_eq!(Ipv4Repr::parse(&again, mode), Ok(repr));
            if mode == ChecksumMode::Full {
                assert!(again.verify_checksum());
            }
        }
    }
    if let Ok(p) = Ipv6Packet::new_checked(bytes)
        && let Ok(repr) = Ipv6Repr::parse(&p)
    {
        let mut buf = vec![0u8; repr.header_len() + repr.payload_len];
        assert_eq!(repr.emit(&mut buf), Ok(40));
        let again = Ipv6Packet::new_checked(&buf[..]).expect("emitted IPv6 is well formed");
        assert_eq!(Ipv6Repr::parse(&again), Ok(repr));
    }

    // The whole packet, down to the TCP repr, and back.
    let full = parse_tcp_in_ip(bytes, ChecksumMode::Full);
    let skip = parse_tcp_in_ip(bytes, ChecksumMode::Skip);
    if let Ok(f) = &full {
        assert_eq!(
            skip.as_ref().ok(),
            Some(f),
            "a full-checksum parse is a skip parse"
        );
    }
    for (mode, parsed) in [(ChecksumMode::Full, full), (ChecksumMode::Skip, skip)] {
        let Ok((ip, tcp)) = parsed else { continue };
        check_options_round_trip(&tcp.options, true);
        let mut buf = vec![0u8; ip.header_len() + tcp.buffer_len() + 8];
        let n = emit_tcp_in_ip(&ip, &tcp, &mut buf, mode).expect("a parsed packet re-emits");
        assert_eq!(n, ip.header_len() + tcp.buffer_len());
        let (ip2, tcp2) = parse_tcp_in_ip(&buf[..n], mode).expect("an emitted packet parses");
        assert_eq!(tcp2, tcp, "TCP repr changed across emit and parse");
        assert_eq!(
            ip2.addrs(),
            ip.addrs(),
            "addresses changed across emit and parse"
        );
        let expected = match ip {
            IpRepr::V4(r) => IpRepr::V4(Ipv4Repr {
                payload_len: tcp.buffer_len(),
                ..r
            }),
            IpRepr::V6(r) => IpRepr::V6(Ipv6Repr {
                payload_len: tcp.buffer_len(),
                ..r
            }),
        };
        assert_eq!(ip2, expected, "IP header changed across emit and parse");
        // Link padding after the datagram changes nothing.
        let mut padded = buf.clone();
        padded[n..].fill(0xa5);
        assert_eq!(parse_tcp_in_ip(&padded, mode), Ok((ip2, tcp2)));
    }
});
