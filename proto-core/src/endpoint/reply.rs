//! Segments the endpoint sends on behalf of no connection: resets for
//! segments that match nothing (RFC 9293 §3.10.7.1), SYN-ACKs carrying SYN
//! cookies (RFC 4987 §3.6), and acknowledgments from TIME-WAIT entries.

use crate::seq::SeqNumber;
use crate::time::{Duration, Instant};
use crate::tuple::FourTuple;
use crate::wire::{ChecksumMode, TcpFlags, TcpOptions, TcpRepr};

/// Most replies waiting for `poll_transmit`; more are dropped and counted,
/// so a flood cannot grow the queue when the host sends slowly.
pub(crate) const MAX_QUEUED_REPLIES: usize = 1024;

/// One stateless segment to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    pub tuple: FourTuple,
    pub seq: SeqNumber,
    pub ack: SeqNumber,
    pub flags: TcpFlags,
    pub window: u16,
    pub options: TcpOptions<'static>,
}

impl Reply {
    /// The reset answering `seg` (RFC 9293 §3.10.7.1): SEQ = SEG.ACK if
    /// the segment had an ACK, else SEQ = 0 with ACK = SEG.SEQ + SEG.LEN.
    pub fn reset(tuple: FourTuple, seg: &TcpRepr<'_>) -> Reply {
        let (seq, ack) = crate::conn::reset_reply(seg);
        Reply {
            tuple,
            seq,
            ack: ack.unwrap_or(SeqNumber(0)),
            flags: if ack.is_some() {
                TcpFlags::RST | TcpFlags::ACK
            } else {
                TcpFlags::RST
            },
            window: 0,
            options: TcpOptions::default(),
        }
    }

    /// Writes the segment into `buf`; `None` if it does not fit.
    pub fn emit(&self, buf: &mut [u8], checksums: ChecksumMode) -> Option<usize> {
        let repr = TcpRepr {
            src_port: self.tuple.local.port(),
            dst_port: self.tuple.remote.port(),
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            urgent: 0,
            options: self.options,
            payload: &[],
        };
        repr.emit(buf, &self.tuple.outgoing_addrs()?, checksums)
            .ok()
    }
}

/// At most `limit` events per one-second window (RFC 5961 §7 limits
/// challenge ACKs the same way).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateLimiter {
    limit: u32,
    window_start: Option<Instant>,
    used: u32,
}

impl RateLimiter {
    pub const fn new(limit: u32) -> RateLimiter {
        RateLimiter {
            limit,
            window_start: None,
            used: 0,
        }
    }

    /// Takes one event's allowance; false when this second's is used up.
    pub fn allow(&mut self, now: Instant) -> bool {
        let expired = self
            .window_start
            .is_none_or(|start| now.saturating_duration_since(start) >= Duration::from_secs(1));
        if expired {
            self.window_start = Some(now);
            self.used = 0;
        }
        if self.used < self.limit {
            self.used += 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::IpAddrPair;
    use core::net::{IpAddr, Ipv4Addr, SocketAddr};

    #[test]
    fn limiter_allows_limit_per_second() {
        let mut l = RateLimiter::new(3);
        let t = Instant::from_secs(10);
        assert_eq!((0..5).filter(|_| l.allow(t)).count(), 3);
        assert!(!l.allow(t + Duration::from_millis(999)));
        assert!(l.allow(t + Duration::from_secs(1)));
        let mut none = RateLimiter::new(0);
        assert!(!none.allow(t));
    }

    #[test]
    fn resets_follow_rfc9293() {
        let local = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 80);
        let remote = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 4000);
        let tuple = FourTuple::new(local, remote);
        let syn = TcpRepr {
            seq: SeqNumber(100),
            flags: TcpFlags::SYN,
            payload: b"ab",
            ..TcpRepr::default()
        };
        let r = Reply::reset(tuple, &syn);
        assert_eq!((r.seq, r.ack), (SeqNumber(0), SeqNumber(103)));
        assert_eq!(r.flags, TcpFlags::RST | TcpFlags::ACK);
        let ack = TcpRepr {
            seq: SeqNumber(100),
            ack: SeqNumber(7),
            flags: TcpFlags::ACK,
            ..TcpRepr::default()
        };
        let r = Reply::reset(tuple, &ack);
        assert_eq!((r.seq, r.flags), (SeqNumber(7), TcpFlags::RST));
        let mut buf = [0u8; 60];
        let n = r.emit(&mut buf, ChecksumMode::Full).unwrap();
        let addrs = IpAddrPair::new(local.ip(), remote.ip()).unwrap();
        let back = TcpRepr::parse_bytes(&buf[..n], &addrs, ChecksumMode::Full).unwrap();
        assert_eq!((back.src_port, back.dst_port), (80, 4000));
        assert_eq!(back.flags, TcpFlags::RST);
        assert!(r.emit(&mut buf[..10], ChecksumMode::Full).is_none());
    }
}
