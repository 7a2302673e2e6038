//! The mio glue: what the runtime-neutral driver of `synack-driver` runs
//! on when the application's own loop is the reactor.
//!
//! There is no reactor and no timer thread here. The link's descriptor is
//! registered in the application's `Poll` (edge-triggered, readable and
//! writable), so its readiness reaches the driver as "the application
//! called [`Stack::process`](crate::Stack::process)". An operation is
//! therefore simply tried: [`MioIo::poll_io`] runs it and returns
//! `Pending` on `WouldBlock`, and the next edge of the descriptor wakes
//! the application's `poll`. Timers record the instant they wait for; the
//! earliest becomes [`Stack::timeout`](crate::Stack::timeout), which the
//! application hands to `poll`.

use std::cell::Cell;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use synack_driver::runtime::{Interest, Io, Runtime, Timer};

/// The application's mio loop as a [`Runtime`] for `synack-driver`: what
/// the links and the stack of this crate are instantiated with.
#[derive(Clone, Copy, Debug)]
pub struct Mio;

impl Runtime for Mio {
    type Io<T: AsFd + AsRawFd + Send + Sync + 'static> = MioIo<T>;
    type Timer = MioTimer;

    fn now() -> Instant {
        Instant::now()
    }
}

/// A non-blocking descriptor whose readiness the application's `Poll`
/// watches (the stack registers it there; see the [module
/// documentation](self)).
#[derive(Debug)]
pub struct MioIo<T>(T);

impl<T: AsFd + AsRawFd + Send + Sync + 'static> Io<T> for MioIo<T> {
    fn register(io: T) -> io::Result<MioIo<T>> {
        // Registered with the application's Registry later, through the
        // stack's `mio::event::Source` implementation.
        Ok(MioIo(io))
    }

    fn get_ref(&self) -> &T {
        &self.0
    }

    fn poll_io<R>(
        &mut self,
        _cx: &mut Context<'_>,
        _interest: Interest,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        match op(&self.0) {
            // The descriptor's next edge shows up in the application's
            // poll, which then calls `Stack::process`.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
            result => Poll::Ready(result),
        }
    }
}

thread_local! {
    /// The earliest instant a timer asked for while
    /// [`with_deadline`] runs on this thread.
    static EARLIEST: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs `f` (a poll of the driver) and returns, beside its result, the
/// earliest instant any [`MioTimer`] polled inside it waits for. The
/// driver re-polls every timer it needs on each turn, so this is the
/// stack's next deadline. A timer polled on an earlier turn of the same
/// call may have been superseded; then the deadline is early, never late.
pub(crate) fn with_deadline<T>(f: impl FnOnce() -> T) -> (T, Option<Instant>) {
    let outer = EARLIEST.with(|e| e.replace(None));
    let out = f();
    let earliest = EARLIEST.with(|e| e.replace(outer));
    (out, earliest)
}

/// A timer that records the instant it waits for (see [`with_deadline`]);
/// the application's `poll` timeout does the waiting.
#[derive(Debug, Default)]
pub struct MioTimer;

impl Timer for MioTimer {
    /// mio rounds a poll timeout up to whole milliseconds.
    const RESOLUTION: Duration = Duration::from_millis(1);

    fn new() -> MioTimer {
        MioTimer
    }

    fn poll_at(&mut self, _cx: &mut Context<'_>, at: Instant) -> Poll<()> {
        if at <= Instant::now() {
            return Poll::Ready(());
        }
        EARLIEST.with(|e| e.set(Some(e.get().map_or(at, |t| t.min(at)))));
        Poll::Pending
    }
}
