//! An `Endpoint` (the "host under test", S) with listeners and live
//! connections to a well-behaved peer endpoint (P), fed an arbitrary stream
//! of hostile IP packets between the peers' own traffic: spoofed SYN
//! floods (whose SYN-ACKs an on-path attacker may answer), stray and
//! blind resets, segments aimed at the live connections with sequence
//! numbers near or far from their windows, IPv4 options and fragments,
//! IPv6 extension headers and fragments, flipped and truncated bytes, and
//! raw bytes. The applications write, read, accept and release, and time
//! passes.
//!
//! Asserted after every step:
//! - nothing S emits is malformed: every packet parses with valid
//!   checksums and comes from one of S's addresses;
//! - limits hold: connections and TIME-WAIT entries within
//!   `max_connections` and `max_time_wait`, half-open connections within the SYN backlogs,
//!   accept queues within `accept_backlog`, buffer memory within what the
//!   connections may hold, and no new connection admitted while the
//!   connection or memory limit is reached;
//! - a packet that does not parse, or a segment outside a live
//!   connection's receive window, changes no live connection (state,
//!   SND.UNA/NXT/MAX, RCV.NXT, queues); a segment inside a window may
//!   (the attacker guessed right) and marks that connection "tainted";
//! - each untainted live connection delivers exactly the bytes its peer
//!   wrote, in order, both ways; once the attacks stop, every untainted
//!   transfer completes;
//! - every connection's internal invariants.
#![no_main]

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use synack_core::conn::{CloseReason, Config, Connection, Event, State};
use synack_core::endpoint::{
    ConnectionHandle, Endpoint, EndpointConfig, EndpointStats, ListenerId, SynCookieMode,
};
use synack_core::internals::SequenceVars;
use synack_core::wire::{
    ChecksumMode, IpRepr, Ipv4Repr, Ipv6Repr, TcpFlags, TcpOptions, TcpRepr, Timestamps,
    emit_tcp_in_ip, internet_checksum, parse_tcp_in_ip,
};
use synack_core::{Duration, Instant, SeqNumber};
use synack_fuzz::{
    Flags, SynOptions, Ts, check_app_bytes, check_connection, crafted_options, seq_offset,
    with_buffers, write_app,
};

const S_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const P_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const S_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
const P_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
/// S's listeners: port 80 on each of its addresses, and port 81 on the
/// IPv4 wildcard address.
const PORT: u16 = 80;
const WILDCARD_PORT: u16 = 81;
/// P's listener, for live connections S opens.
const P_PORT: u16 = 9;
const MAX_ACTIONS: usize = 200;
const MAX_LIVE: usize = 3;
/// Packets the on-path attacker remembers (S's SYN-ACKs to spoofed hosts).
const SEEN_SYN_ACKS: usize = 256;
const BUF: usize = 70_000;

#[derive(Arbitrary, Debug)]
struct Setup {
    /// Live connections: 1 to 3 (bits 0–1), each IPv4 or IPv6 (bits 2–4),
    /// opened by P or by S (bits 5–7).
    live: u8,
    max_connections: u8,
    syn_backlog: u8,
    accept_backlog: u8,
    cookies: u8,
    memory: u8,
    rst_rate: u8,
    sack: bool,
    timestamps: bool,
    window_scaling: bool,
    small_buffers: bool,
    /// Bytes each side writes at first, per live connection.
    p_writes: u16,
    s_writes: u16,
}

impl Setup {
    fn conn_config(&self) -> Config {
        let mut c = with_buffers(if self.small_buffers {
            (4096, 2048, 8192)
        } else {
            (64 * 1024, 16 * 1024, 256 * 1024)
        });
        c.sack = self.sack;
        c.timestamps = self.timestamps;
        c.window_scaling = self.window_scaling;
        c
    }

    fn endpoint_config(&self) -> EndpointConfig {
        let mut c = EndpointConfig::new(*b"host-under-test!");
        c.conn = self.conn_config();
        c.max_connections = 4 + usize::from(self.max_connections % 60);
        // A small TIME-WAIT table of its own, so it fills.
        c.max_time_wait = 2 + usize::from(self.max_connections / 60 % 4);
        c.syn_cookies = match self.cookies % 3 {
            0 => SynCookieMode::Off,
            1 => SynCookieMode::WhenFull,
            _ => SynCookieMode::Always,
        };
        c.syn_backlog = usize::from(self.syn_backlog % 16);
        if c.syn_cookies == SynCookieMode::Off {
            // The live connections need a way in.
            c.syn_backlog = c.syn_backlog.max(1);
        }
        c.accept_backlog = 1 + usize::from(self.accept_backlog % 8);
        c.max_buffer_memory = match self.memory % 4 {
            0 => usize::MAX,
            n => 64 * 1024 * usize::from(n) * usize::from(n),
        };
        c.rst_rate_limit_per_sec = u32::from(self.rst_rate % 8) * 10;
        c.validate().expect("fuzz configurations are valid");
        c
    }
}

/// Where a forged segment's sequence number lies.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum SeqAt {
    /// Live connection's RCV.NXT plus an offset (near the left edge).
    RcvNxt(i16),
    /// Its right window edge plus an offset.
    WindowEnd(i16),
    /// Far away: RCV.NXT plus a large offset.
    Far(u32),
    Raw(u32),
}

/// Where a forged segment's acknowledgment number lies.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum AckAt {
    SndUna(i16),
    SndNxt(i16),
    Raw(u32),
}

/// Who a forged packet claims to come from, and whom it is for.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Aim {
    /// The peer's side of live connection `n`: a blind in-path attack.
    Live(u8),
    /// A spoofed host towards one of S's listeners.
    Listener {
        v6: bool,
        host: u32,
        port: u16,
        wildcard: bool,
    },
    /// A spoofed host towards a port nobody listens on.
    Closed {
        v6: bool,
        host: u32,
        port: u16,
        dst_port: u16,
    },
    /// S's own address as the source (a "land" packet).
    Land { v6: bool, port: u16 },
}

/// What happens to the packet after it is built.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Mangle {
    None,
    /// IPv4 options (NOPs and an end), 4 bytes per unit; IPv6 gets a
    /// hop-by-hop header instead.
    IpOptions(u8),
    /// A fragment: IPv4 flags/offset, or an IPv6 fragment header (offset
    /// 0 without more fragments is an atomic fragment, which is TCP).
    Fragment {
        offset: u16,
        more: bool,
    },
    /// XOR one byte.
    Flip {
        at: u16,
        with: u8,
    },
    /// Cut the packet short.
    Truncate(u16),
    /// Lengthen the IP payload length past the packet.
    Overlong(u8),
}

#[derive(Arbitrary, Debug, Clone)]
struct Forge {
    aim: Aim,
    flags: Flags,
    seq: SeqAt,
    ack: AckAt,
    window: u16,
    ts: Ts,
    sack: Vec<(AckAt, u16)>,
    syn_options: SynOptions,
    len: u16,
    mangle: Mangle,
}

#[derive(Arbitrary, Debug)]
enum Action {
    Forge(Forge),
    /// `count` SYNs from different spoofed hosts to a listener.
    SynFlood {
        count: u8,
        v6: bool,
        wildcard: bool,
        base: u32,
    },
    /// The on-path attacker answers up to `count` SYN-ACKs it saw: the
    /// third ACK (with `data` bytes), or a reset.
    CompleteHandshakes {
        count: u8,
        data: u16,
        rst: bool,
    },
    /// Raw bytes as an IP packet.
    RawIp(Vec<u8>),
    /// Raw bytes as a TCP segment between the peers of live connection
    /// `n`, with a correct checksum if `fix_checksum`.
    RawSegment {
        n: u8,
        bytes: Vec<u8>,
        fix_checksum: bool,
    },
    PeerWrite {
        n: u8,
        len: u16,
    },
    HostWrite {
        n: u8,
        len: u16,
    },
    HostRead {
        n: u8,
        len: u16,
    },
    /// S's application accepts what its listeners established, reads it
    /// and perhaps releases it.
    Accept {
        release: bool,
    },
    /// Both applications shut down live connection `n` (S first or P
    /// first): a graceful close, ending in TIME-WAIT on one side, which the
    /// attacks may then aim at.
    CloseLive {
        n: u8,
        host_first: bool,
    },
    AdvanceMillis(u16),
    AdvanceSecs(u8),
    ToDeadline,
}

#[derive(Arbitrary, Debug)]
struct Input {
    setup: Setup,
    actions: Vec<Action>,
}

/// One live connection between P and S.
struct Live {
    p: ConnectionHandle,
    s: ConnectionHandle,
    /// P's side of the tuple (S's remote) and S's side.
    p_addr: SocketAddr,
    s_addr: SocketAddr,
    /// An attacker's segment fell inside the window: its streams may no
    /// longer be the peers' (checks of content and completion stop).
    tainted: bool,
    /// Both applications shut it down: it may end, normally.
    closing: bool,
    p_written: u64,
    s_written: u64,
    p_read: u64,
    s_read: u64,
    /// Latest TSvals each side sent on this connection.
    p_tsval: u32,
    s_tsval: u32,
}

/// A live connection's state that no unacceptable segment may change.
#[derive(Debug, PartialEq, Eq)]
struct Fingerprint {
    state: State,
    seq: SequenceVars,
    send_queue: usize,
    recv_queue: usize,
}

fn fingerprint(conn: &Connection) -> Fingerprint {
    Fingerprint {
        state: conn.state(),
        seq: conn.debug_sequence(),
        send_queue: conn.send_queue_len(),
        recv_queue: conn.recv_queue_len(),
    }
}

/// Tags of the application streams: P→S and S→P of live connection `i`.
fn p_tag(i: usize) -> u8 {
    0x50 + i as u8
}
fn s_tag(i: usize) -> u8 {
    0x60 + i as u8
}

struct Harness {
    now: Instant,
    s: Endpoint,
    p: Endpoint,
    s_config: EndpointConfig,
    listeners: Vec<ListenerId>,
    p_listeners: [ListenerId; 2],
    live: Vec<Live>,
    /// Connections S accepted that are not live ones (the attacker's).
    extra: Vec<ConnectionHandle>,
    /// S's SYN-ACKs to hosts other than P: (tuple as S sent it, seq, ack).
    syn_acks: Vec<(SocketAddr, SocketAddr, SeqNumber, SeqNumber)>,
    buf: Vec<u8>,
    scratch: Vec<u8>,
}

fn is_s_addr(ip: IpAddr) -> bool {
    ip == IpAddr::V4(S_V4) || ip == IpAddr::V6(S_V6)
}

fn is_p_addr(ip: IpAddr) -> bool {
    ip == IpAddr::V4(P_V4) || ip == IpAddr::V6(P_V6)
}

impl Harness {
    fn new(setup: &Setup) -> Option<Harness> {
        let s_config = setup.endpoint_config();
        let mut p_config = EndpointConfig::new(*b"the-good-peer-P!");
        p_config.conn = setup.conn_config();
        let mut s = Endpoint::new(s_config.clone()).expect("valid");
        let mut p = Endpoint::new(p_config).expect("valid");
        let p_listeners = [
            p.listen(SocketAddr::new(IpAddr::V4(P_V4), P_PORT)).ok()?,
            p.listen(SocketAddr::new(IpAddr::V6(P_V6), P_PORT)).ok()?,
        ];
        let listeners = vec![
            s.listen(SocketAddr::new(IpAddr::V4(S_V4), PORT)).ok()?,
            s.listen(SocketAddr::new(IpAddr::V6(S_V6), PORT)).ok()?,
            s.listen(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                WILDCARD_PORT,
            ))
            .ok()?,
        ];
        let mut h = Harness {
            now: Instant::from_secs(1),
            s,
            p,
            s_config,
            listeners,
            p_listeners,
            live: Vec::new(),
            extra: Vec::new(),
            syn_acks: Vec::new(),
            buf: vec![0; BUF],
            scratch: vec![0; BUF],
        };
        let count = 1 + usize::from(setup.live) % MAX_LIVE;
        for i in 0..count {
            let v6 = setup.live >> (2 + i) & 1 == 1;
            let s_connects = setup.live >> (5 + i) & 1 == 1;
            let (p_ip, s_ip) = if v6 {
                (IpAddr::V6(P_V6), IpAddr::V6(S_V6))
            } else {
                (IpAddr::V4(P_V4), IpAddr::V4(S_V4))
            };
            let (p, s) = if s_connects {
                let s =
                    h.s.connect(s_ip, SocketAddr::new(p_ip, P_PORT), h.now)
                        .expect("S connects");
                h.exchange();
                let p = h.p.accept(h.p_listeners[usize::from(v6)]);
                (p.expect("P accepted S's connection"), s)
            } else {
                let p =
                    h.p.connect(p_ip, SocketAddr::new(s_ip, PORT), h.now)
                        .expect("P connects");
                h.exchange();
                let s = h.s.accept(h.listeners[usize::from(v6)]);
                (p, s.expect("S accepted the live connection"))
            };
            let p_addr = h.p.connection(p).expect("P's connection").local_addr();
            let s_conn = h.s.connection(s).expect("S's connection");
            assert_eq!(s_conn.peer_addr(), p_addr, "connected to someone else");
            assert_eq!(s_conn.state(), State::Established);
            let s_addr = s_conn.local_addr();
            h.live.push(Live {
                p,
                s,
                p_addr,
                s_addr,
                tainted: false,
                closing: false,
                p_written: 0,
                s_written: 0,
                p_read: 0,
                s_read: 0,
                p_tsval: 0,
                s_tsval: 0,
            });
        }
        for i in 0..h.live.len() {
            h.peer_write(i, usize::from(setup.p_writes));
            h.host_write(i, usize::from(setup.s_writes));
        }
        h.exchange();
        h.check();
        Some(h)
    }

    fn live_index(&self, n: u8) -> usize {
        usize::from(n) % self.live.len()
    }

    /// Delivers packets between S and P until both are quiet, reading
    /// everything P receives (P is a good peer with a fast reader). S's
    /// packets to anyone else go to the attacker's notebook.
    fn exchange(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(t) = self.s.poll_transmit_ip(self.now, &mut self.buf) {
                moved = true;
                let packet = self.buf[..t.len].to_vec();
                self.observe_s_output(&packet);
                let (ip, _) = parse_tcp_in_ip(&packet, ChecksumMode::Full).unwrap();
                if is_p_addr(ip.addrs().dst()) {
                    self.p.handle_ip_packet(self.now, &packet);
                }
            }
            while let Some(t) = self.p.poll_transmit_ip(self.now, &mut self.buf) {
                moved = true;
                let packet = self.buf[..t.len].to_vec();
                self.observe_p_output(&packet);
                self.s.handle_ip_packet(self.now, &packet);
            }
            self.peer_read_all();
            while self.p.poll_event().is_some() {}
            self.poll_host_events();
            if !moved {
                return;
            }
        }
        panic!("S and P never went quiet");
    }

    /// Checks one packet S sent and notes what the attacker learns.
    fn observe_s_output(&mut self, packet: &[u8]) {
        let (ip, seg) = parse_tcp_in_ip(packet, ChecksumMode::Full)
            .unwrap_or_else(|e| panic!("S emitted a packet that does not parse: {e:?}"));
        let addrs = ip.addrs();
        assert!(is_s_addr(addrs.src()), "S sent from {}", addrs.src());
        let from = SocketAddr::new(addrs.src(), seg.src_port);
        let to = SocketAddr::new(addrs.dst(), seg.dst_port);
        if let Some(live) = self
            .live
            .iter_mut()
            .find(|l| l.s_addr == from && l.p_addr == to)
            && let Some(ts) = seg.options.timestamps
        {
            live.s_tsval = ts.value;
        }
        if !is_p_addr(addrs.dst()) && seg.flags.contains(TcpFlags::SYN | TcpFlags::ACK) {
            if self.syn_acks.len() == SEEN_SYN_ACKS {
                self.syn_acks.remove(0);
            }
            self.syn_acks.push((from, to, seg.seq, seg.ack));
        }
    }

    fn observe_p_output(&mut self, packet: &[u8]) {
        let (ip, seg) = parse_tcp_in_ip(packet, ChecksumMode::Full).expect("P's packets parse");
        let addrs = ip.addrs();
        let from = SocketAddr::new(addrs.src(), seg.src_port);
        if let Some(live) = self.live.iter_mut().find(|l| l.p_addr == from)
            && let Some(ts) = seg.options.timestamps
        {
            live.p_tsval = ts.value;
        }
    }

    /// P reads everything S sent on each live connection and checks it.
    fn peer_read_all(&mut self) {
        for i in 0..self.live.len() {
            loop {
                let live = &self.live[i];
                let Some(conn) = self.p.connection_mut(live.p) else {
                    break;
                };
                match conn.read(self.now, &mut self.scratch) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let live = &mut self.live[i];
                        if !live.tainted {
                            let who = format!("P on live connection {i}");
                            check_app_bytes(s_tag(i), live.p_read, &self.scratch[..n], &who);
                        }
                        live.p_read += n as u64;
                    }
                }
            }
        }
    }

    /// S's events: removed live connections must be tainted ones.
    fn poll_host_events(&mut self) {
        while let Some((handle, event)) = self.s.poll_event() {
            if let Event::Closed(reason) = event
                && let Some(live) = self.live.iter().find(|l| l.s == handle)
            {
                assert!(
                    live.tainted || (live.closing && reason == CloseReason::Normal),
                    "untainted live connection {:?} closed: {reason:?}",
                    live.s_addr
                );
            }
        }
    }

    fn close_live(&mut self, i: usize, host_first: bool) {
        let live = &mut self.live[i];
        if live.closing {
            return;
        }
        live.closing = true;
        let (s, p) = (live.s, live.p);
        for host in [host_first, !host_first] {
            let conn = if host {
                self.s.connection_mut(s)
            } else {
                self.p.connection_mut(p)
            };
            if let Some(conn) = conn {
                let _ = conn.shutdown();
            }
            self.exchange();
        }
    }

    fn peer_write(&mut self, i: usize, len: usize) {
        let live = &mut self.live[i];
        let Some(conn) = self.p.connection_mut(live.p) else {
            return;
        };
        let _ = write_app(conn, p_tag(i), &mut live.p_written, len);
    }

    fn host_write(&mut self, i: usize, len: usize) {
        let live = &mut self.live[i];
        let Some(conn) = self.s.connection_mut(live.s) else {
            return;
        };
        let _ = write_app(conn, s_tag(i), &mut live.s_written, len);
    }

    fn host_read(&mut self, i: usize, len: usize) {
        let live = &mut self.live[i];
        let Some(conn) = self.s.connection_mut(live.s) else {
            return;
        };
        let len = len.min(self.scratch.len());
        let Ok(n) = conn.read(self.now, &mut self.scratch[..len]) else {
            return;
        };
        if !live.tainted {
            let who = format!("S on live connection {i}");
            check_app_bytes(p_tag(i), live.s_read, &self.scratch[..n], &who);
        }
        live.s_read += n as u64;
    }

    fn accept(&mut self, release: bool) {
        for l in self.listeners.clone() {
            while let Some(h) = self.s.accept(l) {
                self.extra.push(h);
            }
        }
        for h in core::mem::take(&mut self.extra) {
            if let Some(conn) = self.s.connection_mut(h) {
                while let Ok(n) = conn.read(self.now, &mut self.scratch)
                    && n > 0
                {}
            }
            if release {
                let _ = self.s.release(h, self.now);
            } else {
                self.extra.push(h);
            }
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now = self.now.checked_add(by).unwrap();
        self.s.handle_timeout(self.now);
        self.p.handle_timeout(self.now);
        self.exchange();
    }

    fn to_deadline(&mut self) {
        let next = [self.s.poll_timeout(), self.p.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        if let Some(at) = next
            && at > self.now
            && at.saturating_duration_since(self.now) < Duration::from_secs(600)
        {
            self.now = at;
        }
        self.s.handle_timeout(self.now);
        self.p.handle_timeout(self.now);
        self.exchange();
    }

    // --- the attacker -----------------------------------------------------

    /// Hands S one hostile packet and checks that only a live connection
    /// whose window the packet hit can have changed.
    fn inject(&mut self, packet: &[u8]) {
        let before: Vec<Option<Fingerprint>> = self
            .live
            .iter()
            .map(|l| self.s.connection(l.s).map(fingerprint))
            .collect();
        let limits_reached = {
            let st = self.s.stats();
            st.connections >= self.s_config.max_connections
                || st.buffer_memory >= self.s_config.max_buffer_memory
        };
        let opened = self.s.stats().connections_opened;
        let time_wait = self.s.stats().time_wait;
        let is_syn = parse_tcp_in_ip(packet, ChecksumMode::Full)
            .is_ok_and(|(_, seg)| seg.flags.contains(TcpFlags::SYN));
        // The segment S will see, if any, and the live connection it names.
        let hit = parse_tcp_in_ip(packet, ChecksumMode::Full)
            .ok()
            .and_then(|(ip, seg)| {
                let addrs = ip.addrs();
                let from = SocketAddr::new(addrs.src(), seg.src_port);
                let to = SocketAddr::new(addrs.dst(), seg.dst_port);
                let i = self
                    .live
                    .iter()
                    .position(|l| l.p_addr == from && l.s_addr == to)?;
                let conn = self.s.connection(self.live[i].s)?;
                let in_window = may_be_acceptable(&conn.debug_sequence(), &seg);
                in_window.then_some(i)
            });

        self.s.handle_ip_packet(self.now, packet);

        for (i, was) in before.iter().enumerate() {
            if Some(i) == hit {
                self.live[i].tainted = true;
                continue;
            }
            let now = self.s.connection(self.live[i].s).map(fingerprint);
            assert_eq!(
                was, &now,
                "live connection {i} changed by a packet outside its window"
            );
        }
        // RFC 1337: nothing but a new SYN (RFC 6191) ends TIME-WAIT early.
        if !is_syn {
            assert!(
                self.s.stats().time_wait >= time_wait,
                "a TIME-WAIT entry was removed by a segment other than a SYN"
            );
        }
        if limits_reached {
            assert_eq!(
                self.s.stats().connections_opened,
                opened,
                "a connection was admitted beyond the connection or memory limit"
            );
        }
        self.check();
    }

    fn addrs_of(&self, aim: Aim) -> (SocketAddr, SocketAddr, Option<usize>) {
        match aim {
            Aim::Live(n) => {
                let i = self.live_index(n);
                (self.live[i].p_addr, self.live[i].s_addr, Some(i))
            }
            Aim::Listener {
                v6,
                host,
                port,
                wildcard,
            } => {
                let dst = if wildcard {
                    SocketAddr::new(IpAddr::V4(S_V4), WILDCARD_PORT)
                } else if v6 {
                    SocketAddr::new(IpAddr::V6(S_V6), PORT)
                } else {
                    SocketAddr::new(IpAddr::V4(S_V4), PORT)
                };
                (
                    SocketAddr::new(spoofed(v6 && !wildcard, host), port),
                    dst,
                    None,
                )
            }
            Aim::Closed {
                v6,
                host,
                port,
                dst_port,
            } => {
                let s = if v6 {
                    IpAddr::V6(S_V6)
                } else {
                    IpAddr::V4(S_V4)
                };
                (
                    SocketAddr::new(spoofed(v6, host), port),
                    SocketAddr::new(s, dst_port),
                    None,
                )
            }
            Aim::Land { v6, port } => {
                let s = if v6 {
                    IpAddr::V6(S_V6)
                } else {
                    IpAddr::V4(S_V4)
                };
                (SocketAddr::new(s, port), SocketAddr::new(s, PORT), None)
            }
        }
    }

    fn forge(&mut self, f: &Forge) {
        let (from, to, live) = self.addrs_of(f.aim);
        let vars = live
            .and_then(|i| self.s.connection(self.live[i].s))
            .map(|c| c.debug_sequence());
        let (rcv_nxt, rcv_wnd, snd_una, snd_nxt) = vars
            .map_or((SeqNumber(0), 0, SeqNumber(0), SeqNumber(0)), |v| {
                (v.rcv_nxt, v.rcv_wnd, v.snd_una, v.snd_nxt)
            });
        let ack_at = |at: AckAt| match at {
            AckAt::SndUna(d) => seq_offset(snd_una, d),
            AckAt::SndNxt(d) => seq_offset(snd_nxt, d),
            AckAt::Raw(v) => SeqNumber(v),
        };
        let seq = match f.seq {
            SeqAt::RcvNxt(d) => seq_offset(rcv_nxt, d),
            SeqAt::WindowEnd(d) => seq_offset(rcv_nxt + rcv_wnd, d),
            SeqAt::Far(d) => SeqNumber(rcv_nxt.0.wrapping_add(d | 0x4000_0000)),
            SeqAt::Raw(v) => SeqNumber(v),
        };
        let (p_tsval, s_tsval) =
            live.map_or((0, 0), |i| (self.live[i].p_tsval, self.live[i].s_tsval));
        let timestamps = f.ts.timestamps(p_tsval, s_tsval);
        let sack = f.sack.iter().map(|&(at, len)| (ack_at(at), len));
        let options = crafted_options(timestamps, sack, f.syn_options);
        let payload = vec![0xa5; usize::from(f.len % 2048)];
        let seg = TcpRepr {
            src_port: from.port(),
            dst_port: to.port(),
            seq,
            ack: ack_at(f.ack),
            flags: f.flags.bits(),
            window: f.window,
            urgent: 0,
            options,
            payload: &payload,
        };
        let Some(mut packet) = build_packet(from.ip(), to.ip(), &seg) else {
            return;
        };
        mangle(&mut packet, f.mangle);
        self.inject(&packet);
    }

    fn syn_flood(&mut self, count: u8, v6: bool, wildcard: bool, base: u32) {
        for k in 0..u32::from(count) {
            let host = base.wrapping_add(k.wrapping_mul(0x9e37_79b9));
            let (from, to, _) = self.addrs_of(Aim::Listener {
                v6,
                host,
                port: 1024 + (host % 60000) as u16,
                wildcard,
            });
            let seg = TcpRepr {
                src_port: from.port(),
                dst_port: to.port(),
                seq: SeqNumber(host.rotate_left(7)),
                ack: SeqNumber(0),
                flags: TcpFlags::SYN,
                window: 64240,
                urgent: 0,
                options: TcpOptions {
                    mss: Some(1460),
                    window_scale: Some(7),
                    sack_permitted: true,
                    timestamps: Some(Timestamps {
                        value: host,
                        echo_reply: 0,
                    }),
                    ..TcpOptions::default()
                },
                payload: &[],
            };
            if let Some(packet) = build_packet(from.ip(), to.ip(), &seg) {
                self.inject(&packet);
            }
            // S's SYN-ACKs go out between SYNs, as on a real link.
            self.exchange();
        }
    }

    fn complete_handshakes(&mut self, count: u8, data: u16, rst: bool) {
        let seen: Vec<_> = self.syn_acks.drain(..).take(usize::from(count)).collect();
        let payload = vec![0x5a; usize::from(data % 1400)];
        for (s_side, attacker, s_seq, s_ack) in seen {
            let seg = TcpRepr {
                src_port: attacker.port(),
                dst_port: s_side.port(),
                seq: s_ack,
                ack: s_seq + 1u32,
                flags: if rst {
                    TcpFlags::RST
                } else {
                    TcpFlags::ACK | TcpFlags::PSH
                },
                window: 64240,
                urgent: 0,
                options: TcpOptions::default(),
                payload: if rst { &[] } else { &payload },
            };
            if let Some(packet) = build_packet(attacker.ip(), s_side.ip(), &seg) {
                self.inject(&packet);
            }
            self.exchange();
        }
    }

    fn raw_segment(&mut self, n: u8, bytes: &[u8], fix_checksum: bool) {
        let i = self.live_index(n);
        let (from, to) = (self.live[i].p_addr, self.live[i].s_addr);
        let mut segment = bytes.to_vec();
        if segment.len() >= 20 {
            segment[0..2].copy_from_slice(&from.port().to_be_bytes());
            segment[2..4].copy_from_slice(&to.port().to_be_bytes());
        }
        let tcp_len = segment.len();
        let ip = ip_repr(from.ip(), to.ip(), tcp_len);
        let header = ip.header_len();
        let mut packet = vec![0; header + tcp_len];
        if ip.emit(&mut packet, ChecksumMode::Full).is_err() {
            return;
        }
        packet[header..].copy_from_slice(&segment);
        if fix_checksum && tcp_len >= 20 {
            packet[header + 16..header + 18].fill(0);
            let mut sum =
                synack_core::wire::Checksum::pseudo_header(from.ip(), to.ip(), 6, tcp_len as u32);
            sum.add_bytes(&packet[header..]);
            let c = sum.finish();
            packet[header + 16..header + 18].copy_from_slice(&c.to_be_bytes());
        }
        self.inject(&packet);
    }

    // --- checks -------------------------------------------------------------

    fn check(&mut self) {
        let st: EndpointStats = self.s.stats();
        let c = &self.s_config;
        assert!(
            st.connections <= c.max_connections,
            "{} connections, limit {}",
            st.connections,
            c.max_connections
        );
        assert!(
            st.time_wait <= c.max_time_wait,
            "{} TIME-WAIT entries, limit {}",
            st.time_wait,
            c.max_time_wait
        );
        assert!(
            st.half_open <= c.syn_backlog * self.listeners.len(),
            "{} half-open connections, backlog {} per listener",
            st.half_open,
            c.syn_backlog
        );
        let per_conn = c.conn.send_buffer + c.conn.recv_buffer_max;
        assert!(
            st.buffer_memory <= st.connections * per_conn,
            "{} buffer bytes for {} connections",
            st.buffer_memory,
            st.connections
        );
        for &l in &self.listeners {
            assert!(self.s.pending_accepts(l) <= c.accept_backlog);
        }
        for (i, live) in self.live.iter().enumerate() {
            if let Some(conn) = self.s.connection(live.s) {
                check_connection(conn, &c.conn, &format!("S, live connection {i}"));
            } else {
                assert!(
                    live.tainted || live.closing,
                    "untainted live connection {i} is gone"
                );
            }
            if let Some(conn) = self.p.connection(live.p) {
                check_connection(conn, &c.conn, &format!("P, live connection {i}"));
            }
        }
        for &h in &self.extra {
            if let Some(conn) = self.s.connection(h) {
                check_connection(conn, &c.conn, "S, accepted connection");
            }
        }
    }

    /// The attacks are over: every untainted transfer completes.
    fn heal(&mut self) {
        for _ in 0..3000 {
            for i in 0..self.live.len() {
                self.host_read(i, BUF);
            }
            self.advance(Duration::from_millis(200));
            let done = self
                .live
                .iter()
                .all(|l| l.tainted || (l.p_read == l.s_written && l.s_read == l.p_written));
            if done {
                return;
            }
        }
        for (i, l) in self.live.iter().enumerate() {
            assert!(
                l.tainted || (l.p_read == l.s_written && l.s_read == l.p_written),
                "live connection {i} did not complete after the attacks stopped: \
                 P wrote {} (S read {}), S wrote {} (P read {}); S: {:?}",
                l.p_written,
                l.s_read,
                l.s_written,
                l.p_read,
                self.s.connection(l.s).map(|c| c.stats())
            );
        }
    }
}

/// Whether `seg` could pass a connection's sequence test (RFC 9293
/// §3.10.7.4 "first"): any byte of it in the window, or a zero-length
/// segment from RCV.NXT to the window's right edge inclusive. Segments for which this is false must change
/// nothing (RST and SYN included, RFC 5961).
fn may_be_acceptable(v: &SequenceVars, seg: &TcpRepr<'_>) -> bool {
    let len = seg.segment_len() as u32;
    let offset = |s: SeqNumber| s.0.wrapping_sub(v.rcv_nxt.0);
    if seg.seq == v.rcv_nxt {
        return true;
    }
    let wnd = v.rcv_wnd;
    if len == 0 {
        // A bare segment at the right edge counts (as in Linux and BSD).
        return offset(seg.seq) <= wnd;
    }
    offset(seg.seq) < wnd || offset(seg.seq + (len - 1)) < wnd
}

fn spoofed(v6: bool, host: u32) -> IpAddr {
    if v6 {
        let b = host.to_be_bytes();
        IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            u16::from(b[0]),
            0,
            0,
            0,
            u16::from_be_bytes([b[1], b[2]]),
            u16::from(b[3]),
        ))
    } else {
        IpAddr::V4(Ipv4Addr::from(host))
    }
}

fn ip_repr(src: IpAddr, dst: IpAddr, payload_len: usize) -> IpRepr {
    match (src, dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => IpRepr::V4(Ipv4Repr {
            src,
            dst,
            protocol: 6,
            payload_len,
            ttl: 64,
            dscp_ecn: 0,
            ident: 0,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
        }),
        (IpAddr::V6(src), IpAddr::V6(dst)) => IpRepr::V6(Ipv6Repr {
            src,
            dst,
            next_header: 6,
            payload_len,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
        }),
        _ => unreachable!("one family per packet"),
    }
}

fn build_packet(src: IpAddr, dst: IpAddr, seg: &TcpRepr<'_>) -> Option<Vec<u8>> {
    let ip = ip_repr(src, dst, seg.buffer_len());
    let mut buf = vec![0; ip.header_len() + seg.buffer_len()];
    let n = emit_tcp_in_ip(&ip, seg, &mut buf, ChecksumMode::Full).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// Rewrites the IPv4 header checksum after a change.
fn fix_ipv4_checksum(packet: &mut [u8]) {
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    if packet.len() < ihl {
        return;
    }
    packet[10..12].fill(0);
    let sum = internet_checksum(&packet[..ihl]);
    packet[10..12].copy_from_slice(&sum.to_be_bytes());
}

/// Inserts an IPv6 extension header of type `kind` (8 bytes, `body`
/// filling its last six) right after the fixed header.
fn insert_ipv6_extension(packet: &mut Vec<u8>, kind: u8, body: [u8; 6]) {
    let next = packet[6];
    packet[6] = kind;
    let mut ext = vec![next, 0];
    ext.extend_from_slice(&body);
    packet.splice(40..40, ext);
    let payload_len = (packet.len() - 40) as u16;
    packet[4..6].copy_from_slice(&payload_len.to_be_bytes());
}

fn mangle(packet: &mut Vec<u8>, how: Mangle) {
    let v4 = packet[0] >> 4 == 4;
    match how {
        Mangle::None => {}
        Mangle::IpOptions(units) if v4 => {
            let units = usize::from(units % 11);
            if units == 0 {
                return;
            }
            let mut options = vec![1u8; units * 4];
            options[units * 4 - 1] = 0;
            packet.splice(20..20, options);
            packet[0] = 0x40 | (5 + units) as u8;
            let total = packet.len() as u16;
            packet[2..4].copy_from_slice(&total.to_be_bytes());
            fix_ipv4_checksum(packet);
        }
        Mangle::IpOptions(units) => {
            // Hop-by-hop options: a PadN filling the header.
            let _ = units;
            insert_ipv6_extension(packet, 0, [1, 4, 0, 0, 0, 0]);
        }
        Mangle::Fragment { offset, more } if v4 => {
            let field = (offset >> 3) & 0x1fff | if more { 0x2000 } else { 0 };
            packet[6..8].copy_from_slice(&field.to_be_bytes());
            fix_ipv4_checksum(packet);
        }
        Mangle::Fragment { offset, more } => {
            let field = (offset & 0xfff8) | u16::from(more);
            let [a, b] = field.to_be_bytes();
            insert_ipv6_extension(packet, 44, [a, b, 0x12, 0x34, 0x56, 0x78]);
        }
        Mangle::Flip { at, with } => {
            let at = usize::from(at) % packet.len();
            packet[at] ^= with;
        }
        Mangle::Truncate(to) => {
            let to = usize::from(to) % packet.len();
            packet.truncate(to);
        }
        Mangle::Overlong(by) if v4 => {
            let total = (packet.len() + usize::from(by) + 1) as u16;
            packet[2..4].copy_from_slice(&total.to_be_bytes());
            fix_ipv4_checksum(packet);
        }
        Mangle::Overlong(by) => {
            let len = (packet.len() - 40 + usize::from(by) + 1) as u16;
            packet[4..6].copy_from_slice(&len.to_be_bytes());
        }
    }
}

fuzz_target!(|input: Input| {
    let Some(mut h) = Harness::new(&input.setup) else {
        return;
    };
    for action in input.actions.iter().take(MAX_ACTIONS) {
        match action {
            Action::Forge(f) => h.forge(f),
            Action::SynFlood {
                count,
                v6,
                wildcard,
                base,
            } => h.syn_flood(*count, *v6, *wildcard, *base),
            Action::CompleteHandshakes { count, data, rst } => {
                h.complete_handshakes(*count, *data, *rst)
            }
            Action::RawIp(bytes) => h.inject(bytes),
            Action::RawSegment {
                n,
                bytes,
                fix_checksum,
            } => h.raw_segment(*n, bytes, *fix_checksum),
            Action::PeerWrite { n, len } => {
                let i = h.live_index(*n);
                h.peer_write(i, usize::from(*len));
            }
            Action::HostWrite { n, len } => {
                let i = h.live_index(*n);
                h.host_write(i, usize::from(*len));
            }
            Action::HostRead { n, len } => {
                let i = h.live_index(*n);
                h.host_read(i, usize::from(*len));
            }
            Action::Accept { release } => h.accept(*release),
            Action::CloseLive { n, host_first } => {
                let i = h.live_index(*n);
                h.close_live(i, *host_first);
            }
            Action::AdvanceMillis(ms) => h.advance(Duration::from_millis(u64::from(*ms))),
            Action::AdvanceSecs(s) => h.advance(Duration::from_secs(u64::from(*s % 121))),
            Action::ToDeadline => h.to_deadline(),
        }
        h.exchange();
        h.check();
    }
    h.heal();
    h.check();
});
