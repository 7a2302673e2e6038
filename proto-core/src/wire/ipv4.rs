//! The IPv4 header (RFC 791), enough to carry TCP over a TUN device:
//! options are skipped, fragments are recognised.

use core::net::Ipv4Addr;

use super::checksum::internet_checksum;
use super::{ChecksumMode, Error, Result, be16, ensure_room};

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = 20;

mod field {
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLAGS_FRAG: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const FRAG_OFFSET_MASK: u16 = 0x1fff;

/// A view over the bytes of an IPv4 packet.
///
/// [`Ipv4Packet::new_checked`] guarantees version 4, a header length of at
/// least 20 bytes within the packet, and a total length that covers the
/// header and lies within the buffer (bytes past it are link padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps bytes without checking them.
    pub const fn new_unchecked(buffer: T) -> Ipv4Packet<T> {
        Ipv4Packet { buffer }
    }

    /// Wraps bytes after the checks in the type docs.
    pub fn new_checked(buffer: T) -> Result<Ipv4Packet<T>> {
        let p = Ipv4Packet { buffer };
        p.check_header()?;
        if usize::from(p.total_len()) > p.buffer.as_ref().len() {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    /// Checks everything [`Ipv4Packet::new_checked`] does except that the
    /// whole datagram is present: for captures cut short by a snap length.
    pub fn check_header(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 4 {
            return Err(Error::BadVersion(self.version()));
        }
        let hlen = self.header_len();
        if hlen < HEADER_LEN || hlen > b.len() {
            return Err(Error::BadHeaderLength);
        }
        if usize::from(self.total_len()) < hlen {
            return Err(Error::BadTotalLength);
        }
        Ok(())
    }

    /// The version nibble.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The DSCP and ECN byte (formerly type of service).
    pub fn dscp_ecn(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    /// Total length of the datagram, header included.
    pub fn total_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::TOTAL_LEN)
    }

    /// Identification field.
    pub fn ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::IDENT)
    }

    /// The don't-fragment flag.
    pub fn dont_fragment(&self) -> bool {
        be16(self.buffer.as_ref(), field::FLAGS_FRAG) & FLAG_DF != 0
    }

    /// The more-fragments flag.
    pub fn more_fragments(&self) -> bool {
        be16(self.buffer.as_ref(), field::FLAGS_FRAG) & FLAG_MF != 0
    }

    /// Fragment offset in bytes.
    pub fn fragment_offset(&self) -> u16 {
        (be16(self.buffer.as_ref(), field::FLAGS_FRAG) & FRAG_OFFSET_MASK) << 3
    }

    /// True when this datagram is one fragment of a larger one.
    pub fn is_fragment(&self) -> bool {
        self.more_fragments() || self.fragment_offset() != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The upper-layer protocol number.
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    /// The header checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(
            b[field::SRC],
            b[field::SRC + 1],
            b[field::SRC + 2],
            b[field::SRC + 3],
        )
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(
            b[field::DST],
            b[field::DST + 1],
            b[field::DST + 2],
            b[field::DST + 3],
        )
    }

    /// True when the header checksum is correct.
    pub fn verify_checksum(&self) -> bool {
        internet_checksum(&self.buffer.as_ref()[..self.header_len()]) == 0
    }

    /// Where the payload lies: as the total length declares it, cut at
    /// the end of the buffer if the buffer is shorter.
    fn payload_range(&self) -> core::ops::Range<usize> {
        let end = usize::from(self.total_len()).min(self.buffer.as_ref().len());
        self.header_len().min(end)..end
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv4Packet<&'a T> {
    /// The payload as the total length declares it, cut at the end of the
    /// buffer if the buffer is shorter. Borrows the underlying bytes, not
    /// the view.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.payload_range()]
    }
}

/// The IPv4 header fields synack uses. Options are not represented: they
/// are skipped on parse and never emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Upper-layer protocol number.
    pub protocol: u8,
    /// Length of the upper-layer payload in bytes.
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// DSCP and ECN bits.
    pub dscp_ecn: u8,
    /// Identification.
    pub ident: u16,
    /// Don't-fragment flag.
    pub dont_fragment: bool,
    /// More-fragments flag.
    pub more_fragments: bool,
    /// Fragment offset in bytes (a multiple of 8).
    pub fragment_offset: u16,
}

impl Ipv4Repr {
    /// Reads a checked view; with [`ChecksumMode::Full`] the header
    /// checksum must be correct.
    // Inlined into `locate_tcp`, once per packet: returned through memory,
    // the packed fields were read back wider than they were written, which
    // stalls the load.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>, mode: ChecksumMode) -> Result<Ipv4Repr> {
        packet.check_header()?;
        if mode == ChecksumMode::Full && !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        Ok(Ipv4Repr {
            src: packet.src_addr(),
            dst: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
            dscp_ecn: packet.dscp_ecn(),
            ident: packet.ident(),
            dont_fragment: packet.dont_fragment(),
            more_fragments: packet.more_fragments(),
            fragment_offset: packet.fragment_offset(),
        })
    }

    /// Header length [`Ipv4Repr::emit`] writes.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the 20-byte header (no options) at the start of `buf`; the
    /// payload is the caller's to write after it.
    pub fn emit(&self, buf: &mut [u8], mode: ChecksumMode) -> Result<usize> {
        ensure_room(buf, HEADER_LEN)?;
        let total =
            u16::try_from(HEADER_LEN + self.payload_len).map_err(|_| Error::BadTotalLength)?;
        let b = &mut buf[..HEADER_LEN];
        b[field::VER_IHL] = 0x45;
        b[field::TOS] = self.dscp_ecn;
        b[field::TOTAL_LEN..field::TOTAL_LEN + 2].copy_from_slice(&total.to_be_bytes());
        b[field::IDENT..field::IDENT + 2].copy_from_slice(&self.ident.to_be_bytes());
        let mut flags_frag = (self.fragment_offset >> 3) & FRAG_OFFSET_MASK;
        if self.dont_fragment {
            flags_frag |= FLAG_DF;
        }
        if self.more_fragments {
            flags_frag |= FLAG_MF;
        }
        b[field::FLAGS_FRAG..field::FLAGS_FRAG + 2].copy_from_slice(&flags_frag.to_be_bytes());
        b[field::TTL] = self.ttl;
        b[field::PROTOCOL] = self.protocol;
        b[field::CHECKSUM..field::CHECKSUM + 2].fill(0);
        b[field::SRC..field::SRC + 4].copy_from_slice(&self.src.octets());
        b[field::DST..field::DST + 4].copy_from_slice(&self.dst.octets());
        if mode == ChecksumMode::Full {
            let sum = internet_checksum(b);
            b[field::CHECKSUM..field::CHECKSUM + 2].copy_from_slice(&sum.to_be_bytes());
        }
        Ok(HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;
    use std::vec::Vec;

    fn sample() -> Ipv4Repr {
        Ipv4Repr {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            protocol: 6,
            payload_len: 4,
            ttl: 64,
            dscp_ecn: 0x02,
            ident: 0x1234,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
        }
    }

    #[test]
    fn round_trip() {
        let mut buf = [0u8; 24];
        sample().emit(&mut buf, ChecksumMode::Full).unwrap();
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(Ipv4Repr::parse(&p, ChecksumMode::Full), Ok(sample()));
        assert_eq!(p.payload().len(), 4);
    }

    #[test]
    fn options_are_skipped() {
        let mut buf = [0u8; 28];
        sample().emit(&mut buf, ChecksumMode::Skip).unwrap();
        // Rewrite as a 24-byte header with one NOP-padded option word.
        buf[0] = 0x46;
        buf[2..4].copy_from_slice(&28u16.to_be_bytes());
        buf[20..24].copy_from_slice(&[1, 1, 1, 0]);
        buf[10..12].fill(0);
        let sum = internet_checksum(&buf[..24]);
        buf[10..12].copy_from_slice(&sum.to_be_bytes());
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        let repr = Ipv4Repr::parse(&p, ChecksumMode::Full).unwrap();
        assert_eq!(repr.payload_len, 4);
        assert_eq!(p.payload().len(), 4);
    }

    #[test]
    fn malformed_headers_are_errors() {
        let mut buf = [0u8; 24];
        sample().emit(&mut buf, ChecksumMode::Full).unwrap();
        let mut bad = buf;
        bad[0] = 0x65;
        assert_eq!(
            Ipv4Packet::new_checked(&bad[..]).err(),
            Some(Error::BadVersion(6))
        );
        let mut bad = buf;
        bad[0] = 0x44;
        assert_eq!(
            Ipv4Packet::new_checked(&bad[..]).err(),
            Some(Error::BadHeaderLength)
        );
        let mut bad = buf;
        bad[3] = 19;
        assert_eq!(
            Ipv4Packet::new_checked(&bad[..]).err(),
            Some(Error::BadTotalLength)
        );
        assert_eq!(
            Ipv4Packet::new_checked(&buf[..23]).err(),
            Some(Error::Truncated)
        );
        let mut bad = buf;
        bad[8] = 1; // ttl changed, checksum stale
        let p = Ipv4Packet::new_checked(&bad[..]).unwrap();
        assert_eq!(
            Ipv4Repr::parse(&p, ChecksumMode::Full),
            Err(Error::BadChecksum)
        );
    }

    #[test]
    fn fragments_are_recognised() {
        let mut repr = sample();
        repr.dont_fragment = false;
        repr.more_fragments = true;
        repr.fragment_offset = 1480;
        let mut buf = [0u8; 24];
        repr.emit(&mut buf, ChecksumMode::Full).unwrap();
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert!(p.is_fragment());
        assert_eq!(p.fragment_offset(), 1480);
        assert_eq!(Ipv4Repr::parse(&p, ChecksumMode::Full), Ok(repr));
    }

    quickcheck! {
        fn arbitrary_bytes_never_panic(bytes: Vec<u8>) -> bool {
            if let Ok(p) = Ipv4Packet::new_checked(&bytes[..]) {
                let _ = Ipv4Repr::parse(&p, ChecksumMode::Full);
                let _ = p.payload();
            }
            true
        }
    }
}
