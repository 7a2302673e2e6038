//! The deadlines one connection keeps. Each is an `Option<Instant>`:
//! `None` means the timer is not running.

use crate::time::Instant;

/// Which timer fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimerKind {
    /// 2·MSL in TIME-WAIT is over.
    TimeWait,
    /// FIN-WAIT-2 after a full close waited long enough.
    FinWait2,
    /// Sent data stayed unacknowledged past the user timeout (RFC 5482).
    UserTimeout,
    /// Retransmission timeout (RFC 6298).
    Retransmit,
    /// RACK's reordering window ran out for some segment (RFC 8985 §6.3).
    Reorder,
    /// A tail loss probe is due (RFC 8985 §7).
    Probe,
    /// The pacer lets the next segment go.
    Pacing,
    /// Zero-window probe due (RFC 9293 §3.8.6.1).
    Persist,
    /// Keepalive probe due (RFC 9293 §3.8.4).
    Keepalive,
    /// A delayed ACK is due (RFC 9293 §3.8.6.3).
    DelayedAck,
}

/// The connection's timers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Timers {
    pub time_wait: Option<Instant>,
    pub fin_wait2: Option<Instant>,
    pub user_timeout: Option<Instant>,
    pub retransmit: Option<Instant>,
    pub reorder: Option<Instant>,
    pub probe: Option<Instant>,
    pub pacing: Option<Instant>,
    pub persist: Option<Instant>,
    pub keepalive: Option<Instant>,
    pub delayed_ack: Option<Instant>,
}

impl Timers {
    fn all(&self) -> [(TimerKind, Option<Instant>); 10] {
        [
            (TimerKind::TimeWait, self.time_wait),
            (TimerKind::FinWait2, self.fin_wait2),
            (TimerKind::UserTimeout, self.user_timeout),
            // A probe due with the RTO goes first: RFC 8985 §7.2 caps the
            // probe timeout at the RTO, and the probe then re-arms it.
            (TimerKind::Probe, self.probe),
            (TimerKind::Retransmit, self.retransmit),
            (TimerKind::Reorder, self.reorder),
            (TimerKind::Pacing, self.pacing),
            (TimerKind::Persist, self.persist),
            (TimerKind::Keepalive, self.keepalive),
            (TimerKind::DelayedAck, self.delayed_ack),
        ]
    }

    /// The earliest deadline of any running timer.
    pub fn next(&self) -> Option<Instant> {
        // Asked after every segment: a chain of pairwise minimums over the
        // fields, which compiles to a few conditional moves, rather than a
        // search through `all()`.
        fn earlier(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, None) => a,
                (None, b) => b,
            }
        }
        let ending = earlier(earlier(self.time_wait, self.fin_wait2), self.user_timeout);
        let loss = earlier(earlier(self.probe, self.retransmit), self.reorder);
        let sending = earlier(earlier(self.pacing, self.persist), self.keepalive);
        earlier(earlier(ending, loss), earlier(sending, self.delayed_ack))
    }

    /// The first timer (in priority order: the ones that end the
    /// connection first) whose deadline is at or before `now`, cleared.
    pub fn take_expired(&mut self, now: Instant) -> Option<TimerKind> {
        let (kind, _) = self
            .all()
            .into_iter()
            .find(|(_, t)| t.is_some_and(|t| t <= now))?;
        *self.slot(kind) = None;
        Some(kind)
    }

    fn slot(&mut self, kind: TimerKind) -> &mut Option<Instant> {
        match kind {
            TimerKind::TimeWait => &mut self.time_wait,
            TimerKind::FinWait2 => &mut self.fin_wait2,
            TimerKind::UserTimeout => &mut self.user_timeout,
            TimerKind::Retransmit => &mut self.retransmit,
            TimerKind::Reorder => &mut self.reorder,
            TimerKind::Probe => &mut self.probe,
            TimerKind::Pacing => &mut self.pacing,
            TimerKind::Persist => &mut self.persist,
            TimerKind::Keepalive => &mut self.keepalive,
            TimerKind::DelayedAck => &mut self.delayed_ack,
        }
    }

    /// Stops every timer (the connection closed).
    pub fn clear(&mut self) {
        *self = Timers::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_sees_every_timer() {
        let kinds = Timers::default().all().map(|(kind, _)| kind);
        for (i, &kind) in kinds.iter().enumerate() {
            let mut t = Timers::default();
            *t.slot(kind) = Some(Instant::from_millis(50));
            assert_eq!(t.next(), Some(Instant::from_millis(50)), "{kind:?}");
            // Any other timer earlier or later: the earlier one wins.
            let other = kinds[(i + 1) % kinds.len()];
            *t.slot(other) = Some(Instant::from_millis(20));
            assert_eq!(t.next(), Some(Instant::from_millis(20)), "{other:?}");
            *t.slot(other) = Some(Instant::from_millis(90));
            assert_eq!(t.next(), Some(Instant::from_millis(50)), "{kind:?}");
        }
        assert_eq!(Timers::default().next(), None);
    }

    #[test]
    fn earliest_deadline_and_priority() {
        let mut t = Timers {
            delayed_ack: Some(Instant::from_millis(40)),
            retransmit: Some(Instant::from_millis(200)),
            time_wait: Some(Instant::from_millis(200)),
            ..Timers::default()
        };
        assert_eq!(t.next(), Some(Instant::from_millis(40)));
        assert_eq!(t.take_expired(Instant::from_millis(39)), None);
        assert_eq!(
            t.take_expired(Instant::from_millis(300)),
            Some(TimerKind::TimeWait)
        );
        assert_eq!(
            t.take_expired(Instant::from_millis(300)),
            Some(TimerKind::Retransmit)
        );
        assert_eq!(
            t.take_expired(Instant::from_millis(300)),
            Some(TimerKind::DelayedAck)
        );
        assert_eq!(t.take_expired(Instant::from_millis(300)), None);
        assert_eq!(t.next(), None);
    }
}
