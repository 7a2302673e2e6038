//! The 4-tuple that names a TCP connection.

use core::net::{IpAddr, SocketAddr};

use crate::wire::IpAddrPair;

/// Local and remote socket addresses of one connection, from this host's
/// point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FourTuple {
    /// This host's address and port.
    pub local: SocketAddr,
    /// The peer's address and port.
    pub remote: SocketAddr,
}

impl FourTuple {
    /// A tuple from its two ends.
    pub const fn new(local: SocketAddr, remote: SocketAddr) -> FourTuple {
        FourTuple { local, remote }
    }

    /// The tuple of an arriving segment: its destination is local.
    pub fn of_incoming(addrs: &IpAddrPair, src_port: u16, dst_port: u16) -> FourTuple {
        FourTuple {
            local: SocketAddr::new(addrs.dst(), dst_port),
            remote: SocketAddr::new(addrs.src(), src_port),
        }
    }

    /// Source and destination addresses for a segment this host sends, or
    /// `None` if the two ends are of different families.
    pub fn outgoing_addrs(&self) -> Option<IpAddrPair> {
        IpAddrPair::new(self.local.ip(), self.remote.ip())
    }

    /// True when both ends are IPv4.
    pub fn is_ipv4(&self) -> bool {
        matches!(
            (self.local.ip(), self.remote.ip()),
            (IpAddr::V4(_), IpAddr::V4(_))
        )
    }
}
