//! The kernel's TCP talking to synack over a TUN device: a std
//! `TcpStream` (kernel TCP) client against a synack echo server, a kernel
//! refusal, and a synack client against a kernel listener.
//!
//! Everything runs in a network namespace the test creates for itself
//! (`synack-test-<pid>`): the test re-runs its own binary there (`ip netns
//! exec`), limited to the helper below, so the TUN device, its address and
//! its route exist only inside that namespace, and all traffic stays
//! there (`synack_testkit::in_private_netns`, which also says what
//! happens without root, `/dev/net/tun` or `ip`).

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use synack_link::tun::TunConfig;
use synack_tokio::{Stack, StackConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HELPER_TEST: &str = "tun_helper_runs_only_inside_the_test_namespace";

#[test]
fn kernel_tcp_and_synack_talk_over_tun_in_a_private_namespace() {
    synack_testkit::in_private_netns("tun-kernel-interop", HELPER_TEST, Duration::from_secs(60));
}

/// Runs only when the test above starts it inside its namespace.
#[test]
fn tun_helper_runs_only_inside_the_test_namespace() {
    if !synack_testkit::inside_private_netns() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(common::within(45, helper()));
}

async fn helper() {
    // Loopback inside the namespace, for completeness.
    let _ = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status();
    let kernel: IpAddr = "10.99.0.1".parse().unwrap();
    let local: IpAddr = "10.99.0.2".parse().unwrap();
    let device = TunConfig {
        name: "syntest0".into(),
        kernel_addr: kernel,
        prefix: 24,
        mtu: 1500,
    };
    let stack = Stack::tun(&device, local, StackConfig::default()).expect("create TUN");
    let listener = stack.bind_addr(SocketAddr::new(local, 7000)).unwrap();
    tokio::spawn(async move {
        loop {
            let (s, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let (mut r, mut w) = s.into_split();
                tokio::io::copy(&mut r, &mut w).await.unwrap();
                w.shutdown().await.unwrap();
            });
        }
    });

    // 1. A kernel TCP client (std's blocking TcpStream, on a thread)
    // against synack's echo server: 1 MB each way, byte for byte.
    let data = synack_testkit::pattern(7, 1_000_000);
    let sent = data.clone();
    let back = tokio::task::spawn_blocking(move || {
        let to = SocketAddr::new(local, 7000);
        let mut s = std::net::TcpStream::connect_timeout(&to, Duration::from_secs(5)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            w.write_all(&sent).unwrap();
            w.shutdown(std::net::Shutdown::Write).unwrap();
        });
        let mut back = Vec::new();
        s.read_to_end(&mut back).unwrap();
        writer.join().unwrap();
        back
    })
    .await
    .unwrap();
    assert!(
        back == data,
        "echo over TUN differs ({} bytes back)",
        back.len()
    );

    // 2. The kernel connecting to a synack port nobody listens on is
    // refused, by synack's reset.
    let refused = tokio::task::spawn_blocking(move || {
        std::net::TcpStream::connect_timeout(&SocketAddr::new(local, 7001), Duration::from_secs(5))
            .unwrap_err()
            .kind()
    })
    .await
    .unwrap();
    assert_eq!(refused, ErrorKind::ConnectionRefused);

    // 3. synack connecting to a kernel listener on the kernel's side.
    let kernel_listener = tokio::net::TcpListener::bind(SocketAddr::new(kernel, 7002))
        .await
        .unwrap();
    let server = tokio::spawn(async move {
        let (mut s, _) = kernel_listener.accept().await.unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        s.write_all(&(got.len() as u64).to_be_bytes())
            .await
            .unwrap();
        got
    });
    let mut c = stack.connect(SocketAddr::new(kernel, 7002)).await.unwrap();
    let upload = synack_testkit::pattern(8, 300_000);
    c.write_all(&upload).await.unwrap();
    c.shutdown().await.unwrap();
    let mut count = [0u8; 8];
    c.read_exact(&mut count).await.unwrap();
    assert_eq!(u64::from_be_bytes(count), upload.len() as u64);
    assert!(server.await.unwrap() == upload);
}
