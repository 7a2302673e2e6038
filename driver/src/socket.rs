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

/// The option setters and getters of an adapter's `TcpSocket`, with
/// tokio's `TcpSocket` names and signatures, over its `inner: Socket`
/// field: written once here for every adapter.
#[doc(hidden)]
#[macro_export]
macro_rules! socket_options {
    () => {
        /// The settings its connections will have.
        pub fn config(&self) -> &$crate::__private::Config {
            self.inner.config()
        }

        /// The settings, to change any field (`min_rto`, `pacing`, `sack`…).
        pub fn config_mut(&mut self) -> &mut $crate::__private::Config {
            self.inner.config_mut()
        }

        /// The send buffer's size in bytes (`SO_SNDBUF`): how much written
        /// data may wait for acknowledgment.
        pub fn set_send_buffer_size(&mut self, size: u32) -> ::std::io::Result<()> {
            self.inner.set_send_buffer_size(size as usize);
            Ok(())
        }

        /// The send buffer's size in bytes.
        pub fn send_buffer_size(&self) -> ::std::io::Result<u32> {
            Ok(u32::try_from(self.inner.send_buffer_size()).unwrap_or(u32::MAX))
        }

        /// The receive buffer's size in bytes (`SO_RCVBUF`), which bounds the
        /// window advertised. As on Linux, setting it turns receive-buffer
        /// auto-tuning off.
        pub fn set_recv_buffer_size(&mut self, size: u32) -> ::std::io::Result<()> {
            self.inner.set_recv_buffer_size(size as usize);
            Ok(())
        }

        /// The receive buffer's size in bytes.
        pub fn recv_buffer_size(&self) -> ::std::io::Result<u32> {
            Ok(u32::try_from(self.inner.recv_buffer_size()).unwrap_or(u32::MAX))
        }

        /// Keepalive probes on (`SO_KEEPALIVE`) with RFC 1122's timing (two
        /// hours idle, then every 75 s, nine probes), or off. Other timings:
        /// [`set_keepalive_params`](TcpSocket::set_keepalive_params).
        pub fn set_keepalive(&mut self, keepalive: bool) -> ::std::io::Result<()> {
            self.inner
                .set_keepalive(keepalive.then($crate::__private::Keepalive::default));
            Ok(())
        }

        /// Keepalive probes on with `timing` (`TCP_KEEPIDLE`,
        /// `TCP_KEEPINTVL`, `TCP_KEEPCNT`).
        pub fn set_keepalive_params(
            &mut self,
            timing: $crate::__private::Keepalive,
        ) -> ::std::io::Result<()> {
            self.inner.set_keepalive(Some(timing));
            Ok(())
        }

        /// True when keepalive probes are on.
        pub fn keepalive(&self) -> ::std::io::Result<bool> {
            Ok(self.inner.keepalive().is_some())
        }

        /// What dropping a stream does (`SO_LINGER`): `None` closes
        /// gracefully in the background, `Some(Duration::ZERO)` resets.
        /// Other timeouts fail with `Unsupported` (a drop cannot wait).
        pub fn set_linger(&mut self, dur: Option<::std::time::Duration>) -> ::std::io::Result<()> {
            self.inner.set_linger(dur)
        }

        /// The linger setting.
        pub fn linger(&self) -> ::std::io::Result<Option<::std::time::Duration>> {
            Ok(self.inner.linger())
        }

        /// Fail the connection when sent data stays unacknowledged this long
        /// (`TCP_USER_TIMEOUT`, RFC 5482); `None`: only the retransmission
        /// count gives up.
        pub fn set_user_timeout(
            &mut self,
            timeout: Option<::std::time::Duration>,
        ) -> ::std::io::Result<()> {
            self.inner.set_user_timeout(timeout);
            Ok(())
        }

        /// The user timeout, if set.
        pub fn user_timeout(&self) -> ::std::io::Result<Option<::std::time::Duration>> {
            Ok(self.inner.user_timeout())
        }

        /// Turns Nagle's algorithm off (`true`) or on (`TCP_NODELAY`).
        pub fn set_nodelay(&mut self, nodelay: bool) -> ::std::io::Result<()> {
            self.inner.set_nodelay(nodelay);
            Ok(())
        }

        /// True when Nagle's algorithm is off.
        pub fn nodelay(&self) -> ::std::io::Result<bool> {
            Ok(self.inner.nodelay())
        }

        /// The congestion controller (`TCP_CONGESTION`): NewReno, CUBIC or a
        /// controller of your own.
        pub fn set_congestion_control(
            &mut self,
            algorithm: $crate::__private::CcAlgorithm,
        ) -> ::std::io::Result<()> {
            self.inner.set_congestion_control(algorithm);
            Ok(())
        }

        /// The congestion controller.
        pub fn congestion_control(&self) -> &$crate::__private::CcAlgorithm {
            self.inner.congestion_control()
        }
    };
}
