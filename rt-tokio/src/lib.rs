//! # synack-tokio
//!
//! TCP connections that synack runs, for tokio applications: a
//! [`Stack`] over a packet link, [`TcpListener`]s with `accept()`,
//! `connect()`, and [`TcpStream`]s with tokio's `AsyncRead`/`AsyncWrite`.
//! Past the constructor, names and behaviour follow `tokio::net` so code
//! moves over by changing an import:
//!
//! ```no_run
//! use synack_tokio::{Stack, TcpListener, TcpStream};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # async fn demo() -> std::io::Result<()> {
//! // Two stacks, each on its own UDP socket.
//! let server = Stack::udp("127.0.0.1:0".parse().unwrap())?;
//! let client = Stack::udp("127.0.0.1:0".parse().unwrap())?;
//! let addr = server.udp_addr().unwrap(); // listen on the UDP port: reachable by it
//! let listener: TcpListener = server.bind(addr).await?;
//! tokio::spawn(async move {
//!     let (mut s, _) = listener.accept().await?;
//!     let (mut r, mut w) = s.split();
//!     tokio::io::copy(&mut r, &mut w).await
//! });
//! let mut stream: TcpStream = client.connect(addr).await?;
//! stream.write_all(b"hello").await?;
//! let mut buf = [0; 5];
//! stream.read_exact(&mut buf).await?;
//! # Ok(()) }
//! ```
//!
//! The adapter is thin: it is tokio glue (the reactor, the timer, the
//! clock: [`runtime::Tokio`]) around the runtime-neutral driver of
//! `synack-driver`, which `synack-smol` shares. One driver task per stack
//! owns the link and a tokio timer, feeds the core
//! [`Endpoint`](synack_core::endpoint::Endpoint) what arrives and when its
//! deadline passes, sends what it emits, and wakes the tasks its events
//! concern (see [`stack`]'s documentation). All protocol behaviour is the
//! core's.
//!
//! ## Beyond reading and writing
//!
//! As on `tokio::net::TcpStream`: readiness ([`TcpStream::readable`],
//! [`TcpStream::writable`], [`TcpStream::ready`] with tokio's
//! `Interest`/`Ready`, and the `try_*` calls that return `WouldBlock`),
//! [`TcpStream::peek`], and vectored writes that copy every slice into
//! the send buffer in one call. [`Stack::bind`] and [`Stack::connect`]
//! take any `tokio::net::ToSocketAddrs`. [`Stack::socket`] gives a
//! [`TcpSocket`] to set per-connection options (buffer sizes, keepalive,
//! linger, user timeout, Nagle, congestion control) before it connects
//! or listens.
//!
//! ## Errors
//!
//! Failures are `std::io::Error`s with the kinds a kernel socket reports:
//! `ConnectionRefused` (a reset answered the SYN), `ConnectionReset`,
//! `TimedOut` (retransmissions, user timeout or keepalive gave up),
//! `ConnectionAborted` (this side aborted), `BrokenPipe` (writing after
//! shutdown or after the connection closed), `NotConnected`, `AddrInUse`.
//!
//! A failure is reported once, as a kernel socket reports its pending
//! error: the first read or write after a reset (or timeout) fails with
//! `ConnectionReset` (`TimedOut`); after that reads return `Ok(0)` and
//! writes fail with `BrokenPipe`.
//!
//! ## Links
//!
//! [`link::Udp`] (UDP encapsulation with GSO/GRO), [`link::Tun`] (a Linux
//! TUN device; the kernel's TCP on the other side), [`link::Impaired`]
//! (loss, delay, duplication, reordering around any link) and your own
//! through [`link::PacketLink`].

pub mod link;
mod listener;
pub mod runtime;
mod socket;
pub mod stack;
mod stream;

pub use listener::TcpListener;
pub use socket::TcpSocket;
pub use stack::{Stack, StackConfig};
pub use stream::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, TcpStream, WriteHalf};
pub use synack_core;
pub use synack_driver;
pub use synack_link;
