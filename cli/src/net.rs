//! What `demo`, `perf` and `tun` share: argument parsers, stacks, the
//! runtime, signals, and the data they move.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::process::ExitCode;

use std::os::fd::AsRawFd;

use clap::{Args, ValueEnum};
use synack_core::cc::CcAlgorithm;
use synack_core::conn::Stats;
use synack_driver::link::{Impaired, PacketLink, Udp};
use synack_link::impair::{ImpairmentConfig, LossModel, Rng};
use synack_link::tun::TunConfig;
use synack_tokio::{Stack, StackConfig};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt};
use xxhash_rust::xxh3::Xxh3;

/// A congestion controller by name.
pub fn parse_cc(s: &str) -> Result<CcAlgorithm, String> {
    match s.to_ascii_lowercase().as_str() {
        "newreno" | "reno" => Ok(CcAlgorithm::NewReno),
        "cubic" => Ok(CcAlgorithm::Cubic),
        "bbr" => Ok(CcAlgorithm::Bbr),
        _ => Err(format!(
            "unknown congestion controller {s} (newreno, cubic or bbr)"
        )),
    }
}

/// `IP/PREFIX`.
pub fn parse_prefix(s: &str) -> Result<(IpAddr, u8), String> {
    let (ip, prefix) = s
        .split_once('/')
        .ok_or_else(|| format!("expected IP/PREFIX, got {s}"))?;
    let ip: IpAddr = ip.parse().map_err(|_| format!("bad address in {s}"))?;
    let prefix: u8 = prefix.parse().map_err(|_| format!("bad prefix in {s}"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        return Err(format!("prefix too long in {s}"));
    }
    Ok((ip, prefix))
}

/// The runtime a stack's driver and the transfer run on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Runtime {
    /// synack-tokio on a two-worker tokio runtime.
    #[default]
    Tokio,
    /// synack-smol: `smol::block_on`, drivers on smol's executor.
    Smol,
    /// synack-mio: one thread's mio event loop, no executor.
    Mio,
}

impl Runtime {
    /// The name `--runtime` takes and `--json` reports.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Tokio => "tokio",
            Runtime::Smol => "smol",
            Runtime::Mio => "mio",
        }
    }
}

/// Builds a stack of one adapter over any link (the UDP link, possibly
/// wrapped in a loss stage, is built once for all adapters).
pub trait MakeStack {
    /// The runtime the links run on.
    type Runtime: synack_driver::runtime::Runtime;
    /// The adapter's stack.
    type Stack;
    /// A stack over `link`.
    fn make<L: PacketLink + AsRawFd>(link: L, config: StackConfig) -> io::Result<Self::Stack>;
}

/// An async adapter's listeners and streams, for the transfers written
/// once over tokio's I/O traits (smol's streams go through tokio-util's
/// compat wrapper; mio has its own loop, `mio_loop`).
pub trait AsyncAdapter: MakeStack {
    /// The adapter's listener.
    type Listener;
    /// The adapter's stream, as tokio's I/O traits see it.
    type Stream: AsyncRead + AsyncWrite + Unpin;
    /// Listens on `addr`.
    fn bind(stack: &Self::Stack, addr: SocketAddr) -> io::Result<Self::Listener>;
    /// The next connection, and the peer's address.
    fn accept(
        listener: &Self::Listener,
    ) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>>;
    /// A connection to `to`.
    fn connect(
        stack: &Self::Stack,
        to: SocketAddr,
    ) -> impl Future<Output = io::Result<Self::Stream>>;
    /// The connection's counters.
    fn stats(stream: &Self::Stream) -> io::Result<Stats>;
    /// Sets TCP_NODELAY.
    fn set_nodelay(stream: &Self::Stream, nodelay: bool) -> io::Result<()>;
    /// Runs `task` beside the caller, detached.
    fn spawn(task: impl Future<Output = ()> + Send + 'static);
    /// Closes gracefully and waits until the peer has closed too and
    /// acknowledged everything, so nothing is left unsent when the process
    /// exits.
    fn close(stream: Self::Stream) -> impl Future<Output = io::Result<()>>;
}

impl AsyncAdapter for Tokio {
    type Listener = synack_tokio::TcpListener;
    type Stream = synack_tokio::TcpStream;
    fn bind(stack: &Stack, addr: SocketAddr) -> io::Result<Self::Listener> {
        stack.bind_addr(addr)
    }
    async fn accept(listener: &Self::Listener) -> io::Result<(Self::Stream, SocketAddr)> {
        listener.accept().await
    }
    async fn connect(stack: &Stack, to: SocketAddr) -> io::Result<Self::Stream> {
        stack.connect(to).await
    }
    fn stats(stream: &Self::Stream) -> io::Result<Stats> {
        stream.stats()
    }
    fn set_nodelay(stream: &Self::Stream, nodelay: bool) -> io::Result<()> {
        stream.set_nodelay(nodelay)
    }
    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(task);
    }
    async fn close(stream: Self::Stream) -> io::Result<()> {
        stream.close().await
    }
}

impl AsyncAdapter for Smol {
    type Listener = synack_smol::TcpListener;
    type Stream = Compat<synack_smol::TcpStream>;
    fn bind(stack: &Self::Stack, addr: SocketAddr) -> io::Result<Self::Listener> {
        stack.bind_addr(addr)
    }
    async fn accept(listener: &Self::Listener) -> io::Result<(Self::Stream, SocketAddr)> {
        let (stream, peer) = listener.accept().await?;
        Ok((stream.compat(), peer))
    }
    async fn connect(stack: &Self::Stack, to: SocketAddr) -> io::Result<Self::Stream> {
        Ok(stack.connect(to).await?.compat())
    }
    fn stats(stream: &Self::Stream) -> io::Result<Stats> {
        stream.get_ref().stats()
    }
    fn set_nodelay(stream: &Self::Stream, nodelay: bool) -> io::Result<()> {
        stream.get_ref().set_nodelay(nodelay)
    }
    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        smol::spawn(task).detach();
    }
    async fn close(stream: Self::Stream) -> io::Result<()> {
        stream.into_inner().close_and_wait().await
    }
}

/// Options for the stack every subcommand builds.
#[derive(Debug, Clone, Args)]
pub struct StackArgs {
    /// The runtime adapter: tokio, smol or mio (`synack tun` and the TUN
    /// and kernel paths of `synack perf`: tokio only).
    #[arg(long, value_enum, default_value_t = Runtime::Tokio)]
    pub runtime: Runtime,
    /// Congestion controller: newreno, cubic or bbr.
    #[arg(long, default_value = "newreno", value_parser = parse_cc)]
    pub cc: CcAlgorithm,
    /// Loss on this side's link, both directions (e.g. 1% or 0.01).
    #[arg(long, default_value = "0", value_parser = crate::units::probability)]
    pub loss: f64,
    /// Seed of the loss decisions.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The link's MTU: `auto` (UDP bound to a loopback address: the
    /// largest datagram loopback carries, a 64 KiB segment; UDP elsewhere:
    /// 1492; a TUN device: 1500) or a size in bytes. The MSS is this less
    /// 40 (IPv4) or 60 (IPv6).
    #[arg(long, default_value = "auto", value_parser = parse_mtu)]
    pub mtu: Mtu,
}

/// `--mtu`: the path's own, or a size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mtu {
    /// What the link finds for its path.
    Auto,
    /// This many bytes.
    Bytes(u16),
}

impl Mtu {
    /// The size, or `auto` for the link to pick.
    pub fn bytes(self) -> Option<u16> {
        match self {
            Mtu::Auto => None,
            Mtu::Bytes(n) => Some(n),
        }
    }
}

/// `auto` or a size in bytes, 68 (IPv4's minimum) to 65535.
pub fn parse_mtu(s: &str) -> Result<Mtu, String> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(Mtu::Auto);
    }
    match s.parse::<u16>() {
        Ok(n) if n >= 68 => Ok(Mtu::Bytes(n)),
        _ => Err(format!(
            "expected auto or a size from 68 to 65535 bytes, got {s}"
        )),
    }
}

impl StackArgs {
    pub fn config(&self) -> StackConfig {
        let mut config = StackConfig::default();
        config.endpoint.conn.congestion = self.cc.clone();
        config
    }
}

/// The TUN device options.
#[derive(Debug, Clone, Args)]
pub struct TunDevArgs {
    /// TUN device name to create.
    #[arg(long = "tun", value_name = "NAME")]
    pub dev: Option<String>,
    /// synack's address on the device's network.
    #[arg(long, value_name = "IP", requires = "dev")]
    pub local: Option<IpAddr>,
    /// The kernel's address and the network's prefix, e.g. 10.77.0.1/24.
    #[arg(long, value_name = "IP/PREFIX", value_parser = parse_prefix, requires = "dev")]
    pub kernel: Option<(IpAddr, u8)>,
}

/// A TUN device's MTU when `--mtu` is `auto`.
pub const TUN_DEFAULT_MTU: u16 = 1500;

impl TunDevArgs {
    /// The device config (of MTU `mtu`, `auto`: 1500) and synack's
    /// address, if `--tun` was given.
    pub fn device(&self, mtu: Mtu) -> Result<Option<(TunConfig, IpAddr)>, String> {
        let Some(name) = &self.dev else {
            return Ok(None);
        };
        let local = self.local.ok_or("--tun needs --local IP")?;
        let (kernel_addr, prefix) = self.kernel.ok_or("--tun needs --kernel IP/PREFIX")?;
        if local == kernel_addr {
            return Err("--local and --kernel must differ".into());
        }
        Ok(Some((
            TunConfig {
                name: name.clone(),
                kernel_addr,
                prefix,
                mtu: mtu.bytes().unwrap_or(TUN_DEFAULT_MTU),
            },
            local,
        )))
    }
}

/// A stack of adapter `M` over `link`, wrapped in a loss stage if asked.
pub fn stack_over<M: MakeStack, L: PacketLink + AsRawFd>(
    link: L,
    args: &StackArgs,
    config: StackConfig,
) -> io::Result<M::Stack> {
    if args.loss > 0.0 {
        let impaired = Impaired::<L, M::Runtime>::new(
            link,
            ImpairmentConfig {
                loss: LossModel::Bernoulli(args.loss),
                ..ImpairmentConfig::default()
            },
            args.seed,
        );
        M::make(impaired, config)
    } else {
        M::make(link, config)
    }
}

/// A stack of adapter `M` on a UDP socket bound to `addr`.
pub fn udp_stack_of<M: MakeStack>(addr: SocketAddr, args: &StackArgs) -> io::Result<M::Stack> {
    let link = udp_link::<M::Runtime>(addr, args)?;
    let mut config = args.config();
    let ip = link.local_addr().ip();
    if !ip.is_unspecified() {
        config.local_ip = Some(ip);
    }
    stack_over::<M, _>(link, args, config)
}

/// A UDP link bound to `addr`, of the MTU `--mtu` asks for.
pub fn udp_link<R: synack_driver::runtime::Runtime>(
    addr: SocketAddr,
    args: &StackArgs,
) -> io::Result<Udp<R>> {
    let link = Udp::<R>::bind(addr)?;
    Ok(match args.mtu.bytes() {
        Some(mtu) => link.with_mtu(usize::from(mtu)),
        None => link,
    })
}

/// A synack-tokio stack on a UDP socket bound to `addr`.
pub fn udp_stack(addr: SocketAddr, args: &StackArgs) -> io::Result<Stack> {
    udp_stack_of::<Tokio>(addr, args)
}

/// synack-tokio's stacks (their drivers spawned on the current runtime).
#[derive(Debug)]
pub struct Tokio;

impl MakeStack for Tokio {
    type Runtime = synack_tokio::runtime::Tokio;
    type Stack = Stack;
    fn make<L: PacketLink + AsRawFd>(link: L, config: StackConfig) -> io::Result<Stack> {
        Stack::new(link, config)
    }
}

/// synack-smol's stacks (their drivers detached on smol's executor).
#[derive(Debug)]
pub struct Smol;

impl MakeStack for Smol {
    type Runtime = synack_smol::runtime::AsyncIo;
    type Stack = synack_smol::Stack;
    fn make<L: PacketLink + AsRawFd>(link: L, config: StackConfig) -> io::Result<Self::Stack> {
        let (stack, driver) = synack_smol::Stack::new(link, config)?;
        smol::spawn(driver).detach();
        Ok(stack)
    }
}

/// A synack-tokio stack on a new TUN device.
pub fn tun_stack(device: &TunConfig, local: IpAddr, args: &StackArgs) -> io::Result<Stack> {
    if args.runtime != Runtime::Tokio {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "TUN devices run on --runtime tokio here, not {}",
                args.runtime.name()
            ),
        ));
    }
    let link = synack_tokio::link::Tun::create(device)?;
    let mut config = args.config();
    config.local_ip = Some(local);
    stack_over::<Tokio, _>(link, args, config)
}

/// The local IP the kernel would use to reach `to` (no packet is sent).
pub fn route_source(to: SocketAddr) -> io::Result<IpAddr> {
    let any: SocketAddr = if to.is_ipv4() {
        "0.0.0.0:0".parse().unwrap()
    } else {
        "[::]:0".parse().unwrap()
    };
    let probe = UdpSocket::bind(any)?;
    probe.connect(to)?;
    Ok(probe.local_addr()?.ip())
}

/// The runtime every subcommand runs on.
pub fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn interrupted() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// Prints an error as the command's last word and picks the exit status.
pub fn fail(context: &str, e: impl std::fmt::Display) -> ExitCode {
    eprintln!("synack {context}: {e}");
    ExitCode::FAILURE
}

/// Writes `bytes` of the seeded stream to `w` in `chunk`-sized writes,
/// shuts the writing side, and returns the stream's xxh3-128 hash, which
/// the receiver compares with what it read.
pub async fn write_seeded<W: AsyncWrite + Unpin>(
    w: &mut W,
    bytes: u64,
    seed: u64,
    chunk: usize,
) -> io::Result<u128> {
    let mut source = Rng::new(seed);
    let mut hash = Xxh3::new();
    let mut buf = vec![0u8; chunk];
    let mut left = bytes;
    while left > 0 {
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(chunk);
        source.fill(&mut buf[..n]);
        hash.update(&buf[..n]);
        w.write_all(&buf[..n]).await?;
        left -= n as u64;
    }
    w.shutdown().await?;
    Ok(hash.digest128())
}

/// Bits per second, readable.
pub fn rate(bps: f64) -> String {
    if bps >= 1e9 {
        format!("{:.2} Gbit/s", bps / 1e9)
    } else if bps >= 1e6 {
        format!("{:.1} Mbit/s", bps / 1e6)
    } else {
        format!("{:.0} kbit/s", bps / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers_take_what_the_help_promises() {
        assert_eq!(parse_cc("cubic"), Ok(CcAlgorithm::Cubic));
        assert_eq!(parse_cc("BBR"), Ok(CcAlgorithm::Bbr));
        assert_eq!(parse_mtu("auto"), Ok(Mtu::Auto));
        assert_eq!(parse_mtu("9000"), Ok(Mtu::Bytes(9000)));
        assert!(parse_mtu("67").is_err() && parse_mtu("65536").is_err());
        assert_eq!(
            parse_prefix("10.1.0.1/24"),
            Ok(("10.1.0.1".parse().unwrap(), 24))
        );
    }
}
