//! `synack tun`.
use clap::Args;
use std::process::ExitCode;
/// Arguments of `synack tun`.
#[derive(Debug, Args)]
pub struct TunArgs {}
pub fn run(_: TunArgs) -> ExitCode {
    ExitCode::FAILURE
}
