//! synack against the Linux kernel's TCP over a TUN device, each case in a
//! namespace of its own, IPv4 and IPv6, every capture judged by tshark
//! (see the crate's README for what each case checks).

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use synack_interop::lab::{Ctx, Family, Setup, run_case};
use synack_interop::pattern::{self, mbit_per_s};
use synack_interop::verdict::{Verdict, syn_options};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `mod NAME { v4, v6 }` calling `BODY(family)`.
macro_rules! both_families {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::*;
            #[test]
            fn v4() {
                $body(Family::V4)
            }
            #[test]
            fn v6() {
                $body(Family::V6)
            }
        }
    };
}

fn case(name: &str, family: Family) -> String {
    format!("{name}-{}", family.label())
}

// ---------------------------------------------------------------------
// 1. Handshake with the kernel's full option set, both client roles.

/// Every SYN and SYN-ACK in the capture carries MSS, window scale,
/// SACK-permitted and timestamps.
fn full_option_syns(v: &Verdict) -> Result<(), String> {
    let syns = syn_options(&v.file).map_err(|e| e.to_string())?;
    if syns.len() < 4 {
        return Err(format!("expected 2 SYNs and 2 SYN-ACKs, saw {syns:?}"));
    }
    for s in &syns {
        if !s.full_set() {
            return Err(format!("a SYN without the full option set: {s:?}"));
        }
    }
    eprintln!("[interop] SYN options: {syns:?}");
    Ok(())
}

/// Checks what the two sides agreed on, from synack's `negotiated()` and
/// `stats()` and the kernel's `ss -tni`.
async fn check_agreement(ctx: &Ctx, s: &synack_tokio::TcpStream, role: &str) {
    let neg = s.negotiated().unwrap();
    let stats = s.stats().unwrap();
    let synack_end = s.local_addr().unwrap();
    let k = ctx.ss(synack_end).await.unwrap();
    eprintln!("[interop] {role}: synack {neg:?}, mss {}", stats.mss);
    eprintln!("[interop] {role}: kernel {}", k.raw);
    let mss = ctx.family.mss_for_1500();
    assert!(
        neg.sack && neg.timestamps && neg.window_scaling,
        "{role}: {neg:?}"
    );
    assert_eq!(neg.peer_mss, mss, "{role}: the kernel's MSS option");
    assert_eq!(
        stats.mss,
        usize::from(mss) - 12,
        "{role}: synack's send MSS"
    );
    assert!(k.ts && k.sack, "{role}: kernel: {}", k.raw);
    // ss prints wscale:<the peer's shift>,<its own shift>.
    assert_eq!(
        k.wscale,
        Some((neg.rcv_shift, neg.snd_shift)),
        "{role}: kernel: {}",
        k.raw
    );
    assert_eq!(
        k.mss,
        Some(u32::from(mss) - 12),
        "{role}: kernel: {}",
        k.raw
    );
}

fn handshake(family: Family) {
    let mut setup = Setup::new(family);
    setup.check_capture = Some(full_option_syns);
    run_case(&case("handshake", family), setup, |ctx| async move {
        // Kernel client → synack server.
        let listener = ctx.stack.bind(ctx.synack_addr(7000)).unwrap();
        let mut kc = tokio::net::TcpStream::connect(ctx.synack_addr(7000))
            .await
            .unwrap();
        let (mut ss, _) = listener.accept().await.unwrap();
        check_agreement(&ctx, &ss, "kernel client → synack server").await;
        kc.write_all(b"ping").await.unwrap();
        let mut b = [0; 4];
        ss.read_exact(&mut b).await.unwrap();
        ss.write_all(b"pong").await.unwrap();
        kc.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"pong");

        // synack client → kernel server.
        let kl = tokio::net::TcpListener::bind(ctx.kernel_addr(7001))
            .await
            .unwrap();
        let sc = ctx.stack.connect(ctx.kernel_addr(7001)).await.unwrap();
        let (ks, _) = kl.accept().await.unwrap();
        check_agreement(&ctx, &sc, "synack client → kernel server").await;
        drop((kc, ss, ks));
        sc.close().await.unwrap();
    });
}
both_families!(handshake_full_options, handshake);

// ---------------------------------------------------------------------
// 2. 100 MB each way at once, byte-checked, both client roles.

const BULK: u64 = 100_000_000;

/// Sends `BULK` bytes each way over the pair at once; prints both rates.
async fn both_ways(
    label: &str,
    synack: synack_tokio::TcpStream,
    kernel: tokio::net::TcpStream,
) -> synack_core::conn::Stats {
    let start = Instant::now();
    let (mut sr, mut sw) = synack.into_split();
    let (mut kr, mut kw) = kernel.into_split();
    let up = tokio::spawn(async move {
        pattern::send(&mut sw, 1, BULK).await.unwrap();
        sw.shutdown().await.unwrap();
        sw
    });
    let down = tokio::spawn(async move {
        pattern::send(&mut kw, 2, BULK).await.unwrap();
        kw.shutdown().await.unwrap();
    });
    let to_kernel = tokio::spawn(async move {
        let n = pattern::recv(&mut kr, 1, |_| {}).await.unwrap();
        (n, start.elapsed())
    });
    let n = pattern::recv(&mut sr, 2, |_| {}).await.unwrap();
    let to_synack = start.elapsed();
    let (k, to_kernel) = to_kernel.await.unwrap();
    assert_eq!((n, k), (BULK, BULK), "{label}: bytes received");
    let sw = up.await.unwrap();
    down.await.unwrap();
    let stats = sw.stats().unwrap();
    eprintln!(
        "[interop] {label}: synack→kernel {:.0} Mbit/s, kernel→synack {:.0} Mbit/s \
         (100 MB each way at once); synack retransmitted {} segments, {} RTOs",
        mbit_per_s(BULK, to_kernel),
        mbit_per_s(BULK, to_synack),
        stats.retransmitted_segments,
        stats.timeouts
    );
    stats
}

fn bulk_setup(family: Family) -> Setup {
    let mut setup = Setup::new(family);
    setup.snaplen = 128;
    setup.limit = Duration::from_secs(100);
    setup
}

fn bulk_kernel_client(family: Family) {
    run_case(
        &case("bulk-kc", family),
        bulk_setup(family),
        |ctx| async move {
            let listener = ctx.stack.bind(ctx.synack_addr(7000)).unwrap();
            let kc = tokio::net::TcpStream::connect(ctx.synack_addr(7000))
                .await
                .unwrap();
            let (ss, _) = listener.accept().await.unwrap();
            both_ways("kernel client", ss, kc).await;
        },
    );
}
both_families!(bulk_100mb_each_way_kernel_client, bulk_kernel_client);

fn bulk_synack_client(family: Family) {
    run_case(
        &case("bulk-sc", family),
        bulk_setup(family),
        |ctx| async move {
            let kl = tokio::net::TcpListener::bind(ctx.kernel_addr(7001))
                .await
                .unwrap();
            let sc = ctx.stack.connect(ctx.kernel_addr(7001)).await.unwrap();
            let (ks, _) = kl.accept().await.unwrap();
            both_ways("synack client", sc, ks).await;
        },
    );
}
both_families!(bulk_100mb_each_way_synack_client, bulk_synack_client);

// ---------------------------------------------------------------------
// 3. Half-close each way: the side that shuts its sending half still
// reads everything the other sends afterwards.

const AFTER_SHUTDOWN: u64 = 2_000_000;

/// synack shuts down first; the kernel reads to the end, then sends
/// `AFTER_SHUTDOWN` bytes, which synack reads in full.
async fn synack_shuts_first(s: synack_tokio::TcpStream, k: tokio::net::TcpStream) {
    let (mut sr, mut sw) = s.into_split();
    let (mut kr, mut kw) = k.into_split();
    pattern::send(&mut sw, 10, 100_000).await.unwrap();
    sw.shutdown().await.unwrap();
    assert_eq!(pattern::recv(&mut kr, 10, |_| {}).await.unwrap(), 100_000);
    let kernel_sends = tokio::spawn(async move {
        pattern::send(&mut kw, 11, AFTER_SHUTDOWN).await.unwrap();
        kw.shutdown().await.unwrap();
    });
    assert_eq!(
        pattern::recv(&mut sr, 11, |_| {}).await.unwrap(),
        AFTER_SHUTDOWN
    );
    kernel_sends.await.unwrap();
    // Writing after shutdown is refused, as on a kernel socket.
    let err = sw.write_all(b"x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    drop((sr, sw));
}

/// The kernel shuts down first; synack reads to the end, then sends
/// `AFTER_SHUTDOWN` bytes, which the kernel reads in full.
async fn kernel_shuts_first(s: synack_tokio::TcpStream, k: tokio::net::TcpStream) {
    let (mut kr, mut kw) = k.into_split();
    let (mut sr, mut sw) = s.into_split();
    pattern::send(&mut kw, 20, 100_000).await.unwrap();
    kw.shutdown().await.unwrap();
    assert_eq!(pattern::recv(&mut sr, 20, |_| {}).await.unwrap(), 100_000);
    let synack_sends = tokio::spawn(async move {
        pattern::send(&mut sw, 21, AFTER_SHUTDOWN).await.unwrap();
        sw.shutdown().await.unwrap();
        sw
    });
    assert_eq!(
        pattern::recv(&mut kr, 21, |_| {}).await.unwrap(),
        AFTER_SHUTDOWN
    );
    let sw = synack_sends.await.unwrap();
    sr.reunite(sw).unwrap().close().await.unwrap();
}

fn half_close(family: Family) {
    run_case(
        &case("half-close", family),
        Setup::new(family),
        |ctx| async move {
            let listener = ctx.stack.bind(ctx.synack_addr(7000)).unwrap();
            let kl = tokio::net::TcpListener::bind(ctx.kernel_addr(7001))
                .await
                .unwrap();
            for (i, synack_first) in [(0, true), (1, false)] {
                // Kernel client → synack server.
                let kc = tokio::net::TcpStream::connect(ctx.synack_addr(7000))
                    .await
                    .unwrap();
                let (s, _) = listener.accept().await.unwrap();
                if synack_first {
                    synack_shuts_first(s, kc).await;
                } else {
                    kernel_shuts_first(s, kc).await;
                }
                // synack client → kernel server.
                let sc = ctx.stack.connect(ctx.kernel_addr(7001)).await.unwrap();
                let (ks, _) = kl.accept().await.unwrap();
                if synack_first {
                    synack_shuts_first(sc, ks).await;
                } else {
                    kernel_shuts_first(sc, ks).await;
                }
                eprintln!("[interop] half-close round {i} (synack first: {synack_first}) ok");
            }
        },
    );
}
both_families!(half_close_each_way, half_close);

// ---------------------------------------------------------------------
// 4. Abortive close each way.

fn reset(family: Family) {
    run_case(
        &case("reset", family),
        Setup::new(family),
        |ctx| async move {
            let listener = ctx.stack.bind(ctx.synack_addr(7000)).unwrap();

            // synack aborts: the kernel's read fails with ECONNRESET.
            let mut kc = tokio::net::TcpStream::connect(ctx.synack_addr(7000))
                .await
                .unwrap();
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(b"hello").await.unwrap();
            let mut b = [0; 5];
            kc.read_exact(&mut b).await.unwrap();
            s.abort();
            let err = kc.read(&mut b).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionReset, "kernel read: {err}");

            // The kernel closes with SO_LINGER 0: synack's read fails with
            // ConnectionReset.
            let kc = tokio::net::TcpStream::connect(ctx.synack_addr(7000))
                .await
                .unwrap();
            let (mut s, _) = listener.accept().await.unwrap();
            kc.set_zero_linger().unwrap();
            drop(kc);
            let err = s.read(&mut b).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionReset, "synack read: {err}");

            // The same with synack as the client.
            let kl = tokio::net::TcpListener::bind(ctx.kernel_addr(7001))
                .await
                .unwrap();
            let mut sc = ctx.stack.connect(ctx.kernel_addr(7001)).await.unwrap();
            let (ks, _) = kl.accept().await.unwrap();
            ks.set_zero_linger().unwrap();
            drop(ks);
            let err = sc.read(&mut b).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionReset, "synack read: {err}");
            let sc = ctx.stack.connect(ctx.kernel_addr(7001)).await.unwrap();
            let (mut ks, _) = kl.accept().await.unwrap();
            sc.abort();
            let err = ks.read(&mut b).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionReset, "kernel read: {err}");
        },
    );
}
both_families!(reset_each_way, reset);

// ---------------------------------------------------------------------
// 5. Connection refused both ways.

fn refused(family: Family) {
    run_case(
        &case("refused", family),
        Setup::new(family),
        |ctx| async move {
            let err = tokio::net::TcpStream::connect(ctx.synack_addr(7999))
                .await
                .unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::ConnectionRefused,
                "kernel → synack: {err}"
            );
            let err = ctx.stack.connect(ctx.kernel_addr(7999)).await.unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::ConnectionRefused,
                "synack → kernel: {err}"
            );
        },
    );
}
both_families!(connection_refused_both_ways, refused);

// ---------------------------------------------------------------------
// 6. The kernel with SACK, timestamps or window scaling off (each, and
// all): synack adapts, and a transfer each way completes.

const OPTIONS_BYTES: u64 = 20_000_000;

/// What the kernel has switched off.
#[derive(Clone, Copy, Debug)]
struct Off {
    sack: bool,
    timestamps: bool,
    window_scaling: bool,
}

fn check_options(
    role: &str,
    off: Off,
    neg: synack_core::conn::Negotiated,
    mss: usize,
    k: &synack_interop::ss::SsInfo,
    family: Family,
) {
    eprintln!(
        "[interop] {role}: synack {neg:?}, send MSS {mss}; kernel: {}",
        k.raw
    );
    assert_eq!(neg.sack, !off.sack, "{role}: SACK agreed");
    assert_eq!(neg.timestamps, !off.timestamps, "{role}: timestamps agreed");
    assert_eq!(
        neg.window_scaling, !off.window_scaling,
        "{role}: window scaling agreed"
    );
    assert_eq!(
        (k.sack, k.ts),
        (!off.sack, !off.timestamps),
        "{role}: kernel: {}",
        k.raw
    );
    assert_eq!(
        k.wscale.is_some(),
        !off.window_scaling,
        "{role}: kernel: {}",
        k.raw
    );
    let full = usize::from(family.mss_for_1500());
    let want = if off.timestamps { full } else { full - 12 };
    assert_eq!(mss, want, "{role}: synack's send MSS");
    assert_eq!(k.mss, Some(want as u32), "{role}: kernel's send MSS");
}

fn options_off(name: &str, family: Family, off: Off) {
    let mut setup = Setup::new(family);
    setup.snaplen = 128;
    for (on, key) in [
        (off.sack, "net.ipv4.tcp_sack"),
        (off.timestamps, "net.ipv4.tcp_timestamps"),
        (off.window_scaling, "net.ipv4.tcp_window_scaling"),
    ] {
        if on {
            setup = setup.sysctl(key, "0");
        }
    }
    let label = case(name, family);
    let l = label.clone();
    run_case(&label, setup, move |ctx| async move {
        // The kernel as the client: the agreement only.
        let listener = ctx.stack.bind(ctx.synack_addr(7000)).unwrap();
        let kc = tokio::net::TcpStream::connect(ctx.synack_addr(7000))
            .await
            .unwrap();
        let (s, _) = listener.accept().await.unwrap();
        let k = ctx.ss(s.local_addr().unwrap()).await.unwrap();
        check_options(
            "kernel client",
            off,
            s.negotiated().unwrap(),
            s.stats().unwrap().mss,
            &k,
            family,
        );
        drop((kc, s));

        // synack as the client: the agreement, then a transfer each way.
        let kl = tokio::net::TcpListener::bind(ctx.kernel_addr(7001))
            .await
            .unwrap();
        let sc = ctx.stack.connect(ctx.kernel_addr(7001)).await.unwrap();
        let (ks, _) = kl.accept().await.unwrap();
        let k = ctx.ss(sc.local_addr().unwrap()).await.unwrap();
        check_options(
            "synack client",
            off,
            sc.negotiated().unwrap(),
            sc.stats().unwrap().mss,
            &k,
            family,
        );
        let (mut sr, mut sw) = sc.into_split();
        let (mut kr, mut kw) = ks.into_split();
        let t = Instant::now();
        let up = tokio::spawn(async move {
            pattern::send(&mut sw, 30, OPTIONS_BYTES).await.unwrap();
            sw.shutdown().await.unwrap();
            sw
        });
        assert_eq!(
            pattern::recv(&mut kr, 30, |_| {}).await.unwrap(),
            OPTIONS_BYTES
        );
        let up_time = t.elapsed();
        let sw = up.await.unwrap();
        let t = Instant::now();
        let down = tokio::spawn(async move {
            pattern::send(&mut kw, 31, OPTIONS_BYTES).await.unwrap();
            kw.shutdown().await.unwrap();
        });
        assert_eq!(
            pattern::recv(&mut sr, 31, |_| {}).await.unwrap(),
            OPTIONS_BYTES
        );
        let down_time = t.elapsed();
        down.await.unwrap();
        let stats = sw.stats().unwrap();
        eprintln!(
            "[interop] {l}: synack→kernel {:.0} Mbit/s, kernel→synack {:.0} Mbit/s \
             (20 MB each, one after the other); synack: {} segments retransmitted, srtt {:?}",
            mbit_per_s(OPTIONS_BYTES, up_time),
            mbit_per_s(OPTIONS_BYTES, down_time),
            stats.retransmitted_segments,
            stats.srtt,
        );
    });
}

fn sack_off(family: Family) {
    let off = Off {
        sack: true,
        timestamps: false,
        window_scaling: false,
    };
    options_off("no-sack", family, off);
}
both_families!(kernel_without_sack, sack_off);

fn timestamps_off(family: Family) {
    let off = Off {
        sack: false,
        timestamps: true,
        window_scaling: false,
    };
    options_off("no-ts", family, off);
}
both_families!(kernel_without_timestamps, timestamps_off);

fn window_scaling_off(family: Family) {
    let off = Off {
        sack: false,
        timestamps: false,
        window_scaling: true,
    };
    options_off("no-wscale", family, off);
}
both_families!(kernel_without_window_scaling, window_scaling_off);

fn all_off(family: Family) {
    let off = Off {
        sack: true,
        timestamps: true,
        window_scaling: true,
    };
    options_off("no-options", family, off);
}
both_families!(kernel_without_any_option, all_off);

// ---------------------------------------------------------------------
// 7. Zero windows: a slow kernel reader with a tiny SO_RCVBUF, and synack
// with a tiny receive buffer and a slow reader.

const SLOW_BYTES: u64 = 128 * 1024;
const SLOW_BURST: u64 = 32 * 1024;
/// Longer than the minimum RTO (200 ms on both sides), so the sender's
/// persist timer fires and probes while the reader sleeps.
const SLOW_PAUSE: Duration = Duration::from_millis(600);

/// Reads `SLOW_BYTES` of stream `seed`, `SLOW_BURST` at a time with a
/// pause after each, then expects the end of the stream.
async fn slow_reader<R: tokio::io::AsyncRead + Unpin>(r: &mut R, seed: u64) {
    let mut p = pattern::Pattern::new(seed);
    let mut buf = vec![0u8; 1024];
    let mut want = vec![0u8; 1024];
    let mut total = 0u64;
    while total < SLOW_BYTES {
        let mut burst = 0u64;
        while burst < SLOW_BURST && total < SLOW_BYTES {
            let n = r.read(&mut buf).await.unwrap();
            assert!(n > 0, "stream ended after {total} bytes");
            p.fill(&mut want[..n]);
            assert_eq!(buf[..n], want[..n], "data differs after {total} bytes");
            total += n as u64;
            burst += n as u64;
        }
        tokio::time::sleep(SLOW_PAUSE).await;
    }
    assert_eq!(r.read(&mut buf).await.unwrap(), 0, "more data than sent");
}

fn zero_window_at_kernel(family: Family) {
    let mut setup = Setup::new(family);
    setup.check_capture = Some(|v| {
        if v.tcp.zero_window > 0 {
            Ok(())
        } else {
            Err("no zero-window segment in the capture".into())
        }
    });
    run_case(&case("zw-kernel", family), setup, |ctx| async move {
        let listener = ctx.stack.bind(ctx.synack_addr(7000)).unwrap();
        let socket = match ctx.family {
            Family::V4 => tokio::net::TcpSocket::new_v4(),
            Family::V6 => tokio::net::TcpSocket::new_v6(),
        }
        .unwrap();
        socket.set_recv_buffer_size(2048).unwrap();
        let mut kc = socket.connect(ctx.synack_addr(7000)).await.unwrap();
        let (s, _) = listener.accept().await.unwrap();
        let (_sr, mut sw) = s.into_split();
        let writer = tokio::spawn(async move {
            pattern::send(&mut sw, 40, SLOW_BYTES).await.unwrap();
            sw.shutdown().await.unwrap();
            sw
        });
        slow_reader(&mut kc, 40).await;
        let stats = writer.await.unwrap().stats().unwrap();
        eprintln!(
            "[interop] kernel SO_RCVBUF 2048, slow reader: synack sent {} window probes, {} retransmitted segments, {} RTOs",
            stats.window_probes, stats.retransmitted_segments, stats.timeouts
        );
        assert!(
            stats.window_probes > 0,
            "synack never probed the zero window: {stats:?}"
        );
    });
}
both_families!(zero_window_kernel_slow_reader, zero_window_at_kernel);

fn zero_window_at_synack(family: Family) {
    let mut setup = Setup::new(family);
    setup.stack.endpoint.conn.recv_buffer = 4096;
    setup.stack.endpoint.conn.recv_buffer_max = 4096;
    setup.check_capture = Some(|v| {
        if v.tcp.zero_window > 0 {
            Ok(())
        } else {
            Err("no zero-window segment in the capture".into())
        }
    });
    run_case(&case("zw-synack", family), setup, |ctx| async move {
        let listener = ctx.stack.bind(ctx.synack_addr(7000)).unwrap();
        let kc = tokio::net::TcpStream::connect(ctx.synack_addr(7000))
            .await
            .unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        let (_kr, mut kw) = kc.into_split();
        let writer = tokio::spawn(async move {
            pattern::send(&mut kw, 41, SLOW_BYTES).await.unwrap();
            kw.shutdown().await.unwrap();
        });
        slow_reader(&mut s, 41).await;
        writer.await.unwrap();
        let stats = s.stats().unwrap();
        eprintln!(
            "[interop] synack receive buffer 4096, slow reader: advertised window now {}, {} segments received",
            stats.receive_window, stats.segments_received
        );
    });
}
both_families!(zero_window_synack_slow_reader, zero_window_at_synack);

// ---------------------------------------------------------------------
// 8. Loss and reordering on synack's side of the device, both ways.

const LOSSY_BYTES: u64 = 10_000_000;

fn lossy(family: Family) {
    let mut setup = Setup::new(family);
    setup.snaplen = 128;
    setup.impairment = Some((
        synack_link::impair::ImpairmentConfig {
            loss: 0.015,
            reorder: 0.01,
            reorder_delay: synack_core::time::Duration::from_millis(3),
            delay: synack_core::time::Duration::from_millis(1),
            ..Default::default()
        },
        7,
    ));
    run_case(&case("lossy", family), setup, |ctx| async move {
        let listener = ctx.stack.bind(ctx.synack_addr(7000)).unwrap();
        let kl = tokio::net::TcpListener::bind(ctx.kernel_addr(7001))
            .await
            .unwrap();
        for role in ["kernel client", "synack client"] {
            let (s, k) = if role == "kernel client" {
                let kc = tokio::net::TcpStream::connect(ctx.synack_addr(7000))
                    .await
                    .unwrap();
                (listener.accept().await.unwrap().0, kc)
            } else {
                let sc = ctx.stack.connect(ctx.kernel_addr(7001)).await.unwrap();
                (sc, kl.accept().await.unwrap().0)
            };
            let synack_end = s.local_addr().unwrap();
            let start = Instant::now();
            let (mut sr, mut sw) = s.into_split();
            let (mut kr, mut kw) = k.into_split();
            let up = tokio::spawn(async move {
                pattern::send(&mut sw, 50, LOSSY_BYTES).await.unwrap();
                sw
            });
            let down = tokio::spawn(async move {
                pattern::send(&mut kw, 51, LOSSY_BYTES).await.unwrap();
                kw
            });
            let kernel_reads = tokio::spawn(async move {
                pattern::recv_exact(&mut kr, 50, LOSSY_BYTES).await.unwrap();
                kr
            });
            pattern::recv_exact(&mut sr, 51, LOSSY_BYTES).await.unwrap();
            let mut kr = kernel_reads.await.unwrap();
            let elapsed = start.elapsed();
            let mut sw = up.await.unwrap();
            let mut kw = down.await.unwrap();
            // The kernel's counters while the connection is still open.
            let k = ctx.ss(synack_end).await.unwrap();
            let stats = sw.stats().unwrap();
            sw.shutdown().await.unwrap();
            kw.shutdown().await.unwrap();
            assert_eq!(pattern::recv(&mut kr, 50, |_| {}).await.unwrap(), 0);
            assert_eq!(pattern::recv(&mut sr, 51, |_| {}).await.unwrap(), 0);
            eprintln!(
                "[interop] {role}: 10 MB each way at once over 1.5 % loss + 1 % reordering in {:.1} s \
                 ({:.1} Mbit/s each way); synack retransmitted {} segments ({} RTOs, {} fast recoveries, \
                 {} TLPs, {} spurious), the kernel {} ({} bytes)",
                elapsed.as_secs_f64(),
                mbit_per_s(LOSSY_BYTES, elapsed),
                stats.retransmitted_segments,
                stats.timeouts,
                stats.recovery.fast_recoveries,
                stats.recovery.tlp_probes,
                stats.recovery.spurious_retransmissions,
                k.retrans,
                k.bytes_retrans,
            );
            assert!(
                stats.retransmitted_segments > 0,
                "{role}: no loss repaired?"
            );
        }
    });
}
both_families!(loss_and_reordering, lossy);
