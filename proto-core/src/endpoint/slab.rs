//! A generational slab: values live at stable indices, and every key
//! carries the generation of its slot, so a key to a removed value never
//! reaches the value that later reuses the slot.
//!
//! The slots are stored in fixed-size chunks, so growing never moves the
//! values already stored: one contiguous `Vec` of connection-sized slots
//! copies every connection when it doubles, a stall of hundreds of
//! milliseconds at a hundred thousand connections, paid by whichever call
//! happens to insert. Chunks the values have left are given back.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

/// Names one value of a [`Slab`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key {
    pub index: u32,
    pub generation: u32,
}

enum Slot<T> {
    Occupied { generation: u32, value: T },
    Vacant { generation: u32 },
}

/// Slots per chunk: a power of two, so an index splits with a shift.
const CHUNK_SLOTS: usize = 1024;
const CHUNK_SHIFT: u32 = CHUNK_SLOTS.trailing_zeros();

/// Values by [`Key`], with O(log n) insert and removal and O(1) lookup,
/// none of which moves other values. Vacant slots are reused lowest index
/// first, so values gather at the front and the chunks at the end empty
/// out; an empty chunk at the end is freed once the one before it is
/// empty too (one spare, so a count that hovers at a chunk boundary does
/// not allocate and free in turn).
pub(crate) struct Slab<T> {
    /// Each holds at most [`CHUNK_SLOTS`] slots in its own allocation, made
    /// with that capacity up front so it never reallocates; all but the
    /// last are full.
    chunks: Vec<Vec<Slot<T>>>,
    /// Occupied slots per chunk.
    occupied: Vec<u32>,
    /// Per chunk position, the generation its slots start at when the
    /// chunk is made again: above every generation a key to it ever had,
    /// so keys from before a chunk was freed stay stale.
    epochs: Vec<u32>,
    /// Indices of vacant slots in allocated chunks.
    free: BTreeSet<u32>,
    len: usize,
}

impl<T> Slab<T> {
    pub const fn new() -> Slab<T> {
        Slab {
            chunks: Vec::new(),
            occupied: Vec::new(),
            epochs: Vec::new(),
            free: BTreeSet::new(),
            len: 0,
        }
    }

    /// Values stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Stores `value` and returns its key. Callers bound the number of
    /// values far below `u32::MAX`.
    pub fn insert(&mut self, value: T) -> Key {
        self.len += 1;
        while let Some(index) = self.free.pop_first() {
            if let Some(slot) = self.slot_mut(index)
                && let Slot::Vacant { generation } = *slot
            {
                *slot = Slot::Occupied { generation, value };
                self.count(index, 1);
                return Key { index, generation };
            }
        }
        let index = self.slot_count() as u32;
        let chunk = index as usize >> CHUNK_SHIFT;
        if chunk == self.chunks.len() {
            self.chunks.push(Vec::with_capacity(CHUNK_SLOTS));
            self.occupied.push(0);
        }
        let generation = self.epochs.get(chunk).copied().unwrap_or(0);
        if let Some(slots) = self.chunks.get_mut(chunk) {
            slots.push(Slot::Occupied { generation, value });
        }
        self.count(index, 1);
        Key { index, generation }
    }

    /// Adds `delta` (±1) to the occupied count of `index`'s chunk.
    fn count(&mut self, index: u32, delta: i32) {
        if let Some(n) = self.occupied.get_mut(index as usize >> CHUNK_SHIFT) {
            *n = n.saturating_add_signed(delta);
        }
    }

    /// Frees the last chunk while it and the one before it are empty.
    fn give_back(&mut self) {
        while let [.., before, 0] = self.occupied[..]
            && before == 0
        {
            let chunk = self.chunks.len() - 1;
            let Some(slots) = self.chunks.pop() else {
                return;
            };
            self.occupied.pop();
            let next = slots
                .iter()
                .map(|s| match s {
                    Slot::Occupied { generation, .. } | Slot::Vacant { generation } => *generation,
                })
                .max()
                .unwrap_or(0);
            if self.epochs.len() <= chunk {
                self.epochs.resize(chunk + 1, 0);
            }
            self.epochs[chunk] = self.epochs[chunk].max(next);
            // Its slots are gone, and with them their places in the list.
            let _ = self.free.split_off(&((chunk << CHUNK_SHIFT) as u32));
        }
    }

    /// Bytes of the slots allocated (whole chunks) and the free list.
    pub fn allocated_bytes(&self) -> usize {
        self.chunks.len() * CHUNK_SLOTS * core::mem::size_of::<Slot<T>>()
            + self.free.len() * core::mem::size_of::<u32>()
    }

    /// Slots in use or vacant, in allocated chunks.
    fn slot_count(&self) -> usize {
        match self.chunks.last() {
            Some(last) => (self.chunks.len() - 1) * CHUNK_SLOTS + last.len(),
            None => 0,
        }
    }

    fn slot(&self, index: u32) -> Option<&Slot<T>> {
        let index = index as usize;
        self.chunks
            .get(index >> CHUNK_SHIFT)?
            .get(index & (CHUNK_SLOTS - 1))
    }

    fn slot_mut(&mut self, index: u32) -> Option<&mut Slot<T>> {
        let index = index as usize;
        self.chunks
            .get_mut(index >> CHUNK_SHIFT)?
            .get_mut(index & (CHUNK_SLOTS - 1))
    }

    pub fn get(&self, key: Key) -> Option<&T> {
        match self.slot(key.index)? {
            Slot::Occupied { generation, value } if *generation == key.generation => Some(value),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        match self.slot_mut(key.index)? {
            Slot::Occupied { generation, value } if *generation == key.generation => Some(value),
            _ => None,
        }
    }

    /// Removes the value; its slot's next value gets a new generation.
    pub fn remove(&mut self, key: Key) -> Option<T> {
        let slot = self.slot_mut(key.index)?;
        if !matches!(slot, Slot::Occupied { generation, .. } if *generation == key.generation) {
            return None;
        }
        let vacant = Slot::Vacant {
            generation: key.generation.wrapping_add(1),
        };
        let Slot::Occupied { value, .. } = core::mem::replace(slot, vacant) else {
            return None;
        };
        self.free.insert(key.index);
        self.len -= 1;
        self.count(key.index, -1);
        self.give_back();
        Some(value)
    }

    /// Every value with its key.
    pub fn iter(&self) -> impl Iterator<Item = (Key, &T)> {
        self.chunks
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Slot::Occupied { generation, value } => Some((
                    Key {
                        index: i as u32,
                        generation: *generation,
                    },
                    value,
                )),
                Slot::Vacant { .. } => None,
            })
    }

    /// Slots allocated, vacant ones included.
    #[cfg(test)]
    pub fn slots(&self) -> usize {
        self.slot_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_keys_miss_reused_slots() {
        let mut s = Slab::new();
        let a = s.insert("a");
        let b = s.insert("b");
        assert_eq!(s.get(a), Some(&"a"));
        assert_eq!(s.remove(a), Some("a"));
        assert_eq!(s.remove(a), None);
        let c = s.insert("c");
        assert_eq!(c.index, a.index);
        assert_ne!(c, a);
        assert_eq!(s.get(a), None);
        assert_eq!(s.get_mut(a), None);
        assert_eq!(s.get(c), Some(&"c"));
        assert_eq!(s.len(), 2);
        assert_eq!(s.slots(), 2);
        let keys: alloc::vec::Vec<Key> = s.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [c, b]);
        let bogus = Key {
            index: 99,
            generation: 0,
        };
        assert_eq!(s.get(bogus), None);
        assert_eq!(s.remove(bogus), None);
    }

    /// Values stay where they were put while the slab grows past several
    /// chunks, keys find them across chunk boundaries, and iteration goes
    /// in index order.
    #[test]
    fn growth_keeps_values_in_place() {
        let mut s = Slab::new();
        let n = if cfg!(miri) {
            2 * CHUNK_SLOTS + 3
        } else {
            5 * CHUNK_SLOTS + 7
        };
        let keys: alloc::vec::Vec<Key> = (0..n).map(|i| s.insert(i)).collect();
        let first: *const usize = s.get(keys[0]).unwrap();
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(s.get(k), Some(&i));
        }
        assert!(
            core::ptr::eq(first, s.get(keys[0]).unwrap()),
            "a value moved"
        );
        assert_eq!(s.slots(), n);
        assert_eq!(s.remove(keys[CHUNK_SLOTS]), Some(CHUNK_SLOTS));
        let again = s.insert(usize::MAX);
        assert_eq!(again.index as usize, CHUNK_SLOTS);
        assert_eq!(s.remove(again), Some(usize::MAX));
        let again = s.insert(CHUNK_SLOTS);
        assert_eq!(s.get(again), Some(&CHUNK_SLOTS));
        let order: alloc::vec::Vec<u32> = s.iter().map(|(k, _)| k.index).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(order.len(), n);
    }

    /// Emptied chunks at the end are freed (one spare kept), vacant slots
    /// are reused lowest first, and keys from before a chunk was freed do
    /// not reach the values that later use its slots.
    #[test]
    fn emptied_chunks_are_given_back_and_old_keys_stay_stale() {
        let mut s = Slab::new();
        let n = 4 * CHUNK_SLOTS;
        let keys: alloc::vec::Vec<Key> = (0..n).map(|i| s.insert(i)).collect();
        // Empty the last three chunks from the end: two are freed, one
        // stays as the spare.
        for &k in keys[CHUNK_SLOTS..].iter().rev() {
            assert!(s.remove(k).is_some());
        }
        assert_eq!(s.len(), CHUNK_SLOTS);
        assert_eq!(s.chunks.len(), 2, "one empty chunk kept as a spare");
        assert_eq!(s.slots(), 2 * CHUNK_SLOTS);
        // Emptying the first chunk too frees the spare.
        for &k in &keys[..CHUNK_SLOTS] {
            assert!(s.remove(k).is_some());
        }
        assert_eq!(s.chunks.len(), 1);
        assert_eq!(s.len(), 0);
        // Refilling reuses index 0 first and grows the chunks again; no
        // old key reaches a new value.
        let fresh: alloc::vec::Vec<Key> = (0..n).map(|i| s.insert(n + i)).collect();
        assert_eq!(fresh[0].index, 0);
        for (&old, &new) in keys.iter().zip(&fresh) {
            assert_eq!(old.index, new.index);
            assert_ne!(old, new);
            assert_eq!(s.get(old), None);
            assert_eq!(s.remove(old), None);
        }
        assert_eq!(s.len(), n);
        // Holes are filled lowest first.
        let a = fresh[10];
        let b = fresh[3 * CHUNK_SLOTS];
        s.remove(b);
        s.remove(a);
        assert_eq!(s.insert(0).index, a.index);
        assert_eq!(s.insert(0).index, b.index);
    }
}
