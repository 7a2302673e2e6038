//! smoltcp sending to synack over in-memory queues, in virtual time.
//!
//! smoltcp 0.14 is a sender that counts duplicate ACKs (RFC 5681 §3.2: the
//! third one triggers fast retransmit) and ignores SACK; its retransmission
//! timeout is at least 1 s. synack's host here works as the drivers do:
//! it hands in every packet that has arrived, then drains `poll_transmit`.
//! When one segment of a burst is lost, the rest arrive as one batch, and
//! only one duplicate ACK per out-of-order segment (RFC 5681 §4.2) lets
//! smoltcp repair the loss within a round trip instead of after its RTO.

use std::collections::VecDeque;

use smoltcp::iface::{Config as IfaceConfig, Interface, SocketSet, SocketStorage};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::Instant as SmolInstant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use synack_core::conn::Config;
use synack_core::wire::{ChecksumMode, parse_tcp_in_ip};
use synack_core::{Duration, Endpoint, EndpointConfig, Instant};

/// smoltcp's side of the wire: packets to read, packets written.
#[derive(Default)]
struct Queues {
    rx: VecDeque<Vec<u8>>,
    tx: Vec<Vec<u8>>,
}

struct Rx(Vec<u8>);

struct Tx<'a>(&'a mut Vec<Vec<u8>>);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut packet = vec![0; len];
        let r = f(&mut packet);
        self.0.push(packet);
        r
    }
}

impl Device for Queues {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _: SmolInstant) -> Option<(Rx, Tx<'_>)> {
        let packet = self.rx.pop_front()?;
        Some((Rx(packet), Tx(&mut self.tx)))
    }

    fn transmit(&mut self, _: SmolInstant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = 1500;
        caps
    }
}

/// Packets in flight one way, with their arrival times.
#[derive(Default)]
struct Wire(VecDeque<(Instant, Vec<u8>)>);

impl Wire {
    fn arrived(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while self.0.front().is_some_and(|(at, _)| *at <= now) {
            out.push(self.0.pop_front().unwrap().1);
        }
        out
    }

    fn next(&self) -> Option<Instant> {
        self.0.front().map(|(at, _)| *at)
    }
}

const MSS: usize = 1460;
const ONE_WAY: Duration = Duration::from_millis(10);

/// A data segment smoltcp sent: (when, sequence number, length).
type Sent = (Instant, u32, usize);

/// Runs smoltcp → synack: one warm-up segment, then a burst of `burst`
/// full segments whose first is lost. Returns every data segment smoltcp
/// sent, the size of the largest batch synack's host handed in before
/// transmitting, and whether synack read everything intact.
fn run(burst: usize) -> (Vec<Sent>, usize, bool) {
    let warm_up = MSS;
    let data: Vec<u8> = (0..warm_up + burst * MSS)
        .map(|i| (i * 7 % 251) as u8)
        .collect();

    // synack: an endpoint listening on 10.0.0.2:80, without SACK, as the
    // sender ignores it anyway.
    let mut conn = Config::default();
    conn.sack = false;
    let mut ep_config = EndpointConfig::new([9; 16]);
    ep_config.conn = conn;
    let mut ep = Endpoint::new(ep_config).unwrap();
    let listener = ep.listen("10.0.0.2:80".parse().unwrap()).expect("listener");

    // smoltcp: 10.0.0.1 connecting from port 40000.
    let mut dev = Queues::default();
    let smol_now = |t: Instant| SmolInstant::from_micros(t.total_micros() as i64);
    let mut now = Instant::from_millis(1000);
    let mut iface = Interface::new(
        IfaceConfig::new(HardwareAddress::Ip),
        &mut dev,
        smol_now(now),
    );
    iface.update_ip_addrs(|addrs| {
        addrs
            .push(IpCidr::new(IpAddress::v4(10, 0, 0, 1), 24))
            .unwrap();
    });
    let mut rx_storage = vec![0u8; 4096];
    let mut tx_storage = vec![0u8; 256 * 1024];
    let socket = tcp::Socket::new(
        tcp::SocketBuffer::new(&mut rx_storage[..]),
        tcp::SocketBuffer::new(&mut tx_storage[..]),
    );
    let mut storage: [SocketStorage; 1] = Default::default();
    let mut sockets = SocketSet::new(&mut storage[..]);
    let handle = sockets.add(socket);
    sockets
        .get_mut::<tcp::Socket>(handle)
        .connect(iface.context(), (IpAddress::v4(10, 0, 0, 2), 80), 40000)
        .unwrap();

    let mut to_synack = Wire::default();
    let mut to_smol = Wire::default();
    let mut sent: Vec<Sent> = Vec::new();
    let mut written = 0;
    let mut got = Vec::new();
    let mut conn_handle = None;
    let mut largest_batch = 0;
    let mut buf = vec![0u8; 1500];
    let end = now + Duration::from_secs(10);

    while got.len() < data.len() && now < end {
        // smoltcp's host: take what arrived, let the socket work, send.
        dev.rx.extend(to_smol.arrived(now));
        iface.poll(smol_now(now), &mut dev, &mut sockets);
        let socket = sockets.get_mut::<tcp::Socket>(handle);
        // The warm-up segment first; the burst once it is acknowledged, so
        // the burst goes out under synack's full (scaled) window.
        let limit = if written < warm_up || socket.send_queue() > 0 {
            warm_up
        } else {
            data.len()
        };
        if socket.can_send() && written < limit {
            written += socket.send_slice(&data[written..limit]).unwrap();
        }
        iface.poll(smol_now(now), &mut dev, &mut sockets);
        for packet in dev.tx.drain(..) {
            let (_, seg) = parse_tcp_in_ip(&packet, ChecksumMode::Full).unwrap();
            let mut lose = false;
            if !seg.payload.is_empty() {
                // The burst's first segment (after the warm-up's), the
                // first time it is sent.
                lose = sent.len() == 1;
                sent.push((now, seg.seq.0, seg.payload.len()));
            }
            if !lose {
                to_synack.0.push_back((now + ONE_WAY, packet));
            }
        }

        // synack's host: hand in the whole batch, then transmit.
        let batch = to_synack.arrived(now);
        largest_batch = largest_batch.max(batch.len());
        for packet in &batch {
            ep.handle_ip_packet(now, packet);
        }
        if ep.poll_timeout().is_some_and(|t| t <= now) {
            ep.handle_timeout(now);
        }
        while ep.poll_event().is_some() {}
        if conn_handle.is_none() {
            conn_handle = ep.accept(listener);
        }
        if let Some(h) = conn_handle {
            let c = ep.connection_mut(h).unwrap();
            let mut chunk = [0u8; 65536];
            while let Ok(n) = c.read(now, &mut chunk) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&chunk[..n]);
            }
        }
        while let Some(t) = ep.poll_transmit_ip(now, &mut buf) {
            to_smol.0.push_back((now + ONE_WAY, buf[..t.len].to_vec()));
        }

        // On to the next thing that happens.
        let smol_next = iface
            .poll_delay(smol_now(now), &sockets)
            .map(|d| now + Duration::from_micros(d.total_micros()));
        let next = [
            to_synack.next(),
            to_smol.next(),
            ep.poll_timeout(),
            smol_next,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(end);
        now = next.max(now + Duration::from_micros(1));
    }
    (sent, largest_batch, got == data)
}

#[test]
fn smoltcp_repairs_a_loss_in_a_batched_burst_by_fast_retransmit() {
    let burst = 65;
    let (sent, largest_batch, intact) = run(burst);
    assert!(intact, "synack read the whole stream intact");
    // The lost segment: the burst's first. Its second transmission must
    // follow within a few round trips (fast retransmit after the third
    // duplicate ACK), not after smoltcp's RTO of at least 1 s.
    let lost = sent[1];
    let resent = sent
        .iter()
        .find(|s| s.1 == lost.1 && s.0 > lost.0)
        .expect("the lost segment was sent again");
    let after = resent.0.saturating_duration_since(lost.0);
    assert!(
        after <= Duration::from_millis(60),
        "resent {} ms after the loss: by RTO, not fast retransmit",
        after.total_micros() / 1000
    );
    assert!(
        largest_batch >= burst - 1,
        "the burst behind the loss reached synack as one batch"
    );
    assert_eq!(
        sent.len(),
        1 + burst + 1,
        "one retransmission, nothing else resent"
    );
}
