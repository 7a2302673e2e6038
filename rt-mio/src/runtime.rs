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
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
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
pub struct MioIo<T> {
    io: T,
    /// The [`pass`](with_deadline) in which an operation last emptied the
    /// descriptor for reading: no receive is tried again in that pass.
    drained_in: Option<u64>,
}

impl<T: AsFd + AsRawFd + Send + Sync + 'static> Io<T> for MioIo<T> {
    fn register(io: T) -> io::Result<MioIo<T>> {
        // Registered with the application's Registry later, through the
        // stack's `mio::event::Source` implementation.
        Ok(MioIo {
            io,
            drained_in: None,
        })
    }

    fn get_ref(&self) -> &T {
        &self.io
    }

    fn poll_io<R>(
        &mut self,
        _cx: &mut Context<'_>,
        _interest: Interest,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        match op(&self.io) {
            // The descriptor's next edge shows up in the application's
            // poll, which then calls `Stack::process`.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
            result => Poll::Ready(result),
        }
    }

    /// A read that `drained` says emptied the descriptor is not tried
    /// again in the same pass (one call of `Stack::process`): anything
    /// that arrives after it is an edge the application's next `poll`
    /// reports, and that `process` call is a new pass. Writes are always
    /// tried.
    fn poll_io_drain<R>(
        &mut self,
        cx: &mut Context<'_>,
        interest: Interest,
        op: impl FnMut(&T) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        if interest == Interest::Write {
            return self.poll_io(cx, interest, op);
        }
        let pass = PASS.with(Cell::get);
        if self.drained_in == Some(pass) {
            return Poll::Pending;
        }
        let result = ready!(self.poll_io(cx, interest, op));
        self.drained_in = match &result {
            // Outside a pass (0) nothing marks the end of one: keep trying.
            Ok(r) if pass != 0 && drained(r) => Some(pass),
            _ => None,
        };
        Poll::Ready(result)
    }
}

thread_local! {
    /// The earliest instant a timer asked for while `with_deadline`
    /// runs on this thread.
    static EARLIEST: Cell<Option<Instant>> = const { Cell::new(None) };
    /// The pass `with_deadline` runs on this thread (from [`PASSES`]).
    static PASS: Cell<u64> = const { Cell::new(0) };
}

/// Numbers passes: each has its own, on any thread, so a stack that
/// moves between threads never takes a new pass for an old one.
static PASSES: AtomicU64 = AtomicU64::new(1);

/// Runs `f` (a poll of the driver) and returns, beside its result, the
/// earliest instant any [`MioTimer`] polled inside it waits for. The
/// driver re-polls every timer it needs on each turn, so this is the
/// stack's next deadline. A timer polled on an earlier turn of the same
/// call may have been superseded; then the deadline is early, never late.
///
/// Each call is a new pass: a descriptor that [`MioIo::poll_io_drain`]
/// found emptied in an earlier pass is tried again.
pub(crate) fn with_deadline<T>(f: impl FnOnce() -> T) -> (T, Option<Instant>) {
    let pass = PASSES.fetch_add(1, Ordering::Relaxed);
    let outer_pass = PASS.with(|p| p.replace(pass));
    let outer = EARLIEST.with(|e| e.replace(None));
    let out = f();
    let earliest = EARLIEST.with(|e| e.replace(outer));
    PASS.with(|p| p.set(outer_pass));
    (out, earliest)
}

/// A timer that records the instant it waits for, to become
/// [`Stack::timeout`](crate::Stack::timeout); the application's `poll`
/// does the waiting.
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;
    use synack_link::udp::UdpLink;
    use synack_testkit::readiness::recv_batch_of_four;

    /// A receive that came back short is not tried again in its pass, and
    /// the next pass receives what arrived in between.
    #[test]
    fn a_drained_descriptor_is_read_again_in_the_next_pass() {
        let mut io =
            MioIo::register(UdpLink::bind("127.0.0.1:0".parse().unwrap()).unwrap()).unwrap();
        let to = io.get_ref().local_addr().unwrap();
        let drains = io.get_ref().short_recv_drains();
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        let mut poll = |io: &mut MioIo<UdpLink>| {
            io.poll_io_drain(&mut cx, Interest::Read, recv_batch_of_four, |&n| {
                drains && n < 4
            })
        };
        for _ in 0..3 {
            peer.send_to(b"x", to).unwrap();
            let ((), _) = with_deadline(|| {
                assert!(matches!(poll(&mut io), Poll::Ready(Ok(1))));
                peer.send_to(b"y", to).unwrap();
                // Queued, but this pass already found the socket empty
                // (where a short batch says so).
                assert_eq!(poll(&mut io).is_pending(), drains);
            });
            let ((), _) = with_deadline(|| {
                if drains {
                    assert!(matches!(poll(&mut io), Poll::Ready(Ok(1))));
                }
                assert!(poll(&mut io).is_pending());
            });
        }
        // Outside a pass every receive is tried.
        peer.send_to(b"z", to).unwrap();
        assert!(matches!(poll(&mut io), Poll::Ready(Ok(1))));
        peer.send_to(b"z", to).unwrap();
        assert!(matches!(poll(&mut io), Poll::Ready(Ok(1))));
    }
}
