//! The simulator's own behaviour: per-flow RTTs, scripted link changes,
//! queues, captures and the metrics time series.

use pcap_file::pcap::PcapReader;
use synack_core::Duration;
use synack_sim::{
    CaptureSpec, FlowSpec, HostModel, LinkAction, QueueLimit, ScriptedEvent, SimConfig, Simulation,
    run,
};

fn bulk(bytes: u64) -> SimConfig {
    SimConfig {
        flows: vec![FlowSpec::bulk(bytes)],
        ..SimConfig::default()
    }
}

fn ms(d: Option<f64>) -> f64 {
    d.expect("measured")
}

#[test]
fn a_batching_host_takes_arrivals_in_batches_and_an_ideal_one_alone() {
    let fast_path = |host| {
        let mut cfg = bulk(5_000_000);
        cfg.link.rate_bps = 10_000_000_000;
        cfg.link.rtt = Duration::from_micros(100);
        cfg.host = host;
        cfg
    };
    let ideal = run(fast_path(HostModel::default())).unwrap();
    assert!(ideal.summary.flows[0].data_intact);
    let (packets, batches) = ideal.handed_in;
    assert!(packets > 3_000, "{packets}");
    assert_eq!(packets, batches);
    let host = HostModel {
        receive_batch: 8,
        ..HostModel::TOKIO
    };
    let batched = run(fast_path(host)).unwrap();
    assert!(batched.summary.flows[0].data_intact);
    let (packets, batches) = batched.handed_in;
    // A 10-packet burst arrives in 12 µs, well inside the 20 µs the host
    // lets arrivals gather: most batches are full.
    assert!(
        packets >= 3 * batches,
        "{packets} packets in {batches} batches"
    );
    assert!(
        packets <= 8 * batches,
        "{packets} packets in {batches} batches"
    );
}

#[test]
fn each_flow_sees_the_base_rtt_plus_its_own() {
    let mut cfg = bulk(200_000);
    cfg.link.rtt = Duration::from_millis(30);
    cfg.flows = vec![
        FlowSpec::bulk(200_000),
        FlowSpec {
            extra_rtt: Duration::from_millis(70),
            ..FlowSpec::bulk(200_000)
        },
    ];
    let r = run(cfg).unwrap();
    let a = ms(r.summary.flows[0].min_rtt_ms);
    let b = ms(r.summary.flows[1].min_rtt_ms);
    // Propagation plus at most a few packets' serialisation at 100 Mbit/s.
    assert!((30.0..31.0).contains(&a), "{a}");
    assert!((100.0..101.0).contains(&b), "{b}");
}

#[test]
fn a_rate_change_shows_in_goodput_and_utilisation() {
    let base = {
        let mut cfg = bulk(u64::MAX);
        cfg.duration = Duration::from_secs(20);
        cfg.link.rate_bps = 20_000_000;
        cfg
    };
    let full = run(base.clone()).unwrap();
    let mut halved = base;
    halved.events = vec![ScriptedEvent {
        at: Duration::from_secs(10),
        action: LinkAction::SetRate(10_000_000),
    }];
    let half = run(halved).unwrap();
    let (g_full, g_half) = (
        full.summary.flows[0].goodput_bps,
        half.summary.flows[0].goodput_bps,
    );
    // 20 Mbit/s throughout vs 20 then 10: about three quarters.
    let ratio = g_half / g_full;
    assert!((0.65..0.85).contains(&ratio), "{g_half} / {g_full}");
    // Utilisation is against the capacity actually offered.
    assert!(
        half.summary.link_utilization > 0.8,
        "{}",
        half.summary.link_utilization
    );
}

#[test]
fn a_delay_change_shows_in_the_srtt() {
    let mut cfg = bulk(u64::MAX);
    cfg.duration = Duration::from_secs(10);
    cfg.link.rate_bps = 10_000_000;
    cfg.link.queue = QueueLimit::Packets(5);
    cfg.events = vec![ScriptedEvent {
        at: Duration::from_secs(5),
        // 20 ms one way becomes 100 ms.
        action: LinkAction::SetDelay(Duration::from_millis(100)),
    }];
    let r = run(cfg).unwrap();
    let series = &r.flows[0].series;
    let before = series.iter().rev().find(|s| s.t < 5.0).unwrap();
    let after = series.last().unwrap();
    assert!(ms(before.srtt_ms) < 60.0, "{before:?}");
    assert!(ms(after.srtt_ms) > 190.0, "{after:?}");
}

#[test]
fn down_then_up_stalls_and_resumes() {
    let mut cfg = bulk(5_000_000);
    cfg.events = vec![
        ScriptedEvent {
            at: Duration::from_millis(500),
            action: LinkAction::Down,
        },
        ScriptedEvent {
            at: Duration::from_millis(2500),
            action: LinkAction::Up,
        },
    ];
    let r = run(cfg).unwrap();
    let f = &r.summary.flows[0];
    assert!(f.data_intact);
    assert!(f.rto_timeouts >= 1);
    assert!(r.links[0].dropped_down + r.links[1].dropped_down > 0);
    // Nothing is delivered while the link is down.
    let series = &r.flows[0].series;
    let at = |t: f64| series.iter().rev().find(|s| s.t <= t).unwrap().delivered;
    assert_eq!(at(0.7), at(2.4));
}

#[test]
fn drop_tail_queues_in_packets_and_bytes_hold_their_limits() {
    for (queue, limit) in [
        (QueueLimit::Packets(10), 10 * 1500),
        (QueueLimit::Bytes(30_000), 30_000),
    ] {
        let mut cfg = bulk(3_000_000);
        cfg.link.queue = queue;
        let r = run(cfg).unwrap();
        assert!(r.summary.flows[0].data_intact);
        assert!(
            r.links[0].dropped_queue > 0,
            "{queue:?}: slow start overflows it"
        );
        assert!(
            r.links[0].max_queue_bytes <= limit as u64,
            "{queue:?}: {:?}",
            r.links[0]
        );
    }
}

#[test]
fn captures_hold_every_packet_each_host_saw() {
    let mut cfg = bulk(100_000);
    cfg.capture = Some(CaptureSpec::default());
    let r = run(cfg).unwrap();
    let names: Vec<&str> = r.captures.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["server", "client1"]);
    let count = |bytes: &[u8]| {
        let mut reader = PcapReader::new(bytes).unwrap();
        let mut n = 0;
        let mut last = std::time::Duration::ZERO;
        while let Some(p) = reader.next_packet() {
            let p = p.unwrap();
            assert!(p.timestamp >= last, "timestamps go forward");
            last = p.timestamp;
            assert_eq!(p.data[0] >> 4, 4, "raw IPv4");
            n += 1;
        }
        n
    };
    // Nothing is lost: both ends saw every packet, sent or received.
    let (server, client) = (count(&r.captures[0].1), count(&r.captures[1].1));
    assert_eq!(server, client);
    assert_eq!(server as u64, r.segments);
}

#[test]
fn a_chosen_client_isn_is_the_syns_sequence_number() {
    let mut cfg = bulk(10_000);
    cfg.capture = Some(CaptureSpec::default());
    let iss = u32::MAX - 100_000;
    cfg.flows[0].client_iss = Some(iss);
    cfg.flows[0].start = Duration::from_millis(7);
    let r = run(cfg).unwrap();
    assert!(r.summary.flows[0].data_intact);
    let (name, pcap) = &r.captures[1];
    assert_eq!(name, "client1");
    let mut reader = PcapReader::new(&pcap[..]).unwrap();
    let syn = reader.next_packet().unwrap().unwrap();
    // Raw IPv4 with a 20-byte header; the sequence number follows the
    // ports.
    let seq = u32::from_be_bytes(syn.data[24..28].try_into().unwrap());
    assert_eq!(seq, iss);
}

#[test]
fn stepping_in_pieces_gives_the_same_run() {
    let cfg = SimConfig {
        capture: Some(CaptureSpec::default()),
        ..bulk(2_000_000)
    };
    let whole = run(cfg.clone()).unwrap();
    let mut sim = Simulation::new(cfg).unwrap();
    while sim.run_until(sim.now() + Duration::from_millis(7)) {}
    let pieces = sim.finish();
    assert_eq!(whole.captures, pieces.captures);
    assert_eq!(whole.segments, pieces.segments);
}

#[test]
fn the_metrics_series_follows_the_flow() {
    let r = run(bulk(5_000_000)).unwrap();
    let s = &r.flows[0].series;
    assert!(s.len() > 20);
    assert!(
        s.windows(2)
            .all(|w| w[0].t < w[1].t && w[0].delivered <= w[1].delivered)
    );
    assert!(s.iter().any(|x| x.bytes_in_flight > 0 && x.pacing_rate > 0));
    assert!(s.iter().map(|x| x.cwnd).max().unwrap() > 100_000);
}

#[test]
fn bad_configurations_are_typed_errors() {
    let mut cfg = bulk(1);
    cfg.link.forward.duplicate = 1.5;
    assert!(matches!(
        Simulation::new(cfg).err(),
        Some(synack_sim::ConfigError::BadProbability(..))
    ));
    let mut cfg = bulk(1);
    cfg.flows.clear();
    assert_eq!(
        Simulation::new(cfg).err(),
        Some(synack_sim::ConfigError::NoFlows)
    );
    let mut cfg = bulk(1);
    cfg.link.mtu = 40;
    assert_eq!(
        Simulation::new(cfg).err(),
        Some(synack_sim::ConfigError::BadMtu(40))
    );
}
