//! An `Impaired` link's counters stay readable through a handle taken
//! before the stack owns the link.

mod common;

use common::{loopback, within};
use synack_testkit::pattern;
use synack_tokio::link::{Impaired, Udp};
use synack_tokio::synack_link::impair::{ImpairmentConfig, LossModel};
use synack_tokio::{Stack, StackConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_are_read_through_the_handle_after_the_stack_owns_the_link() {
    within(60, async {
        // An Ethernet-sized MTU (loopback's own would carry 200 KB in
        // four segments): the peer sends segments of at most 1452 bytes.
        let udp = Udp::bind(loopback()).unwrap().with_mtu(1492);
        let addr = udp.local_addr();
        let config = ImpairmentConfig {
            loss: LossModel::Bernoulli(0.1),
            ..ImpairmentConfig::default()
        };
        let link = Impaired::new(udp, config, 7);
        let stats = link.stats_handle();
        let lossy = Stack::new(
            link,
            StackConfig {
                local_ip: Some(addr.ip()),
                ..StackConfig::default()
            },
        )
        .unwrap();
        let plain = common::stack();
        let listener = lossy.bind_addr(addr).unwrap();
        let data = pattern(1, 200_000);
        let sent = data.clone();
        let peer = plain.udp_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut s = plain.connect(addr).await.unwrap();
            s.write_all(&sent).await.unwrap();
            s.shutdown().await.unwrap();
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).await.unwrap();
            plain
        });
        let (mut s, from) = listener.accept().await.unwrap();
        assert_eq!(from.ip(), peer.ip());
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert!(got == data, "the data arrives intact through 10 % loss");
        s.shutdown().await.unwrap();
        let _plain = client.await.unwrap();
        let (inbound, outbound) = (stats.inbound(), stats.outbound());
        // ~140 segments in, their ACKs out: a tenth of each is lost.
        assert!(inbound.packets >= 100, "{inbound:?}");
        assert!(outbound.packets >= 20, "{outbound:?}");
        for s in [inbound, outbound] {
            assert!(s.dropped > 0 && s.dropped < s.packets, "{s:?}");
            let share = s.dropped as f64 / s.packets as f64;
            assert!((0.02..0.3).contains(&share), "{s:?}");
            assert_eq!((s.duplicated, s.reordered, s.corrupted), (0, 0, 0));
        }
        assert_eq!(stats.overflow(), 0);
    })
    .await;
}
