//! Proportional Rate Reduction (RFC 6937): how much to send during fast
//! recovery so that, by its end, the amount in flight has come down to
//! ssthresh smoothly, in proportion to what the receiver delivers, instead
//! of halting and then bursting.

/// PRR's state for one recovery episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prr {
    /// Bytes in flight when recovery started (RecoverFS).
    recover_fs: usize,
    /// Bytes delivered since recovery started.
    delivered: usize,
    /// Bytes sent since recovery started.
    out: usize,
    /// The target: the controller's ssthresh.
    ssthresh: usize,
    /// What may be sent now, as computed at the last ACK.
    quota: usize,
}

impl Prr {
    /// Starts an episode (RFC 6937 §3.1 "at the beginning of recovery").
    /// The first retransmission is always allowed (fast retransmit).
    pub fn start(in_flight: usize, ssthresh: usize, mss: usize) -> Prr {
        Prr {
            recover_fs: in_flight.max(1),
            delivered: 0,
            out: 0,
            ssthresh,
            quota: mss,
        }
    }

    /// RFC 6937 §3.1 "on every ACK during recovery": `delivered` bytes newly
    /// delivered (ACKed or SACKed), `pipe` the bytes in flight after the
    /// ACK. Uses the slow-start reduction bound (PRR-SSRB) once the pipe is
    /// at or below ssthresh.
    pub fn on_ack(&mut self, delivered: usize, pipe: usize, mss: usize) {
        self.delivered = self.delivered.saturating_add(delivered);
        let sndcnt = if pipe > self.ssthresh {
            // Proportional part: ceil(delivered · ssthresh / RecoverFS).
            let target =
                (self.delivered as u128 * self.ssthresh as u128).div_ceil(self.recover_fs as u128);
            (target as usize).saturating_sub(self.out)
        } else {
            let limit = self.delivered.saturating_sub(self.out).max(delivered) + mss;
            (self.ssthresh - pipe).min(limit)
        };
        // The fast retransmit goes out whatever the arithmetic says (RFC
        // 5681 §3.2 step 4; Linux forces it the same way while nothing has
        // been sent in the episode).
        self.quota = if self.out == 0 {
            sndcnt.max(mss)
        } else {
            sndcnt
        };
    }

    /// Bytes that may be sent now.
    pub fn quota(&self) -> usize {
        self.quota
    }

    /// Records `bytes` sent during recovery.
    pub fn on_sent(&mut self, bytes: usize) {
        self.out = self.out.saturating_add(bytes);
        self.quota = self.quota.saturating_sub(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6937 §3.1 with the numbers of its Figure 1 scaled to bytes:
    /// 20 segments of 1000 bytes in flight, one lost, ssthresh 10 000.
    /// Each ACK delivers 1000 bytes; PRR lets out ceil(delivered·½) − out.
    #[test]
    fn sends_half_as_much_as_is_delivered_when_halving() {
        let mss = 1000;
        let mut prr = Prr::start(20_000, 10_000, mss);
        // Fast retransmit goes out at once.
        assert_eq!(prr.quota(), 1000);
        prr.on_sent(1000);
        // The lost segment left the pipe; its retransmission entered it.
        let mut pipe = 20_000;
        let mut quotas = Vec::new();
        for _ in 0..18 {
            pipe -= 1000;
            prr.on_ack(1000, pipe, mss);
            let q = prr.quota();
            quotas.push(q);
            prr.on_sent(q);
            pipe += q;
        }
        // ACK k allows 500·k − out: nothing until the retransmission is
        // paid for (k = 2), then 500 bytes per ACK while the pipe is above
        // ssthresh. At k = 17 the pipe reaches ssthresh and the slow-start
        // reduction bound takes over: min(ssthresh − pipe, …) gives 0,
        // then 1000 as the pipe drops below.
        assert!(
            quotas[..2] == [0, 0] && quotas[2..16].iter().all(|q| *q == 500),
            "{quotas:?}"
        );
        assert_eq!(quotas[16..], [0, 1000]);
        assert_eq!(quotas.iter().sum::<usize>(), 8000);
        // 18 000 delivered, 9000 sent in all: the pipe has come down to
        // ssthresh exactly.
        assert_eq!(pipe, 10_000);
    }

    #[test]
    fn slow_start_reduction_bound_below_ssthresh() {
        let mss = 1000;
        // Heavy loss: pipe already below ssthresh.
        let mut prr = Prr::start(20_000, 10_000, mss);
        prr.on_sent(1000);
        prr.on_ack(2000, 4000, mss);
        // limit = max(2000 − 1000, 2000) + 1000 = 3000, ssthresh − pipe = 6000.
        assert_eq!(prr.quota(), 3000);
        prr.on_sent(3000);
        prr.on_ack(1000, 7000, mss);
        // limit = max(3000 − 4000 → 0, 1000) + 1000 = 2000; room 3000.
        assert_eq!(prr.quota(), 2000);
    }

    use std::vec::Vec;
}
