//! Initial sequence numbers (RFC 6528).
//!
//! `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)`
//! (RFC 6528 §3), where
//! - `M` is a timer ticking every 4 microseconds (the ISN clock of RFC 9293
//!   §3.4.1), here `now / 4 µs` truncated to 32 bits, so it wraps about every
//!   4.8 hours;
//! - `F` is the low 32 bits of SipHash-2-4 over the 4-tuple, keyed with the
//!   host's 128-bit secret (see `keyed_hash` for the exact byte layout,
//!   which includes the address family so IPv4 and IPv6 tuples never
//!   collide by construction).
//!
//! Each 4-tuple thus gets its own sequence-number space that advances with
//! the clock, so a new incarnation of a connection starts above the old one
//! (which keeps old duplicates out), while an off-path attacker who cannot
//! compute `F` cannot guess the ISN of someone else's connection.
//!
//! The secret comes from the host: the core has no randomness of its own.
//! Fill all 128 bits from a cryptographically secure source (`F` must not be
//! computable from outside, RFC 6528 §3) and keep it for the life of the
//! host; changing it moves every tuple's sequence space, which
//! gives up the monotonic-per-tuple property across the change.

use crate::keyed_hash::{Domain, KeyedHash};
use crate::seq::SeqNumber;
use crate::time::Instant;
use crate::tuple::FourTuple;

/// Microseconds per tick of the ISN clock `M` (RFC 9293 §3.4.1, RFC 6528 §3).
pub const ISN_CLOCK_TICK_MICROS: u64 = 4;

/// Computes RFC 6528 initial sequence numbers from a host-supplied secret.
///
/// `Debug` output does not show the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsnGenerator {
    prf: KeyedHash,
}

impl IsnGenerator {
    /// A generator keyed with `secret`, which should be 16 bytes from a
    /// cryptographically secure random source.
    pub const fn new(secret: [u8; 16]) -> IsnGenerator {
        IsnGenerator {
            prf: KeyedHash::new(secret),
        }
    }

    /// The ISN for a connection on `tuple` (from this host's point of view)
    /// opened at `now`: `M + F(tuple, secret)` modulo 2³².
    // RFC 9293 §3.4.1 (MUST-8): M is the 4 µs clock; (SHLD-1, MUST-9): F is
    // SipHash-2-4 keyed with the host's secret.
    pub fn generate(&self, tuple: &FourTuple, now: Instant) -> SeqNumber {
        // Truncation to 32 bits is the wrap of the ISN clock: the sequence
        // space is modular anyway (RFC 9293 §3.4).
        let m = (now.total_micros() / ISN_CLOCK_TICK_MICROS) as u32;
        let f = self.prf.hash_tuple(Domain::Isn, tuple, &[]) as u32;
        SeqNumber(m.wrapping_add(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyed_hash::tests::{tuple_v4, tuple_v6};
    use crate::time::Duration;
    use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    use quickcheck::quickcheck;

    const KEY: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    #[test]
    fn golden_values() {
        // Computed with an independent SipHash-2-4 written from the paper:
        // F(v4) = low 32 bits of 0x60733e6c00181480 = 0x00181480,
        // M = 1_234_567_890_123 / 4 mod 2^32 = 0xdc7ec132,
        // ISN = 0xdc7ec132 + 0x00181480 = 0xdc96d5b2 = 3_700_872_626.
        let g = IsnGenerator::new(KEY);
        let now = Instant::from_micros(1_234_567_890_123);
        assert_eq!(g.generate(&tuple_v4(), now), SeqNumber(3_700_872_626));
        // F(v6) = low 32 bits of 0x33702cfa165b22de.
        assert_eq!(g.generate(&tuple_v6(), now), SeqNumber(4_074_365_968));
    }

    #[test]
    fn deterministic() {
        let now = Instant::from_millis(42);
        let a = IsnGenerator::new(KEY);
        let b = IsnGenerator::new(KEY);
        assert_eq!(a.generate(&tuple_v4(), now), b.generate(&tuple_v4(), now));
        assert_eq!(a.generate(&tuple_v6(), now), a.generate(&tuple_v6(), now));
    }

    #[test]
    fn tuples_and_secrets_differ() {
        let g = IsnGenerator::new(KEY);
        let now = Instant::from_secs(7);
        let base = tuple_v4();
        let isn = g.generate(&base, now);
        let mut other_port = base;
        other_port.remote.set_port(49153);
        let mut other_local_port = base;
        other_local_port.local.set_port(81);
        let mut other_ip = base;
        other_ip
            .remote
            .set_ip(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 8)));
        let swapped = FourTuple::new(base.remote, base.local);
        for t in [other_port, other_local_port, other_ip, swapped, tuple_v6()] {
            assert_ne!(g.generate(&t, now), isn, "{t:?}");
        }
        let mut key2 = KEY;
        key2[15] ^= 1;
        assert_ne!(IsnGenerator::new(key2).generate(&base, now), isn);
    }

    #[test]
    fn clock_advances_250_per_millisecond() {
        let g = IsnGenerator::new(KEY);
        let t0 = Instant::from_secs(3);
        let isn0 = g.generate(&tuple_v4(), t0);
        let isn1 = g.generate(&tuple_v4(), t0 + Duration::from_millis(1));
        assert_eq!(isn1.distance_from(isn0), 250);
        // One tick is 4 µs: 3 µs later is the same ISN, 4 µs later is +1.
        assert_eq!(g.generate(&tuple_v4(), t0 + Duration::from_micros(3)), isn0);
        assert_eq!(
            g.generate(&tuple_v4(), t0 + Duration::from_micros(4)),
            isn0 + 1u32
        );
        // One second is 250 000 ticks.
        let isn_s = g.generate(&tuple_v4(), t0 + Duration::from_secs(1));
        assert_eq!(isn_s.distance_from(isn0), 250_000);
    }

    #[test]
    fn clock_wrap_is_modular() {
        // M wraps at 2^32 ticks = 4 * 2^32 µs (about 4.77 hours).
        let g = IsnGenerator::new(KEY);
        let wrap = Instant::from_micros(4 << 32);
        let before = g.generate(&tuple_v6(), wrap - Duration::from_micros(4));
        let at = g.generate(&tuple_v6(), wrap);
        assert_eq!(at.distance_from(before), 1);
        // A full period later the ISN repeats; F alone decides it at M = 0.
        assert_eq!(at, g.generate(&tuple_v6(), Instant::ZERO));
        // The far end of the clock does not panic.
        let _ = g.generate(&tuple_v6(), Instant::MAX);
    }

    quickcheck! {
        fn same_inputs_same_isn(key: u128, a: u32, b: u32, p: u16, q: u16, t: u64) -> bool {
            let tuple = FourTuple::new(
                SocketAddr::new(Ipv4Addr::from(a).into(), p),
                SocketAddr::new(Ipv4Addr::from(b).into(), q),
            );
            let g = IsnGenerator::new(key.to_le_bytes());
            g.generate(&tuple, Instant::from_micros(t))
                == IsnGenerator::new(key.to_le_bytes()).generate(&tuple, Instant::from_micros(t))
        }

        fn elapsed_ticks_add_to_the_isn(key: u128, a: u128, b: u128, p: u16, t: u64, dt: u32) -> bool {
            let tuple = FourTuple::new(
                SocketAddr::new(Ipv6Addr::from(a).into(), p),
                SocketAddr::new(Ipv6Addr::from(b).into(), p),
            );
            let g = IsnGenerator::new(key.to_le_bytes());
            let t0 = Instant::from_micros(t / 4 * 4);
            let Some(t1) = t0.checked_add(Duration::from_micros(u64::from(dt) * 4)) else {
                return true;
            };
            g.generate(&tuple, t1).distance_from(g.generate(&tuple, t0)) == dt
        }
    }
}
