//! synack-smol under the suite: `smol::block_on`, tasks and drivers on
//! smol's global executor (its own threads).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use synack_driver::StackConfig;
use synack_driver::link::PacketLink;

use crate::{Adapter, Task};

/// The smol (async-io) adapter, `synack-smol`.
#[derive(Debug)]
pub struct Smol;

impl Adapter for Smol {
    const NAME: &'static str = "smol";
    type Runtime = synack_smol::runtime::AsyncIo;
    type Stack = synack_smol::Stack;
    type Listener = synack_smol::TcpListener;
    type Stream = synack_smol::TcpStream;

    fn run(limit: Duration, test: impl Future<Output = ()> + Send + 'static) {
        smol::block_on(futures_lite::future::or(test, async move {
            async_io::Timer::after(limit).await;
            panic!("the case did not finish within {limit:?}")
        }));
    }

    fn spawn<T: Send + 'static>(
        task: impl Future<Output = T> + Send + 'static,
    ) -> Task<'static, T> {
        Box::pin(smol::spawn(task))
    }

    fn sleep(duration: Duration) -> Task<'static, ()> {
        Box::pin(async move {
            async_io::Timer::after(duration).await;
        })
    }

    fn stack_on<L: PacketLink + AsRawFd>(link: L, config: StackConfig) -> io::Result<Self::Stack> {
        let (stack, driver) = synack_smol::Stack::new(link, config)?;
        smol::spawn(driver).detach();
        Ok(stack)
    }

    fn bind(stack: &Self::Stack, addr: SocketAddr) -> io::Result<Self::Listener> {
        stack.bind_addr(addr)
    }

    fn listener_addr(listener: &Self::Listener) -> SocketAddr {
        listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    fn accept(listener: &Self::Listener) -> Task<'_, io::Result<(Self::Stream, SocketAddr)>> {
        Box::pin(listener.accept())
    }

    fn connect(stack: &Self::Stack, to: SocketAddr) -> Task<'_, io::Result<Self::Stream>> {
        Box::pin(stack.connect(to))
    }

    fn write_vectored<'a>(
        stream: &'a mut Self::Stream,
        bufs: &'a [std::io::IoSlice<'a>],
    ) -> Task<'a, io::Result<usize>> {
        Box::pin(futures_util::io::AsyncWriteExt::write_vectored(
            stream, bufs,
        ))
    }

    fn bind_configured(
        stack: &Self::Stack,
        addr: SocketAddr,
        configure: fn(&mut synack_core::Config),
    ) -> io::Result<Self::Listener> {
        let mut socket = stack.socket();
        configure(socket.config_mut());
        socket.listen(addr)
    }

    fn connect_configured(
        stack: &Self::Stack,
        to: SocketAddr,
        configure: fn(&mut synack_core::Config),
    ) -> Task<'_, io::Result<Self::Stream>> {
        let mut socket = stack.socket();
        configure(socket.config_mut());
        Box::pin(socket.connect(to))
    }

    fn peek<'a>(stream: &'a mut Self::Stream, buf: &'a mut [u8]) -> Task<'a, io::Result<usize>> {
        Box::pin(stream.peek(buf))
    }

    fn stats(stream: &Self::Stream) -> io::Result<synack_core::conn::Stats> {
        stream.stats()
    }

    fn negotiated(stream: &Self::Stream) -> io::Result<synack_core::conn::Negotiated> {
        stream.negotiated()
    }

    fn local_addr(stream: &Self::Stream) -> io::Result<SocketAddr> {
        stream.local_addr()
    }

    fn abort(stream: Self::Stream) {
        stream.abort();
    }

    fn set_nodelay(stream: &Self::Stream, nodelay: bool) -> io::Result<()> {
        stream.set_nodelay(nodelay)
    }
}
