//! What the connection sends, and when: handshake segments, data cut to
//! the MSS under Nagle and sender-side silly-window avoidance, FIN, ACKs
//! (delayed or not, with SACK blocks), resets, and the probes of the
//! persist and keepalive timers. Also the timers that make sending happen.

use super::acks::AckRecord;
use super::timers::TimerKind;
use super::{CloseReason, Connection, State, Transmit};
use crate::recovery::SentSegment;
use crate::seq::SeqNumber;
use crate::time::Instant;
use crate::tuple::FourTuple;
use crate::wire::{
    ChecksumMode, EcnCodepoint, SackBlock, SackBlocks, TcpFlags, TcpOptions, TcpPacket, TcpRepr,
    Timestamps,
};

/// One segment to build.
#[derive(Clone, Copy, Debug, Default)]
struct Plan {
    seq: SeqNumber,
    flags: TcpFlags,
    /// Payload: offset into the send buffer and length.
    data: Option<(usize, usize)>,
    /// Carries the SYN options.
    syn_options: bool,
    /// The acknowledgment number of a reset that answers a segment
    /// without ACK (RFC 9293 §3.10.7.1).
    rst_ack: Option<SeqNumber>,
    /// It resends sequence space sent before.
    retransmission: bool,
    /// It is a tail loss probe.
    probe: bool,
    /// It is a zero-window or keepalive probe: an ACK below SND.UNA that
    /// the peer finds unacceptable, so it carries no acknowledgment the
    /// peer will take.
    old_seq_probe: bool,
    /// Where it goes, when not to this connection's peer (resets from
    /// CLOSED or LISTEN answer the segment's source).
    reply_to: Option<FourTuple>,
    /// It is the oldest owed immediate ACK: its acknowledgment number and
    /// SACK blocks are the record's, not the current ones.
    ack_record: Option<AckRecord>,
}

impl Connection {
    /// Writes the next segment to send into `buf` and describes it, or
    /// returns `None` when there is nothing to send now. Call it until it
    /// returns `None` after every other call. `buf` should hold a whole
    /// packet (the MTU); a smaller one gets smaller segments.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        let Some(plan) = self.plan_segment(now, buf.len()) else {
            // Nothing to send, but what the application did since may need
            // a timer: data written into a zero window needs the persist
            // timer, or a lost window update leaves both sides waiting.
            self.rearm_timers(now);
            return None;
        };
        let (len, ecn) = self.emit(now, &plan, buf)?;
        self.after_send(now, &plan);
        self.rearm_timers(now);
        // The tuple straight from where it lives: through an `unwrap_or`
        // temporary, its copy was written with overlapping stores and read
        // back at once, a store-forwarding stall per segment.
        let mut sent = Transmit {
            len,
            tuple: self.tuple,
            ecn,
        };
        if let Some(to) = &plan.reply_to {
            sent.tuple = *to;
        }
        Some(sent)
    }

    /// Decides what the next segment is.
    fn plan_segment(&mut self, now: Instant, room: usize) -> Option<Plan> {
        if let Some(rst) = self.rst.take() {
            let mut flags = TcpFlags::RST;
            if rst.ack.is_some() {
                flags |= TcpFlags::ACK;
            }
            return Some(Plan {
                seq: rst.seq,
                flags,
                rst_ack: rst.ack,
                reply_to: Some(rst.tuple),
                ..Plan::default()
            });
        }
        match self.state {
            State::Closed | State::Listen => None,
            State::SynSent | State::SynReceived if self.snd.nxt == self.snd.iss => {
                let mut flags = TcpFlags::SYN;
                if self.state == State::SynReceived {
                    flags |= TcpFlags::ACK;
                }
                Some(Plan {
                    seq: self.snd.iss,
                    flags,
                    syn_options: true,
                    retransmission: self.snd.max != self.snd.iss,
                    ..Plan::default()
                })
            }
            State::SynSent => None,
            _ => self.plan_synchronized(now, room),
        }
    }

    /// Data, FIN, probes and ACKs once the SYN is out, in this order:
    /// owed immediate ACKs, a due tail loss probe, retransmissions of lost
    /// segments, new data, a window or keepalive probe, a due ACK.
    fn plan_synchronized(&mut self, now: Instant, room: usize) -> Option<Plan> {
        let ack_plan = |seq| Plan {
            seq,
            flags: TcpFlags::ACK,
            ..Plan::default()
        };
        if self.state == State::SynReceived {
            // Our SYN-ACK is out; only ACKs (e.g. challenge ACKs) until it
            // is acknowledged.
            return self.ack_now.then(|| ack_plan(self.snd.nxt));
        }
        // Immediate ACKs owed one per segment go first, oldest first: they
        // stand for ACKs that would have left as each segment arrived,
        // before anything sent now, so acknowledgment numbers never go
        // backwards on the wire. Data cannot stand in for them: a segment
        // with data is no duplicate ACK to the sender (RFC 5681 §2).
        if let Some(record) = self.owed_acks.front() {
            return Some(Plan {
                ack_record: Some(*record),
                ..ack_plan(self.snd.nxt)
            });
        }
        if self.sends_data() {
            if self.probe_due {
                self.probe_due = false;
                if let Some(plan) = self.plan_tail_probe(room) {
                    return Some(plan);
                }
            }
            if let Some(plan) = self.plan_retransmission(now, room) {
                return Some(plan);
            }
            if let Some(plan) = self.plan_new_data(now, room) {
                return Some(plan);
            }
        }
        if self.probe_now {
            // A zero-window or keepalive probe: an ACK with an old sequence
            // number, which the peer must answer with an ACK showing its
            // window (RFC 9293 §3.8.6.1, §3.8.4; as Linux probes).
            self.probe_now = false;
            self.stats.window_probes += 1;
            return Some(Plan {
                old_seq_probe: true,
                ..ack_plan(self.snd.una - 1u32)
            });
        }
        self.ack_now.then(|| ack_plan(self.snd.nxt))
    }

    /// States in which data and our FIN may be (re)sent.
    // RFC 9293 §3.8.6 (MUST-34, SHLD-15): a window that shrank below SND.NXT
    // gives zero, never a negative usable window, so no new data goes out.
    fn sends_data(&self) -> bool {
        matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        )
    }

    /// Bytes the peer's window lets us send beyond SND.NXT.
    pub(super) fn send_allowance(&self) -> usize {
        let right_edge = self.snd.una + self.snd.wnd.min(u32::MAX as usize >> 1);
        if right_edge > self.snd.nxt {
            right_edge.distance_from(self.snd.nxt) as usize
        } else {
            0
        }
    }

    /// Where unsent data starts in the send buffer, how much there is, and
    /// whether our FIN is still to be sent.
    pub(super) fn unsent(&self) -> (usize, usize, bool) {
        let base = self.data_base();
        // Sequence space past the data (only the FIN) is not data.
        let offset = if self.snd.nxt > base {
            (self.snd.nxt.distance_from(base) as usize).min(self.send_buf.len())
        } else {
            0
        };
        let fin_unsent = self.snd.fin.is_some_and(|fin| self.snd.nxt <= fin);
        (offset, self.send_buf.len() - offset, fin_unsent)
    }

    /// True when unsent data could go as a new segment as far as the
    /// data, the peer's window and Nagle are concerned. F-RTO probes with
    /// new data and must fall back to conventional recovery when there is
    /// none to send (RFC 5682 §2.1 step 2b).
    pub(super) fn can_send_new_data(&self) -> bool {
        let (_, unsent, fin_unsent) = self.unsent();
        unsent > 0
            && self.send_allowance() >= unsent.min(self.send_mss)
            && (unsent >= self.send_mss || !self.nagle || fin_unsent)
    }

    /// The most payload one segment may carry now: the MSS less any SACK
    /// blocks riding along (so the packet stays within the MTU, as Linux
    /// does), and what fits the caller's buffer.
    fn payload_room(&self, room: usize) -> usize {
        let sack_len = if self.negotiated.sack {
            let blocks = self.sack_blocks(self.negotiated.timestamps).len();
            if blocks > 0 { 4 + 8 * blocks } else { 0 }
        } else {
            0
        };
        let header = self.data_header_len() + sack_len;
        self.send_mss
            .saturating_sub(sack_len)
            .min(room.saturating_sub(header))
            .max(1)
    }

    /// True when the pacer lets `size` bytes go now; otherwise arms the
    /// pacing timer for when it will.
    fn paced(&mut self, now: Instant, size: usize) -> bool {
        match self.pacer.release_time(now, size) {
            None => true,
            Some(at) => {
                self.timers.pacing = Some(at);
                false
            }
        }
    }

    /// A segment that resends `seg` as it was first sent.
    fn resend_plan(&self, seg: &SentSegment, room: usize) -> Option<Plan> {
        let data_len = seg.len() - usize::from(seg.fin);
        if self.data_header_len() + data_len > room {
            return None;
        }
        let offset = seg.start.distance_from(self.data_base()) as usize;
        let mut flags = TcpFlags::ACK;
        if seg.fin {
            flags |= TcpFlags::FIN;
        }
        Some(Plan {
            seq: seg.start,
            flags,
            data: (data_len > 0).then_some((offset, data_len)),
            retransmission: true,
            ..Plan::default()
        })
    }

    /// The next lost segment, if recovery's quota (PRR, or the window after
    /// a timeout) and the pacer allow it (RFC 6675 NextSeg rule 1).
    // RFC 9293 §3.8.6.1 (SHLD-16, MAY-7): retransmissions are not bounded
    // by the peer's window, so a shrunk window is probed by them.
    fn plan_retransmission(&mut self, now: Instant, room: usize) -> Option<Plan> {
        if self.recovery.holding_retransmissions() {
            return None;
        }
        let seg = self.recovery.next_retransmission()?;
        let quota = self.recovery.send_quota(self.cc.window(), self.send_mss);
        if quota < seg.len().min(self.send_mss) || !self.paced(now, seg.len()) {
            return None;
        }
        self.resend_plan(&seg, room)
    }

    /// A tail loss probe (RFC 8985 §7.3): one new segment if the peer's
    /// window allows, else the last segment again. Neither the congestion
    /// window nor the pacer holds it back.
    fn plan_tail_probe(&mut self, room: usize) -> Option<Plan> {
        let (offset, unsent, fin_unsent) = self.unsent();
        let len = unsent
            .min(self.payload_room(room))
            .min(self.send_allowance());
        if len > 0 {
            let mut plan = self.new_data_plan(offset, len, unsent, fin_unsent);
            plan.probe = true;
            return Some(plan);
        }
        let last = self.recovery.probe_target()?;
        let mut plan = self.resend_plan(&last, room)?;
        plan.probe = true;
        Some(plan)
    }

    /// A new data and/or FIN segment of `len` payload bytes at SND.NXT.
    fn new_data_plan(&self, offset: usize, len: usize, unsent: usize, fin_unsent: bool) -> Plan {
        let mut flags = TcpFlags::ACK;
        if fin_unsent && len == unsent {
            flags |= TcpFlags::FIN;
        }
        if len > 0 && len == unsent {
            flags |= TcpFlags::PSH;
        }
        Plan {
            seq: self.snd.nxt,
            flags,
            data: (len > 0).then_some((offset, len)),
            ..Plan::default()
        }
    }

    /// The next new data and/or FIN segment, if the peer's window, the
    /// congestion window, Nagle, silly-window avoidance and the pacer allow
    /// one.
    fn plan_new_data(&mut self, now: Instant, room: usize) -> Option<Plan> {
        let (offset, unsent, fin_unsent) = self.unsent();
        let cc_room = self.recovery.send_quota(self.cc.window(), self.send_mss);
        if unsent == 0 && !fin_unsent {
            if cc_room >= self.send_mss {
                // The window is not the limit: the application is (RFC 7661).
                self.app_limited_until = Some(self.snd.max);
                self.recovery.on_app_limited();
            }
            return None;
        }
        let mss = self.payload_room(room);
        let in_flight = self.snd.nxt != self.snd.una;
        // RFC 5681 §4.1 / RFC 7661: after an idle period longer than the
        // RTO, the window restarts from at most the initial window.
        if !in_flight && now.saturating_duration_since(self.last_sent) > self.rtt.rto() {
            self.cc.on_idle_restart(now);
        }
        // The congestion window: wait until a full segment fits, unless
        // nothing is in flight (a FIN alone always fits).
        if unsent > 0 && cc_room < unsent.min(mss) && in_flight {
            return None;
        }
        let len = unsent
            .min(mss)
            .min(self.send_allowance())
            .min(cc_room.max(if in_flight { 0 } else { mss }));
        let with_fin = fin_unsent && len == unsent;
        if len < unsent || (len == 0 && !with_fin) {
            // Window-limited, or a partial segment with more to come.
            if len == 0 {
                return None;
            }
            // RFC 9293 §3.8.6.2.1 (MUST-38): sender-side SWS avoidance.
            // Sender SWS (RFC 9293 §3.8.6.2.1): send a partial segment
            // only if it is at least half the largest window the peer
            // offered, or nothing is in flight (the override, with no
            // delay, so a small window cannot stall the connection).
            if len < mss && len < self.snd.max_wnd / 2 && in_flight {
                return None;
            }
        } else if len < mss && len > 0 && !with_fin && self.nagle && in_flight {
            // RFC 9293 §3.7.4 (SHLD-7): Nagle; (MUST-17) `set_nodelay` turns it off.
            // Nagle (RFC 896, RFC 9293 §3.7.4): hold a small segment while
            // data is unacknowledged. A FIN-bearing segment goes at once.
            return None;
        }
        if !self.paced(now, len) {
            return None;
        }
        // RFC 9293 §3.9.1.2 (MUST-60, MUST-61): write() has no PUSH flag, so
        // data is never held indefinitely and the segment that empties the
        // queue carries PSH.
        Some(self.new_data_plan(offset, len, unsent, fin_unsent))
    }

    /// Header length of a data segment before SACK blocks: 20 bytes plus
    /// the timestamp option when in use.
    fn data_header_len(&self) -> usize {
        if self.negotiated.timestamps { 32 } else { 20 }
    }

    /// Builds the segment into `buf`; returns its length and the ECN
    /// codepoint of the IP header that should carry it.
    fn emit(&mut self, now: Instant, plan: &Plan, buf: &mut [u8]) -> Option<(usize, EcnCodepoint)> {
        let tuple = plan.reply_to.unwrap_or(self.tuple);
        let ack_flag = plan.flags.contains(TcpFlags::ACK);
        let rst = plan.flags.contains(TcpFlags::RST);
        let syn = plan.flags.contains(TcpFlags::SYN);
        let ack = if rst {
            plan.rst_ack.unwrap_or(SeqNumber(0))
        } else if ack_flag {
            plan.ack_record.map_or(self.rcv.nxt, |r| r.ack)
        } else {
            SeqNumber(0)
        };
        let mut options = TcpOptions::default();
        let n = self.negotiated;
        if plan.syn_options {
            let passive = self.state == State::SynReceived;
            let c = &self.config;
            // RFC 9293 §3.7.1 (MUST-14, MAY-3, MUST-67): every SYN carries our
            // MSS, derived from the MTU we can receive; §3.2 (MUST-65): no other
            // segment does.
            options.mss = Some(c.mss_for(self.tuple.is_ipv4()));
            // In a SYN-ACK, offer only what the peer offered (RFC 7323
            // §1.3, RFC 2018 §2).
            if c.window_scaling && (!passive || n.window_scaling) {
                options.window_scale = Some(c.window_shift());
            }
            options.sack_permitted = c.sack && (!passive || n.sack);
            if c.timestamps && (!passive || n.timestamps) {
                options.timestamps = Some(Timestamps {
                    value: self.ts_now(now),
                    echo_reply: if passive { self.ts.recent } else { 0 },
                });
            }
        } else if n.timestamps && !rst {
            // RFC 7323 §3.2: once agreed, on every segment but resets.
            options.timestamps = Some(Timestamps {
                value: self.ts_now(now),
                echo_reply: self.ts.recent,
            });
        }
        if ack_flag && !rst && n.sack {
            options.sack = match plan.ack_record {
                Some(record) => record.sack,
                None => self.sack_blocks(options.timestamps.is_some()),
            };
        }
        let window = if rst {
            0
        } else {
            let field = self.window.next_field(
                self.rcv.nxt,
                self.recv_buf.window(),
                self.recv_buf.capacity(),
                self.recv_mss(),
                syn,
            );
            if ack == self.rcv.nxt || syn {
                field
            } else {
                // An owed ACK from before RCV.NXT moved on: the same right
                // edge, seen from its older acknowledgment number (less
                // than one scale unit short when the distance does not
                // divide), so the window never seems to shrink.
                let edge = self.window.edge();
                let bytes = if edge > ack {
                    edge.distance_from(ack) as usize
                } else {
                    0
                };
                u16::try_from(bytes >> self.window.shift()).unwrap_or(u16::MAX)
            }
        };
        // ECN (RFC 3168 §6.1): ECE+CWR on our first SYN, ECE on an agreeing
        // SYN-ACK; afterwards ECE on ACKs while echoing, ECT(0) and any
        // owed CWR on new data only.
        let mut flags = plan.flags;
        let mut codepoint = EcnCodepoint::NotEct;
        if syn {
            flags |= if self.state == State::SynReceived {
                self.ecn.syn_ack_flags()
            } else {
                self.ecn
                    .active_syn_flags(self.config.ecn, plan.retransmission)
            };
        } else if !rst {
            let new_data = plan.data.is_some() && !plan.retransmission;
            let (extra, cp) = self.ecn.outgoing(ack_flag, new_data);
            flags |= extra;
            codepoint = cp;
        }
        let repr = TcpRepr {
            src_port: tuple.local.port(),
            dst_port: tuple.remote.port(),
            seq: plan.seq,
            ack,
            flags,
            window,
            urgent: 0,
            options,
            payload: &[],
        };
        let addrs = tuple.outgoing_addrs()?;
        let header_len = repr.header_len();
        let data_len = plan.data.map_or(0, |(_, len)| len);
        if buf.len() < header_len + data_len {
            return None;
        }
        repr.emit(buf, &addrs, ChecksumMode::Skip).ok()?;
        self.ecn.on_sent(flags);
        if let Some((offset, len)) = plan.data {
            let copied = self
                .send_buf
                .read_at(offset, &mut buf[header_len..header_len + len]);
            debug_assert_eq!(copied, len);
        }
        let total = header_len + data_len;
        if self.config.checksums == ChecksumMode::Full {
            TcpPacket::new_unchecked(&mut buf[..total]).fill_checksum(&addrs);
        }
        // RFC 9293 §3.10.7.4 (MUST-58, MUST-59): one pending-ACK flag covers
        // every in-order segment handed in since the last segment went
        // out. A probe below SND.UNA does not: the peer drops it (it only
        // answers with its window), so an ACK that was due still goes out
        // after it. Nor does any segment pay off owed immediate ACKs but
        // their own; the last of them, when RCV.NXT and the SACK state
        // have not moved since, is an ACK of the current state.
        if let Some(record) = plan.ack_record {
            self.owed_acks.pop();
            self.ts.last_ack_sent = record.ack;
            let current =
                self.owed_acks.len() == 0 && record.ack == self.rcv.nxt && self.dsack.is_none();
            if !current {
                return Some((total, codepoint));
            }
        }
        if ack_flag && !rst && !plan.old_seq_probe {
            self.ts.last_ack_sent = self.rcv.nxt;
            self.ack_now = false;
            self.rcv.unacked_bytes = 0;
            self.rcv.pair_acked = false;
            self.timers.delayed_ack = None;
            self.dsack = None;
        }
        Some((total, codepoint))
    }

    /// SACK blocks for an ACK (RFC 2018 §4, RFC 2883): a D-SACK block first
    /// when a duplicate arrived, then the out-of-order ranges, most recent
    /// first. Three fit beside the timestamps, four without.
    pub(super) fn sack_blocks(&self, with_timestamps: bool) -> SackBlocks {
        let max = if with_timestamps { 3 } else { 4 };
        let mut blocks = SackBlocks::new();
        if let Some((left, right)) = self.dsack {
            let _ = blocks.push(SackBlock { left, right });
        }
        let nxt = self.rcv.nxt;
        for (start, end) in self.recv_buf.sack_ranges(max) {
            if blocks.len() >= max {
                break;
            }
            let _ = blocks.push(SackBlock {
                left: nxt + start,
                right: nxt + end,
            });
        }
        blocks
    }

    /// Bookkeeping after a segment left: sequence numbers, statistics,
    /// the recovery scoreboard, the retransmission timer (RFC 6298 §5.1),
    /// RTT timing and pacing.
    fn after_send(&mut self, now: Instant, plan: &Plan) {
        self.stats.segments_sent += 1;
        if plan.flags.contains(TcpFlags::RST) {
            return;
        }
        let data_len = plan.data.map_or(0, |(_, len)| len);
        let fin = plan.flags.contains(TcpFlags::FIN);
        let seq_len = data_len + usize::from(plan.flags.contains(TcpFlags::SYN)) + usize::from(fin);
        if seq_len == 0 {
            return; // a pure ACK or a window probe
        }
        self.stats.bytes_sent += data_len as u64;
        let end = plan.seq + seq_len;
        if plan.retransmission {
            self.stats.retransmitted_segments += 1;
            self.stats.retransmitted_bytes += data_len as u64;
            // Karn: nothing timed may be resent and still give a sample.
            self.rtt_timed = None;
        } else if plan.flags.contains(TcpFlags::SYN) {
            // Data segments are timed on the recovery scoreboard; the SYN
            // is timed here.
            self.rtt_timed = Some((end, now));
        }
        if self.state.is_synchronized() {
            self.recovery
                .on_sent(now, plan.seq, end, fin, plan.retransmission);
            self.cc
                .on_sent(now, data_len, self.recovery.in_flight(self.send_mss));
            self.pacer.on_sent(now, data_len);
            self.last_sent = now;
            self.probe_base = now;
            if plan.probe {
                self.recovery.on_probe_sent(end, plan.retransmission);
                // RFC 8985 §7.3: after the probe, the RTO covers it.
                self.timers.retransmit = Some(now + self.rtt.rto());
            }
        }
        if !plan.retransmission || plan.flags.contains(TcpFlags::SYN) {
            self.snd.nxt = end;
        }
        if end > self.snd.max {
            self.snd.max = end;
        }
        if self.timers.retransmit.is_none() {
            self.timers.retransmit = Some(now + self.rtt.rto());
        }
        if self.unacked_since.is_none() {
            self.unacked_since = Some(now);
        }
    }

    /// Runs the timers that are due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(kind) = self.timers.take_expired(now) {
            match kind {
                TimerKind::TimeWait | TimerKind::FinWait2 => self.enter_closed(CloseReason::Normal),
                TimerKind::UserTimeout => self.fail(CloseReason::TimedOut),
                TimerKind::Retransmit => self.on_retransmit_timeout(now),
                TimerKind::Persist => {
                    // RFC 9293 §3.8.6.1 (SHLD-30): the interval doubles per
                    // probe while the window stays closed, answered or not.
                    self.persist_backoff = self.persist_backoff.saturating_add(1);
                    self.probes += 1;
                    if self.probes > self.config.max_retries {
                        self.fail(CloseReason::TimedOut);
                    } else {
                        self.probe_now = true;
                    }
                }
                TimerKind::Keepalive => {
                    let Some(keepalive) = self.config.keepalive else {
                        continue;
                    };
                    // RFC 9293 §3.8.4 (MUST-29): `probes` unanswered probes, not one, mean
                    // the peer is gone.
                    if self.probes >= keepalive.probes {
                        self.fail(CloseReason::TimedOut);
                    } else {
                        self.probes += 1;
                        self.probe_now = true;
                        self.timers.keepalive = Some(now + keepalive.interval);
                    }
                }
                TimerKind::DelayedAck => self.ack_now = true,
                TimerKind::Reorder => {
                    let recoveries = self.recovery.stats().fast_recoveries;
                    self.timers.reorder = self.recovery.on_reorder_timeout(
                        now,
                        self.rtt.srtt(),
                        self.rtt.min_rtt(),
                        self.snd.max,
                        self.send_mss,
                        self.cc.as_mut(),
                    );
                    if self.recovery.stats().fast_recoveries != recoveries {
                        self.ecn.on_window_reduced(self.snd.max, false);
                    }
                }
                TimerKind::Probe => {
                    self.probe_due = true;
                    // RFC 8985 §7.3: the RTO is re-armed after the probe.
                    self.timers.retransmit = Some(now + self.rtt.rto());
                }
                // Nothing to do but wake up: poll_transmit sends.
                TimerKind::Pacing => {}
            }
            if self.state == State::Closed {
                break;
            }
        }
        self.rearm_timers(now);
    }

    /// RFC 6298 §5.4–5.6: back off the timer, give up after the
    /// configured retries, and resend: the SYN (going back to the ISS), or
    /// the data the recovery machine now marks lost.
    fn on_retransmit_timeout(&mut self, now: Instant) {
        if self.snd.una == self.snd.max {
            return;
        }
        self.stats.timeouts += 1;
        // RFC 9293 §3.8.6.1 (MUST-35): a window shrunk to zero with data
        // outstanding makes these retransmissions window probes; as long
        // as the peer answers them, they must not time the connection out
        // (Linux does the same). "Answers": something acceptable arrived
        // since our last transmission, however late this timer is handled.
        let zero_window_peer_alive = self.state.is_synchronized()
            && self.snd.wnd == 0
            && self.last_received >= self.last_sent;
        if !zero_window_peer_alive {
            self.retries += 1;
        }
        let limit = if self.state.is_synchronized() {
            self.config.max_retries
        } else {
            self.config.max_syn_retries
        };
        if self.retries > limit {
            return self.fail(CloseReason::TimedOut);
        }
        self.rtt.on_timeout();
        // Karn: nothing sent before the timeout may give an RTT sample.
        self.rtt_timed = None;
        if self.state.is_synchronized() {
            self.recovery.on_rto(
                now,
                self.snd.max,
                self.send_mss,
                self.config.frto,
                self.cc.as_mut(),
            );
            self.ecn.on_window_reduced(self.snd.max, false);
            self.timers.probe = None;
            self.timers.reorder = None;
            self.probe_due = false;
        } else {
            self.snd.nxt = self.snd.una;
        }
        self.timers.retransmit = Some(now + self.rtt.rto());
    }

    /// Ends the connection because the peer stopped answering; a reset
    /// tells the peer, should it still be there.
    fn fail(&mut self, reason: CloseReason) {
        if self.state.is_synchronized() || self.state == State::SynReceived {
            self.rst = Some(self.reset(self.snd.nxt, None));
        }
        self.enter_closed(reason);
    }

    /// Starts or stops the timers whose need follows from the state:
    /// user timeout, persist, keepalive.
    pub(super) fn rearm_timers(&mut self, now: Instant) {
        if self.state == State::Closed {
            self.timers.clear();
            return;
        }
        let outstanding = self.snd.una != self.snd.max;
        if !outstanding {
            self.timers.retransmit = None;
            self.timers.reorder = None;
            self.unacked_since = None;
        }
        // The tail loss probe follows the last transmission or progress
        // (RFC 8985 §7.2–7.3).
        self.timers.probe = if self.state.is_synchronized() && !self.probe_due {
            self.recovery.probe_deadline(
                self.probe_base,
                self.rtt.srtt(),
                self.rtt.rto(),
                self.send_mss,
            )
        } else {
            None
        };
        // Pacing follows the window and the RTT.
        if self.config.pacing
            && let Some(srtt) = self.rtt.srtt()
        {
            let rate = self.cc.pacing_rate(srtt).unwrap_or_else(|| {
                self.pacer
                    .window_rate(self.cc.window(), srtt, self.cc.in_slow_start())
            });
            self.pacer
                .set_rate(now, rate, self.send_mss, self.cc.send_quantum());
        }
        self.timers.user_timeout = match (self.config.user_timeout, self.unacked_since) {
            (Some(limit), Some(since)) if self.state != State::TimeWait => Some(since + limit),
            _ => None,
        };
        // RFC 9293 §3.8.6.1 (MUST-35, MUST-36, SHLD-29): zero-window probes, the
        // first after one RTO; (MUST-37) an answered probe resets `probes`, so a
        // live peer keeps the connection open.
        // Persist: data waits, nothing is in flight, and the window is too
        // small to send it (RFC 9293 §3.8.6.1).
        let base = self.data_base();
        let unsent = self.snd.max.distance_from(base) as usize;
        let blocked = self.state.is_synchronized()
            && !outstanding
            && self.send_buf.len() > unsent.min(self.send_buf.len())
            && self.send_allowance() == 0;
        if blocked {
            if self.timers.persist.is_none() {
                let backoff = self.persist_backoff.min(16);
                let interval = self
                    .rtt
                    .rto()
                    .saturating_mul(1 << backoff)
                    .min(self.config.max_rto);
                self.timers.persist = Some(now + interval);
            }
        } else if self.timers.persist.is_some() && !blocked {
            self.timers.persist = None;
        }
        // RFC 9293 §3.8.4 (MUST-26): only with nothing outstanding and nothing
        // received for `idle`; (SHLD-12) the probe carries no data.
        // Keepalive: idle established connections (RFC 9293 §3.8.4). The
        // first probe waits `idle` after the last segment received; later
        // ones are timed by the expiry handler.
        let idle =
            matches!(self.state, State::Established | State::CloseWait) && !outstanding && !blocked;
        self.timers.keepalive = match self.config.keepalive {
            Some(k) if idle && self.probes == 0 => Some(self.last_received + k.idle),
            Some(k) if idle => Some(self.timers.keepalive.unwrap_or(now + k.interval)),
            _ => None,
        };
    }
}
