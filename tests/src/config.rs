//! What a simulation runs: the network, the flows and their applications,
//! scripted events and targeted faults. Plain data, so scenarios are
//! tables and command-line flags can override any field.

use synack_core::Duration;
use synack_core::cc::CcAlgorithm;
use synack_core::conn::Config;

/// Random impairments of one direction of a link: the same configuration
/// real links take (`synack_link::impair`); its `delay` adds to the
/// link's propagation delay.
pub use synack_link::impair::{ImpairmentConfig, LossModel};

pub use crate::aqm::{Aqm, CoDelParams, FqCoDelParams};

/// The bottleneck queue's limit: a drop-tail or CoDel queue drops
/// arrivals beyond it, FQ-CoDel drops from its fattest flow queue.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum QueueLimit {
    /// At most this many packets queued (drop-tail counts the one being
    /// sent; an AQM counts those waiting).
    Packets(usize),
    /// At most this many bytes queued.
    Bytes(usize),
    /// A multiple of the bandwidth-delay product of the base RTT, in bytes.
    Bdp(f64),
}

/// The shared bottleneck link (both directions alike, except impairments).
#[derive(Clone, Debug, PartialEq)]
pub struct LinkSpec {
    /// Bandwidth in bits per second.
    pub rate_bps: u64,
    /// The base round-trip propagation delay; the bottleneck carries half
    /// of it each way. Flows add their own `extra_rtt`.
    pub rtt: Duration,
    /// The bottleneck queue in each direction.
    pub queue: QueueLimit,
    /// The bottleneck queue's discipline in each direction: drop-tail,
    /// CoDel or FQ-CoDel.
    pub aqm: Aqm,
    /// Largest IP packet the link carries; bigger ones are dropped.
    pub mtu: usize,
    /// Impairments of the data direction (clients to server).
    pub forward: ImpairmentConfig,
    /// Impairments of the reverse direction (server to clients).
    pub reverse: ImpairmentConfig,
}

impl Default for LinkSpec {
    fn default() -> LinkSpec {
        LinkSpec {
            rate_bps: 100_000_000,
            rtt: Duration::from_millis(40),
            queue: QueueLimit::Bdp(1.0),
            aqm: Aqm::DropTail,
            mtu: 1500,
            forward: ImpairmentConfig::NONE,
            reverse: ImpairmentConfig::NONE,
        }
    }
}

/// A congestion controller choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CcKind {
    /// NewReno (RFC 5681/6582).
    Reno,
    /// CUBIC (RFC 9438).
    Cubic,
    /// BBR (draft-ietf-ccwg-bbr).
    Bbr,
}

impl CcKind {
    /// The core's algorithm selector.
    pub fn algorithm(self) -> CcAlgorithm {
        match self {
            CcKind::Reno => CcAlgorithm::NewReno,
            CcKind::Cubic => CcAlgorithm::Cubic,
            CcKind::Bbr => CcAlgorithm::Bbr,
        }
    }

    /// The name used in summaries and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            CcKind::Reno => "reno",
            CcKind::Cubic => "cubic",
            CcKind::Bbr => "bbr",
        }
    }
}

/// What the two ends of a flow do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppSpec {
    /// The client sends `bytes` (use [`u64::MAX`] for "until the run
    /// ends") and closes; the server reads to the end and closes.
    Bulk {
        /// Bytes to send.
        bytes: u64,
        /// After this many bytes the sender goes idle for a while.
        pause: Option<Pause>,
    },
    /// The client sends `requests` requests one after the other, each
    /// waiting for its response; the server answers each request with
    /// `response` bytes.
    RequestResponse {
        /// Number of requests.
        requests: u32,
        /// Request size in bytes.
        request: u32,
        /// Response size in bytes.
        response: u32,
        /// Wait between a response and the next request.
        think: Duration,
    },
    /// Both ends send `bytes`, then both close at `close_at` after the
    /// flow's start (the same instant: a simultaneous close).
    Exchange {
        /// Bytes each way.
        bytes: u64,
        /// When both close, from the flow's start.
        close_at: Duration,
    },
}

/// An idle period of a bulk sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pause {
    /// Bytes written before the pause.
    pub after_bytes: u64,
    /// How long the sender stays idle once those bytes are acknowledged.
    pub duration: Duration,
}

/// One connection of the run, from its own client host to the server.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowSpec {
    /// When the client opens the connection, from the start of the run.
    pub start: Duration,
    /// Round-trip delay this flow adds to the link's base RTT (its access
    /// link carries half of it each way).
    pub extra_rtt: Duration,
    /// Congestion control of both ends.
    pub cc: CcKind,
    /// The application.
    pub app: AppSpec,
    /// The server connects to the client at the same time as the client
    /// to the server (RFC 9293 simultaneous open) instead of listening.
    pub simultaneous_open: bool,
    /// The receiving application stops reading at `.0` after the flow's
    /// start and resumes `.1` later.
    pub read_pause: Option<(Duration, Duration)>,
    /// The client's initial sequence number; random from the seed when
    /// `None`.
    pub client_iss: Option<u32>,
}

impl FlowSpec {
    /// A bulk transfer of `bytes` starting at time zero.
    pub fn bulk(bytes: u64) -> FlowSpec {
        FlowSpec {
            start: Duration::ZERO,
            extra_rtt: Duration::ZERO,
            cc: CcKind::Reno,
            app: AppSpec::Bulk { bytes, pause: None },
            simultaneous_open: false,
            read_pause: None,
            client_iss: None,
        }
    }
}

/// Which packets a [`Fault`] drops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentMatch {
    /// A SYN without ACK.
    Syn,
    /// A SYN with ACK.
    SynAck,
    /// An ACK with no data, SYN, FIN or RST (the handshake's third segment
    /// is the first of these from the client).
    PureAck,
    /// A data segment carrying this byte offset of its sender's stream.
    DataAt(u64),
    /// A segment carrying a FIN.
    Fin,
}

/// A targeted drop on the bottleneck, by flow and segment kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The flow whose segments are matched.
    pub flow: usize,
    /// Match segments the client sends (true) or the server sends (false).
    pub from_client: bool,
    /// Which segments.
    pub matches: SegmentMatch,
    /// How many matching segments to drop, the first ones seen.
    pub times: u32,
}

/// A change to the bottleneck (both directions) at a given time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LinkAction {
    /// Every packet offered is dropped until [`LinkAction::Up`].
    Down,
    /// The link carries packets again.
    Up,
    /// Down now and up again after this long.
    Blackhole(Duration),
    /// New bandwidth in bits per second.
    SetRate(u64),
    /// New one-way propagation delay of the bottleneck.
    SetDelay(Duration),
    /// Random impairments end in both directions (the network heals).
    Heal,
    /// A new bottleneck queue limit.
    SetQueue(QueueLimit),
}

/// A scripted [`LinkAction`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScriptedEvent {
    /// When, from the start of the run.
    pub at: Duration,
    /// What happens.
    pub action: LinkAction,
}

/// Where and how to capture packets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureSpec {
    /// Write `PREFIX-HOST.pcap` files; when `None` the captures are kept in
    /// memory and returned in the report.
    pub prefix: Option<std::path::PathBuf>,
    /// Bytes kept of each packet; `None` keeps whole packets.
    pub snaplen: Option<u32>,
}

/// How the hosts' software meets the endpoint: how finely timers fire and
/// how many arriving packets are handed in before the host transmits.
/// Real hosts choose these (a runtime's timer wheel, `recvmmsg` and GRO
/// batches); TCP's behaviour must not depend on them. The default is the
/// ideal host: exact timers, every packet handed in and answered alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostModel {
    /// Timers fire at the next multiple of this after their deadline, as
    /// tokio's 1 ms timer wheel does; zero fires them at the deadline.
    pub timer_granularity: Duration,
    /// At most this many arriving packets are handed in before the host
    /// transmits (a receive batch); 1 answers each packet alone.
    pub receive_batch: usize,
    /// How long arrivals gather before the host takes them in (from the
    /// first packet of a batch to the receive call, the time a runtime
    /// takes to wake the task that reads the socket).
    pub receive_delay: Duration,
}

impl Default for HostModel {
    fn default() -> HostModel {
        HostModel {
            timer_granularity: Duration::ZERO,
            receive_batch: 1,
            receive_delay: Duration::ZERO,
        }
    }
}

impl HostModel {
    /// A host like the tokio adapter on Linux: a 1 ms timer wheel, and
    /// receive batches of up to 64 packets gathered for 20 µs.
    pub const TOKIO: HostModel = HostModel {
        timer_granularity: Duration::from_millis(1),
        receive_batch: 64,
        receive_delay: Duration::from_micros(20),
    };

    /// Whether arrivals are handed in one at a time, at once.
    pub fn answers_each_packet(&self) -> bool {
        self.receive_batch <= 1 && self.receive_delay == Duration::ZERO
    }
}

/// A whole run.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Name for the summary (`custom` for ad-hoc runs).
    pub name: String,
    /// The seed: the same seed gives the same run, bit for bit.
    pub seed: u64,
    /// The bottleneck.
    pub link: LinkSpec,
    /// The connections.
    pub flows: Vec<FlowSpec>,
    /// Settings of the clients' connections (MTU and congestion control
    /// are filled in from the link and the flow).
    pub client: Config,
    /// Settings of the server's connections.
    pub server: Config,
    /// Changes to the link over time.
    pub events: Vec<ScriptedEvent>,
    /// Targeted drops.
    pub faults: Vec<Fault>,
    /// The run stops at this virtual time even if flows are unfinished.
    pub duration: Duration,
    /// Interval of the metrics time series; `None` picks one from the RTT
    /// and the duration.
    pub sample_interval: Option<Duration>,
    /// Packet captures, if wanted.
    pub capture: Option<CaptureSpec>,
    /// How every host's software hands packets in and fires timers.
    pub host: HostModel,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            name: "custom".into(),
            seed: 1,
            link: LinkSpec::default(),
            flows: vec![FlowSpec::bulk(10_000_000)],
            client: Config::default(),
            server: Config::default(),
            events: Vec::new(),
            faults: Vec::new(),
            duration: Duration::from_secs(600),
            sample_interval: None,
            capture: None,
            host: HostModel::default(),
        }
    }
}

/// A configuration the simulator cannot run.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigError {
    /// A probability outside `[0, 1]`.
    BadProbability(&'static str, f64),
    /// The link's bandwidth is zero.
    ZeroRate,
    /// No flows.
    NoFlows,
    /// More flows than client addresses (65 000).
    TooManyFlows(usize),
    /// A connection setting the core refuses.
    Connection(synack_core::conn::ConfigError),
    /// A host's endpoint settings the core refuses.
    Endpoint(synack_core::endpoint::EndpointConfigError),
    /// A fault names a flow that does not exist.
    NoSuchFlow(usize),
    /// The MTU is outside 68..=9000.
    BadMtu(usize),
    /// A request/response flow with empty requests or responses (a
    /// response is recognised by its size).
    EmptyRequest(usize),
    /// A host model with a receive batch of zero packets.
    ZeroReceiveBatch,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::BadProbability(what, p) => {
                write!(f, "{what} probability {p} is not between 0 and 1")
            }
            ConfigError::ZeroRate => f.write_str("the link rate must be above zero"),
            ConfigError::NoFlows => f.write_str("at least one flow is needed"),
            ConfigError::TooManyFlows(n) => write!(f, "{n} flows is more than 65000"),
            ConfigError::Connection(e) => write!(f, "connection settings: {e}"),
            ConfigError::Endpoint(e) => write!(f, "endpoint settings: {e}"),
            ConfigError::NoSuchFlow(i) => write!(f, "a fault names flow {i}, which does not exist"),
            ConfigError::BadMtu(m) => write!(f, "MTU {m} is outside 68..=9000"),
            ConfigError::EmptyRequest(i) => {
                write!(f, "flow {i}: requests and responses need at least one byte")
            }
            ConfigError::ZeroReceiveBatch => {
                f.write_str("the host's receive batch must hold at least one packet")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl SimConfig {
    /// Checks the values before a run.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.link.rate_bps == 0 {
            return Err(ConfigError::ZeroRate);
        }
        if !(68..=9000).contains(&self.link.mtu) {
            return Err(ConfigError::BadMtu(self.link.mtu));
        }
        if self.flows.is_empty() {
            return Err(ConfigError::NoFlows);
        }
        if self.flows.len() > 65_000 {
            return Err(ConfigError::TooManyFlows(self.flows.len()));
        }
        for imp in [&self.link.forward, &self.link.reverse] {
            if let Some((what, v)) = imp.bad_probability() {
                return Err(ConfigError::BadProbability(what, v));
            }
        }
        for c in [&self.client, &self.server] {
            let mut c = c.clone();
            c.mtu = self.link.mtu;
            c.validate().map_err(ConfigError::Connection)?;
        }
        for (i, f) in self.flows.iter().enumerate() {
            if let AppSpec::RequestResponse {
                request, response, ..
            } = f.app
                && (request == 0 || response == 0)
            {
                return Err(ConfigError::EmptyRequest(i));
            }
        }
        if let Some(f) = self.faults.iter().find(|f| f.flow >= self.flows.len()) {
            return Err(ConfigError::NoSuchFlow(f.flow));
        }
        if self.host.receive_batch == 0 {
            return Err(ConfigError::ZeroReceiveBatch);
        }
        Ok(())
    }

    /// The bottleneck queue limit in bytes or packets, BDP resolved.
    pub fn queue_limit(&self) -> QueueLimit {
        self.resolve_queue(self.link.queue)
    }

    /// `queue` in bytes or packets, a BDP multiple resolved against the
    /// link's rate and base RTT.
    pub fn resolve_queue(&self, queue: QueueLimit) -> QueueLimit {
        match queue {
            QueueLimit::Bdp(k) => {
                let bdp =
                    self.link.rate_bps as f64 / 8.0 * self.link.rtt.total_micros() as f64 / 1e6;
                // Never below two packets: a queue must hold something.
                QueueLimit::Bytes(((bdp * k) as usize).max(2 * self.link.mtu))
            }
            q => q,
        }
    }
}
