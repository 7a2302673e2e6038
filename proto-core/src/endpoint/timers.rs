//! One deadline queue for every connection and TIME-WAIT entry.
//!
//! A binary heap of `(deadline, owner)` with lazy invalidation: when an
//! owner's deadline changes, a new entry is pushed and the old one stays
//! behind; an entry counts only while it matches its owner's current
//! deadline (the owner's key carries its slot generation, so a removed
//! owner's entries match nothing). Popping a due timer and pushing the
//! owner's next deadline are O(log n) each; no step scans all owners.
//! Stale entries are swept out when they outnumber live owners, which
//! keeps the heap within a constant factor of the owners' number at O(1)
//! amortized cost per push. The sweep is incremental: the bloated heap is
//! set aside whole and drained into the fresh one a few entries per push,
//! stale ones dropped on the way, so no single call checks every entry
//! (at a million connections that was one call of ~100 ms). Until it is
//! drained, the earliest entry is the earlier of the two heaps' tops.

use alloc::collections::BinaryHeap;
use core::cmp::Reverse;

use super::slab::Key;
use crate::time::Instant;

/// Whose deadline an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Owner {
    Conn(Key),
    TimeWait(Key),
}

/// Entries moved out of the heap being swept per push: enough that a
/// sweep ends long before the fresh heap can bloat in its turn.
const SWEEP_STEP: usize = 8;

type Entry = Reverse<(Instant, Owner)>;

/// Capacity the heap keeps however empty it gets, and the queues of the
/// endpoint too ([`shrink_queue`]).
pub(crate) const MIN_KEPT_CAPACITY: usize = 4096;

/// Gives back an empty queue's memory once it is large.
pub(crate) fn shrink_queue<T>(queue: &mut alloc::collections::VecDeque<T>) {
    if queue.is_empty() && queue.capacity() > MIN_KEPT_CAPACITY {
        *queue = alloc::collections::VecDeque::new();
    }
}

/// The heap. Validity is decided by the caller, which knows the owners.
#[derive(Debug, Default)]
pub(crate) struct TimerHeap {
    heap: BinaryHeap<Entry>,
    /// A bloated heap being swept into `heap`; empty when no sweep runs.
    sweeping: BinaryHeap<Entry>,
    /// Pushes and pops so far: how tests check the cost per timer.
    ops: u64,
}

impl TimerHeap {
    pub fn push(&mut self, at: Instant, owner: Owner) {
        self.ops += 1;
        self.heap.push(Reverse((at, owner)));
    }

    /// The earliest entry, live or stale.
    pub fn peek(&self) -> Option<(Instant, Owner)> {
        let top = if self.sweeping_first() {
            self.sweeping.peek()
        } else {
            self.heap.peek()
        };
        top.map(|Reverse(e)| *e)
    }

    /// Removes the entry [`TimerHeap::peek`] shows. A heap down to a
    /// quarter of its capacity gives half of it back.
    pub fn pop(&mut self) {
        self.ops += 1;
        if self.sweeping_first() {
            self.sweeping.pop();
        } else {
            self.heap.pop();
            let capacity = self.heap.capacity();
            if capacity > MIN_KEPT_CAPACITY && self.heap.len() < capacity / 4 {
                self.heap.shrink_to(capacity / 2);
            }
        }
    }

    /// True when the earliest entry is in the heap being swept.
    fn sweeping_first(&self) -> bool {
        match (self.heap.peek(), self.sweeping.peek()) {
            // `Reverse` orders the earliest entry greatest.
            (Some(fresh), Some(swept)) => swept > fresh,
            (None, swept) => swept.is_some(),
            (Some(_), None) => false,
        }
    }

    /// Bytes of the heaps' capacity.
    pub fn allocated_bytes(&self) -> usize {
        (self.heap.capacity() + self.sweeping.capacity()) * core::mem::size_of::<Entry>()
    }

    /// Entries held, stale ones included.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len() + self.sweeping.len()
    }

    /// Sweeps a step: starts a sweep when stale entries outnumber `live`
    /// owners (with some slack so small heaps are never swept), and moves
    /// up to [`SWEEP_STEP`] entries of a running one back, dropping the
    /// stale.
    pub fn sweep_if_bloated(&mut self, live: usize, is_live: impl Fn(Instant, Owner) -> bool) {
        if self.sweeping.is_empty() {
            if self.heap.len() <= 2 * live + 64 {
                return;
            }
            core::mem::swap(&mut self.heap, &mut self.sweeping);
        }
        for _ in 0..SWEEP_STEP {
            let Some(Reverse((at, owner))) = self.sweeping.pop() else {
                break;
            };
            if is_live(at, owner) {
                self.heap.push(Reverse((at, owner)));
            }
        }
        if self.sweeping.is_empty() {
            // Give back what the bloat took.
            self.sweeping = BinaryHeap::new();
        }
    }

    /// Heap pushes and pops so far.
    #[cfg(test)]
    pub fn ops(&self) -> u64 {
        self.ops
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(index: u32) -> Key {
        Key {
            index,
            generation: 0,
        }
    }

    #[test]
    fn earliest_first_and_sweeping() {
        let mut h = TimerHeap::default();
        for i in (0..100).rev() {
            h.push(Instant::from_millis(i), Owner::Conn(key(i as u32)));
        }
        assert_eq!(
            h.peek(),
            Some((Instant::from_millis(0), Owner::Conn(key(0))))
        );
        h.pop();
        assert_eq!(h.peek().unwrap().0, Instant::from_millis(1));
        h.sweep_if_bloated(50, |_, _| false);
        assert_eq!(h.len(), 99, "not bloated relative to 50 live owners");
        // Only even deadlines are live: 99 entries > 2·10 + 64 starts a
        // sweep, which ends after every entry was looked at once.
        let even = |at: Instant, _| at.total_millis() % 2 == 0;
        let mut steps = 0;
        loop {
            h.sweep_if_bloated(10, even);
            steps += 1;
            if h.sweeping.is_empty() {
                break;
            }
        }
        assert_eq!(steps, 99usize.div_ceil(SWEEP_STEP));
        assert_eq!(h.len(), 49);
        assert_eq!(h.ops(), 101);
    }

    /// While a sweep runs, entries come out earliest first across the
    /// set-aside heap and the fresh one, new pushes included.
    #[test]
    fn a_running_sweep_keeps_deadline_order() {
        let mut h = TimerHeap::default();
        for i in 0..200u64 {
            h.push(Instant::from_millis(2 * i), Owner::Conn(key(i as u32)));
        }
        h.sweep_if_bloated(0, |_, _| true);
        assert!(!h.sweeping.is_empty(), "a sweep started");
        // Odd deadlines pushed into the fresh heap interleave with the
        // even ones still set aside.
        for i in 0..200u64 {
            h.push(
                Instant::from_millis(2 * i + 1),
                Owner::TimeWait(key(i as u32)),
            );
        }
        let mut order = alloc::vec::Vec::new();
        while let Some((at, _)) = h.peek() {
            order.push(at.total_millis());
            h.pop();
            h.sweep_if_bloated(0, |_, _| true);
        }
        assert_eq!(order, (0..400).collect::<alloc::vec::Vec<u64>>());
    }
}
