//! Why arriving segments were dropped: one reason type and one counter
//! table for the whole stack. The endpoint counts what it drops before any
//! connection sees a segment ([`EndpointStats::drops`]); each connection
//! counts what it drops itself ([`Stats::drops`]). A segment is counted in
//! exactly one of the two places.
//!
//! [`EndpointStats::drops`]: crate::endpoint::EndpointStats::drops
//! [`Stats::drops`]: crate::conn::Stats::drops

/// Which part of the stack drops a segment for a given [`DropReason`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropSite {
    /// The endpoint, before any connection saw the segment.
    Endpoint,
    /// The connection the segment was addressed to.
    Connection,
}

/// Why an arriving segment was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(usize)]
pub enum DropReason {
    // Dropped by the endpoint.
    /// Unparsable, a bad checksum, port 0, or a non-unicast address.
    Malformed,
    /// A well-formed IP packet of another protocol (ICMP, UDP, neighbour
    /// discovery…): not an error, just not TCP.
    NotTcp,
    /// An IP fragment: the endpoint does not reassemble (TCP avoids
    /// fragmentation by its MSS).
    Fragment,
    /// Not a SYN, and no connection or listener takes it (answered with a
    /// reset unless it was one, within the rate limit).
    NoConnection,
    /// A SYN for a port nobody listens on (answered with a reset).
    NoListener,
    /// A SYN that also carried FIN, for a listener: discarded without
    /// reply, as Linux does.
    SynFin,
    /// A listener's SYN queue (cookies off) or accept queue was full.
    BacklogFull,
    /// The endpoint's connection limit was reached.
    ConnectionLimit,
    /// The endpoint's buffer memory limit was reached.
    MemoryLimit,
    /// An ACK whose SYN cookie did not validate (answered with a reset).
    BadCookie,
    /// Taken in by a TIME-WAIT entry: resets (RFC 1337), SYNs that may not
    /// reopen it (RFC 6191), duplicates (each answered with an ACK).
    TimeWait,

    // Dropped by a connection.
    /// Addressed to a different peer than the connection's.
    WrongPeer,
    /// Its sequence numbers lie outside the receive window (RFC 9293
    /// §3.10.7.4); an ACK was sent instead.
    OutOfWindow,
    /// Rejected by PAWS (RFC 7323 §5): its timestamp is older than the last.
    Paws,
    /// No timestamp option although both sides agreed to send one on every
    /// segment (RFC 7323 §3.2 says to drop it).
    MissingTimestamp,
    /// Its ACK acknowledges data never sent (RFC 9293 §3.10.7.4).
    AckOfUnsent,
    /// Its ACK is older than anything the peer may still acknowledge
    /// (RFC 5961 §5.2).
    AckTooOld,
    /// A reset outside the window, or one answered by a challenge ACK
    /// (RFC 5961 §3).
    BadReset,
    /// A SYN in a synchronized state, answered by a challenge ACK
    /// (RFC 5961 §4).
    UnexpectedSyn,
    /// A segment without ACK where one is required, or otherwise not valid
    /// in the connection's state.
    InvalidForState,
    /// Out-of-order data that would exceed the reassembly range limit.
    ReassemblyFull,
}

impl DropReason {
    /// Number of reasons.
    pub const COUNT: usize = 21;
    /// Every reason, in counter order: the endpoint's first.
    pub const ALL: [DropReason; DropReason::COUNT] = [
        DropReason::Malformed,
        DropReason::NotTcp,
        DropReason::Fragment,
        DropReason::NoConnection,
        DropReason::NoListener,
        DropReason::SynFin,
        DropReason::BacklogFull,
        DropReason::ConnectionLimit,
        DropReason::MemoryLimit,
        DropReason::BadCookie,
        DropReason::TimeWait,
        DropReason::WrongPeer,
        DropReason::OutOfWindow,
        DropReason::Paws,
        DropReason::MissingTimestamp,
        DropReason::AckOfUnsent,
        DropReason::AckTooOld,
        DropReason::BadReset,
        DropReason::UnexpectedSyn,
        DropReason::InvalidForState,
        DropReason::ReassemblyFull,
    ];

    /// A short snake_case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::NotTcp => "not_tcp",
            DropReason::Fragment => "fragment",
            DropReason::NoConnection => "no_connection",
            DropReason::NoListener => "no_listener",
            DropReason::SynFin => "syn_fin",
            DropReason::BacklogFull => "backlog_full",
            DropReason::ConnectionLimit => "connection_limit",
            DropReason::MemoryLimit => "memory_limit",
            DropReason::BadCookie => "bad_cookie",
            DropReason::TimeWait => "time_wait",
            DropReason::WrongPeer => "wrong_peer",
            DropReason::OutOfWindow => "out_of_window",
            DropReason::Paws => "paws",
            DropReason::MissingTimestamp => "missing_timestamp",
            DropReason::AckOfUnsent => "ack_of_unsent",
            DropReason::AckTooOld => "ack_too_old",
            DropReason::BadReset => "bad_reset",
            DropReason::UnexpectedSyn => "unexpected_syn",
            DropReason::InvalidForState => "invalid_for_state",
            DropReason::ReassemblyFull => "reassembly_full",
        }
    }

    /// Where segments dropped for this reason are counted.
    pub fn site(self) -> DropSite {
        if (self as usize) < DropReason::WrongPeer as usize {
            DropSite::Endpoint
        } else {
            DropSite::Connection
        }
    }
}

/// Dropped segments, counted by [`DropReason`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Drops([u64; DropReason::COUNT]);

impl Drops {
    /// The count for one reason.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.0[reason as usize]
    }

    /// Counts one more drop.
    pub(crate) fn add(&mut self, reason: DropReason) {
        let c = &mut self.0[reason as usize];
        *c = c.saturating_add(1);
    }

    /// All drops together.
    pub fn total(&self) -> u64 {
        self.0.iter().fold(0u64, |a, b| a.saturating_add(*b))
    }

    /// `(reason, count)` for every reason with a non-zero count.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|r| (*r, self.get(*r)))
            .filter(|(_, n)| *n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_listed_in_counter_order_with_distinct_names() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "{r:?}");
            for other in &DropReason::ALL[..i] {
                assert_ne!(r.name(), other.name());
            }
        }
        let endpoint = DropReason::ALL
            .iter()
            .filter(|r| r.site() == DropSite::Endpoint)
            .count();
        assert_eq!(endpoint, 11);
        assert_eq!(DropReason::TimeWait.site(), DropSite::Endpoint);
        assert_eq!(DropReason::WrongPeer.site(), DropSite::Connection);
    }

    #[test]
    fn counts_add_up_and_saturate() {
        let mut d = Drops::default();
        d.add(DropReason::Paws);
        d.add(DropReason::Paws);
        d.add(DropReason::Malformed);
        assert_eq!(d.get(DropReason::Paws), 2);
        assert_eq!(d.total(), 3);
        assert_eq!(
            d.iter().collect::<alloc::vec::Vec<_>>(),
            [(DropReason::Malformed, 1), (DropReason::Paws, 2)]
        );
        d.0[0] = u64::MAX;
        d.add(DropReason::Malformed);
        assert_eq!(d.get(DropReason::Malformed), u64::MAX);
        assert_eq!(d.total(), u64::MAX);
    }
}
