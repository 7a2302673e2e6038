//! UDP encapsulation: each datagram carries one TCP segment between two
//! synack stacks.
//!
//! # Addresses
//!
//! synack's TCP 4-tuples and the UDP socket addresses relate like this:
//!
//! - the TCP local IP is the UDP socket's IP (for a socket bound to a
//!   wildcard address, the IP each datagram was sent to, and replies leave
//!   from it);
//! - the TCP remote IP is the IP of the UDP peer that sent the segment;
//! - TCP ports are TCP's own, carried in the TCP header: many connections
//!   share the one socket;
//! - the TCP checksum's pseudo-header uses those IPs, so every segment is
//!   checked end to end as it would be on the wire;
//! - the UDP destination for a TCP remote address is found in a small
//!   table ([`UdpRoutes`]): learned from every datagram received (the
//!   datagram's UDP source, keyed by its IP and the segment's TCP source
//!   port), or set by the application ([`UdpRoutes::insert`]); when the
//!   table knows nothing, the TCP remote address itself is used. So a
//!   stack that listens on the TCP port equal to its UDP port is reached
//!   by connecting to its UDP address, with no setup at all — that is the
//!   convention `synack demo` and `synack perf` follow.

use std::collections::HashMap;
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use synack_core::wire::IpAddrPair;
use synack_link::udp::{RECV_BATCH, Received, UdpLink};
use tokio::io::unix::AsyncFd;

use super::{Framing, Incoming, PacketLink, SendBatch};

/// Most entries in the route table; past it the learned entries are
/// forgotten (and learned again from the next datagrams).
const MAX_ROUTES: usize = 65_536;
/// Largest datagram, and so the size of each receive buffer (a GRO run is
/// at most this large).
const RECV_SLOT: usize = 65_536;
/// Largest GSO send in bytes (a UDP datagram's size limit).
const MAX_GSO_BYTES: usize = 65_000;

/// Where TCP remote addresses are reached over UDP. Cloning gives another
/// handle to the same table.
#[derive(Clone, Debug, Default)]
pub struct UdpRoutes(Arc<Mutex<HashMap<SocketAddr, SocketAddr>>>);

impl UdpRoutes {
    /// Segments for TCP address `tcp` go to UDP address `udp`.
    pub fn insert(&self, tcp: SocketAddr, udp: SocketAddr) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ROUTES {
            map.clear();
        }
        map.insert(tcp, udp);
    }

    /// The UDP address for TCP address `tcp`: the table's entry, or `tcp`
    /// itself.
    pub fn lookup(&self, tcp: SocketAddr) -> SocketAddr {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&tcp).copied().unwrap_or(tcp)
    }
}

/// A UDP socket as a [`PacketLink`]. See the [module documentation](self).
pub struct Udp {
    io: AsyncFd<UdpLink>,
    local: SocketAddr,
    routes: UdpRoutes,
    mtu: usize,
    recv_buf: Vec<u8>,
    received: Vec<Received>,
}

impl std::fmt::Debug for Udp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Udp")
            .field("local", &self.local)
            .field("mtu", &self.mtu)
            .finish_non_exhaustive()
    }
}

impl Udp {
    /// Binds a UDP socket to `addr` (port 0 picks one). Call it inside a
    /// tokio runtime. The MTU defaults to 1492, so a segment (at most the
    /// MTU less 20 bytes) with its UDP and IP headers fits a 1500-byte
    /// Ethernet frame.
    pub fn bind(addr: SocketAddr) -> io::Result<Udp> {
        Udp::from_link(UdpLink::bind(addr)?)
    }

    /// Takes over a bound link.
    pub fn from_link(link: UdpLink) -> io::Result<Udp> {
        let local = link.local_addr()?;
        // Bursts of a fast sender outrun the default buffers; the kernel
        // caps these at net.core.{w,r}mem_max.
        let _ = link.set_buffer_sizes(4 << 20, 8 << 20);
        let slots = if link.gro_segments() > 1 {
            RECV_BATCH
        } else {
            RECV_BATCH.min(32)
        };
        Ok(Udp {
            io: register(link)?,
            local,
            routes: UdpRoutes::default(),
            mtu: 1492,
            recv_buf: vec![0; slots * RECV_SLOT],
            received: vec![
                Received {
                    from: local,
                    len: 0,
                    stride: 1,
                    dst_ip: None,
                };
                slots
            ],
        })
    }

    /// Sets the MTU the stack derives its MSS from (the segment is at most
    /// this less 20 bytes for IPv4, 40 for IPv6). Loopback carries up to
    /// 65,535.
    pub fn with_mtu(mut self, mtu: usize) -> Udp {
        self.mtu = mtu.clamp(68, 65_535);
        self
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The route table (see the module documentation).
    pub fn routes(&self) -> UdpRoutes {
        self.routes.clone()
    }

    /// Whether the kernel takes batched sends (GSO) and gives batched
    /// receives (GRO): the number of datagrams per call.
    pub fn offload(&self) -> (usize, usize) {
        (
            self.io.get_ref().max_batch(),
            self.io.get_ref().gro_segments(),
        )
    }
}

/// The TCP source port of a segment, if it has one.
fn tcp_src_port(segment: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*segment.first()?, *segment.get(1)?]))
}

impl PacketLink for Udp {
    fn framing(&self) -> Framing {
        Framing::Segment
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        Some(self.local)
    }

    fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
        deliver: &mut dyn FnMut(Incoming<'_>),
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.io.poll_read_ready(cx))?;
            let mut bufs: Vec<IoSliceMut<'_>> = self
                .recv_buf
                .chunks_mut(RECV_SLOT)
                .map(IoSliceMut::new)
                .collect();
            let got = match guard.try_io(|io| io.get_ref().try_recv(&mut bufs, &mut self.received))
            {
                Ok(Ok(n)) => n,
                Ok(Err(e)) => {
                    // ICMP errors from earlier sends (ECONNREFUSED) and the
                    // like are reported here: not the link's failure.
                    if is_transient(&e) {
                        continue;
                    }
                    return Poll::Ready(Err(e));
                }
                Err(_would_block) => continue,
            };
            drop(bufs);
            let mut delivered = 0;
            let local_ip = self.local.ip();
            let mut learn = Vec::new();
            for (r, slot) in self.received[..got]
                .iter()
                .zip(self.recv_buf.chunks(RECV_SLOT))
            {
                let dst = match r.dst_ip {
                    Some(ip) if !ip.is_unspecified() => ip,
                    _ => local_ip,
                };
                let Some(addrs) = IpAddrPair::new(unmap(r.from.ip()), unmap(dst)) else {
                    continue;
                };
                let mut last_port = None;
                for segment in slot[..r.len.min(slot.len())].chunks(r.stride.max(1)) {
                    let port = tcp_src_port(segment);
                    if port != last_port
                        && let Some(port) = port
                    {
                        last_port = Some(port);
                        learn.push((SocketAddr::new(unmap(r.from.ip()), port), r.from));
                    }
                    deliver(Incoming::Segment { addrs, segment });
                    delivered += 1;
                }
            }
            if !learn.is_empty() {
                let mut map = self.routes.0.lock().unwrap_or_else(|e| e.into_inner());
                for (tcp, udp) in learn {
                    if map.get(&tcp) != Some(&udp) {
                        if map.len() >= MAX_ROUTES {
                            map.clear();
                        }
                        map.insert(tcp, udp);
                    }
                }
            }
            return Poll::Ready(Ok(delivered));
        }
    }

    fn poll_send(&mut self, cx: &mut Context<'_>, batch: &mut SendBatch) -> Poll<io::Result<()>> {
        let link = self.io.get_ref();
        let max_run = link.max_batch().max(1);
        let wildcard = self.local.ip().is_unspecified();
        while let Some((tuple, first)) = batch.get(0) {
            // A run: same destination, same size (the last may be
            // shorter), within the GSO limits.
            let stride = first.len();
            let mut n = 1;
            let mut bytes = stride;
            while n < max_run && bytes + stride <= MAX_GSO_BYTES {
                match batch.get(n) {
                    Some((t, p)) if t == tuple && p.len() <= stride => {
                        n += 1;
                        bytes += p.len();
                        if p.len() < stride {
                            break;
                        }
                    }
                    _ => break,
                }
            }
            let to = self.routes.lookup(tuple.remote);
            let src = wildcard.then(|| tuple.local.ip());
            let contents = batch.contiguous(0, n);
            let stride = (n > 1).then_some(stride);
            match link.try_send_from(src, to, contents, stride) {
                Ok(()) => batch.consume(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let mut guard = ready!(self.io.poll_write_ready(cx))?;
                    guard.clear_ready();
                    // Ready again already: try once more at once.
                    continue;
                }
                // The network lost it, as far as TCP can tell.
                Err(_) => batch.consume(n),
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// Errors a receive reports about earlier datagrams, not the socket.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::Interrupted
    )
}

/// An IPv4-mapped IPv6 address as IPv4 (dual-stack sockets).
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Registers the link with tokio's reactor. `AsyncFd::new` is deprecated
/// for types that might close or swap their descriptor while registered;
/// the link owns its descriptor for its whole life and never replaces it,
/// so the registration stays sound.
#[allow(deprecated)]
fn register<T: std::os::fd::AsRawFd>(link: T) -> io::Result<AsyncFd<T>> {
    AsyncFd::new(link)
}
