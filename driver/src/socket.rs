//! A socket before it connects or listens: per-connection settings.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use synack_core::Config;
use synack_core::cc::CcAlgorithm;
use synack_core::conn::Keepalive;

use crate::listener::Listener;
use crate::stack::Stack;
use crate::stream::{Stream, linger_aborts};

/// Settings for one connection, or for every connection a listener
/// accepts, chosen before it connects or listens: the runtime-neutral half
/// of a `TcpSocket` (made by [`Stack::socket`]).
///
/// It holds a core [`Config`], started from the stack's connection
/// defaults, and maps socket options onto its fields; anything without a
/// setter is reachable through [`config_mut`](Socket::config_mut). The
/// settings are checked when the socket connects or listens
/// ([`Config::validate`]): a bad one fails with `InvalidInput`, whose
/// inner error is the core's `EndpointError::InvalidConfig` naming the
/// field.
#[derive(Clone, Debug)]
pub struct Socket {
    stack: Stack,
    config: Config,
    abort_on_drop: bool,
}

impl Socket {
    pub(crate) fn new(stack: Stack, config: Config) -> Socket {
        Socket {
            stack,
            config,
            abort_on_drop: false,
        }
    }

    /// The settings connections will have.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The settings, to change any field (`min_rto`, `pacing`, `sack`…).
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// The send buffer's size in bytes (`SO_SNDBUF`): how much written
    /// data may wait for acknowledgment.
    pub fn set_send_buffer_size(&mut self, size: usize) {
        self.config.send_buffer = size;
    }

    /// The send buffer's size in bytes.
    pub fn send_buffer_size(&self) -> usize {
        self.config.send_buffer
    }

    /// The receive buffer's size in bytes (`SO_RCVBUF`): the most
    /// received data held for the application, so the largest window
    /// advertised. As on Linux, setting it turns receive-buffer
    /// auto-tuning off: the buffer stays this size.
    pub fn set_recv_buffer_size(&mut self, size: usize) {
        self.config.recv_buffer = size;
        self.config.recv_buffer_max = size;
    }

    /// The receive buffer's initial size in bytes.
    pub fn recv_buffer_size(&self) -> usize {
        self.config.recv_buffer
    }

    /// Keepalive probes (`SO_KEEPALIVE`) with `timing`, or none.
    pub fn set_keepalive(&mut self, timing: Option<Keepalive>) {
        self.config.keepalive = timing;
    }

    /// The keepalive timing, if probes are on.
    pub fn keepalive(&self) -> Option<Keepalive> {
        self.config.keepalive
    }

    /// Fail the connection when sent data stays unacknowledged this long
    /// (`TCP_USER_TIMEOUT`, RFC 5482); `None`: only the retransmission
    /// count gives up.
    pub fn set_user_timeout(&mut self, timeout: Option<Duration>) {
        self.config.user_timeout = timeout.map(core_duration);
    }

    /// The user timeout, if set.
    pub fn user_timeout(&self) -> Option<Duration> {
        self.config
            .user_timeout
            .map(|d| Duration::from_micros(d.total_micros()))
    }

    /// Turns Nagle's algorithm off (`true`) or on (`TCP_NODELAY`).
    pub fn set_nodelay(&mut self, nodelay: bool) {
        self.config.nagle = !nodelay;
    }

    /// True when Nagle's algorithm is off.
    pub fn nodelay(&self) -> bool {
        !self.config.nagle
    }

    /// The congestion controller (`TCP_CONGESTION`).
    pub fn set_congestion_control(&mut self, algorithm: CcAlgorithm) {
        self.config.congestion = algorithm;
    }

    /// The congestion controller.
    pub fn congestion_control(&self) -> &CcAlgorithm {
        &self.config.congestion
    }

    /// What dropping a stream does (`SO_LINGER`): `None` closes
    /// gracefully in the background, `Some(Duration::ZERO)` resets. Other
    /// timeouts are refused with `Unsupported` (a drop cannot wait; await
    /// the stream's `close()` to know the data arrived). On a listener,
    /// its accepted streams get the setting.
    pub fn set_linger(&mut self, linger: Option<Duration>) -> io::Result<()> {
        self.abort_on_drop = linger_aborts(linger)?;
        Ok(())
    }

    /// The linger setting.
    pub fn linger(&self) -> Option<Duration> {
        self.abort_on_drop.then_some(Duration::ZERO)
    }

    /// Listens on `addr` (as [`Stack::bind`]); every connection it
    /// accepts has these settings.
    pub fn listen(&self, addr: SocketAddr) -> io::Result<Listener> {
        self.stack
            .bind_with(addr, Some(&self.config), self.abort_on_drop)
    }

    /// Opens a connection to `addr` with these settings (as
    /// [`Stack::connect`]).
    pub async fn connect(&self, addr: SocketAddr) -> io::Result<Stream> {
        let stream = self.start_connect(addr)?;
        stream.wait_connected().await?;
        Ok(stream)
    }

    /// Starts opening a connection to `addr` with these settings and
    /// returns at once (as [`Stack::start_connect`]).
    pub fn start_connect(&self, addr: SocketAddr) -> io::Result<Stream> {
        self.stack
            .start_connect_with(addr, Some(&self.config), self.abort_on_drop)
    }

    /// The stack it belongs to.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }
}

/// A std duration as the core's (microseconds, saturating).
fn core_duration(d: Duration) -> synack_core::Duration {
    synack_core::Duration::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}
