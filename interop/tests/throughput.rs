//! synack↔kernel beside kernel↔kernel over TUN paths, measured in the
//! same run (a measurement: only completion and tshark's verdict are
//! asserted). For release-mode numbers:
//! `cargo run --release -p synack-interop --example throughput -- 1G`.

use synack_interop::env;
use synack_interop::topo::throughput;

#[test]
fn synack_and_kernel_beside_kernel_and_kernel() {
    let case = "throughput";
    if !env::ready(case) {
        return;
    }
    let started = std::time::Instant::now();
    let rows = throughput(case, 50_000_000);
    let line: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {:.0} Mbit/s", r.label, r.mbit_per_s))
        .collect();
    eprintln!(
        "[interop] SUMMARY {case}: ok in {:.1} s; {}",
        started.elapsed().as_secs_f64(),
        line.join("; ")
    );
}
