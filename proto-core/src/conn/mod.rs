//! One TCP connection (RFC 9293) as a deterministic machine.
//!
//! The host feeds it what happens — [`Connection::handle_segment`] when a
//! segment arrives, [`Connection::handle_timeout`] when the deadline from
//! [`Connection::poll_timeout`] passes, and the application calls
//! ([`Connection::read`], [`Connection::write`], [`Connection::shutdown`],
//! [`Connection::close`], [`Connection::abort`]) — and drains what it
//! produces: segments from [`Connection::poll_transmit`] and application
//! events from [`Connection::poll_event`]. The connection never reads a
//! clock: every call that depends on time takes `now`.
//!
//! The work is split by concern:
//! - `input`: segment arrival in RFC 9293 §3.10.7's order of checks;
//! - `output`: what to send next (handshake, data, FIN, ACKs, probes);
//! - `timers`: the deadlines;
//! - `flow`: the window we advertise;
//! - `buffer`: the bytes in each direction;
//! - `rtt`: round-trip time and the retransmission timeout;
//! - `recovery`: what is lost and what to resend;
//! - [`crate::cc`]: how much may be in flight;
//! - `pacing`: how fast it may leave.

mod acks;
mod config;
mod cookie;
mod input;
mod output;
mod timers;
mod types;

#[cfg(test)]
mod tests;

use crate::drops::DropReason;
pub use config::{Config, ConfigError, Keepalive};
pub use types::{CloseReason, Error, Event, State, Stats};

pub use crate::ecn::{EcnMode, EcnStats};
pub use crate::recovery::RecoveryStats;

pub(crate) use input::reset_reply;

use core::net::SocketAddr;

use alloc::boxed::Box;

use crate::buffer::{ReceiveBuffer, SendBuffer};
use crate::cc::CongestionControl;
use crate::ecn::Ecn;
use crate::flow::{AutoTuner, ReceiveWindow, ReceiverRtt};
use crate::isn::IsnGenerator;
use crate::pacing::Pacer;
use crate::recovery::Recovery;
use crate::rtt::RttEstimator;
use crate::seq::SeqNumber;
use crate::time::Instant;
use crate::tuple::FourTuple;
use crate::wire::EcnCodepoint;
use acks::OwedAcks;
use timers::Timers;

/// A segment [`Connection::poll_transmit`] wrote into the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Bytes written: one TCP segment, header and payload, checksum filled
    /// in unless the configuration skips checksums.
    pub len: usize,
    /// The connection's 4-tuple: the segment goes from `local` to `remote`.
    pub tuple: FourTuple,
    /// The ECN codepoint for the IP header that carries the segment (RFC
    /// 3168 §5): ECT(0) on new data once ECN was agreed, Not-ECT on
    /// everything else. A host that frames its own packets (UDP
    /// encapsulation: the outer header) writes it there;
    /// `Endpoint::poll_transmit_ip` does.
    pub ecn: EcnCodepoint,
}

/// A connection's sequence variables (RFC 9293 §3.3.1), as
/// [`Connection::debug_sequence`] reports them. Not part of the API.
#[cfg(feature = "internals")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceVars {
    /// SND.UNA: the oldest unacknowledged sequence number.
    pub snd_una: SeqNumber,
    /// SND.NXT: the next sequence number to send.
    pub snd_nxt: SeqNumber,
    /// The highest sequence number sent so far (SND.NXT before any
    /// retransmission rewound it).
    pub snd_max: SeqNumber,
    /// RCV.NXT: the next sequence number expected.
    pub rcv_nxt: SeqNumber,
    /// RCV.WND: the window a segment is judged against, in bytes.
    pub rcv_wnd: u32,
    /// TS.Recent (RFC 7323 §4.3): the TSval echoed next; 0 without
    /// timestamps. Only an acceptable segment may change it.
    pub ts_recent: u32,
    /// Last.ACK.sent (RFC 7323 §4.3): the ACK field of our last segment.
    pub last_ack_sent: SeqNumber,
}

/// Options both sides agreed on in the handshake.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// The MSS the peer announced (RFC 9293 §3.7.1 default when absent).
    pub peer_mss: u16,
    /// Our shift for windows we advertise, when scaling is on.
    pub rcv_shift: u8,
    /// The peer's shift for windows it advertises, when scaling is on.
    pub snd_shift: u8,
    /// Window scaling in use (both offered).
    pub window_scaling: bool,
    /// SACK in use.
    pub sack: bool,
    /// Timestamps in use.
    pub timestamps: bool,
    /// ECN in use (RFC 3168 §6.1.1: the SYN asked, the SYN-ACK agreed).
    pub ecn: bool,
}

/// Application events waiting to be polled, one bit each; a set bit
/// collapses repeated occurrences until polled.
mod event_bits {
    pub const CONNECTED: u8 = 1;
    pub const READABLE: u8 = 2;
    pub const WRITABLE: u8 = 4;
    pub const PEER_CLOSED: u8 = 8;
    pub const CLOSED: u8 = 16;
}

/// Our view of the sequence space we send (RFC 9293 §3.3.1).
#[derive(Clone, Copy, Debug, Default)]
struct SendSeq {
    /// Initial send sequence number.
    iss: SeqNumber,
    /// Oldest unacknowledged sequence number.
    una: SeqNumber,
    /// Next sequence number to send; moves back to `una` on a timeout.
    nxt: SeqNumber,
    /// One past the highest sequence number ever sent.
    max: SeqNumber,
    /// The peer's window in bytes, scaled.
    wnd: usize,
    /// Segment sequence number of the last window update.
    wl1: SeqNumber,
    /// Segment acknowledgment number of the last window update.
    wl2: SeqNumber,
    /// Largest window the peer has offered (RFC 5961 §5.2, sender SWS).
    max_wnd: usize,
    /// Sequence number our FIN occupies, once the application closed.
    fin: Option<SeqNumber>,
}

/// Our view of the sequence space we receive.
#[derive(Clone, Copy, Debug, Default)]
struct RecvSeq {
    /// Initial receive sequence number.
    irs: SeqNumber,
    /// Next sequence number expected.
    nxt: SeqNumber,
    /// Sequence number of the peer's FIN once seen (it may arrive before
    /// the data in front of it).
    fin: Option<SeqNumber>,
    /// Bytes received since we last sent an ACK (delayed-ACK accounting).
    unacked_bytes: usize,
    /// An ACK of its own is owed for two in-order segments that arrived
    /// since the last ACK of the current state left; later ones share the
    /// next ACK.
    pair_acked: bool,
    /// Data segments still to be acknowledged at once in quick-ack mode
    /// (at connection start and after the receiver was idle).
    quick_acks: u8,
    /// When data last arrived, to tell when the receiver was idle.
    last_data: Option<Instant>,
}

/// Timestamp option state (RFC 7323 §4–5).
#[derive(Clone, Copy, Debug, Default)]
struct TimestampState {
    /// Added to our millisecond clock so TSval does not reveal uptime
    /// (RFC 7323 §5.4 recommends a per-connection offset).
    offset: u32,
    /// TS.Recent: the TSval to echo.
    recent: u32,
    /// When TS.Recent was last updated, for the 24-day PAWS rule.
    recent_at: Instant,
    /// RCV.NXT as of the last ACK we sent (Last.ACK.sent).
    last_ack_sent: SeqNumber,
}

/// A reset waiting to be sent: its sequence number, its acknowledgment
/// number (when it answers a segment without ACK, RFC 9293 §3.10.7.1) and
/// where it goes (a reply from CLOSED or LISTEN goes to the segment's
/// source, not to this connection's peer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PendingReset {
    seq: SeqNumber,
    ack: Option<SeqNumber>,
    tuple: FourTuple,
}

/// A TCP connection.
#[derive(Debug)]
pub struct Connection {
    config: Config,
    state: State,
    tuple: FourTuple,
    /// Set for connections opened by a listening connection: a reset in
    /// SYN-RECEIVED returns them to LISTEN (RFC 9293 §3.10.7.4).
    // RFC 9293 §3.5 (MUST-11): set only by a passive OPEN.
    isn: Option<IsnGenerator>,
    snd: SendSeq,
    rcv: RecvSeq,
    ts: TimestampState,
    negotiated: Negotiated,
    /// Payload bytes per segment we send (options accounted for).
    send_mss: usize,
    send_buf: SendBuffer,
    recv_buf: ReceiveBuffer,
    window: ReceiveWindow,
    tuner: AutoTuner,
    /// The receiver's RTT estimate that auto-tuning measures by.
    rcv_rtt: ReceiverRtt,
    rtt: RttEstimator,
    cc: Box<dyn CongestionControl>,
    recovery: Recovery,
    ecn: Ecn,
    pacer: Pacer,
    /// When data was last sent (tail loss probes, restart after idle).
    last_sent: Instant,
    /// A tail loss probe is due.
    probe_due: bool,
    /// The last transmission or acknowledgment of new data: the tail loss
    /// probe timer runs from here.
    probe_base: Instant,
    /// Data sent up to here was sent while the application had nothing
    /// more to send: its ACKs must not grow the window (RFC 7661).
    app_limited_until: Option<SeqNumber>,
    /// Our SYN (or SYN-ACK), timed for an RTT sample: (sequence number that
    /// acknowledges it, when it was sent). Karn's rule: cleared when it is
    /// retransmitted. Data segments are timed on the recovery scoreboard.
    rtt_timed: Option<(SeqNumber, Instant)>,
    timers: Timers,
    /// Consecutive retransmission timeouts without progress.
    retries: u32,
    /// Unanswered zero-window or keepalive probes.
    probes: u32,
    /// Zero-window probes sent since the window closed: the exponent of
    /// the persist interval.
    persist_backoff: u32,
    /// When the oldest unacknowledged data was sent, or the last progress.
    unacked_since: Option<Instant>,
    /// When anything last arrived, for keepalive.
    last_received: Instant,
    // What to send next.
    /// An ACK of the current state is owed (delayed-ACK expiry, window
    /// update, FIN, challenge, quick-ack); one segment satisfies it.
    ack_now: bool,
    /// Immediate ACKs owed one per segment (out of order, filling a gap,
    /// duplicate), each as it stood when its segment arrived.
    owed_acks: OwedAcks,
    probe_now: bool,
    rst: Option<PendingReset>,
    dsack: Option<(SeqNumber, SeqNumber)>,
    challenge_window: Instant,
    challenges_in_window: u32,
    // The application side.
    nagle: bool,
    read_closed: bool,
    write_blocked: bool,
    bytes_read: u64,
    events: u8,
    close_reason: Option<CloseReason>,
    stats: Stats,
}

impl Connection {
    /// Opens a connection actively: the result is in SYN-SENT with a SYN
    /// ready for [`Connection::poll_transmit`]. `iss` is the initial
    /// sequence number (see [`crate::isn::IsnGenerator`]).
    pub fn connect(
        config: &Config,
        tuple: FourTuple,
        iss: SeqNumber,
        now: Instant,
    ) -> Result<Connection, Error> {
        config.validate().map_err(Error::InvalidConfig)?;
        tuple.outgoing_addrs().ok_or(Error::AddressFamilyMismatch)?;
        let mut conn = Connection::new(config, tuple, now);
        conn.init_send(iss);
        conn.state = State::SynSent;
        Ok(conn)
    }

    /// A connection in LISTEN on `local`: the first acceptable SYN from
    /// any peer moves it to SYN-RECEIVED, bound to that peer. For hosts
    /// that run one connection at a time; [`crate::endpoint`]-style
    /// demultiplexers use [`Connection::accept`] instead. `isn` chooses
    /// initial sequence numbers.
    pub fn listen(
        config: &Config,
        local: SocketAddr,
        isn: IsnGenerator,
        now: Instant,
    ) -> Result<Connection, Error> {
        config.validate().map_err(Error::InvalidConfig)?;
        let unspecified = SocketAddr::new(local.ip(), 0);
        let mut conn = Connection::new(config, FourTuple::new(local, unspecified), now);
        conn.isn = Some(isn);
        conn.state = State::Listen;
        Ok(conn)
    }

    /// A passive open for a SYN that a listener accepted: the result is in
    /// SYN-RECEIVED with a SYN-ACK ready to send. `syn` must be a SYN
    /// without ACK or RST addressed along `tuple`.
    pub fn accept(
        config: &Config,
        tuple: FourTuple,
        syn: &crate::wire::TcpRepr<'_>,
        iss: SeqNumber,
        now: Instant,
    ) -> Result<Connection, Error> {
        config.validate().map_err(Error::InvalidConfig)?;
        tuple.outgoing_addrs().ok_or(Error::AddressFamilyMismatch)?;
        if !syn.flags.contains(crate::wire::TcpFlags::SYN)
            || syn
                .flags
                .intersects(crate::wire::TcpFlags::ACK | crate::wire::TcpFlags::RST)
        {
            return Err(Error::InvalidState(State::Listen));
        }
        let mut conn = Connection::new(config, tuple, now);
        conn.open_from_syn(syn, iss, now);
        Ok(conn)
    }

    fn new(config: &Config, tuple: FourTuple, now: Instant) -> Connection {
        let rtt = RttEstimator::new(config.rtt_config());
        Connection {
            config: config.clone(),
            state: State::Closed,
            tuple,
            isn: None,
            snd: SendSeq::default(),
            rcv: RecvSeq::default(),
            ts: TimestampState::default(),
            negotiated: Negotiated::default(),
            send_mss: usize::from(config.mss_for(tuple.is_ipv4())),
            send_buf: SendBuffer::new(config.send_buffer),
            recv_buf: ReceiveBuffer::new(config.recv_buffer),
            window: ReceiveWindow::new(SeqNumber(0), 0),
            tuner: AutoTuner::new(),
            rcv_rtt: ReceiverRtt::new(),
            rtt,
            cc: config
                .congestion
                .build(usize::from(config.mss_for(tuple.is_ipv4()))),
            recovery: Recovery::new(false),
            ecn: Ecn::default(),
            pacer: Pacer::new(now),
            last_sent: now,
            probe_due: false,
            probe_base: now,
            app_limited_until: None,
            rtt_timed: None,
            timers: Timers::default(),
            retries: 0,
            probes: 0,
            persist_backoff: 0,
            unacked_since: None,
            last_received: now,
            ack_now: false,
            owed_acks: OwedAcks::default(),
            probe_now: false,
            rst: None,
            dsack: None,
            challenge_window: now,
            challenges_in_window: 0,
            nagle: config.nagle,
            read_closed: false,
            write_blocked: false,
            bytes_read: 0,
            events: 0,
            close_reason: None,
            stats: Stats::default(),
        }
    }

    /// Sets up the send sequence space from the initial sequence number.
    fn init_send(&mut self, iss: SeqNumber) {
        self.snd = SendSeq {
            iss,
            una: iss,
            nxt: iss,
            max: iss,
            ..SendSeq::default()
        };
        self.ts.offset = timestamp_offset(iss);
    }

    /// Sets the offset added to our timestamp clock (RFC 7323 §5.4). Call
    /// it before the first segment is sent. The endpoint derives it from the
    /// address pair and its secret, as Linux does, so timestamps rise
    /// across successive connections between the same hosts.
    pub fn set_timestamp_offset(&mut self, offset: u32) {
        self.ts.offset = offset;
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The 4-tuple. In LISTEN the remote end is unspecified (port 0).
    pub fn tuple(&self) -> FourTuple {
        self.tuple
    }

    /// Local address.
    pub fn local_addr(&self) -> SocketAddr {
        self.tuple.local
    }

    /// Peer address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.tuple.remote
    }

    /// What the handshake agreed (meaningful once past SYN-RECEIVED).
    pub fn negotiated(&self) -> Negotiated {
        self.negotiated
    }

    /// Why the connection ended, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.close_reason
    }

    /// True once the connection is over and has nothing left to send: the
    /// host may drop it.
    pub fn is_finished(&self) -> bool {
        self.state == State::Closed && self.rst.is_none()
    }

    /// Turns Nagle's algorithm off (`true`) or on (`false`), like
    /// `TCP_NODELAY`.
    // RFC 9293 §3.7.4 (MUST-17): the application can disable Nagle.
    pub fn set_nodelay(&mut self, nodelay: bool) {
        self.nagle = !nodelay;
    }

    /// True when Nagle's algorithm is off.
    pub fn nodelay(&self) -> bool {
        !self.nagle
    }

    /// Counters and estimates.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.srtt = self.rtt.srtt();
        s.rttvar = self.rtt.rttvar().unwrap_or_default();
        s.rto = self.rtt.rto();
        s.send_window = self.snd.wnd;
        s.congestion_control = self.cc.name();
        s.cwnd = self.cc.window();
        s.ssthresh = self.cc.ssthresh();
        s.bytes_in_flight = self.recovery.in_flight(self.send_mss);
        s.pacing_rate = self.pacer.rate();
        s.recovery = self.recovery.stats();
        s.ecn = self.ecn.stats();
        s.min_rtt = self.rtt.min_rtt();
        s.receive_window = self.window.advertised(self.rcv.nxt);
        s.mss = self.send_mss;
        s.state = self.state;
        s
    }

    /// Checks internal invariants for the fuzz targets and tests; `Err`
    /// names the first one broken. Not part of the API.
    #[cfg(feature = "internals")]
    #[doc(hidden)]
    pub fn debug_invariants(&self) -> Result<(), &'static str> {
        let (una, nxt, max) = (self.snd.una, self.snd.nxt, self.snd.max);
        if nxt.distance_from(una) > max.distance_from(una) {
            return Err("SND.UNA <= SND.NXT <= SND.MAX does not hold");
        }
        // Sequence space in flight is buffered data plus SYN and FIN.
        if self.state != State::Closed && max.distance_from(una) as usize > self.send_buf.len() + 2
        {
            return Err("sent sequence space exceeds the send buffer");
        }
        if !self.recovery.board().check_invariants() {
            return Err("recovery scoreboard counts are inconsistent");
        }
        // Out-of-order data is bounded by the buffer, not by the window we
        // advertised: like Linux, segments are not trimmed to the window.
        let free = self.recv_buf.window();
        if self
            .recv_buf
            .out_of_order_ranges()
            .any(|(_, end)| end > free)
        {
            return Err("out-of-order bytes lie beyond the receive buffer");
        }
        // Owed ACKs acknowledge what was received, in order of arrival.
        let mut prior = None;
        for record in self.owed_acks.iter() {
            if record.ack > self.rcv.nxt || prior.is_some_and(|p| record.ack < p) {
                return Err("owed ACKs run backwards or past RCV.NXT");
            }
            prior = Some(record.ack);
        }
        // We never offer a window the buffer cannot hold.
        if self.state.can_receive_data() && self.window.advertised(self.rcv.nxt) > free {
            return Err("the advertised window exceeds the free receive buffer");
        }
        Ok(())
    }

    /// The sequence variables, for the fuzz targets and tests: they check
    /// that segments outside the window change nothing. Not part of the API.
    #[cfg(feature = "internals")]
    #[doc(hidden)]
    pub fn debug_sequence(&self) -> SequenceVars {
        SequenceVars {
            snd_una: self.snd.una,
            snd_nxt: self.snd.nxt,
            snd_max: self.snd.max,
            rcv_nxt: self.rcv.nxt,
            rcv_wnd: self.window.advertised(self.rcv.nxt) as u32,
            ts_recent: self.ts.recent,
            last_ack_sent: self.ts.last_ack_sent,
        }
    }

    /// Bytes written but not yet acknowledged.
    pub fn send_queue_len(&self) -> usize {
        self.send_buf.len()
    }

    /// Bytes received in order and not yet read.
    pub fn recv_queue_len(&self) -> usize {
        self.recv_buf.readable()
    }

    /// The next application event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        use event_bits::*;
        let order = [CONNECTED, READABLE, WRITABLE, PEER_CLOSED, CLOSED];
        let bit = order.into_iter().find(|b| self.events & b != 0)?;
        self.events &= !bit;
        Some(match bit {
            CONNECTED => Event::Connected,
            READABLE => Event::Readable,
            WRITABLE => Event::Writable,
            PEER_CLOSED => Event::PeerClosed,
            _ => Event::Closed(self.close_reason.unwrap_or(CloseReason::Normal)),
        })
    }

    /// The earliest time [`Connection::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Queues bytes for sending and returns how many were taken.
    ///
    /// Allowed from SYN-SENT on (data waits for the handshake) until the
    /// application shuts the sending side. A full send buffer is
    /// [`Error::WouldBlock`]; an [`Event::Writable`] follows when space
    /// frees up.
    pub fn write(&mut self, data: &[u8]) -> Result<usize, Error> {
        if let Some(reason) = self.close_reason {
            return Err(Error::Closed(reason));
        }
        if self.snd.fin.is_some()
            || matches!(
                self.state,
                State::FinWait1
                    | State::FinWait2
                    | State::Closing
                    | State::LastAck
                    | State::TimeWait
            )
        {
            return Err(Error::SendClosed);
        }
        if !matches!(
            self.state,
            State::SynSent | State::SynReceived | State::Established | State::CloseWait
        ) {
            return Err(Error::InvalidState(self.state));
        }
        if data.is_empty() {
            return Ok(0);
        }
        let n = self.send_buf.write(data);
        if n < data.len() {
            self.write_blocked = true;
        }
        if n == 0 {
            return Err(Error::WouldBlock);
        }
        Ok(n)
    }

    /// Whether a [`write`](Connection::write) would take bytes now: true
    /// when the send buffer has room, or when a write would fail rather
    /// than wait (the connection ended or its sending side is shut; the
    /// write says how). When it returns false, an [`Event::Writable`]
    /// follows once acknowledgments free room, as after a write that
    /// found the buffer full.
    pub fn poll_send_room(&mut self) -> bool {
        if self.close_reason.is_some()
            || self.snd.fin.is_some()
            || !matches!(
                self.state,
                State::SynSent | State::SynReceived | State::Established | State::CloseWait
            )
        {
            return true;
        }
        if self.send_buf.free() > 0 {
            return true;
        }
        self.write_blocked = true;
        false
    }

    /// Writes the slices of `bufs` in order into the send buffer, as much
    /// as fits, as one [`write`](Connection::write) of their concatenation
    /// would: the bytes taken are a prefix of that concatenation. Returns
    /// how many; [`Error::WouldBlock`] when none fit (and some were
    /// offered), and the errors of `write`.
    pub fn write_vectored<'a>(
        &mut self,
        bufs: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<usize, Error> {
        let mut total = 0;
        for buf in bufs.into_iter().filter(|b| !b.is_empty()) {
            match self.write(buf) {
                Ok(n) => {
                    total += n;
                    if n < buf.len() {
                        break;
                    }
                }
                // Some bytes went in already: report those.
                Err(Error::WouldBlock) if total > 0 => break,
                Err(e) => return Err(e),
            }
        }
        if total == 0 {
            // Nothing offered: as `write(&[])`, after its state checks.
            return self.write(&[]);
        }
        Ok(total)
    }

    /// Copies received bytes into `buf` without consuming them: a later
    /// [`read`](Connection::read) returns the same bytes. `Ok(0)` when the
    /// peer closed and everything before its FIN has been read (or `buf` is
    /// empty); no data yet is [`Error::WouldBlock`]. Like `recv` with
    /// `MSG_PEEK`, it neither opens the window nor counts as reading.
    pub fn peek(&self, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.check_readable()?;
        self.bytes_or_end(self.recv_buf.peek(buf))
    }

    /// Whether a read or peek may look at the receive buffer: not after a
    /// failure (its reason is the error) nor on a listening connection.
    fn check_readable(&self) -> Result<(), Error> {
        match self.close_reason {
            Some(CloseReason::Normal) | None => {}
            Some(reason) => return Err(Error::Closed(reason)),
        }
        if self.state == State::Listen {
            return Err(Error::InvalidState(self.state));
        }
        Ok(())
    }

    /// What a read or peek that found `n` bytes returns: them, or at the
    /// end of the stream `Ok(0)`, or [`Error::WouldBlock`] while more may
    /// come.
    fn bytes_or_end(&self, n: usize) -> Result<usize, Error> {
        if n == 0 && !(self.peer_closed() || self.state == State::Closed) {
            return Err(Error::WouldBlock);
        }
        Ok(n)
    }

    /// Reads received bytes in order. `Ok(0)` means the peer closed and
    /// everything before its FIN has been read (or `buf` is empty); no data
    /// yet is [`Error::WouldBlock`].
    pub fn read(&mut self, now: Instant, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.check_readable()?;
        let read = self.recv_buf.read(buf);
        let n = self.bytes_or_end(read)?;
        if n == 0 {
            return Ok(0);
        }
        self.bytes_read += n as u64;
        self.after_read(now);
        Ok(n)
    }

    /// True once the peer's FIN has been received in order.
    pub fn peer_closed(&self) -> bool {
        self.rcv.fin.is_some_and(|fin| self.rcv.nxt == fin + 1u32)
    }

    /// Grows the receive buffer when auto-tuning says so, and sends a
    /// window update when the reader freed enough space.
    fn after_read(&mut self, now: Instant) {
        let capacity = self.recv_buf.capacity();
        if let Some(grown) = self.tuner.on_read(
            now,
            self.bytes_read,
            // Both overestimate the RTT (SRTT by any queueing, a timed
            // window by a sender not yet window-limited): take the smaller.
            // A connection that only receives has an SRTT from the
            // handshake alone, or none when its SYN was resent.
            match (self.rcv_rtt.estimate(), self.rtt.srtt()) {
                (Some(r), Some(s)) => Some(r.min(s)),
                (r, s) => r.or(s),
            },
            capacity,
            self.config.recv_buffer_max,
        ) {
            self.recv_buf.set_capacity(grown);
        }
        if self.state.can_receive_data()
            && self.window.update_worth_sending(
                self.rcv.nxt,
                self.recv_buf.window(),
                self.recv_buf.capacity(),
                self.recv_mss(),
            )
        {
            self.ack_now = true;
        }
    }

    /// Closes the sending side: the data already written is sent, then a
    /// FIN (RFC 9293 §3.10.4). Reading goes on until the peer closes too.
    pub fn shutdown(&mut self) -> Result<(), Error> {
        if let Some(reason) = self.close_reason {
            return Err(Error::Closed(reason));
        }
        if self.snd.fin.is_some() {
            return Ok(());
        }
        match self.state {
            State::Listen | State::Closed => return Err(Error::InvalidState(self.state)),
            State::SynSent => {
                // Nothing was exchanged yet: no FIN is needed (RFC 9293
                // §3.10.4, SYN-SENT).
                if self.send_buf.is_empty() {
                    self.enter_closed(CloseReason::Normal);
                    return Ok(());
                }
            }
            State::SynReceived => {}
            State::Established => self.state = State::FinWait1,
            State::CloseWait => self.state = State::LastAck,
            // Already closing.
            State::FinWait1
            | State::FinWait2
            | State::Closing
            | State::LastAck
            | State::TimeWait => {
                return Ok(());
            }
        }
        let data_end = self.data_base() + self.send_buf.len();
        self.snd.fin = Some(data_end);
        Ok(())
    }

    /// Closes both directions: like [`Connection::shutdown`], and the
    /// application will read no more. As in Linux, unread received data
    /// (now or arriving later) aborts the connection with a reset instead,
    /// so the peer learns its data was not consumed (RFC 2525 §2.17).
    pub fn close(&mut self, now: Instant) -> Result<(), Error> {
        if self.state == State::Listen {
            self.enter_closed(CloseReason::Normal);
            return Ok(());
        }
        if self.recv_buf.readable() > 0 {
            self.abort();
            return Ok(());
        }
        self.shutdown()?;
        self.read_closed = true;
        if self.state == State::FinWait2 {
            self.timers.fin_wait2 = Some(now + self.config.fin_wait2_timeout);
        }
        Ok(())
    }

    /// Aborts: sends a reset if the peer knows of the connection and ends
    /// it at once (RFC 9293 §3.10.5).
    pub fn abort(&mut self) {
        if self.close_reason.is_some() {
            return;
        }
        if matches!(
            self.state,
            State::SynReceived
                | State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
        ) {
            self.rst = Some(self.reset(self.snd.nxt, None));
        }
        self.enter_closed(CloseReason::Aborted);
    }

    /// Ends the connection: stops timers, drops queues, reports the reason.
    // RFC 9293 §3.6 (MUST-12): `Event::Closed(reason)` tells a normal close
    // from an abort.
    fn enter_closed(&mut self, reason: CloseReason) {
        self.state = State::Closed;
        self.timers.clear();
        self.ack_now = false;
        self.owed_acks.clear();
        self.probe_now = false;
        if reason != CloseReason::Normal {
            // RFC 9293 §3.10.7.4: on reset, flush both queues.
            self.recv_buf = ReceiveBuffer::new(0);
        }
        self.send_buf = SendBuffer::new(0);
        self.close_reason = Some(reason);
        self.events |= event_bits::CLOSED;
    }

    /// A reset to this connection's peer.
    fn reset(&self, seq: SeqNumber, ack: Option<SeqNumber>) -> PendingReset {
        PendingReset {
            seq,
            ack,
            tuple: self.tuple,
        }
    }

    /// Sequence number of the first data byte in the send buffer.
    fn data_base(&self) -> SeqNumber {
        if self.snd.una == self.snd.iss {
            // The SYN is not acknowledged yet; data follows it.
            self.snd.iss + 1u32
        } else {
            self.snd.una
        }
    }

    /// The largest payload the peer should send us per segment: our MSS
    /// less the timestamp option it carries (what "full-sized" means for
    /// delayed ACKs).
    fn recv_mss(&self) -> usize {
        let mss = usize::from(self.config.mss_for(self.tuple.is_ipv4()));
        if self.negotiated.timestamps {
            mss.saturating_sub(12).max(1)
        } else {
            mss
        }
    }

    /// Our timestamp clock: milliseconds plus the connection's offset.
    fn ts_now(&self, now: Instant) -> u32 {
        timestamp_clock(now, self.ts.offset)
    }

    /// Bytes of buffer storage the connection holds now: the send and
    /// receive buffers and the queue of owed immediate ACKs. All allocate
    /// lazily and grow with use, so an idle connection holds none.
    pub fn buffer_allocated(&self) -> usize {
        self.send_buf.allocated() + self.recv_buf.allocated() + self.owed_acks.allocated()
    }

    /// Frees the buffer storage an ended connection (closed, or handed to a
    /// TIME-WAIT table) no longer needs: all but unread received data.
    pub(crate) fn shed_buffers(&mut self) {
        if self.send_buf.allocated() > 0 && self.send_buf.is_empty() {
            self.send_buf = SendBuffer::new(0);
        }
        if self.recv_buf.allocated() > 0
            && self.recv_buf.readable() == 0
            && self.recv_buf.out_of_order_bytes() == 0
        {
            self.recv_buf = ReceiveBuffer::new(0);
        }
    }

    /// What a TIME-WAIT table needs to stand in for this connection, when
    /// it is in TIME-WAIT; `None` in any other state.
    pub(crate) fn time_wait_snapshot(&self) -> Option<TimeWaitSnapshot> {
        if self.state != State::TimeWait {
            return None;
        }
        let window = self.window.advertised(self.rcv.nxt) >> self.window.shift();
        Some(TimeWaitSnapshot {
            snd_nxt: self.snd.nxt,
            rcv_nxt: self.rcv.nxt,
            timestamps: self
                .negotiated
                .timestamps
                .then_some((self.ts.offset, self.ts.recent)),
            window: u16::try_from(window).unwrap_or(u16::MAX),
            expiry: self.timers.time_wait?,
        })
    }
}

/// The state of a connection in TIME-WAIT that answering its peer needs:
/// see [`Connection::time_wait_snapshot`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimeWaitSnapshot {
    /// SND.NXT: our FIN is acknowledged, so nothing is outstanding.
    pub snd_nxt: SeqNumber,
    /// RCV.NXT: one past the peer's FIN.
    pub rcv_nxt: SeqNumber,
    /// With timestamps in use: (our TSval offset, TS.Recent).
    pub timestamps: Option<(u32, u32)>,
    /// The window field we last advertised (scaled).
    pub window: u16,
    /// When 2·MSL ends.
    pub expiry: Instant,
}

/// The default TSval offset of a connection whose ISN is `iss`. RFC 7323
/// §5.4 asks for an offset that does not reveal the clock; the ISN is a
/// keyed hash of the 4-tuple, so it serves. Hosts that reuse 4-tuples
/// should set an offset per address pair instead
/// ([`Connection::set_timestamp_offset`]), so TSvals keep rising across
/// connections as RFC 6191 needs to reopen TIME-WAIT.
pub(crate) fn timestamp_offset(iss: SeqNumber) -> u32 {
    iss.0.rotate_left(16)
}

/// Our timestamp clock at `now`: milliseconds plus the connection's offset.
pub(crate) fn timestamp_clock(now: Instant, offset: u32) -> u32 {
    (now.total_millis() as u32).wrapping_add(offset)
}
