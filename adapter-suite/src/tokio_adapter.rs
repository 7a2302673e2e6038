//! synack-tokio under the suite: a multi-threaded tokio runtime (two
//! workers), streams through `tokio-util`'s `futures-io` compat wrapper.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use synack_driver::StackConfig;
use synack_driver::link::PacketLink;
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

use crate::{Adapter, Task};

/// The tokio adapter, `synack-tokio`.
#[derive(Debug)]
pub struct Tokio;

impl Adapter for Tokio {
    const NAME: &'static str = "tokio";
    type Runtime = synack_tokio::runtime::Tokio;
    type Stack = synack_tokio::Stack;
    type Listener = synack_tokio::TcpListener;
    type Stream = Compat<synack_tokio::TcpStream>;

    fn run(limit: Duration, test: impl Future<Output = ()> + Send + 'static) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        rt.block_on(async {
            tokio::time::timeout(limit, test)
                .await
                .unwrap_or_else(|_| panic!("the case did not finish within {limit:?}"));
        });
    }

    fn spawn<T: Send + 'static>(
        task: impl Future<Output = T> + Send + 'static,
    ) -> Task<'static, T> {
        let handle = tokio::spawn(task);
        Box::pin(async move {
            match handle.await {
                Ok(out) => out,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        })
    }

    fn sleep(duration: Duration) -> Task<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn stack_on<L: PacketLink + AsRawFd>(link: L, config: StackConfig) -> io::Result<Self::Stack> {
        synack_tokio::Stack::new(link, config)
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
        Box::pin(async move {
            let (stream, peer) = listener.accept().await?;
            Ok((stream.compat(), peer))
        })
    }

    fn connect(stack: &Self::Stack, to: SocketAddr) -> Task<'_, io::Result<Self::Stream>> {
        Box::pin(async move { Ok(stack.connect(to).await?.compat()) })
    }

    fn write_vectored<'a>(
        stream: &'a mut Self::Stream,
        bufs: &'a [std::io::IoSlice<'a>],
    ) -> Task<'a, io::Result<usize>> {
        assert!(tokio::io::AsyncWrite::is_write_vectored(stream.get_ref()));
        Box::pin(tokio::io::AsyncWriteExt::write_vectored(
            stream.get_mut(),
            bufs,
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
        Box::pin(async move { Ok(socket.connect(to).await?.compat()) })
    }

    fn peek<'a>(stream: &'a mut Self::Stream, buf: &'a mut [u8]) -> Task<'a, io::Result<usize>> {
        Box::pin(stream.get_ref().peek(buf))
    }

    fn stats(stream: &Self::Stream) -> io::Result<synack_core::conn::Stats> {
        stream.get_ref().stats()
    }

    fn negotiated(stream: &Self::Stream) -> io::Result<synack_core::conn::Negotiated> {
        stream.get_ref().negotiated()
    }

    fn local_addr(stream: &Self::Stream) -> io::Result<SocketAddr> {
        stream.get_ref().local_addr()
    }

    fn abort(stream: Self::Stream) {
        stream.into_inner().abort();
    }

    fn set_nodelay(stream: &Self::Stream, nodelay: bool) -> io::Result<()> {
        stream.get_ref().set_nodelay(nodelay)
    }
}
