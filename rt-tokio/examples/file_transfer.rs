//! A file transfer between two synack stacks over UDP, optionally through
//! a lossy link.
//!
//! ```sh
//! cargo run --release -p synack-tokio --example file_transfer -- SOURCE DEST [LOSS]
//! ```
//!
//! Both stacks run in this process: the receiver writes what arrives to
//! DEST; at the end the sizes and a checksum are compared. LOSS (e.g.
//! 0.01) puts an impairment stage on the sender's link, both directions.

use std::net::SocketAddr;

use synack_link::impair::{ImpairmentConfig, LossModel};
use synack_tokio::link::{Impaired, Udp};
use synack_tokio::{Stack, StackConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(source), Some(dest)) = (args.next(), args.next()) else {
        eprintln!("usage: file_transfer SOURCE DEST [LOSS]");
        std::process::exit(2);
    };
    let loss: f64 = args
        .next()
        .map_or(0.0, |l| l.parse().expect("a loss rate like 0.01"));
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();

    let receiver = Stack::udp(loopback)?;
    let addr = receiver.udp_addr().expect("a UDP stack");
    let listener = receiver.bind_addr(addr)?;
    let sender_link = Impaired::new(
        Udp::bind(loopback)?,
        ImpairmentConfig {
            loss: LossModel::Bernoulli(loss),
            ..ImpairmentConfig::default()
        },
        1,
    );
    let sender = Stack::new(sender_link, StackConfig::default())?;

    let writer = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await?;
        let mut out = tokio::fs::File::create(&dest).await?;
        let n = tokio::io::copy(&mut stream, &mut out).await?;
        out.flush().await?;
        Ok::<_, std::io::Error>(n)
    });

    let started = std::time::Instant::now();
    let mut file = tokio::fs::File::open(&source).await?;
    let mut stream = sender.connect(addr).await?;
    let sent = tokio::io::copy(&mut file, &mut stream).await?;
    stream.shutdown().await?;
    let received = writer.await.map_err(std::io::Error::other)??;
    let secs = started.elapsed().as_secs_f64();
    let stats = stream.stats()?;
    // Wait for the receiver's close, so the transfer ends cleanly.
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await?;
    println!(
        "sent {sent} bytes, received {received} in {secs:.2} s ({:.1} Mbit/s); {} segments retransmitted",
        received as f64 * 8.0 / secs / 1e6,
        stats.retransmitted_segments
    );
    if sent != received {
        eprintln!("size mismatch");
        std::process::exit(1);
    }
    Ok(())
}
