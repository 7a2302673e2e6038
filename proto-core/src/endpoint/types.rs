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

/// Arriving segments the endpoint dropped before any connection saw them,
/// by reason. Segments a connection dropped are in its own
/// [`Stats::drops`](crate::conn::Stats::drops).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EndpointDrops {
    /// Unparsable, a bad checksum, port 0, or a non-unicast address.
    pub malformed: u64,
    /// Well-formed IP packets of another protocol (ICMP, UDP, neighbour
    /// discovery…): not errors, just not TCP.
    pub not_tcp: u64,
    /// IP fragments: the endpoint does not reassemble (TCP avoids
    /// fragmentation by its MSS).
    pub fragments: u64,
    /// Not a SYN, and no connection or listener takes it (answered with a
    /// reset unless it was one, within the rate limit).
    pub no_connection: u64,
    /// A SYN for a port nobody listens on (answered with a reset).
    pub no_listener: u64,
    /// A SYN that also carried FIN, for a listener: discarded without
    /// reply, as Linux does.
    pub syn_fin: u64,
    /// A listener's SYN queue (cookies off) or accept queue was full.
    pub backlog_full: u64,
    /// The connection limit was reached.
    pub connection_limit: u64,
    /// The buffer memory limit was reached.
    pub memory_limit: u64,
    /// An ACK whose SYN cookie did not validate (answered with a reset).
    pub bad_cookie: u64,
    /// Taken in by a TIME-WAIT entry: resets (RFC 1337), SYNs that may not
    /// reopen it (RFC 6191), duplicates (each answered with an ACK).
    pub time_wait: u64,
}

impl EndpointDrops {
    /// All drops together.
    pub fn total(&self) -> u64 {
        [
            self.malformed,
            self.not_tcp,
            self.fragments,
            self.no_connection,
            self.no_listener,
            self.syn_fin,
            self.backlog_full,
            self.connection_limit,
            self.memory_limit,
            self.bad_cookie,
            self.time_wait,
        ]
        .iter()
        .fold(0u64, |a, b| a.saturating_add(*b))
    }
}

/// What an endpoint has done, and what it holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EndpointStats {
    /// Segments dropped before reaching a connection.
    pub drops: EndpointDrops,
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
}
