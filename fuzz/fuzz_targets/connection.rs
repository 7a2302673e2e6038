//! One `Connection` (the "CUT") brought into a chosen state by a real
//! handshake against a second, in-memory `Connection`, then driven by an
//! arbitrary sequence of actions: crafted segments from the peer's side
//! (flags, sequence and acknowledgment numbers near the window edges or
//! anywhere, timestamps, SACK blocks, SYN options, payload), stray segments
//! from another port, the passing of time and timer expiry, the
//! application calls, and draining what the connection sends.
//!
//! Asserted after every step (public API plus `debug_invariants`):
//! - internal invariants: SND.UNA ≤ SND.NXT ≤ SND.MAX, no more sequence
//!   space in flight than buffered, the recovery scoreboard consistent,
//!   out-of-order data within the receive buffer, an advertised window no
//!   larger than the free buffer;
//! - memory bounded by the configuration (receive and send queues);
//! - the RTO within its bounds, the statistics consistent with the state;
//! - the received byte stream: the peer's payload at sequence number `s` is
//!   always `stream_byte(s)`, so whatever the application reads must be
//!   that stream from the peer's ISN + 1 on, never duplicated, reordered
//!   or corrupted; and bytes accepted = bytes read + bytes queued;
//! - the sent byte stream: every payload the CUT emits is exactly what the
//!   application wrote at that offset, and a FIN sits right after the last
//!   byte written before the shutdown;
//! - emitted segments carry valid checksums and the CUT's 4-tuple;
//! - after a timer expiry is handled and the output drained, the next
//!   deadline lies in the future (no busy loop);
//! - no refused segment changes TS.Recent (RFC 7323 §4.3): once the CUT
//!   is synchronizing, TS.Recent moves only for an ACK that was accepted
//!   and covers Last.ACK.sent.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use synack_core::conn::{CloseReason, Config, Connection, Keepalive, State};
use synack_core::internals::SequenceVars;
use synack_core::wire::{
    ChecksumMode, IpAddrPair, SackBlock, SackBlocks, TcpFlags, TcpOptions, TcpRepr, Timestamps,
};
use synack_core::{DropReason, Drops};
use synack_core::{Duration, FourTuple, Instant, IsnGenerator, SeqNumber};
use synack_fuzz::{
    Flags, Knobs, SynOptions, Ts, check_app_bytes, check_connection, crafted_options, endpoints,
    fill_stream, seq_offset, stream_byte, write_app,
};

/// Tag of the CUT's application stream.
const CUT_TAG: u8 = 0xc0;
const MAX_ACTIONS: usize = 300;

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    SynSent,
    SynReceived,
    Listen,
}

/// (send buffer, receive buffer, receive buffer maximum) by `Knobs::buffers`.
const BUFFERS: [(usize, usize, usize); 4] = [
    (256 * 1024, 128 * 1024, 6 * 1024 * 1024),
    (4096, 2048, 8192),
    (1000, 500, 500),
    (65536, 16384, 1 << 20),
];
const MTUS: [usize; 4] = [1500, 576, 200, 9000];

/// A side's settings: the shared knobs and the timers.
#[derive(Arbitrary, Debug)]
struct SideKnobs {
    knobs: Knobs,
    /// Keepalive (bit 0), a user timeout (bit 1), few retries (bit 2).
    timers: u8,
}

impl SideKnobs {
    fn config(&self) -> Config {
        let mut c = self.knobs.config(&BUFFERS, &MTUS);
        if self.timers & 1 != 0 {
            c.keepalive = Some(Keepalive::new(
                Duration::from_secs(10),
                Duration::from_secs(1),
                3,
            ));
        }
        if self.timers & 2 != 0 {
            c.user_timeout = Some(Duration::from_secs(30));
        }
        if self.timers & 4 != 0 {
            c.max_retries = 3;
            c.max_syn_retries = 2;
        }
        c.validate().expect("fuzz configurations are valid");
        c
    }
}

#[derive(Arbitrary, Debug)]
struct Setup {
    start: Start,
    cut_is_client: bool,
    ipv6: bool,
    cut: SideKnobs,
    peer: SideKnobs,
    /// Bytes the peer sends the CUT during setup (delivered).
    peer_writes: u16,
    /// Bytes the CUT writes during setup (sent, not delivered).
    cut_writes: u16,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum SeqAt {
    /// The CUT's RCV.NXT as its last ACK showed it, plus an offset.
    RcvNxt(i16),
    /// The peer's next sequence number, plus an offset.
    PeerNext(i16),
    /// An offset into the peer's stream.
    Stream(u16),
    Raw(u32),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum AckAt {
    /// The CUT's highest sequence number sent (SND.MAX), plus an offset.
    SndMax(i16),
    /// The CUT's last segment's sequence number (about SND.NXT).
    SndLast(i16),
    /// An offset into the CUT's stream, from its ISN.
    Iss(i16),
    Raw(u32),
}

#[derive(Arbitrary, Debug)]
struct Seg {
    flags: Flags,
    seq: SeqAt,
    ack: AckAt,
    window: u16,
    len: u16,
    ts: Ts,
    sack: Vec<(AckAt, u16)>,
    syn_options: SynOptions,
}

#[derive(Arbitrary, Debug)]
enum Action {
    Segment(Seg),
    Stray(Seg),
    AdvanceMicros(u32),
    AdvanceMillis(u16),
    ToDeadline,
    Write(u16),
    Read(u16),
    Shutdown,
    Close,
    Abort,
    Nodelay(bool),
    Drain,
    /// In-order data (and maybe a FIN) from a well-behaved peer, at the
    /// CUT's RCV.NXT (or the peer's next sequence number), acknowledging
    /// all the CUT sent.
    Data {
        len: u16,
        fin: bool,
        at_peer_next: bool,
        window: u16,
    },
    /// A well-formed ACK for part of what the CUT sent (a fraction of the
    /// unacknowledged range), with SACK blocks (fractions of it too):
    /// duplicate and partial ACKs, holes, D-SACKs.
    Ack {
        upto: u16,
        sack: Vec<(u16, u16)>,
        window: u16,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    setup: Setup,
    actions: Vec<Action>,
}

/// What the harness knows, all learnt from segments on the wire and the
/// public API.
struct Harness {
    now: Instant,
    config: Config,
    cut: Connection,
    /// The CUT's tuple, as it will be once bound to the peer.
    tuple: FourTuple,
    // The CUT's side, from its segments.
    cut_iss: Option<SeqNumber>,
    cut_seq_max: Option<SeqNumber>,
    cut_seq_last: SeqNumber,
    cut_ack: SeqNumber,
    cut_tsval: u32,
    /// Bytes the CUT's application wrote in this incarnation.
    written: u64,
    /// `written` when the application shut down.
    fin_at: Option<u64>,
    // The peer's side.
    irs: Option<SeqNumber>,
    peer_next: SeqNumber,
    peer_tsval: u32,
    /// The highest acknowledgment the peer sent for the CUT's data.
    peer_acked: Option<SeqNumber>,
    /// Bytes the application read in this incarnation.
    read: u64,
    buf: Vec<u8>,
}

impl Harness {
    fn peer_addrs(&self) -> IpAddrPair {
        IpAddrPair::new(self.tuple.remote.ip(), self.tuple.local.ip()).unwrap()
    }

    /// Hands a segment to the CUT and follows what it does to the state.
    fn deliver(&mut self, addrs: &IpAddrPair, seg: &TcpRepr<'_>) {
        let before = self.cut.state();
        let vars_before = self.cut.debug_sequence();
        let drops_before = self.cut.stats().drops;
        self.cut.handle_segment(self.now, addrs, seg);
        let after = self.cut.state();
        self.check_ts_recent(before, vars_before, drops_before, seg);
        let seg_end = seg.seq + seg.segment_len();
        if seg_end > self.peer_next {
            self.peer_next = seg_end;
        }
        if let Some(ts) = seg.options.timestamps
            && ts.value.wrapping_sub(self.peer_tsval) as i32 > 0
        {
            self.peer_tsval = ts.value;
        }
        if seg.flags.contains(TcpFlags::ACK)
            && self.cut_seq_max.is_some_and(|max| seg.ack <= max)
            && self.peer_acked.is_none_or(|acked| seg.ack > acked)
        {
            self.peer_acked = Some(seg.ack);
        }
        if matches!(before, State::Listen | State::SynSent)
            && !matches!(after, State::Listen | State::SynSent | State::Closed)
        {
            // The CUT took this SYN: the peer's stream starts after it.
            assert!(
                seg.flags.contains(TcpFlags::SYN),
                "left {before} without a SYN"
            );
            self.irs = Some(seg.seq);
            self.read = 0;
        }
        if before == State::SynReceived && after == State::Listen {
            // A passive open failed: a new incarnation will follow.
            self.irs = None;
            self.read = 0;
            self.written = 0;
            self.fin_at = None;
            self.cut_iss = None;
        }
        self.check();
    }

    /// RFC 7323 §4.3: once synchronizing, only a segment that was
    /// accepted (its ACK acceptable, no SYN, no reset) and that covers
    /// Last.ACK.sent may change TS.Recent. (`InvalidForState` is not in
    /// the list: text after the peer's FIN is counted so after the ACK it
    /// rode on was rightly taken; a segment without ACK is caught by the
    /// flag check.) A refused segment that moved it
    /// would let one spoofed packet fail every later one on PAWS.
    fn check_ts_recent(
        &self,
        before: State,
        vars: SequenceVars,
        drops_before: Drops,
        seg: &TcpRepr<'_>,
    ) {
        // A passive open that failed goes back to LISTEN as a new, empty
        // incarnation (RFC 9293 §3.10.7.4): its TS.Recent starts over.
        let after = self.cut.state();
        if matches!(before, State::Closed | State::Listen | State::SynSent)
            || matches!(after, State::Listen | State::Closed)
            || self.cut.debug_sequence().ts_recent == vars.ts_recent
        {
            return;
        }
        let drops = self.cut.stats().drops;
        let refused = [
            DropReason::WrongPeer,
            DropReason::Paws,
            DropReason::MissingTimestamp,
            DropReason::AckOfUnsent,
            DropReason::AckTooOld,
            DropReason::BadReset,
            DropReason::UnexpectedSyn,
        ];
        for reason in refused {
            assert_eq!(
                drops.get(reason),
                drops_before.get(reason),
                "TS.Recent moved by a segment dropped as {reason:?}: {seg:?}"
            );
        }
        assert!(
            seg.flags.contains(TcpFlags::ACK)
                && !seg.flags.intersects(TcpFlags::SYN | TcpFlags::RST),
            "TS.Recent moved by a segment that cannot be accepted: {seg:?}"
        );
        assert!(
            seg.seq <= vars.last_ack_sent && seg.ack <= vars.snd_max,
            "TS.Recent moved by a segment past Last.ACK.sent or acking unsent data: {seg:?} {vars:?}"
        );
    }

    /// Takes every segment the CUT wants to send and checks each.
    /// Returns them, parsed into owned form.
    fn drain(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 10_000];
        for _ in 0..100_000 {
            let Some(t) = self.cut.poll_transmit(self.now, &mut buf) else {
                self.poll_events();
                self.check();
                return out;
            };
            let addrs = t.tuple.outgoing_addrs().expect("one family");
            let bytes = buf[..t.len].to_vec();
            let seg = TcpRepr::parse_bytes(&bytes, &addrs, ChecksumMode::Full)
                .expect("an emitted segment parses with its checksum");
            // Only a reset from CLOSED or LISTEN answers another tuple: the
            // segment's source (RFC 9293 §3.10.7.1–2), from our address.
            if t.tuple != self.cut.tuple() {
                assert!(
                    seg.flags.contains(TcpFlags::RST),
                    "transmit names another tuple"
                );
                assert_eq!(
                    t.tuple.local,
                    self.cut.tuple().local,
                    "a reset from another address"
                );
            }
            assert_eq!(seg.src_port, t.tuple.local.port());
            assert_eq!(seg.dst_port, t.tuple.remote.port());
            self.observe(&seg);
            out.push(bytes);
        }
        panic!("poll_transmit never stops sending");
    }

    /// Learns from, and checks, a segment the CUT sent.
    fn observe(&mut self, seg: &TcpRepr<'_>) {
        let flags = seg.flags;
        if flags.contains(TcpFlags::RST) {
            assert!(seg.payload.is_empty(), "a reset with data");
            return;
        }
        if flags.contains(TcpFlags::SYN) {
            assert!(seg.payload.is_empty(), "the CUT put data on its SYN");
            if let Some(iss) = self.cut_iss {
                assert_eq!(seg.seq, iss, "the SYN moved within one incarnation");
            }
            self.cut_iss = Some(seg.seq);
        }
        if let Some(ts) = seg.options.timestamps {
            self.cut_tsval = ts.value;
        }
        if flags.contains(TcpFlags::ACK) {
            self.cut_ack = seg.ack;
        }
        self.cut_seq_last = seg.seq;
        let end = seg.seq + seg.segment_len();
        if self.cut_seq_max.is_none_or(|max| end > max) {
            self.cut_seq_max = Some(end);
        }
        if seg.payload.is_empty() && !flags.contains(TcpFlags::FIN) {
            return;
        }
        let iss = self.cut_iss.expect("data or FIN before the CUT's SYN");
        let offset = u64::from(seg.seq.distance_from(iss + 1u32));
        let len = seg.payload.len() as u64;
        assert!(
            offset + len <= self.written,
            "the CUT sent bytes {offset}..{} but its application wrote {}",
            offset + len,
            self.written
        );
        check_app_bytes(CUT_TAG, offset, seg.payload, "the CUT's segment");
        if flags.contains(TcpFlags::FIN) {
            assert_eq!(
                Some(offset + len),
                self.fin_at,
                "the FIN is not right after the last byte written"
            );
        }
    }

    fn poll_events(&mut self) {
        while self.cut.poll_event().is_some() {}
    }

    fn check(&self) {
        check_connection(&self.cut, &self.config, "CUT");
        let s = self.cut.stats();
        if matches!(self.cut.close_reason(), None | Some(CloseReason::Normal)) {
            assert_eq!(
                s.bytes_received,
                self.read + self.cut.recv_queue_len() as u64,
                "bytes accepted != bytes read + bytes queued"
            );
        }
    }

    fn write(&mut self, len: usize) {
        let _ = write_app(&mut self.cut, CUT_TAG, &mut self.written, len);
        self.check();
    }

    fn read(&mut self, len: usize) {
        self.buf.resize(len, 0);
        let Ok(n) = self.cut.read(self.now, &mut self.buf) else {
            return self.check();
        };
        if n > 0 {
            let irs = self.irs.expect("data read before the peer's SYN was taken");
            let base = irs + 1u32 + (self.read as u32);
            for (i, &b) in self.buf[..n].iter().enumerate() {
                assert_eq!(
                    b,
                    stream_byte((base + i).0),
                    "the application read a wrong byte at stream offset {}",
                    self.read + i as u64
                );
            }
            self.read += n as u64;
        }
        self.check();
    }

    fn shutdown(&mut self, close: bool) {
        let result = if close {
            self.cut.close(self.now)
        } else {
            self.cut.shutdown()
        };
        if result.is_ok() && self.fin_at.is_none() {
            self.fin_at = Some(self.written);
        }
        self.check();
    }

    fn handle_timeout(&mut self) {
        self.cut.handle_timeout(self.now);
        self.check();
    }

    /// A timer expiry as a host handles it: fire, drain, and the next
    /// deadline must be in the future.
    fn run_to_deadline(&mut self) {
        let Some(t) = self.cut.poll_timeout() else {
            return;
        };
        self.now = self.now.max(t);
        for _ in 0..16 {
            self.handle_timeout();
            self.drain();
            match self.cut.poll_timeout() {
                Some(t) if t <= self.now => continue,
                _ => return,
            }
        }
        panic!(
            "busy loop: the deadline stays at or before now after handling it ({})",
            self.now
        );
    }

    fn seq_at(&self, at: SeqAt) -> SeqNumber {
        match at {
            SeqAt::RcvNxt(d) => seq_offset(self.cut_ack, d),
            SeqAt::PeerNext(d) => seq_offset(self.peer_next, d),
            SeqAt::Stream(off) => self.irs.unwrap_or(self.peer_next) + 1u32 + u32::from(off),
            SeqAt::Raw(v) => SeqNumber(v),
        }
    }

    fn ack_at(&self, at: AckAt) -> SeqNumber {
        match at {
            AckAt::SndMax(d) => seq_offset(self.cut_seq_max.unwrap_or_default(), d),
            AckAt::SndLast(d) => seq_offset(self.cut_seq_last, d),
            AckAt::Iss(d) => seq_offset(self.cut_iss.or(self.cut_seq_max).unwrap_or_default(), d),
            AckAt::Raw(v) => SeqNumber(v),
        }
    }

    /// Builds the crafted segment, puts it on the wire and back (so it is
    /// only what a real packet can carry), and delivers it.
    fn segment(&mut self, spec: &Seg, stray: bool) {
        let flags = spec.flags.bits();
        let seq = self.seq_at(spec.seq);
        let ack = self.ack_at(spec.ack);
        let timestamps = spec.ts.timestamps(self.peer_tsval, self.cut_tsval);
        let sack = spec.sack.iter().map(|&(at, len)| (self.ack_at(at), len));
        let options = crafted_options(timestamps, sack, spec.syn_options);
        let len = usize::from(spec.len % 4096);
        self.craft(flags, seq, ack, spec.window, options, len, stray);
    }

    /// A timestamp option as a well-behaved peer sends it.
    fn good_timestamps(&self) -> Option<Timestamps> {
        Ts::Fresh(1).timestamps(self.peer_tsval, self.cut_tsval)
    }

    /// In-order data from a well-behaved peer.
    fn data(&mut self, len: u16, fin: bool, at_peer_next: bool, window: u16) {
        let seq = if at_peer_next && self.irs.is_some() {
            self.peer_next
        } else {
            self.cut_ack
        };
        let mut flags = TcpFlags::ACK | TcpFlags::PSH;
        if fin {
            flags |= TcpFlags::FIN;
        }
        let ack = self.cut_seq_max.unwrap_or_default();
        let options = TcpOptions {
            timestamps: self.good_timestamps(),
            ..TcpOptions::default()
        };
        self.craft(
            flags,
            seq,
            ack,
            window,
            options,
            usize::from(len % 4096),
            false,
        );
    }

    /// A well-formed ACK for part of the CUT's data, with SACK blocks.
    fn ack(&mut self, upto: u16, blocks: &[(u16, u16)], window: u16) {
        let top = self.cut_seq_max.unwrap_or_default();
        let base = self
            .peer_acked
            .or(self.cut_iss.map(|iss| iss + 1u32))
            .unwrap_or(top);
        let span = u64::from(if top > base {
            top.distance_from(base)
        } else {
            0
        });
        let at = |fraction: u16| base + ((span * u64::from(fraction)) >> 16) as u32;
        let ack = if upto == u16::MAX { top } else { at(upto) };
        let mut sack = SackBlocks::new();
        for &(l, r) in blocks.iter().take(3) {
            let _ = sack.push(SackBlock {
                left: at(l),
                right: at(r),
            });
        }
        let options = TcpOptions {
            timestamps: self.good_timestamps(),
            sack,
            ..TcpOptions::default()
        };
        self.craft(TcpFlags::ACK, self.cut_ack, ack, window, options, 0, false);
    }

    /// Builds a segment with a payload from the peer's stream, puts it on
    /// the wire and back (so it is only what a real packet can carry), and
    /// delivers it.
    #[allow(clippy::too_many_arguments)]
    fn craft(
        &mut self,
        flags: TcpFlags,
        seq: SeqNumber,
        ack: SeqNumber,
        window: u16,
        options: TcpOptions<'_>,
        len: usize,
        stray: bool,
    ) {
        let data_start = seq + u32::from(flags.contains(TcpFlags::SYN));
        let mut payload = vec![0u8; len];
        fill_stream(data_start.0, &mut payload);
        let (src_port, dst_port) = if stray {
            (
                self.tuple.remote.port().wrapping_add(1),
                self.tuple.local.port(),
            )
        } else {
            (self.tuple.remote.port(), self.tuple.local.port())
        };
        let repr = TcpRepr {
            src_port,
            dst_port,
            seq,
            ack,
            flags,
            window,
            urgent: 0,
            options,
            payload: &payload,
        };
        let addrs = self.peer_addrs();
        let mut wire = vec![0u8; repr.buffer_len()];
        let Ok(n) = repr.emit(&mut wire, &addrs, ChecksumMode::Full) else {
            return; // Too many options for one header.
        };
        let seg = TcpRepr::parse_bytes(&wire[..n], &addrs, ChecksumMode::Full).unwrap();
        let before = self.cut.state();
        let bound = !matches!(before, State::Listen | State::Closed);
        self.deliver(&addrs, &seg);
        if stray && bound {
            // Another connection's segment: the CUT must not care.
            assert_eq!(
                self.cut.state(),
                before,
                "a stray segment changed the state"
            );
        }
        if before == State::Listen && self.cut.state() != State::Listen {
            // In LISTEN any peer may open the connection, strays too.
            self.tuple = self.cut.tuple();
        }
    }
}

/// Exchanges segments between the CUT and the peer until both are quiet,
/// with every segment delivered at once (`to_peer = false` keeps the
/// CUT's segments on our side of the wire).
fn exchange(h: &mut Harness, peer: &mut Connection, to_peer: bool) {
    let mut buf = vec![0u8; 10_000];
    for _ in 0..1000 {
        // A little time per round trip, so RTT samples are not all zero.
        h.now += Duration::from_millis(5);
        let mut quiet = true;
        for bytes in h.drain() {
            quiet = false;
            if to_peer {
                let addrs = h.cut.tuple().outgoing_addrs().unwrap();
                let seg = TcpRepr::parse_bytes(&bytes, &addrs, ChecksumMode::Full).unwrap();
                peer.handle_segment(h.now, &addrs, &seg);
            }
        }
        while let Some(t) = peer.poll_transmit(h.now, &mut buf) {
            quiet = false;
            let addrs = t.tuple.outgoing_addrs().unwrap();
            let bytes = buf[..t.len].to_vec();
            let seg = TcpRepr::parse_bytes(&bytes, &addrs, ChecksumMode::Full).unwrap();
            h.deliver(&addrs, &seg);
        }
        while peer.poll_event().is_some() {}
        if quiet {
            return;
        }
    }
    panic!("setup exchange does not settle");
}

fn peer_write(h: &mut Harness, peer: &mut Connection, len: u16) {
    let Some(irs) = h.irs else { return };
    let mut data = vec![0u8; usize::from(len)];
    // The peer's payload at sequence number s is stream_byte(s).
    let mut sent = 0usize;
    fill_stream((irs + 1u32).0, &mut data);
    while sent < data.len() {
        match peer.write(&data[sent..]) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
        exchange(h, peer, true);
    }
}

fn setup(s: &Setup) -> Option<Harness> {
    let (client, server) = endpoints(s.ipv6);
    let now = Instant::from_secs(1);
    let cut_config = s.cut.config();
    let peer_config = s.peer.config();
    let isn = |k: u8| IsnGenerator::new([k; 16]);
    let passive = matches!(s.start, Start::SynReceived | Start::Listen)
        || (!s.cut_is_client && !matches!(s.start, Start::SynSent));
    let (cut, mut peer, tuple) = if passive {
        let cut =
            Connection::listen(&cut_config, server, isn(1), now).expect("a valid configuration");
        let peer = Connection::connect(
            &peer_config,
            FourTuple::new(client, server),
            SeqNumber(0x8000_0000 ^ u32::from(s.peer_writes)),
            now,
        )
        .unwrap();
        (cut, peer, FourTuple::new(server, client))
    } else {
        let tuple = FourTuple::new(client, server);
        let cut = Connection::connect(
            &cut_config,
            tuple,
            SeqNumber(u32::from(s.cut_writes) << 16),
            now,
        )
        .unwrap();
        let peer =
            Connection::listen(&peer_config, server, isn(2), now).expect("a valid configuration");
        (cut, peer, tuple)
    };
    let mut h = Harness {
        now,
        config: cut_config,
        cut,
        tuple,
        cut_iss: None,
        cut_seq_max: None,
        cut_seq_last: SeqNumber(0),
        cut_ack: SeqNumber(0),
        cut_tsval: 0,
        written: 0,
        fin_at: None,
        irs: None,
        peer_next: SeqNumber(0x4000_0000),
        peer_tsval: 0,
        peer_acked: None,
        read: 0,
        buf: Vec::new(),
    };
    match s.start {
        Start::Listen => return Some(h),
        Start::SynSent => {
            h.drain();
            return Some(h);
        }
        Start::SynReceived => {
            // Only the peer's SYN reaches the CUT.
            let mut buf = vec![0u8; 10_000];
            let t = peer.poll_transmit(now, &mut buf)?;
            let addrs = t.tuple.outgoing_addrs().unwrap();
            let bytes = buf[..t.len].to_vec();
            let seg = TcpRepr::parse_bytes(&bytes, &addrs, ChecksumMode::Full).unwrap();
            h.deliver(&addrs, &seg);
            h.drain();
            return Some(h);
        }
        _ => {}
    }
    exchange(&mut h, &mut peer, true);
    if h.cut.state() != State::Established || peer.state() != State::Established {
        return None;
    }
    peer_write(&mut h, &mut peer, s.peer_writes);
    match s.start {
        Start::FinWait2 => {
            h.shutdown(false);
            exchange(&mut h, &mut peer, true);
        }
        Start::CloseWait => {
            peer.shutdown().unwrap();
            exchange(&mut h, &mut peer, true);
        }
        _ => {}
    }
    h.write(usize::from(s.cut_writes));
    if s.start == Start::FinWait1 {
        h.shutdown(false);
    }
    // The CUT's data (and FIN) stay unacknowledged.
    exchange(&mut h, &mut peer, false);
    Some(h)
}

fuzz_target!(|input: Input| {
    let Some(mut h) = setup(&input.setup) else {
        return;
    };
    for action in input.actions.iter().take(MAX_ACTIONS) {
        match action {
            Action::Segment(seg) => h.segment(seg, false),
            Action::Stray(seg) => h.segment(seg, true),
            Action::AdvanceMicros(d) => {
                h.now += Duration::from_micros(u64::from(*d));
                h.handle_timeout();
            }
            Action::AdvanceMillis(d) => {
                h.now += Duration::from_millis(u64::from(*d));
                h.handle_timeout();
            }
            Action::ToDeadline => h.run_to_deadline(),
            Action::Write(n) => h.write(usize::from(*n)),
            Action::Read(n) => h.read(usize::from(*n)),
            Action::Shutdown => h.shutdown(false),
            Action::Close => h.shutdown(true),
            Action::Abort => {
                h.cut.abort();
                h.check();
            }
            Action::Nodelay(on) => h.cut.set_nodelay(*on),
            Action::Drain => {
                h.drain();
            }
            Action::Data {
                len,
                fin,
                at_peer_next,
                window,
            } => h.data(*len, *fin, *at_peer_next, *window),
            Action::Ack { upto, sack, window } => h.ack(*upto, sack, *window),
        }
    }
    h.drain();
});
