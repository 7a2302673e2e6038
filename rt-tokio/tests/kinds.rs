//! The same situations through `tokio::net` (the kernel's TCP on
//! loopback) and through synack-tokio: every `io::ErrorKind` (and every
//! `Ok(0)`) must be the same. And a stack whose runtime is shut down
//! fails what the application still holds instead of hanging.

mod common;

use std::io;
use std::time::Duration;

use common::{stack, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What an operation gave, in a form both stacks can be compared by.
fn outcome<T: std::fmt::Debug>(r: io::Result<T>) -> String {
    match r {
        Ok(v) => format!("Ok({v:?})"),
        Err(e) => format!("{:?}", e.kind()),
    }
}

/// A connected pair of kernel sockets on loopback.
async fn kernel_pair() -> (tokio::net::TcpStream, tokio::net::TcpStream) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let c = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (s, _) = listener.accept().await.unwrap();
    (c, s)
}

/// Each situation's outcomes through the kernel.
async fn kernel() -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16];

    // Connect where nobody listens.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap();
    drop(free);
    out.push((
        "connect refused",
        outcome(tokio::net::TcpStream::connect(addr).await.map(|_| ())),
    ));

    // The peer resets; then read, read again.
    let (mut c, s) = kernel_pair().await;
    #[allow(deprecated)] // A reset on drop is the point, blocking is not an issue here.
    s.set_linger(Some(Duration::ZERO)).unwrap();
    drop(s);
    out.push(("reset, read", outcome(c.read(&mut buf).await)));
    out.push(("reset, read again", outcome(c.read(&mut buf).await)));

    // The peer resets; once it has arrived, write, write again, shut down.
    let (mut c, s) = kernel_pair().await;
    #[allow(deprecated)] // A reset on drop is the point, blocking is not an issue here.
    s.set_linger(Some(Duration::ZERO)).unwrap();
    drop(s);
    c.readable().await.unwrap();
    out.push(("reset, write", outcome(c.write(b"x").await)));
    out.push(("reset, write again", outcome(c.write(b"x").await)));
    out.push(("reset, shutdown", outcome(c.shutdown().await)));

    // The peer resets; then peek, then read.
    let (mut c, s) = kernel_pair().await;
    #[allow(deprecated)] // A reset on drop is the point, blocking is not an issue here.
    s.set_linger(Some(Duration::ZERO)).unwrap();
    drop(s);
    c.readable().await.unwrap();
    out.push(("reset, peek", outcome(c.peek(&mut buf).await)));
    out.push(("reset, peek, read", outcome(c.read(&mut buf).await)));

    // Write after our own shutdown.
    let (mut c, _s) = kernel_pair().await;
    c.shutdown().await.unwrap();
    out.push(("write after shutdown", outcome(c.write(b"x").await)));

    // Read after the peer's FIN.
    let (mut c, mut s) = kernel_pair().await;
    s.shutdown().await.unwrap();
    out.push(("read after peer FIN", outcome(c.read(&mut buf).await)));
    // Writing to a peer that only shut its sending side still works.
    out.push(("write after peer FIN", outcome(c.write(b"x").await)));

    // Bind an address in use.
    let first = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let taken = first.local_addr().unwrap();
    out.push((
        "bind in use",
        outcome(tokio::net::TcpListener::bind(taken).await.map(|_| ())),
    ));
    out
}

/// The same situations through synack.
async fn synack() -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16];

    // A stack with no listener answers the SYN with a reset.
    let nobody = stack();
    let client = stack();
    out.push((
        "connect refused",
        outcome(client.connect(nobody.udp_addr().unwrap()).await.map(|_| ())),
    ));

    let (mut c, s, _a, _b) = common::pair().await;
    s.abort();
    out.push(("reset, read", outcome(c.read(&mut buf).await)));
    out.push(("reset, read again", outcome(c.read(&mut buf).await)));

    let (mut c, s, _a, _b) = common::pair().await;
    s.abort();
    c.readable().await.unwrap();
    out.push(("reset, write", outcome(c.write(b"x").await)));
    out.push(("reset, write again", outcome(c.write(b"x").await)));
    out.push(("reset, shutdown", outcome(c.shutdown().await)));

    let (mut c, s, _a, _b) = common::pair().await;
    s.abort();
    c.readable().await.unwrap();
    out.push(("reset, peek", outcome(c.peek(&mut buf).await)));
    out.push(("reset, peek, read", outcome(c.read(&mut buf).await)));

    let (mut c, _s, _a, _b) = common::pair().await;
    c.shutdown().await.unwrap();
    out.push(("write after shutdown", outcome(c.write(b"x").await)));

    let (mut c, mut s, _a, _b) = common::pair().await;
    s.shutdown().await.unwrap();
    out.push(("read after peer FIN", outcome(c.read(&mut buf).await)));
    out.push(("write after peer FIN", outcome(c.write(b"x").await)));

    let server = stack();
    let addr = server.udp_addr().unwrap();
    let _first = server.bind(addr).await.unwrap();
    out.push(("bind in use", outcome(server.bind(addr).await.map(|_| ()))));
    out
}

// Not compared here: a connect that times out (the kernel gives up after
// about two minutes of SYN retries; synack's `TimedOut` is checked in
// errors.rs with a short user timeout, as TCP_USER_TIMEOUT would give the
// kernel, which tokio::net cannot set).
#[tokio::test]
async fn error_kinds_match_the_kernels() {
    within(20, async {
        let kernel = kernel().await;
        let synack = synack().await;
        // A sanity check that the kernel side did what the names say.
        assert_eq!(kernel[0].1, "ConnectionRefused");
        assert_eq!(kernel[1].1, "ConnectionReset");
        for (k, s) in kernel.iter().zip(&synack) {
            assert_eq!(k.0, s.0);
            assert_eq!(k.1, s.1, "{}: kernel {}, synack {}", k.0, k.1, s.1);
        }
        assert_eq!(kernel.len(), synack.len());
    })
    .await;
}

/// A stack made inside a runtime that is then shut down: its driver task
/// is dropped with the runtime, and everything the application holds,
/// used from another runtime, fails at once, a task already waiting
/// included.
#[test]
fn a_shut_down_runtime_fails_its_stacks_streams_instead_of_hanging() {
    let first = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (mut c, s, listener, client) = first.block_on(async {
        let server = stack();
        let client = stack();
        let addr = server.udp_addr().unwrap();
        let listener = server.bind_addr(addr).unwrap();
        let c = client.connect(addr).await.unwrap();
        let (s, _) = listener.accept().await.unwrap();
        (c, s, listener, client)
    });
    let other = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // A task on the other runtime already waits for data.
    let waiting = other.spawn(async move {
        let mut buf = [0u8; 8];
        let mut s = s;
        s.read(&mut buf).await
    });
    std::thread::sleep(Duration::from_millis(100));
    assert!(!waiting.is_finished());
    first.shutdown_timeout(Duration::from_secs(1));
    other.block_on(async move {
        let limit = Duration::from_secs(5);
        let read = tokio::time::timeout(limit, waiting)
            .await
            .expect("the waiting read hung")
            .unwrap();
        assert!(read.is_err(), "{read:?}");
        let mut buf = [0u8; 8];
        let r = tokio::time::timeout(limit, c.read(&mut buf)).await.unwrap();
        assert!(r.is_err(), "{r:?}");
        let w = tokio::time::timeout(limit, c.write(b"x")).await.unwrap();
        assert!(w.is_err(), "{w:?}");
        let a = tokio::time::timeout(limit, listener.accept())
            .await
            .unwrap();
        assert!(a.is_err());
        let n = tokio::time::timeout(limit, client.connect(listener.local_addr().unwrap()))
            .await
            .unwrap();
        assert!(n.is_err());
        // Readiness does not hang either: the reads and writes say why.
        tokio::time::timeout(limit, c.readable())
            .await
            .unwrap()
            .unwrap();
        tokio::time::timeout(limit, c.writable())
            .await
            .unwrap()
            .unwrap();
        let e = r.unwrap_err();
        assert!(e.to_string().contains("stopped"), "{e}");
    });
}
