//! Helpers for the connection tests over the shared [`Pair`] harness
//! (`crate::harness`): crafted segments, test data, whole transfers.

pub(super) use crate::DropReason;
pub(super) use crate::conn::*;
pub(super) use crate::harness::{Fate, Pair, deliver_all};
pub(super) use crate::time::Duration;
pub(super) use crate::wire::{
    ChecksumMode, IpAddrPair, SackBlock, TcpFlags, TcpOptions, TcpRepr, Timestamps,
};
pub(super) use core::net::{IpAddr, Ipv4Addr, SocketAddr};
pub(super) use std::vec;
pub(super) use std::vec::Vec;

pub(super) const A_ADDR: SocketAddr = crate::harness::CLIENT;
pub(super) const B_ADDR: SocketAddr = crate::harness::SERVER;

pub(super) fn isn() -> IsnGenerator {
    IsnGenerator::new([7; 16])
}

pub(super) fn addrs(src: SocketAddr, dst: SocketAddr) -> IpAddrPair {
    IpAddrPair::new(src.ip(), dst.ip()).unwrap()
}

/// Deterministic test data: a xorshift32 stream.
pub(super) fn pattern(len: usize) -> Vec<u8> {
    let mut x = 0x1234_5678;
    (0..len).map(|_| next_random(&mut x) as u8).collect()
}

/// Moves `data` from a to b (and `back` from b to a) until both arrived.
pub(super) fn transfer(p: &mut Pair, data: &[u8], back: &[u8], limit: Duration) {
    let (mut sa, mut sb) = (0, 0);
    let end = p.now + limit;
    while p.got_b.len() < data.len() || p.got_a.len() < back.len() {
        Pair::feed(&mut p.a, data, &mut sa);
        Pair::feed(&mut p.b, back, &mut sb);
        assert!(
            p.now <= end,
            "transfer stalled at {} of {} bytes",
            p.got_b.len(),
            data.len()
        );
        assert!(
            p.step(),
            "nothing left to happen: a {} {:?} una {} nxt {} max {} wnd {} queued {} {:?}; b {} {:?} nxt {} ooo {} window {}",
            p.a.state,
            p.a.close_reason,
            p.a.snd.una,
            p.a.snd.nxt,
            p.a.snd.max,
            p.a.snd.wnd,
            p.a.send_buf.len(),
            p.a.timers,
            p.b.state,
            p.b.close_reason,
            p.b.rcv.nxt,
            p.b.recv_buf.out_of_order_bytes(),
            p.b.recv_buf.window()
        );
    }
    assert!(p.got_b == data, "a→b bytes differ");
    assert!(p.got_a == back, "b→a bytes differ");
}

/// xorshift32 step for the filters' pseudo-random choices.
pub(super) fn next_random(x: &mut u64) -> u64 {
    let mut v = *x as u32;
    v ^= v << 13;
    v ^= v >> 17;
    v ^= v << 5;
    *x = u64::from(v);
    *x
}

/// An established pair (a's ISS `iss_a`) whose a has a receive buffer of
/// `buffer` bytes and an application that does not read.
pub(super) fn a_not_reading(buffer: usize, iss_a: SeqNumber) -> Pair {
    let small = Config {
        recv_buffer: buffer,
        recv_buffer_max: buffer,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&small, &Config::default(), iss_a);
    p.established();
    p.hold_reads_a = true;
    p
}

/// The filter that loses every data segment from a to b.
pub(super) fn lose_data_to_b(to_b: bool, seg: &TcpRepr<'_>, _: &mut u64) -> Fate {
    if to_b && !seg.payload.is_empty() {
        Fate::Drop
    } else {
        Fate::Deliver
    }
}

/// A filter giving about one data segment in `one_in` from a to b the
/// `fate`, chosen by the xorshift32 stream seeded with `seed`.
pub(super) fn data_one_in(
    seed: u64,
    one_in: u64,
    fate: Fate,
) -> impl FnMut(bool, &TcpRepr<'_>, &mut u64) -> Fate {
    let mut x = seed;
    move |to_b, seg, _| {
        if to_b && !seg.payload.is_empty() && next_random(&mut x) % one_in == 0 {
            fate
        } else {
            Fate::Deliver
        }
    }
}

/// A segment from b's side with b's current numbers, for injection.
pub(super) fn from_b<'a>(
    p: &Pair,
    flags: TcpFlags,
    seq_offset: i64,
    payload: &'a [u8],
) -> TcpRepr<'a> {
    let seq = SeqNumber((i64::from(p.b.snd.nxt.0) + seq_offset) as u32);
    TcpRepr {
        src_port: B_ADDR.port(),
        dst_port: A_ADDR.port(),
        seq,
        ack: p.b.rcv.nxt,
        flags,
        window: 1000,
        options: TcpOptions {
            timestamps: Some(Timestamps {
                value: p.b.ts_now(p.now),
                echo_reply: p.b.ts.recent,
            }),
            ..TcpOptions::default()
        },
        payload,
        ..TcpRepr::default()
    }
}

/// A bare SYN from a to b carrying `options`, for passive opens.
pub(super) fn syn_with(options: TcpOptions<'static>) -> TcpRepr<'static> {
    TcpRepr {
        src_port: A_ADDR.port(),
        dst_port: B_ADDR.port(),
        seq: SeqNumber(4242),
        flags: TcpFlags::SYN,
        window: 1000,
        options,
        ..TcpRepr::default()
    }
}
