//! mio's `examples/tcp_server.rs`, ported to synack: the same loop,
//! tokens and handler, with synack's types, the stack registered in the
//! `Poll`, and the stack's two calls (`timeout` for `poll`, then
//! `process`, whose events replace the stream events of `poll`).
//!
//! synack's TCP runs over UDP here, so its peer is another synack stack;
//! run the server, then the client in another terminal:
//!
//! ```text
//! cargo run -p synack-mio --example tcp_server
//! cargo run -p synack-mio --example client -- "hi there"
//! ```
//!
//! The server listens on TCP port 9000 of a stack on UDP 127.0.0.1:9000,
//! so another stack reaches it by connecting to that address.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::str::from_utf8;

use mio::{Interest, Poll, Registry, Token};
use synack_mio::{Event, Events, Stack, TcpStream};

// Tokens that tell which event is for which source.
const SERVER: Token = Token(0);
// The stack's own socket: its events only say "run the stack".
const STACK: Token = Token(usize::MAX - 1);

// What we send to every connection.
const DATA: &[u8] = b"Hello world!\n";

fn main() -> io::Result<()> {
    let mut poll = Poll::new()?;
    // The poll's own events (only the stack's socket is in it)...
    let mut poll_events = mio::Events::with_capacity(128);
    // ...and those of the streams and the listener inside the stack.
    let mut events = Events::with_capacity(128);

    // A synack stack on UDP, registered in the poll.
    let addr = "127.0.0.1:9000".parse().unwrap();
    let mut stack = Stack::udp(addr)?;
    poll.registry()
        .register(&mut stack, STACK, Interest::READABLE)?;

    // The TCP server socket, on the stack.
    let mut server = stack.bind(addr)?;
    poll.registry()
        .register(&mut server, SERVER, Interest::READABLE)?;

    // Token -> connection.
    let mut connections = HashMap::new();
    // The next token for an incoming connection.
    let mut unique_token = Token(SERVER.0 + 1);

    println!("Connect with the client example (synack over UDP):");
    println!(" $ cargo run -p synack-mio --example client");
    println!("It gets our greeting, and what it sends is printed here.");

    loop {
        // Sleep until the stack's socket is ready or its next timer.
        if let Err(err) = poll.poll(&mut poll_events, stack.timeout()) {
            if interrupted(&err) {
                continue;
            }
            return Err(err);
        }
        // Run the stack; it reports which streams became ready.
        stack.process(&mut events)?;

        for event in events.iter() {
            match event.token() {
                SERVER => loop {
                    // The listener is readable: connections wait.
                    let (mut connection, address) = match server.accept() {
                        Ok((connection, address)) => (connection, address),
                        // None left: back to polling.
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        // Anything else is fatal.
                        Err(e) => return Err(e),
                    };

                    println!("Accepted connection from: {address}");

                    let token = next(&mut unique_token);
                    poll.registry().register(
                        &mut connection,
                        token,
                        Interest::READABLE.add(Interest::WRITABLE),
                    )?;

                    connections.insert(token, connection);
                },
                token => {
                    // Perhaps an event for a connection.
                    let done = if let Some(connection) = connections.get_mut(&token) {
                        handle_connection_event(poll.registry(), connection, event)?
                    } else {
                        // Stray events can happen; ignore them.
                        false
                    };
                    if done && let Some(mut connection) = connections.remove(&token) {
                        poll.registry().deregister(&mut connection)?;
                    }
                }
            }
        }
    }
}

fn next(current: &mut Token) -> Token {
    let next = current.0;
    current.0 += 1;
    Token(next)
}

/// Returns `true` when the connection is done.
fn handle_connection_event(
    registry: &Registry,
    connection: &mut TcpStream,
    event: &Event,
) -> io::Result<bool> {
    if event.is_writable() {
        // We can (probably) write.
        match connection.write(DATA) {
            // All of `DATA` in one go, or it is an error (as `write_all`
            // would say).
            Ok(n) if n < DATA.len() => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {
                // Written: from now on, readable events only.
                registry.reregister(connection, event.token(), Interest::READABLE)?
            }
            // Not ready after all; a later event says when.
            Err(ref err) if would_block(err) => {}
            // Interrupted: try again.
            Err(ref err) if interrupted(err) => {
                return handle_connection_event(registry, connection, event);
            }
            // Anything else is fatal.
            Err(err) => return Err(err),
        }
    }

    if event.is_readable() {
        let mut connection_closed = false;
        let mut received_data = vec![0; 4096];
        let mut bytes_read = 0;
        // We can (probably) read: read until it would block.
        loop {
            match connection.read(&mut received_data[bytes_read..]) {
                Ok(0) => {
                    // The peer is done writing, so are we.
                    connection_closed = true;
                    break;
                }
                Ok(n) => {
                    bytes_read += n;
                    if bytes_read == received_data.len() {
                        received_data.resize(received_data.len() + 1024, 0);
                    }
                }
                // Nothing more for now.
                Err(ref err) if would_block(err) => break,
                Err(ref err) if interrupted(err) => continue,
                // Anything else is fatal.
                Err(err) => return Err(err),
            }
        }

        if bytes_read != 0 {
            let received_data = &received_data[..bytes_read];
            if let Ok(str_buf) = from_utf8(received_data) {
                println!("Received data: {}", str_buf.trim_end());
            } else {
                println!("Received (non UTF-8) data: {received_data:?}");
            }
        }

        if connection_closed {
            println!("Connection closed");
            return Ok(true);
        }
    }

    Ok(false)
}

fn would_block(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::WouldBlock
}

fn interrupted(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::Interrupted
}
