//! Where the libraries' `tracing` events go: stderr, filtered by `-v` or
//! `RUST_LOG`. Without `-v` only warnings and errors are shown (a link
//! error, a driver that stopped), so a run's normal output stays clean.

use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber: `RUST_LOG` if set, else the level
/// `verbose` (`-v` count) asks for.
pub fn init(verbose: u8) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => EnvFilter::new(spec),
        _ => EnvFilter::new(match verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }),
    };
    // A second subscriber (tests that run main twice) is not an error
    // worth stopping for.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .try_init();
}
