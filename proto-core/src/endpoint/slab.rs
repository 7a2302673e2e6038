//! A generational slab: values live at stable indices, and every key
//! carries the generation of its slot, so a key to a removed value never
//! reaches the value that later reuses the slot.
//!
//! The slots are stored in fixed-size chunks, so growing never moves the
//! values already stored: one contiguous `Vec` of connection-sized slots
//! copies every connection when it doubles, a stall of hundreds of
//! milliseconds at a hundred thousand connections, paid by whichever call
//! happens to insert.

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

/// Values by [`Key`], with O(1) insert, lookup and removal, none of which
/// moves other values.
pub(crate) struct Slab<T> {
    /// Each holds at most [`CHUNK_SLOTS`] slots in its own allocation, made
    /// with that capacity up front so it never reallocates; all but the
    /// last are full.
    chunks: Vec<Vec<Slot<T>>>,
    /// Indices of vacant slots, reused last-freed first.
    free: Vec<u32>,
    len: usize,
}

impl<T> Slab<T> {
    pub const fn new() -> Slab<T> {
        Slab {
            chunks: Vec::new(),
            free: Vec::new(),
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
        while let Some(index) = self.free.pop() {
            if let Some(slot) = self.slot_mut(index)
                && let Slot::Vacant { generation } = *slot
            {
                *slot = Slot::Occupied { generation, value };
                return Key { index, generation };
            }
        }
        let index = self.slot_count() as u32;
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK_SLOTS) {
            self.chunks.push(Vec::with_capacity(CHUNK_SLOTS));
        }
        if let Some(chunk) = self.chunks.last_mut() {
            chunk.push(Slot::Occupied {
                generation: 0,
                value,
            });
        }
        Key {
            index,
            generation: 0,
        }
    }

    /// Slots allocated, vacant ones included: the memory high-water mark.
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
        self.free.push(key.index);
        self.len -= 1;
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
        assert_eq!(s.get(again), Some(&usize::MAX));
        let order: alloc::vec::Vec<u32> = s.iter().map(|(k, _)| k.index).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(order.len(), n);
    }
}
