//! What a user of `tokio::net::TcpStream` expects beyond reading and
//! writing: readiness (`readable`, `writable`, `ready`), `peek`, vectored
//! writes, addresses given as strings, and options set on a socket
//! before it connects or listens.

mod common;

use std::io::{ErrorKind, IoSlice};
use std::time::Duration;

use common::{pair, stack, within};
use synack_core::cc::CcAlgorithm;
use synack_core::conn::{ConfigError, State};
use synack_core::endpoint::EndpointError;
use synack_testkit::pattern;
use synack_tokio::link::Udp;
use synack_tokio::{Stack, StackConfig, TcpListener};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest, Ready};

/// A listener on a fresh stack's UDP address, and a client stack.
fn server_and_client() -> (TcpListener, std::net::SocketAddr, Stack, Stack) {
    let server = stack();
    let addr = server.udp_addr().unwrap();
    let listener = server.bind_addr(addr).unwrap();
    (listener, addr, stack(), server)
}

/// True when `f` does not finish within `ms` milliseconds.
async fn stays_pending<F: std::future::Future>(ms: u64, f: F) -> bool {
    tokio::time::timeout(Duration::from_millis(ms), f)
        .await
        .is_err()
}

#[tokio::test]
async fn peek_waits_for_data_and_leaves_it_for_the_read() {
    within(10, async {
        let (mut c, s, _a, _b) = pair().await;
        let mut buf = [0u8; 64];
        assert_eq!(
            s.try_peek(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // peek waits: nothing has been sent yet.
        assert!(stays_pending(100, s.peek(&mut buf)).await);
        c.write_all(b"hello, peek").await.unwrap();
        let n = s.peek(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hello, peek");
        // Peeking again shows the same bytes, and so does try_peek.
        let mut again = [0u8; 64];
        assert_eq!(s.try_peek(&mut again).unwrap(), n);
        assert_eq!(again[..n], buf[..n]);
        // The read gets exactly what the peeks showed.
        let mut read = [0u8; 64];
        assert_eq!(s.try_read(&mut read).unwrap(), n);
        assert_eq!(read[..n], buf[..n]);
        assert_eq!(
            s.try_peek(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // At end of stream peek says 0.
        c.shutdown().await.unwrap();
        assert_eq!(s.peek(&mut buf).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn readable_wakes_when_data_arrives() {
    within(10, async {
        let (mut c, s, _a, _b) = pair().await;
        let waiter = tokio::spawn(async move {
            s.readable().await.unwrap();
            let mut buf = [0u8; 16];
            // Readiness is a hint: loop as tokio's documentation says.
            loop {
                match s.try_read(&mut buf) {
                    Ok(n) => return buf[..n].to_vec(),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => s.readable().await.unwrap(),
                    Err(e) => panic!("{e}"),
                }
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiter.is_finished(), "readable() before any data");
        c.write_all(b"wake").await.unwrap();
        assert_eq!(waiter.await.unwrap(), b"wake");
    })
    .await;
}

#[tokio::test]
async fn writable_waits_while_the_send_buffer_is_full_and_wakes_when_it_drains() {
    within(30, async {
        let server = stack();
        let addr = server.udp_addr().unwrap();
        // A small receive buffer on the server and a small send buffer on
        // the client, so back-pressure comes quickly.
        let mut socket = server.socket();
        socket.set_recv_buffer_size(16 * 1024).unwrap();
        let listener = socket.listen(addr).unwrap();
        let client = stack();
        let mut socket = client.socket();
        socket.set_send_buffer_size(16 * 1024).unwrap();
        let c = socket.connect(addr).await.unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        c.writable().await.unwrap();
        let data = pattern(3, 1 << 20);
        let mut written = 0;
        // Write until the buffers are full: writable() then stays pending.
        loop {
            match c.try_write(&data[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if stays_pending(300, c.writable()).await {
                        break;
                    }
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert!(written <= 64 * 1024, "{written} bytes taken");
        assert!(stays_pending(100, c.ready(Interest::WRITABLE)).await);
        // The reader reads: room frees and writable() wakes.
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            got
        });
        c.writable().await.unwrap();
        let mut c = c;
        c.write_all(&data[written..]).await.unwrap();
        c.shutdown().await.unwrap();
        assert!(reader.await.unwrap() == data);
    })
    .await;
}

#[tokio::test]
async fn ready_reports_readable_writable_and_closed_directions() {
    within(10, async {
        let (mut c, s, _a, _b) = pair().await;
        let r = s
            .ready(Interest::READABLE | Interest::WRITABLE)
            .await
            .unwrap();
        assert_eq!(r, Ready::WRITABLE);
        assert!(stays_pending(100, s.ready(Interest::READABLE)).await);
        c.write_all(b"x").await.unwrap();
        c.shutdown().await.unwrap();
        // Readable; once the FIN is in, read-closed too.
        let mut r = s.ready(Interest::READABLE).await.unwrap();
        while !r.is_read_closed() {
            let mut buf = [0u8; 4];
            assert!(r.is_readable());
            assert_eq!(s.try_read(&mut buf).unwrap(), 1);
            r = s.ready(Interest::READABLE).await.unwrap();
        }
        assert!(r.is_readable() && !r.is_write_closed());
        // The client shut writing: write-closed, still writable (a write
        // fails at once).
        let r = c.ready(Interest::WRITABLE).await.unwrap();
        assert!(r.is_writable() && r.is_write_closed(), "{r:?}");
        assert_eq!(
            c.try_write(b"late").unwrap_err().kind(),
            ErrorKind::BrokenPipe
        );
    })
    .await;
}

#[tokio::test]
async fn vectored_writes_take_many_slices_at_once() {
    within(10, async {
        let (mut c, mut s, _a, _b) = pair().await;
        assert!(tokio::io::AsyncWrite::is_write_vectored(&c));
        let parts: Vec<Vec<u8>> = (0..500u64).map(|i| pattern(i, (i % 50) as usize)).collect();
        let expected = parts.concat();
        let slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
        // One call, one copy: everything fits in the empty send buffer.
        assert_eq!(c.try_write_vectored(&slices).unwrap(), expected.len());
        let n = c.write_vectored(&slices[..3]).await.unwrap();
        assert_eq!(n, parts[..3].concat().len());
        c.shutdown().await.unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert_eq!(got.len(), expected.len() + n);
        assert!(got[..expected.len()] == expected[..]);
        assert!(got[expected.len()..] == parts[..3].concat()[..]);
    })
    .await;
}

#[tokio::test]
async fn bind_and_connect_take_addresses_as_strings() {
    within(10, async {
        let server = stack();
        let port = server.udp_addr().unwrap().port();
        let listener = server.bind(format!("127.0.0.1:{port}")).await.unwrap();
        assert_eq!(listener.local_addr().unwrap().port(), port);
        let client = stack();
        let mut c = client.connect(format!("127.0.0.1:{port}")).await.unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        let _c2 = client.connect(("127.0.0.1", port)).await.unwrap();
        c.write_all(b"by name").await.unwrap();
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"by name");
        // A string that is no address fails, typed, without hanging.
        let err = client.connect("not an address").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        // Bind takes the first address that binds; a taken one is
        // AddrInUse as before.
        let err = server.bind(("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    })
    .await;
}

#[tokio::test]
async fn socket_options_reach_the_connection() {
    within(10, async {
        let server = stack();
        let addr = server.udp_addr().unwrap();
        let mut socket = server.socket();
        socket.set_recv_buffer_size(8192).unwrap();
        socket.set_nodelay(true).unwrap();
        assert_eq!(socket.recv_buffer_size().unwrap(), 8192);
        let listener = socket.listen(addr).unwrap();
        let client = stack();
        let mut socket = client.socket();
        socket.set_congestion_control(CcAlgorithm::Cubic).unwrap();
        socket.set_keepalive(true).unwrap();
        assert!(socket.keepalive().unwrap());
        let c = socket.connect(addr).await.unwrap();
        let (s, _) = listener.accept().await.unwrap();
        // The accepted connection has the listener's options.
        assert!(s.nodelay().unwrap());
        assert!(s.stats().unwrap().receive_window <= 8192);
        // The client sees the small window; its controller is CUBIC.
        let stats = c.stats().unwrap();
        assert!(stats.send_window <= 8192, "{}", stats.send_window);
        assert_eq!(stats.congestion_control, "cubic");
        assert!(!c.nodelay().unwrap());
        // A plain connect keeps the stack's defaults.
        let plain = client.connect(addr).await.unwrap();
        assert_eq!(plain.stats().unwrap().congestion_control, "newreno");
    })
    .await;
}

#[tokio::test]
async fn a_bad_socket_option_is_a_typed_error_naming_the_field() {
    within(10, async {
        let server = stack();
        let addr = server.udp_addr().unwrap();
        let mut socket = server.socket();
        socket.set_send_buffer_size(0).unwrap();
        let err = socket.clone().listen(addr).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            err.get_ref()
                .and_then(|e| e.downcast_ref::<EndpointError>())
                .copied(),
            Some(EndpointError::InvalidConfig(ConfigError::SendBufferZero))
        );
        assert!(err.to_string().contains("send_buffer"), "{err}");
        let err = socket.connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("send_buffer"), "{err}");
        // Nothing was left behind: the address is free, no connection.
        assert_eq!(server.stats().connections, 0);
        server.bind_addr(addr).unwrap();
        // A linger the drop cannot honour is refused.
        let mut socket = server.socket();
        let err = socket.set_linger(Some(Duration::from_secs(5))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    })
    .await;
}

#[tokio::test]
async fn linger_zero_resets_on_drop() {
    within(10, async {
        let (listener, addr, client, _server) = server_and_client();
        let mut socket = client.socket();
        socket.set_linger(Some(Duration::ZERO)).unwrap();
        let c = socket.connect(addr).await.unwrap();
        assert_eq!(c.linger().unwrap(), Some(Duration::ZERO));
        let (mut s, _) = listener.accept().await.unwrap();
        drop(c);
        let mut buf = [0u8; 4];
        let err = s.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
        // Without it, a drop is a FIN.
        let c = client.connect(addr).await.unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        drop(c);
        assert_eq!(s.read(&mut buf).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_socket_user_timeout_fires_sooner_than_the_default() {
    within(30, async {
        let server = stack();
        let addr = server.udp_addr().unwrap();
        let listener = server.bind_addr(addr).unwrap();
        let link = Udp::bind(common::loopback()).unwrap();
        let routes = link.routes();
        let client = Stack::new(
            link,
            StackConfig {
                local_ip: Some(std::net::Ipv4Addr::LOCALHOST.into()),
                ..StackConfig::default()
            },
        )
        .unwrap();
        let mut socket = client.socket();
        socket
            .set_user_timeout(Some(Duration::from_millis(1500)))
            .unwrap();
        assert_eq!(
            socket.user_timeout().unwrap(),
            Some(Duration::from_millis(1500))
        );
        let mut timed = socket.connect(addr).await.unwrap();
        let (_a, _) = listener.accept().await.unwrap();
        // A second connection with the stack's defaults (no user
        // timeout: 15 retransmissions, minutes).
        let mut plain = client.connect(addr).await.unwrap();
        let (_b, _) = listener.accept().await.unwrap();
        // The path goes silent.
        let deaf = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        routes.insert(addr, deaf.local_addr().unwrap());
        let started = std::time::Instant::now();
        timed.write_all(b"anyone?").await.unwrap();
        plain.write_all(b"anyone?").await.unwrap();
        let mut buf = [0u8; 4];
        let err = timed.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(1400) && waited < Duration::from_secs(8),
            "timed out after {waited:?}"
        );
        // The default connection is still waiting.
        assert!(stays_pending(200, plain.read(&mut buf)).await);
        assert_eq!(plain.stats().unwrap().state, State::Established);
    })
    .await;
}

#[tokio::test]
async fn connect_tries_each_address_and_bind_takes_the_first_that_binds() {
    within(10, async {
        let (listener, addr, client, server) = server_and_client();
        // Nobody listens on the first: it is refused, and the second is
        // tried.
        let nobody = stack();
        let refused = nobody.udp_addr().unwrap();
        let addrs = [refused, addr];
        let c = client.connect(&addrs[..]).await.unwrap();
        let (s, _) = listener.accept().await.unwrap();
        assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
        // Every address refused: the last error.
        let err = client.connect(&[refused, refused][..]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        // The first is taken (the listener above): the second binds.
        let other: std::net::SocketAddr = "127.0.0.1:4321".parse().unwrap();
        let second = server.bind(&[addr, other][..]).await.unwrap();
        assert_eq!(second.local_addr().unwrap(), other);
        // An empty list resolves to nothing.
        let none: [std::net::SocketAddr; 0] = [];
        let err = client.connect(&none[..]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    })
    .await;
}

#[tokio::test]
async fn split_halves_have_readiness_and_peek() {
    within(10, async {
        let (c, s, _a, _b) = pair().await;
        let (cr, cw) = c.into_split();
        let (mut sr, sw) = s.into_split();
        cw.writable().await.unwrap();
        assert_eq!(cw.try_write(b"half").unwrap(), 4);
        let mut buf = [0u8; 8];
        let n = sr.peek(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], &b"half"[..n]);
        let mut got = [0u8; 4];
        sr.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"half");
        assert_eq!(
            cr.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert_eq!(
            sw.try_write_vectored(&[IoSlice::new(b"ba"), IoSlice::new(b"ck")])
                .unwrap(),
            4
        );
        cr.readable().await.unwrap();
        let mut n = 0;
        while n < 4 {
            cr.readable().await.unwrap();
            n += cr.try_read(&mut buf[n..]).unwrap_or(0);
        }
        assert_eq!(&buf[..4], b"back");
    })
    .await;
}

#[tokio::test]
async fn a_bbr_connection_paces_and_delivers() {
    within(10, async {
        let server = stack();
        let addr = server.udp_addr().unwrap();
        let listener = server.socket().listen(addr).unwrap();
        let client = stack();
        let mut socket = client.socket();
        socket.set_congestion_control(CcAlgorithm::Bbr).unwrap();
        let mut c = socket.connect(addr).await.unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        let data = pattern(7, 300_000);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            got
        });
        c.write_all(&data).await.unwrap();
        let stats = c.stats().unwrap();
        assert_eq!(stats.congestion_control, "bbr");
        // BBR sets the pacing rate from its model.
        assert!(stats.pacing_rate > 0);
        c.shutdown().await.unwrap();
        assert!(reader.await.unwrap() == data);
    })
    .await;
}
