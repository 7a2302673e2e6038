//! The kernel's view of its TCP connections: `ss -tnie` inside a namespace,
//! parsed (options agreed, MSS, congestion controller, retransmissions).

use std::io;
use std::net::SocketAddr;

use crate::netns;

/// One connection as `ss -tni` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SsInfo {
    /// The kernel's end.
    pub local: Option<SocketAddr>,
    /// The peer.
    pub peer: Option<SocketAddr>,
    /// State (`ESTAB`, …).
    pub state: String,
    /// Congestion controller.
    pub cc: Option<String>,
    /// Timestamps agreed.
    pub ts: bool,
    /// SACK agreed.
    pub sack: bool,
    /// Window scaling agreed: (the peer's shift, the kernel's shift) —
    /// ss prints `wscale:snd,rcv`.
    pub wscale: Option<(u8, u8)>,
    /// The kernel's sending MSS (options accounted for).
    pub mss: Option<u32>,
    /// The MSS it advertised.
    pub advmss: Option<u32>,
    /// Congestion window in segments.
    pub cwnd: Option<u32>,
    /// Segments retransmitted over the connection's life (`retrans:a/b`'s
    /// b).
    pub retrans: u64,
    /// Bytes retransmitted.
    pub bytes_retrans: u64,
    /// The info line as printed.
    pub raw: String,
}

fn parse_addr(s: &str) -> Option<SocketAddr> {
    // ss writes IPv6 as [addr]:port and may add %iface to the address.
    let cleaned: String = match (s.find('%'), s.rfind(']')) {
        (Some(p), Some(b)) if p < b => format!("{}{}", &s[..p], &s[b..]),
        _ => s.to_string(),
    };
    cleaned.parse().ok()
}

/// Parses `ss -tnieH` output (a state line, then a tab-indented info line
/// per connection). `-e` matters: iproute2 6.1 prints `ts` and `sack` only
/// with `-e` or `-o`.
pub fn parse(text: &str) -> Vec<SsInfo> {
    let mut out: Vec<SsInfo> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            let words: Vec<&str> = line.split_whitespace().collect();
            out.push(SsInfo {
                state: words.first().unwrap_or(&"").to_string(),
                local: words.get(3).and_then(|w| parse_addr(w)),
                peer: words.get(4).and_then(|w| parse_addr(w)),
                ..SsInfo::default()
            });
            continue;
        }
        let Some(info) = out.last_mut() else { continue };
        info.raw = line.trim().to_string();
        for (i, word) in line.split_whitespace().enumerate() {
            let (key, value) = word.split_once(':').unwrap_or((word, ""));
            let num = |v: &str| v.parse::<u32>().ok();
            match key {
                "ts" => info.ts = true,
                "sack" => info.sack = true,
                "wscale" => {
                    info.wscale = value
                        .split_once(',')
                        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                }
                "mss" => info.mss = num(value),
                "advmss" => info.advmss = num(value),
                "cwnd" => info.cwnd = num(value),
                "retrans" => {
                    info.retrans = value
                        .split_once('/')
                        .and_then(|(_, b)| b.parse().ok())
                        .unwrap_or(0)
                }
                "bytes_retrans" => info.bytes_retrans = value.parse().unwrap_or(0),
                _ if i == 0
                    && value.is_empty()
                    && word.chars().all(|c| c.is_ascii_alphanumeric()) =>
                {
                    info.cc = Some(word.to_string())
                }
                _ => {}
            }
        }
    }
    out
}

/// The kernel's TCP connections in namespace `ns` (by name).
pub fn connections(ns: &str) -> io::Result<Vec<SsInfo>> {
    let out = netns::run("ip", &["netns", "exec", ns, "ss", "-tnieH"])?;
    Ok(parse(&String::from_utf8_lossy(&out.stdout)))
}

/// The kernel's connection whose peer is `peer`, if any.
pub fn find(ns: &str, peer: SocketAddr) -> io::Result<Option<SsInfo>> {
    Ok(connections(ns)?
        .into_iter()
        .find(|c| c.peer == Some(peer) || c.local == Some(peer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ss_output_is_parsed() {
        let text = "ESTAB 0      0      10.77.0.1:43210 10.77.0.2:7000\n\t cubic wscale:7,9 rto:204 rtt:0.05/0.025 ato:40 mss:1448 pmtu:1500 rcvmss:536 advmss:1448 cwnd:10 retrans:0/3 bytes_retrans:4344 ts sack\nESTAB 0 0 [fd00:77::1]:7000 [fd00:77::2]:5555\n\t reno mss:1428 cwnd:10\n";
        let c = parse(text);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].cc.as_deref(), Some("cubic"));
        assert_eq!(c[0].wscale, Some((7, 9)));
        assert_eq!(c[0].mss, Some(1448));
        assert_eq!(c[0].retrans, 3);
        assert_eq!(c[0].bytes_retrans, 4344);
        assert!(c[0].ts && c[0].sack);
        assert_eq!(c[0].peer, Some("10.77.0.2:7000".parse().unwrap()));
        assert_eq!(c[1].local, Some("[fd00:77::1]:7000".parse().unwrap()));
        assert!(!c[1].ts && !c[1].sack && c[1].wscale.is_none());
    }
}
