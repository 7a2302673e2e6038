//! `--runtime mio`: `synack demo` and `synack perf` as a mio application
//! writes them. One thread, one `mio::Poll`, the stacks' two calls
//! (`poll.poll(…, stack.timeout())`, then `stack.process(&mut events)`),
//! and non-blocking streams driven by the readiness events under their
//! tokens until they say `WouldBlock`. No executor, no task, no waker.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use mio::{Interest, Poll, Token};
use synack_driver::StackConfig;
use synack_driver::link::PacketLink;
use synack_mio::{Stack, TcpStream};
use xxhash_rust::xxh3::Xxh3;

use crate::demo::{self, CHUNK, DemoArgs, Progress, Summary};
use crate::net::{self, MakeStack};
use crate::perf::{self, ClientArgs, Outcome, ServerArgs};
use synack_link::impair::Rng;

/// synack-mio's stacks (registered in the loop's `Poll` by [`Loop::add`]).
#[derive(Debug)]
pub struct Mio;

impl MakeStack for Mio {
    type Runtime = synack_mio::runtime::Mio;
    type Stack = Stack;
    fn make<L: PacketLink + AsRawFd>(link: L, config: StackConfig) -> io::Result<Stack> {
        Stack::new(link, config)
    }
}

/// The event loop: the stacks in one `Poll`, and the readiness their
/// streams and listeners reported in the last turn.
struct Loop {
    poll: Poll,
    os_events: mio::Events,
    events: synack_mio::Events,
    stacks: Vec<Stack>,
    /// Tokens made ready by the last turn.
    ready: Vec<Token>,
    next_token: usize,
}

impl Loop {
    fn new() -> io::Result<Loop> {
        Ok(Loop {
            poll: Poll::new()?,
            os_events: mio::Events::with_capacity(64),
            events: synack_mio::Events::with_capacity(1024),
            stacks: Vec::new(),
            ready: Vec::new(),
            next_token: 0,
        })
    }

    fn token(&mut self) -> Token {
        self.next_token += 1;
        Token(self.next_token)
    }

    /// Registers `stack`'s link in the loop and keeps the stack; its index.
    fn add(&mut self, mut stack: Stack) -> io::Result<usize> {
        let token = self.token();
        self.poll
            .registry()
            .register(&mut stack, token, Interest::READABLE)?;
        self.stacks.push(stack);
        Ok(self.stacks.len() - 1)
    }

    /// Registers a stream or listener under a fresh token.
    fn register(&mut self, source: &mut impl mio::event::Source) -> io::Result<Token> {
        let token = self.token();
        self.poll
            .registry()
            .register(source, token, Interest::READABLE | Interest::WRITABLE)?;
        Ok(token)
    }

    /// One turn: sleep until a stack has work (its socket, its timer),
    /// run every stack, note the tokens their events name.
    fn turn(&mut self) -> io::Result<()> {
        let timeout = self
            .stacks
            .iter()
            .filter_map(Stack::timeout)
            .min()
            .unwrap_or(Duration::from_secs(1));
        self.poll.poll(&mut self.os_events, Some(timeout))?;
        self.ready.clear();
        for stack in &mut self.stacks {
            stack.process(&mut self.events)?;
            self.ready.extend(self.events.iter().map(|e| e.token()));
        }
        Ok(())
    }

    fn is_ready(&self, token: Token) -> bool {
        self.ready.contains(&token)
    }
}

/// `Ok(None)` for `WouldBlock`: wait for the next event.
fn nonblocking<T>(r: io::Result<T>) -> io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

/// Waits (turning the loop) until `stream`'s connect has completed.
fn connected(lp: &mut Loop, stream: &TcpStream, token: Token) -> io::Result<()> {
    loop {
        if let Some(e) = stream.take_error()? {
            return Err(e);
        }
        if stream.peer_addr().is_ok() {
            return Ok(());
        }
        while !lp.is_ready(token) {
            lp.turn()?;
        }
        lp.ready.retain(|t| *t != token);
    }
}

/// Bytes generated, hashed and written in order, across `WouldBlock`s.
struct Sender {
    source: Rng,
    hash: Xxh3,
    buf: Vec<u8>,
    /// `buf[sent..filled]` is generated but not yet taken by the stream.
    sent: usize,
    filled: usize,
    left: u64,
}

impl Sender {
    fn new(bytes: u64, seed: u64) -> Sender {
        Sender {
            source: Rng::new(seed),
            hash: Xxh3::new(),
            buf: vec![0; CHUNK],
            sent: 0,
            filled: 0,
            left: bytes,
        }
    }

    /// Writes until the stream would block; `true` once all is written.
    fn pump(&mut self, stream: &TcpStream) -> io::Result<bool> {
        loop {
            if self.sent == self.filled {
                if self.left == 0 {
                    return Ok(true);
                }
                let n = usize::try_from(self.left).unwrap_or(usize::MAX).min(CHUNK);
                self.source.fill(&mut self.buf[..n]);
                self.hash.update(&self.buf[..n]);
                (self.sent, self.filled) = (0, n);
                self.left -= n as u64;
            }
            match nonblocking((&*stream).write(&self.buf[self.sent..self.filled]))? {
                Some(n) => self.sent += n,
                None => return Ok(false),
            }
        }
    }
}

/// `synack demo --runtime mio`: both stacks in one loop on this thread.
pub fn demo(args: &DemoArgs) -> io::Result<Summary> {
    let mut lp = Loop::new()?;
    let (server, client, addr) = demo::stacks::<Mio>(&args.stack)?;
    let server = lp.add(server)?;
    let client = lp.add(client)?;
    let mut listener = lp.stacks[server].bind(addr)?;
    let listener_token = lp.register(&mut listener)?;
    let progress = Progress::start(args);
    let started = Instant::now();
    let mut sending = lp.stacks[client].connect(addr)?;
    let send_token = lp.register(&mut sending)?;
    connected(&mut lp, &sending, send_token)?;

    let mut receiving: Option<(TcpStream, Token)> = None;
    let mut sender = Sender::new(args.bytes, args.data_seed);
    let (mut all_sent, mut shut) = (false, false);
    let mut hash = Xxh3::new();
    let mut total = 0u64;
    let mut buf = vec![0u8; CHUNK];
    // The first pass tries everything; later ones what the events name.
    let mut first = true;
    let finished = loop {
        if receiving.is_none() && (first || lp.is_ready(listener_token)) {
            if let Some((mut s, _)) = nonblocking(listener.accept())? {
                let token = lp.register(&mut s)?;
                receiving = Some((s, token));
            }
        }
        if !all_sent && (first || lp.is_ready(send_token)) {
            all_sent = sender.pump(&sending)?;
        }
        if all_sent && !shut {
            sending.shutdown(Shutdown::Write)?;
            shut = true;
        }
        if let Some((s, token)) = &receiving {
            let mut at_end = false;
            if first || lp.is_ready(*token) || lp.is_ready(listener_token) {
                while let Some(n) = nonblocking((&*s).read(&mut buf))? {
                    if n == 0 {
                        at_end = true;
                        break;
                    }
                    hash.update(&buf[..n]);
                    total += n as u64;
                }
                progress
                    .received
                    .store(total, std::sync::atomic::Ordering::Relaxed);
            }
            if at_end {
                s.shutdown(Shutdown::Write)?;
                break Instant::now();
            }
            first = false;
        }
        lp.turn()?;
    };
    let stats = sending.stats()?;
    progress.finish(total);
    Ok(Summary::new(
        args,
        total,
        finished.duration_since(started),
        hash.digest128() == sender.hash.digest128(),
        &stats,
    ))
}

/// `synack perf client --runtime mio --udp ADDR`.
pub fn perf_client(args: &ClientArgs, addr: SocketAddr) -> io::Result<Outcome> {
    let mut lp = Loop::new()?;
    let stack =
        net::udp_stack_of::<Mio>(SocketAddr::new(net::route_source(addr)?, 0), &args.stack)?;
    let stack = lp.add(stack)?;
    let mut s = lp.stacks[stack].connect(addr)?;
    let token = lp.register(&mut s)?;
    connected(&mut lp, &s, token)?;
    s.set_nodelay(true)?;
    let started = Instant::now();
    let mut outcome = Outcome::empty();
    if let Some(n) = args.rr {
        let size = args.size.max(1) as usize;
        let mut hello = vec![b'R'];
        hello.extend_from_slice(&args.size.to_be_bytes());
        write_all(&mut lp, &s, token, &hello)?;
        let mut msg = vec![0u8; size];
        Rng::new(7).fill(&mut msg);
        let mut back = vec![0u8; size];
        let mut latencies = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let t = Instant::now();
            write_all(&mut lp, &s, token, &msg)?;
            read_exact(&mut lp, &s, token, &mut back)?;
            latencies.push(t.elapsed().as_secs_f64() * 1e6);
        }
        if back != msg {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "echo differs"));
        }
        s.shutdown(Shutdown::Write)?;
        read_to_end(&mut lp, &s, token)?;
        outcome.bytes = n * u64::from(args.size) * 2;
        latencies.sort_by(f64::total_cmp);
        outcome.latencies = latencies;
    } else {
        let deadline = args.bytes.is_none().then(|| started + args.send_time());
        write_all(&mut lp, &s, token, b"S")?;
        let mut sender = Sender::new(args.bytes.unwrap_or(u64::MAX), 9);
        while !sender.pump(&s)? && deadline.is_none_or(|d| Instant::now() < d) {
            wait(&mut lp, token)?;
        }
        s.shutdown(Shutdown::Write)?;
        let mut count = [0u8; 8];
        read_exact(&mut lp, &s, token, &mut count)?;
        outcome.bytes = u64::from_be_bytes(count);
    }
    outcome.seconds = started.elapsed().as_secs_f64();
    if let Ok(stats) = s.stats() {
        outcome.record(&stats);
    }
    // The last ACKs must leave before the process exits.
    linger(&mut lp, s)?;
    outcome.runtime = Some(net::Runtime::Mio);
    outcome.path = format!("synack over UDP to {addr} (mio)");
    Ok(outcome)
}

/// Turns the loop until `token` has an event.
fn wait(lp: &mut Loop, token: Token) -> io::Result<()> {
    loop {
        lp.turn()?;
        if lp.is_ready(token) {
            return Ok(());
        }
    }
}

fn write_all(lp: &mut Loop, s: &TcpStream, token: Token, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match nonblocking((&*s).write(bytes))? {
            Some(n) => bytes = &bytes[n..],
            None => wait(lp, token)?,
        }
    }
    Ok(())
}

fn read_exact(lp: &mut Loop, s: &TcpStream, token: Token, mut buf: &mut [u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match nonblocking((&*s).read(buf))? {
            Some(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Some(n) => buf = &mut buf[n..],
            None => wait(lp, token)?,
        }
    }
    Ok(())
}

fn read_to_end(lp: &mut Loop, s: &TcpStream, token: Token) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        match nonblocking((&*s).read(&mut buf))? {
            Some(0) => return Ok(()),
            Some(_) => {}
            None => wait(lp, token)?,
        }
    }
}

/// A served client's state between events.
struct Client {
    stream: TcpStream,
    peer: SocketAddr,
    /// What arrived and is not handled yet (the mode byte and size).
    head: Vec<u8>,
    mode: Option<u8>,
    /// Request/response: message size; stream: bytes counted.
    size: usize,
    count: u64,
    /// Bytes to write back (echoes, the final count) when the stream has room.
    out: Vec<u8>,
    done: bool,
}

impl Client {
    /// Handles what the stream has, until it would block; `true` when the
    /// client is served (its FIN seen and the reply out).
    fn serve(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        loop {
            self.flush()?;
            if self.done {
                return Ok(self.out.is_empty());
            }
            let Some(n) = nonblocking((&self.stream).read(buf))? else {
                return Ok(false);
            };
            if n == 0 {
                match self.mode {
                    Some(b'S') => self.out.extend_from_slice(&self.count.to_be_bytes()),
                    Some(b'R') => self.count /= self.size.max(1) as u64,
                    _ => {}
                }
                self.done = true;
                continue;
            }
            let data = &buf[..n];
            match self.mode {
                Some(b'S') => self.count += n as u64,
                // Echo as it comes: a message at a time is what clients send.
                Some(b'R') => {
                    self.out.extend_from_slice(data);
                    self.count += n as u64;
                }
                _ => {
                    self.head.extend_from_slice(data);
                    self.parse_head()?;
                }
            }
        }
    }

    /// Takes the mode byte (and the message size) once they arrived.
    fn parse_head(&mut self) -> io::Result<()> {
        match self.head.first().copied() {
            Some(b'S') => {
                self.mode = Some(b'S');
                self.count = self.head.len() as u64 - 1;
            }
            Some(b'R') if self.head.len() >= 5 => {
                self.mode = Some(b'R');
                self.size =
                    u32::from_be_bytes([self.head[1], self.head[2], self.head[3], self.head[4]])
                        as usize;
                let rest = self.head[5..].to_vec();
                self.out.extend_from_slice(&rest);
                self.count = rest.len() as u64;
            }
            Some(b'R') | None => {}
            Some(m) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unknown mode byte {m}"),
                ));
            }
        }
        Ok(())
    }

    /// Writes what is owed; at the end, the FIN after it.
    fn flush(&mut self) -> io::Result<()> {
        while !self.out.is_empty() {
            match nonblocking((&self.stream).write(&self.out))? {
                Some(n) => {
                    self.out.drain(..n);
                }
                None => return Ok(()),
            }
        }
        if self.done {
            self.stream.shutdown(Shutdown::Write)?;
        }
        Ok(())
    }

    fn report(&self) -> io::Result<(char, u64)> {
        Ok((char::from(self.mode.unwrap_or(b'?')), self.count))
    }
}

/// `synack perf server --runtime mio --udp ADDR`: every client in the one
/// loop, until interrupted (or after one, with --once).
pub fn perf_server(args: &ServerArgs, addr: SocketAddr) -> io::Result<()> {
    let mut lp = Loop::new()?;
    let stack = lp.add(net::udp_stack_of::<Mio>(addr, &args.stack)?)?;
    let mut listener = lp.stacks[stack].bind(addr)?;
    let listener_token = lp.register(&mut listener)?;
    eprintln!("synack perf: listening on {addr} (mio)");
    let mut clients: HashMap<Token, Client> = HashMap::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        lp.turn()?;
        if lp.is_ready(listener_token) {
            while let Some((mut stream, peer)) = nonblocking(listener.accept())? {
                stream.set_nodelay(true)?;
                let token = lp.register(&mut stream)?;
                clients.insert(
                    token,
                    Client {
                        stream,
                        peer,
                        head: Vec::new(),
                        mode: None,
                        size: 0,
                        count: 0,
                        out: Vec::new(),
                        done: false,
                    },
                );
                // Registration reports what is already there.
                lp.ready.push(token);
            }
        }
        let ready: Vec<Token> = lp.ready.clone();
        for token in ready {
            let Some(client) = clients.get_mut(&token) else {
                continue;
            };
            match client.serve(&mut buf) {
                Ok(false) => {}
                served => {
                    let client = clients.remove(&token).expect("present");
                    perf::report_served(client.peer, served.and_then(|_| client.report()));
                    if args.once {
                        // Let the reply and FIN leave before exiting.
                        return linger(&mut lp, client.stream);
                    }
                }
            }
        }
    }
}

/// Drops the served stream and turns the loop until its connection is
/// gone (the reply and FIN acknowledged) or 5 s passed, so they leave
/// before the process exits.
fn linger(lp: &mut Loop, stream: TcpStream) -> io::Result<()> {
    drop(stream);
    let until = Instant::now() + Duration::from_secs(5);
    while lp.stacks.iter().any(|s| s.stats().connections > 0) && Instant::now() < until {
        lp.turn()?;
    }
    Ok(())
}
