//! The bottleneck's active queue management in whole runs: CoDel keeps a
//! deep buffer's standing queue near its target where drop-tail fills it,
//! FQ-CoDel keeps a small flow's responses quick beside a bulk flow, runs
//! repeat bit for bit, impairments still leave every byte intact, and
//! with ECN at the hosts both mark where they would drop.

use synack_core::Duration;
use synack_sim::catalogue::{deep_buffer, deep_buffer_flows};
use synack_sim::{Aqm, CaptureSpec, FlowSpec, LossModel, Report, SimConfig, run};

/// The mean of the per-sample queueing delay from `from` seconds on.
fn standing_queue_ms(r: &Report, from: f64) -> f64 {
    let late: Vec<f64> = r
        .queue_series
        .iter()
        .filter(|(t, _)| *t >= from)
        .map(|(_, d)| *d)
        .collect();
    assert!(late.len() > 10, "{} samples after {from} s", late.len());
    late.iter().sum::<f64>() / late.len() as f64
}

fn complete(r: &Report) {
    for f in &r.summary.flows {
        assert!(
            f.data_intact && f.error.is_none(),
            "{}: {} of {} delivered, error {:?}",
            r.summary.aqm,
            f.bytes_delivered,
            f.bytes_sent_app,
            f.error
        );
    }
}

#[test]
fn codel_keeps_a_deep_buffers_standing_queue_near_target() {
    let tail = run(deep_buffer(Aqm::DropTail, 50_000_000)).unwrap();
    let codel = run(deep_buffer(Aqm::codel(), 50_000_000)).unwrap();
    complete(&tail);
    complete(&codel);
    let (t, c) = (&tail.summary, &codel.summary);
    assert_eq!((t.aqm.as_str(), c.aqm.as_str()), ("droptail", "codel"));
    // Drop-tail: CUBIC fills the 200 ms (5 BDP) queue.
    assert!(
        t.queue_delay_ms_p99 > 150.0,
        "drop-tail p99 {}",
        t.queue_delay_ms_p99
    );
    assert!(
        t.queue_delay_ms_mean > 100.0,
        "drop-tail mean {}",
        t.queue_delay_ms_mean
    );
    // CoDel: only slow start's overshoot queues long (CoDel waits an
    // interval before its first drop); afterwards the queue stays near
    // the 5 ms target.
    assert!(
        c.queue_delay_ms_p99 < 0.75 * t.queue_delay_ms_p99,
        "p99 {} against drop-tail's {}",
        c.queue_delay_ms_p99,
        t.queue_delay_ms_p99
    );
    assert!(
        c.queue_delay_ms_mean < t.queue_delay_ms_mean / 5.0,
        "mean {} against drop-tail's {}",
        c.queue_delay_ms_mean,
        t.queue_delay_ms_mean
    );
    let standing = standing_queue_ms(&codel, 2.0);
    assert!(standing < 10.0, "CoDel's queue after 2 s: {standing} ms");
    assert!(standing_queue_ms(&tail, 2.0) > 100.0);
    // CoDel dropped at dequeue, never for a full queue; drop-tail the
    // other way round.
    assert!(codel.links[0].dropped_aqm > 0 && codel.links[0].dropped_queue == 0);
    assert!(tail.links[0].dropped_aqm == 0 && tail.links[0].dropped_queue > 0);
    // The link stays busy enough: CoDel costs little throughput.
    assert!(
        c.link_utilization > 0.85,
        "utilisation {}",
        c.link_utilization
    );
}

#[test]
fn fq_codel_keeps_a_small_flows_latency_apart_from_a_bulk_flows_queue() {
    let tail = run(deep_buffer_flows(Aqm::DropTail)).unwrap();
    let fq = run(deep_buffer_flows(Aqm::fq_codel())).unwrap();
    complete(&tail);
    complete(&fq);
    let latency = |r: &Report| r.summary.flows[1].latency.expect("requests answered");
    let (t, f) = (latency(&tail), latency(&fq));
    assert_eq!((t.count, f.count), (40, 40));
    // Behind drop-tail, each request and response waits in the bulk
    // flow's queue; FQ-CoDel serves the sparse flow first, so a response
    // takes about the 40 ms path RTT (none more than two).
    assert!(t.p50_ms > 150.0, "drop-tail {t:?}");
    assert!(f.p50_ms < 50.0 && f.p99_ms < 100.0, "fq-codel {f:?}");
    assert!(f.p99_ms < t.p50_ms / 2.0, "fq-codel {f:?} drop-tail {t:?}");
    // The bulk flow still gets the link.
    assert!(
        fq.summary.link_utilization > 0.85,
        "{}",
        fq.summary.link_utilization
    );
}

#[test]
fn codel_alone_does_not_isolate_flows() {
    // The same two flows under plain CoDel share one FIFO: responses wait
    // behind the bulk flow's slow-start overshoot (CoDel needs a few
    // intervals to drain it) and its standing queue, which CoDel keeps
    // short but not empty; FQ-CoDel serves them past both.
    let codel = run(deep_buffer_flows(Aqm::codel())).unwrap();
    let fq = run(deep_buffer_flows(Aqm::fq_codel())).unwrap();
    complete(&codel);
    let (c, f) = (
        codel.summary.flows[1].latency.unwrap(),
        fq.summary.flows[1].latency.unwrap(),
    );
    assert!(c.mean_ms > f.mean_ms, "codel {c:?} fq-codel {f:?}");
    assert!(c.p99_ms > 1.5 * f.p99_ms, "codel {c:?} fq-codel {f:?}");
}

fn captured(cfg: &SimConfig) -> Report {
    let mut cfg = cfg.clone();
    cfg.capture = Some(CaptureSpec::default());
    run(cfg).unwrap()
}

#[test]
fn aqm_runs_repeat_bit_for_bit() {
    for aqm in [Aqm::codel(), Aqm::fq_codel()] {
        let mut cfg = deep_buffer(aqm, 3_000_000);
        cfg.flows = vec![FlowSpec::bulk(3_000_000); 3];
        cfg.link.forward.loss = LossModel::Bernoulli(0.005);
        let (a, b) = (captured(&cfg), captured(&cfg));
        assert!(!a.captures.is_empty());
        assert!(a.captures == b.captures, "{}: captures differ", aqm.name());
        assert_eq!(a.queue_delay, b.queue_delay);
        assert_eq!(a.links, b.links);
        cfg.seed = 2;
        let c = captured(&cfg);
        assert!(
            a.captures != c.captures,
            "{}: the seed changes nothing",
            aqm.name()
        );
    }
}

#[test]
fn impairments_under_aqm_leave_every_byte_intact() {
    for aqm in [Aqm::codel(), Aqm::fq_codel()] {
        let mut cfg = deep_buffer(aqm, 2_000_000);
        cfg.flows = vec![FlowSpec::bulk(2_000_000); 2];
        for d in [&mut cfg.link.forward, &mut cfg.link.reverse] {
            d.loss = LossModel::Bernoulli(0.01);
            d.duplicate = 0.01;
            d.corrupt = 0.005;
            d.reorder = 0.01;
            d.reorder_delay = Duration::from_millis(10);
        }
        let r = run(cfg).unwrap();
        complete(&r);
        let l = &r.links[0];
        assert!(
            l.duplicated > 0 && l.corrupted > 0 && l.dropped_loss > 0,
            "{l:?}"
        );
        assert!(r.malformed > 0);
    }
}

/// Two ECN flows of `bytes` each under CoDel marking, or the same run with
/// the hosts' ECN off (the discipline still marking what is ECN-capable:
/// nothing then).
fn ecn_run(hosts_ecn: bool, aqm: Aqm, bytes: u64) -> Report {
    let mut cfg = synack_sim::catalogue::ecn_codel(Duration::from_secs(60));
    cfg.link.aqm = aqm.with_ecn(true);
    for f in &mut cfg.flows {
        f.app = synack_sim::AppSpec::Bulk { bytes, pause: None };
    }
    if !hosts_ecn {
        cfg.client.ecn = synack_core::conn::EcnMode::Off;
    }
    run(cfg).unwrap()
}

#[test]
fn with_ecn_codel_marks_instead_of_dropping_and_nothing_is_resent() {
    let marked = ecn_run(true, Aqm::codel(), 20_000_000);
    let dropped = ecn_run(false, Aqm::codel(), 20_000_000);
    complete(&marked);
    complete(&dropped);
    let (m, d) = (&marked.summary, &dropped.summary);
    assert!(
        m.ecn_marks > 0 && marked.links[0].dropped_aqm == 0,
        "{}",
        m.to_json()
    );
    for f in &m.flows {
        assert!(f.ecn && f.ce_marks > 0 && f.ecn_responses > 0);
        assert_eq!(f.retransmitted_segments, 0);
    }
    // The marks stood in for the drops CoDel makes without ECN, whose
    // losses are resent.
    assert_eq!(d.ecn_marks, 0);
    assert!(dropped.links[0].dropped_aqm > 0);
    assert!(
        d.flows
            .iter()
            .all(|f| !f.ecn && f.retransmitted_segments > 0)
    );
}

#[test]
fn fq_codel_marks_ecn_flows_too() {
    let r = ecn_run(true, Aqm::fq_codel(), 10_000_000);
    complete(&r);
    assert!(r.summary.ecn_marks > 0 && r.links[0].dropped_aqm == 0);
    assert!(
        r.summary
            .flows
            .iter()
            .all(|f| f.retransmitted_segments == 0)
    );
}
