//! A generational slab: values live at stable indices, and every key
//! carries the generation of its slot, so a key to a removed value never
//! reaches the value that later reuses the slot.

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

/// Values by [`Key`], with O(1) insert, lookup and removal.
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    /// Indices of vacant slots, reused last-freed first.
    free: Vec<u32>,
    len: usize,
}

impl<T> Slab<T> {
    pub const fn new() -> Slab<T> {
        Slab {
            slots: Vec::new(),
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
            let slot = &mut self.slots[index as usize];
            if let Slot::Vacant { generation } = *slot {
                *slot = Slot::Occupied { generation, value };
                return Key { index, generation };
            }
        }
        let index = self.slots.len() as u32;
        self.slots.push(Slot::Occupied {
            generation: 0,
            value,
        });
        Key {
            index,
            generation: 0,
        }
    }

    pub fn get(&self, key: Key) -> Option<&T> {
        match self.slots.get(key.index as usize)? {
            Slot::Occupied { generation, value } if *generation == key.generation => Some(value),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        match self.slots.get_mut(key.index as usize)? {
            Slot::Occupied { generation, value } if *generation == key.generation => Some(value),
            _ => None,
        }
    }

    /// Removes the value; its slot's next value gets a new generation.
    pub fn remove(&mut self, key: Key) -> Option<T> {
        let slot = self.slots.get_mut(key.index as usize)?;
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
        self.slots.iter().enumerate().filter_map(|(i, s)| match s {
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

    /// Slots allocated, vacant ones included: the memory high-water mark.
    #[cfg(test)]
    pub fn slots(&self) -> usize {
        self.slots.len()
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
}
