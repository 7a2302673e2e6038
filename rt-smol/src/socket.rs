//! Sockets before they connect or listen: per-connection options.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use synack_core::Config;
use synack_core::cc::CcAlgorithm;
use synack_core::conn::Keepalive;

use crate::listener::TcpListener;
use crate::stack::Stack;
use crate::stream::TcpStream;

/// A socket of a synack [`Stack`] whose options are set before it
/// connects or listens, like `tokio::net::TcpSocket` (`async_net` has none): made by
/// [`Stack::socket`] (or [`TcpSocket::new`]), with the stack's connection
/// settings to start from.
///
/// ```no_run
/// # async fn demo(stack: synack_smol::Stack) -> std::io::Result<()> {
/// let mut socket = stack.socket();
/// socket.set_recv_buffer_size(64 * 1024)?;
/// socket.set_nodelay(true)?;
/// socket.set_user_timeout(Some(std::time::Duration::from_secs(10)))?;
/// let stream = socket.connect("10.0.0.2:80".parse().unwrap()).await?;
/// # Ok(()) }
/// ```
///
/// The options map onto the core's [`Config`]; the rest of its fields
/// are reachable through [`config_mut`](TcpSocket::config_mut). They are
/// checked when the socket connects or listens: a bad value (a zero
/// buffer size, a keepalive with fewer than two probes…) fails with
/// `InvalidInput`, whose inner error
/// (`io::Error::get_ref`) is a
/// [`synack_core::endpoint::EndpointError::InvalidConfig`] naming the
/// field.
#[derive(Clone, Debug)]
pub struct TcpSocket {
    stack: Stack,
    inner: synack_driver::Socket,
}

impl TcpSocket {
    /// A socket of `stack`, with the stack's connection settings.
    pub fn new(stack: &Stack) -> TcpSocket {
        TcpSocket {
            stack: stack.clone(),
            inner: stack.inner.socket(),
        }
    }

    /// The settings its connections will have.
    pub fn config(&self) -> &Config {
        self.inner.config()
    }

    /// The settings, to change any field (`min_rto`, `pacing`, `sack`…).
    pub fn config_mut(&mut self) -> &mut Config {
        self.inner.config_mut()
    }

    /// The send buffer's size in bytes (`SO_SNDBUF`): how much written
    /// data may wait for acknowledgment.
    pub fn set_send_buffer_size(&mut self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(size as usize);
        Ok(())
    }

    /// The send buffer's size in bytes.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        Ok(u32::try_from(self.inner.send_buffer_size()).unwrap_or(u32::MAX))
    }

    /// The receive buffer's size in bytes (`SO_RCVBUF`), which bounds the
    /// window advertised. As on Linux, setting it turns receive-buffer
    /// auto-tuning off.
    pub fn set_recv_buffer_size(&mut self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size as usize);
        Ok(())
    }

    /// The receive buffer's size in bytes.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        Ok(u32::try_from(self.inner.recv_buffer_size()).unwrap_or(u32::MAX))
    }

    /// Keepalive probes on (`SO_KEEPALIVE`) with RFC 1122's timing (two
    /// hours idle, then every 75 s, nine probes), or off. Other timings:
    /// [`set_keepalive_params`](TcpSocket::set_keepalive_params).
    pub fn set_keepalive(&mut self, keepalive: bool) -> io::Result<()> {
        self.inner.set_keepalive(keepalive.then(Keepalive::default));
        Ok(())
    }

    /// Keepalive probes on with `timing` (`TCP_KEEPIDLE`,
    /// `TCP_KEEPINTVL`, `TCP_KEEPCNT`).
    pub fn set_keepalive_params(&mut self, timing: Keepalive) -> io::Result<()> {
        self.inner.set_keepalive(Some(timing));
        Ok(())
    }

    /// True when keepalive probes are on.
    pub fn keepalive(&self) -> io::Result<bool> {
        Ok(self.inner.keepalive().is_some())
    }

    /// What dropping a stream does (`SO_LINGER`): `None` closes
    /// gracefully in the background, `Some(Duration::ZERO)` resets.
    /// Other timeouts fail with `Unsupported` (a drop cannot wait).
    pub fn set_linger(&mut self, dur: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(dur)
    }

    /// The linger setting.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.linger())
    }

    /// Fail the connection when sent data stays unacknowledged this long
    /// (`TCP_USER_TIMEOUT`, RFC 5482); `None`: only the retransmission
    /// count gives up.
    pub fn set_user_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_user_timeout(timeout);
        Ok(())
    }

    /// The user timeout, if set.
    pub fn user_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.user_timeout())
    }

    /// Turns Nagle's algorithm off (`true`) or on (`TCP_NODELAY`).
    pub fn set_nodelay(&mut self, nodelay: bool) -> io::Result<()> {
        self.inner.set_nodelay(nodelay);
        Ok(())
    }

    /// True when Nagle's algorithm is off.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(self.inner.nodelay())
    }

    /// The congestion controller (`TCP_CONGESTION`): NewReno, CUBIC or a
    /// controller of your own.
    pub fn set_congestion_control(&mut self, algorithm: CcAlgorithm) -> io::Result<()> {
        self.inner.set_congestion_control(algorithm);
        Ok(())
    }

    /// The congestion controller.
    pub fn congestion_control(&self) -> &CcAlgorithm {
        self.inner.congestion_control()
    }

    /// Opens a connection to `addr` with these options: resolves when the
    /// handshake completes (see [`Stack::connect`]).
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        Ok(TcpStream::new(self.inner.connect(addr).await?))
    }

    /// Listens on `addr` (see [`Stack::bind_addr`]); every connection the
    /// listener accepts has these options.
    pub fn listen(self, addr: SocketAddr) -> io::Result<TcpListener> {
        let inner = self.inner.listen(addr)?;
        Ok(TcpListener::new(self.stack, inner))
    }
}
