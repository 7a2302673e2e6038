//! Congestion control: how much a connection may have in flight.
//!
//! A controller is a small machine behind the [`CongestionControl`] trait.
//! The connection tells it what happened — bytes acknowledged (with RTT and
//! delivery information), a congestion event (loss detected by fast
//! retransmit or RACK), a retransmission timeout, a spurious event proven
//! by DSACK or F-RTO — and asks it for the congestion window, the
//! slow-start threshold and a pacing rate. Loss *detection* is not the
//! controller's job (see `recovery`); neither is how much to send during
//! fast recovery (Proportional Rate Reduction, RFC 6937, in `recovery`).
//!
//! Built-in controllers: [`NewReno`] (RFC 5681 with RFC 3465 byte counting
//! and the RFC 6928 initial window; the default) and [`Cubic`] (RFC 9438
//! with HyStart++, RFC 9406, in [`HyStart`]), loss-based both, and [`Bbr`]
//! (draft-ietf-ccwg-bbr), which paces at its estimate of the bottleneck
//! bandwidth from delivery-rate samples ([`RateSample`]). Users may implement the trait
//! themselves and select their controller per connection through
//! [`CcAlgorithm::Custom`].
//!
//! All built-in controllers count in bytes, take time only from their
//! arguments and use integer arithmetic only (CUBIC's cube and cube root
//! are done in fixed point; see [`Cubic`]).

mod bbr;
mod cubic;
mod hystart;
mod newreno;
#[cfg(test)]
mod testutil;

pub use bbr::{Bbr, BbrState};
pub use cubic::Cubic;
pub use hystart::{HyStart, HyStartPhase, HyStartStep};
pub use newreno::NewReno;

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::fmt;

use crate::time::{Duration, Instant};

/// What an acknowledgment delivered, for [`CongestionControl::on_ack`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckInfo {
    /// When the acknowledgment arrived.
    pub now: Instant,
    /// Bytes that grow the window: those this acknowledgment delivered
    /// (cumulatively acknowledged and not SACKed before, plus newly
    /// SACKed), capped at SND.UNA's advance. An acknowledgment that only
    /// SACKs counts nothing, as RFC 5681 §3.1 grows the window on
    /// cumulative acknowledgments; bytes SACKed earlier counted nothing
    /// then and count nothing now.
    pub acked_bytes: usize,
    /// Bytes in flight before this acknowledgment was processed.
    pub prior_in_flight: usize,
    /// The RTT sample this acknowledgment gave, if any.
    pub rtt: Option<Duration>,
    /// Smoothed RTT after the sample, if any.
    pub srtt: Option<Duration>,
    /// Minimum RTT seen over the estimator's window, if any.
    pub min_rtt: Option<Duration>,
    /// True when the sender did not use the window it had while the
    /// acknowledged data was in flight (RFC 7661): the window must not
    /// grow on such acknowledgments.
    pub app_limited: bool,
}

/// A delivery-rate sample (draft-cheng-iccrg-delivery-rate-estimation),
/// given to [`CongestionControl::on_rate_sample`] on every ACK that
/// delivered data or revealed a loss, during recovery too.
///
/// The rate is measured over the flight that ends with the newest segment
/// this ACK delivered: `delivered` bytes over `interval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateSample {
    /// When the acknowledgment arrived.
    pub now: Instant,
    /// Bytes per second delivered over `interval`; `None` when the
    /// interval is zero or shorter than the minimum RTT (too short to be a
    /// real measurement), or the ACK delivered nothing.
    pub delivery_rate: Option<u64>,
    /// The longer of the flight's send and ACK intervals.
    pub interval: Duration,
    /// Bytes delivered over `interval`.
    pub delivered: u64,
    /// Bytes the connection had delivered when the newest segment this
    /// ACK delivered was sent (BBR counts round trips with it).
    pub prior_delivered: u64,
    /// Bytes the connection has delivered, this ACK included.
    pub total_delivered: u64,
    /// Bytes this ACK delivered (cumulatively acknowledged or SACKed).
    pub newly_acked: usize,
    /// Bytes declared lost since the previous sample.
    pub newly_lost: usize,
    /// Bytes declared lost since the newest delivered segment was sent.
    pub lost: u64,
    /// Bytes in flight when the newest delivered segment was sent,
    /// itself included.
    pub tx_in_flight: usize,
    /// Bytes in flight before the ACK.
    pub prior_in_flight: usize,
    /// Bytes in flight after it (what it delivered or showed lost taken
    /// out).
    pub in_flight: usize,
    /// The RTT of the newest segment it delivered, if it gave one.
    pub rtt: Option<Duration>,
    /// The minimum RTT seen.
    pub min_rtt: Option<Duration>,
    /// The flight was sent while the application, not the window, limited
    /// the sender: the rate may be below what the path carries.
    pub is_app_limited: bool,
}

/// A congestion event: loss detected while not already recovering (fast
/// retransmit, RACK), or an ECN echo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CongestionEvent {
    /// When it was detected.
    pub now: Instant,
    /// Bytes in flight when it was detected (FlightSize, RFC 5681 §3.1).
    pub in_flight: usize,
    /// What signalled it.
    pub cause: CongestionCause,
}

/// What signalled a [`CongestionEvent`]. RFC 3168 §6.1.2 asks for the same
/// response to both, which the built-in controllers give; RFC 8311 §4.1
/// lets a controller answer a mark more gently than a loss (RFC 8511's
/// ABE, say), and a model-based controller may treat them apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CongestionCause {
    /// Segments were lost (fast retransmit, RACK, a repaired tail loss).
    #[default]
    Loss,
    /// The peer echoed a Congestion Experienced mark (ECE, RFC 3168 §6.1.2):
    /// nothing was lost.
    Ecn,
}

/// A congestion controller for one connection.
///
/// A controller is built for the sender's MSS
/// ([`CongestionControlFactory::build`]) and keeps it; when the MSS changes
/// it hears so once, through [`CongestionControl::on_mss_change`]. All
/// sizes are in bytes. Implementations must never panic and must keep
/// the window within `[mss, u32::MAX]`: at least [`minimum_window`] after a
/// congestion event, and one MSS (the loss window of RFC 5681 §3.1) only
/// after a retransmission timeout.
pub trait CongestionControl: fmt::Debug + Send {
    /// A short name for logs and statistics, e.g. `"newreno"`.
    fn name(&self) -> &'static str;
    /// The congestion window.
    fn window(&self) -> usize;
    /// The slow-start threshold (`usize::MAX` before the first event).
    fn ssthresh(&self) -> usize;
    /// True while in slow start (window below the threshold).
    fn in_slow_start(&self) -> bool {
        self.window() < self.ssthresh()
    }
    /// Data was sent (new or retransmitted): `bytes` in this transmission,
    /// and `in_flight` bytes in flight once it is counted (so
    /// `in_flight == bytes` means the pipe was empty before: the sender is
    /// resuming after a pause, which CUBIC keeps out of its curve's clock,
    /// RFC 9438 §5.8).
    fn on_sent(&mut self, _now: Instant, _bytes: usize, _in_flight: usize) {}
    /// An acknowledgment delivered new data. Not called during fast
    /// recovery, where Proportional Rate Reduction (RFC 6937) decides what
    /// is sent and [`CongestionControl::on_recovery_end`] sets the window
    /// at the end; called during the recovery that follows a timeout, whose
    /// slow start grows the window.
    fn on_ack(&mut self, ack: &AckInfo);
    /// Loss (or ECN) detected: reduce (RFC 5681 §3.2, RFC 9438 §4.6).
    /// Called once per recovery episode.
    fn on_congestion_event(&mut self, event: &CongestionEvent);
    /// Fast recovery ended: RFC 6937 and RFC 6582 set the window to the
    /// threshold.
    fn on_recovery_end(&mut self, _now: Instant) {}
    /// Retransmission timeout (RFC 5681 §3.1): collapse the window.
    fn on_rto(&mut self, now: Instant, in_flight: usize);
    /// The last congestion event or timeout was spurious (DSACK, F-RTO,
    /// Eifel): restore the state from before it (RFC 4015 §3, RFC 5682).
    fn on_spurious_congestion(&mut self, now: Instant);
    /// The connection was idle longer than an RTO (RFC 5681 §4.1, RFC 7661):
    /// the window restarts at most at the initial window.
    fn on_idle_restart(&mut self, _now: Instant) {}
    /// The sender's MSS changed (path MTU discovery, say): count the window
    /// in the new one from now on. The connection builds its controller
    /// once the handshake has settled the MSS, so this is for later
    /// changes.
    fn on_mss_change(&mut self, mss: usize);
    /// Pacing rate in bytes per second, if this controller sets one. When
    /// `None`, the connection derives a rate from the window and SRTT.
    fn pacing_rate(&self, _srtt: Duration) -> Option<u64> {
        None
    }
    /// A delivery-rate sample: called for every ACK that delivered data
    /// or revealed a loss, after [`CongestionControl::on_ack`] and any
    /// congestion event or recovery end the same ACK caused, and during
    /// recovery as well. Rate-based controllers (BBR) run their model
    /// here; loss-based ones ignore it.
    fn on_rate_sample(&mut self, _sample: &RateSample) {}
    /// How many bytes the pacer may release at once (BBR's send quantum),
    /// if this controller sets it. When `None`, the pacer's burst follows
    /// its rate.
    fn send_quantum(&self) -> Option<usize> {
        None
    }
    /// True when the controller sets the window during fast recovery
    /// itself (from [`CongestionControl::on_rate_sample`]): the recovery
    /// machine then sends what the window allows instead of Proportional
    /// Rate Reduction's quota (RFC 6937), as Linux does for a controller
    /// with its own `cong_control`.
    fn governs_recovery(&self) -> bool {
        false
    }
}

/// Makes a controller for each new connection (for user-supplied
/// controllers, through [`CcAlgorithm::Custom`]).
pub trait CongestionControlFactory: fmt::Debug + Send + Sync {
    /// A fresh controller for a connection whose MSS is `mss`.
    fn build(&self, mss: usize) -> Box<dyn CongestionControl>;
}

/// Which congestion controller a connection uses.
#[derive(Clone, Debug, Default)]
pub enum CcAlgorithm {
    /// RFC 5681 slow start and AIMD with RFC 6582 recovery (the default).
    #[default]
    NewReno,
    /// RFC 9438 CUBIC with HyStart++ slow start.
    Cubic,
    /// BBR (draft-ietf-ccwg-bbr): paced at its bandwidth estimate; wants
    /// [`Config::pacing`](crate::conn::Config) on (the default).
    Bbr,
    /// A user-supplied controller.
    Custom(Arc<dyn CongestionControlFactory>),
}

impl CcAlgorithm {
    /// A fresh controller of this kind, for a sender that does not pace.
    pub fn build(&self, mss: usize) -> Box<dyn CongestionControl> {
        self.build_for(mss, false)
    }

    /// A fresh controller of this kind. A paced sender's HyStart++ takes
    /// no per-ACK growth limit (L = ∞, RFC 9406 §4.3).
    pub fn build_for(&self, mss: usize, paced: bool) -> Box<dyn CongestionControl> {
        match self {
            CcAlgorithm::NewReno => Box::new(NewReno::new(mss)),
            CcAlgorithm::Cubic if paced => Box::new(Cubic::with_hystart(mss, HyStart::paced())),
            CcAlgorithm::Cubic => Box::new(Cubic::new(mss)),
            CcAlgorithm::Bbr => Box::new(Bbr::new(mss)),
            CcAlgorithm::Custom(factory) => factory.build(mss),
        }
    }

    /// The name of the built-in kind, or `"custom"`.
    pub fn name(&self) -> &'static str {
        match self {
            CcAlgorithm::NewReno => "newreno",
            CcAlgorithm::Cubic => "cubic",
            CcAlgorithm::Bbr => "bbr",
            CcAlgorithm::Custom(_) => "custom",
        }
    }
}

/// Two algorithms are equal when they are the same built-in kind, or the
/// same custom factory object.
impl PartialEq for CcAlgorithm {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (CcAlgorithm::NewReno, CcAlgorithm::NewReno)
            | (CcAlgorithm::Cubic, CcAlgorithm::Cubic)
            | (CcAlgorithm::Bbr, CcAlgorithm::Bbr) => true,
            (CcAlgorithm::Custom(a), CcAlgorithm::Custom(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for CcAlgorithm {}

/// RFC 6928 initial window: min(10·MSS, max(2·MSS, 14 600)) (saturating).
pub fn initial_window(mss: usize) -> usize {
    mss.saturating_mul(10)
        .min(mss.saturating_mul(2).max(14_600))
}

/// The smallest window a controller may set after a loss: 2·MSS
/// (RFC 5681 §3.1) (saturating).
pub fn minimum_window(mss: usize) -> usize {
    mss.saturating_mul(2)
}

/// The largest congestion window a built-in controller reports:
/// `u32::MAX` bytes, the most a scaled TCP window can describe (RFC 7323
/// §2.3 caps it at 2^30, so this is never the binding limit).
pub const MAX_WINDOW: usize = if usize::BITS >= 32 {
    u32::MAX as usize
} else {
    usize::MAX
};

/// The largest MSS the built-in controllers accept; larger values are
/// clamped. The MSS option is 16 bits (RFC 9293 §3.7.1), so no real
/// connection exceeds it, and the clamp keeps window arithmetic far from
/// overflow whatever the caller passes.
pub const MAX_MSS: usize = u16::MAX as usize;

/// An MSS the built-in controllers can compute with: within `1..=MAX_MSS`.
fn sane_mss(mss: usize) -> usize {
    mss.clamp(1, MAX_MSS)
}

/// `bytes` counted in segments of `old_mss`, expressed in segments of
/// `new_mss` (for [`CongestionControl::on_mss_change`]), within `[floor,
/// MAX_WINDOW]`. `usize::MAX` (an unset threshold) stays unset.
fn rescale(bytes: usize, old_mss: usize, new_mss: usize, floor: usize) -> usize {
    if bytes == usize::MAX {
        return usize::MAX;
    }
    let scaled = (bytes as u128) * (new_mss as u128) / (old_mss.max(1) as u128);
    clamp_window(scaled).max(floor).min(MAX_WINDOW)
}

/// A byte count computed in `u128`, capped at [`MAX_WINDOW`].
fn clamp_window(bytes: u128) -> usize {
    if bytes >= MAX_WINDOW as u128 {
        MAX_WINDOW
    } else {
        bytes as usize
    }
}

/// RFC 3465 §2.2: in slow start an ACK may grow the window by at most
/// L = 2 segments.
const ABC_LIMIT: usize = 2;
/// RFC 3465 §2.3: in the slow start that follows a retransmission timeout
/// L is 1 segment: the ACKs then may cover segments that left the network
/// long ago (or were retransmitted needlessly), so they say little about
/// what the path can take now.
const ABC_LIMIT_AFTER_RTO: usize = 1;

/// Slow-start growth for one ACK under appropriate byte counting (RFC 3465
/// §2.2): the newly acknowledged bytes, but at most `limit` segments.
fn abc_increase(acked: usize, limit: usize, mss: usize) -> usize {
    acked.min(limit.saturating_mul(mss))
}

/// The slow-start state NewReno and CUBIC share.
struct SlowStart<'a> {
    cwnd: &'a mut usize,
    ssthresh: usize,
    /// Set after a timeout: L = 1 until the window is back at ssthresh
    /// (RFC 3465 §2.3).
    after_rto: &'a mut bool,
    hystart: Option<&'a mut HyStart>,
}

impl SlowStart<'_> {
    /// One ACK in slow start: HyStart++ decides the growth while it is
    /// active (RFC 9406), otherwise appropriate byte counting with L = 2
    /// (L = 1 after a timeout). No growth when the ACK was for
    /// application-limited data (RFC 7661). Slow start stops at ssthresh;
    /// congestion avoidance takes over on the next ACK (RFC 5681 §3.1 lets
    /// either run at cwnd = ssthresh). Returns false when HyStart++ ends
    /// slow start: the caller then enters congestion avoidance with
    /// ssthresh = cwnd (RFC 9406 §4.2).
    fn on_ack(self, ack: &AckInfo, mss: usize) -> bool {
        let increase = match self.hystart {
            Some(hs) if hs.is_active() => {
                let step = hs.on_ack(ack, mss);
                if step.exit_slow_start {
                    return false;
                }
                step.increase
            }
            _ => {
                let limit = if *self.after_rto {
                    ABC_LIMIT_AFTER_RTO
                } else {
                    ABC_LIMIT
                };
                abc_increase(ack.acked_bytes, limit, mss)
            }
        };
        if ack.app_limited {
            return true;
        }
        *self.cwnd = self
            .cwnd
            .saturating_add(increase)
            .min(self.ssthresh)
            .min(MAX_WINDOW);
        if *self.cwnd >= self.ssthresh {
            *self.after_rto = false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_helpers() {
        assert_eq!(initial_window(1_460), 14_600);
        assert_eq!(initial_window(536), 5_360);
        assert_eq!(initial_window(9_000), 18_000);
        assert_eq!(initial_window(usize::MAX), usize::MAX);
        assert_eq!(minimum_window(1_000), 2_000);
        assert_eq!(minimum_window(usize::MAX), usize::MAX);
        assert_eq!(sane_mss(0), 1);
        assert_eq!(sane_mss(usize::MAX), MAX_MSS);
        assert_eq!(rescale(20_000, 1_000, 1_500, 0), 30_000);
        assert_eq!(rescale(usize::MAX, 1_000, 1_500, 0), usize::MAX);
        assert_eq!(rescale(MAX_WINDOW, 1, MAX_MSS, 0), MAX_WINDOW);
        assert_eq!(rescale(100, 1_000, 10, 20), 20);
        assert_eq!(abc_increase(5_000, 2, 1_000), 2_000);
        assert_eq!(abc_increase(5_000, usize::MAX, 1_000), 5_000);
    }

    #[test]
    fn algorithms_build_their_controllers() {
        for (alg, name) in [
            (CcAlgorithm::NewReno, "newreno"),
            (CcAlgorithm::Cubic, "cubic"),
            (CcAlgorithm::Bbr, "bbr"),
        ] {
            let cc = alg.build(1_000);
            assert_eq!(cc.name(), name);
            assert_eq!(alg.name(), name);
            assert_eq!(cc.window(), 10_000);
            assert_eq!(cc.ssthresh(), usize::MAX);
            assert!(cc.in_slow_start());
        }
        assert_eq!(CcAlgorithm::default(), CcAlgorithm::NewReno);
        assert_ne!(CcAlgorithm::NewReno, CcAlgorithm::Cubic);
    }
}
