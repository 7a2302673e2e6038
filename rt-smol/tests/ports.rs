//! Port 0: a listener bound to port 0 gets a port it is reached on.

mod common;

use common::{loopback, stack, within};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use synack_smol::link::Udp;
use synack_smol::{Stack, StackConfig};

#[test]
fn a_port_0_listener_on_udp_is_reached_at_its_local_addr() {
    smol::block_on(within(10, async {
        let server = stack();
        let client = stack();
        let listener = server.bind_addr(loopback()).unwrap();
        let addr = listener.local_addr().unwrap();
        // On a UDP link the first port-0 listener takes the socket's own
        // port: the one TCP port other stacks reach with no route set up.
        assert_eq!(addr, server.udp_addr().unwrap());
        let echo = smol::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
        });
        let mut stream = client.connect(addr).await.unwrap();
        stream.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        echo.await;
    }));
}

#[test]
fn a_second_port_0_listener_gets_an_ephemeral_port_reached_by_a_route() {
    smol::block_on(within(10, async {
        let server = stack();
        let _first = server.bind_addr(loopback()).unwrap();
        let second = server.bind_addr(loopback()).unwrap();
        let addr = second.local_addr().unwrap();
        let (min, max) = StackConfig::default().endpoint.ephemeral_ports;
        assert!((min..=max).contains(&addr.port()), "{addr}");
        assert_ne!(addr, server.udp_addr().unwrap());
        let link = Udp::bind(loopback()).unwrap();
        link.routes().insert(addr, server.udp_addr().unwrap());
        let (client, driver) = Stack::new(link, StackConfig::default()).unwrap();
        smol::spawn(driver).detach();
        let accept = smol::spawn(async move { second.accept().await.map(|(_, peer)| peer) });
        let stream = client.connect(addr).await.unwrap();
        assert_eq!(accept.await.unwrap(), stream.local_addr().unwrap());
    }));
}
