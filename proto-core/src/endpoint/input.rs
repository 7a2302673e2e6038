//! Arriving segments: to their connection or TIME-WAIT entry by 4-tuple,
//! else to a listener (a SYN opens a connection or gets a cookie; an ACK
//! may carry a cookie), else a reset (RFC 9293 §3.10.7.1–2).

use super::reply::{MAX_QUEUED_REPLIES, Reply};
use super::time_wait::TimeWaitAction;
use super::timers::Owner;
use super::{ConnectionHandle, Endpoint, EndpointError, ListenerId, Stage, SynCookieMode};
use super::{is_unicast, slab::Key};
use crate::conn::{Connection, timestamp_clock};
use crate::drops::DropReason;
use crate::seq::SeqNumber;
use crate::syncookie::{COOKIE_PERIOD, MAX_COOKIE_AGE, TsCookieOptions, encode_ts_options};
use crate::time::Instant;
use crate::tuple::FourTuple;
use crate::wire::{
    EcnCodepoint, Error as WireError, IpAddrPair, TcpFlags, TcpOptions, TcpRepr, Timestamps,
    parse_tcp_in_ip,
};

/// A TIME-WAIT entry a SYN may replace (RFC 9293 §3.10.7.4, RFC 6191).
#[derive(Clone, Copy, Debug)]
struct Reopen {
    /// The entry, removed only once the new connection is created.
    key: Key,
    /// The new connection's ISS, above the old sequence space.
    iss: SeqNumber,
}

impl Endpoint {
    /// Takes in one TCP segment (header and payload) that arrived from
    /// `addrs.src()` for `addrs.dst()`. Whatever cannot be used is dropped
    /// and counted in [`EndpointStats::drops`](super::EndpointStats::drops).
    /// The segment counts as Not-ECT; a host that knows the ECN field of
    /// the packet that carried it (UDP encapsulation: the outer header)
    /// uses [`Endpoint::handle_segment_with_ecn`].
    pub fn handle_segment(&mut self, now: Instant, addrs: &IpAddrPair, segment: &[u8]) {
        self.handle_segment_with_ecn(now, addrs, segment, EcnCodepoint::NotEct);
    }

    /// [`Endpoint::handle_segment`] for a segment whose packet carried the
    /// ECN codepoint `ecn` (RFC 3168 §5).
    pub fn handle_segment_with_ecn(
        &mut self,
        now: Instant,
        addrs: &IpAddrPair,
        segment: &[u8],
        ecn: EcnCodepoint,
    ) {
        self.settle();
        match TcpRepr::parse_bytes(segment, addrs, self.config.conn.checksums) {
            Ok(seg) => self.dispatch(now, addrs, &seg, ecn),
            Err(_) => self.stats.drops.add(DropReason::Malformed),
        }
    }

    /// Takes in one IPv4 or IPv6 packet, as read from a TUN device, with
    /// the ECN codepoint of its header. Packets that are not TCP,
    /// fragments, and anything malformed are dropped and counted.
    pub fn handle_ip_packet(&mut self, now: Instant, packet: &[u8]) {
        self.settle();
        match parse_tcp_in_ip(packet, self.config.conn.checksums) {
            Ok((ip, seg)) => self.dispatch(now, &ip.addrs(), &seg, ip.ecn()),
            Err(WireError::NotTcp(_)) => self.stats.drops.add(DropReason::NotTcp),
            Err(WireError::Fragmented) => self.stats.drops.add(DropReason::Fragment),
            Err(_) => self.stats.drops.add(DropReason::Malformed),
        }
    }

    fn dispatch(&mut self, now: Instant, addrs: &IpAddrPair, seg: &TcpRepr<'_>, ecn: EcnCodepoint) {
        // RFC 1122 §4.2.3.10: segments from or to non-unicast addresses
        // belong to no connection, and must not be answered.
        // RFC 9293 §3.9.2.3 (MUST-57, MUST-63): such SYNs are discarded.
        if seg.src_port == 0
            || seg.dst_port == 0
            || !is_unicast(addrs.src())
            || !is_unicast(addrs.dst())
        {
            self.stats.drops.add(DropReason::Malformed);
            return;
        }
        let tuple = FourTuple::of_incoming(addrs, seg.src_port, seg.dst_port);
        let reopen = match self.by_tuple.get(&tuple).copied() {
            Some(Owner::Conn(key)) => {
                return self.deliver_to_connection(now, key, addrs, seg, ecn);
            }
            Some(Owner::TimeWait(key)) => match self.deliver_to_time_wait(now, key, seg) {
                Some(reopen) => Some(reopen),
                None => return,
            },
            None => None,
        };
        self.no_connection(now, tuple, seg, ecn, reopen);
    }

    fn deliver_to_connection(
        &mut self,
        now: Instant,
        key: Key,
        addrs: &IpAddrPair,
        seg: &TcpRepr<'_>,
        ecn: EcnCodepoint,
    ) {
        let Some(e) = self.conns.get_mut(key) else {
            return;
        };
        // The ACK that would complete a handshake while the accept queue
        // is full is dropped, as in Linux: our SYN-ACK is retransmitted,
        // and the client's ACK with it, until there is room.
        if let Stage::SynQueue(l) = e.stage
            && seg.flags.contains(TcpFlags::ACK)
            && self
                .listeners
                .get(l.0)
                .is_some_and(|l| l.accept.len() >= self.config.accept_backlog)
        {
            self.stats.drops.add(DropReason::BacklogFull);
            return;
        }
        e.conn.handle_segment_with_ecn(now, addrs, seg, ecn);
        self.sync(key, false);
    }

    /// A segment for a TIME-WAIT entry. Returns what a new connection
    /// needs when a SYN may reopen the tuple; the entry stays until that
    /// connection exists.
    fn deliver_to_time_wait(
        &mut self,
        now: Instant,
        key: Key,
        seg: &TcpRepr<'_>,
    ) -> Option<Reopen> {
        let two_msl = self.config.conn.msl.saturating_mul(2);
        let entry = self.time_wait.get_mut(key)?;
        match entry.on_segment(seg, self.config.conn.timestamps) {
            TimeWaitAction::Drop => self.stats.drops.add(DropReason::TimeWait),
            TimeWaitAction::Ack { fin } => {
                self.stats.drops.add(DropReason::TimeWait);
                let ack = Reply {
                    tuple: entry.tuple,
                    seq: entry.snd_nxt,
                    ack: entry.rcv_nxt,
                    flags: TcpFlags::ACK,
                    window: entry.window,
                    options: TcpOptions {
                        timestamps: entry.timestamps.map(|(offset, recent)| Timestamps {
                            value: timestamp_clock(now, offset),
                            echo_reply: recent,
                        }),
                        ..TcpOptions::default()
                    },
                };
                if fin {
                    // RFC 9293 §3.10.7.4: restart the 2·MSL timeout.
                    entry.expiry = now + two_msl;
                    self.push_timer(now + two_msl, Owner::TimeWait(key));
                    self.queue_reply(ack);
                } else if self.rst_limit.allow(now) {
                    self.queue_reply(ack);
                } else {
                    self.stats.rsts_rate_limited += 1;
                }
            }
            TimeWaitAction::Reopen => {
                return Some(Reopen {
                    key,
                    iss: entry.reopen_iss(),
                });
            }
        }
        None
    }

    /// RFC 9293 §3.10.7.1 (no listener) and §3.10.7.2 (LISTEN).
    fn no_connection(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        seg: &TcpRepr<'_>,
        ecn: EcnCodepoint,
        reopen: Option<Reopen>,
    ) {
        let flags = seg.flags;
        let syn_only = flags.contains(TcpFlags::SYN) && !flags.contains(TcpFlags::ACK);
        let listener = self.find_listener(tuple.local);
        if flags.contains(TcpFlags::RST) {
            // Never answer a reset.
            self.stats.drops.add(DropReason::NoConnection);
            return;
        }
        if reopen.is_some() && (listener.is_none() || !syn_only) {
            // Nothing would take the tuple over: TIME-WAIT stays (as in
            // Linux, which keeps it when no listener wants the SYN).
            self.stats.drops.add(DropReason::TimeWait);
            return;
        }
        let Some(listener) = listener else {
            if syn_only {
                self.stats.drops.add(DropReason::NoListener);
            } else {
                self.stats.drops.add(DropReason::NoConnection);
            }
            return self.send_reset(now, tuple, seg);
        };
        if flags.contains(TcpFlags::ACK) {
            if !flags.contains(TcpFlags::SYN) && self.cookie_expected(listener, now) {
                return self.cookie_ack(now, listener, tuple, seg, ecn);
            }
            // LISTEN: "any acknowledgment is bad": <SEQ=SEG.ACK><CTL=RST>.
            self.stats.drops.add(DropReason::NoConnection);
            return self.send_reset(now, tuple, seg);
        }
        if !flags.contains(TcpFlags::SYN) {
            // LISTEN: any other segment is dropped without reply.
            self.stats.drops.add(DropReason::NoConnection);
            return;
        }
        if flags.contains(TcpFlags::FIN) {
            // SYN+FIN opens and closes at once: no stack sends it, scanners
            // do (to slip past filters that look for a bare SYN). RFC 9293
            // would take it as a SYN; Linux discards it, and so do we.
            self.stats.drops.add(DropReason::SynFin);
            return;
        }
        self.syn(now, listener, tuple, seg, reopen);
    }

    /// A SYN for a listener: a new half-open connection, a SYN cookie, or
    /// a drop when the queues are full.
    fn syn(
        &mut self,
        now: Instant,
        id: ListenerId,
        tuple: FourTuple,
        seg: &TcpRepr<'_>,
        reopen: Option<Reopen>,
    ) {
        let Some(listener) = self.listeners.get(id.0) else {
            return;
        };
        if listener.accept.len() >= self.config.accept_backlog {
            // The application is not accepting: a new connection would
            // only wait (Linux drops these SYNs too).
            self.stats.drops.add(DropReason::BacklogFull);
            return;
        }
        let full = listener.syn_queue >= self.config.syn_backlog;
        let cookie = match self.config.syn_cookies {
            SynCookieMode::Off => false,
            SynCookieMode::WhenFull => full,
            SynCookieMode::Always => true,
        };
        if cookie && reopen.is_none() {
            return self.send_cookie(now, id, tuple, seg);
        }
        // A cookie's ISS cannot be made to exceed the old connection's
        // sequence space (RFC 9293 MAY-2), so a reopening SYN waits for
        // room in the queue instead.
        if full || cookie {
            self.stats.drops.add(DropReason::BacklogFull);
            return;
        }
        if let Err(e) = self.admit() {
            return self.count_refusal(e);
        }
        let iss = match reopen {
            Some(Reopen { key, iss }) => {
                self.remove_time_wait(key);
                iss
            }
            None => self.isn.generate(&tuple, now),
        };
        let Ok(mut conn) = Connection::accept(self.listener_conn_config(id), tuple, seg, iss, now)
        else {
            // Only a SYN of mixed families could fail, and tuples never are.
            self.stats.drops.add(DropReason::Malformed);
            return;
        };
        conn.set_timestamp_offset(self.timestamp_offset(&tuple));
        let key = self.insert_conn(conn, Stage::SynQueue(id));
        if let Some(listener) = self.listeners.get_mut(id.0) {
            listener.syn_queue += 1;
        }
        self.stats.half_open += 1;
        self.sync(key, false);
    }

    /// Answers a SYN with a SYN-ACK whose ISN is a SYN cookie (RFC 4987
    /// §3.6), keeping no state.
    fn send_cookie(&mut self, now: Instant, id: ListenerId, tuple: FourTuple, seg: &TcpRepr<'_>) {
        let c = self.listener_conn_config(id);
        // A SYN without MSS encodes as the smallest table entry, which is
        // the default MSS of RFC 9293 §3.7.1 (IPv4) or RFC 8200 §5 (IPv6).
        let (iss, _) = self
            .cookies
            .encode(&tuple, seg.seq, now, seg.options.mss.unwrap_or(0));
        let mut options = TcpOptions {
            mss: Some(c.mss_for(tuple.is_ipv4())),
            ..TcpOptions::default()
        };
        let mut ecn_setup = TcpFlags::empty();
        // Window scale, SACK-permitted and ECN survive only in the TSval,
        // so they are offered only when the client uses timestamps;
        // without, the SYN-ACK offers none, since the final ACK could not
        // tell us they were agreed.
        if let (true, Some(ts)) = (c.timestamps, seg.options.timestamps) {
            let kept = TsCookieOptions {
                wscale: seg.options.window_scale.filter(|_| c.window_scaling),
                sack_permitted: c.sack && seg.options.sack_permitted,
                // RFC 3168 §6.1.1: an ECN-setup SYN asks with ECE and CWR.
                ecn: c.ecn.accepts() && seg.flags.contains(TcpFlags::ECE | TcpFlags::CWR),
            };
            options.window_scale = kept.wscale.map(|_| c.window_shift());
            options.sack_permitted = kept.sack_permitted;
            if kept.ecn {
                ecn_setup = TcpFlags::ECE;
            }
            // The clock the connection will use, with the offset of this
            // address pair.
            let clock = timestamp_clock(now, self.timestamp_offset(&tuple));
            options.timestamps = Some(Timestamps {
                value: encode_ts_options(kept, clock),
                echo_reply: ts.value,
            });
        }
        let syn_ack = Reply {
            tuple,
            seq: iss,
            ack: seg.seq + 1u32,
            flags: TcpFlags::SYN | TcpFlags::ACK | ecn_setup,
            // The window of a SYN-ACK is never scaled (RFC 7323 §2.2).
            window: u16::try_from(c.recv_buffer).unwrap_or(u16::MAX),
            options,
        };
        if self.queue_reply(syn_ack) {
            self.stats.cookies_sent += 1;
        }
        if let Some(listener) = self.listeners.get_mut(id.0) {
            listener.last_cookie = Some(now);
        }
    }

    /// Whether an ACK to this listener may be the final ACK of a cookie
    /// handshake: always with [`SynCookieMode::Always`], and otherwise only
    /// while cookies sent recently may still be valid, so ACKs are not
    /// checked (nor forgeries tried) when no cookie is out.
    fn cookie_expected(&self, id: ListenerId, now: Instant) -> bool {
        let lifetime = COOKIE_PERIOD.saturating_mul(MAX_COOKIE_AGE + 1);
        match self.config.syn_cookies {
            SynCookieMode::Off => false,
            SynCookieMode::Always => true,
            SynCookieMode::WhenFull => self.listeners.get(id.0).is_some_and(|l| {
                l.last_cookie
                    .is_some_and(|at| now.saturating_duration_since(at) < lifetime)
            }),
        }
    }

    /// The final ACK of a cookie handshake: validated, it becomes an
    /// ESTABLISHED connection in the accept queue.
    fn cookie_ack(
        &mut self,
        now: Instant,
        id: ListenerId,
        tuple: FourTuple,
        seg: &TcpRepr<'_>,
        ecn: EcnCodepoint,
    ) {
        if self
            .listeners
            .get(id.0)
            .is_none_or(|l| l.accept.len() >= self.config.accept_backlog)
        {
            self.stats.drops.add(DropReason::BacklogFull);
            return;
        }
        let Some(params) = self.cookies.validate(&tuple, seg.ack, seg.seq, now) else {
            self.stats.cookies_rejected += 1;
            self.stats.drops.add(DropReason::BadCookie);
            return self.send_reset(now, tuple, seg);
        };
        if let Err(e) = self.admit() {
            return self.count_refusal(e);
        }
        let Ok(conn) = Connection::from_syn_cookie(
            self.listener_conn_config(id),
            tuple,
            params,
            seg,
            ecn,
            self.timestamp_offset(&tuple),
            now,
        ) else {
            self.stats.drops.add(DropReason::BadCookie);
            return;
        };
        self.stats.cookies_accepted += 1;
        let key = self.insert_conn(conn, Stage::AcceptQueue(id));
        if let Some(listener) = self.listeners.get_mut(id.0) {
            listener.accept.push_back(ConnectionHandle(key));
        }
        self.sync(key, false);
    }

    /// Counts a connection refused for a limit.
    fn count_refusal(&mut self, e: EndpointError) {
        match e {
            EndpointError::MemoryLimit => self.stats.drops.add(DropReason::MemoryLimit),
            _ => self.stats.drops.add(DropReason::ConnectionLimit),
        }
    }

    /// A reset for a segment that matches nothing, within the rate limit.
    fn send_reset(&mut self, now: Instant, tuple: FourTuple, seg: &TcpRepr<'_>) {
        if !self.rst_limit.allow(now) {
            self.stats.rsts_rate_limited += 1;
        } else if self.queue_reply(Reply::reset(tuple, seg)) {
            self.stats.rsts_sent += 1;
        }
    }

    /// Queues a stateless reply; false (and counted) when the queue is full.
    fn queue_reply(&mut self, reply: Reply) -> bool {
        if self.replies.len() >= MAX_QUEUED_REPLIES {
            self.stats.replies_dropped += 1;
            return false;
        }
        self.replies.push_back(reply);
        true
    }

    pub(super) fn remove_time_wait(&mut self, key: Key) {
        if let Some(entry) = self.time_wait.remove(key) {
            self.by_tuple
                .remove_if_owner(&entry.tuple, Owner::TimeWait(key));
        }
    }
}
