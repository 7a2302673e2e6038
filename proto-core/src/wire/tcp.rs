//! The TCP header (RFC 9293 §3.1) and its options: MSS (RFC 9293 §3.2),
//! window scale and timestamps (RFC 7323), SACK-permitted and SACK
//! (RFC 2018).

use core::fmt;

use super::checksum::Checksum;
use super::ip::IpAddrPair;
use super::{ChecksumMode, Error, IP_PROTOCOL_TCP, Result, be16, be32, ensure_room};
use crate::seq::SeqNumber;

/// Length of a TCP header without options.
pub const HEADER_LEN: usize = 20;
/// The most option bytes a header can hold (data offset 15 words).
pub const MAX_OPTIONS_LEN: usize = 40;

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const SEQ: usize = 4;
    pub const ACK: usize = 8;
    pub const OFFSET_FLAGS: usize = 12;
    pub const WINDOW: usize = 14;
    pub const CHECKSUM: usize = 16;
    pub const URGENT: usize = 18;
}

/// Option kinds as assigned by IANA.
pub mod option_kind {
    /// End of option list.
    pub const EOL: u8 = 0;
    /// No-operation (padding).
    pub const NOP: u8 = 1;
    /// Maximum segment size.
    pub const MSS: u8 = 2;
    /// Window scale.
    pub const WINDOW_SCALE: u8 = 3;
    /// SACK permitted.
    pub const SACK_PERMITTED: u8 = 4;
    /// SACK blocks.
    pub const SACK: u8 = 5;
    /// Timestamps.
    pub const TIMESTAMPS: u8 = 8;
}

/// The twelve flag bits of the TCP header: the eight classic control bits,
/// AE (accurate ECN, RFC 9768; formerly NS) and three reserved bits, which
/// are kept so a parsed header re-emits exactly.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(u16);

impl TcpFlags {
    /// No more data from the sender.
    pub const FIN: TcpFlags = TcpFlags(0x001);
    /// Synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x002);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x004);
    /// Push function.
    pub const PSH: TcpFlags = TcpFlags(0x008);
    /// The acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x010);
    /// The urgent pointer is significant.
    pub const URG: TcpFlags = TcpFlags(0x020);
    /// ECN-Echo (RFC 3168).
    pub const ECE: TcpFlags = TcpFlags(0x040);
    /// Congestion window reduced (RFC 3168).
    pub const CWR: TcpFlags = TcpFlags(0x080);
    /// Accurate ECN (RFC 9768; the former NS bit).
    pub const AE: TcpFlags = TcpFlags(0x100);
    /// The three bits still reserved.
    pub const RESERVED: TcpFlags = TcpFlags(0xe00);
    /// Every bit the header has.
    pub const ALL: TcpFlags = TcpFlags(0xfff);

    /// Names of the eight classic bits, lowest bit first, as tcpdump and
    /// Wireshark spell them.
    pub const NAMES: [(TcpFlags, &'static str); 8] = [
        (TcpFlags::FIN, "FIN"),
        (TcpFlags::SYN, "SYN"),
        (TcpFlags::RST, "RST"),
        (TcpFlags::PSH, "PSH"),
        (TcpFlags::ACK, "ACK"),
        (TcpFlags::URG, "URG"),
        (TcpFlags::ECE, "ECE"),
        (TcpFlags::CWR, "CWR"),
    ];

    /// No flags.
    pub const fn empty() -> TcpFlags {
        TcpFlags(0)
    }

    /// Flags from the 12 header bits; higher bits are dropped.
    pub const fn from_bits_truncate(bits: u16) -> TcpFlags {
        TcpFlags(bits & 0xfff)
    }

    /// The 12 header bits.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// True when every bit of `other` is set in `self`.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when any bit of `other` is set in `self`.
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// Both sets of bits.
    pub const fn union(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | other.0)
    }

    /// `self` without the bits of `other`.
    pub const fn difference(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & !other.0)
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: TcpFlags) {
        self.0 |= other.0;
    }

    /// Clears the bits of `other`.
    pub fn remove(&mut self, other: TcpFlags) {
        self.0 &= !other.0;
    }
}

impl core::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        self.union(rhs)
    }
}

impl core::ops::BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.insert(rhs);
    }
}

/// Lists the set bits by name, e.g. `SYN|ACK`.
impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let named = TcpFlags::NAMES
            .iter()
            .copied()
            .chain([(TcpFlags::AE, "AE"), (TcpFlags::RESERVED, "RESERVED")]);
        for (flag, name) in named {
            if self.intersects(flag) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("(none)")?;
        }
        Ok(())
    }
}

/// A read-only or mutable view over the bytes of a TCP segment.
///
/// [`TcpPacket::new_checked`] guarantees that the fixed header and the
/// options (as the data offset declares them) lie within the buffer, so
/// every accessor is in bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wraps bytes without checking them; accessors may panic on short
    /// buffers. Use [`TcpPacket::new_checked`] for untrusted input.
    pub const fn new_unchecked(buffer: T) -> TcpPacket<T> {
        TcpPacket { buffer }
    }

    /// Wraps bytes after checking that the header and its declared options
    /// fit.
    pub fn new_checked(buffer: T) -> Result<TcpPacket<T>> {
        let packet = TcpPacket { buffer };
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the lengths [`TcpPacket::new_checked`] relies on.
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let offset = self.data_offset();
        if offset < 5 || usize::from(offset) * 4 > b.len() {
            return Err(Error::BadDataOffset(offset));
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port.
    pub fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SRC_PORT)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), field::DST_PORT)
    }

    /// The sequence number.
    pub fn seq_number(&self) -> SeqNumber {
        SeqNumber(be32(self.buffer.as_ref(), field::SEQ))
    }

    /// The acknowledgment number field (significant only with ACK set).
    pub fn ack_number(&self) -> SeqNumber {
        SeqNumber(be32(self.buffer.as_ref(), field::ACK))
    }

    /// The data offset in 32-bit words.
    pub fn data_offset(&self) -> u8 {
        self.buffer.as_ref()[field::OFFSET_FLAGS] >> 4
    }

    /// The header length in bytes, options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.data_offset()) * 4
    }

    /// All twelve flag bits.
    pub fn flags(&self) -> TcpFlags {
        TcpFlags::from_bits_truncate(be16(self.buffer.as_ref(), field::OFFSET_FLAGS))
    }

    /// The raw (unscaled) window field.
    pub fn window_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::WINDOW)
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The urgent pointer field.
    pub fn urgent_at(&self) -> u16 {
        be16(self.buffer.as_ref(), field::URGENT)
    }

    /// The raw option bytes.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// The payload: everything after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }

    /// The segment length in bytes (header and payload).
    pub fn total_len(&self) -> usize {
        self.buffer.as_ref().len()
    }

    /// True when the checksum matches the segment and the pseudo-header.
    pub fn verify_checksum(&self, addrs: &IpAddrPair) -> bool {
        let b = self.buffer.as_ref();
        let Ok(len) = u32::try_from(b.len()) else {
            return false;
        };
        let mut c = Checksum::pseudo_header(addrs.src(), addrs.dst(), IP_PROTOCOL_TCP, len);
        c.add_bytes(b);
        c.sum16() == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    fn put16(&mut self, at: usize, v: u16) {
        self.buffer.as_mut()[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }

    fn put32(&mut self, at: usize, v: u32) {
        self.buffer.as_mut()[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets the source port.
    pub fn set_src_port(&mut self, v: u16) {
        self.put16(field::SRC_PORT, v);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, v: u16) {
        self.put16(field::DST_PORT, v);
    }

    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, v: SeqNumber) {
        self.put32(field::SEQ, v.0);
    }

    /// Sets the acknowledgment number field.
    pub fn set_ack_number(&mut self, v: SeqNumber) {
        self.put32(field::ACK, v.0);
    }

    /// Sets the data offset (header length in 32-bit words) and all twelve
    /// flag bits, which share one 16-bit field.
    pub fn set_offset_and_flags(&mut self, words: u8, flags: TcpFlags) {
        self.put16(
            field::OFFSET_FLAGS,
            (u16::from(words & 0x0f) << 12) | flags.bits(),
        );
    }

    /// Sets the raw window field.
    pub fn set_window_len(&mut self, v: u16) {
        self.put16(field::WINDOW, v);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        self.put16(field::CHECKSUM, v);
    }

    /// Sets the urgent pointer.
    pub fn set_urgent_at(&mut self, v: u16) {
        self.put16(field::URGENT, v);
    }

    /// The option bytes, writable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        &mut self.buffer.as_mut()[start..]
    }

    /// Computes and stores the checksum over the whole buffer.
    pub fn fill_checksum(&mut self, addrs: &IpAddrPair) {
        self.set_checksum(0);
        let b = self.buffer.as_ref();
        // Segments never approach 4 GiB; saturating keeps this total.
        let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
        let mut c = Checksum::pseudo_header(addrs.src(), addrs.dst(), IP_PROTOCOL_TCP, len);
        c.add_bytes(b);
        let sum = c.finish();
        self.set_checksum(sum);
    }
}

/// A SACK block: the half-open sequence range `[left, right)` the receiver
/// holds (RFC 2018 §3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SackBlock {
    /// First sequence number of the block.
    pub left: SeqNumber,
    /// Sequence number just past the block.
    pub right: SeqNumber,
}

/// Up to four SACK blocks in the order they appear on the wire.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SackBlocks {
    len: u8,
    blocks: [SackBlock; SackBlocks::CAPACITY],
}

impl SackBlocks {
    /// The most blocks one option can carry in 40 option bytes.
    pub const CAPACITY: usize = 4;

    /// No blocks.
    pub const fn new() -> SackBlocks {
        SackBlocks {
            len: 0,
            blocks: [SackBlock {
                left: SeqNumber(0),
                right: SeqNumber(0),
            }; SackBlocks::CAPACITY],
        }
    }

    /// Blocks from a slice; `None` when it holds more than four.
    pub fn from_slice(blocks: &[SackBlock]) -> Option<SackBlocks> {
        let mut s = SackBlocks::new();
        for b in blocks {
            s.push(*b).ok()?;
        }
        Some(s)
    }

    /// Appends a block; gives it back when all four places are taken.
    pub fn push(&mut self, block: SackBlock) -> core::result::Result<(), SackBlock> {
        let i = usize::from(self.len);
        if i >= SackBlocks::CAPACITY {
            return Err(block);
        }
        self.blocks[i] = block;
        self.len += 1;
        Ok(())
    }

    /// The blocks, first on the wire first.
    pub fn as_slice(&self) -> &[SackBlock] {
        &self.blocks[..usize::from(self.len)]
    }

    /// How many blocks there are.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for SackBlocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// The timestamps option (RFC 7323 §3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Timestamps {
    /// The sender's timestamp clock (TSval).
    pub value: u32,
    /// The most recent TSval received from the peer (TSecr).
    pub echo_reply: u32,
}

/// One option as it appears on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// End of the option list; bytes after it are padding.
    EndOfList,
    /// Padding between options.
    NoOperation,
    /// Maximum segment size the sender can receive.
    MaxSegmentSize(u16),
    /// Window scale shift count as sent (RFC 7323 §2.3 says to use 14 for
    /// anything larger; that clamping is the connection's job).
    WindowScale(u8),
    /// The sender can receive SACK options.
    SackPermitted,
    /// Blocks of data the sender holds beyond the cumulative ACK.
    Sack(SackBlocks),
    /// Timestamp value and echo reply.
    Timestamps(Timestamps),
    /// An option synack does not interpret, skipped by its length.
    Unknown {
        /// The option kind.
        kind: u8,
        /// The bytes after the kind and length.
        data: &'a [u8],
    },
}

impl TcpOption<'_> {
    /// How many bytes the option takes on the wire.
    pub fn wire_len(&self) -> usize {
        match self {
            TcpOption::EndOfList | TcpOption::NoOperation => 1,
            TcpOption::MaxSegmentSize(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::Sack(blocks) => 2 + 8 * blocks.len(),
            TcpOption::Timestamps(_) => 10,
            TcpOption::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Writes the option at the start of `buf`, returning its length.
    /// Fails if `buf` is too short, or if an unknown option's data would
    /// not fit its one-byte length field.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.wire_len();
        ensure_room(buf, len)?;
        match self {
            TcpOption::EndOfList => buf[0] = option_kind::EOL,
            TcpOption::NoOperation => buf[0] = option_kind::NOP,
            TcpOption::MaxSegmentSize(mss) => {
                buf[..2].copy_from_slice(&[option_kind::MSS, 4]);
                buf[2..4].copy_from_slice(&mss.to_be_bytes());
            }
            TcpOption::WindowScale(shift) => {
                buf[..3].copy_from_slice(&[option_kind::WINDOW_SCALE, 3, *shift]);
            }
            TcpOption::SackPermitted => buf[..2].copy_from_slice(&[option_kind::SACK_PERMITTED, 2]),
            TcpOption::Sack(blocks) => {
                buf[0] = option_kind::SACK;
                buf[1] = len as u8; // at most 34
                for (i, b) in blocks.as_slice().iter().enumerate() {
                    let at = 2 + 8 * i;
                    buf[at..at + 4].copy_from_slice(&b.left.0.to_be_bytes());
                    buf[at + 4..at + 8].copy_from_slice(&b.right.0.to_be_bytes());
                }
            }
            TcpOption::Timestamps(ts) => {
                buf[..2].copy_from_slice(&[option_kind::TIMESTAMPS, 10]);
                buf[2..6].copy_from_slice(&ts.value.to_be_bytes());
                buf[6..10].copy_from_slice(&ts.echo_reply.to_be_bytes());
            }
            TcpOption::Unknown { kind, data } => {
                let Ok(len_byte) = u8::try_from(len) else {
                    return Err(Error::OptionsTooLong);
                };
                buf[0] = *kind;
                buf[1] = len_byte;
                buf[2..len].copy_from_slice(data);
            }
        }
        Ok(len)
    }
}

/// Iterates over the options in a header's option bytes, in wire order.
///
/// Stops after an end-of-list option (the rest is padding). A malformed
/// option yields one `Err` and ends the iteration.
#[derive(Clone, Debug)]
pub struct TcpOptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> TcpOptionIter<'a> {
    /// Iterates over `options` (the bytes between the fixed header and the
    /// payload).
    pub fn new(options: &'a [u8]) -> TcpOptionIter<'a> {
        TcpOptionIter { rest: options }
    }
}

impl<'a> Iterator for TcpOptionIter<'a> {
    type Item = Result<TcpOption<'a>>;

    // RFC 9293 §3.1 (MUST-4, MUST-5, MUST-6, MUST-68, MUST-7) and §3.2
    // (MUST-64): EOL, NOP and MSS are read at any octet offset; every other
    // kind is stepped over by its length; a bad length is an error.
    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, after_kind) = self.rest.split_first()?;
        match kind {
            option_kind::EOL => {
                self.rest = &[];
                return Some(Ok(TcpOption::EndOfList));
            }
            option_kind::NOP => {
                self.rest = after_kind;
                return Some(Ok(TcpOption::NoOperation));
            }
            _ => {}
        }
        let malformed = |len: u8| Some(Err(Error::BadOptionLength { kind, len }));
        let Some(&len_byte) = after_kind.first() else {
            self.rest = &[];
            return malformed(0);
        };
        let len = usize::from(len_byte);
        if len < 2 || len > self.rest.len() {
            self.rest = &[];
            return malformed(len_byte);
        }
        let data = &self.rest[2..len];
        self.rest = &self.rest[len..];
        let option = match (kind, len) {
            (option_kind::MSS, 4) => TcpOption::MaxSegmentSize(be16(data, 0)),
            (option_kind::WINDOW_SCALE, 3) => TcpOption::WindowScale(data[0]),
            (option_kind::SACK_PERMITTED, 2) => TcpOption::SackPermitted,
            (option_kind::SACK, _) if len >= 10 && (len - 2) % 8 == 0 => {
                // 40 option bytes hold at most four blocks (34 bytes).
                let mut blocks = SackBlocks::new();
                for chunk in data.chunks_exact(8) {
                    let block = SackBlock {
                        left: SeqNumber(be32(chunk, 0)),
                        right: SeqNumber(be32(chunk, 4)),
                    };
                    if blocks.push(block).is_err() {
                        self.rest = &[];
                        return malformed(len_byte);
                    }
                }
                TcpOption::Sack(blocks)
            }
            (option_kind::TIMESTAMPS, 10) => TcpOption::Timestamps(Timestamps {
                value: be32(data, 0),
                echo_reply: be32(data, 4),
            }),
            (
                option_kind::MSS
                | option_kind::WINDOW_SCALE
                | option_kind::SACK_PERMITTED
                | option_kind::SACK
                | option_kind::TIMESTAMPS,
                _,
            ) => {
                self.rest = &[];
                return malformed(len_byte);
            }
            _ => TcpOption::Unknown { kind, data },
        };
        Some(Ok(option))
    }
}

/// The options synack does not interpret, kept as a borrowed run of
/// kind-length-value bytes so that a parsed header re-emits them unchanged.
///
/// Two values are equal when they hold the same unknown options in the same
/// order, whatever padding surrounds them.
#[derive(Clone, Copy, Default)]
pub struct UnknownOptions<'a> {
    bytes: &'a [u8],
}

impl<'a> UnknownOptions<'a> {
    /// No unknown options.
    pub const fn none() -> UnknownOptions<'a> {
        UnknownOptions { bytes: &[] }
    }

    /// Unknown options from well-formed kind-length-value bytes, as they
    /// would appear in a header (for crafting segments). Options of a kind
    /// synack interprets are ignored here; padding is allowed.
    pub fn from_tlv(bytes: &'a [u8]) -> Result<UnknownOptions<'a>> {
        for option in TcpOptionIter::new(bytes) {
            option?;
        }
        Ok(UnknownOptions { bytes })
    }

    /// Iterates over `(kind, data)` of each unknown option.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &'a [u8])> + 'a {
        TcpOptionIter::new(self.bytes).filter_map(|o| match o {
            Ok(TcpOption::Unknown { kind, data }) => Some((kind, data)),
            _ => None,
        })
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Bytes the unknown options take when emitted (no padding).
    pub fn wire_len(&self) -> usize {
        self.iter().map(|(_, d)| 2 + d.len()).sum()
    }
}

impl PartialEq for UnknownOptions<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for UnknownOptions<'_> {}

impl fmt::Debug for UnknownOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The options of one segment, interpreted.
///
/// When an option appears twice, the last one counts (as in Linux).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions<'a> {
    /// Maximum segment size.
    pub mss: Option<u16>,
    /// Window scale shift count, as sent.
    pub window_scale: Option<u8>,
    /// SACK permitted.
    pub sack_permitted: bool,
    /// SACK blocks (empty when absent).
    pub sack: SackBlocks,
    /// Timestamps.
    pub timestamps: Option<Timestamps>,
    /// Options synack does not interpret.
    pub unknown: UnknownOptions<'a>,
}

impl<'a> TcpOptions<'a> {
    /// Interprets a header's option bytes.
    pub fn parse(bytes: &'a [u8]) -> Result<TcpOptions<'a>> {
        let mut opts = TcpOptions {
            unknown: UnknownOptions { bytes },
            ..TcpOptions::default()
        };
        // NOP, NOP, timestamps: the options of nearly every segment once
        // timestamps are agreed (Linux's layout and ours), read at once
        // into what the loop below makes of them.
        use option_kind::{NOP, TIMESTAMPS};
        if let [NOP, NOP, TIMESTAMPS, 10, ts @ ..] = bytes
            && ts.len() == 8
        {
            opts.timestamps = Some(Timestamps {
                value: be32(ts, 0),
                echo_reply: be32(ts, 4),
            });
            return Ok(opts);
        }
        for option in TcpOptionIter::new(bytes) {
            match option? {
                TcpOption::MaxSegmentSize(v) => opts.mss = Some(v),
                TcpOption::WindowScale(v) => opts.window_scale = Some(v),
                TcpOption::SackPermitted => opts.sack_permitted = true,
                TcpOption::Sack(v) => opts.sack = v,
                TcpOption::Timestamps(v) => opts.timestamps = Some(v),
                TcpOption::EndOfList | TcpOption::NoOperation | TcpOption::Unknown { .. } => {}
            }
        }
        Ok(opts)
    }

    /// Bytes the options take when emitted, padding to a 4-byte boundary
    /// included.
    pub fn wire_len(&self) -> usize {
        let aligned = self.aligned_len();
        if aligned <= MAX_OPTIONS_LEN {
            aligned
        } else {
            self.packed_len()
        }
    }

    /// Length in the Linux layout: every option on a 4-byte boundary.
    fn aligned_len(&self) -> usize {
        let mut len = 0;
        if self.mss.is_some() {
            len += 4;
        }
        // SACK-permitted travels with timestamps as 4,2,8,10,… (12 bytes),
        // or alone padded with two NOPs: 4 bytes either way.
        if self.sack_permitted {
            len += 4;
        }
        if self.timestamps.is_some() {
            len += if self.sack_permitted { 8 } else { 12 };
        }
        if self.window_scale.is_some() {
            len += 4;
        }
        if !self.sack.is_empty() {
            len += 2 + 2 + 8 * self.sack.len();
        }
        len += self.unknown.wire_len();
        len.next_multiple_of(4)
    }

    /// Length with the options back to back and no NOPs.
    fn packed_len(&self) -> usize {
        (self.known_options().map(|o| o.wire_len()).sum::<usize>() + self.unknown.wire_len())
            .next_multiple_of(4)
    }

    /// The interpreted options in emission order, without padding.
    fn known_options(&self) -> impl Iterator<Item = TcpOption<'a>> {
        let sack = (!self.sack.is_empty()).then_some(TcpOption::Sack(self.sack));
        [
            self.mss.map(TcpOption::MaxSegmentSize),
            self.sack_permitted.then_some(TcpOption::SackPermitted),
            self.timestamps.map(TcpOption::Timestamps),
            self.window_scale.map(TcpOption::WindowScale),
            sack,
        ]
        .into_iter()
        .flatten()
    }

    /// Writes the options into `buf` and returns their length, padding
    /// included.
    ///
    /// The layout is Linux's (each option 4-byte aligned with NOPs,
    /// SACK-permitted sharing a word with the timestamps). When that would
    /// exceed 40 bytes, which only a header crafted to be tight can cause,
    /// the options are written back to back instead, so anything that
    /// parsed can be emitted again.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        // Once agreed, timestamps alone are the options of nearly every
        // segment: NOP, NOP, timestamps, the bytes the general layout
        // below gives them, without its bookkeeping.
        // Field by field: `==` on the whole would walk the unknown options.
        if let Some(ts) = self.timestamps
            && self.mss.is_none()
            && self.window_scale.is_none()
            && !self.sack_permitted
            && self.sack.is_empty()
            && self.unknown.is_empty()
        {
            ensure_room(buf, 12)?;
            buf[..2].fill(option_kind::NOP);
            return Ok(2 + TcpOption::Timestamps(ts).emit(&mut buf[2..])?);
        }
        let aligned = self.aligned_len() <= MAX_OPTIONS_LEN;
        let total = self.wire_len();
        if total > MAX_OPTIONS_LEN {
            return Err(Error::OptionsTooLong);
        }
        ensure_room(buf, total)?;
        let mut at = 0;
        let mut put = |o: TcpOption<'_>| -> Result<()> {
            at += o.emit(&mut buf[at..])?;
            Ok(())
        };
        let nop = TcpOption::NoOperation;
        for option in self.known_options() {
            if aligned {
                match option {
                    // Shares its word with the SACK-permitted option.
                    TcpOption::Timestamps(_) if self.sack_permitted => {}
                    TcpOption::Timestamps(_) | TcpOption::Sack(_) => {
                        put(nop)?;
                        put(nop)?;
                    }
                    TcpOption::SackPermitted if self.timestamps.is_none() => {
                        put(nop)?;
                        put(nop)?;
                    }
                    TcpOption::WindowScale(_) => put(nop)?,
                    _ => {}
                }
            }
            put(option)?;
        }
        for (kind, data) in self.unknown.iter() {
            put(TcpOption::Unknown { kind, data })?;
        }
        if at < total {
            // RFC 9293 §3.1 (MUST-69): the rest of the header is zeros.
            // End of list, then zero padding (RFC 9293 §3.1).
            buf[at..total].fill(option_kind::EOL);
        }
        Ok(total)
    }
}

/// A TCP segment as plain fields: what `parse` reads and `emit` writes.
///
/// The acknowledgment number is kept even when the ACK flag is clear, and
/// all twelve flag bits are kept, so that parse then emit reproduces the
/// header; use [`TcpRepr::ack_number`] for the number only when it counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpRepr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number of the first byte (or of the SYN).
    pub seq: SeqNumber,
    /// Acknowledgment number field.
    pub ack: SeqNumber,
    /// Flag bits.
    pub flags: TcpFlags,
    /// Raw window field (scaling is applied by the connection).
    pub window: u16,
    /// Urgent pointer field.
    pub urgent: u16,
    /// Interpreted options.
    pub options: TcpOptions<'a>,
    /// Payload bytes.
    pub payload: &'a [u8],
}

impl<'a> TcpRepr<'a> {
    /// Reads a checked view. With [`ChecksumMode::Full`] the checksum must
    /// match the segment and the pseudo-header of `addrs`.
    pub fn parse(
        packet: &TcpPacket<&'a [u8]>,
        addrs: &IpAddrPair,
        mode: ChecksumMode,
    ) -> Result<TcpRepr<'a>> {
        packet.check_len()?;
        // RFC 9293 §3.1 (MUST-3): the receiver checks the checksum.
        if mode == ChecksumMode::Full && !packet.verify_checksum(addrs) {
            return Err(Error::BadChecksum);
        }
        let bytes: &'a [u8] = packet.buffer;
        let header_len = packet.header_len();
        Ok(TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq: packet.seq_number(),
            ack: packet.ack_number(),
            flags: packet.flags(),
            window: packet.window_len(),
            urgent: packet.urgent_at(),
            options: TcpOptions::parse(&bytes[HEADER_LEN..header_len])?,
            payload: &bytes[header_len..],
        })
    }

    /// Parses a whole segment from bytes: [`TcpPacket::new_checked`] then
    /// [`TcpRepr::parse`].
    pub fn parse_bytes(bytes: &'a [u8], addrs: &IpAddrPair, mode: ChecksumMode) -> Result<Self> {
        TcpRepr::parse(&TcpPacket::new_checked(bytes)?, addrs, mode)
    }

    /// The acknowledgment number when the ACK flag makes it significant.
    pub fn ack_number(&self) -> Option<SeqNumber> {
        self.flags.contains(TcpFlags::ACK).then_some(self.ack)
    }

    /// Sequence space the segment occupies: payload plus one each for SYN
    /// and FIN (RFC 9293 §3.4).
    pub fn segment_len(&self) -> usize {
        self.payload.len()
            + usize::from(self.flags.contains(TcpFlags::SYN))
            + usize::from(self.flags.contains(TcpFlags::FIN))
    }

    /// Header length in bytes, options and padding included.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options.wire_len()
    }

    /// Bytes [`TcpRepr::emit`] writes: header and payload.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// Writes the segment at the start of `buf` and returns its length.
    /// With [`ChecksumMode::Full`] the checksum is computed over the
    /// pseudo-header of `addrs`; with [`ChecksumMode::Skip`] it is left zero.
    pub fn emit(&self, buf: &mut [u8], addrs: &IpAddrPair, mode: ChecksumMode) -> Result<usize> {
        let options_len = self.options.wire_len();
        if options_len > MAX_OPTIONS_LEN {
            return Err(Error::OptionsTooLong);
        }
        let header_len = HEADER_LEN + options_len;
        let total = header_len + self.payload.len();
        ensure_room(buf, total)?;
        let buf = &mut buf[..total];
        let mut packet = TcpPacket::new_unchecked(&mut *buf);
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq);
        packet.set_ack_number(self.ack);
        // header_len ≤ 60, so the word count fits the 4-bit field.
        packet.set_offset_and_flags((header_len / 4) as u8, self.flags);
        packet.set_window_len(self.window);
        packet.set_checksum(0);
        packet.set_urgent_at(self.urgent);
        self.options.emit(packet.options_mut())?;
        packet.payload_mut().copy_from_slice(self.payload);
        // RFC 9293 §3.1 (MUST-2): the sender generates the checksum.
        if mode == ChecksumMode::Full {
            packet.fill_checksum(addrs);
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use quickcheck::{Arbitrary, Gen, quickcheck};
    use std::vec;
    use std::vec::Vec;

    fn v4() -> IpAddrPair {
        IpAddrPair::v4(Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2))
    }

    /// A Linux SYN captured on loopback (MSS 65495, SACK-permitted,
    /// timestamps, NOP, window scale 7), checksum fixed up for 10.0.0.1 →
    /// 10.0.0.2.
    const LINUX_SYN: [u8; 40] = [
        0xa4, 0x1e, 0x1f, 0x90, 0x5b, 0x3e, 0x7a, 0x01, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xff,
        0xd7, 0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0xff, 0xd7, 0x04, 0x02, 0x08, 0x0a, 0x9c, 0x12,
        0x3b, 0x41, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ];

    #[test]
    fn parses_a_linux_syn() {
        let addrs = IpAddrPair::v4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let mut bytes = LINUX_SYN;
        TcpPacket::new_unchecked(&mut bytes[..]).fill_checksum(&addrs);
        let repr = TcpRepr::parse_bytes(&bytes, &addrs, ChecksumMode::Full).unwrap();
        assert_eq!(repr.src_port, 42014);
        assert_eq!(repr.dst_port, 8080);
        assert_eq!(repr.seq, SeqNumber(0x5b3e_7a01));
        assert_eq!(repr.flags, TcpFlags::SYN);
        assert_eq!(repr.ack_number(), None);
        assert_eq!(repr.window, 65495);
        assert_eq!(repr.options.mss, Some(65495));
        assert!(repr.options.sack_permitted);
        assert_eq!(
            repr.options.timestamps,
            Some(Timestamps {
                value: 0x9c12_3b41,
                echo_reply: 0
            })
        );
        assert_eq!(repr.options.window_scale, Some(7));
        assert!(repr.options.unknown.is_empty());
        assert_eq!(repr.segment_len(), 1);
        // Our layout is Linux's, so the bytes come back identical.
        let mut out = [0u8; 40];
        assert_eq!(repr.emit(&mut out, &addrs, ChecksumMode::Full), Ok(40));
        assert_eq!(out, bytes);
    }

    #[test]
    fn bad_checksum_is_detected_and_skippable() {
        let mut bytes = LINUX_SYN;
        bytes[16] = 0x12;
        assert_eq!(
            TcpRepr::parse_bytes(&bytes, &v4(), ChecksumMode::Full),
            Err(Error::BadChecksum)
        );
        assert!(TcpRepr::parse_bytes(&bytes, &v4(), ChecksumMode::Skip).is_ok());
    }

    #[test]
    fn data_offset_is_validated() {
        let mut bytes = LINUX_SYN;
        bytes[12] = 0x40; // 4 words
        assert_eq!(
            TcpPacket::new_checked(&bytes[..]).err(),
            Some(Error::BadDataOffset(4))
        );
        bytes[12] = 0xf0; // 60 bytes in a 40-byte segment
        assert_eq!(
            TcpPacket::new_checked(&bytes[..]).err(),
            Some(Error::BadDataOffset(15))
        );
        assert_eq!(
            TcpPacket::new_checked(&bytes[..19]).err(),
            Some(Error::Truncated)
        );
    }

    fn options_of(raw: &[u8]) -> Result<TcpOptions<'_>> {
        TcpOptions::parse(raw)
    }

    #[test]
    fn malformed_options_are_errors() {
        // Length 0, length 1, running past the end, missing length byte.
        assert!(options_of(&[0xfe, 0, 1, 1]).is_err());
        assert!(options_of(&[0xfe, 1, 1, 1]).is_err());
        assert!(options_of(&[0xfe, 6, 1, 1]).is_err());
        assert!(options_of(&[1, 1, 1, 0xfe]).is_err());
        // Known kinds with the wrong length.
        assert_eq!(
            options_of(&[2, 3, 5, 0]).err(),
            Some(Error::BadOptionLength { kind: 2, len: 3 })
        );
        assert!(options_of(&[5, 2, 0, 0]).is_err());
        assert!(options_of(&[5, 9, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(options_of(&[8, 8, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn unknown_options_are_skipped_and_kept() {
        let raw = [1, 0xfd, 4, 0xaa, 0xbb, 2, 4, 5, 0xb4, 0x1e, 2, 0, 0, 0];
        let opts = options_of(&raw).unwrap();
        assert_eq!(opts.mss, Some(1460));
        let unknown: Vec<_> = opts.unknown.iter().collect();
        assert_eq!(unknown, vec![(0xfd, &[0xaa, 0xbb][..]), (0x1e, &[][..])]);
    }

    #[test]
    fn end_of_list_stops_parsing() {
        // Garbage after EOL is padding, not an option.
        let opts = options_of(&[2, 4, 1, 0, 0, 0xff, 0xff, 0xff]).unwrap();
        assert_eq!(opts.mss, Some(256));
    }

    #[test]
    fn sack_blocks_parse_in_wire_order() {
        let raw = [
            1, 1, 5, 18, 0, 0, 0, 10, 0, 0, 0, 20, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 5,
        ];
        let opts = options_of(&raw).unwrap();
        assert_eq!(
            opts.sack.as_slice(),
            &[
                SackBlock {
                    left: SeqNumber(10),
                    right: SeqNumber(20)
                },
                SackBlock {
                    left: SeqNumber(0xffff_fff0),
                    right: SeqNumber(5)
                },
            ]
        );
    }

    #[test]
    fn timestamps_alone_parse_as_the_general_loop_does() {
        let mut bytes = [1, 1, 8, 10, 1, 2, 3, 4, 10, 11, 12, 13];
        let ts = Timestamps {
            value: 0x0102_0304,
            echo_reply: 0x0a0b_0c0d,
        };
        let expected = TcpOptions {
            timestamps: Some(ts),
            ..TcpOptions::default()
        };
        assert_eq!(TcpOptions::parse(&bytes), Ok(expected));
        // The same option behind two other paddings takes the loop.
        bytes[..4].copy_from_slice(&[8, 10, 1, 2]);
        bytes[4..10].copy_from_slice(&[3, 4, 10, 11, 12, 13]);
        bytes[10..].copy_from_slice(&[0, 0]);
        assert_eq!(TcpOptions::parse(&bytes), Ok(expected));
        // A wrong length is still an error.
        assert!(TcpOptions::parse(&[1, 1, 8, 9, 1, 2, 3, 4, 10, 11, 12, 13]).is_err());
    }

    #[test]
    fn timestamps_alone_take_linux_layout() {
        let ts = Timestamps {
            value: 0x0102_0304,
            echo_reply: 0x0a0b_0c0d,
        };
        let alone = TcpOptions {
            timestamps: Some(ts),
            ..TcpOptions::default()
        };
        let mut buf = [0xeeu8; 13];
        assert_eq!(alone.wire_len(), 12);
        assert_eq!(alone.emit(&mut buf), Ok(12));
        assert_eq!(buf, [1, 1, 8, 10, 1, 2, 3, 4, 10, 11, 12, 13, 0xee]);
        assert_eq!(
            alone.emit(&mut buf[..11]),
            Err(Error::BufferTooSmall {
                needed: 12,
                available: 11
            })
        );
        // With SACK blocks after them, still NOP, NOP, timestamps first.
        let with_sack = TcpOptions {
            sack: SackBlocks::from_slice(&[SackBlock {
                left: SeqNumber(5),
                right: SeqNumber(9),
            }])
            .unwrap(),
            ..alone
        };
        let mut buf = [0u8; 24];
        assert_eq!(with_sack.emit(&mut buf), Ok(24));
        assert_eq!(buf[..12], [1, 1, 8, 10, 1, 2, 3, 4, 10, 11, 12, 13]);
        assert_eq!(buf[12..16], [1, 1, 5, 10]);
    }

    #[test]
    fn emit_rejects_small_buffers_and_long_options() {
        let repr = TcpRepr {
            payload: b"hello",
            ..TcpRepr::default()
        };
        let mut small = [0u8; 24];
        assert_eq!(
            repr.emit(&mut small, &v4(), ChecksumMode::Full),
            Err(Error::BufferTooSmall {
                needed: 25,
                available: 24
            })
        );
        let long = [
            0xfeu8, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0,
        ];
        let repr = TcpRepr {
            options: TcpOptions {
                mss: Some(1),
                timestamps: Some(Timestamps::default()),
                unknown: UnknownOptions::from_tlv(&long).unwrap(),
                ..TcpOptions::default()
            },
            ..TcpRepr::default()
        };
        let mut buf = [0u8; 100];
        assert_eq!(
            repr.emit(&mut buf, &v4(), ChecksumMode::Full),
            Err(Error::OptionsTooLong)
        );
    }

    #[test]
    fn ipv6_checksum_round_trip() {
        let addrs = IpAddrPair::v6(
            Ipv6Addr::LOCALHOST,
            Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
        );
        let repr = TcpRepr {
            src_port: 1,
            dst_port: 2,
            flags: TcpFlags::ACK | TcpFlags::PSH,
            payload: b"odd",
            ..TcpRepr::default()
        };
        let mut buf = [0u8; 64];
        let n = repr.emit(&mut buf, &addrs, ChecksumMode::Full).unwrap();
        assert_eq!(
            TcpRepr::parse_bytes(&buf[..n], &addrs, ChecksumMode::Full),
            Ok(repr)
        );
        // Swapping source and destination leaves the one's-complement sum
        // unchanged (addition commutes); other addresses fail the check.
        assert_eq!(
            TcpRepr::parse_bytes(&buf[..n], &addrs.reversed(), ChecksumMode::Full),
            Ok(repr)
        );
        assert_eq!(
            TcpRepr::parse_bytes(&buf[..n], &v4(), ChecksumMode::Full),
            Err(Error::BadChecksum)
        );
    }

    #[test]
    fn options_are_padded_with_zeros() {
        // RFC 9293 §3.1 (MUST-69): after the last option, zeros up to the
        // 32-bit boundary, whatever the buffer held before.
        let tlv = [0xfd, 3, 0xaa];
        let repr = TcpRepr {
            options: TcpOptions {
                mss: Some(1460),
                unknown: UnknownOptions::from_tlv(&tlv).unwrap(),
                ..TcpOptions::default()
            },
            ..TcpRepr::default()
        };
        let mut buf = [0xffu8; 64];
        let n = repr.emit(&mut buf, &v4(), ChecksumMode::Full).unwrap();
        assert_eq!(n, 28);
        assert_eq!(&buf[20..28], &[2, 4, 0x05, 0xb4, 0xfd, 3, 0xaa, 0]);
        assert_eq!(
            TcpRepr::parse_bytes(&buf[..n], &v4(), ChecksumMode::Full),
            Ok(repr)
        );
    }

    /// An owned segment description quickcheck can generate; the repr
    /// borrows from it.
    #[derive(Clone, Debug)]
    struct ArbSegment {
        header: [u32; 4],
        flags: u16,
        mss: Option<u16>,
        wscale: Option<u8>,
        sack_permitted: bool,
        sack: Vec<(u32, u32)>,
        ts: Option<(u32, u32)>,
        unknown: Vec<(u8, Vec<u8>)>,
        payload: Vec<u8>,
    }

    impl Arbitrary for ArbSegment {
        fn arbitrary(g: &mut Gen) -> Self {
            let unknown_count = usize::arbitrary(g) % 3;
            let unknown = (0..unknown_count)
                .map(|_| {
                    // Kinds from the experimental/unassigned space.
                    let kind = *g.choose(&[6u8, 7, 30, 34, 253, 254]).unwrap();
                    let len = usize::arbitrary(g) % 5;
                    (kind, (0..len).map(|_| u8::arbitrary(g)).collect())
                })
                .collect();
            let sack_count = usize::arbitrary(g) % 5;
            ArbSegment {
                header: [
                    u32::arbitrary(g),
                    u32::arbitrary(g),
                    u32::arbitrary(g),
                    u32::arbitrary(g),
                ],
                flags: u16::arbitrary(g) & 0xfff,
                mss: Option::arbitrary(g),
                wscale: Option::arbitrary(g),
                sack_permitted: bool::arbitrary(g),
                sack: (0..sack_count)
                    .map(|_| (u32::arbitrary(g), u32::arbitrary(g)))
                    .collect(),
                ts: Option::arbitrary(g),
                unknown,
                payload: Vec::arbitrary(g),
            }
        }
    }

    impl ArbSegment {
        fn unknown_tlv(&self) -> Vec<u8> {
            let mut out = Vec::new();
            for (kind, data) in &self.unknown {
                out.push(*kind);
                out.push((2 + data.len()) as u8);
                out.extend_from_slice(data);
            }
            out
        }

        fn repr<'a>(&'a self, tlv: &'a [u8]) -> TcpRepr<'a> {
            let blocks: Vec<SackBlock> = self
                .sack
                .iter()
                .map(|&(l, r)| SackBlock {
                    left: SeqNumber(l),
                    right: SeqNumber(r),
                })
                .collect();
            TcpRepr {
                src_port: self.header[0] as u16,
                dst_port: (self.header[0] >> 16) as u16,
                seq: SeqNumber(self.header[1]),
                ack: SeqNumber(self.header[2]),
                flags: TcpFlags::from_bits_truncate(self.flags),
                window: self.header[3] as u16,
                urgent: (self.header[3] >> 16) as u16,
                options: TcpOptions {
                    mss: self.mss,
                    window_scale: self.wscale,
                    sack_permitted: self.sack_permitted,
                    sack: SackBlocks::from_slice(&blocks).unwrap(),
                    timestamps: self
                        .ts
                        .map(|(value, echo_reply)| Timestamps { value, echo_reply }),
                    unknown: UnknownOptions::from_tlv(tlv).unwrap(),
                },
                payload: &self.payload,
            }
        }
    }

    quickcheck! {
        fn emit_then_parse_is_identity(seg: ArbSegment, v6: bool) -> bool {
            let tlv = seg.unknown_tlv();
            let repr = seg.repr(&tlv);
            let addrs = if v6 {
                IpAddrPair::v6(Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED)
            } else {
                v4()
            };
            let mut buf = vec![0u8; repr.buffer_len() + 8];
            match repr.emit(&mut buf, &addrs, ChecksumMode::Full) {
                Ok(n) => {
                    n == repr.buffer_len()
                        && n % 4 == repr.payload.len() % 4
                        && TcpRepr::parse_bytes(&buf[..n], &addrs, ChecksumMode::Full) == Ok(repr)
                }
                // Only too many option bytes may refuse to emit.
                Err(e) => e == Error::OptionsTooLong && repr.options.wire_len() > MAX_OPTIONS_LEN,
            }
        }

        fn parsing_arbitrary_bytes_never_panics(bytes: Vec<u8>) -> bool {
            let _ = TcpRepr::parse_bytes(&bytes, &v4(), ChecksumMode::Full);
            if let Ok(repr) = TcpRepr::parse_bytes(&bytes, &v4(), ChecksumMode::Skip) {
                // Whatever parses re-emits and re-parses to the same repr.
                let mut out = vec![0u8; repr.buffer_len()];
                let n = repr.emit(&mut out, &v4(), ChecksumMode::Full).unwrap();
                return TcpRepr::parse_bytes(&out[..n], &v4(), ChecksumMode::Full) == Ok(repr);
            }
            true
        }

        fn option_soup_never_panics(raw: Vec<u8>) -> bool {
            let raw = &raw[..raw.len().min(MAX_OPTIONS_LEN)];
            let _ = TcpOptions::parse(raw);
            TcpOptionIter::new(raw).count() <= raw.len()
        }
    }
}
