//! Helpers shared by the integration tests: stacks on loopback UDP, a
//! mio loop over them with a time limit, and the usual non-blocking
//! read/write loops.
#![allow(dead_code)]

use std::hash::{DefaultHasher, Hasher};
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::{Interest, Poll, Registry, Token};
use synack_mio::{Event, Events, Stack, StackConfig, TcpStream};

/// Tokens of the stacks themselves, far from the tests' stream tokens.
pub const SERVER_STACK: Token = Token(usize::MAX - 1);
pub const CLIENT_STACK: Token = Token(usize::MAX - 2);
pub const LISTENER: Token = Token(1_000_000);
pub const CLIENT: Token = Token(1);
pub const SERVER: Token = Token(2);

/// A stack on a fresh loopback UDP socket.
pub fn stack() -> Stack {
    stack_with(StackConfig::default())
}

/// A stack on a fresh loopback UDP socket, with `config`.
pub fn stack_with(config: StackConfig) -> Stack {
    Stack::udp_with(loopback(), config).expect("bind loopback UDP")
}

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// The application's mio loop, as the crate documentation has it, over
/// several stacks; every test bounds its running time through it.
pub struct EventLoop {
    pub poll: Poll,
    os_events: mio::Events,
    events: Events,
    give_up: Instant,
}

impl EventLoop {
    /// A loop that fails the test once it has run `secs` seconds.
    pub fn new(secs: u64) -> EventLoop {
        EventLoop {
            poll: Poll::new().unwrap(),
            os_events: mio::Events::with_capacity(64),
            events: Events::with_capacity(256),
            give_up: Instant::now() + Duration::from_secs(secs),
        }
    }

    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// Registers `stack` under `token`.
    pub fn add(&self, stack: &mut Stack, token: Token) {
        self.registry()
            .register(stack, token, Interest::READABLE)
            .unwrap();
    }

    /// One turn: `poll` with the smallest of the stacks' timeouts (and
    /// never past the time limit), then `process` on every stack. Returns
    /// their events.
    pub fn turn(&mut self, stacks: &mut [&mut Stack]) -> Vec<Event> {
        self.turn_at_most(stacks, Duration::MAX)
    }

    /// A turn whose `poll` waits at most `max`.
    pub fn turn_at_most(&mut self, stacks: &mut [&mut Stack], max: Duration) -> Vec<Event> {
        let left = self.give_up.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "test did not finish in time");
        let timeout = stacks
            .iter()
            .filter_map(|s| s.timeout())
            .min()
            .map_or(left, |t| t.min(left))
            .min(max);
        match self.poll.poll(&mut self.os_events, Some(timeout)) {
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            r => r.unwrap(),
        }
        let mut all = Vec::new();
        for stack in stacks.iter_mut() {
            stack.process(&mut self.events).unwrap();
            all.extend(self.events.iter().copied());
        }
        all
    }

    /// Turns until `step` (given each turn's events and the registry)
    /// returns `Some`. It is asked first with no events, as what it waits
    /// for may have happened on an earlier turn.
    pub fn run_until<T>(
        &mut self,
        stacks: &mut [&mut Stack],
        mut step: impl FnMut(&[Event], &Registry) -> Option<T>,
    ) -> T {
        if let Some(out) = step(&[], self.poll.registry()) {
            return out;
        }
        loop {
            let events = self.turn(stacks);
            if let Some(out) = step(&events, self.poll.registry()) {
                return out;
            }
        }
    }

    /// Turns until no stack holds a connection: every one has finished
    /// (delivered and closed, reset or timed out).
    pub fn run_until_finished(&mut self, stacks: &mut [&mut Stack]) {
        while stacks.iter().any(|s| s.stats().connections > 0) {
            self.turn(stacks);
        }
    }

    /// Turns for `how_long`, returning every event seen.
    pub fn run_for(&mut self, stacks: &mut [&mut Stack], how_long: Duration) -> Vec<Event> {
        let until = Instant::now() + how_long;
        let mut seen = Vec::new();
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            seen.extend(self.turn_at_most(stacks, left));
        }
        seen
    }
}

/// A client and a server stack, each on a loopback UDP socket of its
/// own, registered in `lp` under [`CLIENT_STACK`] and [`SERVER_STACK`].
pub fn stacks(lp: &mut EventLoop) -> (Stack, Stack) {
    let mut server = stack();
    let mut client = stack();
    lp.add(&mut server, SERVER_STACK);
    lp.add(&mut client, CLIENT_STACK);
    (client, server)
}

/// Two stacks in `lp`, a listener on the server's UDP address, and one
/// connection: (client stream under [`CLIENT`], server stream under
/// [`SERVER`], both registered readable and writable; client stack,
/// server stack, listener under [`LISTENER`]).
pub fn pair(lp: &mut EventLoop) -> (TcpStream, TcpStream, Stack, Stack, synack_mio::TcpListener) {
    let (mut client, mut server) = stacks(lp);
    let addr = server.udp_addr().unwrap();
    let mut listener = server.bind(addr).unwrap();
    lp.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .unwrap();
    let mut c = client.connect(addr).unwrap();
    lp.registry()
        .register(&mut c, CLIENT, Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    let mut s = lp.run_until(&mut [&mut client, &mut server], |events, _| {
        if !events.iter().any(|e| e.token() == LISTENER) {
            return None;
        }
        let (s, peer) = listener.accept().unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
        Some(s)
    });
    lp.registry()
        .register(&mut s, SERVER, Interest::READABLE | Interest::WRITABLE)
        .unwrap();
    // Connected: the client's writable event has come or is queued.
    lp.run_until(&mut [&mut client, &mut server], |_, _| {
        c.peer_addr().is_ok().then_some(())
    });
    (c, s, client, server, listener)
}

/// Reads what is there into `into` until `WouldBlock` (`Ok(false)`) or
/// end of stream (`Ok(true)`).
pub fn read_available(mut stream: &TcpStream, into: &mut Vec<u8>) -> io::Result<bool> {
    let mut buf = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}

/// Writes from `data[*sent..]` until `WouldBlock` or the end; true when
/// everything is written.
pub fn write_available(mut stream: &TcpStream, data: &[u8], sent: &mut usize) -> io::Result<bool> {
    while *sent < data.len() {
        match stream.write(&data[*sent..]) {
            Ok(n) => *sent += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

pub fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(bytes);
    h.finish()
}
