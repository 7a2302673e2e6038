//! An echo server on a synack stack over UDP.
//!
//! ```sh
//! cargo run -p synack-tokio --example echo_server -- 127.0.0.1:7777
//! cargo run -p synack-tokio --example echo_client -- 127.0.0.1:7777 "hello"
//! ```
//!
//! The server's UDP socket is bound to the address given, and it listens
//! on the TCP port equal to the UDP port, so a client stack reaches it by
//! connecting to that same address.

use synack_tokio::Stack;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7777".into())
        .parse()
        .expect("an address like 127.0.0.1:7777");
    let stack = Stack::udp(addr)?;
    let listener = stack.bind_addr(addr)?;
    eprintln!(
        "echo server on {} (synack over UDP)",
        listener.local_addr()?
    );
    loop {
        let (stream, peer) = listener.accept().await?;
        tokio::spawn(async move {
            let (mut r, mut w) = stream.into_split();
            match tokio::io::copy(&mut r, &mut w).await {
                Ok(n) => eprintln!("{peer}: echoed {n} bytes"),
                Err(e) => eprintln!("{peer}: {e}"),
            }
        });
    }
}
