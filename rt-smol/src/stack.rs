//! The stack and its driver.

use std::io;
use std::net::{IpAddr, SocketAddr};

use synack_core::FourTuple;
use synack_core::conn::Stats;
use synack_core::endpoint::EndpointStats;

use crate::link::{Framing, PacketLink};
use crate::listener::TcpListener;
use crate::runtime::AsyncIo;
use crate::stream::TcpStream;

pub use synack_driver::StackConfig;

/// The future that runs a stack over link `L` (see the [crate
/// documentation](crate#the-driver)): spawn it or poll it.
pub type Driver<L> = synack_driver::Driver<L, AsyncIo>;

/// A synack TCP stack over one link: the place connections are opened
/// and listeners bound. Cheap to clone; its [`Driver`] runs while any
/// clone, listener or stream is alive.
#[derive(Clone, Debug)]
pub struct Stack {
    inner: synack_driver::Stack,
}

impl Stack {
    /// A stack over `link`, and the driver that must run for it to do
    /// anything.
    pub fn new<L: PacketLink>(link: L, config: StackConfig) -> io::Result<(Stack, Driver<L>)> {
        let (inner, driver) = synack_driver::Stack::new::<L, AsyncIo>(link, config)?;
        Ok((Stack { inner }, driver))
    }

    /// A stack on a UDP socket bound to `addr`, with default settings.
    /// Connections are opened from `addr`'s IP, so give a specific one to
    /// connect.
    pub fn udp(addr: SocketAddr) -> io::Result<(Stack, Driver<crate::link::Udp>)> {
        Stack::udp_with(addr, StackConfig::default())
    }

    /// Like [`Stack::udp`], with `config`.
    pub fn udp_with(
        addr: SocketAddr,
        config: StackConfig,
    ) -> io::Result<(Stack, Driver<crate::link::Udp>)> {
        Stack::new(crate::link::Udp::bind(addr)?, config)
    }

    /// A stack on a new TUN device (Linux; needs root or CAP_NET_ADMIN),
    /// reached by the kernel at `local_ip`, an address inside the device's
    /// prefix other than the kernel's own.
    #[cfg(target_os = "linux")]
    pub fn tun(
        device: &synack_link::tun::TunConfig,
        local_ip: IpAddr,
        mut config: StackConfig,
    ) -> io::Result<(Stack, Driver<crate::link::Tun>)> {
        let link = crate::link::Tun::create(device)?;
        config.local_ip = Some(local_ip);
        Stack::new(link, config)
    }

    /// The link's own address, for a stack on UDP: its socket's address.
    /// A listener bound to this address (same IP, TCP port = UDP port) is
    /// reached by connecting to it from another stack.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.inner.udp_addr()
    }

    /// Listens on `addr`, like `async_net::TcpListener::bind`. An
    /// unspecified IP listens on every address of its family the link
    /// delivers. Port 0 picks a free port: on UDP, the socket's own port
    /// if no listener has it, so other stacks reach the listener at its
    /// `local_addr()` (see [`synack_driver::Stack::bind`]).
    pub fn bind(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        let inner = self.inner.bind(addr)?;
        Ok(TcpListener::new(self.clone(), inner))
    }

    /// Opens a connection to `addr`, like `async_net::TcpStream::connect`:
    /// resolves when the handshake completes. Fails with
    /// `ConnectionRefused` when the peer answers with a reset and
    /// `TimedOut` when it never answers.
    pub async fn connect(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        let inner = self.inner.connect(addr).await?;
        Ok(TcpStream::new(inner))
    }

    /// The address connections are opened from, if the stack has one.
    pub fn local_ip(&self) -> Option<IpAddr> {
        self.inner.local_ip()
    }

    /// The endpoint's counters: connections, TIME-WAIT entries, drops.
    pub fn stats(&self) -> EndpointStats {
        self.inner.stats()
    }

    /// Every connection the stack holds now, with its counters: see
    /// [`synack_driver::Stack::connection_stats`].
    pub fn connection_stats(&self) -> Vec<(FourTuple, Stats)> {
        self.inner.connection_stats()
    }

    /// Whether the link carries IP packets or bare segments.
    pub fn framing(&self) -> Framing {
        self.inner.framing()
    }
}
