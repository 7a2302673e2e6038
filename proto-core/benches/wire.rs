//! Wire codec speed, side by side with smoltcp's in the same run:
//! parsing a TCP segment with timestamps and SACK (checksum verified), and
//! emitting one (checksum computed), for a 0-byte ACK and a 1448-byte data
//! segment; and a segment's checksum (pseudo-header included) at 64 B,
//! 1460 B and 64 KiB.
//! `cargo bench -p synack-core --bench wire`.

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use synack_core::SeqNumber;
use synack_core::wire::{
    Checksum, ChecksumMode, IpAddrPair, SackBlock, SackBlocks, TcpFlags, TcpOptions, TcpRepr,
    Timestamps,
};

const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn segment(payload: &[u8]) -> TcpRepr<'_> {
    TcpRepr {
        src_port: 40000,
        dst_port: 443,
        seq: SeqNumber(0x1234_5678),
        ack: SeqNumber(0x9abc_def0),
        flags: TcpFlags::ACK | TcpFlags::PSH,
        window: 501,
        urgent: 0,
        options: TcpOptions {
            timestamps: Some(Timestamps {
                value: 1_000_000,
                echo_reply: 999_000,
            }),
            sack: SackBlocks::from_slice(&[SackBlock {
                left: SeqNumber(0x9abc_e000),
                right: SeqNumber(0x9abc_f000),
            }])
            .unwrap(),
            ..TcpOptions::default()
        },
        payload,
    }
}

fn bench(c: &mut Criterion) {
    let addrs = IpAddrPair::v4(SRC, DST);
    let (s_src, s_dst) = (
        smoltcp::wire::IpAddress::Ipv4(SRC),
        smoltcp::wire::IpAddress::Ipv4(DST),
    );
    let caps = smoltcp::phy::ChecksumCapabilities::default();
    let mut group = c.benchmark_group("tcp");
    for size in [0usize, 1448] {
        let payload = vec![0xa5u8; size];
        let repr = segment(&payload);
        let mut bytes = vec![0u8; repr.buffer_len()];
        repr.emit(&mut bytes, &addrs, ChecksumMode::Full).unwrap();
        group.throughput(Throughput::Bytes(bytes.len() as u64));

        group.bench_with_input(
            BenchmarkId::new("parse/synack", size),
            &bytes,
            |b, bytes| {
                b.iter(|| {
                    TcpRepr::parse_bytes(black_box(bytes), &addrs, ChecksumMode::Full).unwrap()
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("parse/smoltcp", size),
            &bytes,
            |b, bytes| {
                b.iter(|| {
                    let packet =
                        smoltcp::wire::TcpPacket::new_checked(black_box(&bytes[..])).unwrap();
                    smoltcp::wire::TcpRepr::parse(&packet, &s_src, &s_dst, &caps).unwrap()
                })
            },
        );

        let mut out = vec![0u8; bytes.len()];
        group.bench_function(BenchmarkId::new("emit/synack", size), |b| {
            b.iter(|| {
                black_box(&repr)
                    .emit(&mut out, &addrs, ChecksumMode::Full)
                    .unwrap()
            })
        });
        let packet = smoltcp::wire::TcpPacket::new_checked(&bytes[..]).unwrap();
        let s_repr = smoltcp::wire::TcpRepr::parse(&packet, &s_src, &s_dst, &caps).unwrap();
        let mut s_out = vec![0u8; s_repr.buffer_len()];
        group.bench_function(BenchmarkId::new("emit/smoltcp", size), |b| {
            b.iter(|| {
                let mut p = smoltcp::wire::TcpPacket::new_unchecked(&mut s_out[..]);
                black_box(&s_repr).emit(&mut p, &s_src, &s_dst, &caps);
            })
        });
    }
    group.finish();

    // The checksum of a whole TCP segment with its pseudo-header, as a
    // receiver verifies it: a small segment, a full Ethernet payload and
    // the largest IP payload. (smoltcp's checksum function is private; its
    // `TcpPacket::verify_checksum` is the same computation.)
    let mut group = c.benchmark_group("checksum");
    for size in [64usize, 1460, 65535] {
        let data: Vec<u8> = (0..size).map(|i| (i * 7 + 3) as u8).collect();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("synack", size), &data, |b, d| {
            b.iter(|| {
                let d = black_box(d);
                let mut sum = Checksum::pseudo_header(SRC.into(), DST.into(), 6, d.len() as u32);
                sum.add_bytes(d);
                sum.finish() == 0
            })
        });
        group.bench_with_input(BenchmarkId::new("smoltcp", size), &data, |b, d| {
            b.iter(|| {
                smoltcp::wire::TcpPacket::new_unchecked(black_box(&d[..]))
                    .verify_checksum(&s_src, &s_dst)
            })
        });
    }
    group.finish();
}

/// The benchmark group (criterion's macro would leave it undocumented).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
}

criterion_main!(benches);
