//! The raw UDP baseline for `synack perf`: datagrams of a TCP segment's
//! size blasted with GSO and counted with GRO, no TCP at all. It shows
//! what the same socket path carries without a protocol on top.
//!
//! The client sends for its time, then an `END` datagram (repeated until
//! answered); the server answers with the bytes it counted (8 bytes, big
//! endian) and starts over (with `--once`, exits).

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use synack_link::udp::{RECV_BATCH, Received, UdpLink};

/// Datagram size: what synack's UDP link sends for a full segment.
pub const DATAGRAM: usize = 1472;
const END: &[u8] = b"END";

/// Counts what arrives, answering each `END`; runs until the process ends,
/// or with `once` until it has answered one client.
pub fn server(addr: SocketAddr, once: bool) -> io::Result<()> {
    let link = UdpLink::bind(addr)?;
    let _ = link.set_buffer_sizes(4 << 20, 8 << 20);
    link.socket().set_nonblocking(false)?;
    // A blocking batched receive waits until its whole batch is full; the
    // timeout makes it return what it has, so the datagrams left after a
    // blast, and the `END` behind them, are read without waiting for more.
    link.socket()
        .set_read_timeout(Some(Duration::from_millis(5)))?;
    eprintln!("synack perf: raw UDP on {}", link.local_addr()?);
    let slot = 65_536;
    let mut storage = vec![0u8; slot * RECV_BATCH];
    let mut meta = vec![
        Received {
            from: addr,
            len: 0,
            stride: 1,
            dst_ip: None,
            ecn: synack_core::wire::EcnCodepoint::NotEct,
        };
        RECV_BATCH
    ];
    let mut total = 0u64;
    loop {
        let mut bufs: Vec<IoSliceMut<'_>> = storage.chunks_mut(slot).map(IoSliceMut::new).collect();
        let n = match link.try_recv(&mut bufs, &mut meta) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        };
        drop(bufs);
        for (i, m) in meta[..n].iter().enumerate() {
            if m.len == END.len() && &storage[i * slot..i * slot + END.len()] == END {
                link.socket().send_to(&total.to_be_bytes(), m.from)?;
                if once {
                    return Ok(());
                }
                total = 0;
            } else {
                total += m.len as u64;
            }
        }
    }
}

/// Blasts datagrams at `to` for `time`; returns (bytes the server
/// counted, seconds).
pub fn client(to: SocketAddr, time: Duration) -> io::Result<(u64, f64)> {
    let local = SocketAddr::new(crate::net::route_source(to)?, 0);
    let link = UdpLink::bind(local)?;
    let _ = link.set_buffer_sizes(4 << 20, 8 << 20);
    link.socket().set_nonblocking(false)?;
    let per_call = link.max_batch().clamp(1, 44);
    let batch = vec![0xa5u8; DATAGRAM * per_call];
    let stride = (per_call > 1).then_some(DATAGRAM);
    let started = Instant::now();
    while started.elapsed() < time {
        match link.try_send(to, &batch, stride) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) => return Err(e),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    link.socket()
        .set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut answer = [0u8; 64];
    for _ in 0..25 {
        link.socket().send_to(END, to)?;
        if let Ok((8, _)) = link.socket().recv_from(&mut answer) {
            let mut count = [0u8; 8];
            count.copy_from_slice(&answer[..8]);
            return Ok((u64::from_be_bytes(count), seconds));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        "the raw UDP server did not answer",
    ))
}
