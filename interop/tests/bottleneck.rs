//! Linux congestion controllers (reno, cubic, bbr) against synack's
//! NewReno and CUBIC at one shared bottleneck: a 20 Mbit/s token bucket
//! with a 100 kB queue between two namespaces, both flows sending through
//! it for 12 s. Each flow's goodput, share and Jain's index are printed;
//! only robust things are asserted (every byte arrives checked, each flow
//! gets a real share).

use std::time::Duration;

use synack_core::cc::CcAlgorithm;
use synack_interop::env;
use synack_interop::topo::{BottleneckSpec, bottleneck, kernel_has_cc};

fn pairing(kernel_cc: &str, synack_cc: CcAlgorithm, synack_name: &str) {
    let case = format!("cc-{kernel_cc}-{synack_name}");
    if !env::ready(&case) {
        return;
    }
    if !synack_testkit::require(&case, &[synack_testkit::Need::Tool("tc")]) {
        return;
    }
    if !kernel_has_cc(kernel_cc) {
        // The running kernel lacks the module: a skip, except under CI,
        // where a pairing that never runs would go unnoticed.
        synack_testkit::skip(
            &case,
            &format!("the kernel offers no {kernel_cc} (modprobe tcp_{kernel_cc} failed)"),
        );
        return;
    }
    let spec = BottleneckSpec {
        case: case.clone(),
        kernel_cc: kernel_cc.into(),
        synack_cc,
        rate_mbit: 20,
        queue_bytes: 100_000,
        duration: Duration::from_secs(12),
    };
    let started = std::time::Instant::now();
    let r = bottleneck(&spec);
    for (i, f) in r.flows.iter().enumerate() {
        eprintln!(
            "[interop] {case}: {:<14} {:>6.2} Mbit/s  share {:>5.1} %  ({} bytes)",
            f.label,
            f.mbit_per_s,
            100.0 * r.share(i),
            f.bytes
        );
    }
    let total: f64 = r.flows.iter().map(|f| f.mbit_per_s).sum();
    eprintln!(
        "[interop] SUMMARY {case}: ok in {:.1} s; {} {:.1} % / {} {:.1} %, Jain {:.3}, link use {:.0} % of {} Mbit/s",
        started.elapsed().as_secs_f64(),
        r.flows[0].label,
        100.0 * r.share(0),
        r.flows[1].label,
        100.0 * r.share(1),
        r.jain,
        100.0 * total / f64::from(r.rate_mbit),
        r.rate_mbit
    );
    for i in 0..2 {
        assert!(
            r.share(i) > 0.02,
            "{case}: {} got only {:.1} % of the link",
            r.flows[i].label,
            100.0 * r.share(i)
        );
    }
}

#[test]
fn kernel_reno_vs_synack_newreno() {
    pairing("reno", CcAlgorithm::NewReno, "newreno");
}

#[test]
fn kernel_reno_vs_synack_cubic() {
    pairing("reno", CcAlgorithm::Cubic, "cubic");
}

#[test]
fn kernel_cubic_vs_synack_newreno() {
    pairing("cubic", CcAlgorithm::NewReno, "newreno");
}

#[test]
fn kernel_cubic_vs_synack_cubic() {
    pairing("cubic", CcAlgorithm::Cubic, "cubic");
}

#[test]
fn kernel_bbr_vs_synack_newreno() {
    pairing("bbr", CcAlgorithm::NewReno, "newreno");
}

#[test]
fn kernel_bbr_vs_synack_cubic() {
    pairing("bbr", CcAlgorithm::Cubic, "cubic");
}
