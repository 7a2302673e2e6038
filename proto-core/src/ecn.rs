//! Explicit Congestion Notification for one connection: classic ECN as
//! RFC 3168 §6.1 defines it for TCP, within what RFC 8311 relaxes.
//!
//! - Negotiation (§6.1.1): an ECN-setup SYN carries ECE and CWR, an
//!   ECN-setup SYN-ACK carries ECE alone. Only a first SYN asks: a SYN sent
//!   again goes without, in case a middlebox drops ECN-setup SYNs (§6.1.1.1,
//!   as Linux's `tcp_ecn_fallback`).
//! - Marking (§6.1.2, §6.1.4, §6.1.5): ECT(0) on segments of new data only,
//!   never on SYNs, resets, pure ACKs, window probes or retransmissions.
//! - Receiver (§6.1.3): a CE mark on an arriving data segment sets ECE on
//!   every ACK until a segment with CWR arrives.
//! - Sender (§6.1.2): an ECE reduces the window at most once per window of
//!   data — not again for ACKs that do not go beyond what was sent when the
//!   window last came down — and the next new data segment carries CWR. A
//!   reduction for loss counts too: it also sets CWR and covers its window.
//!
//! The machine decides; the connection does: it reports the flags and
//! codepoints here and asks the recovery machine for the reduction.

use crate::seq::SeqNumber;
use crate::wire::{EcnCodepoint, TcpFlags};

/// Whether a connection asks for and agrees to ECN (RFC 3168). The choices
/// mirror Linux's `net.ipv4.tcp_ecn` (0, 2, 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EcnMode {
    /// Never: SYNs do not ask, and a peer's ECN-setup SYN is answered
    /// without ECE.
    Off,
    /// Agree when the peer asks (its SYN carries ECE and CWR), never ask.
    /// The default, as in Linux: an ECN-setup SYN a middlebox mishandles
    /// then never delays our own connections, and peers that ask get ECN.
    #[default]
    Accept,
    /// Ask on active opens, and agree when asked.
    On,
}

impl EcnMode {
    fn asks(self) -> bool {
        self == EcnMode::On
    }

    /// Agrees when a peer asks.
    pub(crate) fn accepts(self) -> bool {
        self != EcnMode::Off
    }
}

/// What ECN did on a connection, in `Stats::ecn`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EcnStats {
    /// Data segments that arrived marked Congestion Experienced.
    pub ce_received: u64,
    /// Acceptable ACKs that carried ECE (the peer echoing our marks).
    pub ece_received: u64,
    /// Window reductions made for ECE, at most one per window of data.
    pub responses: u64,
    /// Segments sent with CWR.
    pub cwr_sent: u64,
}

/// One connection's ECN state.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ecn {
    /// Agreed in the handshake.
    enabled: bool,
    /// Our SYN went out as an ECN-setup SYN and was not resent without.
    requested: bool,
    /// Receiver: a CE mark arrived; every ACK carries ECE until CWR.
    echo: bool,
    /// Sender: the window came down; the next new data segment carries CWR.
    cwr_pending: bool,
    /// Sender: SND.MAX when the window last came down. ACKs up to it may
    /// still echo marks that reduction answered.
    reduced_at: Option<SeqNumber>,
    stats: EcnStats,
}

impl Ecn {
    /// True once the handshake agreed on ECN.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Counters.
    pub fn stats(&self) -> EcnStats {
        self.stats
    }

    /// The flags of our SYN for an active open: ECE and CWR when `mode`
    /// asks and this is the first transmission.
    pub fn active_syn_flags(&mut self, mode: EcnMode, retransmission: bool) -> TcpFlags {
        self.requested = mode.asks() && !retransmission;
        if self.requested {
            TcpFlags::ECE | TcpFlags::CWR
        } else {
            TcpFlags::empty()
        }
    }

    /// The flags of our SYN-ACK: ECE when ECN was agreed.
    pub fn syn_ack_flags(&self) -> TcpFlags {
        if self.enabled {
            TcpFlags::ECE
        } else {
            TcpFlags::empty()
        }
    }

    /// Settles ECN from the `flags` of the peer's SYN-ACK, or of its SYN:
    /// for a passive open, or for a simultaneous one (`simultaneous`,
    /// where both SYNs must have asked).
    pub fn negotiate(&mut self, mode: EcnMode, flags: TcpFlags, simultaneous: bool) {
        let ece = flags.contains(TcpFlags::ECE);
        let cwr = flags.contains(TcpFlags::CWR);
        self.enabled = if flags.contains(TcpFlags::ACK) {
            // §6.1.1: a SYN-ACK with both set is a reflection of our own
            // flags by a broken peer, not agreement.
            self.requested && ece && !cwr
        } else if simultaneous {
            self.requested && ece && cwr
        } else {
            mode.accepts() && ece && cwr
        };
    }

    /// An acceptable segment arrived (its ACK checked, its text about to be
    /// taken in) with this codepoint in its IP header. Returns true when
    /// it starts an echo, so the ACK carrying ECE should leave at once.
    pub fn on_arrival(&mut self, codepoint: EcnCodepoint, flags: TcpFlags, data: bool) -> bool {
        if !self.enabled {
            return false;
        }
        if flags.contains(TcpFlags::CWR) {
            self.echo = false;
        }
        // Only data is marked: ECT goes on nothing else (§6.1.4).
        if !(data && codepoint == EcnCodepoint::Ce) {
            return false;
        }
        self.stats.ce_received += 1;
        let started = !self.echo;
        self.echo = true;
        started
    }

    /// An acceptable ACK of ours arrived with ECE. Returns true when it
    /// calls for a window reduction: it goes beyond the window the last
    /// reduction covered.
    pub fn on_echo(&mut self, ack: SeqNumber) -> bool {
        if !self.enabled {
            return false;
        }
        self.stats.ece_received += 1;
        self.reduced_at.is_none_or(|at| ack > at)
    }

    /// The window came down (an ECN response, a fast recovery, a timeout)
    /// with `snd_max` sent: the next new data carries CWR, and ECE on ACKs
    /// up to `snd_max` is answered already.
    pub fn on_window_reduced(&mut self, snd_max: SeqNumber, for_ecn: bool) {
        if !self.enabled {
            return;
        }
        if for_ecn {
            self.stats.responses += 1;
        }
        self.cwr_pending = true;
        self.reduced_at = Some(snd_max);
    }

    /// What a synchronized segment carries: its extra flags and its IP
    /// codepoint. `ack` says it carries an ACK (ECE rides on every ACK
    /// while echoing); `new_data` that it carries payload never sent
    /// before (only those are ECT(0), and the first after a reduction
    /// also CWR). Call [`Ecn::on_sent`] with the result once it left.
    pub fn outgoing(&self, ack: bool, new_data: bool) -> (TcpFlags, EcnCodepoint) {
        if !self.enabled {
            return (TcpFlags::empty(), EcnCodepoint::NotEct);
        }
        let mut flags = TcpFlags::empty();
        if ack && self.echo {
            flags |= TcpFlags::ECE;
        }
        if !new_data {
            return (flags, EcnCodepoint::NotEct);
        }
        if self.cwr_pending {
            flags |= TcpFlags::CWR;
        }
        (flags, EcnCodepoint::Ect0)
    }

    /// A segment with `flags` left.
    pub fn on_sent(&mut self, flags: TcpFlags) {
        if self.enabled && flags.contains(TcpFlags::CWR) && !flags.contains(TcpFlags::SYN) {
            self.cwr_pending = false;
            self.stats.cwr_sent += 1;
        }
    }
}
