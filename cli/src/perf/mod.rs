//! `synack perf server|client`: iperf-like throughput and request/response
//! latency, over UDP encapsulation, a TUN device, or (as a baseline)
//! kernel TCP.
//!
//! The protocol is small: the client sends one mode byte. `S` (stream):
//! the client sends data until its time or byte budget is spent and shuts
//! its side; the server counts, and answers with the count (8 bytes, big
//! endian) when it sees the end. `R` (request/response): a 4-byte message
//! size follows; the server echoes every message of that size until the
//! end.

use crate::out::outln;
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::net::{self, AsyncAdapter, Runtime, StackArgs, TunDevArgs};
use crate::stats::StatsArgs;
use crate::units;
use synack_core::FourTuple;
use synack_core::conn::Stats;
use synack_link::impair::Rng;

mod raw_udp;

pub(crate) const CHUNK: usize = 256 * 1024;

/// Arguments of `synack perf`.
#[derive(Debug, Args)]
pub struct PerfArgs {
    #[command(subcommand)]
    role: Role,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// Accept clients and count (or echo) what they send, until
    /// interrupted.
    Server(ServerArgs),
    /// Send to a server for `--time` or `--bytes`, or time `--rr`
    /// request/response exchanges, and report.
    Client(ClientArgs),
}

/// Where the traffic goes: one of these.
#[derive(Clone, Debug, Args)]
pub(crate) struct PathArgs {
    /// UDP encapsulation: the server binds this address and listens on
    /// TCP port = UDP port; the client connects to it.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["dev", "kernel_tcp"])]
    pub(crate) udp: Option<SocketAddr>,
    #[command(flatten)]
    pub(crate) tun: TunDevArgs,
    /// Kernel TCP instead of synack (a baseline): the server listens on,
    /// the client connects to, this address.
    #[arg(long, value_name = "ADDR", conflicts_with = "dev")]
    pub(crate) kernel_tcp: Option<SocketAddr>,
    /// Raw UDP, no TCP (a baseline): datagrams of a segment's size, sent
    /// with GSO for --time and counted by the server.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["dev", "kernel_tcp", "udp"])]
    pub(crate) raw_udp: Option<SocketAddr>,
}

#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    #[command(flatten)]
    pub(crate) path: PathArgs,
    /// TCP port to listen on with --tun.
    #[arg(long, default_value_t = 5201)]
    pub(crate) port: u16,
    /// Serve one client, then exit.
    #[arg(long)]
    pub(crate) once: bool,
    #[command(flatten)]
    pub(crate) stack: StackArgs,
    #[command(flatten)]
    pub(crate) stats: StatsArgs,
}

#[derive(Clone, Debug, Args)]
pub(crate) struct ClientArgs {
    #[command(flatten)]
    pub(crate) path: PathArgs,
    /// The server to reach over --tun (IP:PORT, on the kernel's side).
    #[arg(long, value_name = "IP:PORT")]
    pub(crate) to: Option<SocketAddr>,
    /// Send for this long, e.g. 10s (default 10s unless --bytes).
    #[arg(long, value_name = "DURATION", conflicts_with = "bytes",
          value_parser = units::duration)]
    pub(crate) time: Option<synack_core::Duration>,
    /// Send this many bytes, e.g. 100MB or 1GiB.
    #[arg(long, value_parser = units::size)]
    pub(crate) bytes: Option<u64>,
    /// Instead of a stream, time this many request/response exchanges.
    #[arg(long, value_name = "N", conflicts_with_all = ["time", "bytes"])]
    pub(crate) rr: Option<u64>,
    /// Message size for --rr.
    #[arg(long, default_value_t = 64)]
    pub(crate) size: u32,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) stack: StackArgs,
}

impl ClientArgs {
    /// How long a timed send lasts: `--time`, else 10 s.
    pub(crate) fn send_time(&self) -> Duration {
        self.time.map_or(Duration::from_secs(10), |t| {
            Duration::from_micros(t.total_micros())
        })
    }
}

pub fn run(args: PerfArgs) -> ExitCode {
    let on_tokio = |f: &dyn Fn(&tokio::runtime::Runtime) -> io::Result<()>| {
        net::runtime().and_then(|rt| f(&rt))
    };
    let result = match args.role {
        Role::Server(a) => match a.stack.runtime {
            Runtime::Tokio => on_tokio(&|rt| rt.block_on(server(&a))),
            // On smol's executor, beside the stack's driver (as the
            // client below).
            Runtime::Smol => udp_only(&a.path, a.stats.stats).and_then(|addr| {
                smol::block_on(smol::spawn(async move {
                    udp_server::<net::Smol>(&a, addr).await
                }))
            }),
            Runtime::Mio => udp_only(&a.path, a.stats.stats)
                .and_then(|addr| crate::mio_loop::perf_server(&a, addr)),
        },
        Role::Client(a) => match a.stack.runtime {
            // On a worker, beside the stack's driver: `block_on` runs its
            // future on this thread, so every hand-off between the driver
            // and the exchange would cross threads.
            Runtime::Tokio => on_tokio(&|rt| {
                let a = a.clone();
                rt.block_on(async move {
                    tokio::spawn(async move { client(&a).await })
                        .await
                        .map_err(io::Error::other)?
                })
            }),
            // On smol's executor, where the stack's driver runs, not in
            // `block_on` on this thread (every hand-off would cross
            // threads).
            Runtime::Smol => udp_only(&a.path, false).and_then(|addr| {
                let task = {
                    let a = a.clone();
                    smol::spawn(async move { udp_client::<net::Smol>(&a, addr).await })
                };
                let outcome = smol::block_on(task)?;
                report(&a, &outcome);
                Ok(())
            }),
            Runtime::Mio => udp_only(&a.path, false).and_then(|addr| {
                let outcome = crate::mio_loop::perf_client(&a, addr)?;
                report(&a, &outcome);
                Ok(())
            }),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => net::fail("perf", e),
    }
}

/// The `--udp` address, the one path the smol and mio runtimes serve
/// here (TUN, kernel TCP and raw UDP run on tokio).
fn udp_only(path: &PathArgs, stats: bool) -> io::Result<SocketAddr> {
    if stats {
        return Err(invalid("--stats runs on --runtime tokio"));
    }
    match path.udp {
        Some(addr)
            if path.tun.dev.is_none() && path.raw_udp.is_none() && path.kernel_tcp.is_none() =>
        {
            Ok(addr)
        }
        _ => Err(invalid(
            "--runtime smol and mio take --udp; --tun, --kernel-tcp and --raw-udp run on tokio",
        )),
    }
}

/// A server on an async adapter's UDP stack at `addr`: every client
/// served in a task of its own, until interrupted (or after one, with
/// --once).
async fn udp_server<A: AsyncAdapter>(args: &ServerArgs, addr: SocketAddr) -> io::Result<()>
where
    A::Stream: Send + 'static,
{
    let stack = net::udp_stack_of::<A>(addr, &args.stack)?;
    let listener = A::bind(&stack, addr)?;
    eprintln!(
        "synack perf: listening on {addr} ({})",
        args.stack.runtime.name()
    );
    loop {
        let (mut s, peer) = A::accept(&listener).await?;
        A::set_nodelay(&s, true)?;
        if args.once {
            let served = serve_one(&mut s).await;
            // The reply and FIN must be delivered before the process exits.
            A::close(s).await?;
            report_served(peer, served);
            return Ok(());
        }
        A::spawn(async move {
            report_served(peer, serve_one(&mut s).await);
        });
    }
}

/// The client on an async adapter's UDP stack, to the server at `addr`.
async fn udp_client<A: AsyncAdapter>(args: &ClientArgs, addr: SocketAddr) -> io::Result<Outcome> {
    let stack = net::udp_stack_of::<A>(SocketAddr::new(net::route_source(addr)?, 0), &args.stack)?;
    let mut s = A::connect(&stack, addr).await?;
    A::set_nodelay(&s, true)?;
    let mut o = exchange(args, &mut s).await?;
    if let Ok(stats) = A::stats(&s) {
        o.record(&stats);
    }
    // The last ACKs must leave before the process exits.
    A::close(s).await?;
    o.runtime = Some(args.stack.runtime);
    o.path = format!("synack over UDP to {addr} ({})", args.stack.runtime.name());
    Ok(o)
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

async fn server(args: &ServerArgs) -> io::Result<()> {
    if let Some(addr) = args.path.raw_udp {
        let once = args.once;
        let blast = tokio::task::spawn_blocking(move || raw_udp::server(addr, once));
        return tokio::select! {
            r = blast => r.map_err(io::Error::other)?,
            _ = net::interrupted() => {
                // The counting thread blocks in recv; nothing to clean up.
                std::process::exit(0)
            }
        };
    }
    enum Listener {
        Synack(synack_tokio::TcpListener),
        Kernel(tokio::net::TcpListener),
    }
    let listener = if let Some(addr) = args.path.udp {
        let stack = net::udp_stack(addr, &args.stack)?;
        let at = stack.udp_addr().unwrap_or(addr);
        Listener::Synack(stack.bind_addr(at)?)
    } else if let Some((device, local)) = args.path.tun.device(args.stack.mtu).map_err(invalid)? {
        let stack = net::tun_stack(&device, local, &args.stack)?;
        Listener::Synack(stack.bind_addr(SocketAddr::new(local, args.port))?)
    } else if let Some(addr) = args.path.kernel_tcp {
        Listener::Kernel(tokio::net::TcpListener::bind(addr).await?)
    } else {
        return Err(invalid("give --udp, --tun, --kernel-tcp or --raw-udp"));
    };
    let local = match &listener {
        Listener::Synack(l) => l.local_addr()?,
        Listener::Kernel(l) => l.local_addr()?,
    };
    eprintln!("synack perf: listening on {local}");
    let serve = async {
        loop {
            let (peer, task) = match &listener {
                Listener::Synack(l) => {
                    let (mut s, peer) = l.accept().await?;
                    s.set_nodelay(true)?;
                    let tuple = FourTuple::new(s.local_addr()?, peer);
                    let stats = args.stats.clone();
                    // Wait for the close to complete before the task ends:
                    // the stack's driver must still send the reply and FIN
                    // when this process is about to exit (`--once`).
                    let task = tokio::spawn(async move {
                        let served = serve_one(&mut s).await;
                        // `close` takes the stream: its counters as the
                        // client finished, before our FIN.
                        if let Ok(last) = s.stats() {
                            stats.report_closed(tuple, &last);
                        }
                        s.close().await?;
                        served
                    });
                    (peer, task)
                }
                Listener::Kernel(l) => {
                    let (mut s, peer) = l.accept().await?;
                    s.set_nodelay(true)?;
                    (peer, tokio::spawn(async move { serve_one(&mut s).await }))
                }
            };
            if args.once {
                let r = task.await.map_err(io::Error::other)?;
                report_served(peer, r);
                return Ok::<(), io::Error>(());
            }
            tokio::spawn(async move {
                if let Ok(r) = task.await {
                    report_served(peer, r);
                }
            });
        }
    };
    let stack = match &listener {
        Listener::Synack(l) => Some(l.stack().clone()),
        Listener::Kernel(_) => None,
    };
    if stack.is_none() && args.stats.stats {
        return Err(invalid(
            "--stats reports synack's counters: use --udp or --tun",
        ));
    }
    let periodic = async {
        match &stack {
            Some(stack) => args.stats.report_periodically(stack).await,
            None => std::future::pending().await,
        }
    };
    let outcome = tokio::select! {
        r = serve => r,
        _ = net::interrupted() => {
            eprintln!("synack perf: interrupted, stopping");
            Ok(())
        }
        _ = periodic => Ok(()),
    };
    if let Some(stack) = &stack {
        args.stats.report_final(stack);
    }
    outcome
}

pub(crate) fn report_served(peer: SocketAddr, r: io::Result<(char, u64)>) {
    match r {
        Ok((mode, n)) => eprintln!(
            "synack perf: {peer}: {} {n} {}",
            if mode == 'S' { "received" } else { "echoed" },
            if mode == 'S' { "bytes" } else { "messages" }
        ),
        Err(e) => eprintln!("synack perf: {peer}: {e}"),
    }
}

/// Serves one client: counts a stream, or echoes messages.
async fn serve_one<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) -> io::Result<(char, u64)> {
    let mode = s.read_u8().await?;
    match mode {
        b'S' => {
            let mut buf = vec![0u8; CHUNK];
            let mut total = 0u64;
            loop {
                let n = s.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
            s.write_u64(total).await?;
            s.shutdown().await?;
            Ok(('S', total))
        }
        b'R' => {
            let size = s.read_u32().await? as usize;
            let mut msg = vec![0u8; size.max(1)];
            let mut count = 0u64;
            loop {
                match s.read_exact(&mut msg).await {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                    Err(e) => return Err(e),
                }
                s.write_all(&msg).await?;
                count += 1;
            }
            s.shutdown().await?;
            Ok(('R', count))
        }
        m => Err(invalid(format!("unknown mode byte {m}"))),
    }
}

/// What the client measured.
pub(crate) struct Outcome {
    pub(crate) bytes: u64,
    pub(crate) seconds: f64,
    /// Request/response latencies in microseconds, sorted.
    pub(crate) latencies: Vec<f64>,
    pub(crate) srtt_ms: Option<f64>,
    pub(crate) retransmitted: Option<u64>,
    pub(crate) cc: Option<&'static str>,
    pub(crate) path: String,
    /// The runtime, for synack's paths.
    pub(crate) runtime: Option<Runtime>,
}

async fn client(args: &ClientArgs) -> io::Result<()> {
    let outcome = if let Some(addr) = args.path.udp {
        let stack = net::udp_stack(SocketAddr::new(net::route_source(addr)?, 0), &args.stack)?;
        let s = stack.connect(addr).await?;
        let path = format!("synack over UDP to {addr}");
        run_synack(args, s, path).await?
    } else if let Some((device, local)) = args.path.tun.device(args.stack.mtu).map_err(invalid)? {
        let to = args.to.ok_or_else(|| invalid("--tun needs --to IP:PORT"))?;
        let stack = net::tun_stack(&device, local, &args.stack)?;
        let s = stack.connect(to).await?;
        let path = format!("synack over TUN {} to {to}", device.name);
        run_synack(args, s, path).await?
    } else if let Some(addr) = args.path.raw_udp {
        let time = args.send_time();
        let (bytes, seconds) = tokio::task::spawn_blocking(move || raw_udp::client(addr, time))
            .await
            .map_err(io::Error::other)??;
        Outcome {
            bytes,
            seconds,
            path: format!("raw UDP ({}-byte datagrams) to {addr}", raw_udp::DATAGRAM),
            ..Outcome::empty()
        }
    } else if let Some(addr) = args.path.kernel_tcp {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        let mut o = exchange(args, &mut s).await?;
        o.path = format!("kernel TCP to {addr}");
        o
    } else {
        return Err(invalid("give --udp, --tun, --kernel-tcp or --raw-udp"));
    };
    report(args, &outcome);
    Ok(())
}

impl Outcome {
    /// An outcome with nothing measured yet.
    pub(crate) fn empty() -> Outcome {
        Outcome {
            bytes: 0,
            seconds: 0.0,
            latencies: Vec::new(),
            srtt_ms: None,
            retransmitted: None,
            cc: None,
            path: String::new(),
            runtime: None,
        }
    }

    /// Takes the connection's RTT, retransmissions and controller.
    pub(crate) fn record(&mut self, stats: &Stats) {
        self.srtt_ms = stats.srtt.map(|d| d.total_micros() as f64 / 1000.0);
        self.retransmitted = Some(stats.retransmitted_segments);
        self.cc = Some(stats.congestion_control);
    }
}

async fn run_synack(
    args: &ClientArgs,
    mut s: synack_tokio::TcpStream,
    path: String,
) -> io::Result<Outcome> {
    s.set_nodelay(true)?;
    let mut o = exchange(args, &mut s).await?;
    if let Ok(stats) = s.stats() {
        o.record(&stats);
    }
    o.runtime = Some(Runtime::Tokio);
    o.path = path;
    Ok(o)
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    args: &ClientArgs,
    s: &mut S,
) -> io::Result<Outcome> {
    let started = Instant::now();
    let mut outcome = Outcome::empty();
    if let Some(n) = args.rr {
        s.write_u8(b'R').await?;
        s.write_u32(args.size).await?;
        let mut msg = vec![0u8; args.size.max(1) as usize];
        Rng::new(7).fill(&mut msg);
        let mut back = vec![0u8; msg.len()];
        let mut lat = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let t = Instant::now();
            s.write_all(&msg).await?;
            s.read_exact(&mut back).await?;
            lat.push(t.elapsed().as_secs_f64() * 1e6);
        }
        if back != msg {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "echo differs"));
        }
        s.shutdown().await?;
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await?;
        outcome.seconds = started.elapsed().as_secs_f64();
        outcome.bytes = n * u64::from(args.size) * 2;
        lat.sort_by(f64::total_cmp);
        outcome.latencies = lat;
        return Ok(outcome);
    }
    let deadline = match (args.bytes, args.time) {
        (Some(_), _) => None,
        (None, _) => Some(started + args.send_time()),
    };
    let mut left = args.bytes.unwrap_or(u64::MAX);
    s.write_u8(b'S').await?;
    let mut buf = vec![0u8; CHUNK];
    Rng::new(9).fill(&mut buf);
    while left > 0 && deadline.is_none_or(|d| Instant::now() < d) {
        let n = (left.min(CHUNK as u64)) as usize;
        s.write_all(&buf[..n]).await?;
        left -= n as u64;
    }
    s.shutdown().await?;
    let counted = s.read_u64().await?;
    outcome.seconds = started.elapsed().as_secs_f64();
    outcome.bytes = counted;
    Ok(outcome)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

pub(crate) fn report(args: &ClientArgs, o: &Outcome) {
    let goodput = o.bytes as f64 * 8.0 / o.seconds.max(1e-9);
    if args.json {
        let mut v = json!({
            "bytes": o.bytes,
            "seconds": o.seconds,
            "goodput_bps": goodput,
            "retransmitted_segments": o.retransmitted,
            "srtt_ms": o.srtt_ms,
            "cc": o.cc,
            "runtime": o.runtime.map(Runtime::name),
        });
        if args.rr.is_some() {
            let mean = o.latencies.iter().sum::<f64>() / o.latencies.len().max(1) as f64;
            v["rr"] = json!({
                "exchanges": o.latencies.len(),
                "size": args.size,
                "mean_us": mean,
                "p50_us": percentile(&o.latencies, 0.5),
                "p99_us": percentile(&o.latencies, 0.99),
            });
        }
        outln!("{v}");
        return;
    }
    outln!("synack perf: {}", o.path);
    if args.rr.is_some() {
        let mean = o.latencies.iter().sum::<f64>() / o.latencies.len().max(1) as f64;
        outln!(
            "  {} exchanges of {} bytes: mean {:.1} µs, p50 {:.1} µs, p99 {:.1} µs",
            o.latencies.len(),
            args.size,
            mean,
            percentile(&o.latencies, 0.5),
            percentile(&o.latencies, 0.99)
        );
    } else {
        outln!(
            "  {} bytes in {:.2} s: goodput {}",
            o.bytes,
            o.seconds,
            net::rate(goodput)
        );
    }
    if let Some(ms) = o.srtt_ms {
        outln!("  srtt {ms:.3} ms");
    }
    if let Some(r) = o.retransmitted {
        outln!("  retransmitted segments: {r}");
    }
    if let Some(cc) = o.cc {
        outln!("  cc {cc}");
    }
}
