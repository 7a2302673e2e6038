//! synack-smol over UDP loopback, from `smol::block_on`, an
//! `async_executor::Executor` on several threads, and a driver the test
//! polls itself: echo, bulk transfer with a hash, half-close, reset,
//! refused, several acceptors, `futures::io::copy`.

use std::future::Future;
use std::hash::{DefaultHasher, Hasher};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, StreamExt, future};
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

/// Deterministic test bytes: connection `id`'s stream, `len` long.
fn pattern(id: u64, len: usize) -> Vec<u8> {
    let mut x = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
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
fn hundred_concurrent_echo_connections_are_byte_exact() {
    smol::block_on(within(60, async {
        let server = stack();
        let client = stack();
        let addr = server.udp_addr().unwrap();
        let listener = server.bind_addr(addr).unwrap();
        let echo = smol::spawn(async move {
            let mut tasks = Vec::new();
            let mut incoming = listener.incoming();
            for _ in 0..100 {
                let stream = incoming.next().await.unwrap().unwrap();
                tasks.push(smol::spawn(async move {
                    let n = futures_lite::io::copy(&stream, &mut &stream).await.unwrap();
                    stream.shutdown_write().unwrap();
                    n
                }));
            }
            let mut total = 0;
            for t in tasks {
                total += t.await;
            }
            total
        });
        let mut clients = Vec::new();
        for id in 0..100u64 {
            let client = client.clone();
            clients.push(smol::spawn(async move {
                let len = 1 + (id as usize * 2_017) % 200_000;
                let data = pattern(id, len);
                let stream = client.connect(addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let mut w = stream.clone();
                let sent = data.clone();
                let writer = smol::spawn(async move {
                    w.write_all(&sent).await.unwrap();
                    w.close().await.unwrap();
                });
                let mut back = Vec::new();
                (&stream).read_to_end(&mut back).await.unwrap();
                writer.await;
                assert!(
                    back == data,
                    "connection {id}: echo differs ({} of {len} bytes)",
                    back.len()
                );
                len as u64
            }));
        }
        let mut expected = 0;
        for c in clients {
            expected += c.await;
        }
        assert_eq!(echo.await, expected);
        for s in [&client, &server] {
            assert_eq!(s.stats().drops.malformed, 0);
        }
    }));
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
        let data = pattern(7, 16 << 20);
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
fn client_half_closes_and_still_reads_the_reply() {
    smol::block_on(within(20, async {
        let (mut c, mut s, _a, _b) = pair().await;
        let request = pattern(1, 100_000);
        c.write_all(&request).await.unwrap();
        c.close().await.unwrap(); // poll_close: a FIN after the data
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert!(got == request);
        let reply = pattern(2, 300_000);
        s.write_all(&reply).await.unwrap();
        s.close().await.unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back).await.unwrap();
        assert!(back == reply);
        let err = c.write_all(b"x").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    }));
}

#[test]
fn server_half_closes_and_still_reads_the_upload() {
    smol::block_on(within(20, async {
        let (mut c, mut s, _a, _b) = pair().await;
        s.write_all(b"greeting").await.unwrap();
        s.close().await.unwrap();
        let mut greeting = Vec::new();
        c.read_to_end(&mut greeting).await.unwrap();
        assert_eq!(greeting, b"greeting");
        let upload = pattern(3, 2_000_000);
        let mut got = Vec::new();
        let send = async {
            c.write_all(&upload).await?;
            c.close().await
        };
        let (a, b) = future::zip(send, s.read_to_end(&mut got)).await;
        a.unwrap();
        b.unwrap();
        assert!(got == upload);
        let (a, b) = future::zip(c.close_and_wait(), s.close_and_wait()).await;
        a.unwrap();
        b.unwrap();
    }));
}

#[test]
fn a_peer_abort_reads_as_reset_by_peer() {
    smol::block_on(within(10, async {
        let (mut c, s, _a, _b) = pair().await;
        s.abort();
        let mut buf = [0u8; 16];
        let err = c.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    }));
}

#[test]
fn dropping_a_stream_with_unread_data_resets_the_peer() {
    smol::block_on(within(20, async {
        let (mut c, s, _a, _b) = pair().await;
        c.write_all(b"never read").await.unwrap();
        while s.stats().unwrap().bytes_received < 10 {
            async_io::Timer::after(Duration::from_millis(5)).await;
        }
        drop(s);
        let mut buf = [0u8; 8];
        let err = c.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    }));
}

#[test]
fn dropping_the_last_handle_still_delivers_what_was_written() {
    smol::block_on(within(20, async {
        let (mut c, mut s, client, _b) = pair().await;
        let data = pattern(4, 300 * 1024);
        let reader = smol::spawn(async move {
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            got
        });
        c.write_all(&data).await.unwrap();
        // The stream and the client's stack were its last handles: the
        // driver finishes sending, then the FIN, and only then stops.
        drop(c);
        drop(client);
        let got = reader.await;
        assert_eq!(got.len(), data.len());
        assert!(got == data);
    }));
}

#[test]
fn connecting_where_nobody_listens_is_refused() {
    smol::block_on(within(10, async {
        let server = stack();
        let client = stack();
        let err = client
            .connect(server.udp_addr().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    }));
}

#[test]
fn every_task_waiting_in_accept_gets_a_connection() {
    smol::block_on(within(20, async {
        let server = stack();
        let client = stack();
        let addr = server.udp_addr().unwrap();
        let listener = Arc::new(server.bind_addr(addr).unwrap());
        let acceptors: Vec<_> = (0..3)
            .map(|_| {
                let listener = listener.clone();
                smol::spawn(async move { listener.accept().await.unwrap().1 })
            })
            .collect();
        async_io::Timer::after(Duration::from_millis(100)).await;
        let mut streams = Vec::new();
        for _ in 0..3 {
            streams.push(client.connect(addr).await.unwrap());
        }
        let mut peers: Vec<SocketAddr> = Vec::new();
        for a in acceptors {
            peers.push(a.await);
        }
        peers.sort();
        let mut expected: Vec<_> = streams.iter().map(|s| s.local_addr().unwrap()).collect();
        expected.sort();
        assert_eq!(peers, expected);
    }));
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
        let data = pattern(9, 500_000);
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
