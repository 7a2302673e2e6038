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
        // A 32-bit big-endian value is two words whose one's-complement sum
        // it already is (2^16 ≡ 1 mod 2^16 - 1): add addresses 32 bits at
        // a time and fold once, in `sum16`.
        let words = |a: [u8; 16]| {
            a.chunks_exact(4)
                .map(|w| u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]])))
                .sum::<u64>()
        };
        let addresses = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => u64::from(s.to_bits()) + u64::from(d.to_bits()),
            (s, d) => words(to_v6_octets(s)) + words(to_v6_octets(d)),
        };
        let mut c = Checksum { sum: addresses };
        c.add_u32(u32::from(protocol));
        c.add_u32(length);
        c
    }

    /// Adds bytes; see the type docs for the alignment rule.
    pub fn add_bytes(&mut self, data: &[u8]) {
        let folded = u64::from(fold(sum_native(data)));
        // The sum of native-order words is the byte-swap of the sum of
        // network-order words (RFC 1071 §2(B)): one swap, at the end.
        let word = if cfg!(target_endian = "little") {
            u64::from((folded as u16).swap_bytes())
        } else {
            folded
        };
        self.add_word(word);
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
        fold(self.sum)
    }

    /// The checksum to write into a header: the complement of the sum.
    pub fn finish(&self) -> u16 {
        !self.sum16()
    }
}

/// The one's-complement sum of `data` as native-order 16-bit words,
/// unfolded: the sum of its 32-bit halves (each two words). Per 8-byte
/// load, four independent lanes keep a wrapping sum of the whole loads
/// and a sum of their high halves; the low halves' sum is then the one
/// less 2^32 times the other, exact because it stays below 2^64 (that
/// takes 2^32 loads, far beyond any packet). One mask per load fewer
/// than adding the halves apart.
fn sum_native(data: &[u8]) -> u64 {
    let mut whole = [0u64; 4];
    let mut high = [0u64; 4];
    let mut blocks = data.chunks_exact(32);
    for block in &mut blocks {
        for ((w, h), word) in whole.iter_mut().zip(&mut high).zip(block.chunks_exact(8)) {
            let x = u64::from_ne_bytes(word.try_into().unwrap_or([0; 8]));
            *w = w.wrapping_add(x);
            *h += x >> 32;
        }
    }
    let mut sum = whole
        .iter()
        .zip(&high)
        .map(|(&w, &h)| u128::from(w.wrapping_sub(h << 32)) + u128::from(h))
        .sum::<u128>();
    // The tail (fewer than 32 bytes) in fixed-size 4-byte loads, the last
    // 1–3 bytes padded with zeros, which gives an odd final byte the zero
    // pad RFC 1071 asks for. Fixed sizes, not a copy of variable length:
    // headers (20 to 60 bytes) are mostly tail.
    let mut words = blocks.remainder().chunks_exact(4);
    for word in &mut words {
        sum += u128::from(u32::from_ne_bytes(word.try_into().unwrap_or([0; 4])));
    }
    let last = words.remainder();
    if !last.is_empty() {
        let byte = |i: usize| last.get(i).copied().unwrap_or(0);
        sum += u128::from(u32::from_ne_bytes([byte(0), byte(1), byte(2), 0]));
    }
    // Fold the (at most 2^70) total back into 64 bits: 2^64 ≡ 1 (mod 2^16 - 1).
    let folded = (sum & u128::from(u64::MAX)) + (sum >> 64);
    (folded & u128::from(u64::MAX)) as u64 + (folded >> 64) as u64
}

/// Folds a one's-complement sum into 16 bits (end-around carries).
fn fold(mut s: u64) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
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

    /// RFC 1071 written out: network-order words, one at a time.
    fn reference(pieces: &[&[u8]]) -> u16 {
        let mut sum = 0u64;
        for piece in pieces {
            for pair in piece.chunks(2) {
                let hi = u64::from(pair[0]) << 8;
                let lo = pair.get(1).map_or(0, |&b| u64::from(b));
                sum += hi | lo;
            }
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    #[test]
    fn agrees_with_the_word_by_word_sum_at_every_length_and_split() {
        // Bytes that make carries: mostly 0xff, some zeros.
        // Under Miri (an interpreter) a sample of the lengths and cuts.
        let (lengths, cuts, big) = if cfg!(miri) {
            (80u32, 6, 4096)
        } else {
            (300, 40, 65535)
        };
        let data: std::vec::Vec<u8> = (0..lengths)
            .map(|i| if i % 7 == 3 { 0 } else { 0xff - (i % 5) as u8 })
            .collect();
        for len in 0..data.len() {
            let d = &data[..len];
            assert_eq!(internet_checksum(d), reference(&[d]), "length {len}");
            // Split at every even offset (pieces after the first start
            // 16-bit aligned, as the type requires).
            for cut in (0..=len).step_by(2).take(cuts) {
                let mut c = Checksum::new();
                c.add_bytes(&d[..cut]);
                c.add_bytes(&d[cut..]);
                assert_eq!(
                    c.finish(),
                    reference(&[&d[..cut], &d[cut..]]),
                    "{len} at {cut}"
                );
            }
        }
        // A 64 KiB payload of 0xff: the widest sums a packet makes.
        let big = std::vec![0xffu8; big];
        assert_eq!(internet_checksum(&big), reference(&[&big]));
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
