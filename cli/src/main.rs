//! The `synack` command.

mod sim;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// synack: a sans-I/O TCP, and tools to watch it work.
#[derive(Parser, Debug)]
#[command(name = "synack", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the deterministic network simulator: a catalogue scenario or a
    /// custom network; captures, metrics and plots on request.
    Sim(sim::SimArgs),
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
    match cli.command {
        Command::Sim(args) => sim::main(args),
    }
}
