//! An echo client: sends a message to `echo_server` and prints the echo.
//!
//! ```sh
//! cargo run -p synack-tokio --example echo_client -- 127.0.0.1:7777 "hello"
//! ```

use std::net::SocketAddr;

use synack_tokio::Stack;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let server: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:7777".into())
        .parse()
        .expect("an address like 127.0.0.1:7777");
    let message = args.next().unwrap_or_else(|| "hello, synack".into());
    // Our own UDP socket, on the server's side of the routing table.
    let local = SocketAddr::new(
        if server.is_ipv4() {
            [127, 0, 0, 1].into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        },
        0,
    );
    let stack = Stack::udp(local)?;
    let mut stream = stack.connect(server).await?;
    stream.write_all(message.as_bytes()).await?;
    stream.shutdown().await?;
    let mut echo = String::new();
    stream.read_to_string(&mut echo).await?;
    println!("{echo}");
    let stats = stream.stats()?;
    eprintln!(
        "srtt {:?}, {} segments sent, {} retransmitted",
        stats.srtt, stats.segments_sent, stats.retransmitted_segments
    );
    Ok(())
}
