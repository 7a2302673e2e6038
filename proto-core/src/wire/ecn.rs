//! The ECN field of the IP header (RFC 3168 §5).

/// The two ECN bits of the IPv4 TOS byte or the IPv6 Traffic Class (RFC
/// 3168 §5): whether the sender's transport understands congestion marks,
/// and whether a router marked the packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EcnCodepoint {
    /// Not-ECT (00): the transport does not take marks; routers drop.
    #[default]
    NotEct,
    /// ECT(1) (01): ECN-capable; RFC 9331 (L4S) gives it its meaning.
    Ect1,
    /// ECT(0) (10): ECN-capable, the codepoint classic ECN sends.
    Ect0,
    /// CE (11): congestion experienced, set by a router instead of a drop.
    Ce,
}

impl EcnCodepoint {
    /// The codepoint in the low two bits of a TOS or Traffic Class byte.
    pub const fn from_bits(tos: u8) -> EcnCodepoint {
        match tos & 0b11 {
            0b00 => EcnCodepoint::NotEct,
            0b01 => EcnCodepoint::Ect1,
            0b10 => EcnCodepoint::Ect0,
            _ => EcnCodepoint::Ce,
        }
    }

    /// The two bits, for the low end of a TOS or Traffic Class byte.
    pub const fn bits(self) -> u8 {
        match self {
            EcnCodepoint::NotEct => 0b00,
            EcnCodepoint::Ect1 => 0b01,
            EcnCodepoint::Ect0 => 0b10,
            EcnCodepoint::Ce => 0b11,
        }
    }

    /// ECT(0) or ECT(1): a router may mark it instead of dropping it.
    pub const fn is_ect(self) -> bool {
        matches!(self, EcnCodepoint::Ect0 | EcnCodepoint::Ect1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_and_ignore_the_dscp() {
        for cp in [
            EcnCodepoint::NotEct,
            EcnCodepoint::Ect1,
            EcnCodepoint::Ect0,
            EcnCodepoint::Ce,
        ] {
            assert_eq!(EcnCodepoint::from_bits(cp.bits()), cp);
            assert_eq!(EcnCodepoint::from_bits(0xb8 | cp.bits()), cp);
        }
        assert_eq!(EcnCodepoint::Ect0.bits(), 2);
        assert!(EcnCodepoint::Ect0.is_ect() && EcnCodepoint::Ect1.is_ect());
        assert!(!EcnCodepoint::Ce.is_ect() && !EcnCodepoint::NotEct.is_ect());
    }
}
