//! The `synack` command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo;
mod log;
mod mio_loop;
mod net;
mod out;
mod pcap;
mod perf;
mod sim;
mod stats;
mod tun;
mod units;

/// synack: a sans-I/O TCP, and tools to watch it work.
#[derive(Debug, Parser)]
#[command(name = "synack", version, about)]
struct Cli {
    /// Log more on stderr: -v what the stacks do (info), -vv details
    /// (debug), -vvv every event (trace). RUST_LOG, if set, decides
    /// instead (e.g. RUST_LOG=synack_driver=debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
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
    /// Run the deterministic network simulator: a catalogue scenario or a
    /// custom network; captures, metrics and plots on request.
    Sim(sim::SimArgs),
    // No doc comment here: it would replace the long help on PcapArgs.
    Pcap(pcap::PcapArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to stdout as clap prints them.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        // Usage errors: one line that names the flag, status 2.
        Err(e) => {
            let text = e.render().to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: bad arguments"));
            return ExitCode::from(2);
        }
    };
    log::init(cli.verbose);
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Perf(args) => perf::run(args),
        Command::Tun(args) => tun::run(args),
        Command::Sim(args) => sim::main(args),
        Command::Pcap(args) => pcap::run(&args),
    }
}
