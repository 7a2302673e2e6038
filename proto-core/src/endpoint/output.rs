//! What leaves the endpoint, and when: segments in round-robin order over
//! the connections that may have something to send, interleaved with
//! stateless replies; the single deadline; and timer expiry.

use alloc::vec::Vec;

use super::time_wait::TimeWait;
use super::timers::{Owner, shrink_queue};
use super::{Endpoint, Stage, slab::Key, timer_is_live};
use crate::conn::{State, Transmit};
use crate::time::Instant;
use crate::wire::{EcnCodepoint, IP_PROTOCOL_TCP, IpAddrPair, IpRepr, Ipv4Repr, Ipv6Repr};

/// Most connections one [`Endpoint::poll_transmit`] call looks at and finds
/// with nothing to send: at roughly a microsecond each (a connection's state
/// is rarely in cache), a quarter of a millisecond at most.
pub const IDLE_VISITS_PER_CALL: usize = 256;

/// Most stale timer entries one call drops (each an O(log n) heap pop).
pub(super) const STALE_DROPS_PER_CALL: usize = 4096;

impl Endpoint {
    /// Writes the next TCP segment to send into `buf` and says where it
    /// goes, or returns `None` when nothing is to be sent now. Call it
    /// until it returns `None` after every other call. `buf` should hold a
    /// whole segment (the MTU less the IP header); a smaller one gets
    /// smaller segments.
    ///
    /// One call looks at no more than [`IDLE_VISITS_PER_CALL`] connections
    /// that turn out to have nothing to send (after a burst of ACKs that
    /// needed no answer there can be a million), so its time does not grow
    /// with the number of connections. When it stops for that reason it
    /// returns `None` and [`Endpoint::poll_timeout`] returns `now`: the
    /// host's next turn goes on where this one stopped.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        self.transmit(now, buf, false)
    }

    /// Like [`Endpoint::poll_transmit`], but writes a whole IPv4 or IPv6
    /// packet (no options or extension headers; the TTL or hop limit from
    /// the configuration; IPv4 with don't-fragment set), as a TUN device
    /// takes it. `buf` should hold the MTU.
    pub fn poll_transmit_ip(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        self.transmit(now, buf, true)
    }

    /// The earliest time [`Endpoint::handle_timeout`] has work to do, over
    /// every connection and TIME-WAIT entry.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.settle();
        let mut drops = STALE_DROPS_PER_CALL;
        let timer = self.next_timer(&mut drops).map(|(at, _)| at);
        match (timer, self.ready_unvisited_since) {
            (Some(t), Some(r)) => Some(t.min(r)),
            (t, r) => t.or(r),
        }
    }

    /// Runs the timers due at `now`, earliest first, at most
    /// [`EndpointConfig::timers_per_call`](super::EndpointConfig::timers_per_call)
    /// of them: O(log n) per due timer. Timers left over are still due, so
    /// [`Endpoint::poll_timeout`] returns a time not after `now` until
    /// they have run.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.settle();
        // Take the due entries first, so a connection whose next deadline
        // is already due runs once per call, never in a loop.
        let mut due = Vec::new();
        let mut drops = STALE_DROPS_PER_CALL;
        while due.len() < self.config.timers_per_call
            && let Some((at, owner)) = self.next_timer(&mut drops)
        {
            // Past the drops allowed, what is left waits for the next call.
            let Some(owner) = owner.filter(|_| at <= now) else {
                break;
            };
            self.timers.pop();
            due.push(owner);
        }
        for owner in due {
            match owner {
                Owner::Conn(key) => {
                    if let Some(e) = self.conns.get_mut(key) {
                        e.timer = None;
                        e.conn.handle_timeout(now);
                        self.sync(key, false);
                    }
                }
                Owner::TimeWait(key) => self.remove_time_wait(key),
            }
        }
    }

    /// The earliest live heap entry, dropping stale ones on the way, at
    /// most `drops` of them (counted down). Past that it gives the next
    /// entry's time with no owner: an early wake-up, whose
    /// `handle_timeout` goes on dropping. Entries go stale as deadlines
    /// move and owners leave; after a million connections closed, one
    /// call dropping them all would take most of a second.
    fn next_timer(&mut self, drops: &mut usize) -> Option<(Instant, Option<Owner>)> {
        loop {
            let (at, owner) = self.timers.peek()?;
            if timer_is_live(&self.conns, &self.time_wait, at, owner) {
                return Some((at, Some(owner)));
            }
            if *drops == 0 {
                return Some((at, None));
            }
            *drops -= 1;
            self.timers.pop();
        }
    }

    /// One segment from a stateless reply or a ready connection, taking
    /// turns so neither can starve the other.
    fn transmit(&mut self, now: Instant, buf: &mut [u8], ip: bool) -> Option<Transmit> {
        self.settle();
        self.replies_first = !self.replies_first;
        if self.replies_first {
            self.transmit_reply(buf, ip)
                .or_else(|| self.transmit_connection(now, buf, ip))
        } else {
            self.transmit_connection(now, buf, ip)
                .or_else(|| self.transmit_reply(buf, ip))
        }
    }

    fn transmit_reply(&mut self, buf: &mut [u8], ip: bool) -> Option<Transmit> {
        while let Some(reply) = self.replies.pop_front() {
            let offset = if ip {
                ip_header_len(reply.tuple.is_ipv4())
            } else {
                0
            };
            let written = buf
                .get_mut(offset..)
                .and_then(|b| reply.emit(b, self.config.conn.checksums));
            let Some(len) = written else {
                self.stats.replies_dropped += 1;
                continue;
            };
            let t = Transmit {
                len,
                tuple: reply.tuple,
                ecn: EcnCodepoint::NotEct,
            };
            return if ip { self.wrap_in_ip(buf, t) } else { Some(t) };
        }
        None
    }

    /// The next segment in round-robin order: a connection that sent goes
    /// to the back of the queue; one with nothing to send leaves it until
    /// something happens to it again.
    fn transmit_connection(&mut self, now: Instant, buf: &mut [u8], ip: bool) -> Option<Transmit> {
        self.ready_unvisited_since = None;
        let mut idle_visits = 0;
        while let Some(key) = self.ready.pop_front() {
            if idle_visits == IDLE_VISITS_PER_CALL {
                self.ready.push_front(key);
                self.ready_unvisited_since = Some(now);
                return None;
            }
            let Some(e) = self.conns.get_mut(key) else {
                continue;
            };
            let offset = if ip {
                ip_header_len(e.conn.tuple().is_ipv4())
            } else {
                0
            };
            let sent = match buf.get_mut(offset..) {
                Some(b) if !e.stage.detached() => e.conn.poll_transmit(now, b),
                _ => None,
            };
            match sent {
                Some(t) => {
                    self.ready.push_back(key);
                    self.sync(key, true);
                    return if ip { self.wrap_in_ip(buf, t) } else { Some(t) };
                }
                None => {
                    idle_visits += 1;
                    e.ready = false;
                    if e.conn.state() == State::TimeWait && !e.stage.detached() {
                        self.enter_time_wait(key);
                    } else {
                        self.sync(key, true);
                    }
                }
            }
        }
        shrink_queue(&mut self.ready);
        None
    }

    /// Writes the IP header in front of the segment `t` placed after it.
    fn wrap_in_ip(&self, buf: &mut [u8], t: Transmit) -> Option<Transmit> {
        let ip = match t.tuple.outgoing_addrs()? {
            IpAddrPair::V4 { src, dst } => IpRepr::V4(Ipv4Repr {
                src,
                dst,
                protocol: IP_PROTOCOL_TCP,
                payload_len: t.len,
                ttl: self.config.ip_ttl,
                // DSCP 0 (best effort) and the segment's ECN codepoint.
                dscp_ecn: t.ecn.bits(),
                // RFC 6864 §4.1: atomic datagrams may carry any ID.
                ident: 0,
                dont_fragment: true,
                more_fragments: false,
                fragment_offset: 0,
            }),
            IpAddrPair::V6 { src, dst } => IpRepr::V6(Ipv6Repr {
                src,
                dst,
                next_header: IP_PROTOCOL_TCP,
                payload_len: t.len,
                hop_limit: self.config.ip_ttl,
                traffic_class: t.ecn.bits(),
                flow_label: 0,
            }),
        };
        let header = ip.emit(buf, self.config.conn.checksums).ok()?;
        Some(Transmit {
            len: header + t.len,
            ..t
        })
    }

    /// A connection in TIME-WAIT with nothing left to send becomes a
    /// TIME-WAIT entry, and its buffers go: at once if nobody holds it,
    /// once the application has read what is left otherwise.
    fn enter_time_wait(&mut self, key: Key) {
        let Some(e) = self.conns.get_mut(key) else {
            return;
        };
        let Some(snapshot) = e.conn.time_wait_snapshot() else {
            return;
        };
        let tuple = e.conn.tuple();
        e.timer = None;
        let held = match e.stage {
            Stage::App | Stage::AppClosed => Some(Stage::TimeWait(None)),
            Stage::AcceptQueue(l) => Some(Stage::TimeWait(Some(l))),
            _ => None,
        };
        if let Some(stage) = held {
            e.stage = stage;
        }
        self.by_tuple.remove(&tuple);
        if self.time_wait.len() < self.config.max_time_wait {
            let entry = TimeWait::new(tuple, snapshot);
            let tw = self.time_wait.insert(entry);
            self.by_tuple.insert(tuple, Owner::TimeWait(tw));
            self.push_timer(entry.expiry, Owner::TimeWait(tw));
        } else {
            self.stats.time_wait_overflow += 1;
        }
        if held.is_some() {
            self.sync(key, false);
        } else {
            self.remove_conn(key);
        }
    }
}

/// Bytes of the IP header [`Endpoint::poll_transmit_ip`] writes.
fn ip_header_len(ipv4: bool) -> usize {
    if ipv4 { 20 } else { 40 }
}
