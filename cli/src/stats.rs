//! `--stats`: the endpoint's and every connection's counters as JSON, for
//! an operator who wants to see what the stack defends against (cookies,
//! challenge ACKs, PAWS rejects, resets sent and rate-limited, drops by
//! reason), printed to standard output every `--stats-interval` and once on
//! exit, one object per line.

use crate::out::outln;
use std::time::Duration;

use clap::Args;
use serde_json::{Map, Value, json};
use synack_core::conn::{EcnStats, RecoveryStats, Stats};
use synack_core::endpoint::EndpointStats;
use synack_core::{DropReason, DropSite, Drops, FourTuple};
use synack_tokio::Stack;

/// The `--stats` options of long-running servers.
#[derive(Debug, Clone, Args)]
pub struct StatsArgs {
    /// Print the endpoint's and each connection's counters as one JSON
    /// object per line on standard output when stopping, and after each
    /// connection ends (its final counters).
    #[arg(long)]
    pub stats: bool,
    /// With --stats, also print them this often (e.g. 10s, 500ms).
    #[arg(long, value_name = "DURATION", requires = "stats",
          value_parser = crate::units::duration)]
    pub stats_interval: Option<synack_core::Duration>,
}

impl StatsArgs {
    /// Prints a snapshot every `--stats-interval`; never returns (pending
    /// forever without an interval), so it runs beside the server.
    pub async fn report_periodically(&self, stack: &Stack) {
        let Some(every) = self.stats_interval.filter(|_| self.stats) else {
            return std::future::pending().await;
        };
        let every = Duration::from_micros(every.total_micros().max(1));
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            ticks.tick().await;
            print_line("interval", snapshot(stack));
        }
    }

    /// The final snapshot, when stopping.
    pub fn report_final(&self, stack: &Stack) {
        if self.stats {
            print_line("final", snapshot(stack));
        }
    }

    /// The counters of a connection that has just ended.
    pub fn report_closed(&self, tuple: FourTuple, stats: &Stats) {
        if self.stats {
            print_line("closed", connection_json(tuple, stats));
        }
    }
}

fn print_line(kind: &str, mut value: Value) {
    if let Value::Object(map) = &mut value {
        map.insert("report".into(), json!(kind));
    }
    outln!("{value}");
}

/// The endpoint's counters and every connection's.
pub fn snapshot(stack: &Stack) -> Value {
    let connections: Vec<Value> = stack
        .connection_stats()
        .iter()
        .map(|(tuple, stats)| connection_json(*tuple, stats))
        .collect();
    json!({
        "endpoint": endpoint_json(&stack.stats()),
        "connections": connections,
    })
}

/// Every counter of [`EndpointStats`], drops by reason included. The
/// structs are taken apart field by field, so a counter added to the core
/// cannot be left out of the report without a compile error.
pub fn endpoint_json(s: &EndpointStats) -> Value {
    let EndpointStats {
        drops,
        rsts_sent,
        rsts_rate_limited,
        replies_dropped,
        cookies_sent,
        cookies_accepted,
        cookies_rejected,
        connections_opened,
        connections,
        half_open,
        time_wait,
        time_wait_overflow,
        time_wait_reused,
        buffer_memory,
        table_memory,
    } = *s;
    json!({
        "drops": drops_json(&drops, DropSite::Endpoint),
        "rsts_sent": rsts_sent,
        "rsts_rate_limited": rsts_rate_limited,
        "replies_dropped": replies_dropped,
        "cookies_sent": cookies_sent,
        "cookies_accepted": cookies_accepted,
        "cookies_rejected": cookies_rejected,
        "connections_opened": connections_opened,
        "connections": connections,
        "half_open": half_open,
        "time_wait": time_wait,
        "time_wait_overflow": time_wait_overflow,
        "time_wait_reused": time_wait_reused,
        "buffer_memory": buffer_memory,
        "table_memory": table_memory,
    })
}

/// The drop counters kept at `site`, every reason by name (zeros
/// included, so a report's shape does not change), and their total.
fn drops_json(drops: &Drops, site: DropSite) -> Value {
    let mut by_reason: Map<String, Value> = DropReason::ALL
        .iter()
        .filter(|r| r.site() == site)
        .map(|r| (r.name().to_string(), json!(drops.get(*r))))
        .collect();
    by_reason.insert("total".to_string(), json!(drops.total()));
    Value::Object(by_reason)
}

/// Every counter of one connection's [`Stats`], each drop reason by name
/// (taken apart field by field, as in [`endpoint_json`]).
pub fn connection_json(tuple: FourTuple, s: &Stats) -> Value {
    let Stats {
        segments_sent,
        segments_received,
        bytes_sent,
        bytes_received,
        retransmitted_segments,
        retransmitted_bytes,
        timeouts,
        challenge_acks,
        window_probes,
        drops,
        congestion_control,
        cwnd,
        ssthresh,
        bytes_in_flight,
        pacing_rate,
        recovery,
        ecn,
        min_rtt,
        srtt,
        rttvar,
        rto,
        send_window,
        receive_window,
        mss,
        state,
    } = s.clone();
    let RecoveryStats {
        fast_recoveries,
        tlp_probes,
        spurious_retransmissions,
        spurious_timeouts,
        undos,
        bogus_sack_blocks,
        rack_marked_lost,
    } = recovery;
    let EcnStats {
        ce_received,
        ece_received,
        responses,
        cwr_sent,
    } = ecn;
    let micros = |d: Option<synack_core::Duration>| d.map(|d| d.total_micros());
    json!({
        "local": tuple.local.to_string(),
        "remote": tuple.remote.to_string(),
        "state": state.name(),
        "segments_sent": segments_sent,
        "segments_received": segments_received,
        "bytes_sent": bytes_sent,
        "bytes_received": bytes_received,
        "retransmitted_segments": retransmitted_segments,
        "retransmitted_bytes": retransmitted_bytes,
        "timeouts": timeouts,
        "challenge_acks": challenge_acks,
        "window_probes": window_probes,
        "drops": drops_json(&drops, DropSite::Connection),
        "recovery": {
            "fast_recoveries": fast_recoveries,
            "tlp_probes": tlp_probes,
            "spurious_retransmissions": spurious_retransmissions,
            "spurious_timeouts": spurious_timeouts,
            "undos": undos,
            "bogus_sack_blocks": bogus_sack_blocks,
            "rack_marked_lost": rack_marked_lost,
        },
        "ecn": {
            "ce_received": ce_received,
            "ece_received": ece_received,
            "responses": responses,
            "cwr_sent": cwr_sent,
        },
        "congestion_control": congestion_control,
        "cwnd": cwnd,
        "ssthresh": (ssthresh != usize::MAX).then_some(ssthresh),
        "bytes_in_flight": bytes_in_flight,
        "pacing_rate": pacing_rate,
        "min_rtt_us": micros(min_rtt),
        "srtt_us": micros(srtt),
        "rttvar_us": rttvar.total_micros(),
        "rto_us": rto.total_micros(),
        "send_window": send_window,
        "receive_window": receive_window,
        "mss": mss,
    })
}
