//! synack beside smoltcp in memory: one bulk transfer per run over the
//! same queues and loop (`synack_bench::inmem`), rounds interleaved
//! (synack, smoltcp, synack, smoltcp, …), bytes per wall second as
//! min / median / max, and the ratio of the medians.
//!
//! `cargo bench -p synack-bench --bench inmem -- [--mib N] [--rounds R] [--json]`
//! (defaults: 256 MiB, 3 rounds). `--json` prints one line of JSON after
//! the table. `--only synack` or `--only smoltcp` runs one stack alone
//! and prints its rounds (for a profiler).

use synack_bench::inmem::{BUFFER, MTU, Outcome, SmoltcpPair, SynackPair, run};

fn arg(args: &[String], name: &str) -> Option<u64> {
    let i = args.iter().position(|a| a == name)?;
    let v = args
        .get(i + 1)
        .unwrap_or_else(|| panic!("{name} needs a value"));
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name}: not a number: {v}")),
    )
}

/// Min, median and max of bytes per second.
fn spread(runs: &[Outcome]) -> (f64, f64, f64) {
    let mut v: Vec<f64> = runs.iter().map(Outcome::bytes_per_sec).collect();
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mib = arg(&args, "--mib").unwrap_or(256);
    let rounds = arg(&args, "--rounds").unwrap_or(3).max(1);
    let json = args.iter().any(|a| a == "--json");
    let bytes = mib * 1024 * 1024;
    if let Some(i) = args.iter().position(|a| a == "--only") {
        for _ in 0..rounds {
            let o = match args.get(i + 1).map(String::as_str) {
                Some("synack") => run(&mut SynackPair::new(), bytes),
                Some("smoltcp") => run(&mut SmoltcpPair::new(), bytes),
                other => panic!("--only synack|smoltcp, not {other:?}"),
            };
            println!("{}: {:.0} MB/s", o.name, o.bytes_per_sec() / 1e6);
        }
        return;
    }
    eprintln!(
        "in memory: {mib} MiB one way, MTU {MTU}, {} KiB buffers, {rounds} rounds interleaved",
        BUFFER / 1024
    );
    let (mut synack, mut smol) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        for (runs, o) in [
            (&mut synack, run(&mut SynackPair::new(), bytes)),
            (&mut smol, run(&mut SmoltcpPair::new(), bytes)),
        ] {
            eprintln!(
                "  round {}: {:8} {:.3} s wall, {:.3} s virtual, {} packets → {} ←, {:.0} MB/s",
                r + 1,
                o.name,
                o.wall_secs,
                o.virtual_secs,
                o.packets_to_server,
                o.packets_to_client,
                o.bytes_per_sec() / 1e6
            );
            runs.push(o);
        }
    }
    let (s, m) = (spread(&synack), spread(&smol));
    let mb = |b: f64| format!("{:.0}", b / 1e6);
    println!("| stack | MB per wall second: min | median | max |");
    println!("| --- | --- | --- | --- |");
    println!("| synack | {} | {} | {} |", mb(s.0), mb(s.1), mb(s.2));
    println!("| smoltcp 0.14 | {} | {} | {} |", mb(m.0), mb(m.1), mb(m.2));
    println!("synack ÷ smoltcp (medians): {:.2}", s.1 / m.1);
    if json {
        println!(
            "{{\"bytes\": {bytes}, \"rounds\": {rounds}, \"synack_bps_median\": {}, \"smoltcp_bps_median\": {}, \"ratio\": {}}}",
            s.1 * 8.0,
            m.1 * 8.0,
            s.1 / m.1
        );
    }
}
