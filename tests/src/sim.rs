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
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use synack_core::FourTuple;
use synack_core::cc::{CcAlgorithm, CongestionControl, CongestionControlFactory};
use synack_core::conn::{
    CloseReason, Config, Connection, Error, Event as ConnEvent, Negotiated, State, Stats,
};
use synack_core::endpoint::{ConnectionHandle, EndpointConfig, ListenerId};
use synack_core::wire::{ChecksumMode, Ipv4Packet, TcpFlags, parse_tcp_in_ip};
use synack_core::{DropReason, Duration, Instant};
use synack_core::{ISN_CLOCK_TICK_MICROS, IsnGenerator};
use synack_link::impair::{ImpairmentConfig, Rng};

use crate::aqm::{FlowKey, PacketInfo, Qdisc, ipv4_ect, ipv4_mark_ce};
use crate::capture::Capture;
use crate::config::{AppSpec, CcKind, ConfigError, LinkAction, SegmentMatch, SimConfig};
use crate::host::Host;
use crate::link::{Fate, Link};
use crate::report::{
    FlowReport, FlowSummary, Latency, Report, Sample, Summary, jain_index, state_bit,
};
use crate::stream::{Pattern, Stream};

/// The server's address and port.
pub const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 2, 0, 1)), 5001);
/// Index of the server among the hosts.
const SERVER_HOST: usize = 0;
/// Bottleneck links: data direction and reverse.
const FWD: usize = 0;
const REV: usize = 1;

/// The address of client `i`.
pub fn client_addr(i: usize) -> SocketAddr {
    let ip = u32::from(FIRST_CLIENT) + i as u32;
    SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), 40_000 + (i % 20_000) as u16)
}

/// The address of client 0; the others follow.
const FIRST_CLIENT: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);

/// The client (flow) whose IP address is `ip`, among `flows`.
fn client_of(ip: Ipv4Addr, flows: usize) -> Option<usize> {
    let i = u32::from(ip).checked_sub(u32::from(FIRST_CLIENT))? as usize;
    (i < flows).then_some(i)
}

/// The congestion control of the server's connections. An endpoint builds
/// every connection from one configuration, but each flow names its own
/// controller (as a server would set it per socket), so the server's
/// endpoint gets this factory, and the simulation points it at the flow
/// whose packet or connect it hands over next: the connection that
/// creates, and the handshake that settles its MSS, build that flow's.
#[derive(Debug)]
struct FlowCc {
    next: Mutex<CcKind>,
    paced: bool,
}

impl FlowCc {
    fn select(&self, kind: CcKind) {
        *self.next.lock().unwrap_or_else(|e| e.into_inner()) = kind;
    }
}

impl CongestionControlFactory for FlowCc {
    fn build(&self, mss: usize) -> Box<dyn CongestionControl> {
        let kind = *self.next.lock().unwrap_or_else(|e| e.into_inner());
        kind.algorithm().build_for(mss, self.paced)
    }
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
    /// A packet arrives out of its link's order (a duplicate, or one
    /// overtaking an earlier packet after a delay change or reordering).
    Arrive {
        hop: Hop,
        packet: Packet,
    },
    /// The packet at the head of a link's in-flight queue arrives.
    LinkHead(usize),
    /// A bottleneck link under an AQM finished sending a packet: the
    /// discipline hands it the next.
    LinkFree(usize),
    /// The host's endpoint deadline.
    Timer {
        host: usize,
        at: Instant,
    },
    /// An application asked to run again (a pause or think time ends).
    Wake {
        flow: usize,
        server: bool,
    },
    /// A host takes in the packets gathered since its batch's first
    /// (when `epoch` is still the batch's: a full batch went in early).
    TakeIn {
        host: usize,
        epoch: u64,
    },
    FlowStart(usize),
    Script(usize),
    Sample,
}

/// A packet in a bottleneck's AQM queue, with the bit the link will flip
/// when it sends it.
#[derive(Debug)]
struct Held {
    packet: Packet,
    corrupt_bit: Option<usize>,
}

/// Packets that reached a host and wait for it to take them in (see
/// [`HostModel`](crate::config::HostModel)).
#[derive(Debug, Default)]
struct Inbox {
    packets: Vec<Packet>,
    /// Counts batches, so a wake-up meant for one that already went in is
    /// ignored.
    epoch: u64,
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
    conn: Option<ConnectionHandle>,
    /// The connection's statistics and options once it is over: the
    /// endpoint forgets a connection once the application has heard it
    /// closed.
    stats: Option<Stats>,
    negotiated: Negotiated,
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
    /// Each link's packets in flight in arrival order, with their arrival
    /// times: the event heap holds only the head of each, so its size
    /// does not grow with the window in flight.
    in_flight: Vec<VecDeque<(Instant, Packet)>>,
    /// The bottleneck's AQM queues (data direction, reverse), when the
    /// link is not drop-tail.
    aqm: [Option<Qdisc<Held>>; 2],
    /// Packets the AQM queues dropped, to return to the pool.
    aqm_drops: Vec<Held>,
    /// The bottleneck's mean queueing delay over each sample interval
    /// (data direction): (seconds, milliseconds).
    queue_series: Vec<(f64, f64)>,
    hosts: Vec<Host>,
    /// Each host's arrivals not yet taken in.
    inboxes: Vec<Inbox>,
    /// The server's listener (every flow that is not a simultaneous open
    /// connects to it).
    listener: ListenerId,
    /// Picks the controller of the server's next connection.
    server_cc: Arc<FlowCc>,
    /// The flow of each connection the server's application holds.
    server_flows: HashMap<ConnectionHandle, usize>,
    flows: Vec<Flow>,
    by_client: HashMap<SocketAddr, usize>,
    /// Faults' remaining drops.
    fault_left: Vec<u32>,
    pool: Vec<Vec<u8>>,
    scratch: Vec<u8>,
    segments: u64,
    /// Packets handed in to hosts, and in how many batches.
    handed_in: (u64, u64),
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
        let endpoint = |mut conn: Config, secret: [u8; 16]| {
            conn.mtu = cfg.link.mtu;
            let mut endpoint = EndpointConfig::new(secret);
            endpoint.conn = conn;
            endpoint
        };
        let server_cc = Arc::new(FlowCc {
            next: Mutex::new(CcKind::Reno),
            paced: cfg.server.pacing,
        });
        let mut server = cfg.server.clone();
        server.congestion = CcAlgorithm::Custom(server_cc.clone());
        let mut server = endpoint(server, secret());
        // Sized for its clients, as a server listens with a backlog
        // for its load: every flow's SYN gets a half-open connection
        // (runs study congestion; SYN floods and cookies are the
        // core's own tests'). With the default 256, a thousand flows
        // opening at once would get cookies, and those whose first
        // segment the queue dropped a reset.
        server.syn_backlog = cfg.flows.len().max(256);
        let mut server = Host::new("server", server_ip, server, Duration::ZERO)
            .map_err(ConfigError::Endpoint)?;
        let listener = server
            .endpoint_mut()
            .listen(SERVER)
            .expect("a new endpoint listens on any unicast address");
        let mut hosts = vec![server];
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
            let secret = secret();
            let mut client = cfg.client.clone();
            client.congestion = spec.cc.algorithm();
            let clock = spec
                .client_iss
                .map_or(Duration::ZERO, |iss| clock_for_isn(secret, i, spec, iss));
            let name = format!("client{}", i + 1);
            let host = Host::new(name, ip, endpoint(client, secret), clock)
                .map_err(ConfigError::Endpoint)?;
            hosts.push(host);
            let access = spec.extra_rtt.div(2);
            let q = crate::config::QueueLimit::Packets(1);
            links.push(Link::new(None, access, q, mtu, ImpairmentConfig::NONE));
            link_to.push(Hop::Link(FWD));
            links.push(Link::new(None, access, q, mtu, ImpairmentConfig::NONE));
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
        for h in &mut hosts {
            h.set_timer_granularity(cfg.host.timer_granularity);
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
        // The flow hash's key: from the seed, without drawing from the
        // run's generator (a drop-tail run stays as it was).
        let hash_seed = Rng::new(cfg.seed ^ 0x6671_5f63_6f64_656c).next_u64();
        let aqm = [0, 1].map(|_| Qdisc::new(cfg.link.aqm, queue, mtu as u32, hash_seed));
        let mut sim = Simulation {
            fault_left: cfg.faults.iter().map(|f| f.times).collect(),
            flows_pending: flows.len(),
            cfg,
            now: Instant::ZERO,
            seq: 0,
            queue: BinaryHeap::new(),
            rng,
            pattern,
            in_flight: links.iter().map(|_| VecDeque::new()).collect(),
            aqm,
            aqm_drops: Vec::new(),
            queue_series: Vec::new(),
            links,
            link_to,
            inboxes: hosts.iter().map(|_| Inbox::default()).collect(),
            hosts,
            listener,
            server_cc,
            server_flows: HashMap::new(),
            flows,
            by_client,
            pool: Vec::new(),
            scratch: vec![0; 256 * 1024],
            segments: 0,
            handed_in: (0, 0),
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
            Event::LinkHead(l) => {
                let Some((_, packet)) = self.in_flight[l].pop_front() else {
                    return;
                };
                if let Some(&(next, _)) = self.in_flight[l].front() {
                    self.push(next, Event::LinkHead(l));
                }
                self.arrive(self.link_to[l], packet);
            }
            Event::LinkFree(l) => self.serve(l),
            Event::Timer { host, at } => {
                if self.hosts[host].timer_fired(self.now, at) {
                    self.turn(host, Vec::new());
                } else if let Some(at) = self.hosts[host].deadline_changed() {
                    self.push(at, Event::Timer { host, at });
                }
            }
            Event::Wake { flow, server } => {
                self.side_mut(flow, server).wake_pending = false;
                let host = if server { SERVER_HOST } else { flow + 1 };
                self.turn(host, vec![flow]);
            }
            Event::TakeIn { host, epoch } => {
                if self.inboxes[host].epoch == epoch {
                    self.take_in(host);
                }
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

    fn start_flow(&mut self, i: usize) {
        self.flows_pending -= 1;
        self.flows[i].started = Some(self.now);
        let client = client_addr(i);
        let host = &mut self.hosts[i + 1];
        let now = host.clock(self.now);
        match host.endpoint_mut().connect_from(client, SERVER, now) {
            Ok(id) => {
                self.flows[i].client.conn = Some(id);
                self.turn(i + 1, vec![i]);
            }
            Err(e) => self.flows[i].client.error = Some(format!("connect: {e}")),
        }
        if self.flows[i].spec.simultaneous_open {
            self.server_cc.select(self.flows[i].spec.cc);
            let host = &mut self.hosts[SERVER_HOST];
            let now = host.clock(self.now);
            match host.endpoint_mut().connect_from(SERVER, client, now) {
                Ok(id) => {
                    self.flows[i].server.conn = Some(id);
                    self.server_flows.insert(id, i);
                    self.turn(SERVER_HOST, vec![i]);
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
                self.aqm.iter_mut().flatten().for_each(|a| a.set_limit(q));
            }
            LinkAction::Heal => {
                self.healed_at = Some(self.now);
                self.links[..2]
                    .iter_mut()
                    .for_each(|l| l.set_impairments(ImpairmentConfig::NONE));
                // Connections the server's application does not hold yet
                // (half-open, in the listener's SYN queue) wait for their
                // SYN-ACK's timer too.
                let half_open: HashMap<SocketAddr, Stats> = self.hosts[SERVER_HOST]
                    .endpoint()
                    .connections()
                    .filter(|(h, _)| !self.server_flows.contains_key(h))
                    .map(|(_, c)| (c.peer_addr(), c.stats()))
                    .collect();
                for i in 0..self.flows.len() {
                    let f = &self.flows[i];
                    let remaining = f
                        .expected()
                        .map_or(0, |(a, b)| (a + b).saturating_sub(f.up.read + f.down.read));
                    // Either end may have data or a SYN waiting for its
                    // (backed-off) retransmission timer.
                    let mut stats: Vec<Stats> = [false, true]
                        .into_iter()
                        .filter_map(|server| self.side_stats(i, server))
                        .collect();
                    if f.server.conn.is_none() {
                        stats.extend(half_open.get(&client_addr(i)).cloned());
                    }
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
        if let Some(ms) = self.links[FWD].take_interval_delay() {
            let t = self.now.total_micros() as f64 / 1e6;
            self.queue_series.push((t, ms));
        }
        for i in 0..self.flows.len() {
            let f = &self.flows[i];
            if f.started.is_none() || f.done() {
                continue;
            }
            let Some(s) = self.side_stats(i, !f.client_sends()) else {
                continue;
            };
            let f = &self.flows[i];
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
        self.pool
            .pop()
            .unwrap_or_else(|| vec![0; self.cfg.link.mtu])
    }

    fn arrive(&mut self, hop: Hop, packet: Packet) {
        match hop {
            Hop::Link(l) => self.offer(l, packet),
            Hop::Router => {
                // A router checks the IP header before it trusts the
                // destination (RFC 1812 §5.2.2).
                let header = Ipv4Packet::new_checked(&packet.buf[..packet.len])
                    .ok()
                    .filter(|p| p.verify_checksum());
                let flow = header.and_then(|p| client_of(p.dst_addr(), self.flows.len()));
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
                if self.cfg.host.answers_each_packet() {
                    self.handed_in.1 += 1;
                    let flow = self.hand_in(h, packet);
                    self.turn(h, flow.into_iter().collect());
                    return;
                }
                let inbox = &mut self.inboxes[h];
                inbox.packets.push(packet);
                let (queued, epoch) = (inbox.packets.len(), inbox.epoch);
                if queued >= self.cfg.host.receive_batch {
                    self.take_in(h);
                } else if queued == 1 {
                    let at = self.now + self.cfg.host.receive_delay;
                    self.push(at, Event::TakeIn { host: h, epoch });
                }
            }
        }
    }

    /// Host `h` takes in its gathered packets, then transmits once.
    fn take_in(&mut self, h: usize) {
        let inbox = &mut self.inboxes[h];
        inbox.epoch += 1;
        let packets = std::mem::take(&mut inbox.packets);
        self.handed_in.1 += 1;
        let mut flows = Vec::new();
        for packet in packets {
            if let Some(flow) = self.hand_in(h, packet)
                && !flows.contains(&flow)
            {
                flows.push(flow);
            }
        }
        self.turn(h, flows);
    }

    /// Gives one packet to host `h`'s endpoint. Returns the flow whose
    /// application may have something to do now: the client's own, or at
    /// the server the one its source address names (a corrupted address
    /// names another or none, which is harmless).
    fn hand_in(&mut self, h: usize, packet: Packet) -> Option<usize> {
        self.handed_in.0 += 1;
        let bytes = &packet.buf[..packet.len];
        let flow = if h == SERVER_HOST {
            let src = Ipv4Packet::new_checked(bytes).ok().map(|p| p.src_addr());
            let flow = src.and_then(|ip| client_of(ip, self.flows.len()));
            if let Some(i) = flow {
                self.server_cc.select(self.flows[i].spec.cc);
            }
            flow
        } else {
            Some(h - 1)
        };
        self.hosts[h].receive(self.now, bytes);
        self.pool.push(packet.buf);
        flow
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
        if l <= REV && self.aqm[l].is_some() {
            self.offer_aqm(l, packet);
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
                self.deliver(l, at, packet);
            }
        }
    }

    /// Puts a packet on link `l`'s way to arrive at `at`: behind the
    /// others in flight, or as an event of its own when it overtakes them.
    fn deliver(&mut self, l: usize, at: Instant, packet: Packet) {
        let hop = self.link_to[l];
        let queue = &mut self.in_flight[l];
        if queue.back().is_some_and(|&(last, _)| last > at) {
            self.push(at, Event::Arrive { hop, packet });
        } else {
            queue.push_back((at, packet));
            if queue.len() == 1 {
                self.push(at, Event::LinkHead(l));
            }
        }
    }

    /// Offers a packet to bottleneck link `l` under an AQM: after the
    /// link's impairments it joins the discipline (a duplicate right
    /// behind it), and the transmitter, if idle, takes the next packet.
    fn offer_aqm(&mut self, l: usize, packet: Packet) {
        let admitted = match self.links[l].admit(packet.len, &mut self.rng) {
            Ok(a) => a,
            Err(_) => {
                self.pool.push(packet.buf);
                return;
            }
        };
        let copy = admitted.duplicate.then(|| {
            let mut copy = self.take_buf();
            copy[..packet.len].copy_from_slice(&packet.buf[..packet.len]);
            Packet {
                buf: copy,
                len: packet.len,
            }
        });
        if admitted.corrupt_bit.is_some() {
            self.links[l].count_corrupted();
        }
        let held = [
            Some(Held {
                packet,
                corrupt_bit: admitted.corrupt_bit,
            }),
            copy.map(|packet| {
                self.links[l].count_duplicate();
                Held {
                    packet,
                    corrupt_bit: None,
                }
            }),
        ];
        let Some(q) = self.aqm[l].as_mut() else {
            return;
        };
        for h in held.into_iter().flatten() {
            let bytes = &h.packet.buf[..h.packet.len];
            let info = PacketInfo {
                len: h.packet.len as u32,
                ect: ipv4_ect(bytes),
                flow: FlowKey::from_ipv4(bytes),
            };
            q.enqueue(self.now, h, info, &mut self.aqm_drops);
        }
        let queued = q.bytes();
        self.links[l].note_queue_bytes(queued);
        for h in std::mem::take(&mut self.aqm_drops) {
            self.links[l].count_queue_drop();
            self.pool.push(h.packet.buf);
        }
        if !self.links[l].busy(self.now) {
            self.serve(l);
        }
    }

    /// Bottleneck link `l`'s transmitter is free: its AQM dequeues the
    /// next packet (dropping or marking what CoDel calls for), the link
    /// sends it, and a wake-up is set for when it is done.
    fn serve(&mut self, l: usize) {
        let Some(q) = self.aqm[l].as_mut() else {
            return;
        };
        if self.links[l].busy(self.now) {
            return;
        }
        let next = q.dequeue(self.now, &mut self.aqm_drops);
        for h in std::mem::take(&mut self.aqm_drops) {
            self.links[l].count_aqm_drop();
            self.pool.push(h.packet.buf);
        }
        let Some(d) = next else { return };
        let Held {
            mut packet,
            corrupt_bit,
        } = d.item;
        if d.mark_ce {
            ipv4_mark_ce(&mut packet.buf[..packet.len]);
            self.links[l].count_ecn_mark();
        }
        if let Some(bit) = corrupt_bit {
            packet.buf[bit / 8] ^= 1 << (bit % 8);
        }
        let (done, at) = self.links[l].send_now(self.now, packet.len, d.sojourn, &mut self.rng);
        self.deliver(l, at, packet);
        self.push(done, Event::LinkFree(l));
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

    /// After anything happened at a host (a packet, its timer, a flow's
    /// start or wake-up): take the connections its listener established,
    /// run the applications concerned (`flow`'s, and those of connections
    /// with events), send what the endpoint has, look at the connections'
    /// states, and schedule the endpoint's next deadline.
    fn turn(&mut self, host: usize, mut run: Vec<usize>) {
        if host == SERVER_HOST {
            self.accept();
        }
        for _ in 0..4 {
            self.poll_events(host, &mut run);
            for &flow in &run {
                self.drive_app(host, flow);
            }
            let mut sent = false;
            loop {
                let mut buf = self.take_buf();
                let mtu = self.cfg.link.mtu;
                match self.hosts[host].transmit(self.now, &mut buf[..mtu]) {
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
            // Here, before the next events, a connection that just went
            // to TIME-WAIT is still there to be seen.
            self.observe(host, &run);
            // Sending can free buffer space or close the connection: let
            // the application see it before sleeping.
            if !sent {
                break;
            }
        }
        if let Some(at) = self.hosts[host].deadline_changed() {
            self.push(at, Event::Timer { host, at });
        }
    }

    /// Takes every connection the server's listener has established and
    /// gives it to its flow; one for a flow that has its connection
    /// already, or for no flow, is let go (closed).
    fn accept(&mut self) {
        let now = self.hosts[SERVER_HOST].clock(self.now);
        let ep = self.hosts[SERVER_HOST].endpoint_mut();
        while let Some(id) = ep.accept(self.listener) {
            let peer = ep.connection(id).map(Connection::peer_addr);
            let flow = peer.and_then(|p| self.by_client.get(&p).copied());
            match flow {
                Some(i) if self.flows[i].server.conn.is_none() => {
                    self.flows[i].server.conn = Some(id);
                    self.server_flows.insert(id, i);
                }
                _ => {
                    // Only fails for a handle that names nothing.
                    let _ = ep.release(id, now);
                }
            }
        }
    }

    /// Hands the endpoint's events to the flows they concern (added to
    /// `run`, so their applications run).
    fn poll_events(&mut self, host: usize, run: &mut Vec<usize>) {
        let server = host == SERVER_HOST;
        let now = self.now;
        while let Some((id, event)) = self.hosts[host].endpoint_mut().poll_event() {
            let flow = if server {
                self.server_flows.get(&id).copied()
            } else {
                Some(host - 1)
            };
            let Some(flow) = flow else { continue };
            let f = &mut self.flows[flow];
            let side = if server { &mut f.server } else { &mut f.client };
            match event {
                ConnEvent::Connected if !server && f.connected.is_none() => f.connected = Some(now),
                ConnEvent::Closed(reason) => {
                    if reason != CloseReason::Normal {
                        side.error.get_or_insert_with(|| reason.to_string());
                    }
                    // The last look: the endpoint forgets the connection
                    // at the next call.
                    if let Some(c) = self.hosts[host].endpoint().connection(id) {
                        side.states |= state_bit(c.state());
                        side.stats = Some(c.stats());
                        side.negotiated = c.negotiated();
                    }
                }
                _ => {}
            }
            if !run.contains(&flow) {
                run.push(flow);
            }
        }
    }

    /// Notes the states of `flows`' connections at `host`; a flow's end
    /// whose connection is closed, in TIME-WAIT or gone has settled, and
    /// keeps its connection's last statistics.
    fn observe(&mut self, host: usize, flows: &[usize]) {
        let server = host == SERVER_HOST;
        for &flow in flows {
            let side = if server {
                &mut self.flows[flow].server
            } else {
                &mut self.flows[flow].client
            };
            let Some(id) = side.conn else { continue };
            // Gone: the application heard it close.
            let over = match self.hosts[host].endpoint().connection(id) {
                Some(c) => {
                    side.states |= state_bit(c.state());
                    let over = matches!(c.state(), State::Closed | State::TimeWait);
                    // The endpoint may forget it from now on.
                    if over {
                        side.stats = Some(c.stats());
                        side.negotiated = c.negotiated();
                    }
                    over
                }
                None => true,
            };
            if !side.settled && over {
                side.settled = true;
                self.count_if_done(flow);
            }
        }
    }

    /// The statistics of one end of a flow: its connection's while the
    /// endpoint has it, else as last seen.
    fn side_stats(&self, flow: usize, server: bool) -> Option<Stats> {
        let f = &self.flows[flow];
        let (side, host) = if server {
            (&f.server, SERVER_HOST)
        } else {
            (&f.client, flow + 1)
        };
        let ep = self.hosts[host].endpoint();
        match side.conn.and_then(|id| ep.connection(id)) {
            Some(c) => Some(c.stats()),
            None => side.stats.clone(),
        }
    }

    fn wake_at(&mut self, flow: usize, server: bool, at: Instant) {
        let side = self.side_mut(flow, server);
        if !side.wake_pending {
            side.wake_pending = true;
            self.push(at, Event::Wake { flow, server });
        }
    }

    /// The application of one end of a flow: reads, writes, closes.
    fn drive_app(&mut self, host: usize, flow: usize) {
        let now = self.now;
        let server = host == SERVER_HOST;
        let Simulation {
            hosts,
            flows,
            pattern,
            scratch,
            ..
        } = self;
        let f = &mut flows[flow];
        let side = if server { &f.server } else { &f.client };
        // The connection's own clock, for its calls; the application's
        // schedule is in virtual time.
        let local = hosts[host].clock(now);
        let Some(conn) = side
            .conn
            .and_then(|id| hosts[host].endpoint_mut().connection_mut(id))
        else {
            return;
        };
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
                        conn.close(local)?;
                    }
                    Ok(())
                })
            }
            AppSpec::Bulk { bytes, .. } => {
                if let Some(t) = reading_paused {
                    wake = Some(t);
                    Ok(())
                } else {
                    read_stream(conn, local, &mut f.up, pattern, scratch).and_then(|eof| {
                        if f.up.read == bytes && f.completed.is_none() {
                            f.completed = Some(now);
                        }
                        if eof && !f.server.closed {
                            f.server.eof = true;
                            f.server.closed = true;
                            conn.close(local)?;
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
                    read_stream(conn, local, &mut f.up, pattern, scratch).and_then(|eof| {
                        let after = f.up.read / u64::from(request.max(1));
                        f.owed += (after - before) * u64::from(response);
                        let target = f.down.written + f.owed;
                        let before_write = f.down.written;
                        write_stream(conn, &mut f.down, pattern, target)?;
                        f.owed -= f.down.written - before_write;
                        if eof && !f.server.closed {
                            f.server.closed = true;
                            f.server.eof = true;
                            conn.close(local)?;
                        }
                        Ok(())
                    })
                } else {
                    read_stream(conn, local, &mut f.down, pattern, scratch).and_then(|_| {
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
                                conn.close(local)?;
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
                        read_stream(conn, local, theirs, pattern, scratch)?;
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
                        conn.close(local)
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
            self.wake_at(flow, server, at);
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
            let client = self.side_stats(i, false);
            let server = self.side_stats(i, true);
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
            let negotiated = f
                .client
                .conn
                .and_then(|c| self.hosts[i + 1].endpoint().connection(c))
                .map_or(f.client.negotiated, Connection::negotiated);
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
                ecn: negotiated.ecn,
                ce_marks: receiver.as_ref().map_or(0, |s| s.ecn.ce_received),
                ecn_responses: sender.ecn.responses,
                window_probes: client.as_ref().map_or(0, |s| s.window_probes)
                    + server.as_ref().map_or(0, |s| s.window_probes),
                latency: Latency::of(&f.latencies),
            });
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
            aqm: self.cfg.link.aqm.name().to_string(),
            queue_delay_ms_mean: self.links[FWD].queue_delay().mean_ms,
            queue_delay_ms_p99: self.links[FWD].queue_delay().p99_ms,
            ecn_marks: self.links[FWD].stats().ecn_marked,
            flows: summaries,
        };
        Report {
            summary,
            flows: reports,
            links: [self.links[FWD].stats(), self.links[REV].stats()],
            queue_delay: [self.links[FWD].queue_delay(), self.links[REV].queue_delay()],
            queue_series: std::mem::take(&mut self.queue_series),
            segments: self.segments,
            handed_in: self.handed_in,
            malformed: self.router_drops
                + self
                    .hosts
                    .iter()
                    .map(|h| {
                        // Only TCP is sent, so a packet that reads as
                        // another protocol or a fragment is corrupted.
                        let d = h.endpoint().stats().drops;
                        [
                            DropReason::Malformed,
                            DropReason::NotTcp,
                            DropReason::Fragment,
                        ]
                        .map(|r| d.get(r))
                        .iter()
                        .sum::<u64>()
                    })
                    .sum::<u64>(),
            stray_resets: self
                .hosts
                .iter()
                .map(|h| h.endpoint().stats().rsts_sent)
                .sum(),
            captures,
            capture_error,
            healed_at: self.healed_at.map(secs),
            hit_time_limit: !(self.flows_pending == 0 && self.flows_done == self.flows.len()),
        }
    }
}

/// How far ahead client `i`'s clock must be for its connection to start
/// at `iss`: an RFC 6528 ISN is the host's 4 µs clock plus a keyed hash of
/// the 4-tuple, and the client connects at the flow's start.
fn clock_for_isn(secret: [u8; 16], i: usize, spec: &crate::config::FlowSpec, iss: u32) -> Duration {
    let tuple = FourTuple::new(client_addr(i), SERVER);
    let natural = IsnGenerator::new(secret).generate(&tuple, Instant::ZERO + spec.start);
    Duration::from_micros(u64::from(iss.wrapping_sub(natural.0)) * ISN_CLOCK_TICK_MICROS)
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
