//! ECN over UDP encapsulation: the segments' codepoint rides in the outer
//! IP header, so a router that marks it on the path (here a relay between
//! the two stacks) reaches the inner TCP, which echoes it and slows down.

mod common;

use std::io::IoSliceMut;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::{loopback, within};
use synack_testkit::pattern;
use synack_tokio::link::Udp;
use synack_tokio::synack_core::conn::EcnMode;
use synack_tokio::synack_core::wire::EcnCodepoint;
use synack_tokio::synack_link::udp::{Received, UdpLink};
use synack_tokio::{Stack, StackConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the relay saw go from the client to the server.
#[derive(Default)]
struct Seen {
    ect0: AtomicU64,
    not_ect: AtomicU64,
    marked: AtomicU64,
}

/// Forwards datagrams between `client` and `server` (each one alone, with
/// the codepoint it came with), marking every `every`-th ECT(0) datagram
/// from the client Congestion Experienced, until `stop`.
fn relay(
    link: UdpLink,
    client: SocketAddr,
    server: SocketAddr,
    every: u64,
    seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 65_536 * link.gro_segments().max(1)];
    while !stop.load(Ordering::Relaxed) {
        let mut out = [Received {
            from: client,
            len: 0,
            stride: 1,
            dst_ip: None,
            ecn: EcnCodepoint::NotEct,
        }];
        let mut bufs = [IoSliceMut::new(&mut buf)];
        if link.try_recv(&mut bufs, &mut out).ok() != Some(1) {
            std::thread::sleep(Duration::from_micros(50));
            continue;
        }
        let r = out[0];
        let to = if r.from == client { server } else { client };
        for datagram in buf[..r.len].chunks(r.stride) {
            let mut ecn = r.ecn;
            if r.from == client {
                let count = match ecn {
                    EcnCodepoint::Ect0 => &seen.ect0,
                    _ => &seen.not_ect,
                };
                let n = count.fetch_add(1, Ordering::Relaxed) + 1;
                if ecn == EcnCodepoint::Ect0 && n % every == 0 {
                    ecn = EcnCodepoint::Ce;
                    seen.marked.fetch_add(1, Ordering::Relaxed);
                }
            }
            let _ = link.try_send_from(None, to, datagram, None, ecn);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marks_on_the_outer_header_reach_the_inner_tcp() {
    within(60, async {
        let server = common::stack();
        let server_addr = server.udp_addr().unwrap();
        let listener = server.bind_addr(server_addr).unwrap();
        // The client asks for ECN; segments of an Ethernet-sized path.
        let udp = Udp::bind(loopback()).unwrap().with_mtu(1492);
        let client_addr = udp.local_addr();
        let routes = udp.routes();
        let mut config = StackConfig::default();
        config.endpoint.conn.ecn = EcnMode::On;
        let client = Stack::new(udp, config).unwrap();
        // Everything between them passes the relay.
        let relay_link = UdpLink::bind(loopback()).unwrap();
        routes.insert(server_addr, relay_link.local_addr().unwrap());
        let (seen, stop) = (Arc::new(Seen::default()), Arc::new(AtomicBool::new(false)));
        let relay = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || relay(relay_link, client_addr, server_addr, 150, seen, stop))
        };
        let data = pattern(3, 1_000_000);
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            let mut s = client.connect(server_addr).await.unwrap();
            s.write_all(&sent).await.unwrap();
            s.shutdown().await.unwrap();
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).await.unwrap();
            (s.negotiated().unwrap(), s.stats().unwrap(), client)
        });
        let (mut s, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert!(got == data, "the data arrives intact");
        let server_stats = s.stats().unwrap();
        s.shutdown().await.unwrap();
        let (negotiated, client_stats, _client) = writer.await.unwrap();
        stop.store(true, Ordering::Relaxed);
        relay.join().unwrap();
        assert!(negotiated.ecn && s.negotiated().unwrap().ecn);
        // The client's data left ECT(0) in the outer header; its SYN and
        // pure ACKs did not.
        let (ect0, not_ect, marked) = (
            seen.ect0.load(Ordering::Relaxed),
            seen.not_ect.load(Ordering::Relaxed),
            seen.marked.load(Ordering::Relaxed),
        );
        assert!(
            ect0 > 500 && not_ect >= 1 && marked > 0,
            "{ect0} {not_ect} {marked}"
        );
        // The server read the marks and echoed them; the client answered.
        assert_eq!(server_stats.ecn.ce_received, marked);
        assert!(client_stats.ecn.ece_received > 0, "{:?}", client_stats.ecn);
        assert!(client_stats.ecn.responses > 0, "{:?}", client_stats.ecn);
        assert_eq!(client_stats.retransmitted_segments, 0);
    })
    .await;
}
