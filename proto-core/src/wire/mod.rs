//! Parsing and emitting TCP segments and the IPv4/IPv6 headers that carry
//! them.
//!
//! Each header comes in two layers, as in smoltcp:
//! - a checked, zero-copy *view* over bytes ([`TcpPacket`], [`Ipv4Packet`],
//!   [`Ipv6Packet`]): `new_checked` validates lengths once, after which every
//!   accessor is in bounds;
//! - a plain *representation* ([`TcpRepr`], [`Ipv4Repr`], [`Ipv6Repr`]) with
//!   `parse` (view → repr, validating semantics such as options and
//!   checksums) and `emit` (repr → bytes, filling in lengths and checksums).
//!
//! Every malformed input is an [`Error`], never a panic; emitting into a
//! buffer that is too small is an error too.

mod checksum;
mod ecn;
mod ip;
mod ipv4;
mod ipv6;
mod tcp;

pub use checksum::{Checksum, internet_checksum};
pub use ecn::EcnCodepoint;
pub use ip::{
    IpAddrPair, IpRepr, TcpInIp, Truncation, emit_tcp_in_ip, locate_tcp, parse_tcp_in_ip,
};
pub use ipv4::{Ipv4Packet, Ipv4Repr};
pub use ipv6::{Ipv6Packet, Ipv6Repr, ext_header};
pub use tcp::{
    MAX_OPTIONS_LEN, SackBlock, SackBlocks, TcpFlags, TcpOption, TcpOptionIter, TcpOptions,
    TcpPacket, TcpRepr, Timestamps, UnknownOptions, option_kind,
};

use core::fmt;

/// IP protocol number of TCP.
pub const IP_PROTOCOL_TCP: u8 = 6;

/// Whether checksums are verified on parse and filled in on emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ChecksumMode {
    /// Verify on parse (a mismatch is [`Error::BadChecksum`]); compute on emit.
    #[default]
    Full,
    /// Neither verify nor compute: for captures taken before checksum
    /// offload filled the field in, and for links that already protect the
    /// bytes. Emit leaves the checksum field zero.
    Skip,
}

/// Why bytes could not be parsed, or a representation could not be emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The bytes end before a header, an option, or the length a header
    /// declares.
    Truncated,
    /// The TCP data offset is below 5 words or points past the segment end.
    BadDataOffset(u8),
    /// A TCP option has a length that is impossible for it: below 2, past
    /// the end of the options, or wrong for a known kind (for example an MSS
    /// option that is not 4 bytes).
    BadOptionLength {
        /// The option kind.
        kind: u8,
        /// The length byte as received (0 when it was missing).
        len: u8,
    },
    /// The options of a representation need more than 40 bytes.
    OptionsTooLong,
    /// A checksum does not match the bytes.
    BadChecksum,
    /// The IP version nibble is neither the expected 4 nor 6.
    BadVersion(u8),
    /// The IPv4 header length is below 20 bytes or beyond the packet.
    BadHeaderLength,
    /// The IP total (or payload) length is inconsistent with the header.
    BadTotalLength,
    /// The packet is a fragment of a larger datagram; TCP cannot be read
    /// from it without reassembly, which synack does not do.
    Fragmented,
    /// An IPv6 extension header that cannot be walked (ESP, or "no next
    /// header") stands before the upper-layer protocol.
    UnsupportedExtension(u8),
    /// The packet carries a protocol other than TCP.
    NotTcp(u8),
    /// The output buffer is smaller than the emitted bytes need.
    BufferTooSmall {
        /// Bytes the emission needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated => f.write_str("truncated: the bytes end before the header does"),
            Error::BadDataOffset(off) => {
                write!(
                    f,
                    "bad TCP data offset {off} (must be 5..=15 words and within the segment)"
                )
            }
            Error::BadOptionLength { kind, len } => {
                write!(f, "malformed TCP option kind {kind} with length {len}")
            }
            Error::OptionsTooLong => f.write_str("TCP options exceed 40 bytes"),
            Error::BadChecksum => f.write_str("bad checksum"),
            Error::BadVersion(v) => write!(f, "unexpected IP version {v}"),
            Error::BadHeaderLength => f.write_str("bad IPv4 header length"),
            Error::BadTotalLength => f.write_str("IP length field inconsistent with the header"),
            Error::Fragmented => f.write_str("IP fragment (reassembly not supported)"),
            Error::UnsupportedExtension(nh) => {
                write!(f, "unsupported IPv6 extension header {nh} before TCP")
            }
            Error::NotTcp(p) => write!(f, "not TCP (IP protocol {p})"),
            Error::BufferTooSmall { needed, available } => {
                write!(
                    f,
                    "output buffer too small: need {needed} bytes, have {available}"
                )
            }
        }
    }
}

impl core::error::Error for Error {}

/// Result of wire operations.
pub type Result<T> = core::result::Result<T, Error>;

/// Reads a big-endian `u16` at `at`; callers guarantee the bounds.
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Reads a big-endian `u32` at `at`; callers guarantee the bounds.
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Fails with [`Error::BufferTooSmall`] unless `buf` holds `needed` bytes.
fn ensure_room(buf: &[u8], needed: usize) -> Result<()> {
    if buf.len() < needed {
        Err(Error::BufferTooSmall {
            needed,
            available: buf.len(),
        })
    } else {
        Ok(())
    }
}
