//! One test's world: a namespace of its own with a TUN device between the
//! kernel's TCP and a synack stack, a capture of the device, and
//! Wireshark's verdict on it at the end.
//!
//! [`run_case`] does it all: it checks the prerequisites (skipping, or
//! failing under CI), creates the namespace and the artifact directory,
//! sets sysctls, and on a thread inside the namespace builds a
//! current-thread tokio runtime, the stack on the TUN device (optionally
//! behind synack's seeded impairment stage) and the capture; then it runs
//! the test's future there, so the kernel sockets that future opens
//! (`tokio::net`, `socket2`) live in the namespace too. Afterwards it stops
//! the capture, runs tshark on it, prints the verdict and a one-line
//! summary, and fails the test on a tshark error. The capture directory
//! is deleted after a pass and kept (its path printed) after a failure.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use synack_core::DropReason;
use synack_link::impair::ImpairmentConfig;
use synack_link::tun::TunConfig;
use synack_tokio::link::{Impaired, Tun};
use synack_tokio::{Stack, StackConfig};

use crate::capture::{Capture, CaptureStats};
use crate::mark::MarkCe;
use crate::netns::Netns;
use crate::verdict::Verdict;
use crate::{env, ss};

/// The TUN device's name inside every test namespace.
pub const TUN_NAME: &str = "syn0";

/// IPv4 or IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// 10.77.0.0/24: the kernel is .1, synack .2.
    V4,
    /// fd00:77::/64 (unique local): the kernel is ::1, synack ::2.
    V6,
}

impl Family {
    /// `v4` or `v6`, for names.
    pub fn label(self) -> &'static str {
        match self {
            Family::V4 => "v4",
            Family::V6 => "v6",
        }
    }

    /// The kernel's address on the device.
    pub fn kernel_ip(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(10, 77, 0, 1)),
            Family::V6 => IpAddr::V6(Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 1)),
        }
    }

    /// synack's address, inside the device's prefix.
    pub fn synack_ip(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(10, 77, 0, 2)),
            Family::V6 => IpAddr::V6(Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2)),
        }
    }

    /// The device's prefix length.
    pub fn prefix(self) -> u8 {
        match self {
            Family::V4 => 24,
            Family::V6 => 64,
        }
    }

    /// The MSS a 1500-byte MTU gives (IP and TCP headers off).
    pub fn mss_for_1500(self) -> u16 {
        match self {
            Family::V4 => 1460,
            Family::V6 => 1440,
        }
    }
}

/// A directory for a test's captures: deleted when dropped after a pass,
/// kept (and its path printed) after a failure or when
/// `SYNACK_INTEROP_KEEP` is set. It sits under `SYNACK_INTEROP_DIR` or
/// the system's temp directory.
#[derive(Debug)]
pub struct ArtifactDir {
    path: PathBuf,
}

impl ArtifactDir {
    /// A fresh directory for `case`.
    pub fn new(case: &str) -> io::Result<ArtifactDir> {
        let base = std::env::var_os("SYNACK_INTEROP_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("synack-interop"));
        let path = base.join(format!("{case}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(ArtifactDir { path })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ArtifactDir {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("SYNACK_INTEROP_KEEP").is_some() {
            eprintln!("[interop] captures kept in {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Waits until the IPv6 address `ip` on `dev` in `ns` is usable (present
/// and not tentative), at most 10 s.
pub fn wait_ipv6_ready(ns: &str, dev: &str, ip: IpAddr) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let want = ip.to_string();
    loop {
        let out = crate::netns::run("ip", &["-n", ns, "-6", "addr", "show", "dev", dev])?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find(|l| l.contains(&format!("{want}/")));
        if line.is_some_and(|l| !l.contains("tentative")) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "IPv6 address {want} on {dev} not usable after 10 s:\n{text}"
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Packets the device `dev` in `ns` dropped: (received from synack,
/// sent by the kernel toward synack), from `ip -s link`. The second
/// counts packets the kernel routed to the device while its queue (500
/// packets) was full because synack read more slowly than the kernel
/// sent: losses the capture still shows, since tcpdump taps the device
/// before its queue.
pub fn device_drops(ns: &str, dev: &str) -> Option<(u64, u64)> {
    let out = crate::netns::run("ip", &["-n", ns, "-s", "link", "show", "dev", dev]).ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let dropped_after = |header: &str| -> Option<u64> {
        let i = lines
            .iter()
            .position(|l| l.trim_start().starts_with(header))?;
        let cols: Vec<&str> = lines[i].split_whitespace().collect();
        let at = cols.iter().position(|c| *c == "dropped")?;
        lines
            .get(i + 1)?
            .split_whitespace()
            .nth(at - 1)?
            .parse()
            .ok()
    };
    Some((dropped_after("RX:")?, dropped_after("TX:")?))
}

/// Sets IPv6 up for new devices in `ns`. With `on`: IPv6 enabled, no
/// duplicate address detection (a TUN device has no neighbours) and no
/// router solicitations, so the kernel sends nothing but TCP on the
/// device. Without: IPv6 off.
pub fn configure_ipv6(ns: &Netns, on: bool) -> io::Result<()> {
    for conf in ["all", "default"] {
        let key = |k: &str| format!("net.ipv6.conf.{conf}.{k}");
        ns.sysctl(&key("disable_ipv6"), if on { "0" } else { "1" })?;
        if on {
            ns.sysctl(&key("accept_dad"), "0")?;
            ns.sysctl(&key("router_solicitations"), "0")?;
        }
    }
    Ok(())
}

/// How a case is set up.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Address family of the device.
    pub family: Family,
    /// The synack stack's configuration (its `local_ip` is set to
    /// [`Family::synack_ip`]).
    pub stack: StackConfig,
    /// synack's impairment stage between its stack and the device, both
    /// directions, and its seed.
    pub impairment: Option<(ImpairmentConfig, u64)>,
    /// Mark every this-many-th ECN-capable packet Congestion Experienced,
    /// each way, between the stack and the device ([`crate::mark`]).
    pub mark_ce_every: Option<u64>,
    /// Sysctls set in the namespace before the device exists.
    pub sysctls: Vec<(String, String)>,
    /// Bytes kept per captured packet (0: whole packets). Bulk cases keep
    /// 128 so files stay small; tshark then cannot verify the checksums
    /// of the truncated segments.
    pub snaplen: u32,
    /// The whole case must end within this.
    pub limit: Duration,
    /// Device MTU.
    pub mtu: u16,
}

impl Setup {
    /// Defaults: whole packets captured, 90 s limit, MTU 1500, default
    /// stack, no impairment.
    pub fn new(family: Family) -> Setup {
        Setup {
            family,
            stack: StackConfig::default(),
            impairment: None,
            mark_ce_every: None,
            sysctls: Vec::new(),
            snaplen: 0,
            limit: Duration::from_secs(90),
            mtu: 1500,
        }
    }

    /// Adds a sysctl.
    pub fn sysctl(mut self, key: &str, value: &str) -> Setup {
        self.sysctls.push((key.to_string(), value.to_string()));
        self
    }
}

/// What a case's future gets: the stack and the addresses.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The synack stack on the device.
    pub stack: Stack,
    /// The family.
    pub family: Family,
    /// The kernel's address.
    pub kernel: IpAddr,
    /// synack's address.
    pub synack: IpAddr,
    /// The namespace's name (for `ss`).
    pub ns: String,
}

impl Ctx {
    /// The kernel's address with `port`.
    pub fn kernel_addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.kernel, port)
    }

    /// synack's address with `port`.
    pub fn synack_addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.synack, port)
    }

    /// The kernel's connection to or from `synack_end`, as `ss` sees it.
    pub async fn ss(&self, synack_end: SocketAddr) -> io::Result<ss::SsInfo> {
        let ns = self.ns.clone();
        tokio::task::spawn_blocking(move || ss::find(&ns, synack_end))
            .await
            .map_err(io::Error::other)??
            .ok_or_else(|| io::Error::other(format!("ss shows no connection with {synack_end}")))
    }
}

/// What a case produced.
#[derive(Debug)]
pub struct Outcome<T> {
    /// The future's value.
    pub value: T,
    /// tshark's verdict on the capture.
    pub verdict: Verdict,
    /// tcpdump's counts.
    pub capture: CaptureStats,
    /// Wall time of the case.
    pub elapsed: Duration,
}

/// Creates the TUN device (in the calling thread's namespace), without a
/// stack yet: what the kernel sends meanwhile waits in the device's queue.
pub fn tun_device(setup: &Setup) -> io::Result<Tun> {
    Tun::create(&TunConfig {
        name: TUN_NAME.into(),
        kernel_addr: setup.family.kernel_ip(),
        prefix: setup.family.prefix(),
        mtu: setup.mtu,
    })
}

/// The synack stack on `tun`, behind the impairment stage or the marking
/// stage if the set-up has one.
pub fn tun_stack(setup: &Setup, tun: Tun) -> io::Result<Stack> {
    let mut config = setup.stack.clone();
    config.local_ip = Some(setup.family.synack_ip());
    match (setup.impairment, setup.mark_ce_every) {
        (Some((impair, seed)), _) => Stack::new(Impaired::new(tun, impair, seed), config),
        (None, Some(every)) => Stack::new(MarkCe::new(tun, every), config),
        (None, None) => Stack::new(tun, config),
    }
}

/// Runs case `case` (a unique name, used for the namespace and the
/// artifact directory): see the [module documentation](self). `None` when
/// skipped.
pub fn run_case<T, F, Fut>(case: &str, setup: Setup, f: F) -> Option<Outcome<T>>
where
    T: Send + 'static,
    F: FnOnce(Ctx) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    run_case_checked(case, setup, f, |_, _| Ok(()))
}

/// [`run_case`], then `check(value, verdict)` on what the case's future
/// returned and the judged capture, while the capture file still exists
/// (`verdict.file`; read it with [`crate::verdict::count`] or
/// [`crate::verdict::syn_options`]): `Err` fails the case and keeps the
/// capture.
pub fn run_case_checked<T, F, Fut, C>(
    case: &str,
    setup: Setup,
    f: F,
    check: C,
) -> Option<Outcome<T>>
where
    T: Send + 'static,
    F: FnOnce(Ctx) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    C: FnOnce(&T, &Verdict) -> Result<(), String>,
{
    if !env::ready(case) {
        return None;
    }
    let started = Instant::now();
    let dir = ArtifactDir::new(case).expect("create the artifact directory");
    let ns = Netns::create(case).expect("create the test namespace");
    configure_ipv6(&ns, setup.family == Family::V6).expect("configure IPv6 in the namespace");
    for (k, v) in &setup.sysctls {
        ns.sysctl(k, v)
            .unwrap_or_else(|e| panic!("sysctl {k}={v}: {e}"));
    }
    let pcap = dir.path().join(format!("{case}.pcap"));
    let ns_name = ns.name().to_string();
    let limit = setup.limit;
    let run = ns.block_on(case, limit + Duration::from_secs(30), move || async move {
        // The capture starts before the stack reads anything, so every
        // packet the kernel sends on the device is in it.
        let tun = tun_device(&setup).expect("create the TUN device");
        let capture =
            Capture::start(&ns_name, TUN_NAME, &pcap, setup.snaplen).expect("start tcpdump");
        let stack = tun_stack(&setup, tun).expect("create the stack");
        if setup.family == Family::V6 {
            wait_ipv6_ready(&ns_name, TUN_NAME, setup.family.kernel_ip())
                .expect("IPv6 address ready");
        }
        let ctx_ns = ns_name.clone();
        let ctx = Ctx {
            stack: stack.clone(),
            family: setup.family,
            kernel: setup.family.kernel_ip(),
            synack: setup.family.synack_ip(),
            ns: ns_name,
        };
        let task = tokio::spawn(f(ctx));
        let result = tokio::time::timeout(limit, task).await;
        // Let the last segments (final ACKs, resets) reach the capture.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let stats = capture.stop();
        let drops = device_drops(&ctx_ns, TUN_NAME);
        (result, stats, stack.stats(), drops)
    });
    let (result, stats, endpoint, drops) = run;
    let stats = stats.expect("stop tcpdump");
    let verdict = Verdict::of(&stats.path).expect("run tshark on the capture");
    eprint!("[interop] {case}: {verdict}");
    if let Some((rx, tx)) = drops
        && rx + tx > 0
    {
        eprintln!(
            "[interop] {case}: the TUN device dropped {tx} packets toward synack (queue full) \
             and {rx} from it"
        );
    }
    if stats.dropped > 0 {
        eprintln!(
            "[interop] {case}: tcpdump dropped {} packets (gaps in the capture)",
            stats.dropped
        );
    }
    let value = match result {
        Ok(Ok(v)) => v,
        Ok(Err(join)) => match join.try_into_panic() {
            Ok(panic) => {
                eprintln!("[interop] {case}: FAILED after {:.1?}", started.elapsed());
                std::panic::resume_unwind(panic)
            }
            Err(e) => panic!("{case}: the case's task failed: {e}"),
        },
        Err(_) => panic!("{case}: did not finish within {limit:?}"),
    };
    if let Err(e) = verdict.check() {
        panic!("{case}: {e}");
    }
    // synack verifies every checksum the kernel sends it: nothing may be
    // malformed, and what it set aside as not TCP must be exactly the
    // kernel's non-TCP packets in the capture.
    assert_eq!(
        endpoint.drops.get(DropReason::Malformed),
        0,
        "{case}: synack found malformed packets from the kernel: {endpoint:?}"
    );
    assert_eq!(
        endpoint.drops.get(DropReason::NotTcp),
        verdict.non_tcp,
        "{case}: synack's count of non-TCP packets differs from the capture's: {endpoint:?}"
    );
    // tshark must have read every packet tcpdump says it wrote.
    assert_eq!(
        verdict.frames, stats.captured,
        "{case}: tshark read {} frames, tcpdump wrote {}",
        verdict.frames, stats.captured
    );
    if let Err(e) = check(&value, &verdict) {
        panic!("{case}: the capture: {e}");
    }
    let elapsed = started.elapsed();
    eprintln!(
        "[interop] SUMMARY {case}: ok in {:.1} s; {} packets; {}",
        elapsed.as_secs_f64(),
        stats.captured,
        verdict.summary()
    );
    drop(dir);
    Some(Outcome {
        value,
        verdict,
        capture: stats,
        elapsed,
    })
}
