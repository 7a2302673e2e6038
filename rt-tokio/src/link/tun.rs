//! A Linux TUN device as a [`PacketLink`]: whole IP packets in and out.

use std::io;
use std::task::{Context, Poll, ready};

use synack_link::tun::{TunConfig, TunLink};
use tokio::io::unix::AsyncFd;

use super::{Framing, Incoming, PacketLink, SendBatch};

/// Packets read per call before the driver gets a turn.
const RECV_BATCH: usize = 64;

/// A TUN device. The kernel side of the device has `kernel_addr/prefix`;
/// the stack uses another address inside the prefix
/// ([`StackConfig::local_ip`](crate::StackConfig::local_ip)), which the
/// kernel routes through the device.
pub struct Tun {
    io: AsyncFd<TunLink>,
    mtu: usize,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Tun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tun")
            .field("mtu", &self.mtu)
            .finish_non_exhaustive()
    }
}

impl Tun {
    /// Creates the device, gives the kernel side its address and route and
    /// brings it up (needs root or CAP_NET_ADMIN; the error says so when
    /// not permitted). Call it inside a tokio runtime.
    pub fn create(config: &TunConfig) -> io::Result<Tun> {
        Tun::from_link(TunLink::create(config)?)
    }

    /// Takes over a created device.
    pub fn from_link(link: TunLink) -> io::Result<Tun> {
        let mtu = usize::from(link.mtu());
        Ok(Tun {
            io: register(link)?,
            mtu,
            buf: vec![0; 65_536],
        })
    }
}

impl PacketLink for Tun {
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
            let mut guard = match self.io.poll_read_ready(cx) {
                Poll::Ready(g) => g?,
                Poll::Pending if delivered > 0 => break,
                Poll::Pending => return Poll::Pending,
            };
            let buf = &mut self.buf;
            match guard.try_io(|io| io.get_ref().try_recv(buf)) {
                Ok(Ok(n)) => {
                    deliver(Incoming::Ip(&self.buf[..n]));
                    delivered += 1;
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => {}
            }
        }
        Poll::Ready(Ok(delivered))
    }

    fn poll_send(&mut self, cx: &mut Context<'_>, batch: &mut SendBatch) -> Poll<io::Result<()>> {
        while let Some((_, packet)) = batch.get(0) {
            match self.io.get_ref().try_send(packet) {
                Ok(_) => batch.consume(1),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let mut guard = ready!(self.io.poll_write_ready(cx))?;
                    guard.clear_ready();
                }
                // Dropped, as a full or failing device drops.
                Err(_) => batch.consume(1),
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// Registers the link with tokio's reactor. `AsyncFd::new` is deprecated
/// for types that might close or swap their descriptor while registered;
/// the link owns its descriptor for its whole life and never replaces it,
/// so the registration stays sound.
#[allow(deprecated)]
fn register<T: std::os::fd::AsRawFd>(link: T) -> io::Result<AsyncFd<T>> {
    AsyncFd::new(link)
}
