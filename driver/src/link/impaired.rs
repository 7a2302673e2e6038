//! An impairment wrapper for any link: the seeded
//! [`Impairment`] stage on both
//! directions, timed by the runtime's clock and timer.

use std::io;
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use super::{Framing, Incoming, PacketLink, SendBatch};
use crate::runtime::{Runtime, Timer};
use synack_core::wire::{EcnCodepoint, IpAddrPair};
use synack_core::{FourTuple, Instant};
use synack_link::impair::{Impairment, ImpairmentConfig, ImpairmentStats};

/// Packets a stage holds at most (delayed ones); beyond it, arrivals are
/// dropped as a full router queue drops them.
const MAX_HELD: usize = 8192;

/// A link whose packets, both ways, pass an impairment stage: loss,
/// delay, jitter, duplication and reordering, decided by a seed, timed by
/// runtime `R`'s clock and timer.
pub struct Impaired<L, R: Runtime> {
    inner: L,
    inbound: Impairment,
    outbound: Impairment,
    origin: std::time::Instant,
    timer: R::Timer,
    /// Packets released by the outbound stage, on their way to `inner`.
    out_batch: SendBatch,
    /// Packets dropped because a stage was full.
    overflow: u64,
    /// The counters as the application sees them through
    /// [`Impaired::stats_handle`], brought up to date on every turn.
    shared: ImpairedStats,
    runtime: PhantomData<fn() -> R>,
}

impl<L, R: Runtime> std::fmt::Debug for Impaired<L, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Impaired")
            .field("inbound", &self.inbound.stats())
            .field("outbound", &self.outbound.stats())
            .finish_non_exhaustive()
    }
}

impl<L: PacketLink, R: Runtime> Impaired<L, R> {
    /// Wraps `inner`; each direction gets `config`, with decisions drawn
    /// from `seed` (inbound) and `seed + 1` (outbound).
    pub fn new(inner: L, config: ImpairmentConfig, seed: u64) -> Impaired<L, R> {
        let max = inner.mtu() + 40;
        Impaired {
            inner,
            inbound: Impairment::new(config, seed),
            outbound: Impairment::new(config, seed.wrapping_add(1)),
            origin: R::now(),
            timer: R::Timer::new(),
            out_batch: SendBatch::new(64, max),
            overflow: 0,
            shared: ImpairedStats::default(),
            runtime: PhantomData,
        }
    }

    /// What the stages did: (inbound, outbound).
    pub fn stats(&self) -> (ImpairmentStats, ImpairmentStats) {
        (self.inbound.stats(), self.outbound.stats())
    }

    /// A handle on the link's counters that stays readable after the link
    /// is handed to a stack (which owns it from then on). Take it before:
    /// `let stats = link.stats_handle();`, then `Stack::new(link, …)`, and
    /// later `stats.outbound().dropped`.
    pub fn stats_handle(&self) -> ImpairedStats {
        self.shared.clone()
    }

    /// Packets dropped because a stage already held its maximum (8192).
    pub fn overflow(&self) -> u64 {
        self.overflow
    }

    /// Brings the shared counters up to date.
    fn publish(&self) {
        self.shared.0.inbound.store(&self.inbound.stats());
        self.shared.0.outbound.store(&self.outbound.stats());
        self.shared
            .0
            .overflow
            .store(self.overflow, Ordering::Relaxed);
    }

    /// The wrapped link.
    pub fn get_ref(&self) -> &L {
        &self.inner
    }

    fn now(&self) -> Instant {
        Instant::from_micros(R::now().saturating_duration_since(self.origin).as_micros() as u64)
    }

    /// Arms the timer for the earlier release of the two stages and
    /// registers the waker with it.
    fn arm(&mut self, cx: &mut Context<'_>) {
        let next = match (self.inbound.next_release(), self.outbound.next_release()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(at) = next {
            let deadline = self.origin + std::time::Duration::from_micros(at.total_micros());
            if self.timer.poll_at(cx, deadline).is_ready() {
                cx.waker().wake_by_ref();
            }
        }
    }
}

/// The wrapped link's descriptor, for a reactor the application owns
/// (mio) to register.
impl<L: AsRawFd, R: Runtime> AsRawFd for Impaired<L, R> {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl<L: AsFd, R: Runtime> AsFd for Impaired<L, R> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl<L: PacketLink, R: Runtime> PacketLink for Impaired<L, R> {
    fn framing(&self) -> Framing {
        self.inner.framing()
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.inner.local_addr()
    }

    fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
        deliver: &mut dyn FnMut(Incoming<'_>),
    ) -> Poll<io::Result<usize>> {
        let now = self.now();
        let inbound = &mut self.inbound;
        let overflow = &mut self.overflow;
        let mut scratch = Vec::new();
        let got = self.inner.poll_recv(cx, &mut |packet| {
            if inbound.pending() >= MAX_HELD {
                *overflow += 1;
                return;
            }
            scratch.clear();
            let body = encode_incoming(&mut scratch, packet);
            inbound.push_with_header(now, &scratch, body);
        });
        self.publish();
        if let Poll::Ready(Err(e)) = got {
            return Poll::Ready(Err(e));
        }
        let mut delivered = 0;
        while let Some(packet) = self.inbound.pop_due(now) {
            if let Some(incoming) = decode_incoming(&packet) {
                deliver(incoming);
                delivered += 1;
            }
        }
        self.arm(cx);
        if delivered > 0 || got.is_ready() {
            Poll::Ready(Ok(delivered))
        } else {
            Poll::Pending
        }
    }

    fn poll_send(&mut self, cx: &mut Context<'_>, batch: &mut SendBatch) -> Poll<io::Result<()>> {
        let now = self.now();
        let mut scratch = Vec::new();
        while let Some((tuple, packet)) = batch.get(0) {
            if self.outbound.pending() >= MAX_HELD {
                self.overflow += 1;
            } else {
                // One packet of the batch (one segment of what may go out
                // as a GSO run): impaired on its own, its tuple kept
                // beside it, never corrupted.
                scratch.clear();
                encode_tuple(&mut scratch, &tuple, batch.ecn(0));
                self.outbound.push_with_header(now, &scratch, packet);
            }
            batch.consume(1);
        }
        self.publish();
        loop {
            while self.out_batch.has_room() {
                let Some(packet) = self.outbound.pop_due(now) else {
                    break;
                };
                if let Some((tuple, ecn, rest)) = decode_tuple(&packet) {
                    self.out_batch.push_with_ecn(tuple, ecn, rest);
                }
            }
            let sent = self.inner.poll_send(cx, &mut self.out_batch);
            if let Poll::Ready(Err(e)) = sent {
                return Poll::Ready(Err(e));
            }
            let more_due = self.outbound.next_release().is_some_and(|at| at <= now);
            if sent.is_pending() || !more_due {
                break;
            }
        }
        self.arm(cx);
        // The wrapper always takes the whole batch; what it holds is its
        // own business (released on later turns, its timer wakes the
        // driver).
        Poll::Ready(Ok(()))
    }
}

/// The counters of an [`Impaired`] link, shared with the link: a clone
/// kept by the application reads them while a stack owns the link. Each
/// read is a snapshot as of the link's last turn.
#[derive(Clone, Debug, Default)]
pub struct ImpairedStats(Arc<Shared>);

#[derive(Debug, Default)]
struct Shared {
    inbound: Counters,
    outbound: Counters,
    overflow: AtomicU64,
}

/// [`ImpairmentStats`] in atomics.
#[derive(Debug, Default)]
struct Counters {
    packets: AtomicU64,
    dropped: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
    corrupted: AtomicU64,
}

impl Counters {
    fn store(&self, s: &ImpairmentStats) {
        self.packets.store(s.packets, Ordering::Relaxed);
        self.dropped.store(s.dropped, Ordering::Relaxed);
        self.duplicated.store(s.duplicated, Ordering::Relaxed);
        self.reordered.store(s.reordered, Ordering::Relaxed);
        self.corrupted.store(s.corrupted, Ordering::Relaxed);
    }

    fn load(&self) -> ImpairmentStats {
        ImpairmentStats {
            packets: self.packets.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            duplicated: self.duplicated.load(Ordering::Relaxed),
            reordered: self.reordered.load(Ordering::Relaxed),
            corrupted: self.corrupted.load(Ordering::Relaxed),
        }
    }
}

impl ImpairedStats {
    /// What the stage on arriving packets did.
    pub fn inbound(&self) -> ImpairmentStats {
        self.0.inbound.load()
    }

    /// What the stage on departing packets did.
    pub fn outbound(&self) -> ImpairmentStats {
        self.0.outbound.load()
    }

    /// Packets dropped because a stage already held its maximum.
    pub fn overflow(&self) -> u64 {
        self.0.overflow.load(Ordering::Relaxed)
    }
}

fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
    }
}

fn take_ip(bytes: &[u8], v6: bool) -> Option<(IpAddr, &[u8])> {
    if v6 {
        let octets: [u8; 16] = bytes.get(..16)?.try_into().ok()?;
        Some((IpAddr::V6(Ipv6Addr::from(octets)), &bytes[16..]))
    } else {
        let octets: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
        Some((IpAddr::V4(Ipv4Addr::from(octets)), &bytes[4..]))
    }
}

/// Incoming packets as bytes: a header of a tag (0 IP, 4 or 6 segment)
/// and, for a segment, the addresses and the ECN codepoint, put in `out`;
/// the packet after it is returned.
fn encode_incoming<'a>(out: &mut Vec<u8>, packet: Incoming<'a>) -> &'a [u8] {
    match packet {
        Incoming::Ip(bytes) => {
            out.push(0);
            bytes
        }
        Incoming::Segment {
            addrs,
            segment,
            ecn,
        } => {
            out.push(if addrs.src().is_ipv4() { 4 } else { 6 });
            push_ip(out, addrs.src());
            push_ip(out, addrs.dst());
            out.push(ecn.bits());
            segment
        }
    }
}

fn decode_incoming(bytes: &[u8]) -> Option<Incoming<'_>> {
    let (&tag, rest) = bytes.split_first()?;
    if tag == 0 {
        return Some(Incoming::Ip(rest));
    }
    let (src, rest) = take_ip(rest, tag == 6)?;
    let (dst, rest) = take_ip(rest, tag == 6)?;
    let (&ecn, segment) = rest.split_first()?;
    Some(Incoming::Segment {
        addrs: IpAddrPair::new(src, dst)?,
        segment,
        ecn: EcnCodepoint::from_bits(ecn),
    })
}

/// An outgoing packet's tuple and ECN codepoint as bytes.
fn encode_tuple(out: &mut Vec<u8>, tuple: &FourTuple, ecn: EcnCodepoint) {
    out.push(if tuple.is_ipv4() { 4 } else { 6 });
    for addr in [tuple.local, tuple.remote] {
        push_ip(out, addr.ip());
        out.extend_from_slice(&addr.port().to_be_bytes());
    }
    out.push(ecn.bits());
}

fn decode_tuple(bytes: &[u8]) -> Option<(FourTuple, EcnCodepoint, &[u8])> {
    let (&tag, mut rest) = bytes.split_first()?;
    let mut addrs = [SocketAddr::from(([0, 0, 0, 0], 0)); 2];
    for addr in &mut addrs {
        let (ip, r) = take_ip(rest, tag == 6)?;
        let port = u16::from_be_bytes(r.get(..2)?.try_into().ok()?);
        *addr = SocketAddr::new(ip, port);
        rest = &r[2..];
    }
    let (&ecn, rest) = rest.split_first()?;
    Some((
        FourTuple::new(addrs[0], addrs[1]),
        EcnCodepoint::from_bits(ecn),
        rest,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_packets_keep_their_addresses_and_ecn_codepoint() {
        let addrs =
            IpAddrPair::new("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()).unwrap();
        let mut header = Vec::new();
        let body = encode_incoming(
            &mut header,
            Incoming::Segment {
                addrs,
                segment: b"seg",
                ecn: EcnCodepoint::Ce,
            },
        );
        let held = [header.as_slice(), body].concat();
        let Some(Incoming::Segment {
            addrs: a,
            segment,
            ecn,
        }) = decode_incoming(&held)
        else {
            panic!("not a segment");
        };
        assert_eq!((a, segment, ecn), (addrs, &b"seg"[..], EcnCodepoint::Ce));
        let tuple = FourTuple::new("[::1]:1".parse().unwrap(), "[::2]:2".parse().unwrap());
        let mut header = Vec::new();
        encode_tuple(&mut header, &tuple, EcnCodepoint::Ect0);
        let held = [header.as_slice(), b"data"].concat();
        assert_eq!(
            decode_tuple(&held),
            Some((tuple, EcnCodepoint::Ect0, &b"data"[..]))
        );
    }
}
