//! Set-ups with more than one namespace.
//!
//! - [`bottleneck`]: a kernel flow and a synack flow share one rate-limited
//!   link. Namespace A holds synack's TUN device and forwards to namespace
//!   B over a veth pair whose egress in A is a token bucket (`tc tbf`)
//!   with a bounded queue; the kernel sender is in namespace K, behind A
//!   on a second veth pair; the receivers (kernel sockets) are in B. Both
//!   flows are forwarded by A into the same queue.
//! - [`throughput`]: kernel↔kernel through a userspace relay between two TUN
//!   devices (namespaces C and S, one device each, a task copying packets
//!   between them), next to synack↔kernel over one TUN device, in the same
//!   run.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use synack_core::cc::CcAlgorithm;
use synack_link::tun::{TunConfig, TunLink};
use synack_tokio::link::Tun;
use synack_tokio::{Stack, StackConfig};
use tokio::io::AsyncWriteExt;
use tokio::io::unix::AsyncFd;

use crate::capture::{Capture, CaptureStats};
use crate::lab::{ArtifactDir, configure_ipv6};
use crate::netns::Netns;
use crate::pattern::{self, mbit_per_s};
use crate::verdict::Verdict;

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// Runs tshark on each capture, prints the verdicts, and fails on an
/// error. Captures flagged `true` are of a device with checksum offload
/// (veth), whose checksums are not validated.
pub fn judge(case: &str, captures: &[(CaptureStats, bool)]) -> Vec<Verdict> {
    captures
        .iter()
        .map(|(c, offloaded)| {
            let v = if *offloaded {
                Verdict::of_offloaded(&c.path)
            } else {
                Verdict::of(&c.path)
            }
            .expect("run tshark");
            eprint!("[interop] {case}: {v}");
            if c.dropped > 0 {
                eprintln!("[interop] {case}: tcpdump dropped {} packets", c.dropped);
            }
            if let Err(e) = v.check() {
                panic!("{case}: {e}");
            }
            v
        })
        .collect()
}

// ---------------------------------------------------------------------
// The shared bottleneck.

/// One flow's result at the bottleneck.
#[derive(Clone, Debug)]
pub struct FlowResult {
    /// Who sent it: `kernel reno`, `synack cubic`…
    pub label: String,
    /// Bytes the sender wrote (all received and checked).
    pub bytes: u64,
    /// Goodput over the measured interval (after the first 2 s), Mbit/s.
    pub mbit_per_s: f64,
}

/// Both flows and how they shared the link.
#[derive(Clone, Debug)]
pub struct Sharing {
    /// The kernel's flow, then synack's.
    pub flows: [FlowResult; 2],
    /// Jain's fairness index of the two goodputs: 1 is an even split,
    /// 0.5 one flow taking everything.
    pub jain: f64,
    /// The bottleneck's rate, Mbit/s.
    pub rate_mbit: u32,
    /// tshark's verdicts: synack's TUN device in A, the veth end in B.
    pub verdicts: Vec<Verdict>,
}

impl Sharing {
    /// A flow's share of the two goodputs.
    pub fn share(&self, i: usize) -> f64 {
        let total: f64 = self.flows.iter().map(|f| f.mbit_per_s).sum();
        self.flows[i].mbit_per_s / total.max(1e-9)
    }
}

/// Jain's fairness index.
pub fn jain(x: &[f64]) -> f64 {
    let sum: f64 = x.iter().sum();
    let squares: f64 = x.iter().map(|v| v * v).sum();
    if squares == 0.0 {
        return 0.0;
    }
    sum * sum / (x.len() as f64 * squares)
}

/// How the bottleneck case runs.
#[derive(Clone, Debug)]
pub struct BottleneckSpec {
    /// Case name (namespaces, artifacts).
    pub case: String,
    /// The kernel's congestion controller (`reno`, `cubic`, `bbr`).
    pub kernel_cc: String,
    /// synack's.
    pub synack_cc: CcAlgorithm,
    /// Link rate in Mbit/s.
    pub rate_mbit: u32,
    /// Queue of the token bucket in bytes.
    pub queue_bytes: u32,
    /// How long both flows send.
    pub duration: Duration,
}

/// Whether the kernel offers congestion controller `name`; tries loading
/// its module once (`modprobe tcp_NAME`) if not.
pub fn kernel_has_cc(name: &str) -> bool {
    let path = "/proc/sys/net/ipv4/tcp_available_congestion_control";
    let has = || {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .split_whitespace()
            .any(|c| c == name)
    };
    if has() {
        return true;
    }
    let _ = crate::netns::run("modprobe", &[&format!("tcp_{name}")]);
    has()
}

const PORT_KERNEL_FLOW: u16 = 7100;
const PORT_SYNACK_FLOW: u16 = 7101;
/// Bytes before which a receiver's rate is not measured (slow start).
const WARMUP: Duration = Duration::from_secs(2);

/// Reads and checks stream `seed`; bytes in the measured interval
/// (`WARMUP` after `start` until the end) and the total.
async fn measured_reader(
    mut s: tokio::net::TcpStream,
    seed: u64,
    start: Instant,
) -> io::Result<(u64, u64, Duration)> {
    let mut at_warmup = None;
    let mut last = (0u64, start);
    let total = pattern::recv(&mut s, seed, |n| {
        let now = Instant::now();
        if at_warmup.is_none() && now >= start + WARMUP {
            at_warmup = Some((n, now));
        }
        last = (n, now);
    })
    .await?;
    let (n0, t0) = at_warmup.unwrap_or((0, start));
    Ok((total, last.0 - n0, last.1.saturating_duration_since(t0)))
}

/// Runs the bottleneck case: see the [module documentation](self).
pub fn bottleneck(spec: &BottleneckSpec) -> Sharing {
    let case = spec.case.as_str();
    let dir = ArtifactDir::new(case).expect("artifact directory");
    let a = Netns::create(&format!("{case}-a")).expect("namespace A");
    let b = Netns::create(&format!("{case}-b")).expect("namespace B");
    let k = Netns::create(&format!("{case}-k")).expect("namespace K");
    for ns in [&a, &b, &k] {
        configure_ipv6(ns, false).expect("IPv6 off");
    }
    // The kernel sender sits in K behind A, so both flows are forwarded by
    // A into the bottleneck. A sender on A itself would hear of every
    // drop in A's queue at once (the qdisc refuses its packet and TCP
    // backs off) while synack's forwarded flow learns of its drops a round
    // trip later: an unfair test, not a property of either TCP.
    a.ip(&[
        "link",
        "add",
        "vka",
        "type",
        "veth",
        "peer",
        "name",
        "vk",
        "netns",
        k.name(),
    ])
    .expect("veth pair A–K");
    a.ip(&["addr", "add", "10.89.0.1/24", "dev", "vka"])
        .unwrap();
    k.ip(&["addr", "add", "10.89.0.2/24", "dev", "vk"]).unwrap();
    a.ip(&["link", "set", "vka", "up"]).unwrap();
    k.ip(&["link", "set", "vk", "up"]).unwrap();
    k.ip(&["route", "add", "default", "via", "10.89.0.1"])
        .unwrap();
    // veth A:va (10.88.0.1) — B:vb (10.88.0.2); A forwards for the TUN
    // network 10.77.0.0/24, B routes it back through A.
    a.ip(&[
        "link",
        "add",
        "va",
        "type",
        "veth",
        "peer",
        "name",
        "vb",
        "netns",
        b.name(),
    ])
    .expect("veth pair");
    a.ip(&["addr", "add", "10.88.0.1/24", "dev", "va"]).unwrap();
    b.ip(&["addr", "add", "10.88.0.2/24", "dev", "vb"]).unwrap();
    a.ip(&["link", "set", "va", "up"]).unwrap();
    b.ip(&["link", "set", "vb", "up"]).unwrap();
    b.ip(&["route", "add", "10.77.0.0/24", "via", "10.88.0.1"])
        .unwrap();
    b.ip(&["route", "add", "10.89.0.0/24", "via", "10.88.0.1"])
        .unwrap();
    a.sysctl("net.ipv4.ip_forward", "1").unwrap();
    // The bottleneck: A's egress toward B.
    let rate = format!("{}mbit", spec.rate_mbit);
    let limit = spec.queue_bytes.to_string();
    crate::netns::run(
        "tc",
        &[
            "-n",
            a.name(),
            "qdisc",
            "add",
            "dev",
            "va",
            "root",
            "tbf",
            "rate",
            &rate,
            "burst",
            "16kb",
            "limit",
            &limit,
        ],
    )
    .expect("tc tbf on the veth (is sch_tbf available?)");

    let start_gate = Instant::now() + Duration::from_secs(2);
    let duration = spec.duration;
    let limit_all = duration + Duration::from_secs(60);

    // Receivers in B.
    let (ready_tx, ready_rx) = mpsc::channel();
    let b_pcap = dir.path().join(format!("{case}-b.pcap"));
    let b_name = b.name().to_string();
    let receivers = b.spawn_async("receivers", limit_all, move || async move {
        let kl = tokio::net::TcpListener::bind("10.88.0.2:7100")
            .await
            .unwrap();
        let sl = tokio::net::TcpListener::bind("10.88.0.2:7101")
            .await
            .unwrap();
        let capture = Capture::start(&b_name, "vb", &b_pcap, 128).expect("tcpdump in B");
        ready_tx.send(()).unwrap();
        let (k, _) = kl.accept().await.unwrap();
        let (s, _) = sl.accept().await.unwrap();
        let kr = tokio::spawn(measured_reader(k, 60, start_gate));
        let sr = measured_reader(s, 61, start_gate).await.unwrap();
        let kr = kr.await.unwrap().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        (kr, sr, capture.stop().expect("stop tcpdump in B"))
    });
    ready_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("receivers in B ready");

    // The kernel's sender in K, its controller set per socket
    // (TCP_CONGESTION): a namespace may only make the initial namespace's
    // allowed controllers its default.
    let kernel_cc = spec.kernel_cc.clone();
    let kernel_sender = k.spawn_async("kernel sender", limit_all, move || async move {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        let sock = socket2::SockRef::from(&socket);
        sock.set_tcp_congestion(kernel_cc.as_bytes())
            .unwrap_or_else(|e| panic!("TCP_CONGESTION {kernel_cc}: {e}"));
        let set = sock.tcp_congestion().unwrap();
        let set: Vec<u8> = set.into_iter().take_while(|&b| b != 0).collect();
        assert_eq!(set, kernel_cc.as_bytes(), "the kernel socket's controller");
        let mut conn = socket
            .connect(SocketAddr::new(v4(10, 88, 0, 2), PORT_KERNEL_FLOW))
            .await
            .unwrap();
        tokio::time::sleep_until(start_gate.into()).await;
        let n = pattern::send_for(&mut conn, 60, duration).await.unwrap();
        conn.shutdown().await.unwrap();
        n
    });

    // synack's sender in A, on the TUN device.
    let a_pcap = dir.path().join(format!("{case}-a.pcap"));
    let a_name = a.name().to_string();
    let synack_cc = spec.synack_cc.clone();
    let senders = a.spawn_async("synack sender", limit_all, move || async move {
        let tun = Tun::create(&TunConfig {
            name: crate::lab::TUN_NAME.into(),
            kernel_addr: v4(10, 77, 0, 1),
            prefix: 24,
            mtu: 1500,
        })
        .expect("TUN device in A");
        let capture =
            Capture::start(&a_name, crate::lab::TUN_NAME, &a_pcap, 128).expect("tcpdump in A");
        let mut config = StackConfig {
            local_ip: Some(v4(10, 77, 0, 2)),
            ..StackConfig::default()
        };
        config.endpoint.conn.congestion = synack_cc;
        config.endpoint.conn.send_buffer = 1 << 20;
        let stack = Stack::new(tun, config).expect("stack");
        let mut s = stack
            .connect(SocketAddr::new(v4(10, 88, 0, 2), PORT_SYNACK_FLOW))
            .await
            .unwrap();
        tokio::time::sleep_until(start_gate.into()).await;
        let sn = pattern::send_for(&mut s, 61, duration).await.unwrap();
        s.shutdown().await.unwrap();
        let stats = s.stats().unwrap();
        s.close().await.ok();
        tokio::time::sleep(Duration::from_millis(100)).await;
        (sn, stats, capture.stop().expect("stop tcpdump in A"))
    });
    let (sn, stats, a_cap) = senders.join();
    let kn = kernel_sender.join();
    let ((k_total, k_bytes, k_time), (s_total, s_bytes, s_time), b_cap) = receivers.join();
    assert_eq!(k_total, kn, "{case}: the kernel flow's bytes");
    assert_eq!(s_total, sn, "{case}: synack's flow's bytes");
    let verdicts = judge(case, &[(a_cap, false), (b_cap, true)]);
    let cc_name = stats.congestion_control;
    eprintln!(
        "[interop] {case}: synack {cc_name}: {} segments retransmitted, {} RTOs, srtt {:?}",
        stats.retransmitted_segments, stats.timeouts, stats.srtt
    );
    let flows = [
        FlowResult {
            label: format!("kernel {}", spec.kernel_cc),
            bytes: k_total,
            mbit_per_s: mbit_per_s(k_bytes, k_time),
        },
        FlowResult {
            label: format!("synack {cc_name}"),
            bytes: s_total,
            mbit_per_s: mbit_per_s(s_bytes, s_time),
        },
    ];
    let jain = jain(&[flows[0].mbit_per_s, flows[1].mbit_per_s]);
    drop((a, b, k, dir));
    Sharing {
        flows,
        jain,
        rate_mbit: spec.rate_mbit,
        verdicts,
    }
}

// ---------------------------------------------------------------------
// Throughput beside kernel↔kernel over a userspace relay.

/// Copies packets from `from` to `to` until the runtime stops.
async fn pump(from: &AsyncFd<TunLink>, to: &AsyncFd<TunLink>) -> io::Result<()> {
    let mut buf = vec![0u8; 65_536];
    loop {
        let mut guard = from.readable().await?;
        match guard.try_io(|io| io.get_ref().try_recv(&mut buf)) {
            Ok(Ok(n)) => loop {
                match to.get_ref().try_send(&buf[..n]) {
                    Ok(_) => break,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        to.writable().await?.clear_ready();
                    }
                    // Dropped, as a full device drops.
                    Err(_) => break,
                }
            },
            Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => {}
        }
    }
}

/// Registers a TUN device with tokio. The link owns its descriptor for its
/// whole life and never replaces it, so the registration stays sound (the
/// constructor is deprecated only for types that might).
#[allow(deprecated)]
fn register<T: AsRawFd>(link: T) -> io::Result<AsyncFd<T>> {
    AsyncFd::new(link)
}

/// One row of the throughput table.
#[derive(Clone, Debug)]
pub struct Row {
    /// Sender → receiver, and the path.
    pub label: String,
    /// Bytes moved (checked).
    pub bytes: u64,
    /// Goodput, Mbit/s.
    pub mbit_per_s: f64,
}

/// Accepts one connection on `l`, reads and checks stream `seed` to its
/// end; the bytes and the time from the accept to the end.
async fn timed_receive(l: tokio::net::TcpListener, seed: u64) -> (u64, Duration) {
    let (mut conn, _) = l.accept().await.unwrap();
    let start = Instant::now();
    let n = pattern::recv(&mut conn, seed, |_| {}).await.unwrap();
    (n, start.elapsed())
}

/// One direction between two kernels: a receiver in `rx` listening on
/// `to`, a sender in `tx`.
fn kernel_to_kernel(
    tx: &Netns,
    rx: &Netns,
    to: SocketAddr,
    seed: u64,
    bytes: u64,
) -> (u64, Duration) {
    let limit = Duration::from_secs(100);
    let (ready_tx, ready_rx) = mpsc::channel();
    let receiver = rx.spawn_async("kernel receiver", limit, move || async move {
        let l = tokio::net::TcpListener::bind(to).await.unwrap();
        ready_tx.send(()).unwrap();
        timed_receive(l, seed).await
    });
    ready_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("receiver ready");
    tx.block_on("kernel sender", limit, move || async move {
        let mut conn = tokio::net::TcpStream::connect(to).await.unwrap();
        pattern::send(&mut conn, seed, bytes).await.unwrap();
        conn.shutdown().await.unwrap();
        // Wait for the receiver's close, so the socket is not reset.
        let mut rest = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut conn, &mut rest)
            .await
            .unwrap();
    });
    receiver.join()
}

/// Prints the rows as a table.
pub fn print_table(rows: &[Row]) {
    eprintln!("[interop] {:<44} {:>10} {:>12}", "path", "bytes", "Mbit/s");
    for r in rows {
        eprintln!(
            "[interop] {:<44} {:>10} {:>12.0}",
            r.label, r.bytes, r.mbit_per_s
        );
    }
}

/// Measures, in one run, `bytes` each way between two kernels through a
/// userspace relay between two TUN devices, and between synack and the
/// kernel over one TUN device; prints a table and returns its rows.
/// Captures (128-byte snap length) of one device of each path are judged
/// by tshark.
///
/// The paths differ in one way worth knowing: a packet between the two
/// kernels crosses two TUN devices (a read and a write by the relay),
/// one between synack and the kernel crosses one (synack reads and
/// writes the device itself), so each userspace side does the same
/// system calls per packet.
pub fn throughput(case: &str, bytes: u64) -> Vec<Row> {
    let dir = ArtifactDir::new(case).expect("artifact directory");
    let limit = Duration::from_secs(100);
    let mut rows = Vec::new();

    // kernel ↔ kernel: C (10.91.0.1 on its device) ↔ relay ↔ S (10.92.0.1).
    let c = Netns::create(&format!("{case}-c")).expect("namespace C");
    let s = Netns::create(&format!("{case}-s")).expect("namespace S");
    for ns in [&c, &s] {
        configure_ipv6(ns, false).expect("IPv6 off");
    }
    let device = |addr: IpAddr| TunConfig {
        name: "rly0".into(),
        kernel_addr: addr,
        prefix: 24,
        mtu: 1500,
    };
    let dev_c = device(v4(10, 91, 0, 1));
    let dev_s = device(v4(10, 92, 0, 1));
    let tun_c = c
        .spawn("tun", move || TunLink::create(&dev_c))
        .unwrap()
        .join()
        .unwrap()
        .expect("TUN device in C");
    let tun_s = s
        .spawn("tun", move || TunLink::create(&dev_s))
        .unwrap()
        .join()
        .unwrap()
        .expect("TUN device in S");
    c.ip(&["route", "add", "10.92.0.0/24", "dev", "rly0"])
        .unwrap();
    s.ip(&["route", "add", "10.91.0.0/24", "dev", "rly0"])
        .unwrap();
    let relay_pcap = dir.path().join(format!("{case}-relay.pcap"));
    let relay_capture = Capture::start(c.name(), "rly0", &relay_pcap, 128).expect("tcpdump in C");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let relay = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let a = register(tun_c).unwrap();
            let b = register(tun_s).unwrap();
            tokio::select! {
                r = pump(&a, &b) => r.unwrap(),
                r = pump(&b, &a) => r.unwrap(),
                _ = stop_rx => {}
            }
        });
    });
    let to_s = SocketAddr::new(v4(10, 92, 0, 1), 7200);
    let to_c = SocketAddr::new(v4(10, 91, 0, 1), 7201);
    for (label, tx, rx, to, seed) in [
        ("kernel → kernel (relay between 2 TUNs)", &c, &s, to_s, 70),
        ("kernel ← kernel (relay between 2 TUNs)", &s, &c, to_c, 71),
    ] {
        let (n, t) = kernel_to_kernel(tx, rx, to, seed, bytes);
        assert_eq!(n, bytes, "{label}: bytes");
        rows.push(Row {
            label: label.into(),
            bytes: n,
            mbit_per_s: mbit_per_s(n, t),
        });
    }
    let _ = stop_tx.send(());
    relay.join().expect("relay thread");
    let relay_stats = relay_capture.stop().expect("stop tcpdump in C");
    drop((c, s));

    // synack ↔ kernel over one TUN device.
    let n = Netns::create(&format!("{case}-syn")).expect("namespace");
    configure_ipv6(&n, false).expect("IPv6 off");
    let pcap = dir.path().join(format!("{case}-synack.pcap"));
    let ns_name = n.name().to_string();
    let (synack_rows, synack_stats) = n.block_on("synack rows", limit, move || async move {
        let tun = Tun::create(&TunConfig {
            name: crate::lab::TUN_NAME.into(),
            kernel_addr: v4(10, 77, 0, 1),
            prefix: 24,
            mtu: 1500,
        })
        .expect("TUN device");
        let capture = Capture::start(&ns_name, crate::lab::TUN_NAME, &pcap, 128).expect("tcpdump");
        let config = StackConfig {
            local_ip: Some(v4(10, 77, 0, 2)),
            ..StackConfig::default()
        };
        let stack = Stack::new(tun, config).expect("stack");
        let mut rows = Vec::new();
        // synack → kernel.
        let l = tokio::net::TcpListener::bind("10.77.0.1:7202")
            .await
            .unwrap();
        let receiver = tokio::spawn(timed_receive(l, 72));
        let mut conn = stack
            .connect(SocketAddr::new(v4(10, 77, 0, 1), 7202))
            .await
            .unwrap();
        pattern::send(&mut conn, 72, bytes).await.unwrap();
        conn.shutdown().await.unwrap();
        let (got, t) = receiver.await.unwrap();
        assert_eq!(got, bytes);
        rows.push(Row {
            label: "synack → kernel (1 TUN)".into(),
            bytes: got,
            mbit_per_s: mbit_per_s(got, t),
        });
        conn.close().await.ok();
        // kernel → synack.
        let l = stack
            .bind_addr(SocketAddr::new(v4(10, 77, 0, 2), 7203))
            .unwrap();
        let sender = tokio::spawn(async move {
            let mut conn = tokio::net::TcpStream::connect("10.77.0.2:7203")
                .await
                .unwrap();
            pattern::send(&mut conn, 73, bytes).await.unwrap();
            conn.shutdown().await.unwrap();
            conn
        });
        let (mut conn, _) = l.accept().await.unwrap();
        let start = Instant::now();
        let got = pattern::recv(&mut conn, 73, |_| {}).await.unwrap();
        let t = start.elapsed();
        assert_eq!(got, bytes);
        drop(sender.await.unwrap());
        rows.push(Row {
            label: "kernel → synack (1 TUN)".into(),
            bytes: got,
            mbit_per_s: mbit_per_s(got, t),
        });
        conn.close().await.ok();
        tokio::time::sleep(Duration::from_millis(100)).await;
        (rows, capture.stop().expect("stop tcpdump"))
    });
    rows.extend(synack_rows);
    judge(case, &[(relay_stats, false), (synack_stats, false)]);
    print_table(&rows);
    drop((n, dir));
    rows
}
