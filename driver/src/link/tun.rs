//! A Linux TUN device as a [`PacketLink`]: whole IP packets in and out.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use synack_link::tun::{TunConfig, TunLink};

use super::{Framing, Incoming, PacketLink, SendBatch};
use crate::runtime::{Interest, Io, Runtime};

/// Packets read per call before the driver gets a turn.
const RECV_BATCH: usize = 64;

/// A TUN device under runtime `R`'s reactor. The kernel side of the device has `kernel_addr/prefix`;
/// the stack uses another address inside the prefix
/// ([`StackConfig::local_ip`](crate::StackConfig::local_ip)), which the
/// kernel routes through the device.
pub struct Tun<R: Runtime> {
    io: R::Io<TunLink>,
    mtu: usize,
    buf: Vec<u8>,
}

impl<R: Runtime> std::fmt::Debug for Tun<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tun")
            .field("mtu", &self.mtu)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> Tun<R> {
    /// Creates the device, gives the kernel side its address and route and
    /// brings it up (needs root or CAP_NET_ADMIN; the error says so when
    /// not permitted). Call it where the runtime's reactor is available
    /// (inside a tokio runtime, for tokio).
    pub fn create(config: &TunConfig) -> io::Result<Tun<R>> {
        Tun::from_link(TunLink::create(config)?)
    }

    /// Takes over a created device.
    pub fn from_link(link: TunLink) -> io::Result<Tun<R>> {
        let mtu = usize::from(link.mtu());
        Ok(Tun {
            io: R::Io::register(link)?,
            mtu,
            buf: vec![0; 65_536],
        })
    }
}

/// The device's descriptor, for a reactor the application owns (mio) to
/// register.
impl<R: Runtime> AsRawFd for Tun<R> {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl<R: Runtime> AsFd for Tun<R> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl<R: Runtime> PacketLink for Tun<R> {
    fn framing(&self) -> Framing {
        Framing::Ip
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
        deliver: &mut dyn FnMut(Incoming<'_>),
    ) -> Poll<io::Result<usize>> {
        let mut delivered = 0;
        while delivered < RECV_BATCH {
            let buf = &mut self.buf;
            match self
                .io
                .poll_io(cx, Interest::Read, |link| link.try_recv(buf))
            {
                Poll::Ready(Ok(n)) => {
                    deliver(Incoming::Ip(&self.buf[..n]));
                    delivered += 1;
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending if delivered > 0 => break,
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(delivered))
    }

    fn poll_send(&mut self, cx: &mut Context<'_>, batch: &mut SendBatch) -> Poll<io::Result<()>> {
        while let Some((_, packet)) = batch.get(0) {
            match self
                .io
                .poll_io(cx, Interest::Write, |link| link.try_send(packet))
            {
                Poll::Ready(Ok(_)) => batch.consume(1),
                // Dropped, as a full or failing device drops.
                Poll::Ready(Err(e)) => {
                    tracing::debug!(error = %e, "TUN write failed: packet dropped");
                    batch.consume(1)
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}
