//! The simulation: a virtual clock, an event queue, the dumbbell topology
//! (each client host on its own access link, all sharing one bottleneck
//! to the server), the applications, and the bookkeeping that becomes the
//! report.
//!
//! ```text
//! client i --access i (extra_rtt/2)--> bottleneck fwd (rate, queue, rtt/2) --> server
//! client i <--access i (extra_rtt/2)-- bottleneck rev (rate, queue, rtt/2) <-- server
//! ```

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use synack_core::conn::{Config, Connection, Error, Event as ConnEvent, State};
use synack_core::wire::{ChecksumMode, Ipv4Packet, TcpFlags, parse_tcp_in_ip};
use synack_core::{Duration, Instant};

use crate::capture::Capture;
use crate::config::{AppSpec, ConfigError, Impairments, LinkAction, SegmentMatch, SimConfig};
use crate::host::{Arrival, ConnId, Host};
use crate::link::{Fate, Link};
use crate::report::{
    FlowReport, FlowSummary, Latency, Report, Sample, Summary, jain_index, state_bit,
};
use crate::rng::Rng;
use crate::stream::{Pattern, Stream};

/// The server's address and port.
pub const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 2, 0, 1)), 5001);
/// Index of the server among the hosts.
const SERVER_HOST: usize = 0;
/// Bottleneck links: data direction and reverse.
const FWD: usize = 0;
const REV: usize = 1;
/// Largest packet buffer (the simulator's MTU ceiling).
const BUF_LEN: usize = 9000;

/// The address of client `i`.
pub fn client_addr(i: usize) -> SocketAddr {
    let ip = u32::from(Ipv4Addr::new(10, 1, 0, 0)) + i as u32 + 1;
    SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), 40_000 + (i % 20_000) as u16)
}

/// Where a packet goes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hop {
    Link(usize),
    Host(usize),
    /// The router behind the bottleneck's reverse direction: picks the
    /// client's access link by destination address.
    Router,
}

/// A packet in flight: a pooled buffer and its length.
#[derive(Debug)]
struct Packet {
    buf: Vec<u8>,
    len: usize,
}

#[derive(Debug)]
enum Event {
    Arrive {
        hop: Hop,
        packet: Packet,
    },
    Timer {
        host: usize,
        conn: ConnId,
        at: Instant,
    },
    Wake {
        host: usize,
        conn: ConnId,
    },
    FlowStart(usize),
    Script(usize),
    Sample,
}

#[derive(Debug)]
struct Queued {
    at: Instant,
    seq: u64,
    event: Event,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    // Reversed: the heap's top is the earliest event, ties in push order.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// One end of a flow, as its application sees it.
#[derive(Debug, Default)]
struct Side {
    conn: Option<ConnId>,
    closed: bool,
    eof: bool,
    error: Option<String>,
    states: u16,
    settled: bool,
    /// A wake-up for the application is already scheduled.
    wake_pending: bool,
}

#[derive(Debug)]
struct Flow {
    spec: crate::config::FlowSpec,
    client: Side,
    server: Side,
    /// Client to server.
    up: Stream,
    /// Server to client.
    down: Stream,
    started: Option<Instant>,
    connected: Option<Instant>,
    completed: Option<Instant>,
    /// Bulk pause: when the idle period ends, once it began.
    pause_until: Option<Instant>,
    pause_done: bool,
    /// Request/response progress at the client.
    requests_sent: u32,
    request_left: u64,
    request_at: Option<Instant>,
    next_request_at: Option<Instant>,
    latencies: Vec<Duration>,
    /// Response bytes the server owes.
    owed: u64,
    series: Vec<Sample>,
    at_heal: Option<crate::report::AtHeal>,
    /// Counted in `flows_done` already.
    counted: bool,
    /// Learned initial sequence numbers (client, server) for faults.
    iss: [Option<u32>; 2],
}

impl Flow {
    /// Bytes the data receiver must read for the flow to be complete,
    /// in each direction; `None` for an endless transfer.
    fn expected(&self) -> Option<(u64, u64)> {
        match self.spec.app {
            AppSpec::Bulk { bytes, .. } => (bytes != u64::MAX).then_some((bytes, 0)),
            AppSpec::RequestResponse {
                requests,
                request,
                response,
                ..
            } => Some((
                u64::from(requests) * u64::from(request),
                u64::from(requests) * u64::from(response),
            )),
            AppSpec::Exchange { bytes, .. } => Some((bytes, bytes)),
        }
    }

    /// True when the client's connection sends the flow's main data.
    fn client_sends(&self) -> bool {
        !matches!(self.spec.app, AppSpec::RequestResponse { .. })
    }

    fn delivered(&self) -> u64 {
        match self.spec.app {
            AppSpec::Bulk { .. } => self.up.read,
            AppSpec::RequestResponse { .. } => self.down.read,
            AppSpec::Exchange { .. } => self.up.read + self.down.read,
        }
    }

    fn done(&self) -> bool {
        self.started.is_some()
            && self.client.settled
            && (self.server.settled || self.server.conn.is_none())
    }
}

/// A simulation in progress.
#[derive(Debug)]
pub struct Simulation {
    cfg: SimConfig,
    now: Instant,
    seq: u64,
    queue: BinaryHeap<Queued>,
    rng: Rng,
    pattern: Pattern,
    links: Vec<Link>,
    /// Where each link delivers.
    link_to: Vec<Hop>,
    hosts: Vec<Host>,
    flows: Vec<Flow>,
    by_client: HashMap<SocketAddr, usize>,
    /// Faults' remaining drops.
    fault_left: Vec<u32>,
    pool: Vec<Vec<u8>>,
    scratch: Vec<u8>,
    segments: u64,
    /// Packets the router dropped: bad header or unknown destination.
    router_drops: u64,
    flows_pending: usize,
    flows_done: usize,
    sample_every: Duration,
    healed_at: Option<Instant>,
    end: Instant,
    capture_error: Option<String>,
    wall_start: std::time::Instant,
}

impl Simulation {
    /// Builds the network of `cfg`: hosts, links, flows and the schedule.
    /// Capture files are created here.
    pub fn new(cfg: SimConfig) -> Result<Simulation, ConfigError> {
        cfg.validate()?;
        let mut rng = Rng::new(cfg.seed);
        let pattern = Pattern::new(&mut rng.fork());
        let mut secret = || {
            let mut s = [0u8; 16];
            s[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
            s[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
            s
        };
        let IpAddr::V4(server_ip) = SERVER.ip() else {
            unreachable!("the server address is IPv4")
        };
        let mut hosts = vec![Host::new("server", server_ip, secret())];
        let half = cfg.link.rtt.div(2);
        let queue = cfg.queue_limit();
        let mtu = cfg.link.mtu;
        let mut links = vec![
            Link::new(Some(cfg.link.rate_bps), half, queue, mtu, cfg.link.forward),
            Link::new(Some(cfg.link.rate_bps), half, queue, mtu, cfg.link.reverse),
        ];
        let mut link_to = vec![Hop::Host(SERVER_HOST), Hop::Router];
        let mut by_client = HashMap::new();
        let mut flows = Vec::with_capacity(cfg.flows.len());
        for (i, spec) in cfg.flows.iter().enumerate() {
            let addr = client_addr(i);
            let IpAddr::V4(ip) = addr.ip() else {
                unreachable!("client addresses are IPv4")
            };
            hosts.push(Host::new(format!("client{}", i + 1), ip, secret()));
            let access = spec.extra_rtt.div(2);
            let q = crate::config::QueueLimit::Packets(1);
            links.push(Link::new(None, access, q, mtu, Impairments::NONE));
            link_to.push(Hop::Link(FWD));
            links.push(Link::new(None, access, q, mtu, Impairments::NONE));
            link_to.push(Hop::Host(i + 1));
            by_client.insert(addr, i);
            flows.push(Flow {
                spec: spec.clone(),
                client: Side::default(),
                server: Side::default(),
                up: Stream::default(),
                down: Stream::default(),
                started: None,
                connected: None,
                completed: None,
                pause_until: None,
                pause_done: false,
                requests_sent: 0,
                request_left: 0,
                request_at: None,
                next_request_at: None,
                latencies: Vec::new(),
                owed: 0,
                series: Vec::new(),
                at_heal: None,
                counted: false,
                iss: [None; 2],
            });
        }
        let mut capture_error = None;
        if let Some(spec) = &cfg.capture {
            for h in &mut hosts {
                let capture = match &spec.prefix {
                    None => Ok(Capture::in_memory(spec.snaplen)),
                    Some(prefix) => {
                        let mut name = prefix.as_os_str().to_owned();
                        name.push(format!("-{}.pcap", h.name()));
                        Capture::to_file(std::path::Path::new(&name), spec.snaplen)
                            .map_err(|e| format!("{}: {e}", std::path::Path::new(&name).display()))
                    }
                };
                match capture {
                    Ok(c) => h.set_capture(c),
                    Err(e) => {
                        capture_error.get_or_insert(e);
                    }
                }
            }
        }
        let sample_every = cfg
            .sample_interval
            .unwrap_or_else(|| cfg.link.rtt.div(2).max(Duration::from_millis(1)));
        let end = Instant::ZERO + cfg.duration;
        let mut sim = Simulation {
            fault_left: cfg.faults.iter().map(|f| f.times).collect(),
            flows_pending: flows.len(),
            cfg,
            now: Instant::ZERO,
            seq: 0,
            queue: BinaryHeap::new(),
            rng,
            pattern,
            links,
            link_to,
            hosts,
            flows,
            by_client,
            pool: Vec::new(),
            scratch: vec![0; 256 * 1024],
            segments: 0,
            router_drops: 0,
            flows_done: 0,
            sample_every,
            healed_at: None,
            end,
            capture_error,
            wall_start: std::time::Instant::now(),
        };
        for i in 0..sim.flows.len() {
            let at = Instant::ZERO + sim.flows[i].spec.start;
            sim.push(at, Event::FlowStart(i));
        }
        for i in 0..sim.cfg.events.len() {
            let at = Instant::ZERO + sim.cfg.events[i].at;
            sim.push(at, Event::Script(i));
        }
        sim.push(Instant::ZERO, Event::Sample);
        Ok(sim)
    }

    /// Virtual time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The hosts: the server first, then client 1, 2, …
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The time limit of the run.
    pub fn end(&self) -> Instant {
        self.end
    }

    /// Bytes delivered so far and bytes expected in all (`None` when some
    /// flow is endless), for progress reports.
    pub fn progress(&self) -> (u64, Option<u64>) {
        let delivered = self.flows.iter().map(|f| f.up.read + f.down.read).sum();
        let total = self
            .flows
            .iter()
            .map(|f| f.expected().map(|(a, b)| a + b))
            .sum::<Option<u64>>();
        (delivered, total)
    }

    /// True once every connection has settled (closed or in TIME-WAIT) or
    /// the time limit has passed, or nothing is left to happen.
    pub fn is_finished(&self) -> bool {
        self.queue.is_empty()
            || self.now > self.end
            || (self.flows_pending == 0 && self.flows_done == self.flows.len())
    }

    fn push(&mut self, at: Instant, event: Event) {
        self.seq += 1;
        self.queue.push(Queued {
            at: at.max(self.now),
            seq: self.seq,
            event,
        });
    }

    /// Runs events until virtual time `until` (or the end). Returns false
    /// when the run is finished.
    pub fn run_until(&mut self, until: Instant) -> bool {
        while !self.is_finished() {
            let Some(next) = self.queue.peek() else { break };
            if next.at > until || next.at > self.end {
                self.now = self.now.max(until.min(self.end + Duration::from_micros(1)));
                break;
            }
            let Some(q) = self.queue.pop() else { break };
            self.now = q.at;
            self.handle(q.event);
        }
        !self.is_finished()
    }

    /// Runs to the end and reports.
    pub fn run(mut self) -> Report {
        while self.run_until(self.end + Duration::from_micros(1)) {}
        self.finish()
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Arrive { hop, packet } => self.arrive(hop, packet),
            Event::Timer { host, conn, at } => {
                if self.hosts[host].timer_fired(self.now, conn, at) {
                    self.activity(host, conn);
                }
            }
            Event::Wake { host, conn } => {
                let tag = self.hosts[host].slot(conn).tag;
                let side = self.side_mut(tag, host == SERVER_HOST);
                side.wake_pending = false;
                self.activity(host, conn);
            }
            Event::FlowStart(i) => self.start_flow(i),
            Event::Script(i) => self.script(i),
            Event::Sample => self.sample(),
        }
    }

    fn side_mut(&mut self, flow: usize, server: bool) -> &mut Side {
        let f = &mut self.flows[flow];
        if server { &mut f.server } else { &mut f.client }
    }

    fn conn_config(&self, flow: usize, server: bool) -> Config {
        let base = if server {
            &self.cfg.server
        } else {
            &self.cfg.client
        };
        let mut config = base.clone();
        config.mtu = self.cfg.link.mtu;
        config.congestion = self.flows[flow].spec.cc.algorithm();
        config
    }

    fn start_flow(&mut self, i: usize) {
        self.flows_pending -= 1;
        self.flows[i].started = Some(self.now);
        let client = client_addr(i);
        let config = self.conn_config(i, false);
        let iss = self.flows[i].spec.client_iss;
        match self.hosts[i + 1].connect(self.now, &config, client.port(), SERVER, iss, i) {
            Ok(id) => {
                self.flows[i].client.conn = Some(id);
                self.activity(i + 1, id);
            }
            Err(e) => self.flows[i].client.error = Some(format!("connect: {e}")),
        }
        if self.flows[i].spec.simultaneous_open {
            let config = self.conn_config(i, true);
            let host = &mut self.hosts[SERVER_HOST];
            match host.connect(self.now, &config, SERVER.port(), client, None, i) {
                Ok(id) => {
                    self.flows[i].server.conn = Some(id);
                    self.activity(SERVER_HOST, id);
                }
                Err(e) => self.flows[i].server.error = Some(format!("connect: {e}")),
            }
        }
        // A flow that could not even start is over.
        if self.flows[i].client.conn.is_none() {
            self.flows[i].client.settled = true;
            self.flows[i].server.settled = true;
            self.count_if_done(i);
        }
    }

    /// Counts a flow as done once, when both its ends have settled.
    fn count_if_done(&mut self, flow: usize) {
        let f = &mut self.flows[flow];
        if !f.counted && f.done() {
            f.counted = true;
            self.flows_done += 1;
        }
    }

    fn script(&mut self, i: usize) {
        let action = self.cfg.events[i].action;
        match action {
            LinkAction::Down => self.links[..2].iter_mut().for_each(|l| l.set_up(false)),
            LinkAction::Up => self.links[..2].iter_mut().for_each(|l| l.set_up(true)),
            LinkAction::Blackhole(d) => {
                self.links[..2].iter_mut().for_each(|l| l.set_up(false));
                // The end of the blackhole is a scripted "up" of its own.
                self.cfg.events.push(crate::config::ScriptedEvent {
                    at: self.now.saturating_duration_since(Instant::ZERO) + d,
                    action: LinkAction::Up,
                });
                let j = self.cfg.events.len() - 1;
                self.push(self.now + d, Event::Script(j));
            }
            LinkAction::SetRate(r) => {
                let now = self.now;
                self.links[..2].iter_mut().for_each(|l| l.set_rate(now, r));
            }
            LinkAction::SetDelay(d) => self.links[..2].iter_mut().for_each(|l| l.set_delay(d)),
            LinkAction::SetQueue(q) => {
                let q = self.cfg.resolve_queue(q);
                self.links[..2]
                    .iter_mut()
                    .for_each(|l| l.set_queue_limit(q));
            }
            LinkAction::Heal => {
                self.healed_at = Some(self.now);
                self.links[..2]
                    .iter_mut()
                    .for_each(|l| l.set_impairments(Impairments::NONE));
                for i in 0..self.flows.len() {
                    let f = &self.flows[i];
                    let remaining = f
                        .expected()
                        .map_or(0, |(a, b)| (a + b).saturating_sub(f.up.read + f.down.read));
                    // Either end may have data or a SYN waiting for its
                    // (backed-off) retransmission timer.
                    let stats: Vec<_> = [(i + 1, f.client.conn), (SERVER_HOST, f.server.conn)]
                        .into_iter()
                        .filter_map(|(h, c)| Some(self.hosts[h].slot(c?).conn.stats()))
                        .collect();
                    if let Some(rto) = stats.iter().map(|s| s.rto).max() {
                        let srtt = stats.iter().filter_map(|s| s.srtt).max();
                        self.flows[i].at_heal = Some(crate::report::AtHeal {
                            rto,
                            srtt,
                            remaining,
                        });
                    }
                }
            }
        }
    }

    fn sample(&mut self) {
        for i in 0..self.flows.len() {
            let f = &self.flows[i];
            if f.started.is_none() || f.done() {
                continue;
            }
            let (side, host) = if f.client_sends() {
                (&f.client, i + 1)
            } else {
                (&f.server, SERVER_HOST)
            };
            let Some(c) = side.conn else { continue };
            let s = self.hosts[host].slot(c).conn.stats();
            let ms = |d: Duration| d.total_micros() as f64 / 1e3;
            let sample = Sample {
                t: self.now.total_micros() as f64 / 1e6,
                cwnd: s.cwnd as u64,
                ssthresh: (s.ssthresh != usize::MAX).then_some(s.ssthresh as u64),
                srtt_ms: s.srtt.map(ms),
                rttvar_ms: ms(s.rttvar),
                rto_ms: ms(s.rto),
                bytes_in_flight: s.bytes_in_flight as u64,
                pacing_rate: s.pacing_rate,
                delivered: f.delivered(),
            };
            self.flows[i].series.push(sample);
        }
        if !(self.flows_pending == 0 && self.flows_done == self.flows.len()) {
            let at = self.now + self.sample_every;
            self.push(at, Event::Sample);
        }
    }

    fn take_buf(&mut self) -> Vec<u8> {
        self.pool.pop().unwrap_or_else(|| vec![0; BUF_LEN])
    }

    fn arrive(&mut self, hop: Hop, mut packet: Packet) {
        match hop {
            Hop::Link(l) => self.offer(l, packet),
            Hop::Router => {
                // A router checks the IP header before it trusts the
                // destination (RFC 1812 §5.2.2).
                let header = Ipv4Packet::new_checked(&packet.buf[..packet.len])
                    .ok()
                    .filter(|p| p.verify_checksum());
                let flow = header.and_then(|p| {
                    let ip = p.dst_addr();
                    let i = u32::from(ip).checked_sub(u32::from(Ipv4Addr::new(10, 1, 0, 1)))?;
                    let i = i as usize;
                    (i < self.flows.len()).then_some(i)
                });
                match flow {
                    // Access links follow the bottleneck: 2 + 2i forward, 3 + 2i back.
                    Some(i) => self.offer(3 + 2 * i, packet),
                    None => {
                        self.router_drops += 1;
                        self.pool.push(packet.buf);
                    }
                }
            }
            Hop::Host(h) => {
                let mut reply = self.take_buf();
                let by_client = &self.by_client;
                let flows = &self.flows;
                let cfg = &self.cfg;
                let arrival = self.hosts[h].receive(
                    self.now,
                    &packet.buf[..packet.len],
                    |tuple| {
                        // Only the server listens, once per flow.
                        let flow = *by_client.get(&tuple.remote)?;
                        let f = &flows[flow];
                        (h == SERVER_HOST && f.server.conn.is_none() && f.started.is_some()).then(
                            || {
                                let mut c = cfg.server.clone();
                                c.mtu = cfg.link.mtu;
                                c.congestion = f.spec.cc.algorithm();
                                (c, flow)
                            },
                        )
                    },
                    &mut reply,
                );
                self.pool.push(std::mem::take(&mut packet.buf));
                match arrival {
                    Arrival::Conn(id) => {
                        let tag = self.hosts[h].slot(id).tag;
                        if h == SERVER_HOST && self.flows[tag].server.conn.is_none() {
                            self.flows[tag].server.conn = Some(id);
                        }
                        self.pool.push(reply);
                        self.activity(h, id);
                    }
                    Arrival::Reset(n) => {
                        self.segments += 1;
                        let link = self.egress(h);
                        self.offer(link, Packet { buf: reply, len: n });
                    }
                    Arrival::Dropped => self.pool.push(reply),
                }
            }
        }
    }

    /// The link a host sends on.
    fn egress(&self, host: usize) -> usize {
        if host == SERVER_HOST {
            REV
        } else {
            2 + 2 * (host - 1)
        }
    }

    fn offer(&mut self, l: usize, mut packet: Packet) {
        if l <= REV && !self.cfg.faults.is_empty() && self.fault_drops(l, &packet) {
            self.links[l].count_fault_drop();
            self.pool.push(packet.buf);
            return;
        }
        match self.links[l].offer(self.now, packet.len, &mut self.rng) {
            Fate::Drop(_) => self.pool.push(packet.buf),
            Fate::Deliver {
                at,
                corrupt_bit,
                duplicate_at,
            } => {
                if let Some(bit) = corrupt_bit {
                    packet.buf[bit / 8] ^= 1 << (bit % 8);
                }
                let hop = self.link_to[l];
                if let Some(dup_at) = duplicate_at {
                    let mut copy = self.take_buf();
                    copy[..packet.len].copy_from_slice(&packet.buf[..packet.len]);
                    let len = packet.len;
                    self.push(
                        dup_at,
                        Event::Arrive {
                            hop,
                            packet: Packet { buf: copy, len },
                        },
                    );
                }
                self.push(at, Event::Arrive { hop, packet });
            }
        }
    }

    /// True when a targeted fault drops this packet on bottleneck link `l`.
    fn fault_drops(&mut self, l: usize, packet: &Packet) -> bool {
        let Ok((ip, seg)) = parse_tcp_in_ip(&packet.buf[..packet.len], ChecksumMode::Skip) else {
            return false;
        };
        let from_client = l == FWD;
        let (addr, port) = if from_client {
            (ip.addrs().src(), seg.src_port)
        } else {
            (ip.addrs().dst(), seg.dst_port)
        };
        let Some(&flow) = self.by_client.get(&SocketAddr::new(addr, port)) else {
            return false;
        };
        let dir = usize::from(!from_client);
        let syn = seg.flags.contains(TcpFlags::SYN);
        if syn {
            self.flows[flow].iss[dir] = Some(seg.seq.0);
        }
        let iss = self.flows[flow].iss[dir];
        for (k, fault) in self.cfg.faults.iter().enumerate() {
            if self.fault_left[k] == 0 || fault.flow != flow || fault.from_client != from_client {
                continue;
            }
            let ack = seg.flags.contains(TcpFlags::ACK);
            let hit = match fault.matches {
                SegmentMatch::Syn => syn && !ack,
                SegmentMatch::SynAck => syn && ack,
                SegmentMatch::PureAck => seg.flags == TcpFlags::ACK && seg.payload.is_empty(),
                SegmentMatch::Fin => seg.flags.contains(TcpFlags::FIN),
                SegmentMatch::DataAt(offset) => iss.is_some_and(|iss| {
                    let start = u64::from(seg.seq.0.wrapping_sub(iss.wrapping_add(1)));
                    !seg.payload.is_empty()
                        && (start..start + seg.payload.len() as u64).contains(&offset)
                }),
            };
            if hit {
                self.fault_left[k] -= 1;
                return true;
            }
        }
        false
    }

    /// After anything happened to a connection: run its application, send
    /// what it has to send, note its state, and schedule its timer.
    fn activity(&mut self, host: usize, conn: ConnId) {
        let flow = self.hosts[host].slot(conn).tag;
        let server = host == SERVER_HOST;
        for _ in 0..4 {
            self.drive_app(host, conn, flow, server);
            let mut sent = false;
            loop {
                let mut buf = self.take_buf();
                let mtu = self.cfg.link.mtu;
                match self.hosts[host].poll_transmit(self.now, conn, &mut buf[..mtu]) {
                    Some(len) => {
                        sent = true;
                        self.segments += 1;
                        let link = self.egress(host);
                        self.offer(link, Packet { buf, len });
                    }
                    None => {
                        self.pool.push(buf);
                        break;
                    }
                }
            }
            // Sending can free buffer space or close the connection: let
            // the application see it before sleeping.
            if !sent {
                break;
            }
        }
        let c = &self.hosts[host].slot(conn).conn;
        let state = c.state();
        let finished = c.is_finished();
        let side = self.side_mut(flow, server);
        side.states |= state_bit(state);
        if !side.settled && matches!(state, State::Closed | State::TimeWait) {
            side.settled = true;
            self.count_if_done(flow);
        }
        if finished {
            self.hosts[host].release(conn);
        }
        if let Some(at) = self.hosts[host].deadline_changed(conn) {
            self.push(at, Event::Timer { host, conn, at });
        }
    }

    fn wake_at(&mut self, host: usize, conn: ConnId, flow: usize, server: bool, at: Instant) {
        let side = self.side_mut(flow, server);
        if !side.wake_pending {
            side.wake_pending = true;
            self.push(at, Event::Wake { host, conn });
        }
    }

    /// The application of one end of a flow: reads, writes, closes.
    fn drive_app(&mut self, host: usize, id: ConnId, flow: usize, server: bool) {
        let now = self.now;
        let Simulation {
            hosts,
            flows,
            pattern,
            scratch,
            ..
        } = self;
        let conn = hosts[host].conn_mut(id);
        let f = &mut flows[flow];
        while let Some(e) = conn.poll_event() {
            match e {
                ConnEvent::Connected if !server && f.connected.is_none() => f.connected = Some(now),
                ConnEvent::Closed(reason) if reason != synack_core::conn::CloseReason::Normal => {
                    let side = if server { &mut f.server } else { &mut f.client };
                    side.error.get_or_insert_with(|| reason.to_string());
                }
                _ => {}
            }
        }
        let mut wake = None;
        let reading_paused = f.spec.read_pause.and_then(|(at, len)| {
            let start = f.started? + at;
            (now >= start && now < start + len).then_some(start + len)
        });
        let result = match f.spec.app {
            AppSpec::Bulk { bytes, pause } if !server => {
                let mut limit = bytes;
                if let (Some(p), false) = (pause, f.pause_done) {
                    limit = limit.min(p.after_bytes);
                    if f.up.written >= p.after_bytes {
                        match f.pause_until {
                            None if conn.send_queue_len() == 0 => {
                                f.pause_until = Some(now + p.duration);
                                wake = Some(now + p.duration);
                            }
                            Some(t) if now >= t => {
                                f.pause_done = true;
                                limit = bytes;
                            }
                            Some(t) => wake = Some(t),
                            None => {}
                        }
                    }
                }
                write_stream(conn, &mut f.up, pattern, limit).and_then(|()| {
                    // Closing before the handshake would abandon the
                    // connection (RFC 9293 §3.10.4), not send an empty one.
                    if f.up.written == bytes && !f.client.closed && f.connected.is_some() {
                        f.client.closed = true;
                        conn.close(now)?;
                    }
                    Ok(())
                })
            }
            AppSpec::Bulk { bytes, .. } => {
                if let Some(t) = reading_paused {
                    wake = Some(t);
                    Ok(())
                } else {
                    read_stream(conn, now, &mut f.up, pattern, scratch).and_then(|eof| {
                        if f.up.read == bytes && f.completed.is_none() {
                            f.completed = Some(now);
                        }
                        if eof && !f.server.closed {
                            f.server.eof = true;
                            f.server.closed = true;
                            conn.close(now)?;
                        }
                        Ok(())
                    })
                }
            }
            AppSpec::RequestResponse {
                requests,
                request,
                response,
                think,
            } => {
                if server {
                    let before = f.up.read / u64::from(request.max(1));
                    read_stream(conn, now, &mut f.up, pattern, scratch).and_then(|eof| {
                        let after = f.up.read / u64::from(request.max(1));
                        f.owed += (after - before) * u64::from(response);
                        let target = f.down.written + f.owed;
                        let before_write = f.down.written;
                        write_stream(conn, &mut f.down, pattern, target)?;
                        f.owed -= f.down.written - before_write;
                        if eof && !f.server.closed {
                            f.server.closed = true;
                            f.server.eof = true;
                            conn.close(now)?;
                        }
                        Ok(())
                    })
                } else {
                    read_stream(conn, now, &mut f.down, pattern, scratch).and_then(|_| {
                        let answered = f.down.read / u64::from(response.max(1));
                        if let Some(at) = f.request_at
                            && answered >= u64::from(f.requests_sent)
                            && f.request_left == 0
                        {
                            f.latencies.push(now.saturating_duration_since(at));
                            f.request_at = None;
                            f.next_request_at = Some(now + think);
                        }
                        if f.request_at.is_none() && f.requests_sent < requests {
                            let due = f.next_request_at.unwrap_or(now);
                            if due <= now {
                                f.requests_sent += 1;
                                f.request_left = u64::from(request);
                                f.request_at = Some(now);
                            } else {
                                wake = Some(due);
                            }
                        }
                        if f.request_left > 0 {
                            let target = f.up.written + f.request_left;
                            let before = f.up.written;
                            write_stream(conn, &mut f.up, pattern, target)?;
                            f.request_left -= f.up.written - before;
                        }
                        if f.request_at.is_none() && f.requests_sent == requests {
                            if f.completed.is_none() {
                                f.completed = Some(now);
                            }
                            if !f.client.closed {
                                f.client.closed = true;
                                conn.close(now)?;
                            }
                        }
                        Ok(())
                    })
                }
            }
            AppSpec::Exchange { bytes, close_at } => {
                let (mine, theirs) = if server {
                    (&mut f.down, &mut f.up)
                } else {
                    (&mut f.up, &mut f.down)
                };
                let r = write_stream(conn, mine, pattern, bytes).and_then(|()| {
                    if reading_paused.is_none() {
                        read_stream(conn, now, theirs, pattern, scratch)?;
                    }
                    Ok(())
                });
                if f.up.read == bytes && f.down.read == bytes && f.completed.is_none() {
                    f.completed = Some(now);
                }
                let close = f.started.map(|s| s + close_at);
                let side = if server { &mut f.server } else { &mut f.client };
                r.and_then(|()| match close {
                    Some(t) if now >= t && !side.closed => {
                        side.closed = true;
                        conn.close(now)
                    }
                    Some(t) if now < t => {
                        wake = Some(t);
                        Ok(())
                    }
                    _ => Ok(()),
                })
            }
        };
        if let Err(e) = result {
            let side = if server { &mut f.server } else { &mut f.client };
            side.error.get_or_insert_with(|| e.to_string());
        }
        if let Some(at) = wake {
            self.wake_at(host, id, flow, server, at);
        }
    }

    /// Ends the run: collects statistics, closes captures.
    pub fn finish(mut self) -> Report {
        let wall = self.wall_start.elapsed().as_secs_f64();
        let end = self.now.min(self.end);
        let mut captures = Vec::new();
        let mut capture_error = self.capture_error.take();
        for h in &mut self.hosts {
            if let Some(c) = h.take_capture() {
                match c.finish() {
                    Ok(Some(bytes)) => captures.push((h.name().to_string(), bytes)),
                    Ok(None) => {}
                    Err(e) => {
                        capture_error.get_or_insert(e);
                    }
                }
            }
        }
        let secs = |t: Instant| t.total_micros() as f64 / 1e6;
        let mut summaries = Vec::new();
        let mut reports = Vec::new();
        for (i, f) in self.flows.iter().enumerate() {
            let stats =
                |host: usize, side: &Side| side.conn.map(|c| self.hosts[host].slot(c).conn.stats());
            let client = stats(i + 1, &f.client);
            let server = stats(SERVER_HOST, &f.server);
            let (sender, receiver) = if f.client_sends() {
                (client.clone(), server.clone())
            } else {
                (server.clone(), client.clone())
            };
            let sender = sender.unwrap_or_default();
            let started = f.started.map_or(0.0, secs);
            let completion = f.completed.map(|c| secs(c) - started);
            let delivered = f.up.read + f.down.read;
            let span = completion.unwrap_or(secs(end) - started);
            let goodput = if span > 0.0 {
                f.delivered() as f64 * 8.0 / span
            } else {
                0.0
            };
            let srtts: Vec<f64> = f.series.iter().filter_map(|s| s.srtt_ms).collect();
            let error = f
                .client
                .error
                .as_ref()
                .map(|e| format!("client: {e}"))
                .or_else(|| f.server.error.as_ref().map(|e| format!("server: {e}")));
            let intact = match f.expected() {
                Some(_) => {
                    f.completed.is_some()
                        && f.up.complete_and_intact()
                        && f.down.complete_and_intact()
                }
                None => f.up.intact_so_far() && f.down.intact_so_far(),
            };
            let ms = |d: Duration| d.total_micros() as f64 / 1e3;
            summaries.push(FlowSummary {
                cc: f.spec.cc.name().to_string(),
                bytes_sent_app: f.up.written + f.down.written,
                bytes_delivered: delivered,
                data_intact: intact,
                goodput_bps: goodput,
                retransmitted_segments: sender.retransmitted_segments,
                retransmitted_bytes: sender.retransmitted_bytes,
                rto_timeouts: sender.timeouts,
                tlp_probes: sender.recovery.tlp_probes,
                spurious_retransmissions: sender.recovery.spurious_retransmissions,
                min_rtt_ms: sender.min_rtt.map(ms),
                mean_srtt_ms: (!srtts.is_empty())
                    .then(|| srtts.iter().sum::<f64>() / srtts.len() as f64),
                completion_seconds: completion,
                final_state: sender.state.name().to_string(),
                error,
                fast_recoveries: sender.recovery.fast_recoveries,
                window_probes: client.as_ref().map_or(0, |s| s.window_probes)
                    + server.as_ref().map_or(0, |s| s.window_probes),
                latency: Latency::of(&f.latencies),
            });
            let negotiated = f
                .client
                .conn
                .map(|c| self.hosts[i + 1].slot(c).conn.negotiated())
                .unwrap_or_default();
            reports.push(FlowReport {
                series: f.series.clone(),
                sender,
                receiver,
                server_existed: f.server.conn.is_some(),
                negotiated,
                client_states: f.client.states,
                server_states: f.server.states,
                intact_prefix: f.up.intact_so_far() && f.down.intact_so_far(),
                latencies: f.latencies.clone(),
                client_error: f.client.error.clone(),
                server_error: f.server.error.clone(),
                connect_seconds: f.connected.map(|c| secs(c) - started),
                at_heal: f.at_heal,
                started,
                completed: f.completed.map(secs),
            });
        }
        let first = self
            .flows
            .iter()
            .filter_map(|f| f.started)
            .min()
            .unwrap_or(Instant::ZERO);
        let last = if self.flows.iter().all(|f| f.completed.is_some()) {
            self.flows
                .iter()
                .filter_map(|f| f.completed)
                .max()
                .unwrap_or(end)
        } else {
            end
        };
        let capacity = self.links[FWD].capacity_bytes(first, last);
        let carried = self.links[FWD].stats().delivered_bytes as f64;
        let utilization = if capacity > 0.0 {
            (carried / capacity).min(1.0)
        } else {
            0.0
        };
        let goodputs: Vec<f64> = summaries.iter().map(|s| s.goodput_bps).collect();
        let summary = Summary {
            scenario: self.cfg.name.clone(),
            seed: self.cfg.seed,
            virtual_seconds: secs(end),
            wall_seconds: wall,
            link_utilization: utilization,
            jain_index: jain_index(&goodputs),
            flows: summaries,
        };
        Report {
            summary,
            flows: reports,
            links: [self.links[FWD].stats(), self.links[REV].stats()],
            segments: self.segments,
            malformed: self.router_drops + self.hosts.iter().map(|h| h.malformed).sum::<u64>(),
            stray_resets: self.hosts.iter().map(|h| h.resets_sent).sum(),
            captures,
            capture_error,
            healed_at: self.healed_at.map(secs),
            hit_time_limit: !(self.flows_pending == 0 && self.flows_done == self.flows.len()),
        }
    }
}

/// Writes the stream's next bytes, up to `limit` written in all, as far as
/// the connection takes them.
fn write_stream(
    conn: &mut Connection,
    stream: &mut Stream,
    pattern: &Pattern,
    limit: u64,
) -> Result<(), Error> {
    while stream.written < limit {
        let chunk = pattern.slice(stream.written, limit - stream.written);
        match conn.write(chunk) {
            Ok(n) => {
                stream.on_written(&chunk[..n]);
                if n < chunk.len() {
                    return Ok(());
                }
            }
            Err(Error::WouldBlock) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads everything readable into the stream's check; true at the end of
/// the stream (the peer closed and all was read).
fn read_stream(
    conn: &mut Connection,
    now: Instant,
    stream: &mut Stream,
    pattern: &Pattern,
    buf: &mut [u8],
) -> Result<bool, Error> {
    loop {
        match conn.read(now, buf) {
            Ok(0) => return Ok(true),
            Ok(n) => stream.on_read(pattern, &buf[..n]),
            Err(Error::WouldBlock) => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}

/// Runs `cfg` to the end.
pub fn run(cfg: SimConfig) -> Result<Report, ConfigError> {
    Ok(Simulation::new(cfg)?.run())
}
