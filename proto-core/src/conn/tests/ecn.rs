//! ECN (RFC 3168): negotiation, ECT on new data only, the receiver's
//! echo until CWR, and one congestion response per window.

use super::harness::*;
use crate::cc::{
    AckInfo, CcAlgorithm, CongestionCause, CongestionControl, CongestionControlFactory,
    CongestionEvent, NewReno,
};
use crate::time::Instant;
use crate::wire::EcnCodepoint;
use std::boxed::Box;
use std::sync::{Arc, Mutex};

fn with_ecn(mode: EcnMode) -> Config {
    Config {
        ecn: mode,
        ..Config::default()
    }
}

/// An established pair: a with `a`, b with `b`.
fn pair(a: EcnMode, b: EcnMode) -> Pair {
    let mut p = Pair::with_configs(&with_ecn(a), &with_ecn(b), SeqNumber(1000));
    p.established();
    p
}

/// The flags of the first segment in the log that has `flags` set and
/// goes towards b (or a).
fn first_with(p: &Pair, to_b: bool, flags: TcpFlags) -> TcpFlags {
    p.log
        .iter()
        .find(|l| l.0 == to_b && l.1.contains(flags))
        .expect("no such segment")
        .1
}

#[test]
fn both_ends_agree_when_one_asks_and_the_other_accepts() {
    let p = pair(EcnMode::On, EcnMode::Accept);
    let syn = first_with(&p, true, TcpFlags::SYN);
    assert!(syn.contains(TcpFlags::ECE | TcpFlags::CWR), "{syn:?}");
    let syn_ack = first_with(&p, false, TcpFlags::SYN | TcpFlags::ACK);
    assert!(syn_ack.contains(TcpFlags::ECE) && !syn_ack.contains(TcpFlags::CWR));
    assert!(p.a.negotiated().ecn && p.b.negotiated().ecn);
    // Neither SYN is ECN-capable in its IP header (RFC 3168 §6.1.1).
    assert!(p.sent_ecn[..2].iter().all(|e| *e == EcnCodepoint::NotEct));
}

#[test]
fn ecn_is_off_unless_one_asks_and_the_other_accepts() {
    for (a, b) in [
        (EcnMode::On, EcnMode::Off),
        (EcnMode::Accept, EcnMode::On),
        (EcnMode::Accept, EcnMode::Accept),
        (EcnMode::Off, EcnMode::On),
    ] {
        let mut p = pair(a, b);
        let syn = first_with(&p, true, TcpFlags::SYN);
        assert_eq!(
            syn.contains(TcpFlags::ECE | TcpFlags::CWR),
            a == EcnMode::On
        );
        let syn_ack = first_with(&p, false, TcpFlags::SYN | TcpFlags::ACK);
        assert!(!syn_ack.intersects(TcpFlags::ECE | TcpFlags::CWR));
        assert!(
            !p.a.negotiated().ecn && !p.b.negotiated().ecn,
            "{a:?} {b:?}"
        );
        // Without ECN, nothing is ECN-capable.
        p.a.write(&pattern(10_000)).unwrap();
        assert!(p.run_until(Duration::from_secs(2), |p| p.got_b.len() == 10_000));
        assert!(p.sent_ecn.iter().all(|e| *e == EcnCodepoint::NotEct));
    }
}

#[test]
fn a_resent_syn_does_not_ask_for_ecn() {
    let mut p = Pair::with_configs(
        &with_ecn(EcnMode::On),
        &with_ecn(EcnMode::On),
        SeqNumber(1000),
    );
    // The first SYN is lost: perhaps a middlebox drops ECN-setup SYNs.
    p.set_filter(|to_b, seg, n| {
        if to_b && seg.flags.contains(TcpFlags::SYN) && *n == 0 {
            *n = 1;
            return Fate::Drop;
        }
        Fate::Deliver
    });
    p.established();
    let syns: Vec<TcpFlags> = p
        .log
        .iter()
        .filter(|l| l.0 && l.1.contains(TcpFlags::SYN))
        .map(|l| l.1)
        .collect();
    assert_eq!(syns.len(), 2);
    assert!(syns[0].contains(TcpFlags::ECE | TcpFlags::CWR));
    assert!(!syns[1].intersects(TcpFlags::ECE | TcpFlags::CWR));
    assert!(!p.a.negotiated().ecn && !p.b.negotiated().ecn);
}

#[test]
fn a_syn_ack_reflecting_both_flags_is_no_agreement() {
    let now = Instant::from_secs(1);
    let tuple = crate::FourTuple::new(A_ADDR, B_ADDR);
    let mut buf = vec![0u8; 1500];
    for (flags, agreed) in [
        (TcpFlags::ECE | TcpFlags::CWR, false),
        (TcpFlags::ECE, true),
        (TcpFlags::empty(), false),
    ] {
        let mut c =
            Connection::connect(&with_ecn(EcnMode::On), tuple, SeqNumber(1000), now).unwrap();
        c.poll_transmit(now, &mut buf).unwrap();
        let syn_ack = TcpRepr {
            src_port: B_ADDR.port(),
            dst_port: A_ADDR.port(),
            seq: SeqNumber(77),
            ack: SeqNumber(1001),
            flags: TcpFlags::SYN | TcpFlags::ACK | flags,
            window: 1000,
            ..TcpRepr::default()
        };
        c.handle_segment(now, &addrs(B_ADDR, A_ADDR), &syn_ack);
        assert_eq!(c.state(), State::Established);
        assert_eq!(c.negotiated().ecn, agreed, "{flags:?}");
    }
}

/// Marks the `which`-th data segments from a to b (counting from 0) as
/// Congestion Experienced.
fn mark_data_to_b(which: &'static [u64]) -> impl FnMut(bool, &TcpRepr<'_>, &mut u64) -> Fate {
    move |to_b, seg, n| {
        if !to_b || seg.payload.is_empty() {
            return Fate::Deliver;
        }
        let i = *n;
        *n += 1;
        if which.contains(&i) {
            Fate::Mark
        } else {
            Fate::Deliver
        }
    }
}

#[test]
fn a_mark_is_echoed_until_cwr_and_answered_once() {
    let mut p = pair(EcnMode::On, EcnMode::Accept);
    p.set_filter(mark_data_to_b(&[3]));
    let start = p.log.len();
    transfer(&mut p, &pattern(200_000), b"", Duration::from_secs(10));
    let log = &p.log[start..];
    // b echoes from the ACK after the marked segment until a's CWR
    // arrives, and never again.
    let first_ece = log
        .iter()
        .position(|l| !l.0 && l.1.contains(TcpFlags::ECE))
        .expect("b echoed the mark");
    let cwr = log
        .iter()
        .position(|l| l.0 && l.1.contains(TcpFlags::CWR))
        .expect("a sent CWR");
    assert!(first_ece < cwr);
    assert_eq!(
        log.iter()
            .filter(|l| l.0 && l.1.contains(TcpFlags::CWR))
            .count(),
        1
    );
    // b's segments echo in one unbroken run: every ACK from the first
    // echo on, until a's CWR reached b; none after.
    let last_ece = log
        .iter()
        .rposition(|l| !l.0 && l.1.contains(TcpFlags::ECE))
        .unwrap();
    assert!(
        log[first_ece..=last_ece]
            .iter()
            .filter(|l| !l.0)
            .all(|l| l.1.contains(TcpFlags::ECE))
    );
    assert!(
        last_ece > cwr,
        "ACKs sent while CWR was on its way echo still"
    );
    let later_acks = log[last_ece..].iter().filter(|l| !l.0).count();
    assert!(
        later_acks > 20,
        "the echo stopped: {later_acks} ACKs after it"
    );
    let (a, b) = (p.a.stats(), p.b.stats());
    assert_eq!(b.ecn.ce_received, 1);
    assert!(a.ecn.ece_received >= 1);
    assert_eq!((a.ecn.responses, a.ecn.cwr_sent), (1, 1));
    // The window came down; nothing was lost, so nothing was resent.
    assert!(a.ssthresh < usize::MAX);
    assert_eq!(a.retransmitted_segments, 0);
    assert_eq!(a.recovery.fast_recoveries, 0);
}

#[test]
fn marks_within_one_window_bring_one_response() {
    let mut p = pair(EcnMode::On, EcnMode::Accept);
    // The initial window is 10 segments: mark several of them.
    p.set_filter(mark_data_to_b(&[2, 3, 5, 8]));
    transfer(&mut p, &pattern(100_000), b"", Duration::from_secs(10));
    let (a, b) = (p.a.stats(), p.b.stats());
    assert_eq!(b.ecn.ce_received, 4);
    assert_eq!(a.ecn.responses, 1);
    assert_eq!(a.retransmitted_segments, 0);
}

#[test]
fn marks_in_later_windows_bring_later_responses() {
    let mut p = pair(EcnMode::On, EcnMode::Accept);
    // Far enough apart to fall in different windows.
    p.set_filter(mark_data_to_b(&[3, 150]));
    transfer(&mut p, &pattern(400_000), b"", Duration::from_secs(20));
    let a = p.a.stats();
    assert_eq!(p.b.stats().ecn.ce_received, 2);
    assert_eq!((a.ecn.responses, a.ecn.cwr_sent), (2, 2));
    assert_eq!(a.retransmitted_segments, 0);
}

#[test]
fn ect_goes_on_new_data_only() {
    let mut p = pair(EcnMode::On, EcnMode::Accept);
    // Lose the fourth data segment once: it is resent.
    p.set_filter(|to_b, seg, n| {
        if to_b && !seg.payload.is_empty() {
            *n += 1;
            if *n == 4 {
                return Fate::Drop;
            }
        }
        Fate::Deliver
    });
    transfer(
        &mut p,
        &pattern(50_000),
        &pattern(3000),
        Duration::from_secs(10),
    );
    let mut seen = std::collections::BTreeSet::new();
    let mut resent = 0;
    for (l, ecn) in p.log.iter().zip(&p.sent_ecn) {
        let (flags, seq, len) = (l.1, l.2, l.4);
        let new_data = len > 0 && seen.insert((l.0, seq.0));
        if len > 0 && !new_data {
            resent += 1;
        }
        let expect = if new_data && !flags.contains(TcpFlags::SYN) {
            EcnCodepoint::Ect0
        } else {
            EcnCodepoint::NotEct
        };
        assert_eq!(*ecn, expect, "{flags:?} seq {seq:?} len {len}");
    }
    assert!(resent > 0, "the lost segment was resent");
    // Data from b (the accepting side) is ECN-capable too.
    assert!(
        p.log
            .iter()
            .zip(&p.sent_ecn)
            .any(|(l, e)| !l.0 && l.4 > 0 && *e == EcnCodepoint::Ect0)
    );
}

#[test]
fn a_mark_on_an_unacceptable_segment_is_ignored() {
    let mut p = pair(EcnMode::On, EcnMode::Accept);
    let seg = TcpRepr {
        src_port: A_ADDR.port(),
        dst_port: B_ADDR.port(),
        // Far outside b's window.
        seq: p.b.rcv.nxt + 0x4000_0000u32,
        ack: p.b.snd.nxt,
        flags: TcpFlags::ACK,
        window: 1000,
        payload: b"forged",
        ..TcpRepr::default()
    };
    let mut seg = seg;
    seg.options.timestamps = p.b.negotiated().timestamps.then_some(Timestamps {
        value: p.b.ts.recent,
        echo_reply: 0,
    });
    p.b.handle_segment_with_ecn(p.now, &addrs(A_ADDR, B_ADDR), &seg, EcnCodepoint::Ce);
    assert_eq!(p.b.stats().ecn.ce_received, 0);
    p.flush();
    assert!(
        p.log
            .iter()
            .filter(|l| !l.1.contains(TcpFlags::SYN))
            .all(|l| !l.1.contains(TcpFlags::ECE))
    );
}

/// A NewReno that records the cause of each congestion event.
#[derive(Debug)]
struct CauseRecorder {
    inner: NewReno,
    causes: Arc<Mutex<Vec<CongestionCause>>>,
}

impl CongestionControl for CauseRecorder {
    fn name(&self) -> &'static str {
        "cause-recorder"
    }
    fn window(&self) -> usize {
        self.inner.window()
    }
    fn ssthresh(&self) -> usize {
        self.inner.ssthresh()
    }
    fn on_ack(&mut self, ack: &AckInfo) {
        self.inner.on_ack(ack);
    }
    fn on_congestion_event(&mut self, event: &CongestionEvent) {
        self.causes.lock().unwrap().push(event.cause);
        self.inner.on_congestion_event(event);
    }
    fn on_recovery_end(&mut self, now: Instant) {
        self.inner.on_recovery_end(now);
    }
    fn on_rto(&mut self, now: Instant, in_flight: usize) {
        self.inner.on_rto(now, in_flight);
    }
    fn on_spurious_congestion(&mut self, now: Instant) {
        self.inner.on_spurious_congestion(now);
    }
    fn on_mss_change(&mut self, mss: usize) {
        self.inner.on_mss_change(mss);
    }
}

#[derive(Debug, Default)]
struct CauseFactory(Arc<Mutex<Vec<CongestionCause>>>);

impl CongestionControlFactory for CauseFactory {
    fn build(&self, mss: usize) -> Box<dyn CongestionControl> {
        Box::new(CauseRecorder {
            inner: NewReno::new(mss),
            causes: self.0.clone(),
        })
    }
}

#[test]
fn the_controller_hears_an_ecn_cause_and_then_a_loss_cause() {
    let factory = Arc::new(CauseFactory::default());
    let causes = factory.0.clone();
    let a = Config {
        ecn: EcnMode::On,
        congestion: CcAlgorithm::Custom(factory),
        ..Config::default()
    };
    let mut p = Pair::with_configs(&a, &Config::default(), SeqNumber(1000));
    p.established();
    // Mark the 4th data segment, lose the 200th.
    p.set_filter(|to_b, seg, n| {
        if !to_b || seg.payload.is_empty() {
            return Fate::Deliver;
        }
        *n += 1;
        match *n {
            4 => Fate::Mark,
            200 => Fate::Drop,
            _ => Fate::Deliver,
        }
    });
    transfer(&mut p, &pattern(500_000), b"", Duration::from_secs(20));
    assert_eq!(
        *causes.lock().unwrap(),
        [CongestionCause::Ecn, CongestionCause::Loss]
    );
}

#[test]
fn marks_and_losses_without_sack_still_deliver_everything() {
    let a = Config {
        ecn: EcnMode::On,
        sack: false,
        ..Config::default()
    };
    let mut p = Pair::with_configs(&a, &Config::default(), SeqNumber(1000));
    p.established();
    // Marks and losses close together, so losses land in ECN reductions.
    p.set_filter(|to_b, seg, n| {
        if !to_b || seg.payload.is_empty() {
            return Fate::Deliver;
        }
        *n += 1;
        match *n % 37 {
            5 | 6 => Fate::Mark,
            8 => Fate::Drop,
            _ => Fate::Deliver,
        }
    });
    transfer(&mut p, &pattern(300_000), b"", Duration::from_secs(60));
    let a = p.a.stats();
    assert!(a.ecn.responses >= 1);
    assert!(a.retransmitted_segments >= 1);
}

#[test]
fn a_syn_asking_for_accurate_ecn_gets_classic_ecn() {
    let now = Instant::from_secs(1);
    let tuple = crate::FourTuple::new(B_ADDR, A_ADDR);
    let mut buf = vec![0u8; 1500];
    for (flags, agreed) in [
        // RFC 9768's AccECN request carries RFC 3168's as well.
        (TcpFlags::AE | TcpFlags::CWR | TcpFlags::ECE, true),
        (TcpFlags::CWR | TcpFlags::ECE, true),
        (TcpFlags::ECE, false),
        (TcpFlags::CWR, false),
    ] {
        let mut syn = syn_with(TcpOptions::default());
        syn.flags |= flags;
        let mut b = Connection::accept(&Config::default(), tuple, &syn, SeqNumber(9), now).unwrap();
        assert_eq!(b.negotiated().ecn, agreed, "{flags:?}");
        let t = b.poll_transmit(now, &mut buf).unwrap();
        let syn_ack =
            TcpRepr::parse_bytes(&buf[..t.len], &addrs(B_ADDR, A_ADDR), ChecksumMode::Full)
                .unwrap();
        let f = syn_ack.flags;
        assert_eq!(
            (
                f.contains(TcpFlags::ECE),
                f.intersects(TcpFlags::AE | TcpFlags::CWR)
            ),
            (agreed, false),
            "{flags:?}"
        );
    }
}
