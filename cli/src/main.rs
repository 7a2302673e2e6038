//! The `synack` command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo;
mod net;
mod pcap;
mod perf;
mod tun;

/// synack: a sans-I/O TCP, and tools around it.
#[derive(Debug, Parser)]
#[command(name = "synack", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Move data between two synack stacks over UDP on loopback, check
    /// it, and report goodput, RTT and retransmissions.
    Demo(demo::DemoArgs),
    /// Measure throughput or request/response latency, iperf-style,
    /// over UDP, a TUN device or kernel TCP.
    Perf(perf::PerfArgs),
    /// synack on a TUN device, for testing against the kernel's TCP.
    Tun(tun::TunArgs),
    // No doc comment here: it would replace the long help on PcapArgs.
    Pcap(pcap::PcapArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Demo(args) => demo::run(args),
        Command::Perf(args) => perf::run(args),
        Command::Tun(args) => tun::run(args),
        Command::Pcap(args) => pcap::run(&args),
    }
}
