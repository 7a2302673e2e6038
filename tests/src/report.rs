//! What a run produced: the JSON summary (`synack sim --json`), the
//! metrics time series of each flow, and the details tests check.

use serde::Serialize;
use synack_core::Duration;
use synack_core::conn::{Negotiated, Stats};

use crate::link::{LinkStats, QueueDelay};

/// One point of a flow's metrics time series, taken at the data sender.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Sample {
    /// Virtual time in seconds.
    pub t: f64,
    /// Congestion window in bytes.
    pub cwnd: u64,
    /// Slow-start threshold in bytes (`None` before the first reduction).
    pub ssthresh: Option<u64>,
    /// Smoothed RTT in milliseconds, once measured.
    pub srtt_ms: Option<f64>,
    /// RTT variation in milliseconds.
    pub rttvar_ms: f64,
    /// Retransmission timeout in milliseconds.
    pub rto_ms: f64,
    /// Bytes in flight.
    pub bytes_in_flight: u64,
    /// Pacing rate in bytes per second (0 when not pacing).
    pub pacing_rate: u64,
    /// Bytes the receiving application has read so far.
    pub delivered: u64,
}

/// Response-time statistics of a request/response flow.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Latency {
    /// Requests answered.
    pub count: usize,
    /// Mean time from request to complete response, in milliseconds.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

impl Latency {
    /// Statistics of `samples`, or `None` when there are none.
    pub fn of(samples: &[Duration]) -> Option<Latency> {
        if samples.is_empty() {
            return None;
        }
        let mut ms: Vec<f64> = samples
            .iter()
            .map(|d| d.total_micros() as f64 / 1e3)
            .collect();
        ms.sort_by(f64::total_cmp);
        let pick = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
        Some(Latency {
            count: ms.len(),
            mean_ms: ms.iter().sum::<f64>() / ms.len() as f64,
            p50_ms: pick(0.5),
            p99_ms: pick(0.99),
            max_ms: ms[ms.len() - 1],
        })
    }
}

/// One flow in the JSON summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowSummary {
    /// Congestion control (`reno` or `cubic`).
    pub cc: String,
    /// Bytes the applications wrote (both directions).
    pub bytes_sent_app: u64,
    /// Bytes the applications read (both directions).
    pub bytes_delivered: u64,
    /// Every byte read matches what was sent, and everything sent was read
    /// (content hashes of both ends agree).
    pub data_intact: bool,
    /// Delivered bits per second from the flow's start to its completion
    /// (or to the end of the run).
    pub goodput_bps: f64,
    /// Segments the data sender retransmitted.
    pub retransmitted_segments: u64,
    /// Bytes the data sender retransmitted.
    pub retransmitted_bytes: u64,
    /// Retransmission timeouts at the data sender.
    pub rto_timeouts: u64,
    /// Tail loss probes sent.
    pub tlp_probes: u64,
    /// Duplicates the receiver reported with D-SACK (RFC 2883): spurious
    /// retransmissions, and also copies the network duplicated.
    pub spurious_retransmissions: u64,
    /// Smallest RTT measured, in milliseconds.
    pub min_rtt_ms: Option<f64>,
    /// Mean of the smoothed RTT over the time series, in milliseconds.
    pub mean_srtt_ms: Option<f64>,
    /// Seconds from the flow's start until all its data was read.
    pub completion_seconds: Option<f64>,
    /// The data sender's final state (RFC 9293 name).
    pub final_state: String,
    /// The first error an application saw, e.g. `client: connection timed
    /// out`.
    pub error: Option<String>,
    /// Fast-recovery episodes.
    pub fast_recoveries: u64,
    /// ECN was agreed in the handshake (RFC 3168).
    pub ecn: bool,
    /// Data segments that reached the receiver marked Congestion
    /// Experienced.
    pub ce_marks: u64,
    /// Window reductions the data sender made for ECN echoes.
    pub ecn_responses: u64,
    /// Zero-window and keepalive probes sent by either end.
    pub window_probes: u64,
    /// Response times, for request/response flows.
    pub latency: Option<Latency>,
}

/// The JSON summary of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Scenario name (`custom` for ad-hoc runs).
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Virtual time the run took.
    pub virtual_seconds: f64,
    /// Wall-clock time the run took.
    pub wall_seconds: f64,
    /// Bottleneck bytes delivered (data direction, IP bytes) over what it
    /// could carry between the first flow's start and the last
    /// completion, 0–1.
    pub link_utilization: f64,
    /// Jain's fairness index over the flows' goodputs.
    pub jain_index: f64,
    /// The bottleneck queue's discipline: `droptail`, `codel` or
    /// `fq-codel`.
    pub aqm: String,
    /// Mean queueing delay at the bottleneck (data direction), from each
    /// packet's arrival at the queue to the start of its transmission,
    /// over every packet sent, in milliseconds.
    pub queue_delay_ms_mean: f64,
    /// 99th percentile of that delay, in milliseconds (to within 0.2 %).
    pub queue_delay_ms_p99: f64,
    /// Packets the bottleneck's discipline marked Congestion Experienced
    /// instead of dropping (data direction).
    pub ecn_marks: u64,
    /// Per flow.
    pub flows: Vec<FlowSummary>,
}

/// A flow at the moment the network healed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AtHeal {
    /// The larger retransmission timeout of the two ends: no pending
    /// retransmission is further away.
    pub rto: Duration,
    /// The larger smoothed RTT of the two ends, once measured.
    pub srtt: Option<Duration>,
    /// Bytes still to deliver.
    pub remaining: u64,
}

/// Everything known about one flow after a run.
#[derive(Clone, Debug)]
pub struct FlowReport {
    /// Metrics at the data sender over time.
    pub series: Vec<Sample>,
    /// The data sender's final statistics.
    pub sender: Stats,
    /// The data receiver's final statistics, if it ever existed.
    pub receiver: Option<Stats>,
    /// The server had a connection for this flow (its SYN arrived, or it
    /// opened simultaneously).
    pub server_existed: bool,
    /// What the handshake agreed, seen from the client.
    pub negotiated: Negotiated,
    /// States the client passed through (bit `1 << state index` in RFC
    /// order, see [`state_bit`]).
    pub client_states: u16,
    /// States the server's connection passed through.
    pub server_states: u16,
    /// Everything read so far (in both directions) is exactly what was
    /// sent, even if the flow did not complete.
    pub intact_prefix: bool,
    /// Request/response times.
    pub latencies: Vec<Duration>,
    /// The client's error, if any.
    pub client_error: Option<String>,
    /// The server's error, if any.
    pub server_error: Option<String>,
    /// Seconds from the flow's start until the handshake completed at the
    /// client.
    pub connect_seconds: Option<f64>,
    /// The flow when the network healed.
    pub at_heal: Option<AtHeal>,
    /// Virtual time of the flow's start and of its completion, seconds.
    pub started: f64,
    /// Completion time, seconds since the run began.
    pub completed: Option<f64>,
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct Report {
    /// The summary printed by `--json`.
    pub summary: Summary,
    /// Per-flow details, in flow order.
    pub flows: Vec<FlowReport>,
    /// The bottleneck's counters: data direction, then reverse.
    pub links: [LinkStats; 2],
    /// The bottleneck's queueing delay: data direction, then reverse.
    pub queue_delay: [QueueDelay; 2],
    /// The bottleneck's mean queueing delay (data direction) over each
    /// sample interval that sent packets: (seconds, milliseconds).
    pub queue_series: Vec<(f64, f64)>,
    /// Packets the hosts sent (the simulator's unit of work).
    pub segments: u64,
    /// Packets handed in to hosts, and the batches they were handed in
    /// by (equal for the ideal host; see
    /// [`HostModel`](crate::config::HostModel)).
    pub handed_in: (u64, u64),
    /// Packets hosts or the router dropped as malformed (checksum
    /// failures included).
    pub malformed: u64,
    /// Resets hosts sent for segments of no connection.
    pub stray_resets: u64,
    /// In-memory captures as (host name, pcap bytes).
    pub captures: Vec<(String, Vec<u8>)>,
    /// A capture that could not be written, with the reason.
    pub capture_error: Option<String>,
    /// When the network healed (a [`crate::LinkAction::Heal`] event), in
    /// seconds.
    pub healed_at: Option<f64>,
    /// True when the run hit its duration limit before every connection
    /// settled.
    pub hit_time_limit: bool,
}

/// The bit of `state` in [`FlowReport::client_states`].
pub fn state_bit(state: synack_core::conn::State) -> u16 {
    use synack_core::conn::State::*;
    let i = match state {
        Closed => 0,
        Listen => 1,
        SynSent => 2,
        SynReceived => 3,
        Established => 4,
        FinWait1 => 5,
        FinWait2 => 6,
        CloseWait => 7,
        Closing => 8,
        LastAck => 9,
        TimeWait => 10,
    };
    1 << i
}

/// Jain's fairness index (Σx)²/(n·Σx²): 1 when all are equal, 1/n when
/// one takes everything; 1 for no flows or all zero.
pub fn jain_index(xs: &[f64]) -> f64 {
    let sum: f64 = xs.iter().sum();
    let sq: f64 = xs.iter().map(|x| x * x).sum();
    if xs.is_empty() || sq == 0.0 {
        1.0
    } else {
        sum * sum / (xs.len() as f64 * sq)
    }
}

impl Summary {
    /// The summary as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jain_bounds() {
        assert!((jain_index(&[5.0, 5.0, 5.0]) - 1.0).abs() < 1e-12);
        assert!((jain_index(&[9.0, 0.0, 0.0]) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(jain_index(&[]), 1.0);
    }

    #[test]
    fn latency_percentiles() {
        let l = Latency::of(&(1..=100).map(Duration::from_millis).collect::<Vec<_>>()).unwrap();
        assert_eq!((l.count, l.max_ms), (100, 100.0));
        assert!((l.mean_ms - 50.5).abs() < 1e-9);
        assert_eq!(l.p99_ms, 99.0);
        assert_eq!(Latency::of(&[]), None);
    }
}
