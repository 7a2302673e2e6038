//! The TIME-WAIT table's entries: what remains of a connection after both
//! sides closed, kept for 2·MSL so that a retransmitted FIN is still
//! acknowledged and old duplicates die out (RFC 9293 §3.6.1).
//!
//! An entry is a few dozen bytes instead of a whole connection with its
//! buffers.

use crate::conn::TimeWaitSnapshot;
use crate::seq::SeqNumber;
use crate::time::{Duration, Instant};

/// How long a TIME-WAIT entry has had nothing arrive before a connection
/// of ours may take its tuple (Linux: one second).
const REUSE_AFTER: Duration = Duration::from_secs(1);
use crate::tuple::FourTuple;
use crate::wire::{TcpFlags, TcpRepr};

/// One connection in TIME-WAIT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimeWait {
    pub tuple: FourTuple,
    pub snd_nxt: SeqNumber,
    pub rcv_nxt: SeqNumber,
    /// With timestamps in use: (our TSval offset, TS.Recent).
    pub timestamps: Option<(u32, u32)>,
    /// The window field to put in ACKs.
    pub window: u16,
    /// When the entry goes.
    pub expiry: Instant,
}

/// What to do with a segment for a TIME-WAIT entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimeWaitAction {
    /// Nothing: drop it.
    Drop,
    /// Acknowledge: a retransmitted FIN (which also restarts 2·MSL, and is
    /// always answered) or another stray segment (rate-limited).
    Ack { fin: bool },
    /// A new SYN the old incarnation must not block: forget the entry and
    /// treat the SYN as for no connection.
    Reopen,
}

impl TimeWait {
    pub fn new(tuple: FourTuple, s: TimeWaitSnapshot) -> TimeWait {
        TimeWait {
            tuple,
            snd_nxt: s.snd_nxt,
            rcv_nxt: s.rcv_nxt,
            timestamps: s.timestamps,
            window: s.window,
            expiry: s.expiry,
        }
    }

    /// RFC 9293 §3.10.7.4 for TIME-WAIT, with RFC 1337, RFC 7323 §5 and
    /// RFC 6191. `timestamps_enabled` is whether a new connection would use
    /// timestamps on our side. Updates TS.Recent from an accepted FIN.
    pub fn on_segment(&mut self, seg: &TcpRepr<'_>, timestamps_enabled: bool) -> TimeWaitAction {
        let flags = seg.flags;
        // RFC 1337: a reset must not end TIME-WAIT early (TIME-WAIT
        // assassination).
        if flags.contains(TcpFlags::RST) {
            return TimeWaitAction::Drop;
        }
        let seg_ts = seg.options.timestamps.map(|t| t.value);
        if flags.contains(TcpFlags::SYN) && !flags.contains(TcpFlags::ACK) {
            return if self.syn_may_reopen(seg.seq, seg_ts.filter(|_| timestamps_enabled)) {
                TimeWaitAction::Reopen
            } else {
                // RFC 6191 §2: "silently drop the incoming SYN segment".
                TimeWaitAction::Drop
            };
        }
        // RFC 7323 §5.3 (PAWS): an old timestamp gets an ACK, nothing more.
        if let (Some((_, recent)), Some(value)) = (self.timestamps, seg_ts)
            && (value.wrapping_sub(recent) as i32) < 0
        {
            return TimeWaitAction::Ack { fin: false };
        }
        // The peer's FIN again (it sits just below RCV.NXT): our ACK of it
        // was lost. "Acknowledge it, and restart the 2 MSL timeout."
        let fin_seq = seg.seq + seg.payload.len();
        if flags.contains(TcpFlags::FIN) && fin_seq + 1u32 == self.rcv_nxt {
            if let (Some((_, recent)), Some(value)) = (&mut self.timestamps, seg_ts) {
                *recent = value;
            }
            return TimeWaitAction::Ack { fin: true };
        }
        // Anything else cannot be acceptable: the peer has closed. RFC 9293
        // answers unacceptable segments with an ACK.
        TimeWaitAction::Ack { fin: false }
    }

    /// May a connection of our own take this entry's tuple (Linux's
    /// `tcp_tw_reuse`)? Only when the old incarnation used timestamps
    /// and nothing has arrived for it for a second: the new one's
    /// timestamps are then above anything the peer saw from the old (our
    /// clock per tuple only goes forward), so the peer's PAWS check
    /// (RFC 7323 §5) refuses the old incarnation's segments, and RFC 6191
    /// lets a SYN with a higher timestamp start the new one. `two_msl` is
    /// the entry's full lifetime, from which the last arrival is known.
    pub fn reusable_by_connect(&self, now: Instant, two_msl: Duration) -> bool {
        let last_arrival = self.expiry - two_msl;
        self.timestamps.is_some() && now >= last_arrival + REUSE_AFTER
    }

    /// RFC 6191 §2: may a SYN with `seq` (and TSval `ts`, when the new
    /// connection would use timestamps) start a new incarnation?
    // RFC 9293 §3.6.1 (MAY-2, SHLD-4): reopening TIME-WAIT by sequence
    // number or, with timestamps, by TSval.
    fn syn_may_reopen(&self, seq: SeqNumber, ts: Option<u32>) -> bool {
        // "Greater than the last sequence number seen": the old FIN took
        // RCV.NXT − 1; like Linux we ask for more than RCV.NXT.
        let seq_newer = seq > self.rcv_nxt;
        match (self.timestamps, ts) {
            (Some((_, recent)), Some(ts)) => {
                let diff = ts.wrapping_sub(recent) as i32;
                diff > 0 || (diff == 0 && seq_newer)
            }
            // The old incarnation did not use timestamps, the new one will:
            // PAWS protects it.
            (None, Some(_)) => true,
            (_, None) => seq_newer,
        }
    }

    /// The ISS for a connection that reopens this tuple, by a peer's SYN or
    /// by our own `connect`: beyond anything the old incarnation sent (RFC
    /// 9293 §3.4.1), as Linux picks it.
    pub fn reopen_iss(&self) -> SeqNumber {
        self.snd_nxt + 65535u32 + 2u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{TcpOptions, Timestamps};
    use core::net::{IpAddr, Ipv4Addr, SocketAddr};

    fn entry(ts: bool) -> TimeWait {
        let a = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 1);
        let b = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 2);
        TimeWait {
            tuple: FourTuple::new(a, b),
            snd_nxt: SeqNumber(500),
            rcv_nxt: SeqNumber(1000),
            timestamps: ts.then_some((0, 100)),
            window: 10,
            expiry: Instant::from_secs(60),
        }
    }

    fn seg(flags: TcpFlags, seq: u32, ts: Option<u32>) -> TcpRepr<'static> {
        TcpRepr {
            seq: SeqNumber(seq),
            ack: SeqNumber(500),
            flags,
            options: TcpOptions {
                timestamps: ts.map(|value| Timestamps {
                    value,
                    echo_reply: 0,
                }),
                ..TcpOptions::default()
            },
            ..TcpRepr::default()
        }
    }

    #[test]
    fn fin_is_acked_rst_ignored() {
        let mut e = entry(true);
        let fin = seg(TcpFlags::FIN | TcpFlags::ACK, 999, Some(150));
        assert_eq!(e.on_segment(&fin, true), TimeWaitAction::Ack { fin: true });
        assert_eq!(e.timestamps, Some((0, 150)));
        let rst = seg(TcpFlags::RST, 1000, None);
        assert_eq!(e.on_segment(&rst, true), TimeWaitAction::Drop);
        // An old timestamp: PAWS, ACK only.
        let old = seg(TcpFlags::FIN | TcpFlags::ACK, 999, Some(120));
        assert_eq!(e.on_segment(&old, true), TimeWaitAction::Ack { fin: false });
        // Data: just an ACK.
        let data = seg(TcpFlags::ACK, 1000, Some(160));
        assert_eq!(
            e.on_segment(&data, true),
            TimeWaitAction::Ack { fin: false }
        );
    }

    #[test]
    fn rfc6191_reopening() {
        let syn = |seq, ts| seg(TcpFlags::SYN, seq, ts);
        let mut with_ts = entry(true);
        // Newer timestamp: reopen whatever the sequence number.
        assert_eq!(
            with_ts.on_segment(&syn(5, Some(101)), true),
            TimeWaitAction::Reopen
        );
        // Same timestamp: needs a higher sequence number.
        assert_eq!(
            with_ts.on_segment(&syn(5, Some(100)), true),
            TimeWaitAction::Drop
        );
        assert_eq!(
            with_ts.on_segment(&syn(2000, Some(100)), true),
            TimeWaitAction::Reopen
        );
        // Older timestamp: never.
        assert_eq!(
            with_ts.on_segment(&syn(2000, Some(99)), true),
            TimeWaitAction::Drop
        );
        // No timestamps on the new SYN (or we would not use them): by
        // sequence number.
        assert_eq!(
            with_ts.on_segment(&syn(2000, Some(1)), false),
            TimeWaitAction::Reopen
        );
        assert_eq!(
            with_ts.on_segment(&syn(900, None), true),
            TimeWaitAction::Drop
        );
        let mut without = entry(false);
        assert_eq!(
            without.on_segment(&syn(5, Some(1)), true),
            TimeWaitAction::Reopen
        );
        assert_eq!(
            without.on_segment(&syn(1000, None), true),
            TimeWaitAction::Drop
        );
        assert_eq!(
            without.on_segment(&syn(1001, None), true),
            TimeWaitAction::Reopen
        );
        assert_eq!(without.reopen_iss(), SeqNumber(500 + 65537));
    }
}
