//! The cases: each a plain function that runs one scenario on adapter
//! `A`'s runtime (see [`adapter_suite!`](crate::adapter_suite)).
//!
//! Every error is checked against the `io::ErrorKind` Linux's TCP (and so
//! `tokio::net` and `std::net`) reports in the same situation.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use synack_core::Duration as CoreDuration;
use synack_driver::StackConfig;
use synack_driver::link::{Impaired, PacketLink, Udp};
use synack_link::impair::{ImpairmentConfig, LossModel, Rng};
use xxhash_rust::xxh3::Xxh3;

use crate::{Adapter, Task};

/// Everything `reader` gives up to its end.
async fn read_all<R: AsyncRead + Unpin>(reader: &mut R) -> Vec<u8> {
    let mut got = Vec::new();
    reader.read_to_end(&mut got).await.unwrap();
    got
}

/// Writes `data` and then closes `writer`, on a task of its own (so the
/// caller can read at the same time).
fn write_and_close<A: Adapter, W: AsyncWrite + Unpin + Send + 'static>(
    mut writer: W,
    data: Vec<u8>,
) -> Task<'static, ()> {
    A::spawn(async move {
        writer.write_all(&data).await.unwrap();
        writer.close().await.unwrap();
    })
}

/// A stack of `A` on a fresh loopback UDP socket, and that socket's
/// address (a listener there is reached with no route set up).
fn stack<A: Adapter>(config: StackConfig) -> (A::Stack, SocketAddr) {
    let link = Udp::<A::Runtime>::bind(loopback()).expect("bind loopback UDP");
    let addr = link.local_addr();
    (A::stack_on(link, config).expect("a stack"), addr)
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A server stack with a listener on its UDP address, and a client stack.
fn server_and_client<A: Adapter>() -> (A::Listener, SocketAddr, A::Stack, A::Stack) {
    let (server, addr) = stack::<A>(StackConfig::default());
    let listener = A::bind(&server, addr).expect("bind");
    let (client, _) = stack::<A>(StackConfig::default());
    (listener, addr, client, server)
}

/// Two connected streams (client side, server side), and their stacks
/// (kept alive by the caller).
async fn pair<A: Adapter>() -> (A::Stream, A::Stream, A::Stack, A::Stack) {
    let (listener, addr, client, server) = server_and_client::<A>();
    let c = A::connect(&client, addr).await.expect("connect");
    let (s, peer) = A::accept(&listener).await.expect("accept");
    assert_eq!(peer, A::local_addr(&c).unwrap());
    (c, s, client, server)
}

/// 100 connections at once, each echoing 64 KiB of its own bytes.
pub fn hundred_concurrent_echo_connections_are_byte_exact<A: Adapter>() {
    A::run(Duration::from_secs(60), async {
        const CONNECTIONS: u64 = 100;
        let (listener, addr, client, _server) = server_and_client::<A>();
        let echo = A::spawn(async move {
            let mut echoes = Vec::new();
            for _ in 0..CONNECTIONS {
                let (stream, _) = A::accept(&listener).await.unwrap();
                echoes.push(A::spawn(async move {
                    let (r, mut w) = stream.split();
                    futures_util::io::copy(r, &mut w).await.unwrap();
                    w.close().await.unwrap();
                }));
            }
            for e in echoes {
                e.await;
            }
        });
        let mut clients = Vec::new();
        for id in 0..CONNECTIONS {
            let client = client.clone();
            clients.push(A::spawn(async move {
                let stream = A::connect(&client, addr).await.unwrap();
                let data = synack_testkit::pattern(id, 64 << 10);
                let (mut r, w) = stream.split();
                let sent = data.clone();
                let writer = write_and_close::<A, _>(w, sent);
                let back = read_all(&mut r).await;
                writer.await;
                assert!(back == data, "connection {id}: echo differs");
            }));
        }
        for c in clients {
            c.await;
        }
        echo.await;
    });
}

/// 100 MB one way, generated and hashed on the fly on both sides.
pub fn a_hundred_megabytes_arrive_with_the_same_hash<A: Adapter>() {
    A::run(Duration::from_secs(180), async {
        const TOTAL: usize = 100 << 20;
        let (mut c, mut s, _a, _b) = pair::<A>().await;
        let sender = A::spawn(async move {
            let mut source = Rng::new(42);
            let mut hash = Xxh3::new();
            let mut chunk = vec![0u8; 256 << 10];
            let mut left = TOTAL;
            while left > 0 {
                let n = left.min(chunk.len());
                source.fill(&mut chunk[..n]);
                hash.update(&chunk[..n]);
                c.write_all(&chunk[..n]).await.unwrap();
                left -= n;
            }
            c.close().await.unwrap();
            hash.digest128()
        });
        let mut hash = Xxh3::new();
        let mut buf = vec![0u8; 256 << 10];
        let mut got = 0;
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            got += n;
        }
        assert_eq!(got, TOTAL);
        assert_eq!(hash.digest128(), sender.await, "the bytes differ");
    });
}

/// The client sends, half-closes, and still reads the server's reply.
pub fn client_half_closes_and_still_reads_the_reply<A: Adapter>() {
    A::run(Duration::from_secs(20), async {
        let (mut c, mut s, _a, _b) = pair::<A>().await;
        c.write_all(b"request").await.unwrap();
        c.close().await.unwrap();
        let req = read_all(&mut s).await;
        assert_eq!(req, b"request");
        s.write_all(b"reply after your FIN").await.unwrap();
        s.close().await.unwrap();
        let reply = read_all(&mut c).await;
        assert_eq!(reply, b"reply after your FIN");
    });
}

/// The server half-closes first and still reads the client's upload.
pub fn server_half_closes_and_still_reads_the_upload<A: Adapter>() {
    A::run(Duration::from_secs(20), async {
        let (mut c, mut s, _a, _b) = pair::<A>().await;
        s.write_all(b"hello").await.unwrap();
        s.close().await.unwrap();
        let greeting = read_all(&mut c).await;
        assert_eq!(greeting, b"hello");
        let upload = synack_testkit::pattern(3, 300_000);
        c.write_all(&upload).await.unwrap();
        c.close().await.unwrap();
        let got = read_all(&mut s).await;
        assert!(got == upload, "upload differs");
    });
}

/// The peer aborts: the next read reports the reset.
pub fn a_peer_abort_reads_as_reset_by_peer<A: Adapter>() {
    A::run(Duration::from_secs(20), async {
        let (mut c, s, _a, _b) = pair::<A>().await;
        A::abort(s);
        let mut buf = [0u8; 16];
        let err = c.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    });
}

/// A stack with no listener answers the SYN with a reset.
pub fn connecting_where_nobody_listens_is_refused<A: Adapter>() {
    A::run(Duration::from_secs(20), async {
        let (_server, addr) = stack::<A>(StackConfig::default());
        let (client, _) = stack::<A>(StackConfig::default());
        let err = match A::connect(&client, addr).await {
            Ok(_) => panic!("connected where nobody listens"),
            Err(e) => e,
        };
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    });
}

/// Closing with data the application never read resets the connection
/// (RFC 9293 §3.10.4, as Linux does): the peer learns its data was lost.
pub fn dropping_a_stream_with_unread_data_resets_the_peer<A: Adapter>() {
    A::run(Duration::from_secs(20), async {
        let (mut c, s, _a, _b) = pair::<A>().await;
        c.write_all(b"never read").await.unwrap();
        // Wait until it has arrived, then drop it unread.
        A::sleep(Duration::from_millis(200)).await;
        drop(s);
        let mut buf = [0u8; 16];
        let err = c.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    });
}

/// Dropping a stream whose input was all read closes it with a FIN.
pub fn dropping_a_stream_with_everything_read_sends_a_fin<A: Adapter>() {
    A::run(Duration::from_secs(20), async {
        let (mut c, mut s, _a, _b) = pair::<A>().await;
        c.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await.unwrap();
        drop(s);
        let mut rest = Vec::new();
        assert_eq!(c.read_to_end(&mut rest).await.unwrap(), 0);
    });
}

/// The client writes 300 KiB and drops its stream and its stack at once:
/// the driver goes on until the peer has it all, then sends the FIN.
pub fn dropping_the_last_handle_still_delivers_what_was_written<A: Adapter>() {
    A::run(Duration::from_secs(30), async {
        let (listener, addr, client, server) = server_and_client::<A>();
        let data = synack_testkit::pattern(9, 300 << 10);
        let mut c = A::connect(&client, addr).await.unwrap();
        let (mut s, _) = A::accept(&listener).await.unwrap();
        c.write_all(&data).await.unwrap();
        drop(c);
        drop(client);
        let got = read_all(&mut s).await;
        assert_eq!(got.len(), data.len());
        assert!(got == data);
        drop(server);
    });
}

/// A writer whose reader does not read is held back once the send buffer
/// and the peer's window are full, and goes on when the reader reads.
pub fn a_writer_waits_for_a_reader_that_does_not_read<A: Adapter>() {
    A::run(Duration::from_secs(30), async {
        let (c, mut s, _a, _b) = pair::<A>().await;
        // What the stacks can hold: the sender's buffer (raised to the
        // link's floor) and the receiver's.
        let config = StackConfig::default().endpoint.conn;
        let mtu = synack_link::udp::auto_mtu(loopback().ip());
        let send_buffer = config
            .send_buffer
            .max(synack_driver::stack::MIN_SEND_BUFFER_PACKETS * mtu);
        let bound = send_buffer + config.recv_buffer;
        let data = synack_testkit::pattern(5, 2 * bound);
        let (_r, mut w) = c.split();
        // Write until a write stays pending for 200 ms.
        let mut written = 0;
        loop {
            let write = w.write(&data[written..]);
            let stalled = async {
                A::sleep(Duration::from_millis(200)).await;
                Err(std::io::Error::from(ErrorKind::WouldBlock))
            };
            match futures_lite::future::or(write, stalled).await {
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
            assert!(
                written < data.len(),
                "all {written} bytes taken, bound {bound}"
            );
        }
        assert!(
            written > 0 && written <= bound,
            "{written} bytes taken, bound {bound}"
        );
        let rest = data[written..].to_vec();
        let writer = write_and_close::<A, _>(w, rest);
        let got = read_all(&mut s).await;
        writer.await;
        assert!(got == data, "the data differs");
    });
}

/// With a user timeout of 2 s, a connection whose path goes silent fails
/// with `TimedOut` after about 2 s (RFC 9293 §3.8.3 USER TIMEOUT).
pub fn a_silent_peer_times_out_after_the_user_timeout<A: Adapter>() {
    A::run(Duration::from_secs(30), async {
        let (server, addr) = stack::<A>(StackConfig::default());
        let listener = A::bind(&server, addr).unwrap();
        let link = Udp::<A::Runtime>::bind(loopback()).unwrap();
        let routes = link.routes();
        let mut config = StackConfig::default();
        config.endpoint.conn.user_timeout = Some(CoreDuration::from_secs(2));
        let client = A::stack_on(link, config).unwrap();
        let mut c = A::connect(&client, addr).await.unwrap();
        let (_s, _) = A::accept(&listener).await.unwrap();
        // From now on the client's segments go to a socket nobody reads.
        let deaf = std::net::UdpSocket::bind(loopback()).unwrap();
        routes.insert(addr, deaf.local_addr().unwrap());
        let started = Instant::now();
        c.write_all(b"anyone there?").await.unwrap();
        let mut buf = [0u8; 8];
        let err = c.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(1900) && waited < Duration::from_secs(10),
            "timed out after {waited:?}"
        );
    });
}

/// 2 MB each way through links that lose 1 % of packets in both
/// directions: everything arrives, in order.
pub fn one_percent_loss_leaves_the_data_intact<A: Adapter>() {
    A::run(Duration::from_secs(60), async {
        let lossy = |seed| {
            let link = Udp::<A::Runtime>::bind(loopback()).unwrap();
            let addr = link.local_addr();
            let config = ImpairmentConfig {
                loss: LossModel::Bernoulli(0.01),
                ..ImpairmentConfig::default()
            };
            let link = Impaired::<_, A::Runtime>::new(link, config, seed);
            let config = StackConfig {
                local_ip: Some(addr.ip()),
                ..StackConfig::default()
            };
            (A::stack_on(link, config).unwrap(), addr)
        };
        let (server, addr) = lossy(1);
        let (client, _) = lossy(2);
        let listener = A::bind(&server, addr).unwrap();
        let c = A::connect(&client, addr).await.unwrap();
        let (s, _) = A::accept(&listener).await.unwrap();
        let up = synack_testkit::pattern(11, 2 << 20);
        let down = synack_testkit::pattern(12, 2 << 20);
        let (mut cr, cw) = c.split();
        let (mut sr, sw) = s.split();
        let (u, d) = (up.clone(), down.clone());
        let client_writes = write_and_close::<A, _>(cw, u);
        let server_writes = write_and_close::<A, _>(sw, d);
        let server_reads = A::spawn(async move { read_all(&mut sr).await });
        let got_down = read_all(&mut cr).await;
        assert!(got_down == down, "download differs");
        assert!(server_reads.await == up, "upload differs");
        client_writes.await;
        server_writes.await;
    });
}

/// Two tasks wait in `accept` on one listener; two connections come: both
/// tasks get one (every waiter is woken, as with tokio and the kernel).
pub fn every_task_waiting_in_accept_gets_a_connection<A: Adapter>() {
    A::run(Duration::from_secs(20), async {
        let (listener, addr, client, _server) = server_and_client::<A>();
        let listener = Arc::new(listener);
        let acceptors: Vec<_> = (0..2)
            .map(|_| {
                let listener = listener.clone();
                A::spawn(async move { A::accept(&listener).await.unwrap().1 })
            })
            .collect();
        // Both are waiting before anyone connects.
        A::sleep(Duration::from_millis(100)).await;
        let a = A::connect(&client, addr).await.unwrap();
        let b = A::connect(&client, addr).await.unwrap();
        let mut peers = Vec::new();
        for acceptor in acceptors {
            peers.push(acceptor.await);
        }
        peers.sort();
        let mut want = vec![A::local_addr(&a).unwrap(), A::local_addr(&b).unwrap()];
        want.sort();
        assert_eq!(peers, want);
    });
}

/// A second listener on a bound address is `AddrInUse`.
pub fn binding_a_taken_address_is_addr_in_use<A: Adapter>() {
    A::run(Duration::from_secs(10), async {
        let (server, addr) = stack::<A>(StackConfig::default());
        let _first = A::bind(&server, addr).unwrap();
        let err = A::bind(&server, addr).err().expect("a second bind fails");
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    });
}

/// Options set on a stream whose connection has closed are accepted, as
/// on a kernel socket (tokio and Linux answer `Ok`).
pub fn set_nodelay_after_the_connection_closed_is_ok<A: Adapter>() {
    A::run(Duration::from_secs(20), async {
        let (mut c, s, _a, _b) = pair::<A>().await;
        drop(s);
        read_all(&mut c).await;
        c.close().await.unwrap();
        // Long enough for both FINs to be acknowledged (TIME-WAIT).
        A::sleep(Duration::from_millis(300)).await;
        A::set_nodelay(&c, true).unwrap();
        // And after a reset.
        let (mut c, s, _a, _b) = pair::<A>().await;
        A::abort(s);
        let mut buf = [0u8; 4];
        let err = c.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
        A::set_nodelay(&c, true).unwrap();
    });
}

/// A reset is reported once, to the first read that meets it, as a kernel
/// socket reports its pending error; then reads see the end of the stream
/// and writes a broken pipe (Linux: `read` 0, `write` `EPIPE`).
pub fn a_reset_is_reported_once_then_reads_end_and_writes_break<A: Adapter>() {
    A::run(Duration::from_secs(20), async {
        let (mut c, s, _a, _b) = pair::<A>().await;
        A::abort(s);
        let mut buf = [0u8; 16];
        let err = c.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
        assert_eq!(c.read(&mut buf).await.unwrap(), 0);
        for _ in 0..2 {
            let err = c.write(b"more").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
        }
    });
}

/// On a UDP stack the first port-0 listener takes the socket's own port:
/// the one TCP port other stacks reach with no route set up.
pub fn a_port_0_listener_on_udp_is_reached_at_its_local_addr<A: Adapter>() {
    A::run(Duration::from_secs(20), async {
        let (server, udp) = stack::<A>(StackConfig::default());
        let (client, _) = stack::<A>(StackConfig::default());
        let listener = A::bind(&server, loopback()).unwrap();
        let addr = A::listener_addr(&listener);
        assert_eq!(addr, udp);
        let echo = A::spawn(async move {
            let (mut s, _) = A::accept(&listener).await.unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
            s.close().await.unwrap();
            let _keep = server;
        });
        let mut c = A::connect(&client, addr).await.unwrap();
        c.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        echo.await;
    });
}

/// A second port-0 listener gets a port from the ephemeral range (RFC
/// 6056, through the core's allocator), another TCP port of the same UDP
/// socket: a client told the route reaches it.
pub fn a_second_port_0_listener_gets_an_ephemeral_port_reached_by_a_route<A: Adapter>() {
    A::run(Duration::from_secs(20), async {
        let (server, udp) = stack::<A>(StackConfig::default());
        let _first = A::bind(&server, loopback()).unwrap();
        let second = A::bind(&server, loopback()).unwrap();
        let addr = A::listener_addr(&second);
        let (min, max) = StackConfig::default().endpoint.ephemeral_ports;
        assert!((min..=max).contains(&addr.port()), "{addr}");
        assert_ne!(addr, udp);
        let link = Udp::<A::Runtime>::bind(loopback()).unwrap();
        link.routes().insert(addr, udp);
        let client = A::stack_on(link, StackConfig::default()).unwrap();
        let accept = A::spawn(async move {
            let peer = A::accept(&second).await.map(|(_, peer)| peer);
            (peer, second)
        });
        let c = A::connect(&client, addr).await.unwrap();
        let (peer, _second) = accept.await;
        assert_eq!(peer.unwrap(), A::local_addr(&c).unwrap());
    });
}

/// Thousands of small slices (some empty) through vectored writes: every
/// byte arrives once and in order, and a single call takes many slices
/// at once, not only the first.
pub fn vectored_writes_of_many_slices_arrive_byte_exact<A: Adapter>() {
    A::run(Duration::from_secs(30), async {
        let (mut c, mut s, _client, _server) = pair::<A>().await;
        let data = synack_testkit::pattern(11, 300_000);
        // Slices of 0 to 96 bytes, cut from the pattern.
        let mut cuts = Vec::new();
        let mut at = 0;
        let mut len = 0;
        while at < data.len() {
            let end = (at + len % 97).min(data.len());
            cuts.push(&data[at..end]);
            at = end;
            len += 37;
        }
        assert!(cuts.len() > 5000 && cuts.iter().any(|c| c.is_empty()));
        let reader = A::spawn(async move { read_all(&mut s).await });
        let mut slices: Vec<std::io::IoSlice<'_>> =
            cuts.iter().map(|c| std::io::IoSlice::new(c)).collect();
        let mut rest = &mut slices[..];
        let mut first = true;
        while !rest.is_empty() {
            let n = A::write_vectored(&mut c, rest).await.unwrap();
            assert!(n > 0, "a vectored write took nothing");
            if first {
                // The send buffer was empty: far more than one slice fits.
                assert!(n > 1000, "the first vectored write took only {n} bytes");
                first = false;
            }
            std::io::IoSlice::advance_slices(&mut rest, n);
        }
        c.close().await.unwrap();
        let got = reader.await;
        assert_eq!(got.len(), data.len());
        assert!(got == data, "the bytes differ");
    });
}

/// `peek` waits for data, shows it without taking it, and the next read
/// returns the same bytes.
pub fn peek_shows_what_the_next_read_gets<A: Adapter>() {
    A::run(Duration::from_secs(10), async {
        let (mut c, mut s, _client, _server) = pair::<A>().await;
        let data = synack_testkit::pattern(21, 1000);
        let sent = data.clone();
        let writer = A::spawn(async move {
            A::sleep(Duration::from_millis(50)).await;
            c.write_all(&sent).await.unwrap();
            c.close().await.unwrap();
            c
        });
        let mut peeked = vec![0u8; 4096];
        let n = A::peek(&mut s, &mut peeked).await.unwrap();
        assert!(n > 0 && n <= data.len());
        assert!(peeked[..n] == data[..n], "peek showed other bytes");
        // Peeking again shows at least the same bytes.
        let again = A::peek(&mut s, &mut peeked).await.unwrap();
        assert!(again >= n && peeked[..again] == data[..again]);
        let got = read_all(&mut s).await;
        assert!(got == data, "the read got other bytes than the peek");
        let _c = writer.await;
    });
}

/// A listener's settings (a small receive buffer) reach every connection
/// it accepts, and a connection's own (CUBIC) reach that connection only.
pub fn a_listeners_options_reach_the_connections_it_accepts<A: Adapter>() {
    A::run(Duration::from_secs(10), async {
        let (server, addr) = stack::<A>(StackConfig::default());
        let listener = A::bind_configured(&server, addr, |c| {
            c.recv_buffer = 8192;
            c.recv_buffer_max = 8192;
        })
        .unwrap();
        let (client, _) = stack::<A>(StackConfig::default());
        let c = A::connect_configured(&client, addr, |c| {
            c.congestion = synack_core::cc::CcAlgorithm::Cubic;
        })
        .await
        .unwrap();
        let (s, _) = A::accept(&listener).await.unwrap();
        let server_side = A::stats(&s).unwrap();
        assert!(
            server_side.receive_window <= 8192,
            "{}",
            server_side.receive_window
        );
        assert_eq!(server_side.congestion_control, "newreno");
        let client_side = A::stats(&c).unwrap();
        assert!(
            client_side.send_window <= 8192,
            "{}",
            client_side.send_window
        );
        assert_eq!(client_side.congestion_control, "cubic");
        // A plain connection has the stack's defaults.
        let plain = A::connect(&client, addr).await.unwrap();
        let (_s2, _) = A::accept(&listener).await.unwrap();
        assert_eq!(A::stats(&plain).unwrap().congestion_control, "newreno");
    });
}

/// A setting the core refuses fails the connect or listen with
/// `InvalidInput`, the core's error inside naming the field; nothing is
/// left behind.
pub fn a_bad_option_is_invalid_input_naming_the_field<A: Adapter>() {
    A::run(Duration::from_secs(10), async {
        use synack_core::conn::ConfigError;
        use synack_core::endpoint::EndpointError;
        let (server, addr) = stack::<A>(StackConfig::default());
        let err = A::bind_configured(&server, addr, |c| {
            c.delayed_ack = CoreDuration::from_secs(1)
        })
        .err()
        .expect("a delayed ACK of 1 s is refused");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            err.get_ref()
                .and_then(|e| e.downcast_ref::<EndpointError>())
                .copied(),
            Some(EndpointError::InvalidConfig(ConfigError::DelayedAckTooLong))
        );
        assert!(err.to_string().contains("delayed_ack"), "{err}");
        let listener = A::bind(&server, addr).expect("the address is still free");
        let (client, _) = stack::<A>(StackConfig::default());
        let err = A::connect_configured(&client, A::listener_addr(&listener), |c| {
            c.keepalive = Some(synack_core::conn::Keepalive::new(
                CoreDuration::from_secs(1),
                CoreDuration::from_secs(1),
                1,
            ));
        })
        .await
        .err()
        .expect("one keepalive probe is refused");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("keepalive.probes"), "{err}");
    });
}

/// A server and a client stack on loopback UDP links of `mtu` (`None`:
/// the link's own), a listener on the server's, and a connected pair
/// (client side, server side).
async fn pair_over<A: Adapter>(
    mtu: Option<usize>,
) -> (A::Stream, A::Stream, A::Stack, A::Stack, usize) {
    let link = |mtu: Option<usize>| {
        let link = Udp::<A::Runtime>::bind(loopback()).expect("bind loopback UDP");
        match mtu {
            Some(m) => link.with_mtu(m),
            None => link,
        }
    };
    let (server_link, client_link) = (link(mtu), link(mtu));
    let link_mtu = PacketLink::mtu(&server_link);
    assert_eq!(PacketLink::mtu(&client_link), link_mtu);
    let addr = server_link.local_addr();
    let server = A::stack_on(server_link, StackConfig::default()).expect("a stack");
    let client = A::stack_on(client_link, StackConfig::default()).expect("a stack");
    let listener = A::bind(&server, addr).expect("bind");
    let c = A::connect(&client, addr).await.expect("connect");
    let (s, _) = A::accept(&listener).await.expect("accept");
    (c, s, client, server, link_mtu)
}

/// Sends `data` from `c` to `s`, closes, and returns what `s` read.
async fn send_over<A: Adapter>(mut c: A::Stream, s: &mut A::Stream, data: Vec<u8>) -> Vec<u8> {
    let writer = A::spawn(async move {
        c.write_all(&data).await.unwrap();
        c.close().await.unwrap();
        c
    });
    let mut got = Vec::new();
    s.read_to_end(&mut got).await.unwrap();
    drop(writer.await);
    got
}

/// A UDP link bound to loopback takes the largest datagram loopback
/// carries unfragmented: both ends announce that MSS (the link's MTU
/// less 40), and data crosses in segments far larger than an Ethernet
/// frame, intact.
pub fn a_loopback_udp_link_carries_64_kib_segments_intact<A: Adapter>() {
    A::run(Duration::from_secs(60), async {
        let (c, mut s, _a, _b, mtu) = pair_over::<A>(None).await;
        assert_eq!(mtu, synack_link::udp::auto_mtu(loopback().ip()));
        // Linux's loopback MTU is 65,536 (16,436 before 3.6).
        assert!(mtu > 16_000, "loopback MTU {mtu}");
        let mss = u16::try_from(mtu - 40).unwrap_or(u16::MAX);
        let mean = transfer_at_mss::<A>(c, &mut s, mss, 8 << 20).await;
        assert!(mean > 8 * 1452, "segments of {mean} bytes on average");
    });
}

/// Checks that both ends of `c`–`s` announced `mss` and that `c` sends
/// segments of it less the timestamps' 12 bytes (on by default), moves
/// `len` bytes from `c` to `s` intact, and gives the mean payload of the
/// segments `s` received.
async fn transfer_at_mss<A: Adapter>(c: A::Stream, s: &mut A::Stream, mss: u16, len: usize) -> u64 {
    assert_eq!(A::negotiated(&c).unwrap().peer_mss, mss);
    assert_eq!(A::negotiated(s).unwrap().peer_mss, mss);
    assert_eq!(A::stats(&c).unwrap().mss, usize::from(mss) - 12);
    let data = synack_testkit::pattern(u64::from(mss), len);
    let got = send_over::<A>(c, s, data.clone()).await;
    assert!(
        got == data,
        "the bytes differ ({} of {})",
        got.len(),
        data.len()
    );
    let stats = A::stats(s).unwrap();
    stats.bytes_received / stats.segments_received.max(1)
}

/// A UDP link told to use MTU 1492 (an Ethernet path's, less the UDP
/// header) keeps the MSS at 1452 on loopback too, and segments within it.
pub fn a_1492_byte_mtu_udp_link_still_negotiates_mss_1452<A: Adapter>() {
    A::run(Duration::from_secs(60), async {
        let (c, mut s, _a, _b, mtu) = pair_over::<A>(Some(1492)).await;
        assert_eq!(mtu, 1492);
        let mean = transfer_at_mss::<A>(c, &mut s, 1452, 1 << 20).await;
        assert!(mean <= 1452, "segments of {mean} bytes on average");
    });
}

/// The name of the helper case [`kernel_tcp_and_synack_talk_over_tun`]
/// re-runs inside its namespace.
pub const TUN_HELPER: &str = "tun_helper_runs_only_inside_the_test_namespace";

/// The kernel's TCP and synack over a TUN device, in a network namespace
/// the test makes for itself (the test binary re-runs itself there,
/// limited to [`TUN_HELPER`]; `synack_testkit::in_private_netns` says
/// what happens without root, `/dev/net/tun` or `ip`): a kernel client
/// against a synack echo server, a kernel connect refused by synack, and a
/// synack client against a kernel listener.
pub fn kernel_tcp_and_synack_talk_over_tun<A: Adapter>() {
    let case = format!("tun-kernel-interop-{}", A::NAME);
    synack_testkit::in_private_netns(&case, TUN_HELPER, Duration::from_secs(90));
}

/// The inside of [`kernel_tcp_and_synack_talk_over_tun`]; does nothing
/// when not started by it.
pub fn tun_helper_runs_only_inside_the_test_namespace<A: Adapter>() {
    if !synack_testkit::inside_private_netns() {
        return;
    }
    A::run(Duration::from_secs(60), tun_helper::<A>());
}

/// Runs `job` (blocking kernel-socket work) on a thread of its own and
/// waits for it without blocking the adapter's runtime.
async fn on_a_thread<A: Adapter, T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> T {
    let thread = std::thread::spawn(job);
    while !thread.is_finished() {
        A::sleep(Duration::from_millis(5)).await;
    }
    thread.join().expect("the kernel-side thread panicked")
}

async fn tun_helper<A: Adapter>() {
    use std::io::{Read, Write};
    use std::net::IpAddr;

    let _ = std::process::Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status();
    let kernel: IpAddr = "10.99.0.1".parse().unwrap();
    let local: IpAddr = "10.99.0.2".parse().unwrap();
    let device = synack_link::tun::TunConfig {
        name: "syntest0".into(),
        kernel_addr: kernel,
        prefix: 24,
        mtu: 1500,
    };
    let link = synack_driver::link::Tun::<A::Runtime>::create(&device).expect("create TUN");
    let config = StackConfig {
        local_ip: Some(local),
        ..StackConfig::default()
    };
    let stack = A::stack_on(link, config).expect("a stack on the TUN link");
    let listener = A::bind(&stack, SocketAddr::new(local, 7000)).unwrap();
    let echo = A::spawn(async move {
        let (mut s, _) = A::accept(&listener).await.unwrap();
        let got = read_all(&mut s).await;
        s.write_all(&got).await.unwrap();
        s.close().await.unwrap();
        listener
    });

    // 1. A kernel TCP client against synack's echo server: 1 MB each
    // way, byte for byte.
    let data = synack_testkit::pattern(7, 1_000_000);
    let sent = data.clone();
    let back = on_a_thread::<A, _>(move || {
        let to = SocketAddr::new(local, 7000);
        let mut s = std::net::TcpStream::connect_timeout(&to, Duration::from_secs(5)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(&sent).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut back = Vec::new();
        s.read_to_end(&mut back).unwrap();
        back
    })
    .await;
    assert!(
        back == data,
        "echo over TUN differs ({} bytes back)",
        back.len()
    );
    let _listener = echo.await;

    // 2. The kernel connecting to a port nobody listens on is refused by
    // synack's reset.
    let refused = on_a_thread::<A, _>(move || {
        std::net::TcpStream::connect_timeout(&SocketAddr::new(local, 7001), Duration::from_secs(5))
            .unwrap_err()
            .kind()
    })
    .await;
    assert_eq!(refused, ErrorKind::ConnectionRefused);

    // 3. synack connecting to a kernel listener: 300 kB up, the count back.
    let kernel_listener = std::net::TcpListener::bind(SocketAddr::new(kernel, 7002)).unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = kernel_listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        s.write_all(&(got.len() as u64).to_be_bytes()).unwrap();
        got
    });
    let mut c = A::connect(&stack, SocketAddr::new(kernel, 7002))
        .await
        .unwrap();
    let upload = synack_testkit::pattern(8, 300_000);
    c.write_all(&upload).await.unwrap();
    c.close().await.unwrap();
    let mut count = [0u8; 8];
    c.read_exact(&mut count).await.unwrap();
    assert_eq!(u64::from_be_bytes(count), upload.len() as u64);
    let got = on_a_thread::<A, _>(move || server.join().unwrap()).await;
    assert!(got == upload, "the kernel received other bytes");
}
