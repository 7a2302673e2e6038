//! The stack and its driver.

use std::io;
use std::net::{IpAddr, SocketAddr};

use crate::link::PacketLink;
use crate::listener::TcpListener;
use crate::runtime::AsyncIo;
use crate::socket::TcpSocket;
use crate::stream::TcpStream;
use async_net::AsyncToSocketAddrs;

pub use synack_driver::StackConfig;

/// The future that runs a stack over link `L` (see the [crate
/// documentation](crate#the-driver)): spawn it or poll it.
pub type Driver<L> = synack_driver::Driver<L, AsyncIo>;

/// A synack TCP stack over one link: the place connections are opened
/// and listeners bound. Cheap to clone; its [`Driver`] runs while any
/// clone, listener or stream is alive.
#[derive(Clone, Debug)]
pub struct Stack {
    pub(crate) inner: synack_driver::Stack,
}

synack_driver::stack_accessors!(Stack);

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

    /// Listens on `addr`, like `async_net::TcpListener::bind`: `addr` is
    /// anything [`async_net::resolve`] resolves (a `SocketAddr`,
    /// `"127.0.0.1:8080"`, `("localhost", 80)`…; host names are looked up
    /// on `blocking`'s thread pool), and the listener is on the first of
    /// its addresses that binds; if none does, the last error. An
    /// unspecified IP listens on every address of its family the link
    /// delivers. Port 0 picks a free port: on UDP, the socket's own port
    /// if no listener has it, so other stacks reach the listener at its
    /// `local_addr()` (see [`synack_driver::Stack::bind`]).
    pub async fn bind<A: AsyncToSocketAddrs>(&self, addr: A) -> io::Result<TcpListener> {
        let mut last = None;
        for a in async_net::resolve(addr).await? {
            match self.bind_addr(a) {
                Ok(l) => return Ok(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(no_address))
    }

    /// Listens on `addr` at once, without resolving (see
    /// [`bind`](Stack::bind)).
    pub fn bind_addr(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        let inner = self.inner.bind(addr)?;
        Ok(TcpListener::new(self.clone(), inner))
    }

    /// Opens a connection to `addr`, like `async_net::TcpStream::connect`:
    /// `addr` is anything [`async_net::resolve`] resolves, and each of its
    /// addresses is tried in turn until one connects; if none does, the
    /// last error. Resolves when the handshake completes. Fails with
    /// `ConnectionRefused` when the peer answers with a reset and
    /// `TimedOut` when it never answers.
    pub async fn connect<A: AsyncToSocketAddrs>(&self, addr: A) -> io::Result<TcpStream> {
        let mut last = None;
        for a in async_net::resolve(addr).await? {
            match self.inner.connect(a).await {
                Ok(s) => return Ok(TcpStream::new(s)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(no_address))
    }

    /// A socket to set per-connection options on (buffer sizes,
    /// keepalive, linger, user timeout, Nagle, congestion control) before
    /// it connects or listens; it starts from the stack's connection
    /// settings.
    pub fn socket(&self) -> TcpSocket {
        TcpSocket::new(self)
    }
}

/// What an address that resolved to nothing gives, as in `async_net`.
fn no_address() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any address",
    )
}
