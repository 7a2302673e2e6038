//! A client for the `tcp_server` example: its own synack stack on a UDP
//! socket, one connection to the server's stack, in a mio loop.
//!
//! ```text
//! cargo run -p synack-mio --example tcp_server      # first, elsewhere
//! cargo run -p synack-mio --example client -- "hi there" [127.0.0.1:9000]
//! ```
//!
//! It connects (non-blocking: the stream becomes writable when the
//! handshake is over), sends its message and a FIN, prints what the
//! server sends until the server closes too, and a few of the
//! connection's counters.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use mio::{Interest, Poll, Token};
use synack_mio::{Events, Stack};

const STACK: Token = Token(0);
const CONNECTION: Token = Token(1);

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let message = args
        .next()
        .unwrap_or_else(|| "hello from synack-mio".into());
    let server: SocketAddr = match args.next() {
        Some(a) => a
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{a}: {e}")))?,
        None => "127.0.0.1:9000".parse().unwrap(),
    };

    let mut poll = Poll::new()?;
    let mut poll_events = mio::Events::with_capacity(16);
    let mut events = Events::with_capacity(16);

    // Our own stack, on any free UDP port of the loopback address.
    let mut stack = Stack::udp("127.0.0.1:0".parse().unwrap())?;
    poll.registry()
        .register(&mut stack, STACK, Interest::READABLE)?;

    let mut stream = stack.connect(server)?;
    poll.registry().register(
        &mut stream,
        CONNECTION,
        Interest::READABLE | Interest::WRITABLE,
    )?;

    let give_up = Instant::now() + Duration::from_secs(30);
    let mut sent = false;
    let mut buf = [0u8; 4096];
    let mut finished = false;
    loop {
        if finished {
            // Closing is the stack's to finish (the last ACKs): let it,
            // then stop.
            drop(stream);
            while stack.stats().connections > 0 && Instant::now() < give_up {
                poll.poll(&mut poll_events, stack.timeout())?;
                stack.process(&mut events)?;
            }
            return Ok(());
        }
        if Instant::now() > give_up {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer in 30 s"));
        }
        let timeout = stack.timeout().unwrap_or(Duration::from_secs(1));
        if let Err(e) = poll.poll(&mut poll_events, Some(timeout)) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        stack.process(&mut events)?;

        for event in events.iter() {
            if event.token() != CONNECTION {
                continue;
            }
            if event.is_writable() && !sent {
                // The handshake is over: did it succeed?
                if let Some(e) = stream.take_error()? {
                    return Err(e);
                }
                println!("Connected to {}", stream.peer_addr()?);
                stream.write_all(message.as_bytes())?;
                stream.shutdown(Shutdown::Write)?;
                sent = true;
            }
            if event.is_readable() {
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) => {
                            let stats = stream.stats()?;
                            println!(
                                "Server closed ({} segments sent, {} received, {} retransmitted)",
                                stats.segments_sent,
                                stats.segments_received,
                                stats.retransmitted_segments
                            );
                            finished = true;
                            break;
                        }
                        Ok(n) => print!("{}", String::from_utf8_lossy(&buf[..n])),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
}
