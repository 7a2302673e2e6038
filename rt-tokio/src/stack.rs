//! The stack: a core [`Endpoint`](synack_core::endpoint::Endpoint) and a
//! link, driven by one tokio task.
//!
//! # How the driver works
//!
//! The driver is `synack-driver`'s (see [`synack_driver::stack`] for its
//! turn: receive a batch, feed the core, wake the tasks its events
//! concern, transmit a batch, arm the timer for the next deadline).
//! [`Stack::new`] spawns it on the current tokio runtime, with the link
//! under tokio's reactor ([`AsyncFd`](tokio::io::unix::AsyncFd)), a tokio
//! [`Sleep`](tokio::time::Sleep) for the endpoint's deadline, and tokio's
//! clock, so paused-time tests move the core's time too.
//!
//! The endpoint lives in a `Mutex` shared by the driver task and the
//! application's streams and listeners; nobody holds it across an await.
//! Every queue is bounded: the send batch has a fixed size, and when the
//! link cannot take it the driver stops pulling segments, so unsent data
//! waits in the connections' send buffers, whose size bounds the writers.

use std::io;
use std::net::{IpAddr, SocketAddr};

use crate::link::PacketLink;
use crate::listener::TcpListener;
use crate::runtime::Tokio;
use crate::socket::TcpSocket;
use crate::stream::TcpStream;
use tokio::net::ToSocketAddrs;

pub use synack_driver::StackConfig;

/// A synack TCP stack over one link: the place connections are opened
/// and listeners bound. Cheap to clone; the driver task runs while any
/// clone, listener or stream is alive.
#[derive(Clone, Debug)]
pub struct Stack {
    pub(crate) inner: synack_driver::Stack,
}

synack_driver::stack_accessors!(Stack);

impl Stack {
    /// A stack over `link`, with its driver spawned on the current tokio
    /// runtime (so call it inside one).
    pub fn new<L: PacketLink>(link: L, config: StackConfig) -> io::Result<Stack> {
        let (inner, driver) = synack_driver::Stack::new::<L, Tokio>(link, config)?;
        // The driver's result is also what every operation on the stack
        // reports after a link failure.
        tokio::spawn(driver);
        Ok(Stack { inner })
    }

    /// A stack on a UDP socket bound to `addr` (see
    /// [`link::Udp`](crate::link::Udp) for how TCP addresses map onto UDP
    /// ones), with default settings. Connections are opened from
    /// `addr`'s IP, so give a specific one to connect.
    pub fn udp(addr: SocketAddr) -> io::Result<Stack> {
        Stack::udp_with(addr, StackConfig::default())
    }

    /// Like [`Stack::udp`], with `config`.
    pub fn udp_with(addr: SocketAddr, config: StackConfig) -> io::Result<Stack> {
        Stack::new(crate::link::Udp::bind(addr)?, config)
    }

    /// The link's own address, for a stack on UDP: its socket's address.
    /// A listener bound to this address (same IP, TCP port = UDP port) is
    /// reached by connecting to it from another stack, with no route set
    /// up (see [`link::Udp`](crate::link::Udp)).
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.inner.udp_addr()
    }

    /// A stack on a new TUN device (Linux; needs root or CAP_NET_ADMIN),
    /// reached by the kernel at `local_ip`, an address inside the device's
    /// prefix other than the kernel's own.
    #[cfg(target_os = "linux")]
    pub fn tun(
        device: &synack_link::tun::TunConfig,
        local_ip: IpAddr,
        mut config: StackConfig,
    ) -> io::Result<Stack> {
        let link = crate::link::Tun::create(device)?;
        config.local_ip = Some(local_ip);
        Stack::new(link, config)
    }

    /// Listens on `addr`, like `tokio::net::TcpListener::bind`: `addr`
    /// is anything [`tokio::net::lookup_host`] resolves (a `SocketAddr`,
    /// `"127.0.0.1:8080"`, `("localhost", 80)`…), and the listener is on
    /// the first of its addresses that binds; if none does, the last
    /// error. An unspecified IP listens on every address of its family
    /// the link delivers. Port 0 picks a free port: on UDP, the socket's
    /// own port if no listener has it, so other stacks reach the listener
    /// at its `local_addr()` (see [`synack_driver::Stack::bind`]).
    pub async fn bind<A: ToSocketAddrs>(&self, addr: A) -> io::Result<TcpListener> {
        each_addr(addr, |a| async move { self.bind_addr(a) }).await
    }

    /// Listens on `addr` at once, without resolving (see
    /// [`bind`](Stack::bind)).
    pub fn bind_addr(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        let inner = self.inner.bind(addr)?;
        Ok(TcpListener::new(self.clone(), inner))
    }

    /// Opens a connection to `addr`, like `tokio::net::TcpStream::connect`:
    /// `addr` is anything [`tokio::net::lookup_host`] resolves, and each
    /// of its addresses is tried in turn until one connects; if none
    /// does, the last error. Resolves when the handshake completes. Fails
    /// with `ConnectionRefused` when the peer answers with a reset and
    /// `TimedOut` when it never answers (after the SYN retries).
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<TcpStream> {
        each_addr(addr, |a| async move {
            let inner = self.inner.connect(a).await?;
            Ok(TcpStream::new(inner))
        })
        .await
    }

    /// A socket to set per-connection options on (buffer sizes,
    /// keepalive, linger, user timeout, Nagle, congestion control) before
    /// it connects or listens, like `tokio::net::TcpSocket`; it starts
    /// from the stack's connection settings.
    pub fn socket(&self) -> TcpSocket {
        TcpSocket::new(self)
    }
}

/// Runs `op` on each address `addr` resolves to, in order, until one
/// succeeds; else the last error, or `InvalidInput` if it resolved to
/// nothing (as tokio does).
pub(crate) async fn each_addr<A, T, F, Fut>(addr: A, mut op: F) -> io::Result<T>
where
    A: ToSocketAddrs,
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        match op(a).await {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}
