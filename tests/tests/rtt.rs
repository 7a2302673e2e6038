//! RTT measurement on a sub-millisecond path, end to end: with
//! timestamps, samples come from send times as without them, so SRTT,
//! min-RTT and everything scaled by them (RACK's reordering window, the
//! tail loss probe, pacing) behave the same either way.

use synack_core::Duration;
use synack_sim::catalogue::{custom, fit_buffers};
use synack_sim::{FlowSummary, LossModel, run};

/// 1 Gbit/s, 200 µs RTT, 1 % random loss and 0.5 % of packets held back
/// a quarter RTT, each way; 20 MB, seed 1.
fn lossy_sub_ms(timestamps: bool) -> FlowSummary {
    let mut cfg = custom(20_000_000);
    cfg.link.rate_bps = 1_000_000_000;
    cfg.link.rtt = Duration::from_micros(200);
    for d in [&mut cfg.link.forward, &mut cfg.link.reverse] {
        d.loss = LossModel::Bernoulli(0.01);
        d.reorder = 0.005;
        d.reorder_delay = Duration::from_micros(50);
    }
    cfg.client.timestamps = timestamps;
    cfg.server.timestamps = timestamps;
    fit_buffers(&mut cfg);
    let r = run(cfg).expect("runs");
    let f = r.summary.flows[0].clone();
    assert!(f.data_intact, "{f:?}");
    f
}

#[test]
fn timestamps_do_not_coarsen_rtt_on_a_sub_millisecond_path() {
    let on = lossy_sub_ms(true);
    let off = lossy_sub_ms(false);
    eprintln!(
        "timestamps on: {} retransmitted, {} spurious, {} TLPs, min RTT {:?} ms, mean SRTT {:?} ms",
        on.retransmitted_segments,
        on.spurious_retransmissions,
        on.tlp_probes,
        on.min_rtt_ms,
        on.mean_srtt_ms
    );
    eprintln!(
        "timestamps off: {} retransmitted, {} spurious, {} TLPs, min RTT {:?} ms, mean SRTT {:?} ms",
        off.retransmitted_segments,
        off.spurious_retransmissions,
        off.tlp_probes,
        off.min_rtt_ms,
        off.mean_srtt_ms
    );
    let min = on.min_rtt_ms.expect("measured");
    assert!((0.2..0.25).contains(&min), "min RTT {min} ms");
    // The same RTT estimates give about the same recovery: within a
    // quarter (plus a few) of the run without timestamps.
    let near = |a: u64, b: u64| a * 4 <= b * 5 + 20;
    assert!(
        near(on.retransmitted_segments, off.retransmitted_segments),
        "{on:?} vs {off:?}"
    );
    assert!(
        near(on.spurious_retransmissions, off.spurious_retransmissions),
        "{on:?} vs {off:?}"
    );
}
