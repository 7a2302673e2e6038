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
fn parse_io_stat(text: &str) -> Vec<u64> {
    text.lines()
        .find(|l| l.contains("<>"))
        .map(|row| {
            row.split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .skip(1)
                .step_by(2)
                .map(|c| c.parse().unwrap_or(0))
                .collect()
        })
        .unwrap_or_default()
}

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
        let out = Command::new("tshark")
            .arg("-n")
            .arg("-r")
            .arg(file)
            .args(["-o", &format!("tcp.check_checksum:{check}")])
            .args(["-o", &format!("ip.check_checksum:{check}")])
            .args(NO_PAYLOAD_DISSECTION)
            .args(["-q", "-z", "expert"])
            .args([
                "-z",
                "io,stat,0,frame,tcp.checksum.status==1,tcp.checksum.status==2,!tcp",
            ])
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
        let io = parse_io_stat(&text);
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

    /// `Ok` when tshark found nothing of severity error; otherwise what
    /// it found.
    pub fn check(&self) -> Result<(), String> {
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

    #[test]
    fn io_stat_row_gives_frames_per_column() {
        let text = "| 0.000 <> 0.012 |    220 | 5258221 |      0 |     0 |    124 | 5251759 |";
        assert_eq!(parse_io_stat(text), vec![220, 0, 124]);
    }
}
