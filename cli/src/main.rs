//! The `synack` command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod pcap;

/// synack: a sans-I/O TCP, and tools around it.
#[derive(Debug, Parser)]
#[command(name = "synack", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    // No doc comment here: it would replace the long help on PcapArgs.
    Pcap(pcap::PcapArgs),
}

fn main() -> ExitCode {
    // clap prints its own usage errors and exits with status 2.
    match Cli::parse().command {
        Command::Pcap(args) => pcap::run(&args),
    }
}
