//! Helpers shared by the fuzz targets in `fuzz_targets/`.
//!
//! Nothing here is fuzzing-specific: the functions are plain Rust over
//! `synack-core`'s public API, so a failing input can be replayed and
//! turned into an ordinary test.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use synack_core::conn::{Config, Connection};
use synack_core::wire::{Error, IpAddrPair, MAX_OPTIONS_LEN, TcpOptions};

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

/// The client's and server's addresses, IPv4 or IPv6.
pub fn endpoints(ipv6: bool) -> (SocketAddr, SocketAddr) {
    if ipv6 {
        (
            SocketAddr::new(
                IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)),
                40000,
            ),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)), 80),
        )
    } else {
        (
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80),
        )
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
