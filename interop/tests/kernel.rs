//! synack against the Linux kernel's TCP over a TUN device, each case in a
//! namespace of its own, IPv4 and IPv6, every capture judged by tshark
//! (see the crate's README for what each case checks).

use std::io::ErrorKind;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use synack_core::conn::Negotiated;
use synack_interop::lab::{Ctx, Family, Setup, run_case, run_case_checked};
use synack_interop::pattern::{self, mbit_per_s};
use synack_interop::ss::SsInfo;
use synack_interop::verdict::{self, Verdict, syn_options};
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

/// Who opens the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    /// A kernel socket connects to synack's listener.
    Kernel,
    /// synack connects to a kernel listener.
    Synack,
}

impl Client {
    const BOTH: [Client; 2] = [Client::Kernel, Client::Synack];

    fn label(self) -> &'static str {
        match self {
            Client::Kernel => "kernel client → synack server",
            Client::Synack => "synack client → kernel server",
        }
    }
}

/// A listener on each side: synack on port 7000, the kernel on 7001.
struct Listeners {
    synack: synack_tokio::TcpListener,
    kernel: tokio::net::TcpListener,
}

impl Listeners {
    async fn bind(ctx: &Ctx) -> Listeners {
        Listeners {
            synack: ctx.stack.bind_addr(ctx.synack_addr(7000)).unwrap(),
            kernel: tokio::net::TcpListener::bind(ctx.kernel_addr(7001))
                .await
                .unwrap(),
        }
    }

    /// A new connection opened by `client`: (synack's end, the kernel's).
    async fn pair(
        &self,
        ctx: &Ctx,
        client: Client,
    ) -> (synack_tokio::TcpStream, tokio::net::TcpStream) {
        match client {
            Client::Kernel => {
                let k = tokio::net::TcpStream::connect(ctx.synack_addr(7000))
                    .await
                    .unwrap();
                (self.synack.accept().await.unwrap().0, k)
            }
            Client::Synack => {
                let s = ctx.stack.connect(ctx.kernel_addr(7001)).await.unwrap();
                (s, self.kernel.accept().await.unwrap().0)
            }
        }
    }
}

/// Frames of the capture `file` from `ip` matching `filter`.
fn count_from(file: &Path, ip: IpAddr, filter: &str) -> u64 {
    verdict::count(file, &format!("({filter}) && {}", verdict::from(ip)))
        .unwrap_or_else(|e| panic!("tshark: {e}"))
}

/// `Err` unless the capture holds at least one frame from `ip` matching
/// `filter` (`what` names it in the message).
fn expect_some(v: &Verdict, ip: IpAddr, filter: &str, what: &str) -> Result<u64, String> {
    match count_from(&v.file, ip, filter) {
        0 => Err(format!("no {what} from {ip} in the capture ({filter})")),
        n => Ok(n),
    }
}

// ---------------------------------------------------------------------
// 1. Handshake with the kernel's full option set, both client roles.

/// What each side agreed on for one connection.
#[derive(Debug)]
struct Agreement {
    client: Client,
    /// synack's view.
    neg: Negotiated,
    /// The kernel's view.
    kernel: SsInfo,
}

/// Checks what the two sides agreed on, from synack's `negotiated()` and
/// `stats()` and the kernel's `ss -tnie`, against each other; returns
/// them for the check against the capture.
async fn check_agreement(ctx: &Ctx, s: &synack_tokio::TcpStream, client: Client) -> Agreement {
    let role = client.label();
    let neg = s.negotiated().unwrap();
    let stats = s.stats().unwrap();
    let k = ctx.ss(s.local_addr().unwrap()).await.unwrap();
    eprintln!("[interop] {role}: synack {neg:?}, mss {}", stats.mss);
    eprintln!("[interop] {role}: kernel {}", k.raw);
    let mss = ctx.family.mss_for_1500();
    assert!(
        neg.sack && neg.timestamps && neg.window_scaling,
        "{role}: {neg:?}"
    );
    assert_eq!(neg.peer_mss, mss, "{role}: the kernel's MSS option");
    // Both send MSS less the 12 bytes of the timestamp option.
    assert_eq!(
        stats.mss,
        usize::from(mss) - 12,
        "{role}: synack's send MSS"
    );
    assert_eq!(
        k.mss,
        Some(u32::from(mss) - 12),
        "{role}: kernel: {}",
        k.raw
    );
    assert_eq!(
        k.advmss,
        Some(u32::from(mss) - 12),
        "{role}: kernel: {}",
        k.raw
    );
    assert!(k.ts && k.sack, "{role}: kernel: {}", k.raw);
    // ss prints wscale:<the peer's shift>,<its own shift>.
    assert_eq!(
        k.wscale,
        Some((neg.rcv_shift, neg.snd_shift)),
        "{role}: kernel: {}",
        k.raw
    );
    Agreement {
        client,
        neg,
        kernel: k,
    }
}

/// The capture against both sides' views: one SYN and one SYN-ACK per
/// connection, each with the full option set; the kernel's MSS and shift
/// are the ones synack uses, synack's MSS and shift the ones the kernel
/// uses.
fn check_syns(family: Family, agreed: &[Agreement], v: &Verdict) -> Result<(), String> {
    let syns = syn_options(&v.file).map_err(|e| e.to_string())?;
    eprintln!("[interop] SYN options: {syns:?}");
    if syns.len() != 2 * agreed.len() {
        return Err(format!(
            "expected one SYN and one SYN-ACK per connection, saw {syns:?}"
        ));
    }
    let kernel = family.kernel_ip().to_string();
    let synack = family.synack_ip().to_string();
    for a in agreed {
        // The client's SYN and the server's SYN-ACK.
        let (kernel_ack, synack_ack) = match a.client {
            Client::Kernel => (false, true),
            Client::Synack => (true, false),
        };
        let find = |src: &str, ack: bool| {
            syns.iter()
                .find(|s| s.src == src && s.ack == ack)
                .ok_or_else(|| format!("{}: no SYN (ack {ack}) from {src}", a.client.label()))
        };
        let k = find(&kernel, kernel_ack)?;
        let s = find(&synack, synack_ack)?;
        let role = a.client.label();
        if !k.full_set() || !s.full_set() {
            return Err(format!("{role}: not the full option set: {k:?} {s:?}"));
        }
        let kernel_mss = u32::from(k.mss.unwrap_or(0));
        let synack_mss = u32::from(s.mss.unwrap_or(0));
        let checks = [
            (
                "kernel's MSS option = synack's peer_mss",
                kernel_mss,
                u32::from(a.neg.peer_mss),
            ),
            (
                "synack's MSS option for a 1500-byte MTU",
                synack_mss,
                u32::from(family.mss_for_1500()),
            ),
            (
                "synack's MSS option − 12 = the kernel's send MSS",
                synack_mss - 12,
                a.kernel.mss.unwrap_or(0),
            ),
            (
                "kernel's shift = synack's snd_shift",
                u32::from(k.wscale.unwrap_or(99)),
                u32::from(a.neg.snd_shift),
            ),
            (
                "synack's shift = synack's rcv_shift",
                u32::from(s.wscale.unwrap_or(99)),
                u32::from(a.neg.rcv_shift),
            ),
            (
                "synack's shift = the kernel's snd_wscale",
                u32::from(s.wscale.unwrap_or(99)),
                u32::from(a.kernel.wscale.map_or(98, |w| w.0)),
            ),
            (
                "kernel's shift = the kernel's rcv_wscale",
                u32::from(k.wscale.unwrap_or(99)),
                u32::from(a.kernel.wscale.map_or(98, |w| w.1)),
            ),
        ];
        for (what, seen, agreed) in checks {
            if seen != agreed {
                return Err(format!("{role}: {what}: capture {seen}, agreed {agreed}"));
            }
        }
    }
    Ok(())
}

fn handshake(family: Family) {
    run_case_checked(
        &case("handshake", family),
        Setup::new(family),
        |ctx| async move {
            let l = Listeners::bind(&ctx).await;
            let mut agreed = Vec::new();
            for client in Client::BOTH {
                let (mut s, mut k) = l.pair(&ctx, client).await;
                agreed.push(check_agreement(&ctx, &s, client).await);
                k.write_all(b"ping").await.unwrap();
                let mut b = [0; 4];
                s.read_exact(&mut b).await.unwrap();
                assert_eq!(&b, b"ping");
                s.write_all(b"pong").await.unwrap();
                k.read_exact(&mut b).await.unwrap();
                assert_eq!(&b, b"pong");
                drop(k);
                s.close().await.unwrap();
            }
            agreed
        },
        |agreed, v| check_syns(family, agreed, v),
    );
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

fn bulk(family: Family, client: Client) {
    let name = match client {
        Client::Kernel => "bulk-kc",
        Client::Synack => "bulk-sc",
    };
    let mut setup = Setup::new(family);
    setup.snaplen = 128;
    setup.limit = Duration::from_secs(100);
    run_case(&case(name, family), setup, move |ctx| async move {
        let (s, k) = Listeners::bind(&ctx).await.pair(&ctx, client).await;
        both_ways(client.label(), s, k).await;
    });
}

fn bulk_kernel_client(family: Family) {
    bulk(family, Client::Kernel)
}
both_families!(bulk_100mb_each_way_kernel_client, bulk_kernel_client);

fn bulk_synack_client(family: Family) {
    bulk(family, Client::Synack)
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
    run_case_checked(
        &case("half-close", family),
        Setup::new(family),
        |ctx| async move {
            let l = Listeners::bind(&ctx).await;
            for synack_first in [true, false] {
                for client in Client::BOTH {
                    let (s, k) = l.pair(&ctx, client).await;
                    if synack_first {
                        synack_shuts_first(s, k).await;
                    } else {
                        kernel_shuts_first(s, k).await;
                    }
                    eprintln!(
                        "[interop] half-close, {}, synack shut first: {synack_first}: ok",
                        client.label()
                    );
                }
            }
        },
        |_, v| {
            // Four connections, each closed by both sides: no reset.
            let fins = |ip| count_from(&v.file, ip, "tcp.flags.fin==1");
            let (k, s) = (fins(family.kernel_ip()), fins(family.synack_ip()));
            if k < 4 || s < 4 || v.tcp.reset > 0 {
                return Err(format!(
                    "FINs: kernel {k}, synack {s}; resets {}",
                    v.tcp.reset
                ));
            }
            Ok(())
        },
    );
}
both_families!(half_close_each_way, half_close);

// ---------------------------------------------------------------------
// 4. Abortive close each way.

/// `Err` unless both sides sent at least `n` resets.
fn resets_from_both(family: Family, v: &Verdict, n: u64) -> Result<(), String> {
    let rst = |ip| count_from(&v.file, ip, "tcp.flags.reset==1");
    let (k, s) = (rst(family.kernel_ip()), rst(family.synack_ip()));
    if k < n || s < n {
        return Err(format!(
            "resets: kernel {k}, synack {s}; want {n} or more each"
        ));
    }
    Ok(())
}

fn reset(family: Family) {
    run_case_checked(
        &case("reset", family),
        Setup::new(family),
        |ctx| async move {
            let l = Listeners::bind(&ctx).await;
            let mut b = [0; 5];
            for client in Client::BOTH {
                let role = client.label();
                // synack aborts (after sending data the kernel has read):
                // the kernel's read fails with ECONNRESET.
                let (mut s, mut k) = l.pair(&ctx, client).await;
                s.write_all(b"hello").await.unwrap();
                k.read_exact(&mut b).await.unwrap();
                s.abort();
                let err = k.read(&mut b).await.unwrap_err();
                assert_eq!(
                    err.kind(),
                    ErrorKind::ConnectionReset,
                    "{role}: kernel read: {err}"
                );

                // The kernel closes with SO_LINGER 0: synack's read fails
                // with ConnectionReset.
                let (mut s, k) = l.pair(&ctx, client).await;
                k.set_zero_linger().unwrap();
                drop(k);
                let err = s.read(&mut b).await.unwrap_err();
                assert_eq!(
                    err.kind(),
                    ErrorKind::ConnectionReset,
                    "{role}: synack read: {err}"
                );
            }
        },
        |_, v| resets_from_both(family, v, 2),
    );
}
both_families!(reset_each_way, reset);

// ---------------------------------------------------------------------
// 5. Connection refused both ways.

fn refused(family: Family) {
    run_case_checked(
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
        // Each side answered the other's SYN with a reset.
        |_, v| resets_from_both(family, v, 1),
    );
}
both_families!(connection_refused_both_ways, refused);

// ---------------------------------------------------------------------
// 6. The kernel with SACK, timestamps or window scaling off (each, and
// all): synack adapts, and a transfer each way completes.

const OPTIONS_BYTES: u64 = 20_000_000;
/// The least rate either way that counts as sensible for 20 MB over a
/// TUN device without the option (the debug build on a loaded machine
/// makes 100–300 Mbit/s; a retransmission timeout per window would be
/// under 5).
const OPTIONS_MIN_MBIT: f64 = 10.0;

/// What the kernel has switched off.
#[derive(Clone, Copy, Debug)]
struct Off {
    sack: bool,
    timestamps: bool,
    window_scaling: bool,
}

impl Off {
    const SACK: Off = Off {
        sack: true,
        timestamps: false,
        window_scaling: false,
    };
    const TIMESTAMPS: Off = Off {
        sack: false,
        timestamps: true,
        window_scaling: false,
    };
    const WINDOW_SCALING: Off = Off {
        sack: false,
        timestamps: false,
        window_scaling: true,
    };
    const ALL: Off = Off {
        sack: true,
        timestamps: true,
        window_scaling: true,
    };

    /// The TCP option kinds switched off: 4 SACK-permitted, 8 timestamps,
    /// 3 window scale.
    fn kinds(self) -> Vec<u8> {
        [
            (self.sack, 4),
            (self.timestamps, 8),
            (self.window_scaling, 3),
        ]
        .into_iter()
        .filter_map(|(off, kind)| off.then_some(kind))
        .collect()
    }
}

fn check_options(role: &str, off: Off, s: &synack_tokio::TcpStream, k: &SsInfo, family: Family) {
    let neg = s.negotiated().unwrap();
    let mss = s.stats().unwrap().mss;
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
    if off.window_scaling {
        assert_eq!((neg.rcv_shift, neg.snd_shift), (0, 0), "{role}: shifts");
    }
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

/// The capture: no SYN from the kernel, and no SYN-ACK from synack,
/// carries an option the kernel has switched off (synack may not answer
/// with an option the SYN did not offer); synack's own SYN still offers
/// the full set.
fn check_syns_without(family: Family, off: Off, v: &Verdict) -> Result<(), String> {
    let syns = syn_options(&v.file).map_err(|e| e.to_string())?;
    let kernel = family.kernel_ip().to_string();
    let synack = family.synack_ip().to_string();
    if syns.len() != 4 {
        return Err(format!("expected 2 SYNs and 2 SYN-ACKs: {syns:?}"));
    }
    for syn in &syns {
        let offered_off = off.kinds().into_iter().any(|k| syn.kinds.contains(&k));
        let ok = if syn.src == kernel || syn.ack {
            !offered_off
        } else {
            syn.src == synack && syn.full_set()
        };
        if !ok {
            return Err(format!("options off {off:?}, yet: {syn:?}"));
        }
    }
    Ok(())
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
    run_case_checked(
        &label,
        setup,
        move |ctx| async move {
            let listeners = Listeners::bind(&ctx).await;
            for client in Client::BOTH {
                let role = client.label();
                let (s, k) = listeners.pair(&ctx, client).await;
                let info = ctx.ss(s.local_addr().unwrap()).await.unwrap();
                check_options(role, off, &s, &info, family);
                // A transfer each way, one after the other.
                let (mut sr, mut sw) = s.into_split();
                let (mut kr, mut kw) = k.into_split();
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
                let up_rate = mbit_per_s(OPTIONS_BYTES, t.elapsed());
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
                let down_rate = mbit_per_s(OPTIONS_BYTES, t.elapsed());
                down.await.unwrap();
                let stats = sw.stats().unwrap();
                eprintln!(
                    "[interop] {l}, {role}: synack→kernel {up_rate:.0} Mbit/s, \
                     kernel→synack {down_rate:.0} Mbit/s (20 MB each, one after the other); \
                     synack: {} segments retransmitted, {} RTOs, srtt {:?}",
                    stats.retransmitted_segments, stats.timeouts, stats.srtt,
                );
                assert!(
                    up_rate >= OPTIONS_MIN_MBIT && down_rate >= OPTIONS_MIN_MBIT,
                    "{l}, {role}: too slow: synack→kernel {up_rate:.1}, \
                     kernel→synack {down_rate:.1} Mbit/s (floor {OPTIONS_MIN_MBIT})"
                );
            }
        },
        move |_, v| check_syns_without(family, off, v),
    );
}

fn sack_off(family: Family) {
    options_off("no-sack", family, Off::SACK);
}
both_families!(kernel_without_sack, sack_off);

fn timestamps_off(family: Family) {
    options_off("no-ts", family, Off::TIMESTAMPS);
}
both_families!(kernel_without_timestamps, timestamps_off);

fn window_scaling_off(family: Family) {
    options_off("no-wscale", family, Off::WINDOW_SCALING);
}
both_families!(kernel_without_window_scaling, window_scaling_off);

fn all_off(family: Family) {
    options_off("no-options", family, Off::ALL);
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

/// Filters for tshark's two-pass TCP analysis.
const ZERO_WINDOW: &str = "tcp.analysis.zero_window";
/// Linux and synack probe at SND.UNA−1, which tshark calls a keep-alive.
const PROBE: &str = "tcp.analysis.zero_window_probe || tcp.analysis.keep_alive";
const WINDOW_UPDATE: &str = "tcp.analysis.window_update";

/// (frame number, seconds since the first frame) of each frame from `ip`
/// matching `filter`.
fn frame_times(v: &Verdict, ip: IpAddr, filter: &str) -> Vec<(u64, f64)> {
    let filter = format!("({filter}) && {}", verdict::from(ip));
    verdict::fields(&v.file, &filter, &["frame.number", "frame.time_relative"])
        .unwrap_or_else(|e| panic!("tshark: {e}"))
        .iter()
        .map(|f| (f[0].parse().unwrap(), f[1].parse().unwrap()))
        .collect()
}

/// The capture of a zero-window case: the receiver at `receiver`
/// advertised zero windows and reopened them with window updates; the
/// sender at `sender` probed; the receiver answered every probe with an
/// ACK within 100 ms. (tshark marks those answers as zero windows, not as
/// probe ACKs, so the answer is found by time.)
fn zero_window_exchange(v: &Verdict, receiver: IpAddr, sender: IpAddr) -> Result<(), String> {
    let zero = expect_some(v, receiver, ZERO_WINDOW, "zero window")?;
    let updates = expect_some(v, receiver, WINDOW_UPDATE, "window update")?;
    let probes = frame_times(v, sender, PROBE);
    if probes.is_empty() {
        return Err(format!("no window probe from {sender} ({PROBE})"));
    }
    let acks = frame_times(v, receiver, "tcp.len == 0");
    for &(frame, at) in &probes {
        if !acks.iter().any(|&(f, t)| f > frame && t - at < 0.1) {
            return Err(format!(
                "the window probe in frame {frame} from {sender} got no ACK from {receiver} within 100 ms"
            ));
        }
    }
    eprintln!(
        "[interop] zero windows from {receiver}: {zero}; probes from {sender}: {}, all \
         answered; window updates {updates}",
        probes.len()
    );
    Ok(())
}

fn zero_window_at_kernel(family: Family) {
    run_case_checked(
        &case("zw-kernel", family),
        Setup::new(family),
        |ctx| async move {
            let listener = ctx.stack.bind_addr(ctx.synack_addr(7000)).unwrap();
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
                "[interop] kernel SO_RCVBUF 2048, slow reader: synack sent {} window probes, \
                 {} retransmitted segments, {} RTOs",
                stats.window_probes, stats.retransmitted_segments, stats.timeouts
            );
            assert!(
                stats.window_probes > 0,
                "synack never probed the zero window: {stats:?}"
            );
        },
        |_, v| zero_window_exchange(v, family.kernel_ip(), family.synack_ip()),
    );
}
both_families!(zero_window_kernel_slow_reader, zero_window_at_kernel);

fn zero_window_at_synack(family: Family) {
    let mut setup = Setup::new(family);
    setup.stack.endpoint.conn.recv_buffer = 4096;
    setup.stack.endpoint.conn.recv_buffer_max = 4096;
    run_case_checked(
        &case("zw-synack", family),
        setup,
        |ctx| async move {
            let listener = ctx.stack.bind_addr(ctx.synack_addr(7000)).unwrap();
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
                "[interop] synack receive buffer 4096, slow reader: advertised window now {}, \
                 {} segments received",
                stats.receive_window, stats.segments_received
            );
        },
        |_, v| zero_window_exchange(v, family.synack_ip(), family.kernel_ip()),
    );
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
            loss: synack_link::impair::LossModel::Bernoulli(0.015),
            reorder: 0.01,
            reorder_delay: synack_core::Duration::from_millis(3),
            delay: synack_core::Duration::from_millis(1),
            ..Default::default()
        },
        7,
    ));
    run_case_checked(
        &case("lossy", family),
        setup,
        |ctx| async move {
            let l = Listeners::bind(&ctx).await;
            for client in Client::BOTH {
                let role = client.label();
                let (s, k) = l.pair(&ctx, client).await;
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
                let r = &stats.recovery;
                eprintln!(
                    "[interop] {role}: 10 MB each way at once over 1.5 % loss + 1 % reordering \
                     in {:.1} s ({:.1} Mbit/s each way); synack retransmitted {} segments \
                     ({} RTOs, {} fast recoveries, {} marked lost by RACK, {} TLPs, \
                     {} spurious), the kernel {} ({} bytes)",
                    elapsed.as_secs_f64(),
                    mbit_per_s(LOSSY_BYTES, elapsed),
                    stats.retransmitted_segments,
                    stats.timeouts,
                    r.fast_recoveries,
                    r.rack_marked_lost,
                    r.tlp_probes,
                    r.spurious_retransmissions,
                    k.retrans,
                    k.bytes_retrans,
                );
                // Both sides repaired losses, synack by SACK-based fast
                // recovery with RACK marking the losses.
                assert!(stats.retransmitted_segments > 0, "{role}: {stats:?}");
                assert!(r.fast_recoveries > 0, "{role}: no fast recovery: {r:?}");
                assert!(
                    r.rack_marked_lost > 0,
                    "{role}: RACK marked nothing lost: {r:?}"
                );
                assert!(
                    k.retrans > 0,
                    "{role}: the kernel retransmitted nothing: {}",
                    k.raw
                );
                assert!(k.sack, "{role}: SACK not agreed: {}", k.raw);
            }
        },
        |_, v| {
            // SACK exercised both ways: each side's ACKs carried SACK
            // blocks for the holes the impairment made in what it received;
            // each side's retransmissions are in the capture.
            let (kernel, synack) = (family.kernel_ip(), family.synack_ip());
            let sacks = (
                expect_some(v, kernel, "tcp.options.sack_le", "SACK block")?,
                expect_some(v, synack, "tcp.options.sack_le", "SACK block")?,
            );
            let retrans = "tcp.analysis.retransmission || tcp.analysis.fast_retransmission";
            let rtx = (
                expect_some(v, kernel, retrans, "retransmission")?,
                expect_some(v, synack, retrans, "retransmission")?,
            );
            eprintln!(
                "[interop] lossy capture: SACK blocks kernel {} / synack {}; retransmissions \
                 kernel {} / synack {}",
                sacks.0, sacks.1, rtx.0, rtx.1
            );
            Ok(())
        },
    );
}
both_families!(loss_and_reordering, lossy);

// ---------------------------------------------------------------------
// ECN (RFC 3168) with the kernel: `net.ipv4.tcp_ecn = 1` in the namespace
// (it asks and agrees; IPv6 too), synack asking as well, and every 200th
// ECN-capable packet each way marked CE between synack and the device
// (`synack_interop::mark`: this kernel has no AQM qdisc to mark).

/// Bytes each way per connection in the ECN case.
const ECN_BYTES: u64 = 4_000_000;

/// The capture's ECN field for `family`.
fn ecn_field(family: Family) -> &'static str {
    match family {
        Family::V4 => "ip.dsfield.ecn",
        Family::V6 => "ipv6.tclass.ecn",
    }
}

/// The ECN exchange in the capture, for both connections: the SYNs ask
/// and the SYN-ACKs agree; synack's data goes ECT(0) and its pure ACKs
/// Not-ECT; synack's marked data makes the kernel echo ECE and synack
/// answer with CWR; the marks on the kernel's data (made after the
/// capture saw them) make synack echo ECE and the kernel answer with CWR.
fn check_ecn_capture(family: Family, v: &Verdict) -> Result<(), String> {
    let (kernel, synack) = (family.kernel_ip(), family.synack_ip());
    let ecn = ecn_field(family);
    let syn = "tcp.flags.syn == 1 && tcp.flags.ack == 0";
    let syn_ack = "tcp.flags.syn == 1 && tcp.flags.ack == 1";
    let asks = format!("{syn} && tcp.flags.ece == 1 && tcp.flags.cwr == 1");
    let agrees = format!("{syn_ack} && tcp.flags.ece == 1 && tcp.flags.cwr == 0");
    for ip in [kernel, synack] {
        expect_some(v, ip, &asks, "ECN-setup SYN")?;
        expect_some(v, ip, &agrees, "ECN-setup SYN-ACK")?;
    }
    let data = "tcp.flags.syn == 0 && tcp.len > 0";
    let pure_ack = "tcp.flags.syn == 0 && tcp.len == 0";
    let ect0 = expect_some(v, synack, &format!("{data} && {ecn} == 2"), "ECT(0) data")?;
    let marked = expect_some(
        v,
        synack,
        &format!("{data} && {ecn} == 3"),
        "CE-marked data",
    )?;
    let ect_acks = count_from(&v.file, synack, &format!("{pure_ack} && {ecn} != 0"));
    if ect_acks > 0 {
        return Err(format!("{ect_acks} pure ACKs from synack ECN-capable"));
    }
    let not_syn = "tcp.flags.syn == 0";
    let echoes = (
        expect_some(
            v,
            kernel,
            &format!("{not_syn} && tcp.flags.ece == 1"),
            "ECE",
        )?,
        expect_some(
            v,
            synack,
            &format!("{not_syn} && tcp.flags.ece == 1"),
            "ECE",
        )?,
    );
    let cwrs = (
        expect_some(
            v,
            kernel,
            &format!("{not_syn} && tcp.flags.cwr == 1"),
            "CWR",
        )?,
        expect_some(
            v,
            synack,
            &format!("{not_syn} && tcp.flags.cwr == 1"),
            "CWR",
        )?,
    );
    eprintln!(
        "[interop] ECN capture: synack data ECT(0) {ect0}, CE {marked}; ECE kernel {} / \
         synack {}; CWR kernel {} / synack {}",
        echoes.0, echoes.1, cwrs.0, cwrs.1
    );
    Ok(())
}

fn ecn_with_kernel(family: Family) {
    let mut setup = Setup::new(family).sysctl("net.ipv4.tcp_ecn", "1");
    setup.stack.endpoint.conn.ecn = synack_core::conn::EcnMode::On;
    setup.mark_ce_every = Some(200);
    setup.snaplen = 128;
    let label = case("ecn", family);
    let l = label.clone();
    run_case_checked(
        &label,
        setup,
        move |ctx| async move {
            let listeners = Listeners::bind(&ctx).await;
            for client in Client::BOTH {
                let role = client.label();
                let (s, k) = listeners.pair(&ctx, client).await;
                assert!(
                    s.negotiated().unwrap().ecn,
                    "{role}: synack did not agree ECN"
                );
                let info = ctx.ss(s.local_addr().unwrap()).await.unwrap();
                assert!(
                    info.raw.split_whitespace().any(|w| w == "ecn"),
                    "{role}: the kernel did not agree ECN: {}",
                    info.raw
                );
                // Both ways at once, so each side sends and echoes.
                let (mut sr, mut sw) = s.into_split();
                let (mut kr, mut kw) = k.into_split();
                let up = tokio::spawn(async move {
                    pattern::send(&mut sw, 40, ECN_BYTES).await.unwrap();
                    sw.shutdown().await.unwrap();
                    sw
                });
                let down = tokio::spawn(async move {
                    pattern::send(&mut kw, 41, ECN_BYTES).await.unwrap();
                    kw.shutdown().await.unwrap();
                });
                // Both read at once too: neither receiver holds the other
                // side back with a full buffer.
                let (to_kernel, to_synack) = tokio::join!(
                    pattern::recv(&mut kr, 40, |_| {}),
                    pattern::recv(&mut sr, 41, |_| {})
                );
                assert_eq!(to_kernel.unwrap(), ECN_BYTES);
                assert_eq!(to_synack.unwrap(), ECN_BYTES);
                let sw = up.await.unwrap();
                down.await.unwrap();
                let e = sw.stats().unwrap().ecn;
                eprintln!("[interop] {l}, {role}: synack {e:?}");
                assert!(
                    e.ce_received > 0 && e.ece_received > 0 && e.responses > 0 && e.cwr_sent > 0,
                    "{role}: {e:?}"
                );
            }
        },
        move |_, v| check_ecn_capture(family, v),
    );
}
both_families!(ecn_negotiated_marked_echoed_and_answered, ecn_with_kernel);
