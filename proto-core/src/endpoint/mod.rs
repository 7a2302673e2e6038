//! Many connections behind one set of addresses: an [`Endpoint`].
//!
//! The host hands the endpoint every TCP segment that arrives (with its IP
//! addresses, [`Endpoint::handle_segment`]) or every IP packet read from a
//! TUN device ([`Endpoint::handle_ip_packet`]), calls
//! [`Endpoint::handle_timeout`] when the single deadline from
//! [`Endpoint::poll_timeout`] passes, and sends what
//! [`Endpoint::poll_transmit`] (or [`Endpoint::poll_transmit_ip`]) writes.
//! The application opens connections ([`Endpoint::connect`],
//! [`Endpoint::listen`] and [`Endpoint::accept`]), works on them through
//! [`Endpoint::connection_mut`], and learns what happened from
//! [`Endpoint::poll_event`].
//!
//! What the endpoint adds to single connections:
//! - demultiplexing by 4-tuple (IPv4 and IPv6) in a `BTreeMap`: O(log n)
//!   per segment, no hashing to seed;
//! - listeners (on an address, or on the wildcard address of a family) with
//!   a bounded SYN queue and accept queue, and SYN cookies (RFC 4987 §3.6)
//!   when the SYN queue is full or always;
//! - replies for segments that match no connection: a reset, or nothing
//!   for a reset (RFC 9293 §3.10.7.1–2), at a limited rate;
//! - ephemeral ports that an off-path attacker cannot guess (RFC 6056
//!   algorithm 4, keyed with the host secret);
//! - a TIME-WAIT table: a connection that reaches TIME-WAIT becomes a small
//!   entry and its buffers go, while the entry acknowledges a retransmitted
//!   FIN and lets a newer SYN reopen the tuple (RFC 6191);
//! - limits on the number of connections and on buffer memory;
//! - one deadline for all timers, kept in a heap so a due timer costs
//!   O(log n) ([`timers`](self) module docs);
//! - round-robin sending: each connection that may have something to send
//!   gets one segment per turn.
//!
//! # Connections and handles
//!
//! A [`ConnectionHandle`] names a connection the application holds: one it
//! opened with `connect`, or took with `accept`. Connections a listener has
//! not handed out yet are not visible, and their events wait until they
//! are accepted. Like a kernel socket, a connection the application holds
//! stays until the application [`release`](Endpoint::release)s it, also
//! once it has ended: reads and writes then report how it ended (a reset,
//! a timeout), its final [`stats`](Connection::stats) and
//! [`negotiated`](Connection::negotiated) options stay readable, and so
//! does data received before a normal close. After the release its handle
//! names nothing and every lookup with it fails. A connection that has
//! ended no longer owns its 4-tuple: segments for it are answered as for
//! no connection, and the tuple may be used again.
//!
//! When a connection enters TIME-WAIT, the table takes over its tuple, and
//! the application gets [`Event::Closed`]`(Normal)` as soon as it has read
//! what was left (the connection's own events come first).

mod config;
mod input;
mod output;
pub use output::IDLE_VISITS_PER_CALL;
mod ports;
mod reply;
mod slab;
mod time_wait;
mod timers;
mod types;

#[cfg(test)]
mod tests;

pub use config::{EndpointConfig, EndpointConfigError, SynCookieMode};
pub use types::{ConnectionHandle, EndpointError, EndpointStats, ListenerId};

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::conn::{Config, Connection, Event};
use crate::isn::IsnGenerator;
use crate::keyed_hash::{Domain, KeyedHash};
use crate::syncookie::SynCookies;
use crate::time::Instant;
use crate::tuple::FourTuple;
use ports::PortAllocator;
use reply::{RateLimiter, Reply};
use slab::{Key, Slab};
use time_wait::TimeWait;
use timers::{Owner, TimerHeap, shrink_queue};

/// Who holds a connection and how far its life has got, in one value so
/// that no impossible combination (a half-open connection handed to the
/// TIME-WAIT table, a `Closed` event polled by nobody) can be written down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Half-open, counted in a listener's SYN queue.
    SynQueue(ListenerId),
    /// Established, waiting in a listener's accept queue.
    AcceptQueue(ListenerId),
    /// The application's: it has the handle.
    App,
    /// The application's, and it has polled the `Closed` event; kept until
    /// released.
    AppClosed,
    /// In TIME-WAIT and handed to the table, which owns its tuple and
    /// timer; its holder — the application (`None`) or a listener's accept
    /// queue — may still read what is left.
    TimeWait(Option<ListenerId>),
    /// The application's, in the TIME-WAIT table, with `Closed` reported;
    /// kept until released.
    TimeWaitClosed,
    /// Nobody's: released, or its listener closed. It runs until finished.
    Orphan,
}

impl Stage {
    /// The application holds the handle: lookups with it succeed.
    fn app_holds(self) -> bool {
        matches!(
            self,
            Stage::App | Stage::AppClosed | Stage::TimeWait(None) | Stage::TimeWaitClosed
        )
    }

    /// Handed to the TIME-WAIT table.
    fn detached(self) -> bool {
        matches!(self, Stage::TimeWait(_) | Stage::TimeWaitClosed)
    }

    /// Taken from an accept queue by the application.
    fn accepted(self) -> Stage {
        match self {
            Stage::TimeWait(_) => Stage::TimeWait(None),
            _ => Stage::App,
        }
    }
}

/// A connection and the endpoint's bookkeeping for it.
struct ConnEntry {
    conn: Connection,
    stage: Stage,
    /// The deadline of this connection's live heap entry.
    timer: Option<Instant>,
    // Membership of the three work queues, so each holds a key once. They
    // are independent of one another and of the stage.
    /// Queued in `ready` (may have something to send).
    ready: bool,
    /// Queued in `events` (may have events for the application).
    evented: bool,
    /// Queued in `touched` (the application had `&mut` access).
    touched: bool,
    /// Buffer bytes counted in the endpoint's total.
    memory: usize,
}

/// A listening socket.
struct Listener {
    local: SocketAddr,
    /// Connections in SYN-RECEIVED it opened.
    syn_queue: usize,
    /// Established connections waiting for `accept`.
    accept: VecDeque<ConnectionHandle>,
    /// When it last answered with a SYN cookie: ACKs are checked for
    /// cookies only while cookies may be outstanding.
    last_cookie: Option<Instant>,
    /// The settings of the connections it opens; `None`: the endpoint's
    /// (`EndpointConfig::conn`).
    conn: Option<Box<Config>>,
}

/// Many TCP connections sharing the host's addresses. See the
/// [module documentation](self).
pub struct Endpoint {
    config: EndpointConfig,
    isn: IsnGenerator,
    /// Keys the timestamp offset of each address pair.
    ts_offsets: KeyedHash,
    cookies: SynCookies,
    ports: PortAllocator,
    conns: Slab<ConnEntry>,
    time_wait: Slab<TimeWait>,
    /// Who owns each 4-tuple: a connection or a TIME-WAIT entry.
    by_tuple: BTreeMap<FourTuple, Owner>,
    listeners: Slab<Listener>,
    by_local: BTreeMap<SocketAddr, ListenerId>,
    timers: TimerHeap,
    /// Connections that may have something to send, in turn order.
    ready: VecDeque<Key>,
    /// Set when a `poll_transmit` call stopped looking through `ready`
    /// after [`output::IDLE_VISITS_PER_CALL`] connections with nothing to
    /// send: the time of that call, which `poll_timeout` reports so the
    /// host comes back for the rest.
    ready_unvisited_since: Option<Instant>,
    /// Held connections that may have events.
    events: VecDeque<Key>,
    /// Connections the application had `&mut` access to, to look at again
    /// before anything else happens.
    touched: Vec<Key>,
    /// Stateless segments to send.
    replies: VecDeque<Reply>,
    /// Whether `poll_transmit` looks at `replies` first next time.
    replies_first: bool,
    rst_limit: RateLimiter,
    /// Bytes allocated by all connections' buffers.
    memory: usize,
    stats: EndpointStats,
}

impl core::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Endpoint")
            .field("listeners", &self.by_local.keys().collect::<Vec<_>>())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// The timestamp offset for the address pair of `tuple`: a keyed hash
    /// of the addresses alone (ports zeroed), as Linux does, so TSvals rise
    /// across successive connections between two hosts (RFC 7323 §5.4,
    /// RFC 6191) without revealing our clock.
    pub(crate) fn timestamp_offset(&self, tuple: &FourTuple) -> u32 {
        let pair = FourTuple::new(
            SocketAddr::new(tuple.local.ip(), 0),
            SocketAddr::new(tuple.remote.ip(), 0),
        );
        self.ts_offsets
            .hash_tuple(Domain::TimestampOffset, &pair, &[]) as u32
    }

    /// An endpoint with no connections or listeners.
    pub fn new(config: EndpointConfig) -> Result<Endpoint, EndpointConfigError> {
        config.validate()?;
        Ok(Endpoint {
            isn: IsnGenerator::new(config.secret),
            ts_offsets: KeyedHash::new(config.secret),
            cookies: SynCookies::new(config.secret),
            ports: PortAllocator::new(config.secret, config.ephemeral_ports),
            rst_limit: RateLimiter::new(config.rst_rate_limit_per_sec),
            config,
            conns: Slab::new(),
            time_wait: Slab::new(),
            by_tuple: BTreeMap::new(),
            listeners: Slab::new(),
            by_local: BTreeMap::new(),
            timers: TimerHeap::default(),
            ready: VecDeque::new(),
            ready_unvisited_since: None,
            events: VecDeque::new(),
            touched: Vec::new(),
            replies: VecDeque::new(),
            replies_first: false,
            memory: 0,
            stats: EndpointStats::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Listens on `local`. An unspecified address (`0.0.0.0` or `::`)
    /// listens on every address of its family. Port 0 picks a port from
    /// [`EndpointConfig::ephemeral_ports`] that no listener covers, as
    /// `bind` to port 0 does (read it back with
    /// [`Endpoint::listener_addr`]); the pick is keyed by the host secret
    /// like those of [`Endpoint::connect`]. Fails with
    /// [`EndpointError::AddressInUse`] if a listener covers the same
    /// address and port, [`EndpointError::NoEphemeralPorts`] when port 0
    /// finds every port of the range taken, and
    /// [`EndpointError::InvalidAddress`] for a multicast or broadcast
    /// address.
    // RFC 9293 §3.9.1.1 (MUST-41, MUST-42): only listeners can clash;
    // connections already using the port are neither checked nor touched.
    pub fn listen(&mut self, local: SocketAddr) -> Result<ListenerId, EndpointError> {
        self.open_listener(local, None)
    }

    /// Like [`Endpoint::listen`], with the connections it accepts set up
    /// by `config` instead of [`EndpointConfig::conn`] (buffers, timers,
    /// congestion control, keepalive…; its SYN-ACKs, cookie ones too,
    /// announce what `config` says). Fails with
    /// [`EndpointError::InvalidConfig`], naming the field, when `config`
    /// does not pass [`Config::validate`].
    pub fn listen_with(
        &mut self,
        local: SocketAddr,
        config: Config,
    ) -> Result<ListenerId, EndpointError> {
        config.validate().map_err(EndpointError::InvalidConfig)?;
        self.open_listener(local, Some(Box::new(config)))
    }

    /// The settings of the connections listener `id` opens.
    pub(crate) fn listener_conn_config(&self, id: ListenerId) -> &Config {
        self.listeners
            .get(id.0)
            .and_then(|l| l.conn.as_deref())
            .unwrap_or(&self.config.conn)
    }

    fn open_listener(
        &mut self,
        local: SocketAddr,
        conn: Option<Box<Config>>,
    ) -> Result<ListenerId, EndpointError> {
        if !(local.ip().is_unspecified() || is_unicast(local.ip())) {
            return Err(EndpointError::InvalidAddress);
        }
        let local = if local.port() == 0 {
            let by_local = &self.by_local;
            // A key no connection has (its remote is unspecified), so
            // listeners draw from their own counter of RFC 6056's table.
            let key = wildcard(SocketAddr::new(local.ip(), 0));
            let port = self
                .ports
                .pick(local.ip(), key, |port| {
                    listener_clash(by_local, SocketAddr::new(local.ip(), port))
                })
                .ok_or(EndpointError::NoEphemeralPorts)?;
            SocketAddr::new(local.ip(), port)
        } else if listener_clash(&self.by_local, local) {
            return Err(EndpointError::AddressInUse);
        } else {
            local
        };
        let id = ListenerId(self.listeners.insert(Listener {
            local,
            syn_queue: 0,
            accept: VecDeque::new(),
            last_cookie: None,
            conn,
        }));
        self.by_local.insert(local, id);
        Ok(id)
    }

    /// Stops listening. Connections the listener had not handed out (half
    /// open, or waiting for `accept`) are aborted with a reset, as Linux
    /// does. Costs a pass over all connections.
    pub fn close_listener(&mut self, id: ListenerId) -> Result<(), EndpointError> {
        self.settle();
        let listener = self
            .listeners
            .remove(id.0)
            .ok_or(EndpointError::UnknownListener)?;
        self.by_local.remove(&listener.local);
        let queued: Vec<Key> = self
            .conns
            .iter()
            .filter(|(_, e)| {
                matches!(
                    e.stage,
                    Stage::SynQueue(l) | Stage::AcceptQueue(l) | Stage::TimeWait(Some(l)) if l == id
                )
            })
            .map(|(k, _)| k)
            .collect();
        for key in queued {
            if let Some(e) = self.conns.get_mut(key) {
                if matches!(e.stage, Stage::SynQueue(_)) {
                    self.stats.half_open = self.stats.half_open.saturating_sub(1);
                }
                e.stage = Stage::Orphan;
                e.conn.abort();
            }
            self.sync(key, false);
        }
        Ok(())
    }

    /// The address a listener listens on.
    pub fn listener_addr(&self, id: ListenerId) -> Option<SocketAddr> {
        self.listeners.get(id.0).map(|l| l.local)
    }

    /// Opens a connection from `local_ip` to `remote`, on an ephemeral port
    /// (RFC 6056 algorithm 4) that no connection, TIME-WAIT entry or
    /// listener uses. The SYN is ready for [`Endpoint::poll_transmit`];
    /// [`Event::Connected`] follows the handshake.
    pub fn connect(
        &mut self,
        local_ip: IpAddr,
        remote: SocketAddr,
        now: Instant,
    ) -> Result<ConnectionHandle, EndpointError> {
        self.connect_config(local_ip, remote, now, None)
    }

    /// Like [`Endpoint::connect`], with the connection set up by `config`
    /// instead of [`EndpointConfig::conn`]. Fails with
    /// [`EndpointError::InvalidConfig`], naming the field, when `config`
    /// does not pass [`Config::validate`].
    pub fn connect_with(
        &mut self,
        local_ip: IpAddr,
        remote: SocketAddr,
        now: Instant,
        config: Config,
    ) -> Result<ConnectionHandle, EndpointError> {
        config.validate().map_err(EndpointError::InvalidConfig)?;
        self.connect_config(local_ip, remote, now, Some(config))
    }

    fn connect_config(
        &mut self,
        local_ip: IpAddr,
        remote: SocketAddr,
        now: Instant,
        config: Option<Config>,
    ) -> Result<ConnectionHandle, EndpointError> {
        self.settle();
        check_addresses(SocketAddr::new(local_ip, 1), remote)?;
        self.admit()?;
        let (by_tuple, by_local) = (&self.by_tuple, &self.by_local);
        let port = self
            .ports
            .pick(local_ip, remote, |port| {
                let local = SocketAddr::new(local_ip, port);
                by_tuple.contains_key(&FourTuple::new(local, remote))
                    || by_local.contains_key(&local)
                    || by_local.contains_key(&wildcard(local))
            })
            .ok_or(EndpointError::NoEphemeralPorts)?;
        let tuple = FourTuple::new(SocketAddr::new(local_ip, port), remote);
        self.open(tuple, now, config.as_ref())
    }

    /// Like [`Endpoint::connect`], from a chosen local port. Fails with
    /// [`EndpointError::AddressInUse`] if a connection or TIME-WAIT entry
    /// has the same 4-tuple.
    pub fn connect_from(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        now: Instant,
    ) -> Result<ConnectionHandle, EndpointError> {
        self.settle();
        check_addresses(local, remote)?;
        self.admit()?;
        let tuple = FourTuple::new(local, remote);
        if self.by_tuple.contains_key(&tuple) {
            return Err(EndpointError::AddressInUse);
        }
        self.open(tuple, now, None)
    }

    fn open(
        &mut self,
        tuple: FourTuple,
        now: Instant,
        config: Option<&Config>,
    ) -> Result<ConnectionHandle, EndpointError> {
        let iss = self.isn.generate(&tuple, now);
        let config = config.unwrap_or(&self.config.conn);
        let mut conn = Connection::connect(config, tuple, iss, now)
            .map_err(|_| EndpointError::InvalidAddress)?;
        conn.set_timestamp_offset(self.timestamp_offset(&tuple));
        let key = self.insert_conn(conn, Stage::App);
        self.sync(key, false);
        Ok(ConnectionHandle(key))
    }

    /// The next connection a listener has established, now the
    /// application's; `None` if there is none (or the listener was closed).
    pub fn accept(&mut self, listener: ListenerId) -> Option<ConnectionHandle> {
        self.settle();
        loop {
            let handle = self.listeners.get_mut(listener.0)?.accept.pop_front()?;
            if let Some(e) = self.conns.get_mut(handle.0) {
                e.stage = e.stage.accepted();
                self.sync(handle.0, false);
                return Some(handle);
            }
        }
    }

    /// Connections waiting in a listener's accept queue.
    pub fn pending_accepts(&self, listener: ListenerId) -> usize {
        self.listeners.get(listener.0).map_or(0, |l| l.accept.len())
    }

    /// The connection, if the handle still names one.
    pub fn connection(&self, handle: ConnectionHandle) -> Option<&Connection> {
        self.conns
            .get(handle.0)
            .filter(|e| e.stage.app_holds())
            .map(|e| &e.conn)
    }

    /// Every connection the endpoint holds: those the application holds
    /// (or may accept), half-open ones in SYN queues, ended ones the
    /// application has not released, and released ones still finishing.
    /// For monitoring: the handles of connections the application does not
    /// hold open nothing through [`Endpoint::connection`]. Entries in the TIME-WAIT table are not
    /// connections and are counted in [`EndpointStats::time_wait`].
    pub fn connections(&self) -> impl Iterator<Item = (ConnectionHandle, &Connection)> + '_ {
        self.conns
            .iter()
            .map(|(key, e)| (ConnectionHandle(key), &e.conn))
    }

    /// The connection, to read, write or close it. The endpoint looks at
    /// it again (timers, sending, events) at the next call on the
    /// endpoint.
    pub fn connection_mut(&mut self, handle: ConnectionHandle) -> Option<&mut Connection> {
        let e = self
            .conns
            .get_mut(handle.0)
            .filter(|e| e.stage.app_holds())?;
        if !e.touched {
            e.touched = true;
            self.touched.push(handle.0);
        }
        Some(&mut e.conn)
    }

    /// The application lets go of a connection, as closing a socket does:
    /// the handle names nothing from now on, and the connection, unless it
    /// is over, is closed ([`Connection::close`]: a FIN, or a reset if
    /// received data was left unread) and runs on until it finishes.
    pub fn release(&mut self, handle: ConnectionHandle, now: Instant) -> Result<(), EndpointError> {
        self.settle();
        let e = self
            .conns
            .get_mut(handle.0)
            .filter(|e| e.stage.app_holds())
            .ok_or(EndpointError::UnknownConnection)?;
        if e.stage.detached() || e.conn.is_finished() {
            self.remove_conn(handle.0);
            return Ok(());
        }
        e.stage = Stage::Orphan;
        // Errors only say it is already closing or closed: fine either way.
        let _ = e.conn.close(now);
        self.sync(handle.0, false);
        Ok(())
    }

    /// The next event of a connection the application holds. The last one
    /// is [`Event::Closed`]; the connection stays until
    /// [`Endpoint::release`].
    pub fn poll_event(&mut self) -> Option<(ConnectionHandle, Event)> {
        self.settle();
        while let Some(&key) = self.events.front() {
            let Some(e) = self.conns.get_mut(key) else {
                self.events.pop_front();
                continue;
            };
            if e.stage.app_holds()
                && let Some(event) = e.conn.poll_event()
            {
                if matches!(event, Event::Closed(_)) {
                    e.stage = Stage::AppClosed;
                }
                return Some((ConnectionHandle(key), event));
            }
            self.events.pop_front();
            shrink_queue(&mut self.events);
            e.evented = false;
            if e.stage == Stage::TimeWait(None) {
                if e.conn.recv_queue_len() > 0 {
                    continue; // reads will bring it back
                }
                // TIME-WAIT lives on in the table; for the application the
                // connection is over.
                e.stage = Stage::TimeWaitClosed;
                let normal = Event::Closed(crate::conn::CloseReason::Normal);
                return Some((ConnectionHandle(key), normal));
            }
            if removable(e) {
                self.remove_conn(key);
            }
        }
        None
    }

    /// Counters, and what the endpoint holds now.
    pub fn stats(&self) -> EndpointStats {
        EndpointStats {
            connections: self.conns.len(),
            time_wait: self.time_wait.len(),
            buffer_memory: self.memory,
            table_memory: self.conns.allocated_bytes()
                + self.time_wait.allocated_bytes()
                + self.timers.allocated_bytes(),
            ..self.stats
        }
    }

    /// Refuses a new connection beyond the configured limits.
    fn admit(&self) -> Result<(), EndpointError> {
        if self.conns.len() >= self.config.max_connections {
            Err(EndpointError::ConnectionLimit)
        } else if self.memory >= self.config.max_buffer_memory {
            Err(EndpointError::MemoryLimit)
        } else {
            Ok(())
        }
    }

    fn insert_conn(&mut self, conn: Connection, stage: Stage) -> Key {
        let tuple = conn.tuple();
        let key = self.conns.insert(ConnEntry {
            conn,
            stage,
            timer: None,
            ready: false,
            evented: false,
            touched: false,
            memory: 0,
        });
        self.by_tuple.insert(tuple, Owner::Conn(key));
        self.stats.connections_opened += 1;
        key
    }

    /// Looks at the connections the application had `&mut` access to.
    fn settle(&mut self) {
        while let Some(key) = self.touched.pop() {
            if let Some(e) = self.conns.get_mut(key) {
                e.touched = false;
            }
            self.sync(key, false);
        }
    }

    /// Brings the endpoint's view of a connection up to date after any
    /// call on it: memory, a completed handshake, removal, its timer, and
    /// (unless the call was `poll_transmit` itself, which neither queues
    /// segments nor raises events) the ready and event queues.
    fn sync(&mut self, key: Key, after_transmit: bool) {
        let Some(e) = self.conns.get_mut(key) else {
            return;
        };
        if e.stage.detached() || e.conn.is_finished() {
            // Kept only for what is left to read.
            e.conn.shed_buffers();
        }
        let bytes = e.conn.buffer_allocated();
        self.memory = self.memory.saturating_sub(e.memory) + bytes;
        e.memory = bytes;
        if let Stage::SynQueue(l) = e.stage
            && e.conn.state().is_synchronized()
        {
            e.stage = Stage::AcceptQueue(l);
            self.stats.half_open = self.stats.half_open.saturating_sub(1);
            if let Some(listener) = self.listeners.get_mut(l.0) {
                listener.syn_queue = listener.syn_queue.saturating_sub(1);
                listener.accept.push_back(ConnectionHandle(key));
            }
        }
        if removable(e) {
            self.remove_conn(key);
            return;
        }
        if e.stage.app_holds() && !e.evented && !after_transmit {
            e.evented = true;
            self.events.push_back(key);
        }
        if e.stage.detached() {
            return;
        }
        if e.conn.is_finished() {
            // Kept for its holder, as a closed socket is: it no longer owns
            // its tuple, and has no timers or segments left.
            e.timer = None;
            let tuple = e.conn.tuple();
            if self.by_tuple.get(&tuple) == Some(&Owner::Conn(key)) {
                self.by_tuple.remove(&tuple);
            }
            return;
        }
        if !e.ready && !after_transmit {
            e.ready = true;
            self.ready.push_back(key);
        }
        let deadline = e.conn.poll_timeout();
        if deadline != e.timer {
            e.timer = deadline;
            if let Some(at) = deadline {
                self.push_timer(at, Owner::Conn(key));
            }
        }
    }

    /// Forgets a connection: its tuple (unless the TIME-WAIT table has
    /// it), its memory, its place in a SYN queue. Queue entries naming it
    /// go stale and are skipped.
    fn remove_conn(&mut self, key: Key) {
        let Some(e) = self.conns.remove(key) else {
            return;
        };
        self.memory = self.memory.saturating_sub(e.memory);
        if let Stage::SynQueue(l) = e.stage {
            self.stats.half_open = self.stats.half_open.saturating_sub(1);
            if let Some(listener) = self.listeners.get_mut(l.0) {
                listener.syn_queue = listener.syn_queue.saturating_sub(1);
            }
        }
        let tuple = e.conn.tuple();
        if self.by_tuple.get(&tuple) == Some(&Owner::Conn(key)) {
            self.by_tuple.remove(&tuple);
        }
    }

    fn push_timer(&mut self, at: Instant, owner: Owner) {
        self.timers.push(at, owner);
        let live = self.conns.len() + self.time_wait.len();
        let (conns, time_wait) = (&self.conns, &self.time_wait);
        self.timers
            .sweep_if_bloated(live, |at, owner| timer_is_live(conns, time_wait, at, owner));
    }

    /// The listener for segments to `local`: on that address, or on the
    /// wildcard address of its family.
    fn find_listener(&self, local: SocketAddr) -> Option<ListenerId> {
        self.by_local
            .get(&local)
            .or_else(|| self.by_local.get(&wildcard(local)))
            .copied()
    }
}

/// True when a connection can go: finished, and held by nobody. One the
/// application holds goes when it is released; one in an accept queue is
/// accepted later and reports how it ended.
fn removable(e: &ConnEntry) -> bool {
    match e.stage {
        Stage::SynQueue(_) | Stage::Orphan => e.conn.is_finished(),
        _ => false,
    }
}

/// True when a heap entry is its owner's current deadline.
fn timer_is_live(
    conns: &Slab<ConnEntry>,
    time_wait: &Slab<TimeWait>,
    at: Instant,
    owner: Owner,
) -> bool {
    match owner {
        Owner::Conn(k) => conns.get(k).is_some_and(|e| e.timer == Some(at)),
        Owner::TimeWait(k) => time_wait.get(k).is_some_and(|t| t.expiry == at),
    }
}

/// Whether a listener on `local` would overlap one in `by_local`: the
/// same address and port, or a wildcard of the family on the port (either
/// way round).
fn listener_clash(by_local: &BTreeMap<SocketAddr, ListenerId>, local: SocketAddr) -> bool {
    if local.ip().is_unspecified() {
        by_local
            .keys()
            .any(|a| a.port() == local.port() && a.is_ipv4() == local.is_ipv4())
    } else {
        by_local.contains_key(&local) || by_local.contains_key(&wildcard(local))
    }
}

/// The unspecified address of `addr`'s family, same port.
fn wildcard(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, addr.port())
}

/// An address one host can have and talk to: not unspecified, multicast or
/// broadcast (RFC 1122 §4.2.3.10: no connections with those).
fn is_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_multicast() || a.is_broadcast()),
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
    }
}

/// Both ends unicast, of one family, with non-zero ports.
// RFC 9293 §3.9.2.3 (MUST-46): an OPEN to a broadcast or multicast address
// is an error.
fn check_addresses(local: SocketAddr, remote: SocketAddr) -> Result<(), EndpointError> {
    let ok = local.port() != 0
        && remote.port() != 0
        && local.is_ipv4() == remote.is_ipv4()
        && is_unicast(local.ip())
        && is_unicast(remote.ip());
    ok.then_some(()).ok_or(EndpointError::InvalidAddress)
}
