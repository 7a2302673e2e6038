//! Helpers shared by the fuzz targets in `fuzz_targets/`.
//!
//! Nothing here is fuzzing-specific: the functions are plain Rust over
//! `synack-core`'s public API, so a failing input can be replayed and
//! turned into an ordinary test.

use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use arbitrary::Arbitrary;
use synack_core::SeqNumber;
use synack_core::cc::CcAlgorithm;
use synack_core::conn::{Config, Connection, EcnMode, Error as ConnError};
use synack_core::internals::harness::client_server;
use synack_core::wire::{
    Error, IpAddrPair, MAX_OPTIONS_LEN, SackBlock, SackBlocks, TcpFlags, TcpOptions, Timestamps,
};

/// An address pair chosen by one selector byte: IPv4 or IPv6, and the
/// direction, so checksums are computed over different pseudo-headers.
pub fn addr_pair(selector: u8) -> IpAddrPair {
    let pair = if selector & 1 == 0 {
        IpAddrPair::v4(Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(198, 51, 100, 7))
    } else {
        IpAddrPair::v6(
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
            Ipv6Addr::new(0xfe80, 0, 0, 0, 0x1234, 0, 0, selector.into()),
        )
    };
    if selector & 2 == 0 {
        pair
    } else {
        pair.reversed()
    }
}

/// Emits `opts` and checks that it re-parses to the same value. When
/// `must_emit` (the options came from at most 40 bytes) emission must
/// succeed; otherwise it may only fail with `OptionsTooLong`.
pub fn check_options_round_trip(opts: &TcpOptions<'_>, must_emit: bool) {
    let mut buf = [0u8; 2 * MAX_OPTIONS_LEN];
    match opts.emit(&mut buf) {
        Ok(n) => {
            assert_eq!(n, opts.wire_len());
            assert!(n <= MAX_OPTIONS_LEN && n % 4 == 0, "bad option length {n}");
            let again = TcpOptions::parse(&buf[..n]).expect("emitted options parse");
            assert_eq!(again, *opts, "options emit then parse is not the identity");
        }
        Err(e) => {
            assert!(
                !must_emit,
                "options parsed from a header do not emit: {e:?}"
            );
            assert_eq!(e, Error::OptionsTooLong);
            assert!(opts.wire_len() > MAX_OPTIONS_LEN);
        }
    }
}

/// The byte a test stream carries at sequence number `seq`: any sender
/// that fills payloads from this function places the same byte at the
/// same sequence number, however its segments are cut, resent, duplicated
/// or reordered, so the receiver's bytes can be checked one by one.
pub fn stream_byte(seq: u32) -> u8 {
    let mut x = seq.wrapping_mul(0x9e37_79b9);
    x ^= x >> 15;
    x = x.wrapping_mul(0x85eb_ca6b);
    x ^= x >> 13;
    x as u8
}

/// The byte at offset `offset` of an application's write stream, tagged by
/// `tag` so the two directions of a connection carry different bytes.
pub fn app_byte(tag: u8, offset: u64) -> u8 {
    stream_byte((offset as u32) ^ (u32::from(tag) << 24) ^ ((offset >> 32) as u32))
}

/// Fills `out` with the application stream `tag` from `offset` on.
pub fn fill_app(tag: u8, offset: u64, out: &mut [u8]) {
    for (i, b) in out.iter_mut().enumerate() {
        *b = app_byte(tag, offset + i as u64);
    }
}

/// Fills `out` with [`stream_byte`]s from sequence number `seq` on.
pub fn fill_stream(seq: u32, out: &mut [u8]) {
    for (i, b) in out.iter_mut().enumerate() {
        *b = stream_byte(seq.wrapping_add(i as u32));
    }
}

/// The client's and server's addresses, IPv4 or IPv6: the harness's
/// `CLIENT` and `SERVER` (ports 40000 and 80).
pub fn endpoints(ipv6: bool) -> (SocketAddr, SocketAddr) {
    client_server(ipv6)
}

/// Writes `len` bytes of the application stream `tag` from `*written` on
/// into `conn`, and advances `*written` by what it took.
pub fn write_app(
    conn: &mut Connection,
    tag: u8,
    written: &mut u64,
    len: usize,
) -> Result<usize, ConnError> {
    let mut data = vec![0u8; len];
    fill_app(tag, *written, &mut data);
    let n = conn.write(&data)?;
    assert!(n <= len, "write took {n} of {len} bytes");
    *written += n as u64;
    Ok(n)
}

/// Asserts that `bytes`, read by `who`, are the application stream `tag`
/// from `offset` on.
pub fn check_app_bytes(tag: u8, offset: u64, bytes: &[u8], who: &str) {
    for (i, &b) in bytes.iter().enumerate() {
        let at = offset + i as u64;
        assert_eq!(b, app_byte(tag, at), "{who}: wrong byte at offset {at}");
    }
}

/// A connection's settings chosen by the fuzzer: the flags as they are,
/// the buffers and the MTU picked from a target's tables.
#[derive(Arbitrary, Debug)]
pub struct Knobs {
    /// SACK (RFC 2018).
    pub sack: bool,
    /// Timestamps (RFC 7323).
    pub timestamps: bool,
    /// Window scaling (RFC 7323).
    pub window_scaling: bool,
    /// Nagle's algorithm.
    pub nagle: bool,
    /// Pacing.
    pub pacing: bool,
    /// F-RTO (RFC 5682).
    pub frto: bool,
    /// The congestion controller: NewReno, CUBIC or BBR ([`controller`]).
    pub cc: u8,
    /// Ask for ECN (RFC 3168) rather than only accept it.
    pub ecn: bool,
    /// Index into the target's buffer table.
    pub buffers: u8,
    /// Index into the target's MTU table.
    pub mtu: u8,
}

impl Knobs {
    /// The configuration: `buffers` picks (send buffer, receive buffer,
    /// receive buffer maximum) from `buffer_table`, `mtu` the MTU from
    /// `mtus`; everything else is the default.
    pub fn config(&self, buffer_table: &[(usize, usize, usize); 4], mtus: &[usize; 4]) -> Config {
        let mut c = with_buffers(buffer_table[usize::from(self.buffers % 4)]);
        c.mtu = mtus[usize::from(self.mtu % 4)];
        c.window_scaling = self.window_scaling;
        c.sack = self.sack;
        c.timestamps = self.timestamps;
        c.nagle = self.nagle;
        c.pacing = self.pacing;
        c.frto = self.frto;
        c.ecn = if self.ecn {
            EcnMode::On
        } else {
            EcnMode::Accept
        };
        c.congestion = controller(self.cc);
        c
    }
}

/// A built-in congestion controller chosen by a fuzzed byte.
pub fn controller(choice: u8) -> CcAlgorithm {
    match choice % 3 {
        0 => CcAlgorithm::NewReno,
        1 => CcAlgorithm::Cubic,
        _ => CcAlgorithm::Bbr,
    }
}

/// The default configuration with these (send buffer, receive buffer,
/// receive buffer maximum) sizes.
pub fn with_buffers((send_buffer, recv_buffer, recv_buffer_max): (usize, usize, usize)) -> Config {
    let mut c = Config::default();
    c.send_buffer = send_buffer;
    c.recv_buffer = recv_buffer;
    c.recv_buffer_max = recv_buffer_max;
    c
}

/// A crafted segment's flags: the usual combinations, or any bits.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Flags {
    /// ACK.
    Ack,
    /// ACK and PSH.
    AckPsh,
    /// ACK and FIN.
    AckFin,
    /// SYN.
    Syn,
    /// SYN and ACK.
    SynAck,
    /// RST.
    Rst,
    /// RST and ACK.
    RstAck,
    /// FIN without ACK.
    Fin,
    /// Any bits.
    Raw(u16),
}

impl Flags {
    /// The flag bits.
    pub fn bits(self) -> TcpFlags {
        match self {
            Flags::Ack => TcpFlags::ACK,
            Flags::AckPsh => TcpFlags::ACK | TcpFlags::PSH,
            Flags::AckFin => TcpFlags::ACK | TcpFlags::FIN,
            Flags::Syn => TcpFlags::SYN,
            Flags::SynAck => TcpFlags::SYN | TcpFlags::ACK,
            Flags::Rst => TcpFlags::RST,
            Flags::RstAck => TcpFlags::RST | TcpFlags::ACK,
            Flags::Fin => TcpFlags::FIN,
            Flags::Raw(bits) => TcpFlags::from_bits_truncate(bits),
        }
    }
}

/// A crafted segment's timestamp option, relative to what the sender (the
/// peer being impersonated) and the receiver sent last.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Ts {
    /// No timestamp option.
    None,
    /// A TSval this far ahead of the sender's latest, echoing the
    /// receiver's latest.
    Fresh(u8),
    /// A TSval older than the sender's latest (PAWS).
    Stale(u16),
    /// Any value and echo.
    Raw(u32, u32),
}

impl Ts {
    /// The option, given the latest TSvals of the sender and the receiver.
    pub fn timestamps(self, sender_tsval: u32, receiver_tsval: u32) -> Option<Timestamps> {
        match self {
            Ts::None => None,
            Ts::Fresh(step) => Some(Timestamps {
                value: sender_tsval.wrapping_add(u32::from(step)),
                echo_reply: receiver_tsval,
            }),
            Ts::Stale(back) => Some(Timestamps {
                value: sender_tsval.wrapping_sub(u32::from(back) + 1),
                echo_reply: receiver_tsval,
            }),
            Ts::Raw(value, echo_reply) => Some(Timestamps { value, echo_reply }),
        }
    }
}

/// `base` moved by `offset` in sequence space, either way.
pub fn seq_offset(base: SeqNumber, offset: i16) -> SeqNumber {
    SeqNumber(base.0.wrapping_add(offset as i32 as u32))
}

/// A crafted segment's SYN options as the fuzzer picks them: MSS, window
/// scale, SACK permitted.
pub type SynOptions = Option<(Option<u16>, Option<u8>, bool)>;

/// The options of a crafted segment: `timestamps`, SACK blocks of
/// `(left edge, length)` (as many as fit), and the SYN options.
pub fn crafted_options(
    timestamps: Option<Timestamps>,
    sack: impl IntoIterator<Item = (SeqNumber, u16)>,
    syn_options: SynOptions,
) -> TcpOptions<'static> {
    let mut blocks = SackBlocks::new();
    for (left, len) in sack.into_iter().take(SackBlocks::CAPACITY) {
        let _ = blocks.push(SackBlock {
            left,
            right: left + u32::from(len),
        });
    }
    let (mss, window_scale, sack_permitted) = syn_options.unwrap_or((None, None, false));
    TcpOptions {
        mss,
        window_scale,
        sack_permitted,
        sack: blocks,
        timestamps,
        ..TcpOptions::default()
    }
}

/// Checks what a connection shows through its public API against its
/// configuration, and its internal invariants. `ctx` names the side in
/// the panic message.
pub fn check_connection(conn: &Connection, config: &Config, ctx: &str) {
    if let Err(e) = conn.debug_invariants() {
        panic!("{ctx}: internal invariant broken: {e}");
    }
    let s = conn.stats();
    assert_eq!(s.state, conn.state(), "{ctx}: stats disagree on the state");
    assert!(
        conn.recv_queue_len() <= config.recv_buffer_max,
        "{ctx}: {} bytes queued for reading, more than recv_buffer_max {}",
        conn.recv_queue_len(),
        config.recv_buffer_max
    );
    assert!(
        conn.send_queue_len() <= config.send_buffer,
        "{ctx}: {} bytes queued for sending, more than send_buffer {}",
        conn.send_queue_len(),
        config.send_buffer
    );
    assert!(
        s.rto >= config.min_rto && s.rto <= config.max_rto,
        "{ctx}: RTO {} outside [{}, {}]",
        s.rto,
        config.min_rto,
        config.max_rto
    );
    assert!(
        s.cwnd > 0 && s.cwnd <= u32::MAX as usize,
        "{ctx}: cwnd {}",
        s.cwnd
    );
    assert!(s.mss > 0, "{ctx}: zero MSS");
    assert!(
        s.segments_received >= s.drops.total(),
        "{ctx}: more drops than segments"
    );
}
