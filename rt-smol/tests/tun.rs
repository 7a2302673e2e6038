//! The kernel's TCP talking to synack-smol over a TUN device (the TUN fd
//! under async-io's reactor): a std `TcpStream` (kernel TCP) client
//! against a synack echo server, a kernel refusal, and a synack client
//! against a kernel listener.
//!
//! Everything runs in a network namespace the test creates for itself
//! (`synack-test-<pid>`): the test re-runs its own binary there (`ip netns
//! exec`), limited to the helper below, so the TUN device, its address and
//! its route exist only inside that namespace, and all traffic stays
//! there (`synack_testkit::in_private_netns`, which also says what
//! happens without root, `/dev/net/tun` or `ip`).

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, future};
use synack_link::tun::TunConfig;
use synack_smol::{Stack, StackConfig};

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
    smol::block_on(future::or(helper(), async {
        async_io::Timer::after(Duration::from_secs(45)).await;
        panic!("the helper did not finish within 45 s")
    }));
}

async fn helper() {
    let _ = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status();
    let kernel: IpAddr = "10.98.0.1".parse().unwrap();
    let local: IpAddr = "10.98.0.2".parse().unwrap();
    let device = TunConfig {
        name: "synsmol0".into(),
        kernel_addr: kernel,
        prefix: 24,
        mtu: 1500,
    };
    let (stack, driver) = Stack::tun(&device, local, StackConfig::default()).expect("create TUN");
    smol::spawn(driver).detach();
    let listener = stack.bind_addr(SocketAddr::new(local, 7000)).unwrap();
    smol::spawn(async move {
        loop {
            let (s, _) = listener.accept().await.unwrap();
            smol::spawn(async move {
                futures_lite::io::copy(&s, &mut &s).await.unwrap();
                s.shutdown_write().unwrap();
            })
            .detach();
        }
    })
    .detach();

    // 1. A kernel TCP client against synack's echo server: 1 MB each way.
    let data = synack_testkit::pattern(7, 1_000_000);
    let sent = data.clone();
    let back = smol::unblock(move || {
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
    .await;
    assert!(
        back == data,
        "echo over TUN differs ({} bytes back)",
        back.len()
    );

    // 2. The kernel connecting to a port nobody listens on is refused.
    let refused = smol::unblock(move || {
        std::net::TcpStream::connect_timeout(&SocketAddr::new(local, 7001), Duration::from_secs(5))
            .unwrap_err()
            .kind()
    })
    .await;
    assert_eq!(refused, ErrorKind::ConnectionRefused);

    // 3. synack connecting to a kernel listener.
    let kernel_listener = std::net::TcpListener::bind(SocketAddr::new(kernel, 7002)).unwrap();
    let server = smol::unblock(move || {
        let (mut s, _) = kernel_listener.accept().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        s.write_all(&(got.len() as u64).to_be_bytes()).unwrap();
        got
    });
    let mut c = stack.connect(SocketAddr::new(kernel, 7002)).await.unwrap();
    let upload = synack_testkit::pattern(8, 300_000);
    c.write_all(&upload).await.unwrap();
    c.close().await.unwrap();
    let mut count = [0u8; 8];
    c.read_exact(&mut count).await.unwrap();
    assert_eq!(u64::from_be_bytes(count), upload.len() as u64);
    assert!(server.await == upload);
}
