//! Wireshark's verdict on a capture: `tshark` reads it with TCP and IPv4
//! checksum validation on and lists its expert information; a capture
//! passes when nothing is of severity *error* (malformed packets, bad
//! checksums, protocol violations). Warnings and notes — retransmissions,
//! out-of-order segments, zero windows, duplicate ACKs — are counted for
//! the report: on a lossy path they are expected.
//!
//! Used by the kernel interop tests on their TUN captures and by the
//! simulator check on its pcaps.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// TCP payloads are shown as plain data: the tests send seeded random
/// bytes, which port-based dissectors would misread (port 7000 is
/// Gryphon's) and then report as malformed.
pub const NO_PAYLOAD_DISSECTION: [&str; 2] = ["-d", "tcp.port==1-65535,data"];

/// Severity of an expert item, as tshark groups them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Malformed packets, bad checksums, protocol violations.
    Error,
    /// Possible problems: out-of-order, zero window, resets, gaps.
    Warning,
    /// Notable: retransmissions, duplicate ACKs, keep-alives.
    Note,
    /// The normal workflow: SYN, FIN, window updates.
    Chat,
    /// Capture comments.
    Comment,
}

impl Severity {
    fn from_heading(word: &str) -> Option<Severity> {
        match word {
            "Errors" => Some(Severity::Error),
            "Warns" | "Warnings" => Some(Severity::Warning),
            "Notes" => Some(Severity::Note),
            "Chats" => Some(Severity::Chat),
            "Comments" => Some(Severity::Comment),
            _ => None,
        }
    }
}

/// One line of tshark's expert table (items with equal text summed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpertItem {
    /// How bad.
    pub severity: Severity,
    /// Wireshark's group: Checksum, Sequence, Malformed…
    pub group: String,
    /// The protocol that raised it.
    pub protocol: String,
    /// The message, with per-packet details (`[should be 0x…]`, `(#3)`)
    /// taken out so equal kinds add up.
    pub summary: String,
    /// How many packets.
    pub count: u64,
}

/// Counts of TCP analysis items, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpCounts {
    /// Retransmissions (all kinds tshark names).
    pub retransmission: u64,
    /// Of which fast retransmissions.
    pub fast_retransmission: u64,
    /// Of which spurious retransmissions.
    pub spurious_retransmission: u64,
    /// Out-of-order segments.
    pub out_of_order: u64,
    /// Duplicate ACKs.
    pub dup_ack: u64,
    /// Segments advertising a zero window.
    pub zero_window: u64,
    /// Zero-window probes (one byte of data past the window).
    pub zero_window_probe: u64,
    /// Keep-alives: segments at SND.UNA−1, which is how Linux and synack
    /// probe a zero window.
    pub keep_alive: u64,
    /// Segments that fill the receiver's window.
    pub window_full: u64,
    /// Pure window updates.
    pub window_update: u64,
    /// Gaps: a segment before this one was not captured.
    pub lost_segment: u64,
    /// ACKs for data the capture never saw.
    pub ack_unseen: u64,
    /// Resets.
    pub reset: u64,
}

/// What tshark said about one capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The capture.
    pub file: PathBuf,
    /// Frames in it.
    pub frames: u64,
    /// TCP segments whose checksum tshark verified good.
    pub checksum_good: u64,
    /// TCP segments whose checksum it could not verify (truncated by the
    /// snap length).
    pub checksum_unverified: u64,
    /// Frames that are not TCP (ICMPv6 router solicitations and the like
    /// that the kernel sends on a new device).
    pub non_tcp: u64,
    /// Every expert item, most severe first.
    pub items: Vec<ExpertItem>,
    /// The TCP analysis items, by kind.
    pub tcp: TcpCounts,
}

/// Takes per-packet details out of an expert summary.
fn normalize(summary: &str) -> String {
    let mut s = summary.trim().to_string();
    for (open, close) in [(" [should be", "]"), (" (#", ")")] {
        if let Some(at) = s.find(open)
            && let Some(end) = s[at..].find(close)
        {
            s.replace_range(at..at + end + 1, "");
        }
    }
    s
}

/// Parses `tshark -q -z expert` output.
pub fn parse_expert(text: &str) -> Vec<ExpertItem> {
    let mut merged: BTreeMap<(Severity, String, String, String), u64> = BTreeMap::new();
    let mut severity = None;
    let mut summary_at = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some((word, rest)) = trimmed.split_once(' ')
            && rest.starts_with('(')
            && rest.ends_with(')')
            && let Some(s) = Severity::from_heading(word)
        {
            severity = Some(s);
            summary_at = None;
            continue;
        }
        let Some(sev) = severity else { continue };
        if trimmed.starts_with("Frequency") {
            summary_at = line.find("Summary");
            continue;
        }
        let Some(at) = summary_at else { continue };
        if line.len() <= at || trimmed.is_empty() {
            continue;
        }
        let (left, summary) = line.split_at(at);
        let mut words: Vec<&str> = left.split_whitespace().collect();
        let Some(count) = words.first().and_then(|w| w.parse::<u64>().ok()) else {
            continue;
        };
        let protocol = words.pop().unwrap_or_default().to_string();
        let group = words[1..].join(" ");
        *merged
            .entry((sev, group, protocol, normalize(summary)))
            .or_default() += count;
    }
    merged
        .into_iter()
        .map(|((severity, group, protocol, summary), count)| ExpertItem {
            severity,
            group,
            protocol,
            summary,
            count,
        })
        .collect()
}

/// Sorts TCP analysis items into [`TcpCounts`].
pub fn tcp_counts(items: &[ExpertItem]) -> TcpCounts {
    let mut c = TcpCounts::default();
    for item in items.iter().filter(|i| i.protocol == "TCP") {
        let s = item.summary.to_ascii_lowercase();
        let n = item.count;
        if s.contains("retransmission") {
            c.retransmission += n;
            if s.contains("fast retransmission") {
                c.fast_retransmission += n;
            }
            if s.contains("spurious") {
                c.spurious_retransmission += n;
            }
        } else if s.contains("out-of-order") {
            c.out_of_order += n;
        } else if s.starts_with("duplicate ack") {
            c.dup_ack += n;
        } else if s.contains("zero window probe") || s.contains("zerowindowprobe") {
            if !s.contains("ack") {
                c.zero_window_probe += n;
            }
        } else if s.contains("zero window") || s.contains("zerowindow") {
            c.zero_window += n;
        } else if s.contains("keep-alive") {
            if !s.starts_with("ack") {
                c.keep_alive += n;
            }
        } else if s.contains("window specified by the receiver is now completely full") {
            c.window_full += n;
        } else if s.contains("window update") {
            c.window_update += n;
        } else if s.starts_with("previous segment") {
            c.lost_segment += n;
        } else if s.starts_with("acked segment that wasn't captured") {
            c.ack_unseen += n;
        } else if s.contains("connection reset") {
            c.reset += n;
        }
    }
    c
}

/// Parses the one-row table of `-z io,stat,0,…`: frames per column.
/// `None` when the table has no row, which tshark does when the capture
/// lasts no time at all (one packet, or none).
fn parse_io_stat(text: &str) -> Option<Vec<u64>> {
    text.lines().find(|l| l.contains("<>")).map(|row| {
        row.split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .skip(1)
            .step_by(2)
            .map(|c| c.parse().unwrap_or(0))
            .collect()
    })
}

/// The counts of [`IO_STAT`]'s columns, packet by packet (for the
/// captures whose io,stat table has no row).
fn io_stat_by_packet(file: &Path, checksums: &[String]) -> io::Result<Vec<u64>> {
    let out = Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(file)
        .args(checksums)
        .args(NO_PAYLOAD_DISSECTION)
        .args(["-T", "fields", "-E", "separator=;"])
        .args(["-e", "frame.number", "-e", "tcp.checksum.status"])
        .args(["-e", "tcp.srcport"])
        .stdin(Stdio::null())
        .output()?;
    let mut cols = vec![0u64; 4];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split(';').collect();
        if f.first().is_none_or(|n| n.trim().is_empty()) {
            continue;
        }
        cols[0] += 1;
        match f.get(1).copied().unwrap_or("") {
            "1" => cols[1] += 1,
            "2" => cols[2] += 1,
            _ => {}
        }
        if f.get(2).is_none_or(|p| p.is_empty()) {
            cols[3] += 1;
        }
    }
    Ok(cols)
}

/// The io,stat columns the verdict reads: frames, TCP checksums good,
/// TCP checksums unverified, frames that are not TCP.
const IO_STAT: &str = "io,stat,0,frame,tcp.checksum.status==1,tcp.checksum.status==2,!tcp";

impl Verdict {
    /// Runs tshark on `file` (checksum validation on).
    pub fn of(file: &Path) -> io::Result<Verdict> {
        Verdict::judge(file, true)
    }

    /// Runs tshark on `file`, a capture of a device with checksum offload
    /// (veth, loopback): the kernel leaves checksums to be filled in
    /// after the capture point, so they are not validated.
    pub fn of_offloaded(file: &Path) -> io::Result<Verdict> {
        Verdict::judge(file, false)
    }

    fn judge(file: &Path, checksums: bool) -> io::Result<Verdict> {
        let check = if checksums { "TRUE" } else { "FALSE" };
        let prefs = [
            "-o".to_string(),
            format!("tcp.check_checksum:{check}"),
            "-o".to_string(),
            format!("ip.check_checksum:{check}"),
        ];
        let out = Command::new("tshark")
            .arg("-n")
            .arg("-r")
            .arg(file)
            .args(&prefs)
            .args(NO_PAYLOAD_DISSECTION)
            .args(["-q", "-z", "expert", "-z", IO_STAT])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run tshark: {e}")))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "tshark failed on {} ({}): {}",
                file.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let items = parse_expert(&text);
        let io = match parse_io_stat(&text) {
            Some(io) => io,
            None => io_stat_by_packet(file, &prefs)?,
        };
        let col = |i: usize| io.get(i).copied().unwrap_or(0);
        Ok(Verdict {
            file: file.to_path_buf(),
            frames: col(0),
            checksum_good: col(1),
            checksum_unverified: col(2),
            non_tcp: col(3),
            tcp: tcp_counts(&items),
            items,
        })
    }

    /// The items of severity error.
    pub fn errors(&self) -> impl Iterator<Item = &ExpertItem> {
        self.items.iter().filter(|i| i.severity == Severity::Error)
    }

    /// Items of severity error other than bad checksums.
    pub fn errors_besides_checksums(&self) -> impl Iterator<Item = &ExpertItem> {
        self.errors().filter(|i| i.group != "Checksum")
    }

    /// Packets with a bad checksum (TCP or IP).
    pub fn bad_checksums(&self) -> u64 {
        self.errors()
            .filter(|i| i.group == "Checksum")
            .map(|i| i.count)
            .sum()
    }

    /// Malformed packets.
    pub fn malformed(&self) -> u64 {
        self.errors()
            .filter(|i| i.group == "Malformed")
            .map(|i| i.count)
            .sum()
    }

    /// Total count of items of `severity`.
    pub fn total(&self, severity: Severity) -> u64 {
        self.items
            .iter()
            .filter(|i| i.severity == severity)
            .map(|i| i.count)
            .sum()
    }

    /// `Ok` when tshark read at least one frame and found nothing of
    /// severity error (malformed packets, bad checksums, protocol
    /// violations); otherwise what is wrong. An empty capture fails: a
    /// capture of the wrong device, or a tshark whose output this module
    /// no longer understands, must not pass as clean.
    pub fn check(&self) -> Result<(), String> {
        if self.frames == 0 {
            return Err(format!(
                "tshark read no frame from {} (empty capture, or its statistics unreadable)",
                self.file.display()
            ));
        }
        let errors: Vec<String> = self
            .errors()
            .map(|i| format!("{} × {} {}: {}", i.count, i.protocol, i.group, i.summary))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "tshark found errors in {}:\n  {}",
                self.file.display(),
                errors.join("\n  ")
            ))
        }
    }

    /// One line: frames, checksums, errors and the TCP analysis counts.
    pub fn summary(&self) -> String {
        let t = &self.tcp;
        format!(
            "frames={} non_tcp={} csum_good={} csum_unverified={} errors={} warnings={} \
             retrans={} (fast={} spurious={}) out_of_order={} dup_ack={} zero_window={} \
             zw_probe={} keep_alive={} window_full={} window_update={} lost={} rst={}",
            self.frames,
            self.non_tcp,
            self.checksum_good,
            self.checksum_unverified,
            self.total(Severity::Error),
            self.total(Severity::Warning),
            t.retransmission,
            t.fast_retransmission,
            t.spurious_retransmission,
            t.out_of_order,
            t.dup_ack,
            t.zero_window,
            t.zero_window_probe,
            t.keep_alive,
            t.window_full,
            t.window_update,
            t.lost_segment,
            t.reset,
        )
    }
}

impl fmt::Display for Verdict {
    /// The summary line, then every error, warning and note.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "tshark on {}: {}", self.file.display(), self.summary())?;
        for i in self.items.iter().filter(|i| i.severity <= Severity::Note) {
            writeln!(
                f,
                "  {:?} {} × {} {}: {}",
                i.severity, i.count, i.protocol, i.group, i.summary
            )?;
        }
        Ok(())
    }
}

/// A display filter for packets from `ip` (`ip.src==…` or `ipv6.src==…`).
pub fn from(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => format!("ip.src=={a}"),
        IpAddr::V6(a) => format!("ipv6.src=={a}"),
    }
}

/// How many frames of `file` match the display filter `filter`, with
/// tshark's two-pass TCP analysis (so `tcp.analysis.*` fields such as
/// `tcp.analysis.zero_window` or `tcp.analysis.keep_alive` are set as in
/// the expert table). Combine with [`from`] to count one side's packets.
pub fn count(file: &Path, filter: &str) -> io::Result<u64> {
    Ok(fields(file, filter, &["frame.number"])?.len() as u64)
}

/// The values of `names` (tshark field names) in each frame of `file`
/// that matches `filter`, two-pass analysis as in [`count`]; a field a
/// frame lacks is empty.
pub fn fields(file: &Path, filter: &str, names: &[&str]) -> io::Result<Vec<Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n")
        .arg("-2")
        .arg("-r")
        .arg(file)
        .args(NO_PAYLOAD_DISSECTION)
        .args(["-Y", filter, "-T", "fields", "-E", "separator=;"]);
    for name in names {
        cmd.args(["-e", name]);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run tshark: {e}")))?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "tshark -Y '{filter}' failed on {} ({}): {}",
            file.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(';').map(str::to_string).collect())
        .collect())
}

/// The options of one SYN or SYN-ACK in a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynOptions {
    /// Its source address.
    pub src: String,
    /// A SYN-ACK (else a SYN).
    pub ack: bool,
    /// Option kinds in wire order (1 = NOP, 2 = MSS, 3 = window scale,
    /// 4 = SACK-permitted, 8 = timestamps).
    pub kinds: Vec<u8>,
    /// The MSS option's value.
    pub mss: Option<u16>,
    /// The window scale shift.
    pub wscale: Option<u8>,
}

impl SynOptions {
    /// True when it carries MSS, window scale, SACK-permitted and
    /// timestamps.
    pub fn full_set(&self) -> bool {
        [2, 3, 4, 8].iter().all(|k| self.kinds.contains(k))
    }
}

/// The SYNs and SYN-ACKs in `file` with their options, read by tshark.
pub fn syn_options(file: &Path) -> io::Result<Vec<SynOptions>> {
    let out = Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(file)
        .args(NO_PAYLOAD_DISSECTION)
        .args([
            "-Y",
            "tcp.flags.syn == 1",
            "-T",
            "fields",
            "-E",
            "separator=;",
        ])
        .args(["-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.flags.ack"])
        .args(["-e", "tcp.option_kind", "-e", "tcp.options.mss_val"])
        .args(["-e", "tcp.options.wscale.shift"])
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "tshark failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(';').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or("");
            SynOptions {
                src: if get(0).is_empty() { get(1) } else { get(0) }.to_string(),
                ack: matches!(get(2), "1" | "True" | "true"),
                kinds: get(3).split(',').filter_map(|k| k.parse().ok()).collect(),
                mss: get(4).parse().ok(),
                wscale: get(5).parse().ok(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "
Errors (3)
=============
   Frequency      Group           Protocol  Summary
           1   Checksum                TCP  Bad checksum [should be 0xc19e]
           2   Checksum                TCP  Bad checksum [should be 0x237e]

Warns (2)
=============
   Frequency      Group           Protocol  Summary
           2   Sequence                TCP  This frame is a (suspected) out-of-order segment

Notes (4)
=============
   Frequency      Group           Protocol  Summary
           3   Sequence                TCP  Duplicate ACK (#1)
           1   Sequence                TCP  Duplicate ACK (#2)
           5   Sequence                TCP  This frame is a (suspected) fast retransmission
           2   Sequence                TCP  This frame is a (suspected) retransmission
           1   Response code          HTTP  Something

Chats (1)
=============
   Frequency      Group           Protocol  Summary
           1   Sequence                TCP  Connection establish request (SYN): server port 7
";

    #[test]
    fn expert_table_is_parsed_and_summed() {
        let items = parse_expert(SAMPLE);
        let bad: Vec<_> = items
            .iter()
            .filter(|i| i.severity == Severity::Error)
            .collect();
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].count, 3);
        assert_eq!(bad[0].summary, "Bad checksum");
        let http = items.iter().find(|i| i.protocol == "HTTP").unwrap();
        assert_eq!(http.group, "Response code");
        let c = tcp_counts(&items);
        assert_eq!(c.dup_ack, 4);
        assert_eq!(c.retransmission, 7);
        assert_eq!(c.fast_retransmission, 5);
        assert_eq!(c.out_of_order, 2);
    }

    // -----------------------------------------------------------------
    // The verdict on hand-made captures: a clean packet passes; a byte
    // flipped, a malformed packet or an empty capture fails.

    /// Ones' complement sum of `data` (RFC 1071), folded, not inverted.
    fn sum16(mut acc: u32, data: &[u8]) -> u32 {
        for pair in data.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            acc += hi | pair.get(1).map_or(0, |&b| u32::from(b));
        }
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc
    }

    /// An IPv4 packet 10.77.0.1:40000 → 10.77.0.2:7000, PSH+ACK with
    /// `payload`, both checksums right.
    fn ipv4_tcp(payload: &[u8]) -> Vec<u8> {
        let total = 20 + 20 + payload.len();
        let mut p = vec![0u8; total];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&[10, 77, 0, 1]);
        p[16..20].copy_from_slice(&[10, 77, 0, 2]);
        let ip_sum = !(sum16(0, &p[..20]) as u16);
        p[10..12].copy_from_slice(&ip_sum.to_be_bytes());
        let t = &mut p[20..];
        t[0..2].copy_from_slice(&40000u16.to_be_bytes());
        t[2..4].copy_from_slice(&7000u16.to_be_bytes());
        t[4..8].copy_from_slice(&1000u32.to_be_bytes());
        t[8..12].copy_from_slice(&1u32.to_be_bytes());
        t[12] = 5 << 4;
        t[13] = 0x18;
        t[14..16].copy_from_slice(&65535u16.to_be_bytes());
        t[20..].copy_from_slice(payload);
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&[10, 77, 0, 1, 10, 77, 0, 2, 0, 6]);
        pseudo.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
        let tcp_sum = !(sum16(sum16(0, &pseudo), &p[20..]) as u16);
        p[36..38].copy_from_slice(&tcp_sum.to_be_bytes());
        p
    }

    /// A pcap file (link type raw IP, as tcpdump writes for a TUN device)
    /// holding `packets`, in a fresh directory.
    fn pcap(name: &str, packets: &[Vec<u8>]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("synack-verdict-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut f = Vec::new();
        f.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        f.extend_from_slice(&2u16.to_le_bytes());
        f.extend_from_slice(&4u16.to_le_bytes());
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&65535u32.to_le_bytes());
        f.extend_from_slice(&101u32.to_le_bytes()); // LINKTYPE_RAW
        for (i, p) in packets.iter().enumerate() {
            f.extend_from_slice(&(i as u32 + 1).to_le_bytes());
            f.extend_from_slice(&0u32.to_le_bytes());
            f.extend_from_slice(&(p.len() as u32).to_le_bytes());
            f.extend_from_slice(&(p.len() as u32).to_le_bytes());
            f.extend_from_slice(p);
        }
        let path = dir.join(format!("{name}.pcap"));
        std::fs::write(&path, f).unwrap();
        path
    }

    /// Whether tshark can run; without it the tests below skip, except
    /// under CI.
    fn have_tshark() -> bool {
        synack_testkit::require("verdict", &[synack_testkit::Need::Tool("tshark")])
    }

    #[test]
    fn a_clean_capture_passes_with_its_checksum_verified() {
        if !have_tshark() {
            return;
        }
        let good = ipv4_tcp(b"hello, kernel");
        let v = Verdict::of(&pcap("clean", &[good.clone(), good])).unwrap();
        assert_eq!(v.check(), Ok(()), "{v}");
        assert_eq!((v.frames, v.checksum_good, v.non_tcp), (2, 2, 0), "{v}");
    }

    #[test]
    fn a_flipped_byte_fails_the_verdict() {
        if !have_tshark() {
            return;
        }
        let good = ipv4_tcp(b"hello, kernel");
        // One byte of payload flipped: the TCP checksum no longer holds.
        let mut payload = good.clone();
        payload[45] ^= 0x20;
        let v = Verdict::of(&pcap("flip-payload", &[good.clone(), payload])).unwrap();
        assert!(v.check().is_err(), "{v}");
        assert_eq!(v.bad_checksums(), 1, "{v}");
        // The TTL flipped: the IPv4 header checksum no longer holds.
        let mut ttl = good.clone();
        ttl[8] ^= 0x01;
        let v = Verdict::of(&pcap("flip-ttl", &[ttl.clone()])).unwrap();
        assert!(v.check().is_err(), "{v}");
        assert_eq!(v.bad_checksums(), 1, "{v}");
        // Without checksum validation (offloaded captures) the same flips
        // pass: the two modes differ only there.
        let v = Verdict::of_offloaded(&pcap("flip-offloaded", &[ttl])).unwrap();
        assert_eq!(v.check(), Ok(()), "{v}");
        assert_eq!((v.frames, v.checksum_good), (1, 0), "{v}");
    }

    #[test]
    fn a_malformed_packet_fails_the_verdict() {
        if !have_tshark() {
            return;
        }
        // A TCP header claiming 60 bytes in a 20-byte segment.
        let mut bogus = ipv4_tcp(b"");
        bogus[32] = 15 << 4;
        let v = Verdict::of(&pcap("malformed", &[bogus])).unwrap();
        v.check().expect_err("a malformed packet must fail");
        assert_eq!(v.malformed(), 1, "{v}");
        assert_eq!(v.frames, 1, "{v}");
    }

    #[test]
    fn an_empty_capture_fails_the_verdict() {
        if !have_tshark() {
            return;
        }
        let v = Verdict::of(&pcap("empty", &[])).unwrap();
        assert_eq!(v.frames, 0);
        assert!(v.check().is_err());
    }

    #[test]
    fn count_filters_by_source() {
        if !have_tshark() {
            return;
        }
        let file = pcap("count", &[ipv4_tcp(b"a"), ipv4_tcp(b"b")]);
        let kernel: IpAddr = "10.77.0.1".parse().unwrap();
        let other: IpAddr = "10.77.0.2".parse().unwrap();
        assert_eq!(count(&file, &from(kernel)).unwrap(), 2);
        assert_eq!(count(&file, &from(other)).unwrap(), 0);
        assert!(count(&file, "no.such.field").is_err());
    }

    #[test]
    fn io_stat_row_gives_frames_per_column() {
        let text = "| 0.000 <> 0.012 |    220 | 5258221 |      0 |     0 |    124 | 5251759 |";
        assert_eq!(parse_io_stat(text), Some(vec![220, 0, 124]));
        assert_eq!(parse_io_stat("| Interval | Frames | Bytes |"), None);
    }
}
