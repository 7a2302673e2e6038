//! # synack-smol
//!
//! TCP connections that synack runs, for smol and any other async-io
//! application: a [`Stack`] over a packet link, [`TcpListener`]s with
//! `accept()` and `incoming()`, and [`TcpStream`]s implementing
//! `futures-io`'s `AsyncRead`/`AsyncWrite`. Past the constructor, names
//! and behaviour follow `async_net`/`smol::net`.
//!
//! ```no_run
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//! use synack_smol::{Stack, TcpListener, TcpStream};
//!
//! # fn main() -> std::io::Result<()> {
//! smol::block_on(async {
//!     // Two stacks, each on its own UDP socket; each driver runs as a task.
//!     let (server, driver) = Stack::udp("127.0.0.1:0".parse().unwrap())?;
//!     smol::spawn(driver).detach();
//!     let (client, driver) = Stack::udp("127.0.0.1:0".parse().unwrap())?;
//!     smol::spawn(driver).detach();
//!     let addr = server.udp_addr().unwrap(); // listen on the UDP port: reachable by it
//!     let listener: TcpListener = server.bind(addr).await?;
//!     smol::spawn(async move {
//!         let (s, _) = listener.accept().await?;
//!         futures_lite::io::copy(s.clone(), &mut s.clone()).await
//!     })
//!     .detach();
//!     let mut stream: TcpStream = client.connect(addr).await?;
//!     stream.write_all(b"hello").await?;
//!     let mut buf = [0; 5];
//!     stream.read_exact(&mut buf).await?;
//!     Ok(())
//! })
//! # }
//! ```
//!
//! ## The driver
//!
//! [`Stack::new`] returns the stack and its [`Driver`], a future that
//! moves the stack's packets and resolves once every handle to the stack
//! is gone (or with the link's error). async-io has no executor of its
//! own, so the application runs it: `smol::spawn(driver).detach()`, an
//! `async_executor::Executor`'s `spawn`, or, without an executor, beside
//! its own future (`futures_lite::future::or(app, driver)`). The driver is
//! `synack-driver`'s, shared with `synack-tokio`; this crate is the
//! async-io glue ([`runtime::AsyncIo`]) and the `futures-io` traits.
//!
//! ## Beyond reading and writing
//!
//! [`TcpStream::peek`], vectored writes that copy every slice into the
//! send buffer in one call, [`Stack::bind`] and [`Stack::connect`] for
//! any `async_net::AsyncToSocketAddrs`, and [`Stack::socket`], a
//! [`TcpSocket`] to set per-connection options (buffer sizes, keepalive,
//! linger, user timeout, Nagle, congestion control) before it connects or
//! listens.
//!
//! ## Errors
//!
//! Failures are `std::io::Error`s with the kinds a kernel socket reports:
//! `ConnectionRefused`, `ConnectionReset`, `TimedOut`,
//! `ConnectionAborted`, `BrokenPipe`, `NotConnected`, `AddrInUse`.
//!
//! A failure is reported once, as a kernel socket reports its pending
//! error: the first read or write after a reset (or timeout) fails with
//! `ConnectionReset` (`TimedOut`); after that reads return `Ok(0)` and
//! writes fail with `BrokenPipe`.

pub mod link;
mod listener;
pub mod runtime;
mod socket;
mod stack;
mod stream;

pub use listener::{Incoming, TcpListener};
pub use socket::TcpSocket;
pub use stack::{Driver, Stack, StackConfig};
pub use stream::TcpStream;
pub use synack_core;
pub use synack_driver;
pub use synack_link;
