//! Two synack endpoints beside two smoltcp interfaces, over the same
//! in-memory packet queues, in the same virtual time.
//!
//! Each [`Pair`] is a client and a server of one TCP stack, joined by two
//! [`Queue`]s of whole IPv4 packets (MTU [`MTU`]). One loop, [`run`],
//! drives either: the application writes what the client's send buffer
//! takes and reads what the server has; the client takes in every packet
//! queued for it and sends what it has; then the server does the same.
//! The virtual clock moves [`TICK`] per round while packets flow, and
//! jumps to the earliest timer of the two sides when a round moved
//! nothing. Nothing is lost, reordered or delayed beyond that. The bytes
//! are a pseudo-random pattern with a period of [`PATTERN_PERIOD`] bytes
//! (a prime, so it lines up with no segment size); the reader compares
//! every byte it reads against it and the transfer must end with exactly
//! the bytes sent, so a broken transfer fails instead of being measured.
//!
//! The stacks run with equal buffers ([`BUFFER`] for sending and
//! receiving on both sides; synack's receive-buffer auto-tuning is capped
//! at the same size) and their own defaults otherwise: synack with NewReno,
//! pacing, SACK, timestamps and delayed ACKs; smoltcp 0.14 as built here
//! (`alloc`, `proto-ipv4`, `medium-ip`, `socket-tcp`) has no congestion
//! control, and its default ACK delay.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant as WallInstant;

use smoltcp::iface::{Config as IfaceConfig, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::Instant as SmolInstant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use synack_core::conn::Error as ConnError;
use synack_core::endpoint::{ConnectionHandle, ListenerId};
use synack_core::{Endpoint, EndpointConfig, Instant};

/// The largest packet on the queues, for both stacks.
pub const MTU: usize = 1500;
/// Send and receive buffer of every connection and socket: 256 KiB.
pub const BUFFER: usize = 256 * 1024;
/// Virtual time per round of the loop while packets flow, in µs.
pub const TICK: u64 = 10;
/// Period of the byte pattern: a prime near 1 MiB.
pub const PATTERN_PERIOD: usize = 1_048_573;
/// Virtual time a transfer may take before it counts as stalled, in µs.
const VIRTUAL_LIMIT: u64 = 3_600_000_000;
/// Where the virtual clock starts, in µs.
const START: u64 = 1_000_000;
/// Most consecutive rounds without progress and without a timer.
const MAX_IDLE_ROUNDS: u32 = 1000;

const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const SERVER_PORT: u16 = 5001;
const CLIENT_PORT: u16 = 49152;

/// A one-way queue of whole IP packets, with a pool of spare buffers so
/// that moving a packet allocates nothing once the pool has filled.
#[derive(Debug, Default)]
pub struct Queue {
    packets: VecDeque<Vec<u8>>,
    spare: Vec<Vec<u8>>,
    /// Packets pushed so far.
    pub pushed: u64,
}

impl Queue {
    /// An empty queue.
    pub fn new() -> Queue {
        Queue::default()
    }

    /// A buffer of `len` bytes to fill and [`push`](Queue::push).
    pub fn buffer(&mut self, len: usize) -> Vec<u8> {
        let mut b = self.spare.pop().unwrap_or_else(|| Vec::with_capacity(MTU));
        b.resize(len, 0);
        b
    }

    /// Queues a packet.
    pub fn push(&mut self, packet: Vec<u8>) {
        self.pushed += 1;
        self.packets.push_back(packet);
    }

    /// Takes the oldest packet; hand it back with [`Queue::recycle`].
    pub fn pop(&mut self) -> Option<Vec<u8>> {
        self.packets.pop_front()
    }

    /// Returns a packet's buffer to the pool.
    pub fn recycle(&mut self, packet: Vec<u8>) {
        self.spare.push(packet);
    }

    /// True when no packet waits.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }
}

/// The bytes of one transfer: written from the pattern, read back and
/// compared with it.
pub struct Transfer {
    pattern: Vec<u8>,
    /// Bytes to move.
    pub total: u64,
    /// Bytes the client's stack has taken.
    pub written: u64,
    /// Bytes read at the server, all checked.
    pub read: u64,
    scratch: Vec<u8>,
}

impl Transfer {
    /// A transfer of `total` bytes.
    pub fn new(total: u64) -> Transfer {
        let mut pattern = vec![0u8; PATTERN_PERIOD];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for chunk in pattern.chunks_mut(8) {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let bytes = x.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Transfer {
            pattern,
            total,
            written: 0,
            read: 0,
            scratch: vec![0; 64 * 1024],
        }
    }

    /// The next bytes to write: up to the end of the pattern or of the
    /// transfer (empty once all is written).
    fn unwritten(&self) -> &[u8] {
        let at = (self.written % PATTERN_PERIOD as u64) as usize;
        let left = self.total - self.written;
        let n = (PATTERN_PERIOD - at).min(usize::try_from(left).unwrap_or(usize::MAX));
        &self.pattern[at..at + n]
    }

    /// Checks `n` bytes just read into the scratch buffer; panics on a
    /// byte out of place or one too many.
    fn check(&mut self, n: usize) {
        assert!(
            self.read + n as u64 <= self.total,
            "more bytes arrived than were sent"
        );
        let mut got = &self.scratch[..n];
        let mut pos = self.read;
        while !got.is_empty() {
            let at = (pos % PATTERN_PERIOD as u64) as usize;
            let k = got.len().min(PATTERN_PERIOD - at);
            assert!(
                got[..k] == self.pattern[at..at + k],
                "corrupt data in bytes {pos}..{}",
                pos + k as u64
            );
            got = &got[k..];
            pos += k as u64;
        }
        self.read += n as u64;
    }

    /// True once every byte arrived intact.
    pub fn done(&self) -> bool {
        self.read == self.total
    }
}

/// A client and a server of one TCP stack, for [`run`].
pub trait Pair {
    /// The stack's name in reports.
    fn name(&self) -> &'static str;
    /// The application's turn: write what the client takes, read and
    /// check what the server has. True if any byte moved or the
    /// connection was set up.
    fn app(&mut self, now: u64, xfer: &mut Transfer) -> bool;
    /// One side (the server, or the client) takes in every packet queued
    /// on `rx`, runs due timers, and queues what it sends on `tx`.
    fn poll(&mut self, server: bool, now: u64, rx: &mut Queue, tx: &mut Queue);
    /// The earliest timer of the two sides, in µs of virtual time.
    fn deadline(&mut self, now: u64) -> Option<u64>;
}

/// What one run measured.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The stack.
    pub name: &'static str,
    /// Bytes moved (all checked).
    pub bytes: u64,
    /// Wall time of the whole run (handshake included), in seconds.
    pub wall_secs: f64,
    /// Virtual time it took, in seconds.
    pub virtual_secs: f64,
    /// Packets client → server.
    pub packets_to_server: u64,
    /// Packets server → client.
    pub packets_to_client: u64,
}

impl Outcome {
    /// Bytes per wall-clock second.
    pub fn bytes_per_sec(&self) -> f64 {
        self.bytes as f64 / self.wall_secs.max(1e-9)
    }
}

/// Moves `bytes` from the client to the server of `pair`; panics if the
/// transfer stalls or any byte arrives wrong.
pub fn run(pair: &mut dyn Pair, bytes: u64) -> Outcome {
    let mut xfer = Transfer::new(bytes);
    let mut to_server = Queue::new();
    let mut to_client = Queue::new();
    let mut now = START;
    let mut idle = 0;
    let started = WallInstant::now();
    while !xfer.done() {
        let moved = pair.app(now, &mut xfer);
        pair.poll(false, now, &mut to_client, &mut to_server);
        pair.poll(true, now, &mut to_server, &mut to_client);
        if moved || !to_server.is_empty() || !to_client.is_empty() {
            idle = 0;
            now += TICK;
        } else {
            // Nothing moved: skip to the next timer.
            match pair.deadline(now) {
                Some(at) if at > now => {
                    idle = 0;
                    now = at;
                }
                _ => {
                    idle += 1;
                    assert!(
                        idle < MAX_IDLE_ROUNDS,
                        "{}: transfer stalled at {} of {bytes} bytes",
                        pair.name(),
                        xfer.read
                    );
                    now += TICK;
                }
            }
        }
        assert!(
            now - START < VIRTUAL_LIMIT,
            "{}: transfer took too long",
            pair.name()
        );
    }
    let wall_secs = started.elapsed().as_secs_f64();
    assert_eq!(xfer.read, bytes);
    assert_eq!(xfer.written, bytes);
    Outcome {
        name: pair.name(),
        bytes,
        wall_secs,
        virtual_secs: (now - START) as f64 / 1e6,
        packets_to_server: to_server.pushed,
        packets_to_client: to_client.pushed,
    }
}

/// Two synack [`Endpoint`]s, driven with whole IPv4 packets.
pub struct SynackPair {
    client: Endpoint,
    server: Endpoint,
    listener: ListenerId,
    conn: ConnectionHandle,
    accepted: Option<ConnectionHandle>,
}

impl SynackPair {
    /// A client connecting to a listening server, at the start of virtual
    /// time.
    pub fn new() -> SynackPair {
        let config = |secret| {
            let mut c = EndpointConfig::new([secret; 16]);
            c.conn.mtu = MTU;
            c.conn.send_buffer = BUFFER;
            c.conn.recv_buffer = BUFFER;
            c.conn.recv_buffer_max = BUFFER;
            c
        };
        let mut client = Endpoint::new(config(1)).expect("valid configuration");
        let mut server = Endpoint::new(config(2)).expect("valid configuration");
        let server_addr = SocketAddr::new(IpAddr::V4(SERVER_IP), SERVER_PORT);
        let listener = server.listen(server_addr).expect("listen");
        let conn = client
            .connect(
                IpAddr::V4(CLIENT_IP),
                server_addr,
                Instant::from_micros(START),
            )
            .expect("connect");
        SynackPair {
            client,
            server,
            listener,
            conn,
            accepted: None,
        }
    }
}

impl Default for SynackPair {
    fn default() -> SynackPair {
        SynackPair::new()
    }
}

impl Pair for SynackPair {
    fn name(&self) -> &'static str {
        "synack"
    }

    fn app(&mut self, now: u64, xfer: &mut Transfer) -> bool {
        let now = Instant::from_micros(now);
        let mut moved = false;
        // Events are not needed: drain them so they do not pile up.
        while self.client.poll_event().is_some() {}
        while self.server.poll_event().is_some() {}
        if self.accepted.is_none() {
            self.accepted = self.server.accept(self.listener);
            moved |= self.accepted.is_some();
        }
        let conn = self.client.connection_mut(self.conn).expect("live");
        while xfer.written < xfer.total {
            match conn.write(xfer.unwritten()) {
                Ok(n) => {
                    xfer.written += n as u64;
                    moved |= n > 0;
                }
                Err(ConnError::WouldBlock) => break,
                Err(e) => panic!("synack write failed: {e}"),
            }
        }
        if let Some(s) = self.accepted {
            let conn = self.server.connection_mut(s).expect("live");
            loop {
                match conn.read(now, &mut xfer.scratch) {
                    Ok(0) | Err(ConnError::WouldBlock) => break,
                    Ok(n) => {
                        xfer.check(n);
                        moved = true;
                    }
                    Err(e) => panic!("synack read failed: {e}"),
                }
            }
        }
        moved
    }

    fn poll(&mut self, server: bool, now: u64, rx: &mut Queue, tx: &mut Queue) {
        let now = Instant::from_micros(now);
        let ep = if server {
            &mut self.server
        } else {
            &mut self.client
        };
        while let Some(p) = rx.pop() {
            ep.handle_ip_packet(now, &p);
            rx.recycle(p);
        }
        if ep.poll_timeout().is_some_and(|at| at <= now) {
            ep.handle_timeout(now);
        }
        let mut buf = tx.buffer(MTU);
        while let Some(t) = ep.poll_transmit_ip(now, &mut buf) {
            buf.truncate(t.len);
            tx.push(buf);
            buf = tx.buffer(MTU);
        }
        tx.recycle(buf);
    }

    fn deadline(&mut self, _now: u64) -> Option<u64> {
        [self.client.poll_timeout(), self.server.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .map(Instant::total_micros)
    }
}

/// smoltcp's device over a pair of [`Queue`]s: medium IP, MTU [`MTU`].
struct QueueDevice<'q> {
    rx: &'q mut Queue,
    tx: &'q mut Queue,
}

/// A received packet; its buffer goes back to the pool of the queue it
/// came from.
struct QueueRxToken<'q> {
    packet: Vec<u8>,
    pool: &'q mut Vec<Vec<u8>>,
}

/// Room for one packet on the outgoing queue.
struct QueueTxToken<'q> {
    tx: &'q mut Queue,
}

impl phy::RxToken for QueueRxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        let r = f(&self.packet);
        self.pool.push(self.packet);
        r
    }
}

impl phy::TxToken for QueueTxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let mut buf = self.tx.buffer(len);
        let r = f(&mut buf);
        self.tx.push(buf);
        r
    }
}

impl phy::Device for QueueDevice<'_> {
    type RxToken<'a>
        = QueueRxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = QueueTxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, _: SmolInstant) -> Option<(QueueRxToken<'_>, QueueTxToken<'_>)> {
        let packet = self.rx.pop()?;
        Some((
            QueueRxToken {
                packet,
                pool: &mut self.rx.spare,
            },
            QueueTxToken { tx: self.tx },
        ))
    }

    fn transmit(&mut self, _: SmolInstant) -> Option<QueueTxToken<'_>> {
        Some(QueueTxToken { tx: self.tx })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = MTU;
        caps
    }
}

/// One smoltcp interface with one TCP socket.
struct SmolHost {
    iface: Interface,
    sockets: SocketSet<'static>,
    socket: SocketHandle,
}

impl SmolHost {
    fn new(ip: Ipv4Addr) -> SmolHost {
        let (mut rx, mut tx) = (Queue::new(), Queue::new());
        let mut device = QueueDevice {
            rx: &mut rx,
            tx: &mut tx,
        };
        let mut iface = Interface::new(
            IfaceConfig::new(HardwareAddress::Ip),
            &mut device,
            smol_now(START),
        );
        iface.update_ip_addrs(|addrs| {
            addrs
                .push(IpCidr::new(IpAddress::Ipv4(ip), 24))
                .expect("room for one address");
        });
        let socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; BUFFER]),
            tcp::SocketBuffer::new(vec![0; BUFFER]),
        );
        let mut sockets = SocketSet::new(Vec::new());
        let socket = sockets.add(socket);
        SmolHost {
            iface,
            sockets,
            socket,
        }
    }

    fn tcp(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(self.socket)
    }
}

fn smol_now(micros: u64) -> SmolInstant {
    SmolInstant::from_micros(i64::try_from(micros).expect("virtual time fits"))
}

/// Two smoltcp [`Interface`]s (medium IP), one TCP socket each.
pub struct SmoltcpPair {
    client: SmolHost,
    server: SmolHost,
}

impl SmoltcpPair {
    /// A client socket connecting to a listening server socket.
    pub fn new() -> SmoltcpPair {
        let mut client = SmolHost::new(CLIENT_IP);
        let mut server = SmolHost::new(SERVER_IP);
        server.tcp().listen(SERVER_PORT).expect("listen");
        let cx = client.iface.context();
        client
            .sockets
            .get_mut::<tcp::Socket>(client.socket)
            .connect(cx, (IpAddress::Ipv4(SERVER_IP), SERVER_PORT), CLIENT_PORT)
            .expect("connect");
        SmoltcpPair { client, server }
    }
}

impl Default for SmoltcpPair {
    fn default() -> SmoltcpPair {
        SmoltcpPair::new()
    }
}

impl Pair for SmoltcpPair {
    fn name(&self) -> &'static str {
        "smoltcp"
    }

    fn app(&mut self, _now: u64, xfer: &mut Transfer) -> bool {
        let mut moved = false;
        let c = self.client.tcp();
        while xfer.written < xfer.total && c.can_send() {
            match c.send_slice(xfer.unwritten()) {
                Ok(0) => break,
                Ok(n) => {
                    xfer.written += n as u64;
                    moved = true;
                }
                Err(e) => panic!("smoltcp send failed: {e}"),
            }
        }
        let s = self.server.tcp();
        while s.can_recv() {
            match s.recv_slice(&mut xfer.scratch) {
                Ok(0) => break,
                Ok(n) => {
                    xfer.check(n);
                    moved = true;
                }
                Err(e) => panic!("smoltcp receive failed: {e}"),
            }
        }
        moved
    }

    fn poll(&mut self, server: bool, now: u64, rx: &mut Queue, tx: &mut Queue) {
        let host = if server {
            &mut self.server
        } else {
            &mut self.client
        };
        let mut device = QueueDevice { rx, tx };
        host.iface
            .poll(smol_now(now), &mut device, &mut host.sockets);
    }

    fn deadline(&mut self, now: u64) -> Option<u64> {
        let t = smol_now(now);
        [&mut self.client, &mut self.server]
            .into_iter()
            .filter_map(|h| h.iface.poll_at(t, &h.sockets))
            .min()
            .map(|at| u64::try_from(at.total_micros()).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK: u64 = 1024 * 1024;

    #[test]
    fn synack_moves_one_mebibyte_intact() {
        let o = run(&mut SynackPair::new(), QUICK);
        assert_eq!(o.bytes, QUICK);
        // At least one full-sized segment per 1460 bytes.
        assert!(o.packets_to_server >= QUICK / 1460, "{o:?}");
        assert!(o.packets_to_client > 0, "{o:?}");
    }

    #[test]
    fn smoltcp_moves_one_mebibyte_intact() {
        let o = run(&mut SmoltcpPair::new(), QUICK);
        assert_eq!(o.bytes, QUICK);
        assert!(o.packets_to_server >= QUICK / 1460, "{o:?}");
        assert!(o.packets_to_client > 0, "{o:?}");
    }

    #[test]
    fn a_corrupt_byte_is_caught() {
        let mut xfer = Transfer::new(4096);
        xfer.scratch[..100].copy_from_slice(&xfer.pattern[..100]);
        xfer.check(100);
        // The next bytes, one of them flipped.
        let next = xfer.pattern[100..200].to_vec();
        xfer.scratch[..100].copy_from_slice(&next);
        xfer.scratch[57] ^= 1;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| xfer.check(100)));
        assert!(r.is_err(), "a flipped byte must fail the check");
    }

    #[test]
    fn the_pattern_wraps_at_its_period() {
        let total = PATTERN_PERIOD as u64 + 5000;
        let mut xfer = Transfer::new(total);
        xfer.written = PATTERN_PERIOD as u64 - 10;
        assert_eq!(xfer.unwritten().len(), 10);
        xfer.written = PATTERN_PERIOD as u64;
        assert_eq!(xfer.unwritten().len(), 5000);
        assert_eq!(xfer.unwritten()[..8], xfer.pattern[..8]);
    }
}
