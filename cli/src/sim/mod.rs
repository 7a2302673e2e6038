//! `synack sim`: runs a catalogue scenario or a custom network in the
//! deterministic simulator, and shows what happened — a summary (or JSON),
//! pcap captures per host, a metrics CSV and a plot.

mod plot;

use crate::out::outln;
use crate::units;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use synack_core::conn::EcnMode;
use synack_core::{Duration, Instant};
use synack_sim::catalogue::{self, Scenario};
use synack_sim::{
    AppSpec, Aqm, CaptureSpec, CcKind, HostModel, LossModel, QueueLimit, Report, SimConfig,
    Simulation,
};

/// Flags of `synack sim`.
#[derive(Args, Debug)]
pub struct SimArgs {
    /// List the scenario catalogue and exit.
    #[arg(long)]
    list: bool,
    /// Run this catalogue scenario (the flags below override its values).
    #[arg(long, value_name = "NAME", conflicts_with = "all")]
    scenario: Option<String>,
    /// Run the whole catalogue as catalogued and print one line per
    /// scenario with its verdict, utilisation, Jain's index, the flows'
    /// goodputs summed, the bottleneck's p99 queueing delay,
    /// retransmissions, timeouts and tail loss probes
    /// (`--json`: an array of summaries).
    #[arg(long)]
    all: bool,
    /// Bottleneck bandwidth, e.g. 100mbit, 1gbit.
    #[arg(long, value_parser = units::rate)]
    rate: Option<u64>,
    /// Base round-trip time, e.g. 40ms.
    #[arg(long, value_parser = units::duration)]
    rtt: Option<Duration>,
    /// Random (Bernoulli) loss each way, e.g. 1% or 0.01.
    #[arg(long, value_parser = units::probability)]
    loss: Option<f64>,
    /// Bursty (Gilbert–Elliott) loss each way: P,R = chances of entering
    /// and leaving the losing state per packet, e.g. 1%,30%.
    #[arg(long, value_name = "P,R", value_parser = units::burst_loss)]
    burst_loss: Option<(f64, f64)>,
    /// Share of packets held back a quarter RTT (reordering), e.g. 2%.
    #[arg(long, value_parser = units::probability)]
    reorder: Option<f64>,
    /// Share of packets delivered twice, e.g. 0.5%.
    #[arg(long, value_parser = units::probability)]
    dup: Option<f64>,
    /// Share of packets with a flipped bit, e.g. 0.1%.
    #[arg(long, value_parser = units::probability)]
    corrupt: Option<f64>,
    /// Bottleneck queue: 1bdp (bandwidth-delay products), a packet count,
    /// or bytes (64KB).
    #[arg(long, value_name = "1bdp|NUMBER", value_parser = units::queue)]
    queue: Option<QueueLimit>,
    /// The bottleneck queue's discipline: drop-tail (the default), CoDel
    /// (RFC 8289: target 5 ms, interval 100 ms) or FQ-CoDel (RFC 8290:
    /// 1024 flow queues, quantum 1514 bytes); the --queue limit applies
    /// to each.
    #[arg(long, value_enum)]
    aqm: Option<AqmArg>,
    /// ECN (RFC 3168): both ends of every flow ask for it, and CoDel or
    /// FQ-CoDel marks ECN-capable packets Congestion Experienced instead
    /// of dropping them.
    #[arg(long)]
    ecn: bool,
    /// Number of flows sharing the bottleneck.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=10000))]
    flows: Option<u16>,
    /// Congestion control of every flow.
    #[arg(long, value_enum)]
    cc: Option<CcArg>,
    /// Bytes each bulk flow sends, e.g. 50MB.
    #[arg(long, value_parser = units::size)]
    bytes: Option<u64>,
    /// Virtual time limit of the run, e.g. 60s.
    #[arg(long, value_parser = units::duration)]
    duration: Option<Duration>,
    /// MTU of the path in bytes.
    #[arg(long, value_parser = clap::value_parser!(u16).range(68..=9000))]
    mtu: Option<u16>,
    /// Model the hosts' software: `ideal` (exact timers, each packet
    /// answered alone) or `tokio` (a 1 ms timer wheel, receive batches of
    /// up to 64 packets gathered for 20 µs). --timer-granularity,
    /// --receive-batch and --receive-delay adjust it.
    #[arg(long, value_enum)]
    host: Option<HostArg>,
    /// Hosts' timers fire at the next multiple of this, e.g. 1ms.
    #[arg(long, value_parser = units::duration)]
    timer_granularity: Option<Duration>,
    /// Hosts hand in at most this many arriving packets before they
    /// transmit.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    receive_batch: Option<u16>,
    /// Hosts let arrivals gather this long before taking them in, e.g. 20us.
    #[arg(long, value_parser = units::duration)]
    receive_delay: Option<Duration>,
    /// Seed of the run: the same seed gives the same run, bit for bit.
    #[arg(long)]
    seed: Option<u64>,
    /// Write one pcap per host as PREFIX-HOST.pcap.
    #[arg(long, value_name = "PREFIX")]
    pcap: Option<PathBuf>,
    /// Bytes kept per captured packet (whole packets by default).
    #[arg(long, value_parser = clap::value_parser!(u32).range(20..=65535))]
    snaplen: Option<u32>,
    /// Draw cwnd, bytes in flight, SRTT and goodput per flow, and the
    /// bottleneck's queueing delay (.png or .svg).
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Write every flow's metrics time series as CSV.
    #[arg(long, value_name = "FILE")]
    metrics: Option<PathBuf>,
    /// Print the JSON summary on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

/// Congestion controllers on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum CcArg {
    /// NewReno.
    Reno,
    /// CUBIC.
    Cubic,
    /// BBR (draft-ietf-ccwg-bbr).
    Bbr,
}

/// Queue disciplines on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum AqmArg {
    /// First in, first out, arrivals dropped when full.
    Droptail,
    /// CoDel (RFC 8289).
    Codel,
    /// FQ-CoDel (RFC 8290).
    FqCodel,
}

/// Host models on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum HostArg {
    /// Exact timers; every packet handed in and answered alone.
    Ideal,
    /// As the tokio adapter: 1 ms timers, batches of 64 within 20 µs.
    Tokio,
}

/// Bytes a custom run sends unless `--bytes` says otherwise.
const CUSTOM_BYTES: u64 = 10_000_000;

/// Runs `synack sim`.
pub fn main(args: SimArgs) -> ExitCode {
    if args.list {
        list();
        return ExitCode::SUCCESS;
    }
    if args.all {
        return run_all(args.json);
    }
    let scenario = match args.scenario.as_deref() {
        None => None,
        Some(name) => match catalogue::find(name) {
            Some(s) => Some(s),
            None => {
                eprintln!(
                    "error: invalid value '{name}' for '--scenario <NAME>': no such scenario (see --list)"
                );
                return ExitCode::from(2);
            }
        },
    };
    let (cfg, overridden) = configure(&args, scenario);
    let sim = match Simulation::new(cfg) {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let show_progress = !args.json && std::io::stdout().is_terminal();
    let report = run(sim, show_progress);
    let mut ok = true;
    if let Some(e) = &report.capture_error {
        eprintln!("error: capture: {e}");
        ok = false;
    }
    if let Some(path) = &args.metrics
        && let Err(e) = write_metrics(&report, path)
    {
        eprintln!("error: --metrics {}: {e}", path.display());
        ok = false;
    }
    if let Some(path) = &args.plot
        && let Err(e) = plot::draw(&report, path)
    {
        eprintln!("error: --plot {}: {e}", path.display());
        ok = false;
    }
    // The pass criterion holds for the scenario as catalogued; with
    // overrides it is shown but does not decide the exit status.
    let verdict = scenario.map(|s| (s.check)(&report));
    if args.json {
        outln!("{}", report.summary.to_json());
    } else {
        print_table(&report, verdict.as_ref(), overridden);
    }
    if !ok || (!overridden && matches!(verdict, Some(Err(_)))) {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Runs every scenario; fails when any pass criterion does.
fn run_all(json: bool) -> ExitCode {
    let mut failed = 0;
    let mut summaries = Vec::new();
    if !json {
        outln!(
            "{:22} {:>7} {:>9} {:>8} {:>5} {:>6} {:>13} {:>9} {:>6} {:>5} {:>5}",
            "scenario",
            "verdict",
            "virtual",
            "wall",
            "util",
            "Jain",
            "goodput (sum)",
            "qdelay99",
            "retx",
            "rto",
            "tlp"
        );
    }
    for s in catalogue::catalogue() {
        let report = match Simulation::new(s.config()) {
            Ok(sim) => sim.run(),
            Err(e) => {
                eprintln!("error: {}: {e}", s.name);
                failed += 1;
                continue;
            }
        };
        let verdict = (s.check)(&report);
        if verdict.is_err() {
            failed += 1;
        }
        let sum = &report.summary;
        if json {
            summaries.push(sum.clone());
            continue;
        }
        let total = |f: fn(&synack_sim::FlowSummary) -> u64| sum.flows.iter().map(f).sum::<u64>();
        let goodput: f64 = sum.flows.iter().map(|f| f.goodput_bps).sum();
        outln!(
            "{:22} {:>7} {:>8.2}s {:>7.2}s {:>4.0}% {:>6.3} {:>8.2} Mb/s {:>6.1}ms {:>6} {:>5} {:>5}{}",
            s.name,
            if verdict.is_ok() { "pass" } else { "FAIL" },
            sum.virtual_seconds,
            sum.wall_seconds,
            sum.link_utilization * 100.0,
            sum.jain_index,
            goodput / 1e6,
            sum.queue_delay_ms_p99,
            total(|f| f.retransmitted_segments),
            total(|f| f.rto_timeouts),
            total(|f| f.tlp_probes),
            verdict
                .err()
                .map(|why| format!("  {why}"))
                .unwrap_or_default()
        );
    }
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&summaries).unwrap_or_else(|e| e.to_string())
        );
    }
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn list() {
    let width = catalogue::catalogue()
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0);
    for s in catalogue::catalogue() {
        let slow = if s.slow { " [slow]" } else { "" };
        outln!("{:width$}  {}{slow}", s.name, s.about);
    }
}

/// The run's configuration: the scenario's (or a custom one), with the
/// flags applied. The flag is true when any flag changed the scenario.
fn configure(args: &SimArgs, scenario: Option<&Scenario>) -> (SimConfig, bool) {
    let custom = scenario.is_none();
    let mut cfg = match scenario {
        Some(s) => s.config(),
        None => catalogue::custom(CUSTOM_BYTES),
    };
    let mut overridden = false;
    let mut set = |changed: bool| overridden |= changed;
    if let Some(r) = args.rate {
        cfg.link.rate_bps = r;
        set(true);
    }
    if let Some(rtt) = args.rtt {
        cfg.link.rtt = rtt;
        set(true);
    }
    let both = |cfg: &mut SimConfig, f: &dyn Fn(&mut synack_sim::ImpairmentConfig)| {
        f(&mut cfg.link.forward);
        f(&mut cfg.link.reverse);
    };
    if let Some(p) = args.loss {
        both(&mut cfg, &|d| d.loss = LossModel::Bernoulli(p));
        set(true);
    }
    if let Some((p, r)) = args.burst_loss {
        both(&mut cfg, &|d| d.loss = LossModel::GilbertElliott { p, r });
        set(true);
    }
    if let Some(p) = args.reorder {
        let delay = cfg.link.rtt.div(4).max(Duration::from_millis(1));
        both(&mut cfg, &|d| {
            d.reorder = p;
            d.reorder_delay = delay;
        });
        set(true);
    }
    if let Some(p) = args.dup {
        both(&mut cfg, &|d| d.duplicate = p);
        set(true);
    }
    if let Some(p) = args.corrupt {
        both(&mut cfg, &|d| d.corrupt = p);
        set(true);
    }
    if let Some(q) = args.queue {
        cfg.link.queue = q;
        set(true);
    }
    if let Some(a) = args.aqm {
        let aqm = match a {
            AqmArg::Droptail => Aqm::DropTail,
            AqmArg::Codel => Aqm::codel(),
            AqmArg::FqCodel => Aqm::fq_codel(),
        };
        set(aqm != cfg.link.aqm);
        cfg.link.aqm = aqm;
    }
    if args.ecn {
        let aqm = cfg.link.aqm.with_ecn(true);
        set(aqm != cfg.link.aqm || cfg.client.ecn != EcnMode::On || cfg.server.ecn != EcnMode::On);
        cfg.link.aqm = aqm;
        cfg.client.ecn = EcnMode::On;
        cfg.server.ecn = EcnMode::On;
    }
    if let Some(n) = args.flows {
        // More flows repeat the scenario's flows in turn; fewer keep the
        // first ones.
        let template = cfg.flows.clone();
        cfg.flows = (0..usize::from(n))
            .map(|i| template[i % template.len()].clone())
            .collect();
        cfg.faults.retain(|f| f.flow < cfg.flows.len());
        set(true);
    }
    if let Some(cc) = args.cc {
        let cc = match cc {
            CcArg::Reno => CcKind::Reno,
            CcArg::Cubic => CcKind::Cubic,
            CcArg::Bbr => CcKind::Bbr,
        };
        cfg.flows.iter_mut().for_each(|f| f.cc = cc);
        set(true);
    }
    if let Some(b) = args.bytes {
        for f in &mut cfg.flows {
            match &mut f.app {
                AppSpec::Bulk { bytes, .. } | AppSpec::Exchange { bytes, .. } => *bytes = b,
                AppSpec::RequestResponse { .. } => {}
            }
        }
        set(true);
    }
    if let Some(d) = args.duration {
        cfg.duration = d;
        set(true);
    }
    if let Some(m) = args.mtu {
        cfg.link.mtu = usize::from(m);
        set(true);
    }
    if let Some(h) = args.host {
        cfg.host = match h {
            HostArg::Ideal => HostModel::default(),
            HostArg::Tokio => HostModel::TOKIO,
        };
        set(true);
    }
    if let Some(g) = args.timer_granularity {
        cfg.host.timer_granularity = g;
        set(true);
    }
    if let Some(b) = args.receive_batch {
        cfg.host.receive_batch = usize::from(b);
        set(true);
    }
    if let Some(d) = args.receive_delay {
        cfg.host.receive_delay = d;
        set(true);
    }
    if let Some(s) = args.seed {
        set(s != cfg.seed);
        cfg.seed = s;
    }
    if custom {
        catalogue::fit_buffers(&mut cfg);
    }
    if args.pcap.is_some() {
        cfg.capture = Some(CaptureSpec {
            prefix: args.pcap.clone(),
            snaplen: args.snaplen,
        });
    }
    (cfg, overridden)
}

/// Runs to the end, with a progress bar when wanted.
fn run(mut sim: Simulation, progress: bool) -> Report {
    if !progress {
        return sim.run();
    }
    let (_, total) = sim.progress();
    let end = sim.end().total_micros();
    let (len, by_bytes) = match total {
        Some(t) if t > 0 => (t, true),
        _ => (end, false),
    };
    let bar = indicatif::ProgressBar::new(len);
    let style = if by_bytes {
        "{spinner} [{elapsed_precise}] {wide_bar} {decimal_bytes}/{decimal_total_bytes} delivered  {msg}"
    } else {
        "{spinner} [{elapsed_precise}] {wide_bar} {percent}% of the time limit  {msg}"
    };
    if let Ok(s) = indicatif::ProgressStyle::with_template(style) {
        bar.set_style(s);
    }
    // Small virtual steps, so the bar moves even on slow paths.
    let step = Duration::from_millis(50);
    while sim.run_until(sim.now() + step) {
        let (done, _) = sim.progress();
        bar.set_position(if by_bytes {
            done
        } else {
            sim.now().total_micros()
        });
        bar.set_message(format!("t = {:.1} s", secs(sim.now())));
    }
    bar.finish_and_clear();
    sim.finish()
}

fn secs(t: Instant) -> f64 {
    t.total_micros() as f64 / 1e6
}

fn write_metrics(report: &Report, path: &std::path::Path) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        "flow,t,cwnd,ssthresh,srtt_ms,rttvar_ms,rto_ms,bytes_in_flight,pacing_rate,delivered"
    )?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for (i, f) in report.flows.iter().enumerate() {
        for s in &f.series {
            writeln!(
                out,
                "{},{:.6},{},{},{},{:.3},{:.3},{},{},{}",
                i + 1,
                s.t,
                s.cwnd,
                opt(s.ssthresh.map(|v| v.to_string())),
                opt(s.srtt_ms.map(|v| format!("{v:.3}"))),
                s.rttvar_ms,
                s.rto_ms,
                s.bytes_in_flight,
                s.pacing_rate,
                s.delivered
            )?;
        }
    }
    out.flush()
}

fn print_table(report: &Report, verdict: Option<&Result<(), String>>, overridden: bool) {
    let s = &report.summary;
    outln!(
        "{} (seed {}): {:.3} s virtual in {:.3} s wall, {} packets ({:.0}/s)",
        s.scenario,
        s.seed,
        s.virtual_seconds,
        s.wall_seconds,
        report.segments,
        report.segments as f64 / s.wall_seconds.max(1e-9)
    );
    outln!(
        "bottleneck queue ({}): queueing delay mean {:.2} ms, p99 {:.2} ms, {} dropped by CoDel, {} marked CE",
        s.aqm,
        s.queue_delay_ms_mean,
        s.queue_delay_ms_p99,
        report.links[0].dropped_aqm + report.links[1].dropped_aqm,
        report.links[0].ecn_marked + report.links[1].ecn_marked,
    );
    outln!(
        "bottleneck utilisation {:.1} %, Jain's index {:.3}, {} dropped by the queue, {} lost at random, {} corrupted ({} caught)",
        s.link_utilization * 100.0,
        s.jain_index,
        report.links[0].dropped_queue + report.links[1].dropped_queue,
        report.links[0].dropped_loss + report.links[1].dropped_loss,
        report.links[0].corrupted + report.links[1].corrupted,
        report.malformed
    );
    outln!(
        "{:>4} {:>5} {:>12} {:>6} {:>11} {:>6} {:>4} {:>4} {:>8} {:>9} {:>12}  error",
        "flow",
        "cc",
        "delivered",
        "intact",
        "goodput",
        "retx",
        "rto",
        "tlp",
        "srtt",
        "done at",
        "state"
    );
    for (i, f) in s.flows.iter().enumerate() {
        outln!(
            "{:>4} {:>5} {:>12} {:>6} {:>11} {:>6} {:>4} {:>4} {:>8} {:>9} {:>12}  {}",
            i + 1,
            f.cc,
            f.bytes_delivered,
            if f.data_intact { "yes" } else { "NO" },
            format!("{:.2} Mb/s", f.goodput_bps / 1e6),
            f.retransmitted_segments,
            f.rto_timeouts,
            f.tlp_probes,
            f.mean_srtt_ms.map_or("-".into(), |v| format!("{v:.1}ms")),
            f.completion_seconds
                .map_or("-".into(), |v| format!("{v:.3}s")),
            f.final_state,
            f.error.as_deref().unwrap_or("-")
        );
        if let Some(l) = f.latency {
            outln!(
                "     {} requests: mean {:.1} ms, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                l.count,
                l.mean_ms,
                l.p50_ms,
                l.p99_ms,
                l.max_ms
            );
        }
    }
    match verdict {
        Some(Ok(())) => outln!("pass criterion: met"),
        Some(Err(why)) if overridden => {
            outln!("pass criterion (for the scenario as catalogued, not these flags): {why}")
        }
        Some(Err(why)) => outln!("pass criterion: FAILED: {why}"),
        None => {}
    }
}
