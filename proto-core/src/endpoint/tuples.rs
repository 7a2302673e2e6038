//! Who owns each 4-tuple (a connection or a TIME-WAIT entry), and how many
//! tuples towards each destination use an ephemeral port, so that
//! `connect` can tell at once that every port towards a destination is
//! taken instead of trying each of them (tens of thousands of map
//! look-ups, milliseconds, for a call that then fails).

use alloc::collections::BTreeMap;
use core::net::{IpAddr, SocketAddr};

use super::timers::Owner;
use crate::tuple::FourTuple;

/// Tuples from one local address to one remote socket.
type Destination = (IpAddr, SocketAddr);

/// How the tuples towards one destination on ephemeral ports are held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Held {
    /// By connections.
    pub connections: u32,
    /// By TIME-WAIT entries.
    pub time_wait: u32,
}

/// The 4-tuple map with its per-destination counts.
#[derive(Debug)]
pub(crate) struct TupleTable {
    owners: BTreeMap<FourTuple, Owner>,
    held: BTreeMap<Destination, Held>,
    /// The ephemeral range, inclusive: only its ports are counted.
    ephemeral: (u16, u16),
}

impl TupleTable {
    pub fn new(ephemeral: (u16, u16)) -> TupleTable {
        TupleTable {
            owners: BTreeMap::new(),
            held: BTreeMap::new(),
            ephemeral,
        }
    }

    pub fn get(&self, tuple: &FourTuple) -> Option<&Owner> {
        self.owners.get(tuple)
    }

    /// Tuples owned.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    pub fn contains_key(&self, tuple: &FourTuple) -> bool {
        self.owners.contains_key(tuple)
    }

    /// Gives `tuple` to `owner`, replacing any other.
    pub fn insert(&mut self, tuple: FourTuple, owner: Owner) {
        if let Some(old) = self.owners.insert(tuple, owner) {
            self.count(&tuple, old, false);
        }
        self.count(&tuple, owner, true);
    }

    /// Frees `tuple`.
    pub fn remove(&mut self, tuple: &FourTuple) {
        if let Some(old) = self.owners.remove(tuple) {
            self.count(tuple, old, false);
        }
    }

    /// Frees `tuple` if `owner` holds it.
    pub fn remove_if_owner(&mut self, tuple: &FourTuple, owner: Owner) {
        if self.owners.get(tuple) == Some(&owner) {
            self.remove(tuple);
        }
    }

    /// How the ephemeral ports from `local` to `remote` are held.
    pub fn held(&self, local: IpAddr, remote: SocketAddr) -> Held {
        self.held.get(&(local, remote)).copied().unwrap_or_default()
    }

    fn count(&mut self, tuple: &FourTuple, owner: Owner, add: bool) {
        let port = tuple.local.port();
        if port < self.ephemeral.0 || port > self.ephemeral.1 {
            return;
        }
        let key = (tuple.local.ip(), tuple.remote);
        let held = self.held.entry(key).or_default();
        let n = match owner {
            Owner::Conn(_) => &mut held.connections,
            Owner::TimeWait(_) => &mut held.time_wait,
        };
        *n = if add {
            n.saturating_add(1)
        } else {
            n.saturating_sub(1)
        };
        if *held == Held::default() {
            self.held.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::slab::Key;
    use core::net::Ipv4Addr;

    fn tuple(port: u16) -> FourTuple {
        FourTuple::new(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), port),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80),
        )
    }

    fn key(index: u32) -> Key {
        Key {
            index,
            generation: 0,
        }
    }

    #[test]
    fn counts_follow_owners_on_ephemeral_ports_only() {
        let mut t = TupleTable::new((1000, 1999));
        let (local, remote) = (tuple(0).local.ip(), tuple(0).remote);
        t.insert(tuple(1000), Owner::Conn(key(1)));
        t.insert(tuple(1001), Owner::Conn(key(2)));
        t.insert(tuple(80), Owner::Conn(key(3)));
        assert_eq!(
            t.held(local, remote),
            Held {
                connections: 2,
                time_wait: 0
            }
        );
        // A connection hands its tuple to a TIME-WAIT entry.
        t.insert(tuple(1000), Owner::TimeWait(key(1)));
        assert_eq!(
            t.held(local, remote),
            Held {
                connections: 1,
                time_wait: 1
            }
        );
        // Only the owner named frees a tuple this way.
        t.remove_if_owner(&tuple(1000), Owner::Conn(key(1)));
        assert!(t.contains_key(&tuple(1000)));
        t.remove_if_owner(&tuple(1000), Owner::TimeWait(key(1)));
        t.remove(&tuple(1001));
        t.remove(&tuple(80));
        assert_eq!(t.held(local, remote), Held::default());
        assert!(t.held.is_empty(), "empty counts are dropped");
        assert!(t.get(&tuple(80)).is_none());
    }
}
