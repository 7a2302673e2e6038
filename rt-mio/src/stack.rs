//! The stack, run by the application's mio loop.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use crate::event::{Events, ReadyQueue};
use crate::link::PacketLink;
use crate::listener::TcpListener;
use crate::runtime::{self, Mio};
use crate::stream::TcpStream;

pub use synack_driver::StackConfig;

/// The driver, whatever its link.
type Driver = Box<dyn Future<Output = io::Result<()>> + Send + Unpin>;

/// A synack TCP stack over one link, run by the application's mio loop:
/// see the [crate documentation](crate) for the loop.
///
/// It is a [`mio::event::Source`]: register it in the application's
/// `Registry` under a token of the application's choosing, then on every
/// turn of the loop give `poll` the stack's [`timeout`](Stack::timeout)
/// and afterwards call [`process`](Stack::process), which runs the stack
/// and reports which of its streams and listeners became ready.
///
/// Dropping the stack stops it: its connections end without another
/// packet, and operations on streams and listeners still held fail. To
/// let connections finish first (streams dropped with data still to
/// deliver), keep running the loop until `stats().connections` is 0.
pub struct Stack {
    inner: synack_driver::Stack,
    /// `None` once it has stopped (the link failed).
    driver: Option<Driver>,
    stopped: Option<(io::ErrorKind, String)>,
    fd: RawFd,
    kick: Arc<Kick>,
    kick_waker: Waker,
    ready: Arc<ReadyQueue>,
    /// The earliest instant the driver's timers wait for, as of the last
    /// `process`.
    deadline: Option<Instant>,
}

synack_driver::stack_accessors!(Stack);

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("link", &self.inner.udp_addr())
            .field("local_ip", &self.inner.local_ip())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Records that the driver asked to run again: a stream or listener
/// changed something it must act on, or it stopped with work left.
#[derive(Debug)]
struct Kick(AtomicBool);

impl Wake for Kick {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

impl Stack {
    /// A stack over `link`. Nothing happens until it is registered in a
    /// `Poll` and the loop calls [`process`](Stack::process). The link's
    /// descriptor (`AsRawFd`) is what the stack registers.
    pub fn new<L: PacketLink + AsRawFd>(link: L, config: StackConfig) -> io::Result<Stack> {
        let fd = link.as_raw_fd();
        let (inner, driver) = synack_driver::Stack::new::<L, Mio>(link, config)?;
        // Set, so the first `timeout` is zero and the driver gets its
        // first turn.
        let kick = Arc::new(Kick(AtomicBool::new(true)));
        Ok(Stack {
            inner,
            driver: Some(Box::new(driver)),
            stopped: None,
            fd,
            kick_waker: Waker::from(kick.clone()),
            kick,
            ready: Arc::new(ReadyQueue::default()),
            deadline: None,
        })
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

    /// Runs the stack; call it after every `poll` (it is cheap when there
    /// is nothing to do): receives what the link has, runs the timers
    /// that are due, sends what the connections have to send, and fills
    /// `events` (cleared first) with the streams and listeners that became
    /// ready. It does a bounded amount of work per call; when more is
    /// left, [`timeout`](Stack::timeout) is zero.
    ///
    /// Fails with the link's error if the link failed; the stack has then
    /// stopped (its streams fail too, and `events` reports them ready so
    /// the application finds out).
    pub fn process(&mut self, events: &mut Events) -> io::Result<()> {
        events.clear();
        let result = self.run_driver();
        self.ready.drain_into(events);
        result
    }

    fn run_driver(&mut self) -> io::Result<()> {
        let Some(driver) = self.driver.as_mut() else {
            let (kind, msg) = self
                .stopped
                .clone()
                .unwrap_or((io::ErrorKind::NotConnected, "synack stack stopped".into()));
            return Err(io::Error::new(kind, msg));
        };
        self.kick.0.store(false, Ordering::Release);
        let mut cx = Context::from_waker(&self.kick_waker);
        let (poll, deadline) = runtime::with_deadline(|| Pin::new(driver).poll(&mut cx));
        self.deadline = deadline;
        match poll {
            Poll::Pending => Ok(()),
            Poll::Ready(result) => {
                // Only the link's failure ends the driver while this
                // handle lives.
                let e = result.err().unwrap_or_else(|| {
                    io::Error::new(io::ErrorKind::NotConnected, "synack stack stopped")
                });
                self.stopped = Some((e.kind(), e.to_string()));
                self.driver = None;
                self.deadline = None;
                Err(e)
            }
        }
    }

    /// How long `poll` may wait before the stack must run again: zero when
    /// it has work now (a stream wrote, or events wait to be handed out),
    /// the time to its next timer, or `None` when only the link's
    /// readiness can give it work. Pass it to `mio::Poll::poll`.
    pub fn timeout(&self) -> Option<Duration> {
        if self.kick.0.load(Ordering::Acquire) || !self.ready.is_empty() {
            return Some(Duration::ZERO);
        }
        self.deadline
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// The link's own address, for a stack on UDP: its socket's address.
    /// A listener bound to this address (same IP, TCP port = UDP port) is
    /// reached by connecting to it from another stack, with no route set
    /// up (see [`link::Udp`](crate::link::Udp)).
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.inner.udp_addr()
    }

    /// Listens on `addr`, like `mio::net::TcpListener::bind`. Port 0 picks
    /// a free port. An unspecified IP listens on every address of its
    /// family the link delivers.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        let inner = self.inner.bind(addr)?;
        Ok(TcpListener::new(inner, &self.ready))
    }

    /// Starts opening a connection to `addr` and returns at once, like
    /// `mio::net::TcpStream::connect`: register the stream and wait for
    /// it to become writable, then [`take_error`](TcpStream::take_error)
    /// says whether the handshake failed (`ConnectionRefused` when the
    /// peer answered with a reset, `TimedOut` when it never answered) and
    /// [`peer_addr`](TcpStream::peer_addr) succeeds once it is connected.
    /// Data written before then waits for the handshake.
    pub fn connect(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        let inner = self.inner.start_connect(addr)?;
        Ok(TcpStream::new(inner, &self.ready))
    }

    /// A socket to set per-connection options on (buffer sizes,
    /// keepalive, linger, user timeout, Nagle, congestion control) before
    /// it connects or listens; it starts from the stack's connection
    /// settings.
    pub fn socket(&self) -> TcpSocket {
        TcpSocket {
            inner: self.inner.socket(),
            ready: self.ready.clone(),
        }
    }
}

/// Registers the link's descriptor. The stack always asks for readable
/// and writable (edge-triggered), whatever `interests` says: it reads
/// packets, and waits for room when the socket's buffer is full.
impl Source for Stack {
    fn register(&mut self, registry: &Registry, token: Token, _: Interest) -> io::Result<()> {
        SourceFd(&self.fd).register(registry, token, Interest::READABLE | Interest::WRITABLE)
    }

    fn reregister(&mut self, registry: &Registry, token: Token, _: Interest) -> io::Result<()> {
        SourceFd(&self.fd).reregister(registry, token, Interest::READABLE | Interest::WRITABLE)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.fd).deregister(registry)
    }
}

/// A socket of a synack [`Stack`] whose options are set before it
/// connects or listens (made by [`Stack::socket`]). The options are the
/// driver's [`Socket`](synack_driver::Socket)'s, reached through
/// [`options_mut`](TcpSocket::options_mut); they are checked when the
/// socket connects or listens, and a bad one fails with `InvalidInput`
/// whose inner error is the core's `EndpointError::InvalidConfig`,
/// naming the field.
#[derive(Debug)]
pub struct TcpSocket {
    inner: synack_driver::Socket,
    ready: Arc<ReadyQueue>,
}

impl TcpSocket {
    /// The options: buffer sizes, keepalive, user timeout, Nagle,
    /// congestion control, linger, and the whole core `Config`.
    pub fn options(&self) -> &synack_driver::Socket {
        &self.inner
    }

    /// The options, to change.
    pub fn options_mut(&mut self) -> &mut synack_driver::Socket {
        &mut self.inner
    }

    /// Starts opening a connection to `addr` with these options and
    /// returns at once, as [`Stack::connect`].
    pub fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        let inner = self.inner.start_connect(addr)?;
        Ok(TcpStream::new(inner, &self.ready))
    }

    /// Listens on `addr`, as [`Stack::bind`]; every connection the
    /// listener accepts has these options.
    pub fn listen(self, addr: SocketAddr) -> io::Result<TcpListener> {
        let inner = self.inner.listen(addr)?;
        Ok(TcpListener::new(inner, &self.ready))
    }
}
