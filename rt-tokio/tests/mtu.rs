//! A stack's connection defaults follow its link's MTU.

mod common;

use synack_tokio::link::{PacketLink, Udp};
use synack_tokio::{Stack, StackConfig};

#[tokio::test]
async fn the_send_buffer_holds_64_packets_of_the_links_mtu() {
    let default = StackConfig::default().endpoint.conn.send_buffer;
    // Loopback's own MTU (64 KiB on Linux): 64 packets are more than the
    // default buffer.
    let link = Udp::bind(common::loopback()).unwrap();
    let mtu = link.mtu();
    assert!(64 * mtu > default, "loopback MTU {mtu}");
    let stack = Stack::new(link, StackConfig::default()).unwrap();
    let socket = stack.socket();
    assert_eq!(socket.config().mtu, mtu);
    assert_eq!(socket.config().send_buffer, 64 * mtu);
    // An Ethernet-sized MTU keeps the default.
    let link = Udp::bind(common::loopback()).unwrap().with_mtu(1492);
    let stack = Stack::new(link, StackConfig::default()).unwrap();
    assert_eq!(stack.socket().config().send_buffer, default);
    assert_eq!(stack.socket().config().mtu, 1492);
}
