//! Connection set-up: options, simultaneous open, refusal, retries, old duplicates, API misuse.

use super::harness::*;

#[test]
fn handshake_negotiates_every_option() {
    let mut p = Pair::new();
    p.established();
    for conn in [&p.a, &p.b] {
        let n = conn.negotiated();
        assert!(n.window_scaling && n.sack && n.timestamps);
        assert_eq!(n.peer_mss, 1460);
        assert_eq!((n.snd_shift, n.rcv_shift), (7, 7));
        // 1460 less 12 bytes of timestamps.
        assert_eq!(conn.stats().mss, 1448);
    }
    assert_eq!(p.events_a.first(), Some(&Event::Connected));
    assert_eq!(p.events_b.first(), Some(&Event::Connected));
    // SYN, SYN-ACK, ACK.
    let flags: Vec<_> = p.log.iter().map(|l| l.1).collect();
    assert_eq!(
        flags[..3],
        [TcpFlags::SYN, TcpFlags::SYN | TcpFlags::ACK, TcpFlags::ACK]
    );
    // The SYN's RTT sample: 20 ms.
    assert_eq!(p.a.stats().srtt, Some(Duration::from_millis(20)));
}

#[test]
fn handshake_with_a_peer_that_offers_nothing() {
    let bare = Config {
        window_scaling: false,
        sack: false,
        timestamps: false,
        mtu: 576,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&Config::default(), &bare, SeqNumber(5));
    p.established();
    let n = p.a.negotiated();
    assert!(!n.window_scaling && !n.sack && !n.timestamps);
    assert_eq!((n.snd_shift, n.rcv_shift), (0, 0));
    assert_eq!(n.peer_mss, 536);
    assert_eq!(p.a.stats().mss, 536);
    let len = if cfg!(miri) { 10_000 } else { 200_000 };
    transfer(
        &mut p,
        &pattern(len),
        &pattern(3000),
        Duration::from_secs(60),
    );
}

#[test]
fn simultaneous_open() {
    let c = Config::default();
    let now = Instant::from_secs(1);
    let mut p = Pair::new();
    p.b = Connection::connect(&c, FourTuple::new(B_ADDR, A_ADDR), SeqNumber(9000), now).unwrap();
    p.established();
    let syn_acks = p
        .log
        .iter()
        .filter(|l| l.1 == TcpFlags::SYN | TcpFlags::ACK)
        .count();
    assert_eq!(
        syn_acks, 2,
        "each side answers the other's SYN with a SYN-ACK"
    );
    let len = if cfg!(miri) { 4_000 } else { 10_000 };
    transfer(
        &mut p,
        &pattern(len),
        &pattern(len),
        Duration::from_secs(10),
    );
}

#[test]
fn connection_refused() {
    let mut p = Pair::new();
    // b is a closed port: it answers the SYN with RST+ACK.
    p.b = Connection::new(&Config::default(), FourTuple::new(B_ADDR, A_ADDR), p.now);
    assert!(p.run_until(Duration::from_secs(1), |p| p.a.state() == State::Closed));
    assert_eq!(p.a.close_reason(), Some(CloseReason::Refused));
    assert!(p.events_a.contains(&Event::Closed(CloseReason::Refused)));
}

#[test]
fn syn_retries_then_times_out() {
    let mut p = Pair::new();
    p.set_filter(|_, _, _| Fate::Drop);
    assert!(p.run_until(Duration::from_secs(400), |p| p.a.state() == State::Closed));
    assert_eq!(p.a.close_reason(), Some(CloseReason::TimedOut));
    let syns = p.log.iter().filter(|l| l.1 == TcpFlags::SYN).count();
    assert_eq!(syns, 8, "the first SYN and seven retries");
    // RFC 9293 §3.8.3 (MUST-23): at least 3 minutes of trying.
    assert!(p.now >= Instant::from_secs(1 + 180), "gave up at {}", p.now);
}

#[test]
fn old_duplicate_syn_is_recovered_from() {
    // RFC 9293 Figure 8: an old SYN reaches the listener first; its
    // SYN-ACK is answered with a reset and the listener returns to LISTEN.
    let mut p = Pair::new();
    let old_syn = TcpRepr {
        src_port: A_ADDR.port(),
        dst_port: B_ADDR.port(),
        seq: SeqNumber(90_000),
        flags: TcpFlags::SYN,
        window: 1000,
        ..TcpRepr::default()
    };
    p.inject(true, &old_syn);
    assert_eq!(p.b.state(), State::SynReceived);
    // a's own SYN goes out; the listener's SYN-ACK for the old one reaches
    // a in SYN-SENT with an unacceptable ACK, so a resets it.
    p.established();
    assert!(
        p.log
            .iter()
            .any(|l| !l.0 && l.1 == TcpFlags::SYN | TcpFlags::ACK)
    );
    assert!(p.log.iter().any(|l| l.0 && l.1.contains(TcpFlags::RST)));
    transfer(&mut p, b"fine", b"ok", Duration::from_secs(5));
}

#[test]
fn syn_without_mss_assumes_the_default() {
    // RFC 9293 §3.7.1 (MUST-15): 536 for IPv4, 1220 for IPv6.
    let now = Instant::from_secs(1);
    let syn = syn_with(TcpOptions::default());
    let c = Config::default();
    let v4 =
        Connection::accept(&c, FourTuple::new(B_ADDR, A_ADDR), &syn, SeqNumber(1), now).unwrap();
    assert_eq!(v4.negotiated().peer_mss, 536);
    let (b6, a6) = (
        SocketAddr::new(IpAddr::V6(core::net::Ipv6Addr::LOCALHOST), 80),
        SocketAddr::new(
            IpAddr::V6(core::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
            40000,
        ),
    );
    let v6 = Connection::accept(&c, FourTuple::new(b6, a6), &syn, SeqNumber(1), now).unwrap();
    assert_eq!(v6.negotiated().peer_mss, 1220);
    assert_eq!(v6.stats().mss, 1220);
}

#[test]
fn mss_option_only_on_syn_segments() {
    // RFC 9293 §3.2 (MUST-65), §3.7.1 (MUST-14).
    let mut p = Pair::new();
    let mut buf = vec![0u8; 1500];
    let t = p.a.poll_transmit(p.now, &mut buf).unwrap();
    let syn =
        TcpRepr::parse_bytes(&buf[..t.len], &addrs(A_ADDR, B_ADDR), ChecksumMode::Full).unwrap();
    assert!(syn.flags.contains(TcpFlags::SYN));
    assert_eq!(syn.options.mss, Some(1460));
    p.deliver(true, &buf[..t.len]);
    p.established();
    p.a.set_nodelay(true);
    p.a.write(&pattern(4000)).unwrap();
    let mut segments = 0;
    while let Some(t) = p.a.poll_transmit(p.now, &mut buf) {
        let seg = TcpRepr::parse_bytes(&buf[..t.len], &addrs(A_ADDR, B_ADDR), ChecksumMode::Full)
            .unwrap();
        assert!(!seg.flags.contains(TcpFlags::SYN));
        assert_eq!(seg.options.mss, None);
        segments += 1;
    }
    assert!(segments >= 3);
}

#[test]
fn window_scale_above_14_is_used_as_14() {
    // RFC 7323 §2.3.
    let syn = syn_with(TcpOptions {
        window_scale: Some(15),
        ..TcpOptions::default()
    });
    let now = Instant::from_secs(1);
    let c = Connection::accept(
        &Config::default(),
        FourTuple::new(B_ADDR, A_ADDR),
        &syn,
        SeqNumber(1),
        now,
    )
    .unwrap();
    assert!(c.negotiated().window_scaling);
    assert_eq!(c.negotiated().snd_shift, 14);
}

#[test]
fn syn_sent_rejects_acks_below_the_iss() {
    // RFC 9293 §3.10.7.3: SEG.ACK =< ISS is unacceptable, however far
    // below. A reset with such an ACK does not refuse the connection.
    let mut p = Pair::new();
    p.flush();
    let iss = p.a.snd.iss;
    for below in [0u32, 1, 1000, 1 << 30] {
        let rst = TcpRepr {
            src_port: B_ADDR.port(),
            dst_port: A_ADDR.port(),
            seq: SeqNumber(5),
            ack: iss - below,
            flags: TcpFlags::RST | TcpFlags::ACK,
            ..TcpRepr::default()
        };
        p.inject(false, &rst);
        assert_eq!(p.a.state(), State::SynSent, "ACK ISS-{below}");
    }
    let syn_ack = TcpRepr {
        src_port: B_ADDR.port(),
        dst_port: A_ADDR.port(),
        seq: SeqNumber(5),
        ack: iss - 77u32,
        flags: TcpFlags::SYN | TcpFlags::ACK,
        window: 1000,
        ..TcpRepr::default()
    };
    p.inject(false, &syn_ack);
    assert_eq!(p.a.state(), State::SynSent);
    // It was answered with a reset carrying that ACK as its sequence.
    let mut buf = vec![0u8; 100];
    let t = p.a.poll_transmit(p.now, &mut buf).unwrap();
    let rst =
        TcpRepr::parse_bytes(&buf[..t.len], &addrs(A_ADDR, B_ADDR), ChecksumMode::Full).unwrap();
    assert_eq!((rst.flags, rst.seq), (TcpFlags::RST, iss - 77u32));
}

#[test]
fn listener_resets_go_to_the_sender() {
    // RFC 9293 §3.10.7.2: an ACK to a listener is answered with
    // <SEQ=SEG.ACK><CTL=RST>, sent back to where the ACK came from.
    let now = Instant::from_secs(1);
    let mut l = Connection::listen(&Config::default(), B_ADDR, isn(), now).unwrap();
    let stray = TcpRepr {
        src_port: 5555,
        dst_port: B_ADDR.port(),
        seq: SeqNumber(10),
        ack: SeqNumber(4242),
        flags: TcpFlags::ACK,
        ..TcpRepr::default()
    };
    let from = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9)), 5555);
    l.handle_segment(now, &addrs(from, B_ADDR), &stray);
    let mut buf = vec![0u8; 100];
    let t = l.poll_transmit(now, &mut buf).unwrap();
    assert_eq!(t.tuple, FourTuple::new(B_ADDR, from));
    let rst =
        TcpRepr::parse_bytes(&buf[..t.len], &addrs(B_ADDR, from), ChecksumMode::Full).unwrap();
    assert_eq!(
        (rst.flags, rst.seq, rst.dst_port),
        (TcpFlags::RST, SeqNumber(4242), 5555)
    );
    assert_eq!(l.state(), State::Listen);
}

#[test]
fn invalid_configurations_are_refused() {
    let now = Instant::from_secs(1);
    let bad = Config {
        keepalive: Some(Keepalive {
            probes: 1,
            ..Keepalive::default()
        }),
        ..Config::default()
    };
    let tuple = FourTuple::new(A_ADDR, B_ADDR);
    assert_eq!(
        Connection::connect(&bad, tuple, SeqNumber(1), now).err(),
        Some(Error::InvalidConfig(ConfigError::KeepaliveProbes))
    );
    let bad = Config {
        delayed_ack: Duration::from_millis(600),
        ..Config::default()
    };
    assert_eq!(
        Connection::listen(&bad, B_ADDR, isn(), now).err(),
        Some(Error::InvalidConfig(ConfigError::DelayedAckTooLong))
    );
}

#[test]
fn api_misuse_is_a_typed_error() {
    let now = Instant::from_secs(1);
    let mut l = Connection::listen(&Config::default(), B_ADDR, isn(), now).unwrap();
    assert_eq!(l.write(b"x"), Err(Error::InvalidState(State::Listen)));
    let mut buf = [0u8; 4];
    assert_eq!(
        l.read(now, &mut buf),
        Err(Error::InvalidState(State::Listen))
    );
    let v6 = SocketAddr::new(IpAddr::V6(core::net::Ipv6Addr::LOCALHOST), 1);
    assert_eq!(
        Connection::connect(
            &Config::default(),
            FourTuple::new(A_ADDR, v6),
            SeqNumber(1),
            now
        )
        .err(),
        Some(Error::AddressFamilyMismatch)
    );
    let mut p = Pair::new();
    p.established();
    assert_eq!(p.a.read(p.now, &mut buf), Err(Error::WouldBlock));
    p.a.shutdown().unwrap();
    assert_eq!(p.a.write(b"x"), Err(Error::SendClosed));
}

#[test]
fn a_timed_out_syn_leaves_a_three_second_rto() {
    // RFC 6298 §5.7: the SYN timed out and, without timestamps, Karn's
    // algorithm allows no sample from its acknowledgment, so data starts
    // with an RTO of 3 s.
    let no_ts = Config {
        timestamps: false,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&no_ts, &Config::default(), SeqNumber(1000));
    p.set_filter(|to_b, seg, n| {
        if to_b && seg.flags == TcpFlags::SYN && *n == 0 {
            *n = 1;
            return Fate::Drop;
        }
        Fate::Deliver
    });
    p.established();
    let syns = p.log.iter().filter(|l| l.1 == TcpFlags::SYN).count();
    assert_eq!(syns, 2, "the SYN was retransmitted once");
    assert_eq!(p.a.stats().srtt, None);
    assert_eq!(p.a.stats().rto, Duration::from_secs(3));
}
