//! `synack demo`: a server and a client, two synack stacks in one process
//! over UDP on loopback, move random data; the receiver checks its hash.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use synack_tokio::TcpStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use xxhash_rust::xxh3::Xxh3;

use crate::net::{self, StackArgs};

/// Bytes per write and per read.
const CHUNK: usize = 256 * 1024;

/// Arguments of `synack demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How much data to move, e.g. 100MB (SI units) or 1GiB (binary units).
    #[arg(long, default_value = "1GiB", value_parser = crate::units::size)]
    bytes: u64,
    /// Print the summary as one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Seed of the random data.
    #[arg(long, default_value_t = 42)]
    data_seed: u64,
    #[command(flatten)]
    stack: StackArgs,
}

/// What the run measured.
struct Summary {
    bytes: u64,
    seconds: f64,
    intact: bool,
    srtt_ms: Option<f64>,
    retransmitted: u64,
    cc: &'static str,
    /// Text report only: how recovery went.
    detail: String,
}

pub fn run(args: DemoArgs) -> ExitCode {
    let rt = match net::runtime() {
        Ok(rt) => rt,
        Err(e) => return net::fail("demo", e),
    };
    match rt.block_on(demo(&args)) {
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

async fn demo(args: &DemoArgs) -> std::io::Result<Summary> {
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
    // The server's path is clean; the client's link carries the loss (in
    // both directions), if any.
    let server_args = StackArgs {
        loss: 0.0,
        ..args.stack.clone()
    };
    let server = net::udp_stack(loopback, &server_args)?;
    let client = net::udp_stack(loopback, &args.stack)?;
    let addr = server.udp_addr().expect("a UDP stack");
    let listener = server.bind(addr)?;

    let received = Arc::new(AtomicU64::new(0));
    let progress = progress_bar(args);
    let ticker = progress.clone().map(|bar| {
        let received = received.clone();
        tokio::spawn(async move {
            loop {
                bar.set_position(received.load(Ordering::Relaxed));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });

    let counter = received.clone();
    let receiver = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await?;
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
        stream.shutdown().await?;
        Ok::<_, std::io::Error>((total, hash.digest128(), Instant::now()))
    });

    let started = Instant::now();
    let stream = client.connect(addr).await?;
    let (sent_hash, stream) = send(stream, args.bytes, args.data_seed).await?;
    let (total, got_hash, finished) = receiver.await.map_err(std::io::Error::other)??;
    let stats = stream.stats()?;
    if let Some(t) = ticker {
        t.abort();
    }
    if let Some(bar) = progress {
        bar.set_position(total);
        bar.finish_and_clear();
    }
    let _ = stream.close().await;
    Ok(Summary {
        bytes: total,
        seconds: finished.duration_since(started).as_secs_f64(),
        intact: total == args.bytes && got_hash == sent_hash,
        srtt_ms: stats.srtt.map(|d| d.total_micros() as f64 / 1000.0),
        retransmitted: stats.retransmitted_segments,
        cc: stats.congestion_control,
        detail: format!(
            "timeouts {}, fast recoveries {}, tail-loss probes {}, cwnd {} B at the end",
            stats.timeouts, stats.recovery.fast_recoveries, stats.recovery.tlp_probes, stats.cwnd
        ),
    })
}

/// Writes `bytes` of seeded random data and shuts the sending side;
/// returns the data's hash.
async fn send(mut stream: TcpStream, bytes: u64, seed: u64) -> std::io::Result<(u128, TcpStream)> {
    let hash = net::write_seeded(&mut stream, bytes, seed, CHUNK).await?;
    Ok((hash, stream))
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
            "cc": s.cc,
        });
        println!("{v}");
        return;
    }
    println!(
        "synack demo: {} bytes over UDP loopback, cc {}, loss {}%",
        s.bytes,
        s.cc,
        args.stack.loss * 100.0
    );
    println!("  {:.2} s, goodput {}", s.seconds, net::rate(goodput));
    println!(
        "  data intact: {}",
        if s.intact {
            "yes (xxh3-128 matches)"
        } else {
            "NO"
        }
    );
    match s.srtt_ms {
        Some(ms) => println!("  srtt {ms:.3} ms"),
        None => println!("  srtt unmeasured"),
    }
    println!(
        "  retransmitted segments: {} ({})",
        s.retransmitted, s.detail
    );
}
