//! `synack tun serve|connect`: synack on a TUN device, talking to the
//! kernel's TCP (and any ordinary program) on the other side.

use crate::out::outln;
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use synack_core::FourTuple;
use synack_core::conn::Stats;
use synack_tokio::{OwnedReadHalf, OwnedWriteHalf, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use xxhash_rust::xxh3::Xxh3;

use crate::net::{self, StackArgs, TunDevArgs};
use crate::stats::StatsArgs;
use synack_link::impair::Rng;

const CHUNK: usize = 64 * 1024;

/// Arguments of `synack tun`.
#[derive(Debug, Args)]
pub struct TunArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Listen on the device at --local:--port and serve each connection
    /// (echo, discard or source), until Ctrl-C, SIGTERM or --for.
    Serve(ServeArgs),
    /// Connect from the device to --to, send --bytes, read what comes
    /// back until the peer closes, and report.
    Connect(ConnectArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    /// Send back what arrives.
    Echo,
    /// Read and drop what arrives.
    Discard,
    /// Send seeded random data until the peer closes or resets.
    Source,
}

#[derive(Debug, Args)]
struct Device {
    /// TUN device name to create.
    #[arg(long, value_name = "NAME")]
    dev: String,
    /// synack's address on the device's network.
    #[arg(long, value_name = "IP")]
    local: std::net::IpAddr,
    /// The kernel's address and the network's prefix, e.g. 10.77.0.1/24.
    #[arg(long, value_name = "IP/PREFIX", value_parser = net::parse_prefix)]
    kernel: (std::net::IpAddr, u8),
}

impl Device {
    /// The device of MTU `mtu` (`--mtu`, `auto`: 1500).
    fn config(
        &self,
        mtu: net::Mtu,
    ) -> Result<(synack_link::tun::TunConfig, std::net::IpAddr), String> {
        let args = TunDevArgs {
            dev: Some(self.dev.clone()),
            local: Some(self.local),
            kernel: Some(self.kernel),
        };
        Ok(args.device(mtu)?.expect("a device was named"))
    }
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    device: Device,
    /// TCP port to listen on.
    #[arg(long)]
    port: u16,
    /// What to do with each connection.
    #[arg(long, value_enum, default_value = "echo")]
    mode: Mode,
    /// Stop after this many seconds.
    #[arg(long = "for", value_name = "SECONDS")]
    duration: Option<f64>,
    #[command(flatten)]
    stack: StackArgs,
    #[command(flatten)]
    stats: StatsArgs,
}

#[derive(Debug, Args)]
struct ConnectArgs {
    #[command(flatten)]
    device: Device,
    /// The kernel-side server, IP:PORT.
    #[arg(long, value_name = "IP:PORT")]
    to: SocketAddr,
    /// Bytes to send, e.g. 1MB or 1MiB.
    #[arg(long, default_value = "1MiB", value_parser = crate::units::size)]
    bytes: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    stack: StackArgs,
}

pub fn run(args: TunArgs) -> ExitCode {
    let rt = match net::runtime() {
        Ok(rt) => rt,
        Err(e) => return net::fail("tun", e),
    };
    let result = match args.action {
        Action::Serve(a) => rt.block_on(serve(a)),
        Action::Connect(a) => rt.block_on(connect(a)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => net::fail("tun", e),
    }
}

async fn serve(args: ServeArgs) -> io::Result<()> {
    let (device, local) = args
        .device
        .config(args.stack.mtu)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let stack = net::tun_stack(&device, local, &args.stack)?;
    let listener = stack.bind_addr(SocketAddr::new(local, args.port))?;
    eprintln!(
        "synack tun: {} up, kernel {}/{}, synack listening on {} ({:?})",
        device.name,
        device.kernel_addr,
        device.prefix,
        listener.local_addr()?,
        args.mode
    );
    let mode = args.mode;
    let accept_loop = async {
        loop {
            let (stream, peer) = listener.accept().await?;
            let tuple = FourTuple::new(stream.local_addr()?, peer);
            let stats = args.stats.clone();
            tokio::spawn(async move {
                let (served, last) = serve_one(stream, mode).await;
                match served {
                    Ok((read, written)) => {
                        eprintln!("synack tun: {peer}: read {read} bytes, wrote {written}")
                    }
                    Err(e) => eprintln!("synack tun: {peer}: {e}"),
                }
                if let Some(last) = last {
                    stats.report_closed(tuple, &last);
                }
            });
        }
        #[allow(unreachable_code)]
        Ok::<(), io::Error>(())
    };
    let limit = async {
        match args.duration {
            Some(s) => tokio::time::sleep(Duration::from_secs_f64(s)).await,
            None => std::future::pending().await,
        }
    };
    let outcome = tokio::select! {
        r = accept_loop => r,
        _ = net::interrupted() => {
            eprintln!("synack tun: interrupted, stopping");
            Ok(())
        }
        _ = limit => {
            eprintln!("synack tun: time is up, stopping");
            Ok(())
        }
        _ = args.stats.report_periodically(&stack) => Ok(()),
    };
    args.stats.report_final(&stack);
    outcome
}

/// Serves one connection; returns (bytes read, bytes written) and the
/// connection's final counters.
async fn serve_one(stream: TcpStream, mode: Mode) -> (io::Result<(u64, u64)>, Option<Stats>) {
    let (r, mut w) = stream.into_split();
    let served = serve_halves(r, &mut w, mode).await;
    (served, w.stats().ok())
}

async fn serve_halves(
    mut r: OwnedReadHalf,
    w: &mut OwnedWriteHalf,
    mode: Mode,
) -> io::Result<(u64, u64)> {
    match mode {
        Mode::Echo => {
            let n = tokio::io::copy(&mut r, w).await?;
            w.shutdown().await?;
            Ok((n, n))
        }
        Mode::Discard => {
            let n = tokio::io::copy(&mut r, &mut tokio::io::sink()).await?;
            w.shutdown().await?;
            Ok((n, 0))
        }
        Mode::Source => {
            // Write until the peer goes away; count what it sends meanwhile.
            let reader =
                tokio::spawn(async move { tokio::io::copy(&mut r, &mut tokio::io::sink()).await });
            let mut source = Rng::new(1);
            let mut buf = vec![0u8; CHUNK];
            let mut written = 0u64;
            loop {
                source.fill(&mut buf);
                match w.write_all(&buf).await {
                    Ok(()) => written += buf.len() as u64,
                    Err(_) => break,
                }
                if reader.is_finished() {
                    break;
                }
            }
            let _ = w.shutdown().await;
            let read = reader.await.map_err(io::Error::other)?.unwrap_or(0);
            Ok((read, written))
        }
    }
}

async fn connect(args: ConnectArgs) -> io::Result<()> {
    let (device, local) = args
        .device
        .config(args.stack.mtu)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let stack = net::tun_stack(&device, local, &args.stack)?;
    let started = Instant::now();
    let mut stream = stack.connect(args.to).await?;
    stream.set_nodelay(true)?;
    let (mut r, mut w) = stream.split();
    let bytes = args.bytes;
    let send = net::write_seeded(&mut w, bytes, 2, CHUNK);
    let recv = async {
        let mut hash = Xxh3::new();
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0u64;
        loop {
            let n = r.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            total += n as u64;
        }
        Ok::<_, io::Error>((total, hash.digest128()))
    };
    let (sent_hash, (received, recv_hash)) = tokio::try_join!(send, recv)?;
    let seconds = started.elapsed().as_secs_f64();
    let stats = stream.stats().ok();
    let echoed = received == bytes && recv_hash == sent_hash;
    let srtt = stats
        .as_ref()
        .and_then(|s| s.srtt)
        .map(|d| d.total_micros() as f64 / 1000.0);
    let retrans = stats.as_ref().map(|s| s.retransmitted_segments);
    if args.json {
        outln!(
            "{}",
            serde_json::json!({
                "sent": bytes,
                "received": received,
                "echo_intact": echoed,
                "seconds": seconds,
                "srtt_ms": srtt,
                "retransmitted_segments": retrans,
            })
        );
    } else {
        outln!(
            "synack tun: sent {bytes} bytes to {}, received {received}{} in {seconds:.2} s",
            args.to,
            if echoed { " (an exact echo)" } else { "" }
        );
        if let Some(ms) = srtt {
            outln!(
                "  srtt {ms:.3} ms, retransmitted segments {}",
                retrans.unwrap_or(0)
            );
        }
    }
    drop(stream);
    Ok(())
}
