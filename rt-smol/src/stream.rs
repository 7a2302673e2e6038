//! Connections as `futures-io` streams.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use synack_driver::Stream;

/// A TCP connection of a synack [`Stack`](crate::Stack), like
/// `async_net::TcpStream`: `futures-io`'s `AsyncRead` and `AsyncWrite`,
/// and cheap to clone (clones are handles to one connection, so one task
/// can read while another writes; `futures_lite::io::split` works too).
///
/// Reads wait for data and return 0 once the peer has closed and
/// everything was read; writes wait for room in the send buffer.
/// `poll_flush` returns at once (written data is the stack's to deliver,
/// as with a kernel socket); `poll_close` sends a FIN after the data.
/// Dropping the last clone is closing a socket: a FIN, or a reset if
/// received data was left unread.
#[derive(Clone)]
pub struct TcpStream {
    inner: Arc<Stream>,
}

synack_driver::stream_accessors!(TcpStream);

impl TcpStream {
    pub(crate) fn new(inner: Stream) -> TcpStream {
        TcpStream {
            inner: Arc::new(inner),
        }
    }

    /// Shuts the sending side (a FIN after the written data), like
    /// `async_net::TcpStream::shutdown(Shutdown::Write)`.
    pub fn shutdown_write(&self) -> io::Result<()> {
        self.inner.shutdown()
    }

    /// Waits until data has arrived and copies it into `buf` without
    /// taking it: the next read returns the same bytes, like
    /// `async_net::TcpStream::peek`. `Ok(0)` at end of stream or for an
    /// empty `buf`.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.inner.poll_peek(Some(cx), buf)).await
    }

    /// Closes gracefully and waits: a FIN after the written data, then
    /// discards what the peer still sends (so no clone should be reading),
    /// and resolves once the peer has closed too and acknowledged
    /// everything (`Ok`), or the connection failed. (`AsyncWriteExt::close`
    /// only sends the FIN.)
    pub async fn close_and_wait(&self) -> io::Result<()> {
        self.inner.close().await
    }

    /// Aborts the connection with a reset, like closing a socket with
    /// `SO_LINGER` set to zero.
    pub fn abort(&self) {
        self.inner.abort();
    }
}

/// `futures-io`'s traits, for the stream and for a shared reference to
/// it (clones and `&TcpStream` all drive the one connection).
macro_rules! impl_io {
    ($t:ty) => {
        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_read(Some(cx), buf)
            }
        }

        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_write(Some(cx), buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_write_vectored(Some(cx), bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.inner.shutdown())
            }
        }
    };
}

impl_io!(TcpStream);
impl_io!(&TcpStream);
