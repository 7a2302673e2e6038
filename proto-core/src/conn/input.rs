//! Segment arrival, in the order of checks RFC 9293 §3.10.7 gives, with the
//! RFC 5961 protections against blind injection and RFC 7323's timestamps.

use super::{CloseReason, Connection, DropReason, Negotiated, PendingReset, State, event_bits};
use crate::flow::ReceiveWindow;
use crate::recovery::AckInput;
use crate::seq::SeqNumber;
use crate::time::{Duration, Instant};
use crate::tuple::FourTuple;
use crate::wire::{EcnCodepoint, IpAddrPair, TcpFlags, TcpRepr};

/// RFC 7323 §5.5: TS.Recent is invalid after 24 days without a segment.
const PAWS_IDLE_LIMIT: Duration = Duration::from_secs(24 * 24 * 3600);

/// What PAWS made of an arriving segment's timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TsCheck {
    /// Not older than TS.Recent (or timestamps are off, or it is a reset).
    Passed,
    /// Older, but TS.Recent is more than 24 days old and so no longer
    /// valid (RFC 7323 §5.5): the segment's TSval replaces it if the
    /// segment proves acceptable.
    RecentExpired,
}

/// RFC 9293 §3.7.1 and RFC 8200 §5: the MSS to assume when the peer sends
/// none.
// RFC 9293 §3.7.1 (MUST-15): without an MSS option, assume 536 (IPv4) or
// 1220 (IPv6).
fn default_mss(ipv4: bool) -> u16 {
    if ipv4 { 536 } else { 1220 }
}

impl Connection {
    /// Processes one arriving segment. `addrs` are the segment's IP source
    /// and destination; a segment for another 4-tuple is dropped (and
    /// counted), so hosts that do not demultiplex may pass everything.
    /// The segment counts as Not-ECT: hosts that know the ECN field of
    /// the packet that carried it use
    /// [`Connection::handle_segment_with_ecn`].
    pub fn handle_segment(&mut self, now: Instant, addrs: &IpAddrPair, seg: &TcpRepr<'_>) {
        self.handle_segment_with_ecn(now, addrs, seg, EcnCodepoint::NotEct);
    }

    /// [`Connection::handle_segment`] for a segment whose IP header carried
    /// the ECN codepoint `ecn` (RFC 3168 §5): a Congestion Experienced
    /// mark on data makes the ACKs echo it, once ECN was agreed.
    pub fn handle_segment_with_ecn(
        &mut self,
        now: Instant,
        addrs: &IpAddrPair,
        seg: &TcpRepr<'_>,
        ecn: EcnCodepoint,
    ) {
        self.stats.segments_received += 1;
        let tuple = FourTuple::of_incoming(addrs, seg.src_port, seg.dst_port);
        match self.state {
            State::Closed => self.segment_in_closed(tuple, seg),
            State::Listen => {
                if tuple.local != self.tuple.local {
                    return self.drop_segment(DropReason::WrongPeer);
                }
                self.segment_in_listen(now, tuple, seg);
            }
            _ if tuple != self.tuple => self.drop_segment(DropReason::WrongPeer),
            State::SynSent => self.segment_in_syn_sent(now, seg),
            _ => self.segment_in_synchronized(now, seg, ecn),
        }
        self.rearm_timers(now);
    }

    pub(super) fn drop_segment(&mut self, reason: DropReason) {
        self.stats.drops.add(reason);
    }

    /// RFC 9293 §3.10.7.1: no connection. A reset is answered by nothing;
    /// anything else by a reset that the peer will accept.
    fn segment_in_closed(&mut self, tuple: FourTuple, seg: &TcpRepr<'_>) {
        self.drop_segment(DropReason::InvalidForState);
        if seg.flags.contains(TcpFlags::RST) {
            return;
        }
        let (seq, ack) = reset_reply(seg);
        self.rst = Some(PendingReset { seq, ack, tuple });
    }

    /// RFC 9293 §3.10.7.2.
    fn segment_in_listen(&mut self, now: Instant, tuple: FourTuple, seg: &TcpRepr<'_>) {
        if seg.flags.contains(TcpFlags::RST) {
            return self.drop_segment(DropReason::BadReset);
        }
        if seg.flags.contains(TcpFlags::ACK) {
            self.drop_segment(DropReason::InvalidForState);
            self.rst = Some(PendingReset {
                seq: seg.ack,
                ack: None,
                tuple,
            });
            return;
        }
        // SYN+FIN is discarded, as Linux does (see the endpoint's
        // `syn_fin` count).
        if !seg.flags.contains(TcpFlags::SYN)
            || seg.flags.contains(TcpFlags::FIN)
            || tuple.outgoing_addrs().is_none()
        {
            return self.drop_segment(DropReason::InvalidForState);
        }
        let Some(isn) = &self.isn else {
            return self.drop_segment(DropReason::InvalidForState);
        };
        self.tuple = tuple;
        self.send_mss = usize::from(self.config.mss_for(tuple.is_ipv4()));
        let iss = isn.generate(&tuple, now);
        self.open_from_syn(seg, iss, now);
    }

    /// Takes in the peer's SYN for a passive open: SYN-RECEIVED, with our
    /// SYN-ACK due. Data in the SYN is not kept (no TCP Fast Open); the
    /// peer sends it again once the handshake completes.
    pub(super) fn open_from_syn(&mut self, syn: &TcpRepr<'_>, iss: SeqNumber, now: Instant) {
        self.init_send(iss);
        self.rcv.irs = syn.seq;
        self.rcv.nxt = syn.seq + 1u32;
        self.negotiate(syn, now);
        // The SYN's window is never scaled (RFC 7323 §2.2).
        self.update_send_window(usize::from(syn.window), syn.seq, iss);
        self.state = State::SynReceived;
        self.last_received = now;
    }

    /// Settles the options from the peer's SYN (RFC 9293 §3.7.1, RFC 7323
    /// §2.2 and §3.2, RFC 2018 §2): each is used only if both offered.
    fn negotiate(&mut self, syn: &TcpRepr<'_>, now: Instant) {
        let c = &self.config;
        let opts = &syn.options;
        let ipv4 = self.tuple.is_ipv4();
        let scaling = c.window_scaling && opts.window_scale.is_some();
        self.ecn
            .negotiate(c.ecn, syn.flags, self.state == State::SynSent);
        let n = Negotiated {
            peer_mss: opts.mss.unwrap_or(default_mss(ipv4)),
            window_scaling: scaling,
            // RFC 7323 §2.3: a shift above 14 is used as 14.
            snd_shift: if scaling {
                opts.window_scale.unwrap_or(0).min(14)
            } else {
                0
            },
            rcv_shift: if scaling { c.window_shift() } else { 0 },
            sack: c.sack && opts.sack_permitted,
            timestamps: c.timestamps && opts.timestamps.is_some(),
            ecn: self.ecn.enabled(),
        };
        if let (true, Some(ts)) = (n.timestamps, opts.timestamps) {
            self.ts.recent = ts.value;
            self.ts.recent_at = now;
        }
        // RFC 9293 §3.7.1 (MUST-16): the effective send MSS is the smaller
        // of the peer's MSS and ours (our MTU), with a floor against peers
        // that announce tiny ones, less the options on every segment.
        let ts_overhead = if n.timestamps { 12 } else { 0 };
        self.send_mss = usize::from(c.send_mss_for(ipv4, n.peer_mss))
            .saturating_sub(ts_overhead)
            .max(1);
        self.window = ReceiveWindow::new(self.rcv.nxt, n.rcv_shift);
        self.recovery.set_sack(n.sack);
        // The controller's initial window depends on the MSS just settled
        // (RFC 6928); nothing has been sent under the old one.
        self.cc = self
            .config
            .congestion
            .build_for(self.send_mss, self.config.pacing);
        self.negotiated = n;
    }

    /// RFC 9293 §3.10.7.3.
    fn segment_in_syn_sent(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        let flags = seg.flags;
        let mut ack_ok = false;
        if flags.contains(TcpFlags::ACK) {
            // Acceptable only if it acknowledges our SYN and nothing more.
            // RFC 9293 §3.10.7.3: unacceptable if SEG.ACK =< ISS or
            // SEG.ACK > SND.NXT.
            if !seg
                .ack
                .in_range_inclusive(self.snd.iss + 1u32, self.snd.max)
            {
                self.drop_segment(DropReason::AckOfUnsent);
                if !flags.contains(TcpFlags::RST) {
                    self.rst = Some(self.reset(seg.ack, None));
                }
                return;
            }
            ack_ok = true;
        }
        if flags.contains(TcpFlags::RST) {
            // RFC 5961 §3.2: in SYN-SENT a reset counts only if it
            // acknowledges our SYN.
            if ack_ok {
                self.enter_closed(CloseReason::Refused);
            } else {
                self.drop_segment(DropReason::BadReset);
            }
            return;
        }
        if !flags.contains(TcpFlags::SYN) {
            return self.drop_segment(DropReason::InvalidForState);
        }
        self.rcv.irs = seg.seq;
        self.rcv.nxt = seg.seq + 1u32;
        self.negotiate(seg, now);
        self.last_received = now;
        if ack_ok {
            self.snd.una = seg.ack;
            // A timeout may have moved SND.NXT back to the ISS to resend
            // the SYN; the SYN is acknowledged now.
            self.snd.nxt = seg.ack;
            self.update_send_window(usize::from(seg.window), seg.seq, seg.ack);
            // A sample (when the SYN was not resent) also ends any backoff
            // (RFC 6298 §5.7 note).
            self.take_syn_rtt_sample(now, seg);
            self.retries = 0;
            self.establish();
            self.ack_now = true;
            // Data or FIN riding on the SYN-ACK (RFC 9293 §3.10.7.3).
            if !seg.payload.is_empty() || flags.contains(TcpFlags::FIN) {
                self.receive_text(now, seg);
            }
        } else {
            // RFC 9293 §3.5 (MUST-10): simultaneous open is supported.
            // Simultaneous open: answer with SYN-ACK from our ISS.
            self.state = State::SynReceived;
            self.snd.nxt = self.snd.iss;
            self.update_send_window(usize::from(seg.window), seg.seq, self.snd.iss);
        }
    }

    /// The handshake completed.
    fn establish(&mut self) {
        // RFC 6298 §5.7: if the SYN timed out and no RTT sample exists, the
        // RTO for data starts at 3 s.
        self.rtt.on_handshake_complete();
        // A shutdown requested during the handshake goes into effect now.
        self.state = if self.snd.fin.is_some() {
            State::FinWait1
        } else {
            State::Established
        };
        self.events |= event_bits::CONNECTED | event_bits::WRITABLE;
    }

    /// RFC 9293 §3.10.7.4, for SYN-RECEIVED and the synchronized states.
    /// `ecn` is the codepoint of the IP header that carried the segment.
    fn segment_in_synchronized(&mut self, now: Instant, seg: &TcpRepr<'_>, ecn: EcnCodepoint) {
        let flags = seg.flags;
        // A retransmitted SYN in SYN-RECEIVED: our SYN-ACK was lost.
        if self.state == State::SynReceived
            && flags.contains(TcpFlags::SYN)
            && !flags.intersects(TcpFlags::ACK | TcpFlags::RST)
            && seg.seq == self.rcv.irs
        {
            self.snd.nxt = self.snd.iss;
            return;
        }
        let Some(ts_check) = self.check_timestamp(now, seg) else {
            return;
        };
        // First: is the sequence number acceptable? RFC 9293 §3.10.7.4
        // (MUST-66): with a zero receive window no segment is, but valid
        // ACKs and RSTs at RCV.NXT must still be processed; their text is
        // dropped below.
        let acceptable = self.acceptable(seg);
        let control_only =
            !acceptable && self.window.advertised(self.rcv.nxt) == 0 && seg.seq == self.rcv.nxt;
        if !acceptable && !control_only {
            if self.state == State::TimeWait
                && flags.contains(TcpFlags::FIN)
                && !flags.contains(TcpFlags::RST)
                && seg.seq + seg.segment_len() == self.rcv.nxt
            {
                // RFC 9293 §3.10.7.4 (TIME-WAIT): our last ACK was lost
                // and the peer resent its FIN: acknowledge it again and
                // restart the 2·MSL wait.
                self.ack_now = true;
                self.timers.time_wait = Some(now + self.config.msl.saturating_mul(2));
                return;
            }
            self.drop_segment(DropReason::OutOfWindow);
            if !flags.contains(TcpFlags::RST) {
                self.answer_unacceptable(now, seg);
            }
            return;
        }
        // Nothing the segment says is taken in (TS.Recent, liveness, the
        // window, SACK blocks, RTT samples) before its ACK has proved
        // acceptable in `process_ack`: a spoofed segment that is then
        // refused must leave the connection as it was (RFC 7323 §4.3).
        // Second: RST (RFC 5961 §3.2: only an exact match resets).
        if flags.contains(TcpFlags::RST) {
            return self.handle_reset(now, seg);
        }
        // Fourth: SYN (RFC 5961 §4.2: challenge, whatever its number).
        if flags.contains(TcpFlags::SYN) {
            self.drop_segment(DropReason::UnexpectedSyn);
            // RFC 9293 §3.5 (MUST-11): `isn` marks a SYN-RECEIVED reached by a
            // passive OPEN, which goes back to LISTEN.
            if self.state == State::SynReceived && self.isn.is_some() {
                // RFC 9293 §3.10.7.4: a passive open returns to LISTEN.
                self.return_to_listen();
            } else {
                self.send_challenge_ack(now);
            }
            return;
        }
        // Fifth: ACK.
        if !flags.contains(TcpFlags::ACK) {
            return self.drop_segment(DropReason::InvalidForState);
        }
        if !self.process_ack(now, seg, ts_check) {
            return;
        }
        // Sixth: URG is ignored (RFC 6093 advises against urgent data).
        // Seventh and eighth: text and FIN.
        if control_only {
            // The window is zero: tell the sender so, keep nothing.
            if seg.segment_len() > 0 {
                self.drop_segment(DropReason::OutOfWindow);
                self.ack_now = true;
            }
            return;
        }
        // RFC 3168 §6.1.3: CWR ends our echo, a CE mark on data starts it;
        // an acceptable segment only, so a forged mark changes nothing.
        if self.ecn.on_arrival(ecn, flags, !seg.payload.is_empty()) {
            // The sender learns of the mark one ACK sooner.
            self.ack_now = true;
        }
        self.receive_text(now, seg);
    }

    /// RFC 7323 §5.3 (PAWS) and §3.2 (timestamps on every segment).
    /// Returns `None` when the segment was dropped. Changes nothing: what
    /// the segment's timestamp means for TS.Recent is decided only once the
    /// segment is known to be acceptable (`take_in_acceptable_segment`).
    fn check_timestamp(&mut self, now: Instant, seg: &TcpRepr<'_>) -> Option<TsCheck> {
        if !self.negotiated.timestamps || seg.flags.contains(TcpFlags::RST) {
            return Some(TsCheck::Passed);
        }
        let Some(ts) = seg.options.timestamps else {
            self.drop_segment(DropReason::MissingTimestamp);
            return None;
        };
        let older = (ts.value.wrapping_sub(self.ts.recent) as i32) < 0;
        if !older {
            return Some(TsCheck::Passed);
        }
        if now.saturating_duration_since(self.ts.recent_at) > PAWS_IDLE_LIMIT {
            // RFC 7323 §5.5: too long idle for TS.Recent to mean anything.
            return Some(TsCheck::RecentExpired);
        }
        self.drop_segment(DropReason::Paws);
        self.answer_unacceptable(now, seg);
        None
    }

    /// A segment passed every check up to and including its ACK: it is
    /// from the peer as far as TCP can tell. Only now may it refresh the
    /// connection's liveness and TS.Recent.
    fn take_in_acceptable_segment(&mut self, now: Instant, seg: &TcpRepr<'_>, ts_check: TsCheck) {
        self.last_received = now;
        self.probes = 0;
        self.update_ts_recent(now, seg, ts_check);
    }

    /// RFC 7323 §4.3: remember the TSval of an acceptable segment that
    /// covers Last.ACK.sent. Linux (`tcp_replace_ts_recent` after
    /// `tcp_ack`'s checks) does the same.
    fn update_ts_recent(&mut self, now: Instant, seg: &TcpRepr<'_>, ts_check: TsCheck) {
        let Some(ts) = seg
            .options
            .timestamps
            .filter(|_| self.negotiated.timestamps)
        else {
            return;
        };
        let newer = match ts_check {
            TsCheck::Passed => (ts.value.wrapping_sub(self.ts.recent) as i32) >= 0,
            TsCheck::RecentExpired => true,
        };
        if newer && seg.seq <= self.ts.last_ack_sent {
            self.ts.recent = ts.value;
            self.ts.recent_at = now;
        }
    }

    /// RFC 9293 §3.10.7.4 "first": the four cases of segment length and
    /// receive window.
    // RFC 9293 §3.4 (MUST-66): with a zero window only a zero-length segment
    // at RCV.NXT is acceptable here; `segment_in_synchronized` still
    // processes the ACK and RST of one with data (`control_only`). URG is
    // not processed at all.
    fn acceptable(&self, seg: &TcpRepr<'_>) -> bool {
        let wnd = self.window.advertised(self.rcv.nxt) as u32;
        let len = seg.segment_len() as u32;
        let nxt = self.rcv.nxt;
        match (len, wnd) {
            (0, 0) => seg.seq == nxt,
            // The right edge itself is accepted for a bare segment, as Linux
            // and BSD do (RFC 9293's test excludes it): a peer whose data
            // fills our window sends its ACKs exactly there, and refusing
            // them stalls both directions after losses.
            (0, _) => seg.seq.in_window(nxt, wnd) || seg.seq == nxt + wnd,
            // A bare FIN at RCV.NXT needs no buffer space: taken even into
            // a zero window, as Linux does, so a reader that has stopped
            // reading still learns the stream ended and the sender is not
            // left resending its FIN until it gives up.
            (_, 0) => {
                seg.seq == nxt
                    && seg.payload.is_empty()
                    && seg.flags.contains(TcpFlags::FIN)
                    && !seg.flags.contains(TcpFlags::SYN)
            }
            (_, _) => seg.seq.in_window(nxt, wnd) || (seg.seq + (len - 1)).in_window(nxt, wnd),
        }
    }

    /// RFC 5961 §3.2 and RFC 9293 §3.10.7.4 "second".
    fn handle_reset(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        if seg.seq != self.rcv.nxt {
            // In the window but not exact: maybe blind injection.
            self.drop_segment(DropReason::BadReset);
            return self.send_challenge_ack(now);
        }
        match self.state {
            // RFC 9293 §3.6 (MUST-12): Reset or Refused tells the application the
            // connection was aborted, not closed normally.
            State::SynReceived if self.isn.is_some() => self.return_to_listen(),
            State::SynReceived => self.enter_closed(CloseReason::Refused),
            // RFC 1337: ignore resets in TIME-WAIT (TIME-WAIT assassination).
            State::TimeWait => self.drop_segment(DropReason::BadReset),
            _ => self.enter_closed(CloseReason::Reset),
        }
    }

    /// Back to LISTEN after a passive open failed (RFC 9293 §3.10.7.4).
    fn return_to_listen(&mut self) {
        let local = self.tuple.local;
        let isn = self.isn.take();
        let stats = core::mem::take(&mut self.stats);
        let config = self.config.clone();
        *self = Connection::new(
            &config,
            FourTuple::new(local, core::net::SocketAddr::new(local.ip(), 0)),
            self.last_received,
        );
        self.isn = isn;
        self.stats = stats;
        self.state = State::Listen;
    }

    /// RFC 5961 §7: challenge ACKs (and ACKs for unacceptable segments) are
    /// limited per second, so they cannot be used to amplify or probe.
    /// Answers a segment that failed the window test or PAWS. An old
    /// duplicate of data already received gets an immediate ACK with a
    /// D-SACK block (RFC 2883 §4), so the sender can tell its resend was
    /// spurious; data segments are no ACK loop, so this is not rate
    /// limited (as Linux's tcp_send_dupack). Anything else gets a
    /// rate-limited challenge ACK (RFC 5961).
    fn answer_unacceptable(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        let start = seg.seq + u32::from(seg.flags.contains(TcpFlags::SYN));
        let nxt = self.rcv.nxt;
        if seg.payload.is_empty() || !self.state.is_synchronized() || start >= nxt {
            return self.send_challenge_ack(now);
        }
        let end = start + seg.payload.len();
        self.dsack = Some((start, end.min(nxt)));
        self.owe_immediate_ack();
    }

    pub(super) fn send_challenge_ack(&mut self, now: Instant) {
        if now.saturating_duration_since(self.challenge_window) >= Duration::from_secs(1) {
            self.challenge_window = now;
            self.challenges_in_window = 0;
        }
        if self.challenges_in_window < self.config.challenge_ack_limit {
            self.challenges_in_window += 1;
            self.stats.challenge_acks += 1;
            self.ack_now = true;
        }
    }

    /// RFC 9293 §3.10.7.4 "fifth", with RFC 5961 §5.2's acceptability.
    /// Returns false when the segment is done with.
    fn process_ack(&mut self, now: Instant, seg: &TcpRepr<'_>, ts_check: TsCheck) -> bool {
        let ack = seg.ack;
        if self.state == State::SynReceived {
            if !(ack > self.snd.una && ack <= self.snd.max) {
                self.drop_segment(DropReason::AckOfUnsent);
                self.rst = Some(self.reset(ack, None));
                return false;
            }
            self.update_send_window(
                usize::from(seg.window) << self.negotiated.snd_shift,
                seg.seq,
                ack,
            );
            self.establish();
        }
        if ack > self.snd.max {
            self.drop_segment(DropReason::AckOfUnsent);
            self.send_challenge_ack(now);
            return false;
        }
        // RFC 9293 §3.10.7.4 (MAY-12): RFC 5961 §5 data-injection check,
        // SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT (SND.MAX here).
        let oldest_allowed = self.snd.una - (self.snd.max_wnd.min(1 << 30) as u32);
        if ack < oldest_allowed {
            self.drop_segment(DropReason::AckTooOld);
            self.send_challenge_ack(now);
            return false;
        }
        self.take_in_acceptable_segment(now, seg, ts_check);
        let prior_una = self.snd.una;
        let window = usize::from(seg.window) << self.negotiated.snd_shift;
        // RFC 5681 §2: a duplicate ACK carries no data and no window
        // change, acknowledges nothing new, while data is outstanding.
        let duplicate = ack == self.snd.una
            && seg.payload.is_empty()
            && !seg.flags.intersects(TcpFlags::SYN | TcpFlags::FIN)
            && window == self.snd.wnd
            && self.snd.una != self.snd.max;
        if ack > self.snd.una {
            self.acknowledge(now, seg);
        }
        // Window update (RFC 9293 §3.10.7.4: SND.WL1/WL2 guard against old
        // segments reopening a window).
        if self.snd.wl1 < seg.seq || (self.snd.wl1 == seg.seq && self.snd.wl2 <= ack) {
            self.update_send_window(window, seg.seq, ack);
        }
        if self.state.is_synchronized() {
            self.feed_recovery(now, seg, prior_una, duplicate);
        }
        let fin_acked = self.snd.fin.is_some_and(|fin| self.snd.una == fin + 1u32);
        match self.state {
            State::FinWait1 if fin_acked => {
                self.state = State::FinWait2;
                if self.read_closed {
                    self.timers.fin_wait2 = Some(now + self.config.fin_wait2_timeout);
                }
            }
            State::Closing if fin_acked => self.enter_time_wait(now),
            State::LastAck if fin_acked => {
                self.enter_closed(CloseReason::Normal);
                return false;
            }
            _ => {}
        }
        true
    }

    /// Tells the recovery machine (and through it the congestion
    /// controller) what this ACK acknowledged and SACKed.
    fn feed_recovery(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        prior_una: SeqNumber,
        duplicate: bool,
    ) {
        let app_limited = self.app_limited_until.is_some_and(|until| seg.ack <= until);
        if !app_limited {
            self.app_limited_until = None;
        }
        let input = AckInput {
            now,
            ack: seg.ack,
            prior_una,
            snd_max: self.snd.max,
            sack: seg.options.sack.as_slice(),
            duplicate,
            // RFC 7323 §4.2: only an ACK of new data times its echo.
            ts_rtt: if seg.ack > prior_una {
                self.echo_rtt(now, seg)
            } else {
                None
            },
            app_limited,
            has_unsent: self.can_send_new_data(),
            mss: self.send_mss,
        };
        let prior_in_flight = self.recovery.in_flight(self.send_mss);
        let recoveries = self.recovery.stats().fast_recoveries;
        let outcome = self
            .recovery
            .on_ack(&input, &mut self.rtt, self.cc.as_mut());
        if self.recovery.stats().fast_recoveries != recoveries {
            self.ecn.on_window_reduced(self.snd.max, false);
        }
        // RFC 3168 §6.1.2: the peer echoes a mark; one reduction per window.
        if seg.flags.contains(TcpFlags::ECE)
            && self.ecn.on_echo(seg.ack)
            && self.recovery.on_ecn_echo(
                now,
                self.snd.max,
                prior_in_flight,
                self.send_mss,
                self.cc.as_mut(),
            )
        {
            self.ecn.on_window_reduced(self.snd.max, true);
        }
        // RFC 6298 §5.3: the timer `acknowledge` restarted runs for the RTO
        // this ACK's sample gave.
        if outcome.rtt.is_some() && seg.ack > prior_una && self.timers.retransmit.is_some() {
            self.timers.retransmit = Some(now + self.rtt.rto());
        }
        if outcome.delivered > 0 || seg.ack > prior_una {
            self.probe_base = now;
        }
        self.timers.reorder = outcome.reorder_deadline;
        if outcome.spurious_timeout {
            self.rtt.reset_backoff();
        }
    }

    /// New data acknowledged: SND.UNA moves, the buffer frees, the RTT of
    /// an acknowledged SYN is sampled (data segments are sampled by the
    /// recovery machine, which knows their send times) and the timers
    /// restart (RFC 6298 §5.2–5.3).
    fn acknowledge(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        let ack = seg.ack;
        let mut data_acked = ack.distance_from(self.snd.una) as usize;
        let syn_acked = self.snd.una == self.snd.iss;
        if syn_acked {
            data_acked -= 1; // the SYN
        }
        if let Some(fin) = self.snd.fin
            && fin.in_range(self.snd.una, ack)
        {
            data_acked -= 1;
        }
        let freed = self.send_buf.acknowledge(data_acked);
        self.snd.una = ack;
        if self.snd.nxt < ack {
            // After a timeout moved SND.NXT back, the peer may acknowledge
            // more than we resent.
            self.snd.nxt = ack;
        }
        // RFC 6298 §5: a backed-off RTO stays until a new RTT sample
        // recomputes it (`on_sample` clears the backoff).
        if syn_acked {
            self.take_syn_rtt_sample(now, seg);
        }
        self.retries = 0;
        // RFC 6298 §5.2–5.3: stop the timer when everything is
        // acknowledged, otherwise restart it.
        let outstanding = self.snd.una != self.snd.max;
        self.unacked_since = outstanding.then_some(now);
        self.timers.retransmit = outstanding.then(|| now + self.rtt.rto());
        if freed > 0 && self.write_blocked {
            self.write_blocked = false;
            self.events |= event_bits::WRITABLE;
        }
    }

    /// The RTT sample of the ACK of our SYN (or SYN-ACK), which is not on
    /// the recovery scoreboard: from its send time if it was sent once
    /// (Karn, RFC 6298 §3), else from the timestamp echo (RFC 7323 §4).
    // RFC 9293 §3.8.1 (MUST-18): RTT samples for the RFC 6298 RTO, never from
    // a retransmitted segment unless timestamps tell them apart (Karn).
    fn take_syn_rtt_sample(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        match self.rtt_timed.take() {
            Some((seq, sent)) if seg.ack >= seq => {
                self.rtt.on_sample(now, now.saturating_duration_since(sent));
            }
            _ => {
                if let Some(rtt) = self.echo_rtt(now, seg) {
                    self.rtt.on_coarse_sample(now, rtt);
                }
            }
        }
    }

    /// The RTT the segment's timestamp echo gives (RFC 7323 §4.1), at the
    /// timestamp clock's millisecond resolution. `None` without timestamps,
    /// for an echo of zero (what a SYN carries before anything is echoed),
    /// for an echo from the future or more than an hour old (garbage), and
    /// for an echo of the current tick: the RTT is then anywhere below one
    /// tick, which says too little to be a sample.
    fn echo_rtt(&self, now: Instant, seg: &TcpRepr<'_>) -> Option<Duration> {
        if !self.negotiated.timestamps {
            return None;
        }
        let ts = seg.options.timestamps.filter(|ts| ts.echo_reply != 0)?;
        let elapsed_ms = self.ts_now(now).wrapping_sub(ts.echo_reply);
        if elapsed_ms == 0 || elapsed_ms >= 3_600_000 {
            return None;
        }
        Some(Duration::from_millis(u64::from(elapsed_ms)))
    }

    pub(super) fn update_send_window(&mut self, window: usize, seq: SeqNumber, ack: SeqNumber) {
        let was_closed = self.snd.wnd == 0;
        self.snd.wnd = window;
        self.snd.wl1 = seq;
        self.snd.wl2 = ack;
        self.snd.max_wnd = self.snd.max_wnd.max(window);
        if was_closed && window > 0 {
            self.timers.persist = None;
            self.persist_backoff = 0;
        }
    }

    /// Steps seven and eight: segment text and FIN.
    fn receive_text(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        // Data starts after the SYN, if the segment carries one.
        let start = seg.seq + u32::from(seg.flags.contains(TcpFlags::SYN));
        let fin_seq = start + seg.payload.len();
        if !seg.payload.is_empty() {
            if self.state.can_receive_data() && !self.read_closed {
                self.receive_data(now, start, seg.payload);
            } else if self.state.can_receive_data() {
                // RFC 9293 §3.6.1 (MAY-1, SHLD-3): half-duplex close; data the
                // application will never read is answered by RST.
                // Data for an application that closed: reset, as Linux does
                // (RFC 2525 §2.17).
                self.rst = Some(self.reset(self.snd.nxt, Some(fin_seq)));
                self.enter_closed(CloseReason::Aborted);
                return;
            } else {
                // After the peer's FIN no text may come; ignore it.
                self.drop_segment(DropReason::InvalidForState);
            }
        }
        if seg.flags.contains(TcpFlags::FIN) && self.state != State::Closed {
            let edge = self.window.edge();
            if fin_seq.in_range_inclusive(self.rcv.nxt, edge) || self.rcv.fin == Some(fin_seq) {
                self.rcv.fin = Some(fin_seq);
            }
            // A FIN is acknowledged at once, also when repeated.
            self.ack_now = true;
        }
        self.take_fin_if_reached(now);
    }

    /// Puts in-window data into the reassembly buffer and decides how soon
    /// to acknowledge it (RFC 9293 §3.8.6.3, RFC 5681 §4.2).
    fn receive_data(&mut self, now: Instant, start: SeqNumber, payload: &[u8]) {
        self.note_data_arrival(now);
        let nxt = self.rcv.nxt;
        let (offset, data) = if start < nxt {
            let skip = nxt.distance_from(start) as usize;
            if skip >= payload.len() {
                // Entirely old: a duplicate. Report it with D-SACK
                // (RFC 2883) and acknowledge at once.
                self.dsack = Some((start, start + payload.len()));
                self.owe_immediate_ack();
                return;
            }
            self.dsack = Some((start, nxt));
            (0, &payload[skip..])
        } else {
            (start.distance_from(nxt) as usize, payload)
        };
        let had_holes = self.recv_buf.out_of_order_bytes() > 0;
        match self.recv_buf.insert(offset, data) {
            Ok(inserted) => {
                if inserted.advanced > 0 {
                    self.rcv.nxt += inserted.advanced;
                    self.rcv_rtt.on_data(now, self.rcv.nxt, self.window.edge());
                    self.stats.bytes_received += inserted.advanced as u64;
                    self.events |= event_bits::READABLE;
                }
                self.rcv.unacked_bytes += data.len();
                // RFC 9293 §3.10.7.4 (MAY-13): out-of-order data is ACKed at once;
                // §3.8.6.3 (SHLD-18, SHLD-19, MUST-40): otherwise every second
                // full-sized segment, or when the delayed-ACK timer (< 0.5 s) fires.
                if offset > 0 || had_holes {
                    // Out of order, or filling a hole: one immediate ACK
                    // per such segment, however many the host hands in
                    // before it transmits (RFC 5681 §4.2), so a sender
                    // counting duplicate ACKs reaches its threshold.
                    self.owe_immediate_ack();
                    return;
                }
                // Every second full-sized segment is acknowledged
                // (RFC 5681 §4.2). The first pair since the last ACK gets
                // an ACK of its own, as it stood then; the pairs after it
                // that the host hands in before it transmits share the
                // ACK of the current state (RFC 9293 MUST-58). So a whole
                // receive batch is answered by two ACKs, not one: a single
                // lost ACK does not stop the sender's ACK clock (the first
                // still opens its window for more), and a bulk transfer is
                // not answered segment pair by segment pair.
                let window_left = self.window.advertised(self.rcv.nxt);
                if self.rcv.unacked_bytes >= 2 * self.recv_mss() {
                    if self.rcv.pair_acked {
                        self.ack_now = true;
                    } else {
                        self.rcv.pair_acked = true;
                        self.rcv.unacked_bytes = 0;
                        self.owe_immediate_ack();
                    }
                } else if window_left < self.recv_mss() {
                    // At once when the data leaves less than a full
                    // segment of the advertised window: the sender is
                    // blocked until it hears from us, so a delayed ACK
                    // would only stall it (with a window under two
                    // segments it could never send the second full-sized
                    // one). Linux ACKs such data at once too.
                    self.ack_now = true;
                } else if self.take_quick_ack() {
                    self.rcv.unacked_bytes = 0;
                    self.owe_immediate_ack();
                } else if self.timers.delayed_ack.is_none() {
                    self.timers.delayed_ack = Some(now + self.config.delayed_ack);
                }
            }
            Err(_) => {
                self.drop_segment(DropReason::ReassemblyFull);
                // Refused, but out of order all the same: the sender
                // learns where we are (a duplicate ACK).
                self.owe_immediate_ack();
            }
        }
    }

    /// Once every byte before the peer's FIN has arrived, the FIN takes
    /// effect (RFC 9293 §3.10.7.4 "eighth").
    fn take_fin_if_reached(&mut self, now: Instant) {
        let Some(fin) = self.rcv.fin else { return };
        if self.rcv.nxt != fin {
            return;
        }
        self.rcv.nxt = fin + 1u32;
        self.ack_now = true;
        self.events |= event_bits::PEER_CLOSED | event_bits::READABLE;
        let fin_acked = self.snd.fin.is_some_and(|f| self.snd.una == f + 1u32);
        match self.state {
            State::SynReceived | State::Established => self.state = State::CloseWait,
            State::FinWait1 if fin_acked => self.enter_time_wait(now),
            State::FinWait1 => self.state = State::Closing,
            State::FinWait2 => self.enter_time_wait(now),
            _ => {}
        }
    }

    // RFC 9293 §3.6.1 (MUST-13): an active close lingers 2·MSL in TIME-WAIT.
    pub(super) fn enter_time_wait(&mut self, now: Instant) {
        self.state = State::TimeWait;
        let keep_delayed_ack = self.timers.delayed_ack;
        self.timers.clear();
        self.timers.delayed_ack = keep_delayed_ack;
        self.timers.time_wait = Some(now + self.config.msl.saturating_mul(2));
    }
}

/// The reset that answers a segment for no connection (RFC 9293
/// §3.10.7.1): `(sequence number, acknowledgment number if ACK is set)`.
pub(crate) fn reset_reply(seg: &TcpRepr<'_>) -> (SeqNumber, Option<SeqNumber>) {
    if seg.flags.contains(TcpFlags::ACK) {
        (seg.ack, None)
    } else {
        (SeqNumber(0), Some(seg.seq + seg.segment_len()))
    }
}
