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
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use synack_core::wire::{EcnCodepoint, IpAddrPair};
use synack_link::udp::{RECV_BATCH, Received, UdpLink, auto_mtu};

use super::{Framing, Incoming, PacketLink, SendBatch};
use crate::runtime::{Interest, Io, Runtime};

/// Most entries in the route table; past it the learned entries are
/// forgotten (and learned again from the next datagrams).
const MAX_ROUTES: usize = 65_536;
/// Largest datagram, and so the size of each receive buffer (a GRO run is
/// at most this large).
const RECV_SLOT: usize = 65_536;
/// Largest GSO send in bytes (a UDP datagram's size limit). Segments
/// larger than half of it (loopback's 64 KiB ones) go one per send.
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

/// A UDP socket as a [`PacketLink`], under runtime `R`'s reactor. See the
/// [module documentation](self).
pub struct Udp<R: Runtime> {
    io: R::Io<UdpLink>,
    local: SocketAddr,
    routes: UdpRoutes,
    mtu: usize,
    recv_buf: Vec<u8>,
    received: Vec<Received>,
    /// Routes learned from a batch, kept between batches for its storage.
    learn: Vec<(SocketAddr, SocketAddr)>,
}

impl<R: Runtime> std::fmt::Debug for Udp<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Udp")
            .field("local", &self.local)
            .field("mtu", &self.mtu)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> Udp<R> {
    /// Binds a UDP socket to `addr` (port 0 picks one). Call it where the
    /// runtime's reactor is available (inside a tokio runtime, for
    /// tokio).
    ///
    /// The MTU is the path's ([`UdpLink::path_mtu`]): bound to a loopback
    /// address, the largest datagram loopback carries unfragmented (for
    /// IPv4, segments of 65,507 bytes: MTU 65,527, MSS 65,487); bound to
    /// any other address, 1492
    /// ([`DEFAULT_MTU`](synack_link::udp::DEFAULT_MTU)), so a segment (at most
    /// the MTU less 20 bytes) with its UDP and IP headers fits a
    /// 1500-byte Ethernet frame. [`Udp::with_mtu`] sets another.
    pub fn bind(addr: SocketAddr) -> io::Result<Udp<R>> {
        Udp::from_link(UdpLink::bind(addr)?)
    }

    /// Takes over a bound link; its MTU is the path's, as for
    /// [`Udp::bind`].
    pub fn from_link(link: UdpLink) -> io::Result<Udp<R>> {
        let local = link.local_addr()?;
        let mtu = auto_mtu(local.ip());
        // Bursts of a fast sender outrun the default buffers; the kernel
        // caps these at net.core.{w,r}mem_max.
        let _ = link.set_buffer_sizes(4 << 20, 8 << 20);
        let slots = if link.gro_segments() > 1 {
            RECV_BATCH
        } else {
            RECV_BATCH.min(32)
        };
        Ok(Udp {
            io: R::Io::register(link)?,
            local,
            routes: UdpRoutes::default(),
            mtu,
            recv_buf: vec![0; slots * RECV_SLOT],
            received: vec![
                Received {
                    from: local,
                    len: 0,
                    stride: 1,
                    dst_ip: None,
                    ecn: EcnCodepoint::NotEct,
                };
                slots
            ],
            learn: Vec::new(),
        })
    }

    /// Sets the MTU the stack derives its MSS from, in place of the
    /// path's (the segment is at most this less 20 bytes for IPv4, 40 for
    /// IPv6; clamped to 68..=65,535). A segment larger than the path
    /// carries in one datagram is fragmented by IP or refused by the
    /// kernel (`EMSGSIZE`: lost, as far as TCP can tell).
    pub fn with_mtu(mut self, mtu: usize) -> Udp<R> {
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

/// The socket's descriptor, for a reactor the application owns (mio) to
/// register.
impl<R: Runtime> AsRawFd for Udp<R> {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl<R: Runtime> AsFd for Udp<R> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

/// The TCP source port of a segment, if it has one.
fn tcp_src_port(segment: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*segment.first()?, *segment.get(1)?]))
}

impl<R: Runtime> PacketLink for Udp<R> {
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
        // A batch that came back short emptied the socket (where the
        // kernel's batched receive says so): the reactor is told, and the
        // next turn waits for its next event rather than making a receive
        // that would only return `EAGAIN`.
        let drains = self.io.get_ref().short_recv_drains();
        loop {
            // The buffers' descriptors on the stack: nothing allocated per
            // receive.
            let mut chunks = self.recv_buf.chunks_mut(RECV_SLOT);
            let mut bufs: [IoSliceMut<'_>; RECV_BATCH] =
                std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or_default()));
            let slots = self.received.len().min(RECV_BATCH);
            let received = &mut self.received;
            let got = match self.io.poll_io_drain(
                cx,
                Interest::Read,
                |link| link.try_recv(&mut bufs[..slots], received),
                |&got| drains && got < slots,
            ) {
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => {
                    // ICMP errors from earlier sends (ECONNREFUSED) and the
                    // like are reported here: not the link's failure.
                    if is_transient(&e) {
                        tracing::debug!(error = %e, "UDP receive reported an error about an earlier datagram");
                        continue;
                    }
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => return Poll::Pending,
            };
            let delivered = split_datagrams(
                &self.received[..got],
                &self.recv_buf,
                self.local.ip(),
                &self.routes,
                &mut self.learn,
                deliver,
            );
            return Poll::Ready(Ok(delivered));
        }
    }

    fn poll_send(&mut self, cx: &mut Context<'_>, batch: &mut SendBatch) -> Poll<io::Result<()>> {
        let max_run = self.io.get_ref().max_batch().max(1);
        let wildcard = self.local.ip().is_unspecified();
        while let Some((tuple, first)) = batch.get(0) {
            let n = gso_run(batch, tuple, first.len(), max_run);
            let to = self.routes.lookup(tuple.remote);
            let src = wildcard.then(|| tuple.local.ip());
            let contents = batch.contiguous(0, n);
            let stride = (n > 1).then_some(first.len());
            let ecn = batch.ecn(0);
            match self.io.poll_io(cx, Interest::Write, |link| {
                link.try_send_from(src, to, contents, stride, ecn)
            }) {
                Poll::Ready(Ok(())) => batch.consume(n),
                // The network lost it, as far as TCP can tell.
                Poll::Ready(Err(e)) => {
                    tracing::debug!(error = %e, %to, datagrams = n, "UDP send failed: dropped");
                    batch.consume(n)
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// Delivers the segments of `received` (one entry per receive buffer of
/// [`RECV_SLOT`] bytes in `bufs`; a GRO run of equal-sized datagrams is
/// split at its stride), and learns for each TCP source the UDP address it
/// came from. Returns the number of segments delivered.
fn split_datagrams(
    received: &[Received],
    bufs: &[u8],
    local_ip: IpAddr,
    routes: &UdpRoutes,
    learn: &mut Vec<(SocketAddr, SocketAddr)>,
    deliver: &mut dyn FnMut(Incoming<'_>),
) -> usize {
    let mut delivered = 0;
    learn.clear();
    for (r, slot) in received.iter().zip(bufs.chunks(RECV_SLOT)) {
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
            deliver(Incoming::Segment {
                addrs,
                segment,
                ecn: r.ecn,
            });
            delivered += 1;
        }
    }
    if !learn.is_empty() {
        let mut map = routes.0.lock().unwrap_or_else(|e| e.into_inner());
        for &(tcp, udp) in learn.iter() {
            if map.get(&tcp) != Some(&udp) {
                if map.len() >= MAX_ROUTES {
                    map.clear();
                }
                map.insert(tcp, udp);
            }
        }
    }
    delivered
}

/// How many packets from the front of `batch` go in one GSO send: a run of
/// packets of `tuple` with the first one's size `stride` (the last may be
/// shorter) and its ECN codepoint (one IP header field for all), at most
/// `max_run` of them and [`MAX_GSO_BYTES`] in all.
fn gso_run(
    batch: &SendBatch,
    tuple: synack_core::FourTuple,
    stride: usize,
    max_run: usize,
) -> usize {
    let mut n = 1;
    let mut bytes = stride;
    let ecn = batch.ecn(0);
    while n < max_run && bytes + stride <= MAX_GSO_BYTES {
        match batch.get(n) {
            Some((t, p)) if t == tuple && p.len() <= stride && batch.ecn(n) == ecn => {
                n += 1;
                bytes += p.len();
                if p.len() < stride {
                    break;
                }
            }
            _ => break,
        }
    }
    n
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

#[cfg(test)]
mod tests {
    use super::*;
    use synack_core::FourTuple;

    fn seg(port: u16, len: usize) -> Vec<u8> {
        let mut s = vec![0xab; len];
        s[..2].copy_from_slice(&port.to_be_bytes());
        s
    }

    #[test]
    fn gro_runs_split_at_their_stride_and_teach_routes() {
        let from: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let mut bufs = vec![0u8; 2 * RECV_SLOT];
        // Slot 0: a GRO run of 100 + 100 + 40 bytes from TCP port 7; slot
        // 1: one 3-byte datagram from TCP port 9 via an IPv4-mapped peer.
        let run = [seg(7, 100), seg(7, 100), seg(7, 40)].concat();
        bufs[..run.len()].copy_from_slice(&run);
        bufs[RECV_SLOT..RECV_SLOT + 3].copy_from_slice(&seg(9, 3));
        let mapped: SocketAddr = "[::ffff:127.0.0.2]:5000".parse().unwrap();
        let received = [
            Received {
                from,
                len: run.len(),
                stride: 100,
                dst_ip: None,
                ecn: EcnCodepoint::Ect0,
            },
            Received {
                from: mapped,
                len: 3,
                stride: 3,
                dst_ip: None,
                ecn: EcnCodepoint::Ce,
            },
        ];
        let routes = UdpRoutes::default();
        let mut got = Vec::new();
        let n = split_datagrams(
            &received,
            &bufs,
            "127.0.0.9".parse().unwrap(),
            &routes,
            &mut Vec::new(),
            &mut |p| {
                let Incoming::Segment {
                    addrs,
                    segment,
                    ecn,
                } = p
                else {
                    panic!("not a segment")
                };
                got.push((addrs.src(), addrs.dst(), segment.len(), ecn));
            },
        );
        assert_eq!(n, 4);
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            "127.0.0.1".parse().unwrap(),
            "127.0.0.9".parse().unwrap(),
            "127.0.0.2".parse().unwrap(),
        );
        // Each segment keeps the codepoint of the datagrams that carried it.
        let (e0, ce) = (EcnCodepoint::Ect0, EcnCodepoint::Ce);
        assert_eq!(
            got,
            [
                (a, b, 100, e0),
                (a, b, 100, e0),
                (a, b, 40, e0),
                (c, b, 3, ce)
            ]
        );
        assert_eq!(routes.lookup("127.0.0.1:7".parse().unwrap()), from);
        assert_eq!(routes.lookup("127.0.0.2:9".parse().unwrap()), mapped);
        // Unknown: the TCP address itself.
        let other: SocketAddr = "127.0.0.3:1".parse().unwrap();
        assert_eq!(routes.lookup(other), other);
    }

    #[test]
    fn gso_runs_group_equal_sizes_to_one_destination() {
        let t1 = FourTuple::new("10.0.0.1:1".parse().unwrap(), "10.0.0.2:2".parse().unwrap());
        let t2 = FourTuple::new("10.0.0.1:1".parse().unwrap(), "10.0.0.3:2".parse().unwrap());
        let mut b = SendBatch::new(8, 1500);
        for (t, len) in [
            (t1, 1000),
            (t1, 1000),
            (t1, 500),
            (t1, 1000),
            (t2, 1000),
            (t2, 1200),
        ] {
            assert!(b.push(t, &vec![1; len]));
        }
        // A shorter packet ends a run; so does another destination or a
        // larger packet.
        assert_eq!(gso_run(&b, t1, 1000, 64), 3);
        b.consume(3);
        assert_eq!(gso_run(&b, t1, 1000, 64), 1);
        b.consume(1);
        assert_eq!(gso_run(&b, t2, 1000, 64), 1);
        // The kernel's segment limit and the datagram size limit hold.
        let mut b = SendBatch::new(80, 1500);
        for _ in 0..80 {
            assert!(b.push(t1, &[0; 1400]));
        }
        assert_eq!(gso_run(&b, t1, 1400, 10), 10);
        assert_eq!(gso_run(&b, t1, 1400, 64), MAX_GSO_BYTES / 1400);
        // One run shares one IP header's ECN field: a change of codepoint
        // (a retransmission among new data) ends it.
        let mut b = SendBatch::new(8, 1500);
        for ecn in [EcnCodepoint::Ect0, EcnCodepoint::Ect0, EcnCodepoint::NotEct] {
            assert!(b.push_with_ecn(t1, ecn, &[0; 1000]));
        }
        assert_eq!(gso_run(&b, t1, 1000, 64), 2);
        b.consume(2);
        assert_eq!(gso_run(&b, t1, 1000, 64), 1);
    }
}
