//! The keyed pseudo-random function behind initial sequence numbers
//! ([`crate::isn`]) and SYN cookies ([`crate::syncookie`]): SipHash-2-4
//! under a 128-bit host-supplied secret.
//!
//! RFC 6528 §3 asks for a pseudorandom function that cannot be computed
//! from outside without the secret; SipHash-2-4 is a PRF with a 128-bit key
//! designed for short inputs like a 4-tuple, which is all we feed it. Every message starts
//! with a [`Domain`] byte so that one secret used by several features never
//! yields the same value for two purposes.
//!
//! Message layout (all integers big-endian):
//!
//! ```text
//! domain (1) | local endpoint | remote endpoint | extra bytes
//! endpoint  = family (1: 4 or 6) | address (4 or 16) | port (2)
//! ```
//!
//! The family byte fixes the address length, so the encoding is prefix-free:
//! an IPv4 tuple can never hash like an IPv6 one, nor can the address bytes
//! of one tuple be read as the port of another. The IPv6 flow label and
//! scope id are not part of a TCP connection's name (RFC 9293 names a
//! connection by its pair of sockets, addresses and ports) and are left out. An IPv4-mapped IPv6 address is
//! hashed as the IPv6 address it is; hosts pass one form consistently.

use core::fmt;
use core::hash::Hasher;
use core::net::{IpAddr, SocketAddr};

use siphasher::sip::SipHasher24;

use crate::tuple::FourTuple;

/// Separates the uses of one secret, so outputs for one purpose say nothing
/// about outputs for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Domain {
    /// F() of RFC 6528 §3.
    Isn = 1,
    /// The authenticator bits of a SYN cookie.
    CookieMac = 2,
    /// The mask that hides a cookie's counter and MSS bits.
    CookieMask = 3,
    /// F() and G() of RFC 6056 §3.3.4: the ephemeral port offset and
    /// counter-table index for a destination.
    PortSelect = 4,
    /// The unpredictable step by which a port counter advances.
    PortStep = 5,
    /// The timestamp offset of an address pair (RFC 7323 §5.4).
    TimestampOffset = 6,
}

/// SipHash-2-4 keyed with a secret that never leaves this value.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct KeyedHash {
    key: [u8; 16],
}

impl KeyedHash {
    /// A PRF keyed with `key`.
    pub(crate) const fn new(key: [u8; 16]) -> KeyedHash {
        KeyedHash { key }
    }

    /// SipHash-2-4 of `domain`, `tuple` and `extra`, laid out as the module
    /// documentation describes.
    pub(crate) fn hash_tuple(&self, domain: Domain, tuple: &FourTuple, extra: &[u8]) -> u64 {
        let mut h = SipHasher24::new_with_key(&self.key);
        h.write(&[domain as u8]);
        write_endpoint(&mut h, &tuple.local);
        write_endpoint(&mut h, &tuple.remote);
        h.write(extra);
        h.finish()
    }
}

/// Family, address and port of one end; see the module documentation.
fn write_endpoint(h: &mut SipHasher24, end: &SocketAddr) {
    match end.ip() {
        IpAddr::V4(a) => {
            h.write(&[4]);
            h.write(&a.octets());
        }
        IpAddr::V6(a) => {
            h.write(&[6]);
            h.write(&a.octets());
        }
    }
    h.write(&end.port().to_be_bytes());
}

/// Never prints the key: debug output ends up in logs.
impl fmt::Debug for KeyedHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyedHash { key: <redacted> }")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use std::format;

    /// A fixed IPv4 tuple for tests: 192.0.2.1:80 ← 198.51.100.7:49152.
    pub(crate) fn tuple_v4() -> FourTuple {
        FourTuple::new(
            SocketAddr::new(Ipv4Addr::new(192, 0, 2, 1).into(), 80),
            SocketAddr::new(Ipv4Addr::new(198, 51, 100, 7).into(), 49152),
        )
    }

    /// A fixed IPv6 tuple for tests: [2001:db8::1]:443 ← [2001:db8::2]:50000.
    pub(crate) fn tuple_v6() -> FourTuple {
        FourTuple::new(
            SocketAddr::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).into(), 443),
            SocketAddr::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2).into(), 50000),
        )
    }

    #[test]
    fn siphash_paper_test_vector() {
        // Aumasson & Bernstein, "SipHash: a fast short-input PRF",
        // Appendix A: key 00 01 .. 0f, message 00 01 .. 0e (15 bytes),
        // output bytes e5 45 be 49 61 ca 29 a1, i.e. this little-endian u64.
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let msg: [u8; 15] = core::array::from_fn(|i| i as u8);
        let mut h = SipHasher24::new_with_key(&key);
        h.write(&msg);
        assert_eq!(h.finish(), 0xa129_ca61_49be_45e5);
        // Streaming in pieces hashes the concatenation, which the message
        // layout above relies on.
        let mut h = SipHasher24::new_with_key(&key);
        h.write(&msg[..1]);
        h.write(&msg[1..10]);
        h.write(&msg[10..]);
        assert_eq!(h.finish(), 0xa129_ca61_49be_45e5);
    }

    #[test]
    fn layout_matches_an_independent_encoding() {
        // The same bytes laid out by hand give the same hash: domain 1,
        // 4 | 192.0.2.1 | 80, 4 | 198.51.100.7 | 49152, extra ab cd.
        let key = [7u8; 16];
        let msg = [
            1, 4, 192, 0, 2, 1, 0, 80, 4, 198, 51, 100, 7, 0xc0, 0x00, 0xab, 0xcd,
        ];
        let mut h = SipHasher24::new_with_key(&key);
        h.write(&msg);
        let k = KeyedHash::new(key);
        assert_eq!(
            k.hash_tuple(Domain::Isn, &tuple_v4(), &[0xab, 0xcd]),
            h.finish()
        );
    }

    #[test]
    fn domains_families_and_directions_are_separated() {
        let k = KeyedHash::new([1; 16]);
        let t = tuple_v4();
        let isn = k.hash_tuple(Domain::Isn, &t, &[]);
        assert_ne!(isn, k.hash_tuple(Domain::CookieMac, &t, &[]));
        assert_ne!(isn, k.hash_tuple(Domain::CookieMask, &t, &[]));
        // The reverse direction is a different tuple.
        let rev = FourTuple::new(t.remote, t.local);
        assert_ne!(isn, k.hash_tuple(Domain::Isn, &rev, &[]));
        // 192.0.2.1 as an IPv4-mapped IPv6 address is a different family.
        let mapped = FourTuple::new(
            SocketAddr::new(
                Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped().into(),
                t.local.port(),
            ),
            SocketAddr::new(
                Ipv4Addr::new(198, 51, 100, 7).to_ipv6_mapped().into(),
                t.remote.port(),
            ),
        );
        assert_ne!(isn, k.hash_tuple(Domain::Isn, &mapped, &[]));
    }

    #[test]
    fn debug_hides_the_key() {
        let s = format!("{:?}", KeyedHash::new([0x5a; 16]));
        assert!(!s.contains("90"), "{s}");
        assert!(s.contains("redacted"));
    }
}
