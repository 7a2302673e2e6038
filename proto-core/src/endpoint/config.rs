//! What an endpoint is configured with.

use core::fmt;

use crate::conn::{Config, ConfigError};

/// When a listener answers SYNs with SYN cookies (RFC 4987 §3.6) instead of
/// keeping a half-open connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SynCookieMode {
    /// Never: a SYN that finds the SYN queue full is dropped.
    Off,
    /// Only while the listener's SYN queue is full (as Linux by default).
    #[default]
    WhenFull,
    /// For every SYN: listeners keep no half-open state at all.
    Always,
}

/// Settings of an [`Endpoint`](super::Endpoint). Build one with
/// [`EndpointConfig::new`], which fills in Linux-like defaults, then change
/// any public field:
///
/// ```
/// # use synack_core::EndpointConfig;
/// let mut config = EndpointConfig::new([7; 16]);
/// config.accept_backlog = 4096;
/// config.conn.mtu = 1400;
/// assert_eq!(config.validate(), Ok(()));
/// ```
///
/// The struct is `#[non_exhaustive]` so that new settings are not breaking
/// changes; it cannot be built with a struct literal outside this crate.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointConfig {
    /// Settings of every connection.
    pub conn: Config,
    /// The host's 128-bit secret, from a cryptographically secure source:
    /// it keys initial sequence numbers (RFC 6528), SYN cookies (RFC 4987)
    /// and ephemeral port selection (RFC 6056). Keep it for the life of the
    /// host.
    pub secret: [u8; 16],
    /// Most connections at once (half-open ones, and ended ones the
    /// application has not released, included). TIME-WAIT entries have
    /// their own limit, [`EndpointConfig::max_time_wait`].
    pub max_connections: usize,
    /// Most entries in the TIME-WAIT table (each about a hundred bytes
    /// with its map and timer entries; Linux's `tcp_max_tw_buckets` plays
    /// this part). A connection that reaches TIME-WAIT with the table full
    /// is counted in `EndpointStats::time_wait_overflow`.
    pub max_time_wait: usize,
    /// New connections are refused while the buffers of all connections
    /// hold this many bytes or more. Existing connections are not cut off:
    /// each may still grow to its configured buffer sizes.
    pub max_buffer_memory: usize,
    /// Half-open (SYN-RECEIVED) connections per listener; beyond it SYN
    /// cookies or drops take over, as [`EndpointConfig::syn_cookies`] says.
    pub syn_backlog: usize,
    /// Established connections waiting for `accept`, per listener; while
    /// it is full, SYNs and handshake-completing ACKs are dropped (as
    /// Linux does), so clients retry. 1024 by default, the backlog
    /// `tokio::net::TcpListener::bind` asks the kernel for.
    pub accept_backlog: usize,
    /// The inclusive range of local ports [`Endpoint::connect`] picks from
    /// (Linux: 32768–60999; RFC 6056 §3.2 recommends 1024–65535).
    ///
    /// [`Endpoint::connect`]: super::Endpoint::connect
    pub ephemeral_ports: (u16, u16),
    /// When listeners use SYN cookies.
    pub syn_cookies: SynCookieMode,
    /// Most resets per second the endpoint sends for segments that match
    /// no connection (and acknowledgments of stray segments in TIME-WAIT),
    /// so it cannot be used to reflect floods.
    pub rst_rate_limit_per_sec: u32,
    // RFC 9293 §3.9.2.1 (MUST-49): the TTL is configurable.
    /// IPv4 TTL and IPv6 hop limit of packets from
    /// [`Endpoint::poll_transmit_ip`](super::Endpoint::poll_transmit_ip).
    pub ip_ttl: u8,
    /// Most due timers one [`Endpoint::handle_timeout`] call runs. The
    /// rest stay queued in deadline order and
    /// [`Endpoint::poll_timeout`] reports them due, so the host's next
    /// turn goes on with them: no timer is lost or reordered, and no
    /// single call's time grows with the number of connections (a
    /// million TIME-WAIT entries expiring at once would otherwise be one
    /// call of most of a second).
    ///
    /// [`Endpoint::handle_timeout`]: super::Endpoint::handle_timeout
    /// [`Endpoint::poll_timeout`]: super::Endpoint::poll_timeout
    pub timers_per_call: usize,
}

impl EndpointConfig {
    /// Defaults around `secret`: 65 536 connections, 262 144 TIME-WAIT
    /// entries, no memory limit,
    /// SYN backlog 256, accept backlog 1024, ports 32768–60999, cookies
    /// when full, 1000 resets per second, TTL 64, 1024 timers per call.
    pub fn new(secret: [u8; 16]) -> EndpointConfig {
        EndpointConfig {
            conn: Config::default(),
            secret,
            max_connections: 65_536,
            max_time_wait: 262_144,
            max_buffer_memory: usize::MAX,
            syn_backlog: 256,
            accept_backlog: 1024,
            ephemeral_ports: (32768, 60999),
            syn_cookies: SynCookieMode::WhenFull,
            rst_rate_limit_per_sec: 1000,
            ip_ttl: 64,
            timers_per_call: 1024,
        }
    }

    /// Checks every value; [`Endpoint::new`](super::Endpoint::new) does.
    pub fn validate(&self) -> Result<(), EndpointConfigError> {
        self.conn.validate().map_err(EndpointConfigError::Conn)?;
        let (min, max) = self.ephemeral_ports;
        if min == 0 || min > max {
            return Err(EndpointConfigError::EphemeralRange(min, max));
        }
        // Slots are indexed by u32.
        if self.max_connections == 0 || self.max_connections > u32::MAX as usize / 2 {
            return Err(EndpointConfigError::BadLimit("max_connections"));
        }
        if self.max_time_wait == 0 || self.max_time_wait > u32::MAX as usize / 2 {
            return Err(EndpointConfigError::BadLimit("max_time_wait"));
        }
        if self.accept_backlog == 0 {
            return Err(EndpointConfigError::BadLimit("accept_backlog"));
        }
        if self.timers_per_call == 0 {
            return Err(EndpointConfigError::BadLimit("timers_per_call"));
        }
        Ok(())
    }
}

/// Why an [`EndpointConfig`] was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointConfigError {
    /// The connection settings are invalid.
    Conn(ConfigError),
    /// The ephemeral port range is empty or includes port 0.
    EphemeralRange(u16, u16),
    /// A limit is zero (or too large); the field is named.
    BadLimit(&'static str),
}

impl fmt::Display for EndpointConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointConfigError::Conn(e) => write!(f, "conn.{e}"),
            EndpointConfigError::EphemeralRange(min, max) => write!(
                f,
                "ephemeral_ports {min}..={max} must be non-empty and exclude port 0"
            ),
            EndpointConfigError::BadLimit(field) => {
                write!(f, "{field} must be at least 1 (and fit 31 bits)")
            }
        }
    }
}

impl core::error::Error for EndpointConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_refused() {
        let c = EndpointConfig::new([1; 16]);
        assert_eq!(c.validate(), Ok(()));
        let bad = EndpointConfig {
            ephemeral_ports: (0, 10),
            ..c.clone()
        };
        assert_eq!(
            bad.validate(),
            Err(EndpointConfigError::EphemeralRange(0, 10))
        );
        let bad = EndpointConfig {
            ephemeral_ports: (5000, 4000),
            ..c.clone()
        };
        assert!(bad.validate().is_err());
        let bad = EndpointConfig {
            max_connections: 0,
            ..c.clone()
        };
        assert_eq!(
            bad.validate(),
            Err(EndpointConfigError::BadLimit("max_connections"))
        );
        let mut bad = c;
        bad.conn.mtu = 10;
        assert!(matches!(bad.validate(), Err(EndpointConfigError::Conn(_))));
        // The nested field is named by its path.
        bad.conn.mtu = 1500;
        bad.conn.min_rto = crate::time::Duration::ZERO;
        let e = bad.validate().unwrap_err();
        assert_eq!(e, EndpointConfigError::Conn(ConfigError::MinRtoZero));
        assert!(alloc::format!("{e}").starts_with("conn.min_rto "), "{e}");
    }
}
