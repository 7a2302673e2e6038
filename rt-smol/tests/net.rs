//! What only smol users meet: an `async_executor::Executor` on several
//! threads, `futures::io::copy` through an echo server, and a driver the
//! test polls itself. (Echo, close, errors and loss are cases of the
//! adapter suite.)

use std::future::Future;
use std::hash::{DefaultHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, future};
use synack_smol::{Stack, TcpStream};

/// A stack on a fresh loopback UDP socket, its driver on smol's executor.
fn stack() -> Stack {
    let (stack, driver) = Stack::udp("127.0.0.1:0".parse().unwrap()).expect("bind loopback UDP");
    smol::spawn(driver).detach();
    stack
}

/// Runs `f` to completion within `secs` seconds, or fails the test.
async fn within<T>(secs: u64, f: impl Future<Output = T>) -> T {
    future::or(f, async {
        async_io::Timer::after(Duration::from_secs(secs)).await;
        panic!("test did not finish within {secs} s")
    })
    .await
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(bytes);
    h.finish()
}

/// Two connected streams: (client side, server side), and their stacks.
async fn pair() -> (TcpStream, TcpStream, Stack, Stack) {
    let server = stack();
    let client = stack();
    let addr = server.udp_addr().unwrap();
    let listener = server.bind_addr(addr).unwrap();
    let c = client.connect(addr).await.unwrap();
    let (s, peer) = listener.accept().await.unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
    (c, s, client, server)
}

#[test]
fn sixteen_megabytes_arrive_with_the_same_hash_on_a_multithreaded_executor() {
    let ex = Arc::new(async_executor::Executor::new());
    // Two more threads run the executor until `stop` is dropped.
    let (stop, shutdown) = smol::channel::unbounded::<()>();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let ex = ex.clone();
            let shutdown = shutdown.clone();
            std::thread::spawn(move || future::block_on(ex.run(shutdown.recv())))
        })
        .collect();
    let result = future::block_on(ex.run(within(60, async {
        let (server, d1) = Stack::udp("127.0.0.1:0".parse().unwrap()).unwrap();
        let (client, d2) = Stack::udp("127.0.0.1:0".parse().unwrap()).unwrap();
        ex.spawn(d1).detach();
        ex.spawn(d2).detach();
        let addr = server.udp_addr().unwrap();
        let listener = server.bind_addr(addr).unwrap();
        let data = synack_testkit::pattern(7, 16 << 20);
        let want = hash(&data);
        let receiver = ex.spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            (got.len(), hash(&got))
        });
        let mut c = client.connect(addr).await.unwrap();
        c.write_all(&data).await.unwrap();
        c.close().await.unwrap();
        let (len, got) = receiver.await;
        (len, got, want)
    })));
    drop(stop);
    for t in threads {
        t.join().unwrap().unwrap_err(); // the channel closed
    }
    let (len, got, want) = result;
    assert_eq!(len, 16 << 20);
    assert_eq!(got, want);
}

#[test]
fn futures_io_copy_moves_a_stream_through_an_echo_server() {
    smol::block_on(within(20, async {
        let (c, s, _a, _b) = pair().await;
        let echo = smol::spawn(async move {
            let (r, mut w) = futures::io::AsyncReadExt::split(s);
            let n = futures::io::copy(r, &mut w).await.unwrap();
            futures::io::AsyncWriteExt::close(&mut w).await.unwrap();
            n
        });
        let data = synack_testkit::pattern(9, 500_000);
        let (r, mut w) = futures::io::AsyncReadExt::split(c);
        let src = data.clone();
        let writer = smol::spawn(async move {
            futures::io::copy(futures::io::Cursor::new(src), &mut w)
                .await
                .unwrap();
            futures::io::AsyncWriteExt::close(&mut w).await.unwrap();
        });
        let mut back = Vec::new();
        futures::io::AsyncReadExt::read_to_end(&mut { r }, &mut back)
            .await
            .unwrap();
        writer.await;
        assert_eq!(echo.await, data.len() as u64);
        assert!(back == data);
    }));
}

#[test]
fn the_driver_runs_as_a_future_the_caller_polls() {
    // No executor: the test polls both drivers beside its own future.
    let (server, d1) = Stack::udp("127.0.0.1:0".parse().unwrap()).unwrap();
    let (client, d2) = Stack::udp("127.0.0.1:0".parse().unwrap()).unwrap();
    let drivers = async {
        let (a, b) = future::zip(d1, d2).await;
        a.and(b).unwrap();
        unreachable!("the drivers run while the stacks are alive")
    };
    let app = async move {
        let addr = server.udp_addr().unwrap();
        let listener = server.bind_addr(addr).unwrap();
        let (mut c, (mut s, _)) = future::try_zip(client.connect(addr), listener.accept())
            .await
            .unwrap();
        c.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await.unwrap();
        buf
    };
    let got = future::block_on(within(10, future::or(app, drivers)));
    assert_eq!(&got, b"ping");
}
