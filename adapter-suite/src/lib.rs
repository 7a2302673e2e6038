//! # synack-adapter-suite
//!
//! One set of test cases, run against every runtime adapter: each case in
//! [`cases`] is written once, against the [`Adapter`] trait, and
//! [`adapter_suite!`] turns the whole list into `#[test]`s for one
//! adapter (`tests/tokio.rs`, `tests/smol.rs`, `tests/mio.rs`). A bug
//! found in one adapter gets its regression case here, so the others are
//! held to it too.
//!
//! Streams are seen through `futures-io`'s `AsyncRead`/`AsyncWrite`:
//! smol's implement them, tokio's through `tokio-util`'s compat wrapper,
//! and mio's (plain `Read`/`Write` returning `WouldBlock`) through a
//! small executor that parks tasks on the tokens mio reports ready.
//! Every case runs under a time limit and moves data only over loopback.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use synack_driver::StackConfig;
use synack_driver::link::PacketLink;

pub mod cases;
mod mio_adapter;
mod smol_adapter;
mod tokio_adapter;

pub use mio_adapter::Mio;
pub use smol_adapter::Smol;
pub use tokio_adapter::Tokio;

/// A boxed future: a spawned task's result, or an adapter operation.
pub type Task<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a case needs from an adapter: its runtime, a stack on a given
/// link, listeners and streams.
pub trait Adapter: Sized + 'static {
    /// The adapter's name, as the CLI's `--runtime` spells it.
    const NAME: &'static str;
    /// The driver runtime the adapter's links run on.
    type Runtime: synack_driver::runtime::Runtime;
    /// The adapter's stack handle.
    type Stack: Clone + Send + Sync + 'static;
    /// The adapter's listener.
    type Listener: Send + Sync + 'static;
    /// The adapter's stream, as a `futures-io` stream.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Runs `test` to completion on the adapter's runtime; fails (panics)
    /// when it takes longer than `limit`.
    fn run(limit: Duration, test: impl Future<Output = ()> + Send + 'static);

    /// Runs `task` beside the current one; the returned future gives its
    /// output (and re-raises its panic).
    fn spawn<T: Send + 'static>(task: impl Future<Output = T> + Send + 'static)
    -> Task<'static, T>;

    /// Completes after `duration`.
    fn sleep(duration: Duration) -> Task<'static, ()>;

    /// A stack over `link`, its driver running on the adapter's runtime.
    /// (mio registers the link's descriptor in the loop's `Poll`, hence
    /// `AsRawFd`.)
    fn stack_on<L: PacketLink + AsRawFd>(link: L, config: StackConfig) -> io::Result<Self::Stack>;

    /// A listener on `addr` (port 0: one the stack picks).
    fn bind(stack: &Self::Stack, addr: SocketAddr) -> io::Result<Self::Listener>;

    /// The address a listener is bound to.
    fn listener_addr(listener: &Self::Listener) -> SocketAddr;

    /// The next connection, and the peer's address.
    fn accept(listener: &Self::Listener) -> Task<'_, io::Result<(Self::Stream, SocketAddr)>>;

    /// A connection to `to`.
    fn connect(stack: &Self::Stack, to: SocketAddr) -> Task<'_, io::Result<Self::Stream>>;

    /// One vectored write on the adapter's own stream type (the suite's
    /// `futures-io` view of a tokio stream, `tokio-util`'s compat wrapper,
    /// would split it into single-slice writes).
    fn write_vectored<'a>(
        stream: &'a mut Self::Stream,
        bufs: &'a [std::io::IoSlice<'a>],
    ) -> Task<'a, io::Result<usize>>;

    /// A listener on `addr` whose accepted connections have the stack's
    /// connection settings as changed by `configure` (through the
    /// adapter's `TcpSocket`).
    fn bind_configured(
        stack: &Self::Stack,
        addr: SocketAddr,
        configure: fn(&mut synack_core::Config),
    ) -> io::Result<Self::Listener>;

    /// A connection to `to` with the stack's connection settings as
    /// changed by `configure` (through the adapter's `TcpSocket`).
    fn connect_configured(
        stack: &Self::Stack,
        to: SocketAddr,
        configure: fn(&mut synack_core::Config),
    ) -> Task<'_, io::Result<Self::Stream>>;

    /// Waits for data and copies it into `buf` without taking it.
    fn peek<'a>(stream: &'a mut Self::Stream, buf: &'a mut [u8]) -> Task<'a, io::Result<usize>>;

    /// The connection's counters.
    fn stats(stream: &Self::Stream) -> io::Result<synack_core::conn::Stats>;

    /// What the handshake settled (the peer's MSS, window scales, options).
    fn negotiated(stream: &Self::Stream) -> io::Result<synack_core::conn::Negotiated>;

    /// The stream's own address.
    fn local_addr(stream: &Self::Stream) -> io::Result<SocketAddr>;

    /// Closes the stream with a reset (SO_LINGER 0).
    fn abort(stream: Self::Stream);

    /// Sets TCP_NODELAY.
    fn set_nodelay(stream: &Self::Stream, nodelay: bool) -> io::Result<()>;
}

/// Makes one `#[test]` per case in [`cases`] for the adapter type
/// `$adapter`.
#[macro_export]
macro_rules! adapter_suite {
    ($adapter:ty) => {
        $crate::adapter_suite!(@cases $adapter;
            hundred_concurrent_echo_connections_are_byte_exact,
            a_hundred_megabytes_arrive_with_the_same_hash,
            client_half_closes_and_still_reads_the_reply,
            server_half_closes_and_still_reads_the_upload,
            a_peer_abort_reads_as_reset_by_peer,
            connecting_where_nobody_listens_is_refused,
            dropping_a_stream_with_unread_data_resets_the_peer,
            dropping_a_stream_with_everything_read_sends_a_fin,
            dropping_the_last_handle_still_delivers_what_was_written,
            a_writer_waits_for_a_reader_that_does_not_read,
            a_silent_peer_times_out_after_the_user_timeout,
            one_percent_loss_leaves_the_data_intact,
            every_task_waiting_in_accept_gets_a_connection,
            binding_a_taken_address_is_addr_in_use,
            set_nodelay_after_the_connection_closed_is_ok,
            a_reset_is_reported_once_then_reads_end_and_writes_break,
            a_port_0_listener_on_udp_is_reached_at_its_local_addr,
            a_second_port_0_listener_gets_an_ephemeral_port_reached_by_a_route,
            vectored_writes_of_many_slices_arrive_byte_exact,
            peek_shows_what_the_next_read_gets,
            a_listeners_options_reach_the_connections_it_accepts,
            a_bad_option_is_invalid_input_naming_the_field,
            a_loopback_udp_link_carries_64_kib_segments_intact,
            a_1492_byte_mtu_udp_link_still_negotiates_mss_1452,
            kernel_tcp_and_synack_talk_over_tun,
            tun_helper_runs_only_inside_the_test_namespace,
        );
    };
    (@cases $adapter:ty; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::cases::$case::<$adapter>();
            }
        )*
    };
}
