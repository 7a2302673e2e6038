//! The scenario catalogue: named configurations, each with a pass
//! criterion. `synack sim --list` prints it; the test suite runs every
//! entry (the slow ones in release, from `.ci/run`).

use synack_core::Duration;
use synack_core::conn::{CloseReason, EcnMode, Keepalive};

use crate::config::{
    AppSpec, Aqm, CcKind, Fault, FlowSpec, HostModel, LinkAction, LossModel, Pause, QueueLimit,
    ScriptedEvent, SegmentMatch, SimConfig,
};
use crate::report::{Report, state_bit};

/// A named scenario.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// The name `--scenario` takes.
    pub name: &'static str,
    /// What it does and what it must show, in a line.
    pub about: &'static str,
    /// Too slow for a debug build: the suite runs it in release only.
    pub slow: bool,
    /// Its configuration (seed 1).
    pub build: fn() -> SimConfig,
    /// Its pass criterion: `Err` says what failed.
    pub check: fn(&Report) -> Result<(), String>,
}

impl Scenario {
    /// The configuration with the scenario's name filled in.
    pub fn config(&self) -> SimConfig {
        SimConfig {
            name: self.name.to_string(),
            ..(self.build)()
        }
    }
}

/// The catalogue, in the order `--list` prints it.
pub fn catalogue() -> &'static [Scenario] {
    CATALOGUE
}

/// The scenario called `name`.
pub fn find(name: &str) -> Option<&'static Scenario> {
    CATALOGUE.iter().find(|s| s.name == name)
}

const MSS: u64 = 1448;

/// 100 Mbit/s, 40 ms, a one-BDP queue, one bulk flow of `bytes`; buffers
/// large enough for the path.
fn base(bytes: u64) -> SimConfig {
    let mut cfg = SimConfig {
        flows: vec![FlowSpec::bulk(bytes)],
        duration: Duration::from_secs(600),
        ..SimConfig::default()
    };
    for c in [&mut cfg.client, &mut cfg.server] {
        c.send_buffer = 4 << 20;
    }
    fit_buffers(&mut cfg);
    cfg
}

/// The starting point of a custom run (`synack sim` without
/// `--scenario`): one bulk flow of `bytes` over 100 Mbit/s × 40 ms.
pub fn custom(bytes: u64) -> SimConfig {
    base(bytes)
}

/// Grows send buffers and the receive-buffer ceiling to twice the path's
/// bandwidth-delay product (longest flow RTT, queue included), so a
/// custom path is limited by the network, not by default buffer sizes.
pub fn fit_buffers(cfg: &mut SimConfig) {
    let longest = cfg
        .flows
        .iter()
        .map(|f| f.extra_rtt)
        .max()
        .unwrap_or(Duration::ZERO)
        + cfg.link.rtt;
    let bdp = cfg.link.rate_bps as f64 / 8.0 * longest.total_micros() as f64 / 1e6;
    let queue = match cfg.queue_limit() {
        crate::config::QueueLimit::Bytes(b) => b as f64,
        crate::config::QueueLimit::Packets(n) => (n * cfg.link.mtu) as f64,
        crate::config::QueueLimit::Bdp(k) => k * bdp,
    };
    let want = (2.0 * (bdp + queue)).min(1e9) as usize;
    for c in [&mut cfg.client, &mut cfg.server] {
        c.send_buffer = c.send_buffer.max(want);
        c.recv_buffer_max = c.recv_buffer_max.max(want);
    }
}

/// [`base`] with the receive window capped at 1.5 BDP, so slow start
/// cannot overflow the one-BDP queue: the only losses are the scenario's.
fn clean(bytes: u64) -> SimConfig {
    let mut cfg = base(bytes);
    cfg.server.recv_buffer_max = 750_000;
    cfg.client.recv_buffer_max = 750_000;
    cfg
}

fn drop_once(flow: usize, from_client: bool, matches: SegmentMatch) -> Fault {
    Fault {
        flow,
        from_client,
        matches,
        times: 1,
    }
}

fn random_loss(p: f64, bytes: u64) -> SimConfig {
    let mut cfg = base(bytes);
    cfg.link.forward.loss = LossModel::Bernoulli(p);
    cfg.link.reverse.loss = LossModel::Bernoulli(p);
    cfg
}

/// A path like the demo's UDP loopback (10 Gbit/s, 100 µs, 1 % loss each
/// way) between hosts that batch and round timers as the tokio adapter
/// does.
fn host_batching() -> SimConfig {
    let mut cfg = random_loss(0.01, 100_000_000);
    cfg.link.rate_bps = 10_000_000_000;
    cfg.link.rtt = Duration::from_micros(100);
    cfg.host = HostModel::TOKIO;
    fit_buffers(&mut cfg);
    cfg
}

/// 100 Mbit/s × 40 ms with a five-BDP (2.5 MB, 200 ms) bottleneck
/// queue under `aqm`, one greedy CUBIC flow of `bytes`.
pub fn deep_buffer(aqm: Aqm, bytes: u64) -> SimConfig {
    let mut cfg = base(bytes);
    cfg.flows[0].cc = CcKind::Cubic;
    cfg.link.queue = QueueLimit::Bdp(5.0);
    cfg.link.aqm = aqm;
    fit_buffers(&mut cfg);
    // The whole window from the start: receive auto-tuning is not what
    // these runs study, and a flow held to a smaller window would never
    // fill the queue.
    for c in [&mut cfg.client, &mut cfg.server] {
        c.recv_buffer = c.recv_buffer_max;
    }
    cfg
}

/// [`deep_buffer`] with a second flow: 40 requests of 100 B answered
/// with 1 KB, starting at 250 ms (as the bulk flow's slow start begins to
/// overshoot into the queue), while the bulk flow (200 MB, about 17 s)
/// keeps the queue busy.
pub fn deep_buffer_flows(aqm: Aqm) -> SimConfig {
    let mut cfg = deep_buffer(aqm, 200_000_000);
    cfg.client.nagle = false;
    cfg.server.nagle = false;
    cfg.flows.push(FlowSpec {
        start: Duration::from_millis(250),
        app: AppSpec::RequestResponse {
            requests: 40,
            request: 100,
            response: 1000,
            think: Duration::from_millis(10),
        },
        ..FlowSpec::bulk(0)
    });
    cfg
}

/// 100 Mbit/s × 40 ms with a ten-BDP (5 MB, 400 ms) drop-tail queue and
/// one greedy flow of `cc` for 30 s, with the whole receive window from
/// the start (as [`deep_buffer`]).
pub fn bbr_deep_buffer(cc: CcKind) -> SimConfig {
    let mut cfg = base(u64::MAX);
    cfg.flows[0].cc = cc;
    cfg.duration = Duration::from_secs(30);
    cfg.link.queue = QueueLimit::Bdp(10.0);
    fit_buffers(&mut cfg);
    for c in [&mut cfg.client, &mut cfg.server] {
        c.recv_buffer = c.recv_buffer_max;
    }
    cfg
}

/// Two greedy CUBIC flows through [`deep_buffer`]'s 5-BDP queue for
/// `duration`, under CoDel, which marks instead of dropping, with both
/// ends asking for ECN (RFC 3168): the queue is held near CoDel's target
/// with nothing lost.
pub fn ecn_codel(duration: Duration) -> SimConfig {
    let mut cfg = deep_buffer(Aqm::codel().with_ecn(true), u64::MAX);
    cfg.flows.push(cfg.flows[0].clone());
    cfg.duration = duration;
    for c in [&mut cfg.client, &mut cfg.server] {
        c.ecn = EcnMode::On;
    }
    cfg
}

/// BBR keeps the ten-BDP queue short: a mean queueing delay at most a
/// quarter of CUBIC's on the same path (run here), and the link at least
/// 90 % busy.
fn check_bbr_deep_buffer(r: &Report) -> Result<(), String> {
    intact_prefix(r)?;
    let s = &r.summary;
    ensure(s.link_utilization >= 0.9, || {
        format!("utilisation {:.3} below 0.9", s.link_utilization)
    })?;
    let cubic = crate::sim::run(bbr_deep_buffer(CcKind::Cubic)).map_err(|e| format!("{e:?}"))?;
    let (bbr_q, cubic_q) = (s.queue_delay_ms_mean, cubic.summary.queue_delay_ms_mean);
    ensure(bbr_q <= cubic_q / 4.0, || {
        format!("mean queueing delay {bbr_q:.1} ms, CUBIC's {cubic_q:.1} ms: more than a quarter")
    })
}

/// Each flow got at least `share` of the goodput of all.
fn min_share(r: &Report, share: f64) -> Result<(), String> {
    intact_prefix(r)?;
    let g: Vec<f64> = r.summary.flows.iter().map(|f| f.goodput_bps).collect();
    let total: f64 = g.iter().sum();
    ensure(g.iter().all(|x| *x >= share * total), || {
        format!("goodputs {g:?}")
    })
}

fn flows(n: usize, bytes: u64) -> SimConfig {
    let mut cfg = base(bytes);
    cfg.flows = vec![FlowSpec::bulk(bytes); n];
    cfg
}

/// Fails with `msg` unless `ok`.
fn ensure(ok: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(msg()) }
}

/// Every flow completed with its bytes intact and no error.
fn all_complete(r: &Report) -> Result<(), String> {
    for (i, f) in r.summary.flows.iter().enumerate() {
        ensure(f.data_intact && f.error.is_none(), || {
            format!(
                "flow {i}: intact {} delivered {} of {} error {:?} state {}",
                f.data_intact, f.bytes_delivered, f.bytes_sent_app, f.error, f.final_state
            )
        })?;
    }
    Ok(())
}

/// Mathis et al.: the goodput NewReno sustains at loss rate `p`.
fn mathis_bps(rtt_s: f64, p: f64) -> f64 {
    MSS as f64 * 8.0 / rtt_s * (1.5f64).sqrt() / p.sqrt()
}

fn goodput_near_mathis(r: &Report, p: f64) -> Result<(), String> {
    all_complete(r)?;
    let g = r.summary.flows[0].goodput_bps;
    let m = mathis_bps(0.040, p);
    ensure(g > 0.5 * m && g < 3.0 * m, || {
        format!("goodput {g:.0} bit/s is not within 0.5–3× Mathis's {m:.0}")
    })
}

fn check_handshake_loss(r: &Report) -> Result<(), String> {
    all_complete(r)?;
    let f = &r.flows[0];
    let t = f.connect_seconds.unwrap_or(f64::INFINITY);
    // One initial RTO (1 s) plus a round trip, and no more.
    ensure((1.0..1.5).contains(&t), || {
        format!("connected after {t} s, not 1–1.5 s")
    })?;
    ensure(
        r.links[0].dropped_other + r.links[1].dropped_other == 1,
        || "the fault did not drop exactly one segment".into(),
    )
}

fn single_loss_repaired(r: &Report, max_retx: u64) -> Result<(), String> {
    all_complete(r)?;
    let f = &r.summary.flows[0];
    ensure(
        f.retransmitted_segments >= 1 && f.retransmitted_segments <= max_retx,
        || format!("{} retransmissions for one loss", f.retransmitted_segments),
    )?;
    ensure(f.rto_timeouts == 0, || {
        format!("{} timeouts for one loss", f.rto_timeouts)
    })
}

fn min_jain(r: &Report, j: f64) -> Result<(), String> {
    all_complete(r)?;
    ensure(r.summary.jain_index >= j, || {
        format!("Jain index {:.3} below {j}", r.summary.jain_index)
    })?;
    ensure(r.summary.link_utilization >= 0.7, || {
        format!("utilisation {:.2} below 0.7", r.summary.link_utilization)
    })
}

/// CoDel under a greedy flow in a 200 ms buffer: only slow start's
/// overshoot queues long (CoDel waits an interval before its first
/// drop), so the p99 stays well under the buffer and the mean near the
/// 5 ms target; after 2 s the queue stands within twice the target.
fn check_codel_deep_buffer(r: &Report) -> Result<(), String> {
    all_complete(r)?;
    let s = &r.summary;
    ensure(
        s.queue_delay_ms_p99 < 150.0 && s.queue_delay_ms_mean < 25.0,
        || {
            format!(
                "queueing delay mean {:.1} ms, p99 {:.1} ms",
                s.queue_delay_ms_mean, s.queue_delay_ms_p99
            )
        },
    )?;
    let late: Vec<f64> = r
        .queue_series
        .iter()
        .filter(|(t, _)| *t >= 2.0)
        .map(|(_, d)| *d)
        .collect();
    let standing = late.iter().sum::<f64>() / late.len().max(1) as f64;
    ensure(!late.is_empty() && standing < 10.0, || {
        format!("mean queueing delay after 2 s {standing:.1} ms")
    })?;
    ensure(r.links[0].dropped_aqm > 0, || {
        "CoDel dropped nothing".into()
    })
}

/// ECN with CoDel marking: both flows agreed ECN and were marked, nothing
/// was resent, the link stayed full, and the queue short. The p99 counts
/// slow start's overshoot too (CoDel marks once per interval at first: the
/// queue stands above 20 ms for about 0.8 s, peaking near 125 ms), which
/// is why the run is long enough for that to stay under 1 % of packets.
fn check_ecn_codel(r: &Report) -> Result<(), String> {
    let s = &r.summary;
    for (i, f) in s.flows.iter().enumerate() {
        ensure(f.error.is_none() && r.flows[i].intact_prefix, || {
            format!("flow {i}: error {:?} or corrupted data", f.error)
        })?;
        ensure(f.ecn && f.ce_marks > 0 && f.ecn_responses > 0, || {
            format!(
                "flow {i}: ECN {} with {} marks and {} responses",
                f.ecn, f.ce_marks, f.ecn_responses
            )
        })?;
        ensure(f.retransmitted_segments == 0, || {
            format!("flow {i}: {} retransmissions", f.retransmitted_segments)
        })?;
    }
    ensure(s.link_utilization >= 0.9, || {
        format!("utilisation {:.3} below 0.9", s.link_utilization)
    })?;
    ensure(s.queue_delay_ms_p99 <= 20.0, || {
        format!(
            "queueing delay p99 {:.1} ms above 20 ms",
            s.queue_delay_ms_p99
        )
    })?;
    ensure(r.links[0].dropped_aqm == 0, || {
        format!("CoDel dropped {} packets", r.links[0].dropped_aqm)
    })
}

/// FQ-CoDel serves the request/response flow ahead of the bulk flow's
/// queue: responses take about one RTT (40 ms), none more than two.
fn check_fq_codel_flows(r: &Report) -> Result<(), String> {
    all_complete(r)?;
    let l = r.summary.flows[1].latency.ok_or("no latencies")?;
    ensure(l.count == 40 && l.p50_ms < 50.0 && l.p99_ms < 100.0, || {
        format!("latency {l:?}")
    })?;
    ensure(r.summary.link_utilization > 0.85, || {
        format!("utilisation {:.2}", r.summary.link_utilization)
    })
}

fn intact_prefix(r: &Report) -> Result<(), String> {
    for (i, f) in r.flows.iter().enumerate() {
        ensure(f.intact_prefix, || format!("flow {i}: corrupted data"))?;
    }
    Ok(())
}

static CATALOGUE: &[Scenario] = &[
    Scenario {
        name: "handshake-syn-loss",
        about: "the client's SYN is dropped once: the SYN is resent after the initial RTO (1 s)",
        slow: false,
        build: || {
            let mut cfg = clean(1_000_000);
            cfg.faults = vec![drop_once(0, true, SegmentMatch::Syn)];
            cfg
        },
        check: check_handshake_loss,
    },
    Scenario {
        name: "handshake-synack-loss",
        about: "the server's SYN-ACK is dropped once: connected after one RTO",
        slow: false,
        build: || {
            let mut cfg = clean(1_000_000);
            cfg.faults = vec![drop_once(0, false, SegmentMatch::SynAck)];
            cfg
        },
        check: check_handshake_loss,
    },
    Scenario {
        name: "handshake-ack-loss",
        about: "the handshake's final ACK is dropped: the first data segment completes the handshake",
        slow: false,
        build: || {
            let mut cfg = clean(1_000_000);
            // The client waits before writing, so its third segment is a
            // pure ACK.
            cfg.flows[0].app = AppSpec::Bulk {
                bytes: 1_000_000,
                pause: Some(Pause {
                    after_bytes: 0,
                    duration: Duration::from_millis(300),
                }),
            };
            cfg.faults = vec![drop_once(0, true, SegmentMatch::PureAck)];
            cfg
        },
        check: |r| {
            all_complete(r)?;
            ensure(r.links[0].dropped_other == 1, || {
                "the ACK was not dropped".into()
            })?;
            let s = r.flows[0]
                .receiver
                .as_ref()
                .map_or(0, |s| s.retransmitted_segments);
            ensure(s == 0, || format!("the server retransmitted {s} segments"))
        },
    },
    Scenario {
        name: "early-loss",
        about: "the 4th data segment is dropped once (in slow start): one retransmission, no timeout",
        slow: false,
        build: || {
            let mut cfg = clean(2_000_000);
            cfg.faults = vec![drop_once(0, true, SegmentMatch::DataAt(3 * MSS))];
            cfg
        },
        check: |r| single_loss_repaired(r, 2),
    },
    Scenario {
        name: "mid-loss",
        about: "the segment in the middle of a 10 MB transfer is dropped once: fast recovery repairs it",
        slow: false,
        build: || {
            let mut cfg = clean(10_000_000);
            cfg.faults = vec![drop_once(0, true, SegmentMatch::DataAt(5_000_000))];
            cfg
        },
        check: |r| {
            single_loss_repaired(r, 2)?;
            ensure(r.summary.flows[0].fast_recoveries == 1, || {
                "no fast recovery".into()
            })
        },
    },
    Scenario {
        name: "tail-loss",
        about: "the last data segment is dropped once: a tail loss probe repairs it, not a timeout",
        slow: false,
        build: || {
            let mut cfg = clean(1_000_000);
            cfg.faults = vec![drop_once(0, true, SegmentMatch::DataAt(999_999))];
            cfg
        },
        check: |r| {
            single_loss_repaired(r, 2)?;
            ensure(r.summary.flows[0].tlp_probes >= 1, || {
                "no tail loss probe".into()
            })
        },
    },
    Scenario {
        name: "burst-loss",
        about: "Gilbert–Elliott bursts (p 0.5 %, r 30 %: ~1.6 % lost in runs of ~3) on the data path",
        slow: false,
        build: || {
            let mut cfg = base(10_000_000);
            cfg.link.forward.loss = LossModel::GilbertElliott { p: 0.005, r: 0.3 };
            cfg
        },
        check: |r| {
            all_complete(r)?;
            ensure(r.summary.flows[0].retransmitted_segments > 0, || {
                "nothing lost".into()
            })
        },
    },
    Scenario {
        name: "random-loss-1",
        about: "1 % random loss each way: completes, goodput near Mathis's 1.22·MSS/(RTT·√p)",
        slow: false,
        build: || random_loss(0.01, 10_000_000),
        check: |r| goodput_near_mathis(r, 0.01),
    },
    Scenario {
        name: "random-loss-3",
        about: "3 % random loss each way: completes, goodput near Mathis's prediction",
        slow: false,
        build: || random_loss(0.03, 3_000_000),
        check: |r| goodput_near_mathis(r, 0.03),
    },
    Scenario {
        name: "random-loss-10",
        about: "10 % random loss each way: completes intact",
        slow: false,
        build: || random_loss(0.10, 1_000_000),
        check: all_complete,
    },
    Scenario {
        name: "random-loss-30",
        about: "30 % random loss each way: still completes, slowly, through timeouts",
        slow: false,
        build: || {
            let mut cfg = random_loss(0.30, 100_000);
            cfg.duration = Duration::from_secs(3600);
            cfg
        },
        check: |r| {
            all_complete(r)?;
            ensure(r.summary.flows[0].rto_timeouts > 0, || {
                "no timeouts at 30 % loss?".into()
            })
        },
    },
    Scenario {
        name: "host-batching",
        about: "loopback-like path (10 Gbit/s, 100 µs) at 1 % loss each way, hosts with 1 ms timers and 64-packet receive batches: at most one timeout in 100 MB",
        slow: true,
        build: host_batching,
        check: |r| {
            all_complete(r)?;
            let f = &r.summary.flows[0];
            ensure(f.rto_timeouts <= 1, || {
                format!(
                    "{} timeouts ({} fast recoveries, {} tail loss probes)",
                    f.rto_timeouts, f.fast_recoveries, f.tlp_probes
                )
            })
        },
    },
    Scenario {
        name: "reorder",
        about: "2 % of packets held back 10 ms (RACK's window): few resends, each reported spurious by D-SACK, no timeouts",
        slow: false,
        build: || {
            let mut cfg = clean(10_000_000);
            for d in [&mut cfg.link.forward, &mut cfg.link.reverse] {
                d.reorder = 0.02;
                d.reorder_delay = Duration::from_millis(10);
            }
            cfg
        },
        check: |r| {
            all_complete(r)?;
            let f = &r.summary.flows[0];
            ensure(f.rto_timeouts == 0, || {
                format!("{} timeouts", f.rto_timeouts)
            })?;
            let segments = f.bytes_delivered / MSS;
            ensure(f.retransmitted_segments * 100 <= segments, || {
                format!(
                    "{} retransmissions for {segments} segments",
                    f.retransmitted_segments
                )
            })?;
            // Nothing is lost on this path: every resend was spurious, and
            // the receiver's D-SACKs (RFC 2883) must say so.
            ensure(
                f.spurious_retransmissions >= f.retransmitted_segments,
                || {
                    format!(
                        "{} retransmissions, {} reported spurious by D-SACK",
                        f.retransmitted_segments, f.spurious_retransmissions
                    )
                },
            )
        },
    },
    Scenario {
        name: "duplicate",
        about: "2 % of packets duplicated each way: delivered once, intact, hardly any retransmissions",
        slow: false,
        build: || {
            let mut cfg = clean(10_000_000);
            cfg.link.forward.duplicate = 0.02;
            cfg.link.reverse.duplicate = 0.02;
            cfg
        },
        check: |r| {
            all_complete(r)?;
            let f = &r.summary.flows[0];
            ensure(r.links[0].duplicated > 0, || "nothing duplicated".into())?;
            ensure(f.retransmitted_segments <= 5 && f.rto_timeouts == 0, || {
                format!(
                    "{} retransmissions, {} timeouts",
                    f.retransmitted_segments, f.rto_timeouts
                )
            })
        },
    },
    Scenario {
        name: "corrupt",
        about: "0.5 % of packets get a flipped bit each way: checksums catch every one, data intact",
        slow: false,
        build: || {
            let mut cfg = clean(10_000_000);
            cfg.link.forward.corrupt = 0.005;
            cfg.link.reverse.corrupt = 0.005;
            cfg
        },
        check: |r| {
            all_complete(r)?;
            let flipped = r.links[0].corrupted + r.links[1].corrupted;
            ensure(flipped > 0 && r.malformed == flipped, || {
                format!("{flipped} packets corrupted but {} caught", r.malformed)
            })
        },
    },
    Scenario {
        name: "zero-window",
        about: "the receiver (64 KB buffer) stops reading for 5 s: zero window, probes, then it resumes",
        slow: false,
        build: || {
            let mut cfg = base(2_000_000);
            cfg.server.recv_buffer = 64 * 1024;
            cfg.server.recv_buffer_max = 64 * 1024;
            cfg.flows[0].read_pause = Some((Duration::from_millis(500), Duration::from_secs(5)));
            cfg
        },
        check: |r| {
            all_complete(r)?;
            let f = &r.summary.flows[0];
            ensure(f.window_probes > 0, || "no zero-window probe".into())?;
            let t = f.completion_seconds.unwrap_or(0.0);
            ensure(t > 5.5, || {
                format!("completed in {t} s despite the 5 s pause")
            })
        },
    },
    Scenario {
        name: "tiny-buffers",
        about: "4 KB send and receive buffers at both ends: slow, but every byte arrives",
        slow: false,
        build: || {
            let mut cfg = base(500_000);
            for c in [&mut cfg.client, &mut cfg.server] {
                c.send_buffer = 4096;
                c.recv_buffer = 4096;
                c.recv_buffer_max = 4096;
            }
            cfg
        },
        check: all_complete,
    },
    Scenario {
        name: "long-fat-path",
        about: "500 MB over 1 Gbit/s × 200 ms (BDP 25 MB): window scaling ≥ 9 and a full pipe",
        slow: true,
        build: || {
            let mut cfg = base(500_000_000);
            cfg.link.rate_bps = 1_000_000_000;
            cfg.link.rtt = Duration::from_millis(200);
            // Above the 25 MB BDP, below BDP + queue: the window, not
            // slow start's overshoot into the queue, limits the flow.
            for c in [&mut cfg.client, &mut cfg.server] {
                c.send_buffer = 64 << 20;
                c.recv_buffer_max = 40 << 20;
            }
            cfg
        },
        check: |r| {
            all_complete(r)?;
            let n = r.flows[0].negotiated;
            ensure(
                n.window_scaling && n.rcv_shift >= 9 && n.snd_shift >= 9,
                || format!("window scaling {n:?}"),
            )?;
            let peak = r.flows[0].series.iter().map(|s| s.cwnd).max().unwrap_or(0);
            ensure(peak >= 25_000_000, || {
                format!("peak cwnd {peak} below the 25 MB BDP")
            })?;
            // Slow start needs ~11 RTTs (2.2 s) to fill the pipe; without
            // window scaling the flow would be capped at 64 KiB per RTT
            // (2.6 Mbit/s).
            ensure(r.summary.link_utilization >= 0.5, || {
                format!("utilisation {:.2}", r.summary.link_utilization)
            })
        },
    },
    Scenario {
        name: "seq-wrap",
        about: "the client's ISN sits 100 KB below 2^32: a 10 MB transfer wraps the sequence space",
        slow: false,
        build: || {
            let mut cfg = base(10_000_000);
            cfg.flows[0].client_iss = Some(u32::MAX - 100_000);
            cfg
        },
        check: all_complete,
    },
    Scenario {
        name: "blackhole-short",
        about: "the path blackholes for 3 s (user timeout 10 s): timeouts back off, ssthresh holds, done by 7 s",
        slow: false,
        build: || {
            let mut cfg = base(20_000_000);
            cfg.client.user_timeout = Some(Duration::from_secs(10));
            cfg.server.user_timeout = Some(Duration::from_secs(10));
            cfg.events = vec![ScriptedEvent {
                at: Duration::from_secs(1),
                action: LinkAction::Blackhole(Duration::from_secs(3)),
            }];
            cfg
        },
        check: |r| {
            all_complete(r)?;
            let f = &r.summary.flows[0];
            ensure(f.rto_timeouts >= 2, || {
                format!("{} timeouts", f.rto_timeouts)
            })?;
            // Repeated timeouts hold ssthresh (RFC 5681 §3.1): slow start
            // refills the pipe within a few RTTs of the path's return, and
            // 20 MB are done by 7 s (with ssthresh cut to 2 segments,
            // congestion avoidance took until 9.7 s).
            let t = f.completion_seconds.unwrap_or(f64::INFINITY);
            ensure(t < 7.0, || format!("completed at {t} s"))
        },
    },
    Scenario {
        name: "blackhole-long",
        about: "the path blackholes for 60 s (user timeout 10 s, server keepalive): both ends fail with a clear error",
        slow: false,
        build: || {
            let mut cfg = base(20_000_000);
            cfg.client.user_timeout = Some(Duration::from_secs(10));
            cfg.server.keepalive = Some(Keepalive::new(
                Duration::from_secs(5),
                Duration::from_secs(2),
                3,
            ));
            cfg.events = vec![ScriptedEvent {
                at: Duration::from_secs(1),
                action: LinkAction::Blackhole(Duration::from_secs(60)),
            }];
            cfg
        },
        check: |r| {
            intact_prefix(r)?;
            let f = &r.flows[0];
            let timed_out = CloseReason::TimedOut.to_string();
            ensure(
                f.client_error.as_deref() == Some(timed_out.as_str()),
                || format!("client error {:?}", f.client_error),
            )?;
            ensure(
                f.server_error.as_deref() == Some(timed_out.as_str()),
                || format!("server error {:?}", f.server_error),
            )?;
            ensure(
                !r.hit_time_limit && r.summary.virtual_seconds < 30.0,
                || format!("ran {} s", r.summary.virtual_seconds),
            )
        },
    },
    Scenario {
        name: "simultaneous-open",
        about: "both ends send a SYN at once (no listener): SYN-SENT → SYN-RECEIVED → ESTABLISHED",
        slow: false,
        build: || {
            let mut cfg = base(1_000_000);
            cfg.flows[0].simultaneous_open = true;
            cfg
        },
        check: |r| {
            all_complete(r)?;
            let f = &r.flows[0];
            let syn_rcvd = state_bit(synack_core::conn::State::SynReceived);
            ensure(
                f.client_states & syn_rcvd != 0 && f.server_states & syn_rcvd != 0,
                || "an end did not pass through SYN-RECEIVED".into(),
            )
        },
    },
    Scenario {
        name: "simultaneous-close",
        about: "both ends exchange 100 KB and close at the same instant: both pass through CLOSING",
        slow: false,
        build: || {
            let mut cfg = base(0);
            cfg.flows[0].app = AppSpec::Exchange {
                bytes: 100_000,
                close_at: Duration::from_secs(2),
            };
            cfg
        },
        check: |r| {
            all_complete(r)?;
            let f = &r.flows[0];
            let closing = state_bit(synack_core::conn::State::Closing);
            ensure(
                f.client_states & closing != 0 && f.server_states & closing != 0,
                || {
                    format!(
                        "states {:#x} {:#x}: no CLOSING",
                        f.client_states, f.server_states
                    )
                },
            )
        },
    },
    Scenario {
        name: "flows-2",
        about: "2 NewReno flows of 20 MB share the bottleneck: Jain ≥ 0.9, utilisation ≥ 0.7",
        slow: false,
        build: || flows(2, 20_000_000),
        check: |r| min_jain(r, 0.9),
    },
    Scenario {
        name: "flows-4",
        about: "4 flows of 10 MB share the bottleneck: Jain ≥ 0.85",
        slow: false,
        build: || flows(4, 10_000_000),
        check: |r| min_jain(r, 0.85),
    },
    Scenario {
        name: "flows-8",
        about: "8 flows of 5 MB share the bottleneck: Jain ≥ 0.8",
        slow: false,
        build: || flows(8, 5_000_000),
        check: |r| min_jain(r, 0.8),
    },
    Scenario {
        name: "reno-vs-cubic",
        about: "a NewReno and a CUBIC flow for 60 s: both progress, neither gets under 20 %",
        slow: false,
        build: || {
            let mut cfg = flows(2, u64::MAX);
            cfg.flows[1].cc = CcKind::Cubic;
            cfg.duration = Duration::from_secs(60);
            cfg
        },
        check: |r| min_share(r, 0.2),
    },
    Scenario {
        name: "bbr-random-loss",
        about: "BBR for 60 s at 1 % random loss each way: goodput ≥ 80 Mbit/s (NewReno gets ~3)",
        slow: true,
        build: || {
            let mut cfg = random_loss(0.01, u64::MAX);
            cfg.flows[0].cc = CcKind::Bbr;
            cfg.duration = Duration::from_secs(60);
            cfg
        },
        check: |r| {
            intact_prefix(r)?;
            let g = r.summary.flows[0].goodput_bps;
            ensure(g >= 80e6, || {
                format!("goodput {:.2} Mbit/s below 80", g / 1e6)
            })
        },
    },
    Scenario {
        name: "bbr-deep-buffer",
        about: "BBR for 30 s into a ten-BDP queue: mean queueing delay ≤ ¼ of CUBIC's there, utilisation ≥ 90 %",
        slow: true,
        build: || bbr_deep_buffer(CcKind::Bbr),
        check: check_bbr_deep_buffer,
    },
    Scenario {
        name: "bbr-vs-cubic",
        about: "a BBR and a CUBIC flow share a one-BDP queue for 60 s: each gets at least 30 %",
        slow: true,
        build: || {
            let mut cfg = flows(2, u64::MAX);
            cfg.flows[0].cc = CcKind::Bbr;
            cfg.flows[1].cc = CcKind::Cubic;
            cfg.duration = Duration::from_secs(60);
            cfg
        },
        check: |r| min_share(r, 0.3),
    },
    Scenario {
        name: "rtt-unfairness",
        about: "flows at 40 ms and 160 ms RTT for 60 s: the short-RTT flow gets more (AIMD's RTT bias)",
        slow: false,
        build: || {
            let mut cfg = flows(2, u64::MAX);
            cfg.flows[1].extra_rtt = Duration::from_millis(120);
            cfg.duration = Duration::from_secs(60);
            cfg
        },
        check: |r| {
            intact_prefix(r)?;
            let (a, b) = (
                r.summary.flows[0].goodput_bps,
                r.summary.flows[1].goodput_bps,
            );
            ensure(a > b && b > 0.0, || {
                format!("goodputs {a:.0} (40 ms) vs {b:.0} (160 ms)")
            })
        },
    },
    Scenario {
        name: "short-flows",
        about: "100 short flows (10–200 KB) arrive 50 ms apart: every one completes",
        slow: false,
        build: || {
            let mut cfg = base(0);
            cfg.flows = (0..100u64)
                .map(|i| FlowSpec {
                    start: Duration::from_millis(50 * i),
                    // Sizes spread deterministically over 10–200 KB.
                    ..FlowSpec::bulk(10_000 + (i * 7919) % 190_000)
                })
                .collect();
            cfg
        },
        check: |r| {
            all_complete(r)?;
            let worst = r
                .summary
                .flows
                .iter()
                .filter_map(|f| f.completion_seconds)
                .fold(0.0, f64::max);
            ensure(worst < 2.0, || format!("slowest short flow took {worst} s"))
        },
    },
    Scenario {
        name: "request-response",
        about: "200 requests of 100 B answered with 10 KB (no Nagle): median latency about one RTT",
        slow: false,
        build: || {
            let mut cfg = base(0);
            cfg.client.nagle = false;
            cfg.server.nagle = false;
            cfg.flows[0].app = AppSpec::RequestResponse {
                requests: 200,
                request: 100,
                response: 10_000,
                think: Duration::from_millis(10),
            };
            cfg
        },
        check: |r| {
            all_complete(r)?;
            let l = r.summary.flows[0].latency.ok_or("no latencies")?;
            ensure(
                l.count == 200 && l.p50_ms < 60.0 && l.p99_ms < 250.0,
                || format!("latency {l:?}"),
            )
        },
    },
    Scenario {
        name: "codel-deep-buffer",
        about: "a greedy CUBIC flow, 50 MB over 100 Mbit/s × 40 ms with a 5-BDP (200 ms) queue under CoDel: queueing delay near the 5 ms target after slow start",
        slow: false,
        build: || deep_buffer(Aqm::codel(), 50_000_000),
        check: check_codel_deep_buffer,
    },
    Scenario {
        name: "fq-codel-flows",
        about: "40 requests of 100 B → 1 KB from 250 ms beside a greedy CUBIC flow, 5-BDP queue under FQ-CoDel: responses take about one RTT",
        slow: false,
        build: || deep_buffer_flows(Aqm::fq_codel()),
        check: check_fq_codel_flows,
    },
    Scenario {
        name: "ecn-codel",
        about: "2 greedy CUBIC flows with ECN for 120 s, 5-BDP queue under CoDel marking instead of dropping: no retransmission, utilisation ≥ 90 %, queueing delay p99 ≤ 20 ms",
        slow: true,
        build: || ecn_codel(Duration::from_secs(120)),
        check: check_ecn_codel,
    },
    Scenario {
        name: "keepalive-idle",
        about: "the sender idles 120 s mid-transfer with keepalive (10 s, every 5 s): probes answered, transfer resumes",
        slow: false,
        build: || {
            let mut cfg = base(1_000_000);
            let k = Keepalive::new(Duration::from_secs(10), Duration::from_secs(5), 3);
            cfg.client.keepalive = Some(k);
            cfg.server.keepalive = Some(k);
            cfg.flows[0].app = AppSpec::Bulk {
                bytes: 1_000_000,
                pause: Some(Pause {
                    after_bytes: 500_000,
                    duration: Duration::from_secs(120),
                }),
            };
            cfg
        },
        check: |r| {
            all_complete(r)?;
            let f = &r.summary.flows[0];
            ensure(f.window_probes >= 10, || {
                format!("{} keepalive probes", f.window_probes)
            })?;
            let t = f.completion_seconds.unwrap_or(0.0);
            ensure(t > 120.0, || {
                format!("completed in {t} s despite the pause")
            })
        },
    },
];
