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
pub struct AsyncFd<T: AsFd> {
    io: Async<T>,
    /// Per [`Interest`] (read, write): the last operation emptied the
    /// descriptor, so the next one waits for the reactor first.
    drained: [bool; 2],
}

/// The index of `interest` in [`AsyncFd::drained`].
fn slot(interest: Interest) -> usize {
    match interest {
        Interest::Read => 0,
        Interest::Write => 1,
    }
}

impl<T: AsFd> AsyncFd<T> {
    /// async-io's readiness for `interest`: `Ready` once an event arrived
    /// since the last wait, else `Pending` with the waker registered (the
    /// oneshot registration re-armed, which reports a descriptor that is
    /// ready already at once).
    fn poll_ready(&self, cx: &mut Context<'_>, interest: Interest) -> Poll<io::Result<()>> {
        match interest {
            Interest::Read => self.io.poll_readable(cx),
            Interest::Write => self.io.poll_writable(cx),
        }
    }
}

impl<T: AsFd + AsRawFd + Send + Sync + 'static> Io<T> for AsyncFd<T> {
    fn register(io: T) -> io::Result<AsyncFd<T>> {
        Async::new(io).map(|io| AsyncFd {
            io,
            drained: [false; 2],
        })
    }

    fn get_ref(&self) -> &T {
        self.io.get_ref()
    }

    fn poll_io<R>(
        &mut self,
        cx: &mut Context<'_>,
        interest: Interest,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_drain(cx, interest, op, |_| false)
    }

    /// The operation is tried first (async-io reports only events that
    /// arrive after a wait began), except after a result `drained` said
    /// emptied the descriptor: then the reactor is asked first, as after
    /// `WouldBlock`. Its registration is re-armed with `epoll_ctl`, which
    /// reports at once what arrived after the operation ran.
    fn poll_io_drain<R>(
        &mut self,
        cx: &mut Context<'_>,
        interest: Interest,
        mut op: impl FnMut(&T) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        let i = slot(interest);
        if self.drained[i] {
            ready!(self.poll_ready(cx, interest))?;
            self.drained[i] = false;
        }
        loop {
            match op(self.io.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Ready once an event arrived since the last wait;
                    // otherwise registers the waker (oneshot, re-armed).
                    ready!(self.poll_ready(cx, interest))?;
                }
                Ok(result) => {
                    self.drained[i] = drained(&result);
                    return Poll::Ready(Ok(result));
                }
                Err(e) => return Poll::Ready(Err(e)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use synack_link::udp::UdpLink;
    use synack_testkit::readiness;

    #[test]
    fn a_drained_descriptor_wakes_for_what_arrives_after() {
        let check =
            readiness::a_drained_descriptor_wakes_for_what_arrives_after::<AsyncFd<UdpLink>>();
        let give_up = async {
            async_io::Timer::after(std::time::Duration::from_secs(10)).await;
            panic!("a datagram that arrived after the drain was never reported");
        };
        async_io::block_on(futures_lite::future::or(check, give_up));
    }
}
