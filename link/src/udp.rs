//! UDP encapsulation: each datagram carries one TCP segment (header and
//! payload, no IP header) between two synack stacks.
//!
//! The TCP checksum still covers a pseudo-header built from the UDP
//! endpoints' IP addresses, so the segment is checked end to end as it
//! would be on the wire. The ECN field of the outer IP header stands for
//! the segment's own (RFC 3168 §5): set per send (`IP_TOS` /
//! `IPV6_TCLASS` control messages) and read per receive (`IP_RECVTOS` /
//! `IPV6_RECVTCLASS`, which `quinn-udp` turns on), so routers on the path
//! can mark the inner TCP's packets.

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use quinn_udp::{RecvMeta, Transmit, UdpSockRef, UdpSocketState};
/// The type of [`Received::ecn`] and of [`UdpLink::try_send_from`]'s
/// codepoint.
pub use synack_core::wire::EcnCodepoint;

/// A non-blocking UDP socket with GSO/GRO batching.
#[derive(Debug)]
pub struct UdpLink {
    socket: UdpSocket,
    state: UdpSocketState,
}

/// One datagram (or, with GRO, a run of equal-sized datagrams) received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// Where it came from.
    pub from: SocketAddr,
    /// Bytes written into the buffer.
    pub len: usize,
    /// Size of each datagram in the buffer; the last may be shorter.
    pub stride: usize,
    /// The address it was sent to, where the kernel reports it (needed
    /// when the socket is bound to a wildcard address).
    pub dst_ip: Option<IpAddr>,
    /// The ECN field of its IP header (Not-ECT where the kernel does not
    /// report it); a GRO run shares one.
    pub ecn: EcnCodepoint,
}

/// The codepoint as `quinn-udp` sends it (`None`: Not-ECT).
fn to_quinn(ecn: EcnCodepoint) -> Option<quinn_udp::EcnCodepoint> {
    quinn_udp::EcnCodepoint::from_bits(ecn.bits())
}

/// The codepoint `quinn-udp` received (`None`: Not-ECT, or not reported).
fn from_quinn(ecn: Option<quinn_udp::EcnCodepoint>) -> EcnCodepoint {
    ecn.map_or(EcnCodepoint::NotEct, |e| EcnCodepoint::from_bits(e as u8))
}

/// Most receive buffers one [`UdpLink::try_recv`] fills (recvmmsg batch).
pub const RECV_BATCH: usize = quinn_udp::BATCH_SIZE;

/// The MTU a UDP link announces on paths it knows nothing about: a
/// segment of at most 1472 bytes (this less 20) with its UDP and IPv4
/// headers fills a 1500-byte Ethernet frame.
pub const DEFAULT_MTU: usize = 1492;

/// The loopback interface's MTU when the system does not say (Linux's
/// default since 3.6).
pub const LOOPBACK_INTERFACE_MTU: usize = 65_536;

/// Where Linux tells the loopback interface's MTU.
const LOOPBACK_MTU_FILE: &str = "/sys/class/net/lo/mtu";

/// The MTU a UDP link bound to `local` announces, in the sense of a
/// packet link's MTU: the segment it carries plus the 20 bytes of an IPv4
/// header, so the stack's MSS (MTU less 40) fills a datagram.
///
/// A socket bound to a loopback address (127.0.0.0/8, `::1`, or either
/// IPv4-mapped) only reaches loopback peers, so its datagrams may be as
/// large as the loopback interface carries without IP fragmentation: its
/// MTU (read from `/sys/class/net/lo/mtu`, else
/// [`LOOPBACK_INTERFACE_MTU`]) less the IP and UDP headers, and no more
/// than an IP packet's 16-bit length allows. For IPv4 with the usual
/// 65,536-byte loopback that is a 65,507-byte segment (MTU 65,527, MSS
/// 65,487); for IPv6, 65,488 bytes. Any other address (a wildcard one
/// included: its peers may be anywhere) gets [`DEFAULT_MTU`].
pub fn auto_mtu(local: IpAddr) -> usize {
    if !is_loopback(local) {
        return DEFAULT_MTU;
    }
    let interface = std::fs::read_to_string(LOOPBACK_MTU_FILE)
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|&mtu| mtu >= 1280)
        .unwrap_or(LOOPBACK_INTERFACE_MTU);
    loopback_mtu(interface, local_is_ipv4(local))
}

/// [`auto_mtu`] for a loopback interface of MTU `interface`: the largest
/// UDP payload an unfragmented datagram carries over it, plus 20.
fn loopback_mtu(interface: usize, ipv4: bool) -> usize {
    // IPv4's total length covers its header; IPv6's payload length does
    // not, and the interface MTU bounds both.
    let payload = if ipv4 {
        interface.min(65_535).saturating_sub(20 + 8)
    } else {
        interface.min(65_535 + 40).saturating_sub(40 + 8)
    };
    (payload + 20).min(65_535)
}

/// Whether `ip` is a loopback address, IPv4-mapped ones included.
fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Whether datagrams from a socket bound to `ip` travel in IPv4.
fn local_is_ipv4(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(_) => true,
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some(),
    }
}

impl UdpLink {
    /// Binds a socket to `addr` (port 0 picks one) and configures it for
    /// batching.
    pub fn bind(addr: SocketAddr) -> io::Result<UdpLink> {
        let socket = UdpSocket::bind(addr)?;
        UdpLink::from_std(socket)
    }

    /// Takes over a bound socket; it is made non-blocking.
    pub fn from_std(socket: UdpSocket) -> io::Result<UdpLink> {
        let state = UdpSocketState::new(UdpSockRef::from(&socket))?;
        socket.set_nonblocking(true)?;
        Ok(UdpLink { socket, state })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The MTU the link's path allows: [`auto_mtu`] of the bound address
    /// (loopback's when bound to a loopback address, [`DEFAULT_MTU`]
    /// otherwise).
    pub fn path_mtu(&self) -> io::Result<usize> {
        Ok(auto_mtu(self.local_addr()?.ip()))
    }

    /// The socket, for registering with a reactor.
    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// How many equal-sized datagrams one [`UdpLink::try_send`] may carry
    /// (1 without GSO).
    pub fn max_batch(&self) -> usize {
        self.state.max_gso_segments()
    }

    /// How many datagrams one receive buffer may hold (1 without GRO): size
    /// receive buffers as `gro_segments() × 65535`.
    pub fn gro_segments(&self) -> usize {
        self.state.gro_segments()
    }

    /// Asks the kernel for socket buffers of `send` and `recv` bytes (it
    /// may grant less: Linux caps them at `net.core.wmem_max` and
    /// `rmem_max`). Larger buffers absorb bursts on fast paths.
    pub fn set_buffer_sizes(&self, send: usize, recv: usize) -> io::Result<()> {
        let sock = UdpSockRef::from(&self.socket);
        self.state.set_send_buffer_size(sock, send)?;
        let sock = UdpSockRef::from(&self.socket);
        self.state.set_recv_buffer_size(sock, recv)
    }

    /// Sends `contents` to `to`: one datagram, or with `stride` set, a run
    /// of datagrams of `stride` bytes each (the last may be shorter),
    /// handed to the kernel at once (GSO), Not-ECT. `WouldBlock` when the
    /// socket buffer is full; other errors as the kernel reports them.
    pub fn try_send(
        &self,
        to: SocketAddr,
        contents: &[u8],
        stride: Option<usize>,
    ) -> io::Result<()> {
        self.try_send_from(None, to, contents, stride, EcnCodepoint::NotEct)
    }

    /// Like [`UdpLink::try_send`], from source address `src_ip` (for
    /// sockets bound to a wildcard address, so replies leave from the
    /// address the peer used) and with `ecn` in the IP header of every
    /// datagram.
    pub fn try_send_from(
        &self,
        src_ip: Option<IpAddr>,
        to: SocketAddr,
        contents: &[u8],
        stride: Option<usize>,
        ecn: EcnCodepoint,
    ) -> io::Result<()> {
        let transmit = Transmit {
            destination: to,
            ecn: to_quinn(ecn),
            contents,
            segment_size: stride.filter(|s| *s < contents.len()),
            src_ip,
        };
        self.state
            .try_send(UdpSockRef::from(&self.socket), &transmit)
    }

    /// Receives into `bufs`, one run of datagrams per buffer, and describes
    /// them in `out` (as many entries as buffers filled, returned). At most
    /// [`RECV_BATCH`] buffers are filled per call.
    pub fn try_recv(&self, bufs: &mut [IoSliceMut<'_>], out: &mut [Received]) -> io::Result<usize> {
        let n = bufs.len().min(out.len()).min(RECV_BATCH);
        let mut meta = [RecvMeta::default(); RECV_BATCH];
        let got = self
            .state
            .recv(UdpSockRef::from(&self.socket), &mut bufs[..n], &mut meta)?;
        for (slot, m) in out.iter_mut().zip(&meta[..got]) {
            *slot = Received {
                from: m.addr,
                len: m.len,
                stride: m.stride.max(1),
                dst_ip: m.dst_ip,
                ecn: from_quinn(m.ecn),
            };
        }
        Ok(got)
    }

    /// Whether a [`UdpLink::try_recv`] that filled fewer buffers than it
    /// was given left the socket's queue empty. True where the receive is
    /// one `recvmmsg` (Linux, Android), which stops early only when the
    /// next datagram's receive returns `EAGAIN` or an error (an error
    /// that was pending before the call is reported by the call itself,
    /// with nothing received); a caller may then skip the receive that
    /// would only find the queue empty. False where datagrams are
    /// received one per call.
    pub fn short_recv_drains(&self) -> bool {
        cfg!(any(target_os = "linux", target_os = "android")) && RECV_BATCH > 1
    }
}

impl AsRawFd for UdpLink {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl AsFd for UdpLink {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait_recv(link: &UdpLink, buf: &mut [u8]) -> Received {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut out = [Received {
                from: link.local_addr().unwrap(),
                len: 0,
                stride: 0,
                dst_ip: None,
                ecn: EcnCodepoint::NotEct,
            }];
            let mut bufs = [IoSliceMut::new(buf)];
            match link.try_recv(&mut bufs, &mut out) {
                Ok(1) => return out[0],
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("recv: {e}"),
            }
            assert!(Instant::now() < deadline, "nothing arrived");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn loopback_binds_get_the_largest_unfragmented_datagram_others_1492() {
        // 65,536-byte loopback: IPv4 packets stop at 65,535 bytes.
        assert_eq!(loopback_mtu(65_536, true), 65_507 + 20);
        assert_eq!(loopback_mtu(65_536, false), 65_488 + 20);
        assert_eq!(loopback_mtu(16_436, true), 16_436 - 28 + 20);
        assert_eq!(loopback_mtu(1_500, false), 1_452 + 20);
        for ip in ["0.0.0.0", "::", "192.0.2.1", "2001:db8::1"] {
            assert_eq!(auto_mtu(ip.parse().unwrap()), DEFAULT_MTU, "{ip}");
        }
        for ip in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            let mtu = auto_mtu(ip.parse().unwrap());
            assert!((1_280..=65_535).contains(&mtu), "{ip}: {mtu}");
        }
    }

    #[test]
    fn the_ecn_field_crosses_loopback_both_ways() {
        for ip in ["127.0.0.1:0", "[::1]:0"] {
            let Ok(a) = UdpLink::bind(ip.parse().unwrap()) else {
                continue; // no IPv6 here
            };
            let b = UdpLink::bind(ip.parse().unwrap()).unwrap();
            let mut buf = vec![0u8; 65_536 * b.gro_segments().max(1)];
            for ecn in [
                EcnCodepoint::Ect0,
                EcnCodepoint::Ce,
                EcnCodepoint::NotEct,
                EcnCodepoint::Ect1,
            ] {
                a.try_send_from(None, b.local_addr().unwrap(), b"marked", None, ecn)
                    .unwrap();
                let got = wait_recv(&b, &mut buf);
                assert_eq!(&buf[..got.len], b"marked");
                assert_eq!(got.ecn, ecn, "{ip}");
            }
        }
    }

    #[test]
    fn the_largest_loopback_datagram_crosses_whole() {
        let a = UdpLink::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let b = UdpLink::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let _ = b.set_buffer_sizes(1 << 20, 1 << 20);
        // The segment the link's MTU allows (MTU less 20), at most what
        // one IPv4 datagram carries.
        let segment = a.path_mtu().unwrap() - 20;
        assert!(segment <= 65_507);
        let data: Vec<u8> = (0..segment).map(|i| (i % 251) as u8).collect();
        a.try_send(b.local_addr().unwrap(), &data, None).unwrap();
        let mut buf = vec![0u8; 65_536 * b.gro_segments().max(1)];
        let got = wait_recv(&b, &mut buf);
        assert_eq!(got.len, segment);
        assert_eq!(&buf[..got.len], &data[..]);
    }

    #[test]
    fn datagrams_cross_loopback_singly_and_batched() {
        let a = UdpLink::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let b = UdpLink::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let to = b.local_addr().unwrap();
        a.try_send(to, b"one segment", None).unwrap();
        let mut buf = vec![0u8; 65535 * b.gro_segments().max(1)];
        let got = wait_recv(&b, &mut buf);
        assert_eq!(&buf[..got.len], b"one segment");
        assert_eq!(got.from, a.local_addr().unwrap());
        // Three datagrams of 100, 100 and 50 bytes in one call: they arrive
        // as three datagrams (or one GRO run with stride 100).
        let batch: Vec<u8> = (0..250u32).map(|i| (i / 100) as u8).collect();
        let stride = if a.max_batch() > 1 { Some(100) } else { None };
        if stride.is_some() {
            a.try_send(to, &batch, stride).unwrap();
        } else {
            for chunk in batch.chunks(100) {
                a.try_send(to, chunk, None).unwrap();
            }
        }
        let mut received = Vec::new();
        while received.len() < 250 {
            let got = wait_recv(&b, &mut buf);
            for d in buf[..got.len].chunks(got.stride) {
                assert!(d.len() == 100 || d.len() == 50);
                received.extend_from_slice(d);
            }
        }
        assert_eq!(received, batch);
    }
}
