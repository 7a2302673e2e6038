//! Report lines on standard output.
//!
//! `println!` panics when stdout fails, which is what happens when the
//! reader went away (`synack sim --list | head`). [`outln!`] writes the
//! same line and, when the pipe's reader has gone, ends the process
//! quietly with status 0, as tcpdump does: nobody is left to read the
//! rest. Any other failure of stdout is reported on stderr with status 2.
//! Every command prints its report only after the files it writes are
//! finished, so stopping here loses nothing.

use std::fmt;
use std::io::{self, Write};
use std::process;

/// `println!` for reports: see the module's docs.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// Writes `args` and a newline on stdout, or ends the process (see the
/// module's docs).
pub fn line(args: fmt::Arguments<'_>) {
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
    {
        stop(&e);
    }
}

/// Ends the process because stdout failed with `e`.
pub fn stop(e: &io::Error) -> ! {
    if e.kind() == io::ErrorKind::BrokenPipe {
        process::exit(0);
    }
    // A failing stderr is ignored rather than turned into a panic.
    let _ = writeln!(io::stderr(), "synack: cannot write output: {e}");
    process::exit(2);
}
