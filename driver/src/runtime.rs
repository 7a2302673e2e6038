//! What an adapter gives the driver: its reactor, its timer and its clock.
//!
//! This is the whole of the runtime glue. An adapter implements
//! [`Runtime`] on a marker type, with an [`Io`] (a non-blocking
//! descriptor registered with its reactor) and a [`Timer`]; everything
//! else — links, the driver's turn, the slot table, streams and
//! listeners — is generic over it or needs no runtime at all.

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::task::{Context, Poll};
use std::time::Instant;

/// A runtime's reactor, timer and clock.
pub trait Runtime: Send + Sync + Sized + 'static {
    /// A descriptor registered with the runtime's reactor.
    type Io<T: AsFd + AsRawFd + Send + Sync + 'static>: Io<T>;
    /// A resettable timer of the runtime.
    type Timer: Timer;

    /// The runtime's clock. A runtime whose clock can be paused or
    /// advanced in tests (tokio's) returns its own idea of now here, so
    /// the core's time follows it.
    fn now() -> Instant;
}

/// Which readiness an operation waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// The descriptor has something to read.
    Read,
    /// The descriptor has room to write.
    Write,
}

/// A non-blocking descriptor under a reactor.
pub trait Io<T>: Send + 'static {
    /// Registers `io` (already non-blocking) with the reactor.
    fn register(io: T) -> io::Result<Self>
    where
        Self: Sized;

    /// The descriptor's owner.
    fn get_ref(&self) -> &T;

    /// Runs the non-blocking operation `op` until it gives something other
    /// than `WouldBlock`, waiting for `interest` in between: `Pending`
    /// (with `cx`'s waker registered) when the descriptor is not ready,
    /// else what `op` returned. Each runtime has its own readiness
    /// protocol; this is where it lives.
    fn poll_io<R>(
        &mut self,
        cx: &mut Context<'_>,
        interest: Interest,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>>;

    /// [`poll_io`](Io::poll_io) for an operation that can tell from its
    /// own result that it left the descriptor empty (a batched receive
    /// that came back with fewer datagrams than it had room for: the
    /// kernel stopped at `EAGAIN`). When `drained` says so of a
    /// successful result, the runtime treats the descriptor as not ready
    /// for `interest`, as if the operation had been tried once more and
    /// returned `WouldBlock`: the next call waits for the reactor's next
    /// event instead of making a system call that would find nothing.
    ///
    /// The runtime must keep its no-lost-wake-up guarantee: anything that
    /// arrives after the operation ran still wakes `cx`'s waker. The
    /// default ignores `drained`.
    fn poll_io_drain<R>(
        &mut self,
        cx: &mut Context<'_>,
        interest: Interest,
        op: impl FnMut(&T) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        let _ = drained;
        self.poll_io(cx, interest, op)
    }
}

/// A timer that can be re-armed.
pub trait Timer: Send + Unpin + 'static {
    /// The finest wait the timer honours; deadlines nearer than this are
    /// waited for by yielding when `StackConfig::precise_timers` is on.
    const RESOLUTION: std::time::Duration;

    /// A timer that is not armed.
    fn new() -> Self;

    /// `Ready` once `at` has passed; otherwise arms the timer for `at`
    /// (re-arming it if it was set for another instant) and wakes `cx`'s
    /// waker then.
    fn poll_at(&mut self, cx: &mut Context<'_>, at: Instant) -> Poll<()>;
}
