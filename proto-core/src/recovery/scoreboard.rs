//! The record of every segment in flight (RFC 6675 §3's scoreboard):
//! where it lies in sequence space, when it was last sent, and whether the
//! peer has selectively acknowledged it or it is deemed lost.

use alloc::collections::VecDeque;

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

/// The segments in flight, in sequence order, from SND.UNA to SND.MAX.
#[derive(Clone, Debug, Default)]
pub struct Scoreboard {
    segments: VecDeque<SentSegment>,
    /// Bytes neither SACKed nor lost.
    in_flight: usize,
    sacked_bytes: usize,
    lost_bytes: usize,
}

impl Scoreboard {
    /// An empty scoreboard.
    pub fn new() -> Scoreboard {
        Scoreboard::default()
    }

    /// Segments recorded.
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

    /// The segments, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &SentSegment> {
        self.segments.iter()
    }

    /// The most recently sent segment in sequence order (the highest).
    pub fn last(&self) -> Option<&SentSegment> {
        self.segments.back()
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
        };
        self.in_flight += seg.len();
        self.segments.push_back(seg);
    }

    /// Records the retransmission of the segment starting at `start`.
    /// Returns false if there is no such segment.
    pub fn on_retransmitted(&mut self, start: SeqNumber, now: Instant) -> bool {
        let Some(i) = self.index_of(start) else {
            return false;
        };
        let seg = &mut self.segments[i];
        if seg.lost {
            seg.lost = false;
            self.lost_bytes -= seg.len();
            self.in_flight += seg.len();
        }
        seg.transmissions = seg.transmissions.saturating_add(1);
        seg.sent_at = now;
        true
    }

    fn index_of(&self, start: SeqNumber) -> Option<usize> {
        let first = self.segments.front()?;
        // Segments are contiguous and ordered: binary search by start.
        let i = self.segments.partition_point(|s| {
            s.start.distance_from(first.start) < start.distance_from(first.start)
        });
        (self.segments.get(i)?.start == start).then_some(i)
    }

    /// Marks a segment lost (RACK, RFC 6675 IsLost, or a timeout).
    pub fn mark_lost(&mut self, index: usize) {
        if let Some(seg) = self.segments.get_mut(index)
            && !seg.lost
            && !seg.sacked
        {
            seg.lost = true;
            self.in_flight -= seg.len();
            self.lost_bytes += seg.len();
        }
    }

    /// Marks every segment not SACKed as lost. With `forget_sacks`, SACK
    /// marks are dropped first (after a timeout the receiver may have
    /// reneged, RFC 6675 §5.1).
    pub fn mark_all_lost(&mut self, forget_sacks: bool) {
        for i in 0..self.segments.len() {
            if forget_sacks && self.segments[i].sacked {
                self.segments[i].sacked = false;
                let len = self.segments[i].len();
                self.sacked_bytes -= len;
                self.in_flight += len;
            }
            self.mark_lost(i);
        }
    }

    /// After a timeout: SACK marks are forgotten (the receiver may have
    /// reneged, RFC 6675 §5.1) and every segment is marked lost.
    pub fn reset_for_timeout(&mut self) {
        for seg in self.segments.iter_mut() {
            seg.sacked = false;
        }
        self.in_flight += self.sacked_bytes;
        self.sacked_bytes = 0;
        self.mark_all_lost(false);
    }

    /// Takes back every lost mark: the segments are in flight after all
    /// (a timeout shown spurious).
    pub fn clear_lost(&mut self) {
        for seg in self.segments.iter_mut() {
            if seg.lost {
                seg.lost = false;
                self.lost_bytes -= seg.len();
                self.in_flight += seg.len();
            }
        }
    }

    /// Index-addressed access for the loss detectors.
    pub fn get(&self, index: usize) -> Option<&SentSegment> {
        self.segments.get(index)
    }

    /// The first segment deemed lost and not yet retransmitted: the next
    /// retransmission (RFC 6675 NextSeg rule 1).
    pub fn first_lost(&self) -> Option<&SentSegment> {
        if self.lost_bytes == 0 {
            return None;
        }
        self.segments.iter().find(|s| s.lost)
    }

    /// Removes everything below `una` (a cumulative ACK). Returns the
    /// segments removed, oldest first, through `on_removed`.
    pub fn acknowledge(&mut self, una: SeqNumber, mut on_removed: impl FnMut(&SentSegment)) {
        while let Some(front) = self.segments.front() {
            if front.end <= una {
                let seg = self.segments.pop_front().expect("front exists");
                self.forget(&seg);
                on_removed(&seg);
            } else if front.start < una {
                // A partial ACK inside a segment (the peer took part of
                // it, e.g. after its window shrank): keep the rest.
                let seg = self.segments.front_mut().expect("front exists");
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
    }

    fn forget(&mut self, seg: &SentSegment) {
        let len = seg.len();
        if seg.sacked {
            self.sacked_bytes -= len;
        } else if seg.lost {
            self.lost_bytes -= len;
        } else {
            self.in_flight -= len;
        }
    }

    /// Applies the SACK blocks of an ACK whose cumulative acknowledgment is
    /// `una` (already applied), for data up to `max` (SND.MAX). Newly SACKed
    /// segments are passed to `on_sacked`.
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
            for seg in self.segments.iter_mut() {
                if seg.start >= right {
                    break;
                }
                // Only whole segments count as SACKed; a receiver holds
                // what we sent as we sent it.
                if seg.sacked || seg.start < left || seg.end > right {
                    continue;
                }
                let len = seg.len();
                if seg.lost {
                    self.lost_bytes -= len;
                } else {
                    self.in_flight -= len;
                }
                seg.sacked = true;
                seg.lost = false;
                self.sacked_bytes += len;
                update.newly_sacked += len;
                update.newly_sacked_segments += 1;
                on_sacked(seg);
            }
        }
        update
    }

    /// Checks the cached byte counts against the segments (for tests and
    /// debug assertions).
    #[cfg(any(test, feature = "internals"))]
    pub fn check_invariants(&self) -> bool {
        let (mut f, mut s, mut l) = (0, 0, 0);
        let mut prev: Option<SeqNumber> = None;
        for seg in &self.segments {
            if seg.is_empty() || prev.is_some_and(|p| p != seg.start) || (seg.sacked && seg.lost) {
                return false;
            }
            prev = Some(seg.end);
            if seg.sacked {
                s += seg.len();
            } else if seg.lost {
                l += seg.len();
            } else {
                f += seg.len();
            }
        }
        (f, s, l) == (self.in_flight, self.sacked_bytes, self.lost_bytes)
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
