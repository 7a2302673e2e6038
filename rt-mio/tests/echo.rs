//! Many connections through one mio loop, driven only by the readiness
//! events the stacks report: 100 concurrent echo connections, each
//! checked byte for byte, and 16 MB one way with a hash check.

mod common;

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;

use common::{
    CLIENT_STACK, EventLoop, LISTENER, SERVER_STACK, hash, pattern, read_available, stack,
    write_available,
};
use mio::{Interest, Registry, Token};
use synack_mio::{TcpListener, TcpStream};

/// The client side of one connection: sends `data`, then a FIN, and
/// reads back the echo.
struct Client {
    stream: TcpStream,
    data: Vec<u8>,
    sent: usize,
    shut: bool,
    back: Vec<u8>,
    done: bool,
}

impl Client {
    fn pump(&mut self) {
        if !self.shut && write_available(&self.stream, &self.data, &mut self.sent).unwrap() {
            self.stream.shutdown(Shutdown::Write).unwrap();
            self.shut = true;
        }
        self.done |= read_available(&self.stream, &mut self.back).unwrap();
    }
}

/// The server side: writes back what it reads; reads on only when all
/// it read has been written (so nothing piles up), and sends a FIN after
/// the peer's.
struct Echo {
    stream: TcpStream,
    pending: Vec<u8>,
    eof: bool,
    shut: bool,
    echoed: usize,
}

impl Echo {
    fn pump(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        loop {
            while !self.pending.is_empty() {
                match (&self.stream).write(&self.pending) {
                    Ok(n) => {
                        self.pending.drain(..n);
                        self.echoed += n;
                    }
                    // Its writable event brings us back.
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                    Err(e) => panic!("echo write: {e}"),
                }
            }
            if self.eof {
                if !self.shut {
                    self.stream.shutdown(Shutdown::Write).unwrap();
                    self.shut = true;
                }
                return;
            }
            match (&self.stream).read(&mut buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                // Its readable event brings us back.
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => panic!("echo read: {e}"),
            }
        }
    }
}

/// Accepts every waiting connection, registered under tokens from
/// `next`.
fn accept_all(
    listener: &TcpListener,
    registry: &Registry,
    next: &mut usize,
    into: &mut HashMap<Token, Echo>,
) {
    loop {
        match listener.accept() {
            Ok((mut stream, peer)) => {
                assert_eq!(stream.peer_addr().unwrap(), peer);
                let token = Token(*next);
                *next += 1;
                registry
                    .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                    .unwrap();
                let echo = Echo {
                    stream,
                    pending: Vec::new(),
                    eof: false,
                    shut: false,
                    echoed: 0,
                };
                into.insert(token, echo);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) => panic!("accept: {e}"),
        }
    }
}

#[test]
fn hundred_concurrent_echo_connections_are_byte_exact() {
    let mut lp = EventLoop::new(60);
    let mut server = stack();
    let mut client = stack();
    lp.add(&mut server, SERVER_STACK);
    lp.add(&mut client, CLIENT_STACK);
    let addr = server.udp_addr().unwrap();
    let mut listener = server.bind(addr).unwrap();
    lp.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    // Client tokens 0..100, server tokens from 10,000.
    let mut clients: HashMap<Token, Client> = HashMap::new();
    for id in 0..100usize {
        // Sizes from 1 byte to ~200 KB: one segment to many windows.
        let len = 1 + (id * 2_017) % 200_000;
        let mut stream = client.connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        lp.registry()
            .register(
                &mut stream,
                Token(id),
                Interest::READABLE | Interest::WRITABLE,
            )
            .unwrap();
        let c = Client {
            stream,
            data: pattern(id as u64, len),
            sent: 0,
            shut: false,
            back: Vec::new(),
            done: false,
        };
        clients.insert(Token(id), c);
    }
    let mut echoes: HashMap<Token, Echo> = HashMap::new();
    let mut next = 10_000;
    lp.run_until(&mut [&mut client, &mut server], |events, registry| {
        for event in events {
            match event.token() {
                LISTENER => accept_all(&listener, registry, &mut next, &mut echoes),
                t if t.0 < 10_000 => clients.get_mut(&t).unwrap().pump(),
                t => echoes.get_mut(&t).unwrap().pump(),
            }
        }
        clients.values().all(|c| c.done).then_some(())
    });
    for (token, c) in &clients {
        assert!(
            c.back == c.data,
            "connection {}: echo differs ({} of {} bytes)",
            token.0,
            c.back.len(),
            c.data.len()
        );
    }
    let expected: usize = clients.values().map(|c| c.data.len()).sum();
    assert_eq!(echoes.values().map(|e| e.echoed).sum::<usize>(), expected);
    // Nothing arrived damaged.
    for s in [&client, &server] {
        assert_eq!(s.stats().drops.malformed, 0, "{:?}", s.stats());
    }
}

#[test]
fn sixteen_megabytes_arrive_with_the_same_hash() {
    let mut lp = EventLoop::new(60);
    let mut server = stack();
    let mut client = stack();
    lp.add(&mut server, SERVER_STACK);
    lp.add(&mut client, CLIENT_STACK);
    let addr = server.udp_addr().unwrap();
    let mut listener = server.bind(addr).unwrap();
    lp.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    const UP: Token = Token(1);
    const DOWN: Token = Token(2);
    let data = pattern(7, 16 << 20);
    let mut up = client.connect(addr).unwrap();
    lp.registry()
        .register(&mut up, UP, Interest::WRITABLE)
        .unwrap();
    let mut down: Option<TcpStream> = None;
    let (mut sent, mut shut, mut got) = (0, false, Vec::with_capacity(data.len()));
    lp.run_until(&mut [&mut client, &mut server], |events, registry| {
        let mut eof = false;
        for event in events {
            match event.token() {
                LISTENER => {
                    let (mut s, _) = listener.accept().unwrap();
                    registry.register(&mut s, DOWN, Interest::READABLE).unwrap();
                    down = Some(s);
                }
                UP => {
                    if !shut && write_available(&up, &data, &mut sent).unwrap() {
                        up.shutdown(Shutdown::Write).unwrap();
                        shut = true;
                    }
                }
                DOWN => eof = read_available(down.as_ref().unwrap(), &mut got).unwrap(),
                t => panic!("unexpected token {t:?}"),
            }
        }
        eof.then_some(())
    });
    assert_eq!(got.len(), data.len());
    assert_eq!(hash(&got), hash(&data));
    let mut rest = [0u8; 1];
    assert_eq!(down.unwrap().read(&mut rest).unwrap(), 0);
}
