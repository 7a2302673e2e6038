//! synack-mio under the suite: the loop a mio application writes, with a
//! small executor in it so the same async cases run.
//!
//! Each turn runs every runnable task, then sleeps in `Poll::poll` for
//! the nearest of the stacks' [`timeout`](synack_mio::Stack::timeout)s
//! and the tasks' sleeps, then calls [`process`](synack_mio::Stack::process)
//! on every stack and wakes the tasks parked on the tokens its events
//! name. A task parks on a token when a stream, listener or connect says
//! `WouldBlock`: exactly where a mio program would go back to `poll`. So
//! a lost or late readiness event shows up as a case that hangs past its
//! limit.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};
use mio::{Interest, Token};
use synack_driver::StackConfig;
use synack_driver::link::PacketLink;

use crate::{Adapter, Task};

/// The mio adapter, `synack-mio`.
#[derive(Debug)]
pub struct Mio;

/// What the loop of one [`Adapter::run`] shares with its tasks.
struct Reactor {
    poll: Mutex<mio::Poll>,
    stacks: Mutex<Vec<Arc<Mutex<synack_mio::Stack>>>>,
    /// Tasks waiting for an event on a token.
    parked: Mutex<HashMap<Token, Vec<Waker>>>,
    /// Tasks waiting for an instant.
    sleepers: Mutex<Vec<(Instant, Waker)>>,
    next_token: AtomicUsize,
}

impl Reactor {
    fn token(&self) -> Token {
        Token(self.next_token.fetch_add(1, Ordering::Relaxed))
    }

    fn park(&self, token: Token, waker: &Waker) {
        lock(&self.parked)
            .entry(token)
            .or_default()
            .push(waker.clone());
    }

    fn register(&self, source: &mut impl mio::event::Source) -> io::Result<Token> {
        let token = self.token();
        lock(&self.poll).registry().register(
            source,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        Ok(token)
    }

    /// One turn of the application's loop: sleep until a stack or a
    /// sleeper has something, run the stacks, wake whom their events name.
    fn turn(&self, os_events: &mut mio::Events, events: &mut synack_mio::Events, limit: Instant) {
        let stacks = lock(&self.stacks).clone();
        let now = Instant::now();
        let mut timeout = limit.saturating_duration_since(now);
        for stack in &stacks {
            if let Some(t) = lock(stack).timeout() {
                timeout = timeout.min(t);
            }
        }
        if let Some(at) = lock(&self.sleepers).iter().map(|s| s.0).min() {
            timeout = timeout.min(at.saturating_duration_since(now));
        }
        lock(&self.poll)
            .poll(os_events, Some(timeout))
            .expect("mio poll");
        for stack in &stacks {
            // A stopped stack reports its streams ready so they find out.
            let _ = lock(stack).process(events);
            let mut parked = lock(&self.parked);
            for event in events.iter() {
                for waker in parked.remove(&event.token()).unwrap_or_default() {
                    waker.wake();
                }
            }
        }
        let now = Instant::now();
        lock(&self.sleepers).retain(|(at, waker)| {
            let due = *at <= now;
            if due {
                waker.wake_by_ref();
            }
            !due
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    /// The reactor and executor of the [`Adapter::run`] on this thread.
    static CURRENT: RefCell<Option<(Arc<Reactor>, Arc<async_executor::Executor<'static>>)>> =
        const { RefCell::new(None) };
}

fn reactor() -> Arc<Reactor> {
    CURRENT.with(|c| c.borrow().as_ref().expect("inside Mio::run").0.clone())
}

fn executor() -> Arc<async_executor::Executor<'static>> {
    CURRENT.with(|c| c.borrow().as_ref().expect("inside Mio::run").1.clone())
}

/// A stack in the loop of the current run.
#[derive(Clone)]
pub struct MioStack {
    stack: Arc<Mutex<synack_mio::Stack>>,
    reactor: Arc<Reactor>,
}

/// A listener registered in the loop.
pub struct MioListener {
    listener: synack_mio::TcpListener,
    token: Token,
    reactor: Arc<Reactor>,
}

/// A stream registered in the loop, as a `futures-io` stream.
pub struct MioStream {
    stream: synack_mio::TcpStream,
    token: Token,
    reactor: Arc<Reactor>,
}

impl MioStream {
    fn new(mut stream: synack_mio::TcpStream, reactor: Arc<Reactor>) -> io::Result<MioStream> {
        let token = reactor.register(&mut stream)?;
        Ok(MioStream {
            stream,
            token,
            reactor,
        })
    }

    /// `op`'s result, or `Pending` parked on the stream's token.
    fn poll_op<R>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(&mut synack_mio::TcpStream) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        match op(&mut self.stream) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.reactor.park(self.token, cx.waker());
                Poll::Pending
            }
            other => Poll::Ready(other),
        }
    }
}

impl AsyncRead for MioStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_op(cx, |s| s.read(buf))
    }
}

impl AsyncWrite for MioStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_op(cx, |s| s.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_op(cx, |s| s.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.stream.shutdown(Shutdown::Write))
    }
}

/// Completes once `at` has passed.
struct Sleep {
    at: Instant,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            return Poll::Ready(());
        }
        lock(&reactor().sleepers).push((self.at, cx.waker().clone()));
        Poll::Pending
    }
}

impl Adapter for Mio {
    const NAME: &'static str = "mio";
    type Runtime = synack_mio::runtime::Mio;
    type Stack = MioStack;
    type Listener = MioListener;
    type Stream = MioStream;

    fn run(limit: Duration, test: impl Future<Output = ()> + Send + 'static) {
        let reactor = Arc::new(Reactor {
            poll: Mutex::new(mio::Poll::new().expect("a mio Poll")),
            stacks: Mutex::default(),
            parked: Mutex::default(),
            sleepers: Mutex::default(),
            next_token: AtomicUsize::new(0),
        });
        let ex = Arc::new(async_executor::Executor::new());
        CURRENT.with(|c| *c.borrow_mut() = Some((reactor.clone(), ex.clone())));
        let main = ex.spawn(test);
        let limit = Instant::now() + limit;
        let mut os_events = mio::Events::with_capacity(256);
        let mut events = synack_mio::Events::with_capacity(1024);
        while !main.is_finished() {
            while ex.try_tick() {}
            if main.is_finished() {
                break;
            }
            assert!(
                Instant::now() < limit,
                "the case did not finish within its limit"
            );
            reactor.turn(&mut os_events, &mut events, limit);
        }
        futures_lite::future::block_on(main);
        // Tasks still parked (echo servers) and the stacks go with the run.
        CURRENT.with(|c| *c.borrow_mut() = None);
    }

    fn spawn<T: Send + 'static>(
        task: impl Future<Output = T> + Send + 'static,
    ) -> Task<'static, T> {
        Box::pin(executor().spawn(task))
    }

    fn sleep(duration: Duration) -> Task<'static, ()> {
        Box::pin(Sleep {
            at: Instant::now() + duration,
        })
    }

    fn stack_on<L: PacketLink + AsRawFd>(link: L, config: StackConfig) -> io::Result<Self::Stack> {
        let reactor = reactor();
        let mut stack = synack_mio::Stack::new(link, config)?;
        reactor.register(&mut stack)?;
        let stack = Arc::new(Mutex::new(stack));
        lock(&reactor.stacks).push(stack.clone());
        Ok(MioStack { stack, reactor })
    }

    fn bind(stack: &Self::Stack, addr: SocketAddr) -> io::Result<Self::Listener> {
        let listener = lock(&stack.stack).bind(addr)?;
        register_listener(stack, listener)
    }

    fn bind_configured(
        stack: &Self::Stack,
        addr: SocketAddr,
        configure: fn(&mut synack_core::Config),
    ) -> io::Result<Self::Listener> {
        let mut socket = lock(&stack.stack).socket();
        configure(socket.options_mut().config_mut());
        register_listener(stack, socket.listen(addr)?)
    }

    fn connect_configured(
        stack: &Self::Stack,
        to: SocketAddr,
        configure: fn(&mut synack_core::Config),
    ) -> Task<'_, io::Result<Self::Stream>> {
        Box::pin(async move {
            let mut socket = lock(&stack.stack).socket();
            configure(socket.options_mut().config_mut());
            finish_connect(stack, socket.connect(to)?).await
        })
    }

    fn peek<'a>(stream: &'a mut Self::Stream, buf: &'a mut [u8]) -> Task<'a, io::Result<usize>> {
        Box::pin(std::future::poll_fn(move |cx| {
            stream.poll_op(cx, |s| s.peek(&mut *buf))
        }))
    }

    fn stats(stream: &Self::Stream) -> io::Result<synack_core::conn::Stats> {
        stream.stream.stats()
    }

    fn negotiated(stream: &Self::Stream) -> io::Result<synack_core::conn::Negotiated> {
        stream.stream.negotiated()
    }

    fn listener_addr(listener: &Self::Listener) -> SocketAddr {
        listener
            .listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    fn accept(listener: &Self::Listener) -> Task<'_, io::Result<(Self::Stream, SocketAddr)>> {
        Box::pin(std::future::poll_fn(move |cx| {
            match listener.listener.accept() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    listener.reactor.park(listener.token, cx.waker());
                    Poll::Pending
                }
                Err(e) => Poll::Ready(Err(e)),
                Ok((stream, peer)) => {
                    Poll::Ready(MioStream::new(stream, listener.reactor.clone()).map(|s| (s, peer)))
                }
            }
        }))
    }

    fn connect(stack: &Self::Stack, to: SocketAddr) -> Task<'_, io::Result<Self::Stream>> {
        Box::pin(async move {
            let stream = lock(&stack.stack).connect(to)?;
            finish_connect(stack, stream).await
        })
    }

    fn write_vectored<'a>(
        stream: &'a mut Self::Stream,
        bufs: &'a [std::io::IoSlice<'a>],
    ) -> Task<'a, io::Result<usize>> {
        Box::pin(futures_util::io::AsyncWriteExt::write_vectored(
            stream, bufs,
        ))
    }

    fn local_addr(stream: &Self::Stream) -> io::Result<SocketAddr> {
        stream.stream.local_addr()
    }

    fn abort(stream: Self::Stream) {
        stream.stream.abort();
    }

    fn set_nodelay(stream: &Self::Stream, nodelay: bool) -> io::Result<()> {
        stream.stream.set_nodelay(nodelay)
    }
}

/// A listener registered in the loop.
fn register_listener(
    stack: &MioStack,
    mut listener: synack_mio::TcpListener,
) -> io::Result<MioListener> {
    let token = stack.reactor.register(&mut listener)?;
    Ok(MioListener {
        listener,
        token,
        reactor: stack.reactor.clone(),
    })
}

/// A connecting stream registered in the loop, once its handshake is over.
async fn finish_connect(stack: &MioStack, stream: synack_mio::TcpStream) -> io::Result<MioStream> {
    let mut stream = MioStream::new(stream, stack.reactor.clone())?;
    // Connected when writable with no error, as with mio's
    // non-blocking connect.
    std::future::poll_fn(|cx| {
        stream.poll_op(cx, |s| match s.take_error()? {
            Some(e) => Err(e),
            None if s.peer_addr().is_ok() => Ok(()),
            None => Err(io::ErrorKind::WouldBlock.into()),
        })
    })
    .await?;
    Ok(stream)
}
