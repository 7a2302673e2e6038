//! Regression tests for what the fuzz targets in `fuzz/` found. Each test
//! is named after what it found and replays the essence of the failing
//! input through the public API, as the targets drive it.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use synack_core::conn::{Config, Connection, DropReason, State};
use synack_core::seq::SeqNumber;
use synack_core::time::Instant;
use synack_core::tuple::FourTuple;
use synack_core::wire::{ChecksumMode, IpAddrPair, TcpFlags, TcpRepr};

const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000);
const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);

fn to_client() -> IpAddrPair {
    IpAddrPair::new(SERVER.ip(), CLIENT.ip()).unwrap()
}

/// Every segment the connection sends now, parsed into
/// `(flags, seq, ack, payload length)`.
fn drain(conn: &mut Connection, now: Instant) -> Vec<(TcpFlags, SeqNumber, SeqNumber, usize)> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 2000];
    while let Some(t) = conn.poll_transmit(now, &mut buf) {
        let addrs = t.tuple.outgoing_addrs().unwrap();
        let seg = TcpRepr::parse_bytes(&buf[..t.len], &addrs, ChecksumMode::Full).unwrap();
        out.push((seg.flags, seg.seq, seg.ack, seg.payload.len()));
    }
    out
}

fn invariants(conn: &Connection) {
    if let Err(e) = conn.debug_invariants() {
        panic!("invariant broken: {e}");
    }
}

/// `connection` target: in SYN-SENT, a SYN-ACK whose ACK lies below our
/// ISS was taken as acknowledging the SYN (only ACK == ISS was refused),
/// which moved SND.UNA behind the ISS and broke SND.UNA <= SND.NXT.
/// RFC 9293 §3.10.7.3: SEG.ACK =< ISS is unacceptable.
#[test]
fn syn_sent_refuses_an_ack_below_the_iss() {
    let now = Instant::from_secs(1);
    let iss = SeqNumber(0xffff_0000);
    let tuple = FourTuple::new(CLIENT, SERVER);
    let mut conn = Connection::connect(&Config::default(), tuple, iss, now).unwrap();
    let syn = drain(&mut conn, now);
    assert_eq!(syn.len(), 1);
    let syn_ack = TcpRepr {
        src_port: SERVER.port(),
        dst_port: CLIENT.port(),
        seq: SeqNumber(77),
        ack: iss + 1u32 - 30_461u32,
        flags: TcpFlags::SYN | TcpFlags::ACK,
        window: 1000,
        ..TcpRepr::default()
    };
    conn.handle_segment(now, &to_client(), &syn_ack);
    invariants(&conn);
    assert_eq!(conn.state(), State::SynSent);
    assert_eq!(conn.stats().drops.get(DropReason::AckOfUnsent), 1);
    // Answered by a reset carrying the offending ACK as its sequence number.
    let out = drain(&mut conn, now);
    assert_eq!(out, vec![(TcpFlags::RST, syn_ack.ack, SeqNumber(0), 0)]);
    // The ISS itself is refused too, and ISS + 1 accepted.
    for (ack, state) in [(iss, State::SynSent), (iss + 1u32, State::Established)] {
        conn.handle_segment(now, &to_client(), &TcpRepr { ack, ..syn_ack });
        invariants(&conn);
        assert_eq!(conn.state(), state);
    }
}

/// `connection` target: a SYN timeout moves SND.NXT back to the ISS so
/// the SYN is resent; when the SYN-ACK arrived before that resend went
/// out, SND.UNA became ISS + 1 while SND.NXT stayed at the ISS, and the
/// first data segment was sent from the ISS, one byte early (the peer
/// would have taken the second byte as the first).
#[test]
fn syn_ack_after_a_syn_timeout_does_not_leave_snd_nxt_behind() {
    let mut now = Instant::from_secs(1);
    let iss = SeqNumber(5000);
    let tuple = FourTuple::new(CLIENT, SERVER);
    let config = Config {
        timestamps: false,
        ..Config::default()
    };
    let mut conn = Connection::connect(&config, tuple, iss, now).unwrap();
    assert_eq!(drain(&mut conn, now).len(), 1);
    // The SYN times out; the resend is not polled yet.
    now = conn.poll_timeout().unwrap();
    conn.handle_timeout(now);
    assert_eq!(conn.write(b"hello"), Ok(5));
    let syn_ack = TcpRepr {
        src_port: SERVER.port(),
        dst_port: CLIENT.port(),
        seq: SeqNumber(9000),
        ack: iss + 1u32,
        flags: TcpFlags::SYN | TcpFlags::ACK,
        window: 60_000,
        ..TcpRepr::default()
    };
    conn.handle_segment(now, &to_client(), &syn_ack);
    invariants(&conn);
    assert_eq!(conn.state(), State::Established);
    let out = drain(&mut conn, now);
    let data: Vec<_> = out.iter().filter(|s| s.3 > 0).collect();
    assert_eq!(data.len(), 1, "{out:?}");
    assert_eq!(data[0].1, iss + 1u32, "data must start right after the SYN");
    assert!(out.iter().all(|s| !s.0.contains(TcpFlags::SYN)));
    invariants(&conn);
}
