//! The record of every segment in flight (RFC 6675 §3's scoreboard):
//! where it lies in sequence space, when it was last sent, and whether the
//! peer has selectively acknowledged it or it is deemed lost.
//!
//! Nothing here walks the whole window on an ACK; every operation costs
//! the segments it changes, plus a logarithm:
//! - the segments sit in a `VecDeque` in sequence order, each with a
//!   number (its id) that counts every segment ever recorded, so that ids
//!   survive the removal of acknowledged segments from the front;
//! - a SACK block is found by binary search, and the SACKed segments
//!   inside it are skipped through forward pointers (a union–find with
//!   path compression): only newly SACKed segments are visited;
//! - the segments deemed lost are kept in a `BTreeSet` of ids, so the next
//!   retransmission is its first element;
//! - the segments in flight (neither SACKed nor lost) are linked in send
//!   order, `(sent_at, id)`, as Linux's `tsorted_sent_queue`: a new
//!   segment or a retransmission goes to the end, and RACK reads from the
//!   oldest and stops at the first one that is not due. The list also
//!   remembers the newest segment sent before RACK's most recently
//!   delivered one, and moves that mark forward only.

use alloc::collections::{BTreeSet, VecDeque};
use alloc::vec::Vec;

use super::rate::SendState;
use crate::seq::SeqNumber;
use crate::time::Instant;
use crate::wire::SackBlock;

/// One segment sent and not yet cumulatively acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentSegment {
    /// First sequence number.
    pub start: SeqNumber,
    /// One past the last sequence number (a FIN counts).
    pub end: SeqNumber,
    /// When it was last (re)transmitted: RACK's xmit_ts.
    pub sent_at: Instant,
    /// Transmissions so far (1 for an original).
    pub transmissions: u16,
    /// The peer reported it in a SACK block.
    pub sacked: bool,
    /// Deemed lost and not yet retransmitted since.
    pub lost: bool,
    /// It carries our FIN.
    pub fin: bool,
    /// The delivery counters when it was last sent (for rate samples).
    pub rate: SendState,
}

impl SentSegment {
    /// Sequence space the segment covers.
    pub fn len(&self) -> usize {
        self.end.distance_from(self.start) as usize
    }

    /// True for a zero-length record (never stored).
    #[cfg(any(test, feature = "internals"))]
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// True once it has been sent more than once.
    pub fn retransmitted(&self) -> bool {
        self.transmissions > 1
    }

    /// Counted in the pipe (RFC 6675 §4): neither SACKed nor lost.
    pub fn in_flight(&self) -> bool {
        !self.sacked && !self.lost
    }
}

/// What one SACK option changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SackUpdate {
    /// Bytes newly marked SACKed.
    pub newly_sacked: usize,
    /// Segments newly marked SACKed.
    pub newly_sacked_segments: usize,
    /// The first block reported a duplicate (RFC 2883).
    pub dsack: Option<SackBlock>,
    /// Blocks ignored as impossible: inverted, beyond SND.MAX, or below
    /// SND.UNA without being a D-SACK.
    pub bogus: usize,
}

/// No segment (the ends of the send-order list).
const NIL: u64 = u64::MAX;

/// A segment and its links.
#[derive(Clone, Copy, Debug)]
struct Entry {
    seg: SentSegment,
    /// Neighbours in send order while the segment is in flight.
    prev: u64,
    next: u64,
    /// While SACKed: an id above this one such that every segment between
    /// the two is SACKed too (the next un-SACKed segment is at or above it).
    skip: u64,
}

/// `(t1, s1)` was sent after `(t2, s2)` (RFC 8985 §6.2 RACK_sent_after).
pub(super) fn sent_after(t1: Instant, s1: SeqNumber, t2: Instant, s2: SeqNumber) -> bool {
    t1 > t2 || (t1 == t2 && s1 > s2)
}

/// The segments in flight, in sequence order, from SND.UNA to SND.MAX.
///
/// The segments recorded are contiguous and ascend in sequence order (the
/// connection sends them so); the searches rely on it.
#[derive(Clone, Debug)]
pub struct Scoreboard {
    segments: VecDeque<Entry>,
    /// The id of `segments[0]`.
    base: u64,
    /// Bytes neither SACKed nor lost.
    in_flight: usize,
    sacked_bytes: usize,
    lost_bytes: usize,
    sacked_segments: usize,
    /// Ids of the segments deemed lost.
    lost: BTreeSet<u64>,
    /// The segments in flight in send order `(sent_at, id)`: oldest, newest.
    oldest: u64,
    newest: u64,
    /// The last bound RACK asked about (its most recently delivered
    /// segment's send time and end), and a segment in flight sent before it,
    /// such that every one before it in send order was too (`NIL`: none
    /// known).
    rack_bound: Option<(Instant, SeqNumber)>,
    rack_mark: u64,
}

impl Default for Scoreboard {
    fn default() -> Scoreboard {
        Scoreboard {
            segments: VecDeque::new(),
            base: 0,
            in_flight: 0,
            sacked_bytes: 0,
            lost_bytes: 0,
            sacked_segments: 0,
            lost: BTreeSet::new(),
            oldest: NIL,
            newest: NIL,
            rack_bound: None,
            rack_mark: NIL,
        }
    }
}

impl Scoreboard {
    /// An empty scoreboard.
    pub fn new() -> Scoreboard {
        Scoreboard::default()
    }

    /// Segments recorded.
    #[cfg(any(test, feature = "internals"))]
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// True when nothing is in flight or awaiting acknowledgment.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// RFC 6675's pipe: bytes sent, not SACKed and not deemed lost.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Bytes marked lost and not yet retransmitted.
    pub fn lost_bytes(&self) -> usize {
        self.lost_bytes
    }

    /// Segments SACKed.
    pub fn sacked_segments(&self) -> usize {
        self.sacked_segments
    }

    /// The segments, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &SentSegment> {
        self.segments.iter().map(|e| &e.seg)
    }

    /// The most recently sent segment in sequence order (the highest).
    pub fn last(&self) -> Option<&SentSegment> {
        self.segments.back().map(|e| &e.seg)
    }

    /// One past the highest id.
    fn end_id(&self) -> u64 {
        self.base + self.segments.len() as u64
    }

    fn entry(&self, id: u64) -> &Entry {
        &self.segments[(id - self.base) as usize]
    }

    fn entry_mut(&mut self, id: u64) -> &mut Entry {
        &mut self.segments[(id - self.base) as usize]
    }

    /// Puts a segment in flight into the send-order list, searching back
    /// from the newest (it is nearly always the newest itself).
    fn link(&mut self, id: u64) {
        let key = (self.entry(id).seg.sent_at, id);
        let mut before = self.newest;
        while before != NIL && (self.entry(before).seg.sent_at, before) > key {
            before = self.entry(before).prev;
        }
        let after = if before == NIL {
            self.oldest
        } else {
            self.entry(before).next
        };
        let e = self.entry_mut(id);
        e.prev = before;
        e.next = after;
        if before == NIL {
            self.oldest = id;
        } else {
            self.entry_mut(before).next = id;
        }
        if after == NIL {
            self.newest = id;
        } else {
            self.entry_mut(after).prev = id;
        }
    }

    /// Takes a segment out of the send-order list.
    fn unlink(&mut self, id: u64) {
        let Entry { prev, next, .. } = *self.entry(id);
        if prev == NIL {
            self.oldest = next;
        } else {
            self.entry_mut(prev).next = next;
        }
        if next == NIL {
            self.newest = prev;
        } else {
            self.entry_mut(next).prev = prev;
        }
        if self.rack_mark == id {
            // Everything before it was sent before the bound as well.
            self.rack_mark = prev;
        }
    }

    /// Records a new segment sent at the top of the sequence space.
    pub fn on_sent_new(&mut self, start: SeqNumber, end: SeqNumber, fin: bool, now: Instant) {
        if start == end {
            return;
        }
        let seg = SentSegment {
            start,
            end,
            sent_at: now,
            transmissions: 1,
            sacked: false,
            lost: false,
            fin,
            rate: SendState::default(),
        };
        self.in_flight += seg.len();
        let id = self.end_id();
        self.segments.push_back(Entry {
            seg,
            prev: NIL,
            next: NIL,
            skip: NIL,
        });
        self.link(id);
    }

    /// Records the retransmission of the segment starting at `start`.
    /// Returns false if there is no such segment.
    pub fn on_retransmitted(&mut self, start: SeqNumber, now: Instant) -> bool {
        let Some(i) = self.index_of(start) else {
            return false;
        };
        let id = self.base + i as u64;
        let seg = self.segments[i].seg;
        if seg.lost {
            self.lost.remove(&id);
            self.lost_bytes -= seg.len();
            self.in_flight += seg.len();
        } else if !seg.sacked {
            // Resent while in flight (a probe): it moves to the end.
            self.unlink(id);
        }
        let seg = &mut self.segments[i].seg;
        seg.lost = false;
        seg.transmissions = seg.transmissions.saturating_add(1);
        seg.sent_at = now;
        if !seg.sacked {
            self.link(id);
        }
        true
    }

    /// Keeps `state` as the delivery counters of the latest transmission
    /// of the segment starting at `start` (the newest, nearly always).
    pub fn set_send_state(&mut self, start: SeqNumber, state: SendState) {
        let i = match self.segments.back() {
            Some(e) if e.seg.start == start => self.segments.len() - 1,
            _ => match self.index_of(start) {
                Some(i) => i,
                None => return,
            },
        };
        self.segments[i].seg.rate = state;
    }

    fn index_of(&self, start: SeqNumber) -> Option<usize> {
        let first = self.segments.front()?;
        // Segments are contiguous and ordered: binary search by start.
        let i = self.segments.partition_point(|e| {
            e.seg.start.distance_from(first.seg.start) < start.distance_from(first.seg.start)
        });
        (self.segments.get(i)?.seg.start == start).then_some(i)
    }

    /// Marks a segment lost (RACK, RFC 6675 IsLost, or a timeout).
    pub fn mark_lost(&mut self, index: usize) {
        if let Some(e) = self.segments.get_mut(index)
            && !e.seg.lost
            && !e.seg.sacked
        {
            e.seg.lost = true;
            let len = e.seg.len();
            self.in_flight -= len;
            self.lost_bytes += len;
            let id = self.base + index as u64;
            self.lost.insert(id);
            self.unlink(id);
        }
    }

    /// Marks every segment not SACKed as lost. With `forget_sacks`, SACK
    /// marks are dropped first (after a timeout the receiver may have
    /// reneged, RFC 6675 §5.1).
    pub fn mark_all_lost(&mut self, forget_sacks: bool) {
        for e in self.segments.iter_mut() {
            let seg = &mut e.seg;
            let len = seg.len();
            if forget_sacks && seg.sacked {
                seg.sacked = false;
                self.sacked_bytes -= len;
                self.sacked_segments -= 1;
            } else if seg.in_flight() {
                self.in_flight -= len;
            } else {
                continue;
            }
            seg.lost = true;
            self.lost_bytes += len;
        }
        // Nothing is in flight now; everything not SACKed is lost.
        self.oldest = NIL;
        self.newest = NIL;
        self.rack_mark = NIL;
        let base = self.base;
        self.lost = self
            .segments
            .iter()
            .enumerate()
            .filter(|(_, e)| e.seg.lost)
            .map(|(i, _)| base + i as u64)
            .collect();
    }

    /// After a timeout: SACK marks are forgotten (the receiver may have
    /// reneged, RFC 6675 §5.1) and every segment is marked lost.
    pub fn reset_for_timeout(&mut self) {
        self.mark_all_lost(true);
    }

    /// Takes back every lost mark: the segments are in flight after all
    /// (a timeout shown spurious).
    pub fn clear_lost(&mut self) {
        if self.lost.is_empty() {
            return;
        }
        for &id in &self.lost {
            let i = (id - self.base) as usize;
            let seg = &mut self.segments[i].seg;
            seg.lost = false;
            self.lost_bytes -= seg.len();
            self.in_flight += seg.len();
        }
        self.lost.clear();
        // The send order is rebuilt from scratch: the segments come back
        // with their old send times.
        let mut order: Vec<(Instant, u64)> = self
            .segments
            .iter()
            .enumerate()
            .filter(|(_, e)| e.seg.in_flight())
            .map(|(i, e)| (e.seg.sent_at, self.base + i as u64))
            .collect();
        order.sort_unstable();
        self.oldest = NIL;
        self.newest = NIL;
        self.rack_mark = NIL;
        for (_, id) in order {
            let newest = self.newest;
            let e = self.entry_mut(id);
            e.prev = newest;
            e.next = NIL;
            if newest == NIL {
                self.oldest = id;
            } else {
                self.entry_mut(newest).next = id;
            }
            self.newest = id;
        }
    }

    /// Index-addressed access for the loss detectors.
    pub fn get(&self, index: usize) -> Option<&SentSegment> {
        self.segments.get(index).map(|e| &e.seg)
    }

    /// The first segment deemed lost and not yet retransmitted: the next
    /// retransmission (RFC 6675 NextSeg rule 1).
    pub fn first_lost(&self) -> Option<&SentSegment> {
        let id = *self.lost.first()?;
        Some(&self.entry(id).seg)
    }

    /// The index of the segment in flight sent first (send order
    /// `(sent_at, sequence)`).
    pub fn oldest_in_flight(&self) -> Option<usize> {
        (self.oldest != NIL).then(|| (self.oldest - self.base) as usize)
    }

    /// The index of the segment in flight sent last among those sent before
    /// `(ts, end)` in RACK's sense (RFC 8985 RACK_sent_after). Every segment
    /// in flight sent before that one was sent before `(ts, end)` too.
    ///
    /// Successive bounds are expected not to go back (RACK's only advance);
    /// the answer is then found by moving forward from the previous one.
    pub fn newest_in_flight_sent_before(&mut self, ts: Instant, end: SeqNumber) -> Option<usize> {
        if let Some((t, s)) = self.rack_bound
            && sent_after(t, s, ts, end)
        {
            // The bound went back: start again from the oldest.
            self.rack_mark = NIL;
        }
        self.rack_bound = Some((ts, end));
        let mut mark = self.rack_mark;
        let mut next = if mark == NIL {
            self.oldest
        } else {
            self.entry(mark).next
        };
        while next != NIL {
            let seg = &self.entry(next).seg;
            if !sent_after(ts, end, seg.sent_at, seg.end) {
                break;
            }
            mark = next;
            next = self.entry(next).next;
        }
        self.rack_mark = mark;
        (mark != NIL).then(|| (mark - self.base) as usize)
    }

    /// Removes everything below `una` (a cumulative ACK). Returns the
    /// segments removed, oldest first, through `on_removed`.
    pub fn acknowledge(&mut self, una: SeqNumber, mut on_removed: impl FnMut(&SentSegment)) {
        while let Some(front) = self.segments.front() {
            let front = front.seg;
            if front.end <= una {
                if front.in_flight() {
                    self.unlink(self.base);
                } else if front.lost {
                    self.lost.remove(&self.base);
                }
                self.segments.pop_front();
                self.base += 1;
                self.forget(&front);
                on_removed(&front);
            } else if front.start < una {
                // A partial ACK inside a segment (the peer took part of
                // it, e.g. after its window shrank): keep the rest.
                let seg = &mut self.segments.front_mut().expect("front exists").seg;
                let cut = una.distance_from(seg.start) as usize;
                if seg.in_flight() {
                    self.in_flight -= cut;
                } else if seg.sacked {
                    self.sacked_bytes -= cut;
                } else {
                    self.lost_bytes -= cut;
                }
                seg.start = una;
                break;
            } else {
                break;
            }
        }
        if self.segments.is_empty() {
            // Ids never go back; the send-order ends are already NIL.
            self.rack_mark = NIL;
        }
    }

    fn forget(&mut self, seg: &SentSegment) {
        let len = seg.len();
        if seg.sacked {
            self.sacked_bytes -= len;
            self.sacked_segments -= 1;
        } else if seg.lost {
            self.lost_bytes -= len;
        } else {
            self.in_flight -= len;
        }
    }

    /// The first segment not SACKed at or above `id` (`end_id()` if none),
    /// shortening the skip pointers followed on the way.
    fn first_unsacked_from(&mut self, id: u64) -> u64 {
        let end = self.end_id();
        let mut found = id;
        while found < end && self.entry(found).seg.sacked {
            found = self.entry(found).skip;
        }
        let mut at = id;
        while at < end && at != found {
            let e = self.entry_mut(at);
            let next = e.skip;
            e.skip = found;
            at = next;
        }
        found
    }

    /// Applies the SACK blocks of an ACK whose cumulative acknowledgment is
    /// `una` (already applied), for data up to `max` (SND.MAX). Newly SACKed
    /// segments are passed to `on_sacked`, in sequence order within each
    /// block.
    pub fn apply_sack(
        &mut self,
        blocks: &[SackBlock],
        una: SeqNumber,
        max: SeqNumber,
        mut on_sacked: impl FnMut(&SentSegment),
    ) -> SackUpdate {
        let mut update = SackUpdate::default();
        for (i, block) in blocks.iter().enumerate() {
            let (left, right) = (block.left, block.right);
            // RFC 2883 §4: a D-SACK is the first block, below the
            // cumulative ACK or inside the second block.
            let is_dsack = i == 0
                && left < right
                && (right <= una
                    || blocks
                        .get(1)
                        .is_some_and(|b2| left >= b2.left && right <= b2.right));
            if is_dsack {
                update.dsack = Some(*block);
                continue;
            }
            if left >= right
                || right > max
                || left < una
                || right.distance_from(una) > max.distance_from(una)
            {
                update.bogus += 1;
                continue;
            }
            // Only whole segments count as SACKed; a receiver holds what we
            // sent as we sent it. They are the ones from the first starting
            // at or above `left` up to the last ending at or below `right`.
            let first = self.segments.partition_point(|e| e.seg.start < left);
            let block_start = self.base + first as u64;
            let mut id = block_start;
            loop {
                id = self.first_unsacked_from(id);
                if id >= self.end_id() {
                    break;
                }
                let seg = self.entry(id).seg;
                if seg.start >= right || seg.end > right {
                    break;
                }
                let len = seg.len();
                if seg.lost {
                    self.lost.remove(&id);
                    self.lost_bytes -= len;
                } else {
                    self.unlink(id);
                    self.in_flight -= len;
                }
                let e = self.entry_mut(id);
                e.seg.sacked = true;
                e.seg.lost = false;
                e.skip = id + 1;
                self.sacked_bytes += len;
                self.sacked_segments += 1;
                update.newly_sacked += len;
                update.newly_sacked_segments += 1;
                on_sacked(&self.entry(id).seg);
                id += 1;
            }
            // Each segment SACKed above points at its successor: point the
            // whole block past its end now, so this ACK pays for the
            // segments it SACKed and a later one does not walk them one
            // by one.
            self.first_unsacked_from(block_start);
        }
        update
    }

    /// Checks the cached counts and indexes against the segments (for
    /// tests and debug assertions).
    #[cfg(any(test, feature = "internals"))]
    pub fn check_invariants(&self) -> bool {
        let (mut f, mut s, mut l, mut n) = (0, 0, 0, 0);
        let mut prev: Option<SeqNumber> = None;
        let end = self.end_id();
        // The first un-SACKed id above each position, from the top down: a
        // skip pointer may not pass it.
        let mut unsacked_above = Vec::with_capacity(self.segments.len());
        let mut next_unsacked = end;
        for (i, e) in self.segments.iter().enumerate().rev() {
            unsacked_above.push(next_unsacked);
            if !e.seg.sacked {
                next_unsacked = self.base + i as u64;
            }
        }
        unsacked_above.reverse();
        for (i, e) in self.segments.iter().enumerate() {
            let seg = &e.seg;
            let id = self.base + i as u64;
            if seg.is_empty() || prev.is_some_and(|p| p != seg.start) || (seg.sacked && seg.lost) {
                return false;
            }
            prev = Some(seg.end);
            if seg.sacked {
                s += seg.len();
                n += 1;
                if e.skip <= id || e.skip > unsacked_above[i] {
                    return false;
                }
            } else if seg.lost {
                l += seg.len();
            } else {
                f += seg.len();
            }
            if seg.lost != self.lost.contains(&id) {
                return false;
            }
        }
        if (f, s, l, n)
            != (
                self.in_flight,
                self.sacked_bytes,
                self.lost_bytes,
                self.sacked_segments,
            )
            || self.lost.iter().any(|&id| id < self.base || id >= end)
        {
            return false;
        }
        // The send-order list holds exactly the segments in flight, sorted.
        let mut count = 0;
        let mut at = self.oldest;
        let mut before = NIL;
        let mut mark_seen = self.rack_mark == NIL;
        while at != NIL {
            if at < self.base || at >= end {
                return false;
            }
            let e = self.entry(at);
            if !e.seg.in_flight() || e.prev != before {
                return false;
            }
            if before != NIL && (self.entry(before).seg.sent_at, before) > (e.seg.sent_at, at) {
                return false;
            }
            if at == self.rack_mark {
                mark_seen = true;
            }
            // Up to the mark, everything was sent before RACK's bound.
            if !mark_seen || at == self.rack_mark {
                match self.rack_bound {
                    Some((t, q)) if sent_after(t, q, e.seg.sent_at, e.seg.end) => {}
                    _ => return false,
                }
            }
            count += 1;
            before = at;
            at = e.next;
        }
        mark_seen
            && before == self.newest
            && count == self.segments.iter().filter(|e| e.seg.in_flight()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn board(n: u32) -> Scoreboard {
        let mut b = Scoreboard::new();
        for i in 0..n {
            b.on_sent_new(
                SeqNumber(i * 100),
                SeqNumber((i + 1) * 100),
                false,
                Instant::from_millis(u64::from(i)),
            );
        }
        b
    }

    fn block(l: u32, r: u32) -> SackBlock {
        SackBlock {
            left: SeqNumber(l),
            right: SeqNumber(r),
        }
    }

    #[test]
    fn sack_and_ack_keep_counts() {
        let mut b = board(10);
        assert_eq!(b.in_flight(), 1000);
        let mut seen = Vec::new();
        let u = b.apply_sack(&[block(300, 500)], SeqNumber(0), SeqNumber(1000), |s| {
            seen.push(s.start)
        });
        assert_eq!(u.newly_sacked, 200);
        assert_eq!(seen, [SeqNumber(300), SeqNumber(400)]);
        assert_eq!((b.in_flight(), b.sacked_bytes), (800, 200));
        // The same block again changes nothing.
        assert_eq!(
            b.apply_sack(&[block(300, 500)], SeqNumber(0), SeqNumber(1000), |_| {})
                .newly_sacked,
            0
        );
        b.acknowledge(SeqNumber(400), |_| {});
        assert_eq!((b.in_flight(), b.sacked_bytes), (500, 100));
        assert!(b.check_invariants());
    }

    #[test]
    fn dsack_and_bogus_blocks_are_recognised() {
        let mut b = board(10);
        b.acknowledge(SeqNumber(200), |_| {});
        let u = b.apply_sack(&[block(100, 200)], SeqNumber(200), SeqNumber(1000), |_| {});
        assert_eq!(u.dsack, Some(block(100, 200)));
        // Inside the second block is a D-SACK too.
        let u = b.apply_sack(
            &[block(500, 600), block(400, 700)],
            SeqNumber(200),
            SeqNumber(1000),
            |_| {},
        );
        assert_eq!(u.dsack, Some(block(500, 600)));
        assert_eq!(u.newly_sacked, 300);
        // Beyond SND.MAX, inverted, and below SND.UNA (not first): bogus.
        let u = b.apply_sack(
            &[
                block(800, 900),
                block(900, 5000),
                block(950, 920),
                block(0, 100),
            ],
            SeqNumber(200),
            SeqNumber(1000),
            |_| {},
        );
        assert_eq!(u.bogus, 3);
        assert_eq!(u.newly_sacked, 100);
        assert!(b.check_invariants());
    }

    #[test]
    fn lost_segments_are_resent_in_order() {
        let mut b = board(10);
        b.apply_sack(&[block(200, 500)], SeqNumber(0), SeqNumber(1000), |_| {});
        b.mark_lost(0);
        b.mark_lost(1);
        // A SACKed segment is never marked lost.
        b.mark_lost(2);
        assert_eq!(b.first_lost().map(|s| s.start), Some(SeqNumber(0)));
        assert_eq!((b.in_flight(), b.lost_bytes()), (500, 200));
        assert!(b.on_retransmitted(SeqNumber(0), Instant::from_secs(1)));
        assert_eq!(b.first_lost().map(|s| s.start), Some(SeqNumber(100)));
        assert!(b.check_invariants());
    }

    #[test]
    fn timeout_forgets_sacks() {
        let mut b = board(4);
        b.apply_sack(&[block(200, 300)], SeqNumber(0), SeqNumber(400), |_| {});
        b.mark_all_lost(true);
        assert_eq!((b.in_flight(), b.sacked_bytes, b.lost_bytes()), (0, 0, 400));
        assert!(b.check_invariants());
    }

    #[test]
    fn partial_ack_inside_a_segment() {
        let mut b = board(3);
        b.acknowledge(SeqNumber(150), |_| {});
        assert_eq!(b.in_flight(), 150);
        assert_eq!(b.iter().next().map(|s| s.start), Some(SeqNumber(150)));
        assert!(b.check_invariants());
    }
}

/// The indexed scoreboard against a naive one: a plain list of segments
/// searched from the front on every question, driven by the same random
/// operations.
#[cfg(test)]
mod model {
    use super::*;
    use quickcheck::{Arbitrary, Gen, quickcheck};
    use std::format;
    use std::string::String;
    use std::vec::Vec;

    const UNIT: u32 = 100;

    /// One thing that happens to a sender's scoreboard.
    #[derive(Clone, Debug)]
    enum Op {
        /// A new segment of 1–3 units at the top.
        Send(u8),
        /// A SACK block over segments `[a, a + len)` of those outstanding
        /// (counted from the front), in units.
        Sack(u16, u8),
        /// A cumulative ACK of the first `n` units outstanding.
        Ack(u16),
        /// The segment at this index is deemed lost.
        Lose(u16),
        /// The first lost segment is retransmitted.
        Retransmit,
        /// The segment at this index is resent while in flight (a probe).
        Probe(u16),
        /// A retransmission timeout.
        Timeout,
        /// A timeout shown spurious: the lost marks are taken back.
        Undo,
    }

    impl Arbitrary for Op {
        fn arbitrary(g: &mut Gen) -> Op {
            match u8::arbitrary(g) % 16 {
                0..=4 => Op::Send(u8::arbitrary(g) % 3 + 1),
                5..=7 => Op::Sack(u16::arbitrary(g), u8::arbitrary(g) % 8 + 1),
                8..=9 => Op::Ack(u16::arbitrary(g) % 4),
                10..=11 => Op::Lose(u16::arbitrary(g)),
                12 => Op::Retransmit,
                13 => Op::Probe(u16::arbitrary(g)),
                14 => Op::Timeout,
                _ => Op::Undo,
            }
        }
    }

    /// The naive scoreboard: segments in sequence order, every state bit
    /// on the segment, every answer found by a scan.
    #[derive(Default)]
    struct Naive {
        segs: Vec<SentSegment>,
    }

    impl Naive {
        fn in_flight(&self) -> usize {
            self.segs
                .iter()
                .filter(|s| s.in_flight())
                .map(|s| s.len())
                .sum()
        }
        fn lost_bytes(&self) -> usize {
            self.segs.iter().filter(|s| s.lost).map(|s| s.len()).sum()
        }
        fn sacked(&self) -> usize {
            self.segs.iter().filter(|s| s.sacked).count()
        }
        fn first_lost(&self) -> Option<SeqNumber> {
            self.segs.iter().find(|s| s.lost).map(|s| s.start)
        }
        /// Send order: by time, then sequence.
        fn oldest_in_flight(&self) -> Option<usize> {
            (0..self.segs.len())
                .filter(|&i| self.segs[i].in_flight())
                .min_by_key(|&i| (self.segs[i].sent_at, i))
        }
    }

    fn run(ops: Vec<Op>) -> Result<(), String> {
        let mut board = Scoreboard::new();
        let mut naive = Naive::default();
        let (mut top, mut una, mut clock) = (0u32, 0u32, 0u64);
        for (step, op) in ops.into_iter().enumerate() {
            clock += 1;
            let now = Instant::from_millis(clock);
            let n = naive.segs.len();
            match op {
                Op::Send(units) => {
                    let (start, end) = (SeqNumber(top), SeqNumber(top + u32::from(units) * UNIT));
                    top = end.0;
                    board.on_sent_new(start, end, false, now);
                    naive.segs.push(SentSegment {
                        start,
                        end,
                        sent_at: now,
                        transmissions: 1,
                        sacked: false,
                        lost: false,
                        fin: false,
                        rate: SendState::default(),
                    });
                }
                Op::Sack(a, len) if n > 0 => {
                    let a = usize::from(a) % n;
                    let b = (a + usize::from(len)).min(n);
                    let block = SackBlock {
                        left: naive.segs[a].start,
                        right: naive.segs[b - 1].end,
                    };
                    let mut got = Vec::new();
                    let update = board.apply_sack(&[block], SeqNumber(una), SeqNumber(top), |s| {
                        got.push(s.start)
                    });
                    let mut want = Vec::new();
                    for s in &mut naive.segs[a..b] {
                        if !s.sacked {
                            s.sacked = true;
                            s.lost = false;
                            want.push(s.start);
                        }
                    }
                    if got != want || update.newly_sacked_segments != want.len() {
                        return Err(format!("step {step}: SACKed {got:?}, expected {want:?}"));
                    }
                }
                Op::Ack(k) if n > 0 => {
                    let k = (usize::from(k) + 1).min(n);
                    let to = naive.segs[k - 1].end;
                    let mut removed = Vec::new();
                    board.acknowledge(to, |s| removed.push(s.start));
                    let want: Vec<_> = naive.segs.drain(..k).map(|s| s.start).collect();
                    una = to.0;
                    if removed != want {
                        return Err(format!(
                            "step {step}: removed {removed:?}, expected {want:?}"
                        ));
                    }
                }
                Op::Lose(i) if n > 0 => {
                    let i = usize::from(i) % n;
                    board.mark_lost(i);
                    let s = &mut naive.segs[i];
                    if !s.sacked {
                        s.lost = true;
                    }
                }
                Op::Retransmit => {
                    if let Some(start) = naive.first_lost() {
                        if !board.on_retransmitted(start, now) {
                            return Err(format!("step {step}: no segment at {start:?}"));
                        }
                        let s = naive.segs.iter_mut().find(|s| s.start == start).unwrap();
                        s.lost = false;
                        s.sent_at = now;
                        s.transmissions += 1;
                    }
                }
                Op::Probe(i) if n > 0 => {
                    let i = usize::from(i) % n;
                    if naive.segs[i].in_flight() {
                        board.on_retransmitted(naive.segs[i].start, now);
                        naive.segs[i].sent_at = now;
                        naive.segs[i].transmissions += 1;
                    }
                }
                Op::Timeout => {
                    board.reset_for_timeout();
                    for s in &mut naive.segs {
                        s.sacked = false;
                        s.lost = true;
                    }
                }
                Op::Undo => {
                    board.clear_lost();
                    for s in &mut naive.segs {
                        s.lost = false;
                    }
                }
                _ => {}
            }
            if !board.check_invariants() {
                return Err(format!("step {step}: invariants broken"));
            }
            let indexed = (
                board.in_flight(),
                board.lost_bytes(),
                board.sacked_segments(),
                board.first_lost().map(|s| s.start),
                board.oldest_in_flight(),
                board.iter().copied().collect::<Vec<_>>(),
            );
            let plain = (
                naive.in_flight(),
                naive.lost_bytes(),
                naive.sacked(),
                naive.first_lost(),
                naive.oldest_in_flight(),
                naive.segs.clone(),
            );
            if indexed != plain {
                return Err(format!("step {step}: indexed {indexed:?}, naive {plain:?}"));
            }
        }
        Ok(())
    }

    quickcheck! {
        /// Any sequence of sends, SACKs, ACKs, loss marks, retransmissions,
        /// probes, timeouts and undos leaves the indexed scoreboard saying
        /// what a naive scan of the same segments says.
        fn the_indexed_scoreboard_agrees_with_a_naive_scan(ops: Vec<Op>) -> bool {
            match run(ops) {
                Ok(()) => true,
                Err(why) => panic!("{why}"),
            }
        }
    }
}
