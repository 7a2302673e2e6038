//! Every catalogue scenario against its pass criterion. The slow ones are
//! ignored here and run in release from `.ci/run`
//! (`cargo test --release -p synack-sim -- --ignored`).

use synack_sim::catalogue::{catalogue, find};
use synack_sim::sim::run;

fn check(name: &str) {
    let scenario = find(name).unwrap_or_else(|| panic!("no scenario {name}"));
    let report = run(scenario.config()).expect("catalogue configurations are valid");
    if let Err(why) = (scenario.check)(&report) {
        panic!("{name}: {why}\n{}", report.summary.to_json());
    }
}

macro_rules! scenarios {
    ($($test:ident = $name:literal;)*) => {
        $(#[test] fn $test() { check($name); })*

        #[test]
        fn every_scenario_has_a_test() {
            let tested = [
                $($name,)* "long-fat-path", "host-batching", "ecn-codel",
                "bbr-random-loss", "bbr-deep-buffer", "bbr-vs-cubic",
            ];
            for s in catalogue() {
                assert!(tested.contains(&s.name), "{} has no test", s.name);
            }
        }
    };
}

scenarios! {
    handshake_syn_loss = "handshake-syn-loss";
    handshake_synack_loss = "handshake-synack-loss";
    handshake_ack_loss = "handshake-ack-loss";
    early_loss = "early-loss";
    mid_loss = "mid-loss";
    tail_loss = "tail-loss";
    burst_loss = "burst-loss";
    random_loss_1 = "random-loss-1";
    random_loss_3 = "random-loss-3";
    random_loss_10 = "random-loss-10";
    random_loss_30 = "random-loss-30";
    reorder = "reorder";
    duplicate = "duplicate";
    corrupt = "corrupt";
    zero_window = "zero-window";
    tiny_buffers = "tiny-buffers";
    seq_wrap = "seq-wrap";
    blackhole_short = "blackhole-short";
    blackhole_long = "blackhole-long";
    simultaneous_open = "simultaneous-open";
    simultaneous_close = "simultaneous-close";
    flows_2 = "flows-2";
    flows_4 = "flows-4";
    flows_8 = "flows-8";
    reno_vs_cubic = "reno-vs-cubic";
    rtt_unfairness = "rtt-unfairness";
    short_flows = "short-flows";
    request_response = "request-response";
    codel_deep_buffer = "codel-deep-buffer";
    fq_codel_flows = "fq-codel-flows";
    keepalive_idle = "keepalive-idle";
}

#[test]
#[ignore = "slow: 500 MB at 1 Gbit/s; runs in release from .ci/run"]
fn long_fat_path() {
    check("long-fat-path");
}

#[test]
#[ignore = "slow: 100 MB at 10 Gbit/s; runs in release from .ci/run"]
fn host_batching() {
    check("host-batching");
}

#[test]
#[ignore = "slow: 60 virtual seconds at 100 Mbit/s; runs in release from .ci/run"]
fn bbr_random_loss() {
    check("bbr-random-loss");
}

#[test]
#[ignore = "slow: two 30 s runs at 100 Mbit/s; runs in release from .ci/run"]
fn bbr_deep_buffer() {
    check("bbr-deep-buffer");
}

#[test]
#[ignore = "slow: 60 virtual seconds at 100 Mbit/s; runs in release from .ci/run"]
fn bbr_vs_cubic() {
    check("bbr-vs-cubic");
}

#[test]
#[ignore = "slow: 2 flows for 120 s at 100 Mbit/s; runs in release from .ci/run"]
fn ecn_codel() {
    check("ecn-codel");
}
