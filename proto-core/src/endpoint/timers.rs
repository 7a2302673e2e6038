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
//! amortized cost per push.

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

/// The heap. Validity is decided by the caller, which knows the owners.
#[derive(Debug, Default)]
pub(crate) struct TimerHeap {
    heap: BinaryHeap<Reverse<(Instant, Owner)>>,
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
        self.heap.peek().map(|Reverse(e)| *e)
    }

    pub fn pop(&mut self) {
        self.ops += 1;
        self.heap.pop();
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Drops the stale entries if they outnumber `live` owners (with some
    /// slack so small heaps are never swept).
    pub fn sweep_if_bloated(&mut self, live: usize, is_live: impl Fn(Instant, Owner) -> bool) {
        if self.heap.len() > 2 * live + 64 {
            self.heap
                .retain(|Reverse((at, owner))| is_live(*at, *owner));
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
        // Only even owners are live: 99 entries > 2·0 + 64, so a sweep with
        // no live owners empties it.
        h.sweep_if_bloated(50, |_, _| false);
        assert_eq!(h.len(), 99, "not bloated relative to 50 live owners");
        h.sweep_if_bloated(10, |at, _| at.total_millis() % 2 == 0);
        assert_eq!(h.len(), 49);
        assert_eq!(h.ops(), 101);
    }
}
