//! The tokio glue: the reactor ([`AsyncFd`]), the timer ([`Sleep`]) and
//! the clock (tokio's, so paused-time tests move the stack's time too)
//! that the runtime-neutral driver in `synack-driver` runs on.

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use synack_driver::runtime::{Interest, Io, Runtime, Timer};
use tokio::io::unix::AsyncFd;
use tokio::time::Sleep;

/// tokio as a [`Runtime`] for `synack-driver`: what the links and stacks
/// of this crate are instantiated with.
#[derive(Clone, Copy, Debug)]
pub struct Tokio;

impl Runtime for Tokio {
    type Io<T: AsFd + AsRawFd + Send + Sync + 'static> = TokioIo<T>;
    type Timer = TokioTimer;

    fn now() -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

/// A descriptor registered with tokio's reactor.
#[derive(Debug)]
pub struct TokioIo<T: AsRawFd>(AsyncFd<T>);

impl<T: AsFd + AsRawFd + Send + Sync + 'static> Io<T> for TokioIo<T> {
    /// Registers `io` with the reactor of the tokio runtime the caller is
    /// in. `AsyncFd::new` is deprecated for types that might close or
    /// swap their descriptor while registered; synack's links own their
    /// descriptor for their whole life and never replace it, so the
    /// registration stays sound.
    #[allow(deprecated)]
    fn register(io: T) -> io::Result<TokioIo<T>> {
        AsyncFd::new(io).map(TokioIo)
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
            let mut guard = ready!(match interest {
                Interest::Read => self.0.poll_read_ready(cx),
                Interest::Write => self.0.poll_write_ready(cx),
            })?;
            // `try_io` clears the readiness on `WouldBlock`; then wait for
            // the next edge.
            match guard.try_io(|fd| op(fd.get_ref())) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    /// After a result `drained` says emptied the descriptor, its readiness
    /// is cleared as `try_io` clears it on `WouldBlock` (tokio's own
    /// streams do the same after a short read). tokio clears only if the
    /// reactor delivered no event since the guard was taken, and an event
    /// after the clear sets readiness again, so what arrives after the
    /// operation still wakes the task.
    fn poll_io_drain<R>(
        &mut self,
        cx: &mut Context<'_>,
        interest: Interest,
        mut op: impl FnMut(&T) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        loop {
            let mut guard = ready!(match interest {
                Interest::Read => self.0.poll_read_ready(cx),
                Interest::Write => self.0.poll_write_ready(cx),
            })?;
            match guard.try_io(|fd| op(fd.get_ref())) {
                Ok(Ok(result)) => {
                    if drained(&result) {
                        guard.clear_ready();
                    }
                    return Poll::Ready(Ok(result));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

/// A tokio [`Sleep`], re-armed in place; created on first use, so a link
/// that holds one can be built outside a runtime.
#[derive(Debug, Default)]
pub struct TokioTimer {
    sleep: Option<Pin<Box<Sleep>>>,
    at: Option<Instant>,
}

impl Timer for TokioTimer {
    const RESOLUTION: std::time::Duration = std::time::Duration::from_millis(1);

    fn new() -> TokioTimer {
        TokioTimer::default()
    }

    fn poll_at(&mut self, cx: &mut Context<'_>, at: Instant) -> Poll<()> {
        let deadline = tokio::time::Instant::from_std(at);
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if self.at != Some(at) {
            sleep.as_mut().reset(deadline);
            self.at = Some(at);
        }
        sleep.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use synack_link::udp::UdpLink;
    use synack_testkit::readiness;

    #[tokio::test]
    async fn a_drained_descriptor_wakes_for_what_arrives_after() {
        let check =
            readiness::a_drained_descriptor_wakes_for_what_arrives_after::<TokioIo<UdpLink>>();
        tokio::time::timeout(std::time::Duration::from_secs(10), check)
            .await
            .expect("a datagram that arrived after the drain was never reported");
    }
}
