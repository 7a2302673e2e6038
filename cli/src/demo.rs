//! `synack demo`: a server and a client, two synack stacks in one process
//! over UDP on loopback, move random data; the receiver checks its hash.

use crate::out::outln;
use std::io::{self, IsTerminal};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use futures_lite::future::zip;
use indicatif::{ProgressBar, ProgressStyle};
use synack_core::conn::Stats;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use xxhash_rust::xxh3::Xxh3;

use crate::net::{self, AsyncAdapter, MakeStack, Runtime, StackArgs};

/// Bytes per write and per read.
pub(crate) const CHUNK: usize = 256 * 1024;

/// Arguments of `synack demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How much data to move, e.g. 100MB (SI units) or 1GiB (binary units).
    #[arg(long, default_value = "1GiB", value_parser = crate::units::size)]
    pub(crate) bytes: u64,
    /// Print the summary as one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Seed of the random data.
    #[arg(long, default_value_t = 42)]
    pub(crate) data_seed: u64,
    #[command(flatten)]
    pub(crate) stack: StackArgs,
}

/// What the run measured.
pub(crate) struct Summary {
    bytes: u64,
    seconds: f64,
    intact: bool,
    srtt_ms: Option<f64>,
    retransmitted: u64,
    cc: &'static str,
    runtime: Runtime,
    /// Retransmission timeouts that fired at the sender.
    timeouts: u64,
    /// Fast recovery episodes (RFC 6675) the sender entered.
    fast_recoveries: u64,
    /// Tail loss probes (RFC 8985) the sender sent.
    tail_loss_probes: u64,
    /// The sender's congestion window at the end, in bytes.
    cwnd: usize,
}

pub fn run(args: DemoArgs) -> ExitCode {
    let result = match args.stack.runtime {
        Runtime::Tokio => net::runtime().and_then(|rt| rt.block_on(demo::<net::Tokio>(&args))),
        Runtime::Smol => smol::block_on(demo::<net::Smol>(&args)),
        Runtime::Mio => crate::mio_loop::demo(&args),
    };
    match result {
        Ok(s) => {
            report(&args, &s);
            if s.intact {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => net::fail("demo", e),
    }
}

/// The demo on an async adapter: the server's accept and the client's
/// connect, then its send and the server's receive, run side by side in
/// one task, on whichever runtime called it.
async fn demo<A: AsyncAdapter>(args: &DemoArgs) -> io::Result<Summary> {
    let (server, client, addr) = stacks::<A>(&args.stack)?;
    let listener = A::bind(&server, addr)?;
    let progress = Progress::start(args);
    let started = Instant::now();
    let (accepted, connected) = zip(A::accept(&listener), A::connect(&client, addr)).await;
    let (mut receiving, mut sending) = (accepted?.0, connected?);
    let (received, sent_hash) = zip(
        receive(&mut receiving, &progress.received),
        net::write_seeded(&mut sending, args.bytes, args.data_seed, CHUNK),
    )
    .await;
    let (total, got_hash, finished) = received?;
    let sent_hash = sent_hash?;
    let stats = A::stats(&sending)?;
    progress.finish(total);
    Ok(Summary::new(
        args,
        total,
        finished.duration_since(started),
        got_hash == sent_hash,
        &stats,
    ))
}

/// The server's and the client's stacks on loopback UDP, and the address
/// the server listens on. The client's link carries the loss, if any (in
/// both directions); the server's path is clean.
pub(crate) fn stacks<M: MakeStack>(
    args: &StackArgs,
) -> io::Result<(M::Stack, M::Stack, SocketAddr)> {
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    let server_args = StackArgs {
        loss: 0.0,
        ..args.clone()
    };
    let server_link = net::udp_link::<M::Runtime>(loopback, &server_args)?;
    let addr = server_link.local_addr();
    let mut config = server_args.config();
    config.local_ip = Some(addr.ip());
    let server = net::stack_over::<M, _>(server_link, &server_args, config)?;
    let client = net::udp_stack_of::<M>(loopback, args)?;
    Ok((server, client, addr))
}

/// Reads to the end, hashing; returns the count, the hash and when the
/// end came. Closes its side after the client's FIN.
async fn receive<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    counter: &AtomicU64,
) -> io::Result<(u64, u128, Instant)> {
    let mut hash = Xxh3::new();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        total += n as u64;
        counter.store(total, Ordering::Relaxed);
    }
    let finished = Instant::now();
    stream.shutdown().await?;
    Ok((total, hash.digest128(), finished))
}

impl Summary {
    /// The summary of `bytes` moved in `elapsed`, from the sender's counters.
    pub(crate) fn new(
        args: &DemoArgs,
        bytes: u64,
        elapsed: Duration,
        hashes_match: bool,
        stats: &Stats,
    ) -> Summary {
        Summary {
            bytes,
            seconds: elapsed.as_secs_f64(),
            intact: bytes == args.bytes && hashes_match,
            srtt_ms: stats.srtt.map(|d| d.total_micros() as f64 / 1000.0),
            retransmitted: stats.retransmitted_segments,
            cc: stats.congestion_control,
            runtime: args.stack.runtime,
            timeouts: stats.timeouts,
            fast_recoveries: stats.recovery.fast_recoveries,
            tail_loss_probes: stats.recovery.tlp_probes,
            cwnd: stats.cwnd,
        }
    }
}

/// The progress bar (on a terminal, without --json), fed by a thread
/// that reads the receiver's counter: no runtime's timer needed.
pub(crate) struct Progress {
    /// Bytes received so far.
    pub(crate) received: Arc<AtomicU64>,
    bar: Option<(ProgressBar, Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
}

impl Progress {
    pub(crate) fn start(args: &DemoArgs) -> Progress {
        let received = Arc::new(AtomicU64::new(0));
        let bar = progress_bar(args).map(|bar| {
            let done = Arc::new(AtomicBool::new(false));
            let ticker = {
                let (bar, done, received) = (bar.clone(), done.clone(), received.clone());
                std::thread::spawn(move || {
                    while !done.load(Ordering::Relaxed) {
                        bar.set_position(received.load(Ordering::Relaxed));
                        std::thread::sleep(Duration::from_millis(100));
                    }
                })
            };
            (bar, done, ticker)
        });
        Progress { received, bar }
    }

    pub(crate) fn finish(self, total: u64) {
        if let Some((bar, done, ticker)) = self.bar {
            done.store(true, Ordering::Relaxed);
            let _ = ticker.join();
            bar.set_position(total);
            bar.finish_and_clear();
        }
    }
}

fn progress_bar(args: &DemoArgs) -> Option<ProgressBar> {
    if args.json || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(args.bytes);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{bar:40}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    Some(bar)
}

fn report(args: &DemoArgs, s: &Summary) {
    let goodput = s.bytes as f64 * 8.0 / s.seconds.max(1e-9);
    if args.json {
        let v = serde_json::json!({
            "bytes": s.bytes,
            "seconds": s.seconds,
            "goodput_bps": goodput,
            "data_intact": s.intact,
            "srtt_ms": s.srtt_ms,
            "retransmitted_segments": s.retransmitted,
            "timeouts": s.timeouts,
            "fast_recoveries": s.fast_recoveries,
            "tail_loss_probes": s.tail_loss_probes,
            "cwnd": s.cwnd,
            "cc": s.cc,
            "runtime": s.runtime.name(),
        });
        outln!("{v}");
        return;
    }
    outln!(
        "synack demo: {} bytes over UDP loopback, {} runtime, cc {}, loss {}%",
        s.bytes,
        s.runtime.name(),
        s.cc,
        args.stack.loss * 100.0
    );
    outln!("  {:.2} s, goodput {}", s.seconds, net::rate(goodput));
    outln!(
        "  data intact: {}",
        if s.intact {
            "yes (xxh3-128 matches)"
        } else {
            "NO"
        }
    );
    match s.srtt_ms {
        Some(ms) => outln!("  srtt {ms:.3} ms"),
        None => outln!("  srtt unmeasured"),
    }
    outln!(
        "  retransmitted segments: {} (timeouts {}, fast recoveries {}, tail-loss probes {}, cwnd {} B at the end)",
        s.retransmitted,
        s.timeouts,
        s.fast_recoveries,
        s.tail_loss_probes,
        s.cwnd
    );
}
