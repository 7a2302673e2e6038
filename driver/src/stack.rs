//! The stack: a core [`Endpoint`] and a link, driven by one [`Driver`].
//!
//! # How the driver works
//!
//! The endpoint lives in a `Mutex` shared by the driver and the
//! application's streams and listeners; nobody holds it across an await.
//! Streams call into the endpoint under the lock (`read`, `write`,
//! `shutdown`), leave their waker in a per-connection slot when they must
//! wait, and wake the driver when they changed something it must act on.
//! The driver, on each turn:
//!
//! 1. receives a batch from the link and hands every packet to the
//!    endpoint (`handle_segment` or `handle_ip_packet`);
//! 2. runs the endpoint's timers if the deadline has passed;
//! 3. drains `poll_event` and wakes the streams the events concern, and
//!    every task waiting to accept on a listener that has connections;
//! 4. fills the send batch from `poll_transmit` (or `poll_transmit_ip`)
//!    while it has room, takes the events sending raised, and hands the
//!    batch to the link;
//! 5. arms the runtime's timer for `poll_timeout`.
//!
//! It sleeps when the link has nothing to give, the batch is sent (or the
//! link is full), no stream woke it and the timer has not fired. Every
//! queue is bounded: the send batch has a fixed size, and when the link
//! cannot take it the driver stops pulling segments, so unsent data waits
//! in the connections' send buffers, whose size bounds the writers.
//!
//! The driver is a plain `Future`; an adapter spawns it on its runtime
//! (tokio) or hands it to the application to spawn or poll (smol). The
//! only runtime pieces it uses are the [`Runtime`]'s clock and timer, and
//! the link's reactor registration.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use synack_core::conn::{CloseReason, Config, Event, Stats};
use synack_core::endpoint::{
    ConnectionHandle, Endpoint, EndpointConfig, EndpointError, EndpointStats, ListenerId,
};
use synack_core::{FourTuple, Instant};

use crate::error;
use crate::link::{Framing, Incoming, PacketLink, SendBatch};
use crate::listener::Listener;
use crate::runtime::{Runtime, Timer};
use crate::socket::Socket;
use crate::stream::Stream;

/// A connection's send buffer holds at least this many packets of the
/// link's MTU (the stack raises `send_buffer` to it: with 64 KiB
/// loopback segments, 4 MiB).
pub const MIN_SEND_BUFFER_PACKETS: usize = 64;

/// Most bytes of packets the driver's send batch holds, unless that is
/// fewer than [`MIN_SEND_BATCH`] packets.
const SEND_BATCH_BYTES: usize = 1 << 20;
/// Fewest packets in the send batch.
const MIN_SEND_BATCH: usize = 8;

/// How a [`Stack`] is set up.
#[derive(Clone, Debug)]
pub struct StackConfig {
    /// The endpoint's settings, connections' defaults included
    /// (`endpoint.conn`: buffers, congestion control, Nagle, user
    /// timeout…). Its MTU is replaced by the link's, and its send buffer
    /// raised to hold at least 64 packets of that MTU (no change at 1500
    /// bytes; 4 MiB with loopback's 64 KiB packets), so several segments
    /// are in flight whatever their size.
    pub endpoint: EndpointConfig,
    /// The address connections are opened from. `None`: the link's own
    /// address (a UDP socket's IP), which must then be a specific one.
    pub local_ip: Option<IpAddr>,
    /// Packets the driver hands the link at once (a GSO batch is made of
    /// runs inside it). On links with large packets the batch holds
    /// fewer: about 1 MiB of them, and at least 8 (with loopback's
    /// 64 KiB segments, 15).
    pub send_batch: usize,
    /// Driver turns before it yields to other tasks.
    pub turns_per_poll: usize,
    /// Wait for deadlines nearer than the runtime timer's resolution (a
    /// millisecond for tokio and async-io) by yielding to the runtime
    /// instead of sleeping, so
    /// sub-millisecond timers (RACK, tail-loss probes, pacing at loopback
    /// RTTs) fire on time, at the cost of CPU while such a deadline is
    /// pending. Off by default: on loopback with 1% loss it made more
    /// tail-loss probes and retransmission timeouts fire and lowered
    /// goodput (BENCHMARKS.md), and without loss it changed nothing
    /// measurable.
    pub precise_timers: bool,
}

impl Default for StackConfig {
    /// Linux-like endpoint defaults around a secret from the operating
    /// system's random source.
    fn default() -> StackConfig {
        let mut secret = [0u8; 16];
        // Without an OS random source, fall back to the clock: still
        // distinct per process, not secret.
        if getrandom::fill(&mut secret).is_err() {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            secret = (t ^ u128::from(std::process::id())).to_le_bytes();
        }
        StackConfig {
            endpoint: EndpointConfig::new(secret),
            local_ip: None,
            send_batch: 64,
            turns_per_poll: 32,
            precise_timers: false,
        }
    }
}

/// Per-connection state the adapter keeps: wakers, and what the events
/// said. The connection itself stays in the endpoint, ended or not, until
/// its stream releases it.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    pub(crate) read: Option<Waker>,
    pub(crate) write: Option<Waker>,
    pub(crate) connected: bool,
    pub(crate) closed: Option<CloseReason>,
    /// The wakers stay after waking: every event wakes them, not only the
    /// first after an operation would block (`Stream::set_event_wakers`).
    pub(crate) keep_wakers: bool,
    /// A failure (reset, timeout) was reported to a read or write: as a
    /// kernel socket's pending error, it is reported once.
    pub(crate) failure_reported: bool,
    /// Dropping the stream aborts the connection (linger zero).
    pub(crate) abort_on_drop: bool,
}

/// What the lock protects.
pub(crate) struct State {
    pub(crate) ep: Endpoint,
    pub(crate) slots: HashMap<ConnectionHandle, Slot>,
    /// Every task waiting in `accept()`, per listener: all are woken when
    /// connections wait to be accepted (as a kernel socket wakes every
    /// waiter), and those that find none wait again.
    pub(crate) accept_wakers: HashMap<ListenerId, Vec<Waker>>,
    driver: Option<Waker>,
    /// Set when the driver stopped; every operation fails with it.
    pub(crate) failed: Option<Option<(io::ErrorKind, String)>>,
}

impl State {
    /// Wakes the driver (it runs `poll_transmit` and re-reads the
    /// deadline): after the application changed a connection.
    pub(crate) fn kick(&mut self) -> Option<Waker> {
        self.driver.take()
    }

    pub(crate) fn check_running(&self) -> io::Result<()> {
        match &self.failed {
            Some(why) => Err(error::stopped(why)),
            None => Ok(()),
        }
    }
}

pub(crate) struct Shared {
    state: Mutex<State>,
    /// The runtime's clock and the instant the stack started: core time
    /// is the microseconds between them.
    clock: fn() -> std::time::Instant,
    origin: std::time::Instant,
    local_ip: Option<IpAddr>,
    framing: Framing,
    link_addr: Option<SocketAddr>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The core's clock: microseconds since the stack started.
    pub(crate) fn now(&self) -> Instant {
        let elapsed = (self.clock)().saturating_duration_since(self.origin);
        Instant::from_micros(elapsed.as_micros() as u64)
    }

    fn deadline(&self, at: Instant) -> std::time::Instant {
        self.origin + std::time::Duration::from_micros(at.total_micros())
    }
}

/// A synack TCP stack over one link: the place connections are opened
/// and listeners bound. Cheap to clone; its [`Driver`] runs while any
/// clone, listener or stream is alive.
///
/// This is the runtime-neutral handle the adapters wrap
/// (`synack_tokio::Stack`, `synack_smol::Stack`).
#[derive(Clone)]
pub struct Stack {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("local_ip", &self.shared.local_ip)
            .finish_non_exhaustive()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // Perhaps the last handle: let the driver see it, finish what the
        // connections still have to send, and stop.
        let kick = self.shared.lock().kick();
        if let Some(w) = kick {
            w.wake();
        }
    }
}

impl Stack {
    /// A stack over `link` and the driver that moves its packets, timed by
    /// runtime `R`. Nothing happens until the driver is polled: spawn it
    /// or poll it beside the application.
    pub fn new<L: PacketLink, R: Runtime>(
        link: L,
        mut config: StackConfig,
    ) -> io::Result<(Stack, Driver<L, R>)> {
        let link_addr = link.local_addr();
        if config.local_ip.is_none() {
            config.local_ip = link_addr.map(|a| a.ip()).filter(|ip| !ip.is_unspecified());
        }
        let mut endpoint = config.endpoint.clone();
        endpoint.conn.mtu = link.mtu();
        // Segments in flight are bounded by the send buffer: with large
        // segments (loopback's 64 KiB) the default holds only a few.
        endpoint.conn.send_buffer = endpoint
            .conn
            .send_buffer
            .max(MIN_SEND_BUFFER_PACKETS.saturating_mul(link.mtu()));
        let ep = Endpoint::new(endpoint)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                ep,
                slots: HashMap::new(),
                accept_wakers: HashMap::new(),
                driver: None,
                failed: None,
            }),
            clock: R::now,
            origin: R::now(),
            local_ip: config.local_ip,
            framing: link.framing(),
            link_addr,
        });
        let max_packet = link.mtu() + 40;
        // Large packets (loopback's 64 KiB) go one per system call anyway:
        // a few of them make a batch.
        let batch = config
            .send_batch
            .min((SEND_BATCH_BYTES / max_packet).max(MIN_SEND_BATCH))
            .max(1);
        let driver = Driver {
            shared: shared.clone(),
            link: Box::new(link),
            batch: SendBatch::new(batch, max_packet),
            timer: R::Timer::new(),
            turns: config.turns_per_poll.max(1),
            spin_for_near_deadlines: config.precise_timers,
            armed: None,
            wake: Vec::new(),
            runtime: std::marker::PhantomData,
        };
        Ok((Stack { shared }, driver))
    }

    /// The link's own address, for a stack on UDP: its socket's address.
    /// A listener bound to this address (same IP, TCP port = UDP port) is
    /// reached by connecting to it from another stack, with no route set
    /// up (see [`link::Udp`](crate::link::Udp)).
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.shared.link_addr
    }

    /// Listens on `addr`. An unspecified IP listens on every address of
    /// its family the link delivers.
    ///
    /// Port 0 picks a free port. On a link with an address of its own (a
    /// UDP socket), the first choice is the link's port when `addr`'s IP
    /// fits the link's: over UDP a peer that knows no route sends to the
    /// TCP address itself, so that is the one TCP port of this stack
    /// another stack reaches by the listener's
    /// [`local_addr`](Listener::local_addr) alone. When a listener holds
    /// it already (or on other links), the endpoint picks a port from its
    /// ephemeral range (RFC 6056, keyed by the stack's secret); over UDP a
    /// peer then needs a route to the stack's socket
    /// ([`UdpRoutes::insert`](crate::link::UdpRoutes::insert)).
    pub fn bind(&self, addr: SocketAddr) -> io::Result<Listener> {
        self.bind_with(addr, None, false)
    }

    /// [`bind`](Stack::bind) with the accepted connections' settings
    /// (`None`: the stack's) and whether dropping them resets them.
    pub(crate) fn bind_with(
        &self,
        addr: SocketAddr,
        config: Option<&Config>,
        abort_on_drop: bool,
    ) -> io::Result<Listener> {
        let mut st = self.shared.lock();
        st.check_running()?;
        let link_port = self
            .shared
            .link_addr
            .filter(|link| addr.port() == 0 && fits(link.ip(), addr.ip()))
            .map(|link| SocketAddr::new(addr.ip(), link.port()));
        let listen = |ep: &mut Endpoint, a: SocketAddr| match config {
            Some(c) => ep.listen_with(a, c.clone()),
            None => ep.listen(a),
        };
        let id = match link_port.map(|a| listen(&mut st.ep, a)) {
            Some(Ok(id)) => id,
            // A bad configuration fails the same way on any port.
            Some(Err(e @ EndpointError::InvalidConfig(_))) => return Err(error::endpoint(e)),
            // Taken (or refused): the endpoint's own pick.
            _ => listen(&mut st.ep, addr).map_err(error::endpoint)?,
        };
        let local = st.ep.listener_addr(id).unwrap_or(addr);
        drop(st);
        Ok(Listener::new(self.clone(), id, local, abort_on_drop))
    }

    /// Opens a connection to `addr`: resolves when the handshake
    /// completes. Fails with `ConnectionRefused` when the peer answers
    /// with a reset and `TimedOut` when it never answers (after the SYN
    /// retries). Dropping the future releases the connection.
    pub async fn connect(&self, addr: SocketAddr) -> io::Result<Stream> {
        // The stream owns the handle: dropping this future releases the
        // connection.
        let stream = self.start_connect(addr)?;
        stream.wait_connected().await?;
        Ok(stream)
    }

    /// Starts opening a connection to `addr` and returns at once, as a
    /// non-blocking `connect(2)`: the handshake goes on as the driver
    /// runs, and [`Stream::poll_connected`] (or
    /// [`Stream::poll_write_ready`]) tells when it is over. Data written
    /// before then waits for it.
    pub fn start_connect(&self, addr: SocketAddr) -> io::Result<Stream> {
        self.start_connect_with(addr, None, false)
    }

    /// [`start_connect`](Stack::start_connect) with the connection's
    /// settings (`None`: the stack's) and whether dropping it resets it.
    pub(crate) fn start_connect_with(
        &self,
        addr: SocketAddr,
        config: Option<&Config>,
        abort_on_drop: bool,
    ) -> io::Result<Stream> {
        let local_ip = self.local_ip_for(addr)?;
        let handle = {
            let mut st = self.shared.lock();
            st.check_running()?;
            let now = self.shared.now();
            let h = match config {
                Some(c) => st.ep.connect_with(local_ip, addr, now, c.clone()),
                None => st.ep.connect(local_ip, addr, now),
            }
            .map_err(error::endpoint)?;
            st.slots.insert(
                h,
                Slot {
                    abort_on_drop,
                    ..Slot::default()
                },
            );
            if let Some(w) = st.kick() {
                w.wake();
            }
            h
        };
        Ok(Stream::new(self.clone(), handle))
    }

    /// A socket to set options on before it connects or listens, like
    /// `tokio::net::TcpSocket`: its settings start as the stack's
    /// (`StackConfig::endpoint.conn`, with the link's MTU).
    pub fn socket(&self) -> Socket {
        let config = self.shared.lock().ep.config().conn.clone();
        Socket::new(self.clone(), config)
    }

    fn local_ip_for(&self, addr: SocketAddr) -> io::Result<IpAddr> {
        match self.shared.local_ip {
            Some(ip) if ip.is_ipv4() == addr.is_ipv4() => Ok(ip),
            Some(ip) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{addr} is not of the stack's address family ({ip})"),
            )),
            None => Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                "the stack has no local address to connect from: bind its link to a \
                 specific IP or set StackConfig::local_ip",
            )),
        }
    }

    /// The address connections are opened from, if the stack has one.
    pub fn local_ip(&self) -> Option<IpAddr> {
        self.shared.local_ip
    }

    /// The endpoint's counters: connections, TIME-WAIT entries, drops.
    pub fn stats(&self) -> EndpointStats {
        self.shared.lock().ep.stats()
    }

    /// Every connection the stack holds now, with its counters (drops by
    /// reason, challenge ACKs, retransmissions, RTT…): streams the
    /// application holds, connections waiting to be accepted, half-open
    /// ones in SYN queues, and connections still finishing after their
    /// stream was dropped.
    pub fn connection_stats(&self) -> Vec<(FourTuple, Stats)> {
        self.shared
            .lock()
            .ep
            .connections()
            .map(|(_, conn)| (conn.tuple(), conn.stats()))
            .collect()
    }

    /// Whether the link carries IP packets or bare segments.
    pub fn framing(&self) -> Framing {
        self.shared.framing
    }
}

/// Whether a listener on `ip` gets segments that arrive for a link bound
/// to `link`: the same address, or either one unspecified (of a family
/// the link carries: an IPv6 wildcard socket also takes IPv4).
fn fits(link: IpAddr, ip: IpAddr) -> bool {
    link == ip
        || (link.is_unspecified() && (link.is_ipv6() || ip.is_ipv4()))
        || (ip.is_unspecified() && ip.is_ipv4() == link.is_ipv4())
}

/// The future that runs a [`Stack`]: see the [module
/// documentation](self). Once the stack, its listeners and streams are
/// all dropped it runs on until the connections they let go of have
/// finished (delivered what was written and closed, or reset, or timed
/// out), as a kernel finishes closed sockets, and then resolves with
/// `Ok(())`. It resolves with the link's error if the link fails (every
/// operation on the stack then fails too).
#[must_use = "the stack does nothing unless its driver is spawned or polled"]
pub struct Driver<L, R: Runtime> {
    /// Also held by every application handle (each holds a [`Stack`]): a
    /// count of one means the application has let go of everything.
    shared: Arc<Shared>,
    /// Boxed so the driver is `Unpin` whatever the link.
    link: Box<L>,
    batch: SendBatch,
    timer: R::Timer,
    turns: usize,
    spin_for_near_deadlines: bool,
    /// The instant the timer waits for, until it fires.
    armed: Option<std::time::Instant>,
    /// Wakers collected under the lock, woken after it.
    wake: Vec<Waker>,
    runtime: std::marker::PhantomData<fn() -> R>,
}

impl<L, R: Runtime> std::fmt::Debug for Driver<L, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("handles", &(Arc::strong_count(&self.shared) - 1))
            .finish_non_exhaustive()
    }
}

impl<L: PacketLink, R: Runtime> Future for Driver<L, R> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Every field is Unpin.
        let this = self.get_mut();
        let shared = this.shared.clone();
        for _ in 0..this.turns {
            if Arc::strong_count(&shared) == 2 && shared.lock().ep.stats().connections == 0 {
                // No handle left (the driver holds two references here)
                // and every connection has finished.
                tracing::debug!("driver finished: no handle left, every connection over");
                return Poll::Ready(Ok(()));
            }
            match this.turn(&shared, cx) {
                Ok(Turn::More) => continue,
                Ok(Turn::Idle) => return Poll::Pending,
                Ok(Turn::Soon) => {
                    // A deadline closer than the timer's resolution: come
                    // back after the other ready tasks rather than sleep.
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Err(e) => {
                    this.fail(&shared, &e);
                    return Poll::Ready(Err(e));
                }
            }
        }
        // Out of turns with work left: let other tasks run, then go on.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// What a driver turn found.
enum Turn {
    /// There may be more to do at once.
    More,
    /// Nothing to do until a waker fires.
    Idle,
    /// Nothing now, but the deadline is nearer than the runtime's timer
    /// can wait ([`Timer::RESOLUTION`]: a timer of millisecond resolution
    /// would stretch, at loopback RTTs of tens of microseconds, every RACK
    /// reordering wait, tail-loss probe and pacing gap).
    Soon,
}

impl<L: PacketLink, R: Runtime> Driver<L, R> {
    /// One turn.
    fn turn(&mut self, shared: &Shared, cx: &mut Context<'_>) -> io::Result<Turn> {
        let mut busy = false;
        let now = shared.now();
        let mut guard = shared.lock();
        let st = &mut *guard;
        match &st.driver {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.driver = Some(cx.waker().clone()),
        }

        // 1. Receive.
        let ep = &mut st.ep;
        match self.link.poll_recv(cx, &mut |packet| match packet {
            Incoming::Ip(bytes) => ep.handle_ip_packet(now, bytes),
            Incoming::Segment {
                addrs,
                segment,
                ecn,
            } => ep.handle_segment_with_ecn(now, &addrs, segment, ecn),
        }) {
            Poll::Ready(Ok(_)) => busy = true,
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => {}
        }

        // 2. Timers.
        if st.ep.poll_timeout().is_some_and(|at| at <= now) {
            st.ep.handle_timeout(now);
        }

        // 3. Events.
        self.take_events(st);

        // 4. Transmit.
        let ip = shared.framing == Framing::Ip;
        while let Some(space) = self.batch.spare() {
            let t = if ip {
                st.ep.poll_transmit_ip(now, space)
            } else {
                st.ep.poll_transmit(now, space)
            };
            match t {
                Some(t) => self.batch.commit_with_ecn(t.tuple, t.len, t.ecn),
                None => break,
            }
        }
        // The batch stopped the connections, not the lack of segments: once
        // it is sent, another turn fills it again.
        let stopped_full = !self.batch.has_room();
        // Whatever the connections reported while sending is delivered in
        // this turn: no turn follows a send that emptied them.
        self.take_events(st);
        let deadline = st.ep.poll_timeout();
        drop(guard);
        for w in self.wake.drain(..) {
            w.wake();
        }
        match self.link.poll_send(cx, &mut self.batch) {
            // Sent: more to do only if the connections had more than
            // the batch held.
            Poll::Ready(Ok(())) => busy |= stopped_full,
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => {}
        }

        // 5. The timer.
        let mut soon = false;
        match deadline {
            Some(at) if at <= shared.now() => busy = true,
            Some(at) => {
                let when = shared.deadline(at);
                soon = self.spin_for_near_deadlines
                    && when.saturating_duration_since(R::now()) < R::Timer::RESOLUTION;
                // An earlier instant the timer is armed for stays: it fires
                // early once, and the turn it starts arms the deadline.
                // Re-arming at every change costs more: a deadline moves
                // twice per request/response exchange (the delayed ACK
                // when data arrives, the retransmission timeout when the
                // reply goes), and each re-arm takes tokio's timer lock
                // or wakes async-io's reactor thread.
                let target = match self.armed {
                    Some(t) if t <= when => t,
                    _ => when,
                };
                if self.timer.poll_at(cx, target).is_ready() {
                    self.armed = None;
                    busy = true;
                } else {
                    self.armed = Some(target);
                }
            }
            None => {}
        }
        Ok(if busy {
            Turn::More
        } else if soon {
            Turn::Soon
        } else {
            Turn::Idle
        })
    }

    /// Drains the endpoint's events, collecting in `self.wake` the
    /// wakers of the streams they concern and of the tasks waiting to
    /// accept on listeners that now have connections.
    fn take_events(&mut self, st: &mut State) {
        while let Some((handle, event)) = st.ep.poll_event() {
            let Some(slot) = st.slots.get_mut(&handle) else {
                continue;
            };
            let (read, write) = match event {
                // News to writers waiting for the handshake only; an
                // accepted stream was connected when it was handed out.
                Event::Connected => (false, !std::mem::replace(&mut slot.connected, true)),
                Event::Readable | Event::PeerClosed => (true, false),
                Event::Writable => (false, true),
                Event::Closed(reason) => {
                    if let Some(conn) = st.ep.connection(handle) {
                        let tuple = conn.tuple();
                        if reason == CloseReason::Normal {
                            tracing::trace!(local = %tuple.local, remote = %tuple.remote, "connection closed");
                        } else {
                            tracing::debug!(local = %tuple.local, remote = %tuple.remote, ?reason, "connection failed");
                        }
                    }
                    slot.closed = Some(reason);
                    (true, true)
                }
            };
            let keep = slot.keep_wakers;
            let mut wake = |place: &mut Option<Waker>| {
                let w = if keep { place.clone() } else { place.take() };
                self.wake.extend(w);
            };
            if read {
                wake(&mut slot.read);
            }
            if write {
                wake(&mut slot.write);
            }
        }
        if !st.accept_wakers.is_empty() {
            let ep = &st.ep;
            let wake = &mut self.wake;
            st.accept_wakers.retain(|id, waiters| {
                if ep.pending_accepts(*id) > 0 {
                    // Every waiter: those that find nothing left wait again.
                    wake.append(waiters);
                    false
                } else {
                    true
                }
            });
        }
    }

    /// The link failed: every operation now fails, and every waiter hears.
    fn fail(&mut self, shared: &Shared, e: &io::Error) {
        tracing::error!(error = %e, "the link failed: the stack stops and its operations fail");
        stop(shared, Some((e.kind(), e.to_string())), &mut self.wake);
    }
}

impl<L, R: Runtime> Drop for Driver<L, R> {
    /// Nothing moves the stack's packets any more (the runtime shut down,
    /// or a `synack-mio` stack was dropped): operations on the streams and
    /// listeners the application still holds fail instead of waiting
    /// forever.
    fn drop(&mut self) {
        let st = self.shared.lock();
        let open = st.ep.stats().connections;
        if st.failed.is_none() && open > 0 {
            tracing::warn!(
                connections = open,
                "the driver was dropped (its runtime shut down?) with connections open: they stop, and their operations fail"
            );
        }
        drop(st);
        stop(&self.shared, None, &mut self.wake);
    }
}

/// Marks the stack stopped (the first cause stays) and wakes every waiter,
/// so each finds out.
fn stop(shared: &Shared, why: Option<(io::ErrorKind, String)>, wake: &mut Vec<Waker>) {
    let mut st = shared.lock();
    if st.failed.is_none() {
        st.failed = Some(why);
    }
    for slot in st.slots.values_mut() {
        wake.extend(slot.read.take());
        wake.extend(slot.write.take());
    }
    wake.extend(st.accept_wakers.drain().flat_map(|(_, w)| w));
    drop(st);
    for w in wake.drain(..) {
        w.wake();
    }
}

/// The accessors every adapter's `Stack` has (`local_ip`, `stats`,
/// `connection_stats`, `framing`), over its `inner` field (a [`Stack`]):
/// written once here for every adapter.
#[doc(hidden)]
#[macro_export]
macro_rules! stack_accessors {
    ($stack:ident) => {
        impl $stack {
            /// The address connections are opened from, if the stack has
            /// one.
            pub fn local_ip(&self) -> Option<::std::net::IpAddr> {
                self.inner.local_ip()
            }

            /// The endpoint's counters: connections, TIME-WAIT entries,
            /// drops.
            pub fn stats(&self) -> $crate::__private::EndpointStats {
                self.inner.stats()
            }

            /// Every connection the stack holds now, with its counters
            /// (drops by reason, challenge ACKs, retransmissions, RTT…):
            /// streams the application holds, connections waiting to be
            /// accepted, half-open ones in SYN queues, and connections
            /// still finishing after their stream was dropped. With
            /// `stats`, every drop and defence counter the stack keeps.
            pub fn connection_stats(
                &self,
            ) -> ::std::vec::Vec<($crate::__private::FourTuple, $crate::__private::Stats)> {
                self.inner.connection_stats()
            }

            /// Whether the link carries IP packets or bare segments.
            pub fn framing(&self) -> $crate::link::Framing {
                self.inner.framing()
            }
        }
    };
}
