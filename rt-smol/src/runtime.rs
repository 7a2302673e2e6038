//! The async-io glue: the reactor ([`Async`]), the timer
//! ([`async_io::Timer`]) and the clock (`std::time::Instant`) that the
//! runtime-neutral driver in `synack-driver` runs on.

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use async_io::Async;
use synack_driver::runtime::{Interest, Io, Runtime, Timer};

/// async-io (the reactor under smol and async-std) as a [`Runtime`] for
/// `synack-driver`.
#[derive(Clone, Copy, Debug)]
pub struct AsyncIo;

impl Runtime for AsyncIo {
    type Io<T: AsFd + AsRawFd + Send + Sync + 'static> = AsyncFd<T>;
    type Timer = AsyncTimer;

    fn now() -> Instant {
        Instant::now()
    }
}

/// A descriptor registered with async-io's reactor.
#[derive(Debug)]
pub struct AsyncFd<T: AsFd>(Async<T>);

impl<T: AsFd + AsRawFd + Send + Sync + 'static> Io<T> for AsyncFd<T> {
    fn register(io: T) -> io::Result<AsyncFd<T>> {
        Async::new(io).map(AsyncFd)
    }

    fn get_ref(&self) -> &T {
        self.0.get_ref()
    }

    fn poll_io<R>(
        &mut self,
        cx: &mut Context<'_>,
        interest: Interest,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            match op(self.0.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Ready once an event arrived since the last wait;
                    // otherwise registers the waker (oneshot, re-armed).
                    ready!(match interest {
                        Interest::Read => self.0.poll_readable(cx),
                        Interest::Write => self.0.poll_writable(cx),
                    })?;
                }
                result => return Poll::Ready(result),
            }
        }
    }
}

/// An [`async_io::Timer`], re-armed in place.
#[derive(Debug)]
pub struct AsyncTimer {
    timer: async_io::Timer,
    at: Option<Instant>,
}

impl Timer for AsyncTimer {
    const RESOLUTION: std::time::Duration = std::time::Duration::from_millis(1);

    fn new() -> AsyncTimer {
        AsyncTimer {
            timer: async_io::Timer::never(),
            at: None,
        }
    }

    fn poll_at(&mut self, cx: &mut Context<'_>, at: Instant) -> Poll<()> {
        if at <= Instant::now() {
            return Poll::Ready(());
        }
        if self.at != Some(at) {
            self.timer.set_at(at);
            self.at = Some(at);
        }
        match Pin::new(&mut self.timer).poll(cx) {
            Poll::Ready(_) => {
                // A fired timer is disarmed: the next wait sets it again.
                self.at = None;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
