//! Handles, errors and statistics of an endpoint.

use core::fmt;

use super::slab::Key;

/// Names a connection of an [`Endpoint`](super::Endpoint). A handle to a
/// connection that has been removed never names another one: lookups with
/// it fail.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionHandle(pub(crate) Key);

/// Names a listener of an [`Endpoint`](super::Endpoint); stale ids are
/// detected like stale [`ConnectionHandle`]s.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId(pub(crate) Key);

impl fmt::Debug for ConnectionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Connection({}v{})", self.0.index, self.0.generation)
    }
}

impl fmt::Debug for ListenerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Listener({}v{})", self.0.index, self.0.generation)
    }
}

/// Why an endpoint operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndpointError {
    /// The local address is taken: a listener on it (or on the wildcard
    /// address of its port), or a connection or TIME-WAIT entry with the
    /// same 4-tuple.
    AddressInUse,
    /// An address that cannot name a TCP endpoint: port 0, an unspecified,
    /// multicast or broadcast peer, or local and remote of different
    /// families.
    InvalidAddress,
    /// Every ephemeral port towards this destination is in use (for a
    /// listener on port 0: every one is taken by listeners).
    NoEphemeralPorts,
    /// [`EndpointConfig::max_connections`](super::EndpointConfig::max_connections)
    /// connections exist already.
    ConnectionLimit,
    /// The buffers of all connections hold
    /// [`EndpointConfig::max_buffer_memory`](super::EndpointConfig::max_buffer_memory)
    /// bytes or more.
    MemoryLimit,
    /// The handle names no connection: it was released.
    UnknownConnection,
    /// The listener id names no listener: it was closed.
    UnknownListener,
    /// A connection's settings (given to
    /// [`connect_with`](super::Endpoint::connect_with) or
    /// [`listen_with`](super::Endpoint::listen_with)) fail
    /// [`Config::validate`](crate::conn::Config::validate); the error
    /// names the field.
    InvalidConfig(crate::conn::ConfigError),
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let EndpointError::InvalidConfig(e) = self {
            return write!(f, "invalid connection settings: {e}");
        }
        f.write_str(match self {
            EndpointError::InvalidConfig(_) => "invalid connection settings",
            EndpointError::AddressInUse => "address in use",
            EndpointError::InvalidAddress => {
                "invalid address: need a unicast peer, non-zero ports and one address family"
            }
            EndpointError::NoEphemeralPorts => "no free ephemeral port for this destination",
            EndpointError::ConnectionLimit => "connection limit reached",
            EndpointError::MemoryLimit => "buffer memory limit reached",
            EndpointError::UnknownConnection => "unknown connection handle (released)",
            EndpointError::UnknownListener => "unknown listener (closed)",
        })
    }
}

impl core::error::Error for EndpointError {}

/// What an endpoint has done, and what it holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EndpointStats {
    /// Segments dropped before reaching a connection, by reason (only
    /// reasons whose [`DropReason::site`](crate::DropReason::site) is the
    /// endpoint are counted here).
    pub drops: crate::Drops,
    /// Resets sent for segments that matched no connection.
    pub rsts_sent: u64,
    /// Resets (and TIME-WAIT acknowledgments) not sent because of
    /// [`EndpointConfig::rst_rate_limit_per_sec`](super::EndpointConfig::rst_rate_limit_per_sec).
    pub rsts_rate_limited: u64,
    /// Stateless replies dropped because the reply queue was full.
    pub replies_dropped: u64,
    /// SYN-ACKs sent with a SYN cookie.
    pub cookies_sent: u64,
    /// Final ACKs whose cookie validated: connections created from them.
    pub cookies_accepted: u64,
    /// ACKs whose cookie did not validate.
    pub cookies_rejected: u64,
    /// Connections opened, passive and active.
    pub connections_opened: u64,
    /// Connections that exist now (half-open and closing ones included).
    pub connections: usize,
    /// Of those, half-open ones in listeners' SYN queues.
    pub half_open: usize,
    /// Entries in the TIME-WAIT table.
    pub time_wait: usize,
    /// Connections that entered TIME-WAIT when the table was full, and so
    /// were dropped without an entry.
    pub time_wait_overflow: u64,
    /// Bytes allocated by all connections' buffers.
    pub buffer_memory: usize,
    /// Bytes the endpoint's own tables hold: the connection and TIME-WAIT
    /// slots (vacant ones included) and the timer heap. It falls again as
    /// connections go: emptied slot chunks and heap capacity are given
    /// back.
    pub table_memory: usize,
}
