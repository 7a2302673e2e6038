//! Output of `synack pcap`: tcpdump-style text or one JSON object per line.
//!
//! The JSON is written by hand so that keys come out in a fixed, readable
//! order (serde_json's map would sort them); strings still go through
//! serde_json for escaping.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::SocketAddr;

use synack_core::wire::{self, IpRepr, TcpFlags, TcpOption, TcpOptionIter};

use super::{Frame, Segment};

/// How segments are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// One line per segment, like `tcpdump -S -n -tt`.
    Text,
    /// One JSON object per line.
    Json,
}

/// Writes one segment.
pub fn segment(
    out: &mut impl Write,
    style: Style,
    frame: &Frame<'_>,
    segment: &Segment<'_>,
) -> io::Result<()> {
    let line = match style {
        Style::Text => text_line(frame, segment),
        Style::Json => json_line(frame.number, segment),
    };
    writeln!(out, "{line}")
}

/// Writes the report of a frame whose TCP segment is malformed.
pub fn error(out: &mut impl Write, style: Style, frame: u64, error: wire::Error) -> io::Result<()> {
    match style {
        Style::Text => writeln!(out, "FRAME {frame}: error: {error}"),
        Style::Json => writeln!(
            out,
            "{{\"frame\":{frame},\"error\":{}}}",
            json_string(&error.to_string())
        ),
    }
}

/// Flag letters as tcpdump prints them, lowest bit first.
const FLAG_LETTERS: [(TcpFlags, char); 9] = [
    (TcpFlags::FIN, 'F'),
    (TcpFlags::SYN, 'S'),
    (TcpFlags::RST, 'R'),
    (TcpFlags::PSH, 'P'),
    (TcpFlags::ACK, '.'),
    (TcpFlags::URG, 'U'),
    (TcpFlags::ECE, 'E'),
    (TcpFlags::CWR, 'W'),
    (TcpFlags::AE, 'e'),
];

fn endpoints(segment: &Segment<'_>) -> (SocketAddr, SocketAddr) {
    let addrs = segment.found.ip.addrs();
    let tcp = &segment.found.tcp;
    (
        SocketAddr::new(addrs.src(), tcp.src_port()),
        SocketAddr::new(addrs.dst(), tcp.dst_port()),
    )
}

/// `1700000000.123456 IP 10.0.0.1.443 > 10.0.0.2.51234: Flags [S.], seq 1,
/// ack 2, win 65535, options [mss 1460,…], length 0`.
fn text_line(frame: &Frame<'_>, segment: &Segment<'_>) -> String {
    let tcp = &segment.found.tcp;
    let flags = tcp.flags();
    let payload_len = segment.found.payload_len();
    let mut line = format!(
        "{}.{:06} ",
        frame.timestamp.as_secs(),
        frame.timestamp.subsec_micros()
    );
    let (src, dst) = endpoints(segment);
    let family = match segment.found.ip {
        IpRepr::V4(_) => "IP",
        IpRepr::V6(_) => "IP6",
    };
    let _ = write!(
        line,
        "{family} {}.{} > {}.{}: Flags [",
        src.ip(),
        src.port(),
        dst.ip(),
        dst.port()
    );
    let letters: String = FLAG_LETTERS
        .iter()
        .filter(|(flag, _)| flags.contains(*flag))
        .map(|(_, c)| *c)
        .collect();
    line.push_str(if letters.is_empty() { "none" } else { &letters });
    let seq = tcp.seq_number().raw();
    let _ = write!(line, "], seq {seq}");
    if payload_len > 0 {
        // Payload lengths fit in 16 bits; the end wraps like the sequence.
        let _ = write!(line, ":{}", seq.wrapping_add(payload_len as u32));
    }
    if flags.contains(TcpFlags::ACK) {
        let _ = write!(line, ", ack {}", tcp.ack_number().raw());
    }
    let _ = write!(line, ", win {}", tcp.window_len());
    if flags.contains(TcpFlags::URG) {
        let _ = write!(line, ", urg {}", tcp.urgent_at());
    }
    let raw_options = tcp.options();
    if !raw_options.is_empty() {
        line.push_str(", options [");
        // Wire order, padding included, as tcpdump shows them; the bytes
        // already passed TcpOptions::parse, so no item is an error.
        let items: Vec<String> = TcpOptionIter::new(raw_options)
            .filter_map(Result::ok)
            .map(|o| text_option(&o))
            .collect();
        line.push_str(&items.join(","));
        line.push(']');
    }
    let _ = write!(line, ", length {payload_len}");
    line
}

fn text_option(option: &TcpOption<'_>) -> String {
    match option {
        TcpOption::EndOfList => "eol".to_string(),
        TcpOption::NoOperation => "nop".to_string(),
        TcpOption::MaxSegmentSize(mss) => format!("mss {mss}"),
        TcpOption::WindowScale(shift) => format!("wscale {shift}"),
        TcpOption::SackPermitted => "sackOK".to_string(),
        TcpOption::Sack(blocks) => {
            let mut s = format!("sack {}", blocks.len());
            for b in blocks.as_slice() {
                let _ = write!(s, " {{{}:{}}}", b.left.raw(), b.right.raw());
            }
            s
        }
        TcpOption::Timestamps(ts) => format!("TS val {} ecr {}", ts.value, ts.echo_reply),
        TcpOption::Unknown { kind, data } => {
            let mut s = format!("opt-{kind}");
            if !data.is_empty() {
                s.push(':');
                for b in *data {
                    let _ = write!(s, "{b:02x}");
                }
            }
            s
        }
    }
}

fn json_line(frame: u64, segment: &Segment<'_>) -> String {
    let tcp = &segment.found.tcp;
    let flags = tcp.flags();
    let (src, dst) = endpoints(segment);
    let mut s = format!(
        "{{\"frame\":{frame},\"src\":{},\"dst\":{},\"seq\":{}",
        json_string(&src.to_string()),
        json_string(&dst.to_string()),
        tcp.seq_number().raw()
    );
    if flags.contains(TcpFlags::ACK) {
        let _ = write!(s, ",\"ack\":{}", tcp.ack_number().raw());
    }
    let names: Vec<String> = TcpFlags::NAMES
        .iter()
        .filter(|(flag, _)| flags.contains(*flag))
        .map(|(_, name)| json_string(name))
        .collect();
    let checksum = match segment.checksum_ok {
        Some(ok) => ok.to_string(),
        None => "null".to_string(),
    };
    let _ = write!(
        s,
        ",\"flags\":[{}],\"window\":{},\"urgent\":{},\"payload_len\":{},\"checksum_ok\":{checksum}",
        names.join(","),
        tcp.window_len(),
        tcp.urgent_at(),
        segment.found.payload_len(),
    );
    let o = &segment.options;
    let mut fields = Vec::new();
    if let Some(mss) = o.mss {
        fields.push(format!("\"mss\":{mss}"));
    }
    if let Some(shift) = o.window_scale {
        fields.push(format!("\"wscale\":{shift}"));
    }
    if o.sack_permitted {
        fields.push("\"sack_permitted\":true".to_string());
    }
    if !o.sack.is_empty() {
        let blocks: Vec<String> = o
            .sack
            .as_slice()
            .iter()
            .map(|b| format!("[{},{}]", b.left.raw(), b.right.raw()))
            .collect();
        fields.push(format!("\"sack\":[{}]", blocks.join(",")));
    }
    if let Some(ts) = o.timestamps {
        fields.push(format!("\"ts_val\":{}", ts.value));
        fields.push(format!("\"ts_ecr\":{}", ts.echo_reply));
    }
    if !o.unknown.is_empty() {
        let kinds: Vec<String> = o.unknown.iter().map(|(k, _)| k.to_string()).collect();
        fields.push(format!("\"unknown\":[{}]", kinds.join(",")));
    }
    let _ = write!(s, ",\"options\":{{{}}}}}", fields.join(","));
    s
}

fn json_string(s: &str) -> String {
    // Serializing a &str cannot fail.
    serde_json::to_string(s).unwrap_or_default()
}
