//! The IPv6 header (RFC 8200) and the walk over extension headers to the
//! upper-layer protocol.

use core::net::Ipv6Addr;

use super::{Error, Result, be16, ensure_room};

/// Length of the fixed IPv6 header.
pub const HEADER_LEN: usize = 40;

/// Next-header values of the IPv6 extension headers.
pub mod ext_header {
    /// Hop-by-hop options.
    pub const HOP_BY_HOP: u8 = 0;
    /// Routing.
    pub const ROUTING: u8 = 43;
    /// Fragment.
    pub const FRAGMENT: u8 = 44;
    /// Encapsulating security payload: opaque, cannot be walked.
    pub const ESP: u8 = 50;
    /// Authentication header (length in 4-byte units, RFC 4302).
    pub const AUTH: u8 = 51;
    /// No next header.
    pub const NO_NEXT: u8 = 59;
    /// Destination options.
    pub const DEST_OPTS: u8 = 60;
    /// Mobility (RFC 6275).
    pub const MOBILITY: u8 = 135;
    /// Host identity protocol (RFC 7401).
    pub const HIP: u8 = 139;
    /// Shim6 (RFC 5533).
    pub const SHIM6: u8 = 140;
    /// Experimentation and testing (RFC 3692).
    pub const EXPERIMENT_1: u8 = 253;
    /// Experimentation and testing (RFC 3692).
    pub const EXPERIMENT_2: u8 = 254;
}

/// A view over the bytes of an IPv6 packet.
///
/// [`Ipv6Packet::new_checked`] guarantees version 6, a complete fixed
/// header, and a payload length within the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wraps bytes without checking them.
    pub const fn new_unchecked(buffer: T) -> Ipv6Packet<T> {
        Ipv6Packet { buffer }
    }

    /// Wraps bytes after the checks in the type docs.
    pub fn new_checked(buffer: T) -> Result<Ipv6Packet<T>> {
        let p = Ipv6Packet { buffer };
        p.check_header()?;
        if HEADER_LEN + usize::from(p.payload_len()) > p.buffer.as_ref().len() {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    /// Checks the fixed header only, for captures cut short by a snap
    /// length.
    pub fn check_header(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 6 {
            return Err(Error::BadVersion(self.version()));
        }
        Ok(())
    }

    /// The version nibble.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    /// Traffic class (DSCP and ECN).
    pub fn traffic_class(&self) -> u8 {
        let b = self.buffer.as_ref();
        (b[0] << 4) | (b[1] >> 4)
    }

    /// The 20-bit flow label.
    pub fn flow_label(&self) -> u32 {
        let b = self.buffer.as_ref();
        (u32::from(b[1] & 0x0f) << 16) | u32::from(be16(b, 2))
    }

    /// Payload length: everything after the fixed header, extension
    /// headers included.
    pub fn payload_len(&self) -> u16 {
        be16(self.buffer.as_ref(), 4)
    }

    /// The first next-header value.
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[6]
    }

    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[7]
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        addr_at(self.buffer.as_ref(), 8)
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        addr_at(self.buffer.as_ref(), 24)
    }

    /// Where the payload lies: as the payload length declares it, cut at
    /// the end of the buffer if the buffer is shorter.
    fn payload_range(&self) -> core::ops::Range<usize> {
        let end = (HEADER_LEN + usize::from(self.payload_len())).min(self.buffer.as_ref().len());
        HEADER_LEN.min(end)..end
    }

    /// Walks the extension headers to the upper layer and returns its
    /// protocol number and its offset within [`Ipv6Packet::payload`].
    ///
    /// An atomic fragment (offset 0, no more fragments) is walked through;
    /// a real fragment is [`Error::Fragmented`]; ESP and "no next header"
    /// are [`Error::UnsupportedExtension`].
    pub fn upper_layer(&self) -> Result<(u8, usize)> {
        let payload = &self.buffer.as_ref()[self.payload_range()];
        let mut next = self.next_header();
        let mut at = 0usize;
        loop {
            let len = match next {
                ext_header::HOP_BY_HOP
                | ext_header::ROUTING
                | ext_header::DEST_OPTS
                | ext_header::MOBILITY
                | ext_header::HIP
                | ext_header::SHIM6
                | ext_header::EXPERIMENT_1
                | ext_header::EXPERIMENT_2 => {
                    let hdr = payload.get(at..at + 2).ok_or(Error::Truncated)?;
                    (usize::from(hdr[1]) + 1) * 8
                }
                ext_header::AUTH => {
                    let hdr = payload.get(at..at + 2).ok_or(Error::Truncated)?;
                    (usize::from(hdr[1]) + 2) * 4
                }
                ext_header::FRAGMENT => {
                    let hdr = payload.get(at..at + 8).ok_or(Error::Truncated)?;
                    let offset_flags = be16(hdr, 2);
                    if offset_flags & 0xfff9 != 0 {
                        // A non-zero offset or the more-fragments bit.
                        return Err(Error::Fragmented);
                    }
                    8
                }
                ext_header::ESP | ext_header::NO_NEXT => {
                    return Err(Error::UnsupportedExtension(next));
                }
                upper => return Ok((upper, at)),
            };
            let hdr = payload.get(at..at + len).ok_or(Error::Truncated)?;
            next = hdr[0];
            // Each header is at least 8 bytes, so the walk ends within
            // payload_len / 8 steps.
            at += len;
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv6Packet<&'a T> {
    /// The payload (extension headers included) as the payload length
    /// declares it, cut at the end of the buffer if the buffer is shorter.
    /// Borrows the underlying bytes, not the view.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.payload_range()]
    }
}

fn addr_at(b: &[u8], at: usize) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&b[at..at + 16]);
    Ipv6Addr::from(octets)
}

/// The IPv6 fixed-header fields synack uses. Extension headers are not
/// represented: they are walked on parse and never emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv6Repr {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// The upper-layer protocol (after any extension headers).
    pub next_header: u8,
    /// Length of the upper-layer payload in bytes (extension headers
    /// excluded).
    pub payload_len: usize,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
}

impl Ipv6Repr {
    /// Reads a checked view, walking extension headers to the upper layer.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv6Packet<T>) -> Result<Ipv6Repr> {
        packet.check_header()?;
        let (next_header, offset) = packet.upper_layer()?;
        Ok(Ipv6Repr {
            src: packet.src_addr(),
            dst: packet.dst_addr(),
            next_header,
            payload_len: usize::from(packet.payload_len()).saturating_sub(offset),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// Header length [`Ipv6Repr::emit`] writes.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the 40-byte fixed header at the start of `buf`; the payload
    /// is the caller's to write after it.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        ensure_room(buf, HEADER_LEN)?;
        let payload_len = u16::try_from(self.payload_len).map_err(|_| Error::BadTotalLength)?;
        let b = &mut buf[..HEADER_LEN];
        let first =
            (6u32 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0xf_ffff);
        b[0..4].copy_from_slice(&first.to_be_bytes());
        b[4..6].copy_from_slice(&payload_len.to_be_bytes());
        b[6] = self.next_header;
        b[7] = self.hop_limit;
        b[8..24].copy_from_slice(&self.src.octets());
        b[24..40].copy_from_slice(&self.dst.octets());
        Ok(HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;
    use std::vec::Vec;

    fn sample() -> Ipv6Repr {
        Ipv6Repr {
            src: Ipv6Addr::LOCALHOST,
            dst: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
            next_header: 6,
            payload_len: 8,
            hop_limit: 64,
            traffic_class: 0xb8,
            flow_label: 0xabcde,
        }
    }

    #[test]
    fn round_trip() {
        let mut buf = [0u8; 48];
        sample().emit(&mut buf).unwrap();
        let p = Ipv6Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Ipv6Repr::parse(&p), Ok(sample()));
    }

    /// A packet with the given extension headers (next-header chain ends in
    /// TCP) and 8 bytes of upper-layer payload.
    fn with_extensions(exts: &[(u8, &[u8])]) -> Vec<u8> {
        let ext_len: usize = exts.iter().map(|(_, b)| b.len()).sum();
        let mut repr = sample();
        repr.payload_len = ext_len + 8;
        repr.next_header = exts.first().map_or(6, |e| e.0);
        let mut buf = std::vec![0u8; 40];
        repr.emit(&mut buf).unwrap();
        for (i, (_, body)) in exts.iter().enumerate() {
            let mut body = body.to_vec();
            body[0] = exts.get(i + 1).map_or(6, |e| e.0);
            buf.extend_from_slice(&body);
        }
        buf.extend_from_slice(&[0u8; 8]);
        buf
    }

    #[test]
    fn extension_headers_are_walked() {
        let hbh = [0u8, 0, 1, 4, 0, 0, 0, 0];
        let dest = [0u8, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let atomic_frag = [0u8, 0, 0, 0, 0, 0, 0x12, 0x34];
        let auth = [0u8, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0];
        let buf = with_extensions(&[
            (ext_header::HOP_BY_HOP, &hbh),
            (ext_header::DEST_OPTS, &dest),
            (ext_header::FRAGMENT, &atomic_frag),
            (ext_header::AUTH, &auth),
        ]);
        let p = Ipv6Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.upper_layer(), Ok((6, 48)));
        let repr = Ipv6Repr::parse(&p).unwrap();
        assert_eq!(repr.next_header, 6);
        assert_eq!(repr.payload_len, 8);
    }

    #[test]
    fn fragments_and_opaque_headers_are_reported() {
        let frag = [0u8, 0, 0x05, 0xa8, 0, 0, 0, 1]; // offset 181 words
        let buf = with_extensions(&[(ext_header::FRAGMENT, &frag)]);
        let p = Ipv6Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Ipv6Repr::parse(&p), Err(Error::Fragmented));
        let first_frag = [0u8, 0, 0, 1, 0, 0, 0, 1]; // M bit
        let buf = with_extensions(&[(ext_header::FRAGMENT, &first_frag)]);
        let p = Ipv6Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Ipv6Repr::parse(&p), Err(Error::Fragmented));
        let esp = [0u8; 8];
        let buf = with_extensions(&[(ext_header::ESP, &esp)]);
        let p = Ipv6Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Ipv6Repr::parse(&p), Err(Error::UnsupportedExtension(50)));
    }

    #[test]
    fn truncated_extension_chain_is_an_error() {
        let hbh = [0u8, 3, 0, 0, 0, 0, 0, 0]; // claims 32 bytes
        let buf = with_extensions(&[(ext_header::HOP_BY_HOP, &hbh)]);
        let p = Ipv6Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Ipv6Repr::parse(&p), Err(Error::Truncated));
        assert_eq!(
            Ipv6Packet::new_checked(&buf[..buf.len() - 1]).err(),
            Some(Error::Truncated)
        );
    }

    quickcheck! {
        fn arbitrary_bytes_never_panic(bytes: Vec<u8>, first: u8) -> bool {
            let mut bytes = bytes;
            if let Some(b) = bytes.first_mut() {
                *b = 0x60 | (first & 0x0f);
            }
            if let Ok(p) = Ipv6Packet::new_checked(&bytes[..]) {
                let _ = Ipv6Repr::parse(&p);
            }
            true
        }
    }
}
