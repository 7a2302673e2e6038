//! A check every runtime's [`Io`] must pass: the no-lost-wake-up promise
//! of [`Io::poll_io_drain`].

use std::future::poll_fn;
use std::io::{self, IoSliceMut};

use synack_driver::runtime::{Interest, Io};
use synack_link::udp::{EcnCodepoint, Received, UdpLink};

/// One batched receive into four buffers: how many datagrams it took
/// (fewer than four means the socket was left empty).
pub fn recv_batch_of_four(link: &UdpLink) -> io::Result<usize> {
    let mut bufs = [[0u8; 256]; 4];
    let mut slices: Vec<IoSliceMut<'_>> = bufs.iter_mut().map(|b| IoSliceMut::new(b)).collect();
    let from = link.local_addr()?;
    let mut out = [Received {
        from,
        len: 0,
        stride: 1,
        dst_ip: None,
        ecn: EcnCodepoint::NotEct,
    }; 4];
    link.try_recv(&mut slices, &mut out)
}

/// A receive that comes back short clears the readiness, and what arrives
/// afterwards, also while the receive is still running (the datagram sent
/// from inside the operation), wakes the next wait. Run it inside the
/// runtime whose `Io` it is, under a time limit: a lost wake-up shows as
/// a wait that never ends.
pub async fn a_drained_descriptor_wakes_for_what_arrives_after<I: Io<UdpLink>>() {
    let mut io = I::register(UdpLink::bind("127.0.0.1:0".parse().unwrap()).unwrap()).unwrap();
    let to = io.get_ref().local_addr().unwrap();
    let drains = io.get_ref().short_recv_drains();
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut queued = false;
    for round in 0..6 {
        if !queued {
            peer.send_to(b"x", to).unwrap();
        }
        let inject = round % 2 == 0;
        let got = poll_fn(|cx| {
            io.poll_io_drain(
                cx,
                Interest::Read,
                |link| {
                    let n = recv_batch_of_four(link)?;
                    if inject {
                        peer.send_to(b"y", to)?;
                    }
                    Ok(n)
                },
                |&n| drains && n < 4,
            )
        })
        .await
        .unwrap();
        assert_eq!(got, 1, "round {round}");
        queued = inject;
    }
}
