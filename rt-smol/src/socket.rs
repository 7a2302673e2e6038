//! Sockets before they connect or listen: per-connection options.

use std::io;
use std::net::SocketAddr;

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
/// The options map onto the core's [`Config`](synack_core::Config); the rest of its fields
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

    synack_driver::socket_options!();

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
