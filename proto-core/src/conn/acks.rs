//! Acknowledgments owed one per segment, whatever the host's batching.
//!
//! RFC 5681 §4.2: an out-of-order segment SHOULD be answered by an
//! immediate duplicate ACK, and a segment that fills all or part of a gap
//! SHOULD be acknowledged at once. A sender that counts duplicate ACKs
//! (RFC 5681 §3.2, RFC 6582) needs one ACK per such segment: a host that
//! hands in a whole receive batch before it transmits must not fold them
//! into one. Each such segment leaves an [`AckRecord`] — the ACK number
//! and the SACK blocks as they stood when it arrived (RFC 2018 §4: the
//! first block holds the segment just received) — and
//! [`Connection::poll_transmit`](super::Connection::poll_transmit) sends
//! them, oldest first, before anything else.
//!
//! The queue holds at most [`MAX_OWED_ACKS`] (64). When it is full the
//! oldest record is dropped: as if that ACK had been lost on the path, which
//! TCP tolerates. Every record is cumulative and no older than the
//! records behind it, and its SACK blocks repeat the most recent ranges,
//! so the dropped one's information is carried by a later one; the sender
//! still gets 64 ACKs in a row, the newest, far above the three
//! duplicates that start fast retransmit (RFC 5681 §3.2).

use alloc::collections::VecDeque;

use super::Connection;
use crate::seq::SeqNumber;
use crate::time::Instant;
use crate::wire::SackBlocks;

/// Most immediate ACKs held for the next transmissions: a whole receive
/// batch of the TUN link (64 packets) gets one ACK per segment. The
/// storage grows with use (about 40 bytes a record) and is freed whenever
/// the queue empties, so a connection holds none while nothing is owed.
pub(crate) const MAX_OWED_ACKS: usize = 64;

/// One immediate ACK as it would have left when its segment arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct AckRecord {
    /// RCV.NXT after the segment was taken in.
    pub ack: SeqNumber,
    /// The SACK blocks then, D-SACK first (empty without SACK).
    pub sack: SackBlocks,
}

/// The immediate ACKs owed, oldest first. ACK numbers never decrease
/// from front to back.
#[derive(Clone, Debug, Default)]
pub(super) struct OwedAcks {
    records: VecDeque<AckRecord>,
}

impl OwedAcks {
    /// Owes one more ACK. When the queue is full the oldest record makes
    /// room. Returns false when no storage could be had for it (the caller
    /// then owes an ACK of the current state instead, which says at least
    /// as much).
    pub fn push(&mut self, record: AckRecord) -> bool {
        if self.records.len() >= MAX_OWED_ACKS {
            self.records.pop_front();
        } else if self.records.try_reserve(1).is_err() {
            return false;
        }
        self.records.push_back(record);
        true
    }

    /// The oldest record, next to send.
    pub fn front(&self) -> Option<&AckRecord> {
        self.records.front()
    }

    /// Forgets the oldest record (it was sent); frees the storage once
    /// none is left.
    pub fn pop(&mut self) {
        self.records.pop_front();
        if self.records.is_empty() {
            self.records = VecDeque::new();
        }
    }

    /// The records, oldest first.
    #[cfg(feature = "internals")]
    pub fn iter(&self) -> impl Iterator<Item = &AckRecord> + '_ {
        self.records.iter()
    }

    /// How many ACKs are owed.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Forgets every record and frees their storage.
    pub fn clear(&mut self) {
        self.records = VecDeque::new();
    }

    /// Bytes of storage held.
    pub fn allocated(&self) -> usize {
        self.records.capacity() * core::mem::size_of::<AckRecord>()
    }
}

impl Connection {
    /// Owes an immediate ACK for the segment just taken in: out of order,
    /// filling (part of) a gap, a duplicate, or refused by reassembly
    /// (RFC 5681 §4.2). The record keeps RCV.NXT and the SACK blocks as
    /// they stand now, a pending D-SACK block first (RFC 2883), which it
    /// takes over.
    pub(super) fn owe_immediate_ack(&mut self) {
        let sack = if self.negotiated.sack {
            self.sack_blocks(self.negotiated.timestamps)
        } else {
            SackBlocks::new()
        };
        let record = AckRecord {
            ack: self.rcv.nxt,
            sack,
        };
        if self.owed_acks.push(record) {
            self.dsack = None;
        } else {
            self.ack_now = true;
        }
    }

    /// Notes that data arrived at `now`. Data after none for longer than
    /// the RTO — or the first data of the connection — (re)fills the
    /// quick-ack quota, as Linux's `tcp_event_data_recv` does: the sender
    /// is starting or restarting from a small window, and a delayed ACK
    /// would only hold it back.
    pub(super) fn note_data_arrival(&mut self, now: Instant) {
        let idle = self
            .rcv
            .last_data
            .is_none_or(|at| now.saturating_duration_since(at) > self.rtt.rto());
        self.rcv.last_data = Some(now);
        if idle {
            self.rcv.quick_acks = self.rcv.quick_acks.max(self.quick_ack_quota());
        }
    }

    /// The quick-ack quota: half the advertised window in segments (at
    /// least 2), at most `Config::max_quick_acks` (Linux's
    /// `tcp_incr_quickack`).
    fn quick_ack_quota(&self) -> u8 {
        let max = self.config.max_quick_acks;
        let segments = self.window.advertised(self.rcv.nxt) / (2 * self.recv_mss());
        u8::try_from(segments.max(2)).unwrap_or(u8::MAX).min(max)
    }

    /// Spends one unit of the quick-ack quota on an in-order data segment
    /// that would otherwise wait for the delayed-ACK timer; false when the
    /// quota is used up.
    pub(super) fn take_quick_ack(&mut self) -> bool {
        if self.rcv.quick_acks == 0 {
            return false;
        }
        self.rcv.quick_acks -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ack: u32) -> AckRecord {
        AckRecord {
            ack: SeqNumber(ack),
            sack: SackBlocks::new(),
        }
    }

    #[test]
    fn records_leave_oldest_first_and_overflow_drops_the_oldest() {
        let mut owed = OwedAcks::default();
        assert_eq!(owed.allocated(), 0, "nothing allocated while idle");
        for i in 0..MAX_OWED_ACKS as u32 + 5 {
            assert!(owed.push(record(i)));
        }
        assert_eq!(owed.len(), MAX_OWED_ACKS);
        let mut acks = alloc::vec::Vec::new();
        while let Some(r) = owed.front() {
            acks.push(r.ack.0);
            owed.pop();
        }
        let expected: alloc::vec::Vec<u32> = (5..MAX_OWED_ACKS as u32 + 5).collect();
        assert_eq!(acks, expected);
        assert_eq!(owed.allocated(), 0, "storage freed once drained");
    }
}
