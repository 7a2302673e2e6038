//! `synack pcap`: print the TCP segments in a pcap or pcapng capture.
//!
//! Reading the file and stripping link-layer headers happen here and in
//! [`link`]; everything from the IP header on is decoded by
//! `synack_core::wire`, so this command shows exactly what the protocol
//! core would see.

pub mod format;
pub mod link;

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{Endianness, PcapError, TsResolution};
use synack_core::wire::{self, ChecksumMode, TcpInIp, TcpOptions, Truncation, locate_tcp};

use link::{Family, Payload};

/// Arguments of `synack pcap`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Print the TCP segments in a pcap or pcapng capture",
    long_about = "Print the TCP segments in a pcap or pcapng capture, decoded by \
synack-core's wire code.\n\n\
Link types: Ethernet (with 802.1Q/802.1ad tags), raw IP (101, 12, 14, 228, 229), \
Linux cooked (SLL, SLL2) and BSD loopback (NULL, LOOP). Non-TCP frames are skipped \
but still counted in frame numbers.\n\n\
The default output is one line per segment in the style of `tcpdump -S -n -tt` \
(absolute sequence numbers, no checksum verdict: that is in --json); a malformed \
segment prints `FRAME N: error: REASON`.\n\n\
With --json, each segment is one JSON object per line with the keys, in this order:\n  \
frame        1-based frame number in the file (all frames count)\n  \
src, dst     \"ip:port\", IPv6 as \"[ip]:port\"\n  \
seq          absolute sequence number\n  \
ack          absolute acknowledgment number, present only when ACK is set\n  \
flags        names of the set bits among FIN SYN RST PSH ACK URG ECE CWR\n  \
window       raw 16-bit window field (not scaled)\n  \
urgent       raw urgent pointer field\n  \
payload_len  payload length as the IP header declares it\n  \
checksum_ok  whether the TCP checksum verifies; null when the frame was captured \
short. Captures taken on the sending host (e.g. Linux loopback) hold offloaded, \
unfinished checksums and show false.\n  \
options      always present, {} when there are none; holds only the options seen: \
mss, wscale, sack_permitted (true), sack ([[left, right], ...]), ts_val, ts_ecr, \
unknown (list of option kinds synack does not interpret)\n\
A malformed segment is {\"frame\": N, \"error\": \"REASON\"}.\n\n\
Exit status: 0 when the whole file was read (malformed segments included), 2 when \
the file cannot be read or is not a capture."
)]
pub struct PcapArgs {
    /// The capture file (pcap or pcapng; detected by its magic number).
    pub file: PathBuf,
    /// Print one JSON object per line instead of tcpdump-style text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command: decode `args.file` and print its segments on stdout.
pub fn run(args: &PcapArgs) -> ExitCode {
    let mut out = BufWriter::new(io::stdout().lock());
    let style = if args.json {
        format::Style::Json
    } else {
        format::Style::Text
    };
    let result = print_capture(&args.file, style, &mut out)
        .and_then(|()| out.flush().map_err(Failure::Write));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // Like tcpdump piped into `head`: stop quietly.
        Err(Failure::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Failure::Write(e)) => {
            complain(format_args!("cannot write output: {e}"));
            ExitCode::from(2)
        }
        Err(Failure::Read(reason)) => {
            // What was decoded before the failure is still worth showing.
            let _ = out.flush();
            complain(format_args!(
                "cannot read {}: {reason}",
                args.file.display()
            ));
            ExitCode::from(2)
        }
    }
}

/// Writes one `synack: …` line on stderr; a failing stderr is ignored
/// rather than turned into a panic.
fn complain(message: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr(), "synack: {message}");
}

/// Why the command stopped early.
#[derive(Debug)]
pub enum Failure {
    /// The capture could not be opened or parsed.
    Read(String),
    /// Standard output failed.
    Write(io::Error),
}

/// One captured frame, whatever the file format.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based position among the file's packets.
    pub number: u64,
    /// Capture time since the Unix epoch.
    pub timestamp: Duration,
    /// The `LINKTYPE_` value of the interface that captured it.
    pub linktype: u32,
    /// The bytes captured.
    pub data: &'a [u8],
    /// Length of the frame on the wire; more than `data.len()` when the
    /// capture's snap length cut it.
    pub orig_len: u32,
}

impl Frame<'_> {
    /// True when fewer bytes were captured than the frame had.
    pub fn is_cut_short(&self) -> bool {
        u64::try_from(self.data.len()).is_ok_and(|n| n < u64::from(self.orig_len))
    }
}

/// A TCP segment located and checked by synack-core.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    /// The IP header and TCP bytes as `wire::locate_tcp` found them.
    pub found: TcpInIp<'a>,
    /// The options, as `wire::TcpOptions::parse` interprets them.
    pub options: TcpOptions<'a>,
    /// Whether the TCP checksum verifies; `None` when bytes are missing.
    pub checksum_ok: Option<bool>,
}

/// What one frame holds for this command.
#[derive(Clone, Copy, Debug)]
pub enum Decoded<'a> {
    /// A TCP segment.
    Segment(Segment<'a>),
    /// IP that claims to carry TCP (or cannot be read far enough to
    /// tell), but is malformed.
    Malformed(wire::Error),
    /// Not TCP, or a link layer this command does not decode.
    Skipped,
}

/// Decodes one frame down to its TCP segment.
pub fn decode<'a>(frame: &Frame<'a>) -> Decoded<'a> {
    let (family, ip) = match link::ip_payload(frame.linktype, frame.data) {
        Payload::Ip { family, bytes } => (family, bytes),
        Payload::NotIp | Payload::UnsupportedLinkType => return Decoded::Skipped,
    };
    // The link header announced a family; a packet that says otherwise is
    // malformed rather than silently read as the other family.
    if let Some(&first) = ip.first() {
        let version = first >> 4;
        let expected = match family {
            Family::V4 => Some(4),
            Family::V6 => Some(6),
            Family::Either => None,
        };
        if expected.is_some_and(|v| v != version) {
            return Decoded::Malformed(wire::Error::BadVersion(version));
        }
    }
    // A snap length may cut the payload; then only the headers can be
    // checked. A frame captured whole must hold all the IP length claims.
    let truncation = if frame.is_cut_short() {
        Truncation::Allow
    } else {
        Truncation::Reject
    };
    // The IPv4 header checksum is not the subject here; TCP's is, below.
    let found = match locate_tcp(ip, truncation, ChecksumMode::Skip) {
        Ok(found) => found,
        Err(wire::Error::NotTcp(_)) => return Decoded::Skipped,
        Err(e) => return Decoded::Malformed(e),
    };
    // The options as a slice of the frame itself (not of the view), so
    // the parsed options can outlive this function.
    let header_len = found.tcp.header_len();
    let option_bytes = &found.tcp.into_inner()[header_len - found.tcp.options().len()..header_len];
    let options = match TcpOptions::parse(option_bytes) {
        Ok(options) => options,
        Err(e) => return Decoded::Malformed(e),
    };
    let checksum_ok = (!found.is_truncated()).then(|| found.tcp.verify_checksum(&found.ip.addrs()));
    Decoded::Segment(Segment {
        found,
        options,
        checksum_ok,
    })
}

/// Decodes every frame of the capture at `path` and writes the result.
pub fn print_capture(
    path: &Path,
    style: format::Style,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let mut warned = Vec::new();
    for_each_frame(path, &mut |frame| {
        if !link::is_supported(frame.linktype) && !warned.contains(&frame.linktype) {
            warned.push(frame.linktype);
            complain(format_args!(
                "{}: frames of link type {} are not decoded",
                path.display(),
                frame.linktype
            ));
        }
        let written = match decode(&frame) {
            Decoded::Segment(segment) => format::segment(out, style, &frame, &segment),
            Decoded::Malformed(error) => format::error(out, style, frame.number, error),
            Decoded::Skipped => Ok(()),
        };
        written.map_err(Failure::Write)
    })
}

const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x4d, 0x3c, 0xb2, 0xa1],
];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Opens the capture at `path`, tells pcap from pcapng by the magic
/// number, and calls `on_frame` for each packet in file order.
pub fn for_each_frame(
    path: &Path,
    on_frame: &mut dyn FnMut(Frame<'_>) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let io_failure = |e: io::Error| Failure::Read(e.to_string());
    let mut file = File::open(path).map_err(io_failure)?;
    let mut magic = [0u8; 4];
    let mut got = 0;
    // `read` may return fewer bytes than asked; a few tries are plenty.
    for _ in 0..4 {
        let n = file.read(&mut magic[got..]).map_err(io_failure)?;
        got += n;
        if n == 0 || got == magic.len() {
            break;
        }
    }
    if got < magic.len() {
        return Err(Failure::Read(format!(
            "not a pcap or pcapng capture ({got} bytes long)"
        )));
    }
    // Start again: the readers parse the magic themselves.
    let file = File::open(path).map_err(io_failure)?;
    if PCAP_MAGICS.contains(&magic) {
        read_pcap(file, on_frame)
    } else if magic == PCAPNG_MAGIC {
        read_pcapng(file, on_frame)
    } else {
        Err(Failure::Read(format!(
            "not a pcap or pcapng capture (magic number {:02x}{:02x}{:02x}{:02x})",
            magic[0], magic[1], magic[2], magic[3]
        )))
    }
}

/// A readable reason from pcap-file's errors, whose own text hides the
/// I/O cause.
fn read_failure(e: PcapError) -> Failure {
    Failure::Read(match e {
        PcapError::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            "the file ends in the middle of a packet or block".to_string()
        }
        PcapError::IoError(e) => e.to_string(),
        PcapError::InvalidField(what) => format!("invalid field: {what}"),
        other => other.to_string(),
    })
}

/// The link-type number of a pcap header or interface block. The high
/// bits of a pcap header's field may carry FCS information (per the
/// pcap file format); the link type is the low 16.
fn linktype_number(datalink: pcap_file::DataLink) -> u32 {
    u32::from(datalink) & 0xffff
}

fn read_pcap(
    file: File,
    on_frame: &mut dyn FnMut(Frame<'_>) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let mut reader = PcapReader::new(file).map_err(read_failure)?;
    let header = reader.header();
    let linktype = linktype_number(header.datalink);
    let nanos_per_frac = match header.ts_resolution {
        TsResolution::MicroSecond => 1_000,
        TsResolution::NanoSecond => 1,
    };
    let mut number = 0u64;
    // Raw packets: pcap-file's checked packets reject an original length
    // above the snap length, which is exactly the case of a cut frame.
    while let Some(packet) = reader.next_raw_packet() {
        let packet = packet.map_err(read_failure)?;
        number += 1;
        let timestamp = Duration::from_secs(u64::from(packet.ts_sec))
            + Duration::from_nanos(u64::from(packet.ts_frac) * nanos_per_frac);
        on_frame(Frame {
            number,
            timestamp,
            linktype,
            data: &packet.data,
            orig_len: packet.orig_len,
        })?;
    }
    Ok(())
}

/// What a packet block needs from its interface description.
struct Interface {
    linktype: u32,
    snaplen: u32,
    /// Timestamp units per second.
    units_per_sec: u128,
    offset_secs: u64,
}

impl Interface {
    fn new(idb: &InterfaceDescriptionBlock<'_>) -> Interface {
        let mut units_per_sec = 1_000_000u128; // the default if_tsresol, 6
        let mut offset_secs = 0;
        for option in &idb.options {
            match *option {
                InterfaceDescriptionOption::IfTsResol(r) => {
                    // High bit set: a power of two; else a power of ten.
                    let (base, exp) = if r & 0x80 != 0 {
                        (2u128, r & 0x7f)
                    } else {
                        (10u128, r)
                    };
                    // Absurd exponents would overflow; keep the default.
                    if let Some(units) = base.checked_pow(u32::from(exp)) {
                        units_per_sec = units;
                    }
                }
                InterfaceDescriptionOption::IfTsOffset(secs) => offset_secs = secs,
                _ => {}
            }
        }
        Interface {
            linktype: linktype_number(idb.linktype),
            snaplen: idb.snaplen,
            units_per_sec,
            offset_secs,
        }
    }

    /// The capture time of a block whose raw timestamp is `units`.
    fn timestamp(&self, units: u128) -> Duration {
        let secs = units / self.units_per_sec;
        let frac = units % self.units_per_sec;
        let nanos = frac * 1_000_000_000 / self.units_per_sec;
        Duration::from_secs(u64::try_from(secs).unwrap_or(u64::MAX))
            .saturating_add(Duration::from_secs(self.offset_secs))
            .saturating_add(Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)))
    }
}

fn read_pcapng(
    file: File,
    on_frame: &mut dyn FnMut(Frame<'_>) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let mut reader = PcapNgReader::new(file).map_err(read_failure)?;
    let mut number = 0u64;
    while let Some(block) = reader.next_block() {
        // Owned, so the reader's interface list can be consulted while the
        // packet is in hand.
        let block = block.map_err(read_failure)?.into_owned();
        let interface = |id: u32| -> Result<Interface, Failure> {
            let idb = usize::try_from(id)
                .ok()
                .and_then(|i| reader.interfaces().get(i))
                .ok_or_else(|| {
                    Failure::Read(format!(
                        "a packet names interface {id}, which the file does not describe"
                    ))
                })?;
            Ok(Interface::new(idb))
        };
        let (iface, raw_units, data, orig_len): (Interface, u128, &[u8], u32) = match &block {
            // pcap-file reports the raw timestamp count as nanoseconds,
            // whatever the interface's resolution; undo that.
            Block::EnhancedPacket(epb) => (
                interface(epb.interface_id)?,
                epb.timestamp.as_nanos(),
                &epb.data,
                epb.original_len,
            ),
            Block::SimplePacket(spb) => {
                let iface = interface(0)?;
                // The block's data runs to its padded end; the captured
                // length is the original one, capped by the snap length.
                let mut len = spb
                    .data
                    .len()
                    .min(usize::try_from(spb.original_len).unwrap_or(0));
                if iface.snaplen != 0 {
                    len = len.min(usize::try_from(iface.snaplen).unwrap_or(usize::MAX));
                }
                (iface, 0, &spb.data[..len], spb.original_len)
            }
            Block::Packet(pb) => {
                // The obsolete block reads its two 32-bit timestamp halves
                // as one u64; in little-endian sections that swaps them.
                let raw = match reader.section().endianness {
                    Endianness::Big => pb.timestamp,
                    Endianness::Little => pb.timestamp.rotate_left(32),
                };
                (
                    interface(u32::from(pb.interface_id))?,
                    u128::from(raw),
                    &pb.data,
                    pb.original_len,
                )
            }
            _ => continue,
        };
        number += 1;
        on_frame(Frame {
            number,
            timestamp: iface.timestamp(raw_units),
            linktype: iface.linktype,
            data,
            orig_len,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::DataLink;

    fn interface(options: Vec<InterfaceDescriptionOption<'static>>) -> Interface {
        Interface::new(&InterfaceDescriptionBlock {
            linktype: DataLink::ETHERNET,
            snaplen: 0,
            options,
        })
    }

    #[test]
    fn pcapng_timestamp_resolutions() {
        // Without if_tsresol, units are microseconds.
        assert_eq!(
            interface(vec![]).timestamp(1_500_000),
            Duration::from_millis(1500)
        );
        let nanos = interface(vec![InterfaceDescriptionOption::IfTsResol(9)]);
        assert_eq!(nanos.timestamp(2_000_000_001), Duration::new(2, 1));
        let binary = interface(vec![
            InterfaceDescriptionOption::IfTsResol(0x80 | 10),
            InterfaceDescriptionOption::IfTsOffset(100),
        ]);
        assert_eq!(binary.timestamp(1024 + 512), Duration::from_millis(101_500));
        // An exponent too large for any clock keeps the default.
        let absurd = interface(vec![InterfaceDescriptionOption::IfTsResol(127)]);
        assert_eq!(absurd.timestamp(1_000_000), Duration::from_secs(1));
    }

    #[test]
    fn link_family_must_match_the_ip_version() {
        // An Ethernet frame that says IPv4 but holds an IPv6 header.
        let mut data = vec![0u8; 12];
        data.extend_from_slice(&[0x08, 0x00, 0x60]);
        data.resize(14 + 60, 0);
        let frame = Frame {
            number: 1,
            timestamp: Duration::ZERO,
            linktype: link::ETHERNET,
            data: &data,
            orig_len: 74,
        };
        assert!(matches!(
            decode(&frame),
            Decoded::Malformed(wire::Error::BadVersion(6))
        ));
    }
}
