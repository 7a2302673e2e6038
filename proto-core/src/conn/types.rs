//! The vocabulary of a connection: states, events, errors and statistics.

use core::fmt;

use crate::drops::Drops;
use crate::time::Duration;

/// The eleven states of RFC 9293 §3.3.2.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum State {
    /// No connection.
    #[default]
    Closed,
    /// Waiting for a SYN.
    Listen,
    /// Our SYN is out; waiting for the peer's.
    SynSent,
    /// A SYN arrived and ours is out; waiting for its acknowledgment.
    SynReceived,
    /// Open both ways.
    Established,
    /// We closed; our FIN is not yet acknowledged.
    FinWait1,
    /// Our FIN is acknowledged; waiting for the peer's.
    FinWait2,
    /// The peer closed; we may still send.
    CloseWait,
    /// Both closed at once; waiting for the ACK of our FIN.
    Closing,
    /// The peer closed, then we did; waiting for the ACK of our FIN.
    LastAck,
    /// Both closed; waiting 2·MSL so old duplicates die out.
    TimeWait,
}

impl State {
    /// True once the handshake is complete in both directions (RFC 9293
    /// calls these the synchronized states).
    pub fn is_synchronized(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }

    /// True in states where the peer may still send us data.
    pub fn can_receive_data(self) -> bool {
        matches!(
            self,
            State::SynReceived | State::Established | State::FinWait1 | State::FinWait2
        )
    }

    /// The name RFC 9293 uses.
    pub fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// Both sides closed and every byte was acknowledged.
    Normal,
    /// The peer sent a reset.
    Reset,
    /// The peer refused the connection (a reset answered our SYN).
    Refused,
    /// Retransmissions, the user timeout or keepalive gave up.
    TimedOut,
    /// This side aborted (a reset was sent).
    Aborted,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CloseReason::Normal => "closed",
            CloseReason::Reset => "connection reset by peer",
            CloseReason::Refused => "connection refused",
            CloseReason::TimedOut => "connection timed out",
            CloseReason::Aborted => "connection aborted",
        })
    }
}

/// Something the application should hear about. Each kind is reported
/// once per occurrence; polling again returns the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// The handshake completed.
    Connected,
    /// Data can be read.
    Readable,
    /// Send buffer space became free.
    Writable,
    /// The peer closed its side: after the buffered data, reads return 0.
    PeerClosed,
    /// The connection is over; no more events follow.
    Closed(CloseReason),
}

/// A misuse of the API, or the state that makes an operation impossible.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// Nothing can be done now: no data to read, or no room to write.
    /// Wait for [`Event::Readable`] or [`Event::Writable`].
    WouldBlock,
    /// The connection is not (or no longer) in a state that allows this.
    InvalidState(State),
    /// Writing after `shutdown` or `close`.
    SendClosed,
    /// The connection ended for this reason.
    Closed(CloseReason),
    /// The two ends of the 4-tuple are of different address families.
    AddressFamilyMismatch,
    /// The configuration breaks a protocol limit.
    InvalidConfig(super::ConfigError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::WouldBlock => f.write_str("operation would block"),
            Error::InvalidState(s) => write!(f, "not allowed in state {s}"),
            Error::SendClosed => f.write_str("cannot write after shutdown or close"),
            Error::Closed(reason) => write!(f, "{reason}"),
            Error::AddressFamilyMismatch => {
                f.write_str("local and remote addresses are of different families")
            }
            Error::InvalidConfig(e) => write!(f, "invalid configuration: {e}"),
        }
    }
}

impl core::error::Error for Error {}

/// What a connection has done so far. Read it with `Connection::stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Segments emitted.
    pub segments_sent: u64,
    /// Segments handed in (dropped ones included).
    pub segments_received: u64,
    /// Payload bytes emitted, retransmissions included.
    pub bytes_sent: u64,
    /// Payload bytes accepted in order for the application.
    pub bytes_received: u64,
    /// Segments that carried retransmitted data, SYN or FIN.
    pub retransmitted_segments: u64,
    /// Payload bytes retransmitted.
    pub retransmitted_bytes: u64,
    /// Retransmission timeouts that fired.
    pub timeouts: u64,
    /// Challenge ACKs sent (RFC 5961).
    pub challenge_acks: u64,
    /// Zero-window probes sent.
    pub window_probes: u64,
    /// Dropped segments by reason.
    pub drops: Drops,
    /// Congestion controller in use.
    pub congestion_control: &'static str,
    /// Congestion window in bytes.
    pub cwnd: usize,
    /// Slow-start threshold in bytes (`usize::MAX` before any loss).
    pub ssthresh: usize,
    /// Bytes in flight (RFC 6675 pipe).
    pub bytes_in_flight: usize,
    /// Pacing rate in bytes per second (0 when not pacing).
    pub pacing_rate: u64,
    /// Loss recovery counters: fast recoveries, probes, spurious events.
    pub recovery: crate::recovery::RecoveryStats,
    /// ECN counters: marks received and echoed, responses.
    pub ecn: crate::ecn::EcnStats,
    /// Minimum RTT over the estimator's window.
    pub min_rtt: Option<Duration>,
    /// Smoothed round-trip time, once measured.
    pub srtt: Option<Duration>,
    /// Round-trip time variation.
    pub rttvar: Duration,
    /// Current retransmission timeout.
    pub rto: Duration,
    /// The peer's window in bytes (scaled).
    pub send_window: usize,
    /// The window we last advertised in bytes (scaled).
    pub receive_window: usize,
    /// Effective MSS for sending (options accounted for).
    pub mss: usize,
    /// Connection state.
    pub state: State,
}
