//! `synack pcap --json` against tshark, field by field.
//!
//! Three sources of captures:
//! 1. crafted here with synack-core's emitters (then patched by hand for
//!    the malformed cases), in every supported link type, as pcap and as
//!    pcapng;
//! 2. real Linux loopback traffic, captured by tcpdump (pcap) and dumpcap
//!    (pcapng) while a std::net client and server talk (root only);
//! 3. the capture committed under `captures/`.
//!
//! For every frame, either both tools see the same TCP segment (every field
//! compared), or synack reports it malformed and tshark flags that frame in
//! the way recorded for the case, or neither sees TCP. Any disagreement
//! fails the test with the capture, frame and field named.
//!
//! Without tshark (or, for the live captures, root, tcpdump and dumpcap)
//! a test says why on stderr and passes, except under CI, where it fails:
//! `synack_testkit::require`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::simple_packet::SimplePacketBlock;
use pcap_file::{DataLink, TsResolution};
use serde_json::Value;
use synack_core::SeqNumber;
use synack_core::wire::{
    Checksum, ChecksumMode, IpAddrPair, IpRepr, Ipv4Repr, Ipv6Repr, SackBlock, SackBlocks,
    TcpFlags, TcpOptions, TcpPacket, TcpRepr, Timestamps, Truncation, UnknownOptions,
    emit_tcp_in_ip, internet_checksum, locate_tcp,
};
use synack_testkit::{Need, require};

const TSHARK_TIMEOUT: Duration = Duration::from_secs(120);
const SYNACK_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// Running programs with a deadline.

struct Ran {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` to completion or until `timeout`, output collected through
/// files so that a chatty program cannot block on a full pipe.
fn run_bounded(mut cmd: Command, timeout: Duration, scratch: &Path, tag: &str) -> Ran {
    let out_path = scratch.join(format!("{tag}.stdout"));
    let err_path = scratch.join(format!("{tag}.stderr"));
    cmd.stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let status = wait_bounded(&mut child, timeout)
        .unwrap_or_else(|| panic!("{cmd:?} did not finish within {timeout:?}"));
    Ran {
        status: status.code(),
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
    }
}

/// Waits for `child` up to `timeout`; kills it and returns `None` after.
fn wait_bounded(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A scratch directory removed when dropped (kept when
/// `SYNACK_KEEP_CAPTURES` is set, for looking at them by hand).
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "synack-pcap-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var_os("SYNACK_KEEP_CAPTURES").is_some() {
            eprintln!("captures kept in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

// ---------------------------------------------------------------------------
// What each tool says.

/// One line of `synack pcap --json` per segment or error, by frame.
fn synack_json(capture: &Path, scratch: &Path) -> BTreeMap<u64, Value> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_synack"));
    cmd.arg("pcap").arg("--json").arg(capture);
    let ran = run_bounded(cmd, SYNACK_TIMEOUT, scratch, "synack");
    assert_eq!(
        ran.status,
        Some(0),
        "synack pcap --json {} failed: {}",
        capture.display(),
        ran.stderr
    );
    assert!(
        !ran.stderr.contains("panicked"),
        "synack panicked: {}",
        ran.stderr
    );
    let mut out = BTreeMap::new();
    for line in ran.stdout.lines() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("synack printed invalid JSON {line:?}: {e}"));
        let frame = v["frame"].as_u64().expect("every object has a frame");
        assert!(
            out.insert(frame, v).is_none(),
            "two objects for frame {frame}"
        );
    }
    out
}

const TSHARK_FIELDS: &[&str] = &[
    "frame.number",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.flags",
    "tcp.window_size_value",
    "tcp.urgent_pointer",
    "tcp.len",
    "tcp.checksum.status",
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "tcp.options.sack_perm",
    "tcp.options.sack_le",
    "tcp.options.sack_re",
    "tcp.options.timestamp.tsval",
    "tcp.options.timestamp.tsecr",
    "tcp.option_kind",
    "_ws.expert.message",
    "_ws.malformed",
];

/// Field name → every occurrence, for one frame.
type Layers = BTreeMap<String, Vec<String>>;

/// tshark's view of every frame, with checksum verification on and
/// absolute sequence numbers.
fn tshark_fields(capture: &Path, scratch: &Path) -> BTreeMap<u64, Layers> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n")
        .arg("-r")
        .arg(capture)
        .args(["-T", "json"])
        .args(["-o", "tcp.check_checksum:TRUE"])
        .args(["-o", "tcp.relative_sequence_numbers:FALSE"])
        .args(["-o", "tcp.analyze_sequence_numbers:FALSE"]);
    for f in TSHARK_FIELDS {
        cmd.args(["-e", f]);
    }
    let ran = run_bounded(cmd, TSHARK_TIMEOUT, scratch, "tshark");
    assert_eq!(
        ran.status,
        Some(0),
        "tshark -r {} failed: {}",
        capture.display(),
        ran.stderr
    );
    let all: Value = serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|e| panic!("tshark printed invalid JSON: {e}"));
    let mut out = BTreeMap::new();
    for packet in all.as_array().expect("tshark -T json prints an array") {
        let layers = &packet["_source"]["layers"];
        let mut fields = Layers::new();
        for (name, values) in layers.as_object().expect("layers is an object") {
            let values = values
                .as_array()
                .expect("-e values are arrays")
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect();
            fields.insert(name.clone(), values);
        }
        let number: u64 = fields["frame.number"][0].parse().unwrap();
        out.insert(number, fields);
    }
    out
}

// ---------------------------------------------------------------------------
// The comparison.

/// How tshark shows a frame that synack reports malformed.
#[derive(Clone, Copy, Debug)]
enum TsharkSays {
    /// One of tshark's expert messages for the frame contains this text.
    Expert(&'static str),
    /// tshark does not dissect TCP in the frame at all.
    NoTcp,
}

/// What a crafted frame must decode to.
#[derive(Clone, Copy, Debug)]
enum Want {
    /// A segment, compared with tshark field by field.
    Segment,
    /// A segment whose checksum cannot be verified (captured short).
    SegmentUnverified,
    /// Nothing: not TCP.
    Skipped,
    /// An error whose text contains `ours`; tshark flags it as `tshark`.
    Malformed {
        ours: &'static str,
        tshark: TsharkSays,
    },
}

/// Compares both tools on `capture`. `wants` gives, by frame, what a
/// crafted frame must be; frames without an entry (all of a live capture)
/// must be segments both tools agree on, or non-TCP for both.
fn compare(
    capture: &Path,
    wants: &BTreeMap<u64, (&'static str, Want)>,
    failures: &mut Vec<String>,
) {
    let scratch = Scratch::new("cmp");
    let ours = synack_json(capture, &scratch.0);
    let theirs = tshark_fields(capture, &scratch.0);
    let file = capture.file_name().unwrap().to_string_lossy().into_owned();
    let mut fail = |frame: u64, msg: String| {
        let name = wants.get(&frame).map_or("", |w| w.0);
        failures.push(format!("{file} frame {frame} {name}: {msg}"));
    };
    for frame in ours.keys() {
        if !theirs.contains_key(frame) {
            fail(*frame, "synack reports a frame tshark does not have".into());
        }
    }
    for (&frame, t) in &theirs {
        let want = wants.get(&frame).map(|w| w.1);
        let tshark_tcp = t.contains_key("tcp.srcport");
        let expert = t.get("_ws.expert.message").cloned().unwrap_or_default();
        match (ours.get(&frame), want) {
            (None, Some(Want::Skipped) | None) => {
                if tshark_tcp {
                    fail(
                        frame,
                        "tshark decodes TCP here but synack skipped it".into(),
                    );
                }
            }
            (None, Some(w)) => fail(frame, format!("synack printed nothing, wanted {w:?}")),
            (Some(v), _) if v.get("error").is_some() => {
                let error = v["error"].as_str().unwrap_or_default();
                match want {
                    Some(Want::Malformed { ours, tshark }) => {
                        if !error.contains(ours) {
                            fail(frame, format!("synack says {error:?}, wanted {ours:?}"));
                        }
                        match tshark {
                            TsharkSays::Expert(text) => {
                                if !expert.iter().any(|m| m.contains(text)) {
                                    fail(
                                        frame,
                                        format!(
                                            "tshark's expert info {expert:?} lacks {text:?} (synack: {error})"
                                        ),
                                    );
                                }
                            }
                            TsharkSays::NoTcp => {
                                if tshark_tcp {
                                    fail(
                                        frame,
                                        format!(
                                            "tshark decodes TCP here (expert info {expert:?}) but synack says {error}"
                                        ),
                                    );
                                }
                            }
                        }
                    }
                    _ => fail(
                        frame,
                        format!("synack reports {error:?}, tshark's expert info is {expert:?}"),
                    ),
                }
            }
            (Some(v), want) => {
                match want {
                    None | Some(Want::Segment | Want::SegmentUnverified) => {}
                    Some(w) => fail(frame, format!("synack decoded a segment, wanted {w:?}")),
                }
                if !tshark_tcp {
                    fail(
                        frame,
                        format!("synack decoded {v}, tshark sees no TCP (expert info {expert:?})"),
                    );
                    continue;
                }
                if t.contains_key("_ws.malformed") {
                    fail(
                        frame,
                        format!("tshark calls the frame malformed: {expert:?}"),
                    );
                }
                let unverified = matches!(want, Some(Want::SegmentUnverified));
                if unverified && !v["checksum_ok"].is_null() {
                    fail(
                        frame,
                        format!("checksum_ok should be null, is {}", v["checksum_ok"]),
                    );
                }
                for problem in compare_segment(v, t) {
                    fail(frame, problem);
                }
            }
        }
    }
}

/// Every field of one segment; returns the disagreements.
fn compare_segment(ours: &Value, t: &Layers) -> Vec<String> {
    let mut problems = Vec::new();
    let one =
        |name: &str| -> Option<&str> { t.get(name).and_then(|v| v.first()).map(String::as_str) };
    let num = |name: &str| -> Option<u64> { one(name).map(parse_num) };
    let mut check = |field: &str, ours: String, theirs: String| {
        if ours != theirs {
            problems.push(format!("{field}: synack {ours}, tshark {theirs}"));
        }
    };
    // Addresses and ports. With IPv6 extension headers tshark still has one
    // ipv6.src; IPv4 is never tunnelled in these captures.
    let addr = |v4: &str, v6: &str, port: &str| -> String {
        let ip: IpAddr = match (one(v4), one(v6)) {
            (Some(a), _) => a.parse().unwrap(),
            (None, Some(a)) => a.parse().unwrap(),
            (None, None) => return "(no address)".into(),
        };
        SocketAddr::new(ip, num(port).unwrap_or(0) as u16).to_string()
    };
    check(
        "src",
        str_of(&ours["src"]),
        addr("ip.src", "ipv6.src", "tcp.srcport"),
    );
    check(
        "dst",
        str_of(&ours["dst"]),
        addr("ip.dst", "ipv6.dst", "tcp.dstport"),
    );
    check("seq", ours["seq"].to_string(), opt(num("tcp.seq_raw")));
    let flags = num("tcp.flags").unwrap_or(0);
    let names: Vec<&str> = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"]
        .iter()
        .enumerate()
        .filter(|(bit, _)| flags & (1 << bit) != 0)
        .map(|(_, n)| *n)
        .collect();
    check(
        "flags",
        ours["flags"].to_string(),
        serde_json::to_string(&names).unwrap(),
    );
    if flags & 0x10 != 0 {
        check("ack", ours["ack"].to_string(), opt(num("tcp.ack_raw")));
    } else {
        // Without the ACK flag the key must be absent.
        check("ack", ours["ack"].to_string(), "null".into());
    }
    check(
        "window",
        ours["window"].to_string(),
        opt(num("tcp.window_size_value")),
    );
    check(
        "urgent",
        ours["urgent"].to_string(),
        opt(num("tcp.urgent_pointer")),
    );
    check(
        "payload_len",
        ours["payload_len"].to_string(),
        opt(num("tcp.len")),
    );
    // tcp.checksum.status: 0 bad, 1 good, 2 unverified.
    let verdict = match one("tcp.checksum.status") {
        Some("1") => "true",
        Some("0") => "false",
        Some("2") => "null",
        other => other.unwrap_or("(absent)"),
    };
    check(
        "checksum_ok",
        ours["checksum_ok"].to_string(),
        verdict.into(),
    );
    let o = &ours["options"];
    check(
        "options is an object",
        o.is_object().to_string(),
        "true".into(),
    );
    check("mss", o["mss"].to_string(), opt(num("tcp.options.mss_val")));
    check(
        "wscale",
        o["wscale"].to_string(),
        opt(num("tcp.options.wscale.shift")),
    );
    check(
        "sack_permitted",
        o["sack_permitted"].to_string(),
        if t.contains_key("tcp.options.sack_perm") {
            "true"
        } else {
            "null"
        }
        .into(),
    );
    let edges = |name: &str| -> Vec<u64> {
        t.get(name)
            .map(|v| v.iter().map(|s| parse_num(s)).collect())
            .unwrap_or_default()
    };
    let (le, re) = (edges("tcp.options.sack_le"), edges("tcp.options.sack_re"));
    let theirs_sack = if le.is_empty() && re.is_empty() {
        "null".to_string()
    } else {
        let pairs: Vec<[u64; 2]> = le.iter().zip(&re).map(|(l, r)| [*l, *r]).collect();
        if le.len() != re.len() {
            format!("unpaired {le:?} {re:?}")
        } else {
            serde_json::to_string(&pairs).unwrap()
        }
    };
    check("sack", o["sack"].to_string(), theirs_sack);
    check(
        "ts_val",
        o["ts_val"].to_string(),
        opt(num("tcp.options.timestamp.tsval")),
    );
    check(
        "ts_ecr",
        o["ts_ecr"].to_string(),
        opt(num("tcp.options.timestamp.tsecr")),
    );
    let unknown: Vec<u64> = t
        .get("tcp.option_kind")
        .map(|kinds| {
            kinds
                .iter()
                .map(|k| parse_num(k))
                .filter(|k| ![0, 1, 2, 3, 4, 5, 8].contains(k))
                .collect()
        })
        .unwrap_or_default();
    let theirs_unknown = if unknown.is_empty() {
        "null".to_string()
    } else {
        serde_json::to_string(&unknown).unwrap()
    };
    check("unknown", o["unknown"].to_string(), theirs_unknown);
    problems
}

fn parse_num(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
        None => s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}")),
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or("null".into(), |n| n.to_string())
}

fn str_of(v: &Value) -> String {
    v.as_str().map_or(v.to_string(), str::to_string)
}

fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} disagreement(s) between synack and tshark:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// Crafting packets with synack-core.

const A4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
const A6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const B6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

fn ipv4() -> IpRepr {
    IpRepr::V4(Ipv4Repr {
        src: A4,
        dst: B4,
        protocol: 6,
        payload_len: 0,
        ttl: 64,
        dscp_ecn: 0,
        ident: 0x1234,
        dont_fragment: true,
        more_fragments: false,
        fragment_offset: 0,
    })
}

fn ipv6() -> IpRepr {
    IpRepr::V6(Ipv6Repr {
        src: A6,
        dst: B6,
        next_header: 6,
        payload_len: 0,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0x12345,
    })
}

fn tcp(flags: TcpFlags) -> TcpRepr<'static> {
    TcpRepr {
        src_port: 40000,
        dst_port: 443,
        seq: SeqNumber(1_000_000),
        ack: SeqNumber(2_000_000),
        flags,
        window: 29200,
        ..TcpRepr::default()
    }
}

fn syn_options() -> TcpOptions<'static> {
    TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        timestamps: Some(Timestamps {
            value: 1,
            echo_reply: 0,
        }),
        ..TcpOptions::default()
    }
}

fn sack(blocks: &[(u32, u32)]) -> SackBlocks {
    let blocks: Vec<SackBlock> = blocks
        .iter()
        .map(|&(l, r)| SackBlock {
            left: SeqNumber(l),
            right: SeqNumber(r),
        })
        .collect();
    SackBlocks::from_slice(&blocks).unwrap()
}

/// An IP packet carrying `seg`, checksums filled in by synack-core.
fn packet(ip: &IpRepr, seg: &TcpRepr<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 2048];
    let n = emit_tcp_in_ip(ip, seg, &mut buf, ChecksumMode::Full).unwrap();
    buf.truncate(n);
    buf
}

/// Offset of the TCP header in a packet built by [`packet`].
fn tcp_at(pkt: &[u8]) -> usize {
    if pkt[0] >> 4 == 4 { 20 } else { 40 }
}

fn addrs_of(pkt: &[u8]) -> IpAddrPair {
    if pkt[0] >> 4 == 4 {
        IpAddrPair::v4(A4, B4)
    } else {
        IpAddrPair::v6(A6, B6)
    }
}

/// Recomputes the TCP checksum after a patch, so that only the intended
/// fault remains.
fn refill_tcp_checksum(pkt: &mut [u8]) {
    let addrs = addrs_of(pkt);
    let at = tcp_at(pkt);
    TcpPacket::new_unchecked(&mut pkt[at..]).fill_checksum(&addrs);
}

/// Sets the IPv4 total length and fixes the header checksum.
fn set_ipv4_total_len(pkt: &mut [u8], total: u16) {
    pkt[2..4].copy_from_slice(&total.to_be_bytes());
    pkt[10..12].fill(0);
    let sum = internet_checksum(&pkt[..20]);
    pkt[10..12].copy_from_slice(&sum.to_be_bytes());
}

/// An IPv4 UDP datagram (not TCP: skipped).
fn udp_packet() -> Vec<u8> {
    let body = [
        0x30, 0x39, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00, b'p', b'i', b'n', b'g',
    ];
    let IpRepr::V4(mut ip) = ipv4() else {
        unreachable!()
    };
    ip.protocol = 17;
    ip.payload_len = body.len();
    let mut buf = vec![0u8; 20];
    ip.emit(&mut buf, ChecksumMode::Full).unwrap();
    buf.extend_from_slice(&body);
    buf
}

/// The same segment with a hop-by-hop and a destination-options header
/// (each 8 bytes of PadN) between the IPv6 header and TCP. The TCP
/// checksum covers only the upper layer, so it stays valid.
fn with_ipv6_extensions(pkt: &[u8]) -> Vec<u8> {
    let mut out = pkt[..40].to_vec();
    let tcp_len = pkt.len() - 40;
    out[4..6].copy_from_slice(&((tcp_len + 16) as u16).to_be_bytes());
    out[6] = 0; // hop-by-hop
    out.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]); // → destination options
    out.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]); // → TCP
    out.extend_from_slice(&pkt[40..]);
    out
}

/// The same packet with a 4-byte IPv4 option (NOP, NOP, NOP, EOL) after
/// the fixed header; the TCP checksum does not cover it.
fn with_ipv4_options(pkt: &[u8]) -> Vec<u8> {
    let mut out = pkt[..20].to_vec();
    out[0] = 0x46;
    out.extend_from_slice(&[1, 1, 1, 0]);
    out.extend_from_slice(&pkt[20..]);
    let total = out.len() as u16;
    out[10..12].fill(0);
    out[2..4].copy_from_slice(&total.to_be_bytes());
    let sum = internet_checksum(&out[..24]);
    out[10..12].copy_from_slice(&sum.to_be_bytes());
    out
}

/// The same segment behind an IPv6 fragment header with offset 0 and no
/// more fragments (RFC 6946): a whole datagram, readable as is.
fn with_ipv6_atomic_fragment(pkt: &[u8]) -> Vec<u8> {
    let mut out = pkt[..40].to_vec();
    let tcp_len = pkt.len() - 40;
    out[4..6].copy_from_slice(&((tcp_len + 8) as u16).to_be_bytes());
    out[6] = 44;
    out.extend_from_slice(&[6, 0, 0, 0, 0xca, 0xfe, 0xf0, 0x0d]);
    out.extend_from_slice(&pkt[40..]);
    out
}

/// One crafted IP packet and what it must decode to.
struct Case {
    name: &'static str,
    ip: Vec<u8>,
    /// Bytes of the frame actually captured (`None`: all of it).
    snap: Option<usize>,
    want: Want,
}

fn case(name: &'static str, ip: Vec<u8>, want: Want) -> Case {
    Case {
        name,
        ip,
        snap: None,
        want,
    }
}

fn malformed(ours: &'static str, tshark: TsharkSays) -> Want {
    Want::Malformed { ours, tshark }
}

/// Every TCP case, as IP packets.
fn tcp_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let v4 = ipv4();

    let syn = TcpRepr {
        options: syn_options(),
        ..tcp(TcpFlags::SYN)
    };
    cases.push(case(
        "SYN with MSS, SACK-permitted, TS, wscale",
        packet(&v4, &syn),
        Want::Segment,
    ));

    let ts = Some(Timestamps {
        value: 0xdead_beef,
        echo_reply: 0x0102_0304,
    });
    for (name, blocks, ts) in [
        (
            "ACK with 1 SACK block",
            &[(2_000_100u32, 2_000_200u32)][..],
            ts,
        ),
        (
            "ACK with 3 SACK blocks",
            &[(3000, 4000), (5000, 6000), (7000, 8000)][..],
            ts,
        ),
        (
            "ACK with 4 SACK blocks",
            &[(3000, 4000), (5000, 6000), (7000, 8000), (9000, 10000)][..],
            None,
        ),
    ] {
        let seg = TcpRepr {
            options: TcpOptions {
                sack: sack(blocks),
                timestamps: ts,
                ..TcpOptions::default()
            },
            ..tcp(TcpFlags::ACK)
        };
        cases.push(case(name, packet(&v4, &seg), Want::Segment));
    }

    let payload = [b'w'; 100];
    let wrap = TcpRepr {
        seq: SeqNumber(0xffff_fff0),
        ack: SeqNumber(0xffff_ffff),
        payload: &payload,
        options: TcpOptions {
            sack: sack(&[(0xffff_ff00, 0x0000_0100)]),
            ..TcpOptions::default()
        },
        ..tcp(TcpFlags::ACK | TcpFlags::PSH)
    };
    cases.push(case(
        "seq, ack and a SACK block wrapping 2^32",
        packet(&v4, &wrap),
        Want::Segment,
    ));

    let big_shift = TcpRepr {
        options: TcpOptions {
            window_scale: Some(15),
            ..syn_options()
        },
        ..tcp(TcpFlags::SYN)
    };
    cases.push(case(
        "SYN with window scale 15 (above the RFC 7323 limit, kept as sent)",
        packet(&v4, &big_shift),
        Want::Segment,
    ));
    cases.push(case(
        "IPv4 header with options",
        with_ipv4_options(&packet(&v4, &syn)),
        Want::Segment,
    ));

    let synack6 = TcpRepr {
        options: syn_options(),
        ..tcp(TcpFlags::SYN | TcpFlags::ACK)
    };
    cases.push(case(
        "IPv6 with hop-by-hop and destination options",
        with_ipv6_extensions(&packet(&ipv6(), &synack6)),
        Want::Segment,
    ));
    cases.push(case(
        "IPv6 plain",
        packet(&ipv6(), &tcp(TcpFlags::ACK)),
        Want::Segment,
    ));
    cases.push(case(
        "IPv6 atomic fragment header before TCP",
        with_ipv6_atomic_fragment(&packet(&ipv6(), &tcp(TcpFlags::ACK))),
        Want::Segment,
    ));

    // Unknown kinds: TFO cookie (34), RFC 6994 experimental (253, 254), an
    // MPTCP DSS with a 4-byte data ACK (30).
    let tfo_exp = [
        34u8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 253, 6, 0x12, 0x34, 0xab, 0xcd,
    ];
    let syn_unknown = TcpRepr {
        options: TcpOptions {
            mss: Some(1400),
            unknown: UnknownOptions::from_tlv(&tfo_exp).unwrap(),
            ..TcpOptions::default()
        },
        ..tcp(TcpFlags::SYN)
    };
    cases.push(case(
        "SYN with TFO (34) and 253",
        packet(&v4, &syn_unknown),
        Want::Segment,
    ));
    let mptcp_exp = [30u8, 8, 0x20, 0x01, 0, 0, 0, 42, 254, 4, 0x56, 0x78];
    let ack_unknown = TcpRepr {
        options: TcpOptions {
            unknown: UnknownOptions::from_tlv(&mptcp_exp).unwrap(),
            ..TcpOptions::default()
        },
        ..tcp(TcpFlags::ACK)
    };
    cases.push(case(
        "ACK with MPTCP (30) and 254",
        packet(&v4, &ack_unknown),
        Want::Segment,
    ));

    // Bytes after an end-of-list option are padding, whatever they hold.
    // Emitted as MSS then option 254, whose kind becomes end-of-list.
    let eol = TcpRepr {
        options: TcpOptions {
            mss: Some(536),
            unknown: UnknownOptions::from_tlv(&[0xfe, 4, 0x22, 0xff]).unwrap(),
            ..TcpOptions::default()
        },
        ..tcp(TcpFlags::SYN)
    };
    let mut eol = packet(&v4, &eol);
    eol[20 + 24] = 0;
    refill_tcp_checksum(&mut eol);
    cases.push(case("garbage after end of options", eol, Want::Segment));

    let data = TcpRepr {
        payload: b"hello, tshark",
        ..tcp(TcpFlags::ACK | TcpFlags::PSH)
    };
    cases.push(case(
        "data with a correct checksum",
        packet(&v4, &data),
        Want::Segment,
    ));
    let mut bad = packet(&v4, &data);
    bad[20 + 16] ^= 0x5a;
    cases.push(case("data with a bad checksum", bad, Want::Segment));

    let urgent = TcpRepr {
        urgent: 5,
        payload: b"0123456789",
        ..tcp(TcpFlags::ACK | TcpFlags::URG | TcpFlags::PSH)
    };
    cases.push(case(
        "URG with urgent pointer 5",
        packet(&v4, &urgent),
        Want::Segment,
    ));
    let ecn_syn = TcpRepr {
        options: syn_options(),
        ..tcp(TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR)
    };
    cases.push(case(
        "SYN with ECE and CWR",
        packet(&v4, &ecn_syn),
        Want::Segment,
    ));
    let ecn_ack = TcpRepr {
        payload: b"ce",
        ..tcp(TcpFlags::ACK | TcpFlags::ECE | TcpFlags::CWR | TcpFlags::PSH)
    };
    cases.push(case(
        "data with ECE and CWR",
        packet(&v4, &ecn_ack),
        Want::Segment,
    ));
    let fin_rst = [
        tcp(TcpFlags::FIN | TcpFlags::ACK),
        tcp(TcpFlags::RST),
        tcp(TcpFlags::empty()),
    ];
    for seg in &fin_rst {
        cases.push(case(
            "FIN, RST or no flags",
            packet(&v4, seg),
            Want::Segment,
        ));
    }

    let big = [b'z'; 1000];
    let long = TcpRepr {
        payload: &big,
        options: TcpOptions {
            timestamps: ts,
            ..TcpOptions::default()
        },
        ..tcp(TcpFlags::ACK | TcpFlags::PSH)
    };
    cases.push(Case {
        name: "captured short by a snap length",
        ip: packet(&v4, &long),
        snap: Some(14 + 20 + 32 + 100),
        want: Want::SegmentUnverified,
    });

    cases.push(case("UDP", udp_packet(), Want::Skipped));

    // Malformed segments.
    let mut short_hdr = packet(&v4, &syn);
    set_ipv4_total_len(&mut short_hdr, 20 + 30);
    short_hdr.truncate(50);
    cases.push(case(
        "TCP header longer than the 30 bytes IP declares",
        short_hdr,
        malformed(
            "bad TCP data offset 10",
            TsharkSays::Expert("Segment/fragment does not contain a full TCP header"),
        ),
    ));
    let mut tiny = packet(&v4, &tcp(TcpFlags::ACK));
    set_ipv4_total_len(&mut tiny, 20 + 12);
    tiny.truncate(32);
    cases.push(case(
        "12 bytes of TCP",
        tiny,
        malformed("truncated", TsharkSays::Expert("Malformed Packet")),
    ));
    let mut off4 = packet(&v4, &data);
    off4[20 + 12] = 0x40 | (off4[20 + 12] & 0x0f);
    refill_tcp_checksum(&mut off4);
    cases.push(case(
        "data offset 4",
        off4,
        malformed(
            "bad TCP data offset 4",
            TsharkSays::Expert("Bogus TCP header length (16, must be at least 20)"),
        ),
    ));
    let mut off15 = packet(&v4, &data);
    off15[20 + 12] = 0xf0 | (off15[20 + 12] & 0x0f);
    refill_tcp_checksum(&mut off15);
    cases.push(case(
        "data offset 15 past the segment end",
        off15,
        malformed(
            "bad TCP data offset 15",
            TsharkSays::Expert("Segment/fragment does not contain a full TCP header"),
        ),
    ));
    let opt254 = [254u8, 4, 0xaa, 0xbb];
    let with_opt = TcpRepr {
        options: TcpOptions {
            unknown: UnknownOptions::from_tlv(&opt254).unwrap(),
            ..TcpOptions::default()
        },
        payload: b"xy",
        ..tcp(TcpFlags::ACK | TcpFlags::PSH)
    };
    let mut len0 = packet(&v4, &with_opt);
    len0[20 + 21] = 0;
    refill_tcp_checksum(&mut len0);
    cases.push(case(
        "option length 0",
        len0,
        malformed(
            "malformed TCP option kind 254 with length 0",
            TsharkSays::Expert("too-short option length = 0 bytes"),
        ),
    ));
    let mut past = packet(&v4, &with_opt);
    past[20 + 21] = 12;
    refill_tcp_checksum(&mut past);
    cases.push(case(
        "option running past the header",
        past,
        malformed(
            "malformed TCP option kind 254 with length 12",
            TsharkSays::Expert("option length = 12 bytes says option goes past end of options"),
        ),
    ));
    let mss3 = TcpRepr {
        options: TcpOptions {
            mss: Some(0x0500),
            ..TcpOptions::default()
        },
        ..tcp(TcpFlags::SYN)
    };
    let mut mss3 = packet(&v4, &mss3);
    mss3[20 + 21] = 3;
    refill_tcp_checksum(&mut mss3);
    cases.push(case(
        "MSS option of length 3",
        mss3,
        malformed(
            "malformed TCP option kind 2 with length 3",
            TsharkSays::Expert("option length should be 4"),
        ),
    ));
    let sack12 = TcpRepr {
        options: TcpOptions {
            sack: sack(&[(1, 2), (0x0101_0101, 0x0101_0101)]),
            ..TcpOptions::default()
        },
        ..tcp(TcpFlags::ACK)
    };
    let mut sack12 = packet(&v4, &sack12);
    // NOP, NOP, SACK: the length byte is at option offset 3. Two blocks
    // leave room, so 12 is wrong in shape (not 2 + 8n), not in extent.
    sack12[20 + 23] = 12;
    refill_tcp_checksum(&mut sack12);
    cases.push(case(
        "SACK option of length 12",
        sack12,
        malformed(
            "malformed TCP option kind 5 with length 12",
            TsharkSays::Expert("suboption would go past end of option"),
        ),
    ));
    let ts8 = TcpRepr {
        options: TcpOptions {
            timestamps: ts,
            ..TcpOptions::default()
        },
        ..tcp(TcpFlags::ACK)
    };
    let mut ts8 = packet(&v4, &ts8);
    ts8[20 + 23] = 8;
    refill_tcp_checksum(&mut ts8);
    cases.push(case(
        "timestamps option of length 8",
        ts8,
        malformed(
            "malformed TCP option kind 8 with length 8",
            TsharkSays::Expert("option length should be 10"),
        ),
    ));
    let IpRepr::V4(mut frag) = ipv4() else {
        unreachable!()
    };
    frag.dont_fragment = false;
    frag.more_fragments = true;
    cases.push(case(
        "IPv4 first fragment of a TCP segment",
        packet(&IpRepr::V4(frag), &data),
        malformed("IP fragment", TsharkSays::NoTcp),
    ));
    let IpRepr::V4(mut later) = ipv4() else {
        unreachable!()
    };
    later.dont_fragment = false;
    later.fragment_offset = 1480;
    cases.push(case(
        "IPv4 last fragment of a TCP segment",
        packet(&IpRepr::V4(later), &data),
        malformed("IP fragment", TsharkSays::NoTcp),
    ));
    // A fragment of a UDP datagram is not TCP: skipped, not an error.
    let mut udp_frag = udp_packet();
    udp_frag[6] = 0x20; // more fragments
    set_ipv4_total_len(&mut udp_frag, 32);
    cases.push(case("IPv4 first fragment of UDP", udp_frag, Want::Skipped));
    let mut long_ip = packet(&v4, &data);
    let declared = long_ip.len() as u16 + 10;
    set_ipv4_total_len(&mut long_ip, declared);
    cases.push(case(
        "IPv4 total length beyond the frame",
        long_ip,
        malformed(
            "truncated",
            TsharkSays::Expert("IPv4 total length exceeds packet length"),
        ),
    ));
    cases
}

// ---------------------------------------------------------------------------
// Link layers and capture files.

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

fn ethertype_of(ip: &[u8]) -> [u8; 2] {
    if ip[0] >> 4 == 6 {
        [0x86, 0xdd]
    } else {
        [0x08, 0x00]
    }
}

fn ethernet(ip: &[u8], tags: &[[u8; 2]]) -> Vec<u8> {
    let mut f = MAC_B.to_vec();
    f.extend_from_slice(&MAC_A);
    for (i, tpid) in tags.iter().enumerate() {
        f.extend_from_slice(tpid);
        f.extend_from_slice(&(100 + i as u16).to_be_bytes());
    }
    f.extend_from_slice(&ethertype_of(ip));
    f.extend_from_slice(ip);
    // Short frames are padded to Ethernet's 60-byte minimum; both tools
    // must ignore the bytes past the IP length.
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

fn sll(ip: &[u8]) -> Vec<u8> {
    // Packet type 0 (to us), ARPHRD_ETHER, a 6-byte address, protocol.
    let mut f = vec![0, 0, 0, 1, 0, 6];
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&ethertype_of(ip));
    f.extend_from_slice(ip);
    f
}

fn sll2(ip: &[u8]) -> Vec<u8> {
    // Protocol, reserved, interface index 1, ARPHRD_ETHER, packet type 0,
    // a 6-byte address padded to 8.
    let mut f = ethertype_of(ip).to_vec();
    f.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 1, 0, 6]);
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(ip);
    f
}

/// BSD loopback: `AF_INET` 2, `AF_INET6` 24 (as OpenBSD/NetBSD number it,
/// which every reader accepts), in little-endian (NULL) or big-endian
/// (LOOP) order.
fn bsd_loopback(ip: &[u8], big_endian: bool) -> Vec<u8> {
    let family: u32 = if ip[0] >> 4 == 6 { 24 } else { 2 };
    let mut f = if big_endian {
        family.to_be_bytes().to_vec()
    } else {
        family.to_le_bytes().to_vec()
    };
    f.extend_from_slice(ip);
    f
}

/// A link type, how to wrap an IP packet in it, and whether it carries
/// IPv4, IPv6 or both.
struct Link {
    name: &'static str,
    linktype: u32,
    wrap: fn(&[u8]) -> Vec<u8>,
    v4: bool,
    v6: bool,
}

fn links() -> Vec<Link> {
    fn raw(ip: &[u8]) -> Vec<u8> {
        ip.to_vec()
    }
    vec![
        Link {
            name: "ethernet-vlan",
            linktype: 1,
            wrap: |ip| ethernet(ip, &[[0x81, 0x00]]),
            v4: true,
            v6: true,
        },
        Link {
            name: "ethernet-qinq",
            linktype: 1,
            wrap: |ip| ethernet(ip, &[[0x88, 0xa8], [0x81, 0x00]]),
            v4: true,
            v6: true,
        },
        Link {
            name: "raw101",
            linktype: 101,
            wrap: raw,
            v4: true,
            v6: true,
        },
        Link {
            name: "raw12",
            linktype: 12,
            wrap: raw,
            v4: true,
            v6: true,
        },
        Link {
            name: "raw14",
            linktype: 14,
            wrap: raw,
            v4: true,
            v6: true,
        },
        Link {
            name: "ipv4",
            linktype: 228,
            wrap: raw,
            v4: true,
            v6: false,
        },
        Link {
            name: "ipv6",
            linktype: 229,
            wrap: raw,
            v4: false,
            v6: true,
        },
        Link {
            name: "sll",
            linktype: 113,
            wrap: sll,
            v4: true,
            v6: true,
        },
        Link {
            name: "sll2",
            linktype: 276,
            wrap: sll2,
            v4: true,
            v6: true,
        },
        Link {
            name: "null",
            linktype: 0,
            wrap: |ip| bsd_loopback(ip, false),
            v4: true,
            v6: true,
        },
        Link {
            name: "loop",
            linktype: 108,
            wrap: |ip| bsd_loopback(ip, true),
            v4: true,
            v6: true,
        },
    ]
}

/// A frame ready for a capture file.
struct Frame {
    name: &'static str,
    data: Vec<u8>,
    orig_len: u32,
    want: Want,
}

fn frame(case: &Case, wrap: fn(&[u8]) -> Vec<u8>) -> Frame {
    let mut data = wrap(&case.ip);
    let orig_len = data.len() as u32;
    if let Some(snap) = case.snap {
        data.truncate(snap);
    }
    Frame {
        name: case.name,
        data,
        orig_len,
        want: case.want,
    }
}

fn timestamp(i: usize) -> Duration {
    Duration::new(1_700_000_000 + i as u64, 123_456_000)
}

fn write_pcap(path: &Path, linktype: u32, frames: &[Frame]) {
    let header = PcapHeader {
        datalink: DataLink::from(linktype),
        snaplen: 65535,
        ts_resolution: TsResolution::MicroSecond,
        ..PcapHeader::default()
    };
    let file = BufWriter::new(File::create(path).unwrap());
    let mut w = PcapWriter::with_header(file, header).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write_packet(&PcapPacket::new(timestamp(i), f.orig_len, &f.data))
            .unwrap();
    }
}

/// A pcapng file with one interface per link type; frames name their
/// interface. The last frame, if `simple`, goes in a Simple Packet Block
/// (which always belongs to interface 0).
fn write_pcapng(path: &Path, linktypes: &[u32], frames: &[(u32, Frame)], simple: Option<&Frame>) {
    let file = BufWriter::new(File::create(path).unwrap());
    let mut w = PcapNgWriter::new(file).unwrap();
    for &lt in linktypes {
        w.write_pcapng_block(InterfaceDescriptionBlock {
            linktype: DataLink::from(lt),
            snaplen: 0,
            // pcap-file writes timestamps in nanoseconds.
            options: vec![InterfaceDescriptionOption::IfTsResol(9)],
        })
        .unwrap();
    }
    for (i, (iface, f)) in frames.iter().enumerate() {
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: *iface,
            timestamp: timestamp(i),
            original_len: f.orig_len,
            data: f.data.as_slice().into(),
            options: vec![],
        })
        .unwrap();
    }
    if let Some(f) = simple {
        w.write_pcapng_block(SimplePacketBlock {
            original_len: f.orig_len,
            data: f.data.as_slice().into(),
        })
        .unwrap();
    }
}

fn wants_of<'a>(
    frames: impl IntoIterator<Item = &'a Frame>,
) -> BTreeMap<u64, (&'static str, Want)> {
    frames
        .into_iter()
        .enumerate()
        .map(|(i, f)| (i as u64 + 1, (f.name, f.want)))
        .collect()
}

// ---------------------------------------------------------------------------
// The tests.

#[test]
fn crafted_captures_agree_with_tshark() {
    if !require(
        "crafted_captures_agree_with_tshark",
        &[Need::Tool("tshark")],
    ) {
        return;
    }
    let scratch = Scratch::new("crafted");
    let mut failures = Vec::new();

    // Every case over Ethernet, as pcap and as pcapng.
    let cases = tcp_cases();
    let eth: Vec<Frame> = cases
        .iter()
        .map(|c| frame(c, |ip| ethernet(ip, &[])))
        .collect();
    let path = scratch.0.join("cases.pcap");
    write_pcap(&path, 1, &eth);
    compare(&path, &wants_of(&eth), &mut failures);
    let path = scratch.0.join("cases.pcapng");
    let eth_ng: Vec<(u32, Frame)> = cases
        .iter()
        .map(|c| (0, frame(c, |ip| ethernet(ip, &[]))))
        .collect();
    write_pcapng(&path, &[1], &eth_ng, None);
    compare(
        &path,
        &wants_of(eth_ng.iter().map(|(_, f)| f)),
        &mut failures,
    );

    // Every link type: a UDP datagram, then a few segments per family.
    let sample: Vec<Case> = {
        let syn = TcpRepr {
            options: syn_options(),
            ..tcp(TcpFlags::SYN)
        };
        let data = TcpRepr {
            payload: b"link",
            options: TcpOptions {
                sack: sack(&[(5, 9)]),
                ..TcpOptions::default()
            },
            ..tcp(TcpFlags::ACK | TcpFlags::PSH)
        };
        vec![
            case("UDP", udp_packet(), Want::Skipped),
            case("IPv4 SYN", packet(&ipv4(), &syn), Want::Segment),
            case("IPv4 data", packet(&ipv4(), &data), Want::Segment),
            case("IPv6 SYN", packet(&ipv6(), &syn), Want::Segment),
            case("IPv6 data", packet(&ipv6(), &data), Want::Segment),
        ]
    };
    let links = links();
    let mut ng_frames = Vec::new();
    for (iface, link) in links.iter().enumerate() {
        let frames: Vec<Frame> = sample
            .iter()
            .filter(|c| {
                let v6 = c.ip[0] >> 4 == 6;
                (v6 && link.v6) || (!v6 && link.v4)
            })
            .map(|c| frame(c, link.wrap))
            .collect();
        let path = scratch.0.join(format!("{}.pcap", link.name));
        write_pcap(&path, link.linktype, &frames);
        compare(&path, &wants_of(&frames), &mut failures);
        ng_frames.extend(frames.into_iter().map(|f| (iface as u32, f)));
    }
    // One pcapng holding every link type, interleaved by interface, and a
    // Simple Packet Block for interface 0 (Ethernet) at the end.
    let linktypes: Vec<u32> = links.iter().map(|l| l.linktype).collect();
    let spb = frame(&sample[1], links[0].wrap);
    let path = scratch.0.join("all-links.pcapng");
    write_pcapng(&path, &linktypes, &ng_frames, Some(&spb));
    let mut wants = wants_of(ng_frames.iter().map(|(_, f)| f));
    wants.insert(
        ng_frames.len() as u64 + 1,
        ("simple packet block", Want::Segment),
    );
    compare(&path, &wants, &mut failures);

    report(failures);
}

// ---------------------------------------------------------------------------
// Live Linux loopback traffic.

/// A capture program running in the background; stopped with SIGTERM (so
/// it flushes its file) when stopped or dropped.
struct Capturer {
    name: &'static str,
    child: Child,
    stderr: PathBuf,
}

impl Capturer {
    /// Starts `cmd` and waits, at most 15 s, until its stderr shows
    /// `ready` and `file` holds at least `header_len` bytes.
    fn start(
        name: &'static str,
        mut cmd: Command,
        stderr: PathBuf,
        ready: &str,
        file: &Path,
        header_len: u64,
    ) -> Capturer {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&stderr).unwrap());
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let mut capturer = Capturer {
            name,
            child,
            stderr,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let said = std::fs::read_to_string(&capturer.stderr).unwrap_or_default();
            let size = std::fs::metadata(file).map_or(0, |m| m.len());
            if said.contains(ready) && size >= header_len {
                return capturer;
            }
            if let Some(status) = capturer.child.try_wait().unwrap() {
                panic!("{name} exited early ({status}): {said}");
            }
            assert!(
                Instant::now() < deadline,
                "{name} not ready after 15 s: {said}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then a bounded wait; SIGKILL if that runs out.
    fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        if wait_bounded(&mut self.child, Duration::from_secs(10)).is_none() {
            eprintln!("{} ignored SIGTERM for 10 s and was killed", self.name);
        }
    }
}

impl Drop for Capturer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Connects to `listener`, sends `up` bytes, receives `down` bytes from
/// the server, and closes both ends with FIN; every step bounded.
fn exchange(listener: TcpListener, up: usize, down: usize) {
    use std::io::{Read, Write};
    const LIMIT: Duration = Duration::from_secs(10);
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let server = thread::spawn(move || {
        let deadline = Instant::now() + LIMIT;
        let mut stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "no connection within {LIMIT:?}");
                    thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        stream.set_write_timeout(Some(LIMIT)).unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), up);
        stream.write_all(&vec![b's'; down]).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        // Wait for the client's close before closing, so no RST.
        let _ = stream.read(&mut [0u8; 16]);
    });
    let mut client = TcpStream::connect_timeout(&addr, LIMIT).unwrap();
    client.set_read_timeout(Some(LIMIT)).unwrap();
    client.set_write_timeout(Some(LIMIT)).unwrap();
    client.write_all(&vec![b'c'; up]).unwrap();
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let mut got = Vec::new();
    client.read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), down);
    drop(client);
    server.join().unwrap();
}

/// Captures an exchange of `up` and `down` bytes on each of `listeners`
/// with tcpdump into `pcap` and, if given, with dumpcap into `pcapng`.
fn capture_loopback(
    listeners: Vec<TcpListener>,
    (up, down): (usize, usize),
    pcap: &Path,
    pcapng: Option<&Path>,
    scratch: &Path,
) {
    let filter = listeners
        .iter()
        .map(|l| format!("tcp port {}", l.local_addr().unwrap().port()))
        .collect::<Vec<_>>()
        .join(" or ");
    let mut tcpdump = Command::new("tcpdump");
    // Not --immediate-mode: that makes libpcap use fixed ring slots of the
    // snap length, a handful in the default buffer, and a burst of
    // loopback segments overflows them. Batches are fine: we wait for the
    // FINs below.
    tcpdump
        .args(["-i", "lo", "-n", "-U", "-B", "32768", "-Z", "root", "-w"])
        .arg(pcap)
        .arg(&filter);
    let mut capturers = vec![Capturer::start(
        "tcpdump",
        tcpdump,
        scratch.join("tcpdump.stderr"),
        "listening on",
        pcap,
        24,
    )];
    if let Some(pcapng) = pcapng {
        let mut dumpcap = Command::new("dumpcap");
        dumpcap
            .args(["-i", "lo", "-q", "-f", &filter, "-w"])
            .arg(pcapng);
        capturers.push(Capturer::start(
            "dumpcap",
            dumpcap,
            scratch.join("dumpcap.stderr"),
            "Capturing on",
            pcapng,
            28,
        ));
    }
    let fins = 2 * listeners.len();
    for l in listeners {
        exchange(l, up, down);
    }
    // Capturers hand packets over in batches; wait (bounded) until each
    // file holds every FIN, then a little longer for the last ACK.
    for file in std::iter::once(pcap).chain(pcapng) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while count_fins(file, scratch) < fins {
            assert!(
                Instant::now() < deadline,
                "{} still lacks FINs after 15 s",
                file.display()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }
    thread::sleep(Duration::from_millis(500));
    for c in &mut capturers {
        c.stop();
        // An incomplete capture would fail the checks below in confusing
        // ways; say so plainly.
        let said = std::fs::read_to_string(&c.stderr).unwrap_or_default();
        for line in said.lines() {
            let dropped =
                line.contains("dropped by kernel") && !line.trim_start().starts_with("0 ");
            assert!(!dropped, "{} lost packets: {said}", c.name);
        }
    }
}

/// FIN segments synack finds in a capture still being written (a file cut
/// in the middle of a packet just counts what precedes it).
fn count_fins(file: &Path, scratch: &Path) -> usize {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_synack"));
    cmd.arg("pcap").arg("--json").arg(file);
    let ran = run_bounded(cmd, SYNACK_TIMEOUT, scratch, "synack-poll");
    ran.stdout.lines().filter(|l| l.contains("\"FIN\"")).count()
}

/// The live capture must hold what the exchange sent: a SYN with the four
/// Linux options, data both ways, and a FIN from each side.
fn check_live_content(capture: &Path, families: usize) {
    let scratch = Scratch::new("content");
    let ours = synack_json(capture, &scratch.0);
    let segs: Vec<&Value> = ours.values().collect();
    let name = capture.display();
    let has_flags = |v: &Value, f: &str| v["flags"].as_array().unwrap().iter().any(|x| x == f);
    let syns: Vec<&&Value> = segs
        .iter()
        .filter(|v| has_flags(v, "SYN") && !has_flags(v, "ACK"))
        .collect();
    assert_eq!(syns.len(), families, "{name}: one SYN per connection");
    for syn in &syns {
        let o = &syn["options"];
        for key in ["mss", "wscale", "sack_permitted", "ts_val", "ts_ecr"] {
            assert!(o.get(key).is_some(), "{name}: SYN lacks {key}: {syn}");
        }
    }
    let fins = segs.iter().filter(|v| has_flags(v, "FIN")).count();
    assert_eq!(fins, 2 * families, "{name}: a FIN from each side");
    let bytes = |dir: &dyn Fn(&Value) -> bool| -> u64 {
        segs.iter()
            .filter(|v| dir(v))
            .map(|v| v["payload_len"].as_u64().unwrap())
            .sum()
    };
    // The client's SYN names the server's address.
    let servers: Vec<String> = syns
        .iter()
        .map(|s| s["dst"].as_str().unwrap().to_string())
        .collect();
    let to_server = bytes(&|v| servers.iter().any(|s| v["dst"] == *s));
    let from_server = bytes(&|v| servers.iter().any(|s| v["src"] == *s));
    assert!(
        to_server >= 4000 * families as u64,
        "{name}: {to_server} bytes to the servers"
    );
    assert!(
        from_server >= 3000 * families as u64,
        "{name}: {from_server} bytes from the servers"
    );
}

/// Linux hands loopback segments to the capture before their checksum is
/// finished (CHECKSUM_PARTIAL: the field holds only the folded
/// pseudo-header sum), so both tools call them bad. Make sure that is the
/// only reason: every segment synack calls bad must hold exactly that sum.
fn check_offloaded_checksums(capture: &Path) {
    let scratch = Scratch::new("offload");
    let ours = synack_json(capture, &scratch.0);
    let mut reader = PcapReader::new(File::open(capture).unwrap()).unwrap();
    let mut number = 0u64;
    let mut partial = 0;
    while let Some(packet) = reader.next_packet() {
        let packet = packet.unwrap();
        number += 1;
        if ours[&number]["checksum_ok"] != false {
            continue;
        }
        // tcpdump on lo writes Ethernet frames.
        let found = locate_tcp(&packet.data[14..], Truncation::Reject, ChecksumMode::Skip).unwrap();
        let addrs = found.ip.addrs();
        let len = found.tcp.total_len() as u32;
        let pseudo = Checksum::pseudo_header(addrs.src(), addrs.dst(), 6, len).sum16();
        assert_eq!(
            found.tcp.checksum(),
            pseudo,
            "{} frame {number}: a bad checksum that is not an offloaded partial sum",
            capture.display()
        );
        partial += 1;
    }
    eprintln!(
        "{}: {partial} of {number} segments carry offloaded partial checksums",
        capture.display()
    );
}

#[test]
fn live_loopback_captures_agree_with_tshark() {
    if !require(
        "live_loopback_captures_agree_with_tshark",
        &[
            Need::Tool("tshark"),
            Need::Root,
            Need::Tool("tcpdump"),
            Need::Tool("dumpcap"),
        ],
    ) {
        return;
    }
    let scratch = Scratch::new("live");
    let mut listeners = vec![TcpListener::bind("127.0.0.1:0").unwrap()];
    match TcpListener::bind("[::1]:0") {
        Ok(l) => listeners.push(l),
        Err(e) => eprintln!("no IPv6 loopback ({e}): capturing IPv4 only"),
    }
    let families = listeners.len();
    let pcap = scratch.0.join("live.pcap");
    let pcapng = scratch.0.join("live.pcapng");
    capture_loopback(
        listeners,
        (4000, 3000),
        &pcap,
        Some(pcapng.as_path()),
        &scratch.0,
    );

    let mut failures = Vec::new();
    check_live_content(&pcap, families);
    check_offloaded_checksums(&pcap);
    compare(&pcap, &BTreeMap::new(), &mut failures);
    check_live_content(&pcapng, families);
    compare(&pcapng, &BTreeMap::new(), &mut failures);
    report(failures);
}

/// The committed capture, decoded without tshark: its first segment is a
/// Linux SYN with all four options.
#[test]
fn committed_capture_agrees_with_tshark() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures/handshake.pcap");
    if !require(
        "committed_capture_agrees_with_tshark",
        &[Need::Tool("tshark")],
    ) {
        return;
    }
    let mut failures = Vec::new();
    compare(&path, &BTreeMap::new(), &mut failures);
    report(failures);
}

/// Rewrites `captures/handshake.pcap` from a fresh loopback exchange. Run
/// by hand, as root: `cargo test -p synack-cli --test pcap_vs_tshark --
/// --ignored regenerate`.
#[test]
#[ignore = "rewrites captures/handshake.pcap; run by hand as root"]
fn regenerate_committed_capture() {
    let scratch = Scratch::new("regen");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let tmp = scratch.0.join("handshake.pcap");
    // A little data each way keeps the file small.
    capture_loopback(vec![listener], (64, 128), &tmp, None, &scratch.0);
    let dest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures/handshake.pcap");
    std::fs::copy(&tmp, &dest).unwrap();
}
