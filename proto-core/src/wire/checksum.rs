//! The Internet checksum (RFC 1071) and the TCP pseudo-header (RFC 9293
//! §3.1, RFC 8200 §8.1).

use core::net::IpAddr;

/// A running one's-complement sum.
///
/// Feed it 16-bit-aligned pieces with [`Checksum::add_bytes`]; only the last
/// piece may have odd length (its final byte is padded with zero, as RFC 1071
/// says).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    sum: u64,
}

impl Checksum {
    /// An empty sum.
    pub const fn new() -> Checksum {
        Checksum { sum: 0 }
    }

    /// The sum seeded with the TCP/UDP pseudo-header for `src` → `dst`,
    /// upper-layer `protocol` and `length` (header plus payload) in bytes.
    /// The IPv4 form carries the length in 16 bits, the IPv6 form in 32.
    pub fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: u8, length: u32) -> Checksum {
        let mut c = Checksum::new();
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                c.add_bytes(&s.octets());
                c.add_bytes(&d.octets());
            }
            (s, d) => {
                c.add_bytes(&to_v6_octets(s));
                c.add_bytes(&to_v6_octets(d));
            }
        }
        c.add_u32(u32::from(protocol));
        c.add_u32(length);
        c
    }

    /// Adds bytes; see the type docs for the alignment rule.
    pub fn add_bytes(&mut self, data: &[u8]) {
        // RFC 1071 §2: 16-bit words may be summed in any order into a
        // wider accumulator and folded at the end. Blocks of 16 words sum
        // into a u32 without overflow (16 · 0xffff < 2^20) and carry no
        // dependency from word to word, so the compiler vectorises them.
        let mut sum = self.sum;
        let mut blocks = data.chunks_exact(32);
        for block in &mut blocks {
            let mut part = 0u32;
            for pair in block.chunks_exact(2) {
                part += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
            }
            sum += u64::from(part);
        }
        let rest = blocks.remainder();
        let mut pairs = rest.chunks_exact(2);
        for pair in &mut pairs {
            sum += u64::from(u16::from_be_bytes([pair[0], pair[1]]));
        }
        if let [last] = pairs.remainder() {
            // An odd final byte is padded with zero (RFC 1071).
            sum += u64::from(*last) << 8;
        }
        // A u64 would take 2^44 blocks to overflow; folding here keeps a
        // long-lived running sum safe all the same.
        self.sum = (sum & 0xffff_ffff) + (sum >> 32);
    }

    /// Adds a 32-bit value as two 16-bit words.
    pub fn add_u32(&mut self, v: u32) {
        self.add_word(u64::from(v));
    }

    fn add_word(&mut self, w: u64) {
        let sum = self.sum + w;
        self.sum = (sum & 0xffff_ffff) + (sum >> 32);
    }

    /// The folded 16-bit one's-complement sum (not yet complemented).
    pub fn sum16(&self) -> u16 {
        let mut s = self.sum;
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }

    /// The checksum to write into a header: the complement of the sum.
    pub fn finish(&self) -> u16 {
        !self.sum16()
    }
}

/// IPv4 addresses appear in a v6 pseudo-header only in mixed pairs, which
/// real traffic never has; map them so the function stays total.
fn to_v6_octets(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The Internet checksum of `data` alone, ready to write into a header.
pub fn internet_checksum(data: &[u8]) -> u16 {
    let mut c = Checksum::new();
    c.add_bytes(data);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
        let mut c = Checksum::new();
        c.add_bytes(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
        assert_eq!(c.sum16(), 0xddf2);
        assert_eq!(c.finish(), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(internet_checksum(&[0xab]), internet_checksum(&[0xab, 0x00]));
    }

    #[test]
    fn known_ipv4_header() {
        // A textbook IPv4 header whose checksum field is b861.
        let mut hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(internet_checksum(&hdr), 0xb861);
        hdr[10] = 0xb8;
        hdr[11] = 0x61;
        assert_eq!(internet_checksum(&hdr), 0);
    }

    #[test]
    fn pseudo_header_v4_layout() {
        let src = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let dst = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let mut manual = Checksum::new();
        manual.add_bytes(&[10, 0, 0, 1, 10, 0, 0, 2, 0, 6, 0, 20]);
        assert_eq!(
            Checksum::pseudo_header(src, dst, 6, 20).sum16(),
            manual.sum16()
        );
    }
}
